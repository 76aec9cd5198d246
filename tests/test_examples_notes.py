"""Every number the lecture notes print for their worked examples, checked.

For each worked example in ``fastnn.examples`` and each printed number, the
quantity is recomputed here in float64 with a small forward/backward pass of
our own (class :class:`Net`, written directly from the notes' formulas:
z = W a + b, a = sigma(z), E = sum 1/2 (t - y)^2, delta_out = (y - t) y(1 - y),
dE/da_hidden = sum over the output paths of delta_k w_kh,
delta_h = dE/da_h a_h(1 - a_h), dE/dw = delta * input, a shared bias gets the
sum of its neurons' deltas, w <- w - eta dE/dw) and compared with the notes at
the precision they print (decimals d, half unit 0.5 * 10**-d):

* ``rounded``: |float64 - printed| <= half unit.
* ``truncated``: the notes cut instead of rounding: printed == float64 cut to
  d decimals, and rounding would NOT give the printed value (one unit off).
* ``intermediates`` (rounding propagation, not a slip): float64 rounded does
  not give the printed value, the notes' arithmetic ``via`` on their own
  printed, non-slip intermediates does (within half a unit), and the printed
  value is within 1 % of float64.
* ``slip``: the printed value is wrong at its precision (neither rounding nor
  truncation of float64 gives it), the recorded correct value equals float64
  (relative 1e-9), and ``via``, where given, reproduces how the notes got it.

The gradients of :class:`Net` are themselves checked against central finite
differences of E.

Run: ``cd /work/main && /work/venv/bin/python -m pytest
tests/test_examples_notes.py -q -p no:cacheprovider``
"""

from __future__ import annotations

import ast
import importlib.util
import math
import re
import sys
from decimal import ROUND_DOWN, Decimal
from functools import cached_property
from pathlib import Path

import numpy as np
import pytest

# The compiled fastnn package may not be built yet, so examples.py (pure
# Python + NumPy, imports no other fastnn module) is loaded by file path and
# the forward/backward below is plain NumPy.  Once the package builds, the
# lead will switch this to ``from fastnn import examples`` and check the same
# numbers through the compiled path.
_EXAMPLES_PY = (Path(__file__).resolve().parents[1]
                / "src" / "fastnn" / "course" / "examples.py")


def _load_examples():
    name = "_fastnn_examples_by_path"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _EXAMPLES_PY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


examples = _load_examples()

EXPECTED_NAMES = [
    "notes000_2_2_2",
    "notes001_2_1",
    "notes001_2_2_1",
    "notes002_2_2_1",
    "notes003_2_2_2",
    "notes004_2_2_2",
]


