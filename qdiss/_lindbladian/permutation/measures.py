r"""Observables of permutation-invariant states, computed on the blocks (no 2^N matrices).

A permutation-invariant state of N spin-½ is given by its blocks ρ̃_j, an array ``(B, D, D)``
(``qdiss.PermutationInvariantLindbladian``; ``N = D − 1``). For a collective operator
O = ⊕_j O_j ⊗ I_{d_j}, ⟨O⟩ = Σ_j tr(O_j ρ̃_j); the collective spin is J_a = ½ Σᵢ σᵃᵢ (written S_a
in ``qdiss.measures``). Single-site and two-site expectations follow from permutation symmetry:

    ⟨σ⁺ᵢσ⁻ᵢ⟩ = (⟨J_z⟩ + N/2)/N,     ⟨σ⁺ᵢσ⁻ⱼ⟩ = (⟨J₊J₋⟩ − ⟨J_z⟩ − N/2)/(N(N − 1))  (i ≠ j),
    ⟨σᶻᵢσᶻⱼ⟩ = (4⟨J_z²⟩ − N)/(N(N − 1)),

from Σ_{i≠j} σ⁺ᵢσ⁻ⱼ = J₊J₋ − Σᵢ σ⁺ᵢσ⁻ᵢ and σ⁺σ⁻ = (1 + σᶻ)/2. All are polynomials in ρ̃ (smooth)
and work under ``jit``, ``vmap`` and ``grad``. The squeezing parameters follow the same
definitions as ``qdiss.measures`` (Wineland et al., PRA 50, 67 (1994); Kitagawa & Ueda, PRA 47,
5138 (1993)).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..._numerics import complex_of, min_perpendicular_variance
from ._terms import _band_product, _shift, cartesian_bands, spin_bands
from .lindbladian import _num_spins_of

__all__ = [
    "pi_excited_population",
    "pi_pair_correlation",
    "pi_spin_moments",
    "pi_kitagawa_ueda_squeezing",
    "pi_wineland_squeezing",
    "pi_zz_correlation",
]


def _band_trace(bands: dict[int, Array], rho: Array) -> Array:
    """tr(A ρ) summed over blocks = Σ_{b,p,d} A_d[b, p] ρ[b, p+d, p]."""
    total = 0
    for d, band in bands.items():
        shifted = _shift(rho, (0, d, 0))  # shifted[b, p, q] = ρ[b, p+d, q]
        total = total + jnp.sum(band * jnp.diagonal(shifted, axis1=-2, axis2=-1))
    return total


def _complex(rho: Array) -> Array:
    rho = jnp.asarray(rho)
    return rho.astype(complex_of(rho.dtype))


@jax.jit
def pi_spin_moments(rho: Array) -> tuple[Array, Array]:
    r"""Mean ⟨J_a⟩ and symmetrised covariance C_ab = ⟨{J_a, J_b}⟩/2 − ⟨J_a⟩⟨J_b⟩ (real ``(3,)``
    and ``(3, 3)``) of a permutation-invariant state with unit trace, as
    ``qdiss.measures.spin_moments`` returns them for the full state."""
    rho = _complex(rho)
    num_spins = _num_spins_of(rho)
    ops = cartesian_bands(num_spins, rho.dtype)
    mean = jnp.stack([jnp.real(_band_trace(op, rho)) for op in ops])
    second = jnp.stack(
        [jnp.stack([jnp.real(_band_trace(_band_product(a, b), rho)) for b in ops]) for a in ops]
    )
    second = (second + second.T) / 2
    return mean, second - jnp.outer(mean, mean)


def pi_wineland_squeezing(rho: Array) -> Array:
    r"""ξ²_R = N · min_{n ⟂ ⟨J⟩} Var(J·n) / |⟨J⟩|² of a permutation-invariant state (moments
    from :func:`pi_spin_moments`). Coherent spin states give 1; ξ²_R < 1 certifies
    entanglement. ``+inf`` when ⟨J⟩ = 0."""
    mean, cov = pi_spin_moments(rho)
    var = min_perpendicular_variance(mean, cov)
    norm2 = mean @ mean
    nonzero = norm2 > 0
    num_spins = _num_spins_of(rho)
    return jnp.where(nonzero, num_spins * var / jnp.where(nonzero, norm2, 1.0), jnp.inf)


def pi_kitagawa_ueda_squeezing(rho: Array) -> Array:
    r"""ξ²_S = 4 min_{n ⟂ ⟨J⟩} Var(J·n) / N of a permutation-invariant state (for ⟨J⟩ = 0 the
    minimum over all directions). Coherent spin states give 1."""
    mean, cov = pi_spin_moments(rho)
    return 4 * min_perpendicular_variance(mean, cov) / _num_spins_of(rho)


def pi_excited_population(rho: Array) -> Array:
    r"""⟨σ⁺ᵢσ⁻ᵢ⟩ = (⟨J_z⟩ + N/2)/N, the excited-state population of each spin (real)."""
    rho = _complex(rho)
    num_spins = _num_spins_of(rho)
    _, _, jz = spin_bands(num_spins, rho.dtype)
    return (jnp.real(_band_trace(jz, rho)) + num_spins / 2) / num_spins


def pi_pair_correlation(rho: Array) -> Array:
    r"""⟨σ⁺ᵢσ⁻ⱼ⟩ for i ≠ j (the same for every pair): (⟨J₊J₋⟩ − ⟨J_z⟩ − N/2)/(N(N−1)). Real
    for a permutation-invariant state (the pair (j, i) gives its conjugate). Needs N ≥ 2."""
    rho = _complex(rho)
    num_spins = _num_spins_of(rho)
    if num_spins < 2:
        raise ValueError("`pi_pair_correlation` needs at least two spins.")
    jp, jm, jz = spin_bands(num_spins, rho.dtype)
    value = _band_trace(_band_product(jp, jm), rho) - _band_trace(jz, rho) - num_spins / 2
    return jnp.real(value) / (num_spins * (num_spins - 1))


def pi_zz_correlation(rho: Array) -> Array:
    r"""⟨σᶻᵢσᶻⱼ⟩ for i ≠ j: (4⟨J_z²⟩ − N)/(N(N−1)). Needs N ≥ 2."""
    rho = _complex(rho)
    num_spins = _num_spins_of(rho)
    if num_spins < 2:
        raise ValueError("`pi_zz_correlation` needs at least two spins.")
    _, _, jz = spin_bands(num_spins, rho.dtype)
    value = 4 * jnp.real(_band_trace(_band_product(jz, jz), rho)) - num_spins
    return value / (num_spins * (num_spins - 1))
