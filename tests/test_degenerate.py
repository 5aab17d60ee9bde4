"""Degenerate steady states on request (issue 13 §4): ``steady_state(L, rho0=ρ₀,
degenerate="project")`` returns the state reached from ρ₀, checked against closed forms and the
long-time propagator e^{ST}vec(ρ₀) of the independent NumPy superoperator (SciPy ``expm``),
with gradients against finite differences where the kernel dimension is constant; and the
user-set deflation weight."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from representations import null_space_state, superoperator

import qdiss

SM = np.array([[0, 0], [1, 0]], complex)  # σ⁻ = |1⟩⟨0|
SX = np.array([[0, 1], [1, 0]], complex)
SZ = np.diag([1.0, -1.0]).astype(complex)


def _random_state(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    rho = x @ x.conj().T
    return rho / np.trace(rho)


def _long_time(H, jumps, rho0, t=400.0):
    """e^{St}vec(ρ₀) for the NumPy superoperator, after checking that L has no purely imaginary
    eigenvalue besides 0 (so that the limit exists) and that t is long for the slowest mode."""
    S = superoperator(H, jumps)
    lam = np.linalg.eigvals(S)
    nonzero = lam[np.abs(lam) > 1e-9]
    assert np.all(nonzero.real < -0.05), "the long-time limit does not exist or is slow"
    n = H.shape[0]
    return (scipy.linalg.expm(S * t) @ rho0.reshape(-1)).reshape(n, n)


def _dicke_dimer(drive=0.5):
    """Two qubits, symmetric drive, collective decay: the singlet is dark and decoupled."""
    H = drive * (np.kron(SX, np.eye(2)) + np.kron(np.eye(2), SX))
    return H, [np.kron(SM, np.eye(2)) + np.kron(np.eye(2), SM)]


def _two_blocks(theta=(0.4, 0.7)):
    """Two decoupled driven, damped qubits (levels {0,1} and {2,3}): P_A = |0⟩⟨0| + |1⟩⟨1| is
    conserved; each block has its own steady state."""
    drive_a, drive_b = theta
    H = np.zeros((4, 4), complex)
    H[:2, :2] = drive_a * SX + 0.3 * SZ
    H[2:, 2:] = drive_b * SX - 0.2 * SZ
    a = np.zeros((4, 4), complex)
    a[:2, :2] = SM
    b = np.zeros((4, 4), complex)
    b[2:, 2:] = np.sqrt(0.6) * SM
    return H, [a, b]


def test_pure_dephasing_keeps_the_populations():
    """H = ωσᶻ, jump √γσᶻ: ker L is the diagonal matrices; ρ_∞ = diag ρ₀ (closed form)."""
    L = qdiss.Lindbladian(0.7 * SZ, [0.5 * SZ])
    rho0 = _random_state(2, 0)
    sol = qdiss.steady_state(L, rho0=rho0, degenerate="project")
    assert sol.status == "successful"
    assert int(sol.stats.kernel_dimension) == 2
    np.testing.assert_allclose(np.asarray(sol.rho), np.diag(np.diag(rho0)), atol=1e-14)
    assert sol.solver == "KernelProjection"


def test_closed_system_projects_onto_the_commutant():
    """No dissipation: ρ_∞ is the time average, ρ₀ dephased in the eigenbasis of H (closed
    form), instead of the refusal of the default."""
    H = np.diag([0.0, 1.0, 2.5]).astype(complex) + 0.3 * (np.eye(3, k=1) + np.eye(3, k=-1))
    rho0 = _random_state(3, 1)
    energies, U = np.linalg.eigh(H)
    expected = U @ np.diag(np.diag(U.conj().T @ rho0 @ U)) @ U.conj().T
    L = qdiss.Lindbladian(H, [])
    assert qdiss.steady_state(L, throw=False).status == "non_unique"
    sol = qdiss.steady_state(L, rho0=rho0, degenerate="project")
    assert int(sol.stats.kernel_dimension) == 3
    np.testing.assert_allclose(np.asarray(sol.rho), expected, atol=1e-12)


@pytest.mark.parametrize("model", [_dicke_dimer, _two_blocks], ids=["dicke-dimer", "two-blocks"])
def test_matches_the_long_time_propagator(model):
    H, jumps = model()
    L = qdiss.Lindbladian(H, jumps)
    assert qdiss.steady_state(L, throw=False).status == "non_unique"
    for seed in range(3):
        rho0 = _random_state(4, seed + 10)
        sol = qdiss.steady_state(L, rho0=rho0, degenerate="project")
        assert sol.status == "successful"
        np.testing.assert_allclose(np.asarray(sol.rho), _long_time(H, jumps, rho0), atol=1e-9)
    assert int(sol.stats.kernel_dimension) == 2


def test_matches_qutip_long_time_evolution():
    """QuTiP's own long-time evolution of the Dicke dimer from ρ₀ (qutip.mesolve, a reference
    independent of qdiss and of the NumPy superoperator)."""
    import qutip

    H, jumps = _dicke_dimer()
    rho0 = _random_state(4, 21)
    dims = [[2, 2], [2, 2]]
    result = qutip.mesolve(
        qutip.Qobj(H, dims=dims),
        qutip.Qobj(rho0, dims=dims),
        [0.0, 400.0],
        [qutip.Qobj(op, dims=dims) for op in jumps],
        options={"atol": 1e-12, "rtol": 1e-10, "nsteps": 100_000},
    )
    sol = qdiss.steady_state(
        qdiss.Lindbladian(H, jumps, dims=(2, 2)), rho0=rho0, degenerate="project"
    )
    assert (sol.to_qutip() - result.states[-1]).norm() < 1e-8


def test_two_blocks_closed_form():
    """ρ_∞ = tr(P_A ρ₀) ρ_A ⊕ tr(P_B ρ₀) ρ_B with each block's own (NumPy null-space) state."""
    H, jumps = _two_blocks()
    rho_a = null_space_state(H[:2, :2], [jumps[0][:2, :2]])
    rho_b = null_space_state(H[2:, 2:], [jumps[1][2:, 2:]])
    rho0 = _random_state(4, 5)
    p_a = np.trace(rho0[:2, :2]).real
    expected = np.zeros((4, 4), complex)
    expected[:2, :2] = p_a * rho_a
    expected[2:, 2:] = (1 - p_a) * rho_b
    sol = qdiss.steady_state(qdiss.Lindbladian(H, jumps), rho0=rho0, degenerate="project")
    np.testing.assert_allclose(np.asarray(sol.rho), expected, atol=1e-12)


