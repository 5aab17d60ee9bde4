"""The README's main command, end to end, and the default job's numbers against independent ones."""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

import qdiss
from qdiss.cli import (
    DEFAULT_PARAMETERS,
    magnon_qubits_lindbladian,
    markov_chain_concurrence,
    x_state_concurrence,
)


def test_console_script_runs_the_default_job():
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, "-m", "qdiss.cli"], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "device: cpu" in out.stdout and "precision: float64" in out.stdout
    assert "Steady-state concurrence C = 0.02511884" in out.stdout
    assert "dC/deta" in out.stdout and "status            : successful" in out.stdout


def test_help():
    out = subprocess.run(
        [sys.executable, "-m", "qdiss.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "default job" in out.stdout


def _concurrence(params):
    return x_state_concurrence(qdiss.steady_state(magnon_qubits_lindbladian(params)).rho)


def test_default_job_concurrence_matches_markov_chain_and_gradient_matches_fd():
    params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in DEFAULT_PARAMETERS.items()}
    value = float(_concurrence(params))
    assert abs(value - markov_chain_concurrence(DEFAULT_PARAMETERS)) < 1e-12
    grad = jax.grad(_concurrence)(params)
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
    """Equal chemical potentials: detailed balance, C = 0 exactly (physics.md §2)."""
    params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in DEFAULT_PARAMETERS.items()}
    params["mu"] = jnp.array([-0.5, -0.5])
    assert float(_concurrence(params)) == 0.0
