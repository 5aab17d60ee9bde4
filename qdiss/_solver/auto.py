"""Automatic solver choice."""

from __future__ import annotations

import jax

from .._lindbladian import AbstractLindbladian
from .._permutation import PermutationInvariantLindbladian
from .._solve import AbstractSteadyStateSolver, DeflatedProblem, RawSolve
from .dense import DenseLU
from .krylov import Krylov

__all__ = ["Auto"]


class Auto(AbstractSteadyStateSolver):
    """Pick a solver by problem size and device.

    - Block states (a permutation-invariant Lindbladian): ``Krylov`` with its block-sweep
      preconditioner, unless ``dense_max`` is given and the Σ_j (2j+1)² unknowns fit in it.
      Measured on 2 CPU cores (benchmarks/large_n.py, warm): Krylov 0.002 s vs DenseLU 0.2 s at
      N = 10 (DenseLU assembles its matrix column by column from the matrix-free action), 0.1 s
      vs SparseLU 6 s at N = 20.
    - Dense states, and the blocks of a :class:`qdiss.SectorLindbladian` (Σ_q d_q² unknowns):
      unknowns ≤ ``dense_max`` (default 2500, n ≤ 50; 10⁴ on a GPU):
      ``DenseLU``; otherwise on CPU, n² ≤ ``sparse_max`` (default 20 000): ``SparseLU`` (SciPy
      SuperLU); otherwise ``Krylov`` (GMRES with the Lindbladian's default preconditioner).

    Tolerances given here are passed to the chosen solver.
    """

    residual_tol: float | None = None
    error_tol: float | None = None
    dense_max: int | None = None
    sparse_max: int = 20_000

    def select(self, lindbladian: AbstractLindbladian) -> AbstractSteadyStateSolver:
        size = int(lindbladian.physical_indices().size)  # unknowns: n² for a dense ρ
        on_cpu = jax.default_backend() == "cpu"
        blocks = isinstance(lindbladian, PermutationInvariantLindbladian)
        tols = dict(residual_tol=self.residual_tol, error_tol=self.error_tol)
        if blocks:
            if self.dense_max is not None and size <= self.dense_max:
                return DenseLU(**tols)
            return Krylov(**tols)
        dense_max = self.dense_max if self.dense_max is not None else (2500 if on_cpu else 10_000)
        if size <= dense_max:
            return DenseLU(**tols)
        if on_cpu and size <= self.sparse_max:
            from .sparse import SparseLU

            return SparseLU(**tols)
        return Krylov(**tols)

    def solve(self, problem: DeflatedProblem, rho0: jax.Array | None) -> RawSolve:
        return self.select(problem.lindbladian).solve(problem, rho0)
