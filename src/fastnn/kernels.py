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

Scalar arguments are checked by :mod:`fastnn._validation` (a wrong type
raises TypeError, a wrong value ValueError, naming the argument); the
array checks below (dtype, layout, overlap, finiteness) are the kernels'
own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _core
from ._validation import as_array, check_bool, check_choice, check_image_shape, check_instance, check_real
from .nn.activations import ACTIVATIONS as _REGISTERED
from .nn.activations import EPILOGUE_ACTIVATIONS as ACTIVATIONS
from .nn.activations import get_activation

if TYPE_CHECKING:
    from ._typing import ArrayLike, DTypeLike, FloatArray

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
    "shift_images",
    "sigmoid_binary_cross_entropy",
    "softmax",
    "softmax_cross_entropy",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# ---- argument checking --------------------------------------------------------

def activation_code(name: str) -> int:
    """Return the C kernels' code of an activation computed in the GEMM epilogue.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS` (the epilogue activations of the registry
        :mod:`fastnn.nn.activations`).

    Returns
    -------
    int
        The code the C kernels take.

    Raises
    ------
    TypeError
        If `name` is not a string.
    ValueError
        If `name` is not an epilogue activation (softmax, step and sign are
        applied after the GEMM, not by the kernels); the message lists the
        valid names.
    """
    if isinstance(name, str) and name in _REGISTERED and name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not computed by the kernels (fastnn applies it after "
                         f"the GEMM); expected one of {', '.join(map(repr, ACTIVATIONS))}")
    check_choice("activation", name, ACTIVATIONS)
    return get_activation(name).kernel_code


def _check_float_dtype(name: str, arr: np.ndarray) -> None:
    """Raise TypeError unless ``arr`` is float32 or float64."""
    if arr.dtype not in _FLOATS:
        raise TypeError(f"{name} must have dtype float32 or float64, got {arr.dtype}")


def _no_overlap(name: str, arr: np.ndarray, **others: np.ndarray | None) -> None:
    """Raise ValueError if ``arr``, written by a kernel, overlaps an array it reads."""
    for other_name, other in others.items():
        if other is not None and np.may_share_memory(arr, other):
            raise ValueError(f"{name} shares memory with {other_name}; pass separate arrays")


def _contiguous(arr: ArrayLike, dtype: DTypeLike | None = None) -> np.ndarray:
    """Return ``arr`` as a C-contiguous, aligned array (a copy only if it is neither).

    A view at an odd byte offset is contiguous but not aligned, and the C
    kernels load whole floats.
    """
    return np.require(arr, dtype=dtype, requirements=("C", "A"))


def _float_array(name: str, x: ArrayLike, ndim: int, check_finite: bool = True) -> FloatArray:
    """Return ``x`` as a C-contiguous float32/float64 array of ``ndim`` dimensions."""
    arr = as_array(name, x)
    _check_float_dtype(name, arr)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    arr = _contiguous(arr)
    if check_finite and not _core.all_finite(arr.reshape(-1)):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def _same_dtype(**arrays: np.ndarray | None) -> np.dtype[Any]:
    """Return the arrays' common dtype; TypeError naming them if (non-None) ones mix dtypes."""
    named = [(k, v) for k, v in arrays.items() if v is not None]
    first_name, first = named[0]
    for name, arr in named[1:]:
        if arr.dtype != first.dtype:
            raise TypeError(
                f"mixed dtypes: {first_name} is {first.dtype} but {name} is {arr.dtype}; "
                "convert them to one dtype (float32 or float64)"
            )
    return first.dtype


