r"""Parameter sweeps: a function of named parameters on an outer-product grid, vmapped in chunks,
sharded over every device, with a result code per point.

**The function protocol.** ``fn(point)`` takes a dict ``{axis name: scalar}`` and returns either

- ``(values, sol)``: ``values`` any pytree of arrays, ``sol`` the :class:`qdiss.SteadyStateSolution`
  they came from (solve with ``throw=False``; a batched solution of several solves fails if any
  of them does); the point's status is ``sol.result`` and its residual ``sol.stats.residual``;
- or just ``values``; the point's status is then only a finiteness check.

A point whose solve succeeded but whose values are not finite (NaN or ±inf) is marked
``nonfinite``. A point with a non-finite coordinate is not evaluated at all (the function runs at
another point of the grid in its place, so that a ``Lindbladian`` with NaN entries cannot stop
the batch) and is marked ``nonfinite``. ``fn`` must not raise at any other point of the grid.

Example (steady-state concurrence of the two-qubit magnon-bath model over two correlations)::

    def fn(p):
        L = magnon_qubits_lindbladian({"eta": jnp.stack([p["eta1"], p["eta2"]]), ...})
        sol = qdiss.steady_state(L, qdiss.DenseLU(), throw=False)
        return {"C": x_state_concurrence(sol.rho)}, sol

    result = qdiss.sweep(fn, {"eta1": np.linspace(-1, 1, 41), "eta2": np.linspace(-1, 1, 41)})
    print(result)                   # SweepResult over eta1 (41) × eta2 (41): 1680/1681 successful
    result.values["C"]              # (41, 41), NaN where the point failed
    result.status, result.succeeded, result.residual, result.failures()

**Layout.** The grid (first axis slowest, like ``np.meshgrid(..., indexing="ij")``) is flattened
to N points, padded to a multiple of the device count D by repeating the last point, and placed
as a ``NamedSharding`` over a one-axis ``Mesh`` of the devices, reshaped to (D, N/D): an outer
``vmap`` over the device axis, which the compiler partitions over the mesh, and on each device
``jax.lax.map(..., batch_size=chunk_size)`` over its own points — vmapped chunks of
``chunk_size`` points one after another, which bounds memory. (``jax.shard_map`` is not used:
lineax rejects the sharding-annotated array types it produces.) The padding is stripped on
the way out.

**Blocks and resuming.** With ``block_size`` the flattened grid is computed in blocks of that
many points, one :func:`sweep` evaluation each (same shape, compiled once), with
``callback(state)`` after each: a :class:`SweepState` holding the values, status and residual
computed so far (``NOT_COMPUTED`` = −1 elsewhere). ``sweep(..., state=state)`` computes only the
blocks not done, and gives bit for bit the numbers of an uninterrupted sweep (the blocks, hence
the vmapped batches, are the same); ``qdiss run`` saves the state after every block.

**Iterative solvers.** A vmapped ``Krylov`` or ``Evolve`` solve iterates until its slowest point
has converged, with every point of the chunk paying for each iteration: points of very different
difficulty (e.g. across a phase transition) are cheaper with a small ``chunk_size`` (1 makes
the sweep a sequential ``lax.map``; seen once on a loaded 2-core machine, not benchmarked: 6
permutation-invariant N = 64 solves over λ ∈ [0, 1.3] took 135 s vmapped, ~1 s for one easy
point).

**Several hosts.** The sweep uses ``jax.devices()``, which after ``jax.distributed.initialize()``
lists the devices of every process: call ``jax.distributed.initialize()`` first, then call
``sweep`` with the same ``fn`` and ``axes`` in every process. Every process builds the grid
itself and places only its own shards (``jax.make_array_from_callback``); the results are
gathered to every process (``multihost_utils.process_allgather``); a sweep over one process's
devices only (``devices=jax.local_devices()``) is not gathered. Tested with two processes on one
machine (CPU devices, gloo collectives, two devices each: tests/test_sweep_multihost.py), not yet
across machines or on GPUs.

**No CPU deadlock.** jaxlib 0.10.2 deadlocked when batched LAPACK kernels ran at once (a
DenseLU sweep over two forced host devices with ``chunk_size`` ≥ 2 hung). qdiss now needs jaxlib
≥ 0.12, where that sweep (16 × 16 points, n = 12, chunks of 2) finished 3 times out of 3, and no
qdiss solve hands LAPACK a batch (``qdiss/_linalg.py``; tests/test_no_hang.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import PyTree

from ._solution import RESULTS, SteadyStateSolution, result_codes, result_name

__all__ = ["NOT_COMPUTED", "SweepResult", "SweepState", "grid_points", "sweep"]

_AXIS = "points"
_NONFINITE = int(result_codes(RESULTS.nonfinite))
NOT_COMPUTED = -1  # the status of a point not computed yet


@dataclasses.dataclass
class SweepState:
    """Where a :func:`sweep` stands: pass it back as ``sweep(..., state=state)`` (same ``fn``,
    ``axes`` and devices) to compute the blocks not done yet; the result is exactly (bit for
    bit) that of an uninterrupted sweep, since the blocks are the same.

    - ``block_size``: points per block (a multiple of the device count; fixed for the run).
    - ``values``: ``fn``'s values as computed, each leaf ``(N, ...)`` over the flattened grid
      (NaN where not computed yet); None before the first block.
    - ``status``: ``(N,)`` result codes, ``NOT_COMPUTED`` (−1) where not computed yet.
    - ``residual``: ``(N,)`` relative residuals (NaN where none).
    """

    block_size: int
    values: PyTree
    status: np.ndarray
    residual: np.ndarray

    @property
    def done(self) -> np.ndarray:
        return self.status != NOT_COMPUTED

    @property
    def complete(self) -> bool:
        return bool(np.all(self.done))


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` returns: labelled host (numpy) arrays on the grid.

    - ``names``: the axis names, in grid order; ``coords``: ``{name: 1D values}``.
    - ``values``: the pytree ``fn`` returned, each leaf of shape ``grid shape + leaf shape``,
      with NaN at failed points (floating leaves); ``raw_values``: the same as computed, failed
      points included (NaN only where a coordinate is non-finite and nothing was computed).
    - ``status``: the :class:`qdiss.RESULTS` code of each point (0 = successful), grid shape.
    - ``residual``: the steady-state relative residual of each point (NaN where ``fn`` returns
      no solution or the point was not evaluated).
    - ``num_devices``, ``chunk_size``: how the sweep ran.
    - ``state``: the :class:`SweepState` (to resume a sweep stopped by its callback).
    """

    names: tuple[str, ...]
    coords: dict[str, np.ndarray]
    values: PyTree
    raw_values: PyTree
    status: np.ndarray
    residual: np.ndarray
    num_devices: int
    chunk_size: int | None
    state: SweepState | None = None

    @property
    def complete(self) -> bool:
        """False if the callback stopped the sweep before every point was computed."""
        return bool(np.all(self.status != NOT_COMPUTED))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(self.coords[name]) for name in self.names)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def succeeded(self) -> np.ndarray:
        """Boolean mask on the grid: True where the point succeeded."""
        return self.status == 0

    @property
    def num_succeeded(self) -> int:
        return int(np.sum(self.succeeded))

    def status_names(self) -> np.ndarray:
        """The status of each point by name (an array of strings of the grid shape)."""
        names = {int(c): _status_name(int(c)) for c in np.unique(self.status)}
        return np.vectorize(names.__getitem__, otypes=[object])(self.status)

    def failures(self) -> list[dict[str, Any]]:
        """Every failed point as ``{axis name: coordinate, ..., "status": name}``."""
        out = []
        failed = ~self.succeeded & (self.status != NOT_COMPUTED)
        for index in zip(*np.nonzero(failed), strict=True):
            point = {
                name: self.coords[name][i].item() for name, i in zip(self.names, index, strict=True)
            }
            point["status"] = result_name(int(self.status[index]))
            out.append(point)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain containers: axes, values, status, residual and the success mask."""
        return {
            "axes": {name: self.coords[name] for name in self.names},
            "values": self.values,
            "status": self.status,
            "residual": self.residual,
            "succeeded": self.succeeded,
        }

    def __str__(self) -> str:
        grid = " × ".join(f"{name} ({len(self.coords[name])})" for name in self.names)
        line = f"SweepResult over {grid}: {self.num_succeeded}/{self.size} successful"
        failed = Counter(_status_name(int(c)) for c in self.status.ravel() if c != 0)
        if failed:
            line += "; failed: " + ", ".join(f"{n} ×{k}" for n, k in sorted(failed.items()))
        return line + f" (on {self.num_devices} device{'s' * (self.num_devices != 1)})"

    def __repr__(self) -> str:
        return self.__str__()


def _status_name(code: int) -> str:
    return "not_computed" if code == NOT_COMPUTED else result_name(code)


def grid_points(axes: Mapping[str, Any]) -> tuple[tuple[str, ...], dict[str, np.ndarray], dict]:
    """The flattened outer-product grid: ``(names, coords, {name: (N,) values})``, first axis
    slowest (``np.meshgrid(..., indexing="ij")`` order)."""
    if not isinstance(axes, Mapping) or not axes:
        raise TypeError("`axes` must be a non-empty dict {name: 1D array of values}.")
    names = tuple(axes)
    coords = {}
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"axis names must be strings; got {name!r}.")
        values = np.asarray(axes[name])
        if values.ndim != 1 or values.size == 0:
            raise ValueError(
                f"axis {name!r} must be a non-empty 1D array of values; got shape {values.shape}."
            )
        if not np.issubdtype(values.dtype, np.number):
            raise TypeError(f"axis {name!r} must hold numbers; got dtype {values.dtype}.")
        coords[name] = values
    mesh = np.meshgrid(*(coords[name] for name in names), indexing="ij")
    flat = {name: m.reshape(-1) for name, m in zip(names, mesh, strict=True)}
    return names, coords, flat


def _finite_coordinates(flat: dict) -> np.ndarray:
    ok = np.ones(next(iter(flat.values())).shape, dtype=bool)
    for v in flat.values():
        if np.issubdtype(v.dtype, np.inexact):
            ok &= np.isfinite(v)
    return ok


def _point_status(out) -> tuple[PyTree, jax.Array, jax.Array]:
    """(values, status code, residual) of one point from fn's output (see the protocol)."""
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], SteadyStateSolution):
        values, sol = out
        codes = jnp.ravel(result_codes(sol.result))
        status = codes[jnp.argmax(codes != 0)]
        residual = jnp.max(sol.stats.residual)
    else:
        values, status, residual = out, jnp.zeros((), jnp.int32), jnp.full((), jnp.nan)
    leaves = [jnp.asarray(x) for x in jax.tree.leaves(values)]
    finite = jnp.ones((), bool)
    for x in leaves:
        if jnp.issubdtype(x.dtype, jnp.inexact):
            finite = finite & jnp.all(jnp.isfinite(x))
    status = jnp.where((status == 0) & ~finite, _NONFINITE, status).astype(jnp.int32)
    return values, status, jnp.asarray(residual)


