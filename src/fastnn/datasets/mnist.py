"""Loading MNIST: the full set, the bundled sample, or the full set else the sample.

Images are ``uint8`` of shape ``(n, 28, 28)``, or ``(n, 784)`` with
``flatten=True``; labels are ``int64`` class indices 0..9.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import SupportsIndex, overload

import numpy as np

from .._validation import check_bool
from .download import check_fetch_args, fetch_mnist
from .errors import MNISTDownloadError, MNISTSampleWarning
from .files import DATA_ENV, IMAGE_SHAPE, IMAGES_MAGIC, LABELS_MAGIC, MNIST_FILES, N_CLASSES
from .idx import read_idx

__all__ = [
    "MNISTData",
    "describe_array",
    "fallback_notice",
    "load_mnist",
    "load_mnist_or_sample",
    "load_mnist_sample",
    "mnist_sample_dir",
]


def describe_array(a: np.ndarray) -> str:
    """Describe ``a`` for a repr: ``<dtype shape>``.

    Parameters
    ----------
    a : numpy.ndarray
        The array.

    Returns
    -------
    str
        E.g. ``"<uint8 (60000, 28, 28)>"``.
    """
    return f"<{a.dtype} {tuple(a.shape)}>"


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class MNISTData:
    """Training and test images and labels; unpacks as a 4-tuple.

    ``X_train, y_train, X_test, y_test = load_mnist()`` works, as do
    ``data.X_train`` and ``data[0]``.

    Parameters
    ----------
    X_train : numpy.ndarray
        Training images, ``uint8``, shape ``(n, 28, 28)`` (or ``(n, 784)``
        when loaded with ``flatten=True``).
    y_train : numpy.ndarray
        Training labels, ``int64`` in 0..9.
    X_test : numpy.ndarray
        Test images, as ``X_train``.
    y_test : numpy.ndarray
        Test labels, as ``y_train``.
    source : str, default "full"
        ``"full"`` (the original 60,000 + 10,000 images) or ``"sample"``
        (the bundled sample).
    reason : str, optional
        Why the sample was used when :func:`load_mnist_or_sample` fell back
        to it (else ``None``).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str = "full"
    reason: str | None = None

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (self.X_train, self.y_train, self.X_test, self.y_test)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self._arrays())

    def __len__(self) -> int:
        return 4

    @overload
    def __getitem__(self, index: SupportsIndex) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[np.ndarray, ...]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> np.ndarray | tuple[np.ndarray, ...]:
        return self._arrays()[index]

    @property
    def is_sample(self) -> bool:
        """True when these are the bundled sample, not the full data set."""
        return self.source == "sample"

    def __repr__(self) -> str:
        extra = f", reason={self.reason!r}" if self.reason else ""
        return (f"MNISTData(source={self.source!r}, X_train={describe_array(self.X_train)}, "
                f"y_train={describe_array(self.y_train)}, X_test={describe_array(self.X_test)}, "
                f"y_test={describe_array(self.y_test)}{extra})")


def _load_split(images_path: Path, labels_path: Path, flatten: bool) -> tuple[np.ndarray, np.ndarray]:
    """Read one part's images and labels and check that they belong together."""
    X = read_idx(images_path, expected_magic=IMAGES_MAGIC)
    y = read_idx(labels_path, expected_magic=LABELS_MAGIC)
    if X.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{images_path}: images are {X.shape[1]}x{X.shape[2]}, expected 28x28")
    if len(X) != len(y):
        raise ValueError(f"{images_path} has {len(X)} images but {labels_path} has {len(y)} labels")
    bad = np.flatnonzero(y >= N_CLASSES)
    if bad.size:
        raise ValueError(f"{labels_path}: {bad.size} label(s) outside 0..9, "
                         f"first at index {bad[0]} (value {y[bad[0]]})")
    if flatten:
        X = X.reshape(len(X), -1)
    return X, y.astype(np.int64)


def _load_paths(paths: dict[str, Path], flatten: bool, source: str) -> MNISTData:
    """Read the four files of ``paths`` (keyed as MNIST_FILES)."""
    X_train, y_train = _load_split(paths["train_images"], paths["train_labels"], flatten)
    X_test, y_test = _load_split(paths["test_images"], paths["test_labels"], flatten)
    return MNISTData(X_train, y_train, X_test, y_test, source=source)


