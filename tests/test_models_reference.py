"""Reference models with exact solutions (qdiss.models.reference): the driven cavity and its
gradient, the driven Kerr resonator against its truncated steady state and its mean-field
limit, cooperative resonance fluorescence (Puri–Lawande) against steady states and at large N,
and the Dicke dimer's non-unique steady state."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qdiss
from qdiss.models import reference

# ------------------------------------------------------------------------ driven cavity


def test_driven_cavity_photon_number_amplitude_and_gradient():
    delta, drive, gamma = 0.4, 0.6, 1.3
    denom = delta**2 + gamma**2 / 4

    def photons(p):
        model = reference.DrivenCavity(25, p[0], p[1], p[2])
        rho = qdiss.steady_state(model.lindbladian()).rho
        a = model.destroy()
        return jnp.real(jnp.trace(a.conj().T @ a @ rho)), jnp.trace(a @ rho)

    params = jnp.array([delta, drive, gamma])
    n, amp = photons(params)
    assert float(n) == pytest.approx(drive**2 / denom, rel=1e-10)
    alpha = -1j * drive / (gamma / 2 + 1j * delta)  # from 0 = −(iΔ + γ/2)α − iF
    assert complex(amp) == pytest.approx(alpha, abs=1e-10)
    assert complex(reference.driven_cavity_amplitude(delta, drive, gamma)) == pytest.approx(alpha)
    exact_grad = [
        -(drive**2) * 2 * delta / denom**2,
        2 * drive / denom,
        -(drive**2) * (gamma / 2) / denom**2,
    ]
    grad = jax.grad(lambda p: photons(p)[0])(params)
    np.testing.assert_allclose(np.asarray(grad), exact_grad, rtol=1e-8)
    closed = jax.grad(lambda p: reference.driven_cavity_photon_number(*p))(params)
    np.testing.assert_allclose(np.asarray(closed), exact_grad, rtol=1e-13)
    L = reference.driven_cavity(25, delta, drive, gamma)
    assert L.dims == (25,)


# ------------------------------------------------------------------------ driven Kerr


KERR_CASES = [
    (0.3, 0.5, 0.7, 1.0),
    (-1.0, 0.2, 0.8, 0.5),  # bistable mean field (three roots), quantum state unique
    (2.0, -0.7, 1.5, 1.2),  # U < 0
]


@pytest.mark.parametrize(("delta", "U", "F", "gamma"), KERR_CASES)
def test_kerr_moments_match_truncated_steady_state(delta, U, F, gamma):
    model = reference.DrivenKerr(40, delta, U, F, gamma)
    rho = np.asarray(qdiss.steady_state(model.lindbladian()).rho)
    a = np.asarray(model.destroy())
    ad = a.conj().T
    power = np.linalg.matrix_power
    numeric = [np.trace(power(ad, k) @ power(a, k) @ rho).real for k in (1, 2, 3)]
    exact = reference.drummond_walls_moments(delta, U, F, gamma, (1, 2, 3))
    np.testing.assert_allclose(exact, numeric, rtol=1e-8)
    np.testing.assert_allclose(model.exact_moments((1, 2, 3)), exact, rtol=1e-15)
    # off-diagonal moments ⟨a⟩ and ⟨a†a²⟩ from the same series
    for p, q in ((0, 1), (1, 2), (0, 2)):
        value = np.trace(power(ad, p) @ power(a, q) @ rho)
        exact_pq = reference.drummond_walls_moment(delta, U, F, gamma, p, q)
        assert abs(exact_pq - value) <= 1e-8 * abs(value)


def test_kerr_hamiltonian_is_the_documented_one():
    delta, U, F = 0.3, 0.5, 0.7
    model = reference.DrivenKerr(6, delta, U, F, 1.0)
    n = np.arange(6)
    a = np.diag(np.sqrt(n[1:]), 1)
    expected = np.diag(delta * n + U / 2 * n * (n - 1)) + F * (a + a.T)
    np.testing.assert_allclose(np.asarray(model.hamiltonian()), expected, atol=1e-14)


def test_kerr_large_photon_number_approaches_mean_field():
    r"""U = U₀/L, F = f√L: ⟨n⟩/L → n_MF with n[(Δ + U₀n)² + γ²/4] = f² (monostable here);
    the series is summed with z = 8F²/U² up to ~10⁹ (thousands of terms)."""
    delta, u0, f, gamma = 1.0, 1.0, 1.2, 1.0
    (n_mf,) = reference.kerr_mean_field_photon_numbers(delta, u0, f, gamma)
    assert n_mf * ((delta + u0 * n_mf) ** 2 + gamma**2 / 4) == pytest.approx(f**2, rel=1e-12)
    errors = []
    for scale in (10.0, 100.0, 1000.0):
        (n,) = reference.drummond_walls_moments(delta, u0 / scale, f * np.sqrt(scale), gamma, 1)
        errors.append(abs(n / scale - n_mf))
    assert errors[2] < 1e-3 * n_mf
    assert errors[0] / errors[1] == pytest.approx(10, rel=0.05)  # O(1/L) corrections
    assert errors[1] / errors[2] == pytest.approx(10, rel=0.05)


def test_kerr_mean_field_bistable_roots():
    """Δ = −3, U = 0.1, γ = 1: n[(Δ + Un)² + ¼] has turning points at n ≈ 10.4 and 29.6 with
    values ≈ 42.5 and 7.45, so F² = 16 has three roots, F² = 4 and 64 one each."""
    for drive, count in ((4.0, 3), (2.0, 1), (8.0, 1)):
        roots = reference.kerr_mean_field_photon_numbers(-3.0, 0.1, drive, 1.0)
        assert len(roots) == count
        for n in roots:
            assert n * ((-3.0 + 0.1 * n) ** 2 + 0.25) == pytest.approx(drive**2, rel=1e-9)


def test_kerr_bad_arguments():
    with pytest.raises(ValueError, match="non-zero"):
        reference.drummond_walls_moments(0.3, 0.0, 0.7, 1.0)
    with pytest.raises(ValueError, match="positive"):
        reference.drummond_walls_moments(0.3, 0.5, 0.7, 0.0)
    with pytest.raises(ValueError, match="cutoff"):
        reference.DrivenKerr(1, 0.3, 0.5, 0.7, 1.0)


# ------------------------------------------------------------ cooperative resonance fluorescence


def _naive_puri_lawande(n, omega, gamma):
    """ρ ∝ XX†, X = Σ_m (J⁻/g)^m, g = −iΩ/Γ, with plain matrix powers (small N only)."""
    j = n / 2
    m = j - np.arange(n + 1)
    jm = np.diag(np.sqrt(j * (j + 1) - m[:-1] * (m[:-1] - 1)), -1).astype(complex)
    g = -1j * omega / gamma
    x = sum(np.linalg.matrix_power(jm / g, k) for k in range(n + 1))
    rho = x @ x.conj().T
    return rho / np.trace(rho)


@pytest.mark.parametrize("n", [1, 2, 5])
@pytest.mark.parametrize("omega", [0.8, -0.8, 4.0])
def test_puri_lawande_matches_steady_state(n, omega):
    gamma = 0.5
    model = reference.CooperativeFluorescence(n, omega, gamma)
    exact = np.asarray(model.exact_steady_state())
    np.testing.assert_allclose(exact, _naive_puri_lawande(n, omega, gamma), atol=1e-14)
    rho = np.asarray(qdiss.steady_state(model.lindbladian()).rho)
    np.testing.assert_allclose(rho, exact, atol=1e-11)


def test_puri_lawande_at_large_n_is_stationary():
    """N = 200, where X's entries (powers of Γ/Ω times products of J⁻ elements) span hundreds of
    orders of magnitude: ρ is a finite density matrix with L(ρ) = 0 to rounding, on both sides
    of Ω_c = ΓN/2."""
    n, gamma = 200, 1.0
    for ratio in (0.5, 1.5):
        model = reference.CooperativeFluorescence(n, ratio * gamma * n / 2, gamma)
        rho = model.exact_steady_state()
        assert bool(jnp.all(jnp.isfinite(rho)))
        assert complex(jnp.trace(rho)) == pytest.approx(1.0, abs=1e-12)
        assert float(jnp.min(jnp.linalg.eigvalsh(rho))) > -1e-12
        L = model.lindbladian()
        residual = jnp.linalg.norm(L.mv(rho)) / (L.norm_bound() * jnp.linalg.norm(rho))
        assert float(residual) < 1e-13


def test_puri_lawande_gradient():
    """d⟨J_z⟩/dΩ: the exact formula's gradient against the steady-state gradient and FD."""
    n, gamma = 4, 0.7
    jz = np.diag(n / 2 - np.arange(n + 1)).astype(complex)

    def exact(omega):
        return jnp.real(jnp.trace(jz @ reference.puri_lawande_steady_state(n, omega, gamma)))

    def solved(omega):
        model = reference.CooperativeFluorescence(n, omega, gamma)
        return jnp.real(jnp.trace(jz @ qdiss.steady_state(model.lindbladian()).rho))

    omega, h = 1.1, 1e-6
    fd = (float(exact(omega + h)) - float(exact(omega - h))) / (2 * h)
    assert float(jax.grad(exact)(omega)) == pytest.approx(fd, rel=1e-7)
    assert float(jax.grad(solved)(omega)) == pytest.approx(fd, rel=1e-7)


# ------------------------------------------------------------------------ Dicke dimer


def test_dicke_dimer_is_non_unique():
    L = reference.dicke_dimer(1.0, 0.7)
    assert L.dims == (2, 2)
    singlet = np.array([0, 1, -1, 0]) / np.sqrt(2)
    dark = np.outer(singlet, singlet).astype(complex)
    np.testing.assert_allclose(np.asarray(L.mv(jnp.asarray(dark))), 0.0, atol=1e-15)
    sol = qdiss.steady_state(L, throw=False)
    assert sol.result == qdiss.RESULTS.non_unique
    with pytest.raises(eqx.EquinoxRuntimeError, match="not unique"):
        qdiss.steady_state(L, throw=True)
