"""The truncation diagnostic (issue 11, item 5): Lindbladians that declare truncated bosonic modes
get the population of their top two Fock levels in ``sol.stats.top_level_population`` and the
code ``RESULTS.truncated`` above ``truncation_tol``.

References are independent of the code under test: the driven damped cavity's steady state is
the coherent state |α⟩, α = −iF/(iΔ + γ/2) (H = Δa†a + F(a + a†), L = √γ a), whose Fock
populations are Poisson with mean |α|² (scipy.stats.poisson); other models are checked against
a NumPy/SciPy null space of the superoperator built here from the model's operators.
"""

from __future__ import annotations

import types

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from scipy.stats import poisson

import qdiss
from qdiss.models import kerr, reference

DELTA, F, GAMMA = 0.5, 0.6, 1.0  # |α|² = F²/(Δ² + γ²/4) = 0.72


def poisson_top_two(mean: float, cutoff: int) -> float:
    """Population of the Fock levels cutoff − 2 and cutoff − 1 of a coherent state."""
    return float(np.sum(poisson.pmf([cutoff - 2, cutoff - 1], mean)))


def coherent_mean(delta: float, drive: float, gamma: float) -> float:
    alpha = -1j * drive / (1j * delta + gamma / 2)
    return abs(alpha) ** 2


def destroy(cutoff: int) -> np.ndarray:
    return np.diag(np.sqrt(np.arange(1.0, cutoff)), 1).astype(np.complex128)


def null_space_state(H: np.ndarray, jumps: np.ndarray) -> np.ndarray:
    """The steady state as the null vector of the (column-stacked) superoperator, NumPy/SciPy."""
    n = H.shape[0]
    eye = np.eye(n)
    S = -1j * (np.kron(eye, H) - np.kron(H.T, eye))
    for L in jumps:
        K = L.conj().T @ L
        S += np.kron(L.conj(), L) - 0.5 * (np.kron(eye, K) + np.kron(K.T, eye))
    vec = scipy.linalg.null_space(S, rcond=1e-10)
    assert vec.shape[1] == 1
    rho = vec[:, 0].reshape(n, n).T  # column stacking
    return rho / np.trace(rho)


def marginal_top_two(rho: np.ndarray, dims: tuple[int, ...], mode: int) -> float:
    p = np.real(np.diag(rho)).reshape(dims)
    marginal = p.sum(axis=tuple(i for i in range(len(dims)) if i != mode))
    return float(marginal[-2:].sum())


# ------------------------------------------------------------------------ the driven cavity


def test_driven_cavity_flagged_at_small_cutoff_clean_at_adequate_one():
    mean = coherent_mean(DELTA, F, GAMMA)
    small = qdiss.steady_state(
        reference.driven_cavity(6, DELTA, F, GAMMA), qdiss.DenseLU(), throw=False
    )
    assert small.status == "truncated"
    assert "truncation_tol" in small.message and "cutoff" in small.message
    # The statistic is the Poisson population of levels 4, 5 (≈ 6.2e-3) up to the truncation
    # itself, which lowers the top levels by a few percent at this cutoff.
    np.testing.assert_allclose(
        float(small.stats.top_level_population), poisson_top_two(mean, 6), rtol=0.06
    )
    # Every other check passed: ρ is an accurate steady state of the truncated model.
    assert float(small.stats.residual) < 1e-12

    good = qdiss.steady_state(reference.driven_cavity(12, DELTA, F, GAMMA), qdiss.DenseLU())
    assert good.status == "successful"
    stat = float(good.stats.top_level_population)
    np.testing.assert_allclose(stat, poisson_top_two(mean, 12), rtol=0.02)  # ≈ 5.35e-9
    assert stat < 1e-6

    # throw=True raises with the truncation message.
    with pytest.raises(eqx.EquinoxRuntimeError, match="truncated bosonic mode"):
        qdiss.steady_state(reference.driven_cavity(6, DELTA, F, GAMMA), qdiss.DenseLU())


@pytest.mark.parametrize("solver", [qdiss.SparseLU(), qdiss.Krylov()], ids=["sparse", "krylov"])
def test_other_solvers_report_the_same_statistic(solver):
    sol = qdiss.steady_state(reference.driven_cavity(7, DELTA, F, GAMMA), solver, throw=False)
    assert sol.status == "truncated"
    np.testing.assert_allclose(
        float(sol.stats.top_level_population), poisson_top_two(0.72, 7), rtol=0.05
    )


