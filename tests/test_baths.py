"""Correlated baths: the dissipator D_K against its definition, QuTiP and explicit jump operators;
the two-qubit magnon-bath model (arXiv:2508.18131) against its four-state Markov chain; the two-mode
squeezed bath (Coppo et al.) against L₁, L₂ and the two-mode squeezed vacuum; gradients (also at
degenerate and singular K) against central finite differences."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
from problems import destroy

import qdiss
from qdiss._baths import (
    bose_occupation,
    correlated_dissipator_jumps,
    kossakowski_matrix,
    thermal_bath_jumps,
    two_mode_squeezed_kossakowski,
)

SM = np.array([[0, 0], [1, 0]], complex)  # basis (e, g): σ⁻ = |g⟩⟨e|
EYE2 = np.eye(2)
S1, S2 = np.kron(SM, EYE2), np.kron(EYE2, SM)


def _fd(f, x, h=1e-6):
    """Central finite differences of a scalar function of a float vector."""
    x = np.asarray(x, float)
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        out.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


def _explicit_dissipator(K, ops):
    """Σ_ij K_ij (A_j ρ A_i† − ½{A_i†A_j, ρ}) as a row-major superoperator, term by term."""
    n = ops[0].shape[0]
    eye = np.eye(n)
    out = np.zeros((n * n, n * n), complex)
    for i, ai in enumerate(ops):
        for j, aj in enumerate(ops):
            k = ai.conj().T @ aj
            term = np.kron(aj, ai.conj()) - 0.5 * np.kron(k, eye) - 0.5 * np.kron(eye, k.T)
            out += K[i, j] * term
    return out


def _superop(jumps):
    n = jumps.shape[-1]
    return np.asarray(qdiss.Lindbladian(jnp.zeros((n, n), complex), jumps).superoperator())


def _random_psd(m, rank, seed):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(rank, m)) + 1j * rng.normal(size=(rank, m))
    return c.conj().T @ c


def _wootters(rho):
    """Wootters' concurrence with numpy: λ = √eig(ρ ρ̃) descending, C = max(0, λ1−λ2−λ3−λ4)."""
    sy = np.array([[0, -1j], [1j, 0]])
    yy = np.kron(sy, sy)
    lam = np.sqrt(np.abs(np.linalg.eigvals(rho @ yy @ rho.conj() @ yy)))
    lam = np.sort(lam)[::-1]
    return max(0.0, lam[0] - lam[1] - lam[2] - lam[3])


# ---------------------------------------------------------------------------------------------
# The constructor against the definition
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "K",
    [_random_psd(3, 3, 0), _random_psd(3, 1, 1), np.eye(3), np.zeros((3, 3))],
    ids=["full-rank-complex", "rank-1-complex", "identity-degenerate", "zero"],
)
def test_dissipator_equals_definition(K):
    rng = np.random.default_rng(5)
    ops = rng.normal(size=(3, 3, 3)) + 1j * rng.normal(size=(3, 3, 3))
    jumps = correlated_dissipator_jumps(jnp.asarray(K), jnp.asarray(ops))
    assert jumps.shape == (3, 3, 3)
    np.testing.assert_allclose(_superop(jumps), _explicit_dissipator(K, ops), atol=1e-11)
    # a list of operators works the same way
    listed = correlated_dissipator_jumps(jnp.asarray(K), [jnp.asarray(o) for o in ops])
    np.testing.assert_allclose(np.asarray(listed), np.asarray(jumps), atol=1e-14)


def test_kossakowski_matrix_inverts_the_construction():
    """L_k = Σ_j C_kj A_j has Σ D[L_k] = D_K with K = C†C (checked on the superoperator)."""
    rng = np.random.default_rng(2)
    ops = rng.normal(size=(3, 4, 4)) + 1j * rng.normal(size=(3, 4, 4))
    coeffs = rng.normal(size=(2, 3)) + 1j * rng.normal(size=(2, 3))
    direct = np.einsum("kj,jab->kab", coeffs, ops)
    K = np.asarray(kossakowski_matrix(jnp.asarray(coeffs)))
    np.testing.assert_allclose(_superop(jnp.asarray(direct)), _explicit_dissipator(K, ops))
    jumps = correlated_dissipator_jumps(jnp.asarray(K), jnp.asarray(ops))
    np.testing.assert_allclose(_superop(jumps), _superop(jnp.asarray(direct)), atol=1e-11)


