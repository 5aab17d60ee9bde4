"""``qdiss bench``: run the benchmark scripts of the source repository (``benchmarks/``), each
in a subprocess, with a progress bar over scripts and cases (one JSON line per case), and print
their tables (qdiss against QuTiP when QuTiP is installed)."""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from ._errors import UsageError
from ._progress import Progress

__all__ = ["BENCHMARKS", "find_benchmarks", "run_bench"]

# (script, arguments for the quick suite, arguments for the full suite, needs QuTiP)
BENCHMARKS = [
    (
        "steady_state.py",
        ["--quick", "--solvers", "DenseLU", "SparseLU", "Krylov", "qutip-direct"],
        [],
        False,
    ),
    ("gradients.py", ["--qubits", "4", "--P", "3", "10", "--repeats", "2"], [], True),
    ("sweep.py", ["--grid", "8", "--cutoff", "8", "--repeats", "2"], [], True),
    (
        "fails_safely.py",
        ["--count", "24", "--sizes", "3", "6", "--dtypes", "complex128"],
        [],
        False,
    ),
    (
        "large_n.py",
        ["--sizes", "10", "20", "--repeats", "1", "--piqs-timeout", "120"],
        [],
        True,
    ),
]


def find_benchmarks(explicit: str | None = None) -> Path | None:
    """The ``benchmarks/`` folder: ``explicit``, ``$QDISS_BENCHMARKS``, or the one next to the
    ``qdiss`` package (a source checkout or an editable install). None if not found."""
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    elif os.environ.get("QDISS_BENCHMARKS"):
        candidates.append(Path(os.environ["QDISS_BENCHMARKS"]))
    else:
        here = Path(__file__).resolve().parents[2]  # .../qdiss/cli/_bench.py -> repository root
        candidates += [here / "benchmarks", Path.cwd() / "benchmarks"]
    for folder in candidates:
        if (folder / BENCHMARKS[0][0]).is_file():
            return folder
    return None


def run_bench(
    full: bool,
    quiet: bool,
    results_root: Path,
    benchmarks: str | None = None,
    only: list[str] | None = None,
    dry_run: bool = False,
) -> int:
    folder = find_benchmarks(benchmarks)
    if folder is None:
        looked = benchmarks or os.environ.get("QDISS_BENCHMARKS") or "next to the qdiss package"
        raise UsageError(
            f"the benchmark scripts were not found ({looked}). They live in the source "
            "repository's benchmarks/ folder, not in the installed package: run `qdiss bench` "
            "from a checkout of the repository (`uv run qdiss bench`), or pass "
            "--benchmarks PATH/TO/benchmarks."
        )
    have_qutip = importlib.util.find_spec("qutip") is not None
    names = [b[0] for b in BENCHMARKS]
    if only:
        unknown = [o for o in only if o not in names and o + ".py" not in names]
        if unknown:
            raise UsageError(f"unknown benchmark(s) {unknown}; expected some of {names}.")
    plan = []
    for script, quick_args, full_args, needs_qutip in BENCHMARKS:
        if only and script not in only and script.removesuffix(".py") not in only:
            continue
        args = list(full_args if full else quick_args)
        if needs_qutip and not have_qutip:
            plan.append((script, None, "QuTiP is not installed (it is in the dev group: uv sync)"))
            continue
        if script == "steady_state.py" and not have_qutip:
            args.append("--no-qutip")
        plan.append((script, args, None))

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = Path(results_root) / f"bench-{'full' if full else 'quick'}-{stamp}"
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    say(f"Benchmarks from {folder} ({'full' if full else 'quick'} suite)")
    if not have_qutip:
        say("QuTiP is not installed: no comparison with QuTiP (install the dev group: uv sync).")
    for script, args, skip in plan:
        if skip:
            say(f"  skip {script}: {skip}")
        else:
            say(f"  {sys.executable} {folder / script} {' '.join(args)}")
    if dry_run:
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    say(f"Results: {out_dir}\n")

    failed = []
    runnable = [p for p in plan if p[1] is not None]
    with Progress(len(runnable), "benchmarks", "script", quiet) as bar:
        for script, args, _ in runnable:
            jsonl = out_dir / script.replace(".py", ".jsonl")
            table = out_dir / script.replace(".py", ".md")
            cmd = [sys.executable, "-u", str(folder / script), *args]
            cases = 0
            bar.note(f"{script}: starting")
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            with (
                subprocess.Popen(
                    cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
                ) as proc,
                open(jsonl, "w") as fj,
                open(table, "w") as ft,
            ):
                for line in proc.stdout:
                    stripped = line.strip()
                    if stripped.startswith("{"):
                        try:
                            json.loads(stripped)
                        except ValueError:
                            pass
                        else:
                            fj.write(stripped + "\n")
                            fj.flush()
                            cases += 1
                            bar.note(f"{script}: {cases} cases")
                            continue
                    ft.write(line)
                    if not quiet and not stripped.startswith("# "):
                        if bar.bar is not None:
                            bar.bar.write(line.rstrip("\n"))
                        else:
                            print(line, end="")
                code = proc.wait()
            bar.update(1)
            if code != 0:
                failed.append(f"{script} (exit status {code})")
    if failed:
        print(f"qdiss: benchmark(s) failed: {', '.join(failed)}; see {out_dir}", file=sys.stderr)
        return 1
    say(f"\nJSON lines and tables: {out_dir}")
    return 0