# --------------------------------------------------------------------------
# our own float64 forward / backward, from the notes' formulas
# --------------------------------------------------------------------------

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class Net:
    """One sample, one gradient-descent step, all intermediate quantities.

    Layers are indexed from 0 (first weight layer).  ``inp[l]`` is the input
    of layer l (x for l = 0), ``z[l]`` its net input, ``a[l]`` its output;
    ``y = a[-1]``.  ``dE_da[l]`` is dE_total/da[l], ``sp[l]`` the sigmoid
    derivative a(1 - a), ``delta[l]`` = dE/dz[l], ``gW``/``gb`` the gradients,
    ``W_new``/``b_new`` the parameters after one step.
    """

    def __init__(self, ex, weights=None, biases=None):
        assert ex.loss == "half_squared_error"
        assert all(act == "sigmoid" for act in ex.activations)
        self.ex = ex
        self.x = np.array(ex.x, dtype=np.float64)
        self.t = np.array(ex.target, dtype=np.float64)
        self.W = [np.array(w, dtype=np.float64)
                  for w in (ex.weights if weights is None else weights)]
        self.bias = list(ex.biases if biases is None else biases)
        self.lr = [float(v) for v in ex.learning_rates]
        L = len(self.W)

        # forward: z = W a_prev + b, a = sigma(z)
        self.inp, self.z, self.a = [], [], []
        a = self.x
        for l in range(L):
            self.inp.append(a)
            z = self.W[l] @ a + self._bias_vector(l)
            a = sigmoid(z)
            self.z.append(z)
            self.a.append(a)
        self.y = a
        self.E_k = 0.5 * (self.t - self.y) ** 2          # E_k = 1/2 (t - y)^2
        self.E = float(self.E_k.sum())                   # E_total

        # backward
        self.dE_dy = self.y - self.t                     # d/dy 1/2 (t - y)^2
        self.sp = [ak * (1.0 - ak) for ak in self.a]     # sigma' = a (1 - a)
        self.dE_da = [None] * L
        self.delta = [None] * L
        self.dE_da[L - 1] = self.dE_dy
        self.delta[L - 1] = self.dE_dy * self.sp[L - 1]
        for l in range(L - 2, -1, -1):
            # dE_total/da_h = sum over output paths k of delta_k * w_kh
            self.dE_da[l] = self.W[l + 1].T @ self.delta[l + 1]
            self.delta[l] = self.dE_da[l] * self.sp[l]
        self.gW = [np.outer(self.delta[l], self.inp[l]) for l in range(L)]
        self.gb = []
        for l in range(L):
            if self.bias[l] is None:
                self.gb.append(None)
            elif ex.shared_bias[l]:
                self.gb.append(float(self.delta[l].sum()))  # shared: sum
            else:
                self.gb.append(self.delta[l].copy())

        # one gradient-descent step
        self.W_new = [self.W[l] - self.lr[l] * self.gW[l] for l in range(L)]
        self.b_new = []
        for l in range(L):
            if self.bias[l] is None:
                self.b_new.append(None)
            elif ex.shared_bias[l]:
                self.b_new.append(float(self.bias[l]) - self.lr[l] * self.gb[l])
            else:
                self.b_new.append(np.asarray(self.bias[l], dtype=np.float64)
                                  - self.lr[l] * self.gb[l])

    def _bias_vector(self, l):
        out = self.W[l].shape[0]
        b = self.bias[l]
        if b is None:
            return np.zeros(out)
        if self.ex.shared_bias[l]:
            assert np.ndim(b) == 0
            return np.full(out, float(b))
        b = np.asarray(b, dtype=np.float64)
        assert b.shape == (out,)
        return b

    @cached_property
    def next(self):
        """The network after one step (for the notes' second forward pass)."""
        return Net(self.ex, self.W_new, self.b_new)


def loss_of(ex, weights, biases):
    return Net(ex, weights, biases).E


# --------------------------------------------------------------------------
# which quantity each printed key is
# --------------------------------------------------------------------------

KEYS = {}

KEYS["notes000_2_2_2"] = {
    "x1*w1": lambda n: n.x[0] * n.W[0][0, 0],
    "x2*w2": lambda n: n.x[1] * n.W[0][0, 1],
    "z1": lambda n: n.z[0][0],
    "x1*w3": lambda n: n.x[0] * n.W[0][1, 0],
    "x2*w4": lambda n: n.x[1] * n.W[0][1, 1],
    "z2": lambda n: n.z[0][1],
    "h1": lambda n: n.a[0][0],
    "h2": lambda n: n.a[0][1],
    "h1*w5": lambda n: n.a[0][0] * n.W[1][0, 0],
    "h2*w6": lambda n: n.a[0][1] * n.W[1][0, 1],
    "z3": lambda n: n.z[1][0],
    "h1*w7": lambda n: n.a[0][0] * n.W[1][1, 0],
    "h2*w8": lambda n: n.a[0][1] * n.W[1][1, 1],
    "z4": lambda n: n.z[1][1],
    "y1": lambda n: n.y[0],
    "y2": lambda n: n.y[1],
    "t1 - y1": lambda n: n.t[0] - n.y[0],
    "(t1 - y1)^2": lambda n: (n.t[0] - n.y[0]) ** 2,
    "E1": lambda n: n.E_k[0],
    "t2 - y2": lambda n: n.t[1] - n.y[1],
    "(t2 - y2)^2": lambda n: (n.t[1] - n.y[1]) ** 2,
    "E2": lambda n: n.E_k[1],
    "E": lambda n: n.E,
    "y1 (backward)": lambda n: n.y[0],
    "dE/dy1": lambda n: n.dE_dy[0],
    "1 - y1": lambda n: 1.0 - n.y[0],
    "dy1/dz3": lambda n: n.sp[1][0],
    "o1 (backward)": lambda n: n.a[0][0],
    "dz3/dw5": lambda n: n.inp[1][0],
    "dE/dw5": lambda n: n.gW[1][0, 0],
    "eta*dE/dw5": lambda n: n.lr[1] * n.gW[1][0, 0],
    "w5_new": lambda n: n.W_new[1][0, 0],
    "w5 (used in dy1/do1)": lambda n: n.W[1][0, 0],
    "dy1/do1": lambda n: n.sp[1][0] * n.W[1][0, 0],
    "dE/do1": lambda n: n.dE_da[0][0],
    "1 - o1": lambda n: 1.0 - n.a[0][0],
    "do1/dz1": lambda n: n.sp[0][0],
    "x1 (backward)": lambda n: n.x[0],
    "dz1/dw1": lambda n: n.inp[0][0],
    "dE/dw1": lambda n: n.gW[0][0, 0],
    "eta*dE/dw1": lambda n: n.lr[0] * n.gW[0][0, 0],
    "w1_new": lambda n: n.W_new[0][0, 0],
}

