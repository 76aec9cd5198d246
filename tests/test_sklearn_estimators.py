"""fastnn.sklearn: scikit-learn's own estimator checks, the API in scikit-learn's tools (clone,
pickling, grid search in worker processes, pipelines, DataFrames), bad input, and the same
answers as scikit-learn's MLP (float64: the same trajectory to rounding; float32: the same
accuracy)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install 'fastnn-mlp[sklearn]')")

from sklearn import neural_network
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastnn
from fastnn.sklearn import MLPClassifier, MLPRegressor, PerceptronClassifier

FLOAT32_ROUNDING = ("float32 arithmetic: weighting a sample by 2 and repeating it give predictions equal to "
                    "float32 rounding (about 1e-7 relative), the check asks rtol=1e-7 (the float64 instances pass)")


def _expected_failures(estimator):
    """The checks each instance is expected to fail, with the reason (only the float32 MLPs fail any)."""
    if isinstance(estimator, (MLPClassifier, MLPRegressor)) and estimator.dtype == "float32":
        return {"check_sample_weight_equivalence_on_dense_data": FLOAT32_ROUNDING,
                "check_sample_weight_equivalence_on_sparse_data": FLOAT32_ROUNDING}
    return {}


# small max_iter: the checks fit each estimator dozens of times (tiny data: these converge or stop)
CHECKED = [
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    MLPClassifier(solver="sgd", max_iter=50, dtype="float64"),
    MLPRegressor(solver="lbfgs", max_iter=30, dtype="float64"),
    PerceptronClassifier(),
]


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failures)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.3, random_state=0)


def _max_diff(a, b):
    return max(float(np.max(np.abs(p - q))) for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_))


# ---- the same answers as scikit-learn -------------------------------------------------------

@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_one_sgd_epoch_from_the_same_weights_agrees_with_scikit_learn_to_rounding(digits, momentum):
    X, _, y, _ = digits
    kw = {"hidden_layer_sizes": (40, 20), "activation": "tanh", "solver": "sgd", "momentum": momentum, "learning_rate_init": 0.05,
              "shuffle": False, "max_iter": 1, "warm_start": True, "random_state": 1}
    rng = np.random.default_rng(0)
    coefs = [rng.uniform(-0.2, 0.2, s) for s in ((64, 40), (40, 20), (20, 10))]
    intercepts = [rng.uniform(-0.2, 0.2, s[1]) for s in ((64, 40), (40, 20), (20, 10))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = neural_network.MLPClassifier(**kw).fit(X, y)
        ours = MLPClassifier(dtype="float64", **kw).fit(X, y)
        for est in (sk, ours):  # the same starting point, then one epoch (warm start: a fresh solver)
            est.coefs_ = [c.copy() for c in coefs]
            est.intercepts_ = [b.copy() for b in intercepts]
            est.fit(X, y)
    assert _max_diff(sk, ours) < 1e-13
    assert ours.loss_ == pytest.approx(sk.loss_, rel=1e-13)
    assert ours.t_ == sk.t_ == 2 * len(X)


TRAJECTORIES = {
    "adam": {},
    "sgd-nesterov-invscaling": {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.5},
    "sgd-adaptive": {"solver": "sgd", "learning_rate": "adaptive", "learning_rate_init": 0.2, "tol": 0.05,
                         "n_iter_no_change": 1, "max_iter": 12},
    "logistic-early-stopping": {"activation": "logistic", "hidden_layer_sizes": (20, 10), "early_stopping": True,
                                    "max_iter": 12},
    "lbfgs": {"solver": "lbfgs", "max_iter": 15},
    "no-penalty-one-call-step": {"alpha": 0.0},
}


@pytest.mark.parametrize("name", sorted(TRAJECTORIES))
def test_float64_fits_follow_scikit_learns_trajectory(digits, name):
    """The same initial weights, shuffles, batches, updates, loss curve and stopping as scikit-learn's."""
    X, _, y, _ = digits
    kw = {"hidden_layer_sizes": (32,), "random_state": 0, "max_iter": 6, **TRAJECTORIES[name]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = neural_network.MLPClassifier(**kw).fit(X, y)
        ours = MLPClassifier(dtype="float64", **kw).fit(X, y)
    assert _max_diff(sk, ours) < 1e-11
    assert ours.n_iter_ == sk.n_iter_
    assert ours.loss_ == pytest.approx(sk.loss_, rel=1e-10)
    if hasattr(sk, "loss_curve_"):
        np.testing.assert_allclose(ours.loss_curve_, sk.loss_curve_, rtol=1e-10)
        assert ours.best_loss_ == pytest.approx(sk.best_loss_, rel=1e-10) if sk.best_loss_ else ours.best_loss_ is None
    if getattr(sk, "validation_scores_", None) is not None:
        np.testing.assert_allclose(ours.validation_scores_, sk.validation_scores_)


@pytest.mark.parametrize("target", ["binary", "multilabel", "weighted", "strings"])
def test_classifier_targets_follow_scikit_learn(digits, target):
    X, _, y, _ = digits
    sw = None
    if target == "binary":
        y = y > 4
    elif target == "multilabel":
        y = np.stack([y > 4, y % 2 == 0, y == 3], axis=1).astype(int)
    elif target == "weighted":
        sw = np.random.default_rng(0).random(len(y))
    else:
        y = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]
    kw = {"hidden_layer_sizes": (16,), "random_state": 0, "max_iter": 4}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = neural_network.MLPClassifier(**kw).fit(X, y, sample_weight=sw)
        ours = MLPClassifier(dtype="float64", **kw).fit(X, y, sample_weight=sw)
    assert _max_diff(sk, ours) < 1e-12
    assert ours.out_activation_ == sk.out_activation_
    np.testing.assert_array_equal(ours.classes_, sk.classes_)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [{}, {"loss": "poisson"}, {"solver": "sgd", "momentum": 0.5}, {"solver": "lbfgs"}],
                         ids=["adam", "poisson", "sgd", "lbfgs"])
