"""What MLPClassifier and MLPRegressor share: scikit-learn's MLP training, run by fastnn's training step.

The loop is scikit-learn's ``_fit_stochastic`` (``sklearn/neural_network/_multilayer_perceptron.py``)
step for step: the same initial weights from the same random draws, the
same shuffles, batches, early-stopping split, loss record, stopping rules and
learning-rate schedules; each batch's forward pass, backward pass and update
run in fastnn's :class:`~fastnn.training.engine.TrainingEngine` with the
solvers of :mod:`fastnn.sklearn._solvers` and the losses of
:mod:`fastnn.sklearn._losses`.  'lbfgs' hands the full-batch loss and
gradient, computed the same way, to SciPy's L-BFGS-B as scikit-learn does.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from collections.abc import Iterator
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _core, _memory
from .._runtime import get_num_threads, set_num_threads
from ..nn.layers import Dense
from ..nn.losses import CrossEntropy, Loss, get_loss
from ..nn.sequential import Sequential
from ..training.engine import TrainingEngine
from ._losses import LogisticLogLoss, PoissonLoss, SoftmaxLogLoss, SquaredError, WeightedLoss
from ._solvers import GradientCapture, GradientStep, SklearnAdam, SklearnSGD

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = ["BaseMLP", "threads"]

#: scikit-learn's hidden activations -> fastnn's
HIDDEN = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: scikit-learn's output activations -> the activation of fastnn's last layer
#: (Poisson's exp is applied by the loss in training and by the estimator in predict)
OUTPUT = {"softmax": "softmax", "logistic": "sigmoid", "identity": "identity", "exp": "identity"}
#: the fastnn loss recorded on ``model_`` (for Sequential.evaluate, saving)
MODEL_LOSS = {"softmax": "cross_entropy", "logistic": "binary_cross_entropy", "identity": "half_squared_error"}
STOCHASTIC = ("sgd", "adam")
TOO_LARGE = "Input X contains infinity or a value too large for dtype('float32')."
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain large values and need to "
              "be preprocessed.")


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Run the block with fastnn's kernels on ``n`` threads (None: as set), restoring the count after.

    Parameters
    ----------
    n : int or None
        The thread count.

    Yields
    ------
    None
        While the block runs.
    """
    if n is None:
        yield
        return
    before = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(before)


def accepted_dtypes(dtype: np.dtype[Any]) -> list[type]:
    """The dtypes scikit-learn's validation keeps as they are for a model of ``dtype`` (others become the first).

    A float32 model also takes float64 arrays unconverted: :func:`dense`
    converts them on fastnn's threads (NumPy's ``astype`` runs on one).

    Parameters
    ----------
    dtype : numpy.dtype
        The model's dtype.

    Returns
    -------
    list of type
        For ``check_array``'s ``dtype``.
    """
    return [np.float32, np.float64] if dtype == np.float32 else [np.float64]


def dense(X: Any, dtype: np.dtype[Any]) -> FloatArray:
    """``X`` (validated by scikit-learn) as a C-contiguous array of ``dtype``; sparse input densified.

    Parameters
    ----------
    X : numpy.ndarray or scipy.sparse matrix
        The input.
    dtype : numpy.dtype
        The model's dtype.

    Returns
    -------
    numpy.ndarray
        (n_samples, n_features).

    Raises
    ------
    ValueError
        If a float64 value is beyond float32's range (as scikit-learn's validation says it).
    """
    if hasattr(X, "toarray"):
        _memory.check_alloc(X.shape[0] * X.shape[1] * dtype.itemsize, f"a dense copy of the sparse X {X.shape}")
        X = X.toarray()
    if dtype != np.float32 or X.dtype != np.float64:
        return np.ascontiguousarray(X, dtype=dtype)
    out: FloatArray = np.empty(X.shape, dtype=np.float32)
    if X.flags.c_contiguous:
        bad = _core.convert_f64_f32(X.reshape(-1), out.reshape(-1)) > 0
    else:
        with np.errstate(over="ignore"):
            out[...] = X
        bad = not _core.all_finite(out.reshape(-1))
    if bad:
        raise ValueError(TOO_LARGE)
    return out


