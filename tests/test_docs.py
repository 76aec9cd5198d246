"""Documents generated from the code are current."""

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_notes_slips_doc_is_current():
    render = runpy.run_path(str(ROOT / "tools" / "notes_slips.py"))["render"]
    assert (ROOT / "docs" / "notes_slips.md").read_text() == render(), "run: python tools/notes_slips.py"


def test_readme_python_examples_run(tmp_path, monkeypatch):
    import importlib.util
    import re
    import textwrap

    import numpy as np

    import fastnn

    monkeypatch.chdir(tmp_path)  # the examples save a model file
    # the tour starts from load_mnist: the shipped sample stands in for it (no download in tests)
    monkeypatch.setattr(fastnn.datasets, "load_mnist",
                        lambda *args, flatten=False, **kwargs: fastnn.datasets.load_mnist_sample(flatten=flatten))
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert len(blocks) >= 3
    rng = np.random.default_rng(0)
    data = {"X_train": rng.random((300, 784), dtype=np.float32), "y_train": rng.integers(0, 10, 300),
            "X_test": rng.random((40, 784), dtype=np.float32), "y_test": rng.integers(0, 10, 40)}
    ns = {"fastnn": fastnn, "np": np, "X": data["X_train"], "y": data["y_train"], **data}
    have_matplotlib = importlib.util.find_spec("matplotlib") is not None
    for block in blocks:
        if ".plot" in block and not have_matplotlib:
            continue  # needs the [plot] extra, which the [test] extra does not install
        if any(name in block and importlib.util.find_spec(name) is None
               for name in ("onnx", "onnxruntime", "torch", "sklearn", "dask", "distributed")):
            continue  # needs the [onnx], [torch], [sklearn] or [dask] extra (to_onnx, from_torch, ... included)
        exec(textwrap.dedent(block), ns)  # noqa: S102 - our own documentation
    assert ns["history"]["val_accuracy"]
