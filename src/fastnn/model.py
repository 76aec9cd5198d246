"""Models: ``Sequential``, a stack of Dense layers, with its training
pass (forward, fused loss, backward, update) and its file format.

The training pass runs on preallocated buffers (``Workspace``): one
activation and one gradient buffer per layer, sized for the batch, so a
training step allocates nothing.  Each layer's forward pass is one call of
``_core.dense_forward`` (GEMM + bias + activation), its backward pass one
call of ``_core.dense_backward`` or, for plain SGD, ``_core.dense_backward_sgd``
with the update fused into the weight-gradient GEMM.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile

from collections.abc import Mapping

import numpy as np

from . import _core, _memory
from .layers import FORWARD_ONLY, Dense, check_seed, finish_activation
from .losses import Loss, get_loss

__all__ = ["ModelFileError", "Sequential", "load"]

FILE_FORMAT = "fastnn.Sequential"
FILE_VERSION = 1
_INFERENCE_CHUNK = 8192  # rows per forward pass in predict: bounds the buffers
_POST_ACTIVATIONS = ("softmax", "step", "sign")  # applied after the GEMM, not in its epilogue


class ModelFileError(ValueError):
    """A model file that is not a fastnn model, or is damaged."""


def _dtype_of(dtype):
    if dtype is None:
        raise TypeError("dtype must be float32 or float64, got None")
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r} ({e})") from None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


class Sequential:
    """A feed-forward network: Dense layers applied in order.

    ``Sequential([Dense(784, 64), Dense(64, 10, "softmax")], dtype="float32")``

    Parameters
    ----------
    layers : list of Dense
        Consecutive layers must agree: each layer's in_features equals the
        previous layer's out_features (checked here).
    dtype : "float32" or "float64"
        The dtype of every parameter and computation.
    seed : int, optional
        Re-draw the initial weights of every layer not given explicit
        weights, from one generator seeded with this.
    """

    def __init__(self, layers, dtype="float32", seed=None):
        if isinstance(layers, (str, bytes, Dense)) or not hasattr(layers, "__iter__"):
            raise TypeError(f"layers must be a list of fastnn.Dense layers, got {type(layers).__name__}")
        layers = list(layers)
        if not layers:
            raise ValueError("a Sequential model needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Dense):
                raise TypeError(f"layer {i} is a {type(layer).__name__}; Sequential takes fastnn.Dense layers")
        for i in range(1, len(layers)):
            prev, cur = layers[i - 1], layers[i]
            if cur.in_features != prev.out_features:
                raise ValueError(
                    f"layer {i} expects {cur.in_features} inputs but layer {i - 1} gives "
                    f"{prev.out_features} outputs"
                )
        for i, layer in enumerate(layers[:-1]):
            if layer.activation == "softmax":
                raise ValueError(f"softmax is an output activation: layer {i} is not the last layer")
        self.layers = layers
        self.dtype = _dtype_of(dtype)
        seed = check_seed(seed)
        if seed is not None:
            rng = np.random.default_rng(seed)
            for layer in layers:
                if not layer.explicit_weight:
                    layer.reset_parameters(rng)
        for layer in layers:
            layer._set_dtype(self.dtype)

    # ---- description ----------------------------------------------------------

    @property
    def n_inputs(self):
        return self.layers[0].in_features

    @property
    def n_outputs(self):
        return self.layers[-1].out_features

    @property
    def output_activation(self):
        return self.layers[-1].activation

    @property
    def is_classifier(self):
        return self.output_activation in ("softmax", "sigmoid", "step", "sign")

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __repr__(self):
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n], dtype={self.dtype.name!r})"

    def summary(self):
        """A table of the layers and their parameter counts."""
        lines = [f"{'layer':<6}{'shape':<14}{'activation':<12}{'bias':<11}{'params':>10}"]
        for i, layer in enumerate(self.layers):
            shape = f"{layer.in_features}->{layer.out_features}"
            lines.append(f"{i:<6}{shape:<14}{layer.activation:<12}{layer.bias_mode:<11}{layer.n_parameters:>10}")
        lines.append(f"total parameters: {sum(layer.n_parameters for layer in self.layers)} ({self.dtype.name})")
        return "\n".join(lines)

    # ---- parameters -------------------------------------------------------------

    def parameters(self):
        """(name, array) pairs such as ("0.weight", W0): the live arrays."""
        return [(f"{i}.{name}", arr) for i, layer in enumerate(self.layers) for name, arr in layer.parameters()]

    def state_dict(self):
        """A copy of every parameter, by name."""
        return {name: arr.copy() for name, arr in self.parameters()}

    def load_state_dict(self, state):
        """Set parameters from a state_dict (all checked before any is set)."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict of arrays (from state_dict), got {type(state).__name__}")
        own = dict(self.parameters())
        missing = sorted(set(own) - set(state))
        extra = sorted(set(state) - set(own))
        if missing or extra:
            raise ValueError(f"state does not match the model: missing {missing}, unexpected {extra}")
        new = {}
        for name, arr in own.items():
            try:
                value = np.asarray(state[name])
            except (ValueError, TypeError) as e:
                raise TypeError(f"{name}: expected a numeric array ({e})") from None
            if value.shape != arr.shape:
                raise ValueError(f"{name}: expected shape {arr.shape}, got {value.shape}")
            if value.dtype.kind not in "fiu":
                raise TypeError(f"{name}: expected a numeric array, got dtype {value.dtype}")
            value = value.astype(self.dtype)
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{name} contains NaN or infinity")
            new[name] = value
        for name, arr in own.items():
            arr[...] = new[name]

    # ---- inference ----------------------------------------------------------------

    def _check_input(self, X, name="X"):
        try:
            X = np.asarray(X)
        except (ValueError, TypeError) as e:  # e.g. a ragged nested list
            raise TypeError(f"{name} must be an array of numbers: {e}") from None
        if X.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be numeric, got dtype {X.dtype}")
        single = X.ndim == 1
        if single:
            X = X.reshape(1, -1)
        if X.ndim != 2:
            raise ValueError(f"{name} must be (n_samples, {self.n_inputs}) or one sample ({self.n_inputs},), "
                             f"got shape {X.shape}")
        if X.shape[1] != self.n_inputs:
            raise ValueError(f"{name} has {X.shape[1]} features but the model expects {self.n_inputs}")
        if not (X.flags.c_contiguous and X.flags.aligned and X.dtype == self.dtype):  # a copy is made
            _memory.check_alloc(X.shape[0] * X.shape[1] * self.dtype.itemsize,
                                f"a {self.dtype} copy of {name} with shape {X.shape}")
        X = np.require(X, dtype=self.dtype, requirements=("C", "A"))  # contiguous, aligned
        if not _core.all_finite(X):
            raise ValueError(f"{name} contains NaN or infinity")
        return X, single

    def forward(self, X):
        """The network's output for X (n_samples, n_inputs), with the output
        activation applied (softmax probabilities, sigmoid, ...)."""
        if type(X) is np.ndarray:
            # The common case in one C call: a C-contiguous batch of the
            # model's dtype (at batch 1 the checks would cost as much as
            # the arithmetic).  Anything else takes the general path.
            net = self._network(False)
            out = None if net is None else net.run(X)
            if out is not None:
                return out
        X, single = self._check_input(X)
        out = self._forward_checked(X)
        return out[0] if single else out

    __call__ = forward

    def _network(self, logits):
        """The layers bound for one C call per forward pass (cached; rebound
        when a layer's arrays, activation or slope change), or None when a
        layer needs Python in between (a shared bias, step/sign outputs)."""
        cache = self.__dict__.setdefault("_network_cache", {})
        net = cache.get(logits)
        if net is not None and net.matches(self.layers):
            return net
        cache.pop(logits, None)
        layers = self.layers
        last = len(layers) - 1
        for i, layer in enumerate(layers):
            if layer.bias_mode == "shared" or (layer.activation in _POST_ACTIVATIONS and
                                               not (i == last and (logits or layer.activation == "softmax"))):
                return None
        net = _core.NetworkForward(
            layers, [layer._weight for layer in layers], [layer._bias for layer in layers],
            [_core.ACTIVATION_CODES[layer.kernel_activation] for layer in layers],
            [layer.slope for layer in layers], [layer.activation for layer in layers],
            layers[-1].activation == "softmax" and not logits)
        cache[logits] = net
        return net

    def _forward_checked(self, X, logits=False):
        n = X.shape[0]
        _memory.check_alloc(n * self.n_outputs * self.dtype.itemsize, f"the output for {n} samples")
        out = np.empty((n, self.n_outputs), dtype=self.dtype)
        if n == 0:
            return out
        net = self._network(logits)
        if net is not None:
            # One C call: the whole network (one thread-pool job per layer
            # at small batches, where the Python per layer was most of the time),
            # chunks of rows in C for large ones.
            net.forward(X, out)
            return out
        chunk = min(n, _INFERENCE_CHUNK)
        layers = self.layers
        last = len(layers) - 1
        bufs = [np.empty((chunk, layer.out_features), dtype=self.dtype) for layer in layers[:-1]]
        codes = _core.ACTIVATION_CODES
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            h = X if e - s == n else X[s:e]
            for i, layer in enumerate(layers):
                o = (out if e - s == n else out[s:e]) if i == last else (bufs[i] if e - s == chunk else bufs[i][: e - s])
                act = layer.activation
                bias = layer.full_bias() if layer.bias_mode == "shared" else layer._bias
                _core.dense_forward(h, layer._weight, bias, o, codes[layer.kernel_activation], layer.slope)
                if act in _POST_ACTIVATIONS and not (i == last and logits):
                    finish_activation(act, o)
                h = o
        return out

    def predict_proba(self, X):
        """Class probabilities: the softmax output, or for a single sigmoid
        output the columns (1 - p, p)."""
        if self.output_activation not in ("softmax", "sigmoid"):
            raise ValueError(f"predict_proba needs a softmax or sigmoid output layer, not {self.output_activation!r}")
        P = self.forward(X)
        if self.output_activation == "sigmoid" and self.n_outputs == 1:
            P = np.concatenate([1 - P, P], axis=-1)
        return P

    def predict(self, X):
        """Class labels for classifiers (argmax of softmax; p >= 0.5 for
        sigmoid outputs, one column per output; the step/sign outputs
        themselves); the output itself for other models."""
        out = self.forward(X)
        return self._labels_from_output(out)

    def _labels_from_output(self, out, logits=False):
        act = self.output_activation
        if act == "softmax" or (act != "sigmoid" and self.is_classifier and out.shape[-1] > 1):
            return np.argmax(out, axis=-1)
        if act == "sigmoid":
            lab = (out >= (0 if logits else 0.5)).astype(np.int64)
            return lab[..., 0] if out.shape[-1] == 1 else lab
        if act in ("step", "sign"):
            lab = out.astype(np.int64)
            return lab[..., 0] if out.shape[-1] == 1 else lab
        return out

    def evaluate(self, X, y, loss=None):
        """{"loss": ..., "accuracy": ...} on (X, y); accuracy only for
        classifiers.  ``loss`` defaults to cross-entropy for softmax outputs,
        binary cross-entropy for sigmoid outputs, else half squared error."""
        loss = get_loss(loss if loss is not None else self.default_loss())
        X, _ = self._check_input(X)
        target = loss.prepare_targets(y, self.n_outputs, self.dtype)
        if target.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but y has {target.shape[0]}")
        if X.shape[0] == 0:
            raise ValueError("cannot evaluate on zero samples")
        fused = loss.fused_activation is not None
        out = self._forward_checked(X, logits=fused)
        value = loss(out, target, np.empty_like(out))
        result = {"loss": float(value)}
        if self.is_classifier:
            result["accuracy"] = accuracy(self, out, target, logits=fused)
        return result

    def default_loss(self):
        return {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}.get(
            self.output_activation, "half_squared_error")

    # ---- saving ---------------------------------------------------------------------

    def config(self):
        return {"format": FILE_FORMAT, "version": FILE_VERSION, "dtype": self.dtype.name,
                "layers": [layer.config() for layer in self.layers]}

    def save(self, path):
        """Write the model (architecture and parameters) to ``path``.

        The file is an uncompressed NumPy .npz archive holding a JSON header
        and the arrays; it never contains pickled objects.  It is written to
        a temporary file beside ``path`` and renamed over it only when
        complete, so an interrupted save leaves any previous file intact.
        """
        path = os.fspath(path)
        arrays = {"__config__": np.frombuffer(json.dumps(self.config()).encode(), dtype=np.uint8)}
        for name, arr in self.parameters():
            arrays[name] = arr
        atomic_savez(path, arrays)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save` (see :func:`fastnn.load`)."""
        return load(path)

    def __getstate__(self):
        return {"config": self.config(), "params": self.state_dict()}

    def __setstate__(self, state):
        model = _from_config(state["config"], state["params"], "<pickle>")
        self.__dict__.update(model.__dict__)


def atomic_savez(path, arrays):
    """np.savez to a temporary file beside path, fsynced, then renamed over
    it: an interrupted save leaves any previous file intact (model files and
    training checkpoints)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastnn-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_npz(path, bad):
    """The arrays of the .npz file at path (model files and checkpoints),
    never unpickling anything; bad(reason) gives the exception to raise
    for a file that is not a readable .npz."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"PK\x03\x04"):
        # Not a zip archive, so not an .npz: say that, rather than what
        # np.load would (for most bytes, advice about loading pickles).
        what = ("it is empty" if not data else "it is a single NumPy array (.npy)"
                if data.startswith(b"\x93NUMPY") else f"it starts with {data[:16]!r}, not a zip header")
        raise bad(f"{what}; these files are .npz archives")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise bad(f"{type(e).__name__}: {e}") from e


def _from_config(cfg, arrays, source):
    def bad(reason):
        return ModelFileError(f"{source}: not a valid fastnn model file ({reason})")

    if not isinstance(cfg, dict) or cfg.get("format") != FILE_FORMAT:
        raise bad("missing or foreign format tag")
    if cfg.get("version") != FILE_VERSION:
        raise bad(f"file version {cfg.get('version')!r}; this fastnn reads version {FILE_VERSION}")
    try:
        dtype = _dtype_of(cfg["dtype"])
        layers = []
        for i, lc in enumerate(cfg["layers"]):
            if lc.get("type") != "Dense":
                raise bad(f"layer {i} has unknown type {lc.get('type')!r}")
            w = arrays.get(f"{i}.weight")
            if w is None:
                raise bad(f"layer {i} has no weight array")
            b = arrays.get(f"{i}.bias")
            if (b is None) != (lc["bias_mode"] == "none"):
                raise bad(f"layer {i}'s bias does not match its bias mode {lc['bias_mode']!r}")
            for name, a in (("weight", w), ("bias", b)):
                if a is not None and a.dtype.kind != "f":
                    raise bad(f"layer {i} {name} has dtype {a.dtype}")
            layers.append(Dense.from_config(lc, w, b))
        expected = {f"{i}.{n}" for i, layer in enumerate(layers) for n, _ in layer.parameters()}
        extra = set(arrays) - expected
        if extra:
            raise bad(f"unexpected arrays {sorted(extra)}")
        return Sequential(layers, dtype=dtype)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise bad(str(e)) from e


def load(path):
    """Load a model saved with :meth:`Sequential.save`.

    A missing file raises FileNotFoundError; a file that is truncated,
    corrupted, of another format or another version raises ModelFileError
    (a ValueError) that says so.  Nothing in the file is ever unpickled.
    """
    path = os.fspath(path)
    arrays = read_npz(path, lambda reason: ModelFileError(f"{path}: not a valid fastnn model file ({reason})"))
    header = arrays.pop("__config__", None)
    if header is None:
        raise ModelFileError(f"{path}: not a valid fastnn model file (no fastnn header)")
    try:
        cfg = json.loads(header.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{path}: not a valid fastnn model file (damaged header: {e})") from e
    return _from_config(cfg, arrays, path)


def accuracy(model, out, target, logits=False):
    """Fraction of samples whose predicted class matches the target."""
    pred = model._labels_from_output(out, logits=logits)
    if target.ndim == 2 and model.output_activation == "softmax":
        truth = np.argmax(target, axis=1)
    elif target.ndim == 2 and target.shape[1] == 1:
        truth = np.rint(target[:, 0]).astype(np.int64)
    elif target.ndim == 2:
        truth = np.rint(target).astype(np.int64)
    else:
        truth = target
    if pred.ndim == 2:  # multi-label: every output must match
        return float(np.mean(np.all(pred == truth, axis=1)))
    return float(np.mean(pred == truth))


# ---- the training pass ------------------------------------------------------------

class Workspace:
    """The buffers of a training step for batches of up to ``batch_size``
    rows: activations and gradients per layer, weight and bias gradients
    for optimizers that keep state, and a gathered input batch."""

    def __init__(self, model, batch_size, need_param_grads):
        dt = model.dtype
        widths = sum(layer.out_features for layer in model.layers)
        params = sum(layer.weight.size for layer in model.layers) if need_param_grads else 0
        _memory.check_alloc((batch_size * (model.n_inputs + 2 * widths) + 3 * widths + params) * dt.itemsize,
                            f"the training workspace for batch_size={batch_size}")
        self.batch_size = batch_size
        self.X = np.empty((batch_size, model.n_inputs), dtype=dt)
        self.acts = [np.empty((batch_size, layer.out_features), dtype=dt) for layer in model.layers]
        self.grads = [np.empty((batch_size, layer.out_features), dtype=dt) for layer in model.layers]
        self.db = [np.empty(layer.out_features, dtype=dt) for layer in model.layers]
        self.bias_full = [np.empty(layer.out_features, dtype=dt) for layer in model.layers]
        self.db_shared = [np.empty(1, dtype=dt) for _ in model.layers]
        self.dW = [np.empty_like(layer.weight) if need_param_grads else None for layer in model.layers]


def check_trainable(model, loss):
    """Errors, before any step, for what cannot be trained."""
    for i, layer in enumerate(model.layers):
        if layer.activation in FORWARD_ONLY and layer.trainable:
            raise ValueError(
                f"layer {i} uses the {layer.activation!r} activation, whose derivative is zero almost "
                "everywhere: it cannot be trained by backpropagation (use fastnn.Perceptron for a "
                "step unit, or freeze the layer with trainable=False)"
            )
    act = model.output_activation
    if loss.fused_activation == "softmax" and act not in ("softmax", "identity"):
        raise ValueError(f"cross_entropy needs a softmax (or identity: logits) output layer, not {act!r}")
    if loss.fused_activation == "sigmoid" and act not in ("sigmoid", "identity"):
        raise ValueError(f"binary_cross_entropy needs a sigmoid (or identity: logits) output layer, not {act!r}")
    if loss.fused_activation is None and act == "softmax":
        raise ValueError(f"a softmax output trains with cross_entropy; {loss.name} is not supported with it")
    if loss.fused_activation is None and act in FORWARD_ONLY:
        raise ValueError(f"the output activation {act!r} has no useful derivative")


def forward_train(model, X, ws, fused):
    """Forward pass of a training step into the workspace; returns the
    output (logits when the loss fuses the output activation)."""
    n = X.shape[0]
    h = X
    last = len(model.layers) - 1
    for i, layer in enumerate(model.layers):
        out = ws.acts[i][:n]
        if i == last and fused:
            code = 0  # identity: the loss applies softmax / sigmoid itself
        else:
            code = _core.ACTIVATION_CODES[layer.kernel_activation]
        bias = layer.full_bias(ws.bias_full[i]) if layer.bias_mode == "shared" else layer.bias
        _core.dense_forward(h, layer.weight, bias, out, code, layer.slope)
        if not (i == last and fused):
            finish_activation(layer.activation, out)
        h = out
    return h


def bind_train_step(model, ws, optimizer):
    """The model, workspace and optimizer bound for a whole training step in
    one C call (softmax cross-entropy output; plain SGD or Adam), or None
    when something needs the per-layer path: a shared bias, a bias frozen
    while its weights learn (or the reverse), a hidden activation applied
    outside the GEMM, or optimizer state of another dtype."""
    layers = model.layers
    last = len(layers) - 1
    train = []
    for i, layer in enumerate(layers):
        if layer.bias_mode == "shared" or (i < last and layer.activation in _POST_ACTIVATIONS):
            return None
        train_w = "weight" in layer.trainable
        train_b = layer.bias is not None and "bias" in layer.trainable
        if layer.bias is not None and train_w != train_b:
            return None
        train.append(train_w)
    codes = [0 if i == last else _core.ACTIVATION_CODES[layer.kernel_activation] for i, layer in enumerate(layers)]
    if optimizer.fusable:
        return _core.NetworkTrainStep(layers, train, ws, codes)
    # Adam: its moments, created as its update would create them
    moments = []
    for i, layer in enumerate(layers):
        if not train[i]:
            moments.append(None)
            continue
        if ws.dW[i] is None:
            return None
        pair = []
        for name, param in (("weight", layer._weight), ("bias", layer._bias)):
            if param is None:
                pair.append(None)
                continue
            st = optimizer.state.get((i, name))
            if st is None:
                st = optimizer.state[(i, name)] = (np.zeros_like(param), np.zeros_like(param))
            if any(a.dtype != param.dtype or a.shape != param.shape or not a.flags.c_contiguous for a in st):
                return None
            pair.append(st)
        sw, sb = pair
        moments.append((sw[0], sw[1], None if sb is None else sb[0], None if sb is None else sb[1], sw, sb))
    return _core.NetworkTrainStep(layers, train, ws, codes, moments, optimizer.state)


def backward_update(model, X, ws, fused, optimizer, n):
    """Backward pass from ws.grads[-1] (d loss / d output), layer by layer
    from the top, updating each layer as soon as its gradients exist (its dX
    has then been computed with its old weights)."""
    layers = model.layers
    last = len(layers) - 1
    first_trainable = next((i for i, layer in enumerate(layers) if layer.trainable), len(layers))
    for i in range(last, -1, -1):
        layer = layers[i]
        x_in = X if i == 0 else ws.acts[i - 1][:n]
        dA = ws.grads[i][:n]  # becomes dZ in place
        A = ws.acts[i][:n]
        code = 0 if (i == last and fused) else _core.ACTIVATION_CODES[layer.kernel_activation]
        dX = ws.grads[i - 1][:n] if i > first_trainable else None  # only if a layer below learns
        train_w = "weight" in layer.trainable
        train_b = layer.bias is not None and "bias" in layer.trainable
        db = ws.db[i] if layer.bias is not None else None
        if optimizer.fusable and train_w:
            lr = optimizer.lr_for(i)
            fused_b = layer.bias if (train_b and layer.bias_mode == "per_neuron") else None
            _core.dense_backward_sgd(dA, A, x_in, layer.weight, fused_b, lr, code, layer.slope, dA, ws.db[i], dX)
            if train_b and layer.bias_mode == "shared":
                layer.bias[0] -= lr * ws.db[i].sum()
            continue
        dW = ws.dW[i] if train_w else None
        if dW is None and db is None and dX is None:
            continue
        _core.dense_backward(dA, A, x_in, layer.weight, code, layer.slope, dA, dW, db, dX)
        lr = optimizer.lr_for(i)
        if train_w:
            optimizer.update((i, "weight"), layer.weight, dW, lr)
        if train_b:
            if layer.bias_mode == "shared":
                ws.db_shared[i][0] = db.sum()
                optimizer.update((i, "bias"), layer.bias, ws.db_shared[i], lr)
            else:
                optimizer.update((i, "bias"), layer.bias, db, lr)


def loss_and_output_grad(model, loss: Loss, X, target, ws):
    """Forward pass and loss of a batch; leaves d loss / d output in
    ws.grads[-1].  Returns (loss value, output, number of correct rows or
    None when the loss kernel does not count them)."""
    fused = loss.fused_activation is not None
    n = X.shape[0]
    out = forward_train(model, X, ws, fused)
    counts = getattr(loss, "loss_and_correct", None)
    if counts is not None:
        value, correct = counts(out, target, ws.grads[-1][:n])
        return value, out, correct
    return loss(out, target, ws.grads[-1][:n]), out, None
