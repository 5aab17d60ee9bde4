"""The contract every representation in tests/representations.py must meet.

For a state ρ of the representation (random, padding zero) and the dense equivalent (H, L_k)
built independently with NumPy:

- mv: to_dense(L(ρ)) = L_dense(to_dense(ρ)); L(ρ) = S·ρ for the representation's dense and
  sparse superoperators on the unknowns; the padding stays zero;
- adjoint: ⟨A, L(B)⟩ = ⟨L†(A), B⟩ for ⟨X, Y⟩ = Σ conj(X) ⊙ Y over the state array (Σ_b tr(X_b†Y_b)
  over the blocks), and L†(W) = 0 for the trace weights W (L† is unital);
- trace and Hermiticity preservation: tr L(ρ) = 0, L(ρ†) = L(ρ)†;
- pack/unpack: to_physical ∘ from_physical = id on the unknowns, from_physical ∘ to_physical = id
  on states with zero padding, as many unknowns as counted independently;
- to/from dense: from_dense ∘ to_dense = id, tr to_dense(ρ) = tr ρ = Σ W ⊙ ρ, and the independent
  dense steady state is exactly representable and stationary under the representation's mv;
- the identity state E: tr E = 1, to_dense(E) Hermitian and positive semi-definite;
- norm_bound ≥ the largest singular value of the superoperator on the unknowns.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from representations import REPRESENTATIONS, adjoint_action, space, superoperator

REPRESENTATION_IDS = list(REPRESENTATIONS)


def _random_state(L, seed, hermitian=False):
    """A random complex state of ``L``'s representation with zero padding."""
    size = int(space(L).physical_indices().size)
    rng = np.random.default_rng(seed)
    v = jnp.asarray(rng.normal(size=size) + 1j * rng.normal(size=size), L.dtype)
    rho = space(L).from_physical(v)
    if hermitian:
        rho = 0.5 * (rho + jnp.swapaxes(rho, -1, -2).conj())
    return rho


def _dagger(x):
    return np.swapaxes(np.asarray(x), -1, -2).conj()


def _inner(x, y):
    """⟨X, Y⟩ = Σ conj(X) ⊙ Y over the whole state array."""
    return complex(np.vdot(np.asarray(x), np.asarray(y)))


def _setup(name):
    rep = REPRESENTATIONS[name]
    L = rep.make()
    H, ops = rep.dense(np.asarray(rep.theta0))
    return rep, L, H, ops


@pytest.mark.parametrize("name", REPRESENTATION_IDS)
def test_mv_matches_the_independent_dense_lindbladian(name):
    rep, L, H, ops = _setup(name)
    n = H.shape[0]
    assert L.n == n
    rho = _random_state(L, 0)
    dense = np.asarray(rep.to_dense(L, rho))
    expected = (superoperator(H, ops) @ dense.reshape(-1)).reshape(n, n)
    np.testing.assert_allclose(np.asarray(rep.to_dense(L, L.mv(rho))), expected, atol=1e-12)


@pytest.mark.parametrize("name", REPRESENTATION_IDS)
def test_mv_matches_superoperators_and_keeps_padding_zero(name):
    _, L, _, _ = _setup(name)
    sp_ = space(L)
    rho = _random_state(L, 1)
    out = L.mv(rho)
    x = np.asarray(sp_.to_physical(rho))
    y = np.asarray(sp_.to_physical(out))
    dense_s = np.asarray(L.superoperator())
    sparse_s = L.sparse_superoperator()
    assert dense_s.shape == sparse_s.shape == (x.size, x.size)
    np.testing.assert_allclose(dense_s @ x, y, atol=1e-12)
    np.testing.assert_allclose(sparse_s @ x, y, atol=1e-12)
    mask = sp_.padding_mask()
    if mask is not None:
        assert np.all(np.asarray(out)[mask] == 0)


def test_dense_superoperator_is_the_independent_one():
    rep, L, H, ops = _setup("dense")
    np.testing.assert_allclose(np.asarray(L.superoperator()), superoperator(H, ops), atol=1e-12)
    x = np.random.default_rng(2).normal(size=(H.shape[0],) * 2).astype(complex)
    np.testing.assert_allclose(np.asarray(L.adjoint_mv(jnp.asarray(x))), adjoint_action(H, ops, x))


@pytest.mark.parametrize("name", REPRESENTATION_IDS)
def test_adjoint_is_the_hilbert_schmidt_adjoint_and_unital(name):
    _, L, _, _ = _setup(name)
    a = _random_state(L, 3)
    b = _random_state(L, 4)
    lhs = _inner(a, L.mv(b))
    rhs = _inner(L.adjoint_mv(a), b)
    assert abs(lhs - rhs) <= 1e-12 * max(abs(lhs), 1.0)
    mask = space(L).padding_mask()
    adjoint = np.asarray(L.adjoint_mv(a))
    if mask is not None:
        assert np.all(adjoint[mask] == 0)
    weights = jnp.asarray(space(L).trace_weights(), L.dtype)
    np.testing.assert_allclose(np.asarray(L.adjoint_mv(weights)), 0, atol=1e-12)


