"""Notes 000's preprocessing work flow in one call: clean, split, fit, normalise."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._validation import as_array, check_bool, check_seed
from .corruption import CorruptionReport, clean
from .mnist import MNISTData, describe_array
from .normalize import Normalizer
from .split import check_val_fraction, train_val_split

__all__ = ["PreparedData", "prepare_mnist"]

T = TypeVar("T")


@dataclasses.dataclass(eq=False, repr=False)
class PreparedData:
    """Normalised training/validation/test sets; unpacks as a 6-tuple.

    ``X_train, y_train, X_val, y_val, X_test, y_test = prepare_mnist(data)``.

    Parameters
    ----------
    X_train : numpy.ndarray
        The normalised training split.
    y_train : numpy.ndarray
        Its labels, ``int64``.
    X_val : numpy.ndarray
        The normalised validation split.
    y_val : numpy.ndarray
        Its labels, ``int64``.
    X_test : numpy.ndarray
        The normalised test set.
    y_test : numpy.ndarray
        Its labels, ``int64``.
    normalizer : Normalizer
        Fitted on ``X_train`` (the training split) only.
    reports : dict of str to CorruptionReport
        The reports of cleaning the training and the test data (keys
        ``"train"``, ``"test"``; empty when not cleaned).
    source : str, default "full"
        Copied from the input :class:`MNISTData`.
    reason : str, optional
        Copied from the input :class:`MNISTData`.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    normalizer: Normalizer
    reports: dict[str, CorruptionReport]
    source: str = "full"
    reason: str | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.X_train, self.y_train, self.X_val, self.y_val, self.X_test, self.y_test))

    def __len__(self) -> int:
        return 6

    def __repr__(self) -> str:
        return (f"PreparedData(source={self.source!r}, X_train={describe_array(self.X_train)}, "
                f"X_val={describe_array(self.X_val)}, X_test={describe_array(self.X_test)}, "
                f"normalizer={self.normalizer!r})")