def _qutip_row_major(super_qobj):
    """QuTiP stacks columns; conjugate by the vec-transpose permutation to get row-major."""
    q = super_qobj.full()
    n = int(round(np.sqrt(q.shape[0])))
    perm = np.arange(n * n).reshape(n, n).T.reshape(-1)
    return q[np.ix_(perm, perm)]


def test_magnon_channel_matches_qutip_lindblad_dissipator():
    """Real symmetric K: Σ_ij K_ij lindblad_dissipator(A_j, A_i) (QuTiP's D[a,b] = aρb† − ½{a†b, ρ};
    for real symmetric K its anticommutator ordering does not matter)."""
    K = 0.7 * np.array([[1.0, 0.4], [0.4, 1.0]])
    ops = [S1, S2]
    q = sum(
        K[i, j] * qutip.lindblad_dissipator(qutip.Qobj(ops[j]), qutip.Qobj(ops[i]))
        for i in range(2)
        for j in range(2)
    )
    jumps = correlated_dissipator_jumps(jnp.asarray(K), jnp.asarray(np.stack(ops)))
    np.testing.assert_allclose(_superop(jumps), _qutip_row_major(q), atol=1e-12)


def test_squeezed_bath_matches_qutip_spre_spost():
    """Complex K: Σ_ij K_ij [spre(A_j) spost(A_i†) − ½ spre(A_i†A_j) − ½ spost(A_i†A_j)]."""
    a = destroy(3)
    eye = np.eye(3)
    ops = [np.kron(a, eye), np.kron(eye, a), np.kron(a, eye).conj().T, np.kron(eye, a).conj().T]
    K = np.asarray(two_mode_squeezed_kossakowski(0.8, 0.4, 1.1))
    q = 0
    for i in range(4):
        for j in range(4):
            ai, aj = qutip.Qobj(ops[i]), qutip.Qobj(ops[j])
            k = ai.dag() * aj
            q = q + K[i, j] * (
                qutip.spre(aj) * qutip.spost(ai.dag()) - 0.5 * qutip.spre(k) - 0.5 * qutip.spost(k)
            )
    jumps = correlated_dissipator_jumps(jnp.asarray(K), jnp.asarray(np.stack(ops)))
    np.testing.assert_allclose(_superop(jumps), _qutip_row_major(q), atol=1e-12)


def test_gradients_at_degenerate_and_generic_K_match_finite_differences():
    """f(θ) = Σ W ∘ superoperator(D_K(θ)) and the jump operators themselves, with
    K(θ) = [[a, η + iβ], [η − iβ, b]]; θ = (1, 1, 0, 0) is K = I (degenerate eigenvalues)."""
    rng = np.random.default_rng(3)
    ops = jnp.asarray(rng.normal(size=(2, 3, 3)) + 1j * rng.normal(size=(2, 3, 3)))
    weight = jnp.asarray(rng.normal(size=(9, 9)))

    def matrix(theta):
        a, b, eta, beta = theta
        off = jax.lax.complex(eta, beta)
        return jnp.stack(
            [jnp.stack([a.astype(off.dtype), off]), jnp.stack([off.conj(), b.astype(off.dtype)])]
        )

    @jax.jit
    def f(theta):
        jumps = correlated_dissipator_jumps(matrix(theta), ops)
        return jnp.sum(
            weight * jnp.real(qdiss.Lindbladian(jnp.zeros((3, 3)), jumps).superoperator())
        )

    @jax.jit
    def jumps_flat(theta):
        j = correlated_dissipator_jumps(matrix(theta), ops)
        return jnp.concatenate([jnp.real(j).ravel(), jnp.imag(j).ravel()])

    for theta in ([1.0, 1.0, 0.0, 0.0], [1.3, 0.6, 0.3, -0.2]):
        theta = np.array(theta)
        grad = np.asarray(jax.grad(f)(jnp.asarray(theta)))
        fd = _fd(lambda t: float(f(jnp.asarray(t))), theta)
        assert np.all(np.isfinite(grad))
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)
        jac = np.asarray(jax.jacfwd(jumps_flat)(jnp.asarray(theta)))
        jac_fd = np.stack(
            [
                (
                    np.asarray(jumps_flat(jnp.asarray(theta + h)))
                    - np.asarray(jumps_flat(jnp.asarray(theta - h)))
                )
                / 2e-6
                for h in 1e-6 * np.eye(4)
            ],
            axis=1,
        )
        np.testing.assert_allclose(jac, jac_fd, atol=1e-7)
    # jit and vmap pass through
    thetas = jnp.asarray([[1.0, 1.0, 0.0, 0.0], [1.3, 0.6, 0.3, -0.2]])
    batched = jax.vmap(jax.grad(f))(thetas)
    np.testing.assert_allclose(np.asarray(batched[0]), np.asarray(jax.grad(f)(thetas[0])))


