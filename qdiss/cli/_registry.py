"""Models and solvers a study can name, found by introspection (no list to keep up to date).

**Models.** Every concrete ``equinox.Module`` defined in a module of :mod:`qdiss.models` that has a
``lindbladian()`` method is a model. Its parameters are the arguments of its ``__init__``; a
parameter that is a static field of the module (``eqx.field(static=True)``) annotated ``int``,
``bool`` or ``str`` takes that type, every other parameter is real (a number or a list of
numbers). A model is named by ``module.ClassName`` (``magnon.MagnonBathQubits``), by its class name
in any case (``MagnonBathQubits``), in snake case (``magnon_bath_qubits``), or by its module's name
when the module defines only one model (``magnon``). A new model class in ``qdiss/models/`` is
picked up with no change here.

**Rates.** Parameters named like rates (``gamma*``, ``kappa*``, ``rate*``, ``dephasing``,
``collective_decay``) must be ≥ 0, and ``temperature`` > 0: the command line checks that before
anything runs (and optimises them in a positive range unless the study gives bounds).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import pkgutil
import re
from typing import Any

__all__ = [
    "ModelEntry",
    "Parameter",
    "SOLVERS",
    "discover_models",
    "find_model",
    "parameter_domain",
    "solver_options",
]

MODELS_PACKAGE = "qdiss.models"
_RATE = re.compile(r"^(gamma|Gamma|kappa|rate|dephasing|collective_decay)(_\w+)?$")


def parameter_domain(name: str) -> str | None:
    """``"positive"`` (temperature), ``"nonnegative"`` (rates) or None, from the name."""
    if name == "temperature" or name.startswith("temperature_"):
        return "positive"
    if _RATE.match(name):
        return "nonnegative"
    return None


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One argument of a model's ``__init__``.

    ``kind``: ``"real"`` (a number or an array of numbers; differentiable), ``"int"``, ``"bool"``
    or ``"str"`` (static structure). ``default`` is ``inspect.Parameter.empty`` when required.
    """

    name: str
    kind: str
    default: Any

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    @property
    def domain(self) -> str | None:
        return parameter_domain(self.name) if self.kind == "real" else None

    def describe(self) -> str:
        text = {"real": "real", "int": "integer", "bool": "true/false", "str": "string"}[self.kind]
        if self.domain == "nonnegative":
            text += ", ≥ 0"
        elif self.domain == "positive":
            text += ", > 0"
        if not self.required:
            text += f", default {self.default!r}" if self.default is not None else ", optional"
        return text


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    key: str  # "module.ClassName"
    cls: type
    parameters: tuple[Parameter, ...]
    aliases: tuple[str, ...]

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.cls) or ""
        return doc.split("\n\n")[0].replace("\n", " ")

    def parameter(self, name: str) -> Parameter | None:
        for p in self.parameters:
            if p.name == name:
                return p
        return None


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _kind(annotation) -> str | None:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    text = text.replace(" ", "")
    for name in ("bool", "int", "str"):
        if text == name:
            return name
    return None


def _parameters(cls) -> tuple[Parameter, ...]:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = []
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        field = fields.get(p.name)
        kind = "real"
        if field is not None and field.metadata.get("static", False):
            kind = _kind(field.type) or "str"
        elif field is None and isinstance(p.default, (bool, str)):
            kind = "bool" if isinstance(p.default, bool) else "str"
        out.append(Parameter(p.name, kind, p.default))
    return tuple(out)


def _is_model(obj, module_name: str) -> bool:
    import equinox as eqx

    return (
        isinstance(obj, type)
        and issubclass(obj, eqx.Module)
        and obj.__module__ == module_name
        and not inspect.isabstract(obj)
        and callable(getattr(obj, "lindbladian", None))
    )


@functools.cache
def discover_models() -> tuple[tuple[ModelEntry, ...], dict[str, str]]:
    """All models, and ``{module: error}`` for modules of qdiss.models that failed to import."""
    package = importlib.import_module(MODELS_PACKAGE)
    found: list[tuple[str, type]] = []
    failed: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module_name = f"{MODELS_PACKAGE}.{info.name}"
        try:
            module = importlib.import_module(module_name)
        except Exception as e:  # a model module being written: list the others
            failed[module_name] = f"{type(e).__name__}: {e}"
            continue
        for name, obj in vars(module).items():
            if not name.startswith("_") and _is_model(obj, module_name):
                found.append((info.name, obj))
    per_module: dict[str, int] = {}
    for mod, _ in found:
        per_module[mod] = per_module.get(mod, 0) + 1
    names: dict[str, list[int]] = {}
    for i, (mod, cls) in enumerate(found):
        aliases = {f"{mod}.{cls.__name__}", cls.__name__, _snake(cls.__name__)}
        if per_module[mod] == 1:
            aliases.add(mod)
        for a in aliases:
            names.setdefault(a.lower(), []).append(i)
    entries = []
    for i, (mod, cls) in enumerate(found):
        key = f"{mod}.{cls.__name__}"
        aliases = sorted(
            {a for a, idx in names.items() if idx == [i] and a != key.lower()},
            key=lambda a: (len(a), a),
        )
        entries.append(ModelEntry(key, cls, _parameters(cls), tuple(aliases)))
    return tuple(entries), failed


def find_model(name: str) -> ModelEntry | None:
    """The model called ``name`` (case-insensitive; see the module docstring), or None."""
    entries, _ = discover_models()
    lower = name.lower()
    for entry in entries:
        if lower == entry.key.lower() or lower in entry.aliases:
            return entry
    return None


def model_names() -> list[str]:
    """The shortest name of every model."""
    entries, _ = discover_models()
    return [short_name(entry) for entry in entries]


def short_name(entry: ModelEntry) -> str:
    """The module's name if it names this model alone, else the class name in snake case."""
    module = entry.key.split(".")[0]
    return module if module in entry.aliases else _snake(entry.cls.__name__)


# --------------------------------------------------------------------------------- solvers


def _solver_classes() -> dict[str, type]:
    import qdiss

    return {name: getattr(qdiss, name) for name in SOLVERS}


SOLVERS = ("Auto", "DenseLU", "SparseLU", "Krylov", "Evolve")


def solver_class(name: str) -> type | None:
    classes = _solver_classes()
    for key, cls in classes.items():
        if key.lower() == name.lower():
            return cls
    return None


def solver_options(cls) -> dict[str, tuple[str, tuple[str, ...]]]:
    """``{option: (kind, choices)}`` for the fields of a solver a study may set: ``kind`` is
    ``"real"``, ``"int"``, ``"bool"`` or ``"choice"`` (then ``choices`` lists the strings)."""
    out = {}
    for f in dataclasses.fields(cls):
        text = f.type if isinstance(f.type, str) else str(f.type)
        text = text.replace(" ", "").replace("|None", "").replace("None|", "")
        if text.startswith("Literal["):
            out[f.name] = ("choice", tuple(re.findall(r"['\"]([^'\"]+)['\"]", text)))
        elif text in ("float", "int|float", "float|int"):
            out[f.name] = ("real", ())
        elif text == "int":
            out[f.name] = ("int", ())
        elif text == "bool":
            out[f.name] = ("bool", ())
        elif text == "str":
            out[f.name] = ("str", ())
    return out
