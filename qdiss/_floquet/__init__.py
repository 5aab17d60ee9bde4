r"""Periodically driven steady states: the Fourier-harmonic (Floquet) linear system.

**The model.** A Lindbladian L₀ (Hamiltonian H₀, jump operators L_j) with a periodic drive

    H(t) = H₀ + Σ_{m=1..M} (H_m e^{imωt} + H_m† e^{−imωt}),

whose asymptotic state is periodic, ρ(t + 2π/ω) = ρ(t). Writing ρ(t) = Σ_k ρ_k e^{ikωt}
(ρ_{−k} = ρ_k† for a Hermitian ρ(t)) and collecting the e^{ikωt} terms of dρ/dt = L(t)ρ gives,
harmonic by harmonic,

    (L₀ − ikω) ρ_k + Σ_{m=1..M} (L_m ρ_{k−m} + L_{−m} ρ_{k+m}) = 0,
    L_m ρ = −i[H_m, ρ],   L_{−m} ρ = −i[H_m†, ρ],

truncated at |k| ≤ K (ρ_k = 0 beyond), with tr ρ₀ = 1. Time-dependent jump operators
L_j(t) = Σ_{p=−P..P} c_{j,p} e^{ipωt} (``jump_drives``) add Σ_{a,b} D_{ab}ρ_{k−(a−b)} with
D_{ab}ρ = Σ_j (c_{j,a} ρ c_{j,b}† − ½{c_{j,b}†c_{j,a}, ρ}), trace-annihilating like L_m.
Without jump drives this is what QuTiP's ``steadystate_fourier`` (formerly
``steadystate_floquet``; H(t) = H₀ + O cos ωt, i.e. M = 1, H₁ = O/2, K = ``n_it``) and
QuantumToolbox.jl's ``steadystate_fourier`` compute; they return the time average ρ₀ only.
The trace of row k gives −ikω tr ρ_k = 0 (L₀, every L_m and D_{ab} annihilate the trace), so
tr ρ_k = 0 for k ≠ 0 exactly.

**The deflated system.** As for ``steady_state`` (``qdiss._operator.DeflatedProblem``) the
singular block system M(ρ) = 0 is replaced by

    A(ρ) = M(ρ) + s·tr(ρ₀)·E·δ_{k0} = s·E·δ_{k0},

with s a norm bound of L₀ and E = ``identity_state()``: the trace of row 0 gives tr ρ₀ = 1 and
then M(ρ) = 0. A is invertible exactly when the truncated periodic state is unique.

**Solvers** (configuration objects; ``None`` picks one by size):

- :class:`FloquetContinuedFraction` (M = 1, no jump drives): two-sided block elimination of
  the block-tridiagonal A, the matrix continued fraction of QuTiP's ``steadystate_fourier``:
  ρ_k = S_kρ_{k−1} with S_K = −(L₀ − iKω)⁻¹L₁, S_k = −(L₀ − ikω + L₋₁S_{k+1})⁻¹L₁ (and T_k
  likewise for k < 0), then the deflated effective Liouvillian L₀ + L₋₁S₁ + L₁T₋₁ for ρ₀.
  2K + 1 LU factorisations of n² × n² matrices, kept for the transposed solve of reverse-mode
  gradients.
- :class:`FloquetLU`: the LU of the whole ((2K+1)n²)² matrix (any M, jump drives; small
  systems).
- :class:`FloquetKrylov`: matrix-free restarted GMRES on A, right-preconditioned block by block
  by the eigenbasis-diagonal inverse of L₀ without its recycling term (plus the jump drives'
  time-averaged loss) shifted by −ikω (``qdiss._solver._preconditioner``, the shift trick of
  ``qdiss.KrylovResolvent``).

**Derivatives** come from the implicit rule of the linear solve (``_pseudo_inverse._implicit``):
ρ̇ = A⁻¹(−Ȧρ), with respect to every parameter of L₀, the drive operators H_m, the jump
drives' coefficients and ω; never by
differentiating the elimination or the iteration.

**Truncation in K is reported, never silent.** ``stats.truncation`` is
max(‖ρ_K‖, ‖ρ_{−K}‖)/‖ρ₀‖ (Frobenius norms), ``stats.harmonic_norms`` all the ‖ρ_k‖/‖ρ₀‖; above
``truncation_tol`` the result is ``RESULTS.harmonics_truncated`` (raised with ``throw=True``).
"""

from ._abstract import AbstractFloquetSolver as AbstractFloquetSolver
from ._solution import (
    PeriodicSteadyState as PeriodicSteadyState,
    PeriodicSteadyStateStats as PeriodicSteadyStateStats,
)
from ._solve import (
    default_floquet_solver as default_floquet_solver,
    periodic_steady_state as periodic_steady_state,
)
from ._system import (
    DENSE_LIMIT as DENSE_LIMIT,
    FULL_LU_LIMIT as FULL_LU_LIMIT,
    FourierSystem as FourierSystem,
)
from .continued_fraction import FloquetContinuedFraction as FloquetContinuedFraction
from .krylov import FloquetKrylov as FloquetKrylov
from .lu import FloquetLU as FloquetLU

__all__ = [
    "AbstractFloquetSolver",
    "FloquetContinuedFraction",
    "FloquetKrylov",
    "FloquetLU",
    "PeriodicSteadyState",
    "PeriodicSteadyStateStats",
    "periodic_steady_state",
]
