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
    for (k, a), (_, b) in zip(trained.named_parameters(), reference.named_parameters()):
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
                          preexec_fn=preexec_fn, check=False)
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


# ---- fastnn's thread pool (csrc/threads.c) ---------------------------------------------
#
# The kernels' threads are fastnn's own workers, named "fastnn-worker"; the
# caller runs the tasks no worker has claimed, so a job never waits for a
# worker that is asleep or descheduled, and idle workers sleep after
# FASTNN_SPIN_US microseconds of spinning and napping.

needs_proc_tasks = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc/self/task")

_POOL_PRELUDE = """
import json, os, threading, time
import numpy as np
import fastnn
from fastnn import _core

def pool_workers():
    n = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                n += f.read().strip() == "fastnn-worker"
        except OSError:  # the thread has exited
            pass
    return n

A = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
def gemm():
    out = np.empty_like(A)
    _core.gemm(A, A, out)
    return out
"""


@needs_proc_tasks
@pytest.mark.skipif(not INFO["openmp"], reason="built without OpenMP: no worker threads")
def test_the_pool_starts_n_minus_1_workers_however_many_python_threads_call():
    """OMP_NUM_THREADS=3 (on any number of CPUs): the caller and two workers.
    Four Python threads calling at once share them (a caller that finds the
    pool busy runs its job alone) instead of starting a team each."""
    code = _POOL_PRELUDE + """
before = pool_workers()
gemm()
after_one = pool_workers()
ts = [threading.Thread(target=lambda: [gemm() for _ in range(30)]) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
after_four = pool_workers()
fastnn.set_num_threads(2)
gemm()
print(json.dumps([before, after_one, after_four, pool_workers(), _core.last_gemm_threads()]))
"""
    assert _child(code, {"OMP_NUM_THREADS": "3"}) == [0, 2, 2, 2, 2]


@needs_proc_tasks
@pytest.mark.skipif(not INFO["openmp"], reason="built without OpenMP: no worker threads")
@pytest.mark.parametrize("spin_us, max_wakeups, min_wakeups, max_cpu",
                         [(None, 100, 0, 0.03), ("0", 3, 0, 0.03), ("150000", None, 50, 0.3)])
def test_idle_workers_nap_then_sleep(spin_us, max_wakeups, min_wakeups, max_cpu):
    """While the caller sleeps 0.3 s after a kernel call, the worker spins
    200 us, then naps 50 us at a time until FASTNN_SPIN_US (default 1000 us)
    has passed, then sleeps until woken: at most 16 wake-ups by default
    (8 on the 2-core VM, where timer slack stretches a nap to ~120 us), none
    with FASTNN_SPIN_US=0, about 1200 there with 150000 (which shows the
    variable is read; hence the low bar).  The process's CPU time: 1.8 ms
    there by default, 17x under the bar (22 ms with 150000: each wake-up
    costs ~17 us on that VM).  NumPy's BLAS is not called: its idle threads
    poll for ~0.1 s."""
    code = _POOL_PRELUDE + """
def worker_switches():
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() != "fastnn-worker":
                    continue
            with open(f"/proc/self/task/{tid}/status") as f:
                total += next(int(l.split()[1]) for l in f if l.startswith("voluntary_ctxt_switches"))
        except OSError:
            pass
    return total

for _ in range(5):
    gemm()
s0, c0 = worker_switches(), time.process_time()
time.sleep(0.3)
print(json.dumps([worker_switches() - s0, time.process_time() - c0, pool_workers(),
                  fastnn.build_info()["idle_spin_us"]]))
"""
    env = {"OMP_NUM_THREADS": "2"}
    if spin_us is not None:
        env["FASTNN_SPIN_US"] = spin_us
    wakeups, cpu, workers, reported = _child(code, env)
    assert workers == 1
    assert reported == (int(spin_us) if spin_us is not None else 1000)
    assert wakeups >= min_wakeups and (max_wakeups is None or wakeups <= max_wakeups), wakeups
    assert cpu <= max_cpu, cpu


