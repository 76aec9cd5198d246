"""The training step: forward pass, fused loss, backward pass and update, on preallocated buffers.

:class:`TrainingEngine` binds a model, a loss and an optimizer.  Each step
runs in one of two ways, with the same kernels in the same order (so the
same numbers):

- the one-call step (``_core.NetworkTrainStep``: softmax cross-entropy with
  an optimizer that offers one, :meth:`fastnn.optim.Optimizer.bind_network_step`),
  which also splits a batch across two threads;
- the per-layer path: one ``dense_forward`` call per layer, the loss, then
  from the top one ``dense_backward`` call per layer and the optimizer's
  :meth:`~fastnn.optim.Optimizer.update` as soon as the layer's gradients
  exist (plain SGD fused into the weight-gradient GEMM instead).

The :class:`Workspace` holds one activation and one gradient buffer per
layer, sized for the batch, so a step allocates nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import _core, _memory
from ..nn.activations import FORWARD_ONLY, apply_after_gemm
from ..nn.losses import Loss
from ..nn.sequential import Sequential
from ..optim.base import Optimizer

if TYPE_CHECKING:
    from .._typing import FloatArray
    from ..nn.layers import Dense

__all__ = ["STEP_CALL_WORK", "TrainingEngine", "Workspace", "check_trainable"]

#: About how many multiply-adds of forward pass one :meth:`TrainingEngine.run_steps` call is
#: given (rows x weights of each step, summed): enough to make the Python between calls
#: negligible, little enough that Ctrl-C and a progress bar answer within milliseconds.
STEP_CALL_WORK = 1 << 27

_IDENTITY = _core.ACTIVATION_CODES["identity"]


class Workspace:
    """The buffers of a training step for batches of up to ``batch_size`` rows.

    Parameters
    ----------
    model : Sequential
        The model they are for.
    batch_size : int
        The most rows a step takes.
    need_param_grads : bool
        Whether to keep weight gradients (optimizers other than plain SGD).

    Attributes
    ----------
    X : numpy.ndarray
        A gathered input batch (batch_size, n_inputs).
    acts, grads : list of numpy.ndarray
        Per layer: its activations and d loss / d activations (batch_size, out).
    db, bias_full, db_shared : list of numpy.ndarray
        Per layer: bias gradients, a shared bias expanded, a shared bias's gradient.
    dW : list of numpy.ndarray or None
        Per layer: weight gradients (None when not kept; the step allocates
        them when an optimizer needs them later, e.g. SGD given momentum).
    """

    def __init__(self, model: Sequential, batch_size: int, need_param_grads: bool) -> None:
        dt = model.dtype
        widths = sum(layer.out_features for layer in model.layers)
        params = sum(layer.weight.size for layer in model.layers) if need_param_grads else 0
        _memory.check_alloc((batch_size * (model.n_inputs + 2 * widths) + 3 * widths + params) * dt.itemsize,
                            f"the training workspace for batch_size={batch_size}")
        self.batch_size = batch_size
        self.X: FloatArray = np.empty((batch_size, model.n_inputs), dtype=dt)
        self.acts: list[FloatArray] = [np.empty((batch_size, layer.out_features), dtype=dt) for layer in model.layers]
        self.grads: list[FloatArray] = [np.empty((batch_size, layer.out_features), dtype=dt) for layer in model.layers]
        self.db: list[FloatArray] = [np.empty(layer.out_features, dtype=dt) for layer in model.layers]
        self.bias_full: list[FloatArray] = [np.empty(layer.out_features, dtype=dt) for layer in model.layers]
        self.db_shared: list[FloatArray] = [np.empty(1, dtype=dt) for _ in model.layers]
        self.dW: list[FloatArray | None] = [np.empty_like(layer.weight) if need_param_grads else None
                                            for layer in model.layers]


def check_trainable(model: Sequential, loss: Loss) -> None:
    """Raise ValueError, before any step, for what cannot be trained.

    Parameters
    ----------
    model : Sequential
        The model.
    loss : Loss
        The loss it would be trained with.

    Raises
    ------
    ValueError
        A trainable layer with step/sign units, or an output activation the
        loss cannot train.
    """
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


class TrainingEngine:
    """Training steps of one model with one loss and optimizer.

    Parameters
    ----------
    model : Sequential
        The model to train.
    loss : Loss
        The loss to minimise.
    optimizer : Optimizer
        The optimizer.

    Attributes
    ----------
    one_call : bool
        Whether the one-call step may be used (softmax cross-entropy; set
        False to force the per-layer path, e.g. to compare the two).
    bound : fastnn._core.NetworkTrainStep or None
        The one-call step as last bound (None on the per-layer path).
    """

    def __init__(self, model: Sequential, loss: Loss, optimizer: Optimizer) -> None:
        check_trainable(model, loss)
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.fused = loss.fused_activation is not None
        self.one_call = loss.name == "cross_entropy"
        self.bound: _core.NetworkTrainStep | None = None
        self.workspace: Workspace | None = None

    def workspace_for(self, n: int) -> Workspace:
        """Return the workspace, (re)allocated when it is smaller than ``n`` rows.

        Sized for the largest batch actually run, not for the trainer's
        batch_size: a batch_size larger than the data must not allocate for it.

        Parameters
        ----------
        n : int
            Rows of the coming batch.

        Returns
        -------
        Workspace
            Buffers for at least ``n`` rows.
        """
        if self.workspace is None or self.workspace.batch_size < n:
            self.workspace = Workspace(self.model, n, need_param_grads=not self.optimizer.fusable)
        return self.workspace

    def step(self, X: FloatArray, target: np.ndarray,
             rows: np.ndarray | None = None) -> tuple[float, FloatArray, int | None]:
        """One step on the batch ``X`` (or ``X[rows]``) with prepared targets.

        Parameters
        ----------
        X : numpy.ndarray
            Inputs as :meth:`Sequential.prepare_input` returns them.
        target : numpy.ndarray
            The batch's targets, prepared by the loss.
        rows : numpy.ndarray of int64, optional
            The batch is ``X[rows]``; the rows are gathered inside the step.

        Returns
        -------
        loss : float
            The batch's loss (on the one-call path with the optimizer's
            :meth:`~fastnn.optim.Optimizer.network_step_l2` penalty); when it
            is not finite nothing has been updated.
        output : numpy.ndarray
            The batch's output (logits when the loss fuses the activation).
        correct : int or None
            Rows whose prediction was right, when the loss kernel counts them.
        """
        n = X.shape[0] if rows is None else rows.shape[0]
        ws = self.workspace_for(n)
        step = self._network_step(ws) if self.one_call else None
        correct: int | None
        if step is not None:
            opt = self.optimizer
            value, correct = step.run(X, target, opt.learning_rates(len(self.model.layers)),
                                      opt.network_step_constants(), rows, opt.network_step_l2())
            if math.isfinite(value):
                opt.finish_step()
            return value, ws.acts[-1][:n], correct
        if rows is not None:
            xb = ws.X[:n]
            _core.gather_rows(X, rows, xb)
            X = xb
        value, out, correct = self._loss_and_output_grad(X, target, ws)
        if math.isfinite(value):  # else the caller raises: no update has happened
            self._backward_update(X, ws, n)
            self.optimizer.finish_step()
        return value, out, correct

    def runs_steps_in_one_call(self, batch_size: int) -> bool:
        """Whether :meth:`run_steps` can run this model's steps of ``batch_size`` rows.

        Parameters
        ----------
        batch_size : int
            Rows per step.

        Returns
        -------
        bool
            True on the one-call path with an optimizer that plans its
            steps ahead (:meth:`fastnn.optim.Optimizer.network_steps_plan`).
        """
        ws = self.workspace_for(batch_size)
        if not self.one_call or self._network_step(ws) is None:
            return False
        return self.optimizer.network_steps_plan(1, len(self.model.layers)) is not None

    def steps_per_call(self, batch_size: int, most: int) -> int:
        """How many steps of ``batch_size`` rows to give one :meth:`run_steps` call.

        Parameters
        ----------
        batch_size : int
            Rows per step.
        most : int
            At most this many (an epoch's steps).

        Returns
        -------
        int
            About :data:`STEP_CALL_WORK` multiply-adds' worth, at least 1.
        """
        work = batch_size * sum(layer.weight.size for layer in self.model.layers)
        return max(1, min(most, STEP_CALL_WORK // work))

    def run_steps(self, X: FloatArray, target: np.ndarray, rows: np.ndarray | None, batch_size: int,
                  count: int) -> tuple[FloatArray, np.ndarray, int]:
        """``count`` steps of ``batch_size`` rows in one call, when :meth:`runs_steps_in_one_call`.

        Parameters
        ----------
        X : numpy.ndarray
            Inputs as :meth:`Sequential.prepare_input` returns them.
        target : numpy.ndarray
            The prepared targets of all of X's rows.
        rows : numpy.ndarray of int64 or None
            The rows the steps visit, in order (``count`` batches of them,
            the last possibly shorter); None: X's rows in order.
        batch_size : int
            Rows per step.
        count : int
            The steps.

        Returns
        -------
        losses : numpy.ndarray
            Each step's loss (float64, ``count``; those after ``done`` unset).
        correct : numpy.ndarray
            Each step's rows whose prediction was right (int64, ``count``).
        done : int
            The steps that updated the network: all of them, or up to the
            first whose loss is not finite (``losses[done]``), which updated nothing.
        """
        ws = self.workspace_for(batch_size)
        step = self._network_step(ws) if self.one_call else None
        opt = self.optimizer
        plan = None if step is None else opt.network_steps_plan(count, len(self.model.layers))
        if step is None or plan is None:
            raise RuntimeError("run_steps needs the one-call step and an optimizer that plans its steps "
                               "(check runs_steps_in_one_call first)")
        losses, correct = np.empty(count), np.empty(count, dtype=np.int64)
        done = step.run_steps(X, target, rows, batch_size, plan[0], plan[1], opt.network_step_l2(),
                              losses, correct)
        opt.finish_steps(done)
        return losses, correct, done

    def _network_step(self, ws: Workspace) -> _core.NetworkTrainStep | None:
        """The bound one-call step, rebound when the layers, workspace or optimizer state changed.

        None when this model needs the per-layer path (then ``one_call`` is switched off).
        """
        opt, layers = self.optimizer, self.model.layers
        if self.bound is not None and opt.network_step_matches(self.bound, layers, ws):
            return self.bound
        train = _one_call_trainable(layers)
        self.bound = None if train is None else opt.bind_network_step(layers, train, ws, self._codes())
        if self.bound is None:
            self.one_call = False
        return self.bound

    def _codes(self) -> list[int]:
        """Each layer's epilogue code; the last one's identity when the loss applies the output activation itself."""
        layers = self.model.layers
        codes = [layer.kernel_code for layer in layers]
        if self.fused:
            codes[-1] = _IDENTITY
        return codes

    def _forward(self, X: FloatArray, ws: Workspace) -> FloatArray:
        """Forward pass into the workspace; the output (logits when fused)."""
        n = X.shape[0]
        h = X
        codes = self._codes()
        last = len(codes) - 1
        for i, layer in enumerate(self.model.layers):
            out = ws.acts[i][:n]
            bias = layer.full_bias(ws.bias_full[i]) if layer.bias_mode == "shared" else layer.bias
            _core.dense_forward(h, layer.weight, bias, out, codes[i], layer.slope)
            if not (i == last and self.fused):
                apply_after_gemm(layer.activation, out)
            h = out
        return h

    def _loss_and_output_grad(self, X: FloatArray, target: np.ndarray,
                              ws: Workspace) -> tuple[float, FloatArray, int | None]:
        """Forward pass and loss; leaves d loss / d output in ws.grads[-1]."""
        n = X.shape[0]
        out = self._forward(X, ws)
        counts = getattr(self.loss, "loss_and_correct", None)
        if counts is not None:
            value, correct = counts(out, target, ws.grads[-1][:n])
            return value, out, correct
        return self.loss(out, target, ws.grads[-1][:n]), out, None

    def _backward_update(self, X: FloatArray, ws: Workspace, n: int) -> None:
        """Backward pass from ws.grads[-1].

        Layer by layer from the top, updating each layer as soon as its gradients exist (its dX has
        then been computed with its old weights).
        """
        layers = self.model.layers
        codes = self._codes()
        first_trainable = next((i for i, layer in enumerate(layers) if layer.trainable), len(layers))
        for i in range(len(layers) - 1, -1, -1):
            x_in = X if i == 0 else ws.acts[i - 1][:n]
            dX = ws.grads[i - 1][:n] if i > first_trainable else None  # only if a layer below learns
            self._layer_backward(i, x_in, dX, ws, n, codes[i])

    def _layer_backward(self, i: int, x_in: FloatArray, dX: FloatArray | None, ws: Workspace, n: int,
                        code: int) -> None:
        """Layer i's gradients and update (dA becomes dZ in place)."""
        layer, opt = self.model.layers[i], self.optimizer
        dA, A = ws.grads[i][:n], ws.acts[i][:n]
        bias = layer.bias
        train_w = "weight" in layer.trainable
        train_b = bias is not None and "bias" in layer.trainable
        if opt.fusable and train_w:
            lr = opt.lr_for(i)
            fused_b = bias if (train_b and layer.bias_mode == "per_neuron") else None
            _core.dense_backward_sgd(dA, A, x_in, layer.weight, fused_b, lr, code, layer.slope, dA, ws.db[i], dX)
            if bias is not None and train_b and layer.bias_mode == "shared":
                bias[0] -= lr * ws.db[i].sum()
            return
        dW = ws.dW[i] if train_w else None
        if train_w and dW is None:  # the workspace was allocated while the optimizer was plain SGD
            dW = ws.dW[i] = np.empty_like(layer.weight)
        db = ws.db[i] if bias is not None else None
        if dW is None and db is None and dX is None:
            return
        _core.dense_backward(dA, A, x_in, layer.weight, code, layer.slope, dA, dW, db, dX)
        lr = opt.lr_for(i)
        if dW is not None:  # train_w
            opt.update((i, "weight"), layer.weight, dW, lr)
        if bias is not None and db is not None and train_b:
            if layer.bias_mode == "shared":
                ws.db_shared[i][0] = db.sum()
                db = ws.db_shared[i]
            opt.update((i, "bias"), bias, db, lr)


def _one_call_trainable(layers: list[Dense]) -> list[bool] | None:
    """Per layer whether it learns, or None when the one-call step cannot run this model.

    A shared bias, a bias frozen while its weights learn (or the reverse), or a hidden activation
    applied outside the GEMM.
    """
    last = len(layers) - 1
    train = []
    for i, layer in enumerate(layers):
        if layer.bias_mode == "shared" or (i < last and layer.activation_info.code is None):
            return None
        train_w = "weight" in layer.trainable
        train_b = layer.bias is not None and "bias" in layer.trainable
        if layer.bias is not None and train_w != train_b:
            return None
        train.append(train_w)
    return train
