"""Pseudo-inverse, stationary correlations, spectra, g⁽²⁾ and linear response.

References, never qdiss itself: the Drazin inverse of the NumPy superoperator (A^# = A (A³)⁺ A for
an index-1 matrix), NumPy resolvent solves, closed forms (the thermal cavity's Lorentzian and
exponential correlation, g⁽²⁾(0) = 2 of a thermal state), QuTiP's ``spectrum``,
``correlation_2op_1t`` and ``coherence_function_g2`` (computed here), and central finite
differences for gradients.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
from representations import NUM_SPINS, REPRESENTATIONS, null_space_state, superoperator

import qdiss

SOLVERS = {
    "dense": qdiss.DenseResolvent(),
    "schur": qdiss.SchurResolvent(),
    "krylov": qdiss.KrylovResolvent(),
}
PROPAGATORS = ["dense", "krylov"]  # SchurResolvent propagates as DenseResolvent
QUTIP_TIGHT = {"atol": 1e-12, "rtol": 1e-10}


def _drazin(matrix: np.ndarray) -> np.ndarray:
    """Group (index-1 Drazin) inverse A^# = A (A³)⁺ A, by NumPy's pseudo-inverse."""
    return matrix @ np.linalg.pinv(matrix @ matrix @ matrix, rcond=1e-12) @ matrix


def _reference_one_sided(H, ops, A, B, omegas):
    """F(ω) = −tr(A (L − iω)^{-1} Q(Bρ)) from the NumPy superoperator (row-major vec), with the
    Drazin inverse at ω = 0."""
    n = H.shape[0]
    sup = superoperator(H, ops)
    rho = null_space_state(H, ops)
    x = B @ rho
    q = (x - rho * np.trace(x)).reshape(-1)
    out = []
    for w in omegas:
        if w == 0:
            y = _drazin(sup) @ q
        else:
            y = np.linalg.solve(sup - 1j * w * np.eye(n * n), q)
        out.append(-np.trace(A @ y.reshape(n, n)))
    return np.array(out)


def _cavity(params, n=10):
    """Driven, damped thermal cavity: H = Δa†a + F(a + a†), jumps √(κ(1+n̄))a, √(κn̄)a†."""
    delta, drive, kappa, nth = params
    a = jnp.diag(jnp.sqrt(jnp.arange(1.0, n)), 1).astype(complex)
    H = delta.astype(complex) * a.conj().T @ a + drive.astype(complex) * (a + a.conj().T)
    jumps = [
        jnp.sqrt(kappa * (1 + nth)).astype(complex) * a,
        jnp.sqrt(kappa * nth).astype(complex) * a.conj().T,
    ]
    return qdiss.Lindbladian(H, jumps), a


def _kerr(params, n=8):
    """Kerr oscillator H = Δa†a + U a†a†aa + F(a + a†), jump √κ a."""
    delta, kerr, drive, kappa = params
    a = jnp.diag(jnp.sqrt(jnp.arange(1.0, n)), 1).astype(complex)
    ad = a.conj().T
    H = (
        delta.astype(complex) * ad @ a
        + kerr.astype(complex) * ad @ ad @ a @ a
        + drive.astype(complex) * (a + ad)
    )
    return qdiss.Lindbladian(H, [jnp.sqrt(kappa).astype(complex) * a]), a


def _qutip_kerr(params, n=8):
    delta, kerr, drive, kappa = (float(p) for p in params)
    a = qutip.destroy(n)
    H = delta * a.dag() * a + kerr * a.dag() * a.dag() * a * a + drive * (a + a.dag())
    return H, [np.sqrt(kappa) * a], a


KERR = jnp.array([0.3, 0.5, 0.6, 1.0])


# ----------------------------------------------------------------------------- pseudo-inverse