def test_superoperator_and_sector_inputs():
    """The projection works on the unknowns of any representation: a bare superoperator and
    symmetry sectors (the parity of the two blocks' levels) give the same state."""
    H, jumps = _two_blocks()
    rho0 = _random_state(4, 6)
    expected = _long_time(H, jumps, rho0)
    sol = qdiss.steady_state(
        qdiss.Superoperator(superoperator(H, jumps)), rho0=rho0, degenerate="project"
    )
    np.testing.assert_allclose(np.asarray(sol.rho), expected, atol=1e-9)
    # block labels 0, 0, 1, 1 are conserved by H and both jumps: sector states are
    # block-diagonal in them, so ρ₀'s off-block part (which decays anyway) is dropped.
    sectors = qdiss.SectorLindbladian(qdiss.Lindbladian(H, jumps), [0, 0, 1, 1])
    sol = qdiss.steady_state(sectors, rho0=sectors.from_dense(rho0), degenerate="project")
    np.testing.assert_allclose(np.asarray(sectors.to_dense(sol.rho)), expected, atol=1e-9)


def _observable_after(theta, rho0, kernel_dim=2):
    drive_a = theta[0].astype(complex)
    drive_b = theta[1].astype(complex)
    H = jnp.zeros((4, 4), complex)
    H = H.at[:2, :2].set(drive_a * SX + 0.3 * SZ).at[2:, 2:].set(drive_b * SX - 0.2 * SZ)
    _, jumps = _two_blocks()
    L = qdiss.Lindbladian(H, jumps)
    sol = qdiss.steady_state(L, rho0=rho0, degenerate="project", kernel_dim=kernel_dim)
    observable = jnp.asarray(np.kron(SX, np.eye(2)) + np.kron(SZ, SZ))
    return jnp.real(jnp.trace(observable @ sol.rho))


