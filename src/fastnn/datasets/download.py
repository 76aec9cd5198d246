"""Where the MNIST files live, and getting them there: verify, download, retry.

The data directory is :func:`get_data_home`; :func:`fetch_mnist` makes sure
the four files are there, each verified by size and SHA-256, downloading a
missing or damaged one (only with ``urllib``) from the mirrors of
:func:`resolve_mirrors`, tried in order.  A download streams into a
temporary file in the same directory, which is renamed into place only once
its size and checksum match.  This is the only module of the package that
touches the network.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import sys
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from .._validation import check_bool, check_path, check_real, check_verbose, describe
from .errors import MNISTCacheError, MNISTDownloadError
from .files import DATA_ENV, DEFAULT_MIRRORS, MIRROR_ENV, MNIST_FILES, MNISTFile, create_temp, remove_quietly

__all__ = ["check_fetch_args", "fetch_mnist", "get_data_home", "resolve_mirrors"]

_CHUNK = 1 << 20


# --------------------------------------------------------------------------
# locations and mirrors
# --------------------------------------------------------------------------
def get_data_home(data_home: str | os.PathLike[str] | None = None) -> Path:
    r"""Return the directory that holds (or will hold) the four MNIST files.

    In order: ``data_home`` if given; ``$FASTNN_DATA`` if set and not
    empty; on Windows ``%LOCALAPPDATA%\fastnn``; elsewhere
    ``$XDG_CACHE_HOME/fastnn`` (when that is an absolute path, as the XDG
    specification requires) or ``~/.cache/fastnn``.  ``~`` is expanded.
    The directory is not created here (only a download creates it).

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        The directory to use; by default as described above.

    Returns
    -------
    pathlib.Path
        The data directory.

    Raises
    ------
    TypeError
        For a ``data_home`` that is not a path.
    ValueError
        For an empty ``data_home``.
    """
    if data_home is not None:
        return check_path("data_home", data_home).expanduser()
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA", "").strip()
        root = Path(base) if base else Path.home() / "AppData" / "Local"
        return root / "fastnn"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return root / "fastnn"


def resolve_mirrors(mirrors: str | Iterable[str] | None = None) -> list[str]:
    """Return the mirror base URLs to try, in order.

    ``mirrors`` wins; else ``$FASTNN_MNIST_MIRROR`` (same syntax) if set and
    not empty; else :data:`DEFAULT_MIRRORS`.  A file's URL is the base URL
    plus the file name, so each base gets a trailing ``/``.  Any scheme
    ``urllib`` opens works (``https``, ``http``, ``file``).

    Parameters
    ----------
    mirrors : str or iterable of str, optional
        A sequence of URLs, or one string of URLs separated by commas and/or
        whitespace.

    Returns
    -------
    list of str
        The base URLs, each ending in ``/``.

    Raises
    ------
    TypeError
        For ``mirrors`` that are not URL strings.
    ValueError
        For an empty mirror list, or bytes that are not text.

    Examples
    --------
    >>> resolve_mirrors("http://a/x, http://b/y/")
    ['http://a/x/', 'http://b/y/']
    """
    if mirrors is None:
        env = os.environ.get(MIRROR_ENV, "")
        mirrors = env if env.strip() else DEFAULT_MIRRORS
    out = []
    for m in _check_mirrors(mirrors):
        m = m.strip()
        if m:
            out.append(m if m.endswith("/") else m + "/")
    if not out:
        raise ValueError("no MNIST mirror given (the mirror list is empty)")
    return out


def _check_mirrors(mirrors: Any) -> list[str]:
    """Return ``mirrors`` (a string of URLs or an iterable of URL strings) as a list."""
    if isinstance(mirrors, bytes):
        try:
            mirrors = mirrors.decode()
        except UnicodeDecodeError as e:
            raise ValueError(f"mirrors is not valid text: {e}") from None
    if isinstance(mirrors, str):
        return re.split(r"[\s,]+", mirrors)
    if isinstance(mirrors, dict) or not isinstance(mirrors, Iterable):
        raise TypeError(f"mirrors must be a string of URLs or a sequence of URL strings, got {describe(mirrors)}")
    out = list(mirrors)
    for m in out:
        if not isinstance(m, str):
            raise TypeError(f"mirrors must hold URL strings, got {describe(m)}")
    return out


def check_fetch_args(data_home: Any, download: Any, mirrors: Any, timeout: Any, verbose: Any) -> bool:
    """Check the arguments of :func:`fetch_mnist` before touching any file.

    Parameters
    ----------
    data_home : str or os.PathLike or None
        The data directory.
    download : bool
        Whether missing files may be downloaded.
    mirrors : str or iterable of str or None
        The mirrors, as :func:`resolve_mirrors` takes them.
    timeout : float
        Seconds, > 0.
    verbose : bool or int
        True/False, or 0/1.

    Returns
    -------
    bool
        ``verbose`` as a bool.

    Raises
    ------
    TypeError
        For an argument of the wrong type.
    ValueError
        For an argument of the right type but an unusable value.
    """
    if data_home is not None:
        check_path("data_home", data_home)
    check_bool("download", download)
    if mirrors is not None:
        _check_mirrors(mirrors)
    check_real("timeout", timeout, 0.0, min_open=True)
    return bool(check_verbose(verbose, maximum=1))


# --------------------------------------------------------------------------
# verification
# --------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    """Return the SHA-256 of the file ``path`` in hexadecimal."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _file_problem(path: Path, spec: MNISTFile) -> str | None:
    """Return ``None`` if ``path`` is the genuine file, else what is wrong with it."""
    try:
        size = path.stat().st_size
        if size != spec.size:
            return f"size is {size} bytes, expected {spec.size}"
        digest = _sha256(path)
    except OSError as e:
        return f"cannot be read ({e})"
    if digest != spec.sha256:
        return f"checksum mismatch: expected sha256 {spec.sha256}, got {digest}"
    return None


