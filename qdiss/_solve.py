r"""The steady-state entry point :func:`steady_state` and its shared post-solve checks.

The deflated system is built in ``_operator.py``, the solver protocol is in
``_solver/_abstract.py``; this module imports both (never the other way).

**Deflation.** L is singular (L(ρ_ss) = 0). Every linear-solve solver instead solves

    A(ρ) = L(ρ) + s·tr(ρ)·E = s·E,     s = ‖L‖ (a norm bound, no gradient),

with E = ``lindbladian.identity_state()`` (tr E = 1; I/n for a dense Lindbladian), which is
invertible exactly when the steady state is unique: taking the trace of A(ρ) = 0 gives tr ρ = 0
(L preserves the trace) and then L(ρ) = 0, so ρ = 0 unless ker L holds more than ρ_ss. Its
solution has tr ρ = 1 and L(ρ) = 0. Derivatives come from the implicit rule (``qdiss._adjoint``):
ρ' = A⁻¹(−A'ρ) (the s-terms cancel since tr ρ = 1), and reverse mode solves with Aᵀ reusing the
factorisation or the transposed preconditioner. A derivative solve that fails, or a forward solve
that failed, gives NaN derivatives, never an exception (with ``throw=False``).

**Representations.** ρ has the Lindbladian's ``state_shape`` (``(n, n)`` for a dense one, the
padded blocks ``(B, D, D)`` of a permutation-invariant one). Padding entries (``padding_mask``)
are not unknowns: A acts on them as s·I, so A stays nonsingular on the whole array, the padding
of the solution is exactly 0 and the unknowns decouple from it. Direct solvers work on the
unknowns only (``DeflatedProblem.matrix``).
"""

from __future__ import annotations

from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._adjoint import poison_derivative
from ._lindbladian import AbstractLindbladian, as_lindbladian
from ._operator import DeflatedProblem
from ._solution import RESULTS, SteadyStateSolution, SteadyStateStats, real_dtype
from ._solver._abstract import AbstractSteadyStateSolver, RawSolve
from ._solver.auto import Auto
from ._solver.dense import DenseLU

__all__ = ["available_memory", "steady_state"]


def default_tolerances(dtype) -> tuple[float, float, float]:
    """(residual_tol, error_tol, non_unique_condition) for a complex dtype.

    A condition estimate above ``non_unique_condition`` (1e-3/eps: about 4.5e12 in float64 and 8e3
    in float32) means the deflated operator is singular to working precision: the steady state is
    reported as not unique.
    """
    eps = float(jnp.finfo(dtype).eps)
    if eps < 1e-10:
        return 1e-10, 1e-6, 1e-3 / eps
    return 1e-4, 1e-2, 1e-3 / eps


def default_truncation_tol(dtype) -> float:
    """Default ``truncation_tol`` of :func:`steady_state` for a complex dtype: 1e-6 in float64,
    1e-4 in float32.

    The statistic it bounds is a population, the marginal weight of a mode's top two Fock levels
    (``SteadyStateStats.top_level_population``). 1e-6 keeps truncation errors of expectation
    values of low moments at about that relative size (the Fock tail decays fast once the cutoff
    clears the photon distribution) while sitting far above float64 round-off; in float32,
    populations are only resolved to ~1e-6 (eps ≈ 1.2e-7 times the condition of the solve), so
    the default is looser by the same factor as the other float32 tolerances.
    """
    eps = float(jnp.finfo(dtype).eps)
    return 1e-6 if eps < 1e-10 else 1e-4


def available_memory(device=None) -> int | None:
    """Bytes of memory of ``device`` (default: the first local device): the device's
    ``memory_stats()["bytes_limit"]`` where the runtime reports it (GPUs), else, for a CPU, the
    physical memory of the machine (``os.sysconf``). ``None`` when neither is known."""
    import os

    if device is None:
        device = jax.local_devices()[0]
    stats = None
    try:
        stats = device.memory_stats()
    except (AttributeError, NotImplementedError, RuntimeError):
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"])
    if getattr(device, "platform", "cpu") != "cpu":
        return None
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def _check_memory(problem: DeflatedProblem, solver: AbstractSteadyStateSolver) -> None:
    """Refuse (ValueError, at trace time) a solve that cannot fit in memory."""
    need = solver.memory_estimate(problem)
    if need is None:
        return
    have = available_memory()
    if have is None or need <= have:
        return
    device = jax.local_devices()[0]
    raise ValueError(
        f"{solver.name} needs at least {need / 1e9:.3g} GB for this problem "
        f"({problem.size} unknowns, state shape {problem.state_shape}, {jnp.dtype(problem.dtype)})"
        f", more than the {have / 1e9:.3g} GB of memory of {device.platform} device {device}. "
        "Use `qdiss.Krylov()` (matrix-free: memory O(unknowns)), or a smaller representation "
        "(`qdiss.SectorLindbladian` for a conserved charge)."
    )


