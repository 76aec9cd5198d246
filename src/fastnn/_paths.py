"""Where an installed fastnn keeps what other packages build against.

``fastnn.get_include()`` and ``fastnn.get_cmake_dir()``.
"""

from __future__ import annotations

import os

__all__ = ["get_cmake_dir", "get_include"]

# os.path, not pathlib: importing pathlib costs `import fastnn` milliseconds
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _installed(path: str, marker: str, what: str) -> str:
    if not os.path.isfile(os.path.join(path, marker)):
        raise FileNotFoundError(
            f"fastnn's {what} are not installed here ({os.path.join(path, marker)} is missing): this fastnn was "
            "installed without them, or is run from a source tree; install the package (pip install fastnn-mlp, "
            "or pip install . in a checkout) to build against it")
    return path


def get_include() -> str:
    """Return the directory of fastnn's C headers and Cython declarations.

    It holds ``fastnn/fastnn_api.h`` (the C API, with
    ``fastnn_import_api()``), ``fastnn/fastnn_types.h`` and
    ``fastnn/cython_kernels.pxd``: give it to the C compiler (``-I``) and to
    Cython (``include_path``).

    Returns
    -------
    str
        An absolute path.

    Raises
    ------
    FileNotFoundError
        When the headers are not installed (a source checkout on
        ``PYTHONPATH``, or an install that left them out).

    Examples
    --------
    >>> import fastnn
    >>> fastnn.get_include()  # doctest: +SKIP
    '.../site-packages/fastnn/include'
    """
    return _installed(os.path.join(_PACKAGE, "include"), os.path.join("fastnn", "fastnn_api.h"), "C headers")


def get_cmake_dir() -> str:
    """Return the directory of ``fastnnConfig.cmake``, for ``find_package(fastnn)``.

    Pass it as ``-Dfastnn_DIR=...`` to CMake; scikit-build-core finds it by
    itself through fastnn's ``cmake.root`` entry point.

    Returns
    -------
    str
        An absolute path.

    Raises
    ------
    FileNotFoundError
        When the CMake files are not installed.
    """
    return _installed(os.path.join(_PACKAGE, "share", "cmake", "fastnn"), "fastnnConfig.cmake", "CMake files")
