"""Layers: the fully connected layer ``Dense``.

A Dense layer holds ``weight`` (out_features, in_features) and ``bias``, and
knows its activation.  Its forward and backward passes are the compiled
kernels in :mod:`fastnn._core` (``dense_forward``, ``dense_backward``,
``dense_backward_sgd``); :class:`fastnn.Sequential` runs them.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _core, _memory
from .._validation import as_float_array, check_choice, check_int, check_real, check_seed
from .activations import ACTIVATIONS, Activation, apply_after_gemm, get_activation

if TYPE_CHECKING:
    from .._typing import ArrayLike, DTypeLike, FloatArray

__all__ = ["ACTIVATIONS", "Dense"]

INITS = ("auto", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "zeros")
_BIAS_ARGS: dict[str, bool | str] = {"none": False, "shared": "shared", "per_neuron": True}


def _is_scalar(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _bias_from_arg(bias: Any, out_features: int) -> tuple[str, FloatArray | None]:
    """(bias mode, initial values) from Dense's ``bias`` argument."""
    if bias is True or bias is None:
        return "per_neuron", np.zeros(out_features)
    if bias is False:
        return "none", None
    if isinstance(bias, str):
        if bias != "shared":
            raise ValueError(f"bias must be True, False, 'shared', a float or an array; got {bias!r}")
        return "shared", np.zeros(1)
    if _is_scalar(bias):
        return "shared", np.array([float(bias)])
    arr = as_float_array("bias", bias)
    if arr.shape != (out_features,):
        raise ValueError(f"bias array must have shape ({out_features},), got {arr.shape}")
    return "per_neuron", arr


def _trainable_from_arg(trainable: Any) -> frozenset[str]:
    """The names of the parameters training may change."""
    if trainable is True:
        return frozenset(("weight", "bias"))
    if trainable is False:
        return frozenset()
    if isinstance(trainable, str) or not isinstance(trainable, (tuple, list, set, frozenset)):
        raise TypeError(f"trainable must be True, False or a collection of 'weight'/'bias', got {trainable!r}")
    for t in trainable:
        if t not in ("weight", "bias"):
            raise ValueError(f"trainable names parameters 'weight' and 'bias'; got {t!r}")
    return frozenset(trainable)


def _draw(init: str, shape: tuple[int, int], rng: np.random.Generator) -> FloatArray:
    """Initial weights (out, in) from the named scheme."""
    fan_out, fan_in = shape
    if init == "glorot_uniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)
    if init == "glorot_normal":
        return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)
    if init == "he_normal":
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
    if init == "he_uniform":
        limit = math.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape)
    return np.zeros(shape)


