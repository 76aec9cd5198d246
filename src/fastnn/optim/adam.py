"""Adam, with decoupled weight decay (AdamW).

Its moments live in ``state`` as (m, v) pairs per parameter, created on
first use; the per-layer update and the one-call training step use the
same arrays and the same bias corrections (:meth:`Adam.network_step_constants`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _core
from .._validation import check_real
from .base import LayerLRs, Optimizer, StateKey
from .schedules import Schedule

if TYPE_CHECKING:
    from .._typing import Float64Array, FloatArray
    from ..nn.layers import Dense
    from ..training.engine import Workspace

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam with decoupled weight decay (AdamW when weight_decay > 0), as PyTorch's AdamW.

    The update::

        p ← p (1 − lr λ);  m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;
        p ← p − lr m̂ / (√v̂ + ε),  m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t).

    Parameters
    ----------
    lr : float, default 1e-3
        The learning rate (>= 0).
    betas : pair of float, default (0.9, 0.999)
        The decay rates β1 and β2, each in [0, 1).
    eps : float, default 1e-8
        The ε added to the denominator (> 0).
    weight_decay : float, default 0.0
        The decay λ, decoupled from the gradient.
    layer_lrs : dict or list, optional
        Per-layer learning rates (see :class:`fastnn.optim.Optimizer`).
    schedule : Schedule, optional
        A learning-rate schedule.

    Examples
    --------
    >>> import fastnn
    >>> fastnn.Adam(lr=3e-3, schedule=fastnn.OneCycleLR())
    Adam(lr=0.003, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0)
    """

    def __init__(self, lr: float = 1e-3, betas: Sequence[float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, layer_lrs: LayerLRs = None, schedule: Schedule | None = None) -> None:
        super().__init__(lr, weight_decay, layer_lrs, schedule)
        if isinstance(betas, (str, bytes)) or not isinstance(betas, (tuple, list)):
            raise TypeError(f"betas must be a pair (beta1, beta2), got {type(betas).__name__}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {len(betas)} value(s)")
        self.betas = tuple(check_real(f"betas[{i}]", b, 0.0, 1.0, max_open=True) for i, b in enumerate(betas))
        self.eps = check_real("eps", eps, minimum=0.0, min_open=True)

    def moments(self, key: StateKey, param: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The (m, v) moments of ``key``, created as zeros like ``param`` on first use.

        Parameters
        ----------
        key : tuple
            (layer index, "weight" or "bias").
        param : numpy.ndarray
            The parameter they belong to.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            The live first and second moment arrays.
        """
        st: tuple[FloatArray, FloatArray] | None = self.state.get(key)
        if st is None:
            st = self.state[key] = (np.zeros_like(param), np.zeros_like(param))
        return st

    def network_step_constants(self) -> tuple[float, ...]:
        """The constants (β1, β2, ε, λ, 1 − β1^t, 1 − β2^t) of the next step t."""
        return self.constants_at(self.step_count + 1)

    def constants_at(self, t: int) -> tuple[float, ...]:
        """The constants (β1, β2, ε, λ, 1 − β1^t, 1 − β2^t) of step t (1-based).

        Parameters
        ----------
        t : int
            The step.

        Returns
        -------
        tuple of float
            What the one-call step and :meth:`update` take.
        """
        b1, b2 = self.betas
        return b1, b2, self.eps, self.weight_decay, 1 - b1 ** t, 1 - b2 ** t

    def network_steps_plan(self, count: int, n_layers: int) -> tuple[Float64Array, Float64Array | None] | None:
        """The next ``count`` steps' learning rates and constants (see :meth:`Optimizer.network_steps_plan`)."""
        t = self.step_count + 1
        consts = np.array([self.constants_at(t + j) for j in range(count)], dtype=np.float64)
        return self.planned_learning_rates(count, n_layers), consts.reshape(count, 6)

    def update(self, key: StateKey, param: FloatArray, grad: FloatArray, lr: float) -> None:
        """One Adam update of ``param`` in place (see :meth:`Optimizer.update`)."""
        m, v = self.moments(key, param)
        b1, b2, eps, wd, bc1, bc2 = self.network_step_constants()
        _core.adam_update(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1), lr, b1, b2,
                          eps, wd, bc1, bc2)

    def _usable_moments(self, key: StateKey, param: FloatArray | None) -> tuple[FloatArray, FloatArray] | None:
        """The moments of ``key`` if the C step can use them in place (same dtype and shape as ``param``.

        C-contiguous), else None.
        """
        if param is None:
            return None
        st = self.moments(key, param)
        if any(a.dtype != param.dtype or a.shape != param.shape or not a.flags.c_contiguous for a in st):
            return None
        return st

    def bind_network_step(self, layers: Sequence[Dense], train: Sequence[bool], workspace: Workspace,
                          act_codes: Sequence[int]) -> _core.NetworkTrainStep | None:
        """Bind Adam's one-call step over its moments.

        None when a moment array cannot be used in place (e.g. restored with another dtype).
        """
        moments: list[Any] = []
        for i, layer in enumerate(layers):
            if not train[i]:
                moments.append(None)
                continue
            if workspace.dW[i] is None:
                return None
            sw = self._usable_moments((i, "weight"), layer.weight)
            sb = self._usable_moments((i, "bias"), layer.bias)
            if sw is None or (layer.bias is not None and sb is None):
                return None
            moments.append((sw[0], sw[1], None if sb is None else sb[0], None if sb is None else sb[1], sw, sb))
        return _core.NetworkTrainStep(layers, train, workspace, act_codes, moments, self.state)

    def network_step_matches(self, step: _core.NetworkTrainStep, layers: list[Dense], workspace: Workspace) -> bool:
        """Whether ``step`` is still bound to these layers, workspace and moments."""
        return bool(step.matches(layers, workspace, self.state))

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"
