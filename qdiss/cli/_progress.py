"""Progress bars (tqdm, on stderr, with an estimate of the time left) and graceful stops."""

from __future__ import annotations

import contextlib
import signal
import sys


class _NoBar(contextlib.nullcontext):
    """The part of tqdm's interface the tasks use, showing nothing (quiet mode needs no tqdm)."""

    n = 0

    def __init__(self):
        super().__init__(self)

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass


def progress_bar(total: int, desc: str, unit: str, quiet: bool, initial: int = 0):
    """A tqdm bar over ``total`` items (redrawn at most every 0.2 s on a terminal, every 5 s in
    a log file), or :class:`_NoBar` in quiet mode."""
    if quiet:
        return _NoBar()
    from tqdm import tqdm

    every = 0.2 if sys.stderr.isatty() else 5.0
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=every,
        smoothing=0.1,
    )


class StopFlag:
    """Turns the first SIGINT (Ctrl-C) or SIGTERM into a request to stop at the next checkpoint
    (after the current sweep block or optimisation step); a second one stops at once."""

    def __init__(self):
        self.signal: int | None = None
        self._previous = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    def _handle(self, signum, frame):
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum
        print(
            "\nqdiss: stopping at the next checkpoint (press Ctrl-C again to stop at once)",
            file=sys.stderr,
            flush=True,
        )

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread
                self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
