r"""Task ``optimize``: gradient-based optimisation of a figure of merit with
:func:`qdiss.optimize`, run in segments with a checkpoint after each.

**Variables.** The optimiser works on unconstrained u; the model sees x = f(u) (``bounds``
[lo, hi] give ``qdiss.bounded``, [lo, inf] ``qdiss.greater_than``, [-inf, hi]
``qdiss.less_than``; rates without bounds get ``qdiss.positive()``). The loss applies f itself
and :func:`qdiss.optimize` sees u with no constraints, so that a checkpoint holds u exactly (no
round trip through f⁻¹) and a resumed run continues bit for bit where it stopped.

**Segments.** :func:`qdiss.optimize` is called again after each checkpoint with the saved u,
optimiser state and warm start ρ (its resume support). A segment ends after ``checkpoint_every``
steps (default: after ~30 s of steps), after an accepted step, or when the run is asked to stop
(Ctrl-C, SIGTERM). The convergence test (relative change of the loss ≤ ``tolerance`` for
``patience`` consecutive accepted steps, or gradient norm ≤ ``gradient_tolerance``) and the count
of consecutive failures live here and are saved, so segments do not reset them. Backtracking
after a failed step is :func:`qdiss.optimize`'s own; when the first step of a segment fails, the
next segment starts halfway between the last accepted point and the failed one in u, which is
where :func:`qdiss.optimize` itself would go.

Files: ``<task>.npz`` (the history), ``<task>.json`` (best point, reason for stopping) and
``<task>.checkpoint.npz`` (optimiser state, for resuming).
"""

from __future__ import annotations

import json
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from ._build import base_value, build_model, runtime_message
from ._context import Context, format_value, pause_for_tests
from ._errors import CLIError
from ._merits import resolve
from ._progress import Progress
from ._registry import parameter_domain
from ._store import load_npz, save_json, save_npz
from ._study import parse_label

__all__ = ["run_optimize"]

_REASONS = {
    "max_steps": "reached the maximum number of steps",
    "loss_converged": "the relative change of the objective stayed below `tolerance` for "
    "`patience` steps",
    "grad_converged": "the gradient norm stayed below `gradient_tolerance` for `patience` steps",
    "failure": "a step failed and on_failure = 'stop'",
    "initial_failure": "the solve failed at the initial parameters",
    "too_many_failures": "`max_failures` consecutive steps failed",
}


def _bijection(task, label, entry):
    import qdiss

    name = parse_label(label)[0]
    if label in task.bounds:
        lo, hi = task.bounds[label]
    elif name in task.bounds:
        lo, hi = task.bounds[name]
    elif parameter_domain(entry, name):
        return qdiss.positive()
    else:
        return None
    if math.isinf(lo) and math.isinf(hi):
        return None
    if math.isinf(hi):
        return qdiss.greater_than(lo)
    if math.isinf(lo):
        return qdiss.less_than(hi)
    return qdiss.bounded(lo, hi)


def _optimizer(task):
    import optax

    if task.optimizer == "adam":
        return optax.adam(task.learning_rate)
    if task.optimizer == "sgd":
        return optax.sgd(task.learning_rate)
    return optax.lbfgs(learning_rate=task.learning_rate)


