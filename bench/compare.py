"""fastnn against NumPy (fastnn.reference), PyTorch, scikit-learn, ONNX Runtime and JAX.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/compare.py [--quick] [--out FILE] [--png FILE]
    python bench/compare.py --table FILE.json [FILE.json ...]

Measures, in one run, with the contenders interleaved (round-robin over
repeats, a pause between contenders so that one library's idle spinning
threads do not steal the next one's cores) and reports medians and min-max:

* the machine's SGEMM peak (NumPy float32 2048^3, 1 and 2 BLAS threads);
* kernels: the fused dense forward act(X W^T + b) and backward (dW, db, dX)
  for the notes' layer shapes at batch 1, 32, 128, 1024, float32/float64;
* training: one epoch of 784-64-128-512-10 (sigmoid, softmax,
  cross-entropy, plain SGD) on MNIST, batch 32 and 128, 1 and 2 threads,
  against NumPy, PyTorch, scikit-learn and JAX (a jitted step in a Python
  loop, and the epoch as one jitted lax.scan; in a process of its own,
  bench/jax_epoch.py, on as many CPUs as the row's threads);
* inference at batch 1, 128 and 10,000 on 1 and 2 threads, against NumPy,
  PyTorch and ONNX Runtime (the graph Sequential.to_onnx writes, its
  outputs checked equal to fastnn's before timing).

It ends with summary lines: each training epoch on 2 threads as a share of
the SGEMM peak measured in the same run, the 1 -> 2 thread speed-up, and
fastnn against each other library at its better thread count (JAX: the
better of loop and scan); each inference batch in fastnn's time, its share
of the peak, and against ONNX Runtime and PyTorch at the same thread count.
Then the README's table column for this machine. The JSON (--out) records
the CPU (model, family, caches, flags: bench/machine_facts.py) and
fastnn.build_info() (the SIMD path, and the CPU and kernel table row it
chose), and ``--table`` puts the JSON of several runs side by side, one
column each (earlier runs' JSON included: the cells are recomputed from
each run's rows).

Contenders that are not installed are skipped, saying so and how to install
them (``pip install ".[bench]"`` pins the versions compared).  ``--quick``
is a small version (2,000 images, one repeat of each epoch, no 1-thread
batch-32 epoch, SGEMM 1024^3) that checks the whole path in about a minute
(CI runs it); it writes its JSON to bench/results/compare-quick.json,
leaving a full run's file alone.  Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from machine_facts import machine_facts

import fastnn
from fastnn import _core, datasets
from fastnn import reference as R

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SIZES = (784, 64, 128, 512, 10)
LAYERS = list(zip(SIZES[:-1], SIZES[1:]))
LR = 0.1
THREADS = (1, 2)
TRAIN_BATCHES = (32, 128)
# --quick leaves out the 1-thread batch-32 epoch (what the summary lines need stays)
QUICK_TRAIN = ((1, 128), (2, 32), (2, 128))
INFERENCE_BATCHES = (1, 128, 10000)
QUICK_IMAGES = 2000


# ---- environment ---------------------------------------------------------------------

def pinned(*packages):
    """The ``name==version`` pins of pyproject.toml's bench extra (for
    Python 3.11 or later) for these packages, space-separated."""
    try:
        text = (ROOT / "pyproject.toml").read_text()
    except OSError:
        return ""
    return " ".join(m.group(1) for p in packages for m in [re.search(rf'"({re.escape(p)}==[^";\s]+)', text)] if m)


def install_hint(name):
    """How to install the contender ``name`` (a module name), as the
    messages about a missing one say it."""
    if name == "torch":
        return ("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, the CPU build "
                "(the bench extra leaves PyTorch out: PyPI's wheel is the CUDA build)")
    packages = {"sklearn": ("scikit-learn",), "onnx": ("onnx", "onnxruntime"), "onnxruntime": ("onnx", "onnxruntime"),
                "jax": ("jax", "jaxlib"), "threadpoolctl": ("threadpoolctl",)}[name]
    pins = pinned(*packages)
    return 'pip install ".[bench]"' + (f", or just pip install {pins}" if pins else "")


def note_missing(name, missing, why="not installed"):
    print(f"  {name}: {why}, skipped; to install: {install_hint(name)}")
    missing[name] = install_hint(name)


def optional(name, missing):
    """The module ``name``, or None (saying so and how to install it)."""
    try:
        return __import__(name)
    except ImportError:
        note_missing(name, missing)
        return None


def jax_versions(missing):
    """JAX's and jaxlib's versions when both are installed (JAX itself runs
    in bench/jax_epoch.py's processes, never in this one), else None."""
    try:
        found = all(importlib.util.find_spec(name) is not None for name in ("jax", "jaxlib"))
    except (ImportError, ValueError):
        found = False
    if not found:
        note_missing("jax", missing)
        return None
    try:
        return {"jax": version("jax"), "jaxlib": version("jaxlib")}
    except PackageNotFoundError:
        return {"jax": "?", "jaxlib": "?"}


def machine_info(torch, sklearn, ort, jax_version):
    facts = machine_facts()
    info = {"date": datetime.date.today().isoformat(), "cpu": facts["model_name"], "cpu_facts": facts,
            "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "fastnn": fastnn.build_info(),
            "env_OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "env_OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
            "env_XLA_FLAGS": os.environ.get("XLA_FLAGS")}
    try:
        import threadpoolctl

        info["threadpools"] = [{k: p.get(k) for k in ("user_api", "internal_api", "architecture", "num_threads",
                                                      "version", "filepath")}
                               for p in threadpoolctl.threadpool_info()]
    except ImportError:
        info["threadpools"] = f"threadpoolctl not installed ({install_hint('threadpoolctl')})"
    for key, module in (("torch", torch), ("sklearn", sklearn), ("onnxruntime", ort)):
        if module is not None:
            info[key] = module.__version__
    if jax_version is not None:
        info.update(jax_version)
    return info


def print_machine(m):
    b = m["fastnn"]
    caches = ", ".join(f"L{c['level']}{c['type'][0].lower() if c['type'] != 'Unified' else ''} {c['size']}"
                       for c in m["cpu_facts"]["caches"])
    row = b.get("kernel_config", {}).get("name", "?")
    print(f"machine: {m['cpu_facts']['kind']}; caches {caches}\n"
          f"fastnn: SIMD {b['simd_selected']}, kernel table row {row}, OpenMP {b['openmp_version']}; "
          f"OPENBLAS_CORETYPE={m['env_OPENBLAS_CORETYPE']}, OPENBLAS_L2_SIZE={m['env_OPENBLAS_L2_SIZE']}")
    print("versions: " + ", ".join(f"{k} {m[k]}" for k in ("numpy", "torch", "sklearn", "onnxruntime", "jax", "jaxlib")
                                   if k in m))
    if isinstance(m["threadpools"], list):
        for p in m["threadpools"]:
            print(f"  threadpool: {p['user_api']} {p['internal_api']} {p.get('architecture') or ''} "
                  f"threads={p['num_threads']} {p.get('version') or ''}")
    else:
        print(f"  {m['threadpools']}: BLAS keeps its own thread count throughout")


class Threads:
    """Set every library's thread count at once (BLAS through threadpoolctl)."""

    def __init__(self, n, torch):
        self.n, self.torch, self.ctx = n, torch, None

    def __enter__(self):
        fastnn.set_num_threads(self.n)
        if self.torch is not None:
            self.torch.set_num_threads(self.n)
        try:
            import threadpoolctl

            self.ctx = threadpoolctl.threadpool_limits(self.n, user_api="blas")
        except ImportError:
            self.ctx = None
        return self

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.restore_original_limits()
        return False


# ---- timing ----------------------------------------------------------------------------

def measure(contenders, repeats, number, pause):
    """Per-call seconds of each contender: ``repeats`` rounds, each running
    every contender ``number`` times in turn (after one warm-up call)."""
    times = {name: [] for name in contenders}
    for fn in contenders.values():
        fn()
    for _ in range(repeats):
        for name, fn in contenders.items():
            time.sleep(pause)
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - t0) / number)
    return {name: {"median": statistics.median(v), "min": min(v), "max": max(v), "all": v}
            for name, v in times.items()}


