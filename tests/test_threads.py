"""Python threads using fastnn at once: concurrent predict on one model,
and training one model while another predicts."""

import threading

import numpy as np

import fastnn


def _model(seed=0):
    return fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 128), fastnn.Dense(128, 512),
                              fastnn.Dense(512, 10, "softmax")], seed=seed)


def _run_threads(targets):
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)


def test_four_threads_predicting_on_one_model_agree_with_serial_calls():
    model = _model()
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((n, 784)).astype(np.float32) for n in (1, 7, 130, 600)]
    expected = [model.forward(X) for X in batches]
    results = {}

    def worker(i):
        def run():
            out = []
            for _ in range(15):
                for X in batches:
                    out.append(model.forward(X))
            results[i] = out
        return run

    _run_threads([worker(i) for i in range(4)])
    for i in range(4):
        for j, got in enumerate(results[i]):
            assert np.array_equal(got, expected[j % len(batches)]), (i, j)


def test_training_one_model_while_another_predicts():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((512, 784)).astype(np.float32)
    y = rng.integers(0, 10, 512)
    trained, serving = _model(1), _model(2)
    reference = _model(1)
    Xp = rng.standard_normal((64, 784)).astype(np.float32)
    expected = serving.forward(Xp)
    outputs = []

    def train():
        fastnn.Trainer(trained, "cross_entropy", fastnn.SGD(0.1), batch_size=64).fit(X, y, epochs=3, seed=0,
                                                                                    verbose=0)

    def predict():
        for _ in range(50):
            outputs.append(serving.forward(Xp))

    _run_threads([train, predict])
    assert all(np.array_equal(o, expected) for o in outputs)
    # the concurrently trained model equals one trained alone
    fastnn.Trainer(reference, "cross_entropy", fastnn.SGD(0.1), batch_size=64).fit(X, y, epochs=3, seed=0,
                                                                                  verbose=0)
    for (k, a), (_, b) in zip(trained.parameters(), reference.parameters()):
        assert np.array_equal(a, b), k


# ---- how many threads the kernels use ------------------------------------------------
#
# _core.last_gemm_threads() is the size of the OpenMP team the calling
# thread's last GEMM actually ran with: these tests observe the threads used,
# not only the setting.

import json
import os
import subprocess
import sys

import pytest

from fastnn import _core

INFO = fastnn.build_info()
needs_two_threads = pytest.mark.skipif(
    not INFO["openmp"] or INFO["default_num_threads"] < 2,
    reason="needs OpenMP and at least two CPUs to tell one thread from two")

_A = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)


def _threads_used():
    """Run a GEMM big enough to split (256^3 multiply-adds) and return the
    number of threads it ran with."""
    _core.gemm(_A, _A, np.empty_like(_A))
    return _core.last_gemm_threads()


def _child(code, env_changes=None, preexec_fn=None):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "FASTNN_SIMD", "OMP_THREAD_LIMIT")}
    env.update(env_changes or {})
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          preexec_fn=preexec_fn)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


_REPORT = """
import json, numpy as np, fastnn
from fastnn import _core
A = np.ones((256, 256), np.float32)
_core.gemm(A, A, np.empty_like(A))
info = fastnn.build_info()
print(json.dumps([fastnn.get_num_threads(), info["num_threads"], info["default_num_threads"],
                  _core.last_gemm_threads()]))
"""


@pytest.mark.skipif(not INFO["openmp"], reason="built without OpenMP")
def test_omp_num_threads_1_gives_one_thread_and_build_info_says_so():
    assert _child(_REPORT, {"OMP_NUM_THREADS": "1"}) == [1, 1, 1, 1]


@needs_two_threads
def test_default_uses_every_cpu_of_the_affinity_mask():
    n = len(os.sched_getaffinity(0))
    got = _child(_REPORT)
    assert got[:3] == [n, n, n]
    assert 2 <= got[3] <= n  # this GEMM is big enough to split


