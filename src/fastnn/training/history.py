"""``History``: the per-epoch record of a fit, kept by a callback."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from ..plots import plot_history
from .callbacks import Callback

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .trainer import Trainer

__all__ = ["History"]


class History(Callback):
    """Per-epoch records of a fit, as :meth:`fastnn.Trainer.fit` returns them.

    ``history["loss"]``, ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``,
    ``"seconds"``: lists with one entry per finished epoch (accuracy only
    for classifiers, val_* only with validation data).  ``loss`` and
    ``accuracy`` are means over the epoch's minibatches, measured during
    training.  It is the first callback of every fit: it records an epoch's
    logs at its end, before any other callback sees them.

    Attributes
    ----------
    history : dict of str to list of float
        The records by name.
    epochs : list of int
        The 0-based numbers of the recorded epochs.
    interrupted : bool
        Whether Ctrl-C stopped the fit.
    stopped_early : bool
        Whether :class:`fastnn.EarlyStopping` stopped it.
    best_epoch : int or None
        The epoch EarlyStopping found best.
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self.interrupted = False
        self.stopped_early = False
        self.best_epoch: int | None = None

    @classmethod
    def from_records(cls, epochs: list[int], records: Mapping[str, list[float]]) -> History:
        """A History holding these records (e.g. from a checkpoint).

        Parameters
        ----------
        epochs : list of int
            The recorded epochs.
        records : mapping of str to list of float
            One value per recorded epoch for each name.

        Returns
        -------
        History
        """
        history = cls()
        for e, *values in zip(epochs, *records.values()):
            history.append(int(e), {k: float(v) for k, v in zip(records, values)})
        return history

    def append(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Record one epoch's logs.

        Parameters
        ----------
        epoch : int
            Its 0-based number.
        logs : mapping of str to float
            Its metrics by name.
        """
        self.epochs.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Record the epoch (the fit calls this first of all callbacks)."""
        self.append(epoch, logs)

    def plot(self, path: str | os.PathLike[str] | None = None, *, dpi: int = 100) -> Figure:
        """Loss and accuracy curves, training and validation (needs matplotlib).

        Parameters
        ----------
        path : str or os.PathLike, optional
            Also write the picture there as a PNG.
        dpi : int, default 100
            Dots per inch.

        Returns
        -------
        matplotlib.figure.Figure
            The picture.

        Examples
        --------
        >>> history = trainer.fit(X, y, epochs=10, validation_split=0.1)  # doctest: +SKIP
        >>> history.plot("curves.png")  # doctest: +SKIP
        """
        return plot_history(self, path, dpi=dpi)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def __iter__(self) -> Iterator[str]:
        return iter(self.history)

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History({len(self)} epochs: {keys})"
