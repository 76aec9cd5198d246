"""The main job: ``fastnn.train_mnist()`` trains the lecture notes' network
(784-64-128-512-10, sigmoid hidden layers, softmax output, categorical
cross-entropy) on MNIST following the notes' workflow (notes 000):

1. load the four MNIST files (cached; downloaded and checked if missing; the
   shipped sample when they cannot be had, saying why);
2. drop corrupted images; split the training data into training and
   validation sets FIRST; fit the scaling on the training split only and
   apply it to validation and test data;
3. train, printing loss, training and validation accuracy and seconds per
   epoch; 4. evaluate ONCE on the test set at the end (it never chooses
   anything) and report accuracy, per-class accuracy and the confusion matrix.

The default recipe (chosen on the validation split, see README.md): Adam
with a one-cycle learning-rate schedule, batch 128, standardised inputs,
and every epoch the training images shifted at random by up to 2 pixels
(``augment``; switch off with ``augment=False``).
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import datasets
from ..datasets.augment import RandomShift
from ..nn import Dense, Sequential
from ..optim import SGD, Adam, OneCycleLR
from ..training import History, Trainer

__all__ = ["MNISTRun", "TestReport", "train_mnist"]


@dataclass
class TestReport:
    """The one evaluation on the test set."""

    __test__ = False  # not a pytest test class

    accuracy: float
    per_class_accuracy: np.ndarray
    confusion_matrix: np.ndarray  # rows: true class, columns: predicted
    n_samples: int
    loss: float

    def __str__(self):
        lines = [f"test accuracy {self.accuracy:.4f} ({self.n_samples} images), test loss {self.loss:.4f}",
                 "per-class accuracy: " + "  ".join(f"{k}:{a:.3f}" for k, a in enumerate(self.per_class_accuracy)),
                 "confusion matrix (rows: true digit, columns: predicted):"]
        k = self.confusion_matrix.shape[0]
        lines.append("      " + "".join(f"{j:>6}" for j in range(k)))
        for i in range(k):
            lines.append(f"{i:>6}" + "".join(f"{v:>6}" for v in self.confusion_matrix[i]))
        return "\n".join(lines)


class MNISTRun(NamedTuple):
    """What train_mnist returns: unpacks as (model, history, report)."""

    model: Sequential
    history: History
    report: TestReport
    data_source: str = "full"
    seconds: float = 0.0
    peak_memory_bytes: int | None = None  # the process's peak RSS at the end (None if unknown)


def evaluate_test_set(model, X, y):
    """Accuracy, per-class accuracy and confusion matrix of model on (X, y)."""
    ev = model.evaluate(X, y)
    pred = model.predict(X)
    k = model.n_outputs
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (np.asarray(y, dtype=np.int64), pred), 1)
    totals = cm.sum(axis=1)
    per_class = np.divide(np.diag(cm), totals, out=np.zeros(k), where=totals > 0)
    return TestReport(float(np.trace(cm) / max(1, cm.sum())), per_class, cm, int(len(y)), ev["loss"])


def _load(data_home, download, mirrors, verbose):
    """The MNIST files, or the shipped sample with one short notice: printed
    with the rest of the run's output, or a warning when ``verbose`` is 0."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", datasets.MNISTSampleWarning)
        data = datasets.load_mnist_or_sample(data_home=data_home, download=download, mirrors=mirrors,
                                             verbose=bool(verbose))
    for w in caught:
        if not issubclass(w.category, datasets.MNISTSampleWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif verbose:
            print(w.message, flush=True)
        else:
            warnings.warn(w.message, stacklevel=3)
    return data


def _log(verbose, *args):
    if verbose:
        print(*args, flush=True)


def train_mnist(epochs=80, batch_size=128, optimizer="adam", lr=None, hidden=(64, 128, 512),
                activation="sigmoid", dtype="float32", seed=0, data_home=None, verbose=1, *,
                scaling="standardize", augment=True, max_shift=2, val_fraction=1 / 12,
                weight_decay=0.0, download=True, mirrors=None):
    """Train the notes' MNIST network and test it once; returns an MNISTRun
    (model, history, report, data_source, seconds).

    Parameters
    ----------
    epochs, batch_size : the training length and minibatch size.
    optimizer : "adam" (Adam with a one-cycle schedule), "sgd" (Nesterov
        momentum 0.9, one-cycle) or a fastnn optimizer object.
    lr : peak learning rate (default 3e-3 for Adam, 0.1 for SGD).
    hidden, activation : hidden layer widths and their activation.
    dtype, seed : parameter dtype; seed of initialisation, split, shuffling
        and augmentation (same seed, data and threads: same result).
    data_home : where the MNIST files are cached ($FASTNN_DATA, else
        ~/.cache/fastnn); download/mirrors: see fastnn.datasets.load_mnist.
    scaling : "standardize" (default: zero mean, unit variance over the
        training split's pixels, which keeps the sigmoid units out of
        saturation) or "minmax" ([0, 1], the notes' other option).
    augment, max_shift : random shifts of the training images each epoch.
    val_fraction : the validation split taken from the training data first.
    verbose : 0 silent, 1 progress bars and a line per epoch.
    """
    t_start = time.perf_counter()
    data = _load(data_home, download, mirrors, verbose)
    prep = datasets.prepare_mnist(data, val_fraction=val_fraction, seed=seed, method=scaling,
                                  dtype=np.dtype(dtype))
    for part, report in prep.reports.items():
        _log(verbose, f"{part} data: {report.n_removed} corrupted image(s) removed, {report.n_kept} kept")
    _log(verbose, f"split: {len(prep.y_train)} training, {len(prep.y_val)} validation, "
                  f"{len(prep.y_test)} test images; scaling {scaling!r} fitted on the training split")

    sizes = (784,) + tuple(int(h) for h in hidden) + (10,)
    layers = [Dense(sizes[i], sizes[i + 1], activation) for i in range(len(sizes) - 2)]
    layers.append(Dense(sizes[-2], 10, "softmax"))
    model = Sequential(layers, dtype=dtype, seed=seed)

    if isinstance(optimizer, str):
        if optimizer == "adam":
            opt = Adam(lr=lr or 3e-3, weight_decay=weight_decay, schedule=OneCycleLR())
        elif optimizer == "sgd":
            opt = SGD(lr=lr or 0.1, momentum=0.9, nesterov=True, weight_decay=weight_decay, schedule=OneCycleLR())
        else:
            raise ValueError(f"optimizer must be 'adam', 'sgd' or an optimizer object, got {optimizer!r}")
    else:
        opt = optimizer
    _log(verbose, f"network {'-'.join(map(str, sizes))} ({activation} hidden, softmax output), {opt!r}, "
                  f"batch {batch_size}, {epochs} epochs" + (f", random shifts up to {max_shift} px" if augment else ""))

    shift = None
    if augment and max_shift > 0:
        blank = prep.normalizer.transform(np.zeros((1, 28, 28), dtype=np.uint8)).reshape(-1)[0]
        shift = RandomShift(max_shift, fill=float(blank))
    trainer = Trainer(model, "cross_entropy", opt, batch_size=batch_size)
    t_train = time.perf_counter()
    history = trainer.fit(prep.X_train, prep.y_train, epochs=epochs, validation_data=(prep.X_val, prep.y_val),
                          seed=seed, verbose=verbose, augment=shift)
    train_seconds = time.perf_counter() - t_train

    report = evaluate_test_set(model, prep.X_test, prep.y_test)
    total = time.perf_counter() - t_start
    peak = peak_memory_bytes()
    _log(verbose, f"trained in {train_seconds:.1f} s ({total:.1f} s with data preparation)"
         + ("" if peak is None else f"; peak memory (RSS) of this process {peak / 2**20:.0f} MiB"))
    _log(verbose, str(report))
    return MNISTRun(model, history, report, prep.source, train_seconds, peak)


def peak_memory_bytes():
    """The largest resident set this process has had, in bytes (getrusage's
    ru_maxrss: KiB on Linux, bytes on macOS), or None where unavailable."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024