def _int_labels(name: str, y: ArrayLike) -> np.ndarray:
    """Return labels as int64; integers or integral floats only (no silent truncation)."""
    y = as_array(name, y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    if y.dtype.kind == "f" and not (np.isfinite(y) & (y == np.round(y))).all():
        raise ValueError(f"{name} must hold integer class labels, got non-integral values")
    return y.astype(np.int64)


def _renamed(suffix: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(...)``, the X / y its errors name called X<suffix> / y<suffix>."""
    try:
        return fn(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise type(e)(re.sub(r"(?<![A-Za-z_])([Xy])(?![A-Za-z_])", r"\1" + suffix, str(e))) from None


def _unpack(data: Any) -> tuple[Any, Any, Any, Any]:
    """Check ``data``: an MNISTData or a 4-sequence (X_train, y_train, X_test, y_test)."""
    if data is None or isinstance(data, (str, bytes, dict, np.ndarray)) \
            or not isinstance(data, (Sequence, MNISTData)):
        raise TypeError(f"data must be an MNISTData or a tuple (X_train, y_train, X_test, "
                        f"y_test), got {type(data).__name__}")
    if len(data) != 4:
        raise ValueError(f"data must hold 4 arrays (X_train, y_train, X_test, y_test), got {len(data)}")
    X_train, y_train, X_test, y_test = tuple(data)
    return X_train, y_train, X_test, y_test


def _options(val_fraction: Any, seed: Any, stratify: Any, flatten: Any,
             drop_corrupted: Any) -> tuple[float, int | np.random.Generator | None, bool, bool, bool]:
    """Check prepare_mnist's options (before any work on the data)."""
    return (check_val_fraction(val_fraction), check_seed(seed), check_bool("stratify", stratify),
            check_bool("flatten", flatten), check_bool("drop_corrupted", drop_corrupted))


def _transformed(norm: Normalizer, X: np.ndarray, suffix: str, flatten: bool) -> np.ndarray:
    """Normalise ``X`` with ``norm`` (errors naming X<suffix>), flattened to rows when ``flatten``."""
    Z = _renamed(suffix, norm.transform, X)
    return Z.reshape(len(Z), -1) if flatten else Z


def _cleaned(drop_corrupted: bool, X_train: Any, y_train: Any, X_test: Any,
             y_test: Any) -> tuple[Any, Any, Any, Any, dict[str, CorruptionReport]]:
    """Clean the training and test data (``drop_corrupted``), or only check them; add the reports."""
    reports: dict[str, CorruptionReport] = {}
    if drop_corrupted:
        X_train, y_train, reports["train"] = _renamed("_train", clean, X_train, y_train)
        X_test, y_test, reports["test"] = _renamed("_test", clean, X_test, y_test)
        return X_train, y_train, X_test, y_test, reports
    X_train = as_array("X_train", X_train, min_ndim=1)
    X_test = as_array("X_test", X_test, min_ndim=1)
    y_train = _int_labels("y_train", y_train)
    y_test = _int_labels("y_test", y_test)
    if len(X_test) != len(y_test):
        raise ValueError(f"X_test has {len(X_test)} samples but y_test has {len(y_test)}")
    return X_train, y_train, X_test, y_test, reports


def prepare_mnist(data: MNISTData | Sequence[Any], val_fraction: float = 0.1,
                  seed: int | np.random.Generator | None = 0, *, method: str = "minmax",
                  per_pixel: bool = False, stratify: bool = True, flatten: bool = True,
                  drop_corrupted: bool = True, dtype: DTypeLike = np.float32) -> PreparedData:
    """Run notes 000's work flow: clean, split first, fit on training, normalise all.

    Steps: 1. (``drop_corrupted``) :func:`clean` the training and the test
    data separately; 2. :func:`train_val_split` the training data; 3. fit a
    :class:`Normalizer` on the training split only; 4. transform training,
    validation and test sets with it.

    Parameters
    ----------
    data : MNISTData or sequence
        An :class:`MNISTData` or any ``(X_train, y_train, X_test, y_test)``.
    val_fraction : float, default 0.1
        The fraction of the training data for validation, in (0, 1).
    seed : int or numpy.random.Generator, optional
        Seed of the split (``None`` draws a fresh one).
    method : {"minmax", "standardize"}, default "minmax"
        The normalisation (see :class:`Normalizer`).
    per_pixel : bool, default False
        One statistic per pixel position instead of one over all pixels.
    stratify : bool, default True
        Keep the class frequencies in both parts of the split.
    flatten : bool, default True
        Return images flattened to ``(n, 784)``.
    drop_corrupted : bool, default True
        Drop the images :func:`find_corrupted` flags first.
    dtype : data-type, default numpy.float32
        The floating type of the returned images.

    Returns
    -------
    PreparedData
        Unpacks as ``X_train, y_train, X_val, y_val, X_test, y_test``, with
        the fitted ``normalizer`` and the cleaning ``reports``.

    Raises
    ------
    TypeError
        For an argument of the wrong type (the message names it, e.g. ``y_test``).
    ValueError
        For an argument of the right type but an unusable value.

    Examples
    --------
    >>> X_train, y_train, X_val, y_val, X_test, y_test = prepare_mnist(load_mnist())  # doctest: +SKIP
    """
    X_train, y_train, X_test, y_test = _unpack(data)
    # cheap arguments first, before any work on the data
    val_fraction, seed, stratify, flatten, drop_corrupted = _options(val_fraction, seed, stratify, flatten,
                                                                     drop_corrupted)
    norm = Normalizer(method, per_pixel=per_pixel, dtype=dtype)
    X_train, y_train, X_test, y_test, reports = _cleaned(drop_corrupted, X_train, y_train, X_test, y_test)
    split = _renamed("_train", train_val_split, X_train, y_train, val_fraction, seed=seed, stratify=stratify)
    norm.fit(split.X_train)
    Z_train, Z_val, Z_test = (_transformed(norm, X, suffix, flatten)
                              for X, suffix in ((split.X_train, "_train"), (split.X_val, "_train"), (X_test, "_test")))
    return PreparedData(Z_train, split.y_train, Z_val, split.y_val, Z_test, y_test, norm, reports,
                        source=getattr(data, "source", "full"), reason=getattr(data, "reason", None))
