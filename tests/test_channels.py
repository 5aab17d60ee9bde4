"""Quantum channels: Kraus / superoperator / Choi conversions against numpy and QuTiP, composition
and tensor products against explicit matrix products, CP/TP checks, batching; the entanglement-
preserving local thermalisation E_γ (arXiv:1904.07945) against its defining properties and closed
forms (numpy Wootters concurrence, partial transposes, GHZ fidelities); gradients vs central
finite differences."""

from __future__ import annotations

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import qdiss
from qdiss import channels as ch

SM = np.array([[0, 0], [1, 0]], complex)  # basis (e, g): σ⁻ = |g⟩⟨e|
X = np.array([[0, 1], [1, 0]], complex)
Z = np.diag([1.0, -1.0]).astype(complex)


# ------------------------------------------------------------------------- numpy references


def _random_state(d, seed, rank=None):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(d, rank or d)) + 1j * rng.normal(size=(d, rank or d))
    rho = g @ g.conj().T
    return rho / np.trace(rho)


def _random_kraus(k, d_out, d_in, seed):
    """k Kraus operators with Σ K†K = I (an isometry d_in → k·d_out, cut into blocks)."""
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(k * d_out, d_in)) + 1j * rng.normal(size=(k * d_out, d_in))
    q, _ = np.linalg.qr(m)
    return q.reshape(k, d_out, d_in)


def _random_unitary(d, seed):
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def _kraus_superop(kraus):
    return sum(np.kron(k, k.conj()) for k in kraus)


def _explicit_choi(apply, d_in):
    """Σ_ij |i⟩⟨j| ⊗ E(|i⟩⟨j|), built term by term."""
    out = 0
    for i in range(d_in):
        for j in range(d_in):
            e = np.zeros((d_in, d_in), complex)
            e[i, j] = 1
            out = out + np.kron(e, np.asarray(apply(jnp.asarray(e))))
    return out


def _partial_trace(rho, dims, keep):
    """Reduced state on party ``keep`` of a state on ⊗ C^{dims}."""
    n = len(dims)
    t = rho.reshape(dims + dims)
    letters = "abcdefghij"
    row = [letters[i] for i in range(n)]
    col = [letters[i] if i != keep else "z" for i in range(n)]
    return np.einsum("".join(row) + "".join(col) + "->" + letters[keep] + "z", t)


def _partial_transpose(rho, d):
    return rho.reshape(d, d, d, d).transpose(0, 3, 2, 1).reshape(d * d, d * d)


def _wootters(rho):
    sy = np.array([[0, -1j], [1j, 0]])
    yy = np.kron(sy, sy)
    lam = np.sqrt(np.abs(np.linalg.eigvals(rho @ yy @ rho.conj() @ yy)))
    lam = np.sort(lam)[::-1]
    return max(0.0, lam[0] - lam[1] - lam[2] - lam[3])


def _phi_plus(d):
    return np.eye(d).reshape(-1) / np.sqrt(d)


def _ghz(n):
    v = np.zeros(2**n, complex)
    v[0] = v[-1] = 1 / np.sqrt(2)
    return v


def _qutip_row_major(q):
    n = int(round(np.sqrt(q.shape[0])))
    m = int(round(np.sqrt(q.shape[1])))
    perm_out = np.arange(n * n).reshape(n, n).T.reshape(-1)
    perm_in = np.arange(m * m).reshape(m, m).T.reshape(-1)
    return q[np.ix_(perm_out, perm_in)]


def _fd(f, x, h=1e-6):
    x = np.asarray(x, float)
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        out.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return out


# ---------------------------------------------------------------------- generic channel layer


