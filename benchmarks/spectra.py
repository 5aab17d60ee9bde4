"""Spectra and periodic drives: qdiss against QuTiP in the same run (JSON lines + a table).

    uv run python benchmarks/spectra.py                     # every row below
    uv run python benchmarks/spectra.py --only spectrum --timeout 120
    uv run python benchmarks/spectra.py --out results/spectra.jsonl

Rows (each in its own subprocess: its own peak memory, cut at ``--timeout``):

- ``spectrum``: S(ω) of ⟨A(τ)B(0)⟩ by ``qdiss.spectrum`` (each resolvent solver: DenseResolvent,
  SchurResolvent, KrylovResolvent) against ``qutip.spectrum`` (its default, the eigensolver
  method "es"), on
  - ``kerr-30``: H = 0.3a†a + 0.5a†a†aa + 0.8(a + a†), jump a, n = 30, A = a†, B = a, 51 ω's in
    [−4, 4];
  - ``mollow``: resonance fluorescence of a qubit, H = (Ω/2)σₓ, jump √γ σ₋, Ω = 8, γ = 1,
    A = σ₊, B = σ₋, 481 ω's in [−12, 12] (the Mollow triplet).
- ``periodic``: the time average ρ₀ of the periodic state of the driven Kerr cavity
  H(t) = Δa†a + χa†a†aa + F cos(ωt)(a + a†), jump √κ a, Δ = 0.3, χ = 0.2, κ = 0.5, F = 0.6,
  ω = 0.9, K = 5 harmonics, n = 10 and 30, by ``qdiss.periodic_steady_state`` (continued
  fraction, FloquetKrylov, and FloquetLU at n = 10) against ``qutip.steadystate_fourier``
  (n_it = K). K = 5 leaves ‖ρ_{±K}‖/‖ρ₀‖ ≈ 0.03 on this drive (recorded as ``truncation``), so
  qdiss runs with ``truncation_tol=0.1`` (QuTiP does not check it): both solve the same truncated
  system.

qdiss is timed with compile and warm run apart (the whole call under ``eqx.filter_jit``:
first call − median of ``--repeats`` warm calls); QuTiP has nothing to compile and is timed as the
median of ``--repeats`` calls after one warm-up. Every row records its peak resident memory and the
largest absolute difference of its result from QuTiP's (the spectrum at every ω; ρ₀ entrywise).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

SPECTRUM_PROBLEMS = ("kerr-30", "mollow")
SPECTRUM_METHODS = ("qutip", "DenseResolvent", "SchurResolvent", "KrylovResolvent")
PERIODIC_SIZES = (10, 30)
PERIODIC_METHODS = ("qutip", "FloquetContinuedFraction", "FloquetKrylov", "FloquetLU")
PERIODIC = {"delta": 0.3, "chi": 0.2, "kappa": 0.5, "drive": 0.6, "omega": 0.9, "K": 5}
LU_MAX_N = 10  # FloquetLU factorises (2K+1)n² unknowns densely: n = 30 is 9,900² · 16 B = 1.5 GB


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _destroy(n: int) -> np.ndarray:
    return np.diag(np.sqrt(np.arange(1, n, dtype=np.float64)), 1).astype(np.complex128)


def spectrum_problem(name: str):
    """(H, jump ops, A, B, ω's) as numpy arrays."""
    if name == "kerr-30":
        a = _destroy(30)
        ad = a.conj().T
        H = 0.3 * ad @ a + 0.5 * ad @ ad @ a @ a + 0.8 * (a + ad)
        return H, [a], ad, a, np.linspace(-4.0, 4.0, 51)
    if name == "mollow":
        sm = np.array([[0, 0], [1, 0]], dtype=np.complex128)  # QuTiP's basis: σ₋ = |1⟩⟨0|
        sx = np.array([[0, 1], [1, 0]], dtype=np.complex128)
        rabi, gamma = 8.0, 1.0
        return 0.5 * rabi * sx, [np.sqrt(gamma) * sm], sm.conj().T, sm, np.linspace(-12, 12, 481)
    raise ValueError(name)


def periodic_problem(n: int):
    """(H₀, jump ops, O) with H(t) = H₀ + O cos ωt."""
    p = PERIODIC
    a = _destroy(n)
    ad = a.conj().T
    H0 = p["delta"] * ad @ a + p["chi"] * ad @ ad @ a @ a
    return H0, [np.sqrt(p["kappa"]) * a], p["drive"] * (a + ad)


def _qutip_timed(fn, repeats: int):
    fn()  # warm-up (imports, caches)
    times, out = [], None
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times))


def _qdiss_timed(jax, fn, repeats: int):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    warm = []
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        warm.append(time.perf_counter() - t0)
    run = float(np.median(warm))
    return out, max(first - run, 0.0), run


