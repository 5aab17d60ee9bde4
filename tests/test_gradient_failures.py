"""Issue 11, item 3: ``throw=False`` holds for derivatives too (``qdiss._adjoint``).

A failed forward solve keeps its code and has NaN derivatives; a failed derivative solve gives
NaN, never an exception; float32 gradients through Krylov work (checked against float64 finite
differences).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qdiss


def _cavity(params, n=8, dtype=jnp.complex128):
    """Driven Kerr cavity H = Δa†a + U a†²a² + F(a + a†), L = √γ a; params = (Δ, F, γ)."""
    a = jnp.diag(jnp.sqrt(jnp.arange(1.0, n)), 1).astype(dtype)
    ad = a.conj().T
    delta, drive, gamma = (p.astype(dtype) for p in params)
    H = delta * ad @ a + 0.2 * ad @ ad @ a @ a + drive * (a + ad)
    return qdiss.Lindbladian(H, [jnp.sqrt(gamma) * a]), ad @ a


def _photons(params, solver, dtype=jnp.complex128):
    lindbladian, number = _cavity(params, dtype=dtype)
    sol = qdiss.steady_state(lindbladian, solver, throw=False)
    return jnp.real(jnp.trace(number @ sol.rho)), sol.result


def _central_differences(f, p, eps=1e-6):
    return np.array([(f(p + eps * e) - f(p - eps * e)) / (2 * eps) for e in np.eye(p.size)])


P = jnp.array([0.4, 0.3, 1.3])


@pytest.mark.parametrize(
    "solver",
    [qdiss.Krylov(max_steps=1, restart=2), qdiss.Evolve(max_steps=3)],
    ids=["Krylov-one-cycle", "Evolve-three-steps"],
)
def test_failed_forward_solve_gives_nan_gradient_not_an_exception(solver):
    value, result = _photons(P, solver)
    assert result != qdiss.RESULTS.successful
    grad, _ = jax.grad(_photons, has_aux=True)(P, solver)
    assert np.all(np.isnan(np.asarray(grad)))
    tangent = jax.jvp(lambda p: _photons(p, solver)[0], (P,), (jnp.ones(3),))[1]
    assert np.isnan(float(tangent))


def test_non_unique_steady_state_has_nan_gradient_under_throw_false():
    """A closed system: every solver refuses it; its derivative is NaN, not a finite guess."""

    def f(p):
        a = jnp.diag(jnp.sqrt(jnp.arange(1.0, 4)), 1).astype(jnp.complex128)
        H = p.astype(jnp.complex128) * (a.conj().T @ a)
        sol = qdiss.steady_state(qdiss.Lindbladian(H, [0.0 * a]), qdiss.DenseLU(), throw=False)
        return jnp.real(sol.rho[0, 0]), sol.result

    (_, result), grad = jax.value_and_grad(f, has_aux=True)(jnp.asarray(0.7))
    assert result != qdiss.RESULTS.successful
    assert np.isnan(float(grad))


def test_failed_derivative_solve_gives_nan_not_an_exception():
    """The forward solve is warm-started at the answer (it succeeds at once); the transposed
    solve, which has no warm start and a one-cycle budget, fails: NaN gradient, forward code
    kept (lineax raised here, whatever `throw` said)."""
    exact = qdiss.steady_state(_cavity(P)[0], qdiss.DenseLU()).rho
    solver = qdiss.Krylov(max_steps=1, restart=2, check_uniqueness=False)

    def f(p):
        lindbladian, number = _cavity(p)
        sol = qdiss.steady_state(lindbladian, solver, rho0=exact, throw=False)
        return jnp.real(jnp.trace(number @ sol.rho)), sol.result

    (value, result), grad = jax.value_and_grad(f, has_aux=True)(P)
    assert result == qdiss.RESULTS.successful
    assert np.isfinite(float(value))
    assert np.all(np.isnan(np.asarray(grad)))


@pytest.mark.parametrize("solver", [qdiss.DenseLU(), qdiss.Krylov(), qdiss.SparseLU()])
def test_gradients_match_finite_differences(solver):
    grad = jax.grad(lambda p: _photons(p, solver)[0])(P)
    fd = _central_differences(lambda p: float(_photons(p, qdiss.DenseLU())[0]), np.asarray(P))
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    jac = jax.jacfwd(lambda p: _photons(p, solver)[0])(P)
    np.testing.assert_allclose(jac, fd, rtol=1e-6, atol=1e-8)


def test_float32_gradient_through_krylov_matches_float64_finite_differences():
    """README promises float32 gradients; the backward GMRES raised 'stagnation' before."""
    p32 = P.astype(jnp.float32)
    value, result = _photons(p32, qdiss.Krylov(), dtype=jnp.complex64)
    assert result == qdiss.RESULTS.successful
    grad = jax.grad(lambda p: _photons(p, qdiss.Krylov(), dtype=jnp.complex64)[0])(p32)
    fd = _central_differences(lambda p: float(_photons(p, qdiss.DenseLU())[0]), np.asarray(P))
    np.testing.assert_allclose(np.asarray(grad, np.float64), fd, rtol=2e-3, atol=2e-4)


def test_vmapped_gradient_keeps_good_points_finite():
    """One failing point in a vmapped batch does not stop the batch: per-point gradients of
    the good points stay finite (and right), the failed point's gradient is NaN."""
    gammas = jnp.array([1.3, 0.0, 0.9])  # the middle point is a closed system: non-unique

    def per_point(delta, gamma):
        return _photons(jnp.stack([delta, jnp.asarray(0.3), gamma]), qdiss.DenseLU())

    grad_fn = jax.vmap(jax.value_and_grad(per_point, has_aux=True), in_axes=(None, 0))
    (values, results), grads = grad_fn(jnp.asarray(0.4), gammas)
    ok = np.asarray(results == qdiss.RESULTS.successful)
    assert ok.tolist() == [True, False, True]
    assert np.isnan(np.asarray(grads)[1])
    for i in (0, 2):
        fd = _central_differences(
            lambda d, g=float(gammas[i]): float(per_point(jnp.asarray(d[0]), g)[0]),
            np.array([0.4]),
        )
        np.testing.assert_allclose(grads[i], fd[0], rtol=1e-6)
