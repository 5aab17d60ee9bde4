"""Structure of the compiled programs (issue 14 §1): what makes compile time small and nearly
independent of the size, checked on the program itself, never by timing it.

- The steady state + gradient of the permutation-invariant emitter model (benchmarks/
  compile_time.py's program) embeds no large constant: the Dicke tables, the block layout and
  the pack/unpack index maps are computed inside the program, so the lowered text hardly grows
  from N = 10 to N = 40 (before: 16.7 MB of constants at N = 40, growing like N³).
- GMRES applies its operator at one call site (the operator is traced once per solve).
- The in-program layout (``BlockSpace``) equals the NumPy one it replaces.
"""

from __future__ import annotations

import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qdiss
from qdiss._lindbladian._space import BlockSpace
from qdiss._lindbladian.permutation import _dicke
from qdiss._lindbladian.permutation.lindbladian import PermutationInvariantLindbladian
from qdiss._lindbladian.permutation.measures import pi_wineland_squeezing
from qdiss._solver._gmres import gmres_loop

_BENCH = pathlib.Path(__file__).parent.parent / "benchmarks" / "compile_time.py"


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("compile_time", _BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lowered_text(n: int) -> str:
    def xi2(p):
        jx, jy, jz, gamma = p
        lindbladian = PermutationInvariantLindbladian(
            n, quadratic=jnp.diag(jnp.stack([jx, jy, jz])) * (2.0 / n), emission=gamma
        )
        return pi_wineland_squeezing(qdiss.steady_state(lindbladian, qdiss.Krylov()).rho)

    params = jnp.array([1.0, 0.6, 0.2, 1.0])
    return jax.jit(jax.value_and_grad(xi2)).lower(params).as_text()


@pytest.fixture(scope="module")
def lowered():
    return {n: _lowered_text(n) for n in (10, 40)}


def test_constant_sizes_parser():
    """The benchmark's constant counter reads bytes from the tensor type, skipping splats."""
    text = (
        "%0 = stablehlo.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf64>\n"
        '%1 = stablehlo.constant dense<"0x0000000000000000"> : tensor<2x2xcomplex<f64>>\n'
        "%2 = stablehlo.constant dense<0.0> : tensor<100x100xf64>\n"
    )
    assert _benchmark_module().constant_sizes(text) == [24, 64]


def test_no_large_constant_in_the_emitter_program(lowered):
    """N = 40 (21 blocks of up to 41 × 41): no constant above 1 kB in the whole value + gradient
    program (only a few per-block numbers, O(N), remain)."""
    sizes = _benchmark_module().constant_sizes(lowered[40])
    assert max(sizes, default=0) <= 1024
    assert sum(sizes) <= 64 * 1024


def test_program_size_nearly_independent_of_n(lowered):
    """The lowered program grows by less than 10% from N = 10 (286 unknowns) to N = 40
    (11,501 unknowns): no structure grows with N inside it."""
    assert len(lowered[40]) <= 1.1 * len(lowered[10])


def test_gmres_traces_its_operator_once():
    """One call site of A: the operator is traced once, however many restarts and residuals."""
    rng = np.random.default_rng(0)
    a = jnp.asarray(np.eye(6) * 4 + rng.normal(size=(6, 6)))
    b = jnp.asarray(rng.normal(size=6))
    calls = []

    def matvec(v):
        calls.append(1)
        return a @ v

    jax.make_jaxpr(lambda b: gmres_loop(matvec, b, jnp.zeros_like(b), 1e-12, 3, 50, 20))(b)
    assert len(calls) == 1
    y, r_norm, cycles, _, steps = gmres_loop(matvec, b, jnp.zeros_like(b), 1e-12, 3, 50, 20)
    np.testing.assert_allclose(np.asarray(y), np.linalg.solve(np.asarray(a), np.asarray(b)))
    assert float(r_norm) <= 1e-12 and int(cycles) >= 2 and int(steps) >= 6  # restarted


@pytest.mark.parametrize(
    "valid",
    [
        _dicke.valid_mask(5),  # centred squares (permutation-invariant blocks)
        _dicke.valid_mask(6),
        np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0]], bool),  # top-left corners (sectors)
        np.array([[1, 0, 1], [1, 1, 0]], bool),  # not intervals: the NumPy fallback
    ],
)
def test_block_space_in_program_layout_matches_numpy(valid):
    """Pack/unpack, padding, trace and E computed in the program equal the NumPy tables."""
    space = BlockSpace(valid, identity_block=0)
    shape = space.shape
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    index = np.flatnonzero(~space.padding_mask())  # independent: the mask itself
    packed = jax.jit(space.to_physical)(jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(packed), x.reshape(-1)[index])
    unpacked = np.asarray(jax.jit(space.from_physical)(packed))
    expected = np.where(space.padding_mask(), 0, x)
    np.testing.assert_array_equal(unpacked, expected)
    assert space.num_unknowns() == index.size
    np.testing.assert_array_equal(np.asarray(jax.jit(space.padding_array)()), space.padding_mask())
    identity = jax.jit(lambda: space.identity_array(jnp.complex128))()
    np.testing.assert_array_equal(np.asarray(identity), space.identity_state())
    trace = np.sum(np.where(space.padding_mask(), 0, x) * space.trace_weights())
    np.testing.assert_allclose(complex(jax.jit(space.trace)(jnp.asarray(x))), trace)