@pytest.mark.parametrize(
    "K, match",
    [
        (np.array([[1.0, 0.5], [0.2, 1.0]]), "must be Hermitian"),
        (np.array([[1.0, 1.2], [1.2, 1.0]]), "must be positive semidefinite"),
        (np.eye(3), r"must be an \(m, m\) matrix with m = 2"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), "non-finite"),
    ],
)
def test_invalid_matrices_raise(K, match):
    with pytest.raises(ValueError, match=match):
        correlated_dissipator_jumps(jnp.asarray(K), jnp.asarray(np.stack([S1, S2])))


@pytest.mark.parametrize(
    "K, match",
    [
        (np.array([[1.0, 0.5], [0.2, 1.0]]), "must be Hermitian"),
        (np.array([[1.0, 1.2], [1.2, 1.0]]), "must be positive semidefinite"),
    ],
)
def test_invalid_matrices_raise_under_jit(K, match):
    f = eqx.filter_jit(correlated_dissipator_jumps)
    with pytest.raises(eqx.EquinoxRuntimeError, match=match):
        jax.block_until_ready(f(jnp.asarray(K), jnp.asarray(np.stack([S1, S2]))))


def test_thermal_arguments_validated():
    K, ops = jnp.eye(2), [S1, S2]
    with pytest.raises(ValueError, match="μ < ω"):
        thermal_bath_jumps(K, ops, 0.3, temperature=0.5, frequency=1.0, chemical_potential=1.0)
    with pytest.raises(ValueError, match="`temperature` must be positive"):
        thermal_bath_jumps(K, ops, 0.3, temperature=0.0, frequency=1.0)
    with pytest.raises(ValueError, match="not both"):
        thermal_bath_jumps(K, ops, 0.3, occupation=0.2, temperature=0.5, frequency=1.0)
    with pytest.raises(ValueError, match="Give either"):
        thermal_bath_jumps(K, ops, 0.3, temperature=0.5)
    with pytest.raises(ValueError, match="must be ≥ 0"):
        thermal_bath_jumps(K, ops, -0.3, occupation=0.2)
    f = eqx.filter_jit(lambda mu: bose_occupation(1.0, 0.5, mu))
    with pytest.raises(eqx.EquinoxRuntimeError, match="below `frequency`"):
        jax.block_until_ready(f(jnp.asarray(1.5)))
    # occupation given directly = occupation from (T, ω, μ)
    n = 1 / np.expm1((1.0 - 0.2) / 0.5)
    by_t = thermal_bath_jumps(K, ops, 0.3, temperature=0.5, frequency=1.0, chemical_potential=0.2)
    by_n = thermal_bath_jumps(K, ops, 0.3, occupation=n)
    np.testing.assert_allclose(np.asarray(by_t), np.asarray(by_n), atol=1e-14)


# ---------------------------------------------------------------------------------------------
# (a) Two qubits in a pumped magnon bath, arXiv:2508.18131
# ---------------------------------------------------------------------------------------------

