"""Krylov preconditioners on the benchmark problems (issue 14 §4): GMRES steps and times.

    uv run python benchmarks/preconditioners.py                        # every problem
    uv run python benchmarks/preconditioners.py --problems thermal-50 --preconditioners ilu

For each problem × preconditioner: ``qdiss.Krylov(preconditioner=...)`` under ``jax.jit`` (dense
Lindbladian, float64), the GMRES steps of the steady-state solve (``stats.num_steps``), the
compile time (first call − warm call), the median warm time, the relative residual
‖L(ρ)‖_F/(‖L‖₂‖ρ‖_F) measured with an independent column-stacking SciPy Liouvillian, and the
ratio to QuTiP's ``steadystate(method="direct")`` timed in the same process and run. One JSON line
per measurement (``--out FILE`` also writes them), then a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402

PRECONDITIONERS = ["hermitian", "heff", "ilu", "phase", "phase+hermitian"]
PROBLEMS = ["kerr-40", "thermal-50", "two-mode-8", "two-mode-12", "two-mode-16", "xyz-6", "xyz-8"]


def _timed(fn, *args):
    import jax

    t0 = time.perf_counter()
    out = fn(*args)
    jax.block_until_ready(out)
    return out, time.perf_counter() - t0


def qutip_direct(problem, H, Ls, args) -> dict:
    """``qutip.steadystate(method="direct")`` in a subprocess with a timeout
    (``steady_state.py``'s worker): median warm time, or a status."""
    import steady_state

    ns = argparse.Namespace(
        repeats=args.repeats,
        time_budget=30.0,
        qutip_mem_gb=8.0,
        qutip_timeout=args.qutip_timeout,
    )
    return steady_state.run_qutip(problem, H, Ls, "qutip-direct", ns)


def skip_reason(problem, preconditioner: str, args) -> str | None:
    """ILU only up to ``--ilu-max-unknowns`` (SuperLU's ILUTP fill-in makes the factorisation
    alone take tens of seconds on the 4096-unknown problems); the phase-covariant blocks only
    up to ``--phase-max-n`` (memory (2n − 1)n², setup O(n⁴))."""
    if "ilu" in preconditioner and problem.n**2 > args.ilu_max_unknowns:
        return f"skipped: n² > --ilu-max-unknowns {args.ilu_max_unknowns}"
    if "phase" in preconditioner and problem.n > args.phase_max_n:
        return f"skipped: n > --phase-max-n {args.phase_max_n}"
    return None


def qdiss_krylov(problem, H, Ls, preconditioner: str, repeats: int) -> dict:
    import equinox as eqx
    import jax.numpy as jnp

    import qdiss

    L = qdiss.Lindbladian(jnp.asarray(H), jnp.asarray(Ls), dims=problem.dims)
    solver = qdiss.Krylov(preconditioner=preconditioner)

    @eqx.filter_jit
    def solve(L):
        return qdiss.steady_state(L, solver, throw=False)

    sol, first = _timed(solve, L)
    warm = [_timed(solve, L)[1] for _ in range(repeats)]
    run = statistics.median(warm)
    return {
        "status": sol.status,
        "num_steps": int(sol.stats.num_steps),
        "compile_s": max(first - run, 0.0),
        "run_s": run,
        "rho": np.asarray(sol.rho, np.complex128),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=PROBLEMS)
    parser.add_argument("--preconditioners", nargs="+", default=PRECONDITIONERS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    parser.add_argument("--qutip-timeout", type=float, default=60.0)
    parser.add_argument("--ilu-max-unknowns", type=int, default=5000)
    parser.add_argument("--phase-max-n", type=int, default=100)
    args = parser.parse_args(argv)

    import jax

    jax.config.update("jax_enable_x64", True)
    out_file = open(args.out, "w") if args.out else None
    records = []

    def emit(rec):
        line = json.dumps(rec)
        print(line, flush=True)
        if out_file:
            out_file.write(line + "\n")
            out_file.flush()
        records.append(rec)

    emit({"kind": "machine", **P.machine_info()})
    for name in args.problems:
        problem = P.PROBLEMS[name]()
        H, Ls = problem.arrays()
        liouvillian = P.sparse_liouvillian_colstack(H, Ls)
        norm = P.spectral_norm(liouvillian)
        ref = qutip_direct(problem, H, Ls, args)
        ref_s = ref.get("run_s") if ref["status"] == "successful" else None
        emit(
            {
                "kind": "qutip-direct",
                "problem": name,
                "unknowns": problem.n**2,
                "status": ref["status"],
                "run_s": ref_s,
                "residual": (
                    P.relative_residual(liouvillian, norm, ref["rho"]) if "rho" in ref else None
                ),
                "load": os.getloadavg()[0],
            }
        )
        for pre in args.preconditioners:
            reason = skip_reason(problem, pre, args)
            if reason:
                emit({"kind": "krylov", "problem": name, "preconditioner": pre, "status": reason})
                continue
            rec = qdiss_krylov(problem, H, Ls, pre, args.repeats)
            rho = rec.pop("rho")
            emit(
                {
                    "kind": "krylov",
                    "problem": name,
                    "preconditioner": pre,
                    **rec,
                    "residual": P.relative_residual(liouvillian, norm, rho),
                    "x_qutip_direct": rec["run_s"] / ref_s if ref_s else None,
                    "load": os.getloadavg()[0],
                }
            )
    print_table(records)


def print_table(records) -> None:
    rows = [r for r in records if r["kind"] == "krylov"]
    best = {}
    for r in rows:
        if r["status"] == "successful":
            best[r["problem"]] = min(best.get(r["problem"], np.inf), r["num_steps"])
    head = (
        f"{'problem':<12} {'precond':<16} {'status':<11} {'steps':>6} {'×best':>6} "
        f"{'compile s':>9} {'warm s':>8} {'residual':>9} {'×QuTiP':>7} {'load':>5}"
    )
    print("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        if "num_steps" not in r:
            print(f"{r['problem']:<12} {r['preconditioner']:<16} {r['status']}")
            continue
        ratio = r["num_steps"] / best[r["problem"]] if r["problem"] in best else float("nan")
        ref = r["x_qutip_direct"]
        print(
            f"{r['problem']:<12} {r['preconditioner']:<16} {r['status']:<11} "
            f"{r['num_steps']:>6} {ratio:>6.3g} {r['compile_s']:>9.2f} {r['run_s']:>8.3g} "
            f"{r['residual']:>9.1e} {'—' if ref is None else format(ref, '.3g'):>7} "
            f"{r['load']:>5.2f}"
        )


if __name__ == "__main__":
    main()
