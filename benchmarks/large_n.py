"""Large ensembles: steady state and gradient of the Wineland parameter ξ²_R of the all-to-all
dissipative XYZ model (arXiv:2402.16824), qdiss's permutation-invariant Lindbladian vs QuTiP's PIQS.

    H = (1/N) Σ_{i<j} (J_x σˣᵢσˣⱼ + J_y σʸᵢσʸⱼ + J_z σᶻᵢσᶻⱼ) = Σ_a (2J_a/N) S_a² + const,
    local decay L_i = √γ σ⁻ᵢ,   J_x = 1, J_y = 0.6, J_z = 0.2, γ = 1 (squeezed paramagnet).

    uv run python benchmarks/large_n.py                        # N = 10, 20, 40, 100
    uv run python benchmarks/large_n.py --sizes 10 20 --piqs-timeout 60
    uv run python benchmarks/large_n.py --out results/large_n.jsonl

Every measurement runs in its own subprocess (so that its peak RSS is its own, and a hopeless
QuTiP solve is cut by ``--piqs-timeout`` and ``--piqs-mem-gb``) and prints one JSON line
(``"kind"``: ``"qdiss"`` or ``"piqs"``); a table follows at the end. qdiss records compile and
warm run times separately (``block_until_ready``), for the steady state and for
``jax.value_and_grad`` of ξ²_R with respect to (J_x, J_y, J_z, γ). PIQS is timed for building its
Liouvillian and for ``qutip.steadystate`` (its default, a sparse LU on all ((N/2+1)²)² entries,
physical or not) and, as a working fallback, a SciPy sparse LU of its Liouvillian restricted to the
physical same-j entries ("piqs-physical"). The Holstein–Primakoff limit ξ²_R → R/(R + 2|λ|)
(qdiss.models.emitters) is printed as a check.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

JX, JY, JZ, GAMMA = 1.0, 0.6, 0.2, 1.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def hp_limit() -> float:
    """Holstein–Primakoff (N → ∞) value R/(R + 2|λ|), R = √(γ² + 4Δ²), Δ = J_x + J_y − 2J_z."""
    delta, lam = JX + JY - 2 * JZ, JX - JY
    r = math.sqrt(GAMMA**2 + 4 * delta**2)
    return r / (r + 2 * abs(lam))


def time_value_and_grad(solve, value_and_grad, params, repeats: int) -> tuple:
    """Time a compiled steady-state ``solve`` and ``value_and_grad`` of ξ²_R at ``params``:
    (solution, value, grad, timing fields of the JSON record). Compile time = first call − the
    median of ``repeats`` warm calls."""
    import jax

    def timed(fn):
        t0 = time.perf_counter()
        result = jax.block_until_ready(fn(params))
        return result, time.perf_counter() - t0

    sol, first = timed(solve)
    run = float(np.median([timed(solve)[1] for _ in range(repeats)]))
    (value, grad), grad_first = timed(value_and_grad)
    grad_run = float(np.median([timed(value_and_grad)[1] for _ in range(repeats)]))
    timing = {
        "compile_s": max(first - run, 0.0),
        "run_s": run,
        "grad_compile_s": max(grad_first - grad_run, 0.0),
        "grad_run_s": grad_run,
        "xi2_R": float(value),
        "grad_xi2_R": [float(g) for g in grad],
        "peak_rss_mb": peak_rss_mb(),
        "device": str(jax.devices()[0]),
        "dtype": "complex128",
    }
    return sol, timing


# --- qdiss worker --------------------------------------------------------------------------------


def qdiss_worker(n: int, solver_name: str, repeats: int, out: str) -> dict:
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    import qdiss
    from qdiss._lindbladian.permutation._dicke import num_unknowns
    from qdiss._lindbladian.permutation.lindbladian import PermutationInvariantLindbladian
    from qdiss._lindbladian.permutation.measures import pi_wineland_squeezing

    solvers = {
        "Krylov": qdiss.Krylov(),
        "Krylov-nocheck": qdiss.Krylov(check_uniqueness=False),
        "SparseLU": qdiss.SparseLU(),
        "DenseLU": qdiss.DenseLU(),
        "Auto": qdiss.Auto(),
    }

    def lindbladian(p):
        jx, jy, jz, gamma = p
        quadratic = jnp.diag(jnp.stack([jx, jy, jz])) * (2.0 / n)
        return PermutationInvariantLindbladian(n, quadratic=quadratic, emission=gamma)

    if solver_name == "Perturbative":
        return perturbative_worker(n, lindbladian, repeats, out)
    solver = solvers[solver_name]

    if isinstance(solver, qdiss.Auto):
        solver = solver.select(lindbladian(jnp.array([JX, JY, JZ, GAMMA])))

    @eqx.filter_jit
    def solve(p):
        return qdiss.steady_state(lindbladian(p), solver, throw=False)

    def xi2(p):
        return pi_wineland_squeezing(qdiss.steady_state(lindbladian(p), solver).rho)

    value_and_grad = jax.jit(jax.value_and_grad(xi2))
    params = jnp.array([JX, JY, JZ, GAMMA])
    sol, timing = time_value_and_grad(solve, value_and_grad, params, repeats)
    np.save(out, np.asarray(sol.rho))
    return {
        "kind": "qdiss",
        "N": n,
        "solver": solver.name + ("" if solver_name != "Krylov-nocheck" else "-nocheck"),
        "unknowns": num_unknowns(n),
        "status": sol.status,
        "residual": float(sol.stats.residual),
        "num_steps": int(sol.stats.num_steps),
        "condition_estimate": float(sol.stats.condition_estimate),
        **timing,
    }


def perturbative_worker(n: int, lindbladian, repeats: int, out: str) -> dict:
    """First-order pure-state perturbation theory around J_x = J_y
    (qdiss.perturbative_steady_state): an approximation (error O(λ²)), timed like the solvers."""
    import jax
    import jax.numpy as jnp

    import qdiss
    from qdiss._lindbladian.permutation._dicke import num_unknowns
    from qdiss._lindbladian.permutation.measures import pi_wineland_squeezing

    def solve(p):
        jx, jy, jz, gamma = p
        mean = (jx + jy) / 2
        unperturbed = lindbladian(jnp.stack([mean, mean, jz, gamma]))
        return qdiss.perturbative_steady_state(lindbladian(p), unperturbed)

    value_and_grad = jax.jit(jax.value_and_grad(lambda p: pi_wineland_squeezing(solve(p).rho)))
    params = jnp.array([JX, JY, JZ, GAMMA])
    sol, timing = time_value_and_grad(jax.jit(solve), value_and_grad, params, repeats)
    return {
        "kind": "qdiss",
        "N": n,
        "solver": "Perturbative",
        "unknowns": num_unknowns(n),
        "status": "approximate",
        "residual": float(sol.residual),
        "correction": float(sol.correction),
        **timing,
    }


# --- PIQS worker ---------------------------------------------------------------------------------


def piqs_worker(n: int, method: str, mem_gb: float, out: str) -> dict:
    lim = int(mem_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    import qutip
    import scipy.sparse as sp
    from qutip import piqs
    from scipy.sparse.linalg import splu

    rec: dict = {"kind": "piqs", "N": n, "method": method}
    t0 = time.perf_counter()
    jx, jy, jz = piqs.jspin(n)
    H = (2.0 / n) * (JX * jx * jx + JY * jy * jy + JZ * jz * jz)
    liouvillian = piqs.Dicke(n, hamiltonian=H, emission=GAMMA).liouvillian()
    rec["build_s"] = time.perf_counter() - t0
    nds = piqs.num_dicke_states(n)
    rec["unknowns"] = nds * nds
    sizes = [n + 1 - 2 * b for b in range(n // 2 + 1)]
    offsets = np.cumsum([0, *sizes])
    t0 = time.perf_counter()
    try:
        if method == "piqs-default":
            rho = qutip.steadystate(liouvillian).full()
        else:  # the same Liouvillian on the same-j entries only, sparse LU with a trace row
            rows = [offsets[b] + np.arange(s) for b, s in enumerate(sizes)]
            index = np.concatenate(
                [(r[:, None] + nds * r[None, :]).ravel() for r in rows]
            )  # column-stacked (QuTiP) positions of the block entries
            matrix = sp.csr_matrix(liouvillian.data.as_scipy())[index][:, index]
            # trace row (Σ of the block diagonals) in place of the first equation
            trace_row = np.concatenate([np.ravel(np.eye(s)) for s in sizes]).astype(complex)
            matrix = sp.vstack([sp.csr_matrix(trace_row[None, :]), matrix[1:]])
            rhs = np.zeros(index.size, complex)
            rhs[0] = 1
            x = splu(sp.csc_matrix(matrix)).solve(rhs)
            rho = np.zeros((nds, nds), complex)
            start = 0
            for b, s in enumerate(sizes):
                block = x[start : start + s * s].reshape(s, s)  # index order: row-major
                rho[offsets[b] : offsets[b] + s, offsets[b] : offsets[b] + s] = block
                start += s * s
        rec["status"] = "successful"
    except Exception as e:  # singular matrix, out of memory...
        rec["status"] = "error"
        rec["note"] = f"{type(e).__name__}: {e}"[:300]
        rho = None
    rec["run_s"] = time.perf_counter() - t0
    rec["peak_rss_mb"] = peak_rss_mb()
    if rho is not None:
        np.save(out, rho)
        # residual of the returned state with PIQS's own Liouvillian
        vec = rho.reshape(-1, order="F")
        lv = liouvillian.data.as_scipy() @ vec
        rec["residual"] = float(np.linalg.norm(lv) / np.linalg.norm(vec))
        ops = [jx.full(), jy.full(), jz.full()]
        mean = np.array([np.trace(op @ rho).real for op in ops])
        second = np.array([[np.trace((a @ b + b @ a) @ rho).real / 2 for b in ops] for a in ops])
        cov = second - np.outer(mean, mean)
        e = mean / np.linalg.norm(mean)
        q = np.eye(3) - np.outer(e, e)
        rec["xi2_R"] = float(n * np.linalg.eigvalsh(q @ cov @ q)[1] / (mean @ mean))
    return rec


# --- driver --------------------------------------------------------------------------------------


def run_worker(args_list: list[str], timeout: float) -> dict | None:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", *args_list]
    try:
        proc = subprocess.run(cmd, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "note": f"no result within {timeout:g} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1][:300]
        return {"status": "error", "note": tail}
    return json.loads(lines[-1])


def compare_blocks(ours: np.ndarray, piqs_rho: np.ndarray, n: int) -> float:
    sizes = [n + 1 - 2 * b for b in range(n // 2 + 1)]
    offsets = np.cumsum([0, *sizes])
    diff = 0.0
    for b, s in enumerate(sizes):
        block = piqs_rho[offsets[b] : offsets[b] + s, offsets[b] : offsets[b] + s]
        diff = max(diff, float(np.abs(ours[b, b : b + s, b : b + s] - block).max()))
    return diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 40, 100])
    parser.add_argument(
        "--solvers",
        nargs="+",
        default=["Auto", "Krylov", "Perturbative"],
        help="Perturbative: "
        "first-order approximation (qdiss.perturbative_steady_state), not an exact solver",
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900.0, help="per qdiss measurement")
    parser.add_argument("--piqs-methods", nargs="+", default=["piqs-default", "piqs-physical"])
    parser.add_argument("--piqs-timeout", type=float, default=300.0)
    parser.add_argument("--piqs-mem-gb", type=float, default=12.0)
    parser.add_argument("--out", default=None, help="also write the JSON lines here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        kind, n, *rest = args.worker
        if kind == "qdiss":
            rec = qdiss_worker(int(n), rest[0], int(rest[1]), rest[2])
        else:
            rec = piqs_worker(int(n), rest[0], float(rest[1]), rest[2])
        print(json.dumps(rec))
        return

    records = []
    sink = open(args.out, "w") if args.out else None  # noqa: SIM115

    def emit(rec):
        records.append(rec)
        line = json.dumps(rec)
        print(line, flush=True)
        if sink:
            sink.write(line + "\n")
            sink.flush()

    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            ours = None
            for name in args.solvers:
                path = os.path.join(tmp, f"qdiss-{n}-{name}.npy")
                rec = run_worker(["qdiss", str(n), name, str(args.repeats), path], args.timeout)
                rec = {"kind": "qdiss", "N": n, "requested": name, **rec}
                rec["hp_limit"] = hp_limit()
                if os.path.exists(path) and ours is None:
                    ours = np.load(path)
                emit(rec)
            for method in args.piqs_methods:
                path = os.path.join(tmp, f"piqs-{n}-{method}.npy")
                worker = ["piqs", str(n), method, str(args.piqs_mem_gb), path]
                rec = run_worker(worker, args.piqs_timeout)
                rec = {"kind": "piqs", "N": n, "method": method, **rec}
                if os.path.exists(path) and ours is not None:
                    rec["max_block_diff_vs_qdiss"] = compare_blocks(ours, np.load(path), n)
                emit(rec)
    if sink:
        sink.close()
    print_table(records)


def _fmt(x, spec=".3g"):
    if x is None:
        return "-"
    return format(x, spec) if isinstance(x, float | int) else str(x)


def print_table(records) -> None:
    print("\nqdiss (permutation-invariant, complex128; times in s, compile and run separate)")
    head = (
        f"{'N':>4} {'solver':<16} {'unknowns':>9} {'status':<10} {'steps':>5} {'residual':>9} "
        f"{'compile':>8} {'run':>7} {'grad c.':>8} {'grad run':>8} {'RSS MB':>7} {'xi2_R':>8}"
    )
    print(head)
    for r in records:
        if r["kind"] != "qdiss":
            continue
        print(
            f"{r['N']:>4} {r.get('solver', r.get('requested')):<16} "
            f"{_fmt(r.get('unknowns'), 'd'):>9} "
            f"{r.get('status'):<10} {_fmt(r.get('num_steps')):>5} "
            f"{_fmt(r.get('residual'), '.1e'):>9} "
            f"{_fmt(r.get('compile_s'), '.2f'):>8} {_fmt(r.get('run_s'), '.3f'):>7} "
            f"{_fmt(r.get('grad_compile_s'), '.2f'):>8} {_fmt(r.get('grad_run_s'), '.3f'):>8} "
            f"{_fmt(r.get('peak_rss_mb'), '.0f'):>7} {_fmt(r.get('xi2_R'), '.5f'):>8}"
        )
    print(f"Holstein–Primakoff limit N → ∞: ξ²_R = {hp_limit():.5f}")
    print("\nQuTiP PIQS (Liouvillian on ((N/2+1)²)² entries; times in s)")
    print(
        f"{'N':>4} {'method':<14} {'unknowns':>10} {'status':<9} {'build':>7} {'solve':>8} "
        f"{'residual':>9} {'RSS MB':>7} {'xi2_R':>8} {'max|Δρ| vs qdiss':>17}  note"
    )
    for r in records:
        if r["kind"] != "piqs":
            continue
        print(
            f"{r['N']:>4} {r['method']:<14} {_fmt(r.get('unknowns'), 'd'):>10} "
            f"{r.get('status'):<9} "
            f"{_fmt(r.get('build_s'), '.2f'):>7} {_fmt(r.get('run_s'), '.2f'):>8} "
            f"{_fmt(r.get('residual'), '.1e'):>9} {_fmt(r.get('peak_rss_mb'), '.0f'):>7} "
            f"{_fmt(r.get('xi2_R'), '.5f'):>8} {_fmt(r.get('max_block_diff_vs_qdiss'), '.1e'):>17}"
            f"  {r.get('note', '').strip()[:80]}"
        )
    # growth of the warm gradient time with N (log-log slope between successive sizes)
    by_solver: dict[str, list] = {}
    for r in records:
        if r["kind"] == "qdiss" and r.get("grad_run_s"):
            by_solver.setdefault(r.get("requested", "?"), []).append((r["N"], r["grad_run_s"]))
    for solver, points in by_solver.items():
        points.sort()
        slopes = [
            f"N {a}→{b}: ~N^{math.log(tb / ta) / math.log(b / a):.1f}"
            for (a, ta), (b, tb) in zip(points, points[1:], strict=False)
            if b > a and ta > 0 and tb > 0
        ]
        if slopes:
            print(f"cost growth of value+gradient, {solver}: " + ", ".join(slopes))


if __name__ == "__main__":
    main()
