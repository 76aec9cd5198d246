"""Build facts, threading and SIMD dispatch of the compiled core.

* ``fastnn.build_info()`` and ``__version__``;
* ``set_num_threads``/``get_num_threads``, OMP_NUM_THREADS, threadpoolctl;
* SIMD path listing, forcing and the FASTNN_SIMD environment variable;
* the kernels release the GIL.
"""

import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import fastnn
from fastnn import kernels as K

INFO = fastnn.build_info()
needs_openmp = pytest.mark.skipif(not INFO.get("openmp"),
                                  reason="fastnn was built without OpenMP (build_info()['openmp'] "
                                         "is False): no thread pool to test")


def run_python(code, **env_changes):
    """Run ``code`` in a fresh interpreter; return its stdout parsed as JSON."""
    env = os.environ.copy()
    for key in ("OMP_NUM_THREADS", "FASTNN_SIMD"):
        env.pop(key, None)
    env.update(env_changes)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=False,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# build_info and version
# --------------------------------------------------------------------------

def test_build_info_keys_and_types():
    info = fastnn.build_info()
    assert isinstance(info, dict)
    expected = {"version", "compiler", "compile_flags", "openmp", "openmp_version",
                "simd_compiled", "simd_selected", "default_num_threads"}
    missing = expected - set(info)
    assert not missing, f"build_info() lacks {sorted(missing)}"
    assert isinstance(info["version"], str) and info["version"]
    assert isinstance(info["compiler"], str) and info["compiler"].strip()
    assert isinstance(info["compile_flags"], (str, list, tuple))
    assert isinstance(info["openmp"], bool)
    if info["openmp"]:
        v = info["openmp_version"]
        assert v, "openmp is True but openmp_version is empty"
        if isinstance(v, int):
            assert v >= 200805, f"openmp_version {v} (expected a yyyymm date, OpenMP >= 3.0)"
    simd = info["simd_compiled"]
    assert isinstance(simd, list) and simd and all(isinstance(s, str) for s in simd)
    assert len(set(simd)) == len(simd)
    assert "generic" in simd
    assert isinstance(info["simd_selected"], str) and info["simd_selected"] in simd
    dnt = info["default_num_threads"]
    assert isinstance(dnt, int) and not isinstance(dnt, bool) and dnt >= 1
    if not info["openmp"]:
        assert dnt == 1


def test_version_matches():
    assert isinstance(fastnn.__version__, str)
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?([.-]?(a|b|rc|dev|post)\d*)*(\+\S+)?",
                        fastnn.__version__), fastnn.__version__
    assert fastnn.build_info()["version"] == fastnn.__version__
    try:
        meta = importlib.metadata.version("fastnn-mlp")  # the distribution's name (import name: fastnn)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        pytest.skip("the fastnn-mlp distribution is not installed; no metadata to compare with")
    assert meta == fastnn.__version__


# --------------------------------------------------------------------------
# SIMD dispatch
# --------------------------------------------------------------------------

def test_simd_paths_and_forcing():
    paths = fastnn.simd_paths()
    compiled = fastnn.build_info()["simd_compiled"]
    assert isinstance(paths, list) and paths
    assert "generic" in paths
    assert set(paths) <= set(compiled)
    assert fastnn.build_info()["simd_selected"] in paths
    X = np.random.default_rng(0).normal(size=(5, 7))
    W = np.random.default_rng(1).normal(size=(3, 7))
    for p in paths:
        fastnn.set_simd_path(p)
        assert fastnn.build_info()["simd_selected"] == p
        np.testing.assert_allclose(K.dense_forward(X, W), X @ W.T, rtol=1e-12)
    with pytest.raises(ValueError, match="no-such-isa"):
        fastnn.set_simd_path("no-such-isa")
    for bad in (None, 3, b"generic", ["generic"]):
        with pytest.raises(TypeError, match="^name must be"):
            fastnn.set_simd_path(bad)
    for p in set(compiled) - set(paths):  # compiled in, but this CPU cannot run it
        with pytest.raises(ValueError):
            fastnn.set_simd_path(p)
        assert fastnn.build_info()["simd_selected"] in paths