@pytest.mark.parametrize("outputs", [1, 3])
def test_regressor_follows_scikit_learn(kw, outputs):
    X, y = make_regression(200, 8, n_targets=outputs, random_state=0)
    y = np.abs(y) / 100 if kw.get("loss") == "poisson" else y / 100
    kw = {"hidden_layer_sizes": (16,), "random_state": 0, "max_iter": 5, "learning_rate_init": 0.01, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = neural_network.MLPRegressor(**kw).fit(X, y)
        ours = MLPRegressor(dtype="float64", **kw).fit(X, y)
    assert _max_diff(sk, ours) < 1e-11
    np.testing.assert_allclose(ours.predict(X), sk.predict(X), rtol=1e-9, atol=1e-11)
    assert ours.predict(X).shape == sk.predict(X).shape


def test_float32_accuracy_on_digits_is_scikit_learns_within_a_point(digits):
    """Mean test accuracy over 3 seeds (docs/sklearn.md has MNIST's, from bench/sklearn_compare.py)."""
    X_train, X_test, y_train, y_test = digits
    kw = {"hidden_layer_sizes": (32,), "max_iter": 25, "learning_rate_init": 0.004}
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(3):
            theirs.append(neural_network.MLPClassifier(random_state=seed, **kw).fit(X_train, y_train)
                          .score(X_test, y_test))
            ours.append(MLPClassifier(random_state=seed, **kw).fit(X_train, y_train).score(X_test, y_test))
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01, (ours, theirs)


# ---- scikit-learn's tools ----------------------------------------------------------------------

def test_clone_and_pickle(digits):
    X, X_test, y, _ = digits
    clf = MLPClassifier((16,), max_iter=5, random_state=0, n_threads=1)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "model_")
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X_test), clf.predict_proba(X_test))
    assert back.loss_curve_ == clf.loss_curve_
    back.partial_fit(X, y)  # the solver's state came along
    assert back.t_ == clf.t_ + len(X)


