"""Problems too large for the chosen solver's memory are refused at trace time, before anything
is allocated (issue 11, item 3): ``AbstractSteadyStateSolver.memory_estimate`` against
``qdiss._solve.available_memory``. The refusals are checked under ``jax.eval_shape`` as well, so
that a missing check traces harmlessly (and the test fails) instead of allocating 160 GB."""

from __future__ import annotations

import os
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qdiss
from qdiss import _operator, _solve


def zero_lindbladian(n: int) -> qdiss.Lindbladian:
    """H = 0 and one decay operator on n levels: cheap to build at any n (nothing is solved)."""
    a = jnp.diag(jnp.sqrt(jnp.arange(1.0, n)), 1).astype(jnp.complex128)
    return qdiss.Lindbladian(jnp.zeros((n, n), jnp.complex128), a[None])


def test_dense_lu_refuses_1e5_unknowns(monkeypatch):
    """n = 317: 100489 unknowns, a dense 100489² complex128 matrix of 161.6 GB."""
    L = zero_lindbladian(317)
    need = 317**4 * 16  # bytes of the matrix alone
    assert need > 160e9
    monkeypatch.setattr(_solve, "available_memory", lambda device=None: 128 * 2**30)
    with pytest.raises(ValueError, match=r"DenseLU needs at least 162 GB") as info:
        jax.eval_shape(lambda L: qdiss.steady_state(L, qdiss.DenseLU()), L)
    message = str(info.value)
    assert "100489 unknowns" in message and "137 GB" in message and "qdiss.Krylov()" in message
    with pytest.raises(ValueError, match="qdiss.Krylov"):  # the eager call too
        qdiss.steady_state(L, qdiss.DenseLU())


def test_refusal_with_the_real_memory_and_under_vmap():
    """n = 1000 (10⁶ unknowns, 16 TB dense): no machine has that, real memory query."""
    L = zero_lindbladian(1000)
    with pytest.raises(ValueError, match="DenseLU needs at least 1.6e\\+04 GB"):
        jax.eval_shape(lambda L: qdiss.steady_state(L, qdiss.DenseLU()), L)

    def solve(scale):
        lind = qdiss.Lindbladian(L.H, scale * L.jump_ops)
        return qdiss.steady_state(lind, qdiss.DenseLU(), throw=False).rho

    with pytest.raises(ValueError, match="more than the"):
        jax.eval_shape(jax.vmap(solve), jnp.ones(4, jnp.complex128))


def test_the_limit_is_the_available_memory(monkeypatch):
    """n = 5: DenseLU needs 25² · 16 = 10000 bytes; refused below, solved above."""
    L = zero_lindbladian(5)
    assert qdiss.DenseLU().memory_estimate(_operator.DeflatedProblem(L, jnp.ones(()))) == 10_000
    monkeypatch.setattr(_solve, "available_memory", lambda device=None: 9_999)
    with pytest.raises(ValueError, match="DenseLU needs at least"):
        qdiss.steady_state(L, qdiss.DenseLU())
    monkeypatch.setattr(_solve, "available_memory", lambda device=None: 10_000)
    sol = qdiss.steady_state(L, qdiss.DenseLU())
    np.testing.assert_allclose(np.asarray(sol.rho)[0, 0], 1.0)  # decay to the ground state


def test_memory_estimates_of_the_solvers():
    problem = _operator.DeflatedProblem(zero_lindbladian(317), jnp.ones(()))
    assert qdiss.DenseLU().memory_estimate(problem) == 317**4 * 16
    # SparseLU: a rough lower bound (entries of A and the rank-one deflation block, twice).
    sparse = qdiss.SparseLU().memory_estimate(problem)
    assert sparse == 2 * (317**2 + 317**2) * (16 + 4)
    # Solvers without a predictable footprint report None and are never refused.
    assert qdiss.Krylov().memory_estimate(problem) is None
    assert qdiss.Evolve().memory_estimate(problem) is None


def test_available_memory_sources():
    gpu = types.SimpleNamespace(platform="gpu", memory_stats=lambda: {"bytes_limit": 80 * 2**30})
    assert _solve.available_memory(gpu) == 80 * 2**30
    assert (
        _solve.available_memory(types.SimpleNamespace(platform="gpu", memory_stats=lambda: None))
        is None
    )
    cpu = types.SimpleNamespace(platform="cpu", memory_stats=lambda: None)
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert _solve.available_memory(cpu) == physical
    assert _solve.available_memory() > 0  # this machine's default device