def number_for(seconds_per_call, target=0.05):
    return max(1, int(target / max(seconds_per_call, 1e-7)))


def rough_time(fn):
    fn()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---- peak ---------------------------------------------------------------------------------

def sgemm_peak(threads, quick):
    n = 1024 if quick else 2048
    A = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    B = A.copy()
    with Threads(threads, None):
        r = measure({"sgemm": lambda: A @ B}, 3 if quick else 5, 2 if quick else 3, 0.0)["sgemm"]
    return 2 * n ** 3 / r["median"] / 1e9


# ---- kernels ------------------------------------------------------------------------------

def kernel_contenders(n, fin, fout, dtype, torch, direction):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, fin)).astype(dtype)
    W = (rng.standard_normal((fout, fin)) / np.sqrt(fin)).astype(dtype)
    b = np.zeros(fout, dtype)
    A = np.empty((n, fout), dtype)
    _core.dense_forward(X, W, b, A, 1, 0.0)
    dA = rng.standard_normal((n, fout)).astype(dtype)
    dZ, dW, db, dX = np.empty_like(dA), np.empty_like(W), np.empty_like(b), np.empty_like(X)
    c = {}
    if direction == "forward":
        c["fastnn"] = lambda: _core.dense_forward(X, W, b, A, 1, 0.0)
        c["numpy"] = lambda: 1.0 / (1.0 + np.exp(-(X @ W.T + b)))
    else:
        c["fastnn"] = lambda: _core.dense_backward(dA, A, X, W, 1, 0.0, dZ, dW, db, dX)

        def numpy_backward():
            Z = dA * A * (1 - A)
            return Z.T @ X, Z.sum(axis=0), Z @ W

        c["numpy"] = numpy_backward
    if torch is not None:
        tX, tW, tb, tA, tdA = (torch.from_numpy(a) for a in (X, W, b, A, dA))
        out = torch.empty((n, fout), dtype=tX.dtype)
        if direction == "forward":
            def torch_forward():
                with torch.no_grad():
                    torch.addmm(tb, tX, tW.t(), out=out)
                    torch.sigmoid(out, out=out)
            c["torch"] = torch_forward
        else:
            def torch_backward():
                with torch.no_grad():
                    Z = tdA * tA * (1 - tA)
                    return Z.t() @ tX, Z.sum(0), Z @ tW
            c["torch"] = torch_backward
    return c


