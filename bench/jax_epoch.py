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


def main():
    cpus, data = int(sys.argv[1]), sys.argv[2]
    allowed = sorted(os.sched_getaffinity(0))
    if 0 < cpus < len(allowed):
        os.sched_setaffinity(0, allowed[:cpus])
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax import lax

    d = np.load(data)
    X = jax.device_put(d["X"])
    y = jax.device_put(d["y"].astype(np.int32))
    n, lr = X.shape[0], float(d["lr"])
    init = [(d[f"W{i}"], d[f"b{i}"]) for i in range(int(d["layers"]))]

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

    step = jax.jit(sgd, donate_argnums=0)

    def scan_epoch(params, X, y, seed, bs):
        perm = jax.random.permutation(jax.random.key(seed), X.shape[0])
        full = X.shape[0] // bs
        params, _ = lax.scan(lambda p, idx: (sgd(p, X, y, idx), None), params, perm[:full * bs].reshape(full, bs))
        if X.shape[0] % bs:
            params = sgd(params, X, y, perm[full * bs:])
        return params

    scan = jax.jit(scan_epoch, static_argnums=4, donate_argnums=0)
    rng = np.random.default_rng(0)
    state = {}

    def fresh():
        return [(jnp.array(W), jnp.array(b)) for W, b in init]

    def run(kind, bs):
        key = (kind, bs)
        if kind == "loop":
            order = rng.permutation(n).astype(np.int32)
            p = state[key]
            for s in range(0, n, bs):
                p = step(p, X, y, order[s:s + bs])
        else:
            state["seed"] = state.get("seed", 0) + 1
            p = scan(state[key], X, y, state["seed"], bs)
        state[key] = jax.block_until_ready(p)

    def timed(kind, bs):
        c, t = cpu_seconds(), time.perf_counter()
        run(kind, bs)
        wall = time.perf_counter() - t
        return {"wall": wall, "cpu": cpu_seconds() - c}

    def answer(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    answer({"jax": jax.__version__, "jaxlib": version("jaxlib"),
            "devices": [str(dev) for dev in jax.devices()], "cpus": sorted(os.sched_getaffinity(0)),
            "XLA_FLAGS": os.environ.get("XLA_FLAGS")})
    for line in sys.stdin:
        req = json.loads(line)
        bs = int(req["bs"])
        if req["op"] == "setup":
            first = {}
            for kind in ("loop", "scan"):
                state[(kind, bs)] = fresh()
                first[kind] = timed(kind, bs)["wall"]
            answer({"first_call_s": first})
        elif req["op"] == "epoch":
            answer(timed(req["kind"], bs))
        else:
            answer({"error": f"unknown request {req!r}"})


if __name__ == "__main__":
    main()