class _State:
    """Everything a resumed run needs (saved in ``<task>.checkpoint.npz``)."""

    def __init__(self, labels):
        self.labels = labels
        self.u = None  # {label: array}: the point to evaluate next
        self.opt_state = None
        self.rho = None
        self.step = 0
        self.calm = 0
        self.last_good = None
        self.failures = 0
        self.reason = None
        self.history = {k: [] for k in ("loss", "grad_norm", "status", "residual", "accepted")}
        self.history_u = {label: [] for label in labels}

    def record(self, info) -> None:
        self.history["loss"].append(info.loss)
        self.history["grad_norm"].append(info.grad_norm)
        self.history["status"].append(info.status)
        self.history["residual"].append(info.residual)
        self.history["accepted"].append(info.accepted)
        for label in self.labels:
            self.history_u[label].append(np.asarray(info.params[label]))
        self.step += 1

    def last_accepted_u(self):
        accepted = self.history["accepted"]
        for k in range(len(accepted) - 1, -1, -1):
            if accepted[k]:
                return {label: self.history_u[label][k] for label in self.labels}
        return None

    def arrays(self, fp: str) -> dict:
        out = {
            "fingerprint": np.asarray(fp),
            "meta": np.asarray(
                json.dumps(
                    {
                        "step": self.step,
                        "calm": self.calm,
                        "last_good": self.last_good,
                        "failures": self.failures,
                        "reason": self.reason,
                    }
                )
            ),
            "rho": np.asarray(self.rho),
        }
        for label in self.labels:
            out[f"u.{label}"] = np.asarray(self.u[label])
            out[f"hist.u.{label}"] = np.asarray(self.history_u[label])
        for key, values in self.history.items():
            out[f"hist.{key}"] = np.asarray(values)
        for i, leaf in enumerate(jax.tree.leaves(self.opt_state)):
            out[f"opt.{i}"] = np.asarray(leaf)
        return out

    def load(self, saved: dict, opt_template) -> None:
        meta = json.loads(str(saved["meta"]))
        self.step, self.calm = meta["step"], meta["calm"]
        self.last_good, self.failures, self.reason = (
            meta["last_good"],
            meta["failures"],
            meta["reason"],
        )
        self.rho = jnp.asarray(saved["rho"])
        self.u = {label: jnp.asarray(saved[f"u.{label}"]) for label in self.labels}
        for label in self.labels:
            self.history_u[label] = list(saved[f"hist.u.{label}"])
        for key in self.history:
            self.history[key] = saved[f"hist.{key}"].tolist()
        leaves, treedef = jax.tree.flatten(opt_template)
        restored = [
            jnp.asarray(saved[f"opt.{i}"], dtype=jnp.asarray(leaf).dtype)
            for i, leaf in enumerate(leaves)
        ]
        self.opt_state = jax.tree.unflatten(treedef, restored)


def run_optimize(ctx: Context, task) -> bool:
    import qdiss

    study = ctx.study
    entry = study.model
    params = ctx.base_parameters(task)
    fp = ctx.fingerprint(task, params)
    labels = list(task.parameters)
    constraints = {label: _bijection(task, label, entry) for label in labels}
    sign = -1.0 if task.goal == "maximize" else 1.0
    optimizer = _optimizer(task)

    x0 = {}
    for label in labels:
        name, index = parse_label(label)
        x0[label] = jnp.asarray(base_value(entry, params, name, index), dtype=ctx.dtype)
        bij = constraints[label]
        if bij is not None and not bool(jnp.all(bij.contains(x0[label]))):
            raise CLIError(
                f"task {task.name!r}: the start value of `{label}` "
                f"({format_value(x0[label])}) lies outside its bounds.",
                status=2,
            )
    u0 = qdiss.unconstrain(constraints, x0)
    with jax.numpy_dtype_promotion("standard"):
        opt_template = optimizer.init(u0)

    state = _State(labels)
    ckpt_path = ctx.results.file(f"{task.name}.checkpoint.npz")
    saved = load_npz(ckpt_path)
    if saved is not None and str(saved.get("fingerprint", "")) != fp:
        ctx.results.refuse_mismatch(task.name, "an optimisation")
    if saved is not None:
        state.load(saved, opt_template)
    else:
        state.u = u0

    goal = "maximise" if task.goal == "maximize" else "minimise"
    ctx.say(
        f"\n[{task.name}] {goal} {task.objective} over {', '.join(labels)} "
        f"({task.optimizer}, at most {task.steps} steps)"
    )
    if task.start:
        ctx.say(f"  starting from the best point of task {task.start!r}")

    model0, L0 = build_model(entry, params, {}, dtype=ctx.dtype)
    merit = resolve(task.objective, model0, L0)

    def loss(u, rho0):
        x = qdiss.constrain(constraints, u)
        model, L = build_model(entry, params, x, dtype=ctx.dtype)
        sol = qdiss.steady_state(L, ctx.solver, rho0=rho0, throw=False)
        return sign * merit.fn(model, L, sol.rho), sol

    def save():
        save_npz(ckpt_path, state.arrays(fp))
        _save_results(ctx, task, params, fp, constraints, state, sign)

    if state.reason is not None:
        ctx.say(f"  already computed: {ctx.results.file(task.name + '.npz')}")
    else:
        if state.step:
            ctx.say(f"  resuming at step {state.step}")
        _run_segments(ctx, task, loss, optimizer, state, save)

    return _summary(ctx, task, params, constraints, state, sign)


