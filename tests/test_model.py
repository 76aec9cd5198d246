"""Dense and Sequential: parameters, initialisation, building, inference,
saving, loading and pickling."""

import os
import pickle
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import kernels as K
from fastnn import reference as R

# ---- Dense ----------------------------------------------------------------------

def test_dense_parameters_are_read_and_set():
    layer = fastnn.Dense(3, 2, "tanh")
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    layer.weight = [[1, 2, 3], [4, 5, 6]]
    layer.bias = [0.5, -0.5]
    assert layer.weight[1, 2] == 6 and layer.bias[1] == -0.5
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        layer.weight = np.zeros((3, 2))
    with pytest.raises(ValueError, match="NaN"):
        layer.bias = [np.nan, 0]


def test_initialisation_suits_the_activation():
    fan_in, fan_out = 400, 300
    g = fastnn.Dense(fan_in, fan_out, "sigmoid", seed=0).weight
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(g).max() <= limit and np.abs(g).max() > 0.99 * limit  # Glorot uniform
    assert g.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    h = fastnn.Dense(fan_in, fan_out, "relu", seed=0).weight
    assert h.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.02)  # He normal
    assert abs(h.mean()) < 0.01
    assert np.array_equal(fastnn.Dense(5, 4, seed=3).weight, fastnn.Dense(5, 4, seed=3).weight)
    assert not np.array_equal(fastnn.Dense(5, 4, seed=3).weight, fastnn.Dense(5, 4, seed=4).weight)


def test_bias_modes():
    assert fastnn.Dense(2, 3, bias=False).bias is None
    shared = fastnn.Dense(2, 3, bias=0.35)
    assert shared.bias_mode == "shared" and shared.bias.shape == (1,) and shared.bias[0] == 0.35
    assert np.array_equal(shared.full_bias(), [0.35] * 3)
    assert fastnn.Dense(2, 3, bias="shared").bias.shape == (1,)
    arr = fastnn.Dense(2, 3, bias=[1, 2, 3])
    assert arr.bias_mode == "per_neuron" and np.array_equal(arr.bias, [1, 2, 3])
    with pytest.raises(ValueError, match="shape"):
        fastnn.Dense(2, 3, bias=[1, 2])


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"in_features": 0, "out_features": 2}, ValueError, "in_features"),
    ({"in_features": 2.5, "out_features": 2}, TypeError, "in_features"),
    ({"in_features": 2, "out_features": 2, "activation": "swish"}, ValueError, "unknown activation"),
    ({"in_features": 2, "out_features": 2, "init": "orthogonal"}, ValueError, "init"),
    ({"in_features": 2, "out_features": 2, "activation": "leaky_relu", "slope": -1}, ValueError, "slope"),
    ({"in_features": 2, "out_features": 2, "weight": np.zeros((2, 3))}, ValueError, "weight"),
    ({"in_features": 2, "out_features": 2, "trainable": ("gamma",)}, ValueError, "trainable"),
])
def test_dense_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fastnn.Dense(**kwargs)


# ---- Sequential -------------------------------------------------------------------

def test_building_checks_shapes_and_softmax_position():
    with pytest.raises(ValueError, match="layer 1 expects 5 inputs but layer 0 gives 4"):
        fastnn.Sequential([fastnn.Dense(3, 4), fastnn.Dense(5, 2)])
    with pytest.raises(ValueError, match="softmax"):
        fastnn.Sequential([fastnn.Dense(3, 4, "softmax"), fastnn.Dense(4, 2)])
    with pytest.raises(TypeError, match="Dense"):
        fastnn.Sequential([fastnn.Dense(3, 4), "relu"])
    with pytest.raises(ValueError, match="dtype"):
        fastnn.Sequential([fastnn.Dense(3, 4)], dtype="float16")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_is_respected(dtype):
    model = fastnn.Sequential([fastnn.Dense(3, 4), fastnn.Dense(4, 2, "softmax")], dtype=dtype)
    assert all(arr.dtype == dtype for _, arr in model.named_parameters())
    assert model.forward(np.ones((5, 3))).dtype == dtype


