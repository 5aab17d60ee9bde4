"""Matrix-free Krylov (restarted GMRES) with a diagonal-basis preconditioner."""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx

from .._operator import DeflatedProblem
from .._solution import RESULTS
from ._abstract import AbstractSteadyStateSolver, RawSolve
from ._gmres import RestartedGMRES, gmres_loop, gmres_rtol
from ._normalised import NormalisedSolver
from ._preconditioner import ALIASES, AbstractPreconditioner, as_preconditioner
from ._sharding import StateLayout, as_devices

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
    - ``"phase"`` (dense Lindbladians): the exact inverse of the part of A that maps each
      diagonal ρ_{a,a+d} of ρ to itself, recycling term Σ L ρ L† included (``_phase_covariant.py``;
      exact for a phase-covariant L: one oscillator with a diagonal H and ladder jumps); O(n³)
      memory, O(n⁴) setup, plain XLA. ``"phase+hermitian"``: followed multiplicatively by
      ``"hermitian"`` (a driven Kerr oscillator: 51 GMRES steps against 499 for ``"hermitian"``,
      a hot driven oscillator 30 against 1183; ``benchmarks/README.md``).
    - ``"ilu"``: SciPy's incomplete LU of the deflated sparse superoperator, applied in host
      callbacks (``_ilu.py``; CPU): 4–5 steps on one oscillator, but its factorisation costs
      seconds to minutes once several modes or spins fill in.
    - ``"hermitian+sweep"``, ``"heff+sweep"`` (permutation-invariant): the two applied
      multiplicatively, z = P₁⁻¹r, z ← z + P₂⁻¹(r − Az); for strongly driven ensembles (a
      collective Rabi frequency well above the decay rates), at one more product with A and a
      blockwise O(N⁴) step per iteration.
    ``None`` picks the default for the Lindbladian.

    Gradients: the implicit rule (``qdiss._adjoint``; here a custom JVP, :func:`_implicit_delta`,
    so that no GMRES of a zero right-hand side sits in the primal program): forward mode runs
    one GMRES per tangent, reverse mode one GMRES with the transposed operator P⁻ᵀAᵀ (a plain
    transpose, not a conjugate one). A derivative solve that fails gives NaN derivatives, never
    an exception (also in float32, where the transposed solve may stagnate before the forward
    one).

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
    ``error_tol``; ``devices``.

    **One solve over several devices** (``devices``: a number d, the first d of
    ``jax.devices()``, or a list of devices; ``None``, the default, one device): the GMRES
    vectors (right-hand side, iterate, the ``restart + 1`` basis vectors) are split along the
    leading state axis over a one-axis mesh of those devices, the blocks of a
    permutation-invariant state or the rows of a dense ρ (``_sharding.py``: the layout, the
    inert padding to a multiple of d, and the collectives the operator needs). Inner products
    become a local sum and a scalar all-reduce; the derivative's GMRES (forward and transposed)
    runs in the same layout. Same answer as one device up to round-off (sums in another order).
    The sharded vectors are the padded states, not the packed unknowns. Works under ``jit``
    and ``grad``; ``qdiss.steady_state(L, Krylov(), devices=d)`` is the same request.
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
    devices: tuple[jax.Device, ...] | None = eqx.field(
        static=True, default=None, converter=as_devices
    )

    def sharded(self, devices) -> Krylov:
        """This solver with its state split over ``devices`` (class docstring)."""
        return dataclasses.replace(self, devices=as_devices(devices))

    @property
    def layout(self) -> StateLayout:
        return StateLayout(self.devices)

    def _vectors(self, problem: DeflatedProblem) -> _Vectors:
        """How states become GMRES vectors for ``problem`` (packed, or padded and sharded)."""
        what = "blocks" if _packed(problem) else "rows"
        self.layout.check(problem.state_shape, what)
        return _Vectors(problem, self.layout)

    def __check_init__(self):
        if self.rtol is not None and not self.rtol > 0:
            raise ValueError(f"`rtol` must be positive; got {self.rtol}.")
        known = isinstance(self.preconditioner, AbstractPreconditioner) or (
            self.preconditioner in ALIASES
        )
        if self.preconditioner is not None and not known:
            raise ValueError(
                "`preconditioner` must be 'hermitian', 'heff', 'ilu', 'phase' or 'phase+hermitian' "
                "(or, for a permutation-invariant "
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
        inner = RestartedGMRES(
            rtol=self._rtol(problem.dtype, rtol),
            atol=0.0,
            max_steps=self.max_steps,
            restart=self.restart,
            stagnation_iters=self.stagnation_iters,
        )
        return NormalisedSolver(inner)

    def _rtol(self, dtype, rtol: float | None = None) -> float:
        """The GMRES tolerance: ``self.rtol`` (default 1e-12 in float64, 1e-6 in float32), or
        the looser ``rtol`` asked for."""
        default = gmres_rtol(dtype, self.rtol)
        return default if rtol is None else max(rtol, default)

    def _gmres(self, matvec, b, y0, rtol):
        layout = self.layout
        """x with ‖b − A x‖₂ ≤ rtol·‖b‖₂ (``NormalisedSolver`` around ``RestartedGMRES``, the
        same arithmetic, with ``rtol`` an array): (x, result, Arnoldi steps, ‖b − A x‖₂)."""
        norm = jnp.linalg.norm(b)
        zero = norm == 0  # a NaN right-hand side is not zero: it must give a failed solve
        safe = jnp.where(zero, 1.0, norm).astype(b.dtype)
        b = b / safe
        rdtype = jnp.finfo(b.dtype).dtype
        tol = (0.0 + jnp.asarray(rtol, rdtype) * jnp.linalg.norm(b)).astype(rdtype)
        y, r_norm, _, stall, steps = gmres_loop(
            matvec,
            b,
            y0 / safe,
            tol,
            self.restart,
            self.max_steps,
            self.stagnation_iters,
            constrain=layout.constrain,
            constrain_stack=layout.constrain_stack,
        )
        result = lx.RESULTS.where(
            r_norm <= tol,
            lx.RESULTS.successful,
            lx.RESULTS.where(
                stall >= self.stagnation_iters, lx.RESULTS.stagnation, lx.RESULTS.max_steps_reached
            ),
        )
        result = lx.RESULTS.where(jnp.isfinite(r_norm), result, lx.RESULTS.breakdown)
        y = jnp.where(zero, jnp.zeros_like(y), y * safe)
        result = lx.RESULTS.where(zero, lx.RESULTS.successful, result)
        return y, RESULTS.promote(result), steps, r_norm * jnp.abs(safe)

    def solve(self, problem: DeflatedProblem, rho0: jax.Array | None) -> RawSolve:
        """The solve and the uniqueness check as one sequence of GMRES solves (``lax.scan``):
        the preconditioned operator, GMRES and P⁻¹ appear once in the program for all of them
        (compile time: a large operator is traced, lowered and compiled once)."""
        work, precond, rotation = self._working_problem(problem)
        stopped = jax.lax.stop_gradient(work)
        vec = self._vectors(work)

        # y ↦ A(P⁻¹ y) on the GMRES vectors
        preconditioned = vec.operator(lambda x: stopped.mv(precond.apply_inverse(x)))

        dtype = problem.dtype
        single = float(jnp.finfo(dtype).eps) > 1e-10
        rhs = vec.to_vec(work.rhs())
        y0 = jnp.zeros_like(rhs)
        if rho0 is not None:
            if rotation is not None:
                rho0 = rotation.conj().T @ rho0 @ rotation
            y0 = jax.lax.stop_gradient(vec.to_vec(precond.apply(rho0)))
        # 0: the steady state; 1: a pseudo-random v for the bound on ‖A⁻¹‖
        # (:meth:`_inverse_norm_bound`); 2 (single precision): one step of inverse iteration.
        rhs_list, y0_list, rtols = [rhs], [y0], [self._rtol(dtype)]
        if self.check_uniqueness:
            root = math.sqrt(problem.size)
            v = vec.to_vec(work.random_vector(4321))
            count = 3 if single else 2
            rhs_list += [v] * (count - 1)
            y0_list += [jnp.zeros_like(rhs)] * (count - 1)
            rtols += [self._rtol(dtype, 1e-5 / root)] * (count - 1)
        chained = jnp.arange(len(rhs_list)) == 2

        def step(previous, inputs):
            b, y0, rtol, chain = inputs
            norm = jnp.linalg.norm(previous)
            start = previous / jnp.where(norm > 0, norm, 1).astype(previous.dtype)
            b = jnp.where(chain, to_vec(start), b)
            y, result, steps, r_norm = self._gmres(preconditioned, b, y0, rtol)
            x = precond.apply_inverse(vec.from_vec(y))
            bound = jnp.linalg.norm(x) / (jnp.linalg.norm(b) + r_norm)
            x = keep(x)
            return x, (x, result, steps, r_norm, bound)

        # Sharded: the scan carries and stacks states as padded, split GMRES vectors (an
        # unpadded state of B rows split over d devices is uneven, and XLA gathers it).
        sharded = vec.layout.sharded
        keep = vec.to_vec if sharded else (lambda x: x)
        to_vec = (lambda x: x) if sharded else vec.to_vec

        stack = vec.layout.constrain_stack
        inputs = (
            stack(jnp.stack(rhs_list)),
            stack(jnp.stack(y0_list)),
            jnp.asarray(rtols),
            chained,
        )
        zero_state = keep(jnp.zeros(work.state_shape, dtype))
        _, (xs, results, steps, r_norms, bounds) = jax.lax.scan(step, zero_state, inputs)
        result = jax.tree.map(lambda x: x[0], results)  # the steady state's own

        x = jax.lax.stop_gradient(vec.from_vec(xs[0]) if sharded else xs[0])
        ax = work.mv(x)
        rho = x + _implicit_delta(jax.lax.stop_gradient(ax) - ax, work, precond, solver=self)
        if rotation is not None:
            rho = rotation @ rho @ rotation.conj().T

        if self.check_uniqueness:
            root = math.sqrt(problem.size)
            certified = (r_norms[1] <= 1e-4 / root) & jnp.isfinite(bounds[1])
            bound = bounds[1] if not single else jnp.fmax(bounds[1], bounds[2])
            inverse_norm = jnp.where(certified, bound, jnp.inf)
        else:
            inverse_norm = jnp.full((), jnp.nan, jnp.finfo(problem.dtype).dtype)
        return RawSolve(rho=rho, result=result, num_steps=steps[0], inverse_norm=inverse_norm)

    def _working_problem(self, problem: DeflatedProblem):
        """The problem in the basis where the preconditioner is applied, P, and the rotation U
        (:meth:`AbstractPreconditioner.prepare`; for ``"hermitian"`` on a dense Lindbladian the
        whole solve runs in the eigenbasis of H)."""
        name = self.preconditioner or problem.lindbladian.default_preconditioner()
        # L's coefficients computed once per solve, not at every application (`prepared`)
        problem = type(problem)(problem.lindbladian.prepared(), problem.scale)
        return as_preconditioner(name).prepare(problem, self.shift)


@eqx.filter_custom_jvp
def _implicit_delta(r, work, precond, *, solver):
    """A⁻¹r for r = sg(Ax) − Ax, 0 in value (0·r: NaN where r is not finite), whose derivative
    is the implicit one, A⁻¹ṙ = A⁻¹(−Ȧx) (``qdiss._adjoint``), by ``lax.custom_linear_solve``
    with Krylov's preconditioned GMRES (reverse mode: its transposed solve).

    A custom JVP rather than ``attach_implicit_derivative`` (which returns x + A⁻¹r and so runs
    a solve of the zero right-hand side in the primal program too): here GMRES is in the
    derivative only, one copy of the solver less to compile. ``work`` (the deflated problem)
    and ``precond`` are arguments, not closures, so that the rule sees their primal values."""
    del work, precond, solver
    return r * 0


@_implicit_delta.def_jvp
def _implicit_delta_jvp(primals, tangents, *, solver):
    r, work, precond = primals
    r_dot = tangents[0]
    out = _implicit_delta(r, work, precond, solver=solver)
    if r_dot is None:
        return out, jnp.zeros_like(r)
    stopped = jax.lax.stop_gradient(work)
    rtol = solver._rtol(work.dtype)
    vec = solver._vectors(stopped)
    # y ↦ A(P⁻¹ y) on the GMRES vectors (sharded as the primal solve's)
    preconditioned = vec.operator(lambda x: stopped.mv(precond.apply_inverse(x)))

    def checked(step):
        def run(_, rhs):
            y, result = step(rhs)
            ok = (result == RESULTS.successful) & jnp.all(jnp.isfinite(rhs))
            return jnp.where(ok, y, jnp.full_like(y, jnp.nan))

        return run

    def solve(v):  # A⁻¹ v = P⁻¹ (A P⁻¹)⁻¹ v
        b = vec.to_vec(v)
        y, result, _, _ = solver._gmres(preconditioned, b, jnp.zeros_like(b), rtol)
        return precond.apply_inverse(vec.from_vec(y)), result

    def transpose_solve(v):  # A⁻ᵀ v = (A P⁻¹)⁻ᵀ P⁻ᵀ v: a plain transpose, not a conjugate one
        (w,) = jax.linear_transpose(precond.apply_inverse, v)(v)
        b = vec.to_vec(w)
        transposed = jax.linear_transpose(preconditioned, b)
        y, result, _, _ = solver._gmres(lambda u: transposed(u)[0], b, jnp.zeros_like(b), rtol)
        return vec.from_vec(y), result

    tangent = jax.lax.custom_linear_solve(work.mv, r_dot, checked(solve), checked(transpose_solve))
    return out, tangent


def _packed(problem: DeflatedProblem) -> bool:
    return problem.lindbladian.padding_mask() is not None


def _pack(problem: DeflatedProblem, x):
    """States with padding are iterated on as flat vectors of their unknowns (fewer bytes for
    every Krylov vector); others as they are."""
    return problem.to_physical(x) if _packed(problem) else x


def _unpack(problem: DeflatedProblem, v):
    return problem.from_physical(v) if _packed(problem) else v


class _Vectors(eqx.Module):
    """States ↔ GMRES vectors: the packed unknowns on one device (``_pack``), the state padded
    to a multiple of the device count and sharded otherwise (``_sharding.py``)."""

    problem: DeflatedProblem
    layout: StateLayout

    def to_vec(self, x):
        if not self.layout.sharded:
            return _pack(self.problem, x)
        return self.layout.pad(x)

    def from_vec(self, v):
        if not self.layout.sharded:
            return _unpack(self.problem, v)
        return self.layout.unpad(v, self.problem.state_shape[0])

    def operator(self, fn):
        """The GMRES operator of a linear map ``fn`` on states: the identity on the inert
        padding rows, so that they stay zero and the operator stays invertible there."""
        if not self.layout.sharded:
            return lambda v: _pack(self.problem, fn(_unpack(self.problem, v)))
        rows = self.problem.state_shape[0]

        def apply(v):
            out = self.to_vec(fn(self.from_vec(v)))
            if v.shape[0] == rows:
                return out
            extra = jax.lax.broadcasted_iota(jnp.int32, v.shape, 0) >= rows
            return self.layout.constrain(jnp.where(extra, v, out))

        return apply
