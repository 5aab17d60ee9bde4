"""The protocol every steady-state solver follows, and what a user needs to write one.

A solver is a configuration object (an ``eqx.Module``) whose :meth:`AbstractSteadyStateSolver.solve`
takes the deflated problem (:class:`qdiss._operator.DeflatedProblem`: the nonsingular system
A(ρ) = L(ρ) + s·tr(ρ)·E = s·E) and returns a :class:`RawSolve`; :func:`qdiss.steady_state` then
runs the shared checks (Hermitise, normalise, residual, uniqueness, result code). Derivatives
come from the solve itself (e.g. ``lineax.linear_solve``'s rules) or from
``qdiss._adjoint.attach_implicit_derivative``.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from .._lindbladian import AbstractLindbladian
from .._operator import DeflatedProblem
from .._solution import RESULTS, real_dtype

__all__ = ["AbstractSteadyStateSolver", "RawSolve", "estimate_inverse_norm"]


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

    def select(self, lindbladian: AbstractLindbladian) -> AbstractSteadyStateSolver:
        """The solver that actually runs for ``lindbladian``: itself (a solver that chooses
        among others, such as :class:`qdiss.Auto`, returns its choice)."""
        del lindbladian
        return self

    @property
    def name(self) -> str:
        return type(self).__name__

    def sharded(self, devices) -> AbstractSteadyStateSolver:
        """This solver with one solve's state split over ``devices``
        (``qdiss.steady_state(..., devices=...)``). Only :class:`qdiss.Krylov` can (its
        ``devices`` field); every other solver raises ``ValueError``."""
        del devices
        raise ValueError(
            f"`devices=` shards one solve over several devices, which only `qdiss.Krylov()` "
            f"can do; got the solver {self.name}. Pass `solver=qdiss.Krylov()`, or leave "
            "`devices` out (to spread many solves over devices use `qdiss.sweep`)."
        )

    def memory_estimate(self, problem: DeflatedProblem) -> int | None:
        """Bytes of memory this solver needs at least for ``problem`` (one unbatched solve), or
        ``None`` when unknown (the default). :func:`steady_state` refuses, at trace time and
        before anything is allocated, a solve whose estimate exceeds the memory available
        (:func:`available_memory`). Override it for solvers whose storage is predictable."""
        del problem
        return None


def estimate_inverse_norm(solve, solve_adjoint, start: Array, iterations: int = 2) -> Array:
    """Lower bound on ‖A⁻¹‖₂ by power iteration on A⁻ᴴA⁻¹ from a fixed pseudo-random ``start``.

    ``solve(v) = A⁻¹v`` and ``solve_adjoint(v) = A⁻ᴴv`` act on arrays shaped like ``start`` (a
    unit vector, e.g. ``DeflatedProblem.random_vector``). Each half-step gives ‖A⁻¹u‖ or ‖A⁻ᴴu‖
    for a unit u, both lower bounds of ‖A⁻¹‖; near-singular operators (the case that matters)
    have a dominant singular value of A⁻¹, so two iterations are close to exact.
    """
    v = start
    best = jnp.zeros((), real_dtype(start.dtype))
    for i in range(2 * iterations):
        w = solve(v) if i % 2 == 0 else solve_adjoint(v)
        norm = jnp.linalg.norm(w)
        best = jnp.maximum(best, jnp.where(jnp.isfinite(norm), norm, jnp.inf))
        v = w / jnp.where(norm > 0, norm, 1.0).astype(w.dtype)
    return best
