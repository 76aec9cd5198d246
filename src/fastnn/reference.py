"""Pure-NumPy reference implementation of fastnn's kernels (the test oracle).

Everything here is written for clarity, not speed: each function is a direct
transcription of a formula from the lecture notes in ``shared/seeds/`` (cited
by file number, e.g. "notes 004"), so that a reader can check it line by line.
The compiled module :mod:`fastnn.kernels` has the same functions with the same
names and positional signatures (plus keyword-only extras) and is tested
against this module.

Conventions (as in the notes and in ``csrc/fastnn.h``):

* weights ``W`` have shape ``(out_features, in_features)``, so one sample is
  ``z = W x + b`` (notes 004: "f(x) = g(W . x + b) ... W becomes a matrix and
  b a vector"; notes 002: ``z_h1 = x1 w1 + x2 w2 + b1``);
* a batch ``X`` has shape ``(n_samples, in_features)``, one sample per row,
  so the batched forward pass is ``Z = X @ W.T + b``;
* arithmetic is done in the inputs' floating dtype (float32 or float64);
  other inputs (integers, lists) are converted to float64;
* loss values are returned as Python floats;
* arguments are checked by :mod:`fastnn._validation` (pure Python and
  NumPy, like this module): a wrong type raises TypeError, a wrong value
  ValueError, naming the argument.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import as_array, check_bool, check_choice, check_image_shape, check_instance, check_int, check_real

if TYPE_CHECKING:
    from ._typing import ArrayLike, FloatArray

__all__ = [
    "ACTIVATIONS",
    "activation",
    "activation_derivative",
    "adam_step",
    "dense_backward",
    "dense_backward_sgd",
    "dense_forward",
    "half_squared_error",
    "mse",
    "network_forward",
    "network_gradients",
    "sgd_step",
    "sgd_update",
    "shift_images",
    "sigmoid_binary_cross_entropy",
    "softmax",
    "softmax_cross_entropy",
]

#: Names of the supported element-wise activations (notes 001 and 004).
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus")

#: The losses :func:`network_gradients` takes.
_LOSSES = ("half_squared_error", "mse", "cross_entropy", "binary_cross_entropy")


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------

def _float_array(x: ArrayLike, name: str) -> FloatArray:
    """Return ``x`` as an ndarray of float32/float64 (other real numbers become float64)."""
    x = as_array(name, x)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    return x


def _common(*named: tuple[str, ArrayLike]) -> list[FloatArray]:
    """Convert ``(name, array)`` pairs to one common floating dtype."""
    arrays = [_float_array(a, n) for n, a in named]
    dtype = np.result_type(*arrays)
    return [a.astype(dtype, copy=False) for a in arrays]


def _check_ndim(x: np.ndarray, ndim: int, name: str) -> None:
    """Raise ValueError unless ``x`` has ``ndim`` dimensions."""
    if x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {x.shape}")


def _check_activation(name: str, slope: float) -> None:
    """Check an activation name and the leaky_relu slope."""
    check_choice("activation", name, ACTIVATIONS)
    check_real("slope", slope, minimum=0)


def _check_writable(x: object, name: str) -> None:
    """Raise unless ``x`` is a float ndarray that can be updated in place."""
    arr = check_instance(name, x, np.ndarray, "a numpy array (it is updated in place)")
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: must have dtype float32 or float64 (it is updated in place), got {arr.dtype}")
    if not arr.flags.writeable:
        raise ValueError(f"{name}: array is read-only (it is updated in place)")


# --------------------------------------------------------------------------
# activations
# --------------------------------------------------------------------------

def _sigmoid(Z: FloatArray) -> FloatArray:
    """Compute sigma(z) = 1 / (1 + e^{-z}) (notes 004) without overflow.

    For z >= 0 use 1 / (1 + e^{-z}); for z < 0 the algebraically equal
    e^{z} / (1 + e^{z}).  Both only ever exponentiate -|z| <= 0.
    """
    e = np.exp(-np.abs(Z))  # in [0, 1], never overflows
    one = Z.dtype.type(1)
    s: FloatArray = np.where(Z >= 0, one / (one + e), e / (one + e))
    return s


def activation(name: str, Z: ArrayLike, slope: float = 0.01) -> FloatArray:
    """Apply an element-wise activation function ``A = g(Z)``.

    Formulas (notes 004 "ACTIVATION FUNCTIONS"; notes 001 "Activation
    Function types"):

    * ``identity``:   g(z) = z
    * ``sigmoid``:    g(z) = 1 / (1 + e^{-z})  (computed stably, see _sigmoid)
    * ``tanh``:       g(z) = tanh(z)
    * ``relu``:       g(z) = max(0, z)
    * ``leaky_relu``: g(z) = eps z + (1 - eps) max(0, z), i.e. z if z > 0
      else eps z, with eps = ``slope`` >= 0
    * ``softplus`` ("soft ReLU"): g(z) = log(1 + e^{z}), computed as
      ``logaddexp(0, z)`` so that large z neither overflows nor loses bits.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.
    Z : array_like
        The pre-activations, of any shape (integers are converted to float64).
    slope : float, default 0.01
        The leaky_relu slope eps (>= 0); the other activations ignore it.

    Returns
    -------
    numpy.ndarray
        ``g(Z)``, a new array of the shape and floating dtype of `Z`.

    Raises
    ------
    TypeError
        For a non-string `name`, a non-numeric `Z` or a `slope` that is not a
        real number.
    ValueError
        For a `name` not in :data:`ACTIVATIONS` or a negative or non-finite
        `slope`.
    """
    _check_activation(name, slope)
    Z = _float_array(Z, "Z")
    t = Z.dtype.type
    A: FloatArray
    if name == "identity":
        A = Z.copy()
    elif name == "sigmoid":
        A = _sigmoid(Z)
    elif name == "tanh":
        A = np.tanh(Z)
    elif name == "relu":
        A = np.where(Z <= 0, t(0), Z)  # NaN stays NaN
    elif name == "leaky_relu":
        A = np.where(Z > 0, Z, t(slope) * Z)
    else:  # softplus
        A = np.logaddexp(t(0), Z)
    return A


_activation_function = activation  # for functions whose argument shadows it


def activation_derivative(name: str, A: ArrayLike, slope: float = 0.01) -> FloatArray:
    """Compute ``g'(z)`` in terms of the activation's OUTPUT ``A = g(z)``.

    The forward pass keeps only A, so each derivative is expressed through it:

    * ``identity``:   g'(z) = 1
    * ``sigmoid``:    g'(z) = sigma(z) (1 - sigma(z)) = A (1 - A)
      (notes 002: "Sigmoid(z) * (1 - Sigmoid(z)) = y_hat * (1 - y_hat)")
    * ``tanh``:       g'(z) = 1 - tanh(z)^2 = 1 - A^2
    * ``relu``:       g'(z) = 1 if z > 0 else 0; since A > 0 <=> z > 0 this
      is ``A > 0`` (the derivative at the kink z = 0 is taken to be 0)
    * ``leaky_relu``: 1 if A > 0 else eps (for eps >= 0, A > 0 <=> z > 0)
    * ``softplus``:   g'(z) = sigma(z) = 1 - e^{-A}, because
      e^{A} = 1 + e^{z} gives 1 - e^{-A} = e^{z} / (1 + e^{z});
      computed as ``-expm1(-A)`` to keep precision when A is tiny.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.
    A : array_like
        The activation's output, of any shape (integers are converted to float64).
    slope : float, default 0.01
        The leaky_relu slope eps (>= 0); the other activations ignore it.

    Returns
    -------
    numpy.ndarray
        ``g'(z)``, a new array of the shape and floating dtype of `A`.

    Raises
    ------
    TypeError
        For a non-string `name`, a non-numeric `A` or a `slope` that is not a
        real number.
    ValueError
        For a `name` not in :data:`ACTIVATIONS` or a negative or non-finite
        `slope`.
    """
    _check_activation(name, slope)
    A = _float_array(A, "A")
    t = A.dtype.type
    D: FloatArray
    if name == "identity":
        D = np.ones_like(A)
    elif name == "sigmoid":
        D = A * (t(1) - A)
    elif name == "tanh":
        D = t(1) - A * A
    elif name == "relu":
        D = (A > 0).astype(A.dtype)
    elif name == "leaky_relu":
        D = np.where(A > 0, t(1), t(slope)).astype(A.dtype)
    else:  # softplus
        D = -np.expm1(-A)
    return D


# --------------------------------------------------------------------------
# dense layer
# --------------------------------------------------------------------------

def dense_forward(X: ArrayLike, W: ArrayLike, b: ArrayLike | None = None, activation: str = "identity",
                  slope: float = 0.01) -> FloatArray:
    """Compute the forward pass of a fully connected layer, ``A = g(X W^T + b)``.

    Per sample this is the notes' ``z_j = sum_i w_ji x_i + b_j``,
    ``a_j = g(z_j)`` (notes 002 "Forward"; notes 004 "h(x) = g(W^h x + b^h)").

    Parameters
    ----------
    X : array_like, shape (n, in)
        The input batch, one sample per row.
    W : array_like, shape (out, in)
        The weights.
    b : array_like, shape (out,), optional
        The bias; None for no bias.
    activation : str, default "identity"
        One of :data:`ACTIVATIONS`.
    slope : float, default 0.01
        The leaky_relu slope (>= 0).

    Returns
    -------
    numpy.ndarray, shape (n, out)
        The activations A, in the common floating dtype of `X` and `W`.

    Raises
    ------
    TypeError
        For non-numeric arrays, a non-string `activation` or a `slope` that
        is not a real number.
    ValueError
        For arrays that are not 2-D or do not fit one layer, an unknown
        activation or a negative `slope`.

    Examples
    --------
    The hidden layer of notes 004's worked example:

    >>> import numpy as np
    >>> from fastnn import reference
    >>> X = np.array([[0.05, 0.10]])
    >>> W = np.array([[0.15, 0.20], [0.25, 0.30]])
    >>> reference.dense_forward(X, W, np.array([0.35, 0.35]), "sigmoid")
    array([[0.59326999, 0.59688438]])
    """
    X, W = _common(("X", X), ("W", W))
    _check_ndim(X, 2, "X")
    _check_ndim(W, 2, "W")
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but W expects {W.shape[1]} (W is (out, in))")
    Z = X @ W.T
    if b is not None:
        b = _float_array(b, "b").astype(Z.dtype, copy=False)
        if b.shape != (W.shape[0],):
            raise ValueError(f"b: expected shape ({W.shape[0]},), got {b.shape}")
        Z = Z + b
    # (inside this function the name ``activation`` is the argument)
    return _activation_function(activation, Z, slope)


def dense_backward(dA: ArrayLike, A: ArrayLike, X: ArrayLike, W: ArrayLike, activation: str = "identity",
                   slope: float = 0.01, need_dX: bool = True,
                   bias: bool = True) -> tuple[FloatArray, FloatArray | None, FloatArray | None]:
    """Compute the backward pass of a fully connected layer (chain rule, notes 002/004).

    Given dA = dL/dA, the layer's forward output A, its input X and
    weights W:

    * dZ = dA * g'(Z), with g'(Z) from :func:`activation_derivative` of A
      ("dL/dz_out = dL/dy_hat * dy_hat/dz_out", notes 002)
    * dW = dZ^T X, i.e. dL/dw_ji = sum over samples of dz_j x_i
      ("dz_out/dw5 = a_h1", notes 002)
    * db = sum of dZ over the samples (dz_j/db_j = 1, notes 002 "Bias
      gradients")
    * dX = dZ W, i.e. dL/dx_i = sum_j dz_j w_ji (what the layer below
      receives as its dA; "dz_out/da_h1 = w5", notes 002).

    Parameters
    ----------
    dA : array_like, shape (n, out)
        The gradient of the loss with respect to the layer's output.
    A : array_like, shape (n, out)
        The layer's forward output.
    X : array_like, shape (n, in)
        The layer's input.
    W : array_like, shape (out, in)
        The layer's weights.
    activation : str, default "identity"
        The layer's activation, one of :data:`ACTIVATIONS`.
    slope : float, default 0.01
        The leaky_relu slope (>= 0).
    need_dX : bool, default True
        Whether to compute dX.
    bias : bool, default True
        Whether to compute db.

    Returns
    -------
    dW : numpy.ndarray, shape (out, in)
        The gradient of the weights.
    db : numpy.ndarray, shape (out,) or None
        The gradient of the bias; None when `bias` is False.
    dX : numpy.ndarray, shape (n, in) or None
        The gradient of the input; None when `need_dX` is False.

    Raises
    ------
    TypeError
        For non-numeric arrays or arguments of the wrong type.
    ValueError
        For arrays that are not 2-D or do not fit one layer, an unknown
        activation or a negative `slope`.
    """
    need_dX = check_bool("need_dX", need_dX)
    bias = check_bool("bias", bias)
    dA, A, X, W = _common(("dA", dA), ("A", A), ("X", X), ("W", W))
    for arr, nm in ((dA, "dA"), (A, "A"), (X, "X"), (W, "W")):
        _check_ndim(arr, 2, nm)
    n, out = A.shape
    if dA.shape != A.shape:
        raise ValueError(f"dA: shape {dA.shape} does not match A {A.shape}")
    if X.shape[0] != n:
        raise ValueError(f"X: {X.shape[0]} samples but A has {n}")
    if W.shape != (out, X.shape[1]):
        raise ValueError(f"W: expected shape {(out, X.shape[1])}, got {W.shape}")
    dZ = dA * activation_derivative(activation, A, slope)
    dW = dZ.T @ X
    db = dZ.sum(axis=0) if bias else None
    dX = dZ @ W if need_dX else None
    return dW, db, dX


def dense_backward_sgd(dA: ArrayLike, A: ArrayLike, X: ArrayLike, W: FloatArray, b: FloatArray | None,
                       lr: float, activation: str = "identity", slope: float = 0.01,
                       need_dX: bool = True) -> FloatArray | None:
    """Run the backward pass followed by one plain gradient-descent step.

    Computes dW, db, dX as :func:`dense_backward` and then updates IN PLACE
    ``W <- W - lr dW`` and (unless b is None) ``b <- b - lr db``
    (notes 004: "W_{t+1} = W_t - lambda_t grad f(W_t)"; notes 002:
    "W_new = W_old - LR dL/dW_old, B_new = B_old - LR dL/dB_old").
    dX is computed with the weights from BEFORE the update (the gradient
    belongs to the point where it was evaluated).

    Parameters
    ----------
    dA, A, X : array_like
        As in :func:`dense_backward`.
    W : numpy.ndarray, shape (out, in)
        The weights, float32 or float64, writable: updated in place.
    b : numpy.ndarray, shape (out,) or None
        The bias, updated in place like `W`; None for no bias.
    lr : float
        The learning rate (finite).
    activation : str, default "identity"
        The layer's activation, one of :data:`ACTIVATIONS`.
    slope : float, default 0.01
        The leaky_relu slope (>= 0).
    need_dX : bool, default True
        Whether to compute dX.

    Returns
    -------
    numpy.ndarray, shape (n, in) or None
        The gradient dX of the input; None when `need_dX` is False.

    Raises
    ------
    TypeError
        As :func:`dense_backward`, and for a `W` or `b` that is not a float
        ndarray or an `lr` that is not a real number.
    ValueError
        As :func:`dense_backward`, and for a read-only `W` or `b`, a `b` of
        the wrong shape or a non-finite `lr`.
    """
    lr = check_real("lr", lr)
    _check_writable(W, "W")
    if b is not None:
        _check_writable(b, "b")
        if b.shape != (W.shape[0],):
            raise ValueError(f"b: expected shape ({W.shape[0]},), got {b.shape}")
    dW, db, dX = dense_backward(dA, A, X, W, activation, slope,
                                need_dX=need_dX, bias=b is not None)
    sgd_update(W, dW, lr)
    if b is not None and db is not None:  # db is computed when there is a bias
        sgd_update(b, db, lr)
    return dX


# --------------------------------------------------------------------------
# output layers and losses
# --------------------------------------------------------------------------

def _logsumexp_rows(Z: FloatArray) -> FloatArray:
    """Compute log sum_k exp(z_k) per row, as m + log sum_k exp(z_k - m), m = max_k z_k."""
    m = Z.max(axis=-1, keepdims=True)
    lse: FloatArray = m + np.log(np.exp(Z - m).sum(axis=-1, keepdims=True))
    return lse


def softmax(Z: ArrayLike) -> FloatArray:
    """Compute the row-wise softmax ``p_j = e^{z_j} / sum_k e^{z_k}`` (notes 000, 001).

    The row maximum is subtracted first (it cancels between numerator and
    denominator) so that no exponential overflows.

    Parameters
    ----------
    Z : array_like, shape (n_classes,) or (n_samples, n_classes)
        The logits; softmax runs along the last axis.

    Returns
    -------
    numpy.ndarray
        The probabilities, of the shape and floating dtype of `Z`.

    Raises
    ------
    TypeError
        For a non-numeric `Z`.
    ValueError
        For a `Z` that is neither 1-D nor 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import reference
    >>> reference.softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]]))
    array([[0.09003057, 0.24472847, 0.66524096],
           [0.33333333, 0.33333333, 0.33333333]])
    """
    Z = _float_array(Z, "Z")
    if Z.ndim not in (1, 2):
        raise ValueError(f"Z: expected a 1-d or 2-d array, got shape {Z.shape}")
    P: FloatArray
    if Z.shape[-1] == 0:
        P = Z.copy()
    else:
        E = np.exp(Z - Z.max(axis=-1, keepdims=True))
        P = E / E.sum(axis=-1, keepdims=True)
    return P


def _check_loss_2d(Z: np.ndarray, name: str) -> tuple[int, int]:
    """Return the shape (n, k) of a loss's 2-D input, refusing an empty one."""
    _check_ndim(Z, 2, name)
    n, k = Z.shape
    if n == 0 or k == 0:
        raise ValueError(f"{name}: a loss needs at least one sample and one output, got shape {Z.shape}")
    return n, k


