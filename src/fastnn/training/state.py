"""The state of a fit in progress, shared with callbacks and checkpoints."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .history import History

__all__ = ["EpochTotals", "FitState"]


@dataclass
class EpochTotals:
    """Running sums of the epoch under way.

    Parameters
    ----------
    seen : int, default 0
        Samples seen.
    loss_sum : float, default 0.0
        Their summed loss.
    correct : float, default 0.0
        Their summed accuracy (classifiers).
    """

    seen: int = 0
    loss_sum: float = 0.0
    correct: float = 0.0

    def add(self, size: int, loss: float, accuracy: float | None) -> None:
        """Add one batch.

        Parameters
        ----------
        size : int
            Its samples.
        loss : float
            Its mean loss.
        accuracy : float or None
            Its accuracy (None for a regressor).
        """
        self.seen += size
        self.loss_sum += loss * size
        if accuracy is not None:
            self.correct += accuracy * size

    def add_batches(self, sizes: np.ndarray, losses: np.ndarray, accuracies: np.ndarray | None) -> None:
        """Add several batches, with the same sums as :meth:`add` called for each in turn.

        Parameters
        ----------
        sizes : numpy.ndarray of int
            Their samples.
        losses : numpy.ndarray of float64
            Their mean losses.
        accuracies : numpy.ndarray of float64 or None
            Their accuracies (None for a regressor).
        """
        # np.add.accumulate adds left to right, one term at a time, as the loop would
        self.seen += int(sizes.sum())
        self.loss_sum = float(np.add.accumulate(np.concatenate(([self.loss_sum], losses * sizes)))[-1])
        if accuracies is not None:
            self.correct = float(np.add.accumulate(np.concatenate(([self.correct], accuracies * sizes)))[-1])

    def means(self, classifier: bool) -> dict[str, float]:
        """The epoch's means so far.

        Parameters
        ----------
        classifier : bool
            Include the accuracy.

        Returns
        -------
        dict
            {"loss": mean loss} and, for classifiers, "accuracy".
        """
        logs = {"loss": self.loss_sum / self.seen}
        if classifier:
            logs["accuracy"] = self.correct / self.seen
        return logs


@dataclass
class FitState:
    """Where a fit stands: what :class:`fastnn.ModelCheckpoint` saves and callbacks read.

    A trainer's ``fit_state``.

    Parameters
    ----------
    epoch : int
        Complete epochs trained (the run's total, resumed ones included).
    epochs : int
        The epoch count the fit runs to.
    n_samples : int
        Training samples.
    batch_size : int
        Rows per step.
    steps_per_epoch : int
        Steps in one epoch.
    rng : numpy.random.Generator
        The fit's generator (shuffling, augmentation).
    order : numpy.ndarray
        The sample order, shuffled in place every epoch.
    history : History
        The epochs recorded so far.
    classifier : bool
        Whether accuracy is recorded.
    at_epoch_end : bool
        Whether the model is at the end of epoch ``epoch`` (False part way
        through an epoch, and after a fit stopped inside one).
    totals : EpochTotals
        The running sums of the epoch under way.
    """

    epoch: int
    epochs: int
    n_samples: int
    batch_size: int
    steps_per_epoch: int
    rng: np.random.Generator
    order: np.ndarray
    history: History
    classifier: bool
    at_epoch_end: bool = True
    totals: EpochTotals = field(default_factory=EpochTotals)
