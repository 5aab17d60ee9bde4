r"""The sweep preconditioner of permutation-invariant Lindbladians.

Write L = L₀ + L₁, where L₀ keeps every term that preserves m − m' (the dissipators, local and
collective, and the m-diagonal part of H) and L₁ is the rest of H (its J_x, J_y parts, which
change m). In the layout of ``lindbladian.py`` the terms of L₀ read an element (b, p, q) from

- (b, p, q) itself (the diagonal D: the m-diagonal of H_eff and the j → j dephasing terms),
- (b ± 1, p, q) (dephasing j → j ± 1: tridiagonal in b for fixed (p, q), written T),
- (b + δb, p − 1, q − 1) (emission-like terms, m → m − 1: the *lower* part Lo),
- (b + δb, p + 1, q + 1) (pumping-like terms, m → m + 1: the *upper* part Up).

So L₀ − σ is block tridiagonal in the row index p, with tridiagonal blocks in b. The
preconditioner is one symmetric block Gauss–Seidel step on it,

    P = (D + T + Lo) (D + T)⁻¹ (D + T + Up),
    P⁻¹y: x½ = (D + T + Lo)⁻¹ y  (forward sweep over p),  x = (D + T + Up)⁻¹ (y − Lo x½)
          (backward sweep),

each sweep a scan over the N + 1 rows with one batched tridiagonal solve per row: O(N³) per
application, no setup beyond the term weights. It is the exact inverse of L₀ − σ when only one of
Lo, Up is present (emission and dephasing without pumping, or the reverse), which makes GMRES
converge in a number of iterations that does not grow with N for U(1)-symmetric-dominated
problems (measured: ≈ 25 at N = 20 … 100 for the all-to-all XYZ model with local decay).
σ = ``shift``·max K keeps it nonsingular (the steady state is a zero mode of L₀ when L₁ = 0);
padding entries get P = s·I, as the deflated operator has.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.lax.linalg import tridiagonal_solve
from jaxtyping import Array

from .._abstract import AbstractLindbladian
from ._terms import _apply_terms, _shift, _Term

__all__ = ["SweepPreconditioner"]


def _outer(term: _Term) -> Array:
    return term.left[:, :, None] * term.right[:, None, :]


def _rows(x: Array) -> Array:
    """(B, D_p, D_q) → (D_p, D_q, B): the sweep layout (a row p is a (D_q, B) slice)."""
    return jnp.moveaxis(x, 0, -1)


def _blocks(x: Array) -> Array:
    """Inverse of :func:`_rows`."""
    return jnp.moveaxis(x, -1, 0)


class SweepPreconditioner(eqx.Module):
    """P and P⁻¹ of the module docstring on ``(B, D, D)`` states (no gradient flows through).

    The sweeps work in the layout ``(D_p, D_q, B)``. Two switches (``lax.cond``, so both
    branches run under ``vmap``, where they cost little extra) skip work that would change
    nothing: the tridiagonal solves when T = 0 (no local dephasing: D + T is diagonal; a switch
    inside the row step, so that each sweep appears once in the program) and the backward sweep
    when Up = 0 (no pumping: the forward sweep is then exact).
    """

    diagonal: Array  # D − σ, and s on padding: (D_p, D_q, B)
    below: Array  # T's coefficient of x[b − 1]
    above: Array  # T's coefficient of x[b + 1]
    lower: list[_Term]
    upper: list[_Term]
    coupled: Array  # T ≠ 0
    pumped: Array  # Up ≠ 0

    @classmethod
    def build(
        cls, lindbladian: AbstractLindbladian, shift: float, padding_scale: Array
    ) -> SweepPreconditioner:
        lindbladian = jax.lax.stop_gradient(lindbladian)
        dtype = lindbladian.dtype
        zero = jnp.zeros(lindbladian.state_shape, dtype)
        diagonal, below, above = zero, zero, zero
        lower, upper = [], []
        for term in lindbladian.terms():
            db, dp, dq = term.shift
            if (dp, dq) == (0, 0):
                if db == 0:
                    diagonal = diagonal + _outer(term)
                elif db == -1:
                    below = below + _outer(term)
                elif db == 1:
                    above = above + _outer(term)
                else:  # pragma: no cover - no such terms in this Lindbladian
                    raise ValueError(f"unexpected term shift {term.shift}")
            elif dp == dq == -1:
                lower.append(term)
            elif dp == dq == 1:
                upper.append(term)
            # anything else changes m − m' (the J_x, J_y parts of H): left out of L₀
        sigma = shift * jnp.maximum(jnp.max(lindbladian.loss_diagonal()), jnp.finfo(dtype).tiny)
        padding = lindbladian.space.padding_array()
        scale = jax.lax.stop_gradient(padding_scale).astype(dtype)
        diagonal = jnp.where(padding, scale, diagonal - sigma.astype(dtype))
        below = jnp.where(padding, 0, below)
        above = jnp.where(padding, 0, above)
        coupled = jnp.any(below != 0) | jnp.any(above != 0)
        pumped = jnp.zeros((), bool)
        for term in upper:
            pumped = pumped | (jnp.any(term.left != 0) & jnp.any(term.right != 0))
        return cls(_rows(diagonal), _rows(below), _rows(above), lower, upper, coupled, pumped)

    def _solve_tridiagonal(self, rhs: Array, index=slice(None)) -> Array:
        """(D + T)⁻¹ on rows ``index`` of ``rhs`` given as (…, D_q, B): a tridiagonal system in b
        for every (p, q)."""
        d, dl, du = self.diagonal[index], self.below[index], self.above[index]
        return tridiagonal_solve(dl, d, du, rhs[..., None])[..., 0]

    def _tridiagonal(self, x: Array) -> Array:
        """(D + T) x on (B, D, D) arrays."""
        return (
            _blocks(self.diagonal) * x
            + _blocks(self.below) * _shift(x, (-1, 0, 0))
            + _blocks(self.above) * _shift(x, (1, 0, 0))
        )

    def _sweep(self, rhs: Array, terms: list[_Term], forward: bool) -> Array:
        """Solve (D + T + R) x = rhs (sweep layout) for R = Lo (forward) or Up (backward) by a
        scan over rows: row p needs only the finished row p − 1 (Lo) or p + 1 (Up)."""
        step = -1 if forward else 1
        lefts = [t.left.T for t in terms]  # (D_p, B)
        rights = [t.right.T for t in terms]  # (D_q, B)

        def body(previous, row):
            r, index, left_rows = row
            for term, left, right in zip(terms, left_rows, rights, strict=True):
                # X[b + δb, p ∓ 1, q ∓ 1] is previous[q ∓ 1, b + δb]
                r = r - left[None, :] * _shift(previous, (step, term.shift[0])) * right
            x = jax.lax.cond(
                self.coupled,
                lambda r: self._solve_tridiagonal(r, index),
                lambda r: r / self.diagonal[index],
                r,
            )
            return x, x

        rows = (rhs, jnp.arange(rhs.shape[0]), lefts)
        _, xs = jax.lax.scan(body, jnp.zeros_like(rhs[0]), rows, reverse=not forward)
        return xs

    def _symmetric_gauss_seidel(self, y: Array) -> Array:
        half = self._sweep(y, self.lower, forward=True)

        def backward(half):
            rhs = y - _rows(_apply_terms(self.lower, _blocks(half))) if self.lower else y
            return self._sweep(rhs, self.upper, forward=False)

        return jax.lax.cond(self.pumped, backward, lambda half: half, half)

    def apply_inverse(self, y: Array) -> Array:
        """P⁻¹ y by the forward and backward sweeps (each written once in the program: the
        switch between the tridiagonal solve and a division is made row by row)."""
        return _blocks(self._symmetric_gauss_seidel(_rows(y)))

    def apply(self, x: Array) -> Array:
        """P x = (D + T + Lo)(D + T)⁻¹(D + T + Up) x (for warm starts)."""
        z = self._tridiagonal(x)
        if self.upper:
            z = z + _apply_terms(self.upper, x)
        z = _blocks(self._solve_tridiagonal(_rows(z)))
        out = self._tridiagonal(z)
        if self.lower:
            out = out + _apply_terms(self.lower, z)
        return out
