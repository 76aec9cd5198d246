"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's, trained by fastnn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import validate_data

from ._mlp import STOCHASTIC, BaseMLP, accepted_dtypes, dense

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = ["MLPClassifier", "MLPRegressor"]

_PARAMETERS = """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons of the ith hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        The hidden layers' activation (fastnn's identity, sigmoid, tanh,
        relu).
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        'sgd': scikit-learn's stochastic gradient descent with momentum;
        'adam': its Adam; 'lbfgs': SciPy's L-BFGS-B on the loss and
        gradient of the whole training set (computed by fastnn; prefer
        ``dtype='float64'`` with it: L-BFGS's line search needs precise
        gradients).
    alpha : float, default=0.0001
        The L2 penalty: ``0.5 * alpha * ||W||^2 / n`` added to the loss of a
        batch of ``n`` samples (``n``: the sum of their sample weights), its
        gradient ``alpha * W / n`` added to the weights' (not the
        intercepts').
    batch_size : int or 'auto', default='auto'
        Samples per minibatch of the stochastic solvers; 'auto' is
        ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        The schedule of 'sgd': 'invscaling' sets the rate to
        ``learning_rate_init / (t_ + 1) ** power_t`` after every epoch;
        'adaptive' divides it by 5 whenever the stopping rule below would
        stop (and stops once it is at most 1e-6).
    learning_rate_init : float, default=0.001
        The (initial) learning rate of 'sgd' and 'adam'.
    power_t : float, default=0.5
        The exponent of 'invscaling'.
    max_iter : int, default=200
        Epochs of the stochastic solvers, iterations of 'lbfgs'.
    shuffle : bool, default=True
        Visit the samples in a new random order every epoch.
    random_state : int, RandomState instance or None, default=None
        Draws the initial weights, the early-stopping split and the
        shuffles, in scikit-learn's order: a seed gives the initial weights
        and batches scikit-learn's MLP gets from it.
    tol : float, default=1e-4
        The stopping rule: training stops when the training loss (the
        validation score with ``early_stopping``) has not improved by
        ``tol`` for more than ``n_iter_no_change`` consecutive epochs.
    verbose : bool, default=False
        Print the loss (and validation score) after every epoch.
    warm_start : bool, default=False
        Continue from the weights of the previous fit (with a fresh solver
        state, as scikit-learn).
    momentum : float, default=0.9
        The momentum of 'sgd', in [0, 1].
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for 'sgd'.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for a
        single-output classifier) and stop on its score; the best weights
        are kept.
    validation_fraction : float, default=0.1
        The held-out fraction, in [0, 1).
    beta_1 : float, default=0.9
        The first moment's decay rate of 'adam', in [0, 1).
    beta_2 : float, default=0.999
        The second moment's decay rate of 'adam', in [0, 1).
    epsilon : float, default=1e-8
        Added to the square root of the second moment in 'adam'.
    n_iter_no_change : int, default=10
        The epochs without improvement the stopping rule tolerates.
    max_fun : int, default=15000
        The most loss evaluations of 'lbfgs'.
    dtype : {'float32', 'float64'}, default='float32'
        The dtype of the parameters and of every computation (inputs are
        converted); fastnn's own.  float32 is fastnn's fast path; with
        'float64' the results agree with scikit-learn's on float64 data to
        rounding.
    n_threads : int or None, default=None
        The threads of fastnn's kernels during fit and predict (None: as
        set, :func:`fastnn.get_num_threads`); fastnn's own.  The setting is
        process-wide while the call runs."""

