"""Corrupted images: find them, say why, and drop them (notes 000).

An image is dropped for the first reason of :data:`CORRUPTION_REASONS` that
applies: unreadable, wrong shape, bad label, non-finite or out-of-range
pixels, or an identical image carrying a different label.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_array, check_int, check_range, check_shape, describe
from .files import IMAGE_SHAPE, N_CLASSES

__all__ = ["CORRUPTION_REASONS", "CorruptionReport", "clean", "find_corrupted"]

#: Reasons an image is dropped, in the order they are checked; an image is
#: counted under the first that applies.
CORRUPTION_REASONS = ("unreadable", "wrong_shape", "bad_label", "non_finite",
                      "out_of_range", "conflicting_duplicate")

_REASON_TEXT = {
    "unreadable": "unreadable (not a numeric array)",
    "wrong_shape": "wrong shape",
    "bad_label": "label not an integer in range",
    "non_finite": "NaN or infinite pixels",
    "out_of_range": "pixel values out of range",
    "conflicting_duplicate": "identical images with conflicting labels",
}


@dataclasses.dataclass(eq=False)
class CorruptionReport:
    """What :func:`find_corrupted` found.

    Each bad image is counted under the first reason of
    :data:`CORRUPTION_REASONS` that applies, so the counts add up to
    ``n_removed``.  ``str(report)`` is :meth:`summary`.

    Parameters
    ----------
    n_total : int
        The number of images examined.
    indices : dict of str to numpy.ndarray
        For each reason, the sorted indices of the images dropped for it.
    keep : numpy.ndarray
        The boolean mask of the good images.
    """

    n_total: int
    indices: dict[str, np.ndarray]
    keep: np.ndarray

    @property
    def bad_indices(self) -> np.ndarray:
        """The indices of the dropped images, sorted."""
        return np.flatnonzero(~self.keep)

    @property
    def n_removed(self) -> int:
        """The number of dropped images."""
        return int((~self.keep).sum())

    @property
    def n_kept(self) -> int:
        """The number of good images."""
        return self.n_total - self.n_removed

    @property
    def counts(self) -> dict[str, int]:
        """The number of dropped images per reason, in the order of :data:`CORRUPTION_REASONS`."""
        return {r: len(self.indices[r]) for r in CORRUPTION_REASONS}

    def summary(self) -> str:
        """Say how many images were removed, of how many, and why.

        Returns
        -------
        str
            E.g. ``"removed 3 of 100 images: 1 wrong shape, 2 NaN or infinite pixels"``.
        """
        if not self.n_removed:
            return f"no corrupted images among {self.n_total}"
        parts = ", ".join(f"{c} {_REASON_TEXT[r]}" for r, c in self.counts.items() if c)
        return f"removed {self.n_removed} of {self.n_total} images: {parts}"

    __str__ = summary


def _label_ok(labels: ArrayLike, n_classes: int) -> np.ndarray:
    """Return a boolean mask: label is an integer (or integral float) in 0..n_classes-1."""
    y = np.asarray(labels)
    ok: np.ndarray
    if y.dtype.kind in "iu":
        ok = (y >= 0) & (y < n_classes)
        return ok
    if y.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(y) & (y == np.round(y)) & (y >= 0) & (y < n_classes)
        return ok
    ok = np.zeros(len(y), dtype=bool)
    for i, v in enumerate(y.tolist() if y.dtype.kind != "O" else list(y)):
        if isinstance(v, (bool, np.bool_)):
            continue
        if isinstance(v, (int, np.integer)):
            ok[i] = 0 <= int(v) < n_classes
        elif isinstance(v, (float, np.floating)):
            ok[i] = bool(np.isfinite(v)) and float(v).is_integer() and 0 <= v < n_classes
    return ok


def _check_images(X: Any) -> None:
    """Check X for find_corrupted/clean: an array of images or a sequence of them."""
    if isinstance(X, np.ndarray):
        if X.ndim == 0:
            raise ValueError("X must be an array or sequence of images, got a 0-d array")
        return
    if X is None or isinstance(X, (str, bytes, dict)) or not isinstance(X, Sequence):
        raise TypeError(f"X must be an array or sequence of images, got {describe(X)}")


def _is_numeric_array(X: Any) -> bool:
    return isinstance(X, np.ndarray) and X.dtype.kind in "biuf"


def _mark(reason: np.ndarray, mask: Any, why: str) -> None:
    """Give the images of ``mask`` not yet marked the reason ``why``."""
    mask = np.asarray(mask, dtype=bool) & (reason == "")
    reason[mask] = why


def _as_rows(X: Any, shape: tuple[int, ...], reason: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``X`` as rows ``(n, pixels)`` and the mask of the readable, well-shaped ones.

    Marks the unreadable and wrongly shaped images (their rows are zeros).
    """
    n, size = len(X), int(np.prod(shape))
    if _is_numeric_array(X):
        if X.shape[1:] in (shape, (size,)):
            return X.reshape(n, size), np.ones(n, dtype=bool)
        _mark(reason, np.ones(n, dtype=bool), "wrong_shape")
        return np.zeros((n, size), dtype=X.dtype), np.zeros(n, dtype=bool)
    rows_ok = np.zeros(n, dtype=bool)
    items = []
    for i in range(n):
        try:
            a = np.asarray(X[i])
        except Exception:  # noqa: BLE001 - whatever cannot be read is "unreadable"
            a = None
        if a is None or a.dtype.kind not in "biuf":
            reason[i] = "unreadable"
        elif a.shape not in (shape, (size,)):
            reason[i] = "wrong_shape"
        else:
            rows_ok[i] = True
            items.append(a.reshape(size))
    dtype = np.result_type(*{a.dtype for a in items}) if items else np.uint8
    X2 = np.zeros((n, size), dtype=dtype)
    if items:
        X2[rows_ok] = np.stack(items)
    return X2, rows_ok


