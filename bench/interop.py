"""ONNX Runtime against fastnn: time per image at batch 1 for the notes' MNIST
network 784-64-128-512-10 (sigmoid hidden layers, softmax output), float32.

    python bench/interop.py [--rounds 21] [--calls 2000] [--threads 1 2]

The same weights in both (fastnn's model, exported with Sequential.to_onnx);
each round times ``calls`` predictions of one image with each engine in turn
(interleaved, so that drifts in the machine's speed hit both), and the table
gives the median over the rounds and the min-max.  fastnn: ``model.forward(x)``
on a (1, 784) float32 array; ONNX Runtime: ``session.run(["output"], {"input": x})``,
CPU provider, intra-op threads as fastnn's.  Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import fastnn


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown"


def per_call_us(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    try:
        import onnxruntime as ort
    except ImportError:
        raise SystemExit('onnxruntime is not installed: pip install ".[onnx]"') from None

    model = fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 128), fastnn.Dense(128, 512),
                               fastnn.Dense(512, 10, "softmax")], seed=0)
    x = (fastnn.datasets.load_mnist_sample(flatten=True).X_test[:1] / 255.0).astype(np.float32)
    print(f"{datetime.date.today()}, {cpu_model()}, {platform.python_version()}, fastnn {fastnn.__version__}, "
          f"onnxruntime {ort.__version__}, SIMD path {fastnn.build_info()['simd_selected']}")
    print("network 784-64-128-512-10 (sigmoid, softmax), float32, batch 1: microseconds per image, "
          f"median of {args.rounds} interleaved rounds of {args.calls} calls (min-max)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mnist.onnx"
        model.to_onnx(path)
        for threads in args.threads:
            fastnn.set_num_threads(threads)
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            assert np.allclose(session.run(["output"], {"input": x})[0], model.forward(x), atol=1e-5)
            runs = {"fastnn": lambda: model.forward(x), "onnxruntime": lambda: session.run(["output"], {"input": x})}
            times = {name: [] for name in runs}
            for fn in runs.values():
                per_call_us(fn, args.calls // 4)  # warm up
            for _ in range(args.rounds):
                for name, fn in runs.items():
                    times[name].append(per_call_us(fn, args.calls))
            med = {name: statistics.median(t) for name, t in times.items()}
            for name, t in times.items():
                print(f"  {threads} thread(s)  {name:<12} {med[name]:8.2f} us  ({min(t):.2f}-{max(t):.2f})")
            print(f"  {threads} thread(s)  onnxruntime / fastnn: {med['onnxruntime'] / med['fastnn']:.2f}x")


if __name__ == "__main__":
    main()