def softmax_cross_entropy(Z: ArrayLike, y: ArrayLike) -> tuple[float, FloatArray]:
    """Compute softmax fused with categorical cross-entropy, from logits Z.

    Notes 000 (ERM objective with a softmax output layer):

        L = -(1/n) sum_i sum_k y_ik log(p_ik),   p_i = softmax(z_i),

    where log p_ik = z_ik - logsumexp(z_i) (no log of a rounded-to-zero
    probability).

    Parameters
    ----------
    Z : array_like, shape (n, k)
        The logits, with at least one sample and one class.
    y : array_like, shape (n,) or (n, k)
        Integer class labels with values in [0, k) (one-hot targets), or a
        target matrix.

    Returns
    -------
    loss : float
        The mean cross-entropy L.
    dZ : numpy.ndarray, shape (n, k)
        The exact gradient of L, ``(P sum_k y_k - Y) / n``: the familiar
        ``(P - Y) / n`` when every target row sums to one (always true for
        labels).

    Raises
    ------
    TypeError
        For non-numeric arrays.
    ValueError
        For wrong shapes, an empty batch or labels out of range.
    """
    Z = _float_array(Z, "Z")
    n, k = _check_loss_2d(Z, "Z")
    y = as_array("y", y)
    if y.dtype.kind in "iu":
        if y.shape != (n,):
            raise ValueError(f"y: integer labels must have shape ({n},), got {y.shape}")
        if np.any(y < 0) or np.any(y >= k):
            raise ValueError(f"y: class labels must lie in [0, {k})")
        Y = np.zeros_like(Z)
        Y[np.arange(n), y] = 1
    else:
        Y = _float_array(y, "y").astype(Z.dtype, copy=False)
        if Y.shape != Z.shape:
            raise ValueError(f"y: target matrix must have shape {Z.shape}, got {Y.shape}")
    logP = Z - _logsumexp_rows(Z)
    loss = -(Y * logP).sum(axis=1).mean()
    dZ = (np.exp(logP) * Y.sum(axis=1, keepdims=True) - Y) / Z.dtype.type(n)
    return float(loss), dZ


