"""Trainer, optimizers and schedules: step-by-step agreement with
fastnn.reference, XOR and the perceptron, histories, determinism, NaN,
Ctrl-C, early stopping and callbacks."""

import math
import signal

import numpy as np
import pytest

import fastnn
from fastnn import reference as R


def _data(seed=0, n=24, d=5, k=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, k, n)


def _net(acts=("tanh", "softmax"), sizes=(5, 7, 4), bias=(True, True), seed=1, trainable=(True, True)):
    layers = [fastnn.Dense(sizes[i], sizes[i + 1], acts[i], bias[i], trainable=trainable[i])
              for i in range(len(acts))]
    return fastnn.Sequential(layers, dtype="float64", seed=seed)


def _reference_params(model):
    ws = [layer.weight.copy() for layer in model.layers]
    bs = []
    for layer in model.layers:
        if layer.bias is None:
            bs.append(None)
        elif layer.bias_mode == "shared":
            bs.append(float(layer.bias[0]))
        else:
            bs.append(layer.bias.copy())
    return ws, bs


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


OPTIMIZERS = [
    ("sgd", lambda: fastnn.SGD(lr=0.2), {"momentum": 0.0, "nesterov": False, "weight_decay": 0.0}),
    ("momentum", lambda: fastnn.SGD(lr=0.1, momentum=0.9), {"momentum": 0.9, "nesterov": False, "weight_decay": 0.0}),
    ("nesterov_wd", lambda: fastnn.SGD(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
     {"momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("adam", lambda: fastnn.Adam(lr=0.01), {"weight_decay": 0.0}),
    ("adamw", lambda: fastnn.Adam(lr=0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.05),
     {"betas": (0.8, 0.99), "eps": 1e-7, "weight_decay": 0.05}),
]

CASES = [
    # (name, activations, sizes, loss, bias modes)
    ("softmax_ce", ("tanh", "softmax"), (5, 7, 4), "cross_entropy", (True, True)),
    ("sigmoid_hse_shared", ("sigmoid", "sigmoid", "sigmoid"), (5, 6, 3, 2), "half_squared_error",
     ("shared", True, "shared")),
    ("relu_mse_nobias", ("relu", "identity"), (5, 8, 3), "mse", (False, True)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_trainer_matches_reference_for_100_steps(case, opt):
    _name, acts, sizes, loss, bias = case
    opt_name, make_opt, kw = opt
    rng = np.random.default_rng(3)
    n = 16
    X = rng.standard_normal((n, sizes[0]))
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], n)
    else:
        y = rng.uniform(0.1, 0.9, (n, sizes[-1]))
    model = _net(acts, sizes, bias, seed=5, trainable=(True,) * len(acts))
    ws, bs = _reference_params(model)
    optimizer = make_opt()
    trainer = fastnn.Trainer(model, loss, optimizer, batch_size=n)
    lr = optimizer.lr
    vel = {}
    for t in range(1, 101):
        value = trainer.step(X, y)
        ref_loss, dWs, dbs = R.network_gradients(ws, bs, acts, X, y, loss)
        assert value == pytest.approx(ref_loss, rel=1e-10)
        params = [("w", i) for i in range(len(ws))] + [("b", i) for i in range(len(bs)) if bs[i] is not None]
        for kind, i in params:
            p = ws[i] if kind == "w" else np.asarray(bs[i], float)
            g = dWs[i] if kind == "w" else np.asarray(dbs[i], float)
            st = vel.setdefault((kind, i), [np.zeros_like(p), np.zeros_like(p)])
            if opt_name.startswith("adam"):
                new, st[0], st[1] = R.adam_step(p, g, st[0], st[1], t, lr, **kw)
            else:
                new, st[0] = R.sgd_step(p, g, st[0], lr, **kw)
            if kind == "w":
                ws[i] = new
            else:
                bs[i] = float(new) if np.ndim(bs[i]) == 0 else new
        for i, layer in enumerate(model.layers):
            assert _rel(layer.weight, ws[i]) <= 1e-10, (t, i, "weight")
            if bs[i] is not None:
                assert _rel(layer.bias, np.atleast_1d(bs[i])) <= 1e-10, (t, i, "bias")


def test_per_layer_learning_rates_frozen_layers_and_frozen_bias():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((12, 4))
    y = rng.uniform(0.1, 0.9, (12, 2))
    layers = [fastnn.Dense(4, 5, "sigmoid", trainable=False),
              fastnn.Dense(5, 3, "tanh", trainable=("weight",)),
              fastnn.Dense(3, 2, "sigmoid", bias="shared")]
    model = fastnn.Sequential(layers, dtype="float64", seed=2)
    ws, bs = _reference_params(model)
    frozen = [layers[0].weight.copy(), layers[0].bias.copy(), layers[1].bias.copy()]
    lrs = [0.3, 1.0, 0.5]  # the notes use per-layer rates (1 hidden, 0.5 output)
    trainer = fastnn.Trainer(model, "half_squared_error", fastnn.SGD(lr=0.3, layer_lrs=[None, 1.0, 0.5]),
                             batch_size=12)
    for _ in range(100):
        trainer.step(X, y)
        _, dWs, dbs = R.network_gradients(ws, bs, ["sigmoid", "tanh", "sigmoid"], X, y, "half_squared_error")
        ws[1] = ws[1] - lrs[1] * dWs[1]
        ws[2] = ws[2] - lrs[2] * dWs[2]
        bs[2] = bs[2] - lrs[2] * dbs[2]
    assert np.array_equal(layers[0].weight, frozen[0]) and np.array_equal(layers[0].bias, frozen[1])
    assert np.array_equal(layers[1].bias, frozen[2])
    assert _rel(layers[1].weight, ws[1]) <= 1e-10
    assert _rel(layers[2].weight, ws[2]) <= 1e-10
    assert layers[2].bias[0] == pytest.approx(bs[2], rel=1e-10)


def test_sgd_given_momentum_after_plain_steps_keeps_training():
    # plain SGD keeps no weight gradients (fused into the GEMM), so the
    # workspace is allocated without them; momentum or weight decay set
    # afterwards needs them: the step then equals a momentum optimizer's
    # first step from the same weights
    rng = np.random.default_rng(5)
    X = rng.standard_normal((16, 4))
    y = rng.uniform(0.1, 0.9, (16, 2))

    def model():
        return fastnn.Sequential([fastnn.Dense(4, 6, "tanh"), fastnn.Dense(6, 2, "sigmoid")], dtype="float64",
                                 seed=3)

    plain = fastnn.Trainer(model(), "mse", fastnn.SGD(lr=0.1), batch_size=16)
    plain.step(X, y)
    plain.optimizer.momentum, plain.optimizer.weight_decay = 0.9, 1e-3
    other = model()
    other.load_state_dict(plain.model.state_dict())
    fresh = fastnn.Trainer(other, "mse", fastnn.SGD(lr=0.1, momentum=0.9, weight_decay=1e-3), batch_size=16)
    assert plain.step(X, y) == fresh.step(X, y)
    for key, value in plain.model.state_dict().items():
        assert np.array_equal(value, other.state_dict()[key]), key


def test_one_call_sgd_given_momentum_after_plain_steps_keeps_training():
    # the one-call step of plain SGD is bound without weight gradients or
    # velocities; given momentum it needs both: the step then equals a
    # momentum optimizer's first step from the same weights
    X, y = _data(n=16)
    plain = fastnn.Trainer(_net(), "cross_entropy", fastnn.SGD(lr=0.1), batch_size=16)
    plain.step(X, y)
    assert plain.engine.bound is not None
    plain.optimizer.momentum, plain.optimizer.nesterov = 0.9, True
    other = _net()
    other.load_state_dict(plain.model.state_dict())
    fresh = fastnn.Trainer(other, "cross_entropy", fastnn.SGD(lr=0.1, momentum=0.9, nesterov=True), batch_size=16)
    for _ in range(3):
        assert plain.step(X, y) == fresh.step(X, y)
    assert fresh.engine.bound is not None
    for key, value in plain.model.state_dict().items():
        assert np.array_equal(value, other.state_dict()[key]), key


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


def test_xor_needs_a_hidden_layer():
    model = fastnn.Sequential([fastnn.Dense(2, 2, "sigmoid"), fastnn.Dense(2, 1, "sigmoid")], dtype="float64",
                              seed=1)
    trainer = fastnn.Trainer(model, "binary_cross_entropy", fastnn.SGD(lr=1.0, momentum=0.9), batch_size=4)
    history = trainer.fit(XOR_X, XOR_Y, epochs=2000, verbose=0, shuffle=False)
    assert np.array_equal(model.predict(XOR_X), XOR_Y)
    assert history["accuracy"][-1] == 1.0
    # a single layer of step units cannot: the perceptron never gets XOR right
    p = fastnn.Perceptron(2, lr=1.0).fit(XOR_X, XOR_Y, epochs=50)
    assert min(p.errors_) > 0 and p.score(XOR_X, XOR_Y) < 1.0


@pytest.mark.parametrize("gate,targets", [("AND", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1])])
def test_perceptron_learns_and_or(gate, targets):
    p = fastnn.Perceptron(2, lr=1.0).fit(XOR_X, targets, epochs=50)
    assert np.array_equal(p.predict(XOR_X), targets)
    assert p.errors_[-1] == 0 and len(p.errors_) < 50


def test_perceptron_rule_is_the_notes_rule():
    # one presentation by hand: W(n+1) = W(n) + eta [d - Y] X, bias as a weight on input 1
    p = fastnn.Perceptron(2, lr=0.5, weight=[[0.2, -0.4]], bias=[0.1])
    x, d = np.array([1.0, 1.0]), 1
    y = float(0.2 - 0.4 + 0.1 >= 0)  # net -0.1 -> step gives 0
    p.fit(x.reshape(1, 2), [d], epochs=1)
    assert np.allclose(p.weight, [[0.2 + 0.5 * (d - y) * 1, -0.4 + 0.5 * (d - y) * 1]])
    assert np.allclose(p.bias, [0.1 + 0.5 * (d - y)])
    with pytest.raises(ValueError, match="0 or 1"):
        p.fit(XOR_X, [0, 2, 1, 0])


def test_fit_history_and_validation():
    X, y = _data(n=60)
    model = _net()
    trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(lr=0.5), batch_size=16)
    h = trainer.fit(X, y, epochs=5, validation_split=0.25, verbose=0, seed=0)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds"):
        assert len(h[key]) == 5, key
    assert h["loss"][-1] < h["loss"][0]
    h2 = fastnn.Trainer(_net(), "cross_entropy", fastnn.SGD(lr=0.5), batch_size=16).fit(
        X[:45], y[:45], epochs=3, validation_data=(X[45:], y[45:]), verbose=0, seed=0)
    assert len(h2["val_loss"]) == 3
    # the validation loss is the model's loss on the held-out rows
    assert h2["val_loss"][-1] == pytest.approx(fastnn.Sequential.evaluate(
        trainer.model, X[45:], y[45:])["loss"], rel=0.5)
    with pytest.raises(ValueError, match="not both"):
        trainer.fit(X, y, validation_split=0.2, validation_data=(X, y), verbose=0)


@pytest.mark.parametrize("threads", [1, 2])
def test_same_seed_same_result(threads):
    old = fastnn.get_num_threads()
    fastnn.set_num_threads(threads)
    try:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((300, 20)).astype(np.float32)
        y = rng.integers(0, 3, 300)
        finals = []
        for _ in range(2):
            model = fastnn.Sequential([fastnn.Dense(20, 32, "sigmoid"), fastnn.Dense(32, 3, "softmax")], seed=7)
            fastnn.Trainer(model, "cross_entropy", fastnn.Adam(1e-2), batch_size=32).fit(
                X, y, epochs=3, seed=11, verbose=0)
            finals.append(model.state_dict())
        for k in finals[0]:
            assert np.array_equal(finals[0][k], finals[1][k]), k
    finally:
        fastnn.set_num_threads(old)


class _Snapshot(fastnn.Callback):
    def on_batch_end(self, trainer, step, logs):
        self.state = trainer.model.state_dict()


def test_nan_loss_raises_with_epoch_and_step_and_keeps_weights():
    X, _ = _data(n=40)
    y = np.ones((40, 4))
    y[25, 0] = 1e200  # a target that overflows the loss when its batch comes
    model = _net(("tanh", "identity"))
    snap = _Snapshot()
    trainer = fastnn.Trainer(model, "mse", fastnn.SGD(lr=0.01), batch_size=10)
    with pytest.raises(fastnn.DivergenceError, match=r"epoch 1, step 3"):
        trainer.fit(X, y, epochs=2, shuffle=False, verbose=0, callbacks=[snap])
    after = model.state_dict()
    for k in after:  # unchanged since the last good step
        assert np.array_equal(after[k], snap.state[k]), k


class _CtrlC(fastnn.Callback):
    def __init__(self, at):
        self.at, self.count = at, 0

    def on_batch_end(self, trainer, step, logs):
        self.count += 1
        if self.count == self.at:
            signal.raise_signal(signal.SIGINT)


def test_ctrl_c_stops_after_the_step_and_returns_history():
    X, y = _data(n=64)
    model = _net()
    trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(lr=0.1), batch_size=8)
    cb = _CtrlC(at=20)  # in the third epoch (8 steps per epoch)
    history = trainer.fit(X, y, epochs=10, verbose=0, callbacks=[cb])
    assert history.interrupted
    assert cb.count == 20  # stopped right after the step that saw Ctrl-C
    assert len(history) == 2  # the two whole epochs
    assert model.predict(X).shape == (64,)
    trainer.fit(X, y, epochs=1, verbose=0)  # and it can keep training
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class _Recorder(fastnn.Callback):
    def __init__(self):
        self.epochs, self.batches, self.states = 0, 0, []

    def on_epoch_end(self, trainer, epoch, logs):
        self.epochs += 1
        self.states.append((logs["val_loss"], trainer.model.state_dict()))

    def on_batch_end(self, trainer, step, logs):
        self.batches += 1


