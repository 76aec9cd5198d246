"""The activations a layer can use, in one registry.

Each :class:`Activation` says where it runs and what it supports: the
first six are computed inside the GEMM's epilogue (``code`` is the C
kernel's activation code); ``softmax`` normalises the output layer's rows
after the GEMM; ``step`` (1 if z >= 0 else 0) and ``sign`` (-1, 0, 1) have
no useful derivative, so they work forward only (and in the perceptron).
Everything else in fastnn (layers, kernels, the trainer, the file format)
asks this registry instead of keeping its own list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import _core

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = [
    "ACTIVATIONS",
    "EPILOGUE_ACTIVATIONS",
    "FORWARD_ONLY",
    "Activation",
    "apply_after_gemm",
    "get_activation",
]


@dataclass(frozen=True)
class Activation:
    """What fastnn knows of one activation function.

    Parameters
    ----------
    name : str
        The name layers and kernels take.
    code : int or None
        The C kernels' code when the GEMM epilogue computes it; None when it
        is applied after the GEMM, on the identity output.
    trainable : bool
        Whether backpropagation can pass through it (False for step and
        sign, whose derivative is zero almost everywhere).
    output_only : bool
        Whether only the last layer may use it (softmax).
    init : str
        The default initialisation of a layer using it: "glorot_uniform"
        (sigmoid and tanh-like) or "he_normal" (the ReLU family).
    """

    name: str
    code: int | None
    trainable: bool = True
    output_only: bool = False
    init: str = "glorot_uniform"

    @property
    def kernel_code(self) -> int:
        """The code the GEMM epilogue applies.

        This activation's, or the identity's for those applied after the GEMM.
        """
        return _core.ACTIVATION_CODES["identity"] if self.code is None else self.code


_C = _core.ACTIVATION_CODES
_REGISTRY = {a.name: a for a in (
    Activation("identity", _C["identity"]),
    Activation("sigmoid", _C["sigmoid"]),
    Activation("tanh", _C["tanh"]),
    Activation("relu", _C["relu"], init="he_normal"),
    Activation("leaky_relu", _C["leaky_relu"], init="he_normal"),
    Activation("softplus", _C["softplus"]),
    Activation("softmax", None, output_only=True),
    Activation("step", None, trainable=False),
    Activation("sign", None, trainable=False),
)}

#: Every activation a Dense layer accepts, in the order of the registry.
ACTIVATIONS = tuple(_REGISTRY)
#: Those the GEMM's epilogue computes (what ``fastnn.kernels`` takes).
EPILOGUE_ACTIVATIONS = tuple(name for name, a in _REGISTRY.items() if a.code is not None)
#: Those with no useful derivative: forward only.
FORWARD_ONLY = tuple(name for name, a in _REGISTRY.items() if not a.trainable)


def get_activation(name: str) -> Activation:
    """The registry entry of ``name``.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.

    Returns
    -------
    Activation
        Its entry.

    Raises
    ------
    ValueError
        For an unknown name (TypeError for a non-string), listing the known ones.
    """
    if not isinstance(name, str):
        raise TypeError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {type(name).__name__}")
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}") from None


def apply_after_gemm(name: str, out: FloatArray) -> FloatArray:
    """Apply, in place, an activation the GEMM epilogue does not compute.

    Softmax, step and sign; other activations leave ``out`` as it is.

    Parameters
    ----------
    name : str
        The activation.
    out : numpy.ndarray
        The GEMM's identity output, (n_samples, n_outputs), C-contiguous.

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    if name == "softmax":
        _core.softmax(out, out)
    elif name == "step":
        np.greater_equal(out, 0, out=out)  # writes 1.0 / 0.0 into the float array
    elif name == "sign":
        np.sign(out, out=out)
    return out
