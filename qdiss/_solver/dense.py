"""Dense LU on the deflated superoperator (small n, any device)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import lineax as lx

from .._solution import RESULTS
from .._solve import AbstractSteadyStateSolver, DeflatedProblem, RawSolve, estimate_inverse_norm

__all__ = ["DenseLU"]


class DenseLU(AbstractSteadyStateSolver):
    """Solve the deflated system A vec(ρ) = s·vec(E) with a dense LU factorisation.

    A is formed on the unknowns only (``DeflatedProblem.matrix``: for a dense Lindbladian the
    n² entries of ρ, for a permutation-invariant one the Σ_j (2j+1)² entries of its blocks).
    Cost O(n⁶) time and O(n⁴) memory: the solver of choice up to n ≈ 60 on CPU and a few hundred
    on a GPU. The factorisation is reused for the condition estimate (``condition_iterations``
    rounds of power iteration on A⁻ᴴA⁻¹) and by lineax for the transposed solve of reverse-mode
    gradients.
    """

    residual_tol: float | None = None
    error_tol: float | None = None
    condition_iterations: int = 2

    def solve(self, problem: DeflatedProblem, rho0: jax.Array | None) -> RawSolve:
        del rho0  # a direct solve has no use for an initial guess
        operator = lx.MatrixLinearOperator(problem.matrix())
        lu = lx.LU()
        state = lu.init(jax.lax.stop_gradient(operator), {})
        rhs = problem.rhs()
        b = problem.to_physical(rhs)
        sol = lx.linear_solve(operator, b, lu, state=state, throw=False)

        stopped = jax.lax.stop_gradient(operator)
        t_state, _ = lu.transpose(state, {})

        def solve(v):
            return lx.linear_solve(stopped, v, lu, state=state, throw=False).value

        def solve_adjoint(v):
            w = lx.linear_solve(stopped.T, v.conj(), lu, state=t_state, throw=False)
            return w.value.conj()

        start = problem.to_physical(problem.random_vector(1234))
        inverse_norm = estimate_inverse_norm(solve, solve_adjoint, start, self.condition_iterations)
        return RawSolve(
            rho=problem.solve_padding(rhs, sol.value),
            result=RESULTS.promote(sol.result),
            num_steps=jnp.ones((), jnp.int32),
            inverse_norm=inverse_norm,
        )

    def memory_estimate(self, problem: DeflatedProblem) -> int:
        """Bytes for the dense deflated matrix A on the unknowns, N² entries of the problem's
        dtype for N unknowns (n² for a dense ρ): a lower bound, since the LU factors and the
        workspace come on top of it. E.g. n = 317 in complex128: 10⁵ unknowns, 160 GB."""
        size = problem.size
        return size * size * jnp.dtype(problem.dtype).itemsize
