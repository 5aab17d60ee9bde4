"""qdiss.sweep: grid layout, per-point status, chunking, and sharding over several devices."""

import os
import subprocess
import sys
import textwrap

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from magnon_reference import (
    magnon_qubits_lindbladian,
    markov_chain_concurrence,
    x_state_concurrence,
)

import qdiss
from qdiss._sweep import NOT_COMPUTED, SweepResult, SweepState, grid_points, sweep

RATE = [0.12, 0.92]
MU = [0.17, -1.35]
TEMPERATURE = 0.5


def model(eta1, eta2, mu1=MU[0]):
    return {
        "eta": jnp.stack([jnp.asarray(eta1), jnp.asarray(eta2)]),
        "rate": jnp.asarray(RATE),
        "mu": jnp.stack([jnp.asarray(mu1), jnp.asarray(MU[1])]),
        "temperature": jnp.asarray(TEMPERATURE),
    }


def concurrence_fn(p):
    L = magnon_qubits_lindbladian(model(p["eta1"], p["eta2"], p.get("mu1", MU[0])))
    sol = qdiss.steady_state(L, qdiss.DenseLU(), throw=False)
    return {"C": x_state_concurrence(sol.rho), "rho": sol.rho}, sol


def closed_form(eta1, eta2, mu1=MU[0]):
    params = {"eta": [eta1, eta2], "rate": RATE, "mu": [mu1, MU[1]], "temperature": TEMPERATURE}
    return markov_chain_concurrence(params)


def test_grid_order():
    names, coords, flat = grid_points({"a": [1.0, 2.0], "b": [10.0, 20.0, 30.0]})
    assert names == ("a", "b")
    np.testing.assert_array_equal(flat["a"], [1, 1, 1, 2, 2, 2])  # first axis slowest
    np.testing.assert_array_equal(flat["b"], [10, 20, 30, 10, 20, 30])
    np.testing.assert_array_equal(coords["b"], [10, 20, 30])


def test_values_match_closed_form_and_direct_solves_and_failure_is_marked():
    eta1 = [-0.5, 0.3, 1.0]
    eta2 = [0.2, 0.99, 1.0]
    res = sweep(concurrence_fn, {"eta1": eta1, "eta2": eta2})
    assert isinstance(res, SweepResult)
    assert res.shape == (3, 3) and res.values["C"].shape == (3, 3)
    assert res.values["rho"].shape == (3, 3, 4, 4)
    # η = 1 in both channels: the singlet decouples, the steady state is not unique.
    expected_ok = np.ones((3, 3), bool)
    expected_ok[2, 2] = False
    np.testing.assert_array_equal(res.succeeded, expected_ok)
    assert res.status_names()[2, 2] == "non_unique"
    assert res.failures() == [{"eta1": 1.0, "eta2": 1.0, "status": "non_unique"}]
    assert np.isnan(res.values["C"][2, 2]) and np.all(np.isnan(res.values["rho"][2, 2]))
    assert np.all(res.residual[expected_ok] < 1e-12)
    assert "8/9 successful" in str(res) and "non_unique ×1" in str(res)

    for i, e1 in enumerate(eta1):
        for j, e2 in enumerate(eta2):
            if not expected_ok[i, j]:
                continue
            np.testing.assert_allclose(res.values["C"][i, j], closed_form(e1, e2), atol=1e-10)
            direct = qdiss.steady_state(magnon_qubits_lindbladian(model(e1, e2)), qdiss.DenseLU())
            np.testing.assert_allclose(res.values["rho"][i, j], direct.rho, atol=1e-13)
    # Some points are entangled, so the comparison is not only between zeros.
    assert np.nanmax(res.values["C"]) > 0.01

    d = res.to_dict()
    assert set(d) == {"axes", "values", "status", "residual", "succeeded"}
    np.testing.assert_array_equal(d["axes"]["eta2"], eta2)


def test_nonfinite_coordinates_are_marked_and_not_evaluated():
    # A traced NaN parameter gives RESULTS.nonfinite for that point (steady_state checks the
    # inputs per point); the sweep does not evaluate such a point at all.
    _, sol = eqx.filter_jit(concurrence_fn)({"eta1": 0.3, "eta2": 0.5, "mu1": jnp.asarray(jnp.nan)})
    assert sol.status == "nonfinite"
    res = sweep(
        concurrence_fn, {"eta1": [0.3, -0.6], "eta2": [0.5, 0.9], "mu1": [np.nan, 0.17, -0.4]}
    )
    assert res.shape == (2, 2, 3)
    assert np.all(res.status_names()[:, :, 0] == "nonfinite")
    assert np.all(res.succeeded[:, :, 1:])
    assert np.all(np.isnan(res.values["C"][:, :, 0])) and np.all(
        np.isnan(res.raw_values["C"][:, :, 0])
    )
    assert np.all(np.isnan(res.residual[:, :, 0]))
    for i, e1 in enumerate([0.3, -0.6]):
        for j, e2 in enumerate([0.5, 0.9]):
            for k, m in enumerate([0.17, -0.4], start=1):
                np.testing.assert_allclose(
                    res.values["C"][i, j, k], closed_form(e1, e2, m), atol=1e-10
                )


def test_chunking_gives_the_same_result():
    axes = {"eta1": np.linspace(-0.9, 0.9, 7), "eta2": [0.95]}
    whole = sweep(concurrence_fn, axes)
    for chunk in (1, 3):
        part = sweep(concurrence_fn, axes, chunk_size=chunk)
        assert part.chunk_size == chunk
        np.testing.assert_allclose(part.values["rho"], whole.values["rho"], atol=1e-14)
        np.testing.assert_array_equal(part.status, whole.status)
    expected = [closed_form(e, 0.95) for e in axes["eta1"]]
    np.testing.assert_allclose(whole.values["C"][:, 0], expected, atol=1e-10)


