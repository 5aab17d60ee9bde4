r"""A registry of named figures of merit: generic measures of the steady state ρ (this package's
functions, each with what it requires of the system), and those each model declares
(``figures_of_merit``, see :mod:`qdiss.models`): ``f(model, rho)``; one that returns a named
tuple or a dict of scalars gives a figure of merit ``name.entry`` per entry (e.g.
``collective_moments.n_plus``).

Every figure of merit is a function ``(model, L, rho) -> real scalar`` that works under ``jit``,
``vmap`` and ``grad``; :func:`resolve_merit` checks that by tracing it once
(``eqx.filter_eval_shape``).
The ``qdiss`` command line resolves the names of a study's ``merits`` and ``objective`` with it::

    merit = qdiss.measures.resolve_merit("concurrence", model, L)   # ValueError unless dims (2, 2)
    value = merit.fn(model, L, qdiss.steady_state(L).rho)
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ._dynamics import liouvillian_gap
from ._entanglement import concurrence, concurrence_margin, log_negativity, negativity
from ._states import purity, von_neumann_entropy

__all__ = [
    "BIPARTITE",
    "GENERIC_MERITS",
    "TWO_QUBITS",
    "Merit",
    "Requirement",
    "available_merits",
    "merit_candidates",
    "resolve_merit",
]


@dataclasses.dataclass(frozen=True)
class Requirement:
    """What a figure of merit needs of the system, decided from the Lindbladian's ``dims`` alone:
    ``test(dims)`` is true when it applies. ``text`` says what is needed (e.g. "a two-qubit
    system (dims (2, 2))"). The one rule both :func:`resolve_merit` and
    :func:`available_merits` apply."""

    text: str
    test: Callable[[tuple[int, ...]], bool]

    def unmet(self, L) -> str | None:
        """Why this does not apply to ``L`` (None if it does)."""
        dims = getattr(L, "dims", None)
        dims = None if dims is None else tuple(int(d) for d in dims)
        if dims is not None and self.test(dims):
            return None
        return f"needs {self.text}; this model has dims {dims}"


TWO_QUBITS = Requirement("a two-qubit system (dims (2, 2))", lambda dims: dims == (2, 2))
BIPARTITE = Requirement(
    "a system of at least two subsystems (the Lindbladian's `dims`)", lambda dims: len(dims) >= 2
)


@dataclasses.dataclass(frozen=True)
class Merit:
    """A figure of merit: ``fn(model, L, rho)`` is a real scalar.

    ``requires``: what it needs of the system (None: any); ``lower``: a declared lower bound
    of its values (0 for a non-negative quantity, None when unknown), which the plots use to
    pick a sequential colour map."""

    name: str
    fn: Callable[[Any, Any, Array], Array]
    description: str
    source: str
    unit: str | None = None  # "" dimensionless, None unknown
    requires: Requirement | None = None
    lower: float | None = None


def _first_line(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def _generic(name, fn, description, unit, requires=None, lower: float | None = 0.0) -> Merit:
    """A measure of ``qdiss.measures``: ``fn(rho)``, or ``fn(rho, dims, 0)`` when it needs a
    bipartition (first subsystem vs the rest)."""

    def call(model, L, rho):
        return fn(rho, tuple(L.dims), 0) if requires is BIPARTITE else fn(rho)

    return Merit(name, call, description, _SOURCE, unit, requires, lower)


_SOURCE = "qdiss.measures"
_MARGIN = (
    "λ₁ − λ₂ − λ₃ − λ₄ unclipped (two qubits): equals C where C > 0, negative and with a "
    "gradient where C = 0 — the objective to optimise from a separable start"
)
_WOOTTERS = "Wootters concurrence C = max(0, λ₁ − λ₂ − λ₃ − λ₄) (two qubits)"
_PT = "of the partial transpose (first subsystem vs the rest)"
GENERIC_MERITS: dict[str, Merit] = {
    m.name: m
    for m in [
        _generic("purity", purity, "tr ρ²", ""),
        _generic("von_neumann_entropy", von_neumann_entropy, "S = −tr ρ ln ρ", "nats"),
        _generic("concurrence", concurrence, _WOOTTERS, "", TWO_QUBITS),
        _generic("concurrence_margin", concurrence_margin, _MARGIN, "", TWO_QUBITS, None),
        _generic("negativity", negativity, f"N = Σ_{{λ<0}}|λ| {_PT}", "", BIPARTITE),
        _generic(
            "log_negativity",
            log_negativity,
            "E_N = log₂‖ρ^{T_A}‖₁ (first subsystem vs the rest)",
            "ebits",
            BIPARTITE,
        ),
        Merit(
            "liouvillian_gap",
            lambda model, L, rho: liouvillian_gap(L),
            "slowest relaxation rate −max Re λ ≠ 0 of the Liouvillian (dense eig up to 1024 "
            "unknowns, shift-invert Arnoldi above)",
            _SOURCE,
            lower=0.0,
        ),
    ]
}


def _description(cls, name: str, fn) -> str:
    """The first paragraph of the declared function's docstring, else of the model's method or
    its module's function of that name."""
    module = inspect.getmodule(cls)
    for obj in (fn, getattr(cls, name, None), getattr(module, name, None)):
        if obj is not None and inspect.getdoc(obj):
            return _first_line(obj)
    return ""


def merit_candidates(cls) -> dict[str, Merit]:
    """The figures of merit a model class may have (not checked against an instance): those it
    declares, then the generic ones."""
    out = {
        name: Merit(
            name,
            lambda m, L, rho, f=fn: f(m, rho),
            _description(cls, name, fn),
            f"{cls.__name__}.figures_of_merit",
        )
        for name, fn in getattr(cls, "figures_of_merit", {}).items()
    }
    return out | {name: m for name, m in GENERIC_MERITS.items() if name not in out}


def _entry(value, key: str):
    if isinstance(value, dict):
        return value[key]
    return getattr(value, key)


def _entries(value) -> list[str] | None:
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return list(value._fields)
    return None


def _shape_of(merit: Merit, model, L) -> Any:
    rho = jax.ShapeDtypeStruct(tuple(L.state_shape), L.dtype)
    return eqx.filter_eval_shape(merit.fn, model, L, rho)


def _check_scalar(name: str, out) -> None:
    shape = getattr(out, "shape", None)
    dtype = getattr(out, "dtype", None)
    if shape != () or dtype is None:
        raise ValueError(f"returns {'shape ' + str(shape) if shape else type(out).__name__}")
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"returns a {dtype} value, not a real number")


