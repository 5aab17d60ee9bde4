"""The preconditioner protocol of ``Krylov`` (its own file, so that each preconditioner file
can import it without importing the others)."""

from __future__ import annotations

import abc

import equinox as eqx

__all__ = ["AbstractPreconditioner"]


class AbstractPreconditioner(eqx.Module):
    """A preconditioner of the deflated operator A, as a configuration object.

    ``build(problem, shift)`` returns the built preconditioner for one problem: an object with
    ``apply_inverse(y)`` (P⁻¹, what GMRES uses) and ``apply(x)`` (P, for warm starts), acting on
    states of the problem's ``state_shape``. ``prepare`` may also change the basis the whole
    solve runs in (see :class:`EigenbasisDiagonal`). σ = ``shift``·(largest decay rate) keeps P
    nonsingular. No gradient flows through P.
    """

    @abc.abstractmethod
    def build(self, problem, shift: float):
        """P for ``problem`` (a ``DeflatedProblem``)."""

    def prepare(self, problem, shift: float):
        """(the problem in the basis the solve runs in, P built there, the rotation U with
        ρ = Uρ'U†, or None): by default the problem as it is."""
        return problem, self.build(problem, shift), None
