"""The model: ``Sequential``, a stack of Dense layers.

Inference runs the whole network in one C call where it can
(``_core.NetworkForward``: every layer's GEMM with its fused epilogue),
and layer by layer otherwise (a shared bias, step or sign units).  Training
is :mod:`fastnn.training`'s; saving is :mod:`fastnn.io.model_file`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _core, _memory
from .._validation import check_dtype, check_seed
from ..io.model_file import FILE_FORMAT, FILE_VERSION, ModelFileError, read_model_file, write_model_file
from .activations import apply_after_gemm
from .layers import Dense
from .losses import Loss, get_loss
from .metrics import accuracy, target_labels

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._typing import ArrayLike, DTypeLike, FloatArray, LabelArray

__all__ = ["Sequential", "load"]

_INFERENCE_CHUNK = 8192  # rows per forward pass in the layer-by-layer path: bounds the buffers
_LABEL_OUTPUTS = ("step", "sign")  # outputs that are labels themselves
_PROBABILITY_OUTPUTS = ("softmax", "sigmoid")
_IDENTITY = _core.ACTIVATION_CODES["identity"]


class Sequential:
    """A feed-forward network: Dense layers applied in order.

    Parameters
    ----------
    layers : list of Dense
        Consecutive layers must agree: each layer's in_features equals the
        previous layer's out_features (checked here).
    dtype : {"float32", "float64"}, default "float32"
        The dtype of every parameter and computation.
    seed : int or numpy.random.Generator, optional
        Re-draw the initial weights of every layer not given explicit
        weights, from one generator seeded with this.

    Attributes
    ----------
    layers : list of Dense
    dtype : numpy.dtype
    loss : Loss or None
        The loss the model is trained with: set by :class:`fastnn.Trainer`,
        kept in saved files, used by :meth:`evaluate`.

    Examples
    --------
    >>> import fastnn
    >>> model = fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 10, "softmax")], seed=0)
    >>> model.n_inputs, model.n_outputs
    (784, 10)
    """

    def __init__(self, layers: Iterable[Dense], dtype: DTypeLike = "float32",
                 seed: int | np.random.Generator | None = None) -> None:
        layers = _check_layers(layers)
        self.layers = layers
        self.dtype = check_dtype(dtype)
        self.loss: Loss | None = None
        seed = check_seed(seed)
        if seed is not None:
            rng = np.random.default_rng(seed)
            for layer in layers:
                if not layer.explicit_weight:
                    layer.reset_parameters(rng)
        for layer in layers:
            layer.set_dtype(self.dtype)

    # ---- description ----------------------------------------------------------

    @property
    def n_inputs(self) -> int:
        """Features per sample the model takes."""
        return self.layers[0].in_features

    @property
    def n_outputs(self) -> int:
        """Outputs per sample."""
        return self.layers[-1].out_features

    @property
    def output_activation(self) -> str:
        """The last layer's activation."""
        return self.layers[-1].activation

    @property
    def probability_activation(self) -> str | None:
        """The activation that turns the output into probabilities, if any.

        The output activation when it is softmax or sigmoid, the loss's own
        for an identity (logits) output trained with cross-entropy or binary
        cross-entropy, else None.
        """
        act = self.output_activation
        if act in _PROBABILITY_OUTPUTS:
            return act
        if act == "identity" and self.loss is not None:
            return self.loss.fused_activation
        return None

    @property
    def is_classifier(self) -> bool:
        """Whether the outputs are classes.

        True for softmax, sigmoid, step or sign outputs, and for logits
        trained with a classification loss.
        """
        return self.probability_activation is not None or self.output_activation in _LABEL_OUTPUTS

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Dense:
        return self.layers[i]

    def __repr__(self) -> str:
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        loss = "" if self.loss is None else f", loss={self.loss.name!r}"
        return f"Sequential([\n{inner}\n], dtype={self.dtype.name!r}{loss})"

    def summary(self) -> str:
        """A table of the layers and their parameter counts.

        Returns
        -------
        str
            One line per layer and the total, ready to print.

        Examples
        --------
        >>> import fastnn
        >>> print(fastnn.Sequential([fastnn.Dense(4, 3), fastnn.Dense(3, 2, "softmax")]).summary())
        layer shape         activation  bias           params
        0     4->3          sigmoid     per_neuron         15
        1     3->2          softmax     per_neuron          8
        total parameters: 23 (float32)
        """
        lines = [f"{'layer':<6}{'shape':<14}{'activation':<12}{'bias':<11}{'params':>10}"]
        for i, layer in enumerate(self.layers):
            shape = f"{layer.in_features}->{layer.out_features}"
            lines.append(f"{i:<6}{shape:<14}{layer.activation:<12}{layer.bias_mode:<11}{layer.n_parameters:>10}")
        lines.append(f"total parameters: {sum(layer.n_parameters for layer in self.layers)} ({self.dtype.name})")
        return "\n".join(lines)

    # ---- parameters -------------------------------------------------------------

    def named_parameters(self) -> list[tuple[str, FloatArray]]:
        """(name, array) pairs such as ("0.weight", W0), as PyTorch names them.

        Returns
        -------
        list of (str, numpy.ndarray)
            The live arrays, not copies: updating one in place updates the model.
        """
        return [(f"{i}.{name}", arr) for i, layer in enumerate(self.layers)
                for name, arr in layer.named_parameters()]

    def parameters(self) -> list[FloatArray]:
        """Every parameter array, in :meth:`named_parameters` order (live arrays).

        Returns
        -------
        list of numpy.ndarray
            The live arrays.
        """
        return [arr for _, arr in self.named_parameters()]

    def state_dict(self) -> dict[str, FloatArray]:
        """A copy of every parameter, by name.

        Returns
        -------
        dict of str to numpy.ndarray
            Copies, keyed as :meth:`named_parameters` names them.
        """
        return {name: arr.copy() for name, arr in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, ArrayLike]) -> None:
        """Set parameters from a :meth:`state_dict` (all checked before any is set).

        Parameters
        ----------
        state : mapping of str to array
            Exactly the model's parameter names; shapes must match.

        Raises
        ------
        TypeError
            For a state that is not a mapping of numeric arrays.
        ValueError
            For missing or unexpected names, wrong shapes, NaN or infinity;
            the model is then unchanged.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict of arrays (from state_dict), got {type(state).__name__}")
        own = dict(self.named_parameters())
        missing = sorted(set(own) - set(state))
        extra = sorted(set(state) - set(own))
        if missing or extra:
            raise ValueError(f"state does not match the model: missing {missing}, unexpected {extra}")
        new = {name: _checked_parameter(name, state[name], arr.shape, self.dtype) for name, arr in own.items()}
        for name, arr in own.items():
            arr[...] = new[name]

    # ---- inference ----------------------------------------------------------------

    def prepare_input(self, X: ArrayLike, name: str = "X") -> tuple[FloatArray, bool]:
        """Check ``X`` and convert it as the kernels take it.

        A C-contiguous, aligned 2-D array of the model's dtype (a copy only
        when needed).

        Parameters
        ----------
        X : array
            (n_samples, n_inputs), or one sample (n_inputs,).
        name : str, default "X"
            The argument's name, for messages.

        Returns
        -------
        X : numpy.ndarray
            (n_samples, n_inputs).
        single : bool
            Whether ``X`` was one sample.

        Raises
        ------
        TypeError
            For input that is not numeric.
        ValueError
            For a wrong shape, NaN or infinity.
        """
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

    def prepare_data(self, X: ArrayLike, y: ArrayLike, loss: Loss, names: tuple[str, str] = ("X", "y"),
                     ) -> tuple[FloatArray, np.ndarray]:
        """Check inputs and targets together and convert them as the kernels take them.

        Parameters
        ----------
        X : array
            The inputs, (n_samples, n_inputs).
        y : array
            The targets, as ``loss`` takes them.
        loss : Loss
            Checks and converts the targets.
        names : (str, str), default ("X", "y")
            The arguments' names, for messages.

        Returns
        -------
        X : numpy.ndarray
            As :meth:`prepare_input` returns it.
        target : numpy.ndarray
            As the loss's ``prepare_targets`` returns it.

        Raises
        ------
        TypeError, ValueError
            For data of the wrong type or shape, NaN or infinity, or a
            different number of samples in ``X`` and ``y``.
        """
        X, _ = self.prepare_input(X, names[0])
        target = loss.prepare_targets(y, self.n_outputs, self.dtype)
        if target.shape[0] != X.shape[0]:
            raise ValueError(f"{names[0]} has {X.shape[0]} samples but {names[1]} has {target.shape[0]}")
        return X, target

    def forward(self, X: ArrayLike) -> FloatArray:
        """The network's output for ``X``, with the output activation applied.

        Parameters
        ----------
        X : array
            (n_samples, n_inputs), or one sample (n_inputs,).

        Returns
        -------
        numpy.ndarray
            (n_samples, n_outputs), or (n_outputs,) for one sample, of the
            model's dtype.
        """
        if type(X) is np.ndarray:
            # The common case in one C call: a C-contiguous batch of the
            # model's dtype (at batch 1 the checks would cost as much as
            # the arithmetic).  Anything else takes the general path.
            net = self._network(False)
            out = None if net is None else net.run(X)
            if out is not None:
                return out
        X, single = self.prepare_input(X)
        out = self.forward_prepared(X)
        return out[0] if single else out

    __call__ = forward

    def _network(self, logits: bool) -> _core.NetworkForward | None:
        """The layers bound for one C call per forward pass (cached.

        Rebound when a layer's arrays, activation or slope change), or None when a layer needs
        Python in between (a shared bias, step/sign outputs). With ``logits`` the last layer's
        activation is left off.
        """
        cache: dict[bool, _core.NetworkForward] = self.__dict__.setdefault("_network_cache", {})
        net = cache.get(logits)
        if net is not None and net.matches(self.layers):
            return net
        cache.pop(logits, None)
        layers = self.layers
        last = len(layers) - 1
        for i, layer in enumerate(layers):
            if layer.bias_mode == "shared" or (layer.activation_info.code is None and
                                               not (i == last and (logits or layer.activation == "softmax"))):
                return None
        codes = [layer.kernel_code for layer in layers]
        if logits:
            codes[last] = _IDENTITY
        net = _core.NetworkForward(
            layers, [layer.weight for layer in layers], [layer.bias for layer in layers], codes,
            [layer.slope for layer in layers], [layer.activation for layer in layers],
            layers[-1].activation == "softmax" and not logits)
        cache[logits] = net
        return net

    def forward_prepared(self, X: FloatArray, logits: bool = False) -> FloatArray:
        """The output for a batch already passed through :meth:`prepare_input`.

        Parameters
        ----------
        X : numpy.ndarray
            (n_samples, n_inputs), C-contiguous, of the model's dtype.
        logits : bool, default False
            Leave the output layer's activation unapplied (what the fused
            losses take).

        Returns
        -------
        numpy.ndarray
            (n_samples, n_outputs).
        """
        n = X.shape[0]
        _memory.check_alloc(n * self.n_outputs * self.dtype.itemsize, f"the output for {n} samples")
        out = np.empty((n, self.n_outputs), dtype=self.dtype)
        if n == 0:
            return out
        net = self._network(logits)
        if net is not None:
            # One C call: the whole network (one thread-pool job per layer
            # at small batches, where the Python per layer was most of the
            # time), chunks of rows in C for large ones.
            net.forward(X, out)
            return out
        self._forward_by_layer(X, out, logits)
        return out

    def _forward_by_layer(self, X: FloatArray, out: FloatArray, logits: bool) -> None:
        """The forward pass one layer (one kernel call) at a time.

        In chunks of rows so that the intermediate buffers stay bounded.
        """
        n = X.shape[0]
        chunk = min(n, _INFERENCE_CHUNK)
        layers = self.layers
        last = len(layers) - 1
        bufs = [np.empty((chunk, layer.out_features), dtype=self.dtype) for layer in layers[:-1]]
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            h = X[s:e]
            for i, layer in enumerate(layers):
                o = out[s:e] if i == last else bufs[i][: e - s]
                bias = layer.full_bias() if layer.bias_mode == "shared" else layer.bias
                bare = i == last and logits
                _core.dense_forward(h, layer.weight, bias, o, _IDENTITY if bare else layer.kernel_code, layer.slope)
                if not bare:
                    apply_after_gemm(layer.activation, o)
                h = o

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Class probabilities.

        The softmax output; for a single sigmoid output the columns
        (1 - p, p); for logits trained with cross-entropy (binary
        cross-entropy), their softmax (sigmoid).

        Parameters
        ----------
        X : array
            (n_samples, n_inputs), or one sample.

        Returns
        -------
        numpy.ndarray
            (n_samples, n_classes).

        Raises
        ------
        ValueError
            For a model whose outputs are not probabilities.
        """
        act = self.probability_activation
        if act is None:
            raise ValueError(f"predict_proba needs a softmax or sigmoid output layer (or logits trained with "
                             f"cross-entropy), not {self.output_activation!r}")
        P = self.forward(X)
        if act != self.output_activation:  # logits: the loss's activation makes probabilities
            P = _probabilities(act, P)
        if act == "sigmoid" and self.n_outputs == 1:
            P = np.concatenate([1 - P, P], axis=-1)
        return P

    def predict(self, X: ArrayLike) -> LabelArray:
        """Class labels for classifiers, the output itself for other models.

        Labels are the argmax of a softmax output, p >= 0.5 for sigmoid
        outputs (one column per output), the step/sign outputs themselves.

        Parameters
        ----------
        X : array
            (n_samples, n_inputs), or one sample.

        Returns
        -------
        numpy.ndarray
            (n_samples,) int64 labels (or (n_samples, k) for several binary
            outputs), or the (n_samples, n_outputs) output of a regressor.
        """
        return self.labels_from_output(self.forward(X))

    def labels_from_output(self, out: FloatArray, logits: bool = False) -> LabelArray:
        """Class labels from the network's output (or from its logits).

        Parameters
        ----------
        out : numpy.ndarray
            (..., n_outputs) as :meth:`forward` returns it.
        logits : bool, default False
            Whether ``out`` is the last layer's output before its
            probability activation.

        Returns
        -------
        numpy.ndarray
            Labels as :meth:`predict` gives them; ``out`` itself for a regressor.
        """
        act = self.probability_activation or self.output_activation
        if self.output_activation == "identity" and act != "identity":
            logits = True
        if act == "softmax" or (act in _LABEL_OUTPUTS and out.shape[-1] > 1):
            labels: LabelArray = np.argmax(out, axis=-1)
            return labels
        if act == "sigmoid":
            lab = (out >= (0 if logits else 0.5)).astype(np.int64)
            return lab[..., 0] if out.shape[-1] == 1 else lab
        if act in _LABEL_OUTPUTS:
            lab = out.astype(np.int64)
            return lab[..., 0] if out.shape[-1] == 1 else lab
        return out

    def evaluate(self, X: ArrayLike, y: ArrayLike, loss: str | Loss | None = None) -> dict[str, float]:
        """The loss (and, for classifiers, the accuracy) on (X, y).

        Parameters
        ----------
        X : array
            (n_samples, n_inputs).
        y : array
            Targets as the loss takes them.
        loss : str or Loss, optional
            By default the loss the model was trained with (:attr:`loss`);
            for a model never trained, cross-entropy for softmax outputs,
            binary cross-entropy for sigmoid outputs, else half squared error.

        Returns
        -------
        dict
            {"loss": float, "accuracy": float}; accuracy only for classifiers.
        """
        loss = get_loss(loss if loss is not None else self.default_loss())
        X, target = self.prepare_data(X, y, loss)
        if X.shape[0] == 0:
            raise ValueError("cannot evaluate on zero samples")
        fused = loss.fused_activation is not None
        out = self.forward_prepared(X, logits=fused)
        result = {"loss": float(loss(out, target, np.empty_like(out)))}
        if self.is_classifier:
            result["accuracy"] = self.accuracy_of(out, target, logits=fused)
        return result

    def accuracy_of(self, out: FloatArray, target: np.ndarray, logits: bool = False) -> float:
        """The accuracy of an output against prepared targets.

        Parameters
        ----------
        out : numpy.ndarray
            The network's output (or logits).
        target : numpy.ndarray
            Targets as a loss's ``prepare_targets`` returns them.
        logits : bool, default False
            Whether ``out`` is logits.

        Returns
        -------
        float
            The fraction of samples predicted right.
        """
        truth = target_labels(target, one_hot=self.probability_activation == "softmax")
        return accuracy(self.labels_from_output(out, logits=logits), truth)

    def default_loss(self) -> str | Loss:
        """The loss :meth:`evaluate` uses when given none.

        Returns
        -------
        str or Loss
            :attr:`loss` when set, else one chosen by the output activation.
        """
        if self.loss is not None:
            return self.loss
        return {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}.get(
            self.output_activation, "half_squared_error")

    # ---- saving ---------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The architecture (and training loss) as a JSON-serialisable dict.

        Returns
        -------
        dict
            Format tag, version, dtype, the layers' configurations and the loss's name.
        """
        cfg = {"format": FILE_FORMAT, "version": FILE_VERSION, "dtype": self.dtype.name,
               "layers": [layer.config() for layer in self.layers]}
        if self.loss is not None:
            cfg["loss"] = self.loss.name
        return cfg

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model (architecture, loss and parameters) to ``path``.

        The file is an uncompressed NumPy .npz archive holding a JSON header
        and the arrays; it never contains pickled objects.  It is written to
        a temporary file beside ``path`` and renamed over it only when
        complete, so an interrupted save leaves any previous file intact.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write.
        """
        write_model_file(path, self.config(), self.named_parameters())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Sequential:
        """Read a model written by :meth:`save` (see :func:`fastnn.load`).

        Parameters
        ----------
        path : str or os.PathLike
            The file.

        Returns
        -------
        Sequential
        """
        return load(path)

    @classmethod
    def from_config(cls, cfg: dict[str, Any], arrays: Mapping[str, np.ndarray], source: str) -> Sequential:
        """A model from :meth:`config` and its named parameter arrays.

        Parameters
        ----------
        cfg : dict
            What :meth:`config` returned.
        arrays : mapping of str to numpy.ndarray
            The parameters, named as :meth:`named_parameters` names them.
        source : str
            Where they came from, for messages.

        Returns
        -------
        Sequential

        Raises
        ------
        ModelFileError
            When the configuration or arrays do not describe a valid model.
        """
        def bad(reason: str) -> ModelFileError:
            return ModelFileError(f"{source}: not a valid fastnn model file ({reason})")

        try:
            layers = [_layer_from_config(i, lc, arrays, bad) for i, lc in enumerate(cfg["layers"])]
            expected = {f"{i}.{n}" for i, layer in enumerate(layers) for n, _ in layer.named_parameters()}
            extra = set(arrays) - expected
            if extra:
                raise bad(f"unexpected arrays {sorted(extra)}")
            model = cls(layers, dtype=check_dtype(cfg["dtype"]))
            if cfg.get("loss") is not None:
                model.loss = get_loss(cfg["loss"])
            return model
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise bad(str(e)) from e

    def export_c(self, path: str | os.PathLike[str], name: str = "fastnn_model",
                 dtype: Any = None) -> tuple[os.PathLike[str], os.PathLike[str]]:
        """Write the model as dependency-free C99: ``path`` (.c) and a header beside it (.h).

        ``name_forward``, ``name_predict_proba`` (classifiers with
        probabilities) and ``name_predict``, no dynamic allocation; see
        :func:`fastnn.io.c_export.export_c` and docs/export_c.md.

        Parameters
        ----------
        path : str or os.PathLike
            The .c file to write, in an existing folder; the header gets the
            same name with ".h".
        name : str, default "fastnn_model"
            The prefix of the generated names: a C identifier, not a keyword.
        dtype : {None, "float32", "float64"}, default None
            ``float`` or ``double`` in C; None: the model's dtype.

        Returns
        -------
        header : pathlib.Path
            The header written.
        source : pathlib.Path
            The source file written.
        """
        from ..io.c_export import export_c

        return export_c(self, path, name=name, dtype=dtype)

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config(), "params": self.state_dict()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        model = Sequential.from_config(state["config"], state["params"], "<pickle>")
        self.__dict__.update(model.__dict__)

    # ---- other frameworks (fastnn.io.onnx_export, fastnn.io.torch_export) ------------

    def to_onnx(self, path: str | os.PathLike[str], opset: int = 17, labels: bool = False) -> None:
        """Write the model as an ONNX model, for ONNX Runtime and other ONNX tools.

        One Gemm and one activation node per layer; input ``input`` and
        output ``output`` (what :meth:`forward` returns) with a symbolic
        batch dimension; float32 or float64 as the model.  Needs the
        ``onnx`` package (the ``[onnx]`` extra).  :func:`fastnn.from_onnx`
        reads the file back; docs/interop.md has the details.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (written to a temporary file beside it, then
            renamed over it).
        opset : int, default 17
            The ONNX opset, 13 or newer.
        labels : bool, default False
            Add an int64 output ``label``: what :meth:`predict` returns
            (classifiers only).

        Raises
        ------
        ImportError
            When ``onnx`` is not installed; the message says what to install.
        FileNotFoundError
            When the folder of ``path`` does not exist; nothing is written.
        TypeError, ValueError
            For a wrong argument, or ``labels=True`` for a model that is not
            a classifier.
        """
        from ..io.onnx_export import write_onnx

        write_onnx(self, path, opset=opset, labels=labels)

    def to_torch(self) -> Any:
        """The model as a ``torch.nn.Sequential`` of Linear and activation modules.

        Weights are copied, the dtype kept; a shared bias becomes a bias per
        neuron; parameters that are not trainable here get
        ``requires_grad=False``.  Needs PyTorch; :func:`fastnn.from_torch`
        converts back.

        Returns
        -------
        torch.nn.Sequential
            Linear layers, each followed by its activation module (none for
            identity).

        Raises
        ------
        ImportError
            When PyTorch is not installed.
        ValueError
            For step or sign layers, which PyTorch has no module for.
        """
        from ..io.torch_export import to_torch

        return to_torch(self)