def bench_kernels(args, torch, peak, results):
    batches = (1, 128) if args.quick else (1, 32, 128, 1024)
    dtypes = (np.float32,) if args.quick else (np.float32, np.float64)
    layers = LAYERS[:2] if args.quick else LAYERS
    rows = []
    with Threads(args.threads, torch):
        for dtype in dtypes:
            for direction in ("forward", "backward"):
                for n in batches:
                    for fin, fout in layers:
                        c = kernel_contenders(n, fin, fout, dtype, torch, direction)
                        num = number_for(rough_time(c["fastnn"]), 0.01 if args.quick else 0.04)
                        r = measure(c, args.repeats, num, args.pause)
                        flops = 2 * n * fin * fout * (1 if direction == "forward" else 2)
                        row = {"dtype": np.dtype(dtype).name, "direction": direction, "batch": n,
                               "layer": f"{fin}->{fout}", "flops": flops, "results": r}
                        f = r["fastnn"]["median"]
                        row["fastnn_gflops"] = flops / f / 1e9
                        row["fastnn_pct_peak"] = 100 * row["fastnn_gflops"] / peak if dtype == np.float32 else None
                        rows.append(row)
    results["kernels"] = rows
    print(f"\nKernels ({args.threads} threads): median time per call, fastnn GFLOP/s, and others/fastnn")
    print(f"{'dtype':8}{'pass':9}{'batch':>6} {'layer':>9} {'fastnn':>10} {'GFLOP/s':>8} {'%peak':>6}"
          + "".join(f" {k + '/fastnn':>13}" for k in rows[0]["results"] if k != "fastnn"))
    for row in rows:
        r = row["results"]
        f = r["fastnn"]["median"]
        pct = f"{row['fastnn_pct_peak']:.0f}" if row["fastnn_pct_peak"] is not None else "-"
        print(f"{row['dtype']:8}{row['direction']:9}{row['batch']:>6} {row['layer']:>9} {f * 1e6:>8.1f}us "
              f"{row['fastnn_gflops']:>8.1f} {pct:>6}"
              + "".join(f" {r[k]['median'] / f:>12.2f}x" for k in r if k != "fastnn"))


# ---- training: data and contenders -------------------------------------------------

def load_data(args):
    """MNIST's training images: the full files if found, else the sample
    shipped with fastnn, else synthetic data of the same shape."""
    if args.data_home:
        homes = [args.data_home]
    else:
        homes = [h for h in (os.environ.get("FASTNN_DATA"), ROOT.parent / "shared" / "data" / "mnist") if h]
        homes.append(datasets.get_data_home())
    for home in homes:
        try:
            return datasets.load_mnist(home, download=False, flatten=True, verbose=False), f"full MNIST files in {home}"
        except (OSError, ValueError):
            continue
    try:
        return datasets.load_mnist_sample(flatten=True), "fastnn's shipped MNIST sample (full files not found)"
    except (OSError, ValueError):
        rng = np.random.default_rng(0)
        X = rng.integers(0, 256, (60000, 784), dtype=np.uint8)
        y = rng.integers(0, 10, 60000)
        return (X, y, X[:10000], y[:10000]), "synthetic data of MNIST's shape (no MNIST found)"


def numpy_epoch(params, X, y, bs, lr):
    """One epoch of plain SGD in NumPy (the reference maths), preallocating
    nothing it cannot reuse."""
    n = len(X)
    order = np.random.default_rng(0).permutation(n)
    Ws, bs_ = params
    for s in range(0, n, bs):
        idx = order[s:s + bs]
        acts = [X[idx]]
        for i, (W, b) in enumerate(zip(Ws, bs_)):
            z = acts[-1] @ W.T + b
            acts.append(R.softmax(z) if i == len(Ws) - 1 else 1 / (1 + np.exp(-z)))
        delta = acts[-1]
        delta[np.arange(len(idx)), y[idx]] -= 1
        delta /= len(idx)
        for i in range(len(Ws) - 1, -1, -1):
            gW, gb = delta.T @ acts[i], delta.sum(axis=0)
            if i:
                delta = (delta @ Ws[i]) * acts[i] * (1 - acts[i])
            Ws[i] -= lr * gW
            bs_[i] -= lr * gb