def _writable(name: str, arr: object, shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """Return ``arr`` if it can be written in place as an array of this shape and dtype."""
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


def _out(name: str, out: FloatArray | None, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
    """Return ``out`` checked as a writable output, or a new array when it is None."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    return _writable(name, out, shape, dtype)


def _check_layer(X: FloatArray, W: FloatArray, b: FloatArray | None) -> None:
    """Raise ValueError unless X, W and b (or None) fit one dense layer."""
    if W.shape[1] != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but W has shape {W.shape} "
            f"(out_features, in_features): in_features must be {X.shape[1]}"
        )
    if b is not None and b.shape != (W.shape[0],):
        raise ValueError(f"b must have shape ({W.shape[0]},) to match W {W.shape}, got {b.shape}")


def _check_rows(name: str, arr: np.ndarray, n: int, k: int) -> None:
    """Raise ValueError unless ``arr`` has shape (n, k)."""
    if arr.shape != (n, k):
        raise ValueError(f"{name} must have shape {(n, k)}, got {arr.shape}")


def _params_in_place(W: FloatArray, b: FloatArray | None, check_finite: bool,
                     **inputs: FloatArray) -> np.dtype[Any]:
    """Check W and b (or None), updated in place, against the input arrays; return the dtype."""
    check_instance("W", W, np.ndarray, "a numpy.ndarray (it is updated in place)")
    if W.ndim != 2:
        raise ValueError(f"W must be 2-dimensional, got shape {W.shape}")
    dtype = _same_dtype(**inputs, W=W)
    _writable("W", W, W.shape, dtype)
    if b is not None:
        _writable("b", b, (W.shape[0],), dtype)
    if check_finite:
        for name, arr in (("W", W), ("b", b)):
            if arr is not None and not _core.all_finite(arr.reshape(-1)):
                raise ValueError(f"{name} contains NaN or infinity")
    return dtype


# ---- dense layer --------------------------------------------------------------

def dense_forward(X: ArrayLike, W: ArrayLike, b: ArrayLike | None = None, activation: str = "identity", *,
                  slope: float = 0.01, out: FloatArray | None = None, check_finite: bool = True) -> FloatArray:
    """Compute a dense layer's output ``A = act(X @ W.T + b)`` in one kernel.

    The bias and the activation are applied in the GEMM's epilogue, while
    each tile of the product is still in registers.

    Parameters
    ----------
    X : array_like, shape (n_samples, in_features)
        The input batch, float32 or float64.
    W : array_like, shape (out_features, in_features)
        The weights, of the dtype of `X`.
    b : array_like, shape (out_features,), optional
        The bias, of the dtype of `X`; None for no bias.
    activation : str, default "identity"
        One of :data:`ACTIVATIONS`.
    slope : float, default 0.01
        The negative-side slope of leaky_relu (>= 0); the other activations ignore it.
    out : numpy.ndarray, shape (n_samples, out_features), optional
        A C-contiguous, writable array of the dtype of `X`, not overlapping
        the inputs, to write the result into; None for a new array.
    check_finite : bool, default True
        Whether to refuse NaN and infinity in `X`, `W` and `b`.  Without the
        check a non-finite value propagates into the result.

    Returns
    -------
    numpy.ndarray, shape (n_samples, out_features)
        The activations A, of the dtype of `X` (`out` itself when given).

    Raises
    ------
    TypeError
        For an argument of the wrong type, a dtype other than float32 or
        float64, or arrays of mixed dtypes.
    ValueError
        For wrong shapes, NaN or infinity (with `check_finite`), an activation
        not in :data:`ACTIVATIONS`, a negative `slope`, or an `out` that cannot
        be written in place.

    See Also
    --------
    fastnn.reference.dense_forward : The NumPy twin.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import kernels
    >>> X = np.array([[0.05, 0.10]])
    >>> W = np.array([[0.15, 0.20], [0.25, 0.30]])
    >>> kernels.dense_forward(X, W, np.array([0.35, 0.35]), "sigmoid")
    array([[0.59326999, 0.59688438]])
    """
    act = activation_code(activation)
    slope = check_real("slope", slope, minimum=0)
    check_finite = check_bool("check_finite", check_finite)
    X = _float_array("X", X, 2, check_finite)
    W = _float_array("W", W, 2, check_finite)
    b = None if b is None else _float_array("b", b, 1, check_finite)
    dtype = _same_dtype(X=X, W=W, b=b)
    _check_layer(X, W, b)
    A = _out("out", out, (X.shape[0], W.shape[0]), dtype)
    _no_overlap("out", A, X=X, W=W, b=b)
    _core.dense_forward(X, W, b, A, act, slope)
    return A


def dense_backward(dA: ArrayLike, A: ArrayLike, X: ArrayLike, W: ArrayLike, activation: str = "identity", *,
                   slope: float = 0.01, need_dX: bool = True, bias: bool = True,
                   check_finite: bool = True) -> tuple[FloatArray, FloatArray | None, FloatArray | None]:
    """Compute a dense layer's gradients from ``dA = dLoss/dA`` and its forward output A.

    With ``dZ = dA * act'(A)``: ``dW = dZ.T @ X``, ``db = dZ.sum(0)`` and
    ``dX = dZ @ W``.

    Parameters
    ----------
    dA : array_like, shape (n_samples, out_features)
        The gradient of the loss with respect to the layer's output.
    A : array_like, shape (n_samples, out_features)
        The layer's output in the forward pass (act' is computed from it).
    X : array_like, shape (n_samples, in_features)
        The layer's input in the forward pass.
    W : array_like, shape (out_features, in_features)
        The layer's weights.
    activation : str, default "identity"
        The layer's activation, one of :data:`ACTIVATIONS`.
    slope : float, default 0.01
        The negative-side slope of leaky_relu (>= 0).
    need_dX : bool, default True
        Whether to compute dX (the first layer needs none).
    bias : bool, default True
        Whether to compute db (a layer without bias needs none).
    check_finite : bool, default True
        Whether to refuse NaN and infinity in the arrays.

    Returns
    -------
    dW : numpy.ndarray, shape (out_features, in_features)
        The gradient of the weights.
    db : numpy.ndarray, shape (out_features,) or None
        The gradient of the bias; None when `bias` is False.
    dX : numpy.ndarray, shape (n_samples, in_features) or None
        The gradient of the input; None when `need_dX` is False.

    Raises
    ------
    TypeError
        For an argument of the wrong type, a dtype other than float32 or
        float64, or arrays of mixed dtypes.
    ValueError
        For shapes that do not fit one layer, NaN or infinity (with
        `check_finite`), an activation not in :data:`ACTIVATIONS` or a
        negative `slope`.

    See Also
    --------
    fastnn.reference.dense_backward : The NumPy twin.
    """
    act = activation_code(activation)
    slope = check_real("slope", slope, minimum=0)
    need_dX = check_bool("need_dX", need_dX)
    bias = check_bool("bias", bias)
    check_finite = check_bool("check_finite", check_finite)
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


def dense_backward_sgd(dA: ArrayLike, A: ArrayLike, X: ArrayLike, W: FloatArray, b: FloatArray | None,
                       lr: float, activation: str = "identity", *, slope: float = 0.01, need_dX: bool = True,
                       check_finite: bool = True) -> FloatArray | None:
    """Run a dense layer's backward pass fused with a plain SGD step on W and b.

    ``dX = dZ @ W`` uses W as it was before the step; then, in place,
    ``W -= lr * dZ.T @ X`` (inside the GEMM's epilogue: dW is never stored)
    and ``b -= lr * dZ.sum(0)``.

    Parameters
    ----------
    dA, A, X : array_like
        As in :func:`dense_backward`.
    W : numpy.ndarray, shape (out_features, in_features)
        The weights, updated in place: C-contiguous and writable, of the dtype of `X`.
    b : numpy.ndarray, shape (out_features,) or None
        The bias, updated in place like `W`; None for a layer without bias.
    lr : float
        The learning rate (finite; any sign).
    activation : str, default "identity"
        The layer's activation, one of :data:`ACTIVATIONS`.
    slope : float, default 0.01
        The negative-side slope of leaky_relu (>= 0).
    need_dX : bool, default True
        Whether to compute dX.
    check_finite : bool, default True
        Whether to refuse NaN and infinity in the arrays (W and b included).

    Returns
    -------
    numpy.ndarray, shape (n_samples, in_features) or None
        The gradient dX of the input; None when `need_dX` is False.

    Raises
    ------
    TypeError
        As :func:`dense_backward`, and for a `W` that is not a numpy.ndarray.
    ValueError
        As :func:`dense_backward`, for a non-finite `lr`, and for a `W` or `b`
        that cannot be written in place or overlaps an input.  A refused
        call leaves `W` and `b` unchanged.
    """
    act = activation_code(activation)
    slope = check_real("slope", slope, minimum=0)
    lr = check_real("lr", lr)
    need_dX = check_bool("need_dX", need_dX)
    check_finite = check_bool("check_finite", check_finite)
    dA = _float_array("dA", dA, 2, check_finite)
    A = _float_array("A", A, 2, check_finite)
    X = _float_array("X", X, 2, check_finite)
    dtype = _params_in_place(W, b, check_finite, dA=dA, A=A, X=X)
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

def activation(name: str, Z: ArrayLike, *, slope: float = 0.01) -> FloatArray:
    """Apply an activation element-wise, with the same vector maths as the GEMM epilogue.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.
    Z : array_like
        The pre-activations, float32 or float64, of any shape; NaN and
        infinity are allowed.
    slope : float, default 0.01
        The negative-side slope of leaky_relu (>= 0).

    Returns
    -------
    numpy.ndarray
        ``act(Z)``, a new array of the shape and dtype of `Z`.

    Raises
    ------
    TypeError
        For a non-string `name`, a `Z` that is not an array of float32 or
        float64, or a `slope` that is not a real number.
    ValueError
        For a `name` not in :data:`ACTIVATIONS` or a negative or non-finite `slope`.
    """
    act = activation_code(name)
    slope = check_real("slope", slope, minimum=0)
    Z = as_array("Z", Z)
    _check_float_dtype("Z", Z)
    A = np.array(Z, dtype=Z.dtype, order="C", copy=True)
    _core.activation_inplace(A.reshape(-1), act, slope)
    return A


def activation_derivative(name: str, A: ArrayLike, *, slope: float = 0.01) -> FloatArray:
    """Compute an activation's derivative ``act'(Z)`` from its output ``A = act(Z)``.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.
    A : array_like
        The activation's output, float32 or float64, of any shape.
    slope : float, default 0.01
        The negative-side slope of leaky_relu (>= 0).

    Returns
    -------
    numpy.ndarray
        ``act'(Z)``, a new array of the shape and dtype of `A`.

    Raises
    ------
    TypeError
        For a non-string `name`, an `A` that is not an array of float32 or
        float64, or a `slope` that is not a real number.
    ValueError
        For a `name` not in :data:`ACTIVATIONS` or a negative or non-finite `slope`.
    """
    act = activation_code(name)
    slope = check_real("slope", slope, minimum=0)
    A = as_array("A", A)
    _check_float_dtype("A", A)
    A = _contiguous(A).reshape(A.shape)
    D = np.empty_like(A)
    _core.activation_derivative(A.reshape(-1), D.reshape(-1), act, slope)
    return D


def sgd_update(param: FloatArray, grad: ArrayLike, lr: float) -> FloatArray:
    """Take one plain gradient-descent step in place: ``param -= lr * grad``.

    Parameters
    ----------
    param : numpy.ndarray
        The parameters, float32 or float64, C-contiguous and writable.
    grad : array_like
        The gradient, of the shape and dtype of `param` (it may overlap
        `param`: it is read in full first).
    lr : float
        The learning rate (finite; any sign).

    Returns
    -------
    numpy.ndarray
        `param` itself, updated.

    Raises
    ------
    TypeError
        For a `param` that is not a numpy.ndarray of float32 or float64, a
        `grad` of another dtype, or an `lr` that is not a real number.
    ValueError
        For a `param` that cannot be written in place, a `grad` of another
        shape or a non-finite `lr`.  A refused call leaves `param` unchanged.
    """
    lr = check_real("lr", lr)
    check_instance("param", param, np.ndarray, "a numpy.ndarray (it is updated in place)")
    g = as_array("grad", grad)
    _check_float_dtype("param", param)
    _same_dtype(param=param, grad=g)
    _writable("param", param, param.shape, param.dtype)
    if g.shape != param.shape:
        raise ValueError(f"grad must have shape {param.shape}, got {g.shape}")
    g = _contiguous(g)
    if np.may_share_memory(param, g):  # read all of grad before param changes
        g = g.copy()
    _core.sgd_update(param.reshape(-1), g.reshape(-1), lr)
    return param


# ---- data ----------------------------------------------------------------------

def _shifts(name: str, d: ArrayLike, n: int) -> np.ndarray:
    """``d`` as a C-contiguous int64 vector of ``n`` whole-pixel shifts."""
    arr = as_array(name, d)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers (whole pixels), got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one shift per image, got {arr.shape}")
    return _contiguous(arr.astype(np.int64, copy=False))


def shift_images(X: ArrayLike, dy: ArrayLike, dx: ArrayLike, image_shape: tuple[int, int] = (28, 28),
                 fill: float = 0.0, *, out: FloatArray | None = None) -> FloatArray:
    """Move every image by whole pixels: the augmentation of :class:`fastnn.datasets.RandomShift`.

    Row ``i`` of the result is image ``i`` of `X` moved down ``dy[i]`` rows
    and right ``dx[i]`` columns (negative: up, left), the pixels it uncovers
    set to `fill`; one pass over the data, on fastnn's threads when large.

    Parameters
    ----------
    X : array_like
        Flattened images, ``(n, height * width)``, float32 or float64.
    dy, dx : array_like
        The shifts, ``n`` integers each.
    image_shape : (int, int), default (28, 28)
        Height and width of an image.
    fill : float, default 0.0
        The value of the uncovered pixels.
    out : numpy.ndarray, optional
        Where to write the result (of `X`'s shape and dtype, C-contiguous,
        not overlapping `X`); a new array if omitted.

    Returns
    -------
    numpy.ndarray
        `out`, or the new array.

    Raises
    ------
    TypeError
        For an `X` that is not float32 or float64, shifts that are not
        integers, or an `out` of another dtype.
    ValueError
        For an `X` that is not 2-d, shifts not one per image, an
        `image_shape` that does not match `X`'s columns, or an `out` of
        another shape, not writable, or overlapping `X`.
    """
    arr = _float_array("X", X, 2, check_finite=False)
    n, pixels = arr.shape
    h, w = check_image_shape("image_shape", image_shape, pixels)
    sy, sx = _shifts("dy", dy, n), _shifts("dx", dx, n)
    fill = check_real("fill", fill, finite=False)
    res = _out("out", out, arr.shape, arr.dtype)
    _no_overlap("out", res, X=arr)
    _core.shift_images(arr, sy, sx, h, w, fill, res)
    return res


# ---- output layers and losses ---------------------------------------------------

def softmax(Z: ArrayLike) -> FloatArray:
    """Compute the row-wise softmax ``exp(z_j) / sum_k exp(z_k)``, max-subtracted.

    Parameters
    ----------
    Z : array_like, shape (n_samples, n_classes)
        The logits, float32 or float64, finite.

    Returns
    -------
    numpy.ndarray, shape (n_samples, n_classes)
        The probabilities, of the dtype of `Z`; each row sums to 1.

    Raises
    ------
    TypeError
        For a `Z` that is not an array of float32 or float64.
    ValueError
        For a `Z` that is not 2-D or holds NaN or infinity.

    See Also
    --------
    fastnn.reference.softmax : The NumPy twin.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn import kernels
    >>> kernels.softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]]))
    array([[0.09003057, 0.24472847, 0.66524096],
           [0.33333333, 0.33333333, 0.33333333]])
    """
    Z = _float_array("Z", Z, 2, check_finite=True)
    P = np.empty_like(Z)
    _core.softmax(Z, P)
    return P


def _loss_inputs(name_y: str, Y: ArrayLike, name_t: str, T: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Check a loss's two (n_samples, n_outputs) arrays; return them as C-contiguous float arrays."""
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


