"""train_mnist end to end: the full files (when ../shared/data/mnist is
there), the offline fallback to the shipped sample, the augmentation, and
the command line."""

import subprocess
import sys
from pathlib import Path

import warnings

import numpy as np
import pytest

import fastnn
from fastnn import datasets
from fastnn.course.mnist import evaluate_test_set
from fastnn.datasets import RandomShift

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
HAVE_FULL = all((SHARED_MNIST / f).is_file() for f in (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"))


@pytest.mark.skipif(not HAVE_FULL, reason=f"full MNIST files not found in {SHARED_MNIST}")
def test_short_run_on_full_files_reaches_95_percent(capsys):
    run = fastnn.train_mnist(epochs=3, augment=False, data_home=SHARED_MNIST, download=False, verbose=1)
    history, report = run.history, run.report
    assert run.data_source == "full"
    assert report.n_samples == 10000
    assert report.accuracy >= 0.95, report
    assert len(history["val_accuracy"]) == 3
    # the report is consistent with the model's own predictions
    d = datasets.load_mnist(SHARED_MNIST, download=False)
    assert report.confusion_matrix.sum() == 10000
    assert np.array_equal(report.confusion_matrix.sum(axis=1), np.bincount(d.y_test, minlength=10))
    out = capsys.readouterr().out
    assert "epoch 3/3" in out and "test accuracy" in out and "confusion matrix" in out
    # peak memory reported: at least the training images as float32 (55000 x 784 x 4 bytes)
    assert run.peak_memory_bytes >= 55000 * 784 * 4
    assert f"peak memory (RSS) of this process {run.peak_memory_bytes / 2**20:.0f} MiB" in out


def test_offline_fallback_trains_on_the_sample(tmp_path, capsys):
    # an empty cache and a mirror that refuses connections: nothing on the internet is touched
    with pytest.warns(datasets.MNISTSampleWarning) as caught:
        run = fastnn.train_mnist(epochs=1, data_home=tmp_path, mirrors=["http://127.0.0.1:9/"], verbose=0,
                                 augment=False)
    assert run.data_source == "sample"
    assert len(caught) == 1  # one notice, and at verbose=0 nothing printed
    notice = str(caught[0].message)
    assert "sample" in notice and "127.0.0.1:9" in notice and "FASTNN_DATA" in notice  # why, and how to get more
    assert len(notice.splitlines()) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    assert run.report.n_samples == 2000
    assert run.report.accuracy > 0.5  # one epoch on 7,300 images: far above chance (0.1)
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
    import os

    env = {**os.environ, **env}
    res = subprocess.run(env_cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "test accuracy" in res.stdout
    model = fastnn.load(tmp_path / "m.fnn")
    assert [layer.out_features for layer in model.layers] == [64, 128, 512, 10]


def test_command_line_explain_prints_the_notes_numbers():
    res = subprocess.run([sys.executable, "-m", "fastnn", "explain", "notes004_2_2_2"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "0.35891648" in res.stdout  # w5 after one step, as in the notes
    assert "0.298371109" in res.stdout  # E_total
    bad = subprocess.run([sys.executable, "-m", "fastnn", "explain", "nope"], capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown example" in bad.stderr
