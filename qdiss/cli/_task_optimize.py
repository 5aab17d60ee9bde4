"""Task ``optimize``: gradient-based optimisation of a figure of merit with
:func:`qdiss.optimize`, whose stopping rules (``tolerance``, ``gradient_tolerance``,
``patience``, ``on_failure``, ``max_failures``) and backtracking after a failed step apply; its
:class:`qdiss.OptimizeState` is saved (``<task>.checkpoint.npz``, :func:`qdiss.save_state`) every
``checkpoint_every`` steps (default: every ~30 s), on a stop request and at the end, so that a run
stopped (Ctrl-C, SIGTERM, killed) and resumed gives the numbers of an uninterrupted one bit for
bit. ``<task>.npz`` holds the history, ``<task>.json`` the best point and the reason for stopping.
"""

from __future__ import annotations

import contextlib
import io
import math
import time

import jax.numpy as jnp
import numpy as np

from ._build import base_value, runtime_message
from ._context import Context, format_value, pause_for_tests
from ._errors import CLIError
from ._merits import merit_solver
from ._progress import progress_bar
from ._registry import parameter_domain
from ._store import atomic_write, load_npz, save_results
from ._study import parse_label


def _bijection(task, label, entry):
    """The constraint of an optimised parameter: ``bounds`` [lo, hi] give ``qdiss.bounded``,
    [lo, inf] ``qdiss.greater_than``, [-inf, hi] ``qdiss.less_than``, [-inf, inf] none; without
    bounds, a parameter of declared domain ≥ 0 or > 0 (rates) gets ``qdiss.positive()``."""
    import qdiss

    name = parse_label(label)[0]
    lo, hi = task.bounds.get(label, task.bounds.get(name, (None, None)))
    if lo is None:
        return qdiss.positive() if parameter_domain(entry, name) else None
    if math.isinf(lo) and math.isinf(hi):
        return None
    if math.isinf(hi):
        return qdiss.greater_than(lo)
    return qdiss.less_than(hi) if math.isinf(lo) else qdiss.bounded(lo, hi)


def run_optimize(ctx: Context, task) -> bool:
    import qdiss

    entry, params = ctx.study.model, ctx.base_parameters(task)
    fp = ctx.fingerprint(task, params)
    labels = list(task.parameters)
    constraints = {label: _bijection(task, label, entry) for label in labels}
    sign = -1.0 if task.goal == "maximize" else 1.0
    import optax

    optimizer = getattr(optax, task.optimizer)(task.learning_rate)  # adam, sgd, lbfgs
    x0 = {}
    for label in labels:
        value = base_value(entry, params, *parse_label(label))
        x0[label] = jnp.asarray(value, dtype=ctx.dtype)
    try:  # a run that has taken no step; raises if the start lies outside the bounds
        template = qdiss.optimize_init(x0, optimizer, jnp.zeros(()), constraints=constraints)
    except ValueError as e:
        start = ", ".join(f"{k} = {format_value(v)}" for k, v in x0.items())
        raise CLIError(f"task {task.name!r}, start {start}: {e}", status=2) from None

    ckpt = ctx.results.file(f"{task.name}.checkpoint.npz")
    saved, state = load_npz(ckpt), None
    if saved is not None:
        with contextlib.suppress(ValueError):  # leaves of another structure: another run's
            if str(saved.get("fingerprint", "")) == fp:
                state = qdiss.load_state(ckpt, template)
        if state is None:
            ctx.results.refuse_mismatch(task.name, "an optimisation")

    goal = "maximise" if task.goal == "maximize" else "minimise"
    ctx.say(
        f"\n[{task.name}] {goal} {task.objective} over {', '.join(labels)} "
        f"({task.optimizer}, at most {task.steps} steps)"
    )
    if task.start:
        ctx.say(f"  starting from the best point of task {task.start!r}")

    def save(state) -> None:
        buffer = io.BytesIO()
        qdiss.save_state(buffer, state, fingerprint=fp)
        atomic_write(ckpt, buffer.getvalue())
        _save_results(ctx, task, params, fp, constraints, state, sign)

    if state is not None and (state.finished or state.step >= task.steps):
        ctx.say(f"  already computed: {ctx.results.file(task.name + '.npz')}")
    else:
        if state is not None:
            ctx.say(f"  resuming at step {state.step}")
        state = _run(ctx, task, (params, constraints, sign, optimizer, x0), state, save)
    return _summary(ctx, task, state, sign)


