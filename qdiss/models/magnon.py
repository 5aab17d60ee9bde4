r"""Qubits in a pumped magnon bath: steady-state entanglement from a broken conservation law.

Hou, Kleinherbers, Kelly & Tserkovnyak, *Breaking a conservation law enables steady-state
entanglement out of equilibrium*, arXiv:2508.18131.

M identical qubits (frequency ω, no direct coupling) share a bath with C channels. Channel c has
rate Γ_c, spatial correlation η_c and effective chemical potential μ_c at temperature T:

    n_c = 1/(e^{(ω − μ_c)/T} − 1),   Γ↓_c = Γ_c (1 + n_c),   Γ↑_c = Γ_c n_c,

    dρ/dt = Σ_c Σ_ij K^c_ij [Γ↓_c (σ⁻_j ρ σ⁺_i − ½{σ⁺_iσ⁻_j, ρ})
                            + Γ↑_c (σ⁺_j ρ σ⁻_i − ½{σ⁻_iσ⁺_j, ρ})].

Correlation structure: K^c = [[1, η_c], [η_c, 1]] for two qubits; for M qubits qdiss takes the
same correlation between every pair, K^c = (1 − η_c) I + η_c 𝟙𝟙ᵀ (positive semidefinite for
−1/(M−1) ≤ η_c ≤ 1). H = 0: the frame rotates at ω, which enters only through n_c. The jump
operators come from :func:`qdiss.thermal_bath_jumps` (K^{1/2} factorisation, differentiable at
η = 0), so ``jax.grad`` reaches η, Γ, μ, T and ω.

**Closed form (two qubits).** The steady state is diagonal in {|gg⟩, |Ψ+⟩, |Ψ−⟩, |ee⟩},
Ψ± = (|eg⟩ ± |ge⟩)/√2: a Markov chain gg →(u±) Ψ± →(u±) ee and back with d±,

    u_± = Σ_c Γ↑_c (1 ± η_c),   d_± = Σ_c Γ↓_c (1 ± η_c),

and the concurrence is C = max(0, |p₊ − p₋| − 2√(p_gg p_ee)) (:func:`closed_form_concurrence`).
**No-go:** the chain obeys detailed balance iff u₊d₋ = u₋d₊ (Kolmogorov's criterion on its one
cycle); then p₊/p_gg = u₊/d₊ = u₋/d₋ = p₋/p_gg, so p₊ = p₋ and C = 0 exactly. A single channel,
channels with equal η, or with equal n (equal μ) all satisfy it: entanglement needs channels
that differ in both η and μ (:func:`detailed_balance_violation`). At η_c = 1 for every channel
u₋ = d₋ = 0: the singlet decouples and the steady state is not unique.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _linalg, measures
from .._baths import bose_occupation, thermal_bath_jumps
from .._checks import check_concrete
from .._lindbladian import Lindbladian
from .._numerics import complex_dtype, real_dtype
from .emitters import site_operators

__all__ = [
    "MagnonBathQubits",
    "closed_form_concurrence",
    "collective_rates",
    "detailed_balance_violation",
    "markov_chain_density_matrix",
    "markov_chain_steady_state",
    "uniform_correlation_matrix",
]


def _channel_arrays(eta, rate, mu):
    eta, rate, mu = (jnp.atleast_1d(jnp.asarray(x)) for x in (eta, rate, mu))
    for name, x in (("eta", eta), ("rate", rate), ("mu", mu)):
        if x.ndim != 1:
            raise ValueError(f"`{name}` must be a scalar or a vector (one entry per channel).")
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            raise TypeError(f"`{name}` must be real; got dtype {x.dtype}.")
    if not eta.shape == rate.shape == mu.shape:
        raise ValueError(
            "`eta`, `rate` and `mu` must have one entry per channel (the same shape); got "
            f"{eta.shape}, {rate.shape}, {mu.shape}."
        )
    return eta, rate, mu


def collective_rates(eta, rate, mu, temperature, omega=1.0) -> tuple[Array, Array, Array, Array]:
    r"""(u₊, u₋, d₊, d₋) = (Σ_c Γ↑_c(1 ± η_c), Σ_c Γ↓_c(1 ± η_c)) of the two-qubit chain.

    Γ↑_c = Γ_c n_c, Γ↓_c = Γ_c(1 + n_c), n_c = 1/(e^{(ω−μ_c)/T} − 1).
    """
    eta, rate, mu = _channel_arrays(eta, rate, mu)
    n = bose_occupation(omega, temperature, mu)
    up, down = rate * n, rate * (1 + n)
    return (
        jnp.sum(up * (1 + eta)),
        jnp.sum(up * (1 - eta)),
        jnp.sum(down * (1 + eta)),
        jnp.sum(down * (1 - eta)),
    )


def markov_chain_steady_state(eta, rate, mu, temperature, omega=1.0) -> Array:
    r"""Populations (p_gg, p₊, p₋, p_ee) of the two-qubit steady state (module docstring).

    The stationary vector of the rate matrix Q (Q[to, from]; gg→Ψ± at u±, Ψ±→ee at u±,
    ee→Ψ± and Ψ±→gg at d±), from Q p = 0 with Σ p = 1 as a 4×4 linear solve (differentiable).
    Not unique when u₋ = d₋ = 0 or u₊ = d₊ = 0 (η_c = ±1 everywhere).
    """
    u_p, u_m, d_p, d_m = collective_rates(eta, rate, mu, temperature, omega)
    zero = jnp.zeros_like(u_p)
    # columns: from gg, Ψ+, Ψ−, ee; rows: to
    q = jnp.stack(
        [
            jnp.stack([-(u_p + u_m), d_p, d_m, zero]),
            jnp.stack([u_p, -(u_p + d_p), zero, d_p]),
            jnp.stack([u_m, zero, -(u_m + d_m), d_m]),
            jnp.stack([zero, u_p, u_m, -(d_p + d_m)]),
        ]
    )
    a = q.at[3].set(jnp.ones(4, q.dtype))
    b = jnp.zeros(4, q.dtype).at[3].set(1.0)
    return _linalg.solve(a, b)


def closed_form_concurrence(eta, rate, mu, temperature, omega=1.0) -> Array:
    r"""C = max(0, |p₊ − p₋| − 2√(p_gg p_ee)) from :func:`markov_chain_steady_state`.

    (Wootters' concurrence of the X state Σ_s p_s |s⟩⟨s|.)
    """
    p = markov_chain_steady_state(eta, rate, mu, temperature, omega)
    return jnp.maximum(0.0, jnp.abs(p[1] - p[2]) - 2 * jnp.sqrt(p[0] * p[3]))


def markov_chain_density_matrix(eta, rate, mu, temperature, omega=1.0) -> Array:
    r"""The two-qubit steady state Σ_s p_s |s⟩⟨s| (s = gg, Ψ+, Ψ−, ee) in the qubit basis
    (ee, eg, ge, gg), as a ``(4, 4)`` complex matrix."""
    p = markov_chain_steady_state(eta, rate, mu, temperature, omega)
    r = 1 / np.sqrt(2)
    states = np.array(
        [[0, 0, 0, 1], [0, r, r, 0], [0, r, -r, 0], [1, 0, 0, 0]], complex
    )  # rows: gg, Ψ+, Ψ−, ee in the basis (ee, eg, ge, gg)
    dtype = complex_dtype(p)
    states = jnp.asarray(states, dtype)
    return jnp.einsum("s,sa,sb->ab", p.astype(dtype), states, states.conj())


def detailed_balance_violation(eta, rate, mu, temperature, omega=1.0) -> Array:
    r"""u₊d₋ − u₋d₊: zero iff the two-qubit chain obeys detailed balance (then C = 0 exactly).

    Kolmogorov's criterion on the cycle gg → Ψ+ → ee → Ψ− → gg: u₊²d₋² = u₋²d₊². Non-zero
    is necessary for entanglement, not sufficient.
    """
    u_p, u_m, d_p, d_m = collective_rates(eta, rate, mu, temperature, omega)
    return u_p * d_m - u_m * d_p


def uniform_correlation_matrix(eta, num_qubits: int) -> Array:
    r"""K = (1 − η) I + η 𝟙𝟙ᵀ: correlation η between every pair of the M qubits."""
    eta = jnp.asarray(eta)
    eye = jnp.eye(num_qubits, dtype=eta.dtype)
    return (1 - eta) * eye + eta * jnp.ones((num_qubits, num_qubits), eta.dtype)


class MagnonBathQubits(eqx.Module):
    r"""M qubits in a pumped magnon bath with C channels (module docstring; arXiv:2508.18131).

    ``MagnonBathQubits(eta, rate, mu, temperature, omega=1.0, num_qubits=2)``

    - ``eta`` (C,): spatial correlation η_c of each channel (K^c = (1−η_c)I + η_c𝟙𝟙ᵀ).
    - ``rate`` (C,): Γ_c; ``mu`` (C,): effective chemical potential μ_c < ω.
    - ``temperature`` T > 0; ``omega``: the qubit frequency ω (enters only through n_c).
    - ``num_qubits``: M (static).

    All parameters are real pytree leaves. :meth:`lindbladian` gives the master equation (H = 0
    in the rotating frame); for two qubits the closed-form methods give the exact steady state.
    """

    eta: Array
    rate: Array
    mu: Array
    temperature: Array
    omega: Array
    num_qubits: int = eqx.field(static=True)
    domains: ClassVar[dict] = dict(
        eta="real", rate="rate", mu="real", temperature="positive", omega="real", num_qubits="int"
    )
    figures_of_merit: ClassVar[dict] = {
        "closed_form_concurrence": lambda model, rho: model.closed_form_concurrence(),
        "detailed_balance_violation": lambda model, rho: model.detailed_balance_violation(),
    }

    def __init__(self, eta, rate, mu, temperature, omega=1.0, num_qubits=2):
        eta, rate, mu = _channel_arrays(eta, rate, mu)
        temperature, omega = jnp.asarray(temperature), jnp.asarray(omega)
        if temperature.ndim or omega.ndim:
            raise ValueError("`temperature` and `omega` must be scalars.")
        if isinstance(num_qubits, bool) or int(num_qubits) != num_qubits or num_qubits < 2:
            raise ValueError(f"`num_qubits` must be an integer ≥ 2; got {num_qubits!r}.")
        self.num_qubits = int(num_qubits)
        floats = [eta, rate, mu, temperature, omega]
        real = real_dtype(*floats)  # float32 only from float32 inputs (Python floats: default)
        self.eta, self.rate, self.mu, self.temperature, self.omega = (
            x.astype(real) for x in floats
        )
        lower = -1.0 / (self.num_qubits - 1)
        check_concrete(
            (self.eta > 1) | (self.eta < lower),
            f"`eta` must lie in [{lower:g}, 1] for {self.num_qubits} qubits (a positive "
            "semidefinite correlation matrix).",
            lambda: f"Got {np.asarray(self.eta)}.",
        )
        check_concrete(
            self.rate < 0, "`rate` must be non-negative.", lambda: f"Got {np.asarray(self.rate)}."
        )

    @property
    def num_channels(self) -> int:
        return self.eta.shape[0]

    def occupations(self) -> Array:
        """n_c = 1/(e^{(ω − μ_c)/T} − 1)."""
        return bose_occupation(self.omega, self.temperature, self.mu)

    def correlation_matrix(self, channel: int) -> Array:
        """K^c = (1 − η_c) I + η_c 𝟙𝟙ᵀ (``[[1, η], [η, 1]]`` for two qubits)."""
        return uniform_correlation_matrix(self.eta[channel], self.num_qubits)

    def lowering_operators(self) -> Array:
        """σ⁻_i on the M-qubit space, ``(M, 2^M, 2^M)`` (basis index 0 = |e⟩)."""
        return site_operators("-", self.num_qubits, complex_dtype(self.eta))

    def jump_ops(self) -> Array:
        """All channels' jump operators from :func:`qdiss.thermal_bath_jumps` (2M per channel)."""
        lowering = self.lowering_operators()
        n = self.occupations()
        return jnp.concatenate(
            [
                thermal_bath_jumps(
                    self.correlation_matrix(c), lowering, self.rate[c], occupation=n[c]
                )
                for c in range(self.num_channels)
            ]
        )

    def lindbladian(self) -> Lindbladian:
        """The master equation of the module docstring (H = 0), ``dims = (2,)*M``."""
        jumps = self.jump_ops()
        dim = 2**self.num_qubits
        return Lindbladian(jnp.zeros((dim, dim), jumps.dtype), jumps, dims=(2,) * self.num_qubits)

    def _check_two_qubits(self, what: str):
        if self.num_qubits != 2:
            raise ValueError(
                f"{what} is the two-qubit closed form; this model has M = {self.num_qubits} qubits."
            )

    def markov_chain_steady_state(self) -> Array:
        """(p_gg, p₊, p₋, p_ee): :func:`markov_chain_steady_state` (two qubits)."""
        self._check_two_qubits("markov_chain_steady_state")
        return markov_chain_steady_state(self.eta, self.rate, self.mu, self.temperature, self.omega)

    def closed_form_concurrence(self) -> Array:
        """:func:`closed_form_concurrence` (two qubits)."""
        self._check_two_qubits("closed_form_concurrence")
        return closed_form_concurrence(self.eta, self.rate, self.mu, self.temperature, self.omega)

    def closed_form_state(self) -> Array:
        """:func:`markov_chain_density_matrix` (two qubits)."""
        self._check_two_qubits("closed_form_state")
        args = (self.eta, self.rate, self.mu, self.temperature, self.omega)
        return markov_chain_density_matrix(*args)

    def detailed_balance_violation(self) -> Array:
        """:func:`detailed_balance_violation` (two qubits)."""
        self._check_two_qubits("detailed_balance_violation")
        args = (self.eta, self.rate, self.mu, self.temperature, self.omega)
        return detailed_balance_violation(*args)

    @staticmethod
    def concurrence(rho: Array) -> Array:
        """Wootters' concurrence of a two-qubit state (``qdiss.measures.concurrence``)."""
        return measures.concurrence(rho)
