"""The compiled kernels (fastnn.kernels) against the NumPy reference.

Every kernel is run in float32 and float64, with 1 and 2 threads, on EVERY
SIMD path this CPU can run, on random shapes and values (hypothesis) and on
fixed awkward shapes (1x1, batch 1, sizes that are not multiples of the
micro-tile, K = 784, and a 1000x784 -> 512 layer).

Error metric: relative error in the Frobenius norm,
||got - ref|| / max(||ref||, 1e-30), at most 1e-5 in float32 and 1e-12 in
float64.  For float32 the reference is computed in float64 from the same
float32 inputs.

Also here: finite-difference gradient checks of a two-layer network built
from the kernels, bit-for-bit repeatability, and the input validation
(dtypes, shapes, out=, NaN/inf, read-only arrays, empty batches).
"""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
from fastnn import kernels as K
from fastnn import reference as R

ACTS = R.ACTIVATIONS
DTYPES = (np.float32, np.float64)
TOL = {np.float32: 1e-5, np.float64: 1e-12}
PATHS = tuple(fastnn.simd_paths())
THREADS = (1, 2)
INT_DTYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
              np.uint64, np.intp)

# sizes that stress the tile edges (micro-tiles are up to 12 x 32)
DIM = st.one_of(st.integers(1, 40),
                st.sampled_from([1, 11, 12, 13, 31, 32, 33, 37, 47, 48, 49, 65, 97, 129]))
SEED = st.integers(0, 2**32 - 1)
HYP = settings(max_examples=30, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])

# (n, in, out): 1x1, batch 1, non-multiples of the tile, K = 784
SHAPES = [(1, 1, 1), (1, 784, 10), (1, 13, 129), (13, 37, 65), (37, 65, 129),
          (65, 129, 13), (129, 13, 37), (12, 32, 32), (24, 784, 65), (129, 784, 37)]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def engines():
    """Switch through every (SIMD path, thread count); yields a label."""
    for path in PATHS:
        for nt in THREADS:
            fastnn.set_simd_path(path)
            fastnn.set_num_threads(nt)
            yield f"simd={path} threads={nt}"


def f64(*arrays):
    return [None if a is None else np.asarray(a).astype(np.float64) for a in arrays]


def rel_err(got, ref):
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    return float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30))


def check(got, ref, dtype, what, terms=None):
    """got matches ref to the dtype's tolerance, relative to |ref| or, for a
    sum of products, to the size of its terms (``terms``: |ref| when they
    cancel is no measure of float32's honest rounding)."""
    assert isinstance(got, np.ndarray), f"{what}: not an ndarray"
    assert got.dtype == dtype, f"{what}: dtype {got.dtype}, expected {np.dtype(dtype)}"
    assert got.shape == np.shape(ref), f"{what}: shape {got.shape}, expected {np.shape(ref)}"
    err = rel_err(got, ref)
    if terms is not None:
        err = min(err, float(np.linalg.norm(np.asarray(got, np.float64) - ref) / max(terms, 1e-30)))
    assert err <= TOL[dtype], f"{what}: relative error {err:.3e} > {TOL[dtype]:.0e}"


def check_loss(got, ref, dtype, what):
    assert isinstance(got, float), f"{what}: loss is {type(got).__name__}, not float"
    err = abs(got - ref) / max(abs(ref), 1e-30)
    assert err <= TOL[dtype], f"{what}: loss {got!r} vs {ref!r}, relative error {err:.3e}"


def layer(rng, n, d, m, dtype):
    """Random X (n, d), W (m, d), b (m,) with Z = X W^T + b of order 1."""
    X = rng.normal(size=(n, d)).astype(dtype)
    W = (rng.normal(size=(m, d)) / np.sqrt(d)).astype(dtype)
    b = rng.normal(scale=0.5, size=m).astype(dtype)
    return X, W, b


def zvals(rng, shape, dtype):
    """Well-conditioned pre-activations: moderate |z| (see the module notes)."""
    return rng.uniform(-3.0, 3.0, size=shape).astype(dtype)


# --------------------------------------------------------------------------
# dense layer vs reference
# --------------------------------------------------------------------------

def run_dense_forward(n, d, m, act, dtype, seed, bias=True, slope=0.05):
    rng = np.random.default_rng(seed)
    X, W, b = layer(rng, n, d, m, dtype)
    if not bias:
        b = None
    ref = R.dense_forward(*f64(X, W, b), act, slope=slope)
    for eng in engines():
        got = K.dense_forward(X, W, b, act, slope=slope)
        check(got, ref, dtype, f"dense_forward {act} ({n},{d})->{m} bias={bias} {eng}")


def run_dense_backward(n, d, m, act, dtype, seed, need_dX=True, bias=True, slope=0.05):
    rng = np.random.default_rng(seed)
    X, W, b = layer(rng, n, d, m, dtype)
    A = R.dense_forward(X, W, b, act, slope=slope).astype(dtype)
    dA = rng.normal(size=(n, m)).astype(dtype)
    dW_r, db_r, dX_r = R.dense_backward(*f64(dA, A, X, W), act, slope=slope,
                                        need_dX=need_dX, bias=bias)
    dZ_r = np.abs(dA.astype(np.float64) * R.activation_derivative(act, A.astype(np.float64), slope=slope))
    terms_dW = np.linalg.norm(dZ_r.T @ np.abs(X.astype(np.float64)))
    terms_dX = np.linalg.norm(dZ_r @ np.abs(W.astype(np.float64)))
    for eng in engines():
        dW, db, dX = K.dense_backward(dA, A, X, W, act, slope=slope, need_dX=need_dX, bias=bias)
        what = f"dense_backward {act} ({n},{d})->{m} {eng}"
        check(dW, dW_r, dtype, what + " dW", terms=terms_dW)
        if bias:
            check(db, db_r, dtype, what + " db")
        else:
            assert db is None, what + ": db should be None with bias=False"
        if need_dX:
            check(dX, dX_r, dtype, what + " dX", terms=terms_dX)
        else:
            assert dX is None, what + ": dX should be None with need_dX=False"


def run_dense_backward_sgd(n, d, m, act, dtype, seed, need_dX=True, bias=True, slope=0.05):
    rng = np.random.default_rng(seed)
    X, W0, b0 = layer(rng, n, d, m, dtype)
    A = R.dense_forward(X, W0, b0, act, slope=slope).astype(dtype)
    dA = rng.normal(size=(n, m)).astype(dtype)
    dW_r, db_r, dX_r = R.dense_backward(*f64(dA, A, X, W0), act, slope=slope)
    # a step comparable to W itself, so that a wrong update cannot hide.  It
    # is scaled by the size of the terms summed into dW, not by dW itself:
    # when those terms cancel, dW carries float32's error of the sum and a
    # step scaled up by 1/|dW| would magnify that honest rounding.
    dZ_r = dA.astype(np.float64) * R.activation_derivative(act, A.astype(np.float64), slope=slope)
    terms = np.linalg.norm(np.abs(dZ_r).T @ np.abs(X.astype(np.float64)))
    terms_dX = np.linalg.norm(np.abs(dZ_r) @ np.abs(W0.astype(np.float64)))
    lr = 0.5 * float(np.linalg.norm(W0.astype(np.float64)) / max(terms, 1e-30))
    lr = float(dtype(lr))
    W_r = W0.astype(np.float64) - lr * dW_r
    b_r = b0.astype(np.float64) - lr * db_r
    for eng in engines():
        W, b = W0.copy(), (b0.copy() if bias else None)
        dX = K.dense_backward_sgd(dA, A, X, W, b, lr, act, slope=slope, need_dX=need_dX)
        what = f"dense_backward_sgd {act} ({n},{d})->{m} lr={lr:.3g} {eng}"
        check(W, W_r, dtype, what + " W")
        if bias:
            check(b, b_r, dtype, what + " b")
        if need_dX:
            check(dX, dX_r, dtype, what + " dX", terms=terms_dX)
        else:
            assert dX is None, what + ": dX should be None with need_dX=False"


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=DIM, d=DIM, m=DIM, act=st.sampled_from(ACTS), bias=st.booleans(), seed=SEED)
@HYP
def test_dense_forward_random(dtype, n, d, m, act, bias, seed):
    run_dense_forward(n, d, m, act, dtype, seed, bias=bias)


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=DIM, d=DIM, m=DIM, act=st.sampled_from(ACTS), need_dX=st.booleans(),
       bias=st.booleans(), seed=SEED)
