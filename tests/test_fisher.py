"""Quantum Fisher information of a state family and of a steady state w.r.t. a parameter of its
Lindbladian (qdiss.measures.fisher_information, qdiss.steady_state_fisher_information), against
NumPy formulas, QuTiP steady states differentiated by finite differences, the unitary-family QFI,
and finite-difference gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip

import qdiss
from qdiss.measures import fisher_information, quantum_fisher_information

SM = np.array([[0, 1], [0, 0]], complex)  # a lowering operator: σ⁻|1⟩ = |0⟩
SX = SM + SM.conj().T
SZ = np.diag([1.0, -1.0]).astype(complex)


def numpy_fisher(rho, drho):
    """2 Σ |⟨i|dρ|j⟩|²/(λᵢ + λⱼ) by NumPy (terms with λᵢ + λⱼ ≤ 1e-12 dropped)."""
    w, v = np.linalg.eigh(rho)
    d = v.conj().T @ drho @ v
    total = w[:, None] + w[None, :]
    mask = total > 1e-12
    return float(2 * np.sum(np.abs(d[mask]) ** 2 / total[mask]))


def random_state(rng, n, rank=None):
    x = rng.normal(size=(n, rank or n)) + 1j * rng.normal(size=(n, rank or n))
    rho = x @ x.conj().T
    return rho / np.trace(rho)


def random_hermitian(rng, n):
    x = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return x + x.conj().T


def test_fisher_information_matches_numpy_and_the_unitary_family_qfi():
    rng = np.random.default_rng(0)
    rho, g = random_state(rng, 5), random_hermitian(rng, 5)
    drho = -1j * (g @ rho - rho @ g)
    value = float(fisher_information(jnp.asarray(rho), jnp.asarray(drho)))
    assert value == pytest.approx(numpy_fisher(rho, drho), rel=1e-10)
    assert value == pytest.approx(float(quantum_fisher_information(rho, g)), rel=1e-10)
    # a pure state: F = 4 Var(G) for the unitary family
    psi = rng.normal(size=4) + 1j * rng.normal(size=4)
    psi /= np.linalg.norm(psi)
    pure, g4 = np.outer(psi, psi.conj()), random_hermitian(rng, 4)
    var = np.real(psi.conj() @ g4 @ g4 @ psi - (psi.conj() @ g4 @ psi) ** 2)
    d_pure = -1j * (g4 @ pure - pure @ g4)
    assert float(fisher_information(pure, d_pure)) == pytest.approx(4 * var, rel=1e-9)


def test_fisher_information_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="`drho` must have the shape"):
        fisher_information(jnp.eye(2) / 2, jnp.zeros((3, 3)))


@pytest.mark.parametrize("degenerate", [False, True], ids=["generic", "degenerate"])
def test_fisher_information_derivative_matches_finite_differences(degenerate):
    rng = np.random.default_rng(1)
    n = 4
    rho = np.eye(n, dtype=complex) / n if degenerate else random_state(rng, n)
    d = random_hermitian(rng, n)
    d -= np.trace(d) * np.eye(n) / n
    a, b = random_hermitian(rng, n), random_hermitian(rng, n)
    a -= np.trace(a) * np.eye(n) / n

    def f(t):
        return fisher_information(jnp.asarray(rho) + 0.01 * t * a, jnp.asarray(d) + t * b)

    _, tangent = jax.jvp(f, (0.0,), (1.0,))
    h = 1e-5
    fd = numpy_fisher(rho + 0.01 * h * a, d + h * b) - numpy_fisher(rho - 0.01 * h * a, d - h * b)
    assert float(tangent) == pytest.approx(fd / (2 * h), rel=1e-6, abs=1e-8)


def qubit(omega, delta=0.3, gamma=1.0, gamma_phi=0.2):
    """A driven, damped, dephased qubit: H = Δσ_z/2 + Ωσ_x/2, L = √γ σ⁻, √γ_φ σ_z."""
    H = 0.5 * delta * SZ + 0.5 * omega * SX
    return H, [np.sqrt(gamma) * SM, np.sqrt(gamma_phi) * SZ]


def qdiss_qubit(omega):
    H, jumps = qubit(0.0)
    H = jnp.asarray(H) + jnp.asarray(0.5 * omega, complex) * jnp.asarray(SX)
    return qdiss.Lindbladian(H, [jnp.asarray(J) for J in jumps])


def qutip_steady(omega):
    H, jumps = qubit(omega)
    return qutip.steadystate(qutip.Qobj(H), [qutip.Qobj(J) for J in jumps]).full()


@pytest.mark.parametrize("omega", [0.4, 1.7])
def test_steady_state_qfi_matches_qutip_finite_differences(omega):
    h = 1e-5
    drho_ref = (qutip_steady(omega + h) - qutip_steady(omega - h)) / (2 * h)
    reference = numpy_fisher(qutip_steady(omega), drho_ref)

    drho = qdiss.steady_state_derivative(lambda eps: qdiss_qubit(omega + eps))
    np.testing.assert_allclose(np.asarray(drho), drho_ref, atol=1e-8)
    value = float(qdiss.steady_state_fisher_information(lambda eps: qdiss_qubit(omega + eps)))
    assert value == pytest.approx(reference, rel=1e-7)
    # the same derivative through steady_state's own implicit rule
    tangent = jax.jvp(lambda w: qdiss.steady_state(qdiss_qubit(w)).rho, (omega,), (1.0,))[1]
    np.testing.assert_allclose(np.asarray(drho), np.asarray(tangent), atol=1e-10)


def test_steady_state_qfi_of_a_rotated_lindbladian_is_the_unitary_qfi():
    """L(ε) = U L U†, U = e^{−iεG}: ρ_ss(ε) = Uρ_ssU†, so F_Q is the QFI of ρ_ss under G."""
    rng = np.random.default_rng(2)
    n = 3
    H = random_hermitian(rng, n)
    jumps = [rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)) for _ in range(2)]
    G = random_hermitian(rng, n)

    def family(eps):
        U = jax.scipy.linalg.expm(-1j * eps * jnp.asarray(G))
        rot = lambda X: U @ jnp.asarray(X) @ U.conj().T  # noqa: E731
        return qdiss.Lindbladian(rot(H), [rot(J) for J in jumps])

    rho = qdiss.steady_state(family(0.0)).rho
    expected = float(quantum_fisher_information(rho, G))
    assert float(qdiss.steady_state_fisher_information(family)) == pytest.approx(expected, rel=1e-8)


def test_steady_state_qfi_gradient_matches_finite_differences():
    def qfi(omega):
        return qdiss.steady_state_fisher_information(lambda eps: qdiss_qubit(omega + eps))

    omega, h = 0.9, 1e-4
    grad = float(jax.grad(qfi)(omega))
    fd = (float(qfi(omega + h)) - float(qfi(omega - h))) / (2 * h)
    assert grad == pytest.approx(fd, rel=1e-6)

    # and against the QuTiP-based value (second differences of QuTiP steady states)
    def reference(w, k=1e-4):
        return numpy_fisher(qutip_steady(w), (qutip_steady(w + k) - qutip_steady(w - k)) / (2 * k))

    fd_ref = (reference(omega + h) - reference(omega - h)) / (2 * h)
    assert grad == pytest.approx(fd_ref, rel=1e-4)


def test_steady_state_qfi_under_jit_and_vmap():
    omegas = jnp.array([0.4, 1.7])
    batched = jax.jit(
        jax.vmap(lambda w: qdiss.steady_state_fisher_information(lambda e: qdiss_qubit(w + e)))
    )(omegas)
    for w, value in zip(omegas, batched, strict=True):
        h = 1e-5
        drho = (qutip_steady(float(w) + h) - qutip_steady(float(w) - h)) / (2 * h)
        assert float(value) == pytest.approx(numpy_fisher(qutip_steady(float(w)), drho), rel=1e-7)
