"""Issue 11 items 3-4: inputs keep the precision asked for, QuTiP objects are accepted or refused
clearly, traced bad inputs give per-point result codes, every solver gives the same code to the
same ill-posed problem, and Evolve's defaults finish the cold oscillator."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
from problems import destroy

import qdiss
from qdiss._solution import result_name

SOLVERS = {
    "dense": qdiss.DenseLU(),
    "sparse": qdiss.SparseLU(),
    "krylov": qdiss.Krylov(),
    "evolve": qdiss.Evolve(),
    "auto": qdiss.Auto(),
}


def _names(sol) -> list[str]:
    return [result_name(int(c)) for c in np.atleast_1d(np.asarray(sol.result._value))]


def _qutip_steady(H, c_ops) -> np.ndarray:
    """Independent reference: QuTiP's direct steady-state solver on the same operators."""
    ops = [qutip.Qobj(np.asarray(c)) for c in c_ops]
    return qutip.steadystate(qutip.Qobj(np.asarray(H)), ops).full()


# ------------------------------------------------------------------ dtype (item 4)


def test_integer_operators_give_the_default_complex_dtype():
    """np.diag(np.arange(n)) and an integer σ⁻ carry no precision: complex128 under x64 (the
    tests run with x64 on), and the solve is accurate to double precision."""
    H = np.diag(np.arange(3))
    lower = np.diag([1, 1], 1)  # integer lowering operator
    pauli_x = np.array([[0, 1], [1, 0]])
    assert qdiss.Lindbladian(H, [lower]).dtype == jnp.complex128
    assert qdiss.Lindbladian(pauli_x, [np.array([[0, 1], [0, 0]])]).dtype == jnp.complex128
    assert qdiss.Lindbladian([[0, 1], [1, 0]], [[[0, 1], [0, 0]]]).dtype == jnp.complex128
    assert qdiss.Lindbladian(H, [lower, 0.5 * lower]).dtype == jnp.complex128
    drive = H + (lower + lower.T)
    sol = qdiss.steady_state(qdiss.Lindbladian(drive, [lower]), qdiss.DenseLU())
    assert sol.rho.dtype == jnp.complex128
    np.testing.assert_allclose(sol.rho, _qutip_steady(drive, [lower]), atol=1e-12)


def test_explicit_single_precision_is_kept():
    H = np.diag(np.arange(3))
    lower = np.diag([1.0, 1.0], 1)
    assert qdiss.Lindbladian(H.astype(np.float32), [lower.astype(np.float32)]).dtype == (
        jnp.complex64
    )
    assert qdiss.Lindbladian(H, [lower.astype(np.complex64)]).dtype == jnp.complex64  # int H
    assert qdiss.Lindbladian(H.astype(np.complex64), np.diag([1, 1], 1)).dtype == jnp.complex64
    # one double-precision input widens
    assert qdiss.Lindbladian(H.astype(np.float32), [lower]).dtype == jnp.complex128


# ------------------------------------------------------------------ QuTiP inputs (item 4)


def test_qutip_energy_restricted_operators():
    """ENR operators list dims [[3, 3], [3, 3]] for a 6-dimensional space: one factor (6,)."""
    a1, a2 = qutip.enr_destroy([3, 3], 2)
    H = 0.7 * a1.dag() * a1 + 1.1 * a2.dag() * a2 + 0.3 * (a1.dag() * a2 + a2.dag() * a1)
    H = H + 0.4 * (a1 + a1.dag())
    c_ops = [np.sqrt(0.5) * a1, np.sqrt(0.8) * a2]
    L = qdiss.Lindbladian(H, c_ops)
    assert L.n == 6 and L.dims == (6,)
    sol = qdiss.steady_state(L, qdiss.DenseLU())
    np.testing.assert_allclose(sol.rho, qutip.steadystate(H, c_ops).full(), atol=1e-10)


