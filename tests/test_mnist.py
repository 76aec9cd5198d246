"""train_mnist end to end: the full files (in $FASTNN_DATA, else in
../shared/data/mnist beside the repository), the offline fallback to the
shipped sample, the augmentation, the returned MNISTRun and argument checks,
and the command line."""

import dataclasses
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from mnist_files import FULL_MNIST, MNIST_NAMES, NO_FULL_MNIST, find_full_mnist

import fastnn
from fastnn import datasets, reference
from fastnn.course.mnist import MNISTRun, evaluate_test_set
from fastnn.datasets import RandomShift


def test_full_files_are_looked_for_in_fastnn_data_first(tmp_path):
    beside = tmp_path / "shared"
    data = tmp_path / "data"
    for folder in (beside, data):
        folder.mkdir()
        for name in MNIST_NAMES:
            (folder / name).touch()
    assert find_full_mnist({"FASTNN_DATA": str(data)}, beside) == (data, "")
    assert find_full_mnist({}, beside) == (beside, "")
    (beside / MNIST_NAMES[0]).unlink()
    folder, reason = find_full_mnist({"FASTNN_DATA": str(tmp_path / "nowhere")}, beside)
    assert folder is None
    assert str(tmp_path / "nowhere") in reason and str(beside) in reason and "set FASTNN_DATA" in reason
    assert all(name in reason for name in MNIST_NAMES)
    assert "$FASTNN_DATA is not set" in find_full_mnist({}, beside)[1]


@pytest.mark.skipif(FULL_MNIST is None, reason=NO_FULL_MNIST)
def test_short_run_on_full_files_reaches_95_percent(capsys):
    run = fastnn.train_mnist(epochs=3, augment=False, data_home=FULL_MNIST, download=False, verbose=1)
    history, report = run.history, run.report
    assert run.data_source == "full"
    assert report.n_samples == 10000
    assert report.accuracy >= 0.95, report
    assert len(history["val_accuracy"]) == 3
    # the report is consistent with the model's own predictions
    d = datasets.load_mnist(FULL_MNIST, download=False)
    assert report.confusion_matrix.sum() == 10000
    assert np.array_equal(report.confusion_matrix.sum(axis=1), np.bincount(d.y_test, minlength=10))
    out = capsys.readouterr().out
    assert "epoch 3/3" in out and "test accuracy" in out and "confusion matrix" in out
    # peak memory reported: at least the training images as float32 (55000 x 784 x 4 bytes)
    assert run.peak_memory_bytes >= 55000 * 784 * 4
    assert f"peak memory (RSS) of this process {run.peak_memory_bytes / 2**20:.0f} MiB" in out


def test_offline_fallback_trains_on_the_sample(tmp_path, capfd):
    # an empty cache and a mirror that refuses connections: nothing on the internet is touched
    with pytest.warns(datasets.MNISTSampleWarning) as caught:
        run = fastnn.train_mnist(epochs=1, data_home=tmp_path, mirrors=["http://127.0.0.1:9/"], verbose=0,
                                 augment=False)
    assert run.data_source == "sample"
    assert len(caught) == 1  # one notice, and at verbose=0 nothing printed (from Python or C)
    notice = str(caught[0].message)
    assert "sample" in notice and "127.0.0.1:9" in notice and "FASTNN_DATA" in notice  # why, and how to get more
    assert len(notice.splitlines()) == 2
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert run.report.n_samples == 2000
    assert run.report.accuracy > 0.5  # one epoch on 7,300 images: far above chance (0.1)
    assert isinstance(run, MNISTRun) and run.seconds > 0 and isinstance(run.history, fastnn.History)
    assert not any(p.suffix == ".gz" for p in tmp_path.iterdir())  # no bad file left in the cache


