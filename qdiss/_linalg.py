r"""Matrix decompositions, one matrix at a time: never a batched LAPACK kernel.

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
over them, is decomposed in a sequential ``lax.map`` (``jax.custom_batching.custom_vmap``).
jaxlib 0.12 no longer hangs on issue 11's reproducer (an optax loop over a vmapped DenseLU), but
every solver, check and figure of merit of qdiss goes through this module all the same, so that no
jaxlib version can deadlock a qdiss call: a regression test (tests/test_no_hang.py) compiles the
vmapped solves and their gradients and checks that every LAPACK call in the program acts on a
single matrix.

- ``eig``, ``eigh``, ``eigvalsh``, ``inv``, ``lu_factor``, ``lu_solve``: no gradient (their input
  goes through ``stop_gradient``): for preconditioners, factorisations, norm bounds and checks.
- ``svd``, ``svdvals``: no gradient either (figures of merit put their own rules on top).
- ``eigvals_differentiable``: eigenvalues of a general matrix, dλ = diag(V⁻¹ dA V).
- ``eigh_differentiable``, ``eigvalsh_differentiable``: the same decomposition with JAX's
  derivative rule for ``eigh`` written on top (dw = diag(V†dA V), dV = V(F ∘ V†dA V),
  F_ij = 1/(w_j − w_i) off the diagonal): for figures of merit.
- ``solve``: A⁻¹b by one-at-a-time LU with implicit derivatives (``lax.custom_linear_solve``).

The cost is the lost parallelism over the batch; on jaxlib 0.12's CPU build batched LAPACK calls
are serial loops anyway (benchmarks/README.md, "Batched throughput").
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap

__all__ = [
    "eig",
    "eigh",
    "eigh_differentiable",
    "eigvalsh",
    "eigvals_differentiable",
    "eigvalsh_differentiable",
    "inv",
    "lu_factor",
    "lu_solve",
    "solve",
    "svd",
    "svdvals",
]


def _sequential(decompose: Callable, core_ndims: tuple[int, ...]) -> Callable:
    """``decompose`` (arguments with ``core_ndims`` dimensions each → arrays) applied to stacks
    with extra leading axes, and under ``vmap``, by a sequential ``lax.map``: the decomposition
    only ever sees one problem. Not differentiable (callers stop gradients)."""

    @custom_vmap
    def apply(*args):
        lead = args[0].shape[: args[0].ndim - core_ndims[0]]
        if not lead:
            return decompose(*args)
        pairs = zip(args, core_ndims, strict=True)
        flat = [x.reshape(-1, *x.shape[x.ndim - d :]) for x, d in pairs]
        out = jax.lax.map(lambda xs: apply(*xs), flat)
        return jax.tree.map(lambda y: y.reshape(*lead, *y.shape[1:]), out)

    @apply.def_vmap
    def _batched(axis_size, in_batched, *args):
        if not any(in_batched):
            out = apply(*args)
            return out, jax.tree.map(lambda _: False, out)
        args = [
            x if b else jnp.broadcast_to(x, (axis_size, *x.shape))
            for x, b in zip(args, in_batched, strict=True)
        ]
        out = jax.lax.map(lambda xs: apply(*xs), args)
        return out, jax.tree.map(lambda _: True, out)

    return apply


def _one_at_a_time(decompose: Callable) -> Callable:
    """``decompose`` (one square matrix → arrays) applied to ``(..., n, n)`` stacks and under
    ``vmap`` one matrix at a time, with no gradient through it."""
    apply = _sequential(decompose, (2,))

    def call(x):
        return apply(jax.lax.stop_gradient(x))

    call.__doc__ = decompose.__doc__
    return call


eigh = _one_at_a_time(jnp.linalg.eigh)
svd = _one_at_a_time(jnp.linalg.svd)
svdvals = _one_at_a_time(lambda x: jnp.linalg.svd(x, compute_uv=False))
eigvalsh = _one_at_a_time(jnp.linalg.eigvalsh)
eig = _one_at_a_time(jnp.linalg.eig)
inv = _one_at_a_time(jnp.linalg.inv)


def _lu_factor(a):
    """LU factorisation with partial pivoting of one square matrix: ``(lu, pivots)``."""
    return jax.scipy.linalg.lu_factor(a)


_lu_factor_sequential = _sequential(_lu_factor, (2,))


def lu_factor(a):
    """``jax.scipy.linalg.lu_factor`` one matrix at a time (no gradient): ``(lu, pivots)``."""
    return _lu_factor_sequential(jax.lax.stop_gradient(a))


def _lu_solve_one(lu, pivots, b, trans: int):
    return jax.scipy.linalg.lu_solve((lu, pivots), b, trans=trans)


_lu_solvers = {
    trans: _sequential(lambda lu, piv, b, t=trans: _lu_solve_one(lu, piv, b, t), (2, 1, 1))
    for trans in (0, 1, 2)
}


def lu_solve(factors, b, trans: int = 0):
    """x with A x = b (``trans=0``), Aᵀx = b (1) or Aᴴx = b (2) from ``lu_factor(A)``, for a
    vector ``b``; one system at a time under ``vmap``. Not differentiated (see :func:`solve`)."""
    lu, pivots = factors
    return _lu_solvers[trans](lu, pivots, b)


def solve(a, b):
    """A⁻¹b for a square ``a`` and a vector ``b`` (``jnp.linalg.solve``), by one-at-a-time LU,
    differentiable in both arguments by the implicit rule (``lax.custom_linear_solve``):
    ẋ = A⁻¹(ḃ − Ȧx), and reverse mode solves with Aᵀ reusing the factorisation."""
    factors = lu_factor(a)

    def matvec(x):
        return a @ x

    return jax.lax.custom_linear_solve(
        matvec,
        b,
        solve=lambda _, rhs: lu_solve(factors, rhs),
        transpose_solve=lambda _, rhs: lu_solve(factors, rhs, trans=1),
    )


def _eigh_tangent(w, v, da):
    """JAX's derivative rule for a Hermitian eigendecomposition A = V diag(w) V†."""
    vh = jnp.swapaxes(v, -1, -2).conj()
    vda = vh @ (0.5 * (da + jnp.swapaxes(da, -1, -2).conj())) @ v
    dw = jnp.real(jnp.diagonal(vda, axis1=-2, axis2=-1)).astype(w.dtype)
    eye = jnp.eye(w.shape[-1], dtype=w.dtype)
    f = 1.0 / (eye + w[..., None, :] - w[..., :, None]) - eye
    dv = v @ (f.astype(v.dtype) * vda)
    return dw, dv