@HYP
def test_dense_backward_random(dtype, n, d, m, act, need_dX, bias, seed):
    run_dense_backward(n, d, m, act, dtype, seed, need_dX=need_dX, bias=bias)


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=DIM, d=DIM, m=DIM, act=st.sampled_from(ACTS), need_dX=st.booleans(),
       bias=st.booleans(), seed=SEED)
@HYP
def test_dense_backward_sgd_random(dtype, n, d, m, act, need_dX, bias, seed):
    run_dense_backward_sgd(n, d, m, act, dtype, seed, need_dX=need_dX, bias=bias)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_dense_layer_fixed_shapes(shape, act, dtype):
    n, d, m = shape
    seed = 1000 * n + 10 * d + m
    run_dense_forward(n, d, m, act, dtype, seed)
    run_dense_forward(n, d, m, act, dtype, seed, bias=False)
    run_dense_backward(n, d, m, act, dtype, seed)
    run_dense_backward_sgd(n, d, m, act, dtype, seed)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_layer_large(dtype):
    """1000 x 784 -> 512 (the MNIST input layer of a wide network)."""
    n, d, m, act = 1000, 784, 512, "sigmoid"
    rng = np.random.default_rng(7)
    X, W0, b0 = layer(rng, n, d, m, dtype)
    dA = rng.normal(size=(n, m)).astype(dtype)
    A_r = R.dense_forward(*f64(X, W0, b0), act)
    A = A_r.astype(dtype)
    dW_r, db_r, dX_r = R.dense_backward(*f64(dA, A, X, W0), act)
    lr = 0.5 * float(np.linalg.norm(W0.astype(np.float64)) / np.linalg.norm(dW_r))
    lr = float(dtype(lr))
    for eng in engines():
        check(K.dense_forward(X, W0, b0, act), A_r, dtype, f"large forward {eng}")
        dW, db, dX = K.dense_backward(dA, A, X, W0, act)
        check(dW, dW_r, dtype, f"large backward dW {eng}")
        check(db, db_r, dtype, f"large backward db {eng}")
        check(dX, dX_r, dtype, f"large backward dX {eng}")
        W, b = W0.copy(), b0.copy()
        dX2 = K.dense_backward_sgd(dA, A, X, W, b, lr, act)
        check(dX2, dX_r, dtype, f"large sgd dX {eng}")
        check(W, W0.astype(np.float64) - lr * dW_r, dtype, f"large sgd W {eng}")
        check(b, b0.astype(np.float64) - lr * db_r, dtype, f"large sgd b {eng}")


@pytest.mark.skipif(not fastnn.build_info()["openmp"], reason="built without OpenMP")
def test_two_threads_really_run_on_large_layers():
    """The 2-thread configuration above is real: a big GEMM uses 2 threads."""
    from fastnn import _core
    rng = np.random.default_rng(0)
    X, W, b = layer(rng, 1000, 784, 512, np.float32)
    for path in PATHS:
        fastnn.set_simd_path(path)
        for nt in THREADS:
            fastnn.set_num_threads(nt)
            if fastnn.get_num_threads() < nt:
                pytest.skip(f"OpenMP allows fewer than {nt} threads here")
            K.dense_forward(X, W, b, "relu")
            assert _core.last_gemm_threads() == nt, f"simd={path}: asked for {nt} threads"


def test_dense_backward_sgd_uses_weights_before_update():
    # with a huge learning rate, dX from the updated W would be far off
    rng = np.random.default_rng(3)
    X, W, b = layer(rng, 9, 7, 5, np.float64)
    A = K.dense_forward(X, W, b, "tanh")
    dA = rng.normal(size=A.shape)
    _, _, dX_r = R.dense_backward(dA, A, X, W, "tanh")
    for eng in engines():
        W1 = W.copy()
        dX = K.dense_backward_sgd(dA, A, X, W1, None, 100.0, "tanh")
        check(dX, dX_r, np.float64, f"dX with the old W {eng}")
        assert not np.allclose(W1, W), "W was not updated"


# --------------------------------------------------------------------------
# element-wise kernels, softmax and losses vs reference
# --------------------------------------------------------------------------

ROWS = st.one_of(st.integers(1, 20), st.sampled_from([1, 13, 64, 129]))
COLS = st.one_of(st.integers(1, 40), st.sampled_from([1, 7, 8, 15, 16, 17, 31, 33, 65, 784]))


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=ROWS, k=COLS, act=st.sampled_from(ACTS), slope=st.sampled_from([0.0, 0.01, 0.3]),
       seed=SEED)
@HYP
def test_activation_and_derivative(dtype, n, k, act, slope, seed):
    rng = np.random.default_rng(seed)
    Z = zvals(rng, (n, k), dtype)
    A_r = R.activation(act, Z.astype(np.float64), slope=slope)
    A = R.activation(act, Z, slope=slope)            # valid outputs in this dtype
    D_r = R.activation_derivative(act, A.astype(np.float64), slope=slope)
    Z_before = Z.copy()
    for eng in engines():
        check(K.activation(act, Z, slope=slope), A_r, dtype, f"activation {act} {eng}")
        check(K.activation_derivative(act, A, slope=slope), D_r, dtype,
              f"activation_derivative {act} {eng}")
    np.testing.assert_array_equal(Z, Z_before)  # the input is not modified


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
def test_activation_extreme_values(act, dtype):
    Z = np.array([[-1e4, -100.0, -30.0, -1e-30, 0.0, 1e-30, 30.0, 100.0, 1e4]], dtype=dtype)
    ref = R.activation(act, Z.astype(np.float64), slope=0.02)
    for eng in engines():
        got = K.activation(act, Z, slope=0.02)
        assert np.all(np.isfinite(got)), f"{act} {eng}: non-finite output {got}"
        check(got, ref, dtype, f"activation {act} extreme {eng}")


LONG_REF = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
            "softplus": lambda z: np.logaddexp(np.longdouble(0), z)}


def ulps(got, ref, dtype):
    """|got - ref| in units of the last place of ref rounded to dtype, NaN
    where that is not a normal number (subnormal outputs may be flushed)."""
    r = ref.astype(dtype)
    err = np.abs(got.astype(np.longdouble) - ref) / np.spacing(np.abs(r)).astype(np.longdouble)
    return np.where(np.abs(r) >= np.finfo(dtype).tiny, err, np.nan)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63,
                    reason="needs an extended-precision long double for the reference")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", sorted(LONG_REF))
def test_vector_exp_activations_are_within_a_few_ulp_over_their_range(act, dtype):
    """The vectorised exp behind sigmoid, tanh and softplus (a fitted
    polynomial, one scale 2^n or two) holds a few ulp wherever the output is
    a normal number, far inside the 1e-5 / 1e-12 norm-wise tolerance: a
    wrong coefficient or scaling shows here first.  Checked in the
    standalone kernel and in the GEMM epilogue (X times the identity)."""
    rng = np.random.default_rng(7)
    lim = 110.0 if dtype is np.float32 else 760.0
    z = np.concatenate([rng.uniform(-lim, lim, 64 * 2000), rng.uniform(-4, 4, 64 * 2000),
                        [-lim, -88.7, -87.3, -20.0, -1e-3, 0.0, 1e-3, 20.0, lim]]).astype(dtype)
    z = z[: z.size // 64 * 64]
    with np.errstate(over="ignore"):
        ref = LONG_REF[act](z.astype(np.longdouble))
    eye = np.eye(64, dtype=dtype)
    for eng in engines():
        worst = np.nanmax(ulps(K.activation(act, z.reshape(1, -1))[0], ref, dtype))
        assert worst <= 6.0, f"{act} {eng}: {worst:.2f} ulp"
        worst = np.nanmax(ulps(K.dense_forward(z.reshape(-1, 64), eye, None, act).ravel(), ref, dtype))
        assert worst <= 6.0, f"{act} in the epilogue {eng}: {worst:.2f} ulp"


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_is_odd_to_the_bit_and_keeps_the_sign_of_zero(dtype):
    """tanh(-z) is -tanh(z) bit for bit, and tanh(+0) is +0 (it was -0: the
    magnitude came out of -e / (2 + e) with e = +0)."""
    z = np.concatenate([[0.0], np.geomspace(1e-30, 50.0, 999)]).astype(dtype).reshape(1, -1)
    for eng in engines():
        pos, neg = K.activation("tanh", z), K.activation("tanh", -z)
        np.testing.assert_array_equal(np.signbit(pos), np.zeros_like(pos, dtype=bool), err_msg=eng)
        np.testing.assert_array_equal(neg, -pos, err_msg=eng)
        assert np.signbit(neg[0, 0]), f"tanh(-0) is not -0 {eng}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["sigmoid", "softplus", "tanh"])
def test_activation_derivative_accurate_for_tiny_outputs(act, dtype):
    """Tiny outputs A (z very negative) keep full relative accuracy.

    softplus'(z) = 1 - e^{-A} must be evaluated as -expm1(-A): the naive
    1 - exp(-A) loses every digit once A is below the dtype's epsilon.
    """
    lo = -80.0 if dtype is np.float32 else -700.0
    z = np.linspace(lo, -8.0, 97)
    if act == "tanh":
        z = np.linspace(-1e-3, 1e-3, 97)      # 1 - A^2 near 1, A tiny and signed
    A = R.activation(act, z.reshape(1, -1)).astype(dtype)
    A = A[:, np.abs(A[0]) >= np.finfo(dtype).tiny]    # no subnormals (may be flushed)
    ref = R.activation_derivative(act, A.astype(np.float64))
    for eng in engines():
        got = K.activation_derivative(act, A)
        err = np.max(np.abs(got - ref) / np.abs(ref))
        assert err <= TOL[dtype], f"{act}' of tiny outputs {eng}: max relative error {err:.2e}"


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=ROWS, k=COLS, big=st.booleans(), seed=SEED)
@HYP
def test_softmax(dtype, n, k, big, seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=2.0, size=(n, k)).astype(dtype)
    if big:  # would overflow exp() without the max subtraction
        Z += dtype(500.0) * rng.choice([-1, 1])
    ref = R.softmax(Z.astype(np.float64))
    for eng in engines():
        P = K.softmax(Z)
        check(P, ref, dtype, f"softmax {eng}")
        np.testing.assert_allclose(P.sum(axis=1, dtype=np.float64), 1.0, rtol=10 * TOL[dtype])


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63,
                    reason="needs an extended-precision long double for the reference")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [1, 3, 10, 33, 2000])
