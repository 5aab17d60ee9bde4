"""Result codes and the steady-state solution record."""

from __future__ import annotations

from collections import Counter

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
from jaxtyping import Array, Complex, Float, Int

from ._numerics import (
    is_concrete,
    real_dtype as real_dtype,  # re-exported for its importers
)

__all__ = ["RESULTS", "SteadyStateSolution", "SteadyStateStats"]


class _ResultsMeta(type(lx.RESULTS)):
    """The metaclass of :class:`RESULTS`: equinox's enumeration metaclass with ``RESULTS[code]``
    giving the code's name as well as its message. An item's ``repr`` (what ``print`` shows)
    is ``f"{module}.{class}<{RESULTS[item]}>"``, so this is what makes ``print(sol.result)``
    show ``qdiss.RESULTS<non_unique: The steady state is not unique …>`` instead of lineax's
    bare message (``qdiss.RESULTS<>`` for success). Only this class is affected."""

    def __getitem__(cls, item) -> str:
        """``"name: message"`` for one concrete code (``"successful"``: no message); for a
        batch of codes (``vmap`` outside ``jit``) the count of each name,
        ``"batch of 64: successful ×62, non_unique ×2"``; ``"traced"`` for a traced code."""
        text = super().__getitem__(item)  # checks the item; "traced" / "unknown"
        if item.is_traced():
            return text
        codes = np.asarray(result_codes(item))
        if codes.ndim == 0:
            code = int(codes)
            message = _message(cls, code)
            return f"{result_name(code, cls)}: {message}" if message else result_name(code, cls)
        names = {code: name for name, code in _codes(cls).items()}
        counts = Counter(names[int(c)] for c in codes.ravel())
        ranked = sorted(counts.items(), key=lambda kv: (kv[0] != "successful", -kv[1], kv[0]))
        shape = "×".join(str(d) for d in codes.shape)
        return f"batch of {shape}: " + ", ".join(f"{k} ×{v}" for k, v in ranked)


class RESULTS(lx.RESULTS, metaclass=_ResultsMeta):  # pyright: ignore[reportGeneralTypeIssues]
    """Result codes of :func:`qdiss.steady_state`: lineax's codes plus steady-state specific ones.

    ``RESULTS.successful`` is the only success. ``RESULTS[code]`` (and ``print(code)``) gives
    the code's name and message, ``"non_unique: The steady state is not unique …"``; read the
    message alone from ``SteadyStateSolution.message``.
    """

    __module__ = "qdiss"  # its public home: items print as ``qdiss.RESULTS<…>``

    successful = ""
    non_unique = (
        "The steady state is not unique (or, at this precision, cannot be told apart from a "
        "non-unique one): the deflated Liouvillian is numerically singular. The system has a "
        "conserved quantity or a dark subspace (e.g. a singlet decoupled from a collective "
        "bath). Break the symmetry, or restrict the problem to one symmetry sector."
    )
    residual_too_large = (
        "The steady-state residual ‖L(ρ)‖/(‖L‖‖ρ‖) is above the solver's `residual_tol`. "
        "Tighten the solver tolerances, raise `max_steps`, use float64, or use a direct solver."
    )
    inaccurate = (
        "The residual is small but the problem is ill-conditioned: the estimated relative error "
        "‖A⁻¹‖·‖residual‖/‖ρ‖ of ρ exceeds the solver's `error_tol`. Use float64 or a direct "
        "solver; the steady state may be close to non-unique."
    )
    nonfinite = (
        "The Lindbladian's inputs or the solver's output hold non-finite (NaN or inf) values: "
        "a traced H, jump operator or rate (concrete ones raise ValueError when the Lindbladian "
        "is built), or a solver breakdown."
    )
    not_positive = (
        "The computed ρ has a negative eigenvalue larger than its error estimate allows: it "
        "is not a density matrix. The solve is inaccurate."
    )
    not_stationary = (
        "Time evolution did not reach stationarity before `t_max`: raise `t_max` or use a "
        "linear-solve solver."
    )
    not_hermitian = (
        "`H` must be Hermitian: max |H − H†| exceeds 1e-8·max(max |H|, 1). It was traced (under "
        "jit/vmap/grad), so this is reported here rather than as a ValueError when the "
        "Lindbladian was built. Pass a Hermitian Hamiltonian, e.g. (H + H†)/2."
    )
    truncated = (
        "A truncated bosonic mode holds too much population in its top Fock levels: "
        "`sol.stats.top_level_population` (the largest marginal population of the top two levels "
        "of a mode declared in `Lindbladian(..., modes=...)`) exceeds `truncation_tol`, so the "
        "steady state depends on the cutoff. Raise the mode's cutoff (Fock levels kept), or pass "
        "a larger `steady_state(..., truncation_tol=...)` if this truncation error is acceptable."
    )
    harmonics_truncated = (
        "The periodic steady state still has weight in its outermost Fourier harmonics: "
        "`stats.truncation` = max(‖ρ_K‖, ‖ρ_{−K}‖)/‖ρ₀‖ exceeds `truncation_tol`, so the result "
        "depends on the number of harmonics kept. Raise `harmonics` (K), or pass a larger "
        "`periodic_steady_state(..., truncation_tol=...)` if this error is acceptable."
    )


