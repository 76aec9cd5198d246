"""Where inference at batch 10,000 (or --rows) spends its time: per layer, and split.

Prints each layer of the notes' network (784-64-128-512-10, sigmoid hidden
layers, softmax output) at 10,000 rows on one thread (its GFLOP/s), and for
the sigmoid layers the same GEMM with the identity (the difference is the
sigmoid's cost), then the whole network three ways, interleaved (median of
the rounds):

* fastnn's own two-thread run (each layer's GEMM split across the threads);
* two Python threads, each running half the rows on one fastnn thread
  (fastnn releases the GIL): what a split with no hand-off per layer gives;
* one thread.

If the second is not faster than the first, the threads' hand-offs cost
nothing measurable and the limit is one thread's speed.

    python bench/inference_split.py [--rounds 15] [--rows 10000]
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

import numpy as np

import fastnn
from fastnn import _core

LAYERS = [(784, 64, "sigmoid"), (64, 128, "sigmoid"), (128, 512, "sigmoid"), (512, 10, "identity")]
ROWS = 10_000


def per_layer(rng: np.random.Generator, rows: int) -> None:
    """Each layer's fused forward on one thread (and a sigmoid layer's GEMM with the identity): medians."""
    fastnn.set_num_threads(1)
    X = rng.random((rows, LAYERS[0][0]), dtype=np.float32)
    calls = max(15, 150_000 // rows)
    for k, n, act in LAYERS:
        W = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        b, out = np.zeros(n, np.float32), np.empty((rows, n), np.float32)
        cells = []
        for name in dict.fromkeys((act, "identity")):
            code = _core.ACTIVATION_CODES[name]
            times = []
            for _ in range(calls):
                start = time.perf_counter()
                _core.dense_forward(X, W, b, out, code, 0.01)
                times.append(time.perf_counter() - start)
            t = statistics.median(times)
            cells.append(f"{name} {t * 1e3:7.3f} ms, {2 * rows * k * n / t / 1e9:6.1f} GFLOP/s")
        print(f"layer {k:4d}->{n:3d}: " + "; ".join(cells) + " (1 thread)")
        _core.dense_forward(X, W, b, out, _core.ACTIVATION_CODES[act], 0.01)
        X = out


def whole(rng: np.random.Generator, rounds: int, rows: int) -> None:
    """The network three ways, interleaved."""
    X = rng.random((rows, LAYERS[0][0]), dtype=np.float32)
    model = fastnn.Sequential([fastnn.Dense(784, 64, "sigmoid"), fastnn.Dense(64, 128, "sigmoid"),
                               fastnn.Dense(128, 512, "sigmoid"), fastnn.Dense(512, 10, "softmax")], seed=0)
    half = rows // 2

    def two_python_threads() -> None:
        fastnn.set_num_threads(1)
        workers = [threading.Thread(target=model.predict_proba, args=(X[i * half:(i + 1) * half],)) for i in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def fastnn_threads(n: int) -> Callable[[], None]:
        def run() -> None:
            fastnn.set_num_threads(n)
            model.predict_proba(X)
        return run

    ways = {"fastnn, 2 threads (each layer split)": fastnn_threads(2),
            "2 Python threads x 1 fastnn thread, half the rows each": two_python_threads,
            "fastnn, 1 thread": fastnn_threads(1)}
    times: dict[str, list[float]] = {name: [] for name in ways}
    repeats = max(3, 30_000 // rows)
    for _ in range(rounds):
        for name, run in ways.items():
            run()
            start = time.perf_counter()
            for _ in range(repeats):
                run()
            times[name].append((time.perf_counter() - start) / repeats)
    for name, t in times.items():
        print(f"{name:56s} {statistics.median(t) * 1e3:7.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    info = fastnn.build_info()
    print(f"cpu: {info['cpu']['model_name']} (family {info['cpu']['family']} model {info['cpu']['model']}); "
          f"simd {info['simd_selected']}; kernel row {info['kernel_config']['name']}")
    rng = np.random.default_rng(0)
    print(f"{args.rows} rows")
    per_layer(rng, args.rows)
    whole(rng, args.rounds, args.rows)


if __name__ == "__main__":
    main()