def test_softmax_probabilities_are_within_a_few_ulp(dtype, k):
    """Each probability in the normal range within 6 ulp of the exact
    softmax, plus |z_j - max z| ulp (d = z_j - max z is rounded to the dtype
    before its exp: an error of at most |d| 2^-p in d, relative in e^d) and
    the double-precision sum's k 2^-53, over blocks of rows of every width
    the kernel sends through the vector exp at once."""
    rng = np.random.default_rng(k)
    Z = rng.uniform(-40.0, 40.0, size=(max(1000, 4000 // k), k)).astype(dtype)
    L = Z.astype(np.longdouble)
    E = np.exp(L - L.max(axis=1, keepdims=True))
    ref = E / E.sum(axis=1, keepdims=True)
    d = np.abs(Z.astype(np.float64) - Z.astype(np.float64).max(axis=1, keepdims=True))
    bound = 6.0 + d + k * np.finfo(np.float64).eps / np.finfo(dtype).eps
    for eng in engines():
        P = K.softmax(Z)
        u = ulps(P, ref, dtype)
        normal = ~np.isnan(u)
        assert np.all(u[normal] <= bound[normal]), f"softmax {eng}: {u[normal].max():.1f} ulp"
        assert np.all(P[~normal] <= 2 * np.finfo(dtype).tiny), f"softmax {eng}: tiny outputs"


LOGIT_K = st.one_of(st.integers(2, 20), st.sampled_from([2, 10, 33, 65]))


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=ROWS, k=LOGIT_K, seed=SEED, int_dtype=st.sampled_from(INT_DTYPES))
@HYP
def test_softmax_cross_entropy_labels(dtype, n, k, seed, int_dtype):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, k)).astype(dtype)
    y = rng.integers(0, k, size=n).astype(int_dtype)
    loss_r, dZ_r = R.softmax_cross_entropy(Z.astype(np.float64), y.astype(np.int64))
    for eng in engines():
        loss, dZ = K.softmax_cross_entropy(Z, y)
        what = f"softmax_cross_entropy labels {np.dtype(int_dtype)} {eng}"
        check_loss(loss, loss_r, dtype, what)
        check(dZ, dZ_r, dtype, what)


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=ROWS, k=LOGIT_K, seed=SEED, normalised=st.booleans())
@HYP
def test_softmax_cross_entropy_targets(dtype, n, k, seed, normalised):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, k)).astype(dtype)
    if normalised:  # soft targets whose rows sum to one
        Y = R.softmax(rng.normal(scale=2.0, size=(n, k))).astype(dtype)
    else:           # rows need not sum to one: dZ = (P sum_k y_k - Y) / n
        Y = rng.uniform(size=(n, k)).astype(dtype)
    loss_r, dZ_r = R.softmax_cross_entropy(*f64(Z, Y))
    for eng in engines():
        loss, dZ = K.softmax_cross_entropy(Z, Y)
        check_loss(loss, loss_r, dtype, f"softmax_cross_entropy targets {eng}")
        check(dZ, dZ_r, dtype, f"softmax_cross_entropy targets {eng}")


