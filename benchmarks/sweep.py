"""Throughput of a vmapped, sharded ``qdiss.sweep`` vs a QuTiP loop over the same points.

    uv run python benchmarks/sweep.py --grid 16 --cutoff 10 --chunk-size 32  # the recorded run
    uv run python benchmarks/sweep.py --grid 6 --cutoff 8                     # quick

(the defaults are ``--grid 16 --cutoff 12 --chunk-size 32``). ``--chunk-size`` is the number of
points vmapped together (``qdiss.sweep``'s ``chunk_size``, default 32): 256 points vmapped all at
once hung inside XLA's CPU runtime three times out of three (benchmarks/README.md, "A hang, and the
workaround"); ``--chunk-size 0`` asks for that unchunked sweep anyway.

Model: the driven Kerr resonator H = Δa†a + (U/2)a†²a² + F(a + a†), L = √γ a (Drummond & Walls,
J. Phys. A 13, 725 (1980)), U = 0.5, γ = 1, on a grid Δ ∈ [−2, 2] × F ∈ [0.1, 1.5]; the figure of
merit is ⟨a†a⟩. qdiss: ``qdiss.sweep`` with the solver given by ``--solver`` (every point in one
vmapped, sharded computation; compile time reported separately); QuTiP: ``qutip.steadystate``
(direct sparse LU) in a Python loop. Reports steady states per second for both, their ratio and
the largest difference of ⟨a†a⟩ between the two.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402


def kerr_arrays(cutoff: int):
    a = P.destroy(cutoff)
    ad = a.conj().T
    return a, ad @ a, ad @ ad @ a @ a, a + ad


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grid", type=int, default=16, help="points per axis (grid² in all)")
    ap.add_argument("--cutoff", type=int, default=12)
    ap.add_argument("--solver", default="DenseLU")
    ap.add_argument(
        "--chunk-size",
        type=int,
        default=32,
        help="points vmapped together per device (qdiss.sweep's chunk_size; default 32, its "
        "default); 0 vmaps every point at once (chunk_size=None), which hung on CPU at 256 points",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.chunk_size < 0:
        ap.error("--chunk-size must be a positive integer, or 0 for no chunking")
    chunk_size = args.chunk_size or None

    import jax

    jax.config.update("jax_enable_x64", True)
    # A 16 × 16 sweep hung once with every XLA CPU thread idle (the async-dispatch deadlock with
    # host callbacks, jax-ml/jax#25861; eqx.error_if checks are callbacks). Synchronous dispatch
    # avoids it.
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    import jax.numpy as jnp
    import qutip

    import qdiss

    a, num, kerr, drive = kerr_arrays(args.cutoff)
    U, gamma = 0.5, 1.0
    deltas = np.linspace(-2.0, 2.0, args.grid)
    drives = np.linspace(0.1, 1.5, args.grid)
    solver = getattr(qdiss, args.solver)()
    jump = jnp.asarray(np.sqrt(gamma) * a)[None]

    def fn(p):
        H = p["delta"] * jnp.asarray(num) + U / 2 * jnp.asarray(kerr) + p["F"] * jnp.asarray(drive)
        sol = qdiss.steady_state(qdiss.Lindbladian(H, jump), solver, throw=False)
        return {"n": jnp.real(jnp.trace(jnp.asarray(num) @ sol.rho))}, sol

    axes = {"delta": deltas, "F": drives}
    t0 = time.perf_counter()
    res = qdiss.sweep(fn, axes, chunk_size=chunk_size)
    first = time.perf_counter() - t0
    warm = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = qdiss.sweep(fn, axes, chunk_size=chunk_size)
        jax.block_until_ready(res.values["n"])
        warm.append(time.perf_counter() - t0)
    q_run = float(np.median(warm))
    points = args.grid**2

    t0 = time.perf_counter()
    ref = np.empty((args.grid, args.grid))
    c_ops = [qutip.Qobj(np.sqrt(gamma) * a)]
    for i, d in enumerate(deltas):
        for j, f in enumerate(drives):
            H = qutip.Qobj(d * num + U / 2 * kerr + f * drive)
            rho = qutip.steadystate(H, c_ops, method="direct")
            ref[i, j] = np.real(np.trace(num @ rho.full()))
    qutip_s = time.perf_counter() - t0

    rec = dict(
        kind="sweep",
        points=points,
        cutoff=args.cutoff,
        solver=args.solver,
        chunk_size=chunk_size,
        devices=[str(d) for d in jax.devices()],
        qdiss_compile_s=max(first - q_run, 0.0),
        qdiss_run_s=q_run,
        qdiss_points_per_s=points / q_run,
        qutip_run_s=qutip_s,
        qutip_points_per_s=points / qutip_s,
        speedup=qutip_s / q_run,
        successful=int(np.sum(res.succeeded)),
        max_abs_diff_n=float(np.nanmax(np.abs(np.asarray(res.values["n"]) - ref))),
        loadavg_1min=round(os.getloadavg()[0], 2),
    )
    info = P.machine_info()
    info.update(kind="machine", date=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    lines = [json.dumps(info, default=float), json.dumps(rec, default=float)]
    for line in lines:
        print(line)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    print(f"\n## Sweep of {points} Kerr steady states (cutoff {args.cutoff}, {args.solver})\n")
    print("| | run s | steady states / s | compile s |")
    print("|---|---|---|---|")
    print(
        f"| qdiss.sweep ({len(jax.devices())} device(s)) | {q_run:.3g} | "
        f"{points / q_run:.0f} | {rec['qdiss_compile_s']:.2g} |"
    )
    print(f"| QuTiP loop | {qutip_s:.3g} | {points / qutip_s:.0f} | — |")
    print(
        f"\nspeed-up {rec['speedup']:.1f}×; {rec['successful']}/{points} successful; "
        f"max |Δ⟨n⟩| vs QuTiP {rec['max_abs_diff_n']:.1e}"
    )


if __name__ == "__main__":
    main()
