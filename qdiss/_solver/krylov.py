"""Matrix-free Krylov (lineax GMRES) with a diagonal-basis preconditioner."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import lineax as lx

from .._lindbladian import Lindbladian
from .._solution import RESULTS
from .._solve import AbstractSteadyStateSolver, DeflatedProblem, RawSolve
from ._normalised import NormalisedSolver
from ._preconditioner import DiagonalBasisPreconditioner, hermitian_diagonal

__all__ = ["Krylov"]


class Krylov(AbstractSteadyStateSolver):
    r"""Right-preconditioned Krylov solve of the deflated system, never forming a superoperator.

    Solves (A P⁻¹) y = s·I/n with lineax's restarted GMRES and returns ρ = P⁻¹y, where P is L
    without its recycling term, diagonalised once (see ``_preconditioner.py``). ``"hermitian"``,
    the default, works in the eigenbasis of H and is always numerically stable; ``"heff"``
    diagonalises H_eff and is stronger when H_eff is close to normal, but stalls near 1e-8 when it
    is not. Right preconditioning keeps the stopping test on the true residual. Memory
    O(restart·n²), time O(n³) per iteration: the solver for large n and for GPUs. ``rho0``
    warm-starts the iteration (y0 = P ρ0).

    Gradients: lineax differentiates the solve implicitly; reverse mode runs one GMRES with the
    transposed operator P⁻ᵀAᵀ (a plain transpose, not a conjugate one).

    Uniqueness: with ``check_uniqueness`` (default) one more solve with a pseudo-random
    right-hand side v bounds ‖A⁻¹‖ ≥ ‖A⁻¹v‖; a singular A makes that solve fail or blow up, and
    the result is reported as ``RESULTS.non_unique``. This doubles the cost of the forward solve;
    it can be switched off in a trusted inner loop (then a non-unique steady state can pass
    unnoticed).

    lineax's BiCGStab is not offered: in lineax 0.1.1 it reports a breakdown after two steps
    even on a two-level problem with this operator.

    **Fields:** ``rtol`` (tolerance relative to the
    right-hand side; default 1e-12 in float64, 1e-6 in float32); ``max_steps`` (restart cycles
    of GMRES); ``restart``; ``stagnation_iters``; ``preconditioner``;
    ``shift`` (σ relative to the largest decay rate); ``check_uniqueness``; ``residual_tol``;
    ``error_tol``.
    """

    rtol: float | None = None
    max_steps: int = 200
    restart: int = 40
    stagnation_iters: int = 20
    preconditioner: Literal["hermitian", "heff"] = "hermitian"
    shift: float = 1e-3
    check_uniqueness: bool = True
    residual_tol: float | None = None
    error_tol: float | None = None

    def __check_init__(self):
        if self.rtol is not None and not self.rtol > 0:
            raise ValueError(f"`rtol` must be positive; got {self.rtol}.")
        if self.preconditioner not in ("hermitian", "heff"):
            raise ValueError(
                f"`preconditioner` must be 'hermitian' or 'heff'; got {self.preconditioner!r}."
            )
        if self.max_steps < 1 or self.restart < 1:
            raise ValueError("`max_steps` and `restart` must be at least 1.")

    def _linear_solver(
        self, problem: DeflatedProblem, rtol: float | None = None
    ) -> lx.AbstractLinearSolver:
        eps = float(jnp.finfo(problem.dtype).eps)
        default = self.rtol if self.rtol is not None else (1e-12 if eps < 1e-10 else 1e-6)
        rtol = default if rtol is None else max(rtol, default)
        # Right-hand sides are normalised to ‖b‖_F = 1, so a typical entry is 1/n.
        atol = rtol / problem.n
        inner = lx.GMRES(
            rtol=rtol,
            atol=atol,
            max_steps=self.max_steps,
            restart=self.restart,
            stagnation_iters=self.stagnation_iters,
        )
        return NormalisedSolver(inner)

    def solve(self, problem: DeflatedProblem, rho0: jax.Array | None) -> RawSolve:
        work, precond, rotation = self._working_problem(problem)
        operator = _preconditioned_operator(work, precond)
        solver = self._linear_solver(problem)
        options = {}
        if rho0 is not None:
            if rotation is not None:
                rho0 = rotation.conj().T @ rho0 @ rotation
            options["y0"] = jax.lax.stop_gradient(precond.apply(rho0))
        # the right-hand side s·I/n is the same in every orthonormal basis
        sol = lx.linear_solve(operator, work.rhs(), solver, options=options, throw=False)
        rho = precond.apply_inverse(sol.value)
        if rotation is not None:
            rho = rotation @ rho @ rotation.conj().T
        result = RESULTS.promote(sol.result)
        steps = jnp.asarray(sol.stats.get("num_steps", 0), jnp.int32)

        if self.check_uniqueness:
            inverse_norm = self._inverse_norm_bound(work, precond)
        else:
            inverse_norm = jnp.full((), jnp.nan, jnp.finfo(problem.dtype).dtype)
        return RawSolve(rho=rho, result=result, num_steps=steps, inverse_norm=inverse_norm)

    def _working_problem(self, problem: DeflatedProblem):
        """The problem in the basis where the preconditioner is applied, P, and the rotation U.

        For the ``"hermitian"`` kind on a dense ``Lindbladian`` the whole solve runs in the
        eigenbasis of H (U fixed, no gradient through it: ρ = Uρ'U† holds exactly for any
        parameters), so P is elementwise and each iteration costs 2 + 2k products of n×n
        matrices instead of 6 + 2k.
        """
        lindbladian = problem.lindbladian
        if self.preconditioner == "hermitian" and isinstance(lindbladian, Lindbladian):
            energies, rotation = jnp.linalg.eigh(jax.lax.stop_gradient(lindbladian.H))
            rotation = rotation.astype(problem.dtype)
            work = DeflatedProblem(lindbladian.rotated(rotation), problem.scale)
            h_eff = jax.lax.stop_gradient(work.lindbladian.effective_hamiltonian())
            loss = 1j * (h_eff - h_eff.conj().T)  # K = Σ L†L in the eigenbasis
            diagonal = hermitian_diagonal(energies, loss, self.shift)
            return work, DiagonalBasisPreconditioner(None, None, diagonal), rotation
        precond = DiagonalBasisPreconditioner.build(lindbladian, self.preconditioner, self.shift)
        return problem, precond, None

    def _inverse_norm_bound(self, problem, precond) -> jax.Array:
        """Lower bound on ‖A⁻¹‖ from one solve with a pseudo-random unit right-hand side v.

        Any iterate w, converged or not, gives A w = v − r and so ‖A⁻¹‖ ≥ ‖w‖/(‖v‖ + ‖r‖). A
        singular A leaves ‖r‖ ≥ |⟨u, v⟩| with u its left null vector, about 1/n for a random v in
        n² dimensions: a residual above 1e-4/n cannot certify uniqueness and returns inf (reported
        as non-unique); the chance that a singular A slips under it is about 1e-4. The solve only
        has to reach that residual, so it runs with a looser tolerance than the main one.
        """
        solver = self._linear_solver(problem, rtol=1e-5 / problem.n)
        n, dtype = problem.n, problem.dtype
        stopped_problem = jax.lax.stop_gradient(problem)
        stopped = _preconditioned_operator(stopped_problem, precond)
        key_re, key_im = jax.random.split(jax.random.key(4321))
        real = jnp.finfo(dtype).dtype
        v = jax.lax.complex(
            jax.random.normal(key_re, (n, n), real), jax.random.normal(key_im, (n, n), real)
        )
        v = (v / jnp.linalg.norm(v).astype(v.dtype)).astype(dtype)
        check = lx.linear_solve(stopped, v, solver, throw=False)
        w = precond.apply_inverse(check.value)
        r_norm = jnp.linalg.norm(v - stopped_problem.mv(w))
        bound = jnp.linalg.norm(w) / (1 + r_norm)
        certified = (r_norm <= 1e-4 / n) & jnp.isfinite(bound)
        return jnp.where(certified, bound, jnp.inf)


def _preconditioned_operator(problem: DeflatedProblem, precond: DiagonalBasisPreconditioner):
    """y ↦ A(P⁻¹ y) as a lineax operator."""
    structure = jax.ShapeDtypeStruct((problem.n, problem.n), problem.dtype)
    return lx.FunctionLinearOperator(lambda y: problem.mv(precond.apply_inverse(y)), structure)