@pytest.mark.parametrize("dtype", DTYPES)
@given(n=ROWS, k=COLS, seed=SEED, binary=st.booleans())
@HYP
def test_sigmoid_binary_cross_entropy(dtype, n, k, seed, binary):
    rng = np.random.default_rng(seed)
    Z = zvals(rng, (n, k), dtype)
    T = (rng.integers(0, 2, size=(n, k)) if binary else rng.uniform(size=(n, k))).astype(dtype)
    loss_r, dZ_r = R.sigmoid_binary_cross_entropy(*f64(Z, T))
    for eng in engines():
        loss, dZ = K.sigmoid_binary_cross_entropy(Z, T)
        check_loss(loss, loss_r, dtype, f"sigmoid_binary_cross_entropy {eng}")
        check(dZ, dZ_r, dtype, f"sigmoid_binary_cross_entropy {eng}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["half_squared_error", "mse"])
@given(n=ROWS, k=COLS, seed=SEED)
@HYP
def test_squared_losses(dtype, name, n, k, seed):
    rng = np.random.default_rng(seed)
    Y = rng.normal(size=(n, k)).astype(dtype)
    T = rng.normal(size=(n, k)).astype(dtype)
    loss_r, dY_r = getattr(R, name)(*f64(Y, T))
    for eng in engines():
        loss, dY = getattr(K, name)(Y, T)
        check_loss(loss, loss_r, dtype, f"{name} {eng}")
        check(dY, dY_r, dtype, f"{name} {eng}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_with_huge_logits(dtype):
    Z = np.array([[1000.0, 0.0, -1000.0], [-50.0, 50.0, 0.0]], dtype=dtype)
    ce_r, dce_r = R.softmax_cross_entropy(Z.astype(np.float64), np.array([2, 0]))
    T = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]], dtype=dtype)
    bce_r, dbce_r = R.sigmoid_binary_cross_entropy(*f64(Z, T))
    for eng in engines():
        ce, dce = K.softmax_cross_entropy(Z, np.array([2, 0]))
        check_loss(ce, ce_r, dtype, f"CE huge logits {eng}")
        check(dce, dce_r, dtype, f"CE huge logits {eng}")
        bce, dbce = K.sigmoid_binary_cross_entropy(Z, T)
        check_loss(bce, bce_r, dtype, f"BCE huge logits {eng}")
        check(dbce, dbce_r, dtype, f"BCE huge logits {eng}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_single_class(dtype):
    Z = np.array([[3.0], [-2.0]], dtype=dtype)
    loss, dZ = K.softmax_cross_entropy(Z, np.array([0, 0]))
    assert loss == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(dZ, 0.0, atol=1e-7)
    np.testing.assert_allclose(K.softmax(Z), 1.0, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@given(shape=st.one_of(st.tuples(st.integers(0, 200)),
                       st.tuples(st.integers(1, 40), st.integers(1, 40))),
       lr=st.floats(1e-4, 10.0), seed=SEED)
@HYP
def test_sgd_update(dtype, shape, lr, seed):
    rng = np.random.default_rng(seed)
    P0 = rng.normal(size=shape).astype(dtype)
    G = rng.normal(size=shape).astype(dtype)
    ref = P0.astype(np.float64) - float(dtype(lr)) * G.astype(np.float64)
    for eng in engines():
        P = P0.copy()
        K.sgd_update(P, G, lr)
        check(P, ref, dtype, f"sgd_update {shape} {eng}")


# --------------------------------------------------------------------------
# finite differences through a two-layer network of compiled kernels
# --------------------------------------------------------------------------

LOSS_CASES = [
    ("softmax_cross_entropy", "labels"),
    ("softmax_cross_entropy", "probs"),
    ("softmax_cross_entropy", "probs01"),   # rows not normalised
    ("sigmoid_binary_cross_entropy", "probs01"),
    ("half_squared_error", "real"),
    ("mse", "real"),
]


def _two_layer_problem(act, seed, n=4, d=5, h=6, k=3, margin=0.05):
    """Draw a network whose pre-activations all keep |z| >= margin."""
    for s in range(seed, seed + 10_000):
        rng = np.random.default_rng(s)
        X = rng.normal(size=(n, d))
        W1 = rng.normal(scale=0.6, size=(h, d))
        b1 = rng.normal(scale=0.3, size=h)
        W2 = rng.normal(scale=0.6, size=(k, h))
        b2 = rng.normal(scale=0.3, size=k)
        Z1 = X @ W1.T + b1
        Z2 = R.activation(act, Z1, slope=0.1) @ W2.T + b2
        if act not in ("relu", "leaky_relu") or min(np.abs(Z1).min(), np.abs(Z2).min()) >= margin:
            return rng, X, W1, b1, W2, b2
    raise AssertionError("no seed found")  # pragma: no cover


@pytest.mark.parametrize("loss_name,tkind", LOSS_CASES, ids=[f"{a}-{b}" for a, b in LOSS_CASES])
@pytest.mark.parametrize("act", ACTS)
def test_two_layer_gradients_finite_difference(act, loss_name, tkind):
    rng, X, W1, b1, W2, b2 = _two_layer_problem(act, seed=ACTS.index(act) * 100 + 1)
    n, k = X.shape[0], W2.shape[0]
    T = {"labels": lambda: rng.integers(0, k, size=n),
         "probs": lambda: R.softmax(rng.normal(size=(n, k))),
         "probs01": lambda: rng.uniform(size=(n, k)),
         "real": lambda: rng.normal(size=(n, k))}[tkind]()
    loss_fn = getattr(K, loss_name)
    slope = 0.1

    def loss():
        H = K.dense_forward(X, W1, b1, act, slope=slope)
        Y = K.dense_forward(H, W2, b2, act, slope=slope)
        return loss_fn(Y, T)[0]

    H = K.dense_forward(X, W1, b1, act, slope=slope)
    Y = K.dense_forward(H, W2, b2, act, slope=slope)
    _, dY = loss_fn(Y, T)
    dW2, db2, dH = K.dense_backward(dY, Y, H, W2, act, slope=slope)
    dW1, db1, dX = K.dense_backward(dH, H, X, W1, act, slope=slope)

    eps = 1e-6
    for name, got, param in (("dW1", dW1, W1), ("db1", db1, b1), ("dW2", dW2, W2),
                             ("db2", db2, b2), ("dX", dX, X)):
        fd = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            old = param[i]
            param[i] = old + eps
            up = loss()
            param[i] = old - eps
            down = loss()
            param[i] = old
            fd[i] = (up - down) / (2 * eps)
        err = np.linalg.norm(got - fd) / max(np.linalg.norm(fd), 1e-12)
        assert err < 1e-6, f"{name}: {act} + {loss_name}: relative error {err:.2e} vs central differences"


# --------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("n,h,w", [(1, 1, 1), (7, 5, 3), (700, 28, 28)])  # 700 x 784: split across threads
def test_shift_images_matches_reference(n, h, w, dtype, nt):
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, h * w)).astype(dtype)
    reach = max(h, w) + 2  # some shifts move the whole image off
    dy, dx = rng.integers(-reach, reach + 1, n), rng.integers(-reach, reach + 1, n)
    dy[0], dx[0] = 0, 0
    fastnn.set_num_threads(nt)  # (conftest restores it)
    got = K.shift_images(X, dy, dx, (h, w), fill=-2.5)
    np.testing.assert_array_equal(got, R.shift_images(X, dy, dx, (h, w), fill=-2.5))
    np.testing.assert_array_equal(got[0], X[0])
    img = got[1:].reshape(-1, h, w)
    assert np.all(img[(np.abs(dy[1:]) >= h) | (np.abs(dx[1:]) >= w)] == -2.5)


