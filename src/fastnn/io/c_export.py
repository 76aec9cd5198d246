"""A trained model as dependency-free C: :meth:`fastnn.Sequential.export_c`.

:func:`export_c` writes two files: ``stem.c``, with the weights as ``static
const`` arrays and the forward pass, and ``stem.h``, with the prototypes,
the sizes as macros, the return codes and a comment block saying which
fastnn version and which architecture made them.  The code is C99 that
needs only ``<math.h>`` (link with ``-lm``), also compiles as C++, never
allocates memory and writes no global state; docs/export_c.md describes the
generated API.

The model is read through its public attributes only (``layers``, each
with ``weight``, ``bias``, ``bias_mode``, ``activation``, ``slope``,
``in_features``, ``out_features``; ``dtype``, ``probability_activation``,
``loss``), so this module needs nothing from :mod:`fastnn.nn`.

Numbers are printed as the shortest decimal that reads back as the same
float (``float`` or ``double``): the compiled weights are the model's bit for
bit.  Activations use libm (``expf``/``exp``, ``tanhf``/``tanh``,
``log1pf``/``log1p``); softplus is ``max(z, 0) + log1p(exp(-|z|))`` and softmax
subtracts the row's maximum, so neither overflows.  Dot products are
summed in eight partial sums, in double also for ``float`` models (a
macro in the generated code switches to float).
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_dtype, check_instance, check_path
from .._version import __version__
from .atomic import atomic_write

__all__ = ["C_KEYWORDS", "c_literals", "check_c_name", "export_c"]

_KEYWORD_TEXT = """
auto break case char const continue default do double else enum extern float for goto if inline int long
register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while
alignas alignof bool constexpr false nullptr static_assert thread_local true typeof typeof_unqual
and and_eq asm bitand bitor catch char8_t char16_t char32_t class compl concept consteval constinit const_cast
co_await co_return co_yield decltype delete dynamic_cast explicit export friend mutable namespace new noexcept
not not_eq operator or or_eq private protected public reinterpret_cast requires static_cast template this throw
try typeid typename using virtual wchar_t xor xor_eq
"""
#: Keywords of C (C99 to C23) and C++, refused as a ``name``: the generated
#: code is compiled as either.
C_KEYWORDS = frozenset(_KEYWORD_TEXT.split())

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_PROBABILITY_KINDS = ("softmax", "sigmoid", "logits_softmax", "logits_sigmoid")
_LINE = 100  # characters per line of the weight tables
_LANES = 8  # partial sums of a dot product (the generated code adds s0..s7)


@dataclass(frozen=True)
class _Layer:
    """One layer as the C code computes it: W (out, in), the bias expanded (or None)."""

    weight: np.ndarray
    bias: np.ndarray | None
    activation: str
    slope: float
    description: str


@dataclass(frozen=True)
class _Net:
    """What the generator needs of a model."""

    layers: tuple[_Layer, ...]
    ctype: str  # "float" or "double"
    kind: str  # softmax, sigmoid, logits_softmax, logits_sigmoid, labels, regression
    loss: str | None

    @property
    def n_inputs(self) -> int:
        return int(self.layers[0].weight.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.layers[-1].weight.shape[0])

    @property
    def classifier(self) -> bool:
        return self.kind != "regression"

    @property
    def probabilities(self) -> bool:
        return self.kind in _PROBABILITY_KINDS

    @property
    def n_classes(self) -> int:
        """Columns of predict_proba: (1 - p, p) for one sigmoid output."""
        return 2 if self.kind.endswith("sigmoid") and self.n_outputs == 1 else self.n_outputs

    @property
    def n_labels(self) -> int:
        """Labels per sample: one per output for several sigmoid outputs."""
        return self.n_outputs if self.kind.endswith("sigmoid") else 1

    @property
    def hidden_width(self) -> int:
        return max((int(layer.weight.shape[0]) for layer in self.layers[:-1]), default=0)

    @property
    def work_size(self) -> int:
        """Values of the forward pass's workspace: one or two hidden rows."""
        return self.hidden_width * min(2, len(self.layers) - 1)

    @property
    def suffix(self) -> str:
        """The suffix of float literals and libm functions ("f" or "")."""
        return "f" if self.ctype == "float" else ""