def _validate_rho0(rho0, lindbladian: AbstractLindbladian) -> Array | None:
    if rho0 is None:
        return None
    rho0 = jnp.asarray(rho0)
    shape = tuple(lindbladian.state_shape)
    if rho0.shape != shape and len(shape) == 2:
        raise ValueError(f"`rho0` must have shape (n, n) = {shape}; got {rho0.shape}.")
    if rho0.shape != shape:
        raise ValueError(
            f"`rho0` must have the shape of a state of this Lindbladian, {shape}; got {rho0.shape}."
        )
    return rho0.astype(lindbladian.dtype)


def steady_state(
    lindbladian: AbstractLindbladian,
    solver: AbstractSteadyStateSolver | None = None,
    *,
    rho0: Any = None,
    throw: bool = True,
    truncation_tol: float | None = None,
    deflation_weight: Any = None,
    degenerate: Literal["refuse", "project"] = "refuse",
    kernel_dim: int | None = None,
    devices: Any = None,
) -> SteadyStateSolution:
    r"""Find the steady state ρ_ss of dρ/dt = L(ρ), i.e. L(ρ_ss) = 0, tr ρ_ss = 1.

    **Arguments:**

    - ``lindbladian``: a :class:`qdiss.Lindbladian` (or any ``AbstractLindbladian``).
    - ``solver``: a steady-state solver (default :class:`qdiss.Auto`).
    - ``rho0``: initial guess, used as a warm start by iterative solvers.
    - ``throw``: raise on failure (True), or return the failure in ``sol.result`` (False; use it
      inside ``vmap`` sweeps so that one bad point does not stop the batch).
    - ``truncation_tol``: largest accepted population of the top Fock levels of a truncated
      mode (``sol.stats.top_level_population``; only for Lindbladians that declare ``modes``).
      Above it the result is ``RESULTS.truncated``. ``None``: 1e-6 in float64, 1e-4 in float32
      (:func:`default_truncation_tol`); ``float("inf")`` turns the check off.
    - ``deflation_weight``: the weight s > 0 of the deflation term s·tr(ρ)·E (module docstring;
      QuTiP's ``weight``). ``None`` (default): a norm bound of L, which keeps the deflated
      operator as well conditioned as L allows. The answer does not depend on s (any s > 0 gives
      tr ρ = 1 and L(ρ) = 0), only the conditioning of the solve: a very small or very large s
      makes it worse. Residuals are always measured against ‖L‖. ``ValueError`` unless a finite
      positive number.
    - ``degenerate``: ``"refuse"`` (default): a kernel of L of dimension > 1 is reported as
      ``RESULTS.non_unique``. ``"project"``: return the steady state reached from ``rho0``
      (required), ρ_∞ = Σ_i tr(J_i†ρ₀)ρ_i with the right kernel {ρ_i} and the conserved
      quantities {J_i} (left kernel) biorthonormalised (``qdiss._degenerate``; ρ₀ is normalised
      to unit trace); ``sol.stats.kernel_dimension`` gives d = dim ker L. Dense linear algebra on
      the unknowns (an SVD and an LU of the P × P superoperator, P = n² for a dense ρ: DenseLU's
      sizes); ``solver`` must be left out. Differentiable where d is locally
      constant. A closed system (no dissipation) is then not refused: ρ_∞ is ρ₀ dephased in
      the eigenbasis of H (its time average).
    - ``kernel_dim``: with ``degenerate="project"``, d = dim ker L. ``None``: counted from the
      singular values of L (those below 1e3·eps·σ_max), which needs concrete arrays; under
      ``jit``/``vmap``/``grad`` pass it (static). A kernel larger than d is reported as
      ``non_unique``.
    - ``devices``: split this one solve's state over several devices (a number d, the first d
      of ``jax.devices()``, or a list of devices): the permutation-invariant blocks or the rows
      of ρ, with the Krylov basis (``qdiss.Krylov``'s ``devices``; ``_solver/_sharding.py``).
      Only with ``solver=qdiss.Krylov(...)``: any other solver (``Auto`` included) raises
      ``ValueError``. ``None`` (default): one device.

    **Returns:** a :class:`SteadyStateSolution` whose ``rho`` is differentiable (by implicit
    differentiation) with respect to everything that enters the Lindbladian.

    After the solver, every result is checked the same way, and the first rule that applies
    gives the code, whichever solver ran:

    1. traced inputs (under ``jit``/``vmap``/``grad``; concrete ones raise ``ValueError`` when
       the Lindbladian is built): NaN/inf in H, the jump operators or the rates →
       ``RESULTS.nonfinite``; a non-Hermitian H → ``RESULTS.not_hermitian``. Only the
       offending points of a ``vmap`` batch get the code (with ``throw=False``);
    2. a closed system (every jump operator or rate exactly 0) with n ≥ 2 →
       ``RESULTS.non_unique`` (every function of H is stationary);
    3. a singular deflated operator, or a condition estimate above 1e-3/eps (about 4.5e12 in
       float64) → ``RESULTS.non_unique``; a finite such estimate also overrides the solver's
       own failure (a numerically singular operator explains it: two blocks coupled by rates
       1e-12 apart are ``non_unique`` for every solver), an infinite one (uniqueness not
       certified) only a successful solve;
    4. the solver's own failure (``max_steps_reached``, ``stagnation``, ``not_stationary``...);
    5. non-finite values, the relative residual against ``solver.residual_tol``, the
       estimated error against ``solver.error_tol`` (``inaccurate``) and positivity.
    6. last, the truncation of declared bosonic modes against ``truncation_tol``
       (``RESULTS.truncated``: the only failure that is a property of the model rather than of
       the solve; ρ is then an accurate steady state of the truncated model, and its derivative
       is kept).

    A solver whose ``memory_estimate`` exceeds the memory available is refused with
    ``ValueError`` before anything is allocated.
    """
    lindbladian = as_lindbladian(lindbladian)
    if solver is not None and degenerate == "project":
        raise ValueError(
            "`degenerate='project'` computes the kernel of L densely (an SVD and an LU) and uses "
            f"no steady-state solver: leave `solver` out (got {type(solver).__name__})."
        )
    if solver is None:
        solver = Auto()

    if not isinstance(solver, AbstractSteadyStateSolver):
        raise TypeError(
            f"`solver` must be a qdiss steady-state solver (e.g. `qdiss.DenseLU()`); got "
            f"{type(solver).__name__}."
        )
    if devices is not None:  # only Krylov can; every other solver raises ValueError here
        solver = solver.sharded(devices)
    if degenerate not in ("refuse", "project"):
        raise ValueError(f"`degenerate` must be 'refuse' or 'project'; got {degenerate!r}.")
    weight = _validate_weight(deflation_weight)
    if degenerate == "project":
        return _project(lindbladian, solver, rho0, throw, truncation_tol, weight, kernel_dim)
    if kernel_dim is not None:
        raise ValueError("`kernel_dim` is only used with `degenerate='project'`.")
    solver = solver.select(lindbladian)
    rho0 = _validate_rho0(rho0, lindbladian)
    # Before anything is allocated (at trace time under an outer jit): a problem with a unit
    # scale has the sizes and dtype the estimate needs, without computing the norm bound.
    _check_memory(DeflatedProblem(lindbladian, jnp.ones((), real_dtype(lindbladian.dtype))), solver)
    truncation_tol = _validate_truncation_tol(truncation_tol)
    return _steady_state_jit(lindbladian, solver, rho0, bool(throw), truncation_tol, weight)


