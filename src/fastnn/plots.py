"""Pictures: training curves and confusion matrices (matplotlib, optional).

Each function draws on its own matplotlib ``Figure`` with the Agg canvas,
so pyplot's state and backend are left alone, returns the figure (shown
inline by Jupyter) and, given ``path``, also writes it as a PNG.
Without matplotlib they raise ImportError saying what to install
(``pip install "fastnn-mlp[plot]"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from ._optional import require
from ._validation import check_int, check_path
from .nn.metrics import confusion_matrix

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._typing import ArrayLike
    from .training.history import History

__all__ = ["new_figure", "plot_confusion_matrix", "plot_history", "save_figure"]


def new_figure(feature: str, figsize: tuple[float, float], dpi: int = 100) -> Figure:
    """A matplotlib Figure on an Agg canvas (pyplot untouched).

    Parameters
    ----------
    feature : str
        The function drawing it, for the ImportError's message.
    figsize : (float, float)
        Width and height in inches.
    dpi : int, default 100
        Dots per inch.

    Returns
    -------
    matplotlib.figure.Figure
        An empty figure.
    """
    figure = require("matplotlib.figure", "plot", feature)
    agg = require("matplotlib.backends.backend_agg", "plot", feature)
    fig: Figure = figure.Figure(figsize=figsize, dpi=dpi)
    agg.FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike[str], dpi: float | None = None) -> None:
    """Write ``fig`` as a PNG at ``path``, creating its folder.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or os.PathLike
        The PNG file to write.
    dpi : int, optional
        Dots per inch (the figure's own by default).
    """
    file = check_path("path", path)
    if str(file.parent):
        file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(file, format="png", dpi=dpi or fig.dpi)


def plot_history(history: History, path: str | os.PathLike[str] | None = None, *, dpi: int = 100) -> Figure:
    """Loss and accuracy curves of a fit, training and validation.

    Parameters
    ----------
    history : fastnn.History
        What :meth:`fastnn.Trainer.fit` returned.
    path : str or os.PathLike, optional
        Also write the picture there as a PNG.
    dpi : int, default 100
        Dots per inch.

    Returns
    -------
    matplotlib.figure.Figure
        One panel for the loss and, for classifiers, one for the accuracy.

    Raises
    ------
    ValueError
        For a history with no epoch.
    ImportError
        Without matplotlib.
    """
    dpi = check_int("dpi", dpi, minimum=1, maximum=2000)
    if not len(history):
        raise ValueError("the history has no epoch to plot")
    panels = [m for m in ("loss", "accuracy") if m in history]
    fig = new_figure("History.plot", (5.0 * len(panels), 3.6), dpi)
    ticker = require("matplotlib.ticker", "plot", "History.plot")
    epochs = np.asarray(history.epochs) + 1
    for ax, metric in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        ax.plot(epochs, history[metric], marker="o", markersize=3, label=f"training {metric}")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], marker="o", markersize=3, label=f"validation {metric}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # whole epochs
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, path: str | os.PathLike[str] | None = None, *,
                          labels: Iterable[object] | None = None, normalize: bool = False, dpi: int = 100) -> Figure:
    """A confusion-matrix picture of any classifier's predictions.

    Parameters
    ----------
    y_true, y_pred : array of int
        True and predicted class labels 0..k-1, e.g. ``y_test`` and
        ``model.predict(X_test)``.
    path : str or os.PathLike, optional
        Also write the picture there as a PNG.
    labels : sequence of str, optional
        Names of the classes (default: their numbers).
    normalize : bool, default False
        Show each row as fractions of the true class instead of counts.
    dpi : int, default 100
        Dots per inch.

    Returns
    -------
    matplotlib.figure.Figure
        The picture.

    Raises
    ------
    ValueError
        For labels of different lengths or out of range.
    ImportError
        Without matplotlib.

    Examples
    --------
    >>> fig = fastnn.plot_confusion_matrix(y_test, model.predict(X_test), "confusion.png")  # doctest: +SKIP
    """
    dpi = check_int("dpi", dpi, minimum=1, maximum=2000)
    names = None if labels is None else [str(v) for v in labels]
    cm = confusion_matrix(y_true, y_pred, None if names is None else len(names))
    k = cm.shape[0]
    names = names or [str(i) for i in range(k)]
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    side = max(3.0, 0.45 * k + 1.5)
    fig = new_figure("plot_confusion_matrix", (side + 0.8, side), dpi)
    ax = fig.subplots()
    image = ax.imshow(shown, cmap="Blues", interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = float(shown.max()) if shown.size else 0.0
    for i in range(k):
        for j in range(k):
            text = f"{shown[i, j]:.2f}" if normalize else str(cm[i, j])
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if shown[i, j] > top / 2 else "black")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
