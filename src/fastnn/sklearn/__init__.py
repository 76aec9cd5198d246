"""Estimators for scikit-learn, trained by fastnn: ``fastnn.sklearn``.

:class:`MLPClassifier` and :class:`MLPRegressor` are drop-ins for
scikit-learn's (:mod:`sklearn.neural_network`): the same parameters,
defaults, training algorithm and fitted attributes, with fastnn's kernels
doing the work, and ``model_``, the fitted :class:`fastnn.Sequential`.
:class:`PerceptronClassifier` puts the lecture notes' perceptron
(:class:`fastnn.Perceptron`) behind scikit-learn's classifier API.  All of
them work with ``clone``, pipelines, grid searches and pickling.

Needs scikit-learn (the ``[sklearn]`` extra); ``import fastnn`` never
imports it.  docs/sklearn.md has the details.
"""

from __future__ import annotations

from .._optional import require

require("sklearn", "sklearn", "fastnn.sklearn")

# (after the check for scikit-learn: these import it)
from ._estimators import MLPClassifier, MLPRegressor
from ._perceptron import PerceptronClassifier

__all__ = ["MLPClassifier", "MLPRegressor", "PerceptronClassifier"]
