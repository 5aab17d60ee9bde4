"""qdiss.Evolve: time evolution to stationarity, checked against the linear-solve solvers, closed
forms and finite differences, plus its own failure modes (non-unique, not stationary)."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from problems import destroy, null_space_steady_state, random_lindbladian

import qdiss

CUTOFF = 15
PARAMS = (0.4, 0.6, 1.3)  # Δ, F, γ


def _cavity(params, cutoff=CUTOFF):
    delta, drive, gamma = params
    a = jnp.asarray(destroy(cutoff))
    ad = a.conj().T
    H = delta.astype(a.dtype) * ad @ a + drive.astype(a.dtype) * (a + ad)
    return qdiss.Lindbladian(H, [jnp.sqrt(gamma).astype(a.dtype) * a]), a


def _photons_and_rho(params):
    L, a = _cavity(params)
    rho = qdiss.steady_state(L, qdiss.Evolve()).rho
    return jnp.real(jnp.trace(a.conj().T @ a @ rho)), rho


def _photons(params):
    return _photons_and_rho(params)[0]


def _dicke_dimer(omega=1.0, gamma=1.0):
    sm = np.array([[0, 1], [0, 0]], complex)
    sx = np.array([[0, 1], [1, 0]], complex)
    eye = np.eye(2)
    H = omega * (np.kron(sx, eye) + np.kron(eye, sx)) / 2
    jump = np.sqrt(gamma) * (np.kron(sm, eye) + np.kron(eye, sm))
    return qdiss.Lindbladian(jnp.asarray(H), [jnp.asarray(jump)])


@pytest.mark.parametrize("n,k,seed", [(3, 1, 0), (6, 2, 4)])
def test_matches_dense_and_null_space(n, k, seed):
    L = random_lindbladian(n, k, seed)
    sol = qdiss.steady_state(L, qdiss.Evolve())
    assert sol.status == "successful"
    assert sol.solver == "Evolve"
    rho = np.asarray(sol.rho)
    dense = np.asarray(qdiss.steady_state(L, qdiss.DenseLU()).rho)
    np.testing.assert_allclose(rho, dense, atol=1e-9)
    np.testing.assert_allclose(rho, null_space_steady_state(L), atol=1e-9)
    assert float(sol.stats.residual) <= 1e-11
    assert 1 < int(sol.stats.num_steps) < 5000
    # The two trajectories give a finite condition and error estimate.
    assert 1 < float(sol.stats.condition_estimate) < 1e4
    assert float(sol.stats.error_estimate) < 1e-8


def _exact_photons_and_gradient(params):
    delta, drive, gamma = params
    denom = delta**2 + gamma**2 / 4
    grad = [
        -(drive**2) * 2 * delta / denom**2,
        2 * drive / denom,
        -(drive**2) * (gamma / 2) / denom**2,
    ]
    return drive**2 / denom, grad


def test_driven_damped_cavity_value_gradient_and_finite_differences():
    """⟨a†a⟩ = F²/(Δ² + γ²/4) (a coherent state: cutoff 15 is exact to ~1e-12) and its gradient
    in (Δ, F, γ), against the closed form and central differences of Evolve's own value."""
    params = jnp.array(PARAMS)
    exact, exact_grad = _exact_photons_and_gradient(PARAMS)
    solve = jax.jit(_photons_and_rho)
    value, rho = solve(params)
    assert float(value) == pytest.approx(exact, rel=1e-9)
    np.testing.assert_allclose(rho, null_space_steady_state(_cavity(params)[0]), atol=1e-9)

    grad = np.asarray(jax.grad(_photons)(params))
    np.testing.assert_allclose(grad, exact_grad, rtol=1e-8)
    # The implicit derivative is the derivative of what Evolve returns (the evolved state).
    # Step 1e-4: truncation error ~1e-8, value noise ~1e-12/step.
    step = 1e-4
    fd = [
        (float(solve(params + step * e)[0]) - float(solve(params - step * e)[0])) / (2 * step)
        for e in jnp.eye(3)
    ]
    np.testing.assert_allclose(grad, fd, rtol=1e-6)