@eqx.filter_jit
def _evaluate(fn: Callable, mesh: Mesh, chunk_size: int | None, points: dict):
    """fn on every point of ``points`` (leaves ``(D, M)``: D devices × M points, sharded over
    the first axis). Returns (values, status, residual), leaves ``(D, M, ...)`` sharded alike.

    The device axis is an outer ``vmap``; the compiler partitions it over the mesh, so each
    device runs ``lax.map`` over its own M points with no communication.
    """

    def one(point):
        return _point_status(fn(point))

    def per_device(block):
        if chunk_size is None:
            return jax.vmap(one)(block)
        return jax.lax.map(one, block, batch_size=chunk_size)

    sharding = NamedSharding(mesh, PartitionSpec(_AXIS))
    points = jax.lax.with_sharding_constraint(points, sharding)
    out = jax.vmap(per_device)(points)
    return jax.lax.with_sharding_constraint(out, sharding)


def _to_host(x) -> np.ndarray:
    # Gather only arrays that span several processes: a sweep over this process's devices
    # alone (``devices=jax.local_devices()``) is already whole here, and gathering it would
    # stack every process's copy.
    if jax.process_count() > 1 and not x.is_fully_addressable:
        from jax.experimental import multihost_utils

        x = multihost_utils.process_allgather(x, tiled=True)
    return np.asarray(x)


