"""qdiss.measures, Liouvillian spectrum and gap: damped, thermal and dephased qubits (closed-form
rates), a non-unique steady state, gradients vs closed forms and finite differences (also at a
degenerate slowest pair, a crossing of modes and an exceptional point), jit, vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qdiss
import qdiss.measures as measures

SIGMA_MINUS = np.array([[0, 0], [1, 0]], complex)  # basis (e, g): σ⁻ = |g⟩⟨e|
SIGMA_Z = np.diag([1.0, -1.0]).astype(complex)


def qubit(params):
    """H = ωσ^z/2; decay γ(n̄+1), pumping γn̄, dephasing κ (L = √κ σ^z)."""
    omega, gamma, nbar, kappa = (p.astype(complex) for p in params)
    sm, sz = jnp.asarray(SIGMA_MINUS), jnp.asarray(SIGMA_Z)
    jumps = [jnp.sqrt(gamma * (nbar + 1)) * sm, jnp.sqrt(gamma * nbar) * sm.T, jnp.sqrt(kappa) * sz]
    return qdiss.Lindbladian(omega / 2 * sz, jumps)


def exact_gap(omega, gamma, nbar, kappa):
    """Populations relax at Γ = γ(2n̄+1), coherences at Γ/2 + 2κ."""
    rate = gamma * (2 * nbar + 1)
    return min(rate, rate / 2 + 2 * kappa)


CASES = {
    "damped": (1.0, 0.3, 0.0, 0.0),
    "damped_resonant": (0.0, 0.3, 0.0, 0.0),  # the two coherences are degenerate
    "thermal": (1.0, 0.3, 0.7, 0.0),
    "dephased": (0.5, 0.2, 0.1, 0.02),
    "dephasing_dominated": (0.5, 0.2, 0.1, 0.5),  # the gap is set by the populations
}


@pytest.mark.parametrize("name", list(CASES))
def test_qubit_gap_closed_form(name):
    params = CASES[name]
    gap = measures.liouvillian_gap(qubit(jnp.asarray(params)))
    assert float(gap) == pytest.approx(exact_gap(*params), rel=1e-12)


def test_spectrum_of_damped_qubit():
    omega, gamma = 1.0, 0.3
    lam = np.asarray(measures.liouvillian_spectrum(qubit(jnp.array([omega, gamma, 0.0, 0.0]))))
    expected = [0, -gamma / 2 - 1j * omega, -gamma / 2 + 1j * omega, -gamma]
    assert abs(lam[0]) < 1e-14
    np.testing.assert_allclose(
        np.sort_complex(lam[1:3]), np.sort_complex(expected[1:3]), atol=1e-12
    )
    assert lam[3] == pytest.approx(-gamma)


@pytest.mark.parametrize(
    "params", [(1.0, 0.3, 0.7, 0.01), CASES["dephased"], CASES["dephasing_dominated"]]
)
def test_gap_gradient(params):
    """All rates positive (the test's √rate parametrisation is singular at 0)."""
    params = np.asarray(params)
    grad = np.asarray(jax.grad(lambda p: measures.liouvillian_gap(qubit(p)))(jnp.asarray(params)))
    h = 1e-6
    fd = [
        (exact_gap(*(params + h * e)) - exact_gap(*(params - h * e))) / (2 * h) for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-9)


def test_damped_qubit_gap_gradient():
    def gap(p):  # (ω, γ): Δ = γ/2
        omega, gamma = p.astype(complex)
        sm = jnp.asarray(SIGMA_MINUS)
        return measures.liouvillian_gap(
            qdiss.Lindbladian(omega / 2 * jnp.asarray(SIGMA_Z), [jnp.sqrt(gamma) * sm])
        )

    np.testing.assert_allclose(np.asarray(jax.grad(gap)(jnp.array([1.0, 0.3]))), [0.0, 0.5])


def central_difference(f, x, h=1e-6):
    x = np.asarray(x, float)
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


def test_gap_gradient_at_degenerate_slowest_pair():
    """ω = 0: the two coherences relax together, λ = −(Γ/2 + 2κ) twice (a semisimple pair, the
    slowest as 2κ < Γ/2). Δ is differentiable there; ω splits the pair into −(Γ/2 + 2κ) ± iω,
    so ∂Δ/∂ω = 0."""
    params = np.array([0.0, 0.3, 0.7, 0.01])
    assert exact_gap(*params) < params[1] * (2 * params[2] + 1)  # coherences are the slowest
    grad = np.asarray(jax.grad(lambda p: measures.liouvillian_gap(qubit(p)))(jnp.asarray(params)))
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, central_difference(lambda p: exact_gap(*p), params), atol=1e-9)
    # Δ = γ(2n̄ + 1)/2 + 2κ
    np.testing.assert_allclose(grad, [0.0, 1.2, 0.3, 2.0], atol=1e-12)


