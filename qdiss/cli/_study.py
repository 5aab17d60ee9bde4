"""Study files: TOML in, a checked :class:`Study` out. A study file is data: it is parsed with
``tomllib`` and every name in it is looked up in a registry (models, figures of merit, solvers,
optimisers); nothing in it is executed or evaluated. Every problem is a :class:`StudyError` that
names the file, the field and what is expected. The format is in :data:`FORMAT`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from . import _registry
from ._checker import Checker, describe, domain_check, short
from ._errors import StudyError, one_of, suggest

__all__ = [
    "FORMAT",
    "Axis",
    "OptimizeTask",
    "Study",
    "SteadyTask",
    "SweepTask",
    "load_study",
    "parse_label",
]

FORMAT = """\
Study file format (TOML; see the examples: `qdiss studies`, `qdiss studies NAME`):

  name = "my-study"              # results go to RESULTS_DIR/<name>/  (letters, digits, - _ .)
  description = "..."            # optional

  [model]
  name = "magnon"                # a model of qdiss.models: `qdiss models` lists them
  [model.parameters]             # the arguments of the model class: `qdiss models NAME`
  eta = [0.05, 0.99]             # real parameters: a number or a list of numbers
  temperature = 0.5              # integer/true-false/string parameters: as the model says

  [solver]                       # optional
  name = "DenseLU"               # Auto (default), DenseLU, SparseLU, Krylov, Evolve
  precision = "float64"          # or "float32"
  residual_tol = 1e-10           # any option of that solver class, e.g. Krylov's max_steps

  [units]                        # optional: axis and colour-bar labels for the plots
  mu = "ω"                       # a parameter or figure of merit -> its unit

  [[task]]                       # one or more tasks, run in order
  kind = "steady"                # one steady state
  merits = ["concurrence", "purity"]      # figures of merit: `qdiss models NAME`
  gradients = true               # also d(merit)/d(parameter) for every real parameter

  [[task]]
  kind = "optimize"              # gradient-based optimisation (optax)
  name = "optimize"              # optional (default: the kind); names the result files
  objective = "concurrence"      # a figure of merit
  goal = "maximize"              # or "minimize"
  parameters = ["eta[0]", "mu"]  # whole parameters or single entries  name[i]
  bounds = { "eta[0]" = [-0.999, 0.999], mu = [-4.0, 0.99] }   # optional; inf allowed
  optimizer = "adam"             # adam (default), sgd, lbfgs
  learning_rate = 0.05
  steps = 100                    # at most this many steps
  tolerance = 1e-8               # stop when the relative change of the objective stays
  patience = 10                  #   below this for `patience` steps (0 disables)
  checkpoint_every = 25          # optional: steps per checkpoint (default: every ~30 s)

  [[task]]
  kind = "sweep"                 # a grid over one or two parameters (a phase diagram)
  start = "optimize"             # optional: start from the best point of an optimize task
  merits = ["concurrence"]
  axes = [
    { parameter = "eta[0]", start = -1.0, stop = 1.0, num = 21 },
    { parameter = "mu[0]", values = [-2.0, -1.0, 0.0, 0.5] },
  ]                              # or start/stop/num with scale = "log"
  checkpoint_every = 64          # optional: points per checkpoint block

