"""``qdiss bench``: a pointer to ``benchmarks/run_all.py`` of the source repository (the
benchmarks are not part of the installed package), run in this process."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ._errors import UsageError


def _candidates(explicit: str | None) -> list[Path]:
    if explicit or os.environ.get("QDISS_BENCHMARKS"):
        return [Path(explicit or os.environ["QDISS_BENCHMARKS"])]
    return [Path(__file__).resolve().parents[2] / "benchmarks", Path.cwd() / "benchmarks"]


def find_benchmarks(explicit: str | None = None) -> Path | None:
    """The folder holding ``run_all.py``: ``explicit``, ``$QDISS_BENCHMARKS``, or the
    ``benchmarks/`` folder next to the package or in the working directory (None if none)."""
    return next((f for f in _candidates(explicit) if (f / "run_all.py").is_file()), None)


def run_bench(args, results_root) -> int:
    """``qdiss bench``: ``run_all.run`` of :func:`find_benchmarks`'s folder with the parsed
    command line ``args`` (``full``, ``quiet``, ``only``, ``dry_run``, ``benchmarks``); returns
    its exit status."""
    folder = find_benchmarks(args.benchmarks)
    if folder is None:
        looked = ", ".join(map(str, _candidates(args.benchmarks)))
        raise UsageError(
            f"the benchmark scripts were not found ({looked}). They live in the source "
            "repository's benchmarks/ folder, not in the installed package: run "
            "`uv run qdiss bench` (or `uv run python benchmarks/run_all.py`) from a "
            "checkout of the repository, or pass --benchmarks PATH/TO/benchmarks."
        )
    spec = importlib.util.spec_from_file_location("qdiss_run_all", folder / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run(args.full, args.quiet, Path(results_root), args.only, args.dry_run)