OMEGA = 1.0
PARAMS = {"eta": [0.05, 0.99], "rate": [0.12, 0.92], "mu": [0.17, -1.35], "temperature": 0.5}


def _magnon_jumps(eta, rate, mu, temp):
    jumps = []
    for c in range(eta.shape[0]):
        K = jnp.eye(2) + eta[c] * jnp.array([[0.0, 1.0], [1.0, 0.0]])
        jumps.append(
            thermal_bath_jumps(
                K,
                [S1, S2],
                rate[c],
                temperature=temp,
                frequency=OMEGA,
                chemical_potential=mu[c],
            )
        )
    return jnp.concatenate(jumps)


def _magnon_rho(eta, rate, mu, temp):
    L = qdiss.Lindbladian(jnp.zeros((4, 4), complex), _magnon_jumps(eta, rate, mu, temp))
    return qdiss.steady_state(L, qdiss.DenseLU()).rho


def _bell_basis():
    e, g = np.eye(2)
    gg, ee = np.kron(g, g), np.kron(e, e)
    plus = (np.kron(e, g) + np.kron(g, e)) / np.sqrt(2)
    minus = (np.kron(e, g) - np.kron(g, e)) / np.sqrt(2)
    return [gg, plus, minus, ee]


def _markov_chain_state(eta, rate, mu, temp):
    """Independent closed form: rates between gg, Ψ±, ee; stationary vector by numpy null space.

    Down jump √d_± (σ⁻₁ ± σ⁻₂)/√2 takes ee → Ψ± → gg at rate d_± = Σ_c Γ_c(1+n_c)(1 ± η_c);
    the up jumps take gg → Ψ± → ee at rate u_± = Σ_c Γ_c n_c (1 ± η_c)."""
    eta, rate, mu = (np.asarray(x, float) for x in (eta, rate, mu))
    n = 1 / (np.exp((OMEGA - mu) / temp) - 1)
    gen = np.zeros((4, 4))  # gen[to, from]
    for k, sign in ((1, 1.0), (2, -1.0)):
        down = np.sum(rate * (1 + n) * (1 + sign * eta))
        up = np.sum(rate * n * (1 + sign * eta))
        gen[k, 3] += down
        gen[0, k] += down
        gen[k, 0] += up
        gen[3, k] += up
    gen -= np.diag(gen.sum(axis=0))
    p = np.linalg.svd(gen)[2][-1]
    p = p / p.sum()
    rho = sum(pk * np.outer(v, v) for pk, v in zip(p, _bell_basis(), strict=True))
    return p, rho


def _closed_form_concurrence(x):
    eta, rate, mu, temp = x[:2], x[2:4], x[4:6], x[6]
    return _wootters(_markov_chain_state(eta, rate, mu, temp)[1])


def _x_state_concurrence(rho):
    """C = 2 max(0, |ρ_{eg,ge}| − √(ρ_{ee,ee} ρ_{gg,gg}), |ρ_{ee,gg}| − √(ρ_{eg,eg} ρ_{ge,ge}))."""
    p = jnp.real(jnp.diag(rho))
    first = jnp.abs(rho[1, 2]) - jnp.sqrt(p[0] * p[3])
    second = jnp.abs(rho[0, 3]) - jnp.sqrt(p[1] * p[2])
    return 2 * jnp.maximum(0.0, jnp.maximum(first, second))


def _flat(params):
    return np.concatenate(
        [params["eta"], params["rate"], params["mu"], [params["temperature"]]]
    ).astype(float)


def test_magnon_superoperator_equals_explicit_diagonal_jumps():
    """√(Γ↓(1±η))(σ⁻₁±σ⁻₂)/√2 and √(Γ↑(1±η))(σ⁺₁±σ⁺₂)/√2 per channel (arXiv:2508.18131)."""
    eta, rate, mu = (np.array(PARAMS[k]) for k in ("eta", "rate", "mu"))
    temp = PARAMS["temperature"]
    n = 1 / np.expm1((OMEGA - mu) / temp)
    explicit = []
    for c in range(2):
        for sign in (1, -1):
            op = (S1 + sign * S2) / np.sqrt(2)
            explicit.append(np.sqrt(rate[c] * (1 + n[c]) * (1 + sign * eta[c])) * op)
            explicit.append(np.sqrt(rate[c] * n[c] * (1 + sign * eta[c])) * op.conj().T)
    ours = _magnon_jumps(*(jnp.asarray(PARAMS[k]) for k in ("eta", "rate", "mu", "temperature")))
    assert ours.shape == (8, 4, 4)
    np.testing.assert_allclose(
        _superop(ours), _superop(jnp.asarray(np.stack(explicit))), atol=1e-12
    )


