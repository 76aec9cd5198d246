"""The data of a fit: checked once, split for validation, served an epoch at a time as minibatches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_bool, check_callable, check_real
from ..nn.losses import Loss
from ..nn.sequential import Sequential
from .state import FitState

if TYPE_CHECKING:
    from .._typing import ArrayLike, FloatArray

__all__ = ["FitData"]

Batch = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]
StepGroup = tuple[np.ndarray, np.ndarray, "np.ndarray | None", int]


class FitData:
    """Training (and validation) data of one fit, as the kernels take them.

    Parameters
    ----------
    model : Sequential
        Checks and converts the inputs.
    loss : Loss
        Checks and converts the targets.
    X, y : array
        The training data.
    validation_data : (X_val, y_val) or None
        Held-out data evaluated after each epoch.
    validation_split : float
        Or the fraction of (X, y) held out (its last rows), in [0, 1).
    shuffle : bool
        Serve each epoch's batches in a new random order.
    augment : callable or None
        ``augment(X, out, rng)``, run at the start of every epoch.

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it (nothing has been changed yet).
    """

    X: FloatArray
    target: np.ndarray

    def __init__(self, model: Sequential, loss: Loss, X: ArrayLike, y: ArrayLike, validation_data: Any,
                 validation_split: Any, shuffle: Any, augment: Any) -> None:
        X, target = model.prepare_data(X, y, loss)
        split = check_real("validation_split", validation_split, 0.0, 1.0, max_open=True)
        self.X_val: FloatArray | None = None
        self.t_val: np.ndarray | None = None
        if validation_data is not None and split:
            raise ValueError("give validation_data or validation_split, not both")
        if split:
            n_val = round(X.shape[0] * split)
            if n_val < 1 or n_val >= X.shape[0]:
                raise ValueError(f"validation_split={validation_split} leaves no training or no validation data")
            self.X_val, self.t_val = X[-n_val:], target[-n_val:]
            X, target = X[:-n_val], target[:-n_val]
        elif validation_data is not None:
            self.X_val, self.t_val = _validation_pair(model, loss, validation_data)
        if X.shape[0] == 0:
            raise ValueError("no training samples")
        self.X, self.target = X, target
        self.shuffle = check_bool("shuffle", shuffle)
        self.augment = None if augment is None else check_callable("augment", augment, "a callable augment(X, out, rng)")
        self._X_aug: FloatArray | None = None
        self._tbuf: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        """Training samples."""
        return len(self.X)

    def allocate(self, batch_size: int) -> None:
        """Allocate the buffers every epoch reuses: a batch of targets, the augmented inputs.

        Parameters
        ----------
        batch_size : int
            Rows per batch.
        """
        self._tbuf = np.empty((batch_size,) + self.target.shape[1:], dtype=self.target.dtype)
        if self.augment is not None:
            self._X_aug = np.empty_like(self.X)

    def batches(self, state: FitState) -> Iterator[Batch]:
        """Serve one epoch's batches.

        Augments first, then shuffles ``state.order`` in place, both with
        ``state.rng``.

        Parameters
        ----------
        state : FitState
            The fit's state: its generator, sample order and batch size.

        Yields
        ------
        inputs : numpy.ndarray
            The (augmented) training inputs, or the batch's rows of them.
        targets : numpy.ndarray
            The batch's targets.
        rows : numpy.ndarray or None
            When shuffling, the batch is ``inputs[rows]`` (gathered inside
            the step); else None and ``inputs`` is the batch.
        """
        tbuf = self._tbuf
        assert tbuf is not None  # allocate() comes first
        X = self._start_epoch(state)
        bs, target, order = state.batch_size, self.target, state.order
        for lo in range(0, self.n_samples, bs):
            if self.shuffle:
                idx = order[lo:lo + bs]
                tb = tbuf[: idx.shape[0]]
                target.take(idx, axis=0, out=tb)  # the method: numpy.take's wrapper costs a microsecond a step
                yield X, tb, idx
            else:
                yield X[lo:lo + bs], target[lo:lo + bs], None

    def step_groups(self, state: FitState, steps: int) -> Iterator[StepGroup]:
        """Serve one epoch as groups of up to ``steps`` consecutive batches.

        The same batches as :meth:`batches`, from the same draws, for
        running several steps in one call.

        Parameters
        ----------
        state : FitState
            The fit's state: its generator, sample order and batch size.
        steps : int
            Batches per group (the last group of the epoch may have fewer).

        Yields
        ------
        inputs : numpy.ndarray
            The (augmented) training inputs, or the group's rows of them.
        targets : numpy.ndarray
            The targets of those inputs' rows.
        rows : numpy.ndarray or None
            When shuffling, the group's rows of ``inputs`` in order; else None.
        count : int
            The group's batches.
        """
        X = self._start_epoch(state)
        span = steps * state.batch_size
        for lo in range(0, self.n_samples, span):
            count = -(-min(span, self.n_samples - lo) // state.batch_size)
            if self.shuffle:
                yield X, self.target, state.order[lo:lo + span], count
            else:
                yield X[lo:lo + span], self.target[lo:lo + span], None, count

    def _start_epoch(self, state: FitState) -> FloatArray:
        """Augment, then shuffle ``state.order`` in place, both with ``state.rng``; the epoch's inputs."""
        X = self.X
        if self.augment is not None:
            assert self._X_aug is not None  # allocate() comes first
            self.augment(self.X, self._X_aug, state.rng)
            X = self._X_aug
        if self.shuffle:
            state.rng.shuffle(state.order)
        return X

    def validation_logs(self, model: Sequential, loss: Loss) -> dict[str, float]:
        """Evaluate the model on the held-out data.

        Parameters
        ----------
        model : Sequential
            The model being trained.
        loss : Loss
            The loss it is trained with.

        Returns
        -------
        dict
            {"val_loss": ..., "val_accuracy": ...} (accuracy for classifiers);
            empty without validation data.
        """
        if self.X_val is None or self.t_val is None:
            return {}
        return {f"val_{k}": v for k, v in model.evaluate(self.X_val, self.t_val, loss=loss).items()}


def _validation_pair(model: Sequential, loss: Loss, validation_data: Any) -> tuple[FloatArray, np.ndarray]:
    """(X_val, targets) from a ``validation_data`` pair, checked."""
    if isinstance(validation_data, (str, bytes)) or not isinstance(validation_data, (tuple, list)):
        raise TypeError(f"validation_data must be a pair (X_val, y_val), got {type(validation_data).__name__}")
    if len(validation_data) != 2:
        raise ValueError(f"validation_data must be a pair (X_val, y_val), got {len(validation_data)} item(s)")
    return model.prepare_data(validation_data[0], validation_data[1], loss, ("X_val", "y_val"))
