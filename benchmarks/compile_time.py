"""Compile time of the steady state + gradient of the all-to-all XYZ emitter model vs N.

The program measured is ``benchmarks/large_n.py``'s: ξ²_R (Wineland) of the steady state of

    H = Σ_a (2J_a/N) S_a²,  local decay √γ σ⁻ᵢ,   J = (1, 0.6, 0.2), γ = 1,

on ``qdiss.PermutationInvariantLindbladian`` with ``qdiss.Krylov()``, and ``jax.value_and_grad``
of it with respect to (J_x, J_y, J_z, γ), under one ``jax.jit``.

    uv run python benchmarks/compile_time.py                   # N = 1, 10, 40, 100
    uv run python benchmarks/compile_time.py --sizes 10 40 --repeats 3
    uv run python benchmarks/compile_time.py --out results/compile_time.jsonl

Every N runs in its own subprocess (fresh compilation caches, its own peak RSS) and prints one
JSON line; a table follows. Deterministic size metrics first, then times:

- ``equations``: equations of the jaxpr of value_and_grad, nested jaxprs (loops, conds, custom
  rules) included;
- ``hlo_chars``: characters of the lowered StableHLO text;
- ``constants`` / ``constant_bytes``: number and total bytes of the non-scalar constants in it
  (``big_constant_bytes``: the largest one), the static structure baked into the program;
- ``lower_s``, ``compile_s``: ``jit(...).lower(p)`` and ``.compile()`` (``time.perf_counter``,
  median of ``--repeats`` fresh traces, each with JAX's caches cleared; ``lower_cpu_s``,
  ``compile_cpu_s``: the process CPU time of the same, less sensitive to the machine's load
  than wall time, as XLA compiles on one thread), ``warm_s``: median of
  warm calls of the compiled function (``block_until_ready``), ``peak_rss_mb`` of the subprocess.

The machine load (1-minute load average) is recorded with each line: times are only comparable
at the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

import numpy as np

JX, JY, JZ, GAMMA = 1.0, 0.6, 0.2, 1.0

_DTYPE_BYTES = {
    "i1": 1,
    "i8": 1,
    "ui8": 1,
    "i16": 2,
    "i32": 4,
    "ui32": 4,
    "i64": 8,
    "ui64": 8,
    "f16": 2,
    "bf16": 2,
    "f32": 4,
    "f64": 8,
    "complex<f32>": 8,
    "complex<f64>": 16,
}

_CONSTANT = re.compile(r"stablehlo\.constant dense<(.*?)> : tensor<((?:[^<>]|<[^<>]*>)*)>")


def constant_sizes(text: str) -> list[int]:
    """Bytes of every non-splat constant of a StableHLO module text (splats, ``dense<0.0>``,
    are one number however large their shape)."""
    sizes = []
    for value, kind in _CONSTANT.findall(text):
        if not (value.startswith("[") or value.startswith('"0x')):
            continue  # a splat
        # tensor<3x4xf64>, tensor<2x2xcomplex<f64>>
        parts = kind.split("x")
        dims, dtype = [], kind
        for i, part in enumerate(parts):
            if part.isdigit():
                dims.append(int(part))
            else:
                dtype = "x".join(parts[i:])
                break
        sizes.append(int(np.prod(dims, dtype=np.int64)) * _DTYPE_BYTES.get(dtype, 8))
    return sizes


def count_equations(jaxpr) -> int:
    """Equations of a jaxpr, with every nested jaxpr (loop bodies, branches, custom rules)."""
    total = 0
    for eqn in jaxpr.eqns:
        total += 1
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    total += count_equations(inner)
    return total


def worker(n: int, repeats: int, solver_name: str) -> dict:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    import qdiss
    from qdiss._lindbladian.permutation.lindbladian import PermutationInvariantLindbladian
    from qdiss._lindbladian.permutation.measures import pi_wineland_squeezing

    solver = {"Krylov": qdiss.Krylov(), "Krylov-nocheck": qdiss.Krylov(check_uniqueness=False)}[
        solver_name
    ]

    def lindbladian(p):
        jx, jy, jz, gamma = p
        quadratic = jnp.diag(jnp.stack([jx, jy, jz])) * (2.0 / n)
        return PermutationInvariantLindbladian(n, quadratic=quadratic, emission=gamma)

    def xi2(p):
        return pi_wineland_squeezing(qdiss.steady_state(lindbladian(p), solver).rho)

    value_and_grad = jax.value_and_grad(xi2)
    params = jnp.array([JX, JY, JZ, GAMMA])
    equations = count_equations(jax.make_jaxpr(value_and_grad)(params).jaxpr)

    lower_times, compile_times, lower_cpu, compile_cpu = [], [], [], []
    for _ in range(repeats):
        jax.clear_caches()
        jitted = jax.jit(value_and_grad)
        t0, c0 = time.perf_counter(), time.process_time()
        lowered = jitted.lower(params)
        t1, c1 = time.perf_counter(), time.process_time()
        compiled = lowered.compile()
        t2, c2 = time.perf_counter(), time.process_time()
        lower_times.append(t1 - t0)
        compile_times.append(t2 - t1)
        lower_cpu.append(c1 - c0)
        compile_cpu.append(c2 - c1)
    text = lowered.as_text()
    sizes = constant_sizes(text)
    value, grad = jax.block_until_ready(compiled(params))  # first run (allocations)
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(params))
        warm.append(time.perf_counter() - t0)
    return {
        "kind": "compile_time",
        "N": n,
        "solver": solver_name,
        "equations": equations,
        "hlo_chars": len(text),
        "constants": len(sizes),
        "constant_bytes": int(sum(sizes)),
        "big_constant_bytes": int(max(sizes, default=0)),
        "lower_s": float(np.median(lower_times)),
        "compile_s": float(np.median(compile_times)),
        "first_call_s": float(np.median(lower_times) + np.median(compile_times)),
        "lower_cpu_s": float(np.median(lower_cpu)),
        "compile_cpu_s": float(np.median(compile_cpu)),
        "warm_s": float(np.median(warm)),
        "xi2_R": float(value),
        "grad_xi2_R": [float(g) for g in grad],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loadavg_1min": os.getloadavg()[0],
        "device": str(jax.devices()[0]),
        "repeats": repeats,
    }


def table(records: list[dict]) -> str:
    head = (
        "| N | solver | equations | HLO chars | constants (bytes, largest) | lower s | compile s "
        "| lower + compile CPU s | warm s | peak RSS MB | load |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {r['N']} | {r['solver']} | {r['equations']} | {r['hlo_chars']:,} | {r['constants']} "
        f"({r['constant_bytes']:,}, {r['big_constant_bytes']:,}) | {r['lower_s']:.2f} | "
        f"{r['compile_s']:.2f} | {r['lower_cpu_s'] + r['compile_cpu_s']:.2f} "
        f"| {r['warm_s']:.3f} | {r['peak_rss_mb']:.0f} | "
        f"{r['loadavg_1min']:.1f} |"
        for r in records
    ]
    return "\n".join([head, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 40, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--solver", default="Krylov", choices=["Krylov", "Krylov-nocheck"])
    parser.add_argument("--out", default=None, help="also write the JSON lines to this file")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.repeats, args.solver)), flush=True)
        return
    records = []
    for n in args.sizes:
        command = [sys.executable, __file__, "--worker", str(n), "--repeats", str(args.repeats)]
        command += ["--solver", args.solver]
        done = subprocess.run(command, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            record = {"kind": "compile_time", "N": n, "error": done.stderr[-2000:]}
            print(json.dumps(record), flush=True)
            continue
        record = json.loads(lines[-1])
        print(json.dumps(record), flush=True)
        records.append(record)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(record) + "\n")
    print()
    print(table(records))


if __name__ == "__main__":
    main()
