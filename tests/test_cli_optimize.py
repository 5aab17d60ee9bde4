"""`qdiss run` on the example optimisation (console script in a subprocess, quick mode): every
step against the numpy Markov chain and Wootters' formula, the optimum checked by a steady task,
a run stopped with SIGTERM resumed to exactly the numbers of an uninterrupted run, and a failed
steady-state solve reported."""

from __future__ import annotations

import os
import re
import signal
import subprocess

import numpy as np
import pytest
from test_cli import (
    assert_png,
    load_arrays,
    markov_chain_concurrence,
    markov_chain_state,
    qdiss_command,
    read_json,
    run_qdiss,
    same_arrays,
    wootters_lambdas,
)

from qdiss.cli import main as cli_main

OPTIMIZE = "magnon-optimize"


@pytest.fixture(scope="module")
def optimize_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("optimize")
    out = run_qdiss(["run", OPTIMIZE, "--quick", "--results-dir", str(root)], cwd=root)
    return out, root / f"{OPTIMIZE}-quick"


def test_optimize_example_moves_uphill_and_checks_the_optimum(optimize_run):
    out, folder = optimize_run
    assert out.returncode == 0, out.stderr
    history = load_arrays(folder / "optimize.npz")
    meta = read_json(folder / "optimize.json")
    assert history["step"].size == 10 and meta["reason"] == "max_steps"
    assert history["accepted"].all() and np.all(history["status"] == 0)
    # step 0 is the study's start; its objective is Wootters' unclipped margin (numpy)
    start = {"eta": [0.3, -0.5], "rate": [1.0, 1.0], "mu": [-0.5, -0.5], "temperature": 0.5}
    np.testing.assert_allclose(history["param.eta"][0], start["eta"], atol=1e-12)
    lam = wootters_lambdas(markov_chain_state(**start))
    assert abs(history["objective"][0] - (lam[0] - lam[1] - lam[2] - lam[3])) < 1e-8
    # every step against the numpy reference, and the run goes uphill
    for k in range(10):
        point = {n: history[f"param.{n}"][k] for n in ("eta", "rate", "mu")}
        lam = wootters_lambdas(markov_chain_state(temperature=0.5, **point))
        assert abs(history["objective"][k] - (lam[0] - lam[1] - lam[2] - lam[3])) < 1e-8
    assert history["objective"][-1] > history["objective"][0] + 0.05
    # bounds hold at every step
    assert np.all(np.abs(history["param.eta"]) < 0.999)
    assert np.all((history["param.rate"] > 1e-3) & (history["param.rate"] < 10))
    # the steady task "optimum" starts from the best point and matches the closed form
    optimum = read_json(folder / "optimum.json")
    best = meta["best_parameters"]
    for name in ("eta", "rate", "mu"):
        np.testing.assert_allclose(optimum["parameters"][name], best[name], rtol=0, atol=0)
    exact = markov_chain_concurrence({**best, "temperature": 0.5})
    assert abs(optimum["merits"]["concurrence"]["value"] - exact) < 1e-10
    assert_png(folder / "optimize.png")


def test_optimize_resumes_after_sigterm_with_identical_results(optimize_run, tmp_path):
    _, reference = optimize_run
    folder = tmp_path / f"{OPTIMIZE}-quick"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QDISS_")}
    env.update(JAX_PLATFORMS="cpu", QDISS_TEST_DELAY="1")  # pause after each step
    args = ["run", OPTIMIZE, "--quick", "--results-dir", str(tmp_path)]
    proc = subprocess.Popen(
        qdiss_command() + args,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = ""
    # the progress bar after the first step(s) (tqdm may skip drawing 1/10)
    while not re.search(r"\b[1-9]/10\b", seen):
        char = proc.stderr.read(1)
        assert char, seen
        seen += char
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "Run the same command again to resume" in err and "Traceback" not in err
    steps = load_arrays(folder / "optimize.npz")["step"].size
    assert 1 <= steps < 10

    out = run_qdiss(args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"resuming at step {steps}" in out.stdout
    same_arrays(load_arrays(folder / "optimize.npz"), load_arrays(reference / "optimize.npz"))
    assert (
        read_json(folder / "optimum.json")["merits"]
        == read_json(reference / "optimum.json")["merits"]
    )


def test_failed_steady_solve_is_reported_with_status_1(tmp_path, capsys):
    study = tmp_path / "dark.toml"
    study.write_text(
        """name = "dark"
[model]
name = "magnon"
[model.parameters]
eta = [1.0, 1.0]   # the singlet decouples from both channels: not unique
rate = [0.5, 0.5]
mu = [0.2, -1.0]
temperature = 0.5
[[task]]
kind = "steady"
merits = ["concurrence"]
"""
    )
    code = cli_main(["run", str(study), "--results-dir", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert code == 1
    assert "status: non_unique" in captured.out and "FAILED" in captured.out
    assert "task(s) steady failed" in captured.err
    saved = read_json(tmp_path / "r" / "dark" / "steady.json")
    assert saved["status"] == "non_unique" and not saved["succeeded"]
