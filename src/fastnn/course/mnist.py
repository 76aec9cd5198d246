"""The notes' MNIST workflow: ``train_mnist()`` trains the notes' network and tests it once.

The network is the lecture notes' 784-64-128-512-10 (sigmoid hidden layers,
softmax output, categorical cross-entropy), trained on MNIST following the
notes' workflow (notes 000):

1. load the four MNIST files (cached; downloaded and checked if missing; the
   shipped sample when they cannot be had, saying why);
2. drop corrupted images; split the training data into training and
   validation sets FIRST; fit the scaling on the training split only and
   apply it to validation and test data;
3. train, printing loss, training and validation accuracy and seconds per
   epoch;
4. evaluate ONCE on the test set at the end (it never chooses anything) and
   report accuracy, per-class accuracy and the confusion matrix.

The default recipe (chosen on the validation split, see the project's
README): Adam with a one-cycle learning-rate schedule, batch 128,
standardised inputs, and every epoch the training images shifted at random
by up to 2 pixels (``augment``; switch off with ``augment=False``).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from .. import datasets
from .._validation import (
    check_bool,
    check_choice,
    check_dtype,
    check_int,
    check_path,
    check_real,
    check_seed,
    check_shape,
    check_verbose,
    describe,
)
from ..datasets.augment import RandomShift
from ..nn import Dense, Sequential
from ..nn.activations import get_activation
from ..nn.metrics import confusion_matrix
from ..optim import SGD, Adam, OneCycleLR, Optimizer
from ..training import History, Trainer

if TYPE_CHECKING:
    from .._typing import DTypeLike

__all__ = ["MNISTRun", "TestReport", "evaluate_test_set", "peak_memory_bytes", "train_mnist"]

@dataclass
class TestReport:
    """The one evaluation of a trained model on the test set.

    ``str(report)`` is the printed report: accuracy and loss, the per-class
    accuracy and the confusion matrix.

    Parameters
    ----------
    accuracy : float
        The fraction of test images classified right.
    per_class_accuracy : numpy.ndarray
        The accuracy on the images of each class (digit), shape (n_classes,).
    confusion_matrix : numpy.ndarray
        Counts of (true class, predicted class), shape (n_classes, n_classes):
        rows are the true digit, columns the predicted one.
    n_samples : int
        The number of test images.
    loss : float
        The mean loss on the test set.
    """

    __test__ = False  # not a pytest test class

    accuracy: float
    per_class_accuracy: np.ndarray
    confusion_matrix: np.ndarray  # rows: true class, columns: predicted
    n_samples: int
    loss: float

    def __str__(self) -> str:
        lines = [f"test accuracy {self.accuracy:.4f} ({self.n_samples} images), test loss {self.loss:.4f}",
                 "per-class accuracy: " + "  ".join(f"{k}:{a:.3f}" for k, a in enumerate(self.per_class_accuracy)),
                 "confusion matrix (rows: true digit, columns: predicted):"]
        k = self.confusion_matrix.shape[0]
        lines.append("      " + "".join(f"{j:>6}" for j in range(k)))
        for i in range(k):
            lines.append(f"{i:>6}" + "".join(f"{v:>6}" for v in self.confusion_matrix[i]))
        return "\n".join(lines)


@dataclass(frozen=True)
class MNISTRun:
    """What :func:`train_mnist` returns: the trained model, its history and its test report.

    Read the results by name, e.g. ``run = fastnn.train_mnist()`` then
    ``run.report.accuracy``.  It is not a tuple: ``model, history, report =
    run`` raises ``TypeError``.

    Parameters
    ----------
    model : Sequential
        The trained network.
    history : History
        The per-epoch records of the training (loss, accuracy, validation
        loss and accuracy, seconds).
    report : TestReport
        The one evaluation on the test set.
    data_source : str, default "full"
        ``"full"`` when trained on the MNIST files, ``"sample"`` when on the
        sample shipped with fastnn (the files could not be had).
    seconds : float, default 0.0
        Seconds spent training (data preparation and testing left out).
    peak_memory_bytes : int or None, default None
        The process's peak resident memory at the end, in bytes (None where
        the platform does not tell).
    """

    model: Sequential
    history: History
    report: TestReport
    data_source: str = "full"
    seconds: float = 0.0
    peak_memory_bytes: int | None = None

    def __iter__(self) -> NoReturn:
        raise TypeError("an MNISTRun is not a tuple and does not unpack: read its attributes, "
                        "e.g. run.model, run.history, run.report (and data_source, seconds, peak_memory_bytes)")


def evaluate_test_set(model: Sequential, X: Any, y: Any) -> TestReport:
    """Evaluate a classifier on a test set: accuracy, per-class accuracy and confusion matrix.

    Parameters
    ----------
    model : Sequential
        A trained classifier (softmax output).
    X : array_like
        The test inputs, shape (n_samples, n_inputs).
    y : array_like
        Their class labels, shape (n_samples,).

    Returns
    -------
    TestReport
        The evaluation; a class without test images gets accuracy 0.
    """
    ev = model.evaluate(X, y)
    k = model.n_outputs
    cm = confusion_matrix(y, model.predict(X), n_classes=k)
    totals = cm.sum(axis=1)
    per_class = np.divide(np.diag(cm), totals, out=np.zeros(k), where=totals > 0)
    return TestReport(float(np.trace(cm) / max(1, cm.sum())), per_class, cm, len(y), ev["loss"])


def peak_memory_bytes() -> int | None:
    """Return the largest resident set size this process has had.

    Returns
    -------
    int or None
        Bytes (from ``getrusage``'s ``ru_maxrss``: KiB on Linux, bytes on
        macOS), or None where unavailable (Windows).
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024


