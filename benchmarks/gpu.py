"""GPU run (issue 14 §6): five sections, each in its own subprocess and time budget, JSON + table.

    bash benchmarks/gpu.sh                      # on a machine with a GPU (≤ 8 minutes in all)
    bash benchmarks/gpu.sh --smoke              # tiny sizes, float64, on the CPU (CI-sized)
    uv run python benchmarks/gpu.py --sections batch bandwidth --budget 200

Sections (``--sections``; each prints JSON lines with ``"section"``, a table follows at the end):

1. ``contract``: a small ``-k`` subset of the solver contract (tests/test_contract.py and
   tests/test_representation_contract.py: ``CONTRACT_K``, 26 of their 145 tests) run by pytest
   twice side by side, in float64 and in float32 (``QDISS_TEST_X64=0``, tests/conftest.py);
   passed / failed counts and the failing names. The
   tolerances of those tests are float64 ones, so float32 failures measure how far single precision
   is from them, not a bug by themselves.
2. ``batch``: ``vmap`` of ``--batch`` (256) steady states of the driven Kerr oscillator
   (benchmarks/_problems.py ``kerr_problem``, n = 50), the detuning δ and the drive ε varied over
   the batch, on the default backend (the GPU) and on the CPU backend (``JAX_PLATFORMS=cpu``) in the
   same run, per solver; compile and warm run apart, states per second, and the largest difference
   of ⟨a†a⟩ between the two backends.
3. ``pi``: the permutation-invariant all-to-all XYZ emitters (benchmarks/large_n.py's model and
   worker), N = 300: steady state and ``value_and_grad`` of ξ²_R w.r.t. (J_x, J_y, J_z, γ).
4. ``two_mode``: two Kerr modes with the two-mode-squeezed bath (``two_mode_problem``), cutoff 40,
   Krylov on every representation of ``TWO_MODE_REPRESENTATIONS`` (today the parity blocks,
   ``qdiss.SectorLindbladian``, as steady_state.py's ``+parity`` rows; add a faster one there).
5. ``bandwidth``: the achieved memory bandwidth of one Krylov (GMRES) step on the N = 300 emitter
   problem, as a fraction of the device's peak (``PEAK_BANDWIDTH``; an unknown device gets the
   achieved figure only). Bytes per step are counted as :func:`gmres_step_bytes` documents: the
   preconditioned operator application's bytes from XLA's own cost analysis of the compiled
   program ("bytes accessed"), plus the Gram–Schmidt and restart traffic of ``_gmres.py``'s
   algorithm counted explicitly in state vectors. Two rows: the operator application alone (its
   XLA bytes / its warm time) and the whole step (bytes per step / (warm solve time / Arnoldi
   steps); the solve's setup is in that time, so the step's figure is a lower bound).

Every section has a time budget (``--budget`` for the whole run, split by ``SECTION_SHARES``); a
measurement that runs out of time prints a row with ``"status": "timeout"`` and the run goes on.
Every measurement runs in its own subprocess (its own peak memory, its own backend), except with
``--in-process`` (the CI smoke test: no timeouts, the caller's jax settings).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

SECTIONS = ("contract", "batch", "pi", "two_mode", "bandwidth")
# shares of --budget per section (the whole run ≤ 8 minutes with the default --budget 440)
SECTION_SHARES = {"contract": 0.24, "batch": 0.26, "pi": 0.19, "two_mode": 0.19, "bandwidth": 0.12}

# Peak HBM bandwidth (bytes/s) by a substring of the device kind, most specific first:
# H100 SXM5 3.35 TB/s, H100 PCIe 2.0 TB/s, H100 NVL 3.9 TB/s, H200 4.8 TB/s (NVIDIA data sheets).
PEAK_BANDWIDTH = (
    ("H100 PCIE", 2.0e12),
    ("H100 NVL", 3.9e12),
    ("H100", 3.35e12),
    ("H200", 4.8e12),
)

# The contract subset: small problems, the dense and Krylov solvers (SparseLU is a CPU host
# callback, Evolve an ODE integration: neither says much about a GPU).
CONTRACT_K = (
    "(test_matches_null_space_reference or test_jit_and_vmap_over_parameters"
    " or test_grad_matches_jvp or test_representation_matches_dense_reference"
    " or test_mv_matches_the_independent_dense_lindbladian or test_pack_unpack_round_trip)"
    " and not sparse and not evolve"
)
CONTRACT_K_SMOKE = "test_matches_null_space_reference and dense and 3-1-0"
CONTRACT_FILES = ("tests/test_contract.py", "tests/test_representation_contract.py")

FULL = {
    "batch": {"n": 50, "batch": 256, "solvers": ["Krylov", "DenseLU"], "repeats": 2},
    "pi": {"N": 300},
    "two_mode": {"cutoff": 40, "representations": None},
    "bandwidth": {"N": 300, "repeats": 5},
}
SMOKE = {
    "batch": {"n": 4, "batch": 4, "solvers": ["Krylov", "DenseLU"], "repeats": 1},
    "pi": {"N": 4},
    "two_mode": {"cutoff": 4, "representations": None},
    "bandwidth": {"N": 4, "repeats": 2},
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _setup_jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def _device_fields(jax) -> dict:
    dev = jax.devices()[0]
    return {"backend": jax.default_backend(), "device": str(dev), "device_kind": dev.device_kind}


def _timed(jax, fn, *args):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - t0


def _first_and_warm(jax, fn, args, repeats: int):
    """(output, first-call seconds, median warm seconds): compile = first − warm."""
    out, first = _timed(jax, fn, *args)
    warm = [_timed(jax, fn, *args)[1] for _ in range(max(repeats, 1))]
    return out, first, float(np.median(warm))


def peak_bandwidth(device_kind: str) -> float | None:
    """The device's peak memory bandwidth in bytes/s from ``PEAK_BANDWIDTH``, or None."""
    kind = device_kind.upper()
    for key, value in PEAK_BANDWIDTH:
        if key in kind:
            return value
    return None


