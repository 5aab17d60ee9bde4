"""qdiss.low_lying_spectrum: the k eigenvalues of L closest to 0 by shift-invert Arnoldi.

References, all independent of qdiss: NumPy's dense ``eig`` of the superoperator built from H
and the jump operators (tests/representations.py), restricted to the states each representation
holds (block-diagonal states of the sectors, permutation-invariant operators); closed-form qubit
rates; QuTiP/PIQS's Liouvillian in the Dicke basis. Gradients of isolated eigenvalues against
finite differences of the NumPy reference. Every representation of the REPRESENTATIONS registry,
both ways of applying the inverse (LU, GMRES).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from representations import REPRESENTATIONS, SECTOR_LABELS, superoperator

import qdiss
import qdiss.measures as measures

METHODS = ("lu", "gmres")


# ------------------------------------------------------------------------ independent references


def _permutation_invariant_basis(num_spins: int) -> np.ndarray:
    """Orthonormal basis (columns, row-major vec) of the operators X on (C²)^⊗N with
    P_π X P_π† = X for every permutation π of the sites: the eigenvalue-1 eigenvectors of the
    projector (1/N!) Σ_π P_π ⊗ P_π."""
    dim = 2**num_spins
    projector = np.zeros((dim * dim, dim * dim))
    perms = list(itertools.permutations(range(num_spins)))
    for perm in perms:
        p = np.zeros((dim, dim))
        for index in range(dim):
            bits = [(index >> (num_spins - 1 - s)) & 1 for s in range(num_spins)]
            moved = [bits[perm[s]] for s in range(num_spins)]
            p[int("".join(map(str, moved)), 2), index] = 1
        projector += np.kron(p, p)
    projector /= len(perms)
    values, vectors = np.linalg.eigh(projector)
    return vectors[:, values > 0.5]


_PI_BASIS = None


def restricted_superoperator(name: str, theta) -> tuple[np.ndarray, np.ndarray]:
    """(S, B): the dense superoperator of REPRESENTATIONS[name] at θ (NumPy, from H and the jump
    operators) and an orthonormal basis B of the states the representation holds (an invariant
    subspace of S); the representation's spectrum is that of Bᴴ S B."""
    global _PI_BASIS
    H, jumps = REPRESENTATIONS[name].dense(np.asarray(theta))
    s = superoperator(H, jumps)
    n = H.shape[0]
    if name in ("dense", "superop"):  # every (n, n) matrix
        basis = np.eye(n * n)
    elif name == "sectors":
        same = (SECTOR_LABELS[:, None] == SECTOR_LABELS[None, :]).reshape(-1)
        basis = np.eye(n * n)[:, same]
    else:
        if _PI_BASIS is None:
            _PI_BASIS = _permutation_invariant_basis(int(np.log2(n)))
        basis = _PI_BASIS
    return s, basis


def reference_eigenvalues(name: str, theta) -> np.ndarray:
    """Every eigenvalue of the representation's restricted superoperator, by increasing |λ|."""
    s, basis = restricted_superoperator(name, theta)
    lam = np.linalg.eigvals(basis.conj().T @ s @ basis)
    return lam[np.argsort(np.abs(lam))]


def untied_count(lam: np.ndarray, k: int) -> int:
    """The largest k' ≤ k for which the k' smallest |λ| are separated from the next one (no tie
    of a complex-conjugate pair at the boundary)."""
    while k > 1 and abs(lam[k]) - abs(lam[k - 1]) < 1e-6 * abs(lam[k]):
        k -= 1
    return k


def assert_same_eigenvalues(found, expected, atol):
    """Every found eigenvalue matches a distinct expected one (and vice versa)."""
    found, expected = np.asarray(found), np.asarray(expected)
    assert found.shape == expected.shape
    remaining = list(expected)
    for value in found:
        distances = np.abs(np.asarray(remaining) - value)
        best = int(np.argmin(distances))
        assert distances[best] <= atol, (value, expected)
        remaining.pop(best)