def test_gap_gradient_at_damped_resonant():
    """CASES["damped_resonant"] (ω = 0, n̄ = κ = 0): a degenerate, not defective, slowest pair at
    −γ/2 (ρ_eg and ρ_ge decouple: the superoperator is diagonalisable). Parametrised by (ω, γ)
    only, since √(γn̄) and √κ are not differentiable at 0 (the parametrisation, not the gap)."""

    def gap(p):
        omega, gamma = p.astype(complex)
        sm = jnp.asarray(SIGMA_MINUS)
        return measures.liouvillian_gap(
            qdiss.Lindbladian(omega / 2 * jnp.asarray(SIGMA_Z), [jnp.sqrt(gamma) * sm])
        )

    omega, gamma, _, _ = CASES["damped_resonant"]
    x = np.array([omega, gamma])
    S = np.asarray(qubit(jnp.asarray(CASES["damped_resonant"])).superoperator())
    assert np.linalg.matrix_rank(np.linalg.eig(S)[1]) == 4  # diagonalisable
    grad = np.asarray(jax.grad(gap)(jnp.asarray(x)))
    assert np.all(np.isfinite(grad))
    fd = central_difference(lambda p: exact_gap(p[0], p[1], 0.0, 0.0), x)
    np.testing.assert_allclose(grad, fd, atol=1e-9)
    np.testing.assert_allclose(grad, [0.0, 0.5], atol=1e-12)  # Δ = γ/2
    # the code's own value agrees with the same central difference (differentiable here)
    np.testing.assert_allclose(central_difference(lambda p: float(gap(jnp.asarray(p))), x), fd)


def test_gap_gradient_at_crossing_of_modes_is_a_branch_gradient():
    """2κ = Γ/2: populations (−Γ) and coherences (−Γ/2 − 2κ ± iω) cross, Δ = min of two smooth
    branches has a kink. The gradient is a convex combination of the two branch gradients
    (documented: one branch's, i.e. a one-sided derivative, or their average at a tie)."""
    omega, gamma, nbar = 1.0, 0.3, 0.7
    kappa = gamma * (2 * nbar + 1) / 4
    params = np.array([omega, gamma, nbar, kappa])
    populations = np.array([0.0, 2 * nbar + 1, 2 * gamma, 0.0])  # ∇ of Γ = γ(2n̄+1)
    coherences = np.array([0.0, (2 * nbar + 1) / 2, gamma, 2.0])  # ∇ of Γ/2 + 2κ
    f = lambda p: float(measures.liouvillian_gap(qubit(jnp.asarray(p))))  # noqa: E731
    grad = np.asarray(jax.grad(lambda p: measures.liouvillian_gap(qubit(p)))(jnp.asarray(params)))
    assert np.all(np.isfinite(grad))
    theta, *_ = np.linalg.lstsq((populations - coherences)[:, None], grad - coherences)
    np.testing.assert_allclose(grad, coherences + theta[0] * (populations - coherences), atol=1e-9)
    assert -1e-9 <= theta[0] <= 1 + 1e-9
    # One-sided differences in κ: the populations' branch above (∂/∂κ = 0), coherences' below (2).
    h = 1e-6
    e = np.eye(4)[3]
    assert (f(params + h * e) - f(params)) / h == pytest.approx(0.0, abs=1e-6)
    assert (f(params) - f(params - h * e)) / h == pytest.approx(2.0, rel=1e-6)