def test_offline_fallback_notice_is_printed_once_at_verbose_1(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning escapes: the notice is printed instead
        run = fastnn.train_mnist(epochs=1, data_home=tmp_path, mirrors=["http://127.0.0.1:9/"], verbose=1,
                                 augment=False, hidden=(8,))
    assert run.data_source == "sample"
    out, err = capsys.readouterr()
    assert out.count("using the MNIST sample shipped with fastnn (8000 training, 2000 test images)") == 1
    assert "127.0.0.1:9" in out  # why: the mirror tried
    # stderr has the download attempt (progress), not the error's block again
    assert "every mirror failed" not in err and "MNISTDownloadError" not in err and "sample" not in err


def test_random_shift_moves_images_and_fills_border():
    rng = np.random.default_rng(0)
    X = np.zeros((50, 784), dtype=np.float32)
    X.reshape(50, 28, 28)[:, 10:18, 10:18] = 1.0  # a square away from the border
    out = np.empty_like(X)
    RandomShift(2, fill=-0.5)(X, out, rng)
    imgs = out.reshape(50, 28, 28)
    moved = 0
    for img in imgs:
        rows, cols = np.nonzero(img == 1.0)
        assert rows.size == 64  # the square survives whole
        dy, dx = rows.min() - 10, cols.min() - 10
        assert abs(dy) <= 2 and abs(dx) <= 2
        moved += (dy, dx) != (0, 0)
        assert np.all((img == 1.0) | (img == -0.5) | (img == 0.0))
    assert moved > 30  # 24 of 25 shifts move the image
    # the uncovered border gets the fill value
    assert np.any(imgs == -0.5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_random_shift_is_the_shift_kernel_on_its_generators_draws(dtype):
    X = np.random.default_rng(3).integers(0, 256, (40, 784)).astype(dtype)
    out = np.empty_like(X)
    RandomShift(2, fill=7)(X, out, np.random.default_rng(11))
    draws = np.random.default_rng(11)
    dy, dx = draws.integers(-2, 3, size=40), draws.integers(-2, 3, size=40)
    np.testing.assert_array_equal(out, reference.shift_images(X, dy, dx, (28, 28), 7).astype(dtype))


@pytest.mark.parametrize("bad,err", [((28,), ValueError), ((28, 28, 1), ValueError), ((0, 28), ValueError),
                                     (("a", 28), TypeError), (28, TypeError)])
def test_random_shift_refuses_a_bad_image_shape(bad, err):
    with pytest.raises(err, match="image_shape"):
        RandomShift(2, image_shape=bad)


def test_evaluate_test_set_matches_numpy():
    rng = np.random.default_rng(1)
    model = fastnn.Sequential([fastnn.Dense(5, 3, "softmax")], dtype="float64", seed=0)
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)
    rep = evaluate_test_set(model, X, y)
    pred = np.argmax(X @ model[0].weight.T + model[0].bias, axis=1)
    assert rep.accuracy == pytest.approx(np.mean(pred == y))
    for k in range(3):
        assert rep.confusion_matrix[k].sum() == np.sum(y == k)
        assert rep.confusion_matrix[k, k] == np.sum((y == k) & (pred == k))


def test_command_line_train_mnist_on_sample(tmp_path):
    env_cmd = [sys.executable, "-m", "fastnn", "train-mnist", "--epochs", "1", "--batch-size", "64",
               "--data-home", str(tmp_path), "--no-augment", "--quiet", "--save", str(tmp_path / "m.fnn")]
    env = {"FASTNN_MNIST_MIRROR": "http://127.0.0.1:9/", "PATH": "/usr/bin:/bin"}

    env = {**os.environ, **env}
    res = subprocess.run(env_cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    assert "test accuracy" in res.stdout
    model = fastnn.load(tmp_path / "m.fnn")
    assert [layer.out_features for layer in model.layers] == [64, 128, 512, 10]


def test_command_line_explain_prints_the_notes_numbers():
    res = subprocess.run([sys.executable, "-m", "fastnn", "explain", "notes004_2_2_2"], capture_output=True,
                         text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert "0.35891648" in res.stdout  # w5 after one step, as in the notes
    assert "0.298371109" in res.stdout  # E_total
    bad = subprocess.run([sys.executable, "-m", "fastnn", "explain", "nope"], capture_output=True, text=True,
                         check=False)
    assert bad.returncode != 0 and "unknown example" in bad.stderr


def test_mnist_run_is_read_by_attribute_not_unpacked():
    model = fastnn.Sequential([fastnn.Dense(784, 10, "softmax")])
    report = evaluate_test_set(model, np.zeros((3, 784), np.float32), np.array([0, 1, 2]))
    run = MNISTRun(model, fastnn.History(), report, "sample", 1.5, None)
    assert run.report is report and run.data_source == "sample" and run.seconds == 1.5
    assert [f.name for f in dataclasses.fields(run)] == ["model", "history", "report", "data_source", "seconds",
                                                         "peak_memory_bytes"]
    with pytest.raises(TypeError, match=r"not a tuple.*run\.model, run\.history, run\.report"):
        _model, _history, _report = run  # the old README's idiom
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.seconds = 2.0


@pytest.mark.parametrize("kwargs,error,name", [
    ({"epochs": 1.5}, TypeError, "epochs"), ({"epochs": -1}, ValueError, "epochs"),
    ({"batch_size": "64"}, TypeError, "batch_size"), ({"batch_size": 0}, ValueError, "batch_size"),
    ({"optimizer": 3}, TypeError, "optimizer"), ({"optimizer": "rmsprop"}, ValueError, "optimizer"),
    ({"lr": "0.1"}, TypeError, "lr"), ({"lr": 0.0}, ValueError, "lr"),
    ({"hidden": "64"}, TypeError, "hidden"), ({"hidden": (64, 0)}, ValueError, "hidden"),
    ({"hidden": (64.0,)}, TypeError, "hidden"), ({"activation": None}, TypeError, "activation"),
    ({"activation": "relu6"}, ValueError, "activation"), ({"dtype": "int8"}, ValueError, "dtype"),
    ({"seed": "a"}, TypeError, "seed"), ({"verbose": 3}, ValueError, "verbose"),
    ({"scaling": "zscore"}, ValueError, "scaling"), ({"augment": 1}, TypeError, "augment"),
    ({"max_shift": 1.5}, TypeError, "max_shift"), ({"val_fraction": 1.0}, ValueError, "val_fraction"),
    ({"weight_decay": -0.1}, ValueError, "weight_decay"), ({"download": "no"}, TypeError, "download"),
    ({"data_home": 3}, TypeError, "data_home"), ({"mirrors": 3}, TypeError, "mirrors"),
])
def test_train_mnist_checks_its_arguments_before_loading_data(tmp_path, kwargs, error, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback notice: nothing was loaded
        with pytest.raises(error, match=rf"\b{name}\b"):
            fastnn.train_mnist(**{"data_home": tmp_path, "mirrors": ["http://127.0.0.1:9/"], **kwargs})
    assert list(tmp_path.iterdir()) == []


def test_train_mnist_accepts_an_optimizer_object(tmp_path):
    opt = fastnn.SGD(lr=0.05)
    with pytest.warns(datasets.MNISTSampleWarning):
        run = fastnn.train_mnist(epochs=1, optimizer=opt, hidden=(8,), data_home=tmp_path,
                                 mirrors=["http://127.0.0.1:9/"], verbose=0, augment=False)
    assert run.report.n_samples == 2000 and run.model.n_outputs == 10
