"""fastnn: fully connected neural networks on fused C/OpenMP kernels.

The compiled kernels are in :mod:`fastnn.kernels`, their NumPy reference in
:mod:`fastnn.reference`.
"""

__version__ = "0.1.0"

from . import kernels, reference  # noqa: E402
from ._runtime import (  # noqa: E402
    _check_environment,
    build_info,
    get_num_threads,
    set_num_threads,
    set_simd_path,
    simd_paths,
)

_check_environment()

__all__ = [
    "build_info",
    "get_num_threads",
    "kernels",
    "reference",
    "set_num_threads",
    "set_simd_path",
    "simd_paths",
]