# --------------------------------------------------------------------------
# the steps of train_mnist
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Recipe:
    """train_mnist's checked training settings."""

    epochs: int
    batch_size: int
    optimizer: str | Optimizer
    lr: float | None
    hidden: tuple[int, ...]
    activation: str
    dtype: np.dtype
    seed: int | np.random.Generator | None
    scaling: str
    augment: bool
    max_shift: int
    val_fraction: float
    weight_decay: float
    verbose: int


def _check_optimizer(optimizer: Any) -> str | Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be 'adam', 'sgd' or a fastnn optimizer object, got {describe(optimizer)}")
    return check_choice("optimizer", optimizer, ("adam", "sgd"))


def _check_hidden(hidden: Any) -> tuple[int, ...]:
    if isinstance(hidden, (Sequence, np.ndarray)) and not isinstance(hidden, (str, bytes)) and len(hidden) == 0:
        return ()  # no hidden layer: a softmax regression
    return check_shape("hidden", hidden)


def _recipe(epochs: Any, batch_size: Any, optimizer: Any, lr: Any, hidden: Any, activation: Any, dtype: Any,
            seed: Any, scaling: Any, augment: Any, max_shift: Any, val_fraction: Any, weight_decay: Any,
            verbose: Any) -> _Recipe:
    """Check train_mnist's training settings (before any data is loaded)."""
    get_activation(activation)
    return _Recipe(
        epochs=check_int("epochs", epochs, minimum=0),
        batch_size=check_int("batch_size", batch_size, minimum=1),
        optimizer=_check_optimizer(optimizer),
        lr=None if lr is None else check_real("lr", lr, minimum=0.0, min_open=True),
        hidden=_check_hidden(hidden),
        activation=activation,
        dtype=check_dtype(dtype),
        seed=check_seed(seed),
        scaling=check_choice("scaling", scaling, ("standardize", "minmax")),
        augment=check_bool("augment", augment),
        max_shift=check_int("max_shift", max_shift, minimum=0),
        val_fraction=check_real("val_fraction", val_fraction, 0.0, 1.0, min_open=True, max_open=True),
        weight_decay=check_real("weight_decay", weight_decay, minimum=0.0),
        verbose=check_verbose(verbose),
    )


