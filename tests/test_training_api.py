"""What a user meets around training: losses and optimizers by name, the
loss a model was trained with, logits classifiers, parameters by name,
verbosity, the fit state, CSVLogger, and the pictures (History.plot,
plot_confusion_matrix)."""

import csv
import math

import numpy as np
import pytest

import fastnn
from fastnn import reference as R
from fastnn.nn.metrics import confusion_matrix


def _binary_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.float64)


def _model(out_act, n_out=1, seed=0):
    return fastnn.Sequential([fastnn.Dense(3, 6, "tanh"), fastnn.Dense(6, n_out, out_act)], dtype="float64",
                             seed=seed)


def _bce(p, y):
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_evaluate_of_a_sigmoid_output_applies_the_sigmoid_once():
    X, y = _binary_data()
    model = _model("sigmoid")
    p = model.forward(X)[:, 0]
    ev = model.evaluate(X, y)  # binary cross-entropy by default for a sigmoid output
    assert math.isclose(ev["loss"], _bce(p, y), rel_tol=1e-12)
    assert ev["accuracy"] == np.mean((p >= 0.5) == y)


def test_the_trainer_records_its_loss_on_the_model_and_evaluate_uses_it(tmp_path):
    X, y = _binary_data()
    model = _model("identity")
    assert model.loss is None and not model.is_classifier
    fastnn.Trainer(model, "binary_cross_entropy", "adam", batch_size=16).fit(X, y, epochs=2, verbose=0)
    assert model.loss.name == "binary_cross_entropy"
    assert "loss='binary_cross_entropy'" in repr(model)
    z = model.forward(X)[:, 0]  # logits
    p = 0.5 * (1 + np.tanh(z / 2))
    ev = model.evaluate(X, y)
    assert math.isclose(ev["loss"], _bce(p, y), rel_tol=1e-12)
    assert ev["accuracy"] == np.mean((z >= 0) == y)
    # the half squared error of the logits would be something else entirely
    assert not math.isclose(model.evaluate(X, y, loss="half_squared_error")["loss"], ev["loss"], rel_tol=0.1)
    model.save(tmp_path / "m.fnn")
    loaded = fastnn.load(tmp_path / "m.fnn")
    assert loaded.loss.name == "binary_cross_entropy"
    assert loaded.evaluate(X, y) == ev


def test_a_logits_output_trained_as_a_classifier_predicts_labels_and_probabilities():
    X, y = _binary_data()
    model = _model("identity")
    history = fastnn.Trainer(model, "binary_cross_entropy", fastnn.Adam(0.05), batch_size=16).fit(
        X, y, epochs=5, validation_split=0.25, verbose=0)
    assert "accuracy" in history and "val_accuracy" in history
    assert history["accuracy"][-1] > 0.7
    z = model.forward(X)[:, 0]
    assert np.array_equal(model.predict(X), (z >= 0).astype(np.int64))
    P = model.predict_proba(X)
    assert np.allclose(P[:, 1], 0.5 * (1 + np.tanh(z / 2)), rtol=1e-14) and np.allclose(P.sum(axis=1), 1)

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 64)
    multi = _model("identity", n_out=3)
    fastnn.Trainer(multi, "cross_entropy", "sgd", batch_size=16).step(X, labels)
    Z = multi.forward(X)
    assert np.array_equal(multi.predict(X), np.argmax(Z, axis=1))
    assert np.allclose(multi.predict_proba(X), R.softmax(Z), rtol=1e-12)


def test_a_regressor_has_no_probabilities():
    model = _model("identity")
    fastnn.Trainer(model, "mse").step(*_binary_data())
    with pytest.raises(ValueError, match="predict_proba needs"):
        model.predict_proba(np.zeros((2, 3)))


@pytest.mark.parametrize("name, cls", [("sgd", fastnn.SGD), ("adam", fastnn.Adam)])
def test_optimizers_by_name_are_the_default_objects(name, cls):
    X, y = _binary_data()
    runs = []
    for optimizer in (name, cls()):
        model = _model("sigmoid")
        trainer = fastnn.Trainer(model, "binary_cross_entropy", optimizer, batch_size=8)
        assert type(trainer.optimizer) is cls
        trainer.fit(X, y, epochs=2, seed=0, verbose=0)
        runs.append(model.state_dict())
    for key in runs[0]:
        assert np.array_equal(runs[0][key], runs[1][key]), key


def test_unknown_loss_and_optimizer_names_say_what_is_known():
    model = _model("sigmoid")
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'.*'sgd', 'adam'"):
        fastnn.Trainer(model, "binary_cross_entropy", "rmsprop")
    with pytest.raises(TypeError, match="optimizer must be"):
        fastnn.Trainer(model, "binary_cross_entropy", fastnn.Adam)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        fastnn.Trainer(model, "hinge")
    with pytest.raises(TypeError, match="loss must be"):
        fastnn.Trainer(model, 3)


def test_named_parameters_and_parameters():
    model = _model("sigmoid")
    named = model.named_parameters()
    assert [k for k, _ in named] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert all(a is b for (_, a), b in zip(named, model.parameters()))
    assert named[0][1] is model.layers[0].weight  # live arrays