def export_c(model: Any, path: str | os.PathLike[str], name: str = "fastnn_model",
             dtype: Any = None) -> tuple[Path, Path]:
    """Write ``model`` as dependency-free C99: ``path`` (.c) and the header beside it (.h).

    Parameters
    ----------
    model : Sequential
        The model (read through its public attributes).
    path : str or os.PathLike
        The C source file to write; must end in ".c", and its folder must
        exist.  The header is written beside it with the suffix ".h" (the
        source includes it by that file name).
    name : str, default "fastnn_model"
        The prefix of every generated name: functions ``name_predict``...,
        macros ``NAME_N_INPUTS``...  A C identifier (ASCII letters, digits,
        underscores; starting with a letter) that is not a C or C++
        keyword.
    dtype : {None, "float32", "float64"}, default None
        The C type of the weights and arithmetic: ``float`` for float32,
        ``double`` for float64; None takes the model's dtype.

    Returns
    -------
    header : pathlib.Path
        The header written.
    source : pathlib.Path
        The source file written.

    Raises
    ------
    TypeError
        For a ``path``, ``name`` or ``dtype`` of the wrong type.
    ValueError
        For a ``path`` not ending in ".c" (or whose file name holds a
        quote, backslash or newline), a ``name`` that is not a C
        identifier or is a keyword, a ``dtype`` other than float32/float64,
        or parameters holding NaN or infinity.
    FileNotFoundError
        When the folder of ``path`` does not exist.

    Notes
    -----
    Both files are written to temporary files, and renamed over ``path``
    and the header only when both are complete; on any error nothing is
    written.
    """
    source = check_path("path", path)
    if source.suffix != ".c":
        raise ValueError(f"path must name the .c file to write (the header goes beside it as .h), got {str(source)!r}")
    header = source.with_suffix(".h")
    if re.search(r'["\\\n\r]', header.name):
        raise ValueError(f"path's file name cannot be #included (it holds a quote, backslash or newline): "
                         f"{source.name!r}")
    name = check_c_name(name)
    dt = check_dtype(model.dtype if dtype is None else dtype)
    folder = source.resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {source}: the folder {folder} does not exist")
    net = _describe(model, "float" if dt == np.float32 else "double")
    htext = _header_text(net, name, header.name, source.name)
    ctext = _source_text(net, name, header.name)
    atomic_write({header: _writer(htext), source: _writer(ctext)})
    return header, source


def _writer(text: str) -> Callable[[Any], object]:
    data = text.encode("utf-8")  # ASCII but for a file name (in #include and comments)
    return lambda f: f.write(data)


def check_c_name(name: Any) -> str:
    """``name`` if it can prefix the generated C names.

    Parameters
    ----------
    name : str
        The candidate.

    Returns
    -------
    str
        ``name``.

    Raises
    ------
    TypeError
        For a non-string.
    ValueError
        For a string that is not an ASCII C identifier starting with a
        letter, or is a C or C++ keyword.
    """
    text: str = check_instance("name", name, str, "a str (a C identifier)")
    if not _IDENTIFIER.match(text):
        why = ("identifiers starting with an underscore are reserved" if text.startswith("_")
               else "use ASCII letters, digits and underscores, starting with a letter")
        raise ValueError(f"name must be a C identifier, got {text!r} ({why})")
    if text in C_KEYWORDS:
        raise ValueError(f"name must not be a C or C++ keyword, got {text!r}")
    return text


# ---- the model, as the C code computes it ---------------------------------------------------

