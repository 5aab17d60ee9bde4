r"""Implicit differentiation of the deflated linear solve, with failures as values.

Every linear-solve solver finds x from A(θ) x = b, with A the deflated Liouvillian (or its
preconditioned form). Its derivatives come from the implicit rule, never from the iteration:

    forward mode:  ẋ = A⁻¹(−Ȧ x)        (one more solve per tangent),
    reverse mode:  θ̄ = −(∂A/∂θ x)ᵀ λ,   λ = A⁻ᵀ x̄   (one transposed solve),

implemented with ``jax.lax.custom_linear_solve``, whose ``solve`` and ``transpose_solve`` are the
solver's own (a one-at-a-time LU, SciPy's SuperLU, restarted GMRES), run on operators that carry
no gradient.

**Failures are values, in the derivative too.** lineax runs its tangent and transposed solves with
``throw=True`` unconditionally, so a derivative solve that fails raises even under
``steady_state(..., throw=False)``. Here a derivative solve that does not succeed returns NaN
instead: the forward result keeps its own code and the derivative is NaN, never an exception. A
solve whose *forward* result failed (any code but ``successful``) gets NaN derivatives as well
(:func:`poison_derivative`, applied by ``steady_state`` after its checks): its ρ is not a steady
state, so no derivative of it is meaningful. In reverse mode that NaN survives a zero cotangent
(0·NaN = NaN): to differentiate a batch with failed points, replace their *inputs* (the usual
``jnp.where`` trick), not their outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from ._solution import RESULTS

__all__ = ["attach_implicit_derivative", "poison_derivative"]


def attach_implicit_derivative(
    matvec: Callable,
    x: jax.Array,
    solve: Callable[[jax.Array], tuple[jax.Array, RESULTS]],
    transpose_solve: Callable[[jax.Array], tuple[jax.Array, RESULTS]],
) -> jax.Array:
    """x itself (the solution of A x = b a solver found), with the implicit derivative.

    - ``matvec(v) = A v``: linear in v, differentiable with respect to what it closes over (the
      Lindbladian); b must not depend on anything differentiated (it is s·E, s a constant).
    - ``solve(r)``: ``(A⁻¹r, result)``; ``transpose_solve(r)``: ``(A⁻ᵀr, result)`` (plain
      transpose), closing over nothing that needs a gradient (factorisations, preconditioners).

    Written as x + δ with δ = A⁻¹r, r = stop_gradient(A x) − A x: r and δ are exactly 0 in value
    (one product and one solve of a zero right-hand side, which every solver returns at once),
    and ṙ = −Ȧx, so δ̇ = A⁻¹(−Ȧx), the implicit rule, through ``lax.custom_linear_solve``.
    """

    def _checked(step):
        def run(_, rhs):
            y, result = step(rhs)
            ok = (result == RESULTS.successful) & jnp.all(jnp.isfinite(rhs))
            return jnp.where(ok, y, jnp.full_like(y, jnp.nan))

        return run

    x = jax.lax.stop_gradient(x)
    ax = matvec(x)
    r = jax.lax.stop_gradient(ax) - ax
    delta = jax.lax.custom_linear_solve(matvec, r, _checked(solve), _checked(transpose_solve))
    return x + delta


@jax.custom_jvp
def poison_derivative(x: jax.Array, failed: jax.Array) -> jax.Array:
    """x itself, whose derivative is NaN where ``failed`` (a boolean scalar) is True."""
    return x


@poison_derivative.defjvp
def _poison_derivative_jvp(primals, tangents):
    x, failed = primals
    tx, _ = tangents
    return x, tx * jnp.where(failed, jnp.nan, 1.0).astype(tx.dtype)