def sigmoid_binary_cross_entropy(Z: ArrayLike, T: ArrayLike) -> tuple[float, FloatArray]:
    """Compute sigmoid fused with binary cross-entropy, from logits Z.

    Notes 004 ("BINARY CLASSIFICATION LOSS"), averaged over all n*k outputs:

        H = -mean[ t log s + (1 - t) log(1 - s) ],   s = sigma(z).

    Using log s = -log(1 + e^{-z}) and log(1 - s) = -z - log(1 + e^{-z}),
    each term equals  max(z, 0) - z t + log(1 + e^{-|z|}),  which is what is
    evaluated (no overflow, no log(0)).

    Parameters
    ----------
    Z : array_like, shape (n, k)
        The logits, with at least one sample and one output.
    T : array_like, shape (n, k)
        The targets in [0, 1].

    Returns
    -------
    loss : float
        The mean binary cross-entropy H.
    dZ : numpy.ndarray, shape (n, k)
        Its gradient, ``(sigma(Z) - T) / (n k)``.

    Raises
    ------
    TypeError
        For non-numeric arrays.
    ValueError
        For arrays that are not 2-D or of different shapes, or an empty batch.
    """
    Z, T = _common(("Z", Z), ("T", T))
    n, k = _check_loss_2d(Z, "Z")
    if T.shape != Z.shape:
        raise ValueError(f"T: shape {T.shape} does not match Z {Z.shape}")
    terms = np.maximum(Z, 0) - Z * T + np.log1p(np.exp(-np.abs(Z)))
    loss = terms.mean()
    dZ = (_sigmoid(Z) - T) / Z.dtype.type(n * k)
    return float(loss), dZ


