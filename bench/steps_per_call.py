"""What running several training steps in one call into C saves: ``fit``'s
epoch with its steps grouped (the default) against the same epoch one step
at a time (``STEP_CALL_WORK = 0``, as when a callback needs every step),
on the notes' network and MNIST (or data of its shape), in one process,
the two variants alternating, median of the per-round ratios.

    python bench/steps_per_call.py [--rounds 15] [--batches 32,128] [--threads N] [--cpu-time]
                                   [--layers 784,64,128,512,10]

--layers gives another network's widths (the first must be 784), e.g.
784,10 for a softmax regression, whose steps are short enough for the
Python around them to show.

--cpu-time times the process's CPU time instead of the wall clock: with
--threads 1 on a busy host it leaves out the time the host takes away
(with more threads it would count the pool's threads waiting, too).

docs/performance.md ("Several steps a call") quotes its figures.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import fastnn
import fastnn.training.engine as engine_module
from fastnn import datasets

NOTES_WIDTHS = "784,64,128,512,10"
ROOT = Path(__file__).resolve().parent.parent


def mnist_images() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 60,000 training images scaled to [0, 1] (synthetic ones of that shape when the files are missing)."""
    for home in (os.environ.get("FASTNN_DATA"), ROOT.parent / "shared" / "data" / "mnist"):
        if home:
            try:
                X, y, _, _ = datasets.load_mnist(home, download=False, flatten=True, verbose=False)
                return (X / 255.0).astype(np.float32), y
            except (OSError, ValueError):
                pass
    rng = np.random.default_rng(0)
    print("MNIST not found: synthetic data of its shape")
    return rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000)


CLOCK = time.perf_counter


def epoch_seconds(trainer: fastnn.Trainer, X: np.ndarray, y: np.ndarray, work: int) -> float:
    """One epoch of ``fit`` with STEP_CALL_WORK = ``work``."""
    engine_module.STEP_CALL_WORK = work
    start = CLOCK()
    trainer.fit(X, y, epochs=1, verbose=0, seed=0)
    return CLOCK() - start


def compare(X: np.ndarray, y: np.ndarray, widths: list[int], batch: int, optimizer: str, rounds: int) -> None:
    """Print the grouped epoch over the one-step-at-a-time epoch."""
    last = len(widths) - 2
    model = fastnn.Sequential([fastnn.Dense(widths[i], widths[i + 1], "softmax" if i == last else "sigmoid")
                               for i in range(last + 1)], seed=0)
    opt = fastnn.SGD(lr=0.1) if optimizer == "sgd" else fastnn.Adam(lr=1e-3)
    trainer = fastnn.Trainer(model, "cross_entropy", opt, batch_size=batch)
    grouped_work = engine_module.STEP_CALL_WORK
    epoch_seconds(trainer, X, y, grouped_work)  # warm up
    grouped, single, ratios = [], [], []
    for r in range(rounds):
        order = ((grouped_work, grouped), (0, single)) if r % 2 == 0 else ((0, single), (grouped_work, grouped))
        for work, times in order:
            times.append(epoch_seconds(trainer, X, y, work))
        ratios.append(grouped[-1] / single[-1])
    engine_module.STEP_CALL_WORK = grouped_work
    steps = -(-len(X) // batch)
    saved = (statistics.median(single) - statistics.median(grouped)) / steps * 1e6
    print(f"batch {batch:4d} {optimizer:4s}: grouped / single {statistics.median(ratios):.3f} "
          f"(rounds {min(ratios):.3f}-{max(ratios):.3f}); epochs {statistics.median(grouped):.3f} s / "
          f"{statistics.median(single):.3f} s; {saved:.1f} us a step saved", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batches", default="32,128")
    parser.add_argument("--optimizers", default="sgd,adam")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cpu-time", action="store_true")
    parser.add_argument("--layers", default=NOTES_WIDTHS)
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.cpu_time else time.perf_counter
    if args.threads:
        fastnn.set_num_threads(args.threads)
    info = fastnn.build_info()
    print(f"{platform.processor() or platform.machine()}: {info['cpu']['model_name']} family {info['cpu']['family']} "
          f"model {info['cpu']['model']}, {fastnn.get_num_threads()} threads, STEP_CALL_WORK "
          f"{engine_module.STEP_CALL_WORK}, {'CPU time' if args.cpu_time else 'wall clock'}", flush=True)
    widths = [int(w) for w in args.layers.split(",")]
    if widths[0] != 784 or widths[-1] != 10 or len(widths) < 2:
        parser.error("--layers goes from MNIST's 784 inputs to its 10 classes, e.g. 784,10")
    X, y = mnist_images()
    print(f"layers {args.layers}", flush=True)
    for batch in (int(b) for b in args.batches.split(",")):
        for optimizer in args.optimizers.split(","):
            compare(X, y, widths, batch, optimizer, args.rounds)


if __name__ == "__main__":
    sys.exit(main())
