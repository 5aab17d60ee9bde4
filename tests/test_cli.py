"""The README's main command end to end (the default study, in quick mode), the small commands
(help, info, models, studies, bench), and the default model's numbers against independent ones.

Shared helpers for tests/test_cli_*.py live here too (``run_qdiss``, ``markov_chain_state``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from magnon_reference import (
    DEFAULT_PARAMETERS,
    magnon_qubits_lindbladian,
    markov_chain_concurrence,
    x_state_concurrence,
)

import qdiss
from qdiss.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "qdiss" / "studies"
PNG = b"\x89PNG\r\n\x1a\n"


def qdiss_command() -> list[str]:
    """The installed console script (next to the interpreter), else ``python -m qdiss.cli``."""
    script = Path(sys.executable).with_name("qdiss")
    return [str(script)] if script.exists() else [sys.executable, "-m", "qdiss.cli"]


def run_qdiss(args, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("QDISS_")}
    full_env.update(JAX_PLATFORMS="cpu", **(env or {}))
    return subprocess.run(
        qdiss_command() + list(args),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
    )


def markov_chain_state(eta, rate, mu, temperature, omega=1.0) -> np.ndarray:
    """The two-qubit steady state (basis ee, eg, ge, gg) from the four-state Markov chain
    (arXiv:2508.18131), in numpy, independently of qdiss: p_gg, p_±, p_ee on gg, Ψ±, ee."""
    eta, rate, mu = (np.asarray(x, float) for x in (eta, rate, mu))
    n = 1.0 / np.expm1((omega - mu) / temperature)
    up = [np.sum(rate * n * (1 + s * eta)) for s in (1, -1)]
    down = [np.sum(rate * (1 + n) * (1 + s * eta)) for s in (1, -1)]
    q = np.zeros((4, 4))  # q[to, from]; states gg, +, −, ee
    for i, s in enumerate((1, 2)):
        q[s, 0] += up[i]
        q[3, s] += up[i]
        q[s, 3] += down[i]
        q[0, s] += down[i]
    q -= np.diag(q.sum(axis=0))
    _, _, vh = np.linalg.svd(q)
    p = np.abs(vh[-1]) / np.sum(np.abs(vh[-1]))
    r = 1 / np.sqrt(2)
    kets = np.array([[0, 0, 0, 1], [0, r, r, 0], [0, r, -r, 0], [1, 0, 0, 0]], complex)
    return np.einsum("s,sa,sb->ab", p, kets, kets.conj())


def wootters_lambdas(rho: np.ndarray) -> np.ndarray:
    """λ₁ ≥ … ≥ λ₄: square roots of the eigenvalues of ρ ρ̃ (Wootters 1998), numpy."""
    yy = np.kron([[0, -1j], [1j, 0]], [[0, -1j], [1j, 0]])
    tilde = yy @ rho.conj() @ yy
    ev = np.linalg.eigvals(rho @ tilde)
    return np.sort(np.sqrt(np.clip(ev.real, 0, None)))[::-1]


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 10_000, path


def same_arrays(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        nan = a[key].dtype.kind == "f"
        assert np.array_equal(a[key], b[key], equal_nan=nan), key


def load_arrays(path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


# ------------------------------------------------------------------------ the default study


def test_readme_main_command_runs_the_default_study(tmp_path):
    """`qdiss` with no arguments (shrunk by QDISS_QUICK): steady state + gradient checked
    against the closed form, an optimisation, a sweep around the optimum, plots."""
    out = run_qdiss([], cwd=tmp_path, env={"QDISS_QUICK": "1"})
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert "device: cpu" in out.stdout and "precision: float64" in out.stdout
    folder = tmp_path / "results" / "default-quick"
    assert (folder / "study.toml").read_text() == (STUDIES / "default.toml").read_text()
    run = read_json(folder / "run.json")
    assert run["complete"] and [t["status"] for t in run["tasks"]] == ["complete"] * 3

    # 1. the steady state: concurrence and gradient against the numpy Markov chain
    steady = read_json(folder / "steady.json")
    assert steady["status"] == "successful" and steady["residual"] < 1e-12
    exact = markov_chain_concurrence(DEFAULT_PARAMETERS)
    assert abs(steady["merits"]["concurrence"]["value"] - exact) < 1e-10
    assert abs(steady["merits"]["closed_form_concurrence"]["value"] - exact) < 1e-10
    assert f"concurrence             = {exact:.10g}" in out.stdout
    step = 1e-6
    for key in ("eta", "rate", "mu"):
        for c in range(2):
            up = {k: np.array(v, dtype=float) for k, v in DEFAULT_PARAMETERS.items()}
            down = {k: np.array(v, dtype=float) for k, v in DEFAULT_PARAMETERS.items()}
            up[key][c] += step
            down[key][c] -= step
            fd = (markov_chain_concurrence(up) - markov_chain_concurrence(down)) / (2 * step)
            grad = steady["gradients"]["concurrence"][key][c]
            assert abs(grad - fd) < 1e-6 * max(1.0, abs(fd)), (key, c)

    # 2. the optimisation (10 steps in quick mode) moves uphill from the default point
    opt = read_json(folder / "optimize.json")
    history = np.load(folder / "optimize.npz")
    assert opt["reason"] == "max_steps" and history["step"].size == 10
    assert abs(history["objective"][0] - exact) < 1e-10
    assert opt["best_objective"] > history["objective"][0] + 1e-4
    best = opt["best_parameters"]
    params = {k: np.array(v, dtype=float) for k, v in DEFAULT_PARAMETERS.items()}
    params["eta"][0], params["mu"][0] = best["eta[0]"], best["mu[0]"]
    assert abs(opt["best_objective"] - markov_chain_concurrence(params)) < 1e-10

    # 3. the sweep around the optimum: every point against the Markov chain
    sweep = np.load(folder / "sweep.npz")
    assert sweep["status"].shape == (5, 5) and np.all(sweep["status"] == 0)
    for i, e0 in enumerate(sweep["axis.eta[0]"]):
        for j, m0 in enumerate(sweep["axis.mu[0]"]):
            point = {k: np.array(v, dtype=float) for k, v in params.items()}
            point["eta"][0], point["mu"][0] = e0, m0
            value = sweep["merit.concurrence"][i, j]
            assert abs(value - markov_chain_concurrence(point)) < 1e-10, (e0, m0)
    for name in ("optimize.png", "sweep.concurrence.png", "sweep.purity.png"):
        assert_png(folder / name)


def test_default_job_concurrence_matches_markov_chain_and_gradient_matches_fd():
    params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in DEFAULT_PARAMETERS.items()}

    def concurrence(p):
        return x_state_concurrence(qdiss.steady_state(magnon_qubits_lindbladian(p)).rho)

    value = float(concurrence(params))
    assert abs(value - markov_chain_concurrence(DEFAULT_PARAMETERS)) < 1e-12
    grad = jax.grad(concurrence)(params)
    step = 1e-6
    for key in ("eta", "rate", "mu"):
        for c in range(2):
            up = {k: np.array(v, dtype=float) for k, v in DEFAULT_PARAMETERS.items()}
            down = {k: np.array(v, dtype=float) for k, v in DEFAULT_PARAMETERS.items()}
            up[key][c] += step
            down[key][c] -= step
            fd = (markov_chain_concurrence(up) - markov_chain_concurrence(down)) / (2 * step)
            assert abs(float(grad[key][c]) - fd) < 1e-6 * max(1.0, abs(fd)), (key, c)


def test_detailed_balance_gives_zero_concurrence():
    """Equal chemical potentials: detailed balance, C = 0 exactly (arXiv:2508.18131)."""
    params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in DEFAULT_PARAMETERS.items()}
    params["mu"] = jnp.array([-0.5, -0.5])
    rho = qdiss.steady_state(magnon_qubits_lindbladian(params)).rho
    assert float(x_state_concurrence(rho)) == 0.0


def test_markov_chain_state_helper_matches_qdiss():
    """The numpy reference state used by the CLI tests is the steady state qdiss computes."""
    rho = markov_chain_state(**DEFAULT_PARAMETERS)
    params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in DEFAULT_PARAMETERS.items()}
    ours = np.asarray(qdiss.steady_state(magnon_qubits_lindbladian(params)).rho)
    np.testing.assert_allclose(ours, rho, atol=1e-12)
    lam = wootters_lambdas(rho)
    exact = markov_chain_concurrence(DEFAULT_PARAMETERS)
    assert abs(max(0.0, lam[0] - lam[1] - lam[2] - lam[3]) - exact) < 1e-8


# ------------------------------------------------------------------------ small commands


def test_help_everywhere(capsys):
    out = subprocess.run(
        [sys.executable, "-m", "qdiss.cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "usage: qdiss" in out.stdout, out.stderr
    assert "default study" in out.stdout and "bench" in out.stdout and "info" in out.stdout
    for args in (["run"], ["bench"], ["info"], ["models"], ["studies"]):
        with pytest.raises(SystemExit) as exit_:
            cli_main([*args, "--help"])
        assert exit_.value.code == 0
        assert f"usage: qdiss {args[0]}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli_main(["run", "--help"])
    run_help = capsys.readouterr().out
    for word in ("[model.parameters]", "[[task]]", 'kind = "sweep"', "checkpoint_every", "-q"):
        assert word in run_help, word


def test_info_models_studies(capsys):
    assert cli_main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"qdiss {qdiss.__version__}" in out and "jax " in out and "Devices:" in out
    assert "cpu" in out and "float64" in out and "Results:" in out

    assert cli_main(["models"]) == 0
    out = capsys.readouterr().out
    assert "magnon.MagnonBathQubits" in out and "reference.DrivenCavity" in out

    assert cli_main(["models", "magnon"]) == 0
    out = capsys.readouterr().out
    for word in ("eta", "rate", "≥ 0", "temperature", "> 0", "closed_form_concurrence"):
        assert word in out, word

    assert cli_main(["studies"]) == 0
    out = capsys.readouterr().out
    for path in STUDIES.glob("*.toml"):
        assert path.stem in out
    assert cli_main(["studies", "magnon-phase-diagram"]) == 0
    out = capsys.readouterr().out
    assert tomllib.loads(out)["name"] == "magnon-phase-diagram"

    assert cli_main(["models", "magnonn"]) == 2
    assert "Did you mean `magnon`" in capsys.readouterr().err


def test_example_studies_load_and_are_in_the_readme():
    from qdiss.cli._study import load_study

    readme = (ROOT / "README.md").read_text()
    paths = sorted(STUDIES.glob("*.toml"))
    assert len(paths) >= 4
    for path in paths:
        study = load_study(path)
        assert study.name == path.stem and study.tasks
        assert f"{path.stem}" in readme, f"README does not list {path.name}"


def test_bench_dry_run_and_missing_scripts(capsys, tmp_path):
    assert cli_main(["bench", "--dry-run"]) == 0
    out = capsys.readouterr().out
    for script in ("steady_state.py --quick", "fails_safely.py --count 24"):
        assert script in out
    assert cli_main(["bench", "--full", "--dry-run", "--only", "sweep"]) == 0
    out = capsys.readouterr().out
    assert "sweep.py" in out and "steady_state.py" not in out
    assert cli_main(["bench", "--benchmarks", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "source repository" in err


def test_benchmark_suite_runs_as_a_script_outside_the_package():
    script = ROOT / "benchmarks" / "run_all.py"
    args = [sys.executable, str(script), "--dry-run", "--only", "sweep", "fails_safely"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "sweep.py --grid 8" in out.stdout and "steady_state.py" not in out.stdout
    assert "steady_state.py" not in (ROOT / "qdiss" / "cli" / "_bench.py").read_text()


def test_version(capsys):
    assert cli_main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"qdiss {qdiss.__version__}"


def test_spectrum_task_matches_qutip(tmp_path):
    """The shipped fluorescence study's spectrum task (quick: 20 frequencies) against QuTiP's
    `spectrum` of the same model (H = Ω J_x, L = √Γ J⁻, spin N/2), built here with QuTiP."""
    import qutip

    out = run_qdiss(["run", "fluorescence-sweep", "--quick", "--no-plots"], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "results" / "fluorescence-sweep-quick"
    meta = read_json(folder / "spectrum.json")
    saved = load_arrays(folder / "spectrum.npz")
    assert meta["complete"] and meta["jump"] == 0 and np.all(saved["status"] == 0)
    params = meta["parameters"]
    j = int(params["N"]) / 2
    H = float(params["omega"]) * qutip.jmat(j, "x")
    L = np.sqrt(float(params["gamma"])) * qutip.jmat(j, "-")
    expected = qutip.spectrum(H, saved["omega"], [L], L.dag(), L)
    assert saved["omega"].size == 20
    np.testing.assert_allclose(saved["spectrum"], expected, rtol=1e-7, atol=1e-12)
    assert "max S(ω)" in out.stdout