def half_squared_error(Y: ArrayLike, T: ArrayLike) -> tuple[float, FloatArray]:
    """Compute the notes' squared error, averaged over the batch.

    Per sample E = 1/2 sum_k (t_k - y_k)^2 (notes 004 "L_total = sum
    0.5 (target - output)^2"; notes 000 "E_total"; notes 002 call it
    "MSE Loss = 0.5 (y_true - y_hat)^2"); the batch loss is the mean of E
    over the n samples.

    Parameters
    ----------
    Y : array_like, shape (n, k)
        The outputs, with at least one sample and one output.
    T : array_like, shape (n, k)
        The targets.

    Returns
    -------
    loss : float
        The mean of E over the samples.
    dY : numpy.ndarray, shape (n, k)
        Its gradient, ``(Y - T) / n`` (notes 004: dE/dout_o1 =
        -(target_o1 - out_o1)).

    Raises
    ------
    TypeError
        For non-numeric arrays.
    ValueError
        For arrays that are not 2-D or of different shapes, or an empty batch.
    """
    Y, T = _common(("Y", Y), ("T", T))
    n, _ = _check_loss_2d(Y, "Y")
    if T.shape != Y.shape:
        raise ValueError(f"T: shape {T.shape} does not match Y {Y.shape}")
    D = Y - T
    loss = Y.dtype.type(0.5) * (D * D).sum(axis=1).mean()
    dY = D / Y.dtype.type(n)
    return float(loss), dY


