"""Pixel normalisation fitted on the training split only (notes 000)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._validation import (
    as_array,
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_range,
    check_real,
    check_shape,
)

if TYPE_CHECKING:
    from .._typing import FloatArray

__all__ = ["Normalizer"]

_STATE_KEYS = ("method", "per_pixel", "value_range", "eps", "dtype", "shift", "scale", "n_samples", "sample_shape")


def _mean_std(X2: np.ndarray, per_pixel: bool) -> tuple[Any, Any]:
    """Return the mean and (population) std in float64, two passes over row chunks."""
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


def _float_dtype(dtype: Any) -> np.dtype[Any]:
    """Check ``dtype``: any floating NumPy dtype (float16 to longdouble)."""
    if dtype is None:
        raise TypeError("dtype must be a floating dtype such as numpy.float32, got None")
    try:
        np_dtype: np.dtype[Any] = np.dtype(dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"dtype must be a floating dtype such as numpy.float32, got {dtype!r} ({e})") from None
    if np_dtype.kind != "f":
        raise ValueError(f"dtype must be a floating type, got {np_dtype}")
    return np_dtype


class Normalizer:
    """Pixel normalisation fitted on the training split only (notes 000).

    ``method="minmax"`` maps the training split's range ``[min, max]`` to
    ``[0, 1]``: ``(x - min) / (max - min)``.  On MNIST (min 0, max 255) that
    is the notes' "divide by 255".  Values of other splits outside the
    training range land outside ``[0, 1]``; nothing is clipped.
    ``method="standardize"``: ``(x - mean) / std`` with the training
    split's mean and population standard deviation.

    Statistics are global (one number over all pixels of all training
    images) by default, which keeps the relative intensities of an image.
    A scale (``max - min`` or ``std``) of at most ``eps`` -- e.g. the MNIST
    border pixels, always 0 in training -- is replaced by 1, so constant
    pixels map to 0 instead of dividing by zero.  ``fit`` looks at nothing
    but its argument and ``transform`` never refits.

    Parameters
    ----------
    method : {"minmax", "standardize"}, default "minmax"
        The normalisation.
    per_pixel : bool, default False
        Use one statistic per pixel position instead of one over all pixels.
    value_range : (float, float), optional
        With ``method="minmax"``: the range to map to ``[0, 1]``, e.g.
        ``(0, 255)``, instead of measuring it.
    eps : float, default 1e-8
        Scales at most this small are replaced by 1.
    dtype : data-type, default numpy.float32
        The floating type of :meth:`transform`'s results.

    Attributes
    ----------
    shift_, scale_ : float or numpy.ndarray
        After :meth:`fit`: ``transform(x) = (x - shift_) / scale_``, float64
        scalars or arrays of the image shape.
    min_, max_ : float or numpy.ndarray
        The fitted range (``method="minmax"``).
    mean_, std_ : float or numpy.ndarray
        The fitted statistics (``method="standardize"``).
    n_samples_ : int
        The number of samples fitted on.
    sample_shape_ : tuple of int
        The shape of one fitted sample.

    Raises
    ------
    TypeError
        For an argument of the wrong type.
    ValueError
        For an unknown ``method``, a negative ``eps``, a non-floating
        ``dtype``, or ``value_range`` without ``method="minmax"``.

    Examples
    --------
    >>> norm = Normalizer("standardize").fit(X_train)  # doctest: +SKIP
    >>> Z_train, Z_val = norm.transform(X_train), norm.transform(X_val)  # doctest: +SKIP
    """

    METHODS = ("minmax", "standardize")

    # set by fit() or from_dict(): float, or arrays of the sample shape (per_pixel)
    shift_: Any
    scale_: Any
    min_: Any
    max_: Any
    mean_: Any
    std_: Any
    n_samples_: int
    sample_shape_: tuple[int, ...]

    def __init__(self, method: str = "minmax", *, per_pixel: bool = False,
                 value_range: tuple[float, float] | None = None, eps: float = 1e-8,
                 dtype: DTypeLike = np.float32) -> None:
        method = check_choice("method", method, self.METHODS)
        per_pixel = check_bool("per_pixel", per_pixel)
        if value_range is not None:
            if method != "minmax":
                raise ValueError("value_range only applies to method='minmax'")
            value_range = check_range("value_range", value_range)
        self.method = method
        self.per_pixel = per_pixel
        self.value_range = value_range
        self.eps = check_real("eps", eps, 0.0)
        self.dtype = _float_dtype(dtype)

    def __repr__(self) -> str:
        state = "fitted" if self.is_fitted else "not fitted"
        return (f"Normalizer(method={self.method!r}, per_pixel={self.per_pixel}, "
                f"value_range={self.value_range}, dtype={self.dtype.name}) [{state}]")

    @property
    def is_fitted(self) -> bool:
        """True once :meth:`fit` (or :meth:`from_dict`) has set the statistics."""
        return hasattr(self, "shift_")

    @staticmethod
    def _as_2d(X: Any, name: str = "X", allow_empty: bool = False) -> tuple[np.ndarray, np.ndarray]:
        X = as_array(name, X)
        if X.ndim < 1 or (len(X) == 0 and not allow_empty):
            raise ValueError(f"{name} must be a non-empty batch of samples, got shape {X.shape}")
        if X.size == 0 and len(X):
            raise ValueError(f"{name} must have at least one value per sample, got shape {X.shape}")
        X2 = X.reshape(len(X), -1) if len(X) else X
        if X2.dtype.kind == "f" and not np.isfinite(X2).all():
            raise ValueError(f"{name} contains NaN or infinite values (run find_corrupted / clean first)")
        return X, X2

    def fit(self, X_train: ArrayLike) -> Normalizer:
        """Compute the statistics from ``X_train`` (the training split) only.

        Parameters
        ----------
        X_train : array_like
            The training samples, ``(n, ...)`` with ``n >= 1``.

        Returns
        -------
        Normalizer
            This normalizer, fitted.

        Raises
        ------
        TypeError
            For samples that are not an array of real numbers.
        ValueError
            For an empty batch, or NaN or infinite values.
        """
        X, X2 = self._as_2d(X_train, "X_train")
        shape = X.shape[1:]
        if self.method == "minmax":
            shift, scale = self._fit_minmax(X2, shape)
        else:
            shift, scale = self._fit_standardize(X2, shape)
        scale = np.where(scale <= self.eps, 1.0, scale)
        self.shift_ = shift if self.per_pixel else float(shift)
        self.scale_ = scale if self.per_pixel else float(scale)
        self.n_samples_ = len(X)
        self.sample_shape_ = shape
        return self

    def _fit_minmax(self, X2: np.ndarray, shape: tuple[int, ...]) -> tuple[Any, np.ndarray]:
        lo: Any
        hi: Any
        if self.value_range is not None:
            lo, hi = (float(v) for v in self.value_range)
            lo = np.full(shape, lo) if self.per_pixel else lo
            hi = np.full(shape, hi) if self.per_pixel else hi
        else:
            lo = np.asarray(X2.min(axis=0 if self.per_pixel else None), dtype=np.float64)
            hi = np.asarray(X2.max(axis=0 if self.per_pixel else None), dtype=np.float64)
            if self.per_pixel:
                lo, hi = lo.reshape(shape), hi.reshape(shape)
            else:
                lo, hi = float(lo), float(hi)
        self.min_, self.max_ = lo, hi
        return lo, np.subtract(hi, lo, dtype=np.float64)

    def _fit_standardize(self, X2: np.ndarray, shape: tuple[int, ...]) -> tuple[Any, np.ndarray]:
        mean, std = _mean_std(X2, self.per_pixel)
        if self.per_pixel:
            mean, std = mean.reshape(shape), std.reshape(shape)
        else:
            mean, std = float(mean), float(std)
        self.mean_, self.std_ = mean, std
        return mean, np.asarray(std, dtype=np.float64)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError("this Normalizer is not fitted: call fit(X_train) first")

    def _params_for(self, X: np.ndarray, name: str = "X") -> tuple[Any, Any]:
        if not self.per_pixel:
            return self.shift_, self.scale_
        if X.shape[1:] == self.sample_shape_:
            return self.shift_, self.scale_
        if int(np.prod(X.shape[1:])) == int(np.prod(self.sample_shape_)):
            return self.shift_.reshape(X.shape[1:]), self.scale_.reshape(X.shape[1:])
        raise ValueError(f"{name}: samples of shape {X.shape[1:]} do not match the fitted "
                         f"per-pixel statistics of shape {self.sample_shape_}")

    def transform(self, X: ArrayLike) -> FloatArray:
        """Normalise ``X``: ``(X - shift_) / scale_`` as a new array of ``dtype``.

        Parameters
        ----------
        X : array_like
            Samples of the fitted shape (or its flattened form); a batch of
            zero samples gives an empty result.

        Returns
        -------
        numpy.ndarray
            The normalised samples, of ``dtype`` (float32 by default).

        Raises
        ------
        RuntimeError
            When the normalizer is not fitted.
        TypeError
            For samples that are not an array of real numbers.
        ValueError
            For NaN or infinite values, or samples of another shape.
        """
        self._check_fitted()
        X, _ = self._as_2d(X, allow_empty=True)
        shift, scale = self._params_for(X)
        Z = X.astype(self.dtype, copy=True)
        Z -= np.asarray(shift, dtype=self.dtype)
        Z /= np.asarray(scale, dtype=self.dtype)
        return Z

    def fit_transform(self, X_train: ArrayLike) -> FloatArray:
        """Fit on ``X_train`` and normalise it: ``fit(X_train).transform(X_train)``.

        Parameters
        ----------
        X_train : array_like
            The training samples.

        Returns
        -------
        numpy.ndarray
            The normalised training samples.
        """
        return self.fit(X_train).transform(X_train)

    def inverse_transform(self, Z: ArrayLike) -> FloatArray:
        """Undo :meth:`transform`.

        Parameters
        ----------
        Z : array_like
            Normalised samples.

        Returns
        -------
        numpy.ndarray
            ``Z * scale_ + shift_`` in float64.

        Raises
        ------
        RuntimeError
            When the normalizer is not fitted.
        TypeError
            For ``Z`` that is not an array of real numbers.
        ValueError
            For samples of another shape (per-pixel statistics).
        """
        self._check_fitted()
        Z = as_array("Z", Z).astype(np.float64)
        shift, scale = self._params_for(Z, "Z")
        X: FloatArray = Z * scale + shift
        return X

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted state as plain Python values (e.g. to save with a model).

        Returns
        -------
        dict
            What :meth:`from_dict` takes.

        Raises
        ------
        RuntimeError
            When the normalizer is not fitted.
        """
        self._check_fitted()

        def plain(v: Any) -> Any:
            return np.asarray(v).tolist()

        return {"method": self.method, "per_pixel": self.per_pixel,
                "value_range": None if self.value_range is None else list(self.value_range),
                "eps": self.eps, "dtype": self.dtype.name,
                "shift": plain(self.shift_), "scale": plain(self.scale_),
                "n_samples": self.n_samples_, "sample_shape": list(self.sample_shape_)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Normalizer:
        """Rebuild a fitted Normalizer from :meth:`to_dict`.

        Parameters
        ----------
        state : dict
            What :meth:`to_dict` returned.

        Returns
        -------
        Normalizer
            A fitted normalizer.

        Raises
        ------
        TypeError
            For a ``state`` that is not a dict, or entries of the wrong type.
        ValueError
            For missing keys or unusable values (the message starts ``state:``).
        """
        check_instance("state", state, dict, "a dict from Normalizer.to_dict()")
        missing = [k for k in _STATE_KEYS if k not in state]
        if missing:
            raise ValueError(f"state lacks the key(s) {missing} of Normalizer.to_dict()")
        try:
            norm = cls(state["method"], per_pixel=state["per_pixel"], value_range=state["value_range"],
                       eps=state["eps"], dtype=state["dtype"])
            shape, n_samples, shift, scale = _checked_state(state, norm.per_pixel)
        except (TypeError, ValueError) as e:
            raise type(e)(f"state: {e}") from None
        if norm.per_pixel:
            norm.shift_, norm.scale_ = shift.reshape(shape), scale.reshape(shape)
        else:
            norm.shift_, norm.scale_ = float(shift.reshape(())), float(scale.reshape(()))
        if norm.method == "minmax":
            norm.min_, norm.max_ = norm.shift_, norm.shift_ + norm.scale_
        else:
            norm.mean_, norm.std_ = norm.shift_, norm.scale_
        norm.n_samples_ = n_samples
        norm.sample_shape_ = shape
        return norm


def _checked_state(state: dict[str, Any], per_pixel: bool) -> tuple[tuple[int, ...], int, np.ndarray, np.ndarray]:
    """Check the fitted part of a to_dict() state: (sample shape, n_samples, shift, scale)."""
    shape = () if not state["sample_shape"] else check_shape("sample_shape", state["sample_shape"])
    n_samples = check_int("n_samples", state["n_samples"], minimum=1)
    shift = as_array("shift", state["shift"]).astype(np.float64)
    scale = as_array("scale", state["scale"]).astype(np.float64)
    want = shape if per_pixel else ()
    for name, v in (("shift", shift), ("scale", scale)):
        if v.size != int(np.prod(want)):
            raise ValueError(f"{name} has {v.size} value(s), expected shape {want}")
        if not np.isfinite(v).all():
            raise ValueError(f"{name} holds NaN or infinite values")
    if not (scale > 0).all():
        raise ValueError("scale must be > 0")
    return shape, n_samples, shift, scale
