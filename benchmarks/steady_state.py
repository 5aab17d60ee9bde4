"""qdiss steady-state solvers vs QuTiP's ``steadystate`` on four physics problems.

    uv run python benchmarks/steady_state.py                 # full run (tens of minutes on 2 cores)
    uv run python benchmarks/steady_state.py --quick         # small subset for development
    uv run python benchmarks/steady_state.py --problems kerr-40 xyz-6 --solvers DenseLU Krylov

Prints one JSON line per measurement (``"kind"``: ``"qutip"``, ``"solve"`` or ``"grad"``) and
readable tables at the end; ``--out FILE`` also writes the JSON lines to FILE. See README.md.

QuTiP runs in a subprocess (``--qutip-timeout`` seconds, ``--qutip-mem-gb`` address-space
limit) so that a hopeless sparse LU is recorded as "timeout" instead of stalling the run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _problems as P  # noqa: E402

QUTIP_METHODS = {
    # sparse LU (SciPy SuperLU, COLAMD ordering) of the trace-augmented CSR Liouvillian
    "qutip-direct": dict(method="direct"),
    # restarted GMRES with an incomplete-LU preconditioner (QuTiP 4's iterative defaults)
    "qutip-gmres-ilu": dict(
        method="iterative-gmres",
        use_precond=True,
        drop_tol=1e-4,
        fill_factor=100,
        rtol=1e-12,
        atol=0.0,
        restart=20,
        maxiter=1000,
    ),
}

QUTIP_TIMEOUT = [300.0]  # set from --qutip-timeout (used by the target summary)

# Solvers whose gradient is not a single implicit linear solve: left out of the gradient
# benchmark unless named in --grad-solvers.
NOT_LINEAR_SOLVE = {"Evolve"}


# --- QuTiP worker (subprocess) -------------------------------------------------------------------


def qutip_worker(inp: str, out: str, name: str, repeats: int, budget: float, mem_gb: float) -> None:
    """Load H, jump ops from ``inp``, run ``qutip.steadystate`` up to ``repeats`` times (stopping
    once ``budget`` seconds are spent), writing ``out`` (npz) after every run. The address space
    is limited to ``mem_gb`` GiB."""
    import resource

    lim = int(mem_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    import qutip

    data = np.load(inp)
    H, Ls, dims = data["H"], data["Ls"], [int(d) for d in data["dims"]]
    qdims = [dims, dims]
    Hq = qutip.Qobj(H, dims=qdims).to("csr")
    cops = [qutip.Qobj(L, dims=qdims).to("csr") for L in Ls]
    kwargs = dict(QUTIP_METHODS[name])
    times: list[float] = []
    tmp = out + ".tmp.npz"
    for _ in range(repeats):
        t0 = time.perf_counter()
        try:
            rho = qutip.steadystate(Hq, cops, **kwargs)
        except Exception as e:  # non-convergence, singular matrix, out of memory...
            np.savez(tmp, error=f"{type(e).__name__}: {e}"[:300], times=np.array(times))
            os.replace(tmp, out)
            return
        times.append(time.perf_counter() - t0)
        np.savez(tmp, rho=rho.full(), times=np.array(times))
        os.replace(tmp, out)
        if sum(times) > budget:
            break


def run_qutip(problem, H, Ls, name: str, args) -> dict:
    """Run one QuTiP method in a subprocess with a timeout; returns a partial record."""
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
        np.savez(inp, H=H, Ls=Ls, dims=np.array(problem.dims))
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--qutip-worker",
            inp,
            out,
            name,
            str(args.repeats + 1),
            str(args.time_budget),
            str(args.qutip_mem_gb),
        ]

        status, err = "successful", None
        try:
            proc = subprocess.run(
                cmd,
                timeout=args.qutip_timeout,
                capture_output=True,
                text=True,
                close_fds=False,  # lets Python use posix_spawn: no fork of the JAX process
            )
            if proc.returncode != 0:
                status, err = "error", (proc.stderr.strip().splitlines() or ["?"])[-1][:300]
        except subprocess.TimeoutExpired:
            status = "timeout"
        rec: dict = {"status": status}
        if os.path.exists(out):
            res = np.load(out)
            times = [float(t) for t in res["times"]]
            if "error" in res:
                rec["status"], err = "error", str(res["error"])
            if "rho" in res:
                rec["rho"] = res["rho"]
                if status == "timeout":  # finished at least one run before the timeout
                    rec["status"] = "successful"
                    err = f"timeout after {len(times)} run(s)"
            if times:
                # the first call pays QuTiP's one-off costs (imports, dispatch): report warm runs
                warm = times[1:] or times
                rec["run_s"] = statistics.median(warm)
                rec["first_s"] = times[0]
                rec["repeats"] = len(warm)
        if err:
            rec["note"] = err
        if rec["status"] == "timeout":
            rec["note"] = f"no result within --qutip-timeout={args.qutip_timeout:g}s"
        return rec


# --- qdiss measurements --------------------------------------------------------------------------


def timed(fn, *a):
    import jax

    t0 = time.perf_counter()
    out = fn(*a)
    jax.block_until_ready(out)
    return out, time.perf_counter() - t0


def time_compiled(fn, args_, repeats: int, budget: float):
    """First call (compile + run), then up to ``repeats`` warm runs (fewer once ``budget``
    seconds of warm runs are spent). Returns (output, first_s, [warm_s...])."""
    out, first = timed(fn, *args_)
    warm: list[float] = []
    for _ in range(repeats):
        out, t = timed(fn, *args_)
        warm.append(t)
        if sum(warm) > budget:
            break
    return out, first, warm


SECTORS_SUFFIX = "+parity"


def lindbladian_for(qdiss, problem, solver_name, H, Ls):
    """The dense Lindbladian, or its parity blocks for a ``…+parity`` solver name."""
    L = qdiss.Lindbladian(H, Ls, dims=problem.dims)
    if solver_name.endswith(SECTORS_SUFFIX):
        labels, charges, modulus = problem.sectors
        L = qdiss.SectorLindbladian(L, labels, jump_charges=charges, modulus=modulus)
    return L


def dense_state(L, rho):
    """ρ as an (n, n) matrix, whatever the Lindbladian's representation."""
    return L.to_dense(rho) if hasattr(L, "to_dense") else rho


