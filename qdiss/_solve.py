r"""The steady-state entry point and the protocol every steady-state solver follows.

**Deflation.** L is singular (L(ρ_ss) = 0). Every linear-solve solver instead solves

    A(ρ) = L(ρ) + s·tr(ρ)·E = s·E,     E = I/n,  s = ‖L‖ (a norm bound, no gradient),

which is invertible exactly when the steady state is unique: taking the trace of A(ρ) = 0 gives
tr ρ = 0 (L preserves the trace) and then L(ρ) = 0, so ρ = 0 unless ker L holds more than ρ_ss.
Its solution has tr ρ = 1 and L(ρ) = 0. Derivatives come from lineax's implicit rules for
``linear_solve``: ρ' = A⁻¹(−A'ρ) (the s-terms cancel since tr ρ = 1), and reverse mode solves
with Aᵀ reusing the factorisation or the transposed preconditioner.
"""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array

from ._lindbladian import AbstractLindbladian
from ._solution import RESULTS, SteadyStateSolution, SteadyStateStats, real_dtype

__all__ = ["AbstractSteadyStateSolver", "DeflatedProblem", "RawSolve", "steady_state"]


class DeflatedProblem(eqx.Module):
    """The nonsingular system A(ρ) = L(ρ) + s·tr(ρ)·I/n = s·I/n (see the module docstring)."""

    lindbladian: AbstractLindbladian
    scale: Array

    @classmethod
    def build(cls, lindbladian: AbstractLindbladian) -> DeflatedProblem:
        scale = jax.lax.stop_gradient(lindbladian.norm_bound())
        scale = jnp.where(scale > 0, scale, 1.0).astype(real_dtype(lindbladian.dtype))
        return cls(lindbladian, scale)

    @property
    def n(self) -> int:
        return self.lindbladian.n

    @property
    def dtype(self):
        return self.lindbladian.dtype

    def _weight(self) -> Array:
        """s/n as a complex scalar of the problem's dtype."""
        return (self.scale / self.n).astype(self.dtype)

    def mv(self, rho: Array) -> Array:
        eye = jnp.eye(self.n, dtype=self.dtype)
        return self.lindbladian.mv(rho) + (self._weight() * jnp.trace(rho)) * eye

    def rhs(self) -> Array:
        return self._weight() * jnp.eye(self.n, dtype=self.dtype)

    def operator(self) -> lx.FunctionLinearOperator:
        """A as a matrix-free lineax operator on ``(n, n)`` complex matrices."""
        structure = jax.ShapeDtypeStruct((self.n, self.n), self.dtype)
        return lx.FunctionLinearOperator(self.mv, structure)

    def matrix(self) -> Array:
        """A as a dense ``(n², n²)`` matrix (row-major vectorisation)."""
        n = self.n
        eye = jnp.eye(n, dtype=self.dtype).reshape(n * n)
        rank_one = self._weight() * jnp.outer(eye, eye)
        return self.lindbladian.superoperator() + rank_one


class RawSolve(eqx.Module):
    """What a solver hands back to :func:`steady_state` before the shared checks.

    - ``rho``: the raw ``(n, n)`` solution, differentiable with respect to the Lindbladian.
    - ``result``: the solver's own status (convergence, breakdown...).
    - ``num_steps``: iterations taken.
    - ``inverse_norm``: an estimate (a lower bound) of ‖A⁻¹‖₂ for the deflated operator, or NaN
      where the solver has none (then the solver must have checked uniqueness itself).
    """

    rho: Array
    result: RESULTS
    num_steps: Array
    inverse_norm: Array


class AbstractSteadyStateSolver(eqx.Module):
    """A steady-state solver: a configuration object whose ``solve`` returns a :class:`RawSolve`.

    Every solver has ``residual_tol`` (largest accepted relative residual) and ``error_tol``
    (largest accepted estimated relative error of ρ); ``None`` picks a default for the dtype:
    1e-10 / 1e-6 in float64 and 1e-4 / 1e-2 in float32.
    """

    residual_tol: eqx.AbstractVar[float | None]
    error_tol: eqx.AbstractVar[float | None]

    @abc.abstractmethod
    def solve(self, problem: DeflatedProblem, rho0: Array | None) -> RawSolve:
        """Solve ``problem``; ``rho0`` is an initial guess (warm start) or None."""

    @property
    def name(self) -> str:
        return type(self).__name__