def _describe(model: Any, ctype: str) -> _Net:
    """The model's layers and output kind, its parameters converted to the C type."""
    np_type = np.float32 if ctype == "float" else np.float64
    layers = []
    for i, layer in enumerate(model.layers):
        w = np.ascontiguousarray(layer.weight, dtype=np_type)
        b = None
        if layer.bias_mode != "none":
            b = np.broadcast_to(np.asarray(layer.bias, dtype=np_type).reshape(-1), (layer.out_features,)).copy()
        for what, arr in (("weight", w), ("bias", b)):
            if arr is not None and not np.all(np.isfinite(arr)):
                raise ValueError(f"layer {i}'s {what} contains NaN or infinity (or overflows {ctype})")
        layers.append(_Layer(w, b, layer.activation, float(layer.slope), _layer_text(layer)))
    out = layers[-1].activation
    prob = getattr(model, "probability_activation", None)
    if out in ("softmax", "sigmoid"):
        kind = out
    elif out == "identity" and prob in ("softmax", "sigmoid"):
        kind = f"logits_{prob}"
    elif out in ("step", "sign"):
        kind = "labels"
    else:
        kind = "regression"
    loss = getattr(model, "loss", None)
    return _Net(tuple(layers), ctype, kind, None if loss is None else str(loss.name))


def _layer_text(layer: Any) -> str:
    act = layer.activation + (f" (slope {layer.slope!r})" if layer.activation == "leaky_relu" else "")
    bias = {"none": "no bias", "per_neuron": "one bias per neuron",
            "shared": "one shared bias (written out per neuron)"}.get(layer.bias_mode, layer.bias_mode)
    return f"Dense({layer.in_features} -> {layer.out_features}), {act}, {bias}"


# ---- numbers ----------------------------------------------------------------------------

def c_literals(values: np.ndarray) -> list[str]:
    """C literals that read back as exactly ``values`` (float32 or float64).

    Parameters
    ----------
    values : numpy.ndarray
        Finite float32 (printed with the suffix ``f``) or float64 numbers.

    Returns
    -------
    list of str
        The shortest decimal of each that rounds back to the same number,
        always with a point or an exponent (``1.0f``, ``1e-05``).
    """
    flat = np.asarray(values).reshape(-1)
    if flat.dtype == np.float32:
        return [str(v) + "f" for v in flat]  # str, not format: the shortest float32 digits
    return [repr(v) for v in flat.astype(np.float64).tolist()]


def _table(ctype: str, cname: str, values: np.ndarray, shape: str) -> list[str]:
    """A ``static const`` array definition, wrapped at about _LINE characters."""
    lines = [f"static const {ctype} {cname}[{shape}] = {{"]
    row = "   "
    for lit in c_literals(values):
        if len(row) + len(lit) + 2 > _LINE:
            lines.append(row)
            row = "   "
        row += f" {lit},"
    lines.append(row)
    lines.append("};")
    return lines


def _lit(net: _Net, value: float) -> str:
    return c_literals(np.array([value], dtype=np.float32 if net.ctype == "float" else np.float64))[0]


def _activation(net: _Net, act: str, slope: float) -> str | None:
    """The C expression of ``act`` applied to ``v`` (None for the identity; softmax is a function)."""
    f, zero, one = net.suffix, _lit(net, 0.0), _lit(net, 1.0)
    exprs = {
        "identity": None,
        "sigmoid": f"{one} / ({one} + exp{f}(-v))",
        "tanh": f"tanh{f}(v)",
        "relu": f"v < {zero} ? {zero} : v",
        "leaky_relu": f"v < {zero} ? {_lit(net, slope)} * v : v",
        "softplus": f"(v > {zero} ? v : {zero}) + log1p{f}(exp{f}(-fabs{f}(v)))",
        "step": f"v >= {zero} ? {one} : {zero}",
        "sign": f"v > {zero} ? {one} : (v < {zero} ? {_lit(net, -1.0)} : {zero})",
    }
    if act not in exprs:
        raise ValueError(f"export_c cannot write the activation {act!r}")
    return exprs[act]


# ---- the header -------------------------------------------------------------------------

