"""What every task runner needs: the study, the results folder, output, the solver, and the
optima of earlier optimisation tasks (a later task may start from one)."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from typing import Any

import numpy as np

from ._errors import CLIError
from ._progress import StopFlag
from ._registry import parse_label
from ._store import ResultsDir, fingerprint
from ._study import Study

__all__ = ["Context", "format_value", "label_with_unit", "pause_for_tests"]


def pause_for_tests() -> None:
    """For the tests of stopping and resuming: sleep ``$QDISS_TEST_DELAY`` seconds (default 0)
    after each sweep checkpoint and each optimisation step, so that a test can interrupt a run
    in the middle."""
    delay = float(os.environ.get("QDISS_TEST_DELAY", "0") or 0)
    if delay > 0:
        time.sleep(delay)


@dataclasses.dataclass
class Context:
    """A task runner's study, results folder, solver, stop flag and earlier optima."""

    study: Study
    results: ResultsDir
    quiet: bool
    solver: Any
    dtype: Any
    stop: StopFlag
    plots: bool = True
    checkpoint_seconds: float = 30.0
    optima: dict[str, dict[str, np.ndarray]] = dataclasses.field(default_factory=dict)

    def say(self, *args) -> None:
        """Print, unless quiet."""
        if not self.quiet:
            print(*args, flush=True)

    def base_parameters(self, task) -> dict[str, Any]:
        """The study's model parameters, with the best point of the task's ``start`` task."""
        params = {
            k: (np.array(v, dtype=np.float64) if isinstance(v, np.ndarray) else v)
            for k, v in self.study.parameters.items()
        }
        if task.start is None:
            return params
        if task.start not in self.optima:
            raise CLIError(
                f"task {task.name!r} starts from the best point of task {task.start!r}, which "
                "found none (no successful step)."
            )
        for label, value in self.optima[task.start].items():
            name, index = parse_label(label)
            if index is None:
                params[name] = np.array(value, dtype=np.float64)
            else:
                params[name] = np.array(self.study.model.value(params, name))
                params[name][index] = float(value)
        return params

    def fingerprint(self, task, params: dict) -> str:
        """A hash of what a task's results depend on; a run resumes only on an equal one."""
        study = self.study
        return fingerprint(
            {
                "model": study.model.key,
                "parameters": params,
                "solver": study.solver,
                "options": study.solver_options,
                "precision": study.precision,
                "task": task.config,
                "quick": study.quick,
            }
        )

    def check_stop(self) -> None:
        """After a checkpoint: end the run (a resumable :class:`CLIError`) if a signal came."""
        if self.stop.requested:
            raise CLIError(
                f"interrupted; everything computed so far is saved in {self.results.path}. Run "
                "the same command again to resume where it stopped.",
                status=130 if self.stop.signal == signal.SIGINT else 143,
            )

    def unit(self, name: str, default: str | None = None) -> str | None:
        """:meth:`Study.unit`."""
        return self.study.unit(name, default)

    def merit_unit(self, name: str) -> str | None:
        """The study's unit for a figure of merit, else the generic one's, else None."""
        from ._merits import GENERIC

        return self.study.unit(name, getattr(GENERIC.get(name), "unit", None))

    def merit_lower(self, name: str) -> float | None:
        """The declared lower bound of a generic figure of merit (0 for a non-negative one),
        else None (unknown: the plots then look at the values)."""
        from ._merits import GENERIC

        return getattr(GENERIC.get(name), "lower", None)


def label_with_unit(name: str, unit: str | None) -> str:
    """``"mu[0] [ω]"``, ``"concurrence (dimensionless)"`` or ``"x [arb. units]"``."""
    if unit is None:
        return f"{name} [arb. units]"
    if unit == "":
        return f"{name} (dimensionless)"
    return f"{name} [{unit}]"


def format_value(value, precision: int = 8) -> str:
    """A number or an array, for the console."""
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{float(array):.{precision}g}"
    return np.array2string(array, precision=precision, separator=", ", max_line_width=100)