# --- 2. batch ------------------------------------------------------------------------------------


def batch_worker(n: int, batch: int, solver: str, repeats: int, out: str | None) -> dict:
    """vmap of ``batch`` Kerr steady states (δ ∈ [−κ, κ], ε ∈ [8, 24] varied together)."""
    jax = _setup_jax()
    import equinox as eqx
    import jax.numpy as jnp
    from _problems import kerr_problem

    import qdiss

    problem = kerr_problem(n)
    nominal = problem.params
    solver_obj = {"Krylov": qdiss.Krylov(), "DenseLU": qdiss.DenseLU()}[solver]
    num = jnp.asarray(problem.observable)

    @eqx.filter_jit
    def solve(deltas, eps):
        def one(delta, e):
            p = dict(nominal, delta=delta, eps=e)
            with jax.numpy_dtype_promotion("standard"):  # the build mixes real and complex
                H, Ls = problem.build(p, jnp)
            sol = qdiss.steady_state(qdiss.Lindbladian(H, Ls), solver_obj, throw=False)
            value = jnp.real(jnp.trace(num @ sol.rho))
            return value, sol.succeeded, sol.stats.residual

        return jax.vmap(one)(deltas, eps)

    kappa = nominal["kappa"]
    deltas = jnp.linspace(-kappa, kappa, batch)
    eps = jnp.linspace(8.0, 24.0, batch)
    (value, ok, residual), first, warm = _first_and_warm(jax, solve, (deltas, eps), repeats)
    if out:
        np.save(out, np.asarray(value))
    return {
        "n": n,
        "batch": batch,
        "solver": solver,
        "unknowns_per_state": n * n,
        "status": "ok" if bool(np.all(ok)) else "failed",
        "succeeded": int(np.sum(ok)),
        "max_residual": float(np.max(residual)),
        "compile_s": max(first - warm, 0.0),
        "run_s": warm,
        "states_per_s": batch / warm if warm > 0 else None,
        "mean_photons_first_last": [float(value[0]), float(value[-1])],
        "dtype": "complex128",
        **_device_fields(jax),
    }


# --- 3. permutation-invariant emitters ------------------------------------------------------------