def _workspace_values(net: _Net) -> int:
    """Values of the largest workspace a function keeps (predict adds one output row)."""
    return net.work_size + (net.n_outputs if net.classifier else 0)


def _output_text(net: _Net, name: str) -> str:
    k = net.n_outputs
    return {
        "softmax": f"class probabilities (softmax); {name}_predict gives the most probable class.",
        "sigmoid": (f"{k} independent probabilities (sigmoid); {name}_predict gives p >= 0.5 for each."
                    if k > 1 else f"a probability (sigmoid); {name}_predict gives p >= 0.5, "
                    f"{name}_predict_proba the pair (1 - p, p)."),
        "logits_softmax": (f"logits (identity) trained with {net.loss}: {name}_predict_proba applies "
                           f"softmax, {name}_predict gives the most probable class."),
        "logits_sigmoid": (f"logits (identity) trained with {net.loss}: {name}_predict_proba applies "
                           f"sigmoid{' (giving the pair (1 - p, p))' if k == 1 else ''}, {name}_predict "
                           "gives logit >= 0 (p >= 0.5) for each output."),
        "labels": (f"{net.layers[-1].activation} units: {name}_predict gives "
                   + ("the index of the largest." if k > 1 else "the unit's value as an int.")),
        "regression": (f"{net.layers[-1].activation} outputs (a regressor): {name}_predict gives them "
                       f"(as {name}_forward does); there are no labels or probabilities."),
    }[net.kind]


def _header_comment(net: _Net, name: str, header: str, source: str) -> list[str]:
    """The header's comment block: origin, architecture, conventions, return codes, memory, build."""
    widths = [net.n_inputs] + [int(layer.weight.shape[0]) for layer in net.layers]
    n_params = sum(layer.weight.size + (0 if layer.bias is None else layer.bias.size) for layer in net.layers)
    up = name.upper()
    size = np.dtype(np.float32 if net.ctype == "float" else np.float64).itemsize
    trained = f", trained with {net.loss}" if net.loss else ""
    acc = (f"  Dot products are summed in double; -D{up}_ACC=float sums them in float (for an FPU "
           "without double: faster there, less exact).") if net.ctype == "float" else ""
    paragraphs: list[str | list[str]] = [
        (f"{header}: the network {name}, exported by fastnn {__version__} (Sequential.export_c) as "
        "dependency-free C99 (libm only) that also compiles as C++.  Generated: do not edit."),
        [(f"Architecture: {' -> '.join(map(str, widths))}, computed in {net.ctype}, {n_params} parameters"
         f"{trained}:"), *(f"  layer {i}: {layer.description}" for i, layer in enumerate(net.layers))],
        f"Output: {_output_text(net, name)}",
        (f"x holds n samples of {up}_N_INPUTS values, one sample after another (a row-major "
        f"(n, {net.n_inputs}) array); the results are row-major likewise and must not overlap x."),
        (f"Return codes: {up}_OK (0) done; {up}_ERR_NULL (-1) a pointer argument is NULL; {up}_ERR_COUNT "
        "(-2) n < 0.  After an error nothing has been written; n == 0 writes nothing and returns 0.  "
        "Inputs are not checked for NaN or infinity."),
        ("Memory: no dynamic allocation and no global state written (the functions are reentrant).  A call "
        f"keeps {up}_WORKSPACE_BYTES ({_workspace_values(net) * size}) bytes of workspace on the stack; "
        f"compile {source} with -D{up}_STATIC_WORKSPACE to keep it in static buffers instead (the functions "
        f"are then not reentrant).{acc}"),
        f"Build: cc -O2 -std=c99 -c {source}   and link with -lm.",
    ]
    lines: list[str] = []
    for para in paragraphs:
        if isinstance(para, list):
            lines += para
        else:  # no break inside "n == 0", "p >= 0.5", "(1 - p, p)"
            glued = re.sub(r" ([-<>=]=?) ", "\xa0\\1\xa0", para)
            lines += [line.replace("\xa0", " ") for line in textwrap.wrap(glued, 88, break_on_hyphens=False)]
        lines.append("")
    return ["/* " + lines[0]] + [(" * " + line).rstrip() for line in lines[1:-1]] + [" */"]