class SteadyStateStats(eqx.Module):
    """Diagnostics of a steady-state solve (all scalars, or batched under ``vmap``).

    - ``residual``: ‖L(ρ)‖_F / (‖L‖ ‖ρ‖_F), ‖L‖ from ``AbstractLindbladian.norm_bound``.
    - ``num_steps``: solver iterations (Krylov steps, ODE steps; 1 for direct solvers).
    - ``trace_error``: |tr ρ − 1| of the raw solve.
    - ``min_eigenvalue``: smallest eigenvalue of ρ (a steady state is positive semidefinite).
    - ``hermiticity_error``: ‖ρ − ρ†‖_F / ‖ρ‖_F of the raw solve (ρ is returned Hermitised).
    - ``condition_estimate``: estimate of the condition number of the deflated Liouvillian
      (NaN where a solver does not estimate it); ~1/eps means a non-unique steady state.
    - ``error_estimate``: estimated relative Frobenius error of ρ, ‖A⁻¹‖‖r‖/‖ρ‖ (NaN if unknown).
    - ``top_level_population``: the truncation diagnostic, max over the truncated modes m the
      Lindbladian declares (``modes``) of Σ_{k ≥ d_m − 2} p_m(k), the marginal population of the
      top two Fock levels of mode m (one level when d_m = 2), from the reduced diagonal of ρ
      (``AbstractLindbladian.top_level_populations``). NaN when no mode is declared. Above
      ``truncation_tol`` the result is ``RESULTS.truncated``.
    - ``kernel_dimension``: d = dim ker L. With ``steady_state(..., degenerate="project")`` the
      dimension used for the projection; otherwise 1 where the solve certified uniqueness and
      -1 (not determined, more than one) where the result is ``RESULTS.non_unique``.
    """

    residual: Float[Array, ""]
    num_steps: Int[Array, ""]
    trace_error: Float[Array, ""]
    min_eigenvalue: Float[Array, ""]
    hermiticity_error: Float[Array, ""]
    condition_estimate: Float[Array, ""]
    error_estimate: Float[Array, ""]
    top_level_population: Float[Array, ""] = eqx.field(default=float("nan"))
    kernel_dimension: Int[Array, ""] = eqx.field(default=1)


