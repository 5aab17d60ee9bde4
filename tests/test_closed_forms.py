"""Every solver against closed forms: driven damped cavity and its gradient, thermal
qubit, cooperative resonance fluorescence (Puri–Lawande), extreme rate imbalance, float32."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from problems import destroy, null_space_steady_state
from solvers import SOLVERS

import qdiss

SOLVER_IDS = list(SOLVERS)


def _cavity(params, cutoff=25):
    delta, drive, gamma = params
    a = jnp.asarray(destroy(cutoff))
    ad = a.conj().T
    H = delta.astype(a.dtype) * ad @ a + drive.astype(a.dtype) * (a + ad)
    return qdiss.Lindbladian(H, [jnp.sqrt(gamma).astype(a.dtype) * a]), a


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_driven_damped_cavity_photon_number_and_gradient(name):
    """⟨n⟩ = F²/(Δ² + γ²/4): a coherent state, so a small cutoff is exact to ~1e-12."""

    def photons(params):
        L, a = _cavity(params)
        rho = qdiss.steady_state(L, SOLVERS[name]).rho
        return jnp.real(jnp.trace(a.conj().T @ a @ rho))

    params = jnp.array([0.4, 0.6, 1.3])
    delta, drive, gamma = (float(x) for x in params)
    denom = delta**2 + gamma**2 / 4
    assert float(photons(params)) == pytest.approx(drive**2 / denom, rel=1e-9)
    exact_grad = [
        -(drive**2) * 2 * delta / denom**2,
        2 * drive / denom,
        -(drive**2) * (gamma / 2) / denom**2,
    ]
    np.testing.assert_allclose(np.asarray(jax.grad(photons)(params)), exact_grad, rtol=1e-8)


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_thermal_qubit(name):
    """Decay γ(n̄+1), pumping γn̄: excited population n̄/(2n̄+1), no coherences."""
    omega, gamma, nbar = 1.0, 0.3, 0.7
    sm = np.array([[0, 1], [0, 0]], complex)  # |g⟩⟨e| with basis (e, g)... see below
    # basis order (g, e): σ⁻ = |g⟩⟨e| has its 1 at row g=0, column e=1
    H = omega / 2 * np.diag([-1.0, 1.0]).astype(complex)
    jumps = [np.sqrt(gamma * (nbar + 1)) * sm, np.sqrt(gamma * nbar) * sm.conj().T]
    rho = np.asarray(qdiss.steady_state(qdiss.Lindbladian(H, jumps), SOLVERS[name]).rho)
    expected = np.diag([(nbar + 1) / (2 * nbar + 1), nbar / (2 * nbar + 1)])
    np.testing.assert_allclose(rho, expected, atol=1e-11)


def _spin_lowering(j):
    m = np.arange(j, -j - 1, -1)  # basis |j, m⟩, m = j … −j
    coeff = np.sqrt(j * (j + 1) - m[:-1] * (m[:-1] - 1))
    return np.diag(coeff, -1).astype(complex)


@pytest.mark.parametrize("name", SOLVER_IDS)
@pytest.mark.parametrize("j", [0.5, 1.0, 1.5])
def test_cooperative_resonance_fluorescence_puri_lawande(name, j):
    """H = Ω J_x, L = √Γ J⁻: ρ ∝ X X†, X = Σ_{m=0}^{2j} (J⁻/g)^m, g = −iΩ/Γ.

    Puri & Lawande (1979)."""
    omega, gamma = 0.8, 0.5
    jm = _spin_lowering(j)
    jx = (jm + jm.conj().T) / 2
    g = -1j * omega / gamma
    dim = int(round(2 * j + 1))
    X = sum(np.linalg.matrix_power(jm / g, m) for m in range(dim))
    exact = X @ X.conj().T
    exact /= np.trace(exact)
    L = qdiss.Lindbladian(omega * jx, [np.sqrt(gamma) * jm])
    rho = np.asarray(qdiss.steady_state(L, SOLVERS[name]).rho)
    np.testing.assert_allclose(rho, exact, atol=1e-10)


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_extreme_rate_imbalance(name):
    """A driven three-level ladder with rates 1 and 1e-5: the small populations must be right in
    relative terms, not just to the absolute tolerance."""
    a = destroy(3)
    H = 0.3 * (a + a.conj().T) + np.diag([0.0, 0.2, 0.5])
    jumps = [1.0 * a, np.sqrt(1e-5) * a.conj().T, np.sqrt(1e-5) * np.diag([0.0, 1.0, 2.0])]
    L = qdiss.Lindbladian(H, jumps)
    sol = qdiss.steady_state(L, SOLVERS[name])
    ref = null_space_steady_state(L)
    pops, ref_pops = np.real(np.diag(np.asarray(sol.rho))), np.real(np.diag(ref))
    np.testing.assert_allclose(pops, ref_pops, rtol=1e-7)
    assert float(sol.stats.residual) <= 1e-10


@pytest.mark.parametrize("name", SOLVER_IDS)
def test_float32_is_accurate_or_flagged(name):
    """complex64 solves: successful ones must match the float64 answer to float32 accuracy."""
    rng = np.random.default_rng(5)
    accepted = 0
    for trial in range(4):
        n = 4 + trial
        h = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
        h = (h + h.conj().T) / 2
        ls = (rng.normal(size=(2, n, n)) + 1j * rng.normal(size=(2, n, n))) / np.sqrt(n)
        ls[1] *= 10.0 ** (-2 * trial)  # increasingly lopsided rates
        L32 = qdiss.Lindbladian(h.astype(np.complex64), ls.astype(np.complex64))
        assert L32.dtype == jnp.complex64
        sol = qdiss.steady_state(L32, SOLVERS[name], throw=False)
        assert sol.rho.dtype == jnp.complex64
        ref = null_space_steady_state(qdiss.Lindbladian(h, ls))
        if bool(sol.succeeded):
            accepted += 1
            err = np.linalg.norm(np.asarray(sol.rho) - ref) / np.linalg.norm(ref)
            assert err < 1e-2, f"float32 solve marked successful but wrong by {err:.2e}"
            assert float(sol.stats.residual) <= 1e-4
    assert accepted >= 1  # the well-conditioned cases must not all be refused
