"""qdiss.measures, entanglement: concurrence, negativity, log-negativity, PPT, entangled
fractions, GHZ fidelity — closed forms (Bell, Werner, separable, X states, pure states),
independent references, gradients vs finite differences and at non-smooth points, jit, vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
import scipy.linalg as sl
import scipy.optimize as so

import qdiss.measures as measures

RNG = np.random.default_rng(7)
YY = np.kron([[0, -1j], [1j, 0]], [[0, -1j], [1j, 0]])

BELL_KETS = {
    "phi+": np.array([1, 0, 0, 1]) / np.sqrt(2),
    "phi-": np.array([1, 0, 0, -1]) / np.sqrt(2),
    "psi+": np.array([0, 1, 1, 0]) / np.sqrt(2),
    "psi-": np.array([0, 1, -1, 0]) / np.sqrt(2),
}


def proj(psi) -> np.ndarray:
    psi = np.asarray(psi, complex)
    return np.outer(psi, psi.conj())


def werner(p: float) -> np.ndarray:
    return p * proj(BELL_KETS["psi-"]) + (1 - p) * np.eye(4) / 4


def random_dm(n, rank=None):
    rank = n if rank is None else rank
    a = RNG.normal(size=(n, rank)) + 1j * RNG.normal(size=(n, rank))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def random_unitary(n):
    q, r = np.linalg.qr(RNG.normal(size=(n, n)) + 1j * RNG.normal(size=(n, n)))
    return q * (np.diag(r) / abs(np.diag(r)))


def random_ket(n):
    psi = RNG.normal(size=n) + 1j * RNG.normal(size=n)
    return psi / np.linalg.norm(psi)


def random_separable(n_terms=4):
    ps = RNG.dirichlet(np.ones(n_terms))
    return sum(p * np.kron(random_dm(2, 1), random_dm(2, 1)) for p in ps)


def wootters_reference(rho):
    """Independent form: λ from the (non-Hermitian) eigenvalues of ρρ̃."""
    lam = np.sqrt(np.abs(np.linalg.eigvals(rho @ YY @ rho.conj() @ YY)))
    lam = np.sort(lam)[::-1]
    return max(0.0, lam[0] - lam[1:].sum())


def wootters_margin_reference(rho):
    """λ₁ − λ₂ − λ₃ − λ₄ unclipped, λ from the (non-Hermitian) eigenvalues of ρρ̃ (numpy)."""
    lam = np.sqrt(np.abs(np.linalg.eigvals(rho @ YY @ rho.conj() @ YY)))
    lam = np.sort(lam)[::-1]
    return lam[0] - lam[1:].sum()


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


def assert_finite_grad(f, rho):
    g = jax.grad(f)(jnp.asarray(rho, complex))
    assert np.all(np.isfinite(np.asarray(g))), g
    return np.asarray(g)


# ------------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("name", list(BELL_KETS))
def test_bell_states(name):
    rho = jnp.asarray(proj(BELL_KETS[name]))
    assert float(measures.concurrence(rho)) == pytest.approx(1.0, abs=1e-12)
    assert float(measures.negativity(rho)) == pytest.approx(0.5, abs=1e-12)
    assert float(measures.log_negativity(rho)) == pytest.approx(1.0, abs=1e-12)
    assert float(measures.fully_entangled_fraction(rho)) == pytest.approx(1.0, abs=1e-12)
    assert not bool(measures.is_ppt(rho))
    expected_phi_plus = 1.0 if name == "phi+" else 0.0
    assert float(measures.phi_plus_fraction(rho)) == pytest.approx(expected_phi_plus, abs=1e-12)


@pytest.mark.parametrize("p", [0.0, 0.2, 1 / 3, 0.34, 0.5, 0.8, 1.0])
def test_werner_states(p):
    rho = jnp.asarray(werner(p))
    assert float(measures.concurrence(rho)) == pytest.approx(max(0, (3 * p - 1) / 2), abs=1e-12)
    n_exact = max(0, (3 * p - 1) / 4)
    assert float(measures.negativity(rho)) == pytest.approx(n_exact, abs=1e-12)
    assert float(measures.log_negativity(rho)) == pytest.approx(np.log2(1 + 2 * n_exact), abs=1e-12)
    assert bool(measures.is_ppt(rho)) == (p <= 1 / 3)
    fef = measures.fully_entangled_fraction(rho)
    assert float(fef) == pytest.approx((1 + 3 * p) / 4, abs=1e-12)
    assert float(measures.phi_plus_fraction(rho)) == pytest.approx((1 - p) / 4, abs=1e-12)


def test_separable_states():
    for rho in [random_separable() for _ in range(5)] + [np.kron(random_dm(2), random_dm(2))]:
        r = jnp.asarray(rho)
        assert float(measures.concurrence(r)) == 0.0
        assert float(measures.negativity(r)) < 1e-14
        assert abs(float(measures.log_negativity(r))) < 1e-13
        assert bool(measures.is_ppt(r))
        assert float(measures.fully_entangled_fraction(r)) <= 0.5 + 1e-12


def test_concurrence_against_references():
    for rank in (4, 3, 2):
        rho = random_dm(4, rank)
        expected = wootters_reference(rho)
        assert float(measures.concurrence(jnp.asarray(rho))) == pytest.approx(expected, abs=1e-7)
    for _ in range(5):  # pure: C = |⟨ψ|σ^y⊗σ^y|ψ*⟩|
        psi = random_ket(4)
        expected = abs(psi @ YY @ psi)
        assert float(measures.concurrence(jnp.asarray(proj(psi)))) == pytest.approx(expected)
    # Local unitaries do not change it; an X state has a closed form.
    rho = random_dm(4)
    u = np.kron(random_unitary(2), random_unitary(2))
    rotated = measures.concurrence(jnp.asarray(u @ rho @ u.conj().T))
    assert float(rotated) == pytest.approx(float(measures.concurrence(jnp.asarray(rho))), abs=1e-12)
    x = np.diag([0.4, 0.1, 0.15, 0.35]).astype(complex)
    x[0, 3], x[3, 0] = 0.3j, -0.3j
    x[1, 2], x[2, 1] = 0.05, 0.05
    closed = 2 * max(0, abs(x[0, 3]) - np.sqrt(0.1 * 0.15), abs(x[1, 2]) - np.sqrt(0.4 * 0.35))
    assert float(measures.concurrence(jnp.asarray(x))) == pytest.approx(closed, abs=1e-12)


def test_concurrence_of_rotated_bell_and_product_states_is_exact():
    for _ in range(20):
        u = np.kron(random_unitary(2), random_unitary(2))
        bell = u @ proj(BELL_KETS["phi+"]) @ u.conj().T
        product = u @ np.diag([1.0, 0, 0, 0]) @ u.conj().T
        assert float(measures.concurrence(jnp.asarray(bell))) == pytest.approx(1.0, abs=1e-12)
        assert float(measures.concurrence(jnp.asarray(product))) == 0.0
        assert np.all(np.asarray(assert_finite_grad(measures.concurrence, product)) == 0)
        assert_finite_grad(measures.concurrence, bell)


def test_negativity_any_dimensions():
    for d in (2, 3, 4):
        psi = np.eye(d).reshape(-1) / np.sqrt(d)  # Σ|ii⟩/√d
        rho = jnp.asarray(proj(psi))
        assert float(measures.negativity(rho)) == pytest.approx((d - 1) / 2, abs=1e-12)
        assert float(measures.log_negativity(rho, (d, d))) == pytest.approx(np.log2(d), abs=1e-12)
        assert float(measures.phi_plus_fraction(rho)) == pytest.approx(1.0, abs=1e-12)
    dims = (2, 3, 2)
    rho = random_dm(12, 2)
    q = qutip.Qobj(rho, dims=[list(dims), list(dims)])
    w = np.linalg.eigvalsh(qutip.partial_transpose(q, [1, 0, 1]).full())
    expected = -w[w < 0].sum()
    value = measures.negativity(jnp.asarray(rho), dims, (0, 2))
    assert float(value) == pytest.approx(expected, rel=1e-10)
    complement = measures.negativity(jnp.asarray(rho), dims, 1)  # B instead of A
    assert float(complement) == pytest.approx(expected, rel=1e-10)
    assert not bool(measures.is_ppt(jnp.asarray(rho), dims, (0, 2)))


def test_is_ppt_tolerance():
    rho = jnp.asarray(werner(1 / 3 + 1e-9))  # smallest eigenvalue of ρ^Γ is −7.5e-10
    assert not bool(measures.is_ppt(rho))
    assert bool(measures.is_ppt(rho, atol=1e-8))
    assert measures.is_ppt(rho).dtype == jnp.bool_


def _brute_force_fef(rho):
    phi = BELL_KETS["phi+"]

    def overlap(h):
        herm = np.array([[h[0], h[1] + 1j * h[2]], [h[1] - 1j * h[2], h[3]]])
        v = np.kron(sl.expm(1j * herm), np.eye(2)) @ phi
        return -np.real(v.conj() @ rho @ v)

    starts = [RNG.normal(size=4) * 2 for _ in range(12)]
    return max(-so.minimize(overlap, h0, method="BFGS").fun for h0 in starts)


def test_fully_entangled_fraction_against_brute_force():
    for rho in (random_dm(4), random_dm(4, 2), werner(0.6), random_separable()):
        value = float(measures.fully_entangled_fraction(jnp.asarray(rho)))
        assert value == pytest.approx(_brute_force_fef(rho), abs=1e-7)
        assert value >= float(measures.phi_plus_fraction(jnp.asarray(rho))) - 1e-12
        u = np.kron(random_unitary(2), random_unitary(2))
        rotated = measures.fully_entangled_fraction(jnp.asarray(u @ rho @ u.conj().T))
        assert float(rotated) == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("n_qubits", [2, 3, 4])
def test_ghz_fidelity(n_qubits):
    dim = 2**n_qubits
    ghz = np.zeros(dim, complex)
    ghz[0] = ghz[-1] = 1 / np.sqrt(2)
    assert float(measures.ghz_fidelity(jnp.asarray(proj(ghz)))) == pytest.approx(1.0)
    phase = 0.7
    ghz_phase = ghz.copy()
    ghz_phase[-1] *= np.exp(1j * phase)
    assert float(measures.ghz_fidelity(jnp.asarray(proj(ghz_phase)), phase)) == pytest.approx(1.0)
    assert float(measures.ghz_fidelity(jnp.asarray(proj(ghz_phase)))) == pytest.approx(
        (1 + np.cos(phase)) / 2
    )
    all_up = np.zeros(dim)
    all_up[0] = 1
    assert float(measures.ghz_fidelity(jnp.asarray(proj(all_up)))) == pytest.approx(0.5)
    assert float(measures.ghz_fidelity(jnp.eye(dim) / dim)) == pytest.approx(1 / dim)
    rho = random_dm(dim)
    assert float(measures.ghz_fidelity(jnp.asarray(rho))) == pytest.approx(
        np.real(ghz.conj() @ rho @ ghz)
    )
    g = jax.grad(measures.ghz_fidelity, argnums=1)(jnp.asarray(rho), 0.3)
    h = 1e-6
    fd = (
        float(measures.ghz_fidelity(jnp.asarray(rho), 0.3 + h))
        - float(measures.ghz_fidelity(jnp.asarray(rho), 0.3 - h))
    ) / (2 * h)
    assert float(g) == pytest.approx(fd, rel=1e-6)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="two-qubit"):
        measures.concurrence(jnp.eye(9) / 9)
    with pytest.raises(ValueError, match="d⊗d"):
        measures.phi_plus_fraction(jnp.eye(6) / 6, (2, 3))
    with pytest.raises(ValueError, match="2\\^N"):
        measures.ghz_fidelity(jnp.eye(6) / 6)
    with pytest.raises(ValueError, match="dims"):
        measures.negativity(jnp.eye(6) / 6)


# --------------------------------------------------------------------------------- gradients


def test_concurrence_gradient_vs_fd():
    # A full-rank entangled family: Werner-like mixture of a random pure state and noise.
    psi0 = random_ket(4)
    base = np.concatenate([psi0.real, psi0.imag])

    def family(t):
        pure = dm_from_params(t[:8], 4, 1)
        noise = dm_from_params(t[8:], 4, 4)
        return 0.85 * pure + 0.15 * noise

    x = np.concatenate([base, RNG.normal(size=32)])
    assert float(measures.concurrence(family(jnp.asarray(x)))) > 0.05
    assert_grad_matches_fd(lambda t: measures.concurrence(family(t)), x)
    # Pure states, C = |⟨ψ|ψ̃⟩| smooth where non-zero (rank 1: along the manifold).
    assert_grad_matches_fd(lambda t: measures.concurrence(dm_from_params(t, 4, 1)), base)


def test_concurrence_gradient_along_bell_family():
    """ψ(θ) = cos θ|00⟩ + sin θ|11⟩: C = |sin 2θ|, maximal (flat) at the Bell state θ = π/4."""

    def c(theta):
        psi = jnp.stack([jnp.cos(theta), 0.0, 0.0, jnp.sin(theta)]).astype(complex)
        return measures.concurrence(jnp.outer(psi, psi.conj()))

    assert float(jax.grad(c)(jnp.pi / 4)) == pytest.approx(0.0, abs=1e-7)
    assert float(jax.grad(c)(0.3)) == pytest.approx(2 * np.cos(0.6), rel=1e-8)
    assert float(jax.grad(c)(0.0)) == 0.0  # product state: the C = 0 branch


@pytest.mark.parametrize(
    "rho",
    [np.diag([1.0, 0, 0, 0]), np.eye(4) / 4, werner(0.2), werner(1 / 3), random_separable()],
    ids=["product", "maximally_mixed", "werner_0.2", "werner_boundary", "separable"],
)
def test_gradients_finite_at_separable_and_ppt_states(rho):
    for f in (measures.concurrence, measures.negativity):
        np.testing.assert_allclose(assert_finite_grad(f, rho), 0.0, atol=1e-7)
    # E_N = log₂ tr ρ there: only the trace direction.
    g = assert_finite_grad(measures.log_negativity, rho)
    np.testing.assert_allclose(g, np.eye(4) / np.log(2), atol=1e-7)
    assert_finite_grad(measures.fully_entangled_fraction, rho)


def test_negativity_and_fef_gradients_vs_fd():
    x = RNG.normal(size=32)

    def family(t):  # entangled, full rank, simple negative eigenvalue
        return 0.8 * jnp.asarray(proj(BELL_KETS["phi+"])) + 0.2 * dm_from_params(t, 4, 4)

    assert float(measures.negativity(family(jnp.asarray(x)))) > 0.1
    assert_grad_matches_fd(lambda t: measures.negativity(family(t)), x)
    assert_grad_matches_fd(lambda t: measures.log_negativity(family(t)), x)
    assert_grad_matches_fd(lambda t: measures.fully_entangled_fraction(family(t)), x)
    assert_grad_matches_fd(lambda t: measures.phi_plus_fraction(family(t)), x)
    y = RNG.normal(size=2 * 12 * 12)
    f = lambda t: measures.negativity(dm_from_params(t, 12, 12), (2, 3, 2), (0, 2))  # noqa: E731
    assert_grad_matches_fd(f, y)


def test_werner_gradients_closed_form():
    def at(f, p):
        singlet, noise = jnp.asarray(werner(1.0)), jnp.eye(4, dtype=complex) / 4

        def family(q):
            q = q.astype(complex)
            return q * singlet + (1 - q) * noise

        return float(jax.grad(lambda q: f(family(q)))(jnp.asarray(p)))

    assert at(measures.concurrence, 0.6) == pytest.approx(1.5, rel=1e-8)
    assert at(measures.negativity, 0.6) == pytest.approx(0.75, rel=1e-8)
    assert at(measures.log_negativity, 0.6) == pytest.approx(3 / ((1 + 3 * 0.6) * np.log(2)))
    assert at(measures.fully_entangled_fraction, 0.6) == pytest.approx(0.75, rel=1e-8)
    assert at(measures.concurrence, 0.2) == 0.0


# ------------------------------------------------------------------------------ jit and vmap


FUNCTIONS = {
    "concurrence": measures.concurrence,
    "concurrence_margin": measures.concurrence_margin,
    "negativity": measures.negativity,
    "log_negativity": measures.log_negativity,
    "fully_entangled_fraction": measures.fully_entangled_fraction,
    "phi_plus_fraction": measures.phi_plus_fraction,
    "ghz_fidelity": measures.ghz_fidelity,
    "is_ppt": measures.is_ppt,
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_jit_vmap_over_a_batch(name):
    f = FUNCTIONS[name]
    states = [werner(p) for p in (0.1, 0.5, 1.0)] + [random_dm(4), proj(BELL_KETS["psi+"])]
    batch = jnp.asarray(np.stack(states).astype(complex))
    batched = jax.jit(jax.vmap(f))(batch)
    np.testing.assert_allclose(np.asarray(batched), [np.asarray(f(r)) for r in batch], atol=1e-12)
    if name != "is_ppt":
        grads = jax.jit(jax.vmap(jax.grad(f)))(batch)
        assert np.all(np.isfinite(np.asarray(grads)))


# ------------------------------------------------------------------ round-off at separable states


def _random_product_pure(da, db):
    return proj(np.kron(random_ket(da), random_ket(db)))


def test_separable_states_give_exactly_zero_negativity():
    """Rounding noise of the partial transpose's zero eigenvalues (±1e-16, which gave
    N ≈ 5e-16 and E_N ≈ ±2e-15 here) is clipped: separable states give exactly 0."""
    states = [(_random_product_pure(2, 3), (2, 3)) for _ in range(40)]
    states += [(_random_product_pure(2, 2), (2, 2)) for _ in range(20)]
    states += [(random_separable(), (2, 2)) for _ in range(5)]
    for rho, dims in states:
        r = jnp.asarray(rho)
        assert float(measures.negativity(r, dims)) == 0.0
        assert float(measures.log_negativity(r, dims)) == 0.0


def test_log_negativity_is_zero_at_a_trace_slightly_off_one():
    """A solver's ρ has tr ρ = 1 ± a few eps: E_N = log₂ tr ρ ≈ ±3e-16 is round-off, clipped to
    0; the derivative at the clip is the unclipped one, tr(dρ)/ln 2 (documented)."""
    rho = np.kron(random_dm(2), random_dm(2))
    for scale in (1 - 2e-16, 1 + 4e-16):
        r = jnp.asarray(rho * scale)
        assert float(measures.log_negativity(r)) == 0.0
        g = np.asarray(jax.grad(measures.log_negativity)(r.astype(complex)))
        np.testing.assert_allclose(g, np.eye(4) / np.log(2), atol=1e-12)
    # a real trace error is not clipped
    assert float(measures.log_negativity(jnp.asarray(rho * (1 + 1e-9)))) == pytest.approx(
        np.log2(1 + 1e-9), rel=1e-6
    )


def test_negativity_clip_keeps_small_real_entanglement():
    """The clip is at round-off (10·n·eps·tr ρ ≈ 9e-15 for two qubits), not at the solver's
    accuracy: a Werner state just above the PPT boundary keeps its negativity."""
    p = 1 / 3 + 1e-12
    # Werner: the partial transpose's smallest eigenvalue is (1 − 3p)/4
    assert float(measures.negativity(jnp.asarray(werner(p)))) == pytest.approx(
        (3 * p - 1) / 4, rel=1e-3
    )


# ----------------------------------------------------------------------------- concurrence margin


@pytest.mark.parametrize("p", [0.0, 0.1, 1 / 3, 0.5, 0.8, 1.0])
def test_concurrence_margin_werner_closed_form(p):
    """Werner p|Ψ⁻⟩⟨Ψ⁻| + (1−p)I/4: λ = ((1+3p)/4, (1−p)/4 ×3), so S = (3p − 1)/2 for every p
    (negative below the separability bound p = 1/3), and C = max(0, S)."""
    rho = jnp.asarray(werner(p))
    assert float(measures.concurrence_margin(rho)) == pytest.approx((3 * p - 1) / 2, abs=1e-12)
    assert float(measures.concurrence(rho)) == pytest.approx(max(0.0, (3 * p - 1) / 2), abs=1e-12)


def test_concurrence_margin_pure_states_equal_the_concurrence():
    """a|00⟩ + b|11⟩ (and local unitaries of it): S = C = 2|ab|."""
    for theta in (0.0, 0.2, np.pi / 4, 1.1):
        a, b = np.cos(theta), np.sin(theta) * np.exp(0.3j)
        psi = np.kron(random_unitary(2), random_unitary(2)) @ np.array([a, 0, 0, b])
        rho = jnp.asarray(proj(psi))
        assert float(measures.concurrence_margin(rho)) == pytest.approx(2 * abs(a * b), abs=1e-7)


def test_concurrence_margin_against_numpy_wootters():
    """Random full-rank states (entangled or not) and separable mixtures against the numpy
    eigenvalues of ρρ̃; negative at separable full-rank states, = C wherever C > 0."""
    states = [random_dm(4) for _ in range(6)] + [random_separable() for _ in range(4)]
    for rho in states:
        s = float(measures.concurrence_margin(jnp.asarray(rho)))
        assert s == pytest.approx(wootters_margin_reference(rho), abs=1e-10)
        c = float(measures.concurrence(jnp.asarray(rho)))
        assert c == pytest.approx(max(0.0, s), abs=1e-12)
    for rho in states[-4:]:
        assert float(measures.concurrence_margin(jnp.asarray(rho))) < 0
    assert float(measures.concurrence_margin(jnp.eye(4, dtype=complex) / 4)) == pytest.approx(-0.5)


def test_concurrence_margin_gradient_vs_finite_differences():
    """Full-rank families, separable (S < 0: C has zero gradient there, S does not) and
    entangled, against central differences; along the Werner family dS/dp = 3/2 at every p."""
    x = RNG.normal(size=32)

    def separable(t):  # mostly maximally mixed: separable, full rank
        return 0.7 * jnp.eye(4, dtype=complex) / 4 + 0.3 * dm_from_params(t, 4, 4)

    def entangled(t):
        return 0.8 * jnp.asarray(proj(BELL_KETS["phi+"])) + 0.2 * dm_from_params(t, 4, 4)

    assert float(measures.concurrence_margin(separable(jnp.asarray(x)))) < -0.05
    assert float(measures.concurrence(separable(jnp.asarray(x)))) == 0.0
    g = jax.grad(lambda t: measures.concurrence_margin(separable(t)))(jnp.asarray(x))
    assert float(jnp.linalg.norm(g)) > 1e-3  # it moves from a separable start
    assert_grad_matches_fd(lambda t: measures.concurrence_margin(separable(t)), x)
    assert float(measures.concurrence_margin(entangled(jnp.asarray(x)))) > 0.3
    assert_grad_matches_fd(lambda t: measures.concurrence_margin(entangled(t)), x)

    singlet, noise = jnp.asarray(werner(1.0)), jnp.eye(4, dtype=complex) / 4
    for p in (0.2, 0.6):
        slope = jax.grad(
            lambda q: measures.concurrence_margin(q.astype(complex) * singlet + (1 - q) * noise)
        )(jnp.asarray(p))
        assert float(slope) == pytest.approx(1.5, rel=1e-8)