@pytest.mark.parametrize("act", ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"])
def test_forward_matches_reference(act):
    rng = np.random.default_rng(0)
    layers = [fastnn.Dense(6, 9, act, bias=0.3), fastnn.Dense(9, 5, act, bias=False),
              fastnn.Dense(5, 4, "softmax")]
    model = fastnn.Sequential(layers, dtype="float64", seed=1)
    X = rng.standard_normal((17, 6))
    ws = [layer.weight for layer in layers]
    bs = [0.3, None, layers[2].bias]
    want = R.network_forward(ws, bs, [act, act, "softmax"], X, slope=0.01)[-1]
    got = model.forward(X)
    assert np.linalg.norm(got - want) / np.linalg.norm(want) <= 1e-12
    assert np.allclose(got.sum(axis=1), 1)


@pytest.mark.parametrize("simd", fastnn.simd_paths())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 16, 17, 300, 2100])
def test_one_call_network_forward_matches_reference(dtype, threads, n, simd):
    # Every batch size that takes the one-region small-batch path (n <= 16,
    # each layer's columns split across threads) and the per-layer GEMM path.
    rng = np.random.default_rng(n)
    acts = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"]
    widths = [37, 64, 9, 130, 3, 21, 7]
    layers = [fastnn.Dense(widths[i], widths[i + 1], acts[i], bias=(i != 2), slope=0.2)
              for i in range(len(acts))] + [fastnn.Dense(widths[-1], 5, "softmax")]
    model = fastnn.Sequential(layers, dtype=dtype, seed=3)
    assert model._network(False) is not None
    X = rng.standard_normal((n, widths[0]))
    want = R.network_forward([layer.weight.astype(np.float64) for layer in layers],
                             [None if layer.bias is None else layer.bias.astype(np.float64) for layer in layers],
                             acts + ["softmax"], X, slope=0.2)[-1]
    fastnn.set_num_threads(threads)
    fastnn.set_simd_path(simd)  # every instruction set this CPU has (restored by conftest)
    got = model.forward(X)
    tol = 1e-5 if dtype == "float32" else 1e-12
    assert got.dtype == np.dtype(dtype) and got.shape == (n, 5)
    assert np.max(np.abs(got - want)) <= tol
    logits = model.forward_prepared(np.ascontiguousarray(X, dtype=dtype), logits=True)
    assert np.allclose(R.softmax(logits.astype(np.float64)), want, atol=tol)


@pytest.mark.parametrize("n", [1, 4, 16])
def test_small_batch_forward_is_the_same_on_any_thread_count(n):
    # The notes' network at small batches (large enough to split each layer's columns across threads):
    # every output is the same dot product (or, for a K too short for this CPU's dot products at n
    # rows, the same packed GEMM sum) on any thread count.
    rng = np.random.default_rng(n)
    model = fastnn.Sequential([fastnn.Dense(784, 64, "sigmoid"), fastnn.Dense(64, 128, "sigmoid"),
                               fastnn.Dense(128, 512, "sigmoid"), fastnn.Dense(512, 10, "softmax")], seed=1)
    for layer in model.layers:  # (Dense starts with zero biases, which would leave their handling untested)
        layer.bias = rng.normal(scale=0.1, size=layer.bias.shape).astype(np.float32)
    X = rng.random((n, 784), dtype=np.float32)
    outs = []
    for threads in (1, 2, 3):
        fastnn.set_num_threads(threads)
        outs.append(model.forward(X))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
    want = R.network_forward([layer.weight.astype(np.float64) for layer in model.layers],
                             [layer.bias.astype(np.float64) for layer in model.layers],
                             ["sigmoid"] * 3 + ["softmax"], X.astype(np.float64))[-1]
    assert np.max(np.abs(outs[0] - want)) <= 1e-5


