"""A lineax solver wrapper that makes iterative tolerances relative to ‖b‖ for every solve."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import lineax as lx

__all__ = ["NormalisedSolver"]


class NormalisedSolver(lx.AbstractLinearSolver):
    """Solve A x = b as ‖b‖ · A⁻¹(b/‖b‖) with an inner iterative lineax solver.

    lineax's iterative solvers stop on |r_i| ≤ atol + rtol·|b_i| elementwise, so a fixed ``atol``
    means different things for the primal solve and for the tangent and transposed solves that
    implicit differentiation runs with the same solver. Normalising b first makes ``atol`` (and
    the initial guess) relative to ‖b‖ in all of them. A zero right-hand side returns zero; a
    non-finite one is passed on (the inner solver then fails), never mapped to zero.
    """

    inner: lx.AbstractLinearSolver

    def init(self, operator, options: dict[str, Any]):
        return self.inner.init(operator, options)

    def compute(self, state, vector, options: dict[str, Any]):
        norm = jnp.linalg.norm(vector)
        zero = norm == 0  # a NaN right-hand side is not zero: it must give a NaN/failed solve
        safe = jnp.where(zero, 1.0, norm).astype(vector.dtype)
        options = dict(options)
        if "y0" in options:
            options["y0"] = options["y0"] / safe
        solution, result, stats = self.inner.compute(state, vector / safe, options)
        solution = jnp.where(zero, jnp.zeros_like(solution), solution * safe)
        result = lx.RESULTS.where(zero, lx.RESULTS.successful, result)
        return solution, result, stats

    def transpose(self, state, options: dict[str, Any]):
        return self.inner.transpose(state, options)

    def conj(self, state, options: dict[str, Any]):
        return self.inner.conj(state, options)

    def assume_full_rank(self) -> bool:
        return self.inner.assume_full_rank()
