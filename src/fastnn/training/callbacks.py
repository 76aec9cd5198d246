"""Callbacks: hooks into :meth:`fastnn.Trainer.fit`.

Every fit runs its callbacks in this order: the :class:`~fastnn.History`
it returns, the :class:`ProgressBar` (when ``verbose``), the user's, then
the :class:`EarlyStopping` given as ``early_stopping``.  A callback may set
``trainer.stop_training = True`` to stop after the current step or epoch,
and may read ``trainer.fit_state`` (:class:`fastnn.training.FitState`).

Example::

    class PrintEvery(fastnn.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            print(epoch, logs["loss"], logs.get("val_accuracy"))
            if logs["loss"] < 1e-3:
                trainer.stop_training = True

    trainer.fit(X, y, epochs=10, callbacks=[PrintEvery()])
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._validation import check_bool, check_choice, check_instance, check_int, check_path, check_real

if TYPE_CHECKING:
    from .history import History
    from .trainer import Trainer

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "ProgressBar"]


class Callback:
    """Base class of the hooks called by :meth:`fastnn.Trainer.fit`.

    Each hook does nothing unless overridden.

    Attributes
    ----------
    every_batch : bool, default True
        Whether an overridden :meth:`on_batch_end` must run after every
        step.  While no callback needs that, ``fit`` runs several steps in
        one call into the C library (a few milliseconds' work) and calls
        :meth:`on_batch_end` once after them, with the last step's number
        and logs; a subclass that can live with that (a progress display)
        sets it False.  A callback that does not override
        :meth:`on_batch_end` never holds ``fit`` to single steps.
    """

    every_batch: bool = True

    def on_train_begin(self, trainer: Trainer) -> None:
        """Run before the first epoch.

        Parameters
        ----------
        trainer : Trainer
            The trainer running the fit.
        """

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Run before each epoch.

        Parameters
        ----------
        trainer : Trainer
            The trainer running the fit.
        epoch : int
            The epoch's 0-based number.
        """

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        """Run after each step (see :attr:`every_batch`).

        Parameters
        ----------
        trainer : Trainer
            The trainer running the fit.
        step : int
            The step's 0-based number within the epoch.
        logs : dict
            The batch's "loss" (and "accuracy" for classifiers).
        """

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Run after each epoch.

        Parameters
        ----------
        trainer : Trainer
            The trainer running the fit.
        epoch : int
            The epoch's 0-based number.
        logs : dict
            The epoch's History entries (loss, accuracy, val_loss, val_accuracy, seconds).
        """

    def on_train_end(self, trainer: Trainer, history: History) -> None:
        """Run after the last epoch (also after Ctrl-C or a stop).

        Parameters
        ----------
        trainer : Trainer
            The trainer running the fit.
        history : History
            The fit's record, as fit returns it.
        """


class CallbackList(Callback):
    """Several callbacks called in order, as one.

    Parameters
    ----------
    callbacks : iterable of Callback
        The callbacks, called in this order.
    """

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            check_instance("callbacks", cb, Callback, "fastnn.Callback instances")

    def wants_every_batch(self) -> bool:
        """Whether a callback needs :meth:`on_batch_end` after every single step (see :attr:`Callback.every_batch`).

        Returns
        -------
        bool
            True when one overrides the hook and keeps ``every_batch``.
        """
        return any(cb.every_batch and type(cb).on_batch_end is not Callback.on_batch_end for cb in self.callbacks)

    def on_train_begin(self, trainer: Trainer) -> None:
        """Call every callback's hook."""
        for cb in self.callbacks:
            cb.on_train_begin(trainer)

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Call every callback's hook."""
        for cb in self.callbacks:
            cb.on_epoch_begin(trainer, epoch)

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        """Call every callback's hook."""
        for cb in self.callbacks:
            cb.on_batch_end(trainer, step, logs)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Call every callback's hook."""
        for cb in self.callbacks:
            cb.on_epoch_end(trainer, epoch, logs)

    def on_train_end(self, trainer: Trainer, history: History) -> None:
        """Call every callback's hook."""
        for cb in self.callbacks:
            cb.on_train_end(trainer, history)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    Improving means by more than ``min_delta``; the best weights can be
    restored at the end.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A History entry.
    patience : int, default 5
        Epochs without improvement before stopping.
    min_delta : float, default 0.0
        The smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}, default "auto"
        Whether smaller or larger is better ("auto": larger for accuracies).
    restore_best_weights : bool, default True
        Put the best epoch's weights back when the fit ends.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True) -> None:
        self.monitor = check_instance("monitor", monitor, str, "a str such as 'val_loss'")
        self.patience = check_int("patience", patience, minimum=0)
        self.min_delta = abs(check_real("min_delta", min_delta))
        mode = check_choice("mode", mode, ("auto", "min", "max"))
        self.mode = ("max" if "acc" in monitor else "min") if mode == "auto" else mode
        self.restore_best_weights = check_bool("restore_best_weights", restore_best_weights)
        self.stopped_epoch: int | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        """Start afresh: no best value yet."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, Any] | None = None
        self.wait = 0
        self.stopped_epoch = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Keep the best value (and weights); stop after ``patience`` epochs without improvement."""
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which this fit does not record "
                             f"(recorded: {', '.join(logs)}); give validation data or monitor 'loss'")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait > self.patience:
            trainer.stop_training = True
            self.stopped_epoch = epoch

    def on_train_end(self, trainer: Trainer, history: History) -> None:
        """Record the outcome in the history; restore the best weights."""
        history.best_epoch = self.best_epoch
        history.stopped_early = history.stopped_early or self.stopped_epoch is not None
        if self.restore_best_weights and self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)