def notes_network():
    """The notes' 784-64-128-512-10 network in fastnn, seed 0: fastnn's,
    NumPy's and JAX's initial weights."""
    return fastnn.Sequential([fastnn.Dense(a, b, "softmax" if b == 10 else "sigmoid") for a, b in LAYERS], seed=0)


def torch_network(torch, softmax):
    """The same layers in PyTorch (its own initial weights); the softmax
    only for inference, since CrossEntropyLoss takes the logits."""
    modules = []
    for a, b in LAYERS:
        modules.append(torch.nn.Linear(a, b))
        if b != SIZES[-1]:
            modules.append(torch.nn.Sigmoid())
        elif softmax:
            modules.append(torch.nn.Softmax(dim=1))
    return torch.nn.Sequential(*modules)


def model_contenders(X, y, bs, torch, sklearn):
    """One training epoch (shuffle included) of each library installed."""
    c = {}
    model = notes_network()
    trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(lr=LR), batch_size=bs)
    c["fastnn"] = lambda: trainer.fit(X, y, epochs=1, verbose=0, seed=0)
    params = ([layer.weight.copy() for layer in model.layers], [layer.bias.copy() for layer in model.layers])
    c["numpy"] = lambda: numpy_epoch(params, X, y, bs, LR)
    if torch is not None:
        tm = torch_network(torch, softmax=False)
        opt = torch.optim.SGD(tm.parameters(), lr=LR)
        loss_fn = torch.nn.CrossEntropyLoss()
        tX, ty = torch.from_numpy(X), torch.from_numpy(y)

        def torch_epoch():
            order = torch.randperm(len(ty))
            for s in range(0, len(ty), bs):
                idx = order[s:s + bs]
                opt.zero_grad(set_to_none=True)
                loss_fn(tm(tX[idx]), ty[idx]).backward()
                opt.step()
        c["torch"] = torch_epoch
    if sklearn is not None:
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], activation="logistic", solver="sgd", batch_size=bs,
                            learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                            shuffle=True, random_state=0)
        classes = np.arange(10)
        c["sklearn"] = lambda: clf.partial_fit(X, y, classes=classes)
    return c


# ---- training: JAX ----------------------------------------------------------------------

JAX_THREADS_NOTE = ("JAX's threads: XLA:CPU sizes its thread pool from the CPUs the process may run on; in jaxlib {} "
                    "XLA_FLAGS=--xla_cpu_multi_thread_eigen=false (with or without intra_op_parallelism_threads=1) "
                    "is accepted and changes nothing, so JAX runs in a process of its own (bench/jax_epoch.py) "
                    "restricted to as many CPUs as the row's thread count (os.sched_setaffinity before importing "
                    "jax, as `taskset -c 0` would); where that count is all the CPUs, JAX runs at its default")


