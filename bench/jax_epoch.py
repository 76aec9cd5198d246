"""JAX's training epoch for bench/compare.py, in a process of its own.

    python bench/jax_epoch.py CPUS DATA.npz

compare.py starts one per thread count and sends it one JSON request a line on
stdin; it answers each with one JSON line on stdout.  A process of its own
because XLA's CPU thread pool is fixed when JAX starts, and in jaxlib 0.10 no
setting changes its size (``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false``,
with or without ``intra_op_parallelism_threads=1``, is accepted and changes
nothing): XLA sizes its pool from the CPUs the process may run on, so this
process restricts itself to the first CPUS of them (os.sched_setaffinity,
as ``taskset`` would) before it imports JAX.  CPUS 0: no restriction.

The network, data and update are compare.py's: 784-64-128-512-10, sigmoid
hidden layers, softmax cross-entropy (mean over the batch), plain SGD with
lr 0.1, fastnn's initial weights, a fresh shuffle every epoch (timed, as in
the other contenders), the last batch short when the batch size does not
divide the data.  Two ways to run an epoch:

* loop: a jitted step (gather the batch, gradient, update; parameters
  donated) called from a Python loop over the minibatches of a NumPy
  permutation;
* scan: the whole epoch one jitted function: jax.random.permutation, then
  lax.scan of the same step over the permutation reshaped to (batches, bs),
  the short last batch one more step after it.

Requests: {"op": "setup", "bs": B} builds both for batch size B and runs
each once (trace, compile and one epoch: the answer gives those times, which
compare.py reports and does not time); {"op": "epoch", "kind": "loop" or
"scan", "bs": B} runs one epoch and answers its wall and CPU seconds.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from importlib.metadata import version


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def restrict_cpus(cpus):
    """Run on the first ``cpus`` CPUs this process may use (0: all)."""
    allowed = sorted(os.sched_getaffinity(0))
    if 0 < cpus < len(allowed):
        os.sched_setaffinity(0, allowed[:cpus])


def epoch_functions(lr):
    """The jitted step (parameters, X, y, the batch's indices) and the
    jitted, scanned epoch (parameters, X, y, seed, batch size)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def loss(params, xb, yb):
        h = xb
        for W, b in params[:-1]:
            h = jax.nn.sigmoid(h @ W.T + b)
        W, b = params[-1]
        z = jax.nn.log_softmax(h @ W.T + b)
        return -jnp.mean(jnp.take_along_axis(z, yb[:, None], axis=1))

    def sgd(params, X, y, idx):
        grads = jax.grad(loss)(params, X[idx], y[idx])
        return jax.tree.map(lambda p, g: p - lr * g, params, grads)

    def scan_epoch(params, X, y, seed, bs):
        perm = jax.random.permutation(jax.random.key(seed), X.shape[0])
        full = X.shape[0] // bs
        params, _ = lax.scan(lambda p, idx: (sgd(p, X, y, idx), None), params, perm[:full * bs].reshape(full, bs))
        if X.shape[0] % bs:
            params = sgd(params, X, y, perm[full * bs:])
        return params

    return jax.jit(sgd, donate_argnums=0), jax.jit(scan_epoch, static_argnums=4, donate_argnums=0)


class Epochs:
    """The two ways to run an epoch on the data file's network, each with
    its own parameters per batch size (fresh from the initial weights at
    setup)."""

    def __init__(self, data):
        import jax
        import numpy as np

        d = np.load(data)
        self.X = jax.device_put(d["X"])
        self.y = jax.device_put(d["y"].astype(np.int32))
        self.n = self.X.shape[0]
        self.init = [(d[f"W{i}"], d[f"b{i}"]) for i in range(int(d["layers"]))]
        self.step, self.scan = epoch_functions(float(d["lr"]))
        self.rng = np.random.default_rng(0)
        self.params = {}
        self.seed = 0

    def setup(self, bs):
        """Fresh parameters for both ways at batch size ``bs``, and the
        seconds of each one's first call (trace, compile, one epoch)."""
        import jax.numpy as jnp

        first = {}
        for kind in ("loop", "scan"):
            self.params[(kind, bs)] = [(jnp.array(W), jnp.array(b)) for W, b in self.init]
            first[kind] = self.timed(kind, bs)["wall"]
        return first

    def run(self, kind, bs):
        import jax

        p = self.params[(kind, bs)]
        if kind == "loop":
            order = self.rng.permutation(self.n).astype("int32")
            for s in range(0, self.n, bs):
                p = self.step(p, self.X, self.y, order[s:s + bs])
        else:
            self.seed += 1
            p = self.scan(p, self.X, self.y, self.seed, bs)
        self.params[(kind, bs)] = jax.block_until_ready(p)

    def timed(self, kind, bs):
        c, t = cpu_seconds(), time.perf_counter()
        self.run(kind, bs)
        wall = time.perf_counter() - t
        return {"wall": wall, "cpu": cpu_seconds() - c}


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    cpus, data = int(sys.argv[1]), sys.argv[2]
    restrict_cpus(cpus)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    epochs = Epochs(data)
    answer({"jax": jax.__version__, "jaxlib": version("jaxlib"),
            "devices": [str(dev) for dev in jax.devices()], "cpus": sorted(os.sched_getaffinity(0)),
            "XLA_FLAGS": os.environ.get("XLA_FLAGS")})
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "setup":
            answer({"first_call_s": epochs.setup(int(req["bs"]))})
        elif req["op"] == "epoch":
            answer(epochs.timed(req["kind"], int(req["bs"])))
        else:
            answer({"error": f"unknown request {req!r}"})


if __name__ == "__main__":
    main()