KEYS["notes001_2_1"] = {
    "s": lambda n: n.z[0][0],
    "exp(-s)": lambda n: np.exp(-n.z[0][0]),
    "1 + exp(-s)": lambda n: 1.0 + np.exp(-n.z[0][0]),
    "f(s)": lambda n: n.y[0],
    "d - y": lambda n: n.t[0] - n.y[0],
    "(d - y)^2": lambda n: (n.t[0] - n.y[0]) ** 2,
    "E": lambda n: n.E,
    "dE/dy": lambda n: n.dE_dy[0],
    "1 - y": lambda n: 1.0 - n.y[0],
    "dy/ds": lambda n: n.sp[0][0],
    "ds/dw1": lambda n: n.x[0],
    "ds/dw2": lambda n: n.x[1],
    "dE/dw1": lambda n: n.gW[0][0, 0],
    "dE/dw2": lambda n: n.gW[0][0, 1],
    "dE/dw2 (in w2 update)": lambda n: n.gW[0][0, 1],
    "w1_new": lambda n: n.W_new[0][0, 0],
    "w2_new": lambda n: n.W_new[0][0, 1],
}

KEYS["notes001_2_2_1"] = {
    "h1_in": lambda n: n.z[0][0],
    "h2_in": lambda n: n.z[0][1],
    "h1_out": lambda n: n.a[0][0],
    "h2_out": lambda n: n.a[0][1],
    "out_in": lambda n: n.z[1][0],
    "out_out": lambda n: n.y[0],
    "Predicted (prediction-error slide)": lambda n: n.y[0],
    "E": lambda n: n.E,
    "dE/dout_out": lambda n: n.dE_dy[0],
    "1 + exp(-out_in)": lambda n: 1.0 + np.exp(-n.z[1][0]),
    "sigma(out_in) (in derivative)": lambda n: n.y[0],
    "1 - sigma(out_in)": lambda n: 1.0 - n.y[0],
    "dout_out/dout_in": lambda n: n.sp[1][0],
    "dout_in/dW5": lambda n: n.inp[1][0],
    "dE/dout_out (in dE/dW5 product)": lambda n: n.dE_dy[0],
    "dE/dW5": lambda n: n.gW[1][0, 0],
    "dout_in/dW6": lambda n: n.inp[1][1],
    "dE/dW6": lambda n: n.gW[1][0, 1],
    "dout_in/dh1_out": lambda n: n.W[1][0, 0],
    "dh1_out/dh1_in": lambda n: n.sp[0][0],
    "dh1_in/dW1": lambda n: n.x[0],
    "dE/dW1": lambda n: n.gW[0][0, 0],
    "dh1_in/dW2": lambda n: n.x[1],
    "dE/dW2": lambda n: n.gW[0][0, 1],
    "dout_in/dh2_out": lambda n: n.W[1][0, 1],
    "dh2_out/dh2_in": lambda n: n.sp[0][1],
    "dh2_in/dW3": lambda n: n.x[0],
    "dE/dW3": lambda n: n.gW[0][1, 0],
    "dh2_in/dW4": lambda n: n.x[1],
    "dE/dW4": lambda n: n.gW[0][1, 1],
    "W1_new": lambda n: n.W_new[0][0, 0],
    "W2_new": lambda n: n.W_new[0][0, 1],
    "W3_new": lambda n: n.W_new[0][1, 0],
    "W4_new": lambda n: n.W_new[0][1, 1],
    "dE/dW5 (in W5 update)": lambda n: n.gW[1][0, 0],
    "W5_new": lambda n: n.W_new[1][0, 0],
    "W6_new": lambda n: n.W_new[1][0, 1],
}