def test_default_simd_path_is_the_best_supported_one():
    got = run_python("import json, fastnn; print(json.dumps([fastnn.build_info()['simd_selected'],"
                     " fastnn.simd_paths()]))")
    selected, paths = got
    assert selected == paths[-1], f"selected {selected!r}, best supported is {paths[-1]!r}"


def test_fastnn_simd_environment_variable():
    got = run_python("import json, fastnn; print(json.dumps(fastnn.build_info()['simd_selected']))",
                     FASTNN_SIMD="generic")
    assert got == "generic"


# --------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------

def test_set_get_num_threads_round_trip():
    fastnn.set_num_threads(1)
    assert fastnn.get_num_threads() == 1
    if INFO["openmp"]:
        fastnn.set_num_threads(2)
        assert fastnn.get_num_threads() == 2
    for bad in (0, -1, -8):
        with pytest.raises(ValueError):
            fastnn.set_num_threads(bad)
    assert fastnn.get_num_threads() in (1, 2)  # a refused value changes nothing


@needs_openmp
@pytest.mark.parametrize("n", [1, 3])
def test_omp_num_threads_is_honoured(n):
    got = run_python("import json, fastnn; print(json.dumps([fastnn.get_num_threads(), "
                     "fastnn.build_info()['default_num_threads']]))", OMP_NUM_THREADS=str(n))
    assert got == [n, n]


_MAPS_CODE = r"""
import json, os, numpy

def mapped():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and parts[5].startswith("/"):
                libs.add(os.path.realpath(parts[5]))
    return libs

before = mapped()
import fastnn
import fastnn.kernels
after = mapped()
from threadpoolctl import threadpool_info
print(json.dumps({"new": sorted(after - before), "all": sorted(after), "info": threadpool_info()}))
"""


@needs_openmp
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_threadpoolctl_sees_fastnns_openmp_library():
    pytest.importorskip("threadpoolctl")
    got = run_python(_MAPS_CODE)
    omp_entries = [e for e in got["info"] if e.get("user_api") == "openmp"]
    assert omp_entries, f"threadpoolctl lists no OpenMP library: {got['info']}"
    is_omp = re.compile(r"lib(g|i5|i)?omp[^/]*\.so")
    loaded = [p for p in got["new"] if is_omp.search(os.path.basename(p))]
    if not loaded:  # numpy had already mapped the same OpenMP runtime
        loaded = [p for p in got["all"] if is_omp.search(os.path.basename(p))]
    assert loaded, "fastnn reports OpenMP but no OpenMP runtime is mapped after importing it"
    listed = {os.path.realpath(e["filepath"]) for e in omp_entries}
    assert listed & set(loaded), f"threadpoolctl lists {listed}, fastnn loaded {loaded}"


@needs_openmp
def test_threadpoolctl_limits_fastnn():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    fastnn.set_num_threads(2)
    before = fastnn.get_num_threads()
    if before < 2:
        pytest.skip("OpenMP allows only one thread here; a limit of 1 would be invisible")
    X = np.random.default_rng(0).normal(size=(64, 33))
    W = np.random.default_rng(1).normal(size=(17, 33))
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert fastnn.get_num_threads() == 1
        np.testing.assert_allclose(K.dense_forward(X, W), X @ W.T, rtol=1e-12)
    assert fastnn.get_num_threads() == before


# --------------------------------------------------------------------------
# the GIL
# --------------------------------------------------------------------------

