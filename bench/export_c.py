"""The exported C (Sequential.export_c) against fastnn's predict_proba, per image.

The notes' MNIST network (784-64-128-512-10, sigmoid hidden, softmax) is
exported in float32 and compiled with ``cc -O2 -std=c99`` (and again with
``-D..._ACC=float``: dot products summed in float instead of double, and
with ``-O3 -march=native``); its
``predict_proba`` is timed inside a small C driver (clock_gettime) at batch
1 (1,000 calls of one image) and batch 1,000 (one call), and fastnn's
``model.predict_proba`` likewise, on 1 thread and on the default threads.
The measurements are interleaved round by round; the median of the rounds
is printed, with the date, the CPU model and the size of the generated files.

    python bench/export_c.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import fastnn

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "net.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    int n = atoi(argv[1]), i, rep, bad = 0;
    float *x = (float *)malloc(sizeof(float) * (size_t)n * NET_N_INPUTS);
    float *p = (float *)malloc(sizeof(float) * (size_t)n * NET_N_CLASSES);
    FILE *f = fopen(argv[2], "rb");
    double t0, t1, t2;
    if (!x || !p || !f || fread(x, sizeof(float), (size_t)n * NET_N_INPUTS, f) != (size_t)n * NET_N_INPUTS)
        return 1;
    fclose(f);
    for (rep = 0; rep < 2; ++rep) { /* the second pass is timed (the first warms the caches) */
        t0 = now();
        for (i = 0; i < n; ++i)
            bad |= net_predict_proba(x + (size_t)i * NET_N_INPUTS, 1, p + (size_t)i * NET_N_CLASSES);
        t1 = now();
        bad |= net_predict_proba(x, n, p);
        t2 = now();
    }
    printf("%.9g %.9g\n", (t1 - t0) / n, (t2 - t1) / n);
    return bad != 0;
}
"""


def _build(folder: Path, model: fastnn.Sequential, cc: str, extra: list[str]) -> Path:
    _, source = model.export_c(folder / "net.c", name="net")
    (folder / "driver.c").write_text(DRIVER)
    exe = folder / ("driver" + "".join(extra).replace("=", "_").replace("-", ""))
    subprocess.run([cc, "-O2", "-std=c99", *extra, "-o", str(exe), str(folder / "driver.c"), str(source), "-lm"],
                   check=True)
    return exe


def _fastnn_times(model: fastnn.Sequential, X: np.ndarray, threads: int) -> tuple[float, float]:
    """Seconds per image of predict_proba at batch 1 and at batch len(X) (second of two passes)."""
    fastnn.set_num_threads(threads)
    for _ in range(2):
        t0 = time.perf_counter()
        for i in range(len(X)):
            model.predict_proba(X[i:i + 1])
        t1 = time.perf_counter()
        model.predict_proba(X)
        t2 = time.perf_counter()
    return (t1 - t0) / len(X), (t2 - t1) / len(X)


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no lscpu)"
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")),
                "unknown")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise SystemExit("no C compiler found (cc, gcc or clang)")
    model = fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 128), fastnn.Dense(128, 512),
                               fastnn.Dense(512, 10, "softmax")], seed=0)
    d = fastnn.datasets.load_mnist_sample(flatten=True)
    X = np.ascontiguousarray(d.X_test[:1000], dtype=np.float32) / 255
    default_threads = fastnn.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        builds = {"C -O2": _build(folder, model, cc, []),
                  "C -O2, float sums": _build(folder, model, cc, ["-DNET_ACC=float"]),
                  "C -O3 -march=native": _build(folder, model, cc, ["-O3", "-march=native"])}
        sizes = {p.name: p.stat().st_size for p in (folder / "net.c", folder / "net.h")}
        X.tofile(folder / "x.bin")
        times: dict[str, list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for label, exe in builds.items():
                out = subprocess.run([str(exe), str(len(X)), str(folder / "x.bin")], capture_output=True,
                                     text=True, check=True).stdout.split()
                times.setdefault(label, []).append((float(out[0]), float(out[1])))
            for threads in sorted({1, default_threads}):
                times.setdefault(f"fastnn, {threads} thread(s)", []).append(_fastnn_times(model, X, threads))
    fastnn.set_num_threads(default_threads)
    print(f"{datetime.date.today()}  CPU: {_cpu_model()}  ({os.cpu_count()} logical CPUs)  "
          f"cc: {cc}  fastnn {fastnn.__version__}")
    print(f"generated files (float32 weights): net.c {sizes['net.c']:,} bytes, net.h {sizes['net.h']:,} bytes")
    print(f"predict_proba, microseconds per image, median of {args.rounds} interleaved rounds:")
    print(f"{'':28s}{'batch 1':>10s}{'batch 1000':>12s}")
    for label, rows in times.items():
        b1 = statistics.median(r[0] for r in rows) * 1e6
        b1000 = statistics.median(r[1] for r in rows) * 1e6
        print(f"{label:28s}{b1:10.2f}{b1000:12.2f}")


if __name__ == "__main__":
    main()
