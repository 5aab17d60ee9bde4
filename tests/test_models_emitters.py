"""Light-emitter ensembles (qdiss.models.emitters, arXiv:2402.16824): the models against explicit
Pauli-string constructions and QuTiP, the U(1) limits, the first-order (small pair drive)
squeezing at finite N, the Gaussian large-N formula against the Holstein–Primakoff boson model,
the mean-field Bloch equations against the exact equations of motion of product states, the
mean-field instability threshold, and gradients against finite differences."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import qutip
from problems import destroy

import qdiss
from qdiss._lindbladian.permutation.lindbladian import pi_to_dense
from qdiss.models import emitters

X = np.array([[0, 1], [1, 0]], complex)
Y = np.array([[0, -1j], [1j, 0]], complex)
Z = np.diag([1.0, -1.0]).astype(complex)
SM = np.array([[0, 0], [1, 0]], complex)  # σ⁻ = |g⟩⟨e|, basis (e, g)


def _string(ops: dict[int, np.ndarray], n: int) -> np.ndarray:
    """The Pauli string ⊗_k ops.get(k, I) (site 0 the most significant factor)."""
    out = np.ones((1, 1), complex)
    for k in range(n):
        out = np.kron(out, ops.get(k, np.eye(2)))
    return out


def _superop(H, jumps):
    """Row-major superoperator, term by term (independent of qdiss.Lindbladian)."""
    n = H.shape[0]
    eye = np.eye(n)
    out = -1j * (np.kron(H, eye) - np.kron(eye, H.T))
    for L in jumps:
        k = L.conj().T @ L
        out += np.kron(L, L.conj()) - 0.5 * np.kron(k, eye) - 0.5 * np.kron(eye, k.T)
    return out


def _explicit_xyz(n, couplings, pairs, scale):
    H = np.zeros((2**n, 2**n), complex)
    for i, j in pairs:
        for J, p in zip(couplings, (X, Y, Z), strict=True):
            H += scale * J * _string({i: p, j: p}, n)
    return H


def _jumps(n, gamma, dephasing=None, collective=None):
    jumps = [np.sqrt(gamma) * _string({i: SM}, n) for i in range(n)]
    if dephasing is not None:
        jumps += [np.sqrt(dephasing) * _string({i: Z}, n) for i in range(n)]
    if collective is not None:
        jumps.append(np.sqrt(collective / n) * sum(_string({i: SM}, n) for i in range(n)))
    return jumps


def _xi2_numpy(rho, n):
    """Wineland ξ²_R = N min_{n⟂⟨S⟩} Var(S·n)/|⟨S⟩|², in NumPy (angle scan + refinement)."""
    rho = np.asarray(rho)
    s = [sum(_string({i: p}, n) for i in range(n)) / 2 for p in (X, Y, Z)]
    mean = np.array([np.trace(o @ rho).real for o in s])
    cov = np.array([[np.trace((a @ b + b @ a) @ rho).real / 2 for b in s] for a in s])
    cov -= np.outer(mean, mean)
    e = mean / np.linalg.norm(mean)
    u = np.cross(e, [1.0, 0, 0] if abs(e[0]) < 0.9 else [0, 1.0, 0])
    u /= np.linalg.norm(u)
    v = np.cross(e, u)
    basis = np.stack([u, v])
    var_min = np.linalg.eigvalsh(basis @ cov @ basis.T)[0]
    return n * var_min / (mean @ mean)


# ------------------------------------------------------------------- construction


def test_all_to_all_xyz_matches_pauli_strings():
    n, (jx, jy, jz), gamma, deph, coll = 3, (0.7, -0.4, 0.25), 0.9, 0.15, 0.4
    model = emitters.AllToAllXYZ(n, jx, jy, jz, gamma, collective_decay=coll, dephasing=deph)
    pairs = list(itertools.combinations(range(n), 2))
    H = _explicit_xyz(n, (jx, jy, jz), pairs, 1 / n)
    np.testing.assert_allclose(np.asarray(model.hamiltonian()), H, atol=1e-14)
    L = model.lindbladian()
    assert L.dims == (2, 2, 2)
    expected = _superop(H, _jumps(n, gamma, deph, coll))
    np.testing.assert_allclose(np.asarray(L.superoperator()), expected, atol=1e-13)


def test_all_to_all_tfi_matches_pauli_strings():
    n, J, h, gamma, deph = 4, 0.8, 0.35, 1.1, 0.05
    model = emitters.AllToAllTFI(n, J, h, gamma, dephasing=deph)
    H = sum(J / n * _string({i: Z, j: Z}, n) for i, j in itertools.combinations(range(n), 2))
    H = H + sum(h * _string({i: X}, n) for i in range(n))
    np.testing.assert_allclose(np.asarray(model.hamiltonian()), H, atol=1e-14)
    expected = _superop(H, _jumps(n, gamma, deph))
    np.testing.assert_allclose(
        np.asarray(model.lindbladian().superoperator()), expected, atol=1e-13
    )


@pytest.mark.parametrize(
    ("n", "periodic", "pairs"),
    [
        (4, True, [(0, 1), (1, 2), (2, 3), (3, 0)]),
        (4, False, [(0, 1), (1, 2), (2, 3)]),
        (3, True, [(0, 1), (1, 2), (2, 0)]),
        (2, True, [(0, 1)]),
    ],
)
def test_xyz_lattice_matches_pauli_strings(n, periodic, pairs):
    couplings, gamma = (0.6, 0.1, -0.3), 0.7
    model = emitters.XYZLattice(n, *couplings, gamma, periodic=periodic)
    H = _explicit_xyz(n, couplings, pairs, 1.0)
    np.testing.assert_allclose(np.asarray(model.hamiltonian()), H, atol=1e-14)
    expected = _superop(H, _jumps(n, gamma))
    np.testing.assert_allclose(
        np.asarray(model.lindbladian().superoperator()), expected, atol=1e-13
    )


def test_steady_state_matches_qutip():
    n, (jx, jy, jz), gamma, deph, coll = 3, (0.9, 0.1, -0.2), 1.0, 0.1, 0.3
    model = emitters.AllToAllXYZ(n, jx, jy, jz, gamma, collective_decay=coll, dephasing=deph)
    H = _explicit_xyz(n, (jx, jy, jz), list(itertools.combinations(range(n), 2)), 1 / n)
    dims = [[2] * n, [2] * n]
    ref = qutip.steadystate(
        qutip.Qobj(H, dims=dims), [qutip.Qobj(L, dims=dims) for L in _jumps(n, gamma, deph, coll)]
    ).full()
    rho = np.asarray(qdiss.steady_state(model.lindbladian()).rho)
    np.testing.assert_allclose(rho, ref, atol=1e-10)
    assert float(model.wineland_squeezing(rho)) == pytest.approx(_xi2_numpy(rho, n), rel=1e-10)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="non-negative rate"):
        emitters.AllToAllXYZ(3, 1.0, 0.5, 0.0, -1.0)
    with pytest.raises(ValueError, match="representation"):
        emitters.AllToAllXYZ(3, 1.0, 0.5, 0.0, 1.0, representation="dicke")
    assert emitters.AllToAllXYZ(300, 1.0, 0.5, 0.0, 1.0, representation="permutation").N == 300
    with pytest.raises(ValueError, match="too large"):
        emitters.AllToAllTFI(40, 1.0, 0.5, 1.0).lindbladian()
    with pytest.raises(ValueError, match="integer"):
        emitters.XYZLattice(1, 1.0, 0.5, 0.0, 1.0)


# ------------------------------------------------------------------- U(1) limit


@pytest.mark.parametrize(
    "model",
    [
        emitters.AllToAllXYZ(4, 0.7, 0.7, -0.3, 1.0, collective_decay=0.5, dephasing=0.2),
        emitters.AllToAllTFI(4, 0.9, 0.0, 0.6),
        emitters.XYZLattice(4, -0.4, -0.4, 0.8, 1.3),
    ],
    ids=["xyz", "tfi", "lattice"],
)
def test_u1_limit_steady_state_is_all_down(model):
    """With a U(1)-symmetric H (J_x = J_y, or h = 0) the all-down state |g…g⟩ is stationary."""
    rho = np.asarray(qdiss.steady_state(model.lindbladian()).rho)
    all_down = np.zeros_like(rho)
    all_down[-1, -1] = 1.0
    np.testing.assert_allclose(rho, all_down, atol=1e-12)


# ------------------------------------------------------------------- first order in the drive


@pytest.mark.parametrize("n", [2, 3, 4])
def test_xyz_first_order_squeezing(n):
    r"""Small pair drive λ = J_x − J_y: ξ²_R = 1 − s|λ| + O(λ²) with the exact finite-N slope

        s = 2(1 − 1/N) / √(γ² + 4Δ²(1 − 2/N)²),   Δ = J_x + J_y − 2J_z.

    Derivation (first-order perturbation theory about |⇓⟩, exact because ⟨⇓|σ⁺_i = 0 kills the
    jump term): ρ = |ψ⟩⟨ψ| + O(λ²), |ψ⟩ = |⇓⟩ + c|D₂⟩ with |D₂⟩ the symmetric two-excitation
    state, V = (λ/N)S₊²/2 + h.c., ‖S₊²|⇓⟩‖ = √(2N(N−1)), E(D₂) − E(⇓) = 2Δ(N−2)/N − iγ, so
    |c| = |λ|√(2N(N−1))/(2N|E(D₂) − E(⇓)|) and ξ²_R = 1 − 2|c|√(2N(N−1))/N. For N → ∞ the slope
    is 2/R, the first order of the Gaussian R/(R + 2|λ|).
    """
    J, jz, gamma, lam = 0.5, -0.1, 1.0, 1e-4
    model = emitters.AllToAllXYZ(n, J + lam / 2, J - lam / 2, jz, gamma)
    rho = qdiss.steady_state(model.lindbladian()).rho
    delta = 2 * J - 2 * jz
    slope = 2 * (1 - 1 / n) / np.sqrt(gamma**2 + 4 * delta**2 * (1 - 2 / n) ** 2)
    xi2 = float(model.wineland_squeezing(rho))
    assert (1 - xi2) / lam == pytest.approx(slope, rel=5e-4)


def test_tfi_first_order_coherence():
    r"""Small field h: ⟨S⁻⟩ = −hN/ΔE + O(h²), ΔE = (2J/N)(1 − N) − iγ/2 (one-excitation energy of
    H_eff = H − (iγ/2)Σσ⁺σ⁻ above |⇓⟩; V|⇓⟩ = h S₊|⇓⟩ = h√N|D₁⟩)."""
    n, J, gamma, h = 4, 0.7, 0.8, 1e-5
    model = emitters.AllToAllTFI(n, J, h, gamma)
    rho = np.asarray(qdiss.steady_state(model.lindbladian()).rho)
    s_minus = sum(_string({i: SM}, n) for i in range(n))
    value = np.trace(s_minus @ rho)
    expected = -h * n / (2 * J / n * (1 - n) - 0.5j * gamma)
    assert abs(value - expected) <= 1e-4 * abs(expected)


# ------------------------------------------------------------------- Gaussian large-N limit


@pytest.mark.parametrize(
    ("jx", "jy", "jz", "gamma"),
    [(0.6, 0.4, 0.0, 1.0), (0.2, 0.9, 0.1, 0.7)],
)
def test_gaussian_squeezing_matches_holstein_primakoff_mode(jx, jy, jz, gamma):
    r"""R/(R + 2|λ|) against the single boson H = Δb†b + (λ/2)(b² + b†²), L = √γ b solved
    numerically (Fock cutoff 40; truncation error ~1e-8): its smallest quadrature variance
    (vacuum = 1) is ξ²_R."""
    lam, delta = jx - jy, jx + jy - 2 * jz
    assert lam**2 < delta**2 + gamma**2 / 4  # paramagnetic (stable) phase
    b = destroy(40)
    H = delta * b.conj().T @ b + lam / 2 * (b @ b + b.conj().T @ b.conj().T)
    rho = np.asarray(qdiss.steady_state(qdiss.Lindbladian(H, [np.sqrt(gamma) * b])).rho)
    x, p = b + b.conj().T, -1j * (b - b.conj().T)
    cov = np.array([[np.trace((u @ v + v @ u) @ rho).real / 2 for v in (x, p)] for u in (x, p)])
    expected = np.linalg.eigvalsh(cov)[0]
    value = float(emitters.gaussian_wineland_squeezing(jx, jy, jz, gamma))
    assert value == pytest.approx(expected, rel=5e-8)
    model = emitters.AllToAllXYZ(5, jx, jy, jz, gamma)
    assert float(model.gaussian_wineland_squeezing()) == value


@pytest.mark.parametrize("model_cls", ["xyz", "tfi"])
def test_permutation_representation_matches_full_space(model_cls):
    n, kw = 4, dict(collective_decay=0.3, dephasing=0.1)
    if model_cls == "xyz":
        full = emitters.AllToAllXYZ(n, 0.9, 0.2, -0.1, 1.0, **kw)
        perm = emitters.AllToAllXYZ(n, 0.9, 0.2, -0.1, 1.0, **kw, representation="permutation")
    else:
        full = emitters.AllToAllTFI(n, 0.7, 0.4, 0.8, **kw)
        perm = emitters.AllToAllTFI(n, 0.7, 0.4, 0.8, **kw, representation="permutation")
    rho_full = np.asarray(qdiss.steady_state(full.lindbladian()).rho)
    rho_perm = qdiss.steady_state(perm.lindbladian()).rho
    assert rho_perm.shape == (3, 5, 5)
    np.testing.assert_allclose(np.asarray(pi_to_dense(rho_perm)), rho_full, atol=1e-12)
    for got, want in zip(perm.spin_moments(rho_perm), full.spin_moments(rho_full), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-12)
    xi2 = float(perm.wineland_squeezing(rho_perm))
    assert xi2 == pytest.approx(_xi2_numpy(rho_full, n), rel=1e-10)


@pytest.mark.slow
def test_squeezing_approaches_the_gaussian_limit():
    """Permutation-invariant solves at N = 16, 32: ξ²_R(N) = ξ²_G + a/N + O(1/N²), so the
    Richardson extrapolation 2ξ²(32) − ξ²(16) must reproduce R/(R + 2|λ|) (to ~1e-4 here, while
    ξ²(32) itself is 2e-3 away)."""
    J, jz, gamma, lam = 0.5, -0.1, 1.0, 0.3
    values = []
    for n in (16, 32):
        model = emitters.AllToAllXYZ(
            n, J + lam / 2, J - lam / 2, jz, gamma, representation="permutation"
        )
        values.append(float(model.wineland_squeezing(qdiss.steady_state(model.lindbladian()).rho)))
    delta = 2 * J - 2 * jz
    r = np.sqrt(gamma**2 + 4 * delta**2)
    gaussian = r / (r + 2 * lam)
    assert abs(values[1] - gaussian) > 1e-3
    assert abs(values[1] - gaussian) < 0.1 / 32
    assert 2 * values[1] - values[0] == pytest.approx(gaussian, abs=3e-4)


# ------------------------------------------------------------------- mean field


def _product_state(s):
    """One-qubit density matrix with Bloch vector s (basis (e, g): σ^z = diag(1, −1))."""
    return (np.eye(2) + s[0] * X + s[1] * Y + s[2] * Z) / 2


def _exact_bloch_rate(L, s, n):
    """d⟨σ⃗_1⟩/dt for the uniform product state ⊗ρ(s), from the full Lindbladian."""
    rho1 = _product_state(s)
    rho = rho1
    for _ in range(n - 1):
        rho = np.kron(rho, rho1)
    drho = np.asarray(L.mv(jnp.asarray(rho)))
    return np.array([np.trace(_string({0: p}, n) @ drho).real for p in (X, Y, Z)])


S_TEST = np.array([0.3, -0.5, 0.6])


def test_xyz_mean_field_equals_product_state_dynamics():
    """For a product state the exact d⟨σ⃗_i⟩/dt is the mean-field one with J → J(N−1)/N."""
    n, jx, jy, jz, gamma, deph = 4, 0.8, -0.3, 0.45, 0.6, 0.2
    exact = _exact_bloch_rate(
        emitters.AllToAllXYZ(n, jx, jy, jz, gamma, dephasing=deph).lindbladian(), S_TEST, n
    )
    f = (n - 1) / n
    scaled = emitters.AllToAllXYZ(n, f * jx, f * jy, f * jz, gamma, dephasing=deph)
    np.testing.assert_allclose(np.asarray(scaled.mean_field_rhs(S_TEST)), exact, atol=1e-13)


def test_tfi_mean_field_equals_product_state_dynamics():
    n, J, h, gamma = 4, 0.8, 0.35, 0.6
    exact = _exact_bloch_rate(emitters.AllToAllTFI(n, J, h, gamma).lindbladian(), S_TEST, n)
    scaled = emitters.AllToAllTFI(n, J * (n - 1) / n, h, gamma)
    np.testing.assert_allclose(np.asarray(scaled.mean_field_rhs(S_TEST)), exact, atol=1e-13)


@pytest.mark.parametrize("n", [3, 4])
def test_ring_mean_field_equals_product_state_dynamics(n):
    """On a ring every site has z = 2 neighbours: the mean field is exact for product states."""
    model = emitters.XYZLattice(n, 0.8, -0.3, 0.45, 0.6, dephasing=0.1)
    exact = _exact_bloch_rate(model.lindbladian(), S_TEST, n)
    np.testing.assert_allclose(np.asarray(model.mean_field_rhs(S_TEST)), exact, atol=1e-13)


def _collective_rate_error(n, jx, jy, jz, coll, s):
    """max |(2/N) d⟨S⃗⟩/dt − mean field| for the coherent spin state along s (spin j = N/2)."""
    model = emitters.AllToAllXYZ(n, jx, jy, jz, 0.0, collective_decay=coll)
    ops = [np.asarray(o) for o in qdiss.measures.spin_operators(n / 2)]
    L = qdiss.Lindbladian(model.hamiltonian(ops), [np.sqrt(coll / n) * ops[4]])
    theta, phi = np.arccos(s[2]), np.arctan2(s[1], s[0])
    gen = -np.sin(phi) * ops[0] + np.cos(phi) * ops[1]  # rotation axis ⟂ ẑ and s
    top = np.zeros(n + 1, complex)
    top[0] = 1.0  # |j, j⟩ = all up (s = ẑ)
    w, v = np.linalg.eigh(gen)
    psi = v @ (np.exp(-1j * theta * w) * (v.conj().T @ top))
    rho = np.outer(psi, psi.conj())
    mean = np.array([np.trace(o @ rho).real for o in ops[:3]]) * 2 / n
    np.testing.assert_allclose(mean, s, atol=1e-12)  # the coherent state points along s
    drho = np.asarray(L.mv(jnp.asarray(rho)))
    exact = np.array([np.trace(o @ drho).real for o in ops[:3]]) * 2 / n
    return np.max(np.abs(exact - np.asarray(model.mean_field_rhs(s))))


def test_collective_decay_mean_field_in_the_large_n_limit():
    """Collective terms only (γ = 0), in the symmetric subspace (spin j = N/2), for a coherent
    spin state: the exact (2/N) d⟨S⃗⟩/dt differs from the mean-field rate by exactly O(1/N)."""
    s = S_TEST / np.linalg.norm(S_TEST)
    errors = [_collective_rate_error(n, 0.7, -0.2, 0.1, 0.9, s) for n in (50, 200)]
    assert errors[1] < 5e-3
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=1e-6)


@pytest.mark.parametrize("side", [-1, 1])
@pytest.mark.parametrize("model_cls", ["all_to_all", "ring"])
def test_mean_field_instability_threshold(side, model_cls):
    r"""At (J_x − J_z)(J_z − J_y) = (1 ± 10⁻³) γ²/(16z²) the largest real part of the linearised
    mean-field flow about s = (0, 0, −1) is ±, equal to −γ/2 + 2z√((J_x−J_z)(J_z−J_y)), and the
    instability margin has the same sign."""
    gamma, jz, z = 0.8, 0.3, (1 if model_cls == "all_to_all" else 2)
    product = (1 + side * 1e-3) * gamma**2 / (16 * z**2)
    a = 0.37  # J_x − J_z = a, J_z − J_y = product / a
    jx, jy = jz + a, jz - product / a
    if model_cls == "all_to_all":
        model = emitters.AllToAllXYZ(4, jx, jy, jz, gamma)
    else:
        model = emitters.XYZLattice(4, jx, jy, jz, gamma)
    down = jnp.array([0.0, 0.0, -1.0])
    np.testing.assert_allclose(np.asarray(model.mean_field_rhs(down)), 0.0, atol=1e-15)
    jac = np.asarray(jax.jacfwd(model.mean_field_rhs)(down))
    top = np.max(np.linalg.eigvals(jac).real)
    assert top == pytest.approx(-gamma / 2 + 2 * z * np.sqrt(product), abs=1e-12)
    assert np.sign(top) == side
    assert np.sign(float(model.mean_field_instability())) == side


def test_instability_margin_with_extra_damping():
    """With dephasing and collective decay the transverse damping is γ/2 + 2γ_φ + γ_c/2."""
    model = emitters.AllToAllXYZ(4, 1.2, -0.6, 0.1, 0.5, collective_decay=0.3, dephasing=0.05)
    jac = np.asarray(jax.jacfwd(model.mean_field_rhs)(jnp.array([0.0, 0.0, -1.0])))
    top = np.max(np.linalg.eigvals(jac).real)
    product = (1.2 - 0.1) * (0.1 + 0.6)
    damping = 0.5 / 2 + 2 * 0.05 + 0.3 / 2
    assert top == pytest.approx(-damping + 2 * np.sqrt(product), abs=1e-12)
    margin = float(model.mean_field_instability())
    assert margin == pytest.approx(product - damping**2 / 4, abs=1e-14)


# ------------------------------------------------------------------- gradients


def test_squeezing_gradient_matches_finite_differences():
    n = 3

    @jax.jit
    def xi2(p):
        model = emitters.AllToAllXYZ(
            n, p[0], p[1], p[2], p[3], collective_decay=p[4], dephasing=p[5]
        )
        return model.wineland_squeezing(qdiss.steady_state(model.lindbladian()).rho)

    params = np.array([0.9, 0.2, -0.1, 1.0, 0.3, 0.1])
    grad = np.asarray(jax.grad(xi2)(jnp.asarray(params)))
    h = 1e-5
    fd = np.array(
        [
            (float(xi2(jnp.asarray(params + h * e))) - float(xi2(jnp.asarray(params - h * e))))
            / (2 * h)
            for e in np.eye(len(params))
        ]
    )
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_pair_correlations():
    n = 3
    rng = np.random.default_rng(0)
    a = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    rho = a @ a.conj().T
    rho /= np.trace(rho)
    sp = SM.conj().T
    expected = np.array(
        [
            [np.trace(_string({i: sp}, n) @ _string({j: SM}, n) @ rho) for j in range(n)]
            for i in range(n)
        ]
    )
    np.testing.assert_allclose(np.asarray(emitters.pair_correlations(rho, n)), expected, atol=1e-14)