def resolve_merit(name: str, model, L) -> Merit:
    """The figure of merit ``name`` for this model (see the module docstring).

    Raises ``KeyError`` if there is no such name, ``ValueError`` (with the reason) if it does not
    apply to this model (e.g. the concurrence of a system that is not two qubits).
    """
    found = merit_candidates(type(model))
    base, _, field = name.partition(".")
    if base not in found:
        raise KeyError(name)
    merit = found[base]
    if merit.requires is not None and (reason := merit.requires.unmet(L)) is not None:
        raise ValueError(reason)
    try:
        out = _shape_of(merit, model, L)
    except (ValueError, TypeError, IndexError) as e:  # TypeError: e.g. not traceable by JAX
        raise ValueError(str(e).split("\n")[0]) from None
    entries = _entries(out)
    if field:
        if entries is None or field not in entries:
            raise KeyError(name)
        merit = dataclasses.replace(
            merit,
            name=name,
            fn=lambda m, L, rho, f=merit.fn, k=field: _entry(f(m, L, rho), k),
            description=f"{merit.description} — entry `{field}`",
            unit=None,
            lower=None,
        )
        _check_scalar(name, _entry(out, field))
        return merit
    if entries is not None:
        raise ValueError(
            "returns several values; name one of them: "
            + ", ".join(f"`{base}.{k}`" for k in entries)
        )
    _check_scalar(name, out)
    return merit


def available_merits(model, L) -> list[Merit]:
    """Every figure of merit that applies to this model (entries of named tuples expanded):
    those :func:`resolve_merit` accepts."""
    out = []
    for name, merit in merit_candidates(type(model)).items():
        if merit.requires is not None and merit.requires.unmet(L) is not None:
            continue
        try:
            shape = _shape_of(merit, model, L)
        except (ValueError, TypeError, IndexError):
            continue
        entries = _entries(shape)
        names = [f"{name}.{k}" for k in entries] if entries is not None else [name]
        for full in names:
            try:
                out.append(resolve_merit(full, model, L))
            except (KeyError, ValueError):
                pass
    return out