def _labels(y: np.ndarray, Z: FloatArray) -> np.ndarray:
    """Check integer class labels y, one per row of Z; return them as int64."""
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {y.dtype}")
    if y.shape[0] != Z.shape[0]:
        raise ValueError(f"labels must have {Z.shape[0]} entries (one per row of Z), got {y.shape[0]}")
    labels = _contiguous(y, np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= Z.shape[1]):
        raise ValueError(f"labels must lie in [0, {Z.shape[1]}), got values in [{labels.min()}, {labels.max()}]")
    return labels


def softmax_cross_entropy(Z: ArrayLike, y: ArrayLike) -> tuple[float, FloatArray]:
    """Compute softmax fused with categorical cross-entropy, from logits Z.

    The loss is the mean over samples of ``-sum_k y_k log softmax(Z)_k``,
    computed with log-sum-exp (no log of a probability rounded to zero).

    Parameters
    ----------
    Z : array_like, shape (n_samples, n_classes)
        The logits, float32 or float64, finite, with at least one row and
        one column.
    y : array_like, shape (n_samples,) or (n_samples, n_classes)
        Integer class labels in [0, n_classes), or a target matrix (such as
        one-hot rows) of the dtype of `Z`.

    Returns
    -------
    loss : float
        The mean cross-entropy.
    dZ : numpy.ndarray, shape (n_samples, n_classes)
        Its gradient with respect to `Z`, ``(softmax(Z) - Y) / n_samples``.

    Raises
    ------
    TypeError
        For arrays of the wrong type or dtype (labels must be integers).
    ValueError
        For wrong shapes, an empty batch, labels out of range, or NaN or
        infinity.

    See Also
    --------
    fastnn.reference.softmax_cross_entropy : The NumPy twin.
    """
    Z = _float_array("Z", Z, 2)
    if Z.shape[0] == 0:
        raise ValueError("a loss needs at least one sample; got an empty batch")
    if Z.shape[1] == 0:
        raise ValueError("Z must have at least one class column")
    y = as_array("y", y)
    dZ = np.empty_like(Z)
    if y.ndim == 1:
        loss = _core.softmax_cross_entropy(Z, _labels(y, Z), None, dZ)
    elif y.ndim == 2:
        Y = _float_array("y", y, 2)
        _same_dtype(Z=Z, y=Y)
        if Y.shape != Z.shape:
            raise ValueError(f"target matrix y must have the shape of Z {Z.shape}, got {Y.shape}")
        loss = _core.softmax_cross_entropy(Z, None, Y, dZ)
    else:
        raise ValueError(f"y must be labels (1-D) or targets (2-D), got shape {y.shape}")
    return loss, dZ


