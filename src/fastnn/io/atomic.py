"""Atomic file writes: into a temporary file beside the target, fsync, then rename over it.

Every file fastnn writes (model files, checkpoints, ONNX models) goes through
:func:`atomic_write`: an interrupted or failed write leaves any previous
file intact and no partial file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """Write a file atomically: ``write(f)`` fills a temporary file that is then renamed to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    write : callable
        ``write(f)`` writes the contents into the binary file object ``f``.

    Raises
    ------
    FileNotFoundError
        When the folder of ``path`` does not exist (naming it); nothing is written.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path}: the folder {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".fastnn-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
