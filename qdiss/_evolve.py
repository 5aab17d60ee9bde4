r"""Time evolution of density matrices: trajectories of states and expectation values.

``qdiss.evolve`` integrates

    dρ/dt = f(t, ρ)

with diffrax, where f is either a qdiss Lindbladian (f(t, ρ) = L(ρ), its ``mv``) or any callable
``f(t, ρ)``: a time-dependent generator, or a *nonlinear* one such as a mean-field master
equation whose Hamiltonian depends on ⟨σ⁻⟩ (``qdiss.models.sync.MeanFieldSync``).

Everything is a plain diffrax solve of the real view (Re ρ, Im ρ) of the state (diffrax's complex
support is experimental), so ``jit``, ``vmap`` (over parameters, initial states, times) and
``grad`` pass through it. Reverse-mode derivatives use diffrax's
``RecursiveCheckpointAdjoint`` by default (exact derivative of the numerical solution, memory
O(log max_steps) states); any diffrax adjoint can be passed.

For the steady state itself use :func:`qdiss.steady_state` (``qdiss.Evolve()`` integrates to
stationarity and differentiates implicitly, which is cheaper than backpropagating through a long
trajectory).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, Int

from ._checks import check_concrete
from ._lindbladian import AbstractLindbladian
from ._numerics import complex_dtype, is_double, real_of, stack_operators
from ._solution import result_codes, result_name

__all__ = ["EvolveSolution", "evolve"]


class EvolveSolution(eqx.Module):
    """What :func:`qdiss.evolve` returns (every field batched under ``vmap``).

    - ``times``: the save times ``(T,)`` (the ``times`` argument).
    - ``states``: ρ(t) at every save time, ``(T, n, n)``; ``None`` with ``save_states=False``.
    - ``final_state``: ρ at ``times[-1]``, ``(n, n)`` (always saved).
    - ``expects``: tr(O_k ρ(t)), complex ``(k, T)``; ``None`` when no ``observables`` were given.
    - ``result``: a ``diffrax.RESULTS`` code (``diffrax.RESULTS.successful`` on success; e.g.
      ``max_steps_reached`` with ``throw=False``). Entries after a failure are not meaningful.
    - ``num_steps``, ``num_accepted_steps``, ``num_rejected_steps``: step counts of the solver.
    """

    times: Float[Array, " T"]
    states: Complex[Array, "T n n"] | None
    final_state: Complex[Array, "n n"]
    expects: Complex[Array, "k T"] | None
    result: diffrax.RESULTS
    num_steps: Int[Array, ""]
    num_accepted_steps: Int[Array, ""]
    num_rejected_steps: Int[Array, ""]

    @property
    def succeeded(self) -> Array:
        """Boolean array: True where the integration succeeded."""
        return self.result == diffrax.RESULTS.successful

    @property
    def status(self) -> str:
        """The result code's name, e.g. ``"successful"`` (concrete, unbatched solutions only)."""
        return result_name(int(result_codes(self.result)), diffrax.RESULTS)


def _to_real(x: Array) -> Array:
    return jnp.stack([jnp.real(x), jnp.imag(x)])


def _to_complex(y: Array) -> Array:
    return jax.lax.complex(y[0], y[1])


def _stack_observables(observables, n: int, dtype) -> Array | None:
    if observables is None:
        return None
    observables = stack_operators(observables, "observables", n=n, size_of="rho0", single=True)
    return None if observables is None else observables.astype(dtype)


def _initial_state(rho0, dtype) -> Array:
    rho0 = jnp.asarray(rho0)
    if rho0.ndim == 1:  # a ket |ψ⟩ → |ψ⟩⟨ψ|
        psi = rho0.astype(dtype)
        return jnp.outer(psi, psi.conj())
    if rho0.ndim != 2 or rho0.shape[0] != rho0.shape[1]:
        raise ValueError(
            f"`rho0` must be a density matrix (n, n) or a ket (n,); got shape {rho0.shape}."
        )
    return rho0.astype(dtype)


def _state_dtype(generator, rho0) -> Any:
    if isinstance(generator, AbstractLindbladian):
        return generator.dtype
    return complex_dtype(jnp.asarray(rho0))