def _run_segments(ctx, task, loss, optimizer, state, save) -> None:
    import qdiss

    bar = Progress(task.steps, task.name, "step", ctx.quiet, initial=state.step)
    try:
        while state.reason is None:
            remaining = task.steps - state.step
            if remaining <= 0:
                state.reason = "max_steps"
                break
            segment = {"steps": 0, "start": None, "converged": None}

            def callback(info, segment=segment):
                if segment["start"] is None:
                    segment["start"] = time.monotonic()  # after compilation
                state.record(info)
                pause_for_tests()
                segment["steps"] += 1
                bar.update(1)
                bar.note(
                    f"{task.objective} {-info.loss if task.goal == 'maximize' else info.loss:.6g}"
                )
                if info.accepted:
                    state.failures = 0
                    loss_calm = (
                        task.tolerance > 0
                        and state.last_good is not None
                        and abs(info.loss - state.last_good) <= task.tolerance * abs(info.loss)
                    )
                    grad_calm = (
                        task.gradient_tolerance is not None
                        and info.grad_norm <= task.gradient_tolerance
                    )
                    state.calm = state.calm + 1 if (loss_calm or grad_calm) else 0
                    state.last_good = info.loss
                    if state.calm >= task.patience:
                        segment["converged"] = "grad_converged" if grad_calm else "loss_converged"
                        return True
                else:
                    state.failures += 1
                    state.calm = 0
                if ctx.stop.requested:
                    return True
                if not info.accepted:
                    return False
                if task.checkpoint_every is not None:
                    return segment["steps"] >= task.checkpoint_every
                return time.monotonic() - segment["start"] >= ctx.checkpoint_seconds

            try:
                result = qdiss.optimize(
                    loss,
                    state.u,
                    optimizer,
                    remaining,
                    rho0=state.rho,
                    opt_state=state.opt_state,
                    rtol=None,
                    gtol=None,
                    on_failure=task.on_failure,
                    max_failures=max(1, task.max_failures - state.failures),
                    progress=callback,
                )
            except RuntimeError as e:  # an eqx.error_if of the model at a point reached
                raise CLIError(
                    f"task {task.name!r}: the model rejected the parameters at step "
                    f"{state.step}: {runtime_message(e)} Give the optimised parameters `bounds` "
                    "that keep them inside the model's domain."
                ) from None
            state.opt_state, state.rho = result.opt_state, result.rho
            state.u = result.params
            if result.reason == "callback":
                state.reason = segment["converged"]
            elif result.reason == "initial_failure":
                anchor = state.last_accepted_u()
                if anchor is None:
                    state.reason = "initial_failure"
                elif state.failures >= task.max_failures:
                    state.reason = "too_many_failures"
                elif task.on_failure == "stop":
                    state.reason = "failure"
                else:  # backtrack: halfway between the last accepted point and the failed one
                    failed = {label: state.history_u[label][-1] for label in state.labels}
                    state.u = {
                        label: jnp.asarray(anchor[label] + (failed[label] - anchor[label]) / 2)
                        for label in state.labels
                    }
            elif result.reason in ("failure", "too_many_failures"):
                state.reason = result.reason
            elif result.reason == "max_steps":
                state.reason = "max_steps"
            if state.reason is None and state.step >= task.steps:
                state.reason = "max_steps"
            save()
            ctx.check_stop()
    finally:
        bar.close()


