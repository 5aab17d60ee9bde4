r"""Entanglement measures and witnesses: concurrence and Wootters' unclipped margin, negativity,
logarithmic negativity, the PPT test, entangled fractions and GHZ fidelity.

Non-smooth points (zero concurrence, zero eigenvalues, degenerate spectra) follow the rules in
:mod:`qdiss.measures._states`: gradients are finite everywhere, exact wherever the measure is
differentiable, and at a kink of ``max(0, ·)`` the zero branch's derivative (0) is taken.

Qubit basis: ``|0⟩ = |↑⟩ = |e⟩``, ``|1⟩ = |↓⟩ = |g⟩`` (``σ^z = diag(1, −1)``); the measures here
do not depend on that choice except through the named target states ``|Φ⁺⟩`` and ``|GHZ⟩``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _linalg
from .._numerics import psd_sqrt
from ._states import (
    _bipartite_dims,
    _check_square,
    _common_dtype,
    _rank_tol,
    _real_trace,
    _svdvals,
    partial_transpose,
)

__all__ = [
    "concurrence",
    "concurrence_margin",
    "fully_entangled_fraction",
    "ghz_fidelity",
    "is_ppt",
    "log_negativity",
    "negativity",
    "phi_plus_fraction",
]

# σ^y ⊗ σ^y (real): the spin flip ρ̃ = (σ^y⊗σ^y) ρ* (σ^y⊗σ^y).
_SIGMA_Y_SIGMA_Y = np.array([[0, 0, 0, -1], [0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0]], float)

# Magic basis (Hill & Wootters 1997), as columns: e₁ = |Φ⁺⟩, e₂ = i|Φ⁻⟩, e₃ = i|Ψ⁺⟩, e₄ = |Ψ⁻⟩.
_MAGIC = np.array(
    [[1, 1j, 0, 0], [0, 0, 1j, 1], [0, 0, 1j, -1], [1, -1j, 0, 0]], complex
) / np.sqrt(2)


def _check_two_qubits(rho: Array) -> Array:
    rho = _check_square(rho)
    if rho.shape != (4, 4):
        raise ValueError(f"`rho` must be a two-qubit density matrix (4, 4); got {rho.shape}.")
    return rho


def concurrence_margin(rho: Array) -> Array:
    r"""Wootters' margin of a two-qubit state, unclipped:

        S(ρ) = λ₁ − λ₂ − λ₃ − λ₄,

    ``λ₁ ≥ … ≥ λ₄`` the eigenvalues of ``R = √(√ρ ρ̃ √ρ)``, ``ρ̃ = (σ^y⊗σ^y) ρ* (σ^y⊗σ^y)``
    (W. K. Wootters, PRL 80, 2245 (1998)). The concurrence is ``C = max(0, S)``
    (:func:`concurrence`), so ``S = C`` wherever ``C > 0``; at a separable state ``S ≤ 0`` and,
    unlike ``C`` (flat at 0 there), ``S`` still has a gradient, which is why it is the objective
    to optimise from a separable start. Closed forms: the Werner state
    ``p|Ψ⁻⟩⟨Ψ⁻| + (1−p)I/4`` gives ``S = (3p−1)/2`` for every ``p`` (negative for ``p < 1/3``);
    a pure state ``a|00⟩ + b|11⟩`` gives ``S = C = 2|ab|`` (0 for a product state); ``I/4``
    gives ``−½``.

    The λᵢ are the singular values of ``√ρ̃ √ρ = (σ^y⊗σ^y) √ρ* (σ^y⊗σ^y) √ρ``
    (``R² = (√ρ̃√ρ)†(√ρ̃√ρ)``). Gradient: singular values without singular-vector derivatives
    (``dλᵢ = Re(aᵢ† dX bᵢ)``), ``√ρ`` by the gap-free rule of :mod:`qdiss.measures._states`;
    exact wherever ρ has full rank or moves at fixed rank, finite everywhere (the rank-deficient
    caveat of :func:`concurrence` applies).
    """
    rho = _check_two_qubits(rho)
    flip = jnp.asarray(_SIGMA_Y_SIGMA_Y, dtype=rho.dtype)
    sqrt_rho = psd_sqrt(rho)
    lam = _svdvals(flip @ sqrt_rho.conj() @ flip @ sqrt_rho)  # descending
    return lam[0] - lam[1] - lam[2] - lam[3]


def concurrence(rho: Array) -> Array:
    r"""Wootters concurrence of a two-qubit state,

        C(ρ) = max(0, λ₁ − λ₂ − λ₃ − λ₄) = max(0, S(ρ)),

    ``λ₁ ≥ … ≥ λ₄`` the eigenvalues of ``R = √(√ρ ρ̃ √ρ)``, ``ρ̃ = (σ^y⊗σ^y) ρ* (σ^y⊗σ^y)``
    (W. K. Wootters, PRL 80, 2245 (1998)); ``S`` is :func:`concurrence_margin`. General (not
    only X states); Bell states give 1, separable states 0, the Werner state
    ``p|Ψ⁻⟩⟨Ψ⁻| + (1−p)I/4`` gives ``max(0, (3p−1)/2)``.

    The λᵢ are computed as the singular values of ``√ρ̃ √ρ = (σ^y⊗σ^y) √ρ* (σ^y⊗σ^y) √ρ``
    (``R² = (√ρ̃√ρ)†(√ρ̃√ρ)``), which avoids the square root of rounding noise: Bell states give
    exactly 1 up to rounding. Gradient: singular values are differentiated without
    singular-vector derivatives (``dλᵢ = Re(aᵢ† dX bᵢ)``, no 1/λ, no gaps), ``√ρ`` by the
    gap-free rule of :mod:`qdiss.measures._states`; where ``λ₁ − λ₂ − λ₃ − λ₄ ≤ 10·n·eps·tr ρ``
    (``C = 0`` up to rounding, including the kink) the value and the gradient are 0. So the
    gradient is finite for separable, pure, degenerate and Bell states alike. It is exact
    wherever ρ has full rank or moves at fixed rank (e.g. pure-state families). At a
    rank-deficient entangled state C is not differentiable in directions that populate the
    kernel of ρ (its one-sided slope there is not linear in the direction); the gradient then
    omits the kernel–kernel contribution — e.g. at a Bell state along the Werner family it gives
    3/4 where the one-sided slope is 3/2.
    """
    x = concurrence_margin(rho)
    return jnp.where(x > 10 * _rank_tol(_real_trace(rho), 4, x.dtype), x, 0.0)


def negativity(rho: Array, dims: tuple[int, ...] | None = None, sys=0) -> Array:
    r"""Negativity ``N(ρ) = (‖ρ^{T_A}‖₁ − tr ρ)/2 = Σ_{λ<0} |λ|``, ``λ`` the eigenvalues of the
    partial transpose over the subsystems ``A = sys`` (an int or a tuple; the rest is ``B``).

    Any dimensions: ``dims`` static (default ``(d, d)`` when ``n = d²``). Transposing ``A`` or
    ``B`` gives the same value. Bell states give ½; a maximally entangled ``d⊗d`` state gives
    ``(d−1)/2``.

    Round-off: an eigenvalue ``−tol ≤ λ < 0``, ``tol = 10·n·eps·|tr ρ|`` (≈ 1e-14 for
    ``n = 6`` in float64), counts as exactly 0 (rule 1 of :mod:`qdiss.measures._states`), so a
    separable or PPT state gives exactly 0, not rounding noise. Gradient:
    ``dN = −Σ_{λ<−tol} ⟨uλ|dρ^{T_A}|uλ⟩``, gap-free at degenerate eigenvalues; an eigenvalue at or
    above ``−tol`` contributes 0 to the value and to the derivative (the zero branch of
    ``max(0, −λ)``, as at the kink), so the gradient is 0 at PPT states.
    """
    rho = _check_square(rho)
    dims = _bipartite_dims(rho, dims)
    w = _linalg.eigvalsh_differentiable(partial_transpose(rho, dims, sys))
    tol = 10 * _rank_tol(_real_trace(rho), rho.shape[0], w.dtype)
    return jnp.sum(jnp.where(w < -tol, -w, 0.0))


def log_negativity(rho: Array, dims: tuple[int, ...] | None = None, sys=0) -> Array:
    r"""Logarithmic negativity ``E_N(ρ) = log₂ ‖ρ^{T_A}‖₁ = log₂(tr ρ + 2N(ρ))`` (base 2: a Bell
    pair gives 1, a maximally entangled ``d⊗d`` state ``log₂ d``). Arguments as in
    :func:`negativity`.

    Round-off: where ``|E_N| ≤ 10·n·eps`` (a PPT state whose trace is 1 up to rounding, e.g. a
    solver's steady state with ``tr ρ = 1 − 2e-16``) the value is exactly 0 instead of
    ``log₂ tr ρ ≈ ±1e-16``. The derivative is not clipped: it is that of ``log₂(tr ρ + 2N)``,
    ``dE_N = (d tr ρ + 2 dN)/((tr ρ + 2N) ln 2)``, everywhere; at a PPT state that is
    ``tr(dρ)/ln 2`` (gradient ``I/ln 2`` with respect to ρ), which vanishes along every
    trace-preserving direction, such as a steady state's derivative with respect to a parameter.
    """
    rho = _check_square(rho)
    e = jnp.log2(_real_trace(rho) + 2 * negativity(rho, dims, sys))
    tol = 10 * rho.shape[0] * jnp.finfo(e.dtype).eps
    # e − stop_gradient(e) is exactly 0 with the derivative of e (see the docstring).
    return jnp.where(jnp.abs(e) <= tol, e - jax.lax.stop_gradient(e), e)


def is_ppt(rho: Array, dims: tuple[int, ...] | None = None, sys=0, atol=None) -> Array:
    r"""Whether ``ρ^{T_A}`` is positive semidefinite up to ``atol``: ``min λ(ρ^{T_A}) ≥ −atol``.

    Returns a boolean array (works under ``jit``/``vmap``). PPT is necessary for separability
    and sufficient for ``2⊗2`` and ``2⊗3`` (Peres–Horodecki). ``atol`` defaults to
    ``1000·n·eps·tr ρ`` (≈ 1e-12 for two qubits in float64); raise it for states from a solver
    with a looser residual. Arguments as in :func:`negativity`.
    """
    rho = _check_square(rho)
    dims = _bipartite_dims(rho, dims)
    w = _linalg.eigvalsh_differentiable(partial_transpose(rho, dims, sys))
    if atol is None:
        atol = 1000 * _rank_tol(_real_trace(rho), rho.shape[0], w.dtype)
    return w[0] >= -atol


def phi_plus_fraction(rho: Array, dims: tuple[int, ...] | None = None) -> Array:
    r"""Overlap with the maximally entangled state, ``F = ⟨Φ⁺|ρ|Φ⁺⟩ = (1/d) Σᵢⱼ ρ_{ii,jj}``,
    ``|Φ⁺⟩ = Σᵢ |ii⟩/√d``, for ``d⊗d`` states (``dims = (d, d)``, default from ``n = d²``).

    This is the "fully entangled fraction" of Hsieh, Lostaglio & Acín (arXiv:1904.07945) that
    the isotropic twirl preserves; it is basis-dependent and a lower bound on the true fully
    entangled fraction ``max_U ⟨Φ⁺|(U⊗I)†ρ(U⊗I)|Φ⁺⟩`` (see :func:`fully_entangled_fraction`
    for two qubits). ``F > 1/d`` witnesses entanglement. Linear in ρ.
    """
    rho = _check_square(rho)
    dims = _bipartite_dims(rho, dims)
    if len(dims) != 2 or dims[0] != dims[1]:
        raise ValueError(f"`dims` must be (d, d) for a d⊗d state; got {dims}.")
    d = dims[0]
    diag = jnp.arange(d) * (d + 1)  # the index of |ii⟩
    return jnp.real(jnp.sum(rho[diag[:, None], diag[None, :]])) / d


def fully_entangled_fraction(rho: Array) -> Array:
    r"""Fully entangled fraction of a two-qubit state, ``F = max_{|e⟩ max. entangled} ⟨e|ρ|e⟩``.

    Closed form: the largest eigenvalue of ``Re(ρ_M)``, ``ρ_M = M†ρM`` the state in the magic
    basis (columns of ``M``: ``|Φ⁺⟩, i|Φ⁻⟩, i|Ψ⁺⟩, |Ψ⁻⟩``). Every maximally entangled
    two-qubit state is, up to a global phase, a real unit vector ``r`` in that basis, and
    ``rᵀρ_M r = rᵀ Re(ρ_M) r`` (P. Badzia̧g, M. Horodecki, P. Horodecki, R. Horodecki,
    PRA 62, 012311 (2000); J. Grondalski, D. M. Etlinger, D. F. V. James, Phys. Lett. A 300, 573
    (2002)). Bell states give 1, the Werner state ``p|Ψ⁻⟩⟨Ψ⁻| + (1−p)I/4`` gives ``(1+3p)/4``;
    ``F > ½`` witnesses entanglement. Gradient ``⟨r|dρ|r⟩`` for the top eigenvector ``r``
    (a subgradient where the top eigenvalue is degenerate). For ``d > 2`` use
    :func:`phi_plus_fraction` (a lower bound).
    """
    rho = _check_two_qubits(rho)
    dtype = _common_dtype(rho, complex_=True)
    magic = jnp.asarray(_MAGIC, dtype=dtype)
    rho_magic = magic.conj().T @ rho.astype(dtype) @ magic
    return _linalg.eigvalsh_differentiable(jnp.real(rho_magic))[-1]


def ghz_fidelity(rho: Array, phase=0.0) -> Array:
    r"""Fidelity with the N-qubit GHZ state ``|GHZ⟩ = (|0…0⟩ + e^{iφ}|1…1⟩)/√2``:

        F = ⟨GHZ|ρ|GHZ⟩ = ½(ρ_{0…0,0…0} + ρ_{1…1,1…1}) + Re(e^{iφ} ρ_{0…0,1…1}).

    ``rho`` is ``(2^N, 2^N)``; ``phase`` = φ (may be traced). ``F > ½`` witnesses genuine N-partite
    entanglement (Gühne & Tóth, Phys. Rep. 474, 1 (2009)). Linear in ρ.
    """
    rho = _check_square(rho)
    n = rho.shape[0]
    if n < 2 or n & (n - 1):
        raise ValueError(f"`rho` must be an N-qubit state of size 2^N; got size {n}.")
    coherence = rho[0, n - 1]
    populations = jnp.real(rho[0, 0] + rho[n - 1, n - 1]) / 2
    phase = jnp.asarray(phase).astype(populations.dtype)
    return populations + jnp.cos(phase) * jnp.real(coherence) - jnp.sin(phase) * jnp.imag(coherence)
