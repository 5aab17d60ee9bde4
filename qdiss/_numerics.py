"""Small numerical helpers shared by the whole package (one copy each): whether values are
concrete or traced, and the complex/real dtypes a computation runs in."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["complex_dtype", "complex_of", "is_concrete", "real_of"]


def is_concrete(*xs) -> bool:
    """True when no argument is a JAX tracer (values can be read on the host)."""
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


def complex_dtype(*xs) -> jnp.dtype:
    """The complex dtype of a computation on these arrays, dtypes or scalars.

    Inputs that carry a precision (floating or complex) set it: complex64 from float32 or
    complex64 inputs only, complex128 as soon as one input is float64/complex128 (where JAX's
    x64 mode allows it; a Python float counts as JAX's default float). Integer (and other exact)
    inputs carry none: with only those the result is JAX's default complex dtype (complex128
    with ``jax_enable_x64``, complex64 without).
    """
    dtypes = [jnp.result_type(x) for x in xs]
    inexact = [d for d in dtypes if jnp.issubdtype(d, jnp.inexact)]
    if not inexact:
        return jnp.dtype(jnp.result_type(complex))  # canonical: follows jax_enable_x64
    with jax.numpy_dtype_promotion("standard"):  # explicit: mixed precisions widen
        return jnp.dtype(jnp.result_type(*inexact, jnp.complex64))


def complex_of(dtype) -> jnp.dtype:
    """The complex dtype of the same precision as a real or complex ``dtype``."""
    return jnp.dtype(jnp.complex128 if jnp.finfo(dtype).bits == 64 else jnp.complex64)


def real_of(dtype) -> jnp.dtype:
    """The real dtype of the same precision as a real or complex ``dtype``."""
    return jnp.dtype(jnp.finfo(dtype).dtype)
