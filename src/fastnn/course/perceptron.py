"""The perceptron learning rule of the lecture notes (file 001).

The rule, for a layer of threshold units ``Y = step(W x + b)`` (binary step:
1 if the net input is >= 0, else 0)::

    W(n+1) = W(n) + eta [d(n) - Y(n)] X(n)

with the bias learning by the same rule as a weight on a constant input 1.
Samples are presented one at a time, in order (or shuffled with a seed), for
a number of epochs or until an epoch makes no mistake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _core, _memory
from .._validation import as_array, as_float_array, check_bool, check_int, check_real, check_seed

if TYPE_CHECKING:
    from .._typing import ArrayLike, FloatArray, IntArray

__all__ = ["Perceptron"]


class Perceptron:
    """A single layer of step units trained with the perceptron rule.

    Parameters
    ----------
    n_inputs : int
        The number of inputs, >= 1.
    n_outputs : int, default 1
        The number of step units (outputs), >= 1.
    lr : float, default 1.0
        The learning rate, eta in the notes' rule, > 0.
    weight : array_like, optional
        Initial weights, shape (n_outputs, n_inputs); zeros by default, as a
        hand-worked example would start.
    bias : array_like, optional
        Initial biases, shape (n_outputs,); zeros by default.

    Attributes
    ----------
    weight : numpy.ndarray
        The weights, float64, shape (n_outputs, n_inputs).
    bias : numpy.ndarray
        The biases, float64, shape (n_outputs,).
    errors_ : list of int
        The number of misclassified samples in each epoch of the last fit.

    Raises
    ------
    TypeError
        If an argument has the wrong type (the message names it).
    ValueError
        If an argument has an unusable value: a size < 1, a learning rate
        <= 0, weights or biases of the wrong shape or not finite.
    MemoryError
        If the weights cannot fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.course.perceptron import Perceptron
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> p = Perceptron(2).fit(X, [0, 0, 0, 1])  # AND
    >>> p.predict(X)
    array([0, 0, 0, 1])
    >>> p
    Perceptron(n_inputs=2, n_outputs=1, lr=1.0)
    """

    def __init__(self, n_inputs: int, n_outputs: int = 1, lr: float = 1.0, weight: ArrayLike | None = None,
                 bias: ArrayLike | None = None) -> None:
        self.n_inputs = _memory.check_dim("n_inputs", check_int("n_inputs", n_inputs, minimum=1))
        self.n_outputs = _memory.check_dim("n_outputs", check_int("n_outputs", n_outputs, minimum=1))
        self.lr = check_real("lr", lr, minimum=0.0, min_open=True)
        _memory.check_alloc((self.n_inputs + 1) * self.n_outputs * 8,
                            f"the weights of Perceptron({self.n_inputs}, {self.n_outputs})")
        self.weight = self._initial("weight", weight, (self.n_outputs, self.n_inputs))
        self.bias = self._initial("bias", bias, (self.n_outputs,))
        self._initial_arrays = (weight, bias)  # as given: get_params returns them (scikit-learn's clone)
        self.errors_: list[int] = []  # mistakes per epoch of the last fit

    @staticmethod
    def _initial(name: str, value: ArrayLike | None, shape: tuple[int, ...]) -> FloatArray:
        """Zeros of ``shape``, or ``value`` as a float64 array of that shape, finite."""
        if value is None:
            return np.zeros(shape)
        arr = as_float_array(name, value)
        if len(shape) == 1:
            arr = arr.reshape(-1)
        if arr.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinity")
        return arr

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments, as scikit-learn's ``get_params`` (what ``sklearn.base.clone`` needs).

        Parameters
        ----------
        deep : bool, default True
            Ignored (a perceptron holds no estimators); scikit-learn passes it.

        Returns
        -------
        dict
            ``n_inputs``, ``n_outputs``, ``lr``, and ``weight`` and ``bias``
            as they were given (the initial values, None for zeros), not the
            trained ones (:attr:`weight`, :attr:`bias`).
        """
        weight, bias = self._initial_arrays
        return {"n_inputs": self.n_inputs, "n_outputs": self.n_outputs, "lr": self.lr, "weight": weight, "bias": bias}

    def set_params(self, **params: Any) -> Perceptron:
        """Change constructor arguments, as scikit-learn's ``set_params``: the perceptron starts over.

        Parameters
        ----------
        **params : dict
            Any of the constructor's arguments; the others keep their
            values.  Weights and biases return to their initial values.

        Returns
        -------
        Perceptron
            ``self``.

        Raises
        ------
        TypeError, ValueError
            For an unknown parameter, or a value the constructor refuses;
            the perceptron is then unchanged.
        """
        merged = self.get_params()
        unknown = sorted(set(params) - set(merged))
        if unknown:
            raise ValueError(f"invalid parameter {unknown[0]!r} for Perceptron; valid parameters: "
                             f"{', '.join(merged)}")
        merged.update(params)
        fresh = Perceptron(**merged)
        self.__dict__.update(fresh.__dict__)
        return self

    def __repr__(self) -> str:
        return f"Perceptron(n_inputs={self.n_inputs}, n_outputs={self.n_outputs}, lr={self.lr!r})"

    def _check_X(self, X: ArrayLike) -> FloatArray:
        X = as_array("X", X)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"X must have shape (n_samples, {self.n_inputs}), got {X.shape}")
        X = np.require(X, dtype=np.float64, requirements=("C", "A"))  # contiguous, aligned
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinity")
        return X

    def _check_targets(self, d: ArrayLike, n_samples: int) -> FloatArray:
        d = as_float_array("d", d)
        if d.ndim == 1:
            d = d.reshape(-1, 1)
        if d.shape != (n_samples, self.n_outputs):
            raise ValueError(f"d (the targets) must have shape ({n_samples}, {self.n_outputs}), got {d.shape}")
        if not np.all((d == 0) | (d == 1)):
            raise ValueError("d (the perceptron's targets) must be 0 or 1")
        return d

    def net_input(self, X: ArrayLike) -> FloatArray:
        """Compute the net input ``W x + b`` of each unit for each sample (the compiled dense kernel).

        Parameters
        ----------
        X : array_like
            Samples, shape (n_samples, n_inputs), or one sample (n_inputs,).

        Returns
        -------
        numpy.ndarray
            The net inputs, float64, shape (n_samples, n_outputs).
        """
        X = self._check_X(X)
        out = np.empty((X.shape[0], self.n_outputs))
        _core.dense_forward(X, self.weight, self.bias, out, 0, 0.0)
        return out

    def predict(self, X: ArrayLike) -> IntArray:
        """Classify samples: ``Y = step(W x + b)``, 1 where the net input is >= 0, else 0.

        Parameters
        ----------
        X : array_like
            Samples, shape (n_samples, n_inputs), or one sample (n_inputs,).

        Returns
        -------
        numpy.ndarray
            The 0/1 outputs (int64), shape (n_samples,) for one unit, else (n_samples, n_outputs).
        """
        Y = (self.net_input(X) >= 0).astype(np.int64)
        return Y[:, 0] if self.n_outputs == 1 else Y

    def fit(self, X: ArrayLike, d: ArrayLike, epochs: int = 100, shuffle: bool = False,
            seed: int | np.random.Generator | None = None) -> Perceptron:
        """Apply the perceptron rule sample by sample, stopping after an epoch with no mistake.

        Parameters
        ----------
        X : array_like
            Training samples, shape (n_samples, n_inputs).
        d : array_like
            Their 0/1 targets, shape (n_samples, n_outputs), or (n_samples,)
            for one unit.
        epochs : int, default 100
            The most passes over the samples, >= 0.
        shuffle : bool, default False
            Present the samples in a new random order each epoch (else in order).
        seed : int, numpy.random.Generator or None, optional
            Seeds the shuffling.

        Returns
        -------
        Perceptron
            ``self``, trained; ``errors_`` lists the mistakes per epoch.

        Raises
        ------
        TypeError
            If an argument has the wrong type (the message names it).
        ValueError
            If an argument has an unusable value: shapes that do not match,
            targets other than 0 and 1, values that are not finite.
        """
        epochs = check_int("epochs", epochs, minimum=0)
        shuffle = check_bool("shuffle", shuffle)
        seed = check_seed(seed)
        X = self._check_X(X)
        d = self._check_targets(d, X.shape[0])
        rng = np.random.default_rng(seed)
        order = np.arange(X.shape[0])
        self.errors_ = []
        for _ in range(epochs):
            if shuffle:
                rng.shuffle(order)
            self.errors_.append(self._epoch(X, d, order))
            if self.errors_[-1] == 0:
                break
        return self

    def _epoch(self, X: FloatArray, d: FloatArray, order: np.ndarray) -> int:
        """Present every sample once in ``order``; returns the number of mistakes."""
        mistakes = 0
        for i in order:
            x = X[i]
            y = (self.weight @ x + self.bias >= 0).astype(np.float64)
            err = d[i] - y  # d(n) - Y(n)
            if np.any(err):
                mistakes += 1
                self.weight += self.lr * np.outer(err, x)  # eta [d - Y] X
                self.bias += self.lr * err  # the bias: a weight on input 1
        return mistakes

    def score(self, X: ArrayLike, d: ArrayLike) -> float:
        """Compute the fraction of samples classified correctly.

        Parameters
        ----------
        X : array_like
            Samples, shape (n_samples, n_inputs).
        d : array_like
            Their 0/1 targets, shaped as :meth:`fit` takes them.

        Returns
        -------
        float
            The fraction of samples whose every output is right.
        """
        pred = self.predict(X)
        d = as_array("d", d)
        if d.size != pred.size:
            raise ValueError(f"d must hold {pred.size} targets ({len(pred)} samples x {self.n_outputs} outputs), "
                             f"got shape {d.shape}")
        d = d.reshape(pred.shape)
        return float(np.mean(np.all((pred == d).reshape(len(pred), -1), axis=1)))
