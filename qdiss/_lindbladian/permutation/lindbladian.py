r"""Permutation-invariant Lindbladians of N identical two-level systems.

The master equation (qdiss conventions: D[L]ρ = LρL† − ½{L†L, ρ}, "rate γ" means L = √γ·op)

    dρ/dt = −i[H, ρ] + Σᵢ ( γ↓ D[σ⁻ᵢ] + γ↑ D[σ⁺ᵢ] + γ_φ D[σᶻᵢ] ) ρ
                     + Γ↓ D[J₋]ρ + Γ↑ D[J₊]ρ + Γ_φ D[J_z]ρ,

    H = Σ_a h_a J_a + Σ_ab Q_ab (J_a J_b + J_b J_a)/2,     J_a = ½ Σᵢ σᵃᵢ,  J_± = J_x ± iJ_y,

is invariant under permutations of the spins, and so is its steady state when unique. Such a
state is ρ = ⊕_j ρ̃_j ⊗ I_{d_j}/d_j in the total-spin decomposition (see ``_dicke.py``), so it
is fully described by the same-j blocks ρ̃_j: Σ_j (2j+1)² ≈ N³/6 numbers instead of 4^N, and
PIQS's ((N/2+1)²)² (which also holds the unphysical j ≠ j' coherences).

**State representation.** A state is a complex array of shape ``(B, D, D)``, B = ⌊N/2⌋ + 1,
D = N + 1: block b holds ρ̃_j for j = N/2 − b in the centred square of positions p with
|m_p| ≤ j, m_p = N/2 − p (m descending), and exact zeros elsewhere (the *padding*; see
``padding_mask``). ρ̃_j is the state summed over the d_j copies of spin j (the convention of
PIQS), so tr ρ = Σ_j tr ρ̃_j and the expectation of a collective operator O = ⊕_j O_j ⊗ I is
Σ_j tr(O_j ρ̃_j): no multiplicities d_j (up to 10⁸⁸ at N = 300) appear anywhere except in
:meth:`PermutationInvariantLindbladian.to_dense`. Block 0 (j = N/2) is the symmetric (Dicke)
subspace in the basis of :func:`dicke_lindbladian` / ``qdiss.measures.spin_operators(N/2)``.

**Generator.** In this representation L is a sum of *elementary terms*, each

    L(X)[b, p, q] ∋ u[b, p] · X[b + δb, p + δp, q + δq] · v[b, q]

(a weighted shift; entries outside the array are 0): the Hamiltonian and the collective
jump operators are banded in m within each block, and the local processes move between
neighbouring blocks. The local "recycling" terms Σᵢ AᵢρAᵢ† are (Chase & Geremia, PRA 78, 052101
(2008); Shammah et al., PRA 98, 063815 (2018), PIQS), for a source element (j, M, M') of ρ̃:

    σ⁻ (M → M−1):  j → j   : (N/2+1)/(2j(j+1))        · a(M) a(M'),   a(M) = √((j+M)(j−M+1))
                   j → j−1 : (N/2+j+1)/(2j(2j+1))      · a(M) a(M'),   a(M) = √((j+M)(j+M−1))
                   j → j+1 : (N/2−j)/(2(j+1)(2j+1))    · a(M) a(M'),   a(M) = √((j−M+1)(j−M+2))
    σ⁺ (M → M+1):  the same with M → −M
    σᶻ (M → M):    j → j   : 2(N/2+1)/(j(j+1))         · M M'
                   j → j−1 : 2(N/2+j+1)/(j(2j+1))      · √((j²−M²)(j²−M'²))
                   j → j+1 : 2(N/2−j)/((j+1)(2j+1))    · √(((j+1)²−M²)((j+1)²−M'²))

and the loss terms use Σᵢσ⁺ᵢσ⁻ᵢ = J_z + N/2, Σᵢσ⁻ᵢσ⁺ᵢ = N/2 − J_z, Σᵢ(σᶻᵢ)² = N. Verified
against the full 2^N Lindbladian in tests/test_permutation.py.

All couplings (``linear`` h, ``quadratic`` Q) and rates are real pytree leaves: ``jax.grad``
reaches each of them, and they enter L linearly (no square roots of rates).

**Solvers.** Every qdiss solver takes it: ``DenseLU`` and ``SparseLU`` on the Σ_j (2j+1)²
unknowns (``superoperator``, ``sparse_superoperator``; the padding is decoupled), ``Krylov``
with the ``"sweep"`` preconditioner (``preconditioner.py``: exact for the m − m'
preserving part of L, O(N³) per application; ≈ 20–30 GMRES iterations for the XYZ model at
N = 10 … 100), and ``Evolve``. ``Auto`` picks Krylov (the fastest at every N measured). Figures
(benchmarks/large_n.py, recorded in benchmarks/README.md): N = 100 (1.8·10⁵ unknowns) steady
state 2.8 s, steady state plus gradient of ξ²_R 7–9 s warm on 2 loaded CPU cores. Compilation
(benchmarks/compile_time.py) takes the same ~11 CPU seconds at every N ≥ 10: the layout tables
are computed inside the program (``_terms._tables``, ``BlockSpace``), never embedded as
constants, and the terms are built once per program (:meth:`prepared`).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jaxtyping import Array, Float

from ..._numerics import complex_of, is_concrete
from .._abstract import AbstractLindbladian
from .._space import BlockSpace
from ..dense import Lindbladian
from . import _dicke
from ._terms import (
    _apply_terms,
    _band_combination,
    _band_product,
    _local_recycling_factors,
    _recycling_shift,
    _shift,
    _tables,
    _Term,
    cartesian_bands,
    spin_bands,
)
from .preconditioner import SweepPreconditioner

__all__ = ["PermutationInvariantLindbladian", "dicke_lindbladian", "pi_from_dense", "pi_to_dense"]

_RATES = (
    "emission",
    "pumping",
    "dephasing",
    "collective_emission",
    "collective_pumping",
    "collective_dephasing",
)


class PermutationInvariantLindbladian(AbstractLindbladian):
    r"""The permutation-invariant Lindbladian of N identical two-level systems (module docstring).

    ``PermutationInvariantLindbladian(num_spins, *, linear=(0, 0, 0), quadratic=0, emission=0,
    pumping=0, dephasing=0, collective_emission=0, collective_pumping=0, collective_dephasing=0)``

    - ``num_spins``: N (static).
    - ``linear``: h = (h_x, h_y, h_z), H ∋ Σ_a h_a J_a.
    - ``quadratic``: 3×3 real Q, H ∋ Σ_ab Q_ab (J_aJ_b + J_bJ_a)/2 (only its symmetric part
      matters). E.g. the all-to-all XYZ model (1/N)Σ_{i<j}Σ_a J_a σᵃᵢσᵃⱼ is Q = diag(2J_a/N) up
      to a constant.
    - ``emission`` γ↓, ``pumping`` γ↑, ``dephasing`` γ_φ: local rates, jump operators √γ↓σ⁻ᵢ,
      √γ↑σ⁺ᵢ, √γ_φσᶻᵢ on every spin (note σᶻ, not PIQS's σᶻ/2: PIQS's ``dephasing`` is 4γ_φ).
    - ``collective_emission`` Γ↓, ``collective_pumping`` Γ↑, ``collective_dephasing`` Γ_φ:
      jump operators √Γ↓J₋, √Γ↑J₊, √Γ_φJ_z.

    All of them are real pytree leaves (float64 under x64); the state is complex ``(B, D, D)``
    (module docstring). Without local processes every block j is invariant and the steady
    state is not unique: use :func:`dicke_lindbladian` for the symmetric subspace.
    """

    linear: Float[Array, "3"]
    quadratic: Float[Array, "3 3"]
    emission: Float[Array, ""]
    pumping: Float[Array, ""]
    dephasing: Float[Array, ""]
    collective_emission: Float[Array, ""]
    collective_pumping: Float[Array, ""]
    collective_dephasing: Float[Array, ""]
    num_spins: int = eqx.field(static=True)
    prepared_terms: tuple[_Term, ...] | None

    def __init__(
        self,
        num_spins: int,
        *,
        linear=(0.0, 0.0, 0.0),
        quadratic=0.0,
        emission=0.0,
        pumping=0.0,
        dephasing=0.0,
        collective_emission=0.0,
        collective_pumping=0.0,
        collective_dephasing=0.0,
    ):
        if isinstance(num_spins, bool) or int(num_spins) != num_spins or num_spins < 1:
            raise ValueError(f"`num_spins` must be a positive integer; got {num_spins!r}.")
        self.num_spins = int(num_spins)
        values = dict(
            linear=linear,
            quadratic=quadratic,
            emission=emission,
            pumping=pumping,
            dephasing=dephasing,
            collective_emission=collective_emission,
            collective_pumping=collective_pumping,
            collective_dephasing=collective_dephasing,
        )
        arrays = {}
        for name, x in values.items():
            x = jnp.asarray(x)
            if jnp.issubdtype(x.dtype, jnp.complexfloating):
                raise TypeError(f"`{name}` must be real; got dtype {x.dtype}.")
            if not jnp.issubdtype(x.dtype, jnp.number) or x.dtype == jnp.bool_:
                raise TypeError(f"`{name}` must hold numbers; got dtype {x.dtype}.")
            arrays[name] = x
        with jax.numpy_dtype_promotion("standard"):
            real = jnp.result_type(*[x.dtype for x in arrays.values()], jnp.float32)
        if not jnp.issubdtype(real, jnp.floating):
            real = jnp.float32
        for name, x in arrays.items():
            x = x.astype(real)
            if name == "linear" and x.shape != (3,):
                raise ValueError(f"`linear` must have shape (3,) (h_x, h_y, h_z); got {x.shape}.")
            if name == "quadratic":
                if x.ndim == 0 and _is_zero(x):
                    x = jnp.zeros((3, 3), real)
                if x.shape != (3, 3):
                    raise ValueError(f"`quadratic` must have shape (3, 3); got {x.shape}.")
            if name in _RATES and x.shape != ():
                raise ValueError(f"`{name}` must be a scalar rate; got shape {x.shape}.")
            arrays[name] = x
        # Traced values are not checked here (an error would abort a whole vmap batch):
        # steady_state reports non-finite ones per point (RESULTS.nonfinite).
        concrete = is_concrete(*arrays.values())
        if concrete:
            for name, x in arrays.items():
                if not bool(jnp.all(jnp.isfinite(x))):
                    raise ValueError(f"`{name}` has non-finite (NaN or inf) entries.")
                if name in _RATES and float(x) < 0:
                    raise ValueError(f"`{name}` must be a non-negative rate; got {float(x)}.")
        for name, x in arrays.items():
            setattr(self, name, x)
        self.prepared_terms = None

    # -- sizes and layout -------------------------------------------------------------------

    @property
    def n(self) -> int:
        """The full Hilbert-space dimension 2^N (not the size of the representation)."""
        return 2**self.num_spins

    def is_closed(self) -> Array:
        """True when every rate is exactly 0 (no dissipation)."""
        return jnp.all(jnp.stack([getattr(self, name) == 0 for name in _RATES]))

    @property
    def dtype(self):
        return complex_of(self.emission.dtype)

    @property
    def space(self) -> BlockSpace:
        """``(B, D, D)`` blocks ρ̃_j, block b valid on the centred square |m| ≤ j; the deflation
        state is the maximally mixed state of the symmetric block j = N/2, I_{N+1}/(N+1) (a
        single block keeps the deflation term sparse: (N+1)·Σ_j(2j+1) entries in SparseLU).
        tr ρ = Σ_j tr ρ̃_j."""
        return BlockSpace(_dicke.valid_mask(self.num_spins), identity_block=0)

    def default_preconditioner(self) -> str:
        """``"sweep"``: the block Gauss–Seidel sweep (``preconditioner.py``)."""
        return "sweep"

    def sweep_preconditioner(self, shift: float, padding_scale: Array):
        """The block Gauss–Seidel sweep (:class:`~.preconditioner.SweepPreconditioner`)."""
        return SweepPreconditioner.build(self, shift, padding_scale)

    def krylov_converges_fast(self) -> bool:
        """True: with the block sweep GMRES converges in ~20 iterations at every N measured."""
        return True

    # -- the generator ----------------------------------------------------------------------

    def _spin_bands(self, xp=jnp):
        return spin_bands(self.num_spins, self.dtype if xp is jnp else np.complex128, xp)

    def hamiltonian_bands(self, xp=jnp) -> dict[int, Array]:
        """Bands of H in every block: H_j[p, p+d] = bands[d][b, p], d = −2, …, 2.

        H = Σ_a h_a J_a + Σ_ab S_ab J_aJ_b with S = (Q + Qᵀ)/2, J_x = (J₊ + J₋)/2,
        J_y = (J₊ − J₋)/(2i), by products of the tridiagonal bands.
        """
        dtype = self.dtype if xp is jnp else np.complex128
        ops = cartesian_bands(self.num_spins, dtype, xp)
        h = xp.asarray(self.linear).astype(dtype)
        q = xp.asarray(self.quadratic)
        q = (0.5 * (q + q.T)).astype(dtype)
        bands = _band_combination([h[0], h[1], h[2]], ops)
        for a in range(3):
            for b in range(3):
                bands = _band_combination([1.0, q[a, b]], [bands, _band_product(ops[a], ops[b])])
        return {d: bands[d] for d in sorted(bands)}

    def loss_diagonal(self, xp=jnp) -> Array:
        """K = Σ_k L_k†L_k, diagonal in m in every block, ``(B, D)`` real:

        K = Γ↓(j(j+1) − m² + m) + Γ↑(j(j+1) − m² − m) + Γ_φ m² + γ↓(N/2 + m) + γ↑(N/2 − m) + γ_φ N.
        """
        t = _tables(self.num_spins, xp)
        rate = lambda name: xp.asarray(getattr(self, name))  # noqa: E731
        real = rate("emission").dtype
        j, m = t.j.astype(real), t.m.astype(real)
        half = self.num_spins / 2
        k = (
            rate("collective_emission") * (j * (j + 1) - m * m + m)
            + rate("collective_pumping") * (j * (j + 1) - m * m - m)
            + rate("collective_dephasing") * m * m
            + rate("emission") * (half + m)
            + rate("pumping") * (half - m)
            + rate("dephasing") * self.num_spins
        )
        return xp.where(t.valid, k, xp.zeros((), real))

    def prepared(self) -> PermutationInvariantLindbladian:
        """This Lindbladian with its elementary terms computed once (``prepared_terms``, arrays
        derived from the couplings and rates, so gradients flow through them): each :meth:`mv`
        is then only the weighted shifts, not the band products and Dicke tables as well."""
        if self.prepared_terms is not None:
            return self
        terms = tuple(self.terms())
        return eqx.tree_at(lambda x: x.prepared_terms, self, terms, is_leaf=lambda x: x is None)

    def terms(self, xp=jnp) -> list[_Term]:
        """L as a list of elementary terms (module docstring); arrays of ``xp``."""
        if xp is jnp and self.prepared_terms is not None:
            return list(self.prepared_terms)
        t = _tables(self.num_spins, xp)
        h = self.hamiltonian_bands(xp)
        dtype = h[0].dtype
        valid = t.valid.astype(dtype)
        cast = lambda name: xp.asarray(getattr(self, name)).astype(dtype)  # noqa: E731
        heff = dict(h)
        heff[0] = heff[0] - 0.5j * self.loss_diagonal(xp).astype(dtype)
        terms = []
        for d, band in heff.items():  # −i H_eff ρ
            terms.append(_Term((0, d, 0), -1j * band, valid))
        for (
            d,
            band,
        ) in heff.items():  # +i ρ H_eff†:  (ρ H_eff†)[p, q] = Σ_d ρ[p, q+d] H_eff[q, q+d]*
            terms.append(_Term((0, 0, d), 1j * valid, band.conj()))
        jp, jm, jz = self._spin_bands(xp)
        # Γ↓ J₋ρJ₊: J₋[p, p−1] ρ[p−1, q−1] J₊[q−1, q]
        terms.append(_Term((0, -1, -1), cast("collective_emission") * jm[-1], jm[-1]))
        # Γ↑ J₊ρJ₋: J₊[p, p+1] ρ[p+1, q+1] J₋[q+1, q]
        terms.append(_Term((0, 1, 1), cast("collective_pumping") * jp[1], jp[1]))
        terms.append(_Term((0, 0, 0), cast("collective_dephasing") * jz[0], jz[0]))
        for name, factors in _local_recycling_factors(self.num_spins, xp).items():
            for (dj, dm), u in factors:
                shift = _recycling_shift(dj, dm)
                target = (_shift(u, shift[:2]) * t.valid.astype(u.dtype)).astype(dtype)
                terms.append(_Term(shift, cast(name) * target, target))
        return terms

    def mv(self, rho: Array) -> Array:
        """L(ρ̃) blockwise: Σ over the elementary terms (module docstring); padding stays 0."""
        return _apply_terms(self.terms(), rho.astype(self.dtype))

    def adjoint_mv(self, op: Array) -> Array:
        """L†(X) for the pairing ⟨X, ρ̃⟩ = Σ_j tr(X_j† ρ̃_j) (the Heisenberg picture of PI
        observables O = ⊕ O_j ⊗ I); the transpose of :meth:`mv`, conjugated."""
        zero = jnp.zeros(self.state_shape, self.dtype)
        (out,) = jax.linear_transpose(self.mv, zero)(op.astype(self.dtype).conj())
        return out.conj()

    def effective_hamiltonian(self) -> Array:
        """H_eff,j = H_j − (i/2) K_j in every block, ``(B, D, D)`` (zero padding)."""
        bands = self.hamiltonian_bands()
        bands[0] = bands[0] - 0.5j * self.loss_diagonal().astype(self.dtype)
        size = self.num_spins + 1
        out = jnp.zeros(self.state_shape, self.dtype)
        for d, band in bands.items():
            rows = np.arange(max(0, -d), size - max(0, d))
            out = out.at[:, rows, rows + d].add(band[:, rows])
        return out

    def norm_bound(self) -> Array:
        """2 max_j ‖H_j‖_∞ + max K + Σ_t max|u_t| max|v_t| over the recycling terms ≥ ‖L‖.

        ‖H_j‖₂ ≤ its largest absolute row sum (H_j Hermitian), ‖½{K, X}‖ ≤ max K ‖X‖, and each
        recycling term is a weighted partial shift of norm ≤ max|u| max|v|.
        """
        h = self.hamiltonian_bands()
        row_sums = sum(jnp.abs(band) for band in h.values())
        bound = 2 * jnp.max(row_sums) + jnp.max(self.loss_diagonal())
        for term in self.terms()[2 * len(h) :]:
            bound = bound + jnp.max(jnp.abs(term.left)) * jnp.max(jnp.abs(term.right))
        return bound.astype(self.emission.dtype)

    def sparse_superoperator(self) -> sp.csr_matrix:
        """L on the unknowns as a SciPy CSR matrix (order of :meth:`physical_indices`), built
        with NumPy on the host from concrete arrays: not traceable (call it outside ``jit``; the
        sparse solver calls it in a host callback)."""
        shape = self.state_shape
        index = self.physical_indices()
        position = np.full(int(np.prod(shape)), -1)
        position[index] = np.arange(index.size)
        b, p, q = np.unravel_index(index, shape)
        rows, cols, vals = [], [], []
        for term in self.terms(np):
            value = term.left[b, p] * term.right[b, q]
            sb, sp_, sq = b + term.shift[0], p + term.shift[1], q + term.shift[2]
            inside = value != 0  # nonzero weights only connect unknowns to unknowns
            source = np.ravel_multi_index((sb[inside], sp_[inside], sq[inside]), shape)
            rows.append(np.flatnonzero(inside))
            cols.append(position[source])
            vals.append(value[inside])
        matrix = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(index.size, index.size),
            dtype=np.complex128,
        )
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        return matrix

    # -- conversions --------------------------------------------------------------------------

    def to_dense(self, rho: Array) -> Array:
        """The full 2^N density matrix ⊕_j ρ̃_j ⊗ I_{d_j}/d_j in the qubit basis (small N)."""
        return pi_to_dense(rho)

    def from_dense(self, rho: Array) -> Array:
        """The blocks ρ̃_j of a 2^N density matrix (its permutation-invariant part)."""
        return pi_from_dense(rho, self.num_spins)

    def symmetric_subspace(self) -> Lindbladian:
        """The dense Lindbladian of block j = N/2 alone (Hamiltonian and collective processes;
        the local rates are ignored): exact when there are no local processes."""
        return dicke_lindbladian(
            self.num_spins,
            linear=self.linear,
            quadratic=self.quadratic,
            collective_emission=self.collective_emission,
            collective_pumping=self.collective_pumping,
            collective_dephasing=self.collective_dephasing,
        )


def _is_zero(x) -> bool:
    return is_concrete(x) and bool(np.all(np.asarray(x) == 0))


def _num_spins_of(rho) -> int:
    shape = tuple(rho.shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[0] != (shape[1] - 1) // 2 + 1:
        raise ValueError(
            "`rho` must be a permutation-invariant state of shape (N//2 + 1, N + 1, N + 1); "
            f"got shape {shape}."
        )
    return shape[1] - 1


def pi_to_dense(rho: Array) -> Array:
    """ρ = ⊕_j ρ̃_j ⊗ I_{d_j}/d_j as a 2^N × 2^N matrix in the qubit basis (N ≲ 12)."""
    num_spins = _num_spins_of(rho)
    dim = 2**num_spins
    out = jnp.zeros((dim, dim), complex_of(rho.dtype))
    for b, (vectors, d) in enumerate(
        zip(_dicke.coupled_basis(num_spins), _dicke.multiplicities(num_spins), strict=True)
    ):
        block = rho[b, b : num_spins + 1 - b, b : num_spins + 1 - b]
        v = jnp.asarray(vectors, out.dtype)  # (d, 2^N, 2j+1)
        out = out + jnp.einsum("aik,kl,ajl->ij", v, block.astype(out.dtype), v.conj()) / d
    return out


def pi_from_dense(rho: Array, num_spins: int) -> Array:
    """ρ̃_j[m, m'] = Σ_α ⟨j, m, α|ρ|j, m', α⟩: the blocks of the permutation-invariant part of a
    2^N × 2^N matrix ρ (exact for a permutation-invariant ρ)."""
    num_spins = int(num_spins)
    rho = jnp.asarray(rho)
    dtype = complex_of(rho.dtype)
    shape = (_dicke.num_blocks(num_spins), num_spins + 1, num_spins + 1)
    out = jnp.zeros(shape, dtype)
    for b, vectors in enumerate(_dicke.coupled_basis(num_spins)):
        v = jnp.asarray(vectors, dtype)
        block = jnp.einsum("aik,ij,ajl->kl", v.conj(), rho.astype(dtype), v)
        out = out.at[b, b : num_spins + 1 - b, b : num_spins + 1 - b].set(block)
    return out


def dicke_lindbladian(
    num_spins: int,
    *,
    linear=(0.0, 0.0, 0.0),
    quadratic=0.0,
    collective_emission=0.0,
    collective_pumping=0.0,
    collective_dephasing=0.0,
) -> Lindbladian:
    r"""The collective-only case: a dense :class:`qdiss.Lindbladian` on spin j = N/2 (dimension
    N + 1, basis m = N/2, …, −N/2), for H = Σ_a h_a J_a + Σ_ab Q_ab (J_aJ_b + J_bJ_a)/2 and jump
    operators √Γ↓J₋, √Γ↑J₊, √Γ_φJ_z (arguments as in :class:`PermutationInvariantLindbladian`).

    Exact for N spins when every process is collective: the symmetric subspace is invariant.
    A rate that is exactly 0 and concrete is left out; a traced rate is always kept (its
    gradient at exactly 0 is NaN, through √Γ).
    """
    if isinstance(num_spins, bool) or int(num_spins) != num_spins or num_spins < 1:
        raise ValueError(f"`num_spins` must be a positive integer; got {num_spins!r}.")
    num_spins = int(num_spins)
    linear = jnp.asarray(linear)
    quadratic = jnp.asarray(quadratic)
    rates = [
        jnp.asarray(r) for r in (collective_emission, collective_pumping, collective_dephasing)
    ]
    with jax.numpy_dtype_promotion("standard"):
        real = jnp.result_type(
            linear.dtype, quadratic.dtype, *[r.dtype for r in rates], jnp.float32
        )
    if jnp.issubdtype(real, jnp.complexfloating):
        raise TypeError("couplings and rates must be real.")
    dtype = complex_of(real)
    linear, quadratic = linear.astype(real), quadratic.astype(real)
    if quadratic.ndim == 0 and _is_zero(quadratic):
        quadratic = jnp.zeros((3, 3), real)
    if linear.shape != (3,) or quadratic.shape != (3, 3):
        raise ValueError(
            f"`linear` must have shape (3,) and `quadratic` (3, 3); got {linear.shape} and "
            f"{quadratic.shape}."
        )
    j = num_spins / 2
    m = j - np.arange(num_spins + 1)
    jp = np.diag(_dicke.ladder(j, m[1:]), 1)
    jm = jp.T
    ops = [jnp.asarray(x, dtype) for x in ((jp + jm) / 2, (jp - jm) / 2j, np.diag(m))]
    h = linear.astype(dtype)
    q = (0.5 * (quadratic + quadratic.T)).astype(dtype)
    H = sum(h[a] * ops[a] for a in range(3))
    H = H + sum(q[a, b] * (ops[a] @ ops[b]) for a in range(3) for b in range(3))
    jumps = []
    for rate, op in zip(rates, (jm, jp, np.diag(m)), strict=True):
        if _is_zero(rate):
            continue
        jumps.append(jnp.sqrt(rate.astype(real)).astype(dtype) * jnp.asarray(op, dtype))
    return Lindbladian(H, jumps, dims=(num_spins + 1,))