def pi_worker(N: int, out: str | None) -> dict:
    """large_n.py's worker (model, timings): Krylov, steady state + value_and_grad of ξ²_R."""
    jax = _setup_jax()
    import large_n

    path = out or os.path.join(tempfile.mkdtemp(), "rho.npy")
    rec = large_n.qdiss_worker(N, "Krylov", 1, path)
    rec.pop("kind", None)
    rec["status"] = "ok" if rec.get("status") == "successful" else rec.get("status")
    rec["hp_limit"] = large_n.hp_limit()
    return {**rec, **_device_fields(jax)}


# --- 4. two modes --------------------------------------------------------------------------------


def _parity_blocks(qdiss, problem, L):
    labels, charges, modulus = problem.sectors
    return qdiss.SectorLindbladian(L, labels, jump_charges=charges, modulus=modulus)


# name → (qdiss, problem, dense Lindbladian) ↦ the representation to solve. A faster (e.g.
# product-structured) representation, once qdiss has one, is one more entry here.
TWO_MODE_REPRESENTATIONS = {"parity": _parity_blocks}


def two_mode_worker(cutoff: int, representation: str, out: str | None) -> dict:
    jax = _setup_jax()
    import equinox as eqx
    import jax.numpy as jnp
    from _problems import two_mode_problem

    import qdiss

    problem = two_mode_problem(cutoff)
    make = TWO_MODE_REPRESENTATIONS[representation]
    H, Ls = problem.arrays()
    num = jnp.asarray(problem.observable)

    @eqx.filter_jit
    def solve(H, Ls):
        L = make(qdiss, problem, qdiss.Lindbladian(H, Ls, dims=problem.dims))
        sol = qdiss.steady_state(L, qdiss.Krylov(), throw=False)
        rho = L.to_dense(sol.rho) if hasattr(L, "to_dense") else sol.rho
        return sol, jnp.real(jnp.trace(num @ rho))

    (sol, photons), first, warm = _first_and_warm(jax, solve, (H, Ls), 1)
    return {
        "cutoff": cutoff,
        "representation": representation,
        "solver": "Krylov",
        "unknowns": problem.sector_unknowns() if representation == "parity" else problem.n**2,
        "status": "ok" if bool(sol.succeeded) else sol.status,
        "residual": float(sol.stats.residual),
        "num_steps": int(sol.stats.num_steps),
        "compile_s": max(first - warm, 0.0),
        "run_s": warm,
        "mean_photons_a": float(photons),
        "dtype": "complex128",
        **_device_fields(jax),
    }


# --- 5. bandwidth --------------------------------------------------------------------------------


def gmres_step_bytes(
    steps: int, restart: int, vector_bytes: int, apply_bytes: float
) -> tuple[float, dict]:
    """Bytes moved per Arnoldi step of ``_gmres.py``'s restarted GMRES(m), averaged over ``steps``
    steps run in cycles of at most m = ``restart``, for states of ``vector_bytes`` bytes and an
    operator application (A P⁻¹) of ``apply_bytes`` bytes.

    Counted in state vectors read or written, each from/to memory once (a lower bound for an
    unfused program):

    - the operator application: ``apply_bytes`` (XLA's cost analysis),
    - modified Gram–Schmidt at the step with k basis vectors: k dot products ⟨v_j, w⟩ (read v_j
      and w: 2 vectors each) and k updates w ← w − h v_j (read v_j, w, write w: 3 each): 5k,
    - the norm of w (read 1) and the new basis vector w/‖w‖ (read 1, write 1): 3,
    - per cycle of c steps: the update y + Σ_j z_j v_j (read c vectors and y, write y: c + 2), and
      the true residual b − A y at the restart (one more application, read b, write r: 2 vectors,
      then r/‖r‖ into the basis: 3 more).

    Returns (bytes per step, the counts behind it).
    """
    if steps < 1:
        raise ValueError("steps must be at least 1")
    full, last = divmod(steps, restart)
    cycles = [restart] * full + ([last] if last else [])
    vectors = 0
    applies = 0
    for c in cycles:
        vectors += sum(5 * k + 3 for k in range(1, c + 1))  # k = 1, ..., c basis vectors
        vectors += (c + 2) + 5
        applies += c + 1
    total = vectors * vector_bytes + applies * apply_bytes
    return total / steps, {
        "cycles": len(cycles),
        "vectors_per_step": vectors / steps,
        "applies_per_step": applies / steps,
    }