def test_gradients_match_finite_differences():
    """d⟨O⟩/dθ (θ = the two blocks' drives, the kernel stays 2-dimensional) and d⟨O⟩/dρ₀ from
    the implicit rule against central differences of the long-time propagator's state."""
    rho0 = _random_state(4, 7)
    theta = jnp.array([0.4, 0.7])
    observable = np.kron(SX, np.eye(2)) + np.kron(SZ, SZ)

    def reference(t, r0):
        H, jumps = _two_blocks(t)
        return np.trace(observable @ _long_time(H, jumps, r0)).real

    np.testing.assert_allclose(
        float(_observable_after(theta, rho0)), reference(np.asarray(theta), rho0), atol=1e-9
    )
    h = 1e-5
    fd = [
        (reference(np.asarray(theta) + h * e, rho0) - reference(np.asarray(theta) - h * e, rho0))
        / (2 * h)
        for e in np.eye(2)
    ]
    grad = jax.grad(_observable_after)(theta, jnp.asarray(rho0))
    np.testing.assert_allclose(np.asarray(grad), fd, rtol=1e-5, atol=1e-8)
    # forward mode too, under jit
    jvp = jax.jit(lambda t: jax.jvp(lambda u: _observable_after(u, rho0), (t,), (jnp.eye(2)[0],)))
    np.testing.assert_allclose(float(jvp(theta)[1]), fd[0], rtol=1e-5, atol=1e-8)
    # ρ₀ enters linearly: a traceless Hermitian direction δ, ⟨O⟩ changes by ⟨O⟩(δ)
    delta = np.zeros((4, 4), complex)
    delta[0, 0], delta[2, 2], delta[0, 1], delta[1, 0] = 1, -1, 0.5j, -0.5j
    _, tangent = jax.jvp(lambda r: _observable_after(theta, r), (jnp.asarray(rho0),), (delta,))
    t0 = np.asarray(theta)
    expected = (reference(t0, rho0 + h * delta) - reference(t0, rho0 - h * delta)) / (2 * h)
    np.testing.assert_allclose(float(tangent), expected, rtol=1e-6, atol=1e-9)


def test_single_precision():
    """complex64 inputs: the rank tolerance scales with eps (1e3·eps), the projection agrees with
    the float64 propagator to float32 accuracy."""
    H, jumps = _dicke_dimer()
    L = qdiss.Lindbladian(H.astype(np.complex64), [op.astype(np.complex64) for op in jumps])
    rho0 = _random_state(4, 3)
    sol = qdiss.steady_state(L, rho0=rho0.astype(np.complex64), degenerate="project")
    assert sol.rho.dtype == jnp.complex64 and int(sol.stats.kernel_dimension) == 2
    np.testing.assert_allclose(np.asarray(sol.rho), _long_time(H, jumps, rho0), atol=1e-5)


def test_vmap_over_initial_states():
    H, jumps = _dicke_dimer()
    L = qdiss.Lindbladian(H, jumps)
    rho0s = np.stack([_random_state(4, s) for s in range(3)])
    sols = jax.vmap(
        lambda r: qdiss.steady_state(L, rho0=r, degenerate="project", kernel_dim=2).rho
    )(jnp.asarray(rho0s))
    for rho0, rho in zip(rho0s, sols, strict=True):
        np.testing.assert_allclose(np.asarray(rho), _long_time(H, jumps, rho0), atol=1e-9)


def test_wrong_or_missing_inputs_are_refused():
    H, jumps = _dicke_dimer()
    L = qdiss.Lindbladian(H, jumps)
    rho0 = _random_state(4, 0)
    with pytest.raises(ValueError, match="rho0"):
        qdiss.steady_state(L, degenerate="project")
    with pytest.raises(ValueError, match="leave `solver` out"):
        qdiss.steady_state(L, qdiss.Krylov(), rho0=rho0, degenerate="project")
    with pytest.raises(ValueError, match="`degenerate`"):
        qdiss.steady_state(L, rho0=rho0, degenerate="yes")
    with pytest.raises(ValueError, match="kernel_dim"):
        qdiss.steady_state(L, kernel_dim=2)
    with pytest.raises(ValueError, match="kernel_dim"):
        qdiss.steady_state(L, rho0=rho0, degenerate="project", kernel_dim=16)
    with pytest.raises(ValueError, match="kernel_dim="):  # traced, no kernel_dim given
        jax.jit(
            lambda h: (
                qdiss.steady_state(qdiss.Lindbladian(h, jumps), rho0=rho0, degenerate="project").rho
            )
        )(jnp.asarray(H))


