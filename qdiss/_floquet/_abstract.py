"""The protocol of the Floquet solvers (``AbstractFloquetSolver``) and the small helpers
they share."""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from .._lindbladian import AbstractLindbladian
from .._solution import RESULTS
from ._system import FourierSystem


class AbstractFloquetSolver(eqx.Module):
    """How to solve the deflated harmonic system A(x) = b (the ``qdiss._floquet`` docstring).

    ``prepare(system)`` builds what the solves need (factorisations, preconditioners; no
    gradient flows through it); ``solve(state, b)`` and ``transpose_solve(state, b)`` return
    ``(x, result, num_steps)`` for packed vectors of ``system.size`` entries.
    """

    @property
    def name(self) -> str:
        return type(self).__name__

    def check(self, system: FourierSystem) -> None:
        """``ValueError`` when this solver cannot take the system (default: any)."""
        del system

    def condition_iterations(self) -> int:
        """Rounds of power iteration on A⁻ᴴA⁻¹ for the condition estimate (0: none, the
        estimate is NaN). Direct solvers: 2 (four more solves with their factorisations)."""
        return 2

    @abc.abstractmethod
    def prepare(self, system: FourierSystem):
        """The solver state for one system."""

    @abc.abstractmethod
    def solve(self, state, b: Array) -> tuple[Array, RESULTS, Array]:
        """A⁻¹b."""

    @abc.abstractmethod
    def transpose_solve(self, state, b: Array) -> tuple[Array, RESULTS, Array]:
        """A⁻ᵀb (plain transpose)."""


def _finite(y: Array) -> RESULTS:
    return RESULTS.where(jnp.all(jnp.isfinite(y)), RESULTS.successful, RESULTS.singular)


def _dense_state_only(lindbladian: AbstractLindbladian) -> None:
    """The drives act as −i[H_m, ρ] on dense ``(n, n)`` states: a representation whose states
    are blocks (sectors, permutation-invariant) would not hold the commutators in general."""
    if tuple(lindbladian.state_shape) != (lindbladian.n, lindbladian.n):
        raise ValueError(
            "`periodic_steady_state` needs a dense Lindbladian (state shape (n, n)): a drive "
            "H_m generally couples the blocks of a block representation; got state shape "
            f"{tuple(lindbladian.state_shape)}. Pass the dense Lindbladian (e.g. "
            "`qdiss.Lindbladian(H0, jump_ops)`)."
        )