_ATTRIBUTES = """\
    loss_ : float
        The loss after the last epoch (with its L2 term), as scikit-learn
        records it: the mean of the batch losses, weighted by batch size.
    best_loss_ : float or None
        The lowest ``loss_`` (None with ``early_stopping``).
    loss_curve_ : list of float
        ``loss_`` after every epoch (stochastic solvers).
    validation_scores_ : list of float or None
        The held-out score after every epoch with ``early_stopping``.
    best_validation_score_ : float or None
        The best of them.
    t_ : int
        Training samples seen by the solver.
    coefs_ : list of numpy.ndarray
        The weights, (n_inputs, n_outputs) per layer: views of
        ``model_``'s (out, in) weights; assigning a list sets them.
    intercepts_ : list of numpy.ndarray
        The biases per layer: ``model_``'s arrays.
    n_features_in_ : int
        Features seen during fit.
    feature_names_in_ : numpy.ndarray of str
        Their names, when X had string column names (a DataFrame).
    n_iter_ : int
        Epochs (iterations of 'lbfgs') of the last fit or partial_fit.
    n_layers_ : int
        Layers, input and output included.
    n_outputs_ : int
        Outputs of the network.
    out_activation_ : str
        scikit-learn's name of the output activation.
    model_ : fastnn.Sequential
        The network: save it, export it to C or ONNX, or use it with the
        rest of fastnn."""

_NOTES = """\
    Notes
    -----
    Training follows scikit-learn's ``_fit_stochastic`` step for step (the
    same random draws, batches, losses, stopping rules and schedules) with
    fastnn's training step doing each batch's forward pass, backward pass
    and update.  Where it differs from scikit-learn:

    - arithmetic in ``dtype`` (float32 by default) whatever the input's
      dtype, and predictions in that dtype;
    - sparse input is densified;
    - 'adam' computes scikit-learn's update in another order (fastnn's
      kernel: ``lr_t`` split into two corrections), equal to rounding;
    - the log loss's value comes from the logits, not from probabilities
      clipped to ``[eps, 1 - eps]`` (it differs only where the clipping
      bites; gradients are the same);
    - a multiclass target without sample weights trains on fastnn's
      one-call step (each batch split across two threads), which computes
      the gradients; the solver then updates from them."""


def _stochastic(estimator: BaseMLP) -> bool:
    if estimator.solver not in STOCHASTIC:
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. {estimator.solver} is not "
                             "stochastic.")
    return True


def _first_partial_fit(clf: MLPClassifier, classes: Any) -> bool:
    """scikit-learn's check of ``classes`` in partial_fit; True (``classes_`` set) on the first call."""
    current = getattr(clf, "classes_", None)
    if current is None and classes is None:
        raise ValueError("classes must be passed on the first call to partial_fit.")
    if classes is None:
        return False
    if current is not None:
        if not np.array_equal(current, unique_labels(classes)):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, was: "
                             f"{current!r}")
        return False
    clf.classes_ = unique_labels(classes)
    return True