@jax.custom_jvp
def eigh_differentiable(a):
    """``jnp.linalg.eigh`` (eigenvalues ascending, eigenvectors as columns) one matrix at a time,
    with the standard first-order perturbation derivative (see the module docstring)."""
    return eigh(a)


@eigh_differentiable.defjvp
def _eigh_differentiable_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    w, v = eigh(a)
    return (w, v), _eigh_tangent(w, v, da)


@jax.custom_jvp
def eigvalsh_differentiable(a):
    """``jnp.linalg.eigvalsh`` one matrix at a time, with dw_i = (V†dA V)_ii."""
    return eigvalsh(a)


@eigvalsh_differentiable.defjvp
def _eigvalsh_differentiable_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    w, v = eigh(a)
    return w, _eigh_tangent(w, v, da)[0]


@jax.custom_jvp
def eigvals_differentiable(a):
    """``jnp.linalg.eigvals`` one matrix at a time, with JAX's rule dλ = diag(V⁻¹ dA V)
    (V the right eigenvectors; V⁻¹'s rows are the left ones)."""
    return eig(a)[0]


@eigvals_differentiable.defjvp
def _eigvals_differentiable_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    w, v = eig(a)
    dw = jnp.diagonal(inv(v) @ da.astype(v.dtype) @ v, axis1=-2, axis2=-1)
    return w, dw
