"""fastnn as a downstream user's type checker sees it (the package ships
``py.typed``): a typed snippet using the public API passes ``mypy
--strict``, and a snippet with type errors has exactly those reported;
and the stubs of the compiled modules match them (mypy's stubtest).

mypy runs in a subprocess and finds the fastnn these tests import:
installed (CI), or the source tree put first on PYTHONPATH
(``PYTHONPATH=src pytest``), as a user's mypy would.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import fastnn

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                                reason="mypy is not installed (pip install mypy, or the [dev] extra)")

GOOD = '''
from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import assert_type

import fastnn
from fastnn.datasets import MNISTData

FloatArray = npt.NDArray[np.floating[Any]]


def load() -> tuple[FloatArray, npt.NDArray[Any]]:
    data = fastnn.datasets.load_mnist_sample(flatten=True)
    assert_type(data, MNISTData)
    X_train, y_train, _, _ = data
    return X_train.astype(np.float32) / 255, y_train


def train(X: FloatArray, y: npt.NDArray[Any], path: str) -> float:
    model = fastnn.Sequential([fastnn.Dense(784, 32, "relu"), fastnn.Dense(32, 10, "softmax")], seed=0)
    trainer = fastnn.Trainer(model, optimizer="adam", batch_size=64)
    history = trainer.fit(X, y, epochs=2, validation_split=0.1, early_stopping=3, verbose=0)
    assert_type(history, fastnn.History)
    losses: list[float] = history["loss"]
    labels = model.predict(X)
    assert_type(labels, npt.NDArray[np.integer[Any] | np.floating[Any]])
    assert_type(model.predict_proba(X[:5]), FloatArray)
    assert_type(model.forward(X[0]), FloatArray)
    scores = model.evaluate(X, y)
    assert_type(scores, dict[str, float])
    model.save(path)
    again = fastnn.load(path)
    assert_type(again, fastnn.Sequential)
    assert_type(fastnn.confusion_matrix(y, labels), npt.NDArray[np.integer[Any]])
    return scores["loss"] + losses[-1] + float(np.mean(labels == y))


def kernel(X: FloatArray, W: FloatArray) -> FloatArray:
    A = fastnn.kernels.dense_forward(X, W, None, "relu", slope=0.0)
    assert_type(A, FloatArray)
    loss, dZ = fastnn.kernels.softmax_cross_entropy(A, [0, 1])
    assert_type(loss, float)
    return dZ


def threads() -> int:
    fastnn.set_num_threads(2)
    return fastnn.get_num_threads() + len(fastnn.build_info())
'''

# each line marked "# E: <code>" must be reported with that error code, and nothing else
BAD = '''
from __future__ import annotations

import numpy as np

import fastnn

X = np.zeros((4, 784), dtype=np.float32)
model = fastnn.Sequential([fastnn.Dense(784, 10, "softmax")])
model.predict(X) + "a"  # E: operator
fastnn.Trainer(model, batch_size="32")  # E: arg-type
history = fastnn.Trainer(model).fit(X, [0, 1, 2, 3], verbose=0)
history["loss"][0].upper()  # E: attr-defined
scores: dict[str, str] = model.evaluate(X, [0, 1, 2, 3])  # E: assignment
fastnn.kernels.dense_forward(X, X, activation=3)  # E: arg-type
fastnn.datasets.load_mnist_sample().X_trian  # E: attr-defined
fastnn.load(42)  # E: arg-type
epochs: int = fastnn.Adam().lr  # E: assignment
'''


# Cython's module-level pickling helpers and doctest table: not part of the stub
CYTHON_INTERNALS = ["fastnn._core.__reduce_cython__", "fastnn._core.__setstate_cython__", "fastnn._core.__test__"]


def _start(folder: Path, module: str, *args: str) -> subprocess.Popen[str]:
    """Start ``python -m <module> <args>`` in ``folder``, with no user or project mypy configuration
    (mypy.ini there) and the fastnn imported here first on PYTHONPATH (its folder: site-packages, or
    src/ of a checkout)."""
    root = str(Path(fastnn.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("MYPYPATH", None)
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=folder, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """mypy over the snippets and stubtest over the compiled modules, started together (each takes
    seconds, most of it reading numpy's stubs)."""
    folder = tmp_path_factory.mktemp("typing")
    (folder / "mypy.ini").write_text("[mypy]\n")
    (folder / "good.py").write_text(textwrap.dedent(GOOD))
    (folder / "bad.py").write_text(textwrap.dedent(BAD))
    (folder / "allowlist.txt").write_text("\n".join(CYTHON_INTERNALS) + "\n")
    procs = {
        "mypy": _start(folder, "mypy", "--strict", "--config-file", "mypy.ini", "--cache-dir", ".mypy_cache",
                       "--no-error-summary", "--show-error-codes", "good.py", "bad.py"),
        # (no PEP 800 @disjoint_base in the stub: it is new, and older type checkers do not know it)
        "stubtest": _start(folder, "mypy.stubtest", "fastnn._core", "fastnn._build_config", "--mypy-config-file",
                           "mypy.ini", "--allowlist", "allowlist.txt", "--ignore-disjoint-bases"),
    }
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _result(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=600)
    return proc.returncode, out


@pytest.fixture(scope="module")
def mypy_output(checks: dict[str, subprocess.Popen[str]]) -> str:
    _, out = _result(checks["mypy"])
    assert "error: " in out, out  # bad.py has errors, so mypy ran
    return out


def test_the_public_api_type_checks_strictly(mypy_output):
    problems = [line for line in mypy_output.splitlines() if not line.startswith("bad.py:")]
    assert not problems, "\n".join(problems)


def test_type_errors_against_the_public_api_are_reported(mypy_output):
    expected = {(i, m.group(1)) for i, line in enumerate(textwrap.dedent(BAD).splitlines(), 1)
                if (m := re.search(r"# E: ([a-z-]+)", line))}
    found = {(int(m.group(1)), m.group(2)) for m in re.finditer(r"^bad\.py:(\d+): error: .*\[([a-z-]+)\]$",
                                                                 mypy_output, re.MULTILINE)}
    assert found == expected, mypy_output


def test_the_stubs_of_the_compiled_modules_match_them(checks):
    # _core.pyi against the compiled _core (names, arguments, defaults), _build_config.pyi against the
    # generated _build_config: a signature changed in _core.pyx must be changed in the stub too
    returncode, out = _result(checks["stubtest"])
    assert returncode == 0, out
