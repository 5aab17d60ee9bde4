"""The contract every steady-state solver in tests/solvers.py must meet.

Against independent references (numpy SVD null space, QuTiP's steadystate), for residual,
Hermiticity, trace, positivity, jit, vmap (parameters and rho0), jvp vs finite differences,
grad vs jvp, jacfwd vs jacrev, and failure reporting.

The last tests run over solvers × representations (tests/representations.py: dense, symmetry
sectors, permutation-invariant blocks), in the pattern of lineax's tests/helpers.py: every solver
on every representation against the dense steady state of the independently built dense
equivalent, under jit and vmap, and its derivatives against finite differences of that reference.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
from problems import null_space_steady_state, random_lindbladian, random_lindbladian_arrays
from representations import REPRESENTATIONS
from solvers import SOLVERS

import qdiss

SOLVER_IDS = list(SOLVERS)
RANDOM_CASES = [(3, 1, 0), (5, 2, 1), (8, 3, 2)]


def _solve(L, solver, **kwargs):
    return qdiss.steady_state(L, solver, **kwargs)


def _parametrised(theta, h0, h1, l0, l1):
    """A Lindbladian depending on real parameters θ = (θ0, θ1) through H and the jump ops."""
    theta = theta.astype(h0.dtype)
    H = h0 + theta[0] * h1
    Ls = l0 + theta[1] * l1
    return qdiss.Lindbladian(H, Ls)


def _parametrised_arrays(n=4, k=2, seed=7):
    h0, l0 = random_lindbladian_arrays(n, k, seed)
    h1, l1 = random_lindbladian_arrays(n, k, seed + 100)
    obs, _ = random_lindbladian_arrays(n, 1, seed + 200)
    return tuple(jnp.asarray(x) for x in (h0, h1, l0, l1, obs))


def _expect(obs, rho):
    return jnp.real(jnp.trace(obs @ rho))


@pytest.mark.parametrize("name", SOLVER_IDS)
@pytest.mark.parametrize("n,k,seed", RANDOM_CASES)
def test_matches_null_space_reference(name, n, k, seed):
    L = random_lindbladian(n, k, seed)
    sol = _solve(L, SOLVERS[name])
    ref = null_space_steady_state(L)
    rho = np.asarray(sol.rho)
    assert bool(sol.succeeded)
    np.testing.assert_allclose(rho, ref, atol=1e-9)
    assert float(sol.stats.residual) <= 1e-10
    np.testing.assert_allclose(rho, rho.conj().T, atol=1e-14)
    assert abs(np.trace(rho) - 1) < 1e-12
    assert np.linalg.eigvalsh(rho)[0] > -1e-10
    assert float(sol.stats.min_eigenvalue) == pytest.approx(np.linalg.eigvalsh(rho)[0], abs=1e-12)


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_matches_qutip(name):
    for n, k, seed in [(4, 2, 11), (6, 1, 12)]:
        h, ls = random_lindbladian_arrays(n, k, seed)
        ref = qutip.steadystate(qutip.Qobj(h), [qutip.Qobj(x) for x in ls]).full()
        L = qdiss.Lindbladian(qutip.Qobj(h), [qutip.Qobj(x) for x in ls])
        np.testing.assert_allclose(np.asarray(_solve(L, SOLVERS[name]).rho), ref, atol=1e-8)


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_jit_and_vmap_over_parameters(name):
    solver = SOLVERS[name]
    h0, h1, l0, l1, obs = _parametrised_arrays()
    thetas = jnp.array([[0.1, 0.2], [0.5, -0.3], [-0.4, 0.7]])

    @eqx.filter_jit
    def solve(theta):
        sol = _solve(_parametrised(theta, h0, h1, l0, l1), solver, throw=False)
        return sol.rho, sol.result

    rhos, results = jax.vmap(solve)(thetas)
    assert bool(jnp.all(results == qdiss.RESULTS.successful))
    for theta, rho in zip(thetas, rhos, strict=True):
        ref = null_space_steady_state(_parametrised(theta, h0, h1, l0, l1))
        np.testing.assert_allclose(np.asarray(rho), ref, atol=1e-9)


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_vmap_over_rho0(name):
    L = random_lindbladian(4, 2, 3)
    rng = np.random.default_rng(0)
    psi = rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))
    psi /= np.linalg.norm(psi, axis=1, keepdims=True)
    rho0s = jnp.asarray(np.einsum("bi,bj->bij", psi, psi.conj()))
    rhos = jax.vmap(lambda r0: _solve(L, SOLVERS[name], rho0=r0).rho)(rho0s)
    ref = null_space_steady_state(L)
    for rho in rhos:
        np.testing.assert_allclose(np.asarray(rho), ref, atol=1e-9)


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_jvp_matches_finite_differences(name):
    solver = SOLVERS[name]
    h0, h1, l0, l1, _ = _parametrised_arrays()
    theta = jnp.array([0.3, -0.2])
    direction = jnp.array([0.7, -1.1])

    def rho_of(t):
        return _solve(_parametrised(t, h0, h1, l0, l1), solver).rho

    _, tangent = jax.jvp(rho_of, (theta,), (direction,))
    # Finite differences on the dense reference solve: independent of the solver under test.
    step = 1e-5

    def ref(t):
        return null_space_steady_state(_parametrised(t, h0, h1, l0, l1))

    fd = (ref(theta + step * direction) - ref(theta - step * direction)) / (2 * step)
    np.testing.assert_allclose(np.asarray(tangent), fd, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_grad_matches_jvp_and_jacobians_agree(name):
    solver = SOLVERS[name]
    h0, h1, l0, l1, obs = _parametrised_arrays()
    theta = jnp.array([0.3, -0.2])

    def f(t):
        return _expect(obs, _solve(_parametrised(t, h0, h1, l0, l1), solver).rho)

    grad = jax.grad(f)(theta)
    for direction in jnp.eye(2):
        _, tangent = jax.jvp(f, (theta,), (direction,))
        assert float(jnp.dot(grad, direction)) == pytest.approx(float(tangent), rel=1e-8, abs=1e-12)

    def g(t):  # vector-valued: two expectation values
        rho = _solve(_parametrised(t, h0, h1, l0, l1), solver).rho
        return jnp.stack([_expect(obs, rho), _expect(obs @ obs, rho)])

    np.testing.assert_allclose(jax.jacfwd(g)(theta), jax.jacrev(g)(theta), rtol=1e-8, atol=1e-12)


def _dicke_dimer(omega=1.0, gamma=1.0):
    sm = np.array([[0, 1], [0, 0]], complex)
    sx = np.array([[0, 1], [1, 0]], complex)
    eye = np.eye(2)
    H = omega * (np.kron(sx, eye) + np.kron(eye, sx)) / 2
    jump = np.sqrt(gamma) * (np.kron(sm, eye) + np.kron(eye, sm))
    return qdiss.Lindbladian(jnp.asarray(H), [jnp.asarray(jump)])


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_non_unique_steady_state_is_reported(name):
    L = _dicke_dimer()
    sol = _solve(L, SOLVERS[name], throw=False)
    assert sol.result == qdiss.RESULTS.non_unique
    assert sol.status == "non_unique"
    with pytest.raises(eqx.EquinoxRuntimeError, match="not unique"):
        _solve(L, SOLVERS[name], throw=True)


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_bad_point_in_vmapped_sweep_is_flagged_not_fatal(name):
    """One non-unique point (ω = 0 decouples a qubit's coherent dynamics: Dicke dimer at θ=1)."""
    sm = np.array([[0, 1], [0, 0]], complex)
    sx = np.array([[0, 1], [1, 0]], complex)
    eye = np.eye(2)
    H = jnp.asarray((np.kron(sx, eye) + np.kron(eye, sx)) / 2)
    collective = jnp.asarray(np.kron(sm, eye) + np.kron(eye, sm))
    local = jnp.asarray(np.kron(sm, eye) - np.kron(eye, sm))

    def solve(weight):  # weight 0: the dimer (non-unique); otherwise a local channel breaks it
        L = qdiss.Lindbladian(H, jnp.stack([collective, weight.astype(local.dtype) * local]))
        sol = _solve(L, SOLVERS[name], throw=False)
        return sol.result, sol.stats.residual

    results, _ = jax.vmap(solve)(jnp.array([0.5, 0.0, 1.0]))
    assert [bool(r) for r in results == qdiss.RESULTS.successful] == [True, False, True]


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_nan_input_is_reported(name):
    h0, h1, l0, l1, _ = _parametrised_arrays()

    def solve(scale):  # NaN enters under jit, so construction cannot catch it
        return _solve(_parametrised(jnp.array([scale, 0.0]), h0, h1, l0, l1), SOLVERS[name])

    with pytest.raises(eqx.EquinoxRuntimeError, match="non-finite"):
        eqx.filter_jit(solve)(jnp.nan)


# ---------------------------------------------------------------- solvers × representations

# (solver, representation) pairs a solver documents it does not apply to: none (README, Solvers:
# every solver takes every representation).
NOT_APPLICABLE: set[tuple[str, str]] = set()
PAIRS = [
    pytest.param(solver, rep, id=f"{solver}-{rep}")
    for solver in SOLVER_IDS
    for rep in REPRESENTATIONS
    if (solver, rep) not in NOT_APPLICABLE
]


@pytest.mark.parametrize("name,rep", PAIRS)
def test_representation_matches_dense_reference(name, rep):
    representation = REPRESENTATIONS[rep]
    L = representation.make()
    sol = _solve(L, SOLVERS[name])
    assert bool(sol.succeeded)
    rho = np.asarray(representation.to_dense(L, sol.rho))
    np.testing.assert_allclose(rho, representation.reference(), atol=1e-9)
    assert float(sol.stats.residual) <= 1e-10
    np.testing.assert_allclose(rho, rho.conj().T, atol=1e-14)
    assert abs(np.trace(rho) - 1) < 1e-12
    assert float(sol.stats.min_eigenvalue) >= -1e-10


@pytest.mark.parametrize("name,rep", PAIRS)
def test_representation_jit_and_vmap_over_parameters(name, rep):
    representation = REPRESENTATIONS[rep]
    solver = SOLVERS[name]
    thetas = jnp.array([[0.5, -0.3], [-0.4, 0.7]])

    @eqx.filter_jit
    def solve(theta):
        L = representation.family(theta)
        sol = _solve(L, solver, throw=False)
        return representation.to_dense(L, sol.rho), sol.result

    rhos, results = jax.vmap(solve)(thetas)
    assert bool(jnp.all(results == qdiss.RESULTS.successful))
    for theta, rho in zip(thetas, rhos, strict=True):
        ref = representation.reference(np.asarray(theta))
        np.testing.assert_allclose(np.asarray(rho), ref, atol=1e-9)


@pytest.mark.parametrize("name,rep", PAIRS)
def test_representation_gradient_matches_finite_differences(name, rep):
    """∇f for f(θ) = tr(O ρ(θ)), O Hermitian on the full space (reverse mode: the transposed
    solve), against central differences of the dense reference along each parameter. (Forward
    mode and jvp = grad·v are checked per solver on the dense problems above.)"""
    representation = REPRESENTATIONS[rep]
    solver = SOLVERS[name]
    obs = jnp.asarray(representation.observable)

    def f(t):
        L = representation.family(t)
        return _expect(obs, representation.to_dense(L, _solve(L, solver).rho))

    grad = np.asarray(jax.grad(f)(jnp.asarray(representation.theta0)))

    def ref(t):
        return float(np.real(np.trace(representation.observable @ representation.reference(t))))

    step = 1e-5
    theta = np.asarray(representation.theta0)
    fd = [(ref(theta + step * e) - ref(theta - step * e)) / (2 * step) for e in np.eye(2)]
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,rep", PAIRS)
def test_representation_non_unique_steady_state_is_reported(name, rep):
    L = REPRESENTATIONS[rep].non_unique()
    sol = _solve(L, SOLVERS[name], throw=False)
    assert sol.result == qdiss.RESULTS.non_unique
