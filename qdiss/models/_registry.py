"""The registered models read from their declarations: each ``__init__`` argument with its
declared domain (``domains``), the names a model is known by, and building a model from a table
of parameter values with some real entries replaced (``{"eta[1]": x}``), concretely or under
``jit``/``grad``/``vmap``."""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any

import jax.numpy as jnp
import numpy as np

__all__ = ["DOMAINS", "ModelEntry", "Parameter", "declared_parameters", "parse_label"]

DOMAINS = ("real", "rate", "positive", "int", "bool", "str")
_KINDS = {"real": "real", "rate": "real", "positive": "real", "int": "int", "bool": "bool"}
_DESCRIBE = {"real": "real", "rate": "real, ≥ 0", "positive": "real, > 0", "int": "integer"}
_LABEL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")


def parse_label(label: str) -> tuple[str, int | None] | None:
    """``"eta[1]"`` -> ``("eta", 1)``; ``"mu"`` -> ``("mu", None)``; None if malformed."""
    m = _LABEL.match(label)
    return None if m is None else (m.group(1), None if m.group(2) is None else int(m.group(2)))


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One argument of a model's ``__init__`` and its declared domain.

    ``kind``: ``"real"`` (a number or an array of numbers; differentiable), ``"int"``, ``"bool"``
    or ``"str"``; ``domain``: ``"nonnegative"`` (a rate), ``"positive"`` or None. ``default`` is
    ``inspect.Parameter.empty`` when required."""

    name: str
    declared: str  # the model's word, one of DOMAINS
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

    def check(self, value) -> np.ndarray:
        """``value`` as a float64 array if it lies in the declared domain (a rate ≥ 0, a
        positive parameter > 0), else a ``ValueError`` naming the parameter, the domain and
        the value that leaves it. Checks only the declared domain, not the model's own rules."""
        values = np.asarray(value, dtype=np.float64)
        if self.domain == "nonnegative" and np.any(values < 0):
            raise ValueError(f"`{self.name}` is a rate and must be ≥ 0; got {values.min():g}")
        if self.domain == "positive" and np.any(values <= 0):
            raise ValueError(f"`{self.name}` must be > 0; got {values.min():g}")
        return values

    def describe(self) -> str:
        """``"real, ≥ 0, default 0.0"``: the domain and default in words."""
        text = _DESCRIBE.get(self.declared, {"bool": "true/false"}.get(self.declared, "string"))
        if not self.required:
            text += f", default {self.default!r}" if self.default is not None else ", optional"
        return text


def declared_parameters(cls) -> tuple[Parameter, ...]:
    """The ``__init__`` arguments of a model with their declared domains; a ``TypeError`` names
    an argument that has none (or a domain that is not one of :data:`DOMAINS`)."""
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


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """A registered model: ``key`` ``"module.ClassName"``, ``short`` its registry name."""

    key: str
    short: str
    cls: type
    parameters: tuple[Parameter, ...]

    @classmethod
    def of(cls, short: str, model: type) -> ModelEntry:
        """The entry of ``model`` registered as ``short``."""
        key = f"{model.__module__.rpartition('.')[2]}.{model.__name__}"
        return cls(key, short, model, declared_parameters(model))

    @property
    def aliases(self) -> tuple[str, ...]:
        """Lower-case names besides ``key``: the short name, class name and its snake case."""
        names = {self.short, self.cls.__name__.lower(), _snake(self.cls.__name__)}
        return tuple(sorted(names - {self.key.lower()}, key=lambda a: (len(a), a)))

    @property
    def summary(self) -> str:
        """The first paragraph of the class docstring, on one line."""
        return (inspect.getdoc(self.cls) or "").split("\n\n")[0].replace("\n", " ")

    def parameter(self, name: str) -> Parameter | None:
        """The parameter called ``name``, or None."""
        return next((p for p in self.parameters if p.name == name), None)

    def value(self, parameters: dict, name: str, index: int | None = None) -> np.ndarray:
        """The value of a real parameter in ``parameters`` (its default if unset, NaN if it has
        none), or its entry ``index``."""
        if name in parameters:
            value = np.asarray(parameters[name], dtype=np.float64)
        else:
            default = self.parameter(name).default
            value = np.asarray(np.nan if default is None else default, dtype=np.float64)
        return value if index is None else value[index]

    def kwargs(self, parameters: dict, overrides: dict, dtype=jnp.float64) -> dict:
        """Keyword arguments of the model class: ``parameters`` (real ones as ``dtype``
        arrays) with ``overrides`` ``{label: value}`` applied, a label being a whole parameter
        (``"mu"``) or one entry (``"mu[1]"``, taken from the default if ``mu`` is unset)."""
        kwargs = {}
        for p in self.parameters:
            if p.name in parameters:
                value = parameters[p.name]
                kwargs[p.name] = jnp.asarray(value, dtype=dtype) if p.kind == "real" else value
        for label, value in overrides.items():
            name, index = parse_label(label)
            value = jnp.asarray(value).astype(dtype)
            if index is None:
                kwargs[name] = value
            else:
                whole = kwargs.get(name)
                if whole is None:
                    whole = jnp.asarray(self.value(parameters, name), dtype=dtype)
                kwargs[name] = whole.at[index].set(value)
        return kwargs
