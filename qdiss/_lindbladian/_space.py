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
"""

from __future__ import annotations

import abc

import equinox as eqx
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
        mask = self.padding_mask()
        if mask is not None:
            padded_diagonal = jnp.asarray(np.diagonal(mask, axis1=-2, axis2=-1))
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

    def __init__(self, valid, identity_block: int | None = None, trace_reads_padding: bool = False):
        valid = np.asarray(valid, dtype=bool)
        if valid.ndim != 2:
            raise ValueError(f"`valid` must be a (B, D) table; got shape {valid.shape}.")
        self.valid = tuple(tuple(bool(v) for v in row) for row in valid)
        self.identity_block = identity_block
        self.trace_reads_padding = bool(trace_reads_padding)

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
        valid = jnp.asarray(self.valid_array())
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
