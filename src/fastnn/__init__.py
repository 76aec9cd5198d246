"""fastnn: fully connected neural networks on fused, multi-threaded C kernels.

Build a model from :class:`Dense` layers in a :class:`Sequential`, train it
with a :class:`Trainer`; the compiled kernels are in :mod:`fastnn.kernels`,
their NumPy reference in :mod:`fastnn.reference`.
"""

__version__ = "0.1.0"

from . import datasets, examples, kernels, reference  # noqa: E402
from ._runtime import (  # noqa: E402
    _check_environment,
    build_info,
    get_num_threads,
    set_num_threads,
    set_simd_path,
    simd_paths,
)
from .layers import Dense  # noqa: E402
from .losses import MSE, BinaryCrossEntropy, CrossEntropy, HalfSquaredError, Loss  # noqa: E402
from .model import ModelFileError, Sequential, load  # noqa: E402
from .perceptron import Perceptron  # noqa: E402
from .optimizers import SGD, Adam, CosineLR, OneCycleLR, StepLR  # noqa: E402
from .explain import explain  # noqa: E402
from .mnist import train_mnist  # noqa: E402
from .trainer import Callback, DivergenceError, EarlyStopping, History, Trainer  # noqa: E402
from .checkpoint import ModelCheckpoint, load_checkpoint  # noqa: E402

_check_environment()

__all__ = [
    "MSE",
    "SGD",
    "Adam",
    "BinaryCrossEntropy",
    "Callback",
    "CosineLR",
    "CrossEntropy",
    "Dense",
    "DivergenceError",
    "EarlyStopping",
    "HalfSquaredError",
    "History",
    "Loss",
    "ModelCheckpoint",
    "ModelFileError",
    "OneCycleLR",
    "Perceptron",
    "Sequential",
    "StepLR",
    "Trainer",
    "build_info",
    "explain",
    "get_num_threads",
    "datasets",
    "examples",
    "kernels",
    "load",
    "load_checkpoint",
    "reference",
    "set_num_threads",
    "set_simd_path",
    "simd_paths",
    "train_mnist",
]