def test_shift_images_moves_pixels_as_documented():
    X = np.arange(12, dtype=np.float64).reshape(1, 12)  # one 3 x 4 image
    got = K.shift_images(X, [1], [-2], (3, 4), fill=-1.0).reshape(3, 4)
    # down one row, left two columns
    np.testing.assert_array_equal(got, [[-1, -1, -1, -1], [2, 3, -1, -1], [6, 7, -1, -1]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nt", THREADS)
def test_bit_identical_repeats(dtype, nt):
    rng = np.random.default_rng(11)
    X, W, b = layer(rng, 300, 784, 130, dtype)
    A = K.dense_forward(X, W, b, "tanh")
    dA = rng.normal(size=A.shape).astype(dtype)
    Z = rng.normal(size=(300, 10)).astype(dtype)
    y = rng.integers(0, 10, size=300)
    for path in PATHS:
        fastnn.set_simd_path(path)
        fastnn.set_num_threads(nt)
        runs = []
        for _ in range(3):
            W1, b1 = W.copy(), b.copy()
            out = [K.dense_forward(X, W, b, "tanh"), *K.dense_backward(dA, A, X, W, "tanh"),
                   K.dense_backward_sgd(dA, A, X, W1, b1, 0.1, "tanh"), W1, b1,
                   K.softmax_cross_entropy(Z, y)[1], np.array(K.softmax_cross_entropy(Z, y)[0])]
            runs.append(out)
        for r in runs[1:]:
            for i, (a, c) in enumerate(zip(runs[0], r)):
                assert np.array_equal(a, c), f"output {i} differs between runs (simd={path}, threads={nt})"


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_batch_rows_do_not_depend_on_the_row_blocks(dtype):
    """Up to 16 rows take the dot-product path, in blocks of rows that depend
    on the batch size, over B in chunks of columns: each row comes out the
    same for every batch size from 1 to 16, and a 10-output layer's
    transposed product (10 rows of W against every row of X) gives each row
    of X the same outputs whichever chunk of columns it falls in."""
    rng = np.random.default_rng(8)
    # a K at which this CPU's row takes dot products for all 16 rows (some rows ask for K >= 24 x rows)
    k = max(300, 16 * fastnn.build_info()["kernel_config"]["dot_k_per_row"])
    X = rng.standard_normal((16, k)).astype(dtype)
    W, b = rng.standard_normal((37, k)).astype(dtype), rng.standard_normal(37).astype(dtype)
    W10, b10 = W[:10].copy(), b[:10].copy()
    # enough rows that the transposed product's columns span several chunks (a chunk holds at
    # most half the largest panel budget of the CPU table, 2 MiB, over k values a column)
    copies = 2 * (1 << 20) // (k * X.itemsize) // 16 + 3
    for path in PATHS:  # (conftest restores the selected path)
        fastnn.set_simd_path(path)
        whole = K.dense_forward(X, W, b, "tanh")
        for m in range(1, 17):
            np.testing.assert_array_equal(K.dense_forward(X[:m], W, b, "tanh"), whole[:m], err_msg=f"{path} m={m}")
        wide = K.dense_forward(np.tile(X, (copies, 1)), W10, b10, "identity").reshape(copies, 16, 10)
        for i in range(1, copies):
            np.testing.assert_array_equal(wide[i], wide[0], err_msg=f"{path} copy {i}")
        np.testing.assert_allclose(wide[0], X.astype(np.float64) @ W10.T.astype(np.float64) + b10,
                                   rtol=TOL[dtype], atol=TOL[dtype] * 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_batch_outputs_do_not_depend_on_their_place_in_a_group(dtype):
    """The dot-product path finishes four outputs at a time (their lanes summed
    together): an output comes out the same whichever of the four places its
    row of W takes, and right, for short dot products with and without a
    ragged tail.  (Rows of the CPU table that send a short K to the packed
    GEMM, K < 24 x rows, test that path at 5 rows of K 64 and 67: the same
    holds there.)"""
    rng = np.random.default_rng(9)
    for k in (64, 67, 128):
        X = rng.standard_normal((5, k)).astype(dtype)
        W, b = rng.standard_normal((12, k)).astype(dtype), rng.standard_normal(12).astype(dtype)
        want = X.astype(np.float64) @ W.T.astype(np.float64) + b
        for path in PATHS:
            fastnn.set_simd_path(path)
            for m in (1, 2, 5):
                whole = K.dense_forward(X[:m], W, b, "identity")
                np.testing.assert_allclose(whole, want[:m], rtol=TOL[dtype], atol=TOL[dtype] * 10)
                for perm in (np.arange(12)[::-1], rng.permutation(12), np.roll(np.arange(12), 1)):
                    got = K.dense_forward(X[:m], W[perm], b[perm], "identity")
                    np.testing.assert_array_equal(got, whole[:, perm], err_msg=f"{path} k={k} m={m}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ACTS)
def test_tile_edges_compute_what_whole_tiles_do(dtype, act):
    """A ragged last sliver runs a narrower micro-kernel (half or two thirds
    of the rows, one vector of columns): each element it computes is
    bit-identical to the same element computed inside a whole tile of a
    larger product.  (Rows past whole 6-row tiles: 1, 4, 0, 3, 2, 0; past
    12-row tiles: 1, 4, 6, 9, 8, 0.)"""
    rng = np.random.default_rng(5)
    X, W, b = layer(rng, 108, 300, 128, dtype)
    dA = rng.normal(size=(108, 128)).astype(dtype)
    A = K.dense_forward(X, W, b, act)
    for path in PATHS:
        fastnn.set_simd_path(path)
        fastnn.set_num_threads(1)
        whole = K.dense_forward(X, W, b, act)
        dW_whole = K.dense_backward(dA, A, X, W, act)[0]
        for rows, cols in ((97, 128), (100, 100), (102, 113), (105, 120), (104, 110), (108, 99)):
            part = K.dense_forward(X[:rows], W[:cols], b[:cols], act)
            assert np.array_equal(part, whole[:rows, :cols]), f"forward {rows}x{cols} simd={path}"
            dW = K.dense_backward(dA[:, :cols], A[:, :cols], X, W[:cols], act)[0]
            assert np.array_equal(dW, dW_whole[:cols]), f"dW {cols} outputs simd={path}"


# --------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------

def _mixed(dtype):
    return np.float64 if dtype is np.float32 else np.float32


def test_non_contiguous_and_fortran_inputs_are_accepted():
    rng = np.random.default_rng(5)
    X, W, b = layer(rng, 23, 17, 11, np.float64)
    Xf, Wf = np.asfortranarray(X), np.asfortranarray(W)
    Xs = np.repeat(X, 2, axis=1)[:, ::2]          # strided view
    bs = np.repeat(b, 3)[::3]
    assert not Xs.flags.c_contiguous and not bs.flags.c_contiguous
    A = K.dense_forward(X, W, b, "sigmoid")
    np.testing.assert_array_equal(K.dense_forward(Xf, Wf, b, "sigmoid"), A)
    np.testing.assert_array_equal(K.dense_forward(Xs, W, bs, "sigmoid"), A)
    np.testing.assert_array_equal(K.dense_forward(X, W.T.copy().T, b, "sigmoid"), A)
    dA = rng.normal(size=A.shape)
    want = K.dense_backward(dA, A, X, W, "sigmoid")
    got = K.dense_backward(np.asfortranarray(dA), np.asfortranarray(A), Xs, Wf, "sigmoid")
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    Z = rng.normal(size=(6, 9))
    Zf = np.asfortranarray(Z)
    np.testing.assert_array_equal(K.softmax(Zf), K.softmax(Z))
    np.testing.assert_array_equal(K.activation("tanh", Zf), K.activation("tanh", Z))
    y = np.repeat(np.arange(6) % 9, 2)[::2]
    assert K.softmax_cross_entropy(Zf, y)[0] == K.softmax_cross_entropy(Z, y.copy())[0]
    T = rng.uniform(size=(9, 6)).T                 # Fortran-ordered (6, 9)
    for name in ("sigmoid_binary_cross_entropy", "half_squared_error", "mse"):
        l1, g1 = getattr(K, name)(Zf, T)
        l2, g2 = getattr(K, name)(Z, T.copy())
        assert l1 == l2
        np.testing.assert_array_equal(g1, g2)
    # an in-place update of a non-contiguous parameter is either refused or
    # reaches the caller's array -- never silently applied to a copy
    P = np.zeros((4, 6))
    try:
        K.sgd_update(P[:, ::2], np.ones((4, 3)), 0.5)
    except ValueError as e:
        assert "contiguous" in str(e)
        np.testing.assert_array_equal(P, 0.0)
    else:
        np.testing.assert_array_equal(P[:, ::2], -0.5)
        np.testing.assert_array_equal(P[:, 1::2], 0.0)
    W0 = W.copy()
    Wv = np.repeat(W0, 2, axis=1)[:, ::2]
    try:
        K.dense_backward_sgd(dA, A, X, Wv, None, 0.1, "sigmoid")
    except ValueError as e:
        assert "contiguous" in str(e)
    else:
        W1 = W0.copy()
        K.dense_backward_sgd(dA, A, X, W1, None, 0.1, "sigmoid")
        assert not np.array_equal(W1, W0)
        np.testing.assert_array_equal(Wv, W1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_argument(dtype):
    rng = np.random.default_rng(2)
    X, W, b = layer(rng, 7, 5, 3, dtype)
    want = K.dense_forward(X, W, b, "relu")
    out = np.full((7, 3), np.nan, dtype=dtype)
    res = K.dense_forward(X, W, b, "relu", out=out)
    assert res is out
    np.testing.assert_array_equal(out, want)

    with pytest.raises(ValueError, match=r"\bout\b"):
        K.dense_forward(X, W, b, out=np.empty((7, 4), dtype=dtype))
    with pytest.raises((TypeError, ValueError), match=r"\bout\b"):
        K.dense_forward(X, W, b, out=np.empty((7, 3), dtype=_mixed(dtype)))
    with pytest.raises(ValueError, match=r"\bout\b"):
        K.dense_forward(X, W, b, out=np.empty((3, 7), dtype=dtype).T)      # Fortran order
    with pytest.raises(ValueError, match=r"\bout\b"):
        K.dense_forward(X, W, b, out=np.empty((7, 6), dtype=dtype)[:, ::2])  # strided
    ro = np.empty((7, 3), dtype=dtype)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"read-only|writ"):
        K.dense_forward(X, W, b, out=ro)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mixed_dtypes_raise_type_error(dtype):
    o = _mixed(dtype)
    rng = np.random.default_rng(4)
    X, W, b = layer(rng, 4, 3, 2, dtype)
    A = K.dense_forward(X, W, b)
    dA = np.ones_like(A)

    def raises(names, fn, *args, **kw):
        with pytest.raises(TypeError) as ei:
            fn(*args, **kw)
        msg = str(ei.value)
        assert any(re.search(rf"\b{n}\b", msg) for n in names), \
            f"{fn.__name__}: message {msg!r} names none of {names}"

    raises(["X", "W"], K.dense_forward, X, W.astype(o))
    raises(["X", "W"], K.dense_forward, X.astype(o), W)
    raises(["b"], K.dense_forward, X, W, b.astype(o))
    raises(["dA", "A"], K.dense_backward, dA.astype(o), A, X, W)
    raises(["X", "A", "dA"], K.dense_backward, dA, A, X.astype(o), W)
    raises(["W", "X"], K.dense_backward, dA, A, X, W.astype(o))
    raises(["b", "W"], K.dense_backward_sgd, dA, A, X, W.copy(), b.astype(o), 0.1)
    raises(["W", "X"], K.dense_backward_sgd, dA, A, X, W.astype(o), None, 0.1)
    raises(["T", "Z"], K.sigmoid_binary_cross_entropy, A, A.astype(o))
    raises(["T", "Y"], K.half_squared_error, A, A.astype(o))
    raises(["T", "Y"], K.mse, A.astype(o), A)
    raises(["y", "Z"], K.softmax_cross_entropy, A, A.astype(o))
    raises(["grad", "param"], K.sgd_update, W.copy(), W.astype(o), 0.1)


def test_unsupported_dtype_raises_type_error():
    X = np.ones((3, 4), dtype=np.int64)
    with pytest.raises(TypeError):
        K.dense_forward(X, np.ones((2, 4), dtype=np.int64))
    with pytest.raises(TypeError):
        K.activation("tanh", np.ones((2, 2), dtype=np.float16))


def test_wrong_ndim_and_shapes_raise_value_error():
    X, W, b = np.ones((4, 3)), np.ones((2, 3)), np.ones(2)
    A = K.dense_forward(X, W, b)
    dA = np.ones_like(A)

    def raises(names, fn, *args, **kw):
        with pytest.raises(ValueError) as ei:
            fn(*args, **kw)
        msg = str(ei.value)
        assert any(re.search(rf"\b{n}\b", msg) for n in names), \
            f"{fn.__name__}: message {msg!r} names none of {names}"

    # wrong ndim
    raises(["X"], K.dense_forward, np.ones(3), W)
    raises(["W"], K.dense_forward, X, np.ones((2, 3, 1)))
    raises(["b"], K.dense_forward, X, W, np.ones((1, 2)))
    raises(["dA"], K.dense_backward, np.ones(2), A, X, W)
    raises(["A"], K.dense_backward, dA, np.ones(2), X, W)
    raises(["Z"], K.softmax_cross_entropy, np.ones(3), np.array([0]))
    raises(["Z"], K.sigmoid_binary_cross_entropy, np.ones(3), np.ones(3))
    raises(["Y"], K.mse, np.ones(3), np.ones(3))
    raises(["Y"], K.half_squared_error, np.ones(3), np.ones(3))
    raises(["Z"], K.softmax, np.ones((2, 2, 2)))
    # mismatched shapes
    raises(["W", "X"], K.dense_forward, X, np.ones((2, 4)))
    raises(["b"], K.dense_forward, X, W, np.ones(3))
    raises(["dA", "A"], K.dense_backward, np.ones((4, 3)), A, X, W)
    raises(["X", "A", "dA"], K.dense_backward, dA, A, np.ones((5, 3)), W)
    raises(["W", "dA", "A"], K.dense_backward, dA, A, X, np.ones((3, 3)))
    raises(["W"], K.dense_backward_sgd, dA, A, X, np.ones((2, 4)), None, 0.1)
    raises(["b"], K.dense_backward_sgd, dA, A, X, W.copy(), np.ones(3), 0.1)
    raises(["y", "labels"], K.softmax_cross_entropy, np.ones((4, 3)), np.array([0, 1, 2]))
    raises(["y"], K.softmax_cross_entropy, np.ones((4, 3)), np.ones((4, 2)))
    raises(["T"], K.sigmoid_binary_cross_entropy, np.ones((4, 3)), np.ones((3, 4)))
    raises(["T"], K.half_squared_error, np.ones((4, 3)), np.ones((4, 2)))
    raises(["T"], K.mse, np.ones((4, 3)), np.ones((4, 2)))
    raises(["grad"], K.sgd_update, np.ones((2, 3)), np.ones((3, 2)), 0.1)


def test_bad_activation_and_labels_raise_value_error():
    X, W = np.ones((4, 3)), np.ones((2, 3))
    with pytest.raises(ValueError, match="swish"):
        K.dense_forward(X, W, None, "swish")
    with pytest.raises(ValueError, match="swish"):
        K.activation("swish", X)
    with pytest.raises(ValueError, match="slope"):
        K.activation("leaky_relu", X, slope=-0.5)
    Z = np.zeros((3, 4))
    for y in (np.array([0, 4, 1]), np.array([0, -1, 1]), np.array([0, 1, 200], dtype=np.uint8)):
        with pytest.raises(ValueError, match=r"label|\by\b"):
            K.softmax_cross_entropy(Z, y)


def test_activation_code_follows_the_registry():
    from fastnn.nn.activations import ACTIVATIONS as REGISTERED
    from fastnn.nn.activations import EPILOGUE_ACTIVATIONS, get_activation

    assert K.ACTIVATIONS == EPILOGUE_ACTIVATIONS == R.ACTIVATIONS  # the pure-NumPy oracle keeps its own copy
    for name in K.ACTIVATIONS:
        assert K.activation_code(name) == get_activation(name).code
    listed = ", ".join(map(repr, K.ACTIVATIONS))
    for name in sorted(set(REGISTERED) - set(K.ACTIVATIONS)):  # softmax, step, sign: after the GEMM
        with pytest.raises(ValueError, match=re.escape(listed)):
            K.activation_code(name)
        with pytest.raises(ValueError, match=re.escape(listed)):
            K.dense_forward(np.ones((2, 3)), np.ones((2, 3)), None, name)
    with pytest.raises(ValueError, match=re.escape(listed)):
        K.activation_code("swish")
    for bad in (None, 3, True, b"relu", ["relu"]):
        with pytest.raises(TypeError, match="^activation must be one of"):
            K.activation_code(bad)


def test_scalar_arguments_type_and_value_errors():
    X, W = np.ones((4, 3)), np.ones((2, 3))
    for kw in ({"slope": "a"}, {"slope": None}, {"slope": True}, {"check_finite": 1}, {"check_finite": "yes"}):
        with pytest.raises(TypeError, match=f"^{next(iter(kw))} must be"):
            K.dense_forward(X, W, **kw)
    for kw in ({"slope": -0.5}, {"slope": float("nan")}, {"slope": float("inf")}):
        with pytest.raises(ValueError, match="^slope must be"):
            K.dense_forward(X, W, **kw)
    for lr in ("a", None, True, [0.1]):
        with pytest.raises(TypeError, match="^lr must be a real number"):
            K.sgd_update(W.copy(), W, lr)
    for lr in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="^lr must be finite"):
            K.sgd_update(W.copy(), W, lr)


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_sized_batch(dtype):
    X = np.empty((0, 5), dtype=dtype)
    W = np.arange(15, dtype=dtype).reshape(3, 5)
    b = np.ones(3, dtype=dtype)
    A = K.dense_forward(X, W, b, "sigmoid")
    assert A.shape == (0, 3) and A.dtype == dtype
    dA = np.empty((0, 3), dtype=dtype)
    dW, db, dX = K.dense_backward(dA, A, X, W, "sigmoid")
    assert dW.shape == (3, 5) and db.shape == (3,) and dX.shape == (0, 5)
    np.testing.assert_array_equal(dW, 0)   # an empty sum is zero
    np.testing.assert_array_equal(db, 0)
    assert dW.dtype == db.dtype == dX.dtype == dtype
    W1, b1 = W.copy(), b.copy()
    dX = K.dense_backward_sgd(dA, A, X, W1, b1, 0.1, "sigmoid")
    assert dX.shape == (0, 5)
    np.testing.assert_array_equal(W1, W)
    np.testing.assert_array_equal(b1, b)
    assert K.activation("tanh", dA).shape == (0, 3)
    assert K.activation_derivative("tanh", dA).shape == (0, 3)
    assert K.softmax(dA).shape == (0, 3)
    empty = r"empty|sample"
    for name in ("sigmoid_binary_cross_entropy", "half_squared_error", "mse"):
        with pytest.raises(ValueError, match=empty):
            getattr(K, name)(dA, dA)
    with pytest.raises(ValueError, match=empty):
        K.softmax_cross_entropy(dA, np.empty(0, dtype=np.int64))
    with pytest.raises(ValueError, match=empty):
        K.softmax_cross_entropy(dA, dA)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs(bad):
    rng = np.random.default_rng(8)
    X, W, b = layer(rng, 6, 4, 3, np.float64)
    A = K.dense_forward(X, W, b, "tanh")
    dA = rng.normal(size=A.shape)

    def poisoned(arr, idx):
        arr = arr.copy()
        arr[idx] = bad
        return arr

    cases = [
        ("X", lambda **kw: K.dense_forward(poisoned(X, (2, 1)), W, b, "tanh", **kw)),
        ("W", lambda **kw: K.dense_forward(X, poisoned(W, (1, 3)), b, "tanh", **kw)),
        ("b", lambda **kw: K.dense_forward(X, W, poisoned(b, 0), "tanh", **kw)),
        ("dA", lambda **kw: K.dense_backward(poisoned(dA, (0, 0)), A, X, W, "tanh", **kw)),
        ("A", lambda **kw: K.dense_backward(dA, poisoned(A, (5, 2)), X, W, "tanh", **kw)),
        ("X", lambda **kw: K.dense_backward(dA, A, poisoned(X, (3, 3)), W, "tanh", **kw)),
        ("W", lambda **kw: K.dense_backward(dA, A, X, poisoned(W, (2, 0)), "tanh", **kw)),
        ("dA", lambda **kw: K.dense_backward_sgd(poisoned(dA, (1, 1)), A, X, W.copy(), b.copy(),
                                                 0.1, "tanh", **kw)),
        ("W", lambda **kw: K.dense_backward_sgd(dA, A, X, poisoned(W, (0, 0)), b.copy(),
                                                0.1, "tanh", **kw)),
        ("b", lambda **kw: K.dense_backward_sgd(dA, A, X, W.copy(), poisoned(b, 1),
                                                0.1, "tanh", **kw)),
    ]
    for arg, call in cases:
        with pytest.raises(ValueError, match="NaN or infinity") as ei:
            call()
        assert re.search(rf"\b{arg}\b", str(ei.value)), f"{ei.value} does not name {arg}"
        call(check_finite=False)  # no check: no error

    # with check_finite=False the value propagates through the GEMM
    Xp = poisoned(X, (2, 1))
    out = K.dense_forward(Xp, W, b, "identity", check_finite=False)
    assert not np.isfinite(out[2]).any()
    assert np.isfinite(np.delete(out, 2, axis=0)).all()
    # a bad value in the input must not leave W half-updated
    W1, b1 = W.copy(), b.copy()
    with pytest.raises(ValueError):
        K.dense_backward_sgd(poisoned(dA, (1, 1)), A, X, W1, b1, 0.1, "tanh")
    np.testing.assert_array_equal(W1, W)
    np.testing.assert_array_equal(b1, b)


def test_read_only_arrays_are_not_updated():
    rng = np.random.default_rng(9)
    X, W, b = layer(rng, 6, 4, 3, np.float64)
    A = K.dense_forward(X, W, b, "tanh")
    dA = rng.normal(size=A.shape)

    def frozen(a):
        a = a.copy()
        a.flags.writeable = False
        return a

    msg = r"read-only|writable|writeable"
    Wr, br = frozen(W), frozen(b)
    with pytest.raises(ValueError, match=msg):
        K.dense_backward_sgd(dA, A, X, Wr, b.copy(), 0.1, "tanh")
    with pytest.raises(ValueError, match=msg):
        K.dense_backward_sgd(dA, A, X, W.copy(), br, 0.1, "tanh")
    with pytest.raises(ValueError, match=msg):
        K.sgd_update(Wr, np.ones_like(W), 0.1)
    np.testing.assert_array_equal(Wr, W)
    np.testing.assert_array_equal(br, b)
    # read-only INPUTS are fine
    got = K.dense_forward(frozen(X), frozen(W), frozen(b), "tanh")
    np.testing.assert_array_equal(got, A)
    Wc = W.copy()
    K.dense_backward_sgd(frozen(dA), frozen(A), frozen(X), Wc, None, 0.1, "tanh")
    K.sgd_update(Wc, frozen(W), 0.1)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-15)])
