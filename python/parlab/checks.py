"""Argument checks shared by the experiments, the lab server and the helpers: each names
the parameter in its TypeError or ValueError.

Integers are read with `operator.index`, as Python's own indexing does: a numpy integer
(np.int64(4)) is an integer, a float (4.0) or a bool (True) is not. That is the rule
`parlab.render` follows, so every entry point accepts the same values.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from numbers import Real

import numpy as np


def check_int(name: str, value: object, low: int, high: int) -> int:
    """`value` as a Python int between low and high (inclusive)."""
    if isinstance(value, bool | np.bool_):  # numpy's bool has __index__ too
        raise TypeError(f"{name}: must be an integer, got {type(value).__name__}")
    try:
        number = operator.index(value)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{name}: must be an integer, got {type(value).__name__}") from None
    if not low <= number <= high:
        raise ValueError(f"{name}: must be between {low} and {high}, got {number}")
    return number


def check_number(name: str, value: object, low: float, high: float) -> float:
    """`value` (any real number, numpy's included; not a bool, not NaN) as a float between low and high."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"{name}: must be a number, got {type(value).__name__}")
    number = float(value)
    if math.isnan(number) or not low <= number <= high:
        raise ValueError(f"{name}: must be between {low} and {high}, got {value}")
    return number


def check_workers(workers: object, default: int, name: str = "workers", high: int = 1024) -> int:
    """A worker count from 1 to `high`; `default` when None."""
    return default if workers is None else check_int(name, workers, 1, high)


def check_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """One of `allowed`."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}: unknown {value!r}; choose from {list(allowed)}")
    return value


def check_modes(modes: object, allowed: Sequence[str]) -> tuple[str, ...]:
    """A non-empty tuple of distinct names from `allowed` (a single name is a tuple of one)."""
    if isinstance(modes, str):
        modes = (modes,)
    if not isinstance(modes, Iterable):
        raise TypeError(f"modes: must be a sequence of mode names, got {type(modes).__name__}")
    modes = tuple(modes)
    unknown = [m for m in modes if m not in allowed]
    if unknown or not modes:
        raise ValueError(f"modes: unknown or empty {unknown or list(modes)}; choose from {list(allowed)}")
    if len(set(modes)) != len(modes):
        raise ValueError(f"modes: each mode at most once, got {list(modes)}")
    return modes
