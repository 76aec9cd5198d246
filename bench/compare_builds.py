"""Compare builds of fastnn's kernels in one process, on one thread.

Each argument is a directory holding a build of the package (DIR/fastnn,
e.g. a copy of src/fastnn with its compiled modules); each is imported under
its own name, so every round times each workload on every build in turn,
within the same second of the machine's life: on a VM whose speed drifts by 20% within
minutes, this resolves differences of a few percent that alternating
processes (bench/kernel_config.py) cannot.  The workloads: the fused forward
GEMM (X W^T + b, sigmoid) at the shapes given, the training step of the
notes' network at batches 31 and 32, and inference at batches 1 and 10,000.
It prints the median of each and each build's ratio to the first.  Results
must be identical across builds (it says so when they are not).

    python bench/compare_builds.py /tmp/old /tmp/new
    python bench/compare_builds.py /tmp/old /tmp/new --shapes 16x784x64 17x784x64 --rounds 21

One thread only: two builds' thread pools in one process disturb each
other's two-thread timings; compare those with `bench/kernel_config.py
PYTHONPATH=DIR ...` (alternating processes) instead.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

SHAPES = ("16x784x64", "17x784x64", "16x64x128", "17x128x512", "1024x784x64", "10000x784x64")


def load(index: int, directory: str) -> ModuleType:
    """Import DIRECTORY/fastnn as its own package, on one thread."""
    name = f"fastnn_build{index}"
    spec = importlib.util.spec_from_file_location(name, f"{directory}/fastnn/__init__.py",
                                                  submodule_search_locations=[f"{directory}/fastnn"])
    if spec is None or spec.loader is None:
        raise SystemExit(f"no fastnn package in {directory}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    module.set_num_threads(1)
    return module


def workloads(fnn: ModuleType, shapes: list[str]) -> dict[str, tuple[Callable[[], object], int]]:
    """name -> (call, calls per timing) for one build; the same data for every build."""
    core = importlib.import_module(fnn.__name__ + "._core")
    rng = np.random.default_rng(0)
    work: dict[str, tuple[Callable[[], object], int]] = {}
    for shape in shapes:
        m, k, n = (int(v) for v in shape.split("x"))
        X = rng.standard_normal((m, k)).astype(np.float32)
        W = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        b, A = np.zeros(n, np.float32), np.empty((m, n), np.float32)
        calls = max(1, int(2e7 / (m * n * k)))
        work[f"forward {m}x{k}->{n}"] = (lambda X=X, W=W, b=b, A=A: core.dense_forward(X, W, b, A, 1, 0.01) or A,
                                         calls)
    X = rng.random((10000, 784), dtype=np.float32)
    y = rng.integers(0, 10, 10000)
    def network() -> Any:
        return fnn.Sequential([fnn.Dense(784, 64, "sigmoid"), fnn.Dense(64, 128, "sigmoid"),
                               fnn.Dense(128, 512, "sigmoid"), fnn.Dense(512, 10, "softmax")], seed=0)

    model = network()  # never trained, so every build predicts with the same weights
    for bs in (31, 32):
        trainer = fnn.Trainer(network(), "cross_entropy", fnn.SGD(0.01), batch_size=bs)
        work[f"train step, batch {bs}"] = (lambda t=trainer, bs=bs: t.step(X[:bs], y[:bs]), 100)
    work["predict, batch 1"] = (lambda: model.predict_proba(X[:1]), 500)
    work["predict, batch 10000"] = (lambda: model.predict_proba(X), 2)
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("builds", nargs="+", help="directories, each holding fastnn/")
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES), help="forward GEMMs, MxKxN")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    builds = [load(i, d) for i, d in enumerate(args.builds)]
    work = [workloads(fnn, args.shapes) for fnn in builds]
    times: list[dict[str, list[float]]] = [{name: [] for name in w} for w in work]
    for name in work[0]:
        outputs = [np.array(w[name][0](), copy=True) for w in work]
        if not name.startswith("train") and not all(np.array_equal(outputs[0], o) for o in outputs[1:]):
            print(f"{name}: the builds' results differ")
    for r in range(args.rounds):
        for name in work[0]:  # each workload on every build in turn: the ratios see the same moment
            for i in range(len(builds)) if r % 2 == 0 else reversed(range(len(builds))):
                call, calls = work[i][name]
                call()
                start = time.perf_counter()
                for _ in range(calls):
                    call()
                times[i][name].append((time.perf_counter() - start) / calls)
    # (the newest build's facts: builds before build_info() had "cpu" may come first)
    info = next((i for i in (b.build_info() for b in reversed(builds)) if "cpu" in i), builds[-1].build_info())
    cpu = info.get("cpu", {})
    print(f"cpu: {cpu.get('model_name', '?')} (family {cpu.get('family', '?')} model {cpu.get('model', '?')}); "
          f"simd {info['simd_selected']}; 1 thread; medians of {args.rounds} rounds, us (ratio to the first build)")
    for name in work[0]:
        meds = [statistics.median(t[name]) for t in times]
        print(f"{name:26s}" + "".join(f"{m * 1e6:12.2f} ({m / meds[0]:5.3f})" for m in meds))


if __name__ == "__main__":
    main()
