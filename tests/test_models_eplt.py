"""Entanglement-preserving local thermalisation as a model (qdiss.models.eplt, arXiv:1904.07945):
exact thermal marginals, the two-qubit entanglement criterion and concurrence, the fully
entangled fraction identity, the GHZ fidelity for N = 3, 4 at every temperature, and gradients
against finite differences. Reference quantities (thermal states, σ_X, fidelities) are computed
here in NumPy from the formulas."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qdiss import measures
from qdiss.models import eplt


def _thermal(energies, t):
    w = np.exp(-(np.asarray(energies) - np.min(energies)) / t)
    return np.diag(w / w.sum())


def _random_state(dim, seed, rank=None):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(dim, rank or dim)) + 1j * rng.normal(size=(dim, rank or dim))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def _partial_traces(rho, d):
    r = np.asarray(rho).reshape(d, d, d, d)
    return np.einsum("ajbj->ab", r), np.einsum("iaib->ab", r)


def _phi_plus(d):
    return np.eye(d).reshape(-1) / np.sqrt(d)


@pytest.mark.parametrize(
    ("energies_a", "energies_b", "temperature", "gamma"),
    [
        ([0.5, -0.5], [0.5, -0.5], 0.7, None),
        ([0.3, -0.3], [1.0, -1.0], (0.4, 2.0), None),
        ([0.0, 1.0, 2.5], [0.2, 0.9, 1.7], 1.3, None),
        ([0.0, 1.0, 2.5], [0.2, 0.9, 1.7], 1.3, 0.05),
    ],
)
def test_output_marginals_are_thermal(energies_a, energies_b, temperature, gamma):
    model = eplt.LocalThermalisation(energies_a, energies_b, temperature, gamma)
    d = len(energies_a)
    ta, tb = np.broadcast_to(temperature, (2,))
    for seed in range(3):
        out = np.asarray(model(jnp.asarray(_random_state(d * d, seed))))
        rho_a, rho_b = _partial_traces(out, d)
        np.testing.assert_allclose(rho_a, _thermal(energies_a, ta), atol=1e-13)
        np.testing.assert_allclose(rho_b, _thermal(energies_b, tb), atol=1e-13)
    expected_gamma = d * min(
        np.min(np.diag(_thermal(energies_a, ta))), np.min(np.diag(_thermal(energies_b, tb)))
    )
    if gamma is None:
        assert float(model.effective_gamma()) == pytest.approx(expected_gamma, rel=1e-14)
    else:
        assert float(model.effective_gamma()) == gamma


@pytest.mark.parametrize("temperature", [0.1, 0.5, 2.0, 50.0])
def test_two_qubits_entangled_iff_fidelity_above_half(temperature):
    """τ = diag(p, 1−p) (basis (e, g)), γ = 2p: C(E(ρ)) = max(0, γ(2F − 1)), F = ⟨Φ⁺|ρ|Φ⁺⟩."""
    omega = 1.0
    model = eplt.LocalThermalisation.qubits(omega, temperature)
    p = 1 / (1 + np.exp(omega / temperature))
    gamma = 2 * p
    assert float(model.effective_gamma()) == pytest.approx(gamma, rel=1e-13)
    phi = _phi_plus(2)
    bell = np.outer(phi, phi)
    for k, weight in enumerate(np.linspace(0.0, 1.0, 11)):
        rho = weight * bell + (1 - weight) * _random_state(4, k, rank=2)
        fid = (phi @ rho @ phi).real
        out = model(jnp.asarray(rho))
        expected = max(0.0, gamma * (2 * fid - 1))
        assert float(measures.concurrence(out)) == pytest.approx(expected, abs=1e-12)
        if abs(fid - 0.5) > 1e-9:
            assert bool(measures.is_ppt(out)) == (fid < 0.5)


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("gamma_fraction", [1.0, 0.4])
def test_fully_entangled_fraction_identity(d, gamma_fraction):
    """⟨Φ⁺|E_γ(ρ)|Φ⁺⟩ = γF + (1 − γ) tr(σ_A σ_Bᵀ)/d, σ_X = (τ_X − γI/d)/(1 − γ)."""
    ea, eb = np.linspace(0, 1.2, d), np.linspace(0.3, -0.8, d)
    temperature = 0.9
    ta, tb = _thermal(ea, temperature), _thermal(eb, temperature)
    gamma = gamma_fraction * d * min(np.diag(ta).min(), np.diag(tb).min())
    model = eplt.LocalThermalisation(ea, eb, temperature, gamma)
    sa = (ta - gamma * np.eye(d) / d) / (1 - gamma)
    sb = (tb - gamma * np.eye(d) / d) / (1 - gamma)
    phi = _phi_plus(d)
    for seed in range(3):
        rho = _random_state(d * d, 10 + seed)
        fid = (phi @ rho @ phi).real
        expected = gamma * fid + (1 - gamma) * np.trace(sa @ sb.T).real / d
        out = model(jnp.asarray(rho))
        assert float(measures.phi_plus_fraction(out, (d, d))) == pytest.approx(expected, abs=1e-13)
    if gamma_fraction == 1.0 and d == 2:  # F_max[E(ρ)] ≥ ⟨Φ⁺|ρ|Φ⁺⟩ at γ = d·P_min, equal τ
        sym = eplt.LocalThermalisation(ea, ea, temperature)
        for seed in range(5):
            rho = _random_state(4, 20 + seed)
            fid = (phi @ rho @ phi).real
            assert float(measures.fully_entangled_fraction(sym(jnp.asarray(rho)))) >= fid - 1e-13


@pytest.mark.parametrize("n", [3, 4])
@pytest.mark.parametrize("temperature", [0.05, 0.3, 1.0, 10.0, 1000.0])
def test_ghz_fidelity_above_half_at_every_temperature(n, temperature):
    """Equal qubits, γ = 2P_min: a GHZ input keeps F = (1 + γ)/2 > ½; marginals are thermal."""
    omega = 1.0
    model = eplt.GHZLocalThermalisation.qubits(omega, temperature, n)
    ghz = np.zeros(2**n)
    ghz[0] = ghz[-1] = 1 / np.sqrt(2)
    out = np.asarray(model(jnp.asarray(np.outer(ghz, ghz))))
    p = 1 / (1 + np.exp(omega / temperature))
    fid = (ghz @ out @ ghz).real
    assert fid == pytest.approx((1 + 2 * p) / 2, abs=1e-13)
    assert fid - 0.5 == pytest.approx(p, rel=1e-5)  # > 0 at every T > 0 (p ≈ 2e-9 at T = 0.05)
    assert float(measures.ghz_fidelity(jnp.asarray(out))) == pytest.approx(fid, abs=1e-14)
    tau = np.diag([p, 1 - p])
    for k in range(n):
        marginal = np.asarray(measures.partial_trace(jnp.asarray(out), (2,) * n, (k,)))
        np.testing.assert_allclose(marginal, tau, atol=1e-14)


def test_ghz_per_party_energies_and_temperatures():
    energies = np.array([[0.5, -0.5], [0.2, -0.2], [1.0, -1.0]])
    temps = np.array([0.3, 1.0, 2.0])
    model = eplt.GHZLocalThermalisation(energies, temps, 3)
    out = jnp.asarray(model(jnp.asarray(_random_state(8, 3))))
    for k in range(3):
        marginal = np.asarray(measures.partial_trace(out, (2, 2, 2), (k,)))
        np.testing.assert_allclose(marginal, _thermal(energies[k], temps[k]), atol=1e-14)
    pmin = min(np.diag(_thermal(energies[k], temps[k])).min() for k in range(3))
    assert float(model.effective_gamma()) == pytest.approx(2 * pmin, rel=1e-14)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="same local dimension"):
        eplt.LocalThermalisation([0.0, 1.0], [0.0, 1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="gamma"):
        eplt.LocalThermalisation([0.0, 1.0], [0.0, 1.0], 1.0, gamma=0.9).channel()
    with pytest.raises(ValueError, match="num_parties"):
        eplt.GHZLocalThermalisation([0.0, 1.0], 1.0, 1)


def test_gradient_matches_finite_differences():
    """d/d(T, ω) of the output Φ⁺ fraction at the default γ = 2P_min (closed form: γ(T, ω)F +
    (1 − γ)·0 for two qubits, σ = |g⟩⟨g|, tr(σσᵀ)/2 = ½ — checked against FD in NumPy)."""
    rho = _random_state(4, 7)
    phi = _phi_plus(2)
    fid = (phi @ rho @ phi).real

    def numpy_value(t, omega):
        gamma = 2 / (1 + np.exp(omega / t))
        return gamma * fid + (1 - gamma) / 2

    def value(params):
        model = eplt.LocalThermalisation.qubits(params[1], params[0])
        return measures.phi_plus_fraction(model(jnp.asarray(rho)))

    params = np.array([0.6, 1.3])
    assert float(value(jnp.asarray(params))) == pytest.approx(numpy_value(*params), abs=1e-14)
    grad = np.asarray(jax.grad(value)(jnp.asarray(params)))
    h = 1e-6
    fd = [
        (numpy_value(*(params + h * e)) - numpy_value(*(params - h * e))) / (2 * h)
        for e in np.eye(2)
    ]
    np.testing.assert_allclose(grad, fd, rtol=1e-7)
