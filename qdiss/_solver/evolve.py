r"""Steady state by integrating the master equation to stationarity (diffrax)."""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._operator import DeflatedProblem
from .._solution import RESULTS, real_dtype
from ._abstract import AbstractSteadyStateSolver, RawSolve
from .krylov import Krylov

__all__ = ["Evolve"]


class Evolve(AbstractSteadyStateSolver):
    r"""Integrate dρ/dt = L(ρ) with diffrax until ρ stops changing; differentiate implicitly.

    **Method.** Starting from ``rho0`` (Hermitised and normalised to unit trace; the maximally
    mixed state I/n when not given or when its trace is not positive), the master equation
    dρ/dt = L(ρ) is integrated with an adaptive diffrax solver until the stationarity event

        ‖L(ρ)‖_F / (s‖ρ‖_F) ≤ ``stationarity_tol``,     s = ‖L‖ (``problem.norm_scale``),

    fires. A :class:`Krylov` solve of the deflated system (``gradient_solver``), warm-started at
    the evolved state, follows: a few dozen matrix products next to the integration.

    **The value (issue 11).** When that linear solve converges (lineax success, finite), ρ is
    the linear solution ρ_lin: it resolves small populations to working precision (a cold
    oscillator's ρ₁₁ = 1e-10 exactly, where the evolved state, accurate to ~``stationarity_tol``
    in absolute terms, gave 1.017e-10). Otherwise ρ is the evolved state, with the linear
    solve's failure code. The evolved state stays the cross-check:

    - *Stationarity*: if the event has not fired by ``t_max`` or within ``max_steps`` steps, the
      result is ``RESULTS.not_stationary`` (whatever the linear solve did).
    - *Agreement*: for every trajectory end ρ_ev (trace-normalised) the difference
      v = ρ_ev − ρ_lin, made trace-free, gives ‖v‖/‖L(v)‖ ≤ ‖A⁻¹‖ (A(v) = L(v) for trace-zero
      v). These lower bounds, dominated by the slowest decaying mode, enter the driver's
      condition and error estimates: a disagreement that the two residuals cannot explain shows
      as ``inaccurate`` or ``non_unique`` by the shared rule of :func:`qdiss.steady_state`, so
      nearly decoupled blocks get the same code as from the other solvers.
    - *Uniqueness*: the gradient solver's certificate (Krylov's ``check_uniqueness``, on by
      default; inf where it cannot certify, reported as ``RESULTS.non_unique``). Then one
      trajectory is evolved. With ``gradient_solver=Krylov(check_uniqueness=False)`` a second,
      fixed pseudo-random pure state is evolved as well (the two trajectories ``vmap``-ed); if
      their trace-normalised ends differ by more than ``uniqueness_tol`` (relative to ‖ρ‖_F)
      the steady state is reported as non-unique, and their difference adds another bound.
      (The second trajectory is what made the cold oscillator of issue 11, n = 30, run 10⁵
      steps: its coherences oscillate at up to (n − 1)π and decay at 0.05.)
    - *Non-finite values*: a non-finite L(ρ) stops the integration and ρ is returned as NaN, for
      the driver to report ``RESULTS.nonfinite``.

    **Gradients.** The integration sees the Lindbladian through ``stop_gradient`` (nothing is
    backpropagated through diffrax). The derivative is always the linear solve's, lineax's
    implicit ρ' = A⁻¹(−A'ρ) (forward mode one GMRES per tangent, reverse mode one transposed
    GMRES): ρ = ρ_lin when it converged, else stop_gradient(ρ_evolved) + (ρ_lin −
    stop_gradient(ρ_lin)) with the failure code (the derivative would be wrong).

    **Cost.** One trajectory (two without the certificate) of O(n³) matrix products per stage;
    an explicit solver takes steps limited by stability near the end, so the number of steps
    grows like (‖L‖/gap)·log(1/``stationarity_tol``), gap being the slowest relaxation rate.
    Memory O(n²): no superoperator is formed and nothing is stored along the trajectory. Typical
    small problems (n ≤ 25, ‖L‖/gap ≲ 300) take 100–500 steps in float64 (Dopri8) and 50–150 in
    float32 (Tsit5).

    **When to use it.** On GPUs, for large n where even GMRES struggles to precondition, and as
    an independent check of another solver. Prefer :class:`DenseLU` / :class:`Krylov` for very
    stiff problems (decay rates spread over many orders of magnitude, ‖L‖/gap ≳ 10⁵), where an
    explicit integrator needs too many steps; pass ``ode_solver=diffrax.Kvaerno5()`` there at
    small n (an implicit solver forms and factorises the 2n² × 2n² Jacobian).

    **Fields:**

    - ``t_max``: the integration horizon. ``None`` (default): 10³/γ_min, where γ_min is the
      smallest nonzero decay rate ½(Σ L_k†L_k)_ii of the H_eff diagonal, a cheap guess of the
      slowest relaxation rate (relaxation to 1e-12 takes ~28/gap, so this allows a gap ~35 times
      smaller than γ_min; problems with a much slower mode, e.g. Zeno-suppressed transitions,
      need an explicit ``t_max``). A float sets it directly (in the units of 1/L).
    - ``rtol``, ``atol``: the step-size controller's tolerances. Near stationarity an explicit
      integrator runs at its stability limit and leaves the stiff modes at about the tolerance
      level; this sets the floor of the reachable residual, so they must be well below
      ``stationarity_tol`` (with both at 1e-12, the old defaults, the event could not fire and
      the integration ran to ``max_steps``). Defaults: 1e-10 / 1e-12 in float64 (100 times
      below the stationarity tolerance), 1e-6 / 1e-8 in float32.
    - ``stationarity_tol``: the event's relative residual (above). Defaults: 1e-8 in float64,
      1e-5 in float32. The value comes from the linear solve, so the evolution only has to
      get close enough to warm-start it and to cross-check it.
    - ``uniqueness_tol``: largest relative difference between the two final states that is still
      a unique steady state (used only without the linear solve's certificate). Default
      √``stationarity_tol`` (1e-4 in float64, 3e-3 in float32):
      between the ~cond·``stationarity_tol`` of a unique problem and the O(1) of a non-unique one.
    - ``max_steps``: the most ODE steps per trajectory (default 100 000).
    - ``ode_solver``: a diffrax solver. ``None`` (default): ``diffrax.Dopri8()`` in float64 and
      ``diffrax.Tsit5()`` in float32. Lindbladians are mildly stiff (‖L‖/gap ~ 10–10³), so
      explicit Runge–Kutta with matrix-free O(n³) stages beats implicit solvers, which need a
      dense Jacobian; at the tight float64 tolerances the eighth-order Dopri8 needs 4–6 times
      fewer steps than Tsit5 (about 2.5 times fewer evaluations of L), at float32 tolerances both
      are alike and Tsit5 is the cheaper per step.
    - ``gradient_solver``: the :class:`Krylov` solver of the value and of the implicit
      derivative (default ``Krylov()``, whose uniqueness check certifies uniqueness above).
    - ``residual_tol``, ``error_tol``: the driver's checks, defaults as for every solver
      (1e-10 / 1e-6 in float64, 1e-4 / 1e-2 in float32); the defaults above meet them.

    ``num_steps`` counts ODE steps (accepted and rejected) of the longest trajectory.
    """

    t_max: float | None = None
    rtol: float | None = None
    atol: float | None = None
    stationarity_tol: float | None = None
    uniqueness_tol: float | None = None
    max_steps: int = 100_000
    ode_solver: diffrax.AbstractSolver | None = None
    gradient_solver: Krylov = Krylov()
    residual_tol: float | None = None
    error_tol: float | None = None

    def __check_init__(self):
        for name in ("t_max", "rtol", "atol", "stationarity_tol", "uniqueness_tol"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"`{name}` must be positive; got {value}.")
        if self.max_steps < 1:
            raise ValueError(f"`max_steps` must be at least 1; got {self.max_steps}.")
        if self.ode_solver is not None and not isinstance(self.ode_solver, diffrax.AbstractSolver):
            raise TypeError(
                f"`ode_solver` must be a diffrax solver; got {type(self.ode_solver).__name__}."
            )

    def _settings(self, dtype) -> tuple[float, float, float, float, diffrax.AbstractSolver]:
        """(rtol, atol, stationarity_tol, uniqueness_tol, ode_solver) for a complex dtype."""
        double = float(jnp.finfo(dtype).eps) < 1e-10
        pick = lambda value, f64, f32: value if value is not None else (f64 if double else f32)  # noqa: E731
        rtol = pick(self.rtol, 1e-10, 1e-6)
        atol = pick(self.atol, 1e-12, 1e-8)
        stationarity_tol = pick(self.stationarity_tol, 1e-8, 1e-5)
        uniqueness_tol = pick(self.uniqueness_tol, stationarity_tol**0.5, stationarity_tol**0.5)
        ode_solver = pick(self.ode_solver, diffrax.Dopri8(), diffrax.Tsit5())
        return rtol, atol, stationarity_tol, uniqueness_tol, ode_solver

    def solve(self, problem: DeflatedProblem, rho0: Array | None) -> RawSolve:
        dtype = problem.dtype
        rdtype = real_dtype(dtype)
        rtol, atol, stationarity_tol, uniqueness_tol, ode_solver = self._settings(dtype)
        sg = jax.lax.stop_gradient
        lindbladian = sg(problem.lindbladian)
        scale = sg(problem.norm_scale)  # ‖L‖, whatever the deflation weight

        # With the linear solve's uniqueness certificate (the default) one trajectory suffices;
        # without it a second one, from a fixed pseudo-random pure state, checks uniqueness.
        two = not self.gradient_solver.check_uniqueness
        first = _first_state(rho0, problem)
        starts = jnp.stack([first, _random_pure_state(problem)]) if two else first[None]
        t_max = self._t_max(lindbladian, scale, rdtype)

        def relative_residual(rho):
            return jnp.linalg.norm(lindbladian.mv(rho)) / (scale * jnp.linalg.norm(rho))

        # diffrax's complex support is experimental: integrate the (2, n, n) real view.
        def vector_field(t, y, args):
            return _to_real(lindbladian.mv(_to_complex(y)))

        def stationary(t, y, args, **kwargs):
            residual = relative_residual(_to_complex(y))
            return (residual <= stationarity_tol) | ~jnp.isfinite(residual)

        def evolve(start):
            sol = diffrax.diffeqsolve(
                diffrax.ODETerm(vector_field),
                ode_solver,
                t0=jnp.zeros((), rdtype),
                t1=t_max,
                dt0=None,
                y0=_to_real(start),
                stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
                event=diffrax.Event(stationary),
                saveat=diffrax.SaveAt(t1=True),
                max_steps=self.max_steps,
                adjoint=diffrax.ForwardMode(),  # nothing to differentiate: a plain while loop
                throw=False,
            )
            reached = sol.result == diffrax.RESULTS.event_occurred
            return _to_complex(sol.ys[-1]), reached, sol.stats["num_steps"]

        finals, reached, steps = jax.vmap(evolve)(starts)

        traces = jax.vmap(lindbladian.trace)(finals)
        safe_traces = jnp.where(traces == 0, 1.0, traces)
        normed = finals / safe_traces.reshape(-1, *([1] * (finals.ndim - 1)))
        rho_evolved = finals[0]

        # The linear solve (warm-started at the evolved state) gives the value when it converges,
        # and the implicit derivative in every case.
        linear = self.gradient_solver.solve(problem, rho_evolved)
        rho_lin = linear.rho
        linear_finite = jnp.all(jnp.isfinite(sg(rho_lin)))
        linear_ok = (linear.result == RESULTS.successful) & linear_finite
        lin_trace = lindbladian.trace(sg(rho_lin))
        lin_normed = sg(rho_lin) / jnp.where(lin_trace == 0, 1.0, lin_trace)

        # Cross-checks. For a trace-zero v, A(v) = L(v), so ‖v‖/‖L(v)‖ ≤ ‖A⁻¹‖: the differences
        # between the two trajectories' ends and between each end and the linear solution are
        # lower bounds (dominated by the slowest mode) on ‖A⁻¹‖ for the driver's estimates.
        def bound_of(diff):
            diff = diff - lindbladian.trace(diff) * problem.identity()
            norm = jnp.linalg.norm(diff)
            l_norm = jnp.linalg.norm(lindbladian.mv(diff))
            return norm, norm / jnp.where(l_norm > 0, l_norm, 1.0)

        if two:
            diff_norm, bound = bound_of(normed[0] - normed[1])
            agree = diff_norm <= uniqueness_tol * jnp.linalg.norm(normed[0])
        else:
            bound, agree = jnp.zeros((), rdtype), jnp.array(True)
        for k in range(len(starts)):
            bound_k = bound_of(normed[k] - lin_normed)[1]
            bound = jnp.fmax(bound, jnp.where(linear_finite, bound_k, 0))
        # Uniqueness: the linear solver's certificate when it has one (inf where it could not
        # certify); otherwise (check switched off: NaN) the two trajectories must agree.
        certificate = linear.inverse_norm.astype(bound.dtype)
        uncertified = jnp.isnan(certificate) & ~agree
        inverse_norm = jnp.where(uncertified, jnp.inf, jnp.fmax(bound, certificate)).astype(rdtype)

        tangent_part = jnp.where(linear_finite, rho_lin - sg(rho_lin), jnp.zeros_like(rho_lin))
        rho = jnp.where(linear_ok, rho_lin, rho_evolved + tangent_part)
        finite = jnp.isfinite(relative_residual(rho_evolved))
        rho = jnp.where(finite, rho, jnp.full_like(rho, jnp.nan))

        # Order: not stationary > the linear solve's failure > successful.
        result = RESULTS.where(jnp.all(reached), linear.result, RESULTS.not_stationary)
        return RawSolve(
            rho=rho,
            result=result,
            num_steps=jnp.max(steps).astype(jnp.int32),
            inverse_norm=inverse_norm,
        )

    def _t_max(self, lindbladian, scale: Array, rdtype) -> Array:
        """``t_max``, or 10³ over the smallest nonzero decay rate on the H_eff diagonal."""
        if self.t_max is not None:
            return jnp.asarray(self.t_max, rdtype)
        h_eff = lindbladian.effective_hamiltonian()
        rates = -jnp.imag(jnp.diagonal(h_eff, axis1=-2, axis2=-1))  # ½ (Σ L†L)_ii (0: padding)
        largest = jnp.max(rates)
        nonzero = rates > 1e-8 * largest
        slowest = jnp.min(jnp.where(nonzero, rates, jnp.inf))
        # No decay at all (a closed system): fall back to the norm scale.
        slowest = jnp.where(jnp.isfinite(slowest) & (slowest > 0), slowest, scale)
        return (1e3 / slowest).astype(rdtype)


