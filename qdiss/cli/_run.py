"""``qdiss run``: run the tasks of a study in order, each resumed from its saved results."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

from ._context import Context
from ._errors import CLIError
from ._progress import StopFlag
from ._store import ResultsDir, save_json
from ._study import Study


def environment() -> dict:
    import jax

    import qdiss

    device = jax.devices()[0]
    return {
        "qdiss": qdiss.__version__,
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [f"{d.platform}:{d.id} ({d.device_kind})" for d in jax.devices()],
        "device": f"{device.platform} ({device.device_kind})",
    }


def _header(ctx: Context, env: dict) -> None:
    from ._info import DEFAULT_STUDY

    study = ctx.study
    complex_dtype = "complex64" if study.precision == "float32" else "complex128"
    ctx.say(
        f"qdiss {env['qdiss']} · jax {env['jax']} · device: {env['device']} · "
        f"precision: {study.precision} / {complex_dtype}"
    )
    where = str(study.path)
    if study.path is not None and study.path.resolve() == DEFAULT_STUDY:
        where = f"the built-in default study, {study.path}"
    ctx.say(f"Study {study.name!r} ({where}): {len(study.tasks)} task(s)")
    if study.description:
        ctx.say(f"  {study.description}")
    ctx.say(f"Model: {study.model.key} — {study.model.summary}")
    for name, value in study.parameters.items():
        ctx.say(f"  {name} = {value.tolist() if hasattr(value, 'tolist') else value}")
    ctx.say(f"Results: {ctx.results.path}")


def run_study(
    study: Study,
    results_root: Path,
    *,
    quiet: bool = False,
    restart: bool = False,
    plots: bool = True,
    checkpoint_seconds: float = 30.0,
) -> int:
    """Run every task of ``study``; returns the exit status (0, or 1 if a task failed)."""
    started = time.perf_counter()
    import jax

    jax.config.update("jax_enable_x64", True)
    from ._build import real_dtype
    from ._plots import plot_task
    from ._registry import solver_class
    from ._task_optimize import run_optimize
    from ._task_spectrum import run_spectrum
    from ._task_steady import run_steady
    from ._task_sweep import run_sweep

    env = environment()
    results = ResultsDir(Path(results_root) / study.name)
    results.prepare(study.text, restart)
    ctx = Context(
        study=study,
        results=results,
        quiet=quiet,
        solver=solver_class(study.solver)(**study.solver_options),
        dtype=real_dtype(study.precision),
        stop=StopFlag(),
        plots=plots,
        checkpoint_seconds=checkpoint_seconds,
    )
    _header(ctx, env)
    runners = {"steady": run_steady, "sweep": run_sweep, "optimize": run_optimize}
    runners["spectrum"] = run_spectrum
    manifest = {"study": study.name, "study_file": "study.toml"}
    manifest |= {"source": None if study.path is None else str(study.path), "environment": env}
    manifest |= {"precision": study.precision, "solver": study.solver}
    manifest |= {"solver_options": study.solver_options, "model": study.model.key}
    manifest |= {"quick": study.quick, "tasks": []}
    status = {}
    ctx.stop.install()
    try:
        for task in study.tasks:
            entry = {"name": task.name, "kind": task.kind, "status": "stopped"}
            manifest["tasks"].append(entry)
            ok = runners[task.kind](ctx, task)
            entry["status"] = status[task.name] = "complete" if ok else "failed"
            files = {p.name for p in results.path.glob(f"{task.name}.*") if p.is_file()}
            if plots:
                for path in plot_task(results.path, task, study.name):
                    files.add(path.name)
                    ctx.say(f"  plot: {path}")
            entry["files"] = sorted(files)
            ctx.check_stop()
    except (CLIError, KeyboardInterrupt):
        _write_manifest(results, manifest, complete=False)
        raise
    finally:
        ctx.stop.restore()
        results.unlock()
    _write_manifest(results, manifest, complete=True)
    ctx.say(f"\nDone in {time.perf_counter() - started:.1f} s. Results: {results.path}")
    failed = [name for name, s in status.items() if s == "failed"]
    if failed:
        raise CLIError(f"task(s) {', '.join(failed)} failed; see above and {results.path}.")
    return 0


def _write_manifest(results: ResultsDir, manifest: dict, complete: bool) -> None:
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    save_json(results.file("run.json"), manifest | {"complete": complete, "updated": now})
