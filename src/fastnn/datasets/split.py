"""Training/validation splits, stratified by class (notes 000: split first)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_array, check_bool, check_real, check_seed

__all__ = ["Split", "check_labels", "check_val_fraction", "train_val_indices", "train_val_split"]


class Split(NamedTuple):
    """Result of :func:`train_val_split`.

    Parameters
    ----------
    X_train : numpy.ndarray
        The training samples.
    y_train : numpy.ndarray
        Their labels.
    X_val : numpy.ndarray
        The validation samples.
    y_val : numpy.ndarray
        Their labels.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray


def check_labels(name: str, y: ArrayLike) -> np.ndarray:
    """Check class labels: a 1-D array of numbers or strings.

    Parameters
    ----------
    name : str
        The argument's name, for the error messages.
    y : array_like
        The labels; their values must be comparable with each other, so
        that classes can be told apart.

    Returns
    -------
    numpy.ndarray
        ``y`` as an array.

    Raises
    ------
    TypeError
        For labels that are neither numbers nor strings.
    ValueError
        For labels that are not 1-D.
    """
    y = as_array(name, y, numeric=False)
    if y.dtype.kind not in "biufUS":
        raise TypeError(f"{name} must hold class labels (numbers or strings), got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    return y


def check_val_fraction(value: Any) -> float:
    """Check a validation fraction: a real number strictly between 0 and 1.

    Parameters
    ----------
    value : float
        The fraction of the samples that goes to validation.

    Returns
    -------
    float
        ``value`` as a float.

    Raises
    ------
    TypeError
        For a value that is not a real number.
    ValueError
        For a value outside (0, 1).
    """
    return check_real("val_fraction", value, 0.0, 1.0, min_open=True, max_open=True)


def _largest_remainder(counts: np.ndarray, total: int) -> np.ndarray:
    """Return integer quotas proportional to ``counts`` summing to ``total``."""
    exact = counts * (total / counts.sum())
    quota = np.floor(exact).astype(np.int64)
    short = total - int(quota.sum())
    if short > 0:
        order = np.argsort(-(exact - quota), kind="stable")
        quota[order[:short]] += 1
    quotas: np.ndarray = np.minimum(quota, counts)
    return quotas


def _stratified_choice(y: np.ndarray, n_val: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n_val`` indices, each class in proportion to its size (sorted)."""
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    quotas = _largest_remainder(counts, n_val)
    val_parts = []
    for k in range(len(classes)):
        members = np.flatnonzero(inverse.reshape(-1) == k)
        val_parts.append(rng.permutation(members)[:quotas[k]])
    return np.sort(np.concatenate(val_parts)) if val_parts else np.empty(0, np.int64)


def train_val_indices(y: ArrayLike, val_fraction: float = 0.1, seed: int | np.random.Generator | None = 0,
                      stratify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Draw the indices of a random training/validation split.

    ``round(val_fraction * n)`` samples (at least 1, and at least 1 left for
    training) go to validation.  With ``stratify`` each class contributes in
    proportion to its size (largest-remainder rounding), so class
    frequencies are the same in both parts to within one sample per class;
    otherwise the samples are drawn uniformly.  The choice depends only on
    ``y``, ``val_fraction`` and ``seed``.

    Parameters
    ----------
    y : array_like
        The class labels, 1-D, at least 2.
    val_fraction : float, default 0.1
        The fraction of the samples for validation, in (0, 1).
    seed : int or numpy.random.Generator, optional
        Seed of ``numpy.random.default_rng`` (``None`` draws a fresh one).
    stratify : bool, default True
        Keep the class frequencies in both parts.

    Returns
    -------
    train_idx : numpy.ndarray
        The training indices, sorted, ``int64``.
    val_idx : numpy.ndarray
        The validation indices, sorted, ``int64``.

    Raises
    ------
    TypeError
        For an argument of the wrong type.
    ValueError
        For a ``val_fraction`` outside (0, 1), a negative seed, or fewer than 2 samples.
    """
    y = check_labels("y", y)
    n = len(y)
    val_fraction = check_val_fraction(val_fraction)
    seed = check_seed(seed)
    stratify = check_bool("stratify", stratify)
    if n < 2:
        raise ValueError(f"y must hold at least 2 samples to split, got {n}")
    n_val = min(max(round(val_fraction * n), 1), n - 1)
    rng = np.random.default_rng(seed)
    if stratify:
        val_idx = _stratified_choice(y, n_val, rng)
    else:
        val_idx = np.sort(rng.permutation(n)[:n_val])
    mask = np.ones(n, dtype=bool)
    mask[val_idx] = False
    return np.flatnonzero(mask).astype(np.int64), val_idx.astype(np.int64)


def train_val_split(X: ArrayLike, y: ArrayLike, val_fraction: float = 0.1,
                    seed: int | np.random.Generator | None = 0, stratify: bool = True) -> Split:
    """Split ``(X, y)`` into training and validation parts (notes 000: split FIRST).

    Samples keep their original order within each part.  See
    :func:`train_val_indices` for how the split is drawn.  Do this before
    fitting a :class:`Normalizer`, and fit it on ``X_train`` only.

    Parameters
    ----------
    X : array_like
        The samples, at least 1-D.
    y : array_like
        Their class labels, 1-D.
    val_fraction : float, default 0.1
        The fraction of the samples for validation, in (0, 1).
    seed : int or numpy.random.Generator, optional
        Seed of ``numpy.random.default_rng`` (``None`` draws a fresh one).
    stratify : bool, default True
        Keep the class frequencies in both parts.

    Returns
    -------
    Split
        ``(X_train, y_train, X_val, y_val)``.

    Raises
    ------
    TypeError
        For an argument of the wrong type.
    ValueError
        For ``X`` and ``y`` of different lengths, or a bad value as in
        :func:`train_val_indices`.

    Examples
    --------
    >>> X_train, y_train, X_val, y_val = train_val_split(X, y, 0.1, seed=0)  # doctest: +SKIP
    """
    X = as_array("X", X, numeric=False, min_ndim=1)
    y = check_labels("y", y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    tr, va = train_val_indices(y, val_fraction, seed=seed, stratify=stratify)
    return Split(X[tr], y[tr], X[va], y[va])