def test_kernels_release_the_gil():
    """While a big dense_forward runs in a thread, Python code keeps running."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 784)).astype(np.float32)
    W = rng.normal(size=(512, 784)).astype(np.float32)
    fastnn.set_num_threads(1)  # leave a core free for the main thread
    K.dense_forward(X, W)  # warm up (packing buffers, thread pool)
    t0 = time.perf_counter()
    K.dense_forward(X, W)
    one_call = time.perf_counter() - t0
    reps = int(min(50, max(1, np.ceil(0.3 / max(one_call, 1e-4)))))

    def spin(stop):
        n = 0
        while not stop():
            n += 1
        return n

    old_interval = sys.getswitchinterval()
    # a short switch interval leaves a GIL-holding kernel no slack between calls
    sys.setswitchinterval(1e-4)
    try:
        # the same loop (an Event check per iteration), stopped by a timer
        alone = threading.Event()
        timer = threading.Timer(0.1, alone.set)
        t0 = time.perf_counter()
        timer.start()
        baseline = spin(alone.is_set) / (time.perf_counter() - t0)
        timer.join()

        done = threading.Event()

        def work():
            for _ in range(reps):
                K.dense_forward(X, W)
            done.set()

        th = threading.Thread(target=work)
        t0 = time.perf_counter()
        th.start()
        count = spin(done.is_set)
        elapsed = time.perf_counter() - t0
        th.join()
    finally:
        sys.setswitchinterval(old_interval)
    rate = count / elapsed
    assert elapsed > 0.05, "the kernel calls were too short to measure"
    assert rate > 0.3 * baseline, (
        f"main thread ran at {rate:.3g} it/s during {reps} dense_forward calls "
        f"({elapsed:.3f} s) vs {baseline:.3g} it/s alone: the GIL seems held")


# --------------------------------------------------------------------------
# the CPU and the per-CPU kernel parameters (csrc/cpu.c)
# --------------------------------------------------------------------------

def _lscpu_field(name):
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return None
    for line in out.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def test_build_info_names_the_cpu_and_the_configuration_chosen():
    info = fastnn.build_info()
    cpu, cfg = info["cpu"], info["kernel_config"]
    assert set(cpu) == {"vendor", "model_name", "family", "model", "l1d_bytes", "l2_bytes", "l3_bytes", "prefetchw"}
    assert set(cfg) == {"name", "kc", "panel_kb", "gemm_min_work", "backward_min_work", "network_min_work",
                        "step_min_work", "small_m", "dot_k_per_row", "direct_b_slivers", "transposed_tiles"}
    assert cfg["name"] in fastnn._core.cpu_config_names()
    assert cfg["kc"] >= 16 and cfg["panel_kb"] >= 16 and cfg["gemm_min_work"] > 0
    if platform.machine() in ("x86_64", "AMD64"):
        vendor, family, model = _lscpu_field("Vendor ID"), _lscpu_field("CPU family"), _lscpu_field("Model")
        if vendor and family and model:  # CPUID read the same CPU as the OS reports
            assert (cpu["vendor"], cpu["family"], cpu["model"]) == (vendor, int(family), int(model))
    if os.path.exists("/sys/devices/system/cpu/cpu0/cache/index2/size"):
        assert cpu["l2_bytes"] > 0 and cpu["l1d_bytes"] > 0
    flags = _lscpu_field("Flags")
    if flags is not None and platform.machine() in ("x86_64", "AMD64"):  # the OS's name for CPUID's PRFCHW bit
        assert cpu["prefetchw"] == ("3dnowprefetch" in flags.split())


def test_fastnn_cpu_and_overrides_choose_the_parameters():
    code = "import json, fastnn; print(json.dumps(fastnn.build_info()['kernel_config']))"
    zen4 = run_python(code, FASTNN_CPU="amd-zen4")
    assert (zen4["name"], zen4["kc"], zen4["panel_kb"]) == ("amd-zen4", 256, 1024)
    assert (zen4["small_m"], zen4["dot_k_per_row"], zen4["direct_b_slivers"], zen4["transposed_tiles"]) == (16, 0, 1, 0)
    zen3 = run_python(code, FASTNN_CPU="amd-zen3")
    assert (zen3["small_m"], zen3["dot_k_per_row"], zen3["direct_b_slivers"], zen3["transposed_tiles"]) == (16, 24, 4, 2)
    zen5 = run_python(code, FASTNN_CPU="amd-zen5")
    assert (zen5["name"], zen5["kc"], zen5["small_m"], zen5["dot_k_per_row"]) == ("amd-zen5", 256, 16, 24)
    intel = run_python(code, FASTNN_CPU="intel-sapphire-emerald-rapids")
    assert (intel["dot_k_per_row"], intel["network_min_work"], intel["direct_b_slivers"]) == (24, 131072.0, 4)
    # every field overridden (FASTNN_SMALL_M at most 16)
    custom = run_python(code, FASTNN_CPU="default", FASTNN_KC="96", FASTNN_PANEL_KB="300", FASTNN_MIN_WORK="5000",
                        FASTNN_BACKWARD_MIN_WORK="6000", FASTNN_NETWORK_MIN_WORK="7000", FASTNN_STEP_MIN_WORK="9000",
                        FASTNN_SMALL_M="99", FASTNN_DOT_K_PER_ROW="3", FASTNN_DIRECT_B_SLIVERS="5",
                        FASTNN_TRANSPOSED_TILES="3")
    assert (custom["name"], custom["kc"], custom["panel_kb"], custom["gemm_min_work"], custom["backward_min_work"],
            custom["network_min_work"], custom["step_min_work"], custom["small_m"], custom["dot_k_per_row"],
            custom["direct_b_slivers"], custom["transposed_tiles"]) == ("default+env", 96, 300, 5000.0, 6000.0, 7000.0,
                                                                        9000.0, 16, 3, 5, 3)
    # a count that may be 0: the Zen 3 row without its transposed forward
    off = run_python(code, FASTNN_CPU="amd-zen3", FASTNN_TRANSPOSED_TILES="0")
    assert (off["name"], off["transposed_tiles"]) == ("amd-zen3+env", 0)


@pytest.mark.parametrize("row", ["amd-zen3", "amd-zen4", "amd-zen5", "intel-sapphire-emerald-rapids"])
def test_small_batch_paths_of_each_row_agree_with_the_reference(row):
    # rows up to 16 take the dot products or (rows with dot_k_per_row 24, K < 24 x rows) the
    # packed GEMM: either way the reference's values, and the same on 1 and
    # 2 threads
    code = """
