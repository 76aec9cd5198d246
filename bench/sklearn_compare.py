"""fastnn.sklearn's MLPClassifier against scikit-learn's: fit time and test accuracy on MNIST.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/sklearn_compare.py [--quick] [--epochs N]
        [--repeats N] [--threads N] [--sklearn-float32] [--out FILE]

Two networks, every other parameter scikit-learn's default (adam, alpha=1e-4,
batch_size=min(200, n), learning_rate_init=0.001, ...):

* ``defaults``: ``MLPClassifier()``, 784-100-10, relu;
* ``notes``: the lecture notes' 784-64-128-512-10, logistic hidden layers.

Each is trained for ``--epochs`` epochs (``max_iter``: scikit-learn's 200
would take hours here; n_iter_ is reported, so an early stop shows) on the
60,000 training images as ``X / 255`` (float64), and scored on the 10,000
test images.  The contenders run interleaved, one fit each per repeat, repeat
r with ``random_state=r`` for all of them (the same initial weights and
batches: fastnn.sklearn draws them as scikit-learn does):

* ``sklearn``: scikit-learn's MLPClassifier (float64 arithmetic, as on float64 data);
* ``fastnn``: fastnn.sklearn.MLPClassifier, its default dtype float32;
* ``fastnn-f64``: the same with ``dtype="float64"`` (scikit-learn's arithmetic on fastnn's kernels);
* ``sklearn-f32`` (with ``--sklearn-float32``): scikit-learn on float32 data (it then computes in float32).

Before MNIST, the same three contenders fit scikit-learn's digits (8x8
images, 70/30 split) with every parameter scikit-learn's default
(``max_iter=200``: these converge), 3 seeds.

Both libraries get ``--threads`` threads (fastnn's ``n_threads``, the BLAS
through threadpoolctl), with a pause between fits.  Reported: median fit
time (min-max), mean test accuracy, and fastnn's speed-up.  Nothing here
asserts a timing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

import fastnn
from fastnn import datasets

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = {"defaults": {}, "notes": {"hidden_layer_sizes": (64, 128, 512), "activation": "logistic"}}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_data(quick):
    homes = [h for h in (os.environ.get("FASTNN_DATA"), ROOT.parent / "shared" / "data" / "mnist") if h]
    homes.append(datasets.get_data_home())
    for home in homes:
        try:
            X, y, X_test, y_test = datasets.load_mnist(home, download=False, flatten=True, verbose=False)
            source = f"full MNIST in {home}"
            break
        except (OSError, ValueError):
            continue
    else:
        X, y, X_test, y_test = datasets.load_mnist_sample(flatten=True)
        source = "fastnn's MNIST sample (the full files were not found)"
    if quick:
        X, y, X_test, y_test = X[:6000], y[:6000], X_test[:2000], y_test[:2000]
    return X / 255.0, y, X_test / 255.0, y_test, source


def contenders(args):
    from sklearn.neural_network import MLPClassifier as SkMLP

    from fastnn.sklearn import MLPClassifier

    c = {"sklearn": lambda kw: (SkMLP(**kw), np.float64),
         "fastnn": lambda kw: (MLPClassifier(n_threads=args.threads, **kw), np.float64),
         "fastnn-f64": lambda kw: (MLPClassifier(n_threads=args.threads, dtype="float64", **kw), np.float64)}
    if args.sklearn_float32:
        c["sklearn-f32"] = lambda kw: (SkMLP(**kw), np.float32)
    return c


def digits_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.3, random_state=0)
    return X_train, y_train, X_test, y_test


def run(args, data, networks):
    import threadpoolctl
    from sklearn.exceptions import ConvergenceWarning

    X, y, X_test, y_test = data
    as32 = (X.astype(np.float32), X_test.astype(np.float32))
    rows = {}
    for net, params in networks.items():
        rows[net] = {name: {"seconds": [], "accuracy": [], "n_iter": []} for name in contenders(args)}
        for r in range(args.repeats):
            for name, make in contenders(args).items():
                est, dtype = make({"max_iter": args.epochs, **params, "random_state": r})
                Xf, Xt = (X, X_test) if dtype == np.float64 else as32
                time.sleep(args.pause)
                with threadpoolctl.threadpool_limits(args.threads, user_api="blas"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    t0 = time.perf_counter()
                    est.fit(Xf, y)
                    seconds = time.perf_counter() - t0
                    acc = est.score(Xt, y_test)
                row = rows[net][name]
                row["seconds"].append(seconds)
                row["accuracy"].append(float(acc))
                row["n_iter"].append(int(est.n_iter_))
                print(f"  {net:9s} repeat {r}  {name:12s} fit {seconds:7.2f} s  accuracy {acc:.4f}  "
                      f"n_iter {est.n_iter_}", flush=True)
    return rows


def report(rows):
    print()
    for net, by_name in rows.items():
        base = statistics.median(by_name["sklearn"]["seconds"])
        base_acc = float(np.mean(by_name["sklearn"]["accuracy"]))
        print(f"{net}: median fit time (min-max), mean test accuracy")
        for name, r in by_name.items():
            med = statistics.median(r["seconds"])
            acc = float(np.mean(r["accuracy"]))
            r.update(median=med, mean_accuracy=acc, speedup_vs_sklearn=base / med)
            print(f"  {name:12s} {med:8.2f} s ({min(r['seconds']):.2f}-{max(r['seconds']):.2f})  "
                  f"accuracy {acc:.4f} ({100 * (acc - base_acc):+.2f} points)  {base / med:5.1f}x")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6,000 training images, 2 epochs, 1 repeat")
    ap.add_argument("--epochs", type=int, default=None, help="max_iter of every fit (default 10)")
    ap.add_argument("--repeats", type=int, default=None, help="fits of each contender (default 3)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between fits")
    ap.add_argument("--sklearn-float32", action="store_true", help="also scikit-learn on float32 data")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sklearn_compare.json"))
    args = ap.parse_args(argv)
    args.epochs = args.epochs or (2 if args.quick else 10)
    args.repeats = args.repeats or (1 if args.quick else 3)
    import sklearn

    *data, source = load_data(args.quick)
    info = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu": cpu_model(),
            "cores": os.cpu_count(), "threads": args.threads, "epochs": args.epochs, "repeats": args.repeats,
            "data": source, "n_train": len(data[0]), "fastnn": fastnn.__version__, "sklearn": sklearn.__version__,
            "numpy": np.__version__, "simd": fastnn.build_info()["simd_selected"],
            "env_OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    print(f"{info['date']}  {info['cpu']}, {info['cores']} cores, {args.threads} threads; fastnn {info['fastnn']} "
          f"({info['simd']}), scikit-learn {info['sklearn']}, NumPy {info['numpy']}")
    print(f"data: {source}, {len(data[0])} training images; {args.epochs} epochs, {args.repeats} repeat(s)")
    rows = run(args, digits_data(), {"digits": {"max_iter": 200}})
    rows.update(run(args, data, NETWORKS))
    report(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"info": info, "results": rows}, indent=1))
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