class JaxWorker:
    """bench/jax_epoch.py in a process of its own, on ``cpus`` CPUs (0: all
    this process may use, JAX's default), answering one request at a time.
    The contenders' timings are taken here, around the request: the pipe's
    round trip (tens of microseconds) is in them.  After a failure it says
    why, stops, and offers no more contenders."""

    def __init__(self, cpus, data_file, usable):
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "jax_epoch.py"), str(cpus), str(data_file)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "JAX_PLATFORMS": "cpu"})
        self.cpu_per_wall = {}
        try:
            self.info = self._read()
        except (OSError, RuntimeError, ValueError):
            self.close()
            raise
        self.default_threads = len(self.info["cpus"]) >= usable

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench/jax_epoch.py ended (exit status {self.proc.wait()}; its error is above)")
        return json.loads(line)

    def _ask(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def epoch(self, kind, bs):
        r = self._ask(op="epoch", kind=kind, bs=bs)
        self.cpu_per_wall.setdefault((kind, bs), []).append(r["cpu"] / r["wall"])

    def contenders(self, bs, c):
        """Add the loop and the scan at batch size ``bs`` to ``c`` after
        their first (untimed) calls; return what the row records of them,
        or None where JAX failed."""
        if self.proc.poll() is not None:
            return None
        try:
            first = self._ask(op="setup", bs=bs)["first_call_s"]
        except (OSError, RuntimeError, ValueError, KeyError) as e:
            print(f"  jax: failed, skipped from here ({e!r})")
            self.close()
            return None
        print(f"  jax on {len(self.info['cpus'])} CPU(s), batch {bs}: first call (trace, compile and one epoch; "
              f"not timed): loop {first['loop']:.2f} s, scan {first['scan']:.2f} s")
        c["jax loop"] = lambda: self.epoch("loop", bs)
        c["jax scan"] = lambda: self.epoch("scan", bs)
        return {"cpus": self.info["cpus"], "first_call_s": first, "default_threads": self.default_threads}

    def cpu_seconds_per_second(self, bs):
        return {kind: self.cpu_per_wall.get((kind, bs)) for kind in ("loop", "scan")}

    def close(self):
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_jax(threads, data_file, usable):
    """A JaxWorker for a row's thread count, or None (saying why)."""
    try:
        return JaxWorker(threads if threads < usable else 0, data_file, usable)
    except (OSError, RuntimeError, ValueError) as e:
        print(f"  jax: could not start, skipped ({e})")
        return None


def jax_data(X, y, folder):
    """The data and fastnn's initial weights (notes_network's, as in
    model_contenders) in a file for bench/jax_epoch.py."""
    model = notes_network()
    path = Path(folder) / "data.npz"
    np.savez(path, X=X, y=y, lr=LR, layers=len(LAYERS),
             **{f"W{i}": layer.weight for i, layer in enumerate(model.layers)},
             **{f"b{i}": layer.bias for i, layer in enumerate(model.layers)})
    return path


# ---- training ---------------------------------------------------------------------------

def train_row(args, X, y, bs, threads, torch, sklearn, worker):
    """Every contender's epoch at one batch size and thread count."""
    with Threads(threads, torch):
        c = model_contenders(X, y, bs, torch, sklearn)
        jax_facts = worker.contenders(bs, c) if worker is not None else None
        r = measure(c, 1 if args.quick else args.epoch_repeats, 1, args.epoch_pause)
    epoch_flops = 3 * 2 * len(y) * sum(a * b for a, b in LAYERS)  # the forward pass, and backward's dW and dX
    row = {"what": f"train epoch, batch {bs}", "threads": threads, "results": r,
           "fastnn_gflops": epoch_flops / r["fastnn"]["median"] / 1e9}
    if jax_facts is not None:
        row["jax"] = {**jax_facts, "cpu_seconds_per_second": worker.cpu_seconds_per_second(bs)}
    return row


def bench_training(args, X, y, torch, sklearn, jax_version, rows):
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        data_file = None
        if jax_version is not None:
            print("  " + JAX_THREADS_NOTE.format(jax_version["jaxlib"]))
            data_file = jax_data(X, y, tmp)
        grid = QUICK_TRAIN if args.quick else [(t, bs) for t in THREADS for bs in TRAIN_BATCHES]
        for threads in THREADS:
            worker = start_jax(threads, data_file, usable) if data_file is not None else None
            try:
                for bs in (bs for t, bs in grid if t == threads):
                    rows.append(train_row(args, X, y, bs, threads, torch, sklearn, worker))
            finally:
                if worker is not None:
                    worker.close()


# ---- inference --------------------------------------------------------------------------

def ort_sessions(ort, model, missing):
    """An ONNX Runtime session per thread count on the graph
    ``model.to_onnx`` writes, or {} (saying why) where onnx is missing."""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.onnx"
            model.to_onnx(path)
            sessions = {}
            for threads in THREADS:
                so = ort.SessionOptions()
                so.intra_op_num_threads = threads
                so.inter_op_num_threads = 1
                sessions[threads] = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            return sessions
    except ImportError:
        note_missing("onnx", missing, "not installed, so ONNX Runtime has no graph to run")
        return {}


def add_onnxruntime(c, session, model, Xb, where):
    """Add ONNX Runtime to ``c`` if its outputs match fastnn's (float32:
    rtol 1e-5, atol 1e-6); return the check, which the row records."""
    got = session.run(["output"], {"input": Xb})[0]
    want = model.forward(Xb)
    check = {"allclose": bool(np.allclose(got, want, rtol=1e-5, atol=1e-6)),
             "max_abs_diff": float(np.max(np.abs(got - want)))}
    if check["allclose"]:
        c["onnxruntime"] = lambda: session.run(["output"], {"input": Xb})
    else:
        print(f"  onnxruntime, {where}: outputs differ from fastnn's (max |difference| "
              f"{check['max_abs_diff']:.3g}), not timed")
    return check


def inference_contenders(model, Xb, torch, tm):
    Ws = [layer.weight for layer in model.layers]
    bs_ = [layer.bias for layer in model.layers]
    c = {"fastnn": lambda: model.forward(Xb),
         "numpy": lambda: R.network_forward(Ws, bs_, ["sigmoid"] * 3 + ["softmax"], Xb)[-1]}
    if tm is not None:
        tXb = torch.from_numpy(np.ascontiguousarray(Xb))

        def torch_infer():
            with torch.no_grad():
                return tm(tXb)
        c["torch"] = torch_infer
    return c


def bench_inference(args, X, torch, ort, rows, missing):
    model = notes_network()
    sessions = ort_sessions(ort, model, missing) if ort is not None else {}
    tm = torch_network(torch, softmax=True).eval() if torch is not None else None
    for threads in THREADS:
        with Threads(threads, torch):
            for batch in INFERENCE_BATCHES:
                Xb = X[:batch] if batch <= len(X) else np.resize(X, (batch, X.shape[1]))
                c = inference_contenders(model, Xb, torch, tm)
                check = None
                if threads in sessions:
                    check = add_onnxruntime(c, sessions[threads], model, Xb, f"batch {batch}, {threads_text(threads)}")
                num = number_for(rough_time(c["fastnn"]), 0.02 if args.quick else 0.1)
                r = measure(c, args.repeats, num, args.pause)
                flops = 2 * batch * sum(a * b for a, b in LAYERS)
                row = {"what": f"inference, batch {batch}", "threads": threads, "results": r,
                       "fastnn_gflops": flops / r["fastnn"]["median"] / 1e9}
                if check is not None:
                    row["onnxruntime_check"] = check
                rows.append(row)


# ---- models: both, and their table -------------------------------------------------------

def training_data(args):
    """MNIST's training images, standardized, as float32 (QUICK_IMAGES of
    them with --quick), their labels, and where they came from."""
    data, source = load_data(args)
    X_all, y_all = data[0], np.asarray(data[1], dtype=np.int64)
    n = min(QUICK_IMAGES, len(y_all)) if args.quick else len(y_all)
    mean, std = X_all[:n].mean(), X_all[:n].std()
    X = ((X_all[:n].reshape(n, -1) - mean) / std).astype(np.float32)
    return X, y_all[:n], source


def print_models(rows, peak):
    names = [k for k in sorted({k for row in rows for k in row["results"]}) if k != "fastnn"]
    print(f"{'measurement':26}{'threads':>8} {'fastnn':>10} {'GFLOP/s':>8} {'%peak':>6}"
          + "".join(f" {k + '/fastnn':>18}" for k in names))
    for row in rows:
        r = row["results"]
        f = r["fastnn"]["median"]
        cells = "".join(f" {r[k]['median'] / f:>17.2f}x" if k in r else f" {'-':>18}" for k in names)
        print(f"{row['what']:26}{row['threads']:>8} {seconds(f):>10} {row['fastnn_gflops']:>8.1f} "
              f"{100 * row['fastnn_gflops'] / peak[row['threads']]:>6.0f}{cells}")
    for row in rows:
        if "jax" in row:
            j = row["jax"]
            use = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in j["cpu_seconds_per_second"].items() if v)
            print(f"  jax, {row['what']}, {threads_text(row['threads'])}: on CPUs {j['cpus']}"
                  f"{' (its default)' if j['default_threads'] else ''}; CPU-seconds per second: {use}")


