r"""Spontaneous macroscopic synchronisation of two-level ensembles.

Z.-H. Yang, D.-B. Zhang, *Spontaneous macroscopic quantum synchronization in an ensemble of
two-level systems*, arXiv:2511.10920.

**Mean-field master equation** (:class:`MeanFieldSync`). K groups of identical two-level systems
with natural frequencies ω_k, incoherent gain Γ_g and damping Γ_d, all-to-all coupled through the
complex mean field V e^{iθ} (θ = 0: coherent exchange, θ = −π/2: collective decay). Each group is
represented by one spin ρ_k:

    dρ_k/dt = −i[(ω_k/2)σ^z + hσ⁺ + h*σ⁻, ρ_k] + Γ_d D[σ⁻]ρ_k + Γ_g D[σ⁺]ρ_k,
    h = V e^{iθ} (1/K) Σ_j ⟨σ⁻⟩_j                (K = 1: h = V e^{iθ}⟨σ⁻⟩;
                                                  K = 2: h = V e^{iθ}(s_A + s_B)/2),

with σ⁻ = |g⟩⟨e| (basis order e, g). The K spins are evolved as one product state ρ_1 ⊗ … ⊗ ρ_K
of dimension 2^K (the reduced dynamics are exact for any joint state, since each term acts on one
factor and is trace preserving), so ``qdiss.evolve`` and its observables apply unchanged.

**Bloch equations** (derived from the master equation; s_k = ⟨σ⁻⟩_k, z_k = ⟨σ^z⟩_k,
Γ = Γ_g + Γ_d):

    ds_k/dt = (−iω_k − Γ/2) s_k + i h z_k,
    dz_k/dt = 4 Im(h s_k*) − Γ z_k + (Γ_g − Γ_d).

**Single-group limit cycle** (:func:`mean_field_limit_cycle`). With h = V e^{iθ} s,
d|s|²/dt = −(Γ + 2V sin θ · z)|s|², dz/dt = 4V sin θ |s|² − Γz + Γ_g − Γ_d, and the phase rotates
at ω − V cos θ · z. The limit cycle s = r e^{−iω_sync t} has

    z* = −Γ/(2V sin θ),   r² = [Γ z* − (Γ_g − Γ_d)]/(4V sin θ),   ω_sync = ω + (Γ/2) cot θ,

and it exists (and is stable: trace −Γ, determinant 8V² sin²θ r² of the amplitude Jacobian)
exactly when the incoherent fixed point s = 0, z₀ = (Γ_g − Γ_d)/Γ is unstable:

    V sin θ (Γ_d − Γ_g) > Γ²/2.

``tests/test_models_sync.py`` checks them against the Bloch equations. Two regimes: V sin θ > 0
needs net damping (Γ_d > Γ_g, z* < 0); V sin θ < 0 (e.g. collective decay, θ = −π/2) needs net gain
(Γ_g > Γ_d, z* > 0: steady-state superradiance).

**Finite-N counterpart** (:class:`SyncEnsemble`). N spins with individual gain and loss and

    H = Σ_i (ω_i/2) σ^z_i + (V cos θ/N) Σ_{i≠j} σ⁺_i σ⁻_j,
    + γ↓ D[J⁻] + γ↑ D[J⁺],   J^∓ = Σ_i σ^∓_i,   γ↓ = 2V max(−sin θ, 0)/N,  γ↑ = 2V max(sin θ, 0)/N.

For a product state the reduced generator of spin i is exactly the mean-field one with
h_i = V e^{iθ} (1/N) Σ_{j≠i} ⟨σ⁻_j⟩, plus the O(1/N) self-terms γ↓ D[σ⁻_i] + γ↑ D[σ⁺_i]: tracing
out spin j from the cross terms of D[J⁻] gives −½[sσ⁺ − s*σ⁻, ρ_i] = −i[(−is/2)σ⁺ + h.c., ρ_i]
(collective decay is an imaginary coupling, V e^{iθ} ∋ −iγ↓N/2), and D[J⁺] gives the opposite
sign. So V cos θ is a coherent exchange and V sin θ < 0 (> 0) collective decay (gain). The
finite-N steady state is U(1) symmetric (⟨σ⁻_i⟩ = 0): synchronisation shows in the correlations
⟨σ⁺_i σ⁻_j⟩ (:func:`pair_correlations`) and in the spectrum. Full Hilbert space (2^N) for small
N or per-spin frequencies; identical spins through permutation symmetry
(:meth:`SyncEnsemble.permutation_invariant`, :func:`pi_pair_correlation`) for N in the tens.

**Usage.** A trajectory on the Bloch sphere and a phase diagram by ``vmap``::

    model = MeanFieldSync.two_groups(delta=0.5, V=6.0, theta=jnp.pi / 3, gamma_g=0.2, gamma_d=1.0)
    s, z = model.trajectory(jnp.linspace(0.0, 100.0, 2001))      # (K, T) each
    xyz = bloch_vectors(s, z)                                      # (K, T, 3)

    def locked(delta, theta):
        m = MeanFieldSync.two_groups(delta, 6.0, theta, 0.2, 1.0)
        return m.limit_cycle(200.0, 16001).locked                 # Arnold tongue

    tongue = jax.vmap(jax.vmap(locked, (0, None)), (None, 0))(deltas, thetas)
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._checks import check_concrete
from .._evolve import evolve
from .._lindbladian import Lindbladian
from .._numerics import complex_dtype
from . import emitters

__all__ = [
    "LimitCycle",
    "MeanFieldLimitCycle",
    "MeanFieldSync",
    "SyncEnsemble",
    "bloch_state",
    "bloch_vectors",
    "critical_coupling",
    "limit_cycle",
    "mean_field_limit_cycle",
    "pair_correlations",
    "pi_pair_correlation",
    "spin_operators",
]

_SM = np.array([[0.0, 0.0], [1.0, 0.0]])  # σ⁻ = |g⟩⟨e|, basis (e, g)
_SZ = np.diag([1.0, -1.0])
_SX = np.array([[0.0, 1.0], [1.0, 0.0]])
_SY = np.array([[0.0, -1j], [1j, 0.0]])


def _embed(op: np.ndarray, site: int, count: int) -> np.ndarray:
    out = np.ones((1, 1))
    for k in range(count):
        out = np.kron(out, op if k == site else np.eye(2))
    return out


def spin_operators(count: int, dtype=jnp.complex128) -> tuple[Array, Array]:
    """(σ⁻_k, σ^z_k) for k = 1..count on the 2^count product space, each ``(count, n, n)``."""
    sm = np.stack([_embed(_SM, k, count) for k in range(count)])
    sz = np.stack([_embed(_SZ, k, count) for k in range(count)])
    return jnp.asarray(sm, dtype), jnp.asarray(sz, dtype)


def bloch_state(bloch, dtype=jnp.complex128) -> Array:
    """ρ = ⊗_k (I + x_kσ^x + y_kσ^y + z_kσ^z)/2 from Bloch vectors ``(3,)`` or ``(K, 3)``.

    Then s = ⟨σ⁻⟩ = (x − iy)/2 (σ⁻ = |g⟩⟨e|, σ^y = −iσ⁺ + iσ⁻) and ⟨σ^z⟩ = z.
    """
    bloch = jnp.atleast_2d(jnp.asarray(bloch))
    if bloch.shape[-1] != 3:
        raise ValueError(f"`bloch` must have shape (3,) or (K, 3); got {bloch.shape}.")
    paulis = jnp.asarray(np.stack([_SX, _SY, _SZ]), dtype)
    rho = jnp.ones((1, 1), dtype)
    for vec in bloch:
        single = (jnp.eye(2, dtype=dtype) + jnp.einsum("a,aij->ij", vec.astype(dtype), paulis)) / 2
        rho = jnp.kron(rho, single)
    return rho


def bloch_vectors(s: Array, z: Array) -> Array:
    """Bloch vectors (x, y, z) = (2 Re s, −2 Im s, z) from s = ⟨σ⁻⟩ and z = ⟨σ^z⟩ (last axis 3)."""
    return jnp.stack([2 * jnp.real(s), -2 * jnp.imag(s), jnp.asarray(z)], axis=-1)


class MeanFieldSync(eqx.Module):
    r"""The nonlinear mean-field generator of the module docstring, ``f(t, ρ) -> dρ/dt``.

    ``MeanFieldSync(omega, V, theta, gamma_g, gamma_d)`` with ``omega`` of shape ``(K,)``: one
    representative spin per group (K = 1 or 2 typically), acting on the 2^K product space.
    Constructors :meth:`single` and :meth:`two_groups` (frequencies ω ± δ/2). All parameters are
    pytree leaves (``vmap``/``grad``); the number of groups is static. Use it with
    :func:`qdiss.evolve` (``evolve(model, rho0, times)``) or :meth:`trajectory`.
    """

    omega: Array
    V: Array
    theta: Array
    gamma_g: Array
    gamma_d: Array
    groups: int = eqx.field(static=True)

    def __init__(self, omega, V, theta, gamma_g, gamma_d):
        omega = jnp.atleast_1d(jnp.asarray(omega))
        if omega.ndim != 1:
            raise ValueError(f"`omega` must be a scalar or a (K,) array; got {omega.shape}.")
        self.omega, self.groups = omega, int(omega.shape[0])
        self.V, self.theta = jnp.asarray(V), jnp.asarray(theta)
        self.gamma_g, self.gamma_d = jnp.asarray(gamma_g), jnp.asarray(gamma_d)

    @classmethod
    def single(cls, omega, V, theta, gamma_g, gamma_d) -> MeanFieldSync:
        """One group: h = V e^{iθ}⟨σ⁻⟩."""
        return cls(jnp.reshape(jnp.asarray(omega), (1,)), V, theta, gamma_g, gamma_d)

    @classmethod
    def two_groups(cls, delta, V, theta, gamma_g, gamma_d, omega=0.0) -> MeanFieldSync:
        """Two equal groups at ω ± δ/2 (default ω = 0: the frame of the mean frequency)."""
        omega, delta = jnp.asarray(omega), jnp.asarray(delta)
        return cls(jnp.stack([omega + delta / 2, omega - delta / 2]), V, theta, gamma_g, gamma_d)

    @property
    def n(self) -> int:
        return 2**self.groups

    def dtype(self):
        return complex_dtype(self.omega, self.V, self.theta, self.gamma_g, self.gamma_d)

    def coupling(self) -> Array:
        """V e^{iθ} (complex)."""
        dtype = self.dtype()
        return self.V.astype(dtype) * jnp.exp(1j * self.theta.astype(dtype))

    def field(self, rho: Array) -> Array:
        """h = V e^{iθ} (1/K) Σ_k tr(σ⁻_k ρ)."""
        sm, _ = spin_operators(self.groups, rho.dtype)
        s = jnp.einsum("kij,ji->k", sm, rho)
        return self.coupling().astype(rho.dtype) * jnp.mean(s)

    def __call__(self, t, rho: Array) -> Array:
        """dρ/dt of the module docstring (``t`` unused: autonomous)."""
        dtype = rho.dtype
        sm, sz = spin_operators(self.groups, dtype)
        sp = jnp.swapaxes(sm, -1, -2)  # σ⁺ (real operators)
        h = self.field(rho)
        omega = self.omega.astype(dtype)
        H = jnp.einsum("k,kij->ij", omega / 2, sz) + jnp.sum(h * sp + jnp.conj(h) * sm, axis=0)
        gd, gg = self.gamma_d.astype(dtype), self.gamma_g.astype(dtype)
        loss = jnp.sum(gd * (sp @ sm) + gg * (sm @ sp), axis=0)  # Σ L†L
        h_eff = H - 0.5j * loss
        out = -1j * (h_eff @ rho - rho @ h_eff.conj().T)
        jumps = gd * jnp.einsum("kij,jl,kml->im", sm, rho, sm) + gg * jnp.einsum(
            "kij,jl,kml->im", sp, rho, sp
        )
        return out + jumps

    def bloch_rhs(self, s: Array, z: Array) -> tuple[Array, Array]:
        """(ds/dt, dz/dt) of the Bloch equations for s, z of shape ``(K,)``."""
        dtype = s.dtype
        h = self.coupling().astype(dtype) * jnp.mean(s)
        gamma = self.gamma_g + self.gamma_d
        zc = z.astype(dtype)
        ds = (-1j * self.omega.astype(dtype) - (gamma / 2).astype(dtype)) * s + 1j * h * zc
        dz = 4 * jnp.imag(h * jnp.conj(s)) - gamma * z + (self.gamma_g - self.gamma_d)
        return ds, dz

    def observables(self) -> Array:
        """(σ⁻_1 … σ⁻_K, σ^z_1 … σ^z_K) stacked ``(2K, n, n)``, for ``qdiss.evolve``."""
        sm, sz = spin_operators(self.groups, self.dtype())
        return jnp.concatenate([sm, sz])

    def default_state(self) -> Array:
        """Every group at Bloch vector (0.6, 0, 0): s = 0.3, z = 0 (s = 0 is a fixed point)."""
        return bloch_state(jnp.tile(jnp.array([0.6, 0.0, 0.0]), (self.groups, 1)), self.dtype())

    def trajectory(self, times, rho0=None, **evolve_kwargs) -> tuple[Array, Array]:
        """s_k(t) = ⟨σ⁻⟩_k (complex) and z_k(t) = ⟨σ^z⟩_k (real), each ``(K, T)``.

        ``rho0``: a 2^K product state (default :meth:`default_state`); other keywords go to
        :func:`qdiss.evolve` (``rtol``, ``atol``, ``solver``, ...). Bloch vectors:
        x = 2 Re s, y = −2 Im s, z.
        """
        rho0 = self.default_state() if rho0 is None else rho0
        sol = evolve(
            self, rho0, times, observables=self.observables(), save_states=False, **evolve_kwargs
        )
        K = self.groups
        return sol.expects[:K], jnp.real(sol.expects[K:])

    def limit_cycle(
        self,
        t_final: float,
        num_times: int = 4001,
        *,
        tail: float = 0.25,
        lock_tol: float = 1e-3,
        min_amplitude: float = 1e-6,
        rho0=None,
        **evolve_kwargs,
    ) -> LimitCycle:
        """Integrate to ``t_final`` on ``num_times`` points; analyse the tail (:func:`limit_cycle`).

        Every field of the result has one entry per group, shape ``(K,)`` (``locked`` a scalar).
        Sampling must resolve the rotation: |ω_sync| t_final / (num_times − 1) < π. Other
        keywords go to :func:`qdiss.evolve`.
        """
        times = jnp.linspace(0.0, t_final, num_times)
        s, z = self.trajectory(times, rho0, **evolve_kwargs)
        return limit_cycle(times, s, z, tail=tail, lock_tol=lock_tol, min_amplitude=min_amplitude)


class LimitCycle(NamedTuple):
    """Tail statistics of a trajectory (per group; scalars for one unbatched trajectory).

    - ``frequency``: ω such that s ∝ e^{−iωt} (minus the least-squares slope of the unwrapped
      phase of s over the tail).
    - ``amplitude``: mean |s| over the tail (r; 0 when unsynchronised).
    - ``amplitude_spread``: max − min of |s| over the tail (≈ 0 on a limit cycle or fixed point;
      large for beating/partial synchronisation or an unconverged trajectory).
    - ``z``: mean ⟨σ^z⟩ over the tail (NaN if not given).
    - ``locked``: every group oscillates (``amplitude`` > ``min_amplitude``) and all share one
      frequency (spread of ``frequency`` < ``lock_tol``). A state that has decayed to s = 0 has
      no phase and is never called locked.
    """

    frequency: Array
    amplitude: Array
    amplitude_spread: Array
    z: Array
    locked: Array


def limit_cycle(
    times, s, z=None, *, tail: float = 0.25, lock_tol: float = 1e-3, min_amplitude: float = 1e-6
) -> LimitCycle:
    r"""Limit-cycle detection from a trajectory s(t) = ⟨σ⁻⟩(t) of shape ``(T,)`` or ``(K, T)``.

    Uses the last fraction ``tail`` of the samples. The frequency comes from the phase winding:
    the unwrapped arg s(t) is fitted by a line, ω = −slope (s = r e^{−iωt}); the sampling must
    resolve the rotation (|ω|Δt < π). Pure JAX: ``jit``/``vmap`` over trajectories (for phase
    diagrams over V, Γ_g/Γ_d, θ, δ).
    """
    times = jnp.asarray(times)
    s = jnp.asarray(s)
    single = s.ndim == 1
    s2 = jnp.atleast_2d(s)
    T = s2.shape[-1]
    start = min(max(int(round(T * (1 - tail))), 0), T - 2)
    t = times[start:]
    st = s2[:, start:]
    phase = jnp.unwrap(jnp.angle(st), axis=-1)
    tc = t - jnp.mean(t)
    slope = jnp.sum(tc * (phase - jnp.mean(phase, axis=-1, keepdims=True)), axis=-1) / jnp.sum(
        tc**2
    )
    frequency = -slope
    mod = jnp.abs(st)
    amplitude = jnp.mean(mod, axis=-1)
    spread = jnp.max(mod, axis=-1) - jnp.min(mod, axis=-1)
    if z is None:
        zt = jnp.full(amplitude.shape, jnp.nan, amplitude.dtype)
    else:
        zt = jnp.mean(jnp.atleast_2d(jnp.asarray(z))[:, start:], axis=-1)
    same_frequency = (jnp.max(frequency) - jnp.min(frequency)) < lock_tol
    locked = same_frequency & jnp.all(amplitude > min_amplitude)
    if single:
        frequency, amplitude, spread, zt = frequency[0], amplitude[0], spread[0], zt[0]
    return LimitCycle(frequency, amplitude, spread, zt, locked)


class MeanFieldLimitCycle(NamedTuple):
    """Closed-form single-group limit cycle: z*, r², ω_sync and whether it exists."""

    z: Array
    r2: Array
    omega_sync: Array
    synchronised: Array


def mean_field_limit_cycle(omega, V, theta, gamma_g, gamma_d) -> MeanFieldLimitCycle:
    r"""z* = −Γ/(2V sin θ), r² = [Γz* − (Γ_g − Γ_d)]/(4V sin θ), ω_sync = ω + (Γ/2) cot θ.

    Γ = Γ_g + Γ_d; ``synchronised`` = V sin θ (Γ_d − Γ_g) > Γ²/2 (where r² > 0 and the limit
    cycle is the attractor; elsewhere the other fields are not a physical limit cycle). Derived in
    the module docstring.
    """
    gamma = gamma_g + gamma_d
    vs = V * jnp.sin(theta)
    z = -gamma / (2 * vs)
    r2 = (gamma * z - (gamma_g - gamma_d)) / (4 * vs)
    omega_sync = omega + (gamma / 2) * jnp.cos(theta) / jnp.sin(theta)
    return MeanFieldLimitCycle(z, r2, omega_sync, vs * (gamma_d - gamma_g) > gamma**2 / 2)


def critical_coupling(theta, gamma_g, gamma_d) -> Array:
    """V_c = Γ²/(2 sin θ (Γ_d − Γ_g)): synchronised for V > V_c (inf where no V > 0 works)."""
    gamma = gamma_g + gamma_d
    denom = 2 * jnp.sin(theta) * (gamma_d - gamma_g)
    return jnp.where(denom > 0, gamma**2 / jnp.where(denom > 0, denom, 1.0), jnp.inf)


class SyncEnsemble(eqx.Module):
    r"""N two-level systems with collective coupling and individual gain/loss (module docstring).

    ``SyncEnsemble(N, omega, V, theta, gamma_g, gamma_d)``; ``omega`` a scalar or per-spin
    ``(N,)`` frequencies (two groups: ``jnp.repeat(jnp.array([δ/2, −δ/2]), N // 2)``).
    Full 2^N Hilbert space, spins ordered 1 ⊗ 2 ⊗ … ⊗ N. The collective jump amplitudes are
    √(2V max(∓sin θ, 0)/N): differentiable except exactly at V sin θ = 0 (where the gradient
    through the vanishing one is taken as 0).
    """

    omega: Array
    V: Array
    theta: Array
    gamma_g: Array
    gamma_d: Array
    N: int = eqx.field(static=True)
    domains: ClassVar[dict] = dict(
        N="int", omega="real", V="real", theta="real", gamma_g="rate", gamma_d="rate"
    )

    def __init__(self, N, omega, V, theta, gamma_g, gamma_d):
        N = int(N)
        if N < 1:
            raise ValueError(f"`N` must be positive; got {N}.")
        omega = jnp.asarray(omega)
        if omega.ndim == 0:
            omega = jnp.full((N,), omega)
        if omega.shape != (N,):
            raise ValueError(f"`omega` must be a scalar or shape ({N},); got {omega.shape}.")
        self.N, self.omega = N, omega
        self.V, self.theta = jnp.asarray(V), jnp.asarray(theta)
        self.gamma_g, self.gamma_d = jnp.asarray(gamma_g), jnp.asarray(gamma_d)

    def lindbladian(self) -> Lindbladian:
        """H, (γ↓ D[J⁻], γ↑ D[J⁺]) and Γ_d D[σ⁻_i], Γ_g D[σ⁺_i] as a ``qdiss.Lindbladian``."""
        dtype = complex_dtype(self.omega, self.V, self.theta, self.gamma_g, self.gamma_d)
        N = self.N
        sm, sz = spin_operators(N, dtype)
        sp = jnp.swapaxes(sm, -1, -2)
        jm, jp = jnp.sum(sm, axis=0), jnp.sum(sp, axis=0)
        exchange = jp @ jm - jnp.sum(sp @ sm, axis=0)  # Σ_{i≠j} σ⁺_iσ⁻_j
        vc = (self.V * jnp.cos(self.theta) / N).astype(dtype)
        H = jnp.einsum("k,kij->ij", self.omega.astype(dtype) / 2, sz) + vc * exchange
        vs = self.V * jnp.sin(self.theta)
        g_down = _sqrt_positive_part(-2 * vs / N).astype(dtype)
        g_up = _sqrt_positive_part(2 * vs / N).astype(dtype)
        sd, sg = jnp.sqrt(self.gamma_d).astype(dtype), jnp.sqrt(self.gamma_g).astype(dtype)
        jumps = jnp.concatenate([(g_down * jm)[None], (g_up * jp)[None], sd * sm, sg * sp])
        return Lindbladian(H, jumps, dims=(2,) * N)

    def permutation_invariant(self):
        r"""The same master equation as a ``qdiss.PermutationInvariantLindbladian`` (large N).

        Needs identical frequencies (uses ``omega[0]``; a concrete non-uniform ``omega`` raises
        ``ValueError``). With J_a = ½Σσ^a_i: Σ_i (ω/2)σ^z_i = ωJ_z and
        Σ_{i≠j} σ⁺_iσ⁻_j = J⁺J⁻ − Σ_i σ⁺_iσ⁻_i = J_x² + J_y² − N/2, so ``linear`` = (0, 0, ω),
        ``quadratic`` = diag(g, g, 0) with g = V cos θ/N (the constant dropped), collective
        emission/pumping 2V max(∓sin θ, 0)/N, local emission Γ_d and pumping Γ_g. The rates enter
        linearly (no square roots). Correlations: :func:`pi_pair_correlation`.
        """
        from .._lindbladian import PermutationInvariantLindbladian

        omega = self.omega
        check_concrete(
            jnp.any(omega != omega[0]),
            "`permutation_invariant` needs identical frequencies; use `lindbladian()` for "
            "per-spin `omega`.",
        )
        N = self.N
        g = self.V * jnp.cos(self.theta) / N
        zero = jnp.zeros_like(g)
        vs = self.V * jnp.sin(self.theta)
        return PermutationInvariantLindbladian(
            N,
            linear=jnp.stack([zero, zero, omega[0] + zero]),
            quadratic=jnp.diag(jnp.stack([g, g, zero])),
            emission=self.gamma_d,
            pumping=self.gamma_g,
            collective_emission=2 * jnp.maximum(-vs, 0.0) / N,
            collective_pumping=2 * jnp.maximum(vs, 0.0) / N,
        )


def _sqrt_positive_part(x: Array) -> Array:
    """√max(x, 0) with derivative 0 (not NaN) where x ≤ 0 (undefined only at x = 0 itself)."""
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1.0)), 0.0)


def pi_pair_correlation(rho: Array) -> Array:
    r"""⟨σ⁺_1σ⁻_2⟩ (= ⟨σ⁺_iσ⁻_j⟩ for every i ≠ j) of a permutation-invariant state.

    ``rho``: blocks ``(N//2 + 1, N + 1, N + 1)`` of ``qdiss.PermutationInvariantLindbladian``
    (block b: j = N/2 − b, position p: m = N/2 − p, multiplicities folded in). From
    Σ_{i≠j}σ⁺_iσ⁻_j = J⁺J⁻ − J_z − N/2 with J⁺J⁻|j, m⟩ = (j + m)(j − m + 1)|j, m⟩:

        ⟨σ⁺_1σ⁻_2⟩ = (⟨J⁺J⁻⟩ − ⟨J_z⟩ − N/2) / (N(N − 1)).
    """
    from .._lindbladian.permutation.measures import pi_pair_correlation as block_pair_correlation

    return block_pair_correlation(rho)


def pair_correlations(rho: Array) -> Array:
    """C_ij = ⟨σ⁺_i σ⁻_j⟩ ``(N, N)`` of an N-spin state (2^N, ordering 1 ⊗ … ⊗ N).

    C_ii is the excited population of spin i; Re C_ij (i ≠ j) is the synchronisation (phase)
    correlation, ⟨σ^x_iσ^x_j + σ^y_iσ^y_j⟩/4 for real C.
    """
    n = rho.shape[-1]
    N = int(round(np.log2(n)))
    if 2**N != n:
        raise ValueError(f"`rho` must act on 2^N dimensions; got n = {n}.")
    return emitters.pair_correlations(rho, N)
