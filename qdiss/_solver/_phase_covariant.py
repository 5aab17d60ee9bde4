r"""The diagonal-preserving ("phase-covariant") part of the deflated operator, inverted exactly.

Write ρ by its diagonals: x_d = (ρ_{a,a+d})_a, d = −(n−1), …, n−1 (n − |d| entries each). P is the
part of the deflated operator A(ρ) = L(ρ) + s·tr(ρ)·E that maps each diagonal to itself:

    P(ρ)_{a,a+d} = −i(η_a − η̄_{a+d}) ρ_{a,a+d} + Σ_k Σ_j (L_k)_{a,j} conj((L_k)_{a+d,j+d}) ρ_{j,j+d}
                   + δ_{d0} s·E_aa Σ_j W_jj ρ_jj − σ ρ_{a,a+d},

with η_a = (H_eff)_aa = H_aa − (i/2)(Σ_k L_k†L_k)_aa, W the trace weights and σ = ``shift``·(largest
decay rate −2 Im η_a). So P = ⊕_d (M_d − σ): one (n−|d|)×(n−|d|) block per diagonal, inverted once
(O(n⁴) in all, a batched inverse of 2n − 1 padded n×n blocks) and applied as one batched
matrix–vector product (O(n³), like one application of L; plain XLA: jit, vmap, GPU).

Unlike the eigenbasis-diagonal preconditioners (``_preconditioner.py``) P keeps the recycling term
Σ_k L_k ρ L_k† (its diagonal-preserving part), which dominates for a hot bath. P = A exactly (up to
σ) when L is phase covariant, i.e. commutes with the rotation ρ ↦ e^{−iθN}ρe^{iθN} of the Fock
number N: a Hamiltonian diagonal in the Fock basis (detuning, Kerr) and jumps that change the
photon number by a fixed amount (a, a†, a², a†a: thermal baths, two-photon loss, dephasing; then
each M_d is banded: tridiagonal for a and a†). What it neglects is the rest: drives (a + a†),
squeezing (a² + a†²), off-diagonal Hamiltonian terms.

For a dense Lindbladian (a ``(n, n)`` state without padding, with ``H`` and ``jump_ops``); the
basis is the one the Lindbladian is written in (for one oscillator: Fock). Memory (2n − 1)·n²
entries, so for one mode or a few hundred levels at most. No gradient flows through P.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _linalg
from ._abstract_preconditioner import AbstractPreconditioner

__all__ = ["PhaseCovariant", "PhaseCovariantPreconditioner"]


class PhaseCovariant(AbstractPreconditioner):
    r"""P⁻¹ = ⊕_d (M_d − σ)⁻¹, the exact inverse of the diagonal-preserving part of A (module
    docstring)."""

    def build(self, problem, shift: float):
        return PhaseCovariantPreconditioner.build(problem, shift)


def _diagonal_indices(n: int):
    """(rows, cols, valid) of shape (2n − 1, n): entry (d + n − 1, a) is ρ_{a, a+d}."""
    d = np.arange(-(n - 1), n)[:, None]
    a = np.arange(n)[None, :]
    cols = a + d
    valid = (cols >= 0) & (cols < n)
    return np.broadcast_to(a, cols.shape), np.clip(cols, 0, n - 1), valid


class PhaseCovariantPreconditioner(eqx.Module):
    """The built P of :class:`PhaseCovariant`: ``inverse`` holds (M_d − σ)⁻¹ for each diagonal,
    padded to n×n (identity on the padding); ``apply_inverse`` gathers the diagonals of Y,
    multiplies and scatters back (gathers only: linear and transposable); ``apply`` is P."""

    blocks: Array  # (2n − 1, n, n): M_d − σ
    inverse: Array  # (2n − 1, n, n)

    @classmethod
    def build(cls, problem, shift: float) -> PhaseCovariantPreconditioner:
        lindbladian = jax.lax.stop_gradient(problem.lindbladian)
        n = lindbladian.state_shape[-1]
        if tuple(lindbladian.state_shape) != (n, n) or lindbladian.padding_mask() is not None:
            raise ValueError(
                "The 'phase' preconditioner needs a dense Lindbladian (an (n, n) state); got "
                f"state shape {tuple(lindbladian.state_shape)}."
            )
        jump_ops = getattr(lindbladian, "jump_ops", None)
        if jump_ops is None:
            raise ValueError("The 'phase' preconditioner needs a Lindbladian with `jump_ops`.")
        dtype = lindbladian.dtype
        eta = jnp.diagonal(lindbladian.effective_hamiltonian()).astype(dtype)
        rates = -2 * jnp.imag(eta)
        sigma = shift * jnp.maximum(jnp.max(rates), jnp.finfo(dtype).tiny)
        scale = jax.lax.stop_gradient(problem.scale).astype(dtype)
        e = jnp.asarray(np.diagonal(lindbladian.identity_state()), dtype)
        w = jnp.asarray(np.diagonal(lindbladian.trace_weights()), dtype)
        _, cols, valid = _diagonal_indices(n)
        eye = jnp.eye(n, dtype=dtype)

        def block(index):  # M_d − σ for d = index − (n − 1), padded with the identity
            c, ok = jnp.asarray(cols)[index], jnp.asarray(valid)[index]
            shifted = jump_ops[:, c[:, None], c[None, :]]  # (L_k)_{a+d, j+d}
            recycling = jnp.einsum("kaj,kaj->aj", jump_ops, shifted.conj())
            diag = -1j * (eta - eta[c].conj()) - sigma.astype(dtype)
            m = recycling + jnp.diag(diag)
            m = m + jnp.where(index == n - 1, scale, 0).astype(dtype) * jnp.outer(e, w)
            both = ok[:, None] & ok[None, :]
            return jnp.where(both, m, eye)

        blocks = jax.lax.map(block, jnp.arange(2 * n - 1))
        return cls(blocks, _linalg.inv(blocks))

    def _diagonals(self, rho: Array) -> Array:
        rows, cols, valid = _diagonal_indices(rho.shape[-1])
        return jnp.where(valid, rho[rows, cols], 0)

    def _matrix(self, x: Array) -> Array:
        """The inverse of :meth:`_diagonals`: entry (a, b) of the state is x[b − a + n − 1, a]."""
        n = x.shape[-1]
        a = np.arange(n)[:, None]
        b = np.arange(n)[None, :]
        return x[b - a + n - 1, np.broadcast_to(a, (n, n))]

    def apply_inverse(self, y: Array) -> Array:
        """P⁻¹(Y): x_d = (M_d − σ)⁻¹ y_d on every diagonal."""
        return self._matrix(jnp.einsum("dij,dj->di", self.inverse, self._diagonals(y)))

    def apply(self, rho: Array) -> Array:
        """P(ρ)."""
        return self._matrix(jnp.einsum("dij,dj->di", self.blocks, self._diagonals(rho)))
