"""Model files: the architecture as a JSON header and the parameters as arrays in one ``.npz`` archive.

(:mod:`fastnn.io.npz`), never pickled.

This module knows the container (format tag, version, header and arrays);
:meth:`fastnn.Sequential.from_config` builds the model from what it reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from .npz import atomic_savez, decode_header, encode_header, read_npz

__all__ = ["FILE_FORMAT", "FILE_VERSION", "ModelFileError", "check_model_header", "read_model_file",
           "write_model_file"]

FILE_FORMAT = "fastnn.Sequential"
FILE_VERSION = 1
HEADER = "__config__"


class ModelFileError(ValueError):
    """A model file (or checkpoint) that is not a fastnn file, or is damaged."""


def write_model_file(path: str | os.PathLike[str], config: dict[str, Any],
                     arrays: Iterable[tuple[str, np.ndarray]]) -> None:
    """Write a model's configuration and named arrays to ``path``, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file; written to a temporary file beside it and renamed over it.
    config : dict
        The model's configuration (with the format tag and version).
    arrays : iterable of (str, numpy.ndarray)
        The parameters by name.
    """
    members = {HEADER: encode_header(config)}
    members.update(arrays)
    atomic_savez(os.fspath(path), members)


def check_model_header(cfg: Any, source: str) -> dict[str, Any]:
    """Check that a decoded header carries fastnn's model format tag and a version this fastnn reads.

    Parameters
    ----------
    cfg : object
        The decoded header.
    source : str
        The file it came from, for messages.

    Returns
    -------
    dict
        ``cfg``.

    Raises
    ------
    ModelFileError
        For another format or version, naming ``source``.
    """
    if not isinstance(cfg, dict) or cfg.get("format") != FILE_FORMAT:
        raise ModelFileError(f"{source}: not a valid fastnn model file (missing or foreign format tag)")
    if cfg.get("version") != FILE_VERSION:
        raise ModelFileError(f"{source}: not a valid fastnn model file (file version {cfg.get('version')!r}; "
                             f"this fastnn reads version {FILE_VERSION})")
    return cfg


def read_model_file(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The configuration and arrays of the model file at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`write_model_file`.

    Returns
    -------
    config : dict
        The checked header.
    arrays : dict of str to numpy.ndarray
        The parameters by name.

    Raises
    ------
    FileNotFoundError
        For a missing file.
    ModelFileError
        For a truncated, damaged or foreign file, or another version.
    """
    path = os.fspath(path)

    def bad(reason: str) -> ModelFileError:
        return ModelFileError(f"{path}: not a valid fastnn model file ({reason})")

    arrays = read_npz(path, bad)
    raw = arrays.pop(HEADER, None)
    if raw is None:
        raise bad("no fastnn header")
    return check_model_header(decode_header(raw, bad), path), arrays
