r"""Reference models with exact steady states, each from the paper cited with it.

- Driven damped cavity: H = Δa†a + F(a + a†), L = √γ a. Coherent steady state |α⟩,
  α = −iF/(γ/2 + iΔ), ⟨n⟩ = F²/(Δ² + γ²/4) (:class:`DrivenCavity`).
- Driven Kerr resonator: H = Δa†a + (U/2)a†²a² + F(a + a†), L = √γ a. Exact moments by the
  complex-P method, Drummond & Walls, J. Phys. A 13, 725 (1980) (:class:`DrivenKerr`,
  :func:`drummond_walls_moments`).
- Cooperative resonance fluorescence: spin j = N/2, H = Ω J_x, L = √Γ J⁻. Exact steady state
  ρ ∝ XX†, X = Σ_{m=0}^{2j} (J⁻/g)^m, g = −iΩ/Γ; Puri & Lawande, Phys. Lett. A 72, 200 (1979)
  (:class:`CooperativeFluorescence`, :func:`puri_lawande_steady_state`). Transition at
  Ω_c = ΓN/2.
- Dicke dimer: H = Ω(σ^x_1 + σ^x_2)/2, L = √Γ(σ⁻_1 + σ⁻_2). The singlet is dark: the steady
  state is not unique (:func:`dicke_dimer`), which a solver must report.

Fock basis |0⟩, …, |cutoff−1⟩, a = Σ √n |n−1⟩⟨n|. Spin basis |j, m⟩, m = j, …, −j (index 0 is
the top state, like |e⟩ for a qubit). Qubits: index 0 = |e⟩, σ⁻ = [[0, 0], [1, 0]].
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array
from scipy.special import gammaln

from .. import measures
from .._lindbladian import Lindbladian
from .._numerics import complex_dtype, real_dtype
from .emitters import pauli

__all__ = [
    "CooperativeFluorescence",
    "DrivenCavity",
    "DrivenKerr",
    "destroy",
    "dicke_dimer",
    "driven_cavity",
    "driven_cavity_amplitude",
    "driven_cavity_photon_number",
    "drummond_walls_moment",
    "drummond_walls_moments",
    "kerr_mean_field_photon_numbers",
    "puri_lawande_steady_state",
]


def _real_scalar(x, name: str) -> Array:
    x = jnp.asarray(x)
    if x.ndim or jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise ValueError(f"`{name}` must be a real scalar; got {x!r}.")
    if jnp.issubdtype(x.dtype, jnp.integer):
        return x.astype(jnp.zeros(()).dtype)
    return x.astype(x.dtype)  # a strong (not weakly typed) array


def _check_cutoff(cutoff) -> int:
    if isinstance(cutoff, bool) or int(cutoff) != cutoff or cutoff < 2:
        raise ValueError(f"`cutoff` must be an integer ≥ 2 (Fock states kept); got {cutoff!r}.")
    return int(cutoff)


def destroy(cutoff: int, dtype=None) -> Array:
    """The annihilation operator a = Σ_n √n |n−1⟩⟨n| on ``cutoff`` Fock states."""
    cutoff = _check_cutoff(cutoff)
    dtype = complex_dtype() if dtype is None else dtype
    return jnp.asarray(np.diag(np.sqrt(np.arange(1, cutoff)), 1), dtype=dtype)


# ------------------------------------------------------------------------ driven damped cavity


def driven_cavity_amplitude(delta, F, gamma) -> Array:
    """Steady-state amplitude α = ⟨a⟩ = −iF/(γ/2 + iΔ) of the driven damped cavity."""
    delta, F, gamma = (jnp.asarray(x) for x in (delta, F, gamma))
    dtype = complex_dtype(delta, F, gamma)
    return -1j * F.astype(dtype) / (gamma.astype(dtype) / 2 + 1j * delta.astype(dtype))


def driven_cavity_photon_number(delta, F, gamma) -> Array:
    """⟨n⟩ = |α|² = F²/(Δ² + γ²/4) (exact for the untruncated cavity; differentiable)."""
    delta, F, gamma = (jnp.asarray(x) for x in (delta, F, gamma))
    return F**2 / (delta**2 + gamma**2 / 4)


class DrivenCavity(eqx.Module):
    r"""Driven damped cavity, H = Δa†a + F(a + a†), L = √γ a, truncated to ``cutoff`` levels.

    Steady state: the coherent state |α⟩, α = −iF/(γ/2 + iΔ) (a truncation error of order
    the Poisson tail beyond ``cutoff``).
    """

    delta: Array
    F: Array
    gamma: Array
    cutoff: int = eqx.field(static=True)
    domains: ClassVar[dict] = dict(cutoff="int", delta="real", F="real", gamma="rate")
    figures_of_merit: ClassVar[dict] = {
        "photon_number": lambda model, rho: model.photon_number(),
    }

    def __init__(self, cutoff, delta, F, gamma):
        self.cutoff = _check_cutoff(cutoff)
        self.delta, self.F, self.gamma = (
            _real_scalar(x, n) for x, n in ((delta, "delta"), (F, "F"), (gamma, "gamma"))
        )

    def destroy(self) -> Array:
        return destroy(self.cutoff, complex_dtype(self.delta, self.F, self.gamma))

    def lindbladian(self) -> Lindbladian:
        a = self.destroy()
        ad = a.conj().T
        dtype = a.dtype
        H = self.delta.astype(dtype) * ad @ a + self.F.astype(dtype) * (a + ad)
        return Lindbladian(
            H, [jnp.sqrt(self.gamma).astype(dtype) * a], dims=(self.cutoff,), modes=(0,)
        )

    def photon_number(self) -> Array:
        """The exact ⟨n⟩ (:func:`driven_cavity_photon_number`)."""
        return driven_cavity_photon_number(self.delta, self.F, self.gamma)


def driven_cavity(cutoff, delta, F, gamma) -> Lindbladian:
    """``DrivenCavity(cutoff, delta, F, gamma).lindbladian()``."""
    return DrivenCavity(cutoff, delta, F, gamma).lindbladian()


# ------------------------------------------------------------------------ driven Kerr resonator


class DrivenKerr(eqx.Module):
    r"""Driven Kerr resonator, truncated to ``cutoff`` Fock levels:

        H = Δ a†a + (U/2) a†²a² + F(a + a†),   L = √γ a.

    Exact moments: :func:`drummond_walls_moments` (:meth:`exact_moments`). Mean field:
    n[(Δ + Un)² + γ²/4] = F² (:func:`kerr_mean_field_photon_numbers`).
    """

    delta: Array
    U: Array
    F: Array
    gamma: Array
    cutoff: int = eqx.field(static=True)
    domains: ClassVar[dict] = dict(cutoff="int", delta="real", U="real", F="real", gamma="rate")

    def __init__(self, cutoff, delta, U, F, gamma):
        self.cutoff = _check_cutoff(cutoff)
        names = ("delta", "U", "F", "gamma")
        self.delta, self.U, self.F, self.gamma = (
            _real_scalar(x, n) for x, n in zip((delta, U, F, gamma), names, strict=True)
        )

    def destroy(self) -> Array:
        return destroy(self.cutoff, complex_dtype(self.delta, self.U, self.F, self.gamma))

    def hamiltonian(self) -> Array:
        a = self.destroy()
        ad = a.conj().T
        dtype = a.dtype
        return (
            self.delta.astype(dtype) * ad @ a
            + (self.U / 2).astype(dtype) * ad @ ad @ a @ a
            + self.F.astype(dtype) * (a + ad)
        )

    def lindbladian(self) -> Lindbladian:
        a = self.destroy()
        jump = jnp.sqrt(self.gamma).astype(a.dtype) * a
        return Lindbladian(self.hamiltonian(), [jump], dims=(self.cutoff,), modes=(0,))

    def exact_moments(self, orders: Sequence[int] = (1, 2)) -> np.ndarray:
        """⟨a†^k a^k⟩ for k in ``orders`` (:func:`drummond_walls_moments`; NumPy, concrete)."""
        args = (float(x) for x in (self.delta, self.U, self.F, self.gamma))
        return drummond_walls_moments(*args, orders)


def _log_pochhammer(c: complex, count: int) -> np.ndarray:
    """log (c)_k for k = 0 … count−1, (c)_k = c(c+1)…(c+k−1) (principal logs, summed)."""
    out = np.zeros(count, complex)
    out[1:] = np.cumsum(np.log(c + np.arange(count - 1)))
    return out


def _log_series(z: float, c: complex, q: int, p: int, max_terms: int) -> complex:
    r"""log Σ_n zⁿ/(n! (c)_{q+n} (c̄)_{p+n}), summed until the terms stop mattering."""
    count = 64
    while True:
        n = np.arange(count)
        log_c = _log_pochhammer(c, count + max(p, q))
        log_d = np.conj(log_c)
        logs = n * np.log(z) - gammaln(n + 1) - log_c[q + n] - log_d[p + n]
        top = np.max(logs.real)
        # converged: the last terms are decreasing and below 1e-20 of the largest one
        if logs[-1].real < top - 46 and logs[-1].real < logs[-2].real:
            break
        if count >= max_terms:
            raise RuntimeError(
                f"The ₀F₂ series did not converge within {max_terms} terms (z = {z:.3g})."
            )
        count *= 2
    return top + np.log(np.sum(np.exp(logs - top)))


def drummond_walls_moment(delta, U, F, gamma, p: int, q: int, max_terms: int = 1 << 16) -> complex:
    r"""⟨a†^p a^q⟩ in the exact steady state of the driven Kerr resonator (:class:`DrivenKerr`).

    Complex-P solution (Drummond & Walls 1980): P(α, β) ∝ α^{c−2} β^{c̄−2} e^{2αβ − ε(1/α + 1/β)},
    c = 2(Δ − iγ/2)/U, ε = 2F/U, integrated over Hankel contours, gives

        ⟨a†^p a^q⟩ = (−ε)^{p+q} S_{q,p} / S_{0,0},
        S_{q,p} = Σ_n zⁿ / (n! (c)_{q+n} (c̄)_{p+n}),   z = 2ε² = 8F²/U²,

    i.e. ratios of ₀F₂ hypergeometric series: S_{k,k} = ₀F₂(; c+k, c̄+k; z)/|(c)_k|², so
    ⟨a†^k a^k⟩ = ε^{2k} ₀F₂(; c+k, c̄+k; z) / (|(c)_k|² ₀F₂(; c, c̄; z)). The series are summed
    directly in log space (all terms of S_{k,k} are positive, no cancellation) until converged,
    in float64. Requires U ≠ 0 and γ > 0; F real (a complex F is |F| up to a phase of a).
    """
    delta, U, F, gamma = (float(x) for x in (delta, U, F, gamma))
    if U == 0:
        raise ValueError("`U` must be non-zero (for U = 0 use the driven cavity formulas).")
    if gamma <= 0:
        raise ValueError(f"`gamma` must be positive; got {gamma}.")
    p, q = int(p), int(q)
    if p < 0 or q < 0:
        raise ValueError("`p` and `q` must be non-negative integers.")
    eps = 2 * F / U
    if eps == 0:
        return complex(p == 0 and q == 0)
    c = 2 * (delta - 0.5j * gamma) / U
    z = 2 * eps**2
    log_ratio = _log_series(z, c, q, p, max_terms) - _log_series(z, c, 0, 0, max_terms)
    return complex((-eps) ** (p + q) * np.exp(log_ratio))


def drummond_walls_moments(
    delta, U, F, gamma, orders: Sequence[int] | int = (1, 2), max_terms: int = 1 << 16
) -> np.ndarray:
    r"""⟨a†^k a^k⟩ (real) for each k in ``orders``: see :func:`drummond_walls_moment`.

    k = 1 is the photon number, k = 2 gives g²(0) = ⟨a†²a²⟩/⟨a†a⟩².
    """
    orders = [orders] if isinstance(orders, int) else list(orders)
    return np.array(
        [drummond_walls_moment(delta, U, F, gamma, k, k, max_terms).real for k in orders]
    )


def kerr_mean_field_photon_numbers(delta, U, F, gamma) -> np.ndarray:
    r"""Mean-field photon numbers of the driven Kerr resonator: the real roots n ≥ 0 of

        n [(Δ + U n)² + γ²/4] = F²,

    (from 0 = −(iΔ + γ/2)α − iU|α|²α − iF), sorted; three roots in the bistable region.
    """
    delta, U, F, gamma = (float(x) for x in (delta, U, F, gamma))
    roots = np.roots([U**2, 2 * delta * U, delta**2 + gamma**2 / 4, -(F**2)])
    real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots))].real
    return np.sort(real[real >= 0])


# ----------------------------------------------------------- cooperative resonance fluorescence


def _check_num_spins(N) -> int:
    if isinstance(N, bool) or int(N) != N or N < 1:
        raise ValueError(f"`N` must be a positive integer (number of two-level atoms); got {N!r}.")
    return int(N)


class CooperativeFluorescence(eqx.Module):
    r"""Cooperative resonance fluorescence of N atoms in the symmetric subspace, spin j = N/2:

        H = Ω J_x,   L = √Γ J⁻   (basis |j, m⟩, m = j, …, −j).

    Exact steady state :func:`puri_lawande_steady_state`; a second-order-like transition at
    Ω_c = ΓN/2 (below: a pure-like state with ⟨J_z⟩ < 0; above: nearly maximally mixed).
    """

    omega: Array
    gamma: Array
    N: int = eqx.field(static=True)
    domains: ClassVar[dict] = dict(N="int", omega="real", gamma="rate")

    def __init__(self, N, omega, gamma):
        self.N = _check_num_spins(N)
        self.omega, self.gamma = _real_scalar(omega, "omega"), _real_scalar(gamma, "gamma")

    def spin_operators(self) -> tuple[Array, Array, Array, Array, Array]:
        """(J_x, J_y, J_z, J_+, J_-) for j = N/2 (``qdiss.measures.spin_operators``)."""
        return measures.spin_operators(self.N / 2, dtype=complex_dtype(self.omega, self.gamma))

    def lindbladian(self) -> Lindbladian:
        jx, _, _, _, jm = self.spin_operators()
        dtype = jx.dtype
        H = self.omega.astype(dtype) * jx
        return Lindbladian(H, [jnp.sqrt(self.gamma).astype(dtype) * jm], dims=(self.N + 1,))

    def exact_steady_state(self) -> Array:
        """:func:`puri_lawande_steady_state` at these parameters."""
        return puri_lawande_steady_state(self.N, self.omega, self.gamma)


_I_POWERS = np.array([1, 1j, -1, -1j])


@functools.partial(jax.jit, static_argnums=0)
def puri_lawande_steady_state(N, omega, gamma) -> Array:
    r"""Exact steady state of :class:`CooperativeFluorescence` (Puri & Lawande 1979):

        ρ = XX†/tr(XX†),   X = Σ_{k=0}^{2j} (J⁻/g)^k,   g = −iΩ/Γ,  j = N/2.

    X is lower triangular with X_ac = (iΓ/Ω)^{a−c} Π_{i=c}^{a−1} λ_i (a ≥ c, index a ↔
    m = j − a, λ_i = ⟨m_i − 1|J⁻|m_i⟩), so with ℓ_a = a log|Γ/Ω| + Σ_{i<a} log λ_i

        ρ_ab ∝ (i·sgn Ω)^{a−b} e^{ℓ_a + ℓ_b} Σ_{c ≤ min(a,b)} e^{−2ℓ_c}.

    These are evaluated in log space (cumulative log-sum-exp) and scaled by the largest entry
    before exponentiating, so no power of Γ/Ω or factorial overflows (N in the thousands is
    fine). ``N`` static; differentiable in Ω ≠ 0 and Γ > 0.
    """
    N = _check_num_spins(N)
    omega, gamma = _real_scalar(omega, "omega"), _real_scalar(gamma, "gamma")
    real = real_dtype(omega, gamma)
    omega, gamma = omega.astype(real), gamma.astype(real)
    j = N / 2
    m = j - np.arange(N + 1)
    log_lam = 0.5 * np.log(j * (j + 1) - m[:-1] * (m[:-1] - 1))  # λ_i, i = 0 … 2j−1
    cum = np.concatenate([[0.0], np.cumsum(log_lam)])
    a = np.arange(N + 1)
    ell = jnp.asarray(a, real) * jnp.log(jnp.abs(gamma / omega)) + jnp.asarray(cum, real)
    tail = jax.lax.cumlogsumexp(-2 * ell)  # log Σ_{c ≤ k} e^{−2ℓ_c}
    lo = np.minimum(a[:, None], a[None, :])
    log_mag = ell[:, None] + ell[None, :] + tail[lo]
    log_mag = log_mag - jnp.max(jnp.diagonal(log_mag))  # |ρ_ab|² ≤ ρ_aa ρ_bb
    diff = a[:, None] - a[None, :]
    dtype = complex_dtype(omega)
    phase = jnp.asarray(_I_POWERS[diff % 4], dtype)
    flip = jnp.where((np.abs(diff) % 2 == 1) & (omega < 0), -1.0, 1.0).astype(dtype)
    rho = jnp.exp(log_mag).astype(dtype) * phase * flip
    return rho / jnp.trace(rho)


# ------------------------------------------------------------------------------- Dicke dimer


def dicke_dimer(omega, gamma) -> Lindbladian:
    r"""Two qubits, H = Ω(σ^x_1 + σ^x_2)/2, L = √Γ(σ⁻_1 + σ⁻_2) (``dims = (2, 2)``).

    Both H and L are symmetric under exchange, so the singlet (|eg⟩ − |ge⟩)/√2 is a dark,
    stationary state besides the driven triplet's steady state: the steady state is not unique
    and ``qdiss.steady_state`` reports ``RESULTS.non_unique``.
    """
    omega, gamma = _real_scalar(omega, "omega"), _real_scalar(gamma, "gamma")
    dtype = complex_dtype(omega, gamma)
    eye = np.eye(2)
    sx, sm = pauli("x"), pauli("-")
    H = jnp.asarray((np.kron(sx, eye) + np.kron(eye, sx)) / 2, dtype)
    jump = jnp.asarray(np.kron(sm, eye) + np.kron(eye, sm), dtype)
    return Lindbladian(omega.astype(dtype) * H, [jnp.sqrt(gamma).astype(dtype) * jump], dims=(2, 2))
