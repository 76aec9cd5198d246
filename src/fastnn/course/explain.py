"""One training step of a small network, explained the way the lecture
notes work it by hand.

``explain(model, x, target, loss=..., lr=...)`` runs one forward pass, the
loss, one backward pass and one gradient-descent update of a single sample
through the compiled kernels (in float64, on a copy of the model), and
returns an :class:`Explanation`: every net input as a sum of products, every
activation, the error, every weight's and bias's gradient as its chain-rule
factors with their values, and the updated parameters.  ``print()`` it (or
pass ``verbose=True``) for the notes' layout, e.g.

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
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from .. import _core, kernels
from .._validation import as_float_array as float_values
from ..nn.layers import Dense
from ..nn.losses import get_loss
from ..nn.sequential import Sequential

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
    """One named quantity: ``name = formula = numbers = value``."""

    name: str
    value: float
    formula: str = ""
    numbers: str = ""
    factors: Tuple[Tuple[str, float], ...] = ()

    def line(self, fmt):
        parts = [self.name]
        if self.formula:
            parts.append(self.formula)
        if self.numbers:
            parts.append(self.numbers)
        parts.append(fmt(self.value))
        return " = ".join(parts)


@dataclass
class Explanation:
    """The record of one explained training step (see the module doc)."""

    forward: List[Term] = field(default_factory=list)
    error: List[Term] = field(default_factory=list)
    backward: List[Term] = field(default_factory=list)
    update: List[Term] = field(default_factory=list)
    loss: float = 0.0
    gradients: Dict[str, float] = field(default_factory=dict)
    updated: Dict[str, float] = field(default_factory=dict)
    values: Dict[str, float] = field(default_factory=dict)
    model_after: Optional[Sequential] = None
    precision: int = 9

    def __getitem__(self, name):
        """Any named number: "net_h1", "out_o1", "E", "dE/dw5", "w5+" ..."""
        return self.values[name]

    def _fmt(self, v):
        return f"{v:.{self.precision}g}"

    def __str__(self):
        out = []
        for title, terms in (("Forward pass", self.forward), ("Error", self.error),
                             ("Backward pass", self.backward), ("Update", self.update)):
            out.append(title)
            out.extend("  " + t.line(self._fmt) for t in terms)
        return "\n".join(out)


def _neuron_names(model):
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


def explain(model, x, target, loss="half_squared_error", lr=0.5, *, precision=9, verbose=False):
    """Explain one gradient-descent step on one sample (see the module doc).

    model: a Sequential (it is not changed: the step runs on a float64 copy,
    available as ``result.model_after``); x: one sample; target: its target
    (values per output, or a class label for cross_entropy); loss: as for
    Trainer; lr: one learning rate, or one per layer.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a fastnn.Sequential, got {type(model).__name__}")
    m = copy.deepcopy(model)
    m = Sequential(m.layers, dtype="float64")
    loss_obj = get_loss(loss)
    if isinstance(precision, bool) or not isinstance(precision, int) or not 1 <= precision <= 30:
        raise ValueError(f"precision must be an int in [1, 30] (significant digits), got {precision!r}")
    x = float_values("x", x).reshape(-1)
    if x.shape != (m.n_inputs,):
        raise ValueError(f"x must be one sample of {m.n_inputs} features, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinity")
    target_arr = np.asarray(target)
    if loss_obj.name == "cross_entropy" and target_arr.ndim == 0:
        target_arr = target_arr.reshape(1)
    else:
        target_arr = target_arr.reshape(1, -1)
    t = loss_obj.prepare_targets(target_arr, m.n_outputs, np.float64)
    L = len(m.layers)
    lr_arr = float_values("lr", lr)
    if lr_arr.ndim > 1 or not np.all(np.isfinite(lr_arr)):
        raise ValueError(f"lr must be one finite learning rate or one per layer, got {lr!r}")
    lrs = [float(v) for v in lr_arr] if lr_arr.ndim == 1 else [float(lr_arr)] * L
    if len(lrs) != L:
        raise ValueError(f"give one learning rate (lr) or one per layer ({L}), got {len(lrs)}")
    for layer in m.layers:
        if layer.activation in ("step", "sign"):
            raise ValueError(f"explain needs differentiable activations, not {layer.activation!r}")
    fused = loss_obj.fused_activation is not None
    if fused and m.output_activation not in (loss_obj.fused_activation, "identity"):
        raise ValueError(f"{loss_obj.name} needs a {loss_obj.fused_activation} output layer")
    if not fused and m.output_activation == "softmax":
        raise ValueError("a softmax output is explained with loss='cross_entropy'")

    rec = Explanation(precision=precision)
    fmt = rec._fmt
    neurons = _neuron_names(m)
    in_names = [f"x{i + 1}" for i in range(m.n_inputs)]
    values = rec.values
    for n, v in zip(in_names, x):
        values[n] = float(v)

    # parameter names: w1, w2, ... across the network; biases per layer
    wname, bname = [], []
    count = 0
    for l, layer in enumerate(m.layers):
        names = np.empty(layer.weight.shape, dtype=object)
        for j in range(layer.out_features):
            for i in range(layer.in_features):
                count += 1
                names[j, i] = f"w{count}"
        wname.append(names)
        if layer.bias_mode == "shared":
            bname.append([f"b{l + 1}"] * layer.out_features)
        elif layer.bias_mode == "per_neuron":
            bname.append([f"b_{nm}" for nm in neurons[l]])
        else:
            bname.append(None)

    # ---- forward, one layer at a time with the compiled kernel ----
    h = x.reshape(1, -1)
    h_names = in_names
    acts, nets = [], []
    for l, layer in enumerate(m.layers):
        W, b = layer.weight, layer.full_bias()
        Z = kernels.dense_forward(h, W, b, "identity")  # net inputs
        act = layer.activation
        if l == L - 1 and fused:
            A = kernels.softmax(Z) if loss_obj.fused_activation == "softmax" else kernels.activation("sigmoid", Z)
        elif act == "softmax":
            A = kernels.softmax(Z)
        else:
            A = kernels.dense_forward(h, W, b, act, slope=layer.slope)
        for j, nm in enumerate(neurons[l]):
            terms = [f"{wname[l][j, i]}*{h_names[i]}" for i in range(layer.in_features)]
            nums = [f"{fmt(W[j, i])}*{fmt(h[0, i])}" for i in range(layer.in_features)]
            if bname[l] is not None:
                terms.append(bname[l][j])
                nums.append(fmt(b[j]))
            values[f"net_{nm}"] = float(Z[0, j])
            rec.forward.append(Term(f"net_{nm}", float(Z[0, j]), " + ".join(terms), " + ".join(nums)))
        for j, nm in enumerate(neurons[l]):
            a_act = loss_obj.fused_activation if (l == L - 1 and fused) else act
            values[f"out_{nm}"] = float(A[0, j])
            rec.forward.append(Term(f"out_{nm}", float(A[0, j]), f"{a_act}(net_{nm})"))
        acts.append(A)
        nets.append(Z)
        h = A
        h_names = [f"out_{nm}" for nm in neurons[l]]

    # ---- error, with the loss kernel ----
    out_names = [f"out_{nm}" for nm in neurons[-1]]
    grad_last = np.empty_like(nets[-1])  # d E / d(logits) if fused, else d E / d out
    if fused:
        value = loss_obj(np.ascontiguousarray(nets[-1]), t, grad_last)
        dZ_last = grad_last
    else:
        value = loss_obj(np.ascontiguousarray(acts[-1]), t, grad_last)
        dA_last = grad_last
    rec.loss = float(value)
    values["E"] = float(value)
    tv = t if t.ndim == 2 else np.eye(m.n_outputs)[t]
    if loss_obj.name == "half_squared_error":
        formula = " + ".join(f"1/2 (t{k + 1} - {o})^2" for k, o in enumerate(out_names))
        nums = " + ".join(f"1/2 ({fmt(tv[0, k])} - {fmt(acts[-1][0, k])})^2" for k in range(m.n_outputs))
    elif loss_obj.name == "mse":
        formula = "mean_k (t_k - out_k)^2"
        nums = ""
    elif loss_obj.name == "cross_entropy":
        formula = " - ".join([""] + [f"t{k + 1} log {o}" for k, o in enumerate(out_names)]).strip()
        nums = ""
    else:
        formula = "-mean_k [t_k log out_k + (1 - t_k) log(1 - out_k)]"
        nums = ""
    rec.error.append(Term("E", float(value), formula, nums))

    # ---- backward: kernels give dZ (delta), dW, db, dX per layer ----
    if fused:
        dA = None
        dZ = dZ_last
    else:
        dA = dA_last
    grads_W, grads_b = [None] * L, [None] * L
    dE_dout = {}
    for l in range(L - 1, -1, -1):
        layer = m.layers[l]
        X_in = x.reshape(1, -1) if l == 0 else acts[l - 1]
        in_labels = in_names if l == 0 else [f"out_{nm}" for nm in neurons[l - 1]]
        code = 0 if (l == L - 1 and fused) else layer.kernel_code
        upstream = dZ if (l == L - 1 and fused) else dA
        dZbuf = np.empty_like(acts[l])
        dW = np.empty_like(layer.weight)
        db = np.empty(layer.out_features)
        dX = np.empty_like(X_in) if l > 0 else None
        _core.dense_backward(np.ascontiguousarray(upstream), np.ascontiguousarray(acts[l]),
                             np.ascontiguousarray(X_in), layer.weight, code, layer.slope, dZbuf, dW, db, dX)
        grads_W[l], grads_b[l] = dW, db
        deriv = None
        if not (l == L - 1 and fused):
            deriv = kernels.activation_derivative(layer.kernel_activation, acts[l], slope=layer.slope)
        for j, nm in enumerate(neurons[l]):
            out_n, net_n = f"out_{nm}", f"net_{nm}"
            if l == L - 1 and fused:
                rec.backward.append(Term(
                    f"dE/d{net_n}", float(dZbuf[0, j]), f"{out_n} - t{j + 1}",
                    f"{fmt(acts[l][0, j])} - {fmt(tv[0, j])}" if loss_obj.name == "cross_entropy" else ""))
            else:
                if l == L - 1:
                    src = {"half_squared_error": f"{out_n} - t{j + 1}", "mse": f"2 ({out_n} - t{j + 1}) / K"}
                    rec.backward.append(Term(f"dE/d{out_n}", float(upstream[0, j]), src[loss_obj.name]))
                else:
                    nxt = m.layers[l + 1]
                    parts = [f"dE/dnet_{nk}*{wname[l + 1][k, j]}" for k, nk in enumerate(neurons[l + 1])]
                    nums = [f"{fmt(values[f'dE/dnet_{nk}'])}*{fmt(nxt.weight[k, j])}"
                            for k, nk in enumerate(neurons[l + 1])]
                    rec.backward.append(Term(f"dE/d{out_n}", float(upstream[0, j]), " + ".join(parts),
                                             " + ".join(nums)))
                rec.backward.append(Term(f"d{out_n}/d{net_n}", float(deriv[0, j]),
                                         _DERIVATIVE_TEXT[layer.kernel_activation].format(a=out_n),
                                         ""))
                rec.backward.append(Term(f"dE/d{net_n}", float(dZbuf[0, j]), f"dE/d{out_n} * d{out_n}/d{net_n}",
                                         f"{fmt(upstream[0, j])} * {fmt(deriv[0, j])}"))
            values[f"dE/d{net_n}"] = float(dZbuf[0, j])
            values[f"dE/d{out_n}"] = float(upstream[0, j]) if upstream is not None else float("nan")
            dE_dout[out_n] = values[f"dE/d{out_n}"]
        # weights: dE/dw = dE/dout * dout/dnet * input (or dE/dnet * input)
        for j, nm in enumerate(neurons[l]):
            out_n, net_n = f"out_{nm}", f"net_{nm}"
            for i in range(layer.in_features):
                wn = wname[l][j, i]
                g = float(dW[j, i])
                if l == L - 1 and fused:
                    factors = ((f"dE/d{net_n}", float(dZbuf[0, j])), (in_labels[i], float(X_in[0, i])))
                else:
                    factors = ((f"dE/d{out_n}", float(upstream[0, j])), (f"d{out_n}/d{net_n}", float(deriv[0, j])),
                               (in_labels[i], float(X_in[0, i])))
                prod = float(np.prod([f for _, f in factors]))
                if not np.isclose(prod, g, rtol=1e-9, atol=1e-15):
                    raise AssertionError(f"chain rule for {wn}: {prod} != kernel's {g}")
                rec.backward.append(Term(f"dE/d{wn}", g, " * ".join(n for n, _ in factors),
                                         " * ".join(fmt(f) for _, f in factors), factors))
                rec.gradients[wn] = g
                values[f"dE/d{wn}"] = g
        if bname[l] is not None:
            if layer.bias_mode == "shared":
                bn = bname[l][0]
                g = float(db.sum())
                parts = [f"dE/dnet_{nm}" for nm in neurons[l]]
                rec.backward.append(Term(f"dE/d{bn}", g, " + ".join(parts),
                                         " + ".join(fmt(v) for v in dZbuf[0]) if len(parts) > 1 else "",
                                         tuple((p, float(v)) for p, v in zip(parts, dZbuf[0]))))
                rec.gradients[bn] = g
                values[f"dE/d{bn}"] = g
            else:
                for j, nm in enumerate(neurons[l]):
                    bn = bname[l][j]
                    rec.backward.append(Term(f"dE/d{bn}", float(db[j]), f"dE/dnet_{nm}"))
                    rec.gradients[bn] = float(db[j])
                    values[f"dE/d{bn}"] = float(db[j])
        if l > 0:
            dA = dX

    # ---- update: p <- p - lr dE/dp (sgd_update kernel on the copy) ----
    for l, layer in enumerate(m.layers):
        eta = lrs[l]
        if "weight" in layer.trainable:
            old = layer.weight.copy()
            kernels.sgd_update(layer.weight, grads_W[l], eta)
            for j in range(layer.out_features):
                for i in range(layer.in_features):
                    wn = wname[l][j, i]
                    rec.update.append(Term(f"{wn}+", float(layer.weight[j, i]), f"{wn} - eta * dE/d{wn}",
                                           f"{fmt(old[j, i])} - {fmt(eta)} * {fmt(grads_W[l][j, i])}"))
                    rec.updated[wn] = float(layer.weight[j, i])
                    values[f"{wn}+"] = float(layer.weight[j, i])
        if layer.bias is not None and "bias" in layer.trainable:
            old_b = layer.bias.copy()
            if layer.bias_mode == "shared":
                g = np.array([grads_b[l].sum()])
                kernels.sgd_update(layer.bias, g, eta)
                bn = bname[l][0]
                rec.update.append(Term(f"{bn}+", float(layer.bias[0]), f"{bn} - eta * dE/d{bn}",
                                       f"{fmt(old_b[0])} - {fmt(eta)} * {fmt(g[0])}"))
                rec.updated[bn] = float(layer.bias[0])
                values[f"{bn}+"] = float(layer.bias[0])
            else:
                kernels.sgd_update(layer.bias, grads_b[l], eta)
                for j in range(layer.out_features):
                    bn = bname[l][j]
                    rec.update.append(Term(f"{bn}+", float(layer.bias[j]), f"{bn} - eta * dE/d{bn}",
                                           f"{fmt(old_b[j])} - {fmt(eta)} * {fmt(grads_b[l][j])}"))
                    rec.updated[bn] = float(layer.bias[j])
                    values[f"{bn}+"] = float(layer.bias[j])
    rec.model_after = m
    if verbose:
        print(rec)
    return rec


def model_from_example(ex):
    """A float64 Sequential holding a worked example's network."""
    layers = []
    for l in range(ex.n_layers):
        b = ex.biases[l]
        if b is None:
            bias = False
        elif np.ndim(b) == 0:
            bias = float(b)  # one bias shared by the layer's neurons
        else:
            bias = np.array(b, dtype=np.float64)
        layers.append(Dense(ex.layer_sizes[l], ex.layer_sizes[l + 1], ex.activations[l], bias,
                            weight=np.array(ex.weights[l], dtype=np.float64)))
    return Sequential(layers, dtype="float64")


def explain_example(name, *, precision=9, verbose=False):
    """explain() of a bundled worked example (fastnn.examples) by name."""
    from . import examples

    ex = examples.get(name)
    return explain(model_from_example(ex), ex.x, ex.target, loss=ex.loss, lr=list(ex.learning_rates),
                   precision=precision, verbose=verbose)
