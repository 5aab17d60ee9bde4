"""Study files: TOML in, a checked :class:`Study` out. A study file is data: ``tomllib`` parses it,
the pydantic schema below (each field's type, default, rule and description) decodes it, and every
name in it is looked up in a registry (models, figures of merit, solvers); nothing in it is
executed. Every problem is a :class:`StudyError` naming the file, the field and what is expected
(:func:`_study_error` translates pydantic's errors). The format is in :data:`FORMAT`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
import pydantic
from pydantic import Field
from pydantic_core import PydanticCustomError

from . import _registry
from ._build import build_model
from ._errors import StudyError, one_of, suggest
from ._format import FORMAT
from ._registry import parse_label

__all__ = ["FORMAT", "Axis", "OptimizeTask", "Study", "SteadyTask", "SweepTask", "load_study"]

QUICK_POINTS = 5
QUICK_STEPS = 10
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_PARAMETER = "a parameter name such as `mu` or `mu[0]`"
_AXES = "a list of one or two axes { parameter = ..., start = ..., stop = ..., num = ... }"


def describe(value) -> str:
    """A TOML value in words, for "got ..." in a message."""
    if value is None:
        return "nothing (the field is missing)"
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


# ---------------------------------------------------------------------------- the schema


def _pick(choices: tuple[str, ...], value) -> str:
    """The one of ``choices`` that ``value`` is, in any case, else a ``ValueError``."""
    match = [c for c in choices if isinstance(value, str) and c.lower() == value.lower()]
    if not match:
        hint = suggest(value, choices) if isinstance(value, str) else ""
        raise ValueError(f"expected {one_of(choices)}; got {describe(value)}.{hint}")
    return match[0]


def _choice(*choices: str):
    """A string type: one of ``choices`` in any case, returned as spelt in ``choices``."""
    return Annotated[str, pydantic.BeforeValidator(functools.partial(_pick, choices))]


def _rule(ok, expected: str):
    """A check of a TOML value before it is decoded: "expected ...; got ..." unless ``ok``."""

    def check(value):
        if not ok(value):
            raise ValueError(f"expected {expected}; got {describe(value)}")
        return value

    return pydantic.BeforeValidator(check)


def _distinct(names: list[str]) -> list[str]:
    if len(set(names)) != len(names):
        raise ValueError(f"lists {sorted({n for n in names if names.count(n) > 1})} twice")
    return names


def _named(what: str):
    """A name of letters, digits, '-', '_' and '.'."""
    return Annotated[str, _rule(lambda v: isinstance(v, str) and re.match(_NAME, v), what)]


def _reals(value) -> np.ndarray:
    """A number or a (nested, rectangular) list of finite numbers -> float64 array."""

    def ok(v):
        if isinstance(v, list):
            return all(ok(x) for x in v)
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if not ok(value):
        raise ValueError(f"expected a number or a list of numbers; got {describe(value)}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except ValueError:
        raise ValueError("expected a rectangular list of numbers (rows of equal length)") from None
    if array.size == 0:
        raise ValueError("expected at least one number; got an empty list")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"expected finite numbers; got {short(value)}")
    return array


Merits = Annotated[
    list[str],
    Field(min_length=1, description='a list of figures of merit, e.g. ["purity"]'),
    pydantic.AfterValidator(_distinct),
]
Label = Annotated[str, _rule(lambda v: isinstance(v, str) and parse_label(v), _PARAMETER)]


def _pair(bounds: list[float]) -> tuple[float, float]:
    if len(bounds) != 2 or not bounds[0] < bounds[1]:
        raise ValueError(f"expected [lower, upper] with lower < upper (inf allowed); got {bounds}")
    return tuple(bounds)


Bounds = Annotated[list[Annotated[float, pydantic.AllowInfNan()]], pydantic.AfterValidator(_pair)]


class _Table(pydantic.BaseModel):
    """A TOML table: its fields are the keys it may have; ``noun`` names them in messages."""

    model_config = pydantic.ConfigDict(strict=True, frozen=True, allow_inf_nan=False)
    noun: ClassVar[str] = "field"

    @pydantic.model_validator(mode="before")
    @classmethod
    def _keys(cls, raw):
        """No unknown key, no missing one; told with the table's keys and their descriptions."""
        fields = cls.model_fields
        for key in raw if isinstance(raw, dict) else ():  # else pydantic: "expected a table"
            if key not in fields:
                unknown = f"unknown {cls.noun}; expected {one_of(fields)}.{suggest(key, fields)}"
                raise PydanticCustomError("key", "{text}", {"key": key, "text": unknown})
        for key, f in fields.items() if isinstance(raw, dict) else ():
            if f.is_required() and key not in raw:
                missing = f"missing {cls.noun}; expected {f.description}"
                raise PydanticCustomError("key", "{text}", {"key": key, "text": missing})
        return raw


