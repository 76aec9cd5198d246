"""``Trainer``: minibatch training of a :class:`fastnn.Sequential`.

Ctrl-C during ``fit`` stops after the current step (or the steps of the
call into C under way) and returns the history so far
(``history.interrupted``); an epoch cut short is not recorded, and a
second Ctrl-C before that step ends raises KeyboardInterrupt at once.  The
handler is installed only for the call, and only on the main thread.

With the one-call step, ``fit`` runs several steps in one call into C
(about :data:`fastnn.training.engine.STEP_CALL_WORK` multiply-adds), with the numbers of single
steps, unless a callback needs ``on_batch_end`` after every step
(:attr:`fastnn.Callback.every_batch`).

``fit(..., resume_from=path)`` continues from a checkpoint
(:class:`fastnn.ModelCheckpoint`): the model's parameters, the optimizer's
state and step count, the random generator (``seed`` is then ignored) and
the history are restored, and training goes on from the first epoch the
checkpoint does not hold up to ``epochs``, which counts the whole run (as
Keras' ``initial_epoch``).  With the same data, batch size, optimizer
settings, augmentation and thread count, the final weights equal those of
an uninterrupted run, bit for bit.  A checkpoint of another architecture,
optimizer type, training-set size or batch size is refused (ValueError
naming the file); a damaged one raises :class:`fastnn.ModelFileError`.

``fit`` is a short loop over epochs and their batches; what happens around
it lives elsewhere: the step in :mod:`fastnn.training.engine`, the data and
its batches in :mod:`fastnn.training.data`, the record, progress display,
early stopping and checkpoints in callbacks (:mod:`fastnn.training.callbacks`,
:mod:`fastnn.training.checkpoint`), Ctrl-C in :mod:`fastnn.training.interrupts`.
"""

from __future__ import annotations

import math
import numbers
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_instance, check_int, check_seed, check_verbose
from ..nn.losses import Loss, get_loss
from ..nn.sequential import Sequential
from ..optim import SGD, Optimizer, get_optimizer
from .callbacks import Callback, CallbackList, EarlyStopping, ProgressBar
from .checkpoint import load_checkpoint, save_checkpoint
from .data import FitData
from .engine import TrainingEngine
from .history import History
from .interrupts import Interrupts
from .state import EpochTotals, FitState

if TYPE_CHECKING:
    from .._typing import ArrayLike, FloatArray

__all__ = ["DivergenceError", "Trainer"]


class DivergenceError(FloatingPointError):
    """The loss became NaN or infinite.

    The model keeps the weights it had before the step that produced it.
    """


