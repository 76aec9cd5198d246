"""ONNX export of a fastnn model: one Gemm and one activation per layer.

:meth:`fastnn.Sequential.to_onnx` calls :func:`write_onnx`.  This module
reads the model through its public attributes only (``layers``, ``dtype``,
``loss``, each layer's ``weight``, ``full_bias()``, ``activation`` and
``slope``), so that ``fastnn.nn`` can import it without a cycle.  ``onnx``
is imported when a model is exported, never before.

The graph, for float32 (FLOAT) and float64 (DOUBLE) models alike: input
``input`` of shape (batch, n_inputs), a symbolic batch dimension; per
layer ``Gemm(h, W, b, transB=1)`` (W as fastnn stores it, (out, in); a
shared bias written out per neuron, no C input for a layer without bias)
and its activation: Sigmoid, Tanh, Relu, LeakyRelu (alpha = slope),
Softplus, Identity, Softmax (axis -1), Sign, and step as
``Cast(GreaterOrEqual(z, 0))``.  Two activations take another form in
float64 models, because ONNX Runtime runs the plain op in float32 only:
leaky_relu is ``PRelu(z, slope)`` (LeakyRelu's alpha is a float32
attribute, which would round the slope), softplus is
``Relu(z) + Log(Exp(-Abs(z)) + 1)``.  :func:`fastnn.from_onnx` reads all of
these back.  Output ``output`` is what :meth:`~fastnn.Sequential.forward`
returns; with ``labels=True`` a second output ``label`` (int64) is what
:meth:`~fastnn.Sequential.predict` returns.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from .._optional import require
from .._validation import check_bool, check_int, check_path
from .._version import __version__
from .atomic import atomic_write

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "model_to_onnx", "write_onnx"]

#: The opset :meth:`fastnn.Sequential.to_onnx` writes by default.
DEFAULT_OPSET = 17
#: The oldest opset it writes (Softmax over the last axis, as opset 13 defines it).
MIN_OPSET = 13

_PLAIN_OPS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "identity": "Identity", "sign": "Sign"}


class _GraphBuilder:
    """Nodes and initializers of the graph being written, with unique names."""

    def __init__(self, onnx: Any, dtype: np.dtype) -> None:
        self.onnx = onnx
        self.dtype = dtype
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: set[str] = set()

    def const(self, name: str, value: Any, dtype: Any = None) -> str:
        """Add an initializer (once per name) and return its name."""
        if name not in self.names:
            arr = np.ascontiguousarray(value, dtype=self.dtype if dtype is None else dtype)
            self.initializers.append(self.onnx.numpy_helper.from_array(arr, name))
            self.names.add(name)
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        """Add a node with one output and return the output's name."""
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name, **attrs))
        return output


def _activation(g: _GraphBuilder, layer: Any, z: str, out: str, prefix: str) -> str:
    """Add the nodes of one layer's activation, from ``z`` to ``out``."""
    act = layer.activation
    if act in _PLAIN_OPS:
        return g.node(_PLAIN_OPS[act], [z], out, f"{prefix}/{_PLAIN_OPS[act]}")
    if act == "softmax":
        return g.node("Softmax", [z], out, f"{prefix}/Softmax", axis=-1)
    if act == "step":
        ge = g.node("GreaterOrEqual", [z, g.const("zero", 0.0)], f"{prefix}/nonnegative", f"{prefix}/GreaterOrEqual")
        return g.node("Cast", [ge], out, f"{prefix}/Cast", to=g.elem_type)
    double = g.dtype == np.float64
    if act == "leaky_relu":
        if double:
            return g.node("PRelu", [z, g.const(f"{prefix}.slope", [layer.slope])], out, f"{prefix}/PRelu")
        return g.node("LeakyRelu", [z], out, f"{prefix}/LeakyRelu", alpha=float(layer.slope))
    if act == "softplus" and not double:
        return g.node("Softplus", [z], out, f"{prefix}/Softplus")
    if act == "softplus":  # max(z, 0) + log(1 + exp(-|z|)): ONNX Runtime has no double Softplus
        relu = g.node("Relu", [z], f"{prefix}/positive_part", f"{prefix}/Relu")
        t = g.node("Abs", [z], f"{prefix}/abs", f"{prefix}/Abs")
        t = g.node("Neg", [t], f"{prefix}/neg_abs", f"{prefix}/Neg")
        t = g.node("Exp", [t], f"{prefix}/exp", f"{prefix}/Exp")
        t = g.node("Add", [t, g.const("one", 1.0)], f"{prefix}/one_plus_exp", f"{prefix}/AddOne")
        t = g.node("Log", [t], f"{prefix}/log", f"{prefix}/Log")
        return g.node("Add", [relu, t], out, f"{prefix}/Add")
    raise ValueError(f"activation {act!r} has no ONNX form")  # unreachable for fastnn's activations