@pytest.mark.parametrize("role", ["H", "jump"])
def test_qutip_objects_that_are_not_operators_raise_clear_errors(role):
    sx, sm = qutip.sigmax(), qutip.destroy(2)
    bad = {
        "QobjEvo": (qutip.QobjEvo([sx, [qutip.sigmaz(), lambda t: np.cos(t)]]), TypeError),
        "superoperator": (qutip.spre(sx), ValueError),
        "ket": (qutip.basis(2, 0), ValueError),
    }
    for word, (obj, error) in bad.items():
        with pytest.raises(error, match=word):
            if role == "H":
                qdiss.Lindbladian(obj, [sm])
            else:
                qdiss.Lindbladian(sx, [sm, obj])


# ------------------------------------------------------------------ traced bad inputs (item 3)

_A = destroy(4)


def _cavity(p):
    delta, drive, gamma = p.astype(complex)
    H = delta * (_A.T @ _A) + drive * (_A + _A.T)
    return qdiss.Lindbladian(H, [jnp.sqrt(gamma) * _A])


_POINTS = np.array([[0.4, 0.6, 1.3], [0.4, np.nan, 1.3], [0.2, 0.3, np.inf], [0.1, 0.5, 0.9]])


@pytest.mark.parametrize("name", list(SOLVERS))
def test_one_nonfinite_point_of_a_vmap_is_reported_alone(name):
    sol = jax.vmap(lambda p: qdiss.steady_state(_cavity(p), SOLVERS[name], throw=False))(
        jnp.asarray(_POINTS)
    )
    assert _names(sol) == ["successful", "nonfinite", "nonfinite", "successful"]
    for i in (0, 3):
        d, f, g = _POINTS[i]
        ref = _qutip_steady(d * _A.T @ _A + f * (_A + _A.T), [np.sqrt(g) * _A])
        np.testing.assert_allclose(sol.rho[i], ref, atol=1e-9)
    # throw=True still raises, with the message that names the cause
    with pytest.raises(eqx.EquinoxRuntimeError, match="non-finite"):
        jax.block_until_ready(
            eqx.filter_jit(lambda p: qdiss.steady_state(_cavity(p), SOLVERS[name]).rho)(
                jnp.asarray(_POINTS[1])
            )
        )


def test_traced_non_hermitian_point_is_reported_alone():
    lower = jnp.array([[0.0, 1.0], [0.0, 0.0]], complex)

    def solve(x, throw=False):
        off = jnp.array([[0, 0], [1, 0]], complex)
        H = jnp.array([[0.0, 1.0], [0.0, 0.5]], complex) + x.astype(complex) * off
        return qdiss.steady_state(qdiss.Lindbladian(H, [lower]), qdiss.DenseLU(), throw=throw)

    sol = jax.vmap(solve)(jnp.array([1.0, 0.0, 1.0]))
    assert _names(sol) == ["successful", "not_hermitian", "successful"]
    with pytest.raises(eqx.EquinoxRuntimeError, match="`H` must be Hermitian"):
        jax.block_until_ready(eqx.filter_jit(lambda x: solve(x, throw=True).rho)(jnp.array(0.0)))


def test_permutation_invariant_nonfinite_rate_is_reported_alone():
    def solve(rate):
        L = qdiss.PermutationInvariantLindbladian(
            3, linear=jnp.array([0.8, 0.0, 0.2]), emission=rate, dephasing=0.3
        )
        return qdiss.steady_state(L, qdiss.DenseLU(), throw=False)

    sol = jax.vmap(solve)(jnp.array([1.0, jnp.nan, 0.5]))
    assert _names(sol) == ["successful", "nonfinite", "successful"]


# ------------------------------------------------------------------ consistent codes (item 3)

_RNG = np.random.default_rng(3)
_M = _RNG.normal(size=(4, 4)) + 1j * _RNG.normal(size=(4, 4))
_CLOSED = {
    "int-pauli-no-jumps": (np.array([[0, 1], [1, 0]]), []),
    "random-H-no-jumps": (_M + _M.conj().T, []),
    "zero-jumps": (np.diag([0.0, 1.0, 2.5]), [np.zeros((3, 3))]),
}


