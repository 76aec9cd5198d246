"""MNIST data layer: download, verify, read, preprocess and look at the data.

The task of notes 000 is to classify the MNIST handwritten digits: 60,000
training and 10,000 test images, 28x28 grey levels 0..255.  This module gets
those images into NumPy arrays and prepares them the way the notes prescribe.

Getting the data
----------------
:func:`load_mnist` looks for the four original files ::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

directly inside the data directory (:func:`get_data_home`: the ``data_home``
argument, else ``$FASTNN_DATA``, else the user's cache directory
``$XDG_CACHE_HOME/fastnn`` or ``~/.cache/fastnn``, on Windows
``%LOCALAPPDATA%\\fastnn``).  Every file is checked against its published size
and SHA-256 before use.  A missing or damaged file is downloaded (only with
``urllib``) from the mirrors of :data:`DEFAULT_MIRRORS`, tried in order, or
from those given by the ``mirrors`` argument or the ``FASTNN_MNIST_MIRROR``
environment variable.  A download streams into a temporary file in the same
directory, which is renamed into place (``os.replace``) only once its size
and checksum match: a failed, partial or corrupt download leaves nothing
behind, and the :class:`MNISTDownloadError` it raises names every mirror
tried and what went wrong there.

Without network access, :func:`load_mnist_sample` loads a small stratified
sample of the original files that ships with the package (8,000 training
and 2,000 test images, see ``mnist_sample/README.md``), and
:func:`load_mnist_or_sample` returns the full set when it can be had and the
sample, with the reason, when it cannot.

Returned arrays: images are ``uint8`` of shape ``(n, 28, 28)``, or
``(n, 784)`` with ``flatten=True`` (a view, row-major, pixel ``(r, c)`` at
column ``28 * r + c``); labels are ``int64`` class indices 0..9 (not the
files' ``uint8``, so that ``y - 1`` or a loss's index arithmetic cannot
wrap around).

Preprocessing (notes 000, "Data has to be Pre-Processed")
---------------------------------------------------------
The correct work flow is: 1. split the data into training, validation and
test sets; 2. compute the normalisation statistics from the training split
only; 3. normalise all three sets with those same parameters.  Hence
:func:`train_val_split` (stratified by default), :class:`Normalizer`
(``fit`` on the training split, ``transform`` everything), and
:func:`prepare_mnist`, which runs the three steps in that order.
:func:`find_corrupted` / :func:`clean` detect and drop unusable images
(wrong shape, unreadable, non-finite or out-of-range pixels, labels outside
0..9, identical images with conflicting labels) and say how many went and
why; :func:`plot_samples` draws a few images of each class to check that
images and labels agree.

IDX files
---------
:func:`read_idx` and :func:`write_idx` read and write the IDX format of the
MNIST files (gzip-compressed or raw): a big-endian header ``0x00 0x00 <type
code> <ndim>`` followed by ``ndim`` 32-bit dimensions and the payload.
"""

from __future__ import annotations

import dataclasses
import errno
import gzip
import hashlib
import http.client
import math
import numbers
import os
import re
import secrets
import socket
import struct
import sys
import urllib.error
import urllib.request
import warnings
import zlib
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _memory
from .augment import RandomShift

__all__ = [
    "RandomShift",
    "DEFAULT_MIRRORS",
    "MNIST_FILES",
    "MNISTFile",
    "MNISTData",
    "MNISTError",
    "MNISTDownloadError",
    "MNISTCacheError",
    "get_data_home",
    "resolve_mirrors",
    "fetch_mnist",
    "load_mnist",
    "mnist_sample_dir",
    "load_mnist_sample",
    "load_mnist_or_sample",
    "MNISTSampleWarning",
    "fallback_notice",
    "read_idx",
    "write_idx",
    "Split",
    "train_val_indices",
    "train_val_split",
    "Normalizer",
    "CORRUPTION_REASONS",
    "CorruptionReport",
    "find_corrupted",
    "clean",
    "PreparedData",
    "prepare_mnist",
    "plot_samples",
]

PathLike = Union[str, "os.PathLike[str]"]


# --------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------
class MNISTFile(NamedTuple):
    """Name, size in bytes and SHA-256 of one of the original MNIST files."""

    name: str
    size: int
    sha256: str