def _physical(constraints, state) -> dict[str, np.ndarray]:
    import qdiss

    if not state.step:
        return {label: np.zeros((0,)) for label in state.labels}
    u = {label: jnp.asarray(np.stack(state.history_u[label])) for label in state.labels}
    return {k: np.asarray(v) for k, v in qdiss.constrain(constraints, u).items()}


def _best(state) -> int:
    accepted = np.asarray(state.history["accepted"], bool)
    if not accepted.any():
        return -1
    loss = np.where(accepted, np.asarray(state.history["loss"], float), np.inf)
    return int(np.argmin(loss))


def _save_results(ctx, task, params, fp, constraints, state, sign) -> None:
    from .._solution import result_name

    x = _physical(constraints, state)
    loss = np.asarray(state.history["loss"], float)
    status = np.asarray(state.history["status"], np.int32)
    arrays = {
        "step": np.arange(state.step),
        "objective": sign * loss,
        "loss": loss,
        "grad_norm": np.asarray(state.history["grad_norm"], float),
        "status": status,
        "residual": np.asarray(state.history["residual"], float),
        "accepted": np.asarray(state.history["accepted"], bool),
    }
    for label in state.labels:
        arrays[f"param.{label}"] = x[label]
    save_npz(ctx.results.file(f"{task.name}.npz"), arrays)
    best = _best(state)
    study = ctx.study
    meta = {
        "task": task.name,
        "kind": "optimize",
        "complete": state.reason is not None,
        "fingerprint": fp,
        "file": f"{task.name}.npz",
        "model": study.model.key,
        "solver": study.solver,
        "solver_options": study.solver_options,
        "precision": study.precision,
        "parameters": params,
        "start": task.start,
        "objective": task.objective,
        "objective_unit": ctx.merit_unit(task.objective),
        "goal": task.goal,
        "variables": [
            {
                "label": label,
                "key": f"param.{label}",
                "unit": ctx.unit(label),
                "constraint": None if constraints[label] is None else repr(constraints[label]),
            }
            for label in state.labels
        ],
        "optimizer": task.optimizer,
        "learning_rate": task.learning_rate,
        "steps": state.step,
        "max_steps": task.steps,
        "reason": state.reason,
        "message": _REASONS.get(state.reason, "not finished"),
        "failed_steps": int(np.sum(~arrays["accepted"])),
        "status_names": {str(c): result_name(int(c)) for c in np.unique(status)},
        "best_step": best,
        "best_objective": float(sign * loss[best]) if best >= 0 else None,
        "best_parameters": {label: x[label][best] for label in state.labels} if best >= 0 else None,
    }
    save_json(ctx.results.file(f"{task.name}.json"), meta)


def _summary(ctx, task, params, constraints, state, sign) -> bool:
    best = _best(state)
    failed = int(np.sum(~np.asarray(state.history["accepted"], bool)))
    ctx.say(
        f"  {state.step} steps, stopped: {_REASONS.get(state.reason, state.reason)}; "
        f"{failed} failed step{'s' * (failed != 1)}"
    )
    if best < 0:
        ctx.say("  no successful step: no optimum")
        return False
    x = _physical(constraints, state)
    start = sign * state.history["loss"][0] if state.history["accepted"][0] else float("nan")
    value = sign * state.history["loss"][best]
    ctx.say(f"  {task.objective}: {start:.10g} at the start -> {value:.10g} at step {best}")
    optimum = {}
    for label in state.labels:
        optimum[label] = x[label][best]
        ctx.say(f"    {label} = {format_value(x[label][best])}")
    ctx.optima[task.name] = optimum
    ctx.say(f"  results: {ctx.results.file(task.name + '.npz')}")
    return state.reason not in ("initial_failure", "too_many_failures", "failure")
