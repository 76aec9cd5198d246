"""Data augmentation for images: random shifts."""

from __future__ import annotations

import numpy as np

from .. import kernels
from .._validation import check_image_shape

__all__ = ["RandomShift"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class RandomShift:
    """Augmentation: every image moved by a random whole number of pixels.

    Each image moves by up to ``max_shift`` pixels in each direction, the
    uncovered border filled with ``fill``.  Called once per epoch as
    ``shift(X, out, rng)`` on flattened images, e.g. by
    :meth:`fastnn.Trainer.fit` given ``augment=RandomShift()``.

    Parameters
    ----------
    max_shift : int, default 2
        The largest shift, in pixels, in each direction.
    image_shape : (int, int), default (28, 28)
        Height and width of an image.
    fill : float, default 0.0
        The value of the uncovered pixels (the scaled value of a blank pixel).

    Raises
    ------
    TypeError
        For an ``image_shape`` that is not a pair of ints.
    ValueError
        For a ``max_shift`` that is not a whole number >= 0, or an
        ``image_shape`` that is not two sides >= 1.
    """

    def __init__(self, max_shift: int = 2, image_shape: tuple[int, int] = (28, 28), fill: float = 0.0) -> None:
        if max_shift < 0 or int(max_shift) != max_shift:
            raise ValueError(f"max_shift must be an int >= 0, got {max_shift!r}")
        self.max_shift = int(max_shift)
        self.image_shape = check_image_shape("image_shape", image_shape)
        self.fill = float(fill)

    def __call__(self, X: np.ndarray, out: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Write the images of ``X``, each shifted at random, into ``out``.

        Parameters
        ----------
        X : numpy.ndarray
            Flattened images, ``(n, h * w)``.
        out : numpy.ndarray
            The result, of the shape of ``X``.
        rng : numpy.random.Generator
            Draws the shifts.

        Returns
        -------
        numpy.ndarray
            ``out``.
        """
        n = X.shape[0]
        s = self.max_shift
        dy = rng.integers(-s, s + 1, size=n)
        dx = rng.integers(-s, s + 1, size=n)
        if X.dtype in _FLOATS and out.dtype == X.dtype and out.flags.c_contiguous:
            return kernels.shift_images(X, dy, dx, self.image_shape, self.fill, out=out)
        # other dtypes or layouts: shifted as float64 (exact for integers up to 2**53)
        out[...] = kernels.shift_images(np.asarray(X, dtype=np.float64), dy, dx, self.image_shape, self.fill)
        return out

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift})"
