r"""Matrix decompositions for the solvers' internals, one matrix at a time.

**Why.** On CPU, jaxlib 0.10.2 runs a *batched* LAPACK kernel (eigh, eig, LU, …) by splitting the
batch over XLA's intra-op thread pool and waiting for the pieces (``jax::ParallelBatchMap``). When
two such kernels run at once and together occupy every thread of the pool, each waits for work
queued behind the other and the process hangs for ever, every thread idle. On a 2-core machine
two concurrent batched ``eigvalsh`` suffice (seen with gdb in the stacks of a hung benchmark:
both ``tf_XLAEigen`` threads in ``ParallelBatchMap`` → ``BlockingCounter::Wait``; the
``--xla_cpu_multi_thread_eigen=false`` flag does not help). Block states (a
:class:`qdiss.SectorLindbladian`, a permutation-invariant Lindbladian) and ``vmap`` produce exactly
such batched calls.

The functions here never hand LAPACK more than one matrix: a stack of matrices, or a ``vmap``
over them, is decomposed in a sequential ``lax.map`` (``jax.custom_batching.custom_vmap``). They
are for quantities that are not differentiated (preconditioners, norm bounds, positivity checks):
their input goes through ``stop_gradient``, so ``grad``/``jvp`` see a constant. The cost is the
lost parallelism over the batch of these (small, setup-time) decompositions.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap

__all__ = ["eig", "eigh", "eigvalsh", "inv"]


def _one_at_a_time(decompose: Callable) -> Callable:
    """``decompose`` (one square matrix → arrays) applied to ``(..., n, n)`` stacks and under
    ``vmap`` by a sequential map, with no gradient through it."""

    @custom_vmap
    def apply(x):
        if x.ndim == 2:
            return decompose(x)
        lead = x.shape[:-2]
        out = jax.lax.map(apply, x.reshape(-1, *x.shape[-2:]))
        return jax.tree.map(lambda y: y.reshape(*lead, *y.shape[1:]), out)

    @apply.def_vmap
    def _batched(axis_size, in_batched, x):
        (batched,) = in_batched
        out = jax.lax.map(apply, x) if batched else apply(x)
        return out, jax.tree.map(lambda _: batched, out)

    def call(x):
        return apply(jax.lax.stop_gradient(x))

    call.__doc__ = decompose.__doc__
    return call


eigh = _one_at_a_time(jnp.linalg.eigh)
eigvalsh = _one_at_a_time(jnp.linalg.eigvalsh)
eig = _one_at_a_time(jnp.linalg.eig)
inv = _one_at_a_time(jnp.linalg.inv)