import json, numpy as np, fastnn
from fastnn import kernels as K, reference as R
rng = np.random.default_rng(11)
ok = []
for m in (1, 2, 3, 4, 5, 7, 12, 16, 17):
    for k in (8, 64, 300):
        X, W, b = rng.standard_normal((m, k)), rng.standard_normal((37, k)), rng.standard_normal(37)
        outs = []
        for t in (1, 2):
            fastnn.set_num_threads(t)
            outs.append(K.dense_forward(X, W, b, "sigmoid"))
        ok.append(bool(np.array_equal(outs[0], outs[1]))
                  and bool(np.allclose(outs[0], R.dense_forward(X, W, b, "sigmoid"), rtol=1e-12, atol=1e-12)))
print(json.dumps([all(ok), len(ok)]))
"""
    assert run_python(code, FASTNN_CPU=row) == [True, 27]


@pytest.mark.parametrize("row", ["amd-zen3", "amd-zen4", "amd-zen5", "intel-sapphire-emerald-rapids"])
def test_small_batch_network_of_each_row_agrees_with_its_layers(row):
    # up to 16 rows run the whole network in one call, each layer by dot
    # products or (K < dot_k_per_row x rows) the packed GEMM: the same bits
    # on any thread count, and the layer kernels' values (a narrow layer's
    # kernel computes W X^T, whose rule counts W's rows, so the two may
    # take different paths and round differently)
    code = """
import json, numpy as np, fastnn
from fastnn import kernels as K
rng = np.random.default_rng(12)
model = fastnn.Sequential([fastnn.Dense(300, 64, "sigmoid"), fastnn.Dense(64, 40, "tanh"),
                           fastnn.Dense(40, 8, "relu"), fastnn.Dense(8, 10, "softmax")], seed=3)
