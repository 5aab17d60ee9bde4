"""PermutationInvariantLindbladian: its action and steady states against the full 2^N Lindbladian
(NumPy, built here from Kronecker products), every solver, gradients against finite differences
of the full-space reference, jit/vmap, PIQS, the collective-only (Dicke) case against the exact
Puri–Lawande state, and the Holstein–Primakoff limit of the XYZ model at large N."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

import qdiss
from qdiss._lindbladian.permutation._dicke import coupled_basis, multiplicities, num_unknowns
from qdiss._lindbladian.permutation.lindbladian import (
    PermutationInvariantLindbladian as PI,
    dicke_lindbladian,
    pi_from_dense,
    pi_to_dense,
)
from qdiss._lindbladian.permutation.measures import (
    pi_excited_population,
    pi_kitagawa_ueda_squeezing,
    pi_pair_correlation,
    pi_spin_moments,
    pi_wineland_squeezing,
    pi_zz_correlation,
)

RATES = (
    "emission",
    "pumping",
    "dephasing",
    "collective_emission",
    "collective_pumping",
    "collective_dephasing",
)

# --------------------------------------------------------------------- full-space reference (NumPy)

SM = np.array([[0, 0], [1, 0]], complex)  # σ⁻ = |g⟩⟨e|, |e⟩ = index 0
SZ = np.diag([1.0, -1.0]).astype(complex)


def _site(op, i, n):
    return np.kron(np.kron(np.eye(2**i), op), np.eye(2 ** (n - i - 1)))


def _collective(n):
    sp = sum(_site(SM.T, i, n) for i in range(n))
    sz = sum(_site(SZ, i, n) for i in range(n)) / 2
    return (sp + sp.T) / 2, (sp - sp.T) / 2j, sz


def full_arrays(n, params):
    """H and jump operators on (C²)^{⊗N} for the parameters of a PI Lindbladian."""
    J = _collective(n)
    h = np.asarray(params["linear"])
    q = np.asarray(params["quadratic"])
    H = sum(h[a] * J[a] for a in range(3))
    H = H + sum(q[a, b] * (J[a] @ J[b] + J[b] @ J[a]) / 2 for a in range(3) for b in range(3))
    jp = J[0] + 1j * J[1]
    ops = []
    for i in range(n):
        ops.append(np.sqrt(params["emission"]) * _site(SM, i, n))
        ops.append(np.sqrt(params["pumping"]) * _site(SM.T, i, n))
        ops.append(np.sqrt(params["dephasing"]) * _site(SZ, i, n))
    ops.append(np.sqrt(params["collective_emission"]) * jp.conj().T)
    ops.append(np.sqrt(params["collective_pumping"]) * jp)
    ops.append(np.sqrt(params["collective_dephasing"]) * J[2])
    return H, ops


def full_action(H, ops, rho):
    """L(ρ) = −i[H, ρ] + Σ_k (L_k ρ L_k† − ½{L_k†L_k, ρ}) on a 2^N × 2^N matrix."""
    out = -1j * (H @ rho - rho @ H)
    for L in ops:
        k = L.conj().T @ L
        out += L @ rho @ L.conj().T - 0.5 * (k @ rho + rho @ k)
    return out


def full_steady_state(n, params):
    """Steady state of the full Lindbladian: the solution of S vec(ρ) = 0 with tr ρ = 1, from a
    sparse LU (SciPy) of the 4^N × 4^N superoperator with its first row replaced by the trace."""
    H, ops = full_arrays(n, params)
    dim = 2**n
    eye = sp.identity(dim, format="csr")
    Hs = sp.csr_matrix(H)
    s_op = -1j * (sp.kron(Hs, eye) - sp.kron(eye, Hs.T))
    for L in ops:
        Ls = sp.csr_matrix(L)
        k = Ls.conj().T @ Ls
        s_op = s_op + sp.kron(Ls, Ls.conj()) - 0.5 * (sp.kron(k, eye) + sp.kron(eye, k.T))
    s_op = sp.lil_matrix(s_op)
    s_op[0, :] = np.eye(dim).reshape(1, -1)
    rhs = np.zeros(dim * dim, complex)
    rhs[0] = 1
    rho = spsolve(sp.csc_matrix(s_op), rhs).reshape(dim, dim)
    return (rho + rho.conj().T) / 2


def random_params(seed, **overrides):
    rng = np.random.default_rng(seed)
    params = dict(linear=rng.normal(size=3), quadratic=rng.normal(size=(3, 3)))
    for name in RATES:
        params[name] = float(rng.uniform(0.2, 1.0))
    params.update(overrides)
    return params


def make(n, params):
    return PI(n, **{k: jnp.asarray(v) for k, v in params.items()})


def _random_state(lind, seed):
    rng = np.random.default_rng(seed)
    shape = lind.state_shape
    x = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    return jnp.asarray(np.where(lind.padding_mask(), 0, x))


# ------------------------------------------------------------------------------- representation


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_dicke_tables(n):
    d = multiplicities(n)
    js = [n / 2 - b for b in range(n // 2 + 1)]
    assert sum(dj * (2 * j + 1) for dj, j in zip(d, js, strict=True)) == 2**n
    assert num_unknowns(n) == sum(int(2 * j + 1) ** 2 for j in js)
    # the coupled basis is orthonormal and complete, and J² = j(j+1) on block j
    vectors = np.concatenate(
        [v.transpose(1, 0, 2).reshape(2**n, -1) for v in coupled_basis(n)], axis=1
    )
    np.testing.assert_allclose(vectors.T @ vectors, np.eye(2**n), atol=1e-12)
    J = _collective(n)
    j2 = sum(op @ op for op in J)
    for b, v in enumerate(coupled_basis(n)):
        j = n / 2 - b
        for alpha in range(v.shape[0]):
            np.testing.assert_allclose(j2 @ v[alpha], j * (j + 1) * v[alpha], atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6])
def test_action_matches_full_lindbladian(n):
    """to_dense(L_PI(X)) = L_full(to_dense(X)) for random blocks X and random couplings/rates."""
    params = random_params(n)
    lind = make(n, params)
    x = _random_state(lind, n)
    lhs = np.asarray(pi_to_dense(lind.mv(x)))
    rhs = full_action(*full_arrays(n, params), np.asarray(pi_to_dense(x)))
    np.testing.assert_allclose(lhs, rhs, atol=1e-11 * np.abs(rhs).max())
    # the padding stays exactly zero; pi_from_dense inverts pi_to_dense
    assert np.all(np.asarray(lind.mv(x))[lind.padding_mask()] == 0)
    np.testing.assert_allclose(pi_from_dense(pi_to_dense(x), n), x, atol=1e-12)
    assert complex(lind.trace(x)) == pytest.approx(np.trace(np.asarray(pi_to_dense(x))))


def test_superoperators_adjoint_and_norm_bound():
    n = 5
    lind = make(n, random_params(11))
    dense = np.asarray(lind.superoperator())
    assert dense.shape == (num_unknowns(n),) * 2
    np.testing.assert_allclose(lind.sparse_superoperator().toarray(), dense, atol=1e-13)
    x = _random_state(lind, 1)
    np.testing.assert_allclose(
        dense @ np.asarray(lind.to_physical(x)), np.asarray(lind.to_physical(lind.mv(x)))
    )
    y = _random_state(lind, 2)
    lhs = jnp.vdot(y, lind.mv(x))
    rhs = jnp.vdot(lind.adjoint_mv(y), x)
    assert complex(lhs) == pytest.approx(complex(rhs), rel=1e-12)
    identity = jnp.asarray(lind.trace_weights(), lind.dtype)  # L†(1) = 0: trace preserved
    np.testing.assert_allclose(np.asarray(lind.adjoint_mv(identity)), 0, atol=1e-11)
    exact = np.linalg.norm(dense, ord=2)
    assert exact <= float(lind.norm_bound()) <= 5 * exact


def test_effective_hamiltonian_blocks():
    """H_eff,j = H_j − (i/2)K_j: its Hermitian part is the full H restricted to each block."""
    n = 4
    params = random_params(5)
    lind = make(n, params)
    H, ops = full_arrays(n, params)
    K = sum(op.conj().T @ op for op in ops)
    heff = np.asarray(lind.effective_hamiltonian())
    for b, v in enumerate(coupled_basis(n)):
        s = slice(b, n + 1 - b)
        np.testing.assert_allclose(heff[b, s, s], v[0].T @ (H - 0.5j * K) @ v[0], atol=1e-12)


@pytest.mark.parametrize("dephasing,pumping", [(0.0, 0.0), (0.4, 0.0), (0.0, 0.7), (0.4, 0.7)])
def test_sweep_preconditioner(dephasing, pumping):
    """P P⁻¹ = 1 for every branch (tridiagonal solves or not, backward sweep or not), and P⁻¹ is
    the exact inverse of L₀ − σ (padding: s) when there is no pumping and H keeps m."""
    from qdiss._lindbladian.permutation.preconditioner import SweepPreconditioner

    n = 5
    lind = PI(
        n,
        linear=jnp.array([0.0, 0.0, 0.3]),
        quadratic=jnp.diag(jnp.array([0.2, 0.2, 0.5])),  # J_x² + J_y² = J² − J_z²: keeps m
        emission=1.0,
        pumping=pumping,
        dephasing=dephasing,
        collective_emission=0.3,
        collective_pumping=0.5 * pumping,
        collective_dephasing=0.2,
    )
    scale = 7.0
    precond = SweepPreconditioner.build(lind, 1e-3, jnp.asarray(scale))
    x = _random_state(lind, 0) + jnp.where(lind.padding_mask(), 1.0, 0.0)
    np.testing.assert_allclose(precond.apply(precond.apply_inverse(x)), x, atol=1e-13)
    z = precond.apply_inverse(x)
    sigma = 1e-3 * float(jnp.max(lind.loss_diagonal()))
    a_z = jnp.where(lind.padding_mask(), scale * z, lind.mv(z) - sigma * z)
    if pumping == 0:
        np.testing.assert_allclose(a_z, x, atol=1e-12)
    else:
        assert float(jnp.max(jnp.abs(a_z - x))) > 1e-3  # an approximation, not the inverse


def test_restarted_gmres():
    """The GMRES of the Krylov solver on a random complex system, with restarts: solution,
    transposed solve (reverse mode) and the failure codes."""
    import lineax as lx

    from qdiss._solver._gmres import RestartedGMRES

    rng = np.random.default_rng(0)
    m = 30
    a = np.eye(m) * 3 + (rng.normal(size=(m, m)) + 1j * rng.normal(size=(m, m))) / np.sqrt(m)
    b = rng.normal(size=m) + 1j * rng.normal(size=m)
    op = lx.MatrixLinearOperator(jnp.asarray(a))
    solver = RestartedGMRES(rtol=1e-12, atol=0.0, restart=5, max_steps=100)
    sol = lx.linear_solve(op, jnp.asarray(b), solver)
    np.testing.assert_allclose(sol.value, np.linalg.solve(a, b), atol=1e-10)
    assert int(sol.stats["num_cycles"]) > 1
    grad = jax.grad(lambda bb: jnp.real(jnp.sum(lx.linear_solve(op, bb, solver).value)))(
        jnp.asarray(b)
    )
    reference = jax.grad(lambda bb: jnp.real(jnp.sum(jnp.linalg.solve(jnp.asarray(a), bb))))
    np.testing.assert_allclose(grad, reference(jnp.asarray(b)), atol=1e-10)
    short = RestartedGMRES(rtol=1e-12, atol=0.0, restart=2, max_steps=2)
    result = lx.linear_solve(op, jnp.asarray(b), short, throw=False).result
    assert result == lx.RESULTS.max_steps_reached


# ------------------------------------------------------------------------------- steady states

SOLVERS = {
    "dense": qdiss.DenseLU(),
    "sparse": qdiss.SparseLU(),
    "krylov": qdiss.Krylov(),
    "krylov-hermitian+sweep": qdiss.Krylov(preconditioner="hermitian+sweep"),
    "evolve": qdiss.Evolve(),
}


@pytest.mark.parametrize("n,seed", [(2, 0), (3, 1), (5, 2), (6, 3)])
def test_dense_lu_matches_full_space(n, seed):
    params = random_params(seed)
    sol = qdiss.steady_state(make(n, params), qdiss.DenseLU())
    assert sol.succeeded
    assert sol.rho.shape == (n // 2 + 1, n + 1, n + 1)
    rho = pi_to_dense(np.asarray(sol.rho))
    if n <= 5:
        np.testing.assert_allclose(rho, full_steady_state(n, params), atol=1e-10)
    else:
        # A full 4⁶ × 4⁶ LU takes minutes: check instead that ρ mapped back is stationary for
        # the full Lindbladian (unique steady state: local decay is present), to 1e-10 of ‖L‖.
        H, ops = full_arrays(n, params)
        scale = np.linalg.norm(H, 2) + sum(np.linalg.norm(op, 2) ** 2 for op in ops)
        assert np.linalg.norm(full_action(H, ops, rho)) < 1e-10 * scale
        assert np.trace(rho).real == pytest.approx(1, abs=1e-12)
        assert np.linalg.eigvalsh(rho).min() > -1e-12
    assert float(sol.stats.residual) < 1e-12
    assert abs(float(sol.stats.trace_error)) < 1e-12


@pytest.mark.parametrize("name", list(SOLVERS))
def test_every_solver_matches_full_space(name):
    n = 4
    params = random_params(7)
    sol = qdiss.steady_state(make(n, params), SOLVERS[name])
    assert sol.succeeded, sol.message
    rho = np.asarray(sol.rho)
    np.testing.assert_allclose(pi_to_dense(rho), full_steady_state(n, params), atol=1e-9)
    assert np.all(rho[make(n, params).padding_mask()] == 0)
    np.testing.assert_allclose(rho, np.conj(np.swapaxes(rho, -1, -2)), atol=1e-14)
    min_eig = min(
        np.linalg.eigvalsh(rho[b, b : n + 1 - b, b : n + 1 - b]).min() for b in range(n // 2 + 1)
    )
    assert float(sol.stats.min_eigenvalue) == pytest.approx(min_eig, abs=1e-12)
    assert "state shape" in str(sol)


def test_collective_only_is_not_unique():
    """Without local processes every total-spin block keeps its own steady state."""
    lind = PI(4, linear=jnp.array([1.0, 0.0, 0.0]), collective_emission=1.0)
    for solver in (qdiss.DenseLU(), qdiss.Krylov()):
        sol = qdiss.steady_state(lind, solver, throw=False)
        assert sol.result == qdiss.RESULTS.non_unique


def test_observables_match_full_space():
    n = 5
    params = random_params(3)
    rho = qdiss.steady_state(make(n, params), qdiss.DenseLU()).rho
    full = full_steady_state(n, params)
    J = _collective(n)
    mean = np.array([np.trace(op @ full).real for op in J])
    second = np.array([[np.trace((a @ b + b @ a) @ full).real / 2 for b in J] for a in J])
    cov = second - np.outer(mean, mean)
    got_mean, got_cov = pi_spin_moments(rho)
    np.testing.assert_allclose(got_mean, mean, atol=1e-12)
    np.testing.assert_allclose(got_cov, cov, atol=1e-12)
    # squeezing: minimise the variance over the plane ⟂ mean by brute force on a fine circle
    e = mean / np.linalg.norm(mean)
    u = np.cross(e, [1.0, 0.0, 0.0] if abs(e[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(e, u)
    angles = np.linspace(0, np.pi, 20001)
    dirs = np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v
    min_var = np.min(np.einsum("ka,ab,kb->k", dirs, cov, dirs))
    assert float(pi_wineland_squeezing(rho)) == pytest.approx(n * min_var / (mean @ mean), 1e-7)
    assert float(pi_kitagawa_ueda_squeezing(rho)) == pytest.approx(4 * min_var / n, 1e-7)
    pair = np.trace(_site(SM.T, 0, n) @ _site(SM, 3, n) @ full)
    zz = np.trace(_site(SZ, 1, n) @ _site(SZ, 4, n) @ full)
    excited = np.trace(_site(SM.T @ SM, 2, n) @ full)
    assert float(pi_pair_correlation(rho)) == pytest.approx(pair.real, abs=1e-12)
    assert abs(pair.imag) < 1e-12
    assert float(pi_zz_correlation(rho)) == pytest.approx(zz.real, abs=1e-12)
    assert float(pi_excited_population(rho)) == pytest.approx(excited.real, abs=1e-12)


# ------------------------------------------------------------------------- gradients, jit, vmap


def _figure_of_merit_full(n, params):
    """ξ²_R·(1 + ⟨σ⁺ᵢσ⁻ⱼ⟩) on the full-space reference (NumPy)."""
    full = full_steady_state(n, params)
    J = _collective(n)
    mean = np.array([np.trace(op @ full).real for op in J])
    second = np.array([[np.trace((a @ b + b @ a) @ full).real / 2 for b in J] for a in J])
    q = np.eye(3) - np.outer(mean, mean) / (mean @ mean)
    cov = q @ (second - np.outer(mean, mean)) @ q
    lam = np.linalg.eigvalsh(cov)[1]  # the plane's smaller eigenvalue (the other is 0)
    pair = np.trace(_site(SM.T, 0, n) @ _site(SM, 1, n) @ full).real
    return n * lam / (mean @ mean) * (1 + pair)


def _flatten(params):
    return np.concatenate(
        [params["linear"], params["quadratic"].reshape(-1), [params[r] for r in RATES]]
    )


def _unflatten(theta):
    out = dict(linear=theta[:3], quadratic=theta[3:12].reshape(3, 3))
    for i, r in enumerate(RATES):
        out[r] = theta[12 + i]
    return out


@pytest.mark.parametrize("name", ["dense", "krylov"])
def test_gradient_wrt_every_coupling_and_rate_matches_finite_differences(name):
    n = 4
    params = random_params(21)
    params["quadratic"] = (params["quadratic"] + params["quadratic"].T) / 2
    theta = jnp.asarray(_flatten(params))

    @jax.jit
    def f(theta):
        sol = qdiss.steady_state(PI(n, **_unflatten(theta)), SOLVERS[name])
        return pi_wineland_squeezing(sol.rho) * (1 + pi_pair_correlation(sol.rho))

    value, grad = jax.jit(jax.value_and_grad(f))(theta)
    assert float(value) == pytest.approx(_figure_of_merit_full(n, params), rel=1e-9)
    step = 1e-5
    fd = []
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = step
        plus = _figure_of_merit_full(n, _unflatten(np.asarray(theta) + e))
        minus = _figure_of_merit_full(n, _unflatten(np.asarray(theta) - e))
        fd.append((plus - minus) / (2 * step))
    np.testing.assert_allclose(np.asarray(grad), np.array(fd), rtol=1e-6, atol=1e-8)


def test_jit_and_vmap_over_rates():
    n = 5
    base = random_params(4)

    @eqx.filter_jit
    def solve(gamma):
        params = dict(base, emission=gamma)
        sol = qdiss.steady_state(make(n, params), qdiss.Krylov(), throw=False)
        return sol.rho, sol.result

    gammas = jnp.array([0.3, 0.8, 1.5])
    rhos, results = jax.vmap(solve)(gammas)
    assert bool(jnp.all(results == qdiss.RESULTS.successful))
    for gamma, rho in zip(gammas, rhos, strict=True):
        ref = full_steady_state(n, dict(base, emission=float(gamma)))
        np.testing.assert_allclose(pi_to_dense(rho), ref, atol=1e-9)


def test_warm_start_and_float32():
    n = 6
    params = random_params(8)
    lind = make(n, params)
    exact = qdiss.steady_state(lind, qdiss.DenseLU()).rho
    sol = qdiss.steady_state(lind, qdiss.Krylov(), rho0=exact)
    np.testing.assert_allclose(sol.rho, exact, atol=1e-10)
    with pytest.raises(ValueError, match="shape"):
        qdiss.steady_state(lind, qdiss.Krylov(), rho0=jnp.eye(3))
    lind32 = PI(n, **{k: jnp.asarray(v, jnp.float32) for k, v in params.items()})
    assert lind32.dtype == jnp.complex64
    sol32 = qdiss.steady_state(lind32, qdiss.Krylov(), throw=False)
    assert sol32.succeeded
    np.testing.assert_allclose(sol32.rho, exact, atol=1e-4)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="num_spins"):
        PI(0)
    with pytest.raises(ValueError, match="non-negative"):
        PI(3, emission=-1.0)
    with pytest.raises(ValueError, match="shape"):
        PI(3, linear=jnp.ones(2))
    with pytest.raises(TypeError, match="real"):
        PI(3, quadratic=jnp.eye(3, dtype=complex))
    with pytest.raises(ValueError, match="non-finite"):
        PI(3, pumping=jnp.nan)
    with pytest.raises(ValueError, match="permutation-invariant"):
        pi_to_dense(jnp.zeros((3, 3, 3)))
    dense = qdiss.Lindbladian(jnp.eye(2), [jnp.array([[0.0, 1.0], [0.0, 0.0]])])
    with pytest.raises(ValueError, match="permutation-invariant"):
        qdiss.steady_state(dense, qdiss.Krylov(preconditioner="sweep"))


# ------------------------------------------------------------------------------- PIQS (QuTiP)


def test_matches_qutip_piqs():
    pytest.importorskip("qutip.piqs")
    import qutip
    from qutip import piqs

    n = 5
    params = random_params(9)
    h, q = params["linear"], (params["quadratic"] + params["quadratic"].T) / 2
    J = piqs.jspin(n)
    H = sum(h[a] * J[a] for a in range(3))
    H = H + sum(q[a, b] * J[a] * J[b] for a in range(3) for b in range(3))
    system = piqs.Dicke(
        n,
        hamiltonian=H,
        emission=params["emission"],
        pumping=params["pumping"],
        dephasing=4 * params["dephasing"],  # PIQS's local dephasing operator is σᶻ/2
        collective_emission=params["collective_emission"],
        collective_pumping=params["collective_pumping"],
        collective_dephasing=params["collective_dephasing"],
    )
    ref = qutip.steadystate(system.liouvillian()).full()
    rho = np.asarray(qdiss.steady_state(make(n, params)).rho)
    sizes = [n + 1 - 2 * b for b in range(n // 2 + 1)]
    offsets = np.cumsum([0, *sizes])
    for b, s in enumerate(sizes):
        block = ref[offsets[b] : offsets[b] + s, offsets[b] : offsets[b] + s]
        # PIQS computes its rates in single precision
        np.testing.assert_allclose(rho[b, b : b + s, b : b + s], block, atol=1e-6)


# ------------------------------------------------------------- collective only: the Dicke subspace


def _puri_lawande(n, omega, gamma):
    """ρ ∝ XX†, X = Σ_m (J₋/g)^m, g = −iΩ/Γ, in the basis m = j, …, −j, built in logarithms."""
    j = n / 2
    m = j - np.arange(n + 1)
    log_a = 0.5 * np.log(np.maximum(j * (j + 1) - m * (m - 1), 1e-300))  # ⟨m−1|J₋|m⟩
    inv_g = 1j * gamma / omega
    log_x = np.full((n + 1, n + 1), -np.inf)
    phase = np.zeros((n + 1, n + 1), complex)
    for col in range(n + 1):
        acc = 0.0
        for row in range(col, n + 1):
            if row > col:
                acc += log_a[row - 1] + np.log(abs(inv_g))
            log_x[row, col] = acc
            phase[row, col] = (inv_g / abs(inv_g)) ** (row - col)
    x = np.exp(log_x - log_x.max()) * phase
    rho = x @ x.conj().T
    return rho / np.trace(rho)


@pytest.mark.parametrize("n,ratio", [(10, 0.3), (50, 1.7), (200, 0.6)])
def test_cooperative_resonance_fluorescence(n, ratio):
    """H = ΩJ_x, L = √Γ J₋ on spin N/2 (Puri & Lawande 1979), Ω = ratio·Ω_c, Ω_c = ΓN/2."""
    gamma = 1.0
    omega = ratio * gamma * n / 2
    lind = dicke_lindbladian(n, linear=jnp.array([omega, 0, 0]), collective_emission=gamma)
    solver = qdiss.DenseLU() if n <= 10 else qdiss.SparseLU()
    rho = np.asarray(qdiss.steady_state(lind, solver).rho)
    np.testing.assert_allclose(rho, _puri_lawande(n, omega, gamma), atol=1e-9)


def test_dicke_lindbladian_is_the_symmetric_block():
    """Collective processes only: block 0 of the PI action is the dense Dicke Lindbladian."""
    n = 6
    params = random_params(13, emission=0.0, pumping=0.0, dephasing=0.0)
    lind = make(n, params)
    dicke = lind.symmetric_subspace()
    assert dicke.n == n + 1
    x = _random_state(lind, 3)
    np.testing.assert_allclose(lind.mv(x)[0], dicke.mv(x[0]), atol=1e-12)


# ------------------------------------------------------------------------ large N: XYZ model


@pytest.mark.slow
def test_xyz_large_n_approaches_holstein_primakoff():
    """All-to-all XYZ with local decay (qdiss.models.emitters): ξ²_R → R/(R + 2|λ|) as N → ∞,
    R = √(γ² + 4Δ²), Δ = J_x + J_y − 2J_z, λ = J_x − J_y. The 1/N correction is ≈ 1e-3 at N = 60."""
    jx, jy, jz, gamma = 1.0, 0.6, 0.2, 1.0
    n = 60
    lind = PI(n, quadratic=jnp.diag(jnp.array([jx, jy, jz])) * 2 / n, emission=gamma)
    sol = qdiss.steady_state(lind, qdiss.Krylov())
    assert sol.succeeded
    delta, lam = jx + jy - 2 * jz, jx - jy
    r = math.sqrt(gamma**2 + 4 * delta**2)
    assert float(pi_wineland_squeezing(sol.rho)) == pytest.approx(r / (r + 2 * abs(lam)), abs=3e-3)
