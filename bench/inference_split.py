"""Where inference at batch 10,000 spends its time: per layer, and split.

Prints each layer of the notes' network (784-64-128-512-10, sigmoid hidden
layers, softmax output) at 10,000 rows on one thread (its GFLOP/s), then the
whole network three ways, interleaved (median of the rounds):

* fastnn's own two-thread run (each layer's GEMM split across the threads);
* two Python threads, each running half the rows on one fastnn thread
  (fastnn releases the GIL): what a split with no hand-off per layer gives;
* one thread.

If the second is not faster than the first, the threads' hand-offs cost
nothing measurable and the limit is one thread's speed.

    python bench/inference_split.py [--rounds 15]
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


def per_layer(rng: np.random.Generator) -> None:
    """Each layer's fused forward at 10,000 rows, one thread: median of 15 calls."""
    fastnn.set_num_threads(1)
    X = rng.random((ROWS, LAYERS[0][0]), dtype=np.float32)
    for k, n, act in LAYERS:
        W = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        b, out = np.zeros(n, np.float32), np.empty((ROWS, n), np.float32)
        code = _core.ACTIVATION_CODES[act]
        times = []
        for _ in range(15):
            start = time.perf_counter()
            _core.dense_forward(X, W, b, out, code, 0.01)
            times.append(time.perf_counter() - start)
        t = statistics.median(times)
        print(f"layer {k:4d}->{n:3d} {act:8s}: {t * 1e3:7.2f} ms, {2 * ROWS * k * n / t / 1e9:6.1f} GFLOP/s (1 thread)")
        X = out


def whole(rng: np.random.Generator, rounds: int) -> None:
    """The network three ways, interleaved."""
    X = rng.random((ROWS, LAYERS[0][0]), dtype=np.float32)
    model = fastnn.Sequential([fastnn.Dense(784, 64, "sigmoid"), fastnn.Dense(64, 128, "sigmoid"),
                               fastnn.Dense(128, 512, "sigmoid"), fastnn.Dense(512, 10, "softmax")], seed=0)
    half = ROWS // 2

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
    for _ in range(rounds):
        for name, run in ways.items():
            run()
            start = time.perf_counter()
            for _ in range(3):
                run()
            times[name].append((time.perf_counter() - start) / 3)
    for name, t in times.items():
        print(f"{name:56s} {statistics.median(t) * 1e3:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    info = fastnn.build_info()
    print(f"cpu: {info['cpu']['model_name']} (family {info['cpu']['family']} model {info['cpu']['model']}); "
          f"simd {info['simd_selected']}; kernel row {info['kernel_config']['name']}")
    rng = np.random.default_rng(0)
    per_layer(rng)
    whole(rng, args.rounds)


if __name__ == "__main__":
    main()
