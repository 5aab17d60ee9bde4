"""The models and solvers a study can name.

**Models** are those of :data:`qdiss.models.MODELS`, read by :func:`qdiss.models.find_model`
(re-exported here). **Solvers** are the public solver classes; a study may set each field whose
annotation is ``float``, ``int``, ``bool``, ``str`` or a ``Literal`` of strings (``None`` allowed
or not).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from ..models import ModelEntry, Parameter, find_model, model_entries, parse_label

__all__ = ["SOLVERS", "ModelEntry", "Parameter", "find_model", "model_entries", "parse_label"]
__all__ += ["parameter_domain", "solver_class", "solver_options"]

SOLVERS = ("Auto", "DenseLU", "SparseLU", "Krylov", "Evolve")


def parameter_domain(entry: ModelEntry, name: str) -> str | None:
    """The declared domain of a real parameter: ``"nonnegative"``, ``"positive"`` or None."""
    p = entry.parameter(name)
    return None if p is None else p.domain


def solver_class(name: str) -> type | None:
    """The public solver class called ``name`` (any case), or None."""
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