@pytest.mark.parametrize(
    "params, entangled",
    [
        (PARAMS, True),
        # detailed balance: one channel; equal η; equal up/down ratio (equal μ)
        ({"eta": [0.8], "rate": [0.5], "mu": [0.3], "temperature": 0.4}, False),
        ({"eta": [0.7, 0.7], "rate": [0.12, 0.92], "mu": [0.17, -1.35], "temperature": 0.5}, False),
        ({"eta": [0.05, 0.99], "rate": [0.12, 0.92], "mu": [0.2, 0.2], "temperature": 0.5}, False),
    ],
    ids=["two-channels", "single-channel", "equal-eta", "equal-mu"],
)
def test_magnon_steady_state_matches_markov_chain(params, entangled):
    args = [jnp.asarray(params[k], dtype=float) for k in ("eta", "rate", "mu", "temperature")]
    rho = np.asarray(_magnon_rho(*args))
    p, rho_exact = _markov_chain_state(*(np.asarray(params[k]) for k in PARAMS))
    np.testing.assert_allclose(rho, rho_exact, atol=1e-10)
    bell = _bell_basis()
    np.testing.assert_allclose([np.real(v @ rho @ v) for v in bell], p, atol=1e-10)
    c_exact = _wootters(rho_exact)
    assert _wootters(rho) == pytest.approx(c_exact, abs=1e-9)
    assert float(_x_state_concurrence(jnp.asarray(rho))) == pytest.approx(c_exact, abs=1e-9)
    if entangled:
        assert c_exact > 1e-3
    else:
        assert c_exact == 0.0


