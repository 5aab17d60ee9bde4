r"""State spaces of the representations of a Lindbladian.

A representation stores a state as an array of ``shape``: a stack of square blocks
``(..., k, k)`` that together form a block-diagonal density matrix. Two spaces cover every
representation in qdiss:

- :class:`DenseSpace` ``(n, n)``: one block, every entry an unknown.
- :class:`BlockSpace` ``(B, D, D)``: B blocks padded to a common size D; in block b only the
  rows/columns marked ``valid[b]`` hold unknowns, the other entries (*padding*) are kept
  exactly zero. Symmetry sectors (valid: the top-left d_q × d_q corner) and the
  permutation-invariant blocks ρ̃_j (valid: the centred square |m| ≤ j) are both of this kind.

A space answers the questions a solver asks about the layout, all static (NumPy, from shapes
only): which entries are unknowns (:meth:`padding_mask`, :meth:`physical_indices`, pack/unpack
:meth:`to_physical` / :meth:`from_physical`), the trace tr ρ = Σ W ⊙ ρ (:meth:`trace_weights`),
and the fixed state E with tr E = 1 that deflates L (:meth:`identity_state`).

**Structure inside the program.** The NumPy answers are for host-side code (SciPy matrices,
shapes). Inside a traced program the same structure is *computed* from ``iota`` and a few
numbers per block (:meth:`AbstractSpace.padding_array`, :meth:`AbstractSpace.identity_array`, the
index maps of pack/unpack), never embedded as constants: a constant of ``shape`` (10⁶–10⁷ entries
for the permutation-invariant blocks at N = 100–300) would be copied into the program at every
call site, and XLA's compile time grows with it. XLA never constant-folds ``iota``, so these
stay a handful of instructions whatever the size.
"""

from __future__ import annotations

import abc
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _linalg

__all__ = ["AbstractSpace", "BlockSpace", "DenseSpace"]


class AbstractSpace(eqx.Module):
    """The layout of the states of one representation (module docstring). Static: no leaves."""

    @property
    @abc.abstractmethod
    def shape(self) -> tuple[int, ...]:
        """Shape of one state."""

    @abc.abstractmethod
    def padding_mask(self) -> np.ndarray | None:
        """Static NumPy bool array of ``shape``, True on padding entries (not unknowns);
        ``None`` when every entry is an unknown."""

    @abc.abstractmethod
    def trace_weights(self) -> np.ndarray:
        """Static NumPy array W of ``shape`` with tr ρ = Σ W ⊙ ρ."""

    @abc.abstractmethod
    def trace(self, rho: Array) -> Array:
        """tr ρ (padding excluded)."""

    @abc.abstractmethod
    def identity_state(self) -> np.ndarray:
        """E, a fixed static state with tr E = 1 (the deflation term of ``steady_state``)."""

    def physical_indices(self) -> np.ndarray:
        """Flat (row-major) indices into ``shape`` of the unknowns (the packed order)."""
        mask = self.padding_mask()
        size = int(np.prod(self.shape))
        return np.arange(size) if mask is None else np.flatnonzero(~mask)

    def num_unknowns(self) -> int:
        """Number of unknowns (entries that are not padding)."""
        return int(self.physical_indices().size)

    def padding_array(self) -> Array | None:
        """:meth:`padding_mask` as an array of the traced program (``None``: no padding)."""
        mask = self.padding_mask()
        return None if mask is None else jnp.asarray(mask)

    def identity_array(self, dtype) -> Array:
        """:meth:`identity_state` as an array of ``dtype`` in the traced program."""
        return jnp.asarray(self.identity_state(), dtype=dtype)

    def to_physical(self, x: Array) -> Array:
        """Pack: the unknowns of a state ``x`` as a flat vector (order of
        :meth:`physical_indices`)."""
        flat = x.reshape(-1)
        return flat if self.padding_mask() is None else flat[self.physical_indices()]

    def from_physical(self, v: Array) -> Array:
        """Unpack, the inverse of :meth:`to_physical`: the state with these unknowns and zero
        padding."""
        if self.padding_mask() is None:
            return v.reshape(self.shape)
        full = jnp.zeros(int(np.prod(self.shape)), v.dtype)
        index = self.physical_indices()
        full = full.at[index].set(v, indices_are_sorted=True, unique_indices=True)
        return full.reshape(self.shape)

    def hermitian_part(self, rho: Array) -> Array:
        """(ρ + ρ†)/2, block by block."""
        return 0.5 * (rho + jnp.swapaxes(rho, -1, -2).conj())

    def min_eigenvalue(self, rho: Array) -> Array:
        """Smallest eigenvalue of a Hermitian state ρ over its blocks (padding excluded: the
        padded diagonal entries are lifted above every eigenvalue)."""
        mask = self.padding_array()
        if mask is not None:
            padded_diagonal = jnp.diagonal(mask, axis1=-2, axis2=-1)
            lift = (1 + jnp.linalg.norm(rho)).astype(rho.dtype)  # above every eigenvalue
            eye = jnp.eye(rho.shape[-1], dtype=rho.dtype)
            rho = rho + jnp.where(padded_diagonal, lift, 0)[..., None] * eye
        return jnp.min(_linalg.eigvalsh(rho))


