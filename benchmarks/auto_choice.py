"""Auto's choice vs every qdiss solver and QuTiP direct (issue 11, item 2).

    uv run python benchmarks/auto_choice.py --out auto.jsonl          # the whole table
    uv run python benchmarks/auto_choice.py --problems kerr-40 pi-20  # a subset

For each problem, every qdiss solver (DenseLU, SparseLU, Krylov; the same on the parity blocks
where the model has a conserved parity, ``…+parity``) and ``Auto`` run **each in its own
subprocess** with a timeout (``--timeout``): a hopeless solver is recorded as "timeout", and the
peak resident memory of each measurement is its own. Auto is called as users call it,
``qdiss.steady_state(L)`` on concrete arrays (its choice included in its time), on the dense
Lindbladian (and ``Auto+parity`` on the blocks). QuTiP direct (``qutip.steadystate`` on CSR
operators) runs through steady_state.py's subprocess worker; for the permutation-invariant
problems (``pi-N``: large_n.py's all-to-all XYZ ensemble) the QuTiP column is PIQS's Liouvillian
with ``qutip.steadystate``, as PIQS users run it. Prints one JSON line per measurement and a
table: warm time (median), compile time apart, Auto's pick, Auto / best qdiss, Auto / QuTiP.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402
import large_n  # noqa: E402
import steady_state as S  # noqa: E402

DENSE_PROBLEMS = [
    "kerr-40",
    "thermal-50",
    "two-mode-8",
    "two-mode-12",
    "two-mode-16",
    "xyz-6",
    "xyz-8",
    "all-to-all-6",
]
PI_PROBLEMS = ["pi-20", "pi-100"]
SOLVERS = ["DenseLU", "SparseLU", "Krylov", "Auto"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- workers (subprocesses) -----------------------------------------------------------------------


def dense_worker(pname: str, sname: str, repeats: int, budget: float) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    import equinox as eqx
    import jax.numpy as jnp

    import qdiss

    problem = P.PROBLEMS[pname]()
    H, Ls = problem.arrays()
    L = S.lindbladian_for(qdiss, problem, sname, jnp.asarray(H), jnp.asarray(Ls))
    base = sname.removesuffix(S.SECTORS_SUFFIX)
    if base == "Auto":  # as users call it: eagerly, on concrete arrays (choice included)

        def solve(L):
            return qdiss.steady_state(L, throw=False)

    else:
        solver = getattr(qdiss, base)()

        @eqx.filter_jit
        def solve(L):
            return qdiss.steady_state(L, solver, throw=False)

    sol, first, warm = S.time_compiled(solve, (L,), repeats, budget)
    run = statistics.median(warm)
    rho = np.asarray(S.dense_state(L, sol.rho), np.complex128)
    sup = P.sparse_liouvillian_colstack(H, Ls)
    return {
        "status": sol.status,
        "pick": sol.solver,
        "compile_s": max(first - run, 0.0),
        "run_s": run,
        "repeats": len(warm),
        "residual": P.relative_residual(sup, P.spectral_norm(sup), rho),
        "observable": float(np.real(np.trace(problem.observable @ rho))),
        "peak_rss_mb": peak_rss_mb(),
    }


def run_sub(argv: list[str], timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", *argv]
    try:
        proc = subprocess.run(cmd, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "note": f"no result within --timeout={timeout:g}s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1][:300]
        return {"status": "error", "note": tail}
    return json.loads(lines[-1])


def pi_record(n: int, sname: str, repeats: int, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rho.npy")
        rec = large_n.run_worker(["qdiss", str(n), sname, str(repeats), path], timeout)
    rec = dict(rec or {"status": "error"})
    if sname == "Auto" and "solver" in rec:
        rec["pick"] = rec["solver"]
    return rec


def qutip_record(pname: str, args) -> dict:
    if pname.startswith("pi-"):
        n = int(pname[3:])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "rho.npy")
            worker = ["piqs", str(n), "piqs-default", str(args.qutip_mem_gb), path]
            rec = large_n.run_worker(worker, args.qutip_timeout)
        return dict(rec or {"status": "error"})
    problem = P.PROBLEMS[pname]()
    H, Ls = problem.arrays()
    S.QUTIP_TIMEOUT[0] = args.qutip_timeout
    rec = S.run_qutip(problem, H, Ls, "qutip-direct", args)
    rec.pop("rho", None)
    return rec


# --- driver ---------------------------------------------------------------------------------------


def emit(rec: dict, out) -> None:
    rec["loadavg_1min"] = round(os.getloadavg()[0], 2)
    line = json.dumps(rec, default=float)
    print(line, flush=True)
    if out is not None:
        out.write(line + "\n")
        out.flush()


def fmt(x, spec=".3g") -> str:
    return "—" if x is None else format(x, spec)


def print_table(records: list[dict]) -> None:
    print("\n| problem | solver | status | compile s | warm s | peak RSS MB | load |")
    print("|---|---|---|---|---|---|---|")
    for r in records:
        if r["kind"] != "solve":
            continue
        status = r["status"] + (f" ({r['note']})" if r.get("note") else "")
        name = r["solver"] + (f" → {r['pick']}" if r.get("pick") and "Auto" in r["solver"] else "")
        print(
            f"| {r['problem']} | {name} | {status} | {fmt(r.get('compile_s'))} | "
            f"{fmt(r.get('run_s'))} | {fmt(r.get('peak_rss_mb'), '.0f')} | {r['loadavg_1min']} |"
        )
    print(
        "\n| problem | Auto's pick | Auto s | best qdiss | best s | Auto / best | QuTiP s |"
        " Auto / QuTiP |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for p in dict.fromkeys(r["problem"] for r in records):
        rows = [r for r in records if r["problem"] == p and r["kind"] == "solve"]
        ok = [r for r in rows if r["status"] == "successful" and r.get("run_s") is not None]
        fixed = [r for r in ok if "Auto" not in r["solver"]]
        autos = [r for r in ok if "Auto" in r["solver"]]
        qutip = [r for r in records if r["problem"] == p and r["kind"] == "qutip"]
        if not fixed or not autos:
            print(f"| {p} | — | — | — | — | — | — | — |")
            continue
        best = min(fixed, key=lambda r: r["run_s"])
        auto = min(autos, key=lambda r: r["run_s"])
        q = qutip[0] if qutip else {}
        q_s = q.get("run_s") if q.get("status") == "successful" else None
        ratio_q = fmt(auto["run_s"] / q_s, ".2f") if q_s else f"QuTiP {q.get('status', '—')}"
        print(
            f"| {p} | {auto['solver']} → {auto.get('pick')} | {fmt(auto['run_s'])} | "
            f"{best['solver']} | {fmt(best['run_s'])} | {auto['run_s'] / best['run_s']:.2f} | "
            f"{fmt(q_s)} | {ratio_q} |"
        )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", nargs="*", default=DENSE_PROBLEMS + PI_PROBLEMS)
    ap.add_argument("--solvers", nargs="*", default=SOLVERS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--time-budget", type=float, default=30.0, help="of warm repeats")
    ap.add_argument("--timeout", type=float, default=300.0, help="per qdiss measurement")
    ap.add_argument("--qutip-timeout", type=float, default=300.0)
    ap.add_argument("--qutip-mem-gb", type=float, default=12.0)
    ap.add_argument("--skip", nargs="*", default=[], help="solver:problem pairs to skip")
    ap.add_argument("--out", default=None)
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        pname, sname, repeats, budget = args.worker
        print(json.dumps(dense_worker(pname, sname, int(repeats), float(budget)), default=float))
        return

    out = open(args.out, "w") if args.out else None  # noqa: SIM115
    info = {"kind": "machine", "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    info.update(P.machine_info())
    emit(info, out)
    records: list[dict] = []
    for pname in args.problems:
        rec = {"kind": "qutip", "problem": pname, "solver": "qutip-direct"}
        rec.update(qutip_record(pname, args))
        rec.update(kind="qutip", problem=pname, solver="qutip-direct")
        emit(rec, out)
        records.append(rec)
        names = list(args.solvers)
        if not pname.startswith("pi-") and P.PROBLEMS[pname]().sectors is not None:
            names += [s + S.SECTORS_SUFFIX for s in args.solvers]
        for sname in names:
            rec = {"kind": "solve", "problem": pname, "solver": sname}
            if f"{sname}:{pname}" in args.skip:
                rec.update(status="skipped", note="--skip")
            elif pname.startswith("pi-"):
                if sname.endswith(S.SECTORS_SUFFIX):
                    continue
                rec.update(pi_record(int(pname[3:]), sname, args.repeats, args.timeout))
            else:
                worker = [pname, sname, str(args.repeats), str(args.time_budget)]
                rec.update(run_sub(worker, args.timeout))
            rec.update(kind="solve", problem=pname, solver=sname)  # a PI record has its own
            for key in ("rho", "xi2_R", "grad_xi2_R"):
                rec.pop(key, None)
            emit(rec, out)
            records.append(rec)
    print_table(records)
    if out is not None:
        out.close()


if __name__ == "__main__":
    main()
