"""A look at the data: a grid of a few images of each class (matplotlib, optional)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import as_array, check_instance, check_int, check_path, check_seed
from ..plots import new_figure, save_figure
from .split import check_labels

__all__ = ["plot_samples"]

#: most rows (classes) and columns (per_class) plot_samples draws
_PLOT_MAX = 100


def _as_images(X: np.ndarray) -> np.ndarray:
    """Return ``X`` as images ``(n, h, w)``: flattened rows must be square images."""
    if X.ndim == 2:
        side = round(np.sqrt(X.shape[1]))
        if side * side != X.shape[1]:
            raise ValueError(f"cannot show flattened images of {X.shape[1]} pixels (not a square); pass (n, h, w)")
        return X.reshape(len(X), side, side)
    if X.ndim != 3:
        raise ValueError(f"expected images (n, h, w) or (n, h*w), got shape {X.shape}")
    return X


def _checked_args(X: Any, y: Any, path: Any, per_class: Any, classes: Any, seed: Any, title: Any,
                  dpi: Any) -> tuple[np.ndarray, np.ndarray, Path, int, list[Any], Any, int]:
    """Check plot_samples' arguments: X as images, y, path, per_class, the classes to show, seed, dpi."""
    X = as_array("X", X, min_ndim=1)
    y = check_labels("y", y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} images but y has {len(y)} labels")
    per_class = check_int("per_class", per_class, minimum=1, maximum=_PLOT_MAX)
    dpi = check_int("dpi", dpi, minimum=1, maximum=2000)
    seed = check_seed(seed)
    path = check_path("path", path)
    if title is not None:
        check_instance("title", title, str, "a str or None")
    if classes is not None and (isinstance(classes, (str, bytes, dict)) or not isinstance(classes, Iterable)):
        raise TypeError(f"classes must be a sequence of labels, got {type(classes).__name__}")
    X = _as_images(X)
    classes = list(np.unique(y)) if classes is None else list(classes)
    if len(classes) > _PLOT_MAX:
        raise ValueError(f"cannot draw {len(classes)} classes (rows) at once, at most "
                         f"{_PLOT_MAX}; pass classes=[...] or fewer distinct labels in y")
    return X, y, path, per_class, classes, seed, dpi


def _choose(y: np.ndarray, classes: list[Any], per_class: int, seed: Any) -> list[np.ndarray]:
    """Pick up to ``per_class`` indices of each class: the first ones, or at random with ``seed``."""
    rng = np.random.default_rng(seed) if seed is not None else None
    chosen = []
    for c in classes:
        members = np.flatnonzero(y == c)
        if rng is not None and len(members) > per_class:
            members = np.sort(rng.choice(members, per_class, replace=False))
        chosen.append(members[:per_class])
    return chosen


def _grey_range(X: np.ndarray, chosen: list[np.ndarray]) -> tuple[float, float]:
    """Return the grey scale's ends: the shown images' min and max (an empty range widened)."""
    shown = np.concatenate(chosen) if chosen else np.empty(0, np.int64)
    vmin = float(X[shown].min()) if shown.size else 0.0
    vmax = float(X[shown].max()) if shown.size else 1.0
    return (vmin, vmax) if vmax > vmin else (vmin, vmin + 1.0)


def _draw_grid(fig: Any, X: np.ndarray, classes: list[Any], chosen: list[np.ndarray], per_class: int) -> None:
    """Draw one row of images per class on ``fig``, the class as the row's label."""
    vmin, vmax = _grey_range(X, chosen)
    axes = fig.subplots(max(len(classes), 1), per_class, squeeze=False)
    for r, (c, members) in enumerate(zip(classes, chosen)):
        for k in range(per_class):
            ax = axes[r][k]
            ax.set_xticks([])
            ax.set_yticks([])
            if k < len(members):
                ax.imshow(X[members[k]], cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
            else:
                ax.set_axis_off()
        axes[r][0].set_axis_on()
        axes[r][0].set_ylabel(str(c), rotation=0, labelpad=12, va="center")
        for spine in axes[r][0].spines.values():
            spine.set_visible(len(members) > 0)


def plot_samples(X: ArrayLike, y: ArrayLike, path: str | os.PathLike[str], per_class: int = 5, *,
                 classes: Sequence[Any] | None = None, seed: int | np.random.Generator | None = None,
                 title: str | None = None, dpi: int = 100) -> Path:
    """Write a PNG grid with ``per_class`` images of each class (notes 000).

    One row per class, the first ``per_class`` images of that class in
    order, or a random choice with ``seed``.  The grey scale spans the shown
    images' min..max, so any numeric range works.  Draws on matplotlib's
    Agg canvas directly, so the pyplot backend is left alone.

    Parameters
    ----------
    X : array_like
        Images ``(n, h, w)`` or flattened square images ``(n, h*w)``.
    y : array_like
        Their labels, 1-D.
    path : str or os.PathLike
        Where to write the PNG; its folder is created.
    per_class : int, default 5
        Images per class (columns), 1..100.
    classes : sequence, optional
        The classes to show, one row each (default: the labels present in
        ``y``, sorted; at most 100).
    seed : int or numpy.random.Generator, optional
        Choose the images at random with this seed (default: the first ones).
    title : str, optional
        A title above the grid.
    dpi : int, default 100
        Dots per inch, 1..2000.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ImportError
        Without matplotlib (the message says how to install it).
    TypeError
        For an argument of the wrong type.
    ValueError
        For an argument of the right type but an unusable value.

    Examples
    --------
    >>> plot_samples(X_train, y_train, "samples.png", per_class=8)  # doctest: +SKIP
    PosixPath('samples.png')
    """
    X, y, path, per_class, classes, seed, dpi = _checked_args(X, y, path, per_class, classes, seed, title, dpi)
    chosen = _choose(y, classes, per_class, seed)
    rows = max(len(classes), 1)
    fig = new_figure("plot_samples", (per_class * 1.0 + 0.6, rows * 1.0 + (0.5 if title else 0.1)), dpi)
    _draw_grid(fig, X, classes, chosen, per_class)
    if title:
        fig.suptitle(title)
    save_figure(fig, path, dpi)
    return path