def test_early_stopping_restores_best_weights():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 5))
    y = rng.integers(0, 4, 80)  # noise: validation loss soon rises
    model = _net(sizes=(5, 32, 4))
    rec = _Recorder()
    es = fastnn.EarlyStopping(patience=2, restore_best_weights=True)
    h = fastnn.Trainer(model, "cross_entropy", fastnn.Adam(0.05), batch_size=8).fit(
        X[:60], y[:60], epochs=60, validation_data=(X[60:], y[60:]), verbose=0, callbacks=[rec],
        early_stopping=es)
    assert h.stopped_early and len(h) < 60
    best = int(np.argmin([v for v, _ in rec.states]))
    assert h.best_epoch == best
    assert len(h) == best + 1 + 3  # patience 2: stops on the third epoch without improvement
    for k, v in rec.states[best][1].items():
        assert np.array_equal(model.state_dict()[k], v), k


def test_early_stopping_errors_and_shorthand():
    X, y = _data()
    trainer = fastnn.Trainer(_net(), "cross_entropy", fastnn.SGD(0.1), batch_size=8)
    with pytest.raises(ValueError, match="val_loss"):
        trainer.fit(X, y, epochs=2, verbose=0, early_stopping=fastnn.EarlyStopping())
    h = trainer.fit(X, y, epochs=3, verbose=0, validation_split=0.25, early_stopping=1)
    assert 1 <= len(h) <= 3


