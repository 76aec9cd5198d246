"""The C API table (fastnn._core._C_API, include/fastnn/fastnn_api.h),
called through ctypes: every entry point gives the same numbers as
fastnn.kernels, and a NULL array, a bad dimension, an unknown activation or
a non-finite rate comes back as FNN_ERR_ARG with nothing written: never a
crash.  (tests/test_downstream.py builds real consumers; this reaches every
function without a compiler.)"""

from __future__ import annotations

import ctypes as C

import numpy as np
import pytest

import fastnn
from fastnn import _core

OK, ERR_NOMEM, ERR_ARG, ERR_LABEL, ERR_NONFINITE = 0, 1, 2, 3, 4
i, d, f, sz, pd = C.c_int, C.c_double, C.c_float, C.c_size_t, C.c_ssize_t
vp = C.c_void_p


def _fn(*args):
    return C.CFUNCTYPE(C.c_int, *args)


# The table, field for field as in fastnn_api.h (vp: any array pointer).
class Table(C.Structure):
    _fields_ = [
        ("version", i), ("minor", i), ("size", sz),
        ("status_message", C.CFUNCTYPE(C.c_char_p, i)),
        ("get_num_threads", C.CFUNCTYPE(i)), ("set_num_threads", _fn(i)),
        ("gemm_f32", _fn(i, i, i, f, vp, pd, pd, vp, pd, pd, f, vp, pd, vp, i, f)),
        ("gemm_f64", _fn(i, i, i, d, vp, pd, pd, vp, pd, pd, d, vp, pd, vp, i, d)),
        ("dense_forward_f32", _fn(i, i, i, vp, vp, vp, i, f, vp)),
        ("dense_forward_f64", _fn(i, i, i, vp, vp, vp, i, d, vp)),
        ("dense_backward_f32", _fn(i, i, i, vp, vp, vp, vp, i, f, vp, vp, vp, vp)),
        ("dense_backward_f64", _fn(i, i, i, vp, vp, vp, vp, i, d, vp, vp, vp, vp)),
        ("dense_backward_sgd_f32", _fn(i, i, i, vp, vp, vp, vp, vp, f, i, f, vp, vp, vp)),
        ("dense_backward_sgd_f64", _fn(i, i, i, vp, vp, vp, vp, vp, d, i, d, vp, vp, vp)),
        ("network_forward_f32", _fn(i, vp, i, vp)), ("network_forward_f64", _fn(i, vp, i, vp)),
        ("network_train_step_f32", _fn(i, vp, vp, vp, i, vp, vp, vp, vp)),
        ("network_train_step_f64", _fn(i, vp, vp, vp, i, vp, vp, vp, vp)),
        ("activation_f32", _fn(vp, sz, i, f)), ("activation_f64", _fn(vp, sz, i, d)),
        ("activation_derivative_f32", _fn(vp, vp, sz, i, f)), ("activation_derivative_f64", _fn(vp, vp, sz, i, d)),
        ("softmax_f32", _fn(i, i, vp, vp)), ("softmax_f64", _fn(i, i, vp, vp)),
        ("softmax_cross_entropy_f32", _fn(i, i, vp, vp, vp, vp, vp, vp)),
        ("softmax_cross_entropy_f64", _fn(i, i, vp, vp, vp, vp, vp, vp)),
        ("sigmoid_bce_f32", _fn(i, i, vp, vp, vp, vp)), ("sigmoid_bce_f64", _fn(i, i, vp, vp, vp, vp)),
        ("half_squared_error_f32", _fn(i, i, vp, vp, vp, vp)), ("half_squared_error_f64", _fn(i, i, vp, vp, vp, vp)),
        ("mse_f32", _fn(i, i, vp, vp, vp, vp)), ("mse_f64", _fn(i, i, vp, vp, vp, vp)),
        ("sgd_update_f32", _fn(vp, vp, sz, f)), ("sgd_update_f64", _fn(vp, vp, sz, d)),
        ("sgd_momentum_update_f32", _fn(vp, vp, vp, sz, f, f, i, f)),
        ("sgd_momentum_update_f64", _fn(vp, vp, vp, sz, d, d, i, d)),
        ("adam_update_f32", _fn(vp, vp, vp, vp, sz, f, f, f, f, f, f, f)),
        ("adam_update_f64", _fn(vp, vp, vp, vp, sz, d, d, d, d, d, d, d)),
    ]


class DenseLayer64(C.Structure):
    _fields_ = [("in_features", i), ("out_features", i), ("w", vp), ("b", vp), ("act", i), ("slope", d),
                ("softmax", i), ("a", vp)]


