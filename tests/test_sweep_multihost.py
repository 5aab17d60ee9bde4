"""qdiss.sweep across two processes joined by ``jax.distributed`` (CPU, gloo collectives).

Two subprocesses, each with two forced host devices, call ``jax.distributed.initialize`` on a
local coordinator and run the same sweep: a driven damped cavity,

    H = Δ a†a + F (a + a†),   L = √γ a,   ⟨n⟩ = F²/(Δ² + γ²/4)   (γ = 1),

on a 3 × 3 grid (9 points, padded to 12 over the 4 devices of the two processes). Both processes
must return the same values as a one-process run in the pytest process and the closed form.
Each process also runs a sweep over its own devices only (``devices=jax.local_devices()``).

``chunk_size=1``: with jaxlib 0.10.2 a batched (vmapped) LAPACK LU on the CPU backend splits its
batch over XLA's intra-op thread pool and blocks a pool thread waiting for the pieces
(``jax::ParallelBatchMap`` → ``BlockingCounter::Wait``). With two devices per process on a
two-core machine, both pool threads can block that way at once and the process hangs: seen
here with chunks of 2 points and 144 × 144 LUs, in one process with two devices as well as in
two processes. One point per chunk gives unbatched LUs, which run inline.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest

import qdiss

CUTOFF = 10
GAMMA = 1.0
AXES = {"delta": np.array([-1.0, 0.0, 0.7]), "F": np.array([0.1, 0.2, 0.3])}
TIMEOUT_S = 240
UNAVAILABLE = "JAX_DISTRIBUTED_UNAVAILABLE"  # what the worker prints if initialize fails


def cavity_fn(p):
    """⟨a†a⟩ in the steady state of the truncated driven damped cavity at point p."""
    a = np.diag(np.sqrt(np.arange(1.0, CUTOFF)), 1).astype(np.complex128)
    num = jnp.asarray(a.conj().T @ a)
    drive = jnp.asarray(a + a.conj().T)
    H = p["delta"].astype(num.dtype) * num + p["F"].astype(num.dtype) * drive
    L = qdiss.Lindbladian(H, jnp.asarray(np.sqrt(GAMMA) * a)[None])
    sol = qdiss.steady_state(L, qdiss.DenseLU(), throw=False)
    return {"n": jnp.real(jnp.trace(num @ sol.rho))}, sol


def closed_form_n(delta, F):
    return F**2 / (delta**2 + GAMMA**2 / 4)


WORKER = textwrap.dedent(
    """
    import json, sys
    process_id, port, tests = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(
            coordinator_address=f"localhost:{port}",
            num_processes=2,
            process_id=process_id,
            initialization_timeout=60,
        )
    except Exception as e:
        print("JAX_DISTRIBUTED_UNAVAILABLE", type(e).__name__, e, flush=True)
        sys.exit(3)

    sys.path.insert(0, tests)
    import qdiss
    from test_sweep_multihost import AXES, cavity_fn

    res = qdiss.sweep(cavity_fn, AXES, chunk_size=1)
    own = qdiss.sweep(cavity_fn, AXES, chunk_size=1, devices=jax.local_devices())
    out = {
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "device_count": jax.device_count(),
        "local_device_count": jax.local_device_count(),
        "num_devices": res.num_devices,
        "own_num_devices": own.num_devices,
        "n": res.values["n"].tolist(),
        "status": res.status.tolist(),
        "residual": res.residual.tolist(),
        "own_n": own.values["n"].tolist(),
        "own_status": own.status.tolist(),
    }
    print("RESULT " + json.dumps(out), flush=True)
    jax.distributed.shutdown()
    """
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _run_two_processes(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    tests = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(i), port, tests],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    outputs, hung = [], False
    try:
        for p in procs:
            try:
                outputs.append(p.communicate(timeout=TIMEOUT_S)[0])
            except subprocess.TimeoutExpired:
                hung = True
                break
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()  # SIGKILL: XLA's preemption notifier swallows SIGTERM
                p.communicate()
    if hung:
        pytest.fail(f"a process of the two-process sweep did not finish in {TIMEOUT_S} s (hang)")
    return [p.returncode for p in procs], outputs


def test_two_process_sweep_matches_one_process_and_closed_form(tmp_path):
    codes, outputs = _run_two_processes(tmp_path)
    if any(code == 3 and UNAVAILABLE in out for code, out in zip(codes, outputs, strict=True)):
        reason = next(line for out in outputs for line in out.splitlines() if UNAVAILABLE in line)
        pytest.skip(f"jax.distributed cannot start on this machine: {reason}")
    for code, out in zip(codes, outputs, strict=True):
        assert code == 0, out[-4000:]

    results = []
    for out in outputs:
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        assert len(lines) == 1, out[-4000:]
        results.append(json.loads(lines[0][len("RESULT ") :]))

    one = qdiss.sweep(cavity_fn, AXES, chunk_size=1)  # one process, one device
    assert one.num_devices == 1 and one.num_succeeded == 9, one
    delta, F = np.meshgrid(AXES["delta"], AXES["F"], indexing="ij")
    exact = closed_form_n(delta, F)
    # rtol 1e-8 covers the truncation at 10 levels (~2e-9 relative at the largest ⟨n⟩, 0.36).
    np.testing.assert_allclose(one.values["n"], exact, rtol=1e-8, atol=0)

    assert sorted(r["process_index"] for r in results) == [0, 1]
    for r in results:
        assert r["process_count"] == 2 and r["device_count"] == 4, r
        assert r["local_device_count"] == 2, r
        assert r["num_devices"] == 4 and r["own_num_devices"] == 2, r
        np.testing.assert_array_equal(r["status"], np.zeros((3, 3)))
        np.testing.assert_array_equal(r["own_status"], np.zeros((3, 3)))
        assert np.all(np.asarray(r["residual"]) < 1e-10), r["residual"]
        for key in ("n", "own_n"):
            np.testing.assert_allclose(r[key], one.values["n"], rtol=1e-11, atol=0)
            np.testing.assert_allclose(r[key], exact, rtol=1e-8, atol=0)
    # Every process holds the whole grid, gathered from both processes' devices.
    np.testing.assert_array_equal(results[0]["n"], results[1]["n"])