def solve_record(problem, solver_name, solver, H, Ls, dtype, args) -> dict:
    import equinox as eqx
    import jax.numpy as jnp

    import qdiss

    L = lindbladian_for(qdiss, problem, solver_name, jnp.asarray(H, dtype), jnp.asarray(Ls, dtype))

    @eqx.filter_jit
    def solve(L, solver):
        sol = qdiss.steady_state(L, solver, throw=False)
        return eqx.tree_at(lambda s: s.rho, sol, dense_state(L, sol.rho))

    sol, first, warm = time_compiled(solve, (L, solver), args.repeats, args.time_budget)
    run = statistics.median(warm)
    stats = sol.stats
    return {
        "status": sol.status,
        "compile_s": max(first - run, 0.0),
        "run_s": run,
        "repeats": len(warm),
        "rho": np.asarray(sol.rho, np.complex128),
        "qdiss_residual": float(stats.residual),
        "num_steps": int(stats.num_steps),
        "condition_estimate": float(stats.condition_estimate),
        "error_estimate": float(stats.error_estimate),
    }


def grad_record(problem, solver_name, solver, dtype, args) -> dict:
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    import qdiss

    names = problem.grad_params
    obs = jnp.asarray(problem.observable, dtype)
    rdtype = jnp.finfo(dtype).dtype

    def fom(theta, solver):
        p = dict(problem.params)
        p.update({k: theta[i] for i, k in enumerate(names)})
        H, Ls = problem.build(p, jnp)
        L = lindbladian_for(qdiss, problem, solver_name, H.astype(dtype), Ls.astype(dtype))
        sol = qdiss.steady_state(L, solver, throw=False)
        rho = dense_state(L, sol.rho)
        return jnp.real(jnp.trace(obs @ rho)), sol.result == qdiss.RESULTS.successful

    theta = jnp.asarray([problem.params[k] for k in names], rdtype)
    forward = eqx.filter_jit(fom)
    grad = eqx.filter_jit(jax.grad(fom, has_aux=True))
    (value, ok), f_first, f_warm = time_compiled(forward, (theta, solver), args.repeats, 1e9)
    (g, g_ok), g_first, g_warm = time_compiled(grad, (theta, solver), args.repeats, 1e9)
    f_run, g_run = statistics.median(f_warm), statistics.median(g_warm)
    return {
        "status": "successful" if bool(ok) and bool(g_ok) else "failed",
        "params": list(names),
        "value": float(value),
        "grad": [float(x) for x in np.asarray(g)],
        "forward_s": f_run,
        "grad_s": g_run,
        "grad_compile_s": max(g_first - g_run, 0.0),
        "grad_ratio": g_run / f_run,
        "repeats": len(g_warm),
    }


