"""Networks: activations, the Dense layer, losses and the Sequential model.

>>> from fastnn.nn import Dense, Sequential
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .layers import Dense
from .losses import MSE, BinaryCrossEntropy, CrossEntropy, HalfSquaredError, Loss, get_loss
from .metrics import accuracy, confusion_matrix
from .sequential import Sequential, load

__all__ = [
    "ACTIVATIONS",
    "MSE",
    "Activation",
    "BinaryCrossEntropy",
    "CrossEntropy",
    "Dense",
    "HalfSquaredError",
    "Loss",
    "Sequential",
    "accuracy",
    "confusion_matrix",
    "get_activation",
    "get_loss",
    "load",
]