# --------------------------------------------------------------------------
# download
# --------------------------------------------------------------------------
class _AttemptFailed(Exception):
    """One mirror failed for one file; the message is the reason."""


def _failure_reason(exc: BaseException, timeout: float) -> str:
    """Return a short human reason for a failed attempt."""
    if isinstance(exc, _AttemptFailed):
        return str(exc)
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}".rstrip()
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            return _failure_reason(reason, timeout)
        return f"URL error: {reason}"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(exc, socket.gaierror):
        return f"host name lookup failed ({exc})"
    if isinstance(exc, http.client.IncompleteRead):
        return f"connection closed early (truncated transfer: {exc})"
    if isinstance(exc, http.client.HTTPException):
        return f"bad HTTP response ({type(exc).__name__}: {exc})"
    return f"{type(exc).__name__}: {exc}"


def _download_to(url: str, out: BinaryIO, spec: MNISTFile, timeout: float, verbose: bool) -> None:
    """Stream ``url`` into the open binary file ``out``, checking size and hash."""
    request = urllib.request.Request(url, headers={"User-Agent": "fastnn-datasets"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        status = getattr(resp, "status", None)
        if status not in (None, 200):
            raise _AttemptFailed(f"unexpected HTTP status {status}")
        announced = resp.headers.get("Content-Length") if resp.headers else None
        if announced is not None and announced.strip().isdigit() and int(announced) != spec.size:
            raise _AttemptFailed(f"wrong size: server announced {int(announced)} bytes, expected {spec.size}")
        got, digest = _copy_response(resp, out, spec, timeout, verbose)
    if got != spec.size:
        raise _AttemptFailed(f"truncated: received {got} of {spec.size} bytes")
    if digest != spec.sha256:
        raise _AttemptFailed(f"checksum mismatch: expected sha256 {spec.sha256}, got {digest}")


def _copy_response(resp: Any, out: BinaryIO, spec: MNISTFile, timeout: float, verbose: bool) -> tuple[int, str]:
    """Copy the body of ``resp`` into ``out`` with a progress bar; return its size and SHA-256."""
    from tqdm import tqdm

    h = hashlib.sha256()
    got = 0
    with tqdm(total=spec.size, unit="B", unit_scale=True, unit_divisor=1024, desc=spec.name,
              disable=not verbose, leave=True, file=sys.stderr) as bar:
        while True:
            try:
                chunk = resp.read(1 << 16)
            except (socket.timeout, TimeoutError):
                raise _AttemptFailed(f"timed out after {timeout:g} s while reading "
                                     f"(received {got} of {spec.size} bytes)") from None
            except http.client.IncompleteRead as e:
                raise _AttemptFailed(f"truncated: connection closed after {got + len(e.partial)} "
                                     f"of {spec.size} bytes") from None
            if not chunk:
                break
            got += len(chunk)
            if got > spec.size:
                raise _AttemptFailed(f"wrong size: received more than the expected {spec.size} bytes")
            h.update(chunk)
            out.write(chunk)
            bar.update(len(chunk))
    return got, h.hexdigest()


def _attempt(url: str, spec: MNISTFile, dest: Path, timeout: float, verbose: bool,
             attempts: list[tuple[str, str]]) -> str | None:
    """Download ``url`` to ``dest``: ``None`` when done, else why it failed (nothing left behind)."""
    try:
        fd, tmp = create_temp(dest.parent, spec.name)
    except OSError as e:
        raise MNISTDownloadError(
            f"cannot write to the MNIST data directory {dest.parent}: {e} "
            f"(choose another with data_home=... or ${DATA_ENV})",
            file=spec.name, dest=dest, attempts=attempts) from e
    try:
        with os.fdopen(fd, "wb") as out:
            _download_to(url, out, spec, timeout, verbose)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except Exception as e:  # noqa: BLE001 - any failure is recorded, and the next mirror tried
        remove_quietly(tmp)
        if isinstance(e, urllib.error.HTTPError):
            e.close()
        return _failure_reason(e, timeout)
    except BaseException:  # KeyboardInterrupt & co: clean up, propagate
        remove_quietly(tmp)
        raise
    return None


def _download(spec: MNISTFile, dest: Path, mirrors: Sequence[str], timeout: float, verbose: bool) -> None:
    """Fetch one file into ``dest`` from the first mirror that serves it intact."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MNISTDownloadError(
            f"cannot create the MNIST data directory {dest.parent}: {e} "
            f"(choose another with data_home=... or ${DATA_ENV})",
            file=spec.name, dest=dest) from e
    attempts: list[tuple[str, str]] = []
    for base in mirrors:
        url = base + spec.name
        if verbose:
            print(f"fastnn: downloading {url}", file=sys.stderr)
        reason = _attempt(url, spec, dest, timeout, verbose, attempts)
        if reason is None:
            return
        attempts.append((url, reason))
        if verbose:  # progress of this download; the error names every attempt if all fail
            print(f"fastnn: {url} failed: {reason}", file=sys.stderr)
    lines = "\n".join(f"  - {url}: {reason}" for url, reason in attempts)
    raise MNISTDownloadError(
        f"could not download {spec.name} ({spec.size} bytes, sha256 {spec.sha256}) "
        f"to {dest}; every mirror failed:\n{lines}\n"
        f"Set ${MIRROR_ENV} (or pass mirrors=...) to a working mirror, or put "
        f"the file there by hand.",
        file=spec.name, dest=dest, attempts=attempts)


def _cache_problems(paths: dict[str, Path]) -> list[tuple[str, Path, str]]:
    """Return ``(key, path, why)`` for each file of ``paths`` missing or damaged."""
    problems = []
    for key, spec in MNIST_FILES.items():
        path = paths[key]
        if not path.exists():
            problems.append((key, path, "missing"))
            continue
        problem = _file_problem(path, spec)
        if problem is not None:
            problems.append((key, path, f"damaged: {problem}"))
    return problems


def fetch_mnist(data_home: str | os.PathLike[str] | None = None, download: bool = True,
                mirrors: str | Iterable[str] | None = None, timeout: float = 30,
                verbose: bool = True) -> dict[str, Path]:
    """Make sure the four verified MNIST files are in the data directory.

    A file already there is verified (size and SHA-256); a damaged one is
    reported (a ``RuntimeWarning``), deleted and fetched again.  With
    ``download=False`` nothing is fetched or deleted.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        The data directory (default: :func:`get_data_home`).
    download : bool, default True
        Download missing or damaged files.
    mirrors : str or iterable of str, optional
        Where to download from, as :func:`resolve_mirrors` takes them.
    timeout : float, default 30
        Seconds allowed for connecting and for each read, not the whole transfer.
    verbose : bool, default True
        Show download progress on stderr (0/1 are accepted too).

    Returns
    -------
    dict of str to pathlib.Path
        The files' paths, keyed as :data:`MNIST_FILES`.

    Raises
    ------
    MNISTCacheError
        With ``download=False``: a file is missing or damaged (every such file is named).
    MNISTDownloadError
        When a file could not be downloaded from any mirror.
    TypeError
        For an argument of the wrong type.
    ValueError
        For an argument of the right type but an unusable value.
    """
    verbose = check_fetch_args(data_home, download, mirrors, timeout, verbose)
    home = get_data_home(data_home)
    paths = {key: home / spec.name for key, spec in MNIST_FILES.items()}
    problems = _cache_problems(paths)
    if not problems:
        return paths
    if not download:
        lines = "\n".join(f"  - {path}: {why}" for _, path, why in problems)
        raise MNISTCacheError(
            f"MNIST files missing or damaged in {home} (download=False):\n{lines}\n"
            f"Call with download=True to fetch them, or copy the original "
            f"files there (or point data_home / ${DATA_ENV} at them).",
            problems=[(path, why) for _, path, why in problems])
    urls = resolve_mirrors(mirrors)
    for key, path, why in problems:
        if why != "missing":
            warnings.warn(f"fastnn: cached MNIST file {path} is {why}; deleting it and downloading it again",
                          RuntimeWarning, stacklevel=3)
            remove_quietly(path)
        _download(MNIST_FILES[key], path, urls, float(timeout), verbose)
    return paths