def driven_dephased_gap(p):
    """H = Ωσ^x/2, L = √κ σ^z: Bloch rates 0, −2κ and −κ ± √(κ² − Ω²)."""
    omega, kappa = p.astype(complex)
    H = omega / 2 * jnp.asarray(np.array([[0, 1], [1, 0]], complex))
    return measures.liouvillian_gap(qdiss.Lindbladian(H, [jnp.sqrt(kappa) * jnp.asarray(SIGMA_Z)]))


def driven_dephased_exact_gap(omega, kappa):
    """Δ = κ − √(κ² − Ω²) for Ω < κ (overdamped), κ for Ω ≥ κ; Ω = κ is an exceptional point."""
    return kappa - np.sqrt(kappa**2 - omega**2) if omega < kappa else kappa


def test_gap_at_exceptional_point():
    """Ω = κ: the slowest mode −κ is a 2×2 Jordan block (defective). Documented: the value is
    accurate to ~√eps, the gradient finite, exact along the rescaling of L (Δ is homogeneous of
    degree 1 in (Ω, κ), so (Ω, κ)·∇Δ = Δ), and Δ has one-sided slopes 0 (∂/∂Ω from above) and
    +∞ (from below)."""
    kappa = 0.3
    x = np.array([kappa, kappa])
    S = np.asarray(
        qdiss.Lindbladian(
            kappa / 2 * np.array([[0, 1], [1, 0]], complex), [np.sqrt(kappa) * SIGMA_Z]
        ).superoperator()
    )
    _, v = np.linalg.eig(S)
    assert np.linalg.cond(v) > 1e6  # numerically defective: nearly parallel eigenvectors
    value = float(driven_dephased_gap(jnp.asarray(x)))
    assert value == pytest.approx(kappa, rel=1e-7)
    grad = np.asarray(jax.grad(driven_dephased_gap)(jnp.asarray(x)))
    assert np.all(np.isfinite(grad))
    assert float(x @ grad) == pytest.approx(value, rel=1e-6)  # Euler: exact along the scaling
    # Away from the exceptional point the gradient matches central differences on both sides.
    for omega in (0.2, 0.5):
        y = np.array([omega, kappa])
        g = np.asarray(jax.grad(driven_dephased_gap)(jnp.asarray(y)))
        fd = central_difference(lambda p: driven_dephased_exact_gap(*p), y)
        np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-9)
    # One-sided slopes in Ω of the computed gap: 0 from above, growing like 1/√h from below.
    f = lambda om: float(driven_dephased_gap(jnp.array([om, kappa])))  # noqa: E731
    h = 1e-4
    assert abs(f(kappa + h) - f(kappa)) / h < 1e-4
    below = (f(kappa) - f(kappa - h)) / h
    exact_below = (
        driven_dephased_exact_gap(kappa, kappa) - driven_dephased_exact_gap(kappa - h, kappa)
    ) / h
    assert below == pytest.approx(exact_below, rel=1e-3) and below > 50


def test_non_unique_steady_state_has_zero_gap():
    """Dicke dimer H = Ω(σ^x₁ + σ^x₂)/2, L = √Γ(σ⁻₁ + σ⁻₂): the singlet is dark."""
    sx = np.array([[0, 1], [1, 0]], complex)
    eye = np.eye(2)
    H = 0.7 * (np.kron(sx, eye) + np.kron(eye, sx)) / 2
    L = np.kron(SIGMA_MINUS, eye) + np.kron(eye, SIGMA_MINUS)
    gap = measures.liouvillian_gap(qdiss.Lindbladian(H, [L]))
    assert abs(float(gap)) < 1e-10


def test_raw_superoperator_jit_vmap():
    params = jnp.asarray(np.stack([CASES[k] for k in ("damped", "thermal", "dephased")]))
    gaps = jax.jit(jax.vmap(lambda p: measures.liouvillian_gap(qubit(p))))(params)
    np.testing.assert_allclose(np.asarray(gaps), [exact_gap(*p) for p in np.asarray(params)])
    superop = qubit(params[1]).superoperator()
    assert float(measures.liouvillian_gap(superop)) == pytest.approx(exact_gap(*CASES["thermal"]))
    with pytest.raises(TypeError, match="superoperator"):
        measures.liouvillian_gap(jnp.ones((4, 3)))
