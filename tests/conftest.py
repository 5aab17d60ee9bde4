"""Tests run in float64 with strict dtype promotion (set once, before any array is made).

``QDISS_TEST_X64=0`` runs them in single precision instead (benchmarks/gpu.py's float32 contract
row); the tolerances are float64 ones, so that run measures, it is not expected to pass.
"""

import os

import jax

jax.config.update("jax_enable_x64", os.environ.get("QDISS_TEST_X64", "1") != "0")
jax.config.update("jax_numpy_dtype_promotion", "strict")
# Synchronous CPU dispatch: host callbacks (SparseLU's SuperLU) under vmap have been seen to
# deadlock XLA's CPU thread pool with asynchronous dispatch (benchmarks/README.md).
jax.config.update("jax_cpu_enable_async_dispatch", False)
