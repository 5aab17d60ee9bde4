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

from ._build import runtime_message
from ._context import Context, pause_for_tests
from ._errors import CLIError
from ._merits import merit_solver
from ._progress import progress_bar
from ._store import load_npz, save_results


def run_sweep(ctx: Context, task) -> bool:
    """Run (or resume, or load) the task; print its summary (failed points do not fail it)."""
    import qdiss

    from .._solution import result_name

    params = ctx.base_parameters(task)
    fp = ctx.fingerprint(task, params)
    axes = {a.label: a.values for a in task.axes}
    size = math.prod(v.size for v in axes.values())
    path = ctx.results.file(f"{task.name}.npz")
    saved, state = load_npz(path), None
    if saved is not None:
        if str(saved.get("fingerprint", "")) != fp:
            ctx.results.refuse_mismatch(task.name, "a sweep")
        raw = {m: saved[f"raw.{m}"].reshape(-1) for m in task.merits}
        flat = (saved[k].reshape(-1) for k in ("status", "residual"))
        state = qdiss.SweepState(int(saved["block_size"]), raw, *flat)
    done = 0 if state is None else int(state.done.sum())

    grid = " × ".join(f"{a.label} ({a.values.size})" for a in task.axes)
    ctx.say(f"\n[{task.name}] sweep of {ctx.study.model.key} over {grid} = {size} points")
    if task.start:
        ctx.say(f"  other parameters at the best point of task {task.start!r}")
    if done == size:
        ctx.say(f"  already computed: {path}")
    elif done:
        ctx.say(f"  resuming: {done}/{size} points already computed")
    if done < size:
        state = _compute(ctx, task, params, fp, axes, (size, done, state))

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


def _compute(ctx: Context, task, params, fp, axes, progress):
    """The blocks not computed yet, each saved as it comes; returns the final state."""
    import qdiss

    size, done, state = progress
    _, values = merit_solver(ctx, params, task.merits)
    devices = len(jax.devices())
    block = task.checkpoint_every or max(8 * devices, math.ceil(size / 20))  # ~20 checkpoints

    def on_block(state) -> bool:
        _save(ctx, task, params, fp, devices, state)
        bar.update(int(state.done.sum()) - bar.n)
        failed = int(np.sum(state.status > 0))
        if failed:
            bar.set_postfix_str(f"{failed} failed", refresh=False)
        pause_for_tests()
        return ctx.stop.requested

    with progress_bar(size, task.name, "pt", ctx.quiet, initial=done) as bar:
        try:
            result = qdiss.sweep(
                lambda point: values({k: jnp.asarray(v, ctx.dtype) for k, v in point.items()}),
                axes,
                chunk_size=task.chunk_size,
                block_size=block,
                state=state,
                callback=on_block,
            )
        except RuntimeError as e:  # an eqx.error_if of the model: not a solver failure
            raise CLIError(
                f"task {task.name!r}: the model rejected a point: {runtime_message(e)} The "
                f"points computed so far are saved in {ctx.results.file(task.name + '.npz')}."
            ) from None
    _save(ctx, task, params, fp, devices, result.state)
    ctx.check_stop()
    return result.state


def _save(ctx, task, params, fp, devices, state) -> None:
    """``<task>.npz``: the grid's axes, the figures of merit (NaN where the solve failed, and
    as computed), status, residual; ``<task>.json``: what each array is and every failure."""
    import qdiss

    from .._solution import result_message, result_name

    shape = tuple(a.values.size for a in task.axes)
    status, residual, ok = state.status, state.residual, state.status == 0
    arrays = {"fingerprint": np.asarray(fp), "block_size": np.asarray(state.block_size)}
    arrays |= {"status": status, "residual": residual, "done": state.done}
    for m in task.merits:
        arrays[f"raw.{m}"] = np.asarray(state.values[m], np.float64)
        arrays[f"merit.{m}"] = np.where(ok, arrays[f"raw.{m}"], np.nan)
    arrays = {k: v.reshape(shape) if v.ndim else v for k, v in arrays.items()}
    arrays |= {f"axis.{a.label}": a.values for a in task.axes}
    codes = sorted({int(c) for c in np.unique(status) if c >= 0})
    flat = qdiss.grid_points({a.label: a.values for a in task.axes})[2]
    failures = [
        {label: float(v[i]) for label, v in flat.items()}
        | {"status": result_name(int(status[i])), "residual": residual[i]}
        for i in np.nonzero(status > 0)[0]
    ]
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
    save_results(
        ctx,
        task,
        params,
        fp,
        state.complete,
        arrays,
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
