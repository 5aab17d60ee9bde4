"""The pieces of the command line, in process: the model registry (declarations), figures of
merit (``concurrence_margin`` against Wootters' formula in numpy, with its gradient against
finite differences), atomic writes and JSON, quick mode, and plots of synthetic results."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_cli import assert_png, wootters_lambdas

import qdiss
import qdiss.models
from qdiss.cli import _merits, _registry, _store
from qdiss.cli._build import build_model
from qdiss.cli._study import parse_label


def _random_state(seed: int, rank: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(4, rank)) + 1j * rng.normal(size=(4, rank))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def test_concurrence_margin_matches_wootters_and_its_gradient_matches_fd():
    """The merit the CLI names ``concurrence_margin`` is the library's
    ``qdiss.measures.concurrence_margin``, checked against Wootters' formula in numpy."""
    merit = _merits.GENERIC["concurrence_margin"]
    assert merit.source == "qdiss.measures"
    margin = qdiss.measures.concurrence_margin
    bell = np.zeros((4, 4), complex)
    bell[[1, 1, 2, 2], [1, 2, 1, 2]] = 0.5  # |Ψ+⟩ = (|eg⟩ + |ge⟩)/√2
    states = [_random_state(s) for s in range(6)] + [0.9 * bell + 0.1 * np.eye(4) / 4]
    for rho in states:
        lam = wootters_lambdas(rho)
        expected = lam[0] - lam[1] - lam[2] - lam[3]
        assert abs(float(margin(jnp.asarray(rho))) - expected) < 1e-10
        via_cli = merit.fn(None, qdiss.Lindbladian(np.zeros((4, 4)), [], dims=(2, 2)), rho)
        assert float(via_cli) == float(margin(jnp.asarray(rho)))
    # separable states have a negative margin; the Werner-like state above a positive one
    assert float(margin(jnp.eye(4, dtype=complex) / 4)) < 0
    assert abs(float(margin(jnp.asarray(states[-1]))) - 0.85) < 1e-10

    rho0 = _random_state(7)
    direction = _random_state(8) - _random_state(9)  # Hermitian, traceless

    def f(t):
        return margin(jnp.asarray(rho0) + t * jnp.asarray(direction))

    grad = float(jax.grad(f)(0.0))
    h = 1e-6
    fd = (float(f(h)) - float(f(-h))) / (2 * h)
    assert abs(grad - fd) < 1e-6 * max(1.0, abs(fd))


class _Toy(eqx.Module):
    """A toy model: H = ω σ^z/2, L = √γ σ⁻ (decay) and √κ σ⁺ (pump)."""

    omega: jax.Array
    gamma: jax.Array
    kappa: jax.Array
    levels: int = eqx.field(static=True)
    label: str = eqx.field(static=True)
    flag: bool = eqx.field(static=True)
    domains: ClassVar[dict] = dict(
        omega="real", gamma="rate", kappa="rate", levels="int", label="str", flag="bool"
    )
    figures_of_merit: ClassVar[dict] = {
        "excited_population": lambda model, rho: model.excited_population(rho),
        "exact_excited_population": lambda model, rho: model.exact_excited_population(),
        "moments": lambda model, rho: model.moments(),
    }

    def __init__(self, omega, gamma, kappa=0.0, levels=2, label="x", flag=False):
        self.omega, self.gamma, self.kappa = (jnp.asarray(x, float) for x in (omega, gamma, kappa))
        self.levels, self.label, self.flag = levels, label, flag

    def lindbladian(self):
        import qdiss

        sm = jnp.array([[0, 0], [1, 0]], complex)
        H = (self.omega / 2).astype(complex) * jnp.diag(jnp.array([1.0, -1.0])).astype(complex)
        jumps = [
            jnp.sqrt(self.gamma).astype(complex) * sm,
            jnp.sqrt(self.kappa).astype(complex) * sm.T,
        ]
        return qdiss.Lindbladian(H, jumps)

    def excited_population(self, rho):
        """⟨e|ρ|e⟩."""
        return jnp.real(rho[0, 0])

    def exact_excited_population(self):
        """κ/(γ + κ)."""
        return self.kappa / (self.gamma + self.kappa)

    def moments(self):
        """Not a scalar: not a figure of merit."""
        return jnp.zeros(3)


