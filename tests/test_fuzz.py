"""Property-based fuzz of fastnn's whole public API (issue 6, "Hardening").

Every public function and constructor is called with random shapes
(zero-sized and 1-element included), dtypes (ints, bool, float16, complex,
object), values (NaN, +-inf, huge, subnormal), memory layouts (C, Fortran,
every other column, negative strides, read-only, misaligned by one byte)
and wrong types for each argument.  The contract checked:

* valid input: the right answer -- the compiled path agrees with the NumPy
  oracle (fastnn.reference) to the dtype's tolerance, with the right shape
  and dtype; a layout never changes the result;
* invalid input: ValueError or TypeError (or a documented subclass such as
  ModelFileError) whose message names the offending argument; nothing else
  escapes, and arrays meant to be updated in place are left untouched when
  they are refused.

The public callables of fastnn.kernels and fastnn.reference are enumerated
programmatically: a new public name without a fuzz case here fails
test_every_public_callable_has_a_fuzz_case.  Examples run per function are
counted in FUZZ_COUNTS and printed in pytest's terminal summary (see
tests/conftest.py).
"""

import collections
import inspect
import math
import os
import re
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
from fastnn import datasets as D
from fastnn import examples as E
from fastnn import kernels as K
from fastnn import reference as R

#: examples run per fuzzed function, reported by conftest's terminal summary
FUZZ_COUNTS = collections.Counter()

FLOATS = (np.float32, np.float64)
TOL = {np.float32: 1e-5, np.float64: 1e-12}
LAYOUTS = ("C", "F", "noncontig", "negstride", "readonly", "misaligned")


def fuzz_settings(n):
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much])


def tick(name):
    FUZZ_COUNTS[name] += 1


# --------------------------------------------------------------------------
# helpers: layouts, values, bad arguments, checks
# --------------------------------------------------------------------------

def layout(a, kind):
    """The same values as ``a`` in another memory layout."""
    a = np.asarray(a)
    if kind == "C":
        return np.array(a, order="C", copy=True)
    if kind == "F":
        return np.array(a, order="F", copy=True)
    if kind == "noncontig":  # every other column of a wider array
        if a.ndim == 0:
            return a.copy()
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
        big[..., ::2] = a
        return big[..., ::2]
    if kind == "negstride":
        if a.ndim == 0:
            return a.copy()
        rev = (slice(None, None, -1),) * a.ndim
        return np.array(a[rev], order="C", copy=True)[rev]
    if kind == "readonly":
        c = a.copy()
        c.flags.writeable = False
        return c
    if kind == "misaligned":  # a view into a byte buffer, offset by one byte
        buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
        v = np.ndarray(a.shape, dtype=a.dtype, buffer=buf, offset=1)
        v[...] = a
        return v
    raise AssertionError(kind)


SPECIALS = {
    np.float32: [0.0, -0.0, 1e-45, -1e-45, 1e-40, 1.17e-38, 3e38, -3e38, 1.0, -1.0],
    np.float64: [0.0, -0.0, 5e-324, -5e-324, 1e-310, 2.2e-308, 1e300, -1e300, 1.0, -1.0],
}


@st.composite
def shapes(draw, ndim, lo=0, hi=6):
    """A shape, often with a zero-sized or 1-element dimension."""
    dim = st.one_of(st.integers(lo, hi), st.sampled_from([max(lo, 0), 1]))
    return tuple(draw(dim) for _ in range(ndim))


@st.composite
def float_arrays(draw, shape, dtype, scale=1.0, specials=False, nonfinite=False, lo=None, hi=None):
    """Random values of one shape; optionally with subnormal/huge/NaN/inf ones."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if lo is not None:
        a = rng.uniform(lo, hi, size=shape)
    else:
        a = rng.normal(scale=scale, size=shape)
    a = a.astype(dtype)
    if a.size and (specials or nonfinite):
        pool = list(SPECIALS[dtype]) if specials else []
        if nonfinite:
            pool += [np.nan, np.inf, -np.inf]
        k = draw(st.integers(0, a.size))
        idx = rng.choice(a.size, size=k, replace=False)
        with np.errstate(over="ignore"):
            a.reshape(-1)[idx] = np.array([pool[i % len(pool)] for i in rng.integers(0, len(pool), k)],
                                          dtype=np.float64).astype(dtype)
    return a


def names_re(names):
    return re.compile("|".join(rf"(?<![A-Za-z_])(?:{n})(?![A-Za-z_])" for n in names.split("|")))


def expect_error(names, fn, *args, **kwargs):
    """fn(...) must raise ValueError/TypeError whose message names an argument
    of ``names`` ("a|b"); no other exception may escape."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            fn(*args, **kwargs)
    except (ValueError, TypeError) as e:
        assert names_re(names).search(str(e)), f"{type(e).__name__} does not name {names!r}: {e}"
        return e
    except Exception as e:  # noqa: BLE001 - this is the point of the test
        pytest.fail(f"{type(e).__name__} escaped instead of ValueError/TypeError naming {names!r}: {e}")
    pytest.fail(f"no error for a bad {names!r}")


def close(got, ref, dtype, what, tol=None, scale=0.0):
    """got matches ref: same shape, dtype; same non-finite pattern; relative
    Frobenius error within the dtype's tolerance on the finite part (relative
    to ``scale`` if larger: an update p - lr g is exact only to p's rounding)."""
    tol = TOL[dtype] if tol is None else tol
    assert isinstance(got, np.ndarray), f"{what}: {type(got).__name__}, not an ndarray"
    assert got.dtype == dtype, f"{what}: dtype {got.dtype}, expected {np.dtype(dtype)}"
    ref = np.asarray(ref)
    assert got.shape == ref.shape, f"{what}: shape {got.shape}, expected {ref.shape}"
    g = got.astype(np.float64)
    with np.errstate(over="ignore"):
        r = ref.astype(dtype).astype(np.float64)  # overflow as the dtype would
    fin = np.isfinite(r)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(r), err_msg=f"{what}: NaN pattern")
    np.testing.assert_array_equal(g[np.isinf(r)], r[np.isinf(r)], err_msg=f"{what}: inf pattern")
    d = g[fin] - r[fin]
    err = np.linalg.norm(d)
    scale = max(np.linalg.norm(r[fin]), scale)
    assert err <= tol * scale + 1e-30, f"{what}: error {err:.3e} vs scale {scale:.3e}"


def close_loss(got, ref, dtype, what):
    assert isinstance(got, float), f"{what}: loss is {type(got).__name__}, not float"
    if not math.isfinite(ref):
        assert got == ref or (math.isnan(got) and math.isnan(ref)), f"{what}: {got} vs {ref}"
        return
    assert abs(got - ref) <= TOL[dtype] * max(abs(ref), 1e-30) + 1e-300, f"{what}: {got!r} vs {ref!r}"


def f64(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


def bad_arrays(shape, name_dims=2):
    """Values no float-array argument may accept (a kernel takes float32/64 only)."""
    wrong_ndim = np.zeros((2,) * (3 if name_dims != 3 else 2))
    return [None, "abc", ["a", "b"], {"a": 1}, object(), [[1.0, 2.0], [3.0]],
            np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=bool), np.zeros(shape, dtype=np.float16),
            np.zeros(shape, dtype=np.complex128), np.full(shape, None, dtype=object), wrong_ndim]


BAD_SCALARS = [None, "abc", ["a"], {"a": 1}, True, float("nan"), float("inf"), -1, complex(1, 1), b"x"]
BAD_LRS = [v for v in BAD_SCALARS if v != -1]
BAD_NAMES = [None, "", "relu6", "RELU", 3, ["relu"], {"relu": 1}, b"relu", True]
BAD_FLAGS = [None, "yes", "no", 2, [True], 0.5]


# --------------------------------------------------------------------------
# fastnn.kernels: one case per public callable
# --------------------------------------------------------------------------

def draw_layer(data, dtype, act=None, lo_n=0):
    n, fin, fout = data.draw(shapes(3, lo=0, hi=7))
    n = max(n, lo_n)
    X = data.draw(float_arrays((n, fin), dtype, specials=True, scale=2.0).map(lambda a: np.clip(a, -1e3, 1e3)))
    W = data.draw(float_arrays((fout, fin), dtype, scale=0.7))
    b = data.draw(st.one_of(st.none(), float_arrays((fout,), dtype, scale=0.5)))
    act = act or data.draw(st.sampled_from(K.ACTIVATIONS))
    slope = data.draw(st.sampled_from([0.0, 0.01, 0.3, 1.0]))
    return n, fin, fout, X, W, b, act, slope


def run_layout_or_bad(data, name, valid, arrays, inplace, bad, call, check):
    """The shared driver: valid call, one argument re-laid-out, or one bad argument.

    valid: dict of argument values; arrays: names of input arrays;
    inplace: names of arrays written in place; bad: name -> (list of bad values,
    regex of names the error may give); call(args) runs the kernel;
    check(args, result, original args) compares against the oracle.
    """
    mode = data.draw(st.sampled_from(["valid", "layout", "bad"]), label="mode")
    tick(name)
    if mode == "valid":
        args = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in valid.items()}
        check(args, call(args), valid)
        return
    if mode == "layout":
        cands = [a for a in list(arrays) + list(inplace) if valid.get(a) is not None]
        if not cands:
            return
        arg = data.draw(st.sampled_from(cands), label="array")
        kind = data.draw(st.sampled_from(LAYOUTS), label="layout")
        args = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in valid.items()}
        args[arg] = layout(valid[arg], kind)
        # written in place: refused unless C-contiguous, aligned and writable
        # (the C kernels store whole floats; a view at an odd byte offset
        # would be undefined behaviour in C, caught by UBSan)
        if arg in inplace and not (args[arg].flags.c_contiguous and args[arg].flags.writeable
                                   and (args[arg].flags.aligned or args[arg].size == 0)):
            before = args[arg].copy()
            expect_error(arg, call, args)
            np.testing.assert_array_equal(args[arg], before, err_msg=f"refused {arg} was modified")
            return
        check(args, call(args), valid)
        return
    arg = data.draw(st.sampled_from(sorted(bad)), label="bad arg")
    values, names = bad[arg]
    value = data.draw(st.sampled_from(values), label=f"bad {arg}")
    args = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in valid.items()}
    args[arg] = value
    snap = {k: args[k].copy() for k in inplace if isinstance(args.get(k), np.ndarray)}
    expect_error(names, call, args)
    for k, before in snap.items():
        np.testing.assert_array_equal(args[k], before, err_msg=f"{k} was modified by a refused call")


