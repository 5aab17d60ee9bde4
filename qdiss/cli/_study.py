"""Study files: TOML in, a checked :class:`Study` out. A study file is data: it is parsed with
``tomllib``, decoded against the declared schema below (the task dataclasses: each field's type,
default and rules) and every name in it is looked up in a registry (models, figures of merit,
solvers); nothing in it is executed or evaluated. Every problem is a :class:`StudyError` that
names the file, the field and what is expected. The format is in :data:`FORMAT`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np

from . import _registry
from ._build import build_model
from ._errors import StudyError, one_of, suggest
from ._registry import parse_label

__all__ = ["FORMAT", "Axis", "OptimizeTask", "Study", "SteadyTask", "SweepTask", "load_study"]

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

Each model declares its parameters' domains (`qdiss models NAME`): rates must be >= 0, a
temperature > 0; the model checks the rest of its domain (e.g. |eta| <= 1) when the study loads.
"""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PARAMETER = "a parameter name such as `mu` or `mu[0]`"
_EXPECTED = {  # what a missing field of a table that is not a dataclass below holds
    "model": "a [model] table with the model's `name` and a [model.parameters] table",
    "task": "one or more [[task]] tables",
    "name": "a name (a string)",
    "parameters": "a table of the model's parameters",
    "parameter": _PARAMETER,
    "values": "a list of numbers",
    "start": "a number",
    "stop": "a number",
    "num": "a number of points (a positive integer)",
}
QUICK_POINTS = 5
QUICK_STEPS = 10


# ---------------------------------------------------------------------------- the schema


def _field(
    default: Any = dataclasses.MISSING, *, toml: bool = True, factory=dataclasses.MISSING, **rules
):
    """A field of a study table: ``rules`` are :meth:`Checker.value`'s (``what``, ``minimum``,
    ``strict``, ``choices``, ``pattern``); ``toml=False`` for what the loader fills in."""
    return dataclasses.field(
        default=default, default_factory=factory, metadata={"toml": toml, **rules}
    )


_TASK_NAME = "a task name of letters, digits, '-', '_' and '.' (it names the result files)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Task:
    kind: str
    name: str = _field(None, pattern=_NAME, what=_TASK_NAME)  # default: the kind
    start: str | None = _field(None, what="`model` or the name of an earlier optimize task")
    config: dict = _field(None, toml=False)  # the task's table as written


_MERITS = _field(what='a list of figures of merit, e.g. ["purity"]')


@dataclasses.dataclass(frozen=True)
class Axis:
    label: str  # "eta[1]"
    name: str  # "eta"
    index: int | None
    values: np.ndarray
    scale: str  # "linear" or "log"


