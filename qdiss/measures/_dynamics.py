r"""Spectral figures of merit of a Lindbladian: its spectrum and the Liouvillian gap.

Both diagonalise the dense ``n² × n²`` superoperator with ``jnp.linalg.eig`` (O(n⁶) time,
O(n⁴) memory): for small systems, n ≲ 30. ``jnp.linalg.eig`` runs on CPU; on CUDA GPUs JAX
lowers it to cuSOLVER's ``geev`` (cuSOLVER ≥ 11.7.1) or to a hybrid kernel that runs LAPACK on
the host; it is not available on TPU.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array

from .. import _linalg
from .._lindbladian import AbstractLindbladian
from .._low_spectrum import low_lying_spectrum

__all__ = ["liouvillian_gap", "liouvillian_spectrum"]

# ``liouvillian_gap(method="auto")`` diagonalises densely up to this many unknowns.
_DENSE_MAX_UNKNOWNS = 1024


def _superoperator(lindbladian) -> Array:
    if isinstance(lindbladian, AbstractLindbladian):
        return lindbladian.superoperator()
    s = jnp.asarray(lindbladian)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise TypeError(
            "`lindbladian` must be a qdiss Lindbladian or a square (n², n²) superoperator; "
            f"got {type(lindbladian).__name__} of shape {getattr(s, 'shape', None)}."
        )
    return s


def liouvillian_spectrum(lindbladian) -> Array:
    r"""All eigenvalues of the Liouvillian superoperator, sorted by decreasing real part.

    ``lindbladian``: a :class:`qdiss.Lindbladian` (its ``superoperator()``, dense) or a dense
    ``(n², n²)`` array. Eigenvalues of a Lindbladian have ``Re λ ≤ 0``; the steady state(s) are
    the eigenvalue(s) 0. Differentiable through ``jnp.linalg.eig``'s eigenvalue rule
    (``dλ = (V⁻¹ dL V)_ii``) when ``L`` is diagonalisable; not at exceptional points.
    """
    lam = _linalg.eigvals_differentiable(_superoperator(lindbladian))
    return lam[jnp.argsort(-jnp.real(lam))]


def liouvillian_gap(lindbladian, *, method: str = "auto", num_modes: int = 6) -> Array:
    r"""Liouvillian gap, the slowest relaxation rate: ``Δ = −max Re λ`` over the eigenvalues λ of
    the superoperator other than the steady state's 0.

    The zero eigenvalue is identified as the one closest to 0 in absolute value and dropped
    (exactly one, so a non-unique steady state — a second zero eigenvalue — gives Δ ≈ 0).
    Example: a damped qubit, ``L = √γ σ⁻``, has populations relaxing at γ and coherences at γ/2,
    so Δ = γ/2; with thermal rates γ(n̄+1) down and γn̄ up, Δ = γ(2n̄+1)/2.

    Dense diagonalisation, for small n (see the module docstring for devices). The gradient
    is that of one eigenvalue's real part (``jnp.linalg.eig``'s eigenvalue rule): correct where
    the slowest mode is not defective; complex-conjugate pairs share the real part, so ties
    between them are harmless. At an exact crossing of different modes (a kink of Δ) it is the
    gradient of one crossing branch, a one-sided derivative (an average of the branches at an
    exact floating-point tie); at an exceptional point, where the slowest mode is defective and Δ
    has a square-root branch point (e.g. a qubit driven at Ω = κ with dephasing ``√κ σ^z``), Δ is
    accurate only to ~√eps relative and the gradient is finite but meaningless (large, up to
    order 1/√eps), except along directions that keep the defect, such as rescaling L.

    ``method``: ``"dense"`` (the above: every eigenvalue of the dense superoperator), ``"arnoldi"``
    (shift-invert Arnoldi, :func:`qdiss.low_lying_spectrum`: Δ among the ``num_modes``
    eigenvalues closest to 0, for large systems and every representation; its gradient is
    dλ = ⟨l, dL(r)⟩/⟨l, r⟩; NaN when a mode did not converge), or ``"auto"`` (the default:
    ``"dense"`` for a superoperator matrix and up to 1024 unknowns (n ≤ 32 for a dense state),
    ``"arnoldi"`` above). The Arnoldi gap is the gap among the modes found: it misses a slow
    mode farther from 0 than the ``num_modes`` closest (a weakly damped fast oscillation).
    """
    if method not in ("auto", "dense", "arnoldi"):
        raise ValueError(f"`method` must be 'auto', 'dense' or 'arnoldi'; got {method!r}.")
    is_lindbladian = isinstance(lindbladian, AbstractLindbladian)
    if method == "auto":
        large = is_lindbladian and lindbladian.physical_indices().size > _DENSE_MAX_UNKNOWNS
        method = "arnoldi" if large else "dense"
    if method == "arnoldi":
        if not is_lindbladian:
            raise TypeError("`method='arnoldi'` needs a qdiss Lindbladian, not a matrix.")
        return low_lying_spectrum(lindbladian, num_modes).gap()
    lam = _linalg.eigvals_differentiable(_superoperator(lindbladian))
    zero = jnp.argmin(jnp.abs(lam))
    rates = jnp.where(jnp.arange(lam.shape[0]) == zero, -jnp.inf, jnp.real(lam))
    return -jnp.max(rates)