def test_kraus_channel_apply_superoperator_choi_against_numpy():
    kraus = _random_kraus(3, 3, 2, 0)
    chan = ch.KrausChannel(jnp.asarray(kraus))
    assert (chan.d_in, chan.d_out) == (2, 3)
    rho = _random_state(2, 1)
    expected = sum(k @ rho @ k.conj().T for k in kraus)
    np.testing.assert_allclose(np.asarray(chan(jnp.asarray(rho))), expected, atol=1e-14)
    np.testing.assert_allclose(np.asarray(chan.superoperator()), _kraus_superop(kraus), atol=1e-14)
    np.testing.assert_allclose(np.asarray(chan.choi()), _explicit_choi(chan.apply, 2), atol=1e-14)
    assert bool(ch.is_completely_positive(chan)) and bool(ch.is_trace_preserving(chan))
    # a list of operators is the same channel
    listed = ch.KrausChannel([jnp.asarray(k) for k in kraus])
    np.testing.assert_allclose(np.asarray(listed.superoperator()), _kraus_superop(kraus))


def test_round_trips_kraus_superoperator_choi():
    kraus = _random_kraus(2, 2, 3, 4)
    chan = ch.KrausChannel(jnp.asarray(kraus))
    s = np.asarray(chan.superoperator())
    from_super = ch.SuperoperatorChannel(jnp.asarray(s))
    assert (from_super.d_in, from_super.d_out) == (3, 2)
    np.testing.assert_allclose(np.asarray(from_super.choi()), np.asarray(chan.choi()), atol=1e-14)
    new_kraus = np.asarray(from_super.kraus())
    assert new_kraus.shape == (6, 2, 3)
    np.testing.assert_allclose(_kraus_superop(new_kraus), s, atol=1e-12)
    # the Kraus operators from the Choi eigenvectors are orthogonal: tr(K_m† K_n) = λ_m δ_mn
    gram = np.einsum("mab,nab->mn", new_kraus.conj(), new_kraus)
    np.testing.assert_allclose(gram, np.diag(np.diag(gram)), atol=1e-12)
    rank = int(np.sum(np.diag(gram).real > 1e-10))
    assert rank == 2


def test_amplitude_damping_against_qutip_and_closed_form():
    p = 0.3
    k0 = np.diag([np.sqrt(1 - p), 1.0]).astype(complex)  # basis (e, g)
    k1 = np.sqrt(p) * SM
    chan = ch.KrausChannel(jnp.asarray(np.stack([k0, k1])))
    q_super = qutip.kraus_to_super([qutip.Qobj(k0), qutip.Qobj(k1)])
    np.testing.assert_allclose(
        np.asarray(chan.superoperator()), _qutip_row_major(q_super.full()), atol=1e-14
    )
    np.testing.assert_allclose(np.asarray(chan.choi()), qutip.to_choi(q_super).full(), atol=1e-14)
    rho = _random_state(2, 3)
    out = np.asarray(chan(jnp.asarray(rho)))
    q_out = qutip.vector_to_operator(q_super * qutip.operator_to_vector(qutip.Qobj(rho))).full()
    np.testing.assert_allclose(out, q_out, atol=1e-14)
    # closed form: excited population × (1 − p), coherence × √(1 − p)
    assert out[0, 0] == pytest.approx((1 - p) * rho[0, 0])
    assert out[0, 1] == pytest.approx(np.sqrt(1 - p) * rho[0, 1])
    assert q_super.iscp and q_super.istp
    # the same channel as e^{tL} of qdiss.Lindbladian(0, [√κ σ⁻]) with p = 1 − e^{−κt}
    kappa = 0.8
    t = float(-np.log(1 - p) / kappa)
    L = qdiss.Lindbladian(jnp.zeros((2, 2), complex), [np.sqrt(kappa) * SM])
    evolution = ch.SuperoperatorChannel(jax.scipy.linalg.expm(t * L.superoperator()))
    np.testing.assert_allclose(np.asarray(evolution(jnp.asarray(rho))), out, atol=1e-13)
    assert bool(ch.is_completely_positive(chan)) and bool(ch.is_trace_preserving(chan))