def test_magnon_concurrence_gradient_matches_closed_form_finite_differences():
    """dC/d(η_c, Γ_c, μ_c, T) by implicit differentiation vs central differences of the numpy
    Markov-chain closed form (and of the jax pipeline itself)."""

    @jax.jit
    def concurrence(x):
        return _x_state_concurrence(_magnon_rho(x[:2], x[2:4], x[4:6], x[6]))

    x = _flat(PARAMS)
    grad = np.asarray(jax.grad(concurrence)(jnp.asarray(x)))
    fd_exact = _fd(_closed_form_concurrence, x, h=1e-6)
    fd_ours = _fd(lambda y: float(concurrence(jnp.asarray(y))), x, h=1e-6)
    assert np.all(np.abs(grad) > 1e-4)  # every parameter matters at this point
    np.testing.assert_allclose(grad, fd_exact, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(grad, fd_ours, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# (b) Two resonators with an entangled (two-mode squeezed) bath, Coppo et al. (qdiss.models.kerr)
# ---------------------------------------------------------------------------------------------

CUTOFF = 6


def _modes(cutoff=CUTOFF):
    a = destroy(cutoff)
    eye = np.eye(cutoff)
    return np.kron(a, eye), np.kron(eye, a)


def test_squeezed_kossakowski_matrix_by_hand():
    kappa, r, phi = 0.8, 0.35, 0.9
    c, s, e = np.cosh(r), np.sinh(r), np.exp(1j * phi)
    by_hand = kappa * np.array(
        [
            [c * c, 0, 0, -c * s * e],
            [0, c * c, -c * s * e, 0],
            [0, -c * s / e, s * s, 0],
            [-c * s / e, 0, 0, s * s],
        ]
    )
    K = np.asarray(two_mode_squeezed_kossakowski(kappa, r, phi))
    np.testing.assert_allclose(K, by_hand, atol=1e-14)
    np.testing.assert_allclose(
        np.linalg.eigvalsh(K), [0, 0, kappa * np.cosh(2 * r), kappa * np.cosh(2 * r)], atol=1e-12
    )


@pytest.mark.parametrize("r, phi", [(0.3, 0.0), (0.45, 1.2)])
def test_squeezed_bath_dissipator_equals_L1_L2(r, phi):
    kappa = 0.7
    a, b = _modes(4)
    ops = np.stack([a, b, a.conj().T, b.conj().T])
    jumps = correlated_dissipator_jumps(two_mode_squeezed_kossakowski(kappa, r, phi), ops)
    e = np.exp(1j * phi)
    l1 = np.sqrt(kappa) * (np.cosh(r) * a - e * np.sinh(r) * b.conj().T)
    l2 = np.sqrt(kappa) * (np.cosh(r) * b - e * np.sinh(r) * a.conj().T)
    np.testing.assert_allclose(
        _superop(jumps), _superop(jnp.asarray(np.stack([l1, l2]))), atol=1e-12
    )


def _tmsv_moments(r, phi, cutoff=CUTOFF):
    """Truncated two-mode squeezed vacuum Σ_n x^n |n, n⟩, x = e^{iφ} tanh r (n < cutoff): the
    exact dark state of the truncated L₁, L₂. Returns ⟨a†a⟩, ⟨ab⟩."""
    n = np.arange(cutoff)
    c = (np.exp(1j * phi) * np.tanh(r)) ** n
    norm = np.sum(np.abs(c) ** 2)
    photons = np.sum(n * np.abs(c) ** 2) / norm
    ab = np.sum(np.conj(c[:-1]) * c[1:] * n[1:]) / norm
    return photons, ab


def _squeezed_moments(theta):
    r, phi = theta
    a, b = (jnp.asarray(x) for x in _modes())
    ops = jnp.stack([a, b, a.conj().T, b.conj().T])
    jumps = correlated_dissipator_jumps(two_mode_squeezed_kossakowski(0.9, r, phi), ops)
    n = CUTOFF * CUTOFF
    rho = qdiss.steady_state(
        qdiss.Lindbladian(jnp.zeros((n, n), complex), jumps), qdiss.DenseLU()
    ).rho
    photons = jnp.real(jnp.trace(a.conj().T @ a @ rho))
    ab = jnp.trace(a @ b @ rho)
    return jnp.stack([photons, jnp.real(ab), jnp.imag(ab)])


def test_squeezed_bath_steady_state_is_locally_thermal_and_differentiable():
    """H = 0: ⟨a†a⟩ = sinh² r (the local thermal value; truncation error ~ tanh^{2·cutoff} r),
    ⟨ab⟩ = e^{iφ} sinh r cosh r; exact against the truncated two-mode squeezed vacuum; gradients
    in (r, φ) against finite differences of that closed form."""
    r, phi = 0.3, 0.7
    moments = jax.jit(_squeezed_moments)
    theta = jnp.asarray([r, phi])
    photons, re_ab, im_ab = np.asarray(moments(theta))
    exact_n, exact_ab = _tmsv_moments(r, phi)
    assert photons == pytest.approx(np.sinh(r) ** 2, rel=1e-4)
    assert re_ab + 1j * im_ab == pytest.approx(np.exp(1j * phi) * np.sinh(r) * np.cosh(r), rel=1e-4)
    assert photons == pytest.approx(exact_n, rel=1e-9)
    assert re_ab + 1j * im_ab == pytest.approx(exact_ab, rel=1e-9)

    jac = np.asarray(jax.jacrev(moments)(theta))

    def closed(t):
        n_, ab_ = _tmsv_moments(*t)
        return np.array([n_, ab_.real, ab_.imag])

    th = np.array([r, phi])
    jac_fd = np.stack([(closed(th + h) - closed(th - h)) / 2e-6 for h in 1e-6 * np.eye(2)], axis=1)
    np.testing.assert_allclose(jac, jac_fd, rtol=1e-6, atol=1e-8)
    assert abs(jac[0, 1]) < 1e-9  # ⟨a†a⟩ does not depend on φ