# ------------------------------------------------------------------- eigenvalues and eigenvectors


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_matches_dense_eig(name, method):
    """The k eigenvalues closest to 0 equal NumPy's dense ones (restricted to the
    representation's states); the right eigenmatrices, mapped to (n, n) by the representation's
    ``to_dense``, are eigenvectors of the independent dense superoperator; the left ones are
    biorthogonal to the right ones; every pair is marked converged with small residuals."""
    rep = REPRESENTATIONS[name]
    theta = np.asarray(rep.theta0)
    lam_ref = reference_eigenvalues(name, theta)
    k = untied_count(lam_ref, 6)
    spec = qdiss.low_lying_spectrum(rep.make(), k, method=method)
    assert spec.result == qdiss.RESULTS.successful
    assert bool(np.all(spec.converged))
    assert np.max(spec.residuals) < 1e-9 and np.max(spec.left_residuals) < 1e-9
    lam = np.asarray(spec.eigenvalues)
    assert lam[0] == 0
    assert_same_eigenvalues(lam, lam_ref[:k], atol=1e-9)
    assert np.all(np.diff(np.abs(lam)) > -1e-9)  # ordered by |λ|

    s, _ = restricted_superoperator(name, theta)
    for value, r in zip(lam, spec.right, strict=True):
        vec = np.asarray(rep.to_dense(rep.make(), r)).reshape(-1)
        residual = np.linalg.norm(s @ vec - value * vec) / (np.linalg.norm(s) * np.linalg.norm(vec))
        assert residual < 1e-10
    rho = np.asarray(rep.to_dense(rep.make(), spec.right[0]))
    np.testing.assert_allclose(rho, rep.reference(), atol=1e-10)  # r_0 = ρ_ss, trace 1

    left = np.asarray(spec.left).reshape(k, -1)
    overlaps = left.conj() @ np.asarray(spec.right).reshape(k, -1).T
    np.testing.assert_allclose(overlaps, np.eye(k), atol=1e-8)  # ⟨l_i, r_j⟩ = δ_ij


@pytest.mark.parametrize("name", ["dense", "sectors"])
def test_left_eigenmatrices_are_heisenberg_eigenvectors(name):
    """For dense and sector states the pairing ⟨l, x⟩ is tr(l†x), so the left eigenmatrices
    satisfy L†(l) = λ̄ l for the independent dense superoperator: Sᴴ vec(l) = λ̄ vec(l)."""
    rep = REPRESENTATIONS[name]
    lam_ref = reference_eigenvalues(name, rep.theta0)
    spec = qdiss.low_lying_spectrum(rep.make(), untied_count(lam_ref, 5), method="lu")
    s, _ = restricted_superoperator(name, rep.theta0)
    for value, left in zip(np.asarray(spec.eigenvalues), spec.left, strict=True):
        vec = np.asarray(rep.to_dense(rep.make(), left)).reshape(-1)
        residual = np.linalg.norm(s.conj().T @ vec - np.conj(value) * vec)
        assert residual < 1e-9 * np.linalg.norm(s) * np.linalg.norm(vec)
    n = int(round(np.sqrt(s.shape[0])))
    identity = np.asarray(rep.to_dense(rep.make(), spec.left[0]))
    np.testing.assert_allclose(identity, np.eye(n), atol=1e-12)  # l_0 = I


SIGMA_MINUS = np.array([[0, 0], [1, 0]], complex)


def qubit(omega, gamma, nbar):
    sm = jnp.asarray(SIGMA_MINUS)
    sz = jnp.diag(jnp.array([1.0, -1.0])).astype(complex)
    jumps = [jnp.sqrt(gamma * (nbar + 1)) * sm, jnp.sqrt(gamma * nbar) * sm.T]
    return qdiss.Lindbladian(omega / 2 * sz, jumps)


@pytest.mark.parametrize("omega", [1.0, 0.0])  # ω = 0: the two coherences are degenerate
def test_thermal_qubit_closed_form(omega):
    """A thermal qubit: 0, coherences −Γ/2 ∓ iω, populations −Γ with Γ = γ(2n̄+1); its gap Γ/2.
    At ω = 0 the coherence eigenvalue is doubly degenerate (found through the Krylov space's
    breakdown and random continuation); its derivative is then not defined."""
    gamma, nbar = 0.3, 0.7
    rate = gamma * (2 * nbar + 1)
    spec = qdiss.low_lying_spectrum(qubit(omega, gamma, nbar), 4)
    assert spec.result == qdiss.RESULTS.successful
    expected = [0, -rate / 2 - 1j * omega, -rate / 2 + 1j * omega, -rate]
    assert_same_eigenvalues(spec.eigenvalues, expected, atol=1e-12)
    assert float(spec.gap()) == pytest.approx(rate / 2, rel=1e-12)
    np.testing.assert_allclose(np.sort(np.asarray(spec.decay_rates())), [rate / 2] * 2 + [rate])


