"""`qdiss run` on the example sweep (console script in a subprocess, quick mode): every point
against the numpy Markov chain, failed points reported and drawn, and a run killed with SIGKILL
after its first checkpoint resumed to exactly the numbers of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pytest
from test_cli import (
    assert_png,
    load_arrays,
    markov_chain_concurrence,
    qdiss_command,
    read_json,
    run_qdiss,
    same_arrays,
)

from qdiss.cli import main as cli_main

SWEEP = "magnon-phase-diagram"


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    out = run_qdiss(["run", SWEEP, "--quick", "--results-dir", str(root)], cwd=root)
    return out, root / f"{SWEEP}-quick"


def test_sweep_example_matches_markov_chain_and_reports_failures(sweep_run):
    out, folder = sweep_run
    assert out.returncode == 0, out.stderr
    assert "FAILED points: non_unique ×2" in out.stdout  # reported in the summary
    data = load_arrays(folder / "sweep.npz")
    meta = read_json(folder / "sweep.json")
    eta0, eta1 = data["axis.eta[0]"], data["axis.eta[1]"]
    np.testing.assert_array_equal(eta0, np.linspace(-1, 1, 5))
    params = {"rate": [1.0, 0.003], "mu": [-3.0, 0.95], "temperature": 0.5}
    assert meta["parameters"]["rate"] == params["rate"]
    for i, a in enumerate(eta0):
        for j, b in enumerate(eta1):
            if abs(a) == 1 and a == b:  # both channels fully (anti)correlated: not unique
                assert data["status"][i, j] != 0 and np.isnan(data["merit.concurrence"][i, j])
                continue
            assert data["status"][i, j] == 0 and data["residual"][i, j] < 1e-12
            exact = markov_chain_concurrence({"eta": [a, b], **params})
            assert abs(data["merit.concurrence"][i, j] - exact) < 1e-10, (a, b)
    failures = {(f["eta[0]"], f["eta[1]"], f["status"]) for f in meta["failures"]}
    assert failures == {(1.0, 1.0, "non_unique"), (-1.0, -1.0, "non_unique")}
    assert meta["status_codes"][str(int(data["status"][0, 0]))] == "non_unique"
    assert meta["complete"] and data["done"].all()
    assert [a["unit"] for a in meta["axes"]] == ["", ""]
    for name in ("sweep.concurrence.png", "sweep.log_negativity.png"):
        assert_png(folder / name)
    # Separable points (two qubits: C = 0 ⟺ PPT) have a log-negativity of exactly 0, not
    # rounding noise, and the merit is declared non-negative (a sequential colour map).
    separable = (data["status"] == 0) & (data["merit.concurrence"] == 0)
    assert separable.sum() >= 5
    assert np.all(data["merit.log_negativity"][separable] == 0.0)
    assert np.all(data["merit.log_negativity"][data["status"] == 0] >= 0.0)
    assert {m["name"]: m["lower"] for m in meta["merits"]} == {
        "concurrence": 0.0,
        "log_negativity": 0.0,
    }


def test_sweep_resumes_after_sigkill_with_identical_results(sweep_run, tmp_path):
    _, reference = sweep_run
    folder = tmp_path / f"{SWEEP}-quick"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QDISS_")}
    env.update(JAX_PLATFORMS="cpu", QDISS_TEST_DELAY="2")  # pause after each checkpoint
    args = ["run", SWEEP, "--quick", "--results-dir", str(tmp_path), "-q"]
    proc = subprocess.Popen(qdiss_command() + args, cwd=tmp_path, env=env)
    checkpoint = folder / "sweep.npz"
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = load_arrays(checkpoint)
    assert 0 < partial["done"].sum() < partial["done"].size  # killed mid-sweep
    assert np.all(partial["status"][~partial["done"]] == -1)

    out = run_qdiss(["run", SWEEP, "--quick", "--results-dir", str(tmp_path)], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"resuming: {int(partial['done'].sum())}/25 points already computed" in out.stdout
    same_arrays(load_arrays(checkpoint), load_arrays(reference / "sweep.npz"))

    again = run_qdiss(["run", SWEEP, "--quick", "--results-dir", str(tmp_path)], cwd=tmp_path)
    assert again.returncode == 0 and "already computed" in again.stdout


def test_changed_study_is_not_mixed_with_old_results(tmp_path, capsys):
    study = tmp_path / "s.toml"
    text = """name = "s"
[model]
name = "cooperative_fluorescence"
[model.parameters]
N = 2
omega = 1.0
gamma = 1.0
[[task]]
kind = "sweep"
merits = ["purity"]
axes = [{ parameter = "omega", values = [0.5, 1.0] }]
"""
    study.write_text(text)
    args = ["run", str(study), "--results-dir", str(tmp_path), "-q", "--no-plots"]
    assert cli_main(args) == 0
    study.write_text(text.replace("gamma = 1.0", "gamma = 2.0"))
    assert cli_main(args) == 2
    assert "--restart" in capsys.readouterr().err
    assert cli_main([*args, "--restart"]) == 0
    data = load_arrays(tmp_path / "s" / "sweep.npz")
    # the Puri-Lawande closed form in numpy: ρ ∝ XX†, X = Σ_m (J⁻/g)^m, g = −iΩ/Γ, Γ = 2, j = 1
    for omega, purity in zip(data["axis.omega"], data["merit.purity"], strict=True):
        g = -1j * omega / 2.0
        jm = np.array([[0, 0, 0], [np.sqrt(2), 0, 0], [0, np.sqrt(2), 0]], complex)
        x = np.eye(3) + jm / g + jm @ jm / g**2
        rho = x @ x.conj().T
        rho /= np.trace(rho)
        assert abs(purity - np.trace(rho @ rho).real) < 1e-10
