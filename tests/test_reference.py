"""The pure-NumPy reference (fastnn.reference) against independent computations.

* tiny cases redone with explicit Python loops and the ``math`` module;
* the worked 2-2-2 example of the lecture notes (notes 004) and the 2-2-1
  example of notes 002, values recomputed here scalar by scalar;
* central finite differences (float64) for every activation derivative,
  every loss gradient and the dense layer's backward pass;
* numerical robustness (huge logits) and dtype preservation.

The reference is pure NumPy, so this file loads it straight from the source
tree when the compiled package cannot be imported (e.g. before a build).
"""

import importlib.util
import math
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    from fastnn import reference as R
except ImportError:  # compiled core not built yet: load the file directly
    _path = pathlib.Path(__file__).resolve().parents[1] / "src" / "fastnn" / "reference.py"
    _spec = importlib.util.spec_from_file_location("fastnn_reference", _path)
    R = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(R)

ACTS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus")
FAST = settings(max_examples=25, deadline=None)


# --------------------------------------------------------------------------
# scalar, loop-based re-implementations (independent of NumPy vectorisation)
# --------------------------------------------------------------------------

def s_act(name, z, slope=0.01):
    if name == "identity":
        return z
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-z))
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return z if z > 0 else 0.0
    if name == "leaky_relu":
        # notes 004: f(x) = eps x + (1 - eps) max(0, x)
        return slope * z + (1.0 - slope) * max(0.0, z)
    if name == "softplus":
        return math.log(1.0 + math.exp(z))
    raise AssertionError(name)


def s_act_prime_of_z(name, z, slope=0.01):
    """d g / d z written in terms of z (NOT of the output)."""
    if name == "identity":
        return 1.0
    if name == "sigmoid":
        s = 1.0 / (1.0 + math.exp(-z))
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 / math.cosh(z) ** 2
    if name == "relu":
        return 1.0 if z > 0 else 0.0
    if name == "leaky_relu":
        return 1.0 if z > 0 else slope
    if name == "softplus":
        return math.exp(z) / (1.0 + math.exp(z))
    raise AssertionError(name)


def loop_forward(X, W, b, name, slope=0.01):
    n, d = len(X), len(X[0])
    m = len(W)
    Z = [[sum(W[j][i] * X[s][i] for i in range(d)) + (b[j] if b is not None else 0.0)
          for j in range(m)] for s in range(n)]
    A = [[s_act(name, Z[s][j], slope) for j in range(m)] for s in range(n)]
    return Z, A


def loop_backward(dA, Z, X, W, name, slope=0.01):
    n, d, m = len(X), len(X[0]), len(W)
    dZ = [[dA[s][j] * s_act_prime_of_z(name, Z[s][j], slope) for j in range(m)] for s in range(n)]
    dW = [[sum(dZ[s][j] * X[s][i] for s in range(n)) for i in range(d)] for j in range(m)]
    db = [sum(dZ[s][j] for s in range(n)) for j in range(m)]
    dX = [[sum(dZ[s][j] * W[j][i] for j in range(m)) for i in range(d)] for s in range(n)]
    return dW, db, dX


def assert_close(got, want, rtol=1e-12, atol=1e-14):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(want, dtype=np.float64), rtol=rtol, atol=atol)


# --------------------------------------------------------------------------
# tiny hand-computed cases
# --------------------------------------------------------------------------

X_T = [[0.5, -1.2, 0.3], [-0.7, 0.1, 2.0]]
W_T = [[0.2, -0.4, 0.9], [-1.1, 0.6, 0.05]]
B_T = [0.1, -0.3]
DA_T = [[0.3, -0.8], [1.5, 0.25]]


@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("with_bias", [True, False])
def test_dense_forward_matches_loops(name, with_bias):
    b = B_T if with_bias else None
    Z, A = loop_forward(X_T, W_T, b, name, slope=0.2)
    got = R.dense_forward(np.array(X_T), np.array(W_T), None if b is None else np.array(b),
                          name, slope=0.2)
    assert got.shape == (2, 2)
    assert_close(got, A)
    # the loop-computed Z avoids 0 so relu/leaky_relu really branch both ways
    assert min(abs(z) for row in Z for z in row) > 0.05