def _labels(g: _GraphBuilder, model: Any, output: str) -> tuple[str, list[Any]]:
    """Add the nodes giving ``predict``'s labels from the output; return their name and shape."""
    act = model.probability_activation or model.output_activation
    k = model.n_outputs
    if act == "softmax" or (act in ("step", "sign") and k > 1):
        return g.node("ArgMax", [output], "label", "label/ArgMax", axis=-1, keepdims=0), ["batch"]
    if act == "sigmoid":
        threshold = 0.0 if model.output_activation == "identity" else 0.5  # logits, or probabilities
        hit = g.node("GreaterOrEqual", [output, g.const("threshold", threshold)], "label/hit", "label/GreaterOrEqual")
    else:  # a single step or sign output: its value is the label
        hit = output
    tp = g.onnx.TensorProto
    if k > 1:
        return g.node("Cast", [hit], "label", "label/Cast", to=tp.INT64), ["batch", k]
    lab = g.node("Cast", [hit], "label/column", "label/Cast", to=tp.INT64)
    flat = g.const("label_shape", [-1], np.int64)
    return g.node("Reshape", [lab, flat], "label", "label/Reshape"), ["batch"]


def _graph(onnx: Any, model: Any, labels: bool) -> Any:
    """The GraphProto of ``model``."""
    g = _GraphBuilder(onnx, model.dtype)
    h = "input"
    last = len(model.layers) - 1
    for i, layer in enumerate(model.layers):
        prefix = f"layer{i}"
        inputs = [h, g.const(f"{i}.weight", layer.weight)]
        bias = layer.full_bias()
        if bias is not None:
            inputs.append(g.const(f"{i}.bias", bias))
        z = g.node("Gemm", inputs, f"{prefix}/z", f"{prefix}/Gemm", transB=1)
        h = _activation(g, layer, z, "output" if i == last else f"{prefix}/out", prefix)
    info = onnx.helper.make_tensor_value_info
    outputs = [info("output", g.elem_type, ["batch", model.n_outputs],
                    doc_string="the network's output, as fastnn.Sequential.forward returns it")]
    if labels:
        name, shape = _labels(g, model, h)
        outputs.append(info(name, onnx.TensorProto.INT64, shape,
                            doc_string="class labels, as fastnn.Sequential.predict returns them"))
    sizes = "-".join(str(n) for n in [model.n_inputs] + [layer.out_features for layer in model.layers])
    return onnx.helper.make_graph(
        g.nodes, "fastnn.Sequential", [info("input", g.elem_type, ["batch", model.n_inputs])], outputs,
        g.initializers, doc_string=f"fastnn.Sequential {sizes} ({model.dtype.name})")


def model_to_onnx(model: Any, opset: int = DEFAULT_OPSET, labels: bool = False) -> Any:
    """The ONNX model of a fastnn model, checked with ``onnx.checker`` (full check).

    Parameters
    ----------
    model : fastnn.Sequential
        The model.
    opset : int, default 17
        The ONNX opset to write, from :data:`MIN_OPSET` to the newest the
        installed ``onnx`` knows.
    labels : bool, default False
        Add an int64 output ``label`` with :meth:`~fastnn.Sequential.predict`'s
        labels (classifiers only).

    Returns
    -------
    onnx.ModelProto
        The model: producer "fastnn" and its version; in ``metadata_props``
        "fastnn.version", "fastnn.bias_modes" (a JSON list) and
        "fastnn.loss" (when the model has one).

    Raises
    ------
    ImportError
        When ``onnx`` is not installed; the message says what to install.
    TypeError, ValueError
        For a wrong ``opset`` or ``labels``, or ``labels=True`` for a model
        that is not a classifier.
    """
    opset = check_int("opset", opset, minimum=MIN_OPSET)
    labels = check_bool("labels", labels)
    if labels and not model.is_classifier:
        raise ValueError(f"labels=True needs a classifier (softmax, sigmoid, step or sign output, or logits trained "
                         f"with a classification loss); this model's output is {model.output_activation!r}")
    onnx = require("onnx", "onnx", "Sequential.to_onnx")
    newest = onnx.defs.onnx_opset_version()
    if opset > newest:
        raise ValueError(f"opset must be <= {newest} (the newest this onnx {onnx.__version__} knows), got {opset}")
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(_graph(onnx, model, labels), opset_imports=opsets,
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets),
                                   producer_name="fastnn", producer_version=__version__,
                                   doc_string="exported by fastnn.Sequential.to_onnx")
    # the bias modes let fastnn.from_onnx restore shared biases, which the graph writes out per neuron
    meta = {"fastnn.version": __version__,
            "fastnn.bias_modes": json.dumps([layer.bias_mode for layer in model.layers])}
    if model.loss is not None:
        meta["fastnn.loss"] = model.loss.name
    onnx.helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def write_onnx(model: Any, path: str | os.PathLike[str], opset: int = DEFAULT_OPSET, labels: bool = False) -> None:
    """Write :func:`model_to_onnx`'s model to ``path``, atomically.

    Parameters
    ----------
    model : fastnn.Sequential
        The model.
    path : str or os.PathLike
        The file to write, usually ``*.onnx``; written to a temporary file
        beside it and renamed over it when complete.
    opset : int, default 17
        The ONNX opset.
    labels : bool, default False
        Add the ``label`` output.

    Raises
    ------
    FileNotFoundError
        When the folder of ``path`` does not exist; nothing is written.
    ImportError
        When ``onnx`` is not installed.
    """
    path = check_path("path", path)
    proto = model_to_onnx(model, opset, labels)
    data = proto.SerializeToString()
    atomic_write({path: lambda f: f.write(data)})