class _AxisTable(_Table):
    parameter: Label = Field(description=_PARAMETER)
    values: list[float] | None = Field(None, min_length=1)
    start: float | None = None
    stop: float | None = None
    num: int | None = Field(None, ge=1, le=100_000)
    scale: _choice("linear", "log") = "linear"

    @pydantic.model_validator(mode="after")
    def _either(self):
        """``values`` alone, or ``start``, ``stop`` and ``num`` (and ``scale``)."""
        grid = [k for k in ("start", "stop", "num", "scale") if k in self.model_fields_set]
        if self.values is not None and grid:
            raise ValueError(f"expected `values` or `start`, `stop`, `num`; got both ({grid})")
        if self.values is None and len([k for k in grid if k != "scale"]) < 3:
            raise ValueError("expected `values`, or `start`, `stop` and `num`")
        if self.scale == "log" and (self.start <= 0 or self.stop <= 0):
            raise ValueError(
                f"a log-scale axis needs start, stop > 0; got {self.start}, {self.stop}"
            )
        return self


@dataclasses.dataclass(frozen=True)
class Axis:
    """One axis of a sweep: ``label`` ``"eta[1]"`` = parameter ``name`` entry ``index``."""

    label: str
    name: str
    index: int | None
    values: np.ndarray
    scale: str  # "linear" or "log"


_TaskName = _named("a task name of letters, digits, '-', '_' and '.' (it names the result files)")


class _Task(_Table):
    name: _TaskName | None = None  # default: the kind
    start: str | None = None  # "model" or an earlier optimize task; None: the model
    _config: dict = pydantic.PrivateAttr(default_factory=dict)

    @property
    def config(self) -> dict:
        """The task's table as written."""
        return self._config


class SteadyTask(_Task):
    """One steady state and its figures of merit (and their gradients)."""

    kind: _choice("steady") = "steady"
    merits: Merits
    gradients: bool = False


class SweepTask(_Task):
    """A grid over one or two parameters."""

    kind: _choice("sweep") = "sweep"
    merits: Merits
    axes: Annotated[  # tuple[Axis, ...] once checked against the model
        list[_AxisTable],
        _rule(lambda v: isinstance(v, list) and 1 <= len(v) <= 2, _AXES),
        Field(description=_AXES),
    ]
    checkpoint_every: int | None = Field(None, ge=1)
    chunk_size: int | None = Field(None, ge=1)


class OptimizeTask(_Task):
    """A gradient-based optimisation of one figure of merit."""

    kind: _choice("optimize") = "optimize"
    objective: str = Field(description="a figure of merit to optimise")
    goal: _choice("maximize", "minimize") = "maximize"
    parameters: Annotated[list[Label], pydantic.AfterValidator(_distinct)] = Field(
        min_length=1, description="a list of parameter names to optimise"
    )
    bounds: dict[str, Bounds] = {}
    optimizer: _choice("adam", "sgd", "lbfgs") = "adam"
    learning_rate: float | None = Field(None, gt=0.0)  # default: 0.05 but for lbfgs
    steps: int = Field(ge=1, description="the maximum number of optimisation steps (an integer)")
    tolerance: float = Field(1e-8, ge=0.0)
    gradient_tolerance: float | None = Field(None, ge=0.0)
    patience: int = Field(10, ge=1)
    on_failure: _choice("backtrack", "stop") = "backtrack"
    max_failures: int = Field(10, ge=1)
    checkpoint_every: int | None = Field(None, ge=1)