def _bytes_accessed(compiled) -> float | None:
    """XLA's "bytes accessed" estimate of a compiled program (None where not reported)."""
    analysis = compiled.cost_analysis()
    if isinstance(analysis, list | tuple):
        analysis = analysis[0] if analysis else None
    if not analysis:
        return None
    value = analysis.get("bytes accessed")
    return float(value) if value is not None else None


def bandwidth_worker(N: int, repeats: int) -> dict:
    """One Krylov step on the N-emitter problem: the operator application and the whole step."""
    jax = _setup_jax()
    import equinox as eqx
    import jax.numpy as jnp
    from large_n import GAMMA, JX, JY, JZ

    import qdiss
    from qdiss._lindbladian.permutation.lindbladian import PermutationInvariantLindbladian
    from qdiss._operator import DeflatedProblem
    from qdiss._solver.krylov import _pack, _unpack

    quadratic = jnp.diag(jnp.array([JX, JY, JZ])) * (2.0 / N)
    L = PermutationInvariantLindbladian(N, quadratic=quadratic, emission=GAMMA)
    solver = qdiss.Krylov(check_uniqueness=False)

    # (a) the preconditioned operator application y ↦ A(P⁻¹ y), as Krylov.solve builds it
    work, precond, _ = solver._working_problem(DeflatedProblem.build(L))
    dynamic, static = eqx.partition((work, precond), eqx.is_array)

    def apply(dynamic, y):
        work, precond = eqx.combine(dynamic, static)
        return _pack(work, work.mv(precond.apply_inverse(_unpack(work, y))))

    y = _pack(work, work.rhs())
    jitted = jax.jit(apply)
    apply_bytes = _bytes_accessed(jitted.lower(dynamic, y).compile())
    _, _, apply_s = _first_and_warm(jax, jitted, (dynamic, y), repeats)
    vector_bytes = int(y.size) * y.dtype.itemsize

    # (b) the whole solve: time per Arnoldi step
    solve = eqx.filter_jit(lambda L: qdiss.steady_state(L, solver, throw=False))
    sol, _, solve_s = _first_and_warm(jax, solve, (L,), 1)
    steps = int(sol.stats.num_steps)

    dev = _device_fields(jax)
    peak = peak_bandwidth(dev["device_kind"])
    rec = {
        "N": N,
        "unknowns": int(y.size),
        "vector_mb": vector_bytes / 2**20,
        "dtype": str(y.dtype),
        "status": "ok" if bool(sol.succeeded) else sol.status,
        "peak_gb_s": peak / 1e9 if peak else None,
        **dev,
    }
    rows = []
    if apply_bytes is not None:
        achieved = apply_bytes / apply_s
        rows.append(
            {
                **rec,
                "what": "operator apply",
                "bytes": apply_bytes,
                "time_s": apply_s,
                "achieved_gb_s": achieved / 1e9,
                "fraction_of_peak": achieved / peak if peak else None,
            }
        )
        step_bytes, counts = gmres_step_bytes(steps, solver.restart, vector_bytes, apply_bytes)
        step_s = solve_s / max(steps, 1)
        achieved = step_bytes / step_s
        rows.append(
            {
                **rec,
                "what": "gmres step",
                "num_steps": steps,
                "restart": solver.restart,
                **counts,
                "bytes": step_bytes,
                "time_s": step_s,
                "achieved_gb_s": achieved / 1e9,
                "fraction_of_peak": achieved / peak if peak else None,
            }
        )
    else:
        rows.append({**rec, "status": "error", "note": "XLA reported no 'bytes accessed'"})
    return {"rows": rows}


# --- 1. contract ---------------------------------------------------------------------------------

_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|deselected|xfailed|xpassed)")


