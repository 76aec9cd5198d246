"""Python threads using fastnn at once: concurrent predict on one model,
and training one model while another predicts."""

import threading

import numpy as np

import fastnn


def _model(seed=0):
    return fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 128), fastnn.Dense(128, 512),
                              fastnn.Dense(512, 10, "softmax")], seed=seed)


def _run_threads(targets):
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)


def test_four_threads_predicting_on_one_model_agree_with_serial_calls():
    model = _model()
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((n, 784)).astype(np.float32) for n in (1, 7, 130, 600)]
    expected = [model.forward(X) for X in batches]
    results = {}

    def worker(i):
        def run():
            out = []
            for _ in range(15):
                for X in batches:
                    out.append(model.forward(X))
            results[i] = out
        return run

    _run_threads([worker(i) for i in range(4)])
    for i in range(4):
        for j, got in enumerate(results[i]):
            assert np.array_equal(got, expected[j % len(batches)]), (i, j)


def test_training_one_model_while_another_predicts():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((512, 784)).astype(np.float32)
    y = rng.integers(0, 10, 512)
    trained, serving = _model(1), _model(2)
    reference = _model(1)
    Xp = rng.standard_normal((64, 784)).astype(np.float32)
    expected = serving.forward(Xp)
    outputs = []

    def train():
        fastnn.Trainer(trained, "cross_entropy", fastnn.SGD(0.1), batch_size=64).fit(X, y, epochs=3, seed=0,
                                                                                    verbose=0)

    def predict():
        for _ in range(50):
            outputs.append(serving.forward(Xp))

    _run_threads([train, predict])
    assert all(np.array_equal(o, expected) for o in outputs)
    # the concurrently trained model equals one trained alone
    fastnn.Trainer(reference, "cross_entropy", fastnn.SGD(0.1), batch_size=64).fit(X, y, epochs=3, seed=0,
                                                                                  verbose=0)
    for (k, a), (_, b) in zip(trained.parameters(), reference.parameters()):
        assert np.array_equal(a, b), k