# --- driver --------------------------------------------------------------------------------------


def skip_reason(solver_name: str, problem, qutip_direct_ok: bool, args) -> str | None:
    n2 = problem.n**2
    if f"{solver_name}:{problem.name}" in args.skip:
        return "skipped by --skip"
    base = solver_name.removesuffix(SECTORS_SUFFIX)
    size = "n²"
    if base != solver_name:
        n2, size = problem.sector_unknowns(), "Σd²"
    if base == "DenseLU" and n2 > args.dense_max:
        return f"{size} = {n2} > --dense-max {args.dense_max} (dense LU: O(n⁶) time, O(n⁴) memory)"
    if base == "SparseLU" and n2 > args.sparse_max and not qutip_direct_ok:
        return (
            f"{size} = {n2} > --sparse-max {args.sparse_max} and QuTiP direct (the same SuperLU) "
            "did not finish"
        )
    if base == "Evolve" and n2 > args.evolve_max:
        return f"{size} = {n2} > --evolve-max {args.evolve_max}"
    return None


def solvers_for(problem, all_solvers: dict) -> dict:
    """The solvers to run on ``problem``: every selected one, and, where the model has a
    conserved parity, the direct and Krylov solvers again on its blocks (``…+parity``)."""
    out = dict(all_solvers)
    if problem.sectors is not None:
        for name in ("DenseLU", "SparseLU", "Krylov"):
            if name in all_solvers:
                out[name + SECTORS_SUFFIX] = all_solvers[name]
    return out


def error_note(e: Exception) -> str:
    """A one-line summary of an exception (the runtime message of an Equinox error, if any)."""
    text = str(e)
    for line in text.splitlines():
        if "EquinoxRuntimeError:" in line:
            return f"{type(e).__name__}: {line.split('EquinoxRuntimeError:', 1)[1].strip()}"[:300]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:300]


def emit(rec: dict, out_file) -> None:
    if rec.get("kind") != "machine":
        rec["loadavg_1min"] = round(os.getloadavg()[0], 2)  # other jobs on the machine skew times
    line = json.dumps(rec, default=float)
    print(line, flush=True)
    if out_file is not None:
        out_file.write(line + "\n")
        out_file.flush()


def fmt(x, spec=".3g", none="—") -> str:
    if x is None:
        return none
    if isinstance(x, str):
        return x
    return format(x, spec)


