"""Tests run in float64 with strict dtype promotion (set once, before any array is made)."""

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
# Synchronous CPU dispatch: host callbacks (SparseLU's SuperLU) under vmap have been seen to
# deadlock XLA's CPU thread pool with asynchronous dispatch (benchmarks/README.md).
jax.config.update("jax_cpu_enable_async_dispatch", False)
