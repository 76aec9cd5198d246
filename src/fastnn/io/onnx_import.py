"""ONNX import: the fully connected networks fastnn can run, from any producer.

:func:`from_onnx` (``fastnn.from_onnx``) and :func:`read_onnx` follow the
graph from its input along a chain of layers, each a ``Gemm`` (any
``transB``; ``alpha`` and ``beta`` folded into the parameters) or a
``MatMul`` with an optional ``Add`` of a constant bias, followed by at most
one activation: Sigmoid, Tanh, Relu, LeakyRelu, PRelu with one slope,
Softplus, Softmax over the last axis, Sign, or step as
``Cast(GreaterOrEqual(z, 0))``.  ``Identity`` nodes, and a ``Cast`` to the
float type, pass through.  Also recognised: PyTorch's softplus threshold
(``Where(Greater(z, 20), z, Softplus(z))``, which the torch.export-based
exporter writes) and the double-precision softplus fastnn writes
(``Relu(z) + Log(Exp(-Abs(z)) + 1)``).

The chain ends at a graph output, or where the data goes on to nodes that
are not a layer.  Those that remain must be an output's post-processing,
as skl2onnx writes it for classifiers (ArgMax, ZipMap,
ArrayFeatureExtractor, Reshape, Cast, Sub and Concat for the (1 - p, p)
columns, Binarizer, ...): they are skipped, and :class:`ONNXImport` says
which and why.  Anything else raises ValueError naming the node, its op and
the reason.  ``onnx`` is imported when a model is read, never before.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._optional import require
from .._validation import check_path
from ..nn.sequential import Sequential
from .convert import LayerSpec, build_sequential, fitting_loss
from .model_file import ModelFileError

__all__ = ["ONNXImport", "from_onnx", "read_onnx"]

_ACTIVATION_OPS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu", "LeakyRelu": "leaky_relu",
                   "PRelu": "leaky_relu", "Softplus": "softplus", "Softmax": "softmax", "Sign": "sign"}
_FLOAT_TYPES = {1: "float32", 11: "float64"}  # TensorProto.FLOAT, DOUBLE
# what skl2onnx and others put after a classifier's or regressor's output
_POSTPROCESSING = {
    "ArgMax": "class labels from the scores (fastnn: predict)",
    "ZipMap": "probabilities as a list of {class: p} maps (fastnn: predict_proba, an array)",
    "ArrayFeatureExtractor": "maps class indices to the estimator's class labels (ONNXImport.classes)",
    "Binarizer": "thresholds probabilities into labels (fastnn: predict)",
    "GreaterOrEqual": "thresholds the output into labels (fastnn: predict)",
    "Greater": "thresholds the output into labels (fastnn: predict)",
    "Sub": "1 - p, the first column of a binary classifier's probabilities (fastnn: predict_proba)",
    "Concat": "the (1 - p, p) columns of a binary classifier (fastnn: predict_proba)",
    "Reshape": "reshapes an output", "Flatten": "reshapes an output", "Squeeze": "reshapes an output",
    "Unsqueeze": "reshapes an output", "Cast": "converts an output's type", "Identity": "copies an output",
}
_NOT_DENSE = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LRN",
              "LSTM", "GRU", "RNN", "Attention", "MultiHeadAttention", "Gather", "Einsum"}
_NORMALISATION = {"BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization"}


@dataclass(frozen=True)
class ONNXImport:
    """What :func:`read_onnx` read: the model, and what it left out.

    Parameters
    ----------
    model : Sequential
        The network.
    input_name : str
        The graph input it takes.
    output_name : str
        The tensor it computes (a graph output, or the tensor the skipped
        post-processing starts from).
    skipped : tuple of str
        One line per node or graph output left out, and why.
    notes : tuple of str
        How the graph was read where that was not one to one (folded
        ``alpha``, a torch softplus threshold, a float32 slope, ...).
    classes : numpy.ndarray or None
        The class labels the graph maps indices to (skl2onnx's classifiers),
        else None: fastnn predicts indices 0..k-1, ``classes[model.predict(X)]``
        gives the labels.
    producer : str
        The graph's producer name and version, e.g. "pytorch 2.13.0".
    opset : int
        Its default-domain opset.
    """

    model: Sequential
    input_name: str
    output_name: str
    skipped: tuple[str, ...]
    notes: tuple[str, ...]
    classes: np.ndarray | None
    producer: str
    opset: int


def _name(node: Any) -> str:
    return f"node {node.name or node.output[0]!r} ({node.op_type})"


def _shape(value_info: Any) -> list[int | None] | None:
    """The declared shape (None for a symbolic dimension), or None when not declared."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]


class _Reader:
    """One pass over a graph: the chain of layers, then the post-processing."""

    def __init__(self, onnx: Any, proto: Any, where: str) -> None:
        self.onnx = onnx
        self.where = where
        self.graph = graph = proto.graph
        self.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.consts: dict[str, np.ndarray] = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                self.consts[node.output[0]] = self._constant_value(node)
        self.producer_of = {out: node for node in graph.node for out in node.output if out}
        self.consumers: dict[str, list[Any]] = {}
        for node in graph.node:
            for inp in dict.fromkeys(i for i in node.input if i):  # each reader once
                self.consumers.setdefault(inp, []).append(node)
        self.outputs = {o.name: o for o in graph.output}
        self.used: set[int] = {id(n) for n in graph.node if n.op_type == "Constant"}
        self.layers: list[LayerSpec] = []
        self.notes: list[str] = []
        self.skipped: list[str] = []
        self.casts: list[tuple[Any, int]] = []

    def bad(self, node: Any, why: str) -> ValueError:
        return ValueError(f"{self.where}: {_name(node)}: {why}")

    def _constant_value(self, node: Any) -> np.ndarray:
        for a in node.attribute:
            if a.name == "value":
                return np.asarray(self.onnx.numpy_helper.to_array(a.t))
            if a.name in ("value_float", "value_int", "value_floats", "value_ints"):
                return np.asarray(self.onnx.helper.get_attribute_value(a))
        raise self.bad(node, "a Constant fastnn cannot read (only value, value_float(s), value_int(s))")

    def attrs(self, node: Any) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def const(self, node: Any, index: int, what: str) -> np.ndarray:
        """A node's constant input (an initializer or a Constant node's value)."""
        name = node.input[index] if index < len(node.input) else ""
        if name in self.consts:
            return self.consts[name]
        if name in self.producer_of:
            p = self.producer_of[name]
            raise self.bad(node, f"its {what} {name!r} is computed by {_name(p)}; fastnn imports constant "
                                 "parameters (initializers) only")
        raise self.bad(node, f"its {what} {name!r} is a graph input, not an initializer; fastnn imports "
                             "constant parameters only")

    def sole_consumer(self, tensor: str) -> Any:
        """The one node reading ``tensor``, or None (several, none, or a graph output)."""
        cons = self.consumers.get(tensor, [])
        return cons[0] if len(cons) == 1 and tensor not in self.outputs else None

    def use(self, *nodes: Any) -> None:
        self.used.update(id(n) for n in nodes)

    # ---- layers ----------------------------------------------------------------

    def bias(self, node: Any, index: int, n_out: int, scale: float = 1.0) -> np.ndarray:
        """A bias input as (n_out,): from (n_out,), (1, n_out) or a single value."""
        c = self.const(node, index, "bias")
        if c.size == 1:
            c = np.full(n_out, c.reshape(-1)[0], dtype=c.dtype)
        elif c.shape not in ((n_out,), (1, n_out)):
            raise self.bad(node, f"bias {node.input[index]!r} has shape {c.shape}; a layer with {n_out} outputs "
                                 f"needs ({n_out},), (1, {n_out}) or one value")
        c = c.reshape(-1)
        return c * c.dtype.type(scale) if scale != 1 else c

    def weight(self, node: Any, transposed: bool) -> np.ndarray:
        """The weight input as (out, in); ``transposed``: stored (in, out)."""
        b = self.const(node, 1, "weight")
        if b.ndim != 2:
            raise self.bad(node, f"weight {node.input[1]!r} has shape {b.shape}; a fully connected layer "
                                 "needs a matrix")
        return np.ascontiguousarray(b.T if transposed else b)

    def gemm(self, node: Any, t: str) -> tuple[LayerSpec, str]:
        a = self.attrs(node)
        if node.input[0] != t:
            raise self.bad(node, "the data must be Gemm's first input (A), not a parameter")
        if a.get("transA", 0):
            raise self.bad(node, "transA=1 (a transposed input) is not supported")
        w = self.weight(node, transposed=not a.get("transB", 0))
        alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
        if alpha != 1:
            w = w * w.dtype.type(alpha)
            self.notes.append(f"{_name(node)}: alpha={alpha} folded into the weights")
        b = None
        if len(node.input) > 2 and node.input[2]:
            b = self.bias(node, 2, w.shape[0], beta)
            if beta != 1:
                self.notes.append(f"{_name(node)}: beta={beta} folded into the bias")
        self.use(node)
        return LayerSpec(w, b, _name(node)), node.output[0]

    def matmul(self, node: Any, t: str) -> tuple[LayerSpec, str]:
        if node.input[0] != t:
            raise self.bad(node, "the data must be MatMul's first input, not a parameter")
        w = self.weight(node, transposed=True)
        self.use(node)
        out, b = node.output[0], None
        add = self.sole_consumer(out)
        if add is not None and add.op_type == "Add" and add.domain in ("", "ai.onnx"):
            other = 1 if add.input[0] == out else 0
            if add.input[other] in self.consts:
                b = self.bias(add, other, w.shape[0])
                self.use(add)
                out = add.output[0]
        return LayerSpec(w, b, _name(node)), out

    def add_layer(self, spec: LayerSpec, node: Any) -> None:
        if self.layers:
            prev = self.layers[-1]
            if prev.activation == "softmax":
                raise self.bad(node, f"a layer after the Softmax of {prev.source}; fastnn's softmax is an "
                                     "output activation only")
            if spec.in_features != prev.out_features:
                raise self.bad(node, f"its weight takes {spec.in_features} inputs but {prev.source} gives "
                                     f"{prev.out_features} (mismatched shapes)")
        self.layers.append(spec)

    # ---- activations ---------------------------------------------------------------

    def set_activation(self, node: Any, activation: str, slope: float = 0.01) -> None:
        if not self.layers:
            raise self.bad(node, "an activation before the first fully connected layer; fastnn's layers "
                                 "compute act(W x + b)")
        layer = self.layers[-1]
        if layer.activation is not None:
            raise self.bad(node, f"a second activation after {layer.source} (already {layer.activation}); "
                                 "fastnn applies one activation per layer")
        layer.activation, layer.slope = activation, slope

    def activation(self, node: Any) -> None:
        """An activation node: the layer's activation (and slope), checked."""
        op, a = node.op_type, self.attrs(node)
        slope = 0.01
        if op == "LeakyRelu":
            # a float32 attribute: read as the shortest decimal that rounds to it (0.2, not 0.2000000029802322)
            alpha = np.float32(a.get("alpha", 0.01))
            slope = float(str(alpha))
            if slope != float(alpha):
                self.notes.append(f"{_name(node)}: alpha {float(alpha)!r} (float32) read as slope {slope!r}")
        elif op == "PRelu":
            s = self.const(node, 1, "slope")
            if s.size == 0 or not np.all(s == s.reshape(-1)[0]):
                raise self.bad(node, "a slope per neuron; fastnn's leaky_relu has one slope per layer")
            slope = float(s.reshape(-1)[0])
            if s.dtype == np.float32:  # as for LeakyRelu: the shortest decimal that rounds to it
                slope = float(str(s.reshape(-1)[0]))
        elif op == "Softmax":
            axis = a.get("axis", -1 if self.opset >= 13 else 1)
            if axis not in (-1, 1):
                raise self.bad(node, f"Softmax over axis {axis}; fastnn's softmax normalises each sample's "
                                     "outputs (the last axis)")
        self.set_activation(node, _ACTIVATION_OPS[op], slope)
        self.use(node)

    # ---- activations written as several nodes ---------------------------------------

    def _ops(self, tensor: str) -> dict[str, Any] | None:
        """The nodes reading ``tensor`` by op type, when it is not a graph output and each op reads it once."""
        cons = self.consumers.get(tensor, [])
        if tensor in self.outputs or any(n.domain not in ("", "ai.onnx") for n in cons):
            return None
        ops = {n.op_type: n for n in cons}
        return ops if len(ops) == len(cons) else None

    def torch_softplus(self, t: str) -> str | None:
        """PyTorch's ``Where(Greater(z, threshold), z, Softplus(z))``: softplus; the output, or None."""
        ops = self._ops(t)
        if ops is None or set(ops) != {"Softplus", "Greater", "Where"}:
            return None
        sp, gt, where = ops["Softplus"], ops["Greater"], ops["Where"]
        if (gt.input[0] != t or gt.input[1] not in self.consts or self.consts[gt.input[1]].size != 1
                or list(where.input) != [gt.output[0], t, sp.output[0]]):
            return None
        threshold = float(self.consts[gt.input[1]].reshape(-1)[0])
        self.set_activation(sp, "softplus")
        self.use(sp, gt, where)
        self.notes.append(f"{_name(gt)}, {_name(where)}: PyTorch's softplus threshold (z > {threshold:g} gives z); "
                          f"fastnn computes softplus exactly (they differ by at most {np.log1p(np.exp(-threshold)):.2g})")
        return str(where.output[0])

    def fastnn_softplus(self, t: str) -> str | None:
        """The double softplus fastnn writes, ``Relu(z) + Log(Exp(-Abs(z)) + 1)``; the output, or None."""
        ops = self._ops(t)
        if ops is None or set(ops) != {"Relu", "Abs"}:
            return None
        chain, x = [ops["Relu"], ops["Abs"]], ops["Abs"].output[0]
        for op in ("Neg", "Exp", "Add", "Log"):
            node = self.sole_consumer(x)
            if node is None or node.op_type != op:
                return None
            if op == "Add":
                other = node.input[1] if node.input[0] == x else node.input[0]
                if other not in self.consts or not np.all(self.consts[other] == 1):
                    return None
            chain.append(node)
            x = node.output[0]
        last = self.sole_consumer(x)
        if last is None or last.op_type != "Add" or set(last.input) != {ops["Relu"].output[0], x}:
            return None
        self.set_activation(ops["Relu"], "softplus")
        self.use(*chain, last)
        return str(last.output[0])

    def step(self, node: Any, t: str) -> str | None:
        """``Cast(GreaterOrEqual(z, 0), float)``: step; the output, or None."""
        if node.input[0] != t or node.input[1] not in self.consts or np.any(self.consts[node.input[1]] != 0):
            return None
        cast = self.sole_consumer(node.output[0])
        if cast is None or cast.op_type != "Cast" or self.attrs(cast).get("to") not in _FLOAT_TYPES:
            return None
        self.set_activation(node, "step")
        self.use(node, cast)
        return str(cast.output[0])

    # ---- the chain -----------------------------------------------------------------

    def next_tensor(self, t: str) -> str | None:
        """Take the node(s) reading ``t`` into the network; the tensor they give, or None where the chain ends."""
        out = self.torch_softplus(t) or self.fastnn_softplus(t)
        if out is not None:
            return out
        node = self.sole_consumer(t)
        if node is None or node.domain not in ("", "ai.onnx"):
            return None
        op = node.op_type
        if op in ("Gemm", "MatMul"):
            spec, out = self.gemm(node, t) if op == "Gemm" else self.matmul(node, t)
            self.add_layer(spec, node)
            return out
        if op in _ACTIVATION_OPS:
            self.activation(node)
            return str(node.output[0])
        if op == "GreaterOrEqual":
            return self.step(node, t)
        if op == "Identity" or (op == "Cast" and self.attrs(node).get("to") in _FLOAT_TYPES):
            if op == "Cast":
                self.casts.append((node, self.attrs(node)["to"]))
            self.use(node)
            return str(node.output[0])
        return None

    def walk(self, t: str) -> str:
        """Follow the chain from the input ``t``; the network's output tensor."""
        while True:
            nxt = self.next_tensor(t)
            if nxt is None:
                break
            t = nxt
        if not self.layers:
            node = next(iter(self.consumers.get(t, [])), None)
            if node is None:
                raise ValueError(f"{self.where}: no node reads the input {t!r}; there is no network to import")
            raise self.bad(node, self.reason(node, t))
        return t

    # ---- the rest of the graph ---------------------------------------------------------

    def data_input(self) -> Any:
        """The graph's one data input (inputs that are initializers are parameters)."""
        inputs = [i for i in self.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            names = ", ".join(repr(i.name) for i in inputs) or "none"
            raise ValueError(f"{self.where}: the graph has {len(inputs)} data inputs ({names}); fastnn's networks "
                             "take one, (batch, features)")
        return inputs[0]

    def check_shapes(self, inp: Any, out: str) -> None:
        """The declared input and output shapes against the layers."""
        shape = _shape(inp)
        first, last = self.layers[0], self.layers[-1]
        if shape is not None and len(shape) != 2:
            raise ValueError(f"{self.where}: input {inp.name!r} has shape {shape}; fastnn's networks take "
                             "(batch, features)")
        if shape is not None and shape[1] not in (None, first.in_features):
            raise ValueError(f"{self.where}: input {inp.name!r} has {shape[1]} features but {first.source} takes "
                             f"{first.in_features} (mismatched shapes)")
        shape = _shape(self.outputs[out]) if out in self.outputs else None
        if shape is not None and len(shape) == 2 and shape[1] not in (None, last.out_features):
            raise ValueError(f"{self.where}: output {out!r} is declared with {shape[1]} columns but "
                             f"{last.source} gives {last.out_features} (mismatched shapes)")

    def reason(self, node: Any, end: str) -> str:
        """Why ``node`` cannot be imported (the chain of layers ended at tensor ``end``)."""
        op = node.op_type
        if node.domain not in ("", "ai.onnx"):
            return f"an op of domain {node.domain!r}, which fastnn does not run"
        if op in _NOT_DENSE:
            return "fastnn runs fully connected networks only"
        if op in _NORMALISATION:
            return "fastnn has no normalisation layers"
        if op in ("Flatten", "Reshape") and not self.layers:
            return ("reshapes the input; fastnn's networks take (batch, features) data: export the network without "
                    "it and flatten the data yourself")
        if op == "Dropout":
            return "dropout; export the model in inference mode (model.eval()), which leaves it out"
        readers = self.consumers.get(end, [])
        names = ", ".join(_name(n) for n in readers)
        if len(readers) > 1:
            return f"the data branches at tensor {end!r} (read by {names}); fastnn runs a single chain of layers"
        if op in ("Gemm", "MatMul", "Add") or op in _ACTIVATION_OPS:
            where = "a graph output" if end in self.outputs else f"read by {names or 'no node'}"
            return f"not on the chain of layers from the input, which ends at tensor {end!r} ({where})"
        return ("not an op of the networks fastnn runs: chains of Gemm or MatMul(+Add) layers, each with one "
                "activation of Sigmoid, Tanh, Relu, LeakyRelu, PRelu, Softplus, Softmax, Sign or Identity")

    def postprocess(self, end: str) -> np.ndarray | None:
        """Skip the output post-processing after tensor ``end``, refuse anything else; the class labels found."""
        derived, classes = {end}, None
        for node in self.graph.node:
            if id(node) in self.used:
                continue
            inputs = [i for i in node.input if i]
            if (node.op_type in _POSTPROCESSING and node.domain in ("", "ai.onnx", "ai.onnx.ml")
                    and any(i in derived for i in inputs) and all(i in derived or i in self.consts for i in inputs)):
                self.skipped.append(f"{_name(node)}: {_POSTPROCESSING[node.op_type]}")
                derived.update(node.output)
                if node.op_type == "ArrayFeatureExtractor" and node.input[0] in self.consts:
                    classes = self.consts[node.input[0]]
                elif node.op_type == "ZipMap" and classes is None:
                    a = self.attrs(node)
                    labels = a.get("classlabels_int64s") or a.get("classlabels_strings")
                    classes = None if labels is None else np.asarray(
                        [c.decode() if isinstance(c, bytes) else c for c in labels])
                continue
            raise self.bad(node, self.reason(node, end))
        for name in self.outputs:
            if name != end:
                self.skipped.append(f"graph output {name!r}: computed by the skipped nodes, not by the network")
        return classes

    def check_casts(self, dtype: np.dtype, input_name: str) -> None:
        """Casts inside the network must be to the model's dtype; one of the input is a note."""
        for node, to in self.casts:
            if _FLOAT_TYPES[to] != dtype.name:
                raise self.bad(node, f"casts to {_FLOAT_TYPES[to]} inside a {dtype.name} network; fastnn computes "
                                     "a model in one dtype")
            if node.input[0] == input_name:
                self.notes.append(f"{_name(node)}: converts the input to {dtype.name}; fastnn converts its input "
                                  "itself")



def _parse(onnx: Any, data: bytes, where: str, base_dir: str | None) -> Any:
    """The ModelProto in ``data`` (with its external data from ``base_dir``)."""
    if not data:
        raise ModelFileError(f"{where}: not an ONNX model (the file is empty)")
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as e:  # google.protobuf's DecodeError, whose module differs between implementations
        raise ModelFileError(f"{where}: not an ONNX model, or a truncated or damaged one ({type(e).__name__}: "
                             f"{e})") from e
    external = onnx.external_data_helper.uses_external_data
    if base_dir is not None and any(external(t) for t in proto.graph.initializer):
        try:
            onnx.load_external_data_for_model(proto, base_dir)
        except (OSError, ValueError, onnx.checker.ValidationError) as e:
            raise ModelFileError(f"{where}: its external data (weights in a separate file) cannot be read: "
                                 f"{e}") from e
    return proto


def _load(onnx: Any, source: Any) -> tuple[Any, str]:
    """(ModelProto, description for messages) from a path, bytes or a ModelProto."""
    if isinstance(source, onnx.ModelProto):
        return source, "<onnx.ModelProto>"
    if isinstance(source, (bytes, bytearray)):
        return _parse(onnx, bytes(source), "<bytes>", None), "<bytes>"
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path, bytes or an onnx.ModelProto, got {type(source).__name__}")
    path = os.fspath(check_path("source", source))
    with open(path, "rb") as f:
        data = f.read()
    return _parse(onnx, data, path, os.path.dirname(os.path.abspath(path))), path


def _check_references(graph: Any, where: str) -> None:
    """Every tensor a node reads exists: a truncated or edited file can lose an initializer."""
    known = {t.name for t in graph.initializer} | {i.name for i in graph.input}
    known |= {out for node in graph.node for out in node.output if out}
    for node in graph.node:
        for inp in node.input:
            if inp and inp not in known:
                raise ModelFileError(f"{where}: {_name(node)} reads {inp!r}, which no initializer, graph input or "
                                     "node provides (a missing initializer)")
    for out in graph.output:
        if out.name not in known:
            raise ModelFileError(f"{where}: graph output {out.name!r} is computed by no node")


def _fastnn_metadata(proto: Any) -> tuple[str | None, list[str] | None]:
    """The loss and bias modes fastnn's export records, when present and well formed."""
    meta = {p.key: p.value for p in proto.metadata_props}
    loss = meta.get("fastnn.loss")
    if loss not in ("cross_entropy", "binary_cross_entropy", "half_squared_error", "mse"):
        loss = None
    try:
        modes = json.loads(meta.get("fastnn.bias_modes", "null"))
    except ValueError:
        modes = None
    return loss, modes if isinstance(modes, list) else None


def read_onnx(source: Any) -> ONNXImport:
    """Read the fully connected network of an ONNX model, and what was left out.

    Parameters
    ----------
    source : str, os.PathLike, bytes or onnx.ModelProto
        An ONNX file (external data is read from beside it), its bytes, or
        a loaded model.

    Returns
    -------
    ONNXImport
        The model (float32 or float64 as the parameters; its loss fastnn's
        export recorded, else cross-entropy for a softmax output, binary
        cross-entropy for sigmoid, half squared error for skl2onnx's
        regressors, none otherwise), the nodes skipped, notes.

    Raises
    ------
    ImportError
        When ``onnx`` is not installed; the message says what to install.
    FileNotFoundError
        For a missing file.
    ModelFileError
        (a ValueError) For a file that is not an ONNX model, or a truncated
        or damaged one: unparseable, a missing initializer, failing
        ``onnx.checker``.
    ValueError
        For a graph fastnn cannot run, naming the node, its op and why.
    """
    onnx = require("onnx", "onnx", "fastnn.from_onnx")
    proto, where = _load(onnx, source)
    _check_references(proto.graph, where)
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as e:
        raise ModelFileError(f"{where}: not a valid ONNX model ({str(e).strip()})") from e
    r = _Reader(onnx, proto, where)
    inp = r.data_input()
    out = r.walk(inp.name)
    r.check_shapes(inp, out)
    classes = r.postprocess(out)
    loss, bias_modes = _fastnn_metadata(proto)
    act = r.layers[-1].activation or "identity"
    if loss is None and act == "identity" and proto.producer_name == "skl2onnx":
        loss = "half_squared_error"  # an MLPRegressor: scikit-learn's squared_error (classifiers end in softmax/sigmoid)
    model = build_sequential(r.layers, loss or fitting_loss(act), where, bias_modes)
    r.check_casts(model.dtype, inp.name)
    return ONNXImport(model, inp.name, out, tuple(r.skipped), tuple(r.notes), classes,
                      f"{proto.producer_name} {proto.producer_version}".strip(), r.opset)


def from_onnx(source: Any) -> Sequential:
    """A fastnn model from an ONNX model of a fully connected network.

    Reads chains of Gemm or MatMul(+Add) layers with Sigmoid, Tanh, Relu,
    LeakyRelu, Softplus, Softmax, Sign or Identity activations: what
    :meth:`fastnn.Sequential.to_onnx` writes, what ``torch.onnx.export``
    writes for an ``nn.Sequential`` of Linear and those activations (both
    exporters), and skl2onnx's MLPClassifier and MLPRegressor graphs, whose
    label and probability post-processing is skipped
    (:func:`read_onnx` says what was).  See docs/interop.md.

    Parameters
    ----------
    source : str, os.PathLike, bytes or onnx.ModelProto
        An ONNX file, its bytes, or a loaded model.

    Returns
    -------
    Sequential
        The network, ready to predict and to train on.

    Raises
    ------
    ImportError
        When ``onnx`` is not installed.
    ModelFileError
        For a file that is not a valid ONNX model.
    ValueError
        For a graph fastnn cannot run, naming the node, its op and why,
        e.g. ``node 'Conv_3' (Conv): fastnn runs fully connected networks only``.

    Examples
    --------
    >>> import fastnn
    >>> model = fastnn.from_onnx("model.onnx")  # doctest: +SKIP
    """
    return read_onnx(source).model
