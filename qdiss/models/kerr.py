r"""Two two-photon-driven Kerr resonators sharing an entangled (two-mode squeezed) bath.

A. Coppo, A. J. Shah, H. Alaeian, V. Brosco, R. Di Candia, S. Felicetti, *Nonlocal quantum
fluctuations drive phase transitions* (2026 preprint); ``notebooks/04_kerr_entangled_baths.ipynb``.

**Model.** Two identical, uncoupled resonators a, b (Fock cutoff ``cutoff`` each, Hilbert space
a ⊗ b of dimension cutoff²):

    H = Σ_{x=a,b} [ Δ x†x + (U/2) x†²x² + (G/2)(x†² + x²) ],

    dρ/dt = −i[H, ρ] + D[L₁]ρ + D[L₂]ρ + η Σ_x D[x²]ρ,

    L₁ = √κ (cosh r · a − e^{iφ} sinh r · b†),   L₂ = √κ (cosh r · b − e^{iφ} sinh r · a†),

(D[L]ρ = LρL† − ½{L†L, ρ}). The two baths share a two-mode squeezed vacuum with squeezing r and
phase φ; this is the correlated dissipator of ``qdiss.two_mode_squeezed_kossakowski`` written
directly through its two (rank-2) jump operators. Locally each resonator sees a thermal bath,
κ(N + 1)D[x] + κN D[x†] with N = sinh² r (⟨x†x⟩ relaxes as −κ⟨x†x⟩ + κN when G = 0).

**Collective modes.** c_± = (a ± b)/√2 decouple at U = 0 (the Kerr term couples them): since
D[L₁] + D[L₂] = D[(L₁+L₂)/√2] + D[(L₁−L₂)/√2],

    L_± = √κ (cosh r · c_± ∓ e^{iφ} sinh r · c_±†),

each a single-mode squeezed bath with N = sinh² r and M_± = ⟨c_±²⟩_bath = ±e^{iφ} sinh r cosh r
(opposite squeezing phases), while H = Σ_± [Δ c†c + (G/2)(c†² + c²)] + Kerr.

**Threshold.** At U = η = 0 the linear drift of each collective mode has eigenvalues
−κ/2 ± √(G² − Δ²): the parametric threshold is G_c = √(Δ² + κ²/4) (:attr:`KerrPair.threshold`).

**Gaussian closed form** (U = η = 0, G < G_c; derived from the adjoint master equation;
``tests/test_models_kerr.py`` checks it against the quadrature Lyapunov equation), per
collective mode s = ±, n_s = ⟨c_s†c_s⟩, m_s = ⟨c_s²⟩:

    dn_s/dt = −κ n_s + κN − 2G Im m_s,
    dm_s/dt = −(κ + 2iΔ) m_s + κM_s − iG(2n_s + 1),

whose stationary point :func:`gaussian_collective_moments` solves (a 3 × 3 real linear system).
:func:`gaussian_covariance` is an independent route: the Lyapunov equation Aσ + σAᵀ + D = 0 of the
quadrature covariance (:func:`lyapunov_covariance`).

**Thermodynamic limit** (:meth:`KerrPair.thermodynamic`). With U = U₀/L and η = η₀/L and α = √L β
the mean-field equation of each resonator,

    dα/dt = −(iΔ + κ/2)α − iU|α|²α − η|α|²α − iGα*,

becomes the same equation for β with U₀, η₀: the two-photon drive G, Δ and κ stay unscaled
(a two-photon drive is linear in α, unlike a one-photon drive F = f√L), photon numbers grow
like L·|β|², and the cutoff must grow ∝ L. Above threshold |β|² solves
(κ/2 + η₀|β|²)² + (Δ + U₀|β|²)² = G² (:func:`mean_field_photon_density`).
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
from jaxtyping import Array

from .. import _linalg
from .._lindbladian import Lindbladian
from .._numerics import complex_dtype, real_dtype

__all__ = [
    "CollectiveMoments",
    "KerrPair",
    "collective_moments",
    "collective_operators",
    "covariance_to_collective_moments",
    "gaussian_collective_moments",
    "gaussian_covariance",
    "gaussian_drift_diffusion",
    "local_moments",
    "lyapunov_covariance",
    "mean_field_photon_density",
    "mode_operators",
    "quadrature_variances",
]


def _destroy(n: int) -> np.ndarray:
    return np.diag(np.sqrt(np.arange(1, n, dtype=np.float64)), 1)


def mode_operators(cutoff: int, dtype=jnp.complex128) -> tuple[Array, Array]:
    """The annihilation operators (a ⊗ I, I ⊗ b) on the truncated two-mode space (cutoff²)."""
    d, eye = _destroy(cutoff), np.eye(cutoff)
    return jnp.asarray(np.kron(d, eye), dtype), jnp.asarray(np.kron(eye, d), dtype)


def collective_operators(cutoff: int, dtype=jnp.complex128) -> tuple[Array, Array]:
    """c_± = (a ± b)/√2 on the truncated two-mode space."""
    a, b = mode_operators(cutoff, dtype)
    return (a + b) * 2**-0.5, (a - b) * 2**-0.5


class KerrPair(eqx.Module):
    r"""Two two-photon-driven Kerr resonators with a shared two-mode squeezed bath.

    ``KerrPair(cutoff, delta, U, G, kappa, r, phi, eta=None)``: detuning Δ, Kerr U, two-photon
    drive G, loss κ, bath squeezing r and phase φ, two-photon loss η (``None``: no two-photon
    loss jump operators at all; pass a value, even 0.0, to include them — the η-derivative at
    exactly η = 0 is undefined because the jump operator is √η x²). Equations: module docstring.

    All parameters are pytree leaves (``jax.grad`` reaches each, ``vmap`` sweeps them); the Fock
    cutoff per mode is static. Operator ordering: a ⊗ b, ``dims = (cutoff, cutoff)``.
    """

    delta: Array
    U: Array
    G: Array
    kappa: Array
    r: Array
    phi: Array
    eta: Array | None
    cutoff: int = eqx.field(static=True)
    domains: ClassVar[dict] = dict(
        cutoff="int",
        delta="real",
        U="real",
        G="real",
        kappa="rate",
        r="real",
        phi="real",
        eta="real",
    )
    figures_of_merit: ClassVar[dict] = {
        "collective_moments": lambda model, rho: collective_moments(rho),
        "local_moments": lambda model, rho: local_moments(rho),
    }

    def __init__(self, cutoff, delta, U, G, kappa, r, phi, eta=None):
        if int(cutoff) < 2:
            raise ValueError(f"`cutoff` must be at least 2; got {cutoff}.")
        self.cutoff = int(cutoff)
        self.delta, self.U, self.G = jnp.asarray(delta), jnp.asarray(U), jnp.asarray(G)
        self.kappa, self.r, self.phi = jnp.asarray(kappa), jnp.asarray(r), jnp.asarray(phi)
        self.eta = None if eta is None else jnp.asarray(eta)

    @classmethod
    def thermodynamic(cls, size, cutoff, delta, U0, G, kappa, r, phi, eta0=None) -> KerrPair:
        """The model at size L: U = U₀/L, η = η₀/L; Δ, G, κ, r, φ unscaled (module docstring).

        Photon numbers grow ∝ L: pick ``cutoff`` well above L·|β|² (see
        :func:`mean_field_photon_density`) plus a few standard deviations.
        """
        eta = None if eta0 is None else jnp.asarray(eta0) / size
        return cls(cutoff, delta, jnp.asarray(U0) / size, G, kappa, r, phi, eta)

    @property
    def dims(self) -> tuple[int, int]:
        return (self.cutoff, self.cutoff)

    @property
    def threshold(self) -> Array:
        """Parametric threshold G_c = √(Δ² + κ²/4) of the linear (U = η = 0) model."""
        return jnp.sqrt(self.delta**2 + self.kappa**2 / 4)

    def _dtype(self):
        leaves = [self.delta, self.U, self.G, self.kappa, self.r, self.phi]
        return complex_dtype(*leaves, *([] if self.eta is None else [self.eta]))

    def hamiltonian(self) -> Array:
        """H = Σ_x [Δ x†x + (U/2) x†²x² + (G/2)(x†² + x²)]."""
        dtype = self._dtype()
        delta, U, G = (p.astype(dtype) for p in (self.delta, self.U, self.G))
        H = jnp.zeros((self.cutoff**2,) * 2, dtype)
        for x in mode_operators(self.cutoff, dtype):
            xd = x.conj().T
            x2, xd2 = x @ x, xd @ xd
            H = H + delta * (xd @ x) + (U / 2) * (xd2 @ x2) + (G / 2) * (xd2 + x2)
        return H

    def jump_operators(self) -> Array:
        """(L₁, L₂[, √η a², √η b²]) stacked as ``(k, n, n)``."""
        dtype = self._dtype()
        a, b = mode_operators(self.cutoff, dtype)
        sk = jnp.sqrt(self.kappa).astype(dtype)
        ch, sh = jnp.cosh(self.r).astype(dtype), jnp.sinh(self.r).astype(dtype)
        phase = jnp.exp(1j * self.phi.astype(dtype))
        jumps = [
            sk * (ch * a - phase * sh * b.conj().T),
            sk * (ch * b - phase * sh * a.conj().T),
        ]
        if self.eta is not None:
            se = jnp.sqrt(self.eta).astype(dtype)
            jumps += [se * (a @ a), se * (b @ b)]
        return jnp.stack(jumps)

    def lindbladian(self) -> Lindbladian:
        """The master equation of the module docstring as a ``qdiss.Lindbladian``."""
        return Lindbladian(self.hamiltonian(), self.jump_operators(), dims=self.dims, modes=(0, 1))


def mean_field_photon_density(delta, U0, G, kappa, eta0=0.0) -> Array:
    r"""Stationary mean-field |β|² = ⟨x†x⟩/L per resonator in the scaled model (U = U₀/L, η = η₀/L).

    Nonzero solutions of the module docstring's mean-field equation satisfy
    (κ/2 + η₀n)² + (Δ + U₀n)² = G², i.e.
    (U₀² + η₀²) n² + 2(ΔU₀ + κη₀/2) n + Δ² + κ²/4 − G² = 0; returns its largest non-negative
    root (0 where there is none, e.g. below threshold without bistability). Needs U₀² + η₀² > 0.
    """
    qa = U0**2 + eta0**2
    qb = 2 * (delta * U0 + kappa * eta0 / 2)
    qc = delta**2 + kappa**2 / 4 - G**2
    disc = qb**2 - 4 * qa * qc
    root = (-qb + jnp.sqrt(jnp.maximum(disc, 0.0))) / (2 * qa)
    return jnp.where((disc >= 0) & (root > 0), root, 0.0)


class CollectiveMoments(NamedTuple):
    """n_± = ⟨c_±†c_±⟩ (real), m_± = ⟨c_±²⟩ (complex) of the collective modes c_± = (a ± b)/√2."""

    n_plus: Array
    m_plus: Array
    n_minus: Array
    m_minus: Array


def _cutoff_of(rho: Array) -> int:
    n = rho.shape[-1]
    cutoff = int(round(np.sqrt(n)))
    if cutoff * cutoff != n:
        raise ValueError(f"`rho` must act on a two-mode space of dimension cutoff²; got n = {n}.")
    return cutoff


def _expect(op: Array, rho: Array) -> Array:
    return jnp.einsum("ij,ji->", op, rho)


def collective_moments(rho: Array) -> CollectiveMoments:
    """⟨c_±†c_±⟩ and ⟨c_±²⟩ of a two-mode state ``rho`` (dimension cutoff², ordering a ⊗ b)."""
    cp, cm = collective_operators(_cutoff_of(rho), rho.dtype)
    n_p = jnp.real(_expect(cp.conj().T @ cp, rho))
    n_m = jnp.real(_expect(cm.conj().T @ cm, rho))
    return CollectiveMoments(n_p, _expect(cp @ cp, rho), n_m, _expect(cm @ cm, rho))


def local_moments(rho: Array) -> dict[str, Array]:
    """Local and cross moments: ⟨a†a⟩, ⟨b†b⟩ (real), ⟨a⟩, ⟨a²⟩, ⟨b²⟩, ⟨ab⟩, ⟨a†b⟩ (complex)."""
    a, b = mode_operators(_cutoff_of(rho), rho.dtype)
    ad, bd = a.conj().T, b.conj().T
    return {
        "n_a": jnp.real(_expect(ad @ a, rho)),
        "n_b": jnp.real(_expect(bd @ b, rho)),
        "a": _expect(a, rho),
        "a2": _expect(a @ a, rho),
        "b2": _expect(b @ b, rho),
        "ab": _expect(a @ b, rho),
        "adag_b": _expect(ad @ b, rho),
    }


def quadrature_variances(rho: Array, mode: Array) -> dict[str, Array]:
    r"""Quadrature variances of a mode operator c (e.g. from :func:`collective_operators`).

    X_θ = (c e^{−iθ} + c† e^{iθ})/√2 (vacuum variance ½). With δc = c − ⟨c⟩,
    Var X_θ = ½ + ⟨δc†δc⟩ + Re(e^{−2iθ}⟨δc²⟩); returns ``x`` (θ = 0), ``p`` (θ = π/2) and the
    extremes over θ, ``min`` = ½ + ⟨δc†δc⟩ − |⟨δc²⟩| and ``max`` = ½ + ⟨δc†δc⟩ + |⟨δc²⟩|
    (``min`` < ½: squeezed below vacuum).
    """
    mode = jnp.asarray(mode).astype(rho.dtype)
    mean = _expect(mode, rho)
    n = jnp.real(_expect(mode.conj().T @ mode, rho)) - jnp.abs(mean) ** 2
    m = _expect(mode @ mode, rho) - mean**2
    return {
        "x": 0.5 + n + jnp.real(m),
        "p": 0.5 + n - jnp.real(m),
        "min": 0.5 + n - jnp.abs(m),
        "max": 0.5 + n + jnp.abs(m),
    }


def gaussian_collective_moments(delta, G, kappa, r, phi) -> CollectiveMoments:
    r"""Stationary n_± and m_± of the linear model (U = η = 0), below threshold G < G_c.

    Per mode s = ± (module docstring), with N = sinh² r and M_± = ±e^{iφ} sinh r cosh r:

        κ n_s = κN − 2G Im m_s,     (κ + 2iΔ) m_s = κM_s − iG(2n_s + 1),

    solved as a 3 × 3 real linear system in (n_s, Re m_s, Im m_s). JAX function: works under
    ``jit``/``vmap``/``grad``. Above threshold there is no stationary Gaussian state (the
    solution returned is then meaningless: check ``G < √(Δ² + κ²/4)``).
    """
    delta, G, kappa, r, phi = (jnp.asarray(x) for x in (delta, G, kappa, r, phi))
    rdtype = real_dtype(*[x.dtype for x in (delta, G, kappa, r, phi)])
    delta, G, kappa, r, phi = (x.astype(rdtype) for x in (delta, G, kappa, r, phi))
    N = jnp.sinh(r) ** 2
    sc = jnp.sinh(r) * jnp.cosh(r)
    zero = jnp.zeros_like(kappa)
    # Unknowns (n, x, y) with m = x + iy:
    #   κ n + 2G y = κN
    #   Re: κ x − 2Δ y = κ Re M            Im: 2Δ x + κ y + 2G n = κ Im M − G
    A = jnp.stack(
        [
            jnp.stack([kappa, zero, 2 * G]),
            jnp.stack([zero, kappa, -2 * delta]),
            jnp.stack([2 * G, 2 * delta, kappa]),
        ]
    )
    out = []
    for sign in (1.0, -1.0):
        re_m, im_m = sign * sc * jnp.cos(phi), sign * sc * jnp.sin(phi)
        rhs = jnp.stack([kappa * N, kappa * re_m, kappa * im_m - G])
        n, x, y = _linalg.solve(A, rhs)
        out += [n, jax.lax.complex(x, y)]
    return CollectiveMoments(*out)


def lyapunov_covariance(drift: np.ndarray, diffusion: np.ndarray) -> np.ndarray:
    """Stationary covariance σ of dx/dt = A x + noise: A σ + σ Aᵀ + D = 0 (SciPy, numpy arrays)."""
    return scipy.linalg.solve_continuous_lyapunov(drift, -diffusion)


def gaussian_drift_diffusion(delta, G, kappa, r, phi) -> tuple[np.ndarray, np.ndarray]:
    r"""Drift A and diffusion D of the quadratures x = (q_a, p_a, q_b, p_b) (U = η = 0).

    a = (q_a + ip_a)/√2, [x_i, x_j] = iΩ_ij. For H = ½ xᵀ H_m x and jump operators
    L_k = Σ_j C_kj x_j, with M = C†C, the covariance σ_ij = ⟨{x_i, x_j}⟩ − 2⟨x_i⟩⟨x_j⟩ (vacuum:
    σ = I) obeys

        d⟨x⟩/dt = A⟨x⟩,    dσ/dt = Aσ + σAᵀ + D,    A = Ω(H_m + Im M),    D = 2 Ω (Re M) Ωᵀ.

    Here H_m = diag(Δ+G, Δ−G, Δ+G, Δ−G) (from Δx†x + (G/2)(x†² + x²) up to a constant) and C holds
    L₁, L₂ of the module docstring. Numpy (not traced).
    """
    delta, G, kappa, r, phi = (float(x) for x in (delta, G, kappa, r, phi))
    s2 = np.sqrt(2.0)
    # Coefficients of a, a†, b, b† on (q_a, p_a, q_b, p_b).
    ann_a = np.array([1, 1j, 0, 0]) / s2
    cre_a = np.array([1, -1j, 0, 0]) / s2
    ann_b = np.array([0, 0, 1, 1j]) / s2
    cre_b = np.array([0, 0, 1, -1j]) / s2
    ch, sh, ph = np.cosh(r), np.sinh(r), np.exp(1j * phi)
    C = np.sqrt(kappa) * np.array([ch * ann_a - ph * sh * cre_b, ch * ann_b - ph * sh * cre_a])
    M = C.conj().T @ C
    omega = np.kron(np.eye(2), np.array([[0.0, 1.0], [-1.0, 0.0]]))
    Hm = np.diag([delta + G, delta - G, delta + G, delta - G])
    drift = omega @ (Hm + M.imag)
    diffusion = 2 * omega @ M.real @ omega.T
    return drift, diffusion


def gaussian_covariance(delta, G, kappa, r, phi) -> np.ndarray:
    r"""Stationary quadrature covariance σ of the linear model (U = η = 0), below threshold.

    Solves the Lyapunov equation Aσ + σAᵀ + D = 0 with A, D from :func:`gaussian_drift_diffusion`
    (SciPy): an independent check of :func:`gaussian_collective_moments` through
    :func:`covariance_to_collective_moments`.
    """
    return lyapunov_covariance(*gaussian_drift_diffusion(delta, G, kappa, r, phi))


def covariance_to_collective_moments(sigma: np.ndarray) -> CollectiveMoments:
    """n_± and m_± from a zero-mean covariance σ of (q_a, p_a, q_b, p_b) (σ = I for vacuum).

    q_± = (q_a ± q_b)/√2 (same for p); n = (σ_qq + σ_pp)/4 − ½, m = (σ_qq − σ_pp)/4 + iσ_qp/2.
    """
    out = []
    for sign in (1.0, -1.0):
        t = np.array([[1, 0, sign, 0], [0, 1, 0, sign]]) / np.sqrt(2.0)
        s = t @ sigma @ t.T
        out += [(s[0, 0] + s[1, 1]) / 4 - 0.5, (s[0, 0] - s[1, 1]) / 4 + 0.5j * s[0, 1]]
    return CollectiveMoments(*out)