def _log(verbose: int, *args: Any) -> None:
    if verbose:
        print(*args, flush=True)


def _load(data_home: str | os.PathLike[str] | None, download: bool, mirrors: str | Iterable[str] | None,
          verbose: int) -> datasets.MNISTData:
    """Load the MNIST files, or the shipped sample with one short notice.

    The notice is printed with the rest of the run's output, or given as a
    warning when ``verbose`` is 0.
    """
    if data_home is not None:
        data_home = check_path("data_home", data_home)
    download = check_bool("download", download)
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


def _prepare(data: datasets.MNISTData, r: _Recipe) -> datasets.PreparedData:
    """Clean, split, and scale the data with the scaling fitted on the training split."""
    prep = datasets.prepare_mnist(data, val_fraction=r.val_fraction, seed=r.seed, method=r.scaling, dtype=r.dtype)
    for part, report in prep.reports.items():
        _log(r.verbose, f"{part} data: {report.n_removed} corrupted image(s) removed, {report.n_kept} kept")
    _log(r.verbose, f"split: {len(prep.y_train)} training, {len(prep.y_val)} validation, "
                    f"{len(prep.y_test)} test images; scaling {r.scaling!r} fitted on the training split")
    return prep


def _model(r: _Recipe) -> Sequential:
    """Build the network: the hidden layers, then a softmax layer of 10 outputs."""
    sizes = (784, *r.hidden, 10)
    layers = [Dense(sizes[i], sizes[i + 1], r.activation) for i in range(len(sizes) - 2)]
    layers.append(Dense(sizes[-2], 10, "softmax"))
    return Sequential(layers, dtype=r.dtype, seed=r.seed)


def _optimizer(r: _Recipe) -> Optimizer:
    """Build the optimizer: a named one with a one-cycle schedule, or the object given."""
    if isinstance(r.optimizer, Optimizer):
        return r.optimizer
    if r.optimizer == "adam":
        return Adam(lr=r.lr or 3e-3, weight_decay=r.weight_decay, schedule=OneCycleLR())
    return SGD(lr=r.lr or 0.1, momentum=0.9, nesterov=True, weight_decay=r.weight_decay, schedule=OneCycleLR())


def _train(model: Sequential, opt: Optimizer, prep: datasets.PreparedData, r: _Recipe) -> tuple[History, float]:
    """Train with validation on the validation split; returns the history and the seconds it took."""
    sizes = "-".join(str(layer.in_features) for layer in model.layers) + f"-{model.n_outputs}"
    _log(r.verbose, f"network {sizes} ({r.activation} hidden, softmax output), {opt!r}, batch {r.batch_size}, "
                    f"{r.epochs} epochs" + (f", random shifts up to {r.max_shift} px" if r.augment else ""))
    shift = None
    if r.augment and r.max_shift > 0:
        blank = prep.normalizer.transform(np.zeros((1, 28, 28), dtype=np.uint8)).reshape(-1)[0]
        shift = RandomShift(r.max_shift, fill=float(blank))
    trainer = Trainer(model, "cross_entropy", opt, batch_size=r.batch_size)
    t_train = time.perf_counter()
    history = trainer.fit(prep.X_train, prep.y_train, epochs=r.epochs, validation_data=(prep.X_val, prep.y_val),
                          seed=r.seed, verbose=r.verbose, augment=shift)
    return history, time.perf_counter() - t_train


def _report(report: TestReport, train_seconds: float, total_seconds: float, peak: int | None, verbose: int) -> None:
    _log(verbose, f"trained in {train_seconds:.1f} s ({total_seconds:.1f} s with data preparation)"
         + ("" if peak is None else f"; peak memory (RSS) of this process {peak / 2**20:.0f} MiB"))
    _log(verbose, str(report))


