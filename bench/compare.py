"""fastnn against NumPy (fastnn.reference), PyTorch, scikit-learn, ONNX Runtime and JAX.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/compare.py [--quick] [--out FILE] [--png FILE]
    python bench/compare.py --table FILE.json [FILE.json ...]

Measures, in one run, with the contenders interleaved (round-robin over
repeats, a pause between contenders so that one library's idle spinning
threads do not steal the next one's cores) and reports medians and min-max:

* the machine's SGEMM peak (NumPy float32 2048^3, 1 and 2 BLAS threads);
* kernels: the fused dense forward act(X W^T + b) and backward (dW, db, dX)
  for the notes' layer shapes at batch 1, 32, 128, 1024, float32/float64;
* models: one training epoch of 784-64-128-512-10 (sigmoid, softmax,
  cross-entropy, plain SGD) on MNIST, batch 32 and 128, 1 and 2 threads,
  against NumPy, PyTorch, scikit-learn and JAX (a jitted step in a Python
  loop, and the epoch as one jitted lax.scan; in a process of its own,
  bench/jax_epoch.py, on as many CPUs as the row's threads); inference at
  batch 1, 128 and 10,000 on 1 and 2 threads, against NumPy, PyTorch and
  ONNX Runtime (the graph Sequential.to_onnx writes, its outputs checked
  equal to fastnn's before timing).

It ends with summary lines (each library at its better thread count for
training, ONNX Runtime at the same thread count for inference) and the
README's table column for this machine; the JSON (--out) records the CPU
(model, family, caches, flags: bench/machine_facts.py) and
fastnn.build_info(), and ``--table`` puts the JSON of several machines side
by side, one column per CPU kind.

Contenders that are not installed are skipped, saying so and how to install
them (``pip install ".[bench]"`` pins the versions compared).  Nothing here
asserts a timing.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
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
SIZES = (784, 64, 128, 512, 10)
LAYERS = list(zip(SIZES[:-1], SIZES[1:]))
LR = 0.1
INSTALL = {
    "torch": "pip install torch==2.13.0, a CPU build",
    "sklearn": 'pip install ".[bench]"',
    "onnx": 'pip install ".[bench]"',
    "onnxruntime": 'pip install ".[bench]"',
    "jax": 'pip install ".[bench]" (jax and jaxlib 0.10.2, Python 3.11 or later)',
}


# ---- environment ---------------------------------------------------------------------

def optional(name, missing):
    try:
        return __import__(name)
    except ImportError:
        print(f"  {name}: not installed, skipped ({INSTALL[name]})")
        missing[name] = INSTALL[name]
        return None


def jax_versions(missing):
    """JAX's and jaxlib's versions when both are installed (JAX itself runs
    in bench/jax_epoch.py's processes, never in this one), else None."""
    try:
        found = all(importlib.util.find_spec(name) is not None for name in ("jax", "jaxlib"))
    except (ImportError, ValueError):
        found = False
    if not found:
        print(f"  jax: not installed, skipped ({INSTALL['jax']})")
        missing["jax"] = INSTALL["jax"]
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
        info["threadpools"] = "threadpoolctl not installed (pip install threadpoolctl)"
    if torch is not None:
        info["torch"] = torch.__version__
    if sklearn is not None:
        info["sklearn"] = sklearn.__version__
    if ort is not None:
        info["onnxruntime"] = ort.__version__
    if jax_version is not None:
        info.update(jax_version)
    return info


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


# ---- models ----------------------------------------------------------------------------

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


def model_contenders(X, y, bs, torch, sklearn):
    c = {}
    model = fastnn.Sequential([fastnn.Dense(a, b, "softmax" if b == 10 else "sigmoid") for a, b in LAYERS], seed=0)
    trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(lr=LR), batch_size=bs)
    c["fastnn"] = lambda: trainer.fit(X, y, epochs=1, verbose=0, seed=0)
    params = ([layer.weight.copy() for layer in model.layers], [layer.bias.copy() for layer in model.layers])
    c["numpy"] = lambda: numpy_epoch(params, X, y, bs, LR)
    if torch is not None:
        tm = torch.nn.Sequential(*[m for a, b in LAYERS for m in
                                   ([torch.nn.Linear(a, b)] + ([torch.nn.Sigmoid()] if b != 10 else []))])
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


