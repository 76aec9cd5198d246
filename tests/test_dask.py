"""Scale-out on Dask: grid searches of fastnn.sklearn estimators on a cluster's
workers (joblib's dask backend), fastnn.dask scoring Dask arrays and
DataFrames block by block, the threads fastnn uses inside a worker, and a
worker that dies during a search.  A LocalCluster of real worker processes
on this machine, loopback only."""

from __future__ import annotations

import os
import threading
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install 'fastnn-mlp[sklearn]')")
dask = pytest.importorskip("dask", reason="dask is not installed (pip install 'fastnn-mlp[dask]')")
distributed = pytest.importorskip("distributed", reason="distributed is not installed (pip install 'fastnn-mlp[dask]')")
pytest.importorskip("dask.dataframe", reason="dask.dataframe needs pandas and pyarrow (pip install 'fastnn-mlp[dask]')")

import dask.array as da
import dask.dataframe as dd
import joblib
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

import fastnn
import fastnn.dask
from fastnn.sklearn import MLPClassifier

GRID = {"hidden_layer_sizes": [(8,), (24,)], "alpha": [1e-4, 1e-1]}


@pytest.fixture(scope="module")
def client():
    # one failed try per task is allowed: a task whose worker dies twice fails the computation
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


def _in_a_worker():
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True


class DiesOnce(MLPClassifier):
    """Kills its worker process at its first fit on a worker (marked by a file)."""

    def __init__(self, marker="", hidden_layer_sizes=(100,), alpha=1e-4, max_iter=200, random_state=None):
        super().__init__(hidden_layer_sizes=hidden_layer_sizes, alpha=alpha, max_iter=max_iter,
                         random_state=random_state)
        self.marker = marker

    def fit(self, X, y):
        if _in_a_worker():
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL))  # one worker only
            except FileExistsError:
                pass
            else:
                os._exit(1)
        return super().fit(X, y)


class AlwaysDies(MLPClassifier):
    """Kills its worker process at every fit on a worker."""

    def fit(self, X, y):
        if _in_a_worker():
            os._exit(1)
        return super().fit(X, y)


