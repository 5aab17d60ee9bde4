"""First-order pure-state perturbation theory (qdiss/_perturbative.py), checked against the
driven two-level closed form, exact steady states (error O(V²)), the full ↔ permutation-invariant
equivalence, the large-N Gaussian limit, finite differences, and its refusals."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qdiss
from qdiss.models.emitters import AllToAllTFI, AllToAllXYZ

SM = np.array([[0, 0], [1, 0]], complex)  # σ⁻, index 0 = |e⟩
SX = np.array([[0, 1], [1, 0]], complex)


def driven_qubit(h, gamma=1.0):
    L = qdiss.Lindbladian(h * SX, [np.sqrt(gamma) * SM])
    L0 = qdiss.Lindbladian(0 * SX, [np.sqrt(gamma) * SM])
    return L, L0


def test_driven_qubit_closed_form():
    """H = hσˣ, L = √γσ⁻: ψ = |g⟩ − (2ih/γ)|e⟩, so ρ_eg = −2ih/γ /(1 + 4h²/γ²); the exact
    optical-Bloch value is ρ_eg = −2ih/γ /(1 + 8h²/γ²), equal to first order."""
    h, gamma = 1e-3, 0.7
    sol = qdiss.perturbative_steady_state(*driven_qubit(h, gamma))
    s = (2 * h / gamma) ** 2
    assert sol.rho[0, 1] == pytest.approx(-2j * h / gamma / (1 + s), rel=1e-12)
    exact_eg = -2j * h / gamma / (1 + 2 * s)
    assert abs(sol.rho[0, 1] - exact_eg) < 2 * (h / gamma) ** 3 * 8
    assert float(sol.correction) == pytest.approx(2 * h / gamma, rel=1e-12)
    assert float(sol.dark_error) < 1e-14


def xyz(lam, representation="full", n=4):
    return AllToAllXYZ(
        n,
        1.0 + lam,
        1.0,
        0.3,
        1.0,
        dephasing=0.1,
        collective_decay=0.2,
        representation=representation,
    )


def perturbative(model):
    return qdiss.perturbative_steady_state(model.lindbladian(), model.u1_symmetric().lindbladian())


def test_error_is_second_order_in_the_perturbation():
    errors, residuals = [], []
    for lam in (0.08, 0.04, 0.02):
        model = xyz(lam)
        sol = perturbative(model)
        exact = qdiss.steady_state(model.lindbladian(), qdiss.DenseLU()).rho
        errors.append(float(jnp.linalg.norm(sol.rho - exact)))
        residuals.append(float(sol.residual))
    for a, b in zip(errors, errors[1:], strict=False):
        assert 3.5 < a / b < 4.5, errors
    for a, b in zip(residuals, residuals[1:], strict=False):
        assert 3.5 < a / b < 4.5, residuals


def test_permutation_representation_equals_full():
    """Local dephasing and collective decay included (the dephasing shift of the module
    docstring is exercised in both representations)."""
    full = perturbative(xyz(0.1))
    pi = perturbative(xyz(0.1, "permutation"))
    assert pi.rho.shape == (3, 5, 5)
    np.testing.assert_allclose(qdiss.pi_to_dense(pi.rho), full.rho, atol=1e-13)
    # The squeezing measures on the blocks equal those of the full 2^N matrix.
    for measure in (qdiss.measures.wineland_squeezing, qdiss.measures.kitagawa_ueda_squeezing):
        assert float(measure(pi.rho, 4)) == pytest.approx(float(measure(full.rho, 4)), rel=1e-10)
    assert float(pi.residual) == pytest.approx(float(full.residual), rel=0.5)


def test_tfi_permutation_against_exact_krylov():
    n = 16
    errs = []
    for h in (0.02, 0.01):
        model = AllToAllTFI(n, 0.5, h, 1.0, representation="permutation")
        sol = perturbative(model)
        exact = qdiss.steady_state(model.lindbladian(), qdiss.SparseLU()).rho
        errs.append(float(jnp.linalg.norm(sol.rho - exact)))
    assert 3.5 < errs[0] / errs[1] < 4.5, errs


def test_large_n_slope_matches_gaussian_limit():
    """Holstein–Primakoff (qdiss.models.emitters): ξ²_R → R/(R + 2|λ|) ≈ 1 − 2|λ|/R, so the
    first-order slope −dξ²/dλ at λ → 0⁺ is 2/R, R = √(γ² + 4Δ²), Δ = J_x + J_y − 2J_z (N → ∞)."""
    n, lam = 200, 1e-3
    model = AllToAllXYZ(n, 1.0 + lam, 1.0, 0.3, 1.0, representation="permutation")
    xi2 = qdiss.measures.wineland_squeezing(perturbative(model).rho, n)
    delta = 2.0 + lam - 0.6
    slope = (1 - float(xi2)) / lam
    assert slope == pytest.approx(2 / np.sqrt(1 + 4 * delta**2), rel=5e-3)


@pytest.mark.parametrize("representation", ["full", "permutation"])
def test_gradient_matches_finite_differences(representation):
    def loss(params):
        lam, jz, gamma = params
        model = AllToAllXYZ(
            4, 1.0 + lam, 1.0, jz, gamma, dephasing=0.1, representation=representation
        )
        sol = perturbative(model)
        return qdiss.measures.wineland_squeezing(sol.rho, 4)

    p = jnp.array([0.05, 0.3, 1.2])
    grad = jax.grad(loss)(p)
    eps = 1e-6
    fd = [(loss(p.at[i].add(eps)) - loss(p.at[i].add(-eps))) / (2 * eps) for i in range(3)]
    np.testing.assert_allclose(grad, np.array(fd), rtol=1e-6, atol=1e-9)


def test_jit_and_vmap():
    def xi2(lam):
        model = AllToAllXYZ(10, 1.0 + lam, 1.0, 0.3, 1.0, representation="permutation")
        return qdiss.measures.wineland_squeezing(perturbative(model).rho, 10)

    lams = jnp.array([0.01, 0.02, 0.04])
    batched = jax.jit(jax.vmap(xi2))(lams)
    np.testing.assert_allclose(batched, [xi2(x) for x in lams], rtol=1e-12)


def test_pumping_has_no_dark_state():
    L = qdiss.PermutationInvariantLindbladian(6, linear=(0.1, 0, 0), emission=1.0, pumping=0.1)
    L0 = qdiss.PermutationInvariantLindbladian(6, emission=1.0, pumping=0.1)
    with pytest.raises(Exception, match="not dark"):
        qdiss.perturbative_steady_state(L, L0)


def test_non_dark_reference_and_non_symmetric_h0_are_refused():
    L, L0 = driven_qubit(0.01)
    with pytest.raises(Exception, match="not dark"):
        qdiss.perturbative_steady_state(L, L0, reference=np.array([1.0, 0.0]))  # |e⟩ decays
    # H₀ = σˣ does not keep |g⟩ an eigenvector: not U(1)-symmetric.
    L0_bad = qdiss.Lindbladian(0.5 * SX, [SM])
    L_bad = qdiss.Lindbladian(0.6 * SX, [SM])
    with pytest.raises(Exception, match="not dark"):
        qdiss.perturbative_steady_state(L_bad, L0_bad)


def test_ambiguous_reference_is_refused():
    """Only qubit 1 decays: Σ L†L has a degenerate lowest eigenvalue."""
    sm1 = np.kron(SM, np.eye(2))
    L = qdiss.Lindbladian(0.01 * np.kron(SX, SX), [sm1])
    L0 = qdiss.Lindbladian(np.zeros((4, 4)), [sm1])
    with pytest.raises(Exception, match="degenerate"):
        qdiss.perturbative_steady_state(L, L0)


def test_inconsistent_pairs_are_refused():
    L, L0 = driven_qubit(0.01, gamma=1.0)
    _, L0_other_rate = driven_qubit(0.0, gamma=2.0)
    with pytest.raises(ValueError, match="jump_ops"):
        qdiss.perturbative_steady_state(L, L0_other_rate)
    pi = xyz(0.1, "permutation").lindbladian()
    with pytest.raises(TypeError, match="same kind"):
        qdiss.perturbative_steady_state(pi, L0)
    pi0 = eqx.tree_at(lambda m: m.emission, pi, pi.emission * 2)
    with pytest.raises(ValueError, match="emission"):
        qdiss.perturbative_steady_state(pi, pi0)
    with pytest.raises(ValueError, match="reference"):
        qdiss.perturbative_steady_state(pi, pi, reference=np.ones(5))
