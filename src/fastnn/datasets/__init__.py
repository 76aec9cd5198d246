r"""MNIST data layer: download, verify, read, preprocess and look at the data.

The task of notes 000 is to classify the MNIST handwritten digits: 60,000
training and 10,000 test images, 28x28 grey levels 0..255.  This package
gets those images into NumPy arrays and prepares them the way the notes
prescribe.

Getting the data: :func:`load_mnist` looks for the four original files
(``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``) directly
inside the data directory (:func:`get_data_home`: the ``data_home``
argument, else ``$FASTNN_DATA``, else ``$XDG_CACHE_HOME/fastnn`` or
``~/.cache/fastnn``, on Windows ``%LOCALAPPDATA%\fastnn``).  Every file is
checked against its published size and SHA-256 before use.  A missing or
damaged file is downloaded (only with ``urllib``) from the mirrors of
:data:`DEFAULT_MIRRORS`, tried in order, or from those given by the
``mirrors`` argument or ``$FASTNN_MNIST_MIRROR``.  A failed, partial or
corrupt download leaves nothing behind, and the :class:`MNISTDownloadError`
it raises names every mirror tried and what went wrong there.  Without
network access, :func:`load_mnist_sample` loads the small stratified sample
that ships with the package (8,000 training and 2,000 test images), and
:func:`load_mnist_or_sample` returns the full set when it can be had and
the sample, with the reason, when it cannot.

Returned arrays: images are ``uint8`` of shape ``(n, 28, 28)``, or
``(n, 784)`` with ``flatten=True`` (a view, row-major, pixel ``(r, c)`` at
column ``28 * r + c``); labels are ``int64`` class indices 0..9 (not the
files' ``uint8``, so that ``y - 1`` or a loss's index arithmetic cannot
wrap around).

Preprocessing (notes 000, "Data has to be Pre-Processed"): 1. split the
data into training, validation and test sets; 2. compute the normalisation
statistics from the training split only; 3. normalise all three sets with
those same parameters.  Hence :func:`train_val_split` (stratified by
default), :class:`Normalizer` (``fit`` on the training split, ``transform``
everything), and :func:`prepare_mnist`, which runs the three steps in that
order.  :func:`find_corrupted` / :func:`clean` detect and drop unusable
images and say how many went and why; :func:`plot_samples` draws a few
images of each class to check that images and labels agree.
:func:`read_idx` and :func:`write_idx` read and write the IDX format of the
MNIST files.

The modules: :mod:`~fastnn.datasets.files` (the files' names, sizes,
checksums, mirrors), :mod:`~fastnn.datasets.errors`,
:mod:`~fastnn.datasets.download` (data directory, mirrors, verified
downloads; the only one touching the network), :mod:`~fastnn.datasets.idx`,
:mod:`~fastnn.datasets.mnist` (loading), :mod:`~fastnn.datasets.split`,
:mod:`~fastnn.datasets.normalize`, :mod:`~fastnn.datasets.corruption`,
:mod:`~fastnn.datasets.prepare`, :mod:`~fastnn.datasets.plots` and
:mod:`~fastnn.datasets.augment`.
"""

from .augment import RandomShift
from .corruption import CORRUPTION_REASONS, CorruptionReport, clean, find_corrupted
from .download import fetch_mnist, get_data_home, resolve_mirrors
from .errors import MNISTCacheError, MNISTDownloadError, MNISTError, MNISTSampleWarning
from .files import DATA_ENV as DATA_ENV
from .files import DEFAULT_MIRRORS, MNIST_FILES, MNISTFile
from .files import IMAGE_SHAPE as IMAGE_SHAPE
from .files import IMAGES_MAGIC as IMAGES_MAGIC
from .files import LABELS_MAGIC as LABELS_MAGIC
from .files import MIRROR_ENV as MIRROR_ENV
from .files import N_CLASSES as N_CLASSES
from .idx import read_idx, write_idx
from .mnist import MNISTData, fallback_notice, load_mnist, load_mnist_or_sample, load_mnist_sample, mnist_sample_dir
from .normalize import Normalizer
from .plots import plot_samples
from .prepare import PreparedData, prepare_mnist
from .split import Split, train_val_indices, train_val_split

__all__ = [
    "CORRUPTION_REASONS",
    "DEFAULT_MIRRORS",
    "MNIST_FILES",
    "CorruptionReport",
    "MNISTCacheError",
    "MNISTData",
    "MNISTDownloadError",
    "MNISTError",
    "MNISTFile",
    "MNISTSampleWarning",
    "Normalizer",
    "PreparedData",
    "RandomShift",
    "Split",
    "clean",
    "fallback_notice",
    "fetch_mnist",
    "find_corrupted",
    "get_data_home",
    "load_mnist",
    "load_mnist_or_sample",
    "load_mnist_sample",
    "mnist_sample_dir",
    "plot_samples",
    "prepare_mnist",
    "read_idx",
    "resolve_mirrors",
    "train_val_indices",
    "train_val_split",
    "write_idx",
]

