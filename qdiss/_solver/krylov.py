"""Matrix-free Krylov (restarted GMRES) with a diagonal-basis preconditioner."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import lineax as lx

from .._adjoint import attach_implicit_derivative
from .._operator import DeflatedProblem
from .._solution import RESULTS
from ._abstract import AbstractSteadyStateSolver, RawSolve
from ._gmres import RestartedGMRES
from ._normalised import NormalisedSolver
from ._preconditioner import ALIASES, AbstractPreconditioner, as_preconditioner

__all__ = ["Krylov"]


class Krylov(AbstractSteadyStateSolver):
    r"""Right-preconditioned Krylov solve of the deflated system, never forming a superoperator.

    Solves (A P⁻¹) y = s·E with restarted GMRES and returns ρ = P⁻¹y. Right preconditioning
    keeps the stopping test on the true residual. Memory O(restart·n²), time O(n³) per
    iteration: the solver for large n and for GPUs. ``rho0`` warm-starts the iteration
    (y0 = P ρ0).

    The GMRES is qdiss's ``RestartedGMRES`` (``_gmres.py``), which stops inside a restart cycle
    as soon as ‖r‖₂ ≤ rtol·‖b‖₂, orthogonalises only against the vectors built so far (at
    10⁵–10⁶ unknowns lineax's fixed-length cycles cost several times more) and calls no LAPACK
    kernel (lineax's GMRES solves its least-squares problems by a batched LAPACK QR under
    ``vmap``, the kernels that deadlocked jaxlib 0.10.2). States with padding (the
    permutation-invariant blocks) are iterated on as the vector of their unknowns.
    ``num_steps`` counts Arnoldi steps (matrix–vector products).

    Preconditioners (``preconditioner``: a name below, mapped to an object in
    ``_preconditioner.ALIASES``, or an ``AbstractPreconditioner`` such as
    ``EigenbasisDiagonal("heff")``, ``BlockSweep()``, ``Product((...))``; see
    ``_preconditioner.py``):

    - ``"hermitian"`` (the default for a dense Lindbladian): L without its recycling term,
      diagonalised once in the eigenbasis of H; always numerically stable.
    - ``"heff"``: the same, diagonalising H_eff; stronger when H_eff is close to normal, but
      stalls near 1e-8 when it is not.
    - ``"sweep"`` (the default for a :class:`qdiss.PermutationInvariantLindbladian`): a
      symmetric block Gauss–Seidel step on the part of L that preserves m − m' (all the
      dissipators, local and collective, and the m-diagonal part of H; see
      ``_lindbladian/permutation/preconditioner.py``). O(N³) per application; iteration
      counts that do not grow with N when the m-changing part of H (J_x, J_y terms) is not dominant.
    - ``"hermitian+sweep"``, ``"heff+sweep"`` (permutation-invariant): the two applied
      multiplicatively, z = P₁⁻¹r, z ← z + P₂⁻¹(r − Az); for strongly driven ensembles (a
      collective Rabi frequency well above the decay rates), at one more product with A and a
      blockwise O(N⁴) step per iteration.
    ``None`` picks the default for the Lindbladian.

    Gradients: the implicit rule (``qdiss._adjoint``): forward mode runs one GMRES per tangent,
    reverse mode one GMRES with the transposed operator P⁻ᵀAᵀ (a plain transpose, not a
    conjugate one). A derivative solve that fails gives NaN derivatives, never an exception
    (also in float32, where the transposed solve may stagnate before the forward one).

    Uniqueness: with ``check_uniqueness`` (default) one more solve with a pseudo-random
    right-hand side v bounds ‖A⁻¹‖ ≥ ‖A⁻¹v‖; a singular A makes that solve fail or blow up, and
    the result is reported as ``RESULTS.non_unique``. This doubles the cost of the forward solve;
    it can be switched off in a trusted inner loop (then a non-unique steady state can pass
    unnoticed).

    lineax's BiCGStab is not offered: in lineax 0.1.1 it reports a breakdown after two steps
    even on a two-level problem with this operator.

    **Fields:** ``rtol`` (tolerance relative to the
    right-hand side; default 1e-12 in float64, 1e-6 in float32); ``max_steps`` (restart cycles
    of GMRES); ``restart``; ``stagnation_iters``; ``preconditioner`` (None: the Lindbladian's
    default);
    ``shift`` (σ relative to the largest decay rate); ``check_uniqueness``; ``residual_tol``;
    ``error_tol``.
    """

    rtol: float | None = None
    max_steps: int = 200
    restart: int = 40
    stagnation_iters: int = 20
    preconditioner: str | None = None  # a name of ALIASES, or an AbstractPreconditioner
    shift: float = 1e-3
    check_uniqueness: bool = True
    residual_tol: float | None = None
    error_tol: float | None = None

    def __check_init__(self):
        if self.rtol is not None and not self.rtol > 0:
            raise ValueError(f"`rtol` must be positive; got {self.rtol}.")
        known = isinstance(self.preconditioner, AbstractPreconditioner) or (
            self.preconditioner in ALIASES
        )
        if self.preconditioner is not None and not known:
            raise ValueError(
                "`preconditioner` must be 'hermitian' or 'heff' (or, for a permutation-invariant "
                "Lindbladian, 'sweep', 'hermitian+sweep' or 'heff+sweep'), or None for the "
                f"default; got {self.preconditioner!r}."
            )
        if self.max_steps < 1 or self.restart < 1:
            raise ValueError("`max_steps` and `restart` must be at least 1.")

    def _linear_solver(
        self, problem: DeflatedProblem, rtol: float | None = None
    ) -> lx.AbstractLinearSolver:
        """Restarted GMRES stopping at ‖r‖₂ ≤ rtol·‖b‖₂ (``_gmres.py``), for every
        representation: it stops inside a cycle, orthogonalises only against the vectors built
        so far and calls no LAPACK kernel (its small triangular solve is plain XLA), so a
        ``vmap`` of Krylov solves never runs batched LAPACK calls."""
        eps = float(jnp.finfo(problem.dtype).eps)
        default = self.rtol if self.rtol is not None else (1e-12 if eps < 1e-10 else 1e-6)
        rtol = default if rtol is None else max(rtol, default)
        inner = RestartedGMRES(
            rtol=rtol,
            atol=0.0,
            max_steps=self.max_steps,
            restart=self.restart,
            stagnation_iters=self.stagnation_iters,
        )
        return NormalisedSolver(inner)

    def solve(self, problem: DeflatedProblem, rho0: jax.Array | None) -> RawSolve:
        work, precond, rotation = self._working_problem(problem)
        operator = _preconditioned_operator(work, precond)  # carries the gradient
        stopped = _preconditioned_operator(jax.lax.stop_gradient(work), precond)
        solver = self._linear_solver(problem)
        options = {}
        if rho0 is not None:
            if rotation is not None:
                rho0 = rotation.conj().T @ rho0 @ rotation
            options["y0"] = jax.lax.stop_gradient(_pack(work, precond.apply(rho0)))
        # the right-hand side s·E (E = I/n for a dense ρ) is the same in every orthonormal basis
        rhs = _pack(work, work.rhs())
        sol = lx.linear_solve(stopped, rhs, solver, options=options, throw=False)
        result = RESULTS.promote(sol.result)
        steps = jnp.asarray(sol.stats.get("num_steps", 0), jnp.int32)

        def solve(v):
            out = lx.linear_solve(stopped, v, solver, throw=False)
            return out.value, RESULTS.promote(out.result)

        def transpose_solve(v):  # P⁻ᵀAᵀ: a plain transpose, not a conjugate one
            out = lx.linear_solve(stopped.T, v, solver, throw=False)
            return out.value, RESULTS.promote(out.result)

        y = attach_implicit_derivative(operator.mv, sol.value, solve, transpose_solve)
        rho = precond.apply_inverse(_unpack(work, y))
        if rotation is not None:
            rho = rotation @ rho @ rotation.conj().T

        if self.check_uniqueness:
            inverse_norm = self._inverse_norm_bound(work, precond)
        else:
            inverse_norm = jnp.full((), jnp.nan, jnp.finfo(problem.dtype).dtype)
        return RawSolve(rho=rho, result=result, num_steps=steps, inverse_norm=inverse_norm)

    def _working_problem(self, problem: DeflatedProblem):
        """The problem in the basis where the preconditioner is applied, P, and the rotation U
        (:meth:`AbstractPreconditioner.prepare`; for ``"hermitian"`` on a dense Lindbladian the
        whole solve runs in the eigenbasis of H)."""
        name = self.preconditioner or problem.lindbladian.default_preconditioner()
        return as_preconditioner(name).prepare(problem, self.shift)

    def _inverse_norm_bound(self, problem, precond) -> jax.Array:
        """Lower bound on ‖A⁻¹‖ from one solve with a pseudo-random unit right-hand side v.

        Any iterate w, converged or not, gives A w = v − r and so ‖A⁻¹‖ ≥ ‖w‖/(‖v‖ + ‖r‖). A
        singular A leaves ‖r‖ ≥ |⟨u, v⟩| with u its left null vector, about 1/√P for a random v
        in P dimensions (P unknowns; P = n² for a dense ρ): a residual above 1e-4/√P cannot
        certify uniqueness and returns inf (reported as non-unique); the chance that a singular
        A slips under it is about 1e-4. The solve only has to reach that residual, so it runs
        with a looser tolerance than the main one. v has no padding component. In single
        precision one more solve (a step of inverse iteration) sharpens the bound.
        """
        root = math.sqrt(problem.size)
        solver = self._linear_solver(problem, rtol=1e-5 / root)
        stopped_problem = jax.lax.stop_gradient(problem)
        stopped = _preconditioned_operator(stopped_problem, precond)

        def inverse_step(v):
            """w ≈ A⁻¹v and ‖w‖/(‖v‖ + ‖r‖), a lower bound on ‖A⁻¹‖ for any iterate w."""
            check = lx.linear_solve(stopped, _pack(problem, v), solver, throw=False)
            w = precond.apply_inverse(_unpack(problem, check.value))
            r_norm = jnp.linalg.norm(v - stopped_problem.mv(w))
            return w, r_norm, jnp.linalg.norm(w) / (jnp.linalg.norm(v) + r_norm)

        v = problem.random_vector(4321)
        w, r_norm, bound = inverse_step(v)
        certified = (r_norm <= 1e-4 / root) & jnp.isfinite(bound)
        if float(jnp.finfo(problem.dtype).eps) > 1e-10:
            # Single precision: a random v has only ~1/√P of its weight on the slowest mode, so
            # ‖A⁻¹v‖ can be ~√P times too small, enough to pass an ill-conditioned problem
            # (benchmarks/fails_safely.py). One step of inverse iteration from w/‖w‖, already
            # dominated by that mode, closes the gap.
            w_norm = jnp.linalg.norm(w)
            start = w / jnp.where(w_norm > 0, w_norm, 1).astype(w.dtype)
            bound = jnp.fmax(bound, inverse_step(start)[2])
        return jnp.where(certified, bound, jnp.inf)


def _packed(problem: DeflatedProblem) -> bool:
    return problem.lindbladian.padding_mask() is not None


def _pack(problem: DeflatedProblem, x):
    """States with padding are iterated on as flat vectors of their unknowns (fewer bytes for
    every Krylov vector); others as they are."""
    return problem.to_physical(x) if _packed(problem) else x


def _unpack(problem: DeflatedProblem, v):
    return problem.from_physical(v) if _packed(problem) else v


def _preconditioned_operator(problem: DeflatedProblem, precond):
    """y ↦ A(P⁻¹ y) as a lineax operator (on the unknowns only, for a state with padding: A and
    P⁻¹ map zero padding to zero padding)."""
    if _packed(problem):
        structure = jax.ShapeDtypeStruct((problem.size,), problem.dtype)

        def mv(y):
            return problem.to_physical(problem.mv(precond.apply_inverse(problem.from_physical(y))))

        return lx.FunctionLinearOperator(mv, structure)
    structure = jax.ShapeDtypeStruct(problem.state_shape, problem.dtype)
    return lx.FunctionLinearOperator(lambda y: problem.mv(precond.apply_inverse(y)), structure)