def test_verbosity_levels(capsys):
    X, y = _binary_data()
    for verbose in (0, 1, 2):
        fastnn.Trainer(_model("sigmoid"), "binary_cross_entropy", batch_size=16).fit(X, y, epochs=2,
                                                                                     verbose=verbose)
        out, err = capsys.readouterr()
        lines = [line for line in out.splitlines() if line.startswith("epoch ")]
        assert len(lines) == (0 if verbose == 0 else 2)
        assert ("4/4" in err) == (verbose == 1)  # the bars, on stderr
        if verbose == 0:
            assert out == "" and err == ""
    with pytest.raises(ValueError, match="verbose must be in 0..2"):
        fastnn.Trainer(_model("sigmoid"), "binary_cross_entropy").fit(X, y, verbose=3)


def test_callbacks_see_the_fit_state():
    X, y = _binary_data()
    seen = []

    class Watch(fastnn.Callback):
        def on_batch_end(self, trainer, step, logs):
            state = trainer.fit_state
            seen.append((state.epoch, state.at_epoch_end, state.totals.seen))

        def on_epoch_end(self, trainer, epoch, logs):
            seen.append(("end", trainer.fit_state.epoch, trainer.fit_state.at_epoch_end))

    trainer = fastnn.Trainer(_model("sigmoid"), "binary_cross_entropy", batch_size=32)
    trainer.fit(X, y, epochs=2, callbacks=[Watch()], verbose=0)
    assert seen == [(0, False, 32), (0, False, 64), ("end", 1, True),
                    (1, False, 32), (1, False, 64), ("end", 2, True)]
    assert trainer.fit_state.steps_per_epoch == 2 and trainer.fit_state.n_samples == 64


def test_csv_logger_writes_a_row_per_epoch_and_appends_on_resume(tmp_path):
    X, y = _binary_data()
    path = tmp_path / "log.csv"
    trainer = fastnn.Trainer(_model("sigmoid"), "binary_cross_entropy", batch_size=16)
    history = trainer.fit(X, y, epochs=3, validation_split=0.25, callbacks=[fastnn.CSVLogger(path)],
                          verbose=0, seed=0)
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
    assert [int(r[0]) for r in rows[1:]] == [1, 2, 3]
    assert [float(r[1]) for r in rows[1:]] == history["loss"]  # repr of a float round-trips
    assert [float(r[4]) for r in rows[1:]] == history["val_accuracy"]
    trainer.fit(X, y, epochs=1, validation_split=0.25, callbacks=[fastnn.CSVLogger(path, append=True)], verbose=0)
    assert len(list(csv.reader(path.open()))) == 5  # one more row, no second header
    trainer.fit(X, y, epochs=1, callbacks=[fastnn.CSVLogger(path, separator=";")], verbose=0)
    assert path.read_text().splitlines()[0] == "epoch;loss;accuracy;seconds"  # started afresh
    with pytest.raises(TypeError, match="path must be a path"):
        fastnn.CSVLogger(3)
    with pytest.raises(TypeError, match="append must be True or False"):
        fastnn.CSVLogger(path, append="yes")


def test_confusion_matrix_counts_and_refuses_bad_labels():
    cm = fastnn.confusion_matrix([0, 1, 2, 2, 1], [0, 2, 2, 2, 1])
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 2]]
    assert confusion_matrix([1], [1], n_classes=4).shape == (4, 4)
    with pytest.raises(ValueError, match="y_true has 2 labels but y_pred has 1"):
        confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        confusion_matrix([0, 2], [0, 1], n_classes=2)
    with pytest.raises(TypeError, match="y_pred must hold real numbers"):
        confusion_matrix([0], ["a"])


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_history_plot_and_confusion_matrix_pictures(tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install \"fastnn-mlp[plot]\")")
    X, y = _binary_data()
    model = _model("sigmoid")
    history = fastnn.Trainer(model, "binary_cross_entropy", batch_size=16).fit(X, y, epochs=3,
                                                                               validation_split=0.25, verbose=0)
    fig = history.plot(tmp_path / "sub" / "curves.png", dpi=50)
    assert _png_size(tmp_path / "sub" / "curves.png") == (500, 180)  # two panels of 5 x 3.6 inches
    axes = fig.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["loss", "accuracy"]
    assert [line.get_label() for line in axes[0].get_lines()] == ["training loss", "validation loss"]
    assert list(axes[1].get_lines()[1].get_ydata()) == history["val_accuracy"]

    fig = fastnn.plot_confusion_matrix(y.astype(int), model.predict(X), tmp_path / "cm.png",
                                       labels=["no", "yes"], normalize=True)
    assert (tmp_path / "cm.png").stat().st_size > 0
    texts = [t.get_text() for t in fig.get_axes()[0].texts]
    cm = confusion_matrix(y.astype(int), model.predict(X), 2)
    assert texts == [f"{v:.2f}" for v in (cm / cm.sum(axis=1, keepdims=True)).ravel()]
    with pytest.raises(ValueError, match="no epoch"):
        fastnn.History().plot()


def test_pictures_without_matplotlib_say_what_to_install(monkeypatch):
    import fastnn._optional as optional

    plot_confusion_matrix = fastnn.plot_confusion_matrix  # now: fastnn's lazy loader uses import_module too

    def missing(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(optional.importlib, "import_module", missing)
    with pytest.raises(ImportError, match=r'plot_confusion_matrix needs matplotlib: pip install "fastnn-mlp\[plot\]"'):
        plot_confusion_matrix([0, 1], [0, 1])