def test_callbacks_are_called_and_can_stop():
    X, y = _data(n=40)
    rec = _Recorder()

    class Stop(fastnn.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                trainer.stop_training = True

    h = fastnn.Trainer(_net(), "cross_entropy", fastnn.SGD(0.1), batch_size=10).fit(
        X, y, epochs=10, validation_split=0.25, verbose=0, callbacks=[rec, Stop()])
    assert rec.epochs == 3 and len(h) == 3
    assert rec.batches == 3 * 3  # 30 training rows, batch 10


def test_schedules():
    s = fastnn.StepLR(step_size=2, gamma=0.5)
    assert [s.factor(e * 10, None, 10) for e in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    c = fastnn.CosineLR(min_factor=0.1)
    assert c.factor(0, 101, 1) == pytest.approx(1.0)
    assert c.factor(50, 101, 1) == pytest.approx(0.55, abs=0.01)
    assert c.factor(100, 101, 1) == pytest.approx(0.1)
    o = fastnn.OneCycleLR(pct_start=0.25, div_factor=10, final_div_factor=100)
    assert o.factor(0, 101, 1) == pytest.approx(0.1)
    assert o.factor(24, 101, 1) == pytest.approx(1.0, abs=1e-3)  # the peak falls at step 24.25, as in PyTorch
    assert o.factor(100, 101, 1) == pytest.approx(0.001)
    assert all(o.factor(i, 101, 1) <= 1.0 + 1e-12 for i in range(101))
    with pytest.raises(ValueError):
        fastnn.OneCycleLR(pct_start=1.5)


def test_the_scheduled_rate_is_the_one_used():
    # one weight, zero input to the bias only: the bias moves by exactly lr * gradient
    model = fastnn.Sequential([fastnn.Dense(1, 1, "identity", weight=[[0.0]], bias=[0.0])], dtype="float64")
    opt = fastnn.SGD(lr=1.0, schedule=fastnn.StepLR(step_size=1, gamma=0.5))
    trainer = fastnn.Trainer(model, "half_squared_error", opt, batch_size=1)
    X, y = np.zeros((1, 1)), np.array([[1.0]])
    biases = []
    for _ in range(3):
        trainer.fit(X, y, epochs=1, verbose=0)
        biases.append(model[0].bias[0])
    # dE/db = b - 1; epochs 1, 2, 3 use lr 1, 0.5, 0.25 (the step count carries over)
    b = 0.0
    expected = []
    for lr in (1.0, 0.5, 0.25):
        b = b - lr * (b - 1.0)
        expected.append(b)
    assert biases == pytest.approx(expected)


def test_training_errors():
    X, y = _data()
    with pytest.raises(ValueError, match="Perceptron"):
        fastnn.Trainer(fastnn.Sequential([fastnn.Dense(5, 4, "step")]), "mse")
    with pytest.raises(ValueError, match="softmax"):
        fastnn.Trainer(_net(("tanh", "tanh")), "cross_entropy")
    trainer = fastnn.Trainer(_net(), "cross_entropy", batch_size=8)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        trainer.fit(X, y + 4, verbose=0)
    with pytest.raises(ValueError, match="samples"):
        trainer.fit(X, y[:-1], verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        fastnn.Trainer(_net(), "cross_entropy", batch_size=0)
    with pytest.raises(TypeError, match="optimizer"):
        fastnn.Trainer(_net(), "cross_entropy", optimizer=0.1)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        fastnn.Trainer(_net(), "cross_entropy", optimizer="rmsprop")
    with pytest.raises(ValueError, match="unknown loss"):
        fastnn.Trainer(_net(), "hinge")


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _data()
    trainer = fastnn.Trainer(_net(), "cross_entropy", batch_size=8)
    trainer.fit(X, y, epochs=2, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    trainer.fit(X, y, epochs=3, verbose=1)
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("epoch ")]
    assert len(lines) == 3 and "loss" in lines[0] and "accuracy" in lines[0]


def test_step_returns_the_loss_and_rejects_nan():
    X, y = _data()
    model = _net()
    trainer = fastnn.Trainer(model, "cross_entropy", batch_size=8)
    before = model.evaluate(X, y)["loss"]
    value = trainer.step(X, y)
    assert math.isclose(value, before, rel_tol=1e-12)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        trainer.step(bad, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gather_rows_kernel(dtype):
    from fastnn import _core

    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 784)).astype(dtype)
    idx = rng.permutation(1000)[:300].astype(np.int64)
    out = np.empty((300, 784), dtype)
    _core.gather_rows(X, idx, out)
    assert np.array_equal(out, X[idx])
    before = out.copy()
    with pytest.raises(IndexError, match="outside"):
        _core.gather_rows(X, np.array([0, 1000], dtype=np.int64), out[:2])
    assert np.array_equal(out, before)  # nothing written


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_kernel_counts_correct_rows_and_may_work_in_place(dtype):
    from fastnn import _core

    rng = np.random.default_rng(1)
    Z = rng.standard_normal((50, 7)).astype(dtype)
    y = rng.integers(0, 7, 50)
    ref_loss, ref_dZ = R.softmax_cross_entropy(Z.astype(float), y)
    dZ = np.empty_like(Z)
    loss, correct = _core.softmax_cross_entropy(Z, y.astype(np.int64), None, dZ, True)
    assert correct == np.sum(Z.argmax(axis=1) == y)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert loss == pytest.approx(ref_loss, rel=tol)
    assert np.linalg.norm(dZ - ref_dZ) / np.linalg.norm(ref_dZ) < tol
    # in place (dz is z), with a target matrix whose rows do not sum to one
    Y = rng.uniform(0, 1, (50, 7)).astype(dtype)
    ref_loss, ref_dZ = R.softmax_cross_entropy(Z.astype(float), Y.astype(float))
    W = Z.copy()
    loss, correct = _core.softmax_cross_entropy(W, None, Y, W, True)
    assert correct == np.sum(Z.argmax(axis=1) == Y.argmax(axis=1))
    assert loss == pytest.approx(ref_loss, rel=tol)
    assert np.linalg.norm(W - ref_dZ) / np.linalg.norm(ref_dZ) < tol


def test_results_do_not_depend_on_the_thread_count():
    # threads split each GEMM's output, never a sum: 1 and 2 threads agree bit for bit
    rng = np.random.default_rng(0)
    X = rng.standard_normal((700, 50)).astype(np.float32)
    y = rng.integers(0, 10, 700)
    states = []
    for threads in (1, 2):
        fastnn.set_num_threads(threads)
        model = fastnn.Sequential([fastnn.Dense(50, 300, "sigmoid"), fastnn.Dense(300, 200, "tanh"),
                                   fastnn.Dense(200, 10, "softmax")], seed=1)
        fastnn.Trainer(model, "cross_entropy", fastnn.Adam(1e-3), batch_size=128).fit(X, y, epochs=2, seed=2,
                                                                                      verbose=0)
        states.append(model.state_dict())
    for k in states[0]:
        assert np.array_equal(states[0][k], states[1][k]), k


@pytest.mark.parametrize("optimizer", ["sgd", "adamw", "nesterov"])
@pytest.mark.parametrize("batch_size", [16, 40])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("setup", ["plain", "frozen_first", "frozen_middle", "no_bias", "one_hot", "layer_lrs",
                                   "shared_bias_falls_back"])
def test_one_call_step_equals_the_per_layer_path(dtype, setup, batch_size, optimizer):
    # The bound one-call step (softmax cross-entropy; plain SGD, Adam or
    # momentum SGD) runs the same kernels in the same order as the per-layer
    # path: bit-identical weights, losses and accuracies, for every layer
    # configuration it takes.
    rng = np.random.default_rng(5)
    X = rng.standard_normal((53, 6))  # batches of 16 (3 and 5 rows left) or 40 (split in halves; 13 left)
    y = rng.integers(0, 3, 53)
    target = np.eye(3)[y] if setup == "one_hot" else y

    def build():
        trainable = {"frozen_first": (False, True, True), "frozen_middle": (True, False, True)}.get(
            setup, (True, True, True))
        bias = {"no_bias": (False, True, False), "shared_bias_falls_back": (True, "shared", True)}.get(
            setup, (True, True, True))
        layers = [fastnn.Dense(6, 9, "tanh", bias[0], trainable=trainable[0]),
                  fastnn.Dense(9, 7, "relu", bias[1], trainable=trainable[1]),
                  fastnn.Dense(7, 3, "softmax", bias[2], trainable=trainable[2])]
        return fastnn.Sequential(layers, dtype=dtype, seed=4)

    results = []
    for one_call in (True, False):
        model = build()
        kw = {"layer_lrs": {0: 0.05} if setup == "layer_lrs" else None, "schedule": fastnn.StepLR(2, gamma=0.5)}
        cls, settings = {"sgd": (fastnn.SGD, {"lr": 0.3}),
                         "adamw": (fastnn.Adam, {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.01}),
                         "nesterov": (fastnn.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True,
                                                   "weight_decay": 0.01})}[optimizer]
        opt = cls(**settings, **kw)
        trainer = fastnn.Trainer(model, "cross_entropy", opt, batch_size=batch_size)
        trainer.engine.one_call = one_call
        hist = trainer.fit(X, target, epochs=3, seed=0, verbose=0)
        bound = trainer.engine.bound is not None
        results.append((model.state_dict(), hist.history, bound))
        if optimizer != "sgd":
            assert len(opt.state) > 0
    (state1, hist1, bound1), (state2, hist2, bound2) = results
    assert bound1 == (setup != "shared_bias_falls_back") and not bound2
    for key in state1:
        assert np.array_equal(state1[key], state2[key]), key
    assert hist1["accuracy"] == hist2["accuracy"]
    # the loss is summed per half in a split batch: equal up to rounding
    assert np.allclose(hist1["loss"], hist2["loss"], rtol=1e-12, atol=0)
    if setup == "frozen_first":
        assert np.array_equal(state1["0.weight"], build().state_dict()["0.weight"])


def test_one_call_sgd_step_leaves_the_model_unchanged_on_a_nan_loss():
    model = _net(("tanh", "softmax"))
    trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(lr=0.1), batch_size=8)
    X, y = _data(n=8)
    trainer.step(X, y)
    assert trainer.engine.bound is not None
    # logits near +-1e308: the loss of class 1 overflows to infinity
    model.layers[1].bias[:2] = [1e308, -1e308]
    before = model.state_dict()
    with pytest.raises(fastnn.DivergenceError):
        trainer.step(X, np.ones(8, dtype=np.int64))
    after = model.state_dict()
    for key in before:
        assert np.array_equal(after[key], before[key]), key


