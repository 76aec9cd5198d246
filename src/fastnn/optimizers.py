"""Optimizers (SGD with momentum / Nesterov, Adam/AdamW) and learning-rate
schedules.

An optimizer updates parameter arrays in place.  Learning rates can differ
per layer (``layer_lrs``), and a schedule scales every layer's rate by a
factor that depends on the step.  Plain SGD (no momentum, no weight decay)
needs no state, so the trainer fuses its update into the weight-gradient
GEMM (``dense_backward_sgd``): dW is never stored.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import _core

__all__ = ["SGD", "Adam", "Optimizer", "StepLR", "CosineLR", "OneCycleLR", "Schedule"]


def _positive(name, v, allow_zero=False):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {v}")
    return float(v)


# ---- schedules ------------------------------------------------------------------

class Schedule:
    """A learning-rate factor as a function of the step (0-based).  Schedules
    that need the run's length get it from the trainer (``total_steps``)."""

    needs_total = False

    def factor(self, step, total_steps, steps_per_epoch):
        raise NotImplementedError


class StepLR(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, step_size, gamma=0.1):
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) or step_size < 1:
            raise ValueError(f"step_size must be an int >= 1 (epochs), got {step_size!r}")
        self.step_size = int(step_size)
        self.gamma = _positive("gamma", gamma)

    def factor(self, step, total_steps, steps_per_epoch):
        epoch = step // max(1, steps_per_epoch or 1)
        return self.gamma ** (epoch // self.step_size)

    def __repr__(self):
        return f"StepLR(step_size={self.step_size}, gamma={self.gamma})"


class CosineLR(Schedule):
    """Cosine decay from 1 to ``min_factor`` over the run, after an optional
    linear warm-up of ``warmup`` steps."""

    needs_total = True

    def __init__(self, min_factor=0.0, warmup=0):
        self.min_factor = _positive("min_factor", min_factor, allow_zero=True)
        if isinstance(warmup, bool) or not isinstance(warmup, numbers.Integral) or warmup < 0:
            raise ValueError(f"warmup must be an int >= 0, got {warmup!r}")
        self.warmup = int(warmup)

    def factor(self, step, total_steps, steps_per_epoch):
        if step < self.warmup:
            return (step + 1) / self.warmup
        span = max(1, total_steps - 1 - self.warmup)  # the last step reaches min_factor
        t = min(1.0, (step - self.warmup) / span)
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * t))

    def __repr__(self):
        return f"CosineLR(min_factor={self.min_factor}, warmup={self.warmup})"


class OneCycleLR(Schedule):
    """The one-cycle policy: rise from 1/div_factor to 1 over the first
    ``pct_start`` of the run, then anneal (cosine) to
    1/(div_factor * final_div_factor)."""

    needs_total = True

    def __init__(self, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        self.pct_start = _positive("pct_start", pct_start)
        if self.pct_start >= 1:
            raise ValueError(f"pct_start must be in (0, 1), got {pct_start}")
        self.div_factor = _positive("div_factor", div_factor)
        self.final_div_factor = _positive("final_div_factor", final_div_factor)

    def factor(self, step, total_steps, steps_per_epoch):
        start = 1.0 / self.div_factor
        end = start / self.final_div_factor
        peak_step = max(1.0, self.pct_start * total_steps - 1)
        if step <= peak_step:
            t = step / peak_step
            return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * t))
        t = min(1.0, (step - peak_step) / max(1.0, total_steps - 1 - peak_step))
        return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * t))

    def __repr__(self):
        return (f"OneCycleLR(pct_start={self.pct_start}, div_factor={self.div_factor}, "
                f"final_div_factor={self.final_div_factor})")


# ---- optimizers -------------------------------------------------------------------