def test_parameters_are_read_from_init_and_declared_domains():
    params = {p.name: p for p in qdiss.models.declared_parameters(_Toy)}
    assert list(params) == ["omega", "gamma", "kappa", "levels", "label", "flag"]
    assert [params[n].kind for n in params] == ["real", "real", "real", "int", "str", "bool"]
    assert params["omega"].required and not params["kappa"].required
    assert params["kappa"].default == 0.0 and params["label"].default == "x"
    assert params["gamma"].domain == "nonnegative" and params["kappa"].domain == "nonnegative"
    assert params["omega"].domain is None and params["levels"].domain is None
    magnon, sync = _registry.find_model("magnon"), _registry.find_model("sync")
    assert _registry.parameter_domain(magnon, "temperature") == "positive"
    assert _registry.parameter_domain(sync, "gamma_d") == "nonnegative"
    assert _registry.parameter_domain(magnon, "rate") == "nonnegative"
    assert _registry.parameter_domain(_registry.find_model("kerr"), "delta") is None


def test_domains_come_from_the_declaration_not_the_name():
    """A parameter named like a rate but declared real takes negative values, and one declared
    a rate whatever its name is checked ≥ 0; a parameter with no declared domain is an error
    that names it."""

    class Named(_Toy):
        domains: ClassVar[dict] = _Toy.domains | dict(gamma="real", omega="rate")

    params = {p.name: p for p in qdiss.models.declared_parameters(Named)}
    assert params["gamma"].domain is None and params["omega"].domain == "nonnegative"

    class Undeclared(_Toy):
        domains: ClassVar[dict] = {k: v for k, v in _Toy.domains.items() if k != "kappa"}

    with pytest.raises(TypeError, match="`kappa`"):
        qdiss.models.declared_parameters(Undeclared)
    assert qdiss.models.MODELS["magnon"] is qdiss.models.magnon.MagnonBathQubits
    for entry in _registry.model_entries():  # every registered model declares every parameter
        assert {p.name for p in entry.parameters} == set(entry.cls.domains)


def test_merits_found_on_a_model_and_checked():
    toy = _Toy(1.0, 0.3, 0.1)
    L = toy.lindbladian()
    names = {m.name for m in _merits.available(toy, L)}
    assert {"excited_population", "exact_excited_population", "purity"} <= names
    assert "moments" not in names and "concurrence" not in names
    import qdiss

    rho = qdiss.steady_state(L).rho
    pop = _merits.resolve("excited_population", toy, L).fn(toy, L, rho)
    exact = _merits.resolve("exact_excited_population", toy, L).fn(toy, L, rho)
    assert abs(float(pop) - 0.1 / 0.4) < 1e-12 and abs(float(exact) - 0.25) < 1e-15
    with pytest.raises(KeyError):
        _merits.resolve("nope", toy, L)
    with pytest.raises(ValueError, match="shape"):
        _merits.resolve("moments", toy, L)
    with pytest.raises(ValueError, match="two-qubit"):
        _merits.resolve("concurrence", toy, L)


def test_model_registry_finds_every_model_by_every_name():
    keys = {e.key for e in _registry.model_entries()}
    assert {"magnon.MagnonBathQubits", "reference.DrivenCavity", "emitters.AllToAllXYZ"} <= keys
    magnon = _registry.find_model("magnon")
    for name in ("MagnonBathQubits", "magnon.MagnonBathQubits", "magnon_bath_qubits", "MAGNON"):
        assert _registry.find_model(name) is magnon
    assert _registry.find_model("reference") is None  # several models in that module
    assert _registry.find_model("driven_cavity").key == "reference.DrivenCavity"


def test_named_tuple_merits_are_split_into_entries():
    entry = _registry.find_model("kerr")
    if entry is None:
        pytest.skip("qdiss.models.kerr not available")
    params = dict(cutoff=3, delta=0.1, U=0.2, G=0.3, kappa=1.0, r=0.1, phi=0.0)
    model, L = build_model(entry, params, {})
    names = {m.name for m in _merits.available(model, L)}
    assert "collective_moments.n_plus" in names
    with pytest.raises(ValueError, match="several values"):
        _merits.resolve("collective_moments", model, L)


def test_overrides_replace_whole_parameters_and_entries():
    entry = _registry.find_model("magnon")
    params = {
        "eta": np.array([0.1, 0.2]),
        "rate": np.array([1.0, 2.0]),
        "mu": np.array([0.0, -1.0]),
        "temperature": np.array(0.5),
    }
    model, _ = build_model(entry, params, {"eta[1]": 0.7, "temperature": 0.25})
    np.testing.assert_array_equal(np.asarray(model.eta), [0.1, 0.7])
    assert float(model.temperature) == 0.25 and float(model.omega) == 1.0
    assert parse_label("eta[12]") == ("eta", 12) and parse_label("mu") == ("mu", None)
    assert parse_label("eta[-1]") is None and parse_label("1x") is None