def default_tolerances(dtype) -> tuple[float, float, float]:
    """(residual_tol, error_tol, non_unique_condition) for a complex dtype.

    A condition estimate above ``non_unique_condition`` (1e-3/eps: about 4.5e12 in float64 and 8e3
    in float32) means the deflated operator is singular to working precision: the steady state is
    reported as not unique.
    """
    eps = float(jnp.finfo(dtype).eps)
    if eps < 1e-10:
        return 1e-10, 1e-6, 1e-3 / eps
    return 1e-4, 1e-2, 1e-3 / eps


def estimate_inverse_norm(solve, solve_adjoint, n: int, dtype, iterations: int = 2) -> Array:
    """Lower bound on ‖A⁻¹‖₂ by power iteration on A⁻ᴴA⁻¹ from a fixed pseudo-random start.

    ``solve(v) = A⁻¹v`` and ``solve_adjoint(v) = A⁻ᴴv`` act on ``(n, n)`` matrices. Each half-step
    gives ‖A⁻¹u‖ or ‖A⁻ᴴu‖ for a unit u, both lower bounds of ‖A⁻¹‖; near-singular operators (the
    case that matters) have a dominant singular value of A⁻¹, so two iterations are close to exact.
    """
    key_re, key_im = jax.random.split(jax.random.key(1234))
    rdtype = real_dtype(dtype)
    v = jax.lax.complex(
        jax.random.normal(key_re, (n, n), rdtype), jax.random.normal(key_im, (n, n), rdtype)
    )
    v = (v / jnp.linalg.norm(v).astype(v.dtype)).astype(dtype)
    best = jnp.zeros((), rdtype)
    for i in range(2 * iterations):
        w = solve(v) if i % 2 == 0 else solve_adjoint(v)
        norm = jnp.linalg.norm(w)
        best = jnp.maximum(best, jnp.where(jnp.isfinite(norm), norm, jnp.inf))
        v = w / jnp.where(norm > 0, norm, 1.0).astype(w.dtype)
    return best


def _validate_rho0(rho0, n: int, dtype) -> Array | None:
    if rho0 is None:
        return None
    rho0 = jnp.asarray(rho0)
    if rho0.shape != (n, n):
        raise ValueError(f"`rho0` must have shape (n, n) = ({n}, {n}); got {rho0.shape}.")
    return rho0.astype(dtype)


def steady_state(
    lindbladian: AbstractLindbladian,
    solver: AbstractSteadyStateSolver | None = None,
    *,
    rho0: Any = None,
    throw: bool = True,
) -> SteadyStateSolution:
    r"""Find the steady state ρ_ss of dρ/dt = L(ρ), i.e. L(ρ_ss) = 0, tr ρ_ss = 1.

    **Arguments:**

    - ``lindbladian``: a :class:`qdiss.Lindbladian` (or any ``AbstractLindbladian``).
    - ``solver``: a steady-state solver (default :class:`qdiss.Auto`).
    - ``rho0``: initial guess, used as a warm start by iterative solvers.
    - ``throw``: raise on failure (True), or return the failure in ``sol.result`` (False; use it
      inside ``vmap`` sweeps so that one bad point does not stop the batch).

    **Returns:** a :class:`SteadyStateSolution` whose ``rho`` is differentiable (by implicit
    differentiation) with respect to everything that enters the Lindbladian.

    After the solver, every result is checked the same way: non-finite values, a condition
    estimate of ~1/eps (non-unique steady state), the relative residual against
    ``solver.residual_tol``, the estimated error against ``solver.error_tol`` and positivity.
    """
    from ._solver.auto import Auto

    if not isinstance(lindbladian, AbstractLindbladian):
        raise TypeError(
            "`lindbladian` must be a qdiss Lindbladian (e.g. `qdiss.Lindbladian(H, jump_ops)`); "
            f"got {type(lindbladian).__name__}."
        )
    if solver is None:
        solver = Auto()
    if not isinstance(solver, AbstractSteadyStateSolver):
        raise TypeError(
            f"`solver` must be a qdiss steady-state solver (e.g. `qdiss.DenseLU()`); got "
            f"{type(solver).__name__}."
        )
    if isinstance(solver, Auto):
        solver = solver.select(lindbladian)
    rho0 = _validate_rho0(rho0, lindbladian.n, lindbladian.dtype)
    return _steady_state_jit(lindbladian, solver, rho0, bool(throw))


