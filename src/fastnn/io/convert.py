"""What the importers (:mod:`fastnn.io.onnx_import`, :mod:`fastnn.io.torch_import`, :mod:`fastnn.io.sklearn_import`) build.

Each importer reads its format into a list of :class:`LayerSpec`, one per
fully connected layer, then :func:`build_sequential` makes the fastnn
model, with the loss that fits its output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..nn.layers import Dense
from ..nn.losses import get_loss
from ..nn.sequential import Sequential

__all__ = ["LayerSpec", "build_sequential", "fitting_loss", "model_dtype"]

_LOSS_FOR_OUTPUT = {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}


@dataclass
class LayerSpec:
    """One fully connected layer as an importer read it.

    Parameters
    ----------
    weight : numpy.ndarray
        (out_features, in_features), as fastnn stores it.
    bias : numpy.ndarray or None
        (out_features,), or None for a layer without bias.
    source : str
        Where it came from, for messages, e.g. "node 'Gemm_0' (Gemm)".
    activation : str or None, default None
        A fastnn activation; None until the importer finds one (identity).
    slope : float, default 0.01
        The negative-side slope of leaky_relu.
    """

    weight: np.ndarray
    bias: np.ndarray | None
    source: str
    activation: str | None = None
    slope: float = 0.01

    @property
    def in_features(self) -> int:
        """Inputs per sample."""
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        """Outputs per sample."""
        return int(self.weight.shape[0])


def model_dtype(specs: list[LayerSpec], where: str) -> np.dtype:
    """The one float dtype (float32 or float64) of every layer's parameters.

    Parameters
    ----------
    specs : list of LayerSpec
        The layers.
    where : str
        The source, for messages.

    Returns
    -------
    numpy.dtype
        The dtype, float32 or float64.

    Raises
    ------
    ValueError
        For parameters of another dtype, or of two dtypes.
    """
    dtypes: dict[np.dtype, str] = {}
    for spec in specs:
        for arr in (spec.weight, spec.bias):
            if arr is not None:
                dtypes.setdefault(np.dtype(arr.dtype), spec.source)
    for dt, source in dtypes.items():
        if dt not in (np.float32, np.float64):
            raise ValueError(f"{where}: {source} has {dt} parameters; fastnn computes in float32 or float64")
    if len(dtypes) > 1:
        raise ValueError(f"{where}: the parameters mix float32 and float64 ({', '.join(dtypes.values())}); "
                         "fastnn computes a model in one dtype")
    return next(iter(dtypes), np.dtype(np.float32))


def fitting_loss(output_activation: str) -> str | None:
    """The loss an imported model gets for its output activation.

    Parameters
    ----------
    output_activation : str
        The last layer's activation.

    Returns
    -------
    str or None
        "cross_entropy" for softmax, "binary_cross_entropy" for sigmoid,
        None otherwise (the source does not say).
    """
    return _LOSS_FOR_OUTPUT.get(output_activation)


def build_sequential(specs: list[LayerSpec], loss: str | None, where: str,
                     bias_modes: list[str] | None = None) -> Sequential:
    """The fastnn model of the layers read.

    Parameters
    ----------
    specs : list of LayerSpec
        The layers, in order; shapes must chain (the importers check that,
        naming the node or module).
    loss : str or None
        The model's loss (:attr:`fastnn.Sequential.loss`).
    where : str
        The source, for messages.
    bias_modes : list of str, optional
        Bias modes to restore (fastnn's own files): a layer given "shared"
        whose biases are all equal gets one shared bias.

    Returns
    -------
    Sequential
        Of the parameters' dtype.

    Raises
    ------
    ValueError
        For parameters that fastnn refuses (NaN, infinity, a negative slope),
        naming the layer's source.
    """
    dtype = model_dtype(specs, where)
    layers = []
    for i, spec in enumerate(specs):
        bias: Any = False if spec.bias is None else spec.bias
        if (bias_modes is not None and i < len(bias_modes) and bias_modes[i] == "shared"
                and spec.bias is not None and np.all(spec.bias == spec.bias[0])):
            bias = float(spec.bias[0])
        try:
            layers.append(Dense(spec.in_features, spec.out_features, spec.activation or "identity", bias,
                                weight=spec.weight, slope=spec.slope))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {spec.source}: {e}") from e
    try:
        model = Sequential(layers, dtype=dtype)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from e
    if loss is not None:
        model.loss = get_loss(loss)
    return model
