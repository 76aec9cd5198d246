"""scikit-learn's MLP solvers as fastnn optimizers, and the gradient capture behind 'lbfgs'.

Each runs inside fastnn's training step (:class:`fastnn.training.engine.TrainingEngine`):

- :class:`SklearnSGD`: scikit-learn's ``SGDOptimizer`` (its velocity holds
  the learning rate: ``v <- momentum v - lr g``, then ``p <- p + momentum v
  - lr g`` with Nesterov, ``p <- p + v`` without), written with the same
  operations in the same order (``fnn_sgd_lr_momentum_update``), which
  fastnn's one-call step also runs, with the L2 term;
- :class:`SklearnAdam`: scikit-learn's ``AdamOptimizer`` on fastnn's Adam
  kernel: scikit-learn folds both bias corrections into the step
  (``lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``) and adds epsilon to
  ``sqrt(v)`` itself, which is fastnn's update with the second correction
  moved into the first; its L2 term runs inside fastnn's one-call step;
- :class:`GradientCapture`: records the gradients instead of updating, for
  the full-batch loss and gradient that L-BFGS asks for;
- :class:`GradientStep`: runs the others on fastnn's one-call step where it
  has no place for them (momentum 0 with an L2 term; the gradient
  capture): the step runs as Adam
  at learning rate 0 (the parameters stay as they are, the batch's gradients
  are left in the workspace), then the solver updates from those gradients.
  The gradients are those of the per-layer path, number for number; the
  forward and backward passes are faster (the batch split across threads,
  one C call).

scikit-learn's L2 penalty is coupled: ``alpha W / n`` added to the weight
gradients (not the intercepts') of a batch of ``n`` samples (or of sample
weights summing to ``n``); the estimator sets ``l2 = alpha / n`` before each
step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .. import _core
from ..optim import Adam, Optimizer
from ..optim.sgd import bind_velocity_step

if TYPE_CHECKING:
    from .._typing import Float64Array, FloatArray
    from ..nn.layers import Dense
    from ..optim.base import StateKey
    from ..training.engine import Workspace

__all__ = ["GradientCapture", "GradientStep", "SklearnAdam", "SklearnSGD"]


def add_l2(key: StateKey, param: FloatArray, grad: FloatArray, l2: float) -> None:
    """Add ``l2 * param`` to a weight gradient in place (intercepts are not penalised).

    Parameters
    ----------
    key : tuple
        (layer index, "weight" or "bias").
    param : numpy.ndarray
        The parameter.
    grad : numpy.ndarray
        Its gradient, updated in place.
    l2 : float
        The penalty's factor for this batch, ``alpha / n``.
    """
    if l2 and key[1] == "weight":
        _core.sgd_update(grad.reshape(-1), param.reshape(-1), -l2)  # grad - (-l2) param


class SklearnSGD(Optimizer):
    """scikit-learn's stochastic gradient descent with momentum.

    Parameters
    ----------
    lr : float
        The learning rate (the estimator updates it between epochs for
        'invscaling' and 'adaptive').
    momentum : float
        In [0, 1].
    nesterov : bool
        Nesterov's momentum.
    alpha : float
        The L2 penalty (0: none); the estimator sets :attr:`l2` per batch.

    Attributes
    ----------
    l2 : float
        ``alpha / n`` of the coming batch.
    squared_norm : float
        With momentum, the sum of the squared weights the per-layer updates
        since it was last set to 0 saw before updating (with a penalty; the
        estimator's batch loss).  The one-call step leaves it alone: its
        loss already holds the penalty.
    """

    def __init__(self, lr: float, momentum: float, nesterov: bool, alpha: float) -> None:
        super().__init__(lr)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.alpha = float(alpha)
        self.l2 = 0.0
        self.squared_norm = 0.0

    @property
    def fusable(self) -> bool:
        """True without momentum or penalty: plain SGD, fused into fastnn's GEMMs."""
        return self.momentum == 0 and self.alpha == 0

    @property
    def exact_in_one_call(self) -> bool:
        """Whether fastnn's one-call step computes this update exactly (plain SGD, or momentum)."""
        return self.fusable or self.momentum > 0

    @property
    def sums_squares(self) -> bool:
        """Whether :meth:`update` sums the weights' squares into :attr:`squared_norm` (with momentum)."""
        return self.momentum > 0

    def update(self, key: StateKey, param: FloatArray, grad: FloatArray, lr: float) -> None:
        """One update of ``param`` in place (see :meth:`fastnn.optim.Optimizer.update`)."""
        if self.momentum == 0:  # scikit-learn's 0 v - lr g: the plain step
            add_l2(key, param, grad, self.l2)
            _core.sgd_update(param.reshape(-1), grad.reshape(-1), lr)
            return
        v = self.state.get(key)
        if v is None:
            v = self.state[key] = np.zeros_like(param)
        l2 = self.l2 if key[1] == "weight" else 0.0
        self.squared_norm += _core.sgd_lr_momentum_update(param.reshape(-1), grad.reshape(-1), v.reshape(-1), lr,
                                                          self.momentum, self.nesterov, l2)

    def bind_network_step(self, layers: Sequence[Dense], train: Sequence[bool], workspace: Workspace,
                          act_codes: Sequence[int]) -> _core.NetworkTrainStep | None:
        """The one-call step: plain SGD's, or momentum's over the velocities (None: momentum 0 with a penalty)."""
        if self.fusable:
            return _core.NetworkTrainStep(layers, train, workspace, act_codes)
        if self.momentum == 0:
            return None
        return bind_velocity_step(self.state, layers, train, workspace, act_codes)

    def network_step_matches(self, step: _core.NetworkTrainStep, layers: list[Dense], workspace: Workspace) -> bool:
        """Whether ``step`` is still bound to these layers, workspace and velocities."""
        return bool(step.matches(layers, workspace, None if self.fusable else self.state))

    def network_step_constants(self) -> tuple[float, ...] | None:
        """(momentum, nesterov as 0 or 1, 0, 1: scikit-learn's convention) with momentum; else None."""
        if self.momentum == 0:
            return None
        return self.momentum, float(self.nesterov), 0.0, 1.0

    def network_step_l2(self) -> float:
        """The coming batch's :attr:`l2` (with momentum: the one-call step adds the penalty and its loss)."""
        return self.l2 if self.momentum > 0 else 0.0

    def network_steps_plan(self, count: int, n_layers: int) -> tuple[Float64Array, Float64Array | None] | None:
        """The next ``count`` steps' rates and constants (see :meth:`fastnn.optim.Optimizer.network_steps_plan`)."""
        if not self.exact_in_one_call:
            return None
        consts = self.network_step_constants()
        rates = self.planned_learning_rates(count, n_layers)
        return rates, None if consts is None else np.tile(np.array(consts, dtype=np.float64), (count, 1))

    def __repr__(self) -> str:
        return f"SklearnSGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, alpha={self.alpha})"


class SklearnAdam(Adam):
    """scikit-learn's Adam.

    ``p <- p - lr_t m / (sqrt(v) + epsilon)`` with ``lr_t = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``.

    Parameters
    ----------
    lr : float
        ``learning_rate_init``.
    beta_1, beta_2 : float
        The moments' decay rates, in [0, 1).
    epsilon : float
        Added to ``sqrt(v)``.
    alpha : float
        The L2 penalty (0: none); the estimator sets :attr:`l2` per batch.

    Attributes
    ----------
    l2 : float
        ``alpha / n`` of the coming batch.
    squared_norm : float
        The sum of the squared weights the per-layer updates since it was
        last set to 0 saw before updating (with a penalty; the estimator's
        batch loss).  The one-call step leaves it alone: its loss already
        holds the penalty.
    """

    def __init__(self, lr: float, beta_1: float, beta_2: float, epsilon: float, alpha: float) -> None:
        super().__init__(lr, betas=(beta_1, beta_2), eps=epsilon)
        self.alpha = float(alpha)
        self.l2 = 0.0
        self.squared_norm = 0.0

    @property
    def exact_in_one_call(self) -> bool:
        """Whether fastnn's one-call step computes this update exactly: always (the step adds the penalty)."""
        return True

    @property
    def sums_squares(self) -> bool:
        """Whether :meth:`update` sums the weights' squares into :attr:`squared_norm`: always."""
        return True

    def network_step_l2(self) -> float:
        """The coming batch's :attr:`l2`: the one-call step adds the penalty and its part of the loss."""
        return self.l2

    def constants_at(self, t: int) -> tuple[float, ...]:
        """(beta_1, beta_2, epsilon, 0, (1 - beta_1^t) / sqrt(1 - beta_2^t), 1) for step t."""
        b1, b2 = self.betas
        return b1, b2, self.eps, 0.0, (1 - b1 ** t) / math.sqrt(1 - b2 ** t), 1.0

    def update(self, key: StateKey, param: FloatArray, grad: FloatArray, lr: float) -> None:
        """One update of ``param`` in place (see :meth:`fastnn.optim.Optimizer.update`).

        With a penalty, a weight's update adds it in the same pass and adds
        the weight's sum of squares (before the update) to :attr:`squared_norm`.
        """
        if not (self.l2 and key[1] == "weight"):
            super().update(key, param, grad, lr)
            return
        m, v = self.moments(key, param)
        b1, b2, eps, _, bc1, bc2 = self.network_step_constants()
        self.squared_norm += _core.adam_l2_update(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1),
                                                  lr, b1, b2, eps, self.l2, bc1, bc2)

    def __repr__(self) -> str:
        return f"SklearnAdam(lr={self.lr}, betas={self.betas}, eps={self.eps}, alpha={self.alpha})"


