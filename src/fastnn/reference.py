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
* loss values are returned as Python floats.
"""

import math
import numbers

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "activation",
    "activation_derivative",
    "dense_forward",
    "dense_backward",
    "dense_backward_sgd",
    "softmax",
    "softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "half_squared_error",
    "mse",
    "sgd_update",
    "network_forward",
    "network_gradients",
    "sgd_step",
    "adam_step",
]

#: Names of the supported element-wise activations (notes 001 and 004).
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus")


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------

def _asarray(x, name):
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as e:  # e.g. a ragged nested list
        raise TypeError(f"{name}: expected a numeric array ({e})") from None


def _float_array(x, name):
    """``x`` as an ndarray of float32/float64 (anything else -> float64)."""
    x = _asarray(x, name)
    if x.dtype not in (np.float32, np.float64):
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected a numeric array, got dtype {x.dtype}")
        x = x.astype(np.float64)
    return x


def _common(*named):
    """Convert ``(name, array)`` pairs to one common floating dtype."""
    arrays = [_float_array(a, n) for n, a in named]
    dtype = np.result_type(*arrays)
    return [a.astype(dtype, copy=False) for a in arrays]


def _check_ndim(x, ndim, name):
    if x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {x.shape}")


def _real(value, name, lo=None, hi=None, lo_open=False, hi_open=False):
    """A finite real number (not a bool) in the given range, as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {value}")
    if hi is not None and (value > hi or (hi_open and value == hi)):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {value}")
    return value


def _check_activation(name, slope):
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATIONS}")
    _real(slope, "slope", lo=0)


def _check_writable(x, name):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: must be a numpy array (it is updated in place)")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: must have dtype float32 or float64 (it is updated in place), got {x.dtype}")
    if not x.flags.writeable:
        raise ValueError(f"{name}: array is read-only (it is updated in place)")


# --------------------------------------------------------------------------
# activations
# --------------------------------------------------------------------------

def _sigmoid(Z):
    """sigma(z) = 1 / (1 + e^{-z}) (notes 004), evaluated without overflow.

    For z >= 0 use 1 / (1 + e^{-z}); for z < 0 the algebraically equal
    e^{z} / (1 + e^{z}).  Both only ever exponentiate -|z| <= 0.
    """
    e = np.exp(-np.abs(Z))  # in [0, 1], never overflows
    one = Z.dtype.type(1)
    return np.where(Z >= 0, one / (one + e), e / (one + e))


def activation(name, Z, slope=0.01):
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
    """
    _check_activation(name, slope)
    Z = _float_array(Z, "Z")
    t = Z.dtype.type
    if name == "identity":
        return Z.copy()
    if name == "sigmoid":
        return _sigmoid(Z)
    if name == "tanh":
        return np.tanh(Z)
    if name == "relu":
        return np.where(Z <= 0, t(0), Z)  # NaN stays NaN
    if name == "leaky_relu":
        return np.where(Z > 0, Z, t(slope) * Z)
    # softplus
    return np.logaddexp(t(0), Z)


_activation_function = activation  # for functions whose argument shadows it


def activation_derivative(name, A, slope=0.01):
    """``g'(z)`` written in terms of the activation's OUTPUT ``A = g(z)``.

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
    """
    _check_activation(name, slope)
    A = _float_array(A, "A")
    t = A.dtype.type
    if name == "identity":
        return np.ones_like(A)
    if name == "sigmoid":
        return A * (t(1) - A)
    if name == "tanh":
        return t(1) - A * A
    if name == "relu":
        return (A > 0).astype(A.dtype)
    if name == "leaky_relu":
        return np.where(A > 0, t(1), t(slope)).astype(A.dtype)
    # softplus
    return -np.expm1(-A)


# --------------------------------------------------------------------------
# dense layer
# --------------------------------------------------------------------------

def dense_forward(X, W, b=None, activation="identity", slope=0.01):
    """Forward pass of a fully connected layer: ``A = g(X W^T + b)``.

    Per sample this is the notes' ``z_j = sum_i w_ji x_i + b_j``,
    ``a_j = g(z_j)`` (notes 002 "Forward"; notes 004 "h(x) = g(W^h x + b^h)").

    Shapes: X (n, in), W (out, in), b (out,) or None; returns A (n, out).
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


def dense_backward(dA, A, X, W, activation="identity", slope=0.01,
                   need_dX=True, bias=True):
    """Backward pass of a fully connected layer (chain rule, notes 002/004).

    Given dA = dL/dA (n, out), the layer's forward output A (n, out), its
    input X (n, in) and weights W (out, in):

    * dZ = dA * g'(Z), with g'(Z) from :func:`activation_derivative` of A
      ("dL/dz_out = dL/dy_hat * dy_hat/dz_out", notes 002)
    * dW = dZ^T X, i.e. dL/dw_ji = sum over samples of dz_j x_i
      ("dz_out/dw5 = a_h1", notes 002)
    * db = sum of dZ over the samples (dz_j/db_j = 1, notes 002 "Bias
      gradients"); None if ``bias`` is False
    * dX = dZ W, i.e. dL/dx_i = sum_j dz_j w_ji (what the layer below
      receives as its dA; "dz_out/da_h1 = w5", notes 002); None if
      ``need_dX`` is False.

    Returns ``(dW, db, dX)``.
    """
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


def dense_backward_sgd(dA, A, X, W, b, lr, activation="identity", slope=0.01,
                       need_dX=True):
    """Backward pass followed by one plain gradient-descent step.

    Computes dW, db, dX as :func:`dense_backward` and then updates IN PLACE
    ``W <- W - lr dW`` and (unless b is None) ``b <- b - lr db``
    (notes 004: "W_{t+1} = W_t - lambda_t grad f(W_t)"; notes 002:
    "W_new = W_old - LR dL/dW_old, B_new = B_old - LR dL/dB_old").

    dX is computed with the weights from BEFORE the update (the gradient
    belongs to the point where it was evaluated).  Returns dX (None if
    ``need_dX`` is False).
    """
    lr = _real(lr, "lr")
    _check_writable(W, "W")
    if b is not None:
        _check_writable(b, "b")
        if b.shape != (W.shape[0],):
            raise ValueError(f"b: expected shape ({W.shape[0]},), got {b.shape}")
    dW, db, dX = dense_backward(dA, A, X, W, activation, slope,
                                need_dX=need_dX, bias=b is not None)
    sgd_update(W, dW, lr)
    if b is not None:
        sgd_update(b, db, lr)
    return dX


# --------------------------------------------------------------------------
# output layers and losses
# --------------------------------------------------------------------------

def _logsumexp_rows(Z):
    """log sum_k exp(z_k) per row, as m + log sum_k exp(z_k - m), m = max_k z_k."""
    m = Z.max(axis=-1, keepdims=True)
    return m + np.log(np.exp(Z - m).sum(axis=-1, keepdims=True))


def softmax(Z):
    """Row-wise softmax ``p_j = e^{z_j} / sum_k e^{z_k}`` (notes 000, 001).

    The row maximum is subtracted first (it cancels between numerator and
    denominator) so that no exponential overflows.  Works along the last
    axis of a 1-d or 2-d array.
    """
    Z = _float_array(Z, "Z")
    if Z.ndim not in (1, 2):
        raise ValueError(f"Z: expected a 1-d or 2-d array, got shape {Z.shape}")
    if Z.shape[-1] == 0:
        return Z.copy()
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def _check_loss_2d(Z, name):
    _check_ndim(Z, 2, name)
    n, k = Z.shape
    if n == 0 or k == 0:
        raise ValueError(f"{name}: a loss needs at least one sample and one output, got shape {Z.shape}")
    return n, k


def softmax_cross_entropy(Z, y):
    """Softmax fused with categorical cross-entropy, from logits Z (n, k).

    Notes 000 (ERM objective with a softmax output layer):

        L = -(1/n) sum_i sum_k y_ik log(p_ik),   p_i = softmax(z_i),

    where log p_ik = z_ik - logsumexp(z_i) (no log of a rounded-to-zero
    probability).  ``y`` is either integer class labels of shape (n,) with
    values in [0, k) (one-hot targets) or a target matrix of shape (n, k).

    Returns ``(loss, dZ)`` with dZ = (P sum_k y_k - Y) / n, the exact
    gradient of L; it is the familiar (P - Y) / n when every target row sums
    to one (always true for labels).
    """
    Z = _float_array(Z, "Z")
    n, k = _check_loss_2d(Z, "Z")
    y = _asarray(y, "y")
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


def sigmoid_binary_cross_entropy(Z, T):
    """Sigmoid fused with binary cross-entropy, from logits Z (n, k).

    Notes 004 ("BINARY CLASSIFICATION LOSS"), averaged over all n*k outputs:

        H = -mean[ t log s + (1 - t) log(1 - s) ],   s = sigma(z).

    Using log s = -log(1 + e^{-z}) and log(1 - s) = -z - log(1 + e^{-z}),
    each term equals  max(z, 0) - z t + log(1 + e^{-|z|}),  which is what is
    evaluated (no overflow, no log(0)).

    Returns ``(loss, dZ)`` with dZ = (sigma(Z) - T) / (n k).
    """
    Z, T = _common(("Z", Z), ("T", T))
    n, k = _check_loss_2d(Z, "Z")
    if T.shape != Z.shape:
        raise ValueError(f"T: shape {T.shape} does not match Z {Z.shape}")
    terms = np.maximum(Z, 0) - Z * T + np.log1p(np.exp(-np.abs(Z)))
    loss = terms.mean()
    dZ = (_sigmoid(Z) - T) / Z.dtype.type(n * k)
    return float(loss), dZ


def half_squared_error(Y, T):
    """The notes' squared error, averaged over the batch.

    Per sample E = 1/2 sum_k (t_k - y_k)^2 (notes 004 "L_total = sum
    0.5 (target - output)^2"; notes 000 "E_total"; notes 002 call it
    "MSE Loss = 0.5 (y_true - y_hat)^2"); the batch loss is the mean of E
    over the n samples.  Returns ``(loss, dY)`` with dY = (Y - T) / n
    (notes 004: dE/dout_o1 = -(target_o1 - out_o1)).
    """
    Y, T = _common(("Y", Y), ("T", T))
    n, _ = _check_loss_2d(Y, "Y")
    if T.shape != Y.shape:
        raise ValueError(f"T: shape {T.shape} does not match Y {Y.shape}")
    D = Y - T
    loss = Y.dtype.type(0.5) * (D * D).sum(axis=1).mean()
    dY = D / Y.dtype.type(n)
    return float(loss), dY


def mse(Y, T):
    """Mean squared error over all n*k elements (notes 004 "Regression"):

        MSE = 1/(n k) sum_ik (y_ik - t_ik)^2.

    Returns ``(loss, dY)`` with dY = 2 (Y - T) / (n k).
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

def sgd_update(param, grad, lr):
    """One plain gradient-descent step, in place: ``param <- param - lr grad``.

    Notes 004: "W_{t+1} = W_t - lambda_t grad f(W_t)"; notes 004 worked
    example: "w5^{t+1} = w5 - lambda dL/dw5".  Returns None.
    """
    lr = _real(lr, "lr")
    _check_writable(param, "param")
    grad = _float_array(grad, "grad")
    if grad.shape != param.shape:
        raise ValueError(f"grad: shape {grad.shape} does not match param {param.shape}")
    param -= param.dtype.type(lr) * grad.astype(param.dtype, copy=False)


# ---------------------------------------------------------------------------
# Whole networks and optimizers: the oracle for fastnn.Trainer.
# ---------------------------------------------------------------------------

def _output_activation(name, Z, slope):
    if name == "softmax":
        return softmax(Z)
    return activation(name, Z, slope)


def _check_network(weights, biases, activations, slope):
    """The layer lists as lists of float64 arrays, checked against each other."""
    lists = {}
    for name, seq in (("weights", weights), ("biases", biases), ("activations", activations)):
        if isinstance(seq, (str, bytes, np.ndarray)) or not isinstance(seq, (list, tuple)):
            raise TypeError(f"{name} must be a list with one entry per layer, got {type(seq).__name__}")
        lists[name] = list(seq)
    L = len(lists["weights"])
    if L == 0:
        raise ValueError("weights must hold at least one layer")
    for name in ("biases", "activations"):
        if len(lists[name]) != L:
            raise ValueError(f"{name} has {len(lists[name])} entries but weights has {L} layers")
    Ws, bs = [], []
    for l, (W, b, act) in enumerate(zip(lists["weights"], lists["biases"], lists["activations"])):
        W = _float_array(W, f"weights[{l}]").astype(np.float64)
        _check_ndim(W, 2, f"weights[{l}]")
        if l and W.shape[1] != Ws[-1].shape[0]:
            raise ValueError(f"weights[{l}] has shape {W.shape} but layer {l - 1} gives {Ws[-1].shape[0]} outputs")
        if b is not None:
            b = _float_array(b, f"biases[{l}]").astype(np.float64)
            if b.shape not in ((), (W.shape[0],)):
                raise ValueError(f"biases[{l}] must be a scalar or of shape ({W.shape[0]},), got {b.shape}")
        if act != "softmax":
            if not isinstance(act, str) or act not in ACTIVATIONS:
                raise ValueError(f"activations[{l}]: unknown activation {act!r}")
        Ws.append(W)
        bs.append(b)
    _real(slope, "slope", lo=0)
    return Ws, bs, lists["activations"]


def network_forward(weights, biases, activations, X, slope=0.01):
    """Activations of every layer of a stack of dense layers, input first.

    ``weights[l]`` is (out, in); ``biases[l]`` is an (out,) array, a scalar
    shared by the layer's neurons, or None; ``activations[l]`` a name from
    ACTIVATIONS or "softmax" (last layer).  Returns [X, A_1, ..., A_L].
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


def network_gradients(weights, biases, activations, X, y, loss, slope=0.01):
    """Loss and gradients of every parameter by backpropagation (notes 002,
    004): delta_L from the loss, delta_l = (delta_{l+1} W_{l+1}) * act'(A_l),
    dW_l = delta_l^T A_{l-1}, db_l = sum over samples of delta_l (and over
    the neurons too for a shared scalar bias).

    loss: "half_squared_error", "mse", "cross_entropy" (softmax output, y
    labels or targets) or "binary_cross_entropy" (sigmoid output).
    Returns (loss_value, [dW_l], [db_l]).
    """
    if not isinstance(loss, str) or loss not in ("half_squared_error", "mse", "cross_entropy",
                                                  "binary_cross_entropy"):
        raise ValueError(f"unknown loss {loss!r}; expected half_squared_error, mse, cross_entropy "
                         "or binary_cross_entropy")
    weights, biases, activations = _check_network(weights, biases, activations, slope)
    outs = network_forward(weights, biases, activations, X, slope)
    L = len(weights)
    Y = outs[-1]
    if loss in ("cross_entropy", "binary_cross_entropy"):
        # the fused losses take the logits: recompute them
        Zl = outs[-2] @ np.asarray(weights[-1]).T + (0 if biases[-1] is None else biases[-1])
        fn = softmax_cross_entropy if loss == "cross_entropy" else sigmoid_binary_cross_entropy
        value, delta = fn(Zl, y)
    else:
        fn = {"half_squared_error": half_squared_error, "mse": mse}[loss]
        y = _float_array(y, "y")
        if y.size != Y.size:
            raise ValueError(f"y must hold one target per output, {Y.shape}, got shape {y.shape}")
        value, dY = fn(Y, y.astype(np.float64).reshape(Y.shape))
        delta = dY * activation_derivative(activations[-1], Y, slope)
    dWs, dbs = [None] * L, [None] * L
    for l in range(L - 1, -1, -1):
        dWs[l] = delta.T @ outs[l]
        if biases[l] is None:
            dbs[l] = None
        elif np.ndim(biases[l]) == 0:
            dbs[l] = delta.sum()
        else:
            dbs[l] = delta.sum(axis=0)
        if l > 0:
            delta = (delta @ np.asarray(weights[l])) * activation_derivative(activations[l - 1], outs[l], slope)
    return value, dWs, dbs


def _same_shape(*named):
    """The arrays of ``(name, array)`` pairs as float arrays of one shape."""
    arrays = _common(*named)
    for (name, _), a in zip(named[1:], arrays[1:]):
        if a.shape != arrays[0].shape:
            raise ValueError(f"{name}: shape {a.shape} does not match {named[0][0]} {arrays[0].shape}")
    return arrays


def sgd_step(p, g, v, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """One SGD step (PyTorch's convention, dampening 0); returns (p, v).

        g <- g + weight_decay p;   v <- momentum v + g;
        p <- p - lr (g + momentum v)  with Nesterov,  p - lr v  without.
    With momentum = weight_decay = 0 this is the notes' p <- p - lr g.
    """
    p, g, v = _same_shape(("p", p), ("g", g), ("v", v))
    lr = _real(lr, "lr", lo=0)
    momentum = _real(momentum, "momentum", lo=0, hi=1, hi_open=True)
    weight_decay = _real(weight_decay, "weight_decay", lo=0)
    if not isinstance(nesterov, (bool, np.bool_)):
        raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
    g = g + weight_decay * p
    v = momentum * v + g
    step = g + momentum * v if nesterov else v
    return p - lr * step, v


def adam_step(p, g, m, v, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """One Adam step with decoupled weight decay (AdamW); t counts from 1.
    Returns (p, m, v).

        p <- p (1 - lr weight_decay);  m <- b1 m + (1 - b1) g;
        v <- b2 v + (1 - b2) g^2;      p <- p - lr m_hat / (sqrt(v_hat) + eps)
    with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).
    """
    p, g, m, v = _same_shape(("p", p), ("g", g), ("m", m), ("v", v))
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral) or t < 1:
        raise ValueError(f"t must be an int >= 1 (steps count from 1), got {t!r}")
    lr = _real(lr, "lr", lo=0)
    if isinstance(betas, (str, bytes)) or not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    b1, b2 = (_real(b, f"betas[{i}]", lo=0, hi=1, hi_open=True) for i, b in enumerate(betas))
    eps = _real(eps, "eps", lo=0, lo_open=True)
    weight_decay = _real(weight_decay, "weight_decay", lo=0)
    p = p * (1 - lr * weight_decay)
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