def test_composition_and_tensor_against_explicit_matrices():
    ka, kb = _random_kraus(2, 3, 2, 10), _random_kraus(3, 2, 3, 11)
    a, b = ch.KrausChannel(jnp.asarray(ka)), ch.KrausChannel(jnp.asarray(kb))
    sa, sb = _kraus_superop(ka), _kraus_superop(kb)
    np.testing.assert_allclose(np.asarray((a @ b).superoperator()), sa @ sb, atol=1e-13)
    np.testing.assert_allclose(np.asarray(ch.compose(b, a).superoperator()), sb @ sa, atol=1e-13)
    np.testing.assert_allclose(
        np.asarray(ch.compose(a, b, a).superoperator()), sa @ sb @ sa, atol=1e-13
    )
    with pytest.raises(ValueError, match="Cannot compose"):
        ch.compose(a, a)
    # tensor: Kraus operators {K_a ⊗ K_b}
    t = ch.tensor(a, b)
    assert (t.d_in, t.d_out) == (6, 6)
    kron_kraus = [np.kron(x, y) for x in ka for y in kb]
    np.testing.assert_allclose(
        np.asarray(t.superoperator()), _kraus_superop(kron_kraus), atol=1e-13
    )
    rho_a, rho_b = _random_state(2, 12), _random_state(3, 13)
    np.testing.assert_allclose(
        np.asarray(t(jnp.asarray(np.kron(rho_a, rho_b)))),
        np.kron(np.asarray(a(jnp.asarray(rho_a))), np.asarray(b(jnp.asarray(rho_b)))),
        atol=1e-13,
    )
    # three factors, with a function channel in the middle
    transpose = ch.FunctionChannel(lambda r: r.T, 2)
    t3 = ch.tensor(a, transpose, b)
    # reference: partial transpose on the middle qubit, then the Kraus pairs K_a ⊗ I ⊗ K_b
    rho = _random_state(12, 14)
    got = np.asarray(t3(jnp.asarray(rho)))
    r6 = rho.reshape(2, 2, 3, 2, 2, 3).transpose(0, 4, 2, 3, 1, 5).reshape(12, 12)
    ref = sum(
        np.kron(np.kron(kx, np.eye(2)), ky) @ r6 @ np.kron(np.kron(kx, np.eye(2)), ky).conj().T
        for kx in ka
        for ky in kb
    )
    np.testing.assert_allclose(got, ref, atol=1e-13)


def test_batched_application_and_shape_errors():
    chan = ch.KrausChannel(jnp.asarray(_random_kraus(2, 3, 2, 20)))
    rhos = np.stack([[_random_state(2, 10 * i + j) for j in range(3)] for i in range(2)])
    out = np.asarray(chan(jnp.asarray(rhos)))
    assert out.shape == (2, 3, 3, 3)
    for i, j in itertools.product(range(2), range(3)):
        np.testing.assert_allclose(out[i, j], np.asarray(chan(jnp.asarray(rhos[i, j]))))
    # a channel is a pytree: it passes through filter_jit as an argument
    jitted = eqx.filter_jit(lambda c, r: c(r))(chan, jnp.asarray(rhos))
    np.testing.assert_allclose(np.asarray(jitted), out, atol=1e-14)
    with pytest.raises(ValueError, match=r"acts on \(2, 2\) matrices"):
        chan(jnp.eye(3))
    with pytest.raises(ValueError, match="perfect square"):
        ch.SuperoperatorChannel(jnp.eye(5))


def test_cp_and_tp_checks_detect_failures():
    transpose = ch.FunctionChannel(lambda r: r.T, 2)
    assert bool(ch.is_trace_preserving(transpose))
    assert not bool(ch.is_completely_positive(transpose))
    doubled = ch.KrausChannel(jnp.asarray(np.sqrt(2) * np.eye(2)[None]))
    assert bool(ch.is_completely_positive(doubled))
    assert not bool(ch.is_trace_preserving(doubled))
    depolarise = ch.FunctionChannel(
        lambda r: 0.4 * r + 0.6 * jnp.trace(r) * jnp.eye(3, dtype=r.dtype) / 3, 3
    )
    assert bool(ch.is_completely_positive(depolarise)) and bool(ch.is_trace_preserving(depolarise))