def test_matches_piqs():
    """The permutation-invariant representation's low spectrum equals the eigenvalues of
    QuTiP/PIQS's Liouvillian (Dicke basis, restricted to its same-j blocks, the states the
    representation holds) for N = 4 spins with local emission, pumping, dephasing, collective
    emission and a field h J_x. PIQS computes its rates in single precision."""
    pytest.importorskip("qutip.piqs")
    from qutip import piqs

    n, h = 4, 0.7
    rates = dict(emission=0.5, pumping=0.2, dephasing=0.3, collective_emission=0.4)
    system = piqs.Dicke(
        n,
        hamiltonian=h * piqs.jspin(n)[0],
        emission=rates["emission"],
        pumping=rates["pumping"],
        dephasing=4 * rates["dephasing"],  # PIQS's local dephasing operator is σᶻ/2
        collective_emission=rates["collective_emission"],
    )
    sizes = [n + 1 - 2 * b for b in range(n // 2 + 1)]  # j = 2, 1, 0
    block = np.repeat(np.arange(len(sizes)), sizes)
    same = (block[:, None] == block[None, :]).reshape(-1)
    liouvillian = system.liouvillian().full()[np.ix_(same, same)]
    reference = np.linalg.eigvals(liouvillian)
    reference = reference[np.argsort(np.abs(reference))]
    L = qdiss.PermutationInvariantLindbladian(
        n, linear=jnp.array([h, 0.0, 0.0]), **{k: jnp.asarray(v) for k, v in rates.items()}
    )
    k = untied_count(reference, 6)
    spec = qdiss.low_lying_spectrum(L, k)
    assert spec.result == qdiss.RESULTS.successful
    assert_same_eigenvalues(spec.eigenvalues, reference[:k], atol=1e-5)


# ------------------------------------------------------------------------------------ gradients


@pytest.mark.parametrize(
    ("name", "method"), [(name, "lu") for name in REPRESENTATIONS] + [("dense", "gmres")]
)
def test_eigenvalue_gradients_vs_finite_differences(name, method):
    """d λ_i/dθ (jacfwd, and jax.grad of a real combination) against central differences of the
    NumPy reference eigenvalue nearest to λ_i."""
    rep = REPRESENTATIONS[name]
    theta0 = np.asarray(rep.theta0)
    k = untied_count(reference_eigenvalues(name, theta0), 4)

    def eigenvalues(theta):
        return qdiss.low_lying_spectrum(rep.family(theta), k, method=method).eigenvalues

    lam0 = np.asarray(eigenvalues(jnp.asarray(theta0)))
    jac = np.asarray(jax.jacfwd(lambda t: eigenvalues(t), holomorphic=False)(jnp.asarray(theta0)))
    step = 1e-5
    for a in range(2):
        shift = np.zeros(2)
        shift[a] = step

        def nearest(values, target):
            return values[np.argmin(np.abs(values - target))]

        plus = reference_eigenvalues(name, theta0 + shift)
        minus = reference_eigenvalues(name, theta0 - shift)
        for i in range(1, k):
            fd = (nearest(plus, lam0[i]) - nearest(minus, lam0[i])) / (2 * step)
            assert abs(jac[i, a] - fd) <= 1e-6 * (1 + abs(fd)), (i, a, jac[i, a], fd)
        assert abs(jac[0, a]) < 1e-12  # λ_0 = 0 for every θ

    def combination(theta):
        lam = eigenvalues(theta)
        return jnp.real(lam[1]) + 0.3 * jnp.imag(lam[k - 1])

    grad = np.asarray(jax.grad(combination)(jnp.asarray(theta0)))
    expected = np.real(jac[1]) + 0.3 * np.imag(jac[k - 1])
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-12)


def test_gap_gradient_matches_dense_gap():
    """measures.liouvillian_gap(method="arnoldi") equals the dense gap, with the same gradient
    (the dense one is jnp.linalg.eig's eigenvalue rule)."""
    rep = REPRESENTATIONS["dense"]

    def gap(theta, method):
        return measures.liouvillian_gap(rep.family(theta), method=method)

    theta = jnp.asarray(rep.theta0)
    assert float(gap(theta, "arnoldi")) == pytest.approx(float(gap(theta, "dense")), rel=1e-10)
    np.testing.assert_allclose(
        np.asarray(jax.grad(gap)(theta, "arnoldi")),
        np.asarray(jax.grad(gap)(theta, "dense")),
        rtol=1e-8,
    )


# ------------------------------------------------------------------- status, failures, transforms


@pytest.mark.parametrize("name", list(REPRESENTATIONS))
def test_non_unique_steady_state_reported(name):
    """A degenerate kernel is reported as RESULTS.non_unique (never as success)."""
    spec = qdiss.low_lying_spectrum(REPRESENTATIONS[name].non_unique(), 4, method="lu")
    assert spec.result == qdiss.RESULTS.non_unique


def test_unconverged_pairs_are_never_marked_converged():
    """With no restart allowed and a too small basis Arnoldi cannot converge: the result says
    so, and every pair still marked converged is a true eigenvalue (NumPy reference)."""
    rep = REPRESENTATIONS["permutation"]
    lam_ref = reference_eigenvalues("permutation", rep.theta0)
    spec = qdiss.low_lying_spectrum(rep.make(), 6, krylov_size=8, max_restarts=0, method="lu")
    assert spec.result == qdiss.RESULTS.max_steps_reached
    converged = np.asarray(spec.converged)
    assert not converged.all()
    for value in np.asarray(spec.eigenvalues)[converged]:
        assert np.min(np.abs(lam_ref - value)) < 1e-8
    grad = jax.grad(
        lambda t: jnp.real(
            qdiss.low_lying_spectrum(rep.family(t), 6, krylov_size=8, max_restarts=0).eigenvalues
        ).sum()
    )(jnp.asarray(rep.theta0))
    assert np.all(np.isnan(np.asarray(grad)))  # unconverged pairs poison the derivative


def test_jit_and_vmap():
    """Under jit and vmap over parameters, each point equals its own NumPy reference."""
    rep = REPRESENTATIONS["dense"]
    thetas = np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.0]])
    references = [reference_eigenvalues("dense", theta) for theta in thetas]
    k = min(untied_count(lam, 4) for lam in references)

    @jax.jit
    @jax.vmap
    def eigenvalues(theta):
        return qdiss.low_lying_spectrum(rep.family(theta), k).eigenvalues

    found = np.asarray(eigenvalues(jnp.asarray(thetas)))
    for lam, lam_ref in zip(found, references, strict=True):
        assert_same_eigenvalues(lam, lam_ref[:k], atol=1e-9)