def _validate_truncation_tol(truncation_tol):
    if truncation_tol is not None:
        truncation_tol = float(truncation_tol)
        if not truncation_tol >= 0:
            raise ValueError(
                f"`truncation_tol` must be a non-negative number or None; got {truncation_tol}."
            )
    return truncation_tol


def _validate_weight(weight):
    """``deflation_weight`` as a finite positive float (or None, or a traced scalar)."""
    if weight is None:
        return None
    if isinstance(weight, jax.core.Tracer):
        return weight
    try:
        value = float(weight)
    except (TypeError, ValueError):
        raise TypeError(
            f"`deflation_weight` must be a positive number or None; got {type(weight).__name__}."
        ) from None
    if not (np.isfinite(value) and value > 0):
        raise ValueError(
            f"`deflation_weight` must be a finite positive number (the weight s of the trace "
            f"term s·tr(ρ)·E); got {value}. Leave it out for the default, a norm bound of L."
        )
    return np.asarray(value)  # an array: traced by the jit, one compilation for every value


def _project(lindbladian, solver, rho0, throw, truncation_tol, weight, kernel_dim):
    """``steady_state(..., degenerate="project")``: the state reached from ``rho0``."""
    from ._degenerate import kernel_dimension

    if rho0 is None:
        raise ValueError(
            "`degenerate='project'` needs the initial state `rho0`: with a degenerate kernel the "
            "steady state depends on where the evolution starts."
        )
    rho0 = _validate_rho0(rho0, lindbladian)
    if kernel_dim is None:
        kernel_dim = kernel_dimension(lindbladian)
    if isinstance(kernel_dim, bool) or not isinstance(kernel_dim, int | np.integer):
        raise TypeError(f"`kernel_dim` must be an integer; got {kernel_dim!r}.")
    kernel_dim = int(kernel_dim)
    size = int(lindbladian.physical_indices().size)
    if not 1 <= kernel_dim < size:
        raise ValueError(f"`kernel_dim` must be between 1 and {size - 1}; got {kernel_dim}.")
    tols = dict(residual_tol=solver.residual_tol, error_tol=solver.error_tol)
    checks = DenseLU(**tols)  # its tolerances (and memory estimate) only
    _check_memory(DeflatedProblem(lindbladian, jnp.ones((), real_dtype(lindbladian.dtype))), checks)
    truncation_tol = _validate_truncation_tol(truncation_tol)
    return _project_jit(lindbladian, checks, rho0, bool(throw), truncation_tol, weight, kernel_dim)