def test_thermal_state_against_numpy():
    energies, temp = np.array([0.3, -0.5, 1.2]), 0.7
    w = np.exp(-energies / temp)
    np.testing.assert_allclose(
        np.asarray(ch.thermal_state(jnp.asarray(energies), temp)), np.diag(w / w.sum())
    )
    with pytest.raises(ValueError, match="`temperature` must be positive"):
        ch.thermal_state(jnp.asarray(energies), 0.0)


# -------------------------------------------------------------------------------- the twirls


@pytest.mark.parametrize("d", [2, 3])
def test_isotropic_twirl_is_invariant_and_keeps_fidelity(d):
    """The commutant of {U⊗U*} is span{I, Φ⁺}: an output invariant under random U⊗U* with the
    input's trace and F = ⟨Φ⁺|ρ|Φ⁺⟩ is the twirl."""
    rng = np.random.default_rng(d)
    rho = rng.normal(size=(d * d, d * d)) + 1j * rng.normal(size=(d * d, d * d))  # any matrix
    out = np.asarray(ch.isotropic_twirl(jnp.asarray(rho), d))
    phi = _phi_plus(d)
    assert phi @ out @ phi == pytest.approx(phi @ rho @ phi)
    assert np.trace(out) == pytest.approx(np.trace(rho))
    for seed in range(3):
        u = _random_unitary(d, 100 + seed)
        uu = np.kron(u, u.conj())
        np.testing.assert_allclose(uu @ out @ uu.conj().T, out, atol=1e-12)


def test_ghz_twirl_is_the_stabiliser_group_average():
    """Three qubits: average over the 8 products of XXX, ZZI, IZZ (local Paulis)."""
    rho = _random_state(8, 5)
    eye = np.eye(2)
    gens = [np.kron(np.kron(X, X), X), np.kron(np.kron(Z, Z), eye), np.kron(np.kron(eye, Z), Z)]
    avg = 0
    for bits in itertools.product((0, 1), repeat=3):
        g = np.eye(8, dtype=complex)
        for use, gen in zip(bits, gens, strict=True):
            if use:
                g = g @ gen
        avg = avg + g @ rho @ g.conj().T / 8
    np.testing.assert_allclose(np.asarray(ch.ghz_twirl(jnp.asarray(rho), 3)), avg, atol=1e-13)
    basis = np.asarray(ch.ghz_basis(3))
    np.testing.assert_allclose(basis.conj().T @ basis, np.eye(8), atol=1e-13)
    np.testing.assert_allclose(basis[:, 0], _ghz(3))


# ------------------------------------------------------------------------------ the EPLT map


def _random_thermal(d, seed):
    rng = np.random.default_rng(seed)
    return ch.thermal_state(jnp.asarray(rng.uniform(-1, 1, size=d)), rng.uniform(0.3, 2.0))


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("fraction", [1.0, 0.4])
def test_eplt_marginals_cp_tp_and_fully_entangled_fraction(d, fraction):
    tau_a, tau_b = _random_thermal(d, d), _random_thermal(d, d + 7)
    p_min = min(np.linalg.eigvalsh(np.asarray(t)).min() for t in (tau_a, tau_b))
    gamma = fraction * d * p_min
    chan = ch.eplt_channel(tau_a, tau_b, gamma)
    for seed in range(3):
        rho = _random_state(d * d, 30 + seed)
        out = np.asarray(chan(jnp.asarray(rho)))
        np.testing.assert_allclose(_partial_trace(out, [d, d], 0), np.asarray(tau_a), atol=1e-13)
        np.testing.assert_allclose(_partial_trace(out, [d, d], 1), np.asarray(tau_b), atol=1e-13)
        assert np.trace(out) == pytest.approx(1.0)
        # ⟨Φ⁺|E(ρ)|Φ⁺⟩ = γF + (1−γ) tr(σ_A σ_Bᵀ)/d
        phi = _phi_plus(d)
        f = np.real(phi @ rho @ phi)
        sa = (np.asarray(tau_a) - gamma * np.eye(d) / d) / (1 - gamma)
        sb = (np.asarray(tau_b) - gamma * np.eye(d) / d) / (1 - gamma)
        expected = gamma * f + (1 - gamma) * np.trace(sa @ sb.T) / d
        assert np.real(phi @ out @ phi) == pytest.approx(np.real(expected), abs=1e-13)
    local = [np.asarray(s) for s in chan.local_states()]
    np.testing.assert_allclose(local, [sa, sb], atol=1e-13)
    assert bool(ch.is_completely_positive(chan)) and bool(ch.is_trace_preserving(chan))
    # Kraus round trip of a CP channel
    kraus = np.asarray(chan.kraus())
    np.testing.assert_allclose(_kraus_superop(kraus), np.asarray(chan.superoperator()), atol=1e-12)


