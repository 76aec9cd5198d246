"""Type aliases of fastnn's annotations.

The modules import them under ``if TYPE_CHECKING:`` only (their
annotations are never evaluated: ``from __future__ import annotations``),
so ``import fastnn`` never imports this module or ``numpy.typing``.  The
aliases are written so that they also evaluate on Python 3.9.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike, DTypeLike

__all__ = ["ArrayLike", "DTypeLike", "Float64Array", "FloatArray", "IntArray", "LabelArray"]

#: A float32 or float64 array (parameters, activations, outputs).
FloatArray = npt.NDArray[np.floating[Any]]
#: A float64 array (constants planned for several training steps).
Float64Array = npt.NDArray[np.float64]
#: An array of integers (class labels, sample indices, counts).
IntArray = npt.NDArray[np.integer[Any]]
#: What :meth:`fastnn.Sequential.predict` returns: integer class labels for a
#: classifier, the float output itself for a regressor.
LabelArray = npt.NDArray[Union[np.integer[Any], np.floating[Any]]]