def test_adam_l2_update_is_adam_on_the_penalised_gradient(dtype, tol):
    """fastnn.sklearn's fused step (_core.adam_l2_update): Adam on g + l2 p in
    one pass, returning sum(p**2) before the update; against NumPy."""
    from fastnn import _core

    rng = np.random.default_rng(3)
    p0, g = rng.standard_normal(1001).astype(dtype), rng.standard_normal(1001).astype(dtype)
    m0, v0 = (0.1 * rng.standard_normal(1001)).astype(dtype), rng.random(1001).astype(dtype)
    lr, b1, b2, eps, l2, bc1, bc2 = 0.01, 0.9, 0.999, 1e-8, 0.003, 0.19, 0.002
    P, G, M, V = (a.astype(np.float64) for a in (p0, g, m0, v0))
    gi = G + l2 * P
    m_ref, v_ref = b1 * M + (1 - b1) * gi, b2 * V + (1 - b2) * gi * gi
    p_ref = P - lr / bc1 * m_ref / (np.sqrt(v_ref / bc2) + eps)
    p, m, v, g_in = p0.copy(), m0.copy(), v0.copy(), g.copy()
    squares = _core.adam_l2_update(p, g_in, m, v, lr, b1, b2, eps, l2, bc1, bc2)
    assert squares == pytest.approx(float(np.dot(P, P)), rel=1e-12)
    np.testing.assert_array_equal(g_in, g)  # the gradient is read, not written
    for got, ref in ((p, p_ref), (m, m_ref), (v, v_ref)):
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("l2", [0.0, 0.003])
@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-15)])
def test_sgd_lr_momentum_update_is_scikit_learns_momentum_step(dtype, tol, l2, nesterov):
    """fastnn.sklearn's SGD step (_core.sgd_lr_momentum_update): scikit-learn's
    v = momentum v - lr g', p += momentum v - lr g' (Nesterov) or v, on
    g' = g + l2 p, returning sum(p**2) before the update when l2 is set;
    against NumPy's operations in scikit-learn's order, in the same dtype."""
    from fastnn import _core

    rng = np.random.default_rng(4)
    p0, g = rng.standard_normal(1001).astype(dtype), rng.standard_normal(1001).astype(dtype)
    v0 = (0.1 * rng.standard_normal(1001)).astype(dtype)
    lr, momentum = dtype(0.01), dtype(0.9)
    lg = lr * (g + dtype(l2) * p0 if l2 else g)
    v_ref = momentum * v0 - lg
    p_ref = p0 + (momentum * v_ref - lg if nesterov else v_ref)
    p, v, g_in = p0.copy(), v0.copy(), g.copy()
    squares = _core.sgd_lr_momentum_update(p, g_in, v, float(lr), float(momentum), nesterov, l2)
    expected = float(np.dot(p0.astype(np.float64), p0.astype(np.float64))) if l2 else 0.0
    assert squares == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(g_in, g)  # the gradient is read, not written
    for got, ref in ((p, p_ref), (v, v_ref)):
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-6), (np.float64, 1e-15)])
def test_adam_update_on_every_simd_path_is_numpys_adamw(dtype, tol):
    """Adam is compiled per SIMD path (csrc/adam_impl.h): on each, AdamW's
    update and the penalised variant against NumPy, over a length that
    leaves a remainder after every vector width."""
    from fastnn import _core

    rng = np.random.default_rng(6)
    n = 1037
    p0, g = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    m0, v0 = (0.1 * rng.standard_normal(n)).astype(dtype), rng.random(n).astype(dtype)
    lr, b1, b2, eps, wd, bc1, bc2 = 0.01, 0.9, 0.999, 1e-8, 0.02, 0.19, 0.002
    P, G, M, V = (a.astype(np.float64) for a in (p0, g, m0, v0))
    m_ref, v_ref = b1 * M + (1 - b1) * G, b2 * V + (1 - b2) * G * G
    p_ref = P * (1 - lr * wd) - lr / bc1 * m_ref / (np.sqrt(v_ref / bc2) + eps)
    gi = G + 0.003 * P
    m2, v2 = b1 * M + (1 - b1) * gi, b2 * V + (1 - b2) * gi * gi
    p2_ref = P - lr / bc1 * m2 / (np.sqrt(v2 / bc2) + eps)
    for path in PATHS:  # (conftest restores the selected path)
        fastnn.set_simd_path(path)
        p, m, v = p0.copy(), m0.copy(), v0.copy()
        _core.adam_update(p, g, m, v, lr, b1, b2, eps, wd, bc1, bc2)
        for got, ref in ((p, p_ref), (m, m_ref), (v, v_ref)):
            np.testing.assert_allclose(got, ref, rtol=tol, atol=tol, err_msg=path)
        p, m, v = p0.copy(), m0.copy(), v0.copy()
        squares = _core.adam_l2_update(p, g, m, v, lr, b1, b2, eps, 0.003, bc1, bc2)
        assert squares == pytest.approx(float(np.dot(P, P)), rel=1e-12)
        np.testing.assert_allclose(p, p2_ref, rtol=tol, atol=tol, err_msg=path)