def test_eplt_two_qubits_entangled_iff_fidelity_above_half():
    """Equal thermal marginals τ (qdiss basis: τ = diag(p, 1−p), p the excited population),
    γ = 2p: C(E_γ(ρ)) = max(0, γ(2F − 1)), entangled (NPT) iff F > ½."""
    omega, temp = 1.0, 0.6
    tau = ch.thermal_state(jnp.asarray([omega / 2, -omega / 2]), temp)
    p = 1 / (1 + np.exp(omega / temp))
    np.testing.assert_allclose(np.asarray(tau), np.diag([p, 1 - p]))
    chan = ch.eplt_channel(tau, tau, 2 * p)
    phi = _phi_plus(2)
    bell = np.outer(phi, phi)
    for seed, mix in itertools.product(range(3), [1.0, 0.8, 0.6, 0.52, 0.45, 0.2]):
        noise = _random_state(4, 200 + seed)
        rho = mix * bell + (1 - mix) * noise
        f = np.real(phi @ rho @ phi)
        out = np.asarray(chan(jnp.asarray(rho)))
        c = _wootters(out)
        assert c == pytest.approx(max(0.0, 2 * p * (2 * f - 1)), abs=1e-12)
        npt = np.linalg.eigvalsh(_partial_transpose(out, 2)).min() < -1e-12
        assert npt == (f > 0.5 + 1e-12)


@pytest.mark.parametrize("n", [3, 4])
def test_ghz_eplt_keeps_ghz_fidelity_above_half(n):
    for temp in (0.2, 0.7, 3.0):
        tau = ch.thermal_state(jnp.asarray([0.5, -0.5]), temp)
        p = float(tau[0, 0])
        chan = ch.ghz_eplt_channel([tau] * n, 2 * p)
        ghz = _ghz(n)
        out = np.asarray(chan(jnp.asarray(np.outer(ghz, ghz.conj()))))
        fid = np.real(ghz.conj() @ out @ ghz)
        assert fid > 0.5
        assert fid == pytest.approx((1 + 2 * p) / 2, abs=1e-13)
        for k in range(n):
            np.testing.assert_allclose(_partial_trace(out, [2] * n, k), np.asarray(tau), atol=1e-13)


def test_ghz_eplt_marginals_fidelity_identity_cp_tp():
    """Unequal local states, random input, three qubits (and two qutrits)."""
    for n, d in ((3, 2), (2, 3)):
        taus = [_random_thermal(d, 40 + i) for i in range(n)]
        p_min = min(np.linalg.eigvalsh(np.asarray(t)).min() for t in taus)
        gamma = 0.9 * d * p_min
        chan = ch.ghz_eplt_channel(taus, gamma)
        rho = _random_state(d**n, 50)
        out = np.asarray(chan(jnp.asarray(rho)))
        for k in range(n):
            np.testing.assert_allclose(
                _partial_trace(out, [d] * n, k), np.asarray(taus[k]), atol=1e-13
            )
        ghz = np.zeros(d**n, complex)
        for k in range(d):
            ghz[np.ravel_multi_index([k] * n, (d,) * n)] = 1 / np.sqrt(d)
        sigmas = [(np.asarray(t) - gamma * np.eye(d) / d) / (1 - gamma) for t in taus]
        prod = sigmas[0]
        for s in sigmas[1:]:
            prod = np.kron(prod, s)
        expected = gamma * (ghz.conj() @ rho @ ghz) + (1 - gamma) * (ghz.conj() @ prod @ ghz)
        assert ghz.conj() @ out @ ghz == pytest.approx(expected, abs=1e-13)
        np.testing.assert_allclose(np.asarray(chan.local_states()), sigmas, atol=1e-13)
        assert bool(ch.is_completely_positive(chan)) and bool(ch.is_trace_preserving(chan))