def worker(kind: str, problem: str, method: str, repeats: int, out: str) -> dict:
    rec: dict = {"kind": kind, "problem": problem, "method": method}
    if method == "qutip":
        import qutip

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "spectrum":
                H, Ls, A, B, omegas = spectrum_problem(problem)
                Q = qutip.Qobj
                result, run = _qutip_timed(
                    lambda: qutip.spectrum(Q(H), omegas, [Q(x) for x in Ls], Q(A), Q(B)), repeats
                )
            else:
                H0, Ls, O = periodic_problem(int(problem.split("-")[1]))
                Q = qutip.Qobj
                result, run = _qutip_timed(
                    lambda: qutip.steadystate_fourier(
                        Q(H0), [Q(x) for x in Ls], Q(O), PERIODIC["omega"], n_it=PERIODIC["K"]
                    ).full(),
                    repeats,
                )
        result = np.asarray(result)
        rec.update(status="successful", run_s=run, qutip=qutip.__version__)
    else:
        import equinox as eqx
        import jax

        jax.config.update("jax_enable_x64", True)
        import qdiss

        solver = getattr(qdiss, method)()
        if kind == "spectrum":
            H, Ls, A, B, omegas = spectrum_problem(problem)
            L = qdiss.Lindbladian(H, np.stack(Ls))

            @eqx.filter_jit
            def call(L, w):
                return qdiss.spectrum(L, w, A, B, solver=solver, throw=False)

            sol, compile_s, run = _qdiss_timed(jax, lambda: call(L, omegas), repeats)
            result = np.asarray(sol.spectrum)
            ok = bool(np.all(np.asarray(sol.result == qdiss.RESULTS.successful)))
            rec["status"] = "successful" if ok else "failed"
            rec["omegas"] = len(omegas)
        else:
            n = int(problem.split("-")[1])
            H0, Ls, O = periodic_problem(n)
            L0 = qdiss.Lindbladian(H0, np.stack(Ls))

            @eqx.filter_jit
            def call(L0, drive):
                return qdiss.periodic_steady_state(
                    L0,
                    drive[None],
                    PERIODIC["omega"],
                    harmonics=PERIODIC["K"],
                    solver=solver,
                    truncation_tol=1e-1,
                    throw=False,
                )

            sol, compile_s, run = _qdiss_timed(jax, lambda: call(L0, 0.5 * O), repeats)
            result = np.asarray(sol.time_average())
            rec["status"] = sol.status
            rec["residual"] = float(sol.stats.residual)
            rec["truncation"] = float(sol.stats.truncation)
            steps = getattr(sol.stats, "num_steps", None)
            if steps is not None:
                rec["num_steps"] = int(steps)
        rec.update(compile_s=compile_s, run_s=run, device=str(jax.devices()[0]))
    np.save(out, result)
    rec["peak_rss_mb"] = peak_rss_mb()
    return rec


def run_worker(args_list: list[str], timeout: float) -> dict:
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


def plan(only: list[str]):
    if "spectrum" in only:
        for problem in SPECTRUM_PROBLEMS:
            for method in SPECTRUM_METHODS:
                yield "spectrum", problem, method
    if "periodic" in only:
        for n in PERIODIC_SIZES:
            for method in PERIODIC_METHODS:
                if method == "FloquetLU" and n > LU_MAX_N:
                    continue
                yield "periodic", f"kerr-{n}", method


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", default=["spectrum", "periodic"])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300.0, help="per row")
    ap.add_argument("--out", default=None)
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        kind, problem, method, repeats, out = args.worker
        print(json.dumps(worker(kind, problem, method, int(repeats), out)))
        return []
    records = []
    sink = open(args.out, "w") if args.out else None  # noqa: SIM115
    with tempfile.TemporaryDirectory() as tmp:
        for kind, problem, method in plan(args.only):
            path = os.path.join(tmp, f"{kind}-{problem}-{method}.npy")
            rec = run_worker([kind, problem, method, str(args.repeats), path], args.timeout)
            rec = {"kind": kind, "problem": problem, "method": method, **rec}
            ref = os.path.join(tmp, f"{kind}-{problem}-qutip.npy")
            if method != "qutip" and os.path.exists(path) and os.path.exists(ref):
                rec["max_abs_diff_vs_qutip"] = float(np.max(np.abs(np.load(path) - np.load(ref))))
            rec["loadavg_1min"] = os.getloadavg()[0]
            records.append(rec)
            line = json.dumps(rec)
            print(line, flush=True)
            if sink:
                sink.write(line + "\n")
    if sink:
        sink.close()
    print_table(records)
    return records


def _fmt(x, spec=".3g"):
    return "-" if x is None else format(x, spec) if isinstance(x, float | int) else str(x)


def print_table(records) -> None:
    print(
        "\n| kind | problem | method | status | compile s | run s | steps | "
        "max abs diff vs QuTiP | peak RSS MB | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        print(
            f"| {r['kind']} | {r['problem']} | {r['method']} | {r.get('status')} | "
            f"{_fmt(r.get('compile_s'), '.2f')} | {_fmt(r.get('run_s'), '.3g')} | "
            f"{_fmt(r.get('num_steps'))} | {_fmt(r.get('max_abs_diff_vs_qutip'), '.1e')} | "
            f"{_fmt(r.get('peak_rss_mb'), '.0f')} | {_fmt(r.get('loadavg_1min'), '.1f')} |"
        )


if __name__ == "__main__":
    main()
