"""fastnn against NumPy (fastnn.reference), PyTorch and scikit-learn.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/compare.py [--quick] [--out FILE] [--png FILE]

Measures, in one run, with the contenders interleaved (round-robin over
repeats, a pause between contenders so that one library's idle spinning
threads do not steal the next one's cores) and reports medians and min-max:

* the machine's SGEMM peak (NumPy float32 2048^3, 1 and 2 BLAS threads);
* kernels: the fused dense forward act(X W^T + b) and backward (dW, db, dX)
  for the notes' layer shapes at batch 1, 32, 128, 1024, float32/float64;
* models: one training epoch of 784-64-128-512-10 (sigmoid, softmax,
  cross-entropy, plain SGD) on MNIST, batch 32 and 128, 1 and 2 threads;
  inference latency at batch 1 and throughput at batch 10,000.

Contenders that are not installed are skipped, with the command that
installs them.  Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

import fastnn
from fastnn import _core, datasets
from fastnn import reference as R

ROOT = Path(__file__).resolve().parents[1]
SIZES = (784, 64, 128, 512, 10)
LAYERS = list(zip(SIZES[:-1], SIZES[1:]))


# ---- environment ---------------------------------------------------------------------

def optional(name, install):
    try:
        return __import__(name)
    except ImportError:
        print(f"  {name}: not installed, skipped ({install})")
        return None


def machine_info(torch):
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "fastnn": fastnn.build_info(),
            "env_OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "env_OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}
    try:
        import threadpoolctl

        info["threadpools"] = [{k: p.get(k) for k in ("user_api", "internal_api", "architecture", "num_threads",
                                                      "version", "filepath")}
                               for p in threadpoolctl.threadpool_info()]
    except ImportError:
        info["threadpools"] = "threadpoolctl not installed (pip install threadpoolctl)"
    if torch is not None:
        info["torch"] = torch.__version__
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
    trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(lr=0.1), batch_size=bs)
    c["fastnn"] = lambda: trainer.fit(X, y, epochs=1, verbose=0, seed=0)
    params = ([layer.weight.copy() for layer in model.layers], [layer.bias.copy() for layer in model.layers])
    c["numpy"] = lambda: numpy_epoch(params, X, y, bs, 0.1)
    if torch is not None:
        tm = torch.nn.Sequential(*[m for a, b in LAYERS for m in
                                   ([torch.nn.Linear(a, b)] + ([torch.nn.Sigmoid()] if b != 10 else []))])
        opt = torch.optim.SGD(tm.parameters(), lr=0.1)
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
                            learning_rate_init=0.1, momentum=0.0, nesterovs_momentum=False, alpha=0.0,
                            shuffle=True, random_state=0)
        classes = np.arange(10)
        c["sklearn"] = lambda: clf.partial_fit(X, y, classes=classes)
    return c


def bench_models(args, torch, sklearn, peak, results):
    data, source = load_data(args)
    X_all, y_all = data[0], np.asarray(data[1], dtype=np.int64)
    n = 6000 if args.quick else len(y_all)
    mean, std = X_all[:n].mean(), X_all[:n].std()
    X = ((X_all[:n].reshape(n, -1) - mean) / std).astype(np.float32)
    y = y_all[:n]
    print(f"\nModels: data = {source}, {n} training images per epoch")
    rows = []
    epoch_flops = 3 * 2 * n * sum(a * b for a, b in LAYERS)  # forward + backward (dW and dX)
    for threads in ((2,) if args.quick else (1, 2)):
        for bs in ((128,) if args.quick else (32, 128)):
            with Threads(threads, torch):
                c = model_contenders(X, y, bs, torch, sklearn)
                r = measure(c, 1 if args.quick else args.epoch_repeats, 1, args.epoch_pause)
            rows.append({"what": f"train epoch, batch {bs}", "threads": threads, "results": r,
                         "fastnn_gflops": epoch_flops / r["fastnn"]["median"] / 1e9})
    # inference
    model = fastnn.Sequential([fastnn.Dense(a, b, "softmax" if b == 10 else "sigmoid") for a, b in LAYERS], seed=0)
    with Threads(args.threads, torch):
        for batch in (1, 10000):
            Xb = X[:batch] if batch <= n else np.resize(X, (batch, X.shape[1]))
            c = {"fastnn": lambda: model.forward(Xb)}
            Ws = [layer.weight for layer in model.layers]
            bs_ = [layer.bias for layer in model.layers]
            c["numpy"] = lambda: R.network_forward(Ws, bs_, ["sigmoid"] * 3 + ["softmax"], Xb)[-1]
            if torch is not None:
                tm = torch.nn.Sequential(*[m for a, b in LAYERS for m in
                                           ([torch.nn.Linear(a, b)] + ([torch.nn.Sigmoid()] if b != 10 else
                                                                       [torch.nn.Softmax(dim=1)]))]).eval()
                tXb = torch.from_numpy(np.ascontiguousarray(Xb))

                def torch_infer():
                    with torch.no_grad():
                        return tm(tXb)
                c["torch"] = torch_infer
            num = number_for(rough_time(c["fastnn"]), 0.02 if args.quick else 0.1)
            r = measure(c, args.repeats, num, args.pause)
            flops = 2 * batch * sum(a * b for a, b in LAYERS)
            rows.append({"what": f"inference, batch {batch}", "threads": args.threads, "results": r,
                         "fastnn_gflops": flops / r["fastnn"]["median"] / 1e9})
    results["models"] = rows
    results["data"] = source
    names = sorted({k for row in rows for k in row["results"]}, key=lambda k: (k != "fastnn", k))
    print(f"{'measurement':26}{'threads':>8} {'fastnn':>12} {'GFLOP/s':>8} {'%peak':>6}"
          + "".join(f" {k + '/fastnn':>15}" for k in names if k != "fastnn"))
    for row in rows:
        r = row["results"]
        f = r["fastnn"]["median"]
        unit = f"{f * 1e6:.1f}us" if f < 0.01 else f"{f:.3f}s"
        pk = peak[row["threads"]]
        cells = "".join(f" {r[k]['median'] / f:>14.2f}x" if k in r else f" {'-':>15}" for k in names if k != "fastnn")
        print(f"{row['what']:26}{row['threads']:>8} {unit:>12} {row['fastnn_gflops']:>8.1f} "
              f"{100 * row['fastnn_gflops'] / pk:>6.0f}{cells}")
    summary(rows)


def summary(rows):
    """The training rows as the speed issue states its targets: fastnn on 2
    threads against each other library at its better thread count."""
    epochs = {(r["what"], r["threads"]): r["results"] for r in rows if r["what"].startswith("train epoch")}
    lines = []
    for what in sorted({w for w, _ in epochs}):
        if (what, 2) not in epochs:
            continue
        mine = epochs[(what, 2)]["fastnn"]["median"]
        parts = []
        for lib in ("numpy", "torch", "sklearn"):
            theirs = [epochs[(what, t)][lib]["median"] for t in (1, 2) if (what, t) in epochs and lib in epochs[(what, t)]]
            if theirs:
                parts.append(f"{lib} {min(theirs) / mine:.2f}x")
        if (what, 1) in epochs:
            parts.append(f"fastnn 1 -> 2 threads {epochs[(what, 1)]['fastnn']['median'] / mine:.2f}x")
        lines.append(f"  {what}, fastnn on 2 threads vs the others' better thread count: " + ", ".join(parts))
    if lines:
        print("\n".join(["summary:"] + lines))


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
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for kernels and inference")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--epoch-repeats", type=int, default=3)
    ap.add_argument("--pause", type=float, default=None, help="seconds between contenders (kernels, inference)")
    ap.add_argument("--epoch-pause", type=float, default=None,
                    help="seconds between training epochs of different contenders: OpenBLAS's idle workers "
                         "busy-wait about 0.1 s after a call, which would slow the next contender")
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--skip-kernels", action="store_true")
    ap.add_argument("--skip-models", action="store_true")
    args = ap.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 7)
    args.pause = args.pause if args.pause is not None else (0.0 if args.quick else 0.05)
    args.epoch_pause = args.epoch_pause if args.epoch_pause is not None else (0.0 if args.quick else 0.3)

    print("contenders: fastnn, numpy (fastnn.reference maths)")
    torch = optional("torch", "pip install torch==2.13.0")
    sklearn = optional("sklearn", "pip install scikit-learn")
    results = {"machine": machine_info(torch), "quick": args.quick}
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores; fastnn SIMD {m['fastnn']['simd_selected']}, "
          f"OpenMP {m['fastnn']['openmp_version']}; OPENBLAS_CORETYPE={m['env_OPENBLAS_CORETYPE']}, "
          f"OPENBLAS_L2_SIZE={m['env_OPENBLAS_L2_SIZE']}")
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
        bench_models(args, torch, sklearn, peak, results)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"\nresults: {out}")
    if args.png:
        chart(results, args.png)


if __name__ == "__main__":
    main()