def _to_complex(y: Array) -> Array:
    return jax.lax.complex(y[0], y[1])


def _to_real(x: Array) -> Array:
    return jnp.stack([jnp.real(x), jnp.imag(x)])


def _first_state(rho0: Array | None, problem: DeflatedProblem) -> Array:
    """``rho0`` Hermitised and normalised, or E (I/n for a dense ρ) when absent or when its
    trace is not positive."""
    lindbladian = problem.lindbladian
    mixed = problem.identity()
    if rho0 is None:
        return mixed
    rho0 = jax.lax.stop_gradient(rho0)
    padding = lindbladian.padding_mask()
    if padding is not None:
        rho0 = jnp.where(jnp.asarray(padding), 0, rho0)
    rho0 = lindbladian.hermitian_part(rho0)
    trace = jnp.real(lindbladian.trace(rho0))
    good = (trace > 0) & jnp.all(jnp.isfinite(rho0))
    return jnp.where(good, rho0 / jnp.where(good, trace, 1.0).astype(problem.dtype), mixed)


def _random_pure_state(problem: DeflatedProblem) -> Array:
    """A fixed pseudo-random state (the uniqueness check's second start): |ψ⟩⟨ψ| for a dense ρ,
    a random pure state in every block (weights ∝ their norms) for a stack of blocks."""
    lindbladian = problem.lindbladian
    dtype = problem.dtype
    rdtype = real_dtype(dtype)
    shape = tuple(problem.state_shape[:-1])
    key_re, key_im = jax.random.split(jax.random.key(2718))
    psi = jax.lax.complex(
        jax.random.normal(key_re, shape, rdtype), jax.random.normal(key_im, shape, rdtype)
    )
    padding = lindbladian.padding_mask()
    if padding is not None:
        psi = jnp.where(jnp.asarray(np.diagonal(padding, axis1=-2, axis2=-1)), 0, psi)
    rho = psi[..., :, None] * psi[..., None, :].conj()
    return (rho / lindbladian.trace(rho)).astype(dtype)