def _prototypes(net: _Net, name: str) -> list[str]:
    t, up = net.ctype, name.upper()
    lines = [f"/* The network's output: n * {up}_N_OUTPUTS values (fastnn's model.forward). */",
             f"int {name}_forward(const {t} *x, int n, {t} *out);", ""]
    if net.probabilities:
        lines += [f"/* Class probabilities: n * {up}_N_CLASSES values (model.predict_proba). */",
                  f"int {name}_predict_proba(const {t} *x, int n, {t} *proba);", ""]
    if net.classifier:
        lines += [f"/* Class labels: n * {up}_N_LABELS ints (model.predict). */",
                  f"int {name}_predict(const {t} *x, int n, int *labels);", ""]
    else:
        lines += [f"/* The outputs of the regressor: n * {up}_N_OUTPUTS values (model.predict). */",
                  f"int {name}_predict(const {t} *x, int n, {t} *out);", ""]
    return lines


def _header_text(net: _Net, name: str, header: str, source: str) -> str:
    up = name.upper()
    size = np.dtype(np.float32 if net.ctype == "float" else np.float64).itemsize
    macros: list[tuple[str, int | str, str]] = [("N_INPUTS", net.n_inputs, "values per sample"), ("N_OUTPUTS", net.n_outputs, "outputs per sample")]
    if net.probabilities:
        macros.append(("N_CLASSES", net.n_classes, "probabilities per sample"))
    if net.classifier:
        macros.append(("N_LABELS", net.n_labels, "labels per sample"))
    macros += [("WORKSPACE_BYTES", _workspace_values(net) * size, "stack bytes a call keeps"),
               ("OK", 0, "done"), ("ERR_NULL", "(-1)", "a pointer argument is NULL"),
               ("ERR_COUNT", "(-2)", "n < 0")]
    lines = _header_comment(net, name, header, source)
    lines += ["", f"#ifndef {up}_H", f"#define {up}_H", ""]
    lines += [f"#define {up}_{key} {value} /* {what} */" for key, value, what in macros]
    lines += ["", "#ifdef __cplusplus", 'extern "C" {', "#endif", ""]
    lines += _prototypes(net, name)
    lines += ["#ifdef __cplusplus", "}", "#endif", "", f"#endif /* {up}_H */", ""]
    return "\n".join(lines)


# ---- the source -------------------------------------------------------------------------

def _source_text(net: _Net, name: str, header: str) -> str:
    up = name.upper()
    lines = [f"/* The network {name}, exported by fastnn {__version__}: its architecture and API are",
             f" * described in {header}.  Generated: do not edit. */", "",
             f'#include "{header}"', "", "#include <math.h>", "#include <stddef.h>", ""]
    if _workspace_values(net):
        lines += [f"#ifdef {up}_STATIC_WORKSPACE", f"#define {up}_STORAGE static", "#else",
                  f"#define {up}_STORAGE", "#endif", ""]
    for i, layer in enumerate(net.layers):
        out, n_in = layer.weight.shape
        lines.append(f"/* layer {i}: {layer.description} */")
        lines += _table(net.ctype, f"{name}_w{i}", layer.weight, f"{out} * {n_in}")
        if layer.bias is not None:
            lines += _table(net.ctype, f"{name}_b{i}", layer.bias, str(out))
        lines.append("")
    lines += _helpers(net, name)
    lines += _row(net, name)
    lines += _api(net, name)
    return "\n".join(lines)


def _pairwise(terms: list[str]) -> str:
    """``terms`` summed pairwise: ((s0 + s1) + (s2 + s3)) + ..."""
    while len(terms) > 1:
        pairs = [f"{a} + {b}" for a, b in zip(terms[::2], terms[1::2])]
        terms = [f"({p})" if len(terms) > 2 else p for p in pairs] + terms[len(pairs) * 2:]
    return terms[0]