def test_invalid_gamma_and_states_raise():
    tau = ch.thermal_state(jnp.asarray([0.5, -0.5]), 0.5)
    p = float(tau[0, 0])
    with pytest.raises(ValueError, match=r"0 < γ ≤ d·P_min"):
        ch.eplt_channel(tau, tau, 2 * p * 1.01)
    with pytest.raises(ValueError, match=r"0 < γ ≤ d·P_min"):
        ch.eplt_channel(tau, tau, 0.0)
    with pytest.raises(ValueError, match="zero"):
        ch.eplt_channel(jnp.diag(jnp.array([0.0, 1.0])), tau, 0.1)
    with pytest.raises(ValueError, match="density matrix"):
        ch.eplt_channel(2 * tau, tau, 0.1)
    with pytest.raises(ValueError, match="same local dimension"):
        ch.eplt_channel(tau, jnp.eye(3) / 3, 0.1)
    with pytest.raises(ValueError, match=r"0 < γ ≤ d·P_min"):
        ch.ghz_eplt_channel([tau] * 3, 2 * p * 1.01)
    build = eqx.filter_jit(lambda g: ch.eplt_channel(tau, tau, g)(jnp.eye(4) / 4))
    jax.block_until_ready(build(jnp.asarray(p)))
    with pytest.raises(eqx.EquinoxRuntimeError, match="γ ≤ d·P_min"):
        jax.block_until_ready(build(jnp.asarray(3 * p)))


def test_eplt_gradients_match_finite_differences():
    """∂/∂(γ, T, E_1) of Re tr(E(ρ) W) + tr(E(ρ)²), d = 3, and of the GHZ version, plus vmap."""
    rho = jnp.asarray(_random_state(9, 60))
    rng = np.random.default_rng(61)
    w = rng.normal(size=(9, 9)) + 1j * rng.normal(size=(9, 9))
    w = jnp.asarray(w + w.conj().T)

    @jax.jit
    def f(x):
        gamma, temp, e1 = x
        tau_a = ch.thermal_state(jnp.stack([e1, jnp.asarray(0.0), jnp.asarray(0.7)]), temp)
        tau_b = ch.thermal_state(jnp.asarray([0.2, -0.3, 0.4]), temp)
        out = ch.eplt_channel(tau_a, tau_b, gamma)(rho)
        return jnp.real(jnp.trace(out @ w) + jnp.trace(out @ out))

    x = np.array([0.35, 0.8, 0.25])
    grad = np.asarray(jax.grad(f)(jnp.asarray(x)))
    np.testing.assert_allclose(grad, _fd(lambda y: float(f(jnp.asarray(y))), x), rtol=1e-6)

    ghz_rho = jnp.asarray(_random_state(8, 62))

    @jax.jit
    def g(x):
        gamma, temp = x
        tau = ch.thermal_state(jnp.asarray([0.5, -0.5]), temp)
        out = ch.ghz_eplt_channel([tau] * 3, gamma)(ghz_rho)
        return jnp.real(out[0, 7] + out[0, 0] * out[7, 7] + jnp.trace(out @ out))

    x = np.array([0.3, 0.9])
    grad = np.asarray(jax.grad(g)(jnp.asarray(x)))
    np.testing.assert_allclose(grad, _fd(lambda y: float(g(jnp.asarray(y))), x), rtol=1e-6)

    # vmap over γ (traced validation path)
    gammas = jnp.asarray([0.1, 0.2, 0.3])
    batched = jax.vmap(lambda gm: g(jnp.stack([gm, jnp.asarray(0.9)])))(gammas)
    for gm, val in zip(gammas, batched, strict=True):
        assert float(val) == pytest.approx(float(g(jnp.stack([gm, jnp.asarray(0.9)]))))
