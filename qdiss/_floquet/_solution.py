"""What ``periodic_steady_state`` returns: ``PeriodicSteadyState`` (the harmonics ρ_k and
their evaluation in time) and its diagnostics ``PeriodicSteadyStateStats``."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._lindbladian.dense import _to_array
from .._numerics import is_concrete
from .._solution import RESULTS, result_codes, result_message, result_name


class PeriodicSteadyStateStats(eqx.Module):
    """Diagnostics of :func:`periodic_steady_state`.

    - ``residual``: ‖A(ρ) − b‖/‖b‖ of the deflated harmonic system (the ``qdiss._floquet``
      docstring), recomputed from the returned harmonics.
    - ``num_steps``: GMRES steps (1 for the direct solvers).
    - ``trace_error``: |tr ρ₀ − 1| of the raw solve.
    - ``hermiticity_error``: ‖ρ_k − ρ_{−k}†‖/‖ρ‖ of the raw solve (the harmonics are returned
      with ρ_{−k} = ρ_k† imposed).
    - ``min_eigenvalue``: smallest eigenvalue of the time average ρ₀ (a density matrix).
    - ``truncation``: max(‖ρ_K‖, ‖ρ_{−K}‖)/‖ρ₀‖, how much the outermost harmonics kept still
      hold (Frobenius norms): above ``truncation_tol``, ``RESULTS.harmonics_truncated``.
    - ``harmonic_norms``: ‖ρ_k‖/‖ρ₀‖ for k = −K..K (the decay that ``truncation`` summarises).
    - ``condition_estimate``: ‖A‖·‖A⁻¹‖ of the deflated block system, ‖A‖ bounded by
      s + Kω + 4Σ_m‖H_m‖_F and ‖A⁻¹‖ from power iteration on A⁻ᴴA⁻¹ (two rounds for the direct
      solvers, ``condition_rounds`` for :class:`FloquetKrylov`; NaN with none). Above 1e-3/eps
      the periodic state is not unique (``RESULTS.non_unique``), as for ``steady_state``; so
      is a system with no dissipation.
    """

    residual: Array
    num_steps: Array
    trace_error: Array
    hermiticity_error: Array
    min_eigenvalue: Array
    truncation: Array
    harmonic_norms: Array
    condition_estimate: Array


class PeriodicSteadyState(eqx.Module):
    """What :func:`periodic_steady_state` returns: ρ(t) = Σ_{|k|≤K} ρ_k e^{ikωt}.

    - ``harmonics``: ρ_k for k = −K..K, shape ``(2K + 1, *state_shape)`` (index k + K), with
      ρ_{−k} = ρ_k†, tr ρ₀ = 1, tr ρ_k = 0 (k ≠ 0).
    - ``omega``: the drive frequency ω.
    - ``result``: a ``qdiss.RESULTS`` code (``successful``, ``harmonics_truncated``, or a solve's
      failure: ``singular``, ``max_steps_reached``, ``residual_too_large``, ``nonfinite``…).
    - ``stats``: :class:`PeriodicSteadyStateStats`.
    - ``solver``: the solver's name.

    The methods act on one (unbatched) solution; states are in the Lindbladian's representation
    (``(n, n)`` for a dense one).
    """

    harmonics: Array
    omega: Array
    result: RESULTS
    stats: PeriodicSteadyStateStats
    solver: str = eqx.field(static=True, default="")

    @property
    def num_harmonics(self) -> int:
        """K."""
        return (self.harmonics.shape[0] - 1) // 2

    @property
    def residual(self) -> Array:
        return self.stats.residual

    @property
    def succeeded(self) -> Array:
        return self.result == RESULTS.successful

    @property
    def status(self) -> str:
        """The result code's name (concrete only)."""
        return result_name(int(result_codes(self.result)))

    @property
    def message(self) -> str:
        """The result code's message, ``"successful"`` on success (concrete only)."""
        return result_message(int(result_codes(self.result)))

    def __str__(self) -> str:
        codes = result_codes(self.result)
        if not is_concrete(codes):
            return f"PeriodicSteadyState(solver={self.solver!r}, <traced>)"
        codes = np.atleast_1d(np.asarray(codes))
        if codes.size != 1:
            ok = int(np.sum(codes == 0))
            return f"PeriodicSteadyState from {self.solver}: {ok}/{codes.size} successful"
        st = self.stats
        fmt = lambda x: np.array2string(np.asarray(x), precision=3)  # noqa: E731
        lines = [f"PeriodicSteadyState from {self.solver or 'unknown solver'}"]
        lines.append(f"  status            : {self.status}")
        if int(codes[0]) != 0:
            lines.append(f"  message           : {self.message}")
        lines += [
            f"  harmonics         : K = {self.num_harmonics}, ω = {fmt(self.omega)}",
            f"  truncation        : {fmt(st.truncation)} (‖ρ_±K‖/‖ρ₀‖)",
            f"  relative residual : {fmt(st.residual)}",
            f"  condition number  : {fmt(st.condition_estimate)}",
            f"  steps             : {fmt(st.num_steps)}",
            f"  trace error       : {fmt(st.trace_error)}",
            f"  Hermiticity error : {fmt(st.hermiticity_error)}",
            f"  min eigenvalue ρ₀ : {fmt(st.min_eigenvalue)}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.__str__()

    def harmonic(self, k: int) -> Array:
        """ρ_k (zero for |k| > K)."""
        K = self.num_harmonics
        if abs(k) > K:
            return jnp.zeros_like(self.harmonics[0])
        return self.harmonics[k + K]

    def time_average(self) -> Array:
        """ρ₀ = (ω/2π)∫ρ(t)dt over one period."""
        return self.harmonics[self.num_harmonics]

    def rho(self, t) -> Array:
        """ρ(t) = Σ_k ρ_k e^{ikωt} (Hermitian); ``t`` a scalar or an array of times (leading
        axes)."""
        return jnp.tensordot(self._phases(t), self.harmonics, axes=1)

    def _phases(self, t) -> Array:
        """e^{ikωt} for k = −K..K, shape ``(*t.shape, 2K + 1)``."""
        K = self.num_harmonics
        rdtype = self.omega.dtype
        t = jnp.asarray(t).astype(rdtype)
        k = jnp.arange(-K, K + 1).astype(rdtype)
        return jnp.exp(1j * (k * self.omega * t[..., None]).astype(self.harmonics.dtype))

    def expect(self, op) -> Array:
        """The time-averaged expectation tr(O ρ₀) of a dense ``(n, n)`` operator (complex)."""
        op = jnp.asarray(_to_array(op, "op"), self.harmonics.dtype)
        return jnp.sum(op.T * self.time_average())

    def expect_at(self, op, t) -> Array:
        """tr(O ρ(t)) at the times ``t`` (complex; real for a Hermitian O)."""
        op = jnp.asarray(_to_array(op, "op"), self.harmonics.dtype)
        per_harmonic = jnp.einsum("ij,kji->k", op, self.harmonics)
        return self._phases(t) @ per_harmonic
