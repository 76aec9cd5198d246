"""The compiled kernels, one function each, with their arguments checked.

Every function here validates and converts its arguments (dtype, shape,
memory layout, finiteness), then calls its typed wrapper in
``fastnn._core`` (src/fastnn/_core.pyx), which releases the GIL and calls
the C kernel of the same name in csrc/ (declared in csrc/fastnn.h).  Their
NumPy twins, written for reading, are in :mod:`fastnn.reference`; the tests
hold each kernel to its twin.

Conventions: weights ``W`` are ``(out_features, in_features)``; a batch
``X`` is ``(n_samples, in_features)``; ``A = act(X @ W.T + b)``.  Arrays are
float32 or float64, one dtype per call.  Inputs that are not C-contiguous
are copied; outputs and arrays updated in place must already be C-contiguous
and writable.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _core
from .nn.activations import EPILOGUE_ACTIVATIONS as ACTIVATIONS

__all__ = [
    "ACTIVATIONS",
    "activation",
    "activation_derivative",
    "dense_backward",
    "dense_backward_sgd",
    "dense_forward",
    "half_squared_error",
    "mse",
    "sgd_update",
    "sigmoid_binary_cross_entropy",
    "softmax",
    "softmax_cross_entropy",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# ---- argument checking --------------------------------------------------------

def activation_code(name) -> int:
    """The C code of an activation, or ValueError listing the valid names."""
    if not isinstance(name, str) or name not in _core.ACTIVATION_CODES:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")
    return _core.ACTIVATION_CODES[name]


def _check_slope(slope) -> float:
    if isinstance(slope, bool) or not isinstance(slope, numbers.Real):
        raise TypeError(f"slope must be a real number, got {type(slope).__name__}")
    slope = float(slope)
    if not np.isfinite(slope) or slope < 0:
        raise ValueError(f"slope must be finite and >= 0, got {slope}")
    return slope


def _check_lr(lr) -> float:
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise TypeError(f"lr must be a real number, got {type(lr).__name__}")
    lr = float(lr)
    if not np.isfinite(lr):
        raise ValueError(f"lr must be finite, got {lr}")
    return lr


def _asarray(name, x):
    """np.asarray(x), with numpy's refusals (ragged lists...) naming the argument."""
    if x is None:
        raise TypeError(f"{name} must be an array, got None")
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name} must be an array of numbers: {e}") from None


def _check_flag(name, v) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {v!r}")
    return bool(v)


def _no_overlap(name, arr, **others):
    """ValueError if arr, written by a kernel, overlaps an array it reads."""
    for other_name, other in others.items():
        if other is not None and np.may_share_memory(arr, other):
            raise ValueError(f"{name} shares memory with {other_name}; pass separate arrays")


def _contiguous(arr, dtype=None):
    """arr as a C-contiguous, aligned array (a copy only if it is neither):
    a view at an odd byte offset is contiguous but not aligned, and the C
    kernels load whole floats."""
    return np.require(arr, dtype=dtype, requirements=("C", "A"))