def test_value_is_the_linear_solve_when_it_converges_and_derivative_is_implicit():
    """Issue 11: a loose stationarity tolerance leaves the evolved state with a visible residual,
    but the value returned is the warm-started linear solve's (when it converges), so it is
    exact; the derivative is the implicit one."""
    loose = qdiss.Evolve(stationarity_tol=1e-7)

    def photons(params):
        L, a = _cavity(params)
        sol = qdiss.steady_state(L, loose)
        return jnp.real(jnp.trace(a.conj().T @ a @ sol.rho)), sol.stats.residual

    (value, residual), grad = jax.value_and_grad(photons, has_aux=True)(jnp.array(PARAMS))
    exact, exact_grad = _exact_photons_and_gradient(PARAMS)
    assert float(residual) < 1e-11  # not the evolved state's ~1e-7 (seen: 6e-14 to 2.2e-13)
    assert float(value) == pytest.approx(exact, rel=1e-10)
    np.testing.assert_allclose(np.asarray(grad), exact_grad, rtol=1e-8)


def test_dicke_dimer_is_non_unique():
    L = _dicke_dimer()
    sol = qdiss.steady_state(L, qdiss.Evolve(), throw=False)
    assert sol.result == qdiss.RESULTS.non_unique
    with pytest.raises(eqx.EquinoxRuntimeError, match="not unique"):
        qdiss.steady_state(L, qdiss.Evolve(), throw=True)


def test_too_short_t_max_or_max_steps_is_not_stationary():
    L = random_lindbladian(4, 2, 3)
    short = qdiss.Evolve(t_max=0.05)
    sol = qdiss.steady_state(L, short, throw=False)
    assert sol.result == qdiss.RESULTS.not_stationary
    assert sol.status == "not_stationary"
    with pytest.raises(eqx.EquinoxRuntimeError, match="did not reach stationarity before"):
        qdiss.steady_state(L, short, throw=True)
    few_steps = qdiss.steady_state(L, qdiss.Evolve(max_steps=5), throw=False)
    assert few_steps.result == qdiss.RESULTS.not_stationary


def test_vmap_over_rho0_gives_the_same_state():
    L = random_lindbladian(4, 2, 3)
    rng = np.random.default_rng(1)
    psi = rng.normal(size=(2, 4)) + 1j * rng.normal(size=(2, 4))
    psi /= np.linalg.norm(psi, axis=1, keepdims=True)
    rho0s = jnp.asarray(np.einsum("bi,bj->bij", psi, psi.conj()))
    sols = jax.vmap(lambda r0: qdiss.steady_state(L, qdiss.Evolve(), rho0=r0))(rho0s)
    assert bool(jnp.all(sols.succeeded))
    rhos = np.asarray(sols.rho)
    np.testing.assert_allclose(rhos[0], rhos[1], atol=1e-10)
    np.testing.assert_allclose(rhos[0], null_space_steady_state(L), atol=1e-9)


def test_jit_vmap_over_parameters_and_float32():
    deltas = jnp.array([0.2, 0.4, -0.7])

    @jax.jit
    def photons32(delta):
        a = jnp.asarray(destroy(8), jnp.complex64)
        ad = a.conj().T
        H = delta.astype(a.dtype) * ad @ a + 0.5 * (a + ad)
        sol = qdiss.steady_state(qdiss.Lindbladian(H, [a]), qdiss.Evolve(), throw=False)
        return jnp.real(jnp.trace(ad @ a @ sol.rho)), sol.result

    values, results = jax.vmap(photons32)(deltas.astype(jnp.float32))
    assert bool(jnp.all(results == qdiss.RESULTS.successful))
    exact = 0.25 / (np.asarray(deltas) ** 2 + 0.25)
    np.testing.assert_allclose(np.asarray(values), exact, rtol=1e-3)
    assert values.dtype == jnp.float32


def test_other_ode_solver_and_invalid_fields():
    L = random_lindbladian(3, 1, 0)
    sol = qdiss.steady_state(L, qdiss.Evolve(ode_solver=diffrax.Tsit5()))
    np.testing.assert_allclose(np.asarray(sol.rho), null_space_steady_state(L), atol=1e-9)
    with pytest.raises(ValueError, match="`stationarity_tol` must be positive"):
        qdiss.Evolve(stationarity_tol=0.0)
    with pytest.raises(ValueError, match="`max_steps`"):
        qdiss.Evolve(max_steps=0)
    with pytest.raises(TypeError, match="diffrax solver"):
        qdiss.Evolve(ode_solver="tsit5")  # pyright: ignore[reportArgumentType]
