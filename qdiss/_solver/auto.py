"""Automatic solver choice by a cost model (see :meth:`Auto.select`)."""

from __future__ import annotations

import hashlib
import math
from typing import NamedTuple

import equinox as eqx
import jax
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

from .._lindbladian import AbstractLindbladian
from .._numerics import is_concrete
from .._operator import DeflatedProblem
from ._abstract import AbstractSteadyStateSolver, RawSolve
from .dense import DenseLU
from .krylov import Krylov

__all__ = ["Auto", "CostEstimate", "envelope_work"]

# --- the constants of the cost model (seconds; 2 CPU cores, complex128; see Auto.select) -------
DENSE_PER_UNKNOWN3 = 3.0e-11  # DenseLU: s per P³ (kerr-40 0.136 s, thermal-50 0.475, xyz-6 2.02)
SPARSE_OVERHEAD = 5e-3  # SparseLU: host callback + CSR assembly (kerr-40 11.5 ms, thermal-50 15 ms)
SPARSE_PER_WORK = 2e-9  # SparseLU: s per unit of envelope work W (kerr-40, thermal-50)
SPARSE_WORK_KNEE = 2.5e7  # W where SuperLU leaves cache and slows down (two-mode-8: 8.5 s)
KRYLOV_ITERATIONS = 400  # GMRES iterations assumed (10 restart cycles of 40)
KRYLOV_STEP_OVERHEAD = 5e-4  # s per GMRES iteration besides the products (kerr-40: 640 it, 0.36 s)
KRYLOV_PER_MULTIPLY = 4e-10  # s per complex multiply-add of one application of L
GPU_DENSE_MAX = 10_000  # unknowns up to which DenseLU is picked on a GPU (not measured here)


class CostEstimate(NamedTuple):
    """Predicted warm run times in seconds (``inf``: the solver is not a candidate)."""

    dense: float
    sparse: float
    krylov: float
    envelope_work: float | None  # W of the sparse LU, None where the pattern was not read


def envelope_work(matrix: sp.spmatrix) -> tuple[float, int]:
    """W = Σ_i w_i² and the bandwidth max_i w_i of a sparse matrix after reverse Cuthill–McKee.

    w_i = i − min{j ≤ i : A_ij ≠ 0 or A_ji ≠ 0} is the width of row i of the lower envelope of the
    symmetrised pattern, reordered by ``scipy.sparse.csgraph.reverse_cuthill_mckee``. An LU
    factorisation that keeps its fill inside that envelope costs about Σ_i w_i² multiply-adds
    (P·b² for a band of width b), against P³/3 for a dense one.
    """
    csr = sp.csr_matrix(matrix)
    size = csr.shape[0]
    if size == 0:
        return 0.0, 0
    ones = np.ones(csr.nnz, np.int8)
    pattern = sp.csr_matrix((ones, csr.indices, csr.indptr), shape=csr.shape)
    symmetric = (pattern + pattern.T).tocsr()
    perm = reverse_cuthill_mckee(symmetric, symmetric_mode=True)
    reordered = symmetric[perm][:, perm].tocsr()
    rows = np.repeat(np.arange(size), np.diff(reordered.indptr))
    first = np.arange(size)
    np.minimum.at(first, rows, reordered.indices)
    widths = (np.arange(size) - first).astype(np.float64)
    return float(np.sum(widths**2)), int(widths.max())


def _is_traced(lindbladian: AbstractLindbladian) -> bool:
    return not is_concrete(*jax.tree_util.tree_leaves(lindbladian))


def _multiplies_per_application(lindbladian: AbstractLindbladian) -> float:
    """Complex multiply-adds of one L(ρ): every stored operator matrix (d×d blocks of the
    arrays that are the Lindbladian's leaves) multiplies a d×d block of ρ from the left and from
    the right, so 2·d·(Σ leaf sizes); (2 + 2k)·n³ for H and k jump operators."""
    block = int(lindbladian.state_shape[-1])
    entries = sum(int(np.size(x)) for x in jax.tree_util.tree_leaves(lindbladian))
    return 2.0 * block * entries


