"""Argument checks shared by every module of fastnn.

One rule for every public function and constructor: a value of the wrong
*type* raises ``TypeError``, a value of the right type but out of range (or
otherwise unusable) raises ``ValueError``, and each message names the
argument and says what was expected and what was given::

    lr must be a real number, got str 'a'
    batch_size must be >= 1, got 0

Each ``check_*`` function returns the value converted to the plain Python
or NumPy type the caller works with (``check_int`` gives an ``int`` also
for a NumPy integer, ``check_real`` a ``float``).  Booleans are never
accepted as numbers.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "as_array",
    "as_float_array",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_dtype",
    "check_instance",
    "check_int",
    "check_path",
    "check_range",
    "check_real",
    "check_seed",
    "check_shape",
    "check_verbose",
    "describe",
]

T = TypeVar("T")


def describe(value: Any, width: int = 40) -> str:
    """``value`` for an error message: its type and a shortened repr (arrays by dtype and shape)."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    text = repr(value)
    if len(text) > width:
        text = text[: width - 3] + "..."
    return f"{type(value).__name__} {text}"


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool: True or False only (not 0/1, strings or None)."""
    if not _is_bool(value):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


def check_verbose(value: Any, name: str = "verbose", maximum: int = 2) -> int:
    """A verbosity level: True/False or an int in 0..maximum (0 is silent)."""
    if _is_bool(value):
        return int(value)
    if not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int 0..{maximum} or True/False, got {describe(value)}")
    level = int(value)
    if not 0 <= level <= maximum:
        raise ValueError(f"{name} must be in 0..{maximum}, got {value}")
    return level


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int in ``minimum..maximum`` (either end optional).

    Bools and floats are refused, NumPy integers accepted.
    """
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {describe(value)}")
    n = int(value)
    if (minimum is not None and n < minimum) or (maximum is not None and n > maximum):
        if maximum is None:
            bound = f">= {minimum}"
        elif minimum is None:
            bound = f"<= {maximum}"
        else:
            bound = f"in {minimum}..{maximum}"
        raise ValueError(f"{name} must be {bound}, got {n}")
    return n


def check_real(name: str, value: Any, minimum: float | None = None, maximum: float | None = None, *,
               min_open: bool = False, max_open: bool = False, finite: bool = True) -> float:
    """``value`` as a float, a real number.

    (not a bool), finite unless ``finite=False`` (NaN is always refused), within the bounds given:
    ``minimum <= value`` (``<`` with ``min_open``), likewise for ``maximum``.
    """
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    x = float(value)
    if math.isnan(x) or (finite and math.isinf(x)):
        raise ValueError(f"{name} must be {'finite' if finite else 'a number'}, got {x}")
    low_bad = minimum is not None and (x <= minimum if min_open else x < minimum)
    high_bad = maximum is not None and (x >= maximum if max_open else x > maximum)
    if low_bad or high_bad:
        raise ValueError(f"{name} must be {_interval(minimum, maximum, min_open, max_open)}, got {x}")
    return x


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if hi is None:
        return f"{'>' if lo_open else '>='} {lo}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {hi}"
    return f"in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"


def check_seed(value: Any, name: str = "seed") -> int | np.random.Generator | None:
    """A seed as ``numpy.random.default_rng`` takes it.

    None, an int >= 0 or a ``numpy.random.Generator`` (returned as it is).
    """
    if value is None or isinstance(value, np.random.Generator):
        return value
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be None, an int >= 0 or a numpy.random.Generator, got {describe(value)}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def check_choice(name: str, value: Any, choices: Collection[str]) -> str:
    """``value`` if it is one of the strings ``choices``.

    TypeError for a non-string, ValueError listing the choices for an unknown one.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, choices))}; got {describe(value)}")
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, choices))}")
    return value


@overload
def check_instance(name: str, value: Any, types: type[T], what: str) -> T: ...


@overload
def check_instance(name: str, value: Any, types: tuple[type, ...], what: str) -> Any: ...


def check_instance(name: str, value: Any, types: type | tuple[type, ...], what: str) -> Any:
    """``value`` if it is an instance of ``types``, else TypeError saying ``name must be <what>``."""
    if not isinstance(value, types):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def check_callable(name: str, value: Any, what: str = "a callable") -> Callable[..., Any]:
    """``value`` if it can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be {what}, got {describe(value)}")
    fn: Callable[..., Any] = value
    return fn


def check_dtype(value: Any, name: str = "dtype") -> np.dtype[Any]:
    """float32 or float64 as a ``numpy.dtype`` (from a name, type or dtype)."""
    if value is None:
        raise TypeError(f"{name} must be float32 or float64, got None")
    try:
        dt: np.dtype[Any] = np.dtype(value)
    except TypeError as e:
        raise TypeError(f"{name} must be float32 or float64, got {value!r} ({e})") from None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {dt}")
    return dt


def check_range(name: str, value: Any, finite: bool = True) -> tuple[float, float]:
    """``value`` as a pair ``(lo.

    Hi)`` of real numbers with ``lo < hi`` (``lo <= hi`` and infinite ends allowed when not
    ``finite``).
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a pair (min, max) of numbers, got {describe(value)}")
    if len(value) != 2:
        raise ValueError(f"{name} must be a pair (min, max) of numbers, got {len(value)} value(s)")
    lo, hi = (check_real(name, v, finite=finite) for v in value)
    if not (hi > lo if finite else hi >= lo):
        raise ValueError(f"{name} must have max {'>' if finite else '>='} min, got {tuple(value)}")
    return lo, hi


def check_shape(name: str, value: Any) -> tuple[int, ...]:
    """``value`` as a tuple of ints >= 1 (an image or array shape)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a tuple of ints, got {describe(value)}")
    if len(value) == 0:
        raise ValueError(f"{name} must have at least one dimension, got {tuple(value)}")
    return tuple(check_int(f"{name} entries", d, minimum=1) for d in value)


def check_image_shape(name: str, value: Any, pixels: int | None = None) -> tuple[int, int]:
    """``value`` as an image's (height, width), each >= 1; with ``pixels``, their product must equal it."""
    shape = check_shape(name, value)
    if len(shape) != 2:
        raise ValueError(f"{name} must be (height, width), got {shape}")
    h, w = shape
    if pixels is not None and h * w != pixels:
        raise ValueError(f"{name} {shape} has {h * w} pixels but X has {pixels} columns")
    return h, w


def check_path(name: str, value: Any) -> Path:
    """``value`` (a str or ``os.PathLike``) as a ``pathlib.Path``."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {describe(value)}")
    path = os.fspath(value)
    if not isinstance(path, str):
        raise TypeError(f"{name} must be a str path, got {describe(path)}")
    if not path or "\x00" in path:
        raise ValueError(f"{name} must be a non-empty path without NUL characters, got {path!r}")
    # imported on first use: pathlib, with urllib.parse, would add about 10 ms to `import fastnn`
    from pathlib import Path

    return Path(path)


def as_array(name: str, value: Any, numeric: bool = True, min_ndim: int = 0) -> np.ndarray:
    """``numpy.asarray(value)``, with NumPy's refusals (ragged lists, ...) naming the argument.

    With ``numeric``, real numbers only (bool, int, float: no text, complex or objects).
    """
    if value is None or isinstance(value, (str, bytes, dict)):
        raise TypeError(f"{name} must be an array, got {describe(value)}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name} must be an array of numbers: {e}") from None
    if numeric and arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    return arr


def as_float_array(name: str, value: Any) -> np.ndarray:
    """``value`` as a new float64 array of real numbers."""
    return as_array(name, value).astype(np.float64)