class JaxWorker:
    """bench/jax_epoch.py in a process of its own, on ``cpus`` CPUs (0: all
    this process may use, JAX's default), answering one request at a time.
    The contenders' timings are taken here, around the request: the pipe's
    round trip (tens of microseconds) is in them."""

    def __init__(self, cpus, data_file):
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "jax_epoch.py"), str(cpus), str(data_file)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "JAX_PLATFORMS": "cpu"})
        self.info = self._read()
        self.cpu_per_wall = {}

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"bench/jax_epoch.py ended (exit status {self.proc.wait()}; its error is above)")
        return json.loads(line)

    def _ask(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def setup(self, bs):
        return self._ask(op="setup", bs=bs)["first_call_s"]

    def epoch(self, kind, bs):
        r = self._ask(op="epoch", kind=kind, bs=bs)
        self.cpu_per_wall.setdefault(f"{kind}, batch {bs}", []).append(r["cpu"] / r["wall"])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


JAX_THREADS_NOTE = ("JAX's threads: XLA:CPU sizes its thread pool from the CPUs the process may run on; in jaxlib {} "
                    "XLA_FLAGS=--xla_cpu_multi_thread_eigen=false (with or without intra_op_parallelism_threads=1) "
                    "is accepted and changes nothing, so JAX runs in a process of its own (bench/jax_epoch.py) "
                    "restricted to as many CPUs as the row's thread count (os.sched_setaffinity before importing "
                    "jax, as `taskset -c 0` would); where that count is all the CPUs, JAX runs at its default")


def start_jax(threads, data_file, usable):
    """A JaxWorker for a row's thread count, or None (saying why)."""
    try:
        worker = JaxWorker(threads if threads < usable else 0, data_file)
    except (OSError, RuntimeError, ValueError) as e:
        print(f"  jax: could not start, skipped ({e})")
        return None
    return worker


def bench_training(args, X, y, torch, sklearn, jax_version, rows):
    thread_counts = (2,) if args.quick else (1, 2)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = len(y)
    epoch_flops = 3 * 2 * n * sum(a * b for a, b in LAYERS)  # forward + backward (dW and dX)
    with tempfile.TemporaryDirectory() as tmp:
        data_file = None
        if jax_version is not None:
            print("  " + JAX_THREADS_NOTE.format(jax_version["jaxlib"]))
            # the data and fastnn's initial weights (the same seed as model_contenders' model)
            model = fastnn.Sequential([fastnn.Dense(a, b, "softmax" if b == 10 else "sigmoid") for a, b in LAYERS],
                                      seed=0)
            data_file = Path(tmp) / "data.npz"
            np.savez(data_file, X=X, y=y, lr=LR, layers=len(LAYERS),
                     **{f"W{i}": layer.weight for i, layer in enumerate(model.layers)},
                     **{f"b{i}": layer.bias for i, layer in enumerate(model.layers)})
        for threads in thread_counts:
            worker = start_jax(threads, data_file, usable) if data_file is not None else None
            for bs in ((128,) if args.quick else (32, 128)):
                with Threads(threads, torch):
                    c = model_contenders(X, y, bs, torch, sklearn)
                    jax_facts = None
                    if worker is not None:
                        try:
                            first = worker.setup(bs)
                        except (OSError, RuntimeError, ValueError) as e:
                            print(f"  jax: failed, skipped from here ({e})")
                            worker = None
                        else:
                            print(f"  jax on {len(worker.info['cpus'])} CPU(s), batch {bs}: first call (trace, compile "
                                  f"and one epoch; not timed): loop {first['loop']:.2f} s, scan {first['scan']:.2f} s")
                            c["jax loop"] = lambda: worker.epoch("loop", bs)
                            c["jax scan"] = lambda: worker.epoch("scan", bs)
                            jax_facts = {"cpus": worker.info["cpus"], "first_call_s": first,
                                         "default_threads": len(worker.info["cpus"]) >= usable}
                    r = measure(c, 1 if args.quick else args.epoch_repeats, 1, args.epoch_pause)
                row = {"what": f"train epoch, batch {bs}", "threads": threads, "results": r,
                       "fastnn_gflops": epoch_flops / r["fastnn"]["median"] / 1e9}
                if jax_facts is not None:
                    jax_facts["cpu_seconds_per_second"] = {k: worker.cpu_per_wall.get(f"{k}, batch {bs}")
                                                           for k in ("loop", "scan")}
                    row["jax"] = jax_facts
                rows.append(row)
            if worker is not None:
                worker.close()


def ort_session(ort, path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def bench_inference(args, X, torch, ort, rows, missing):
    model = fastnn.Sequential([fastnn.Dense(a, b, "softmax" if b == 10 else "sigmoid") for a, b in LAYERS], seed=0)
    thread_counts = (2,) if args.quick else (1, 2)
    sessions = {}
    if ort is not None:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "model.onnx"
                model.to_onnx(path)
                sessions = {t: ort_session(ort, path, t) for t in thread_counts}
        except ImportError as e:
            print(f"  onnx: not installed ({e}), ONNX Runtime skipped ({INSTALL['onnx']})")
            missing["onnx"] = INSTALL["onnx"]
    Ws = [layer.weight for layer in model.layers]
    bs_ = [layer.bias for layer in model.layers]
    tm = None
    if torch is not None:
        tm = torch.nn.Sequential(*[m for a, b in LAYERS for m in
                                   ([torch.nn.Linear(a, b)] + ([torch.nn.Sigmoid()] if b != 10 else
                                                               [torch.nn.Softmax(dim=1)]))]).eval()
    for threads in thread_counts:
        with Threads(threads, torch):
            for batch in (1, 128, 10000):
                Xb = X[:batch] if batch <= len(X) else np.resize(X, (batch, X.shape[1]))
                c = {"fastnn": lambda: model.forward(Xb)}
                c["numpy"] = lambda: R.network_forward(Ws, bs_, ["sigmoid"] * 3 + ["softmax"], Xb)[-1]
                if tm is not None:
                    tXb = torch.from_numpy(np.ascontiguousarray(Xb))

                    def torch_infer():
                        with torch.no_grad():
                            return tm(tXb)
                    c["torch"] = torch_infer
                check = None
                if threads in sessions:
                    session = sessions[threads]
                    got = session.run(["output"], {"input": Xb})[0]
                    want = model.forward(Xb)
                    check = {"allclose": bool(np.allclose(got, want, rtol=1e-5, atol=1e-6)),
                             "max_abs_diff": float(np.max(np.abs(got - want)))}
                    if check["allclose"]:
                        c["onnxruntime"] = lambda: session.run(["output"], {"input": Xb})
                    else:
                        print(f"  onnxruntime, batch {batch}, {threads} thread(s): outputs differ from fastnn's "
                              f"(max |difference| {check['max_abs_diff']:.3g}), not timed")
                num = number_for(rough_time(c["fastnn"]), 0.02 if args.quick else 0.1)
                r = measure(c, args.repeats, num, args.pause)
                flops = 2 * batch * sum(a * b for a, b in LAYERS)
                row = {"what": f"inference, batch {batch}", "threads": threads, "results": r,
                       "fastnn_gflops": flops / r["fastnn"]["median"] / 1e9}
                if check is not None:
                    row["onnxruntime_check"] = check
                rows.append(row)


def bench_models(args, torch, sklearn, ort, jax_version, peak, results, missing):
    data, source = load_data(args)
    X_all, y_all = data[0], np.asarray(data[1], dtype=np.int64)
    n = 6000 if args.quick else len(y_all)
    mean, std = X_all[:n].mean(), X_all[:n].std()
    X = ((X_all[:n].reshape(n, -1) - mean) / std).astype(np.float32)
    y = y_all[:n]
    print(f"\nModels: data = {source}, {n} training images per epoch")
    rows = []
    results["models"] = rows
    results["data"] = source
    bench_training(args, X, y, torch, sklearn, jax_version, rows)
    bench_inference(args, X, torch, ort, rows, missing)
    names = sorted({k for row in rows for k in row["results"]}, key=lambda k: (k != "fastnn", k))
    print(f"{'measurement':26}{'threads':>8} {'fastnn':>10} {'GFLOP/s':>8} {'%peak':>6}"
          + "".join(f" {k + '/fastnn':>13}" for k in names if k != "fastnn"))
    for row in rows:
        r = row["results"]
        f = r["fastnn"]["median"]
        pk = peak[row["threads"]]
        cells = "".join(f" {r[k]['median'] / f:>12.2f}x" if k in r else f" {'-':>13}" for k in names if k != "fastnn")
        print(f"{row['what']:26}{row['threads']:>8} {seconds(f):>10} {row['fastnn_gflops']:>8.1f} "
              f"{100 * row['fastnn_gflops'] / pk:>6.0f}{cells}")
    for row in rows:
        if "jax" in row:
            j = row["jax"]
            use = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in j["cpu_seconds_per_second"].items() if v)
            print(f"  jax, {row['what']}, {threads_text(row['threads'])}: on CPUs {j['cpus']}"
                  f"{' (its default)' if j['default_threads'] else ''}; CPU-seconds per second: {use}")
    results["summary"] = summarize(rows)
    print("summary (others' time / fastnn's; > 1: fastnn faster):")
    for s in results["summary"]:
        print("  " + s["line"])


# ---- summary ---------------------------------------------------------------------------

LABELS = {"torch": "PyTorch", "jax loop": "JAX loop", "jax scan": "JAX scan", "onnxruntime": "ONNX Runtime",
          "numpy": "NumPy", "sklearn": "scikit-learn"}


def seconds(t):
    return f"{t * 1e6:.1f} us" if t < 1e-3 else f"{t * 1e3:.2f} ms" if t < 0.1 else f"{t:.3f} s"


def threads_text(n):
    return f"{n} thread" + ("s" if n != 1 else "")


def summarize(rows):
    """The lines the speed issue asks for, and the README table's cells, from
    one run's rows: each training epoch with every library at its better
    thread count (fastnn included); inference with fastnn against ONNX
    Runtime at the same thread count, and against PyTorch at the most
    threads measured."""
    out = []
    train = [r for r in rows if r["what"].startswith("train epoch")]
    for what in dict.fromkeys(r["what"] for r in train):
        best = {}
        for r in train:
            if r["what"] != what:
                continue
            for lib, m in r["results"].items():
                if lib not in best or m["median"] < best[lib][0]:
                    best[lib] = (m["median"], r["threads"])
        mine, mine_t = best.pop("fastnn")
        order = [k for k in ("torch", "jax loop", "jax scan", "sklearn", "numpy") if k in best]
        parts = [f"{k} {best[k][0] / mine:.2f}x ({best[k][1]})" for k in order]
        per_thread = {r["threads"]: r["results"]["fastnn"]["median"] for r in train if r["what"] == what}
        scaling = (f"; fastnn 1 -> 2 threads {per_thread[1] / per_thread[2]:.2f}x"
                   if 1 in per_thread and 2 in per_thread else "")
        line = (f"{what}: fastnn {seconds(mine)} ({threads_text(mine_t)}); each other library at its better thread "
                f"count (in brackets): " + ", ".join(parts) + scaling)
        cell = (f"{seconds(mine)}; " + ", ".join(f"{LABELS[k]} {best[k][0] / mine:.2f}x" for k in order))
        out.append({"what": what, "line": line, "cell": cell,
                    "fastnn": {"median_s": mine, "threads": mine_t},
                    "ratios": {k: {"ratio": best[k][0] / mine, "threads": best[k][1]} for k in order}})
    infer = [r for r in rows if r["what"].startswith("inference")]
    for what in dict.fromkeys(r["what"] for r in infer):
        same = {r["threads"]: r["results"] for r in infer if r["what"] == what}
        top = max(same)
        mine = same[top]["fastnn"]["median"]
        ort = {t: res["onnxruntime"]["median"] / res["fastnn"]["median"] for t, res in same.items()
               if "onnxruntime" in res}
        torch = same[top]["torch"]["median"] / mine if "torch" in same[top] else None
        parts = []
        if ort:
            parts.append("ONNX Runtime at the same thread count: "
                         + ", ".join(f"{threads_text(t)} {v:.2f}x" for t, v in sorted(ort.items())))
        if torch is not None:
            parts.append(f"PyTorch {torch:.2f}x ({threads_text(top)})")
        line = f"{what}: fastnn {seconds(mine)} ({threads_text(top)}); " + "; ".join(parts or ["no other contender"])
        cell = f"{seconds(mine)}"
        if ort:
            cell += "; ONNX Runtime " + " / ".join(f"{v:.2f}x" for _, v in sorted(ort.items()))
            cell += " (" + " / ".join(str(t) for t in sorted(ort)) + " thr)"
        if torch is not None:
            cell += f", PyTorch {torch:.2f}x"
        out.append({"what": what, "line": line, "cell": cell, "fastnn": {"median_s": mine, "threads": top},
                    "onnxruntime_same_threads": ort, "torch": torch})
    return out


def markdown_table(runs):
    """One row per measurement, one column per run (CPU kind and date)."""
    heads, columns = [], []
    for res in runs:
        m = res["machine"]
        kind = m.get("cpu_facts", {}).get("kind", m.get("cpu", "?"))
        heads.append(f"{kind}, {m.get('date', '?')}")
        columns.append({s["what"]: s["cell"] for s in summarize(res.get("models", []))})
    whats = list(dict.fromkeys(w for col in columns for w in col))
    lines = ["| measurement | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    lines += [f"| {w} | " + " | ".join(col.get(w, "–") for col in columns) + " |" for w in whats]
    return "\n".join(lines)


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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small version that runs in seconds")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "compare.json"))
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
    if args.table:
        print(markdown_table([json.loads(Path(f).read_text()) for f in args.table]))
        return
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.pause = args.pause if args.pause is not None else (0.0 if args.quick else 0.05)
    args.epoch_pause = args.epoch_pause if args.epoch_pause is not None else (0.0 if args.quick else 0.3)

    print("contenders: fastnn, numpy (fastnn.reference maths)")
    missing = {}
    torch = optional("torch", missing)
    sklearn = optional("sklearn", missing)
    ort = optional("onnxruntime", missing)
    jax_version = jax_versions(missing)
    results = {"machine": machine_info(torch, sklearn, ort, jax_version), "quick": args.quick,
               "missing": missing, "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:])}
    m = results["machine"]
    b = m["fastnn"]
    print(f"machine: {m['cpu_facts']['kind']}; caches "
          + ", ".join(f"L{c['level']}{c['type'][0].lower() if c['type'] != 'Unified' else ''} {c['size']}"
                      for c in m["cpu_facts"]["caches"])
          + f"; fastnn SIMD {b['simd_selected']}, OpenMP {b['openmp_version']}; "
          f"OPENBLAS_CORETYPE={m['env_OPENBLAS_CORETYPE']}, OPENBLAS_L2_SIZE={m['env_OPENBLAS_L2_SIZE']}")
    print("versions: " + ", ".join(f"{k} {m[k]}" for k in ("numpy", "torch", "sklearn", "onnxruntime", "jax", "jaxlib")
                                   if k in m))
    if isinstance(m["threadpools"], list):
        for p in m["threadpools"]:
            print(f"  threadpool: {p['user_api']} {p['internal_api']} {p.get('architecture') or ''} "
                  f"threads={p['num_threads']} {p.get('version') or ''}")
    peak = {t: sgemm_peak(t, args.quick) for t in (1, 2)}
    results["sgemm_peak_gflops"] = peak
    print(f"SGEMM peak (NumPy float32 {'1024' if args.quick else '2048'}^3): 1 thread {peak[1]:.0f} GFLOP/s, "
          f"2 threads {peak[2]:.0f} GFLOP/s")
    if not args.skip_kernels:
        bench_kernels(args, torch, peak[min(args.threads, 2)], results)
    if not args.skip_models:
        bench_models(args, torch, sklearn, ort, jax_version, peak, results, missing)
        print(f"\nREADME table column ({m['date']}; python bench/compare.py --table A.json B.json ... "
              "puts runs side by side):")
        print(markdown_table([results]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"\nresults: {out}")
    if args.png:
        chart(results, args.png)
    if missing:
        print("not measured (not installed): " + "; ".join(f"{k}: {v}" for k, v in missing.items()))


if __name__ == "__main__":
    main()