def mse(Y: ArrayLike, T: ArrayLike) -> tuple[float, FloatArray]:
    """Compute the mean squared error over all n*k elements (notes 004 "Regression").

    MSE = 1/(n k) sum_ik (y_ik - t_ik)^2.

    Parameters
    ----------
    Y : array_like, shape (n, k)
        The outputs, with at least one sample and one output.
    T : array_like, shape (n, k)
        The targets.

    Returns
    -------
    loss : float
        The MSE.
    dY : numpy.ndarray, shape (n, k)
        Its gradient, ``2 (Y - T) / (n k)``.

    Raises
    ------
    TypeError
        For non-numeric arrays.
    ValueError
        For arrays that are not 2-D or of different shapes, or an empty batch.
    """
    Y, T = _common(("Y", Y), ("T", T))
    n, k = _check_loss_2d(Y, "Y")
    if T.shape != Y.shape:
        raise ValueError(f"T: shape {T.shape} does not match Y {Y.shape}")
    D = Y - T
    loss = (D * D).mean()
    dY = Y.dtype.type(2) * D / Y.dtype.type(n * k)
    return float(loss), dY


# --------------------------------------------------------------------------
# optimiser
# --------------------------------------------------------------------------

def sgd_update(param: FloatArray, grad: ArrayLike, lr: float) -> None:
    """Take one plain gradient-descent step, in place: ``param <- param - lr grad``.

    Notes 004: "W_{t+1} = W_t - lambda_t grad f(W_t)"; notes 004 worked
    example: "w5^{t+1} = w5 - lambda dL/dw5".

    Parameters
    ----------
    param : numpy.ndarray
        The parameters, float32 or float64, writable: updated in place.
    grad : array_like
        The gradient, of the shape of `param`.
    lr : float
        The learning rate (finite).

    Raises
    ------
    TypeError
        For a `param` that is not a float ndarray, a non-numeric `grad` or an
        `lr` that is not a real number.
    ValueError
        For a read-only `param`, a `grad` of another shape or a non-finite `lr`.
    """
    lr = check_real("lr", lr)
    _check_writable(param, "param")
    grad = _float_array(grad, "grad")
    if grad.shape != param.shape:
        raise ValueError(f"grad: shape {grad.shape} does not match param {param.shape}")
    param -= param.dtype.type(lr) * grad.astype(param.dtype, copy=False)


