"""One Krylov steady-state solve sharded over d devices (issue 14 §5): time, per-device memory
of the state and the same-answer check, d = 1, 2, 4, 8 forced host devices.

    uv run python benchmarks/sharded.py                         # every problem, d = 1 2 4 8
    uv run python benchmarks/sharded.py --devices 1 4 --problems pi-40
    uv run python benchmarks/sharded.py --out results/sharded.jsonl

Problems:

- ``pi-40``, ``pi-100``: the all-to-all dissipative XYZ model of benchmarks/large_n.py
  (arXiv:2402.16824; H = Σ_a (2J_a/N) S_a², local decay √γ σ⁻ᵢ, J = (1, 0.6, 0.2), γ = 1) as a
  permutation-invariant Lindbladian: the state (B, D, D), B = N/2 + 1 blocks split over the
  devices (padded to a multiple of d).
- ``dense-64``: a driven Kerr oscillator at cutoff 64 (H = Δa†a + K a†²a² + F(a + a†),
  L = √κ a; Δ = 0.5, K = 0.05, F = 1.5, κ = 1), ρ (64 × 64) split by rows.

Each (problem, d) runs in its own subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=d`` and solves
``qdiss.steady_state(L, qdiss.Krylov(), devices=d)`` under ``jit`` (d = 1: ``devices=None``,
the unsharded solve): compile s (first call − warm), warm s (median of ``--repeats`` calls),
Krylov steps, the bytes of one GMRES vector on each device as laid out (read from the
shards of an array placed with the solver's sharding; on one device the packed unknowns, which
is what the unsharded solve iterates on) and of the GMRES storage
(restart + 2 such vectors per device), and max |ρ_d − ρ_1| against the one-device answer
(the d = 1 run saves it). One JSON line per run, then a table.

The sharded solve iterates on the padded state (B·D² entries for the blocks, ≈ 3× the
Σ_j (2j+1)² unknowns the one-device solve packs), so for the permutation-invariant problems the
per-device memory falls below the one-device figure only from d = 3 on.

On a CPU the forced host devices share the machine's cores: this shows correctness and how the
memory splits, not a speed-up (on 2 cores, d > 2 devices only add partitioning overhead).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

PROBLEMS = ("pi-40", "pi-100", "dense-64")
RESTART = 40  # Krylov's default restart


def build(problem: str):
    import jax.numpy as jnp

    import qdiss

    if problem.startswith("pi-"):
        n = int(problem[3:])
        q = jnp.diag(2 * jnp.asarray([1.0, 0.6, 0.2]) / n)
        return qdiss.PermutationInvariantLindbladian(n, quadratic=q, emission=1.0)
    cutoff = int(problem.split("-")[1])
    a = jnp.diag(jnp.sqrt(jnp.arange(1.0, cutoff)), 1).astype(complex)
    ad = a.conj().T
    H = 0.5 * ad @ a + 0.05 * ad @ ad @ a @ a + 1.5 * (a + ad)
    return qdiss.Lindbladian(H, [a])


def worker(problem: str, devices: int, repeats: int, reference: str) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    import qdiss
    from qdiss._solution import result_codes, result_name
    from qdiss._solver._sharding import AXIS, StateLayout

    assert len(jax.devices()) == devices, jax.devices()
    L = build(problem)
    sharded = None if devices == 1 else devices

    @jax.jit
    def solve(L):
        sol = qdiss.steady_state(L, qdiss.Krylov(restart=RESTART), devices=sharded, throw=False)
        return sol.rho, sol.result, sol.stats.num_steps, sol.stats.residual

    def timed():
        t0 = time.perf_counter()
        out = jax.block_until_ready(solve(L))
        return out, time.perf_counter() - t0

    out, first = timed()
    warm = float(np.median([timed()[1] for _ in range(repeats)]))
    rho, result, steps, residual = out
    rho = np.asarray(rho)

    # one state vector as the sharded solve lays it out, measured from its shards
    shape = tuple(L.state_shape)
    layout = StateLayout(None if sharded is None else tuple(jax.devices()))
    rows = layout.padded_rows(shape[0])
    mesh = Mesh(np.asarray(jax.devices()), (AXIS,))
    spec = PartitionSpec(AXIS) if sharded else PartitionSpec()
    x = jax.device_put(jnp.zeros((rows, *shape[1:]), complex), NamedSharding(mesh, spec))
    state_bytes = max(s.data.nbytes for s in x.addressable_shards)
    if sharded is None:  # one device: Krylov iterates on the packed unknowns (no padding)
        state_bytes = int(L.physical_indices().size) * np.dtype(complex).itemsize
    if devices == 1:
        np.save(reference, rho)
        diff = 0.0
    else:
        diff = (
            float(np.max(np.abs(rho - np.load(reference)))) if os.path.exists(reference) else None
        )
    return {
        "problem": problem,
        "devices": devices,
        "state_shape": list(shape),
        "unknowns": int(L.physical_indices().size),
        "compile_s": max(first - warm, 0.0),
        "warm_s": warm,
        "steps": int(steps),
        "residual": float(residual),
        "result": result_name(int(result_codes(result))),
        "state_bytes_per_device": int(state_bytes),
        "gmres_bytes_per_device": int((RESTART + 2) * state_bytes),
        "max_abs_diff_vs_1": diff,
        "load_average": os.getloadavg()[0],
        "backend": str(jax.devices()[0].platform),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=PROBLEMS)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--out", default=None)
    parser.add_argument("--worker", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        problem, devices, reference = args.worker
        print("RESULT" + json.dumps(worker(problem, int(devices), args.repeats, reference)))
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for problem in args.problems:
            reference = os.path.join(tmp, f"{problem}.npy")
            for d in sorted(args.devices):
                env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={d}")
                cmd = [sys.executable, __file__, "--repeats", str(args.repeats)]
                cmd += ["--worker", problem, str(d), reference]
                try:
                    proc = subprocess.run(
                        cmd, env=env, capture_output=True, text=True, timeout=args.timeout
                    )
                    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
                    row = (
                        json.loads(lines[-1][6:])
                        if lines
                        else {"problem": problem, "devices": d, "error": proc.stderr[-500:]}
                    )
                except subprocess.TimeoutExpired:
                    row = {"problem": problem, "devices": d, "error": f"timeout {args.timeout}s"}
                print(json.dumps(row), flush=True)
                rows.append(row)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")

    print()
    print(
        "| problem | devices | unknowns | compile s | warm s | steps | state/device | "
        "GMRES storage/device | max abs diff vs 1 | load |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if "error" in r:
            print(f"| {r['problem']} | {r['devices']} | failed: {r['error'][:60]} |")
            continue
        diff = r["max_abs_diff_vs_1"]
        diff = "—" if r["devices"] == 1 or diff is None else f"{diff:.1e}"
        print(
            f"| {r['problem']} | {r['devices']} | {r['unknowns']} | {r['compile_s']:.1f} | "
            f"{r['warm_s']:.2f} | {r['steps']} | {r['state_bytes_per_device'] / 1e6:.3f} MB | "
            f"{r['gmres_bytes_per_device'] / 1e6:.1f} MB | {diff} | {r['load_average']:.1f} |"
        )


if __name__ == "__main__":
    main()
