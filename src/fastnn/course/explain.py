"""One training step of a small network, explained the way the notes work it by hand.

``explain(model, x, target, loss=..., lr=...)`` runs one forward pass, the
loss, one backward pass and one gradient-descent update of a single sample
through the compiled kernels (in float64, on a copy of the model), and
returns an :class:`Explanation`: every net input as a sum of products, every
activation, the error, every weight's and bias's gradient as its chain-rule
factors with their values, and the updated parameters.  ``print()`` it (or
pass ``verbose=True``) for the notes' layout, e.g.::

    dE/dw5 = dE/dout_o1 * dout_o1/dnet_o1 * out_h1
           = 0.74136507 * 0.186815602 * 0.593269992 = 0.0821670407

All numbers come from the library's own computation: the activations from
``dense_forward``, dE/dout from the loss kernel, dout/dnet from
``activation_derivative``, and the gradients from ``dense_backward``; the
printed product of the factors is checked against the kernel's gradient.

Naming follows the notes: inputs x1, x2, ...; hidden neurons h1, h2, ...
(h1_1, h2_1, ... for layer-indexed names when there are several hidden
layers); outputs o1, o2, ...; weights w1, w2, ... numbered across the
network in the order (layer, neuron, input), so W1 = [[w1, w2], [w3, w4]];
biases b1, b2, ... one per layer when shared, else b_h1, b_o1, ....
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _core, kernels
from .._validation import as_float_array, check_instance, check_int, check_verbose
from ..nn.layers import Dense
from ..nn.losses import Loss, get_loss
from ..nn.sequential import Sequential

if TYPE_CHECKING:
    from .._typing import ArrayLike
    from .examples import WorkedExample

__all__ = ["Explanation", "Term", "explain", "explain_example", "model_from_example"]

_DERIVATIVE_TEXT = {
    "sigmoid": "{a}(1 - {a})",
    "tanh": "1 - {a}^2",
    "relu": "[{a} > 0]",
    "leaky_relu": "(1 if {a} > 0 else slope)",
    "softplus": "1 - exp(-{a})",
    "identity": "1",
}


@dataclass
class Term:
    """One named quantity of the step, printed as ``name = formula = numbers = value``.

    Parameters
    ----------
    name : str
        The quantity's name in the notes' notation, such as ``"net_h1"`` or ``"dE/dw5"``.
    value : float
        Its value, as the library computed it.
    formula : str, default ""
        How it is computed, in names (empty when there is nothing to show).
    numbers : str, default ""
        The formula with the numbers put in (empty when there is nothing to show).
    factors : tuple of (str, float), default ()
        For a gradient, its chain-rule factors as ``(name, value)`` pairs (or
        the terms of a shared bias's sum); their product (sum) is ``value``.
    """

    name: str
    value: float
    formula: str = ""
    numbers: str = ""
    factors: tuple[tuple[str, float], ...] = ()

    def line(self, fmt: Callable[[float], str]) -> str:
        """Format the term as one line of the notes' layout.

        Parameters
        ----------
        fmt : callable
            Formats the value, ``float -> str``.

        Returns
        -------
        str
            ``name = formula = numbers = value``, leaving out the empty parts.
        """
        parts = [self.name]
        if self.formula:
            parts.append(self.formula)
        if self.numbers:
            parts.append(self.numbers)
        parts.append(fmt(self.value))
        return " = ".join(parts)


@dataclass
class Explanation:
    """The record of one explained training step (see the module docstring).

    ``explanation["name"]`` gives any named number: ``"net_h1"``,
    ``"out_o1"``, ``"E"``, ``"dE/dnet_o1"``, ``"dE/dw5"``, ``"w5+"``, ...;
    ``str(explanation)`` is the whole step in the notes' layout.

    Parameters
    ----------
    forward : list of Term
        Net inputs and activations, layer by layer.
    error : list of Term
        The error ``E`` of the sample.
    backward : list of Term
        Deltas and the gradients of the weights and biases, output layer first.
    update : list of Term
        The updated parameters, ``w5+ = w5 - eta * dE/dw5``.
    loss : float
        The error ``E``.
    gradients : dict of str to float
        Each parameter's gradient by name (``"w5"``, ``"b1"``, ...).
    updated : dict of str to float
        Each trained parameter's value after the update, by name.
    values : dict of str to float
        Every named number, as ``explanation[name]`` gives them.
    model_after : Sequential or None
        The float64 copy of the model after the step.
    precision : int, default 9
        Significant digits of the printed numbers.
    """

    forward: list[Term] = field(default_factory=list)
    error: list[Term] = field(default_factory=list)
    backward: list[Term] = field(default_factory=list)
    update: list[Term] = field(default_factory=list)
    loss: float = 0.0
    gradients: dict[str, float] = field(default_factory=dict)
    updated: dict[str, float] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    model_after: Sequential | None = None
    precision: int = 9

    def __getitem__(self, name: str) -> float:
        """Any named number: "net_h1", "out_o1", "E", "dE/dw5", "w5+" ..."""
        return self.values[name]

    def _fmt(self, v: float) -> str:
        return f"{v:.{self.precision}g}"

    def __str__(self) -> str:
        out = []
        for title, terms in (("Forward pass", self.forward), ("Error", self.error),
                             ("Backward pass", self.backward), ("Update", self.update)):
            out.append(title)
            out.extend("  " + t.line(self._fmt) for t in terms)
        return "\n".join(out)


# --------------------------------------------------------------------------
# what the phases of one step share
# --------------------------------------------------------------------------

@dataclass
class _Step:
    """The checked arguments, the names and the intermediate arrays of one step."""

    model: Sequential  # the float64 copy that is stepped
    loss: Loss
    x: np.ndarray  # the sample, shape (n_inputs,)
    targets: np.ndarray  # as the loss kernel takes them
    lrs: list[float]  # one learning rate per layer
    rec: Explanation
    neurons: list[list[str]] = field(default_factory=list)  # h1, o1, ... per layer
    in_names: list[str] = field(default_factory=list)  # x1, x2, ...
    wname: list[np.ndarray] = field(default_factory=list)  # w1, w2, ... per layer, shaped like the weight
    bname: list[list[str] | None] = field(default_factory=list)  # bias name per neuron, None: no bias
    acts: list[np.ndarray] = field(default_factory=list)  # out per layer, shape (1, out)
    nets: list[np.ndarray] = field(default_factory=list)  # net inputs per layer
    onehot: np.ndarray = field(default_factory=lambda: np.empty((1, 0)))  # the targets per output, (1, n_outputs)
    grads_W: dict[int, np.ndarray] = field(default_factory=dict)  # dE/dW by layer
    grads_b: dict[int, np.ndarray] = field(default_factory=dict)  # dE/db (one per neuron) by layer

    @property
    def fused(self) -> bool:
        """Whether the loss takes the output layer's net inputs (softmax or sigmoid fused in)."""
        return self.loss.fused_activation is not None

    def fused_output(self, l: int) -> bool:
        """Whether layer ``l`` is an output layer whose activation the loss applies."""
        return self.fused and l == len(self.model.layers) - 1

    def fmt(self, v: float) -> str:
        return self.rec._fmt(v)

    def inputs(self, l: int) -> np.ndarray:
        """Return the input of layer ``l``, shape (1, in_features)."""
        return self.x.reshape(1, -1) if l == 0 else self.acts[l - 1]

    def input_names(self, l: int) -> list[str]:
        return self.in_names if l == 0 else [f"out_{nm}" for nm in self.neurons[l - 1]]


@dataclass
class _LayerGradients:
    """What the backward kernel gives for one layer, and what it was given."""

    upstream: np.ndarray  # dE/dout of the layer (dE/dnet for a fused output layer)
    delta: np.ndarray  # dE/dnet
    dW: np.ndarray
    db: np.ndarray
    dX: np.ndarray | None  # dE/dout of the layer below (None for the first layer)
    deriv: np.ndarray | None  # dout/dnet (None for a fused output layer)

    def dout_dnet(self, j: int) -> float:
        """Return dout/dnet of neuron ``j`` (of a layer whose activation the loss does not apply)."""
        assert self.deriv is not None
        return float(self.deriv[0, j])


# --------------------------------------------------------------------------
# arguments and names
# --------------------------------------------------------------------------

def _float64_copy(model: Any) -> Sequential:
    check_instance("model", model, Sequential, "a fastnn.Sequential")
    m = copy.deepcopy(model)
    return Sequential(m.layers, dtype="float64")


def _check_sample(x: ArrayLike, n_inputs: int) -> np.ndarray:
    x = as_float_array("x", x).reshape(-1)
    if x.shape != (n_inputs,):
        raise ValueError(f"x must be one sample of {n_inputs} features, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinity")
    return x


def _prepare_target(target: ArrayLike, loss: Loss, n_outputs: int) -> np.ndarray:
    target_arr = np.asarray(target)
    if loss.name == "cross_entropy" and target_arr.ndim == 0:
        target_arr = target_arr.reshape(1)
    else:
        target_arr = target_arr.reshape(1, -1)
    return loss.prepare_targets(target_arr, n_outputs, np.float64)


def _learning_rates(lr: Any, n_layers: int) -> list[float]:
    lr_arr = as_float_array("lr", lr)
    if lr_arr.ndim > 1 or not np.all(np.isfinite(lr_arr)):
        raise ValueError(f"lr must be one finite learning rate or one per layer, got {lr!r}")
    lrs = [float(v) for v in lr_arr] if lr_arr.ndim == 1 else [float(lr_arr)] * n_layers
    if len(lrs) != n_layers:
        raise ValueError(f"give one learning rate (lr) or one per layer ({n_layers}), got {len(lrs)}")
    return lrs


def _check_activations(m: Sequential, loss: Loss) -> None:
    for layer in m.layers:
        if layer.activation in ("step", "sign"):
            raise ValueError(f"explain needs differentiable activations, not {layer.activation!r}")
    fused = loss.fused_activation is not None
    if fused and m.output_activation not in (loss.fused_activation, "identity"):
        raise ValueError(f"{loss.name} needs a {loss.fused_activation} output layer")
    if not fused and m.output_activation == "softmax":
        raise ValueError("a softmax output is explained with loss='cross_entropy'")


def _neuron_names(model: Sequential) -> list[list[str]]:
    L = len(model.layers)
    names = []
    for l, layer in enumerate(model.layers):
        if l == L - 1:
            names.append([f"o{j + 1}" for j in range(layer.out_features)])
        elif L == 2:
            names.append([f"h{j + 1}" for j in range(layer.out_features)])
        else:
            names.append([f"h{l + 1}_{j + 1}" for j in range(layer.out_features)])
    return names


def _parameter_names(s: _Step) -> None:
    """w1, w2, ... across the network; b1, b2, ... per layer when shared, else b_h1, ...."""
    count = 0
    for l, layer in enumerate(s.model.layers):
        names = np.empty(layer.weight.shape, dtype=object)
        for j in range(layer.out_features):
            for i in range(layer.in_features):
                count += 1
                names[j, i] = f"w{count}"
        s.wname.append(names)
        if layer.bias_mode == "shared":
            s.bname.append([f"b{l + 1}"] * layer.out_features)
        elif layer.bias_mode == "per_neuron":
            s.bname.append([f"b_{nm}" for nm in s.neurons[l]])
        else:
            s.bname.append(None)


def _setup(model: Any, x: Any, target: Any, loss: Any, lr: Any, precision: Any) -> _Step:
    """Check and convert the arguments of explain (in this order) and name everything."""
    m = _float64_copy(model)
    loss_obj = get_loss(loss)
    precision = check_int("precision", precision, minimum=1, maximum=30)
    x = _check_sample(x, m.n_inputs)
    targets = _prepare_target(target, loss_obj, m.n_outputs)
    lrs = _learning_rates(lr, len(m.layers))
    _check_activations(m, loss_obj)
    s = _Step(m, loss_obj, x, targets, lrs, Explanation(precision=precision))
    s.onehot = targets if targets.ndim == 2 else np.eye(m.n_outputs)[targets]
    s.neurons = _neuron_names(m)
    s.in_names = [f"x{i + 1}" for i in range(m.n_inputs)]
    for n, v in zip(s.in_names, x):
        s.rec.values[n] = float(v)
    _parameter_names(s)
    return s


# --------------------------------------------------------------------------
# forward pass and error
# --------------------------------------------------------------------------

def _layer_forward(s: _Step, l: int) -> tuple[np.ndarray, np.ndarray]:
    """Net inputs and activations of layer ``l``, with the compiled kernels."""
    layer, h = s.model.layers[l], s.inputs(l)
    W, b = layer.weight, layer.full_bias()
    Z = kernels.dense_forward(h, W, b, "identity")  # net inputs
    if s.fused_output(l):
        A = kernels.softmax(Z) if s.loss.fused_activation == "softmax" else kernels.activation("sigmoid", Z)
    elif layer.activation == "softmax":
        A = kernels.softmax(Z)
    else:
        A = kernels.dense_forward(h, W, b, layer.activation, slope=layer.slope)
    return Z, A


def _forward_terms(s: _Step, l: int, Z: np.ndarray, A: np.ndarray) -> None:
    """net_* as sums of products and out_* = act(net_*) of layer ``l``."""
    layer, h, h_names, fmt = s.model.layers[l], s.inputs(l), s.input_names(l), s.fmt
    W, b = layer.weight, layer.full_bias()
    rec, wname, bname = s.rec, s.wname[l], s.bname[l]
    for j, nm in enumerate(s.neurons[l]):
        terms = [f"{wname[j, i]}*{h_names[i]}" for i in range(layer.in_features)]
        nums = [f"{fmt(W[j, i])}*{fmt(h[0, i])}" for i in range(layer.in_features)]
        if bname is not None and b is not None:  # a layer has both or neither
            terms.append(bname[j])
            nums.append(fmt(b[j]))
        rec.values[f"net_{nm}"] = float(Z[0, j])
        rec.forward.append(Term(f"net_{nm}", float(Z[0, j]), " + ".join(terms), " + ".join(nums)))
    act = s.loss.fused_activation if s.fused_output(l) else layer.activation
    for j, nm in enumerate(s.neurons[l]):
        rec.values[f"out_{nm}"] = float(A[0, j])
        rec.forward.append(Term(f"out_{nm}", float(A[0, j]), f"{act}(net_{nm})"))


def _forward(s: _Step) -> None:
    for l in range(len(s.model.layers)):
        Z, A = _layer_forward(s, l)
        _forward_terms(s, l, Z, A)
        s.acts.append(A)
        s.nets.append(Z)


def _error_formula(s: _Step) -> tuple[str, str]:
    """Write the error's formula, and for the half squared error its numbers."""
    out_names = [f"out_{nm}" for nm in s.neurons[-1]]
    name, fmt, tv, out = s.loss.name, s.fmt, s.onehot, s.acts[-1]
    if name == "half_squared_error":
        formula = " + ".join(f"1/2 (t{k + 1} - {o})^2" for k, o in enumerate(out_names))
        nums = " + ".join(f"1/2 ({fmt(tv[0, k])} - {fmt(out[0, k])})^2" for k in range(s.model.n_outputs))
        return formula, nums
    if name == "mse":
        return "mean_k (t_k - out_k)^2", ""
    if name == "cross_entropy":
        return " - ".join([""] + [f"t{k + 1} log {o}" for k, o in enumerate(out_names)]).strip(), ""
    return "-mean_k [t_k log out_k + (1 - t_k) log(1 - out_k)]", ""


def _error(s: _Step) -> np.ndarray:
    """Compute the error E with the loss kernel and return its gradient.

    The gradient is dE/dnet of the output layer when the loss applies the
    output activation (fused), else dE/dout.
    """
    last = s.nets[-1] if s.fused else s.acts[-1]
    grad = np.empty_like(s.nets[-1])
    value = float(s.loss(np.ascontiguousarray(last), s.targets, grad))
    s.rec.loss = value
    s.rec.values["E"] = value
    s.rec.error.append(Term("E", value, *_error_formula(s)))
    return grad


# --------------------------------------------------------------------------
# backward pass: deltas, then the gradients of the weights and biases
# --------------------------------------------------------------------------

def _layer_backward(s: _Step, l: int, upstream: np.ndarray) -> _LayerGradients:
    """dE/dnet, dW, db and dX of layer ``l`` with the ``dense_backward`` kernel."""
    layer, X_in, A = s.model.layers[l], s.inputs(l), s.acts[l]
    code = 0 if s.fused_output(l) else layer.kernel_code
    delta = np.empty_like(A)
    dW = np.empty_like(layer.weight)
    db = np.empty(layer.out_features)
    dX = np.empty_like(X_in) if l > 0 else None
    _core.dense_backward(np.ascontiguousarray(upstream), np.ascontiguousarray(A),
                         np.ascontiguousarray(X_in), layer.weight, code, layer.slope, delta, dW, db, dX)
    deriv = None
    if not s.fused_output(l):
        deriv = kernels.activation_derivative(layer.kernel_activation, A, slope=layer.slope)
    return _LayerGradients(upstream, delta, dW, db, dX, deriv)


def _output_dE_dout(s: _Step, l: int, j: int, g: _LayerGradients) -> Term:
    """dE/dout of output neuron ``j`` (a loss that does not fuse the activation)."""
    out_n = f"out_{s.neurons[l][j]}"
    src = {"half_squared_error": f"{out_n} - t{j + 1}", "mse": f"2 ({out_n} - t{j + 1}) / K"}
    return Term(f"dE/d{out_n}", float(g.upstream[0, j]), src[s.loss.name])


def _hidden_dE_dout(s: _Step, l: int, j: int, g: _LayerGradients) -> Term:
    """dE/dout of hidden neuron ``j``: the next layer's deltas through its weights."""
    fmt, nxt, names = s.fmt, s.model.layers[l + 1], s.neurons[l + 1]
    parts = [f"dE/dnet_{nk}*{s.wname[l + 1][k, j]}" for k, nk in enumerate(names)]
    nums = [f"{fmt(s.rec.values[f'dE/dnet_{nk}'])}*{fmt(nxt.weight[k, j])}" for k, nk in enumerate(names)]
    out_n = f"out_{s.neurons[l][j]}"
    return Term(f"dE/d{out_n}", float(g.upstream[0, j]), " + ".join(parts), " + ".join(nums))


def _delta_terms(s: _Step, l: int, j: int, g: _LayerGradients) -> list[Term]:
    """dE/dnet of neuron ``j`` of layer ``l``, with the terms it is made of."""
    fmt = s.fmt
    out_n, net_n = f"out_{s.neurons[l][j]}", f"net_{s.neurons[l][j]}"
    delta = float(g.delta[0, j])
    if s.fused_output(l):
        nums = f"{fmt(s.acts[l][0, j])} - {fmt(s.onehot[0, j])}" if s.loss.name == "cross_entropy" else ""
        return [Term(f"dE/d{net_n}", delta, f"{out_n} - t{j + 1}", nums)]
    last = l == len(s.model.layers) - 1
    dE_dout = _output_dE_dout(s, l, j, g) if last else _hidden_dE_dout(s, l, j, g)
    act = s.model.layers[l].kernel_activation
    return [dE_dout,
            Term(f"d{out_n}/d{net_n}", g.dout_dnet(j), _DERIVATIVE_TEXT[act].format(a=out_n), ""),
            Term(f"dE/d{net_n}", delta, f"dE/d{out_n} * d{out_n}/d{net_n}",
                 f"{fmt(g.upstream[0, j])} * {fmt(g.dout_dnet(j))}")]


def _deltas(s: _Step, l: int, g: _LayerGradients) -> None:
    for j, nm in enumerate(s.neurons[l]):
        s.rec.backward.extend(_delta_terms(s, l, j, g))
        s.rec.values[f"dE/dnet_{nm}"] = float(g.delta[0, j])
        s.rec.values[f"dE/dout_{nm}"] = float(g.upstream[0, j])


def _weight_gradient(s: _Step, l: int, j: int, i: int, g: _LayerGradients) -> Term:
    """dE/dw = dE/dout * dout/dnet * input (or dE/dnet * input), checked against the kernel's dW."""
    nm, X_in = s.neurons[l][j], s.inputs(l)
    out_n, net_n, in_label = f"out_{nm}", f"net_{nm}", s.input_names(l)[i]
    wn, grad = s.wname[l][j, i], float(g.dW[j, i])
    factors: tuple[tuple[str, float], ...]
    if s.fused_output(l):
        factors = ((f"dE/d{net_n}", float(g.delta[0, j])), (in_label, float(X_in[0, i])))
    else:
        factors = ((f"dE/d{out_n}", float(g.upstream[0, j])), (f"d{out_n}/d{net_n}", g.dout_dnet(j)),
                   (in_label, float(X_in[0, i])))
    prod = float(np.prod([f for _, f in factors]))
    if not np.isclose(prod, grad, rtol=1e-9, atol=1e-15):
        raise AssertionError(f"chain rule for {wn}: {prod} != kernel's {grad}")
    return Term(f"dE/d{wn}", grad, " * ".join(n for n, _ in factors), " * ".join(s.fmt(f) for _, f in factors),
                factors)


def _weight_gradients(s: _Step, l: int, g: _LayerGradients) -> None:
    layer = s.model.layers[l]
    for j in range(layer.out_features):
        for i in range(layer.in_features):
            term = _weight_gradient(s, l, j, i, g)
            wn = s.wname[l][j, i]
            s.rec.backward.append(term)
            s.rec.gradients[wn] = term.value
            s.rec.values[f"dE/d{wn}"] = term.value


def _bias_gradient_terms(s: _Step, l: int, g: _LayerGradients) -> list[Term]:
    """dE/db: dE/dnet per neuron, or their sum for a bias shared by the layer."""
    names = s.bname[l]
    if names is None:
        return []
    if s.model.layers[l].bias_mode != "shared":
        return [Term(f"dE/d{bn}", float(g.db[j]), f"dE/dnet_{nm}") for j, (bn, nm) in
                enumerate(zip(names, s.neurons[l]))]
    parts = [f"dE/dnet_{nm}" for nm in s.neurons[l]]
    nums = " + ".join(s.fmt(v) for v in g.delta[0]) if len(parts) > 1 else ""
    return [Term(f"dE/d{names[0]}", float(g.db.sum()), " + ".join(parts), nums,
                 tuple((p, float(v)) for p, v in zip(parts, g.delta[0])))]


def _backward(s: _Step, grad: np.ndarray) -> None:
    """Deltas and gradients, output layer first; ``grad`` is the loss kernel's gradient."""
    upstream = grad
    for l in range(len(s.model.layers) - 1, -1, -1):
        g = _layer_backward(s, l, upstream)
        s.grads_W[l], s.grads_b[l] = g.dW, g.db
        _deltas(s, l, g)
        _weight_gradients(s, l, g)
        for term in _bias_gradient_terms(s, l, g):
            bn = term.name[len("dE/d"):]
            s.rec.backward.append(term)
            s.rec.gradients[bn] = term.value
            s.rec.values[term.name] = term.value
        if g.dX is not None:
            upstream = g.dX


# --------------------------------------------------------------------------
# update: p <- p - lr dE/dp (sgd_update kernel on the copy)
# --------------------------------------------------------------------------

def _record_update(s: _Step, name: str, new: float, old: float, eta: float, grad: float) -> None:
    s.rec.update.append(Term(f"{name}+", new, f"{name} - eta * dE/d{name}",
                             f"{s.fmt(old)} - {s.fmt(eta)} * {s.fmt(grad)}"))
    s.rec.updated[name] = new
    s.rec.values[f"{name}+"] = new


def _update_weight(s: _Step, l: int) -> None:
    layer, eta, grad = s.model.layers[l], s.lrs[l], s.grads_W[l]
    old = layer.weight.copy()
    kernels.sgd_update(layer.weight, grad, eta)
    for j in range(layer.out_features):
        for i in range(layer.in_features):
            _record_update(s, s.wname[l][j, i], float(layer.weight[j, i]), old[j, i], eta, grad[j, i])


def _update_bias(s: _Step, l: int, bias: np.ndarray, names: list[str]) -> None:
    eta, old = s.lrs[l], bias.copy()
    if s.model.layers[l].bias_mode == "shared":
        grad = np.array([s.grads_b[l].sum()])
        kernels.sgd_update(bias, grad, eta)
        _record_update(s, names[0], float(bias[0]), old[0], eta, grad[0])
        return
    kernels.sgd_update(bias, s.grads_b[l], eta)
    for j in range(len(bias)):
        _record_update(s, names[j], float(bias[j]), old[j], eta, s.grads_b[l][j])


def _update(s: _Step) -> None:
    for l, layer in enumerate(s.model.layers):
        if "weight" in layer.trainable:
            _update_weight(s, l)
        names = s.bname[l]
        if layer.bias is not None and names is not None and "bias" in layer.trainable:
            _update_bias(s, l, layer.bias, names)


# --------------------------------------------------------------------------
# the public functions
# --------------------------------------------------------------------------

def explain(model: Sequential, x: ArrayLike, target: ArrayLike, loss: str | Loss = "half_squared_error",
            lr: float | Sequence[float] = 0.5, *, precision: int = 9, verbose: bool = False) -> Explanation:
    """Explain one gradient-descent step on one sample, the notes' way (see the module docstring).

    Parameters
    ----------
    model : Sequential
        The network.  It is not changed: the step runs on a float64 copy,
        returned as ``result.model_after``.
    x : array_like
        One sample, ``model.n_inputs`` values.
    target : array_like or int
        Its target: one value per output, or a class label for ``loss="cross_entropy"``.
    loss : str or Loss, default "half_squared_error"
        The loss, as for :class:`~fastnn.Trainer`.
    lr : float or sequence of float, default 0.5
        One learning rate, or one per layer.
    precision : int, default 9
        Significant digits of the printed numbers, 1 to 30.
    verbose : bool, default False
        Also print the explanation.

    Returns
    -------
    Explanation
        Every named number of the step and its derivation.

    Raises
    ------
    TypeError
        If an argument has the wrong type (the message names it).
    ValueError
        If an argument has an unusable value: a sample of the wrong size, a
        number of learning rates other than 1 or one per layer, a step
        activation, an output layer the loss cannot take.

    Examples
    --------
    >>> import fastnn
    >>> model = fastnn.Sequential([
    ...     fastnn.Dense(2, 2, "sigmoid", weight=[[0.15, 0.20], [0.25, 0.30]], bias=0.35),
    ...     fastnn.Dense(2, 2, "sigmoid", weight=[[0.40, 0.45], [0.50, 0.55]], bias=0.60)])
    >>> step = explain(model, [0.05, 0.10], [0.01, 0.99], lr=0.5)
    >>> print(f"{step['w5+']:.6f}")
    0.358916
    """
    s = _setup(model, x, target, loss, lr, precision)
    show = check_verbose(verbose, maximum=1)
    _forward(s)
    grad = _error(s)
    _backward(s, grad)
    _update(s)
    s.rec.model_after = s.model
    if show:
        print(s.rec)
    return s.rec


def model_from_example(ex: WorkedExample) -> Sequential:
    """Build the network of a worked example of the notes.

    Parameters
    ----------
    ex : WorkedExample
        A worked example, from :func:`fastnn.course.examples.get`.

    Returns
    -------
    Sequential
        A float64 model with the example's layers, weights and biases (a
        bias the notes share among a layer's neurons stays shared).
    """
    layers = []
    for l in range(ex.n_layers):
        b = ex.biases[l]
        bias: bool | float | np.ndarray
        if b is None:
            bias = False
        elif np.ndim(b) == 0:
            bias = float(b)  # one bias shared by the layer's neurons
        else:
            bias = np.array(b, dtype=np.float64)
        layers.append(Dense(ex.layer_sizes[l], ex.layer_sizes[l + 1], ex.activations[l], bias,
                            weight=np.array(ex.weights[l], dtype=np.float64)))
    return Sequential(layers, dtype="float64")


def explain_example(name: str, *, precision: int = 9, verbose: bool = False) -> Explanation:
    """Explain the training step of a worked example of the notes.

    Parameters
    ----------
    name : str
        The example's name, one of :func:`fastnn.course.examples.names`.
    precision : int, default 9
        Significant digits of the printed numbers.
    verbose : bool, default False
        Also print the explanation.

    Returns
    -------
    Explanation
        :func:`explain` of the example's network, sample, target, loss and
        learning rates.

    Raises
    ------
    KeyError
        If there is no example called ``name``.

    Examples
    --------
    >>> print(explain_example("notes004_2_2_2", precision=6).error[0].value)  # doctest: +ELLIPSIS
    0.29837...
    """
    from . import examples

    ex = examples.get(name)
    return explain(model_from_example(ex), ex.x, ex.target, loss=ex.loss, lr=list(ex.learning_rates),
                   precision=precision, verbose=verbose)
