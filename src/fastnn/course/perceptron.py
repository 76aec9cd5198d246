"""The perceptron learning rule of the lecture notes (file 001):

    W(n+1) = W(n) + eta [d(n) - Y(n)] X(n)

for a layer of threshold units Y = step(W x + b) (binary step: 1 if the net
input is >= 0, else 0), the bias learning with the same rule as a weight on
a constant input 1.  Samples are presented one at a time, in order (or
shuffled with a seed), for a number of epochs or until an epoch makes no
mistake.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import _core, _memory
from .._validation import as_float_array as float_values
from .._validation import check_seed

__all__ = ["Perceptron"]


class Perceptron:
    """A single layer of step units trained with the perceptron rule.

    Parameters
    ----------
    n_inputs : int
    n_outputs : int, default 1
    lr : float
        eta in the notes' rule.
    weight, bias : arrays, optional
        Initial values (zeros by default, as a hand-worked example would).
    """

    def __init__(self, n_inputs, n_outputs=1, lr=1.0, weight=None, bias=None):
        for name, v in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0 or not np.isfinite(lr):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        self.n_inputs, self.n_outputs, self.lr = int(n_inputs), int(n_outputs), float(lr)
        _memory.check_dim("n_inputs", self.n_inputs)
        _memory.check_dim("n_outputs", self.n_outputs)
        _memory.check_alloc((self.n_inputs + 1) * self.n_outputs * 8,
                            f"the weights of Perceptron({self.n_inputs}, {self.n_outputs})")
        self.weight = np.zeros((self.n_outputs, self.n_inputs)) if weight is None else float_values("weight", weight)
        self.bias = np.zeros(self.n_outputs) if bias is None else float_values("bias", bias).reshape(-1)
        if self.weight.shape != (self.n_outputs, self.n_inputs):
            raise ValueError(f"weight must have shape ({self.n_outputs}, {self.n_inputs}), got {self.weight.shape}")
        if self.bias.shape != (self.n_outputs,):
            raise ValueError(f"bias must have shape ({self.n_outputs},), got {self.bias.shape}")
        for name, arr in (("weight", self.weight), ("bias", self.bias)):
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} contains NaN or infinity")
        self.errors_ = []  # mistakes per epoch of the last fit

    def _check_X(self, X):
        try:
            X = np.asarray(X)
        except (ValueError, TypeError) as e:  # e.g. a ragged nested list
            raise TypeError(f"X must be an array of numbers: {e}") from None
        if X.dtype.kind not in "fiub":
            raise TypeError(f"X must be numeric, got dtype {X.dtype}")
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"X must have shape (n_samples, {self.n_inputs}), got {X.shape}")
        X = np.require(X, dtype=np.float64, requirements=("C", "A"))  # contiguous, aligned
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinity")
        return X

    def net_input(self, X):
        """W x + b for each sample (the compiled dense kernel)."""
        X = self._check_X(X)
        out = np.empty((X.shape[0], self.n_outputs))
        _core.dense_forward(X, self.weight, self.bias, out, 0, 0.0)
        return out

    def predict(self, X):
        """Y = step(W x + b): 1 where the net input is >= 0, else 0."""
        Y = (self.net_input(X) >= 0).astype(np.int64)
        return Y[:, 0] if self.n_outputs == 1 else Y

    def fit(self, X, d, epochs=100, shuffle=False, seed=None):
        """Apply the rule sample by sample; stop early after an epoch with
        no mistakes.  Returns self; ``errors_`` lists mistakes per epoch."""
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 0:
            raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
        seed = check_seed(seed)
        X = self._check_X(X)
        d = float_values("d", d)
        if d.ndim == 1:
            d = d.reshape(-1, 1)
        if d.shape != (X.shape[0], self.n_outputs):
            raise ValueError(f"targets must have shape ({X.shape[0]}, {self.n_outputs}), got {d.shape}")
        if not np.all((d == 0) | (d == 1)):
            raise ValueError("perceptron targets must be 0 or 1")
        d = d.astype(np.float64)
        rng = np.random.default_rng(seed)
        order = np.arange(X.shape[0])
        self.errors_ = []
        for _ in range(epochs):
            if shuffle:
                rng.shuffle(order)
            mistakes = 0
            for i in order:
                x = X[i]
                y = (self.weight @ x + self.bias >= 0).astype(np.float64)
                err = d[i] - y  # d(n) - Y(n)
                if np.any(err):
                    mistakes += 1
                    self.weight += self.lr * np.outer(err, x)  # eta [d - Y] X
                    self.bias += self.lr * err  # the bias: a weight on input 1
            self.errors_.append(mistakes)
            if mistakes == 0:
                break
        return self

    def score(self, X, d):
        """Fraction of samples classified correctly."""
        pred = self.predict(X)
        d = np.asarray(d).reshape(pred.shape)
        return float(np.mean(np.all((pred == d).reshape(len(pred), -1), axis=1)))