def _random_state(L, seed):
    size = int(L.space.physical_indices().size)
    rng = np.random.default_rng(seed)
    v = jnp.asarray(rng.normal(size=size) + 1j * rng.normal(size=size), L.dtype)
    return L.space.from_physical(v)


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_pseudo_inverse_is_the_dense_drazin_inverse(name, solver):
    rep = REPRESENTATIONS[name]
    L = rep.make()
    H, ops = rep.dense(np.asarray(rep.theta0))
    n = H.shape[0]
    sup = superoperator(H, ops)
    drazin = _drazin(sup)
    plus = qdiss.pseudo_inverse(L, solver=SOLVERS[solver])
    x = _random_state(L, 3)  # not traceless: L⁺ = L⁺(1 − P)
    y = plus.mv(x)
    expected = (drazin @ np.asarray(rep.to_dense(L, x)).reshape(-1)).reshape(n, n)
    got = np.asarray(rep.to_dense(L, y))
    assert np.max(np.abs(got - expected)) < 1e-9 * np.max(np.abs(expected))
    # L L⁺ = 1 − P with P(X) = ρ_ss tr X, and tr L⁺X = 0
    rho = null_space_state(H, ops)
    xd = np.asarray(rep.to_dense(L, x))
    lhs = (sup @ got.reshape(-1)).reshape(n, n)
    assert np.allclose(lhs, xd - rho * np.trace(xd), atol=1e-9)
    assert abs(np.trace(got)) < 1e-10


