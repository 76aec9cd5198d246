"""A fastnn model from a fitted scikit-learn ``MLPClassifier`` or ``MLPRegressor``: ``fastnn.from_sklearn``.

Duck-typed on the estimator's fitted attributes (``coefs_``,
``intercepts_``, ``activation``, ``out_activation_``): scikit-learn is never
imported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nn.sequential import Sequential
from .convert import LayerSpec, build_sequential

__all__ = ["from_sklearn"]

_HIDDEN = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
_OUTPUT = {"identity": "identity", "logistic": "sigmoid", "softmax": "softmax"}
# the output's loss: scikit-learn's log-loss for classifiers; for regressors its squared_error,
# mean((y - p)^2) / 2, which is fastnn's half_squared_error for one output (that divided by the outputs for several)
_LOSS = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy", "identity": "half_squared_error"}


def _check_estimator(estimator: Any) -> tuple[str, str]:
    """(hidden activation, output activation) in fastnn's names; TypeError/ValueError for anything else."""
    kind = type(estimator).__name__
    if not hasattr(estimator, "hidden_layer_sizes") or not hasattr(estimator, "activation"):
        raise TypeError(f"estimator must be a fitted scikit-learn MLPClassifier or MLPRegressor, got {kind}")
    if not hasattr(estimator, "coefs_"):
        raise ValueError(f"estimator ({kind}) is not fitted yet: call fit first")
    hidden, out = estimator.activation, estimator.out_activation_
    if hidden not in _HIDDEN:
        raise ValueError(f"{kind}: hidden activation {hidden!r} has no fastnn counterpart "
                         f"(fastnn converts {', '.join(_HIDDEN)})")
    if out not in _OUTPUT:
        raise ValueError(f"{kind}: output activation {out!r} (loss {getattr(estimator, 'loss', '?')!r}) has no fastnn "
                         f"counterpart (fastnn converts {', '.join(_OUTPUT)})")
    return _HIDDEN[hidden], _OUTPUT[out]


def from_sklearn(estimator: Any) -> Sequential:
    """A fastnn model from a fitted scikit-learn ``MLPClassifier`` or ``MLPRegressor``.

    Parameters
    ----------
    estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
        Fitted; hidden activation identity, logistic, tanh or relu.

    Returns
    -------
    Sequential
        The same network (``coefs_`` are (in, out): transposed to fastnn's
        (out, in)), float32 or float64 as the estimator's parameters.
        Output and loss: softmax and cross-entropy (multiclass), sigmoid and
        binary cross-entropy (binary and multilabel), identity and half
        squared error (regressors).  fastnn predicts class indices:
        ``estimator.classes_[model.predict(X)]`` gives the estimator's labels.

    Raises
    ------
    TypeError
        For anything but an MLPClassifier or MLPRegressor.
    ValueError
        For an estimator not fitted, or with an activation fastnn lacks
        (e.g. the exp output of ``loss="poisson"``).

    Examples
    --------
    >>> import fastnn
    >>> from sklearn.neural_network import MLPClassifier  # doctest: +SKIP
    >>> clf = MLPClassifier((16,)).fit(X, y)  # doctest: +SKIP
    >>> model = fastnn.from_sklearn(clf)  # doctest: +SKIP
    """
    hidden, output = _check_estimator(estimator)
    coefs, intercepts = list(estimator.coefs_), list(estimator.intercepts_)
    kind = type(estimator).__name__
    specs = []
    for i, (c, b) in enumerate(zip(coefs, intercepts)):
        w = np.ascontiguousarray(np.asarray(c).T)
        act = output if i == len(coefs) - 1 else hidden
        specs.append(LayerSpec(w, np.array(b), f"{kind} layer {i} (coefs_[{i}] {np.shape(c)})", act))
    return build_sequential(specs, _LOSS[output], "from_sklearn")
