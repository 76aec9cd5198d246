"""The hand-worked examples of the lecture notes, as data.

fastnn is specified by five sets of lecture notes on fully connected
networks and backpropagation, files 000 to 004 (a tutorial on the MNIST task
and four lectures: neurons and the perceptron, forward and backward
propagation, a network written with theta indices, supervised learning and
backpropagation).  Every example the notes work out numerically by hand is
recorded here as a :class:`WorkedExample`: the network (layer sizes,
activations, weights, biases), the training sample, the loss and learning
rates exactly as the notes define them, every number the notes *print* for
that example (:attr:`WorkedExample.printed`) and every arithmetic slip found
in those printed numbers (:attr:`WorkedExample.slips`).  An example's
``source`` names the notes file and the section it comes from.

This module is pure data (Python + NumPy) and imports no other fastnn module.
fastnn's test suite checks every printed value against float64, and its
source repository summarises the slips in ``docs/notes_slips.md``.

Notes
-----
Conventions of the data:

* Weights are float64 arrays of shape ``(out_features, in_features)``:
  ``z = W @ x + b``.  Read each example's description for how the notes name
  the weights (file 003 uses theta_ij = from input i to neuron j, so its
  matrices are the transposes of the theta tables).
* ``biases[l]`` is a float64 array of shape ``(out,)`` (one bias per neuron),
  a Python ``float`` when the notes use ONE bias shared by all neurons of the
  layer (``shared_bias[l]`` is then True; its gradient is the sum of the
  neurons' gradients, file 002), or ``None`` when the layer has no bias.
* ``loss == "half_squared_error"``: E = sum_k 1/2 (t_k - y_k)^2 (the notes'
  E_total; file 002 calls the same thing "MSE loss").
* Plain gradient descent, one step, one sample: w <- w - eta_l dE/dw with the
  learning rate of the weight's layer (``learning_rates[l]``).
* Arrays are read-only; ``.copy()`` them before training in place.

Printed values: ``printed[key]`` is a :class:`PrintedValue`: ``value``
(float) and ``decimals`` (number of decimals printed), plus ``text`` (the
number exactly as printed), ``line`` (line in the notes file) and ``how``,
the verdict of checking it against float64:

``"rounded"``
    equals the float64 value rounded to the printed decimals.
``"truncated"``
    equals the float64 value truncated (cut, not rounded) to the printed
    decimals; rounding would give one unit more in the last place.
``"intermediates"``
    rounding propagation, not a slip: the notes computed it from their own
    rounded (or truncated) printed intermediates; ``via`` reproduces it.
``"slip"``
    a genuine mistake; the matching :class:`Slip` in ``slips`` gives the
    correct value and the cause.

``via`` is the notes' arithmetic as an expression: ``{key}`` stands for the
printed value of another key of the same example, literals are the example's
given parameters, and ``sigmoid``, ``exp``, ``trunc(x, d)`` (cut to d
decimals) and ``round(x, d)`` may be called.  For ``"intermediates"`` it
references only values that are not slips; for a slip it shows how the notes
arrived at the wrong number, where that is reproducible.

A slip is ``"primary"`` when the notes' own step is wrong (value miscopied,
wrong quantity differentiated, updated weight used for the old one, digits
dropped...), ``"propagated"`` when the step is right but fed by an earlier
slip (its ``via`` then reproduces the printed value).

Examples
--------
>>> from fastnn.course import examples
>>> examples.names()[-1]
'notes004_2_2_2'
>>> ex = examples.get("notes004_2_2_2")
>>> ex.printed["w5_new"].text
'0.358'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "EXAMPLES",
    "PrintedValue",
    "Slip",
    "WorkedExample",
    "get",
    "names",
]

HOW = ("rounded", "truncated", "intermediates", "slip")


@dataclass(frozen=True)
class PrintedValue:
    """One number as printed in the notes, with the verdict of checking it (see the module docstring).

    Parameters
    ----------
    value : float
        The number printed.
    decimals : int
        The number of decimals printed.
    text : str
        The number exactly as printed.
    line : int
        The line of the notes file it is printed on.
    how : {"rounded", "truncated", "intermediates", "slip"}, default "rounded"
        How it relates to the float64 value.
    via : str or None, default None
        The notes' arithmetic that reproduces it, as an expression over other
        printed keys (``"{h2}*0.7"``); None when it is not needed.
    note : str, default ""
        An explanation (for a slip, its cause).
    """

    value: float
    decimals: int
    text: str
    line: int
    how: str = "rounded"
    via: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Slip:
    """A printed number that is wrong, with its correct float64 value.

    Parameters
    ----------
    key : str
        The key of the number in :attr:`WorkedExample.printed`.
    printed : float
        The wrong number the notes print.
    correct : float or None
        The correct value in float64 (None where the notes' quantity has no
        correct counterpart).
    cause : str
        What went wrong.
    kind : {"primary", "propagated"}, default "primary"
        ``"primary"``: the notes' own step is wrong; ``"propagated"``: the
        step is right but fed by an earlier slip.
    """

    key: str
    printed: float
    correct: float | None
    cause: str
    kind: str = "primary"  # "primary" | "propagated"


Bias = Union[np.ndarray, float, None]


@dataclass(frozen=True, eq=False)
class WorkedExample:
    """A worked example of the notes: the network, the sample, and the numbers printed.

    Parameters
    ----------
    name : str
        Its name, such as ``"notes004_2_2_2"`` (see :func:`names`).
    source : str
        The notes file and section it comes from.
    description : str
        The example in words: the network, how the notes name things, what
        they work out, and the slips in brief.
    layer_sizes : tuple of int
        Inputs, then the neurons of each layer.
    activations : tuple of str
        The activation of each layer.
    weights : tuple of numpy.ndarray
        Each layer's weights, shape (out_features, in_features), read-only.
    biases : tuple of (numpy.ndarray, float or None)
        Each layer's biases: one per neuron, one float shared by the layer,
        or None.
    shared_bias : tuple of bool
        Whether each layer's bias is one shared by its neurons.
    x : numpy.ndarray
        The training sample.
    target : numpy.ndarray
        Its target.
    loss : str
        The loss, as fastnn names it (``"half_squared_error"``).
    learning_rates : tuple of float
        The learning rate of each layer.
    printed : dict of str to PrintedValue
        Every number the notes print for the example, by key.
    slips : tuple of Slip
        The printed numbers that are wrong.
    unchecked : tuple of (int, str, str), default ()
        Printed lines that give no number to check (garbled text, formula
        slips): ``(line, text, comment)``.
    """

    name: str
    source: str
    description: str
    layer_sizes: tuple[int, ...]
    activations: tuple[str, ...]
    weights: tuple[np.ndarray, ...]
    biases: tuple[Bias, ...]
    shared_bias: tuple[bool, ...]
    x: np.ndarray
    target: np.ndarray
    loss: str
    learning_rates: tuple[float, ...]
    printed: dict[str, PrintedValue]
    slips: tuple[Slip, ...]
    unchecked: tuple[tuple[int, str, str], ...] = ()

    @property
    def n_layers(self) -> int:
        """The number of layers with weights (hidden and output)."""
        return len(self.weights)

    def bias_vector(self, layer: int) -> np.ndarray:
        """Give the bias of a layer as one value per neuron.

        Parameters
        ----------
        layer : int
            The layer, 0 for the first hidden layer.

        Returns
        -------
        numpy.ndarray
            The biases, float64, shape (out,): a shared bias repeated, no bias as zeros.
        """
        out = self.layer_sizes[layer + 1]
        b = self.biases[layer]
        if b is None:
            return np.zeros(out)
        if np.ndim(b) == 0:
            return np.full(out, float(b))
        return np.array(b, dtype=np.float64)

    def slip(self, key: str) -> Slip:
        """Find the slip of a printed number.

        Parameters
        ----------
        key : str
            A key of :attr:`printed` whose ``how`` is ``"slip"``.

        Returns
        -------
        Slip
            The slip recorded for ``key``.

        Raises
        ------
        KeyError
            If ``key`` is not a slip of this example.
        """
        for s in self.slips:
            if s.key == key:
                return s
        raise KeyError(key)

    def __repr__(self) -> str:  # arrays make the default repr unreadable
        return (f"WorkedExample({self.name!r}, {self.source!r}, "
                f"layers={self.layer_sizes}, printed={len(self.printed)}, "
                f"slips={len(self.slips)})")


# --------------------------------------------------------------------------
# construction helpers
# --------------------------------------------------------------------------

# One printed value of an example's table: (key, value, its slip or None).
_Entry = tuple[str, PrintedValue, Union[Slip, None]]


def _a(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


def _decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def _v(key: str, text: str, line: int, how: str = "rounded",
       via: str | None = None, note: str = "") -> _Entry:
    """Record a printed value that is not a slip."""
    assert how in HOW and how != "slip", how
    if how == "intermediates":
        assert via, key
    return (key, PrintedValue(float(text), _decimals(text), text, line,
                              how, via, note), None)


def _s(key: str, text: str, line: int, correct: float | None, cause: str,
       via: str | None = None, kind: str = "primary") -> _Entry:
    """Record a printed value that is a slip, with its correct value and cause."""
    assert kind in ("primary", "propagated"), kind
    if kind == "propagated":
        assert via, key
    pv = PrintedValue(float(text), _decimals(text), text, line, "slip", via,
                      cause)
    return (key, pv, Slip(key, float(text), correct, cause, kind))


def _build(entries: Iterable[_Entry]) -> tuple[dict[str, PrintedValue], tuple[Slip, ...]]:
    printed: dict[str, PrintedValue] = {}
    slips: list[Slip] = []
    for key, pv, slip in entries:
        if key in printed:
            raise ValueError(f"duplicate printed key {key!r}")
        printed[key] = pv
        if slip is not None:
            slips.append(slip)
    return printed, tuple(slips)

def _example(entries: Iterable[_Entry], **kw: Any) -> WorkedExample:
    printed, slips = _build(entries)
    return WorkedExample(printed=printed, slips=slips, **kw)


# --------------------------------------------------------------------------
# file 000: tutorial, 2-2-2 sigmoid net
# --------------------------------------------------------------------------

_NOTES000 = _example(
    [
        # forward pass, section 2.4.1 / 2.4.2
        _v("x1*w1", "0.01", 307),
        _v("x2*w2", "0.15", 307),
        _v("z1", "0.41", 307),
        _v("x1*w3", "0.02", 313),
        _v("x2*w4", "0.20", 313),
        _v("z2", "0.47", 313),
        _v("h1", "0.601", 323),
        _v("h2", "0.615", 327),
        _v("h1*w5", "0.3005", 375),
        _v("h2*w6", "0.4305", 375, "intermediates", "{h2}*0.7",
           "0.615*0.7 from h2 carried to 3 decimals (exact 0.43077)"),
        _v("z3", "1.081", 375),
        _v("h1*w7", "0.3606", 381, "intermediates", "{h1}*0.6",
           "0.601*0.6 from h1 carried to 3 decimals (exact 0.36065)"),
        _v("h2*w8", "0.4920", 381, "intermediates", "{h2}*0.8",
           "0.615*0.8 from h2 carried to 3 decimals (exact 0.49231)"),
        _v("z4", "1.2026", 381, "intermediates",
           "{h1}*0.6 + {h2}*0.8 + 0.35",
           "from h1, h2 carried to 3 decimals (exact 1.202960)"),
        _v("y1", "0.7467", 391),
        _v("y2", "0.7689", 395, "intermediates", "trunc(sigmoid({z4}), 4)",
           "sigma(1.2026) = 0.768987 cut to 0.7689 (exact y2 = 0.769051)"),
        # total error, section 2.4.3
        _v("t1 - y1", "-0.6967", 437),
        _v("(t1 - y1)^2", "0.4854", 439),
        _v("E1", "0.2427", 439),
        _v("t2 - y2", "0.1811", 446, "intermediates", "0.95 - {y2}",
           "0.95 - 0.7689 (exact 0.180949)"),
        _v("(t2 - y2)^2", "0.0328", 448, "intermediates", "{t2 - y2}**2",
           "0.1811^2 = 0.032797 (exact 0.032743)"),
        _v("E2", "0.0164", 448),
        _v("E", "0.2591", 452),
        # backward pass for w5, section 3.3
        _v("y1 (backward)", "0.746", 551, "truncated",
           note="y1 = 0.746742 cut to 0.746 (the notes printed 0.7467 above)"),
        _v("dE/dy1", "0.696", 553, "intermediates", "{y1 (backward)} - 0.05",
           "0.746 - 0.05 with the truncated y1 (exact 0.696742)"),
        _v("1 - y1", "0.254", 569, "intermediates", "1 - {y1 (backward)}",
           "1 - 0.746 with the truncated y1 (exact 0.253258)"),
        _v("dy1/dz3", "0.189", 569),
        _s("o1 (backward)", "0.593", 583, 0.6010878788,
           "The hidden output o1 = h1 = sigma(0.41) = 0.601 in this example; "
           "0.593 = sigma(0.3775) is copied from the x = (0.05, 0.10) example "
           "of files 002/004."),
        _s("dz3/dw5", "0.593", 585, 0.6010878788,
           "dz3/dw5 = o1 = 0.601; the wrong o1 = 0.593 is used.",
           "{o1 (backward)}", "propagated"),
        _s("dE/dw5", "0.078", 597, 0.07920335211,
           "Propagated from the wrong o1: 0.696*0.189*0.593 = 0.0780; "
           "with o1 = 0.601 the gradient is 0.0792.",
           "{dE/dy1}*{dy1/dz3}*{dz3/dw5}", "propagated"),
        _s("eta*dE/dw5", "0.0078", 612, 0.007920335211,
           "Propagated: 0.1 times the wrong dE/dw5.",
           "0.1*{dE/dw5}", "propagated"),
        _s("w5_new", "0.4922", 612, 0.4920796648,
           "Propagated: 0.5 - 0.0078 from the wrong dE/dw5.",
           "0.5 - {eta*dE/dw5}", "propagated"),
        # gradient for w1, section 3.5
        _s("w5 (used in dy1/do1)", "0.4922", 656, 0.5,
           "The updated w5 is used where the old w5 = 0.5 belongs (the "
           "backward pass must use the weights of the forward pass)."),
        _s("dy1/do1", "0.092", 660, 0.09455912007,
           "Uses the updated w5 = 0.4922 instead of 0.5, and even "
           "0.4922*0.746*0.254 = 0.0933, not 0.092; correct "
           "w5*y1*(1-y1) = 0.0946."),
        _s("dE/do1", "0.064", 664, 0.04660013885,
           "dE_total/do1 must sum both output paths, "
           "delta_y1*w5 + delta_y2*w7 = 0.0659 - 0.0193 = 0.0466; the notes "
           "keep only the y1 path (a derivative of E1, not E_total) and "
           "carry the wrong 0.092.",
           "{dE/dy1}*{dy1/do1}"),
        _s("1 - o1", "0.407", 679, 0.3989121212,
           "Propagated from the wrong o1 = 0.593 (1 - 0.601 = 0.399).",
           "1 - {o1 (backward)}", "propagated"),
        _s("do1/dz1", "0.241", 679, 0.2397812407,
           "Propagated from the wrong o1: 0.593*0.407 = 0.241; "
           "0.601*0.399 = 0.2398.",
           "{o1 (backward)}*{1 - o1}", "propagated"),
        _s("x1 (backward)", "0.5", 689, 0.1,
           "x1 = 0.1 in this example; 0.5 is x2."),
        _s("dz1/dw1", "0.5", 690, 0.1,
           "dz1/dw1 = x1 = 0.1; the wrong x1 = 0.5 (that is x2) is used.",
           "{x1 (backward)}", "propagated"),
        _s("dE/dw1", "0.0077", 700, 0.001117383911,
           "Propagated from the wrong dE/do1, do1/dz1 and x1: "
           "0.064*0.241*0.5 = 0.0077; correct 0.0466*0.2398*0.1 = 0.00112.",
           "{dE/do1}*{do1/dz1}*{dz1/dw1}", "propagated"),
        _s("eta*dE/dw1", "0.00077", 718, 0.0001117383911,
           "Propagated: 0.1 times the wrong dE/dw1.",
           "0.1*{dE/dw1}", "propagated"),
        _s("w1_new", "0.09923", 718, 0.09988826161,
           "Propagated: 0.1 - 0.00077 from the wrong dE/dw1.",
           "0.1 - {eta*dE/dw1}", "propagated"),
    ],
    name="notes000_2_2_2",
    source=("000_c1cbc6e1818e3017.txt, sections 2.2-3.5 'Solve the Neural "
            "Network Below' (lines 222-720)"),
    description=(
        "Tutorial 04 (6CS012) hands-on example: a 2-2-2 network with sigmoid "
        "hidden and output layers, inputs x = (0.1, 0.5), "
        "W1 = [[w1, w2], [w3, w4]] = [[0.1, 0.3], [0.2, 0.4]] "
        "(z1 = w1 x1 + w2 x2 + b1), one hidden bias b1 = 0.25 shared by both "
        "hidden neurons, W2 = [[w5, w6], [w7, w8]] = [[0.5, 0.7], [0.6, 0.8]] "
        "(z3 = w5 h1 + w6 h2 + b2), one output bias b2 = 0.35, targets "
        "(0.05, 0.95), E = 1/2 sum (t - y)^2, learning rate 0.1.  The notes "
        "work the forward pass and total error, then dE/dw5 with its update "
        "and dE/dw1 with its update (w6-w8 and w2-w4 are left as exercises).  "
        "Forward values are carried to 3-4 decimals.  The backward pass is "
        "riddled with slips: it uses o1 = 0.593 from another example, the "
        "updated w5 inside the backward pass, only the y1 path for "
        "dE_total/do1, and x1 = 0.5 (which is x2)."),
    layer_sizes=(2, 2, 2),
    activations=("sigmoid", "sigmoid"),
    weights=(_a([[0.1, 0.3], [0.2, 0.4]]), _a([[0.5, 0.7], [0.6, 0.8]])),
    biases=(0.25, 0.35),
    shared_bias=(True, True),
    x=_a([0.1, 0.5]),
    target=_a([0.05, 0.95]),
    loss="half_squared_error",
    learning_rates=(0.1, 0.1),
    unchecked=(
        (116, "z_i = sum_j w_ij + b_i",
         ("formula slip (no number): the input x_j is missing from the sum; "
          "the matrix form on line 119 is right")),
        (474, "dL/dw = dL/dw . dw/dw . dw/dw . dw/dw",
         "placeholder chain rule from a figure ('only for demonstration')"),
    ),
)


# --------------------------------------------------------------------------
# file 001: lecture 9, (a) one sigmoid neuron, (b) 2-2-1 net
# --------------------------------------------------------------------------

_NOTES001_NEURON = _example(
    [
        _v("s", "1.94", 839),
        _v("exp(-s)", "0.144", 850),
        _v("1 + exp(-s)", "1.144", 850),
        _v("f(s)", "0.874", 854),
        _v("d - y", "-0.844", 867),
        _v("(d - y)^2", "0.713", 867),
        _v("E", "0.357", 869, "intermediates", "{(d - y)^2}/2",
           "0.713/2 = 0.3565 rounded up to 0.357 (exact E = 0.356465)"),
        _v("dE/dy", "0.844", 890),
        _v("1 - y", "0.126", 901),
        _v("dy/ds", "0.11", 903),
        _v("ds/dw1", "0.1", 924),
        _v("ds/dw2", "0.3", 941),
        _v("dE/dw1", "0.01", 959),
        _v("dE/dw2", "0.03", 975),
        _v("dE/dw2 (in w2 update)", "0.028", 992),
        _v("w1_new", "0.49991", 987, note=(
            "the written step 0.5 - 0.01*0.01 would give 0.4999; the "
            "printed 0.49991 is the full-precision 0.5 - 0.01*0.009276")),
        _v("w2_new", "0.1997", 994),
    ],
    name="notes001_2_1",
    source=("001_925df4e2dad7eda5.txt, 'Neural Networks training example' "
            "(one neuron, lines 816-994)"),
    description=(
        "Lecture 9 (ANN), single sigmoid neuron trained by backpropagation: "
        "x = (0.1, 0.3), w = (w1, w2) = (0.5, 0.2), b = 1.83, desired output "
        "0.03, E = 1/2 (d - y)^2, eta = 0.01.  The notes compute s, f(s), E, "
        "dE/dy, dy/ds, ds/dw1, ds/dw2, both gradients and both updated "
        "weights.  All printed numbers check (E = 0.357 is 0.713/2 rounded "
        "up, rounding propagation)."),
    layer_sizes=(2, 1),
    activations=("sigmoid",),
    weights=(_a([[0.5, 0.2]]),),
    biases=(_a([1.83]),),
    shared_bias=(False,),
    x=_a([0.1, 0.3]),
    target=_a([0.03]),
    loss="half_squared_error",
    learning_rates=(0.01,),
    unchecked=(
        (708, "E = 1/2 (d - 1/e^{-sum x_i w_ij + b_i})^2",
         ("formula slip (no number): the sigmoid's denominator lost its "
          "'1 +' (line 723 has it right)")),
    ),
)


_NOTES001_2_2_1 = _example(
    [
        # forward pass
        _v("h1_in", "0.48", 1042),
        _v("h2_in", "0.022", 1057),
        _v("h1_out", "0.618", 1046),
        _v("h2_out", "0.506", 1061, "intermediates",
           "round(sigmoid({h2_in}), 4)",
           "sigma(0.022) = 0.50549978 lies just below 0.5055; carried as "
           "0.5055 it rounds up to 0.506 (double rounding)"),
        _v("out_in", "1.858", 1074),
        _v("out_out", "0.865", 1080),
        _s("Predicted (prediction-error slide)", "0.641", 1092, 0.8650753757,
           "The predicted output is out_out = 0.865 (used on the same slide); "
           "0.641 is the mis-evaluated 1/1.56 of the derivative slide."),
        _v("E", "0.349", 1099),
        # dE/dW5
        _s("dE/dout_out", "0.63", 1117, 0.8350753757,
           "out_out - desired = 0.865 - 0.03 = 0.835, written 0.63 (the "
           "products for dE/dW5, dE/dW3 and dE/dW4 do use 0.835)."),
        _s("1 + exp(-out_in)", "1.56", 1134, 1.155968634,
           "1 + e^-1.858 = 1.156, written 1.56 (a digit dropped)."),
        _s("sigma(out_in) (in derivative)", "0.641", 1136, 0.8650753757,
           "Propagated: 1/1.56 = 0.641; sigma(1.858) = 0.865.",
           "1/{1 + exp(-out_in)}", "propagated"),
        _s("1 - sigma(out_in)", "0.359", 1136, 0.1349246243,
           "Propagated: 1 - 0.641; correct 1 - 0.865 = 0.135.",
           "1 - {sigma(out_in) (in derivative)}", "propagated"),
        _s("dout_out/dout_in", "0.23", 1138, 0.1167199701,
           "Propagated: 0.641*0.359 = 0.230; the sigmoid derivative is "
           "0.865*0.135 = 0.117.",
           "{sigma(out_in) (in derivative)}*{1 - sigma(out_in)}",
           "propagated"),
        _v("dout_in/dW5", "0.618", 1153),
        _s("dE/dout_out (in dE/dW5 product)", "0.631", 1168, 0.8350753757,
           "The factor dE/dout_out = 0.835 is written 0.631 in the product "
           "(whose result 0.119 = 0.835*0.23*0.618 uses 0.835)."),
        _s("dE/dW5", "0.119", 1171, 0.06021186859,
           "Propagated from the wrong sigmoid derivative 0.23: "
           "0.835*0.23*0.618 = 0.119; correct 0.835*0.117*0.618 = 0.0602.",
           "({out_out} - 0.03)*{dout_out/dout_in}*{dout_in/dW5}",
           "propagated"),
        # dE/dW6
        _v("dout_in/dW6", "0.506", 1194, "intermediates",
           "round(sigmoid({h2_in}), 4)",
           "h2_out, same double rounding as above"),
        _s("dE/dW6", "0.097", 1208, 0.04927104966,
           "Propagated from the wrong 0.23: 0.835*0.23*0.506 = 0.097; "
           "correct 0.0493.",
           "({out_out} - 0.03)*{dout_out/dout_in}*{dout_in/dW6}",
           "propagated"),
        # dE/dW1, dE/dW2
        _v("dout_in/dh1_out", "-0.2", 1237),
        _v("dh1_out/dh1_in", "0.236", 1254,
           note="labelled dh2_out/dh2_in in the notes; the value is for h1"),
        _v("dh1_in/dW1", "0.1", 1269),
        _s("dE/dW1", "-0.001", 1283, -0.0004603222946,
           "Propagated from the wrong 0.23: "
           "0.835*0.23*(-0.2)*0.236*0.1 = -0.0009; correct -0.00046.",
           "({out_out} - 0.03)*{dout_out/dout_in}*{dout_in/dh1_out}"
           "*{dh1_out/dh1_in}*{dh1_in/dW1}", "propagated"),
        _v("dh1_in/dW2", "0.3", 1309),
        _s("dE/dW2", "-.003", 1322, -0.001380966884,
           "Propagated from the wrong 0.23: "
           "0.835*0.23*(-0.2)*0.236*0.3 = -0.0027; correct -0.00138.",
           "({out_out} - 0.03)*{dout_out/dout_in}*{dout_in/dh1_out}"
           "*{dh1_out/dh1_in}*{dh1_in/dW2}", "propagated"),
        # dE/dW3, dE/dW4
        _v("dout_in/dh2_out", "0.3", 1349),
        _v("dh2_out/dh2_in", "0.25", 1368),
        _s("dh2_in/dW3", "0.62", 1383, 0.1,
           "Derivative of the wrong quantity: dh2_in/dW3 = X1 = 0.1, the "
           "notes write the weight W3 = 0.62 itself."),
        _s("dE/dW3", "0.009", 1397, 0.0007309363496,
           "Propagated from 0.23 and dh2_in/dW3 = 0.62: "
           "0.835*0.23*0.3*0.25*0.62 = 0.0089; correct 0.00073.",
           "({out_out} - 0.03)*{dout_out/dout_in}*{dout_in/dh2_out}"
           "*{dh2_out/dh2_in}*{dh2_in/dW3}", "propagated"),
        _s("dh2_in/dW4", "0.2", 1426, 0.3,
           "Derivative of the wrong quantity: dh2_in/dW4 = X2 = 0.3, the "
           "notes write the weight W4 = 0.2 itself."),
        _s("dE/dW4", "0.003", 1437, 0.002192809049,
           "Propagated from 0.23 and dh2_in/dW4 = 0.2: "
           "0.835*0.23*0.3*0.25*0.2 = 0.0029; correct 0.0022.",
           "({out_out} - 0.03)*{dout_out/dout_in}*{dout_in/dh2_out}"
           "*{dh2_out/dh2_in}*{dh2_in/dW4}", "propagated"),
        # updated weights
        _s("W1_new", "0.50001", 1460, 0.5000046032,
           "Propagated from the wrong dE/dW1 = -0.001; correct "
           "0.5 + 0.01*0.00046 = 0.500005.",
           "0.5 - 0.01*{dE/dW1}", "propagated"),
        _s("W2_new", "0.10003", 1462, 0.1000138097,
           "Propagated from the wrong dE/dW2 = -0.003.",
           "0.1 - 0.01*{dE/dW2}", "propagated"),
        _s("W3_new", "0.61991", 1464, 0.6199926906,
           "Propagated from the wrong dE/dW3 = 0.009.",
           "0.62 - 0.01*{dE/dW3}", "propagated"),
        _s("W4_new", "0.1997", 1466, 0.1999780719,
           "0.2 - 0.01*0.003 = 0.19997 is written 0.1997 (a digit dropped), "
           "on top of the wrong dE/dW4; correct 0.199978."),
        _s("dE/dW5 (in W5 update)", "0.618", 1468, 0.06021186859,
           "The W5 update uses dout_in/dW5 = h1_out = 0.618 in place of the "
           "gradient dE/dW5 (0.0602)."),
        _s("W5_new", "-0.20618", 1468, -0.2006021187,
           "Propagated: -0.2 - 0.01*0.618 with h1_out in place of the "
           "gradient; correct -0.20060.",
           "-0.2 - 0.01*{dE/dW5 (in W5 update)}", "propagated"),
        _s("W6_new", "0.29903", 1470, 0.2995072895,
           "Propagated from the wrong dE/dW6 = 0.097; correct 0.29951.",
           "0.3 - 0.01*{dE/dW6}", "propagated"),
    ],
    name="notes001_2_2_1",
    source=("001_925df4e2dad7eda5.txt, 'Example: ANN with Hidden Layer' "
            "(lines 1005-1470)"),
    description=(
        "Lecture 9 (ANN), 2-2-1 sigmoid network: x = (0.1, 0.3), hidden "
        "W1 = [[W1, W2], [W3, W4]] = [[0.5, 0.1], [0.62, 0.2]] "
        "(h1_in = X1 W1 + X2 W2 + b1, h2_in = X1 W3 + X2 W4 + b2) with one "
        "bias per hidden neuron b = (0.4, -0.1), output W2 = [[W5, W6]] = "
        "[[-0.2, 0.3]] with bias b3 = 1.83, desired 0.03, "
        "E = 1/2 (desired - out_out)^2, eta = 0.01.  The forward pass is "
        "right.  The backward pass has a chain of slips: dE/dout_out written "
        "0.63 (but 0.835 used), 1 + e^-1.858 written 1.56 so the sigmoid "
        "derivative becomes 0.641*0.359 = 0.23 instead of 0.117 (all six "
        "gradients inherit it), dh2_in/dW3 and dh2_in/dW4 taken as the "
        "weights instead of the inputs, and W5 updated with 0.618 (h1_out) "
        "instead of its gradient."),
    layer_sizes=(2, 2, 1),
    activations=("sigmoid", "sigmoid"),
    weights=(_a([[0.5, 0.1], [0.62, 0.2]]), _a([[-0.2, 0.3]])),
    biases=(_a([0.4, -0.1]), _a([1.83])),
    shared_bias=(False, False),
    x=_a([0.1, 0.3]),
    target=_a([0.03]),
    loss="half_squared_error",
    learning_rates=(0.01, 0.01),
    unchecked=(
        (1162, "dE/dout_out = 0.8 . 0.63 (with a subscript 1)",
         ("garbled (an overwritten value); the product on line 1168 prints "
          "0.631, checked as a slip")),
        (1179, "dE/dout_out = 1",
         "garbled remnant of the fraction 0.63/1 printed elsewhere"),
    ),
)


# --------------------------------------------------------------------------
# file 002: recap lecture, 2-2-1 net
# --------------------------------------------------------------------------

_NOTES002 = _example(
    [
        _v("z_h1", "0.3775", 27),
        _v("z_h2", "0.3925", 29),
        _v("a_h1", "0.5933", 31),
        _v("a_h2", "0.5969", 33),
        _v("z_out", "1.1059", 37),
        _v("a_out", "0.7514", 39),
        _v("loss", "0.2748", 46),
        # w5
        _v("dyhat/dz_out", "0.1868", 76),
        _v("dL/dyhat", "0.7414", 80),
        _v("dz_out/dw5", "0.5933", 90),
        _v("dL/dw5", "0.0822", 98),
        _s("lr*dL/dw5", "0.00000000", 106, 8.216704056e-06,
           "The product 0.0001*0.0822 = 0.00000822 appears as 0.00000000 "
           "(its significant digits lost)."),
        _s("w5_new", "0.399927", 108, 0.3999917833,
           "0.40 - 0.0001*0.0822 = 0.39999178, printed 0.399927 "
           "(arithmetic slip in the subtraction)."),
        # w6
        _v("dz_out/dw6", "0.5969", 112),
        _v("dL/dw6", "0.0827", 118),
        _s("lr (in w6 update)", "-0.0001", 122, 0.0001,
           "The step '0.45 - (-0.0001 x 0.0827)' carries a spurious minus on "
           "the learning rate (it would move the weight uphill); the printed "
           "result 0.4499 uses +0.0001."),
        _v("w6_new", "0.4499", 124, "truncated",
           note="0.45 - 0.00000827 = 0.44999173 cut to 0.4499"),
        # w1
        _v("dz_out/da_h1", "0.40", 143),
        _v("da_h1/dz_h1", "0.2413", 148),
        _v("dz_h1/dw1", "0.05", 154),
        _v("dL/dyhat*dyhat/dz_out", "0.1385", 158),
        _v("...*dz_out/da_h1", "0.0554", 160),
        _v("dL/dz_h1", "0.0134", 162),
        _v("dL/dw1", "0.00067", 166),
        # w2
        _v("dz_h1/dw2", "0.10", 176),
        _s("dL/dw2", "0.00135", 187, 0.001336792042,
           "0.0134*0.10 = 0.00134 (exactly 0.0013368), printed 0.00135 "
           "(also in the summary)."),
        # w4
        _s("da_h2/dz_h2", "0.2407", 195, 0.2406134172,
           "0.5969*(1 - 0.5969) = 0.24061, printed 0.2407 "
           "(arithmetic slip; exact 0.240613)."),
        _v("dz_out/da_h2", "0.45", 197),
        _v("dz_h2/dw4", "0.10", 199),
        _s("dL/dw4", "-0.00150", 201, 0.001499607549,
           "Sign slip: every factor is positive (the '-' before "
           "7414/1868/2407 stand for decimal points) and the summary lists "
           "+.00150."),
        # w3
        _v("dz_h2/dw3", "0.05", 207),
        _v("dL/dw3", ".00075", 211),
        _v("dL/dw4 (summary)", ".00150", 223),
        # biases
        _v("dz_out/db2", "1", 233),
        _v("dL/db2", "0.1385", 235),
        _v("dz_h1/db1", "1", 249),
        _v("dL/db1 from h1", "0.0134", 255),
        _s("da_h2/dz_h2 (in b1 product)", ".2417", 259, 0.2406134172,
           "Miscopied as .2417 (line 195 had .2407; the value is 0.2406); "
           "the product 0.0150 below is unaffected at its precision."),
        _v("dL/db1 from h2", "0.0150", 261),
        _v("dL/db1", "0.0284", 265),
    ],
    name="notes002_2_2_1",
    source=("002_583b63333628d620.txt, 'Recap: Forward Propagation; "
            "Backpropagation' (lines 11-269)"),
    description=(
        "Recap lecture, 2-2-1 sigmoid network: x = (0.05, 0.10), "
        "W1 = [[w1, w2], [w3, w4]] = [[0.15, 0.20], [0.25, 0.30]] "
        "(z_h1 = x1 w1 + x2 w2 + b1, z_h2 = x1 w3 + x2 w4 + b1), one hidden "
        "bias b1 = 0.35 shared by both hidden neurons, W2 = [[w5, w6]] = "
        "[[0.40, 0.45]], output bias b2 = 0.60, target 0.01, "
        "'MSE loss' = 0.5 (y_true - y_hat)^2, learning rate 0.0001.  The "
        "notes compute all six weight gradients, the updates of w5 and w6, "
        "dL/db2 and the shared-bias gradient dL/db1 = (from h1) + (from h2).  "
        "Values carried to 4 decimals; several factors are written without "
        "their leading '0.' or with '-' for '.', e.g. '-7414 x -1868' for "
        "0.7414 x 0.1868 (read as such).  The file ends with 'LR = 0.0001' "
        "and an unexplained 'LR = 1' (not used)."),
    layer_sizes=(2, 2, 1),
    activations=("sigmoid", "sigmoid"),
    weights=(_a([[0.15, 0.20], [0.25, 0.30]]), _a([[0.40, 0.45]])),
    biases=(0.35, 0.60),
    shared_bias=(True, True),
    x=_a([0.05, 0.10]),
    target=_a([0.01]),
    loss="half_squared_error",
    learning_rates=(0.0001, 0.0001),
    unchecked=(
        (64, "Sigmoid = 1/(1 + (1 + e^{-z}))",
         ("formula slip (no number): an extra '1 +'; the derivative below is "
          "the usual sigma(1 - sigma)")),
        (158, "0.7414 x 1868 = 0.1385",
         "'1868' is 0.1868 with its '0.' lost; checked via the result 0.1385"),
        (168, "New w1 = 0.15 - (0.0001 x 0.00067) =",
         "left blank in the notes"),
        (269, "LR = 1", "unexplained; no computation follows"),
    ),
)


# --------------------------------------------------------------------------
# file 003: 2-2-2 net without biases, theta indices
# --------------------------------------------------------------------------

_NOTES003 = _example(
    [
        # forward pass
        _v("theta11*x1", "0.06", 68),
        _v("theta21*x2", "0.36", 68),
        _v("theta12*x1", "0.03", 68),
        _v("theta22*x2", "0.09", 68),
        _v("z1^0", "0.42", 70),
        _v("z2^0", "0.12", 72),
        _v("a1", "0.60348324986", 82),
        _v("a2", "0.52996405176", 84),
        _v("a1 (4 dp)", "0.6034", 106, "truncated",
           note="a1 = 0.603483 cut to 0.6034"),
        _v("a2 (4 dp)", "0.5299", 106, "truncated",
           note="a2 = 0.529964 cut to 0.5299"),
        _v("theta'11*a1", "0.3017", 108),
        _s("theta'21*a2", "0.412392", 108, 0.4239712414,
           "0.8*0.5299 = 0.42392, written 0.412392 (a digit inserted); "
           "the sum 0.72562 uses 0.42392."),
        _v("z1'", "0.72562", 110, "intermediates",
           "0.5*{a1 (4 dp)} + 0.8*{a2 (4 dp)}",
           "from a1, a2 cut to 4 decimals (exact 0.725713)"),
        _s("O1", "0.613843376", 112, 0.6738637865,
           "sigma(0.72562) = 0.673843376..., a digit miscopied (7 -> 1); "
           "the notes then use O1 = 0.6738 (exact O1 = 0.673864)."),
        _v("theta'12*a1", "0.06034", 121, "intermediates",
           "0.1*{a1 (4 dp)}", "0.1*0.6034 (exact 0.0603483)"),
        _v("theta'22*a2", "0.47691", 121, "intermediates",
           "0.9*{a2 (4 dp)}", "0.9*0.5299 (exact 0.476968)"),
        _s("z2'", "0.47691", 123, 0.5373159716,
           "The first term is dropped: z2' = 0.06034 + 0.47691 = 0.53725 "
           "(exact 0.537316)."),
        _s("O2", "0.517614906", 125, 0.6311878237,
           "Matches sigma of neither the printed z2' (sigma(0.47691) = "
           "0.617018) nor the true z2' (sigma(0.537316) = 0.631188); the "
           "notes then carry O2 = 0.6176."),
        # total error
        _v("O1 (4 dp)", "0.6738", 131, "truncated",
           note="O1 = 0.673864 cut to 0.6738"),
        _v("E_o1", "0.00796322", 131, "intermediates",
           "0.5*(0.8 - {O1 (4 dp)})**2",
           "from O1 cut to 0.6738 (exact 0.00795517)"),
        _s("O2 (4 dp)", "0.6176", 134, 0.6311878237,
           "The wrong O2 carried on (from the dropped term of z2'); the "
           "true output is sigma(0.537316) = 0.6312; 0.6176 is the printed "
           "O2 with its first digit 5 read as 6, itself sigma of neither "
           "z2'."),
        _s("E_o2", "0.08719488", 134, 0.09296146966,
           "Propagated from the wrong O2 = 0.6176: 0.5*(0.2 - 0.6176)^2.",
           "0.5*(0.2 - {O2 (4 dp)})**2", "propagated"),
        _s("E_total", "0.0951581", 138, 0.1009166418,
           "Propagated from the wrong E_o2.",
           "{E_o1} + {E_o2}", "propagated"),
        # w5
        _v("dE/dO1", "-0.1262", 154, "intermediates", "{O1 (4 dp)} - 0.8",
           "-(0.8 - 0.6738) with O1 cut to 4 decimals (exact -0.126136)"),
        _s("z1' (in dO1/dz1' formula)", "0.72552", 162, 0.7257128663,
           "z1' = 0.72562 miscopied as 0.72552 in the exponent."),
        _s("z1' (second factor of dO1/dz1' formula)", "0.6738", 162, 0.7257128663,
           "Wrong quantity: the output O1 = 0.6738 is put in the exponent "
           "where the net input z1' belongs."),
        _s("dO1/dz1'", "0.21919356", 166, 0.2197713837,
           "0.6738*(1 - 0.6738) = 0.21979356, miscopied as 0.21919356 (the "
           "product for dE/dw5 uses 0.21979356)."),
        _v("dz1'/dw5", "0.603483", 172),
        _v("dE/dw5", "-0.016739", 174, "intermediates",
           "{dE/dO1}*{dO1/dz1' (w7 block)}*{dz1'/dw5}",
           "-0.1262*0.21979356*0.603483 (exact -0.0167292)"),
        _v("w5_new", "0.5083695", 183, "intermediates",
           "0.5 - 0.5*{dE/dw5}",
           "0.5 + 0.5*0.016739 (exact 0.5083646)"),
        # w6
        _s("dE/dO2", "0.4176", 200, 0.4311878237,
           "Propagated from the wrong O2 = 0.6176 (true O2 - t2 = 0.4312).",
           "{O2 (4 dp)} - 0.2", "propagated"),
        _s("z2' (in dO2/dz2' formula)", "0.4176", 206, 0.5373159716,
           "Wrong quantity: dE/dO2 = 0.4176 is put in the exponents where "
           "the net input z2' belongs."),
        _s("dO2/dz2'", "0.23616083", 208, 0.2327897549,
           "Not O2(1 - O2) for the carried O2 = 0.6176 (0.23617024) nor "
           "for the true O2 (0.2327898)."),
        _v("dz2'/dw6", "0.603483", 216),
        _s("dE/dw6", "0.059510036", 220, 0.06057529975,
           "From the wrong dE/dO2 and dO2/dz2', and mis-multiplied: "
           "0.4176*0.23616083*0.603483 = 0.0595160; correct 0.0605753."),
        _s("alpha*dE/dw6", "0.02975", 226, 0.03028764987,
           "Propagated: 0.5*0.059510036 cut to 5 decimals.",
           "trunc(0.5*{dE/dw6}, 5)", "propagated"),
        _s("w6_new", "0.07025", 228, 0.06971235013,
           "Propagated: 0.1 - 0.02975; correct 0.1 - 0.5*0.0605753.",
           "0.1 - {alpha*dE/dw6}", "propagated"),
        # w7 (written w_f)
        _v("dO1/dz1' (w7 block)", "0.21979356", 238, "intermediates",
           "{O1 (4 dp)}*(1 - {O1 (4 dp)})",
           "0.6738*0.3262 with O1 cut to 4 decimals (exact 0.2197714)"),
        _v("dz1'/dw7", "0.5299", 240, "truncated",
           note="a2 = 0.529964 cut to 0.5299"),
        _v("dE/dw7", "-0.014698338", 244, "intermediates",
           "{dE/dO1}*{dO1/dz1' (w7 block)}*{dz1'/dw7}",
           "-0.1262*0.21979356*0.5299 (exact -0.0146912)"),
        _s("dE/dw7 (in w7 update)", "-0.04698338", 250, -0.01469120247,
           "-0.014698338 miscopied as -0.04698338 (the next line uses the "
           "right value)."),
        _v("alpha*dE/dw7", "-0.007349169", 252, "intermediates",
           "0.5*{dE/dw7}", "0.5*(-0.014698338) (exact -0.0073456)"),
        _v("w7_new", "0.807349169", 254, "intermediates",
           "0.8 - {alpha*dE/dw7}", "0.8 + 0.007349169 (exact 0.8073456)"),
        _s("w7_new (3 dp)", "0.808", 256, 0.8073456012,
           "0.807349169 rounds to 0.807, not 0.808."),
        # w8
        _v("dz2'/dw8", "0.5299", 272, "truncated",
           note="a2 = 0.529964 cut to 0.5299"),
        _s("dE/dw8", "0.052259142", 277, 0.05319572879,
           "Propagated from the wrong dE/dO2 and dO2/dz2'.",
           "{dE/dO2}*{dO2/dz2'}*{dz2'/dw8}", "propagated"),
        _s("alpha*dE/dw8", "0.026129571", 283, 0.0265978644,
           "Propagated: 0.5 times the wrong dE/dw8.",
           "0.5*{dE/dw8}", "propagated"),
        _s("w8_new", "0.873870429", 283, 0.8734021356,
           "Propagated from the wrong dE/dw8.",
           "0.9 - {alpha*dE/dw8}", "propagated"),
        # w1
        _s("dO1/dz1' (w1 block)", "0.29179356", 299, 0.2197713837,
           "0.21979356 with digits transposed (the product below uses "
           "0.21979356)."),
        _v("dE_o1/dz1'", "-0.027737947", 301, "intermediates",
           "{dE/dO1}*{dO1/dz1' (w7 block)}",
           "-0.1262*0.21979356 (exact -0.0277211)"),
        _v("dz1'/da1", "0.5", 307),
        _s("dE_o1/da1", "-0.013868947", 311, -0.01386056509,
           "-0.027737947*0.5 = -0.0138689735, last digits transposed "
           "(line 351 prints -0.013868973)."),
        _s("dE_o2/dz2'", "0.09862076", 330, 0.1003761078,
           "Propagated from the wrong dE/dO2 and dO2/dz2' (printed with a "
           "stray '^2').",
           "{dE/dO2}*{dO2/dz2'}", "propagated"),
        _v("dz2'/da1", "0.1", 340),
        _s("dE_o2/dz2' (9 dp)", "0.098620762", 347, 0.1003761078,
           "Propagated, as above (0.0986207626 cut to 9 decimals).",
           "trunc({dE/dO2}*{dO2/dz2'}, 9)", "propagated"),
        _s("dE_o2/da1", "0.009862076", 347, 0.01003761078,
           "Propagated from the wrong dE_o2/dz2'.",
           "{dE_o2/dz2' (9 dp)}*{dz2'/da1}", "propagated"),
        _v("dE_o1/da1 (in sum)", "-0.013868973", 351, "intermediates",
           "{dE_o1/dz1'}*{dz1'/da1}",
           "-0.027737947*0.5 = -0.0138689735 (exact -0.0138606)"),
        _s("dE/da1", "-0.004006897", 353, -0.003822954311,
           "Propagated from the wrong dE_o2/da1 (the O2 path).",
           "{dE_o1/da1 (in sum)} + {dE_o2/da1}", "propagated"),
        _s("a1 (in da1/dz1)", "0.60348329", 359, 0.6034832499,
           "a1 = 0.60348325 miscopied as 0.60348329."),
        _s("da1/dz1", "0.239291219", 361, 0.239291217,
           "a1(1 - a1) = 0.239291217; the printed last digits match neither "
           "that nor the miscopied a1 (0.239291209)."),
        _v("dz1/dw1", "0.3", 369),
        _s("dE/da1 (in dE/dw1)", "-0.054506897", 371, -0.003822954311,
           "-0.004006897 miscopied as -0.054506897 (the product uses "
           "-0.004006897)."),
        _s("dE/dw1", "-0.000287644", 375, -0.0002744398169,
           "Propagated from the wrong dE/da1 (cut to 9 decimals).",
           "trunc({dE/da1}*{da1/dz1}*{dz1/dw1}, 9)", "propagated"),
        _s("dE/dw1 (in w1 update)", "-0.00287644", 382, -0.0002744398169,
           "-0.000287644 copied ten times too large (a zero dropped)."),
        _s("w1_new", "0.20287644", 386, 0.2002744398,
           "Propagated: 0.2 + 0.00287644 from the ten-times-too-large "
           "gradient; correct 0.2 + 0.000274440.",
           "0.2 - 1*{dE/dw1 (in w1 update)}", "propagated"),
        # w3
        _v("dz1/dw3", "0.9", 402),
        _s("dE/dw3", "-0.000862933", 407, -0.0008233194508,
           "Propagated from the wrong dE/da1 (cut to 9 decimals).",
           "trunc({dE/da1}*{da1/dz1}*{dz1/dw3}, 9)", "propagated"),
        _s("dE/dw3 (4 dp)", "-0.0009", 407, -0.0008233194508,
           "Propagated: the wrong dE/dw3 to 4 decimals (true -0.0008).",
           "{dE/dw3}", "propagated"),
        _s("dE/dw3 (in w3 update)", "-0.009", 411, -0.0008233194508,
           "-0.0009 copied ten times too large."),
        _s("w3_new", "0.409", 411, 0.4008233195,
           "Propagated: 0.4 + 0.009 from the ten-times-too-large gradient; "
           "correct 0.4 + 0.000823.",
           "0.4 - 1*{dE/dw3 (in w3 update)}", "propagated"),
        # w2
        _v("dz1'/da2", "0.8", 427),
        _s("dE_o1/da2", "-0.10096", 429, -0.02217690415,
           "The factor dO1/dz1' = 0.2198 is dropped: dE_o1/da2 = "
           "dE/dO1 * dO1/dz1' * theta'21, the notes take -0.1262*0.8.",
           "{dE/dO1}*{dz1'/da2}"),
        _v("dz2'/da2", "0.9", 443),
        _s("dE_o2/da2", "0.088758684", 447, 0.09033849702,
           "Propagated from the wrong dE_o2/dz2'.",
           "{dE_o2/dz2'}*{dz2'/da2}", "propagated"),
        _s("dE/da2", "-0.012201316", 453, 0.06816159288,
           "Propagated from the wrong dE_o1/da2 and dE_o2/da2 (the true "
           "value is positive, 0.0681616).",
           "{dE_o1/da2} + {dE_o2/da2}", "propagated"),
        _v("a2 (6 dp)", "0.529964", 457),
        _v("da2/dz2", "0.249102158", 459, "intermediates",
           "trunc({a2 (6 dp)}*(1 - {a2 (6 dp)}), 9)",
           "0.529964*0.470036 = 0.2491021587 cut to 9 decimals "
           "(exact 0.2491021556)"),
        _v("dz2/dw2", "0.3", 465),
        _s("da2/dz2 (in dE/dw2)", "0.249102188", 469, 0.2491021556,
           "0.249102158 miscopied as 0.249102188."),
        _s("dE/dw2", "-0.0000911812", 473, 0.005093759914,
           "From the wrong dE/da2 (true gradient +0.0050938), and "
           "-0.012201316*0.249102158*0.3 = -0.000911812 is written ten times "
           "too small."),
        _s("w2_new", "0.100911812", 482, 0.09490624009,
           "Propagated from the wrong dE/da2 (uses the product "
           "-0.000911812, not the printed -0.0000911812).",
           "0.1 - {dE/da2}*{da2/dz2}*{dz2/dw2}", "propagated"),
        _s("w2_new (3 dp)", "0.101", 484, 0.09490624009,
           "Propagated: the wrong w2_new to 3 decimals (true 0.0949).",
           "{w2_new}", "propagated"),
        # w4
        _v("dz2/dw4", "0.9", 498),
        _s("dE/dw4", "-0.002735436", 502, 0.01528127974,
           "Propagated from the wrong dE/da2 (cut to 9 decimals).",
           "trunc({dE/da2}*{da2/dz2}*{dz2/dw4}, 9)", "propagated"),
        _s("w4 (old, in w4 update)", "0.9", 506, 0.1,
           "The old weight w4 = theta22^0 = 0.1; 0.9 is x2 (or theta'22)."),
        _s("w4_new", "0.902735436", 508, 0.08471872026,
           "Propagated: 0.9 + 0.002735436 with the wrong old w4 and "
           "gradient.",
           "{w4 (old, in w4 update)} - {dE/dw4}", "propagated"),
        _s("w4_new (6 dp)", "0.102735", 508, 0.08471872026,
           "Propagated: 0.1 + 0.002735436 (old weight corrected, gradient "
           "still wrong); correct 0.1 - 0.0152813.",
           "0.1 - {dE/dw4}", "propagated"),
        # second forward pass with the notes' new weights (lines 510-563);
        # 'struck' = the first attempt, made with w4 = 0.902 and then
        # replaced (the notes print both numbers side by side)
        _s("pass2 z1^0", "0.4308", 514, 0.4208233195,
           "Propagated from the wrong new w1 = 0.209, w3 = 0.409.",
           "{new w1 (summary)}*0.3 + {new w3 (summary)}*0.9", "propagated"),
        _s("pass2 w4*x2", "0.0918", 518, 0.07624684823,
           "Propagated from the wrong new w4 = 0.102.",
           "{new w4 (summary)}*0.9", "propagated"),
        _s("pass2 w2*x1", "0.0303", 520, 0.02847187203,
           "Propagated from the wrong new w2 = 0.101.",
           "{new w2 (summary)}*0.3", "propagated"),
        _s("pass2 w4*x2 (struck)", "0.8118", 520, 0.07624684823,
           "Propagated from the wrong w4_new = 0.902 (first attempt).",
           "trunc({w4_new}, 3)*0.9", "propagated"),
        _s("pass2 z2^0 (struck)", "0.8421", 522, 0.1047187203,
           "Propagated (first attempt with w4 = 0.902).",
           "{pass2 w2*x1} + {pass2 w4*x2 (struck)}", "propagated"),
        _s("pass2 z2^0", "0.1221", 522, 0.1047187203,
           "Propagated from the wrong new w2, w4.",
           "{pass2 w2*x1} + {pass2 w4*x2}", "propagated"),
        _s("pass2 a1", "0.60606", 528, 0.6036802462,
           "Propagated from the wrong pass-2 z1^0.",
           "sigmoid({pass2 z1^0})", "propagated"),
        _s("pass2 a2 (struck)", "0.69890", 534, 0.5261557824,
           "Propagated (first attempt), sigma(0.8421) cut to 5 decimals.",
           "trunc(sigmoid({pass2 z2^0 (struck)}), 5)", "propagated"),
        _s("pass2 a2", "0.530487", 534, 0.5261557824,
           "Propagated from the wrong pass-2 z2^0.",
           "sigmoid({pass2 z2^0})", "propagated"),
        _s("pass2 w5*a1", "0.30909", 538, 0.3068896783,
           "Propagated from the wrong pass-2 a1.",
           "{new w5 (summary)}*{pass2 a1}", "propagated"),
        _s("pass2 w7*a2 (struck)", "0.5647112", 538, 0.4247895565,
           "Propagated (first attempt).",
           "{new w7 (summary)}*{pass2 a2 (struck)}", "propagated"),
        _s("pass2 z1' (struck)", "0.8738012", 540, 0.7316792347,
           "Propagated (first attempt).",
           "{pass2 w5*a1} + {pass2 w7*a2 (struck)}", "propagated"),
        _s("pass2 z1'", "0.73771704", 540, 0.7316792347,
           "From the wrong pass-2 weights and activations, and "
           "0.30909 + 0.808*0.530487 = 0.7377235, not 0.73771704."),
        _s("pass2 o1", "0.676", 546, 0.6751736609,
           "Propagated from the wrong pass-2 z1'.",
           "sigmoid({pass2 z1'})", "propagated"),
        _s("pass2 o1 (struck)", "0.70553", 548, 0.6751736609,
           "Propagated (first attempt), sigma(0.8738012) cut to 5 decimals.",
           "trunc(sigmoid({pass2 z1' (struck)}), 5)", "propagated"),
        _s("pass2 w8*a2", "0.4636", 552, 0.459545584,
           "Propagated from the wrong new w8 and pass-2 a2.",
           "{new w8 (summary)}*{pass2 a2}", "propagated"),
        _s("pass2 w6*a1", "0.042606", 555, 0.04208396869,
           "Propagated from the wrong new w6 and pass-2 a1.",
           "{new w6 (summary)}*{pass2 a1}", "propagated"),
        _s("pass2 w8*a2 (struck)", "0.61083", 555, 0.459545584,
           "Propagated (first attempt), cut to 5 decimals.",
           "trunc({new w8 (summary)}*{pass2 a2 (struck)}, 5)", "propagated"),
        _s("pass2 z2'", "0.50624", 557, 0.5016295527,
           "From the wrong pass-2 values, and 0.042606 + 0.4636 = 0.506206 "
           "(0.506252 unrounded), not 0.50624."),
        _s("pass2 z2' (struck)", "0.65344", 559, 0.5016295527,
           "Propagated (first attempt).",
           "{pass2 w6*a1} + {pass2 w8*a2 (struck)}", "propagated"),
        _s("pass2 o2 (struck)", "0.657", 563, 0.6228422056,
           "Propagated (first attempt), sigma(0.65344) cut to 3 decimals; "
           "printed run together with the next value as '0.6570.6239'.",
           "trunc(sigmoid({pass2 z2' (struck)}), 3)", "propagated"),
        _s("pass2 o2", "0.6239", 563, 0.6228422056,
           "Propagated from the wrong pass-2 z2'.",
           "sigmoid({pass2 z2'})", "propagated"),
        # summary of the new weights (lines 567-580)
        _s("new w1 (summary)", "0.209", 571, 0.2002744398,
           "The notes' own w1_new = 0.20287644 would give 0.203; 0.209 "
           "matches nothing (true 0.2003)."),
        _s("new w2 (summary)", "0.101", 572, 0.09490624009,
           "Propagated from the wrong w2_new.", "{w2_new}", "propagated"),
        _s("new w3 (summary)", "0.409", 573, 0.4008233195,
           "Propagated from the wrong w3_new.", "{w3_new}", "propagated"),
        _s("new w4 (summary)", "0.102", 574, 0.08471872026,
           "Propagated from the wrong w4_new = 0.102735 (cut to 0.102; "
           "true 0.0847).", "trunc({w4_new (6 dp)}, 3)", "propagated"),
        _v("new w5 (summary)", "0.51", 577),
        _s("new w6 (summary)", "0.0703", 578, 0.06971235013,
           "Propagated from the wrong w6_new = 0.07025 (true 0.0697).",
           "{w6_new}", "propagated"),
        _s("new w7 (summary)", "0.808", 579, 0.8073456012,
           "The same wrong rounding as line 256 (0.80735 -> 0.807).",
           "{w7_new (3 dp)}", "propagated"),
        _s("new w8 (summary)", "0.874", 580, 0.8734021356,
           "Propagated from the wrong w8_new = 0.873870 (true 0.873402).",
           "{w8_new}", "propagated"),
    ],
    name="notes003_2_2_2",
    source=("003_b946055bfd0101cf.txt, 'Deep learning: neural network' "
            "forward and backward pass (lines 8-581)"),
    description=(
        "Handwritten 2-2-2 sigmoid network with no biases (b = 0), "
        "x = (0.3, 0.9), targets (O1, O2) = (0.8, 0.2), "
        "E_total = sum 1/2 (target - output)^2, learning rate 0.5 for the "
        "output layer (w5-w8) and 1 for the hidden layer (w1-w4).  Weights "
        "use theta_ij^l = from input i to neuron j: hidden theta11 = w1 = "
        "0.2, theta12 = w2 = 0.1, theta21 = w3 = 0.4, theta22 = w4 = 0.1 "
        "(z1 = theta11 x1 + theta21 x2), output theta'11 = w5 = 0.5, "
        "theta'12 = w6 = 0.1, theta'21 = w7 = 0.8, theta'22 = w8 = 0.9 "
        "(z1' = theta'11 a1 + theta'21 a2).  So W1 = [[w1, w3], [w2, w4]] = "
        "[[0.2, 0.4], [0.1, 0.1]] and W2 = [[w5, w7], [w6, w8]] = "
        "[[0.5, 0.8], [0.1, 0.9]], the transposes of the theta tables.  The "
        "notes cut a1, a2, O1 to 4 decimals and carry 8-9 digits after that, "
        "so many values differ from float64 by rounding propagation only.  "
        "The real slips start with z2' (a term dropped) and a wrong O2; "
        "everything on the O2 path (E_o2, w6, w8, and through dE/da1, dE/da2 "
        "all hidden gradients) inherits them, plus several miscopied "
        "numbers, factor-ten slips, a dropped chain-rule factor in "
        "dE_o1/da2 and x2 used as the old w4.  The notes then redo the "
        "forward pass with their new weights (lines 510-563, first with "
        "w4 = 0.902, then 0.102); the correct values there are those of the "
        "correctly updated network."),
    layer_sizes=(2, 2, 2),
    activations=("sigmoid", "sigmoid"),
    weights=(_a([[0.2, 0.4], [0.1, 0.1]]), _a([[0.5, 0.8], [0.1, 0.9]])),
    biases=(None, None),
    shared_bias=(False, False),
    x=_a([0.3, 0.9]),
    target=_a([0.8, 0.2]),
    loss="half_squared_error",
    learning_rates=(1.0, 0.5),
    unchecked=(
        (92, "Z'_21 = Theta_21 Theta'_12 a1 + b",
         "garbled index (the line should read Z'_12 = Theta'_12 a1 + b)"),
        (156, "dO_i/dz_i = g(z_i)",
         ("formula slip (no number): the derivative is g(z)(1 - g(z)), "
          "which the next lines (and lines 202, 238, 355, 455) then use")),
        (164, "0.6738 x (1 - 0.6738)^{-1}",
         "stray exponent -1; the result 0.2198 is the product without it"),
        (330, "0.09862076^2", "stray '^2'; checked as 0.09862076"),
        (334, "4.", "stray mark"),
        (402, "= 0 + 1", "garbled (dz1/dw3 = 0 + x2, value 0.9 checked)"),
        (425, "theta'_21 = w_2 = 0",
         "garbled label: theta'21 is w7 = 0.8, as used on line 427"),
        (435, "0.09862076 * 2", "garbled (the 0.9 factor, line 445)"),
        (475, "2 = 1", "the hidden learning rate lambda = 1, garbled"),
        (480, "0.1 - 0 (-0.0000911812)",
         "the learning rate printed as 0 (garbled 1); the result uses 1"),
    ),
)


# --------------------------------------------------------------------------
# file 004: introduction to deep learning, 2-2-2 net
# --------------------------------------------------------------------------

_NOTES004 = _example(
    [
        _v("in_h1", "0.3775", 813),
        _v("out_h1", "0.5932", 828, "truncated",
           note="0.59326999 cut to 0.5932"),
        _v("out_h1 (3 dp)", "0.593", 841),
        _v("out_h2 (3 dp)", "0.596", 841, "truncated",
           note="0.59688438 cut to 0.596"),
        _v("in_o1", "1.105", 841, "intermediates",
           "0.4*{out_h1 (3 dp)} + 0.45*{out_h2 (3 dp)} + 0.6",
           "0.4*0.593 + 0.45*0.596 + 0.6 = 1.1054 (exact 1.105906, which "
           "truncates to the same 1.105)"),
        _v("out_o1", "0.751", 844),
        _v("out_o2", "0.7729", 852),
        _v("L_o1", "0.274", 861, "truncated",
           note="0.274811 cut to 0.274"),
        _v("L_o2", "0.023", 863, "truncated",
           note="0.023560 cut to 0.023"),
        _v("L_total", "0.298", 878),
        _v("dL/dout_o1", "0.741", 917),
        _v("dout_o1/din_o1", "0.186", 928, "truncated",
           note="0.186816 cut to 0.186"),
        _v("din_o1/dw5", "0.593", 939),
        _v("dL/dw5", "0.082", 951),
        _v("w5_new", "0.358", 959, "truncated",
           note="0.35891648 cut to 0.358 (the written 0.4 - 0.5*0.082 "
                "would give 0.359)"),
        _v("w6_new", "0.408", 967, "truncated",
           note="0.40866619 cut to 0.408"),
        _v("w7_new", "0.511", 969),
        _v("w8_new", "0.561", 971),
    ],
    name="notes004_2_2_2",
    source=("004_ecda007cc442fe77.txt, 'Let's follow a network while it "
            "learns' (lines 791-979)"),
    description=(
        "Introduction to deep learning (M. Huertas-Company), the classic "
        "2-2-2 sigmoid example: x = (0.05, 0.10), "
        "W1 = [[w1, w2], [w3, w4]] = [[0.15, 0.20], [0.25, 0.30]] "
        "(in_h1 = w1 i1 + w2 i2 + b1), one hidden bias b1 = 0.35 shared, "
        "W2 = [[w5, w6], [w7, w8]] = [[0.40, 0.45], [0.50, 0.55]] "
        "(in_o1 = w5 out_h1 + w6 out_h2 + b2), one output bias b2 = 0.60 "
        "shared, targets (0.01, 0.99), L_total = sum 0.5 (target - output)^2, "
        "learning rate 0.5.  The slides show the forward pass, the losses, "
        "dL/dw5 and the updated output weights w5-w8 (the hidden-layer "
        "gradients are only set up, lines 973-979).  Several values are "
        "truncated rather than rounded; no slips."),
    layer_sizes=(2, 2, 2),
    activations=("sigmoid", "sigmoid"),
    weights=(_a([[0.15, 0.20], [0.25, 0.30]]),
             _a([[0.40, 0.45], [0.50, 0.55]])),
    biases=(0.35, 0.60),
    shared_bias=(True, True),
    x=_a([0.05, 0.10]),
    target=_a([0.01, 0.99]),
    loss="half_squared_error",
    learning_rates=(0.5, 0.5),
)


EXAMPLES: dict[str, WorkedExample] = {
    ex.name: ex
    for ex in (_NOTES000, _NOTES001_NEURON, _NOTES001_2_2_1, _NOTES002,
               _NOTES003, _NOTES004)
}
"""Every worked example by name, in the order of the notes files."""


def get(name: str) -> WorkedExample:
    """Look up a worked example by name.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    WorkedExample
        The example.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    KeyError
        If there is no example called ``name`` (the message lists the names).

    Examples
    --------
    >>> from fastnn.course import examples
    >>> examples.get("notes004_2_2_2").layer_sizes
    (2, 2, 2)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    try:
        return EXAMPLES[name]
    except KeyError:
        raise KeyError(f"no worked example {name!r}; "
                       f"known: {', '.join(EXAMPLES)}") from None


def names() -> list[str]:
    """List the names of all worked examples.

    Returns
    -------
    list of str
        The names, in the order of the notes files.
    """
    return list(EXAMPLES)