def sigmoid_binary_cross_entropy(Z: ArrayLike, T: ArrayLike) -> tuple[float, FloatArray]:
    """Compute sigmoid fused with binary cross-entropy, from logits Z.

    Parameters
    ----------
    Z : array_like, shape (n_samples, n_outputs)
        The logits, float32 or float64, finite.
    T : array_like, shape (n_samples, n_outputs)
        The targets in [0, 1], of the dtype of `Z`.

    Returns
    -------
    loss : float
        The binary cross-entropy, averaged over all elements.
    dZ : numpy.ndarray, shape (n_samples, n_outputs)
        Its gradient with respect to `Z`, ``(sigmoid(Z) - T) / Z.size``.

    Raises
    ------
    TypeError
        For arrays of the wrong type or dtype, or of mixed dtypes.
    ValueError
        For arrays that are not 2-D or of different shapes, an empty batch,
        or NaN or infinity.
    """
    Z, T = _loss_inputs("Z", Z, "T", T)
    dZ = np.empty_like(Z)
    loss = _core.sigmoid_binary_cross_entropy(Z, T, dZ)
    return loss, dZ


def half_squared_error(Y: ArrayLike, T: ArrayLike) -> tuple[float, FloatArray]:
    """Compute the notes' ``E = 1/2 sum_k (t_k - y_k)^2`` per sample, averaged over the batch.

    Parameters
    ----------
    Y : array_like, shape (n_samples, n_outputs)
        The outputs, float32 or float64, finite.
    T : array_like, shape (n_samples, n_outputs)
        The targets, of the dtype of `Y`.

    Returns
    -------
    loss : float
        The mean over samples of E.
    dY : numpy.ndarray, shape (n_samples, n_outputs)
        Its gradient with respect to `Y`, ``(Y - T) / n_samples``.

    Raises
    ------
    TypeError
        For arrays of the wrong type or dtype, or of mixed dtypes.
    ValueError
        For arrays that are not 2-D or of different shapes, an empty batch,
        or NaN or infinity.
    """
    Y, T = _loss_inputs("Y", Y, "T", T)
    dY = np.empty_like(Y)
    loss = _core.half_squared_error(Y, T, dY)
    return loss, dY


def mse(Y: ArrayLike, T: ArrayLike) -> tuple[float, FloatArray]:
    """Compute the mean squared error over all elements.

    Parameters
    ----------
    Y : array_like, shape (n_samples, n_outputs)
        The outputs, float32 or float64, finite.
    T : array_like, shape (n_samples, n_outputs)
        The targets, of the dtype of `Y`.

    Returns
    -------
    loss : float
        The mean of ``(Y - T)**2``.
    dY : numpy.ndarray, shape (n_samples, n_outputs)
        Its gradient with respect to `Y`, ``2 (Y - T) / Y.size``.

    Raises
    ------
    TypeError
        For arrays of the wrong type or dtype, or of mixed dtypes.
    ValueError
        For arrays that are not 2-D or of different shapes, an empty batch,
        or NaN or infinity.
    """
    Y, T = _loss_inputs("Y", Y, "T", T)
    dY = np.empty_like(Y)
    loss = _core.mse(Y, T, dY)
    return loss, dY
