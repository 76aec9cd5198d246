"""Stochastic gradient descent, with momentum, Nesterov and weight decay.

Plain SGD (no momentum, no weight decay) needs no state, so its update is
fused into the weight-gradient GEMM's epilogue (``W <- W - lr dW``; dW is
never stored), in the per-layer path and in the one-call step.  With
momentum or weight decay the one-call step stores dW and runs the same
element-wise update as :meth:`SGD.update`, over the same velocity arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _core
from .._validation import check_bool, check_real
from .base import LayerLRs, Optimizer, StateKey
from .schedules import Schedule

if TYPE_CHECKING:
    from .._typing import Float64Array, FloatArray
    from ..nn.layers import Dense
    from ..training.engine import Workspace

__all__ = ["SGD", "bind_velocity_step"]


def bind_velocity_step(state: dict[StateKey, Any], layers: Sequence[Dense], train: Sequence[bool],
                       workspace: Workspace, act_codes: Sequence[int]) -> _core.NetworkTrainStep | None:
    """Bind a momentum optimizer's one-call step over its velocity arrays.

    Parameters
    ----------
    state : dict
        The optimizer's state: (layer index, "weight" or "bias") -> velocity,
        created here as zeros where missing.
    layers : sequence of Dense
        The model's layers.
    train : sequence of bool
        Whether each layer's parameters learn.
    workspace : fastnn.training.engine.Workspace
        The step's buffers.
    act_codes : sequence of int
        Each layer's epilogue activation code (as
        :meth:`fastnn.optim.Optimizer.bind_network_step` takes them).

    Returns
    -------
    fastnn._core.NetworkTrainStep or None
        The bound step; None when the workspace keeps no weight gradients or
        a velocity cannot be used in place (another dtype or shape, e.g.
        restored from elsewhere).
    """
    velocities: list[Any] = []
    for i, layer in enumerate(layers):
        if not train[i]:
            velocities.append(None)
            continue
        if workspace.dW[i] is None:
            return None
        found: list[FloatArray | None] = []
        for name, param in (("weight", layer.weight), ("bias", layer.bias)):
            if param is None:
                found.append(None)
                continue
            v = state.setdefault((i, name), np.zeros_like(param))
            if v.dtype != param.dtype or v.shape != param.shape or not v.flags.c_contiguous:
                return None
            found.append(v)
        velocities.append((found[0], None, found[1], None, found[0], found[1]))
    return _core.NetworkTrainStep(layers, train, workspace, act_codes, velocities, state, momentum=True)


class SGD(Optimizer):
    """Stochastic gradient descent, as in PyTorch.

    With weight decay λ, momentum μ and Nesterov::

        g ← g + λ p;   v ← μ v + g;   p ← p − lr (g + μ v if nesterov else v).

    With μ = λ = 0 it is the notes' rule p ← p − lr g, fused into the
    backward pass.

    Parameters
    ----------
    lr : float, default 0.01
        The learning rate (>= 0).
    momentum : float, default 0.0
        The momentum μ, in [0, 1).
    nesterov : bool, default False
        Nesterov momentum (needs momentum > 0).
    weight_decay : float, default 0.0
        The L2 penalty λ, added to the gradient.
    layer_lrs : dict or list, optional
        Per-layer learning rates (see :class:`fastnn.optim.Optimizer`).
    schedule : Schedule, optional
        A learning-rate schedule.

    Examples
    --------
    >>> import fastnn
    >>> fastnn.SGD(lr=0.1, momentum=0.9, nesterov=True)
    SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0)
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, layer_lrs: LayerLRs = None, schedule: Schedule | None = None) -> None:
        super().__init__(lr, weight_decay, layer_lrs, schedule)
        self.momentum = check_real("momentum", momentum, 0.0, 1.0, max_open=True)
        self.nesterov = check_bool("nesterov", nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")

    @property
    def fusable(self) -> bool:
        """True for plain SGD (no momentum, no weight decay): fused into the GEMM."""
        return self.momentum == 0 and self.weight_decay == 0

    def update(self, key: StateKey, param: FloatArray, grad: FloatArray, lr: float) -> None:
        """One SGD update of ``param`` in place (see :meth:`Optimizer.update`)."""
        if not self.momentum and not self.weight_decay:
            _core.sgd_update(param.reshape(-1), grad.reshape(-1), lr)
            return
        # with momentum 0 the buffer only holds the last step's g + λ p
        _core.sgd_momentum_update(param.reshape(-1), grad.reshape(-1), self._buffer(key, param).reshape(-1), lr,
                                  self.momentum, self.nesterov, self.weight_decay)

    def _buffer(self, key: StateKey, param: FloatArray) -> FloatArray:
        """The velocity of ``key``, created as zeros like ``param`` on first use."""
        v: FloatArray | None = self.state.get(key)
        if v is None:
            v = self.state[key] = np.zeros_like(param)
        return v

    def bind_network_step(self, layers: Sequence[Dense], train: Sequence[bool], workspace: Workspace,
                          act_codes: Sequence[int]) -> _core.NetworkTrainStep | None:
        """Bind the one-call step: plain SGD's, or momentum SGD's over the velocity arrays.

        None when a velocity array cannot be used in place (e.g. restored with another dtype).
        """
        if self.fusable:
            return _core.NetworkTrainStep(layers, train, workspace, act_codes)
        return bind_velocity_step(self.state, layers, train, workspace, act_codes)

    def network_step_matches(self, step: _core.NetworkTrainStep, layers: list[Dense], workspace: Workspace) -> bool:
        """Whether ``step`` is still bound to these layers, workspace and velocities."""
        return bool(step.matches(layers, workspace, None if self.fusable else self.state))

    def network_step_constants(self) -> tuple[float, ...] | None:
        """(momentum, nesterov as 0 or 1, weight decay, 0: PyTorch's convention) of the next step; None for plain SGD."""
        if self.fusable:
            return None
        return self.momentum, float(self.nesterov), self.weight_decay, 0.0

    def network_steps_plan(self, count: int, n_layers: int) -> tuple[Float64Array, Float64Array | None] | None:
        """The next ``count`` steps' learning rates and constants (see :meth:`Optimizer.network_steps_plan`)."""
        consts = self.network_step_constants()
        rates = self.planned_learning_rates(count, n_layers)
        if consts is None:
            return rates, None
        return rates, np.tile(np.array(consts, dtype=np.float64), (count, 1))

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
                f"weight_decay={self.weight_decay})")
