"""The ``.npz`` container of fastnn's files: written atomically, read without ever unpickling.

Model files (:mod:`fastnn.io.model_file`) and training checkpoints
(:mod:`fastnn.training.checkpoint`) are uncompressed NumPy ``.npz``
archives holding a JSON header (as a uint8 array) and plain arrays.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .atomic import atomic_write

__all__ = ["atomic_savez", "decode_header", "encode_header", "read_npz"]


def atomic_savez(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` atomically.

    ``numpy.savez`` into a temporary file beside ``path``, fsync, then rename
    over ``path`` (:func:`fastnn.io.atomic.atomic_write`).

    An interrupted save leaves any previous file intact, and no partial file
    is left behind.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    arrays : mapping of str to numpy.ndarray
        The archive's members.

    Raises
    ------
    FileNotFoundError
        When the folder of ``path`` does not exist; nothing is written.
    """
    atomic_write(path, lambda f: np.savez(f, **arrays))


def read_npz(path: str | os.PathLike[str], bad: Callable[[str], Exception]) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` file at ``path``, never unpickling anything.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    bad : callable
        ``bad(reason)`` gives the exception to raise for a file that is not a
        readable ``.npz`` archive.

    Returns
    -------
    dict of str to numpy.ndarray
        The members by name.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    Exception
        ``bad(reason)`` for a file that is not an intact ``.npz``.
    """
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"PK\x03\x04"):
        # Not a zip archive, so not an .npz: say that, rather than what
        # np.load would (for most bytes, advice about loading pickles).
        what = ("it is empty" if not data else "it is a single NumPy array (.npy)"
                if data.startswith(b"\x93NUMPY") else f"it starts with {data[:16]!r}, not a zip header")
        raise bad(f"{what}; these files are .npz archives")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise bad(f"{type(e).__name__}: {e}") from e


def encode_header(header: Mapping[str, Any]) -> np.ndarray:
    """A JSON header as the uint8 array stored in the archive.

    Parameters
    ----------
    header : mapping
        JSON-serialisable (NaN and infinity allowed).

    Returns
    -------
    numpy.ndarray
        Its UTF-8 bytes.
    """
    return np.frombuffer(json.dumps(header, allow_nan=True).encode(), dtype=np.uint8)


def decode_header(raw: np.ndarray, bad: Callable[[str], Exception]) -> Any:
    """The JSON value stored by :func:`encode_header`.

    Parameters
    ----------
    raw : numpy.ndarray
        The stored bytes.
    bad : callable
        ``bad(reason)`` gives the exception for a damaged header.

    Returns
    -------
    object
        The decoded JSON value.
    """
    try:
        return json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad(f"damaged header: {e}") from e
