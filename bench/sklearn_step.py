"""fastnn.sklearn's training step alone: epochs of scikit-learn's default network on 1 and 2 threads.

    python bench/sklearn_step.py [--epochs 3] [--rounds 2]

One epoch is 300 steps of 200 rows (scikit-learn's ``batch_size='auto'``)
through 784-100-10 (relu, softmax) with scikit-learn's Adam and its L2 term
(``alpha=1e-4``), on random data the size of MNIST's training set, in a
shuffled order, through the training engine as ``MLPClassifier.fit`` runs
it (no validation, no conversion, no loss bookkeeping).  Rounds alternate
the thread counts; printed: each epoch's time, and for the best epoch the
time per step and GFLOP/s (19.2 GFLOP an epoch: the forward pass, the
weight gradients and the second layer's input gradient).  Nothing asserts
a timing.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import fastnn
from fastnn.nn.losses import CrossEntropy
from fastnn.sklearn._solvers import SklearnAdam
from fastnn.training.engine import TrainingEngine

ROWS, BATCH, ALPHA = 60_000, 200, 1e-4
FLOP = 2 * ROWS * (2 * 784 * 100 + 3 * 100 * 10)


def epochs(threads: int, n: int, X: np.ndarray, y: np.ndarray, order: np.ndarray) -> list[float]:
    fastnn.set_num_threads(threads)
    model = fastnn.Sequential([fastnn.Dense(784, 100, "relu"), fastnn.Dense(100, 10, "softmax")], seed=0)
    solver = SklearnAdam(0.001, 0.9, 0.999, 1e-8, ALPHA)
    engine = TrainingEngine(model, CrossEntropy(), solver)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        for lo in range(0, ROWS, BATCH):
            rows = order[lo:lo + BATCH]
            solver.l2 = ALPHA / len(rows)
            engine.step(X, y[rows], rows)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.random((ROWS, 784), dtype=np.float32)
    y = rng.integers(0, 10, ROWS).astype(np.int64)
    order = rng.permutation(ROWS).astype(np.int64)
    cpu = fastnn.build_info()["cpu"]
    print(f"cpu: {cpu['model_name']} (family {cpu['family']} model {cpu['model']}); "
          f"kernels {fastnn.build_info()['kernel_config']['name']}")
    for _ in range(args.rounds):
        for threads in (1, 2):
            t = epochs(threads, args.epochs, X, y, order)
            best = min(t)
            print(f"{threads} thread(s): epochs {' '.join(f'{s:.3f}' for s in t)} s; best {best * 1e3 / (ROWS // BATCH):.3f} "
                  f"ms/step, {FLOP / best / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