ADAM_HP = (0.01, 0.9, 0.999, 1e-8, 0.19, 0.002)  # lr, b1, b2, eps, bc1, bc2


def _float32_adam_on_every_path(p0, g, m0, v0, refs, v_atol):
    """Float32 Adam (ADAM_HP, no weight decay) on every SIMD path: p, m, v
    against refs (float64) to rtol 1e-6; returns each path's (p, m, v)."""
    from fastnn import _core

    out = {}
    for path in PATHS:
        fastnn.set_simd_path(path)
        p, m, v = p0.copy(), m0.copy(), v0.copy()
        _core.adam_update(p, g, m, v, *ADAM_HP[:4], 0.0, *ADAM_HP[4:])
        for name, got, want in zip("pmv", (p, m, v), refs):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=v_atol if name == "v" else 0,
                                       err_msg=f"{path} {name}")
        out[path] = (p, m, v)
    return out


def test_float32_adam_with_gradients_whose_squares_underflow_moves_p_as_numpy_does():
    """Gradients below 2^-54 enter float32 Adam's v as 0 (their squares would
    be subnormal, which Intel Xeons compute in slow microcode); p and m move
    as NumPy's float64 AdamW says, and v differs by less than the square."""
    rng = np.random.default_rng(8)
    n = 1037
    scale = np.where(rng.random(n) < 0.5, 1e-21, 1e-3)  # half of them tiny
    p0 = rng.standard_normal(n).astype(np.float32)
    g = (rng.standard_normal(n) * scale).astype(np.float32)
    m0 = (scale * np.abs(rng.standard_normal(n)) * np.sign(g)).astype(np.float32)  # (no cancellation in m)
    v0 = np.where(scale < 1e-6, 0.0, 1e-6).astype(np.float32)  # v of the tiny ones starts at 0
    lr, b1, b2, eps, bc1, bc2 = ADAM_HP
    P, G, M, V = (a.astype(np.float64) for a in (p0, g, m0, v0))
    m_ref, v_ref = b1 * M + (1 - b1) * G, b2 * V + (1 - b2) * G * G
    p_ref = P - lr / bc1 * m_ref / (np.sqrt(v_ref / bc2) + eps)
    for path, (_, _, v) in _float32_adam_on_every_path(p0, g, m0, v0, (p_ref, m_ref, v_ref), 1e-40).items():
        assert np.all(v[scale < 1e-6] == 0), path


