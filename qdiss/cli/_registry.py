"""The models and solvers a study can name, read from their declarations.

**Models** are those registered in :data:`qdiss.models.MODELS`; each declares the domain of every
parameter of its ``__init__`` (``domains``) and its own figures of merit (``figures_of_merit``;
the protocol is in the :mod:`qdiss.models` docstring). A model is named by its short name
(``magnon``), ``module.ClassName`` (``magnon.MagnonBathQubits``), its class name or the class name
in snake case (``magnon_bath_qubits``), in any case.

**Solvers** are the public solver classes; a study may set each field whose annotation is
``float``, ``int``, ``bool``, ``str`` or a ``Literal`` of strings (``None`` allowed or not).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import types
import typing
from typing import Any

__all__ = ["ModelEntry", "Parameter", "SOLVERS", "find_model", "model_entries", "solver_class"]

SOLVERS = ("Auto", "DenseLU", "SparseLU", "Krylov", "Evolve")
_KINDS = {"real": "real", "rate": "real", "positive": "real", "int": "int", "bool": "bool"}
_DESCRIBE = {"real": "real", "rate": "real, ≥ 0", "positive": "real, > 0", "int": "integer"}


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One argument of a model's ``__init__`` and its declared domain (``qdiss.models``).

    ``kind``: ``"real"`` (a number or an array of numbers; differentiable), ``"int"``, ``"bool"``
    or ``"str"``; ``domain``: ``"nonnegative"`` (a rate), ``"positive"`` or None. ``default`` is
    ``inspect.Parameter.empty`` when required."""

    name: str
    declared: str  # the model's word: real, rate, positive, int, bool or str
    default: Any

    @property
    def kind(self) -> str:
        return _KINDS.get(self.declared, "str")

    @property
    def domain(self) -> str | None:
        return {"rate": "nonnegative", "positive": "positive"}.get(self.declared)

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def describe(self) -> str:
        text = _DESCRIBE.get(self.declared, {"bool": "true/false"}.get(self.declared, "string"))
        if not self.required:
            text += f", default {self.default!r}" if self.default is not None else ", optional"
        return text


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    key: str  # "module.ClassName"
    short: str  # its name in qdiss.models.MODELS
    cls: type
    parameters: tuple[Parameter, ...]

    @property
    def aliases(self) -> tuple[str, ...]:
        names = {self.short, self.cls.__name__.lower(), _snake(self.cls.__name__)}
        return tuple(sorted(names - {self.key.lower()}, key=lambda a: (len(a), a)))

    @property
    def summary(self) -> str:
        return (inspect.getdoc(self.cls) or "").split("\n\n")[0].replace("\n", " ")

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


def parameter_domain(entry: ModelEntry, name: str) -> str | None:
    """The declared domain of a real parameter: ``"nonnegative"``, ``"positive"`` or None."""
    p = entry.parameter(name)
    return None if p is None else p.domain


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _parameters(cls) -> tuple[Parameter, ...]:
    """The ``__init__`` arguments of a model with their declared domains; a ``TypeError`` names
    an argument that has none (or a domain that is not one of ``qdiss.models.DOMAINS``)."""
    from ..models import DOMAINS

    declared = getattr(cls, "domains", {})
    out = []
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if declared.get(p.name) not in DOMAINS:
            raise TypeError(
                f"model {cls.__name__} declares no domain for its parameter `{p.name}` (its "
                f"`domains` maps each parameter to one of {DOMAINS})."
            )
        out.append(Parameter(p.name, declared[p.name], p.default))
    return tuple(out)


@functools.cache
def model_entries() -> tuple[ModelEntry, ...]:
    """Every model of :data:`qdiss.models.MODELS`, in its order."""
    from ..models import MODELS

    return tuple(
        ModelEntry(
            f"{cls.__module__.rpartition('.')[2]}.{cls.__name__}", short, cls, _parameters(cls)
        )
        for short, cls in MODELS.items()
    )


def find_model(name: str) -> ModelEntry | None:
    """The model called ``name`` (any of its names, case-insensitive), or None."""
    lower = name.lower()
    return next((e for e in model_entries() if lower in (e.key.lower(), *e.aliases)), None)


# --------------------------------------------------------------------------------- solvers


def solver_class(name: str) -> type | None:
    import qdiss

    return next((getattr(qdiss, s) for s in SOLVERS if s.lower() == name.lower()), None)


def solver_options(cls) -> dict[str, Any]:
    """``{option: type}`` for the fields of a solver a study may set: the field's annotation,
    ``None`` removed, when it is ``float``, ``int``, ``bool``, ``str`` or a ``Literal``."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        kinds = {t for t in (typing.get_args(hint) if union else (hint,)) if t is not type(None)}
        kinds = {float} if kinds == {int, float} else kinds
        (kind,) = kinds if len(kinds) == 1 else (None,)
        if kind in (float, int, bool, str) or typing.get_origin(kind) is typing.Literal:
            out[f.name] = kind
    return out
