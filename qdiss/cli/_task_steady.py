"""Task ``steady``: one steady state, its figures of merit and (optionally) their gradients with
respect to every real parameter, by implicit differentiation through the solve."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._build import build_model
from ._context import Context, format_value
from ._merits import resolve
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
    import qdiss

    from .._solution import result_codes, result_message, result_name

    study = ctx.study
    entry = study.model
    model0, L0 = build_model(entry, params, {}, dtype=ctx.dtype)
    merits = [resolve(name, model0, L0) for name in task.merits]
    real = [p.name for p in entry.parameters if p.kind == "real" and p.name in params]
    arrays = {name: jnp.asarray(params[name], dtype=ctx.dtype) for name in real}

    def values(arrays):
        model, L = build_model(entry, params, arrays, dtype=ctx.dtype)
        sol = qdiss.steady_state(L, ctx.solver, throw=False)
        return jnp.stack([jnp.asarray(m.fn(model, L, sol.rho)) for m in merits]), sol

    ctx.say(f"\n[{task.name}] steady state of {entry.key} ({study.solver}, {study.precision})")
    if task.gradients:

        def with_aux(arrays):
            vals, sol = values(arrays)
            return vals, (vals, sol)

        jac, (vals, sol) = eqx.filter_jit(jax.jacrev(with_aux, has_aux=True))(arrays)
        gradients = {
            m.name: {name: np.asarray(jac[name][i]) for name in real} for i, m in enumerate(merits)
        }
    else:
        vals, sol = eqx.filter_jit(values)(arrays)
        gradients = None
    vals = np.asarray(vals)
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
            m.name: {"value": float(v), "description": m.description, "source": m.source}
            for m, v in zip(merits, vals, strict=True)
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