def test_atomic_write_and_json(tmp_path):
    path = tmp_path / "a.json"
    _store.save_json(path, {"x": np.array([1.0, np.nan]), "y": np.float32(2), "z": np.inf})
    assert json.loads(path.read_text()) == {"x": [1.0, None], "y": 2.0, "z": None}
    assert oct(os.stat(path).st_mode & 0o777) != oct(0o600)
    _store.save_npz(tmp_path / "b.npz", {"a": np.arange(3)})
    assert _store.load_npz(tmp_path / "b.npz")["a"].tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    class Boom(Exception):
        pass

    original = os.replace

    def failing_replace(src, dst):
        raise Boom

    os.replace = failing_replace
    try:
        with pytest.raises(Boom):
            _store.save_json(path, {"x": 1})
    finally:
        os.replace = original
    assert json.loads(path.read_text())["y"] == 2.0  # the old file is intact
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert _store.fingerprint({"a": np.array([1.0])}) == _store.fingerprint({"a": [1.0]})
    assert _store.fingerprint({"a": 1}) != _store.fingerprint({"a": 2})


def test_quick_mode_shrinks_sweeps_and_optimisations():
    from test_cli import STUDIES

    from qdiss.cli._study import load_study

    full = load_study(STUDIES / "default.toml")
    quick = load_study(STUDIES / "default.toml", quick=True)
    assert quick.name == "default-quick" and quick.quick
    sweep_full, sweep_quick = full.tasks[2], quick.tasks[2]
    for a, b in zip(sweep_full.axes, sweep_quick.axes, strict=True):
        assert b.values.size == 5 and b.values[0] == a.values[0] and b.values[-1] == a.values[-1]
    assert quick.tasks[1].steps == 10 and full.tasks[1].steps > 10


def _sweep_meta(axes, merits, status_codes):
    return {
        "axes": axes,
        "merits": merits,
        "status_codes": status_codes,
        "parameters": {"a": 0.0, "b": 0.0},
        "start": None,
        "model": "toy.Model",
    }


def test_plots_show_failed_points(tmp_path):
    from qdiss.cli._plots import plot_task

    x, y = np.linspace(0, 1, 7), np.geomspace(0.1, 10, 5)
    status = np.zeros((7, 5), np.int32)
    status[3, 2] = 6
    z = np.outer(x, np.log(y))
    raw = z.copy()
    z[3, 2] = np.nan
    axes = [
        {
            "key": "axis.a",
            "label": "a",
            "parameter": "a",
            "index": None,
            "unit": "ω",
            "scale": "linear",
        },
        {
            "key": "axis.b",
            "label": "b",
            "parameter": "b",
            "index": None,
            "unit": None,
            "scale": "log",
        },
    ]
    merits = [{"name": "m", "key": "merit.m", "unit": ""}]
    _store.save_json(tmp_path / "s.json", _sweep_meta(axes, merits, {"0": "ok", "6": "non_unique"}))
    _store.save_npz(
        tmp_path / "s.npz",
        {"axis.a": x, "axis.b": y, "merit.m": z, "raw.m": raw, "status": status},
    )

    @dataclasses.dataclass
    class Task:
        name: str
        kind: str

    (path,) = plot_task(tmp_path, Task("s", "sweep"), "title")
    assert path.name == "s.m.png"
    assert_png(path)

    _store.save_json(tmp_path / "l.json", _sweep_meta(axes[:1], merits, {"0": "ok", "6": "bad"}))
    _store.save_npz(tmp_path / "l.npz", {"axis.a": x, "merit.m": z[:, 0], "status": status[:, 2]})
    (path,) = plot_task(tmp_path, Task("l", "sweep"), "title")
    assert_png(path)


def test_results_folder_lock(tmp_path):
    import subprocess
    import sys

    from qdiss.cli._errors import UsageError

    folder = _store.ResultsDir(tmp_path / "r")
    folder.prepare("x = 1\n", restart=False)
    assert (tmp_path / "r" / "study.toml").read_text() == "x = 1\n"
    folder.unlock()
    # a live run on this machine holds the folder: refused
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = {"pid": live.pid, "host": __import__("socket").gethostname()}
        _store.save_json(tmp_path / "r" / ".lock", holder)
        with pytest.raises(UsageError, match=f"process {live.pid}"):
            folder.prepare("x = 1\n", restart=False)
    finally:
        live.kill()
        live.wait()
    # the same run, killed: its lock is stale and taken over
    folder.prepare("x = 2\n", restart=False)
    assert _store.load_json(tmp_path / "r" / ".lock")["pid"] == os.getpid()


def _listed_merits(out: str) -> set[str]:
    """The names under "Figures of merit" in `qdiss models NAME`'s output."""
    block = out[out.index("Figures of merit") :].splitlines()[1:]
    return {line.split()[0] for line in block if line.startswith("  ")}


