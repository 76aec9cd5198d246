"""fastnn inside another program: with ``verbose=0`` (and the functions
that print only when asked, at their defaults) nothing is written to
stdout or stderr, from Python or from C, and no warning is given.

The other parts of the promise are tested beside the code they concern:
``import fastnn`` (prints nothing, starts no thread, installs no signal
handler, loads only the core) in tests/test_layout.py; the fit's Ctrl-C
handler (only during the call, only in the main thread) in
tests/test_interrupts.py; a quiet ``load_mnist`` download in
tests/test_datasets.py; ``train_mnist(verbose=0)`` offline in
tests/test_mnist.py; the distribution's name in tests/test_distribution.py.
"""

import warnings

import numpy as np
import pytest

import fastnn


def _data(n=96):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 16))
    y = (X[:, :3].sum(axis=1) > 0).astype(np.int64) + (X[:, 3] > 0.5)
    return X, y


@pytest.fixture
def silent(capfd):
    """Fails the test if anything reaches file descriptor 1 or 2, or any warning is given."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_training_with_verbose_0_writes_nothing(silent, tmp_path):
    X, y = _data()
    model = fastnn.Sequential([fastnn.Dense(16, 12, "relu"), fastnn.Dense(12, 3, "identity")], seed=0)
    trainer = fastnn.Trainer(model, "cross_entropy", fastnn.Adam(lr=0.01, schedule=fastnn.OneCycleLR()),
                             batch_size=8)
    history = trainer.fit(X, y, epochs=4, validation_split=0.25, seed=0, verbose=0,
                          callbacks=[fastnn.ModelCheckpoint(tmp_path / "run.ckpt"),
                                     fastnn.CSVLogger(tmp_path / "log.csv")],
                          early_stopping=fastnn.EarlyStopping(patience=1, restore_best_weights=True))
    trainer.fit(X, y, epochs=len(history) + 1, validation_split=0.25, seed=0, verbose=0,
                resume_from=tmp_path / "run.ckpt")
    assert (tmp_path / "log.csv").read_text().startswith("epoch,")
    model.evaluate(X, y)
    model.predict_proba(X)
    model.save(tmp_path / "model.fnn")
    fastnn.load(tmp_path / "model.fnn").predict(X)
    fastnn.set_num_threads(1)
    model.predict(X)


def test_the_course_companion_is_quiet_unless_asked(silent):
    net = fastnn.Sequential([fastnn.Dense(2, 2, "sigmoid"), fastnn.Dense(2, 2, "sigmoid")], dtype="float64", seed=0)
    fastnn.explain(net, [0.05, 0.10], [0.01, 0.99], loss="half_squared_error", lr=0.5)  # verbose=False
    fastnn.Perceptron(2).fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1])
    fastnn.datasets.load_mnist_sample(flatten=True)


def test_verbose_1_and_2_do_print(capfd):
    """The counterpart, so that the tests above would see output if there were any."""
    X, y = _data()
    model = fastnn.Sequential([fastnn.Dense(16, 3, "identity")], seed=0)
    trainer = fastnn.Trainer(model, "cross_entropy", batch_size=32)
    trainer.fit(X, y, epochs=1, verbose=2)
    assert capfd.readouterr().out.startswith("epoch 1/1")
    trainer.fit(X, y, epochs=1, verbose=1)
    out, err = capfd.readouterr()
    assert "epoch 1/1" in out and "epoch 1/1" in err  # the line, and tqdm's bar on stderr