def test_float32_adam_moments_that_decay_towards_subnormals_become_0():
    """Where a gradient stays 0 (or below 2^-100) m decays by b1 each step:
    float32 Adam counts an m below 2^-100 as 0 and a v below 2^-120, so
    neither ever becomes subnormal; p moves as NumPy's float64 Adam says, and
    the moments above the bars as well."""
    rng = np.random.default_rng(9)
    n = 1037
    p0 = rng.standard_normal(n).astype(np.float32)
    kind = rng.integers(0, 4, n)  # 0: normal; 1: m tiny, g 0; 2: g tiny; 3: v tiny, m normal
    g = np.where(kind == 0, 1e-3, np.where(kind == 2, 1e-33, 0.0)) * rng.standard_normal(n)
    g = g.astype(np.float32)
    m0 = np.where(kind == 1, 1e-37, 1e-3) * np.abs(rng.standard_normal(n)) * np.where(g < 0, -1, 1)
    m0 = m0.astype(np.float32)
    v0 = np.where(kind == 3, 1e-37, 1e-6).astype(np.float32)
    lr, b1, b2, eps, bc1, bc2 = ADAM_HP
    G, M, V = (a.astype(np.float64) for a in (g, m0, v0))
    m_ref = np.where(kind == 1, 0.0, b1 * M + (1 - b1) * np.where(kind == 2, 0.0, G))
    v_ref = np.where(kind == 3, 0.0, b2 * V) + (1 - b2) * G * G
    p_ref = p0 - lr / bc1 * m_ref / (np.sqrt(v_ref / bc2) + eps)
    tiny = np.finfo(np.float32).tiny
    for path, (p, m, v) in _float32_adam_on_every_path(p0, g, m0, v0, (p_ref, m_ref, v_ref), 0).items():
        assert np.all(m[kind == 1] == 0) and np.all(v[kind == 3] == 0), path
        for a in (p, m, v):
            assert not np.any((a != 0) & (np.abs(a) < tiny)), path


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_gives_an_element_the_same_bits_wherever_its_slice_begins(dtype):
    """The fused training step updates W a row (or a slice of one) at a time,
    the per-layer path the whole array: an element's bits must not depend on
    whether it falls in the vector loop or in its scalar tail (with weight
    decay and with the coupled L2 penalty alike)."""
    from fastnn import _core

    rng = np.random.default_rng(11)
    n = 301
    p0, g = rng.standard_normal(n).astype(dtype), (1e-2 * rng.standard_normal(n)).astype(dtype)
    m0, v0 = (1e-3 * rng.standard_normal(n)).astype(dtype), (1e-4 * rng.random(n)).astype(dtype)
    hp = (0.02, 0.8, 0.99, 1e-8)
    updates = {"adamw": lambda p, g, m, v: _core.adam_update(p, g, m, v, *hp, 0.01, 0.2, 0.01),
               "l2": lambda p, g, m, v: _core.adam_l2_update(p, g, m, v, *hp, 1e-3, 0.2, 0.01)}
    for path in PATHS:
        fastnn.set_simd_path(path)
        for name, update in updates.items():
            whole = [a.copy() for a in (p0, m0, v0)]
            update(whole[0], g, whole[1], whole[2])
            for width in (1, 6, 7, 23):
                parts = [a.copy() for a in (p0, m0, v0)]
                for lo in range(0, n, width):
                    s = slice(lo, lo + width)
                    piece = [a[s].copy() for a in parts]
                    update(piece[0], g[s].copy(), piece[1], piece[2])
                    for a, b in zip(parts, piece):
                        a[s] = b
                for a, b in zip(whole, parts):
                    assert np.array_equal(a, b), (path, name, width)


@pytest.mark.parametrize("n", [40000, 300001])
def test_adam_l2_update_is_the_same_on_any_number_of_threads(n):
    """Large arrays are split across threads by chunks: the update and the
    returned sum of squares do not depend on the thread count."""
    from fastnn import _core

    rng = np.random.default_rng(4)
    p0, g = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    m0, v0 = (0.1 * rng.standard_normal(n)).astype(np.float32), rng.random(n).astype(np.float32)
    results, before = [], fastnn.get_num_threads()
    try:
        for threads in (1, 2, 3):
            fastnn.set_num_threads(threads)
            p, m, v = p0.copy(), m0.copy(), v0.copy()
            squares = _core.adam_l2_update(p, g, m, v, 0.01, 0.9, 0.999, 1e-8, 0.003, 0.19, 0.002)
            results.append((squares, p, m, v))
    finally:
        fastnn.set_num_threads(before)
    for squares, p, m, v in results[1:]:
        assert squares == results[0][0]
        for got, ref in zip((p, m, v), results[0][1:]):
            np.testing.assert_array_equal(got, ref)
    assert results[0][0] == pytest.approx(float(np.dot(p0.astype(np.float64), p0.astype(np.float64))), rel=1e-12)


@pytest.mark.parametrize("n", [0, 1000, (1 << 20) + 3])
def test_convert_f64_f32_is_numpys_cast_and_counts_what_is_not_finite(n):
    """fnn_convert_f64_f32 (fastnn.sklearn's float64 input, on fastnn's threads when large): NumPy's
    rounding, on 1 and 2 threads; values beyond float32's range, infinities and NaNs counted."""
    from fastnn import _core

    rng = np.random.default_rng(5)
    src = rng.standard_normal(n) * 10.0 ** rng.integers(-40, 38, n)
    before = fastnn.get_num_threads()
    try:
        for threads in (1, 2):
            fastnn.set_num_threads(threads)
            dst = np.full(n, 7.0, np.float32)
            assert _core.convert_f64_f32(src, dst) == 0
            np.testing.assert_array_equal(dst, src.astype(np.float32))
            if n:
                bad = src.copy()
                bad[[0, n // 2, n - 1]] = [1e39, np.nan, -np.inf]
                assert _core.convert_f64_f32(bad, dst) == 3
    finally:
        fastnn.set_num_threads(before)
    with pytest.raises(ValueError, match="dst"):
        _core.convert_f64_f32(src, np.empty(n + 1, np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5, 4097, (1 << 20) + 7])
def test_all_finite_finds_a_nan_or_infinity_anywhere_on_any_thread_count(dtype, n):
    """fnn_all_finite (every input check; large arrays scanned by all the threads, a slice each): one
    NaN or infinity anywhere (either end, the middle, around each slice's bounds) makes it False."""
    from fastnn import _core

    x = np.random.default_rng(6).standard_normal(n).astype(dtype)
    x[x == 0] = 1.0
    where = sorted({0, 1, n // 3, n // 2 - 1, n // 2, n // 2 + 1, (2 * n) // 3, n - 1})
    before = fastnn.get_num_threads()
    try:
        for threads in (1, 2, 3):
            fastnn.set_num_threads(threads)
            assert _core.all_finite(x), threads
            for i in where:
                for bad in (np.nan, np.inf, -np.inf):
                    y = x.copy()
                    y[i] = bad
                    assert not _core.all_finite(y), (threads, i, bad)
    finally:
        fastnn.set_num_threads(before)
