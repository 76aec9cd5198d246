"""fastnn.Perceptron beyond the learning rule (tested in test_trainer.py):
its repr and its argument checks (TypeError for a wrong type, ValueError for
a wrong value, naming the argument)."""

import numpy as np
import pytest

import fastnn

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


def test_repr():
    assert repr(fastnn.Perceptron(2)) == "Perceptron(n_inputs=2, n_outputs=1, lr=1.0)"
    assert repr(fastnn.Perceptron(3, n_outputs=2, lr=0.25)) == "Perceptron(n_inputs=3, n_outputs=2, lr=0.25)"


@pytest.mark.parametrize("kwargs,error,name", [
    ({"n_inputs": 2.0}, TypeError, "n_inputs"), ({"n_inputs": 0}, ValueError, "n_inputs"),
    ({"n_inputs": True}, TypeError, "n_inputs"), ({"n_outputs": "1"}, TypeError, "n_outputs"),
    ({"n_outputs": 0}, ValueError, "n_outputs"), ({"lr": "1"}, TypeError, "lr"), ({"lr": 0}, ValueError, "lr"),
    ({"lr": float("inf")}, ValueError, "lr"), ({"weight": "abc"}, TypeError, "weight"),
    ({"weight": [[1.0, 2.0, 3.0]]}, ValueError, "weight"), ({"bias": [np.nan]}, ValueError, "bias"),
    ({"bias": [1.0, 2.0]}, ValueError, "bias"),
])
def test_constructor_checks(kwargs, error, name):
    with pytest.raises(error, match=name):
        fastnn.Perceptron(**{"n_inputs": 2, **kwargs})


@pytest.mark.parametrize("kwargs,error,name", [
    ({"X": "abc"}, TypeError, "X"), ({"X": X[:, :1]}, ValueError, "X"), ({"d": [0, 1]}, ValueError, "d"),
    ({"d": [0, 0, 0, 2]}, ValueError, "0 or 1"), ({"epochs": 1.0}, TypeError, "epochs"),
    ({"epochs": -1}, ValueError, "epochs"), ({"shuffle": 1}, TypeError, "shuffle"), ({"seed": "a"}, TypeError, "seed"),
])
def test_fit_checks(kwargs, error, name):
    p = fastnn.Perceptron(2)
    with pytest.raises(error, match=name):
        p.fit(**{"X": X, "d": [0, 0, 0, 1], **kwargs})


def test_score_checks_the_targets():
    p = fastnn.Perceptron(2).fit(X, [0, 0, 0, 1])
    assert p.score(X, [0, 0, 0, 1]) == 1.0
    assert p.score(X, [[0], [0], [0], [0]]) == 0.75
    with pytest.raises(ValueError, match="d must hold 4 targets"):
        p.score(X, [0, 0, 1])