def _mark_pixels(reason: np.ndarray, X2: np.ndarray, rows_ok: np.ndarray, lo: float, hi: float) -> None:
    """Mark the images with non-finite pixels or pixels outside ``[lo, hi]``."""
    if X2.dtype.kind == "f":
        _mark(reason, rows_ok & ~np.isfinite(X2).all(axis=1), "non_finite")
    kind_info = np.iinfo(X2.dtype) if X2.dtype.kind in "iu" else None
    if kind_info is None or kind_info.min < lo or kind_info.max > hi:
        with np.errstate(invalid="ignore"):
            _mark(reason, rows_ok & ((X2 < lo) | (X2 > hi)).any(axis=1), "out_of_range")


def _mark_conflicting_duplicates(reason: np.ndarray, X2: np.ndarray, y: np.ndarray) -> None:
    """Mark every copy of an otherwise good image that carries different labels."""
    cand = np.flatnonzero(reason == "")
    if cand.size <= 1:
        return
    rows = np.ascontiguousarray(X2[cand])
    if rows.dtype.kind == "f":
        rows = rows + 0.0  # -0.0 -> +0.0, so equal values hash equal
    groups: dict[bytes, list[int]] = {}
    for j, row in zip(cand, rows):
        groups.setdefault(hashlib.blake2b(row.tobytes(), digest_size=16).digest(), []).append(int(j))
    for members in groups.values():
        if len(members) > 1 and len({int(y[m]) for m in members}) > 1:
            reason[members] = "conflicting_duplicate"


