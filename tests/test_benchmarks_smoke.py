"""benchmarks/gpu.py's code path at tiny sizes on the CPU (the GPU run itself is a benchmark, not a
test: these check that the driver runs, reports what it measured and its status, and that its
counting and parsing helpers give the hand-counted answers)."""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


@pytest.fixture(scope="module")
def gpu():
    sys.path.insert(0, BENCH)
    spec = importlib.util.spec_from_file_location("gpu_bench", os.path.join(BENCH, "gpu.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(records, section):
    return [r for r in records if r["section"] == section]


def test_batch_and_two_mode_sections_run_and_agree_with_a_dense_null_space(gpu):
    records = gpu.main(["--smoke", "--in-process", "--sections", "batch", "two_mode"])
    batch = _rows(records, "batch")
    assert {(r["solver"], r["platform"]) for r in batch} == {
        (s, p) for s in ("Krylov", "DenseLU") for p in ("default", "cpu")
    }
    assert all(r["status"] == "ok" and r["succeeded"] == 4 for r in batch)
    # ⟨a†a⟩ of the first batch point (δ = −κ, ε = 8) against the null space of the dense
    # superoperator built independently (benchmarks/_problems.py's column-stacking one)
    from _problems import kerr_problem, sparse_liouvillian_colstack

    problem = kerr_problem(4)
    params = dict(problem.params, delta=-problem.params["kappa"], eps=8.0)
    H, Ls = problem.build(params, np)
    dense = sparse_liouvillian_colstack(np.asarray(H), np.asarray(Ls)).toarray()
    vec = np.linalg.svd(dense)[2][-1].conj()
    rho = vec.reshape(4, 4, order="F")
    rho = rho / np.trace(rho)
    expected = float(np.real(np.trace(problem.observable @ rho)))
    for r in batch:
        assert r["mean_photons_first_last"][0] == pytest.approx(expected, abs=1e-8)
    compare = _rows(records, "batch-compare")
    assert len(compare) == 2 and all(r["max_abs_diff_photons"] < 1e-10 for r in compare)
    (two_mode,) = _rows(records, "two_mode")
    assert two_mode["status"] == "ok" and two_mode["representation"] == "parity"
    assert two_mode["unknowns"] == 2 * (8 * 8)  # cutoff 4: parity blocks of 8 states each


def test_pi_and_bandwidth_sections_run(gpu):
    records = gpu.main(["--smoke", "--in-process", "--sections", "pi", "bandwidth"])
    (pi,) = _rows(records, "pi")
    assert pi["status"] == "ok" and pi["N"] == 4 and len(pi["grad_xi2_R"]) == 4
    rows = {r["what"]: r for r in _rows(records, "bandwidth")}
    assert set(rows) == {"operator apply", "gmres step"}
    for r in rows.values():
        assert r["status"] == "ok" and r["bytes"] > 0 and r["achieved_gb_s"] > 0
        assert r["fraction_of_peak"] is None  # a CPU has no entry in PEAK_BANDWIDTH
    assert rows["gmres step"]["unknowns"] == 35  # N = 4: 5² + 3² + 1² Dicke-block entries


def test_gmres_step_bytes_matches_a_hand_count(gpu):
    # 3 steps in one cycle (restart 40): Gram–Schmidt 5k + 3 at k = 1, 2, 3 → 8 + 13 + 18 = 39,
    # the cycle's update (3 + 2) and restart residual (5): 49 vectors; 4 applications
    per_step, counts = gpu.gmres_step_bytes(3, 40, vector_bytes=10, apply_bytes=100.0)
    assert counts["cycles"] == 1
    assert per_step == pytest.approx((49 * 10 + 4 * 100) / 3)
    # 5 steps in cycles of 2, 2, 1
    per_step, counts = gpu.gmres_step_bytes(5, 2, vector_bytes=1, apply_bytes=0.0)
    cycle2 = 8 + 13 + (2 + 2) + 5
    cycle1 = 8 + (1 + 2) + 5
    assert counts["cycles"] == 3
    assert per_step == pytest.approx((2 * cycle2 + cycle1) / 5)
    with pytest.raises(ValueError, match="steps"):
        gpu.gmres_step_bytes(0, 40, 1, 1.0)


def test_peak_bandwidth_by_device_kind(gpu):
    assert gpu.peak_bandwidth("NVIDIA H100 80GB HBM3") == 3.35e12
    assert gpu.peak_bandwidth("NVIDIA H100 PCIe") == 2.0e12
    assert gpu.peak_bandwidth("NVIDIA H200") == 4.8e12
    assert gpu.peak_bandwidth("cpu") is None


def test_pytest_summary_is_parsed(gpu):
    text = (
        "..F.E\n"
        "FAILED tests/test_contract.py::test_a[dense] - AssertionError: x\n"
        "ERROR tests/test_contract.py::test_b[krylov] - TypeError\n"
        "3 passed, 1 failed, 1 error, 40 deselected in 12.3s\n"
    )
    out = gpu.parse_pytest_summary(text)
    assert (out["passed"], out["failed"], out["errors"], out["deselected"]) == (3, 1, 1, 40)
    assert out["failing"] == [
        "tests/test_contract.py::test_a[dense]",
        "tests/test_contract.py::test_b[krylov]",
    ]


def test_a_measurement_out_of_time_gives_a_timeout_row(gpu):
    (row,) = gpu.run_worker("pi", {"N": 4, "out": None}, "cpu", 0.5, in_process=False)
    assert row["status"] == "timeout"
    assert "within 0.5 s" in row["note"]


def test_contract_section_runs_pytest_and_counts(gpu):
    f64, f32 = gpu.contract_rows(("float64", "float32"), smoke=True, timeout=None)
    assert (f64["dtype"], f64["status"], f64["passed"], f64["failed"]) == ("float64", "ok", 1, 0)
    # QDISS_TEST_X64=0 really runs single precision: the float64 tolerance of the test fails
    assert (f32["dtype"], f32["passed"] + f32["failed"]) == ("float32", 1)
    name = "tests/test_contract.py::test_matches_null_space_reference[3-1-0-dense]"
    assert f32["failing"] == [name]


def test_spectra_script_rows_agree_with_qutip(tmp_path):
    """benchmarks/spectra.py's worker on its smallest row (the Mollow triplet), qdiss and QuTiP
    each saving S(ω); and its plan (no FloquetLU above n = 10)."""
    path = os.path.join(BENCH, "spectra.py")
    spec = importlib.util.spec_from_file_location("spectra_bench", path)
    spectra = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(spectra)
    rows = {}
    for method in ("qutip", "DenseResolvent"):
        path = str(tmp_path / f"{method}.npy")
        rows[method] = spectra.worker("spectrum", "mollow", method, 1, path)
        assert rows[method]["status"] == "successful" and rows[method]["peak_rss_mb"] > 0
    assert "compile_s" in rows["DenseResolvent"] and "compile_s" not in rows["qutip"]
    ours, ref = (np.load(tmp_path / f"{m}.npy") for m in ("DenseResolvent", "qutip"))
    assert ours.shape == (481,) and np.max(np.abs(ours - ref)) < 1e-10
    plan = list(spectra.plan(["periodic"]))
    assert ("periodic", "kerr-10", "FloquetLU") in plan
    assert ("periodic", "kerr-30", "FloquetLU") not in plan