KEYS["notes002_2_2_1"] = {
    "z_h1": lambda n: n.z[0][0],
    "z_h2": lambda n: n.z[0][1],
    "a_h1": lambda n: n.a[0][0],
    "a_h2": lambda n: n.a[0][1],
    "z_out": lambda n: n.z[1][0],
    "a_out": lambda n: n.y[0],
    "loss": lambda n: n.E,
    "dyhat/dz_out": lambda n: n.sp[1][0],
    "dL/dyhat": lambda n: n.dE_dy[0],
    "dz_out/dw5": lambda n: n.inp[1][0],
    "dL/dw5": lambda n: n.gW[1][0, 0],
    "lr*dL/dw5": lambda n: n.lr[1] * n.gW[1][0, 0],
    "w5_new": lambda n: n.W_new[1][0, 0],
    "dz_out/dw6": lambda n: n.inp[1][1],
    "dL/dw6": lambda n: n.gW[1][0, 1],
    "lr (in w6 update)": lambda n: n.lr[1],
    "w6_new": lambda n: n.W_new[1][0, 1],
    "dz_out/da_h1": lambda n: n.W[1][0, 0],
    "da_h1/dz_h1": lambda n: n.sp[0][0],
    "dz_h1/dw1": lambda n: n.x[0],
    "dL/dyhat*dyhat/dz_out": lambda n: n.delta[1][0],
    "...*dz_out/da_h1": lambda n: n.dE_da[0][0],
    "dL/dz_h1": lambda n: n.delta[0][0],
    "dL/dw1": lambda n: n.gW[0][0, 0],
    "dz_h1/dw2": lambda n: n.x[1],
    "dL/dw2": lambda n: n.gW[0][0, 1],
    "da_h2/dz_h2": lambda n: n.sp[0][1],
    "dz_out/da_h2": lambda n: n.W[1][0, 1],
    "dz_h2/dw4": lambda n: n.x[1],
    "dL/dw4": lambda n: n.gW[0][1, 1],
    "dz_h2/dw3": lambda n: n.x[0],
    "dL/dw3": lambda n: n.gW[0][1, 0],
    "dL/dw4 (summary)": lambda n: n.gW[0][1, 1],
    "dz_out/db2": lambda n: 1.0,
    "dL/db2": lambda n: n.gb[1],
    "dz_h1/db1": lambda n: 1.0,
    "dL/db1 from h1": lambda n: n.delta[0][0],
    "da_h2/dz_h2 (in b1 product)": lambda n: n.sp[0][1],
    "dL/db1 from h2": lambda n: n.delta[0][1],
    "dL/db1": lambda n: n.gb[0],
}

# file 003: W1 = [[w1, w3], [w2, w4]], W2 = [[w5, w7], [w6, w8]]
_W003 = {"w1": (0, 0, 0), "w3": (0, 0, 1), "w2": (0, 1, 0), "w4": (0, 1, 1),
         "w5": (1, 0, 0), "w7": (1, 0, 1), "w6": (1, 1, 0), "w8": (1, 1, 1)}


def _g(n, w):
    l, i, j = _W003[w]
    return n.gW[l][i, j]


def _new(n, w):
    l, i, j = _W003[w]
    return n.W_new[l][i, j]


