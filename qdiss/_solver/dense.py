"""Dense LU on the deflated superoperator (small n, any device)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import _linalg
from .._adjoint import attach_implicit_derivative
from .._operator import DeflatedProblem
from .._solution import RESULTS
from ._abstract import AbstractSteadyStateSolver, RawSolve, estimate_inverse_norm

__all__ = ["DenseLU"]


def _finite_or_singular(x: jax.Array) -> RESULTS:
    """An LU solve has no convergence to fail; a non-finite solution means an exactly singular
    (zero) pivot, reported as ``singular`` (``steady_state`` turns it into ``non_unique``)."""
    return RESULTS.where(jnp.all(jnp.isfinite(x)), RESULTS.successful, RESULTS.singular)


class DenseLU(AbstractSteadyStateSolver):
    """Solve the deflated system A vec(ρ) = s·vec(E) with a dense LU factorisation.

    A is formed on the unknowns only (``DeflatedProblem.matrix``: for a dense Lindbladian the
    n² entries of ρ, for a permutation-invariant one the Σ_j (2j+1)² entries of its blocks).
    Cost O(n⁶) time and O(n⁴) memory: the solver of choice up to n ≈ 60 on CPU and a few hundred
    on a GPU. The factorisation (``qdiss._linalg.lu_factor``: one matrix at a time, also under
    ``vmap``) is reused for the condition estimate (``condition_iterations`` rounds of power
    iteration on A⁻ᴴA⁻¹) and for the transposed solve of reverse-mode gradients
    (``qdiss._adjoint.implicit_linear_solve``).
    """

    residual_tol: float | None = None
    error_tol: float | None = None
    condition_iterations: int = 2

    def solve(self, problem: DeflatedProblem, rho0: jax.Array | None) -> RawSolve:
        del rho0  # a direct solve has no use for an initial guess
        factors = _linalg.lu_factor(problem.matrix())
        rhs = problem.rhs()

        def matvec(v):  # A on the unknowns, matrix-free: its derivative costs O(n³), not O(n⁴)
            return problem.to_physical(problem.mv(problem.from_physical(v)))

        def solve(v):
            x = _linalg.lu_solve(factors, v)
            return x, _finite_or_singular(x)

        def transpose_solve(v):
            x = _linalg.lu_solve(factors, v, trans=1)
            return x, _finite_or_singular(x)

        x, result = solve(problem.to_physical(rhs))
        x = attach_implicit_derivative(matvec, x, solve, transpose_solve)

        start = problem.to_physical(problem.random_vector(1234))
        inverse_norm = estimate_inverse_norm(
            lambda v: _linalg.lu_solve(factors, v),
            lambda v: _linalg.lu_solve(factors, v, trans=2),
            start,
            self.condition_iterations,
        )
        return RawSolve(
            rho=problem.solve_padding(rhs, x),
            result=result,
            num_steps=jnp.ones((), jnp.int32),
            inverse_norm=inverse_norm,
        )

    def memory_estimate(self, problem: DeflatedProblem) -> int:
        """Bytes for the dense deflated matrix A on the unknowns, N² entries of the problem's
        dtype for N unknowns (n² for a dense ρ): a lower bound, since the LU factors and the
        workspace come on top of it. E.g. n = 317 in complex128: 10⁵ unknowns, 160 GB."""
        size = problem.size
        return size * size * jnp.dtype(problem.dtype).itemsize
