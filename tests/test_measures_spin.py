"""qdiss.measures, collective spin: operators, moments, Wineland and Kitagawa–Ueda squeezing
(coherent and one-axis-twisted states, closed forms and a numpy covariance), Dicke basis vs the
full 2^N space, quantum Fisher information; gradients vs finite differences, jit and vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sl

import qdiss.measures as measures

RNG = np.random.default_rng(11)


def proj(psi):
    psi = np.asarray(psi, complex)
    return np.outer(psi, psi.conj())


def random_dm(n, rank=None):
    rank = n if rank is None else rank
    a = RNG.normal(size=(n, rank)) + 1j * RNG.normal(size=(n, rank))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def random_ket(n):
    psi = RNG.normal(size=n) + 1j * RNG.normal(size=n)
    return psi / np.linalg.norm(psi)


def random_hermitian(n):
    a = RNG.normal(size=(n, n)) + 1j * RNG.normal(size=(n, n))
    return (a + a.conj().T) / 2


def dm_from_params(theta, n, rank):
    m = n * rank
    a = jax.lax.complex(theta[:m], theta[m:]).reshape(n, rank)
    rho = a @ a.conj().T
    return rho / jnp.trace(rho)


def central_fd(f, x, h=1e-6):
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (float(f(jnp.asarray(x + e))) - float(f(jnp.asarray(x - e)))) / (2 * h)
    return out


def assert_grad_matches_fd(f, x, rtol=1e-6, atol=1e-8):
    g = np.asarray(jax.grad(f)(jnp.asarray(x)))
    np.testing.assert_allclose(g, central_fd(f, x), rtol=rtol, atol=atol)


def numpy_ops(ops):
    return [np.asarray(op) for op in ops]


def coherent_dicke(n_spins, theta, phi):
    """|θ, φ⟩ = e^{−iφJ_z} e^{−iθJ_y}|j, j⟩, pointing along (sin θ cos φ, sin θ sin φ, cos θ)."""
    _, jy, jz, _, _ = numpy_ops(measures.spin_operators(n_spins / 2))
    return (sl.expm(-1j * phi * jz) @ sl.expm(-1j * theta * jy))[:, 0]


def coherent_product(n_qubits, theta, phi):
    """The same state as a product of N single-qubit states (cos θ/2 |↑⟩ + e^{iφ} sin θ/2 |↓⟩)."""
    single = np.array([np.cos(theta / 2), np.exp(1j * phi) * np.sin(theta / 2)])
    out = np.ones(1, complex)
    for _ in range(n_qubits):
        out = np.kron(out, single)
    return out


def numpy_moments(rho, ops):
    """Reference: ⟨S_a⟩ and ⟨{S_a, S_b}⟩/2 − ⟨S_a⟩⟨S_b⟩ by plain numpy traces."""
    s = ops[:3]
    mean = np.array([np.trace(a @ rho).real for a in s])
    cov = np.array([[np.trace((a @ b + b @ a) @ rho).real / 2 for b in s] for a in s])
    return mean, cov - np.outer(mean, mean)


def numpy_min_perp_variance(mean, cov):
    """Reference: an explicit orthonormal frame of the plane ⟂ mean and numpy eigvalsh."""
    e = mean / np.linalg.norm(mean)
    u = np.cross(e, [1.0, 0, 0] if abs(e[0]) < 0.9 else [0, 1.0, 0])
    u /= np.linalg.norm(u)
    v = np.cross(e, u)
    frame = np.stack([u, v])
    return np.linalg.eigvalsh(frame @ cov @ frame.T)[0]


# -------------------------------------------------------------------------------- operators


@pytest.mark.parametrize("j", [0.5, 1, 1.5, 5])
def test_spin_operators_algebra(j):
    jx, jy, jz, jp, jm = numpy_ops(measures.spin_operators(j))
    dim = int(2 * j + 1)
    np.testing.assert_allclose(jx @ jy - jy @ jx, 1j * jz, atol=1e-12)
    np.testing.assert_allclose(jy @ jz - jz @ jy, 1j * jx, atol=1e-12)
    np.testing.assert_allclose(jx @ jx + jy @ jy + jz @ jz, j * (j + 1) * np.eye(dim), atol=1e-12)
    np.testing.assert_allclose(jp, jx + 1j * jy, atol=1e-12)
    np.testing.assert_allclose(jm, jp.conj().T)
    np.testing.assert_allclose(np.diag(jz), j - np.arange(dim))  # m = j … −j


def test_spin_half_is_pauli_over_two():
    jx, jy, jz, jp, _ = numpy_ops(measures.spin_operators(0.5))
    np.testing.assert_allclose(jx, [[0, 0.5], [0.5, 0]])
    np.testing.assert_allclose(jy, [[0, -0.5j], [0.5j, 0]])
    np.testing.assert_allclose(jz, [[0.5, 0], [0, -0.5]])
    np.testing.assert_allclose(jp, [[0, 1], [0, 0]])  # σ⁺ = |↑⟩⟨↓| = |e⟩⟨g|
    with pytest.raises(ValueError, match="half-integer"):
        measures.spin_operators(0.3)


@pytest.mark.parametrize("n_qubits", [1, 2, 4])
def test_collective_operators_and_dicke_embedding(n_qubits):
    full = numpy_ops(measures.collective_spin_operators(n_qubits))
    dicke = numpy_ops(measures.spin_operators(n_qubits / 2))
    sx, sy, sz = full[:3]
    np.testing.assert_allclose(sx @ sy - sy @ sx, 1j * sz, atol=1e-12)
    v = np.asarray(measures.dicke_basis(n_qubits))
    np.testing.assert_allclose(v.conj().T @ v, np.eye(n_qubits + 1), atol=1e-12)
    for a in range(5):
        np.testing.assert_allclose(v.conj().T @ full[a] @ v, dicke[a], atol=1e-12)
    # The symmetric subspace is invariant: S_a V = V J_a.
    for a in range(3):
        np.testing.assert_allclose(full[a] @ v, v @ dicke[a], atol=1e-12)


# ----------------------------------------------------------------------------------- moments


def test_spin_moments_against_numpy_and_ops_forms():
    ops = measures.collective_spin_operators(3)
    rho = random_dm(8)
    mean, cov = measures.spin_moments(jnp.asarray(rho), ops)
    ref_mean, ref_cov = numpy_moments(rho, numpy_ops(ops))
    np.testing.assert_allclose(np.asarray(mean), ref_mean, atol=1e-12)
    np.testing.assert_allclose(np.asarray(cov), ref_cov, atol=1e-12)
    for form in (ops[:3], jnp.stack(ops[:3])):
        m2, c2 = measures.spin_moments(jnp.asarray(rho), form)
        np.testing.assert_allclose(np.asarray(m2), ref_mean, atol=1e-12)
        np.testing.assert_allclose(np.asarray(c2), ref_cov, atol=1e-12)
    with pytest.raises(ValueError, match="ops"):
        measures.spin_moments(jnp.asarray(rho), ops[:2])
    with pytest.raises(ValueError, match="ops"):
        measures.spin_moments(jnp.eye(4) / 4, ops)


# ---------------------------------------------------------------------------------- squeezing


DIRECTIONS = [
    (0.0, 0.0),
    (0.3, 1.1),
    (np.pi / 2, 0.0),
    (np.pi / 2, np.pi / 2),
    (2.0, -0.7),
    (np.pi, 0),
]


@pytest.mark.parametrize("theta,phi", DIRECTIONS)
def test_coherent_spin_states_are_not_squeezed(theta, phi):
    axis = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    cases = [
        (10, coherent_dicke(10, theta, phi), measures.spin_operators(5)),
        (4, coherent_product(4, theta, phi), measures.collective_spin_operators(4)),
    ]
    for n_spins, psi, ops in cases:
        rho = jnp.asarray(proj(psi))
        mean, cov = measures.spin_moments(rho, ops)
        np.testing.assert_allclose(np.asarray(mean), n_spins / 2 * axis, atol=1e-12)
        xi_r = measures.wineland_squeezing_from_moments(mean, cov, n_spins)
        xi_s = measures.kitagawa_ueda_squeezing_from_moments(mean, cov, n_spins)
        assert float(xi_r) == pytest.approx(1.0, abs=1e-12)
        assert float(xi_s) == pytest.approx(1.0, abs=1e-12)

        # The perpendicular plane is isotropic here: the eigenvalue formula's √ is at its kink.
        def xi2(r, ops=ops, n=n_spins):
            return measures.wineland_squeezing_from_moments(*measures.spin_moments(r, ops), n)

        g = jax.grad(xi2)(rho)
        assert np.all(np.isfinite(np.asarray(g)))


def _one_axis_twisted(n_spins, mu):
    """e^{−iμJ_z²/2}|CSS along x⟩ (Kitagawa–Ueda: H = χJ_z², μ = 2χt)."""
    _, _, jz, _, _ = numpy_ops(measures.spin_operators(n_spins / 2))
    psi = sl.expm(-0.5j * mu * jz @ jz) @ coherent_dicke(n_spins, np.pi / 2, 0.0)
    return proj(psi)


@pytest.mark.parametrize("mu", [0.02, 0.1, 0.3, 0.6])
def test_one_axis_twisting_closed_form_and_numpy(mu):
    n = 20
    rho = _one_axis_twisted(n, mu)
    ops = measures.spin_operators(n / 2)
    mean, cov = measures.spin_moments(jnp.asarray(rho), ops)
    ref_mean, ref_cov = numpy_moments(rho, numpy_ops(ops))
    np.testing.assert_allclose(np.asarray(mean), ref_mean, atol=1e-12)
    np.testing.assert_allclose(np.asarray(cov), ref_cov, atol=1e-11)
    # Kitagawa & Ueda, PRA 47, 5138 (1993): ξ²_S = 1 + (N−1)/4 [A − √(A² + B²)].
    a = 1 - np.cos(mu) ** (n - 2)
    b = 4 * np.sin(mu / 2) * np.cos(mu / 2) ** (n - 2)
    ku = 1 + (n - 1) / 4 * (a - np.sqrt(a**2 + b**2))
    xi_s = measures.kitagawa_ueda_squeezing_from_moments(mean, cov, n)
    assert float(xi_s) == pytest.approx(ku, rel=1e-10)
    assert float(xi_s) == pytest.approx(4 * numpy_min_perp_variance(ref_mean, ref_cov) / n)
    # ⟨S_x⟩ = (N/2) cos^{N−1}(μ/2), so ξ²_R = ξ²_S / cos^{2(N−1)}(μ/2).
    xi_r = measures.wineland_squeezing_from_moments(mean, cov, n)
    assert float(xi_r) == pytest.approx(ku / np.cos(mu / 2) ** (2 * (n - 1)), rel=1e-10)
    if mu <= 0.1:  # before the mean spin has shrunk too much
        assert float(xi_r) < 1.0


def test_one_axis_twisting_full_space_agrees():
    n, mu = 4, 0.4
    v = np.asarray(measures.dicke_basis(n))
    rho_dicke = _one_axis_twisted(n, mu)
    rho_full = v @ rho_dicke @ v.conj().T
    ops = measures.collective_spin_operators(n)
    mean, cov = measures.spin_moments(jnp.asarray(rho_full), ops)
    ref_mean, ref_cov = numpy_moments(rho_full, numpy_ops(ops))
    np.testing.assert_allclose(np.asarray(cov), ref_cov, atol=1e-12)
    expected = n * numpy_min_perp_variance(ref_mean, ref_cov) / (ref_mean @ ref_mean)
    assert float(measures.wineland_squeezing_from_moments(mean, cov, n)) == pytest.approx(expected)


def test_dicke_and_full_space_agree_for_symmetric_states():
    n = 4
    v = np.asarray(measures.dicke_basis(n))
    full_ops = measures.collective_spin_operators(n)
    dicke_ops = measures.spin_operators(n / 2)
    for rho_dicke in (random_dm(n + 1), random_dm(n + 1, 1), random_dm(n + 1, 2)):
        rho_full = v @ rho_dicke @ v.conj().T
        m_d, c_d = measures.spin_moments(jnp.asarray(rho_dicke), dicke_ops)
        m_f, c_f = measures.spin_moments(jnp.asarray(rho_full), full_ops)
        np.testing.assert_allclose(np.asarray(m_d), np.asarray(m_f), atol=1e-12)
        np.testing.assert_allclose(np.asarray(c_d), np.asarray(c_f), atol=1e-12)
        for f in (
            measures.wineland_squeezing_from_moments,
            measures.kitagawa_ueda_squeezing_from_moments,
        ):
            assert float(f(m_d, c_d, n)) == pytest.approx(float(f(m_f, c_f, n)), rel=1e-10)
        for a in range(3):
            qfi_d = measures.quantum_fisher_information(jnp.asarray(rho_dicke), dicke_ops[a])
            qfi_f = measures.quantum_fisher_information(jnp.asarray(rho_full), full_ops[a])
            assert float(qfi_d) == pytest.approx(float(qfi_f), rel=1e-9, abs=1e-10)


def test_zero_mean_spin():
    """Dicke state |j, 0⟩: ⟨S⟩ = 0, Var J_z = 0 — Wineland is +inf, Kitagawa–Ueda 0, no NaN."""
    n = 6
    psi = np.zeros(n + 1)
    psi[n // 2] = 1
    rho = jnp.asarray(proj(psi))
    mean, cov = measures.spin_moments(rho, measures.spin_operators(n / 2))
    assert float(measures.wineland_squeezing_from_moments(mean, cov, n)) == np.inf
    assert float(measures.kitagawa_ueda_squeezing_from_moments(mean, cov, n)) == pytest.approx(
        0.0, abs=1e-12
    )
    g = jax.grad(
        lambda m, c: measures.kitagawa_ueda_squeezing_from_moments(m, c, n), argnums=(0, 1)
    )(mean, cov)
    assert all(np.all(np.isfinite(np.asarray(x))) for x in g)
    g = jax.grad(lambda m, c: measures.wineland_squeezing_from_moments(m, c, n), argnums=(0, 1))(
        mean, cov
    )
    assert all(np.all(np.isfinite(np.asarray(x))) for x in g)


def test_squeezing_gradients_vs_fd():
    n = 12
    _, jy, jz, _, _ = (jnp.asarray(op) for op in measures.spin_operators(n / 2))
    m = jnp.asarray(n / 2 - np.arange(n + 1), dtype=complex)
    ops = measures.spin_operators(n / 2)

    def state(params):  # OAT with strength μ, then a rotation about y by α, plus a little noise
        mu, alpha, p = params[0], params[1], params[2]
        css_x = jnp.asarray(coherent_dicke(n, np.pi / 2, 0.0))
        psi = jnp.exp(-0.5j * mu.astype(complex) * m**2) * css_x
        rot = jax.scipy.linalg.expm(-1j * alpha.astype(complex) * jy)
        psi = rot @ psi
        mixed = jnp.eye(n + 1, dtype=complex) / (n + 1)
        return (1 - p).astype(complex) * jnp.outer(psi, psi.conj()) + p.astype(complex) * mixed

    def wineland(params):
        return measures.wineland_squeezing_from_moments(
            *measures.spin_moments(state(params), ops), n
        )

    def kitagawa_ueda(params):
        return measures.kitagawa_ueda_squeezing_from_moments(
            *measures.spin_moments(state(params), ops), n
        )

    for x in (np.array([0.15, 0.4, 0.05]), np.array([0.3, -1.0, 0.0])):
        assert_grad_matches_fd(wineland, x)
        assert_grad_matches_fd(kitagawa_ueda, x)
    # Moments and squeezing directly in (mean, cov).
    mean, cov = measures.spin_moments(state(jnp.array([0.2, 0.3, 0.1])), ops)
    flat = np.concatenate([np.asarray(mean), np.asarray(cov).reshape(-1)])

    def from_flat(t):
        return measures.wineland_squeezing_from_moments(t[:3], t[3:].reshape(3, 3), n)

    assert_grad_matches_fd(from_flat, flat)


# ------------------------------------------------------------------ quantum Fisher information


def numpy_qfi(rho, g):
    w, v = np.linalg.eigh(rho)
    gp = v.conj().T @ g @ v
    total = w[:, None] + w[None, :]
    keep = total > 1e-13
    weights = np.where(keep, 2 * (w[:, None] - w[None, :]) ** 2 / np.where(keep, total, 1), 0)
    return float(np.sum(weights * abs(gp) ** 2))


def test_qfi_closed_forms():
    for n in (3, 6):  # pure: 4 Var G
        psi, g = random_ket(n), random_hermitian(n)
        var = np.real(psi.conj() @ g @ g @ psi) - np.real(psi.conj() @ g @ psi) ** 2
        value = measures.quantum_fisher_information(jnp.asarray(proj(psi)), jnp.asarray(g))
        assert float(value) == pytest.approx(4 * var, rel=1e-11)
    for rank in (5, 3):
        rho, g = random_dm(5, rank), random_hermitian(5)
        value = measures.quantum_fisher_information(jnp.asarray(rho), jnp.asarray(g))
        assert float(value) == pytest.approx(numpy_qfi(rho, g), rel=1e-10)
    n = 8
    ops = measures.spin_operators(n / 2)
    css = jnp.asarray(proj(coherent_dicke(n, np.pi / 2, 0.0)))
    assert float(measures.quantum_fisher_information(css, ops[2])) == pytest.approx(n)  # SQL
    ghz = np.zeros(2**n)
    ghz[0] = ghz[-1] = 1 / np.sqrt(2)
    full_sz = measures.collective_spin_operators(n)[2]
    value = measures.quantum_fisher_information(jnp.asarray(proj(ghz)), full_sz)
    assert float(value) == pytest.approx(n**2)  # Heisenberg limit
    generator = jnp.asarray(random_hermitian(4))
    assert float(measures.quantum_fisher_information(jnp.eye(4) / 4, generator)) == 0.0


def test_qfi_gradients_vs_fd():
    n = 4
    g0 = random_hermitian(n)
    dg = random_hermitian(n)

    def full_rank(t):  # ρ and the generator both depend on the parameters
        rho = dm_from_params(t[:-1], n, n)
        g = jnp.asarray(g0) + t[-1].astype(complex) * jnp.asarray(dg)
        return measures.quantum_fisher_information(rho, g)

    assert_grad_matches_fd(full_rank, RNG.normal(size=2 * n * n + 1))

    for rank in (1, 2):  # along rank-deficient families (pure: 4 Var G)
        f = lambda t, r=rank: measures.quantum_fisher_information(  # noqa: E731
            dm_from_params(t, n, r), jnp.asarray(g0)
        )
        assert_grad_matches_fd(f, RNG.normal(size=2 * n * rank))


def test_qfi_gradient_at_pure_states_and_degenerate_spectra():
    n = 4
    psi, g = random_ket(n), random_hermitian(n)
    rho = jnp.asarray(proj(psi))
    grads = jax.grad(measures.quantum_fisher_information, argnums=(0, 1))(rho, jnp.asarray(g))
    assert all(np.all(np.isfinite(np.asarray(x))) for x in grads)
    # ∂/∂G of 4 Var G = 4(ρG + Gρ − 2⟨G⟩ρ) (as jax.grad returns it for complex input: conj).
    mean = np.real(psi.conj() @ g @ psi)
    expected = 4 * (proj(psi) @ g + g @ proj(psi) - 2 * mean * proj(psi))
    np.testing.assert_allclose(np.asarray(grads[1]), expected.conj(), atol=1e-10)
    # Mixing in the maximally mixed state, a direction that keeps the rank full right away:
    # F_Q((1−p)|ψ⟩⟨ψ| + p I/n) has a finite one-sided derivative at p = 0.
    mixed = jnp.eye(n, dtype=complex) / n

    def along(p):
        return measures.quantum_fisher_information(
            (1 - p).astype(complex) * rho + p.astype(complex) * mixed, jnp.asarray(g)
        )

    h = 1e-6
    one_sided = (float(along(jnp.asarray(h))) - float(along(jnp.asarray(0.0)))) / h
    assert float(jax.grad(along)(jnp.asarray(0.0))) == pytest.approx(one_sided, rel=1e-4)
    for r in (jnp.eye(n, dtype=complex) / n, jnp.diag(jnp.array([0.5, 0.5, 0, 0], complex))):
        grads = jax.grad(measures.quantum_fisher_information, argnums=(0, 1))(r, jnp.asarray(g))
        assert all(np.all(np.isfinite(np.asarray(x))) for x in grads)


# ------------------------------------------------------------------------------ jit and vmap


def test_jit_vmap_over_a_batch():
    n = 6
    ops = measures.spin_operators(n / 2)
    states = [proj(coherent_dicke(n, 0.4, 0.2)), _one_axis_twisted(n, 0.3), random_dm(n + 1)]
    batch = jnp.asarray(np.stack(states))

    def all_measures(rho):
        mean, cov = measures.spin_moments(rho, ops)
        return jnp.stack(
            [
                measures.wineland_squeezing_from_moments(mean, cov, n),
                measures.kitagawa_ueda_squeezing_from_moments(mean, cov, n),
                measures.quantum_fisher_information(rho, ops[0]),
            ]
        )

    batched = jax.jit(jax.vmap(all_measures))(batch)
    np.testing.assert_allclose(np.asarray(batched), [np.asarray(all_measures(r)) for r in batch])
    for k in range(3):
        grads = jax.jit(jax.vmap(jax.grad(lambda r, k=k: all_measures(r)[k])))(batch)
        assert np.all(np.isfinite(np.asarray(grads)))


def test_rho_level_squeezing_accepts_full_and_dicke_states():
    """wineland_squeezing(rho, N) / kitagawa_ueda_squeezing(rho, N) on the same one-axis-twisted
    state written in the full 2^N space and in the Dicke basis; both equal the moment-level
    formulas, computed here from numpy covariances."""
    n = 4
    jx, jy, jz, _, _ = (np.asarray(o) for o in measures.spin_operators(n / 2))
    coherent_x = sl.expm(-1j * (np.pi / 2) * jy)[:, 0]  # rotate |j, j⟩ to +x
    psi = sl.expm(-1j * 0.3 * jz @ jz) @ coherent_x
    dicke = np.outer(psi, psi.conj())
    v = np.asarray(measures.dicke_basis(n))
    full = v @ dicke @ v.conj().T
    ops = [jx, jy, jz]
    mean = np.array([np.real(np.trace(o @ dicke)) for o in ops])
    cov = np.array(
        [[np.real(np.trace((a @ b + b @ a) @ dicke)) / 2 for b in ops] for a in ops]
    ) - np.outer(mean, mean)
    e = mean / np.linalg.norm(mean)
    basis = np.linalg.svd(np.eye(3) - np.outer(e, e))[0][:, :2]
    min_var = np.linalg.eigvalsh(basis.T @ cov @ basis)[0]
    for rho in (jnp.asarray(full), jnp.asarray(dicke)):
        xi_r = float(measures.wineland_squeezing(rho, n))
        xi_s = float(measures.kitagawa_ueda_squeezing(rho, n))
        assert xi_r == pytest.approx(n * min_var / (mean @ mean), rel=1e-10)
        assert xi_s == pytest.approx(4 * min_var / n, rel=1e-10)
    assert xi_s < 1  # the twisted state is squeezed
    with pytest.raises(ValueError, match="neither"):
        measures.wineland_squeezing(jnp.eye(3) / 3, n)


def test_short_public_names():
    for short, long in [
        ("entropy_vn", "von_neumann_entropy"),
        ("ptrace", "partial_trace"),
        ("ptranspose", "partial_transpose"),
        ("qfi", "quantum_fisher_information"),
    ]:
        assert getattr(measures, short) is getattr(measures, long)
