"""SectorLindbladian (a Lindbladian on the block-diagonal states of a conserved charge) against the
dense qdiss.Lindbladian with the same H and jump operators.

References: the block layout, the embedding ⊕_q ρ_q ↦ ρ and the unknown ordering are rebuilt here
with plain NumPy loops over the sectors; the action, adjoint and superoperator are those of the
dense Lindbladian; steady states are the SVD null space of the dense n² × n² superoperator
(tests/problems.py). Models: a Z₂ photon parity of two Kerr modes with two-mode-squeezed loss
(equal and unequal sectors), an additive U(1) excitation number of two modes (unequal sectors,
the top sector has no target for the pump), a Z₃ charge of a three-photon-driven mode, the
magnetisation of two qubits (negative charges, a charge-0 jump) and four levels with
non-contiguous charges.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from problems import null_space_steady_state

import qdiss
from qdiss._lindbladian.sectors import SectorLindbladian

# ----------------------------------------------------------------------------------- models


def _modes(c: int) -> tuple[np.ndarray, np.ndarray]:
    """Annihilation operators a = a₁ ⊗ 1 and b = 1 ⊗ a₁ of two modes with cutoff c (real)."""
    a1 = np.diag(np.sqrt(np.arange(1.0, c)), 1)
    eye = np.eye(c)
    return np.kron(a1, eye), np.kron(eye, a1)


def _c(x):
    """A real (possibly traced) scalar as complex128, for strict dtype promotion."""
    return jnp.asarray(x, jnp.float64).astype(jnp.complex128)


def parity_model(c, delta=0.4, u=0.3, g=0.2, kappa=1.0, r=0.5, phi=0.3):
    """H = Σ_{x=a,b} [Δ x†x + (U/2) x†²x² + (G/2)(x†² + x²)],
    L₁ = √κ (cosh r · a − e^{iφ} sinh r · b†), L₂ = √κ (cosh r · b − e^{iφ} sinh r · a†).

    H conserves the photon parity (i + j) mod 2; each L_k changes it by 1."""
    a, b = _modes(c)
    H = 0.0
    for x in (a, b):
        xd = x.T
        H = H + delta * jnp.asarray(xd @ x) + u / 2 * jnp.asarray(xd @ xd @ x @ x)
        H = H + g / 2 * jnp.asarray(xd @ xd + x @ x)
    e = np.exp(1j * phi)
    l1 = np.cosh(r) * a - e * np.sinh(r) * b.T
    l2 = np.cosh(r) * b - e * np.sinh(r) * a.T
    Ls = jnp.sqrt(_c(kappa)) * jnp.asarray(np.stack([l1, l2]))
    return qdiss.Lindbladian(H, Ls, dims=(c, c))


def u1_model(c, delta_a=0.5, delta_b=-0.3, j=0.7, u=0.4, gamma=1.0, gamma_p=0.3, jumps=True):
    """H = Δ_a a†a + Δ_b b†b + J(a†b + b†a) + (U/2) a†²a², L₁ = √γ a, L₂ = √γ_p b†.

    H conserves N = i + j on the product basis |i⟩|j⟩ (cutoff c each); a lowers N by 1 and b†
    raises it by 1 (b† annihilates j = c − 1, so the top sector N = 2c − 2 has no target)."""
    a, b = _modes(c)
    H = delta_a * jnp.asarray(a.T @ a) + delta_b * jnp.asarray(b.T @ b)
    H = H + j * jnp.asarray(a.T @ b + b.T @ a) + u / 2 * jnp.asarray(a.T @ a.T @ a @ a)
    if not jumps:
        return qdiss.Lindbladian(H, [], dims=(c, c))
    Ls = jnp.stack(
        [
            jnp.sqrt(_c(gamma)) * jnp.asarray(a, jnp.complex128),
            jnp.sqrt(_c(gamma_p)) * jnp.asarray(b.T, jnp.complex128),
        ]
    )
    return qdiss.Lindbladian(H, Ls, dims=(c, c))


def z3_model(c=7, delta=0.3, u=0.2, g=0.25, kappa3=0.5, gamma=0.4):
    """One mode: H = Δ a†a + (U/2) a†²a² + G(a†³ + a³), L₁ = √κ₃ a³, L₂ = √γ a.

    H and a³ conserve i mod 3; a changes it by −1 ≡ 2 (mod 3)."""
    a = np.diag(np.sqrt(np.arange(1.0, c)), 1)
    a3 = a @ a @ a
    H = delta * a.T @ a + u / 2 * a.T @ a.T @ a @ a + g * (a3.T + a3)
    return qdiss.Lindbladian(H, [np.sqrt(kappa3) * a3, np.sqrt(gamma) * a])


SM = np.array([[0.0, 0.0], [1.0, 0.0]])  # σ⁻ = |g⟩⟨e|, |e⟩ = index 0
SZ = np.diag([1.0, -1.0])


def spin_model(w1=0.6, w2=-0.2, j=0.5, gamma=1.0, gamma_p=0.2, gamma_d=0.3):
    """Two qubits: H = (ω₁σᶻ₁ + ω₂σᶻ₂)/2 + J(σ⁺₁σ⁻₂ + σ⁻₁σ⁺₂), jumps √γ σ⁻₁, √γ σ⁻₂, √γ_p σ⁺₁,
    √γ_d σᶻ₂. The number of excitations minus one (1, 0, 0, −1) is conserved by H; the jumps
    change it by −1, −1, +1, 0."""
    eye = np.eye(2)
    s1, s2 = np.kron(SM, eye), np.kron(eye, SM)
    H = (w1 * np.kron(SZ, eye) + w2 * np.kron(eye, SZ)) / 2 + j * (s1.T @ s2 + s1 @ s2.T)
    ops = [np.sqrt(gamma) * s1, np.sqrt(gamma) * s2, np.sqrt(gamma_p) * s1.T]
    ops.append(np.sqrt(gamma_d) * np.kron(eye, SZ))
    return qdiss.Lindbladian(H, ops, dims=(2, 2))


def gapped_model():
    """Four levels with charges 0, 2, 5, 2 (not contiguous; two states in sector 2):
    H = Σ_i ε_i|i⟩⟨i| + 0.25(|1⟩⟨3| + |3⟩⟨1|) (inside sector 2),
    L₁ = |1⟩⟨0| + ½|3⟩⟨0| (charge +2), L₂ = 0.7|2⟩⟨1| + 0.2|2⟩⟨3| (+3), L₃ = |0⟩⟨2| (−5).
    Sector 2 has no target under L₁ (charge 4 does not exist), nor sector 5."""
    ops = np.zeros((3, 4, 4))
    ops[0, 1, 0], ops[0, 3, 0] = 1.0, 0.5
    ops[1, 2, 1], ops[1, 2, 3] = 0.7, 0.2
    ops[2, 0, 2] = 1.0
    H = np.diag([0.1, 0.2, 0.3, 0.4])
    H[1, 3] = H[3, 1] = 0.25
    return qdiss.Lindbladian(H, ops)


# name: (dense Lindbladian, labels, modulus); CHARGES: the jump charges (from the physics)
MODELS = {
    "parity3": (lambda: parity_model(3), [(i + j) % 2 for i in range(3) for j in range(3)], 2),
    "parity4": (lambda: parity_model(4), [(i + j) % 2 for i in range(4) for j in range(4)], 2),
    "u1": (lambda: u1_model(3), [i + j for i in range(3) for j in range(3)], None),
    "z3": (lambda: z3_model(7), [i % 3 for i in range(7)], 3),
    "spins": (spin_model, [1, 0, 0, -1], None),
    "gapped": (gapped_model, [0, 2, 5, 2], None),
}
CHARGES = {
    "parity3": (1, 1),
    "parity4": (1, 1),
    "u1": (-1, 1),
    "z3": (0, 2),
    "spins": (-1, -1, 1, 0),
    "gapped": (2, 3, -5),
}


@functools.cache
def _build(name):
    make, labels, modulus = MODELS[name]
    dense = make()
    return dense, SectorLindbladian(dense, labels, modulus=modulus), labels, modulus


# ---------------------------------------------------------------------- independent layout


def _sectors(labels, modulus):
    """Basis indices of every sector, in increasing charge."""
    lab = np.asarray(labels) % modulus if modulus else np.asarray(labels)
    return [np.flatnonzero(lab == q) for q in sorted(set(lab.tolist()))]


def _embed(blocks, labels, modulus):
    """⊕_q ρ_q as an (n, n) matrix: ρ[i, j] = blocks[q][p(i), p(j)] for i, j in sector q."""
    n = len(labels)
    out = np.zeros((n, n), complex)
    for b, ix in enumerate(_sectors(labels, modulus)):
        out[np.ix_(ix, ix)] = np.asarray(blocks)[b, : ix.size, : ix.size]
    return out


def _block_positions(labels, modulus):
    """Row-major vec indices i·n + j of the block-diagonal entries, sector by sector."""
    n = len(labels)
    return np.array([i * n + j for ix in _sectors(labels, modulus) for i in ix for j in ix])


def _random_blocks(labels, modulus, seed):
    """Random complex blocks (B, D, D), zero outside the d_q × d_q corner of each."""
    sectors = _sectors(labels, modulus)
    size = max(ix.size for ix in sectors)
    rng = np.random.default_rng(seed)
    out = np.zeros((len(sectors), size, size), complex)
    for b, ix in enumerate(sectors):
        d = ix.size
        out[b, :d, :d] = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    return jnp.asarray(out)


# ------------------------------------------------------------------------ action and layout


@pytest.mark.parametrize("name", list(MODELS))
def test_layout_and_inferred_charges(name):
    dense, lind, labels, modulus = _build(name)
    sectors = _sectors(labels, modulus)
    size = max(ix.size for ix in sectors)
    assert lind.state_shape == (len(sectors), size, size)
    assert lind.n == len(labels)
    assert lind.dims == dense.dims
    expected_mask = np.ones(lind.state_shape, bool)
    for b, ix in enumerate(sectors):
        expected_mask[b, : ix.size, : ix.size] = False
    np.testing.assert_array_equal(lind.padding_mask(), expected_mask)
    assert lind.physical_indices().size == sum(ix.size**2 for ix in sectors)
    # the targets of each jump, from the charges known from the physics
    charges = sorted({(q % modulus) if modulus else q for q in labels})
    for k, c in enumerate(CHARGES[name]):
        for s, q in enumerate(charges):
            t = (q + c) % modulus if modulus else q + c
            assert lind.targets[k][s] == (charges.index(t) if t in charges else -1)
    # declaring the (same) charges explicitly gives the same blocks
    declared = SectorLindbladian(dense, labels, jump_charges=CHARGES[name], modulus=modulus)
    np.testing.assert_array_equal(declared.jump_blocks, lind.jump_blocks)
    np.testing.assert_array_equal(declared.H_blocks, lind.H_blocks)


def test_charges_taken_modulo():
    """Unreduced labels (i + j) and a charge −1 ≡ 2 (mod 3) mean the same sectors and targets."""
    dense = parity_model(3)
    reduced = SectorLindbladian(dense, [(i + j) % 2 for i in range(3) for j in range(3)], modulus=2)
    raw = SectorLindbladian(dense, [i + j for i in range(3) for j in range(3)], modulus=2)
    assert raw.targets == reduced.targets and raw.sector_indices == reduced.sector_indices
    np.testing.assert_array_equal(raw.jump_blocks, reduced.jump_blocks)
    z3 = z3_model(7)
    labels = [i % 3 for i in range(7)]
    minus = SectorLindbladian(z3, labels, jump_charges=(0, -1), modulus=3)
    plus = SectorLindbladian(z3, labels, jump_charges=(3, 2), modulus=3)
    assert minus.targets == plus.targets == ((0, 1, 2), (2, 0, 1))
    np.testing.assert_array_equal(minus.jump_blocks, plus.jump_blocks)


@pytest.mark.parametrize("name", list(MODELS))
def test_action_and_adjoint_match_dense(name):
    """⊕ L_S(ρ)_q = L(⊕ ρ_q) and the same for L†, for random block-diagonal ρ and X; padding stays
    zero; ⟨X, L(ρ)⟩ = ⟨L†(X), ρ⟩; L†(1) = 0."""
    dense, lind, labels, modulus = _build(name)
    x = _random_blocks(labels, modulus, 0)
    y = _random_blocks(labels, modulus, 1)
    out, adj = lind.mv(x), lind.adjoint_mv(y)
    scale = float(dense.norm_bound())
    ref = np.asarray(dense.mv(jnp.asarray(_embed(x, labels, modulus))))
    np.testing.assert_allclose(_embed(out, labels, modulus), ref, atol=1e-13 * scale)
    ref_adj = np.asarray(dense.adjoint_mv(jnp.asarray(_embed(y, labels, modulus))))
    np.testing.assert_allclose(_embed(adj, labels, modulus), ref_adj, atol=1e-13 * scale)
    mask = lind.padding_mask()
    assert np.all(np.asarray(out)[mask] == 0) and np.all(np.asarray(adj)[mask] == 0)
    lhs, rhs = complex(jnp.vdot(y, out)), complex(jnp.vdot(adj, x))
    assert lhs == pytest.approx(rhs, rel=1e-12)
    eye = jnp.asarray(np.where(mask, 0, 1) * np.eye(lind.state_shape[-1]), lind.dtype)
    np.testing.assert_allclose(lind.adjoint_mv(eye), 0, atol=1e-13 * scale)
    # under jit, the same
    np.testing.assert_allclose(jax.jit(lambda lnd, r: lnd.mv(r))(lind, x), out, atol=1e-14 * scale)


@pytest.mark.parametrize("name", list(MODELS))
def test_to_dense_and_from_dense(name):
    dense, lind, labels, modulus = _build(name)
    x = _random_blocks(labels, modulus, 2)
    np.testing.assert_array_equal(lind.to_dense(x), _embed(x, labels, modulus))
    np.testing.assert_array_equal(lind.from_dense(lind.to_dense(x)), x)
    # an arbitrary (n, n) matrix: the entries between sectors are dropped
    n = len(labels)
    rng = np.random.default_rng(3)
    m = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    lab = np.asarray(labels) % modulus if modulus else np.asarray(labels)
    on_blocks = np.where(lab[:, None] == lab[None, :], m, 0)
    assert np.any(on_blocks != m)
    blocks = lind.from_dense(jnp.asarray(m))
    np.testing.assert_array_equal(blocks, lind.from_dense(jnp.asarray(on_blocks)))
    np.testing.assert_array_equal(lind.to_dense(blocks), on_blocks)
    assert np.all(np.asarray(blocks)[lind.padding_mask()] == 0)
    assert complex(lind.trace(blocks)) == pytest.approx(np.trace(m), rel=1e-13)


@pytest.mark.parametrize("name", ["parity3", "parity4", "u1"])
def test_superoperators_norm_bound_and_operators(name):
    """sparse_superoperator (and the generic superoperator) = the dense superoperator restricted
    to the block-diagonal entries (row-major vec, sector by sector); norm_bound ≥ its largest
    singular value; dense_operators / dense_lindbladian give back H and L_k."""
    dense, lind, labels, modulus = _build(name)
    positions = _block_positions(labels, modulus)
    full = np.asarray(dense.superoperator())
    restricted = full[np.ix_(positions, positions)]
    # the block-diagonal entries are an invariant subspace of L
    others = np.setdiff1d(np.arange(full.shape[0]), positions)
    assert np.abs(full[np.ix_(others, positions)]).max() == 0
    np.testing.assert_allclose(lind.sparse_superoperator().toarray(), restricted, atol=1e-14)
    np.testing.assert_allclose(lind.superoperator(), restricted, atol=1e-14)
    exact = np.linalg.norm(restricted, ord=2)
    bound = float(lind.norm_bound())
    assert exact <= bound
    assert bound == pytest.approx(float(dense.norm_bound()), rel=1e-12)  # block-diagonal norms
    for xp in (jnp, np):
        H, Ls = lind.dense_operators(xp)
        np.testing.assert_array_equal(H, dense.H)
        np.testing.assert_array_equal(Ls, dense.jump_ops)
    back = lind.dense_lindbladian()
    np.testing.assert_array_equal(back.H, dense.H)
    np.testing.assert_array_equal(back.jump_ops, dense.jump_ops)
    assert back.dims == dense.dims


# ---------------------------------------------------------------------------- steady states

SOLVERS = {
    "dense": qdiss.DenseLU(),
    "sparse": qdiss.SparseLU(),
    "krylov": qdiss.Krylov(),
    "evolve": qdiss.Evolve(),
    "auto": qdiss.Auto(),
}


def _check_steady_state(lind, sol, reference):
    assert sol.succeeded, sol.message
    rho = np.asarray(lind.to_dense(sol.rho))
    np.testing.assert_allclose(rho, reference, atol=1e-9)
    assert float(sol.stats.residual) < 1e-10
    assert np.trace(rho).real == pytest.approx(1, abs=1e-12)
    assert abs(complex(lind.trace(sol.rho)) - 1) < 1e-12
    np.testing.assert_allclose(rho, rho.conj().T, atol=1e-13)
    assert np.all(np.asarray(sol.rho)[lind.padding_mask()] == 0)


@pytest.mark.parametrize(
    "name,solver",
    [("parity3", s) for s in SOLVERS if s != "evolve"] + [("u1", s) for s in SOLVERS],
)
def test_every_solver_matches_dense_reference(name, solver):
    dense, lind, _, _ = _build(name)
    sol = qdiss.steady_state(lind, SOLVERS[solver])
    _check_steady_state(lind, sol, null_space_steady_state(dense))


@pytest.mark.parametrize("name", ["parity4", "gapped"])
def test_dense_lu_other_models(name):
    dense, lind, _, _ = _build(name)
    sol = qdiss.steady_state(lind, qdiss.DenseLU())
    _check_steady_state(lind, sol, null_space_steady_state(dense))


def test_jit_and_vmap_over_detuning():
    """vmap over Δ of (build the dense Lindbladian, restrict it with declared charges, solve)."""
    labels = [(i + j) % 2 for i in range(3) for j in range(3)]

    @jax.jit
    def solve(delta):
        lind = SectorLindbladian(parity_model(3, delta=delta), labels, (1, 1), modulus=2)
        sol = qdiss.steady_state(lind, qdiss.DenseLU(), throw=False)
        return lind.to_dense(sol.rho), sol.result

    deltas = jnp.array([-0.5, 0.1, 0.8])
    rhos, results = jax.vmap(solve)(deltas)
    assert np.all(np.asarray(results == qdiss.RESULTS.successful))
    for d, rho in zip(deltas, rhos, strict=True):
        ref = null_space_steady_state(parity_model(3, delta=float(d)))
        np.testing.assert_allclose(rho, ref, atol=1e-9)
    single, _ = solve(deltas[1])
    np.testing.assert_allclose(single, rhos[1], atol=1e-13)


# ------------------------------------------------------------------------------- gradients


def _parity_observable(c=3):
    """O = a†a + (ab + a†b†)/2 (parity-even, so it sees the blocks only)."""
    a, b = _modes(c)
    return a.T @ a + (a @ b + a.T @ b.T) / 2


def _u1_observable(c=3):
    """O = a†a + (a†b + b†a)/2 (conserves N)."""
    a, b = _modes(c)
    return a.T @ a + (a.T @ b + b.T @ a) / 2


GRAD_CASES = {
    "parity3": (
        lambda th: parity_model(3, delta=th[0], u=th[1], kappa=th[2]),
        [(i + j) % 2 for i in range(3) for j in range(3)],
        (1, 1),
        2,
        _parity_observable(),
        np.array([0.4, 0.3, 1.0]),
    ),
    "u1": (
        lambda th: u1_model(3, j=th[0], u=th[1], gamma_p=th[2]),
        [i + j for i in range(3) for j in range(3)],
        (-1, 1),
        None,
        _u1_observable(),
        np.array([0.7, 0.4, 0.3]),
    ),
}


@pytest.mark.parametrize("name,solver", [("parity3", "dense"), ("u1", "krylov")])
def test_gradient_matches_finite_differences_and_dense(name, solver):
    """∇_θ Re tr(O ρ_ss(θ)) through the blocks = central differences of the SVD reference = the
    gradient through the dense Lindbladian."""
    make, labels, charges, modulus, obs, theta0 = GRAD_CASES[name]
    obs_j = jnp.asarray(obs, jnp.complex128)

    def merit(theta):
        lind = SectorLindbladian(make(theta), labels, charges, modulus)
        rho = lind.to_dense(qdiss.steady_state(lind, SOLVERS[solver]).rho)
        return jnp.real(jnp.trace(obs_j @ rho))

    def merit_dense(theta):
        return jnp.real(jnp.trace(obs_j @ qdiss.steady_state(make(theta), qdiss.DenseLU()).rho))

    def reference(theta):
        return np.trace(obs @ null_space_steady_state(make(theta))).real

    value, grad = jax.jit(jax.value_and_grad(merit))(jnp.asarray(theta0))
    assert float(value) == pytest.approx(reference(theta0), rel=1e-10)
    step = 1e-5
    fd = [
        (reference(theta0 + step * e) - reference(theta0 - step * e)) / (2 * step)
        for e in np.eye(theta0.size)
    ]
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)
    assert np.all(np.abs(fd) > 1e-4)  # every parameter matters
    grad_dense = jax.jit(jax.grad(merit_dense))(jnp.asarray(theta0))
    np.testing.assert_allclose(grad, grad_dense, rtol=1e-8, atol=1e-11)


# -------------------------------------------------------------------------------- failures

PARITY_LABELS = [(i + j) % 2 for i in range(3) for j in range(3)]
U1_LABELS = [i + j for i in range(3) for j in range(3)]


def test_hamiltonian_coupling_sectors_raises():
    a, _ = _modes(3)
    good = parity_model(3)
    bad = qdiss.Lindbladian(good.H + 0.1 * jnp.asarray(a + a.T, jnp.complex128), good.jump_ops)
    with pytest.raises(ValueError, match="couples different sectors"):
        SectorLindbladian(bad, PARITY_LABELS, modulus=2)


def test_jump_without_definite_charge_raises():
    a, b = _modes(3)
    lind = qdiss.Lindbladian(u1_model(3).H, [a + b.T])
    with pytest.raises(ValueError, match="no definite charge"):
        SectorLindbladian(lind, U1_LABELS)
    # the same operator has a definite parity: a and b† both change it by 1
    parity = SectorLindbladian(
        qdiss.Lindbladian(parity_model(3).H, [a + b.T]), PARITY_LABELS, None, 2
    )
    assert parity.targets == ((1, 0),)


def test_wrong_jump_charges_raise():
    with pytest.raises(ValueError, match=r"does not change the charge by jump_charges\[0\]"):
        SectorLindbladian(parity_model(3), PARITY_LABELS, jump_charges=(0, 1), modulus=2)
    with pytest.raises(ValueError, match=r"does not change the charge by jump_charges\[1\]"):
        SectorLindbladian(u1_model(3), U1_LABELS, jump_charges=(-1, -1))
    with pytest.raises(ValueError, match="one entry per jump operator"):
        SectorLindbladian(u1_model(3), U1_LABELS, jump_charges=(-1,))


def test_traced_operators_need_jump_charges():
    @jax.jit
    def build(delta):
        return SectorLindbladian(parity_model(3, delta=delta), PARITY_LABELS, modulus=2).H_blocks

    with pytest.raises(ValueError, match="jump_charges"):
        build(0.4)


def test_traced_violation_raises_at_run_time():
    """Under jit the operators are traced: a wrong declared charge, or H coupling sectors, is an
    error when the compiled function runs."""

    @eqx.filter_jit
    def wrong_charge(delta):
        lind = SectorLindbladian(parity_model(3, delta=delta), PARITY_LABELS, (0, 1), 2)
        return lind.mv(lind.from_dense(jnp.eye(9, dtype=jnp.complex128)))

    with pytest.raises(eqx.EquinoxRuntimeError, match="does not respect the declared sectors"):
        jax.block_until_ready(wrong_charge(0.4))

    a, _ = _modes(3)

    @eqx.filter_jit
    def coupled(eps):
        good = parity_model(3)
        H = good.H + eps.astype(jnp.complex128) * jnp.asarray(a + a.T, jnp.complex128)
        lind = SectorLindbladian(qdiss.Lindbladian(H, good.jump_ops), PARITY_LABELS, (1, 1), 2)
        return lind.H_blocks

    with pytest.raises(eqx.EquinoxRuntimeError, match="does not respect the declared sectors"):
        jax.block_until_ready(coupled(jnp.asarray(0.1)))
    np.testing.assert_allclose(coupled(jnp.asarray(0.0)), _build("parity3")[1].H_blocks)


@pytest.mark.parametrize(
    "labels",
    [
        PARITY_LABELS[:-1],  # one short
        [[q] for q in PARITY_LABELS],  # 2-D
        [float(q) for q in PARITY_LABELS],  # not integers
    ],
)
def test_bad_labels_raise(labels):
    with pytest.raises(ValueError, match="`labels` must be 9 integers"):
        SectorLindbladian(parity_model(3), labels, modulus=2)


@pytest.mark.parametrize("modulus", [1, 0, -2, 2.5])
def test_bad_modulus_raises(modulus):
    with pytest.raises(ValueError, match="`modulus` must be an integer ≥ 2"):
        SectorLindbladian(parity_model(3), PARITY_LABELS, modulus=modulus)


def test_non_lindbladian_raises():
    sector = _build("parity3")[1]
    for bad in (sector, parity_model(3).H):
        with pytest.raises(TypeError, match="must be a qdiss.Lindbladian"):
            SectorLindbladian(bad, PARITY_LABELS, modulus=2)


# ----------------------------------------------------------------- non-unique and complex64


@pytest.mark.parametrize("solver", ["dense", "krylov"])
def test_one_steady_state_per_sector_is_non_unique(solver):
    """With a†a dephasing only (or no jump at all), N is conserved exactly: every sector has its
    own steady state, so the block-diagonal steady state is not unique, and that is flagged."""
    closed = u1_model(3, jumps=False)
    a, _ = _modes(3)
    dephased = qdiss.Lindbladian(closed.H, [0.5 * a.T @ a])
    cases = [dephased, closed] if solver == "dense" else [dephased]
    # (Krylov on the closed system breaks down inside GMRES before the uniqueness check, on the
    # dense Lindbladian as well: it reports `breakdown`/`nonfinite`, not `non_unique`.)
    for dense in cases:
        # the reference: the dense superoperator restricted to the blocks has a ≥ 5-dim null space
        positions = _block_positions(U1_LABELS, None)
        full = np.asarray(dense.superoperator())[np.ix_(positions, positions)]
        svals = np.linalg.svd(full, compute_uv=False)
        assert np.sum(svals < 1e-12 * svals[0]) >= 5
        sol = qdiss.steady_state(SectorLindbladian(dense, U1_LABELS), SOLVERS[solver], throw=False)
        assert sol.result == qdiss.RESULTS.non_unique


def test_complex64_input():
    """complex64 operators stay complex64; the solve succeeds close to the float64 reference."""
    dense64 = parity_model(3)
    dense32 = qdiss.Lindbladian(
        dense64.H.astype(jnp.complex64), dense64.jump_ops.astype(jnp.complex64)
    )
    lind = SectorLindbladian(dense32, PARITY_LABELS, modulus=2)
    assert lind.dtype == jnp.complex64 and lind.jump_blocks.dtype == jnp.complex64
    sol = qdiss.steady_state(lind, qdiss.DenseLU(), throw=False)
    assert sol.rho.dtype == jnp.complex64
    assert sol.succeeded, sol.message
    rho = np.asarray(lind.to_dense(sol.rho))
    np.testing.assert_allclose(rho, null_space_steady_state(dense64), atol=1e-3)
