"""Training: ``Trainer`` (minibatch steps, epochs, validation, progress bar),
``History``, callbacks and early stopping.

Example of a callback::

    class PrintEvery(fastnn.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            print(epoch, logs["loss"], logs.get("val_accuracy"))
            if logs["loss"] < 1e-3:
                trainer.stop_training = True

    trainer.fit(X, y, epochs=10, callbacks=[PrintEvery()])
"""

from __future__ import annotations

import math
import numbers
import signal
import threading
import time

import numpy as np

from . import _core
from .layers import check_seed
from .losses import get_loss
from .model import (Sequential, Workspace, accuracy, backward_update, bind_train_step, check_trainable,
                    loss_and_output_grad)
from .optimizers import SGD, Adam, Optimizer

__all__ = ["Callback", "DivergenceError", "EarlyStopping", "History", "Trainer"]


class DivergenceError(FloatingPointError):
    """The loss became NaN or infinite; the model keeps the weights it had
    before the step that produced it."""


class History:
    """Per-epoch records of a fit: ``history["loss"]``, ``"accuracy"``,
    ``"val_loss"``, ``"val_accuracy"``, ``"seconds"`` (lists, one entry per
    finished epoch; accuracy only for classifiers, val_* only with
    validation data).  ``loss``/``accuracy`` are means over the epoch's
    minibatches, measured during training."""

    def __init__(self):
        self.history = {}
        self.epochs = []
        self.interrupted = False
        self.stopped_early = False
        self.best_epoch = None

    def append(self, epoch, logs):
        self.epochs.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epochs)

    def __repr__(self):
        keys = ", ".join(self.history)
        return f"History({len(self)} epochs: {keys})"


class Callback:
    """Hooks called by :meth:`Trainer.fit`.  Set ``trainer.stop_training =
    True`` from a hook to stop after the current step/epoch."""

    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_batch_end(self, trainer, step, logs):
        """After each step; logs has "loss" (and "accuracy" for classifiers)."""

    def on_epoch_end(self, trainer, epoch, logs):
        """After each epoch; logs holds that epoch's History entries."""

    def on_train_end(self, trainer, history):
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for
    ``patience`` epochs; optionally restore the best weights at the end."""

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto", restore_best_weights=True):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a str such as 'val_loss', got {type(monitor).__name__}")
        self.monitor = monitor
        self.patience = int(patience)
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) or not math.isfinite(min_delta):
            raise ValueError(f"min_delta must be a finite number, got {min_delta!r}")
        self.min_delta = abs(float(min_delta))
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.mode = mode
        if not isinstance(restore_best_weights, (bool, np.bool_)):
            raise TypeError(f"restore_best_weights must be True or False, got {restore_best_weights!r}")
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, trainer):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self.best_state = None
        self.wait = 0

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which this fit does not record "
                             f"(recorded: {', '.join(logs)}); give validation data or monitor 'loss'")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = trainer.model.state_dict()
        else:
            self.wait += 1
            if self.wait > self.patience:
                trainer.stop_training = True
                trainer._stopped_early = True

    def on_train_end(self, trainer, history):
        history.best_epoch = self.best_epoch
        if self.restore_best_weights and self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)


class _Interrupts:
    """Turn Ctrl-C into a flag checked between steps, so that training stops
    with the model consistent.  Only when fit runs in the main thread:
    Python runs signal handlers there, so in any other thread fit never
    sees Ctrl-C (the main thread gets the KeyboardInterrupt)."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self._old = signal.signal(signal.SIGINT, self._handler)
            except ValueError:
                self._old = None
        return self

    def _handler(self, signum, frame):
        if self.requested:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


