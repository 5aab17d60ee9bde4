"""qdiss.evolve: trajectories against closed forms, QuTiP, finite differences, vmap, the
steady state, callable (time-dependent / nonlinear) generators and failure reporting."""

from __future__ import annotations

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
from problems import destroy, random_lindbladian

import qdiss
from qdiss._evolve import evolve

SM = np.array([[0, 0], [1, 0]], complex)  # σ⁻ = |g⟩⟨e|, basis (e, g)
SX = np.array([[0, 1], [1, 0]], complex)
SZ = np.diag([1.0, -1.0]).astype(complex)
TIGHT = dict(rtol=1e-10, atol=1e-12)


def _qubit(omega, gamma, rabi=0.0):
    """H = (ω/2)σz + (Ω/2)σx, L = √γ σ⁻ (parameters may be traced)."""
    dtype = jnp.complex128
    H = (jnp.asarray(omega).astype(dtype) / 2) * SZ + (jnp.asarray(rabi).astype(dtype) / 2) * SX
    return qdiss.Lindbladian(H, [jnp.sqrt(jnp.asarray(gamma)).astype(dtype) * SM])


def test_damped_qubit_closed_form():
    omega, gamma = 1.3, 0.7
    times = np.linspace(0.0, 6.0, 25)
    plus = np.array([1, 1], complex) / np.sqrt(2)
    sol = evolve(_qubit(omega, gamma), plus, times, observables=[SM.T @ SM, SM], **TIGHT)
    assert sol.status == "successful" and bool(sol.succeeded)
    # ρ_ee = e^{−γt}/2, ⟨σ⁻⟩ = ρ_eg = e^{−γt/2} e^{−iωt}/2.
    np.testing.assert_allclose(np.asarray(sol.expects[0]), np.exp(-gamma * times) / 2, atol=1e-9)
    coherence = np.exp(-(gamma / 2 + 1j * omega) * times) / 2
    np.testing.assert_allclose(np.asarray(sol.expects[1]), coherence, atol=1e-9)
    states = np.asarray(sol.states)
    assert states.shape == (25, 2, 2)
    np.testing.assert_allclose(states[:, 0, 1], coherence, atol=1e-9)
    np.testing.assert_allclose(np.asarray(sol.final_state), states[-1], atol=1e-14)
    np.testing.assert_allclose(np.asarray(sol.times), times)


def test_cavity_fock_and_coherent_decay():
    kappa, delta, cutoff = 0.9, 0.6, 20
    a = destroy(cutoff)
    H = delta * a.conj().T @ a
    L = qdiss.Lindbladian(jnp.asarray(H), [np.sqrt(kappa) * a])
    times = np.linspace(0.0, 3.0, 7)
    # Fock |3⟩: each photon survives with p = e^{−κt}, so P(k) is binomial.
    fock = np.zeros(cutoff, complex)
    fock[3] = 1
    sol = evolve(L, fock, times, **TIGHT)
    p = np.exp(-kappa * times)
    pops = np.real(np.diagonal(np.asarray(sol.states), axis1=1, axis2=2))
    for k in range(4):
        np.testing.assert_allclose(
            pops[:, k], math.comb(3, k) * p**k * (1 - p) ** (3 - k), atol=1e-9
        )
    # Coherent |α⟩ stays coherent: α(t) = α e^{−(iΔ + κ/2)t}.
    alpha = 1.1 + 0.4j
    n = np.arange(cutoff)
    ket = np.exp(-(abs(alpha) ** 2) / 2) * alpha**n / np.sqrt([math.factorial(k) for k in n])
    sol = evolve(L, ket, times, observables=[a, a.conj().T @ a], save_states=False, **TIGHT)
    assert sol.states is None
    alpha_t = alpha * np.exp(-(1j * delta + kappa / 2) * times)
    np.testing.assert_allclose(np.asarray(sol.expects[0]), alpha_t, atol=1e-9)
    np.testing.assert_allclose(np.asarray(sol.expects[1]), np.abs(alpha_t) ** 2, atol=1e-9)


def test_damped_rabi_matches_qutip():
    omega, rabi, gamma, gamma_phi = 0.4, 1.7, 0.3, 0.2
    times = np.linspace(0.0, 10.0, 41)
    H = omega / 2 * SZ + rabi / 2 * SX
    jumps = [np.sqrt(gamma) * SM, np.sqrt(gamma_phi / 2) * SZ]
    ground = np.array([0, 1], complex)
    sol = evolve(qdiss.Lindbladian(jnp.asarray(H), jumps), ground, times, observables=[SZ, SX])
    ref = qutip.mesolve(
        qutip.Qobj(H),
        qutip.ket2dm(qutip.Qobj(ground)),
        times,
        c_ops=[qutip.Qobj(j) for j in jumps],
        e_ops=[qutip.Qobj(SZ), qutip.Qobj(SX)],
        options={"atol": 1e-12, "rtol": 1e-10},
    )
    np.testing.assert_allclose(np.real(np.asarray(sol.expects[0])), ref.expect[0], atol=1e-7)
    np.testing.assert_allclose(np.real(np.asarray(sol.expects[1])), ref.expect[1], atol=1e-7)
    # The Rabi oscillation is really there (the test can fail).
    assert np.ptp(ref.expect[0]) > 0.5


def _final_sz(params):
    omega, gamma, rabi = params
    sol = evolve(_qubit(omega, gamma, rabi), np.array([0, 1], complex), [0.0, 2.5], observables=SZ)
    return jnp.real(sol.expects[0, -1])


