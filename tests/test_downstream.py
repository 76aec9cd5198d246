"""Real consumers of fastnn's Cython and C APIs: the two packages in
examples/ are built (scikit-build-core, ``find_package(fastnn)``) against
the *installed* fastnn, installed into a temporary folder, and run in
subprocesses that see only the installed fastnn: their results must equal
fastnn's Python API bit for bit, from several threads at once, and bad
calls must come back as status codes.  A consumer built for another API
version must fail at import, naming both versions.

Skipped, saying why, where no C compiler is found, or where fastnn is not
installed in this environment (the tests run against a source tree).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def _compiler() -> str | None:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


CC = _compiler()
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler found (cc, gcc or clang)")


def _clean_env(*paths: Path) -> dict[str, str]:
    """The environment of a subprocess that imports the installed fastnn
    (never the source tree) and the given folders."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    return env


def run_python(code: str, *paths: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, outside the repository."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=_clean_env(*paths),
                          cwd=tempfile.gettempdir(), capture_output=True, text=True, timeout=600, check=check)


@pytest.fixture(scope="module")
def installed_fastnn() -> dict[str, str]:
    res = run_python("import fastnn, json; print(json.dumps({'file': fastnn.__file__, "
                     "'include': fastnn.get_include(), 'cmake': fastnn.get_cmake_dir()}))", check=False)
    if res.returncode != 0:
        pytest.skip(f"fastnn with its headers is not installed in this environment (pip install . first): "
                    f"{res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res.stdout}")
    return json.loads(res.stdout)


def _build(example: str, target: Path) -> Path:
    """pip-install examples/<example> into target, against the installed fastnn."""
    res = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                          "--target", str(target), str(EXAMPLES / example)], env=_clean_env(),
                         capture_output=True, text=True, timeout=900, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return target


@pytest.fixture(scope="module")
def cython_consumer(installed_fastnn, tmp_path_factory) -> Path:
    return _build("cython_consumer", tmp_path_factory.mktemp("cython_consumer"))


@pytest.fixture(scope="module")
def c_consumer(installed_fastnn, tmp_path_factory) -> Path:
    return _build("c_consumer", tmp_path_factory.mktemp("c_consumer"))


def test_the_consumers_use_the_installed_fastnn_and_link_none_of_it(installed_fastnn, cython_consumer,
                                                                    c_consumer):
    assert not installed_fastnn["file"].startswith(str(REPO / "src"))
    for folder, name in ((cython_consumer, "fastnn_cython_demo"), (c_consumer, "fastnn_c_demo")):
        (ext,) = (folder / name).glob("_*.so") if sys.platform != "win32" else (folder / name).glob("_*.pyd")
        nm = shutil.which("nm")
        if nm:
            undefined = subprocess.run([nm, "-D", "--undefined-only", str(ext)], capture_output=True, text=True,
                                       check=True).stdout
            assert "fnn_" not in undefined  # no symbol of fastnn's: the kernels come through the capsule


CYTHON_CHECKS = """
    import threading
    import numpy as np
    import fastnn
    import fastnn_cython_demo as demo

    rng = np.random.default_rng(0)
    acts = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"]
    for dtype in (np.float32, np.float64):
        X, W, b = (rng.standard_normal(s).astype(dtype) for s in ((37, 19), (11, 19), (11,)))
        for code, act in enumerate(acts):
            got = demo.dense_forward(X, W, b, code, 0.02)
            want = fastnn.kernels.dense_forward(X, W, b, act, slope=0.02)
            assert got.dtype == dtype and np.array_equal(got, want), (dtype, act)

    # several threads at once, the GIL released in each call
    X, W, b = rng.standard_normal((300, 257)), rng.standard_normal((129, 257)), rng.standard_normal(129)
    want = fastnn.kernels.dense_forward(X, W, b, "tanh")
    bad = []
    def work():
        for _ in range(30):
            if not np.array_equal(demo.dense_forward(X, W, b, 2), want):
                bad.append(1)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not bad

    # one training step in one call equals fastnn's Trainer.step (plain SGD, softmax cross-entropy)
    X = rng.standard_normal((24, 6)); y = rng.integers(0, 3, 24)
    model = fastnn.Sequential([fastnn.Dense(6, 8, "tanh"), fastnn.Dense(8, 3, "softmax")], dtype="float64", seed=1)
    weights = [layer.weight.copy() for layer in model.layers]
    biases = [layer.bias.copy() for layer in model.layers]
    loss, correct = demo.sgd_train_step(X, y.astype(np.int64), weights, biases, [2, 0], 0.3)
    want_loss = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(0.3), batch_size=24).step(X, y)
    assert loss == want_loss, (loss, want_loss)
    for layer, w, b_ in zip(model.layers, weights, biases):
        assert np.array_equal(layer.weight, w) and np.array_equal(layer.bias, b_)

    # bad use: status codes, never a crash
    assert demo.null_pointer_status() == 2 and demo.status_of_bad_width() == 2
    print("ok")
"""


def test_a_cython_consumer_calls_the_kernels(cython_consumer):
    res = run_python(CYTHON_CHECKS, cython_consumer, check=False)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stdout + res.stderr


