r"""An incomplete-LU preconditioner of the deflated superoperator (CPU, host callbacks).

P = L̃Ũ ≈ A, where A = L + s·e wᵀ (+ s·I on padding) is the deflated operator on the unknowns
as a sparse matrix (:func:`qdiss._solver.sparse.deflated_sparse_matrix`, built from the
representation's ``sparse_superoperator()``) and L̃Ũ its threshold incomplete LU factorisation
(SciPy ``spilu``: SuperLU's ILUTP, Saad, *Iterative Methods for Sparse Linear Systems*, §10.4;
entries below ``drop_tol``·(column norm) are dropped, fill at most ``fill_factor``·nnz(A)), as
QuTiP's iterative steady-state solvers precondition GMRES. P⁻¹ is a pair of sparse triangular
solves, P⁻ᵀ (the transposed solve of the gradient) the same factors with ``trans="T"``.

Unlike the eigenbasis-diagonal preconditioners (``_preconditioner.py``) it keeps every term of L,
the recycling term Σ_k L_k ρ L_k† included, which dominates for a hot bath (the driven thermal
oscillator of the benchmarks: γ↓ = 6, γ↑ = 5 against a net decay of 1).

**Host side.** The factorisation runs once per solve in a ``jax.pure_callback`` and is stored in
the bounded LRU cache of ``sparse.py`` under a fresh integer handle, which travels through JAX as
an int32 array; every application looks its factors up by that handle, so one solve never uses
another solve's factors (also under ``vmap``, where each batch element has its own handle, and
across threads: the cache is locked). A handle evicted from the cache is refactorised from the
Lindbladian's arrays, which the built preconditioner carries: results never depend on the cache.
Where SuperLU cannot factorise A (a zero pivot, non-finite input), P = I: GMRES then runs
unpreconditioned and reports its own outcome.

**CPU only** in practice: on an accelerator every application copies a Krylov vector to the host
and back. No gradient flows through P.
"""

from __future__ import annotations

import functools as ft

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.tree_util as jtu
import numpy as np
from jaxtyping import Array
from scipy.sparse.linalg import spilu

from ._abstract_preconditioner import AbstractPreconditioner
from .sparse import _insert, _lookup, deflated_sparse_matrix

__all__ = ["IncompleteLU", "IncompleteLUPreconditioner"]


class IncompleteLU(AbstractPreconditioner):
    r"""P = L̃Ũ, the incomplete LU factorisation of the deflated superoperator A (module
    docstring), P⁻¹ = Ũ⁻¹L̃⁻¹ by two sparse triangular solves on the host.

    ``drop_tol``: entries of the factors below ``drop_tol`` relative to their column are
    dropped; ``fill_factor``: at most that multiple of nnz(A) in L̃ + Ũ (QuTiP's defaults are
    1e-4 and 10). ``shift`` is not used: A itself is nonsingular.
    """

    drop_tol: float = eqx.field(static=True, default=1e-4)
    fill_factor: float = eqx.field(static=True, default=10.0)

    def __check_init__(self):
        if not self.drop_tol >= 0:
            raise ValueError(f"`drop_tol` must be non-negative; got {self.drop_tol}.")
        if not self.fill_factor >= 1:
            raise ValueError(f"`fill_factor` must be at least 1; got {self.fill_factor}.")

    def build(self, problem, shift: float):
        del shift
        lindbladian = _stop_gradient(problem.lindbladian)
        scale = jax.lax.stop_gradient(problem.scale)
        leaves, kwargs = _host_kwargs(lindbladian, self.drop_tol, self.fill_factor)
        handle = jax.pure_callback(
            ft.partial(_factorise_host, **kwargs),
            jax.ShapeDtypeStruct((), jnp.int32),
            scale,
            *leaves,
            vmap_method="sequential",
        )
        return IncompleteLUPreconditioner(
            handle, type(problem)(lindbladian, scale), self.drop_tol, self.fill_factor
        )