class Trainer:
    """Trains a :class:`~fastnn.Sequential` model with minibatches.

    Parameters
    ----------
    model : Sequential
        The model; the trainer records its loss on it (``model.loss``), so
        that :meth:`~fastnn.Sequential.evaluate` uses the same one.
    loss : str or Loss, default "cross_entropy"
        "cross_entropy" (softmax output, fused), "binary_cross_entropy"
        (sigmoid output, fused), "half_squared_error" (the notes' E), "mse".
    optimizer : str or Optimizer, optional
        "sgd" or "adam" (default settings) or an optimizer object; default
        ``SGD(lr=0.1)``.  Plain SGD is fused into the backward GEMMs.
    batch_size : int, default 32
        Rows per step.

    Attributes
    ----------
    engine : fastnn.training.engine.TrainingEngine
        The training step.
    stop_training : bool
        Set it from a callback to stop after the current step or epoch.
    fit_state : FitState or None
        Where the last (or current) fit stands.

    Examples
    --------
    >>> import fastnn, numpy as np
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    >>> model = fastnn.Sequential([fastnn.Dense(2, 4, "tanh"), fastnn.Dense(4, 2, "softmax")], seed=0)
    >>> history = fastnn.Trainer(model, optimizer="adam", batch_size=4).fit(X, [0, 1, 1, 0], epochs=3, verbose=0)
    >>> len(history)
    3
    """

    def __init__(self, model: Sequential, loss: str | Loss = "cross_entropy",
                 optimizer: str | Optimizer | None = None, batch_size: int = 32) -> None:
        check_instance("model", model, Sequential, "a fastnn.Sequential")
        loss = get_loss(loss)
        optimizer = SGD(lr=0.1) if optimizer is None else get_optimizer(optimizer)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.engine = TrainingEngine(model, loss, optimizer)
        self.model = model
        model.loss = loss
        self.stop_training = False
        self.fit_state: FitState | None = None

    @property
    def loss(self) -> Loss:
        """The loss being minimised."""
        return self.engine.loss

    @property
    def optimizer(self) -> Optimizer:
        """The optimizer."""
        return self.engine.optimizer

    def __repr__(self) -> str:
        return f"Trainer(loss={self.loss.name!r}, optimizer={self.optimizer!r}, batch_size={self.batch_size})"

    # ---- one step ---------------------------------------------------------------

    def step(self, X: ArrayLike, y: ArrayLike) -> float:
        """One minibatch update on (X, y).

        Parameters
        ----------
        X : array
            (n_samples, n_inputs).
        y : array
            Targets as the loss takes them.

        Returns
        -------
        float
            The batch's loss.

        Raises
        ------
        DivergenceError
            When the loss is NaN or infinite; the model is then unchanged.
        """
        X, target = self.model.prepare_data(X, y, self.loss)
        if X.shape[0] == 0:
            raise ValueError("a training step needs at least one sample")
        value, _, _ = self.engine.step(X, target)
        if not math.isfinite(value):
            raise DivergenceError(f"loss became {value} at step {self.optimizer.step_count}; "
                                  "the model keeps its weights from before this step")
        return value

    # ---- checkpoints ----------------------------------------------------------------

    def save_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Write the fit as it stands at the end of an epoch to ``path``.

        The model's parameters, the optimizer's state and step count, the
        number of complete epochs, the fit's random generator (shuffling,
        augmentation) and the history so far; resume with
        ``fit(..., resume_from=path)``.  Call it from ``on_epoch_end`` or
        after ``fit`` (:class:`fastnn.ModelCheckpoint` does it for you).

        Parameters
        ----------
        path : str or os.PathLike
            The file, written atomically.

        Raises
        ------
        ValueError
            Before any fit, or when the fit stopped part way through an epoch.
        """
        save_checkpoint(path, self.model, self.optimizer, self.fit_state)

    # ---- fit ---------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike, epochs: int = 1, validation_data: Sequence[ArrayLike] | None = None,
            validation_split: float = 0.0, shuffle: bool = True, seed: int | np.random.Generator | None = None,
            callbacks: Sequence[Callback] = (), early_stopping: EarlyStopping | int | None = None,
            verbose: int = 1, augment: Callable[[FloatArray, FloatArray, np.random.Generator], Any] | None = None,
            resume_from: str | os.PathLike[str] | None = None) -> History:
        """Train for ``epochs`` passes over (X, y).

        Parameters
        ----------
        X : array
            The training inputs, (n_samples, n_inputs).
        y : array
            The targets, as the loss takes them.
        epochs : int, default 1
            The epoch count of the whole run (resumed epochs included).
        validation_data : (X_val, y_val), optional
            Data evaluated after every epoch (val_loss, val_accuracy).
        validation_split : float, default 0.0
            Or the fraction of (X, y) held out: its last rows, before shuffling.
        shuffle : bool, default True
            Visit the samples in a new random order every epoch.
        seed : int or numpy.random.Generator, optional
            Seeds shuffling and augmentation (same seed, data and thread
            count: identical results).
        callbacks : list of Callback, default ()
            Hooks called during the fit (:mod:`fastnn.training.callbacks`).
        early_stopping : EarlyStopping or int, optional
            An :class:`EarlyStopping`, or an int patience on val_loss.
        verbose : int, default 1
            0 silent; 1 a progress bar and a line per epoch; 2 the lines only.
        augment : callable, optional
            ``augment(X, out, rng)`` writes augmented training inputs into
            ``out`` at the start of every epoch, e.g. :class:`fastnn.datasets.RandomShift`.
        resume_from : str or os.PathLike, optional
            A checkpoint to continue from, bit for bit (see :mod:`fastnn.training.checkpoint`).

        Returns
        -------
        History
            The run's epochs (a resumed run's earlier ones included).

        Raises
        ------
        DivergenceError
            When a loss becomes NaN or infinite; the model keeps its weights
            from before that step.
        TypeError, ValueError
            For bad arguments or a checkpoint that does not fit, before
            anything changes.

        Notes
        -----
        Ctrl-C stops after the current step, or the steps of the call into C
        under way (see :mod:`fastnn.training.trainer`).
        """
        epochs = check_int("epochs", epochs, minimum=0)
        verbose = check_verbose(verbose)
        progress = ProgressBar(bar=verbose == 1) if verbose else None
        user = CallbackList(_user_callbacks(callbacks, early_stopping))
        data = FitData(self.model, self.loss, X, y, validation_data, validation_split, shuffle, augment)
        state = self._start(data, epochs, seed, resume_from)
        history = state.history
        every = CallbackList([history, *([progress] if progress else []), *user.callbacks])
        every.on_train_begin(self)
        try:
            with Interrupts() as interrupts:
                for epoch in range(state.epoch, epochs):
                    if not self._run_epoch(epoch, data, state, every, interrupts):
                        break
                history.interrupted = history.interrupted or interrupts.requested
        finally:
            if progress is not None:
                progress.close()
        every.on_train_end(self, history)
        return history

    def _start(self, data: FitData, epochs: int, seed: int | np.random.Generator | None,
               resume_from: str | os.PathLike[str] | None) -> FitState:
        """The fit's state at its first epoch.

        Fresh, or restored from a checkpoint (checked in full before anything is set).
        """
        n = data.n_samples
        bs = min(self.batch_size, n)
        steps = math.ceil(n / bs)
        if resume_from is not None:
            ckpt = load_checkpoint(resume_from)
            ckpt.check_resumable(self.model, self.optimizer, n, bs)
            ckpt.restore(self.model, self.optimizer)
            rng, history, first, order = ckpt.make_rng(), ckpt.history, ckpt.epoch, ckpt.order.copy()
        else:
            rng, history, first = np.random.default_rng(check_seed(seed)), History(), 0
            order = np.arange(n, dtype=np.int64)  # shuffled in place: each epoch's order depends on the last
        self.optimizer.set_run_length(self.optimizer.step_count + steps * max(0, epochs - first), steps)
        self.engine.workspace_for(bs)
        data.allocate(bs)
        self.stop_training = False
        self.fit_state = FitState(first, epochs, n, bs, steps, rng, order, history, self.model.is_classifier)
        return self.fit_state

    def _run_epoch(self, epoch: int, data: FitData, state: FitState, callbacks: CallbackList,
                   interrupts: Interrupts) -> bool:
        """One epoch; False when the fit is to stop after it."""
        state.at_epoch_end = False
        state.totals = EpochTotals()
        callbacks.on_epoch_begin(self, epoch)
        t0 = time.perf_counter()
        per_call = self._steps_per_call(state, callbacks)
        if per_call > 1:
            s = 0
            for X, target, rows, count in data.step_groups(state, per_call):
                s = self._run_steps(epoch, s, X, target, rows, count, state, callbacks)
                if interrupts.requested or self.stop_training:
                    break
        else:
            for s, (X, target, rows) in enumerate(data.batches(state)):
                self._run_batch(epoch, s, X, target, rows, state, callbacks)
                if interrupts.requested or self.stop_training:
                    break
        complete = state.totals.seen == state.n_samples
        if interrupts.requested and not complete:  # a partial epoch is not recorded as an epoch
            return False
        logs = state.totals.means(state.classifier)
        logs.update(data.validation_logs(self.model, self.loss))
        logs["seconds"] = time.perf_counter() - t0
        if complete:
            state.epoch, state.at_epoch_end = epoch + 1, True
        callbacks.on_epoch_end(self, epoch, logs)
        return not (interrupts.requested or self.stop_training)

    def _run_batch(self, epoch: int, s: int, X: FloatArray, target: np.ndarray, rows: np.ndarray | None,
                   state: FitState, callbacks: CallbackList) -> None:
        """One step of the fit, its logs added to the epoch's totals."""
        value, out, n_correct = self.engine.step(X, target, rows)
        if not math.isfinite(value):
            raise _divergence(value, epoch, s)
        m = target.shape[0]
        logs = {"loss": value}
        acc = None
        if state.classifier:
            acc = (n_correct / m if n_correct is not None
                   else self.model.accuracy_of(out, target, logits=self.engine.fused))
            logs["accuracy"] = acc
        state.totals.add(m, value, acc)
        callbacks.on_batch_end(self, s, logs)

    def _steps_per_call(self, state: FitState, callbacks: CallbackList) -> int:
        """How many steps the epoch runs in one call into C: 1 (one at a time) or more.

        As many as the engine gives a call (:meth:`TrainingEngine.steps_per_call`),
        when it can and no callback needs every step.
        """
        if callbacks.wants_every_batch() or not self.engine.runs_steps_in_one_call(state.batch_size):
            return 1
        return self.engine.steps_per_call(state.batch_size, state.steps_per_epoch)

    def _run_steps(self, epoch: int, s: int, X: FloatArray, target: np.ndarray, rows: np.ndarray | None,
                   count: int, state: FitState, callbacks: CallbackList) -> int:
        """Steps ``s`` to ``s + count - 1`` of the fit in one call, their logs added; the next step's number."""
        losses, correct, done = self.engine.run_steps(X, target, rows, state.batch_size, count)
        if done:
            rows_in = X.shape[0] if rows is None else rows.shape[0]
            sizes = np.minimum(state.batch_size, rows_in - state.batch_size * np.arange(done))
            acc = correct[:done] / sizes if state.classifier else None
            state.totals.add_batches(sizes, losses[:done], acc)
            logs = {"loss": float(losses[done - 1])}
            if acc is not None:
                logs["accuracy"] = float(acc[-1])
            callbacks.on_batch_end(self, s + done - 1, logs)
        if done < count:
            raise _divergence(float(losses[done]), epoch, s + done)
        return s + done


def _divergence(value: float, epoch: int, s: int) -> DivergenceError:
    """The error for a non-finite loss at step ``s`` (0-based) of ``epoch``."""
    return DivergenceError(f"loss became {value} at epoch {epoch + 1}, step {s + 1}; the model keeps "
                           "its weights from before this step")


def _user_callbacks(callbacks: Any, early_stopping: Any) -> list[Callback]:
    """The user's callbacks, then early stopping (an int is a patience on val_loss)."""
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of fastnn.Callback, got {type(callbacks).__name__}")
    out = list(callbacks)
    if isinstance(early_stopping, numbers.Integral) and not isinstance(early_stopping, (bool, np.bool_)):
        early_stopping = EarlyStopping(patience=int(early_stopping))
    if early_stopping is not None:
        out.append(check_instance("early_stopping", early_stopping, EarlyStopping,
                                  "an EarlyStopping or an int patience"))
    return out
