"""``qdiss bench``: a pointer to ``benchmarks/run_all.py`` of the source repository (the
benchmarks are not part of the installed package), run in this process."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ._errors import UsageError

__all__ = ["run_bench"]


def run_bench(full, quiet, results_root, benchmarks=None, only=None, dry_run=False) -> int:
    """Find ``run_all.py`` (``benchmarks``, ``$QDISS_BENCHMARKS``, or the ``benchmarks/`` folder
    next to the package or in the working directory) and call its ``run``."""
    if benchmarks or os.environ.get("QDISS_BENCHMARKS"):
        folders = [Path(benchmarks or os.environ["QDISS_BENCHMARKS"])]
    else:
        folders = [Path(__file__).resolve().parents[2] / "benchmarks", Path.cwd() / "benchmarks"]
    script = next((f / "run_all.py" for f in folders if (f / "run_all.py").is_file()), None)
    if script is None:
        raise UsageError(
            f"the benchmark scripts were not found ({', '.join(map(str, folders))}). They live "
            "in the source repository's benchmarks/ folder, not in the installed package: run "
            "`uv run qdiss bench` (or `uv run python benchmarks/run_all.py`) from a checkout of "
            "the repository, or pass --benchmarks PATH/TO/benchmarks."
        )
    spec = importlib.util.spec_from_file_location("qdiss_benchmarks_run_all", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run(full, quiet, Path(results_root), only, dry_run)
