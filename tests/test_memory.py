"""Training for many epochs and predicting in a loop do not grow the
process's memory.

RSS is read from /proc (Linux only).  Everything a step needs is
preallocated, so after a warm-up RSS should stay flat; the margin of 8 MiB
allows for the allocator keeping freed blocks (each fit and each predict call
still allocates a few result arrays of at most a few hundred KiB, which
Python and NumPy may cache) while being far below what a leaked activation
buffer would add (10 epochs here are 470 steps: one leaked 64x512 float32
buffer per step would be 60 MiB)."""

import os
import sys

import numpy as np
import pytest

import fastnn

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads RSS from /proc")

MARGIN = 8 * 1024 * 1024


def rss():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _setup():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 784)).astype(np.float32)
    y = rng.integers(0, 10, 3000)
    model = fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 128), fastnn.Dense(128, 512),
                               fastnn.Dense(512, 10, "softmax")], seed=0)
    return X, y, model


@pytest.mark.parametrize("optimizer", [lambda: fastnn.SGD(0.05), lambda: fastnn.Adam(1e-3)], ids=["sgd", "adam"])
def test_training_does_not_grow_memory(optimizer):
    X, y, model = _setup()
    trainer = fastnn.Trainer(model, "cross_entropy", optimizer(), batch_size=64)
    trainer.fit(X, y, epochs=2, verbose=0, validation_split=0.1)  # warm-up: buffers, caches
    before = rss()
    trainer.fit(X, y, epochs=10, verbose=0, validation_split=0.1)
    grown = rss() - before
    assert grown < MARGIN, f"RSS grew by {grown / 2**20:.1f} MiB over 10 epochs"


def test_predicting_in_a_loop_does_not_grow_memory():
    X, _, model = _setup()
    for _ in range(20):
        model.predict(X[:100])
        model.forward(X[0])
    before = rss()
    for _ in range(2000):
        model.predict(X[:100])
        model.forward(X[0])
    grown = rss() - before
    assert grown < MARGIN, f"RSS grew by {grown / 2**20:.1f} MiB over 4000 calls"


# ---- buffers that cannot fit ------------------------------------------------------
#
# Every request below is refused before anything is allocated.  The cases
# run in a child process whose address space is capped (RLIMIT_AS), so that
# a missing check fails there with NumPy's MemoryError instead of taking the
# machine's memory; the child also pretends to have little physical memory
# for the cases that test that limit.

import json
import subprocess
import textwrap

AS_LIMIT = 3 * 2**30

_CASES = {
    # name: (statement, expected exception, words the message must contain)
    "dense_1e7": ("fastnn.Dense(10**7, 10**7)", "MemoryError", ["Dense(10000000, 10000000)", "TiB",
                                                                "800000080000000 bytes", "RLIMIT_AS"]),
    "dense_2_62": ("fastnn.Dense(2**62, 2)", "ValueError", ["in_features=4611686018427387904", "C int"]),
    "dense_int_max": ("fastnn.Dense(1, 2**31)", "ValueError", ["out_features=2147483648"]),
    "dense_phys": ("fastnn.Dense(12000, 12000)", "MemoryError", ["1.1 GiB", "physical memory", "(1.0 GiB)"]),
    "perceptron": ("fastnn.Perceptron(10**7, 10**7)", "MemoryError", ["Perceptron(10000000, 10000000)", "TiB"]),
    "workspace": ("fastnn.training.Workspace(model, 10**12, True)", "MemoryError",
                  ["batch_size=1000000000000", "PiB"]),
    "step_broadcast": ("trainer.step(np.broadcast_to(np.float32(0), (10**10, 784)), np.broadcast_to(0, (10**10,)))",
                       "MemoryError", ["(10000000000, 784)", "TiB"]),
    "predict_broadcast": ("model.predict(np.broadcast_to(np.float64(0), (10**12, 784)))", "MemoryError",
                          ["float32 copy of X", "(1000000000000, 784)", "PiB"]),
    "predict_broadcast_gib": ("model.predict(np.broadcast_to(np.float32(1), (2 * 10**6, 784)))", "MemoryError",
                              ["(2000000, 784)", "5.8 GiB"]),
    "predict_output": ("wide.predict(np.broadcast_to(np.float32(1), (10**7, 1)))", "MemoryError",
                       ["output for 10000000 samples", "TiB"]),
    "kernel_dims": ("fastnn._core.softmax(np.empty((2**31, 0), np.float32), np.empty((2**31, 0), np.float32))",
                    "ValueError", ["2147483648", "too large"]),
    "read_idx": ("fastnn.datasets.read_idx(idx_path)", "MemoryError",
                 ["100x1000x1000 array", "95.4 MiB", "physical memory", "(64.0 MiB)"]),
}

