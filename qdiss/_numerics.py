"""Small numerical helpers shared by the whole package (one copy each): whether values are
concrete or traced, the complex/real dtypes a computation runs in and the precision switch,
the Hermitian PSD square root with its one derivative rule, and the minimal spin variance
perpendicular to the mean spin (full-space and permutation-invariant measures alike)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jaxtyping import Array

from . import _linalg

__all__ = [
    "clipped_eigh",
    "complex_dtype",
    "complex_of",
    "is_concrete",
    "is_double",
    "min_perpendicular_variance",
    "psd_sqrt",
    "real_dtype",
    "real_of",
    "stack_operators",
]


def is_concrete(*xs) -> bool:
    """True when no argument is a JAX tracer (values can be read on the host)."""
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


def complex_dtype(*xs) -> jnp.dtype:
    """The complex dtype of a computation on these arrays, dtypes or scalars.

    Inputs that carry a precision (floating or complex) set it: complex64 from float32 or
    complex64 inputs only, complex128 as soon as one input is float64/complex128 (where JAX's
    x64 mode allows it; a Python float counts as JAX's default float). Integer (and other exact)
    inputs carry none: with only those the result is JAX's default complex dtype (complex128
    with ``jax_enable_x64``, complex64 without).
    """
    dtypes = [jnp.result_type(x) for x in xs]
    inexact = [d for d in dtypes if jnp.issubdtype(d, jnp.inexact)]
    if not inexact:
        return jnp.dtype(jnp.result_type(complex))  # canonical: follows jax_enable_x64
    with jax.numpy_dtype_promotion("standard"):  # explicit: mixed precisions widen
        return jnp.dtype(jnp.result_type(*inexact, jnp.complex64))


def complex_of(dtype) -> jnp.dtype:
    """The complex dtype of the same precision as a real or complex ``dtype``."""
    return jnp.dtype(jnp.complex128 if jnp.finfo(dtype).bits == 64 else jnp.complex64)


def real_of(dtype) -> jnp.dtype:
    """The real dtype of the same precision as a real or complex ``dtype``."""
    return jnp.dtype(jnp.finfo(dtype).dtype)


def real_dtype(*xs) -> jnp.dtype:
    """The real dtype of a computation on these arrays, dtypes or scalars: the real part of
    :func:`complex_dtype` (float32 from float32/complex64 inputs only, float64 as soon as one
    input is double; JAX's default float when no input carries a precision, e.g. integers)."""
    return real_of(complex_dtype(*xs))


def is_double(dtype) -> bool:
    """True for a double-precision dtype (float64, complex128): the switch between the float64
    and the float32 defaults of tolerances."""
    return jnp.finfo(dtype).bits == 64


# ------------------------------------------------------------------------ operator stacks


def stack_operators(
    ops, name: str, *, n: int | None = None, size_of: str = "", single: bool = False
) -> Array | None:
    """Operators given as a list of ``(n, n)`` matrices or a ``(k, n, n)`` array (and, with
    ``single``, one ``(n, n)`` matrix) as one ``(k, n, n)`` array; ``None`` for an empty list.

    A list is stacked in the :func:`complex_dtype` of its members (it may mix integer, real and
    complex operators); an array keeps its dtype. Shapes are checked: every member square, of
    size ``n`` when given (``size_of`` names the argument that fixes ``n``), else ``ValueError``
    naming the argument ``name``.
    """
    if isinstance(ops, Sequence) and not isinstance(ops, str):
        if len(ops) == 0:
            return None
        ops = [jnp.asarray(op) for op in ops]
        if len({op.shape for op in ops}) != 1:
            raise ValueError(f"`{name}` must all have the same shape (n, n).")
        dtype = complex_dtype(*ops)
        ops = jnp.stack([op.astype(dtype) for op in ops])
    ops = jnp.asarray(ops)
    if single and ops.ndim == 2:
        ops = ops[None]
    if ops.ndim != 3 or ops.shape[1] != ops.shape[2] or (n is not None and ops.shape[1] != n):
        forms = (
            "an (n, n) operator, a list of them or a (k, n, n) array"
            if single
            else "a list of (n, n) operators or a (k, n, n) array"
        )
        size = (
            ""
            if n is None
            else f" with n = {n}" + (f" (the size of `{size_of}`)" if size_of else "")
        )
        raise ValueError(f"`{name}` must be {forms}{size}; got shape {ops.shape}.")
    return ops


# --------------------------------------------------------------------- Hermitian square root


def clipped_eigh(a: Array, rank_factor: float = 1.0) -> tuple[Array, Array]:
    """``eigh`` of a Hermitian ``a`` (one matrix at a time, no gradient) with the eigenvalues at
    or below the numerical-rank tolerance ``rank_factor · n · eps · max|λ|`` set to 0."""
    w, v = _linalg.eigh(a)
    tol = rank_factor * a.shape[-1] * jnp.finfo(w.dtype).eps * jnp.max(jnp.abs(w))
    return jnp.where(w > tol, w, 0.0), v


def psd_sqrt(a: Array, rank_factor: float = 1.0) -> Array:
    r"""√A of a Hermitian positive semidefinite ``a`` from its eigendecomposition
    A = V diag(λ) V†: √A = V diag(√λ) V†, with the eigenvalues at or below
    ``rank_factor · n · eps · max|λ|`` (rounding noise, negative ones too) set to 0.

    Derivative (Daleckii–Krein): d√A = V (K ∘ V† dA_H V) V†, dA_H = (dA + dA†)/2 (eigh reads
    the Hermitian part), K_ij = 1/(√λ_i + √λ_j), and K_ij = 0 where √λ_i + √λ_j = 0: the
    kernel–kernel block, where √ is not differentiable, contributes nothing. Exact at
    degenerate spectra (no eigenvector derivatives), finite at rank-deficient A.
    ``rank_factor`` is static (a Python number).
    """
    return _psd_sqrt(a, float(rank_factor))


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _psd_sqrt(a: Array, rank_factor: float) -> Array:
    w, v = clipped_eigh(a, rank_factor)
    return (v * jnp.sqrt(w).astype(v.dtype)) @ v.conj().T


@_psd_sqrt.defjvp
def _psd_sqrt_jvp(rank_factor, primals, tangents):
    (a,), (da,) = primals, tangents
    w, v = clipped_eigh(a, rank_factor)
    s = jnp.sqrt(w)
    vh = v.conj().T
    denom = s[:, None] + s[None, :]
    nonzero = denom > 0
    k = jnp.where(nonzero, 1.0 / jnp.where(nonzero, denom, 1.0), 0.0)
    da = da.astype(v.dtype)
    da_h = 0.5 * (da + da.conj().T)
    dsqrt = v @ (k.astype(v.dtype) * (vh @ da_h @ v)) @ vh
    return (v * s.astype(v.dtype)) @ vh, dsqrt


# ------------------------------------------------------------------------- spin moments


def min_perpendicular_variance(mean: Array, cov: Array) -> Array:
    r"""min over unit n ⟂ mean of nᵀ C n for a real mean spin ``(3,)`` and a real symmetric
    covariance C ``(3, 3)``: the smaller nonzero eigenvalue λ₋ of Q = PCP, P = I − eeᵀ,
    e = mean/|mean|, in closed form λ₋ = T/2 − √D, T = tr Q, D = ½‖Q − (T/2)P‖²_F
    = ((λ₊ − λ₋)/2)² — a sum of squares, so no cancellation and no frame in the plane. √D gets
    derivative 0 at D = 0 (an isotropic plane, e.g. a coherent state). For mean = 0 every
    direction is perpendicular: the smallest eigenvalue of C. (Wineland et al., PRA 50, 67
    (1994); Kitagawa & Ueda, PRA 47, 5138 (1993).)
    """
    norm2 = mean @ mean
    nonzero = norm2 > 0
    e = mean / jnp.sqrt(jnp.where(nonzero, norm2, 1.0))
    proj = jnp.eye(3, dtype=mean.dtype) - jnp.outer(e, e)
    q = proj @ cov @ proj
    half_trace = jnp.trace(q) / 2
    d = jnp.sum((q - half_trace * proj) ** 2) / 2
    positive = d > 0
    root = jnp.where(positive, jnp.sqrt(jnp.where(positive, d, 1.0)), 0.0)
    return jnp.where(nonzero, half_trace - root, _linalg.eigvalsh_differentiable(cov)[0])
