"""Scoring Dask arrays and DataFrames block by block: ``fastnn.dask``.

A fitted model (a :class:`fastnn.Sequential`, a :mod:`fastnn.sklearn`
estimator, a scikit-learn pipeline ending in one, or anything with the
method asked for) scores a Dask collection where its blocks live: the model
goes to each worker once, each worker applies it to its own blocks, and
nothing is gathered to the caller until the result is computed.  The result
is lazy, like any Dask collection::

    import dask.array as da
    from fastnn.dask import predict, predict_proba

    X = da.from_zarr("features.zarr")          # (n_samples, n_features)
    labels = predict(model, X)                 # dask array, (n_samples,)
    proba = predict_proba(model, X).compute()  # numpy array, (n_samples, k)

Each block's result is exactly what the model gives for those rows in
memory, and equal to the in-memory result over the whole array whenever
every block has more than 16 rows (fastnn scores smaller batches on a
latency path whose sums round differently).

Searches need nothing from this module: scikit-learn's ``GridSearchCV``
runs on a Dask cluster through joblib (``joblib.parallel_config("dask")``),
see docs/sklearn.md.

Needs dask (``pip install "fastnn-mlp[dask]"``); ``import fastnn`` never
imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._optional import require
from ._validation import check_instance, describe

__all__ = ["predict", "predict_proba"]


def predict(model: Any, X: Any, *, method: str = "predict", meta: Any = None) -> Any:
    """Apply ``model.<method>`` to a Dask array or DataFrame, block by block.

    Parameters
    ----------
    model : object
        A fitted model with the method ``method``: a :class:`fastnn.Sequential`,
        a :mod:`fastnn.sklearn` estimator, a scikit-learn pipeline, ...  It is
        sent to each worker once (pickled).
    X : dask.array.Array or dask.dataframe.DataFrame
        The samples, ``(n_samples, n_features)``, in blocks of rows.  An array
        split along its columns too is first rechunked to whole rows (the
        rows' blocks stay where they are).  A DataFrame's partitions reach the
        model as pandas DataFrames, so that a model fitted on named columns
        checks them.
    method : str, default="predict"
        The model's method to apply ("predict", "predict_proba",
        "decision_function", "transform", "forward", ...).
    meta : numpy.ndarray, pandas.Series or pandas.DataFrame, optional
        An empty example of one block's result (its type, dtype, columns).  By
        default it is found by applying the method to a probe of one or two
        rows of zeros (arrays) or of Dask's stand-in values (DataFrames); pass
        it when the model cannot score such rows.

    Returns
    -------
    dask.array.Array or dask.dataframe.Series or dask.dataframe.DataFrame
        Lazy: for an array, an array with ``X``'s row blocks (1-D when the
        method returns one value per row); for a DataFrame, a Series (one value
        per row) or a DataFrame (columns named by ``model.classes_`` when the
        method returns one column per class), indexed as ``X``.

    Raises
    ------
    TypeError
        When ``X`` is not a Dask array or DataFrame, ``method`` is not a
        string, or ``model`` has no such method.
    ValueError
        When ``X`` is not two-dimensional, or the probe fails (pass ``meta``).
    """
    check_instance("method", method, str, "a str")
    if not callable(getattr(model, method, None)):
        raise TypeError(f"model must have a method {method!r}, got {describe(model)}")
    dask = require("dask", "dask", "fastnn.dask")
    array = require("dask.array", "dask", "fastnn.dask")
    if isinstance(X, array.Array):
        return _predict_array(array, dask.delayed(model, pure=True), model, X, method, meta)
    if type(X).__module__.startswith("dask.dataframe") and hasattr(X, "map_partitions"):
        return _predict_frame(dask.delayed(model, pure=True), model, X, method, meta)
    raise TypeError(f"X must be a dask.array.Array or a dask.dataframe.DataFrame, got {describe(X)}")


def predict_proba(model: Any, X: Any, *, meta: Any = None) -> Any:
    """Class probabilities of a Dask array or DataFrame, block by block.

    ``predict(model, X, method="predict_proba", meta=meta)``.

    Parameters
    ----------
    model : object
        A fitted classifier with ``predict_proba``.
    X : dask.array.Array or dask.dataframe.DataFrame
        The samples, ``(n_samples, n_features)``, in blocks of rows.
    meta : numpy.ndarray or pandas.DataFrame, optional
        An empty example of one block's result; see :func:`predict`.

    Returns
    -------
    dask.array.Array or dask.dataframe.DataFrame
        Lazy ``(n_samples, n_classes)`` probabilities.
    """
    return predict(model, X, method="predict_proba", meta=meta)


def _apply(block: Any, model: Any, method: str) -> Any:
    """One block's result (runs on a worker)."""
    return getattr(model, method)(block)


