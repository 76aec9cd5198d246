"""Compare rows of the per-CPU kernel table (csrc/cpu.c) on this machine.

Each candidate is a set of environment overrides (FASTNN_CPU, FASTNN_KC,
FASTNN_PANEL_KB, FASTNN_MIN_WORK, ...); every round runs each candidate once, in
its own process, in turn (interleaved, so a machine's slow phase hits all
candidates alike), on the same workloads: GEMMs of the shapes training meets,
a training epoch of the notes' MNIST network on random data at batch 32
and 128, a training step of 24 rows, and its inference at batch 10,000,
128, 16 and 1, on 1 and 2 threads.  It prints the
median time per workload and candidate, and each candidate's time relative
to the first.

    python bench/kernel_config.py FASTNN_PANEL_KB=1024 FASTNN_PANEL_KB=256
    python bench/kernel_config.py FASTNN_CPU=amd-zen4 FASTNN_CPU=amd-zen3 --rounds 9

A candidate may also be PYTHONPATH=DIR, a directory holding another build of
the package (DIR/fastnn), to compare two versions of the kernels.

A row of the table changes only after a run like this on the CPU it names,
recorded in docs/performance.md with the machine (lscpu's model name).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r'''
import json, time
import numpy as np
import fastnn
from fastnn import _core

def best(f, repeat=5):
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return min(times)

rng = np.random.default_rng(0)
out = {}
for threads in (1, 2):
    fastnn.set_num_threads(threads)
    for m, k, n in ((10000, 784, 256), (256, 784, 10000), (1024, 1024, 1024)):
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        out[f"gemm {m}x{k}x{n} t{threads}"] = best(lambda: _core.gemm(a, b, c))
    X = rng.random((12800, 784), dtype=np.float32)
    y = rng.integers(0, 10, 12800)
    model = fastnn.Sequential([fastnn.Dense(784, 64, "sigmoid"), fastnn.Dense(64, 128, "sigmoid"),
                               fastnn.Dense(128, 512, "sigmoid"), fastnn.Dense(512, 10, "softmax")], seed=0)
    Xt = rng.random((10000, 784), dtype=np.float32)
    out[f"predict b10000 t{threads}"] = best(lambda: model.predict_proba(Xt))
    for rows in (1, 16, 128):  # the small-batch network path; past it
        xs = Xt[:rows]
        calls = 2000 if rows <= 16 else 200
        out[f"predict b{rows} t{threads}"] = best(lambda: [model.forward(xs) for _ in range(calls)]) / calls
    for bs in (32, 128):
        trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(0.01), batch_size=bs)
        out[f"epoch b{bs} t{threads}"] = best(lambda: trainer.fit(X, y, epochs=1, verbose=0), repeat=3)
    trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(0.01), batch_size=24)
    xb, yb = X[:24], y[:24]  # a step below the split into halves (32 rows)
    out[f"step b24 t{threads}"] = best(lambda: [trainer.step(xb, yb) for _ in range(200)]) / 200
print(json.dumps(out))
'''


def run_child(overrides: dict[str, str]) -> dict[str, float]:
    """One process with *overrides* in its environment; its workload times in seconds."""
    env = dict(os.environ, **overrides)
    proc = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parse_candidate(text: str) -> dict[str, str]:
    """'FASTNN_PANEL_KB=256,FASTNN_KC=384' -> {'FASTNN_PANEL_KB': '256', 'FASTNN_KC': '384'}."""
    pairs = [part.split("=", 1) for part in text.split(",") if part]
    if any(len(p) != 2 or not (p[0].startswith("FASTNN_") or p[0] == "PYTHONPATH") for p in pairs):
        raise SystemExit(f"a candidate is FASTNN_NAME=value[,FASTNN_NAME=value]; got {text!r}")
    return {name: value for name, value in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", nargs="+", help="FASTNN_NAME=value[,...] per candidate")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cands = [parse_candidate(c) for c in args.candidates]
    times: list[dict[str, list[float]]] = [{} for _ in cands]
    for r in range(args.rounds):
        for i, overrides in enumerate(cands):
            for name, t in run_child(overrides).items():
                times[i].setdefault(name, []).append(t)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    import fastnn
    print(f"cpu: {fastnn.build_info()['cpu']['model_name']}; default row: {fastnn.build_info()['kernel_config']}")
    width = max(28, *(len(c) + 2 for c in args.candidates))
    header = "".join(f"{c:>{width}s}" for c in args.candidates)
    print(f"{'workload (median ms; ratio to first)':28s}{header}")
    for name in times[0]:
        meds = [statistics.median(t[name]) for t in times]
        cells = "".join(f"{m * 1e3:{width - 10}.{4 if m < 1e-3 else 2}f} ({m / meds[0]:5.3f})" for m in meds)
        print(f"{name:28s}{cells}")


if __name__ == "__main__":
    main()
