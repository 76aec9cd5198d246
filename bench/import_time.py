"""What ``import fastnn`` costs beyond NumPy's own import.

Runs ``python -X importtime -c "import numpy"`` and ``python -X importtime
-c "import fastnn"`` alternately, each in a fresh interpreter, and prints
the medians of their cumulative import times, the difference, and the
modules that ``import fastnn`` loads beyond those ``import numpy`` loads
(median self time each, and their sum: fastnn's own cost, measured inside
the same runs and so less noisy than the difference of two medians).

    python bench/import_time.py              # 31 runs of each
    python bench/import_time.py --runs 101 --top 30

Bytecode: an installed package has its ``.pyc`` files, a source checkout
run with PYTHONDONTWRITEBYTECODE=1 compiles every module at each import
(several times slower).  So that both imports are measured the same way,
every run here reads its bytecode from a fresh PYTHONPYCACHEPREFIX folder,
filled by an untimed first run.  Nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile


def cpu_model() -> str:
    name, family, model = platform.processor() or "unknown CPU", None, None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name":
                    name = value
                elif key == "cpu family":
                    family = value
                elif key == "model" and model is None:
                    model = value
                elif not key and name != "unknown CPU":
                    break  # the end of the first processor's block
    except OSError:
        pass
    if family is not None:
        name += f" (family {family}, model {model})"
    return f"{name}, {os.cpu_count()} CPUs"


def import_times(module: str, env: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Module -> (self, cumulative) microseconds, from one ``-X importtime`` run."""
    res = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], env=env,
                         capture_output=True, text=True, check=True)
    times = {}
    for line in res.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|")
        times.setdefault(name.strip(), (int(self_us), int(cumulative_us)))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=31, help="runs of each import (default 31)")
    parser.add_argument("--top", type=int, default=15, help="modules beyond numpy to list (default 15)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fastnn-pyc-") as pyc:
        env = dict(os.environ, PYTHONPYCACHEPREFIX=pyc)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for module in ("numpy", "fastnn"):  # untimed: writes the bytecode
            import_times(module, env)
        numpy_runs, fastnn_runs = [], []
        for _ in range(args.runs):
            numpy_runs.append(import_times("numpy", env))
            fastnn_runs.append(import_times("fastnn", env))

    code = "import fastnn, numpy; print(fastnn.__version__, fastnn.__file__, numpy.__version__)"
    where = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    print(f"{cpu_model()}; Python {platform.python_version()}, NumPy {where[2]}, fastnn {where[0]} "
          f"({os.path.dirname(where[1])})")
    print(f"median of {args.runs} runs of each, alternating; -X importtime, cumulative:")
    numpy_ms = statistics.median(r["numpy"][1] for r in numpy_runs) / 1000
    fastnn_ms = statistics.median(r["fastnn"][1] for r in fastnn_runs) / 1000
    print(f"  import numpy   {numpy_ms:7.1f} ms")
    print(f"  import fastnn  {fastnn_ms:7.1f} ms (numpy included)")
    print(f"  difference     {fastnn_ms - numpy_ms:7.1f} ms")

    numpy_modules = set().union(*numpy_runs)
    beyond = {}
    for run in fastnn_runs:
        for name, (self_us, _) in run.items():
            if name not in numpy_modules:
                beyond.setdefault(name, []).append(self_us)
    own = statistics.median(sum(run[m][0] for m in run if m not in numpy_modules) for run in fastnn_runs) / 1000
    print(f"modules beyond numpy's: {len(beyond)}, their self times summed {own:.1f} ms (median over runs); "
          f"the largest (median self time):")
    for name, values in sorted(beyond.items(), key=lambda kv: -statistics.median(kv[1]))[: args.top]:
        print(f"  {statistics.median(values) / 1000:6.2f} ms  {name}")


if __name__ == "__main__":
    main()