def nonfinite_like(a):
    """a copy of a with one NaN or inf (a must be non-empty)."""
    a = np.array(a, copy=True)
    a.reshape(-1)[a.size // 2] = np.nan
    return a


def fuzz_k_dense_forward(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    n, fin, fout, X, W, b, act, slope = draw_layer(data, dtype)
    out = data.draw(st.sampled_from([None, "buffer"]))
    valid = {"X": X, "W": W, "b": b, "activation": act, "slope": slope,
             "out": np.full((n, fout), 7, dtype=dtype) if out else None}

    def call(a):
        return K.dense_forward(a["X"], a["W"], a["b"], a["activation"], slope=a["slope"], out=a["out"],
                               **({"check_finite": a["check_finite"]} if "check_finite" in a else {}))

    def check(a, got, v):
        ref = R.dense_forward(f64(v["X"]), f64(v["W"]), f64(v["b"]), act, slope)
        close(got, ref, dtype, f"dense_forward {act}")
        if a["out"] is not None:
            assert got is a["out"], "out= was not the returned array"

    other = np.float64 if dtype == np.float32 else np.float32
    bad = {
        "X": (bad_arrays((n, fin)) + [X.astype(other), np.zeros((n, fin + 1), dtype)]
              + ([nonfinite_like(X)] if X.size else []), "X"),
        "W": (bad_arrays((fout, fin)) + [W.astype(other), np.zeros((fout, fin + 2), dtype)]
              + ([nonfinite_like(W)] if W.size else []), "W"),
        "b": (bad_arrays((fout,), 1)[1:] + [np.zeros(fout + 1, dtype), np.zeros((fout, 1), dtype)]
              + ([nonfinite_like(np.ones(fout, dtype))] if fout else []), "b"),
        "activation": (BAD_NAMES + ["softmax"], "activation"),
        "slope": (BAD_SCALARS, "slope"),
        "out": ([[[0.0]], "abc", np.zeros((n, fout), dtype=other), np.zeros((n + 1, fout), dtype),
                 np.zeros((n, fout), dtype=np.int64), layout(np.zeros((n, fout + 1), dtype), "noncontig"),
                 layout(np.zeros((n, fout), dtype), "readonly")], "out"),
        "check_finite": (BAD_FLAGS, "check_finite"),
    }
    # the output aliasing an input must not give a wrong answer
    if data.draw(st.booleans(), label="alias out") and n == fin == fout and n > 0:
        tick("dense_forward")
        Xa = X.copy()
        ref = R.dense_forward(f64(X), f64(W), f64(b), act, slope)
        try:
            got = K.dense_forward(Xa, W, b, act, slope=slope, out=Xa)
        except ValueError as e:
            assert names_re("out").search(str(e)), e
        else:
            close(got, ref, dtype, "dense_forward out=X")
        return
    run_layout_or_bad(data, "dense_forward", valid, ["X", "W", "b"], ["out"], bad, call, check)


def fuzz_k_dense_backward(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    n, fin, fout, X, W, b, act, slope = draw_layer(data, dtype)
    A = R.dense_forward(X, W, b, act, slope).astype(dtype)
    dA = data.draw(float_arrays((n, fout), dtype))
    need_dX = data.draw(st.booleans())
    bias = data.draw(st.booleans())
    valid = {"dA": dA, "A": A, "X": X, "W": W, "activation": act, "slope": slope, "need_dX": need_dX, "bias": bias}

    def call(a):
        return K.dense_backward(a["dA"], a["A"], a["X"], a["W"], a["activation"], slope=a["slope"],
                                need_dX=a["need_dX"], bias=a["bias"],
                                **({"check_finite": a["check_finite"]} if "check_finite" in a else {}))

    def check(a, got, v):
        dW, db, dX = got
        rW, rb, rX = R.dense_backward(f64(v["dA"]), f64(v["A"]), f64(v["X"]), f64(v["W"]), act, slope,
                                      need_dX=need_dX, bias=bias)
        # A GEMM's rounding error is relative to the sizes of its operands
        # (|act'| <= max(1, slope)), not of its result, which may cancel.
        gain = max(1.0, abs(slope))
        close(dW, rW, dtype, "dense_backward dW",
              scale=gain * np.linalg.norm(f64(v["dA"])) * np.linalg.norm(f64(v["X"])))
        if bias:
            close(db, rb, dtype, "dense_backward db",
                  scale=gain * np.linalg.norm(np.abs(f64(v["dA"])).sum(axis=0)))
        else:
            assert db is None
        if need_dX:
            close(dX, rX, dtype, "dense_backward dX",
                  scale=gain * np.linalg.norm(f64(v["dA"])) * np.linalg.norm(f64(v["W"])))
        else:
            assert dX is None

    bad = {k: (bad_arrays(valid[k].shape) + [np.zeros((valid[k].shape[0] + 1, valid[k].shape[1]), dtype)]
               + ([nonfinite_like(valid[k])] if valid[k].size else []), k + "|dA|A|X") for k in ("dA", "A", "X", "W")}
    bad["W"] = (bad_arrays(W.shape) + [np.zeros((fout, fin + 1), dtype)], "W|X")
    bad["activation"] = (BAD_NAMES + ["softmax"], "activation")
    bad["slope"] = (BAD_SCALARS, "slope")
    bad["need_dX"] = (BAD_FLAGS, "need_dX")
    bad["bias"] = (BAD_FLAGS, "bias")
    bad["check_finite"] = (BAD_FLAGS, "check_finite")
    run_layout_or_bad(data, "dense_backward", valid, ["dA", "A", "X", "W"], [], bad, call, check)


def fuzz_k_dense_backward_sgd(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    n, fin, fout, X, W, b, act, slope = draw_layer(data, dtype)
    A = R.dense_forward(X, W, b, act, slope).astype(dtype)
    dA = data.draw(float_arrays((n, fout), dtype))
    lr = data.draw(st.sampled_from([0.0, 0.1, 1.0, -0.5, 3]))
    need_dX = data.draw(st.booleans())
    valid = {"dA": dA, "A": A, "X": X, "W": W, "b": b, "lr": lr, "activation": act, "slope": slope, "need_dX": need_dX}

    def call(a):
        return K.dense_backward_sgd(a["dA"], a["A"], a["X"], a["W"], a["b"], a["lr"], a["activation"],
                                    slope=a["slope"], need_dX=a["need_dX"],
                                    **({"check_finite": a["check_finite"]} if "check_finite" in a else {}))

    def check(a, got, v):
        W_r, b_r = f64(v["W"]).copy(), (None if v["b"] is None else f64(v["b"]).copy())
        dX_r = R.dense_backward_sgd(f64(v["dA"]), f64(v["A"]), f64(v["X"]), W_r, b_r, lr, act, slope,
                                    need_dX=need_dX)
        close(a["W"], W_r, dtype, "dense_backward_sgd W", scale=np.linalg.norm(f64(v["W"])))
        if b_r is not None:
            close(a["b"], b_r, dtype, "dense_backward_sgd b", scale=np.linalg.norm(f64(v["b"])))
        if need_dX:
            close(got, dX_r, dtype, "dense_backward_sgd dX")
        else:
            assert got is None

    other = np.float64 if dtype == np.float32 else np.float32
    bad = {k: (bad_arrays(valid[k].shape) + ([nonfinite_like(valid[k])] if valid[k].size else []), k)
           for k in ("dA", "A", "X")}
    bad["W"] = (bad_arrays(W.shape) + [W.astype(other), [[1.0] * fin] * fout, layout(W, "readonly"),
                                       np.zeros((fout, fin + 1), dtype)]
                + ([layout(W, "F"), nonfinite_like(W)] if W.size > 1 and min(W.shape) > 1 else []), "W|X")
    bad["b"] = (bad_arrays((fout,), 1)[1:] + [np.zeros(fout + 1, dtype), np.ones(fout, other).tolist()]
                + ([nonfinite_like(np.ones(fout, dtype))] if fout else []), "b")
    bad["lr"] = (BAD_LRS, "lr")
    bad["activation"] = (BAD_NAMES, "activation")
    bad["slope"] = (BAD_SCALARS, "slope")
    bad["need_dX"] = (BAD_FLAGS, "need_dX")
    bad["check_finite"] = (BAD_FLAGS, "check_finite")
    run_layout_or_bad(data, "dense_backward_sgd", valid, ["dA", "A", "X"], ["W", "b"], bad, call, check)


def _elementwise(data, name, kfun, rfun, argname):
    dtype = data.draw(st.sampled_from(FLOATS))
    shape = data.draw(st.integers(0, 3).flatmap(lambda d: shapes(d)))
    Z = data.draw(float_arrays(shape, dtype, scale=3.0, specials=True, nonfinite=True))
    act = data.draw(st.sampled_from(K.ACTIVATIONS))
    slope = data.draw(st.sampled_from([0.0, 0.01, 0.5, 2.0]))
    valid = {"name": act, "Z": Z, "slope": slope}

    def call(a):
        return kfun(a["name"], a["Z"], slope=a["slope"])

    def check(a, got, v):
        with np.errstate(all="ignore"):
            ref = rfun(act, f64(v["Z"]), slope)
        close(got, ref, dtype, f"{name} {act}")
        np.testing.assert_array_equal(a["Z"], v["Z"])  # the input is not modified

    bad = {"name": (BAD_NAMES, "activation|name"),
           "Z": (bad_arrays(shape)[:-1], argname),
           "slope": (BAD_SCALARS, "slope")}
    run_layout_or_bad(data, name, valid, ["Z"], [], bad, call, check)


def fuzz_k_activation(data):
    _elementwise(data, "activation", K.activation, R.activation, "Z")


def fuzz_k_activation_derivative(data):
    _elementwise(data, "activation_derivative", K.activation_derivative, R.activation_derivative, "A")


def fuzz_k_activation_code(data):
    tick("activation_code")
    if data.draw(st.booleans()):
        name = data.draw(st.sampled_from(K.ACTIVATIONS))
        code = K.activation_code(name)
        assert isinstance(code, int) and 0 <= code < len(K.ACTIVATIONS)
    else:
        expect_error("activation", K.activation_code, data.draw(st.sampled_from(BAD_NAMES + ["softmax"])))


def fuzz_k_sgd_update(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    shape = data.draw(st.integers(0, 3).flatmap(lambda d: shapes(d)))
    param = data.draw(float_arrays(shape, dtype, specials=True))
    grad = data.draw(float_arrays(shape, dtype, specials=True, nonfinite=data.draw(st.booleans())))
    lr = data.draw(st.sampled_from([0.0, 0.1, 1.0, -2.0, 1e-30, 7]))
    valid = {"param": param, "grad": grad, "lr": lr}

    def call(a):
        return K.sgd_update(a["param"], a["grad"], a["lr"])

    def check(a, got, v):
        ref = f64(v["param"]).copy()
        with np.errstate(all="ignore"):
            R.sgd_update(ref, f64(v["grad"]).astype(dtype).astype(np.float64), np.float64(dtype(lr)))
        assert got is a["param"]
        close(got, ref, dtype, "sgd_update", scale=np.linalg.norm(f64(v["param"])))

    # grad overlapping param (a shifted view of the same buffer)
    if data.draw(st.booleans(), label="overlap") and param.ndim == 1 and param.size > 1:
        tick("sgd_update")
        buf = param.clip(-1e3, 1e3)  # (no intermediate overflow in lr * g)
        p, g = buf[1:], buf[:-1]
        expected = p.astype(np.float64) - np.float64(dtype(lr)) * g.astype(np.float64)
        with np.errstate(all="ignore"):
            K.sgd_update(p, g, lr)
        close(p, expected, dtype, "sgd_update with overlapping grad", scale=np.linalg.norm(f64(buf)))
        return
    other = np.float64 if dtype == np.float32 else np.float32
    bad = {"param": (bad_arrays(shape)[:6] + [param.tolist(), param.astype(np.int64), param.astype(other)],
                     "param|grad"),
           "grad": (bad_arrays(shape)[:-1] + [np.zeros(shape + (2,), dtype), grad.astype(other)], "grad"),
           "lr": (BAD_LRS, "lr")}
    run_layout_or_bad(data, "sgd_update", valid, ["grad"], ["param"], bad, call, check)


def draw_shift_case(data):
    """Images, shifts (some past the border) and a fill value for shift_images."""
    dtype = data.draw(st.sampled_from(FLOATS))
    n, h, w = data.draw(shapes(3, lo=0, hi=6))
    h, w = max(h, 1), max(w, 1)
    X = data.draw(float_arrays((n, h * w), dtype, specials=True, nonfinite=data.draw(st.booleans())))
    int_dtype = data.draw(st.sampled_from([np.int8, np.int32, np.int64]))
    dy, dx = (np.array(data.draw(st.lists(st.integers(-8, 8), min_size=n, max_size=n)), dtype=int_dtype)
              for _ in range(2))
    fill = data.draw(st.sampled_from([0.0, -0.5, 3.0, -np.inf]))
    return dtype, n, h, w, X, dy, dx, fill


def fuzz_k_shift_images(data):
    dtype, n, h, w, X, dy, dx, fill = draw_shift_case(data)
    out = data.draw(st.sampled_from([None, "buffer"]))
    valid = {"X": X, "dy": dy, "dx": dx, "image_shape": (h, w), "fill": fill,
             "out": np.full((n, h * w), 7, dtype=dtype) if out else None}

    def call(a):
        return K.shift_images(a["X"], a["dy"], a["dx"], a["image_shape"], a["fill"], out=a["out"])

    def check(a, got, v):
        ref = R.shift_images(v["X"], v["dy"], v["dx"], (h, w), fill)
        assert got.dtype == dtype and got.shape == X.shape
        np.testing.assert_array_equal(got, ref, err_msg="shift_images")  # a copy: exact
        if a["out"] is not None:
            assert got is a["out"], "out= was not the returned array"

    if data.draw(st.booleans(), label="alias out") and X.size:
        tick("shift_images")
        expect_error("out", K.shift_images, X, dy, dx, (h, w), fill, out=X)
        return
    other = np.float64 if dtype == np.float32 else np.float32
    bad_shifts = [None, "abc", np.zeros(n), np.zeros(n + 1, np.int64), np.zeros((n, 1), np.int64)]
    bad = {
        "X": (bad_arrays((n, h * w)) + [np.zeros((n, h * w + 1), dtype)], "X|image_shape"),
        "dy": (bad_shifts, "dy"),
        "dx": (bad_shifts, "dx"),
        "image_shape": ([None, "ab", 3, (h,), (h, w, 1), (h, w + 1), (0, w), (h + 0.5, w), (True, w)],
                        "image_shape"),
        "fill": ([None, "abc", float("nan"), complex(1, 1), [0.0], True], "fill"),
        "out": (["abc", np.zeros((n, h * w), other), np.zeros((n + 1, h * w), dtype),
                 np.zeros((n, h * w), np.int64), layout(np.zeros((n, h * w + 1), dtype), "noncontig"),
                 layout(np.zeros((n, h * w), dtype), "readonly")], "out"),
    }
    run_layout_or_bad(data, "shift_images", valid, ["X", "dy", "dx"], ["out"], bad, call, check)


def fuzz_k_softmax(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    n, k = data.draw(shapes(2))
    Z = data.draw(float_arrays((n, k), dtype, scale=5.0, specials=True))
    big = SPECIALS[dtype][6]
    Z = np.clip(Z, -big, big)

    def check(a, got, v):
        close(got, R.softmax(f64(v["Z"])), dtype, "softmax", tol=10 * TOL[dtype])

    bad = {"Z": (bad_arrays((n, k)) + [np.zeros(n, dtype)] + ([nonfinite_like(Z)] if Z.size else []), "Z")}
    run_layout_or_bad(data, "softmax", {"Z": Z}, ["Z"], [], bad, lambda a: K.softmax(a["Z"]), check)


def fuzz_k_softmax_cross_entropy(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    n, k = data.draw(shapes(2, lo=1))
    Z = data.draw(float_arrays((n, k), dtype, scale=5.0, specials=True)).clip(-1e4, 1e4)
    if data.draw(st.booleans(), label="labels"):
        idt = data.draw(st.sampled_from([np.int8, np.uint8, np.int32, np.int64, np.uint64, np.intp]))
        y = data.draw(float_arrays((n,), np.float64, lo=0, hi=k)).astype(np.int64).clip(0, k - 1).astype(idt)
    else:
        y = data.draw(float_arrays((n, k), dtype, lo=0.0, hi=1.0))

    def check(a, got, v):
        loss, dZ = got
        rl, rd = R.softmax_cross_entropy(f64(v["Z"]), v["y"] if v["y"].ndim == 1 else f64(v["y"]))
        close_loss(loss, rl, dtype, "softmax_cross_entropy loss")
        # dZ = (p sum(y) - y) / n: a difference of terms of size up to
        # max(1, sum(y)) / n per row, which may cancel (p close to y)
        n_rows = v["Z"].shape[0]
        ysum = 1.0 if v["y"].ndim == 1 else max(1.0, float(np.abs(f64(v["y"])).sum(axis=1).max()))
        close(dZ, rd, dtype, "softmax_cross_entropy dZ", tol=10 * TOL[dtype],
              scale=2 * ysum * np.sqrt(n_rows) / n_rows)

    other = np.float64 if dtype == np.float32 else np.float32
    bad = {"Z": (bad_arrays((n, k)) + [np.zeros((0, k), dtype), np.zeros((n, 0), dtype), nonfinite_like(Z)], "Z|empty|sample"),
           "y": ([None, "abc", ["a"] * n, {"a": 1}, np.zeros(n + 1, np.int64), np.full(n, k, np.int64),
                  np.full(n, -1, np.int64), np.zeros(n, bool), np.zeros(n, np.float64), np.zeros(n, complex),
                  np.zeros((n, k), np.int64), np.zeros((n, k + 1), dtype), np.zeros((n, k), other),
                  np.zeros((n, k, 1), dtype), nonfinite_like(np.zeros((n, k), dtype)),
                  np.array([2**63] * n, dtype=np.uint64)], "y|labels")}
    run_layout_or_bad(data, "softmax_cross_entropy", {"Z": Z, "y": y}, ["Z", "y"], [], bad,
                      lambda a: K.softmax_cross_entropy(a["Z"], a["y"]), check)


def _pair_loss(data, name, kfun, rfun, a_name, b_name):
    dtype = data.draw(st.sampled_from(FLOATS))
    n, k = data.draw(shapes(2, lo=1))
    Y = data.draw(float_arrays((n, k), dtype, scale=3.0, specials=True)).clip(-1e4, 1e4)
    T = data.draw(float_arrays((n, k), dtype, lo=0.0, hi=1.0))

    def check(a, got, v):
        loss, d = got
        rl, rd = rfun(f64(v[a_name]), f64(v[b_name]))
        close_loss(loss, rl, dtype, f"{name} loss")
        # a difference y - t over the batch: judged against its terms' size
        # (sigmoid(z) - t for the binary cross-entropy: sigmoid(z) is at most 1)
        a_norm = np.sqrt(v[a_name].size) if name.startswith("sigmoid") else np.linalg.norm(f64(v[a_name]))
        terms = 2 * (a_norm + np.linalg.norm(f64(v[b_name]))) / v[a_name].shape[0]
        close(d, rd, dtype, f"{name} gradient", scale=terms)

    other = np.float64 if dtype == np.float32 else np.float32
    extra = [np.zeros((0, k), dtype), np.zeros((n, 0), dtype), nonfinite_like(Y)]
    bad = {a_name: (bad_arrays((n, k)) + extra, a_name + "|empty|sample|column"),
           b_name: (bad_arrays((n, k)) + [np.zeros((n, k), other), np.zeros((n, k + 1), dtype), nonfinite_like(T)],
                    b_name)}
    run_layout_or_bad(data, name, {a_name: Y, b_name: T}, [a_name, b_name], [], bad,
                      lambda a: kfun(a[a_name], a[b_name]), check)


def fuzz_k_sigmoid_binary_cross_entropy(data):
    _pair_loss(data, "sigmoid_binary_cross_entropy", K.sigmoid_binary_cross_entropy,
               R.sigmoid_binary_cross_entropy, "Z", "T")


def fuzz_k_half_squared_error(data):
    _pair_loss(data, "half_squared_error", K.half_squared_error, R.half_squared_error, "Y", "T")


def fuzz_k_mse(data):
    _pair_loss(data, "mse", K.mse, R.mse, "Y", "T")


KERNEL_CASES = {name[len("fuzz_k_"):]: fn for name, fn in globals().items() if name.startswith("fuzz_k_")}


# --------------------------------------------------------------------------
# fastnn.reference: the oracle must itself be robust
# --------------------------------------------------------------------------

def _ref_pair(data, name, rfun, kfun, argnames, shapes_of, int_ok=True):
    """Reference function vs the kernel on valid input (any numeric dtype the
    reference converts), layouts, and bad arguments."""
    dtype = data.draw(st.sampled_from(FLOATS))
    n, k = data.draw(shapes(2, lo=1))
    arrays = {a: data.draw(float_arrays(shapes_of(a, n, k), dtype, lo=0.0, hi=1.0)) for a in argnames}
    valid = dict(arrays)

    def call(a):
        return rfun(*[a[x] for x in argnames])

    def check(a, got, v):
        ref = kfun(*[v[x] for x in argnames])
        for g, r in zip(got if isinstance(got, tuple) else (got,), ref if isinstance(ref, tuple) else (ref,)):
            if isinstance(r, float):
                close_loss(g, r, dtype, name)
            else:
                # a gradient is a difference of terms of the inputs' size (over
                # the batch): judge its rounding against them, not against a
                # result that may cancel (e.g. p - y with p close to y)
                terms = sum(np.linalg.norm(np.asarray(v[x], np.float64)) for x in argnames) / max(1, n)
                close(np.asarray(g), r, dtype, name, tol=10 * TOL[dtype], scale=terms)

    bad = {a: ([None, "abc", ["a", "b"], {"a": 1}, np.zeros((n, k), complex), np.full((n, k), None, object),
                [[1.0, 2.0], [3.0]]], a) for a in argnames}
    run_layout_or_bad(data, "reference." + name, valid, list(argnames), [], bad, call, check)


def fuzz_r_shift_images(data):
    tick("reference.shift_images")
    dtype, n, h, w, X, dy, dx, fill = draw_shift_case(data)
    mode = data.draw(st.sampled_from(["valid", "X", "dy", "image_shape", "fill"]))
    if mode == "valid":
        kind = data.draw(st.sampled_from(LAYOUTS))
        got = R.shift_images(layout(X, kind), dy, dx, (h, w), fill)
        np.testing.assert_array_equal(got, K.shift_images(X, dy, dx, (h, w), fill))
        assert got.dtype == dtype
        return
    args = {"X": X, "dy": dy, "dx": dx, "image_shape": (h, w), "fill": fill}
    args[mode] = data.draw(st.sampled_from({
        "X": [None, "abc", np.zeros((n, h * w), complex), np.zeros((2, 2, 2))],
        "dy": [None, "abc", np.zeros(n), np.zeros(n + 1, np.int64)],
        "image_shape": [None, 3, (h,), (h, w, 1), (h, w + 1), (0, w), (h + 0.5, w)],
        "fill": [None, "abc", float("nan")]}[mode]))
    expect_error(mode if mode != "X" else "X|image_shape", R.shift_images, **args)


def fuzz_r_softmax(data):
    _ref_pair(data, "softmax", R.softmax, K.softmax, ["Z"], lambda a, n, k: (n, k))


def fuzz_r_softmax_cross_entropy(data):
    _ref_pair(data, "softmax_cross_entropy", R.softmax_cross_entropy, K.softmax_cross_entropy, ["Z", "y"],
              lambda a, n, k: (n, k))


def fuzz_r_sigmoid_binary_cross_entropy(data):
    _ref_pair(data, "sigmoid_binary_cross_entropy", R.sigmoid_binary_cross_entropy,
              K.sigmoid_binary_cross_entropy, ["Z", "T"], lambda a, n, k: (n, k))


def fuzz_r_half_squared_error(data):
    _ref_pair(data, "half_squared_error", R.half_squared_error, K.half_squared_error, ["Y", "T"],
              lambda a, n, k: (n, k))


def fuzz_r_mse(data):
    _ref_pair(data, "mse", R.mse, K.mse, ["Y", "T"], lambda a, n, k: (n, k))


def _ref_elementwise(data, name, rfun, kfun, argname):
    tick("reference." + name)
    dtype = data.draw(st.sampled_from(FLOATS))
    shape = data.draw(st.integers(0, 3).flatmap(lambda d: shapes(d)))
    Z = data.draw(float_arrays(shape, dtype, scale=3.0, specials=True, nonfinite=True))
    act = data.draw(st.sampled_from(R.ACTIVATIONS))
    mode = data.draw(st.sampled_from(["valid", "int", "bad name", "bad slope", "bad array"]))
    if mode == "valid":
        kind = data.draw(st.sampled_from(LAYOUTS))
        with np.errstate(all="ignore"):
            got = np.asarray(rfun(act, layout(Z, kind), slope=0.05))  # a 0-d input may give a scalar
        close(got, kfun(act, Z, slope=0.05), dtype, f"reference.{name} {act} ({kind})")
    elif mode == "int":
        Zi = data.draw(st.sampled_from([np.zeros(shape, np.int32), np.ones(shape, bool), np.arange(6) - 3]))
        with np.errstate(all="ignore"):
            got = np.asarray(rfun(act, Zi))
        close(got, kfun(act, Zi.astype(np.float64)), np.float64, f"reference.{name} of ints")
    elif mode == "bad name":
        expect_error("activation", rfun, data.draw(st.sampled_from(BAD_NAMES)), Z)
    elif mode == "bad slope":
        expect_error("slope", rfun, "leaky_relu", Z, slope=data.draw(st.sampled_from(BAD_SCALARS)))
    else:
        bad = data.draw(st.sampled_from([None, "abc", ["a"], {"a": 1}, np.zeros(3, complex), [[1.0], [1.0, 2.0]]]))
        expect_error(argname, rfun, act, bad)


def fuzz_r_activation(data):
    _ref_elementwise(data, "activation", R.activation, K.activation, "Z")


def fuzz_r_activation_derivative(data):
    _ref_elementwise(data, "activation_derivative", R.activation_derivative, K.activation_derivative, "A")


def fuzz_r_dense_forward(data):
    tick("reference.dense_forward")
    dtype = data.draw(st.sampled_from(FLOATS))
    n, fin, fout, X, W, b, act, slope = draw_layer(data, dtype)
    mode = data.draw(st.sampled_from(["valid", "bad"]))
    if mode == "valid":
        kind = data.draw(st.sampled_from(LAYOUTS))
        got = R.dense_forward(layout(X, kind), W, b, act, slope)
        close(got, K.dense_forward(X, W, b, act, slope=slope), dtype, "reference.dense_forward", tol=10 * TOL[dtype])
        return
    arg = data.draw(st.sampled_from(["X", "W", "b", "activation", "slope"]))
    args = {"X": X, "W": W, "b": np.zeros(fout) if b is None else b, "activation": act, "slope": slope}
    args[arg] = data.draw(st.sampled_from({
        "X": [None, "abc", {"a": 1}, np.zeros((n, fin), complex), [[1.0, 2.0], [3.0]], np.zeros((n, fin + 1))],
        "W": [None, "abc", np.zeros((fout, fin), object), np.zeros((fout, fin + 1)), np.zeros(fin)],
        "b": ["abc", {"a": 1}, np.zeros(fout + 1), np.zeros((fout, 2)), np.zeros(fout, complex)],
        "activation": BAD_NAMES, "slope": BAD_SCALARS}[arg]))
    expect_error(arg + ("|X" if arg == "W" else "|W" if arg == "X" else ""), R.dense_forward, **args)


def fuzz_r_dense_backward(data):
    tick("reference.dense_backward")
    dtype = data.draw(st.sampled_from(FLOATS))
    n, fin, fout, X, W, b, act, slope = draw_layer(data, dtype)
    A = K.dense_forward(X, W, b, act, slope=slope)
    dA = data.draw(float_arrays((n, fout), dtype))
    if data.draw(st.booleans()):
        kind = data.draw(st.sampled_from(LAYOUTS))
        got = R.dense_backward(layout(dA, kind), A, layout(X, kind), W, act, slope)
        for g, r, w in zip(got, K.dense_backward(dA, A, X, W, act, slope=slope), ["dW", "db", "dX"]):
            close(g, r, dtype, f"reference.dense_backward {w}", tol=10 * TOL[dtype])
        return
    arg = data.draw(st.sampled_from(["dA", "A", "X", "W", "activation", "slope"]))
    args = {"dA": dA, "A": A, "X": X, "W": W, "activation": act, "slope": slope}
    args[arg] = data.draw(st.sampled_from({
        "dA": [None, "abc", np.zeros((n + 1, fout)), np.zeros((n, fout), complex)],
        "A": [None, {"a": 1}, np.zeros((n, fout + 1)), np.zeros(3)],
        "X": [None, "abc", np.zeros((n + 1, fin)), np.zeros((n, fin), object)],
        "W": [None, "abc", np.zeros((fout, fin + 1)), np.zeros(fin)],
        "activation": BAD_NAMES, "slope": BAD_SCALARS}[arg]))
    expect_error({"dA": "dA|A", "A": "A|dA", "X": "X|A", "W": "W"}.get(arg, arg), R.dense_backward, **args)


def fuzz_r_dense_backward_sgd(data):
    tick("reference.dense_backward_sgd")
    dtype = data.draw(st.sampled_from(FLOATS))
    n, _fin, fout, X, W, b, act, slope = draw_layer(data, dtype)
    A = K.dense_forward(X, W, b, act, slope=slope)
    dA = data.draw(float_arrays((n, fout), dtype))
    b = np.zeros(fout, dtype) if b is None else b
    if data.draw(st.booleans()):
        W1, b1, W2, b2 = W.copy(), b.copy(), W.copy(), b.copy()
        dX = R.dense_backward_sgd(dA, A, X, W1, b1, 0.3, act, slope)
        dXk = K.dense_backward_sgd(dA, A, X, W2, b2, 0.3, act, slope=slope)
        close(dX, dXk, dtype, "reference.dense_backward_sgd dX", tol=10 * TOL[dtype])
        close(W1, W2, dtype, "reference.dense_backward_sgd W", tol=10 * TOL[dtype], scale=np.linalg.norm(f64(W)))
        close(b1, b2, dtype, "reference.dense_backward_sgd b", tol=10 * TOL[dtype], scale=np.linalg.norm(f64(b)))
        return
    arg = data.draw(st.sampled_from(["W", "b", "lr"]))
    args = {"dA": dA, "A": A, "X": X, "W": W.copy(), "b": b.copy(), "lr": 0.1, "activation": act, "slope": slope}
    args[arg] = data.draw(st.sampled_from({
        "W": [None, W.tolist(), layout(W, "readonly"), "abc"],
        "b": [b.tolist(), layout(b, "readonly"), np.zeros(fout + 1, dtype)],
        "lr": BAD_LRS}[arg]))
    before = {k: args[k].copy() for k in ("W", "b") if isinstance(args[k], np.ndarray)}
    expect_error(arg, R.dense_backward_sgd, **args)
    for k, v in before.items():
        np.testing.assert_array_equal(args[k], v)


def fuzz_r_sgd_update(data):
    tick("reference.sgd_update")
    dtype = data.draw(st.sampled_from(FLOATS))
    shape = data.draw(st.integers(0, 3).flatmap(lambda d: shapes(d)))
    p = data.draw(float_arrays(shape, dtype))
    g = data.draw(float_arrays(shape, dtype))
    mode = data.draw(st.sampled_from(["valid", "param", "grad", "lr"]))
    if mode == "valid":
        kind = data.draw(st.sampled_from(LAYOUTS))
        p1, p2 = p.copy(), p.copy()
        R.sgd_update(p1, layout(g, kind), 0.25)
        K.sgd_update(p2, g, 0.25)
        close(p1, p2, dtype, "reference.sgd_update")
        return
    args = {"param": p.copy(), "grad": g, "lr": 0.1}
    args[mode] = data.draw(st.sampled_from({
        "param": [None, p.tolist(), layout(p, "readonly"), p.astype(np.int64), "abc"],
        "grad": [None, "abc", np.zeros(shape + (2,)), np.zeros(shape, complex)],
        "lr": BAD_LRS}[mode]))
    before = args["param"].copy() if isinstance(args["param"], np.ndarray) else None
    expect_error(mode, R.sgd_update, **args)
    if before is not None:
        np.testing.assert_array_equal(args["param"], before)


def _small_net(data):
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    acts = [data.draw(st.sampled_from(["identity", "sigmoid", "tanh", "softplus"])) for _ in sizes[1:]]
    Ws = [rng.normal(size=(o, i)) for i, o in zip(sizes, sizes[1:])]
    bs = [rng.normal(size=o) for o in sizes[1:]]
    n = data.draw(st.integers(1, 5))
    X = rng.normal(size=(n, sizes[0]))
    return sizes, acts, Ws, bs, X, rng


def _model(sizes, acts, Ws, bs):
    return fastnn.Sequential([fastnn.Dense(i, o, a, bias=b.copy(), weight=W.copy())
                              for i, o, a, W, b in zip(sizes, sizes[1:], acts, Ws, bs)], dtype="float64")


def fuzz_r_network_forward(data):
    tick("reference.network_forward")
    sizes, acts, Ws, bs, X, _rng = _small_net(data)
    mode = data.draw(st.sampled_from(["valid", "bad"]))
    if mode == "valid":
        outs = R.network_forward(Ws, bs, acts, layout(X, data.draw(st.sampled_from(LAYOUTS))))
        assert len(outs) == len(Ws) + 1
        close(outs[-1], _model(sizes, acts, Ws, bs).forward(X), np.float64, "network_forward", tol=1e-10)
        return
    arg = data.draw(st.sampled_from(["weights", "biases", "activations", "X"]))
    args = {"weights": Ws, "biases": bs, "activations": acts, "X": X}
    args[arg] = data.draw(st.sampled_from({
        "weights": [None, Ws[:-1], Ws + Ws, "abc", [np.zeros((2, 7))] * len(Ws)],
        "biases": [None, bs[:-1], bs + bs, 5],
        "activations": [None, acts[:-1], ["relu6"] * len(acts), "abc"],
        "X": [None, "abc", np.zeros((X.shape[0], X.shape[1] + 1)), np.zeros(X.shape, complex)]}[arg]))
    expect_error(arg + "|weights|biases|W|X", R.network_forward, **args)


def fuzz_r_network_gradients(data):
    tick("reference.network_gradients")
    sizes, acts, Ws, bs, X, rng = _small_net(data)
    loss = data.draw(st.sampled_from(["half_squared_error", "mse"]))
    y = rng.normal(size=(X.shape[0], sizes[-1]))
    mode = data.draw(st.sampled_from(["valid", "bad"]))
    if mode == "valid":
        # one SGD step of lr 1 through the Trainer moves W by exactly -dW
        value, dWs, dbs = R.network_gradients(Ws, bs, acts, X, y, loss)
        model = _model(sizes, acts, Ws, bs)
        got = fastnn.Trainer(model, loss, fastnn.SGD(lr=1.0), batch_size=X.shape[0]).step(X, y)
        close_loss(got, value, np.float64, "network_gradients loss")
        for layer, W, dW, b, db in zip(model.layers, Ws, dWs, bs, dbs):
            close(layer.weight, W - dW, np.float64, "network_gradients dW", tol=1e-9)
            close(layer.bias, b - db, np.float64, "network_gradients db", tol=1e-9)
        return
    arg = data.draw(st.sampled_from(["loss", "y", "weights", "activations"]))
    args = {"weights": Ws, "biases": bs, "activations": acts, "X": X, "y": y, "loss": loss}
    args[arg] = data.draw(st.sampled_from({
        "loss": ["foo", None, 3, ["mse"]],
        "y": [None, "abc", np.zeros((X.shape[0] + 1, sizes[-1]))],
        "weights": [None, Ws[:-1], "abc"],
        "activations": [None, acts[:-1], ["relu6"] * len(acts)]}[arg]))
    expect_error(arg + "|W|X", R.network_gradients, **args)


def fuzz_r_sgd_step(data):
    tick("reference.sgd_step")
    dtype = data.draw(st.sampled_from(FLOATS))
    shape = (data.draw(st.integers(0, 6)),)
    p, g, v = (data.draw(float_arrays(shape, dtype)) for _ in range(3))
    lr = data.draw(st.sampled_from([0.0, 0.01, 0.5]))
    mom = data.draw(st.sampled_from([0.0, 0.5, 0.9]))
    nest = data.draw(st.booleans()) and mom > 0
    wd = data.draw(st.sampled_from([0.0, 0.1]))
    if data.draw(st.booleans()):
        p_r, _v_r = R.sgd_step(f64(p), f64(g), f64(v), lr, mom, nest, wd)
        opt = fastnn.SGD(lr=lr, momentum=mom, nesterov=nest, weight_decay=wd)
        pk = p.astype(np.float64)
        if mom:
            opt.state["k"] = v.astype(np.float64)
        opt.update("k", pk, g.astype(np.float64), lr)
        close(pk, p_r, np.float64, "sgd_step p", tol=1e-12, scale=np.linalg.norm(f64(p)))
        return
    arg = data.draw(st.sampled_from(["p", "g", "v", "lr", "momentum", "weight_decay", "nesterov"]))
    args = {"p": p, "g": g, "v": v, "lr": lr, "momentum": mom, "nesterov": nest, "weight_decay": wd}
    args[arg] = data.draw(st.sampled_from({
        "p": [None, "abc", np.zeros(shape[0] + 1, dtype), np.zeros(shape, complex)],
        "g": [None, "abc", np.zeros(shape[0] + 1, dtype)],
        "v": [None, {"a": 1}, np.zeros(shape[0] + 2, dtype)],
        "lr": BAD_SCALARS, "momentum": BAD_SCALARS, "weight_decay": BAD_SCALARS,
        "nesterov": BAD_FLAGS}[arg]))
    expect_error(arg, R.sgd_step, **args)


def fuzz_r_adam_step(data):
    tick("reference.adam_step")
    dtype = np.float64
    shape = (data.draw(st.integers(0, 6)),)
    p, g, m = (data.draw(float_arrays(shape, dtype)) for _ in range(3))
    v = np.abs(data.draw(float_arrays(shape, dtype)))
    t = data.draw(st.integers(1, 5))
    lr = data.draw(st.sampled_from([0.0, 0.01, 0.5]))
    wd = data.draw(st.sampled_from([0.0, 0.1]))
    if data.draw(st.booleans()):
        p_r, m_r, _v_r = R.adam_step(p, g, m, v, t, lr, (0.9, 0.99), 1e-8, wd)
        opt = fastnn.Adam(lr=lr, betas=(0.9, 0.99), weight_decay=wd)
        opt.step_count = t - 1
        pk = p.copy()
        opt.state["k"] = (m.copy(), v.copy())
        opt.update("k", pk, g, lr)
        close(pk, p_r, dtype, "adam_step p", tol=1e-12, scale=np.linalg.norm(p))
        close(opt.state["k"][0], m_r, dtype, "adam_step m", tol=1e-12)
        return
    arg = data.draw(st.sampled_from(["p", "g", "m", "v", "t", "lr", "betas", "eps", "weight_decay"]))
    args = {"p": p, "g": g, "m": m, "v": v, "t": t, "lr": lr, "betas": (0.9, 0.99), "eps": 1e-8, "weight_decay": wd}
    args[arg] = data.draw(st.sampled_from({
        "p": [None, "abc", np.zeros(shape[0] + 1)], "g": [None, {"a": 1}, np.zeros(shape[0] + 1)],
        "m": [None, "abc", np.zeros(shape[0] + 1)], "v": [None, "abc", np.zeros(shape[0] + 2)],
        "t": [0, -1, 1.5, None, "abc", True], "lr": BAD_SCALARS,
        "betas": [None, 0.9, "ab", (0.9,), (0.9, 1.0), (0.9, "a"), (-0.1, 0.9)],
        "eps": BAD_SCALARS + [0.0], "weight_decay": BAD_SCALARS}[arg]))
    expect_error(arg, R.adam_step, **args)


REFERENCE_CASES = {name[len("fuzz_r_"):]: fn for name, fn in globals().items() if name.startswith("fuzz_r_")}


def public_callables(module):
    """Public functions and classes defined in a module (not imported ones)."""
    return sorted(name for name, obj in vars(module).items()
                  if not name.startswith("_") and callable(obj) and not inspect.ismodule(obj)
                  and getattr(obj, "__module__", None) == module.__name__)


def test_every_public_callable_has_a_fuzz_case():
    for module, cases in ((K, KERNEL_CASES), (R, REFERENCE_CASES)):
        names = set(public_callables(module)) | {n for n in module.__all__ if callable(getattr(module, n))}
        missing = sorted(names - set(cases))
        assert not missing, f"{module.__name__}: public callables with no fuzz case in test_fuzz.py: {missing}"
        stale = sorted(set(cases) - names)
        assert not stale, f"fuzz cases for names {module.__name__} no longer has: {stale}"


@pytest.mark.parametrize("name", sorted(KERNEL_CASES))
@given(data=st.data())
@fuzz_settings(60)
def test_fuzz_kernels(name, data):
    with np.errstate(all="ignore"):
        KERNEL_CASES[name](data)


@pytest.mark.parametrize("name", sorted(REFERENCE_CASES))
@given(data=st.data())
@fuzz_settings(40)
def test_fuzz_reference(name, data):
    with np.errstate(all="ignore"):
        REFERENCE_CASES[name](data)


# --------------------------------------------------------------------------
# the rest of the public API: constructors and methods
# --------------------------------------------------------------------------

def call_or_bad(data, name, fn, valid, bad, check=None):
    """fn(**valid) works (and passes check), or one argument replaced by a bad
    value gives ValueError/TypeError naming it."""
    tick(name)
    if data.draw(st.booleans(), label="valid"):
        result = fn(**valid)
        if check is not None:
            check(result)
        return
    arg = data.draw(st.sampled_from(sorted(bad)), label="bad arg")
    values, names = bad[arg]
    args = dict(valid)
    args[arg] = data.draw(st.sampled_from(values), label=f"bad {arg}")
    expect_error(names, fn, **args)


BAD_INTS = [0, -1, 1.5, "3", None, True, 10**12, [3], float("nan")]
BAD_SEEDS = ["abc", -1, 1.5, [1, "a"], {"a": 1}, float("nan")]
SAFE_ACTS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus")


@st.composite
def models(draw, dtype=None, last=None):
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    acts = [draw(st.sampled_from(SAFE_ACTS)) for _ in sizes[2:]]
    acts.append(last or draw(st.sampled_from(SAFE_ACTS + ("softmax",))))
    dtype = dtype or draw(st.sampled_from(["float32", "float64"]))
    seed = draw(st.integers(0, 1000))
    bias = [draw(st.sampled_from([True, False, "shared"])) for _ in acts]
    return fastnn.Sequential([fastnn.Dense(i, o, a, b) for i, o, a, b in zip(sizes, sizes[1:], acts, bias)],
                             dtype=dtype, seed=seed)


def model_reference(model, X):
    Ws = [layer.weight.astype(np.float64) for layer in model.layers]
    bs = [None if layer.bias is None else (layer.bias.astype(np.float64) if layer.bias_mode == "per_neuron"
                                           else float(layer.bias[0])) for layer in model.layers]
    acts = [layer.activation for layer in model.layers]
    return R.network_forward(Ws, bs, acts, np.asarray(X, dtype=model.dtype).astype(np.float64),
                             slope=model.layers[0].slope)[-1]


@given(data=st.data())
@fuzz_settings(60)
def test_fuzz_dense(data):
    i, o = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    valid = {"in_features": i, "out_features": o,
             "activation": data.draw(st.sampled_from(fastnn.nn.ACTIVATIONS)),
             "bias": data.draw(st.sampled_from([True, False, "shared", 0.5, np.arange(o) / 2, list(range(o))])),
             "weight": data.draw(st.sampled_from([None, np.ones((o, i)), layout(np.ones((o, i), np.int32), "F"),
                                                  layout(np.ones((o, i), np.float32), "negstride")])),
             "init": data.draw(st.sampled_from(["auto", "glorot_uniform", "glorot_normal", "he_normal",
                                                "he_uniform", "zeros"])),
             "seed": data.draw(st.sampled_from([None, 0, 7, np.random.default_rng(1)])),
             "slope": data.draw(st.sampled_from([0.0, 0.01, 2])),
             "trainable": data.draw(st.sampled_from([True, False, ("weight",), ["bias"], ()]))}

    def check(layer):
        assert layer.weight.shape == (o, i) and np.isfinite(layer.weight).all()
        assert layer.bias is None or layer.bias.shape in ((o,), (1,))

    bad = {"in_features": (BAD_INTS, "in_features"), "out_features": (BAD_INTS, "out_features"),
           "activation": (BAD_NAMES, "activation"),
           "bias": (["abc", {"a": 1}, np.zeros(o + 1), [np.nan] * o, np.zeros(o, complex), [[1.0], [2.0, 3.0]],
                     float("nan"), float("inf"), np.full(o, None, object)], "bias"),
           "weight": (["abc", np.zeros((o, i + 1)), np.zeros((o, i), complex), np.full((o, i), None, object),
                       np.full((o, i), np.nan), [[1.0], [1.0, 2.0]], {"a": 1}], "weight"),
           "init": ([None, "xavier", 3, ["auto"]], "init"),
           "seed": (BAD_SEEDS, "seed"),
           "slope": (BAD_SCALARS, "slope"),
           "trainable": ([None, "weights", ["gamma"], 3, [None]], "trainable")}
    call_or_bad(data, "Dense", fastnn.Dense, valid, bad, check)


@given(data=st.data())
@fuzz_settings(40)
def test_fuzz_sequential_constructor(data):
    layers = [fastnn.Dense(3, 2, "relu"), fastnn.Dense(2, 4, "softmax")]
    valid = {"layers": layers, "dtype": data.draw(st.sampled_from(["float32", "float64", np.float32, np.dtype("f8")])),
             "seed": data.draw(st.sampled_from([None, 0, 12345]))}
    bad = {"layers": ([None, "abc", [], [fastnn.Dense(2, 3), fastnn.Dense(4, 1)], [1, 2], 5,
                       [fastnn.Dense(2, 3, "softmax"), fastnn.Dense(3, 1)]], "layers?|softmax"),
           "dtype": ([None, "int32", "abc", 3, np.float16, "complex128", ["float32"]], "dtype"),
           "seed": (BAD_SEEDS, "seed")}
    call_or_bad(data, "Sequential", fastnn.Sequential, valid, bad,
                lambda m: m.dtype in (np.float32, np.float64))


def bad_inputs(n, k):
    return [None, "abc", ["a", "b"], {"a": 1}, [[1.0, 2.0], [3.0]], np.zeros((n, k), complex),
            np.full((n, k), None, object), np.zeros((n, k + 1)), np.zeros((n, k, 2)), np.full((n, k), np.nan),
            np.full((n, k), np.inf)]


@given(data=st.data())
@fuzz_settings(150)
def test_fuzz_sequential_methods(data):
    model = data.draw(models())
    n = data.draw(st.integers(0, 5))
    k = model.n_inputs
    dt = data.draw(st.sampled_from([np.float64, np.float32, np.float16, np.int32, bool]))
    X = data.draw(float_arrays((n, k), np.float64, scale=2.0)).astype(dt)
    X = layout(X, data.draw(st.sampled_from(LAYOUTS)))
    method = data.draw(st.sampled_from(["forward", "predict", "predict_proba", "evaluate", "state_dict",
                                        "summary", "save_load"]))
    tick(f"Sequential.{method}")
    tol = 1e-4 if model.dtype == np.float32 else 1e-10
    if method in ("forward", "predict", "predict_proba"):
        if data.draw(st.booleans(), label="bad X"):
            if method == "predict_proba" and model.output_activation not in ("softmax", "sigmoid"):
                expect_error("predict_proba|softmax", model.predict_proba, X)
            else:
                expect_error("X", getattr(model, method), data.draw(st.sampled_from(bad_inputs(max(n, 1), k))))
            return
        if method == "predict_proba" and model.output_activation not in ("softmax", "sigmoid"):
            expect_error("predict_proba|softmax", model.predict_proba, X)
            return
        out = getattr(model, method)(X)
        assert out.shape[0] == n
        if method == "forward":
            close(out, model_reference(model, X), model.dtype, "Sequential.forward", tol=tol)
        if n and data.draw(st.booleans(), label="one sample"):
            one = getattr(model, method)(X[0])
            assert one.shape == out.shape[1:]
    elif method == "evaluate":
        y = (np.arange(max(n, 1)) % model.n_outputs if model.output_activation == "softmax"
             else np.zeros((max(n, 1), model.n_outputs)))
        Xe = np.ones((max(n, 1), k))
        if data.draw(st.booleans(), label="bad"):
            arg = data.draw(st.sampled_from(["X", "y", "loss"]))
            args = {"X": Xe, "y": y, "loss": None}
            args[arg] = data.draw(st.sampled_from({
                "X": bad_inputs(len(y), k) + [np.zeros((0, k))],
                "y": [None, "abc", {"a": 1}, np.zeros(len(y) + 1, np.int64), np.zeros((len(y), 1), complex),
                      [[1.0], [1.0, 2.0]], np.full((len(y), model.n_outputs), np.nan)],
                "loss": [3, "abc", ["mse"], fastnn.Dense]}[arg]))
            expect_error({"y": "y|targets|labels", "X": "X|samples?"}.get(arg, arg), model.evaluate, **args)
            return
        res = model.evaluate(Xe, y)
        assert math.isfinite(res["loss"])
    elif method == "state_dict":
        state = model.state_dict()
        key = min(state)
        if data.draw(st.booleans(), label="bad"):
            bad_state = data.draw(st.sampled_from([
                None, "abc", 3, [1, 2], {}, {**state, key: "abc"}, {**state, key: np.full(state[key].shape, np.nan)},
                {**state, key: np.zeros(state[key].shape + (1,))}, {**state, "extra": np.ones(1)},
                {**state, key: np.zeros(state[key].shape, complex)}]))
            before = model.state_dict()
            expect_error("state|" + key, model.load_state_dict, bad_state)
            for name, arr in model.state_dict().items():
                np.testing.assert_array_equal(arr, before[name])
            return
        model.load_state_dict({name: layout(a * 2, data.draw(st.sampled_from(LAYOUTS))) for name, a in state.items()})
        for name, arr in model.state_dict().items():
            np.testing.assert_array_equal(arr, state[name] * 2)
    elif method == "summary":
        assert "total parameters" in model.summary() and repr(model)
    else:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.npz")
            model.save(path)
            again = fastnn.load(path)
            np.testing.assert_array_equal(again.forward(np.ones((2, k))), model.forward(np.ones((2, k))))
            with open(path, "rb") as f:
                raw = f.read()
            cut = data.draw(st.integers(0, len(raw) - 1))
            junk = data.draw(st.sampled_from([raw[:cut], raw[:cut] + b"\x00" * 7, b"", b"PK\x03\x04garbage",
                                              bytes(range(256))]))
            if junk == raw:
                return
            with open(path, "wb") as f:
                f.write(junk)
            try:
                loaded = fastnn.load(path)
            except fastnn.ModelFileError:
                return
            # a cut that only dropped bytes the zip format does not need (the
            # end record's zero comment length, padded back with zeros) still
            # holds the whole model: then it must load exactly, never half
            want, got = model.state_dict(), loaded.state_dict()
            assert want.keys() == got.keys()
            for key in want:
                np.testing.assert_array_equal(got[key], want[key], err_msg=f"damaged file loaded a different {key}")


@pytest.mark.parametrize("cls", [fastnn.MSE, fastnn.HalfSquaredError, fastnn.CrossEntropy,
                                 fastnn.BinaryCrossEntropy], ids=lambda c: c.__name__)
@given(data=st.data())
@fuzz_settings(20)
def test_fuzz_losses(cls, data):  # one test per class: each gets its own examples
    loss = cls()
    tick(f"{cls.__name__}.__call__")
    dtype = data.draw(st.sampled_from(FLOATS))
    n, k = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    out = data.draw(float_arrays((n, k), dtype))
    if cls is fastnn.CrossEntropy:
        target = (np.arange(n) % k).astype(np.int64)
        kern = lambda o, t: K.softmax_cross_entropy(o, t)
    else:
        target = data.draw(float_arrays((n, k), dtype, lo=0.0, hi=1.0))
        kern = {fastnn.MSE: K.mse, fastnn.HalfSquaredError: K.half_squared_error,
                fastnn.BinaryCrossEntropy: K.sigmoid_binary_cross_entropy}[cls]
    grad = np.empty_like(out)
    if data.draw(st.booleans(), label="valid"):
        value = loss(out, target, grad)
        rl, rg = kern(out, target)
        close_loss(value, rl, dtype, cls.__name__)
        close(grad, rg, dtype, cls.__name__ + " grad")
        return
    arg = data.draw(st.sampled_from(["output", "target", "grad_out"]))
    args = {"output": out, "target": target, "grad_out": grad}
    other = np.float64 if dtype == np.float32 else np.float32
    args[arg] = data.draw(st.sampled_from([None, "abc", [[1.0]], np.zeros((n, k), np.int64),
                                           np.zeros((n + 1, k), dtype), np.zeros((n, k), other),
                                           layout(np.zeros((n, k), dtype), "readonly"),
                                           layout(np.zeros((n, k + 1), dtype), "noncontig")]))
    v = args[arg]
    if arg != "grad_out" and isinstance(v, np.ndarray) and v.flags.c_contiguous and v.shape == (n, k) \
            and v.dtype == dtype:
        return  # a read-only output or target is only read: valid
    expect_error(arg, loss, args["output"], args["target"], args["grad_out"])


@pytest.mark.parametrize("which", ["SGD", "Adam", "StepLR", "CosineLR", "OneCycleLR"])
@given(data=st.data())
@fuzz_settings(20)
def test_fuzz_optimizers_and_schedules(which, data):  # one test per class: each gets its own examples
    cls = getattr(fastnn, which)
    valid = {
        "SGD": {"lr": 0.1, "momentum": 0.5, "nesterov": True, "weight_decay": 0.01, "layer_lrs": {0: 0.2},
                "schedule": None},
        "Adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "layer_lrs": [0.1, None],
                 "schedule": fastnn.StepLR(2)},
        "StepLR": {"step_size": 3, "gamma": 0.5},
        "CosineLR": {"min_factor": 0.1, "warmup": 2},
        "OneCycleLR": {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
    }[which]
    reals = [None, "abc", [0.1], {"a": 1}, float("nan"), float("inf"), -1.0, True, complex(1, 0)]
    bad = {k: (reals, k) for k, v in valid.items() if isinstance(v, float)}
    if which == "SGD":
        bad.update(momentum=(reals + [1.0], "momentum"), nesterov=(BAD_FLAGS, "nesterov"),
                   layer_lrs=(["abc", 5, {"a": 0.1}, {0: "x"}, [None, -1.0], {-1: 0.1}, {1.5: 0.1}], "layer_lrs"),
                   schedule=(["cosine", 3, fastnn.SGD], "schedule"))
    if which == "Adam":
        bad.update(betas=([None, 0.9, "ab", (0.9,), (0.9, 1.0), (0.9, "a"), (-0.1, 0.9), {"a": 1}], "betas?"),
                   eps=(reals + [0.0], "eps"))
    if which == "StepLR":
        bad.update(step_size=([0, -1, 1.5, "3", None, True, [3], float("nan")], "step_size"))
    if which == "CosineLR":
        bad.update(warmup=([-1, 1.5, "3", None, True, [2]], "warmup"), min_factor=(reals, "min_factor"))
    if which == "OneCycleLR":
        bad.update(pct_start=(reals + [0.0, 1.0], "pct_start"))

    def check(obj):
        if which in ("StepLR", "CosineLR", "OneCycleLR"):
            total = data.draw(st.integers(1, 50))
            for step in sorted({0, total - 1, data.draw(st.integers(0, total - 1))}):
                f = obj.factor(step, total, data.draw(st.integers(1, 10)))
                assert math.isfinite(f) and 0 <= f <= 1 + 1e-12, f"{obj!r}.factor({step}) = {f}"
        assert repr(obj)

    call_or_bad(data, which, cls, valid, bad, check)


def _train_data(model, n):
    X = np.linspace(-1, 1, n * model.n_inputs).reshape(n, model.n_inputs)
    if model.output_activation == "softmax":
        return X, np.arange(n) % model.n_outputs, "cross_entropy"
    return X, np.zeros((n, model.n_outputs)), "half_squared_error"


@given(data=st.data())
@fuzz_settings(40)
def test_fuzz_trainer(data):
    model = data.draw(models())
    n = data.draw(st.integers(1, 6))
    X, y, loss = _train_data(model, n)
    what = data.draw(st.sampled_from(["Trainer", "Trainer.step", "Trainer.fit"]))
    tick(what)
    if what == "Trainer":
        bad = {"model": ([None, "abc", model.layers[0], [model]], "model"),
               "loss": ([None, "abc", 3, ["mse"], fastnn.MSE], "loss"),
               "optimizer": (["sgd", 0.1, fastnn.SGD, {"lr": 0.1}], "optimizer"),
               "batch_size": ([0, -1, 1.5, "3", None, True, [3], float("nan")], "batch_size")}
        call_or_bad(data, what, fastnn.Trainer,
                    {"model": model, "loss": loss, "optimizer": fastnn.SGD(0.1), "batch_size": 2}, bad)
        return
    opt = data.draw(st.sampled_from([fastnn.SGD(0.05), fastnn.SGD(0.05, momentum=0.9), fastnn.Adam(1e-2)]))
    trainer = fastnn.Trainer(model, loss, opt, batch_size=data.draw(st.integers(1, 4)))
    if what == "Trainer.step":
        bad = {"X": (bad_inputs(n, model.n_inputs) + [np.zeros((0, model.n_inputs))], "X|samples?"),
               "y": ([None, "abc", {"a": 1}, np.zeros(n + 1, np.int64), [[1.0], [1.0, 2.0]],
                      np.full(y.shape, np.nan)], "y|targets?|labels")}
        call_or_bad(data, what, trainer.step, {"X": layout(X, data.draw(st.sampled_from(LAYOUTS))), "y": y}, bad,
                    lambda v: math.isfinite(v))
        return
    bad = {"epochs": ([-1, 1.5, "2", None, True], "epochs"),
           "validation_split": (["abc", None, -0.1, 1.0, float("nan"), [0.5]], "validation_split"),
           "validation_data": (["abc", (X,), (X, y, y), (X[:, :0], y), 5], "validation_data|X_val|y_val"),
           "callbacks": ([None, 5, ["abc"], [fastnn.Callback]], "callbacks?"),
           "early_stopping": (["abc", -1, 1.5, fastnn.Callback()], "early_stopping|patience"),
           "augment": (["abc", 5], "augment"),
           "seed": (BAD_SEEDS, "seed")}
    call_or_bad(data, what, trainer.fit,
                {"X": X, "y": y, "epochs": data.draw(st.integers(0, 2)), "verbose": 0,
                 "seed": data.draw(st.sampled_from([None, 1])), "shuffle": data.draw(st.booleans())}, bad,
                lambda h: len(h) <= 2)


@given(data=st.data())
@fuzz_settings(30)
def test_fuzz_early_stopping(data):
    valid = {"monitor": data.draw(st.sampled_from(["val_loss", "loss", "val_accuracy"])), "patience": 2,
             "min_delta": 0.0, "mode": data.draw(st.sampled_from(["auto", "min", "max"])),
             "restore_best_weights": data.draw(st.booleans())}
    bad = {"monitor": ([None, 3, ["loss"], b"loss"], "monitor"),
           "patience": ([-1, 1.5, "2", None, True], "patience"),
           "min_delta": (["abc", None, float("nan"), [0.1], complex(1, 1)], "min_delta"),
           "mode": ([None, "up", 3, ["min"]], "mode"),
           "restore_best_weights": (BAD_FLAGS, "restore_best_weights")}
    call_or_bad(data, "EarlyStopping", fastnn.EarlyStopping, valid, bad)


@given(data=st.data())
@fuzz_settings(50)
def test_fuzz_perceptron(data):
    i, o = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    what = data.draw(st.sampled_from(["Perceptron", "Perceptron.fit", "Perceptron.predict"]))
    if what == "Perceptron":
        valid = {"n_inputs": i, "n_outputs": o, "lr": data.draw(st.sampled_from([0.1, 1, 2.5])),
                 "weight": data.draw(st.sampled_from([None, np.ones((o, i)), np.ones((o, i), np.int8).tolist()])),
                 "bias": data.draw(st.sampled_from([None, np.zeros(o), [1] * o]))}
        bad = {"n_inputs": (BAD_INTS, "n_inputs"), "n_outputs": (BAD_INTS, "n_outputs"),
               "lr": (BAD_SCALARS + [0.0], "lr"),
               "weight": (["abc", np.zeros((o, i + 1)), np.zeros((o, i), complex), [[1.0], [1.0, 2.0]],
                           np.full((o, i), np.nan), {"a": 1}], "weight"),
               "bias": (["abc", np.zeros(o + 1), np.zeros(o, complex), np.full(o, np.inf), {"a": 1}], "bias")}
        call_or_bad(data, what, fastnn.Perceptron, valid, bad)
        return
    p = fastnn.Perceptron(i, o)
    n = data.draw(st.integers(1, 6))
    X = data.draw(float_arrays((n, i), np.float64))
    d = (X[:, :1] + np.arange(o) > 0).astype(int)
    if what == "Perceptron.fit":
        bad = {"X": (bad_inputs(n, i), "X"), "d": ([None, "abc", np.zeros((n + 1, o)), np.full((n, o), 2),
                                                     np.full((n, o), np.nan), {"a": 1}], "d|targets?"),
               "epochs": ([-1, 1.5, "2", None, True, 10**12 + 0.5], "epochs"),
               "seed": (BAD_SEEDS, "seed")}
        call_or_bad(data, what, p.fit, {"X": layout(X, data.draw(st.sampled_from(LAYOUTS))), "d": d,
                                        "epochs": data.draw(st.integers(0, 5)), "shuffle": True, "seed": 1}, bad,
                    lambda r: r is p and len(p.errors_) <= 5)
        return
    bad = {"X": (bad_inputs(n, i), "X")}
    call_or_bad(data, what, p.predict, {"X": layout(X, data.draw(st.sampled_from(LAYOUTS)))}, bad,
                lambda r: r.shape == ((n,) if o == 1 else (n, o)))


@given(data=st.data())
@fuzz_settings(30)
def test_fuzz_explain(data):
    model = data.draw(models(dtype="float64", last=data.draw(st.sampled_from(["sigmoid", "identity", "tanh"]))))
    x = np.linspace(-1, 1, model.n_inputs)
    target = np.full(model.n_outputs, 0.5)
    bad = {"model": ([None, "abc", model.layers], "model"),
           "x": ([None, "abc", np.zeros(model.n_inputs + 1), np.full(model.n_inputs, np.nan),
                  np.zeros(model.n_inputs, complex), [[1.0], [1.0, 2.0]]], "x"),
           "target": ([None, "abc", np.zeros(model.n_outputs + 1), np.full(model.n_outputs, np.inf)],
                      "target|targets"),
           "loss": (["abc", 3, None], "loss"),
           "lr": (["abc", None, [0.1] * (len(model) + 1), float("nan"), {"a": 1}, [[0.1]]], "lr|learning rate"),
           "precision": ([-1, "abc", None, 1.5], "precision")}
    call_or_bad(data, "explain", fastnn.explain,
                {"model": model, "x": x, "target": target, "loss": "half_squared_error", "lr": 0.5, "precision": 6},
                bad,
                lambda rec: math.isfinite(rec.loss) and str(rec))


@pytest.mark.parametrize("what", ["set_num_threads", "set_simd_path", "info"])
@given(data=st.data())
@fuzz_settings(15)
def test_fuzz_runtime(what, data):
    tick(what)
    if what == "set_num_threads":
        if data.draw(st.booleans()):
            fastnn.set_num_threads(data.draw(st.integers(1, 4)))
            assert fastnn.get_num_threads() >= 1
        else:
            expect_error("n", fastnn.set_num_threads,
                         data.draw(st.sampled_from([0, -1, 1.5, "2", None, True, 2**31, 10**30, [2]])))
    elif what == "set_simd_path":
        if data.draw(st.booleans()):
            path = data.draw(st.sampled_from(fastnn.simd_paths()))
            fastnn.set_simd_path(path)
            assert fastnn.build_info()["simd_selected"] == path
        else:
            name = data.draw(st.one_of(st.sampled_from([None, 3, ["avx2"], b"generic", "", "AVX2", "generic\x00x",
                                                        fastnn.simd_paths()[0] + "\x00"]), st.text(max_size=8)))
            if name in fastnn.simd_paths():
                return
            expect_error("name|SIMD path", fastnn.set_simd_path, name)
    else:
        info = fastnn.build_info()
        assert info["simd_selected"] in fastnn.simd_paths() and fastnn.get_num_threads() >= 1
        with tempfile.TemporaryDirectory() as d:
            bad = data.draw(st.sampled_from([None, 3, ["x"], os.path.join(d, "missing.npz")]))
            with pytest.raises((TypeError, FileNotFoundError)):
                fastnn.load(bad)


# --------------------------------------------------------------------------
# fastnn.datasets (everything that needs no network) and fastnn.examples
# --------------------------------------------------------------------------

#: wrong types any argument may be given
BAD_ANY = [None, "abc", {"a": 1}, b"x", object()]
BAD_FRACTIONS = [0.0, 1.0, -0.5, 1.5, "abc", None, float("nan"), float("inf"), [0.1], True, {"a": 1}]
BAD_SHAPES = [None, "ab", (2, -2), (2, 0), (2.5, 2), (), 5, {"a": 1}, (True, 2), (2, None)]
BAD_RANGES = [None, "ab", (0,), (0, 1, 2), 5, (None, 1), (0, float("nan")), (1, 0), {"a": 1}, (True, 2)]
IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64, np.int64, np.uint16, bool]


@given(data=st.data())
@fuzz_settings(40)
def test_fuzz_idx(data):
    tick("read_idx/write_idx")
    dt = data.draw(st.sampled_from(IDX_DTYPES))
    shape = data.draw(st.integers(1, 3).flatmap(lambda d: shapes(d, hi=4)))
    a = (np.arange(int(np.prod(shape))).reshape(shape) % 100).astype(dt)
    a = layout(a, data.draw(st.sampled_from(LAYOUTS)))
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, data.draw(st.sampled_from(["a.idx", "a.idx.gz"])))
        mode = data.draw(st.sampled_from(["roundtrip", "bad array", "bad arg", "garbage"]))
        if mode == "roundtrip":
            before = a.copy()
            D.write_idx(path, a)
            np.testing.assert_array_equal(a, before)
            b = D.read_idx(path)
            assert b.shape == a.shape and b.flags.writeable
            np.testing.assert_array_equal(b, a)
        elif mode == "bad array":
            bad = data.draw(st.sampled_from([np.zeros(3, complex), np.zeros(3, np.float16), np.full(3, None, object),
                                             np.array(5), np.array([2**40]), "abc", None, [[1], [1, 2]],
                                             {"a": 1}, np.zeros(3, "U2")]))
            expect_error("array", D.write_idx, path, bad)
            assert not os.path.exists(path)
        elif mode == "bad arg":
            arg = data.draw(st.sampled_from(["path", "compresslevel", "expected_magic"]))
            value = data.draw(st.sampled_from({
                "path": [None, 5, b"a.idx", "", ["a"], "a\x00b"],
                "compresslevel": [None, -1, 10, 1.5, "9", True],
                "expected_magic": ["abc", -1, 2**32, 1.5, True, [0x803]]}[arg]))
            if arg == "expected_magic":
                D.write_idx(path, a)
                expect_error(arg, D.read_idx, path, expected_magic=value)
            elif arg == "compresslevel":
                expect_error(arg, D.write_idx, path, a, compresslevel=value)
                assert not os.path.exists(path)
            else:
                expect_error(arg, data.draw(st.sampled_from([D.read_idx, lambda p: D.write_idx(p, a)])), value)
        else:
            D.write_idx(path, a)
            with open(path, "rb") as f:
                raw = f.read()
            cut = data.draw(st.integers(0, len(raw)))
            junk = data.draw(st.sampled_from([raw[:cut], raw + b"\x01", raw[:cut] + b"\xff" * 3, b"",
                                              bytes(range(16))]))
            if junk == raw:
                return
            with open(path, "wb") as f:
                f.write(junk)
            try:
                got = D.read_idx(path, expected_magic=data.draw(st.sampled_from([None, 0x803, 0x801])))
            except ValueError as e:
                assert path in str(e) or "a.idx" in str(e), e
            else:  # a gzip file cut after a whole payload may still be complete data
                assert isinstance(got, np.ndarray)


@given(data=st.data())
@fuzz_settings(40)
def test_fuzz_normalizer(data):
    tick("Normalizer")
    n = data.draw(st.integers(1, 5))
    dt = data.draw(st.sampled_from([np.uint8, np.float32, np.float64, np.int16, np.int64, np.float16, bool]))
    X = (np.arange(n * 6).reshape(n, 2, 3) * 7 % 256).astype(dt)
    method = data.draw(st.sampled_from(["minmax", "standardize"]))
    per_pixel = data.draw(st.booleans())
    if data.draw(st.booleans(), label="bad ctor"):
        arg = data.draw(st.sampled_from(["method", "per_pixel", "value_range", "eps", "dtype"]))
        args = {"method": method, "per_pixel": per_pixel}
        args[arg] = data.draw(st.sampled_from({
            "method": [None, "zscore", 3, ["minmax"], "MINMAX"],
            "per_pixel": BAD_FLAGS,
            "value_range": BAD_RANGES[1:] + [(0, float("inf"))],  # (None is the default)
            "eps": ["abc", None, -1.0, float("nan"), float("inf"), True, [1e-8]],
            "dtype": [np.int32, "abc", 3, None, complex, bool, object, {"a": 1}]}[arg]))
        if arg == "value_range":
            args["method"] = "minmax"
        expect_error(arg, D.Normalizer, **args)
        return
    lay = data.draw(st.sampled_from(LAYOUTS))
    Xl = layout(X, lay)
    norm = D.Normalizer(method, per_pixel=per_pixel).fit(Xl)
    ref = D.Normalizer(method, per_pixel=per_pixel).fit(X.copy())
    np.testing.assert_array_equal(norm.shift_, ref.shift_)
    np.testing.assert_array_equal(norm.scale_, ref.scale_)
    Z = norm.transform(Xl)
    np.testing.assert_array_equal(Z, ref.transform(X.copy()))
    np.testing.assert_array_equal(Xl, X)  # inputs (read-only ones too) are never written
    assert Z.shape == X.shape and Z.dtype == np.float32 and np.isfinite(Z).all()
    np.testing.assert_allclose(norm.inverse_transform(Z), X.astype(np.float64), rtol=1e-5, atol=1e-3)
    again = D.Normalizer.from_dict(norm.to_dict())
    np.testing.assert_array_equal(again.transform(X), Z)
    mode = data.draw(st.sampled_from(["fit", "transform", "inverse_transform", "from_dict"]))
    if mode == "from_dict":
        state = norm.to_dict()
        key = data.draw(st.sampled_from(["whole", "method", "eps", "dtype", "shift", "scale", "missing"]))
        if key == "whole":
            bad = data.draw(st.sampled_from([None, "abc", 5, [1, 2]]))
        elif key == "missing":
            bad = dict(state)
            del bad[data.draw(st.sampled_from(sorted(state)))]
        else:
            bad = dict(state)
            bad[key] = data.draw(st.sampled_from([None, "abc", [1.0] * 7, float("nan"), -1.0, {"a": 1}]))
        if key in ("shift", "scale") and bad[key] == -1.0 and key == "shift" and not per_pixel:
            return  # a negative shift is a valid state
        expect_error("state", D.Normalizer.from_dict, bad)
        return
    if mode == "transform":  # zero samples: an empty result
        assert norm.transform(np.zeros((0, 2, 3))).shape == (0, 2, 3)
    bad = data.draw(st.sampled_from(BAD_ANY + [np.zeros((n, 0)), np.zeros((n, 2, 3), complex),
                                              np.full((n, 6), None, object), np.full((n, 2, 3), np.nan),
                                              np.full((n, 2, 3), np.inf), [[1, 2], [3]], np.float64(3.0)]))
    if mode == "inverse_transform":
        if isinstance(bad, (np.ndarray, np.floating)) and bad.dtype.kind == "f":
            try:  # any real numbers have an inverse (NaN in, NaN out) if their shape fits
                assert norm.inverse_transform(bad).shape == np.shape(bad)
            except ValueError as e:
                assert per_pixel and "Z" in str(e), e
            return
        expect_error("Z", norm.inverse_transform, bad)
        return
    expect_error("X_train" if mode == "fit" else "X", getattr(norm, mode), bad)


@given(data=st.data())
@fuzz_settings(40)
def test_fuzz_splits(data):
    tick("train_val_split")
    n = data.draw(st.integers(2, 30))
    y = np.asarray(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    X = np.arange(n * 2).reshape(n, 2)
    frac = data.draw(st.sampled_from([0.1, 0.5, 0.9, 0.01]))
    if data.draw(st.booleans()):
        seed = data.draw(st.sampled_from([0, 5, np.int64(3)]))
        stratify = data.draw(st.booleans())
        lay = data.draw(st.sampled_from(LAYOUTS))
        s = D.train_val_split(layout(X, lay), layout(y, lay), frac, seed=seed, stratify=stratify)
        ref = D.train_val_split(X, y, frac, seed=seed, stratify=stratify)
        for got, want in zip(s, ref):
            np.testing.assert_array_equal(got, want)
        assert len(s.X_train) + len(s.X_val) == n and len(s.X_val) >= 1 and len(s.X_train) >= 1
        assert sorted(np.concatenate([s.X_train[:, 0], s.X_val[:, 0]]) // 2) == list(range(n))
        return
    arg = data.draw(st.sampled_from(["X", "y", "val_fraction", "seed", "stratify"]))
    args = {"X": X, "y": y, "val_fraction": frac, "seed": 0}
    args[arg] = data.draw(st.sampled_from({
        "X": [None, X[:-1], "abc", np.array(5), {"a": 1}],
        "y": [None, y[:1], y.reshape(-1, 1), "abc", np.zeros(n, complex), np.full(n, None, object), {"a": 1}],
        "val_fraction": BAD_FRACTIONS,
        "seed": BAD_SEEDS + [True, b"x"],
        "stratify": BAD_FLAGS}[arg]))
    if arg == "y" and args["y"] is not None and not isinstance(args["y"], (str, dict)) and len(args["y"]) == 1:
        args["X"] = X[:1]  # one sample cannot be split
    expect_error(arg, D.train_val_split, **args)
    if arg != "X":
        expect_error(arg, D.train_val_indices, **{k: v for k, v in args.items() if k != "X"})


@given(data=st.data())
@fuzz_settings(40)
def test_fuzz_find_corrupted(data):
    tick("find_corrupted/clean")
    n = data.draw(st.integers(0, 6))
    dt = data.draw(st.sampled_from([np.uint8, np.float64, np.int64, np.float16, bool, np.float32]))
    X = (np.arange(n * 4).reshape(n, 2, 2) % 200).astype(dt)
    y = np.arange(n) % 3
    if X.dtype.kind == "f" and n:
        X[0, 0, 0] = data.draw(st.sampled_from([np.nan, np.inf, 300.0, -1.0, 5.0]))
    if data.draw(st.booleans()):
        lay = data.draw(st.sampled_from(LAYOUTS))
        Xl, yl = layout(X, lay), layout(y, lay)
        Xc, yc, report = D.clean(Xl, yl, image_shape=(2, 2), n_classes=3)
        Xr, yr, ref = D.clean(X.copy(), y.copy(), image_shape=(2, 2), n_classes=3)
        np.testing.assert_array_equal(Xc, Xr)
        np.testing.assert_array_equal(yc, yr)
        np.testing.assert_array_equal(report.keep, ref.keep)
        np.testing.assert_array_equal(Xl, X)
        assert len(Xc) == len(yc) == report.n_kept and Xc.shape[1:] == (2, 2) and yc.dtype == np.int64
        assert isinstance(str(report), str)
        return
    arg = data.draw(st.sampled_from(["X", "y", "image_shape", "n_classes", "value_range"]))
    args = {"X": X, "y": y, "image_shape": (2, 2), "n_classes": 3}
    args[arg] = data.draw(st.sampled_from({
        "X": [None, 5, "abcd", {"a": 1}, np.array(5)] + ([X[:-1]] if n else []),
        "y": [None, np.zeros((n, 2)), np.zeros(n + 1), 5, "abc", {"a": 1}, [[1], [1, 2]]],
        "image_shape": BAD_SHAPES,
        "n_classes": [None, "abc", 0, -1, 2.5, True, [3]],
        "value_range": BAD_RANGES[:-3] + [(1, 0), {"a": 1}, (True, 2)]}[arg]))
    names = "X|y" if arg in ("X", "y") else arg
    expect_error(names, data.draw(st.sampled_from([D.find_corrupted, D.clean])), **args)


def _small_mnist(n_train=12, n_test=4):
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (n_train, 784)).astype(np.uint8), np.arange(n_train) % 3,
            rng.integers(0, 256, (n_test, 784)).astype(np.uint8), np.arange(n_test) % 3)


@given(data=st.data())
@fuzz_settings(30)
def test_fuzz_prepare_mnist(data):
    tick("prepare_mnist")
    X_train, y_train, X_test, y_test = _small_mnist()
    valid = {"data": (X_train, y_train, X_test, y_test), "drop_corrupted": False}
    if data.draw(st.booleans()):
        flatten, drop = data.draw(st.booleans()), data.draw(st.booleans())
        p = D.prepare_mnist(**dict(valid, flatten=flatten, drop_corrupted=drop))
        assert len(p.y_train) + len(p.y_val) == 12 and p.X_train.dtype == np.float32
        assert p.X_test.shape == (4, 784)
        return
    arg = data.draw(st.sampled_from(["data", "val_fraction", "seed", "method", "per_pixel", "stratify",
                                     "flatten", "drop_corrupted", "dtype", "X_train", "y_train", "y_test"]))
    args = dict(valid)
    value = data.draw(st.sampled_from({
        "data": BAD_ANY + [(X_train, y_train), [1, 2, 3, 4, 5], np.zeros((4, 2))],
        "val_fraction": BAD_FRACTIONS, "seed": BAD_SEEDS, "method": [None, "z", 3],
        "per_pixel": BAD_FLAGS, "stratify": BAD_FLAGS, "flatten": BAD_FLAGS, "drop_corrupted": BAD_FLAGS,
        "dtype": [None, np.int32, "abc"],
        "X_train": [None, "abc", np.zeros((12, 4), complex), np.full((12, 4), np.nan)],
        "y_train": [None, np.full(12, 0.5), np.zeros(11, np.int64), np.zeros((12, 1))],
        "y_test": [None, np.full(4, 0.5), np.zeros(3, np.int64)]}[arg]))
    if arg in ("X_train", "y_train", "y_test"):
        parts = dict(zip(["X_train", "y_train", "X_test", "y_test"], valid["data"]))
        parts[arg] = value
        args["data"] = tuple(parts.values())
        # clean() drops images with bad labels; only drop_corrupted=False must refuse them
        fractional = isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim == 1
        args["drop_corrupted"] = data.draw(st.booleans()) and not fractional
        names = f"{arg}|{'X' if arg[0] == 'y' else 'y'}{arg[1:]}"
    else:
        args[arg] = value
        names = arg
    expect_error(names, D.prepare_mnist, **args)


@given(data=st.data())
@fuzz_settings(30)
def test_fuzz_dataset_files_args(data):
    """The loaders' and helpers' arguments, checked before any file or network is touched."""
    tick("load_mnist/fetch_mnist/plot_samples args")
    with tempfile.TemporaryDirectory() as d:
        fn = data.draw(st.sampled_from(["get_data_home", "resolve_mirrors", "fetch_mnist", "load_mnist",
                                        "load_mnist_or_sample", "load_mnist_sample", "plot_samples"]))
        if fn == "get_data_home":
            assert str(D.get_data_home(d)) == d
            expect_error("data_home", D.get_data_home, data.draw(st.sampled_from([5, b"x", ["a"], "", {"a": 1}])))
        elif fn == "resolve_mirrors":
            assert D.resolve_mirrors(["file:///x", " http://a "]) == ["file:///x/", "http://a/"]
            expect_error("mirrors|mirror", D.resolve_mirrors,
                         data.draw(st.sampled_from([5, [None], ["a", 3], {"a": 1}, [], "  ,", b"\xff"])))
        elif fn == "load_mnist_sample":
            expect_error("flatten", D.load_mnist_sample, data.draw(st.sampled_from(BAD_FLAGS)))
        elif fn == "plot_samples":
            pytest.importorskip("matplotlib")
            X, y = np.zeros((4, 2, 2)), np.arange(4) % 2
            arg = data.draw(st.sampled_from(["X", "y", "per_class", "dpi", "seed", "path", "title"]))
            args = {"X": X, "y": y, "path": os.path.join(d, "p.png")}
            args[arg] = data.draw(st.sampled_from({
                "X": [None, "abc", np.zeros((4, 2, 2), complex), np.zeros((3, 2, 2))],
                "y": [None, "abc", np.zeros((4, 2)), np.zeros(3)], "per_class": BAD_INTS,
                "dpi": BAD_INTS, "seed": BAD_SEEDS, "path": [None, 5, "", ["a"]], "title": [5, ["t"]]}[arg]))
            expect_error("X|y" if arg in "Xy" else arg, D.plot_samples, **args)
            assert not os.path.exists(os.path.join(d, "p.png"))
        else:
            arg = data.draw(st.sampled_from(["data_home", "download", "mirrors", "timeout", "verbose"]
                                            + (["flatten"] if fn != "fetch_mnist" else [])))
            args = {"data_home": d, "download": False, "verbose": False}
            args[arg] = data.draw(st.sampled_from({
                "data_home": [5, b"x", ["a"], "", {"a": 1}], "download": BAD_FLAGS,
                "mirrors": [5, [None], {"a": 1}], "timeout": [None, 0, -1, "30", float("nan"), float("inf"), True],
                "verbose": [None, "yes", 2, 0.5], "flatten": BAD_FLAGS}[arg]))
            expect_error(arg, getattr(D, fn), **args)
            assert os.listdir(d) == []


@given(data=st.data())
@fuzz_settings(20)
def test_fuzz_examples(data):
    tick("examples.get")
    if data.draw(st.booleans()):
        name = data.draw(st.sampled_from(E.names()))
        assert E.get(name).n_layers >= 1
    else:
        bad = data.draw(st.one_of(st.sampled_from([None, 3, ["x"]]), st.text(max_size=6)))
        if bad in E.names():
            return
        if isinstance(bad, str):  # an unknown name: a KeyError, as for a dict
            with pytest.raises(KeyError, match="worked example"):
                E.get(bad)
            return
        expect_error("name", E.get, bad)