def evolve(
    generator: AbstractLindbladian | Callable[[Array, Array], Array],
    rho0,
    times,
    *,
    observables=None,
    save_states: bool = True,
    solver: diffrax.AbstractSolver | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 100_000,
    dt0: float | None = None,
    adjoint: diffrax.AbstractAdjoint | None = None,
    throw: bool = True,
) -> EvolveSolution:
    r"""Integrate dρ/dt = f(t, ρ) from ``times[0]`` to ``times[-1]``, saving at ``times``.

    **Arguments:**

    - ``generator``: a qdiss Lindbladian (any :class:`qdiss.AbstractLindbladian`; then
      f(t, ρ) = L(ρ) = −i[H, ρ] + Σ_k D[L_k]ρ), or a callable ``f(t, ρ) -> dρ/dt`` taking and
      returning complex ``(n, n)`` arrays (time-dependent or nonlinear generators; an
      ``equinox.Module`` with ``__call__(self, t, rho)`` keeps its parameters differentiable).
    - ``rho0``: the initial density matrix ``(n, n)`` or a ket ``(n,)`` (taken as |ψ⟩⟨ψ|).
    - ``times``: increasing save times ``(T,)``; the integration runs from ``times[0]``.
    - ``observables``: optional operators O_k (an ``(n, n)`` array, a list or a ``(k, n, n)``
      array); ``expects[k, i] = tr(O_k ρ(times[i]))``, computed during the solve.
    - ``save_states``: keep ρ at every save time (``False``: only ``final_state``, memory O(n²)).
    - ``solver``: a diffrax solver (default ``diffrax.Tsit5()``; ``diffrax.Dopri8()`` pays off
      at tolerances ≲ 1e-10; implicit solvers such as ``diffrax.Kvaerno5()`` for stiff problems).
    - ``rtol``, ``atol``: step-size controller tolerances (defaults 1e-8 / 1e-10 in float64,
      1e-5 / 1e-7 in float32), on the real and imaginary parts of ρ.
    - ``max_steps``: the most solver steps (finite: reverse mode checkpoints against it).
    - ``dt0``: initial step (default: chosen by diffrax).
    - ``adjoint``: a diffrax adjoint (default ``diffrax.RecursiveCheckpointAdjoint()``).
    - ``throw``: raise if the integration fails (``False``: return the code in ``result``, as
      needed inside ``vmap`` sweeps where one point must not kill the batch).

    **Returns:** an :class:`EvolveSolution`.

    Works under ``jit``, ``vmap`` and ``grad`` with respect to everything in the generator, the
    initial state and the observables.
    """
    dtype = _state_dtype(generator, rho0)
    rho0 = _initial_state(rho0, dtype)
    n = rho0.shape[0]
    if isinstance(generator, AbstractLindbladian):
        if generator.n != n:
            raise ValueError(
                f"`rho0` has dimension {n} but the Lindbladian acts on dimension {generator.n}."
            )
    elif not callable(generator):
        raise TypeError(
            "`generator` must be a qdiss Lindbladian or a callable f(t, rho) -> drho/dt; got "
            f"{type(generator).__name__}."
        )
    times = jnp.asarray(times)
    if times.ndim != 1 or times.shape[0] < 1:
        raise ValueError(f"`times` must be a non-empty 1-D array; got shape {times.shape}.")
    rdtype = real_of(dtype)
    times = times.astype(rdtype)
    check_concrete(~jnp.all(jnp.diff(times) > 0), "`times` must be strictly increasing.")
    observables = _stack_observables(observables, n, dtype)
    if max_steps is None or max_steps < 1:
        raise ValueError(f"`max_steps` must be a positive integer; got {max_steps}.")
    double = is_double(dtype)
    rtol = rtol if rtol is not None else (1e-8 if double else 1e-5)
    atol = atol if atol is not None else (1e-10 if double else 1e-7)
    if solver is None:
        solver = diffrax.Tsit5()
    elif not isinstance(solver, diffrax.AbstractSolver):
        raise TypeError(f"`solver` must be a diffrax solver; got {type(solver).__name__}.")
    if adjoint is None:
        adjoint = diffrax.RecursiveCheckpointAdjoint()
    return _evolve(
        generator,
        rho0,
        times,
        observables,
        solver,
        adjoint,
        save_states=save_states,
        rtol=rtol,
        atol=atol,
        max_steps=int(max_steps),
        dt0=dt0,
        throw=throw,
    )


@eqx.filter_jit
def _evolve(
    generator, rho0, times, observables, solver, adjoint, *, save_states, rtol, atol, max_steps,
    dt0, throw,
) -> EvolveSolution:  # fmt: skip
    if isinstance(generator, AbstractLindbladian):

        def rhs(t, rho):
            return generator.mv(rho)
    else:
        rhs = generator

    def vector_field(t, y, args):
        return _to_real(rhs(t, _to_complex(y)))

    subs = []
    if save_states:
        subs.append(diffrax.SubSaveAt(ts=times, fn=lambda t, y, args: _to_complex(y)))
    if observables is not None:

        def expect(t, y, args):
            return jnp.einsum("kij,ji->k", observables, _to_complex(y))

        subs.append(diffrax.SubSaveAt(ts=times, fn=expect))
    subs.append(diffrax.SubSaveAt(t1=True, fn=lambda t, y, args: _to_complex(y)))

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        solver,
        t0=times[0],
        t1=times[-1],
        dt0=dt0,
        y0=_to_real(rho0),
        saveat=diffrax.SaveAt(subs=subs),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        adjoint=adjoint,
        max_steps=max_steps,
        throw=throw,
    )
    ys = list(sol.ys)
    states = ys.pop(0) if save_states else None
    expects = ys.pop(0).T if observables is not None else None
    final_state = ys.pop(0)[-1]
    return EvolveSolution(
        times=times,
        states=states,
        final_state=final_state,
        expects=expects,
        result=sol.result,
        num_steps=sol.stats["num_steps"],
        num_accepted_steps=sol.stats["num_accepted_steps"],
        num_rejected_steps=sol.stats["num_rejected_steps"],
    )
