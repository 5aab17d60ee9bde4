"""Models: each family builds a ``qdiss.Lindbladian`` (or a channel) from real parameters.

- :mod:`qdiss.models.emitters`: light-emitter ensembles, spin squeezing (arXiv:2402.16824).
- :mod:`qdiss.models.magnon`: qubits in a pumped magnon bath (arXiv:2508.18131).
- :mod:`qdiss.models.eplt`: entanglement-preserving local thermalisation (arXiv:1904.07945).
- :mod:`qdiss.models.reference`: benchmarks with exact solutions (driven cavity, driven Kerr
  resonator, cooperative resonance fluorescence, Dicke dimer).
- :mod:`qdiss.models.kerr`: two Kerr resonators driven by an entangled (two-mode-squeezed) bath
  (Coppo et al. 2026).
- :mod:`qdiss.models.sync`: macroscopic synchronisation of two-level ensembles (arXiv:2511.10920).

**The models a study can name** (``qdiss models``) are those of :data:`MODELS`, registered
explicitly. A registered model is an ``equinox.Module`` with a ``lindbladian()`` method and two
class-level declarations:

- ``domains``: ``{parameter: domain}`` for every argument of its ``__init__``, a domain being
  ``"real"`` (a number or an array of numbers: differentiable), ``"rate"`` (real, ≥ 0),
  ``"positive"`` (real, > 0), ``"int"``, ``"bool"`` or ``"str"`` (static structure);
- ``figures_of_merit``: ``{name: f}`` with ``f(model, rho)`` a real scalar (or a named tuple or
  dict of them, each entry then a figure of merit ``name.entry``) that works under ``jit``,
  ``vmap`` and ``grad``. The generic measures of ``qdiss.measures`` (purity, concurrence, …) need
  no declaration.

:func:`find_model` and :func:`model_entries` read the registry: each model's parameters with
their domains (:class:`ModelEntry`, :class:`Parameter`), and ``ModelEntry.kwargs`` to build a
model with some real entries replaced (``{"eta[1]": x}``, differentiable).
"""

import functools

from . import (
    emitters as emitters,
    eplt as eplt,
    kerr as kerr,
    magnon as magnon,
    reference as reference,
    sync as sync,
)
from ._registry import (
    DOMAINS as DOMAINS,
    ModelEntry as ModelEntry,
    Parameter as Parameter,
    declared_parameters as declared_parameters,
    parse_label as parse_label,
)

#: The models of the command line, by their short name (``qdiss models`` lists them).
MODELS: dict[str, type] = {
    "all_to_all_xyz": emitters.AllToAllXYZ,
    "all_to_all_tfi": emitters.AllToAllTFI,
    "xyz_lattice": emitters.XYZLattice,
    "kerr": kerr.KerrPair,
    "magnon": magnon.MagnonBathQubits,
    "driven_cavity": reference.DrivenCavity,
    "driven_kerr": reference.DrivenKerr,
    "cooperative_fluorescence": reference.CooperativeFluorescence,
    "sync": sync.SyncEnsemble,
}


@functools.cache
def model_entries() -> tuple[ModelEntry, ...]:
    """Every model of :data:`MODELS`, in its order, with its declared parameters."""
    return tuple(ModelEntry.of(short, cls) for short, cls in MODELS.items())


def find_model(name: str) -> ModelEntry | None:
    """The model called ``name`` (its key ``module.ClassName``, short name, class name or the
    class name in snake case; any case), or None."""
    lower = name.lower()
    return next((e for e in model_entries() if lower in (e.key.lower(), *e.aliases)), None)
