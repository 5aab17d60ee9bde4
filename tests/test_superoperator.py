"""A bare superoperator as input (issue 13 §4): dense, SciPy sparse and QuTiP ``super`` matrices
in qdiss's row-major and QuTiP's column-stacked conventions, against QuTiP's steadystate on the
same Qobj and NumPy references; malformed inputs refused with ValueError."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
import scipy.sparse as sp
from representations import null_space_state, superoperator

import qdiss


def _cavity(n=6, delta=0.4, drive=0.6, gamma=1.3, pump=0.04):
    a = qutip.destroy(n)
    H = delta * a.dag() * a + drive * (a + a.dag())
    return H, [np.sqrt(gamma) * a, np.sqrt(pump) * a.dag()]


def _two_qubits():
    """Two coupled driven qubits with local decay (dims [2, 2])."""
    sm, sx, sz = qutip.sigmam(), qutip.sigmax(), qutip.sigmaz()
    eye = qutip.qeye(2)
    H = (
        0.3 * qutip.tensor(sz, eye)
        - 0.2 * qutip.tensor(eye, sz)
        + 0.5 * qutip.tensor(sx, eye)
        + 0.4 * (qutip.tensor(sm.dag(), sm) + qutip.tensor(sm, sm.dag()))
    )
    return H, [np.sqrt(0.7) * qutip.tensor(sm, eye), np.sqrt(0.9) * qutip.tensor(eye, sm)]


@pytest.mark.parametrize("model", [_cavity, _two_qubits])
@pytest.mark.parametrize(
    "solver",
    [qdiss.DenseLU(), qdiss.SparseLU(), qdiss.Krylov(), qdiss.Auto()],
    ids=lambda s: s.name,
)
def test_qutip_super_matches_qutip_steadystate(model, solver):
    H, c_ops = model()
    liouvillian = qutip.liouvillian(H, c_ops)
    reference = qutip.steadystate(liouvillian).full()
    sol = qdiss.steady_state(liouvillian, solver)  # the Qobj itself, wrapped by steady_state
    assert sol.status == "successful"
    np.testing.assert_allclose(np.asarray(sol.rho), reference, atol=1e-9)
    L = qdiss.Superoperator(liouvillian)
    assert L.dims == tuple(H.dims[0])


def test_column_and_row_conventions_and_sparse_storage_agree():
    H, c_ops = _cavity(n=5)
    liouvillian = qutip.liouvillian(H, c_ops)
    column = liouvillian.full()  # QuTiP's column stacking
    row = superoperator(H.full(), [c.full() for c in c_ops])  # the independent row-major one
    n = 5
    # the documented permutation: S_row[i·n + j, k·n + l] = S_col[i + j·n, k + l·n]
    perm = np.array([i + j * n for i in range(n) for j in range(n)])
    np.testing.assert_allclose(column[perm][:, perm], row, atol=1e-14)
    forms = [
        qdiss.Superoperator(row),
        qdiss.Superoperator(column, convention="column"),
        qdiss.Superoperator(sp.csr_matrix(row)),
        qdiss.Superoperator(sp.csc_matrix(column), convention="column"),
        qdiss.Superoperator(liouvillian),
    ]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    expected = (row @ x.reshape(-1)).reshape(n, n)
    expected_adjoint = (row.conj().T @ x.reshape(-1)).reshape(n, n)
    for L in forms:
        np.testing.assert_allclose(np.asarray(L.superoperator()), row, atol=1e-14)
        np.testing.assert_allclose(np.asarray(L.mv(jnp.asarray(x))), expected, atol=1e-13)
        np.testing.assert_allclose(
            np.asarray(L.adjoint_mv(jnp.asarray(x))), expected_adjoint, atol=1e-13
        )
        np.testing.assert_allclose(L.sparse_superoperator().toarray(), row, atol=1e-14)
        assert float(L.norm_bound()) >= np.linalg.norm(row, 2) * (1 - 1e-12)
    assert forms[2].is_sparse and not forms[0].is_sparse


def test_effective_hamiltonian_of_traceless_jump_operators():
    """H_eff from S alone equals H − (i/2)Σ L̃†L̃ with the traceless parts L̃ = L − tr(L)/n,
    up to a real multiple of the identity (NumPy reference)."""
    rng = np.random.default_rng(3)
    n = 4
    H = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    H = (H + H.conj().T) / 2
    jumps = [rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)) for _ in range(2)]
    S = superoperator(H, jumps)
    traceless = [op - np.trace(op) / n * np.eye(n) for op in jumps]
    # L ρ L† with L = L̃ + cI moves (i/2)(c̄ L̃ − c L̃†) into H: the Hamiltonian part changes too.
    shift = sum(
        0.5j * (np.conj(np.trace(op) / n) * t - np.trace(op) / n * t.conj().T)
        for op, t in zip(jumps, traceless, strict=True)
    )
    expected = H + shift - 0.5j * sum(t.conj().T @ t for t in traceless)
    got = np.asarray(qdiss.Superoperator(S).effective_hamiltonian())
    diff = got - expected
    np.testing.assert_allclose(diff, np.trace(diff) / n * np.eye(n), atol=1e-12)
    assert abs(np.trace(diff).imag) < 1e-12


def test_gradient_through_the_matrix_entries_matches_finite_differences():
    a = np.diag(np.sqrt(np.arange(1.0, 6.0)), 1).astype(complex)
    number = a.conj().T @ a

    def photons(theta, solver):
        delta, drive = theta.astype(complex)
        H = delta * jnp.asarray(number) + drive * jnp.asarray(a + a.conj().T)
        eye = jnp.eye(6, dtype=complex)
        jump = jnp.asarray(np.sqrt(1.1) * a)
        loss = jump.conj().T @ jump
        S = (
            -1j * (jnp.kron(H, eye) - jnp.kron(eye, H.T))
            + jnp.kron(jump, jump.conj())
            - 0.5 * (jnp.kron(loss, eye) + jnp.kron(eye, loss.T))
        )
        rho = qdiss.steady_state(qdiss.Superoperator(S), solver).rho
        return jnp.real(jnp.trace(jnp.asarray(number) @ rho))

    theta = jnp.array([0.3, 0.5])
    h = 1e-5
    fd = [
        (photons(theta + h * e, qdiss.DenseLU()) - photons(theta - h * e, qdiss.DenseLU()))
        / (2 * h)
        for e in jnp.eye(2)
    ]
    for solver in (qdiss.DenseLU(), qdiss.Krylov()):
        grad = jax.grad(photons)(theta, solver)
        np.testing.assert_allclose(np.asarray(grad), np.asarray(fd), rtol=1e-6, atol=1e-9)
    # the value against the NumPy null space of the same truncated cavity
    rho = null_space_state(0.3 * number + 0.5 * (a + a.conj().T), [np.sqrt(1.1) * a])
    value = photons(theta, qdiss.DenseLU())
    np.testing.assert_allclose(float(value), np.trace(number @ rho).real, rtol=1e-10)


def _commutator(A):
    """The row-major matrix of ρ ↦ −i(Aρ − ρA)."""
    eye = np.eye(A.shape[0])
    return -1j * (np.kron(A, eye) - np.kron(eye, A.T))


def _valid():
    H, c_ops = _cavity(n=3)
    return superoperator(H.full(), [c.full() for c in c_ops])


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        (np.zeros((9, 8), complex), "square"),
        (np.zeros((8, 8), complex), "square n²"),
        (np.zeros((9, 9, 1), complex), "square"),
        (_valid() + 0.1 * np.eye(9), "trace preserving"),
        (_valid() + np.diag(1j * np.arange(9.0)), "trace preserving"),
        # −i[A, ρ] with an anti-Hermitian A = 0.2i|0⟩⟨0|: trace preserving, L(ρ)† ≠ L(ρ†)
        (_valid() + _commutator(0.2j * np.diag([1.0, 0, 0])), "Hermiticity"),
        # a negative rate: −(σ ρ σ† − ½{σ†σ, ρ}) is trace and Hermiticity preserving, not CP
        (_valid() - 3 * superoperator(np.zeros((3, 3)), [np.diag([1.0, 1.0], 1)]), "Lindblad form"),
        (np.full((9, 9), np.nan), "non-finite"),
    ],
    ids=[
        "not-square",
        "not-n-squared",
        "3d",
        "trace",
        "trace-imaginary",
        "hermiticity",
        "not-cp",
        "nan",
    ],
)
def test_malformed_superoperators_are_refused(matrix, match):
    with pytest.raises(ValueError, match=match):
        qdiss.Superoperator(matrix)


def test_non_super_inputs_are_refused():
    with pytest.raises(ValueError, match="not a superoperator"):
        qdiss.Superoperator(qutip.destroy(3))
    with pytest.raises(ValueError, match="convention"):
        qdiss.Superoperator(_valid(), convention="fortran")
    with pytest.raises(TypeError, match="Superoperator"):
        qdiss.steady_state(np.zeros((9, 9)))  # a dense array must be wrapped explicitly
    with pytest.raises(ValueError, match="dims"):
        qdiss.Superoperator(_valid(), dims=(2, 2))


def test_column_stacked_matrix_read_as_row_major_is_the_conjugate_generator():
    """QuTiP's matrix read in the row-major convention is not malformed (no check can catch it):
    it is the generator ρ ↦ L(ρᵀ)ᵀ (H → −Hᵀ... the complex-conjugate model), whose steady state
    is ρ_ssᵀ. Hence ``convention='column'``, documented, for such matrices."""
    H, c_ops = _two_qubits()
    liouvillian = qutip.liouvillian(H, c_ops)
    reference = qutip.steadystate(liouvillian).full()
    misread = qdiss.steady_state(qdiss.Superoperator(liouvillian.full()), qdiss.DenseLU())
    np.testing.assert_allclose(np.asarray(misread.rho), reference.T, atol=1e-10)
    right = qdiss.steady_state(
        qdiss.Superoperator(liouvillian.full(), convention="column"), qdiss.DenseLU()
    )
    np.testing.assert_allclose(np.asarray(right.rho), reference, atol=1e-10)


def test_non_unique_superoperator_is_reported():
    sx = np.array([[0, 1], [1, 0]], complex)
    sm = np.array([[0, 0], [1, 0]], complex)
    collective = np.kron(sm, np.eye(2)) + np.kron(np.eye(2), sm)
    H = (np.kron(sx, np.eye(2)) + np.kron(np.eye(2), sx)) / 2
    L = qdiss.Superoperator(superoperator(H, [collective]))
    sol = qdiss.steady_state(L, qdiss.DenseLU(), throw=False)
    assert sol.status == "non_unique"