@pytest.mark.parametrize("name", REPRESENTATION_IDS)
def test_trace_and_hermiticity_are_preserved(name):
    rep, L, _, _ = _setup(name)
    sp_ = space(L)
    rho = _random_state(L, 5)
    out = L.mv(rho)
    weights = np.asarray(sp_.trace_weights())
    scale = float(np.linalg.norm(np.asarray(out)))
    assert abs(complex(sp_.trace(out))) <= 1e-12 * scale
    assert abs(np.sum(weights * np.asarray(out))) <= 1e-12 * scale
    assert abs(np.trace(np.asarray(rep.to_dense(L, out)))) <= 1e-12 * scale
    np.testing.assert_allclose(
        np.asarray(L.mv(jnp.swapaxes(rho, -1, -2).conj())), _dagger(out), atol=1e-12
    )
    hermitian = _random_state(L, 6, hermitian=True)
    image = np.asarray(L.mv(hermitian))
    np.testing.assert_allclose(image, _dagger(image), atol=1e-12)


@pytest.mark.parametrize("name", REPRESENTATION_IDS)
def test_pack_unpack_round_trip(name):
    rep, L, _, _ = _setup(name)
    sp_ = space(L)
    assert sp_.physical_indices().size == rep.unknowns
    mask = sp_.padding_mask()
    size = int(np.prod(L.state_shape))
    assert size - (0 if mask is None else int(mask.sum())) == rep.unknowns
    rng = np.random.default_rng(7)
    v = jnp.asarray(rng.normal(size=rep.unknowns) + 1j * rng.normal(size=rep.unknowns))
    state = sp_.from_physical(v)
    assert state.shape == tuple(L.state_shape)
    np.testing.assert_array_equal(np.asarray(sp_.to_physical(state)), np.asarray(v))
    if mask is not None:
        assert np.all(np.asarray(state)[mask] == 0)
    rho = _random_state(L, 8)
    np.testing.assert_array_equal(
        np.asarray(sp_.from_physical(sp_.to_physical(rho))), np.asarray(rho)
    )


@pytest.mark.parametrize("name", REPRESENTATION_IDS)
def test_to_and_from_dense(name):
    rep, L, H, ops = _setup(name)
    sp_ = space(L)
    rho = _random_state(L, 9)
    dense = np.asarray(rep.to_dense(L, rho))
    assert dense.shape == (L.n, L.n)
    np.testing.assert_allclose(np.asarray(rep.from_dense(L, jnp.asarray(dense))), rho, atol=1e-12)
    trace = np.trace(dense)
    assert complex(sp_.trace(rho)) == pytest.approx(trace, abs=1e-12)
    assert np.sum(np.asarray(sp_.trace_weights()) * np.asarray(rho)) == pytest.approx(
        trace, abs=1e-12
    )
    hermitian = np.asarray(rep.to_dense(L, _random_state(L, 10, hermitian=True)))
    np.testing.assert_allclose(hermitian, hermitian.conj().T, atol=1e-12)

    # The independent dense steady state lies in the representation's subspace (block-diagonal,
    # permutation-invariant) and is stationary under the representation's own mv.
    reference = rep.reference()
    packed = rep.from_dense(L, jnp.asarray(reference))
    np.testing.assert_allclose(np.asarray(rep.to_dense(L, packed)), reference, atol=1e-12)
    assert float(jnp.linalg.norm(L.mv(packed))) <= 1e-12 * float(L.norm_bound())


@pytest.mark.parametrize("name", REPRESENTATION_IDS)
def test_identity_state(name):
    rep, L, _, _ = _setup(name)
    sp_ = space(L)
    e = jnp.asarray(sp_.identity_state(), L.dtype)
    assert e.shape == tuple(L.state_shape)
    assert complex(sp_.trace(e)) == pytest.approx(1.0, abs=1e-14)
    mask = sp_.padding_mask()
    if mask is not None:
        assert np.all(np.asarray(e)[mask] == 0)
    dense = np.asarray(rep.to_dense(L, e))
    np.testing.assert_allclose(dense, dense.conj().T, atol=1e-14)
    assert np.trace(dense) == pytest.approx(1.0, abs=1e-14)
    assert np.linalg.eigvalsh(dense)[0] >= -1e-14


@pytest.mark.parametrize("name", REPRESENTATION_IDS)
def test_norm_bound_bounds_the_superoperator(name):
    _, L, _, _ = _setup(name)
    largest = np.linalg.svd(np.asarray(L.superoperator()), compute_uv=False)[0]
    assert float(L.norm_bound()) >= largest * (1 - 1e-12)


@pytest.mark.parametrize("name", REPRESENTATION_IDS)
def test_registry_non_unique_example_has_two_steady_states(name):
    """The registry's failure example (used by the solver contract) has a null space of dimension
    ≥ 2 on the unknowns: the smallest two singular values of the superoperator vanish."""
    L = REPRESENTATIONS[name].non_unique()
    svals = np.linalg.svd(np.asarray(L.superoperator()), compute_uv=False)
    assert svals[-2] <= 1e-12 * svals[0]