def test_truncation_tol_is_the_users_and_float32_is_looser():
    L = reference.driven_cavity(9, DELTA, F, GAMMA)  # top two levels: ≈ 1.0e-5
    assert qdiss.steady_state(L, qdiss.DenseLU(), throw=False).status == "truncated"
    sol = qdiss.steady_state(L, qdiss.DenseLU(), truncation_tol=1e-4)
    assert sol.status == "successful"
    assert qdiss.steady_state(L, qdiss.DenseLU(), truncation_tol=float("inf")).succeeded
    strict = qdiss.steady_state(
        reference.driven_cavity(12, DELTA, F, GAMMA), truncation_tol=1e-10, throw=False
    )
    assert strict.status == "truncated"
    with pytest.raises(ValueError, match="truncation_tol"):
        qdiss.steady_state(L, qdiss.DenseLU(), truncation_tol=-1.0)

    # float32: default 1e-4, so the same cutoff is clean; the statistic still matches Poisson.
    f32 = [jnp.float32(x) for x in (DELTA, F, GAMMA)]
    L32 = reference.driven_cavity(9, *f32)
    assert L32.dtype == jnp.complex64
    sol32 = qdiss.steady_state(L32, qdiss.DenseLU())
    assert sol32.status == "successful"
    assert sol32.stats.top_level_population.dtype == jnp.float32
    np.testing.assert_allclose(
        float(sol32.stats.top_level_population), poisson_top_two(0.72, 9), rtol=0.1
    )
    with pytest.raises(eqx.EquinoxRuntimeError, match="truncated bosonic mode"):
        qdiss.steady_state(reference.driven_cavity(7, *f32), qdiss.DenseLU())


def test_under_jit_and_vmap_it_is_one_more_statistic_and_code():
    drives = jnp.array([0.05, 0.6, 1.5])

    @jax.jit
    @jax.vmap
    def solve(drive):
        L = reference.DrivenCavity(8, DELTA, drive, GAMMA).lindbladian()
        sol = qdiss.steady_state(L, qdiss.DenseLU(), throw=False)
        return sol.result, sol.stats.top_level_population

    codes, stats = solve(drives)
    assert np.asarray(codes == qdiss.RESULTS.successful).tolist() == [True, False, False]
    assert np.asarray(codes == qdiss.RESULTS.truncated).tolist() == [False, True, True]
    a = destroy(8)
    for drive, stat in zip(np.asarray(drives), np.asarray(stats), strict=True):
        H = DELTA * a.conj().T @ a + drive * (a + a.conj().T)
        expected = marginal_top_two(null_space_state(H, np.sqrt(GAMMA) * a[None]), (8,), 0)
        np.testing.assert_allclose(stat, expected, rtol=1e-7, atol=1e-14)

    # Gradients are unaffected (the statistic carries none) and the code stays per point.
    grad = jax.grad(
        lambda d: jnp.real(
            qdiss.steady_state(
                reference.DrivenCavity(14, DELTA, d, GAMMA).lindbladian(), qdiss.DenseLU()
            ).rho[0, 0]
        )
    )(0.6)
    mean = coherent_mean(DELTA, 0.6, GAMMA)  # ρ₀₀ = e^{−|α|²}, |α|² = F²/(Δ² + γ²/4)
    np.testing.assert_allclose(float(grad), -np.exp(-mean) * 2 * mean / 0.6, rtol=1e-6)


# ------------------------------------------------------------------- declared and model modes


def test_user_declared_modes_of_two_cavities():
    """Two independent driven cavities, cutoffs 7 and 4: the statistic is the larger of the two
    modes' top-level populations; ``modes`` selects which subsystems count."""
    c1, c2 = 7, 4
    a, b = np.kron(destroy(c1), np.eye(c2)), np.kron(np.eye(c1), destroy(c2))
    drives = (0.3, 0.6)  # |α|² = 0.18 and 0.72
    H = sum(
        DELTA * x.conj().T @ x + f * (x + x.conj().T) for x, f in zip((a, b), drives, strict=True)
    )
    jumps = np.stack([a, b])
    rho_ref = null_space_state(H, jumps)
    expected = [marginal_top_two(rho_ref, (c1, c2), m) for m in (0, 1)]
    # The independent modes are coherent states: the reference agrees with Poisson too.
    poisson_reference = [
        poisson_top_two(coherent_mean(DELTA, f, 1.0), c)
        for f, c in zip(drives, (c1, c2), strict=True)
    ]
    np.testing.assert_allclose(expected, poisson_reference, rtol=0.15)  # cutoff 4: ~10% off

    both = qdiss.Lindbladian(H, jumps, dims=(c1, c2), modes=(0, 1))
    assert both.modes == (0, 1)
    sol = qdiss.steady_state(both, qdiss.DenseLU(), throw=False)
    np.testing.assert_allclose(np.asarray(both.top_level_populations(sol.rho)), expected, rtol=1e-8)
    np.testing.assert_allclose(float(sol.stats.top_level_population), max(expected), rtol=1e-8)
    assert sol.status == "truncated"  # mode 1 (≈ 0.14)

    first = qdiss.Lindbladian(H, jumps, dims=(c1, c2), modes=[0])
    sol = qdiss.steady_state(first, qdiss.DenseLU(), truncation_tol=1e-3)
    np.testing.assert_allclose(float(sol.stats.top_level_population), expected[0], rtol=1e-8)

    plain = qdiss.Lindbladian(H, jumps, dims=(c1, c2))
    sol = qdiss.steady_state(plain, qdiss.DenseLU())  # no modes: no flag, NaN statistic
    assert sol.status == "successful" and np.isnan(float(sol.stats.top_level_population))
    assert plain.top_level_populations(sol.rho).shape == (0,)


