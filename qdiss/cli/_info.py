"""``qdiss info``, ``qdiss models`` and ``qdiss studies``: what is installed and available."""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import platform
import sys
import tomllib
from pathlib import Path

from ._errors import UsageError, suggest

STUDIES = Path(__file__).resolve().parent.parent / "studies"
DEFAULT_STUDY = STUDIES / "default.toml"

_PACKAGES = "qdiss jax jaxlib equinox lineax diffrax optax dynamiqs numpy scipy".split()
_PACKAGES += ["matplotlib", "tqdm", "qutip"]  # the cli extra; QuTiP comparisons


def default_results_dir() -> Path:
    return Path(os.environ.get("QDISS_RESULTS_DIR", "results"))


def shipped_studies() -> list[Path]:
    return sorted(STUDIES.glob("*.toml"))


def find_study(name: str) -> Path | None:
    """A shipped example study by name (``magnon-phase-diagram`` or ``...toml``), or None."""
    for path in shipped_studies():
        if name in (path.name, path.stem):
            return path
    return None


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed" + (" (QuTiP comparisons off)" if name == "qutip" else "")


def print_info() -> int:
    """``qdiss info``: versions, platform, devices, precision and where things are."""
    import jax

    from ._bench import find_benchmarks
    from ._registry import model_entries

    bench = find_benchmarks() or "not found (they live in the source repository)"
    lines = [
        f"qdiss {_version('qdiss')}",
        f"Python {platform.python_version()} ({sys.executable})",
        f"Platform: {platform.platform()}, {os.cpu_count()} CPU cores",
        "Packages:",
        *(f"  {name:<11} {_version(name)}" for name in _PACKAGES),
        f"JAX backend: {jax.default_backend()}",
        "Devices:",
        *(f"  {d.platform}:{d.id}  {d.device_kind}" for d in jax.devices()),
        "Precision: float64 / complex128 by default (the command line turns on "
        'jax_enable_x64); a study may ask for float32 ([solver] precision = "float32").',
        f"Results: {default_results_dir().resolve()}/<study name>/ (change with --results-dir "
        "or $QDISS_RESULTS_DIR)",
        f"Example studies: {STUDIES} ({len(shipped_studies())}; `qdiss studies`)",
        f"Benchmarks: {bench}",
        f"Models: {len(model_entries())} (`qdiss models`)",
    ]
    print("\n".join(lines))
    return 0


def print_studies(name: str | None) -> int:
    if name is not None:
        path = find_study(name)
        if path is None:
            names = [p.stem for p in shipped_studies()]
            raise UsageError(
                f"no example study {name!r}; expected one of {names}.{suggest(name, names)}"
            )
        print(path.read_text(encoding="utf-8"), end="")
        return 0
    print(
        f"Example studies ({STUDIES}); run one with `qdiss run NAME`, copy one with "
        "`qdiss studies NAME > my-study.toml`:"
    )
    for path in shipped_studies():
        description = tomllib.loads(path.read_text(encoding="utf-8")).get("description", "")
        print(f"  {path.stem:<24} {description}")
    return 0


def print_models(name: str | None) -> int:
    from ._registry import find_model, model_entries

    if name is None:
        print("Models (`qdiss models NAME` for parameters and figures of merit):")
        for entry in model_entries():
            print(f"  {entry.short:<26} {entry.key}: {entry.summary[:90]}")
        return 0
    entry = find_model(name)
    if entry is None:
        names = [e.short for e in model_entries()]
        raise UsageError(f"unknown model {name!r}; expected one of {names}.{suggest(name, names)}")
    print(f"{entry.key} (also: {', '.join(entry.aliases)})")
    print()
    print(inspect.getdoc(entry.cls))
    print()
    print("Parameters ([model.parameters]):")
    for p in entry.parameters:
        print(f"  {p.name:<18} {p.describe()}")
    print()
    _print_merits(entry)
    return 0


def _print_merits(entry) -> None:
    """The figures of merit that apply to an example instance of the model (the rule of
    ``qdiss run``: :func:`qdiss.cli._merits.resolve`), and the generic ones that do not; every
    candidate, unchecked, if the model rejects the example's values."""
    import equinox as eqx

    from ._build import example_model
    from ._merits import GENERIC, available, candidates

    def show(name: str, text: str) -> None:
        print(f"  {name:<28} {text[:80]}{'  [generic]' * (name in GENERIC)}")

    try:
        model, L, sizes = example_model(entry)
    except (ValueError, TypeError, eqx.EquinoxRuntimeError) as e:  # it rejects the example
        print(
            "Figures of merit (merits / objective; not checked: the model rejects example "
            f"values ({type(e).__name__}); checked against the model when a study loads):"
        )
        for name, merit in candidates(entry.cls).items():
            needs = f" (needs {merit.requires.text})" if merit.requires is not None else ""
            show(name, merit.description + needs)
        return
    dims = tuple(L.dims) if getattr(L, "dims", None) is not None else None
    at = ", ".join(f"{k} = {v}" for k, v in sizes.items())
    print(
        f"Figures of merit (merits / objective) for dims {dims}{f' ({at})' if at else ''}; "
        "checked against the study's model when it loads:"
    )
    listed = available(model, L)
    for merit in listed:
        show(merit.name, merit.description)
    names = {m.name.partition(".")[0] for m in listed}
    unmet: dict[str, list[str]] = {}
    for merit in GENERIC.values():
        if merit.name not in names and merit.requires and merit.requires.unmet(L) is not None:
            unmet.setdefault(merit.requires.text, []).append(merit.name)
    for text, merit_names in unmet.items():
        print(f"Not for dims {dims}: {', '.join(merit_names)} (need {text}).")
