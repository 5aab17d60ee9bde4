r"""One Krylov solve with its state sharded over several devices (issue 14 §5).

A :class:`StateLayout` says how the vectors GMRES works on (the right-hand side, the iterate,
the ``restart + 1`` basis vectors, which dominate memory) are laid out: with ``devices`` given,
split along the *leading axis of the state* over a one-axis ``jax.sharding.Mesh`` named
``"state"`` (the convention of ``qdiss.sweep``, whose mesh axis is ``"points"``), i.e.

- the block axis B of a ``(B, D, D)`` permutation-invariant state (each device holds B/d
  whole blocks ρ̃_j),
- the row axis of a dense ``(n, n)`` state (each device holds n/d rows of ρ).

The leading axis is padded to a multiple of the device count d with *inert* rows: zero in the
right-hand side and the start, mapped to themselves by the (preconditioned) operator, so they
stay exactly zero and change neither the answer nor the inner products (the same device as
``BlockSpace``'s zero padding with A = s·I there, one level up). Uneven shards would make
XLA's partitioner gather the state for every inner product (seen in the compiled HLO); padded,
every inner product ⟨v, w⟩ = Σ_devices Σ_local lowers to a local sum and one scalar
``all-reduce``.

The layout is pinned with ``jax.lax.with_sharding_constraint`` (GSPMD partitions the rest):
on the right-hand side and start, on the basis (``PartitionSpec(None, "state")``: every basis
vector split the same way) and on every operator output. Per device, the GMRES storage is
(restart + 2)·⌈B/d⌉·D² (or ⌈n/d⌉·n) complex numbers. On one device Krylov iterates on the
*packed* unknowns instead (Σ_j (2j+1)² ≈ N³/6 for the blocks, against B·D² ≈ N³/2 padded), so
for a permutation-invariant state the split pays in memory from d = 3 devices on (a packed,
sharded layout would need the pack/unpack gathers partitioned: not done). Dense states have no
padding: d devices hold 1/d each.

What the operator application costs across devices (the collectives XLA inserts):

- permutation-invariant: the local processes couple block b to b ± 1, a halo exchanged with
  the neighbouring devices (``collective-permute``). The sweep preconditioner's tridiagonal
  solves along b are partitioned by XLA as well: in the compiled program (N = 8, 4 devices,
  tests/test_sharded_solve.py) the GMRES loops hold only collective-permutes of at most one
  device's share, all-gathers of the (B, D) coefficient tables and scalar all-reduces; no
  all-gather or all-to-all of the state. How XLA schedules the sequential solve along the
  split axis was not examined further (its time at large d is not measured).
- dense rows: ρH† and ρK are local (H, the jump operators replicated: n² each per device),
  but Hρ and L_k ρ L_k† contract over the split row axis. XLA gathers ρ once per operator
  application (one ``all-gather`` of the n × n state per GMRES step: n²(d − 1)/d numbers
  received per device, an n × n temporary on each) and computes its own rows of L(ρ)
  locally. That gather is the price of splitting rows; the basis and the iterate, the
  restart + 2 copies of the state that dominate memory, are never gathered.

Both checked in the compiled HLO (tests/test_sharded_solve.py): inside the GMRES loop, the
inner products are scalar ``all-reduce``\ s; no all-gather of a state (permutation-invariant)
or exactly the one of ρ (dense).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["AXIS", "StateLayout", "as_devices"]

AXIS = "state"


def as_devices(devices) -> tuple[jax.Device, ...] | None:
    """``None`` (one device, no sharding), a count d (the first d of ``jax.devices()``) or a
    sequence of devices, as a tuple of devices."""
    if devices is None:
        return None
    if isinstance(devices, bool):
        raise TypeError("`devices` must be None, a number of devices or a list of devices.")
    if isinstance(devices, int | np.integer):
        available = jax.devices()
        if not 1 <= devices <= len(available):
            raise ValueError(
                f"`devices={devices}` asks for more devices than the {len(available)} "
                "available (jax.devices()); on a CPU, XLA_FLAGS="
                "--xla_force_host_platform_device_count=d (set before jax is imported) "
                "makes d host devices."
            )
        return tuple(available[: int(devices)])
    if not isinstance(devices, Sequence) or isinstance(devices, str):
        raise TypeError(
            f"`devices` must be None, a number of devices or a list of devices; got {devices!r}."
        )
    out = tuple(devices)
    if not out:
        raise ValueError("`devices` must list at least one device.")
    if len(set(out)) != len(out):
        raise ValueError("`devices` lists a device twice.")
    return out


class StateLayout(eqx.Module):
    """Where the GMRES vectors live (module docstring): ``devices`` None keeps them as they
    are (one device); otherwise the leading state axis is split over ``devices``."""

    devices: tuple[jax.Device, ...] | None = eqx.field(static=True, default=None)

    @property
    def sharded(self) -> bool:
        return self.devices is not None

    @property
    def num_devices(self) -> int:
        return 1 if self.devices is None else len(self.devices)

    def check(self, state_shape: tuple[int, ...], what: str) -> None:
        """``ValueError`` when some device would hold no row of the state at all."""
        if self.sharded and state_shape[0] < self.num_devices:
            raise ValueError(
                f"Cannot split a state of {state_shape[0]} {what} over {self.num_devices} "
                f"devices: every device must hold at least one. Use at most {state_shape[0]} "
                "devices (`devices=`), or one device for a problem this small."
            )

    def padded_rows(self, rows: int) -> int:
        """The leading axis padded to a multiple of the device count."""
        d = self.num_devices
        return math.ceil(rows / d) * d

    def _sharding(self, leading: int) -> NamedSharding:
        mesh = Mesh(np.asarray(self.devices), (AXIS,))
        return NamedSharding(mesh, PartitionSpec(*([None] * leading), AXIS))

    def constrain(self, x: jax.Array) -> jax.Array:
        """Pin one state-shaped vector to the layout (a no-op without devices)."""
        if not self.sharded:
            return x
        return jax.lax.with_sharding_constraint(x, self._sharding(0))

    def constrain_stack(self, x: jax.Array) -> jax.Array:
        """Pin a stack of vectors (leading axis: which vector) to the layout."""
        if not self.sharded:
            return x
        return jax.lax.with_sharding_constraint(x, self._sharding(1))

    def pad(self, x: jax.Array) -> jax.Array:
        """Zero rows appended to reach a multiple of the device count, then pinned."""
        extra = self.padded_rows(x.shape[0]) - x.shape[0]
        if extra:
            x = jnp.pad(x, [(0, extra)] + [(0, 0)] * (x.ndim - 1))
        return self.constrain(x)

    def unpad(self, v: jax.Array, rows: int) -> jax.Array:
        return v[:rows]

    def bytes_per_device(self, state_shape: tuple[int, ...], dtype) -> int:
        """Bytes of one state vector on each device under this layout."""
        rows = self.padded_rows(state_shape[0]) // self.num_devices
        return rows * math.prod(state_shape[1:]) * np.dtype(dtype).itemsize
