"""Losses, each with its gradient, on the compiled kernels.

Every loss averages over the samples of a batch.  Cross-entropy takes the
output layer's logits and fuses the softmax (or, for binary cross-entropy,
the sigmoid) with the loss, which is both stable and cheap: the gradient
with respect to the logits is simply (P - Y) / n.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .. import _core

if TYPE_CHECKING:
    from .._typing import ArrayLike, DTypeLike, FloatArray

__all__ = ["MSE", "BinaryCrossEntropy", "CrossEntropy", "HalfSquaredError", "Loss", "get_loss"]


def _targets_array(y: ArrayLike) -> np.ndarray:
    try:
        return np.asarray(y)
    except (ValueError, TypeError) as e:  # e.g. a ragged nested list
        raise TypeError(f"targets y must be an array of numbers: {e}") from None


class Loss:
    """Base class of the losses.

    Attributes
    ----------
    name : str
        The name :func:`get_loss` and the trainer know the loss by.
    fused_activation : str or None
        The output activation the loss applies itself ("softmax",
        "sigmoid"): it then receives the logits.  None for losses of the
        output itself.
    """

    name: ClassVar[str] = "loss"
    fused_activation: ClassVar[str | None] = None

    def prepare_targets(self, y: ArrayLike, n_outputs: int, dtype: DTypeLike) -> np.ndarray:
        """Check targets against the model and convert them as the kernels want them.

        Parameters
        ----------
        y : array
            The targets, (n_samples, n_outputs) (or (n_samples,) for one output).
        n_outputs : int
            The model's outputs per sample.
        dtype : numpy.dtype
            The model's dtype.

        Returns
        -------
        numpy.ndarray
            C-contiguous targets of the model's dtype.

        Raises
        ------
        TypeError
            For targets that are not numeric.
        ValueError
            For a wrong shape, NaN or infinity.
        """
        y = _targets_array(y)
        if y.dtype.kind not in "fiub":
            raise TypeError(f"targets must be numeric, got dtype {y.dtype}")
        if y.ndim == 1 and n_outputs == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[1] != n_outputs:
            raise ValueError(f"targets must have shape (n_samples, {n_outputs}) for this model, got {y.shape}")
        y = np.require(y, dtype=dtype, requirements=("C", "A"))  # contiguous, aligned
        if not _core.all_finite(y.reshape(-1)):
            raise ValueError("targets contain NaN or infinity")
        return y

    def __call__(self, output: FloatArray, target: np.ndarray, grad_out: FloatArray) -> float:
        """The loss of a batch; writes d loss / d output into grad_out."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class HalfSquaredError(Loss):
    """The lecture notes' error E = 1/2 sum_k (t_k - y_k)^2 per sample, averaged over the batch.

    For one sample it is exactly the notes' E.
    """

    name = "half_squared_error"

    def __call__(self, output: FloatArray, target: np.ndarray, grad_out: FloatArray) -> float:
        """Return the loss of a batch; write d loss / d output into ``grad_out``."""
        _check_call(output, target, grad_out)
        return _core.half_squared_error(output, target, grad_out)


class MSE(Loss):
    """Mean squared error over all outputs and samples."""

    name = "mse"

    def __call__(self, output: FloatArray, target: np.ndarray, grad_out: FloatArray) -> float:
        """Return the loss of a batch; write d loss / d output into ``grad_out``."""
        _check_call(output, target, grad_out)
        return _core.mse(output, target, grad_out)


