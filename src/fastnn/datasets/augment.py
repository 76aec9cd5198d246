"""Data augmentation for images: random shifts."""

from __future__ import annotations

import numpy as np

__all__ = ["RandomShift"]


class RandomShift:
    """Augmentation: every image moved by a random whole number of pixels,
    up to ``max_shift`` in each direction, the uncovered border filled with
    ``fill`` (the scaled value of a blank pixel).  Called once per epoch as
    ``shift(X, out, rng)`` on flattened images."""

    def __init__(self, max_shift=2, image_shape=(28, 28), fill=0.0):
        if max_shift < 0 or int(max_shift) != max_shift:
            raise ValueError(f"max_shift must be an int >= 0, got {max_shift!r}")
        self.max_shift = int(max_shift)
        self.image_shape = tuple(image_shape)
        self.fill = float(fill)

    def __call__(self, X, out, rng):
        h, w = self.image_shape
        n = X.shape[0]
        src = X.reshape(n, h, w)
        dst = out.reshape(n, h, w)
        s = self.max_shift
        dy = rng.integers(-s, s + 1, size=n)
        dx = rng.integers(-s, s + 1, size=n)
        dst.fill(self.fill)
        # one slice copy per distinct shift (at most (2s+1)^2), not per image
        for a in range(-s, s + 1):
            for b in range(-s, s + 1):
                idx = np.flatnonzero((dy == a) & (dx == b))
                if idx.size == 0:
                    continue
                dst[idx, max(a, 0):h + min(a, 0), max(b, 0):w + min(b, 0)] = \
                    src[idx, max(-a, 0):h + min(-a, 0), max(-b, 0):w + min(-b, 0)]
        return out

    def __repr__(self):
        return f"RandomShift(max_shift={self.max_shift})"