def _float_array(name, x, ndim, check_finite=True):
    """x as a C-contiguous float32/float64 array of ndim dimensions."""
    arr = _asarray(name, x)
    if arr.dtype not in _FLOATS:
        raise TypeError(f"{name} must have dtype float32 or float64, got {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    arr = _contiguous(arr)
    if check_finite and not _core.all_finite(arr.reshape(-1)):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def _same_dtype(**arrays):
    """TypeError naming the arguments if the (non-None) arrays mix dtypes."""
    named = [(k, v) for k, v in arrays.items() if v is not None]
    first_name, first = named[0]
    for name, arr in named[1:]:
        if arr.dtype != first.dtype:
            raise TypeError(
                f"mixed dtypes: {first_name} is {first.dtype} but {name} is {arr.dtype}; "
                "convert them to one dtype (float32 or float64)"
            )
    return first.dtype


def _writable(name, arr, shape, dtype):
    """arr, if it can be written in place as an array of this shape and dtype."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(arr).__name__}")
    if arr.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {arr.dtype}")
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not (arr.flags.c_contiguous and (arr.flags.aligned or arr.size == 0)):
        raise ValueError(f"{name} must be C-contiguous and aligned to be written in place")
    if not arr.flags.writeable:
        raise ValueError(f"{name} is read-only; it must be writable")
    return arr


def _out(name, out, shape, dtype):
    if out is None:
        return np.empty(shape, dtype=dtype)
    return _writable(name, out, shape, dtype)


def _check_layer(X, W, b):
    if W.shape[1] != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but W has shape {W.shape} "
            f"(out_features, in_features): in_features must be {X.shape[1]}"
        )
    if b is not None and b.shape != (W.shape[0],):
        raise ValueError(f"b must have shape ({W.shape[0]},) to match W {W.shape}, got {b.shape}")


def _check_rows(name, arr, n, k):
    if arr.shape != (n, k):
        raise ValueError(f"{name} must have shape {(n, k)}, got {arr.shape}")


# ---- dense layer --------------------------------------------------------------

def dense_forward(X, W, b=None, activation="identity", *, slope=0.01, out=None, check_finite=True):
    """A = act(X @ W.T + b), with bias and activation in the GEMM's epilogue.

    X: (n_samples, in_features); W: (out_features, in_features);
    b: (out_features,) or None.  Returns A (n_samples, out_features).
    """
    act = activation_code(activation)
    slope = _check_slope(slope)
    check_finite = _check_flag("check_finite", check_finite)
    X = _float_array("X", X, 2, check_finite)
    W = _float_array("W", W, 2, check_finite)
    b = None if b is None else _float_array("b", b, 1, check_finite)
    dtype = _same_dtype(X=X, W=W, b=b)
    _check_layer(X, W, b)
    A = _out("out", out, (X.shape[0], W.shape[0]), dtype)
    _no_overlap("out", A, X=X, W=W, b=b)
    _core.dense_forward(X, W, b, A, act, slope)
    return A


def dense_backward(dA, A, X, W, activation="identity", *, slope=0.01, need_dX=True, bias=True,
                   check_finite=True):
    """Gradients of a dense layer from dA = dLoss/dA and the forward output A.

    dZ = dA * act'(A); dW = dZ.T @ X; db = dZ.sum(0); dX = dZ @ W.
    Returns (dW, db, dX); db is None when ``bias`` is False and dX is None
    when ``need_dX`` is False (the first layer needs no dX).
    """
    act = activation_code(activation)
    slope = _check_slope(slope)
    need_dX = _check_flag("need_dX", need_dX)
    bias = _check_flag("bias", bias)
    check_finite = _check_flag("check_finite", check_finite)
    dA = _float_array("dA", dA, 2, check_finite)
    A = _float_array("A", A, 2, check_finite)
    X = _float_array("X", X, 2, check_finite)
    W = _float_array("W", W, 2, check_finite)
    dtype = _same_dtype(dA=dA, A=A, X=X, W=W)
    _check_layer(X, W, None)
    n, fout = X.shape[0], W.shape[0]
    _check_rows("dA", dA, n, fout)
    _check_rows("A", A, n, fout)
    dZ = np.empty((n, fout), dtype=dtype)
    dW = np.empty(W.shape, dtype=dtype)
    db = np.empty(fout, dtype=dtype) if bias else None
    dX = np.empty(X.shape, dtype=dtype) if need_dX else None
    _core.dense_backward(dA, A, X, W, act, slope, dZ, dW, db, dX)
    return dW, db, dX


def dense_backward_sgd(dA, A, X, W, b, lr, activation="identity", *, slope=0.01, need_dX=True,
                       check_finite=True):
    """Backward pass fused with a plain SGD step; returns dX (or None).

    dX = dZ @ W with W as it was before the step; then, in place,
    W -= lr * dZ.T @ X (inside the GEMM's epilogue: dW is never stored)
    and b -= lr * dZ.sum(0).  W (and b unless None) must be C-contiguous,
    writable arrays of the layer's dtype.
    """
    act = activation_code(activation)
    slope = _check_slope(slope)
    lr = _check_lr(lr)
    need_dX = _check_flag("need_dX", need_dX)
    check_finite = _check_flag("check_finite", check_finite)
    dA = _float_array("dA", dA, 2, check_finite)
    A = _float_array("A", A, 2, check_finite)
    X = _float_array("X", X, 2, check_finite)
    if not isinstance(W, np.ndarray):
        raise TypeError(f"W must be a numpy.ndarray (it is updated in place), got {type(W).__name__}")
    if W.ndim != 2:
        raise ValueError(f"W must be 2-dimensional, got shape {W.shape}")
    dtype = _same_dtype(dA=dA, A=A, X=X, W=W)
    _writable("W", W, W.shape, dtype)
    if b is not None:
        _writable("b", b, (W.shape[0],), dtype)
    if check_finite:
        for name, arr in (("W", W), ("b", b)):
            if arr is not None and not _core.all_finite(arr.reshape(-1)):
                raise ValueError(f"{name} contains NaN or infinity")
    _check_layer(X, W, b)
    n, fout = X.shape[0], W.shape[0]
    _check_rows("dA", dA, n, fout)
    _check_rows("A", A, n, fout)
    _no_overlap("W", W, dA=dA, A=A, X=X, b=b)
    if b is not None:
        _no_overlap("b", b, dA=dA, A=A, X=X)
    dZ = np.empty((n, fout), dtype=dtype)
    db_work = np.empty(fout, dtype=dtype)
    dX = np.empty(X.shape, dtype=dtype) if need_dX else None
    _core.dense_backward_sgd(dA, A, X, W, b, lr, act, slope, dZ, db_work, dX)
    return dX


# ---- element-wise --------------------------------------------------------------

def activation(name, Z, *, slope=0.01):
    """act(Z), element-wise, with the same vector maths as the GEMM epilogue."""
    act = activation_code(name)
    slope = _check_slope(slope)
    Z = _asarray("Z", Z)
    if Z.dtype not in _FLOATS:
        raise TypeError(f"Z must have dtype float32 or float64, got {Z.dtype}")
    A = np.array(Z, dtype=Z.dtype, order="C", copy=True)
    _core.activation_inplace(A.reshape(-1), act, slope)
    return A


def activation_derivative(name, A, *, slope=0.01):
    """act'(Z) computed from the activation's output A."""
    act = activation_code(name)
    slope = _check_slope(slope)
    A = _asarray("A", A)
    if A.dtype not in _FLOATS:
        raise TypeError(f"A must have dtype float32 or float64, got {A.dtype}")
    A = _contiguous(A).reshape(A.shape)
    D = np.empty_like(A)
    _core.activation_derivative(A.reshape(-1), D.reshape(-1), act, slope)
    return D


def sgd_update(param, grad, lr):
    """param -= lr * grad, in place (param must be writable and C-contiguous)."""
    lr = _check_lr(lr)
    if not isinstance(param, np.ndarray):
        raise TypeError(f"param must be a numpy.ndarray (it is updated in place), got {type(param).__name__}")
    grad = _asarray("grad", grad)
    if param.dtype not in _FLOATS:
        raise TypeError(f"param must have dtype float32 or float64, got {param.dtype}")
    _same_dtype(param=param, grad=grad)
    _writable("param", param, param.shape, param.dtype)
    if grad.shape != param.shape:
        raise ValueError(f"grad must have shape {param.shape}, got {grad.shape}")
    grad = _contiguous(grad)
    if np.may_share_memory(param, grad):  # read all of grad before param changes
        grad = grad.copy()
    _core.sgd_update(param.reshape(-1), grad.reshape(-1), lr)
    return param


# ---- output layers and losses ---------------------------------------------------

def softmax(Z):
    """Row-wise softmax (max-subtracted) of Z (n_samples, n_classes)."""
    Z = _float_array("Z", Z, 2, check_finite=True)
    P = np.empty_like(Z)
    _core.softmax(Z, P)
    return P


def _loss_inputs(name_y, Y, name_t, T):
    Y = _float_array(name_y, Y, 2)
    T = _float_array(name_t, T, 2)
    _same_dtype(**{name_y: Y, name_t: T})
    if T.shape != Y.shape:
        raise ValueError(f"{name_t} must have the shape of {name_y} {Y.shape}, got {T.shape}")
    if Y.shape[0] == 0:
        raise ValueError("a loss needs at least one sample; got an empty batch")
    if Y.shape[1] == 0:
        raise ValueError(f"{name_y} must have at least one output column, got shape {Y.shape}")
    return Y, T


def softmax_cross_entropy(Z, y):
    """Softmax fused with categorical cross-entropy, from logits Z.

    y: integer labels (n_samples,) in [0, n_classes), or targets
    (n_samples, n_classes) such as one-hot rows.  Returns (loss, dZ) with
    loss the mean over samples of -sum_k y_k log softmax(Z)_k (log-sum-exp)
    and dZ = (softmax(Z) - Y) / n_samples.
    """
    Z = _float_array("Z", Z, 2)
    if Z.shape[0] == 0:
        raise ValueError("a loss needs at least one sample; got an empty batch")
    if Z.shape[1] == 0:
        raise ValueError("Z must have at least one class column")
    y = _asarray("y", y)
    dZ = np.empty_like(Z)
    if y.ndim == 1:
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"labels must be integers, got dtype {y.dtype}")
        if y.shape[0] != Z.shape[0]:
            raise ValueError(f"labels must have {Z.shape[0]} entries (one per row of Z), got {y.shape[0]}")
        labels = _contiguous(y, np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= Z.shape[1]):
            raise ValueError(f"labels must lie in [0, {Z.shape[1]}), got values in [{labels.min()}, {labels.max()}]")
        loss = _core.softmax_cross_entropy(Z, labels, None, dZ)
    elif y.ndim == 2:
        Y = _float_array("y", y, 2)
        _same_dtype(Z=Z, y=Y)
        if Y.shape != Z.shape:
            raise ValueError(f"target matrix y must have the shape of Z {Z.shape}, got {Y.shape}")
        loss = _core.softmax_cross_entropy(Z, None, Y, dZ)
    else:
        raise ValueError(f"y must be labels (1-D) or targets (2-D), got shape {y.shape}")
    return loss, dZ


def sigmoid_binary_cross_entropy(Z, T):
    """Sigmoid fused with binary cross-entropy from logits Z; targets T in [0, 1].

    Returns (loss, dZ): loss is the mean over all elements; dZ =
    (sigmoid(Z) - T) / Z.size.
    """
    Z, T = _loss_inputs("Z", Z, "T", T)
    dZ = np.empty_like(Z)
    loss = _core.sigmoid_binary_cross_entropy(Z, T, dZ)
    return loss, dZ


def half_squared_error(Y, T):
    """The notes' E = 1/2 sum_k (t_k - y_k)^2 per sample, averaged over the batch.

    Returns (loss, dY) with dY = (Y - T) / n_samples.
    """
    Y, T = _loss_inputs("Y", Y, "T", T)
    dY = np.empty_like(Y)
    loss = _core.half_squared_error(Y, T, dY)
    return loss, dY


def mse(Y, T):
    """Mean squared error over all elements; returns (loss, dY = 2 (Y - T) / Y.size)."""
    Y, T = _loss_inputs("Y", Y, "T", T)
    dY = np.empty_like(Y)
    loss = _core.mse(Y, T, dY)
    return loss, dY
