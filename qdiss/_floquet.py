r"""Periodically driven steady states: the Fourier-harmonic (Floquet) linear system.

**The model.** A Lindbladian L₀ (Hamiltonian H₀, jump operators L_j) with a periodic drive

    H(t) = H₀ + Σ_{m=1..M} (H_m e^{imωt} + H_m† e^{−imωt}),

whose asymptotic state is periodic, ρ(t + 2π/ω) = ρ(t). Writing ρ(t) = Σ_k ρ_k e^{ikωt}
(ρ_{−k} = ρ_k† for a Hermitian ρ(t)) and collecting the e^{ikωt} terms of dρ/dt = L(t)ρ gives,
harmonic by harmonic,

    (L₀ − ikω) ρ_k + Σ_{m=1..M} (L_m ρ_{k−m} + L_{−m} ρ_{k+m}) = 0,
    L_m ρ = −i[H_m, ρ],   L_{−m} ρ = −i[H_m†, ρ],

truncated at |k| ≤ K (ρ_k = 0 beyond), with tr ρ₀ = 1. Time-dependent jump operators
L_j(t) = Σ_{p=−P..P} c_{j,p} e^{ipωt} (``jump_drives``) add Σ_{a,b} D_{ab}ρ_{k−(a−b)} with
D_{ab}ρ = Σ_j (c_{j,a} ρ c_{j,b}† − ½{c_{j,b}†c_{j,a}, ρ}), trace-annihilating like L_m.
Without jump drives this is what QuTiP's ``steadystate_fourier`` (formerly
``steadystate_floquet``; H(t) = H₀ + O cos ωt, i.e. M = 1, H₁ = O/2, K = ``n_it``) and
QuantumToolbox.jl's ``steadystate_fourier`` compute; they return the time average ρ₀ only.
The trace of row k gives −ikω tr ρ_k = 0 (L₀, every L_m and D_{ab} annihilate the trace), so
tr ρ_k = 0 for k ≠ 0 exactly.

**The deflated system.** As for ``steady_state`` (``qdiss._operator.DeflatedProblem``) the
singular block system M(ρ) = 0 is replaced by

    A(ρ) = M(ρ) + s·tr(ρ₀)·E·δ_{k0} = s·E·δ_{k0},

with s a norm bound of L₀ and E = ``identity_state()``: the trace of row 0 gives tr ρ₀ = 1 and
then M(ρ) = 0. A is invertible exactly when the truncated periodic state is unique.

**Solvers** (configuration objects; ``None`` picks one by size):

- :class:`FloquetContinuedFraction` (M = 1, no jump drives): two-sided block elimination of
  the block-tridiagonal A, the matrix continued fraction of QuTiP's ``steadystate_fourier``:
  ρ_k = S_kρ_{k−1} with S_K = −(L₀ − iKω)⁻¹L₁, S_k = −(L₀ − ikω + L₋₁S_{k+1})⁻¹L₁ (and T_k
  likewise for k < 0), then the deflated effective Liouvillian L₀ + L₋₁S₁ + L₁T₋₁ for ρ₀.
  2K + 1 LU factorisations of n² × n² matrices, kept for the transposed solve of reverse-mode
  gradients.
- :class:`FloquetLU`: the LU of the whole ((2K+1)n²)² matrix (any M, jump drives; small
  systems).
- :class:`FloquetKrylov`: matrix-free restarted GMRES on A, right-preconditioned block by block
  by the eigenbasis-diagonal inverse of L₀ without its recycling term (plus the jump drives'
  time-averaged loss) shifted by −ikω (``qdiss._solver._preconditioner``, the shift trick of
  ``qdiss.KrylovResolvent``).

**Derivatives** come from the implicit rule of the linear solve (``_pseudo_inverse._implicit``):
ρ̇ = A⁻¹(−Ȧρ), with respect to every parameter of L₀, the drive operators H_m, the jump
drives' coefficients and ω; never by
differentiating the elimination or the iteration.

**Truncation in K is reported, never silent.** ``stats.truncation`` is
max(‖ρ_K‖, ‖ρ_{−K}‖)/‖ρ₀‖ (Frobenius norms), ``stats.harmonic_norms`` all the ‖ρ_k‖/‖ρ₀‖; above
``truncation_tol`` the result is ``RESULTS.harmonics_truncated`` (raised with ``throw=True``).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array

from . import _linalg
from ._adjoint import poison_derivative
from ._lindbladian import AbstractLindbladian
from ._lindbladian.dense import _to_array
from ._numerics import is_concrete, real_dtype
from ._operator import DeflatedProblem
from ._pseudo_inverse import _implicit
from ._solution import RESULTS, result_codes, result_message, result_name
from ._solve import default_tolerances
from ._solver._abstract import estimate_inverse_norm
from ._solver._gmres import RestartedGMRES
from ._solver._preconditioner import DiagonalBasisPreconditioner

__all__ = [
    "AbstractFloquetSolver",
    "FloquetContinuedFraction",
    "FloquetKrylov",
    "FloquetLU",
    "PeriodicSteadyState",
    "PeriodicSteadyStateStats",
    "periodic_steady_state",
]

# ``solver=None``: the continued fraction (M = 1) up to this many unknowns per harmonic
# (n = 10), the full LU (M > 1) up to FULL_LU_LIMIT unknowns in all, else GMRES. Driven Kerr
# cavity, K = 5, 2 CPU cores, best of 3 after compilation (NOTES-floquet.md): n = 10:
# continued fraction 0.019 s, GMRES 0.045 s, full LU 0.34 s (QuTiP 0.19 s); n = 20: 2.0 s vs
# 0.30 s (QuTiP 0.57 s); n = 30: 10.2 s vs 2.6 s (QuTiP 6.9 s). The continued fraction costs
# O(K n⁶), GMRES O(iterations·K·n³); the direct solvers stay the default at small n, where
# they do not depend on GMRES converging.
DENSE_LIMIT = 100
FULL_LU_LIMIT = 1500  # (2K + 1)·n² for the full LU when M > 1


# -- the block system --------------------------------------------------------------------------


def _shifted(x: Array, q: int) -> Array:
    """y with y_k = x_{k−q} along the first axis (zero where k − q leaves the range)."""
    if q == 0:
        return x
    zeros = jnp.zeros_like(x[: abs(q)])
    if q > 0:
        return jnp.concatenate([zeros, x[:-q]])
    return jnp.concatenate([x[-q:], zeros])


class FourierSystem(eqx.Module):
    """The deflated harmonic system A of the module docstring on stacks of states
    ``(2K + 1, n, n)`` (index k + K holds ρ_k). ``drives`` is ``(M, n, n)``: H₁…H_M (M may be
    0); ``jump_drives`` is None or ``(J, 2P + 1, n, n)``: the Fourier coefficients c_{j,p}
    (index p + P) of J time-dependent jump operators L_j(t) = Σ_p c_{j,p} e^{ipωt}."""

    problem: DeflatedProblem
    drives: Array
    omega: Array
    harmonics: int = eqx.field(static=True)
    jump_drives: Array | None = None

    @property
    def n(self) -> int:
        return self.problem.lindbladian.n

    @property
    def num_blocks(self) -> int:
        return 2 * self.harmonics + 1

    @property
    def block_size(self) -> int:
        return self.problem.size

    @property
    def size(self) -> int:
        return self.num_blocks * self.block_size

    @property
    def dtype(self):
        return self.problem.dtype

    def frequencies(self) -> Array:
        """kω for k = −K..K, complex."""
        k = jnp.arange(-self.harmonics, self.harmonics + 1).astype(self.omega.dtype)
        return (k * self.omega).astype(self.dtype)

    def bandwidth(self) -> int:
        """The largest |q| with a block coupling ρ_{k−q} into row k."""
        width = self.drives.shape[0]
        if self.jump_drives is not None:
            width = max(width, self.jump_drives.shape[1] - 1)  # q = a − b, |a|, |b| ≤ P
        return width

    def jump_pairs(self):
        """(q, c_a, c_b) for the pairs of Fourier coefficients of the jump drives, q = a − b:
        the dissipator of L(t) = Σ_a c_a e^{iaωt} is Σ_{a,b} e^{i(a−b)ωt} D_{ab} with
        D_{ab}ρ = Σ_j (c_{j,a} ρ c_{j,b}† − ½{c_{j,b}†c_{j,a}, ρ}) (trace-annihilating)."""
        if self.jump_drives is None:
            return []
        P = (self.jump_drives.shape[1] - 1) // 2
        pairs = []
        for a in range(-P, P + 1):
            for b in range(-P, P + 1):
                if abs(a - b) <= 2 * self.harmonics:
                    pairs.append((a - b, self.jump_drives[:, a + P], self.jump_drives[:, b + P]))
        return pairs

    def mv(self, x: Array) -> Array:
        """A(x) for ``x`` of shape ``(2K + 1, n, n)``."""
        lindbladian = self.problem.lindbladian
        out = jax.vmap(lindbladian.mv)(x) - 1j * self.frequencies()[:, None, None] * x
        for index in range(self.drives.shape[0]):
            m = index + 1
            if m > 2 * self.harmonics:
                continue  # couples nothing inside the truncation
            h = self.drives[index]
            hd = h.conj().T
            lower = _shifted(x, m)  # ρ_{k−m}
            upper = _shifted(x, -m)  # ρ_{k+m}
            out = out - 1j * (h @ lower - lower @ h) - 1j * (hd @ upper - upper @ hd)
        for q, ca, cb in self.jump_pairs():
            y = _shifted(x, q)  # ρ_{k−q}
            gain = jnp.einsum("jab,kbc,jdc->kad", ca, y, cb.conj())
            loss = jnp.einsum("jba,jbc->ac", cb.conj(), ca)  # Σ_j c_b†c_a
            out = out + gain - 0.5 * (loss @ y + y @ loss)
        scale = self.problem.scale.astype(self.dtype)
        deflation = scale * lindbladian.trace(x[self.harmonics]) * self.problem.identity()
        return out.at[self.harmonics].add(deflation)

    def norm_bound(self) -> Array:
        """An upper bound on ‖A‖ (no gradient): s + Kω + 4Σ_m‖H_m‖ + 2Σ_j(Σ_p‖c_{j,p}‖)²."""
        fixed = jax.lax.stop_gradient(self)
        bound = fixed.problem.scale + fixed.harmonics * jnp.abs(fixed.omega)
        bound = bound + 4 * jnp.sum(jnp.linalg.norm(fixed.drives, axis=(-2, -1)))
        if fixed.jump_drives is not None:
            per_jump = jnp.sum(jnp.linalg.norm(fixed.jump_drives, axis=(-2, -1)), axis=1)
            bound = bound + 2 * jnp.sum(per_jump**2)
        return bound

    def extra_loss(self) -> Array | None:
        """Σ_j Σ_p c_{j,p}†c_{j,p}, the time-averaged loss operator of the jump drives (for the
        preconditioner), or None."""
        if self.jump_drives is None:
            return None
        c = jax.lax.stop_gradient(self.jump_drives)
        return jnp.einsum("jpba,jpbc->ac", c.conj(), c)

    def rhs(self) -> Array:
        b = jnp.zeros((self.num_blocks, *self.problem.state_shape), self.dtype)
        return b.at[self.harmonics].set(self.problem.rhs())

    def pack(self, x: Array) -> Array:
        return jax.vmap(self.problem.to_physical)(x).reshape(-1)

    def unpack(self, v: Array) -> Array:
        return jax.vmap(self.problem.from_physical)(v.reshape(self.num_blocks, -1))

    def packed_mv(self, v: Array) -> Array:
        return self.pack(self.mv(self.unpack(v)))

    # dense blocks (row-major vectorisation vec(ρ)[i·n + j] = ρ[i, j], a dense state)
    def commutator_blocks(self) -> tuple[Array, Array]:
        """(C_m, C_{−m}) stacked over m: the matrices of ρ ↦ −i[H_m, ρ] and −i[H_m†, ρ]."""
        eye = jnp.eye(self.n, dtype=self.dtype)

        def sup(h):
            return -1j * (jnp.kron(h, eye) - jnp.kron(eye, h.T))

        plus = jax.vmap(sup)(self.drives)
        minus = jax.vmap(sup)(jnp.swapaxes(self.drives, -1, -2).conj())
        return plus, minus

    def matrix(self) -> Array:
        """A as a dense ``((2K+1)P, (2K+1)P)`` matrix (P = n² unknowns per harmonic)."""
        blocks = self.num_blocks
        p = self.block_size
        base = self.problem.lindbladian.superoperator()
        eye_p = jnp.eye(p, dtype=self.dtype)
        out = jnp.kron(jnp.eye(blocks, dtype=self.dtype), base)
        out = out - 1j * jnp.kron(jnp.diag(self.frequencies()), eye_p)
        plus, minus = self.commutator_blocks()
        for index in range(self.drives.shape[0]):
            m = index + 1
            if m > 2 * self.harmonics:
                continue
            below = jnp.asarray(np.eye(blocks, k=-m), self.dtype)  # row k, column k − m
            above = jnp.asarray(np.eye(blocks, k=m), self.dtype)  # row k, column k + m
            out = out + jnp.kron(below, plus[index]) + jnp.kron(above, minus[index])
        eye_n = jnp.eye(self.n, dtype=self.dtype)
        for q, ca, cb in self.jump_pairs():
            loss = jnp.einsum("jba,jbc->ac", cb.conj(), ca)
            # vec(AρB) = (A ⊗ Bᵀ) vec ρ (row-major): c_a ρ c_b† → c_a ⊗ c̄_b
            block = jnp.sum(jax.vmap(jnp.kron)(ca, cb.conj()), axis=0)
            block = block - 0.5 * (jnp.kron(loss, eye_n) + jnp.kron(eye_n, loss.T))
            out = out + jnp.kron(jnp.asarray(np.eye(blocks, k=-q), self.dtype), block)
        centre = self.harmonics * p
        deflation = self.problem.matrix() - base
        return out.at[centre : centre + p, centre : centre + p].add(deflation)


# -- solvers -----------------------------------------------------------------------------------


class AbstractFloquetSolver(eqx.Module):
    """How to solve the deflated harmonic system A(x) = b (module docstring).

    ``prepare(system)`` builds what the solves need (factorisations, preconditioners; no
    gradient flows through it); ``solve(state, b)`` and ``transpose_solve(state, b)`` return
    ``(x, result, num_steps)`` for packed vectors of ``system.size`` entries.
    """

    @property
    def name(self) -> str:
        return type(self).__name__

    def check(self, system: FourierSystem) -> None:
        """``ValueError`` when this solver cannot take the system (default: any)."""
        del system

    def condition_iterations(self) -> int:
        """Rounds of power iteration on A⁻ᴴA⁻¹ for the condition estimate (0: none, the
        estimate is NaN). Direct solvers: 2 (four more solves with their factorisations)."""
        return 2

    @abc.abstractmethod
    def prepare(self, system: FourierSystem):
        """The solver state for one system."""

    @abc.abstractmethod
    def solve(self, state, b: Array) -> tuple[Array, RESULTS, Array]:
        """A⁻¹b."""

    @abc.abstractmethod
    def transpose_solve(self, state, b: Array) -> tuple[Array, RESULTS, Array]:
        """A⁻ᵀb (plain transpose)."""


def _finite(y: Array) -> RESULTS:
    return RESULTS.where(jnp.all(jnp.isfinite(y)), RESULTS.successful, RESULTS.singular)


def _dense_state_only(lindbladian: AbstractLindbladian) -> None:
    """The drives act as −i[H_m, ρ] on dense ``(n, n)`` states: a representation whose states
    are blocks (sectors, permutation-invariant) would not hold the commutators in general."""
    if tuple(lindbladian.state_shape) != (lindbladian.n, lindbladian.n):
        raise ValueError(
            "`periodic_steady_state` needs a dense Lindbladian (state shape (n, n)): a drive "
            "H_m generally couples the blocks of a block representation; got state shape "
            f"{tuple(lindbladian.state_shape)}. Pass the dense Lindbladian (e.g. "
            "`qdiss.Lindbladian(H0, jump_ops)`)."
        )


class FloquetLU(AbstractFloquetSolver):
    """LU of the whole deflated block matrix (``(2K+1)n²`` unknowns): O(((2K+1)n²)³), any
    number of drive harmonics M. For small systems and as a reference."""

    def prepare(self, system: FourierSystem):
        return _linalg.lu_factor(jax.lax.stop_gradient(system).matrix())

    def solve(self, state, b: Array):
        x = _linalg.lu_solve(state, b)
        return x, _finite(x), jnp.array(1, jnp.int32)

    def transpose_solve(self, state, b: Array):
        x = _linalg.lu_solve(state, b, trans=1)
        return x, _finite(x), jnp.array(1, jnp.int32)


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


class _FloquetKrylovState(eqx.Module):
    system: FourierSystem
    precond: DiagonalBasisPreconditioner
    diagonals: Array


class FloquetKrylov(AbstractFloquetSolver):
    """Matrix-free restarted GMRES on the harmonic system, right-preconditioned harmonic by
    harmonic by the eigenbasis-diagonal inverse of L₀ without its recycling term shifted by
    −ikω (``"hermitian"`` of ``qdiss._solver._preconditioner``, as ``qdiss.KrylovResolvent``):
    memory O(restart·(2K+1)·n²), time O((2K+1)·n³) per iteration. The drive couplings are left
    to GMRES: a drive strong compared with ω and the damping needs more iterations.

    **Fields:** ``rtol`` (relative to ‖b‖; default 1e-12 in float64, 1e-6 in float32),
    ``max_steps`` (restart cycles), ``restart``, ``stagnation_iters``, ``shift`` (σ of the
    preconditioner, relative to the largest decay rate), ``condition_rounds`` (rounds of power
    iteration for the condition estimate, two GMRES solves each; 0: none, and a non-unique
    periodic state is then not detected)."""

    rtol: float | None = None
    max_steps: int = 200
    restart: int = 60
    stagnation_iters: int = 20
    shift: float = 1e-3
    condition_rounds: int = 1

    def _gmres(self, dtype) -> RestartedGMRES:
        eps = float(jnp.finfo(dtype).eps)
        rtol = self.rtol if self.rtol is not None else (1e-12 if eps < 1e-10 else 1e-6)
        return RestartedGMRES(
            rtol=rtol,
            atol=0.0,
            max_steps=self.max_steps,
            restart=self.restart,
            stagnation_iters=self.stagnation_iters,
        )

    def condition_iterations(self) -> int:
        return self.condition_rounds

    def prepare(self, system: FourierSystem):
        system = jax.lax.stop_gradient(system)
        problem = system.problem
        base = DiagonalBasisPreconditioner.build(
            problem.lindbladian, "hermitian", self.shift, padding_scale=problem.scale
        )
        diagonal = base.diagonal
        extra = system.extra_loss()
        if extra is not None:
            # the jump drives' time-averaged loss, kept through its diagonal δk in the same basis
            # (D_ij − ½(δk_i + δk_j)), and σ raised with it (an undamped L₀)
            rates = jnp.real(jnp.diagonal(base.basis.conj().T @ extra @ base.basis))
            sigma = self.shift * jnp.max(rates)
            diagonal = diagonal - (0.5 * (rates[:, None] + rates[None, :]) + sigma).astype(
                diagonal.dtype
            )
        shifts = 1j * system.frequencies()
        diagonals = diagonal[None] - shifts.reshape(-1, *([1] * diagonal.ndim))
        return _FloquetKrylovState(system, base, diagonals)

    def _operators(self, state: _FloquetKrylovState):
        system, base = state.system, state.precond

        def p_inv(v):
            x = system.unpack(v)

            def one(diagonal, xk):
                precond = DiagonalBasisPreconditioner(
                    base.basis, base.basis_inv, diagonal, base.padding, base.padding_scale
                )
                return precond.apply_inverse(xk)

            return system.pack(jax.vmap(one)(state.diagonals, x))

        structure = jax.ShapeDtypeStruct((system.size,), system.dtype)
        return system.packed_mv, p_inv, structure

    def _run(self, operator, b):
        norm = jnp.linalg.norm(b)
        safe = jnp.where(norm > 0, norm, 1.0).astype(b.dtype)
        out = lx.linear_solve(operator, b / safe, self._gmres(b.dtype), throw=False)
        steps = jnp.asarray(out.stats.get("num_steps", 0), jnp.int32)
        return out.value * safe, RESULTS.promote(out.result), steps

    def solve(self, state, b: Array):
        a, p_inv, structure = self._operators(state)
        operator = lx.FunctionLinearOperator(lambda u: a(p_inv(u)), structure)
        u, result, steps = self._run(operator, b)
        return p_inv(u), result, steps

    def transpose_solve(self, state, b: Array):
        # Aᵀy = b as (P⁻¹A)ᵀu = b, y = P⁻ᵀu (plain transposes), as KrylovResolvent
        a, p_inv, structure = self._operators(state)
        left = lx.FunctionLinearOperator(lambda u: p_inv(a(u)), structure)
        u, result, steps = self._run(left.T, b)
        p_inv_t = jax.linear_transpose(p_inv, jnp.zeros(structure.shape, structure.dtype))
        return p_inv_t(u)[0], result, steps


def default_floquet_solver(system: FourierSystem) -> AbstractFloquetSolver:
    """:class:`FloquetContinuedFraction` for one drive harmonic and a dense state of at most
    ``DENSE_LIMIT`` unknowns per harmonic; :class:`FloquetLU` for several harmonics up to
    ``FULL_LU_LIMIT`` unknowns in all; else :class:`FloquetKrylov`."""
    tridiagonal = system.drives.shape[0] == 1 and system.jump_drives is None
    if tridiagonal and system.block_size <= DENSE_LIMIT:
        return FloquetContinuedFraction()
    if system.size <= FULL_LU_LIMIT:
        return FloquetLU()
    return FloquetKrylov()


# -- the solution ------------------------------------------------------------------------------


class PeriodicSteadyStateStats(eqx.Module):
    """Diagnostics of :func:`periodic_steady_state`.

    - ``residual``: ‖A(ρ) − b‖/‖b‖ of the deflated harmonic system (module docstring),
      recomputed from the returned harmonics.
    - ``num_steps``: GMRES steps (1 for the direct solvers).
    - ``trace_error``: |tr ρ₀ − 1| of the raw solve.
    - ``hermiticity_error``: ‖ρ_k − ρ_{−k}†‖/‖ρ‖ of the raw solve (the harmonics are returned
      with ρ_{−k} = ρ_k† imposed).
    - ``min_eigenvalue``: smallest eigenvalue of the time average ρ₀ (a density matrix).
    - ``truncation``: max(‖ρ_K‖, ‖ρ_{−K}‖)/‖ρ₀‖, how much the outermost harmonics kept still
      hold (Frobenius norms): above ``truncation_tol``, ``RESULTS.harmonics_truncated``.
    - ``harmonic_norms``: ‖ρ_k‖/‖ρ₀‖ for k = −K..K (the decay that ``truncation`` summarises).
    - ``condition_estimate``: ‖A‖·‖A⁻¹‖ of the deflated block system, ‖A‖ bounded by
      s + Kω + 4Σ_m‖H_m‖_F and ‖A⁻¹‖ from power iteration on A⁻ᴴA⁻¹ (two rounds for the direct
      solvers, ``condition_rounds`` for :class:`FloquetKrylov`; NaN with none). Above 1e-3/eps
      the periodic state is not unique (``RESULTS.non_unique``), as for ``steady_state``; so
      is a system with no dissipation.
    """

    residual: Array
    num_steps: Array
    trace_error: Array
    hermiticity_error: Array
    min_eigenvalue: Array
    truncation: Array
    harmonic_norms: Array
    condition_estimate: Array


class PeriodicSteadyState(eqx.Module):
    """What :func:`periodic_steady_state` returns: ρ(t) = Σ_{|k|≤K} ρ_k e^{ikωt}.

    - ``harmonics``: ρ_k for k = −K..K, shape ``(2K + 1, *state_shape)`` (index k + K), with
      ρ_{−k} = ρ_k†, tr ρ₀ = 1, tr ρ_k = 0 (k ≠ 0).
    - ``omega``: the drive frequency ω.
    - ``result``: a ``qdiss.RESULTS`` code (``successful``, ``harmonics_truncated``, or a solve's
      failure: ``singular``, ``max_steps_reached``, ``residual_too_large``, ``nonfinite``…).
    - ``stats``: :class:`PeriodicSteadyStateStats`.
    - ``solver``: the solver's name.

    The methods act on one (unbatched) solution; states are in the Lindbladian's representation
    (``(n, n)`` for a dense one).
    """

    harmonics: Array
    omega: Array
    result: RESULTS
    stats: PeriodicSteadyStateStats
    solver: str = eqx.field(static=True, default="")

    @property
    def num_harmonics(self) -> int:
        """K."""
        return (self.harmonics.shape[0] - 1) // 2

    @property
    def residual(self) -> Array:
        return self.stats.residual

    @property
    def succeeded(self) -> Array:
        return self.result == RESULTS.successful

    @property
    def status(self) -> str:
        """The result code's name (concrete only)."""
        return result_name(int(result_codes(self.result)))

    @property
    def message(self) -> str:
        """The result code's message, ``"successful"`` on success (concrete only)."""
        return result_message(int(result_codes(self.result)))

    def __str__(self) -> str:
        codes = result_codes(self.result)
        if not is_concrete(codes):
            return f"PeriodicSteadyState(solver={self.solver!r}, <traced>)"
        codes = np.atleast_1d(np.asarray(codes))
        if codes.size != 1:
            ok = int(np.sum(codes == 0))
            return f"PeriodicSteadyState from {self.solver}: {ok}/{codes.size} successful"
        st = self.stats
        fmt = lambda x: np.array2string(np.asarray(x), precision=3)  # noqa: E731
        lines = [f"PeriodicSteadyState from {self.solver or 'unknown solver'}"]
        lines.append(f"  status            : {self.status}")
        if int(codes[0]) != 0:
            lines.append(f"  message           : {self.message}")
        lines += [
            f"  harmonics         : K = {self.num_harmonics}, ω = {fmt(self.omega)}",
            f"  truncation        : {fmt(st.truncation)} (‖ρ_±K‖/‖ρ₀‖)",
            f"  relative residual : {fmt(st.residual)}",
            f"  condition number  : {fmt(st.condition_estimate)}",
            f"  steps             : {fmt(st.num_steps)}",
            f"  trace error       : {fmt(st.trace_error)}",
            f"  Hermiticity error : {fmt(st.hermiticity_error)}",
            f"  min eigenvalue ρ₀ : {fmt(st.min_eigenvalue)}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.__str__()

    def harmonic(self, k: int) -> Array:
        """ρ_k (zero for |k| > K)."""
        K = self.num_harmonics
        if abs(k) > K:
            return jnp.zeros_like(self.harmonics[0])
        return self.harmonics[k + K]

    def time_average(self) -> Array:
        """ρ₀ = (ω/2π)∫ρ(t)dt over one period."""
        return self.harmonics[self.num_harmonics]

    def rho(self, t) -> Array:
        """ρ(t) = Σ_k ρ_k e^{ikωt} (Hermitian); ``t`` a scalar or an array of times (leading
        axes)."""
        return jnp.tensordot(self._phases(t), self.harmonics, axes=1)

    def _phases(self, t) -> Array:
        """e^{ikωt} for k = −K..K, shape ``(*t.shape, 2K + 1)``."""
        K = self.num_harmonics
        rdtype = self.omega.dtype
        t = jnp.asarray(t).astype(rdtype)
        k = jnp.arange(-K, K + 1).astype(rdtype)
        return jnp.exp(1j * (k * self.omega * t[..., None]).astype(self.harmonics.dtype))

    def expect(self, op) -> Array:
        """The time-averaged expectation tr(O ρ₀) of a dense ``(n, n)`` operator (complex)."""
        op = jnp.asarray(_to_array(op, "op"), self.harmonics.dtype)
        return jnp.sum(op.T * self.time_average())

    def expect_at(self, op, t) -> Array:
        """tr(O ρ(t)) at the times ``t`` (complex; real for a Hermitian O)."""
        op = jnp.asarray(_to_array(op, "op"), self.harmonics.dtype)
        per_harmonic = jnp.einsum("ij,kji->k", op, self.harmonics)
        return self._phases(t) @ per_harmonic


def _condition_estimate(system: FourierSystem, solver: AbstractFloquetSolver, state) -> Array:
    """‖A‖·‖A⁻¹‖ (``PeriodicSteadyStateStats.condition_estimate``), NaN when not estimated."""
    rdtype = real_dtype(system.dtype)
    iterations = solver.condition_iterations()
    if iterations == 0:
        return jnp.full((), jnp.nan, rdtype)
    state = jax.lax.stop_gradient(state)
    rdtype_start = real_dtype(system.dtype)
    key_re, key_im = jax.random.split(jax.random.key(1234))
    start = jax.lax.complex(
        jax.random.normal(key_re, (system.size,), rdtype_start),
        jax.random.normal(key_im, (system.size,), rdtype_start),
    ).astype(system.dtype)
    start = start / jnp.linalg.norm(start).astype(start.dtype)

    def adjoint(v):  # A⁻ᴴv = conj(A⁻ᵀ conj v)
        return solver.transpose_solve(state, v.conj())[0].conj()

    inverse_norm = estimate_inverse_norm(
        lambda v: solver.solve(state, v)[0], adjoint, start, iterations
    )
    return (system.norm_bound() * inverse_norm).astype(rdtype)


# -- the entry point ---------------------------------------------------------------------------


def _drive_stack(drives, n: int, dtype) -> Array:
    """H₁…H_M as an ``(M, n, n)`` array (M = 0 for an empty list)."""
    if isinstance(drives, Sequence) and not isinstance(drives, str):
        ops = [_to_array(h, f"drives[{i}]") for i, h in enumerate(drives)]
        for i, h in enumerate(ops):
            if h.shape != (n, n):
                raise ValueError(
                    f"`drives[{i}]` must be an (n, n) = ({n}, {n}) operator, the Lindbladian's "
                    f"dimension; got shape {h.shape}."
                )
        if not ops:
            return jnp.zeros((0, n, n), dtype)
        return jnp.stack([h.astype(dtype) for h in ops])
    stack = _to_array(drives, "drives")
    if stack.ndim == 2:
        stack = stack[None]
    if stack.ndim != 3 or stack.shape[1:] != (n, n):
        raise ValueError(
            f"`drives` must be a list of (n, n) operators or an (M, n, n) array with n = {n}; "
            f"got shape {stack.shape}."
        )
    return stack.astype(dtype)


def _jump_drive_stack(jump_drives, n: int, dtype) -> Array | None:
    """The jump drives as a ``(J, 2P + 1, n, n)`` array of Fourier coefficients, or None."""
    if jump_drives is None:
        return None
    if isinstance(jump_drives, Sequence) and not isinstance(jump_drives, str):
        if len(jump_drives) == 0:
            return None
        items = [_to_array(c, f"jump_drives[{j}]") for j, c in enumerate(jump_drives)]
        shapes = {c.shape for c in items}
        if len(shapes) != 1:
            raise ValueError(
                "`jump_drives` must all have the same shape (2P + 1, n, n) (pad the shorter "
                f"series with zero coefficients); got shapes {sorted(shapes)}."
            )
        stack = jnp.stack(items)
    else:
        stack = _to_array(jump_drives, "jump_drives")
        if stack.ndim == 3:
            stack = stack[None]
    if stack.ndim != 4 or stack.shape[2:] != (n, n) or stack.shape[1] % 2 != 1:
        raise ValueError(
            "`jump_drives` must be a list of (2P + 1, n, n) arrays, or a (J, 2P + 1, n, n) array: "
            f"the Fourier coefficients c_p, p = −P..P, of each jump operator, with n = {n}; got "
            f"shape {stack.shape}."
        )
    return stack.astype(dtype)


def periodic_steady_state(
    lindbladian: AbstractLindbladian,
    drives,
    omega,
    *,
    harmonics: int = 5,
    jump_drives=None,
    solver: AbstractFloquetSolver | None = None,
    truncation_tol: float = 1e-6,
    throw: bool = True,
) -> PeriodicSteadyState:
    r"""The asymptotic periodic state of L₀ driven by H(t) = H₀ + Σ_m (H_m e^{imωt} + h.c.).

    Solves (L₀ − ikω)ρ_k + Σ_m (L_mρ_{k−m} + L_{−m}ρ_{k+m}) = 0 for |k| ≤ K, L_mρ = −i[H_m, ρ],
    L_{−m}ρ = −i[H_m†, ρ], tr ρ₀ = 1 (module docstring), and returns ρ(t) = Σ_k ρ_k e^{ikωt}
    as a :class:`PeriodicSteadyState`.

    - ``lindbladian``: L₀, the undriven Lindbladian (H₀ and the jump operators), with dense
      ``(n, n)`` states (a ``qdiss.Lindbladian``; block representations raise ``ValueError``:
      a drive generally couples their blocks).
    - ``drives``: H₁, …, H_M: a list of ``(n, n)`` operators (arrays, QArrays, Qobjs) or an
      ``(M, n, n)`` array; H_m multiplies e^{imωt}. QuTiP's ``steadystate_fourier(H₀, c_ops,
      O, ω, n_it=K)`` (H₀ + O cos ωt) is ``drives=[O/2]``, ``harmonics=K``;
      QuantumToolbox.jl's ``steadystate_fourier(H₀, H_p, H_m, ω, c_ops; n_max=K)`` (H₀ +
      H_p e^{iωt} + H_m e^{−iωt}, the same harmonic equations) is ``drives=[H_p]`` with
      H_m = H_p†, and its list ρ̂₀, ρ̂₋₁, … is ``sol.harmonic(0)``, ``sol.harmonic(-1)``, ….
      An empty list when only ``jump_drives`` drive the system.
    - ``omega``: ω > 0 (differentiable). ``harmonics``: K ≥ 1, the harmonics kept.
    - ``jump_drives``: time-dependent jump operators added to L₀'s own,
      L_j(t) = Σ_{p=−P..P} c_{j,p} e^{ipωt}: a list of ``(2P + 1, n, n)`` arrays (index p + P
      holds c_{j,p}; rates folded in) or a ``(J, 2P + 1, n, n)`` array. Their dissipator adds
      Σ_{a,b} e^{i(a−b)ωt}(c_a ρ c_b† − ½{c_b†c_a, ρ}) (the a = b terms to the time average).
      E.g. a decay rate modulated as γ(t) = γ₀(1 + ε cos ωt)² is ``[√γ₀·stack([ε/2·a, a,
      ε/2·a])]``, with ``a`` not among L₀'s jump operators.
    - ``solver``: :class:`FloquetContinuedFraction`, :class:`FloquetLU` or :class:`FloquetKrylov`;
      ``None`` picks by size (``default_floquet_solver``).
    - ``truncation_tol``: the largest accepted ``stats.truncation`` (‖ρ_{±K}‖/‖ρ₀‖); above it
      the result is ``RESULTS.harmonics_truncated``: raise K.
    - ``throw``: raise on any result but ``successful`` (True), or return the code (False, for
      ``vmap`` sweeps).

    Differentiable (implicit rule) with respect to L₀'s parameters, the drives, the jump
    drives and ω; a failed
    solve (not ``successful`` nor ``harmonics_truncated``) has NaN derivatives. Works under
    ``jit`` and ``vmap`` (with a concrete K).

    Example (a driven two-level atom, σ₋ decay, drive Ω cos ωt σₓ)::

        sm = jnp.array([[0, 0], [1, 0]], complex)  # |g⟩⟨e|, |e⟩ first (σ_z = +1)
        L0 = qdiss.Lindbladian(0.5 * w0 * sz, [jnp.sqrt(gamma) * sm])
        sol = qdiss.periodic_steady_state(L0, [0.5 * Omega * sx], w, harmonics=8)
        sol.expect(sm.conj().T @ sm)         # the time-averaged excited population
        sol.expect_at(sx, jnp.linspace(0, 2 * jnp.pi / w, 50))
    """
    if not isinstance(lindbladian, AbstractLindbladian):
        raise TypeError(
            "`lindbladian` must be a qdiss Lindbladian (e.g. `qdiss.Lindbladian(H0, jump_ops)`); "
            f"got {type(lindbladian).__name__}."
        )
    if isinstance(harmonics, bool) or not isinstance(harmonics, int | np.integer):
        raise ValueError(f"`harmonics` must be an integer K ≥ 1; got {harmonics!r}.")
    harmonics = int(harmonics)
    if harmonics < 1:
        raise ValueError(f"`harmonics` must be at least 1 (the kept |k| ≤ K); got {harmonics}.")
    if not float(truncation_tol) >= 0:
        raise ValueError(f"`truncation_tol` must be non-negative; got {truncation_tol}.")
    dtype = lindbladian.dtype
    stack = _drive_stack(drives, lindbladian.n, dtype)
    jump_stack = _jump_drive_stack(jump_drives, lindbladian.n, dtype)
    if stack.shape[0] == 0 and jump_stack is None:
        raise ValueError(
            "`drives` must hold at least one operator H_m (m = 1, 2, …), or `jump_drives` one "
            "time-dependent jump operator; without a drive the state is stationary: use "
            "`qdiss.steady_state`."
        )
    omega = jnp.asarray(omega)
    if omega.ndim != 0 or jnp.iscomplexobj(omega):
        raise ValueError(f"`omega` must be a real scalar; got shape {omega.shape}, {omega.dtype}.")
    omega = omega.astype(real_dtype(dtype))
    if is_concrete(omega) and not float(omega) > 0:
        raise ValueError(f"`omega` must be positive (the drive frequency ω); got {float(omega)}.")
    if solver is not None and not isinstance(solver, AbstractFloquetSolver):
        raise TypeError(
            "`solver` must be `qdiss.FloquetContinuedFraction()`, `qdiss.FloquetLU()` or "
            f"`qdiss.FloquetKrylov()`; got {type(solver).__name__}."
        )
    _dense_state_only(lindbladian)
    problem = DeflatedProblem.build(lindbladian)
    system = FourierSystem(problem, stack, omega, harmonics, jump_stack)
    if solver is None:
        solver = default_floquet_solver(system)
    solver.check(system)
    return _solve_jit(system, solver, float(truncation_tol), bool(throw))


@eqx.filter_jit
def _solve_jit(system: FourierSystem, solver, truncation_tol: float, throw: bool):
    state = solver.prepare(system)
    b = system.pack(system.rhs())
    steps_box = []

    def forward(r):
        x, result, steps = solver.solve(state, r)
        steps_box.append(steps)
        return x, result

    def transpose(r):
        x, result, _ = solver.transpose_solve(state, r)
        return x, result

    x, result = _implicit(system.packed_mv, b, forward, transpose)
    num_steps = steps_box[0]
    condition = _condition_estimate(system, solver, state)

    sg = jax.lax.stop_gradient
    raw = system.unpack(x)
    x_fixed = sg(x)
    b_norm = jnp.linalg.norm(b)
    residual = jnp.linalg.norm(sg(system.packed_mv(x_fixed)) - b) / b_norm
    lindbladian = system.problem.lindbladian
    K = system.harmonics
    dtype = system.dtype

    # impose ρ_{−k} = ρ_k† and tr ρ₀ = 1
    mirrored = jnp.swapaxes(raw[::-1], -1, -2).conj()
    raw_fixed = sg(raw)
    raw_norm = jnp.linalg.norm(raw_fixed)
    herm_error = jnp.linalg.norm(raw_fixed - sg(mirrored)) / jnp.where(raw_norm > 0, raw_norm, 1)
    trace = lindbladian.trace(raw[K])
    rho = 0.5 * (raw + mirrored)
    rho = rho / jnp.where(trace == 0, 1.0, jnp.real(trace)).astype(dtype)
    trace_error = jnp.abs(sg(trace) - 1)

    rho_fixed = sg(rho)
    norms = jnp.sqrt(jnp.sum(jnp.abs(rho_fixed) ** 2, axis=tuple(range(1, rho.ndim))))
    centre = jnp.where(norms[K] > 0, norms[K], 1.0)
    harmonic_norms = norms / centre
    truncation = jnp.maximum(harmonic_norms[0], harmonic_norms[-1])
    finite = jnp.all(jnp.isfinite(x_fixed))
    safe = jnp.where(finite, rho_fixed[K], system.problem.identity())
    min_eig = lindbladian.min_eigenvalue(safe)
    min_eig = jnp.where(finite, min_eig, jnp.nan)

    eps = float(jnp.finfo(dtype).eps)
    residual_tol = 1e-8 if eps < 1e-10 else 1e-3
    _, _, non_unique_cond = default_tolerances(dtype)
    closed = lindbladian.is_closed() if lindbladian.n >= 2 else jnp.array(False)
    if system.jump_drives is not None:
        closed = closed & jnp.all(system.jump_drives == 0)
    singular = (result == RESULTS.singular) | (condition > non_unique_cond)
    inputs_finite = lindbladian.inputs_finite() & jnp.all(jnp.isfinite(system.drives))
    if system.jump_drives is not None:
        inputs_finite = inputs_finite & jnp.all(jnp.isfinite(system.jump_drives))
    first = [
        (~inputs_finite, RESULTS.nonfinite),
        (~lindbladian.hamiltonian_hermitian(), RESULTS.not_hermitian),
        (closed | singular, RESULTS.non_unique),
    ]
    decided = jnp.array(False)
    for failed, code in first:
        result = RESULTS.where(~decided & failed, code, result)
        decided = decided | failed
    ok = (result == RESULTS.successful) & ~decided
    checks = [
        (~finite, RESULTS.nonfinite),
        (~(residual <= residual_tol), RESULTS.residual_too_large),
    ]
    for failed, code in checks:
        result = RESULTS.where(ok & failed, code, result)
        ok = ok & ~failed
    result = RESULTS.where(ok & (truncation > truncation_tol), RESULTS.harmonics_truncated, result)

    failed = (result != RESULTS.successful) & (result != RESULTS.harmonics_truncated)
    rho = poison_derivative(rho, failed)
    if throw:
        rho = result.error_if(rho, result != RESULTS.successful)
    rdtype = real_dtype(dtype)
    stats = PeriodicSteadyStateStats(
        residual=jnp.where(finite, residual, jnp.inf).astype(rdtype),
        num_steps=jnp.asarray(num_steps, jnp.int32),
        trace_error=trace_error.astype(rdtype),
        hermiticity_error=herm_error.astype(rdtype),
        min_eigenvalue=min_eig.astype(rdtype),
        truncation=truncation.astype(rdtype),
        harmonic_norms=harmonic_norms.astype(rdtype),
        condition_estimate=condition.astype(rdtype),
    )
    return PeriodicSteadyState(rho, system.omega, result, stats, solver.name)