class DenseSpace(AbstractSpace):
    """``(n, n)`` density matrices: every entry an unknown, tr ρ = Σ ρ_ii, E = I/n."""

    n: int = eqx.field(static=True)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.n)

    def padding_mask(self) -> None:
        return None

    def trace_weights(self) -> np.ndarray:
        return np.eye(self.n)

    def trace(self, rho: Array) -> Array:
        return jnp.trace(rho)

    def identity_state(self) -> np.ndarray:
        return np.eye(self.n) / self.n

    def identity_array(self, dtype) -> Array:
        """I/n, computed in the program (no n × n constant)."""
        return (jnp.eye(self.n, dtype=_real_default()) / self.n).astype(dtype)


class BlockSpace(AbstractSpace):
    """``(B, D, D)`` stacks of blocks: block b has unknowns on rows and columns p with
    ``valid[b][p]`` (its d_b × d_b square), zero padding elsewhere.

    ``BlockSpace(valid, identity_block=None, trace_reads_padding=False)``: ``valid`` a (B, D)
    bool table (static, stored as nested tuples). tr ρ = Σ_b Σ_{p valid} ρ_b[p, p]. The
    deflation state is E = ⊕_b I_b / n with n = Σ_b d_b (``identity_block=None``), or the
    maximally mixed state of one block, I_b / d_b in block ``identity_block`` and zero
    elsewhere (a sparse deflation term).
    """

    valid: tuple[tuple[bool, ...], ...] = eqx.field(static=True)
    identity_block: int | None = eqx.field(static=True, default=None)
    trace_reads_padding: bool = eqx.field(static=True, default=False)

    intervals: tuple[tuple[int, int], ...] | None = eqx.field(static=True, default=None)

    def __init__(self, valid, identity_block: int | None = None, trace_reads_padding: bool = False):
        valid = np.asarray(valid, dtype=bool)
        if valid.ndim != 2:
            raise ValueError(f"`valid` must be a (B, D) table; got shape {valid.shape}.")
        self.valid = tuple(tuple(bool(v) for v in row) for row in valid)
        self.identity_block = identity_block
        self.trace_reads_padding = bool(trace_reads_padding)
        self.intervals = _intervals(valid)

    # -- the structure computed inside the program (module docstring) ---------------------------

    def _block_table(self, column: int) -> Array:
        """(B,) int32: lo (column 0) or hi (column 1) of every block's interval."""
        return jnp.asarray(np.asarray(self.intervals, dtype=np.int32)[:, column])

    def valid_jnp(self) -> Array:
        """``valid`` as a (B, D) bool array of the program: lo_b ≤ p < hi_b from ``iota``
        (blocks whose unknowns are one interval of positions; else the table itself)."""
        if self.intervals is None:
            return jnp.asarray(self.valid_array())
        num_blocks, size, _ = self.shape
        p = jax.lax.broadcasted_iota(jnp.int32, (num_blocks, size), 1)
        return (p >= self._block_table(0)[:, None]) & (p < self._block_table(1)[:, None])

    def padding_array(self) -> Array:
        valid = self.valid_jnp()
        return ~(valid[:, :, None] & valid[:, None, :])

    def identity_array(self, dtype) -> Array:
        if self.intervals is None:
            return super().identity_array(dtype)
        num_blocks, size, _ = self.shape
        valid = self.valid_jnp()
        eye = jnp.eye(size, dtype=bool)
        weights = (valid[:, :, None] & eye).astype(_real_default())
        if self.identity_block is None:
            return (weights / self.num_unknowns_diagonal()).astype(dtype)
        lo, hi = self.intervals[self.identity_block]
        b = jax.lax.broadcasted_iota(jnp.int32, (num_blocks, 1, 1), 0)
        return jnp.where(b == self.identity_block, weights / (hi - lo), 0).astype(dtype)

    def num_unknowns_diagonal(self) -> int:
        """Σ_b d_b, the dimension of the block-diagonal space (tr I)."""
        return int(self.valid_array().sum())

    def num_unknowns(self) -> int:
        if self.intervals is None:
            return super().num_unknowns()
        return int(sum((hi - lo) ** 2 for lo, hi in self.intervals))

    def _offsets(self) -> np.ndarray:
        """(B + 1,) start of every block in the packed vector: Σ_{b' < b} d_b'²."""
        sizes = np.asarray([(hi - lo) ** 2 for lo, hi in self.intervals], dtype=np.int64)
        return np.concatenate([[0], np.cumsum(sizes)])

    def to_physical(self, x: Array) -> Array:
        """Pack (the unknowns of ``x``, row-major over (b, p, q)): a gather whose indices are
        computed in the program (module docstring)."""
        if self.intervals is None:
            return super().to_physical(x)
        num_blocks, size, _ = self.shape
        offsets = self._offsets()
        k = jax.lax.iota(jnp.int32, self.num_unknowns())
        starts = jnp.asarray(offsets[1:-1].astype(np.int32))
        b = jnp.searchsorted(starts, k, side="right").astype(jnp.int32)
        lo, hi = self._block_table(0)[b], self._block_table(1)[b]
        d = hi - lo
        r = k - jnp.asarray(offsets[:-1].astype(np.int32))[b]
        p, q = lo + r // d, lo + r % d
        return x.reshape(-1)[(b * size + p) * size + q]

    def from_physical(self, v: Array) -> Array:
        """Unpack: every entry of the state read from its position in ``v`` (zero on padding),
        a gather with indices computed in the program."""
        if self.intervals is None:
            return super().from_physical(v)
        num_blocks, size, _ = self.shape
        shape = (num_blocks, size, size)
        p = jax.lax.broadcasted_iota(jnp.int32, shape, 1)
        q = jax.lax.broadcasted_iota(jnp.int32, shape, 2)
        lo, hi = self._block_table(0)[:, None, None], self._block_table(1)[:, None, None]
        inside = (p >= lo) & (p < hi) & (q >= lo) & (q < hi)
        start = jnp.asarray(self._offsets()[:-1].astype(np.int32))[:, None, None]
        index = jnp.where(inside, start + (p - lo) * (hi - lo) + (q - lo), 0)
        return jnp.where(inside, v[index], 0).astype(v.dtype)

    def valid_array(self) -> np.ndarray:
        """``valid`` as a NumPy (B, D) bool array."""
        return np.asarray(self.valid, dtype=bool)

    @property
    def shape(self) -> tuple[int, int, int]:
        num_blocks, size = len(self.valid), len(self.valid[0])
        return (num_blocks, size, size)

    def padding_mask(self) -> np.ndarray:
        valid = self.valid_array()
        return ~(valid[:, :, None] & valid[:, None, :])

    def physical_indices(self) -> np.ndarray:
        return _physical_indices(self.valid)

    def trace_weights(self) -> np.ndarray:
        """W = 1 on the valid diagonal entries of every block, 0 elsewhere."""
        valid = self.valid_array()
        return valid[:, :, None] * np.eye(valid.shape[1])

    def trace(self, rho: Array) -> Array:
        """tr ρ = Σ_b tr ρ_b (padding excluded; with ``trace_reads_padding`` the sum of every
        diagonal entry, equal for states with zero padding, the formula the sector
        representation has always used, kept so that its results stay bit-for-bit the same)."""
        if self.trace_reads_padding:
            return jnp.sum(jnp.diagonal(rho, axis1=-2, axis2=-1))
        valid = self.valid_jnp()
        diag = jnp.diagonal(rho, axis1=-2, axis2=-1)
        return jnp.sum(jnp.where(valid, diag, 0))

    def identity_state(self) -> np.ndarray:
        weights = self.trace_weights()
        if self.identity_block is None:
            return weights / int(self.valid_array().sum())
        e = np.zeros(weights.shape)
        block = weights[self.identity_block]
        e[self.identity_block] = block / block.sum()
        return e


def _real_default():
    """float64 under ``jax_enable_x64``, else float32."""
    return jnp.zeros(()).dtype


def _intervals(valid: np.ndarray) -> tuple[tuple[int, int], ...] | None:
    """(lo, hi) of every row whose True entries are the positions lo ≤ p < hi, or None when
    some row is not one interval (or is empty)."""
    out = []
    for row in valid:
        where = np.flatnonzero(row)
        if where.size == 0 or where[-1] - where[0] + 1 != where.size:
            return None
        out.append((int(where[0]), int(where[-1]) + 1))
    return tuple(out)


@functools.lru_cache(maxsize=32)
def _physical_indices(valid: tuple[tuple[bool, ...], ...]) -> np.ndarray:
    """Flat indices of the unknowns of a ``BlockSpace`` (cached: asked at every trace)."""
    table = np.asarray(valid, dtype=bool)
    index = np.flatnonzero((table[:, :, None] & table[:, None, :]).reshape(-1))
    index.setflags(write=False)
    return index
