"""fastnn.explain: one training step worked the notes' way, with numbers
from the library's own computation."""

import numpy as np
import pytest

import fastnn
from fastnn import reference as R
from fastnn.course.explain import explain


def _notes004():
    return fastnn.Sequential([
        fastnn.Dense(2, 2, "sigmoid", weight=[[0.15, 0.20], [0.25, 0.30]], bias=0.35),
        fastnn.Dense(2, 2, "sigmoid", weight=[[0.40, 0.45], [0.50, 0.55]], bias=0.60),
    ], dtype="float64")


def test_notes004_step():
    model = _notes004()
    rec = explain(model, [0.05, 0.10], [0.01, 0.99], loss="half_squared_error", lr=0.5)
    assert rec["net_h1"] == pytest.approx(0.3775)
    assert rec["out_h1"] == pytest.approx(0.593269992, abs=5e-10)
    assert rec["E"] == pytest.approx(0.298371109, abs=5e-10)
    assert rec["dE/dw5"] == pytest.approx(0.082167041, abs=5e-10)
    assert rec["w5+"] == pytest.approx(0.35891648, abs=5e-9)
    assert rec["w1+"] == pytest.approx(0.149780716, abs=5e-10)
    # the chain-rule factors are shown and multiply to the gradient
    term = next(t for t in rec.backward if t.name == "dE/dw5")
    assert [n for n, _ in term.factors] == ["dE/dout_o1", "dout_o1/dnet_o1", "out_h1"]
    assert np.prod([v for _, v in term.factors]) == pytest.approx(term.value, rel=1e-12)
    text = str(rec)
    assert "dE/dw5 = dE/dout_o1 * dout_o1/dnet_o1 * out_h1 = 0.74136507 * 0.186815602 * 0.593269992" in text
    assert "w5+ = w5 - eta * dE/dw5 = 0.4 - 0.5 * 0.0821670406 = 0.35891648" in text
    # the model itself is untouched; the stepped copy is returned
    assert model[1].weight[0, 0] == 0.40
    assert rec.model_after[1].weight[0, 0] == pytest.approx(0.35891648, abs=5e-9)


@pytest.mark.parametrize("loss,out_act", [("half_squared_error", "tanh"), ("mse", "identity"),
                                          ("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")])
def test_any_small_network_matches_reference_gradients(loss, out_act):
    rng = np.random.default_rng(0)
    k = 3 if loss != "binary_cross_entropy" else 2
    model = fastnn.Sequential([fastnn.Dense(3, 4, "tanh"), fastnn.Dense(4, 3, "softplus", bias="shared"),
                               fastnn.Dense(3, k, out_act)], dtype="float64", seed=2)
    x = rng.standard_normal(3)
    target = 1 if loss == "cross_entropy" else rng.uniform(0.1, 0.9, k)
    rec = explain(model, x, target, loss=loss, lr=[0.1, 0.2, 0.3])
    ws = [layer.weight for layer in model.layers]
    bs = [model[0].bias, float(model[1].bias[0]), model[2].bias]
    y = np.array([target]) if loss == "cross_entropy" else target.reshape(1, -1)
    value, dWs, dbs = R.network_gradients(ws, bs, ["tanh", "softplus", out_act], x.reshape(1, -1), y, loss)
    assert rec.loss == pytest.approx(value, rel=1e-12)
    # weights are numbered w1, w2, ... across the network in (layer, neuron, input) order
    flat = np.concatenate([g.reshape(-1) for g in dWs])
    got = np.array([rec.gradients[f"w{i + 1}"] for i in range(flat.size)])
    assert np.allclose(got, flat, rtol=1e-10, atol=1e-15)
    assert rec.gradients["b2"] == pytest.approx(dbs[1], rel=1e-10)  # the shared bias: sum over neurons
    new_w1 = ws[0] - 0.1 * dWs[0]
    assert rec.updated["w1"] == pytest.approx(new_w1[0, 0], rel=1e-12)
    assert "h1_1" in str(rec) and "o1" in str(rec)


def test_explain_errors():
    model = _notes004()
    with pytest.raises(ValueError, match="one sample of 2 features"):
        explain(model, [1, 2, 3], [0, 1])
    with pytest.raises(ValueError, match="learning rate"):
        explain(model, [1, 2], [0, 1], lr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="differentiable"):
        explain(fastnn.Sequential([fastnn.Dense(2, 1, "step")]), [1, 2], [1])


def test_explain_argument_types_and_values(capsys):
    model = _notes004()
    with pytest.raises(TypeError, match="model"):
        explain(model.layers, [1, 2], [0, 1])
    with pytest.raises(TypeError, match="precision"):
        explain(model, [1, 2], [0, 1], precision=1.5)
    with pytest.raises(ValueError, match="precision"):
        explain(model, [1, 2], [0, 1], precision=31)
    with pytest.raises(TypeError, match="verbose"):
        explain(model, [1, 2], [0, 1], verbose="yes")
    rec = explain(model, [0.05, 0.10], [0.01, 0.99], verbose=True)
    assert capsys.readouterr().out == str(rec) + "\n"