@pytest.mark.parametrize("simd", fastnn.simd_paths())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_size", [40, 600])
@pytest.mark.parametrize("optimizer", ["adamw", "momentum"])
def test_split_step_updating_each_share_equals_the_per_layer_path(dtype, batch_size, simd, optimizer):
    # In the split step Adam runs inside the weight-gradient GEMM, row of
    # tiles by row of tiles (csrc/adam_impl.h), and momentum SGD on each
    # thread's share of W after it: the same weights, moments (velocities)
    # and gradients to the bit as the GEMM followed by the update (the
    # per-layer path), on 1 and 2 threads; ragged tiles (300 and 37 are not
    # multiples of any tile), a K of several blocks (batch 600), weight decay.
    fastnn.set_simd_path(simd)  # (restored by conftest)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((1201, 37))
    y = rng.integers(0, 5, 1201)
    runs = {}
    for name, threads, one_call in (("t1", 1, True), ("t2", 2, True), ("layers", 1, False)):
        fastnn.set_num_threads(threads)
        model = fastnn.Sequential([fastnn.Dense(37, 300, "tanh"), fastnn.Dense(300, 5, "softmax")], dtype=dtype,
                                  seed=3)
        opt = (fastnn.Adam(lr=0.01, weight_decay=0.01) if optimizer == "adamw"
               else fastnn.SGD(lr=0.01, momentum=0.9, weight_decay=0.01))
        trainer = fastnn.Trainer(model, "cross_entropy", opt, batch_size=batch_size)
        trainer.engine.one_call = one_call
        trainer.fit(X, y, epochs=2, seed=5, verbose=0)
        assert (trainer.engine.bound is not None) == one_call
        runs[name] = {**model.state_dict(), **{f"moment {j} of {k}": a for k, st in opt.state.items()
                                               for j, a in enumerate(st if isinstance(st, tuple) else [st])}}
    for key in runs["layers"]:
        assert np.array_equal(runs["t1"][key], runs["layers"][key]), key
        assert np.array_equal(runs["t2"][key], runs["layers"][key]), key