def test_gradient_matches_finite_differences():
    params = jnp.array([0.4, 0.6, 1.3])
    value_and_grad = jax.jit(jax.value_and_grad(_final_sz))  # one compilation for all calls
    grad = np.asarray(value_and_grad(params)[1])
    value = lambda x: float(value_and_grad(x)[0])  # noqa: E731
    h = 1e-5
    fd = [(value(params.at[i].add(h)) - value(params.at[i].add(-h))) / (2 * h) for i in range(3)]
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)
    assert np.all(np.abs(fd) > 1e-3)


def test_vmap_over_parameters_and_initial_states():
    gammas = jnp.array([0.2, 0.5, 1.1])
    times = np.linspace(0.0, 4.0, 9)
    excited = np.array([[1, 0], [0, 0]], complex)
    plus = np.full((2, 2), 0.5, complex)

    def run(gamma, rho0):
        return evolve(_qubit(0.8, gamma), rho0, times, observables=[SM.T @ SM], **TIGHT).expects[0]

    batched = jax.vmap(run)(gammas, jnp.stack([excited, plus, excited]))
    scale = np.array([1.0, 0.5, 1.0])[:, None]
    expected = scale * np.exp(-np.asarray(gammas)[:, None] * times)
    np.testing.assert_allclose(np.real(np.asarray(batched)), expected, atol=1e-9)


def test_long_time_limit_is_the_steady_state():
    L = random_lindbladian(4, 2, seed=3)
    rates = np.sort(-np.real(np.linalg.eigvals(np.asarray(L.superoperator()))))
    gap = rates[1]  # slowest relaxation rate (rates[0] ≈ 0 is the steady state)
    t_final = 40.0 / gap
    rng = np.random.default_rng(0)
    psi = rng.normal(size=4) + 1j * rng.normal(size=4)
    sol = evolve(L, psi / np.linalg.norm(psi), [0.0, t_final], save_states=False, **TIGHT)
    ss = qdiss.steady_state(L, qdiss.DenseLU()).rho
    np.testing.assert_allclose(np.asarray(sol.final_state), np.asarray(ss), atol=1e-8)
    # Not yet stationary at a fraction of the relaxation time (the comparison can fail).
    early = evolve(L, psi / np.linalg.norm(psi), [0.0, 0.5 / gap], save_states=False)
    assert np.max(np.abs(np.asarray(early.final_state) - np.asarray(ss))) > 1e-3


class _ChirpedQubit(eqx.Module):
    """Closed qubit with H(t) = (a t/2) σz: ρ_eg(t) = ρ_eg(0) e^{−i a t²/2}."""

    a: jax.Array

    def __call__(self, t, rho):
        H = (self.a * t / 2).astype(rho.dtype) * jnp.asarray(SZ)
        return -1j * (H @ rho - rho @ H)


def test_callable_generators():
    times = np.linspace(0.0, 3.0, 13)
    plus = np.full((2, 2), 0.5, complex)

    # A time-dependent eqx.Module generator, differentiable through its parameter:
    # ρ_eg(t) = ½ e^{−iat²/2}, so d/da Im ρ_eg(T) = −(T²/2)·½ cos(aT²/2).
    def im_coherence(a):
        expects = evolve(_ChirpedQubit(a), plus, times, observables=SM, **TIGHT).expects[0]
        return jnp.imag(expects[-1]), expects

    (_, expects), grad = jax.jit(jax.value_and_grad(im_coherence, has_aux=True))(0.8)
    np.testing.assert_allclose(np.asarray(expects), 0.5 * np.exp(-0.4j * times**2), atol=1e-9)
    T = times[-1]
    np.testing.assert_allclose(float(grad), -0.5 * T**2 / 2 * np.cos(0.8 * T**2 / 2), rtol=1e-6)
    # A plain function f(t, ρ) = L(ρ): the damped qubit's closed form ⟨σ⁻⟩ = ½ e^{−(γ/2 + iω)t}.
    L = _qubit(1.3, 0.7)
    sol = evolve(lambda t, rho: L.mv(rho), plus, times, observables=SM, **TIGHT)
    coherence = 0.5 * np.exp(-(0.35 + 1.3j) * times)
    np.testing.assert_allclose(np.asarray(sol.expects[0]), coherence, atol=1e-9)


def test_failures_are_reported():
    L = _qubit(1.0, 0.5, 2.0)
    ground = np.array([0, 1], complex)
    sol = evolve(L, ground, [0.0, 50.0], max_steps=3, throw=False)
    assert sol.status == "max_steps_reached"
    assert not bool(sol.succeeded)
    assert sol.result == diffrax.RESULTS.max_steps_reached
    with pytest.raises(eqx.EquinoxRuntimeError, match="maximum number of solver steps"):
        evolve(L, ground, [0.0, 50.0], max_steps=3)


def test_input_errors():
    L = _qubit(1.0, 0.5)
    with pytest.raises(ValueError, match="rho0"):
        evolve(L, np.eye(3) / 3, [0.0, 1.0])
    with pytest.raises(ValueError, match="increasing"):
        evolve(L, np.eye(2) / 2, [1.0, 0.0])
    with pytest.raises(ValueError, match="observables"):
        evolve(L, np.eye(2) / 2, [0.0, 1.0], observables=np.eye(3))
    with pytest.raises(TypeError, match="generator"):
        evolve("not a generator", np.eye(2) / 2, [0.0, 1.0])
    with pytest.raises(TypeError, match="solver"):
        evolve(L, np.eye(2) / 2, [0.0, 1.0], solver="tsit5")
