"""The README's code example runs and prints what it says."""

from __future__ import annotations

import pathlib
import re

import jax
import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs_and_matches_closed_form():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python example"
    namespace: dict = {}
    # The example is written for users' default (standard) promotion.
    with jax.numpy_dtype_promotion("standard"):
        exec(compile(blocks[0], str(README), "exec"), namespace)
        params = np.array([0.4, 0.6, 1.3])
        value = float(namespace["photons"](params))
        grad = np.asarray(namespace["jax"].grad(namespace["photons"])(params))
    delta, drive, gamma = params
    assert value == pytest.approx(drive**2 / (delta**2 + gamma**2 / 4), rel=1e-9)
    assert grad[1] == pytest.approx(2 * drive / (delta**2 + gamma**2 / 4), rel=1e-8)