_CHILD = textwrap.dedent('''
    import gzip, json, os, resource, struct, sys, tempfile
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, resource.RLIM_INFINITY))
    import numpy as np
    import fastnn
    from fastnn import _memory
    cases = json.loads(sys.argv[1])
    model = fastnn.Sequential([fastnn.Dense(784, 64, "relu"), fastnn.Dense(64, 10, "softmax")], seed=0)
    wide = fastnn.Sequential([fastnn.Dense(1, 10**6, "identity")], seed=0)
    trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(0.1), batch_size=10**12)
    # an IDX file whose header promises 10^8 bytes, 1000 times its gzip size
    idx_path = os.path.join(tempfile.mkdtemp(), "huge-idx3-ubyte.gz")
    with gzip.open(idx_path, "wb") as f:
        f.write(struct.pack(">IIII", 0x0803, 100, 1000, 1000) + os.urandom(100_000))
    out = {{}}
    for name, stmt in cases.items():
        # a small machine, as far as fastnn knows, for the cases that say so
        small = {{"dense_phys": 2**30, "read_idx": 2**26}}.get(name)
        _memory._static_limit = (small, "physical memory") if small else None
        try:
            exec(stmt)
            out[name] = ["no error", ""]
        except BaseException as e:
            out[name] = [type(e).__name__, str(e)]
    _memory._static_limit = None
    # the process is fine afterwards: a batch_size beyond the data trains
    X = np.random.default_rng(0).standard_normal((200, 784)).astype(np.float32)
    y = np.arange(200) % 10
    trainer.fit(X, y, epochs=1, verbose=0)
    trainer.step(X[:32], y[:32])
    out["survived"] = int(model.predict(X).shape[0])
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def impossible_requests():
    stmts = {name: case[0] for name, case in _CASES.items()}
    proc = subprocess.run([sys.executable, "-c", _CHILD.format(limit=AS_LIMIT), json.dumps(stmts)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(_CASES))
def test_impossible_sizes_raise_clearly(impossible_requests, name):
    _, exc, words = _CASES[name]
    got_type, message = impossible_requests[name]
    assert got_type == exc, (got_type, message)
    for w in words:
        assert w in message, (w, message)


def test_process_survives_impossible_requests(impossible_requests):
    # ... and a Trainer with batch_size=10**12 trains on 200 samples: its
    # workspace is sized for the batches it runs, not for batch_size
    assert impossible_requests["survived"] == 200


def test_size_checks_do_not_refuse_ordinary_sizes():
    from fastnn import _memory

    _memory.check_alloc(_memory._SMALL, "a small buffer")  # never refused
    limit, _ = _memory.memory_limit()
    assert limit > 2**28
    with pytest.raises(MemoryError, match=r"^a test buffer would need 8.0 EiB \(9223372036854775807 bytes\)"):
        _memory.check_alloc(2**63 - 1, "a test buffer")
    # a float64 copy of a float32 batch is checked, and passes
    model = fastnn.Sequential([fastnn.Dense(8, 2)], seed=0)
    assert model.predict(np.broadcast_to(np.float64(1), (3, 8))).shape == (3, 2)


_SCRATCH_CHILD = textwrap.dedent('''
    import resource
    import numpy as np
    import fastnn
    from fastnn import _core
    fastnn.set_num_threads({threads})
    rng = np.random.default_rng(0)
    # warm up: the worker threads and each thread's (small) packing buffer
    a, b = np.ones((512, 8), np.float32), np.ones((8, 512), np.float32)
    _core.gemm(a, b, np.empty((512, 512), np.float32))
    A = rng.standard_normal((256, 256)).astype(np.float32)
    B = rng.standard_normal((256, 1024)).astype(np.float32)
    C = np.zeros((256, 1024), np.float32)
    vm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize:"))
    # no room left for the larger packing buffers this GEMM needs (1 MiB a thread)
    resource.setrlimit(resource.RLIMIT_AS, (vm + 256 * 1024, resource.RLIM_INFINITY))
    try:
        _core.gemm(A, B, C)
        result = "no error"
    except MemoryError as e:
        result = "MemoryError: " + str(e)
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    print(result)
    _core.gemm(A, B, C)  # works again once memory is back
    print(np.allclose(C, A.astype(np.float64) @ B, atol=1e-3))
''')


@pytest.mark.parametrize("threads", [1, 2])
def test_failed_packing_buffer_allocation_raises_memory_error(threads):
    """The C kernels check posix_memalign's result; a failure in any thread
    comes back to Python as MemoryError, not as a NULL dereference.
    MALLOC_ARENA_MAX=1: every thread allocates from glibc's main arena, so
    the allocation fails whichever thread runs a block (a worker's own
    arena, reserved before the limit, could otherwise still serve it).
    FASTNN_PANEL_KB=1024 fixes the packed-B panel, whatever this CPU's row
    of the kernel table says (a smaller panel could fit the slack)."""
    env = dict(os.environ, MALLOC_ARENA_MAX="1", FASTNN_PANEL_KB="1024")
    proc = subprocess.run([sys.executable, "-c", _SCRATCH_CHILD.format(threads=threads)],
                          capture_output=True, text=True, timeout=120, check=False, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.split("\n")
    assert lines[0] == "MemoryError: fastnn: could not allocate a packing buffer", proc.stdout
    assert lines[1] == "True"
