"""Krylov with the preconditioners that keep the recycling term Σ L ρ L†: the incomplete LU
(``"ilu"``, ``qdiss/_solver/_ilu.py``) and the exact inverse of the diagonal-preserving part
(``"phase"``, ``qdiss/_solver/_phase_covariant.py``; ``"phase+hermitian"`` with the eigenbasis one).

Every reference is independent of qdiss: the null space (NumPy SVD) of the row-major
superoperator built here from NumPy Kronecker products.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from problems import destroy, random_lindbladian_arrays

import qdiss
from qdiss import internal
from qdiss._operator import DeflatedProblem
from qdiss._solver import sparse
from qdiss._solver._ilu import _factorise_host, _host_kwargs, _solve_host


def superoperator(h: np.ndarray, ls: np.ndarray) -> np.ndarray:
    """Row-major vec(ρ) = ρ.reshape(-1): vec(AρB) = (A ⊗ Bᵀ) vec(ρ), so
    L = −i(H ⊗ I − I ⊗ Hᵀ) + Σ_k [L_k ⊗ L̄_k − ½(K ⊗ I + I ⊗ Kᵀ)], K = L_k†L_k."""
    n = h.shape[0]
    eye = np.eye(n)
    out = -1j * (np.kron(h, eye) - np.kron(eye, h.T))
    for op in ls:
        k = op.conj().T @ op
        out = out + np.kron(op, op.conj()) - 0.5 * (np.kron(k, eye) + np.kron(eye, k.T))
    return out


def reference(h: np.ndarray, ls: np.ndarray) -> np.ndarray:
    """The unit-trace null vector of the superoperator (asserting it is one-dimensional)."""
    n = h.shape[0]
    _, s, vh = np.linalg.svd(superoperator(h, ls))
    assert s[-2] > 1e3 * s[-1]
    rho = vh[-1].conj().reshape(n, n)
    return rho / np.trace(rho)


def thermal(n: int, force: float, down: float = 6.0, up: float = 5.0, omega: float = 0.1):
    """The driven thermal oscillator of the benchmarks (``thermal-50``), hot: γ↓ = 6, γ↑ = 5.
    H = ω a†a + F(a + a†), L = {√γ↓ a, √γ↑ a†}."""
    a = destroy(n)
    h = omega * a.conj().T @ a + force * (a + a.conj().T)
    return h, np.stack([np.sqrt(down) * a, np.sqrt(up) * a.conj().T])


def kerr(n: int):
    """A driven Kerr oscillator: H = −K/2 a†²a² + iε(a − a†), L = √κ a (K = 1, ε = 1.5, κ = 1)."""
    a = destroy(n)
    ad = a.conj().T
    h = -0.5 * ad @ ad @ a @ a + 1.5j * (a - ad)
    return h, np.stack([a])


ILU = qdiss.Krylov(preconditioner="ilu")
NAMES = ["ilu", "phase", "phase+hermitian"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "arrays",
    [thermal(12, 1.0), kerr(10), random_lindbladian_arrays(5, 2, 3)],
    ids=["thermal", "kerr", "random"],
)
def test_steady_state_against_null_space(arrays, name):
    h, ls = arrays
    lind = qdiss.Lindbladian(jnp.asarray(h), jnp.asarray(ls))
    sol = qdiss.steady_state(lind, qdiss.Krylov(preconditioner=name))
    assert sol.result == qdiss.RESULTS.successful
    np.testing.assert_allclose(np.asarray(sol.rho), reference(h, ls), atol=1e-10)


def test_blocks_with_padding_against_null_space():
    """Parity blocks of unequal size (padding entries, on which P = s·I as A is)."""
    c = 3
    a = np.kron(destroy(c), np.eye(c))
    b = np.kron(np.eye(c), destroy(c))
    h = a.conj().T @ a + 0.7 * b.conj().T @ b + 0.4 * (a.conj().T @ a.conj().T + a @ a)
    h = h + 0.3 * (a.conj().T @ b + b.conj().T @ a)
    ls = np.stack([a, 0.8 * b, 0.5 * a.conj().T])
    labels = tuple((i + j) % 2 for i in range(c) for j in range(c))
    dense = qdiss.Lindbladian(jnp.asarray(h), jnp.asarray(ls), dims=(c, c))
    blocks = qdiss.SectorLindbladian(dense, labels, jump_charges=(1, 1, 1), modulus=2)
    assert blocks.padding_mask() is not None
    sol = qdiss.steady_state(blocks, ILU)
    assert sol.result == qdiss.RESULTS.successful
    np.testing.assert_allclose(np.asarray(blocks.to_dense(sol.rho)), reference(h, ls), atol=1e-10)


def _occupation(force, solver, dtype=jnp.complex128):
    h, ls = thermal(10, 0.0)
    a = destroy(10)
    drive = jnp.asarray(a + a.conj().T, dtype)
    lind = qdiss.Lindbladian(
        jnp.asarray(h, dtype) + force.astype(dtype) * drive, jnp.asarray(ls, dtype)
    )
    rho = qdiss.steady_state(lind, solver, throw=False).rho
    return jnp.real(jnp.trace(jnp.asarray(a.conj().T @ a, dtype) @ rho))


def _reference_occupation(force: float) -> float:
    a = destroy(10)
    return float(np.real(np.trace(a.conj().T @ a @ reference(*thermal(10, force)))))


@pytest.mark.parametrize("name", ["ilu", "phase+hermitian"])
def test_gradient_against_finite_differences(name):
    """Reverse mode (the transposed solve with P⁻ᵀ: SuperLU's ``trans="T"`` for the ILU) and
    forward mode (P⁻¹) against central differences of the null-space reference."""
    solver = qdiss.Krylov(preconditioner=name)
    force, step = 0.7, 1e-5
    expected = (_reference_occupation(force + step) - _reference_occupation(force - step)) / (
        2 * step
    )
    x = jnp.asarray(force)
    reverse = jax.jit(jax.grad(lambda f: _occupation(f, solver)))(x)
    _, forward = jax.jit(
        lambda f: jax.jvp(lambda g: _occupation(g, solver), (f,), (jnp.ones_like(f),))
    )(x)
    np.testing.assert_allclose(float(reverse), expected, rtol=1e-6)
    np.testing.assert_allclose(float(forward), expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["ilu", "phase+hermitian"])
def test_vmap_each_member_its_own_factors(name):
    """Each batch member has its own P (for the ILU its own handle): every member matches its
    own reference."""
    solver = qdiss.Krylov(preconditioner=name)
    forces = jnp.asarray([0.0, 0.5, 1.5])
    batch = jax.jit(jax.vmap(lambda f: _occupation(f, solver)))(forces)
    expected = [_reference_occupation(float(f)) for f in forces]
    np.testing.assert_allclose(np.asarray(batch), expected, rtol=1e-9)


def test_ilu_threads_use_their_own_factors():
    """Solves running in several threads at once, each with its own Lindbladian, each match
    their own reference (the host cache is locked and every factorisation has a fresh handle)."""
    from concurrent.futures import ThreadPoolExecutor

    solve = jax.jit(lambda f: _occupation(f, ILU))
    forces = [0.2, 0.9, 1.6, 0.2]
    solve(jnp.asarray(0.0)).block_until_ready()  # compile once
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda f: float(solve(jnp.asarray(f))), forces))
    np.testing.assert_allclose(got, [_reference_occupation(f) for f in forces], rtol=1e-9)


@pytest.mark.parametrize("name", ["ilu", "phase+hermitian"])
def test_float32(name):
    h, ls = thermal(10, 0.8)
    lind = qdiss.Lindbladian(jnp.asarray(h, jnp.complex64), jnp.asarray(ls, jnp.complex64))
    sol = qdiss.steady_state(lind, qdiss.Krylov(preconditioner=name))
    assert sol.result == qdiss.RESULTS.successful
    assert sol.rho.dtype == jnp.complex64
    np.testing.assert_allclose(np.asarray(sol.rho), reference(h, ls), atol=2e-5)


@pytest.mark.parametrize(("name", "most"), [("ilu", 20), ("phase+hermitian", 40)])
def test_far_fewer_gmres_steps_than_the_default_on_a_hot_oscillator(name, most):
    """Regression (issue 14 §4): on a hot driven oscillator the eigenbasis preconditioner drops
    the dominant recycling term and GMRES needs hundreds of steps; these keep it."""
    h, ls = thermal(20, 2.0)
    lind = qdiss.Lindbladian(jnp.asarray(h), jnp.asarray(ls))
    default = qdiss.steady_state(lind, qdiss.Krylov())
    better = qdiss.steady_state(lind, qdiss.Krylov(preconditioner=name))
    assert default.result == better.result == qdiss.RESULTS.successful
    assert int(better.stats.num_steps) <= most
    assert 5 * int(better.stats.num_steps) < int(default.stats.num_steps)


def test_phase_covariant_part_is_the_whole_operator_without_a_drive():
    """For a phase-covariant L (thermal bath, detuning, Kerr; no drive) P is the deflated
    operator A itself (shift 0): P(ρ) against the independent superoperator, P⁻¹P = I, and GMRES
    converges in a step or two."""
    n = 7
    a = destroy(n)
    num = a.conj().T @ a
    h = 0.3 * num + 0.2 * num @ num
    ls = np.stack([np.sqrt(2.0) * a, a.conj().T, 0.5 * num, 0.3 * a @ a])
    lind = qdiss.Lindbladian(jnp.asarray(h), jnp.asarray(ls))
    problem = DeflatedProblem(lind, jnp.asarray(2.5))
    built = internal.PhaseCovariant().build(problem, 0.0)
    rho = np.random.default_rng(1).normal(size=(n, n)) + 1j * np.random.default_rng(2).normal(
        size=(n, n)
    )
    expected = (superoperator(h, ls) @ rho.reshape(-1)).reshape(n, n)
    expected = expected + 2.5 * np.trace(rho) * np.eye(n) / n
    np.testing.assert_allclose(np.asarray(built.apply(jnp.asarray(rho))), expected, atol=1e-12)
    back = built.apply_inverse(built.apply(jnp.asarray(rho)))
    np.testing.assert_allclose(np.asarray(back), rho, atol=1e-10)
    sol = qdiss.steady_state(lind, qdiss.Krylov(preconditioner="phase", shift=0.0))
    assert sol.result == qdiss.RESULTS.successful
    assert int(sol.stats.num_steps) <= 2
    np.testing.assert_allclose(np.asarray(sol.rho), reference(h, ls), atol=1e-10)


def test_phase_covariant_needs_a_dense_state():
    h = np.diag(np.arange(4.0)).astype(complex)
    dense = qdiss.Lindbladian(jnp.asarray(h), jnp.asarray(np.stack([destroy(4)])))
    blocks = qdiss.SectorLindbladian(dense, (0, 1, 0, 1), jump_charges=(1,), modulus=2)
    with pytest.raises(ValueError, match="needs a dense Lindbladian"):
        qdiss.steady_state(blocks, qdiss.Krylov(preconditioner="phase"))


def test_object_and_name_agree():
    lind = qdiss.Lindbladian(*map(jnp.asarray, thermal(8, 1.0)))
    by_name = qdiss.steady_state(lind, ILU)
    by_object = qdiss.steady_state(lind, qdiss.Krylov(preconditioner=internal.IncompleteLU()))
    assert int(by_name.stats.num_steps) == int(by_object.stats.num_steps)
    np.testing.assert_array_equal(by_name.rho, by_object.rho)
    with pytest.raises(ValueError, match="`fill_factor` must be at least 1"):
        internal.IncompleteLU(fill_factor=0.5)


def test_evicted_factors_are_rebuilt():
    """A handle dropped from the host cache is refactorised from the Lindbladian's arrays: the
    application gives the same P⁻¹v (and P⁻ᵀv) as before the eviction."""
    h, ls = thermal(6, 1.0)
    lind = qdiss.Lindbladian(jnp.asarray(h), jnp.asarray(ls))
    leaves, kwargs = _host_kwargs(lind, 1e-4, 10.0)
    leaves = [np.asarray(x) for x in leaves]
    scale = np.asarray(3.0)
    handle = _factorise_host(scale, *leaves, **kwargs)
    assert int(handle) >= 0
    v = np.random.default_rng(0).normal(size=36) + 0j
    before = [_solve_host(handle, scale, v, *leaves, transpose=t, **kwargs) for t in (False, True)]
    sparse.clear_cache()
    after = [_solve_host(handle, scale, v, *leaves, transpose=t, **kwargs) for t in (False, True)]
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    matrix = sparse.deflated_sparse_matrix(lind, scale, np.complex128).toarray()
    # an approximate inverse (entries below 1e-4 dropped), of A and of Aᵀ (not Aᴴ) respectively
    for op, x in ((matrix, before[0]), (matrix.T, before[1])):
        assert np.linalg.norm(op @ x - v) < 1e-3 * np.linalg.norm(v)
