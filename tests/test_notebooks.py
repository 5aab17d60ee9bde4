"""Execute every notebook in notebooks/ and fail on any cell error.

Each notebook checks qdiss against independent references (closed forms, QuTiP) with explicit
``assert`` statements, so executing it is a test. The kernel gets ``QDISS_NOTEBOOK_SIZE=small``,
which each notebook reads in its first code cell to pick CI-sized grids and systems (about a
minute per notebook on two CPU cores); without it the notebooks run the full-size version.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {
    "00_tour",
    "01_emitter_squeezing",
    "02_magnon_entanglement",
    "03_eplt_channels",
    "04_kerr_entangled_baths",
    "05_synchronisation",
    "06_spectra_and_gap",
    "07_drives_kernels_interop",
}
CELL_TIMEOUT = 300  # seconds for any single cell (small mode needs well under a minute in all)


def _code_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def test_every_notebook_is_present():
    assert EXPECTED <= {path.stem for path in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_conventions(path):
    """x64 and the size switch come first; there is at least one explicit check."""
    cells = _code_cells(path)
    assert cells, f"{path.name} has no code cells"
    first = cells[0]
    assert 'jax.config.update("jax_enable_x64", True)' in first
    assert 'SMALL = os.environ.get("QDISS_NOTEBOOK_SIZE") == "small"' in first
    assert any("assert " in source for source in cells[1:])


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_executes(path, monkeypatch):
    """Run all cells in a fresh kernel (small sizes); any exception or failed assert fails."""
    monkeypatch.setenv("QDISS_NOTEBOOK_SIZE", "small")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises nbclient.exceptions.CellExecutionError on the first failing cell
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