C_CHECKS = """
    import threading
    import numpy as np
    import fastnn
    import fastnn_c_demo as demo

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        X, W, b = (rng.standard_normal(s).astype(dtype) for s in ((41, 23), (9, 23), (9,)))
        for code, act in enumerate(["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"]):
            out = np.empty((41, 9), dtype=dtype)
            demo.dense_forward(X, W, b, out, code, 0.02)
            assert np.array_equal(out, fastnn.kernels.dense_forward(X, W, b, act, slope=0.02)), (dtype, act)
    Z = rng.standard_normal((16, 5)); Y = np.eye(5)[rng.integers(0, 5, 16)]
    dZ = np.empty_like(Z)
    loss = demo.softmax_cross_entropy(Z, Y, dZ)
    want_loss, want_grad = fastnn.kernels.softmax_cross_entropy(Z, Y)
    assert loss == want_loss and np.array_equal(dZ, want_grad)

    X, W, b = rng.standard_normal((300, 257)), rng.standard_normal((129, 257)), rng.standard_normal(129)
    want = fastnn.kernels.dense_forward(X, W, b, "relu")
    bad = []
    def work():
        out = np.empty((300, 129))
        for _ in range(30):
            demo.dense_forward(X, W, b, out, 3, 0.0)
            if not np.array_equal(out, want):
                bad.append(1)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not bad

    assert demo.null_pointer_status() == 2 and demo.bad_dimension_status() == 2
    assert demo.api_version() == ((1, 0), (1, 0))
    try:
        demo.dense_forward(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(4), np.zeros((2, 4)), 0, 0.0)
        raise AssertionError("mismatched shapes were accepted")
    except ValueError as e:
        assert "bad argument" in str(e), e
    print("ok")
"""


def test_a_c_consumer_calls_the_kernels(c_consumer):
    res = run_python(C_CHECKS, c_consumer, check=False)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stdout + res.stderr


def test_the_gil_is_released_while_a_consumer_runs_a_kernel(c_consumer):
    # With a 10 s switch interval the interpreter never takes the GIL from
    # a thread by itself: the main thread can count only while the worker's
    # kernel call has released it.
    code = """
        import sys, threading
        import numpy as np
        import fastnn_c_demo as demo
        sys.setswitchinterval(10.0)
        X, W, b = np.ones((1500, 1000)), np.ones((1000, 1000)), np.zeros(1000)
        out = np.empty((1500, 1000))
        started, done = threading.Event(), threading.Event()
        def work():
            started.set()
            demo.dense_forward(X, W, b, out, 0, 0.0)
            done.set()
        t = threading.Thread(target=work)
        t.start()
        started.wait()
        ticks = 0
        while not done.is_set():
            ticks += 1
        t.join()
        assert out[0, 0] == 1000.0
        print(ticks)
    """
    res = run_python(code, c_consumer)
    assert int(res.stdout) > 1000, res.stdout


def _patched_include(installed_fastnn: dict[str, str], dest: Path) -> Path:
    """A copy of fastnn's include directory declaring API version 2.0."""
    shutil.copytree(installed_fastnn["include"], dest)
    header = dest / "fastnn" / "fastnn_api.h"
    header.write_text(header.read_text().replace("#define FASTNN_API_VERSION 1", "#define FASTNN_API_VERSION 2"))
    pxd = dest / "fastnn" / "cython_kernels.pxd"
    pxd.write_text(pxd.read_text().replace("API_VERSION = 1", "API_VERSION = 2"))
    return dest


def _compile_extension(source: Path, include: Path, out_dir: Path, name: str) -> None:
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    res = subprocess.run([CC, "-shared", "-fPIC", "-O1", f"-I{sysconfig.get_paths()['include']}", f"-I{include}",
                          str(source), "-o", str(out_dir / f"{name}{suffix}")], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stderr


def test_a_c_consumer_built_for_another_api_version_fails_at_import(installed_fastnn, tmp_path):
    include = _patched_include(installed_fastnn, tmp_path / "include")
    _compile_extension(EXAMPLES / "c_consumer" / "src" / "fastnn_c_demo" / "_cdemo.c", include, tmp_path, "_cdemo")
    res = run_python("import _cdemo", tmp_path, check=False)
    assert res.returncode != 0
    assert ("built against fastnn's C API version 2.0, but the installed fastnn provides version 1.0"
            in res.stderr), res.stderr


def test_a_cython_consumer_built_for_another_api_version_fails_at_import(installed_fastnn, tmp_path):
    include = _patched_include(installed_fastnn, tmp_path / "include")
    source = tmp_path / "_demo.pyx"
    shutil.copy(EXAMPLES / "cython_consumer" / "src" / "fastnn_cython_demo" / "_demo.pyx", source)
    res = subprocess.run([sys.executable, "-m", "cython", "-3", "-I", str(include), str(source), "-o",
                          str(tmp_path / "_demo.c")], env=_clean_env(), capture_output=True, text=True, check=False)
    if res.returncode != 0 and "No module named cython" in res.stderr.lower():
        pytest.skip("Cython is not installed (pip install cython)")
    assert res.returncode == 0, res.stderr
    _compile_extension(tmp_path / "_demo.c", include, tmp_path, "_demo")
    res = run_python("import _demo", tmp_path, check=False)
    assert res.returncode != 0
    assert "built against fastnn's C API version 2.0, but the installed fastnn provides version 1.0" in res.stderr, \
        res.stderr


def test_get_include_and_get_cmake_dir_say_when_nothing_is_installed(tmp_path):
    # a source tree has no installed headers: the message says so
    import fastnn
    from fastnn import _paths

    package = tmp_path / "fastnn"
    package.mkdir()
    old = _paths._PACKAGE
    try:
        _paths._PACKAGE = str(package)
        with pytest.raises(FileNotFoundError, match="C headers are not installed"):
            fastnn.get_include()
        with pytest.raises(FileNotFoundError, match="CMake files are not installed"):
            fastnn.get_cmake_dir()
    finally:
        _paths._PACKAGE = old