def test_too_small_kernel_dim_is_reported_non_unique():
    H, jumps = _dicke_dimer()
    sol = qdiss.steady_state(
        qdiss.Lindbladian(H, jumps),
        rho0=_random_state(4, 0),
        degenerate="project",
        kernel_dim=1,
        throw=False,
    )
    assert sol.status == "non_unique"


def test_unique_steady_state_reports_kernel_dimension_one():
    H, jumps = _two_blocks()
    L = qdiss.Lindbladian(H[:2, :2], [jumps[0][:2, :2]])
    sol = qdiss.steady_state(L, qdiss.DenseLU())
    assert int(sol.stats.kernel_dimension) == 1
    # the projection from any ρ₀ is then the steady state itself
    projected = qdiss.steady_state(L, rho0=_random_state(2, 3), degenerate="project")
    assert int(projected.stats.kernel_dimension) == 1
    np.testing.assert_allclose(np.asarray(projected.rho), np.asarray(sol.rho), atol=1e-12)


# ------------------------------------------------------------------------------ deflation weight


@pytest.mark.parametrize(
    "solver", [qdiss.DenseLU(), qdiss.SparseLU(), qdiss.Krylov()], ids=lambda s: s.name
)
def test_answer_does_not_depend_on_the_deflation_weight(solver):
    H, jumps = _two_blocks()
    H, jumps = H[:2, :2] + 0.2 * SZ, [jumps[0][:2, :2], 0.3 * SM.T]
    reference = null_space_state(H, jumps)
    L = qdiss.Lindbladian(H, jumps)
    for weight in (1e-2, 1.0, 37.0):
        sol = qdiss.steady_state(L, solver, deflation_weight=weight)
        assert sol.status == "successful"
        np.testing.assert_allclose(np.asarray(sol.rho), reference, atol=1e-11)
    # the residual is measured against ‖L‖ whatever the weight
    small = qdiss.steady_state(L, solver, deflation_weight=1e-2).stats.residual
    assert float(small) < 1e-12


def test_deflation_weight_gradient_unchanged():
    """Derivatives do not depend on s either (the s-terms cancel since tr ρ = 1)."""

    def purity(drive, weight):
        H = drive.astype(complex) * jnp.asarray(SX) + 0.3 * jnp.asarray(SZ)
        L = qdiss.Lindbladian(H, [jnp.asarray(SM)])
        rho = qdiss.steady_state(L, qdiss.DenseLU(), deflation_weight=weight).rho
        return jnp.real(jnp.trace(rho @ rho))

    g1 = jax.grad(purity)(jnp.asarray(0.4), 0.05)
    g2 = jax.grad(purity)(jnp.asarray(0.4), 20.0)
    np.testing.assert_allclose(float(g1), float(g2), rtol=1e-10)


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_deflation_weight_is_refused(weight):
    L = qdiss.Lindbladian(SZ, [SM])
    with pytest.raises(ValueError, match="deflation_weight"):
        qdiss.steady_state(L, deflation_weight=weight)


def test_non_numeric_deflation_weight_is_refused():
    with pytest.raises(TypeError, match="must be a positive number or None"):
        qdiss.steady_state(qdiss.Lindbladian(SZ, [SM]), deflation_weight="large")


def test_readme_example_runs():
    """The README's degenerate-steady-state example runs and says what it claims."""
    import pathlib
    import re

    readme = pathlib.Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    (block,) = [b for b in blocks if 'degenerate="project"' in b]
    namespace: dict = {}
    with jax.numpy_dtype_promotion("standard"):
        exec(compile(block, str(readme), "exec"), namespace)
    sol = namespace["sol"]
    assert int(sol.stats.kernel_dimension) == 2
    assert abs(float(np.real(np.trace(np.asarray(sol.rho)[:2, :2]))) - 0.7) < 1e-12
    assert namespace["back"].dims == [[4], [4]]
    liouvillian = namespace["liouvillian"]
    assert qdiss.steady_state(liouvillian, throw=False).status == "non_unique"