class MLPClassifier(ClassifierMixin, BaseMLP):
    """The multi-layer perceptron classifier of scikit-learn, trained by fastnn.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the same
    parameters, defaults, fitted attributes and methods, plus fastnn's
    ``dtype`` and ``n_threads``, and ``model_``, the fitted
    :class:`fastnn.Sequential`.  Binary and multilabel targets train
    logistic outputs, multiclass targets a softmax; labels of any type.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    classes_ : numpy.ndarray or list of numpy.ndarray
        The class labels (for a multilabel target: the label columns).
    {attributes}

    See Also
    --------
    MLPRegressor : The regressor.

    {notes}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fastnn.sklearn import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=50, random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16)
    array([0, 1, 2])
    """

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *, solver: str = "adam",
                 alpha: float = 0.0001, batch_size: Any = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: Any = False, warm_start: bool = False,
                 momentum: float = 0.9, nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: Any = 10, max_fun: int = 15000, dtype: Any = "float32",
                 n_threads: int | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.n_threads = n_threads

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit the network to X and the class labels y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label indicator matrix (multilabel).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        MLPClassifier
            The fitted estimator.
        """
        self._validate_params()
        self._fit(X, y, sample_weight, incremental=False)
        return self

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None) -> MLPClassifier:
        """Train for one epoch over X and y, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.
        classes : array-like of shape (n_classes,), default=None
            Every class of all the calls: required on the first call, which
            sets ``classes_``; y need not hold them all.

        Returns
        -------
        MLPClassifier
            The updated estimator.

        Raises
        ------
        ValueError
            On the first call without ``classes``, or for a label not in
            ``classes_``.
        """
        self._validate_params()
        if _first_partial_fit(self, classes):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if type_of_target(y).startswith("multilabel") else classes)
        self._fit(X, y, sample_weight, incremental=True)
        return self

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool,
                        dtype: np.dtype[Any]) -> tuple[FloatArray, np.ndarray]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=accepted_dtypes(dtype), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        return dense(X, dtype), self._label_binarizer.transform(y).astype(bool)

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validation_targets(self, Y: np.ndarray) -> np.ndarray:
        labels: np.ndarray = self._label_binarizer.inverse_transform(Y)
        return labels

    def _validation_score(self, X: FloatArray, y: np.ndarray, sw: FloatArray | None) -> float:
        return float(accuracy_score(y, self._labels(self._forward_prepared(X)), sample_weight=sw))

    def _labels(self, out: FloatArray) -> np.ndarray:
        if self.n_outputs_ == 1:
            out = out.ravel()
        labels: np.ndarray = self._label_binarizer.inverse_transform(out)
        return labels

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        numpy.ndarray of shape (n_samples,) or (n_samples, n_labels)
            The predicted classes (a label indicator matrix for multilabel).
        """
        return self._labels(self._forward_prepared(self._check_X(X)))

    def predict_proba(self, X: Any) -> FloatArray:
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_`` (of
            each label, for multilabel), in the model's dtype.
        """
        out = self._forward_prepared(self._check_X(X))
        if self.n_outputs_ == 1:
            p = out.ravel()
            both: FloatArray = np.vstack([1 - p, p]).T
            return both
        return out

    def predict_log_proba(self, X: Any) -> FloatArray:
        """The logarithm of the class probabilities, ``log(predict_proba(X))``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_classes)
            The log-probabilities, classes in the order of ``classes_``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self) -> Any:
        """Multilabel targets are supported."""
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """The multi-layer perceptron regressor of scikit-learn, trained by fastnn.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor`: the same
    parameters, defaults, fitted attributes and methods, plus fastnn's
    ``dtype`` and ``n_threads``, and ``model_``, the fitted
    :class:`fastnn.Sequential`.  Several outputs are fitted together.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        'squared_error': half the mean squared error, identity output;
        'poisson': half the Poisson deviance of an exp output (y >= 0;
        ``model_`` then outputs the log of the prediction).
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    MLPClassifier : The classifier.

    {notes}

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", dtype="float64", random_state=0).fit(X, X.ravel() ** 2)
    >>> round(reg.score(X, X.ravel() ** 2), 2)
    1.0
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Any = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: Any = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False, validation_fraction: float = 0.1,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: Any = 10,
                 max_fun: int = 15000, dtype: Any = "float32", n_threads: int | None = None) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.n_threads = n_threads

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit the network to X and the targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        MLPRegressor
            The fitted estimator.
        """
        self._validate_params()
        self._fit(X, y, sample_weight, incremental=False)
        return self

    @available_if(_stochastic)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Train for one epoch over X and y, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.

        Returns
        -------
        MLPRegressor
            The updated estimator.
        """
        self._validate_params()
        self._fit(X, y, sample_weight, incremental=True)
        return self

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool,
                        dtype: np.dtype[Any]) -> tuple[FloatArray, np.ndarray]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
                             dtype=accepted_dtypes(dtype), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return dense(X, dtype), y

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _validation_score(self, X: FloatArray, y: np.ndarray, sw: FloatArray | None) -> float:
        pred = self._forward_prepared(X)
        if not np.all(np.isfinite(pred)):
            return float("nan")
        return float(r2_score(y, pred.ravel() if pred.shape[1] == 1 else pred, sample_weight=sw))

    def predict(self, X: Any) -> FloatArray:
        """Predict the targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        numpy.ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predictions, in the model's dtype.
        """
        out = self._forward_prepared(self._check_X(X))
        return out.ravel() if out.shape[1] == 1 else out


for _cls in (MLPClassifier, MLPRegressor):
    _cls.__doc__ = ((_cls.__doc__ or "").replace("    {parameters}", _PARAMETERS)
                    .replace("    {attributes}", _ATTRIBUTES).replace("    {notes}", _NOTES))
