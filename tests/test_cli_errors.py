"""Bad study files: every kind gives one paragraph that names the file, the field and what is
expected, exit status 2 and no traceback; nothing in a study file is executed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from test_cli import run_qdiss

from qdiss.cli import main as cli_main

GOOD = """\
name = "good"
[model]
name = "magnon"
[model.parameters]
eta = [0.05, 0.99]
rate = [0.12, 0.92]
mu = [0.17, -1.35]
temperature = 0.5
[[task]]
kind = "steady"
merits = ["concurrence"]
"""

OPTIMIZE = """
[[task]]
kind = "optimize"
objective = "concurrence"
parameters = ["eta[0]"]
bounds = { "eta[0]" = [-0.9, 0.9] }
steps = 5
"""

SWEEP = """
[[task]]
kind = "sweep"
merits = ["concurrence"]
axes = [{ parameter = "eta[0]", start = -1.0, stop = 1.0, num = 3 }]
"""

SPECTRUM = """
[[task]]
kind = "spectrum"
omega = { start = -1.0, stop = 1.0, num = 5 }
"""


def _edit(old: str, new: str, base: str = GOOD) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


# (case, study text, field named in the message, words of the message)
CASES = [
    ("syntax error", 'name = "good\n' + GOOD[GOOD.index("[model]") :], None, ["not valid TOML"]),
    (
        "not a table",
        'name = "good"\nmodel = "magnon"\n' + GOOD[GOOD.index("[[task]]") :],
        "model",
        ["expected a table", "'magnon'"],
    ),
    (
        "unknown model",
        _edit('name = "magnon"', 'name = "magnonn"'),
        "model.name",
        ["unknown model", "Did you mean `magnon`"],
    ),
    (
        "unknown parameter",
        _edit("temperature = 0.5", "temperature = 0.5\netaa = 1.0"),
        "model.parameters.etaa",
        ["unknown parameter", "eta"],
    ),
    (
        "wrong type",
        _edit("temperature = 0.5", 'temperature = "hot"'),
        "model.parameters.temperature",
        ["expected a number", "'hot'"],
    ),
    (
        "wrong type of an integer parameter",
        _edit("temperature = 0.5", "temperature = 0.5\nnum_qubits = 2.5"),
        "model.parameters.num_qubits",
        ["expected an integer"],
    ),
    (
        "missing field",
        GOOD[: GOOD.index("[model]")] + GOOD[GOOD.index("[[task]]") :],
        "model",
        ["missing"],
    ),
    (
        "missing parameter",
        _edit("temperature = 0.5\n", ""),
        "model.parameters.temperature",
        ["missing parameter", "> 0"],
    ),
    (
        "missing task kind",
        _edit('kind = "steady"\n', ""),
        "task[0].kind",
        ["missing", "`steady`"],
    ),
    (
        "negative rate",
        _edit("rate = [0.12, 0.92]", "rate = [-0.1, 0.92]"),
        "model.parameters.rate",
        ["rate", "≥ 0", "-0.1"],
    ),
    (
        "zero temperature",
        _edit("temperature = 0.5", "temperature = 0.0"),
        "model.parameters.temperature",
        ["> 0"],
    ),
    (
        "value the model rejects",
        _edit("eta = [0.05, 0.99]", "eta = [0.05, 1.5]"),
        "model.parameters.eta",
        ["rejects", "[-1, 1]"],
    ),
    (
        "not finite",
        _edit("mu = [0.17, -1.35]", "mu = [nan, -1.35]"),
        "model.parameters.mu",
        ["finite"],
    ),
    (
        "unknown task field",
        _edit('merits = ["concurrence"]', 'merits = ["concurrence"]\ngradient = true'),
        "task[0].gradient",
        ["unknown field", "Did you mean `gradients`"],
    ),
    (
        "unknown figure of merit",
        _edit('merits = ["concurrence"]', 'merits = ["concurence"]'),
        "task[0].merits",
        ["unknown figure of merit", "Did you mean `concurrence`"],
    ),
    (
        "figure of merit that does not apply",
        GOOD.replace('name = "magnon"', 'name = "cooperative_fluorescence"').replace(
            "eta = [0.05, 0.99]\nrate = [0.12, 0.92]\nmu = [0.17, -1.35]\ntemperature = 0.5",
            "N = 3\nomega = 1.0\ngamma = 1.0",
        ),
        "task[0].merits",
        ["does not apply", "two-qubit"],
    ),
    (
        "unknown solver",
        GOOD + '[solver]\nname = "LU"\n',
        "solver.name",
        ["`DenseLU`"],
    ),
    (
        "unknown solver option",
        GOOD + '[solver]\nname = "Krylov"\nmaxsteps = 3\n',
        "solver.maxsteps",
        ["unknown option", "Did you mean `max_steps`"],
    ),
    (
        "negative steps",
        GOOD + OPTIMIZE.replace("steps = 5", "steps = -3"),
        "task[1].steps",
        ["integer ≥ 1", "-3"],
    ),
    (
        "missing steps",
        GOOD + OPTIMIZE.replace("steps = 5\n", ""),
        "task[1].steps",
        ["missing"],
    ),
    (
        "bounds the wrong way round",
        GOOD + OPTIMIZE.replace("[-0.9, 0.9]", "[0.9, -0.9]"),
        "task[1].bounds.eta[0]",
        ["lower < upper"],
    ),
    (
        "start outside the bounds",
        GOOD + OPTIMIZE.replace("[-0.9, 0.9]", "[0.5, 0.9]"),
        "task[1].bounds",
        ["strictly inside"],
    ),
    (
        "negative rate allowed by bounds",
        GOOD + OPTIMIZE.replace('"eta[0]"', '"rate[0]"').replace("[-0.9, 0.9]", "[-1.0, 1.0]"),
        "task[1].bounds.rate[0]",
        ["≥ 0"],
    ),
    (
        "optimised parameter that does not exist",
        GOOD + OPTIMIZE.replace('parameters = ["eta[0]"]', 'parameters = ["eta[2]"]'),
        "task[1].parameters",
        ["no entry [2]"],
    ),
    (
        "sweep axis outside the model's domain",
        GOOD + SWEEP.replace("start = -1.0", "start = -1.5"),
        "task[1].axes[0]",
        ["-1.5", "[-1, 1]"],
    ),
    (
        "sweep of a negative rate",
        GOOD + SWEEP.replace('"eta[0]", start = -1.0', '"rate[1]", start = -1.0'),
        "task[1].axes[0]",
        ["rate", "≥ 0"],
    ),
    (
        "sweep of a vector parameter",
        GOOD + SWEEP.replace('"eta[0]"', '"eta"'),
        "task[1].axes[0].parameter",
        ["2 entries", "eta[0]"],
    ),
    (
        "three sweep axes",
        GOOD
        + SWEEP.replace(
            "axes = [{ parameter",
            'axes = [{ parameter = "mu[0]", values = [0.1] }, '
            '{ parameter = "mu[1]", values = [0.1] }, { parameter',
        ),
        "task[1].axes",
        ["one or two axes"],
    ),
    (
        "start from a task that does not exist",
        GOOD + SWEEP.replace('kind = "sweep"', 'kind = "sweep"\nstart = "opt"'),
        "task[1].start",
        ["earlier optimize task"],
    ),
    (
        "two tasks with one name",
        GOOD + GOOD[GOOD.index("[[task]]") :],
        "task[1].name",
        ["already named"],
    ),
    (
        "unknown field of a sweep axis",
        GOOD + SWEEP.replace("num = 3 }", "num = 3, stp = 1.0 }"),
        "task[1].axes[0].stp",
        ["unknown field", "Did you mean `stop`"],
    ),
    (
        "misspelt task kind",
        _edit('kind = "steady"', 'kind = "stedy"'),
        "task[0].kind",
        ["`optimize`", "'stedy'", "Did you mean `steady`"],
    ),
    (
        "empty list of merits",
        _edit('merits = ["concurrence"]', "merits = []"),
        "task[0].merits",
        ["at least one", "empty list"],
    ),
    (
        "number for a true/false field",
        _edit('merits = ["concurrence"]', 'merits = ["concurrence"]\ngradients = 1'),
        "task[0].gradients",
        ["`true` or `false`", "the number 1"],
    ),
    (
        "spectrum: no such jump operator",
        GOOD
        + '[[task]]\nkind = "spectrum"\njump = 9\nomega = { start = -1.0, stop = 1.0, num = 5 }\n',
        "task[1].jump",
        ["no jump operator 9"],
    ),
    (
        "spectrum: decreasing grid",
        GOOD + SPECTRUM.replace("start = -1.0, stop = 1.0", "start = 1.0, stop = -1.0"),
        "task[1].omega",
        ["start < stop"],
    ),
    (
        "bad study name",
        _edit('name = "good"', 'name = "../up"'),
        "name",
        ["letters, digits"],
    ),
]


@pytest.mark.parametrize("case, text, field, words", CASES, ids=[c[0] for c in CASES])
def test_bad_study_file(case, text, field, words, tmp_path, capsys):
    path = tmp_path / "study.toml"
    path.write_text(text)
    code = cli_main(["run", str(path), "--results-dir", str(tmp_path / "results")])
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, (case, captured.out, err)
    assert "Traceback" not in err and "\n" not in err  # one paragraph
    assert err.startswith(f"qdiss: study file {path}")
    if field is not None:
        assert f"field `{field}`" in err, err
    for word in words:
        assert word in err, (word, err)
    assert not (tmp_path / "results").exists()  # nothing ran


def test_the_good_study_is_good(tmp_path, capsys):
    path = tmp_path / "study.toml"
    path.write_text(GOOD + OPTIMIZE.replace("steps = 5", "steps = 2") + SWEEP)
    from qdiss.cli._study import load_study

    study = load_study(path)
    assert [t.kind for t in study.tasks] == ["steady", "optimize", "sweep"]


def test_missing_file_and_console_script_exit_status(tmp_path):
    code = cli_main(["run", str(tmp_path / "nope.toml")])
    assert code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text(_edit("rate = [0.12, 0.92]", "rate = [0.12, -0.92]"))
    out = run_qdiss(["run", str(bad)], cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert re.search(r"field `model.parameters.rate`: .*≥ 0", out.stderr)
    assert out.stdout == ""


def test_study_file_is_never_executed(tmp_path, capsys):
    marker = tmp_path / "pwned"
    payloads = [
        ('name = "magnon"', f"name = \"__import__('os').system('touch {marker}')\""),
        ('merits = ["concurrence"]', 'merits = ["__class__"]'),
        ('merits = ["concurrence"]', 'merits = ["lindbladian"]'),
        ('merits = ["concurrence"]', f'merits = ["eval(\'open(\\"{marker}\\", \\"w\\")\')"]'),
    ]
    for old, new in payloads:
        path = tmp_path / "study.toml"
        path.write_text(_edit(old, new))
        assert cli_main(["run", str(path), "--results-dir", str(tmp_path / "r")]) == 2
        assert "Traceback" not in capsys.readouterr().err
    assert not marker.exists()
    assert not Path(os.getcwd(), "pwned").exists()


def test_run_without_the_cli_extra_names_it(tmp_path, capsys, monkeypatch):
    """matplotlib and tqdm are the optional `cli` extra: without them `qdiss run` says which to
    install (exit status 2) instead of failing at the first plot or progress bar; `--no-plots`
    and `-q` need neither."""
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("matplotlib", "tqdm") else find_spec(name, *a),
    )
    path = tmp_path / "study.toml"
    path.write_text(GOOD)
    assert cli_main(["run", str(path), "--results-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "tqdm and matplotlib" in err and "qdiss[cli]" in err
    assert not (tmp_path / "r").exists()
    args = ["run", str(path), "--results-dir", str(tmp_path / "r"), "--no-plots", "-q"]
    assert cli_main(args) == 0


def test_without_pydantic_the_help_and_info_work_and_run_names_it(tmp_path):
    """pydantic reads study files and is part of the `cli` extra: without it (blocked in a fresh
    interpreter) `qdiss run --help` (the study format) and `qdiss info` still work, and `qdiss
    run` exits with status 2, naming pydantic and the extra, instead of an ImportError."""
    import subprocess
    import sys

    study = tmp_path / "study.toml"
    study.write_text(GOOD)
    script = (
        "import sys; sys.modules['pydantic'] = None; import importlib.util as u; "
        "find = u.find_spec; u.find_spec = lambda n, *a: None if n == 'pydantic' else find(n, *a); "
        "from qdiss.cli import main; sys.exit(main(sys.argv[1:]))"
    )

    def qdiss(*args):
        return subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300
        )

    helped = qdiss("run", "--help")
    assert helped.returncode == 0 and "[model.parameters]" in helped.stdout, helped.stderr
    info = qdiss("info")
    assert info.returncode == 0 and "Devices:" in info.stdout, info.stderr
    ran = qdiss("run", str(study), "--results-dir", str(tmp_path / "r"), "-q", "--no-plots")
    assert ran.returncode == 2 and "Traceback" not in ran.stderr, ran.stderr
    assert "pydantic" in ran.stderr and "qdiss[cli]" in ran.stderr