def find_corrupted(X: Any, y: ArrayLike, *, image_shape: tuple[int, ...] = IMAGE_SHAPE,
                   n_classes: int = N_CLASSES,
                   value_range: tuple[float, float] = (0, 255)) -> CorruptionReport:
    """Find the images that should not be trained on (notes 000).

    An image is corrupted when it is

    * ``unreadable``: not convertible to a numeric array (``None``, text...);
    * ``wrong_shape``: neither ``image_shape`` nor its flattened form;
    * ``bad_label``: its label is not an integer in ``0..n_classes-1``;
    * ``non_finite``: any pixel is NaN or infinite;
    * ``out_of_range``: any pixel lies outside ``value_range`` (inclusive);
    * ``conflicting_duplicate``: identical (same pixel values) to another
      otherwise good image carrying a different label -- every copy goes,
      since which label is right cannot be told.  Identical images with the
      same label are kept.

    Parameters
    ----------
    X : array_like or sequence of array_like
        An array of images ``(n, 28, 28)`` / ``(n, 784)``, or a sequence of
        per-image arrays (e.g. read from separate files).
    y : array_like
        The labels, 1-D, one per image.
    image_shape : tuple of int, default (28, 28)
        The shape of a good image.
    n_classes : int, default 10
        Good labels are 0..n_classes-1.
    value_range : (float, float), default (0, 255)
        The range of good pixel values, inclusive.

    Returns
    -------
    CorruptionReport
        The dropped images by reason, and the mask of the good ones.

    Raises
    ------
    TypeError
        For an argument of the wrong type.
    ValueError
        For ``len(X) != len(y)`` or an argument of unusable value.
    """
    _check_images(X)
    y_arr = as_array("y", y, numeric=False)
    if y_arr.ndim != 1:
        raise ValueError(f"y must be a 1-D sequence of labels, got shape {y_arr.shape}")
    n = len(X)
    if len(y_arr) != n:
        raise ValueError(f"X has {n} images but y has {len(y_arr)} labels")
    shape = check_shape("image_shape", image_shape)
    n_classes = check_int("n_classes", n_classes, minimum=1)
    lo, hi = check_range("value_range", value_range, finite=False)
    reason = np.full(n, "", dtype=object)
    X2, rows_ok = _as_rows(X, shape, reason)
    _mark(reason, ~_label_ok(y_arr, n_classes), "bad_label")
    _mark_pixels(reason, X2, rows_ok, lo, hi)
    _mark_conflicting_duplicates(reason, X2, np.asarray(y_arr))
    indices = {r: np.flatnonzero(reason == r).astype(np.int64) for r in CORRUPTION_REASONS}
    return CorruptionReport(n_total=n, indices=indices, keep=(reason == ""))


def clean(X: Any, y: ArrayLike, **kwargs: Any) -> tuple[np.ndarray, np.ndarray, CorruptionReport]:
    """Drop the images :func:`find_corrupted` flags.

    Parameters
    ----------
    X : array_like or sequence of array_like
        The images, as :func:`find_corrupted` takes them.
    y : array_like
        Their labels.
    **kwargs
        ``image_shape``, ``n_classes``, ``value_range`` of :func:`find_corrupted`.

    Returns
    -------
    X_clean : numpy.ndarray
        The kept images (an array ``X`` keeps its shape per image; a
        sequence becomes a stacked array of ``image_shape``).
    y_clean : numpy.ndarray
        Their labels as ``int64``.
    report : CorruptionReport
        What was removed and why (``str(report)`` says it in words).

    Raises
    ------
    TypeError
        For an argument of the wrong type.
    ValueError
        For ``len(X) != len(y)`` or an argument of unusable value.

    Examples
    --------
    >>> X_clean, y_clean, report = clean(X_train, y_train)  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    no corrupted images among 60000
    """
    report = find_corrupted(X, y, **kwargs)
    keep = np.flatnonzero(report.keep)
    shape = check_shape("image_shape", kwargs.get("image_shape", IMAGE_SHAPE))
    if _is_numeric_array(X):
        if X.shape[1:] in (shape, (int(np.prod(shape)),)):
            X_clean = X[keep]
        else:  # every image had the wrong shape
            X_clean = np.empty((0,) + shape, dtype=X.dtype)
    else:
        items = [np.asarray(X[i]).reshape(shape) for i in keep]
        X_clean = np.stack(items) if items else np.empty((0,) + shape, dtype=np.uint8)
    y_kept = np.asarray(y)[keep]
    if y_kept.dtype.kind in "iu":
        y_clean = y_kept.astype(np.int64)
    else:  # integral floats or Python ints in an object array, all valid by now
        y_clean = np.array([int(v) for v in y_kept], dtype=np.int64)
    return X_clean, y_clean, report
