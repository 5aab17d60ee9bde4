"""The figures of merit a study can name: :mod:`qdiss.measures`' registry, under the names the
command line uses."""

from ..measures import (
    GENERIC_MERITS as GENERIC,
    Merit as Merit,
    available_merits as available,
    merit_candidates as candidates,
    resolve_merit as resolve,
)

__all__ = ["GENERIC", "Merit", "available", "candidates", "resolve"]
