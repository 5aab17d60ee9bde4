"""The shared small helpers (qdiss/_numerics.py) and checks (qdiss/_checks.py): dtype rules,
the PSD square root and its derivative, the minimal perpendicular spin variance, and the
concrete/traced checks. References are closed forms, scipy and numpy."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from qdiss import channels, evolve
from qdiss._baths import correlated_dissipator_jumps
from qdiss._checks import check, check_concrete
from qdiss._numerics import (
    complex_dtype,
    is_double,
    min_perpendicular_variance,
    psd_sqrt,
    real_dtype,
)
from qdiss.models import magnon, reference

C64, C128 = jnp.dtype(jnp.complex64), jnp.dtype(jnp.complex128)


# ------------------------------------------------------------------------------ dtype rules


@pytest.mark.parametrize(
    "inputs, expected",
    [
        ((jnp.zeros(2, jnp.float32),), C64),
        ((jnp.zeros(2, jnp.complex64), jnp.zeros(2, jnp.float32)), C64),
        ((jnp.zeros(2, jnp.float64),), C128),
        ((jnp.zeros(2, jnp.float32), jnp.zeros(2, jnp.float64)), C128),
        ((jnp.zeros(2, jnp.complex64), jnp.zeros(2, jnp.float64)), C128),
        ((jnp.zeros(2, jnp.float32), jnp.zeros(2, jnp.int64)), C64),  # ints carry no precision
        ((jnp.zeros(2, jnp.int32),), C128),  # only ints: the default complex (x64 on in tests)
        ((jnp.zeros(2, bool),), C128),
        ((1.0,), C128),  # a Python float: JAX's default float
        ((), C128),
    ],
)
def test_complex_dtype_rules(inputs, expected):
    assert complex_dtype(*inputs) == expected
    assert real_dtype(*inputs) == jnp.finfo(expected).dtype
    assert is_double(expected) == (expected == C128)


def test_callers_build_the_dtype_of_their_inputs():
    """float32 inputs stay single precision; integer inputs give the default (double) complex
    dtype — before the shared helper, integer-only inputs gave complex64 in these callers."""
    f32 = jnp.float32
    assert reference.driven_cavity_amplitude(f32(0.5), f32(1.0), f32(1.0)).dtype == C64
    assert reference.driven_cavity_amplitude(0.5, 1.0, 1.0).dtype == C128
    assert reference.driven_cavity_amplitude(jnp.asarray(1), 2, 1).dtype == C128
    ops = np.stack([np.diag([1, -1]), np.array([[0, 1], [1, 0]])])
    assert correlated_dissipator_jumps(jnp.eye(2, dtype=f32), ops.astype(np.float32)).dtype == C64
    assert correlated_dissipator_jumps(jnp.eye(2, dtype=f32), jnp.asarray(ops)).dtype == C64
    rho = jnp.eye(4, dtype=jnp.int32)
    assert channels.isotropic_twirl(rho, 2).dtype == C128
    assert channels.isotropic_twirl(rho.astype(jnp.complex64), 2).dtype == C64
    # evolve with a callable generator: the state takes the dtype of rho0 (ints: default)
    sol = evolve(lambda t, r: -r, jnp.asarray([[1, 0], [0, 0]]), jnp.asarray([0.0, 0.1]))
    assert sol.final_state.dtype == C128


# --------------------------------------------------------------------------------- psd_sqrt


def _random_psd(n: int, rank: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, rank)) + 1j * rng.normal(size=(n, rank))
    return x @ x.conj().T


def test_psd_sqrt_matches_scipy():
    a = _random_psd(5, 5, 0)
    expected = scipy.linalg.sqrtm(a)
    np.testing.assert_allclose(np.asarray(psd_sqrt(jnp.asarray(a))), expected, atol=1e-12)
    low_rank = _random_psd(5, 2, 1)  # √ of a singular matrix: eigen-formula on the range
    w, v = np.linalg.eigh(low_rank)
    expected = (v * np.sqrt(np.clip(w, 0, None))) @ v.conj().T
    np.testing.assert_allclose(np.asarray(psd_sqrt(jnp.asarray(low_rank))), expected, atol=1e-7)


def test_psd_sqrt_rank_factor_clips_small_eigenvalues():
    """An eigenvalue between n·eps·λ_max and 100·n·eps·λ_max survives rank_factor 1 only."""
    eps = np.finfo(np.float64).eps
    small = 20 * 2 * eps
    a = jnp.diag(jnp.asarray([1.0, small]))
    assert float(psd_sqrt(a)[1, 1]) == pytest.approx(np.sqrt(small), rel=1e-12)
    assert float(psd_sqrt(a, 100)[1, 1]) == 0.0


def test_psd_sqrt_derivative():
    """Daleckii–Krein: finite differences at a generic point; dA/2 at A = I (degenerate)."""
    a = jnp.asarray(_random_psd(4, 4, 2))
    da = jnp.asarray(_random_psd(4, 4, 3) - _random_psd(4, 4, 4))  # Hermitian direction
    _, tangent = jax.jvp(psd_sqrt, (a,), (da,))
    h = 1e-6
    fd = scipy.linalg.sqrtm(np.asarray(a + h * da)) - scipy.linalg.sqrtm(np.asarray(a - h * da))
    np.testing.assert_allclose(np.asarray(tangent), fd / (2 * h), atol=1e-6)
    eye = jnp.eye(4, dtype=complex)
    _, tangent = jax.jvp(psd_sqrt, (eye,), (da,))
    np.testing.assert_allclose(np.asarray(tangent), np.asarray(da) / 2, atol=1e-12)


# ------------------------------------------------------------- min perpendicular variance


def _brute_force_min_variance(mean, cov) -> float:
    """min over unit n ⟂ mean of nᵀ C n from an orthonormal basis of the plane (numpy)."""
    if np.allclose(mean, 0):
        return float(np.linalg.eigvalsh(cov)[0])
    basis = scipy.linalg.null_space(mean[None, :])  # (3, 2)
    return float(np.linalg.eigvalsh(basis.T @ cov @ basis)[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_min_perpendicular_variance_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=3)
    x = rng.normal(size=(3, 3))
    cov = x @ x.T
    value = min_perpendicular_variance(jnp.asarray(mean), jnp.asarray(cov))
    assert float(value) == pytest.approx(_brute_force_min_variance(mean, cov), rel=1e-12)
    value = min_perpendicular_variance(jnp.zeros(3), jnp.asarray(cov))
    assert float(value) == pytest.approx(_brute_force_min_variance(np.zeros(3), cov), rel=1e-12)


# ----------------------------------------------------------------------------------- checks


def test_check_raises_when_concrete_and_at_run_time_when_traced():
    x = jnp.asarray([1.0, -2.0])
    assert check(x, x > 5, "too big") is x
    with pytest.raises(ValueError, match=r"must be ≥ 0\. Got -2\.0\."):
        check(x, x < 0, "must be ≥ 0.", lambda: f"Got {float(jnp.min(x))}.")
    traced = eqx.filter_jit(lambda y: check(y, y < 0, "must be ≥ 0.", lambda: "never formatted"))
    np.testing.assert_array_equal(np.asarray(traced(jnp.asarray([1.0]))), [1.0])
    with pytest.raises(eqx.EquinoxRuntimeError, match="must be ≥ 0"):
        jax.block_until_ready(traced(x))


def test_check_concrete_is_a_no_op_when_traced():
    with pytest.raises(ValueError, match="negative"):
        check_concrete(jnp.asarray(-1.0) < 0, "negative")
    check_concrete(jnp.asarray(1.0) < 0, "negative")

    def f(y):
        check_concrete(y < 0, "negative")
        return 2 * y

    assert float(jax.jit(f)(jnp.asarray(-1.0))) == -2.0


def test_magnon_model_with_python_floats_is_double_precision():
    """Python-float parameters are double under x64 (they built a float32 model before: the
    precision switch promoted weakly typed inputs with float32); float32 ones stay single."""
    model = magnon.MagnonBathQubits(0.3, 1.0, 0.1, 0.5)
    assert model.eta.dtype == jnp.float64 and model.lindbladian().dtype == C128
    single = magnon.MagnonBathQubits(*(np.float32(x) for x in (0.3, 1.0, 0.1, 0.5, 1.0)))
    assert single.eta.dtype == jnp.float32 and single.lindbladian().dtype == C64
