"""Command-line parsing and dispatch for ``qdiss``."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

from ._errors import EXIT_INTERRUPTED, CLIError, UsageError

COMMANDS = ("run", "bench", "info", "models", "studies")

DESCRIPTION = """\
qdiss: differentiable steady states of open quantum systems (JAX).

With no command, runs the built-in default study (`qdiss run`): the steady state of two qubits in
a pumped magnon bath, its concurrence and gradient checked against the closed form, an
optimisation of the bath for steady-state entanglement, and a sweep of two knobs around the
optimum, with plots in ./results/<study>/.
"""

EPILOG = """\
`qdiss COMMAND --help` for more on a command.
exit status: 0 success, 1 a task failed, 2 bad input (command line or study file),
130/143 interrupted (run the same command again to resume).
"""

RUN_EPILOG = """\
results: RESULTS_DIR/<study name>/ holds
  study.toml            a copy of the study file
  run.json              versions, device, precision, and the state of each task
  <task>.json           steady: parameters, figures of merit, gradients, solver status, residual
  <task>.npz + .json    sweep: axis.<param>, merit.<name> (NaN where the solve failed),
                        raw.<name> (as computed), status (qdiss.RESULTS code; -1 not computed),
                        residual, done; the .json says what each array is, with units
                        and every failed point
  <task>.npz + .json    optimize: step, objective, loss, grad_norm, status, residual, accepted,
                        param.<name> per step; the .json has the best point and why it stopped
  <task>*.png           plots: heat map (2-parameter sweep), lines (1 parameter), history
Results are saved as they come (a sweep after each block of points, an optimisation after
each checkpoint): after Ctrl-C, SIGTERM or a lost machine, run the same command again and it
resumes where it stopped, giving the same numbers as an uninterrupted run.

"""


def _run_parser(sub) -> argparse.ArgumentParser:
    from ._format import FORMAT

    p = sub.add_parser(
        "run",
        help="run a study file (default: the built-in default study)",
        description=(
            "Run the tasks of a study file (TOML): one steady state with figures of merit, a "
            "sweep over one or two parameters, or a gradient-based optimisation. STUDY is a "
            "file, or the name of an example study (`qdiss studies`); without it, the built-in "
            "default study runs."
        ),
        epilog=RUN_EPILOG + FORMAT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("study", nargs="?", help="study file (.toml) or example name")
    p.add_argument(
        "--results-dir",
        type=Path,
        default=None,
        help="root folder for results (default: ./results, or $QDISS_RESULTS_DIR)",
    )
    p.add_argument(
        "--restart", action="store_true", help="discard saved results of this study and start over"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="shrink the study (≤ 5 points per sweep axis, ≤ 10 optimisation steps; also "
        "$QDISS_QUICK=1); results go to <name>-quick/",
    )
    p.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=30.0,
        help="save an optimisation at least this often when its task has no checkpoint_every "
        "(default 30)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qdiss",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    _run_parser(sub)

    b = sub.add_parser(
        "bench",
        help="run the benchmark suite (qdiss vs QuTiP)",
        description=(
            "Run the benchmark scripts of the source repository (benchmarks/: steady_state, "
            "gradients, sweep, fails_safely), each in a subprocess, and print their tables "
            "(compared with QuTiP when it is installed). Quick suite by default."
        ),
    )
    b.add_argument("--full", action="store_true", help="the full suite (tens of minutes)")
    b.add_argument("--only", nargs="+", help="only these scripts (e.g. sweep fails_safely)")
    b.add_argument("--benchmarks", help="the benchmarks/ folder (default: next to the package)")
    b.add_argument("--results-dir", type=Path, default=None, help="where the JSON lines go")
    b.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    b.add_argument("-q", "--quiet", action="store_true", help="print only errors")

    sub.add_parser("info", help="versions, devices, precision, where results go")
    m = sub.add_parser("models", help="the models a study can use")
    m.add_argument("name", nargs="?", help="show this model's parameters and figures of merit")
    s = sub.add_parser("studies", help="the example studies shipped with qdiss")
    s.add_argument("name", nargs="?", help="print this one (to copy it)")
    return parser


def _normalise(argv: list[str]) -> list[str]:
    """``qdiss``, ``qdiss -q``, ``qdiss study.toml`` mean ``qdiss run ...``."""
    if not argv:
        return ["run"]
    if argv[0] in COMMANDS or argv[0] in ("-h", "--help", "--version"):
        return argv
    return ["run", *argv]


def _load(args):
    """The study of ``qdiss run [STUDY]``: a file, an example's name, or the default study."""
    from ._info import DEFAULT_STUDY, find_study
    from ._study import load_study

    quick = args.quick or os.environ.get("QDISS_QUICK", "") not in ("", "0")
    path = DEFAULT_STUDY if args.study is None else Path(args.study)
    if not path.exists():
        path = find_study(args.study)
        if path is None:
            raise UsageError(
                f"study file {args.study} not found (and there is no example study of that "
                "name: `qdiss studies` lists them)."
            )
    return load_study(path, quick=quick)


def _dispatch(args) -> int:
    if args.version:
        print(f"qdiss {importlib.metadata.version('qdiss')}")
        return 0
    if args.command in ("run", "models", "info"):
        import jax

        jax.config.update("jax_enable_x64", True)  # before any array exists
    from ._info import default_results_dir

    results_root = getattr(args, "results_dir", None) or default_results_dir()
    if args.command == "run":
        needed = ["pydantic"] + ["tqdm"] * (not args.quiet) + ["matplotlib"] * (not args.no_plots)
        missing = [m for m in needed if importlib.util.find_spec(m) is None]
        if missing:
            raise UsageError(
                f"`qdiss run` needs {' and '.join(missing)}: install the command line's extra, "
                "`pip install 'qdiss[cli]'` (`uv run qdiss` in the repository has it)."
            )
        study = _load(args)
        from ._run import run_study

        return run_study(
            study,
            results_root,
            quiet=args.quiet,
            restart=args.restart,
            plots=not args.no_plots,
            checkpoint_seconds=args.checkpoint_seconds,
        )
    if args.command == "bench":
        from ._bench import run_bench

        return run_bench(args, results_root)
    from ._info import print_info, print_models, print_studies

    if args.command == "info":
        return print_info()
    if args.command == "models":
        return print_models(args.name)
    return print_studies(args.name)


def main(argv: list[str] | None = None) -> int:
    """The ``qdiss`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(_normalise(argv))
    try:
        return _dispatch(args)
    except CLIError as e:
        sys.stdout.flush()
        print(f"qdiss: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        sys.stdout.flush()
        print(
            "qdiss: interrupted; results saved at the last checkpoint are kept (run the same "
            "command again to resume).",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
