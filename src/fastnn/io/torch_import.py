"""A fastnn model from a PyTorch ``nn.Sequential`` of Linear and activation modules: ``fastnn.from_torch``.

``torch`` is imported only when a module is converted (the caller has
already imported it).  :meth:`fastnn.Sequential.to_torch` converts back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import require
from ..nn.sequential import Sequential
from .convert import LayerSpec, build_sequential, fitting_loss

__all__ = ["from_torch"]

_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu", "LeakyReLU": "leaky_relu",
                "Softplus": "softplus", "Softmax": "softmax"}


def _flatten(torch: Any, module: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(name, module) of the modules of nested ``nn.Sequential`` containers, in order."""
    out = []
    for name, child in module.named_children():
        full = f"{prefix}{name}"
        if isinstance(child, torch.nn.Sequential):
            out += _flatten(torch, child, f"{full}.")
        else:
            out.append((full, child))
    return out


def _array(tensor: Any) -> np.ndarray:
    return np.array(tensor.detach().cpu().numpy())  # a copy


def _activation(torch: Any, name: str, module: Any) -> tuple[str, float]:
    """(fastnn activation, slope) of an activation module; ValueError for settings fastnn lacks."""
    kind = type(module).__name__
    bad = f"module {name!r} ({kind})"
    if isinstance(module, torch.nn.Softplus) and (module.beta != 1 or module.threshold != 20):
        raise ValueError(f"{bad}: beta={module.beta}, threshold={module.threshold}; fastnn's softplus is "
                         "log(1 + e^z) (beta=1, and no threshold: the default threshold=20 is taken as exact)")
    if isinstance(module, torch.nn.Softmax) and module.dim not in (-1, 1):
        raise ValueError(f"{bad}: dim={module.dim}; fastnn's softmax is over each sample's outputs (dim=-1)")
    slope = float(module.negative_slope) if isinstance(module, torch.nn.LeakyReLU) else 0.01
    return _ACTIVATIONS[kind], slope


def _layers(torch: Any, modules: list[tuple[str, Any]]) -> list[LayerSpec]:
    """The layers of a flat list of modules."""
    specs: list[LayerSpec] = []
    for name, module in modules:
        kind = type(module).__name__
        bad = f"module {name!r} ({kind})"
        if isinstance(module, torch.nn.Linear):
            if module.weight.dtype not in (torch.float32, torch.float64):
                raise ValueError(f"{bad} has {module.weight.dtype} parameters; fastnn computes in float32 or "
                                 "float64 (convert with module.float() or module.double())")
            w, b = _array(module.weight), None if module.bias is None else _array(module.bias)
            if specs and specs[-1].activation == "softmax":
                raise ValueError(f"{bad} follows a Softmax; fastnn's softmax is an output activation only")
            if specs and w.shape[1] != specs[-1].out_features:
                raise ValueError(f"{bad} takes {w.shape[1]} inputs but {specs[-1].source} gives "
                                 f"{specs[-1].out_features}")
            specs.append(LayerSpec(w, b, bad))
        elif isinstance(module, torch.nn.Identity) or (
                isinstance(module, torch.nn.Flatten) and not specs and module.start_dim == 1):
            continue  # a Flatten before the first Linear: fastnn takes (batch, features) data
        elif kind in _ACTIVATIONS and type(module) is getattr(torch.nn, kind):  # not a subclass: its own forward
            act, slope = _activation(torch, name, module)
            if not specs:
                raise ValueError(f"{bad}: an activation before the first Linear; fastnn's layers compute "
                                 "act(W x + b)")
            if specs[-1].activation is not None:
                raise ValueError(f"{bad}: a second activation after {specs[-1].source}; fastnn applies one "
                                 "activation per layer")
            specs[-1].activation, specs[-1].slope = act, slope
        else:
            raise ValueError(f"{bad}: fastnn converts Linear, {', '.join(_ACTIVATIONS)} and Identity modules "
                             "only")
    if not specs:
        raise ValueError("the module holds no Linear layer")
    return specs


def from_torch(module: Any) -> Sequential:
    """A fastnn model from a PyTorch ``nn.Sequential`` of Linear and activation modules.

    Parameters
    ----------
    module : torch.nn.Sequential or torch.nn.Linear
        Linear layers, each followed by at most one of Sigmoid, Tanh, ReLU,
        LeakyReLU, Softplus (beta=1, threshold=20), Softmax (dim=-1 or 1);
        Identity modules, a Flatten before the first Linear (fastnn takes
        flattened data) and nested Sequential containers are allowed.

    Returns
    -------
    Sequential
        The same network, parameters copied, float32 or float64 as the
        module; loss cross-entropy for a softmax output, binary
        cross-entropy for sigmoid, none otherwise.

    Raises
    ------
    TypeError
        For anything but an ``nn.Sequential`` or ``nn.Linear``.
    ValueError
        For a module fastnn cannot run, naming it, e.g.
        ``module '1' (Conv2d): fastnn converts Linear, ... modules only``.

    Examples
    --------
    >>> import torch, fastnn  # doctest: +SKIP
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))  # doctest: +SKIP
    >>> fastnn.from_torch(net)  # doctest: +SKIP
    """
    torch = require("torch", "torch", "fastnn.from_torch")
    if isinstance(module, torch.nn.Linear):
        modules = [("0", module)]
    elif isinstance(module, torch.nn.Sequential):
        modules = _flatten(torch, module)
    else:
        raise TypeError(f"module must be a torch.nn.Sequential (or Linear), got {type(module).__name__}")
    specs = _layers(torch, modules)
    return build_sequential(specs, fitting_loss(specs[-1].activation or "identity"), "from_torch")
