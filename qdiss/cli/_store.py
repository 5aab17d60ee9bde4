"""The results folder of a run: atomic writes (temporary file + ``os.replace``), ``.npz`` arrays
with ``.json`` metadata, and fingerprints that tell whether saved results belong to a task."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import UsageError

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader (or a resumed run) sees either the old file or
    the new one, never a partial file: write a temporary file in the same folder, flush it to
    disk, then ``os.replace`` it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def to_json(value: Any) -> Any:
    """Plain JSON values: arrays to (nested) lists, NaN and ±inf to null."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        return to_json(np.asarray(value).tolist())  # numpy and JAX arrays and scalars
    return value


def save_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON (:func:`to_json`), atomically."""
    text = json.dumps(to_json(value), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    atomic_write(path, text.encode("utf-8"))


def save_npz(path: Path, arrays: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write(path, buffer.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of an ``.npz`` file, or None if there is none or it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (FileNotFoundError, OSError, ValueError):
        return None


def load_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, OSError, ValueError):
        return None


def fingerprint(value: Any) -> str:
    """A short hash of what a task's results depend on (to refuse mixing different runs)."""
    text = json.dumps(to_json(value), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def task_meta(ctx, task, params: dict, fp: str, complete: bool, **rest) -> dict:
    """The head of a task's ``.json``: what ran (model, solver, precision, parameters) and
    whether it is complete, followed by the task's own entries ``rest``."""
    study = ctx.study
    head = {"task": task.name, "kind": task.kind, "complete": complete, "fingerprint": fp}
    head |= {"model": study.model.key, "solver": study.solver}
    head |= {"solver_options": study.solver_options, "precision": study.precision}
    return head | {"parameters": params, "start": task.start} | rest


def save_results(ctx, task, params: dict, fp: str, complete: bool, arrays: dict, **rest) -> None:
    """Write a sweep's or an optimisation's ``<task>.npz`` (``arrays``) and ``<task>.json``
    (:func:`task_meta`, the file's name, then ``rest``: what the arrays mean), each atomically."""
    save_npz(ctx.results.file(f"{task.name}.npz"), arrays)
    meta = task_meta(ctx, task, params, fp, complete, file=f"{task.name}.npz", **rest)
    save_json(ctx.results.file(f"{task.name}.json"), meta)


class ResultsDir:
    """``root/<study name>/``: the study file (``study.toml``), ``run.json`` (what ran, with
    which versions, on which device, and each task's state) and each task's files."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def file(self, name: str) -> Path:
        return self.path / name

    def prepare(self, study_text: str, restart: bool) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise UsageError(f"results folder {self.path} exists and is not a folder.")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create the results folder {self.path}: {e}") from None
        self.lock()
        if restart:
            for child in self.path.iterdir():
                if child.is_file() and (child.suffix in (".npz", ".json", ".png", ".toml", ".tmp")):
                    child.unlink()
        atomic_write(self.file("study.toml"), study_text.encode("utf-8"))

    def lock(self) -> None:
        """Refuse to run while another live ``qdiss run`` on this machine writes here. A lock
        left by a killed run (its process is gone) is taken over."""
        path = self.file(".lock")
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        holder = load_json(path)
        if holder and holder.get("host") == me["host"] and holder.get("pid") != me["pid"]:
            try:
                os.kill(int(holder["pid"]), 0)  # PermissionError: alive, another user's
            except (ProcessLookupError, ValueError, TypeError):
                holder = None  # stale: that run was killed
            except PermissionError:
                pass
            if holder is not None:
                raise UsageError(
                    f"another qdiss run (process {holder['pid']}) is writing to {self.path}; "
                    "wait for it to finish or stop it (it can be resumed), or use another "
                    "--results-dir."
                )
        save_json(path, me)

    def unlock(self) -> None:
        self.file(".lock").unlink(missing_ok=True)

    def refuse_mismatch(self, task_name: str, what: str) -> None:
        raise UsageError(
            f"the results folder {self.path} holds {what} of task {task_name!r} computed with "
            "different settings (model, solver, task or start point changed). Run with "
            "--restart to discard them, or with --results-dir to write somewhere else."
        )
