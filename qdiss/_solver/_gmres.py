r"""Restarted GMRES as a lineax solver, stopping as soon as a cycle has converged.

lineax 0.1.1's ``GMRES`` always runs all ``restart`` Arnoldi steps of a cycle before it tests
convergence, and orthogonalises every new vector against the whole (zero-padded) basis of
``restart + 1`` vectors. For large states (the permutation-invariant blocks, 10⁵–10⁷ unknowns)
both cost a lot when a solve needs fewer iterations than ``restart``. This solver is the textbook
algorithm (Saad & Schultz 1986; Saad, *Iterative Methods for Sparse Linear Systems*, §6.5):

- Arnoldi with modified Gram–Schmidt against the k vectors built so far (k dot products and
  updates at step k, not ``restart + 1``),
- Givens rotations of the Hessenberg matrix, so the residual norm |g_{k+1}| of the least-squares
  problem is known at every step and a cycle stops as soon as it is below the tolerance; the
  small triangular system is solved by back substitution in plain XLA (no LAPACK call, so no
  batched LAPACK kernel under ``vmap``),
- the true residual ‖b − A y‖ is recomputed at each restart and decides convergence:
  ‖b − A y‖₂ ≤ ``atol`` + ``rtol``·‖b‖₂.

A cycle also stops at a (lucky) breakdown, h_{k+1,k} ≈ 0. ``max_steps`` bounds the number of
cycles; if the true residual has not decreased for ``stagnation_iters`` cycles the solve stops with
``RESULTS.stagnation``. No preconditioner option: precondition the operator (right
preconditioning, as ``Krylov`` does). Gradients come from the implicit rule
(``qdiss._adjoint``), never by differentiating the iteration; ``transpose`` / ``conj`` act on
the operator.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import lineax as lx

__all__ = ["RestartedGMRES", "gmres_loop"]


def _back_substitute(r, g):
    """z with R z = g for an upper-triangular ``(m, m)`` R, in plain XLA operations (a loop over
    rows): no LAPACK/BLAS triangular-solve kernel, so a ``vmap`` of many GMRES never runs batched
    LAPACK calls (``qdiss._linalg``'s module docstring says why)."""
    m = g.shape[0]

    def row(k, z):
        i = m - 1 - k
        return z.at[i].set((g[i] - jnp.dot(r[i], z)) / r[i, i])

    return jax.lax.fori_loop(0, m, row, jnp.zeros_like(g))


def _dot(a, b):
    """⟨a, b⟩ = Σ conj(a) b."""
    return jnp.vdot(a, b)


def _same(x):
    return x


def gmres_loop(
    matvec,
    b,
    y0,
    tol,
    restart: int,
    max_steps: int,
    stagnation_iters: int,
    *,
    constrain=_same,
    constrain_stack=_same,
):
    """Restarted GMRES(m) from ``y0`` on A y = b with ``matvec(v) = A v``, stopping at
    ‖b − A y‖₂ ≤ ``tol`` (an array: it may differ between the members of a batch).

    Returns (y, ‖b − A y‖₂, cycles, cycles without improvement, Arnoldi steps).

    **One call site of A.** The restart cycles and the true-residual checks between them run in
    a single ``while_loop`` whose body applies A exactly once, to ``y`` on a restart step
    (r = b − Ay; the first step computes r₀) and to the newest basis vector on an Arnoldi step.
    A is then traced, lowered and compiled once per GMRES instead of three times (the residual
    r₀, the Arnoldi step and the residual after each cycle): for a large operator, most of the
    program. The arithmetic is that of the textbook two-level loop (module docstring), step for
    step.

    ``constrain`` / ``constrain_stack`` pin the layout of one vector / of the basis (a stack of
    vectors) across devices (``_sharding.StateLayout``; identities on one device).
    """
    dtype = b.dtype
    rdtype = jnp.finfo(dtype).dtype
    m = int(min(restart, b.size))
    tol = jnp.asarray(tol, rdtype)
    zero = jnp.zeros((), jnp.int32)

    def arnoldi(carry, w):
        """One Arnoldi step with w = A v_k; at the end of a cycle y += V_k z, R_k z = g_k."""
        y, basis, hess, cs, sn, g, k, _, r_norm, best, cycles, stall, steps = carry

        def orthogonalise(j, wh):
            w, h = wh
            hj = _dot(basis[j], w)
            return w - hj * basis[j], h.at[j].set(hj)

        w, h = jax.lax.fori_loop(0, k + 1, orthogonalise, (w, jnp.zeros((m + 1,), dtype)))
        w_norm = jnp.linalg.norm(w)
        breakdown = w_norm <= 10 * jnp.finfo(rdtype).eps * jnp.linalg.norm(h)
        h = h.at[k + 1].set(w_norm.astype(dtype))
        safe = jnp.where(breakdown, 1.0, w_norm).astype(dtype)
        basis = constrain_stack(basis.at[k + 1].set(jnp.where(breakdown, 0, w / safe)))

        # previous rotations on the new column
        def rotate(i, h):
            a, c = h[i], h[i + 1]
            return h.at[i].set(cs[i] * a + sn[i] * c).at[i + 1].set(-sn[i].conj() * a + cs[i] * c)

        h = jax.lax.fori_loop(0, k, rotate, h)
        a, c = h[k], h[k + 1]
        denom = jnp.sqrt(jnp.abs(a) ** 2 + jnp.abs(c) ** 2)
        a_abs = jnp.abs(a)
        safe_denom = jnp.where(denom > 0, denom, 1.0).astype(dtype)
        safe_abs = jnp.where(a_abs > 0, a_abs, 1.0).astype(dtype)
        phase = jnp.where(a_abs > 0, a / safe_abs, 1.0)
        c_k = a_abs.astype(dtype) / safe_denom
        s_k = jnp.where(denom > 0, phase * c.conj() / safe_denom, 0)
        h = h.at[k].set(phase * denom.astype(dtype)).at[k + 1].set(0)
        cs, sn = cs.at[k].set(c_k), sn.at[k].set(s_k)
        g = g.at[k + 1].set(-s_k.conj() * g[k]).at[k].set(c_k * g[k])
        hess = hess.at[:, k].set(h)
        k = k + 1
        end = breakdown | (jnp.abs(g[k]) <= tol) | (k >= m)

        def update(y):
            # y += V_k z with R_k z = g_k (R_k the rotated Hessenberg block, identity beyond k)
            index = jnp.arange(m, dtype=jnp.int32)
            used = index < k
            r_mat = jnp.where(used[:, None] & used[None, :], hess[:m, :m], 0)
            r_mat = r_mat + jnp.diag(jnp.where(used, 0, 1).astype(dtype))
            z = _back_substitute(r_mat, jnp.where(used, g[:m], 0))
            return constrain(y + jnp.tensordot(z, basis[:m], axes=1))

        y = jax.lax.cond(end, update, lambda y: y, y)
        steps = jnp.where(end, steps + k, steps)
        carry = (y, basis, hess, cs, sn, g, k, end, r_norm, best, cycles, stall, steps)
        return carry, jnp.zeros((), bool)

    def restart_step(carry, w):
        """r = b − Ay from w = Ay; stop, or start a cycle from r."""
        y, basis, hess, cs, sn, g, k, _, _, best, cycles, stall, steps = carry
        r = b - w
        r_norm = jnp.linalg.norm(r)
        improved = r_norm < best
        stall = jnp.where(improved, 0, stall + 1)
        best = jnp.minimum(best, r_norm)
        cycles = cycles + 1
        finished = ~((r_norm > tol) & (cycles < max_steps) & (stall < stagnation_iters))
        basis = constrain_stack(jnp.zeros_like(basis).at[0].set(r / r_norm.astype(dtype)))
        hess, cs, sn = jnp.zeros_like(hess), jnp.zeros_like(cs), jnp.zeros_like(sn)
        g = jnp.zeros_like(g).at[0].set(r_norm.astype(dtype))
        restarting = jnp.zeros((), bool)
        carry = (y, basis, hess, cs, sn, g, zero, restarting, r_norm, best, cycles, stall, steps)
        return carry, finished

    def body(state):
        carry, _ = state
        y, basis, k, restarting = carry[0], carry[1], carry[6], carry[7]
        w = constrain(matvec(constrain(jnp.where(restarting, y, basis[k]))))
        return jax.lax.cond(restarting, restart_step, arnoldi, carry, w)

    # The first step is a restart step that computes r₀ = b − Ay₀: with cycles = −1,
    # stall = −1 and best = inf it leaves cycles = stall = 0 and best = ‖r₀‖.
    b, y0 = constrain(b), constrain(y0)
    init = (
        y0,
        constrain_stack(jnp.zeros((m + 1, *b.shape), dtype)),
        jnp.zeros((m + 1, m), dtype),
        jnp.zeros((m,), dtype),
        jnp.zeros((m,), dtype),
        jnp.zeros((m + 1,), dtype),
        zero,
        jnp.ones((), bool),
        jnp.full((), jnp.inf, rdtype),
        jnp.full((), jnp.inf, rdtype),
        zero - 1,
        zero - 1,
        zero,
    )
    carry, _ = jax.lax.while_loop(lambda state: ~state[1], body, (init, jnp.zeros((), bool)))
    y, r_norm, cycles, stall, steps = carry[0], carry[8], carry[10], carry[11], carry[12]
    return y, r_norm, cycles, stall, steps


def gmres_rtol(dtype, rtol: float | None = None) -> float:
    """A GMRES tolerance: ``rtol`` if given, else 1e-12 in double and 1e-6 in single precision."""
    if rtol is not None:
        return rtol
    return 1e-12 if float(jnp.finfo(dtype).eps) < 1e-10 else 1e-6


class RestartedGMRES(lx.AbstractLinearSolver):
    """Restarted GMRES on a square operator with one array as input and output (module
    docstring). ``num_steps`` in the stats counts Arnoldi steps (matrix–vector products, without
    the one per restart for the true residual)."""

    rtol: float
    atol: float
    max_steps: int = 200
    restart: int = 40
    stagnation_iters: int = 20

    def init(self, operator: lx.AbstractLinearOperator, options: dict[str, Any]):
        del options
        if operator.in_structure() != operator.out_structure():
            raise ValueError("`RestartedGMRES` needs a square operator (same in/out structure).")
        return lx.linearise(operator)

    def compute(self, state, vector, options: dict[str, Any]):
        operator = state
        b = vector
        rdtype = jnp.finfo(b.dtype).dtype
        tol = (self.atol + self.rtol * jnp.linalg.norm(b)).astype(rdtype)
        y0 = jnp.asarray(options.get("y0", jnp.zeros_like(b)), dtype=b.dtype)
        y, r_norm, cycles, stall, steps = gmres_loop(
            operator.mv, b, y0, tol, self.restart, self.max_steps, self.stagnation_iters
        )
        converged = r_norm <= tol
        result = lx.RESULTS.where(
            converged,
            lx.RESULTS.successful,
            lx.RESULTS.where(
                stall >= self.stagnation_iters, lx.RESULTS.stagnation, lx.RESULTS.max_steps_reached
            ),
        )
        finite = jnp.isfinite(r_norm)
        result = lx.RESULTS.where(finite, result, lx.RESULTS.breakdown)
        return y, result, {"num_steps": steps, "num_cycles": cycles, "residual_norm": r_norm}

    def transpose(self, state, options: dict[str, Any]):
        del options
        return state.transpose(), {}

    def conj(self, state, options: dict[str, Any]):
        del options
        return lx.conj(state), {}

    def assume_full_rank(self) -> bool:
        return True