def shift_images(X: ArrayLike, dy: ArrayLike, dx: ArrayLike, image_shape: tuple[int, int] = (28, 28),
                 fill: float = 0.0) -> FloatArray:
    """Move every image by whole pixels (data augmentation by random shifts).

    Output pixel ``(r, c)`` of image ``i`` is input pixel
    ``(r - dy[i], c - dx[i])`` where that lies inside the image, else `fill`.

    Parameters
    ----------
    X : array_like
        Flattened images, ``(n, height * width)``.
    dy, dx : array_like
        The shifts down and right (negative: up, left), ``n`` integers each.
    image_shape : (int, int), default (28, 28)
        Height and width of an image.
    fill : float, default 0.0
        The value of the uncovered pixels.

    Returns
    -------
    numpy.ndarray
        The shifted images, of `X`'s shape and floating dtype.

    Raises
    ------
    TypeError
        For non-numeric `X`, or shifts that are not integers.
    ValueError
        For an `X` that is not 2-d, shifts not one per image, or an
        `image_shape` that does not match `X`'s columns.
    """
    X = _float_array(X, "X")
    _check_ndim(X, 2, "X")
    h, w = check_image_shape("image_shape", image_shape, X.shape[1])
    shifts = [as_array(name, d) for name, d in (("dy", dy), ("dx", dx))]
    for name, d in zip(("dy", "dx"), shifts):
        if d.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integers, got dtype {d.dtype}")
        if d.shape != (X.shape[0],):
            raise ValueError(f"{name} must have shape ({X.shape[0]},), got {d.shape}")
    out = np.full((X.shape[0], h, w), check_real("fill", fill, finite=False), dtype=X.dtype)
    src = X.reshape(-1, h, w)
    for i, (a, b) in enumerate(zip(shifts[0].tolist(), shifts[1].tolist())):
        r0, r1 = max(0, a), min(h, h + a)  # the output rows whose source row r - a exists
        c0, c1 = max(0, b), min(w, w + b)
        if r0 < r1 and c0 < c1:
            out[i, r0:r1, c0:c1] = src[i, r0 - a:r1 - a, c0 - b:c1 - b]
    return out.reshape(X.shape)


# ---------------------------------------------------------------------------
# Whole networks and optimizers: the oracle for fastnn.Trainer.
# ---------------------------------------------------------------------------

def _output_activation(name: str, Z: FloatArray, slope: float) -> FloatArray:
    """Apply a layer's activation, softmax included."""
    if name == "softmax":
        return softmax(Z)
    return activation(name, Z, slope)


def _check_network(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike | None], activations: Sequence[str],
                   slope: float) -> tuple[list[FloatArray], list[FloatArray | None], list[str]]:
    """Return the layer lists as lists of float64 arrays, checked against each other."""
    lists: dict[str, list[Any]] = {}
    for name, seq in (("weights", weights), ("biases", biases), ("activations", activations)):
        lists[name] = list(check_instance(name, seq, (list, tuple), "a list with one entry per layer"))
    L = len(lists["weights"])
    if L == 0:
        raise ValueError("weights must hold at least one layer")
    for name in ("biases", "activations"):
        if len(lists[name]) != L:
            raise ValueError(f"{name} has {len(lists[name])} entries but weights has {L} layers")
    Ws: list[FloatArray] = []
    bs: list[FloatArray | None] = []
    for l, (W, b, act) in enumerate(zip(lists["weights"], lists["biases"], lists["activations"])):
        W = _float_array(W, f"weights[{l}]").astype(np.float64)
        _check_ndim(W, 2, f"weights[{l}]")
        if l and W.shape[1] != Ws[-1].shape[0]:
            raise ValueError(f"weights[{l}] has shape {W.shape} but layer {l - 1} gives {Ws[-1].shape[0]} outputs")
        if b is not None:
            b = _float_array(b, f"biases[{l}]").astype(np.float64)
            if b.shape not in ((), (W.shape[0],)):
                raise ValueError(f"biases[{l}] must be a scalar or of shape ({W.shape[0]},), got {b.shape}")
        check_choice(f"activations[{l}]", act, (*ACTIVATIONS, "softmax"))
        Ws.append(W)
        bs.append(b)
    check_real("slope", slope, minimum=0)
    return Ws, bs, lists["activations"]


