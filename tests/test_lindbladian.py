"""The Lindbladian pytree: input conversion, bad input, its actions against independent forms."""

from __future__ import annotations

import dynamiqs
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
from problems import destroy, random_lindbladian, random_lindbladian_arrays

import qdiss


def _explicit_superoperator(h, ls):
    """The row-major superoperator written term by term with numpy kron (module docstring)."""
    n = h.shape[0]
    eye = np.eye(n)
    out = -1j * (np.kron(h, eye) - np.kron(eye, h.T))
    for L in ls:
        k = L.conj().T @ L
        out += np.kron(L, L.conj()) - 0.5 * np.kron(k, eye) - 0.5 * np.kron(eye, k.T)
    return out


def test_superoperator_matches_explicit_kron_form_and_qutip():
    h, ls = random_lindbladian_arrays(4, 2, 0)
    L = qdiss.Lindbladian(jnp.asarray(h), jnp.asarray(ls))
    np.testing.assert_allclose(np.asarray(L.superoperator()), _explicit_superoperator(h, ls))
    # QuTiP stacks columns: its superoperator is ours conjugated by the vec-transpose permutation.
    q = qutip.liouvillian(qutip.Qobj(h), [qutip.Qobj(x) for x in ls]).full()
    n = 4
    perm = np.arange(n * n).reshape(n, n).T.reshape(-1)
    np.testing.assert_allclose(np.asarray(L.superoperator()), q[np.ix_(perm, perm)], atol=1e-13)
    np.testing.assert_allclose(L.sparse_superoperator().toarray(), _explicit_superoperator(h, ls))


def test_mv_and_adjoint_mv():
    L = random_lindbladian(5, 3, 1)
    rng = np.random.default_rng(1)
    rho = rng.normal(size=(5, 5)) + 1j * rng.normal(size=(5, 5))
    x = rng.normal(size=(5, 5)) + 1j * rng.normal(size=(5, 5))
    vec = np.asarray(L.superoperator()) @ rho.reshape(-1)
    np.testing.assert_allclose(np.asarray(L.mv(jnp.asarray(rho))).reshape(-1), vec, atol=1e-12)
    # Hilbert–Schmidt adjoint: tr(X† L(ρ)) = tr(L†(X)† ρ)
    lhs = np.trace(x.conj().T @ np.asarray(L.mv(jnp.asarray(rho))))
    rhs = np.trace(np.asarray(L.adjoint_mv(jnp.asarray(x))).conj().T @ rho)
    assert lhs == pytest.approx(rhs, rel=1e-12)
    # trace preservation: L†(I) = 0
    np.testing.assert_allclose(np.asarray(L.adjoint_mv(jnp.eye(5, dtype=complex))), 0, atol=1e-12)


def test_norm_bound_bounds_the_induced_norm():
    for seed in range(3):
        L = random_lindbladian(4, 2, seed)
        exact = np.linalg.norm(np.asarray(L.superoperator()), ord=2)
        bound = float(L.norm_bound())
        assert exact <= bound <= 4 * exact


def test_accepts_numpy_jax_lists_qutip_and_dynamiqs():
    a = destroy(3)
    h = a.conj().T @ a
    ref = qdiss.Lindbladian(jnp.asarray(h), jnp.asarray(a)[None])
    variants = [
        qdiss.Lindbladian(h, [a]),
        qdiss.Lindbladian(h, a[None]),
        qdiss.Lindbladian(h.tolist(), [a.tolist()]),
        qdiss.Lindbladian(qutip.Qobj(h), [qutip.Qobj(a)]),
        qdiss.Lindbladian(dynamiqs.asqarray(h), [dynamiqs.asqarray(a)]),
    ]
    for L in variants:
        np.testing.assert_array_equal(np.asarray(L.H), np.asarray(ref.H))
        np.testing.assert_array_equal(np.asarray(L.jump_ops), np.asarray(ref.jump_ops))
        assert L.jump_ops.shape == (1, 3, 3)


def test_dims_inferred_from_qutip_and_dynamiqs_and_validated():
    a = qutip.tensor(qutip.destroy(2), qutip.qeye(3))
    L = qdiss.Lindbladian(a.dag() * a, [a])
    assert L.dims == (2, 3)
    d = dynamiqs.tensor(dynamiqs.destroy(2), dynamiqs.eye(3))
    assert qdiss.Lindbladian(d.dag() @ d, [d]).dims == (2, 3)
    assert qdiss.Lindbladian(np.eye(6), [], dims=(3, 2)).dims == (3, 2)
    with pytest.raises(ValueError, match="`dims` must be positive subsystem sizes whose product"):
        qdiss.Lindbladian(np.eye(6), [], dims=(4, 2))