@pytest.mark.parametrize("case", list(_CLOSED))
def test_closed_system_is_non_unique_for_every_solver(case):
    H, jumps = _CLOSED[case]
    L = qdiss.Lindbladian(H, jumps)
    codes = {name: qdiss.steady_state(L, s, throw=False).status for name, s in SOLVERS.items()}
    assert set(codes.values()) == {"non_unique"}, codes


def _two_blocks(eps):
    """Two driven-damped two-level blocks {0, 1} and {2, 3} coupled by jumps of rate eps."""
    H = np.diag([0.0, 1.0, 0.3, 1.7])
    H[0, 1] = H[1, 0] = 0.4
    H[2, 3] = H[3, 2] = 0.2

    def op(i, j):
        m = np.zeros((4, 4))
        m[i, j] = 1.0
        return m

    rates = [(0, 1, 1.0), (1, 0, 0.49), (2, 3, 1.69), (3, 2, 0.25), (2, 0, eps), (0, 2, eps)]
    return qdiss.Lindbladian(H, [np.sqrt(r) * op(i, j) for i, j, r in rates])


@pytest.mark.parametrize("eps", [1e-13, 1e-12, 1e-11])
def test_nearly_decoupled_blocks_get_one_code_from_every_solver(eps):
    L = _two_blocks(eps)
    codes = {name: qdiss.steady_state(L, s, throw=False).status for name, s in SOLVERS.items()}
    assert len(set(codes.values())) == 1, codes
    assert codes["dense"] in ("non_unique", "inaccurate")


# ------------------------------------------------------------------ Evolve (item 4)


def test_evolve_default_step_tolerance_is_well_below_stationarity():
    for dtype in (jnp.complex128, jnp.complex64):
        rtol, atol, stationarity, _, _ = qdiss.Evolve()._settings(dtype)
        assert rtol <= stationarity / 10 and atol <= rtol


def _cold_oscillator(n, q):
    """H = π a†a, decay 0.05(1 + n̄), pumping 0.05 n̄ with n̄/(1 + n̄) = q: thermal steady state
    ρ_kk ∝ q^k (detailed balance)."""
    a = destroy(n)
    nbar = q / (1 - q)
    L = qdiss.Lindbladian(
        np.pi * a.T @ a, [np.sqrt(0.05 * (1 + nbar)) * a, np.sqrt(0.05 * nbar) * a.T]
    )
    exact = q ** np.arange(n)
    return L, exact / exact.sum()


def test_evolve_cold_oscillator_finishes_and_returns_the_linear_solve_value():
    """The old defaults (step and stationarity tolerances both 1e-12, a second trajectory from a
    random pure state whose coherences oscillate at up to (n−1)π) ran 10⁴+ steps here (10⁵ and
    547 s at n = 30, then not_stationary); max_steps=2000 keeps a regression fast. The value is
    the linear solve's: ρ₁₁ = 1e-10 is resolved to 1e-5 relative, where the evolved state is
    off by ~1e-12 absolute (1.017e-10)."""
    L, exact = _cold_oscillator(12, 1e-10)
    sol = qdiss.steady_state(L, qdiss.Evolve(max_steps=2000))
    assert sol.status == "successful"
    assert int(sol.stats.num_steps) < 500
    pops = np.real(np.diag(np.asarray(sol.rho)))
    np.testing.assert_allclose(pops, exact, atol=1e-14)
    # ρ₁₁ = 1e-10 is ~1e-10 of ‖ρ‖: a normwise rtol of 1e-12 pins it to ~1e-4 relative (the
    # evolved state was 1.7e-2 off, the 1.017e-10)
    assert abs(pops[1] / exact[1] - 1) < 1e-4
    # the same value as a direct solve, to rounding
    direct = qdiss.steady_state(L, qdiss.DenseLU())
    np.testing.assert_allclose(sol.rho, direct.rho, atol=1e-14)