def _block_index(index: np.ndarray, start: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """The grid positions of the block at ``start`` and the points it evaluates, padded to
    ``block`` by repeating its last point (so that every block has one shape)."""
    where = np.arange(start, min(start + block, index.size))
    points = index[where]
    return where, np.concatenate([points, np.full(block - points.size, points[-1])])


def sweep(
    fn: Callable[[dict], Any],
    axes: Mapping[str, Any],
    *,
    chunk_size: int | None = 32,
    devices: Sequence[jax.Device] | None = None,
    block_size: int | None = None,
    state: SweepState | None = None,
    callback: Callable[[SweepState], Any] | None = None,
) -> SweepResult:
    r"""Evaluate ``fn`` on the outer-product grid of ``axes``; see the module docstring.

    **Arguments:**

    - ``fn``: ``fn(point) -> (values, sol)`` or ``-> values``, ``point`` a dict of scalars, one
      per axis. Traced once, under ``vmap``.
    - ``axes``: ``{name: 1D values}``; the grid is their outer product, first axis slowest.
    - ``chunk_size``: points vmapped together on a device at a time (bounds memory; default
      32); None vmaps all of a device's points at once — on the CPU backend a 256-point
      unchunked sweep of DenseLU solves hung inside XLA (every thread idle), while the same
      sweep in chunks of 32 ran (see benchmarks/README.md), hence the default.
    - ``devices``: the devices to shard over (default ``jax.devices()``: every device of every
      process).
    - ``block_size``: the flattened grid is computed in blocks of this many points (rounded up
      to a multiple of the device count; the last block is padded by repeating its last point,
      so that every block is compiled once), one block after another, with ``callback`` called
      after each; default None: the whole grid is one block.
    - ``state``: a :class:`SweepState` to resume (``result.state``, or the one a callback
      received): only its blocks not done yet are computed, with its ``block_size``.
    - ``callback``: ``callback(state)`` after every block (to save the state, show progress);
      if it returns True the sweep stops there, its points not computed marked ``NOT_COMPUTED``.
      The state is the sweep's own, filled in place by later blocks: save or copy it there.

    **Returns:** a :class:`SweepResult`.
    """
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"`chunk_size` must be a positive integer or None; got {chunk_size!r}.")
    if block_size is not None and (not isinstance(block_size, int) or block_size < 1):
        raise ValueError(f"`block_size` must be a positive integer or None; got {block_size!r}.")
    names, coords, flat = grid_points(axes)
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("`devices` must list at least one device.")

    size = next(iter(flat.values())).shape[0]
    finite = _finite_coordinates(flat)
    if not np.any(finite):
        raise ValueError("No point of the grid has finite coordinates: nothing to evaluate.")
    stand_in = int(np.argmax(finite))  # evaluated in place of points with non-finite coordinates
    index = np.where(finite, np.arange(size), stand_in)
    num = len(devices)
    if state is None:
        block = size if block_size is None else min(block_size, size)
        block = -(-block // num) * num
        state = SweepState(
            block, None, np.full(size, NOT_COMPUTED, np.int32), np.full(size, np.nan)
        )
    else:
        if state.status.shape != (size,) or state.block_size % num:
            raise ValueError("`state` belongs to a sweep over another grid or device count.")
        state = dataclasses.replace(
            state,
            values=jax.tree.map(np.array, state.values),
            status=np.array(state.status),
            residual=np.array(state.residual),
        )
    block = state.block_size

    mesh = Mesh(np.asarray(devices), (_AXIS,))
    sharding = NamedSharding(mesh, PartitionSpec(_AXIS))
    dtypes = {name: jnp.asarray(values).dtype for name, values in flat.items()}  # JAX's dtype

    def to_host(x):
        x = _to_host(x)
        return x.reshape((block,) + x.shape[2:])

    for start in range(0, size, block):
        where, points_index = _block_index(index, start, block)
        if state.done[where].all():
            continue
        points = {}
        for name, values in flat.items():
            host = values[points_index].astype(dtypes[name]).reshape(num, block // num)
            points[name] = jax.make_array_from_callback(
                host.shape, sharding, lambda i, host=host: host[i]
            )
        raw, status, residual = jax.tree.map(to_host, _evaluate(fn, mesh, chunk_size, points))
        if state.values is None:
            state.values = jax.tree.map(
                lambda x: np.full(
                    (size,) + x.shape[1:],
                    np.nan if np.issubdtype(x.dtype, np.inexact) else 0,
                    x.dtype,
                ),
                raw,
            )
        n = where.size
        for leaf, new in zip(jax.tree.leaves(state.values), jax.tree.leaves(raw), strict=True):
            leaf[where] = new[:n]
            if np.issubdtype(leaf.dtype, np.inexact):
                leaf[where[~finite[where]]] = np.nan  # nothing computed there
        state.status[where] = np.where(finite[where], status[:n], _NONFINITE)
        state.residual[where] = np.where(finite[where], residual[:n], np.nan)
        if callback is not None and callback(state):
            break

    shape = tuple(len(coords[name]) for name in names)
    ok = state.status == 0

    def to_grid(x, mask_failed: bool):
        x = np.array(x)
        if mask_failed and np.issubdtype(x.dtype, np.inexact):
            x[~ok] = np.nan
        return x.reshape(shape + x.shape[1:])

    return SweepResult(
        names=names,
        coords=coords,
        values=jax.tree.map(lambda x: to_grid(x, True), state.values),
        raw_values=jax.tree.map(lambda x: to_grid(x, False), state.values),
        status=state.status.reshape(shape).copy(),
        residual=state.residual.reshape(shape).astype(np.float64),
        num_devices=num,
        chunk_size=chunk_size,
        state=state,
    )
