r"""Functions of one density matrix: purity, entropy, fidelity, expectation values, partial
trace and transpose, mutual information; and the spectral helpers the other measures share.

**Non-smooth points.** Entropy, fidelity, concurrence and the QFI take square roots,
logarithms or ratios of eigenvalues, whose one-sided derivatives can be infinite where an
eigenvalue vanishes (any rank-deficient state: every pure state), and ``jnp.linalg.eigh``'s own
derivative divides by eigenvalue gaps, which is ``inf``/``NaN`` at degenerate eigenvalues.
qdiss never returns ``NaN`` there. The rules, shared by every measure in :mod:`qdiss.measures`:

1. *Numerical rank.* An eigenvalue ``λ ≤ tol`` of a positive semidefinite matrix counts as
   exactly zero, ``tol = n · eps · scale`` (``eps`` of the dtype, ``scale`` the largest
   eigenvalue or the trace). This also removes the rounding noise that √ and log would blow up
   (√1e-17 ≈ 3e-9).
2. *Eigenvalues and singular values* are differentiated by first-order perturbation theory,
   ``dλᵢ = ⟨uᵢ|dA|uᵢ⟩``, ``dsᵢ = Re(aᵢ† dX bᵢ)``: never a division by a gap, and exact for every
   function symmetric in the members of a degenerate cluster (traces of matrix functions are).
3. *Matrix square roots* are differentiated by the Daleckii–Krein formula
   ``d√A = U (K ∘ U†dA U) U†``, ``Kᵢⱼ = 1/(√λᵢ + √λⱼ)``, gap-free, with ``Kᵢⱼ = 0`` on the
   kernel–kernel block.
4. Where a one-sided slope is infinite (``√λ`` or ``λ ln λ`` at ``λ = 0``, ``max(0, x)`` at
   its kink) the derivative is set to 0; the fidelity and the QFI have their own custom rules
   (see their docstrings) built on the same conventions.

Together these give, at a rank-deficient state, the derivative along the manifold of states of
the same rank (exact there: e.g. along pure-state families), and no contribution from the
kernel–kernel block of a direction (where the one-sided slope is infinite or not linear in the
direction). Away from such points they are the ordinary derivatives. These rules give first
derivatives; second derivatives are not supported.

Inputs are single density matrices ``(n, n)``; ``jax.vmap`` batches them. Subsystem dimensions
(``dims``) and subsystem selections are static Python ints/tuples.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _linalg
from .._numerics import complex_dtype, psd_sqrt, real_of

__all__ = [
    "expect",
    "fidelity",
    "mutual_information",
    "partial_trace",
    "partial_transpose",
    "purity",
    "von_neumann_entropy",
]


# ----------------------------------------------------------------------------- input checks


def _check_square(rho: Array, name: str = "rho") -> Array:
    rho = jnp.asarray(rho)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1]:
        raise ValueError(
            f"`{name}` must be one square matrix of shape (n, n); got shape {rho.shape}. "
            "Use jax.vmap for a batch of states."
        )
    if not jnp.issubdtype(rho.dtype, jnp.inexact):
        raise TypeError(f"`{name}` must have a float or complex dtype; got {rho.dtype}.")
    return rho


def _common_dtype(*arrays: Array, complex_: bool = False):
    """The dtype all ``arrays`` are cast to (explicitly, since tests run strict promotion): the
    common real dtype when every input is real and one is floating (and not ``complex_``), else
    their complex dtype (:func:`qdiss._numerics.complex_dtype`)."""
    dtypes = [jnp.result_type(a) for a in arrays]
    real = not any(jnp.issubdtype(d, jnp.complexfloating) for d in dtypes)
    floating = any(jnp.issubdtype(d, jnp.floating) for d in dtypes)
    dtype = complex_dtype(*arrays)
    return real_of(dtype) if real and floating and not complex_ else dtype


def _check_dims(rho: Array, dims) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in np.atleast_1d(np.asarray(dims)))
    except (TypeError, ValueError):
        raise TypeError(
            f"`dims` must be a static tuple of subsystem dimensions; got {dims!r}."
        ) from None
    n = rho.shape[0]
    if len(dims) == 0 or any(d <= 0 for d in dims) or int(np.prod(dims)) != n:
        raise ValueError(
            f"`dims` must be positive subsystem dimensions whose product is n = {n} "
            f"(the size of `rho`); got {dims}."
        )
    return dims


def _bipartite_dims(rho: Array, dims) -> tuple[int, ...]:
    """``dims``, or ``(d, d)`` when not given and ``n = d²``."""
    if dims is None:
        n = rho.shape[0]
        d = int(round(np.sqrt(n)))
        if d * d != n:
            raise ValueError(
                f"`dims` was not given and n = {n} is not a square d·d; pass `dims`, the "
                "subsystem dimensions, e.g. dims=(2, 3)."
            )
        return (d, d)
    return _check_dims(rho, dims)


def _check_subsystems(sel, n_sub: int, name: str) -> tuple[int, ...]:
    """A sorted tuple of distinct subsystem indices (an int or a sequence of ints)."""
    items = (sel,) if isinstance(sel, int | np.integer) else sel
    if not isinstance(items, Sequence | np.ndarray) or isinstance(items, str):
        raise TypeError(f"`{name}` must be an int or a tuple of ints; got {sel!r}.")
    out = []
    for s in items:
        if not isinstance(s, int | np.integer) or isinstance(s, bool):
            raise TypeError(f"`{name}` must be an int or a tuple of ints; got {sel!r}.")
        if not -n_sub <= s < n_sub:
            raise ValueError(
                f"`{name}` = {sel!r} names subsystem {s}, but `dims` has {n_sub} subsystems."
            )
        out.append(int(s) % n_sub)
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` = {sel!r} names a subsystem twice.")
    return tuple(sorted(out))


# ------------------------------------------------------------------ spectral helpers (private)


def _rank_tol(scale: Array, n: int, dtype) -> Array:
    """Eigenvalues at or below ``n · eps · scale`` are treated as zero (module rule 1)."""
    return n * jnp.finfo(dtype).eps * jnp.abs(scale)


@jax.custom_jvp
def _svdvals(x: Array) -> Array:
    """Descending singular values; derivative dsᵢ = Re(aᵢ† dX bᵢ) (gap-free, like rule 2)."""
    return _linalg.svdvals(x)


@_svdvals.defjvp
def _svdvals_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    a, s, bh = _linalg.svd(x)
    ds = jnp.real(jnp.einsum("ji,jk,ik->i", a.conj(), dx.astype(a.dtype), bh.conj()))
    return s, ds.astype(s.dtype)


def _real_trace(rho: Array) -> Array:
    return jnp.real(jnp.trace(rho))


# ------------------------------------------------------------------------------- public API


def purity(rho: Array) -> Array:
    r"""Purity ``tr ρ²`` (real): 1 for pure states, ``1/n`` for ``I/n``.

    Computed as ``Σᵢⱼ ρᵢⱼ ρⱼᵢ``, a polynomial: smooth everywhere.
    """
    rho = _check_square(rho)
    return jnp.real(jnp.einsum("ij,ji->", rho, rho))


def von_neumann_entropy(rho: Array) -> Array:
    r"""Von Neumann entropy ``S(ρ) = −tr ρ ln ρ = −Σᵢ λᵢ ln λᵢ``, in nats (natural log).

    Divide by ``ln 2`` for bits. Pure states give 0, ``I/n`` gives ``ln n``. Eigenvalues at or
    below the numerical-rank tolerance contribute 0 with derivative 0 (the true one-sided slope
    ``−ln λ − 1`` is infinite there), so the gradient at a pure state is finite: it is the
    derivative along pure states, ``−⟨ψ|dρ|ψ⟩``. Degenerate eigenvalues are handled exactly
    (module docstring).
    """
    rho = _check_square(rho)
    w = _linalg.eigvalsh_differentiable(rho)
    tol = _rank_tol(jnp.max(jnp.abs(w)), rho.shape[0], w.dtype)
    positive = w > tol
    safe = jnp.where(positive, w, 1.0)
    return -jnp.sum(jnp.where(positive, w * jnp.log(safe), 0.0))


def _root_fidelity_parts(rho: Array, sigma: Array):
    """√ρ, √σ and the SVD of X = √σ √ρ: tr √(√ρσ√ρ) = Σ svd(X) (M = √ρσ√ρ = X†X)."""
    sqrt_rho, sqrt_sigma = psd_sqrt(rho), psd_sqrt(sigma)
    a, s, bh = _linalg.svd(sqrt_sigma @ sqrt_rho)
    return sqrt_rho, sqrt_sigma, a, s, bh


@jax.custom_jvp
def _fidelity(rho: Array, sigma: Array) -> Array:
    return jnp.sum(_root_fidelity_parts(rho, sigma)[3]) ** 2


@_fidelity.defjvp
def _fidelity_jvp(primals, tangents):
    r"""dF = √F [tr(√ρ M^{+½} √ρ dσ) + tr(√σ N^{+½} √σ dρ)], M = √ρσ√ρ, N = √σρ√σ.

    From d tr√M = ½ tr(M^{-½} dM) applied to the σ-dependence of M and, by the symmetry
    F(ρ, σ) = F(σ, ρ), to the ρ-dependence of N. With X = √σ√ρ = A S B†: M^{+½} = B S⁺ B†,
    N^{+½} = A S⁺ A†. No derivative of a square root is needed, so the rule is exact wherever
    rank M is locally constant and finite everywhere.
    """
    (rho, sigma), (drho, dsigma) = primals, tangents
    sqrt_rho, sqrt_sigma, a, s, bh = _root_fidelity_parts(rho, sigma)
    scale = jnp.sqrt(jnp.abs(_real_trace(rho) * _real_trace(sigma)))
    positive = s > 10 * _rank_tol(scale, rho.shape[0], s.dtype)
    s_pinv = jnp.where(positive, 1.0 / jnp.where(positive, s, 1.0), 0.0).astype(a.dtype)
    b = bh.conj().T
    grad_sigma = sqrt_rho @ (b * s_pinv) @ bh @ sqrt_rho
    grad_rho = sqrt_sigma @ (a * s_pinv) @ a.conj().T @ sqrt_sigma
    d_root = jnp.real(
        jnp.sum(grad_sigma.T * dsigma.astype(a.dtype)) + jnp.sum(grad_rho.T * drho.astype(a.dtype))
    )
    root_f = jnp.sum(s)
    return root_f**2, (root_f * d_root).astype(root_f.dtype)


def fidelity(rho: Array, sigma: Array) -> Array:
    r"""Uhlmann fidelity ``F(ρ, σ) = (tr √(√ρ σ √ρ))²`` (the squared convention: ``F ∈ [0, 1]``,
    ``F = |⟨ψ|φ⟩|²`` for pure states, ``F = ⟨ψ|σ|ψ⟩`` for ``ρ = |ψ⟩⟨ψ|``).

    Evaluated as ``(Σᵢ sᵢ)²``, ``sᵢ`` the singular values of ``√σ √ρ`` (the eigenvalues of
    ``√(√ρσ√ρ)`` without squaring, so rounding is not amplified by a square root), with ``√ρ``,
    ``√σ`` from ``eigh`` with clipped eigenvalues.

    Gradient (custom rule, both arguments):
    ``dF = √F [tr(√ρ M^{+½} √ρ dσ) + tr(√σ N^{+½} √σ dρ)]``, ``N = √σ ρ √σ``, ``^{+}`` the
    pseudo-inverse (singular values of ``√σ√ρ`` below ``10·n·eps·√(tr ρ tr σ)`` count as 0).
    Exact wherever the rank of ``M`` is locally constant — for instance
    ``fidelity(rho(θ), target)`` with a pure target is linear in ρ and gets its exact gradient
    even at pure ρ — and finite everywhere: directions that raise a zero eigenvalue of ``M``
    (true slope infinite) contribute 0.
    """
    rho = _check_square(rho, "rho")
    sigma = _check_square(sigma, "sigma")
    if rho.shape != sigma.shape:
        raise ValueError(
            f"`rho` and `sigma` must have the same shape; got {rho.shape} and {sigma.shape}."
        )
    dtype = _common_dtype(rho, sigma)
    return _fidelity(rho.astype(dtype), sigma.astype(dtype))


def expect(op: Array, rho: Array) -> Array:
    r"""Expectation value ``⟨A⟩ = tr(A ρ)`` (complex; take ``jnp.real`` for Hermitian ``A``).

    ``op`` may be a stack ``(..., n, n)`` of operators; the result then has shape ``(...)``.
    """
    rho = _check_square(rho)
    op = jnp.asarray(op)
    if op.ndim < 2 or op.shape[-2:] != rho.shape:
        raise ValueError(
            f"`op` must have shape (..., n, n) with (n, n) = {rho.shape} (the shape of `rho`); "
            f"got {op.shape}."
        )
    dtype = _common_dtype(op, rho, complex_=True)
    return jnp.einsum("...ij,ji->...", op.astype(dtype), rho.astype(dtype))


def partial_trace(rho: Array, dims: tuple[int, ...], keep) -> Array:
    r"""Reduced state ``ρ_K = tr_{not K} ρ`` of the subsystems ``keep``.

    ``(ρ_K)_{a,b} = Σ_c ρ_{(a,c),(b,c)}`` over the traced subsystems ``c``. ``dims`` are the
    subsystem dimensions (static, product ``n``, any sizes, e.g. ``(2, 3, 2)``); ``keep`` is an
    int or a tuple of subsystem indices. The kept subsystems stay in their original order
    (as in ``qutip.ptrace``), so ``keep=(2, 0)`` equals ``keep=(0, 2)``. Linear, so smooth.
    """
    rho = _check_square(rho)
    dims = _check_dims(rho, dims)
    keep = _check_subsystems(keep, len(dims), "keep")
    k = len(dims)
    tensor = rho.reshape(dims + dims)
    row = list(range(k))
    col = [k + j if j in keep else j for j in range(k)]  # a traced subsystem repeats its label
    out = list(keep) + [k + j for j in keep]
    reduced = jnp.einsum(tensor, row + col, out)
    d_keep = int(np.prod([dims[j] for j in keep])) if keep else 1
    return reduced.reshape(d_keep, d_keep)


def partial_transpose(rho: Array, dims: tuple[int, ...], sys) -> Array:
    r"""Partial transpose ``ρ^{T_S}`` over the subsystems ``sys``.

    ``(ρ^{T_S})_{(a_S, a_R),(b_S, b_R)} = ρ_{(b_S, a_R),(a_S, b_R)}``: row and column indices of
    the subsystems in ``sys`` (an int or a tuple) are swapped. ``dims`` as in
    :func:`partial_trace`. Matches ``qutip.partial_transpose(rho, mask)`` with ``mask[i] = i in
    sys``. Linear, so smooth.
    """
    rho = _check_square(rho)
    dims = _check_dims(rho, dims)
    sys = _check_subsystems(sys, len(dims), "sys")
    k = len(dims)
    perm = list(range(2 * k))
    for j in sys:
        perm[j], perm[k + j] = k + j, j
    return jnp.transpose(rho.reshape(dims + dims), perm).reshape(rho.shape)


def mutual_information(rho: Array, dims: tuple[int, ...], parts) -> Array:
    r"""Quantum mutual information ``I(A:B) = S(ρ_A) + S(ρ_B) − S(ρ_AB)`` in nats.

    ``parts = (A, B)``: two disjoint subsystem selections (each an int or a tuple of ints);
    subsystems in neither are traced out first. Entropies as in :func:`von_neumann_entropy`
    (natural log; a Bell pair gives ``2 ln 2``).
    """
    rho = _check_square(rho)
    dims = _check_dims(rho, dims)
    if not isinstance(parts, Sequence) or len(parts) != 2:
        raise TypeError(f"`parts` must be a pair (A, B) of subsystem selections; got {parts!r}.")
    a = _check_subsystems(parts[0], len(dims), "parts[0]")
    b = _check_subsystems(parts[1], len(dims), "parts[1]")
    if not a or not b:
        raise ValueError(f"`parts` = {parts!r}: both A and B must name at least one subsystem.")
    if set(a) & set(b):
        raise ValueError(f"`parts` = {parts!r}: A and B must be disjoint.")
    ab = tuple(sorted(a + b))
    return (
        von_neumann_entropy(partial_trace(rho, dims, a))
        + von_neumann_entropy(partial_trace(rho, dims, b))
        - von_neumann_entropy(partial_trace(rho, dims, ab))
    )