@eqx.filter_jit
def _steady_state_jit(lindbladian, solver, rho0, throw: bool) -> SteadyStateSolution:
    """Compiled once per (shapes, solver configuration); inlined when called under an outer jit."""
    problem = DeflatedProblem.build(lindbladian)
    raw = solver.solve(problem, rho0)
    rho, stats, result = _check(problem, solver, raw)
    if throw:
        rho = result.error_if(rho, result != RESULTS.successful)
    return SteadyStateSolution(rho=rho, result=result, stats=stats, solver=solver.name)


def _check(problem: DeflatedProblem, solver: AbstractSteadyStateSolver, raw: RawSolve):
    """Shared post-solve checks: Hermitise, normalise, measure, and assign the result code."""
    dtype = problem.dtype
    default_res, default_err, non_unique_cond = default_tolerances(dtype)
    residual_tol = default_res if solver.residual_tol is None else solver.residual_tol
    error_tol = default_err if solver.error_tol is None else solver.error_tol
    eps = jnp.finfo(dtype).eps

    raw_rho = raw.rho
    trace = jnp.trace(raw_rho)
    rho = 0.5 * (raw_rho + raw_rho.conj().T)
    rho = rho / jnp.where(trace == 0, 1.0, trace.real).astype(dtype)

    sg = jax.lax.stop_gradient
    r_rho, r_raw = sg(rho), sg(raw_rho)
    rho_norm = jnp.linalg.norm(r_rho)
    l_rho = problem.lindbladian.mv(r_rho)
    residual = jnp.linalg.norm(l_rho) / (problem.scale * rho_norm)
    raw_norm = jnp.linalg.norm(r_raw)
    herm_error = jnp.linalg.norm(r_raw - r_raw.conj().T) / jnp.where(raw_norm > 0, raw_norm, 1.0)
    trace_error = jnp.abs(sg(trace) - 1)
    finite = jnp.all(jnp.isfinite(r_raw))
    safe_rho = jnp.where(finite, r_rho, jnp.eye(problem.n, dtype=dtype))
    min_eig = jnp.linalg.eigvalsh(safe_rho)[0]
    min_eig = jnp.where(finite, min_eig, jnp.nan)

    inverse_norm = sg(raw.inverse_norm)
    known = ~jnp.isnan(inverse_norm)  # NaN: no estimate; inf: the solver found A singular
    condition = 2 * problem.scale * inverse_norm
    # A(ρ) − b for the returned ρ: L(ρ) + s(tr ρ − 1)E; its norm bounds ‖A(ρ − ρ_ss)‖.
    trace_term = problem.scale * jnp.abs(jnp.trace(r_rho) - 1) / jnp.sqrt(problem.n)
    abs_residual = jnp.linalg.norm(l_rho) + trace_term
    error = jnp.where(known, inverse_norm * abs_residual / rho_norm, jnp.nan)
    psd_tol = 10 * jnp.where(known, error, error_tol) * rho_norm + 100 * eps

    # A singular deflated operator (an exact zero pivot) is a non-unique steady state.
    result = RESULTS.where(raw.result == RESULTS.singular, RESULTS.non_unique, raw.result)
    ok = result == RESULTS.successful
    checks = [
        (~finite, RESULTS.nonfinite),
        (known & (condition > non_unique_cond), RESULTS.non_unique),
        (~(residual <= residual_tol), RESULTS.residual_too_large),
        (known & ~(error <= error_tol), RESULTS.inaccurate),
        (min_eig < -psd_tol, RESULTS.not_positive),
    ]
    for failed, code in checks:
        result = RESULTS.where(ok & failed, code, result)
        ok = ok & ~failed

    rdtype = real_dtype(dtype)
    stats = SteadyStateStats(
        residual=jnp.where(finite, residual, jnp.inf).astype(rdtype),
        num_steps=jnp.asarray(raw.num_steps, jnp.int32),
        trace_error=trace_error.astype(rdtype),
        min_eigenvalue=min_eig.astype(rdtype),
        hermiticity_error=herm_error.astype(rdtype),
        condition_estimate=condition.astype(rdtype),
        error_estimate=error.astype(rdtype),
    )
    return rho, stats, result
