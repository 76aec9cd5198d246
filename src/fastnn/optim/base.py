"""The optimizer base class.

Learning rates (per layer, scheduled), the per-parameter state, and the hooks of the one-call
training step.

An optimizer updates parameter arrays in place, one at a time
(:meth:`Optimizer.update`, the per-layer path), and may also offer a
whole-network step in one C call (:meth:`Optimizer.bind_network_step`):
SGD (plain or with momentum) and Adam do (:mod:`fastnn.optim.sgd`, :mod:`fastnn.optim.adam`),
each computing its own constants for it.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .._validation import check_instance, check_int, check_real
from .schedules import Schedule

if TYPE_CHECKING:
    from .._core import NetworkTrainStep
    from .._typing import Float64Array, FloatArray
    from ..nn.layers import Dense
    from ..training.engine import Workspace

__all__ = ["Optimizer"]

StateKey = tuple[int, str]  # (layer index, "weight" or "bias")
#: Per-layer learning rates as the optimizers take them: {layer: lr}, or a list (None keeps ``lr``).
LayerLRs = Union[Mapping[int, float], Sequence[Union[float, None]], None]


def _layer_lrs(layer_lrs: Any) -> dict[int, float]:
    """``layer_lrs`` as {layer index: rate}, from a dict or a list (None entries skipped)."""
    if layer_lrs is None:
        return {}
    if isinstance(layer_lrs, (str, bytes)) or not isinstance(layer_lrs, (dict, list, tuple)):
        raise TypeError(f"layer_lrs must be a dict {{layer: lr}} or a list, got {type(layer_lrs).__name__}")
    if not isinstance(layer_lrs, dict):
        layer_lrs = {i: v for i, v in enumerate(layer_lrs) if v is not None}
    return {check_int("layer_lrs keys (layer indices)", i, minimum=0): check_real(f"layer_lrs[{i}]", v, minimum=0.0)
            for i, v in layer_lrs.items()}


class Optimizer:
    """Base class: learning rates (per layer, scheduled) and per-parameter state.

    Parameters
    ----------
    lr : float
        The base learning rate (>= 0).
    weight_decay : float, default 0.0
        L2 penalty (SGD) or decoupled decay (Adam), >= 0.
    layer_lrs : dict or list, optional
        Per-layer learning rates replacing ``lr``: ``{1: 0.5}`` or
        ``[1.0, 0.5]`` (None entries keep ``lr``).
    schedule : Schedule, optional
        A factor on every layer's rate as a function of the step.

    Attributes
    ----------
    step_count : int
        Optimizer steps taken (the schedules depend on it).
    state : dict
        Per-parameter state (momentum buffers, Adam's moments), keyed
        (layer index, "weight" or "bias").
    """

    def __init__(self, lr: float, weight_decay: float = 0.0, layer_lrs: LayerLRs = None,
                 schedule: Schedule | None = None) -> None:
        self.lr = check_real("lr", lr, minimum=0.0)
        self.weight_decay = check_real("weight_decay", weight_decay, minimum=0.0)
        self.layer_lrs = _layer_lrs(layer_lrs)
        if schedule is not None:
            check_instance("schedule", schedule, Schedule, "a fastnn Schedule (StepLR, CosineLR, OneCycleLR)")
        self.schedule = schedule
        self.step_count = 0  # optimizer steps taken
        self.total_steps: int | None = None  # the run's length, for schedules that need it
        self.steps_per_epoch: int | None = None
        self.state: dict[StateKey, Any] = {}

    # ---- learning rates ---------------------------------------------------------

    def set_run_length(self, total_steps: int | None, steps_per_epoch: int | None) -> None:
        """Tell the schedule how long the run is (:meth:`fastnn.Trainer.fit` does).

        Parameters
        ----------
        total_steps : int or None
            The step count the run ends at.
        steps_per_epoch : int or None
            Steps in one epoch.
        """
        self.total_steps = total_steps
        self.steps_per_epoch = steps_per_epoch

    def current_factor(self) -> float:
        """The schedule's factor at the current step: :meth:`factor_at` of ``step_count``.

        Returns
        -------
        float
            The factor on every layer's rate now.
        """
        return self.factor_at(self.step_count)

    def factor_at(self, step: int) -> float:
        """The schedule's factor at step ``step`` (0-based; 1 without a schedule).

        Parameters
        ----------
        step : int
            Steps taken before it.

        Returns
        -------
        float
            The factor on every layer's rate.

        Raises
        ------
        ValueError
            For a schedule that needs the run's length before it is known.
        """
        if self.schedule is None:
            return 1.0
        if self.schedule.needs_total and not self.total_steps:
            raise ValueError(f"{self.schedule!r} needs the run's length: train with Trainer.fit, "
                             "or call optimizer.set_run_length")
        return self.schedule.factor(step, self.total_steps, self.steps_per_epoch)

    def lr_for(self, layer_index: int) -> float:
        """The learning rate of a layer at the current step.

        Parameters
        ----------
        layer_index : int
            The layer's position in the model.

        Returns
        -------
        float
            Its base (or per-layer) rate times the schedule's factor.
        """
        return self.layer_lrs.get(layer_index, self.lr) * self.current_factor()

    def learning_rates(self, n_layers: int) -> list[float]:
        """Every layer's learning rate at the current step.

        Parameters
        ----------
        n_layers : int
            The model's layer count.

        Returns
        -------
        list of float
            One rate per layer.
        """
        factor = self.current_factor()
        return [self.layer_lrs.get(i, self.lr) * factor for i in range(n_layers)]

    def planned_learning_rates(self, count: int, n_layers: int) -> Float64Array:
        """Every layer's learning rate at each of the next ``count`` steps.

        Parameters
        ----------
        count : int
            The steps.
        n_layers : int
            The model's layer count.

        Returns
        -------
        numpy.ndarray
            (count, n_layers) float64: row j is :meth:`learning_rates` once
            j more steps have finished.
        """
        base = np.array([self.layer_lrs.get(i, self.lr) for i in range(n_layers)])
        factors = np.array([self.factor_at(self.step_count + j) for j in range(count)])
        rates: Float64Array = factors[:, None] * base[None, :]
        return rates

    # ---- updates ------------------------------------------------------------------

    @property
    def fusable(self) -> bool:
        """Whether the update is plain SGD, fused into the weight-gradient GEMM (dW never stored)."""
        return False

    def update(self, key: StateKey, param: FloatArray, grad: FloatArray, lr: float) -> None:
        """Update ``param`` in place from ``grad`` at learning rate ``lr``.

        Parameters
        ----------
        key : tuple
            Names the parameter's state: (layer index, "weight" or "bias").
        param : numpy.ndarray
            The parameter, C-contiguous, updated in place.
        grad : numpy.ndarray
            Its gradient, like ``param``.
        lr : float
            The learning rate of this step.
        """
        raise NotImplementedError

    def finish_step(self) -> None:
        """Count a finished step (called once per step, after every update)."""
        self.step_count += 1

    def finish_steps(self, count: int) -> None:
        """Count ``count`` one-call steps run from one :meth:`network_steps_plan`.

        Parameters
        ----------
        count : int
            The steps that updated the network.
        """
        self.step_count += count

    # ---- the one-call training step -----------------------------------------------

    def bind_network_step(self, layers: Sequence[Dense], train: Sequence[bool], workspace: Workspace,
                          act_codes: Sequence[int]) -> NetworkTrainStep | None:
        """Bind the whole network for a training step in one C call, if this optimizer has one.

        Without one (None) the trainer updates layer by layer with :meth:`update`.

        Parameters
        ----------
        layers : sequence of Dense
            The model's layers.
        train : sequence of bool
            Whether each layer's parameters learn.
        workspace : fastnn.training.engine.Workspace
            The step's buffers.
        act_codes : sequence of int
            The epilogue activation code of each layer (the last one's
            identity: the loss applies softmax).

        Returns
        -------
        fastnn._core.NetworkTrainStep or None
            The bound step; None here (the per-layer path).
        """
        return None

    def network_step_matches(self, step: NetworkTrainStep, layers: list[Dense], workspace: Workspace) -> bool:
        """Whether a step from :meth:`bind_network_step` still fits the layers, workspace and state.

        Parameters
        ----------
        step : fastnn._core.NetworkTrainStep
            The bound step.
        layers : list of Dense
            The model's layers now.
        workspace : fastnn.training.engine.Workspace
            The step's buffers now.

        Returns
        -------
        bool
            True when the step can run as bound.
        """
        return bool(step.matches(layers, workspace, None))

    def network_step_constants(self) -> tuple[float, ...] | None:
        """The constants of the next one-call step beyond the learning rates.

        Returns
        -------
        tuple of float or None
            Adam's betas, eps, decay and bias corrections; momentum SGD's momentum,
            Nesterov flag (0 or 1), weight decay and convention (0: PyTorch's,
            1: scikit-learn's); None for plain SGD.
        """
        return None

    def network_steps_plan(self, count: int, n_layers: int) -> tuple[Float64Array, Float64Array | None] | None:
        """The constants of the next ``count`` one-call steps, for running them in one call.

        The bound step's ``run_steps`` takes them, and :meth:`finish_steps`
        then counts the steps run.  Only an optimizer whose
        :meth:`finish_step` does nothing but count may offer this.

        Parameters
        ----------
        count : int
            The steps.
        n_layers : int
            The model's layer count.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray or None) or None
            Each step's learning rates (count, n_layers) and its other
            constants (count, k) as :meth:`network_step_constants` gives
            them (None when it gives none); None here: the steps run one at
            a time.
        """
        return None

    def network_step_l2(self) -> float:
        """The coupled L2 penalty of the next one-call step (Adam only).

        The step adds ``l2 * W`` to each learning weight's gradient (not the
        biases') and ``l2 / 2`` times the sum of those weights' squares to
        the loss it returns.

        Returns
        -------
        float
            The penalty's factor; 0.0 (none) here.
        """
        return 0.0

    # ---- state ----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the per-parameter state and the step count."""
        self.state.clear()
        self.step_count = 0

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's progress, to resume training.

        Returns
        -------
        dict
            {"type": class name, "step_count": int, "state": {"layer.parameter":
            array, or tuple of arrays (Adam: (m, v))}}; copies.
            Hyperparameters are not part of it: they belong to the optimizer object.
        """
        state = {}
        for (i, name), value in self.state.items():
            key = f"{i}.{name}"
            state[key] = tuple(a.copy() for a in value) if isinstance(value, tuple) else value.copy()
        return {"type": type(self).__name__, "step_count": self.step_count, "state": state}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (for this optimizer type).

        Everything is checked before anything is set.

        Parameters
        ----------
        state : dict
            From :meth:`state_dict`.

        Raises
        ------
        ValueError
            For the state of another optimizer type, an invalid step count or
            key, or arrays that are not finite floats.
        """
        kind = state.get("type") if isinstance(state, dict) else None
        if kind != type(self).__name__:
            raise ValueError(f"optimizer state is for {kind!r}, not {type(self).__name__}")
        step_count = state.get("step_count")
        if isinstance(step_count, bool) or not isinstance(step_count, numbers.Integral) or step_count < 0:
            raise ValueError(f"optimizer state has an invalid step_count {step_count!r}")
        new = {_state_key(key): _state_value(key, value) for key, value in state.get("state", {}).items()}
        self.state = new
        self.step_count = int(step_count)


def _state_key(key: Any) -> StateKey:
    i, _, name = str(key).partition(".")
    if not i.isdigit() or not name:
        raise ValueError(f"optimizer state has an invalid key {key!r}")
    return int(i), name


def _state_value(key: Any, value: Any) -> Any:
    """An owned, C-contiguous copy of a state array (or tuple of them), checked."""
    arrays = value if isinstance(value, tuple) else (value,)
    copies = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind != "f":
            raise ValueError(f"optimizer state {key!r} has dtype {a.dtype}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"optimizer state {key!r} contains NaN or infinity")
        copies.append(np.array(a, order="C"))  # owned and contiguous: updated in place
    return tuple(copies) if isinstance(value, tuple) else copies[0]