@eqx.filter_jit
def _project_jit(lindbladian, checks, rho0, throw, truncation_tol, weight, kernel_dim: int):
    from ._degenerate import project_onto_kernel

    problem = DeflatedProblem.build(lindbladian, weight)
    rho0 = rho0 / lindbladian.trace(rho0)
    raw, _ = project_onto_kernel(problem, rho0, kernel_dim)
    rho, stats, result = _check(problem, checks, raw, truncation_tol, projected=True)
    stats = eqx.tree_at(
        lambda s: s.kernel_dimension, stats, jnp.full(stats.residual.shape, kernel_dim, jnp.int32)
    )
    return _finish(rho, stats, result, throw, "KernelProjection", problem)


@eqx.filter_jit
def _steady_state_jit(
    lindbladian, solver, rho0, throw: bool, truncation_tol: float | None = None, weight=None
) -> SteadyStateSolution:
    """Compiled once per (shapes, solver configuration); inlined when called under an outer jit."""
    # L's coefficients computed once for the solver and the checks (`prepared`)
    problem = DeflatedProblem.build(lindbladian.prepared(), weight)
    raw = solver.solve(problem, rho0)
    rho, stats, result = _check(problem, solver, raw, truncation_tol)
    return _finish(rho, stats, result, throw, solver.name, problem)


def _finish(rho, stats, result, throw, name, problem) -> SteadyStateSolution:
    # A failed solve's ρ is not a steady state: its derivatives are NaN (qdiss._adjoint).
    # A truncated one is the steady state of the truncated model: its derivative is kept.
    failed = (result != RESULTS.successful) & (result != RESULTS.truncated)
    rho = poison_derivative(rho, failed)
    if throw:
        rho = result.error_if(rho, result != RESULTS.successful)
    return SteadyStateSolution(
        rho=rho,
        result=result,
        stats=stats,
        solver=name,
        state_shape=tuple(problem.state_shape),
        dims=tuple(getattr(problem.lindbladian, "dims", (problem.lindbladian.n,))),
    )


