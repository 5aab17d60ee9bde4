"""Periodically driven steady states (``qdiss.periodic_steady_state``).

References, never qdiss itself: QuTiP's ``steadystate_fourier`` (the time average ρ₀, same K),
a long time-dependent ``qdiss.evolve`` run with the drive written out in the test (sampled over
one period after the transient), the closed-form coherent amplitude of a linear driven damped
cavity, a NumPy null space of the truncated block system assembled here, and central finite
differences for gradients.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import qdiss

SOLVERS = {
    "mcf": qdiss.FloquetContinuedFraction(),
    "lu": qdiss.FloquetLU(),
    "krylov": qdiss.FloquetKrylov(),
}

SX = np.array([[0, 1], [1, 0]], complex)
SZ = np.diag([1.0, -1.0]).astype(complex)
SM = np.array([[0, 0], [1, 0]], complex)  # σ₋ = |g⟩⟨e| with |e⟩ = index 0 (σ_z = +1)
SP = SM.conj().T


def _qubit(w0=1.0, gamma=0.4, rabi=0.6):
    """A two-level atom H₀ = ω₀σ_z/2, decay √γσ₋, drive Ω cos(ωt) σₓ (H₁ = Ωσₓ/2)."""
    L0 = qdiss.Lindbladian(0.5 * w0 * SZ, [np.sqrt(gamma) * SM])
    return L0, [0.5 * rabi * SX]


def _destroy(n):
    return np.diag(np.sqrt(np.arange(1.0, n)), 1).astype(complex)


@pytest.mark.parametrize("name", list(SOLVERS))
def test_qubit_matches_qutip_steadystate_fourier(name):
    w0, gamma, rabi, omega, K = 1.0, 0.4, 0.6, 1.1, 6
    L0, drives = _qubit(w0, gamma, rabi)
    with pytest.warns(FutureWarning):  # QuTiP 5 renamed it steadystate_fourier
        ref = qutip.steadystate_floquet(
            qutip.Qobj(0.5 * w0 * SZ),
            [qutip.Qobj(np.sqrt(gamma) * SM)],
            qutip.Qobj(rabi * SX),
            omega,
            n_it=K,
        ).full()
    sol = qdiss.periodic_steady_state(
        L0, drives, omega, harmonics=K, solver=SOLVERS[name], truncation_tol=1e-4
    )
    assert sol.status == "successful"
    np.testing.assert_allclose(sol.time_average(), ref, atol=1e-11)
    assert float(sol.stats.residual) < 1e-10
    harmonics = np.asarray(sol.harmonics)
    # ρ_{−k} = ρ_k†, tr ρ_k = δ_k0
    np.testing.assert_allclose(harmonics[::-1], harmonics.conj().transpose(0, 2, 1), atol=1e-14)
    traces = np.trace(harmonics, axis1=1, axis2=2)
    np.testing.assert_allclose(traces, np.eye(2 * K + 1)[K], atol=1e-12)


@pytest.mark.parametrize("name", ["mcf", "krylov"])
def test_kerr_cavity_matches_qutip(name):
    """A driven Kerr cavity H₀ = Δa†a + χa†a†aa, F cos(ωt)(a + a†), decay √κ a."""
    n, delta, chi, kappa, drive, omega, K = 8, 0.3, 0.2, 0.5, 0.4, 0.9, 5
    a = _destroy(n)
    H0 = delta * a.conj().T @ a + chi * a.conj().T @ a.conj().T @ a @ a
    op = drive * (a + a.conj().T)
    ref = qutip.steadystate_fourier(
        qutip.Qobj(H0), [qutip.Qobj(np.sqrt(kappa) * a)], qutip.Qobj(op), omega, n_it=K
    ).full()
    L0 = qdiss.Lindbladian(H0, [np.sqrt(kappa) * a])
    sol = qdiss.periodic_steady_state(
        L0, [0.5 * op], omega, harmonics=K, solver=SOLVERS[name], truncation_tol=1e-2
    )
    assert sol.status == "successful"
    np.testing.assert_allclose(sol.time_average(), ref, atol=1e-10)


def test_linear_cavity_closed_form():
    """H(t) = ω_c a†a + f a e^{iωt} + f̄ a† e^{−iωt}, decay √κ a: the periodic state is the coherent
    state |α(t)⟩, α(t) = A e^{−iωt} with A = −i f̄/(κ/2 + i(ω_c − ω)) (Heisenberg equation of ⟨a⟩),
    so ⟨a⟩ has the single harmonic k = −1 and ⟨a†a⟩ = |A|² at all times."""
    n, wc, kappa, f, omega, K = 12, 1.0, 0.6, 0.1 + 0.05j, 1.2, 10
    a = _destroy(n)
    L0 = qdiss.Lindbladian(wc * a.conj().T @ a, [np.sqrt(kappa) * a])
    sol = qdiss.periodic_steady_state(L0, [f * a], omega, harmonics=K)
    assert sol.status == "successful"
    A = -1j * np.conj(f) / (kappa / 2 + 1j * (wc - omega))
    per_harmonic = np.array([np.trace(a @ sol.harmonic(k)) for k in range(-K, K + 1)])
    expected = np.zeros(2 * K + 1, complex)
    expected[K - 1] = A
    np.testing.assert_allclose(per_harmonic, expected, atol=1e-10)
    times = np.linspace(0.0, 2 * np.pi / omega, 7)
    np.testing.assert_allclose(sol.expect_at(a, times), A * np.exp(-1j * omega * times), atol=1e-10)
    np.testing.assert_allclose(sol.expect(a.conj().T @ a), abs(A) ** 2, atol=1e-10)
    # ρ(t) is the coherent projector |α(t)⟩⟨α(t)| (Fock cutoff 12: |A|²¹² / 12! negligible)
    t = 0.7
    alpha = A * np.exp(-1j * omega * t)
    k = np.arange(n)
    factorial = np.cumprod(np.concatenate([[1.0], np.arange(1.0, n)]))
    ket = np.exp(-(abs(alpha) ** 2) / 2) * alpha**k / np.sqrt(factorial)
    np.testing.assert_allclose(sol.rho(t), np.outer(ket, ket.conj()), atol=1e-9)


def _null_space_state(H, jumps):
    n = H.shape[0]
    eye = np.eye(n)
    sup = -1j * (np.kron(H, eye) - np.kron(eye, H.T))
    for c in jumps:
        cdc = c.conj().T @ c
        sup = sup + np.kron(c, c.conj()) - 0.5 * (np.kron(cdc, eye) + np.kron(eye, cdc.T))
    rho = np.linalg.svd(sup)[2][-1].conj().reshape(n, n)
    return rho / np.trace(rho)


def test_rotating_wave_limit_with_bloch_siegert_shift():
    """A weak resonant drive Ω cos(ω₀t)σₓ of an atom ω₀σ_z/2 decaying at γ ≪ ω₀. In the frame
    rotating at ω₀ the rotating-wave approximation gives H_rot = (Ω/2)σₓ, whose steady state
    has the excited population Ω²/(γ² + 2Ω²) = 1/3 here; the counter-rotating terms shift
    the resonance by the Bloch–Siegert shift δ = Ω²/(4ω₀) (= γ/200 here: a 1% change of the
    coherence), so H_rot = (δ/2)σ_z + (Ω/2)σₓ (NumPy null space) is the reference to
    O(Ω/ω₀)². In the lab frame ⟨σ₋⟩(t) = e^{−iω₀t}⟨σ₋⟩_rot: the k = −1 harmonic."""
    w0, gamma, rabi = 1.0, 0.02, 0.02
    L0, drives = _qubit(w0, gamma, rabi)
    sol = qdiss.periodic_steady_state(L0, drives, w0, harmonics=5)
    assert sol.status == "successful"
    population = float(np.real(sol.expect(SP @ SM)))
    np.testing.assert_allclose(population, rabi**2 / (gamma**2 + 2 * rabi**2), rtol=1e-4)
    shift = rabi**2 / (4 * w0)
    rot = _null_space_state(0.5 * shift * SZ + 0.5 * rabi * SX, [np.sqrt(gamma) * SM])
    np.testing.assert_allclose(population, np.real(rot[0, 0]), rtol=1e-4)
    coherence = np.trace(SM @ sol.harmonic(-1))
    np.testing.assert_allclose(coherence, np.trace(SM @ rot), rtol=3e-4)
    # the counter-rotating k = +1 part is first order in Ω/ω₀
    counter = np.trace(SM @ sol.harmonic(1))
    assert 1e-4 * abs(coherence) < abs(counter) < rabi / w0 * abs(coherence)


def test_qubit_matches_long_time_evolution():
    """ρ(t) over one period against a time-dependent ``qdiss.evolve`` run from the ground state,
    the drive written out here: after 80 time units the transient (∝ e^{−γt/2}) is < 1e-8."""
    w0, gamma, rabi, omega, K = 1.0, 0.5, 0.8, 1.3, 14
    L0, drives = _qubit(w0, gamma, rabi)
    sol = qdiss.periodic_steady_state(L0, drives, omega, harmonics=K)
    assert sol.status == "successful"
    H0 = jnp.asarray(0.5 * w0 * SZ)
    V = jnp.asarray(rabi * SX)
    c = jnp.asarray(np.sqrt(gamma) * SM)

    def generator(t, rho):
        H = H0 + jnp.cos(omega * t).astype(complex) * V
        out = -1j * (H @ rho - rho @ H)
        cdc = c.conj().T @ c
        return out + c @ rho @ c.conj().T - 0.5 * (cdc @ rho + rho @ cdc)

    period = 2 * np.pi / omega
    t0 = 80.0
    times = jnp.concatenate([jnp.zeros(1), t0 + jnp.linspace(0.0, period, 9)])
    rho0 = jnp.asarray(np.diag([0.0, 1.0]).astype(complex))
    traj = qdiss.evolve(generator, rho0, times, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(sol.rho(times[1:]), traj.states[1:], atol=1e-7)
    np.testing.assert_allclose(
        sol.expect_at(SP @ SM, times[1:]),
        np.einsum("ij,tji->t", SP @ SM, np.asarray(traj.states[1:])),
        atol=1e-7,
    )


def _reference_block_null_space(H0, jumps, drives, omega, K, jump_drives=()):
    """ρ_k from the null space of the truncated block matrix assembled with NumPy (row-major
    vectorisation), normalised to tr ρ₀ = 1. ``jump_drives``: (2P + 1, n, n) Fourier series
    c_p of time-dependent jump operators (index p + P)."""
    n = H0.shape[0]
    eye = np.eye(n)

    def comm(h):
        return -1j * (np.kron(h, eye) - np.kron(eye, h.T))

    sup = comm(H0)
    for c in jumps:
        cdc = c.conj().T @ c
        sup = sup + np.kron(c, c.conj()) - 0.5 * (np.kron(cdc, eye) + np.kron(eye, cdc.T))
    B = 2 * K + 1
    shifts = np.kron(np.diag(np.arange(-K, K + 1)), np.eye(n * n))
    big = np.kron(np.eye(B), sup) - 1j * omega * shifts
    for m, h in enumerate(drives, start=1):
        big = big + np.kron(np.eye(B, k=-m), comm(h)) + np.kron(np.eye(B, k=m), comm(h.conj().T))
    for series in jump_drives:
        P = (len(series) - 1) // 2
        for a in range(-P, P + 1):
            for b in range(-P, P + 1):
                ca, cb = series[a + P], series[b + P]
                g = cb.conj().T @ ca
                d = np.kron(ca, cb.conj()) - 0.5 * (np.kron(g, eye) + np.kron(eye, g.T))
                big = big + np.kron(np.eye(B, k=-(a - b)), d)  # e^{i(a−b)ωt}
    _, s, vh = np.linalg.svd(big)
    assert s[-1] < 1e-12 * s[0] < s[-2]
    rho = vh[-1].conj().reshape(B, n, n)
    return rho / np.trace(rho[K])


@pytest.mark.parametrize("name", ["lu", "krylov"])
def test_two_drive_harmonics_against_null_space(name):
    """M = 2 with a non-Hermitian H₂ (H(t) ∋ cσ₊e^{2iωt} + c̄σ₋e^{−2iωt})."""
    w0, gamma, rabi, omega, K = 1.0, 0.4, 0.5, 0.7, 6
    L0, drives = _qubit(w0, gamma, rabi)
    drives = [drives[0], (0.2 - 0.1j) * SP]
    sol = qdiss.periodic_steady_state(
        L0, drives, omega, harmonics=K, solver=SOLVERS[name], truncation_tol=1e-2
    )
    assert sol.status == "successful"
    ref = _reference_block_null_space(0.5 * w0 * SZ, [np.sqrt(gamma) * SM], drives, omega, K)
    np.testing.assert_allclose(sol.harmonics, ref, atol=1e-10)


def _modulated_decay(gamma, depth):
    """L(t) = √γ(1 + ε cos ωt)σ₋ as a Fourier series c_{−1}, c_0, c_1."""
    sm = jnp.sqrt(gamma).astype(complex) * jnp.asarray(SM)
    half = (0.5 * depth).astype(complex)
    return jnp.stack([half * sm, sm, half * sm])


@pytest.mark.parametrize("name", ["lu", "krylov"])
def test_jump_drives_modulated_decay(name):
    """A qubit H = ω₀σ_z/2 + gσₓ (no drive term) whose decay is modulated, L(t) =
    √γ(1 + ε cos ωt)σ₋, plus a weak drive ½Ω(σₓe^{iωt} + h.c.): against a NumPy null space of
    the block matrix and a long time-dependent ``qdiss.evolve`` run."""
    w0, g, gamma, depth, rabi, omega, K = 1.0, 0.3, 0.4, 0.8, 0.2, 1.2, 12
    L0 = qdiss.Lindbladian(0.5 * w0 * SZ + g * SX, [])  # closed: all dissipation is driven
    series = _modulated_decay(jnp.asarray(gamma), jnp.asarray(depth))
    sol = qdiss.periodic_steady_state(
        L0, [0.5 * rabi * SX], omega, harmonics=K, jump_drives=[series], solver=SOLVERS[name]
    )
    assert sol.status == "successful"
    ref = _reference_block_null_space(
        0.5 * w0 * SZ + g * SX, [], [0.5 * rabi * SX], omega, K, [np.asarray(series)]
    )
    np.testing.assert_allclose(sol.harmonics, ref, atol=1e-10)
    if name != "lu":
        return
    H0, V, c = jnp.asarray(0.5 * w0 * SZ + g * SX), jnp.asarray(rabi * SX), jnp.asarray(SM)

    def generator(t, rho):
        H = H0 + jnp.cos(omega * t).astype(complex) * V
        jump = (jnp.sqrt(gamma) * (1 + depth * jnp.cos(omega * t))).astype(complex) * c
        cdc = jump.conj().T @ jump
        gain = jump @ rho @ jump.conj().T
        return -1j * (H @ rho - rho @ H) + gain - 0.5 * (cdc @ rho + rho @ cdc)

    times = jnp.concatenate([jnp.zeros(1), 100.0 + jnp.linspace(0.0, 2 * np.pi / omega, 7)])
    rho0 = jnp.asarray(np.diag([0.0, 1.0]).astype(complex))
    traj = qdiss.evolve(generator, rho0, times, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(sol.rho(times[1:]), traj.states[1:], atol=1e-7)


def test_jump_drive_gradient_matches_finite_differences():
    """d/d(γ, ε) of the time-averaged excited population with a modulated decay (Krylov)."""
    L0 = qdiss.Lindbladian(0.5 * SZ + 0.3 * SX, [])

    def f(params):
        series = _modulated_decay(params[0], params[1])
        sol = qdiss.periodic_steady_state(
            L0, [], 1.2, harmonics=10, jump_drives=series, solver=qdiss.FloquetKrylov()
        )
        return jnp.real(sol.expect(jnp.asarray(SP @ SM)))

    params = jnp.array([0.4, 0.8])
    grad = jax.grad(f)(params)
    h = 1e-5
    fd = np.array([(f(params.at[i].add(h)) - f(params.at[i].add(-h))) / (2 * h) for i in range(2)])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)
    assert np.all(np.abs(fd) > 1e-4)


def test_truncation_in_K_is_flagged():
    """A strong drive (Ω = 2 > ω) at small K leaves weight in ρ_{±K}: flagged
    (``harmonics_truncated``), raised with throw=True; ρ₀ converges as K grows (reference: K =
    24), its error bounded by ``stats.truncation``, and the flag goes away."""
    L0, drives = _qubit(1.0, 0.3, 2.0)
    with pytest.raises(eqx.EquinoxRuntimeError, match="outermost Fourier harmonics"):
        qdiss.periodic_steady_state(L0, drives, 1.0, harmonics=2)
    sols = {
        K: qdiss.periodic_steady_state(L0, drives, 1.0, harmonics=K, throw=False)
        for K in (2, 8, 16, 24)
    }
    assert [sols[K].status for K in (2, 8, 16)] == [
        "harmonics_truncated",
        "harmonics_truncated",
        "successful",
    ]
    assert float(sols[2].stats.truncation) > 1e-1
    text = str(sols[2])
    assert "harmonics_truncated" in text and "Raise `harmonics`" in text and "K = 2" in text
    reference = np.asarray(sols[24].time_average())
    errors = [np.abs(np.asarray(sols[K].time_average()) - reference).max() for K in (2, 8, 16)]
    assert errors[0] > errors[1] > errors[2]
    for K, error in zip((2, 8, 16), errors, strict=True):
        assert error <= float(sols[K].stats.truncation)
    norms = np.asarray(sols[24].stats.harmonic_norms)
    np.testing.assert_allclose(norms, norms[::-1], rtol=1e-12)  # ‖ρ_{−k}‖ = ‖ρ_k‖
    assert norms[24] == pytest.approx(1.0, rel=1e-14)


@pytest.mark.parametrize("name", list(SOLVERS))
def test_non_unique_periodic_state_is_reported(name):
    """A second qubit with no dissipation and no coupling keeps its populations: the periodic
    state is not unique (condition estimate), and a closed driven qubit neither."""
    eye = np.eye(2)
    L0 = qdiss.Lindbladian(np.kron(SZ, eye) + 0.7 * np.kron(eye, SZ), [np.kron(SM, eye)])
    sol = qdiss.periodic_steady_state(
        L0, [0.3 * np.kron(SX, eye)], 1.1, harmonics=4, solver=SOLVERS[name], throw=False
    )
    assert sol.status == "non_unique"
    assert float(sol.stats.condition_estimate) > 1e13
    closed = qdiss.Lindbladian(0.5 * SZ, [])
    sol = qdiss.periodic_steady_state(
        closed, [0.3 * SX], 1.1, harmonics=4, solver=SOLVERS[name], throw=False
    )
    assert sol.status == "non_unique"
    if name == "lu":
        with pytest.raises(eqx.EquinoxRuntimeError, match="not unique"):
            qdiss.periodic_steady_state(closed, [0.3 * SX], 1.1, harmonics=4, solver=SOLVERS[name])


def _objective(solver):
    def f(params):
        w0, gamma, rabi, omega = params
        H0 = 0.5 * w0.astype(complex) * jnp.asarray(SZ)
        L0 = qdiss.Lindbladian(H0, [jnp.sqrt(gamma).astype(complex) * jnp.asarray(SM)])
        drive = 0.5 * rabi.astype(complex) * jnp.asarray(SX)
        sol = qdiss.periodic_steady_state(
            L0, [drive], omega, harmonics=8, solver=solver, truncation_tol=1e-3
        )
        population = jnp.real(sol.expect(jnp.asarray(SP @ SM)))
        return population + jnp.real(sol.expect_at(jnp.asarray(SX), 0.3))

    return f


@pytest.mark.parametrize("name", ["mcf", "krylov"])
def test_gradient_matches_finite_differences(name):
    """d/d(ω₀, γ, Ω, ω) of the time-averaged excited population plus ⟨σₓ⟩(0.3)."""
    f = _objective(SOLVERS[name])
    params = jnp.array([1.0, 0.4, 0.6, 1.1])
    grad = jax.grad(f)(params)
    h = 1e-5
    fd = np.array([(f(params.at[i].add(h)) - f(params.at[i].add(-h))) / (2 * h) for i in range(4)])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)
    assert np.all(np.abs(fd) > 1e-4)  # every parameter matters
    if name == "mcf":
        np.testing.assert_allclose(jax.jacfwd(f)(params), grad, rtol=1e-10, atol=1e-12)


def test_gradient_wrt_complex_drive_operator_full_lu():
    """M = 2 through FloquetLU: d/d(Re c, Im c) of the time-averaged excited population for a
    second harmonic H₂ = cσ₊ (non-Hermitian), vs central finite differences."""
    L0, drives = _qubit(1.0, 0.4, 0.5)

    def f(params):
        c = jax.lax.complex(params[0], params[1])
        stack = jnp.stack([jnp.asarray(drives[0]), c * jnp.asarray(SP)])
        sol = qdiss.periodic_steady_state(
            L0, stack, 0.7, harmonics=6, solver=qdiss.FloquetLU(), truncation_tol=1e-2
        )
        return jnp.real(sol.expect(jnp.asarray(SP @ SM)))

    params = jnp.array([0.2, -0.1])
    grad = jax.grad(f)(params)
    h = 1e-5
    fd = np.array([(f(params.at[i].add(h)) - f(params.at[i].add(-h))) / (2 * h) for i in range(2)])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-10)
    assert np.all(np.abs(fd) > 1e-4)


def test_float32_matches_float64():
    L0, drives = _qubit()
    L32 = qdiss.Lindbladian(
        jnp.asarray(L0.H, jnp.complex64), jnp.asarray(L0.jump_ops, jnp.complex64)
    )
    drive32 = [jnp.asarray(drives[0], jnp.complex64)]
    sol32 = qdiss.periodic_steady_state(L32, drive32, 1.1, harmonics=10, truncation_tol=1e-5)
    sol64 = qdiss.periodic_steady_state(L0, drives, 1.1, harmonics=10, truncation_tol=1e-5)
    assert sol32.harmonics.dtype == jnp.complex64
    assert sol32.status == "successful"
    np.testing.assert_allclose(sol32.harmonics, sol64.harmonics, atol=1e-5)


def test_jit_and_vmap_over_frequency():
    L0, drives = _qubit()
    omegas = jnp.array([0.8, 1.0, 1.3])

    @jax.jit
    @jax.vmap
    def average(omega):
        sol = qdiss.periodic_steady_state(L0, drives, omega, harmonics=10, throw=False)
        return sol.time_average(), sol.result

    rhos, results = average(omegas)
    assert np.all(np.asarray(results == qdiss.RESULTS.successful))
    for omega, rho in zip(omegas, rhos, strict=True):
        one = qdiss.periodic_steady_state(L0, drives, float(omega), harmonics=10)
        np.testing.assert_allclose(rho, one.time_average(), atol=1e-13)


def test_bad_input_is_a_value_error():
    L0, drives = _qubit()
    with pytest.raises(ValueError, match="`omega` must be positive"):
        qdiss.periodic_steady_state(L0, drives, 0.0)
    with pytest.raises(ValueError, match="`omega` must be positive"):
        qdiss.periodic_steady_state(L0, drives, -1.0)
    with pytest.raises(ValueError, match="`omega` must be a real scalar"):
        qdiss.periodic_steady_state(L0, drives, jnp.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="`harmonics` must be at least 1"):
        qdiss.periodic_steady_state(L0, drives, 1.0, harmonics=0)
    with pytest.raises(ValueError, match=r"`drives\[0\]` must be an \(n, n\)"):
        qdiss.periodic_steady_state(L0, [np.eye(3)], 1.0)
    with pytest.raises(ValueError, match="`drives` must be a list of"):
        qdiss.periodic_steady_state(L0, np.zeros((2, 3, 3)), 1.0)
    with pytest.raises(ValueError, match="at least one operator"):
        qdiss.periodic_steady_state(L0, [], 1.0)
    sectors = qdiss.SectorLindbladian(L0, [0, 1], jump_charges=(1,), modulus=2)
    with pytest.raises(ValueError, match="needs a dense Lindbladian"):
        qdiss.periodic_steady_state(sectors, drives, 1.0)
    with pytest.raises(ValueError, match="takes one drive harmonic"):
        qdiss.periodic_steady_state(L0, [SX, SX], 1.0, solver=qdiss.FloquetContinuedFraction())


def test_readme_example_runs():
    """The README's periodic-drive example (the block that calls periodic_steady_state) runs
    and gives the rotating-wave population it states, Ω²/(γ² + 2Ω²) = 1/3."""
    import pathlib
    import re
    import textwrap

    readme = pathlib.Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    block = textwrap.dedent(next(b for b in blocks if "periodic_steady_state" in b))
    namespace: dict = {}
    with jax.numpy_dtype_promotion("standard"):
        exec(compile(block, str(readme), "exec"), namespace)
    sol, sm = namespace["sol"], namespace["sm"]
    assert sol.status == "successful"
    np.testing.assert_allclose(np.real(sol.expect(sm.conj().T @ sm)), 1 / 3, rtol=2e-3)
    assert float(sol.stats.truncation) < 1e-6


@pytest.mark.parametrize("name", list(SOLVERS))
def test_vmapped_solves_and_gradients_never_call_batched_lapack(name):
    """As tests/test_no_hang.py for steady_state: under jit(value_and_grad(vmap)) every
    LAPACK/BLAS call of the compiled program acts on one matrix (README, "Batched solves and
    the old jaxlib hang")."""
    from test_no_hang import lapack_calls

    L0, drives = _qubit()
    jumps = [_modulated_decay(jnp.asarray(0.2), jnp.asarray(0.5))] if name != "mcf" else None

    def loss(shift):
        def one(omega):
            sol = qdiss.periodic_steady_state(
                L0,
                drives,
                omega,
                harmonics=4,
                jump_drives=jumps,
                solver=SOLVERS[name],
                throw=False,
            )
            return jnp.real(sol.expect(jnp.asarray(SP @ SM))), sol.stats.residual

        values, residuals = jax.vmap(one)(shift + jnp.linspace(0.8, 1.2, 3))
        return jnp.mean(values), residuals

    compiled = jax.jit(jax.value_and_grad(loss, has_aux=True)).lower(0.1).compile()
    calls = lapack_calls(compiled.as_text())
    assert calls  # the direct solvers' LU and the preconditioner's eigh are in there
    assert [(t, s) for t, s in calls if len(s) > 2] == []
    # and the batch runs: residuals small, the gradient finite
    (value, residuals), grad = compiled(0.1)
    assert np.all(np.asarray(residuals) < 1e-10)
    assert np.isfinite(float(value)) and np.isfinite(float(grad))