class _Grid(_Table):
    start: float = Field(description="a number")
    stop: float = Field(description="a number")
    num: int = Field(ge=2, le=100_000, description="a number of points (an integer ≥ 2)")

    @pydantic.model_validator(mode="after")
    def _increasing(self):
        if not self.start < self.stop:
            raise ValueError(f"expected start < stop; got {self.start}, {self.stop}")
        return self


class SpectrumTask(_Task):
    """The emission spectrum of one dissipation channel, S(ω) of ⟨L_k†(τ)L_k(0)⟩."""

    kind: _choice("spectrum") = "spectrum"
    jump: int = Field(0, ge=0)
    omega: _Grid = Field(description="a frequency grid { start = ..., stop = ..., num = ... }")


TASKS = {"steady": SteadyTask, "sweep": SweepTask, "optimize": OptimizeTask}
TASKS["spectrum"] = SpectrumTask
KINDS = tuple(TASKS)


class _Model(_Table):
    name: str = Field(description="a model name (a string)")
    parameters: dict[str, Any] = Field(description="a table of the model's parameters")


class _Solver(_Table):
    name: _choice(*_registry.SOLVERS) = "Auto"
    precision: _choice("float64", "float32") = "float64"


class _StudyFile(_Table):
    name: _named("a name of letters, digits, '-', '_' and '.' (it names the results folder)")
    description: str = ""
    model: _Model = Field(
        description="a [model] table with the model's `name` and a [model.parameters] table"
    )
    solver: dict[str, Any] = {}  # read by the solver's own table: _solver_table
    units: dict[str, str] = {}
    task: list[dict[str, Any]] = Field(min_length=1, description="one or more [[task]] tables")


def _parameters_table(entry: _registry.ModelEntry) -> type[_Table]:
    """The [model.parameters] table of a model: its parameters with their declared kinds and
    domains (a real one: a number or a list of numbers)."""

    def field(p: _registry.Parameter):
        if p.kind == "real":
            hint = Annotated[Any, pydantic.AfterValidator(_reals), pydantic.AfterValidator(p.check)]
        else:
            hint = {"int": int, "bool": bool}.get(p.kind, str)
        return hint, Field(... if p.required else None, description=p.describe())

    fields = {p.name: field(p) for p in entry.parameters}
    table = pydantic.create_model(entry.key, __base__=_Table, **fields)
    table.noun = f"parameter of model {entry.key}"
    return table


