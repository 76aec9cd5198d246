"""Learning-rate schedules: a factor on every layer's rate, as a function of the optimizer's step count.

Schedules that need the run's length (:class:`CosineLR`,
:class:`OneCycleLR`) get it from :class:`fastnn.Trainer`'s ``fit``, which
calls :meth:`fastnn.optim.Optimizer.set_run_length`.
"""

from __future__ import annotations

import math

from .._validation import check_int, check_real

__all__ = ["CosineLR", "OneCycleLR", "Schedule", "StepLR"]


class Schedule:
    """A learning-rate factor as a function of the step (0-based).

    Subclasses set ``needs_total`` when they need the run's length and
    implement :meth:`factor`.
    """

    needs_total = False

    def factor(self, step: int, total_steps: int | None, steps_per_epoch: int | None) -> float:
        """The factor at ``step``.

        Parameters
        ----------
        step : int
            Optimizer steps taken so far.
        total_steps : int or None
            The run's length in steps (None when unknown).
        steps_per_epoch : int or None
            Steps per epoch (None when unknown).

        Returns
        -------
        float
            The factor on the learning rates.
        """
        raise NotImplementedError


class StepLR(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs.

    Parameters
    ----------
    step_size : int
        Epochs between decays (>= 1).
    gamma : float, default 0.1
        The factor applied at each decay (> 0).
    """

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = check_int("step_size", step_size, minimum=1)
        self.gamma = check_real("gamma", gamma, minimum=0.0, min_open=True)

    def factor(self, step: int, total_steps: int | None, steps_per_epoch: int | None) -> float:
        """``gamma ** (epoch // step_size)``."""
        epoch = step // max(1, steps_per_epoch or 1)
        return self.gamma ** (epoch // self.step_size)

    def __repr__(self) -> str:
        return f"StepLR(step_size={self.step_size}, gamma={self.gamma})"


class CosineLR(Schedule):
    """Cosine decay from 1 to ``min_factor`` over the run, after an optional linear warm-up.

    Parameters
    ----------
    min_factor : float, default 0.0
        The factor at the last step (>= 0).
    warmup : int, default 0
        Steps of linear warm-up from 1/warmup to 1.
    """

    needs_total = True

    def __init__(self, min_factor: float = 0.0, warmup: int = 0) -> None:
        self.min_factor = check_real("min_factor", min_factor, minimum=0.0)
        self.warmup = check_int("warmup", warmup, minimum=0)

    def factor(self, step: int, total_steps: int | None, steps_per_epoch: int | None) -> float:
        """The warm-up ramp, then the cosine from 1 to ``min_factor``."""
        if step < self.warmup:
            return (step + 1) / self.warmup
        span = max(1, (total_steps or 1) - 1 - self.warmup)  # the last step reaches min_factor
        t = min(1.0, (step - self.warmup) / span)
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * t))

    def __repr__(self) -> str:
        return f"CosineLR(min_factor={self.min_factor}, warmup={self.warmup})"


class OneCycleLR(Schedule):
    """The one-cycle policy: a cosine rise to the peak rate, then a cosine fall.

    The factor rises from 1/div_factor to 1 over the first ``pct_start`` of
    the run, then anneals to 1/(div_factor * final_div_factor).

    Parameters
    ----------
    pct_start : float, default 0.3
        The fraction of the run spent rising, in (0, 1).
    div_factor : float, default 25.0
        The starting factor is 1/div_factor.
    final_div_factor : float, default 1e4
        The final factor is 1/(div_factor * final_div_factor).
    """

    needs_total = True

    def __init__(self, pct_start: float = 0.3, div_factor: float = 25.0, final_div_factor: float = 1e4) -> None:
        self.pct_start = check_real("pct_start", pct_start, 0.0, 1.0, min_open=True, max_open=True)
        self.div_factor = check_real("div_factor", div_factor, minimum=0.0, min_open=True)
        self.final_div_factor = check_real("final_div_factor", final_div_factor, minimum=0.0, min_open=True)

    def factor(self, step: int, total_steps: int | None, steps_per_epoch: int | None) -> float:
        """The cosine rise to 1, then the cosine fall to the final factor."""
        total = total_steps or 1
        start = 1.0 / self.div_factor
        end = start / self.final_div_factor
        peak_step = max(1.0, self.pct_start * total - 1)
        if step <= peak_step:
            t = step / peak_step
            return start + (1 - start) * 0.5 * (1 - math.cos(math.pi * t))
        t = min(1.0, (step - peak_step) / max(1.0, total - 1 - peak_step))
        return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * t))

    def __repr__(self) -> str:
        return (f"OneCycleLR(pct_start={self.pct_start}, div_factor={self.div_factor}, "
                f"final_div_factor={self.final_div_factor})")