def epoch_line(epoch: int, epochs: int, logs: dict[str, float]) -> str:
    """The line printed after an epoch: its number, the metrics and its seconds."""
    parts = [f"epoch {epoch + 1}/{epochs}"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in logs:
            parts.append(f"{key} {logs[key]:.4f}")
    parts.append(f"{logs['seconds']:.2f}s")
    return "  ".join(parts)


class ProgressBar(Callback):
    """Show a fit's progress: what ``fit(verbose=...)`` prints.

    With ``bar``, a tqdm progress bar per epoch with the running loss (and
    accuracy); then one printed line per epoch.

    Parameters
    ----------
    bar : bool, default True
        Show the bars (``verbose=1``); False prints the epoch lines only
        (``verbose=2``, for logs).
    """

    every_batch = False  # the bar may advance several steps at once

    def __init__(self, bar: bool = True) -> None:
        self.bar = check_bool("bar", bar)
        self._bar: Any = None
        self._tqdm: Any = None
        self._shown = 0  # steps the bar shows

    def on_train_begin(self, trainer: Trainer) -> None:
        """Import tqdm (only a fit that shows bars needs it)."""
        if self.bar:
            from tqdm.auto import tqdm

            self._tqdm = tqdm

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Open the epoch's bar."""
        state = trainer.fit_state
        assert state is not None  # fit sets it before the first hook
        if self._tqdm is not None:
            self._bar = self._tqdm(total=state.steps_per_epoch, desc=f"epoch {epoch + 1}/{state.epochs}",
                                   leave=True, unit="step", dynamic_ncols=True)
            self._shown = 0

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        """Advance the bar to ``step``; show the running means every 10 steps."""
        state = trainer.fit_state
        if self._bar is None:
            return
        assert state is not None
        passed, self._shown = self._shown, step + 1
        self._bar.update(self._shown - passed)
        if (self._shown - 1) // 10 != (passed - 1) // 10 or step == state.steps_per_epoch - 1:  # passed step 10 k
            means = state.totals.means(state.classifier)
            post = {"loss": f"{means['loss']:.4f}"}
            if "accuracy" in means:
                post["acc"] = f"{means['accuracy']:.4f}"
            self._bar.set_postfix(post, refresh=False)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Print the epoch's line."""
        self.close()
        state = trainer.fit_state
        assert state is not None
        print(epoch_line(epoch, state.epochs, logs), flush=True)

    def on_train_end(self, trainer: Trainer, history: History) -> None:
        """Close a bar left open by a stop part way through an epoch."""
        self.close()

    def close(self) -> None:
        """Close the bar of the epoch under way, if any (also after an error)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class CSVLogger(Callback):
    """Write each epoch's History entries as a row of a CSV file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its folder must exist.
    append : bool, default False
        Add to an existing file (e.g. when resuming) instead of starting a
        new one; the header is written only to an empty file.
    separator : str, default ","
        The field separator.

    Examples
    --------
    >>> trainer.fit(X, y, epochs=10, callbacks=[fastnn.CSVLogger("training.csv")])  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str], append: bool = False, separator: str = ",") -> None:
        self.path = check_path("path", path)
        self.append = check_bool("append", append)
        self.separator = check_instance("separator", separator, str, "a str")
        self._columns: list[str] | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        """Start the file (or keep it, with ``append``)."""
        self._columns = None
        if not self.append:
            self.path.write_text("")

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Append the epoch's row (with the header first in an empty file)."""
        if self._columns is None:
            self._columns = ["epoch", *logs]
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        import csv  # here: import fastnn need not load it

        with open(self.path, "a", newline="") as f:
            writer = csv.writer(f, delimiter=self.separator)
            if fresh:
                writer.writerow(self._columns)
            writer.writerow([epoch + 1, *(logs.get(k, "") for k in self._columns[1:])])

    def __repr__(self) -> str:
        return f"CSVLogger({str(self.path)!r}, append={self.append})"
