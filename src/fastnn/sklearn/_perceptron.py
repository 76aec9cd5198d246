"""``PerceptronClassifier``: the lecture notes' perceptron behind scikit-learn's classifier API."""

from __future__ import annotations

from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..course.perceptron import Perceptron

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = ["PerceptronClassifier"]


class PerceptronClassifier(ClassifierMixin, BaseEstimator):
    """The perceptron rule of the lecture notes (:class:`fastnn.Perceptron`) as a scikit-learn classifier.

    Labels of any type.  Two classes train one step unit; more train one
    unit per class on one-vs-rest targets and predict the class with the
    largest net input; a label indicator matrix (multilabel) trains one
    unit per label.  Samples are presented one at a time; training stops
    after an epoch without a mistake.

    Parameters
    ----------
    lr : float, default=1.0
        The learning rate (eta in the notes' rule), > 0.
    max_iter : int, default=100
        The most epochs.
    shuffle : bool, default=False
        Present the samples in a new random order each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The class labels.
    coef_ : numpy.ndarray of shape (n_units, n_features)
        The weights (one unit for two classes).
    intercept_ : numpy.ndarray of shape (n_units,)
        The biases.
    n_iter_ : int
        Epochs run.
    errors_ : list of int
        Misclassified samples per epoch.
    perceptron_ : fastnn.Perceptron
        The trained perceptron.
    n_features_in_ : int
        Features seen during fit.
    feature_names_in_ : numpy.ndarray of str
        Their names, when X had string column names.

    See Also
    --------
    fastnn.Perceptron : The perceptron itself, as in the notes.

    Examples
    --------
    >>> from fastnn.sklearn import PerceptronClassifier
    >>> X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    >>> PerceptronClassifier().fit(X, ["no", "no", "no", "yes"]).predict(X)  # AND
    array(['no', 'no', 'no', 'yes'], dtype='<U3')
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, lr: float = 1.0, max_iter: int = 100, shuffle: bool = False, random_state: Any = None) -> None:
        self.lr = lr
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> PerceptronClassifier:
        """Train the perceptron on X and the class labels y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label indicator matrix.

        Returns
        -------
        PerceptronClassifier
            The fitted estimator.
        """
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64, multi_output=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self._label_binarizer = LabelBinarizer().fit(y)
        self.classes_ = self._label_binarizer.classes_
        targets = self._label_binarizer.transform(y)
        rng = check_random_state(self.random_state)
        self.perceptron_ = Perceptron(X.shape[1], targets.shape[1], lr=float(self.lr))
        self.perceptron_.fit(X, targets, epochs=int(self.max_iter), shuffle=bool(self.shuffle),
                             seed=int(rng.randint(np.iinfo(np.int32).max)))
        self.errors_ = list(self.perceptron_.errors_)
        self.n_iter_ = len(self.errors_)
        self.coef_ = self.perceptron_.weight
        self.intercept_ = self.perceptron_.bias
        return self

    def decision_function(self, X: Any) -> FloatArray:
        """The units' net inputs ``W x + b``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        numpy.ndarray of shape (n_samples,) or (n_samples, n_units)
            One column for two classes (positive: the second class).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        net = self.perceptron_.net_input(X)
        return net.ravel() if net.shape[1] == 1 else net

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels: the step units' outputs, or the largest net input for several classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        numpy.ndarray of shape (n_samples,) or (n_samples, n_labels)
            The labels.
        """
        net = self.decision_function(X)
        if self._label_binarizer.y_type_ == "multiclass":
            scores = net
        else:  # the step units: 1 where the net input is >= 0
            scores = (net >= 0).astype(np.int64)
        labels: np.ndarray = self._label_binarizer.inverse_transform(scores)
        return labels

    def __sklearn_tags__(self) -> Any:
        """Multilabel targets are supported."""
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