@pytest.mark.parametrize("n", [17, 33, 34, 51, 63, 100, 1000, 3001])
def test_network_forward_equals_the_layer_by_layer_kernels_on_any_thread_count(n):
    # Batches past the small-batch path (and Sequential.forward's chunks of rows): every row is bit
    # for bit what one GEMM per layer over the whole batch, on one thread, gives, whether the
    # threads split each layer (fewer than 17 rows each) or run their own rows through every layer.
    rng = np.random.default_rng(n)
    model = fastnn.Sequential([fastnn.Dense(784, 64, "sigmoid"), fastnn.Dense(64, 128, "relu"),
                               fastnn.Dense(128, 512, "tanh"), fastnn.Dense(512, 10, "softmax")], seed=1)
    for layer in model.layers:  # (Dense starts with zero biases, which would leave their handling untested)
        layer.bias = rng.normal(scale=0.1, size=layer.bias.shape).astype(np.float32)
    X = rng.random((n, 784), dtype=np.float32)
    fastnn.set_num_threads(1)
    a = X
    for layer in model.layers[:-1]:
        a = K.dense_forward(a, layer.weight, layer.bias, layer.activation)
    last = model.layers[-1]
    want = K.softmax(K.dense_forward(a, last.weight, last.bias, "identity"))
    for threads in (1, 2, 3):
        fastnn.set_num_threads(threads)
        np.testing.assert_array_equal(model.forward(X), want, err_msg=f"{threads} threads")


@pytest.mark.parametrize("simd", fastnn.simd_paths())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("first", [(64, "sigmoid"), (4, "relu")])
def test_forward_finds_every_nan_or_infinity_that_the_first_layer_checks_for_it(first, dtype, simd):
    # Past the small batches, Sequential.forward does not scan X before the arithmetic: the first
    # layer's GEMM reports a non-finite sum before its bias and activation (a relu or a sigmoid
    # would turn -inf into 0), and only then is X scanned. A bad value anywhere (either end, the
    # middle, another chunk of rows, a feature whose weights are all 0, the rows of another thread)
    # is refused on every path (a wide first layer: the packed GEMM; a 4-wide one: its transpose,
    # packed or dot products); a finite X whose sums overflow, and NaN weights, give the results
    # of the unchecked layer-by-layer kernels, not an error.
    width, act = first
    fastnn.set_simd_path(simd)  # (restored by conftest)
    model = fastnn.Sequential([fastnn.Dense(40, width, act), fastnn.Dense(width, 3, "identity")],
                              dtype=dtype, seed=4)
    model.layers[0].weight[:, 7] = 0.0
    X = np.random.default_rng(5).random((2500, 40)).astype(dtype)

    def unchecked(x):
        a = K.dense_forward(x, model.layers[0].weight, model.layers[0].bias, act, check_finite=False)
        return K.dense_forward(a, model.layers[1].weight, model.layers[1].bias, "identity", check_finite=False)

    for threads in (1, 2, 3):
        fastnn.set_num_threads(threads)
        for n in (17, 200, 2500):
            for row, col in [(0, 0), (n - 1, 39), (n // 2, 7), (n // 2 + 1, 20)]:
                for bad in (np.nan, np.inf, -np.inf):
                    Xb = X[:n].copy()
                    Xb[row, col] = bad
                    with pytest.raises(ValueError, match="NaN or infinity"):
                        model.forward(Xb)
        huge = X * np.finfo(dtype).max  # finite, but the sums overflow
        sums = K.dense_forward(huge, model.layers[0].weight, None, "identity", check_finite=False)
        assert not np.isfinite(sums).all()
        np.testing.assert_array_equal(model.forward(huge), unchecked(huge))
    model.layers[0].weight[2, 3] = np.nan
    np.testing.assert_array_equal(model.forward(X), unchecked(X))


def test_network_binding_follows_replaced_parameters_and_activation():
    model = fastnn.Sequential([fastnn.Dense(4, 3, "sigmoid"), fastnn.Dense(3, 2, "identity")], seed=0)
    X = np.arange(8, dtype=np.float32).reshape(2, 4) / 8
    model.forward(X)
    net = model._network(False)
    assert model._network(False) is net  # bound once, reused
    model.layers[0].weight = np.zeros((3, 4))  # a new array: rebound
    second = model.forward(X)
    assert model._network(False) is not net
    assert np.allclose(second, np.full((2, 3), 0.5) @ model.layers[1].weight.T + model.layers[1].bias)
    model.layers[0].activation = "relu"
    assert np.allclose(model.forward(X), model.layers[1].bias)  # relu(0) = 0
    model.layers[0].weight[...] = 1.0  # in place: the same array, no rebinding needed
    assert np.allclose(model.forward(X), np.maximum(X.sum(axis=1, keepdims=True), 0).repeat(3, 1)
                       @ model.layers[1].weight.T + model.layers[1].bias, atol=1e-6)
    # A shared bias or a step output takes the per-layer path.
    assert fastnn.Sequential([fastnn.Dense(4, 3, bias="shared")])._network(False) is None


def test_forward_fast_path_agrees_with_the_general_path_for_every_input_form():
    model = fastnn.Sequential([fastnn.Dense(5, 7, "tanh"), fastnn.Dense(7, 3, "softmax")], seed=2)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 5)).astype(np.float32)
    want = model.forward_prepared(X)
    forms = [X, np.asfortranarray(X), X.astype(np.float64), X[::-1][::-1], np.repeat(X, 2, axis=1)[:, ::2],
             X.tolist(), X[:0]]
    for form in forms:
        got = model.forward(form)
        n = len(form)
        assert got.shape == (n, 3) and got.dtype == np.float32
        assert np.array_equal(got, want[:n])
    assert np.array_equal(model.forward(X[2]), want[2])  # one sample
    bad = X.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.forward(bad)
    with pytest.raises(ValueError, match="features"):
        model.forward(X[:, :4])
    # Rebinding after a layer change is seen by the fast path too.
    model.layers[1].bias = np.array([100.0, 0.0, 0.0])
    assert np.allclose(model.forward(X)[:, 0], 1.0)