#: The four original files, keyed ``train_images``, ``train_labels``,
#: ``test_images``, ``test_labels`` (in the order they are fetched).
MNIST_FILES: Dict[str, MNISTFile] = {
    "train_images": MNISTFile(
        "train-images-idx3-ubyte.gz", 9912422,
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": MNISTFile(
        "train-labels-idx1-ubyte.gz", 28881,
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": MNISTFile(
        "t10k-images-idx3-ubyte.gz", 1648877,
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": MNISTFile(
        "t10k-labels-idx1-ubyte.gz", 4542,
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}

#: Public mirrors of the original files, tried in this order.
DEFAULT_MIRRORS: Tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: Environment variable overriding the mirror list (one URL, or several
#: separated by commas and/or whitespace).
MIRROR_ENV = "FASTNN_MNIST_MIRROR"
#: Environment variable naming the data directory.
DATA_ENV = "FASTNN_DATA"

IMAGES_MAGIC = 0x00000803  # uint8, 3 dimensions
LABELS_MAGIC = 0x00000801  # uint8, 1 dimension
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10

# IDX data type codes and the matching big-endian NumPy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_DTYPES.items()}
# deflate cannot compress better than about 1032:1, so a gzip file whose
# header promises more than this many payload bytes per compressed byte is
# truncated or damaged (checked before allocating anything).
_MAX_DEFLATE_RATIO = 1100
_CHUNK = 1 << 20


# --------------------------------------------------------------------------
# errors and the returned data
# --------------------------------------------------------------------------
class MNISTError(OSError):
    """Base class: the MNIST files could not be obtained or verified."""


class MNISTDownloadError(MNISTError):
    """A file could not be downloaded from any mirror.

    ``str(error)`` names the file, where it was to go, and every mirror tried
    with what went wrong there; the same facts are in the attributes
    ``file`` (the file name), ``dest`` (its path in the cache) and
    ``attempts`` (a list of ``(url, reason)`` pairs, in the order tried).
    """

    def __init__(self, message, file=None, dest=None, attempts=()):
        super().__init__(message)
        self.file = file
        self.dest = dest
        self.attempts = list(attempts)


class MNISTCacheError(MNISTError):
    """With ``download=False``: files missing from the cache or damaged there.

    ``problems`` lists ``(path, reason)`` for every such file.
    """

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class MNISTData:
    """Training and test images and labels; unpacks as a 4-tuple.

    ``X_train, y_train, X_test, y_test = load_mnist()`` works, as do
    ``data.X_train`` and ``data[0]``.  Images are ``uint8``, shape
    ``(n, 28, 28)`` (or ``(n, 784)`` when loaded with ``flatten=True``);
    labels are ``int64`` in 0..9.

    ``source`` is ``"full"`` (the original 60,000 + 10,000 images) or
    ``"sample"`` (the bundled sample); ``reason`` says why the sample was
    used when :func:`load_mnist_or_sample` fell back to it (else ``None``).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str = "full"
    reason: Optional[str] = None

    def _arrays(self):
        return (self.X_train, self.y_train, self.X_test, self.y_test)

    def __iter__(self):
        return iter(self._arrays())

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return self._arrays()[index]

    @property
    def is_sample(self) -> bool:
        """True when these are the bundled sample, not the full data set."""
        return self.source == "sample"

    def __repr__(self):
        extra = f", reason={self.reason!r}" if self.reason else ""
        return (f"MNISTData(source={self.source!r}, X_train={_desc(self.X_train)}, "
                f"y_train={_desc(self.y_train)}, X_test={_desc(self.X_test)}, "
                f"y_test={_desc(self.y_test)}{extra})")


def _desc(a):
    return f"<{a.dtype} {tuple(a.shape)}>"


# --------------------------------------------------------------------------
# argument checks: each error names the offending argument
# --------------------------------------------------------------------------
def _check_flag(name: str, value) -> bool:
    """``value`` as a bool; True/False only (no 0/1, strings or None)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_verbose(value) -> bool:
    """``verbose``: True/False, or 0/1 as the trainer's verbose levels."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise TypeError(f"verbose must be True or False (or 0/1), got {value!r}")


def _check_int(name: str, value, minimum: int = 0, maximum: Optional[int] = None) -> int:
    """``value`` as an int in ``minimum..maximum`` (bools and floats refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def _check_real(name: str, value, finite: bool = True) -> float:
    """``value`` as a float (a real number, not a bool; finite unless told)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be {'finite' if finite else 'a number'}, got {value}")
    return value


def _check_seed(value, name: str = "seed"):
    """``seed`` as ``np.random.default_rng`` takes it: None, an int >= 0 or a Generator."""
    if value is None or isinstance(value, np.random.Generator):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be None, an int >= 0 or a numpy.random.Generator, "
                        f"got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def _check_range(name: str, value, finite: bool = True) -> Tuple[float, float]:
    """``value`` as a pair ``(lo, hi)`` of real numbers with ``lo < hi``
    (``lo <= hi`` and infinite ends allowed when not ``finite``)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a pair (min, max) of numbers, got {value!r}")
    if len(value) != 2:
        raise ValueError(f"{name} must be a pair (min, max) of numbers, got {len(value)} value(s)")
    lo, hi = (_check_real(name, v, finite=finite) for v in value)
    if not (hi > lo if finite else hi >= lo):
        raise ValueError(f"{name} must have max {'>' if finite else '>='} min, got {tuple(value)}")
    return lo, hi


def _check_path(name: str, value) -> Path:
    """``value`` (a str or os.PathLike naming a file or directory) as a Path."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got "
                        f"{type(value).__name__} {value!r}")
    path = os.fspath(value)
    if not isinstance(path, str):
        raise TypeError(f"{name} must be a str path, got {type(path).__name__} {path!r}")
    if not path or "\x00" in path:
        raise ValueError(f"{name} must be a non-empty path without NUL characters, got {path!r}")
    return Path(path)


def _as_array(name: str, value, numeric: bool = True, min_ndim: int = 0) -> np.ndarray:
    """``np.asarray(value)``, numpy's refusals (ragged lists...) naming the argument;
    with ``numeric``, real numbers only (bool, int, float)."""
    if value is None or isinstance(value, (str, bytes, dict)):
        raise TypeError(f"{name} must be an array, got {type(value).__name__} {value!r:.40}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name} must be an array of numbers: {e}") from None
    if numeric and arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    return arr


def _check_shape(name: str, value) -> Tuple[int, ...]:
    """``value`` as a tuple of positive ints (an image shape)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a tuple of ints, got {value!r}")
    if len(value) == 0:
        raise ValueError(f"{name} must have at least one dimension, got {tuple(value)}")
    return tuple(_check_int(f"{name} entries", d, minimum=1) for d in value)


# --------------------------------------------------------------------------
# locations and mirrors
# --------------------------------------------------------------------------
def get_data_home(data_home: Optional[PathLike] = None) -> Path:
    """The directory that holds (or will hold) the four MNIST files.

    In order: ``data_home`` if given; ``$FASTNN_DATA`` if set and not
    empty; on Windows ``%LOCALAPPDATA%\\fastnn``; elsewhere
    ``$XDG_CACHE_HOME/fastnn`` (when that is an absolute path, as the XDG
    specification requires) or ``~/.cache/fastnn``.  ``~`` is expanded.
    The directory is not created here (only a download creates it).
    """
    if data_home is not None:
        return _check_path("data_home", data_home).expanduser()
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


def resolve_mirrors(mirrors: Union[None, str, Iterable[str]] = None) -> List[str]:
    """The mirror base URLs to try, in order.

    ``mirrors`` (a sequence of URLs, or one string of URLs separated by
    commas and/or whitespace) wins; else ``$FASTNN_MNIST_MIRROR`` (same
    syntax) if set and not empty; else :data:`DEFAULT_MIRRORS`.  A file's
    URL is the base URL plus the file name, so each base gets a trailing
    ``/``.  Any scheme ``urllib`` opens works (``https``, ``http``,
    ``file``).
    """
    if mirrors is None:
        env = os.environ.get(MIRROR_ENV, "")
        mirrors = env if env.strip() else DEFAULT_MIRRORS
    mirrors = _check_mirrors(mirrors)
    out = []
    for m in mirrors:
        m = m.strip()
        if m:
            out.append(m if m.endswith("/") else m + "/")
    if not out:
        raise ValueError("no MNIST mirror given (the mirror list is empty)")
    return out


def _check_mirrors(mirrors) -> List[str]:
    """``mirrors`` (a string of URLs or an iterable of URL strings) as a list."""
    if isinstance(mirrors, bytes):
        try:
            mirrors = mirrors.decode()
        except UnicodeDecodeError as e:
            raise ValueError(f"mirrors is not valid text: {e}") from None
    if isinstance(mirrors, str):
        return re.split(r"[\s,]+", mirrors)
    if isinstance(mirrors, dict) or not isinstance(mirrors, Iterable):
        raise TypeError(f"mirrors must be a string of URLs or a sequence of URL strings, "
                        f"got {type(mirrors).__name__} {mirrors!r}")
    out = list(mirrors)
    for m in out:
        if not isinstance(m, str):
            raise TypeError(f"mirrors must hold URL strings, got {type(m).__name__} {m!r}")
    return out


def _check_fetch_args(data_home, download, mirrors, timeout, verbose):
    """Check load_mnist's / fetch_mnist's arguments before touching any file."""
    if data_home is not None:
        _check_path("data_home", data_home)
    _check_flag("download", download)
    if mirrors is not None:
        _check_mirrors(mirrors)
    timeout = _check_real("timeout", timeout)
    if timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
    return _check_verbose(verbose)


# --------------------------------------------------------------------------
# verification and download
# --------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_file(path: Path, spec: MNISTFile) -> Optional[str]:
    """``None`` if ``path`` is the genuine file, else what is wrong with it."""
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


class _AttemptFailed(Exception):
    """One mirror failed for one file; the message is the reason."""


def _describe(exc: BaseException, timeout: float) -> str:
    """A short human reason for a failed attempt."""
    if isinstance(exc, _AttemptFailed):
        return str(exc)
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}".rstrip()
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            return _describe(reason, timeout)
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


def _download_to(url: str, out, spec: MNISTFile, timeout: float, verbose: bool) -> None:
    """Stream ``url`` into the open binary file ``out``, checking size and hash."""
    request = urllib.request.Request(url, headers={"User-Agent": "fastnn-datasets"})
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        status = getattr(resp, "status", None)
        if status not in (None, 200):
            raise _AttemptFailed(f"unexpected HTTP status {status}")
        announced = resp.headers.get("Content-Length") if resp.headers else None
        if announced is not None and announced.strip().isdigit() \
                and int(announced) != spec.size:
            raise _AttemptFailed(
                f"wrong size: server announced {int(announced)} bytes, "
                f"expected {spec.size}")
        from tqdm import tqdm

        h = hashlib.sha256()
        got = 0
        with tqdm(total=spec.size, unit="B", unit_scale=True, unit_divisor=1024,
                  desc=spec.name, disable=not verbose, leave=True,
                  file=sys.stderr) as bar:
            while True:
                try:
                    chunk = resp.read(1 << 16)
                except (socket.timeout, TimeoutError):
                    raise _AttemptFailed(
                        f"timed out after {timeout:g} s while reading "
                        f"(received {got} of {spec.size} bytes)") from None
                except http.client.IncompleteRead as e:
                    raise _AttemptFailed(
                        f"truncated: connection closed after {got + len(e.partial)} "
                        f"of {spec.size} bytes") from None
                if not chunk:
                    break
                got += len(chunk)
                if got > spec.size:
                    raise _AttemptFailed(
                        f"wrong size: received more than the expected {spec.size} bytes")
                h.update(chunk)
                out.write(chunk)
                bar.update(len(chunk))
    if got != spec.size:
        raise _AttemptFailed(
            f"truncated: received {got} of {spec.size} bytes")
    digest = h.hexdigest()
    if digest != spec.sha256:
        raise _AttemptFailed(
            f"checksum mismatch: expected sha256 {spec.sha256}, got {digest}")


def _create_temp(folder: Path, name: str):
    """A new ``(fd, path)`` for a hidden temporary file next to ``name``.

    Unlike ``tempfile.mkstemp`` (mode 0600) the file gets the usual
    permissions (0666 less the umask), which it keeps once renamed into place.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(6)}.part"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(folder))


def _remove_quietly(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _download(spec: MNISTFile, dest: Path, mirrors: Sequence[str], timeout: float,
              verbose: bool) -> None:
    """Fetch one file into ``dest`` from the first mirror that serves it intact."""
    folder = dest.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MNISTDownloadError(
            f"cannot create the MNIST data directory {folder}: {e} "
            f"(choose another with data_home=... or ${DATA_ENV})",
            file=spec.name, dest=dest) from e
    attempts = []
    for base in mirrors:
        url = base + spec.name
        if verbose:
            print(f"fastnn: downloading {url}", file=sys.stderr)
        try:
            fd, tmp = _create_temp(folder, spec.name)
        except OSError as e:
            raise MNISTDownloadError(
                f"cannot write to the MNIST data directory {folder}: {e} "
                f"(choose another with data_home=... or ${DATA_ENV})",
                file=spec.name, dest=dest, attempts=attempts) from e
        try:
            with os.fdopen(fd, "wb") as out:
                _download_to(url, out, spec, timeout, verbose)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except Exception as e:  # any failure: record it, try the next mirror
            _remove_quietly(tmp)
            if isinstance(e, urllib.error.HTTPError):
                e.close()
            reason = _describe(e, timeout)
            attempts.append((url, reason))
            if verbose:  # progress of this download; the error names every attempt if all fail
                print(f"fastnn: {url} failed: {reason}", file=sys.stderr)
            continue
        except BaseException:  # KeyboardInterrupt & co: clean up, propagate
            _remove_quietly(tmp)
            raise
        return
    lines = "\n".join(f"  - {url}: {reason}" for url, reason in attempts)
    raise MNISTDownloadError(
        f"could not download {spec.name} ({spec.size} bytes, sha256 {spec.sha256}) "
        f"to {dest}; every mirror failed:\n{lines}\n"
        f"Set ${MIRROR_ENV} (or pass mirrors=...) to a working mirror, or put "
        f"the file there by hand.",
        file=spec.name, dest=dest, attempts=attempts)


def fetch_mnist(data_home: Optional[PathLike] = None, download: bool = True,
                mirrors: Union[None, str, Iterable[str]] = None, timeout: float = 30,
                verbose: bool = True) -> Dict[str, Path]:
    """Make sure the four verified MNIST files are in the data directory.

    Returns their paths keyed as :data:`MNIST_FILES`.  A file already there
    is verified (size and SHA-256); a damaged one is reported (a
    ``RuntimeWarning``), deleted and fetched again.  With
    ``download=False`` nothing is fetched or deleted: a missing or damaged
    file raises :class:`MNISTCacheError` naming every such file.  A failed
    download raises :class:`MNISTDownloadError`.  ``timeout`` (seconds)
    bounds connecting and each read, not the whole transfer.
    """
    import warnings

    verbose = _check_fetch_args(data_home, download, mirrors, timeout, verbose)
    home = get_data_home(data_home)
    paths = {key: home / spec.name for key, spec in MNIST_FILES.items()}
    problems = []
    for key, spec in MNIST_FILES.items():
        path = paths[key]
        if not path.exists():
            problems.append((key, path, "missing"))
            continue
        problem = _check_file(path, spec)
        if problem is not None:
            problems.append((key, path, f"damaged: {problem}"))
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
        spec = MNIST_FILES[key]
        if why != "missing":
            warnings.warn(f"fastnn: cached MNIST file {path} is {why}; "
                          f"deleting it and downloading it again",
                          RuntimeWarning, stacklevel=3)
            _remove_quietly(path)
        _download(spec, path, urls, timeout, verbose)
    return paths


# --------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------
def _open_maybe_gzip(path: Path):
    f = open(path, "rb")
    head = f.read(2)
    f.seek(0)
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb"), f, True
    return f, f, False


def _read_exact(f, n, path, what):
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"{path}: truncated: {what} needs {n} bytes, "
                         f"the file has only {len(data)}")
    return data


def _magic_desc(magic: int) -> str:
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    dt = _IDX_DTYPES.get(code)
    name = dt.newbyteorder("=").name if dt is not None else f"unknown type 0x{code:02X}"
    return f"{name}, {ndim} dimension(s)"


def read_idx(path: PathLike, *, expected_magic: Optional[int] = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a NumPy array.

    The header is checked: the first two bytes must be zero, the third a
    known IDX type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the fourth the number of dimensions (at
    least 1), followed by that many big-endian uint32 sizes; the payload
    must hold exactly the number of bytes they imply -- no fewer, no
    more.  With ``expected_magic`` (e.g. ``0x00000803`` for MNIST images,
    ``0x00000801`` for labels) the whole 32-bit magic number must match.
    Gzip is recognised by its signature, not the file name; the gzip CRC
    is checked.  A damaged or truncated file raises ``ValueError`` naming
    the file and the problem.  Returns a writable array of the file's
    shape in native byte order.
    """
    path = _check_path("path", path)
    if expected_magic is not None:
        expected_magic = _check_int("expected_magic", expected_magic, 0, 2 ** 32 - 1)
    stream, raw, compressed = _open_maybe_gzip(path)
    try:
        with raw, stream:
            head = _read_exact(stream, 4, path, "the IDX header")
            magic = struct.unpack(">I", head)[0]
            if head[0] or head[1]:
                raise ValueError(
                    f"{path}: not an IDX file: bad magic number 0x{magic:08X} "
                    f"(an IDX magic number starts with two zero bytes)")
            code, ndim = head[2], head[3]
            if code not in _IDX_DTYPES:
                raise ValueError(
                    f"{path}: bad magic number 0x{magic:08X}: unknown IDX data "
                    f"type code 0x{code:02X}")
            if ndim == 0:
                raise ValueError(f"{path}: bad magic number 0x{magic:08X}: "
                                 f"zero dimensions")
            if expected_magic is not None and magic != expected_magic:
                raise ValueError(
                    f"{path}: wrong magic number 0x{magic:08X} ({_magic_desc(magic)}), "
                    f"expected 0x{expected_magic:08X} ({_magic_desc(expected_magic)})")
            dims = struct.unpack(f">{ndim}I",
                                 _read_exact(stream, 4 * ndim, path,
                                             f"the header of a {ndim}-dimensional file"))
            dtype = _IDX_DTYPES[code]
            nbytes = int(np.prod(dims, dtype=object)) * dtype.itemsize
            # reject impossible sizes before allocating anything
            disk = path.stat().st_size
            limit = disk * _MAX_DEFLATE_RATIO if compressed else disk - 4 - 4 * ndim
            if nbytes > limit:
                raise ValueError(
                    f"{path}: truncated or damaged: the header promises "
                    f"{'x'.join(map(str, dims))} {dtype.newbyteorder('=').name} values "
                    f"({nbytes} payload bytes), more than this "
                    f"{disk}-byte {'gzip ' if compressed else ''}file can hold")
            _memory.check_alloc(nbytes, f"{path}: its {'x'.join(map(str, dims))} array")
            buf = np.empty(nbytes, dtype=np.uint8)
            view = memoryview(buf)
            got = 0
            while got < nbytes:
                n = stream.readinto(view[got:got + _CHUNK])
                if not n:
                    break
                got += n
            if got != nbytes:
                raise ValueError(
                    f"{path}: truncated: the header promises "
                    f"{'x'.join(map(str, dims))} values ({nbytes} payload bytes), "
                    f"the file has only {got}")
            extra = 0
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                extra += len(chunk)
            if extra:
                raise ValueError(
                    f"{path}: {extra} unexpected trailing byte(s) after the "
                    f"{nbytes}-byte payload its header declares "
                    f"({'x'.join(map(str, dims))})")
    except EOFError as e:  # gzip stream cut short
        raise ValueError(f"{path}: truncated gzip stream ({e})") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise ValueError(f"{path}: damaged gzip data ({e})") from None
    arr = buf.view(dtype).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def _idx_dtype_for(a: np.ndarray) -> np.dtype:
    native = a.dtype.newbyteorder("=") if a.dtype.byteorder not in "=|" else a.dtype
    if native in _IDX_CODES:
        return native
    if a.dtype.kind in "biu":
        lo = int(a.min()) if a.size else 0
        hi = int(a.max()) if a.size else 0
        for cand in ("u1", "i1", "i2", "i4"):
            info = np.iinfo(cand)
            if info.min <= lo and hi <= info.max:
                return np.dtype(cand)
        raise TypeError(f"write_idx: array values {lo}..{hi} do not fit any IDX "
                        f"integer type (int32 at most)")
    raise TypeError(f"write_idx: IDX cannot store array dtype {a.dtype}; use uint8, "
                    f"int8, int16, int32, float32 or float64")


def write_idx(path: PathLike, array, *, compresslevel: int = 9) -> Path:
    """Write ``array`` as an IDX file; gzip-compressed if ``path`` ends in ``.gz``.

    The IDX type follows the dtype (uint8, int8, int16, int32, float32,
    float64).  Other integer arrays (e.g. ``int64`` labels) are stored in
    the smallest of uint8, int8, int16, int32 that holds their values
    exactly, so ``read_idx`` gives back equal values (uint8 for MNIST labels
    and images).  The gzip header carries no name or time stamp, so equal
    arrays give byte-identical files.  The file is written to a temporary
    file and renamed into place.  Returns the path.
    """
    path = _check_path("path", path)
    compresslevel = _check_int("compresslevel", compresslevel, 0, 9)
    a = _as_array("array", array, numeric=False)
    if a.ndim == 0:
        raise ValueError("write_idx: array must have at least one dimension (IDX needs one)")
    if a.ndim > 255 or any(d >= 2 ** 32 for d in a.shape):
        raise ValueError(f"write_idx: array shape {a.shape} does not fit an IDX header")
    dt = _idx_dtype_for(a)
    header = struct.pack(">BBBB", 0, 0, _IDX_CODES[dt], a.ndim)
    header += struct.pack(f">{a.ndim}I", *a.shape)
    payload = np.ascontiguousarray(a, dtype=dt.newbyteorder(">") if dt.itemsize > 1 else dt)
    fd, tmp = _create_temp(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as raw:
            if path.suffix == ".gz":
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                   compresslevel=compresslevel) as f:
                    f.write(header)
                    f.write(payload.tobytes())
            else:
                raw.write(header)
                raw.write(payload.tobytes())
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    return path


# --------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------
def _load_split(images_path: Path, labels_path: Path, flatten: bool):
    X = read_idx(images_path, expected_magic=IMAGES_MAGIC)
    y = read_idx(labels_path, expected_magic=LABELS_MAGIC)
    if X.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{images_path}: images are {X.shape[1]}x{X.shape[2]}, "
                         f"expected 28x28")
    if len(X) != len(y):
        raise ValueError(f"{images_path} has {len(X)} images but {labels_path} "
                         f"has {len(y)} labels")
    bad = np.flatnonzero(y >= N_CLASSES)
    if bad.size:
        raise ValueError(f"{labels_path}: {bad.size} label(s) outside 0..9, "
                         f"first at index {bad[0]} (value {y[bad[0]]})")
    if flatten:
        X = X.reshape(len(X), -1)
    return X, y.astype(np.int64)


def _load_paths(paths: Dict[str, Path], flatten: bool, source: str) -> MNISTData:
    X_train, y_train = _load_split(paths["train_images"], paths["train_labels"], flatten)
    X_test, y_test = _load_split(paths["test_images"], paths["test_labels"], flatten)
    return MNISTData(X_train, y_train, X_test, y_test, source=source)


def load_mnist(data_home: Optional[PathLike] = None, download: bool = True,
               mirrors: Union[None, str, Iterable[str]] = None, flatten: bool = False,
               timeout: float = 30, verbose: bool = True) -> MNISTData:
    """Load the full MNIST data set (60,000 training, 10,000 test images).

    Files are looked for in :func:`get_data_home` ``(data_home)``, verified
    by SHA-256, and downloaded when missing or damaged (unless
    ``download=False``) from ``mirrors`` / ``$FASTNN_MNIST_MIRROR`` /
    :data:`DEFAULT_MIRRORS`, with a progress bar when ``verbose``; see
    :func:`fetch_mnist` for the errors raised.

    Returns an :class:`MNISTData` (unpacks as ``X_train, y_train, X_test,
    y_test``): images ``uint8`` of shape ``(n, 28, 28)``, or ``(n, 784)``
    with ``flatten=True``; labels ``int64`` in 0..9.
    """
    _check_flag("flatten", flatten)
    paths = fetch_mnist(data_home, download=download, mirrors=mirrors,
                        timeout=timeout, verbose=verbose)
    return _load_paths(paths, flatten, "full")


def mnist_sample_dir() -> Path:
    """The directory of the bundled sample (inside the installed package)."""
    return Path(__file__).resolve().parent / "mnist_sample"


def load_mnist_sample(flatten: bool = False) -> MNISTData:
    """Load the sample of MNIST that ships with fastnn (no network needed).

    8,000 training and 2,000 test images drawn from the original files by a
    seeded choice stratified by class (see ``mnist_sample/README.md``
    and ``tools/make_mnist_sample.py``).  Same dtypes and shapes as
    :func:`load_mnist`; ``source == "sample"``.
    """
    _check_flag("flatten", flatten)
    folder = mnist_sample_dir()
    paths = {key: folder / spec.name for key, spec in MNIST_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(errno.ENOENT,
                                "the bundled MNIST sample is missing (broken install?)",
                                missing[0])
    return _load_paths(paths, flatten, "sample")


def load_mnist_or_sample(data_home: Optional[PathLike] = None, download: bool = True,
                         mirrors: Union[None, str, Iterable[str]] = None,
                         flatten: bool = False, timeout: float = 30,
                         verbose: bool = True) -> MNISTData:
    """The full MNIST set if it can be had, else the bundled sample and why.

    Tries :func:`load_mnist` with the same arguments.  If that fails (no
    network, every mirror down, ``download=False`` with no cached files,
    unwritable cache...), returns :func:`load_mnist_sample` with
    ``source == "sample"`` and ``reason`` holding the error message, and
    issues one :class:`MNISTSampleWarning` whose message is
    :func:`fallback_notice` (short: it is the sample, why, and how to get
    the full set).  ``verbose`` shows download progress bars.
    """
    # bad arguments are the caller's error, not a reason to fall back
    verbose = _check_fetch_args(data_home, download, mirrors, timeout, verbose)
    _check_flag("flatten", flatten)
    try:
        return load_mnist(data_home, download=download, mirrors=mirrors,
                          flatten=flatten, timeout=timeout, verbose=verbose)
    except (OSError, ValueError) as e:
        reason = f"{type(e).__name__}: {e}"
        summary = _short_reason(e)
    data = dataclasses.replace(load_mnist_sample(flatten=flatten), reason=reason)
    warnings.warn(fallback_notice(data, summary), MNISTSampleWarning, stacklevel=2)
    return data


class MNISTSampleWarning(UserWarning):
    """The full MNIST set could not be had: the bundled sample is used instead."""


def _short_reason(exc: BaseException) -> str:
    """One line on why the full set could not be had."""
    if isinstance(exc, MNISTDownloadError) and exc.attempts:
        tried = ", ".join(url for url, _ in exc.attempts)
        return f"downloading {exc.file} failed at every mirror ({tried})"
    first = str(exc).splitlines()[0].rstrip(":;. ") if str(exc) else type(exc).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def fallback_notice(data: MNISTData, why: Optional[str] = None) -> str:
    """The short notice for training on the bundled sample.

    Parameters
    ----------
    data : MNISTData
        What :func:`load_mnist_or_sample` returned, with ``source == "sample"``.
    why : str, optional
        One line on why (default: the first line of ``data.reason``).

    Returns
    -------
    str
        Two lines: that the sample is used and why; how to get the full set.
    """
    why = why or (data.reason or "").splitlines()[0]
    return (f"fastnn: using the MNIST sample shipped with fastnn ({len(data.y_train)} training, "
            f"{len(data.y_test)} test images), not the full set: {why}.\n"
            f"For the full set, go online once (fastnn.datasets.load_mnist() caches it) or set "
            f"{DATA_ENV} to a folder holding the four MNIST files.")


# --------------------------------------------------------------------------
# splitting
# --------------------------------------------------------------------------
class Split(NamedTuple):
    """Result of :func:`train_val_split`."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray


def _largest_remainder(counts: np.ndarray, total: int) -> np.ndarray:
    """Integer quotas proportional to ``counts`` summing to ``total``."""
    exact = counts * (total / counts.sum())
    quota = np.floor(exact).astype(np.int64)
    short = total - int(quota.sum())
    if short > 0:
        order = np.argsort(-(exact - quota), kind="stable")
        quota[order[:short]] += 1
    return np.minimum(quota, counts)


def _check_labels(name: str, y) -> np.ndarray:
    """Class labels: a 1-D array of numbers or strings (values comparable with
    each other, so that classes can be told apart)."""
    y = _as_array(name, y, numeric=False)
    if y.dtype.kind not in "biufUS":
        raise TypeError(f"{name} must hold class labels (numbers or strings), got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    return y


def train_val_indices(y, val_fraction: float = 0.1, seed: Optional[int] = 0,
                      stratify: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Indices ``(train_idx, val_idx)`` of a random training/validation split.

    ``round(val_fraction * n)`` samples (at least 1, and at least 1 left
    for training) go to validation.  With ``stratify`` each class
    contributes in proportion to its size (largest-remainder rounding), so
    class frequencies are the same in both parts to within one sample per
    class; otherwise the samples are drawn uniformly.  The choice depends
    only on ``y``, ``val_fraction`` and ``seed`` (``np.random.default_rng``;
    ``seed=None`` draws a fresh one).  Both index arrays are sorted.
    """
    y = _check_labels("y", y)
    n = len(y)
    val_fraction = _check_real("val_fraction", val_fraction)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    seed = _check_seed(seed)
    stratify = _check_flag("stratify", stratify)
    if n < 2:
        raise ValueError(f"y must hold at least 2 samples to split, got {n}")
    n_val = min(max(int(round(val_fraction * n)), 1), n - 1)
    rng = np.random.default_rng(seed)
    if stratify:
        classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        quotas = _largest_remainder(counts, n_val)
        val_parts = []
        for k in range(len(classes)):
            members = np.flatnonzero(inverse.reshape(-1) == k)
            val_parts.append(rng.permutation(members)[:quotas[k]])
        val_idx = np.sort(np.concatenate(val_parts)) if val_parts else np.empty(0, np.int64)
    else:
        val_idx = np.sort(rng.permutation(n)[:n_val])
    mask = np.ones(n, dtype=bool)
    mask[val_idx] = False
    return np.flatnonzero(mask).astype(np.int64), val_idx.astype(np.int64)


def train_val_split(X, y, val_fraction: float = 0.1, seed: Optional[int] = 0,
                    stratify: bool = True) -> Split:
    """Split ``(X, y)`` into training and validation parts (notes 000: split FIRST).

    Returns a :class:`Split` ``(X_train, y_train, X_val, y_val)``; samples
    keep their original order within each part.  See
    :func:`train_val_indices` for how the split is drawn.  Do this before
    fitting a :class:`Normalizer`, and fit it on ``X_train`` only.
    """
    X = _as_array("X", X, numeric=False, min_ndim=1)
    y = _check_labels("y", y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    tr, va = train_val_indices(y, val_fraction, seed=seed, stratify=stratify)
    return Split(X[tr], y[tr], X[va], y[va])


# --------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------
def _mean_std(X2: np.ndarray, per_pixel: bool):
    """Mean and (population) std in float64, two passes over row chunks."""
    n = len(X2)
    rows = max(1, (1 << 22) // max(1, X2.shape[1]))
    axis = 0 if per_pixel else None
    total = np.zeros(X2.shape[1]) if per_pixel else 0.0
    for s in range(0, n, rows):
        total = total + X2[s:s + rows].sum(axis=axis, dtype=np.float64)
    count = n if per_pixel else X2.size
    mean = total / count
    sq = np.zeros(X2.shape[1]) if per_pixel else 0.0
    for s in range(0, n, rows):
        d = X2[s:s + rows].astype(np.float64) - mean
        sq = sq + (d * d).sum(axis=axis)
    return mean, np.sqrt(sq / count)


class Normalizer:
    """Pixel normalisation fitted on the training split only (notes 000).

    ``method="minmax"`` maps the training split's range ``[min, max]`` to
    ``[0, 1]``: ``(x - min) / (max - min)``.  On MNIST (min 0, max 255) that
    is the notes' "divide by 255".  ``value_range=(0, 255)`` fixes the range
    instead of measuring it.  Values of other splits outside the training
    range land outside ``[0, 1]``; nothing is clipped.

    ``method="standardize"``: ``(x - mean) / std`` with the training
    split's mean and population standard deviation.

    Statistics are global (one number over all pixels of all training
    images) by default, which keeps the relative intensities of an image;
    ``per_pixel=True`` uses one statistic per pixel position instead.  A
    scale (``max - min`` or ``std``) of at most ``eps`` -- e.g. the MNIST
    border pixels, always 0 in training -- is replaced by 1, so constant
    pixels map to 0 instead of dividing by zero.

    Usage: ``norm = Normalizer("standardize").fit(X_train)``, then
    ``norm.transform(X_train)``, ``norm.transform(X_val)``,
    ``norm.transform(X_test)``.  ``fit`` looks at nothing but its argument
    and ``transform`` never refits.  After ``fit``: ``shift_`` and
    ``scale_`` (``transform(x) = (x - shift_) / scale_``, float64 scalars or
    arrays of the image shape), ``min_``/``max_`` or ``mean_``/``std_``,
    ``n_samples_``.
    """

    METHODS = ("minmax", "standardize")

    def __init__(self, method: str = "minmax", *, per_pixel: bool = False,
                 value_range: Optional[Tuple[float, float]] = None, eps: float = 1e-8,
                 dtype=np.float32):
        if not isinstance(method, str) or method not in self.METHODS:
            raise ValueError(f"method must be one of {self.METHODS}, got {method!r}")
        per_pixel = _check_flag("per_pixel", per_pixel)
        if value_range is not None:
            if method != "minmax":
                raise ValueError("value_range only applies to method='minmax'")
            value_range = _check_range("value_range", value_range)
        eps = _check_real("eps", eps)
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        if dtype is None:
            raise TypeError("dtype must be a floating dtype such as numpy.float32, got None")
        try:
            np_dtype = np.dtype(dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"dtype must be a floating dtype such as numpy.float32, "
                            f"got {dtype!r} ({e})") from None
        if np_dtype.kind != "f":
            raise ValueError(f"dtype must be a floating type, got {np_dtype}")
        self.method = method
        self.per_pixel = per_pixel
        self.value_range = value_range
        self.eps = eps
        self.dtype = np_dtype

    def __repr__(self):
        state = "fitted" if self.is_fitted else "not fitted"
        return (f"Normalizer(method={self.method!r}, per_pixel={self.per_pixel}, "
                f"value_range={self.value_range}, dtype={self.dtype.name}) [{state}]")

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "shift_")

    @staticmethod
    def _as_2d(X, name="X", allow_empty=False):
        X = _as_array(name, X)
        if X.ndim < 1 or (len(X) == 0 and not allow_empty):
            raise ValueError(f"{name} must be a non-empty batch of samples, got shape {X.shape}")
        if X.size == 0 and len(X):
            raise ValueError(f"{name} must have at least one value per sample, got shape {X.shape}")
        X2 = X.reshape(len(X), -1) if len(X) else X
        if X2.dtype.kind == "f" and not np.isfinite(X2).all():
            raise ValueError(f"{name} contains NaN or infinite values "
                             f"(run find_corrupted / clean first)")
        return X, X2

    def fit(self, X_train) -> "Normalizer":
        """Compute the statistics from ``X_train`` (the training split) only."""
        X, X2 = self._as_2d(X_train, "X_train")
        axis = 0 if self.per_pixel else None
        shape = X.shape[1:]
        if self.method == "minmax":
            if self.value_range is not None:
                lo, hi = (float(v) for v in self.value_range)
                lo = np.full(shape, lo) if self.per_pixel else lo
                hi = np.full(shape, hi) if self.per_pixel else hi
            else:
                lo = np.asarray(X2.min(axis=axis), dtype=np.float64)
                hi = np.asarray(X2.max(axis=axis), dtype=np.float64)
                if self.per_pixel:
                    lo, hi = lo.reshape(shape), hi.reshape(shape)
                else:
                    lo, hi = float(lo), float(hi)
            self.min_, self.max_ = lo, hi
            shift, scale = lo, np.subtract(hi, lo, dtype=np.float64)
        else:
            mean, std = _mean_std(X2, self.per_pixel)
            if self.per_pixel:
                mean, std = mean.reshape(shape), std.reshape(shape)
            else:
                mean, std = float(mean), float(std)
            self.mean_, self.std_ = mean, std
            shift, scale = mean, np.asarray(std, dtype=np.float64)
        scale = np.where(scale <= self.eps, 1.0, scale)
        self.shift_ = shift if self.per_pixel else float(shift)
        self.scale_ = scale if self.per_pixel else float(scale)
        self.n_samples_ = len(X)
        self.sample_shape_ = shape
        return self

    def _check_fitted(self):
        if not self.is_fitted:
            raise RuntimeError("this Normalizer is not fitted: call fit(X_train) first")

    def _params_for(self, X, name="X"):
        if not self.per_pixel:
            return self.shift_, self.scale_
        if X.shape[1:] == self.sample_shape_:
            return self.shift_, self.scale_
        if int(np.prod(X.shape[1:])) == int(np.prod(self.sample_shape_)):
            return self.shift_.reshape(X.shape[1:]), self.scale_.reshape(X.shape[1:])
        raise ValueError(f"{name}: samples of shape {X.shape[1:]} do not match the fitted "
                         f"per-pixel statistics of shape {self.sample_shape_}")

    def transform(self, X) -> np.ndarray:
        """``(X - shift_) / scale_`` as a new array of ``dtype`` (float32 by default).

        NaN or infinite values in ``X`` are refused (``ValueError``), as in
        :meth:`fit`; a batch of zero samples gives an empty result.
        """
        self._check_fitted()
        X, _ = self._as_2d(X, allow_empty=True)
        shift, scale = self._params_for(X)
        Z = X.astype(self.dtype, copy=True)
        Z -= np.asarray(shift, dtype=self.dtype)
        Z /= np.asarray(scale, dtype=self.dtype)
        return Z

    def fit_transform(self, X_train) -> np.ndarray:
        """``fit(X_train).transform(X_train)``."""
        return self.fit(X_train).transform(X_train)

    def inverse_transform(self, Z) -> np.ndarray:
        """Undo :meth:`transform` (float64 result)."""
        self._check_fitted()
        Z = _as_array("Z", Z).astype(np.float64)
        shift, scale = self._params_for(Z, "Z")
        return Z * scale + shift

    def to_dict(self) -> dict:
        """The fitted state as plain Python values (e.g. to save with a model)."""
        self._check_fitted()

        def plain(v):
            return np.asarray(v).tolist()

        return {"method": self.method, "per_pixel": self.per_pixel,
                "value_range": None if self.value_range is None else list(self.value_range),
                "eps": self.eps, "dtype": self.dtype.name,
                "shift": plain(self.shift_), "scale": plain(self.scale_),
                "n_samples": self.n_samples_, "sample_shape": list(self.sample_shape_)}

    @classmethod
    def from_dict(cls, state: dict) -> "Normalizer":
        """Rebuild a fitted Normalizer from :meth:`to_dict`."""
        keys = ("method", "per_pixel", "value_range", "eps", "dtype", "shift", "scale",
                "n_samples", "sample_shape")
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict from Normalizer.to_dict(), "
                            f"got {type(state).__name__}")
        missing = [k for k in keys if k not in state]
        if missing:
            raise ValueError(f"state lacks the key(s) {missing} of Normalizer.to_dict()")
        try:
            norm = cls(state["method"], per_pixel=state["per_pixel"],
                       value_range=state["value_range"], eps=state["eps"],
                       dtype=state["dtype"])
            shape = () if not state["sample_shape"] else _check_shape(
                "sample_shape", state["sample_shape"])
            n_samples = _check_int("n_samples", state["n_samples"], minimum=1)
            shift = _as_array("shift", state["shift"]).astype(np.float64)
            scale = _as_array("scale", state["scale"]).astype(np.float64)
            want = shape if norm.per_pixel else ()
            for name, v in (("shift", shift), ("scale", scale)):
                if v.size != int(np.prod(want)):
                    raise ValueError(f"{name} has {v.size} value(s), expected shape {want}")
                if not np.isfinite(v).all():
                    raise ValueError(f"{name} holds NaN or infinite values")
            if not (scale > 0).all():
                raise ValueError("scale must be > 0")
        except (TypeError, ValueError) as e:
            raise type(e)(f"state: {e}") from None
        if norm.per_pixel:
            norm.shift_ = shift.reshape(shape)
            norm.scale_ = scale.reshape(shape)
        else:
            norm.shift_, norm.scale_ = float(shift.reshape(())), float(scale.reshape(()))
        if norm.method == "minmax":
            norm.min_ = norm.shift_
            norm.max_ = norm.shift_ + norm.scale_
        else:
            norm.mean_, norm.std_ = norm.shift_, norm.scale_
        norm.n_samples_ = n_samples
        norm.sample_shape_ = shape
        return norm


# --------------------------------------------------------------------------
# corrupted images
# --------------------------------------------------------------------------
#: Reasons an image is dropped, in the order they are checked; an image is
#: counted under the first that applies.
CORRUPTION_REASONS = ("unreadable", "wrong_shape", "bad_label", "non_finite",
                      "out_of_range", "conflicting_duplicate")

_REASON_TEXT = {
    "unreadable": "unreadable (not a numeric array)",
    "wrong_shape": "wrong shape",
    "bad_label": "label not an integer in range",
    "non_finite": "NaN or infinite pixels",
    "out_of_range": "pixel values out of range",
    "conflicting_duplicate": "identical images with conflicting labels",
}


@dataclasses.dataclass(eq=False)
class CorruptionReport:
    """What :func:`find_corrupted` found.

    ``indices[reason]`` holds the (sorted) indices of the images dropped for
    that reason -- each bad image under the first reason of
    :data:`CORRUPTION_REASONS` that applies, so the counts add up to
    ``n_removed``.  ``keep`` is the boolean mask of good images.
    """

    n_total: int
    indices: Dict[str, np.ndarray]
    keep: np.ndarray

    @property
    def bad_indices(self) -> np.ndarray:
        return np.flatnonzero(~self.keep)

    @property
    def n_removed(self) -> int:
        return int((~self.keep).sum())

    @property
    def n_kept(self) -> int:
        return self.n_total - self.n_removed

    @property
    def counts(self) -> Dict[str, int]:
        return {r: int(len(self.indices[r])) for r in CORRUPTION_REASONS}

    def summary(self) -> str:
        if not self.n_removed:
            return f"no corrupted images among {self.n_total}"
        parts = ", ".join(f"{c} {_REASON_TEXT[r]}" for r, c in self.counts.items() if c)
        return f"removed {self.n_removed} of {self.n_total} images: {parts}"

    __str__ = summary


def _label_ok(labels, n_classes: int) -> np.ndarray:
    """Boolean mask: label is an integer (or integral float) in 0..n_classes-1."""
    y = np.asarray(labels)
    if y.dtype.kind in "iu":
        return (y >= 0) & (y < n_classes)
    if y.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            return np.isfinite(y) & (y == np.round(y)) & (y >= 0) & (y < n_classes)
    ok = np.zeros(len(y), dtype=bool)
    for i, v in enumerate(y.tolist() if y.dtype.kind != "O" else list(y)):
        if isinstance(v, (bool, np.bool_)):
            continue
        if isinstance(v, (int, np.integer)):
            ok[i] = 0 <= int(v) < n_classes
        elif isinstance(v, (float, np.floating)):
            ok[i] = bool(np.isfinite(v)) and float(v).is_integer() and 0 <= v < n_classes
    return ok


def _check_images(X) -> None:
    """X for find_corrupted/clean: an array of images or a sequence of them."""
    if isinstance(X, np.ndarray):
        if X.ndim == 0:
            raise ValueError("X must be an array or sequence of images, got a 0-d array")
        return
    if X is None or isinstance(X, (str, bytes, dict)) or not isinstance(X, Sequence):
        raise TypeError(f"X must be an array or sequence of images, "
                        f"got {type(X).__name__} {X!r:.40}")


def find_corrupted(X, y, *, image_shape: Tuple[int, ...] = IMAGE_SHAPE,
                   n_classes: int = N_CLASSES,
                   value_range: Tuple[float, float] = (0, 255)) -> CorruptionReport:
    """Find the images that should not be trained on (notes 000).

    ``X`` is an array of images ``(n, 28, 28)`` / ``(n, 784)`` or a sequence
    of per-image arrays (e.g. read from separate files), ``y`` the labels.
    An image is corrupted when it is

    * ``unreadable``: not convertible to a numeric array (``None``, text...);
    * ``wrong_shape``: neither ``image_shape`` nor its flattened form;
    * ``bad_label``: its label is not an integer in ``0..n_classes-1``;
    * ``non_finite``: any pixel is NaN or infinite;
    * ``out_of_range``: any pixel lies outside ``value_range`` (inclusive);
    * ``conflicting_duplicate``: identical (same pixel values) to another
      otherwise good image carrying a different label -- every copy goes,
      since which label is right cannot be told.  Identical images with the
      same label are kept.

    Returns a :class:`CorruptionReport`.  ``len(X) != len(y)`` is a
    ``ValueError``.
    """
    _check_images(X)
    y_arr = _as_array("y", y, numeric=False)
    if y_arr.ndim != 1:
        raise ValueError(f"y must be a 1-D sequence of labels, got shape {y_arr.shape}")
    n = len(X)
    if len(y_arr) != n:
        raise ValueError(f"X has {n} images but y has {len(y_arr)} labels")
    shape = _check_shape("image_shape", image_shape)
    size = int(np.prod(shape))
    n_classes = _check_int("n_classes", n_classes, minimum=1)
    lo, hi = _check_range("value_range", value_range, finite=False)
    reason = np.full(n, "", dtype=object)

    def mark(mask, why):
        mask = np.asarray(mask, dtype=bool) & (reason == "")
        reason[mask] = why

    # shape / readability, giving a 2-D array of candidate rows
    if isinstance(X, np.ndarray) and X.dtype.kind in "biuf":
        rows_ok = np.ones(n, dtype=bool)
        if X.shape[1:] in (shape, (size,)):
            X2 = X.reshape(n, size)
        else:
            mark(rows_ok, "wrong_shape")
            rows_ok[:] = False
            X2 = np.zeros((n, size), dtype=X.dtype)
    else:
        rows_ok = np.zeros(n, dtype=bool)
        items = []
        for i in range(n):
            try:
                a = np.asarray(X[i])
            except Exception:
                a = None
            if a is None or a.dtype.kind not in "biuf":
                reason[i] = "unreadable"
            elif a.shape not in (shape, (size,)):
                reason[i] = "wrong_shape"
            else:
                rows_ok[i] = True
                items.append(a.reshape(size))
        dtype = np.result_type(*{a.dtype for a in items}) if items else np.uint8
        X2 = np.zeros((n, size), dtype=dtype)
        if items:
            X2[rows_ok] = np.stack(items)

    mark(~_label_ok(y_arr, n_classes), "bad_label")
    if X2.dtype.kind == "f":
        mark(rows_ok & ~np.isfinite(X2).all(axis=1), "non_finite")
    kind_info = np.iinfo(X2.dtype) if X2.dtype.kind in "iu" else None
    if kind_info is None or kind_info.min < lo or kind_info.max > hi:
        with np.errstate(invalid="ignore"):
            mark(rows_ok & ((X2 < lo) | (X2 > hi)).any(axis=1), "out_of_range")

    # identical images with different labels
    cand = np.flatnonzero(reason == "")
    if cand.size > 1:
        rows = np.ascontiguousarray(X2[cand])
        if rows.dtype.kind == "f":
            rows = rows + 0.0  # -0.0 -> +0.0, so equal values hash equal
        groups: Dict[bytes, List[int]] = {}
        for j, row in zip(cand, rows):
            groups.setdefault(hashlib.blake2b(row.tobytes(), digest_size=16).digest(),
                              []).append(int(j))
        yc = np.asarray(y_arr)
        for members in groups.values():
            if len(members) > 1:
                labels = {int(yc[m]) for m in members}
                if len(labels) > 1:
                    reason[members] = "conflicting_duplicate"

    indices = {r: np.flatnonzero(reason == r).astype(np.int64) for r in CORRUPTION_REASONS}
    return CorruptionReport(n_total=n, indices=indices, keep=(reason == ""))


def clean(X, y, **kwargs):
    """Drop the images :func:`find_corrupted` flags.

    Returns ``(X_clean, y_clean, report)``: ``X_clean`` an array of the kept
    images (an array ``X`` keeps its shape per image; a sequence becomes a
    stacked array of ``image_shape``), ``y_clean`` their labels as
    ``int64``, ``report`` the :class:`CorruptionReport` (``str(report)``
    says how many were removed and why).  Keyword arguments go to
    :func:`find_corrupted`.
    """
    report = find_corrupted(X, y, **kwargs)
    keep = np.flatnonzero(report.keep)
    shape = _check_shape("image_shape", kwargs.get("image_shape", IMAGE_SHAPE))
    if isinstance(X, np.ndarray) and X.dtype.kind in "biuf":
        if X.shape[1:] in (shape, (int(np.prod(shape)),)):
            X_clean = X[keep]
        else:  # every image had the wrong shape
            X_clean = np.empty((0,) + shape, dtype=X.dtype)
    else:
        items = [np.asarray(X[i]).reshape(shape) for i in keep]
        X_clean = np.stack(items) if items else np.empty((0,) + shape, dtype=np.uint8)
    y_kept = np.asarray(y)[keep]
    if y_kept.dtype.kind in "iu":
        y_clean = y_kept.astype(np.int64)
    else:  # integral floats or Python ints in an object array, all valid by now
        y_clean = np.array([int(v) for v in y_kept], dtype=np.int64)
    return X_clean, y_clean, report


# --------------------------------------------------------------------------
# the whole preprocessing work flow
# --------------------------------------------------------------------------
@dataclasses.dataclass(eq=False, repr=False)
class PreparedData:
    """Normalised training/validation/test sets; unpacks as a 6-tuple.

    ``X_train, y_train, X_val, y_val, X_test, y_test = prepare_mnist(data)``.
    ``normalizer`` was fitted on ``X_train`` (the training split) only;
    ``reports`` holds the :class:`CorruptionReport` of the training and the
    test data (keys ``"train"``, ``"test"``; empty when not cleaned);
    ``source``/``reason`` are copied from the input :class:`MNISTData`.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    normalizer: Normalizer
    reports: Dict[str, CorruptionReport]
    source: str = "full"
    reason: Optional[str] = None

    def __iter__(self):
        return iter((self.X_train, self.y_train, self.X_val, self.y_val,
                     self.X_test, self.y_test))

    def __len__(self):
        return 6

    def __repr__(self):
        return (f"PreparedData(source={self.source!r}, X_train={_desc(self.X_train)}, "
                f"X_val={_desc(self.X_val)}, X_test={_desc(self.X_test)}, "
                f"normalizer={self.normalizer!r})")


def _int_labels(name: str, y) -> np.ndarray:
    """Labels as int64; integers or integral floats only (no silent truncation)."""
    y = _as_array(name, y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    if y.dtype.kind == "f" and not (np.isfinite(y) & (y == np.round(y))).all():
        raise ValueError(f"{name} must hold integer class labels, got non-integral values")
    return y.astype(np.int64)


def _renamed(suffix: str, fn, *args, **kwargs):
    """fn(...) with the X / y its errors name called X<suffix> / y<suffix>."""
    try:
        return fn(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise type(e)(re.sub(r"(?<![A-Za-z_])([Xy])(?![A-Za-z_])", r"\1" + suffix,
                             str(e))) from None


def prepare_mnist(data, val_fraction: float = 0.1, seed: Optional[int] = 0, *,
                  method: str = "minmax", per_pixel: bool = False, stratify: bool = True,
                  flatten: bool = True, drop_corrupted: bool = True,
                  dtype=np.float32) -> PreparedData:
    """Notes 000's work flow: clean, split first, fit on training, normalise all.

    ``data`` is an :class:`MNISTData` or any ``(X_train, y_train, X_test,
    y_test)``.  Steps: 1. (``drop_corrupted``) :func:`clean` the training
    and the test data separately; 2. :func:`train_val_split` the training
    data (``val_fraction``, ``seed``, ``stratify``); 3. fit a
    :class:`Normalizer` (``method``, ``per_pixel``) on the training split
    only; 4. transform training, validation and test sets with it (to
    ``dtype``, flattened to ``(n, 784)`` when ``flatten``).
    """
    if data is None or isinstance(data, (str, bytes, dict, np.ndarray)) \
            or not isinstance(data, (Sequence, MNISTData)):
        raise TypeError(f"data must be an MNISTData or a tuple (X_train, y_train, X_test, "
                        f"y_test), got {type(data).__name__}")
    if len(data) != 4:
        raise ValueError(f"data must hold 4 arrays (X_train, y_train, X_test, y_test), "
                         f"got {len(data)}")
    X_train, y_train, X_test, y_test = tuple(data)
    # cheap arguments first, before any work on the data
    val_fraction = _check_real("val_fraction", val_fraction)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    seed = _check_seed(seed)
    stratify = _check_flag("stratify", stratify)
    flatten = _check_flag("flatten", flatten)
    drop_corrupted = _check_flag("drop_corrupted", drop_corrupted)
    norm = Normalizer(method, per_pixel=per_pixel, dtype=dtype)
    reports = {}
    if drop_corrupted:
        X_train, y_train, reports["train"] = _renamed("_train", clean, X_train, y_train)
        X_test, y_test, reports["test"] = _renamed("_test", clean, X_test, y_test)
    else:
        X_train = _as_array("X_train", X_train, min_ndim=1)
        X_test = _as_array("X_test", X_test, min_ndim=1)
        y_train = _int_labels("y_train", y_train)
        y_test = _int_labels("y_test", y_test)
        if len(X_test) != len(y_test):
            raise ValueError(f"X_test has {len(X_test)} samples but y_test has {len(y_test)}")
    split = _renamed("_train", train_val_split, X_train, y_train, val_fraction, seed=seed,
                     stratify=stratify)
    norm.fit(split.X_train)

    def prep(X, name):
        Z = _renamed(name[1:], norm.transform, X)
        return Z.reshape(len(Z), -1) if flatten else Z

    return PreparedData(prep(split.X_train, "X_train"), split.y_train,
                        prep(split.X_val, "X_train"), split.y_val,
                        prep(X_test, "X_test"), y_test, norm, reports,
                        source=getattr(data, "source", "full"),
                        reason=getattr(data, "reason", None))


# --------------------------------------------------------------------------
# plotting
# --------------------------------------------------------------------------
#: most rows (classes) and columns (per_class) plot_samples draws
_PLOT_MAX = 100
_PLOT_HINT = ('plot_samples needs matplotlib: pip install "fastnn[plot]" '
              '(or pip install matplotlib)')


def plot_samples(X, y, path: PathLike, per_class: int = 5, *,
                 classes: Optional[Sequence[int]] = None, seed: Optional[int] = None,
                 title: Optional[str] = None, dpi: int = 100) -> Path:
    """Write a PNG grid with ``per_class`` images of each class (notes 000).

    One row per class (``classes``, default: the labels present in ``y``,
    sorted), the first ``per_class`` images of that class in order, or a
    random choice with ``seed``.  ``X`` holds images ``(n, h, w)`` or
    flattened square images ``(n, h*w)``, in any numeric range (the grey
    scale spans the shown images' min..max).  Uses matplotlib's Agg canvas
    directly, so the pyplot backend is left alone; raises ``ImportError``
    saying how to install matplotlib when it is missing.  Returns the path.
    """
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(_PLOT_HINT) from e

    X = _as_array("X", X, min_ndim=1)
    y = _check_labels("y", y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} images but y has {len(y)} labels")
    per_class = _check_int("per_class", per_class, minimum=1, maximum=_PLOT_MAX)
    dpi = _check_int("dpi", dpi, minimum=1, maximum=2000)
    seed = _check_seed(seed)
    path = _check_path("path", path)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    if classes is not None and (isinstance(classes, (str, bytes, dict))
                                or not isinstance(classes, Iterable)):
        raise TypeError(f"classes must be a sequence of labels, got {type(classes).__name__}")
    if X.ndim == 2:
        side = int(round(np.sqrt(X.shape[1])))
        if side * side != X.shape[1]:
            raise ValueError(f"cannot show flattened images of {X.shape[1]} pixels "
                             f"(not a square); pass (n, h, w)")
        X = X.reshape(len(X), side, side)
    elif X.ndim != 3:
        raise ValueError(f"expected images (n, h, w) or (n, h*w), got shape {X.shape}")
    classes = list(np.unique(y)) if classes is None else list(classes)
    if len(classes) > _PLOT_MAX:
        raise ValueError(f"cannot draw {len(classes)} classes (rows) at once, at most "
                         f"{_PLOT_MAX}; pass classes=[...] or fewer distinct labels in y")
    rng = np.random.default_rng(seed) if seed is not None else None
    chosen = []
    for c in classes:
        members = np.flatnonzero(y == c)
        if rng is not None and len(members) > per_class:
            members = np.sort(rng.choice(members, per_class, replace=False))
        chosen.append(members[:per_class])
    shown = np.concatenate(chosen) if chosen else np.empty(0, np.int64)
    vmin = float(X[shown].min()) if shown.size else 0.0
    vmax = float(X[shown].max()) if shown.size else 1.0
    if vmax <= vmin:
        vmax = vmin + 1.0

    rows = max(len(classes), 1)
    fig = Figure(figsize=(per_class * 1.0 + 0.6, rows * 1.0 + (0.5 if title else 0.1)),
                 dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, per_class, squeeze=False)
    for r, (c, members) in enumerate(zip(classes, chosen)):
        for k in range(per_class):
            ax = axes[r][k]
            ax.set_xticks([])
            ax.set_yticks([])
            if k < len(members):
                ax.imshow(X[members[k]], cmap="gray", vmin=vmin, vmax=vmax,
                          interpolation="nearest")
            else:
                ax.set_axis_off()
        axes[r][0].set_axis_on()
        axes[r][0].set_ylabel(str(c), rotation=0, labelpad=12, va="center")
        for spine in axes[r][0].spines.values():
            spine.set_visible(len(members) > 0)
    if title:
        fig.suptitle(title)
    if str(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi)
    return path
