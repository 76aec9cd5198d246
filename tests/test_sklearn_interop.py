"""scikit-learn: fitted MLPClassifier and MLPRegressor -> skl2onnx ->
fastnn.from_onnx (its label and probability post-processing skipped, and
said so) and -> fastnn.from_sklearn: probabilities, outputs and labels equal
to scikit-learn's on MNIST test images (float32 1e-5, float64 1e-12), and
the imported model trains on."""

import functools
import importlib.util
import warnings

import numpy as np
import pytest
from mnist_files import mnist_test_images

import fastnn
from fastnn.io.onnx_import import read_onnx

sklearn_nn = pytest.importorskip("sklearn.neural_network",
                                 reason='scikit-learn is not installed (pip install ".[sklearn]")')
HAVE_SKL2ONNX = importlib.util.find_spec("skl2onnx") is not None and importlib.util.find_spec("onnx") is not None
needs_skl2onnx = pytest.mark.skipif(not HAVE_SKL2ONNX,
                                    reason='skl2onnx or onnx is not installed (pip install ".[onnx,sklearn]")')
TOL = {"float32": 1e-5, "float64": 1e-12}
CASES = ["multiclass", "binary", "multilabel", "regressor", "regressor2"]


@pytest.fixture(scope="module")
def images():
    return mnist_test_images(1000)


@functools.cache
def _fit(case, dtype):
    """An estimator fitted briefly on 1,000 sample images (once per case and dtype)."""
    data = fastnn.datasets.load_mnist_sample(flatten=True)
    X, digits = data.X_train[:1000] / 255.0, data.y_train[:1000]
    X = X.astype(dtype)
    targets = {"multiclass": (digits, "logistic"), "binary": (np.where(digits % 2 == 1, "odd", "even"), "tanh"),
               "multilabel": (np.stack([digits % 2, digits > 4], axis=1).astype(int), "relu"),
               "regressor": (digits / 9.0, "relu"), "regressor2": (np.stack([digits / 9.0, X[:, 300]], 1), "identity")}
    y, activation = targets[case]
    cls = sklearn_nn.MLPRegressor if case.startswith("regressor") else sklearn_nn.MLPClassifier
    est = cls(hidden_layer_sizes=(24, 16), activation=activation, max_iter=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a few iterations are enough here
        return est.fit(X, y)


def _check(model, est, X, case):
    dtype = model.dtype.name
    X = X.astype(dtype)
    tol = TOL[dtype]
    assert model.dtype == est.coefs_[0].dtype
    if case.startswith("regressor"):
        np.testing.assert_allclose(model.forward(X).reshape(-1), est.predict(X).reshape(-1), rtol=tol, atol=tol)
        assert model.loss.name == "half_squared_error"
        return
    np.testing.assert_allclose(model.predict_proba(X), est.predict_proba(X), rtol=tol, atol=tol)
    labels = model.predict(X)
    np.testing.assert_array_equal(labels if case == "multilabel" else est.classes_[labels], est.predict(X))


def _trains_on(model, X, case):
    y = {"multiclass": np.arange(len(X)) % 10, "binary": np.arange(len(X)) % 2,
         "multilabel": np.ones((len(X), 2)), "regressor": np.zeros(len(X)), "regressor2": np.zeros((len(X), 2))}[case]
    trainer = fastnn.Trainer(model, model.loss, "adam", batch_size=len(X))
    first = trainer.step(X, y)
    for _ in range(4):
        last = trainer.step(X, y)
    assert last < first


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES)
def test_from_sklearn_matches_scikit_learn_and_trains_on(images, case, dtype):
    est = _fit(case, dtype)
    model = fastnn.from_sklearn(est)
    assert [layer.activation for layer in model.layers][:2] == [{"logistic": "sigmoid"}.get(est.activation,
                                                                                           est.activation)] * 2
    _check(model, est, images, case)
    _trains_on(model, images[:64], case)


@needs_skl2onnx
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES)
def test_skl2onnx_graphs_import_and_match_scikit_learn(images, tmp_path, case, dtype):
    from skl2onnx import to_onnx

    est = _fit(case, dtype)
    (tmp_path / "m.onnx").write_bytes(to_onnx(est, images[:1].astype(dtype)).SerializeToString())
    result = read_onnx(tmp_path / "m.onnx")
    assert result.producer.startswith("skl2onnx")
    ops = {line.split("(")[1].split(")")[0] for line in result.skipped if line.startswith("node")}
    assert {"multiclass": {"ArgMax", "ZipMap"}, "binary": {"Sub", "Concat", "ZipMap"},
            "multilabel": {"Sub", "Concat", "ZipMap"}, "regressor": {"Reshape"}, "regressor2": {"Reshape"}}[case] <= ops
    if case in ("multiclass", "binary"):
        np.testing.assert_array_equal(result.classes, est.classes_)
    assert any("converts the input" in note for note in result.notes)
    _check(result.model, est, images, case)
    _trains_on(result.model, images[:64], case)


@needs_skl2onnx
def test_skl2onnx_without_zipmap_imports(images):
    from skl2onnx import to_onnx

    est = _fit("multiclass", "float32")
    model = fastnn.from_onnx(to_onnx(est, images[:1].astype(np.float32), options={"zipmap": False}))
    _check(model, est, images, "multiclass")


def test_from_sklearn_refuses_other_estimators():
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="estimator must be a fitted scikit-learn MLPClassifier or MLPRegressor, got "
                                        "LogisticRegression"):
        fastnn.from_sklearn(LogisticRegression())
    with pytest.raises(ValueError, match=r"estimator \(MLPClassifier\) is not fitted yet"):
        fastnn.from_sklearn(sklearn_nn.MLPClassifier())
    est = sklearn_nn.MLPRegressor(hidden_layer_sizes=(3,), loss="poisson", max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(np.random.default_rng(0).random((20, 4)), np.arange(20))
    with pytest.raises(ValueError, match=r"MLPRegressor: output activation 'exp' \(loss 'poisson'\) has no fastnn "
                                         "counterpart"):
        fastnn.from_sklearn(est)
