"""qdiss.measures, single-state functions: purity, entropy, fidelity, expect, partial trace and
transpose (against QuTiP), mutual information; closed forms, gradients vs central finite
differences, finite gradients at non-smooth points, jit and vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
import scipy.linalg as sl

import qdiss.measures as measures

RNG = np.random.default_rng(20261121)


def random_dm(n: int, rank: int | None = None, rng=RNG) -> np.ndarray:
    rank = n if rank is None else rank
    a = rng.normal(size=(n, rank)) + 1j * rng.normal(size=(n, rank))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def random_ket(n: int, rng=RNG) -> np.ndarray:
    psi = rng.normal(size=n) + 1j * rng.normal(size=n)
    return psi / np.linalg.norm(psi)


def dm_from_params(theta, n: int, rank: int):
    """A real parametrisation of rank-`rank` density matrices: ρ = AA†/tr(AA†)."""
    m = n * rank
    a = jax.lax.complex(theta[:m], theta[m:]).reshape(n, rank)
    rho = a @ a.conj().T
    return rho / jnp.trace(rho)


def central_fd(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (float(f(jnp.asarray(x + e))) - float(f(jnp.asarray(x - e)))) / (2 * h)
    return out


def assert_grad_matches_fd(f, x, rtol=1e-6, atol=1e-8):
    g = np.asarray(jax.grad(f)(jnp.asarray(x)))
    np.testing.assert_allclose(g, central_fd(f, x), rtol=rtol, atol=atol)


def reference_entropy(rho: np.ndarray) -> float:
    w = np.linalg.eigvalsh(rho)
    w = w[w > 1e-14]
    return float(-np.sum(w * np.log(w)))


def reference_fidelity(rho: np.ndarray, sigma: np.ndarray) -> float:
    s = sl.sqrtm(rho)
    return float(np.real(np.trace(sl.sqrtm(s @ sigma @ s))) ** 2)


BELL = np.outer([1, 0, 0, 1], [1, 0, 0, 1]).astype(complex) / 2


# ----------------------------------------------------------------------------------- purity


def test_purity_closed_forms():
    psi = random_ket(5)
    assert float(measures.purity(jnp.asarray(np.outer(psi, psi.conj())))) == pytest.approx(1.0)
    assert float(measures.purity(jnp.eye(4, dtype=complex) / 4)) == pytest.approx(0.25)
    rho = random_dm(6)
    assert float(measures.purity(jnp.asarray(rho))) == pytest.approx(np.trace(rho @ rho).real)


def test_purity_gradient_vs_fd():
    x = RNG.normal(size=2 * 4 * 4)
    assert_grad_matches_fd(lambda t: measures.purity(dm_from_params(t, 4, 4)), x)


# ---------------------------------------------------------------------------------- entropy


def test_entropy_closed_forms():
    psi = random_ket(4)
    assert abs(float(measures.von_neumann_entropy(jnp.asarray(np.outer(psi, psi.conj()))))) < 1e-13
    for n in (2, 3, 8):
        value = measures.von_neumann_entropy(jnp.eye(n, dtype=complex) / n)
        assert float(value) == pytest.approx(np.log(n), rel=1e-13)
    bell_a = measures.partial_trace(jnp.asarray(BELL), (2, 2), 0)
    assert float(measures.von_neumann_entropy(bell_a)) == pytest.approx(np.log(2), rel=1e-13)
    for rank in (1, 2, 5):
        rho = random_dm(5, rank)
        assert float(measures.von_neumann_entropy(jnp.asarray(rho))) == pytest.approx(
            reference_entropy(rho), abs=1e-12
        )


def test_entropy_gradient_vs_fd():
    x = RNG.normal(size=2 * 4 * 4)
    assert_grad_matches_fd(lambda t: measures.von_neumann_entropy(dm_from_params(t, 4, 4)), x)


def test_entropy_gradient_finite_at_pure_and_degenerate_states():
    # I/4: four equal eigenvalues; dS = −tr((ln ρ + 1) dρ) = (ln 4 − 1) tr dρ.
    g = jax.grad(measures.von_neumann_entropy)(jnp.eye(4, dtype=complex) / 4)
    np.testing.assert_allclose(np.asarray(g), (np.log(4) - 1) * np.eye(4), atol=1e-12)
    # Degenerate support and kernel: diag(½, ½, 0, 0).
    g = jax.grad(measures.von_neumann_entropy)(jnp.diag(jnp.array([0.5, 0.5, 0, 0], complex)))
    np.testing.assert_allclose(np.asarray(g), np.diag([np.log(2) - 1] * 2 + [0, 0]), atol=1e-12)
    # Pure state: finite, the derivative along pure states −⟨ψ|dρ|ψ⟩.
    psi = random_ket(4)
    g = jax.grad(measures.von_neumann_entropy)(jnp.asarray(np.outer(psi, psi.conj())))
    assert np.all(np.isfinite(np.asarray(g)))
    np.testing.assert_allclose(np.asarray(g), -np.outer(psi, psi.conj()).conj(), atol=1e-12)
    # Along a family of pure states S ≡ 0, so the gradient in the parameters is 0.
    x = RNG.normal(size=2 * 4)
    g = jax.grad(lambda t: measures.von_neumann_entropy(dm_from_params(t, 4, 1)))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(g), 0.0, atol=1e-10)


# --------------------------------------------------------------------------------- fidelity


def test_fidelity_closed_forms_and_reference():
    psi, phi = random_ket(4), random_ket(4)
    p, q = np.outer(psi, psi.conj()), np.outer(phi, phi.conj())
    overlap = abs(np.vdot(psi, phi)) ** 2
    assert float(measures.fidelity(jnp.asarray(p), jnp.asarray(q))) == pytest.approx(overlap)
    sigma = random_dm(4)
    expected = np.real(psi.conj() @ sigma @ psi)
    assert float(measures.fidelity(jnp.asarray(p), jnp.asarray(sigma))) == pytest.approx(expected)
    assert float(measures.fidelity(jnp.asarray(sigma), jnp.asarray(p))) == pytest.approx(expected)
    rho = random_dm(4)
    assert float(measures.fidelity(jnp.asarray(rho), jnp.asarray(rho))) == pytest.approx(1.0)
    assert float(measures.fidelity(jnp.asarray(p), jnp.asarray(p))) == pytest.approx(1.0)
    value = measures.fidelity(jnp.asarray(rho), jnp.asarray(sigma))
    assert float(value) == pytest.approx(reference_fidelity(rho, sigma), rel=1e-10)
    swapped = measures.fidelity(jnp.asarray(sigma), jnp.asarray(rho))
    assert float(swapped) == pytest.approx(float(value), rel=1e-12)
    # Orthogonal supports.
    zero = measures.fidelity(jnp.diag(jnp.array([1.0, 0, 0])), jnp.diag(jnp.array([0, 0.5, 0.5])))
    assert abs(float(zero)) < 1e-14


def test_fidelity_gradient_vs_fd_full_rank():
    x = RNG.normal(size=2 * 2 * 3 * 3)

    def f(t):
        return measures.fidelity(dm_from_params(t[:18], 3, 3), dm_from_params(t[18:], 3, 3))

    assert_grad_matches_fd(f, x)


def test_fidelity_gradient_exact_for_pure_target():
    """F(ρ, |φ⟩⟨φ|) = ⟨φ|ρ|φ⟩ is linear in ρ: exact gradient for mixed and for pure ρ."""
    phi = random_ket(3)
    target = jnp.asarray(np.outer(phi, phi.conj()))
    for rank in (3, 1):
        x = RNG.normal(size=2 * 3 * rank)
        assert_grad_matches_fd(
            lambda t, r=rank: measures.fidelity(dm_from_params(t, 3, r), target), x
        )
        assert_grad_matches_fd(
            lambda t, r=rank: measures.fidelity(target, dm_from_params(t, 3, r)), x
        )
    # The matrix gradient is the linear functional itself, at a pure ρ too (jax.grad returns
    # the conjugate for complex inputs).
    pure = jnp.asarray(np.outer(psi := random_ket(3), psi.conj()))
    g_first = jax.grad(measures.fidelity, argnums=0)(pure, target)
    g_second = jax.grad(measures.fidelity, argnums=1)(target, pure)
    for g in (g_first, g_second):
        np.testing.assert_allclose(np.asarray(g), np.asarray(target).conj(), atol=1e-10)


def test_fidelity_gradient_finite_at_rank_deficient_and_orthogonal_states():
    psi, phi = random_ket(3), random_ket(3)
    cases = [
        (np.outer(psi, psi.conj()), np.outer(phi, phi.conj())),
        (np.diag([1.0, 0, 0]), np.diag([0, 1.0, 0])),  # orthogonal
        (np.diag([1.0, 0, 0]), np.eye(3) / 3),
        (np.eye(3) / 3, np.eye(3) / 3),
        (random_dm(3, 2), random_dm(3, 1)),
    ]
    for rho, sigma in cases:
        g = jax.grad(measures.fidelity, argnums=(0, 1))(jnp.asarray(rho), jnp.asarray(sigma))
        assert all(np.all(np.isfinite(np.asarray(x))) for x in g)


# ------------------------------------------------------------------------------------ expect


def test_expect():
    rho = random_dm(4)
    ops = np.stack([random_dm(4) * 3 + 1j * RNG.normal(size=(4, 4)) for _ in range(3)])
    value = measures.expect(jnp.asarray(ops[0]), jnp.asarray(rho))
    assert complex(value) == pytest.approx(np.trace(ops[0] @ rho))
    stacked = measures.expect(jnp.asarray(ops), jnp.asarray(rho))
    np.testing.assert_allclose(np.asarray(stacked), [np.trace(op @ rho) for op in ops])
    real_rho = measures.expect(jnp.asarray(ops[0]), jnp.eye(4) / 4)  # real ρ, complex op
    assert complex(real_rho) == pytest.approx(np.trace(ops[0]) / 4)
    with pytest.raises(ValueError, match="op"):
        measures.expect(jnp.eye(3), jnp.asarray(rho))


# ------------------------------------------------------------- partial trace and transpose


DIMS = (2, 3, 2)
KEEPS = [0, 1, 2, (0, 1), (0, 2), (1, 2), (2, 0), (0, 1, 2)]


@pytest.mark.parametrize("keep", KEEPS)
def test_partial_trace_matches_qutip(keep):
    rho = random_dm(12)
    expected = qutip.Qobj(rho, dims=[list(DIMS), list(DIMS)]).ptrace(keep).full()
    got = measures.partial_trace(jnp.asarray(rho), DIMS, keep)
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-14)


def test_partial_trace_non_square_and_full_trace():
    rho = random_dm(6)
    q = qutip.Qobj(rho, dims=[[3, 2], [3, 2]])
    np.testing.assert_allclose(
        np.asarray(measures.partial_trace(jnp.asarray(rho), (3, 2), 1)), q.ptrace(1).full()
    )
    total = measures.partial_trace(jnp.asarray(rho), (3, 2), ())
    np.testing.assert_allclose(np.asarray(total), [[1.0]], atol=1e-14)


@pytest.mark.parametrize("mask", [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)])
def test_partial_transpose_matches_qutip(mask):
    rho = random_dm(12)
    expected = qutip.partial_transpose(qutip.Qobj(rho, dims=[list(DIMS), list(DIMS)]), mask)
    sys = tuple(i for i, m in enumerate(mask) if m)
    got = measures.partial_transpose(jnp.asarray(rho), DIMS, sys)
    np.testing.assert_allclose(np.asarray(got), expected.full(), atol=1e-14)


def test_partial_trace_and_transpose_jit_vmap():
    batch = jnp.asarray(np.stack([random_dm(12) for _ in range(3)]))
    pt = jax.jit(jax.vmap(lambda r: measures.partial_trace(r, DIMS, (0, 2))))(batch)
    ptt = jax.jit(jax.vmap(lambda r: measures.partial_transpose(r, DIMS, 1)))(batch)
    for i in range(3):
        np.testing.assert_allclose(pt[i], measures.partial_trace(batch[i], DIMS, (0, 2)))
        np.testing.assert_allclose(ptt[i], measures.partial_transpose(batch[i], DIMS, 1))


def test_bad_dims_and_subsystems_are_rejected():
    rho = jnp.asarray(random_dm(6))
    with pytest.raises(ValueError, match="dims"):
        measures.partial_trace(rho, (2, 2), 0)
    with pytest.raises(ValueError, match="keep"):
        measures.partial_trace(rho, (2, 3), 2)
    with pytest.raises(ValueError, match="twice"):
        measures.partial_transpose(rho, (2, 3), (0, 0))
    with pytest.raises(TypeError, match="sys"):
        measures.partial_transpose(rho, (2, 3), "A")
    with pytest.raises(ValueError, match="square"):
        measures.purity(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="disjoint"):
        measures.mutual_information(rho, (2, 3), (0, (0, 1)))


# ---------------------------------------------------------------------- mutual information


def test_mutual_information_closed_forms():
    prod = np.kron(random_dm(2), random_dm(3))
    assert abs(float(measures.mutual_information(jnp.asarray(prod), (2, 3), (0, 1)))) < 1e-12
    value = measures.mutual_information(jnp.asarray(BELL), (2, 2), (0, 1))
    assert float(value) == pytest.approx(2 * np.log(2), rel=1e-12)
    classical = np.diag([0.5, 0, 0, 0.5]).astype(complex)
    value = measures.mutual_information(jnp.asarray(classical), (2, 2), (0, 1))
    assert float(value) == pytest.approx(np.log(2), rel=1e-12)
    rho = random_dm(12)
    q = qutip.Qobj(rho, dims=[list(DIMS), list(DIMS)])
    expected = (
        reference_entropy(q.ptrace(0).full())
        + reference_entropy(q.ptrace(2).full())
        - reference_entropy(q.ptrace([0, 2]).full())
    )
    value = measures.mutual_information(jnp.asarray(rho), DIMS, (2, 0))
    assert float(value) == pytest.approx(expected, rel=1e-10)


def test_mutual_information_gradient_vs_fd():
    x = RNG.normal(size=2 * 6 * 6)
    f = lambda t: measures.mutual_information(dm_from_params(t, 6, 6), (2, 3), (0, 1))  # noqa: E731
    assert_grad_matches_fd(f, x)


# --------------------------------------------------------------------------- jit and vmap


SCALAR_FUNCTIONS = {
    "purity": measures.purity,
    "entropy": measures.von_neumann_entropy,
    "fidelity": lambda r: measures.fidelity(r, jnp.asarray(BELL)),
    "fidelity_mixed": lambda r: measures.fidelity(jnp.eye(4, dtype=complex) / 4 * 0.5 + r / 2, r),
    "expect": lambda r: measures.expect(jnp.asarray(BELL), r),
    "mutual_information": lambda r: measures.mutual_information(r, (2, 2), (0, 1)),
}


@pytest.mark.parametrize("name", list(SCALAR_FUNCTIONS))
def test_jit_vmap_grad_over_a_batch(name):
    f = SCALAR_FUNCTIONS[name]
    states = [random_dm(4), random_dm(4, 1), BELL, np.eye(4) / 4 + 0j]
    batch = jnp.asarray(np.stack(states))
    batched = jax.jit(jax.vmap(f))(batch)
    np.testing.assert_allclose(np.asarray(batched), [np.asarray(f(r)) for r in batch], atol=1e-12)

    def real_f(r):
        return jnp.real(f(r))

    grads = jax.jit(jax.vmap(jax.grad(real_f)))(batch)
    assert np.all(np.isfinite(np.asarray(grads)))


def test_float32_inputs():
    """complex64 states: values agree with complex128 to float32 accuracy, gradients finite."""
    ops = measures.spin_operators(1.5)

    def wineland(r):
        same_dtype = [op.astype(r.dtype) for op in ops[:3]]
        return measures.wineland_squeezing_from_moments(*measures.spin_moments(r, same_dtype), 3)

    functions = [
        measures.purity,
        measures.von_neumann_entropy,
        lambda r: measures.fidelity(r, jnp.asarray(BELL).astype(r.dtype)),
        lambda r: measures.mutual_information(r, (2, 2), (0, 1)),
        measures.concurrence,
        measures.negativity,
        measures.log_negativity,
        measures.fully_entangled_fraction,
        measures.ghz_fidelity,
        wineland,
        lambda r: measures.quantum_fisher_information(r, ops[0].astype(r.dtype)),
    ]
    states = np.stack([random_dm(4), 0.9 * BELL + 0.1 * np.eye(4) / 4, BELL])
    single = jnp.asarray(states, dtype=jnp.complex64)
    for f in functions:
        values = jax.jit(jax.vmap(f))(single)
        assert values.dtype == jnp.float32
        reference = np.asarray(jax.jit(jax.vmap(f))(jnp.asarray(states)))
        # Where the value is a division by round-off (the Wineland parameter of a state with zero
        # mean spin: 1/0), only "huge or inf" is reproducible across precisions and jax versions.
        tame = np.abs(reference) < 1e6
        np.testing.assert_allclose(np.asarray(values)[tame], reference[tame], atol=2e-5)
        assert np.all(np.abs(np.asarray(values)[~tame]) > 1e6)
        assert np.all(np.isfinite(np.asarray(jax.jit(jax.vmap(jax.grad(f)))(single))))
