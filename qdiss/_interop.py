"""The one conversion point between qdiss's JAX arrays and QuTiP ``Qobj`` / dynamiqs ``QArray``.

Inbound, :func:`to_jax` turns a Qobj (``.full()``), a QArray (``.to_jax()``) or an array-like into
a JAX array; :func:`accepts_quantum_objects` wraps a function so that every argument given as a
Qobj or QArray (or a list/tuple of them) is converted that way, which is how every figure of merit
in ``qdiss.measures`` takes them. Outbound, :func:`to_qutip` and :func:`to_dynamiqs` give an
``(n, n)`` matrix (or a stack) the Hilbert-space ``dims`` of its Lindbladian. QuTiP and dynamiqs
are recognised by duck typing; QuTiP is imported only by :func:`to_qutip`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

__all__ = [
    "accepts_quantum_objects",
    "hilbert_dims",
    "is_quantum_object",
    "to_dynamiqs",
    "to_jax",
    "to_qutip",
]


def _is_qobj(x) -> bool:
    module = type(x).__module__ or ""
    return module.startswith("qutip") and hasattr(x, "full") and hasattr(x, "dims")


def _is_qarray(x) -> bool:
    module = type(x).__module__ or ""
    return module.startswith("dynamiqs") and hasattr(x, "to_jax")


def is_quantum_object(x) -> bool:
    """True for a QuTiP ``Qobj`` or a dynamiqs ``QArray``."""
    return _is_qobj(x) or _is_qarray(x)


def to_jax(x: Any) -> Any:
    """A Qobj as ``jnp.asarray(x.full())``, a QArray as ``x.to_jax()`` (traceable: a QArray
    under ``jit``/``vmap`` stays traced); anything else unchanged."""
    if _is_qobj(x):
        return jnp.asarray(x.full())
    if _is_qarray(x):
        return x.to_jax()
    return x


def _convert(x: Any) -> Any:
    if is_quantum_object(x):
        return to_jax(x)
    if isinstance(x, list | tuple) and any(is_quantum_object(item) for item in x):
        return type(x)(to_jax(item) for item in x)
    return x


def hilbert_dims(x) -> tuple[int, ...] | None:
    """The subsystem dims of a Qobj (``dims[0]``) or a QArray (``dims``); None otherwise."""
    dims = None
    if _is_qobj(x):
        dims = x.dims[0]
    elif _is_qarray(x):
        dims = x.dims
    if dims is None:
        return None
    try:
        return tuple(int(d) for d in dims)
    except (TypeError, ValueError):  # e.g. a QuTiP super's nested dims
        return None


def accepts_quantum_objects(function: Callable) -> Callable:
    """``function`` with every Qobj/QArray argument (positional or keyword, or inside a list or
    tuple argument) converted by :func:`to_jax` first. Where ``function`` has a ``dims``
    parameter left out (or None) and its first argument is a Qobj/QArray, that object's dims
    fill it in. Name, docstring and signature are kept."""
    signature = inspect.signature(function)
    takes_dims = "dims" in signature.parameters

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if takes_dims and args and is_quantum_object(args[0]):
            bound = signature.bind_partial(*args, **kwargs)
            if bound.arguments.get("dims") is None:
                dims = hilbert_dims(args[0])
                if dims is not None:
                    bound.arguments["dims"] = dims
                    args, kwargs = bound.args, bound.kwargs
        args = tuple(_convert(a) for a in args)
        kwargs = {k: _convert(v) for k, v in kwargs.items()}
        return function(*args, **kwargs)

    return wrapper


def _check_matrix(rho: Array, dims: tuple[int, ...]) -> None:
    n = int(np.prod(dims))
    if rho.ndim < 2 or rho.shape[-2:] != (n, n):
        raise ValueError(
            f"expected (n, n) matrices with n = {n} (dims {dims}); got shape {rho.shape}. A "
            "block state (sectors, permutation-invariant blocks) is mapped to (n, n) by its "
            "Lindbladian: pass it (`sol.to_qutip(L)`)."
        )


def to_qutip(rho: Array, dims: tuple[int, ...]):
    """A QuTiP ``Qobj`` with ``dims=[dims, dims]`` of an ``(n, n)`` matrix; a list of them
    (flattened over the leading axes) for a stack. Concrete arrays only."""
    import qutip

    rho = np.asarray(rho)
    _check_matrix(rho, dims)
    qdims = [list(dims), list(dims)]
    if rho.ndim == 2:
        return qutip.Qobj(rho, dims=qdims)
    return [qutip.Qobj(x, dims=qdims) for x in rho.reshape(-1, *rho.shape[-2:])]


def to_dynamiqs(rho: Array, dims: tuple[int, ...]):
    """A dynamiqs ``QArray`` with ``dims`` (batched over leading axes; traceable)."""
    import dynamiqs

    rho = jnp.asarray(rho)
    _check_matrix(rho, dims)
    return dynamiqs.asqarray(rho, dims=tuple(dims))