def test_grid_search_in_worker_processes_and_cross_val_score(digits):
    X, X_test, y, y_test = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(MLPClassifier(max_iter=15, learning_rate_init=0.01, random_state=0),
                              {"hidden_layer_sizes": [(8,), (32,)], "alpha": [1e-4, 1e-2]}, cv=3, n_jobs=2)
        search.fit(X, y)
        scores = cross_val_score(MLPRegressor(hidden_layer_sizes=(16,), max_iter=20, random_state=0), X, y.astype(float), cv=3)
    assert search.best_params_["hidden_layer_sizes"] == (32,)
    assert search.score(X_test, y_test) > 0.9
    assert len(scores) == 3 and np.all(np.isfinite(scores))


def test_pipeline_with_a_column_transformer_on_a_dataframe():
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"size": rng.normal(10, 3, n), "weight": rng.normal(70, 10, n),
                       "colour": rng.choice(["red", "green", "blue"], n)})
    y = np.where((df["size"] > 10) ^ (df["colour"] == "red"), "big", "small")
    pre = ColumnTransformer([("num", StandardScaler(), ["size", "weight"]), ("cat", OneHotEncoder(), ["colour"])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(pre, MLPClassifier((16,), max_iter=300, random_state=0)).fit(df, y)
        plain = MLPRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(df[["size", "weight"]] / 10, df["size"] / 10)
    assert pipe.score(df, y) > 0.9
    assert set(pipe.predict(df.head())) <= {"big", "small"}
    np.testing.assert_array_equal(plain.feature_names_in_, ["size", "weight"])
    with pytest.warns(UserWarning, match="feature names"):
        plain.predict(df[["size", "weight"]].to_numpy())


# ---- bad input ----------------------------------------------------------------------------------

def test_bad_input_is_reported_as_scikit_learn_reports_it(digits):
    X, _, y, _ = digits
    clf = MLPClassifier((8,), max_iter=2)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(np.where(X == X.max(), np.nan, X), y)
    with pytest.raises(ValueError, match="could not convert|numeric"):
        clf.fit(np.full(X.shape, "a"), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, y + 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :10])
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPClassifier((8, 0)).fit(X, y)
    with pytest.raises(ValueError, match="'solver' parameter"):
        MLPClassifier(solver="newton").fit(X, y)
    with pytest.raises(AttributeError, match="has no attribute .partial_fit."):
        MLPClassifier(solver="lbfgs").partial_fit(X, y)


def test_partial_fit_classes(digits):
    X, _, y, _ = digits
    clf = MLPClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))
    assert clf.n_outputs_ == 10 and clf.n_iter_ == 1
    clf.partial_fit(X, y)
    assert clf.t_ == len(X) + np.sum(y < 5)
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X[:5], np.array([0, 1, 2, 3, 11]))
    with pytest.raises(ValueError, match="not the same as on last call"):
        clf.partial_fit(X, y, classes=np.arange(11))


def test_model_threads_and_dtype(digits):
    X, X_test, y, _ = digits
    before = fastnn.get_num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = MLPClassifier((16,), max_iter=3, random_state=0, n_threads=1).fit(X, y)
    assert fastnn.get_num_threads() == before  # restored
    assert isinstance(one.model_, fastnn.Sequential) and one.model_.dtype == np.float32
    assert [c.shape for c in one.coefs_] == [(64, 16), (16, 10)]
    np.testing.assert_allclose(one.model_.predict_proba(X_test), one.predict_proba(X_test))
    assert one.coefs_[0].base is not None  # a view of the model's weights
    one.coefs_ = [np.zeros((64, 16)), np.zeros((16, 10))]
    assert not one.model_.layers[0].weight.any()


