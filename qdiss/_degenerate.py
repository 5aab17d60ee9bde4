r"""The steady state reached from ρ₀ when the kernel of L is degenerate.

When ker L has dimension d > 1 (conserved quantities, decoupled subspaces, pure dephasing), the
long-time state depends on the initial one. With {ρ_i} a basis of ker L (right kernel) and
{J_i} a basis of ker L† (left kernel: the conserved quantities, d/dt tr(J_i†ρ) = tr(L†(J_i)†ρ) = 0),
biorthonormalised, tr(J_i†ρ_j) = δ_ij, the state reached from ρ₀ is

    ρ_∞ = Σ_i tr(J_i†ρ₀) ρ_i = R (WᴴR)⁻¹ Wᴴ vec(ρ₀),

the oblique projection onto ker L along the range of L (R, W: the kernels as columns, any bases).
It is lim_{t→∞} e^{Lt}ρ₀ when L has no other purely imaginary eigenvalue, and the time average of
e^{Lt}ρ₀ otherwise (then ρ(t) keeps oscillating). tr ρ_∞ = tr ρ₀, since I ∈ ker L†.

**How.** Dense, on the unknowns of any representation (``superoperator()``, P × P; the pairing
is the Euclidean one of the unknowns): an SVD of S = L (no gradient) gives the kernel dimension d
(singular values below 1e3·eps·σ_max, the threshold beyond which ``steady_state`` calls a solve
non-unique) and orthonormal bases R₀, U₀ of ker S and ker Sᴴ. The bordered matrix

    B = [[S, U₀], [R₀ᴴ, 0]]

is nonsingular, and B [R; Y] = [0; I_d], Bᴴ [W; Z] = [0; I_d] give kernels R of S (Y = 0) and W
of Sᴴ (Z = 0) that are smooth functions of S wherever d stays constant (R₀, U₀ held fixed): so
the derivative of ρ_∞ with respect to the Lindbladian (and to ρ₀) comes out of two differentiable
LU solves (``qdiss._linalg.solve``), not out of the SVD, whose singular vectors are not
differentiable at a repeated (zero) singular value. Cost O(P³), as ``DenseLU``; memory O(P²).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from . import _linalg
from ._lindbladian import AbstractLindbladian
from ._numerics import is_concrete
from ._operator import DeflatedProblem
from ._solution import RESULTS
from ._solver._abstract import RawSolve

__all__ = ["kernel_dimension", "project_onto_kernel", "rank_tol"]


def rank_tol(dtype) -> float:
    """Singular values of L below ``rank_tol(dtype)``·σ_max count as zero: 1e3·eps (2.2e-13 in
    float64), the reciprocal of ``steady_state``'s non-unique condition number 1e-3/eps."""
    return 1e3 * float(jnp.finfo(dtype).eps)


def kernel_dimension(lindbladian: AbstractLindbladian) -> int:
    """dim ker L among the states of the representation, from the singular values of its dense
    superoperator (host side, concrete arrays only; ``ValueError`` for traced ones)."""
    if not is_concrete(*jax.tree_util.tree_leaves(lindbladian)):
        raise ValueError(
            "The kernel dimension of a traced Lindbladian (under jit/vmap/grad) cannot be read: "
            "pass `steady_state(..., degenerate='project', kernel_dim=d)` with d = dim ker L "
            "(e.g. `qdiss._degenerate.kernel_dimension(L)` at a concrete point)."
        )
    matrix = np.asarray(lindbladian.superoperator())
    svals = np.linalg.svd(matrix, compute_uv=False)
    top = float(svals[0]) if svals.size else 0.0
    return int(np.sum(svals <= rank_tol(matrix.dtype) * max(top, np.finfo(float).tiny)))


def project_onto_kernel(
    problem: DeflatedProblem, rho0: Array, kernel_dim: int
) -> tuple[RawSolve, Array]:
    """ρ_∞ = R (WᴴR)⁻¹Wᴴρ₀ (module docstring) as a :class:`RawSolve`, and the ratio
    σ_{d+1}/σ_max (≥ ``rank_tol`` where the kernel is not larger than d). ``inverse_norm`` is
    1/σ_{d+1}, the norm of L's inverse on the complement of its kernel (then the condition
    estimate flags a kernel larger than ``kernel_dim`` as non-unique)."""
    lindbladian = problem.lindbladian
    d = int(kernel_dim)
    matrix = lindbladian.superoperator()  # differentiable, (P, P)
    size = matrix.shape[0]
    if not 1 <= d < size:
        raise ValueError(f"`kernel_dim` must be between 1 and {size - 1}; got {d}.")
    dtype = matrix.dtype
    left, svals, right_h = _linalg.svd(jax.lax.stop_gradient(matrix))
    r0 = right_h[size - d :].conj().T  # (P, d): orthonormal basis of ker S
    u0 = left[:, size - d :]  # (P, d): orthonormal basis of ker Sᴴ
    zeros = jnp.zeros((d, d), dtype)
    bordered = jnp.block([[matrix, u0], [r0.conj().T, zeros]])
    bordered_h = jnp.block([[matrix.conj().T, r0], [u0.conj().T, zeros]])
    units = jnp.concatenate([jnp.zeros((size, d), dtype), jnp.eye(d, dtype=dtype)])
    right = jnp.stack([_linalg.solve(bordered, units[:, i])[:size] for i in range(d)], axis=1)
    conserved = jnp.stack([_linalg.solve(bordered_h, units[:, i])[:size] for i in range(d)], axis=1)
    v0 = problem.to_physical(rho0.astype(dtype))
    overlaps = conserved.conj().T @ right  # (d, d): Wᴴ R
    coefficients = _linalg.solve(overlaps, conserved.conj().T @ v0)
    x = right @ coefficients
    rho = problem.from_physical(x)
    gap = svals[size - d - 1]  # σ_{d+1}, the smallest nonzero singular value
    top = jnp.where(svals[0] > 0, svals[0], 1.0)
    finite = jnp.all(jnp.isfinite(x))
    raw = RawSolve(
        rho=rho,
        result=RESULTS.where(finite, RESULTS.successful, RESULTS.singular),
        num_steps=jnp.ones((), jnp.int32),
        inverse_norm=jnp.where(gap > 0, 1 / gap, jnp.inf),
    )
    return raw, gap / top
