"""Build a model and its Lindbladian from a study's parameters, with some of them replaced
(the point of a sweep, the variables of an optimisation). Works on concrete and traced values."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._study import parse_label

__all__ = [
    "base_value",
    "build_kwargs",
    "build_model",
    "example_model",
    "real_dtype",
    "runtime_message",
]


def real_dtype(precision: str):
    return jnp.float32 if precision == "float32" else jnp.float64


def base_value(entry, parameters: dict, name: str, index: int | None = None) -> np.ndarray:
    """The study's value of a real parameter (its default if unset), or one entry of it."""
    if name in parameters:
        value = np.asarray(parameters[name], dtype=np.float64)
    else:
        default = entry.parameter(name).default
        value = np.asarray(np.nan if default is None else default, dtype=np.float64)
    return value if index is None else value[index]


def build_kwargs(entry, parameters: dict, overrides: dict, dtype=jnp.float64) -> dict:
    """Keyword arguments of the model class: the study's parameters (real ones as ``dtype``
    arrays), with ``overrides`` ``{label: value}`` applied (``"mu"`` or ``"mu[1]"``)."""
    kwargs = {}
    for p in entry.parameters:
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
                whole = jnp.asarray(base_value(entry, parameters, name), dtype=dtype)
            kwargs[name] = whole.at[index].set(value)
    return kwargs


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
    """``(model, model.lindbladian())``. With ``check_finite`` (concrete values only; the
    Lindbladian is then built under ``jit``, which compiles once instead of op by op), raise
    ``ValueError`` for a Lindbladian with non-finite entries or a model that rejects its
    parameters (in ``__init__`` or at run time with ``eqx.error_if``)."""
    kwargs = build_kwargs(entry, parameters, overrides, dtype)
    if not check_finite:
        model = entry.cls(**kwargs)
        return model, model.lindbladian()
    model = entry.cls(**kwargs)
    try:
        L, finite = _checked_lindbladian(model)
    except eqx.EquinoxRuntimeError as e:  # an eqx.error_if of the model
        raise ValueError(runtime_message(e)) from None
    if not bool(finite):
        raise ValueError("the Lindbladian has non-finite entries")
    return model, L


# Required integer parameters (sizes: N, cutoff) of an example instance: the smallest size that is
# not the two-level / two-qubit special case.
EXAMPLE_SIZE = 3


def example_model(entry):
    """``(model, L, sizes)``: an abstract instance of the model (``eqx.filter_eval_shape``: no
    array is computed) and its Lindbladian, at the model's defaults, with every required integer
    parameter at :data:`EXAMPLE_SIZE` and every required real one at 0.5; ``sizes`` maps the
    integer parameters so set to their value. Enough to know the dims, which decide the generic
    figures of merit that apply (``qdiss models NAME``). Raises what the model raises if it
    rejects these values."""
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
