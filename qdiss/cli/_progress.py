"""Progress bars (tqdm, on stderr, with an estimate of the time left) and graceful stops."""

from __future__ import annotations

import signal
import sys


class Progress:
    """A progress bar over ``total`` items, or nothing at all in quiet mode."""

    def __init__(self, total: int, desc: str, unit: str, quiet: bool, initial: int = 0):
        self.bar = None
        if quiet:
            return
        from tqdm import tqdm

        tty = sys.stderr.isatty()
        self.bar = tqdm(
            total=total,
            initial=initial,
            desc=desc,
            unit=unit,
            file=sys.stderr,
            dynamic_ncols=True,
            mininterval=0.2 if tty else 5.0,
            smoothing=0.1,
            leave=True,
        )

    def update(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def to(self, n: int) -> None:
        """Move the bar to ``n`` items done."""
        if self.bar is not None:
            self.bar.update(n - self.bar.n)

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


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
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
