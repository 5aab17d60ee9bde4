"""Qubits in a pumped magnon bath (qdiss.models.magnon, arXiv:2508.18131): the Lindbladian against
the correlated dissipator written out term by term and against the CLI's model, the steady
state against the four-state Markov chain (solved independently in NumPy), the detailed-balance
no-go, gradients against finite differences, and the non-unique point η = 1."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
from magnon_reference import DEFAULT_PARAMETERS, magnon_qubits_lindbladian

import qdiss
from qdiss.models import magnon

SM = np.array([[0, 0], [1, 0]], complex)  # σ⁻ = |g⟩⟨e|, basis (e, g)

ENTANGLING = dict(
    eta=np.array([0.05, 0.99]), rate=np.array([0.12, 0.92]), mu=np.array([0.17, -1.35]),
    temperature=0.5,
)  # fmt: skip
OTHER = dict(
    eta=np.array([0.6, -0.3, 0.9]), rate=np.array([0.5, 0.2, 1.1]),
    mu=np.array([0.4, -0.2, -2.0]), temperature=0.8, omega=1.3,
)  # fmt: skip


def _lowering(m):
    out = []
    for i in range(m):
        op = np.ones((1, 1))
        for k in range(m):
            op = np.kron(op, SM if k == i else np.eye(2))
        out.append(op)
    return out


def _explicit_superop(eta, rate, mu, temperature, omega=1.0, m=2):
    """Σ_c Σ_ij K^c_ij [Γ↓(σ⁻_j ρ σ⁺_i − ½{σ⁺_iσ⁻_j, ρ}) + Γ↑(σ⁺_j ρ σ⁻_i − ½{σ⁻_iσ⁺_j, ρ})]."""
    lows = _lowering(m)
    dim = 2**m
    eye = np.eye(dim)
    out = np.zeros((dim * dim, dim * dim), complex)

    def term(a, b):  # a ρ b† − ½{b†a, ρ}, row-major
        k = b.conj().T @ a
        return np.kron(a, b.conj()) - 0.5 * np.kron(k, eye) - 0.5 * np.kron(eye, k.T)

    for e, g, u in zip(eta, rate, mu, strict=True):
        n = 1 / np.expm1((omega - u) / temperature)
        K = (1 - e) * np.eye(m) + e * np.ones((m, m))
        for i in range(m):
            for j in range(m):
                out += K[i, j] * g * (1 + n) * term(lows[j], lows[i])
                out += K[i, j] * g * n * term(lows[j].conj().T, lows[i].conj().T)
    return out


def _numpy_chain(eta, rate, mu, temperature, omega=1.0):
    """Stationary vector of the 4-state chain (gg, Ψ+, Ψ−, ee) from the SVD null vector."""
    n = 1 / np.expm1((omega - np.asarray(mu)) / temperature)
    eta, rate = np.asarray(eta), np.asarray(rate)
    up = [np.sum(rate * n * (1 + s * eta)) for s in (1, -1)]
    down = [np.sum(rate * (1 + n) * (1 + s * eta)) for s in (1, -1)]
    q = np.zeros((4, 4))
    for k, s in enumerate((1, 2)):
        q[s, 0] += up[k]
        q[3, s] += up[k]
        q[s, 3] += down[k]
        q[0, s] += down[k]
    q -= np.diag(q.sum(axis=0))
    _, _, vh = np.linalg.svd(q)
    p = np.abs(vh[-1])
    return p / p.sum()


def _numpy_concurrence(p):
    return max(0.0, abs(p[1] - p[2]) - 2 * np.sqrt(p[0] * p[3]))


def _case(eta, rate, mu, temperature):
    return dict(eta=np.array(eta), rate=np.array(rate), mu=np.array(mu), temperature=temperature)


def _model(params, **kw):
    return magnon.MagnonBathQubits(**params, **kw)


# ------------------------------------------------------------------- construction


@pytest.mark.parametrize("params", [ENTANGLING, OTHER], ids=["two-channel", "three-channel"])
def test_lindbladian_matches_explicit_dissipator(params):
    model = _model(params)
    expected = _explicit_superop(**params)
    np.testing.assert_allclose(
        np.asarray(model.lindbladian().superoperator()), expected, atol=1e-13
    )


def test_three_qubits_uniform_correlation():
    params = dict(ENTANGLING, eta=np.array([0.3, -0.4]))
    model = _model(params, num_qubits=3)
    L = model.lindbladian()
    assert L.dims == (2, 2, 2)
    expected = _explicit_superop(**params, m=3)
    np.testing.assert_allclose(np.asarray(L.superoperator()), expected, atol=1e-13)
    # the steady state against QuTiP on the diagonalised jump operators of each channel
    lows = _lowering(3)
    jumps = []
    for e, g, u in zip(params["eta"], params["rate"], params["mu"], strict=True):
        n = 1 / np.expm1((1.0 - u) / params["temperature"])
        w, v = np.linalg.eigh((1 - e) * np.eye(3) + e * np.ones((3, 3)))
        for k in range(3):
            op = sum(v[j, k] * lows[j] for j in range(3))
            jumps += [np.sqrt(g * (1 + n) * w[k]) * op, np.sqrt(g * n * w[k]) * op.conj().T]
    dims = [[2, 2, 2], [2, 2, 2]]
    ref = qutip.steadystate(
        qutip.Qobj(np.zeros((8, 8)), dims=dims), [qutip.Qobj(j, dims=dims) for j in jumps]
    ).full()
    np.testing.assert_allclose(np.asarray(qdiss.steady_state(L).rho), ref, atol=1e-10)
    with pytest.raises(ValueError, match="two-qubit closed form"):
        model.closed_form_concurrence()


def test_reproduces_the_cli_model():
    params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in DEFAULT_PARAMETERS.items()}
    ref = qdiss.steady_state(magnon_qubits_lindbladian(params)).rho
    rho = qdiss.steady_state(magnon.MagnonBathQubits(**params).lindbladian()).rho
    np.testing.assert_allclose(np.asarray(rho), np.asarray(ref), atol=1e-12)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="one entry per channel"):
        magnon.MagnonBathQubits([0.1, 0.2], [1.0], [0.0, 0.0], 0.5)
    with pytest.raises(ValueError, match="must lie in"):
        magnon.MagnonBathQubits([1.2], [1.0], [0.0], 0.5)
    with pytest.raises(ValueError, match="must lie in"):
        magnon.MagnonBathQubits([-0.7], [1.0], [0.0], 0.5, num_qubits=3)
    with pytest.raises(ValueError, match="chemical_potential"):
        magnon.MagnonBathQubits([0.1], [1.0], [1.5], 0.5).lindbladian()


# ------------------------------------------------------------------- closed form


CASES = [
    ENTANGLING,
    _case([0.9, 0.1], [1.0, 0.3], [0.8, -3.0], 0.2),
    _case([-0.5, 0.7], [0.4, 0.9], [0.0, 0.5], 2.0),
    OTHER,
]


@pytest.mark.parametrize("params", CASES)
def test_steady_state_matches_markov_chain(params):
    model = _model(params)
    p_ref = _numpy_chain(**params)
    np.testing.assert_allclose(np.asarray(model.markov_chain_steady_state()), p_ref, atol=1e-13)
    rho = qdiss.steady_state(model.lindbladian()).rho
    np.testing.assert_allclose(np.asarray(rho), np.asarray(model.closed_form_state()), atol=1e-10)
    c_ref = _numpy_concurrence(p_ref)
    assert float(qdiss.measures.concurrence(rho)) == pytest.approx(c_ref, abs=1e-10)
    assert float(model.closed_form_concurrence()) == pytest.approx(c_ref, abs=1e-13)


def test_entangling_case_is_entangled():
    assert float(_model(ENTANGLING).closed_form_concurrence()) > 1e-3


@pytest.mark.parametrize(
    "params",
    [
        _case([0.8], [0.7], [0.3], 0.4),
        _case([0.6, 0.6], [0.2, 1.0], [0.5, -1.0], 0.5),
        _case([0.05, 0.99], [0.12, 0.92], [0.2, 0.2], 0.5),
    ],
    ids=["one-channel", "equal-eta", "equal-mu"],
)
def test_detailed_balance_gives_zero_concurrence(params):
    """Detailed balance (u₊d₋ = u₋d₊) ⇒ p₊ = p₋ ⇒ C = 0 exactly."""
    model = _model(params)
    u_p, u_m, d_p, d_m = (float(x) for x in magnon.collective_rates(**params))
    assert abs(u_p * d_m - u_m * d_p) <= 1e-14 * u_p * d_m
    assert abs(float(model.detailed_balance_violation())) <= 1e-14 * u_p * d_m
    rho = qdiss.steady_state(model.lindbladian()).rho
    p = np.asarray(
        [rho[3, 3].real, (rho[1, 1] + rho[2, 2] + 2 * rho[1, 2]).real / 2,
         (rho[1, 1] + rho[2, 2] - 2 * rho[1, 2]).real / 2, rho[0, 0].real]
    )  # fmt: skip
    assert abs(p[1] - p[2]) <= 1e-12
    assert float(qdiss.measures.concurrence(rho)) <= 1e-12
    assert float(model.closed_form_concurrence()) == 0.0


def test_entangling_case_violates_detailed_balance():
    assert abs(float(_model(ENTANGLING).detailed_balance_violation())) > 1e-3


# ------------------------------------------------------------------- gradients


def test_concurrence_gradient_matches_finite_differences():
    base = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in ENTANGLING.items()}
    base["omega"] = jnp.asarray(1.0)

    @jax.jit
    def concurrence(params):
        model = magnon.MagnonBathQubits(**params)
        return qdiss.measures.concurrence(qdiss.steady_state(model.lindbladian()).rho)

    grad = jax.grad(concurrence)(base)
    closed = jax.grad(lambda p: magnon.closed_form_concurrence(**p))(base)
    h = 1e-6
    for key, value in base.items():
        flat = np.atleast_1d(np.asarray(value, float))
        for i in range(flat.size):
            shift = np.zeros_like(flat)
            shift[i] = h

            def at(delta, key=key, shift=shift):
                args = {k: np.asarray(v, float) for k, v in base.items()}
                args[key] = np.reshape(
                    np.atleast_1d(args[key]) + delta * shift, np.shape(args[key])
                )
                return _numpy_concurrence(_numpy_chain(**args))

            fd = (at(1) - at(-1)) / (2 * h)
            g = np.atleast_1d(np.asarray(grad[key]))[i]
            gc = np.atleast_1d(np.asarray(closed[key]))[i]
            assert g == pytest.approx(fd, rel=1e-6, abs=1e-9), (key, i)
            assert gc == pytest.approx(fd, rel=1e-6, abs=1e-9), (key, i)


# ------------------------------------------------------------------- non-unique point


def test_eta_one_is_non_unique():
    """η_c = 1 for every channel: the singlet |Ψ−⟩ decouples (u₋ = d₋ = 0)."""
    params = dict(ENTANGLING, eta=np.array([1.0, 1.0]))
    model = _model(params)
    sol = qdiss.steady_state(model.lindbladian(), throw=False)
    assert sol.result == qdiss.RESULTS.non_unique
    with pytest.raises(eqx.EquinoxRuntimeError, match="not unique"):
        qdiss.steady_state(model.lindbladian(), throw=True)
    _, u_m, _, d_m = magnon.collective_rates(**params)
    assert float(u_m) == 0.0 and float(d_m) == 0.0
