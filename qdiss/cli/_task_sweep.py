"""Task ``sweep``: figures of merit on a grid over one or two parameters with :func:`qdiss.sweep`
in blocks of points, its :class:`qdiss.SweepState` saved atomically after each block.

The block size B (``checkpoint_every``, default about 20 blocks of at least 8 points per device)
is saved with the results; a stopped run resumes from the first block not saved and gives
exactly the numbers an uninterrupted run gives (the library's blocks are the same).

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
from ._store import load_npz, save_json, save_npz, task_meta


def _block_size(task, size: int, devices: int) -> int:
    if task.checkpoint_every is not None:
        return task.checkpoint_every
    return max(8 * devices, math.ceil(size / 20))  # about 20 checkpoints


def run_sweep(ctx: Context, task) -> bool:
    import qdiss

    from .._solution import result_name

    entry, params = ctx.study.model, ctx.base_parameters(task)
    fp = ctx.fingerprint(task, params)
    axes = {a.label: a.values for a in task.axes}
    size = math.prod(v.size for v in axes.values())
    devices = len(jax.devices())
    path = ctx.results.file(f"{task.name}.npz")
    saved, state = load_npz(path), None
    if saved is not None:
        if str(saved.get("fingerprint", "")) != fp:
            ctx.results.refuse_mismatch(task.name, "a sweep")
        state = qdiss.SweepState(
            int(saved["block_size"]),
            {m: saved[f"raw.{m}"].reshape(-1) for m in task.merits},
            saved["status"].reshape(-1),
            saved["residual"].reshape(-1),
        )
    done = 0 if state is None else int(state.done.sum())

    grid = " × ".join(f"{a.label} ({a.values.size})" for a in task.axes)
    ctx.say(f"\n[{task.name}] sweep of {entry.key} over {grid} = {size} points")
    if task.start:
        ctx.say(f"  other parameters at the best point of task {task.start!r}")
    if done == size:
        ctx.say(f"  already computed: {path}")
    elif done:
        ctx.say(f"  resuming: {done}/{size} points already computed")

    if done < size:
        model0, L0 = build_model(entry, params, {}, dtype=ctx.dtype)
        merits = [resolve(name, model0, L0) for name in task.merits]

        def fn(point):
            x = {label: jnp.asarray(v, ctx.dtype) for label, v in point.items()}
            model, L = build_model(entry, params, x, dtype=ctx.dtype)
            sol = qdiss.steady_state(L, ctx.solver, throw=False)
            return {m.name: m.fn(model, L, sol.rho) for m in merits}, sol

        def on_block(state) -> bool:
            _save(ctx, task, params, fp, devices, state)
            bar.to(int(state.done.sum()))
            failed = int(np.sum(state.status > 0))
            if failed:
                bar.note(f"{failed} failed")
            pause_for_tests()
            return ctx.stop.requested

        with Progress(size, task.name, "pt", ctx.quiet, initial=done) as bar:
            try:
                result = qdiss.sweep(
                    fn,
                    axes,
                    chunk_size=task.chunk_size,
                    block_size=_block_size(task, size, devices),
                    state=state,
                    callback=on_block,
                )
            except RuntimeError as e:  # an eqx.error_if of the model: not a solver failure
                raise CLIError(
                    f"task {task.name!r}: the model rejected a point: {runtime_message(e)} The "
                    f"points computed so far are saved in {path}."
                ) from None
        state = result.state
        _save(ctx, task, params, fp, devices, state)
        ctx.check_stop()

    flat = qdiss.grid_points(axes)[2]
    ok = state.status == 0
    ctx.say(f"  {int(ok.sum())}/{size} points successful")
    failed = Counter(result_name(int(c)) for c in state.status[~ok])
    if failed:
        ctx.say("  FAILED points: " + ", ".join(f"{n} ×{k}" for n, k in sorted(failed.items())))
    for m in task.merits:
        values = np.where(ok, state.values[m], np.nan)
        if np.any(np.isfinite(values)):
            i = int(np.nanargmax(values))
            where = ", ".join(f"{label} = {flat[label][i]:.6g}" for label in axes)
            ctx.say(f"  {m}: min {np.nanmin(values):.6g}, max {np.nanmax(values):.6g} (at {where})")
    ctx.say(f"  results: {path}")
    return True


def _save(ctx, task, params, fp, devices, state) -> None:
    from .._solution import result_message, result_name

    shape = tuple(a.values.size for a in task.axes)
    status, residual, ok = state.status, state.residual, state.status == 0
    raw = {m: np.asarray(state.values[m], np.float64) for m in task.merits}
    arrays = {
        "fingerprint": np.asarray(fp),
        "block_size": np.asarray(state.block_size),
        "status": status.reshape(shape),
        "residual": residual.reshape(shape),
        "done": state.done.reshape(shape),
    }
    arrays |= {f"axis.{a.label}": a.values for a in task.axes}
    for m in task.merits:
        arrays[f"raw.{m}"] = raw[m].reshape(shape)
        arrays[f"merit.{m}"] = np.where(ok, raw[m], np.nan).reshape(shape)
    save_npz(ctx.results.file(f"{task.name}.npz"), arrays)

    import qdiss

    codes = sorted({int(c) for c in np.unique(status) if c >= 0})
    flat = qdiss.grid_points({a.label: a.values for a in task.axes})[2]
    failures = []
    for i in np.nonzero(status > 0)[0]:
        point = {label: float(v[i]) for label, v in flat.items()}
        failures.append(point | {"status": result_name(int(status[i])), "residual": residual[i]})
    axes = [
        {"key": f"axis.{a.label}", "label": a.label, "parameter": a.name, "index": a.index}
        | {"unit": ctx.unit(a.label), "scale": a.scale, "values": a.values}
        for a in task.axes
    ]
    merits = [
        {"name": m, "key": f"merit.{m}", "raw_key": f"raw.{m}"}
        | {"unit": ctx.merit_unit(m), "lower": ctx.merit_lower(m)}
        for m in task.merits
    ]
    meta = task_meta(
        ctx,
        task,
        params,
        fp,
        state.complete,
        file=f"{task.name}.npz",
        axes=axes,
        merits=merits,
        status_codes={"-1": "not computed yet", **{str(c): result_name(c) for c in codes}},
        status_messages={result_name(c): result_message(c) for c in codes},
        points=int(status.size),
        computed=int(state.done.sum()),
        successful=int(np.sum(ok)),
        failures=failures,
        block_size=state.block_size,
        devices=devices,
    )
    save_json(ctx.results.file(f"{task.name}.json"), meta)