def train_mnist(epochs: int = 80, batch_size: int = 128, optimizer: str | Optimizer = "adam",
                lr: float | None = None, hidden: Sequence[int] = (64, 128, 512), activation: str = "sigmoid",
                dtype: DTypeLike = "float32", seed: int | np.random.Generator | None = 0,
                data_home: str | os.PathLike[str] | None = None, verbose: int = 1, *, scaling: str = "standardize",
                augment: bool = True, max_shift: int = 2, val_fraction: float = 1 / 12, weight_decay: float = 0.0,
                download: bool = True, mirrors: str | Iterable[str] | None = None) -> MNISTRun:
    """Train the notes' MNIST network and test it once (see the module docstring).

    Parameters
    ----------
    epochs : int, default 80
        Passes over the training split.
    batch_size : int, default 128
        Images per minibatch.
    optimizer : {"adam", "sgd"} or Optimizer, default "adam"
        Adam, or SGD with Nesterov momentum 0.9, each with a one-cycle schedule;
        or an optimizer object, used as it is (``lr``, ``weight_decay`` then do not apply).
    lr : float, optional
        The peak learning rate of a named optimizer (default 3e-3 for Adam, 0.1 for SGD).
    hidden : sequence of int, default (64, 128, 512)
        The widths of the hidden layers.
    activation : str, default "sigmoid"
        The activation of the hidden layers.
    dtype : {"float32", "float64"}, default "float32"
        The dtype of the parameters and the prepared images.
    seed : int, numpy.random.Generator or None, default 0
        Seeds the initialisation, split, shuffling and augmentation (same seed,
        data and threads: same result).
    data_home : str or os.PathLike, optional
        Where the MNIST files are cached (default ``$FASTNN_DATA``, else ``~/.cache/fastnn``).
    verbose : int, default 1
        0: silent; 1: a progress bar and a line per epoch, and the report; 2: no progress bars.
    scaling : {"standardize", "minmax"}, default "standardize"
        Zero mean and unit variance over the training split's pixels (keeps the
        sigmoid units out of saturation), or [0, 1], the notes' other option.
    augment : bool, default True
        Shift the training images at random every epoch.
    max_shift : int, default 2
        The largest shift, in pixels, in each direction.
    val_fraction : float, default 1/12
        The fraction of the training data split off for validation, first.
    weight_decay : float, default 0.0
        Decoupled weight decay of a named optimizer.
    download : bool, default True
        Download the files when they are not in the cache.
    mirrors : str or sequence of str, optional
        The mirrors to download from (see :func:`fastnn.datasets.load_mnist`).

    Returns
    -------
    MNISTRun
        Attributes ``model``, ``history``, ``report`` (the test report),
        ``data_source``, ``seconds``, ``peak_memory_bytes``.

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type, or an unusable value (the message names it).

    Warns
    -----
    fastnn.datasets.MNISTSampleWarning
        At ``verbose=0``, when the MNIST files cannot be had and it trains on
        the shipped sample (at ``verbose`` >= 1 this notice is printed).

    Examples
    --------
    >>> fastnn.train_mnist(epochs=5).report.accuracy  # doctest: +SKIP
    0.97...
    """
    r = _recipe(epochs, batch_size, optimizer, lr, hidden, activation, dtype, seed, scaling, augment, max_shift,
                val_fraction, weight_decay, verbose)
    t_start = time.perf_counter()
    prep = _prepare(_load(data_home, download, mirrors, r.verbose), r)
    model = _model(r)
    history, train_seconds = _train(model, _optimizer(r), prep, r)
    report = evaluate_test_set(model, prep.X_test, prep.y_test)
    peak = peak_memory_bytes()
    _report(report, train_seconds, time.perf_counter() - t_start, peak, r.verbose)
    return MNISTRun(model, history, report, prep.source, train_seconds, peak)
