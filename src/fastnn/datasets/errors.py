"""The errors and warnings of getting the MNIST files."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["MNISTCacheError", "MNISTDownloadError", "MNISTError", "MNISTSampleWarning"]


class MNISTError(OSError):
    """Base class: the MNIST files could not be obtained or verified."""


class MNISTDownloadError(MNISTError):
    """A file could not be downloaded from any mirror.

    ``str(error)`` names the file, where it was to go, and every mirror tried
    with what went wrong there; the same facts are in the attributes.

    Parameters
    ----------
    message : str
        The error message.
    file : str, optional
        The file name.
    dest : pathlib.Path, optional
        Its path in the cache.
    attempts : iterable of (str, str), default ()
        ``(url, reason)`` of every attempt, in the order tried.

    Attributes
    ----------
    file : str or None
        The file name.
    dest : pathlib.Path or None
        Its path in the cache.
    attempts : list of (str, str)
        ``(url, reason)`` of every attempt, in the order tried.
    """

    def __init__(self, message: str, file: str | None = None, dest: Path | None = None,
                 attempts: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.file = file
        self.dest = dest
        self.attempts = list(attempts)


class MNISTCacheError(MNISTError):
    """With ``download=False``: files missing from the cache or damaged there.

    Parameters
    ----------
    message : str
        The error message, naming every such file.
    problems : iterable of (pathlib.Path, str), default ()
        ``(path, reason)`` for every such file.

    Attributes
    ----------
    problems : list of (pathlib.Path, str)
        ``(path, reason)`` for every such file.
    """

    def __init__(self, message: str, problems: Iterable[tuple[Path, str]] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class MNISTSampleWarning(UserWarning):
    """The full MNIST set could not be had: the bundled sample is used instead."""
