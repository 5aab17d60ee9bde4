"""Run the benchmark suite: the scripts of this folder, each in a subprocess, with their JSON
lines (one per case) and tables kept in ``<results-dir>/bench-<quick|full>-<time>/`` and the
tables printed (qdiss against QuTiP when QuTiP is installed).

    uv run python benchmarks/run_all.py [--full] [--only sweep ...] [--dry-run]

(``uv run qdiss bench`` runs this script too.)
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["BENCHMARKS", "main", "run"]

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


class _Bar:
    """A tqdm bar over scripts on stderr (nothing in quiet mode or without tqdm)."""

    def __init__(self, total: int, quiet: bool):
        self.bar = None
        if not quiet and importlib.util.find_spec("tqdm") is not None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="benchmarks", unit="script", file=sys.stderr)

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line)


def run(
    full: bool = False,
    quiet: bool = False,
    results_root: Path = Path("results"),
    only: list[str] | None = None,
    dry_run: bool = False,
) -> int:
    """Run the suite (quick settings unless ``full``); returns the exit status."""
    folder = Path(__file__).resolve().parent
    have_qutip = importlib.util.find_spec("qutip") is not None
    names = [b[0] for b in BENCHMARKS]
    if only:
        unknown = [o for o in only if o not in names and o + ".py" not in names]
        if unknown:
            print(f"unknown benchmark(s) {unknown}; expected some of {names}.", file=sys.stderr)
            return 2
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
    bar = _Bar(len(runnable), quiet)
    try:
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
                        bar.write(line.rstrip("\n"))
                code = proc.wait()
            if bar.bar is not None:
                bar.bar.update(1)
            if code != 0:
                failed.append(f"{script} (exit status {code})")
    finally:
        if bar.bar is not None:
            bar.bar.close()
    if failed:
        print(f"benchmark(s) failed: {', '.join(failed)}; see {out_dir}", file=sys.stderr)
        return 1
    say(f"\nJSON lines and tables: {out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the full suite (tens of minutes)")
    parser.add_argument("--only", nargs="+", help="only these scripts (e.g. sweep fails_safely)")
    parser.add_argument("--results-dir", type=Path, default=Path("results"), help="output root")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    args = parser.parse_args(argv)
    return run(args.full, args.quiet, args.results_dir, args.only, args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
