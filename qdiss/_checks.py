"""Checks of argument values that work the same with concrete and with traced values.

Two kinds (the dynamiqs ``_checks.py`` pattern):

- :func:`check` ``(x, bad, message)``: with concrete values (outside ``jit``/``vmap``) it raises
  ``ValueError(message + details)`` at once when ``bad`` holds anywhere; with traced values it
  returns ``eqx.error_if(x, bad, message)``, which raises ``EquinoxRuntimeError`` at run time.
  Thread the returned ``x`` through the computation so that the runtime check is not dropped.
- :func:`check_concrete` ``(bad, message)``: raises ``ValueError`` when ``bad`` is concrete and
  holds anywhere; does nothing when traced (for checks whose runtime form is not wanted, e.g.
  in a loop that reports failures through result codes instead of raising).

``details`` is a function called only when a concrete check fails: the values it formats (e.g.
``f"got γ = {float(gamma)}"``) are then concrete, and the message names them.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import numpy as np

from ._numerics import is_concrete

__all__ = ["check", "check_concrete"]


def _message(message: str, details: Callable[[], str] | None) -> str:
    return message if details is None else f"{message} {details()}"


def check[X](x: X, bad, message: str, details: Callable[[], str] | None = None) -> X:
    """``x``, once ``bad`` is known to be False everywhere: ``ValueError`` at once when ``bad``
    is concrete and True somewhere, ``eqx.error_if(x, bad, message)`` when it is traced."""
    if is_concrete(bad):
        if np.any(np.asarray(bad)):
            raise ValueError(_message(message, details))
        return x
    return eqx.error_if(x, bad, message)


def check_concrete(bad, message: str, details: Callable[[], str] | None = None) -> None:
    """``ValueError`` when ``bad`` is concrete and True somewhere; nothing when it is traced."""
    if is_concrete(bad) and np.any(np.asarray(bad)):
        raise ValueError(_message(message, details))