def bench_models(args, torch, sklearn, ort, jax_version, peak, results, missing):
    X, y, source = training_data(args)
    print(f"\nModels: data = {source}, {len(y)} training images per epoch")
    rows = []
    results["models"] = rows
    results["data"] = source
    bench_training(args, X, y, torch, sklearn, jax_version, rows)
    bench_inference(args, X, torch, ort, rows, missing)
    print_models(rows, peak)
    results["summary"] = summarize(rows, peak)
    print("summary (ratios: the other library's time / fastnn's; > 1: fastnn faster"
          + ("; --quick: a small run, not figures to quote" if args.quick else "") + "):")
    for s in results["summary"]:
        print("  " + "\n    ".join(s["lines"]))


# ---- summary and table -------------------------------------------------------------------

LABELS = {"torch": "PyTorch", "jax": "JAX", "sklearn": "scikit-learn", "numpy": "NumPy", "onnxruntime": "ONNX Runtime"}


def seconds(t):
    return f"{t * 1e6:.1f} us" if t < 1e-3 else f"{t * 1e3:.2f} ms" if t < 0.1 else f"{t:.3f} s"


def threads_text(n):
    return f"{n} thread" + ("s" if n != 1 else "")


def peak_at(peak, threads):
    """The run's SGEMM peak in GFLOP/s at a thread count (a run's JSON has
    the counts as strings), or None."""
    if not peak:
        return None
    return peak.get(threads, peak.get(str(threads)))


def of_peak(gflops, peak, threads):
    p = peak_at(peak, threads)
    return 100 * gflops / p if p else None


def best_by_library(by_threads):
    """Each library's fastest median over the thread counts measured (JAX's
    loop and scan as one library, the faster of the two), with that thread
    count and, for JAX, which of the two."""
    best = {}
    for threads, row in sorted(by_threads.items()):
        for name, m in row["results"].items():
            lib, how = ("jax", name.split()[1]) if name.startswith("jax ") else (name, None)
            if lib not in best or m["median"] < best[lib]["median"]:
                best[lib] = {"median": m["median"], "threads": threads, "how": how}
    return best


