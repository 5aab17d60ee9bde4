r"""``FloquetContinuedFraction``: the block-tridiagonal harmonic system of one drive harmonic
(M = 1, no jump drives), (L₀ − ikω)ρ_k + L₁ρ_{k−1} + L₋₁ρ_{k+1} (+ s·tr(ρ₀)·E at k = 0)
= s·E·δ_{k0} for |k| ≤ K, solved by two-sided block elimination, the matrix continued fraction
of QuTiP's ``steadystate_fourier``: ρ_k = S_kρ_{k−1} with S_K = −(L₀ − iKω)⁻¹L₁,
S_k = −(L₀ − ikω + L₋₁S_{k+1})⁻¹L₁ (and T_k likewise for k < 0), then the deflated effective
Liouvillian L₀ + L₋₁S₁ + L₁T₋₁ for ρ₀."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _linalg
from ._abstract import AbstractFloquetSolver, _finite
from ._system import FourierSystem

_lu_solve_matrix = _linalg._sequential(
    lambda lu, piv, b: jax.scipy.linalg.lu_solve((lu, piv), b), (2, 1, 2)
)


class _ContinuedFractionState(eqx.Module):
    up: Array  # block coupling ρ_{k+1} into row k: L₋₁
    low: Array  # block coupling ρ_{k−1} into row k: L₁
    top: tuple  # LU factors of the Schur complements Ď_k, k = K..1 (stacked, in that order)
    bottom: tuple  # k = −K..−1
    centre: tuple  # the deflated effective Liouvillian at k = 0


class FloquetContinuedFraction(AbstractFloquetSolver):
    r"""Two-sided block elimination of the block-tridiagonal system (one drive harmonic, M = 1):
    the matrix continued fraction of QuTiP's ``steadystate_fourier``, for any right-hand side.

    With D_k = L₀ − ikω (+ the deflation at k = 0), U = L₋₁ (row k, column k + 1) and
    V = L₁ (row k, column k − 1), the Schur complements are
    Ď_K = D_K, Ď_k = D_k − U Ď_{k+1}⁻¹ V (k = K−1..1), Ď_{−K} = D_{−K},
    Ď_k = D_k − V Ď_{k−1}⁻¹ U (k = −K+1..−1) and Ď₀ = D₀ − U Ď₁⁻¹V − V Ď₋₁⁻¹U;
    ρ₀ = Ď₀⁻¹(b₀ − U g₁ − V h₋₁) and outwards ρ_k = Ď_k⁻¹(r_k − Vρ_{k−1}) (k > 0),
    ρ_k = Ď_k⁻¹(r_k − Uρ_{k+1}) (k < 0), where g, h, r are the eliminated right-hand sides.
    The transposed system has the transposed complements, so its solve reuses the same LU
    factors. Cost: 2K + 1 LU factorisations and 2K solves with n² right-hand sides, O(K n⁶);
    the products with the commutator blocks act on n × n columns (O(n⁵) each)."""

    def check(self, system: FourierSystem) -> None:
        if system.drives.shape[0] != 1 or system.jump_drives is not None:
            raise ValueError(
                "`FloquetContinuedFraction` takes one drive harmonic (M = 1, a block-tridiagonal "
                f"system) and no `jump_drives`; got M = {system.drives.shape[0]}"
                f"{' and jump drives' if system.jump_drives is not None else ''}. Use "
                "`qdiss.FloquetLU()` or "
                "`qdiss.FloquetKrylov()`."
            )

    def prepare(self, system: FourierSystem):
        system = jax.lax.stop_gradient(system)
        K = system.harmonics
        p = system.block_size
        dtype = system.dtype
        base = system.problem.lindbladian.superoperator()
        eye = jnp.eye(p, dtype=dtype)
        plus, minus = system.commutator_blocks()
        low, up = plus[0], minus[0]
        h = system.drives[0]
        h_low, h_up = h, h.conj().T  # V = −i[H₁, ·], U = −i[H₁†, ·]
        omega = system.omega.astype(dtype)
        n = system.n

        def commutator_columns(hm, s):
            # (−i[H, ·] as an n² × n² matrix) @ s, column by column as n × n matrices: 2n⁵
            # operations instead of the n⁶ of the matrix product
            x = s.reshape(n, n, -1)
            out = jnp.einsum("ik,kjc->ijc", hm, x) - jnp.einsum("ikc,kj->ijc", x, hm)
            return -1j * out.reshape(n * n, -1)

        def chain(sign, h_in, couple_out):
            # Ď_k for |k| = K..1: Ď = D − couple_in Ď_prev⁻¹ couple_out
            def step(prev_factors_and_first, kk):
                lu, piv, first = prev_factors_and_first
                d = base - 1j * sign * kk.astype(dtype) * omega * eye
                s = _lu_solve_matrix(lu, piv, couple_out)
                d = d - jnp.where(first, 0, 1).astype(dtype) * commutator_columns(h_in, s)
                lu, piv = _linalg.lu_factor(d)
                return (lu, piv, jnp.array(False)), (lu, piv)

            init_lu, init_piv = _linalg.lu_factor(eye)
            ks = jnp.arange(K, 0, -1)
            (lu, piv, _), factors = jax.lax.scan(step, (init_lu, init_piv, jnp.array(True)), ks)
            return (lu, piv), factors

        # k > 0: Ď_k = D_k − U Ď_{k+1}⁻¹ V;  k < 0: Ď_k = D_k − V Ď_{k−1}⁻¹ U
        (top_lu, top_piv), top = chain(1, h_up, low)
        (bot_lu, bot_piv), bottom = chain(-1, h_low, up)
        centre = system.problem.matrix()
        centre = centre - commutator_columns(h_up, _lu_solve_matrix(top_lu, top_piv, low))
        centre = centre - commutator_columns(h_low, _lu_solve_matrix(bot_lu, bot_piv, up))
        return _ContinuedFractionState(up, low, top, bottom, _linalg.lu_factor(centre))

    @staticmethod
    def _eliminate(state: _ContinuedFractionState, b: Array, trans: int) -> Array:
        # for the transposed system: blocks Ďᵀ (LU with trans=1), U ↔ Vᵀ
        up = state.low.T if trans else state.up
        low = state.up.T if trans else state.low
        blocks = state.up.shape[0]
        b = b.reshape(-1, blocks)
        K = (b.shape[0] - 1) // 2

        def solve(factors, v):
            return _linalg.lu_solve(factors, v, trans=trans)

        def forward(couple, factors, rhs):
            # r_k = b_k − couple g_prev, g_k = Ď_k⁻¹ r_k, from the outermost harmonic inwards
            def step(g_prev, xs):
                lu, piv, bk = xs
                r = bk - couple @ g_prev
                return solve((lu, piv), r), r

            g_last, r = jax.lax.scan(step, jnp.zeros_like(rhs[0]), (*factors, rhs))
            return g_last, r

        def backward(couple, factors, r, x_centre):
            # x_k = Ď_k⁻¹(r_k − couple x_prev), from the centre outwards
            def step(x_prev, xs):
                lu, piv, rk = xs
                x = solve((lu, piv), rk - couple @ x_prev)
                return x, x

            lu, piv = factors
            _, xs = jax.lax.scan(step, x_centre, (lu[::-1], piv[::-1], r[::-1]))
            return xs

        top_rhs = b[K + 1 :][::-1]  # k = K..1
        bottom_rhs = b[:K]  # k = −K..−1
        g1, r_top = forward(up, state.top, top_rhs)
        h1, r_bottom = forward(low, state.bottom, bottom_rhs)
        x0 = solve(state.centre, b[K] - up @ g1 - low @ h1)
        x_top = backward(low, state.top, r_top, x0)  # k = 1..K
        x_bottom = backward(up, state.bottom, r_bottom, x0)  # k = −1..−K
        x = jnp.concatenate([x_bottom[::-1], x0[None], x_top])
        return x.reshape(-1)

    def solve(self, state, b: Array):
        x = self._eliminate(state, b, 0)
        return x, _finite(x), jnp.array(1, jnp.int32)

    def transpose_solve(self, state, b: Array):
        x = self._eliminate(state, b, 1)
        return x, _finite(x), jnp.array(1, jnp.int32)
