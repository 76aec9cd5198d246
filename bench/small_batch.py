"""Where small batches change path: the GEMM's dot-product path (at most
the CPU's small_m rows, build_info()["kernel_config"]) against the packed
one, per layer of the notes' network, and the training step around 32
rows, where it starts running as two halves.  One thread unless --threads.

    python bench/small_batch.py [--threads N]
    python bench/small_batch.py --crossover [--rounds 3]

--crossover instead times the forward GEMM of 4 to 16 rows by each path,
forced (FASTNN_SMALL_M=16 with FASTNN_DOT_K_PER_ROW=1: dot products at
every K; FASTNN_SMALL_M=1: packed), in alternating processes, over K and N,
and prints the dot products' time over the packed GEMM's (median of the
rounds): the data behind the table's small_m and dot_k_per_row.

docs/performance.md ("The run on Zen 3") quotes its figures.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import timeit

import numpy as np

import fastnn
from fastnn import _core

LAYERS = [(784, 64), (64, 128), (128, 512), (512, 10)]


def layer_forward(rng: np.random.Generator, rows: tuple[int, ...]) -> None:
    """One layer's fused forward at each row count: best of 7 x 2,000 calls."""
    for i, o in LAYERS:
        W = (rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
        b = np.zeros(o, np.float32)
        cells = []
        for n in rows:
            X = rng.standard_normal((n, i)).astype(np.float32)
            A = np.empty((n, o), np.float32)
            t = min(timeit.repeat(lambda: _core.dense_forward(X, W, b, A, 1, 0.01), number=2000, repeat=7)) / 2000
            cells.append(f"{n} rows {t * 1e6:7.2f} us")
        print(f"forward {i:4d}->{o:3d}: " + "   ".join(cells))


def train_steps(rng: np.random.Generator, batches: tuple[int, ...]) -> None:
    """Trainer.step with SGD on the notes' network: best of 5 x 3 x 100 steps."""
    model = fastnn.Sequential([fastnn.Dense(784, 64, "sigmoid"), fastnn.Dense(64, 128, "sigmoid"),
                               fastnn.Dense(128, 512, "sigmoid"), fastnn.Dense(512, 10, "softmax")], seed=0)
    for n in batches:
        X, y = rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
        trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(1e-9), batch_size=n)
        t = min(min(timeit.repeat(lambda: trainer.step(X, y), number=100, repeat=3)) for _ in range(5)) / 100
        print(f"step, batch {n:3d}: {t * 1e6:7.1f} us ({t * 1e6 / n:5.2f} us a row)")


CROSSOVER_CHILD = r"""
import json, timeit, numpy as np, fastnn
from fastnn import _core
fastnn.set_num_threads(1)
rng, out = np.random.default_rng(0), {}
for k in (64, 128, 256, 512, 784):
    for n in (10, 64, 128, 512):
        W, b = rng.standard_normal((n, k)).astype(np.float32), np.zeros(n, np.float32)
        for m in (4, 8, 12, 16):
            X, A = rng.standard_normal((m, k)).astype(np.float32), np.empty((m, n), np.float32)
            t = min(timeit.repeat(lambda: _core.dense_forward(X, W, b, A, 1, 0.01), number=300, repeat=5))
            out[f"{k} {n} {m}"] = t / 300
print(json.dumps(out))
"""


def crossover(rounds: int) -> None:
    """Dot products against the packed GEMM for 4-16 rows, over K and N (alternating processes)."""
    forced = {"dot": {"FASTNN_SMALL_M": "16", "FASTNN_DOT_K_PER_ROW": "1"}, "packed": {"FASTNN_SMALL_M": "1"}}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in forced}
    for _ in range(rounds):
        for name, env in forced.items():
            proc = subprocess.run([sys.executable, "-c", CROSSOVER_CHILD], env=dict(os.environ, **env),
                                  capture_output=True, text=True, check=True)
            runs[name].append(json.loads(proc.stdout))
    print("dot products' time / packed GEMM's (< 1: dot products faster), one thread")
    for key in runs["dot"][0]:
        if key.endswith(" 4"):
            print(f"\nK {key.split()[0]:>4s} N {key.split()[1]:>4s}:", end="")
        ratio = statistics.median(r[key] for r in runs["dot"]) / statistics.median(r[key] for r in runs["packed"])
        print(f"  {key.split()[2]:>2s} rows {ratio:4.2f}", end="")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--crossover", action="store_true", help="dot products against packing, 4-16 rows")
    parser.add_argument("--rounds", type=int, default=3, help="with --crossover")
    args = parser.parse_args()
    if args.crossover:
        crossover(args.rounds)
        return
    fastnn.set_num_threads(args.threads)
    info = fastnn.build_info()
    print(f"cpu: {info['cpu']['model_name']} (family {info['cpu']['family']} model {info['cpu']['model']}); "
          f"simd {info['simd_selected']}; kernel row {info['kernel_config']['name']}, "
          f"small_m {info['kernel_config']['small_m']}, dot_k_per_row {info['kernel_config']['dot_k_per_row']}; "
          f"{args.threads} thread(s)")
    rng = np.random.default_rng(0)
    small = info["kernel_config"]["small_m"]
    layer_forward(rng, (small, small + 1))
    train_steps(rng, (28, 31, 32, 33, 48, 64))


if __name__ == "__main__":
    main()