def _solver_table(name: str) -> type[_Table]:
    """The [solver] table of a solver: ``name``, ``precision`` and each field of the solver
    class whose annotation (``None`` aside) is a float, int, bool, str or ``Literal`` of strings;
    numbers ≥ 0."""
    cls = _registry.solver_class(name)
    fields = {}
    for f in dataclasses.fields(cls):
        hint = typing.get_type_hints(cls)[f.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        kinds = {t for t in (typing.get_args(hint) if union else (hint,)) if t is not type(None)}
        kinds = {float} if kinds == {int, float} else kinds
        hint = kinds.pop() if len(kinds) == 1 else None
        if typing.get_origin(hint) is typing.Literal:
            hint = _choice(*typing.get_args(hint))
        if hint in (float, int, bool, str) or typing.get_origin(hint) is Annotated:
            fields[f.name] = hint | None, Field(None, ge=hint(0) if hint in (int, float) else None)
    table = pydantic.create_model(name, __base__=_Solver, **fields)
    table.noun = f"option of solver {name}"
    return table


@dataclasses.dataclass
class Study:
    """A checked study file: its model, solver, units and tasks."""

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


# ------------------------------------------------------------- pydantic's errors in words


def _study_error(path, error: pydantic.ValidationError, schema, prefix=()) -> StudyError:
    """The first of pydantic's errors as a :class:`StudyError`: the field as a dotted path
    (``task[1].axes[0].num``), what is expected (the message of a check above, or from the
    error's type and context) and what was found."""
    e = error.errors()[0]
    kind, ctx, value, loc = e["type"], e.get("ctx", {}), e["input"], list(e["loc"])
    if kind == "key":
        loc.append(ctx["key"])
    field = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in [*prefix, *loc])[1:]
    bound = next((k for k in ctx if k in _SIGNS), None)  # ge=1: an integer; ge=0.0: a number
    if kind in ("key", "value_error"):
        message = str(ctx.get("text", ctx.get("error")))
    elif bound is not None:
        number = "an integer" if isinstance(ctx[bound], int) else "a number"
        message = f"expected {number} {_SIGNS[bound]} {ctx[bound]:g}; got {value}"
    elif kind in ("dict_type", "model_type"):
        syntax = "`{...}`" if "[" in field else f"`[{field}]` or `{{...}}`"
        message = f"expected a table ({syntax}); got {describe(value)}"
    elif kind == "too_short":
        message = "expected at least one entry; got an empty list"
    else:  # a wrong type: pydantic's "Input should be a valid number" -> "a number"
        expected = e["msg"].removeprefix("Input should be ").replace("valid ", "")
        message = f"expected {_TYPES.get(kind, expected)}; got {describe(value)}"
    return StudyError(path, field or None, message)


_SIGNS = {"ge": "≥", "gt": ">", "le": "≤"}
_TYPES = {"int_type": "an integer", "bool_type": "`true` or `false`"}


def _validate(path, schema: type[_Table], raw, prefix=()):
    """``raw`` decoded by ``schema``, or the :class:`StudyError` of its first problem."""
    try:
        return schema.model_validate(raw)
    except pydantic.ValidationError as e:
        raise _study_error(path, e, schema, prefix) from None


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
    raw = _validate(path, _StudyFile, {"name": path.stem, **data})
    entry = _registry.find_model(raw.model.name)
    if entry is None:
        names = [e.short for e in _registry.model_entries()]
        raise StudyError(
            path,
            "model.name",
            f"unknown model {raw.model.name!r}; expected one of {', '.join(names)}."
            + suggest(raw.model.name, names),
        )
    table = _validate(path, _parameters_table(entry), raw.model.parameters, ("model", "parameters"))
    checks = _Checks(path, entry, {k: getattr(table, k) for k in raw.model.parameters})
    checks.build("model.parameters")
    name = _validate(path, _Solver, {"name": raw.solver.get("name", "Auto")}, ("solver",)).name
    solver = _validate(path, _solver_table(name), raw.solver, ("solver",))
    options = {k: getattr(solver, k) for k in raw.solver if k not in ("name", "precision")}
    try:
        _registry.solver_class(name)(**options)
    except (ValueError, TypeError) as e:
        raise StudyError(path, "solver", f"solver {name} rejects these options: {e}") from None
    tasks: list = []
    for i, table in enumerate(raw.task):
        try:
            kind = _pick(KINDS, table.get("kind"))
        except ValueError as e:
            raise StudyError(path, f"task[{i}].kind", str(e)) from None
        task = _validate(path, TASKS[kind], table, ("task", i))
        tasks.append(checks.task(f"task[{i}]", task, table, tasks))
    study = Study(
        path, text, raw.name, raw.description, entry, checks.parameters, name, options,
        solver.precision, raw.units, tasks,
    )  # fmt: skip
    checks.merits(study)
    return _shrink(study) if quick else study


