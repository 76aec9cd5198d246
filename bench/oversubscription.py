"""NumPy's BLAS and fastnn's threads in one process, taking turns.

In one Python thread the two thread pools never compute at the same time,
but idle threads may keep polling for work after a call: OpenBLAS's for
about 0.1 s, fastnn's for FASTNN_SPIN_US (1000 us by default: 200 us
spinning, then naps of 50 us), PyTorch's OpenMP threads per libgomp's
GOMP_SPINCOUNT.  A pool whose idle threads hold the cores slows the
other one.  This script times a loop that alternates a NumPy matmul and a
fastnn dense forward pass, each alone and interleaved, and prints the
interleaving penalty (interleaved time per pair minus the sum of the two
alone) and how long each call took inside the interleaved loop.

    python bench/oversubscription.py                 # this process's settings
    FASTNN_SPIN_US=0 python bench/oversubscription.py
    python bench/oversubscription.py --all           # every setting, each in a fresh process

--all runs each configuration in its own interpreter (the environment
variables are read when the runtimes start) and prints a table, with a
last row where PyTorch (if installed) takes fastnn's place, for comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

CONFIGS = [
    ("default (nothing set)", {}, None),
    ("FASTNN_SPIN_US=0", {"FASTNN_SPIN_US": "0"}, None),
    ("FASTNN_SPIN_US=5000", {"FASTNN_SPIN_US": "5000"}, None),
    ("OPENBLAS_NUM_THREADS=1", {"OPENBLAS_NUM_THREADS": "1"}, None),
    ("threadpool_limits(1, user_api='blas')", {}, "blas1"),
    ("fastnn.set_num_threads(1)", {}, "fastnn1"),
    ("PyTorch instead of fastnn (torch.matmul)", {}, "torch"),
]


def measure(reps: int, rounds: int, limit: str | None) -> dict:
    import numpy as np

    import fastnn
    from fastnn import _core

    rng = np.random.default_rng(0)
    a = rng.standard_normal((256, 256)).astype(np.float32)
    b = rng.standard_normal((256, 256)).astype(np.float32)
    X = rng.standard_normal((256, 784)).astype(np.float32)
    W = rng.standard_normal((512, 784)).astype(np.float32)
    out = np.empty((256, 512), np.float32)

    def numpy_step():
        a @ b

    if limit == "blas1":  # for the whole loop: entering threadpool_limits costs ~0.4 ms a time
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
    elif limit == "fastnn1":
        fastnn.set_num_threads(1)

    def fastnn_step():
        _core.dense_forward(X, W, None, out, 0, 0.0)

    if limit == "torch":
        import torch

        torch.set_num_threads(fastnn.get_num_threads())
        tX, tWT, tout = torch.from_numpy(X), torch.from_numpy(W).T, torch.from_numpy(out)

        def fastnn_step():
            torch.matmul(tX, tWT, out=tout)

    in_pair = {"numpy": [], "fastnn": []}  # each call's time inside the interleaved loop

    def both():
        t0 = time.perf_counter()
        numpy_step()
        t1 = time.perf_counter()
        fastnn_step()
        in_pair["numpy"].append(t1 - t0)
        in_pair["fastnn"].append(time.perf_counter() - t1)

    def timed(fn):
        """(wall, CPU) microseconds per call; CPU time counts every thread of
        the process, so threads spinning while they wait show up there."""
        time.sleep(0.3)  # let the other pool's idle threads stop spinning and sleep
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(reps):
            fn()
        return ((time.perf_counter() - t0) / reps * 1e6, (time.process_time() - c0) / reps * 1e6)

    for fn in (numpy_step, fastnn_step, both):
        timed(fn)  # warm up
    res = {"numpy": [], "fastnn": [], "interleaved": []}
    for _ in range(rounds):
        for key, fn in (("numpy", numpy_step), ("fastnn", fastnn_step), ("interleaved", both)):
            res[key].append(timed(fn))
    # best of the rounds: the least disturbed by other processes on a shared machine
    med = {k: min(w for w, _ in v) for k, v in res.items()}
    med.update({k + "_cpu": min(c for _, c in v) for k, v in res.items()})
    med["penalty"] = med["interleaved"] - med["numpy"] - med["fastnn"]
    med["penalty_cpu"] = med["interleaved_cpu"] - med["numpy_cpu"] - med["fastnn_cpu"]
    med["fastnn_threads"] = fastnn.get_num_threads()
    for k, v in in_pair.items():
        med[k + "_in_pair"] = float(np.median(v)) * 1e6
    return med


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--all", action="store_true", help="run every configuration in a fresh process")
    p.add_argument("--reps", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--limit", default=None, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if not args.all:
        r = measure(args.reps, args.rounds, args.limit)
        if args.json:
            print(json.dumps(r))
        else:
            print(f"numpy {r['numpy']:.0f} us, fastnn {r['fastnn']:.0f} us, interleaved {r['interleaved']:.0f} us "
                  f"per pair: penalty {r['penalty']:+.0f} us wall, {r['penalty_cpu']:+.0f} us CPU; inside the pair "
                  f"(median) numpy {r['numpy_in_pair']:.0f} us, fastnn {r['fastnn_in_pair']:.0f} us")
        return
    print(f"{os.cpu_count()} CPUs, {len(os.sched_getaffinity(0))} in this process's affinity mask, load average "
          f"{os.getloadavg()[0]:.1f}; best of {args.rounds} rounds of {args.reps} calls; microseconds per call, "
          "wall (CPU time of all the process's threads)")
    print(f"{'configuration':<44}{'numpy':>14}{'fastnn':>14}{'both':>14}{'penalty':>14}{'in the pair':>14}")
    for name, env_changes, limit in CONFIGS:
        env = dict(os.environ)
        for k in ("FASTNN_SPIN_US", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            env.pop(k, None)
        env.update(env_changes)
        cmd = [sys.executable, __file__, "--json", "--reps", str(args.reps), "--rounds", str(args.rounds)]
        if limit:
            cmd += ["--limit", limit]
        if limit == "torch" and importlib.util.find_spec("torch") is None:
            continue
        r = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)
        cells = [f"{r[k]:.0f} ({r[k + '_cpu']:.0f})" for k in ("numpy", "fastnn", "interleaved")]
        cells.append(f"{r['penalty']:+.0f} ({r['penalty_cpu']:+.0f})")
        cells.append(f"{r['numpy_in_pair']:.0f} + {r['fastnn_in_pair']:.0f}")
        print(f"{name:<44}" + "".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()