def parse_pytest_summary(text: str) -> dict:
    """Counts of pytest's final summary line ("3 passed, 1 failed, 2 deselected in 4.1s") and the
    names of the failing tests (``FAILED``/``ERROR`` lines of ``-rfE``)."""
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "deselected": 0}
    lines = [line for line in text.splitlines() if line.strip()]
    summary = next((line for line in reversed(lines) if _COUNT.search(line)), "")
    for number, word in _COUNT.findall(summary):
        key = "errors" if word.startswith("error") else word
        if key in counts:
            counts[key] = int(number)
    failing = [
        line.split(" ", 1)[1].split(" - ")[0]
        for line in lines
        if line.startswith(("FAILED ", "ERROR "))
    ]
    return {**counts, "failing": failing[:20]}


def _contract_command(smoke: bool) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rfE",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",  # drops -n auto and the rerun plugin's options (not on every machine)
        *CONTRACT_FILES,
        "-k",
        CONTRACT_K_SMOKE if smoke else CONTRACT_K,
    ]


def contract_rows(dtypes, smoke: bool, timeout: float | None) -> list[dict]:
    """The contract subset under pytest once per dtype, the runs side by side (each its own
    process; on a GPU without preallocation, so that they share its memory)."""
    procs = {}
    t0 = time.perf_counter()
    for dtype in dtypes:
        env = dict(os.environ, QDISS_TEST_X64="1" if dtype == "float64" else "0")
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
        if smoke:
            env["JAX_PLATFORMS"] = "cpu"
        procs[dtype] = subprocess.Popen(
            _contract_command(smoke),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    rows = []
    for dtype, proc in procs.items():
        rec = {"section": "contract", "dtype": dtype}
        left = None if timeout is None else max(timeout - (time.perf_counter() - t0), 0.1)
        try:
            stdout, stderr = proc.communicate(timeout=left)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, _ = proc.communicate()
            rows.append(
                {
                    **rec,
                    "status": "timeout",
                    "note": f"no result within {timeout:g} s",
                    "progress": stdout.splitlines()[0][:80] if stdout else "",
                }
            )
            continue
        counts = parse_pytest_summary(stdout)
        ran = counts["passed"] + counts["failed"] + counts["errors"]
        status = "ok" if ran and not counts["failed"] and not counts["errors"] else "failed"
        if not ran:
            status = "error"
            tail = (stdout + stderr).strip().splitlines() or ["?"]
            rec["note"] = " | ".join(tail[-3:])[:400]
        rows.append({**rec, "status": status, **counts, "wall_s": time.perf_counter() - t0})
    return rows


# --- driver --------------------------------------------------------------------------------------

WORKERS = {
    "machine": lambda: machine_fields(),
    "batch": batch_worker,
    "pi": pi_worker,
    "two_mode": two_mode_worker,
    "bandwidth": bandwidth_worker,
}


def run_worker(name: str, kwargs: dict, platform: str, timeout: float | None, in_process: bool):
    """Rows of one measurement: ``WORKERS[name](**kwargs)`` in a subprocess (``platform`` "cpu"
    forces the CPU backend there) or in this process; a timeout or crash gives one row saying so."""
    if in_process:
        result = WORKERS[name](**kwargs)
        return result["rows"] if "rows" in result else [result]
    env = dict(os.environ)
    if platform == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, json.dumps(kwargs)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [{"status": "timeout", "note": f"no result within {timeout:g} s"}]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1][:300]
        return [{"status": "error", "note": tail}]
    return [json.loads(line) for line in lines]


def _measurements(section: str, sizes: dict, tmp: str):
    """(label fields, worker name, kwargs, platform) of every measurement of a section."""
    if section == "batch":
        cfg = sizes["batch"]
        for solver in cfg["solvers"]:
            for platform in ("default", "cpu"):
                out = os.path.join(tmp, f"batch-{solver}-{platform}.npy")
                kwargs = {k: cfg[k] for k in ("n", "batch", "repeats")}
                yield (
                    {"platform": platform, "solver": solver},
                    "batch",
                    {**kwargs, "solver": solver, "out": out},
                    platform,
                )
    elif section == "pi":
        yield {}, "pi", {"N": sizes["pi"]["N"], "out": None}, "default"
    elif section == "two_mode":
        cfg = sizes["two_mode"]
        for rep in cfg["representations"] or list(TWO_MODE_REPRESENTATIONS):
            kwargs = {"cutoff": cfg["cutoff"], "representation": rep, "out": None}
            yield {"representation": rep}, "two_mode", kwargs, "default"
    elif section == "bandwidth":
        yield {}, "bandwidth", dict(sizes["bandwidth"]), "default"