def test_modes_validation():
    H = np.zeros((6, 6))
    with pytest.raises(ValueError, match="`modes` must index `dims`"):
        qdiss.Lindbladian(H, [np.eye(6)], dims=(2, 3), modes=(2,))
    with pytest.raises(ValueError, match="must not repeat"):
        qdiss.Lindbladian(H, [np.eye(6)], dims=(2, 3), modes=(1, 1))
    with pytest.raises(TypeError, match="integer indices"):
        qdiss.Lindbladian(H, [np.eye(6)], dims=(2, 3), modes=(0.5,))
    with pytest.raises(ValueError, match="at least 2 Fock levels"):
        qdiss.Lindbladian(np.zeros((3, 3)), [np.eye(3)], dims=(1, 3), modes=(0,))
    assert qdiss.Lindbladian(H, [np.eye(6)], dims=(6,), modes=0).modes == (0,)


def test_models_declare_their_oscillators():
    assert reference.DrivenCavity(5, 0.1, 0.2, 1.0).lindbladian().modes == (0,)
    assert reference.DrivenKerr(5, 0.1, 0.2, 0.3, 1.0).lindbladian().modes == (0,)
    pair = kerr.KerrPair(3, delta=0.2, U=0.4, G=0.3, kappa=0.7, r=0.5, phi=1.2)
    assert pair.lindbladian().modes == (0, 1)
    assert reference.CooperativeFluorescence(3, 0.5, 1.0).lindbladian().modes == ()


def test_kerr_pair_on_parity_blocks():
    """SectorLindbladian: the statistic from the blocks equals the reference computed from the
    dense null-space state (two-photon drive and loss: the state lives on both parities)."""
    cutoff = 5
    model = kerr.KerrPair(cutoff, delta=0.3, U=0.8, G=0.9, kappa=1.0, r=0.4, phi=0.5, eta=0.2)
    dense = model.lindbladian()
    rho_ref = null_space_state(np.asarray(model.hamiltonian()), np.asarray(model.jump_operators()))
    expected = max(marginal_top_two(rho_ref, (cutoff, cutoff), m) for m in (0, 1))
    assert expected > 1e-3  # cutoff 5 is too small here

    labels = [(i + j) % 2 for i in range(cutoff) for j in range(cutoff)]
    blocks = qdiss.SectorLindbladian(dense, labels, modulus=2)
    assert blocks.modes == (0, 1) and blocks.dense_lindbladian().modes == (0, 1)
    for L in (dense, blocks):
        sol = qdiss.steady_state(L, qdiss.DenseLU(), throw=False)
        assert sol.status == "truncated"
        np.testing.assert_allclose(float(sol.stats.top_level_population), expected, rtol=1e-7)

    # Unequal sectors (padding in the blocks): one driven cavity, labels = photon number mod 3.
    cavity = reference.driven_cavity(8, DELTA, 0.0, GAMMA)  # no drive: the vacuum, clean
    thermal = qdiss.Lindbladian(
        cavity.H, jnp.stack([cavity.jump_ops[0], 0.3 * cavity.jump_ops[0].conj().T]),
        dims=(8,), modes=(0,),
    )  # fmt: skip
    blocks = qdiss.SectorLindbladian(thermal, [k % 3 for k in range(8)], modulus=3)
    sol = qdiss.steady_state(blocks, qdiss.DenseLU(), throw=False)
    # Thermal state: p(k) ∝ x^k with x = 0.09 (rates γ and 0.09γ), truncated at 8 levels.
    p = 0.09 ** np.arange(8)
    np.testing.assert_allclose(
        float(sol.stats.top_level_population), p[-2:].sum() / p.sum(), rtol=1e-7
    )
    assert sol.status == "successful"


def test_no_modes_for_permutation_invariant_states():
    L = qdiss.PermutationInvariantLindbladian(4, linear=(0.3, 0, 0), emission=1.0, pumping=0.1)
    sol = qdiss.steady_state(L, qdiss.DenseLU())
    assert sol.status == "successful" and np.isnan(float(sol.stats.top_level_population))


# ------------------------------------------------------------------------------- printing


def test_solution_and_cli_print_the_statistic():
    sol = qdiss.steady_state(reference.driven_cavity(6, DELTA, F, GAMMA), throw=False)
    text = str(sol)
    assert "status            : truncated" in text and "top Fock levels" in text
    plain = qdiss.steady_state(reference.dicke_dimer(1.0, 1.0), throw=False)
    assert "top Fock levels" not in str(plain)

    from qdiss.cli import _task_steady

    lines = []
    ctx = types.SimpleNamespace(say=lines.append)
    saved = {
        "status": "truncated",
        "residual": 1e-16,
        "succeeded": False,
        "message": "msg",
        "stats": {"top_level_population": 6.2e-3},
        "merits": {"photons": {"value": 0.7}},
    }
    _task_steady._print(ctx, None, saved)
    assert any("top two Fock levels" in line and "6.20e-03" in line for line in lines)
    lines.clear()
    saved["stats"] = {"top_level_population": None}  # NaN saved as null: no modes
    _task_steady._print(ctx, None, saved)
    assert not any("Fock" in line for line in lines)
