"""Dense LU on the deflated superoperator (small n, any device)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import lineax as lx

from .._solution import RESULTS
from .._solve import AbstractSteadyStateSolver, DeflatedProblem, RawSolve, estimate_inverse_norm

__all__ = ["DenseLU"]


class DenseLU(AbstractSteadyStateSolver):
    """Solve the deflated system A vec(ρ) = s·vec(I/n) with a dense LU factorisation.

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
        n = problem.n
        operator = lx.MatrixLinearOperator(problem.matrix())
        lu = lx.LU()
        state = lu.init(jax.lax.stop_gradient(operator), {})
        sol = lx.linear_solve(operator, problem.rhs().reshape(-1), lu, state=state, throw=False)

        stopped = jax.lax.stop_gradient(operator)
        t_state, _ = lu.transpose(state, {})

        def solve(v):
            return lx.linear_solve(stopped, v.reshape(-1), lu, state=state, throw=False).value

        def solve_adjoint(v):
            w = lx.linear_solve(stopped.T, v.conj().reshape(-1), lu, state=t_state, throw=False)
            return w.value.conj()

        inverse_norm = estimate_inverse_norm(
            lambda v: solve(v).reshape(n, n),
            lambda v: solve_adjoint(v).reshape(n, n),
            n,
            problem.dtype,
            self.condition_iterations,
        )
        return RawSolve(
            rho=sol.value.reshape(n, n),
            result=RESULTS.promote(sol.result),
            num_steps=jnp.ones((), jnp.int32),
            inverse_norm=inverse_norm,
        )