@pytest.mark.parametrize("name", ACTS)
def test_dense_backward_matches_loops(name):
    Z, A = loop_forward(X_T, W_T, B_T, name, slope=0.2)
    dW_l, db_l, dX_l = loop_backward(DA_T, Z, X_T, W_T, name, slope=0.2)
    dW, db, dX = R.dense_backward(np.array(DA_T), np.array(A), np.array(X_T), np.array(W_T),
                                  name, slope=0.2)
    assert dW.shape == (2, 3) and db.shape == (2,) and dX.shape == (2, 3)
    assert_close(dW, dW_l)
    assert_close(db, db_l)
    assert_close(dX, dX_l)
    dW2, db2, dX2 = R.dense_backward(np.array(DA_T), np.array(A), np.array(X_T), np.array(W_T),
                                     name, slope=0.2, need_dX=False, bias=False)
    assert db2 is None and dX2 is None
    assert_close(dW2, dW_l)


@pytest.mark.parametrize("name", ACTS)
def test_activation_and_derivative_match_scalar_math(name):
    zs = [-3.1, -0.7, -0.05, 0.02, 0.4, 2.5]
    Z = np.array([zs])
    A = R.activation(name, Z, slope=0.3)
    assert_close(A, [[s_act(name, z, 0.3) for z in zs]])
    D = R.activation_derivative(name, A, slope=0.3)
    assert_close(D, [[s_act_prime_of_z(name, z, 0.3) for z in zs]], rtol=1e-11)


def test_losses_match_loops():
    Z = [[1.0, -2.0, 0.5], [0.3, 0.2, -0.1]]
    labels = [2, 0]
    n, k = 2, 3
    # categorical cross-entropy, notes 000: L = -1/n sum_i sum_k y_ik log softmax(z_i)_k
    ce, dce = 0.0, [[0.0] * k for _ in range(n)]
    for s in range(n):
        den = sum(math.exp(v) for v in Z[s])
        p = [math.exp(v) / den for v in Z[s]]
        ce -= math.log(p[labels[s]]) / n
        for j in range(k):
            dce[s][j] = (p[j] - (1.0 if j == labels[s] else 0.0)) / n
    loss, dZ = R.softmax_cross_entropy(np.array(Z), np.array(labels))
    assert isinstance(loss, float)
    assert math.isclose(loss, ce, rel_tol=1e-13)
    assert_close(dZ, dce)
    # the same through a one-hot target matrix
    Y = np.zeros((n, k))
    Y[0, 2] = Y[1, 0] = 1.0
    loss2, dZ2 = R.softmax_cross_entropy(np.array(Z), Y)
    assert math.isclose(loss2, ce, rel_tol=1e-13)
    assert_close(dZ2, dce)

    # binary cross-entropy, notes 004: H = -mean[t log s + (1-t) log(1-s)]
    T = [[0.0, 1.0, 0.3], [1.0, 0.5, 0.0]]
    bce, dbce = 0.0, [[0.0] * k for _ in range(n)]
    for s in range(n):
        for j in range(k):
            sg = 1.0 / (1.0 + math.exp(-Z[s][j]))
            t = T[s][j]
            bce -= (t * math.log(sg) + (1 - t) * math.log(1 - sg)) / (n * k)
            dbce[s][j] = (sg - t) / (n * k)
    loss, dZ = R.sigmoid_binary_cross_entropy(np.array(Z), np.array(T))
    assert isinstance(loss, float)
    assert math.isclose(loss, bce, rel_tol=1e-13)
    assert_close(dZ, dbce)

    # half squared error (per sample 1/2 sum_k (t-y)^2, mean over samples) and MSE
    hse = sum(0.5 * (T[s][j] - Z[s][j]) ** 2 for s in range(n) for j in range(k)) / n
    ms = sum((Z[s][j] - T[s][j]) ** 2 for s in range(n) for j in range(k)) / (n * k)
    loss, dY = R.half_squared_error(np.array(Z), np.array(T))
    assert isinstance(loss, float) and math.isclose(loss, hse, rel_tol=1e-14)
    assert_close(dY, [[(Z[s][j] - T[s][j]) / n for j in range(k)] for s in range(n)])
    loss, dY = R.mse(np.array(Z), np.array(T))
    assert isinstance(loss, float) and math.isclose(loss, ms, rel_tol=1e-14)
    assert_close(dY, [[2 * (Z[s][j] - T[s][j]) / (n * k) for j in range(k)] for s in range(n)])


