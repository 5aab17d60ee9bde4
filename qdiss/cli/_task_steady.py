"""Task ``steady``: one steady state, its figures of merit and (optionally) their gradients with
respect to every real parameter, by implicit differentiation through the solve."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._context import Context, format_value
from ._merits import merit_solver
from ._store import load_json, save_json, task_meta


def _stats(sol) -> dict:
    fields = ((f.name, getattr(sol.stats, f.name)) for f in dataclasses.fields(sol.stats))
    return {name: np.asarray(value) for name, value in fields if eqx.is_array(value)}


def run_steady(ctx: Context, task) -> bool:
    """Run (or load) the task; print its summary. Returns False if the solve failed."""
    params = ctx.base_parameters(task)
    fp = ctx.fingerprint(task, params)
    path = ctx.results.file(f"{task.name}.json")
    saved = load_json(path)
    if saved is not None and saved.get("fingerprint") != fp:
        ctx.results.refuse_mismatch(task.name, "results")
    if saved is None or not saved.get("complete"):
        saved = _compute(ctx, task, params, fp)
        save_json(path, saved)
    else:
        ctx.say(f"\n[{task.name}] already computed: {path}")
    _print(ctx, task, saved)
    return bool(saved["succeeded"])


def _compute(ctx: Context, task, params: dict, fp: str) -> dict:
    from .._solution import result_codes, result_message, result_name

    study = ctx.study
    real = [p.name for p in study.model.parameters if p.kind == "real" and p.name in params]
    x = {name: jnp.asarray(params[name], dtype=ctx.dtype) for name in real}
    merits, values = merit_solver(ctx, params, task.merits)
    where = f"{study.model.key} ({study.solver}, {study.precision})"
    ctx.say(f"\n[{task.name}] steady state of {where}")
    gradients = None
    if task.gradients:

        def with_aux(x):
            vals, sol = values(x)
            return vals, (vals, sol)

        jac, (vals, sol) = eqx.filter_jit(jax.jacrev(with_aux, has_aux=True))(x)
        gradients = {m.name: {p: np.asarray(jac[m.name][p]) for p in real} for m in merits}
    else:
        vals, sol = eqx.filter_jit(values)(x)
    code = int(result_codes(sol.result))
    return task_meta(
        ctx,
        task,
        params,
        fp,
        True,
        units={k: ctx.unit(k) for k in params} | {m: ctx.merit_unit(m) for m in task.merits},
        status=result_name(code),
        status_code=code,
        succeeded=code == 0,
        message=result_message(code),
        residual=float(np.asarray(sol.stats.residual)),
        stats=_stats(sol),
        merits={
            m.name: {"value": float(vals[m.name]), "description": m.description, "source": m.source}
            for m in merits
        },
        gradients=gradients,
    )


def _print(ctx: Context, task, saved: dict) -> None:
    ctx.say(
        f"  status: {saved['status']}   relative residual ‖L(ρ)‖/(‖L‖‖ρ‖) = {saved['residual']:.2e}"
    )
    top = saved.get("stats", {}).get("top_level_population")  # None: saved before it existed
    top = None if top is None else float(np.max(np.asarray(top, dtype=float)))
    if top is not None and not np.isnan(top):  # NaN: a model without bosonic modes
        ctx.say(
            f"  truncation: population of the top two Fock levels of the model's modes = "
            f"{top:.2e} (flagged above 1e-6 in float64, 1e-4 in float32; raise the cutoff if so)"
        )
    if not saved["succeeded"]:
        ctx.say(f"  the solve FAILED: {saved['message']}")
    width = max(len(name) for name in saved["merits"])
    for name, merit in saved["merits"].items():
        value = merit["value"]
        ctx.say(f"  {name:<{width}} = {'nan' if value is None else format(value, '.10g')}")
    if saved.get("gradients"):
        ctx.say("  gradients (implicit differentiation through the steady-state solve):")
        for merit, grads in saved["gradients"].items():
            for name, grad in grads.items():
                ctx.say(f"    d{merit}/d{name} = {format_value(np.asarray(grad, float), 6)}")