def _probabilities(act: str, Z: FloatArray) -> FloatArray:
    """Softmax or sigmoid of logits ``Z`` (..., k), as a new array."""
    P = np.array(Z, order="C", copy=True)
    rows = P.reshape(-1, P.shape[-1])
    if act == "softmax":
        _core.softmax(rows, rows)
    else:  # sigmoid, as 0.5 (1 + tanh(z / 2)): no overflow for large |z|
        np.multiply(np.tanh(rows * 0.5, out=rows) + 1, 0.5, out=rows)
    return P


def _check_layers(layers: Any) -> list[Dense]:
    """The layers as a list, checked: Dense layers whose shapes chain, softmax last only."""
    if isinstance(layers, (str, bytes, Dense)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a list of fastnn.Dense layers, got {type(layers).__name__}")
    checked: list[Dense] = list(layers)
    if not checked:
        raise ValueError("a Sequential model needs at least one layer")
    for i, layer in enumerate(checked):
        if not isinstance(layer, Dense):
            raise TypeError(f"layer {i} is a {type(layer).__name__}; Sequential takes fastnn.Dense layers")
    for i in range(1, len(checked)):
        prev, cur = checked[i - 1], checked[i]
        if cur.in_features != prev.out_features:
            raise ValueError(f"layer {i} expects {cur.in_features} inputs but layer {i - 1} gives "
                             f"{prev.out_features} outputs")
    for i, layer in enumerate(checked[:-1]):
        if layer.activation_info.output_only:
            raise ValueError(f"{layer.activation} is an output activation: layer {i} is not the last layer")
    return checked


def _checked_parameter(name: str, value: Any, shape: tuple[int, ...], dtype: np.dtype[Any]) -> FloatArray:
    """A new parameter value for load_state_dict, converted and checked."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name}: expected a numeric array ({e})") from None
    if arr.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    arr = arr.astype(dtype)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def _layer_from_config(i: int, lc: dict[str, Any], arrays: Mapping[str, np.ndarray],
                       bad: Callable[[str], ModelFileError]) -> Dense:
    """Layer i of a model file, its arrays checked against its configuration."""
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
    return Dense.from_config(lc, w, b)


def load(path: str | os.PathLike[str]) -> Sequential:
    """Load a model saved with :meth:`Sequential.save`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    Sequential
        The model, with the loss it was trained with.

    Raises
    ------
    FileNotFoundError
        For a missing file.
    ModelFileError
        (a ValueError) For a file that is truncated, corrupted, of another
        format or another version.  Nothing in the file is ever unpickled.
    """
    path = os.fspath(path)
    cfg, arrays = read_model_file(path)
    return Sequential.from_config(cfg, arrays, path)