KEYS["notes003_2_2_2"] = {
    "theta11*x1": lambda n: n.W[0][0, 0] * n.x[0],
    "theta21*x2": lambda n: n.W[0][0, 1] * n.x[1],
    "theta12*x1": lambda n: n.W[0][1, 0] * n.x[0],
    "theta22*x2": lambda n: n.W[0][1, 1] * n.x[1],
    "z1^0": lambda n: n.z[0][0],
    "z2^0": lambda n: n.z[0][1],
    "a1": lambda n: n.a[0][0],
    "a2": lambda n: n.a[0][1],
    "a1 (4 dp)": lambda n: n.a[0][0],
    "a2 (4 dp)": lambda n: n.a[0][1],
    "theta'11*a1": lambda n: n.W[1][0, 0] * n.a[0][0],
    "theta'21*a2": lambda n: n.W[1][0, 1] * n.a[0][1],
    "z1'": lambda n: n.z[1][0],
    "O1": lambda n: n.y[0],
    "theta'12*a1": lambda n: n.W[1][1, 0] * n.a[0][0],
    "theta'22*a2": lambda n: n.W[1][1, 1] * n.a[0][1],
    "z2'": lambda n: n.z[1][1],
    "O2": lambda n: n.y[1],
    "O1 (4 dp)": lambda n: n.y[0],
    "E_o1": lambda n: n.E_k[0],
    "O2 (4 dp)": lambda n: n.y[1],
    "E_o2": lambda n: n.E_k[1],
    "E_total": lambda n: n.E,
    "dE/dO1": lambda n: n.dE_dy[0],
    "z1' (in dO1/dz1' formula)": lambda n: n.z[1][0],
    "z1' (second factor of dO1/dz1' formula)": lambda n: n.z[1][0],
    "dO1/dz1'": lambda n: n.sp[1][0],
    "dz1'/dw5": lambda n: n.inp[1][0],
    "dE/dw5": lambda n: _g(n, "w5"),
    "w5_new": lambda n: _new(n, "w5"),
    "dE/dO2": lambda n: n.dE_dy[1],
    "z2' (in dO2/dz2' formula)": lambda n: n.z[1][1],
    "dO2/dz2'": lambda n: n.sp[1][1],
    "dz2'/dw6": lambda n: n.inp[1][0],
    "dE/dw6": lambda n: _g(n, "w6"),
    "alpha*dE/dw6": lambda n: n.lr[1] * _g(n, "w6"),
    "w6_new": lambda n: _new(n, "w6"),
    "dO1/dz1' (w7 block)": lambda n: n.sp[1][0],
    "dz1'/dw7": lambda n: n.inp[1][1],
    "dE/dw7": lambda n: _g(n, "w7"),
    "dE/dw7 (in w7 update)": lambda n: _g(n, "w7"),
    "alpha*dE/dw7": lambda n: n.lr[1] * _g(n, "w7"),
    "w7_new": lambda n: _new(n, "w7"),
    "w7_new (3 dp)": lambda n: _new(n, "w7"),
    "dz2'/dw8": lambda n: n.inp[1][1],
    "dE/dw8": lambda n: _g(n, "w8"),
    "alpha*dE/dw8": lambda n: n.lr[1] * _g(n, "w8"),
    "w8_new": lambda n: _new(n, "w8"),
    "dO1/dz1' (w1 block)": lambda n: n.sp[1][0],
    "dE_o1/dz1'": lambda n: n.delta[1][0],
    "dz1'/da1": lambda n: n.W[1][0, 0],
    "dE_o1/da1": lambda n: n.delta[1][0] * n.W[1][0, 0],
    "dE_o2/dz2'": lambda n: n.delta[1][1],
    "dz2'/da1": lambda n: n.W[1][1, 0],
    "dE_o2/dz2' (9 dp)": lambda n: n.delta[1][1],
    "dE_o2/da1": lambda n: n.delta[1][1] * n.W[1][1, 0],
    "dE_o1/da1 (in sum)": lambda n: n.delta[1][0] * n.W[1][0, 0],
    "dE/da1": lambda n: n.dE_da[0][0],
    "a1 (in da1/dz1)": lambda n: n.a[0][0],
    "da1/dz1": lambda n: n.sp[0][0],
    "dz1/dw1": lambda n: n.x[0],
    "dE/da1 (in dE/dw1)": lambda n: n.dE_da[0][0],
    "dE/dw1": lambda n: _g(n, "w1"),
    "dE/dw1 (in w1 update)": lambda n: _g(n, "w1"),
    "w1_new": lambda n: _new(n, "w1"),
    "dz1/dw3": lambda n: n.x[1],
    "dE/dw3": lambda n: _g(n, "w3"),
    "dE/dw3 (4 dp)": lambda n: _g(n, "w3"),
    "dE/dw3 (in w3 update)": lambda n: _g(n, "w3"),
    "w3_new": lambda n: _new(n, "w3"),
    "dz1'/da2": lambda n: n.W[1][0, 1],
    "dE_o1/da2": lambda n: n.delta[1][0] * n.W[1][0, 1],
    "dz2'/da2": lambda n: n.W[1][1, 1],
    "dE_o2/da2": lambda n: n.delta[1][1] * n.W[1][1, 1],
    "dE/da2": lambda n: n.dE_da[0][1],
    "a2 (6 dp)": lambda n: n.a[0][1],
    "da2/dz2": lambda n: n.sp[0][1],
    "dz2/dw2": lambda n: n.x[0],
    "da2/dz2 (in dE/dw2)": lambda n: n.sp[0][1],
    "dE/dw2": lambda n: _g(n, "w2"),
    "w2_new": lambda n: _new(n, "w2"),
    "w2_new (3 dp)": lambda n: _new(n, "w2"),
    "dz2/dw4": lambda n: n.x[1],
    "dE/dw4": lambda n: _g(n, "w4"),
    "w4 (old, in w4 update)": lambda n: n.W[0][1, 1],
    "w4_new": lambda n: _new(n, "w4"),
    "w4_new (6 dp)": lambda n: _new(n, "w4"),
    # second forward pass, with the correctly updated weights
    "pass2 z1^0": lambda n: n.next.z[0][0],
    "pass2 w4*x2": lambda n: n.next.W[0][1, 1] * n.x[1],
    "pass2 w2*x1": lambda n: n.next.W[0][1, 0] * n.x[0],
    "pass2 w4*x2 (struck)": lambda n: n.next.W[0][1, 1] * n.x[1],
    "pass2 z2^0 (struck)": lambda n: n.next.z[0][1],
    "pass2 z2^0": lambda n: n.next.z[0][1],
    "pass2 a1": lambda n: n.next.a[0][0],
    "pass2 a2 (struck)": lambda n: n.next.a[0][1],
    "pass2 a2": lambda n: n.next.a[0][1],
    "pass2 w5*a1": lambda n: n.next.W[1][0, 0] * n.next.a[0][0],
    "pass2 w7*a2 (struck)": lambda n: n.next.W[1][0, 1] * n.next.a[0][1],
    "pass2 z1' (struck)": lambda n: n.next.z[1][0],
    "pass2 z1'": lambda n: n.next.z[1][0],
    "pass2 o1": lambda n: n.next.y[0],
    "pass2 o1 (struck)": lambda n: n.next.y[0],
    "pass2 w8*a2": lambda n: n.next.W[1][1, 1] * n.next.a[0][1],
    "pass2 w6*a1": lambda n: n.next.W[1][1, 0] * n.next.a[0][0],
    "pass2 w8*a2 (struck)": lambda n: n.next.W[1][1, 1] * n.next.a[0][1],
    "pass2 z2'": lambda n: n.next.z[1][1],
    "pass2 z2' (struck)": lambda n: n.next.z[1][1],
    "pass2 o2 (struck)": lambda n: n.next.y[1],
    "pass2 o2": lambda n: n.next.y[1],
    "new w1 (summary)": lambda n: _new(n, "w1"),
    "new w2 (summary)": lambda n: _new(n, "w2"),
    "new w3 (summary)": lambda n: _new(n, "w3"),
    "new w4 (summary)": lambda n: _new(n, "w4"),
    "new w5 (summary)": lambda n: _new(n, "w5"),
    "new w6 (summary)": lambda n: _new(n, "w6"),
    "new w7 (summary)": lambda n: _new(n, "w7"),
    "new w8 (summary)": lambda n: _new(n, "w8"),
}