for layer in model.layers:
    layer.bias = rng.standard_normal(layer.bias.shape).astype(np.float32)
ok = []
for m in (1, 2, 3, 4, 5, 8, 9, 12, 16):
    X = rng.standard_normal((m, 300)).astype(np.float32)
    fastnn.set_num_threads(1)
    a = X
    for layer in model.layers[:-1]:
        a = K.dense_forward(a, layer.weight, layer.bias, layer.activation)
    want = K.softmax(K.dense_forward(a, model.layers[-1].weight, model.layers[-1].bias, "identity"))
    outs = []
    for t in (1, 2, 3):
        fastnn.set_num_threads(t)
        outs.append(model.forward(X))
    ok.append(all(np.array_equal(o, outs[0]) for o in outs) and bool(np.allclose(outs[0], want, rtol=1e-5, atol=1e-6)))
print(json.dumps([all(ok), len(ok)]))
"""
    assert run_python(code, FASTNN_CPU=row) == [True, 9]


def test_small_batch_steps_are_the_same_on_any_thread_count_under_either_step_bar():
    # Steps of fewer than 32 rows run on the whole batch: every GEMM on the threads when the work
    # per thread reaches FASTNN_STEP_MIN_WORK (1: always), all of them on one thread below it
    # (a huge bar). Under either, with SGD or Adam, the weights after a few steps are bit for bit
    # those of one thread, and the two bars give the same weights.
    code = """
import json, hashlib, numpy as np, fastnn
rng = np.random.default_rng(5)
out = []
for n, opt in ((8, "sgd"), (20, "adam"), (31, "sgd")):
    X = rng.standard_normal((n, 784)).astype(np.float32)
    y = rng.integers(0, 10, n)
    digests = []
    for t in (1, 2, 3):
        fastnn.set_num_threads(t)  # (784 x 256 at 8 rows and more: the backward GEMMs split too)
        model = fastnn.Sequential([fastnn.Dense(784, 256, "sigmoid"), fastnn.Dense(256, 200, "tanh"),
                                   fastnn.Dense(200, 10, "softmax")], seed=2)
        optimizer = fastnn.SGD(0.1) if opt == "sgd" else fastnn.Adam(0.01)
        trainer = fastnn.Trainer(model, "cross_entropy", optimizer, batch_size=n)
        for _ in range(3):
            trainer.step(X, y)
        h = hashlib.sha256()
        for layer in model.layers:
            h.update(layer.weight.tobytes()); h.update(layer.bias.tobytes())
        digests.append(h.hexdigest())
    out.append(digests)
print(json.dumps(out))
"""
    threads = run_python(code, FASTNN_STEP_MIN_WORK="1")
    alone = run_python(code, FASTNN_STEP_MIN_WORK="999999999")
    assert all(len(set(d)) == 1 for d in threads), threads
    assert threads == alone


def test_bad_cpu_variables_are_named_in_a_warning():
    res = subprocess.run([sys.executable, "-c", "import fastnn; print(fastnn.build_info()['kernel_config']['kc'])"],
                         env=dict(os.environ, FASTNN_KC="lots", FASTNN_CPU="pentium", FASTNN_TRANSPOSED_TILES="-1"),
                         capture_output=True, text=True, check=True)
    assert "FASTNN_KC='lots' is not a positive whole number" in res.stderr
    assert "FASTNN_TRANSPOSED_TILES='-1' is not a whole number" in res.stderr
    assert "FASTNN_CPU='pentium' is not a row of fastnn's CPU table" in res.stderr
    assert res.stdout.strip() == str(fastnn.build_info()["kernel_config"]["kc"])


def test_results_do_not_depend_on_threads_under_another_blocking():
    # a K block and panel unlike any table row's: the packed GEMM's sums are
    # still the same on 1, 2 and 3 threads, and equal the reference's
    code = """
