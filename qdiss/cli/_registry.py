"""The models and solvers a study can name.

**Models** are those of :data:`qdiss.models.MODELS`, read by :func:`qdiss.models.find_model`
(re-exported here). **Solvers** are the public solver classes.
"""

from __future__ import annotations

from ..models import ModelEntry, Parameter, find_model, model_entries, parse_label

__all__ = ["SOLVERS", "ModelEntry", "Parameter", "find_model", "model_entries", "parse_label"]
__all__ += ["parameter_domain", "solver_class"]

SOLVERS = ("Auto", "DenseLU", "SparseLU", "Krylov", "Evolve")


def parameter_domain(entry: ModelEntry, name: str) -> str | None:
    """The declared domain of a real parameter: ``"nonnegative"``, ``"positive"`` or None."""
    p = entry.parameter(name)
    return None if p is None else p.domain


def solver_class(name: str) -> type | None:
    """The public solver class called ``name`` (any case), or None."""
    import qdiss

    return next((getattr(qdiss, s) for s in SOLVERS if s.lower() == name.lower()), None)