class IncompleteLUPreconditioner(eqx.Module):
    """The built P of :class:`IncompleteLU` for one problem: ``apply_inverse(y)`` = P⁻¹y on
    states of ``problem.state_shape`` (P = s·I on padding entries, as A is), linear and
    transposable (``lax.custom_linear_solve``, whose transpose solves with P⁻ᵀ = L̃⁻ᵀŨ⁻ᵀ by
    SuperLU's ``trans="T"``); ``apply(x)`` = A x (what P approximates, for warm starts)."""

    handle: Array  # int32 key of the host cache; -1: no factorisation (P = I)
    problem: eqx.Module  # the deflated problem, without gradient
    drop_tol: float = eqx.field(static=True)
    fill_factor: float = eqx.field(static=True)

    def _host_solve(self, v: Array, transpose: bool) -> Array:
        leaves, kwargs = _host_kwargs(self.problem.lindbladian, self.drop_tol, self.fill_factor)
        return jax.pure_callback(
            ft.partial(_solve_host, transpose=transpose, **kwargs),
            jax.ShapeDtypeStruct(v.shape, v.dtype),
            self.handle,
            self.problem.scale,
            v,
            *leaves,
            vmap_method="sequential",
        )

    def apply_inverse(self, y: Array) -> Array:
        """P⁻¹y: the triangular solves on the unknowns, y/s on padding."""
        v = self.problem.to_physical(y)
        x = jax.lax.custom_linear_solve(
            lambda u: u,  # only the solves are used; no gradient flows through P
            v,
            lambda _, b: self._host_solve(b, transpose=False),
            lambda _, b: self._host_solve(b, transpose=True),
        )
        return self.problem.solve_padding(y, x)

    def apply(self, x: Array) -> Array:
        """A x, which P approximates."""
        return self.problem.mv(x)


def _stop_gradient(tree):
    dynamic, static = eqx.partition(tree, eqx.is_array)
    return eqx.combine(jax.lax.stop_gradient(dynamic), static)


def _host_kwargs(lindbladian, drop_tol: float, fill_factor: float):
    dynamic, static = eqx.partition(lindbladian, eqx.is_array)
    leaves, treedef = jtu.tree_flatten(dynamic)
    kwargs = dict(
        treedef=treedef,
        static=static,
        dtype=np.dtype(lindbladian.dtype),
        drop_tol=drop_tol,
        fill_factor=fill_factor,
    )
    return leaves, kwargs


def _factorise(scale, dynamic_leaves, treedef, static, dtype, drop_tol, fill_factor):
    """SuperLU's ILU of A, or None where A is not finite or has a zero pivot."""
    dynamic = jtu.tree_unflatten(treedef, [np.asarray(x) for x in dynamic_leaves])
    lindbladian = eqx.combine(dynamic, static)
    matrix = deflated_sparse_matrix(lindbladian, scale, dtype)
    if not np.all(np.isfinite(matrix.data)):
        return None
    try:
        return spilu(matrix, drop_tol=drop_tol, fill_factor=fill_factor)
    except RuntimeError:  # "Factor is exactly singular"
        return None


def _factorise_host(scale, *dynamic_leaves, treedef, static, dtype, drop_tol, fill_factor):
    ilu = _factorise(scale, dynamic_leaves, treedef, static, dtype, drop_tol, fill_factor)
    handle = -1 if ilu is None else _insert(ilu, dtype)
    return np.asarray(handle, dtype=np.int32)


def _solve_host(
    handle, scale, v, *dynamic_leaves, treedef, static, dtype, drop_tol, fill_factor, transpose
):
    """P⁻¹v (or P⁻ᵀv) for the factors under ``handle`` (refactorised if evicted); v where
    there are none."""
    handle = int(np.asarray(handle))
    if handle < 0:
        return np.asarray(v)
    entry = _lookup(handle)
    if entry is None:
        ilu = _factorise(scale, dynamic_leaves, treedef, static, dtype, drop_tol, fill_factor)
        if ilu is None:
            return np.asarray(v)
        _insert(ilu, dtype, handle)
    else:
        ilu = entry[0]
    x = ilu.solve(np.asarray(v).astype(dtype), trans="T" if transpose else "N")
    return np.asarray(x).astype(np.asarray(v).dtype)
