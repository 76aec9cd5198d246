"""The lecture notes' companion.

- :mod:`fastnn.course.examples`: every worked example of the notes as data,
  with the numbers they print and the slips found in them;
- :mod:`fastnn.course.explain`: one training step worked the notes' way;
- :mod:`fastnn.course.perceptron`: the perceptron learning rule;
- :mod:`fastnn.course.mnist`: the notes' MNIST workflow, ``train_mnist``.

``import fastnn`` does not load this package: ``fastnn.explain``,
``fastnn.Perceptron``, ``fastnn.train_mnist`` and ``fastnn.examples`` load
their module on first use.
"""