class SteadyStateSolution(eqx.Module):
    """What :func:`qdiss.steady_state` returns.

    - ``rho``: the steady state in the Lindbladian's representation (Hermitian, unit trace):
      the ``(n, n)`` density matrix for a :class:`qdiss.Lindbladian`, the padded blocks
      ``(N//2 + 1, N + 1, N + 1)`` of the total-spin decomposition for a
      :class:`qdiss.PermutationInvariantLindbladian` (map it to 2^N with its ``to_dense``).
    - ``result``: a :class:`RESULTS` code; ``sol.result == RESULTS.successful`` on success.
    - ``stats``: a :class:`SteadyStateStats`.
    - ``solver``: the name of the solver that produced it (static).
    - ``state_shape``: the shape of one state (static; ``rho`` has extra leading axes under
      ``vmap``).
    - ``dims``: the Hilbert-space subsystem dimensions of the Lindbladian (static; product n).

    Back to QuTiP and dynamiqs: :meth:`to_qutip`, :meth:`to_dynamiqs`, and :meth:`expect` for
    an operator given as an array, a QArray or a Qobj.
    """

    rho: Complex[Array, "..."]
    result: RESULTS
    stats: SteadyStateStats
    solver: str = eqx.field(static=True, default="")
    state_shape: tuple[int, ...] = eqx.field(static=True, default=())
    dims: tuple[int, ...] = eqx.field(static=True, default=())

    def dense_rho(self, lindbladian=None) -> Array:
        """ρ as an ``(n, n)`` matrix (a stack under ``vmap``). A block state (sectors,
        permutation-invariant blocks) needs its Lindbladian, whose ``to_dense`` maps it (one
        state at a time); ``ValueError`` without it."""
        if lindbladian is not None:
            lead = self.rho.shape[: self.rho.ndim - len(self.state_shape)]
            flat = self.rho.reshape(-1, *self.state_shape)
            dense = jax.vmap(lindbladian.to_dense)(flat)
            return dense.reshape(*lead, lindbladian.n, lindbladian.n)
        if len(self.state_shape) != 2:
            raise ValueError(
                f"this steady state is stored as blocks of shape {self.state_shape}: pass its "
                "Lindbladian, whose `to_dense` maps it to (n, n) (e.g. `sol.to_qutip(L)`)."
            )
        return self.rho

    def _dims(self, lindbladian) -> tuple[int, ...]:
        if lindbladian is not None:
            return tuple(getattr(lindbladian, "dims", (lindbladian.n,)))
        return self.dims or (int(self.rho.shape[-1]),)

    def to_qutip(self, lindbladian=None):
        """ρ as a QuTiP ``Qobj`` with ``dims=[dims, dims]`` (a list of them for a batch;
        concrete only). ``lindbladian``: for block states (:meth:`dense_rho`)."""
        from ._interop import to_qutip

        return to_qutip(self.dense_rho(lindbladian), self._dims(lindbladian))

    def to_dynamiqs(self, lindbladian=None):
        """ρ as a dynamiqs ``QArray`` with ``dims`` (batched for a batch; traceable, so usable
        inside ``jit``/``grad``). ``lindbladian``: for block states (:meth:`dense_rho`)."""
        from ._interop import to_dynamiqs

        return to_dynamiqs(self.dense_rho(lindbladian), self._dims(lindbladian))

    def expect(self, op, lindbladian=None) -> Array:
        """⟨A⟩ = tr(A ρ) (complex; ``jnp.real`` for a Hermitian A) for ``op`` an ``(n, n)`` array,
        a dynamiqs QArray or a QuTiP Qobj, or a stack ``(..., n, n)`` of operators; batched over a
        ``vmap``-ed solution's leading axes. Differentiable."""
        from ._interop import to_jax

        rho = self.dense_rho(lindbladian)
        op = jnp.asarray(to_jax(op))
        n = rho.shape[-1]
        if op.ndim < 2 or op.shape[-2:] != (n, n):
            raise ValueError(f"`op` must have shape (..., {n}, {n}); got {op.shape}.")
        op = op.astype(rho.dtype)
        return (
            jnp.einsum("...ij,...ji->...", op, rho)
            if op.ndim == 2
            else jnp.einsum("kij,...ji->...k", op.reshape(-1, n, n), rho).reshape(
                *rho.shape[:-2], *op.shape[:-2]
            )
        )

    @property
    def succeeded(self) -> Array:
        """Boolean array: True where the solve succeeded."""
        return self.result == RESULTS.successful

    @property
    def message(self) -> str:
        """Human-readable status (concrete, unbatched solutions only)."""
        return result_message(int(result_codes(self.result)))

    @property
    def status(self) -> str:
        """The result code's name, e.g. ``"successful"`` or ``"non_unique"`` (concrete only)."""
        return result_name(int(result_codes(self.result)))

    def __str__(self) -> str:
        codes = result_codes(self.result)
        if not is_concrete(codes):  # traced: nothing concrete to print
            return f"SteadyStateSolution(solver={self.solver!r}, <traced>)"
        codes = np.atleast_1d(np.asarray(codes))
        s = self.stats
        fmt = lambda x: np.array2string(np.asarray(x), precision=3)  # noqa: E731
        lines = [f"SteadyStateSolution from {self.solver or 'unknown solver'}"]
        if codes.size == 1:
            code = int(codes[0])
            lines.append(f"  status            : {result_name(code)}")
            if code != 0:
                lines.append(f"  message           : {result_message(code)}")
        else:
            ok = int(np.sum(codes == 0))
            lines.append(f"  status            : {ok}/{codes.size} successful")
        lines += [
            self._dimension_line(),
            f"  relative residual : {fmt(s.residual)}",
            f"  error estimate    : {fmt(s.error_estimate)}",
            f"  condition number  : {fmt(s.condition_estimate)}",
            f"  steps             : {fmt(s.num_steps)}",
            f"  trace error       : {fmt(s.trace_error)}",
            f"  min eigenvalue    : {fmt(s.min_eigenvalue)}",
            f"  Hermiticity error : {fmt(s.hermiticity_error)}",
        ]
        if np.any(np.asarray(s.kernel_dimension) > 1):
            lines.append(f"  kernel dimension  : {fmt(s.kernel_dimension)} (projected from rho0)")
        if not np.all(np.isnan(np.asarray(s.top_level_population))):
            lines.append(
                f"  top Fock levels   : {fmt(s.top_level_population)} (population, truncated modes)"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.__str__()

    def _dimension_line(self) -> str:
        shape = self.state_shape or tuple(self.rho.shape[-2:])
        if len(shape) == 2:
            return f"  dimension         : n = {shape[-1]} (Liouville {shape[-1] ** 2})"
        return f"  state shape       : {shape} (blocks of a block-diagonal state)"


def result_codes(result) -> Array:
    """The integer code(s) of a result (one item or a batch, concrete or traced) of any equinox
    enumeration (:class:`RESULTS`, ``lineax.RESULTS``, ``diffrax.RESULTS``): compare them with
    ``result_codes(RESULTS.successful)`` etc. With :func:`result_name` and
    :func:`result_message`, the only readers of the enumeration's private storage (equinox has
    no public accessor)."""
    return jnp.asarray(result._value)


def _codes(results) -> dict[str, int]:
    """``{name: integer code}`` of an equinox enumeration class."""
    return {name: int(np.asarray(item._value)) for name, item in results._name_to_item.items()}


def _message(results, code: int) -> str:
    return results._index_to_message[code]


def result_name(code: int, results=None) -> str:
    """Name of a result code given as an integer, e.g. ``"successful"``; ``results`` is the
    enumeration class (default :class:`RESULTS`; e.g. ``diffrax.RESULTS``)."""
    for name, value in _codes(RESULTS if results is None else results).items():
        if value == code:
            return name
    raise ValueError(f"{code} is not a {(RESULTS if results is None else results).__name__} code.")


def result_message(code: int, results=None) -> str:
    """Message of a result code given as an integer (``"successful"`` for success); ``results``
    as in :func:`result_name`."""
    return _message(RESULTS if results is None else results, code) or "successful"
