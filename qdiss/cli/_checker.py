"""Checks of values read from a study file, each failing with a :class:`StudyError` that names
the file, the field and what is expected."""

from __future__ import annotations

import math

import numpy as np

from . import _registry
from ._errors import StudyError, one_of, suggest

__all__ = ["Checker", "describe", "domain_check", "short"]

_EXPECTED = {
    "model": "a [model] table with the model's `name` and a [model.parameters] table",
    "task": "one or more [[task]] tables",
    "name": "a name (a string)",
    "parameters": "a table of the model's parameters, or a list of parameter names to optimise",
    "merits": 'a list of figures of merit, e.g. ["purity"]',
    "axes": "a list of one or two axes { parameter = ..., start = ..., stop = ..., num = ... }",
    "objective": "a figure of merit to optimise",
    "steps": "the maximum number of optimisation steps (a positive integer)",
    "parameter": "a parameter name such as `mu` or `mu[0]`",
    "values": "a list of numbers",
    "start": "a number",
    "stop": "a number",
    "num": "a number of points (a positive integer)",
}


def describe(value) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return f"a list ({short(value)})"
    if isinstance(value, dict):
        return f"a table with keys {', '.join(map(repr, value)) or '(none)'}"
    return f"a value of type {type(value).__name__}"


def short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Checker:
    def __init__(self, path):
        self.path = path

    def fail(self, field: str | None, message: str):
        raise StudyError(self.path, field, message)

    def table(self, value, field, required=(), optional=()) -> dict:
        if not isinstance(value, dict):
            self.fail(field, f"expected a table (`[{field}]` or `{{...}}`); got {describe(value)}")
        allowed = list(required) + list(optional)
        for key in value:
            if key not in allowed:
                where = f"{field}.{key}" if field else key
                self.fail(
                    where,
                    f"unknown field; expected {one_of(allowed)}.{suggest(key, allowed)}",
                )
        for key in required:
            if key not in value:
                where = f"{field}.{key}" if field else key
                expected = _EXPECTED.get(key)
                self.fail(
                    where,
                    "this required field is missing"
                    + (f"; expected {expected}" if expected else ""),
                )
        return value

    def free_table(self, value, field) -> dict:
        if not isinstance(value, dict):
            self.fail(field, f"expected a table (`[{field}]` or `{{...}}`); got {describe(value)}")
        return value

    def string(self, value, field, choices=None, pattern=None, what=None) -> str:
        if not isinstance(value, str):
            self.fail(field, f"expected {what or 'a string'}; got {describe(value)}")
        if choices is not None:
            match = [c for c in choices if c.lower() == value.lower()]
            if not match:
                self.fail(
                    field,
                    f"expected {one_of(choices)}; got {value!r}.{suggest(value, choices)}",
                )
            return match[0]
        if pattern is not None and not pattern.match(value):
            self.fail(field, f"expected {what}; got {value!r}")
        return value

    def number(self, value, field, *, minimum=None, strict=False, finite=True) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(field, f"expected a number; got {describe(value)}")
        value = float(value)
        if finite and not math.isfinite(value):
            self.fail(field, f"expected a finite number; got {value}")
        if minimum is not None and (value <= minimum if strict else value < minimum):
            self.fail(
                field, f"expected a number {'>' if strict else '≥'} {minimum:g}; got {value:g}"
            )
        return value

    def integer(self, value, field, minimum=None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"expected an integer; got {describe(value)}")
        if minimum is not None and value < minimum:
            self.fail(field, f"expected an integer ≥ {minimum}; got {value}")
        return value

    def boolean(self, value, field) -> bool:
        if not isinstance(value, bool):
            self.fail(field, f"expected `true` or `false`; got {describe(value)}")
        return value

    def strings(self, value, field, nonempty=True) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(field, f"expected a list of strings; got {describe(value)}")
        if nonempty and not value:
            self.fail(field, "expected at least one entry; got an empty list")
        if len(set(value)) != len(value):
            self.fail(field, f"lists {sorted({v for v in value if value.count(v) > 1})} twice")
        return tuple(value)

    def reals(self, value, field) -> np.ndarray:
        """A number or a (nested, rectangular) list of numbers -> float64 array."""

        def ok(v):
            if isinstance(v, list):
                return all(ok(x) for x in v)
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        if not ok(value):
            self.fail(field, f"expected a number or a list of numbers; got {describe(value)}")
        try:
            array = np.asarray(value, dtype=np.float64)
        except ValueError:
            self.fail(field, "expected a rectangular list of numbers (rows of equal length)")
        if array.size == 0:
            self.fail(field, "expected at least one number; got an empty list")
        if not np.all(np.isfinite(array)):
            self.fail(field, f"expected finite numbers; got {short(value)}")
        return array


def domain_check(check: Checker, field: str, name: str, values: np.ndarray) -> None:
    domain = _registry.parameter_domain(name)
    if domain == "nonnegative" and np.any(values < 0):
        check.fail(
            field,
            f"`{name}` is a rate and must be ≥ 0; got {short(values.tolist())}",
        )
    if domain == "positive" and np.any(values <= 0):
        check.fail(field, f"`{name}` must be > 0; got {short(values.tolist())}")
