"""A grid search of fastnn.sklearn estimators, serial and on a Dask cluster.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/scaleout.py [--quick] [--repeats N]
        [--workers N] [--rows N] [--dask-diagnostics] [--out FILE]

The search: ``GridSearchCV(MLPClassifier(max_iter=...), grid, cv=3)`` over 16
configurations (hidden_layer_sizes x alpha x learning_rate_init), 48 fits, on
``--rows`` MNIST training images (``X / 255``).  It runs, interleaved,
``--repeats`` times each:

* ``serial, 1 thread``: ``n_jobs=None`` in this process, fastnn on 1 thread
  (one core's worth: the baseline of the speed-up);
* ``serial, N threads``: the same with fastnn on ``--workers`` threads (what
  the cores give without a cluster);
* ``dask``: ``joblib.parallel_config("dask")`` over a ``LocalCluster`` of
  ``--workers`` worker processes with one thread each (started once, before
  the repeats, its workers having imported fastnn.sklearn and scikit-learn,
  and a small search run on it; its start-up time, all that included, is
  reported apart).  This process refits the best configuration on all the
  rows after the search, with fastnn's default threads.  The cluster runs
  with ``QUIET`` (below): the workers' statistical profiler off and Dask's
  own monitors at longer intervals, as docs/sklearn.md recommends for
  searches on small machines; ``--dask-diagnostics`` keeps Dask's defaults.

All three must find the same best parameters and cross-validation scores
(checked).  Reported: median wall time of each, the speed-ups, and the
cluster's costs: the per-task overhead (a thousand empty tasks through
``client.map``, and two hundred through joblib's dask backend) and the time
to send the training data to a worker.  The numbers go to ``--out`` (JSON);
the README's scale-out section reads its estimate for a k-machine cluster
from them.  Nothing here asserts a timing.

The speed-up grows with the length of a fit: each fit costs the cluster a
roughly fixed time beyond its own (sending its arguments and result,
scheduling, the client and scheduler sharing the machine's cores), and the
refit of the best configuration on all the rows runs after the search, in
this process, alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import fastnn

ROOT = Path(__file__).resolve().parents[1]
GRID = {"hidden_layer_sizes": [(32,), (64,), (128,), (64, 32)], "alpha": [1e-4, 1e-2],
        "learning_rate_init": [1e-3, 3e-3]}
# Dask's diagnostics that cost CPU while nothing looks at them: each worker's
# statistical profiler samples its threads every 10 ms, the event loops time
# their ticks every 20 ms, and a system monitor polls every 0.5 s; on a
# machine whose cores all run fits, that time comes out of the fits.
QUIET = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
         "distributed.admin.system-monitor.interval": "2s"}


def load(rows: int) -> tuple[np.ndarray, np.ndarray, str]:
    """The first ``rows`` MNIST training images as X / 255 (float32), else digits-like synthetic data."""
    from fastnn import datasets

    for home in (os.environ.get("FASTNN_DATA"), ROOT.parent / "shared" / "data" / "mnist"):
        if not home:
            continue
        try:
            X, y, _, _ = datasets.load_mnist(home, download=False, flatten=True, verbose=False)
            return (X[:rows] / np.float32(255)).astype(np.float32), y[:rows], f"MNIST from {home}"
        except (OSError, ValueError):
            continue
    rng = np.random.default_rng(0)
    return rng.random((rows, 784), dtype=np.float32), rng.integers(0, 10, rows), "random data of MNIST's shape"


def search(X: np.ndarray, y: np.ndarray, epochs: int, backend: str | None) -> tuple[float, object]:
    """Wall time of one GridSearchCV fit, and the fitted search."""
    import joblib
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV

    from fastnn.sklearn import MLPClassifier

    gs = GridSearchCV(MLPClassifier(max_iter=epochs, random_state=0), GRID, cv=3,
                      n_jobs=-1 if backend else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        if backend:
            with joblib.parallel_config(backend=backend):
                gs.fit(X, y)
        else:
            gs.fit(X, y)
        return time.perf_counter() - start, gs


def _warm_up() -> None:
    import sklearn.model_selection  # noqa: F401

    import fastnn.sklearn  # noqa: F401


def _noop(i: int) -> int:
    return i


def overheads(client, X: np.ndarray) -> dict[str, float]:
    """Per-task costs of the cluster: empty tasks, through Dask and through joblib; sending X to a worker."""
    import joblib

    n = 1000
    start = time.perf_counter()
    client.gather(client.map(_noop, range(n), pure=False))
    per_task_dask = (time.perf_counter() - start) / n
    n_joblib = 200
    with joblib.parallel_config(backend="dask"):
        start = time.perf_counter()
        joblib.Parallel(n_jobs=-1)(joblib.delayed(_noop)(i) for i in range(n_joblib))
        per_task_joblib = (time.perf_counter() - start) / n_joblib
    start = time.perf_counter()
    future = client.scatter(X, direct=True, hash=False)
    future.result()
    send = time.perf_counter() - start
    del future
    return {"per_task_dask_s": per_task_dask, "per_task_joblib_s": per_task_joblib,
            "send_X_s": send, "X_bytes": int(X.nbytes)}


def same(a, b) -> bool:
    return (a.best_params_ == b.best_params_ and
            np.array_equal(a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]))


def run(args: argparse.Namespace) -> dict:
    import dask
    import distributed

    X, y, source = load(args.rows)
    start = time.perf_counter()
    with dask.config.set({} if args.dask_diagnostics else QUIET):  # the workers take it at their start
        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=":0")
    client = distributed.Client(cluster)
    profiling = set(client.run(dask.config.get, "distributed.worker.profile.enabled").values())
    client.run(_warm_up)  # each worker imports what a fit needs once, before the timings
    search(X[:600], y[:600], 1, "dask")  # and the client its side of joblib's dask backend
    startup = time.perf_counter() - start
    # in the dask mode this process only schedules, then refits the best
    # configuration on all rows: with fastnn's default threads, as a user's would
    modes = {"serial, 1 thread": (1, None), f"serial, {args.workers} threads": (args.workers, None),
             "dask": (fastnn.get_num_threads(), "dask")}
    times: dict[str, list[float]] = {m: [] for m in modes}
    client_cpu: list[float] = []
    searches = {}
    try:
        for r in range(args.repeats):
            for mode, (threads, backend) in modes.items():
                fastnn.set_num_threads(threads)
                cpu0 = time.process_time()
                t, searches[mode] = search(X, y, args.epochs, backend)
                times[mode].append(t)
                if backend:  # this process's CPU time over the search: the client's and scheduler's share
                    client_cpu.append((time.process_time() - cpu0) / t)
                print(f"repeat {r + 1}/{args.repeats} {mode:18s} {t:7.2f} s", file=sys.stderr)
                time.sleep(1.0)
        costs = overheads(client, X)
    finally:
        client.close()
        cluster.close()
    base = searches["serial, 1 thread"]
    costs["refit_s"] = float(searches["dask"].refit_time_)
    costs["client_cores"] = statistics.median(client_cpu)
    return {"source": source, "rows": int(X.shape[0]), "epochs": args.epochs, "configurations": 16, "fits": 48,
            "workers": args.workers, "dask_config": {} if args.dask_diagnostics else QUIET,
            "workers_profiling": sorted(profiling), "cluster_startup_s": startup, "times_s": times,
            "identical_results": all(same(s, base) for s in searches.values()), **costs,
            "best_params": {k: str(v) for k, v in base.best_params_.items()}}


def report(res: dict) -> None:
    med = {m: statistics.median(t) for m, t in res["times_s"].items()}
    base = med["serial, 1 thread"]
    print(f"grid search: 16 configurations x 3 folds = 48 fits of MLPClassifier(max_iter={res['epochs']}) "
          f"on {res['rows']} rows ({res['source']}); medians of {len(res['times_s']['dask'])}")
    for mode, t in med.items():
        print(f"  {mode:20s} {t:8.2f} s   speed-up over serial, 1 thread: {base / t:5.2f}x")
    print(f"  same best parameters and scores in all three: {res['identical_results']} ({res['best_params']})")
    per_fit = (med["dask"] - base / res["workers"]) / res["fits"]
    print(f"  the cluster's cost per fit, beyond an even split of the serial time: {per_fit * 1e3:.0f} ms "
          f"(the refit of the best configuration on all rows, in this process after the search: "
          f"{res['refit_s']:.2f} s of it in all)")
    print(f"cluster ({res['workers']} worker processes x 1 thread; Dask config "
          f"{res['dask_config'] or 'as installed'}, workers' profiler on: {res['workers_profiling']}): "
          f"start-up {res['cluster_startup_s']:.2f} s, "
          f"per empty task {res['per_task_dask_s'] * 1e3:.2f} ms (client.map), "
          f"{res['per_task_joblib_s'] * 1e3:.2f} ms (joblib); sending X ({res['X_bytes'] / 2**20:.1f} MiB) "
          f"to a worker {res['send_X_s'] * 1e3:.1f} ms; the client and scheduler used "
          f"{res['client_cores']:.2f} of a core over a search (its refit included)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 rows, 2 epochs, 1 repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--dask-diagnostics", action="store_true",
                        help="keep Dask's profiler and monitors as configured (default: QUIET)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scaleout.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.epochs, args.repeats = 2000, 2, 1
    res = run(args)
    res.update(date=time.strftime("%Y-%m-%d"), machine=platform.machine(), cpu=fastnn.build_info()["cpu"],
               kernel_config=fastnn.build_info()["kernel_config"], cpus=os.cpu_count())
    report(res)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
