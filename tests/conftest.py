"""Tests run in float64 with strict dtype promotion (set once, before any array is made)."""

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