def test_pseudo_inverse_gradient_matches_finite_differences():
    rep = REPRESENTATIONS["dense"]
    x = np.asarray(_random_state(rep.make(), 4))
    obs = jnp.asarray(rep.observable)

    def f(theta):
        L = rep.family(theta)
        return jnp.real(jnp.sum(obs.T * qdiss.pseudo_inverse(L).mv(jnp.asarray(x))))

    theta = jnp.asarray(rep.theta0)
    grad = jax.grad(f)(theta)

    def reference(t):  # the NumPy Drazin inverse at θ
        H, ops = rep.dense(np.asarray(t))
        n = H.shape[0]
        y = (_drazin(superoperator(H, ops)) @ x.reshape(-1)).reshape(n, n)
        return np.real(np.trace(rep.observable @ y))

    h = 1e-5
    fd = [
        (reference(np.asarray(theta) + h * e) - reference(np.asarray(theta) - h * e)) / (2 * h)
        for e in np.eye(2)
    ]
    assert np.allclose(grad, fd, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------------------- spectra

CAVITY = jnp.array([0.4, 0.3, 1.3, 0.2])


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_cavity_spectrum_is_the_lorentzian(solver):
    """Driven thermal cavity: C(τ) − |⟨a⟩|² = n̄ e^{(iΔ − κ/2)τ}, S(ω) = n̄κ/((ω − Δ)² + κ²/4);
    the coherent part (a δ(ω) the resolvent would meet at ω = 0) is removed: ω = 0 is finite."""
    delta, _, kappa, nth = (float(p) for p in CAVITY)
    L, a = _cavity(CAVITY, n=16)
    omegas = np.array([-2.0, -0.5, 0.0, 0.4, 1.0, 3.0])
    out = qdiss.spectrum(L, omegas, a.conj().T, a, solver=SOLVERS[solver])
    closed = nth * kappa / ((omegas - delta) ** 2 + kappa**2 / 4)
    assert np.all(out.result == qdiss.RESULTS.successful)
    assert np.allclose(out.spectrum, closed, rtol=1e-7)  # truncation at 16 photons
    one_sided = nth / (1j * (omegas - delta) + kappa / 2)
    assert np.allclose(out.one_sided, one_sided, rtol=1e-7)
    # differentiable in ω too: dS/dω = −2n̄κ(ω − Δ)/((ω − Δ)² + κ²/4)²
    w0 = 1.0
    slope = jax.grad(
        lambda w: qdiss.spectrum(L, w[None], a.conj().T, a, solver=SOLVERS[solver]).spectrum[0]
    )(jnp.asarray(w0))
    expected = -2 * nth * kappa * (w0 - delta) / ((w0 - delta) ** 2 + kappa**2 / 4) ** 2
    assert np.isclose(slope, expected, rtol=1e-6)


def test_cavity_spectrum_matches_qutip_and_numpy():
    L, a = _cavity(CAVITY, n=10)
    delta, drive, kappa, nth = (float(p) for p in CAVITY)
    qa = qutip.destroy(10)
    H = delta * qa.dag() * qa + drive * (qa + qa.dag())
    c_ops = [np.sqrt(kappa * (1 + nth)) * qa, np.sqrt(kappa * nth) * qa.dag()]
    omegas = np.linspace(-3, 3, 7)  # includes 0
    ref = qutip.spectrum(H, omegas, c_ops, qa.dag(), qa, solver="pi")
    got = qdiss.spectrum(L, omegas, qa.dag(), qa)  # Qobj operators accepted
    assert np.allclose(got.spectrum, ref, rtol=1e-9, atol=1e-12)
    numpy_ref = _reference_one_sided(
        H.full(), [c.full() for c in c_ops], qa.dag().full(), qa.full(), omegas
    )
    assert np.allclose(got.one_sided, numpy_ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("solver", PROPAGATORS)
def test_mollow_triplet(solver):
    """Resonance fluorescence in the frame of the drive: H = Ω/2 σₓ, jump √γ σ₋; for Ω ≫ γ the
    spectrum of ⟨σ₊(τ)σ₋(0)⟩ has three peaks, at 0 and ±Ω (lab frame: ω₀, ω₀ ± Ω), side peaks
    a third of the central one in height (widths 3γ/4 and γ/2)."""
    rabi, gamma = 8.0, 1.0
    sm = qutip.sigmam()
    H = 0.5 * rabi * qutip.sigmax()
    omegas = np.linspace(-12, 12, 481)
    ref = qutip.spectrum(H, omegas, [np.sqrt(gamma) * sm], sm.dag(), sm)
    L = qdiss.Lindbladian(H, [np.sqrt(gamma) * sm])
    got = qdiss.spectrum(L, omegas, sm.dag(), sm, solver=SOLVERS[solver]).spectrum
    assert np.allclose(got, ref, rtol=1e-8, atol=1e-10)
    got = np.asarray(got)
    peaks = [i for i in range(1, len(got) - 1) if got[i] > got[i - 1] and got[i] > got[i + 1]]
    assert np.allclose(omegas[peaks], [-rabi, 0.0, rabi], atol=0.1)
    assert np.allclose(got[peaks[0]] / got[peaks[1]], 1 / 3, rtol=0.05)


def test_kerr_spectrum_matches_qutip():
    H, c_ops, a = _qutip_kerr(KERR)
    omegas = np.linspace(-4, 4, 9)
    L, _ = _kerr(KERR)
    for A, B in [(a.dag(), a), (a, a.dag()), (a.dag() * a, a.dag() * a)]:
        ref = qutip.spectrum(H, omegas, c_ops, A, B)
        got = qdiss.spectrum(L, omegas, A, B).spectrum
        assert np.allclose(got, ref, rtol=1e-8, atol=1e-10)
    # in batches of 4 frequencies (lax.map), the last one partial
    got = qdiss.spectrum(L, omegas, a.dag(), a, batch_size=4).spectrum
    assert np.allclose(got, qutip.spectrum(H, omegas, c_ops, a.dag(), a), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("solver", list(SOLVERS))
def test_spectrum_gradient_matches_finite_differences(solver):
    omegas = jnp.array([-1.0, 0.0, 0.7])

    def f(params):
        L, a = _kerr(params)
        out = qdiss.spectrum(L, omegas, a.conj().T, a, solver=SOLVERS[solver])
        return jnp.sum(out.spectrum * jnp.array([1.0, 0.5, 2.0]))

    def reference(params):  # NumPy resolvents
        H, c_ops, a = _qutip_kerr(params)
        one = _reference_one_sided(
            H.full(), [c.full() for c in c_ops], a.dag().full(), a.full(), np.asarray(omegas)
        )
        return float(np.sum(2 * np.real(one) * np.array([1.0, 0.5, 2.0])))

    grad = jax.grad(f)(KERR)
    h = 1e-5
    fd = [
        (reference(np.asarray(KERR) + h * e) - reference(np.asarray(KERR) - h * e)) / (2 * h)
        for e in np.eye(4)
    ]
    assert np.allclose(grad, fd, rtol=1e-5, atol=1e-7)


def test_spectrum_under_jit_and_vmap_over_parameters():
    omegas = jnp.array([0.0, 0.5])

    @jax.jit
    def f(drive):
        L, a = _kerr(KERR.at[2].set(drive))
        return qdiss.spectrum(L, omegas, a.conj().T, a).spectrum

    drives = jnp.array([0.3, 0.6])
    batched = jax.vmap(f)(drives)
    for i, d in enumerate(np.asarray(drives)):
        H, c_ops, a = _qutip_kerr(np.asarray(KERR.at[2].set(d)))
        ref = qutip.spectrum(H, np.asarray(omegas), c_ops, a.dag(), a)
        assert np.allclose(batched[i], ref, rtol=1e-8, atol=1e-10)


def test_failed_resolvent_solves_are_reported():
    """GMRES stopped after one short cycle: the code says so (throw=False), ``throw=True``
    raises, the residual shows it and the gradient is NaN; a converged solve reports a tiny
    residual."""
    L, a = _kerr(KERR)
    omegas = np.array([0.0, 1.0])
    starved = qdiss.KrylovResolvent(max_steps=1, restart=2)
    out = qdiss.spectrum(L, omegas, a.conj().T, a, solver=starved, throw=False)
    assert np.all(out.result == qdiss.RESULTS.max_steps_reached)
    assert np.all(np.asarray(out.residual) > 1e-6)
    with pytest.raises(eqx.EquinoxRuntimeError, match="maximum number of solver steps"):
        qdiss.spectrum(L, omegas, a.conj().T, a, solver=starved)
    grad = jax.grad(
        lambda p: jnp.sum(
            qdiss.spectrum(_kerr(p)[0], omegas, a.conj().T, a, solver=starved, throw=False).spectrum
        )
    )(KERR)
    assert np.all(np.isnan(grad))  # a failed solve has no meaningful derivative
    good = qdiss.spectrum(L, omegas, a.conj().T, a, solver=qdiss.KrylovResolvent())
    assert np.all(good.result == qdiss.RESULTS.successful)
    assert np.all(np.asarray(good.residual) < 1e-10)


# ------------------------------------------------------------------- other representations


def _collective_lowering(n):
    sm = np.array([[0, 0], [1, 0]], complex)
    return sum(np.kron(np.kron(np.eye(2**i), sm), np.eye(2 ** (n - i - 1))) for i in range(n))


@pytest.mark.parametrize("name", ["sectors", "permutation"])
def test_spectrum_in_other_representations(name):
    """B ρ_ss stays in the representation: a parity-conserving B for sectors, the collective
    J₋ for permutation-invariant spins; against NumPy resolvents of the dense equivalent."""
    rep = REPRESENTATIONS[name]
    L = rep.make()
    H, ops = rep.dense(np.asarray(rep.theta0))
    if name == "sectors":
        from representations import SECTOR_LABELS

        same = SECTOR_LABELS[:, None] == SECTOR_LABELS[None, :]
        B = np.where(same, rep.observable, 0) + 0.3j * np.where(same, 1.0, 0)
        A = B.conj().T
    else:
        B = _collective_lowering(NUM_SPINS)
        A = B.conj().T
    omegas = np.array([-1.0, 0.0, 0.8])
    ref = _reference_one_sided(H, ops, A, B, omegas)
    for solver in (SOLVERS["dense"], SOLVERS["krylov"]):
        got = qdiss.spectrum(L, omegas, jnp.asarray(A), jnp.asarray(B), solver=solver)
        assert np.allclose(got.one_sided, ref, rtol=1e-8, atol=1e-10)


def test_operator_leaving_the_sector_representation_is_refused():
    rep = REPRESENTATIONS["sectors"]
    L = rep.make()
    from representations import SECTOR_LABELS

    flip = (SECTOR_LABELS[:, None] != SECTOR_LABELS[None, :]).astype(complex)
    with pytest.raises(ValueError, match="not a state of this Lindbladian's representation"):
        qdiss.spectrum(L, np.array([0.5]), jnp.asarray(flip), jnp.asarray(flip))


# ------------------------------------------------------------------ time-domain correlations


@pytest.mark.parametrize("solver", PROPAGATORS)
def test_correlation_2op_1t_matches_qutip_and_closed_form(solver):
    delta, drive, kappa, nth = (float(p) for p in CAVITY)
    L, a = _cavity(CAVITY, n=14)
    taus = np.linspace(0, 4, 9)
    got = qdiss.correlation_2op_1t(L, taus, a.conj().T, a, solver=SOLVERS[solver])
    qa = qutip.destroy(14)
    H = delta * qa.dag() * qa + drive * (qa + qa.dag())
    c_ops = [np.sqrt(kappa * (1 + nth)) * qa, np.sqrt(kappa * nth) * qa.dag()]
    ref = qutip.correlation_2op_1t(H, None, taus, c_ops, qa.dag(), qa, options=QUTIP_TIGHT)
    tol = 1e-8 if solver == "dense" else 1e-6
    assert np.allclose(got, ref, atol=tol)
    alpha2 = drive**2 / (delta**2 + kappa**2 / 4)
    closed = alpha2 + nth * np.exp((1j * delta - kappa / 2) * taus)
    assert np.allclose(got, closed, atol=1e-6)  # truncation at 14 photons


def test_correlation_at_unequal_times():
    L, a = _kerr(KERR)
    taus = np.array([0.0, 0.3, 1.7, 2.0])
    H, c_ops, qa = _qutip_kerr(KERR)
    ref = qutip.correlation_2op_1t(H, None, taus, c_ops, qa.dag(), qa, options=QUTIP_TIGHT)
    assert np.allclose(qdiss.correlation_2op_1t(L, taus, qa.dag(), qa), ref, atol=1e-8)


def test_g2_matches_qutip_and_thermal_bunching():
    L, a = _kerr(KERR)
    taus = np.linspace(0, 3, 7)
    H, c_ops, qa = _qutip_kerr(KERR)
    g2_ref, big_ref = qutip.coherence_function_g2(H, None, taus, c_ops, qa, options=QUTIP_TIGHT)
    g2, big = qdiss.coherence_function_g2(L, taus, a)
    assert np.allclose(g2, g2_ref, atol=1e-7)
    assert np.allclose(big, big_ref, atol=1e-8)
    assert np.isclose(qdiss.g2_zero(L, a), g2_ref[0].real, atol=1e-7)
    thermal, a10 = _cavity(jnp.array([0.4, 0.0, 1.0, 0.1]), n=14)
    assert np.isclose(qdiss.g2_zero(thermal, a10), 2.0, atol=1e-5)  # truncation


def test_g2_gradient_matches_finite_differences():
    taus = jnp.array([0.0, 0.5, 1.5])

    def f(params):
        L, a = _kerr(params)
        return jnp.sum(jnp.real(qdiss.coherence_function_g2(L, taus, a)[0]))

    def reference(params):
        H, c_ops, a = _qutip_kerr(params)
        g2, _ = qutip.coherence_function_g2(
            H, None, np.asarray(taus), c_ops, a, options=QUTIP_TIGHT
        )
        return float(np.sum(np.real(g2)))

    grad = jax.grad(f)(KERR)
    h = 1e-4
    fd = [
        (reference(np.asarray(KERR) + h * e) - reference(np.asarray(KERR) - h * e)) / (2 * h)
        for e in np.eye(4)
    ]
    assert np.allclose(grad, fd, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------------- linear response


def test_linear_response_to_a_hamiltonian_and_a_jump_perturbation():
    H, c_ops, qa = _qutip_kerr(KERR)
    obs = (qa.dag() * qa).full()

    def reference(eps, which):
        Hp = H + eps * (qa + qa.dag()) * 0.5 if which == "H" else H
        cp = [c_ops[0] + eps * 0.2 * qa.dag() * qa] if which == "jump" else c_ops
        return float(np.real(qutip.expect(qutip.Qobj(obs), qutip.steadystate(Hp, cp))))

    a = jnp.asarray(qa.full())
    for which in ("H", "jump"):

        def family(eps, which=which):
            L, _ = _kerr(KERR)
            if which == "H":
                return qdiss.Lindbladian(
                    L.H + eps.astype(complex) * 0.5 * (a + a.conj().T), L.jump_ops
                )
            return qdiss.Lindbladian(L.H, L.jump_ops + eps.astype(complex) * 0.2 * a.conj().T @ a)

        got = qdiss.linear_response(family, obs)
        h = 1e-5
        fd = (reference(h, which) - reference(-h, which)) / (2 * h)
        assert np.isclose(got.real, fd, rtol=1e-6, atol=1e-8)
        assert abs(got.imag) < 1e-10

        def expect(eps, family=family):
            rho = qdiss.steady_state(family(eps)).rho
            return jnp.real(jnp.trace(jnp.asarray(obs) @ rho))

        assert np.isclose(got.real, jax.grad(expect)(jnp.asarray(0.0)), rtol=1e-9)


def test_susceptibility_matches_numpy_resolvents():
    """χ(ω) = −tr(O (L + iω)⁻¹ L′ρ) for a modulated drive, L′ρ = −i[V, ρ] with V = (a + a†)/2,
    against NumPy resolvents (Drazin at ω = 0); jax.grad of Re χ at one ω vs finite
    differences of the NumPy value."""
    omegas = np.array([-1.0, 0.0, 0.6])
    H, c_ops, qa = _qutip_kerr(KERR)
    V = 0.5 * (qa + qa.dag()).full()
    obs = (qa.dag() * qa).full()

    def reference(params, w):
        H, c_ops, _ = _qutip_kerr(params)
        Hd, ops = H.full(), [c.full() for c in c_ops]
        n = Hd.shape[0]
        sup = superoperator(Hd, ops)
        rho = null_space_state(Hd, ops)
        d = (-1j * (V @ rho - rho @ V)).reshape(-1)
        inv = _drazin(sup) if w == 0 else np.linalg.inv(sup + 1j * w * np.eye(n * n))
        return -np.trace(obs @ (inv @ d).reshape(n, n))

    def family_at(params):
        def family(eps):
            L, _ = _kerr(params)
            return qdiss.Lindbladian(L.H + eps.astype(complex) * jnp.asarray(V), L.jump_ops)

        return family

    got = qdiss.susceptibility(family_at(KERR), obs, omegas)
    ref = np.array([reference(KERR, w) for w in omegas])
    assert np.allclose(got, ref, rtol=1e-9, atol=1e-12)

    grad = jax.grad(lambda p: jnp.real(qdiss.susceptibility(family_at(p), obs, omegas[2:])[0]))(
        KERR
    )
    h = 1e-5
    fd = [
        (
            reference(np.asarray(KERR) + h * e, omegas[2]).real
            - reference(np.asarray(KERR) - h * e, omegas[2]).real
        )
        / (2 * h)
        for e in np.eye(4)
    ]
    assert np.allclose(grad, fd, rtol=1e-5, atol=1e-7)
