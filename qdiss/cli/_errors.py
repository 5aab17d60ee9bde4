"""Errors the command line reports as one paragraph and an exit status (never a traceback)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EXIT_FAILED = 1  # the run finished but something failed (a task, the model at run time)
EXIT_USAGE = 2  # bad input: command line or study file
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """An error with a message for the user and an exit status."""

    status = EXIT_FAILED

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class UsageError(CLIError):
    """Bad command-line input (exit status 2)."""

    status = EXIT_USAGE


class StudyError(CLIError):
    """A malformed or inconsistent study file (exit status 2).

    The message names the file, the field (a dotted path such as ``task[2].axes[0].num``) and
    what is expected.
    """

    status = EXIT_USAGE

    def __init__(self, path, field: str | None, message: str):
        self.path = str(path)
        self.field = field
        where = f"study file {self.path}"
        if field:
            where += f", field `{field}`"
        super().__init__(
            f"{where}: {message} (the study format: `qdiss run --help`; examples: `qdiss studies`)."
        )


def suggest(word: str, choices: Iterable[str]) -> str:
    """' Did you mean `x`?' for the closest of ``choices``, or ''."""
    choices = list(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        lower = {c.lower(): c for c in choices}
        close = difflib.get_close_matches(word.lower(), list(lower), n=1, cutoff=0.6)
        close = [lower[c] for c in close]
    return f" Did you mean `{close[0]}`?" if close else ""


def one_of(choices: Iterable[str]) -> str:
    """'`a`, `b` or `c`'."""
    items = [f"`{c}`" for c in choices]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]