def check_sample_weight(sample_weight: Any, n: int, dtype: np.dtype[Any]) -> FloatArray | None:
    """Sample weights as a (n,) array of ``dtype``, or None.

    Parameters
    ----------
    sample_weight : array-like, float or None
        The weights; a number weights every sample alike.
    n : int
        The samples.
    dtype : numpy.dtype
        The model's dtype.

    Returns
    -------
    numpy.ndarray or None
        The weights.

    Raises
    ------
    ValueError
        For weights of the wrong shape, NaN or infinity, or all zero.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        return np.full(n, sample_weight, dtype=dtype)
    w = check_array(sample_weight, ensure_2d=False, dtype=dtype, order="C", input_name="sample_weight")
    if w.ndim != 1:
        raise ValueError("Sample weights must be 1D array or scalar")
    if w.shape != (n,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    if not np.any(w):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return np.asarray(w)


class BaseMLP(BaseEstimator):
    """Base class of :class:`fastnn.sklearn.MLPClassifier` and :class:`fastnn.sklearn.MLPRegressor`.

    Not for direct use: the subclasses set the parameters (scikit-learn's
    MLP's, plus ``dtype`` and ``n_threads``) and define the targets.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"}), Options(type, {np.float32, np.float64})],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
    }

    # set by the subclasses' __init__ (scikit-learn reads the parameters from their signatures)
    hidden_layer_sizes: Any
    activation: str
    solver: str
    alpha: float
    batch_size: Any
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    random_state: Any
    tol: float
    verbose: Any
    warm_start: bool
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: Any
    max_fun: int
    dtype: Any
    n_threads: int | None
    # fitted
    model_: Sequential
    n_outputs_: int
    out_activation_: str

    # ---- scikit-learn's fitted parameters: views of the fastnn model's ------------

    def _layers(self, name: str) -> list[Dense]:
        model = self.__dict__.get("model_")
        if model is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        layers: list[Dense] = model.layers
        return layers

    @property
    def coefs_(self) -> list[FloatArray]:
        """The weight matrices, (n_inputs, n_outputs) per layer as scikit-learn's.

        Views of ``model_``'s (out, in) weights: changing their values
        changes the model's; assigning a list sets the model's weights.
        """
        return [layer.weight.T for layer in self._layers("coefs_")]

    @coefs_.setter
    def coefs_(self, value: list[Any]) -> None:
        layers = self._layers("coefs_")
        if len(value) != len(layers):
            raise ValueError(f"coefs_ must hold {len(layers)} arrays, got {len(value)}")
        for layer, coef in zip(layers, value):
            layer.weight = np.asarray(coef).T

    @property
    def intercepts_(self) -> list[FloatArray]:
        """The bias vectors, one per layer: views of ``model_``'s biases (assigning a list sets them)."""
        return [layer.bias for layer in self._layers("intercepts_") if layer.bias is not None]

    @intercepts_.setter
    def intercepts_(self, value: list[Any]) -> None:
        layers = self._layers("intercepts_")
        if len(value) != len(layers):
            raise ValueError(f"intercepts_ must hold {len(layers)} arrays, got {len(value)}")
        for layer, bias in zip(layers, value):
            layer.bias = bias

    # ---- fitting ------------------------------------------------------------------------

    def _model_dtype(self, first_pass: bool) -> np.dtype[Any]:
        dtype: np.dtype[Any] = np.dtype(self.dtype if first_pass else self.model_.dtype)
        return dtype

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        for s in sizes:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
                raise TypeError(f"hidden_layer_sizes must hold ints, got {s!r}")
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool,
                        dtype: np.dtype[Any]) -> tuple[FloatArray, np.ndarray]:
        raise NotImplementedError

    def _output_activation(self) -> str:
        raise NotImplementedError

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> BaseMLP:
        """scikit-learn's ``_fit``: check, initialise on a first pass, train."""
        hidden = self._hidden_sizes()
        first_pass = "model_" not in self.__dict__ or (not self.warm_start and not incremental)
        dtype = self._model_dtype(first_pass)
        X, Y = self._validate_input(X, y, incremental, first_pass, dtype)
        sw = check_sample_weight(sample_weight, X.shape[0], dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        units = [X.shape[1], *hidden, Y.shape[1]]
        if not first_pass:
            fitted = [self.model_.n_inputs, *(layer.out_features for layer in self.model_.layers)]
            if units != fitted:
                raise ValueError(f"the network was fitted with layer sizes {fitted}; these data and "
                                 f"hidden_layer_sizes ask for {units} (fit again without warm_start)")
        self.n_outputs_ = Y.shape[1]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(units, dtype)
        with threads(self.n_threads):
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sw)
            else:
                self._fit_stochastic(X, Y, sw, incremental)
        if not all(np.all(np.isfinite(p)) for p in self.model_.parameters()):
            raise ValueError(NON_FINITE)
        return self

    def _initialize(self, layer_units: list[int], dtype: np.dtype[Any]) -> None:
        """scikit-learn's ``_initialize``: the network, Glorot-uniform weights and biases, the records."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        factor = 2.0 if self.activation == "logistic" else 6.0
        layers = []
        for i in range(self.n_layers_ - 1):
            fan_in, fan_out = layer_units[i], layer_units[i + 1]
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
            intercept = self._random_state.uniform(-bound, bound, fan_out).astype(dtype, copy=False)
            act = OUTPUT[self.out_activation_] if i == self.n_layers_ - 2 else HIDDEN[self.activation]
            layers.append(Dense(fan_in, fan_out, act, bias=intercept, weight=coef.T))
        self.model_ = Sequential(layers, dtype=dtype)
        if self.out_activation_ in MODEL_LOSS:
            self.model_.loss = get_loss(MODEL_LOSS[self.out_activation_])
        self._best_params = self._copy_params()
        if self.solver in STOCHASTIC:
            self.loss_curve_: list[float] = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_: list[float] | None = []
                self.best_validation_score_: float | None = -np.inf
                self.best_loss_: float | None = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _copy_params(self) -> list[tuple[FloatArray, FloatArray | None]]:
        return [(layer.weight.copy(), None if layer.bias is None else layer.bias.copy())
                for layer in self.model_.layers]

    def _restore_params(self, params: list[tuple[FloatArray, FloatArray | None]]) -> None:
        for layer, (w, b) in zip(self.model_.layers, params):
            layer.weight = w
            if b is not None:
                layer.bias = b

    def _training_loss(self, Y: np.ndarray, sw: FloatArray | None) -> tuple[Loss, np.ndarray]:
        """The loss scikit-learn minimises for this output, and the targets as it takes them."""
        dtype = self.model_.dtype
        act = self.out_activation_
        k = Y.shape[1]
        T = np.ascontiguousarray(Y, dtype=dtype)
        if act == "softmax" and sw is None:  # fastnn's fused kernel (and one-call step): class indices
            return CrossEntropy(), np.ascontiguousarray(np.argmax(Y, axis=1), dtype=np.int64)
        if act == "softmax":
            return SoftmaxLogLoss(), T
        if act == "logistic":
            return LogisticLogLoss(k), T
        if act == "exp":
            return PoissonLoss(), T
        return SquaredError(k), T

    def _make_optimizer(self) -> SklearnSGD | SklearnAdam:
        if self.solver == "sgd":
            return SklearnSGD(self.learning_rate_init, self.momentum, self.nesterovs_momentum, self.alpha)
        return SklearnAdam(self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon, self.alpha)

    def _engine(self, loss: Loss, solver: SklearnSGD | SklearnAdam | GradientCapture) -> TrainingEngine:
        """The training step for this model and ``solver``.

        With fastnn's softmax cross-entropy, the one-call step: ``solver`` itself where the step computes
        its update exactly, else through :class:`GradientStep`; the per-layer path for the other losses.
        """
        if isinstance(loss, CrossEntropy) and not solver.exact_in_one_call:
            return TrainingEngine(self.model_, loss, GradientStep(solver))
        return TrainingEngine(self.model_, loss, solver)

    def _squared_norm(self) -> float:
        # einsum's own loop, not BLAS: a threaded BLAS dot between fastnn's steps leaves BLAS threads
        # spinning on the cores fastnn's threads need
        return float(sum(np.einsum("ij,ij->", w, w) for w in (layer.weight for layer in self.model_.layers)))

    def _step(self, engine: TrainingEngine, solver: SklearnSGD | SklearnAdam | GradientCapture, X: FloatArray,
              T: np.ndarray, w: FloatArray | None, rows: np.ndarray | None) -> float:
        """One batch: scikit-learn's batch loss (with its L2 term), the parameters updated."""
        n = T.shape[0]
        s = n if w is None else float(w.sum())
        solver.l2 = self.alpha / s
        if isinstance(engine.loss, WeightedLoss):
            engine.loss.weights = w
        # Adam and momentum sum the weights' squares as they pass over them: into squared_norm on the
        # per-layer path (0 on the one-call path, whose loss includes the penalty)
        summing = solver if not isinstance(solver, GradientCapture) and solver.sums_squares and self.alpha else None
        if summing is not None:
            summing.squared_norm = 0.0
        squares = 0.0 if summing is not None or not self.alpha else self._squared_norm()
        value, _, _ = engine.step(X, T, rows)
        if not math.isfinite(value):
            raise ValueError(NON_FINITE)
        if summing is not None:
            squares = summing.squared_norm
        return value + 0.5 * self.alpha * squares / s

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                          stacklevel=4)
        return int(np.clip(self.batch_size, 1, n))

    def _split(self, X: FloatArray, Y: np.ndarray, sw: FloatArray | None) -> tuple[Any, ...]:
        """scikit-learn's early-stopping split: (X, Y, sw) to train on and (X, y, sw) to score, or None."""
        if not self.early_stopping:
            return X, Y, sw, None
        stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
        arrays = (X, Y) if sw is None else (X, Y, sw)
        parts = train_test_split(*arrays, random_state=self._random_state, test_size=self.validation_fraction,
                                 stratify=stratify)
        X_tr, X_val, Y_tr, Y_val = parts[:4]
        sw_tr, sw_val = (None, None) if sw is None else (parts[4], parts[5])
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of "
                             "your dataset.")
        return X_tr, Y_tr, sw_tr, (X_val, self._validation_targets(Y_val), sw_val)

    def _validation_targets(self, Y: np.ndarray) -> np.ndarray:
        return Y

    def _fit_stochastic(self, X: FloatArray, Y: np.ndarray, sw: FloatArray | None, incremental: bool) -> None:
        """scikit-learn's ``_fit_stochastic``: epochs of minibatches until converged or max_iter."""
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, Y, sw, val = self._split(X, Y, sw)
        loss, T = self._training_loss(Y, sw)
        engine = self._engine(loss, self._optimizer)
        n = X.shape[0]
        batch_size = self._batch_size(n)
        idx = np.arange(n, dtype=np.int64)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    idx = _shuffled(idx, self._random_state)
                self.loss_ = self._epoch(engine, X, T, sw, idx, batch_size)
                self.n_iter_ += 1
                self.t_ += n
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                if self._end_of_epoch(val) or incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                                  "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=4)
        if self.early_stopping:
            self._restore_params(self._best_params)

    def _epoch(self, engine: TrainingEngine, X: FloatArray, T: np.ndarray, sw: FloatArray | None,
               idx: np.ndarray, batch_size: int) -> float:
        """One pass over the samples in ``idx`` order; the mean batch loss, weighted by batch size."""
        n = X.shape[0]
        total, start = 0.0, 0
        if sw is None and n >= 2 * batch_size and engine.runs_steps_in_one_call(batch_size):
            total, start = self._full_batches(engine, X, T, idx, batch_size)
        for lo in range(start, n, batch_size):
            hi = min(n, lo + batch_size)
            if self.shuffle:
                rows = idx[lo:hi]
                loss = self._step(engine, self._optimizer, X, T[rows], None if sw is None else sw[rows], rows)
            else:
                loss = self._step(engine, self._optimizer, X[lo:hi], T[lo:hi], None if sw is None else sw[lo:hi],
                                  None)
            total += loss * (hi - lo)
        return float(total / n)

    def _full_batches(self, engine: TrainingEngine, X: FloatArray, T: np.ndarray, idx: np.ndarray,
                      batch_size: int) -> tuple[float, int]:
        """The epoch's full batches, several a call into C (fastnn's one-call step, whose loss holds the penalty).

        All of them have scikit-learn's ``l2 = alpha / batch_size``; the rows of a shorter last batch are
        left to :meth:`_step`.  Returns their summed loss times rows, in order, and their rows.
        """
        n_full = X.shape[0] // batch_size * batch_size
        self._optimizer.l2 = self.alpha / batch_size
        span = engine.steps_per_call(batch_size, n_full // batch_size) * batch_size
        total = 0.0
        for lo in range(0, n_full, span):
            hi = min(n_full, lo + span)
            if self.shuffle:
                losses, _, done = engine.run_steps(X, T, idx[lo:hi], batch_size, (hi - lo) // batch_size)
            else:
                losses, _, done = engine.run_steps(X[lo:hi], T[lo:hi], None, batch_size, (hi - lo) // batch_size)
            if done < (hi - lo) // batch_size:
                raise ValueError(NON_FINITE)
            for value in losses.tolist():
                total += value * batch_size
        return total, n_full

    def _end_of_epoch(self, val: tuple[Any, ...] | None) -> bool:
        """The convergence bookkeeping after an epoch; True to stop."""
        self._update_no_improvement_count(val)
        optimizer = self._optimizer
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            optimizer.lr = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score did not improve" if self.early_stopping else "Training loss did not improve"
        msg = f"{what} more than tol={self.tol:f} for {self.n_iter_no_change} consecutive epochs."
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if optimizer.lr <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        optimizer.lr /= 5.0
        if self.verbose:
            print(msg + f" Setting learning rate to {optimizer.lr:f}")
        self._no_improvement_count = 0
        return False

    def _update_no_improvement_count(self, val: tuple[Any, ...] | None) -> None:
        if val is None:
            last, best = self.loss_curve_[-1], self.best_loss_
            assert best is not None  # None only with early_stopping
            self._no_improvement_count = self._no_improvement_count + 1 if last > best - self.tol else 0
            self.best_loss_ = min(best, last)
            return
        score = self._validation_score(*val)
        assert self.validation_scores_ is not None and self.best_validation_score_ is not None
        self.validation_scores_.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_params = self._copy_params()

    def _validation_score(self, X: FloatArray, y: np.ndarray, sw: FloatArray | None) -> float:
        raise NotImplementedError

    # ---- L-BFGS ----------------------------------------------------------------------------

    def _fit_lbfgs(self, X: FloatArray, Y: np.ndarray, sw: FloatArray | None) -> None:
        """scikit-learn's ``_fit_lbfgs``: SciPy's L-BFGS-B on the full-batch loss and gradient."""
        loss, T = self._training_loss(Y, sw)
        capture = GradientCapture(self.alpha)
        engine = self._engine(loss, capture)
        packing = _Packing(self.model_)

        def loss_and_grad(theta: FloatArray) -> tuple[float, FloatArray]:
            packing.unpack(theta)
            value = self._step(engine, capture, X, T, sw, None)
            return value, packing.pack(capture.grads)

        result = scipy.optimize.minimize(loss_and_grad, packing.pack(), method="L-BFGS-B", jac=True,
                                         options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        if result.status != 0:
            warnings.warn(f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}):\n"
                          f"{result.message}.\n\nIncrease the number of iterations to improve the convergence "
                          f"(max_iter={self.max_iter}).", ConvergenceWarning, stacklevel=4)
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        packing.unpack(result.x)

    # ---- prediction -----------------------------------------------------------------------

    def _forward_prepared(self, X: FloatArray) -> FloatArray:
        """The output (exp applied for Poisson) for ``X`` already checked and converted."""
        with threads(self.n_threads):
            out = self.model_.forward_prepared(X)
        if self.out_activation_ == "exp":
            np.exp(out, out=out)
        return out

    def _check_X(self, X: Any) -> FloatArray:
        """``X`` checked against the fit and converted for the model."""
        check_is_fitted(self)
        dtype = self.model_.dtype
        return dense(validate_data(self, X, accept_sparse=["csr", "csc"], dtype=accepted_dtypes(dtype), reset=False),
                     dtype)

    def __sklearn_tags__(self) -> Any:
        """Sparse input is accepted (and densified)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class _Packing:
    """The model's parameters as one float64 vector, packed as scikit-learn packs them (coefs_, then intercepts_)."""

    def __init__(self, model: Sequential) -> None:
        entries = [(i, name, p) for i, layer in enumerate(model.layers) for name, p in layer.named_parameters()]
        self.order = sorted(entries, key=lambda e: e[1] == "bias")

    def pack(self, grads: dict[tuple[int, str], FloatArray] | None = None) -> FloatArray:
        """The parameters (or the gradients ``grads`` of them) as one vector."""
        arrays = [p if grads is None else grads[(i, name)] for i, name, p in self.order]
        return np.concatenate([a.T.ravel() if name == "weight" else a
                               for (_, name, _), a in zip(self.order, arrays)]).astype(np.float64)

    def unpack(self, theta: FloatArray) -> None:
        """Write ``theta`` into the parameters, in place."""
        at = 0
        for _, name, p in self.order:
            chunk = theta[at:at + p.size]
            p[...] = chunk.reshape(p.T.shape).T if name == "weight" else chunk
            at += p.size


def _shuffled(idx: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
    """``sklearn.utils.shuffle(idx, random_state=random_state)``: the same draws and order.

    Without its argument checks, which cost ten times the shuffle itself
    (a fifth of a small network's fit); the trajectory tests of
    tests/test_sklearn_estimators.py hold it to scikit-learn's.
    """
    order = np.arange(idx.shape[0])
    random_state.shuffle(order)
    return idx[order]
