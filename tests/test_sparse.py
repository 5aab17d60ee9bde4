"""SparseLU: the host-side sparse superoperator, agreement with the references, reuse of the one
SuperLU factorisation by gradients and the condition estimate, vmap, float32 and failures."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest
from problems import destroy, null_space_steady_state, random_lindbladian, random_lindbladian_arrays

import qdiss
from qdiss._operator import DeflatedProblem
from qdiss._solver import sparse


def _count() -> int:
    return sparse.factorisation_count()


@pytest.mark.parametrize("n,k,seed", [(2, 1, 0), (4, 2, 1), (6, 3, 2), (5, 0, 3)])
def test_sparse_superoperator_matches_dense(n, k, seed):
    L = (
        random_lindbladian(n, k, seed)
        if k
        else qdiss.Lindbladian(random_lindbladian_arrays(n, 1, seed)[0])
    )
    np.testing.assert_allclose(
        L.sparse_superoperator().toarray(), np.asarray(L.superoperator()), atol=1e-13
    )


def test_deflated_sparse_matrix_matches_dense():
    """A complex, non-normal jump operator: catches a missing conjugate or transpose."""
    n = 5
    a = destroy(n)
    H = 0.7 * a.conj().T @ a + 0.3 * (a + a.conj().T)
    jump = (0.4 + 1.1j) * a + 0.25j * a.conj().T @ a + (0.2 - 0.3j) * a @ a
    L = qdiss.Lindbladian(jnp.asarray(H), [jnp.asarray(jump)])
    problem = DeflatedProblem.build(L)
    A = sparse.deflated_sparse_matrix(L, problem.scale, np.complex128)
    assert A.format == "csc"
    np.testing.assert_allclose(A.toarray(), np.asarray(problem.matrix()), atol=1e-13)


@pytest.mark.parametrize("n,k,seed", [(3, 1, 0), (4, 3, 1), (6, 2, 2), (8, 1, 3), (8, 3, 4)])
def test_matches_null_space_reference(n, k, seed):
    L = random_lindbladian(n, k, seed)
    sol = qdiss.steady_state(L, qdiss.SparseLU())
    assert sol.result == qdiss.RESULTS.successful
    assert sol.solver == "SparseLU"
    assert int(sol.stats.num_steps) == 1
    assert np.isfinite(float(sol.stats.condition_estimate))
    np.testing.assert_allclose(np.asarray(sol.rho), null_space_steady_state(L), atol=1e-10)


@pytest.mark.parametrize("permc_spec", ["NATURAL", "MMD_ATA", "MMD_AT_PLUS_A"])
def test_column_orderings_agree(permc_spec):
    L = random_lindbladian(5, 2, 9)
    rho = qdiss.steady_state(L, qdiss.SparseLU(permc_spec=permc_spec)).rho
    np.testing.assert_allclose(np.asarray(rho), null_space_steady_state(L), atol=1e-10)


def test_invalid_column_ordering_is_rejected():
    with pytest.raises(ValueError, match="permc_spec"):
        qdiss.SparseLU(permc_spec="AMD")


@pytest.mark.parametrize(
    "transpose,conj", [(False, False), (True, False), (False, True), (True, True)]
)
def test_lineax_solver_transpose_and_conj_states(transpose, conj):
    """op(A) x = b for op = A, Aᵀ, conj(A), Aᴴ from one factorisation."""
    L = random_lindbladian(4, 2, 5)
    problem = DeflatedProblem.build(L)
    options = {"lindbladian": L, "scale": problem.scale}
    solver = sparse._SuperLU()
    state = solver.init(problem.operator(), options)
    if conj:
        state, options = solver.conj(state, options)
    if transpose:
        state, options = solver.transpose(state, options)
    rng = np.random.default_rng(0)
    b = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    before = _count()
    x, result, _ = solver.compute(state, jnp.asarray(b), options)
    assert _count() == before  # the cached factorisation is used
    assert result == lx.RESULTS.successful
    A = np.asarray(problem.matrix())
    A = A.conj() if conj else A
    A = A.T if transpose else A
    np.testing.assert_allclose(A @ np.asarray(x).reshape(-1), b.reshape(-1), atol=1e-12)


def _parametrised(theta, h0, h1, l0, l1):
    theta = theta.astype(h0.dtype)
    return qdiss.Lindbladian(h0 + theta[0] * h1, l0 + theta[1] * l1)


def test_grad_factorises_once_and_matches_finite_differences_and_dense():
    h0, l0 = random_lindbladian_arrays(5, 2, 21)
    h1, l1 = random_lindbladian_arrays(5, 2, 22)
    obs, _ = random_lindbladian_arrays(5, 1, 23)
    h0, h1, l0, l1, obs = (jnp.asarray(x) for x in (h0, h1, l0, l1, obs))
    theta = jnp.array([0.3, -0.2])

    def f(t, solver):
        rho = qdiss.steady_state(_parametrised(t, h0, h1, l0, l1), solver).rho
        return jnp.real(jnp.trace(obs @ rho))

    grad = jax.jit(jax.grad(lambda t: f(t, qdiss.SparseLU())))
    for _ in range(2):  # compiled once, then called: one factorisation per call, none at trace
        before = _count()
        g = grad(theta)
        assert _count() - before == 1

    def f_ref(t):
        rho = null_space_steady_state(_parametrised(t, h0, h1, l0, l1))
        return float(np.real(np.trace(np.asarray(obs) @ rho)))

    step = 1e-5
    fd = [(f_ref(theta + step * e) - f_ref(theta - step * e)) / (2 * step) for e in jnp.eye(2)]
    np.testing.assert_allclose(np.asarray(g), fd, rtol=1e-6)
    np.testing.assert_allclose(g, jax.grad(lambda t: f(t, qdiss.DenseLU()))(theta), rtol=1e-9)

    before = _count()  # forward mode reuses it too
    jax.jit(jax.jacfwd(lambda t: f(t, qdiss.SparseLU())))(theta)
    assert _count() - before == 1


def _solve_arrays(H, Ls):
    return qdiss.steady_state(qdiss.Lindbladian(H, Ls), qdiss.SparseLU(), throw=False)


def test_vmap_over_lindbladians_matches_single_solves():
    arrays = [random_lindbladian_arrays(4, 2, seed) for seed in (30, 31, 32)]
    Hs = jnp.asarray(np.stack([h for h, _ in arrays]))
    Ls = jnp.asarray(np.stack([ls for _, ls in arrays]))
    sols = jax.jit(jax.vmap(_solve_arrays))(Hs, Ls)
    assert bool(jnp.all(sols.result == qdiss.RESULTS.successful))
    for i, (h, ls) in enumerate(arrays):
        single = _solve_arrays(jnp.asarray(h), jnp.asarray(ls))
        np.testing.assert_allclose(sols.rho[i], single.rho, atol=1e-13)
        np.testing.assert_allclose(
            sols.rho[i], null_space_steady_state(qdiss.Lindbladian(h, ls)), atol=1e-10
        )


def test_evicted_factorisations_are_rebuilt(monkeypatch):
    """A cache of one entry under vmap: every solve but the last refactorises, results correct."""
    monkeypatch.setattr(sparse, "_MAX_ENTRIES", 1)
    arrays = [random_lindbladian_arrays(3, 1, seed) for seed in (40, 41, 42)]
    Hs = jnp.asarray(np.stack([h for h, _ in arrays]))
    Ls = jnp.asarray(np.stack([ls for _, ls in arrays]))
    solve = eqx.filter_jit(jax.vmap(_solve_arrays))
    solve(Hs, Ls)  # compile
    before = _count()
    sols = solve(Hs, Ls)
    assert _count() - before > 3
    assert bool(jnp.all(sols.result == qdiss.RESULTS.successful))
    for i, (h, ls) in enumerate(arrays):
        ref = null_space_steady_state(qdiss.Lindbladian(h, ls))
        np.testing.assert_allclose(sols.rho[i], ref, atol=1e-10)
    sparse.clear_cache()


@pytest.mark.parametrize("n,k,seed", [(3, 1, 50), (5, 2, 51), (8, 3, 52)])
def test_float32_is_accurate_or_flagged(n, k, seed):
    h, ls = random_lindbladian_arrays(n, k, seed)
    L = qdiss.Lindbladian(jnp.asarray(h, jnp.complex64), jnp.asarray(ls, jnp.complex64))
    sol = qdiss.steady_state(L, qdiss.SparseLU(), throw=False)
    assert sol.rho.dtype == jnp.complex64
    if sol.result == qdiss.RESULTS.successful:
        assert float(sol.stats.residual) <= 1e-4
        ref = null_space_steady_state(qdiss.Lindbladian(h, ls))
        err = np.linalg.norm(np.asarray(sol.rho) - ref) / np.linalg.norm(ref)
        assert err <= 1e-2
    else:
        assert sol.result != qdiss.RESULTS.successful  # flagged, and no exception


def _dicke_dimer(omega=1.0, gamma=1.0):
    sm = np.array([[0, 1], [0, 0]], complex)
    sx = np.array([[0, 1], [1, 0]], complex)
    eye = np.eye(2)
    H = omega * (np.kron(sx, eye) + np.kron(eye, sx)) / 2
    jump = np.sqrt(gamma) * (np.kron(sm, eye) + np.kron(eye, sm))
    return qdiss.Lindbladian(jnp.asarray(H), [jnp.asarray(jump)])


def test_dicke_dimer_is_non_unique():
    L = _dicke_dimer()
    sol = qdiss.steady_state(L, qdiss.SparseLU(), throw=False)
    assert sol.result == qdiss.RESULTS.non_unique
    with pytest.raises(eqx.EquinoxRuntimeError, match="not unique"):
        qdiss.steady_state(L, qdiss.SparseLU(), throw=True)


def test_exactly_singular_is_a_result_code_not_a_callback_exception():
    """L = 0: A is the rank-one term alone, SuperLU hits an exact zero pivot; every state is
    stationary, so the driver reports a non-unique steady state."""
    L = qdiss.Lindbladian(jnp.zeros((3, 3), jnp.complex128))
    sol = qdiss.steady_state(L, qdiss.SparseLU(), throw=False)
    assert sol.result == qdiss.RESULTS.non_unique
    with pytest.raises(eqx.EquinoxRuntimeError, match="not unique"):
        qdiss.steady_state(L, qdiss.SparseLU(), throw=True)
