"""Training: the :class:`Trainer`, its step engine, callbacks and checkpoints.

>>> from fastnn.training import Trainer, EarlyStopping, ModelCheckpoint
"""

from .callbacks import Callback, CallbackList, CSVLogger, EarlyStopping, ProgressBar
from .checkpoint import Checkpoint, ModelCheckpoint, load_checkpoint
from .engine import TrainingEngine, Workspace
from .history import History
from .state import FitState
from .trainer import DivergenceError, Trainer

__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "Checkpoint",
    "DivergenceError",
    "EarlyStopping",
    "FitState",
    "History",
    "ModelCheckpoint",
    "ProgressBar",
    "Trainer",
    "TrainingEngine",
    "Workspace",
    "load_checkpoint",
]