def _helpers(net: _Net, name: str) -> list[str]:
    t, f, up = net.ctype, net.suffix, name.upper()
    lines = []
    if t == "float":
        lines += ["/* Dot products are summed in double (the products are exact there) and rounded once;",
                  f" * compile with -D{up}_ACC=float for an FPU without double (faster there, less exact). */",
                  f"#ifndef {up}_ACC", f"#define {up}_ACC double", "#endif", ""]
    acc = f"{up}_ACC" if t == "float" else t
    lanes = ", ".join(f"s{k} = 0" for k in range(_LANES))
    lines += ["/* z = W x + b for one sample (W: n_out rows of n_in; b may be NULL).  Eight partial sums",
              " * sk over the columns i = k mod 8, so that the adds need not wait for each other. */",
              f"static void {name}_dense(const {t} *w, const {t} *b, int n_in, int n_out, const {t} *x, {t} *z)",
              "{", "    int i, j;", "    for (j = 0; j < n_out; ++j) {",
              f"        const {t} *wj = w + (size_t)j * (size_t)n_in;",
              f"        {acc} s, {lanes};",
              f"        for (i = 0; i + {_LANES - 1} < n_in; i += {_LANES}) {{",
              *(f"            s{k} += ({acc})wj[i{f' + {k}' if k else ''}] * ({acc})x[i{f' + {k}' if k else ''}];"
                for k in range(_LANES)),
              "        }",
              "        for (; i < n_in; ++i)", f"            s0 += ({acc})wj[i] * ({acc})x[i];",
              f"        s = {_pairwise([f's{k}' for k in range(_LANES)])};",
              f"        z[j] = ({t})(b != NULL ? s + ({acc})b[j] : s);", "    }", "}", ""]
    if net.kind in ("softmax", "logits_softmax"):
        lines += ["/* Softmax of k values in place, less their maximum first: nothing overflows. */",
                  f"static void {name}_softmax({t} *z, int k)", "{", f"    {t} mx = z[0], s = {_lit(net, 0.0)};",
                  "    int j;", "    for (j = 1; j < k; ++j)", "        if (z[j] > mx)", "            mx = z[j];",
                  "    for (j = 0; j < k; ++j) {", f"        z[j] = exp{f}(z[j] - mx);", "        s += z[j];",
                  "    }", "    for (j = 0; j < k; ++j)", "        z[j] /= s;", "}", ""]
    return lines


def _row(net: _Net, name: str) -> list[str]:
    """The forward pass of one sample: hidden rows alternate between work's two halves."""
    t, last = net.ctype, len(net.layers) - 1
    args = f"const {t} *x, {t} *out" + (f", {t} *work" if last else "")
    body = [f"    {t} *h{k} = work{f' + {net.hidden_width}' if k else ''};" for k in range(min(2, last))]
    loops = False
    for i, layer in enumerate(net.layers):
        n_out, n_in = layer.weight.shape
        src = "x" if i == 0 else f"h{(i - 1) % 2}"
        dst = "out" if i == last else f"h{i % 2}"
        bias = "NULL" if layer.bias is None else f"{name}_b{i}"
        body.append(f"    {name}_dense({name}_w{i}, {bias}, {n_in}, {n_out}, {src}, {dst});")
        if layer.activation == "softmax":
            body.append(f"    {name}_softmax({dst}, {n_out});")
            continue
        expr = _activation(net, layer.activation, layer.slope)
        if expr is not None:
            loops = True
            body += [f"    for (j = 0; j < {n_out}; ++j) {{", f"        const {t} v = {dst}[j];",
                     f"        {dst}[j] = {expr};", "    }"]
    head = ["/* One sample: the network's output (fastnn's forward) in out. */",
            f"static void {name}_row({args})", "{"]
    return head + body[:min(2, last)] + (["    int j;"] if loops else []) + body[min(2, last):] + ["}", ""]