class CrossEntropy(Loss):
    """Categorical cross-entropy with the softmax fused in (from logits).

    Targets: integer class labels (n_samples,) or rows of class
    probabilities such as one-hot (n_samples, n_classes).
    """

    name = "cross_entropy"
    fused_activation = "softmax"

    def prepare_targets(self, y: ArrayLike, n_outputs: int, dtype: DTypeLike) -> np.ndarray:
        """Check and convert targets: int64 class labels (n,), or rows like the output."""
        y = _targets_array(y)
        if y.ndim == 1:
            if y.dtype.kind == "f":
                if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
                    raise ValueError("class labels must be whole numbers")
            elif y.dtype.kind not in "iub":
                raise TypeError(f"class labels must be integers, got dtype {y.dtype}")
            labels = np.require(y, dtype=np.int64, requirements=("C", "A"))
            if labels.size and (labels.min() < 0 or labels.max() >= n_outputs):
                raise ValueError(
                    f"class labels must lie in [0, {n_outputs}) for a model with {n_outputs} outputs, "
                    f"got values in [{labels.min()}, {labels.max()}]"
                )
            return labels
        return super().prepare_targets(y, n_outputs, dtype)

    def __call__(self, logits: FloatArray, target: np.ndarray, grad_out: FloatArray) -> float:
        """Return the loss of a batch of logits; write d loss / d logits into ``grad_out``."""
        return self.loss_and_correct(logits, target, grad_out)[0]

    def loss_and_correct(self, logits: FloatArray, target: np.ndarray,
                         grad_out: FloatArray) -> tuple[float, int]:
        """Compute the loss and count the rows classified right, in one pass of the fused kernel.

        Parameters
        ----------
        logits : numpy.ndarray
            The output layer's logits, (n, k), C-contiguous float32/float64.
        target : numpy.ndarray
            Int64 class labels (n,), or rows (n, k) like ``logits``.
        grad_out : numpy.ndarray
            Receives d loss / d logits, like ``logits``.

        Returns
        -------
        loss : float
            The mean cross-entropy.
        correct : int
            Rows whose largest logit is the target class.
        """
        _check_call(logits, target, grad_out, labels=True)
        if target.ndim == 1:
            return _core.softmax_cross_entropy(logits, target, None, grad_out, True)
        return _core.softmax_cross_entropy(logits, None, target, grad_out, True)


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy with the sigmoid fused in (from logits).

    Averaged over all outputs and samples; targets in [0, 1].
    """

    name = "binary_cross_entropy"
    fused_activation = "sigmoid"

    def prepare_targets(self, y: ArrayLike, n_outputs: int, dtype: DTypeLike) -> np.ndarray:
        """Check and convert targets like the output, each in [0, 1]."""
        y = super().prepare_targets(y, n_outputs, dtype)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError("binary cross-entropy targets must lie in [0, 1]")
        return y

    def __call__(self, logits: FloatArray, target: np.ndarray, grad_out: FloatArray) -> float:
        """Return the loss of a batch of logits; write d loss / d logits into ``grad_out``."""
        _check_call(logits, target, grad_out)
        return _core.sigmoid_binary_cross_entropy(logits, target, grad_out)


def _check_call(output: Any, target: Any, grad_out: Any, labels: bool = False) -> None:
    """TypeError/ValueError naming the argument of Loss.__call__ that the kernels cannot take.

    (they need C-contiguous 2-D float arrays of one dtype, grad_out writable, and target int64
    labels or a matrix like output).
    """
    if not isinstance(output, np.ndarray) or output.dtype not in (np.float32, np.float64) or output.ndim != 2:
        raise TypeError(f"output must be a 2-D float32/float64 numpy array, got {_desc(output)}")
    if not isinstance(grad_out, np.ndarray) or grad_out.dtype != output.dtype or grad_out.shape != output.shape:
        raise TypeError(f"grad_out must be a numpy array like output ({output.dtype}, {output.shape}), "
                        f"got {_desc(grad_out)}")
    if not grad_out.flags.writeable:
        raise ValueError("grad_out is read-only; it must be writable")
    if not isinstance(target, np.ndarray):
        raise TypeError(f"target must be a numpy array, got {type(target).__name__}")
    if labels and target.ndim == 1:
        if target.dtype != np.int64 or target.shape != output.shape[:1]:
            raise TypeError(f"target labels must be int64 of shape {output.shape[:1]}, got {_desc(target)}")
    elif target.dtype != output.dtype or target.shape != output.shape:
        raise TypeError(f"target must be a numpy array like output ({output.dtype}, {output.shape}), "
                        f"got {_desc(target)}")
    for name, arr in (("output", output), ("target", target), ("grad_out", grad_out)):
        if not (arr.flags.c_contiguous and arr.flags.aligned):
            raise ValueError(f"{name} must be C-contiguous and aligned (not a view at an odd byte offset)")


def _desc(a: Any) -> str:
    return f"{a.dtype} array of shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__


_LOSSES = {cls.name: cls for cls in (HalfSquaredError, MSE, CrossEntropy, BinaryCrossEntropy)}


def get_loss(loss: str | Loss) -> Loss:
    """Return a loss from its name, or the loss object itself.

    Parameters
    ----------
    loss : str or Loss
        "half_squared_error", "mse", "cross_entropy", "binary_cross_entropy",
        or a Loss instance (returned as it is).

    Returns
    -------
    Loss
        A new loss object for a name.

    Raises
    ------
    TypeError
        For anything else than a name or a Loss.
    ValueError
        For an unknown name.
    """
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a fastnn Loss or one of {', '.join(_LOSSES)}; got {type(loss).__name__}")
    if loss not in _LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected a Loss or one of {', '.join(_LOSSES)}")
    return _LOSSES[loss]()