def test_perceptron_get_params_set_params_and_clone():
    p = fastnn.Perceptron(2, lr=0.5, weight=[[1.0, -1.0]])
    assert p.get_params() == {"n_inputs": 2, "n_outputs": 1, "lr": 0.5, "weight": [[1.0, -1.0]], "bias": None}
    p.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1])
    c = clone(p)
    np.testing.assert_array_equal(c.weight, [[1.0, -1.0]])  # the initial weights, not the trained ones
    assert p.set_params(n_inputs=3, weight=None) is p
    assert p.weight.shape == (1, 3) and not p.weight.any()
    with pytest.raises(ValueError, match="invalid parameter 'eta'"):
        p.set_params(eta=1.0)
    with pytest.raises(ValueError, match="lr"):
        p.set_params(lr=-1.0)
    assert p.lr == 0.5  # unchanged after a refused value


def test_fastnn_sklearn_without_scikit_learn_says_what_to_install():
    code = "import sys; sys.modules['sklearn'] = None\nimport fastnn.sklearn"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert res.returncode != 0
    assert 'pip install "fastnn-mlp[sklearn]"' in res.stderr
    code = "import sys, fastnn; print('sklearn' in sys.modules); fastnn.sklearn.MLPClassifier; print('sklearn' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.split() == ["False", "True"]  # the lazy name imports it on first use


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_call_adam_with_l2_equals_the_per_layer_path_on_any_thread_count(dtype):
    """scikit-learn's coupled L2 term inside the one-call Adam step: the weights bit for bit those of the
    per-layer path (Adam on g + l2 W, one pass), on 1, 2 and 3 threads; the loss includes the penalty."""
    from fastnn.nn.losses import CrossEntropy
    from fastnn.sklearn._solvers import SklearnAdam
    from fastnn.training.engine import TrainingEngine

    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 20)).astype(dtype)
    y = rng.integers(0, 4, 300).astype(np.int64)
    runs = {}
    for name, threads, one_call in (("t1", 1, True), ("t2", 2, True), ("t3", 3, True), ("layers", 2, False)):
        fastnn.set_num_threads(threads)
        model = fastnn.Sequential([fastnn.Dense(20, 40, "relu"), fastnn.Dense(40, 4, "softmax")], dtype=dtype, seed=0)
        solver = SklearnAdam(0.01, 0.9, 0.999, 1e-8, alpha=0.5)
        engine = TrainingEngine(model, CrossEntropy(), solver)
        engine.one_call = one_call
        losses = []
        for lo in range(0, 300, 60):  # halves of 30 rows: the packed path, as the per-layer kernels
            solver.l2, solver.squared_norm = 0.5 / 60, 0.0
            value, _, _ = engine.step(X[lo:lo + 60], y[lo:lo + 60])
            losses.append(value + 0.5 * 0.5 * solver.squared_norm / 60)
        assert (engine.bound is not None) == one_call and (solver.squared_norm > 0) != one_call
        runs[name] = (model.state_dict(), losses)
    for name in ("t2", "t3", "layers"):
        for key, value in runs["t1"][0].items():
            assert np.array_equal(value, runs[name][0][key]), (name, key)
    for name in ("t2", "t3", "layers"):  # the data loss is summed per half on 2 threads: equal up to rounding
        np.testing.assert_allclose(runs["t1"][1], runs[name][1], rtol=1e-6 if dtype == "float32" else 1e-13)