@pytest.mark.parametrize("simd", fastnn.simd_paths())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_size", [32, 64])
def test_split_sgd_step_is_independent_of_threads_and_equals_the_full_batch(dtype, batch_size, simd):
    # Batches of 32 rows or more split into two halves that run forward,
    # loss and the backward chain independently (data parallel); the team
    # then updates each layer from the whole batch.  With 1 and 2 threads
    # the results are bit-identical; with halves of more than 16 rows (the
    # packed GEMM path) they are bit-identical to the per-layer path too,
    # with 16-row halves (the dot-product path) equal up to rounding.
    fastnn.set_simd_path(simd)  # every instruction set this CPU has (restored by conftest)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((301, 40))
    y = rng.integers(0, 5, 301)
    runs = {}
    for name, threads, one_call in (("t1", 1, True), ("t2", 2, True), ("t3", 3, True), ("layers", 2, False)):
        fastnn.set_num_threads(threads)
        layers = [fastnn.Dense(40, 64, "sigmoid"), fastnn.Dense(64, 48, "relu", trainable=False),
                  fastnn.Dense(48, 5, "softmax")]
        model = fastnn.Sequential(layers, dtype=dtype, seed=3)
        trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(lr=0.2), batch_size=batch_size)
        trainer.engine.one_call = one_call
        hist = trainer.fit(X, y, epochs=3, seed=5, verbose=0)
        runs[name] = (model.state_dict(), hist["loss"], hist["accuracy"])
    for key in runs["t1"][0]:
        assert np.array_equal(runs["t1"][0][key], runs["t2"][0][key]), key
        # three threads: whole-batch GEMMs split three ways (halves above 16 rows), the same numbers
        assert np.array_equal(runs["t1"][0][key], runs["t3"][0][key]), key
        if batch_size > 33:
            assert np.array_equal(runs["t1"][0][key], runs["layers"][0][key]), key
        else:
            assert _rel(runs["t1"][0][key], runs["layers"][0][key]) <= (1e-4 if dtype == "float32" else 1e-11), key
    assert runs["t1"][1:] == runs["t2"][1:]
    assert runs["t1"][2] == runs["t3"][2]
    assert np.allclose(runs["t1"][1], runs["layers"][1], rtol=1e-5 if dtype == "float32" else 1e-12)
    assert runs["t1"][2] == runs["layers"][2]
    assert np.array_equal(runs["t1"][0]["1.weight"], runs["layers"][0]["1.weight"])  # frozen