@needs_two_threads
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no sched_setaffinity")
def test_default_thread_count_respects_cpu_affinity():
    """taskset -c 0 python ...: OpenMP (and so fastnn) counts only the CPUs
    the process may run on."""
    cpu = min(os.sched_getaffinity(0))
    got = _child(_REPORT, preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    assert got == [1, 1, 1, 1]


@needs_two_threads
def test_set_num_threads_is_honoured_by_the_kernels():
    fastnn.set_num_threads(1)
    assert fastnn.get_num_threads() == 1 and fastnn.build_info()["num_threads"] == 1
    assert _threads_used() == 1
    fastnn.set_num_threads(2)
    assert fastnn.get_num_threads() == 2
    assert _threads_used() == 2


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1, ValueError), (2**31, ValueError), (10**30, ValueError),
                                      (1.5, TypeError), ("2", TypeError), (None, TypeError), (True, TypeError),
                                      ([2], TypeError)])
def test_set_num_threads_rejects_bad_values_clearly(bad, exc):
    fastnn.set_num_threads(1)
    with pytest.raises(exc, match="^n must"):
        fastnn.set_num_threads(bad)
    assert fastnn.get_num_threads() == 1  # a refused value changes nothing


@needs_two_threads
def test_set_num_threads_applies_to_every_python_thread():
    """set_num_threads is process-wide (unlike OpenMP's omp_set_num_threads,
    which only sets the calling thread's limit)."""
    fastnn.set_num_threads(1)
    seen = []

    def work():
        seen.append((fastnn.get_num_threads(), _threads_used()))

    _run_threads([work])
    assert seen == [(1, 1)]


@needs_two_threads
@pytest.mark.parametrize("user_api", [None, "openmp"])
def test_threadpoolctl_limits_the_threads_the_kernels_use_and_restores_them(user_api):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fastnn.set_num_threads(2)
    assert _threads_used() == 2
    with threadpoolctl.threadpool_limits(limits=1, user_api=user_api):
        assert fastnn.get_num_threads() == 1
        assert _threads_used() == 1
        model = _model()
        X = np.random.default_rng(0).standard_normal((300, 784)).astype(np.float32)
        y = np.arange(300) % 10
        fastnn.Trainer(model, "cross_entropy", fastnn.SGD(0.1), batch_size=300).fit(X, y, epochs=1, verbose=0)
        assert _core.last_gemm_threads() == 1  # training ran on one thread too
    assert fastnn.get_num_threads() == 2
    assert _threads_used() == 2


@pytest.mark.skipif(not INFO["openmp"], reason="built without OpenMP")
def test_threadpool_info_lists_fastnns_openmp_runtime():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fastnn.set_num_threads(1)
    entries = [e for e in threadpoolctl.threadpool_info() if e["user_api"] == "openmp"]
    assert entries, threadpoolctl.threadpool_info()
    # the runtime fastnn calls is the one threadpoolctl sees: it reports
    # the limit set_num_threads gave it
    assert any(e["num_threads"] == 1 for e in entries), entries
    with open("/proc/self/maps") as f:
        mapped = {os.path.realpath(line.split()[5]) for line in f if len(line.split()) >= 6}
    assert {os.path.realpath(e["filepath"]) for e in entries} & mapped


@pytest.mark.parametrize("text, cpus", [("max 100000\n", None), ("200000 100000\n", 2), ("150000 100000\n", 2),
                                        ("50000 100000\n", 1), ("garbage\n", None), (None, None)])
def test_cgroup_cpu_quota_is_read(tmp_path, text, cpus):
    from fastnn import _runtime

    path = tmp_path / "cpu.max"
    if text is not None:
        path.write_text(text)
    assert _runtime._cgroup_cpu_quota(str(path)) == cpus


@needs_two_threads
def test_default_thread_count_respects_the_cgroup_cpu_quota(monkeypatch):
    from fastnn import _runtime

    fastnn.set_num_threads(2)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(_runtime, "_cgroup_cpu_quota", lambda: 1)
    _runtime._respect_cpu_quota()
    assert fastnn.get_num_threads() == 1 and _threads_used() == 1
    # OMP_NUM_THREADS, when set, wins over the quota
    fastnn.set_num_threads(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    _runtime._respect_cpu_quota()
    assert fastnn.get_num_threads() == 2