@pytest.mark.parametrize("name", ["kerr", "magnon", "driven_cavity", "all_to_all_xyz"])
def test_models_lists_only_merits_that_qdiss_run_accepts(name, capsys, tmp_path):
    """`qdiss models NAME` lists a figure of merit iff a study of that model (at the sizes it
    prints) loads with it: the two-qubit ones are listed for the magnon qubits, not for two Kerr
    modes, one cavity or three emitters, and every one listed is accepted."""
    from qdiss.cli import main as cli_main
    from qdiss.cli._build import EXAMPLE_SIZE
    from qdiss.cli._errors import StudyError
    from qdiss.cli._study import load_study

    assert cli_main(["models", name]) == 0
    out = capsys.readouterr().out
    listed = _listed_merits(out)
    entry = _registry.find_model(name)
    expect_two_qubits = name == "magnon"
    assert ("concurrence" in listed) == expect_two_qubits
    assert ("concurrence_margin" in listed) == expect_two_qubits
    assert ("negativity" in listed) == (name != "driven_cavity")
    assert "purity" in listed
    if not expect_two_qubits:
        assert "Not for dims" in out and "two-qubit" in out

    values = {"magnon": "eta = [0.1, 0.9]\nrate = [0.2, 0.9]\nmu = [0.1, -1.0]\ntemperature = 0.5"}
    params = values.get(name) or "\n".join(
        f"{p.name} = {EXAMPLE_SIZE if p.kind == 'int' else 0.5}"
        for p in entry.parameters
        if p.required
    )
    study = tmp_path / "study.toml"
    for merit in sorted(listed | {"concurrence", "concurrence_margin", "negativity"}):
        study.write_text(
            f'name = "s"\n[model]\nname = "{name}"\n[model.parameters]\n{params}\n'
            f'[[task]]\nkind = "steady"\nmerits = ["{merit}"]\n'
        )
        if merit in listed:
            load_study(study)
        else:
            with pytest.raises(StudyError, match="does not apply"):
                load_study(study)


def test_heat_map_colour_scale_is_sequential_for_nonnegative_merits(tmp_path, monkeypatch):
    """A non-negative quantity (declared lower bound 0, or all values ≥ 0) gets a sequential
    map even with rounding noise at −1e-16; values of both signs of an undeclared quantity
    (e.g. the concurrence margin) get the diverging map centred on 0."""
    import matplotlib.figure

    from qdiss.cli._plots import colour_scale, plot_task

    used = []  # the colour map of each heat map, read from its colour bar's mappable
    original = matplotlib.figure.Figure.colorbar

    def spy(self, mappable, *args, **kwargs):
        used.append(mappable.get_cmap().name)
        return original(self, mappable, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "colorbar", spy)
    x, y = np.linspace(0, 1, 4), np.linspace(0, 1, 3)
    noisy = np.outer(x, y) * 0.4
    noisy[0, :] = [-1e-16, 0.0, -5e-16]  # round-off at separable points
    signed = np.outer(x, y) - 0.3
    axes = [
        {"key": f"axis.{a}", "label": a, "parameter": a, "index": None, "unit": ""}
        | {"scale": "linear"}
        for a in "ab"
    ]
    merits = [
        {"name": "log_negativity", "key": "merit.ln", "unit": "ebits", "lower": 0.0},
        {"name": "own", "key": "merit.own", "unit": None, "lower": None},
        {"name": "concurrence_margin", "key": "merit.cm", "unit": "", "lower": None},
    ]
    own = np.abs(signed)  # undeclared, all ≥ 0
    _store.save_json(tmp_path / "s.json", _sweep_meta(axes, merits, {"0": "ok"}))
    _store.save_npz(
        tmp_path / "s.npz",
        {
            "axis.a": x,
            "axis.b": y,
            "merit.ln": noisy,
            "merit.own": own,
            "merit.cm": signed,
            "status": np.zeros((4, 3), np.int32),
        },
    )

    @dataclasses.dataclass
    class Task:
        name: str
        kind: str

    paths = plot_task(tmp_path, Task("s", "sweep"), "title")
    assert len(paths) == 3
    for path in paths:
        assert_png(path)
    assert used == ["viridis", "viridis", "RdBu_r"]
    assert colour_scale({"lower": 0.0}, noisy.ravel()) == ("viridis", None)
    assert colour_scale({}, signed.ravel()) == ("RdBu_r", 0.0)
    assert colour_scale({}, own.ravel()) == ("viridis", None)
    for name in ("negativity", "log_negativity", "concurrence", "purity", "liouvillian_gap"):
        assert _merits.GENERIC[name].lower == 0.0
    assert _merits.GENERIC["concurrence_margin"].lower is None