class Optimizer:
    """Base class: learning rates (per layer, scheduled) and per-parameter state."""

    def __init__(self, lr, weight_decay=0.0, layer_lrs=None, schedule=None):
        self.lr = _positive("lr", lr, allow_zero=True)
        self.weight_decay = _positive("weight_decay", weight_decay, allow_zero=True)
        if layer_lrs is None:
            layer_lrs = {}
        elif isinstance(layer_lrs, (str, bytes)) or not isinstance(layer_lrs, (dict, list, tuple)):
            raise TypeError(f"layer_lrs must be a dict {{layer: lr}} or a list, got {type(layer_lrs).__name__}")
        elif not isinstance(layer_lrs, dict):
            layer_lrs = {i: v for i, v in enumerate(layer_lrs) if v is not None}
        for i in layer_lrs:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral) or i < 0:
                raise ValueError(f"layer_lrs keys must be layer indices (ints >= 0), got {i!r}")
        self.layer_lrs = {int(i): _positive(f"layer_lrs[{i}]", v, allow_zero=True) for i, v in layer_lrs.items()}
        if schedule is not None and not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a fastnn Schedule, got {type(schedule).__name__}")
        self.schedule = schedule
        self.step_count = 0  # optimizer steps taken
        self.total_steps = None  # set by Trainer.fit for schedules that need it
        self.steps_per_epoch = None
        self.state = {}

    @property
    def fusable(self):
        """True when the update is plain SGD, fused into the gradient GEMM."""
        return False

    def current_factor(self):
        if self.schedule is None:
            return 1.0
        if self.schedule.needs_total and not self.total_steps:
            raise ValueError(f"{self.schedule!r} needs the run's length: train with Trainer.fit, "
                             "or set optimizer.total_steps")
        return self.schedule.factor(self.step_count, self.total_steps, self.steps_per_epoch)

    def lr_for(self, layer_index):
        """The learning rate of a layer at the current step."""
        base = self.layer_lrs.get(layer_index, self.lr)
        return base * self.current_factor()

    def update(self, key, param, grad, lr):
        """Update ``param`` in place from ``grad`` at learning rate ``lr``;
        ``key`` names the parameter's state."""
        raise NotImplementedError

    def finish_step(self):
        self.step_count += 1

    def reset(self):
        self.state.clear()
        self.step_count = 0

    def state_dict(self):
        """The optimizer's progress, to resume training: its type, the step
        count (which the schedules depend on) and a copy of every
        per-parameter state array (momentum buffers, Adam's moments), keyed
        "layer.parameter" like :meth:`Sequential.state_dict`; a value is an
        array, or a tuple of arrays (Adam: (m, v)).  Hyperparameters are not
        part of it: they belong to the optimizer object."""
        state = {}
        for (i, name), value in self.state.items():
            key = f"{i}.{name}"
            state[key] = tuple(a.copy() for a in value) if isinstance(value, tuple) else value.copy()
        return {"type": type(self).__name__, "step_count": self.step_count, "state": state}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned (for this optimizer type).
        Everything is checked before anything is set."""
        kind = state.get("type") if isinstance(state, dict) else None
        if kind != type(self).__name__:
            raise ValueError(f"optimizer state is for {kind!r}, not {type(self).__name__}")
        step_count = state.get("step_count")
        if isinstance(step_count, bool) or not isinstance(step_count, numbers.Integral) or step_count < 0:
            raise ValueError(f"optimizer state has an invalid step_count {step_count!r}")
        new = {}
        for key, value in state.get("state", {}).items():
            i, _, name = str(key).partition(".")
            if not i.isdigit() or not name:
                raise ValueError(f"optimizer state has an invalid key {key!r}")
            arrays = value if isinstance(value, tuple) else (value,)
            copies = []
            for a in arrays:
                a = np.asarray(a)
                if a.dtype.kind != "f":
                    raise ValueError(f"optimizer state {key!r} has dtype {a.dtype}")
                if not np.all(np.isfinite(a)):
                    raise ValueError(f"optimizer state {key!r} contains NaN or infinity")
                copies.append(np.array(a, order="C"))  # owned and contiguous: updated in place
            new[(int(i), name)] = tuple(copies) if isinstance(value, tuple) else copies[0]
        self.state = new
        self.step_count = int(step_count)


class SGD(Optimizer):
    """Stochastic gradient descent, as in PyTorch: with weight decay λ,
    momentum μ and Nesterov,

        g ← g + λ p;   v ← μ v + g;   p ← p − lr (g + μ v if nesterov else v).

    With μ = λ = 0 it is the notes' rule p ← p − lr g.
    """

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, layer_lrs=None, schedule=None):
        super().__init__(lr, weight_decay, layer_lrs, schedule)
        self.momentum = _positive("momentum", momentum, allow_zero=True)
        if self.momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")

    @property
    def fusable(self):
        return self.momentum == 0 and self.weight_decay == 0

    def update(self, key, param, grad, lr):
        if not self.momentum:  # plain SGD (with weight decay: fusable is False)
            if self.weight_decay:
                _core.sgd_momentum_update(param.reshape(-1), grad.reshape(-1), self._zeros(key, param),
                                          lr, 0.0, False, self.weight_decay)
            else:
                _core.sgd_update(param.reshape(-1), grad.reshape(-1), lr)
            return
        v = self.state.get(key)
        if v is None:
            v = self.state[key] = np.zeros_like(param)
        _core.sgd_momentum_update(param.reshape(-1), grad.reshape(-1), v.reshape(-1), lr, self.momentum,
                                  self.nesterov, self.weight_decay)

    def _zeros(self, key, param):
        z = self.state.get(key)
        if z is None:
            z = self.state[key] = np.zeros(param.size, dtype=param.dtype)
        return z

    def __repr__(self):
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
                f"weight_decay={self.weight_decay})")


class Adam(Optimizer):
    """Adam with decoupled weight decay (AdamW when weight_decay > 0), as in
    PyTorch's AdamW:

        p ← p (1 − lr λ);  m ← β1 m + (1 − β1) g;  v ← β2 v + (1 − β2) g²;
        p ← p − lr m̂ / (√v̂ + ε),  m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t).
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, layer_lrs=None, schedule=None):
        super().__init__(lr, weight_decay, layer_lrs, schedule)
        if isinstance(betas, (str, bytes)) or not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(_positive(f"betas[{i}]", b, allow_zero=True) for i, b in enumerate(betas))
        if not all(b < 1 for b in self.betas):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        self.eps = _positive("eps", eps)

    def update(self, key, param, grad, lr):
        b1, b2 = self.betas
        st = self.state.get(key)
        if st is None:
            st = self.state[key] = (np.zeros_like(param), np.zeros_like(param))
        m, v = st
        t = self.step_count + 1
        _core.adam_update(param.reshape(-1), grad.reshape(-1), m.reshape(-1), v.reshape(-1), lr, b1, b2,
                          self.eps, self.weight_decay, 1 - b1 ** t, 1 - b2 ** t)

    def __repr__(self):
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"
