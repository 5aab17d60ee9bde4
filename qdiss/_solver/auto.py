"""Automatic solver choice."""

from __future__ import annotations

import jax

from .._lindbladian import AbstractLindbladian
from .._solve import AbstractSteadyStateSolver, DeflatedProblem, RawSolve
from .dense import DenseLU
from .krylov import Krylov

__all__ = ["Auto"]


class Auto(AbstractSteadyStateSolver):
    """Pick a solver by problem size and device.

    - number of unknowns (the Liouville dimension n² for a dense ρ, Σ_j (2j+1)² for a
      permutation-invariant one) ≤ ``dense_max`` (default 2500, n ≤ 50; 10⁴ on a GPU; on CPU
      300 for block states with padding, whose dense matrix is assembled column by column from
      the matrix-free action — SparseLU is ~10× faster there from N ≈ 20 spins): ``DenseLU``.
    - otherwise on CPU, unknowns ≤ ``sparse_max`` (default 20 000, N ≤ 46 spins):
      ``SparseLU`` (SciPy SuperLU).
    - otherwise: ``Krylov`` (GMRES with the Lindbladian's default preconditioner).

    Tolerances given here are passed to the chosen solver.
    """

    residual_tol: float | None = None
    error_tol: float | None = None
    dense_max: int | None = None
    sparse_max: int = 20_000

    def select(self, lindbladian: AbstractLindbladian) -> AbstractSteadyStateSolver:
        size = int(lindbladian.physical_indices().size)  # unknowns: n² for a dense ρ
        on_cpu = jax.default_backend() == "cpu"
        blocks = lindbladian.padding_mask() is not None
        default = (300 if blocks else 2500) if on_cpu else 10_000
        dense_max = self.dense_max if self.dense_max is not None else default
        tols = dict(residual_tol=self.residual_tol, error_tol=self.error_tol)
        if size <= dense_max:
            return DenseLU(**tols)
        if on_cpu and size <= self.sparse_max:
            from .sparse import SparseLU

            return SparseLU(**tols)
        return Krylov(**tols)

    def solve(self, problem: DeflatedProblem, rho0: jax.Array | None) -> RawSolve:
        return self.select(problem.lindbladian).solve(problem, rho0)