def _function(net: _Net, name: str, signature: str, out: str, buffers: Sequence[str], loop: Sequence[str],
              extra_vars: str = "") -> list[str]:
    """A public function: workspace, argument checks, then ``loop`` over the samples (r)."""
    up, t = name.upper(), net.ctype
    lines = [f"int {name}_{signature}", "{"]
    lines += [f"    {up}_STORAGE {t} {buf};" for buf in buffers]
    lines += [f"    int r{extra_vars};", f"    if (x == NULL || {out} == NULL)", f"        return {up}_ERR_NULL;",
              "    if (n < 0)", f"        return {up}_ERR_COUNT;", "    for (r = 0; r < n; ++r) {"]
    lines += [f"        {line}" for line in loop]
    return lines + ["    }", f"    return {up}_OK;", "}", ""]


def _call_row(net: _Net, name: str, dst: str) -> str:
    work = ", work" if len(net.layers) > 1 else ""
    return f"{name}_row(x + (size_t)r * {name.upper()}_N_INPUTS, {dst}{work});"


def _api(net: _Net, name: str) -> list[str]:
    t, k, up = net.ctype, net.n_outputs, name.upper()
    work = [f"work[{net.work_size}]"] if len(net.layers) > 1 else []
    lines = _function(net, name, f"forward(const {t} *x, int n, {t} *out)", "out", work,
                      [_call_row(net, name, f"out + (size_t)r * {up}_N_OUTPUTS")])
    if net.probabilities:
        loop, extra = _proba_loop(net, name)
        lines += _function(net, name, f"predict_proba(const {t} *x, int n, {t} *proba)", "proba", work,
                           loop, extra)
    if not net.classifier:
        return lines + [f"int {name}_predict(const {t} *x, int n, {t} *out)", "{",
                        f"    return {name}_forward(x, n, out);", "}", ""]
    loop = [_call_row(net, name, "y")]
    if net.n_labels > 1:  # several sigmoid outputs: one label each
        cut = _lit(net, 0.0 if net.kind == "logits_sigmoid" else 0.5)
        loop += [f"for (j = 0; j < {k}; ++j)", f"    labels[(size_t)r * {k} + j] = y[j] >= {cut} ? 1 : 0;"]
    elif net.kind.endswith("sigmoid"):
        loop.append(f"labels[r] = y[0] >= {_lit(net, 0.0 if net.kind == 'logits_sigmoid' else 0.5)} ? 1 : 0;")
    elif net.kind == "labels" and k == 1:
        loop.append("labels[r] = (int)y[0];")
    else:  # the first largest, as numpy.argmax
        loop += ["best = 0;", f"for (j = 1; j < {k}; ++j)", "    if (y[j] > y[best])", "        best = j;",
                 "labels[r] = best;"]
    extra = ", j, best" if "best = 0;" in loop else ", j" if net.n_labels > 1 else ""
    return lines + _function(net, name, f"predict(const {t} *x, int n, int *labels)", "labels",
                             work + [f"y[{k}]"], loop, extra)


def _proba_loop(net: _Net, name: str) -> tuple[list[str], str]:
    """(loop, extra variables) of predict_proba."""
    k, one, f = net.n_outputs, _lit(net, 1.0), net.suffix
    pair = k == 1 and net.kind.endswith("sigmoid")  # one sigmoid output: the columns (1 - p, p)
    loop = [f"{net.ctype} *p = proba + (size_t)r * {net.n_classes};", _call_row(net, name, "p + 1" if pair else "p")]
    extra = ""
    if net.kind == "logits_softmax":
        loop.append(f"{name}_softmax(p, {k});")
    elif net.kind == "logits_sigmoid" and pair:
        loop.append(f"p[1] = {one} / ({one} + exp{f}(-p[1]));")
    elif net.kind == "logits_sigmoid":
        loop += [f"for (j = 0; j < {k}; ++j)", f"    p[j] = {one} / ({one} + exp{f}(-p[j]));"]
        extra = ", j"
    if pair:
        loop.append(f"p[0] = {one} - p[1];")
    return loop, extra