@pytest.mark.skipif(not INFO["openmp"], reason="built without OpenMP: no worker threads")
@pytest.mark.parametrize("spin_us", ["0", "200"])
@pytest.mark.parametrize("threads", ["2", "3"])
def test_jobs_while_workers_sleep_wake_and_race_give_serial_results(spin_us, threads):
    """Workers that fall asleep between calls (FASTNN_SPIN_US=0: at once) and
    are woken, or not, part way through: every GEMM path, the batch-1
    network forward and the split training step, called at random
    intervals from three Python threads, equal the one-thread results bit
    for bit.  (Two threads take the split training step, three the
    whole-batch one.)"""
    code = _POOL_PRELUDE + """
rng = np.random.default_rng(1)
shapes = [(1, 300, 200), (5, 784, 64), (16, 512, 10), (17, 300, 300), (300, 784, 64), (64, 128, 512)]
cases = [(rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32))
         for m, k, n in shapes]
model = fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 128), fastnn.Dense(128, 10, "softmax")], seed=0)
Xs = [rng.standard_normal((m, 784)).astype(np.float32) for m in (1, 3, 40)]
Xt = rng.standard_normal((64, 784)).astype(np.float32)
yt = rng.integers(0, 10, 64)

def train_copy():
    m = fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 128), fastnn.Dense(128, 10, "softmax")], seed=2)
    tr = fastnn.Trainer(m, "cross_entropy", fastnn.SGD(0.1), batch_size=64)
    for _ in range(5):
        tr.step(Xt, yt)
    return [p.copy() for _, p in m.named_parameters()]

def run_all():
    outs = []
    for X, B in cases:
        out = np.empty((X.shape[0], B.shape[1]), np.float32)
        _core.gemm(X, B, out)
        outs.append(out)
    outs += [model.forward(X) for X in Xs]
    return outs + train_copy()

fastnn.set_num_threads(1)
expected = run_all()
fastnn.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
bad = []

def hammer(seed):
    r = np.random.default_rng(seed)
    for _ in range(25):
        time.sleep(float(r.choice([0.0, 0.0, 2e-5, 3e-4, 2e-3])))
        got = run_all()
        bad.extend(i for i, (g, e) in enumerate(zip(got, expected)) if not np.array_equal(g, e))

ts = [threading.Thread(target=hammer, args=(s,)) for s in range(3)]
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps(sorted(set(bad))))
"""
    assert _child(code, {"OMP_NUM_THREADS": threads, "FASTNN_SPIN_US": spin_us}) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.skipif(not INFO["openmp"], reason="built without OpenMP: no worker threads")
def test_a_forked_child_runs_the_kernels():
    """fork() copies only the calling thread: the child must not wait for
    workers that do not exist in it (it starts its own)."""
    code = _POOL_PRELUDE + """
import signal
expected = gemm()
pid = os.fork()
if pid == 0:
    signal.alarm(60)  # a hang fails the test instead of blocking it
    ok = all(np.array_equal(gemm(), expected) for _ in range(20))
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
print(json.dumps([os.waitstatus_to_exitcode(status)]))
"""
    assert _child(code, {"OMP_NUM_THREADS": "2"}) == [0]


@pytest.mark.parametrize("value", ["abc", "-5", "1e3", "123456789", ""])
def test_a_bad_fastnn_spin_us_is_reported_at_import(value):
    code = """
import json, warnings
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    import fastnn
print(json.dumps([str(x.message) for x in w] + [fastnn.build_info()["idle_spin_us"]]))
"""
    *messages, spin = _child(code, {"FASTNN_SPIN_US": value})
    assert spin == 1000
    assert any("FASTNN_SPIN_US" in m and repr(value) in m for m in messages), messages


def test_the_pool_alone_under_threadsanitizer(tmp_path):
    """csrc/threads.c compiled with -fsanitize=thread into a C program
    (tests/pool_stress.c) that runs 9000 jobs of 1-8 tasks from three
    threads (a quarter of them staged jobs of up to 40 stages, each stage
    checking that the one before it has finished), pausing now and then so
    that workers fall asleep: each task
    must run exactly once and TSan must report no data race, by default
    and with FASTNN_SPIN_US=0 (workers sleep after every job)."""
    import shutil

    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if cc is None or sys.platform != "linux":
        pytest.skip("needs a C compiler on Linux")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    probe = tmp_path / "probe.c"
    probe.write_text("int main(void) { return 0; }\n")
    if subprocess.run([cc, "-fsanitize=thread", str(probe), "-o", str(tmp_path / "probe")], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip("this compiler cannot build with ThreadSanitizer")
    exe = str(tmp_path / "pool_stress")
    build = subprocess.run([cc, "-std=gnu11", "-O1", "-g", "-fsanitize=thread", "-pthread",
                            "-I", os.path.join(root, "csrc"), "-I", os.path.join(root, "csrc", "include"),
                            os.path.join(root, "tests", "pool_stress.c"), os.path.join(root, "csrc", "threads.c"),
                            "-o", exe], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr[-3000:]  # a compiler that has TSan must build the pool
    for spin in ("200", "0"):
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}  # (the ASan run preloads ASan)
        env.update(FASTNN_SPIN_US=spin, TSAN_OPTIONS="halt_on_error=1 exitcode=66")
        run = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=300, check=False)
        if run.returncode != 0 and "FATAL: ThreadSanitizer: unexpected memory mapping" in run.stderr:
            pytest.skip("ThreadSanitizer cannot run here (address-space layout)")
        assert run.returncode == 0, run.stderr[-3000:]
        assert "every task ran exactly once" in run.stdout
        assert "WARNING: ThreadSanitizer" not in run.stderr