def train_summary(what, by_threads, peak):
    """A training epoch: fastnn on 2 threads (time, GFLOP/s, share of the
    2-thread SGEMM peak), the 1 -> 2 thread speed-up, and every library at
    its better thread count against fastnn at its own."""
    best = best_by_library(by_threads)
    mine = best.pop("fastnn")
    s = {"what": what, "fastnn_best": mine}
    head = []
    if 2 in by_threads:
        t2, gflops = by_threads[2]["results"]["fastnn"]["median"], by_threads[2]["fastnn_gflops"]
        s["pct_peak_2_threads"] = pct = of_peak(gflops, peak, 2)
        head.append(f"fastnn on 2 threads {seconds(t2)}, {gflops:.1f} GFLOP/s"
                    + (f", {pct:.0f}% of the SGEMM peak ({peak_at(peak, 2):.0f} GFLOP/s)" if pct else ""))
        if 1 in by_threads:
            s["speedup_1_to_2"] = by_threads[1]["results"]["fastnn"]["median"] / t2
            head.append(f"1 -> 2 threads {s['speedup_1_to_2']:.2f}x")
    order = [lib for lib in ("torch", "jax", "sklearn", "numpy") if lib in best]
    s["ratios"] = {lib: {**best[lib], "ratio": best[lib]["median"] / mine["median"]} for lib in order}
    ratios = ", ".join(f"{LABELS[lib]} {r['ratio']:.2f}x ({r['how'] + ', ' if r['how'] else ''}{r['threads']})"
                       for lib, r in s["ratios"].items())
    s["lines"] = [f"{what}: " + "; ".join(head or [f"fastnn {seconds(mine['median'])}"]),
                  f"each library at its better thread count (in brackets), against fastnn's "
                  f"{seconds(mine['median'])} ({mine['threads']}): " + (ratios or "no other library measured")]
    pct = s.get("pct_peak_2_threads")
    s["cell"] = (f"{seconds(mine['median'])} ({mine['threads']} thr)"
                 + "".join(f", {LABELS[lib]} {r['ratio']:.2f}x" for lib, r in s["ratios"].items())
                 + (f"; 2 thr {pct:.0f}% of peak" if pct else "")
                 + (f", 1→2 thr {s['speedup_1_to_2']:.2f}x" if "speedup_1_to_2" in s else ""))
    return s


def inference_summary(what, by_threads, peak):
    """An inference batch: fastnn's time on each thread count, its share of
    the SGEMM peak on the most threads, and ONNX Runtime and PyTorch at the
    same thread count."""
    top = max(by_threads)
    mine = {t: row["results"]["fastnn"]["median"] for t, row in sorted(by_threads.items())}
    pct = of_peak(by_threads[top]["fastnn_gflops"], peak, top)
    s = {"what": what, "fastnn": mine, "pct_peak": pct, "peak_threads": top, "same_threads": {}}
    for lib in ("onnxruntime", "torch"):
        ratios = {t: row["results"][lib]["median"] / mine[t] for t, row in sorted(by_threads.items())
                  if lib in row["results"]}
        if ratios:
            s["same_threads"][lib] = ratios
    times = ", ".join(f"{seconds(mine[t])} on {threads_text(t)}" for t in sorted(mine, reverse=True))
    share = f"; {by_threads[top]['fastnn_gflops']:.1f} GFLOP/s on {top}, {pct:.0f}% of the SGEMM peak" if pct else ""
    vs = "; ".join(f"{LABELS[lib]} " + ", ".join(f"{v:.2f}x ({t})" for t, v in ratios.items())
                   for lib, ratios in s["same_threads"].items())
    s["lines"] = [f"{what}: fastnn {times}{share}",
                  "at the same thread count (in brackets): " + (vs or "no other library measured")]
    s["cell"] = (f"{seconds(mine[top])} ({top} thr)" + (f", {pct:.0f}% of peak" if pct and pct >= 1 else "")
                 + "".join(f"; {LABELS[lib]} " + " / ".join(f"{v:.2f}x" for v in ratios.values())
                           + f" ({' / '.join(str(t) for t in ratios)} thr)"
                           for lib, ratios in s["same_threads"].items()))
    return s


def measurement_order(what):
    """Training before inference, each by batch size."""
    return (not what.startswith("train"), int(what.rsplit(" ", 1)[1]))


def summarize(rows, peak):
    """The lines the speed issue asks for, and the README table's cells, from
    one run's rows and SGEMM peak (a run's JSON gives both)."""
    out = []
    for what in sorted({r["what"] for r in rows}, key=measurement_order):
        summary = train_summary if what.startswith("train") else inference_summary
        out.append(summary(what, {r["threads"]: r for r in rows if r["what"] == what}, peak))
    return out