import json, numpy as np, fastnn
from fastnn import kernels as K, reference as R
rng = np.random.default_rng(3)
X, W, b = rng.standard_normal((203, 517)), rng.standard_normal((131, 517)), rng.standard_normal(131)
outs = []
for t in (1, 2, 3):
    fastnn.set_num_threads(t)
    outs.append(K.dense_forward(X, W, b, "tanh"))
same = all(np.array_equal(outs[0], o) for o in outs)
close = bool(np.allclose(outs[0], R.dense_forward(X, W, b, "tanh"), rtol=1e-12, atol=1e-12))
print(json.dumps([same, close, fastnn.build_info()["kernel_config"]["kc"]]))
"""
    assert run_python(code, FASTNN_KC="48", FASTNN_PANEL_KB="20") == [True, True, 48]


def test_gemm_reads_b_unpacked_with_the_same_bits_as_packed():
    # direct_b_slivers: a GEMM of a few MR-row slivers reads a row-contiguous
    # B where it lies instead of packing it; the sums are the packed ones,
    # bit for bit, on every SIMD path, in both dtypes, with alpha, beta, a
    # bias, an activation and ragged edges (n not a multiple of the sliver)
    code = """
import hashlib, json, numpy as np, fastnn
from fastnn import _core, kernels as K
rng = np.random.default_rng(13)
h, close = hashlib.sha256(), True
for path in fastnn.simd_paths():
    fastnn.set_simd_path(path)
    for dtype in (np.float32, np.float64):
        for m in (2, 7, 12, 13, 17, 24, 25, 37, 48, 60):
            for k, n in ((5, 3), (64, 70), (300, 128)):
                A, B = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
                C, bias = rng.standard_normal((m, n)).astype(dtype), rng.standard_normal(n).astype(dtype)
                want = np.tanh(0.5 * (A.astype(np.float64) @ B) + 0.25 * C + bias)  # act 2: tanh
                _core.gemm(A, B, C, 0.5, 0.25, False, False, bias, 2, 0.01)
                h.update(C.tobytes())
                close &= bool(np.allclose(C, want, rtol=1e-4, atol=1e-4))
print(json.dumps([h.hexdigest(), close, fastnn.build_info()["kernel_config"]["direct_b_slivers"]]))
"""
    packed = run_python(code, FASTNN_DIRECT_B_SLIVERS="1")
    unpacked = run_python(code, FASTNN_DIRECT_B_SLIVERS="8")
    assert packed[1:] == [True, 1] and unpacked[1:] == [True, 8]
    assert packed[0] == unpacked[0]


def test_forward_computed_transposed_has_the_same_bits():
    # transposed_tiles: a forward pass of one or a few whole NR-row tiles
    # computes A^T = W X^T (packing the batch, not W^T); the sums are the
    # usual ones, bit for bit, on every SIMD path, in both dtypes, with a
    # bias, every activation, K past a KC block, under rows whose choice of
    # dot products differs (Zen 3's and Zen 4's), and a training step's
    # weights with it
    code = """
import hashlib, json, numpy as np, fastnn
from fastnn import kernels as K
rng = np.random.default_rng(17)
h = hashlib.sha256()
for path in fastnn.simd_paths():
    fastnn.set_simd_path(path)
    for dtype in (np.float32, np.float64):
        for n in (4, 8, 16, 24, 32, 64, 96):
            for k, out in ((10, 40), (64, 128), (300, 96), (784, 64)):
                X, W = rng.standard_normal((n, k)).astype(dtype), rng.standard_normal((out, k)).astype(dtype)
                b = rng.standard_normal(out).astype(dtype)
                for act in ("identity", "sigmoid", "tanh", "relu", "softplus"):
                    h.update(K.dense_forward(X, W, b, act).tobytes())
    model = fastnn.Sequential([fastnn.Dense(64, 128, "sigmoid"), fastnn.Dense(128, 10, "softmax")], seed=0)
    X, y = rng.standard_normal((32, 64)).astype(np.float32), rng.integers(0, 10, 32)
    fastnn.Trainer(model, "cross_entropy", fastnn.SGD(0.1), batch_size=32).step(X, y)
    h.update(model.layers[0].weight.tobytes())