def _probe(model: Any, method: str, rows: Any) -> Any:
    """The method's result on a few stand-in rows, or ValueError saying to pass meta."""
    try:
        return getattr(model, method)(rows)
    except Exception as e:
        raise ValueError(f"could not find the shape of model.{method}'s result from a probe of "
                         f"{len(rows)} stand-in rows ({type(e).__name__}: {e}); pass meta=, "
                         "an empty example of one block's result") from e


def _predict_array(array: Any, delayed_model: Any, model: Any, X: Any, method: str, meta: Any) -> Any:
    if X.ndim != 2:
        raise ValueError(f"X must be two-dimensional (n_samples, n_features), got shape {X.shape}")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    if meta is None:
        meta = np.asarray(_probe(model, method, np.zeros((1, X.shape[1]), X.dtype)))[:0]
    if meta.ndim not in (1, 2):
        raise ValueError(f"model.{method} must give one value or one row per sample, got {meta.ndim} dimensions")
    # one value per row drops X's column axis; one row per row keeps it, with the result's width
    shape = {"drop_axis": 1, "chunks": (X.chunks[0],)} if meta.ndim == 1 else \
        {"chunks": (X.chunks[0], (meta.shape[1],))}
    return array.map_blocks(_apply, X, delayed_model, method, dtype=meta.dtype, meta=meta, **shape)


def _predict_frame(delayed_model: Any, model: Any, X: Any, method: str, meta: Any) -> Any:
    pd = require("pandas", "dask", "fastnn.dask")
    if meta is None:
        utils = require("dask.dataframe.utils", "dask", "fastnn.dask")
        meta = _frame_meta(pd, model, np.asarray(_probe(model, method, utils.meta_nonempty(utils.make_meta(X)))))
    # the partitions' result is described in plain values: pandas objects
    # among map_partitions' arguments would become Dask collections
    if isinstance(meta, pd.Series):
        shape: tuple[Any, ...] = ("series", meta.name, meta.dtype)
    else:
        shape = ("frame", list(meta.columns), dict(meta.dtypes))
    return X.map_partitions(_apply_frame, delayed_model, method, shape, meta=meta)


def _frame_meta(pd: Any, model: Any, probe: Any) -> Any:
    """An empty Series or DataFrame shaped as the method's result."""
    if probe.ndim == 1:
        return pd.Series(probe[:0])
    if probe.ndim != 2:
        raise ValueError(f"the model's method must give one value or one row per sample, got {probe.ndim} "
                         "dimensions")
    classes = getattr(model, "classes_", None)
    columns = list(classes) if classes is not None and len(classes) == probe.shape[1] else None
    return pd.DataFrame(probe[:0], columns=columns)


def _apply_frame(part: Any, model: Any, method: str, shape: tuple[Any, ...]) -> Any:
    """One partition's result as a Series or DataFrame on the partition's index (runs on a worker)."""
    import pandas as pd

    result = np.asarray(getattr(model, method)(part))
    if shape[0] == "series":
        return pd.Series(result, index=part.index, name=shape[1]).astype(shape[2], copy=False)
    return pd.DataFrame(result, index=part.index, columns=shape[1]).astype(shape[2], copy=False)