@dataclasses.dataclass(frozen=True, kw_only=True)
class SteadyTask(_Task):
    kind: str = "steady"
    merits: tuple[str, ...] = _MERITS
    gradients: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepTask(_Task):
    kind: str = "sweep"
    merits: tuple[str, ...] = _MERITS
    axes: Any = _field(
        what="a list of one or two axes { parameter = ..., start = ..., stop = ..., num = ... }"
    )
    checkpoint_every: int | None = _field(None, minimum=1)
    chunk_size: int | None = _field(None, minimum=1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptimizeTask(_Task):
    kind: str = "optimize"
    objective: str = _field(what="a figure of merit to optimise")
    goal: str = _field("maximize", choices=("maximize", "minimize"))
    parameters: tuple[str, ...] = _field(what="a list of parameter names to optimise")
    bounds: dict = _field(factory=dict)
    optimizer: str = _field("adam", choices=("adam", "sgd", "lbfgs"))
    learning_rate: float | None = _field(None, minimum=0.0, strict=True)  # default: 0.05 but lbfgs
    steps: int = _field(minimum=1, what="the maximum number of optimisation steps (an integer)")
    tolerance: float = _field(1e-8, minimum=0.0)
    gradient_tolerance: float | None = _field(None, minimum=0.0)
    patience: int = _field(10, minimum=1)
    on_failure: str = _field("backtrack", choices=("backtrack", "stop"))
    max_failures: int = _field(10, minimum=1)
    checkpoint_every: int | None = _field(None, minimum=1)


TASKS = {cls.kind: cls for cls in (SteadyTask, SweepTask, OptimizeTask)}
KINDS = tuple(TASKS)


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
        parsed = parse_label(name)
        for key in (name, parsed[0] if parsed else None):
            if key in self.units:
                return self.units[key]
        return default


# ---------------------------------------------------------------------------- the decoder


def describe(value) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return f"a list ({short(value)})"
    if isinstance(value, dict):
        return f"a table with keys {', '.join(map(repr, value)) or '(none)'}"
    return f"a value of type {type(value).__name__}"


def short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Checker:
    """Reads TOML values of one file; every failure is a :class:`StudyError` naming the file,
    the field (a dotted path such as ``task[2].axes[0].num``) and what is expected."""

    def __init__(self, path):
        self.path = path

    def fail(self, field: str | None, message: str):
        raise StudyError(self.path, field, message)

    def table(self, value, field, required=(), optional=None, what=_EXPECTED) -> dict:
        """A table; with ``optional`` given, no keys but ``required`` and ``optional``."""
        if not isinstance(value, dict):
            self.fail(field, f"expected a table (`[{field}]` or `{{...}}`); got {describe(value)}")
        allowed = [*required, *(optional or ())]
        prefix = f"{field}." if field else ""
        for key in value if optional is not None else ():
            if key not in allowed:
                self.fail(
                    prefix + key,
                    f"unknown field; expected {one_of(allowed)}.{suggest(key, allowed)}",
                )
        for key in required:
            if key not in value:
                expected = f"; expected {what[key]}" if key in what else ""
                self.fail(prefix + key, f"this required field is missing{expected}")
        return value

    def decode(self, cls, raw: dict, field: str) -> dict:
        """The values a task table gives for the fields of ``cls``, each read by
        :meth:`value` from the field's type and rules; unknown and missing fields fail."""
        fields = [f for f in dataclasses.fields(cls) if f.metadata.get("toml", True)]
        required = [f.name for f in fields if _required(f)]
        optional = [f.name for f in fields if not _required(f)]
        what = {f.name: f.metadata["what"] for f in fields if "what" in f.metadata}
        self.table(raw, field, required, optional, what)
        hints = typing.get_type_hints(cls)
        rules = {f.name: {k: v for k, v in f.metadata.items() if k != "toml"} for f in fields}
        return {
            k: self.value(hints[k], v, f"{field}.{k}", **rules[k])
            for k, v in raw.items()
            if k != "kind"
        }

    def value(self, hint, value, field, *, minimum=None, strict=False, choices=None, **text):
        """A value of type ``hint`` (``str``, ``bool``, ``int``, ``float``, ``tuple[str, ...]``,
        a ``Literal`` of strings, ``X | None``; anything else is returned as it is); ``text``:
        :meth:`string`'s ``pattern`` and ``what``."""
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            (hint,) = [t for t in typing.get_args(hint) if t is not type(None)]
        if typing.get_origin(hint) is typing.Literal:
            hint, choices = str, typing.get_args(hint)
        if hint is str:
            return self.string(value, field, choices, **text)
        if hint is bool:
            if not isinstance(value, bool):
                self.fail(field, f"expected `true` or `false`; got {describe(value)}")
            return value
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(field, f"expected an integer; got {describe(value)}")
            if minimum is not None and value < minimum:
                self.fail(field, f"expected an integer ≥ {minimum}; got {value}")
            return value
        if hint is float:
            return self.number(value, field, minimum=minimum, strict=strict)
        if hint == tuple[str, ...]:
            return self.strings(value, field)
        return value

    def string(self, value, field, choices=None, pattern=None, what=None) -> str:
        if not isinstance(value, str):
            self.fail(field, f"expected {what or 'a string'}; got {describe(value)}")
        if choices is not None:
            match = [c for c in choices if c.lower() == value.lower()]
            if not match:
                self.fail(
                    field, f"expected {one_of(choices)}; got {value!r}.{suggest(value, choices)}"
                )
            return match[0]
        if pattern is not None and not pattern.match(value):
            self.fail(field, f"expected {what}; got {value!r}")
        return value

    def number(self, value, field, *, minimum=None, strict=False, finite=True) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(field, f"expected a number; got {describe(value)}")
        value = float(value)
        if finite and not math.isfinite(value):
            self.fail(field, f"expected a finite number; got {value}")
        if minimum is not None and (value <= minimum if strict else value < minimum):
            self.fail(
                field, f"expected a number {'>' if strict else '≥'} {minimum:g}; got {value:g}"
            )
        return value

    def strings(self, value, field) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(field, f"expected a list of strings; got {describe(value)}")
        if not value:
            self.fail(field, "expected at least one entry; got an empty list")
        if len(set(value)) != len(value):
            self.fail(field, f"lists {sorted({v for v in value if value.count(v) > 1})} twice")
        return tuple(value)

    def reals(self, value, field) -> np.ndarray:
        """A number or a (nested, rectangular) list of numbers -> float64 array."""

        def ok(v):
            if isinstance(v, list):
                return all(ok(x) for x in v)
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        if not ok(value):
            self.fail(field, f"expected a number or a list of numbers; got {describe(value)}")
        try:
            array = np.asarray(value, dtype=np.float64)
        except ValueError:
            self.fail(field, "expected a rectangular list of numbers (rows of equal length)")
        if array.size == 0:
            self.fail(field, "expected at least one number; got an empty list")
        if not np.all(np.isfinite(array)):
            self.fail(field, f"expected finite numbers; got {short(value)}")
        return array

    def domain(self, field: str, parameter: _registry.Parameter, values: np.ndarray) -> None:
        """The parameter's declared domain holds for ``values``."""
        if parameter.domain == "nonnegative" and np.any(values < 0):
            self.fail(
                field, f"`{parameter.name}` is a rate and must be ≥ 0; got {short(values.tolist())}"
            )
        if parameter.domain == "positive" and np.any(values <= 0):
            self.fail(field, f"`{parameter.name}` must be > 0; got {short(values.tolist())}")


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


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
    check.table(data, "", ("model", "task"), ("name", "description", "solver", "units"))
    what = "a name of letters, digits, '-', '_' and '.' (it names the results folder)"
    name = check.string(data.get("name", path.stem), "name", pattern=_NAME, what=what)
    description = check.string(data.get("description", ""), "description")
    model, parameters = _load_model(check, data["model"])
    solver = _load_solver(check, check.table(data.get("solver", {}), "solver"))
    units = check.table(data.get("units", {}), "units")
    for key, value in units.items():
        check.string(value, f"units.{key}", what="a unit (a string)")
    if not isinstance(data["task"], list) or not data["task"]:
        check.fail("task", f"expected one or more `[[task]]` tables; got {describe(data['task'])}")
    tasks: list = []
    for i, raw in enumerate(data["task"]):
        tasks.append(_load_task(check, f"task[{i}]", raw, model, parameters, tasks))
    study = Study(path, text, name, description, model, parameters, *solver, dict(units), tasks)
    _check_merits(check, study)
    return _shrink(study) if quick else study


def _load_model(check: Checker, raw) -> tuple[_registry.ModelEntry, dict[str, Any]]:
    raw = check.table(raw, "model", ("name", "parameters"), ())
    name = check.string(raw["name"], "model.name", what="a model name (a string)")
    entry = _registry.find_model(name)
    if entry is None:
        names = [e.short for e in _registry.model_entries()]
        check.fail(
            "model.name",
            f"unknown model {name!r}; expected one of {', '.join(names)}.{suggest(name, names)}",
        )
    known = [p.name for p in entry.parameters]
    parameters: dict[str, Any] = {}
    for key, value in check.table(raw["parameters"], "model.parameters").items():
        field, p = f"model.parameters.{key}", entry.parameter(key)
        if p is None:
            check.fail(
                field,
                f"unknown parameter of model {entry.key}; its parameters are {one_of(known)}."
                f"{suggest(key, known)}",
            )
        if p.kind == "real":
            parameters[key] = check.reals(value, field)
            check.domain(field, p, parameters[key])
        else:
            parameters[key] = check.value({"int": int, "bool": bool}.get(p.kind, str), value, field)
    for p in entry.parameters:
        if p.required and p.name not in parameters:
            check.fail(
                f"model.parameters.{p.name}",
                f"missing parameter of model {entry.key} ({p.describe()})",
            )
    _build_model(check, entry, parameters, "model.parameters")
    return entry, parameters


def _build_model(check: Checker, entry, parameters: dict, field: str, overrides=None):
    """Build the model and its Lindbladian concretely; report what the model rejects."""
    try:
        return build_model(entry, parameters, overrides or {}, check_finite=True)
    except (ValueError, TypeError) as e:
        message = str(e).split("\n")[0].rstrip(".")
        if field == "model.parameters":
            blamed = [
                n for n in [*parameters, *(p.name for p in entry.parameters)] if f"`{n}`" in message
            ]
            field = f"{field}.{blamed[0]}" if blamed else field
        check.fail(field, f"model {entry.key} rejects these parameters: {message}")


def _load_solver(check: Checker, raw: dict) -> tuple[str, dict, str]:
    name = check.string(raw.get("name", "Auto"), "solver.name", choices=_registry.SOLVERS)
    precision = check.string(
        raw.get("precision", "float64"), "solver.precision", ("float64", "float32")
    )
    cls = _registry.solver_class(name)
    allowed = _registry.solver_options(cls)
    options = {}
    for key, value in raw.items():
        if key in ("name", "precision"):
            continue
        if key not in allowed:
            names = ["name", "precision", *allowed]
            check.fail(
                f"solver.{key}",
                f"unknown option of solver {name}; expected {one_of(names)}.{suggest(key, names)}",
            )
        options[key] = check.value(allowed[key], value, f"solver.{key}", minimum=0)
    try:
        cls(**options)
    except (ValueError, TypeError) as e:
        check.fail("solver", f"solver {name} rejects these options: {e}")
    return name, options, precision


def _label(check: Checker, field: str, label, entry, parameters, whole_scalar: bool) -> tuple:
    label = check.string(label, field, what=_PARAMETER)
    parsed = parse_label(label)
    if parsed is None:
        check.fail(field, f"expected {_PARAMETER}; got {label!r}")
    name, index = parsed
    p = entry.parameter(name)
    known = [q.name for q in entry.parameters if q.kind == "real"]
    if p is None or p.kind != "real":
        check.fail(
            field,
            f"{name!r} is not a real parameter of model {entry.key}; expected {one_of(known)}."
            f"{suggest(name, known)}",
        )
    value = parameters.get(name)
    if value is None and p.default is not None and not p.required:
        value = np.asarray(p.default, dtype=np.float64)
    if index is not None and (value is None or value.ndim != 1 or index >= value.shape[0]):
        size = "unset" if value is None else f"of shape {value.shape}"
        check.fail(field, f"`{name}` is {size}: no entry [{index}]")
    if index is None and whole_scalar and value is not None and value.size != 1:
        check.fail(field, f"`{name}` has {value.size} entries; name one of them, e.g. `{name}[0]`")
    return label, name, index


def _axis(check: Checker, field, raw, entry, parameters) -> Axis:
    if not isinstance(raw, dict):
        check.fail(field, f"expected a table {{ parameter = ..., ... }}; got {describe(raw)}")
    if "values" in raw:
        check.table(raw, field, ("parameter", "values"), ())
    else:
        check.table(raw, field, ("parameter", "start", "stop", "num"), ("scale",))
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
        num = check.value(int, raw["num"], field + ".num", minimum=1)
        if num > 100_000:
            check.fail(field + ".num", f"expected at most 100000 points; got {num}")
        scale = check.string(raw.get("scale", "linear"), field + ".scale", ("linear", "log"))
        if scale == "log" and (start <= 0 or stop <= 0):
            check.fail(field, f"a log-scale axis needs start, stop > 0; got {start}, {stop}")
        values = (np.geomspace if scale == "log" else np.linspace)(start, stop, num)
    check.domain(field, entry.parameter(name), values)
    return Axis(label, name, index, values, scale)


def _load_task(check: Checker, field: str, raw, entry, parameters, previous: list):
    if not isinstance(raw, dict):
        check.fail(field, f"expected a table; got {describe(raw)}")
    if "kind" not in raw:
        check.fail(field + ".kind", f"this field is missing; expected {one_of(KINDS)}")
    kind = check.string(raw["kind"], field + ".kind", choices=KINDS)
    values = check.decode(TASKS[kind], raw, field)
    values["name"] = name = values.get("name", kind)
    if name in [t.name for t in previous]:
        check.fail(field + ".name", f"another task is already named {name!r}; give each a `name`")
    values["start"] = values.get("start")
    if values["start"] == "model":
        values["start"] = None
    optima = [t.name for t in previous if t.kind == "optimize"]
    if values["start"] is not None and values["start"] not in optima:
        check.fail(
            field + ".start",
            "expected `model` (the study's [model.parameters]) or the name of an earlier "
            f"optimize task ({one_of(optima) or 'there is none'}); got {values['start']!r}",
        )
    values["config"] = dict(raw)
    if kind == "sweep":
        values["axes"] = _axes(check, field, values["axes"], entry, parameters)
    if kind == "optimize":
        _optimize(check, field, values, entry, parameters)
    return TASKS[kind](**values)


def _axes(check: Checker, field: str, raw, entry, parameters) -> tuple[Axis, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= 2:
        check.fail(
            field + ".axes",
            f"expected a list of one or two axes {{ parameter = ..., ... }}; got {describe(raw)}",
        )
    axes = tuple(
        _axis(check, f"{field}.axes[{j}]", a, entry, parameters) for j, a in enumerate(raw)
    )
    if len(axes) == 2 and (
        axes[0].label == axes[1].label
        or (axes[0].name == axes[1].name and None in (axes[0].index, axes[1].index))
    ):
        check.fail(
            field + ".axes", f"the two axes sweep the same parameter ({[a.label for a in axes]})"
        )
    for j, axis in enumerate(axes):  # the model must accept both ends of each axis
        for v in sorted({float(axis.values.min()), float(axis.values.max())}):
            try:
                _build_model(check, entry, parameters, f"{field}.axes[{j}]", {axis.label: v})
            except StudyError as e:
                check.fail(
                    f"{field}.axes[{j}]", f"at `{axis.label}` = {v:g}: {str(e).split(': ', 1)[1]}"
                )
    return axes


def _optimize(check: Checker, field: str, values: dict, entry, parameters) -> None:
    """The optimised parameters and their bounds (each start value strictly inside)."""
    where = f"{field}.parameters"
    parsed = [
        _label(check, where, label, entry, parameters, False) for label in values["parameters"]
    ]
    whole = {n for _, n, i in parsed if i is None}
    for label, name, index in parsed:
        if index is None and name not in parameters and entry.parameter(name).default is None:
            check.fail(where, f"`{name}` has no value to start from: set it in [model.parameters]")
        if index is not None and name in whole:
            check.fail(where, f"lists both `{name}` and `{label}`")
    bounds = {}
    for label, pair in check.table(
        values["bounds"], field + ".bounds", (), values["parameters"]
    ).items():
        f = f"{field}.bounds.{label}"
        if not isinstance(pair, list) or len(pair) != 2:
            check.fail(f, f"expected [lower, upper] (inf allowed); got {describe(pair)}")
        lo, hi = (check.number(x, f, finite=False) for x in pair)
        if math.isnan(lo) or math.isnan(hi) or not lo < hi:
            check.fail(f, f"expected lower < upper; got [{lo}, {hi}]")
        p = entry.parameter(parse_label(label)[0])
        if p.domain and lo < 0:
            sign = "> 0" if p.domain == "positive" else "≥ 0"
            check.fail(f, f"`{p.name}` must be {sign}; the bounds allow {lo}")
        bounds[label] = (lo, hi)
    values["bounds"] = bounds
    if values.get("learning_rate") is None and values.get("optimizer", "adam") != "lbfgs":
        values["learning_rate"] = 0.05
    if values["start"] is not None:
        return
    for label, name, index in parsed:
        value = entry.value(parameters, name, index)
        default = (0.0, math.inf) if entry.parameter(name).domain else (-math.inf, math.inf)
        lo, hi = bounds.get(label, default)
        if np.any(value <= lo) or np.any(value >= hi):
            check.fail(
                f"{field}.bounds",
                f"the start value of `{label}` ({short(np.asarray(value).tolist())}) must lie "
                f"strictly inside its bounds ({lo}, {hi})",
            )


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
                n = min(QUICK_POINTS, axis.values.size)
                keep = np.unique(np.linspace(0, axis.values.size - 1, n).round().astype(int))
                axes.append(dataclasses.replace(axis, values=axis.values[keep]))
            task = dataclasses.replace(task, axes=tuple(axes))
        elif task.kind == "optimize":
            task = dataclasses.replace(task, steps=min(task.steps, QUICK_STEPS))
        tasks.append(task)
    return dataclasses.replace(study, name=study.name + "-quick", tasks=tasks, quick=True)