print(json.dumps([h.hexdigest(), fastnn.build_info()["kernel_config"]["transposed_tiles"]]))
"""
    for row in ("amd-zen3", "amd-zen4"):
        usual = run_python(code, FASTNN_CPU=row, FASTNN_TRANSPOSED_TILES="0")
        transposed = run_python(code, FASTNN_CPU=row, FASTNN_TRANSPOSED_TILES="6")
        assert usual[1:] == [0] and transposed[1:] == [6]
        assert usual[0] == transposed[0], row


def test_training_steps_do_not_depend_on_threads_under_another_small_batch_threshold():
    # small_m 4: the 16-row halves of a batch of 32 take the packed GEMM, not
    # the dot products; a step still gives the same weights on 1, 2 and 3
    # threads
    code = """
import json, numpy as np, fastnn
rng = np.random.default_rng(5)
X, y = rng.random((32, 40)), rng.integers(0, 3, 32)
weights = []
for t in (1, 2, 3):
    fastnn.set_num_threads(t)
    model = fastnn.Sequential([fastnn.Dense(40, 24, "tanh"), fastnn.Dense(24, 3, "softmax")], dtype="float64", seed=0)
    fastnn.Trainer(model, "cross_entropy", fastnn.SGD(0.5), batch_size=32).step(X, y)
    weights.append(np.concatenate([p.ravel() for p in model.parameters()]))
print(json.dumps([all(np.array_equal(weights[0], w) for w in weights), fastnn.build_info()["kernel_config"]["small_m"]]))
"""
    assert run_python(code, FASTNN_SMALL_M="4") == [True, 4]


def test_the_c_timing_program_builds_from_csrc_and_runs(tmp_path):
    """bench/c/build.sh compiles csrc/ with bench/c/forward_timing.c (the
    C-level figures of docs/performance.md); each of its modes runs."""
    import shutil

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if sys.platform != "linux" or shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("needs a C compiler on Linux")
    exe = str(tmp_path / "forward_timing")
    build = subprocess.run(["sh", os.path.join(root, "bench", "c", "build.sh"), exe], capture_output=True, text=True,
                           check=False)
    if build.returncode != 0 and "fopenmp" in build.stderr:
        pytest.skip("this compiler has no OpenMP")
    assert build.returncode == 0, build.stderr[-3000:]
    layer = subprocess.run([exe, "layer", "8", "64", "10", "1", "1"], capture_output=True, text=True, check=False)
    assert layer.returncode == 0 and re.match(r"8 x 64 -> 10, activation 1, 1 thread\(s\): [0-9.]+ us", layer.stdout)
    net = subprocess.run([exe, "network", "2", "1"], capture_output=True, text=True, check=False)
    assert net.returncode == 0 and len(re.findall(r" [0-9.]+", net.stdout.split(":")[-1])) == 7, net.stdout
    act = subprocess.run([exe, "activation", "100", "1"], capture_output=True, text=True, check=False)
    assert act.returncode == 0 and re.match(r"activation 1 over 100 values: [0-9.]+ us", act.stdout), act.stdout
    soft = subprocess.run([exe, "softmax", "3", "10"], capture_output=True, text=True, check=False)
    assert soft.returncode == 0 and re.match(r"softmax 3 x 10: [0-9.]+ us", soft.stdout), soft.stdout
    for extra in ([], ["adam"]):
        train = subprocess.run([exe, "train", "3000", "1", *extra], capture_output=True, text=True, check=False)
        assert train.returncode == 0 and len(re.findall(r" [0-9.]+", train.stdout.split(":")[-1])) == 7, train.stdout
        assert ("Adam" if extra else "SGD") in train.stdout, train.stdout
    bad = subprocess.run([exe, "nothing"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "usage" in bad.stderr