def _check(
    problem: DeflatedProblem,
    solver: AbstractSteadyStateSolver,
    raw: RawSolve,
    truncation_tol: float | None = None,
    projected: bool = False,
):
    """Shared post-solve checks: Hermitise, normalise, measure, and assign the result code."""
    dtype = problem.dtype
    default_res, default_err, non_unique_cond = default_tolerances(dtype)
    residual_tol = default_res if solver.residual_tol is None else solver.residual_tol
    error_tol = default_err if solver.error_tol is None else solver.error_tol
    eps = jnp.finfo(dtype).eps

    lindbladian = problem.lindbladian
    raw_rho = raw.rho
    trace = lindbladian.trace(raw_rho)
    rho = lindbladian.hermitian_part(raw_rho)
    rho = rho / jnp.where(trace == 0, 1.0, trace.real).astype(dtype)

    sg = jax.lax.stop_gradient
    r_rho, r_raw = sg(rho), sg(raw_rho)
    rho_norm = jnp.linalg.norm(r_rho)
    l_rho = lindbladian.mv(r_rho)
    residual = jnp.linalg.norm(l_rho) / (problem.norm_scale * rho_norm)
    raw_norm = jnp.linalg.norm(r_raw)
    herm_error = jnp.linalg.norm(r_raw - jnp.swapaxes(r_raw, -1, -2).conj()) / jnp.where(
        raw_norm > 0, raw_norm, 1.0
    )
    trace_error = jnp.abs(sg(trace) - 1)
    finite = jnp.all(jnp.isfinite(r_raw))
    safe_rho = jnp.where(finite, r_rho, problem.identity())
    min_eig = lindbladian.min_eigenvalue(safe_rho)
    min_eig = jnp.where(finite, min_eig, jnp.nan)

    inverse_norm = sg(raw.inverse_norm)
    known = ~jnp.isnan(inverse_norm)  # NaN: no estimate; inf: the solver found A singular
    condition = (problem.norm_scale + problem.scale) * inverse_norm  # ‖A‖ ≤ ‖L‖ + s
    # A(ρ) − b for the returned ρ: L(ρ) + s(tr ρ − 1)E; its norm bounds ‖A(ρ − ρ_ss)‖.
    e_norm = float(np.linalg.norm(lindbladian.identity_state()))
    trace_term = problem.scale * jnp.abs(lindbladian.trace(r_rho) - 1) * e_norm
    abs_residual = jnp.linalg.norm(l_rho) + trace_term
    error = jnp.where(known, inverse_norm * abs_residual / rho_norm, jnp.nan)
    psd_tol = 10 * jnp.where(known, error, error_tol) * rho_norm + 100 * eps

    # The code: the first rule that applies, in this order (shared by every solver, so that the
    # same problem gets the same code whichever solver ran):
    #  1. inputs: non-finite H / jump operators / rates -> nonfinite; H not Hermitian ->
    #     not_hermitian (traced inputs; concrete ones already raised at construction);
    #  2. structure: a closed system (no dissipation) with n >= 2 -> non_unique;
    #  3. a singular deflated operator (an exact zero pivot), or a condition estimate above
    #     1e-3/eps -> non_unique; a finite estimate even where the solver also failed (a
    #     numerically singular operator explains an iterative solver's stagnation);
    #  4. the solver's own failure code (convergence, stationarity...);
    #  5. the checks of the result: nonfinite, residual_too_large, inaccurate, not_positive.
    # (a projection onto a degenerate kernel accepts a closed system: rule 2 is off)
    closed = lindbladian.is_closed() if lindbladian.n >= 2 and not projected else jnp.array(False)
    # An infinite estimate only says that uniqueness could not be certified: it overrides a
    # successful solve, not the solver's own failure code.
    solver_ok = raw.result == RESULTS.successful
    singular = (raw.result == RESULTS.singular) | (
        known & (condition > non_unique_cond) & (solver_ok | jnp.isfinite(condition))
    )
    first = [
        (~lindbladian.inputs_finite(), RESULTS.nonfinite),
        (~lindbladian.hamiltonian_hermitian(), RESULTS.not_hermitian),
        (closed | singular, RESULTS.non_unique),
    ]
    result = raw.result
    ok = solver_ok
    decided = jnp.array(False)
    for failed, code in first:
        result = RESULTS.where(~decided & failed, code, result)
        decided = decided | failed
    ok = ok & ~decided
    checks = [
        (~finite, RESULTS.nonfinite),
        (~(residual <= residual_tol), RESULTS.residual_too_large),
        (known & ~(error <= error_tol), RESULTS.inaccurate),
        (min_eig < -psd_tol, RESULTS.not_positive),
    ]
    for failed, code in checks:
        result = RESULTS.where(ok & failed, code, result)
        ok = ok & ~failed

    # Truncation of declared bosonic modes: last, since ρ is then an accurate steady state of the
    # truncated model (NaN statistic, and no check, when no mode is declared).
    top_levels = lindbladian.top_level_populations(safe_rho)
    if top_levels.size:
        top_level = jnp.where(finite, jnp.max(top_levels), jnp.nan)
        tol = default_truncation_tol(dtype) if truncation_tol is None else truncation_tol
        result = RESULTS.where(ok & (top_level > tol), RESULTS.truncated, result)
    else:
        top_level = jnp.full((), jnp.nan)

    rdtype = real_dtype(dtype)
    stats = SteadyStateStats(
        residual=jnp.where(finite, residual, jnp.inf).astype(rdtype),
        num_steps=jnp.asarray(raw.num_steps, jnp.int32),
        trace_error=trace_error.astype(rdtype),
        min_eigenvalue=min_eig.astype(rdtype),
        hermiticity_error=herm_error.astype(rdtype),
        condition_estimate=condition.astype(rdtype),
        error_estimate=error.astype(rdtype),
        top_level_population=top_level.astype(rdtype),
        # 1 where the solve certified a unique steady state; -1 (unknown, > 1) where non-unique
        kernel_dimension=jnp.where(result == RESULTS.non_unique, -1, 1).astype(jnp.int32),
    )
    return rho, stats, result
