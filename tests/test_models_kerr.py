"""qdiss.models.kerr: two Kerr resonators with an entangled bath (Coppo et al., 2026 preprint),
against the Gaussian closed form, the Lyapunov equation, local thermal statistics, symmetries and
finite differences."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qdiss
from qdiss.models import kerr

LINEAR = dict(delta=0.4, G=0.25, kappa=1.0, r=0.2, phi=0.7)


@pytest.mark.parametrize(
    "params",
    [
        LINEAR,
        dict(delta=-0.3, G=0.4, kappa=0.8, r=0.6, phi=2.1),
        dict(delta=0, G=0, kappa=1, r=1, phi=0),
    ],
)
def test_closed_form_matches_lyapunov(params):
    """Two derivations: moment equations of c_± (qdiss.models.kerr) vs the (a, b) quadrature
    Lyapunov equation built from the jump operators."""
    closed = kerr.gaussian_collective_moments(**params)
    lyap = kerr.covariance_to_collective_moments(kerr.gaussian_covariance(**params))
    for x, y in zip(closed, lyap, strict=True):
        np.testing.assert_allclose(complex(x), complex(y), atol=1e-12)
    # The two collective modes really differ (opposite squeezing phases) when r, G ≠ 0.
    if params["r"] and params["G"]:
        assert abs(float(closed.n_plus) - float(closed.n_minus)) > 1e-3


def test_closed_form_bath_only():
    """G = 0: n_± = sinh² r and (κ + 2iΔ) m_± = ±κ e^{iφ} sinh r cosh r."""
    d, k, r, phi = 0.3, 1.2, 0.5, 0.4
    mom = kerr.gaussian_collective_moments(d, 0.0, k, r, phi)
    m = k * np.exp(1j * phi) * np.sinh(r) * np.cosh(r) / (k + 2j * d)
    np.testing.assert_allclose([float(mom.n_plus), float(mom.n_minus)], [np.sinh(r) ** 2] * 2)
    np.testing.assert_allclose([complex(mom.m_plus), complex(mom.m_minus)], [m, -m])


def test_threshold_is_where_the_drift_becomes_unstable():
    model = kerr.KerrPair(4, delta=0.6, U=0.0, G=0.0, kappa=1.0, r=0.3, phi=0.0)
    gc = float(model.threshold)
    np.testing.assert_allclose(gc, np.sqrt(0.36 + 0.25))
    for G, stable in ((0.98 * gc, True), (1.02 * gc, False)):
        drift, _ = kerr.gaussian_drift_diffusion(0.6, G, 1.0, 0.3, 0.0)
        assert (np.max(np.linalg.eigvals(drift).real) < 0) == stable


def test_linear_steady_state_converges_to_closed_form():
    """U = 0 below threshold: truncated steady state → closed form as the cutoff grows; the
    quadrature variances follow from the same moments."""
    closed = kerr.gaussian_collective_moments(**LINEAR)
    errors = []
    for cutoff, solver in ((6, qdiss.DenseLU()), (10, qdiss.Krylov())):
        L = kerr.KerrPair(cutoff, U=0.0, **LINEAR).lindbladian()
        assert L.dims == (cutoff, cutoff)
        # Small cutoffs on purpose (the truncation error is measured): no truncation flag.
        rho = qdiss.steady_state(L, solver, truncation_tol=float("inf")).rho
        mom = kerr.collective_moments(rho)
        errors.append(max(abs(complex(x) - complex(y)) for x, y in zip(mom, closed, strict=True)))
    # Truncation error: decreasing geometrically with the cutoff, small at the largest.
    assert errors[0] > 30 * errors[1]
    assert errors[1] < 1e-4
    cp, cm = kerr.collective_operators(10)
    for mode, n, m in ((cp, closed.n_plus, closed.m_plus), (cm, closed.n_minus, closed.m_minus)):
        var = kerr.quadrature_variances(rho, mode)
        n, m = float(n), complex(m)
        np.testing.assert_allclose(float(var["x"]), 0.5 + n + m.real, atol=3e-4)
        np.testing.assert_allclose(float(var["p"]), 0.5 + n - m.real, atol=3e-4)
        np.testing.assert_allclose(float(var["min"]), 0.5 + n - abs(m), atol=3e-4)
        np.testing.assert_allclose(float(var["max"]), 0.5 + n + abs(m), atol=3e-4)
    # The drive enhances the squeezing of one collective mode and degrades the other's.
    assert float(kerr.quadrature_variances(rho, cm)["min"]) < 0.3
    assert float(kerr.quadrature_variances(rho, cp)["min"]) > 0.4


def test_quadrature_variances_against_matrices():
    """Var X_θ from the formula vs ⟨X_θ²⟩ − ⟨X_θ⟩² computed directly, for a random state with a
    nonzero mean ⟨c⟩ on the lowest Fock levels of a larger space (where [c, c†] = 1 holds)."""
    rng = np.random.default_rng(1)
    psi = np.zeros(10, complex)
    psi[:4] = rng.normal(size=4) + 1j * rng.normal(size=4)
    rho = jnp.asarray(np.outer(psi, psi.conj()) / np.vdot(psi, psi))
    c = np.diag(np.sqrt(np.arange(1, 10.0)), 1)  # real: cast by the function
    var = kerr.quadrature_variances(rho, jnp.asarray(c))
    rho = np.asarray(rho)
    values = []
    for theta in np.linspace(0, np.pi, 181):
        x = (np.exp(-1j * theta) * c + np.exp(1j * theta) * c.conj().T) / np.sqrt(2)
        mean = np.trace(x @ rho).real
        values.append(np.trace(x @ x @ rho).real - mean**2)
    np.testing.assert_allclose(float(var["x"]), values[0], atol=1e-12)
    np.testing.assert_allclose(float(var["p"]), values[90], atol=1e-12)
    np.testing.assert_allclose(float(var["min"]), min(values), atol=1e-3)
    np.testing.assert_allclose(float(var["max"]), max(values), atol=1e-3)
    assert float(var["min"]) <= min(values) + 1e-12 and float(var["max"]) >= max(values) - 1e-12


def test_local_occupation_is_thermal_without_drive():
    """G = 0: H commutes with x†x, so ⟨x†x⟩ = sinh² r for any Δ, U (local thermal bath)."""
    r = 0.3
    model = kerr.KerrPair(6, delta=0.5, U=0.7, G=0.0, kappa=1.0, r=r, phi=1.1)
    rho = qdiss.steady_state(model.lindbladian(), qdiss.DenseLU(), truncation_tol=1e-4).rho
    local = kerr.local_moments(rho)
    # Truncation error ~ cutoff·(N/(N+1))^cutoff ≈ 3e-6 at cutoff 6.
    np.testing.assert_allclose(float(local["n_a"]), np.sinh(r) ** 2, atol=2e-5)
    np.testing.assert_allclose(float(local["n_b"]), np.sinh(r) ** 2, atol=2e-5)
    # ...but the two resonators are correlated: ⟨ab⟩ ≠ 0 while ⟨a²⟩ = 0.
    assert abs(complex(local["ab"])) > 0.05
    assert abs(complex(local["a2"])) < 1e-10


def test_swap_and_parity_symmetry():
    model = kerr.KerrPair(5, delta=0.3, U=0.8, G=0.9, kappa=1.0, r=0.4, phi=0.5, eta=0.2)
    L = model.lindbladian()  # a small cutoff: symmetries of the truncated model
    rho = np.asarray(qdiss.steady_state(L, qdiss.DenseLU(), truncation_tol=float("inf")).rho)
    n = 5
    swap = np.zeros((n * n, n * n))
    for i in range(n):
        for j in range(n):
            swap[j * n + i, i * n + j] = 1
    parity = np.diag([(-1.0) ** (i + j) for i in range(n) for j in range(n)])
    np.testing.assert_allclose(swap @ rho @ swap, rho, atol=1e-10)
    np.testing.assert_allclose(parity @ rho @ parity, rho, atol=1e-10)
    local = kerr.local_moments(jnp.asarray(rho))
    np.testing.assert_allclose(float(local["n_a"]), float(local["n_b"]), atol=1e-10)
    assert float(local["n_a"]) > 0.1


def _objective(model):  # small cutoffs: derivatives of the truncated model, no truncation flag
    L = model.lindbladian()
    rho = qdiss.steady_state(L, qdiss.DenseLU(), truncation_tol=float("inf")).rho
    mom = kerr.collective_moments(rho)
    return mom.n_minus + 0.5 * jnp.real(mom.m_plus) + 0.3 * jnp.imag(mom.m_minus)


def test_gradient_matches_finite_differences():
    model = kerr.KerrPair(4, delta=0.3, U=0.5, G=0.4, kappa=1.0, r=0.3, phi=0.6, eta=0.1)
    value_and_grad = jax.jit(jax.value_and_grad(_objective))  # one compilation for all calls
    grads = value_and_grad(model)[1]
    value = lambda m: value_and_grad(m)[0]  # noqa: E731
    h = 1e-5
    for name in ("r", "phi", "G", "delta", "U", "kappa", "eta"):
        x = getattr(model, name)
        plus = eqx.tree_at(lambda m, name=name: getattr(m, name), model, x + h)
        minus = eqx.tree_at(lambda m, name=name: getattr(m, name), model, x - h)
        fd = (float(value(plus)) - float(value(minus))) / (2 * h)
        np.testing.assert_allclose(float(getattr(grads, name)), fd, rtol=1e-5, atol=1e-8)
        if name in ("r", "phi", "G"):
            assert abs(fd) > 1e-3


def test_vmap_over_drive():
    Gs = jnp.array([0.1, 0.2, 0.3])

    def n_minus(G):
        model = kerr.KerrPair(4, delta=0.4, U=0.3, G=G, kappa=1.0, r=0.2, phi=0.7)
        L = model.lindbladian()  # cutoff 4: the truncated model, no truncation flag
        rho = qdiss.steady_state(L, qdiss.DenseLU(), truncation_tol=float("inf")).rho
        return kerr.collective_moments(rho).n_minus

    single = jax.jit(n_minus)
    batched = np.asarray(jax.jit(jax.vmap(n_minus))(Gs))
    np.testing.assert_allclose(batched, [float(single(G)) for G in Gs], atol=1e-12)
    assert np.all(np.diff(batched) != 0)


def test_thermodynamic_scaling():
    size = 4.0
    model = kerr.KerrPair.thermodynamic(size, 3, delta=-0.5, U0=2.0, G=1.5, kappa=1.0, r=0.1,
                                        phi=0.0, eta0=0.4)  # fmt: skip
    np.testing.assert_allclose(float(model.U), 0.5)
    np.testing.assert_allclose(float(model.eta), 0.1)
    np.testing.assert_allclose([float(model.G), float(model.delta)], [1.5, -0.5])
    # Mean-field fixed point: dβ/dt = −(iΔ + κ/2)β − i U₀|β|²β − η₀|β|²β − iGβ* = 0.
    density = float(kerr.mean_field_photon_density(-0.5, 2.0, 1.5, 1.0, 0.4))
    assert density > 0
    # Solve for the phase of β at that |β|²: (iΔ + κ/2 + (iU₀ + η₀)n) β = −iGβ*.
    coef = 1j * -0.5 + 0.5 + (2j + 0.4) * density
    psi = 0.5 * np.angle(-1j * 1.5 / coef)  # β = √n e^{iψ}: coef e^{iψ} = −iG e^{−iψ}
    beta = np.sqrt(density) * np.exp(1j * psi)
    rhs = -coef * beta - 1j * 1.5 * np.conj(beta)
    assert abs(rhs) < 1e-12
    # Below threshold without bistability: no nonzero solution.
    assert float(kerr.mean_field_photon_density(0.5, 2.0, 0.3, 1.0, 0.4)) == 0.0


def test_jump_operators_match_the_kossakowski_bath():
    """The two jump operators give the correlated dissipator D_K of
    ``qdiss.two_mode_squeezed_kossakowski`` over (a, b, a†, b†)."""
    model = kerr.KerrPair(3, delta=0.2, U=0.4, G=0.3, kappa=0.7, r=0.5, phi=1.2)
    a, b = kerr.mode_operators(3)
    K = qdiss.two_mode_squeezed_kossakowski(0.7, 0.5, 1.2)
    jumps = qdiss.correlated_dissipator_jumps(K, [a, b, a.conj().T, b.conj().T])
    reference = qdiss.Lindbladian(model.hamiltonian(), jumps)
    np.testing.assert_allclose(
        np.asarray(model.lindbladian().superoperator()),
        np.asarray(reference.superoperator()),
        atol=1e-12,
    )
