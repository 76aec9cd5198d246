"""fastnn.dask without dask: ``import fastnn.dask`` works (its names are
documented and typed without dask), and a call says what to install.
(fastnn.sklearn's own test is in tests/test_sklearn_estimators.py.)"""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("blocked", ["dask", "dask.array"])
def test_fastnn_dask_without_dask_says_what_to_install(blocked):
    code = (f"import sys; sys.modules[{blocked!r}] = None\n"
            "import fastnn, fastnn.dask\n"
            "model = fastnn.Sequential([fastnn.Dense(2, 1)], seed=0)\n"
            "fastnn.dask.predict(model, [[1.0, 2.0]])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert res.returncode != 0
    assert 'ImportError: fastnn.dask needs dask: pip install "fastnn-mlp[dask]" (or pip install dask)' in res.stderr


def test_fastnn_dask_is_a_lazy_name():
    code = "import sys, fastnn; print('fastnn.dask' in sys.modules); fastnn.dask.predict; print('dask' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split() == ["False", "False"]  # fastnn.dask loads dask only when a call needs it