class Dense:
    """A fully connected layer: ``a = act(W x + b)``, batched as ``A = act(X W^T + b)``.

    Parameters
    ----------
    in_features : int
        Inputs per sample.
    out_features : int
        Neurons (outputs per sample).
    activation : str, default "sigmoid"
        One of :data:`ACTIVATIONS` (see :mod:`fastnn.nn.activations`).
    bias : bool, "shared", float or array, default True
        ``True``: one bias per neuron (zeros); ``False``: no bias;
        ``"shared"``: one bias shared by all neurons of the layer, as in the
        lecture notes (its gradient is the sum of the neurons' gradients);
        a float: a shared bias with that value; an array of shape
        (out_features,): per-neuron biases with those values.
    weight : array, optional
        Initial weights (out_features, in_features).  Otherwise they are
        drawn from ``init``.
    init : str, default "auto"
        "auto" (Glorot uniform for sigmoid/tanh-like activations, He normal
        for relu and leaky_relu), "glorot_uniform", "glorot_normal",
        "he_normal", "he_uniform" or "zeros".
    seed : int or numpy.random.Generator, optional
        For the initial weights.  :class:`fastnn.Sequential` with a seed
        re-draws them from its own generator instead.
    slope : float, default 0.01
        Negative-side slope of leaky_relu.
    trainable : bool or collection of {"weight", "bias"}, default True
        Which parameters training may change; the others stay fixed.

    Raises
    ------
    TypeError, ValueError
        For an argument of the wrong type or value, naming it.

    Examples
    --------
    >>> import fastnn
    >>> layer = fastnn.Dense(2, 2, "sigmoid", weight=[[0.15, 0.20], [0.25, 0.30]], bias=0.35)
    >>> layer
    Dense(2, 2, activation='sigmoid', bias='shared')
    >>> layer.weight.shape
    (2, 2)
    """

    _weight: FloatArray
    _bias: FloatArray | None

    def __init__(self, in_features: int, out_features: int, activation: str = "sigmoid",
                 bias: bool | str | float | ArrayLike | None = True, *, weight: ArrayLike | None = None,
                 init: str = "auto", seed: int | np.random.Generator | None = None, slope: float = 0.01,
                 trainable: bool | Iterable[str] = True) -> None:
        self.in_features = _memory.check_dim("in_features", check_int("in_features", in_features, minimum=1))
        self.out_features = _memory.check_dim("out_features", check_int("out_features", out_features, minimum=1))
        _memory.check_alloc((self.in_features + 1) * self.out_features * 8,
                            f"the float64 parameters of Dense({self.in_features}, {self.out_features})")
        get_activation(activation)
        self.activation = activation
        self.slope = check_real("slope", slope, minimum=0.0)
        self.init = check_choice("init", init, INITS)
        self._dtype: np.dtype[Any] = np.dtype(np.float64)
        self.bias_mode, bias_value = _bias_from_arg(bias, self.out_features)
        self.bias = bias_value
        seed = check_seed(seed)
        self.explicit_weight = weight is not None
        if weight is not None:
            w = as_float_array("weight", weight)
            if w.shape != (self.out_features, self.in_features):
                raise ValueError(f"weight must have shape (out_features, in_features) = "
                                 f"({self.out_features}, {self.in_features}), got {w.shape}")
            self.weight = w
        else:
            self.reset_parameters(seed)
        self.trainable = _trainable_from_arg(trainable)

    def __setattr__(self, name: str, value: Any) -> None:
        # Any change to a layer (new arrays, activation, slope, dtype) makes
        # the networks bound for one-call inference and training check it
        # again (see Sequential.forward): bump the generation they compare with.
        object.__setattr__(self, name, value)
        _core.bump_layer_generation()

    # ---- parameters ---------------------------------------------------------

    def reset_parameters(self, seed: int | np.random.Generator | None = None) -> None:
        """Draw new weights from ``init`` (biases are left as they are).

        Parameters
        ----------
        seed : int or numpy.random.Generator, optional
            The generator, or its seed.
        """
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(check_seed(seed))
        init = self.activation_info.init if self.init == "auto" else self.init
        # freshly drawn and finite: no second copy through the setter (a
        # large layer would need three times its size at once)
        self._weight = np.ascontiguousarray(_draw(init, (self.out_features, self.in_features), rng),
                                            dtype=self._dtype)

    @property
    def weight(self) -> FloatArray:
        """The weights, (out_features, in_features): the live array.

        Assigning an array converts it to the layer's dtype (checked: shape,
        real numbers, finite).
        """
        return self._weight

    @weight.setter
    def weight(self, value: ArrayLike) -> None:
        arr = np.array(as_float_array("weight", value), dtype=self._dtype, order="C")
        if arr.shape != (self.out_features, self.in_features):
            raise ValueError(f"weight must have shape ({self.out_features}, {self.in_features}), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("weight contains NaN or infinity")
        self._weight = arr

    @property
    def bias(self) -> FloatArray | None:
        """The bias: (out_features,) per neuron, (1,) when shared, None if none."""
        return self._bias

    @bias.setter
    def bias(self, value: ArrayLike | None) -> None:
        if value is None:
            if self.bias_mode != "none":
                raise ValueError("this layer has a bias; build it with bias=False for none")
            self._bias = None
            return
        if self.bias_mode == "none":
            raise ValueError("this layer was built with bias=False")
        want = (1,) if self.bias_mode == "shared" else (self.out_features,)
        arr = np.array(as_float_array("bias", value), dtype=self._dtype, order="C").reshape(-1)
        if arr.shape != want:
            raise ValueError(f"bias must have shape {want} ({self.bias_mode} bias), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("bias contains NaN or infinity")
        self._bias = arr

    @property
    def dtype(self) -> np.dtype[Any]:
        """The dtype of the parameters (set by the model the layer is in)."""
        return self._dtype

    def set_dtype(self, dtype: DTypeLike) -> None:
        """Convert the parameters, in place, to ``dtype`` (float32 or float64).

        Parameters
        ----------
        dtype : str or numpy.dtype
            The new dtype; :class:`fastnn.Sequential` sets its own on its layers.
        """
        self._dtype = np.dtype(dtype)
        self._weight = np.ascontiguousarray(self._weight, dtype=self._dtype)
        if self._bias is not None:
            self._bias = np.ascontiguousarray(self._bias, dtype=self._dtype)

    def named_parameters(self) -> list[tuple[str, FloatArray]]:
        """("weight", W) and ("bias", b) pairs: the live arrays, not copies.

        Returns
        -------
        list of (str, numpy.ndarray)
            The names and arrays.
        """
        out = [("weight", self._weight)]
        if self._bias is not None:
            out.append(("bias", self._bias))
        return out

    def parameters(self) -> list[FloatArray]:
        """The parameter arrays (weight, then bias if any).

        Returns
        -------
        list of numpy.ndarray
            The live arrays, not copies.
        """
        return [arr for _, arr in self.named_parameters()]

    @property
    def n_parameters(self) -> int:
        """The number of parameter values (weights and biases)."""
        return self._weight.size + (0 if self._bias is None else self._bias.size)

    # ---- kernels --------------------------------------------------------------

    @property
    def activation_info(self) -> Activation:
        """The registry entry of this layer's activation."""
        return get_activation(self.activation)

    @property
    def kernel_activation(self) -> str:
        """The activation the GEMM epilogue applies.

        This layer's, or "identity" for softmax, step and sign (applied after the GEMM).
        """
        return "identity" if self.activation_info.code is None else self.activation

    @property
    def kernel_code(self) -> int:
        """The activation code the GEMM epilogue applies (see :attr:`kernel_activation`)."""
        return self.activation_info.kernel_code

    def full_bias(self, buf: FloatArray | None = None) -> FloatArray | None:
        """The bias as one value per neuron (a shared bias expanded).

        Parameters
        ----------
        buf : numpy.ndarray, optional
            Where to expand a shared bias (out_features,); a new array if None.

        Returns
        -------
        numpy.ndarray or None
            None for a layer without bias.
        """
        if self._bias is None:
            return None
        if self.bias_mode == "per_neuron":
            return self._bias
        if buf is None:
            buf = np.empty(self.out_features, dtype=self._dtype)
        buf.fill(self._bias[0])
        return buf

    def forward(self, X: FloatArray, out: FloatArray | None = None) -> FloatArray:
        """``act(X W^T + b)`` for a C-contiguous batch of this layer's dtype.

        Parameters
        ----------
        X : numpy.ndarray
            (n_samples, in_features), C-contiguous, of the layer's dtype.
        out : numpy.ndarray, optional
            Where to write the (n_samples, out_features) result.

        Returns
        -------
        numpy.ndarray
            The activations.
        """
        if out is None:
            out = np.empty((X.shape[0], self.out_features), dtype=self._dtype)
        _core.dense_forward(X, self._weight, self.full_bias(), out, self.kernel_code, self.slope)
        return apply_after_gemm(self.activation, out)

    def config(self) -> dict[str, Any]:
        """The architecture (no parameter values), for saving.

        Returns
        -------
        dict
            JSON-serialisable; :meth:`from_config` rebuilds the layer from it.
        """
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
    def from_config(cls, cfg: dict[str, Any], weight: ArrayLike, bias: ArrayLike | None) -> Dense:
        """A layer from :meth:`config` and its parameter arrays.

        Parameters
        ----------
        cfg : dict
            What :meth:`config` returned.
        weight : array
            (out_features, in_features).
        bias : array or None
            The bias, None for a layer without one.

        Returns
        -------
        Dense
        """
        layer = cls(cfg["in_features"], cfg["out_features"], cfg["activation"], _BIAS_ARGS[cfg["bias_mode"]],
                    weight=weight, init=cfg.get("init", "auto"), slope=cfg.get("slope", 0.01),
                    trainable=tuple(cfg.get("trainable", ("weight", "bias"))))
        if bias is not None:
            layer.bias = bias
        return layer

    def __repr__(self) -> str:
        b = {"none": ", bias=False", "shared": ", bias='shared'", "per_neuron": ""}[self.bias_mode]
        return f"Dense({self.in_features}, {self.out_features}, activation={self.activation!r}{b})"