def test_softmax_matches_loops():
    Z = [[1.0, 2.0, 3.0], [-1.0, 0.0, 10.0]]
    want = []
    for row in Z:
        den = sum(math.exp(v) for v in row)
        want.append([math.exp(v) / den for v in row])
    assert_close(R.softmax(np.array(Z)), want)


def test_sgd_update_in_place():
    p = np.array([[1.0, -2.0], [0.5, 4.0]])
    before = p.copy()
    ident = id(p)
    assert R.sgd_update(p, np.array([[0.5, 1.0], [-2.0, 0.0]]), 0.1) is None
    assert id(p) == ident
    assert_close(p, [[0.95, -2.1], [0.7, 4.0]])
    assert not np.array_equal(p, before)


# --------------------------------------------------------------------------
# the lecture notes' worked examples
# --------------------------------------------------------------------------

def _truncated(v, digits):
    return math.floor(v * 10 ** digits) / 10 ** digits


def _example_004():
    # notes 004: X=(0.05, 0.10) -> Y=(0.01, 0.99); in_h1 = w1 i1 + w2 i2 + b1,
    # in_o1 = w5 out_h1 + w6 out_h2 + b2 (so W1=[[w1,w2],[w3,w4]], W2=[[w5,w6],[w7,w8]])
    x = np.array([[0.05, 0.10]])
    W1 = np.array([[0.15, 0.20], [0.25, 0.30]])
    b1 = np.array([0.35, 0.35])
    W2 = np.array([[0.40, 0.45], [0.50, 0.55]])
    b2 = np.array([0.60, 0.60])
    t = np.array([[0.01, 0.99]])
    return x, W1, b1, W2, b2, t


def test_notes_004_forward_and_loss():
    x, W1, b1, W2, b2, t = _example_004()
    H = R.dense_forward(x, W1, b1, "sigmoid")
    O = R.dense_forward(H, W2, b2, "sigmoid")
    loss, _ = R.half_squared_error(O, t)

    # the values computed scalar by scalar
    in_h1 = 0.15 * 0.05 + 0.20 * 0.10 + 0.35
    in_h2 = 0.25 * 0.05 + 0.30 * 0.10 + 0.35
    out_h1 = 1 / (1 + math.exp(-in_h1))
    out_h2 = 1 / (1 + math.exp(-in_h2))
    in_o1 = 0.40 * out_h1 + 0.45 * out_h2 + 0.60
    in_o2 = 0.50 * out_h1 + 0.55 * out_h2 + 0.60
    out_o1 = 1 / (1 + math.exp(-in_o1))
    out_o2 = 1 / (1 + math.exp(-in_o2))
    E = 0.5 * (0.01 - out_o1) ** 2 + 0.5 * (0.99 - out_o2) ** 2
    assert_close(H, [[out_h1, out_h2]])
    assert_close(O, [[out_o1, out_o2]])
    assert math.isclose(loss, E, rel_tol=1e-14)

    # the well-known values of this example (to the printed digits)
    assert abs(H[0, 0] - 0.593269992) < 5e-10
    assert abs(O[0, 0] - 0.75136507) < 5e-9
    assert abs(loss - 0.298371109) < 5e-10

    # the notes print values truncated (not rounded) to the digits shown
    assert in_h1 == pytest.approx(0.3775, abs=1e-15)
    assert _truncated(H[0, 0], 4) == pytest.approx(0.5932)
    assert _truncated(H[0, 1], 3) == pytest.approx(0.596)
    assert _truncated(in_o1, 3) == pytest.approx(1.105)
    assert _truncated(O[0, 0], 3) == pytest.approx(0.751)
    assert _truncated(O[0, 1], 4) == pytest.approx(0.7729)
    assert _truncated(0.5 * (0.01 - O[0, 0]) ** 2, 3) == pytest.approx(0.274)  # L_o1
    assert _truncated(0.5 * (0.99 - O[0, 1]) ** 2, 3) == pytest.approx(0.023)  # L_o2
    assert _truncated(loss, 3) == pytest.approx(0.298)                         # L_total