KEYS["notes004_2_2_2"] = {
    "in_h1": lambda n: n.z[0][0],
    "out_h1": lambda n: n.a[0][0],
    "out_h1 (3 dp)": lambda n: n.a[0][0],
    "out_h2 (3 dp)": lambda n: n.a[0][1],
    "in_o1": lambda n: n.z[1][0],
    "out_o1": lambda n: n.y[0],
    "out_o2": lambda n: n.y[1],
    "L_o1": lambda n: n.E_k[0],
    "L_o2": lambda n: n.E_k[1],
    "L_total": lambda n: n.E,
    "dL/dout_o1": lambda n: n.dE_dy[0],
    "dout_o1/din_o1": lambda n: n.sp[1][0],
    "din_o1/dw5": lambda n: n.inp[1][0],
    "dL/dw5": lambda n: n.gW[1][0, 0],
    "w5_new": lambda n: n.W_new[1][0, 0],
    "w6_new": lambda n: n.W_new[1][0, 1],
    "w7_new": lambda n: n.W_new[1][1, 0],
    "w8_new": lambda n: n.W_new[1][1, 1],
}


def computed_values(name):
    ex = examples.get(name)
    net = Net(ex)
    return {key: float(f(net)) for key, f in KEYS[name].items()}


COMPUTED = {name: computed_values(name) for name in KEYS}


# --------------------------------------------------------------------------
# precision helpers and the evaluator for the notes' arithmetic (``via``)
# --------------------------------------------------------------------------

def half_unit(decimals):
    return 0.5 * 10.0 ** (-decimals)


def agrees(a, b, decimals):
    """|a - b| <= half a unit in the last printed place (ties included)."""
    return abs(a - b) <= half_unit(decimals) * (1.0 + 1e-9) + 1e-15


def cut(x, decimals):
    """x truncated (toward zero) to ``decimals`` decimals, as a Decimal."""
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals),
                                            rounding=ROUND_DOWN)


def is_truncation(full, text, decimals):
    return Decimal(text) == cut(full, decimals)


_FUNCS = {
    "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v)),
    "exp": math.exp,
    "trunc": lambda v, d: float(cut(v, int(d))),
    "round": lambda v, d: round(v, int(d)),
}
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.Pow: lambda a, b: a ** b}


