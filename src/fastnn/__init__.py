"""Fully connected neural networks on fused, multi-threaded C kernels: fastnn.

Build a model from :class:`Dense` layers in a :class:`Sequential`, train it
with a :class:`Trainer`; the compiled kernels are in :mod:`fastnn.kernels`,
their NumPy reference in :mod:`fastnn.reference`.

The package, by concern: :mod:`fastnn.nn` (activations, layers, losses,
the model), :mod:`fastnn.optim` (optimizers, schedules),
:mod:`fastnn.training` (trainer, callbacks, checkpoints), :mod:`fastnn.io`
(file formats), :mod:`fastnn.datasets` (MNIST and its preparation),
:mod:`fastnn.course` (the lecture notes' companion), :mod:`fastnn.plots`.
The modules marked lazy below are imported on first use, so that
``import fastnn`` stays quick and loads neither them nor ``urllib``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._paths import get_cmake_dir, get_include
from ._runtime import build_info, check_environment, get_num_threads, set_num_threads, set_simd_path, simd_paths
from ._version import __version__ as __version__
from .io import ModelFileError
from .nn import MSE, BinaryCrossEntropy, CrossEntropy, Dense, HalfSquaredError, Loss, Sequential, load
from .optim import SGD, Adam, CosineLR, OneCycleLR, StepLR
from .training import (
    Callback,
    CSVLogger,
    DivergenceError,
    EarlyStopping,
    History,
    ModelCheckpoint,
    Trainer,
    load_checkpoint,
)

if TYPE_CHECKING:  # the lazy names of _LAZY, as type checkers see them (never imported here)
    from . import datasets, kernels, plots, reference
    from . import sklearn as sklearn
    from .course import examples
    from .course.explain import explain
    from .course.mnist import train_mnist
    from .course.perceptron import Perceptron
    from .nn.metrics import confusion_matrix
    from .plots import plot_confusion_matrix

check_environment()

# name -> (module, attribute or None for the module itself): imported on first use
_LAZY = {
    "datasets": ("fastnn.datasets", None),
    "examples": ("fastnn.course.examples", None),
    "kernels": ("fastnn.kernels", None),
    "reference": ("fastnn.reference", None),
    "plots": ("fastnn.plots", None),
    "explain": ("fastnn.course.explain", "explain"),
    "Perceptron": ("fastnn.course.perceptron", "Perceptron"),
    "train_mnist": ("fastnn.course.mnist", "train_mnist"),
    "plot_confusion_matrix": ("fastnn.plots", "plot_confusion_matrix"),
    "confusion_matrix": ("fastnn.nn.metrics", "confusion_matrix"),
    # models from elsewhere: these modules import onnx, torch or sklearn only when called
    "from_onnx": ("fastnn.io.onnx_import", "from_onnx"),
    "from_torch": ("fastnn.io.torch_import", "from_torch"),
    "from_sklearn": ("fastnn.io.sklearn_import", "from_sklearn"),
    # scikit-learn's estimators trained by fastnn; needs scikit-learn, so not in __all__ (import *)
    "sklearn": ("fastnn.sklearn", None),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'fastnn' has no attribute {name!r}") from None
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "MSE",
    "SGD",
    "Adam",
    "BinaryCrossEntropy",
    "CSVLogger",
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
    "confusion_matrix",
    "datasets",
    "examples",
    "explain",
    "from_onnx",
    "from_sklearn",
    "from_torch",
    "get_cmake_dir",
    "get_include",
    "get_num_threads",
    "kernels",
    "load",
    "load_checkpoint",
    "plot_confusion_matrix",
    "plots",
    "reference",
    "set_num_threads",
    "set_simd_path",
    "simd_paths",
    "train_mnist",
]
