"""A fastnn model as a ``torch.nn.Sequential``: :meth:`fastnn.Sequential.to_torch`.

Reads the model through its public attributes only, so that ``fastnn.nn``
can import it without a cycle; ``torch`` is imported when a model is
converted, never before.  :func:`fastnn.from_torch` converts back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import require

__all__ = ["TORCH_ACTIVATIONS", "to_torch"]

#: fastnn's activation -> the name of the torch.nn module (None: no module, identity).
TORCH_ACTIVATIONS = {"identity": None, "sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU",
                     "leaky_relu": "LeakyReLU", "softplus": "Softplus", "softmax": "Softmax"}


def _activation_module(torch: Any, layer: Any) -> Any:
    """The torch.nn module of a layer's activation, or None for identity."""
    name = TORCH_ACTIVATIONS[layer.activation]
    if name is None:
        return None
    if name == "LeakyReLU":
        return torch.nn.LeakyReLU(negative_slope=layer.slope)
    if name == "Softmax":
        return torch.nn.Softmax(dim=-1)
    return getattr(torch.nn, name)()


def to_torch(model: Any) -> Any:
    """The model as a ``torch.nn.Sequential`` of Linear and activation modules.

    Parameters
    ----------
    model : fastnn.Sequential
        The model.

    Returns
    -------
    torch.nn.Sequential
        One Linear per layer (weights copied, the model's dtype; a shared
        bias repeated per neuron), followed by its activation module unless
        it is identity; ``requires_grad`` False for parameters the layer does
        not train.

    Raises
    ------
    ImportError
        When PyTorch is not installed.
    ValueError
        For step or sign layers, which PyTorch has no module for.
    """
    for i, layer in enumerate(model.layers):
        if layer.activation not in TORCH_ACTIVATIONS:
            raise ValueError(f"layer {i} has activation {layer.activation!r}, which PyTorch has no module for; "
                             f"to_torch converts {', '.join(TORCH_ACTIVATIONS)}")
    torch = require("torch", "torch", "Sequential.to_torch")
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    modules = []
    for layer in model.layers:
        bias = layer.full_bias()
        linear = torch.nn.Linear(layer.in_features, layer.out_features, bias=bias is not None, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(layer.weight)))
            linear.weight.requires_grad_("weight" in layer.trainable)
            if bias is not None:
                linear.bias.copy_(torch.from_numpy(np.array(bias)))
                linear.bias.requires_grad_("bias" in layer.trainable)
        modules.append(linear)
        act = _activation_module(torch, layer)
        if act is not None:
            modules.append(act)
    return torch.nn.Sequential(*modules)