def _run(ctx, task, setup, state, save):
    import qdiss

    params, constraints, sign, optimizer, x0 = setup
    (merit,), values = merit_solver(ctx, params, [task.objective])

    def loss(x, rho0):
        vals, sol = values(x, rho0)
        return sign * vals[merit.name], sol

    since = {"time": None, "steps": 0, "step": 0 if state is None else state.step}

    def on_step(info) -> bool:
        bar.update(1)
        bar.set_postfix_str(f"{task.objective} {sign * info.loss:.6g}", refresh=False)
        pause_for_tests()
        now, since["step"] = time.monotonic(), info.step + 1
        since["time"] = since["time"] or now  # the first step (with compilation) starts the clock
        since["steps"] += 1
        if task.checkpoint_every is not None:
            due = since["steps"] >= task.checkpoint_every
        else:
            due = now - since["time"] >= ctx.checkpoint_seconds
        if due or ctx.stop.requested:
            save(info.state)
            since.update(time=now, steps=0)
        return ctx.stop.requested

    with progress_bar(task.steps, task.name, "step", ctx.quiet, initial=since["step"]) as bar:
        try:
            result = qdiss.optimize(
                loss,
                x0,
                optimizer,
                task.steps,
                constraints=constraints,
                state=state,
                rtol=task.tolerance or None,
                gtol=task.gradient_tolerance,
                patience=task.patience,
                on_failure=task.on_failure,
                max_failures=task.max_failures,
                progress=on_step,
            )
        except RuntimeError as e:  # an eqx.error_if of the model at a point reached
            raise CLIError(
                f"task {task.name!r}: the model rejected the parameters at step "
                f"{since['step']}: {runtime_message(e)} Give the optimised parameters `bounds` "
                "that keep them inside the model's domain."
            ) from None
    save(result.state)
    ctx.check_stop()
    return result.state


def _ended(state) -> str | None:
    """The reason the run ended, or None while it is unfinished (stopped by a signal)."""
    return state.reason if state.reason not in ("", "callback") else None


def _save_results(ctx, task, params, fp, constraints, state, sign) -> None:
    from .._solution import result_name

    history = state.history
    x = {label: np.asarray(history.params[label]) for label in task.parameters}
    loss = history.loss.astype(float)
    arrays = {"step": np.arange(len(history)), "objective": sign * loss, "loss": loss}
    arrays |= {"grad_norm": history.grad_norm.astype(float), "status": history.status}
    arrays |= {"residual": history.residual.astype(float), "accepted": history.accepted}
    arrays |= {f"param.{label}": v for label, v in x.items()}
    best = history.best_step
    variables = [
        {"label": label, "key": f"param.{label}", "unit": ctx.unit(label)}
        | {"constraint": None if constraints[label] is None else repr(constraints[label])}
        for label in task.parameters
    ]
    save_results(
        ctx,
        task,
        params,
        fp,
        _ended(state) is not None,
        arrays,
        objective=task.objective,
        objective_unit=ctx.merit_unit(task.objective),
        goal=task.goal,
        variables=variables,
        optimizer=task.optimizer,
        learning_rate=task.learning_rate,
        steps=len(history),
        max_steps=task.steps,
        reason=_ended(state),
        message=state.message if _ended(state) else "not finished",
        failed_steps=int(np.sum(~history.accepted)),
        status_names={str(c): result_name(int(c)) for c in np.unique(history.status)},
        best_step=best,
        best_objective=float(arrays["objective"][best]) if best >= 0 else None,
        best_parameters={k: v[best] for k, v in x.items()} if best >= 0 else None,
    )


def _summary(ctx, task, state, sign) -> bool:
    history = state.history
    best, failed = history.best_step, int(np.sum(~history.accepted))
    ctx.say(
        f"  {len(history)} steps, stopped: {state.message}; "
        f"{failed} failed step{'s' * (failed != 1)}"
    )
    if best < 0:
        ctx.say("  no successful step: no optimum")
        return False
    start = sign * float(history.loss[0]) if history.accepted[0] else float("nan")
    value = sign * float(history.loss[best])
    ctx.say(f"  {task.objective}: {start:.10g} at the start -> {value:.10g} at step {best}")
    optimum = {label: np.asarray(history.params[label])[best] for label in task.parameters}
    for label, v in optimum.items():
        ctx.say(f"    {label} = {format_value(v)}")
    ctx.optima[task.name] = optimum
    ctx.say(f"  results: {ctx.results.file(task.name + '.npz')}")
    return state.reason not in ("initial_failure", "too_many_failures", "failure")
