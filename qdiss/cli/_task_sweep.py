"""Task ``sweep``: figures of merit on a grid over one or two parameters, computed in blocks of
points (one :func:`qdiss.sweep` call per block), each block saved before the next starts.

The grid (first axis slowest) is flattened to N points and cut into blocks of B points (B fixed
for the whole run and saved with it; the last block is padded by repeating its last point, so
that every block has the same shape and is compiled once). A run that is stopped resumes from
the first block not saved, and gives exactly the numbers an uninterrupted run gives.

Files: ``<task>.npz`` (arrays on the grid) and ``<task>.json`` (what they mean); see the README.
"""

from __future__ import annotations

import math
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np

from ._build import build_model, runtime_message
from ._context import Context, pause_for_tests
from ._errors import CLIError
from ._merits import resolve
from ._progress import Progress
from ._store import load_npz, save_json, save_npz

__all__ = ["NOT_COMPUTED", "run_sweep"]

NOT_COMPUTED = -1  # status of a point not computed yet


def _block_size(task, size: int, devices: int) -> int:
    if task.checkpoint_every is not None:
        block = task.checkpoint_every
    else:  # about 20 checkpoints, at least 8 points per device
        block = max(8 * devices, math.ceil(size / 20))
    block = min(block, size + (-size) % devices)
    return -(-block // devices) * devices


def run_sweep(ctx: Context, task) -> bool:
    import qdiss

    from .._solution import result_name

    study = ctx.study
    entry = study.model
    params = ctx.base_parameters(task)
    fp = ctx.fingerprint(task, params)
    labels = [a.label for a in task.axes]
    shape = tuple(a.values.size for a in task.axes)
    size = math.prod(shape)
    mesh = np.meshgrid(*(a.values for a in task.axes), indexing="ij")
    flat = {label: m.reshape(-1) for label, m in zip(labels, mesh, strict=True)}
    devices = len(jax.devices())

    path = ctx.results.file(f"{task.name}.npz")
    saved = load_npz(path)
    if saved is not None and str(saved.get("fingerprint", "")) != fp:
        ctx.results.refuse_mismatch(task.name, "a sweep")
    if saved is not None:
        block = int(saved["block_size"])
        raw = {m: saved[f"raw.{m}"].reshape(-1).copy() for m in task.merits}
        status = saved["status"].reshape(-1).copy()
        residual = saved["residual"].reshape(-1).copy()
    else:
        block = _block_size(task, size, devices)
        raw = {m: np.full(size, np.nan) for m in task.merits}
        status = np.full(size, NOT_COMPUTED, dtype=np.int32)
        residual = np.full(size, np.nan)
    done = status != NOT_COMPUTED

    grid = " × ".join(f"{a.label} ({a.values.size})" for a in task.axes)
    ctx.say(f"\n[{task.name}] sweep of {entry.key} over {grid} = {size} points")
    if task.start:
        ctx.say(f"  other parameters at the best point of task {task.start!r}")
    if done.all():
        ctx.say(f"  already computed: {path}")
    elif done.any():
        ctx.say(f"  resuming: {int(done.sum())}/{size} points already computed")

    def save(complete: bool):
        _save(ctx, task, params, fp, block, devices, flat, raw, status, residual, complete)

    if not done.all():
        model0, L0 = build_model(entry, params, {}, dtype=ctx.dtype)
        merits = [resolve(name, model0, L0) for name in task.merits]
        table = {label: jnp.asarray(flat[label], dtype=ctx.dtype) for label in labels}

        def fn(point):
            i = point["index"]
            model, L = build_model(
                entry, params, {label: table[label][i] for label in labels}, dtype=ctx.dtype
            )
            sol = qdiss.steady_state(L, ctx.solver, throw=False)
            return {m.name: m.fn(model, L, sol.rho) for m in merits}, sol

        with Progress(size, task.name, "pt", ctx.quiet, initial=int(done.sum())) as bar:
            for start in range(0, size, block):
                index = np.arange(start, min(start + block, size))
                if done[index].all():
                    continue
                padded = np.concatenate([index, np.full(block - index.size, index[-1])])
                try:
                    result = qdiss.sweep(fn, {"index": padded}, chunk_size=task.chunk_size)
                except RuntimeError as e:  # an eqx.error_if of the model: not a solver failure
                    save(False)
                    raise CLIError(
                        f"task {task.name!r}: the model rejected a point of the block "
                        f"{start}..{index[-1]}: {runtime_message(e)} The points computed so far "
                        f"are saved in {path}."
                    ) from None
                n = index.size
                for m in task.merits:
                    raw[m][index] = np.asarray(result.raw_values[m], dtype=np.float64)[:n]
                status[index] = result.status[:n]
                residual[index] = result.residual[:n]
                save(False)
                bar.update(n)
                failed = int(np.sum((status != 0) & (status != NOT_COMPUTED)))
                if failed:
                    bar.note(f"{failed} failed")
                pause_for_tests()
                ctx.check_stop()
        save(True)

    ok = status == 0
    ctx.say(f"  {int(ok.sum())}/{size} points successful")
    failed = Counter(result_name(int(c)) for c in status[~ok])
    if failed:
        ctx.say("  FAILED points: " + ", ".join(f"{n} ×{k}" for n, k in sorted(failed.items())))
    for m in task.merits:
        values = np.where(ok, raw[m], np.nan)
        if np.any(np.isfinite(values)):
            i = int(np.nanargmax(values))
            where = ", ".join(f"{label} = {flat[label][i]:.6g}" for label in labels)
            ctx.say(f"  {m}: min {np.nanmin(values):.6g}, max {np.nanmax(values):.6g} (at {where})")
    ctx.say(f"  results: {path}")
    return True


def _save(ctx, task, params, fp, block, devices, flat, raw, status, residual, complete):
    from .._solution import result_message, result_name

    shape = tuple(a.values.size for a in task.axes)
    ok = status == 0
    arrays = {
        "fingerprint": np.asarray(fp),
        "block_size": np.asarray(block),
        "status": status.reshape(shape),
        "residual": residual.reshape(shape),
        "done": (status != NOT_COMPUTED).reshape(shape),
    }
    for a in task.axes:
        arrays[f"axis.{a.label}"] = a.values
    for m in task.merits:
        arrays[f"raw.{m}"] = raw[m].reshape(shape)
        arrays[f"merit.{m}"] = np.where(ok, raw[m], np.nan).reshape(shape)
    save_npz(ctx.results.file(f"{task.name}.npz"), arrays)

    codes = sorted({int(c) for c in np.unique(status) if c != NOT_COMPUTED})
    failures = []
    for i in np.nonzero((status != 0) & (status != NOT_COMPUTED))[0]:
        point = {label: float(flat[label][i]) for label in flat}
        point["status"] = result_name(int(status[i]))
        point["residual"] = float(residual[i])
        failures.append(point)
    study = ctx.study
    meta = {
        "task": task.name,
        "kind": "sweep",
        "complete": complete,
        "fingerprint": fp,
        "file": f"{task.name}.npz",
        "model": study.model.key,
        "solver": study.solver,
        "solver_options": study.solver_options,
        "precision": study.precision,
        "parameters": params,
        "start": task.start,
        "axes": [
            {
                "key": f"axis.{a.label}",
                "label": a.label,
                "parameter": a.name,
                "index": a.index,
                "unit": ctx.unit(a.label),
                "scale": a.scale,
                "values": a.values,
            }
            for a in task.axes
        ],
        "merits": [
            {
                "name": m,
                "key": f"merit.{m}",
                "raw_key": f"raw.{m}",
                "unit": ctx.merit_unit(m),
                "lower": ctx.merit_lower(m),
            }
            for m in task.merits
        ],
        "status_codes": {
            str(NOT_COMPUTED): "not computed yet",
            **{str(c): result_name(c) for c in codes},
        },
        "status_messages": {result_name(c): result_message(c) for c in codes},
        "points": int(status.size),
        "computed": int(np.sum(status != NOT_COMPUTED)),
        "successful": int(np.sum(ok)),
        "failures": failures,
        "block_size": block,
        "devices": devices,
    }
    save_json(ctx.results.file(f"{task.name}.json"), meta)
