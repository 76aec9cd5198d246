"""scikit-learn's MLP losses, scaled as it scales them, as fastnn losses.

scikit-learn's losses and the gradients it propagates (``_base.py`` and
``_backprop`` in ``sklearn.neural_network``), for a batch of ``n`` samples
with ``k`` outputs, optionally weighted (``w``, summing to ``s``; ``s = n``
without weights):

- log loss, softmax output: ``-sum_i w_i sum_j y_ij log p_ij / s``, gradient
  ``w_i (p_i - y_i) / s`` (unweighted, fastnn's own
  :class:`fastnn.CrossEntropy` is the same and is used instead);
- log loss, logistic outputs (binary and multilabel): summed over the
  outputs, averaged over the samples (fastnn's binary cross-entropy
  averages over the outputs too: rescaled here by ``k``);
- squared error: ``mean((y - p)^2) / 2`` over samples and outputs, but the
  gradient ``(p - y) / n`` of the sum over outputs (fastnn's
  half_squared_error: the same gradient; its value divided by ``k`` here);
- Poisson: the half deviance ``sum_j mean_i(y log(y / p) - y + p)`` with
  ``p = exp(z)``, gradient ``(p - y) / n``.

Each loss takes the logits (``fused_activation``), except the squared
error, which takes the identity output.  scikit-learn clips probabilities to
``[eps, 1 - eps]`` in the loss's value; fastnn's unweighted kernels compute
it from the logits, which differs only where scikit-learn's clipping bites
(a probability within machine epsilon of 0 or 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from scipy.special import expit, xlogy

from .. import _core
from ..nn.losses import Loss

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = ["LogisticLogLoss", "PoissonLoss", "SoftmaxLogLoss", "SquaredError", "WeightedLoss"]


def _clipped(P: FloatArray) -> FloatArray:
    eps = np.finfo(P.dtype).eps
    return np.clip(P, eps, 1 - eps)


class WeightedLoss(Loss):
    """A loss of scikit-learn's MLP; the estimator sets :attr:`weights` before each step.

    Attributes
    ----------
    weights : numpy.ndarray or None
        The batch's sample weights, (n,) of the model's dtype; None for none.
    """

    name: ClassVar[str] = "sklearn_loss"

    def __init__(self) -> None:
        self.weights: FloatArray | None = None

    def row_scale(self, n: int) -> FloatArray | float:
        """What multiplies each row of ``p - y``: ``w_i / s``, or ``1 / n`` without weights.

        Parameters
        ----------
        n : int
            Rows in the batch.

        Returns
        -------
        numpy.ndarray or float
            (n, 1) factors, or one.
        """
        if self.weights is None:
            return 1.0 / n
        scale: FloatArray = (self.weights / self.weights.sum())[:, None]
        return scale


class SoftmaxLogLoss(WeightedLoss):
    """Log loss of a softmax output (used with sample weights)."""

    name = "sklearn_softmax_log_loss"
    fused_activation = "softmax"

    def __call__(self, logits: FloatArray, target: np.ndarray, grad_out: FloatArray) -> float:
        """Return the batch's loss; write d loss / d logits into ``grad_out``."""
        _core.softmax(logits, grad_out)  # the probabilities, then the gradient in place
        value = -np.average(xlogy(target, _clipped(grad_out)), weights=self.weights, axis=0).sum()
        grad_out -= target
        grad_out *= self.row_scale(len(grad_out))
        return float(value)


class LogisticLogLoss(WeightedLoss):
    """Log loss of logistic outputs, summed over the outputs (binary and multilabel).

    Parameters
    ----------
    n_outputs : int
        The outputs ``k``.
    """

    name = "sklearn_logistic_log_loss"
    fused_activation = "sigmoid"

    def __init__(self, n_outputs: int) -> None:
        super().__init__()
        self.n_outputs = n_outputs

    def __call__(self, logits: FloatArray, target: np.ndarray, grad_out: FloatArray) -> float:
        """Return the batch's loss; write d loss / d logits into ``grad_out``."""
        k = self.n_outputs
        if self.weights is None:  # fastnn's kernel averages over the outputs as well
            value = _core.sigmoid_binary_cross_entropy(logits, target, grad_out)
            if k > 1:
                grad_out *= k
            return value * k
        expit(logits, out=grad_out)
        P = _clipped(grad_out)
        value = -np.average(xlogy(target, P) + xlogy(1 - target, 1 - P), weights=self.weights, axis=0).sum()
        grad_out -= target
        grad_out *= self.row_scale(len(grad_out))
        return float(value)


class SquaredError(WeightedLoss):
    """Half the squared error, its value averaged over the outputs and its gradient not.

    Parameters
    ----------
    n_outputs : int
        The outputs ``k``.
    """

    name = "sklearn_squared_error"

    def __init__(self, n_outputs: int) -> None:
        super().__init__()
        self.n_outputs = n_outputs

    def __call__(self, output: FloatArray, target: np.ndarray, grad_out: FloatArray) -> float:
        """Return the batch's loss; write d loss / d output into ``grad_out``."""
        if self.weights is None:
            return _core.half_squared_error(output, target, grad_out) / self.n_outputs
        np.subtract(output, target, out=grad_out)
        value = 0.5 * np.average(grad_out ** 2, weights=self.weights, axis=0).mean()
        grad_out *= self.row_scale(len(grad_out))
        return float(value)


class PoissonLoss(WeightedLoss):
    """Half the Poisson deviance of ``exp(z)``."""

    name = "sklearn_poisson"
    fused_activation = "exp"

    def __call__(self, logits: FloatArray, target: np.ndarray, grad_out: FloatArray) -> float:
        """Return the batch's loss; write d loss / d logits into ``grad_out``."""
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            np.exp(logits, out=grad_out)
            value = np.average(xlogy(target, target / grad_out) - target + grad_out, weights=self.weights,
                               axis=0).sum()
        grad_out -= target
        grad_out *= self.row_scale(len(grad_out))
        return float(value)
