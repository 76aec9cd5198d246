"""Where the tests find the four original MNIST files: ``$FASTNN_DATA``
first, then ``../shared/data/mnist`` beside the repository; and the skip
reason, naming both, when they are in neither."""

import os
from pathlib import Path

from fastnn import datasets

REPO = Path(__file__).resolve().parents[1]
MNIST_NAMES = [spec.name for spec in datasets.MNIST_FILES.values()]
BESIDE_REPO = REPO.parent / "shared" / "data" / "mnist"


def find_full_mnist(environ=os.environ, beside_repo=BESIDE_REPO):
    """(folder holding the four MNIST files or None, skip reason): $FASTNN_DATA first, then beside_repo."""
    env = environ.get("FASTNN_DATA", "").strip()
    folders = ([Path(env).expanduser()] if env else []) + [Path(beside_repo)]
    for folder in folders:
        if all((folder / name).is_file() for name in MNIST_NAMES):
            return folder, ""
    looked = (f"$FASTNN_DATA={env}, then {beside_repo}" if env else f"{beside_repo} ($FASTNN_DATA is not set)")
    return None, (f"the full MNIST files are not there (looked in {looked}); to run this test, set FASTNN_DATA "
                  f"to a folder holding {', '.join(MNIST_NAMES)}")


# Resolved once, at import: tests/test_datasets.py points $FASTNN_DATA at a
# temporary folder while its tests run.
FULL_MNIST, NO_FULL_MNIST = find_full_mnist()


def mnist_test_images(n=1000):
    """The first n MNIST test images, (n, 784) float64 in [0, 1]: from the
    full files when they are there, else from the shipped sample."""
    if FULL_MNIST is not None:
        X = datasets.read_idx(FULL_MNIST / "t10k-images-idx3-ubyte.gz")[:n].reshape(n, -1)
    else:
        X = datasets.load_mnist_sample(flatten=True).X_test[:n]
    return X / 255.0
