r"""Correlated baths: from a bath correlation (Kossakowski) matrix to jump operators.

A bath that couples to system operators A_1 … A_m with correlation matrix K (m × m, Hermitian,
positive semidefinite) generates

    D_K[ρ] = Σ_ij K_ij ( A_j ρ A_i† − ½ {A_i† A_j, ρ} ).

**Factorisation.** The dissipator depends only on K. Any factor K = S†S gives jump operators
L_m = Σ_j S_mj A_j with Σ_m D[L_m] = D_K, because Σ_m S_mj conj(S_mi) = (S†S)_ij = K_ij. qdiss
takes S = K^{1/2}, the positive semidefinite square root (Hermitian, so S†S = S² = K), and returns
all m operators (some are zero when K is singular; shapes stay static).

Why not eigenvectors or Cholesky: the jump operators √k_m Σ_j conj(U_jm) A_j from K = U diag(k) U†
inherit the gradient of ``eigh``, which is undefined at degenerate eigenvalues — K = I, i.e. an
uncorrelated bath (η = 0), is exactly such a point. Cholesky fails (NaN) on singular K, and jitter
changes the dissipator. The square root K ↦ K^{1/2} is a smooth matrix function at degenerate
eigenvalues: its derivative (Daleckii–Krein) is

    d(K^{1/2}) = U [ (U† dK U) ∘ W ] U†,   W_ij = 1 / (√k_i + √k_j),

with no 1/(k_i − k_j) terms. qdiss uses this as a custom JVP (reverse mode follows by
transposition). Where both k_i, k_j vanish (singular K) we set W_ij = 0: that is the exact
derivative along every path on which the rank of K stays constant (e.g. the rank-2 two-mode
squeezed bath for all κ, r, φ). Along rank-increasing paths the jump operators are not
differentiable (they grow like √t) although the dissipator is; qdiss then returns the finite
rank-preserving part. Eigenvalues below 100·m·ε·max|k| count as zero. (The square root and
its rule are :func:`qdiss._numerics.psd_sqrt`, shared with the fidelity in ``qdiss.measures``.)

**Thermal baths** (Hou, Kleinherbers, Kelly & Tserkovnyak, arXiv:2508.18131). A
channel with correlation K, rate Γ and Bose occupation n = 1/(e^{(ω−μ)/T} − 1):

    Σ_ij K_ij [ Γ↓ (σ⁻_j ρ σ⁺_i − ½{σ⁺_i σ⁻_j, ρ}) + Γ↑ (σ⁺_j ρ σ⁻_i − ½{σ⁻_i σ⁺_j, ρ}) ],
    Γ↓ = Γ(1 + n),   Γ↑ = Γ n,

i.e. D_{Γ↓K} over the lowering operators plus D_{Γ↑K} over the raising operators (the same K; for
a complex K whose up process should see Kᵀ, build the two halves with
:func:`correlated_dissipator_jumps`).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from . import _linalg
from ._checks import check, check_concrete
from ._numerics import complex_dtype, psd_sqrt, stack_operators

__all__ = [
    "bose_occupation",
    "correlated_dissipator_jumps",
    "kossakowski_matrix",
    "thermal_bath_jumps",
    "two_mode_squeezed_kossakowski",
]

_HERMITIAN_RTOL = 1e-8
_PSD_RTOL = 1e-10


def _stack_ops(ops, name: str) -> Array:
    ops = stack_operators(ops, name)
    if ops is None:
        raise ValueError(f"`{name}` must hold at least one operator.")
    return ops


def _check_matrix(matrix, m: int, name: str = "matrix") -> Array:
    """Shape, Hermiticity and positivity of a Kossakowski matrix; returns its Hermitian part."""
    matrix = jnp.asarray(matrix)
    if matrix.shape != (m, m):
        raise ValueError(
            f"`{name}` must be an (m, m) matrix with m = {m} (the number of operators); "
            f"got shape {matrix.shape}."
        )
    herm = (matrix + matrix.conj().T) / 2
    check_concrete(~jnp.all(jnp.isfinite(matrix)), f"`{name}` has non-finite (NaN or inf) entries.")
    scale = jnp.maximum(jnp.max(jnp.abs(matrix)), 1e-300)
    herm_err = jnp.max(jnp.abs(matrix - matrix.conj().T))
    herm = check(
        herm,
        herm_err > _HERMITIAN_RTOL * scale,
        f"`{name}` must be Hermitian.",
        lambda: (
            f"max |K − K†| = {float(herm_err):.3g} (tolerance {_HERMITIAN_RTOL:g} relative to "
            f"max |K| = {float(scale):.3g})."
        ),
    )
    lowest = jnp.min(_linalg.eigvalsh(herm))
    herm = check(
        herm,
        lowest < -_PSD_RTOL * scale,
        f"`{name}` must be positive semidefinite.",
        lambda: (
            f"It is a bath correlation matrix; its smallest eigenvalue is {float(lowest):.3g}. "
            "For a physical bath |K_ij|² ≤ K_ii K_jj, e.g. |η| ≤ 1 in [[1, η], [η, 1]]."
        ),
    )
    return herm


_SQRT_RANK_FACTOR = 100  # K's eigenvalues ≤ 100·m·eps·max|λ| count as 0 in K^{1/2}


def correlated_dissipator_jumps(matrix, ops) -> Array:
    r"""Jump operators of the correlated dissipator D_K.

    D_K[ρ] = Σ_ij K_ij (A_j ρ A_i† − ½{A_i†A_j, ρ}) = Σ_m D[L_m]ρ  with  L_m = Σ_j (K^{1/2})_mj A_j.

    **Arguments:**

    - ``matrix``: the m × m Kossakowski matrix K (Hermitian, positive semidefinite; rates folded
      in). A non-Hermitian or non-PSD K raises ``ValueError`` (``EquinoxRuntimeError`` under
      ``jit``).
    - ``ops``: the m system operators A_j, a list or an ``(m, n, n)`` array.

    **Returns:** an ``(m, n, n)`` complex array of jump operators (for ``qdiss.Lindbladian``).
    Differentiable in every entry of K (through its Hermitian part) and of the A_j, also at
    degenerate K (see the module docstring).
    """
    ops = _stack_ops(ops, "ops")
    herm = _check_matrix(matrix, ops.shape[0])
    dtype = complex_dtype(herm, ops)
    root = psd_sqrt(herm, _SQRT_RANK_FACTOR).astype(dtype)
    return jnp.einsum("mj,jab->mab", root, ops.astype(dtype))


def kossakowski_matrix(coefficients) -> Array:
    r"""The Kossakowski matrix of jump operators given as combinations of system operators.

    For L_k = Σ_j C_kj A_j (``coefficients`` C of shape (k, m)), Σ_k D[L_k] = D_K with K = C†C.
    """
    c = jnp.asarray(coefficients)
    if c.ndim != 2:
        raise ValueError(f"`coefficients` must be a (k, m) matrix; got shape {c.shape}.")
    return c.conj().T @ c


def two_mode_squeezed_kossakowski(kappa, r, phi) -> Array:
    r"""Kossakowski matrix of the entangled (two-mode squeezed) bath of two resonators a, b.

    Coppo et al. (:mod:`qdiss.models.kerr`): L₁ = √κ (cosh r · a − e^{iφ} sinh r · b†),
    L₂ = √κ (cosh r · b − e^{iφ} sinh r · a†). Over the operators (a, b, a†, b†) this is D_K with
    the rank-2 matrix K = C†C,

        C = √κ [[cosh r, 0, 0, −e^{iφ} sinh r], [0, cosh r, −e^{iφ} sinh r, 0]].

    Locally each resonator sees a thermal bath with n = sinh² r.
    """
    kappa, r, phi = (jnp.asarray(x) for x in (kappa, r, phi))
    dtype = complex_dtype(kappa, r, phi)
    c, s = jnp.cosh(r).astype(dtype), jnp.sinh(r).astype(dtype)
    cross = -jnp.exp(1j * phi.astype(dtype)) * s
    zero = jnp.zeros((), dtype)
    coeffs = jnp.stack(
        [jnp.stack([c, zero, zero, cross]), jnp.stack([zero, c, cross, zero])]
    ) * jnp.sqrt(kappa).astype(dtype)
    return kossakowski_matrix(coeffs)


def bose_occupation(frequency, temperature, chemical_potential=0.0) -> Array:
    r"""n = 1 / (e^{(ω − μ)/T} − 1); requires T > 0 and μ < ω (so that n > 0).

    Violations raise ``ValueError`` (``EquinoxRuntimeError`` under ``jit``).
    """
    w, t, mu = (jnp.asarray(x) for x in (frequency, temperature, chemical_potential))
    n = 1.0 / jnp.expm1((w - mu) / t)
    n = check(n, t <= 0, "`temperature` must be positive.", lambda: f"Got {np.asarray(t)}.")
    n = check(
        n,
        mu >= w,
        "`chemical_potential` must be below `frequency` (μ < ω) for a positive Bose occupation.",
        lambda: f"Got μ = {np.asarray(mu)}, ω = {np.asarray(w)}.",
    )
    return n


def thermal_bath_jumps(
    matrix,
    lowering_ops,
    rate,
    *,
    occupation=None,
    temperature=None,
    frequency=None,
    chemical_potential=None,
) -> Array:
    r"""Jump operators of one correlated thermal bath channel (arXiv:2508.18131).

    Σ_ij K_ij [Γ↓ (A_j ρ A_i† − ½{A_i†A_j, ρ}) + Γ↑ (A_j† ρ A_i − ½{A_i A_j†, ρ})],
    Γ↓ = Γ(1 + n), Γ↑ = Γ n, with A_j the ``lowering_ops`` (e.g. σ⁻_j) and either the occupation
    n given directly or n = 1/(e^{(ω−μ)/T} − 1) from ``temperature`` T, ``frequency`` ω and
    ``chemical_potential`` μ (default 0; μ < ω required).

    **Returns:** ``(2m, n, n)``: the m down-jumps √Γ↓ Σ_j (K^{1/2})_mj A_j, then the m up-jumps
    √Γ↑ Σ_j (K^{1/2})_mj A_j†. Concatenate channels with ``jnp.concatenate``. Gradients reach K,
    Γ, n, T, ω and μ (the up-jumps are not differentiable at n = 0 exactly, where √n is not).
    """
    if occupation is None:
        if temperature is None or frequency is None:
            raise ValueError(
                "Give either `occupation` or both `temperature` and `frequency` (and optionally "
                "`chemical_potential`)."
            )
        mu = 0.0 if chemical_potential is None else chemical_potential
        occupation = bose_occupation(frequency, temperature, mu)
    elif temperature is not None or frequency is not None or chemical_potential is not None:
        raise ValueError(
            "Give either `occupation` or `temperature`/`frequency`/`chemical_potential`, not both."
        )
    n = jnp.asarray(occupation)
    rate = jnp.asarray(rate)
    if n.ndim or rate.ndim:
        raise ValueError("`rate` and the occupation must be scalars (one call per channel).")
    n = check(
        n,
        (n < 0) | (rate < 0),
        "`rate` and `occupation` must be ≥ 0.",
        lambda: f"Got {float(rate)}, {float(n)}.",
    )
    lowering = _stack_ops(lowering_ops, "lowering_ops")
    raising = lowering.conj().swapaxes(-1, -2)
    herm = _check_matrix(matrix, lowering.shape[0])
    dtype = complex_dtype(herm, lowering, n, rate)
    root = psd_sqrt(herm, _SQRT_RANK_FACTOR).astype(dtype)
    down = jnp.einsum("mj,jab->mab", root, lowering.astype(dtype))
    up = jnp.einsum("mj,jab->mab", root, raising.astype(dtype))
    g_down = jnp.sqrt(rate * (1 + n)).astype(dtype)
    g_up = jnp.sqrt(rate * n).astype(dtype)
    return jnp.concatenate([g_down * down, g_up * up])