@dataclasses.dataclass
class _Checks:
    """The checks of a study that need its model: the parameters a task names, their declared
    domains, what the model accepts (it is built) and which figures of merit apply."""

    path: Path
    entry: _registry.ModelEntry
    parameters: dict[str, Any]

    def fail(self, field: str, message: str) -> typing.NoReturn:
        raise StudyError(self.path, field, message)

    def build(self, field: str, overrides=None):
        """Build the model and its Lindbladian concretely; report what the model rejects."""
        try:
            return build_model(self.entry, self.parameters, overrides or {}, check_finite=True)
        except (ValueError, TypeError) as e:
            message = str(e).split("\n")[0].rstrip(".")
            names = [*self.parameters, *(p.name for p in self.entry.parameters)]
            blamed = [n for n in names if f"`{n}`" in message]
            if field == "model.parameters" and blamed:
                field = f"{field}.{blamed[0]}"
            self.fail(field, f"model {self.entry.key} rejects these parameters: {message}")

    def label(self, field: str, label: str, whole_scalar: bool) -> tuple[str, int | None]:
        """``(name, index)`` of a real parameter or an entry of one (``"eta[1]"``)."""
        name, index = parse_label(label)
        p = self.entry.parameter(name)
        known = [q.name for q in self.entry.parameters if q.kind == "real"]
        if p is None or p.kind != "real":
            self.fail(
                field,
                f"{name!r} is not a real parameter of model {self.entry.key}; expected "
                f"{one_of(known)}.{suggest(name, known)}",
            )
        value = self.parameters.get(name)
        if value is None and p.default is not None and not p.required:
            value = np.asarray(p.default, dtype=np.float64)
        if index is not None and (value is None or value.ndim != 1 or index >= value.shape[0]):
            size = "unset" if value is None else f"of shape {value.shape}"
            self.fail(field, f"`{name}` is {size}: no entry [{index}]")
        if index is None and whole_scalar and value is not None and value.size != 1:
            self.fail(
                field, f"`{name}` has {value.size} entries; name one of them, e.g. `{name}[0]`"
            )
        return name, index

    def task(self, field: str, task: _Task, table: dict, previous: list) -> _Task:
        """A task with its name, start, axes (a sweep) and bounds (an optimisation) checked."""
        name = task.name or task.kind
        if name in [t.name for t in previous]:
            self.fail(
                field + ".name", f"another task is already named {name!r}; give each a `name`"
            )
        start = None if task.start == "model" else task.start
        optima = [t.name for t in previous if t.kind == "optimize"]
        if start is not None and start not in optima:
            self.fail(
                field + ".start",
                "expected `model` (the study's [model.parameters]) or the name of an earlier "
                f"optimize task ({one_of(optima) or 'there is none'}); got {start!r}",
            )
        update = {"name": name, "start": start}
        if task.kind == "sweep":
            update["axes"] = self.axes(field, task.axes)
        if task.kind == "optimize":
            update["learning_rate"] = self.optimize(field, task, start)
        if task.kind == "spectrum":
            jumps = getattr(self.build(field)[1], "jump_ops", None)
            if jumps is None or task.jump >= len(jumps):
                have = "none listed" if jumps is None else f"{len(jumps)}"
                self.fail(f"{field}.jump", f"no jump operator {task.jump} ({have}) in this model")
        task = task.model_copy(update=update)
        task._config = dict(table)
        return task

    def axes(self, field: str, raws: list[_AxisTable]) -> tuple[Axis, ...]:
        """The axes of a sweep: their points, in the parameters' domains, not one parameter
        twice, both ends of each accepted by the model."""
        axes = []
        for j, raw in enumerate(raws):
            where = f"{field}.axes[{j}]"
            name, index = self.label(where + ".parameter", raw.parameter, True)
            grid = np.geomspace if raw.scale == "log" else np.linspace
            values = np.asarray(raw.values) if raw.values else grid(raw.start, raw.stop, raw.num)
            try:
                self.entry.parameter(name).check(values)
            except ValueError as e:
                self.fail(where, str(e))
            axes.append(Axis(raw.parameter, name, index, values, raw.scale))
        labels = [a.label for a in axes]
        if len(axes) == 2 and (
            labels[0] == labels[1]
            or (axes[0].name == axes[1].name and None in (a.index for a in axes))
        ):
            self.fail(field + ".axes", f"the two axes sweep the same parameter ({labels})")
        for j, axis in enumerate(axes):
            for v in sorted({float(axis.values.min()), float(axis.values.max())}):
                try:
                    self.build(f"{field}.axes[{j}]", {axis.label: v})
                except StudyError as e:
                    message = str(e).split(": ", 1)[1]
                    self.fail(f"{field}.axes[{j}]", f"at `{axis.label}` = {v:g}: {message}")
        return tuple(axes)

    def optimize(self, field: str, task: OptimizeTask, start: str | None) -> float | None:
        """Check the optimised parameters and their bounds (each start value strictly inside);
        return the learning rate (default 0.05, none for lbfgs)."""
        where = f"{field}.parameters"
        parsed = [(label, *self.label(where, label, False)) for label in task.parameters]
        whole = {n for _, n, i in parsed if i is None}
        for label, name, index in parsed:
            if index is None and name not in self.parameters:
                if self.entry.parameter(name).default is None:
                    self.fail(
                        where, f"`{name}` has no value to start from: set it in [model.parameters]"
                    )
            if index is not None and name in whole:
                self.fail(where, f"lists both `{name}` and `{label}`")
        for label, (lo, _) in task.bounds.items():
            if label not in task.parameters:
                self.fail(
                    f"{field}.bounds.{label}",
                    f"not an optimised parameter; expected {one_of(task.parameters)}."
                    + suggest(label, task.parameters),
                )
            p = self.entry.parameter(parse_label(label)[0])
            if p.domain and lo < 0:
                sign = "> 0" if p.domain == "positive" else "≥ 0"
                self.fail(
                    f"{field}.bounds.{label}", f"`{p.name}` must be {sign}; the bounds allow {lo}"
                )
        for label, name, index in parsed if start is None else ():
            value = self.entry.value(self.parameters, name, index)
            default = (
                (0.0, math.inf) if self.entry.parameter(name).domain else (-math.inf, math.inf)
            )
            lo, hi = task.bounds.get(label, default)
            if np.any(value <= lo) or np.any(value >= hi):
                self.fail(
                    f"{field}.bounds",
                    f"the start value of `{label}` ({short(np.asarray(value).tolist())}) must lie "
                    f"strictly inside its bounds ({lo}, {hi})",
                )
        if task.learning_rate is None and task.optimizer != "lbfgs":
            return 0.05
        return task.learning_rate

    def merits(self, study: Study) -> None:
        """Every figure of merit a task names applies to the model."""
        from . import _merits

        model, L = self.build("model.parameters")
        for i, task in enumerate(study.tasks):
            names = [task.objective] if task.kind == "optimize" else getattr(task, "merits", [])
            field = f"task[{i}].{'objective' if task.kind == 'optimize' else 'merits'}"
            for name in names:
                try:
                    _merits.resolve(name, model, L)
                except KeyError:
                    available = [m.name for m in _merits.available(model, L)]
                    self.fail(
                        field,
                        f"unknown figure of merit {name!r} for model {self.entry.key}; expected "
                        f"{one_of(available)}.{suggest(name, available)}",
                    )
                except ValueError as e:
                    self.fail(field, f"{name!r} does not apply to model {self.entry.key}: {e}")


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
            task = task.model_copy(update={"axes": tuple(axes)})
        elif task.kind == "optimize":
            task = task.model_copy(update={"steps": min(task.steps, QUICK_STEPS)})
        elif task.kind == "spectrum":
            grid = task.omega.model_copy(update={"num": min(task.omega.num, 4 * QUICK_POINTS)})
            task = task.model_copy(update={"omega": grid})
        tasks.append(task)
    return dataclasses.replace(study, name=study.name + "-quick", tasks=tasks, quick=True)