def test_closed_system_has_empty_jump_stack():
    L = qdiss.Lindbladian(np.diag([0.0, 1.0]), [])
    assert L.jump_ops.shape == (0, 2, 2)


def test_is_a_pytree_with_array_leaves_and_static_dims():
    L = random_lindbladian(3, 2, 0)
    leaves = jax.tree_util.tree_leaves(L)
    assert len(leaves) == 2
    assert {leaf.shape for leaf in leaves} == {(3, 3), (2, 3, 3)}
    doubled = jax.tree_util.tree_map(lambda x: 2 * x, L)
    np.testing.assert_allclose(np.asarray(doubled.H), 2 * np.asarray(L.H))


def test_grad_reaches_hamiltonian_and_jump_operators():
    L = random_lindbladian(3, 2, 0)
    rho = jnp.eye(3, dtype=complex) / 3

    def f(L):
        return jnp.real(jnp.sum(jnp.abs(L.mv(rho)) ** 2))

    g = jax.grad(f)(L)
    assert float(jnp.linalg.norm(g.jump_ops)) > 0
    assert g.H.shape == (3, 3)


@pytest.mark.parametrize(
    "h, jumps, error, match",
    [
        (np.ones((2, 3)), [], ValueError, r"`H` must be a square matrix .* got shape \(2, 3\)"),
        (np.ones(3), [], ValueError, r"`H` must be a square matrix"),
        (np.eye(2), [np.eye(3)], ValueError, r"`jump_ops` must be a list of \(n, n\) operators"),
        (np.eye(2), np.ones((2, 2, 3)), ValueError, r"`jump_ops` must be a list of \(n, n\)"),
        (np.eye(2), [np.eye(2), np.eye(3)], ValueError, r"`jump_ops` must all have the same shape"),
        (np.array([[0, 1], [0, 0]]), [], ValueError, r"`H` must be Hermitian"),
        (np.array([[np.nan, 0], [0, 0]]), [], ValueError, r"`H` has non-finite"),
        (np.eye(2), [np.array([[np.inf, 0], [0, 0]])], ValueError, r"`jump_ops` has non-finite"),
        ("H", [], TypeError, r"`H` must be an array, a dynamiqs QArray or a QuTiP Qobj"),
        (np.eye(2), [object()], TypeError, r"`jump_ops\[0\]` must be an array"),
        (np.array([[True, False], [False, True]]), [], TypeError, r"`H` must hold numbers"),
    ],
)
def test_bad_input_raises_clear_errors(h, jumps, error, match):
    with pytest.raises(error, match=match):
        qdiss.Lindbladian(h, jumps)


def test_non_hermitian_h_under_jit_is_caught_at_run_time():
    """A traced H is not checked at construction (that would abort a whole vmap batch); the
    solve reports it (RESULTS.not_hermitian) and raises with throw=True."""
    h = jnp.array([[0.0, 1.0], [0.0, 0.0]], dtype=complex)

    @eqx.filter_jit
    def build(h):
        return qdiss.steady_state(qdiss.Lindbladian(h, [h.T]), qdiss.DenseLU()).rho

    with pytest.raises(eqx.EquinoxRuntimeError, match="`H` must be Hermitian"):
        jax.block_until_ready(build(h))


def test_steady_state_rejects_bad_arguments():
    L = random_lindbladian(3, 1, 0)
    with pytest.raises(TypeError, match="`lindbladian` must be a qdiss Lindbladian"):
        qdiss.steady_state(np.eye(3))
    with pytest.raises(TypeError, match="`solver` must be a qdiss steady-state solver"):
        qdiss.steady_state(L, "direct")
    with pytest.raises(ValueError, match=r"`rho0` must have shape \(n, n\) = \(3, 3\)"):
        qdiss.steady_state(L, qdiss.Krylov(), rho0=np.eye(2))
    with pytest.raises(ValueError, match="`preconditioner` must be 'hermitian', 'heff', 'ilu'"):
        qdiss.Krylov(preconditioner="jacobi")
