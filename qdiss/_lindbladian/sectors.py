r"""Lindbladians restricted to the block-diagonal states of a conserved charge.

A *weak symmetry*: an integer charge q of the basis states (a total photon parity, an excitation
number, a magnetisation, …; ``labels[i]`` is the charge of basis state i) such that H conserves
it and every jump operator changes it by a fixed amount c_k, mapping the sector S_q into S_{q+c_k}
(mod m for a Z_m charge such as a parity). Then L maps states that are block-diagonal in the
sectors, ρ = ⊕_q ρ_q, to block-diagonal states:

    L(ρ)_q = −i(H_eff,q ρ_q − ρ_q H_eff,q†) + Σ_k L_k[q ← q−c_k] ρ_{q−c_k} L_k[q ← q−c_k]†,

with H_eff,q = H_q − (i/2) Σ_k L_k[q+c_k ← q]† L_k[q+c_k ← q]. A *unique* steady state is
block-diagonal (the symmetry maps steady states to steady states), so it can be found on the
blocks alone: Σ_q d_q² unknowns instead of n², and Σ_q d_q³ work per matrix product instead of
n³ (4× less for two equal sectors, e.g. a parity).

**What the blocks cannot see.** Uniqueness is tested among block-diagonal states only. A second
steady state that is *not* block-diagonal (a stationary coherence between sectors) is invisible
here; if that matters, solve the dense Lindbladian once.

The state is a stack of ``(B, D, D)`` blocks (B sectors in increasing charge, D the largest
sector, smaller sectors padded with zeros), as for the permutation-invariant Lindbladian, so
every solver takes it; :meth:`SectorLindbladian.to_dense` maps a state back to ``(n, n)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jaxtyping import Array, Complex

from .. import _linalg
from .._numerics import is_concrete
from ._abstract import AbstractLindbladian
from ._space import BlockSpace
from .dense import _HERMITIAN_RTOL, Lindbladian, sparse_superoperator, top_level_populations

__all__ = ["SectorLindbladian"]


def _set(xp, array, index, values):
    """``array[index] = values``, functionally for JAX and in place for NumPy."""
    if xp is np:
        array[index] = values
        return array
    return array.at[index].set(values)


_LEAK_RTOL = 1e-10


def _sector_of(charge: int, sectors: tuple[int, ...], modulus: int | None) -> int:
    """Index of ``charge`` (reduced mod ``modulus``) among ``sectors``, or −1."""
    if modulus is not None:
        charge %= modulus
    return sectors.index(charge) if charge in sectors else -1


def _infer_charges(jump_ops: np.ndarray, labels: np.ndarray, modulus: int | None) -> list[int]:
    """The charge each (concrete) jump operator carries: the one value of labels[i] − labels[j]
    over its nonzero entries L[i, j]; 0 for a zero operator."""
    charges = []
    for k, op in enumerate(jump_ops):
        scale = np.max(np.abs(op), initial=0.0)
        rows, cols = np.nonzero(np.abs(op) > _LEAK_RTOL * scale)
        diff = labels[rows] - labels[cols]
        if modulus is not None:
            diff = diff % modulus
        values = np.unique(diff)
        if values.size > 1:
            raise ValueError(
                f"`jump_ops[{k}]` has no definite charge: it changes the label by "
                f"{values.tolist()}. Each jump operator must change it by one fixed amount "
                "(otherwise the symmetry is not conserved by the dissipator)."
            )
        charges.append(int(values[0]) if values.size else 0)
    return charges


class SectorLindbladian(AbstractLindbladian):
    """A Lindbladian on the block-diagonal states of a conserved charge (module docstring).

    ``SectorLindbladian(lindbladian, labels, jump_charges=None, modulus=None)``

    - ``lindbladian``: a dense :class:`qdiss.Lindbladian` (its arrays may be traced).
    - ``labels``: the charge of every basis state, n integers (static). E.g. the total photon
      parity of two modes with cutoff c: ``[(i + j) % 2 for i in range(c) for j in range(c)]``.
    - ``jump_charges``: the change of charge c_k of each jump operator (static). Inferred from
      the nonzero pattern of concrete operators when not given; required under ``jit``/``grad``
      where the operators are traced.
    - ``modulus``: m for a Z_m charge (labels and charges taken mod m, e.g. 2 for a parity);
      ``None`` for an additive charge (then L_k maps sector q to q + c_k, or to nothing).

    H must not couple different sectors and each L_k must change the charge by exactly c_k: with
    concrete arrays a violation (relative size above 1e-10) raises ``ValueError``; with traced
    arrays it raises at run time (``eqx.error_if``). The fields ``H_blocks`` ``(B, D, D)`` and
    ``jump_blocks`` ``(K, B, D, D)`` (``jump_blocks[k, s]`` = L_k from sector s to its target)
    are the pytree leaves, gathered differentiably from the dense operators.
    """

    H_blocks: Complex[Array, "B D D"]
    jump_blocks: Complex[Array, "K B D D"]
    sector_indices: tuple[tuple[int, ...], ...] = eqx.field(static=True)
    targets: tuple[tuple[int, ...], ...] = eqx.field(static=True)
    charges: tuple[int, ...] = eqx.field(static=True)
    dims: tuple[int, ...] = eqx.field(static=True)
    modes: tuple[int, ...] = eqx.field(static=True)

    def __init__(
        self,
        lindbladian: Lindbladian,
        labels: Sequence[int],
        jump_charges: Sequence[int] | None = None,
        modulus: int | None = None,
    ):
        if not isinstance(lindbladian, Lindbladian):
            raise TypeError(
                f"`lindbladian` must be a qdiss.Lindbladian; got {type(lindbladian).__name__}."
            )
        n = lindbladian.n
        labels = np.asarray(labels)
        if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"`labels` must be {n} integers (one charge per basis state); got an array of "
                f"shape {labels.shape} and dtype {labels.dtype}."
            )
        if modulus is not None:
            if int(modulus) != modulus or modulus < 2:
                raise ValueError(f"`modulus` must be an integer ≥ 2 or None; got {modulus!r}.")
            modulus = int(modulus)
            labels = labels % modulus
        H, Ls = lindbladian.H, lindbladian.jump_ops
        K = Ls.shape[0]
        if jump_charges is None:
            if not is_concrete(Ls):
                raise ValueError(
                    "`jump_charges` must be given when the jump operators are traced (under "
                    "jit/grad/vmap): their charges cannot be read from traced values."
                )
            jump_charges = _infer_charges(np.asarray(Ls), labels, modulus)
        jump_charges = [int(c) for c in jump_charges]
        if len(jump_charges) != K:
            raise ValueError(
                f"`jump_charges` must have one entry per jump operator ({K}); got "
                f"{len(jump_charges)}."
            )
        sectors = tuple(int(q) for q in np.unique(labels))
        indices = tuple(tuple(int(i) for i in np.flatnonzero(labels == q)) for q in sectors)
        targets = tuple(
            tuple(_sector_of(q + c, sectors, modulus) for q in sectors) for c in jump_charges
        )
        self.sector_indices = indices
        self.targets = targets
        self.charges = sectors
        self.dims = lindbladian.dims
        self.modes = lindbladian.modes

        index, valid = self._layout()
        target = np.asarray(targets, dtype=np.int64).reshape(K, len(sectors))
        rows = index[np.maximum(target, 0)]  # (K, B, D)
        block_mask = valid[:, :, None] & valid[:, None, :]
        jump_mask = (target >= 0)[:, :, None, None] & (
            valid[np.maximum(target, 0)][:, :, :, None] & valid[None, :, None, :]
        )
        H_blocks = jnp.where(block_mask, H[index[:, :, None], index[:, None, :]], 0)
        k = np.arange(K)[:, None, None, None]
        jump_blocks = jnp.where(
            jump_mask, Ls[k, rows[:, :, :, None], index[None, :, None, :]], 0
        ).astype(H.dtype)

        # Everything outside the blocks must vanish: H between sectors, L_k off its charge.
        h_allowed = labels[:, None] == labels[None, :]
        h_leak = jnp.max(jnp.abs(jnp.where(h_allowed, 0, H)), initial=0.0)
        h_scale = jnp.max(jnp.abs(H), initial=0.0)
        to = labels[None, :] + np.asarray(jump_charges)[:, None]  # (K, n): target charge
        if modulus is not None:
            to = to % modulus
        l_allowed = labels[None, :, None] == to[:, None, :]  # (K, rows, cols)
        l_leak = jnp.max(jnp.abs(jnp.where(l_allowed, 0, Ls)), axis=(1, 2), initial=0.0)
        l_scale = jnp.max(jnp.abs(Ls), axis=(1, 2), initial=0.0)
        if is_concrete(H, Ls):
            if float(h_leak) > _LEAK_RTOL * max(float(h_scale), 1e-300):
                raise ValueError(
                    f"`H` couples different sectors of `labels` (largest such entry "
                    f"{float(h_leak):.3g}, max |H| = {float(h_scale):.3g}): the charge is not "
                    "conserved."
                )
            for kk in range(K):
                if float(l_leak[kk]) > _LEAK_RTOL * max(float(l_scale[kk]), 1e-300):
                    raise ValueError(
                        f"`jump_ops[{kk}]` does not change the charge by jump_charges[{kk}] = "
                        f"{jump_charges[kk]} (largest entry off that pattern "
                        f"{float(l_leak[kk]):.3g})."
                    )
        else:
            bad = (h_leak > _LEAK_RTOL * h_scale) | jnp.any(l_leak > _LEAK_RTOL * l_scale)
            H_blocks = eqx.error_if(
                H_blocks, bad, "H or a jump operator does not respect the declared sectors."
            )
        self.H_blocks = H_blocks
        self.jump_blocks = jump_blocks

    # -- layout ----------------------------------------------------------------------------------

    def _layout(self) -> tuple[np.ndarray, np.ndarray]:
        """Basis index of every block row ``(B, D)`` (0 on padding) and its validity mask."""
        size = max(len(ix) for ix in self.sector_indices)
        index = np.zeros((len(self.sector_indices), size), dtype=np.int64)
        valid = np.zeros((len(self.sector_indices), size), dtype=bool)
        for b, ix in enumerate(self.sector_indices):
            index[b, : len(ix)] = ix
            valid[b, : len(ix)] = True
        return index, valid

    @property
    def n(self) -> int:
        """The full Hilbert-space dimension (not the size of the representation)."""
        return sum(len(ix) for ix in self.sector_indices)

    def hamiltonian_hermitian(self) -> Array:
        """Every block of H Hermitian to the dense constructor's tolerance (1e-8 relative)."""
        H = self.H_blocks
        herm_err = jnp.max(jnp.abs(H - jnp.swapaxes(H, -1, -2).conj()))
        return herm_err <= _HERMITIAN_RTOL * jnp.maximum(jnp.max(jnp.abs(H)), 1.0)

    def is_closed(self) -> Array:
        """True when every jump block is exactly 0 (or there are none)."""
        return ~jnp.any(self.jump_blocks != 0)

    @property
    def dtype(self):
        return self.H_blocks.dtype

    @property
    def space(self) -> BlockSpace:
        """``(B, D, D)`` blocks, block q valid in its d_q × d_q top-left corner; the deflation
        state is E = I/n written as blocks."""
        _, valid = self._layout()
        return BlockSpace(valid, trace_reads_padding=True)

    def top_level_populations(self, rho: Array) -> Array:
        """Population of the top Fock levels of each mode the wrapped Lindbladian declares
        (``modes``), from the diagonals of the blocks: the full basis populations are the block
        diagonals placed at their basis indices (a block-diagonal state has no others)."""
        index, valid = self._layout()
        diagonal = jnp.real(jnp.diagonal(rho, axis1=-2, axis2=-1))  # (B, D)
        populations = jnp.zeros(self.n, diagonal.dtype).at[index[valid]].set(diagonal[valid])
        return top_level_populations(populations, self.dims, self.modes)

    # -- the generator -----------------------------------------------------------------------

    def _scatter_targets(self, x: Array) -> Array:
        """Σ over (k, s) of x[k, s] added into block targets[k][s]: ``(K, B, D, D) → (B, D, D)``."""
        num_blocks = len(self.sector_indices)
        target = np.asarray(self.targets, dtype=np.int64).reshape(-1)
        target = np.where(target < 0, num_blocks, target)  # dropped into a spare block
        out = jnp.zeros((num_blocks + 1, *x.shape[2:]), x.dtype)
        out = out.at[target].add(x.reshape(-1, *x.shape[2:]))
        return out[:num_blocks]

    def _gather_targets(self, x: Array) -> Array:
        """x[targets[k][s]] (zero where there is no target): ``(B, D, D) → (K, B, D, D)``."""
        target = np.asarray(self.targets, dtype=np.int64)
        padded = jnp.concatenate([x, jnp.zeros_like(x[:1])])
        return padded[np.where(target < 0, x.shape[0], target)]

    def _loss_blocks(self) -> Array:
        """K_s = Σ_k L_k[s]† L_k[s] per source block."""
        return jnp.einsum("kbji,kbjl->bil", self.jump_blocks.conj(), self.jump_blocks)

    def effective_hamiltonian(self) -> Array:
        return self.H_blocks - 0.5j * self._loss_blocks()

    def mv(self, rho: Array) -> Array:
        """L(ρ) blockwise (module docstring): 2B + 2KB products of D×D matrices."""
        h_eff = self.effective_hamiltonian()
        coherent = -1j * (h_eff @ rho - rho @ jnp.swapaxes(h_eff, -1, -2).conj())
        jumps = self.jump_blocks @ rho[None] @ jnp.swapaxes(self.jump_blocks, -1, -2).conj()
        return coherent + self._scatter_targets(jumps)

    def adjoint_mv(self, op: Array) -> Array:
        """L†(X)_s = i(H_eff,s† X_s − X_s H_eff,s) + Σ_k L_k[s]† X_{t_k(s)} L_k[s]."""
        h_eff = self.effective_hamiltonian()
        coherent = 1j * (jnp.swapaxes(h_eff, -1, -2).conj() @ op - op @ h_eff)
        moved = self._gather_targets(op)
        jumps = jnp.swapaxes(self.jump_blocks, -1, -2).conj() @ moved @ self.jump_blocks
        return coherent + jnp.sum(jumps, axis=0)

    def norm_bound(self) -> Array:
        """2‖H‖₂ + 1.5‖Σ L†L‖₂ + 0.5‖Σ LL†‖₂ ≥ ‖L‖, with every norm taken blockwise (as for the
        dense Lindbladian; the operators are block-structured)."""
        h_norm = jnp.max(jnp.abs(_linalg.eigvalsh(self.H_blocks)))
        k_norm = jnp.max(_linalg.eigvalsh(self._loss_blocks()))
        out = self.jump_blocks @ jnp.swapaxes(self.jump_blocks, -1, -2).conj()
        k2_norm = jnp.max(_linalg.eigvalsh(self._scatter_targets(out)))
        return 2 * h_norm + 1.5 * k_norm + 0.5 * k2_norm

    # -- conversions ---------------------------------------------------------------------------

    def _dense_positions(self) -> np.ndarray:
        """For every unknown (order of :meth:`physical_indices`), its flat index i·n + j in ρ."""
        index, _ = self._layout()
        b, p, q = np.unravel_index(self.physical_indices(), self.state_shape)
        return index[b, p] * self.n + index[b, q]

    def to_dense(self, rho: Array) -> Array:
        """The ``(n, n)`` density matrix ⊕_q ρ_q in the original basis."""
        values = self.to_physical(rho)
        out = jnp.zeros(self.n * self.n, values.dtype).at[self._dense_positions()].set(values)
        return out.reshape(self.n, self.n)

    def from_dense(self, rho: Array) -> Array:
        """The blocks ρ_q of an ``(n, n)`` matrix (entries between sectors are dropped)."""
        return self.from_physical(rho.reshape(-1)[self._dense_positions()])

    def dense_operators(self, xp=jnp) -> tuple[Array, Array]:
        """H ``(n, n)`` and the jump operators ``(K, n, n)`` reassembled from the blocks (with
        ``xp=numpy`` on the host, from concrete arrays)."""
        index, valid = self._layout()
        n = self.n
        block_mask = valid[:, :, None] & valid[:, None, :]
        rows, cols = np.broadcast_arrays(index[:, :, None], index[:, None, :])
        H_blocks = xp.asarray(self.H_blocks)
        H = _set(
            xp,
            xp.zeros((n, n), H_blocks.dtype),
            (rows[block_mask], cols[block_mask]),
            H_blocks[block_mask],
        )
        jump_blocks = xp.asarray(self.jump_blocks)
        target = np.asarray(self.targets, dtype=np.int64)
        Ls = xp.zeros((target.shape[0], n, n), H_blocks.dtype)
        for k, row in enumerate(target):
            for s, t in enumerate(row):
                if t < 0:
                    continue
                mask = valid[t][:, None] & valid[s][None, :]
                r, c = np.broadcast_arrays(index[t][:, None], index[s][None, :])
                Ls = _set(xp, Ls, (k, r[mask], c[mask]), jump_blocks[k, s][mask])
        return H, Ls

    def sparse_superoperator(self) -> sp.csr_matrix:
        """L on the unknowns as a SciPy CSR matrix (order of :meth:`physical_indices`): the
        dense Lindbladian's sparse superoperator restricted to the block-diagonal entries, an
        invariant subspace. Host-side, from concrete arrays (not traceable)."""
        H, Ls = self.dense_operators(np)
        full = sparse_superoperator(H.astype(np.complex128), Ls.astype(np.complex128))
        positions = self._dense_positions()
        return sp.csr_matrix(full[positions][:, positions])

    def dense_lindbladian(self) -> Lindbladian:
        """The dense :class:`qdiss.Lindbladian` with the same H and jump operators."""
        H, Ls = self.dense_operators()
        return Lindbladian(H, Ls, dims=self.dims, modes=self.modes)