def test_notes_004_one_sgd_step():
    x, W1, b1, W2, b2, t = _example_004()
    lr = 0.5
    H = R.dense_forward(x, W1, b1, "sigmoid")
    O = R.dense_forward(H, W2, b2, "sigmoid")
    _, dO = R.half_squared_error(O, t)
    # chain rule printed in the notes for w5:
    # dL/dout_o1 = -(t_o1 - out_o1) = 0.741, dout/din = out(1-out) = 0.186, din/dw5 = out_h1
    g_out = float(O[0, 0] - 0.01)
    g_act = float(O[0, 0] * (1 - O[0, 0]))
    g_w5 = g_out * g_act * float(H[0, 0])
    assert _truncated(g_out, 3) == pytest.approx(0.741)
    assert _truncated(g_act, 3) == pytest.approx(0.186)
    assert _truncated(g_w5, 3) == pytest.approx(0.082)

    dW2, db2, dH = R.dense_backward(dO, O, H, W2, "sigmoid")
    assert dW2[0, 0] == pytest.approx(g_w5, rel=1e-13)

    W2n, b2n = W2.copy(), b2.copy()
    dX_h = R.dense_backward_sgd(dO, O, H, W2n, b2n, lr, "sigmoid")
    np.testing.assert_allclose(dX_h, dH, rtol=1e-15)   # dX from the weights before the update
    # well-known updated output weights (w5 is printed 0.358, w6..w8 0.408 0.511 0.561)
    assert abs(W2n[0, 0] - 0.35891648) < 5e-9
    assert abs(W2n[0, 1] - 0.408666186) < 5e-10
    assert abs(W2n[1, 0] - 0.511301270) < 5e-10
    assert abs(W2n[1, 1] - 0.561370121) < 5e-10
    for got, printed in zip(W2n.ravel(), (0.358, 0.408, 0.511, 0.561)):
        assert _truncated(got, 3) == pytest.approx(printed)
    assert_close(b2n, b2 - lr * db2)

    # hidden layer: dE/dout_h1 = dE_o1/dout_h1 + dE_o2/dout_h1 (notes 004), by hand
    d_o = [(O[0, j] - t[0, j]) * O[0, j] * (1 - O[0, j]) for j in range(2)]
    W1n = W1.copy()
    R.dense_backward_sgd(dH, H, x, W1n, None, lr, "sigmoid", need_dX=False)
    for h in range(2):
        dE_douth = d_o[0] * W2[0, h] + d_o[1] * W2[1, h]   # old w5..w8
        delta_h = dE_douth * H[0, h] * (1 - H[0, h])
        for i in range(2):
            assert W1n[h, i] == pytest.approx(W1[h, i] - lr * delta_h * x[0, i], rel=1e-14)
    # the commonly quoted values of this example after one step
    np.testing.assert_allclose(W1n, [[0.149780716, 0.19956143], [0.24975114, 0.29950229]],
                               atol=5e-9)


def test_notes_002_example():
    """Notes 002: 2-2-1 net, target 0.01, E = 1/2 (y - t)^2, lr = 0.0001."""
    x = np.array([[0.05, 0.10]])
    W1 = np.array([[0.15, 0.20], [0.25, 0.30]])
    b1 = np.array([0.35, 0.35])
    W2 = np.array([[0.40, 0.45]])
    b2 = np.array([0.60])
    t = np.array([[0.01]])
    H = R.dense_forward(x, W1, b1, "sigmoid")
    y = R.dense_forward(H, W2, b2, "sigmoid")
    loss, dy = R.half_squared_error(y, t)
    assert abs(H[0, 0] - 0.5933) < 5e-5 and abs(H[0, 1] - 0.5969) < 5e-5
    assert abs(y[0, 0] - 0.7514) < 5e-5
    assert abs(loss - 0.2748) < 5e-5
    dW2, db2, dH = R.dense_backward(dy, y, H, W2, "sigmoid")
    dW1, db1, _ = R.dense_backward(dH, H, x, W1, "sigmoid")
    assert abs(dW2[0, 0] - 0.0822) < 5e-5 and abs(dW2[0, 1] - 0.0827) < 5e-5
    assert abs(db2[0] - 0.1385) < 5e-5
    # dW1 as printed: w1 0.00067, w3 0.00075, w4 0.00150 (w2 is printed 0.00135;
    # the product of the printed factors 0.0134 x 0.10 gives 0.00134, exact 0.0013368)
    assert abs(dW1[0, 0] - 0.00067) < 5e-6
    assert abs(dW1[0, 1] - 0.0013368) < 5e-7
    assert abs(dW1[1, 0] - 0.00075) < 5e-6
    assert abs(dW1[1, 1] - 0.00150) < 5e-6
    # "a bias shared by a layer gets the sum of its neurons' gradients": 0.0134 + 0.0150
    assert abs(db1.sum() - 0.0284) < 5e-5
    # one step with lr = 1e-4: new w5 = 0.40 - 1e-4 * 0.0822 = 0.39999178
    # (the notes print 0.399927, an arithmetic slip)
    W2n = W2.copy()
    R.dense_backward_sgd(dy, y, H, W2n, b2.copy(), 1e-4, "sigmoid")
    assert W2n[0, 0] == pytest.approx(0.40 - 1e-4 * dW2[0, 0], rel=1e-15)
    assert abs(W2n[0, 0] - 0.39999178) < 5e-9