def load_mnist(data_home: str | os.PathLike[str] | None = None, download: bool = True,
               mirrors: str | Iterable[str] | None = None, flatten: bool = False,
               timeout: float = 30, verbose: bool = True) -> MNISTData:
    """Load the full MNIST data set (60,000 training, 10,000 test images).

    Files are looked for in :func:`get_data_home` ``(data_home)``, verified
    by SHA-256, and downloaded when missing or damaged (unless
    ``download=False``); see :func:`fetch_mnist`.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        The data directory (default: :func:`get_data_home`).
    download : bool, default True
        Download missing or damaged files.
    mirrors : str or iterable of str, optional
        Where to download from (default: ``$FASTNN_MNIST_MIRROR``, else
        :data:`DEFAULT_MIRRORS`).
    flatten : bool, default False
        Return images of shape ``(n, 784)`` instead of ``(n, 28, 28)``.
    timeout : float, default 30
        Seconds allowed for connecting and for each read.
    verbose : bool, default True
        Show download progress bars.

    Returns
    -------
    MNISTData
        Unpacks as ``X_train, y_train, X_test, y_test``: images ``uint8``,
        labels ``int64`` in 0..9.

    Raises
    ------
    MNISTCacheError
        With ``download=False``: a file is missing or damaged.
    MNISTDownloadError
        When a file could not be downloaded from any mirror.
    TypeError
        For an argument of the wrong type.
    ValueError
        For an argument of the right type but an unusable value.

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = load_mnist()  # doctest: +SKIP
    """
    check_bool("flatten", flatten)
    paths = fetch_mnist(data_home, download=download, mirrors=mirrors, timeout=timeout, verbose=verbose)
    return _load_paths(paths, flatten, "full")


def mnist_sample_dir() -> Path:
    """Return the directory of the bundled sample (inside the installed package).

    Returns
    -------
    pathlib.Path
        The ``mnist_sample`` folder of :mod:`fastnn.datasets`.
    """
    return Path(__file__).resolve().parent / "mnist_sample"


def load_mnist_sample(flatten: bool = False) -> MNISTData:
    """Load the sample of MNIST that ships with fastnn (no network needed).

    8,000 training and 2,000 test images drawn from the original files by a
    seeded choice stratified by class (see ``mnist_sample/README.md`` and
    ``tools/make_mnist_sample.py``).

    Parameters
    ----------
    flatten : bool, default False
        Return images of shape ``(n, 784)`` instead of ``(n, 28, 28)``.

    Returns
    -------
    MNISTData
        Same dtypes and shapes as :func:`load_mnist`; ``source == "sample"``.

    Raises
    ------
    FileNotFoundError
        When the sample is missing (a broken installation).
    TypeError
        For a ``flatten`` that is not a bool.
    """
    check_bool("flatten", flatten)
    folder = mnist_sample_dir()
    paths = {key: folder / spec.name for key, spec in MNIST_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(errno.ENOENT, "the bundled MNIST sample is missing (broken install?)", missing[0])
    return _load_paths(paths, flatten, "sample")


def load_mnist_or_sample(data_home: str | os.PathLike[str] | None = None, download: bool = True,
                         mirrors: str | Iterable[str] | None = None, flatten: bool = False,
                         timeout: float = 30, verbose: bool = True) -> MNISTData:
    """Return the full MNIST set if it can be had, else the bundled sample and why.

    Tries :func:`load_mnist` with the same arguments.  If that fails (no
    network, every mirror down, ``download=False`` with no cached files,
    unwritable cache...), returns :func:`load_mnist_sample` with ``reason``
    holding the error message, and issues one :class:`MNISTSampleWarning`
    whose message is :func:`fallback_notice`.

    Parameters
    ----------
    data_home : str or os.PathLike, optional
        The data directory (default: :func:`get_data_home`).
    download : bool, default True
        Download missing or damaged files.
    mirrors : str or iterable of str, optional
        Where to download from.
    flatten : bool, default False
        Return images of shape ``(n, 784)`` instead of ``(n, 28, 28)``.
    timeout : float, default 30
        Seconds allowed for connecting and for each read.
    verbose : bool, default True
        Show download progress bars.

    Returns
    -------
    MNISTData
        The full set (``source == "full"``) or the sample (``source ==
        "sample"``, with ``reason``).

    Raises
    ------
    TypeError
        For an argument of the wrong type (never a reason to fall back).
    ValueError
        For an argument of the right type but an unusable value.

    Warns
    -----
    MNISTSampleWarning
        When the sample is returned.
    """
    # bad arguments are the caller's error, not a reason to fall back
    verbose = check_fetch_args(data_home, download, mirrors, timeout, verbose)
    check_bool("flatten", flatten)
    try:
        return load_mnist(data_home, download=download, mirrors=mirrors, flatten=flatten, timeout=timeout,
                          verbose=verbose)
    except (OSError, ValueError) as e:
        reason = f"{type(e).__name__}: {e}"
        summary = _short_reason(e)
    data = dataclasses.replace(load_mnist_sample(flatten=flatten), reason=reason)
    warnings.warn(fallback_notice(data, summary), MNISTSampleWarning, stacklevel=2)
    return data


def _short_reason(exc: BaseException) -> str:
    """Say in one line why the full set could not be had."""
    if isinstance(exc, MNISTDownloadError) and exc.attempts:
        tried = ", ".join(url for url, _ in exc.attempts)
        return f"downloading {exc.file} failed at every mirror ({tried})"
    first = str(exc).splitlines()[0].rstrip(":;. ") if str(exc) else type(exc).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def fallback_notice(data: MNISTData, why: str | None = None) -> str:
    """Return the short notice for training on the bundled sample.

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