class Trainer:
    """Trains a :class:`Sequential` model with minibatches.

    Parameters
    ----------
    model : Sequential
    loss : str or Loss
        "cross_entropy" (softmax output, fused), "binary_cross_entropy"
        (sigmoid output, fused), "half_squared_error" (the notes' E), "mse".
    optimizer : Optimizer, optional
        Default ``SGD(lr=0.1)``.  Plain SGD is fused into the backward GEMMs.
    batch_size : int
    """

    def __init__(self, model, loss="cross_entropy", optimizer=None, batch_size=32):
        if not isinstance(model, Sequential):
            raise TypeError(f"model must be a fastnn.Sequential, got {type(model).__name__}")
        self.model = model
        self.loss = get_loss(loss)
        if optimizer is None:
            optimizer = SGD(lr=0.1)
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a fastnn optimizer (SGD, Adam), got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        self.batch_size = int(batch_size)
        check_trainable(model, self.loss)
        self._fused = self.loss.fused_activation is not None
        self._train_step_possible = self.loss.name == "cross_entropy"
        self._train_step = None  # the bound one-call training step, see _step
        self._ws = None
        self.stop_training = False
        self._stopped_early = False
        self._progress = None  # the fit's state at the last epoch end, for checkpoints

    def _workspace(self, n):
        # sized for the largest batch actually run, not for batch_size: a
        # batch_size larger than the data must not allocate for it
        size = n
        if self._ws is None or self._ws.batch_size < size:
            self._ws = Workspace(self.model, size, need_param_grads=not self.optimizer.fusable)
        return self._ws

    # ---- one step ---------------------------------------------------------------

    def step(self, X, y):
        """One minibatch update on (X, y); returns the batch's loss.

        If the loss is NaN or infinite, raises DivergenceError and leaves the
        model unchanged."""
        X, _ = self.model._check_input(X)
        target = self.loss.prepare_targets(y, self.model.n_outputs, self.model.dtype)
        if target.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but y has {target.shape[0]}")
        if X.shape[0] == 0:
            raise ValueError("a training step needs at least one sample")
        value, _, _ = self._step(X, target)
        if not math.isfinite(value):
            raise DivergenceError(f"loss became {value} at step {self.optimizer.step_count}; "
                                  "the model keeps its weights from before this step")
        return value

    def _step(self, X, target, rows=None):
        # rows: the batch is X[rows] (target is already the batch's); the
        # one-call step gathers the rows itself, each half on its thread
        n = X.shape[0] if rows is None else rows.shape[0]
        ws = self._workspace(n)
        opt = self.optimizer
        adam = type(opt) is Adam
        if self._train_step_possible and (opt.fusable or adam):
            # The common cases (softmax cross-entropy; plain SGD or Adam):
            # the whole step in one C call, the same kernels in the same order.
            state = opt.state if adam else None
            step = self._train_step
            if step is None or not step.matches(self.model.layers, ws, state):
                step = self._train_step = bind_train_step(self.model, ws, opt)
                if step is None:  # this model needs the per-layer path
                    self._train_step_possible = False
            if step is not None:
                factor = opt.current_factor()
                lrs = [opt.layer_lrs.get(i, opt.lr) * factor for i in range(len(self.model.layers))]
                consts = None
                if adam:
                    t = opt.step_count + 1
                    b1, b2 = opt.betas
                    consts = (b1, b2, opt.eps, opt.weight_decay, 1 - b1 ** t, 1 - b2 ** t)
                value, correct = step.run(X, target, lrs, consts, rows)
                if math.isfinite(value):
                    opt.finish_step()
                return value, ws.acts[-1][:n], correct
        if rows is not None:
            xb = ws.X[:n]
            _core.gather_rows(X, rows, xb)
            X = xb
        value, out, correct = loss_and_output_grad(self.model, self.loss, X, target, ws)
        if not math.isfinite(value):
            return value, out, correct  # the caller raises; no update has happened
        backward_update(self.model, X, ws, self._fused, self.optimizer, n)
        self.optimizer.finish_step()
        return value, out, correct

    # ---- checkpoints ----------------------------------------------------------------

    def save_checkpoint(self, path):
        """Write the fit as it stands at the end of an epoch to ``path``:
        the model's parameters, the optimizer's state and step count, the
        number of complete epochs, the state of the fit's random generator
        (shuffling, augmentation) and the history so far; resume with
        ``fit(..., resume_from=path)``.  Call it from ``on_epoch_end`` or
        after ``fit`` (:class:`fastnn.ModelCheckpoint` does it for you).
        Raises ValueError before any fit, or when the fit stopped part way
        through an epoch.  See :mod:`fastnn.checkpoint`."""
        from .checkpoint import save_checkpoint

        save_checkpoint(path, self)

    # ---- fit ---------------------------------------------------------------------

    def fit(self, X, y, epochs=1, validation_data=None, validation_split=0.0, shuffle=True, seed=None,
            callbacks=(), early_stopping=None, verbose=1, augment=None, resume_from=None):
        """Train for ``epochs`` passes over (X, y); returns a :class:`History`.

        validation_data: (X_val, y_val), or validation_split: the fraction of
        (X, y) held out (the last rows, before shuffling, as Keras does).
        shuffle/seed: the order of samples per epoch (a seeded generator:
        same seed, data and thread count give identical results).
        callbacks: :class:`Callback` objects; early_stopping: an
        :class:`EarlyStopping` (or an int patience on val_loss).
        augment: optional ``augment(X, out, rng)`` that writes an augmented
        copy of the training inputs X into ``out`` (same shape, preallocated
        once) at the start of every epoch, e.g. :class:`fastnn.mnist.RandomShift`.
        Ctrl-C stops after the current step and returns the history so far
        (``history.interrupted``); the epoch it stopped is not recorded unless
        it was complete.  A second Ctrl-C before that step ends raises
        KeyboardInterrupt at once (the model may then be part way through
        an update).  A NaN/inf loss raises DivergenceError naming the epoch
        and step.

        resume_from: the path of a checkpoint (:class:`fastnn.ModelCheckpoint`
        or :meth:`save_checkpoint`) to continue from.  The model's parameters,
        the optimizer's state and step count, the random generator (``seed``
        is then ignored) and the history are restored, and training goes on
        from the first epoch the checkpoint does not hold, up to ``epochs``,
        which counts the whole run (as Keras' ``initial_epoch``): a run of
        10 epochs checkpointed after 4 resumes with ``epochs=10`` and trains
        6 more.  The returned history holds all the epochs.  With the same
        data, batch size, optimizer settings, augment and thread count, the
        final weights equal those of an uninterrupted run, bit for bit.  An
        epoch stopped part way is not in a checkpoint: it is trained again
        from its start.  Callbacks start afresh (EarlyStopping's patience
        count too).  The checkpoint must come from the same architecture,
        optimizer type, number of training samples and batch size
        (ValueError otherwise, naming the file); a damaged file raises
        :class:`fastnn.ModelFileError`, a missing one FileNotFoundError.
        """
        model = self.model
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
            raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
        X, _ = model._check_input(X)
        target = self.loss.prepare_targets(y, model.n_outputs, model.dtype)
        if target.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but y has {target.shape[0]}")
        if (isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real)
                or not 0.0 <= float(validation_split) < 1.0):
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        if validation_data is not None and validation_split:
            raise ValueError("give validation_data or validation_split, not both")
        if validation_split:
            n_val = int(round(X.shape[0] * validation_split))
            if n_val < 1 or n_val >= X.shape[0]:
                raise ValueError(f"validation_split={validation_split} leaves no training or no validation data")
            X_val, t_val = X[-n_val:], target[-n_val:]
            X, target = X[:-n_val], target[:-n_val]
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (X_val, y_val)")
            X_val, _ = model._check_input(validation_data[0], "X_val")
            t_val = self.loss.prepare_targets(validation_data[1], model.n_outputs, model.dtype)
            if t_val.shape[0] != X_val.shape[0]:
                raise ValueError(f"X_val has {X_val.shape[0]} samples but y_val has {t_val.shape[0]}")
        else:
            X_val = t_val = None
        n = X.shape[0]
        if n == 0:
            raise ValueError("no training samples")

        if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"callbacks must be a list of fastnn.Callback, got {type(callbacks).__name__}")
        callbacks = list(callbacks)
        if isinstance(early_stopping, numbers.Integral) and not isinstance(early_stopping, bool):
            early_stopping = EarlyStopping(patience=int(early_stopping))
        if early_stopping is not None:
            if not isinstance(early_stopping, EarlyStopping):
                raise TypeError("early_stopping must be an EarlyStopping or an int patience")
            callbacks.append(early_stopping)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be fastnn.Callback instances, got {type(cb).__name__}")

        bs = min(self.batch_size, n)
        steps_per_epoch = math.ceil(n / bs)
        opt = self.optimizer
        history = History()
        first_epoch = 0
        if resume_from is not None:
            from .checkpoint import load_checkpoint

            ckpt = load_checkpoint(resume_from)
            ckpt.check_resumable(self, n, bs)  # everything checked before anything is set
            ckpt.restore(self)
            rng = ckpt.make_rng()
            history = ckpt.history
            first_epoch = ckpt.epoch
        else:
            rng = np.random.default_rng(check_seed(seed))
        opt.steps_per_epoch = steps_per_epoch
        opt.total_steps = opt.step_count + steps_per_epoch * max(0, epochs - first_epoch)
        ws = self._workspace(bs)
        order = np.arange(n, dtype=np.int64)  # shuffled in place: each epoch's order depends on the last
        if resume_from is not None:
            order[...] = ckpt.order
        tbuf = np.empty((bs,) + target.shape[1:], dtype=target.dtype)
        if augment is not None and not callable(augment):
            raise TypeError("augment must be a callable augment(X, out, rng)")
        X_source, X_aug = X, (np.empty_like(X) if augment is not None else None)
        is_clf = model.is_classifier
        self._progress = {"epoch": first_epoch, "rng": rng, "order": order, "history": history, "n_samples": n,
                          "batch_size": bs, "epochs": epochs, "at_epoch_end": True}
        self.stop_training = False
        self._stopped_early = False
        progress = None
        if verbose:
            try:
                from tqdm.auto import tqdm as progress
            except ImportError:  # pragma: no cover - tqdm is a dependency
                progress = None

        for cb in callbacks:
            cb.on_train_begin(self)
        with _Interrupts() as interrupts:
            for epoch in range(first_epoch, epochs):
                self._progress["at_epoch_end"] = False
                for cb in callbacks:
                    cb.on_epoch_begin(self, epoch)
                t0 = time.perf_counter()
                if augment is not None:
                    augment(X_source, X_aug, rng)
                    X = X_aug
                if shuffle:
                    rng.shuffle(order)
                loss_sum = 0.0
                correct = 0.0
                seen = 0
                bar = progress(total=steps_per_epoch, desc=f"epoch {epoch + 1}/{epochs}", leave=verbose >= 1,
                               unit="step", dynamic_ncols=True) if progress else None
                try:
                    for s in range(steps_per_epoch):
                        idx = order[s * bs: (s + 1) * bs]
                        m = idx.shape[0]
                        if shuffle:  # the rows are gathered in the step
                            tb = tbuf[:m]
                            np.take(target, idx, axis=0, out=tb)
                            value, out, n_correct = self._step(X, tb, rows=idx)
                        else:
                            tb = target[s * bs: s * bs + m]
                            value, out, n_correct = self._step(X[s * bs: s * bs + m], tb)
                        if not math.isfinite(value):
                            raise DivergenceError(
                                f"loss became {value} at epoch {epoch + 1}, step {s + 1}; the model keeps "
                                "its weights from before this step"
                            )
                        loss_sum += value * m
                        seen += m
                        logs = {"loss": value}
                        if is_clf:
                            acc = (n_correct / m if n_correct is not None
                                   else accuracy(model, out, tb, logits=self._fused))
                            correct += acc * m
                            logs["accuracy"] = acc
                        for cb in callbacks:
                            cb.on_batch_end(self, s, logs)
                        if bar is not None:
                            bar.update(1)
                            if s % 10 == 0 or s == steps_per_epoch - 1:
                                post = {"loss": f"{loss_sum / seen:.4f}"}
                                if is_clf:
                                    post["acc"] = f"{correct / seen:.4f}"
                                bar.set_postfix(post, refresh=False)
                        if interrupts.requested or self.stop_training:
                            break
                finally:
                    if bar is not None:
                        bar.close()
                logs = {"loss": loss_sum / seen}
                if is_clf:
                    logs["accuracy"] = correct / seen
                if X_val is not None:
                    val = model.evaluate(X_val, t_val, loss=self.loss)
                    logs["val_loss"] = val["loss"]
                    if is_clf:
                        logs["val_accuracy"] = val["accuracy"]
                logs["seconds"] = time.perf_counter() - t0
                if interrupts.requested:
                    history.interrupted = True
                    if seen < n:  # a partial epoch is not recorded as an epoch
                        break
                history.append(epoch, logs)
                if seen == n:
                    self._progress["epoch"] = epoch + 1
                    self._progress["at_epoch_end"] = True
                if verbose:
                    print(_epoch_line(epoch, epochs, logs), flush=True)
                for cb in callbacks:
                    cb.on_epoch_end(self, epoch, logs)
                if interrupts.requested or self.stop_training:
                    break
            if interrupts.requested:  # also when Ctrl-C came after the epoch's check (in on_epoch_end)
                history.interrupted = True
        history.stopped_early = self._stopped_early
        for cb in callbacks:
            cb.on_train_end(self, history)
        return history


def _epoch_line(epoch, epochs, logs):
    parts = [f"epoch {epoch + 1}/{epochs}"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in logs:
            parts.append(f"{key} {logs[key]:.4f}")
    parts.append(f"{logs['seconds']:.2f}s")
    return "  ".join(parts)