TABLE_LEGEND = ("Training: fastnn's time at its better thread count; each other library's time at its better "
                "thread count / fastnn's (> 1: fastnn faster; JAX the better of its loop and scan); fastnn's "
                "GFLOP/s on 2 threads as a share of the SGEMM peak on 2 threads measured in the same run; the "
                "1 -> 2 thread speed-up. Inference: fastnn's time on 2 threads and its share of the peak; the others' "
                "time / fastnn's at the same thread count (1 / 2).")


def markdown_table(runs, names=None):
    """One row per measurement, one column per run (CPU kind and date; the
    file's name where an earlier run's JSON has no date), the cells
    recomputed from each run's rows (so earlier runs' JSON too)."""
    heads, columns = [], []
    for i, res in enumerate(runs):
        m = res["machine"]
        kind = m.get("cpu_facts", {}).get("kind", m.get("cpu", "?"))
        when = m.get("date") or (names[i] if names else "?")
        heads.append(f"{kind}, {when}" + (" (--quick)" if res.get("quick") else ""))
        columns.append({s["what"]: s["cell"] for s in summarize(res.get("models", []), res.get("sgemm_peak_gflops"))})
    whats = sorted({w for col in columns for w in col}, key=measurement_order)
    lines = ["| measurement | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    lines += [f"| {w} | " + " | ".join(col.get(w, "–") for col in columns) + " |" for w in whats]
    return "\n".join(lines + ["", TABLE_LEGEND])


def chart(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no PNG: pip install matplotlib)")
        return
    rows = results["models"]
    names = sorted({k for row in rows for k in row["results"]}, key=lambda k: (k != "fastnn", k))
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        vals = [row["results"][name]["median"] / row["results"]["fastnn"]["median"] if name in row["results"]
                else np.nan for row in rows]
        ax.bar(np.arange(len(rows)) + i * width, vals, width, label=name)
    ax.set_xticks(np.arange(len(rows)) + 0.4 - width / 2)
    ax.set_xticklabels([f"{r['what']}\n{r['threads']} thr" for r in rows], fontsize=7)
    ax.set_ylabel("time relative to fastnn")
    ax.axhline(1, color="k", lw=0.5)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"chart: {path}")


# ---- main ---------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small version that checks the whole path in seconds")
    ap.add_argument("--out", default=None, help="the JSON file (default bench/results/compare.json, "
                    "with --quick bench/results/compare-quick.json)")
    ap.add_argument("--png", default=None, help="write a chart (needs matplotlib)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for the kernels")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--epoch-repeats", type=int, default=3)
    ap.add_argument("--pause", type=float, default=None, help="seconds between contenders (kernels, inference)")
    ap.add_argument("--epoch-pause", type=float, default=None,
                    help="seconds between training epochs of different contenders: OpenBLAS's idle workers "
                         "busy-wait about 0.1 s after a call, which would slow the next contender")
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--skip-kernels", action="store_true")
    ap.add_argument("--skip-models", action="store_true")
    ap.add_argument("--table", nargs="+", metavar="JSON",
                    help="measure nothing: print the README's table from the JSON of earlier runs, one column each")
    args = ap.parse_args(argv)
    args.out = args.out or str(RESULTS / ("compare-quick.json" if args.quick else "compare.json"))
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.pause = args.pause if args.pause is not None else (0.0 if args.quick else 0.05)
    args.epoch_pause = args.epoch_pause if args.epoch_pause is not None else (0.0 if args.quick else 0.3)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.table:
        print(markdown_table([json.loads(Path(f).read_text()) for f in args.table], [Path(f).name for f in args.table]))
        return
    print("contenders: fastnn, numpy (fastnn.reference maths)")
    missing = {}
    torch = optional("torch", missing)
    sklearn = optional("sklearn", missing)
    ort = optional("onnxruntime", missing)
    jax_version = jax_versions(missing)
    results = {"machine": machine_info(torch, sklearn, ort, jax_version), "quick": args.quick,
               "missing": missing, "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:])}
    print_machine(results["machine"])
    peak = {t: sgemm_peak(t, args.quick) for t in THREADS}
    results["sgemm_peak_gflops"] = peak
    print(f"SGEMM peak (NumPy float32 {'1024' if args.quick else '2048'}^3): "
          + ", ".join(f"{threads_text(t)} {p:.0f} GFLOP/s" for t, p in peak.items()))
    if not args.skip_kernels:
        bench_kernels(args, torch, peak[min(args.threads, max(THREADS))], results)
    if not args.skip_models:
        bench_models(args, torch, sklearn, ort, jax_version, peak, results, missing)
        print(f"\nREADME table column ({results['machine']['date']}; python bench/compare.py --table A.json B.json "
              "... puts runs side by side):")
        print(markdown_table([results]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"\nresults: {out}")
    if args.png:
        chart(results, args.png)
    if missing:
        print("not measured (not installed):\n" + "\n".join(f"  {k}: {v}" for k, v in missing.items()))


if __name__ == "__main__":
    main()