class GradientCapture(Optimizer):
    """Keeps a copy of every gradient instead of updating: the step then computes loss and gradient only.

    Parameters
    ----------
    alpha : float
        The L2 penalty; :attr:`l2` is set per call.

    Attributes
    ----------
    grads : dict
        (layer index, "weight" or "bias") -> the last gradient (a copy).
    l2 : float
        ``alpha / n`` of the coming batch.
    """

    def __init__(self, alpha: float) -> None:
        super().__init__(0.0)
        self.alpha = float(alpha)
        self.l2 = 0.0
        self.grads: dict[StateKey, FloatArray] = {}

    @property
    def exact_in_one_call(self) -> bool:
        """Never: the one-call step updates the weights."""
        return False

    def update(self, key: StateKey, param: FloatArray, grad: FloatArray, lr: float) -> None:
        """Record ``grad`` (plus the penalty's gradient); ``param`` is left as it is."""
        add_l2(key, param, grad, self.l2)
        self.grads[key] = grad.copy()


class GradientStep(Adam):
    """Runs ``solver`` on fastnn's one-call step, through the gradients it leaves in the workspace.

    Adam at learning rate 0 (``beta_1 = beta_2 = 0``, ``eps = 1``: finite
    scratch moments) binds the one-call step; it updates nothing and leaves
    each layer's weight and bias gradients in the workspace's ``dW`` and
    ``db``, from which :meth:`finish_step` has ``solver`` update the
    parameters, layer by layer.  Should the engine take the per-layer path
    instead, :meth:`update` hands each gradient to ``solver`` as it comes.

    Parameters
    ----------
    solver : SklearnSGD, SklearnAdam or GradientCapture
        What updates the parameters (its ``l2`` is set by the estimator).
    """

    def __init__(self, solver: SklearnSGD | SklearnAdam | GradientCapture) -> None:
        super().__init__(0.0, betas=(0.0, 0.0), eps=1.0)
        self.solver = solver
        self.bound: tuple[Sequence[Dense], Workspace] | None = None
        self.updated = False  # this step went through update(): the per-layer path

    def constants_at(self, t: int) -> tuple[float, ...]:
        """Constants under which the scratch moments stay finite: (0, 0, 1, 0, 1, 1)."""
        return 0.0, 0.0, 1.0, 0.0, 1.0, 1.0

    def network_steps_plan(self, count: int, n_layers: int) -> tuple[Float64Array, Float64Array | None] | None:
        """None: :meth:`finish_step` has ``solver`` update the parameters after every step."""
        return None

    def bind_network_step(self, layers: Sequence[Dense], train: Sequence[bool], workspace: Workspace,
                          act_codes: Sequence[int]) -> _core.NetworkTrainStep | None:
        """Adam's one-call step over scratch moments, remembering the layers and workspace."""
        step = super().bind_network_step(layers, train, workspace, act_codes)
        self.bound = None if step is None else (list(layers), workspace)
        return step

    def update(self, key: StateKey, param: FloatArray, grad: FloatArray, lr: float) -> None:
        """The per-layer path: ``solver`` updates ``param`` from ``grad`` at its own rate."""
        self.updated = True
        self.solver.update(key, param, grad, self.solver.lr_for(key[0]))

    def finish_step(self) -> None:
        """After a one-call step, ``solver`` updates every parameter from the workspace's gradients."""
        if not self.updated and self.bound is not None:
            layers, workspace = self.bound
            for i, layer in enumerate(layers):
                dW = workspace.dW[i]
                assert dW is not None  # the one-call Adam step fills it
                lr = self.solver.lr_for(i)
                self.solver.update((i, "weight"), layer.weight, dW, lr)
                if layer.bias is not None:
                    self.solver.update((i, "bias"), layer.bias, workspace.db[i], lr)
        self.updated = False
        self.solver.finish_step()
        super().finish_step()