def run(args) -> list[dict]:
    sizes = SMOKE if args.smoke else FULL
    sizes = json.loads(json.dumps(sizes))  # a copy
    if args.batch is not None:
        sizes["batch"]["batch"] = args.batch
    for item in args.set or []:  # e.g. pi.N=100, two_mode.cutoff=32
        key, value = item.split("=", 1)
        section, field = key.split(".", 1)
        if section not in sizes or field not in sizes[section]:
            raise SystemExit(f"--set {item}: no size {key!r}; sizes are {sizes}")
        sizes[section][field] = json.loads(value)
    start = time.perf_counter()
    records: list[dict] = []

    def emit(rec):
        rec.setdefault("loadavg_1min", os.getloadavg()[0])
        records.append(rec)
        print(json.dumps(rec), flush=True)

    # the device is read in a subprocess: this process never starts a backend (on a GPU it would
    # hold memory the measurements need)
    machine = run_worker("machine", {}, "default", 120.0, args.in_process)[0]
    emit({"section": "machine", **machine})
    with tempfile.TemporaryDirectory() as tmp:
        for section in args.sections:
            left = args.budget - (time.perf_counter() - start)
            budget = min(args.budget * SECTION_SHARES[section], max(left, 1.0))
            section_end = time.perf_counter() + budget
            if section == "contract":
                timeout = None if args.in_process else budget
                for rec in contract_rows(("float64", "float32"), args.smoke, timeout):
                    emit(rec)
                continue
            plan = list(_measurements(section, sizes, tmp))
            for i, (labels, name, kwargs, platform) in enumerate(plan):
                remaining = section_end - time.perf_counter()
                timeout = None if args.in_process else max(remaining / (len(plan) - i), 1.0)
                if timeout is not None and remaining <= 1.0:
                    rows = [{"status": "timeout", "note": "section budget spent"}]
                else:
                    t0 = time.perf_counter()
                    rows = run_worker(name, kwargs, platform, timeout, args.in_process)
                    for row in rows:
                        row.setdefault("wall_s", time.perf_counter() - t0)
                for row in rows:
                    emit({"section": section, **labels, **row})
            if section == "batch":
                _compare_backends(records, tmp, emit)
    emit({"section": "total", "wall_s": time.perf_counter() - start, "budget_s": args.budget})
    return records


def _compare_backends(records, tmp, emit):
    """max |⟨a†a⟩_default − ⟨a†a⟩_cpu| over the batch, per solver, where both finished."""
    for solver in {r.get("solver") for r in records if r["section"] == "batch"}:
        paths = [os.path.join(tmp, f"batch-{solver}-{p}.npy") for p in ("default", "cpu")]
        if all(os.path.exists(p) for p in paths):
            a, b = (np.load(p) for p in paths)
            emit(
                {
                    "section": "batch-compare",
                    "solver": solver,
                    "max_abs_diff_photons": float(np.max(np.abs(a - b))),
                    "status": "ok",
                }
            )


