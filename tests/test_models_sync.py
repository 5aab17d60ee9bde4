"""qdiss.models.sync: mean-field synchronisation of two-level ensembles (Yang & Zhang,
arXiv:2511.10920) against the Bloch equations, QuTiP, the closed-form limit cycle,
finite differences; two-group locking; the finite-N Lindblad counterpart."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import qdiss
from qdiss.models import sync

DAMPED = dict(omega=1.0, V=2.0, theta=np.pi / 3, gamma_g=0.2, gamma_d=1.0)  # V sin θ > 0
SUPERRADIANT = dict(omega=0.5, V=2.0, theta=-np.pi / 2, gamma_g=1.0, gamma_d=0.1)  # V sin θ < 0
TIGHT = dict(rtol=1e-10, atol=1e-12)


def _random_bloch(rng, k):
    v = rng.normal(size=(k, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True) * rng.uniform(0.3, 0.95, size=(k, 1))


@pytest.mark.parametrize("groups", [1, 2])
def test_generator_matches_qutip_and_bloch_equations(groups):
    rng = np.random.default_rng(groups)
    omega = rng.normal(size=groups)
    model = sync.MeanFieldSync(omega, 1.3, 0.7, 0.4, 0.9)
    bloch = _random_bloch(rng, groups)
    rho = sync.bloch_state(bloch)
    drho = np.asarray(model(0.0, rho))
    # QuTiP: the same master equation with the field h frozen at its current value.
    s = (bloch[:, 0] - 1j * bloch[:, 1]) / 2
    h = 1.3 * np.exp(0.7j) * np.mean(s)
    sm, sz = qutip.sigmam(), qutip.sigmaz()
    eye = qutip.qeye(2)

    def embed(op, k):
        return qutip.tensor([op if j == k else eye for j in range(groups)]) if groups > 1 else op

    H = sum(embed(omega[k] / 2 * sz + h * sm.dag() + np.conj(h) * sm, k) for k in range(groups))
    c_ops = [embed(np.sqrt(0.9) * sm, k) for k in range(groups)]
    c_ops += [embed(np.sqrt(0.4) * sm.dag(), k) for k in range(groups)]
    liouvillian = qutip.liouvillian(H, c_ops)
    ref = qutip.vector_to_operator(
        liouvillian * qutip.operator_to_vector(qutip.Qobj(np.asarray(rho), dims=[[2] * groups] * 2))
    )
    np.testing.assert_allclose(drho, ref.full(), atol=1e-13)
    # Bloch equations: ds/dt = (−iω − Γ/2)s + ihz, dz/dt = 4 Im(h s*) − Γz + Γ_g − Γ_d.
    ds, dz = model.bloch_rhs(jnp.asarray(s), jnp.asarray(bloch[:, 2]))
    sm_k, sz_k = sync.spin_operators(groups)
    np.testing.assert_allclose(
        np.einsum("kij,ji->k", np.asarray(sm_k), drho), np.asarray(ds), atol=1e-13
    )
    np.testing.assert_allclose(
        np.einsum("kij,ji->k", np.asarray(sz_k), drho).real, np.asarray(dz), atol=1e-13
    )
    np.testing.assert_allclose(
        np.asarray(sync.bloch_vectors(jnp.asarray(s), bloch[:, 2])), bloch, atol=1e-15
    )


@pytest.mark.parametrize("params", [DAMPED, SUPERRADIANT])
def test_limit_cycle_matches_closed_form(params):
    closed = sync.mean_field_limit_cycle(**params)
    assert bool(closed.synchronised)
    lc = sync.MeanFieldSync.single(**params).limit_cycle(120.0, 4001, **TIGHT)
    assert lc.z.shape == (1,)  # one entry per group
    np.testing.assert_allclose(float(lc.z[0]), float(closed.z), atol=1e-8)
    np.testing.assert_allclose(float(lc.amplitude[0]) ** 2, float(closed.r2), atol=1e-8)
    np.testing.assert_allclose(float(lc.frequency[0]), float(closed.omega_sync), atol=1e-8)
    assert float(lc.amplitude_spread[0]) < 1e-7
    # A physical state: the Bloch vector stays inside the ball.
    assert 4 * float(closed.r2) + float(closed.z) ** 2 <= 1


def test_synchronisation_boundary_vmap():
    theta, gg, gd = DAMPED["theta"], DAMPED["gamma_g"], DAMPED["gamma_d"]
    vc = float(sync.critical_coupling(theta, gg, gd))
    np.testing.assert_allclose(vc, (gg + gd) ** 2 / (2 * np.sin(theta) * (gd - gg)))
    factors = jnp.array([0.6, 0.85, 1.25, 2.0])

    def run(V):
        return sync.MeanFieldSync.single(1.0, V, theta, gg, gd).limit_cycle(300.0, 6001, **TIGHT)

    lc = jax.jit(jax.vmap(run))(vc * factors)
    closed = sync.mean_field_limit_cycle(1.0, vc * factors, theta, gg, gd)
    np.testing.assert_array_equal(np.asarray(closed.synchronised), [False, False, True, True])
    amp = np.asarray(lc.amplitude)[:, 0]
    assert np.all(amp[:2] < 1e-6)  # decays to the incoherent fixed point
    np.testing.assert_allclose(amp[2:] ** 2, np.asarray(closed.r2[2:]), atol=1e-7)
    np.testing.assert_allclose(np.asarray(lc.z[2:, 0]), np.asarray(closed.z[2:]), atol=1e-7)
    np.testing.assert_allclose(np.asarray(lc.z[:2, 0]), (gg - gd) / (gg + gd), atol=1e-6)
    # No coupling → no cycle; wrong sign of the gain/loss balance → never synchronised.
    assert float(sync.critical_coupling(theta, gd, gg)) == np.inf


def test_two_groups_lock_below_and_beat_above_critical_detuning():
    def run(delta):
        model = sync.MeanFieldSync.two_groups(delta, 6.0, np.pi / 3, 0.2, 1.0)
        return model.limit_cycle(200.0, 16001, tail=0.25)

    lc = jax.jit(jax.vmap(run))(jnp.array([0.5, 8.0]))
    locked = np.asarray(lc.locked)
    freq = np.asarray(lc.frequency)
    assert locked[0] and not locked[1]
    assert abs(freq[0, 0] - freq[0, 1]) < 1e-6 and float(lc.amplitude_spread[0].max()) < 1e-6
    assert abs(freq[1, 0] - freq[1, 1]) > 4.0  # each group near its own frequency ±δ/2
    assert np.all(np.asarray(lc.amplitude) > 0.1)  # both groups oscillate in both regimes


def test_incoherent_groups_are_not_locked():
    """Below the synchronisation threshold both groups decay to s ≈ 0 with equal fitted
    frequencies: not a locked limit cycle."""
    lc = sync.MeanFieldSync.two_groups(3.0, 4.0, 0.15, 0.2, 1.0).limit_cycle(200.0, 8001)
    assert float(jnp.max(lc.amplitude)) < 1e-6
    assert not bool(lc.locked)


def test_limit_cycle_on_synthetic_signals():
    t = jnp.linspace(0.0, 50.0, 2001)

    def analyse(omega):
        phase_a, phase_b = -omega * t + 0.4, -1.5 * t
        s = jnp.stack(
            [
                0.3 * jnp.exp(1j * phase_a.astype(complex)),
                0.1 * jnp.exp(1j * phase_b.astype(complex)),
            ]
        )
        return sync.limit_cycle(t, s, jnp.full((2, t.shape[0]), -0.2), tail=0.5)

    out = jax.vmap(analyse)(jnp.array([1.5, -2.0]))
    np.testing.assert_allclose(np.asarray(out.frequency), [[1.5, 1.5], [-2.0, 1.5]], atol=1e-10)
    np.testing.assert_allclose(np.asarray(out.amplitude), [[0.3, 0.1], [0.3, 0.1]], atol=1e-12)
    np.testing.assert_array_equal(np.asarray(out.locked), [True, False])
    # Two decayed groups (s → 0) share a meaningless "frequency" but are not locked.
    decayed = jnp.stack([1e-9 * jnp.exp(-0.3j * t.astype(complex))] * 2)
    assert not bool(sync.limit_cycle(t, decayed).locked)
    one = sync.limit_cycle(t, 0.2 * jnp.exp(0.7j * t.astype(complex)))
    assert one.frequency.shape == () and abs(float(one.frequency) + 0.7) < 1e-10


def test_gradient_of_the_limit_cycle():
    """dz*/dV = Γ/(2V² sin θ) through the nonlinear evolution (and by finite differences)."""
    p = dict(DAMPED)

    def tail_z(V):
        model = sync.MeanFieldSync.single(p["omega"], V, p["theta"], p["gamma_g"], p["gamma_d"])
        s, z = model.trajectory(jnp.array([0.0, 80.0]), **TIGHT)
        return z[0, -1]

    value_and_grad = jax.jit(jax.value_and_grad(tail_z))  # one compilation for all calls
    grad = float(value_and_grad(p["V"])[1])
    gamma = p["gamma_g"] + p["gamma_d"]
    np.testing.assert_allclose(grad, gamma / (2 * p["V"] ** 2 * np.sin(p["theta"])), rtol=1e-6)
    h = 1e-5
    fd = (float(value_and_grad(p["V"] + h)[0]) - float(value_and_grad(p["V"] - h)[0])) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6)


def _partial_trace_first(rho, N):
    rho = np.asarray(rho).reshape(2, 2 ** (N - 1), 2, 2 ** (N - 1))
    return np.einsum("aibi->ab", rho)


@pytest.mark.parametrize("theta", [np.pi / 3, -2 * np.pi / 3])
def test_finite_n_reduces_to_mean_field_on_product_states(theta):
    """tr_{2..N} L_N(ρ₁^{⊗N}) = mean-field generator with V → V(N−1)/N, plus the self-term of the
    collective dissipator (2V|sin θ|/N) D[σ∓]ρ₁ (module docstring)."""
    N, omega, V, gg, gd = 3, 0.7, 1.6, 0.3, 0.8
    rng = np.random.default_rng(4)
    rho1 = np.asarray(sync.bloch_state(_random_bloch(rng, 1)))
    rho = rho1
    for _ in range(N - 1):
        rho = np.kron(rho, rho1)
    L = sync.SyncEnsemble(N, omega, V, theta, gg, gd).lindbladian()
    reduced = _partial_trace_first(L.mv(jnp.asarray(rho)), N)
    mf = sync.MeanFieldSync.single(omega, V * (N - 1) / N, theta, gg, gd)
    sm = np.array([[0, 0], [1, 0]], complex)
    jump = sm if np.sin(theta) < 0 else sm.T
    self_term = jump @ rho1 @ jump.conj().T - 0.5 * (
        jump.conj().T @ jump @ rho1 + rho1 @ jump.conj().T @ jump
    )
    expected = np.asarray(mf(0.0, jnp.asarray(rho1))) + 2 * V * abs(np.sin(theta)) / N * self_term
    np.testing.assert_allclose(reduced, expected, atol=1e-13)


def _qutip_ensemble(N, omegas, V, theta, gg, gd):
    eye, sm, sz = qutip.qeye(2), qutip.sigmam(), qutip.sigmaz()
    ops = lambda op: [qutip.tensor([op if j == k else eye for j in range(N)]) for k in range(N)]  # noqa: E731
    sms, szs = ops(sm), ops(sz)
    H = sum(omegas[k] / 2 * szs[k] for k in range(N))
    H += (
        V
        * np.cos(theta)
        / N
        * sum(sms[i].dag() * sms[j] for i in range(N) for j in range(N) if i != j)
    )
    jm = sum(sms)
    rate = 2 * V * abs(np.sin(theta)) / N
    c_ops = [np.sqrt(rate) * (jm if np.sin(theta) < 0 else jm.dag())]
    c_ops += [np.sqrt(gd) * s for s in sms] + [np.sqrt(gg) * s.dag() for s in sms]
    return H, c_ops, sms


def test_finite_n_steady_state_and_correlations_match_qutip():
    N, omegas = 3, np.array([0.4, -0.3, 0.1])
    args = (1.4, -np.pi / 2 + 0.3, 0.9, 0.2)  # V, θ, Γ_g, Γ_d (collective decay + net gain)
    H, c_ops, sms = _qutip_ensemble(N, omegas, *args)
    ref = qutip.steadystate(H, c_ops)
    rho = qdiss.steady_state(sync.SyncEnsemble(N, jnp.asarray(omegas), *args).lindbladian()).rho
    np.testing.assert_allclose(np.asarray(rho), ref.full(), atol=1e-9)
    corr = np.asarray(sync.pair_correlations(rho))
    ref_corr = [[qutip.expect(sms[i].dag() * sms[j], ref) for j in range(N)] for i in range(N)]
    np.testing.assert_allclose(corr, ref_corr, atol=1e-9)
    assert abs(corr[0, 1]) > 1e-3  # coupled spins are correlated...
    uncoupled = sync.SyncEnsemble(N, jnp.asarray(omegas), 0.0, *args[1:]).lindbladian()
    corr0 = sync.pair_correlations(qdiss.steady_state(uncoupled).rho)
    assert abs(complex(corr0[0, 1])) < 1e-12  # ...uncoupled ones are not


def test_finite_n_gradient_matches_finite_differences():
    def c12(params):
        V, theta, gg = params
        L = sync.SyncEnsemble(3, 0.2, V, theta, gg, 0.3).lindbladian()
        return jnp.real(sync.pair_correlations(qdiss.steady_state(L, qdiss.DenseLU()).rho)[0, 1])

    params = jnp.array([1.2, -1.2, 0.8])
    value_and_grad = jax.jit(jax.value_and_grad(c12))  # one compilation for all calls
    grad = np.asarray(value_and_grad(params)[1])
    value = lambda x: value_and_grad(x)[0]  # noqa: E731
    h = 1e-5
    fd = [
        (float(value(params.at[i].add(h))) - float(value(params.at[i].add(-h)))) / (2 * h)
        for i in range(3)
    ]
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-9)
    assert np.all(np.abs(fd) > 1e-4)


def test_permutation_invariant_form_and_approach_to_mean_field():
    """Identical spins: the permutation-invariant Lindbladian reproduces the full 2^N one, and
    ⟨σ⁺_1σ⁻_2⟩ grows with N towards the mean-field r² when synchronised (V > V_c) and decays
    when not (collective decay θ = −π/2 with net gain: V_c = Γ²/(2(Γ_g − Γ_d)) ≈ 0.67)."""
    theta, gg, gd = -np.pi / 2, 1.0, 0.1
    Vs = jnp.array([3.0, 0.4])

    def steady(V, N):
        pil = sync.SyncEnsemble(N, 0.0, V, theta, gg, gd).permutation_invariant()
        return qdiss.steady_state(pil, qdiss.DenseLU()).rho

    rho_small = jax.vmap(lambda V: steady(V, 4))(Vs)
    rho_large = jax.vmap(lambda V: steady(V, 10))(Vs)
    full = sync.SyncEnsemble(4, 0.0, 3.0, theta, gg, gd)
    rho_full = qdiss.steady_state(full.lindbladian(), qdiss.DenseLU()).rho
    dense = full.permutation_invariant().to_dense(rho_small[0])
    np.testing.assert_allclose(np.asarray(dense), np.asarray(rho_full), atol=1e-12)
    corr = complex(sync.pair_correlations(rho_full)[0, 1])
    np.testing.assert_allclose(float(sync.pi_pair_correlation(rho_small[0])), corr.real, atol=1e-12)

    small, large = (
        np.asarray(jax.vmap(sync.pi_pair_correlation)(r)) for r in (rho_small, rho_large)
    )
    r2 = float(sync.mean_field_limit_cycle(0.0, 3.0, theta, gg, gd).r2)
    assert small[0] < large[0] < r2  # synchronised: towards r² ≈ 0.058
    assert 0 < large[1] < small[1]  # not synchronised: correlations fade with N
    with pytest.raises(ValueError, match="identical frequencies"):
        sync.SyncEnsemble(3, jnp.array([0.1, 0.2, 0.3]), 1.0, theta, gg, gd).permutation_invariant()
