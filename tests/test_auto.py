"""Auto's cost model (qdiss/_solver/auto.py): the solver it picks on representative problems,
under tracing, with the user overrides, and the accuracy of what it returns."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from problems import destroy, null_space_steady_state

import qdiss


def kerr(n: int) -> qdiss.Lindbladian:
    """Driven Kerr oscillator (benchmarks/_problems.py's kerr-n): banded superoperator."""
    a = destroy(n)
    ad = a.conj().T
    kappa = 14 * 2 * np.pi
    H = np.pi * ad @ ad @ a @ a + 1j * np.sqrt(kappa) * 16.0 * (a - ad)
    return qdiss.Lindbladian(H, [np.sqrt(kappa) * a])


def two_modes(cutoff: int) -> qdiss.Lindbladian:
    """Two Kerr resonators with a two-mode-squeezed bath, dims (cutoff, cutoff)."""
    eye = np.eye(cutoff)
    a, b = np.kron(destroy(cutoff), eye), np.kron(eye, destroy(cutoff))
    H = 0
    for x in (a, b):
        xd = x.conj().T
        H = H + xd @ x + 0.15 * xd @ xd @ x @ x + 0.45 * (xd @ xd + x @ x)
    ch, sh = np.cosh(0.5), np.sinh(0.5)
    jumps = [ch * a - sh * b.conj().T, ch * b - sh * a.conj().T]
    return qdiss.Lindbladian(H, jumps, dims=(cutoff, cutoff))


def all_to_all_spins(num: int) -> qdiss.Lindbladian:
    return qdiss.models.emitters.AllToAllXYZ(num, 1.0, 0.6, 0.2, 1.0).lindbladian()


def two_qubits() -> qdiss.Lindbladian:
    sm = np.array([[0, 0], [1, 0]], complex)
    sx = np.array([[0, 1], [1, 0]], complex)
    eye = np.eye(2)
    H = np.kron(sx, sx) + 0.3 * np.kron(sx, eye)
    return qdiss.Lindbladian(H, [np.kron(sm, eye), np.kron(eye, sm)], dims=(2, 2))


def picked(lindbladian, auto=None) -> str:
    return type((auto or qdiss.Auto()).select(lindbladian)).__name__


def test_one_oscillator_picks_sparse_lu_on_cpu():
    assert jax.default_backend() == "cpu"
    assert picked(kerr(40)) == "SparseLU"  # n² = 1600: DenseLU 136 ms vs SparseLU 11.5 ms


def test_several_modes_or_sites_pick_krylov():
    assert picked(two_modes(8)) == "Krylov"  # SparseLU ~8.5 s vs Krylov ~0.7 s
    assert picked(all_to_all_spins(6)) == "Krylov"  # SparseLU 90 s vs Krylov 0.66 s


def test_small_two_qubit_model_picks_dense_lu():
    assert picked(two_qubits()) == "DenseLU"


def test_estimate_reads_the_sparsity_pattern_only_where_it_matters():
    auto = qdiss.Auto()
    banded = auto.estimate(kerr(40))
    assert banded.envelope_work is not None and banded.sparse < banded.dense
    filled = auto.estimate(two_modes(8))
    assert filled.envelope_work is not None and filled.sparse > filled.krylov
    assert auto.estimate(two_qubits()).envelope_work is None  # DenseLU is cheaper than any LU


def test_envelope_work_of_a_band_matrix():
    # tridiagonal, shuffled: RCM recovers bandwidth 1, so W = Σ w_i² = P − 1
    size = 50
    band = np.eye(size) + np.eye(size, k=1) + np.eye(size, k=-1)
    perm = np.random.default_rng(0).permutation(size)
    work, width = qdiss._solver.auto.envelope_work(sp.csr_matrix(band[perm][:, perm]))
    assert (work, width) == (size - 1, 1)


def test_traced_lindbladian_never_picks_sparse_lu():
    lind = kerr(60)  # concrete: SparseLU
    assert picked(lind) == "SparseLU"
    seen = []

    def record(H):
        seen.append(picked(qdiss.Lindbladian(H, lind.jump_ops)))
        return H

    jax.jit(record)(lind.H)
    jax.vmap(record)(jnp.stack([lind.H, lind.H]))
    jax.grad(lambda s: jnp.real(record(s * lind.H)[0, 0]))(1.0)
    assert len(seen) == 3 and "SparseLU" not in seen, seen


def test_permutation_invariant_picks_krylov():
    quadratic = np.diag([0.1, 0.06, 0.02])
    L = qdiss.PermutationInvariantLindbladian(20, quadratic=quadratic, emission=1.0)
    assert picked(L) == "Krylov"
    assert picked(L, qdiss.Auto(dense_max=2000)) == "DenseLU"  # 1771 unknowns


def test_user_overrides():
    assert picked(kerr(40), qdiss.Auto(dense_max=2500)) == "DenseLU"
    assert picked(kerr(40), qdiss.Auto(sparse_max=0)) != "SparseLU"
    assert picked(two_qubits(), qdiss.Auto(dense_max=4)) == "Krylov"  # never DenseLU above it
    tight = qdiss.Auto(residual_tol=1e-12, error_tol=1e-9).select(kerr(30))
    assert (tight.residual_tol, tight.error_tol) == (1e-12, 1e-9)


def test_auto_solution_matches_null_space_reference():
    L = kerr(30)
    assert picked(L) == "SparseLU"
    sol = qdiss.steady_state(L)
    assert sol.solver == "SparseLU" and sol.succeeded
    np.testing.assert_allclose(np.asarray(sol.rho), null_space_steady_state(L), atol=1e-10)


def test_pattern_is_read_once_per_sparsity_structure(monkeypatch):
    from qdiss._solver import auto as auto_module

    calls = []
    real = auto_module.envelope_work
    monkeypatch.setattr(auto_module, "envelope_work", lambda m: calls.append(1) or real(m))
    monkeypatch.setattr(auto_module, "_WORK_CACHE", {})
    L = kerr(40)
    first = qdiss.Auto().estimate(L)
    scaled = jax.tree_util.tree_map(lambda x: 2 * x, L)  # same pattern, other values
    assert qdiss.Auto().estimate(scaled).envelope_work == first.envelope_work
    assert len(calls) == 1
    qdiss.Auto().estimate(kerr(41))  # another pattern
    assert len(calls) == 2
