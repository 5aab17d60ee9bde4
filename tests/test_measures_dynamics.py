"""qdiss.measures, Liouvillian spectrum and gap: damped, thermal and dephased qubits (closed-form
rates), a non-unique steady state, gradients vs closed forms and finite differences, jit, vmap."""

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
