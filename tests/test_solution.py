"""Auto's choice, the solution record's summary, and result codes."""

from __future__ import annotations

import jax
import numpy as np
from problems import random_lindbladian

import qdiss


def test_auto_picks_by_cost_on_cpu():
    assert jax.default_backend() == "cpu"
    auto = qdiss.Auto()
    assert isinstance(auto.select(random_lindbladian(10, 1, 0)), qdiss.DenseLU)
    # dense random jump operators fill a sparse LU completely: Krylov (tests/test_auto.py)
    assert isinstance(auto.select(random_lindbladian(60, 1, 0)), qdiss.Krylov)
    assert isinstance(auto.select(random_lindbladian(150, 1, 0)), qdiss.Krylov)
    tight = qdiss.Auto(residual_tol=1e-12, error_tol=1e-9).select(random_lindbladian(10, 1, 0))
    assert (tight.residual_tol, tight.error_tol) == (1e-12, 1e-9)


def test_default_solver_is_auto_and_named_in_the_solution():
    sol = qdiss.steady_state(random_lindbladian(3, 2, 0))
    assert sol.solver == "DenseLU"
    assert sol.status == "successful" and sol.message == "successful"


def test_summary_is_readable():
    text = str(qdiss.steady_state(random_lindbladian(3, 2, 0)))
    for field in ("status", "relative residual", "condition number", "min eigenvalue", "steps"):
        assert field in text
    assert "successful" in text


def test_batched_summary_counts_successes():
    L = random_lindbladian(3, 2, 0)

    def solve(scale):
        scaled = jax.tree_util.tree_map(lambda x: x * scale.astype(x.dtype), L)
        return qdiss.steady_state(scaled, throw=False)

    sols = jax.vmap(solve)(np.array([1.0, 2.0]))
    assert "2/2 successful" in str(sols)


def test_results_extend_lineax():
    import lineax as lx

    assert qdiss.RESULTS.promote(lx.RESULTS.max_steps_reached) == qdiss.RESULTS.max_steps_reached
    for name in ("non_unique", "residual_too_large", "inaccurate", "nonfinite", "not_positive"):
        assert getattr(qdiss.RESULTS, name) != qdiss.RESULTS.successful


def test_printing_a_result_code_shows_its_name_and_message():
    """``print(sol.result)`` showed lineax's bare message, ``RESULTS<>`` on success."""
    assert repr(qdiss.RESULTS.successful) == "qdiss.RESULTS<successful>"
    assert str(qdiss.RESULTS.successful) == "qdiss.RESULTS<successful>"
    text = str(qdiss.RESULTS.non_unique)
    assert text.startswith("qdiss.RESULTS<non_unique: The steady state is not unique")
    assert text.endswith(">")
    sol = qdiss.steady_state(random_lindbladian(3, 2, 0))
    assert str(sol.result) == "qdiss.RESULTS<successful>"
    assert qdiss.RESULTS[sol.result] == "successful"
    assert qdiss.RESULTS[qdiss.RESULTS.nonfinite] == "nonfinite: " + _message("nonfinite")
    import lineax as lx

    promoted = qdiss.RESULTS.promote(lx.RESULTS.max_steps_reached)
    assert str(promoted).startswith("qdiss.RESULTS<max_steps_reached: The maximum number")
    # lineax's own enumeration is untouched
    assert str(lx.RESULTS.successful) == "lineax._solution.RESULTS<>"


def _message(name):
    from qdiss._solution import result_message

    return result_message(int(np.asarray(getattr(qdiss.RESULTS, name)._value)))


def test_printing_batched_and_traced_result_codes():
    """A batch (``vmap`` outside ``jit``) prints the count of each code; a traced code prints
    ``traced``."""
    L = random_lindbladian(3, 2, 0)

    def solve(scale):
        scaled = jax.tree_util.tree_map(lambda x: x * scale.astype(x.dtype), L)
        return qdiss.steady_state(scaled, throw=False).result

    batch = jax.vmap(solve)(np.array([1.0, 0.0, 2.0]))  # scale 0: L = 0, not unique
    assert str(batch) == "qdiss.RESULTS<batch of 3: successful ×2, non_unique ×1>"
    seen = []
    jax.jit(lambda s: seen.append(str(solve(s))) or s)(1.0)
    assert seen == ["qdiss.RESULTS<traced>"]


def test_equinox_enumeration_internals_read_only_in_solution_module():
    """`._value`, `_name_to_item` and `_index_to_message` are equinox-private: only
    qdiss/_solution.py (result_codes, result_name, result_message) may read them."""
    import pathlib
    import re

    root = pathlib.Path(qdiss.__file__).parent
    pattern = re.compile(r"\._value\b|_name_to_item|_index_to_message")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "_solution.py" or path.parent != root
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_result_name_reads_other_enumerations():
    """result_name/result_codes serve diffrax's RESULTS too (EvolveSolution.status)."""
    import diffrax

    from qdiss._solution import result_codes, result_name

    code = int(result_codes(diffrax.RESULTS.max_steps_reached))
    assert result_name(code, diffrax.RESULTS) == "max_steps_reached"
    assert result_name(int(result_codes(qdiss.RESULTS.non_unique))) == "non_unique"