def _search(estimator, X, y, backend=None, **backend_params):
    search = GridSearchCV(estimator, GRID, cv=3, n_jobs=2 if backend else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if backend is None:
            return search.fit(X, y)
        with joblib.parallel_config(backend=backend, **backend_params):
            return search.fit(X, y)


def _same_search(a, b):
    assert a.best_params_ == b.best_params_
    np.testing.assert_array_equal(a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(a.cv_results_["split0_test_score"], b.cv_results_["split0_test_score"])


# ---- threads in a worker ---------------------------------------------------------------------

def test_fastnn_in_a_worker_uses_the_workers_one_thread(client):
    seen = client.run(lambda: (os.environ.get("OMP_NUM_THREADS"), fastnn.get_num_threads()))
    assert len(seen) == 2
    assert set(seen.values()) == {("1", 1)}, seen  # Dask's nanny sets OMP_NUM_THREADS=1


def test_a_worker_given_two_threads_may_use_them():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                                  dashboard_address=":0", env={"OMP_NUM_THREADS": "2"}) as cluster, \
            distributed.Client(cluster) as c:
        assert list(c.run(fastnn.get_num_threads).values()) == [2]


# ---- searches on the cluster -----------------------------------------------------------------

def test_grid_search_on_the_workers_equals_the_serial_search(client, digits):
    X, y = digits
    estimator = MLPClassifier(max_iter=15, learning_rate_init=0.01, random_state=0)
    serial = _search(estimator, X, y)
    with distributed.get_task_stream(client) as stream:
        on_cluster = _search(estimator, X, y, backend="dask")
    _same_search(on_cluster, serial)
    workers = {task["worker"] for task in stream.data}
    assert len(workers) == 2, workers  # both workers fitted
    assert on_cluster.best_params_["hidden_layer_sizes"] == (24,)


def _bounded(search, seconds=180):
    """Run search() in a thread: its result or exception, or fail if it is still running after seconds."""
    outcome = []

    def run():
        try:
            outcome.append(search())
        except BaseException as e:  # noqa: BLE001 (handed to the test's thread)
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert not thread.is_alive(), f"the search still runs {seconds} s after a worker died"
    return outcome[0]


LOST_WORK = (distributed.scheduler.KilledWorker, distributed.client.FutureCancelledError)


def test_a_worker_dying_during_a_search_fails_it_or_is_retried(client, digits, tmp_path):
    """One worker dies at one fit.  Dask runs the task again on another worker,
    unless the worker held inputs that joblib had scattered to it alone: then
    the search fails with FutureCancelledError.  Never a hang or a wrong
    result; the cluster recovers."""
    X, y = digits
    marker = str(tmp_path / "died")
    serial = _search(DiesOnce(marker, max_iter=15, random_state=0), X, y)  # in this process: no death
    outcome = _bounded(lambda: _search(DiesOnce(marker, max_iter=15, random_state=0), X, y, backend="dask"))
    assert os.path.exists(marker)  # a worker died
    if isinstance(outcome, BaseException):
        assert isinstance(outcome, LOST_WORK), repr(outcome)
    else:
        _same_search(outcome, serial)
    client.wait_for_workers(2, timeout=60)
    _same_search(_search(DiesOnce(marker, max_iter=15, random_state=0), X, y, backend="dask"), serial)


def test_workers_dying_at_every_try_fail_the_search_without_hanging(client, digits):
    """A task whose workers die at every try fails the search with Dask's error
    (KilledWorker after distributed.scheduler.allowed-failures, or
    FutureCancelledError when scattered inputs died with them)."""
    X, y = digits
    outcome = _bounded(lambda: _search(AlwaysDies(max_iter=5, random_state=0), X, y, backend="dask"))
    assert isinstance(outcome, LOST_WORK), repr(outcome)
    client.wait_for_workers(2, timeout=60)
    assert len(client.run(fastnn.get_num_threads)) == 2  # the cluster is usable again


# ---- scoring Dask collections ----------------------------------------------------------------

def test_200000_rows_scored_block_by_block_equal_the_in_memory_result(client):
    # the rows are made on the workers; columns split too: rechunked to whole rows
    dX = da.random.default_rng(0).standard_normal((200_000, 20), chunks=(30_000, 10)).astype(np.float32)
    X = dX.compute()
    model = fastnn.Sequential([fastnn.Dense(20, 64, "relu"), fastnn.Dense(64, 5, "softmax")], seed=0)
    proba = fastnn.dask.predict_proba(model, dX)
    labels = fastnn.dask.predict(model, dX)
    assert proba.chunks == ((30_000,) * 6 + (20_000,), (5,))
    assert labels.shape == (200_000,) and labels.dtype == model.predict(X[:1]).dtype
    np.testing.assert_array_equal(proba.compute(), model.predict_proba(X))
    np.testing.assert_array_equal(labels.compute(), model.predict(X))


def test_estimator_scores_a_dask_array_on_the_workers(client, digits):
    X, y = digits
    clf = MLPClassifier((16,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, np.array(["abcdefghij"[i] for i in y]))  # string labels
    big = np.tile(X, (20, 1))
    dX = da.from_array(big, chunks=(1000, -1))
    with distributed.get_task_stream(client) as stream:
        labels = fastnn.dask.predict(clf, dX).compute()
    np.testing.assert_array_equal(labels, clf.predict(big))
    assert len({task["worker"] for task in stream.data}) == 2


def test_a_dask_dataframe_keeps_its_index_and_column_names(client, digits):
    X, y = digits
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])], index=np.arange(len(X)) * 3)
    clf = MLPClassifier((16,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(frame, y)
    ddf = dd.from_pandas(frame, npartitions=4)
    labels = fastnn.dask.predict(clf, ddf)
    proba = fastnn.dask.predict_proba(clf, ddf)
    assert list(proba.columns) == list(clf.classes_)
    pd.testing.assert_series_equal(labels.compute(), pd.Series(clf.predict(frame), index=frame.index),
                                   check_names=False)
    expected = pd.DataFrame(clf.predict_proba(frame), index=frame.index, columns=clf.classes_)
    pd.testing.assert_frame_equal(proba.compute(), expected)
    with pytest.warns(UserWarning, match="feature names"):  # the model sees each partition's names
        fastnn.dask.predict(clf, dd.from_pandas(frame.set_axis(range(64), axis=1), npartitions=2)).compute()


def test_bad_input():
    model = fastnn.Sequential([fastnn.Dense(4, 2, "softmax")], seed=0)
    with pytest.raises(TypeError, match=r"X must be a dask.array.Array or a dask.dataframe.DataFrame, got float64 array of shape \(3, 4\)"):
        fastnn.dask.predict(model, np.ones((3, 4)))
    with pytest.raises(TypeError, match="model must have a method 'decision_function'"):
        fastnn.dask.predict(model, da.ones((3, 4)), method="decision_function")
    with pytest.raises(TypeError, match="method must be a str"):
        fastnn.dask.predict(model, da.ones((3, 4)), method=None)
    with pytest.raises(ValueError, match=r"X must be two-dimensional \(n_samples, n_features\), got shape \(3,\)"):
        fastnn.dask.predict(model, da.ones(3))
    with pytest.raises(ValueError, match="pass meta="):  # the probe of one row fails: 5 features, not 4
        fastnn.dask.predict(model, da.ones((3, 5)))
    meta = np.empty((0,), np.int64)  # with meta, the error comes from the blocks, when computed
    with pytest.raises(ValueError, match="4"):
        fastnn.dask.predict(model, da.ones((3, 5)), meta=meta).compute(scheduler="sync")


def test_a_ray_search_equals_the_serial_search(digits):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'ray[default]'): "
                                            "the search through ray.util.joblib is not tested")
    from ray.util.joblib import register_ray

    X, y = digits
    estimator = MLPClassifier(max_iter=15, learning_rate_init=0.01, random_state=0)
    serial = _search(estimator, X, y)
    register_ray()
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        _same_search(_search(estimator, X, y, backend="ray"), serial)
    finally:
        ray.shutdown()
