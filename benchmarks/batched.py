"""Batched throughput of vmapped steady states (value, and value + gradient), default solver path.

    uv run python benchmarks/batched.py                 # 64 points, DenseLU, both models
    uv run python benchmarks/batched.py --batch 16 --repeats 2

Two models, each vmapped over ``--batch`` detunings inside one ``jax.jit``:

- ``two-qubit``: two driven qubits with local decay and an XX coupling (n = 4);
- ``kerr-20``: the driven Kerr cavity H = Δa†a + U a†²a² + F(a + a†), L = √γ a, cutoff 20 (n = 20,
  400 unknowns), the model of issue 11's optax reproducer.

For each: compile time (first call) and warm time (median of ``--repeats``) of the value
``vmap(steady_state)`` and of ``value_and_grad`` of the mean photon number / excitation, with the
result code and residual kept as outputs (so XLA cannot drop the post-solve checks), steady states
per second, and the peak resident memory of the process. Run it on two commits in a row to compare
(ratios only: the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _models(jnp, qdiss):
    sm = jnp.array([[0, 1], [0, 0]], dtype=complex)
    eye2 = jnp.eye(2, dtype=complex)
    s1, s2 = jnp.kron(sm, eye2), jnp.kron(eye2, sm)

    def two_qubit(delta, drive):
        H = (
            delta * (s1.conj().T @ s1 + s2.conj().T @ s2)
            + drive * (s1 + s1.conj().T)
            + 0.3 * (s1 + s1.conj().T) @ (s2 + s2.conj().T)
        )
        L = qdiss.Lindbladian(H, [s1, 0.5 * s2])
        return L, s1.conj().T @ s1 + s2.conj().T @ s2

    n = 20
    a = jnp.diag(jnp.sqrt(jnp.arange(1.0, n)), 1).astype(complex)
    ad = a.conj().T

    def kerr(delta, drive):
        H = delta * ad @ a + 0.1 * ad @ ad @ a @ a + drive * (a + ad)
        return qdiss.Lindbladian(H, [a]), ad @ a

    return {"two-qubit": two_qubit, "kerr-20": kerr}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--solver", default="DenseLU")
    ap.add_argument("--label", default="", help="a tag for the JSON lines (e.g. a commit)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import qdiss

    solver = getattr(qdiss, args.solver)()
    deltas = jnp.linspace(-1.0, 1.0, args.batch)
    rows = []
    for name, build in _models(jnp, qdiss).items():

        def one(drive, delta, build=build):
            L, obs = build(delta, drive)
            sol = qdiss.steady_state(L, solver, throw=False)
            value = jnp.real(jnp.trace(obs @ sol.rho))
            return value, (sol.result == qdiss.RESULTS.successful, sol.stats.residual)

        def loss(drive, one=one):
            values, aux = jax.vmap(one, in_axes=(None, 0))(drive, deltas)
            return jnp.mean(values), aux

        value_fn = jax.jit(lambda d, loss=loss: loss(d))
        grad_fn = jax.jit(jax.value_and_grad(loss, has_aux=True))
        for kind, fn in (("value", value_fn), ("value_and_grad", grad_fn)):
            t0 = time.perf_counter()
            out = jax.block_until_ready(fn(0.5))
            compile_s = time.perf_counter() - t0
            times = []
            for i in range(args.repeats):
                t0 = time.perf_counter()
                out = jax.block_until_ready(fn(0.5 + 1e-3 * (i + 1)))
                times.append(time.perf_counter() - t0)
            aux = out[1] if kind == "value" else out[0][1]
            warm = statistics.median(times)
            row = {
                "benchmark": "batched",
                "label": args.label,
                "model": name,
                "kind": kind,
                "solver": args.solver,
                "batch": args.batch,
                "compile_s": round(compile_s - warm, 3),
                "warm_s": round(warm, 4),
                "states_per_s": round(args.batch / warm, 1),
                "all_successful": bool(jnp.all(aux[0])),
                "max_residual": float(jnp.max(aux[1])),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "loadavg_1min": os.getloadavg()[0],
                "jax": jax.__version__,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    print()
    print("| model | kind | batch | compile s | warm s | states/s | ok | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['kind']} | {r['batch']} | {r['compile_s']} | {r['warm_s']} | "
            f"{r['states_per_s']} | {r['all_successful']} | {r['peak_rss_mb']} |"
        )


if __name__ == "__main__":
    main()