def print_tables(records: list[dict]) -> None:
    solves = [r for r in records if r["kind"] in ("qutip", "solve")]
    print("\n## Forward solves\n")
    head = (
        "| problem | n | solver | status | compile s | run s | × QuTiP direct | residual | "
        "max abs dρ vs QuTiP |"
    )
    print(head)
    print("|" + "---|" * 9)
    for r in solves:
        status = r["status"]
        if r.get("note") and r["status"] != "successful":
            status = f"{status}: {r['note']}"
        print(
            f"| {r['problem']} | {r['n']} | {r['solver']} | {status} | "
            f"{fmt(r.get('compile_s'))} | {fmt(r.get('run_s'))} | "
            f"{fmt(r.get('ratio_vs_qutip_direct'), '.2f')} | {fmt(r.get('residual'), '.1e')} | "
            f"{fmt(r.get('max_abs_diff_vs_qutip'), '.1e')} |"
        )
    grads = [r for r in records if r["kind"] == "grad"]
    if grads:
        print("\n## Reverse-mode gradients\n")
        print(
            "| problem | n | solver | status | forward s | grad s | grad/forward | "
            "max rel. diff of ∇ vs first solver |"
        )
        print("|" + "---|" * 8)
        for r in grads:
            print(
                f"| {r['problem']} | {r['n']} | {r['solver']} | {r['status']} | "
                f"{fmt(r.get('forward_s'))} | {fmt(r.get('grad_s'))} | "
                f"{fmt(r.get('grad_ratio'), '.2f')} | {fmt(r.get('grad_spread'), '.1e')} |"
            )
    print("\n## Targets\n")
    problems = list(dict.fromkeys(r["problem"] for r in solves))
    for p in problems:
        ok = [
            r
            for r in solves
            if r["problem"] == p and r["kind"] == "solve" and r["status"] == "successful"
        ]
        direct = [r for r in solves if r["problem"] == p and r["solver"] == "qutip-direct"]
        if not ok:
            print(f"- {p}: no successful qdiss solve")
            continue
        best = min(ok, key=lambda r: r["run_s"])
        msg = f"- {p}: best qdiss {best['solver']} {best['run_s']:.3g} s"
        if direct and direct[0].get("run_s") is not None:
            ratio = best["run_s"] / direct[0]["run_s"]
            verdict = "MET" if ratio <= 1.0 else "MISSED"
            msg += f" = {ratio:.2f}× QuTiP direct ({direct[0]['run_s']:.3g} s): ≤1.0× {verdict}"
        elif direct and direct[0]["status"] == "timeout":
            bound = best["run_s"] / QUTIP_TIMEOUT[0]
            msg += (
                f"; QuTiP direct gave no result in {QUTIP_TIMEOUT[0]:g} s, so the ratio is "
                f"< {bound:.2f}×: ≤1.0× MET"
            )
        elif direct:
            msg += f"; QuTiP direct: {direct[0]['status']} ({direct[0].get('note', '')})"
        if p == "two-mode-16":
            msg += f"; under 10 s: {'MET' if best['run_s'] < 10 else 'MISSED'}"
        print(msg)
    for r in grads:
        verdict = "MET" if r.get("grad_ratio", np.inf) <= 3 else "MISSED"
        print(
            f"- gradient {r['problem']} / {r['solver']}: {fmt(r.get('grad_ratio'), '.2f')}× "
            f"forward: ≤3× {verdict}"
        )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small subset for development")
    ap.add_argument("--problems", nargs="*", default=None, help=f"from {list(P.PROBLEMS)}")
    ap.add_argument("--solvers", nargs="*", default=None, help="qdiss solver names / qutip-*")
    ap.add_argument("--grad-solvers", nargs="*", default=None, help="default: linear-solve ones")
    ap.add_argument("--no-grad", action="store_true", help="skip the gradient benchmark")
    ap.add_argument("--no-qutip", action="store_true", help="skip QuTiP (development only)")
    ap.add_argument("--repeats", type=int, default=3, help="warm runs per measurement (median)")
    ap.add_argument(
        "--time-budget",
        type=float,
        default=120.0,
        help="stop warm repeats of one forward measurement after this many seconds",
    )
    ap.add_argument("--dtype", default="complex128", choices=["complex128", "complex64"])
    ap.add_argument("--qutip-timeout", type=float, default=300.0)
    ap.add_argument("--qutip-mem-gb", type=float, default=12.0)
    ap.add_argument("--dense-max", type=int, default=5000, help="largest n² for DenseLU")
    ap.add_argument("--sparse-max", type=int, default=25000, help="largest n² for SparseLU")
    ap.add_argument("--evolve-max", type=int, default=25000, help="largest n² for Evolve")
    ap.add_argument("--skip", nargs="*", default=[], help="solver:problem pairs to skip")
    ap.add_argument("--out", default=None, help="also write the JSON lines here")
    ap.add_argument("--qutip-worker", nargs=6, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.qutip_worker:
        inp, out, name, repeats, budget, mem_gb = args.qutip_worker
        qutip_worker(inp, out, name, int(repeats), float(budget), float(mem_gb))
        return

    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import qdiss

    if args.quick:
        args.problems = args.problems or ["kerr-40", "two-mode-8"]
        args.repeats = min(args.repeats, 2)
        args.qutip_timeout = min(args.qutip_timeout, 60.0)
    QUTIP_TIMEOUT[0] = args.qutip_timeout
    problem_names = args.problems or list(P.PROBLEMS)
    all_solvers = P.available_solvers(qdiss)
    qutip_names = list(QUTIP_METHODS)
    if args.solvers is not None:
        all_solvers = {k: v for k, v in all_solvers.items() if k in args.solvers}
        qutip_names = [k for k in qutip_names if k in args.solvers or "qutip" in args.solvers]
        if "qutip-direct" not in qutip_names:
            qutip_names.insert(0, "qutip-direct")  # the reference every ratio needs
    if args.no_qutip:
        qutip_names = []
    grad_names = args.grad_solvers
    if grad_names is None:
        grad_names = [k for k in all_solvers if k not in NOT_LINEAR_SOLVE]
    if args.no_grad:
        grad_names = []
    dtype = jnp.dtype(args.dtype)
    device = str(jax.devices()[0])

    out_file = open(args.out, "w") if args.out else None  # noqa: SIM115
    info = P.machine_info()
    info.update(
        kind="machine",
        solvers=list(all_solvers),
        qutip=info.get("qutip"),
        date=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    )
    emit(info, out_file)
    records: list[dict] = []

    for pname in problem_names:
        problem = P.PROBLEMS[pname]()
        H, Ls = problem.arrays()
        sup = P.sparse_liouvillian_colstack(H, Ls)
        norm = P.spectral_norm(sup)
        base = {"problem": problem.name, "n": problem.n, "liouville_dim": problem.n**2}

        # QuTiP first: every qdiss record is compared with QuTiP direct.
        ref_rho, direct_time, direct_ok = None, None, False
        for qname in qutip_names:
            rec = {
                "kind": "qutip",
                **base,
                "solver": qname,
                "device": "cpu (scipy)",
                "dtype": "complex128",
            }
            rec.update(run_qutip(problem, H, Ls, qname, args))
            rho = rec.pop("rho", None)
            if rho is not None:
                rec["residual"] = P.relative_residual(sup, norm, rho)
                rec["observable"] = float(np.real(np.trace(problem.observable @ rho)))
            if qname == "qutip-direct":
                if rho is not None:
                    ref_rho, direct_ok = rho, True
                    direct_time = rec.get("run_s")
            elif ref_rho is not None and rho is not None:
                rec["max_abs_diff_vs_qutip"] = float(np.max(np.abs(rho - ref_rho)))
            if direct_time and rec.get("run_s"):
                rec["ratio_vs_qutip_direct"] = rec["run_s"] / direct_time
            if ref_rho is None and rho is not None:
                ref_rho = rho  # fall back to the GMRES state for the ρ comparison
            emit(rec, out_file)
            records.append(rec)

        problem_solvers = solvers_for(problem, all_solvers)
        for sname, solver in problem_solvers.items():
            rec = {"kind": "solve", **base, "solver": sname, "device": device, "dtype": args.dtype}
            reason = skip_reason(sname, problem, direct_ok, args)
            if reason:
                rec.update(status="skipped", note=reason)
                emit(rec, out_file)
                records.append(rec)
                continue
            try:
                res = solve_record(problem, sname, solver, H, Ls, dtype, args)
            except Exception as e:
                rec.update(status="error", note=error_note(e))
                emit(rec, out_file)
                records.append(rec)
                continue
            rho = res.pop("rho")
            rec.update(res)
            rec["residual"] = P.relative_residual(sup, norm, rho)
            rec["observable"] = float(np.real(np.trace(problem.observable @ rho)))
            if ref_rho is not None:
                rec["max_abs_diff_vs_qutip"] = float(np.max(np.abs(rho - ref_rho)))
            if direct_time:
                rec["ratio_vs_qutip_direct"] = rec["run_s"] / direct_time
            emit(rec, out_file)
            records.append(rec)

        first_grad = None
        problem_grads = list(grad_names)
        problem_grads += [
            k + SECTORS_SUFFIX for k in grad_names if k + SECTORS_SUFFIX in problem_solvers
        ]
        for sname in problem_grads:
            if sname not in problem_solvers:
                continue
            rec = {"kind": "grad", **base, "solver": sname, "device": device, "dtype": args.dtype}
            reason = skip_reason(sname, problem, direct_ok, args)
            if reason:
                continue  # the forward table already says why
            try:
                rec.update(grad_record(problem, sname, problem_solvers[sname], dtype, args))
            except Exception as e:
                rec.update(status="error", note=error_note(e))
                emit(rec, out_file)
                records.append(rec)
                continue
            g = np.asarray(rec["grad"])
            if first_grad is None and rec["status"] == "successful":
                first_grad = (sname, g)
            if first_grad is not None:
                scale = np.max(np.abs(first_grad[1])) or 1.0
                rec["grad_spread"] = float(np.max(np.abs(g - first_grad[1])) / scale)
                rec["grad_reference"] = first_grad[0]
            emit(rec, out_file)
            records.append(rec)

    print_tables(records)
    if out_file is not None:
        out_file.close()


if __name__ == "__main__":
    main()