def test_predict_proba_and_evaluate():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 4))
    y = rng.integers(0, 3, 30)
    model = fastnn.Sequential([fastnn.Dense(4, 8, "tanh"), fastnn.Dense(8, 3, "softmax")], dtype="float64", seed=0)
    P = model.predict_proba(X)
    assert P.shape == (30, 3) and np.allclose(P.sum(axis=1), 1)
    assert np.array_equal(model.predict(X), P.argmax(axis=1))
    ev = model.evaluate(X, y)
    assert ev["accuracy"] == pytest.approx(np.mean(P.argmax(axis=1) == y))
    assert ev["loss"] == pytest.approx(-np.mean(np.log(P[np.arange(30), y])), rel=1e-10)
    # one sample as a 1-D array gives a 1-D output
    assert model.forward(X[0]).shape == (3,)
    binary = fastnn.Sequential([fastnn.Dense(4, 1, "sigmoid")], dtype="float64", seed=0)
    p = binary.forward(X)[:, 0]
    assert np.array_equal(binary.predict(X), (p >= 0.5).astype(int))
    assert np.allclose(binary.predict_proba(X), np.c_[1 - p, p])
    with pytest.raises(ValueError, match="predict_proba"):
        fastnn.Sequential([fastnn.Dense(4, 2, "tanh")]).predict_proba(X)


@pytest.mark.parametrize("X,exc,match", [
    (np.ones((3, 5)), ValueError, "5 features but the model expects 4"),
    (np.ones((2, 3, 4)), ValueError, "shape"),
    (np.full((3, 4), np.nan), ValueError, "NaN"),
    (np.ones((3, 4), dtype=complex), TypeError, "numeric"),
    (np.array([["a"] * 4] * 3, dtype=object), TypeError, "numeric"),
])
def test_bad_inputs(X, exc, match):
    model = fastnn.Sequential([fastnn.Dense(4, 2)])
    with pytest.raises(exc, match=match):
        model.predict(X)


def test_integer_inputs_are_converted():
    model = fastnn.Sequential([fastnn.Dense(4, 2, "identity")], dtype="float64", seed=0)
    Xi = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.allclose(model.forward(Xi), model.forward(Xi.astype(float)))


# ---- state, saving, pickling --------------------------------------------------------

def _model(dtype="float32"):
    layers = [fastnn.Dense(4, 6, "tanh", bias="shared"), fastnn.Dense(6, 5, "relu", bias=False,
                                                                      trainable=("weight",)),
              fastnn.Dense(5, 3, "softmax")]
    return fastnn.Sequential(layers, dtype=dtype, seed=3)