def _eval_node(node, env):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_eval_node(node.left, env),
                                      _eval_node(node.right, env))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval_node(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCS and not node.keywords):
        return _FUNCS[node.func.id](*[_eval_node(a, env) for a in node.args])
    raise ValueError(f"unsupported expression element: {ast.dump(node)}")


def eval_via(expr, printed):
    """Evaluate the notes' arithmetic; returns (value, referenced keys)."""
    env, refs = {}, []

    def ref(match):
        key = match.group(1)
        assert key in printed, f"via references unknown key {key!r}"
        var = f"_v{len(refs)}"
        env[var] = printed[key].value
        refs.append(key)
        return var

    code = re.sub(r"\{([^{}]+)\}", ref, expr)
    return float(_eval_node(ast.parse(code, mode="eval").body, env)), refs


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------

def test_registry():
    assert examples.names() == EXPECTED_NAMES
    assert list(examples.EXAMPLES) == EXPECTED_NAMES
    for name in EXPECTED_NAMES:
        assert examples.get(name) is examples.EXAMPLES[name]
        assert examples.get(name).name == name
    with pytest.raises(KeyError):
        examples.get("no_such_example")


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_example_structure(name):
    ex = examples.get(name)
    assert ex.source and ex.description
    assert ex.source.split(",")[0].endswith(".txt")
    L = len(ex.weights)
    assert len(ex.layer_sizes) == L + 1
    assert len(ex.activations) == L and len(ex.biases) == L
    assert len(ex.shared_bias) == L and len(ex.learning_rates) == L
    assert ex.loss == "half_squared_error"
    for l, W in enumerate(ex.weights):
        assert W.dtype == np.float64
        assert W.shape == (ex.layer_sizes[l + 1], ex.layer_sizes[l])
        assert not W.flags.writeable
        b = ex.biases[l]
        if b is None:
            assert not ex.shared_bias[l]
        elif ex.shared_bias[l]:
            assert isinstance(b, float)
        else:
            assert isinstance(b, np.ndarray) and b.dtype == np.float64
            assert b.shape == (ex.layer_sizes[l + 1],)
        assert ex.bias_vector(l).shape == (ex.layer_sizes[l + 1],)
    assert ex.x.shape == (ex.layer_sizes[0],) and ex.x.dtype == np.float64
    assert ex.target.shape == (ex.layer_sizes[-1],)
    assert ex.target.dtype == np.float64
    assert all(lr > 0 for lr in ex.learning_rates)

    # printed values and slips are consistent with each other
    assert set(ex.printed) == set(KEYS[name]), (
        "every printed key needs a quantity in KEYS and vice versa: "
        f"{set(ex.printed) ^ set(KEYS[name])}")
    slip_keys = [s.key for s in ex.slips]
    assert len(slip_keys) == len(set(slip_keys))
    assert set(slip_keys) == {k for k, p in ex.printed.items()
                              if p.how == "slip"}
    for s in ex.slips:
        assert s.printed == ex.printed[s.key].value
        assert s.correct is not None and s.cause
        assert s.kind in ("primary", "propagated")
    for p in ex.printed.values():
        assert p.how in ("rounded", "truncated", "intermediates", "slip")
        assert p.value == float(p.text)
        assert p.decimals == (len(p.text.split(".")[1]) if "." in p.text
                              else 0)
        assert p.line > 0


