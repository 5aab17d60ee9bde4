r"""Shifted solves with the Liouvillian: the resolvent (L − z)⁻¹ and the Drazin pseudo-inverse L⁺.

**The deflated resolvent.** With P(X) = ρ_ss·tr(X) the projection onto the steady state and
Q = 1 − P, every solve here is one of the nonsingular system

    A_z(Y) = L(Y) − z·Y + s·tr(Y)·E = X,        tr X = 0,

with A_0 = A the deflated operator of ``steady_state`` (``qdiss._operator.DeflatedProblem``: s a
norm bound, E = ``identity_state()``, tr E = 1). Taking the trace (L preserves it) gives
(s − z)·tr Y = tr X = 0, so tr Y = 0 for every z ≠ s (z = iω, s > 0 real: always), and then
L(Y) − zY = X: Y is the resolvent (L − z)⁻¹X on the traceless subspace, including at z = 0, where
L itself is singular. A_z is invertible exactly when the steady state is unique and z is not
another eigenvalue of L (for z = iω: no other eigenvalue on the imaginary axis).

**The pseudo-inverse.** L⁺ = A⁻¹∘Q is the Drazin (group) inverse of L:

    L L⁺ = L⁺ L = 1 − P,   L⁺ P = P L⁺ = 0,   L⁺ L L⁺ = L⁺,

since for Y = A⁻¹QX, tr Y = 0 and L(Y) = QX; and A⁻¹L(X) = X − tr(X)·ρ_ss (A ρ_ss = s·E). For a
traceless X, L⁺X is the unique traceless Y with L(Y) = X (the response of the steady state,
ρ' = −L⁺(L'ρ_ss), see ``qdiss.linear_response``).

**Solvers** (configuration objects, one method per job, chosen by ``default_resolvent_solver``
when ``None``):

- :class:`DenseResolvent`: LU of the dense deflated matrix minus z (``DeflatedProblem.matrix``),
  one factorisation per shift, reused for the transposed solve of reverse-mode gradients.
- :class:`SchurResolvent`: the complex Schur form of the same matrix, computed once for all
  shifts; O(N²) per shift (CPU only).
- :class:`KrylovResolvent`: matrix-free restarted GMRES (``qdiss._solver._gmres``), right
  preconditioned by the eigenbasis-diagonal inverse of L without its recycling term
  (``"hermitian"`` of ``qdiss._solver._preconditioner``) shifted by the same z, so that the
  preconditioner follows the shift; the transposed solve runs on A_zᵀP⁻ᵀ (the transpose of the
  left-preconditioned P⁻¹A_z).

Every solve is differentiable (forward and reverse) by the implicit rule with respect to the
Lindbladian, the right-hand side and the shift: Ẏ = A_z⁻¹(Ẋ − Ȧ_z Y), never by differentiating
the iteration. A solve that fails (its result code is not ``successful``), or whose derivative
solve fails, has NaN derivatives (``qdiss._adjoint.poison_derivative``), as in ``steady_state``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array

from . import _linalg
from ._adjoint import poison_derivative
from ._lindbladian import AbstractLindbladian
from ._operator import DeflatedProblem
from ._solution import RESULTS
from ._solver._gmres import RestartedGMRES, gmres_rtol
from ._solver._preconditioner import DiagonalBasisPreconditioner

__all__ = [
    "AbstractResolventSolver",
    "DenseResolvent",
    "KrylovResolvent",
    "SchurResolvent",
    "default_resolvent_solver",
    "pseudo_inverse",
    "resolvent_solve",
]

# Above this many unknowns ``None`` picks the matrix-free solver (n = 16 for a dense state).
# Kerr oscillator, CPU, 2 cores, jit, per call (NOTES-i13-spectra.md): n = 12, 101 ω: LU 0.16 s,
# Schur 0.09 s, GMRES 0.11 s; n = 20, 101 ω: LU 1.1 s, Schur 0.55 s, GMRES 0.39 s; n = 30,
# 51 ω: LU 10.7 s, Schur 2.5 s, GMRES 1.4 s; all within 1e-12 of QuTiP. The shifted
# preconditioner makes GMRES converge in a few tens of steps; an LU costs O(N³) per frequency.
DENSE_LIMIT = 256
# For time evolution (``propagate``) the dense path is one matrix exponential for equally spaced
# times, so it stays the default up to n = 50.
PROPAGATE_DENSE_LIMIT = 2500


class AbstractResolventSolver(eqx.Module):
    """How to solve A_z(Y) = X (module docstring) for a :class:`DeflatedProblem`.

    ``prepare(problem, z)`` returns what one shift needs (a factorisation, a shifted
    preconditioner) with no gradient; ``solve(state, x)`` and ``transpose_solve(state, x)``
    return ``(Y, result)`` on the packed unknowns (``problem.to_physical``);
    ``propagate(problem, x, times)`` returns e^{Lt}X at every time (the time-domain
    correlations of ``qdiss.correlation_2op_1t``).
    """

    @abc.abstractmethod
    def prepare(self, problem: DeflatedProblem, z: Array):
        """The per-shift state (no gradient flows through it)."""

    @abc.abstractmethod
    def solve(self, state, x: Array) -> tuple[Array, RESULTS]:
        """A_z⁻¹x on the packed unknowns."""

    @abc.abstractmethod
    def transpose_solve(self, state, x: Array) -> tuple[Array, RESULTS]:
        """A_z⁻ᵀx (plain transpose) on the packed unknowns."""

    @abc.abstractmethod
    def propagate(self, problem: DeflatedProblem, x: Array, times: Array) -> Array:
        """e^{Lt}X for X a state of ``state_shape``, stacked over ``times`` (t ≥ 0)."""


def _finite(y: Array) -> RESULTS:
    return RESULTS.where(jnp.all(jnp.isfinite(y)), RESULTS.successful, RESULTS.singular)


class DenseResolvent(AbstractResolventSolver):
    """LU of the deflated matrix minus z on the unknowns (``DeflatedProblem.matrix``): O(N³)
    per shift for N unknowns (n² for a dense state), then O(N²) per right-hand side. Time
    evolution: e^{Lt} by ``jax.scipy.linalg.expm`` of the superoperator on the unknowns (one
    exponential for equally spaced times, else one per time)."""

    def prepare(self, problem: DeflatedProblem, z: Array):
        matrix = jax.lax.stop_gradient(problem.matrix())
        shift = jnp.asarray(jax.lax.stop_gradient(z), problem.dtype)
        return _linalg.lu_factor(matrix - shift * jnp.eye(problem.size, dtype=problem.dtype))

    def solve(self, state, x: Array) -> tuple[Array, RESULTS]:
        y = _linalg.lu_solve(state, x)
        return y, _finite(y)

    def transpose_solve(self, state, x: Array) -> tuple[Array, RESULTS]:
        y = _linalg.lu_solve(state, x, trans=1)
        return y, _finite(y)

    def propagate(self, problem: DeflatedProblem, x: Array, times: Array) -> Array:
        generator = problem.lindbladian.superoperator()
        v = problem.to_physical(x)
        times = jnp.asarray(times)
        steps = _uniform_step(times)
        if steps is not None:
            first = jax.scipy.linalg.expm(generator * jnp.asarray(times[0], generator.dtype)) @ v
            step = jax.scipy.linalg.expm(generator * jnp.asarray(steps, generator.dtype))

            def advance(v, _):
                return step @ v, v

            _, out = jax.lax.scan(advance, first, None, length=times.shape[0])
        else:
            out = jax.vmap(
                lambda t: jax.scipy.linalg.expm(generator * t.astype(generator.dtype)) @ v
            )(times)
        return jax.vmap(problem.from_physical)(out)


def _schur(a: Array) -> tuple[Array, Array]:
    """Complex Schur form a = U T U† (T upper triangular), one matrix at a time."""
    return jax.scipy.linalg.schur(a, output="complex")


_schur_one_at_a_time = _linalg._one_at_a_time(_schur)


def _triangular_solve(t: Array, b: Array, lower: bool) -> Array:
    """x with T x = b for a triangular T, by substitution in plain XLA (a loop over rows: no
    LAPACK/BLAS kernel, so a ``vmap`` over shifts runs no batched LAPACK call)."""
    m = b.shape[0]

    def row(k, x):
        i = k if lower else m - 1 - k
        return x.at[i].set((b[i] - jnp.dot(t[i], x)) / t[i, i])

    return jax.lax.fori_loop(0, m, row, jnp.zeros_like(b))


class SchurResolvent(AbstractResolventSolver):
    """The dense deflated matrix in complex Schur form A = U T U†, computed once for every
    shift: (A − z)⁻¹x = U (T − z)⁻¹ U†x by back substitution, O(N²) per shift and right-hand
    side instead of an O(N³) LU (``jax.scipy.linalg.schur``: CPU only). For many frequencies
    on a CPU. Time evolution as :class:`DenseResolvent`."""

    def prepare(self, problem: DeflatedProblem, z: Array):
        matrix = jax.lax.stop_gradient(problem.matrix())
        t, u = _schur_one_at_a_time(matrix)
        shift = jnp.asarray(jax.lax.stop_gradient(z), problem.dtype)
        return t - shift * jnp.eye(problem.size, dtype=problem.dtype), u

    def solve(self, state, x: Array) -> tuple[Array, RESULTS]:
        t, u = state
        y = u @ _triangular_solve(t, u.conj().T @ x, lower=False)
        return y, _finite(y)

    def transpose_solve(self, state, x: Array) -> tuple[Array, RESULTS]:
        # (U T U†)ᵀ = Ū Tᵀ Uᵀ: a forward substitution with the lower-triangular Tᵀ
        t, u = state
        y = u.conj() @ _triangular_solve(t.T, u.T @ x, lower=True)
        return y, _finite(y)

    def propagate(self, problem: DeflatedProblem, x: Array, times: Array) -> Array:
        return DenseResolvent().propagate(problem, x, times)


def _uniform_step(times) -> float | None:
    """The common spacing of concrete, equally spaced ``times`` (to 1e-12 relative), else None."""
    try:
        values = [float(t) for t in times]
    except jax.errors.ConcretizationTypeError:
        return None
    if len(values) < 2:
        return None
    step = (values[-1] - values[0]) / (len(values) - 1)
    scale = max(abs(values[-1]), abs(values[0]), 1e-300)
    ok = all(abs(values[i] - (values[0] + i * step)) <= 1e-12 * scale for i in range(len(values)))
    return step if ok else None


class _ShiftedKrylovState(eqx.Module):
    problem: DeflatedProblem
    z: Array
    precond: DiagonalBasisPreconditioner


class KrylovResolvent(AbstractResolventSolver):
    """Matrix-free restarted GMRES on A_z, right-preconditioned by the shifted
    eigenbasis-diagonal inverse of L without its recycling term (module docstring). Memory
    O(restart·N), time O(n³) per iteration. Time evolution by ``qdiss.evolve`` (diffrax).

    **Fields:** ``rtol`` (relative to ‖X‖; default 1e-12 in float64, 1e-6 in float32),
    ``max_steps`` (restart cycles), ``restart``, ``stagnation_iters``, ``shift`` (σ of the
    preconditioner, relative to the largest decay rate), ``evolve_rtol``/``evolve_atol`` (of
    :meth:`propagate`; None: ``qdiss.evolve``'s defaults).
    """

    rtol: float | None = None
    max_steps: int = 200
    restart: int = 40
    stagnation_iters: int = 20
    shift: float = 1e-3
    evolve_rtol: float | None = None
    evolve_atol: float | None = None

    def _gmres(self, dtype) -> RestartedGMRES:
        return RestartedGMRES(
            rtol=gmres_rtol(dtype, self.rtol),
            atol=0.0,
            max_steps=self.max_steps,
            restart=self.restart,
            stagnation_iters=self.stagnation_iters,
        )

    def prepare(self, problem: DeflatedProblem, z: Array):
        problem = jax.lax.stop_gradient(problem)
        z = jnp.asarray(jax.lax.stop_gradient(z), problem.dtype)
        base = DiagonalBasisPreconditioner.build(
            problem.lindbladian, "hermitian", self.shift, padding_scale=problem.scale
        )
        shifted = DiagonalBasisPreconditioner(
            base.basis, base.basis_inv, base.diagonal - z, base.padding, base.padding_scale
        )
        return _ShiftedKrylovState(problem, z, shifted)

    def _operators(self, state: _ShiftedKrylovState):
        problem, z, precond = state.problem, state.z, state.precond

        def a_z(v):
            return problem.packed_mv(v) - z * v

        def p_inv(v):
            return problem.to_physical(precond.apply_inverse(problem.from_physical(v)))

        structure = jax.ShapeDtypeStruct((problem.size,), problem.dtype)
        return a_z, p_inv, structure

    def solve(self, state, x: Array) -> tuple[Array, RESULTS]:
        a_z, p_inv, structure = self._operators(state)
        operator = lx.FunctionLinearOperator(lambda u: a_z(p_inv(u)), structure)
        out = _normalised_solve(operator, x, self._gmres(x.dtype))
        return p_inv(out[0]), out[1]

    def transpose_solve(self, state, x: Array) -> tuple[Array, RESULTS]:
        # A_zᵀ y = x as (P⁻¹A_z)ᵀ u = x, y = P⁻ᵀu: the transpose of the left-preconditioned
        # operator is right-preconditioned by P⁻ᵀ (plain transposes, not conjugate ones).
        a_z, p_inv, structure = self._operators(state)
        left = lx.FunctionLinearOperator(lambda u: p_inv(a_z(u)), structure)
        out = _normalised_solve(left.T, x, self._gmres(x.dtype))
        p_inv_t = jax.linear_transpose(p_inv, jnp.zeros(structure.shape, structure.dtype))
        # ``left.T`` is Aᵀ P⁻ᵀ: y = P⁻ᵀ u
        return p_inv_t(out[0])[0], out[1]

    def propagate(self, problem: DeflatedProblem, x: Array, times: Array) -> Array:
        from ._evolve import evolve

        sol = evolve(
            problem.lindbladian,
            x,
            jnp.asarray(times),
            rtol=self.evolve_rtol,
            atol=self.evolve_atol,
            throw=True,  # a failed integration raises rather than return a wrong C(τ)
        )
        return sol.states


def _normalised_solve(operator, x, solver) -> tuple[Array, RESULTS]:
    """A⁻¹x as ‖x‖·A⁻¹(x/‖x‖) (tolerances relative to ‖x‖; a zero x gives 0 at once)."""
    norm = jnp.linalg.norm(x)
    safe = jnp.where(norm > 0, norm, 1.0).astype(x.dtype)
    out = lx.linear_solve(operator, x / safe, solver, throw=False)
    return out.value * safe, RESULTS.promote(out.result)


def default_resolvent_solver(
    problem: DeflatedProblem, dense_limit: int = DENSE_LIMIT
) -> AbstractResolventSolver:
    """:class:`DenseResolvent` up to ``dense_limit`` unknowns (default ``DENSE_LIMIT``, 256;
    ``PROPAGATE_DENSE_LIMIT``, 2500, for time evolution), else :class:`KrylovResolvent`."""
    return DenseResolvent() if problem.size <= dense_limit else KrylovResolvent()


def resolvent_solve(
    problem: DeflatedProblem,
    z: Array,
    x: Array,
    solver: AbstractResolventSolver,
    state=None,
) -> tuple[Array, RESULTS, Array]:
    """(Y, result, residual): Y = A_z⁻¹X (module docstring) for X of ``state_shape`` (padding
    zero), differentiable by the implicit rule in the Lindbladian, X and z. ``state``:
    ``solver.prepare(problem, z)`` when already built (to reuse one factorisation for several
    right-hand sides).

    ``residual`` = ‖A_z Y − X‖/‖X‖ (0 for X = 0), recomputed from Y; above ``RESIDUAL_TOL``
    (1e-8 in float64, 1e-3 in float32) a solve the solver called successful gets
    ``RESULTS.residual_too_large``, and a non-finite Y ``RESULTS.nonfinite``."""
    if state is None:
        state = solver.prepare(problem, z)
    b = problem.to_physical(x)

    def matvec(v):
        return problem.packed_mv(v) - jnp.asarray(z, problem.dtype) * v

    y, result = _implicit(
        matvec,
        b,
        lambda r: solver.solve(state, r),
        lambda r: solver.transpose_solve(state, r),
    )
    sg = jax.lax.stop_gradient
    y_fixed, b_fixed = sg(y), sg(b)
    b_norm = jnp.linalg.norm(b_fixed)
    residual = jnp.linalg.norm(sg(matvec(y_fixed)) - b_fixed) / jnp.where(b_norm > 0, b_norm, 1)
    eps = float(jnp.finfo(problem.dtype).eps)
    tol = 1e-8 if eps < 1e-10 else 1e-3
    ok = result == RESULTS.successful
    finite = jnp.all(jnp.isfinite(y_fixed))
    result = RESULTS.where(ok & ~finite, RESULTS.nonfinite, result)
    result = RESULTS.where(ok & finite & ~(residual <= tol), RESULTS.residual_too_large, result)
    y = poison_derivative(y, result != RESULTS.successful)
    return problem.from_physical(y), result, residual


def _implicit(
    matvec: Callable,
    b: Array,
    solve: Callable[[Array], tuple[Array, RESULTS]],
    transpose_solve: Callable[[Array], tuple[Array, RESULTS]],
) -> tuple[Array, RESULTS]:
    """x = A⁻¹b with the implicit derivative ẋ = A⁻¹(ḃ − Ȧx), written as x + δ, δ = A⁻¹r with
    r = (b − stop(b)) + (stop(Ax) − Ax), exactly 0 in value (so the extra solve is of a zero
    right-hand side) and ṙ = ḃ − Ȧx (``qdiss._adjoint.attach_implicit_derivative`` with a
    differentiable right-hand side). A derivative solve that fails gives NaN."""
    sg = jax.lax.stop_gradient
    x, result = solve(sg(b))
    x = sg(x)

    def checked(step):
        def run(_, rhs):
            y, code = step(rhs)
            ok = (code == RESULTS.successful) & jnp.all(jnp.isfinite(rhs))
            return jnp.where(ok, y, jnp.full_like(y, jnp.nan))

        return run

    ax = matvec(x)
    r = (b - sg(b)) + (sg(ax) - ax)
    delta = jax.lax.custom_linear_solve(matvec, r, checked(solve), checked(transpose_solve))
    return x + delta, result


def _projector(problem: DeflatedProblem, rho_ss: Array) -> Callable[[Array], Array]:
    """Q(X) = X − ρ_ss·tr(X)."""
    lindbladian = problem.lindbladian
    return lambda x: x - rho_ss * lindbladian.trace(x)


def pseudo_inverse(
    lindbladian: AbstractLindbladian,
    rho_ss: Array | None = None,
    *,
    solver: AbstractResolventSolver | None = None,
) -> lx.FunctionLinearOperator:
    r"""The Drazin pseudo-inverse L⁺ of a Lindbladian with a unique steady state, as a lineax
    operator on arrays of ``state_shape``:

        L⁺(X) = A⁻¹(X − ρ_ss·tr X),    A(Y) = L(Y) + s·tr(Y)·E,

    the unique Y with tr Y = 0 and L(Y) = X − ρ_ss·tr X; so L L⁺ = L⁺ L = 1 − P with
    P(X) = ρ_ss·tr(X), L⁺P = PL⁺ = 0 and L⁺LL⁺ = L⁺ (module docstring). On the traceless
    subspace it is the inverse of L.

    - ``rho_ss``: the steady state in the Lindbladian's representation (default: computed by
      ``qdiss.steady_state(lindbladian)``, which raises if it is not unique).
    - ``solver``: :class:`DenseResolvent` (one LU, reused for every application) or
      :class:`KrylovResolvent` (matrix-free); ``None`` picks by size.

    The operator is differentiable (implicit rule) in the Lindbladian and in its argument;
    ``lx.linear_solve``, ``.mv``, ``lx.materialise`` (small sizes) apply. Applications whose
    solve fails return NaN (a dense LU never fails for a unique steady state).
    """
    problem = DeflatedProblem.build(lindbladian)
    if rho_ss is None:
        from ._solve import steady_state

        rho_ss = steady_state(lindbladian).rho
    rho_ss = jnp.asarray(rho_ss, problem.dtype)
    if rho_ss.shape != problem.state_shape:
        raise ValueError(
            f"`rho_ss` must have the Lindbladian's state shape {problem.state_shape}; got "
            f"{rho_ss.shape}."
        )
    if solver is None:
        solver = default_resolvent_solver(problem)
    zero = jnp.zeros((), problem.dtype)
    state = solver.prepare(problem, zero)
    project = _projector(problem, rho_ss)

    def mv(x):
        y, result, _ = resolvent_solve(problem, zero, project(x), solver, state)
        return jnp.where(result == RESULTS.successful, y, jnp.full_like(y, jnp.nan))

    structure = jax.ShapeDtypeStruct(problem.state_shape, problem.dtype)
    return lx.FunctionLinearOperator(mv, structure)