# --------------------------------------------------------------------------
# finite differences (float64, central)
# --------------------------------------------------------------------------

def central_diff(f, x, h=1e-6):
    """Gradient of scalar f at array x by central differences (x restored)."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g


def rel_err(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("name", ACTS)
@given(seed=st.integers(0, 2**32 - 1))
@FAST
def test_activation_derivative_finite_difference(name, seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=3.0, size=(4, 5))
    Z[np.abs(Z) < 0.01] = 0.5  # stay away from the relu kink
    h = 1e-6
    fd = (R.activation(name, Z + h, slope=0.07) - R.activation(name, Z - h, slope=0.07)) / (2 * h)
    A = R.activation(name, Z, slope=0.07)
    D = R.activation_derivative(name, A, slope=0.07)
    np.testing.assert_allclose(D, fd, rtol=1e-6, atol=1e-9)


def _targets(kind, rng, n, k):
    if kind == "labels":
        return rng.integers(0, k, size=n)
    if kind == "probs":
        return R.softmax(rng.normal(size=(n, k)))
    if kind in ("binary", "unnormalised"):
        return rng.uniform(0, 1, size=(n, k))
    return rng.normal(size=(n, k))


LOSSES = [
    ("softmax_cross_entropy", "labels"),
    ("softmax_cross_entropy", "probs"),
    ("softmax_cross_entropy", "unnormalised"),   # rows need not sum to one
    ("sigmoid_binary_cross_entropy", "binary"),
    ("half_squared_error", "real"),
    ("mse", "real"),
]


@pytest.mark.parametrize("loss_name,tkind", LOSSES)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), k=st.integers(1, 5))
@FAST
def test_loss_gradient_finite_difference(loss_name, tkind, seed, n, k):
    rng = np.random.default_rng(seed)
    fn = getattr(R, loss_name)
    Z = rng.normal(scale=2.0, size=(n, k))
    T = _targets(tkind, rng, n, k)
    loss, dZ = fn(Z, T)
    assert isinstance(loss, float) and np.isfinite(loss)
    assert dZ.shape == Z.shape and dZ.dtype == Z.dtype
    fd = central_diff(lambda: fn(Z, T)[0], Z)
    # rounding in the difference quotient is about eps * |loss| / h
    np.testing.assert_allclose(dZ, fd, rtol=1e-6, atol=1e-8 * max(1.0, abs(loss)))


@pytest.mark.parametrize("name", ACTS)
@given(seed=st.integers(0, 2**32 - 1))
@FAST
def test_dense_backward_finite_difference(name, seed):
    rng = np.random.default_rng(seed)
    n, d, m = 3, 4, 2
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(m, d))
    b = rng.normal(size=m)
    Z = X @ W.T + b
    if np.min(np.abs(Z)) < 1e-3:  # keep relu/leaky_relu away from their kink
        b += 0.01 + 2e-3
    G = rng.normal(size=(n, m))  # L = sum(G * A), so dL/dA = G

    def f():
        return float(np.sum(G * R.dense_forward(X, W, b, name, slope=0.1)))

    A = R.dense_forward(X, W, b, name, slope=0.1)
    dW, db, dX = R.dense_backward(G, A, X, W, name, slope=0.1)
    for got, param in ((dW, W), (db, b), (dX, X)):
        fd = central_diff(f, param)
        assert rel_err(got, fd) < 1e-6 or np.allclose(got, fd, atol=1e-9)


# --------------------------------------------------------------------------
# robustness, dtypes, properties, errors
# --------------------------------------------------------------------------

def test_stable_for_huge_inputs():
    big = np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        s = R.activation("sigmoid", big)
        sp = R.activation("softplus", big)
        p = R.softmax(big)
        ce, dce = R.softmax_cross_entropy(big, np.array([0]))
        bce, dbce = R.sigmoid_binary_cross_entropy(big, np.array([[1.0, 1.0, 0.5, 0.0, 0.0]]))
    assert s[0, 0] == 0.0 and s[0, -1] == 1.0 and s[0, 2] == 0.5
    assert math.isclose(s[0, 1], math.exp(-40) / (1 + math.exp(-40)), rel_tol=1e-14)
    assert sp[0, -1] == 1000.0 and sp[0, 0] >= 0.0
    assert math.isclose(sp[0, 1], math.log1p(math.exp(-40)), rel_tol=1e-14)
    assert math.isclose(sp[0, 2], math.log(2.0), rel_tol=1e-15)
    assert p[0, -1] == 1.0 and np.all(np.isfinite(p))
    assert ce == pytest.approx(2000.0, rel=1e-15)          # -log softmax = 1000 - (-1000)
    assert dce[0, 0] == pytest.approx(-1.0) and dce[0, -1] == pytest.approx(1.0)
    # terms: 1000 (t=1 at z=-1000), 40 + log1p(e^-40), log 2, 40 + ..., 1000
    want = (1000.0 + 40 + math.log1p(math.exp(-40)) + math.log(2.0)
            + 40 + math.log1p(math.exp(-40)) + 1000.0) / 5
    assert bce == pytest.approx(want, rel=1e-14)
    assert np.all(np.isfinite(dbce))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 4)).astype(dtype)
    W = rng.normal(size=(2, 4)).astype(dtype)
    b = rng.normal(size=2).astype(dtype)
    T = rng.uniform(size=(3, 2)).astype(dtype)
    for name in ACTS:
        A = R.dense_forward(X, W, b, name)
        assert A.dtype == dtype
        assert R.activation_derivative(name, A).dtype == dtype
        dW, db, dX = R.dense_backward(T, A, X, W, name)
        assert dW.dtype == db.dtype == dX.dtype == dtype
    assert R.softmax(X).dtype == dtype
    for fn in (R.sigmoid_binary_cross_entropy, R.half_squared_error, R.mse):
        loss, g = fn(A, T)
        assert isinstance(loss, float) and g.dtype == dtype
    loss, g = R.softmax_cross_entropy(A, np.array([0, 1, 1], dtype=np.int8))
    assert isinstance(loss, float) and g.dtype == dtype


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), k=st.integers(1, 8))
@FAST
def test_softmax_properties(seed, n, k):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=5, size=(n, k))
    P = R.softmax(Z)
    assert np.all(P >= 0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    shift = rng.normal(scale=100, size=(n, 1))
    np.testing.assert_allclose(R.softmax(Z + shift), P, rtol=1e-10, atol=1e-15)
    # integer labels and their one-hot matrix give the same loss and gradient
    y = rng.integers(0, k, size=n)
    Y = np.eye(k)[y]
    l1, g1 = R.softmax_cross_entropy(Z, y)
    l2, g2 = R.softmax_cross_entropy(Z, Y)
    assert l1 == pytest.approx(l2, rel=1e-14)
    np.testing.assert_allclose(g1, g2, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(g1, (P - Y) / n, rtol=1e-12, atol=1e-15)  # p - 1 cancels


def test_dense_backward_sgd_uses_old_weights_and_updates_in_place():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5, 3))
    W = rng.normal(size=(4, 3))
    b = rng.normal(size=4)
    A = R.dense_forward(X, W, b, "tanh")
    dA = rng.normal(size=(5, 4))
    dW, db, dX = R.dense_backward(dA, A, X, W, "tanh")
    W_old, b_old = W.copy(), b.copy()
    Wi, bi = W, b
    got = R.dense_backward_sgd(dA, A, X, W, b, 0.3, "tanh")
    assert W is Wi and b is bi
    np.testing.assert_array_equal(got, dX)
    np.testing.assert_allclose(W, W_old - 0.3 * dW, rtol=1e-15)
    np.testing.assert_allclose(b, b_old - 0.3 * db, rtol=1e-15)
    # without a bias, and without dX
    W2 = W_old.copy()
    assert R.dense_backward_sgd(dA, A, X, W2, None, 0.3, "tanh", need_dX=False) is None
    np.testing.assert_allclose(W2, W_old - 0.3 * dW, rtol=1e-15)


def test_leaky_relu_slope_and_zero_batch():
    Z = np.array([[-2.0, 3.0]])
    np.testing.assert_array_equal(R.activation("leaky_relu", Z, slope=0.25), [[-0.5, 3.0]])
    np.testing.assert_array_equal(R.activation("leaky_relu", Z, slope=0.0), [[0.0, 3.0]])
    np.testing.assert_array_equal(
        R.activation_derivative("leaky_relu", np.array([[-0.5, 3.0]]), slope=0.25), [[0.25, 1.0]])
    X = np.zeros((0, 3))
    W = np.ones((2, 3))
    assert R.dense_forward(X, W, np.ones(2), "sigmoid").shape == (0, 2)
    dW, db, dX = R.dense_backward(np.zeros((0, 2)), np.zeros((0, 2)), X, W, "sigmoid")
    np.testing.assert_array_equal(dW, np.zeros((2, 3)))
    np.testing.assert_array_equal(db, np.zeros(2))
    assert dX.shape == (0, 3)


def test_reference_errors():
    X = np.ones((2, 3))
    W = np.ones((4, 3))
    with pytest.raises(ValueError, match="unknown activation"):
        R.activation("swish", X)
    with pytest.raises(ValueError, match="slope"):
        R.activation("leaky_relu", X, slope=-0.1)
    with pytest.raises(ValueError, match=r"\bX\b"):
        R.dense_forward(np.ones(3), W)
    with pytest.raises(ValueError, match="features"):
        R.dense_forward(X, np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"\bb\b"):
        R.dense_forward(X, W, np.ones(3))
    with pytest.raises(ValueError, match="labels"):
        R.softmax_cross_entropy(np.ones((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="labels"):
        R.softmax_cross_entropy(np.ones((2, 3)), np.array([-1, 0]))
    for fn in (R.softmax_cross_entropy, R.sigmoid_binary_cross_entropy,
               R.half_squared_error, R.mse):
        with pytest.raises(ValueError, match="at least one sample"):
            T = np.zeros(0, dtype=np.int64) if fn is R.softmax_cross_entropy else np.zeros((0, 3))
            fn(np.zeros((0, 3)), T)
    ro = np.ones((4, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        R.sgd_update(ro, np.ones((4, 3)), 0.1)
    with pytest.raises(ValueError, match="read-only"):
        R.dense_backward_sgd(np.ones((2, 4)), np.ones((2, 4)), X, ro, None, 0.1)


def test_reference_scalar_arguments_type_and_value_errors():
    p = np.ones(3)
    for bad, exc in ((1.5, TypeError), (True, TypeError), (None, TypeError), (0, ValueError), (-1, ValueError)):
        with pytest.raises(exc, match="^t must be"):
            R.adam_step(p, p, p, p, bad, 0.1)
    for bad, exc in ((0.9, TypeError), ("ab", TypeError), ((0.9,), ValueError), ((0.9, 1.0), ValueError),
                     ((0.9, "a"), TypeError)):
        with pytest.raises(exc, match="^betas"):
            R.adam_step(p, p, p, p, 1, 0.1, bad)
    with pytest.raises(TypeError, match="^nesterov must be True or False"):
        R.sgd_step(p, p, p, 0.1, nesterov=1)
    with pytest.raises(ValueError, match=r"^momentum must be in \[0, 1\)"):
        R.sgd_step(p, p, p, 0.1, momentum=1.0)
    with pytest.raises(TypeError, match="^activation must be one of"):
        R.activation(None, p)
    with pytest.raises(TypeError, match="^loss must be one of"):
        R.network_gradients([np.ones((1, 3))], [None], ["sigmoid"], np.ones((2, 3)), np.ones((2, 1)), None)
    with pytest.raises(ValueError, match="^unknown loss 'foo'"):
        R.network_gradients([np.ones((1, 3))], [None], ["sigmoid"], np.ones((2, 3)), np.ones((2, 1)), "foo")
    with pytest.raises(TypeError, match="^need_dX must be True or False"):
        R.dense_backward(np.ones((2, 1)), np.ones((2, 1)), np.ones((2, 3)), np.ones((1, 3)), need_dX=0)
