"""Losses, each with its gradient, on the compiled kernels.

Every loss averages over the samples of a batch.  Cross-entropy takes the
output layer's logits and fuses the softmax (or, for binary cross-entropy,
the sigmoid) with the loss, which is both stable and cheap: the gradient
with respect to the logits is simply (P - Y) / n.
"""

from __future__ import annotations

import numpy as np

from . import _core

__all__ = ["BinaryCrossEntropy", "CrossEntropy", "HalfSquaredError", "Loss", "MSE", "get_loss"]


class Loss:
    """Base class.  ``fused_activation`` names the output activation that the
    loss applies itself (it then receives the logits), or is None."""

    name = "loss"
    fused_activation = None

    def prepare_targets(self, y, n_outputs, dtype):
        """Targets as the kernels want them, checked against the model."""
        y = np.asarray(y)
        if y.dtype.kind not in "fiub":
            raise TypeError(f"targets must be numeric, got dtype {y.dtype}")
        if y.ndim == 1 and n_outputs == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[1] != n_outputs:
            raise ValueError(f"targets must have shape (n_samples, {n_outputs}) for this model, got {y.shape}")
        y = np.ascontiguousarray(y, dtype=dtype)
        if not _core.all_finite(y.reshape(-1)):
            raise ValueError("targets contain NaN or infinity")
        return y

    def __call__(self, output, target, grad_out):
        """The loss of a batch; writes d loss / d output into grad_out."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class HalfSquaredError(Loss):
    """The lecture notes' error E = 1/2 sum_k (t_k - y_k)^2 per sample,
    averaged over the batch (for one sample it is exactly the notes' E)."""

    name = "half_squared_error"

    def __call__(self, output, target, grad_out):
        return _core.half_squared_error(output, target, grad_out)


class MSE(Loss):
    """Mean squared error over all outputs and samples."""

    name = "mse"

    def __call__(self, output, target, grad_out):
        return _core.mse(output, target, grad_out)


class CrossEntropy(Loss):
    """Categorical cross-entropy with the softmax fused in (from logits).

    Targets: integer class labels (n_samples,) or rows of class
    probabilities such as one-hot (n_samples, n_classes).
    """

    name = "cross_entropy"
    fused_activation = "softmax"

    def prepare_targets(self, y, n_outputs, dtype):
        y = np.asarray(y)
        if y.ndim == 1:
            if y.dtype.kind == "f":
                if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                    raise ValueError("class labels must be whole numbers")
            elif y.dtype.kind not in "iub":
                raise TypeError(f"class labels must be integers, got dtype {y.dtype}")
            labels = np.ascontiguousarray(y, dtype=np.int64)
            if labels.size and (labels.min() < 0 or labels.max() >= n_outputs):
                raise ValueError(
                    f"class labels must lie in [0, {n_outputs}) for a model with {n_outputs} outputs, "
                    f"got values in [{labels.min()}, {labels.max()}]"
                )
            return labels
        return super().prepare_targets(y, n_outputs, dtype)

    def __call__(self, logits, target, grad_out):
        return self.loss_and_correct(logits, target, grad_out)[0]

    def loss_and_correct(self, logits, target, grad_out):
        """The loss and how many rows' largest logit is the target class,
        both from the one pass of the fused kernel."""
        if target.ndim == 1:
            return _core.softmax_cross_entropy(logits, target, None, grad_out, True)
        return _core.softmax_cross_entropy(logits, None, target, grad_out, True)


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy with the sigmoid fused in (from logits), averaged
    over all outputs and samples; targets in [0, 1]."""

    name = "binary_cross_entropy"
    fused_activation = "sigmoid"

    def prepare_targets(self, y, n_outputs, dtype):
        y = super().prepare_targets(y, n_outputs, dtype)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError("binary cross-entropy targets must lie in [0, 1]")
        return y

    def __call__(self, logits, target, grad_out):
        return _core.sigmoid_binary_cross_entropy(logits, target, grad_out)


_LOSSES = {cls.name: cls for cls in (HalfSquaredError, MSE, CrossEntropy, BinaryCrossEntropy)}


def get_loss(loss) -> Loss:
    """A Loss from a name ("half_squared_error", "mse", "cross_entropy",
    "binary_cross_entropy") or a Loss instance."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in _LOSSES:
        return _LOSSES[loss]()
    raise ValueError(f"unknown loss {loss!r}; expected a Loss or one of {', '.join(_LOSSES)}")