def test_state_dict_round_trip_and_checks():
    m = _model()
    state = m.state_dict()
    m2 = _model()
    for _, arr in m2.named_parameters():
        arr[...] = 0
    m2.load_state_dict(state)
    assert all(np.array_equal(a, state[k]) for k, a in m2.named_parameters())
    bad = dict(state)
    bad["0.weight"] = np.zeros((2, 2))
    before = m2.state_dict()
    with pytest.raises(ValueError, match="0.weight"):
        m2.load_state_dict(bad)
    assert all(np.array_equal(a, before[k]) for k, a in m2.named_parameters())  # nothing half-set
    with pytest.raises(ValueError, match="missing"):
        m2.load_state_dict({"0.weight": state["0.weight"]})


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_load_round_trip(tmp_path, dtype):
    m = _model(dtype)
    X = np.random.default_rng(0).standard_normal((7, 4))
    path = tmp_path / "model.fnn"
    m.save(path)
    m2 = fastnn.load(path)
    assert m2.dtype == dtype
    assert [layer.config() for layer in m2.layers] == [layer.config() for layer in m.layers]
    assert np.array_equal(m2.forward(X), m.forward(X))
    assert m2[1].trainable == frozenset({"weight"}) and m2[0].bias_mode == "shared"


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.fnn"
    _model().save(path)
    original = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        _model("float64").save(path)
    assert path.read_bytes() == original
    assert sorted(os.listdir(tmp_path)) == ["model.fnn"]  # no temporary file left


def test_damaged_and_foreign_files_are_rejected(tmp_path):
    path = tmp_path / "model.fnn"
    _model().save(path)
    data = path.read_bytes()
    cases = {
        "truncated": data[: len(data) // 2],
        "flipped": data[:200] + bytes(b ^ 0xFF for b in data[200:260]) + data[260:],
        "text": b"hello, not a model\n",
        "empty": b"",
    }
    for name, blob in cases.items():
        p = tmp_path / f"{name}.fnn"
        p.write_bytes(blob)
        with pytest.raises(fastnn.ModelFileError, match="not a valid fastnn model file") as info:
            fastnn.load(p)
        assert "pickle" not in str(info.value)  # (np.load's advice for non-archives would mention it)
    with pytest.raises(fastnn.ModelFileError, match="it starts with b'hello, not a mod', not a zip header"):
        fastnn.load(tmp_path / "text.fnn")
    with pytest.raises(fastnn.ModelFileError, match="it is empty"):
        fastnn.load(tmp_path / "empty.fnn")
    npy = tmp_path / "weights.npy"
    np.save(npy, np.arange(3.0))
    with pytest.raises(fastnn.ModelFileError, match=r"a single NumPy array \(\.npy\)"):
        fastnn.load(npy)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(fastnn.ModelFileError, match="header"):
        fastnn.load(foreign)
    # a newer version in the header
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    hdr = np.load(path)["__config__"].tobytes().decode().replace('"version": 1', '"version": 99')
    newer = tmp_path / "newer.fnn"
    arrays = {k: v for k, v in np.load(path).items()}
    arrays["__config__"] = np.frombuffer(hdr.encode(), dtype=np.uint8)
    with open(newer, "wb") as f:  # (a path not ending in .npz would get ".npz" appended)
        np.savez(f, **arrays)
    with pytest.raises(fastnn.ModelFileError, match="version 99"):
        fastnn.load(newer)
    assert members  # the archive itself was readable
    with pytest.raises(FileNotFoundError):
        fastnn.load(tmp_path / "missing.fnn")


def test_pickle_round_trip():
    m = _model()
    X = np.random.default_rng(0).standard_normal((3, 4))
    m2 = pickle.loads(pickle.dumps(m))
    assert np.array_equal(m2.forward(X), m.forward(X))
    assert m2 is not m and all(np.array_equal(a, b) for (_, a), (_, b) in zip(m.named_parameters(), m2.named_parameters()))


def test_summary_and_repr():
    m = _model()
    assert "total parameters: " in m.summary() and "shared" in m.summary()
    assert repr(m).startswith("Sequential([")