def network_forward(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike | None], activations: Sequence[str],
                    X: ArrayLike, slope: float = 0.01) -> list[FloatArray]:
    """Compute the activations of every layer of a stack of dense layers, input first.

    Parameters
    ----------
    weights : list of array_like
        The weights of each layer, ``weights[l]`` of shape (out, in).
    biases : list of array_like or None
        The bias of each layer: an (out,) array, a scalar shared by the
        layer's neurons, or None.
    activations : list of str
        The activation of each layer: a name from :data:`ACTIVATIONS`, or
        "softmax".
    X : array_like, shape (n, in)
        The input batch.
    slope : float, default 0.01
        The leaky_relu slope (>= 0).

    Returns
    -------
    list of numpy.ndarray
        ``[X, A_1, ..., A_L]``, in float64.

    Raises
    ------
    TypeError
        For lists, arrays or names of the wrong type.
    ValueError
        For layers that do not fit each other or `X`, or an unknown activation.
    """
    weights, biases, activations = _check_network(weights, biases, activations, slope)
    X = _float_array(X, "X").astype(np.float64)
    _check_ndim(X, 2, "X")
    if X.shape[1] != weights[0].shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but weights[0] expects {weights[0].shape[1]}")
    outs = [X]
    for W, b, act in zip(weights, biases, activations):
        Z = outs[-1] @ W.T
        if b is not None:
            Z = Z + b  # a scalar b is the notes' bias shared by the layer
        outs.append(_output_activation(act, Z, slope))
    return outs


def _output_delta(loss: str, weights: list[FloatArray], biases: list[FloatArray | None], activations: list[str],
                  outs: list[FloatArray], y: ArrayLike, slope: float) -> tuple[float, FloatArray]:
    """Return the loss value and delta_L = dLoss/dZ_L of the output layer."""
    Y = outs[-1]
    fn: Callable[[ArrayLike, ArrayLike], tuple[float, FloatArray]]
    if loss in ("cross_entropy", "binary_cross_entropy"):
        # the fused losses take the logits: recompute them
        Zl = outs[-2] @ np.asarray(weights[-1]).T + (0 if biases[-1] is None else biases[-1])
        fn = softmax_cross_entropy if loss == "cross_entropy" else sigmoid_binary_cross_entropy
        return fn(Zl, y)
    fn = {"half_squared_error": half_squared_error, "mse": mse}[loss]
    y = _float_array(y, "y")
    if y.size != Y.size:
        raise ValueError(f"y must hold one target per output, {Y.shape}, got shape {y.shape}")
    value, dY = fn(Y, y.astype(np.float64).reshape(Y.shape))
    return value, dY * activation_derivative(activations[-1], Y, slope)


def network_gradients(weights: Sequence[ArrayLike], biases: Sequence[ArrayLike | None], activations: Sequence[str],
                      X: ArrayLike, y: ArrayLike, loss: str,
                      slope: float = 0.01,
                      ) -> tuple[float, list[FloatArray], list[FloatArray | np.floating[Any] | None]]:
    """Compute the loss and the gradients of every parameter by backpropagation.

    Notes 002, 004: delta_L from the loss, delta_l = (delta_{l+1} W_{l+1}) *
    act'(A_l), dW_l = delta_l^T A_{l-1}, db_l = sum over samples of delta_l
    (and over the neurons too for a shared scalar bias).

    Parameters
    ----------
    weights, biases, activations : list
        The layers, as in :func:`network_forward`.
    X : array_like, shape (n, in)
        The input batch.
    y : array_like
        The targets: one per output, or for "cross_entropy" labels (n,) or
        targets (n, k).
    loss : {"half_squared_error", "mse", "cross_entropy", "binary_cross_entropy"}
        The loss; "cross_entropy" needs a softmax output and
        "binary_cross_entropy" a sigmoid one.
    slope : float, default 0.01
        The leaky_relu slope (>= 0).

    Returns
    -------
    loss_value : float
        The loss.
    dWs : list of numpy.ndarray
        The gradient of each layer's weights.
    dbs : list of numpy.ndarray or None
        The gradient of each layer's bias (a scalar for a shared bias;
        None for no bias).

    Raises
    ------
    TypeError
        For arguments of the wrong type.
    ValueError
        For an unknown loss, layers that do not fit each other or `X`, or
        targets of the wrong size.
    """
    check_choice("loss", loss, _LOSSES)
    weights, biases, activations = _check_network(weights, biases, activations, slope)
    outs = network_forward(weights, biases, activations, X, slope)
    value, delta = _output_delta(loss, weights, biases, activations, outs, y, slope)
    L = len(weights)
    dWs: list[Any] = [None] * L
    dbs: list[Any] = [None] * L
    for l in range(L - 1, -1, -1):
        dWs[l] = delta.T @ outs[l]
        b = biases[l]
        if b is None:
            dbs[l] = None
        elif np.ndim(b) == 0:
            dbs[l] = delta.sum()
        else:
            dbs[l] = delta.sum(axis=0)
        if l > 0:
            delta = (delta @ np.asarray(weights[l])) * activation_derivative(activations[l - 1], outs[l], slope)
    return value, dWs, dbs