def _row_count_bound(lindbladian: AbstractLindbladian) -> float:
    """A cheap estimate of the superoperator's nonzeros per row, from concrete arrays only.

    Every d×d operator matrix M among the Lindbladian's leaves enters a term M ρ M† (or
    M ρ, ρ M†), whose superoperator M ⊗ M* has (nonzeros per row of M)² per row: the estimate
    is the largest such square (n² for a dense jump operator)."""
    block = int(lindbladian.state_shape[-1])
    best = 1.0
    for leaf in jax.tree_util.tree_leaves(lindbladian):
        x = np.asarray(leaf)
        if x.ndim < 2 or x.shape[-1] != block or x.shape[-2] != block or x.size == 0:
            continue
        mats = x.reshape(-1, block, block)
        per_row = np.count_nonzero(mats, axis=(1, 2)) / block
        best = max(best, float(np.max(per_row)) ** 2)
    return best


_WORK_CACHE: dict[tuple, float] = {}  # sparsity structure -> envelope work (see _cached_work)
_WORK_CACHE_SIZE = 256


def _cached_work(lindbladian: AbstractLindbladian) -> float:
    """:func:`envelope_work` of ``lindbladian.sparse_superoperator()``, remembered per sparsity
    structure (the type, the static fields and the nonzero masks of the array leaves), so that
    repeated solves of one model (a sweep, an optimisation loop outside ``jit``) read the
    pattern once: reading it costs about as much as a SparseLU solve of one oscillator."""
    dynamic, static = eqx.partition(lindbladian, eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten(dynamic)
    masks = []
    for leaf in leaves:
        x = np.asarray(leaf)
        masks.append((x.shape, hashlib.sha1(np.packbits(x != 0).tobytes()).hexdigest()))
    try:
        key = (type(lindbladian).__name__, str(treedef), hash(static), tuple(masks))
    except TypeError:  # an unhashable static field: do not cache
        return envelope_work(lindbladian.sparse_superoperator())[0]
    if key not in _WORK_CACHE:
        if len(_WORK_CACHE) >= _WORK_CACHE_SIZE:
            _WORK_CACHE.pop(next(iter(_WORK_CACHE)))
        _WORK_CACHE[key] = envelope_work(lindbladian.sparse_superoperator())[0]
    return _WORK_CACHE[key]


def _sparse_time(work: float) -> float:
    return SPARSE_OVERHEAD + SPARSE_PER_WORK * work * (1 + work / SPARSE_WORK_KNEE)


class Auto(AbstractSteadyStateSolver):
    """Pick the solver with the smallest predicted run time (cost model: :meth:`select`).

    - ``dense_max``: if given, ``DenseLU`` for every problem with at most this many unknowns
      (P = n² for a dense ρ) and never above it; ``None`` (default): the cost model decides.
    - ``sparse_max``: ``SparseLU`` is considered only up to this many unknowns (default 20 000,
      which also bounds the time spent reading the sparsity pattern; 0 turns it off).

    Tolerances given here are passed to the chosen solver.
    """

    residual_tol: float | None = None
    error_tol: float | None = None
    dense_max: int | None = None
    sparse_max: int = 20_000

    def estimate(self, lindbladian: AbstractLindbladian) -> CostEstimate:
        """The model's predicted warm times of DenseLU, SparseLU and Krylov (:meth:`select`)."""
        size = int(lindbladian.physical_indices().size)
        on_cpu = jax.default_backend() == "cpu"
        products = _multiplies_per_application(lindbladian)
        step = KRYLOV_STEP_OVERHEAD + KRYLOV_PER_MULTIPLY * products
        krylov = KRYLOV_ITERATIONS * step
        dense = DENSE_PER_UNKNOWN3 * float(size) ** 3
        if lindbladian.superoperator_by_columns():
            dense += size * step  # the matrix is assembled one column (one L(e_i)) at a time
        if not on_cpu:  # no measured constants on accelerators: the former size rule
            dense = 0.0 if size <= GPU_DENSE_MAX else math.inf
            return CostEstimate(dense, math.inf, 1.0, None)
        sparse, work = math.inf, None
        can_sparse = size <= self.sparse_max and not _is_traced(lindbladian)
        if can_sparse:
            # Cheap bound first: ρ_ij couples to its neighbours in i and in j, so the envelope
            # of a d×d block is at least ~d/2 wide, and a row with r nonzeros (symmetrised) at
            # least r/2: W ≥ P·max(d, r)²/4. Read the pattern only if SparseLU could still win.
            width = max(int(lindbladian.state_shape[-1]), _row_count_bound(lindbladian))
            if _sparse_time(size * width**2 / 4) < min(dense, krylov):
                work = _cached_work(lindbladian)
                sparse = _sparse_time(work)
        return CostEstimate(dense, sparse, krylov, work)

    def select(self, lindbladian: AbstractLindbladian) -> AbstractSteadyStateSolver:
        r"""The solver with the smallest predicted warm run time.

        Cost model (seconds on 2 CPU cores, complex128; constants fitted to the timings in
        benchmarks/README.md, 2026-11-21/22, and issue 11), with P unknowns (n² for a dense ρ,
        Σ_q d_q² for sector blocks, Σ_j (2j+1)² for permutation-invariant blocks):

        - DenseLU: 3·10⁻¹¹·P³ (LAPACK LU: kerr-40 0.136 s, thermal-50 0.475 s, xyz-6 2.02 s),
          plus P applications of L where the representation assembles its matrix column by
          column (block representations).
        - SparseLU (CPU, concrete arrays only, P ≤ ``sparse_max``): 5 ms + 2·10⁻⁹·W·(1 + W/W₀),
          W₀ = 2.5·10⁷, where W = Σ_i w_i² is the envelope work of the superoperator's sparsity
          pattern after reverse Cuthill–McKee (:func:`envelope_work`; P·b² for bandwidth b).
          One oscillator is banded (kerr-40: W = 4.9·10⁶, 11.5 ms measured); several modes or
          sites fill in (two-mode-8: W = 3.1·10⁸, 8.5 s measured; xyz-6 W = 1.5·10⁹ and six
          all-to-all spins W = 1.8·10⁹, 90–160 s measured: SuperLU slows down super-linearly
          once its factors leave the cache, hence the W/W₀ term). The pattern is read only when
          a cheap bound W ≥ P·max(d, r)²/4 (d the block size, r the largest squared count of
          nonzeros per row of an operator matrix, :func:`_row_count_bound`) does not already
          rule SparseLU out (≤ 0.15 s on the benchmarks), and remembered per sparsity structure
          (:func:`_cached_work`), so that later solves of the same model choose in ~1 ms.
        - Krylov: 400 iterations × (0.5 ms + 4·10⁻¹⁰ s × the multiply-adds of one L(ρ),
          2·d·(entries of the Lindbladian's arrays) = (2 + 2k)·n³ for k jump operators).
          Measured: two-mode-8 0.69 s, xyz-6 0.32 s, six all-to-all spins 0.66 s, kerr-40
          0.36 s (640 iterations; single oscillators converge slowly, but SparseLU wins there).

        Representations whose default preconditioner makes GMRES converge fast whatever the size
        (``krylov_converges_fast``; the permutation-invariant Lindbladian): ``Krylov`` (its
        block-sweep preconditioner converges
        in ~20 iterations: 0.1 s at N = 20 vs 6 s for SparseLU, 0.002 s vs 0.2 s for DenseLU at
        N = 10), unless ``dense_max`` covers them. Traced arrays (``select`` called inside a
        user's ``jit``/``vmap``/``grad``): the pattern cannot be read and SparseLU would run a
        sequential host callback per batch element, so DenseLU or Krylov. On an accelerator
        (no measured constants yet): DenseLU up to P = 10⁴, else Krylov; never SparseLU.

        The choice depends only on shapes, the backend and (for concrete arrays) the sparsity
        pattern: it is deterministic.
        """
        size = int(lindbladian.physical_indices().size)
        tols = dict(residual_tol=self.residual_tol, error_tol=self.error_tol)
        if self.dense_max is not None and size <= self.dense_max:
            return DenseLU(**tols)
        if lindbladian.krylov_converges_fast():
            return Krylov(**tols)
        cost = self.estimate(lindbladian)
        dense = cost.dense if self.dense_max is None else math.inf
        best = min(dense, cost.sparse, cost.krylov)
        if dense == best:
            return DenseLU(**tols)
        if cost.sparse == best:
            from .sparse import SparseLU

            return SparseLU(**tols)
        return Krylov(**tols)

    def solve(self, problem: DeflatedProblem, rho0: jax.Array | None) -> RawSolve:
        return self.select(problem.lindbladian).solve(problem, rho0)
