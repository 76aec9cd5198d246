"""Optimizers and learning-rate schedules.

Each optimizer owns its update, its per-parameter state and, where it has
one, its one-call training step: :class:`SGD` (momentum, Nesterov, weight
decay; plain SGD fused into the backward GEMM) and :class:`Adam` (AdamW).
Schedules: :class:`StepLR`, :class:`CosineLR`, :class:`OneCycleLR`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .adam import Adam
from .base import Optimizer
from .schedules import CosineLR, OneCycleLR, Schedule, StepLR
from .sgd import SGD

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SGD", "Adam", "CosineLR", "OneCycleLR", "Optimizer", "Schedule", "StepLR", "get_optimizer"]

_BY_NAME: dict[str, Callable[[], Optimizer]] = {"sgd": SGD, "adam": Adam}


def get_optimizer(optimizer: str | Optimizer) -> Optimizer:
    """An optimizer from a name ("sgd", "adam": default settings) or an instance.

    Parameters
    ----------
    optimizer : str or Optimizer
        A name, or an optimizer object (returned as it is).

    Returns
    -------
    Optimizer
        The object given, or a new one with default settings.

    Raises
    ------
    TypeError
        For anything else than a name or an optimizer.
    ValueError
        For an unknown name.
    """
    if isinstance(optimizer, Optimizer):
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a fastnn optimizer (SGD, Adam) or one of 'sgd', 'adam'; "
                        f"got {type(optimizer).__name__}")
    if optimizer not in _BY_NAME:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected one of 'sgd', 'adam' or an optimizer object")
    return _BY_NAME[optimizer]()
