"""Atomic file writes: a temporary file beside the target, fsync, rename.

An interrupted write leaves any previous file intact and no partial file
behind.  Model files and checkpoints (:func:`fastnn.io.npz.atomic_savez`),
ONNX models (:mod:`fastnn.io.onnx_export`) and exported C code
(:mod:`fastnn.io.c_export`) are written this way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import BinaryIO

__all__ = ["atomic_write", "atomic_write_text"]

Writer = Callable[[BinaryIO], object]


def atomic_write(files: Mapping[str | os.PathLike[str], Writer]) -> None:
    """Write one or more files so that none is ever seen half-written.

    Each file is written by its writer into a temporary file in the same
    folder (created as ``open`` would create the file: mode 0o666 less the
    umask) and fsynced; only when every one is complete are they renamed,
    in order, over their targets.  On any error the temporary files are
    removed and no target has been touched (unless a rename itself fails,
    when the files renamed before it stay renamed).

    Parameters
    ----------
    files : mapping of path to callable
        ``{path: write}``; ``write(f)`` writes the file's content to the
        binary file object ``f``.  Each path's folder must exist.

    Raises
    ------
    FileNotFoundError
        When a path's folder does not exist (nothing is written).
    """
    targets = [(os.fspath(path), write) for path, write in files.items()]
    for path, _ in targets:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    staged: list[tuple[str, str]] = []
    try:
        for path, write in targets:
            fd, tmp = _create_temporary(path)
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
        while staged:
            tmp, path = staged[0]
            os.replace(tmp, path)
            staged.pop(0)
    except BaseException:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise


def _create_temporary(path: str) -> tuple[int, str]:
    """A new file beside ``path``, open for writing.

    Created with mode 0o666 less the umask, as ``open`` would create ``path``
    itself (``tempfile.mkstemp`` would make it 0o600).
    """
    import secrets  # here, not at the top: it costs `import fastnn` milliseconds (random, hashlib)

    folder, base = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".fastnn-{base}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its folder must exist.
    text : str
        The content.
    """
    data = text.encode("utf-8")
    atomic_write({path: lambda f: f.write(data)})