class TrainLayer64(C.Structure):
    _fields_ = [("in_features", i), ("out_features", i), ("w", vp), ("b", vp), ("act", i), ("slope", d),
                ("train", i), ("lr", d), ("a", vp), ("g", vp), ("db", vp), ("dw", vp), ("m_w", vp), ("v_w", vp),
                ("m_b", vp), ("v_b", vp)]


@pytest.fixture(scope="module")
def api() -> Table:
    get = C.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = C.c_void_p, [C.py_object, C.c_char_p]
    table = Table.from_address(get(_core._C_API, b"fastnn._core._C_API"))
    return table


def p(a: np.ndarray | None) -> int | None:
    return None if a is None else a.ctypes.data


def test_the_table_describes_itself(api):
    assert (api.version, api.minor) == (1, 0)
    assert api.size == C.sizeof(Table)  # the ctypes mirror above has every field
    assert api.status_message(OK) == b"success"
    assert b"bad argument" in api.status_message(ERR_ARG) and b"label" in api.status_message(ERR_LABEL)
    assert b"NaN or an infinity" in api.status_message(ERR_NONFINITE)
    assert api.status_message(42) == b"unknown status"


def test_threads(api):
    n = fastnn.get_num_threads()
    try:
        assert api.get_num_threads() == n
        assert api.set_num_threads(1) == OK and fastnn.get_num_threads() == 1
        assert api.set_num_threads(0) == ERR_ARG and api.set_num_threads(-3) == ERR_ARG
    finally:
        fastnn.set_num_threads(n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_kernels_equal_the_python_api(api, dtype):
    sfx = "f32" if dtype == np.float32 else "f64"
    rng = np.random.default_rng(0)
    X, W, b = (rng.standard_normal(s).astype(dtype) for s in ((13, 7), (5, 7), (5,)))
    A = np.empty((13, 5), dtype)
    assert getattr(api, f"dense_forward_{sfx}")(13, 7, 5, p(X), p(W), p(b), 2, 0.0, p(A)) == OK
    assert np.array_equal(A, fastnn.kernels.dense_forward(X, W, b, "tanh"))

    dA = rng.standard_normal((13, 5)).astype(dtype)
    dZ, dW, db, dX = np.empty_like(dA), np.empty_like(W), np.empty_like(b), np.empty_like(X)
    assert getattr(api, f"dense_backward_{sfx}")(13, 7, 5, p(dA), p(A), p(X), p(W), 2, 0.0, p(dZ), p(dW), p(db),
                                                p(dX)) == OK
    for got, want in zip((dW, db, dX), fastnn.kernels.dense_backward(dA, A, X, W, "tanh")):
        assert np.array_equal(got, want)

    W2, b2 = W.copy(), b.copy()
    work = np.empty_like(b)
    assert getattr(api, f"dense_backward_sgd_{sfx}")(13, 7, 5, p(dA), p(A), p(X), p(W2), p(b2), 0.1, 2, 0.0,
                                                    p(dZ), p(work), p(dX)) == OK
    W3, b3 = W.copy(), b.copy()
    dX3 = fastnn.kernels.dense_backward_sgd(dA, A, X, W3, b3, 0.1, "tanh")
    assert np.array_equal(W2, W3) and np.array_equal(b2, b3) and np.array_equal(dX, dX3)

    C_ = np.zeros((13, 5), dtype)
    assert getattr(api, f"gemm_{sfx}")(13, 5, 7, 1.0, p(X), 7, 1, p(W), 1, 7, 0.0, p(C_), 5, p(b), 3, 0.0) == OK
    assert np.array_equal(C_, fastnn.kernels.dense_forward(X, W, b, "relu"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_losses_and_updates_equal_the_python_api(api, dtype):
    sfx = "f32" if dtype == np.float32 else "f64"
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((6, 4)).astype(dtype)
    z = Z.copy()
    assert getattr(api, f"activation_{sfx}")(p(z), z.size, 5, 0.0) == OK
    assert np.array_equal(z, fastnn.kernels.activation("softplus", Z))
    dd = np.empty_like(z)
    assert getattr(api, f"activation_derivative_{sfx}")(p(z), p(dd), z.size, 5, 0.0) == OK
    assert np.array_equal(dd, fastnn.kernels.activation_derivative("softplus", z))
    P = np.empty_like(Z)
    assert getattr(api, f"softmax_{sfx}")(6, 4, p(Z), p(P)) == OK
    assert np.array_equal(P, fastnn.kernels.softmax(Z))

    labels = np.array([0, 3, 1, 2, 2, 0], dtype=np.int64)
    dZ, loss, correct = np.empty_like(Z), C.c_double(), C.c_int64()
    assert getattr(api, f"softmax_cross_entropy_{sfx}")(6, 4, p(Z), p(labels), None, p(dZ), C.addressof(loss),
                                                       C.addressof(correct)) == OK
    want_loss, want_grad = fastnn.kernels.softmax_cross_entropy(Z, labels)
    assert loss.value == want_loss and np.array_equal(dZ, want_grad)
    assert correct.value == int(np.sum(np.argmax(Z, axis=1) == labels))
    bad = labels.copy()
    bad[2] = 4
    assert getattr(api, f"softmax_cross_entropy_{sfx}")(6, 4, p(Z), p(bad), None, p(dZ), C.addressof(loss),
                                                       None) == ERR_LABEL

    T = rng.random((6, 4)).astype(dtype)
    for name in ("sigmoid_binary_cross_entropy", "half_squared_error", "mse"):
        entry = {"sigmoid_binary_cross_entropy": "sigmoid_bce"}.get(name, name)
        grad = np.empty_like(Z)
        assert getattr(api, f"{entry}_{sfx}")(6, 4, p(Z), p(T), p(grad), C.addressof(loss)) == OK
        want_loss, want_grad = getattr(fastnn.kernels, name)(Z, T)
        assert loss.value == want_loss and np.array_equal(grad, want_grad), name

    prm, g = rng.standard_normal(9).astype(dtype), rng.standard_normal(9).astype(dtype)
    a, b_ = prm.copy(), prm.copy()
    assert getattr(api, f"sgd_update_{sfx}")(p(a), p(g), 9, 0.5) == OK
    fastnn.kernels.sgd_update(b_, g, 0.5)
    assert np.array_equal(a, b_)
    v = np.zeros_like(prm)
    assert getattr(api, f"sgd_momentum_update_{sfx}")(p(a), p(g), p(v), 9, 0.1, 0.9, 1, 0.01) == OK
    m, v = np.zeros_like(prm), np.zeros_like(prm)
    assert getattr(api, f"adam_update_{sfx}")(p(a), p(g), p(m), p(v), 9, 0.01, 0.9, 0.999, 1e-8, 0.0, 0.1,
                                             0.001) == OK
    assert np.all(np.isfinite(a)) and np.all(v > 0)


def test_network_forward_and_train_step_equal_the_model(api):
    rng = np.random.default_rng(2)
    model = fastnn.Sequential([fastnn.Dense(6, 8, "relu"), fastnn.Dense(8, 3, "softmax")], dtype="float64", seed=0)
    X = rng.standard_normal((10, 6))
    acts = [np.empty((10, 8)), np.empty((10, 3))]
    layers = (DenseLayer64 * 2)(*[DenseLayer64(L.in_features, L.out_features, p(L.weight), p(L.bias),
                                               L.kernel_code, 0.01, int(L.activation == "softmax"), p(a))
                                  for L, a in zip(model.layers, acts)])
    assert api.network_forward_f64(10, p(X), 2, C.addressof(layers)) == OK
    assert np.array_equal(acts[1], model.forward(X))

    y = rng.integers(0, 3, 10).astype(np.int64)
    other = fastnn.Sequential([fastnn.Dense(6, 8, "relu"), fastnn.Dense(8, 3, "softmax")], dtype="float64", seed=0)
    work = [(np.empty((10, L.out_features)), np.empty((10, L.out_features)), np.empty(L.out_features))
            for L in other.layers]
    ws = [L.weight.copy() for L in other.layers]
    bs = [L.bias.copy() for L in other.layers]
    tl = (TrainLayer64 * 2)(*[TrainLayer64(L.in_features, L.out_features, p(w), p(b), c, 0.01, 1, 0.2, p(a), p(g),
                                           p(db_), None, None, None, None, None)
                              for L, w, b, c, (a, g, db_) in zip(other.layers, ws, bs, [3, 0], work)])
    loss, correct = C.c_double(), C.c_int64()
    assert api.network_train_step_f64(10, p(X), p(y), None, 2, C.addressof(tl), None, C.addressof(loss),
                                      C.addressof(correct)) == OK
    want = fastnn.Trainer(other, "cross_entropy", fastnn.SGD(0.2), batch_size=10).step(X, y)
    assert loss.value == want
    for L, w, b in zip(other.layers, ws, bs):
        assert np.array_equal(L.weight, w) and np.array_equal(L.bias, b)


def test_bad_arguments_are_status_codes_and_nothing_is_written(api):
    X, W, b = np.ones((4, 3)), np.ones((2, 3)), np.ones(2)
    A = np.full((4, 2), 7.0)
    calls = {
        "NULL input": lambda: api.dense_forward_f64(4, 3, 2, None, p(W), p(b), 0, 0.0, p(A)),
        "NULL weights": lambda: api.dense_forward_f64(4, 3, 2, p(X), None, p(b), 0, 0.0, p(A)),
        "NULL output": lambda: api.dense_forward_f64(4, 3, 2, p(X), p(W), p(b), 0, 0.0, None),
        "negative rows": lambda: api.dense_forward_f64(-1, 3, 2, p(X), p(W), p(b), 0, 0.0, p(A)),
        "zero width": lambda: api.dense_forward_f64(4, 0, 2, p(X), p(W), p(b), 0, 0.0, p(A)),
        "huge width": lambda: api.dense_forward_f64(4, 2**31 - 1, 2, p(X), p(W), p(b), 0, 0.0, p(A)),
        "unknown activation": lambda: api.dense_forward_f64(4, 3, 2, p(X), p(W), p(b), 99, 0.0, p(A)),
        "negative slope": lambda: api.dense_forward_f64(4, 3, 2, p(X), p(W), p(b), 4, -1.0, p(A)),
        "NaN slope": lambda: api.dense_forward_f64(4, 3, 2, p(X), p(W), p(b), 4, float("nan"), p(A)),
        "gemm ldc < n": lambda: api.gemm_f64(4, 2, 3, 1.0, p(X), 3, 1, p(W), 1, 3, 0.0, p(A), 1, None, 0, 0.0),
        "backward NULL dz": lambda: api.dense_backward_f64(4, 3, 2, p(A), p(A), p(X), p(W), 0, 0.0, None, None,
                                                           None, None),
        "sgd NaN lr": lambda: api.dense_backward_sgd_f64(4, 3, 2, p(A), p(A), p(X), p(W), p(b), float("nan"), 0,
                                                         0.0, p(A.copy()), p(b.copy()), None),
        "network NULL layers": lambda: api.network_forward_f64(4, p(X), 1, None),
        "network zero layers": lambda: api.network_forward_f64(4, p(X), 0, None),
        "step NULL loss": lambda: api.network_train_step_f64(4, p(X), None, None, 1, None, None, None, None),
        "activation NULL": lambda: api.activation_f64(None, 5, 1, 0.0),
        "softmax NULL": lambda: api.softmax_f64(4, 2, None, p(A)),
        "cross-entropy without targets": lambda: api.softmax_cross_entropy_f64(4, 2, p(A), None, None, p(A.copy()),
                                                                               C.addressof(C.c_double()), None),
        "mse NULL loss": lambda: api.mse_f64(4, 2, p(A), p(A), p(A.copy()), None),
        "sgd update NULL": lambda: api.sgd_update_f64(None, p(b), 2, 0.1),
        "momentum inf lr": lambda: api.sgd_momentum_update_f64(p(b.copy()), p(b), p(b.copy()), 2, float("inf"),
                                                               0.9, 0, 0.0),
        "adam eps 0": lambda: api.adam_update_f64(p(b.copy()), p(b), p(b.copy()), p(b.copy()), 2, 0.1, 0.9, 0.99,
                                                  0.0, 0.0, 0.1, 0.01),
        "adam bc1 0": lambda: api.adam_update_f64(p(b.copy()), p(b), p(b.copy()), p(b.copy()), 2, 0.1, 0.9, 0.99,
                                                  1e-8, 0.0, 0.0, 0.01),
    }
    for what, call in calls.items():
        assert call() == ERR_ARG, what
    assert np.all(A == 7.0)  # nothing written by any of them

    # a chain that does not fit, and a layer without its arrays
    acts = [np.empty((4, 2)), np.empty((4, 2))]
    layers = (DenseLayer64 * 2)(DenseLayer64(3, 2, p(W), p(b), 0, 0.0, 0, p(acts[0])),
                                DenseLayer64(5, 2, p(W), p(b), 0, 0.0, 0, p(acts[1])))
    assert api.network_forward_f64(4, p(X), 2, C.addressof(layers)) == ERR_ARG
    layers[1].in_features, layers[1].a = 2, None
    assert api.network_forward_f64(4, p(X), 2, C.addressof(layers)) == ERR_ARG
    # empty arrays may be NULL
    assert api.dense_forward_f64(0, 3, 2, None, p(W), None, 0, 0.0, None) == OK
    assert api.activation_f64(None, 0, 1, 0.0) == OK
