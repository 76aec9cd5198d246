"""The lecture notes' worked examples through fastnn's compiled path.

tests/test_examples_notes.py checks every number the notes print against
an independent float64 forward/backward pass written from the notes'
formulas (its class ``Net``), recording each slip.  Here the same quantities
come from the library itself: net inputs and activations from the compiled
``dense_forward``, the error from the ``half_squared_error`` kernel, the
deltas, gradients and back-propagated errors from ``dense_backward``, the
sigmoid derivatives from ``activation_derivative``, and the updated weights
and biases from a real ``Trainer.step`` with per-layer learning rates.  Every
printed number is then judged again on these values with the same rules
(rounded, truncated, rounding of intermediates, or a slip whose printed
value is wrong and whose recorded correct value is the library's).
"""

import numpy as np
import pytest
import test_examples_notes as notes  # the independent check and its key map

import fastnn
from fastnn import _core, examples, kernels
from fastnn.course.explain import model_from_example


class CompiledNet:
    """The attributes of test_examples_notes.Net, computed by fastnn."""

    def __init__(self, ex, weights=None, biases=None):
        self.ex = ex
        weights = ex.weights if weights is None else weights
        biases = ex.biases if biases is None else biases
        self.x = np.array(ex.x, dtype=np.float64)
        self.t = np.array(ex.target, dtype=np.float64)
        self.W = [np.array(w, dtype=np.float64) for w in weights]
        self.bias = list(biases)
        self.lr = [float(v) for v in ex.learning_rates]
        L = len(self.W)
        model = self._model()
        # forward, layer by layer, with the compiled kernels
        self.inp, self.z, self.a = [], [], []
        h = self.x.reshape(1, -1)
        for layer in model.layers:
            self.inp.append(h[0].copy())
            b = layer.full_bias()
            self.z.append(kernels.dense_forward(h, layer.weight, b, "identity")[0])
            h = kernels.dense_forward(h, layer.weight, b, layer.activation)
            self.a.append(h[0].copy())
        self.y = self.a[-1]
        Y, T = self.y.reshape(1, -1), self.t.reshape(1, -1)
        self.E_k = np.array([kernels.half_squared_error(Y[:, k:k + 1], T[:, k:k + 1])[0]
                             for k in range(Y.shape[1])])
        self.E, dY = kernels.half_squared_error(Y, T)
        self.dE_dy = dY[0]
        self.sp = [kernels.activation_derivative("sigmoid", a.reshape(1, -1))[0] for a in self.a]
        # backward with the compiled dense_backward (dZ is the delta)
        self.dE_da, self.delta, self.gW, self.gb = [None] * L, [None] * L, [None] * L, [None] * L
        dA = dY
        for l in range(L - 1, -1, -1):
            layer = model.layers[l]
            X_in = self.inp[l].reshape(1, -1)
            A = self.a[l].reshape(1, -1)
            dZ, dW = np.empty_like(A), np.empty_like(layer.weight)
            db, dX = np.empty(A.shape[1]), (np.empty_like(X_in) if l > 0 else None)
            _core.dense_backward(np.ascontiguousarray(dA), A, X_in, layer.weight,
                                 _core.ACTIVATION_CODES["sigmoid"], 0.0, dZ, dW, db, dX)
            self.dE_da[l], self.delta[l], self.gW[l] = dA[0].copy(), dZ[0], dW
            if self.bias[l] is None:
                self.gb[l] = None
            elif ex.shared_bias[l]:
                self.gb[l] = float(db.sum())
            else:
                self.gb[l] = db
            dA = dX
        # one step of the real trainer (plain SGD, the notes' per-layer rates)
        trainer = fastnn.Trainer(model, "half_squared_error", fastnn.SGD(lr=self.lr[0], layer_lrs=self.lr),
                                 batch_size=1)
        trainer.step(self.x.reshape(1, -1), self.t.reshape(1, -1))
        self.W_new = [layer.weight.copy() for layer in model.layers]
        self.b_new = []
        for l, layer in enumerate(model.layers):
            if layer.bias is None:
                self.b_new.append(None)
            elif ex.shared_bias[l]:
                self.b_new.append(float(layer.bias[0]))
            else:
                self.b_new.append(layer.bias.copy())

    def _model(self):
        layers = []
        for l, W in enumerate(self.W):
            b = self.bias[l]
            bias = False if b is None else (float(b) if self.ex.shared_bias[l] else np.array(b, float))
            layers.append(fastnn.Dense(W.shape[1], W.shape[0], self.ex.activations[l], bias, weight=W))
        return fastnn.Sequential(layers, dtype="float64")

    @property
    def next(self):
        return CompiledNet(self.ex, self.W_new, self.b_new)


COMPILED = {name: {key: float(f(CompiledNet(examples.get(name)))) for key, f in notes.KEYS[name].items()}
            for name in notes.KEYS}

CASES = [(name, key) for name in notes.EXPECTED_NAMES for key in examples.get(name).printed]


def test_every_example_is_covered():
    assert sorted(COMPILED) == sorted(examples.names())


@pytest.mark.parametrize("name,key", CASES, ids=[f"{n}:{k}" for n, k in CASES])
def test_printed_value_on_the_compiled_path(name, key, monkeypatch):
    got = COMPILED[name][key]
    independent = notes.COMPUTED[name][key]
    assert got == pytest.approx(independent, rel=1e-12, abs=1e-15), (name, key)
    # judge the printed number again, now against the library's own value
    monkeypatch.setitem(notes.COMPUTED[name], key, got)
    notes.test_printed_value(name, key)


def test_explain_reproduces_each_example():
    # explain() names the same quantities the notes do: spot-check one per example
    for name in examples.names():
        ex = examples.get(name)
        rec = fastnn.explain(model_from_example(ex), ex.x, ex.target, loss=ex.loss, lr=list(ex.learning_rates))
        net = notes.Net(ex)
        assert rec.loss == pytest.approx(net.E, rel=1e-12)
        n_w = sum(w.size for w in ex.weights)
        flat = np.concatenate([g.reshape(-1) for g in net.gW])
        assert [rec.gradients[f"w{i + 1}"] for i in range(n_w)] == pytest.approx(list(flat), rel=1e-12)