@pytest.mark.parametrize("batch", [8, 40])
@pytest.mark.parametrize("threads", [1, 2])
def test_step_gathering_rows_itself_equals_a_gathered_batch(batch, threads):
    # fit hands the step the shuffled indices; the step gathers the rows
    # (each half its own): the same result as stepping on X[idx]
    fastnn.set_num_threads(threads)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((100, 12)).astype(np.float32)
    y = rng.integers(0, 4, 100)
    idx = rng.permutation(100)[:batch].astype(np.int64)
    states = []
    for use_rows in (True, False):
        model = fastnn.Sequential([fastnn.Dense(12, 20, "relu"), fastnn.Dense(20, 4, "softmax")], seed=2)
        trainer = fastnn.Trainer(model, "cross_entropy", fastnn.Adam(0.01), batch_size=batch)
        for _ in range(3):
            if use_rows:
                trainer.engine.step(X, y[idx], rows=idx)
            else:
                trainer.engine.step(np.ascontiguousarray(X[idx]), y[idx])
        states.append(model.state_dict())
    for key in states[0]:
        assert np.array_equal(states[0][key], states[1][key]), key
    # an index outside X is refused before anything changes
    before = model.state_dict()
    bad = idx.copy()
    bad[-1] = 100
    with pytest.raises(ValueError):
        trainer.engine.step(X, y[idx], rows=bad)
    for key, value in model.state_dict().items():
        assert np.array_equal(value, before[key]), key


class _EveryStep(fastnn.Callback):
    """Holds fit to one step per call (it overrides on_batch_end and keeps every_batch)."""

    def __init__(self):
        self.steps = []

    def on_batch_end(self, trainer, step, logs):
        self.steps.append((step, logs["loss"], logs["accuracy"]))


