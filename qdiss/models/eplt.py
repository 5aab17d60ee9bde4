r"""Entanglement-preserving local thermalisation (EPLT) as a model with physical parameters.

Hsieh, Lostaglio & Acín, *Entanglement preserving local thermalization*, arXiv:1904.07945
(``notebooks/03_eplt_channels.ipynb``). A channel, not a Lindbladian: each party's state is replaced
by its thermal state τ_X = e^{−H_X/T}/Z, yet some entanglement survives. For local dimension d

    E_γ(ρ) = γ T(ρ) + (1 − γ) σ_A ⊗ σ_B,   σ_X = (τ_X − γ I/d)/(1 − γ),   0 < γ ≤ d·P_min,

T the isotropic twirl (F = ⟨Φ⁺|ρ|Φ⁺⟩ kept), P_min the smallest eigenvalue of τ_A, τ_B. The
output marginals are τ_A, τ_B for every input. γ = d·P_min (the default here) keeps the most
entanglement. For N parties the GHZ twirl replaces T (:class:`GHZLocalThermalisation`).

The models hold energies and temperatures (real pytree leaves) and build the channel with
:func:`qdiss.channels.eplt_channel` / :func:`qdiss.channels.ghz_eplt_channel`; gradients reach
energies, temperatures and γ (with the default γ = d·P_min, through P_min).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from .. import _linalg, channels

__all__ = ["GHZLocalThermalisation", "LocalThermalisation", "maximal_gamma"]


def _float(x) -> Array:
    """A strong (not weakly typed) floating array; integers become the default float."""
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"Expected real values; got dtype {x.dtype}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return x.astype(jnp.zeros(()).dtype)
    return x.astype(x.dtype)


def _energies(x, name: str) -> Array:
    x = _float(x)
    if x.ndim != 1 or x.shape[0] < 2:
        raise ValueError(f"`{name}` must be a vector of d ≥ 2 energies; got shape {x.shape}.")
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"`{name}` must be real.")
    return x


def _temperatures(t, parties: int) -> Array:
    t = _float(t)
    if t.ndim == 0:
        return t
    if t.shape != (parties,):
        raise ValueError(
            f"`temperature` must be a scalar or one per party, shape ({parties},); got {t.shape}."
        )
    return t


def maximal_gamma(taus) -> Array:
    """γ_max = d·P_min, P_min the smallest eigenvalue of the local states ``taus`` (N, d, d)."""
    taus = jnp.asarray(taus)
    d = taus.shape[-1]
    return d * jnp.min(_linalg.eigvalsh_differentiable(taus))


class LocalThermalisation(eqx.Module):
    r"""Two parties, local dimension d, thermalised to τ_A, τ_B by E_γ (module docstring).

    ``LocalThermalisation(energies_a, energies_b, temperature, gamma=None)``

    - ``energies_a``, ``energies_b``: the d energy levels of each party, listed in the basis of
      the state (for a qubit in qdiss' basis (e, g): ``[ω/2, −ω/2]``; see :meth:`qubits`).
    - ``temperature``: T > 0, a scalar or ``(T_A, T_B)``.
    - ``gamma``: 0 < γ ≤ d·P_min; ``None`` (default) takes γ = d·P_min.
    """

    energies_a: Array
    energies_b: Array
    temperature: Array
    gamma: Array | None

    def __init__(self, energies_a, energies_b, temperature, gamma=None):
        self.energies_a = _energies(energies_a, "energies_a")
        self.energies_b = _energies(energies_b, "energies_b")
        if self.energies_a.shape != self.energies_b.shape:
            raise ValueError(
                "Both parties must have the same local dimension d (the isotropic twirl acts on "
                f"d⊗d); got {self.energies_a.shape[0]} and {self.energies_b.shape[0]} levels."
            )
        self.temperature = _temperatures(temperature, 2)
        self.gamma = None if gamma is None else _float(gamma)

    @classmethod
    def qubits(cls, omega, temperature, gamma=None) -> LocalThermalisation:
        """Two qubits of frequency ω: energies (ω/2, −ω/2) in the basis (e, g)."""
        omega = jnp.asarray(omega)
        energies = jnp.stack([omega / 2, -omega / 2])
        return cls(energies, energies, temperature, gamma)

    @property
    def d(self) -> int:
        return self.energies_a.shape[0]

    def thermal_states(self) -> tuple[Array, Array]:
        """(τ_A, τ_B), τ = diag(e^{−E_k/T})/Z (:func:`qdiss.channels.thermal_state`)."""
        t = jnp.broadcast_to(self.temperature, (2,))
        return (
            channels.thermal_state(self.energies_a, t[0]),
            channels.thermal_state(self.energies_b, t[1]),
        )

    def maximal_gamma(self) -> Array:
        """d·P_min over τ_A and τ_B."""
        return maximal_gamma(jnp.stack(self.thermal_states()))

    def effective_gamma(self) -> Array:
        """γ as used: the given value, else d·P_min."""
        return self.maximal_gamma() if self.gamma is None else self.gamma

    def channel(self) -> channels.EPLTChannel:
        """E_γ as a :class:`qdiss.channels.EPLTChannel` (validates 0 < γ ≤ d·P_min)."""
        tau_a, tau_b = self.thermal_states()
        return channels.eplt_channel(tau_a, tau_b, self.effective_gamma())

    def __call__(self, rho) -> Array:
        """E_γ(ρ) (``rho`` of shape ``(..., d², d²)``)."""
        return self.channel()(rho)


class GHZLocalThermalisation(eqx.Module):
    r"""N parties thermalised by the GHZ-twirl version of E_γ (module docstring):

        E_γ(ρ) = γ T_GHZ(ρ) + (1 − γ) ⊗_i σ_i,   σ_i = (τ_i − γ I/d)/(1 − γ),

    which keeps ⟨GHZ|ρ|GHZ⟩ under the twirl; for qubits with equal τ and γ = 2P_min a GHZ input
    keeps fidelity (1 + γ)/2 > ½ (genuine N-partite entanglement) at every T > 0.

    ``GHZLocalThermalisation(energies, temperature, num_parties, gamma=None)``: ``energies``
    (d,) shared by all parties or (N, d) one row per party; ``temperature`` scalar or (N,);
    ``num_parties`` N ≥ 2 (static); ``gamma`` as in :class:`LocalThermalisation`.
    """

    energies: Array
    temperature: Array
    gamma: Array | None
    num_parties: int = eqx.field(static=True)

    def __init__(self, energies, temperature, num_parties, gamma=None):
        if isinstance(num_parties, bool) or int(num_parties) != num_parties or num_parties < 2:
            raise ValueError(f"`num_parties` must be an integer ≥ 2; got {num_parties!r}.")
        self.num_parties = int(num_parties)
        energies = _float(energies)
        if energies.ndim == 1:
            energies = _energies(energies, "energies")
        elif energies.ndim != 2 or energies.shape[0] != self.num_parties or energies.shape[1] < 2:
            raise ValueError(
                f"`energies` must be (d,) or ({self.num_parties}, d); got shape {energies.shape}."
            )
        self.energies = energies
        self.temperature = _temperatures(temperature, self.num_parties)
        self.gamma = None if gamma is None else _float(gamma)

    @classmethod
    def qubits(cls, omega, temperature, num_parties, gamma=None) -> GHZLocalThermalisation:
        """N qubits of frequency ω: energies (ω/2, −ω/2) in the basis (e, g)."""
        omega = jnp.asarray(omega)
        return cls(jnp.stack([omega / 2, -omega / 2]), temperature, num_parties, gamma)

    @property
    def d(self) -> int:
        return self.energies.shape[-1]

    def thermal_states(self) -> Array:
        """τ_i for each party, ``(N, d, d)``."""
        n = self.num_parties
        energies = jnp.broadcast_to(self.energies, (n, self.d))
        temps = jnp.broadcast_to(self.temperature, (n,))
        return jnp.stack([channels.thermal_state(energies[i], temps[i]) for i in range(n)])

    def maximal_gamma(self) -> Array:
        """d·P_min over all τ_i."""
        return maximal_gamma(self.thermal_states())

    def effective_gamma(self) -> Array:
        return self.maximal_gamma() if self.gamma is None else self.gamma

    def channel(self) -> channels.GHZEPLTChannel:
        """The channel as a :class:`qdiss.channels.GHZEPLTChannel`."""
        return channels.ghz_eplt_channel(self.thermal_states(), self.effective_gamma())

    def __call__(self, rho) -> Array:
        return self.channel()(rho)