def test_parameters_as_the_notes_give_them():
    # 000, 002, 004: z_h1 = w1 x1 + w2 x2 + b1, so W1 = [[w1, w2], [w3, w4]]
    ex = examples.get("notes000_2_2_2")
    np.testing.assert_array_equal(ex.weights[0], [[0.1, 0.3], [0.2, 0.4]])
    np.testing.assert_array_equal(ex.weights[1], [[0.5, 0.7], [0.6, 0.8]])
    assert ex.biases == (0.25, 0.35) and ex.learning_rates == (0.1, 0.1)
    ex = examples.get("notes002_2_2_1")
    np.testing.assert_array_equal(ex.weights[0], [[0.15, 0.20], [0.25, 0.30]])
    np.testing.assert_array_equal(ex.weights[1], [[0.40, 0.45]])
    ex = examples.get("notes004_2_2_2")
    np.testing.assert_array_equal(ex.weights[1], [[0.40, 0.45], [0.50, 0.55]])
    assert ex.learning_rates == (0.5, 0.5)
    # 001: h2_in = X1 W3 + X2 W4 + b2, one bias per neuron
    ex = examples.get("notes001_2_2_1")
    np.testing.assert_array_equal(ex.weights[0], [[0.5, 0.1], [0.62, 0.2]])
    np.testing.assert_array_equal(ex.biases[0], [0.4, -0.1])
    # 003: theta_ij from input i to neuron j -> W = theta table transposed
    ex = examples.get("notes003_2_2_2")
    theta0 = np.array([[0.2, 0.1], [0.4, 0.1]])    # rows i (input), cols j
    theta1 = np.array([[0.5, 0.1], [0.8, 0.9]])
    np.testing.assert_array_equal(ex.weights[0], theta0.T)
    np.testing.assert_array_equal(ex.weights[1], theta1.T)
    assert ex.biases == (None, None)
    assert ex.learning_rates == (1.0, 0.5)   # hidden 1, output 0.5


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_gradients_match_finite_differences(name):
    ex = examples.get(name)
    net = Net(ex)
    h = 1e-6
    for l, W in enumerate(net.W):
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                plus = [w.copy() for w in net.W]
                minus = [w.copy() for w in net.W]
                plus[l][i, j] += h
                minus[l][i, j] -= h
                fd = (loss_of(ex, plus, net.bias)
                      - loss_of(ex, minus, net.bias)) / (2 * h)
                assert abs(fd - net.gW[l][i, j]) < 1e-9, (l, i, j)
        b = net.bias[l]
        if b is None:
            continue
        if ex.shared_bias[l]:
            plus, minus = list(net.bias), list(net.bias)
            plus[l], minus[l] = b + h, b - h
            fd = (loss_of(ex, net.W, plus) - loss_of(ex, net.W, minus)) / (2 * h)
            assert abs(fd - net.gb[l]) < 1e-9
        else:
            for i in range(len(b)):
                plus, minus = list(net.bias), list(net.bias)
                plus[l] = np.array(b, dtype=float)
                minus[l] = np.array(b, dtype=float)
                plus[l][i] += h
                minus[l][i] -= h
                fd = (loss_of(ex, net.W, plus)
                      - loss_of(ex, net.W, minus)) / (2 * h)
                assert abs(fd - net.gb[l][i]) < 1e-9


CASES = [(name, key) for name in EXPECTED_NAMES
         for key in examples.get(name).printed]


@pytest.mark.parametrize("name,key", CASES,
                         ids=[f"{n}:{k}" for n, k in CASES])
def test_printed_value(name, key):
    ex = examples.get(name)
    p = ex.printed[key]
    full = COMPUTED[name][key]
    d = p.decimals
    where = f"{ex.source.split(',')[0]} line {p.line}, {key} = {p.text}"

    if p.how == "rounded":
        assert agrees(p.value, full, d), (
            f"{where}: float64 gives {full!r}; not a rounding of it")
    elif p.how == "truncated":
        assert is_truncation(full, p.text, d), (
            f"{where}: float64 {full!r} does not truncate to the printed value")
        assert not agrees(p.value, full, d), (
            f"{where}: plain rounding already gives it; mark it 'rounded'")
    elif p.how == "intermediates":
        assert not agrees(p.value, full, d), (
            f"{where}: float64 {full!r} already rounds to it; mark 'rounded'")
        assert abs(p.value - full) <= 0.01 * abs(full) + half_unit(d), (
            f"{where}: too far from float64 {full!r} to be rounding")
        assert p.via, where
        value, refs = eval_via(p.via, ex.printed)
        for ref in refs:
            assert ex.printed[ref].how != "slip", (
                f"{where}: via uses the slip {ref!r}")
        assert agrees(p.value, value, d), (
            f"{where}: the notes' arithmetic {p.via} gives {value!r}")
    elif p.how == "slip":
        slip = ex.slip(key)
        assert not agrees(p.value, full, d), (
            f"{where}: float64 {full!r} rounds to it; not a slip")
        assert not is_truncation(full, p.text, d), (
            f"{where}: float64 {full!r} truncates to it; not a slip")
        assert math.isclose(slip.correct, full, rel_tol=1e-9,
                            abs_tol=1e-15), (
            f"{where}: recorded correct {slip.correct!r} != float64 {full!r}")
        assert not agrees(p.value, slip.correct, d)
        if p.via:
            value, _ = eval_via(p.via, ex.printed)
            assert agrees(p.value, value, d), (
                f"{where}: the recorded mechanism {p.via} gives {value!r}")
    else:  # pragma: no cover
        pytest.fail(f"unknown verdict {p.how!r}")
