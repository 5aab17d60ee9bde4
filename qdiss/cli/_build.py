"""Build a model and its Lindbladian from a study's parameters, with some of them replaced
(the point of a sweep, the variables of an optimisation). Works on concrete and traced values."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["base_value", "build_model", "example_model", "real_dtype", "runtime_message"]


def real_dtype(precision: str):
    """``"float32"`` or ``"float64"`` (a study's ``solver.precision``) as a dtype."""
    return jnp.dtype(precision)


def base_value(entry, parameters: dict, name: str, index: int | None = None) -> np.ndarray:
    """:meth:`qdiss.models.ModelEntry.value`."""
    return entry.value(parameters, name, index)


def runtime_message(error: Exception) -> str:
    """What a model said when it rejected its parameters: the message of an ``eqx.error_if``
    (the line of an ``eqx.EquinoxRuntimeError``'s text that follows the error's name, below
    the stack), else the first line of the error."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = f"{type(error).__name__}: "
    said = [line.split(named, 1)[1] for line in lines if named in line]
    return (said or lines or [type(error).__name__])[0]


@eqx.filter_jit
def _checked_lindbladian(model):
    L = model.lindbladian()
    leaves = jax.tree.leaves(eqx.filter(L, eqx.is_inexact_array))
    return L, jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def build_model(entry, parameters: dict, overrides: dict, *, dtype=jnp.float64, check_finite=False):
    """``(model, model.lindbladian())`` from :meth:`~qdiss.models.ModelEntry.kwargs`. With
    ``check_finite`` (concrete values only; the Lindbladian is then built under ``jit``, which
    compiles once instead of op by op), raise ``ValueError`` for a Lindbladian with non-finite
    entries or a model that rejects its parameters (in ``__init__`` or at run time with
    ``eqx.error_if``)."""
    model = entry.cls(**entry.kwargs(parameters, overrides, dtype))
    if not check_finite:
        return model, model.lindbladian()
    try:
        L, finite = _checked_lindbladian(model)
    except eqx.EquinoxRuntimeError as e:  # an eqx.error_if of the model
        raise ValueError(runtime_message(e)) from None
    if not bool(finite):
        raise ValueError("the Lindbladian has non-finite entries")
    return model, L


EXAMPLE_SIZE = 3  # the required sizes (N, cutoff) of an example: the smallest not two-level


def example_model(entry):
    """``(model, L, sizes)``: an abstract instance of the model (``eqx.filter_eval_shape``) and
    its Lindbladian at the defaults, required integers at :data:`EXAMPLE_SIZE` (``sizes``) and
    required reals at 0.5: its dims decide which generic figures of merit apply."""
    parameters, sizes = {}, {}
    for p in entry.parameters:
        if not p.required:
            continue
        if p.kind == "int":
            parameters[p.name] = sizes[p.name] = EXAMPLE_SIZE
        elif p.kind == "real":
            parameters[p.name] = 0.5
    model, L = eqx.filter_eval_shape(lambda: build_model(entry, parameters, {}))
    return model, L, sizes
