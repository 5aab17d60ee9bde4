"""No file of the repository and nothing the command line prints cites the notes file that
the early docstrings pointed to (it is not in the repository or the package): docstrings cite
the papers (arXiv numbers) and the project's own docs instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from qdiss.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
NOTES = "physics" + ".md"  # spelled so that this file does not mention it either
FOLDERS = ("qdiss", "tests", "benchmarks", "notebooks")
SUFFIXES = {".py", ".toml", ".ipynb", ".md", ".txt"}


def _files():
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts:
                yield path
    yield ROOT / "README.md"


def test_no_file_cites_the_missing_notes():
    cited = [str(p.relative_to(ROOT)) for p in _files() if NOTES in p.read_text("utf-8")]
    assert not cited, f"{NOTES} is cited in {cited}"


def test_no_command_line_output_cites_the_missing_notes(capsys):
    from qdiss.cli._info import shipped_studies
    from qdiss.cli._registry import model_entries

    outputs = []
    assert cli_main(["models"]) == 0
    outputs.append(capsys.readouterr().out)
    entries = model_entries()
    for entry in entries:
        assert cli_main(["models", entry.short]) == 0
        outputs.append(capsys.readouterr().out)
    for path in shipped_studies():
        assert cli_main(["studies", path.stem]) == 0
        outputs.append(capsys.readouterr().out)
    for args in (["run", "--help"], ["--help"]):
        with pytest.raises(SystemExit):
            cli_main(args)
        outputs.append(capsys.readouterr().out)
    assert len(outputs) > len(entries) + 3
    for out in outputs:
        assert NOTES not in out
    # the papers are cited where the notes were
    assert any("arXiv:2508.18131" in out for out in outputs)