def test_blocks_stopped_and_resumed_give_the_uninterrupted_sweep():
    # Blocks of 3 points over 7 (the last padded); stop after the first block, keep the state
    # as plain numpy, resume: bit for bit the uninterrupted block sweep, and the closed form.
    axes = {"eta1": np.linspace(-0.9, 0.9, 7), "eta2": [0.95]}
    full = sweep(concurrence_fn, axes, block_size=3, chunk_size=2)
    assert full.complete and full.state.block_size == 3
    seen = []
    part = sweep(
        concurrence_fn, axes, block_size=3, chunk_size=2, callback=lambda s: seen.append(1) or True
    )
    assert len(seen) == 1 and not part.complete
    np.testing.assert_array_equal(part.state.done, [True] * 3 + [False] * 4)
    assert np.all(part.status[3:, 0] == NOT_COMPUTED) and np.all(np.isnan(part.values["C"][3:]))
    assert part.failures() == [] and "not_computed ×4" in str(part)
    saved = SweepState(
        int(part.state.block_size),
        {k: np.array(v) for k, v in part.state.values.items()},
        np.array(part.state.status),
        np.array(part.state.residual),
    )
    resumed = sweep(concurrence_fn, axes, chunk_size=2, state=saved, callback=seen.append)
    assert len(seen) == 3  # the two blocks left
    for a, b in ((resumed.values, full.values), (resumed.residual, full.residual)):
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(resumed.status, full.status)
    expected = [closed_form(e, 0.95) for e in axes["eta1"]]
    np.testing.assert_allclose(resumed.values["C"][:, 0], expected, atol=1e-10)


def test_values_only_protocol():
    # Without a solution the status is a finiteness check; 1/x at x = 0 is marked nonfinite.
    res = sweep(
        lambda p: {"inv": 1.0 / p["x"], "sum": p["x"] + p["y"]}, {"x": [0.0, 2.0], "y": [1.0, 3.0]}
    )
    np.testing.assert_array_equal(res.succeeded, [[False, False], [True, True]])
    assert set(res.status_names()[0]) == {"nonfinite"}
    np.testing.assert_allclose(res.values["sum"][1], [3.0, 5.0])
    np.testing.assert_allclose(res.values["inv"][1], [0.5, 0.5])
    assert np.all(np.isnan(res.values["sum"][0])) and np.all(res.raw_values["sum"][0] == [1.0, 3.0])
    assert np.all(np.isnan(res.residual))


def test_input_validation():
    with pytest.raises(TypeError, match="non-empty dict"):
        sweep(lambda p: p, {})
    with pytest.raises(ValueError, match="1D"):
        sweep(lambda p: p, {"x": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="chunk_size"):
        sweep(lambda p: p, {"x": [1.0]}, chunk_size=0)
    with pytest.raises(ValueError, match="finite"):
        sweep(lambda p: p, {"x": [np.nan]})


MULTI_DEVICE_SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    assert jax.device_count() == 4, jax.devices()
    from jax.sharding import Mesh, NamedSharding, PartitionSpec
    import qdiss
    from qdiss._sweep import _evaluate, sweep
    sys_path_tests = {tests!r}
    import sys; sys.path.insert(0, sys_path_tests)
    from test_sweep import closed_form, concurrence_fn

    # 15 points on 4 devices: padded to 16, padding stripped.
    axes = {{"eta1": np.linspace(-0.9, 1.0, 3), "eta2": np.linspace(0.1, 1.0, 5)}}
    four = sweep(concurrence_fn, axes, chunk_size=2)
    one = sweep(concurrence_fn, axes, chunk_size=2, devices=jax.devices()[:1])
    assert four.num_devices == 4 and one.num_devices == 1, (four, one)
    np.testing.assert_array_equal(four.status, one.status)
    np.testing.assert_allclose(four.raw_values["rho"], one.raw_values["rho"], atol=1e-14)
    assert four.status_names()[2, 4] == "non_unique" and four.num_succeeded == 14, four
    for i, e1 in enumerate(axes["eta1"]):
        for j, e2 in enumerate(axes["eta2"]):
            if four.succeeded[i, j]:
                np.testing.assert_allclose(four.values["C"][i, j], closed_form(e1, e2), atol=1e-10)

    # The computation itself is laid out over the 4 devices, one block of points each.
    mesh = Mesh(np.asarray(jax.devices()), ("points",))
    sharding = NamedSharding(mesh, PartitionSpec("points"))
    grid = np.linspace(0.1, 0.5, 8).reshape(4, 2)
    points = {{k: jax.device_put(jnp.asarray(grid), sharding) for k in ("eta1", "eta2")}}
    values, status, residual = _evaluate(concurrence_fn, mesh, None, points)
    for x in (values["C"], status, residual):
        assert len(x.sharding.device_set) == 4, x.sharding
        assert sorted(s.data.shape for s in x.addressable_shards) == [(1, 2)] * 4
    print("OK", four)
    """
)


def test_sharded_over_four_cpu_devices():
    tests = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, "-c", MULTI_DEVICE_SCRIPT.format(tests=tests)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "OK SweepResult over eta1 (3) × eta2 (5): 14/15 successful" in proc.stdout
    assert "(on 4 devices)" in proc.stdout