def machine_fields() -> dict:
    import platform

    _setup_jax()
    info = {"python": platform.python_version(), "cpu_count": os.cpu_count()}
    for mod in ("jax", "jaxlib", "lineax", "equinox", "numpy"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception as e:  # a missing package is recorded, not fatal
            info[mod] = f"missing: {type(e).__name__}"
    try:
        import jax

        info.update(_device_fields(jax))
    except Exception as e:
        info["device"] = f"unknown: {type(e).__name__}: {e}"[:200]
    return info


def _fmt(x, spec=".3g"):
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    return format(x, spec) if isinstance(x, float | int) else str(x)


def print_table(records: list[dict]) -> None:
    machine = next((r for r in records if r["section"] == "machine"), {})
    print(
        f"\n## GPU run: {machine.get('device_kind', '?')} ({machine.get('backend', '?')}), "
        f"jax {machine.get('jax', '?')}, load {_fmt(machine.get('loadavg_1min'), '.2f')}"
    )
    print("\n| section | what | status | size | compile s | run s | figure | note |")
    print("|---|---|---|---|---|---|---|---|")
    for r in records:
        s = r["section"]
        if s in ("machine", "total"):
            continue
        what, size, figure = "", "", ""
        if s == "contract":
            what = r.get("dtype", "")
            figure = f"{r.get('passed', 0)} passed, {r.get('failed', 0)} failed"
            if r.get("errors"):
                figure += f", {r['errors']} errors"
        elif s == "batch":
            what = f"{r.get('solver')}, {r.get('platform')} backend ({r.get('backend', '?')})"
            size = f"{r.get('batch', '')}× n={r.get('n', '')}"
            figure = (
                f"{_fmt(r.get('states_per_s'))} states/s, "
                f"res ≤ {_fmt(r.get('max_residual'), '.1e')}"
            )
        elif s == "batch-compare":
            what = f"{r.get('solver')}: default vs cpu backend"
            figure = f"max |Δ⟨a†a⟩| = {_fmt(r.get('max_abs_diff_photons'), '.1e')}"
        elif s == "pi":
            what = "Krylov, ρ and ∇ξ²_R"
            size = f"N={r.get('N', '')} ({_fmt(r.get('unknowns'))} unk.)"
            figure = (
                f"grad {_fmt(r.get('grad_run_s'))} s (+{_fmt(r.get('grad_compile_s'))} s compile), "
                f"ξ²_R {_fmt(r.get('xi2_R'), '.5f')}"
            )
        elif s == "two_mode":
            what = f"Krylov, {r.get('representation')}"
            size = f"cutoff {r.get('cutoff', '')} ({_fmt(r.get('unknowns'))} unk.)"
            figure = f"{_fmt(r.get('num_steps'))} steps, res {_fmt(r.get('residual'), '.1e')}"
        elif s == "bandwidth":
            what = r.get("what", "")
            size = f"N={r.get('N', '')} ({_fmt(r.get('vector_mb'), '.1f')} MB/vector)"
            frac = r.get("fraction_of_peak")
            figure = f"{_fmt(r.get('achieved_gb_s'))} GB/s" + (
                f" = {frac:.1%} of {r['peak_gb_s']:.0f}" if frac is not None else " (peak unknown)"
            )
        compile_s = r.get("compile_s")
        run_s = r.get("run_s", r.get("time_s"))
        if s == "contract":
            run_s = r.get("wall_s")
        print(
            f"| {s} | {what} | {r.get('status', '')} | {size} | {_fmt(compile_s, '.2f')} | "
            f"{_fmt(run_s, '.3g')} | {figure} | {str(r.get('note', ''))[:60]} |"
        )
    total = next((r for r in records if r["section"] == "total"), None)
    if total:
        print(f"\ntotal {total['wall_s']:.0f} s of a {total['budget_s']:.0f} s budget")


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU (CI)")
    ap.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS)
    ap.add_argument("--budget", type=float, default=440.0, help="seconds for the whole run")
    ap.add_argument("--batch", type=int, default=None, help="override the batch size")
    ap.add_argument(
        "--set",
        nargs="+",
        metavar="SECTION.FIELD=VALUE",
        help="override a size, e.g. pi.N=100 two_mode.cutoff=32 bandwidth.N=200",
    )
    ap.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help="also write the JSON lines here")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        name, kwargs = args.worker
        result = WORKERS[name](**json.loads(kwargs))
        for row in result["rows"] if "rows" in result else [result]:
            row.setdefault("peak_rss_mb", peak_rss_mb())
            print(json.dumps(row), flush=True)
        return []
    if args.smoke and not args.in_process:
        os.environ["JAX_PLATFORMS"] = "cpu"
    records = run(args)
    if args.out:
        with open(args.out, "w") as f:
            for rec in records:
                f.write(json.dumps(rec) + "\n")
    print_table(records)
    return records


if __name__ == "__main__":
    main()