@pytest.mark.parametrize("kw", [{}, {"solver": "sgd"}, {"solver": "lbfgs", "max_iter": 3}], ids=["adam", "sgd", "lbfgs"])
def test_multiclass_fits_run_on_the_one_call_step(digits, kw, monkeypatch):
    """Every step of a softmax fit runs as fastnn's one-call step: Adam and SGD's momentum with scikit-learn's
    L2 term in it, L-BFGS's gradients through GradientStep (the trajectory tests check the numbers)."""
    from fastnn.training.engine import TrainingEngine

    paths = []
    network_step = TrainingEngine._network_step

    def spy(self, ws):
        step = network_step(self, ws)
        paths.append("per-layer" if step is None else "one-call")
        return step

    monkeypatch.setattr(TrainingEngine, "_network_step", spy)
    X, _, y, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier((16,), **{"max_iter": 1, **kw}).fit(X, y)
    assert set(paths) == {"one-call"}
    if kw.get("solver") != "lbfgs":  # the epoch's check whether its steps can go several to a call, one call
        assert len(X) // 200 == 6 and len(paths) == 3  # for its 6 full batches of 200, one for the last rows
        assert est.n_iter_ == 1


# momentum 0 with a penalty runs step by step (GradientStep): not here
@pytest.mark.parametrize("solver,alpha", [(s, a) for s in ("adam", "sgd", "sgd_plain", "sgd_heavy_ball")
                                          for a in (0.0, 1e-3) if not (s == "sgd_plain" and a)])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fits_running_full_batches_several_to_a_call_equal_single_steps(digits, dtype, shuffle, alpha, solver,
                                                                        monkeypatch):
    """The full batches of an Adam or SGD epoch run several to a call into C (calls of 2 steps here;
    the 1,257 rows leave a last batch of 57 alone): the same weights and loss curve as step by step.
    (SGD: Nesterov's momentum, the default; plain, momentum 0; momentum without Nesterov.)"""
    from fastnn.training import engine

    X, _, y, _ = digits
    kw = {"hidden_layer_sizes": (16,), "max_iter": 3, "batch_size": 100, "alpha": alpha, "shuffle": shuffle,
          "random_state": 0, "dtype": dtype, "solver": solver.split("_")[0], "learning_rate_init": 0.01,
          **{"sgd_plain": {"momentum": 0.0}, "sgd_heavy_ball": {"nesterovs_momentum": False}}.get(solver, {})}
    fits = []
    for grouped in (True, False):
        calls: list[int] = []

        def counted(self, *args, calls=calls, run_steps=engine.TrainingEngine.run_steps):
            calls.append(args[4])  # the call's step count
            return run_steps(self, *args)

        monkeypatch.setattr(engine.TrainingEngine, "run_steps", counted)
        monkeypatch.setattr(engine, "STEP_CALL_WORK", 2 * 100 * (64 * 16 + 16 * 10))
        if not grouped:
            monkeypatch.setattr(engine.TrainingEngine, "runs_steps_in_one_call", lambda self, batch_size: False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append((MLPClassifier(**kw).fit(X, y), calls))
    (a, calls_a), (b, calls_b) = fits
    assert calls_a == [2] * 18 and calls_b == []  # 12 full batches an epoch, 3 epochs
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert np.array_equal(wa, wb)
    assert a.loss_curve_ == b.loss_curve_


def test_float64_input_to_a_float32_model_is_converted_by_fastnn_as_numpy_converts_it(digits):
    """float64 X passes scikit-learn's validation unconverted and fastnn casts it on its threads: the same
    fit as on X.astype(float32), in C or Fortran order; a value beyond float32's range is refused."""
    X, X_test, y, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = [MLPClassifier((8,), max_iter=3, random_state=0).fit(A, y)
                for A in (X, X.astype(np.float32), np.asfortranarray(X))]
    for est in fits[1:]:
        for a, b in zip(fits[0].coefs_ + fits[0].intercepts_, est.coefs_ + est.intercepts_):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fits[0].predict_proba(X_test), fits[1].predict_proba(X_test.astype(np.float32)))
    for A in (X.copy(), np.asfortranarray(X)):
        A[3, 5] = 1e39
        with pytest.raises(ValueError, match=r"too large for dtype\('float32'\)"):
            MLPClassifier((8,), max_iter=3).fit(A, y)
        with pytest.raises(ValueError, match=r"too large for dtype\('float32'\)"):
            fits[0].predict(A)