def test_bad_arguments():
    L = REPRESENTATIONS["dense"].make()
    with pytest.raises(ValueError, match="`k`"):
        qdiss.low_lying_spectrum(L, 0)
    with pytest.raises(ValueError, match="exceeds"):
        qdiss.low_lying_spectrum(L, 17)
    with pytest.raises(ValueError, match="`method`"):
        qdiss.low_lying_spectrum(L, 3, method="eigs")
    with pytest.raises(TypeError, match="Lindbladian"):
        qdiss.low_lying_spectrum(np.eye(16), 3)
    with pytest.raises(ValueError, match="`method`"):
        measures.liouvillian_gap(L, method="eigs")


def test_inexact_gmres_is_not_reported_as_non_unique():
    """GMRES stopped far short of its tolerance (one cycle of two steps) on a problem with a
    unique steady state: the result says the iteration fell short (max_steps_reached), never
    non_unique, and a pair is marked converged only if it is a true eigenpair."""
    rep = REPRESENTATIONS["dense"]
    lam_ref = reference_eigenvalues("dense", rep.theta0)
    k = untied_count(lam_ref, 4)
    krylov = qdiss.Krylov(max_steps=1, restart=2)
    spec = qdiss.low_lying_spectrum(rep.make(), k, method="gmres", krylov=krylov)
    assert spec.result == qdiss.RESULTS.max_steps_reached
    for value in np.asarray(spec.eigenvalues)[np.asarray(spec.converged)]:
        assert np.min(np.abs(lam_ref - value)) < 1e-8