def _same_shape(*named: tuple[str, ArrayLike]) -> list[FloatArray]:
    """Return the arrays of ``(name, array)`` pairs as float arrays of one shape."""
    arrays = _common(*named)
    for (name, _), a in zip(named[1:], arrays[1:]):
        if a.shape != arrays[0].shape:
            raise ValueError(f"{name}: shape {a.shape} does not match {named[0][0]} {arrays[0].shape}")
    return arrays


def sgd_step(p: ArrayLike, g: ArrayLike, v: ArrayLike, lr: float, momentum: float = 0.0, nesterov: bool = False,
             weight_decay: float = 0.0) -> tuple[FloatArray, FloatArray]:
    """Take one SGD step (PyTorch's convention, dampening 0).

    ::

        g <- g + weight_decay p;   v <- momentum v + g;
        p <- p - lr (g + momentum v)  with Nesterov,  p - lr v  without.

    With momentum = weight_decay = 0 this is the notes' p <- p - lr g.

    Parameters
    ----------
    p : array_like
        The parameters.
    g : array_like
        Their gradient, of the shape of `p`.
    v : array_like
        The momentum buffer, of the shape of `p` (zeros at the first step).
    lr : float
        The learning rate (>= 0).
    momentum : float, default 0.0
        The momentum, in [0, 1).
    nesterov : bool, default False
        Whether to use Nesterov momentum.
    weight_decay : float, default 0.0
        The L2 penalty added to the gradient (>= 0).

    Returns
    -------
    p : numpy.ndarray
        The new parameters.
    v : numpy.ndarray
        The new momentum buffer.

    Raises
    ------
    TypeError
        For non-numeric arrays or scalars of the wrong type.
    ValueError
        For arrays of different shapes or scalars out of range.
    """
    p, g, v = _same_shape(("p", p), ("g", g), ("v", v))
    lr = check_real("lr", lr, minimum=0)
    momentum = check_real("momentum", momentum, minimum=0, maximum=1, max_open=True)
    weight_decay = check_real("weight_decay", weight_decay, minimum=0)
    nesterov = check_bool("nesterov", nesterov)
    g = g + weight_decay * p
    v = momentum * v + g
    step = g + momentum * v if nesterov else v
    return p - lr * step, v


def _check_betas(betas: Sequence[float]) -> tuple[float, ...]:
    """Return Adam's (beta1, beta2), each in [0, 1)."""
    check_instance("betas", betas, (tuple, list), "a pair (beta1, beta2)")
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {len(betas)} value(s)")
    return tuple(check_real(f"betas[{i}]", b, minimum=0, maximum=1, max_open=True) for i, b in enumerate(betas))


def adam_step(p: ArrayLike, g: ArrayLike, m: ArrayLike, v: ArrayLike, t: int, lr: float,
              betas: Sequence[float] = (0.9, 0.999), eps: float = 1e-8,
              weight_decay: float = 0.0) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Take one Adam step with decoupled weight decay (AdamW).

    ::

        p <- p (1 - lr weight_decay);  m <- b1 m + (1 - b1) g;
        v <- b2 v + (1 - b2) g^2;      p <- p - lr m_hat / (sqrt(v_hat) + eps)

    with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).

    Parameters
    ----------
    p : array_like
        The parameters.
    g : array_like
        Their gradient, of the shape of `p`.
    m : array_like
        The first-moment estimate, of the shape of `p` (zeros at t = 1).
    v : array_like
        The second-moment estimate, of the shape of `p` (zeros at t = 1).
    t : int
        The step number, counting from 1.
    lr : float
        The learning rate (>= 0).
    betas : pair of float, default (0.9, 0.999)
        The decay rates b1, b2 of the moments, each in [0, 1).
    eps : float, default 1e-8
        Added to the denominator (> 0).
    weight_decay : float, default 0.0
        The decoupled weight decay (>= 0).

    Returns
    -------
    p : numpy.ndarray
        The new parameters.
    m : numpy.ndarray
        The new first-moment estimate.
    v : numpy.ndarray
        The new second-moment estimate.

    Raises
    ------
    TypeError
        For non-numeric arrays or scalars of the wrong type.
    ValueError
        For arrays of different shapes or scalars out of range.
    """
    p, g, m, v = _same_shape(("p", p), ("g", g), ("m", m), ("v", v))
    t = check_int("t", t, minimum=1)
    lr = check_real("lr", lr, minimum=0)
    b1, b2 = _check_betas(betas)
    eps = check_real("eps", eps, minimum=0, min_open=True)
    weight_decay = check_real("weight_decay", weight_decay, minimum=0)
    p = p * (1 - lr * weight_decay)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