def _fit_both_ways(make_opt, dtype, shuffle, batch_size, target, monkeypatch, steps_per_call=3, epochs=3):
    """Fit twice from the same start: steps grouped into calls of ``steps_per_call``, then one at a time."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((70, 6))
    y = rng.integers(0, 3, 70)
    y = np.eye(3)[y] * 0.8 + 0.2 / 3 if target == "soft" else y
    results = []
    for every in (False, True):
        model = fastnn.Sequential([fastnn.Dense(6, 9, "tanh"), fastnn.Dense(9, 3, "softmax")], dtype=dtype, seed=4)
        trainer = fastnn.Trainer(model, "cross_entropy", make_opt(), batch_size=batch_size)
        weights = sum(layer.weight.size for layer in model.layers)
        monkeypatch.setattr(fastnn.training.engine, "STEP_CALL_WORK", steps_per_call * batch_size * weights)
        calls: list[int] = []

        def counted(*args, calls=calls, run_steps=trainer.engine.run_steps):
            calls.append(args[4])  # the call's step count
            return run_steps(*args)

        monkeypatch.setattr(trainer.engine, "run_steps", counted)
        history = trainer.fit(X, y, epochs=epochs, shuffle=shuffle, seed=2, verbose=0,
                              callbacks=[_EveryStep()] if every else [])
        results.append((model.state_dict(), history, trainer.optimizer, calls))
    return results


@pytest.mark.parametrize("target", ["labels", "soft"])
@pytest.mark.parametrize("batch_size", [8, 32])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opt", [
    lambda: fastnn.SGD(lr=0.2),
    lambda: fastnn.SGD(lr=0.3, schedule=fastnn.CosineLR(min_factor=0.1), layer_lrs=[None, 0.1]),
    lambda: fastnn.Adam(lr=0.02, weight_decay=0.01),
    lambda: fastnn.Adam(lr=0.02, schedule=fastnn.StepLR(step_size=1, gamma=0.5)),
    lambda: fastnn.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3, schedule=fastnn.CosineLR()),
], ids=["sgd", "sgd_cosine_layer_lrs", "adamw", "adam_steplr", "nesterov_cosine"])
def test_steps_run_in_one_call_equal_steps_run_one_at_a_time(opt, dtype, shuffle, batch_size, target, monkeypatch):
    # fit runs several steps in one call into C unless a callback wants
    # every step: the same weights, moments, step count and history, bit
    # for bit, in calls of 3 steps (70 rows: batches of 8 make 9 steps, of
    # 32 three, the last of 6 rows)
    (grouped, h1, o1, calls1), (single, h2, o2, calls2) = _fit_both_ways(opt, dtype, shuffle, batch_size, target,
                                                                         monkeypatch)
    steps = -(-70 // batch_size)
    assert calls1 == [3] * steps
    assert calls2 == []
    for key in grouped:
        assert np.array_equal(grouped[key], single[key]), key
    assert h1["loss"] == h2["loss"] and h1["accuracy"] == h2["accuracy"]
    assert o1.step_count == o2.step_count == 3 * steps
    for key in o1.state:
        for a, b in zip(o1.state[key], o2.state[key]):
            assert np.array_equal(a, b), key


def test_steps_in_one_call_stop_at_a_diverging_step_as_single_steps_do(monkeypatch):
    # a learning rate that makes the loss overflow within the first epoch:
    # grouped steps stop at the same step, with the same message, and the
    # model keeps the weights from before it
    outcomes = []
    for every in (False, True):
        rng = np.random.default_rng(0)
        X, y = rng.standard_normal((64, 5)) * 50, rng.integers(0, 4, 64)
        model = fastnn.Sequential([fastnn.Dense(5, 16, "relu"), fastnn.Dense(16, 4, "softmax")], dtype="float32",
                                  seed=0)
        trainer = fastnn.Trainer(model, "cross_entropy", fastnn.SGD(lr=1e30), batch_size=4)
        monkeypatch.setattr(fastnn.training.engine, "STEP_CALL_WORK", 5 * 4 * (5 * 16 + 16 * 4))
        with pytest.raises(fastnn.DivergenceError, match=r"epoch 1, step \d+") as err:
            trainer.fit(X, y, epochs=1, seed=0, verbose=0, callbacks=[_EveryStep()] if every else [])
        outcomes.append((str(err.value), model.state_dict(), trainer.optimizer.step_count))
    assert outcomes[0][0] == outcomes[1][0]
    assert outcomes[0][2] == outcomes[1][2] > 0
    for key in outcomes[0][1]:
        assert np.array_equal(outcomes[0][1][key], outcomes[1][1][key]), key


class _CtrlCAfterSteps(fastnn.Callback):
    every_batch = False  # may be called once for several steps

    def __init__(self):
        self.seen = []

    def on_batch_end(self, trainer, step, logs):
        self.seen.append(step)
        if len(self.seen) == 2:
            signal.raise_signal(signal.SIGINT)


def test_ctrl_c_stops_after_the_steps_of_the_call_under_way(monkeypatch):
    X, y = _data(n=64)
    trainer = fastnn.Trainer(_net(), "cross_entropy", fastnn.SGD(lr=0.1), batch_size=4)  # 16 steps an epoch
    monkeypatch.setattr(fastnn.training.engine, "STEP_CALL_WORK", 5 * 4 * (5 * 7 + 7 * 4))
    cb = _CtrlCAfterSteps()
    history = trainer.fit(X, y, epochs=3, verbose=0, callbacks=[cb])
    assert cb.seen == [4, 9]  # called after each call's last step: calls of 5 steps
    assert history.interrupted and len(history) == 0  # the epoch cut short is not recorded
    assert trainer.optimizer.step_count == 10


def test_progress_bar_counts_every_step_when_steps_run_in_one_call(monkeypatch, capsys):
    pytest.importorskip("tqdm", reason="the progress bar needs tqdm")
    X, y = _data(n=64)
    trainer = fastnn.Trainer(_net(), "cross_entropy", fastnn.SGD(lr=0.1), batch_size=4)
    monkeypatch.setattr(fastnn.training.engine, "STEP_CALL_WORK", 5 * 4 * (5 * 7 + 7 * 4))
    trainer.fit(X, y, epochs=1, verbose=1)
    err = capsys.readouterr().err
    assert "16/16" in err and "17/16" not in err


def test_run_steps_refuses_bad_arguments():
    X = np.zeros((10, 5))
    y = np.zeros(10, dtype=np.int64)
    trainer = fastnn.Trainer(_net(), "cross_entropy", fastnn.SGD(lr=0.1), batch_size=4)
    assert trainer.engine.runs_steps_in_one_call(4)
    step = trainer.engine.bound
    losses, correct = np.empty(3), np.empty(3, dtype=np.int64)
    lrs = np.full((3, 2), 0.1)
    with pytest.raises(ValueError, match="take 3 steps, not 2"):
        step.run_steps(X, y, None, 4, lrs[:2], None, 0.0, losses, correct)
    with pytest.raises(ValueError, match="2 learning rates a step"):
        step.run_steps(X, y, None, 4, np.full((3, 1), 0.1), None, 0.0, losses, correct)
    with pytest.raises(ValueError, match="batch_size must be 1 to 4"):
        step.run_steps(X, y, None, 5, lrs[:2], None, 0.0, losses, correct)
    with pytest.raises(ValueError, match="plain SGD takes no constants, got 6"):
        step.run_steps(X, y, None, 4, lrs, np.zeros((3, 6)), 0.0, losses, correct)
    with pytest.raises(ValueError, match="plain SGD takes no constants, got 4"):
        step.run(X[:4], y[:4], [0.1, 0.1], (0.9, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="target.shape"):
        step.run_steps(X, y[:9], None, 4, lrs, None, 0.0, losses, correct)
    before = trainer.model.state_dict()
    rows = np.arange(10, dtype=np.int64)
    rows[1] = 10  # outside X: refused before the first step changes anything
    with pytest.raises(ValueError):
        step.run_steps(X, y, rows, 4, lrs, None, 0.0, losses, correct)
    for key, value in trainer.model.state_dict().items():
        assert np.array_equal(value, before[key]), key
    momentum = fastnn.Trainer(_net(), "cross_entropy", fastnn.SGD(lr=0.1, momentum=0.9), batch_size=4).engine
    assert momentum.runs_steps_in_one_call(4)
    with pytest.raises(ValueError, match="momentum SGD takes 4 constants, got 6"):
        momentum.bound.run_steps(X, y, None, 4, lrs, np.zeros((3, 6)), 0.0, losses, correct)
    with pytest.raises(ValueError, match="l2 must be finite"):
        momentum.bound.run_steps(X, y, None, 4, lrs, np.zeros((3, 4)), np.inf, losses, correct)
    with pytest.raises(ValueError):  # a coupled L2 term only in scikit-learn's convention (the C step refuses it)
        momentum.bound.run_steps(X, y, None, 4, lrs, np.zeros((3, 4)), 1e-3, losses, correct)
    with pytest.raises(RuntimeError, match="runs_steps_in_one_call"):
        fastnn.Trainer(_net(("tanh", "sigmoid")), "mse", fastnn.SGD(lr=0.1)).engine.run_steps(X, y, None, 4, 3)


def test_optimizers_plan_the_constants_of_their_next_steps():
    for opt in (fastnn.Adam(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, schedule=fastnn.CosineLR()),
                fastnn.SGD(lr=0.5, layer_lrs={1: 0.25}, schedule=fastnn.StepLR(step_size=1, gamma=0.5)),
                fastnn.SGD(lr=0.5, momentum=0.5, nesterov=True, weight_decay=0.1)):
        opt.set_run_length(20, 4)
        opt.step_count = 3
        lrs, consts = opt.network_steps_plan(5, 2)
        assert lrs.shape == (5, 2)
        for j in range(5):
            assert lrs[j].tolist() == opt.learning_rates(2)
            if consts is not None:
                assert tuple(consts[j]) == opt.network_step_constants()
            opt.finish_step()
    assert fastnn.SGD(lr=0.1, momentum=0.5, nesterov=True).network_step_constants() == (0.5, 1.0, 0.0, 0.0)


def test_steps_in_one_call_with_augmented_inputs_and_validation_equal_single_steps():
    # RandomShift rewrites the inputs every epoch before they are served;
    # validation data is scored after each epoch: the same with grouped steps
    rng = np.random.default_rng(8)
    X = rng.random((90, 36)).astype(np.float32)
    y = rng.integers(0, 3, 90)
    results = []
    for callbacks in ([], [_EveryStep()]):
        model = fastnn.Sequential([fastnn.Dense(36, 12, "relu"), fastnn.Dense(12, 3, "softmax")], seed=1)
        trainer = fastnn.Trainer(model, "cross_entropy", fastnn.Adam(0.01), batch_size=8)
        history = trainer.fit(X[:70], y[:70], epochs=3, seed=3, verbose=0, callbacks=callbacks,
                              validation_data=(X[70:], y[70:]),
                              augment=fastnn.datasets.RandomShift(max_shift=1, image_shape=(6, 6)))
        results.append((model.state_dict(), history["loss"], history["val_loss"]))
    assert results[0][1:] == results[1][1:]
    for key in results[0][0]:
        assert np.array_equal(results[0][0][key], results[1][0][key]), key
