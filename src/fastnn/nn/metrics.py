"""Classification metrics on NumPy arrays: accuracy and the confusion matrix.

They take class labels (what :meth:`fastnn.Sequential.predict` returns) or,
for :func:`target_labels`, targets in any form a loss takes (integer
labels, one-hot rows, 0/1 columns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validation import as_array, check_int

if TYPE_CHECKING:
    from .._typing import ArrayLike, IntArray, LabelArray

__all__ = ["accuracy", "confusion_matrix", "target_labels"]


def target_labels(target: np.ndarray, one_hot: bool) -> LabelArray:
    """Class labels from prepared targets.

    Parameters
    ----------
    target : numpy.ndarray
        Integer labels (n,), one-hot or probability rows (n, k) when
        ``one_hot``, or 0/1 columns (n, k) of binary outputs.
    one_hot : bool
        Whether 2-D targets are rows over classes (softmax outputs) rather
        than independent binary outputs.

    Returns
    -------
    numpy.ndarray
        (n,) labels, or (n, k) 0/1 labels for several binary outputs.
    """
    labels: LabelArray
    if target.ndim == 2 and one_hot:
        labels = np.argmax(target, axis=1)
    elif target.ndim == 2 and target.shape[1] == 1:
        labels = np.rint(target[:, 0]).astype(np.int64)
    elif target.ndim == 2:
        labels = np.rint(target).astype(np.int64)
    else:
        labels = target
    return labels


def accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    """The fraction of samples predicted right.

    Parameters
    ----------
    pred, truth : numpy.ndarray
        Labels of the same shape: (n,), or (n, k) for multi-label outputs,
        where a sample counts as right only when every output is.

    Returns
    -------
    float
        In [0, 1].
    """
    if pred.ndim == 2:  # multi-label: every output must match
        return float(np.mean(np.all(pred == truth, axis=1)))
    return float(np.mean(pred == truth))


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None) -> IntArray:
    """Count the (true class, predicted class) pairs.

    Parameters
    ----------
    y_true, y_pred : array of int
        Class labels 0..n_classes-1, one per sample.
    n_classes : int, optional
        The number of classes; by default one more than the largest label.

    Returns
    -------
    numpy.ndarray
        (n_classes, n_classes) int64: rows are the true class, columns the
        predicted one.

    Raises
    ------
    ValueError
        For labels of different lengths, negative labels or labels >= n_classes.

    Examples
    --------
    >>> from fastnn.nn.metrics import confusion_matrix
    >>> confusion_matrix([0, 1, 1], [0, 1, 0])
    array([[1, 0],
           [1, 1]])
    """
    t = as_array("y_true", y_true).astype(np.int64).reshape(-1)
    p = as_array("y_pred", y_pred).astype(np.int64).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} labels but y_pred has {p.size}")
    top = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    k = top if n_classes is None else check_int("n_classes", n_classes, minimum=1)
    if t.size and (min(t.min(), p.min()) < 0 or top > k):
        raise ValueError(f"labels must lie in [0, {k}), got values in [{min(t.min(), p.min())}, {top - 1}]")
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm
