"""Layers: the fully connected layer ``Dense``.

A Dense layer holds ``weight`` (out_features, in_features) and ``bias``, and
knows its activation.  Its forward and backward passes are the compiled
kernels in :mod:`fastnn._core` (``dense_forward``, ``dense_backward``,
``dense_backward_sgd``); :class:`fastnn.Sequential` runs them.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import _core, _memory

__all__ = ["ACTIVATIONS", "Dense"]

#: Activations a Dense layer accepts.  The first six run inside the GEMM's
#: epilogue; ``softmax`` is for the output layer only; ``step`` (binary step,
#: 1 if z >= 0 else 0) and ``sign`` (-1, 0, 1) have no useful derivative, so
#: they work forward only (and in :class:`fastnn.Perceptron`).
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax", "step", "sign")
FORWARD_ONLY = ("step", "sign")

_GLOROT = ("identity", "sigmoid", "tanh", "softplus", "softmax", "step", "sign")


def _is_scalar(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_seed(seed, name="seed"):
    """seed as np.random.default_rng accepts it, or an error naming it."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be None, an int >= 0 or a numpy.random.Generator, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"{name} must be >= 0, got {seed}")
    return int(seed)


def float_values(name, value):
    """value as a float64 array; numbers only (no text, complex or objects)."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name} must be an array of real numbers: {e}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


class Dense:
    """A fully connected layer: ``a = act(W x + b)``, batched as ``A = act(X W^T + b)``.

    Parameters
    ----------
    in_features, out_features : int
    activation : str
        One of :data:`ACTIVATIONS`.
    bias : bool, "shared", float or array
        ``True``: one bias per neuron (zeros); ``False``: no bias;
        ``"shared"``: one bias shared by all neurons of the layer, as in the
        lecture notes (its gradient is the sum of the neurons' gradients);
        a float: a shared bias with that value; an array of shape
        (out_features,): per-neuron biases with those values.
    weight : array, optional
        Initial weights (out_features, in_features).  Otherwise they are
        drawn from ``init``.
    init : str
        "auto" (Glorot uniform for sigmoid/tanh-like activations, He normal
        for relu and leaky_relu), "glorot_uniform", "glorot_normal",
        "he_normal", "he_uniform" or "zeros".
    seed : int or numpy.random.Generator, optional
        For the initial weights.  :class:`fastnn.Sequential` with a seed
        re-draws them from its own generator instead.
    slope : float
        Negative-side slope of leaky_relu.
    trainable : bool or iterable of {"weight", "bias"}
        Which parameters training may change; the others stay fixed.
    """

    def __init__(self, in_features, out_features, activation="sigmoid", bias=True, *, weight=None,
                 init="auto", seed=None, slope=0.01, trainable=True):
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
            if v < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
            _memory.check_dim(name, int(v))
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        _memory.check_alloc((self.in_features + 1) * self.out_features * 8,
                            f"the float64 parameters of Dense({self.in_features}, {self.out_features})")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
        self.activation = activation
        if not _is_scalar(slope) or not math.isfinite(slope) or slope < 0:
            raise ValueError(f"slope must be a finite number >= 0, got {slope!r}")
        self.slope = float(slope)
        if not isinstance(init, str) or init not in ("auto", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "zeros"):
            raise ValueError(f"unknown init {init!r}")
        self.init = init
        self._dtype = np.dtype(np.float64)

        # bias mode and initial values
        if bias is True or bias is None:
            self.bias_mode, bias_value = "per_neuron", np.zeros(self.out_features)
        elif bias is False:
            self.bias_mode, bias_value = "none", None
        elif isinstance(bias, str):
            if bias != "shared":
                raise ValueError(f"bias must be True, False, 'shared', a float or an array; got {bias!r}")
            self.bias_mode, bias_value = "shared", np.zeros(1)
        elif _is_scalar(bias):
            self.bias_mode, bias_value = "shared", np.array([float(bias)])
        else:
            arr = float_values("bias", bias)
            if arr.shape != (self.out_features,):
                raise ValueError(f"bias array must have shape ({self.out_features},), got {arr.shape}")
            self.bias_mode, bias_value = "per_neuron", arr
        self.bias = bias_value

        seed = check_seed(seed)
        if weight is not None:
            w = float_values("weight", weight)
            if w.shape != (self.out_features, self.in_features):
                raise ValueError(
                    f"weight must have shape (out_features, in_features) = "
                    f"({self.out_features}, {self.in_features}), got {w.shape}"
                )
            self.weight = w
            self.explicit_weight = True
        else:
            self.explicit_weight = False
            self.reset_parameters(seed)

        if trainable is True:
            trainable = ("weight", "bias")
        elif trainable is False:
            trainable = ()
        elif isinstance(trainable, str) or not isinstance(trainable, (tuple, list, set, frozenset)):
            raise TypeError(f"trainable must be True, False or a collection of 'weight'/'bias', got {trainable!r}")
        trainable = tuple(trainable)
        for t in trainable:
            if t not in ("weight", "bias"):
                raise ValueError(f"trainable names parameters 'weight' and 'bias'; got {t!r}")
        self.trainable = frozenset(trainable)

    def __setattr__(self, name, value):
        # Any change to a layer (new arrays, activation, slope, dtype) makes
        # the networks bound for one-call inference check it again (see
        # Sequential._network): bump the generation they compare with.
        object.__setattr__(self, name, value)
        _core.bump_layer_generation()

    # ---- parameters ---------------------------------------------------------

    def reset_parameters(self, seed=None):
        """Draw new weights from ``init`` (biases are left as they are)."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(check_seed(seed))
        fan_in, fan_out = self.in_features, self.out_features
        init = self.init
        if init == "auto":
            init = "glorot_uniform" if self.activation in _GLOROT else "he_normal"
        shape = (fan_out, fan_in)
        if init == "glorot_uniform":
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-limit, limit, size=shape)
        elif init == "glorot_normal":
            w = rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)
        elif init == "he_normal":
            w = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
        elif init == "he_uniform":
            limit = math.sqrt(6.0 / fan_in)
            w = rng.uniform(-limit, limit, size=shape)
        else:
            w = np.zeros(shape)
        # freshly drawn and finite: no second copy through the setter (a
        # large layer would need three times its size at once)
        self._weight = np.ascontiguousarray(w, dtype=self._dtype)

    @property
    def weight(self):
        return self._weight

    @weight.setter
    def weight(self, value):
        arr = np.array(float_values("weight", value), dtype=getattr(self, "_dtype", np.float64), order="C")
        if arr.shape != (self.out_features, self.in_features):
            raise ValueError(f"weight must have shape ({self.out_features}, {self.in_features}), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("weight contains NaN or infinity")
        self._weight = arr

    @property
    def bias(self):
        """The bias: (out_features,) per neuron, (1,) when shared, None if none."""
        return self._bias

    @bias.setter
    def bias(self, value):
        if value is None:
            if getattr(self, "bias_mode", "none") != "none":
                raise ValueError("this layer has a bias; build it with bias=False for none")
            self._bias = None
            return
        if self.bias_mode == "none":
            raise ValueError("this layer was built with bias=False")
        want = (1,) if self.bias_mode == "shared" else (self.out_features,)
        arr = np.array(float_values("bias", value), dtype=getattr(self, "_dtype", np.float64), order="C").reshape(-1)
        if arr.shape != want:
            raise ValueError(f"bias must have shape {want} ({self.bias_mode} bias), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("bias contains NaN or infinity")
        self._bias = arr

    @property
    def dtype(self):
        return self._dtype

    def _set_dtype(self, dtype):
        self._dtype = np.dtype(dtype)
        self._weight = np.ascontiguousarray(self._weight, dtype=self._dtype)
        if self._bias is not None:
            self._bias = np.ascontiguousarray(self._bias, dtype=self._dtype)

    def parameters(self):
        """(name, array) pairs: the arrays themselves, not copies."""
        out = [("weight", self._weight)]
        if self._bias is not None:
            out.append(("bias", self._bias))
        return out

    @property
    def n_parameters(self):
        return self._weight.size + (0 if self._bias is None else self._bias.size)

    # ---- kernels --------------------------------------------------------------

    @property
    def kernel_activation(self):
        """The activation the GEMM epilogue applies (softmax, step and sign
        are applied after it, on the identity output)."""
        return "identity" if self.activation in ("softmax", "step", "sign") else self.activation

    def full_bias(self, buf=None):
        """The bias as one value per neuron (a shared bias expanded)."""
        if self._bias is None:
            return None
        if self.bias_mode == "per_neuron":
            return self._bias
        if buf is None:
            buf = np.empty(self.out_features, dtype=self._dtype)
        buf.fill(self._bias[0])
        return buf

    def forward(self, X, out=None):
        """``act(X W^T + b)`` for a C-contiguous batch X of this layer's dtype."""
        if out is None:
            out = np.empty((X.shape[0], self.out_features), dtype=self._dtype)
        _core.dense_forward(X, self._weight, self.full_bias(), out,
                            _core.ACTIVATION_CODES[self.kernel_activation], self.slope)
        finish_activation(self.activation, out)
        return out

    def config(self):
        """The architecture (no parameter values), for saving."""
        return {
            "type": "Dense",
            "in_features": self.in_features,
            "out_features": self.out_features,
            "activation": self.activation,
            "bias_mode": self.bias_mode,
            "slope": self.slope,
            "init": self.init,
            "trainable": sorted(self.trainable),
        }

    @classmethod
    def from_config(cls, cfg, weight, bias):
        bias_arg = {"none": False, "shared": "shared", "per_neuron": True}[cfg["bias_mode"]]
        layer = cls(cfg["in_features"], cfg["out_features"], cfg["activation"], bias_arg, weight=weight,
                    init=cfg.get("init", "auto"), slope=cfg.get("slope", 0.01),
                    trainable=tuple(cfg.get("trainable", ("weight", "bias"))))
        if bias is not None:
            layer.bias = bias
        return layer

    def __repr__(self):
        b = {"none": ", bias=False", "shared": ", bias='shared'", "per_neuron": ""}[self.bias_mode]
        return f"Dense({self.in_features}, {self.out_features}, activation={self.activation!r}{b})"


def finish_activation(activation, out):
    """In place: the activations that are not part of the GEMM epilogue."""
    if activation == "softmax":
        _core.softmax(out, out)
    elif activation == "step":
        np.greater_equal(out, 0, out=out)  # writes 1.0 / 0.0 into the float array
    elif activation == "sign":
        np.sign(out, out=out)
    return out