Rates (gamma*, kappa*, rate*, dephasing, collective_decay) must be >= 0 and temperature > 0;
the model checks its own domain (e.g. |eta| <= 1) when the study is loaded.
"""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_LABEL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")
KINDS = ("steady", "sweep", "optimize")
OPTIMIZERS = ("adam", "sgd", "lbfgs")
QUICK_POINTS = 5
QUICK_STEPS = 10


def parse_label(label: str) -> tuple[str, int | None] | None:
    """``"eta[1]"`` -> ``("eta", 1)``; ``"mu"`` -> ``("mu", None)``; None if malformed."""
    m = _LABEL.match(label)
    if not m:
        return None
    return m.group(1), (int(m.group(2)) if m.group(2) is not None else None)


@dataclasses.dataclass(frozen=True)
class Axis:
    label: str  # "eta[1]"
    name: str  # "eta"
    index: int | None
    values: np.ndarray
    scale: str  # "linear" or "log"


@dataclasses.dataclass(frozen=True)
class SteadyTask:
    name: str
    start: str | None
    merits: tuple[str, ...]
    gradients: bool
    config: dict
    kind: str = "steady"


@dataclasses.dataclass(frozen=True)
class SweepTask:
    name: str
    start: str | None
    merits: tuple[str, ...]
    axes: tuple[Axis, ...]
    checkpoint_every: int | None
    chunk_size: int | None
    config: dict
    kind: str = "sweep"


@dataclasses.dataclass(frozen=True)
class OptimizeTask:
    name: str
    start: str | None
    objective: str
    goal: str
    parameters: tuple[str, ...]
    bounds: dict[str, tuple[float, float]]
    optimizer: str
    learning_rate: float | None
    steps: int
    tolerance: float
    gradient_tolerance: float | None
    patience: int
    on_failure: str
    max_failures: int
    checkpoint_every: int | None
    config: dict
    kind: str = "optimize"


@dataclasses.dataclass
class Study:
    path: Path | None
    text: str
    name: str
    description: str
    model: _registry.ModelEntry
    parameters: dict[str, Any]  # model parameters: numpy float arrays, or int/bool/str
    solver: str
    solver_options: dict[str, Any]
    precision: str
    units: dict[str, str]
    tasks: list
    quick: bool = False

    def unit(self, name: str, default: str | None = None) -> str | None:
        """The unit of a parameter (``eta[0]`` falls back on ``eta``) or figure of merit."""
        if name in self.units:
            return self.units[name]
        parsed = parse_label(name)
        if parsed and parsed[0] in self.units:
            return self.units[parsed[0]]
        return default


# ------------------------------------------------------------------------------- loading


def load_study(path, *, quick: bool = False, text: str | None = None) -> Study:
    """Read, parse and check a study file; see :data:`FORMAT`. Raises :class:`StudyError`."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise StudyError(path, None, "no such file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise StudyError(path, None, f"cannot be read as UTF-8 text ({e})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise StudyError(path, None, f"is not valid TOML: {e}") from None
    check = Checker(path)
    check.table(
        data,
        "",
        required=("model", "task"),
        optional=("name", "description", "solver", "units"),
    )
    what = "a name of letters, digits, '-', '_' and '.' (it names the results folder)"
    name = check.string(data.get("name", path.stem), "name", pattern=_NAME, what=what)
    description = check.string(data.get("description", ""), "description")

    model, parameters = _load_model(check, data["model"])
    solver, options, precision = _load_solver(check, data.get("solver", {}))
    units = check.free_table(data.get("units", {}), "units")
    for key, value in units.items():
        check.string(value, f"units.{key}", what="a unit (a string)")

    tasks_data = data["task"]
    if not isinstance(tasks_data, list) or not tasks_data:
        check.fail("task", f"expected one or more `[[task]]` tables; got {describe(tasks_data)}")
    tasks: list = []
    for i, raw in enumerate(tasks_data):
        tasks.append(_load_task(check, f"task[{i}]", raw, model, parameters, tasks))

    study = Study(
        path=path,
        text=text,
        name=name,
        description=description,
        model=model,
        parameters=parameters,
        solver=solver,
        solver_options=options,
        precision=precision,
        units=dict(units),
        tasks=tasks,
    )
    _check_merits(check, study)
    return _shrink(study) if quick else study


def _load_model(check: Checker, raw) -> tuple[_registry.ModelEntry, dict[str, Any]]:
    raw = check.table(raw, "model", required=("name", "parameters"))
    name = check.string(raw["name"], "model.name", what="a model name (a string)")
    entry = _registry.find_model(name)
    if entry is None:
        names = _registry.model_names()
        _, failed = _registry.discover_models()
        note = f" (could not import: {', '.join(failed)})" if failed else ""
        check.fail(
            "model.name",
            f"unknown model {name!r}; expected one of {', '.join(names)}{note}."
            f"{suggest(name, names)}",
        )
    given = check.free_table(raw["parameters"], "model.parameters")
    known = [p.name for p in entry.parameters]
    parameters: dict[str, Any] = {}
    for key, value in given.items():
        field = f"model.parameters.{key}"
        p = entry.parameter(key)
        if p is None:
            check.fail(
                field,
                f"unknown parameter of model {entry.key}; its parameters are {one_of(known)}."
                f"{suggest(key, known)}",
            )
        if p.kind == "real":
            array = check.reals(value, field)
            domain_check(check, field, key, array)
            parameters[key] = array
        elif p.kind == "int":
            parameters[key] = check.integer(value, field)
        elif p.kind == "bool":
            parameters[key] = check.boolean(value, field)
        else:
            parameters[key] = check.string(value, field)
    for p in entry.parameters:
        if p.required and p.name not in parameters:
            check.fail(
                f"model.parameters.{p.name}",
                f"missing parameter of model {entry.key} ({p.describe()})",
            )
    _build_model(check, entry, parameters, "model.parameters")
    return entry, parameters


def _blame(message: str, names) -> str | None:
    for name in names:
        if f"`{name}`" in message:
            return name
    return None


def _build_model(check: Checker, entry, parameters: dict, field: str, overrides=None):
    """Build the model and its Lindbladian concretely; report what the model rejects."""
    from ._build import build_model  # imports jax

    try:
        model, L = build_model(entry, parameters, overrides or {}, check_finite=True)
    except (ValueError, TypeError) as e:
        message = str(e).split("\n")[0].rstrip(".")
        blamed = _blame(message, list(parameters) + [p.name for p in entry.parameters])
        where = f"{field}.{blamed}" if blamed and field == "model.parameters" else field
        check.fail(where, f"model {entry.key} rejects these parameters: {message}")
    return model, L


def _load_solver(check: Checker, raw) -> tuple[str, dict, str]:
    raw = check.free_table(raw, "solver")
    name = check.string(raw.get("name", "Auto"), "solver.name", choices=_registry.SOLVERS)
    precision = check.string(
        raw.get("precision", "float64"), "solver.precision", choices=("float64", "float32")
    )
    cls = _registry.solver_class(name)
    allowed = _registry.solver_options(cls)
    options = {}
    for key, value in raw.items():
        if key in ("name", "precision"):
            continue
        field = f"solver.{key}"
        if key not in allowed:
            names = ["name", "precision", *allowed]
            check.fail(
                field,
                f"unknown option of solver {name}; expected {one_of(names)}.{suggest(key, names)}",
            )
        kind, choices = allowed[key]
        if kind == "real":
            options[key] = check.number(value, field, minimum=0.0)
        elif kind == "int":
            options[key] = check.integer(value, field, minimum=0)
        elif kind == "bool":
            options[key] = check.boolean(value, field)
        elif kind == "choice":
            options[key] = check.string(value, field, choices=choices)
        else:
            options[key] = check.string(value, field)
    try:
        cls(**options)
    except (ValueError, TypeError) as e:
        check.fail("solver", f"solver {name} rejects these options: {e}")
    return name, options, precision


def _start(check: Checker, field: str, raw: dict, previous: list) -> str | None:
    if "start" not in raw or raw["start"] == "model":
        return None
    start = check.string(raw["start"], field + ".start")
    names = [t.name for t in previous if t.kind == "optimize"]
    if start not in names:
        check.fail(
            field + ".start",
            "expected `model` (the study's [model.parameters]) or the name of an earlier "
            f"optimize task ({one_of(names) if names else 'there is none'}); got {start!r}",
        )
    return start


def _label(check: Checker, field: str, label, entry, parameters, whole_scalar: bool) -> tuple:
    label = check.string(label, field, what="a parameter name such as `mu` or `mu[0]`")
    parsed = parse_label(label)
    if parsed is None:
        check.fail(field, f"expected a parameter name such as `mu` or `mu[0]`; got {label!r}")
    name, index = parsed
    p = entry.parameter(name)
    known = [q.name for q in entry.parameters if q.kind == "real"]
    if p is None or p.kind != "real":
        check.fail(
            field,
            f"{name!r} is not a real parameter of model {entry.key}; expected "
            f"{one_of(known)}.{suggest(name, known)}",
        )
    value = parameters.get(name)
    if value is None and p.default is not None and not p.required:
        value = np.asarray(p.default, dtype=np.float64)
    if index is not None:
        if value is None or value.ndim != 1 or index >= value.shape[0]:
            size = "unset" if value is None else f"of shape {value.shape}"
            check.fail(field, f"`{name}` is {size}: no entry [{index}]")
    elif whole_scalar and value is not None and value.size != 1:
        check.fail(
            field,
            f"`{name}` has {value.size} entries; name one of them, e.g. `{name}[0]`",
        )
    return label, name, index


def _axis(check, field, raw, entry, parameters) -> Axis:
    if not isinstance(raw, dict):
        check.fail(field, f"expected a table {{ parameter = ..., ... }}; got {describe(raw)}")
    if "values" in raw:
        raw = check.table(raw, field, required=("parameter", "values"))
    else:
        raw = check.table(
            raw, field, required=("parameter", "start", "stop", "num"), optional=("scale",)
        )
    label, name, index = _label(
        check, field + ".parameter", raw["parameter"], entry, parameters, True
    )
    if "values" in raw:
        values = check.reals(raw["values"], field + ".values")
        if values.ndim != 1:
            check.fail(field + ".values", "expected a flat list of numbers")
        scale = "linear"
    else:
        start = check.number(raw["start"], field + ".start")
        stop = check.number(raw["stop"], field + ".stop")
        num = check.integer(raw["num"], field + ".num", minimum=1)
        if num > 100_000:
            check.fail(field + ".num", f"expected at most 100000 points; got {num}")
        scale = check.string(raw.get("scale", "linear"), field + ".scale", ("linear", "log"))
        if scale == "log":
            if start <= 0 or stop <= 0:
                check.fail(field, f"a log-scale axis needs start, stop > 0; got {start}, {stop}")
            values = np.geomspace(start, stop, num)
        else:
            values = np.linspace(start, stop, num)
    domain_check(check, field, name, values)
    return Axis(label, name, index, values, scale)


def _load_task(check: Checker, field: str, raw, entry, parameters, previous: list):
    if not isinstance(raw, dict):
        check.fail(field, f"expected a table; got {describe(raw)}")
    kind = check.string(raw.get("kind"), field + ".kind", choices=KINDS) if "kind" in raw else None
    if kind is None:
        check.fail(field + ".kind", f"this field is missing; expected {one_of(KINDS)}")
    common = ("kind", "name", "start")
    if kind == "steady":
        check.table(raw, field, required=("merits",), optional=(*common, "gradients"))
    elif kind == "sweep":
        check.table(
            raw,
            field,
            required=("merits", "axes"),
            optional=(*common, "checkpoint_every", "chunk_size"),
        )
    else:
        check.table(
            raw,
            field,
            required=("objective", "parameters", "steps"),
            optional=(
                *common,
                "goal",
                "bounds",
                "optimizer",
                "learning_rate",
                "tolerance",
                "gradient_tolerance",
                "patience",
                "on_failure",
                "max_failures",
                "checkpoint_every",
            ),
        )
    what = "a task name of letters, digits, '-', '_' and '.' (it names the result files)"
    name = check.string(raw.get("name", kind), field + ".name", pattern=_NAME, what=what)
    if name in [t.name for t in previous]:
        check.fail(field + ".name", f"another task is already named {name!r}; give each a `name`")
    start = _start(check, field, raw, previous)
    config = dict(raw)

    if kind == "steady":
        merits = check.strings(raw["merits"], field + ".merits")
        gradients = check.boolean(raw.get("gradients", False), field + ".gradients")
        return SteadyTask(name, start, merits, gradients, config)

    if kind == "sweep":
        merits = check.strings(raw["merits"], field + ".merits")
        axes_raw = raw["axes"]
        if not isinstance(axes_raw, list) or not 1 <= len(axes_raw) <= 2:
            check.fail(
                field + ".axes",
                f"expected a list of one or two axes {{ parameter = ..., ... }}; got "
                f"{describe(axes_raw)}",
            )
        axes = tuple(
            _axis(check, f"{field}.axes[{j}]", a, entry, parameters) for j, a in enumerate(axes_raw)
        )
        labels = [a.label for a in axes]
        if len(axes) == 2 and (
            labels[0] == labels[1]
            or (axes[0].name == axes[1].name and None in (axes[0].index, axes[1].index))
        ):
            check.fail(field + ".axes", f"the two axes sweep the same parameter ({labels})")
        every = raw.get("checkpoint_every")
        every = None if every is None else check.integer(every, field + ".checkpoint_every", 1)
        chunk = raw.get("chunk_size")
        chunk = None if chunk is None else check.integer(chunk, field + ".chunk_size", 1)
        for j, axis in enumerate(axes):
            _check_axis_values(check, f"{field}.axes[{j}]", entry, parameters, axis)
        return SweepTask(name, start, merits, axes, every, chunk, config)

    # optimize
    objective = check.string(raw["objective"], field + ".objective", what="a figure of merit")
    goal = check.string(raw.get("goal", "maximize"), field + ".goal", ("maximize", "minimize"))
    labels = check.strings(raw["parameters"], field + ".parameters")
    parsed = [
        _label(check, f"{field}.parameters", label, entry, parameters, False) for label in labels
    ]
    for _, name_, index in parsed:
        if name_ not in parameters and index is None:
            p = entry.parameter(name_)
            if p.default is None:
                check.fail(
                    f"{field}.parameters",
                    f"`{name_}` has no value to start from: set it in [model.parameters]",
                )
    whole = {n for _, n, i in parsed if i is None}
    for label, name_, index in parsed:
        if index is not None and name_ in whole:
            check.fail(f"{field}.parameters", f"lists both `{name_}` and `{label}`")
    bounds_raw = raw.get("bounds", {})
    bounds_raw = check.table(bounds_raw, field + ".bounds", optional=list(labels))
    bounds = {}
    for label, pair in bounds_raw.items():
        f = f"{field}.bounds.{label}"
        if not isinstance(pair, list) or len(pair) != 2:
            check.fail(f, f"expected [lower, upper] (inf allowed); got {describe(pair)}")
        lo = check.number(pair[0], f, finite=False)
        hi = check.number(pair[1], f, finite=False)
        if math.isnan(lo) or math.isnan(hi) or not lo < hi:
            check.fail(f, f"expected lower < upper; got [{lo}, {hi}]")
        name_ = parse_label(label)[0]
        domain = _registry.parameter_domain(name_)
        if domain and lo < 0:
            sign = "> 0" if domain == "positive" else "≥ 0"
            check.fail(f, f"`{name_}` must be {sign}; the bounds allow {lo}")
        bounds[label] = (lo, hi)
    optimizer = check.string(raw.get("optimizer", "adam"), field + ".optimizer", OPTIMIZERS)
    lr = raw.get("learning_rate")
    if lr is None and optimizer != "lbfgs":
        lr = 0.05
    if lr is not None:
        lr = check.number(lr, field + ".learning_rate", minimum=0.0, strict=True)
    steps = check.integer(raw["steps"], field + ".steps", minimum=1)
    tolerance = check.number(raw.get("tolerance", 1e-8), field + ".tolerance", minimum=0.0)
    gtol = raw.get("gradient_tolerance")
    gtol = None if gtol is None else check.number(gtol, field + ".gradient_tolerance", minimum=0.0)
    patience = check.integer(raw.get("patience", 10), field + ".patience", minimum=1)
    on_failure = check.string(
        raw.get("on_failure", "backtrack"), field + ".on_failure", ("backtrack", "stop")
    )
    max_failures = check.integer(raw.get("max_failures", 10), field + ".max_failures", minimum=1)
    every = raw.get("checkpoint_every")
    every = None if every is None else check.integer(every, field + ".checkpoint_every", 1)
    if start is None:
        _check_start_inside(check, field, parameters, entry, parsed, bounds)
    return OptimizeTask(
        name,
        start,
        objective,
        goal,
        labels,
        bounds,
        optimizer,
        lr,
        steps,
        tolerance,
        gtol,
        patience,
        on_failure,
        max_failures,
        every,
        config,
    )


def _check_start_inside(check, field, parameters, entry, parsed, bounds):
    from ._build import base_value

    for label, name, index in parsed:
        value = base_value(entry, parameters, name, index)
        lo, hi = bounds.get(label, (None, None))
        if lo is None:
            domain = _registry.parameter_domain(name)
            lo, hi = (0.0, math.inf) if domain else (-math.inf, math.inf)
        if np.any(value <= lo) or np.any(value >= hi):
            check.fail(
                f"{field}.bounds",
                f"the start value of `{label}` ({short(np.asarray(value).tolist())}) must lie "
                f"strictly inside its bounds ({lo}, {hi})",
            )


def _check_axis_values(check, field, entry, parameters, axis: Axis) -> None:
    """The model must accept both ends of the axis (at the study's other parameters)."""
    for v in sorted({float(axis.values.min()), float(axis.values.max())}):
        try:
            _build_model(check, entry, parameters, field, overrides={axis.label: v})
        except StudyError as e:
            check.fail(field, f"at `{axis.label}` = {v:g}: {str(e).split(': ', 1)[1]}")


def _check_merits(check: Checker, study: Study) -> None:
    from . import _merits

    model, L = _build_model(check, study.model, study.parameters, "model.parameters")
    for i, task in enumerate(study.tasks):
        names = [task.objective] if task.kind == "optimize" else list(task.merits)
        field = f"task[{i}].{'objective' if task.kind == 'optimize' else 'merits'}"
        for name in names:
            try:
                _merits.resolve(name, model, L)
            except KeyError:
                available = [m.name for m in _merits.available(model, L)]
                check.fail(
                    field,
                    f"unknown figure of merit {name!r} for model {study.model.key}; expected "
                    f"{one_of(available)}.{suggest(name, available)}",
                )
            except ValueError as e:
                check.fail(field, f"{name!r} does not apply to model {study.model.key}: {e}")


def _shrink(study: Study) -> Study:
    """Quick mode: sweeps of at most 5 points per axis, optimisations of at most 10 steps."""
    tasks = []
    for task in study.tasks:
        if task.kind == "sweep":
            axes = []
            for axis in task.axes:
                keep = np.unique(
                    np.linspace(0, axis.values.size - 1, min(QUICK_POINTS, axis.values.size))
                    .round()
                    .astype(int)
                )
                axes.append(dataclasses.replace(axis, values=axis.values[keep]))
            task = dataclasses.replace(task, axes=tuple(axes))
        elif task.kind == "optimize":
            task = dataclasses.replace(task, steps=min(task.steps, QUICK_STEPS))
        tasks.append(task)
    return dataclasses.replace(study, name=study.name + "-quick", tasks=tasks, quick=True)
