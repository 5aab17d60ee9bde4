"""The entry point ``periodic_steady_state``: input checks, the default solver, the implicit
linear solve through the chosen solver and the checks and diagnostics of the result."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._adjoint import poison_derivative
from .._lindbladian import AbstractLindbladian
from .._numerics import is_concrete, real_dtype
from .._operator import DeflatedProblem
from .._pseudo_inverse import _implicit
from .._solution import RESULTS
from .._solve import default_tolerances
from .._solver._abstract import estimate_inverse_norm
from ._abstract import AbstractFloquetSolver, _dense_state_only
from ._solution import PeriodicSteadyState, PeriodicSteadyStateStats
from ._system import (
    DENSE_LIMIT,
    FULL_LU_LIMIT,
    FourierSystem,
    _drive_stack,
    _jump_drive_stack,
)
from .continued_fraction import FloquetContinuedFraction
from .krylov import FloquetKrylov
from .lu import FloquetLU


def default_floquet_solver(system: FourierSystem) -> AbstractFloquetSolver:
    """:class:`FloquetContinuedFraction` for one drive harmonic and a dense state of at most
    ``DENSE_LIMIT`` unknowns per harmonic; :class:`FloquetLU` for several harmonics up to
    ``FULL_LU_LIMIT`` unknowns in all; else :class:`FloquetKrylov`."""
    tridiagonal = system.drives.shape[0] == 1 and system.jump_drives is None
    if tridiagonal and system.block_size <= DENSE_LIMIT:
        return FloquetContinuedFraction()
    if system.size <= FULL_LU_LIMIT:
        return FloquetLU()
    return FloquetKrylov()


def _condition_estimate(system: FourierSystem, solver: AbstractFloquetSolver, state) -> Array:
    """‖A‖·‖A⁻¹‖ (``PeriodicSteadyStateStats.condition_estimate``), NaN when not estimated."""
    rdtype = real_dtype(system.dtype)
    iterations = solver.condition_iterations()
    if iterations == 0:
        return jnp.full((), jnp.nan, rdtype)
    state = jax.lax.stop_gradient(state)
    rdtype_start = real_dtype(system.dtype)
    key_re, key_im = jax.random.split(jax.random.key(1234))
    start = jax.lax.complex(
        jax.random.normal(key_re, (system.size,), rdtype_start),
        jax.random.normal(key_im, (system.size,), rdtype_start),
    ).astype(system.dtype)
    start = start / jnp.linalg.norm(start).astype(start.dtype)

    def adjoint(v):  # A⁻ᴴv = conj(A⁻ᵀ conj v)
        return solver.transpose_solve(state, v.conj())[0].conj()

    inverse_norm = estimate_inverse_norm(
        lambda v: solver.solve(state, v)[0], adjoint, start, iterations
    )
    return (system.norm_bound() * inverse_norm).astype(rdtype)


# -- the entry point ---------------------------------------------------------------------------


def periodic_steady_state(
    lindbladian: AbstractLindbladian,
    drives,
    omega,
    *,
    harmonics: int = 5,
    jump_drives=None,
    solver: AbstractFloquetSolver | None = None,
    truncation_tol: float = 1e-6,
    throw: bool = True,
) -> PeriodicSteadyState:
    r"""The asymptotic periodic state of L₀ driven by H(t) = H₀ + Σ_m (H_m e^{imωt} + h.c.).

    Solves (L₀ − ikω)ρ_k + Σ_m (L_mρ_{k−m} + L_{−m}ρ_{k+m}) = 0 for |k| ≤ K, L_mρ = −i[H_m, ρ],
    L_{−m}ρ = −i[H_m†, ρ], tr ρ₀ = 1 (the ``qdiss._floquet`` docstring), and returns
    ρ(t) = Σ_k ρ_k e^{ikωt} as a :class:`PeriodicSteadyState`.

    - ``lindbladian``: L₀, the undriven Lindbladian (H₀ and the jump operators), with dense
      ``(n, n)`` states (a ``qdiss.Lindbladian``; block representations raise ``ValueError``:
      a drive generally couples their blocks).
    - ``drives``: H₁, …, H_M: a list of ``(n, n)`` operators (arrays, QArrays, Qobjs) or an
      ``(M, n, n)`` array; H_m multiplies e^{imωt}. QuTiP's ``steadystate_fourier(H₀, c_ops,
      O, ω, n_it=K)`` (H₀ + O cos ωt) is ``drives=[O/2]``, ``harmonics=K``;
      QuantumToolbox.jl's ``steadystate_fourier(H₀, H_p, H_m, ω, c_ops; n_max=K)`` (H₀ +
      H_p e^{iωt} + H_m e^{−iωt}, the same harmonic equations) is ``drives=[H_p]`` with
      H_m = H_p†, and its list ρ̂₀, ρ̂₋₁, … is ``sol.harmonic(0)``, ``sol.harmonic(-1)``, ….
      An empty list when only ``jump_drives`` drive the system.
    - ``omega``: ω > 0 (differentiable). ``harmonics``: K ≥ 1, the harmonics kept.
    - ``jump_drives``: time-dependent jump operators added to L₀'s own,
      L_j(t) = Σ_{p=−P..P} c_{j,p} e^{ipωt}: a list of ``(2P + 1, n, n)`` arrays (index p + P
      holds c_{j,p}; rates folded in) or a ``(J, 2P + 1, n, n)`` array. Their dissipator adds
      Σ_{a,b} e^{i(a−b)ωt}(c_a ρ c_b† − ½{c_b†c_a, ρ}) (the a = b terms to the time average).
      E.g. a decay rate modulated as γ(t) = γ₀(1 + ε cos ωt)² is ``[√γ₀·stack([ε/2·a, a,
      ε/2·a])]``, with ``a`` not among L₀'s jump operators.
    - ``solver``: :class:`FloquetContinuedFraction`, :class:`FloquetLU` or :class:`FloquetKrylov`;
      ``None`` picks by size (``default_floquet_solver``).
    - ``truncation_tol``: the largest accepted ``stats.truncation`` (‖ρ_{±K}‖/‖ρ₀‖); above it
      the result is ``RESULTS.harmonics_truncated``: raise K.
    - ``throw``: raise on any result but ``successful`` (True), or return the code (False, for
      ``vmap`` sweeps).

    Differentiable (implicit rule) with respect to L₀'s parameters, the drives, the jump
    drives and ω; a failed
    solve (not ``successful`` nor ``harmonics_truncated``) has NaN derivatives. Works under
    ``jit`` and ``vmap`` (with a concrete K).

    Example (a driven two-level atom, σ₋ decay, drive Ω cos ωt σₓ)::

        sm = jnp.array([[0, 0], [1, 0]], complex)  # |g⟩⟨e|, |e⟩ first (σ_z = +1)
        L0 = qdiss.Lindbladian(0.5 * w0 * sz, [jnp.sqrt(gamma) * sm])
        sol = qdiss.periodic_steady_state(L0, [0.5 * Omega * sx], w, harmonics=8)
        sol.expect(sm.conj().T @ sm)         # the time-averaged excited population
        sol.expect_at(sx, jnp.linspace(0, 2 * jnp.pi / w, 50))
    """
    if not isinstance(lindbladian, AbstractLindbladian):
        raise TypeError(
            "`lindbladian` must be a qdiss Lindbladian (e.g. `qdiss.Lindbladian(H0, jump_ops)`); "
            f"got {type(lindbladian).__name__}."
        )
    if isinstance(harmonics, bool) or not isinstance(harmonics, int | np.integer):
        raise ValueError(f"`harmonics` must be an integer K ≥ 1; got {harmonics!r}.")
    harmonics = int(harmonics)
    if harmonics < 1:
        raise ValueError(f"`harmonics` must be at least 1 (the kept |k| ≤ K); got {harmonics}.")
    if not float(truncation_tol) >= 0:
        raise ValueError(f"`truncation_tol` must be non-negative; got {truncation_tol}.")
    dtype = lindbladian.dtype
    stack = _drive_stack(drives, lindbladian.n, dtype)
    jump_stack = _jump_drive_stack(jump_drives, lindbladian.n, dtype)
    if stack.shape[0] == 0 and jump_stack is None:
        raise ValueError(
            "`drives` must hold at least one operator H_m (m = 1, 2, …), or `jump_drives` one "
            "time-dependent jump operator; without a drive the state is stationary: use "
            "`qdiss.steady_state`."
        )
    omega = jnp.asarray(omega)
    if omega.ndim != 0 or jnp.iscomplexobj(omega):
        raise ValueError(f"`omega` must be a real scalar; got shape {omega.shape}, {omega.dtype}.")
    omega = omega.astype(real_dtype(dtype))
    if is_concrete(omega) and not float(omega) > 0:
        raise ValueError(f"`omega` must be positive (the drive frequency ω); got {float(omega)}.")
    if solver is not None and not isinstance(solver, AbstractFloquetSolver):
        raise TypeError(
            "`solver` must be `qdiss.FloquetContinuedFraction()`, `qdiss.FloquetLU()` or "
            f"`qdiss.FloquetKrylov()`; got {type(solver).__name__}."
        )
    _dense_state_only(lindbladian)
    problem = DeflatedProblem.build(lindbladian)
    system = FourierSystem(problem, stack, omega, harmonics, jump_stack)
    if solver is None:
        solver = default_floquet_solver(system)
    solver.check(system)
    return _solve_jit(system, solver, float(truncation_tol), bool(throw))


@eqx.filter_jit
def _solve_jit(system: FourierSystem, solver, truncation_tol: float, throw: bool):
    state = solver.prepare(system)
    b = system.pack(system.rhs())
    steps_box = []

    def forward(r):
        x, result, steps = solver.solve(state, r)
        steps_box.append(steps)
        return x, result

    def transpose(r):
        x, result, _ = solver.transpose_solve(state, r)
        return x, result

    x, result = _implicit(system.packed_mv, b, forward, transpose)
    num_steps = steps_box[0]
    condition = _condition_estimate(system, solver, state)

    sg = jax.lax.stop_gradient
    raw = system.unpack(x)
    x_fixed = sg(x)
    b_norm = jnp.linalg.norm(b)
    residual = jnp.linalg.norm(sg(system.packed_mv(x_fixed)) - b) / b_norm
    lindbladian = system.problem.lindbladian
    K = system.harmonics
    dtype = system.dtype

    # impose ρ_{−k} = ρ_k† and tr ρ₀ = 1
    mirrored = jnp.swapaxes(raw[::-1], -1, -2).conj()
    raw_fixed = sg(raw)
    raw_norm = jnp.linalg.norm(raw_fixed)
    herm_error = jnp.linalg.norm(raw_fixed - sg(mirrored)) / jnp.where(raw_norm > 0, raw_norm, 1)
    trace = lindbladian.trace(raw[K])
    rho = 0.5 * (raw + mirrored)
    rho = rho / jnp.where(trace == 0, 1.0, jnp.real(trace)).astype(dtype)
    trace_error = jnp.abs(sg(trace) - 1)

    rho_fixed = sg(rho)
    norms = jnp.sqrt(jnp.sum(jnp.abs(rho_fixed) ** 2, axis=tuple(range(1, rho.ndim))))
    centre = jnp.where(norms[K] > 0, norms[K], 1.0)
    harmonic_norms = norms / centre
    truncation = jnp.maximum(harmonic_norms[0], harmonic_norms[-1])
    finite = jnp.all(jnp.isfinite(x_fixed))
    safe = jnp.where(finite, rho_fixed[K], system.problem.identity())
    min_eig = lindbladian.min_eigenvalue(safe)
    min_eig = jnp.where(finite, min_eig, jnp.nan)

    eps = float(jnp.finfo(dtype).eps)
    residual_tol = 1e-8 if eps < 1e-10 else 1e-3
    _, _, non_unique_cond = default_tolerances(dtype)
    closed = lindbladian.is_closed() if lindbladian.n >= 2 else jnp.array(False)
    if system.jump_drives is not None:
        closed = closed & jnp.all(system.jump_drives == 0)
    singular = (result == RESULTS.singular) | (condition > non_unique_cond)
    inputs_finite = lindbladian.inputs_finite() & jnp.all(jnp.isfinite(system.drives))
    if system.jump_drives is not None:
        inputs_finite = inputs_finite & jnp.all(jnp.isfinite(system.jump_drives))
    first = [
        (~inputs_finite, RESULTS.nonfinite),
        (~lindbladian.hamiltonian_hermitian(), RESULTS.not_hermitian),
        (closed | singular, RESULTS.non_unique),
    ]
    decided = jnp.array(False)
    for failed, code in first:
        result = RESULTS.where(~decided & failed, code, result)
        decided = decided | failed
    ok = (result == RESULTS.successful) & ~decided
    checks = [
        (~finite, RESULTS.nonfinite),
        (~(residual <= residual_tol), RESULTS.residual_too_large),
    ]
    for failed, code in checks:
        result = RESULTS.where(ok & failed, code, result)
        ok = ok & ~failed
    result = RESULTS.where(ok & (truncation > truncation_tol), RESULTS.harmonics_truncated, result)

    failed = (result != RESULTS.successful) & (result != RESULTS.harmonics_truncated)
    rho = poison_derivative(rho, failed)
    if throw:
        rho = result.error_if(rho, result != RESULTS.successful)
    rdtype = real_dtype(dtype)
    stats = PeriodicSteadyStateStats(
        residual=jnp.where(finite, residual, jnp.inf).astype(rdtype),
        num_steps=jnp.asarray(num_steps, jnp.int32),
        trace_error=trace_error.astype(rdtype),
        hermiticity_error=herm_error.astype(rdtype),
        min_eigenvalue=min_eig.astype(rdtype),
        truncation=truncation.astype(rdtype),
        harmonic_norms=harmonic_norms.astype(rdtype),
        condition_estimate=condition.astype(rdtype),
    )
    return PeriodicSteadyState(rho, system.omega, result, stats, solver.name)
