"""The MNIST files: names, sizes, checksums and mirrors, and safe file writes.

The four original files are known by their published size and SHA-256
(:data:`MNIST_FILES`); :data:`DEFAULT_MIRRORS` serve them.  A file is
always written under a temporary name beside its final one
(:func:`create_temp`) and renamed into place once complete, so that a
failed write never leaves a partial file under the final name.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "DATA_ENV",
    "DEFAULT_MIRRORS",
    "IMAGES_MAGIC",
    "IMAGE_SHAPE",
    "LABELS_MAGIC",
    "MIRROR_ENV",
    "MNIST_FILES",
    "N_CLASSES",
    "MNISTFile",
    "create_temp",
    "remove_quietly",
]


class MNISTFile(NamedTuple):
    """Name, size in bytes and SHA-256 of one of the original MNIST files.

    Parameters
    ----------
    name : str
        The file name, e.g. ``"train-images-idx3-ubyte.gz"``.
    size : int
        Its size in bytes.
    sha256 : str
        Its SHA-256 digest in hexadecimal.
    """

    name: str
    size: int
    sha256: str


#: The four original files, keyed ``train_images``, ``train_labels``,
#: ``test_images``, ``test_labels`` (in the order they are fetched).
MNIST_FILES: dict[str, MNISTFile] = {
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
DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: Environment variable overriding the mirror list (one URL, or several
#: separated by commas and/or whitespace).
MIRROR_ENV = "FASTNN_MNIST_MIRROR"
#: Environment variable naming the data directory.
DATA_ENV = "FASTNN_DATA"

#: IDX magic number of the image files: uint8, 3 dimensions.
IMAGES_MAGIC = 0x00000803
#: IDX magic number of the label files: uint8, 1 dimension.
LABELS_MAGIC = 0x00000801
#: Height and width of an MNIST image.
IMAGE_SHAPE = (28, 28)
#: Number of classes (the digits 0..9).
N_CLASSES = 10


def create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """Create a hidden temporary file next to where ``name`` is to go.

    Unlike ``tempfile.mkstemp`` (mode 0600) the file gets the usual
    permissions (0666 less the umask), which it keeps once renamed into
    place.

    Parameters
    ----------
    folder : pathlib.Path
        The folder of the final file (it must exist).
    name : str
        The final file's name, part of the temporary one.

    Returns
    -------
    fd : int
        The new file's descriptor, open for writing in binary mode.
    path : pathlib.Path
        Its path, ``folder/.<name>.<random>.part``.

    Raises
    ------
    OSError
        When the file cannot be created (e.g. the folder is not writable).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(6)}.part"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(folder))


def remove_quietly(path: str | os.PathLike[str]) -> None:
    """Delete the file ``path`` if it exists.

    Parameters
    ----------
    path : str or os.PathLike
        The file to delete; a missing file is not an error.
    """
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
