"""Sequential.export_c: the generated C, compiled and run, computes what fastnn computes.

Each network is exported, compiled strictly (C99 with -Wall -Wextra
-Werror -pedantic) together with a small driver written here, and run on
1,000 MNIST test images (the full files when present, else the shipped
sample's); its labels must equal fastnn's and its probabilities be within
1e-6 of them.  The notes' 2-2-2 network, exported in double, reproduces the
notes' printed forward pass.  Compiled tests are skipped, saying why, where
no C compiler is found; the argument checks run everywhere.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from mnist_files import FULL_MNIST

import fastnn
from fastnn.course.explain import model_from_example
from fastnn.io.atomic import atomic_write, atomic_write_text
from fastnn.io.c_export import C_KEYWORDS, c_literals, check_c_name


def _compiler() -> str | None:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


CC = _compiler()
CLANG = shutil.which("clang")
CXX = shutil.which("g++") or shutil.which("clang++") or shutil.which("c++")
NO_CC = "no C compiler found (cc, gcc or clang)"
needs_cc = pytest.mark.skipif(CC is None, reason=NO_CC)
needs_cxx = pytest.mark.skipif(CC is None or CXX is None, reason="no C and C++ compilers found (cc and g++/clang++)")
C99 = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
CXX11 = ["-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic"]
# and what careful embedded builds add (the generated code, not the drivers, is held to them)
STRICTER = ["-Wconversion", "-Wdouble-promotion", "-Wshadow", "-Wcast-qual"]

# Reads n samples from a file, writes forward, then predict_proba (classifiers
# with probabilities), then predict, to another; prints the return codes.
# Valid C99 and C++ (it includes the header, declared extern "C" there).
DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "@NAME@.h"

typedef @T@ real;

static int put(FILE *f, const void *p, size_t size, size_t count)
{
    return fwrite(p, size, count, f) == count ? 0 : 1;
}

int main(int argc, char **argv)
{
    int n, bad = 0;
    size_t nx, ny;
    real *x, *y;
    FILE *f;
    if (argc != 4)
        return 2;
    n = atoi(argv[1]);
    nx = (size_t)n * @UP@_N_INPUTS;
    ny = (size_t)n * @UP@_N_OUTPUTS;
    x = (real *)malloc(sizeof(real) * (nx + 1));
    y = (real *)malloc(sizeof(real) * (ny + 1));
    f = fopen(argv[2], "rb");
    if (x == NULL || y == NULL || f == NULL || fread(x, sizeof(real), nx, f) != nx)
        return 3;
    fclose(f);
    f = fopen(argv[3], "wb");
    if (f == NULL)
        return 4;
    printf("%d", @NAME@_forward(x, n, y));
    bad |= put(f, y, sizeof(real), ny);
#ifdef @UP@_N_CLASSES
    {
        real *p = (real *)malloc(sizeof(real) * ((size_t)n * @UP@_N_CLASSES + 1));
        printf(" %d", @NAME@_predict_proba(x, n, p));
        bad |= put(f, p, sizeof(real), (size_t)n * @UP@_N_CLASSES);
        free(p);
    }
#endif
#ifdef @UP@_N_LABELS
    {
        int *labels = (int *)malloc(sizeof(int) * ((size_t)n * @UP@_N_LABELS + 1));
        printf(" %d", @NAME@_predict(x, n, labels));
        bad |= put(f, labels, sizeof(int), (size_t)n * @UP@_N_LABELS);
        free(labels);
    }
#else
    printf(" %d", @NAME@_predict(x, n, y));
    bad |= put(f, y, sizeof(real), ny);
#endif
    printf("\n");
    free(x);
    free(y);
    return fclose(f) != 0 || bad ? 5 : 0;
}
"""

# Every function with a NULL pointer or n < 0 must return the documented code and write nothing.
ERRORS_DRIVER = r"""
#include <stdio.h>
#include "@NAME@.h"

typedef @T@ real;

static real x[@UP@_N_INPUTS], y[@UP@_N_OUTPUTS + 2];

static void report(const char *what, int rc)
{
    printf("%s %d %s\n", what, rc, y[0] == (real)12345 ? "untouched" : "written");
    y[0] = (real)12345;
}

int main(void)
{
    y[0] = (real)12345;
    report("forward-null-x", @NAME@_forward(NULL, 1, y));
    report("forward-null-out", @NAME@_forward(x, 1, NULL));
    report("forward-negative-n", @NAME@_forward(x, -1, y));
    report("forward-zero-n", @NAME@_forward(x, 0, y));
#ifdef @UP@_N_CLASSES
    report("proba-null-x", @NAME@_predict_proba(NULL, 1, y));
    report("proba-null-out", @NAME@_predict_proba(x, 1, NULL));
    report("proba-negative-n", @NAME@_predict_proba(x, -1, y));
#endif
#ifdef @UP@_N_LABELS
    {
        int labels[@UP@_N_LABELS] = {12345};
        printf("predict-null-x %d\n", @NAME@_predict(NULL, 1, labels));
        printf("predict-null-out %d\n", @NAME@_predict(x, 1, NULL));
        printf("predict-negative-n %d %s\n", @NAME@_predict(x, -1, labels),
               labels[0] == 12345 ? "untouched" : "written");
    }
#endif
    printf("codes %d %d %d\n", @UP@_OK, @UP@_ERR_NULL, @UP@_ERR_COUNT);
    return 0;
}
"""


def _driver(template: str, name: str, ctype: str) -> str:
    return template.replace("@NAME@", name).replace("@UP@", name.upper()).replace("@T@", ctype)


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600, **kwargs)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} failed ({res.returncode}):\n{res.stdout}{res.stderr}"
    return res


class Built:
    """An exported model compiled with a driver: run it on inputs."""

    def __init__(self, model, folder: Path, name: str = "net", dtype=None, opt: str = "-O1"):
        folder.mkdir(parents=True, exist_ok=True)
        self.model, self.name = model, name
        self.header, self.source = model.export_c(folder / f"{name}.c", name=name, dtype=dtype)
        self.dtype = np.dtype(np.float32 if "const float *x" in self.header.read_text() else np.float64)
        ctype = "float" if self.dtype == np.float32 else "double"
        driver = folder / "driver.c"
        driver.write_text(_driver(DRIVER, name, ctype))
        self.exe = folder / "driver"
        _run([CC, *C99, opt, "-o", str(self.exe), str(driver), str(self.source), "-lm"])

    def run(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """forward, proba (if any) and predict of the compiled code on X."""
        X = np.ascontiguousarray(X, dtype=self.dtype)
        folder = self.exe.parent
        X.tofile(folder / "x.bin")
        res = _run([str(self.exe), str(len(X)), str(folder / "x.bin"), str(folder / "y.bin")])
        codes = [int(c) for c in res.stdout.split()]
        assert codes == [0] * len(codes), res.stdout
        data = (folder / "y.bin").read_bytes()
        m, n = self.model, len(X)
        out, pos = {}, 0
        parts = [("forward", self.dtype, m.n_outputs)]
        if m.probability_activation is not None:
            parts.append(("proba", self.dtype, 2 if m.n_outputs == 1 and "sigmoid" in
                          m.probability_activation else m.n_outputs))
        labels = m.is_classifier
        parts.append(("predict", np.dtype(np.intc) if labels else self.dtype, None))
        for key, dt, width in parts:
            size = len(data) - pos if width is None else n * width * dt.itemsize
            out[key] = np.frombuffer(data[pos:pos + size], dtype=dt).reshape(n, -1)
            pos += size
        assert pos == len(data)
        return out


def _mnist_test_images(n: int = 1000) -> np.ndarray:
    if FULL_MNIST is not None:
        d = fastnn.datasets.load_mnist(FULL_MNIST, download=False, flatten=True, verbose=False)
    else:
        d = fastnn.datasets.load_mnist_sample(flatten=True)
    return d.X_test[:n].astype(np.float32) / 255


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return _mnist_test_images()


def _check_matches(model, result: dict[str, np.ndarray], X: np.ndarray, atol: float = 1e-6) -> None:
    """The compiled code's results against fastnn's own."""
    np.testing.assert_allclose(result["forward"], model.forward(X).reshape(len(X), -1), rtol=0, atol=atol)
    if model.probability_activation is not None:
        np.testing.assert_allclose(result["proba"], model.predict_proba(X), rtol=0, atol=atol)
    expected = model.predict(X).reshape(len(X), -1)
    if model.is_classifier:
        np.testing.assert_array_equal(result["predict"], expected)
    else:
        np.testing.assert_allclose(result["predict"], expected, rtol=0, atol=atol)


def _mnist_network(seed: int = 0) -> fastnn.Sequential:
    """The notes' MNIST network, 784-64-128-512-10 (sigmoid hidden, softmax), briefly trained."""
    model = fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 128), fastnn.Dense(128, 512),
                               fastnn.Dense(512, 10, "softmax")], seed=seed)
    d = fastnn.datasets.load_mnist_sample(flatten=True)
    X, y = d.X_train.astype(np.float32) / 255, d.y_train
    fastnn.Trainer(model, "cross_entropy", fastnn.Adam(lr=0.003)).fit(X, y, epochs=1, seed=seed, verbose=0)
    return model


@needs_cc
def test_the_notes_mnist_network_gives_fastnns_labels_and_probabilities(tmp_path, images):
    model = _mnist_network()
    built = Built(model, tmp_path, name="mnist", opt="-O2")
    result = built.run(images)
    # The generated C adds each 784-term dot product in order, fastnn's GEMM in K blocks sized by
    # the CPU's row of the kernel table: float32 sums that differ in their last bits, which after
    # four layers moved a probability by 1.01e-6 on Zen 3 (AVX2; KC = 196 for K = 784).
    _check_matches(model, result, images, atol=5e-6)
    assert result["proba"].shape == (1000, 10)
    assert result["predict"].shape == (1000, 1)
    # the network was trained: the labels mean something
    truth = (fastnn.datasets.load_mnist(FULL_MNIST, download=False, flatten=True, verbose=False) if FULL_MNIST
             else fastnn.datasets.load_mnist_sample(flatten=True)).y_test[:1000]
    assert np.mean(result["predict"][:, 0] == truth) > 0.8


def _dense(n_in: int, n_out: int, activation: str, **kwargs) -> fastnn.Dense:
    return fastnn.Dense(n_in, n_out, activation, **kwargs)


SMALL = {  # name -> (layers, loss set on the model or None)
    **{f"hidden {act}": ([_dense(784, 12, act), _dense(12, 7, act), _dense(7, 4, "softmax")], None)
       for act in ("identity", "sigmoid", "tanh", "relu", "softplus", "step", "sign")},
    "hidden leaky_relu slope 0.2": ([_dense(784, 12, "leaky_relu", slope=0.2), _dense(12, 4, "softmax")], None),
    "sigmoid output, one": ([_dense(784, 9, "tanh"), _dense(9, 1, "sigmoid")], None),
    "sigmoid outputs, three": ([_dense(784, 9, "relu"), _dense(9, 3, "sigmoid")], None),
    "identity output regressor": ([_dense(784, 9, "softplus"), _dense(9, 3, "identity")], "half_squared_error"),
    "tanh output regressor, one layer": ([_dense(784, 2, "tanh")], None),
    "logits + cross_entropy": ([_dense(784, 9, "sigmoid"), _dense(9, 5, "identity")], "cross_entropy"),
    "logits + binary_cross_entropy, one": ([_dense(784, 6, "tanh"), _dense(6, 1, "identity")],
                                           "binary_cross_entropy"),
    "logits + binary_cross_entropy, three": ([_dense(784, 6, "relu"), _dense(6, 3, "identity")],
                                             "binary_cross_entropy"),
    "step output": ([_dense(784, 5, "tanh"), _dense(5, 3, "step")], None),
    "sign output, one": ([_dense(784, 5, "sigmoid"), _dense(5, 1, "sign")], None),
    "shared and no bias": ([_dense(784, 8, "sigmoid", bias=0.25), _dense(8, 6, "relu", bias=False),
                            _dense(6, 3, "softmax", bias="shared")], None),
    "softmax, one layer": ([_dense(784, 10, "softmax")], None),
}


def _small_model(key: str, dtype: str = "float32") -> fastnn.Sequential:
    layers, loss = SMALL[key]
    model = fastnn.Sequential([fastnn.Dense.from_config(layer.config(), layer.weight, layer.bias)
                               for layer in layers], dtype=dtype, seed=sorted(SMALL).index(key))
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if layer.bias is not None:
            layer.bias = rng.normal(0, 0.5, layer.bias.shape)
    if loss is not None:
        model.loss = fastnn.nn.losses.get_loss(loss)
    return model


@needs_cc
@pytest.mark.parametrize("key", sorted(SMALL))
def test_every_activation_and_output_matches_fastnn(tmp_path, images, key):
    model = _small_model(key)
    result = Built(model, tmp_path).run(images)
    _check_matches(model, result, images)


@needs_cc
@pytest.mark.parametrize("key", ["hidden softplus", "logits + binary_cross_entropy, one", "identity output regressor"])
def test_a_float32_model_exported_as_double(tmp_path, images, key):
    model = _small_model(key)
    built = Built(model, tmp_path, dtype="float64")
    assert built.dtype == np.float64 and "const double *x" in built.header.read_text()
    _check_matches(model, built.run(images), images)
    # and a float64 model exported as float: the float32 model's numbers (its weights rounded)
    model64 = _small_model(key, dtype="float64")
    built = Built(model64, tmp_path / "f", dtype="float32")
    _check_matches(model, built.run(images), images)


# ---- the notes' 2-2-2 network, in double ----------------------------------------------------

@needs_cc
def test_the_notes_2_2_2_network_in_double_reproduces_the_notes_forward_pass(tmp_path):
    ex = fastnn.examples.get("notes004_2_2_2")
    model = model_from_example(ex)
    built = Built(model, tmp_path, name="notes", dtype="float64")
    x = np.asarray(ex.x, dtype=np.float64).reshape(1, -1)
    result = built.run(x)
    out = result["forward"][0]
    np.testing.assert_allclose(out, model.forward(x)[0], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(result["proba"], result["forward"])  # two sigmoid outputs: their probabilities
    np.testing.assert_array_equal(result["predict"], model.predict(x))
    for key, value in (("out_o1", out[0]), ("out_o2", out[1])):
        printed = ex.printed[key]
        scale = 10 ** printed.decimals
        shown = np.floor(value * scale) / scale if printed.how == "truncated" else round(value, printed.decimals)
        assert f"{shown:.{printed.decimals}f}" == printed.text, (key, value, printed)
    text = built.header.read_text()
    assert "one shared bias (written out per neuron)" in text
    assert "static const double notes_b0[2] = {\n    0.35, 0.35,\n};" in built.source.read_text()


# ---- compilers ------------------------------------------------------------------------------

def _all_activations_model() -> fastnn.Sequential:
    acts = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "step", "sign", "identity"]
    layers = [fastnn.Dense(5 if i == 0 else 4, 4, act, slope=0.1, bias=[True, 0.5, False][i % 3])
              for i, act in enumerate(acts)]
    return fastnn.Sequential([*layers, fastnn.Dense(4, 3, "softmax")], seed=0)


def _compilers() -> list:
    found = [pytest.param(CC, C99, id="cc")]
    found.append(pytest.param(CLANG, C99, id="clang", marks=pytest.mark.skipif(
        CLANG is None, reason="clang is not installed")))
    found.append(pytest.param(CXX, CXX11, id="c++", marks=pytest.mark.skipif(
        CXX is None, reason="no C++ compiler found (g++, clang++ or c++)")))
    return found


VARIANTS = {  # name -> (model, export dtype, extra flags)
    "all activations, float": (_all_activations_model, "float32", []),
    "all activations, double": (_all_activations_model, "float64", []),
    "static workspace": (_all_activations_model, "float32", ["-DNET_STATIC_WORKSPACE"]),
    "float accumulator": (_all_activations_model, "float32", ["-DNET_ACC=float"]),
    "logits + bce, one": (lambda: _small_model("logits + binary_cross_entropy, one"), None, []),
    "logits + ce, static": (lambda: _small_model("logits + cross_entropy"), None, ["-DNET_STATIC_WORKSPACE"]),
    "one layer regressor, no workspace": (lambda: _small_model("tanh output regressor, one layer"), None, []),
    "step output": (lambda: _small_model("step output"), "float64", []),
}


@needs_cc
@pytest.mark.parametrize("compiler, flags", _compilers())
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_generated_code_compiles_cleanly(tmp_path, compiler, flags, variant):
    make, dtype, extra = VARIANTS[variant]
    _, source = make().export_c(tmp_path / "net.c", name="net", dtype=dtype)
    _run([compiler, *flags, *STRICTER, *extra, "-O2", "-c", str(source), "-o", str(tmp_path / "net.o")])


@needs_cxx
def test_c_and_cxx_objects_link_both_ways(tmp_path, images):
    """The header declares extern "C": a C++ caller links with the C object, a C caller with the C++ one."""
    model = _all_activations_model()
    rng = np.random.default_rng(0)
    X = rng.normal(0, 2, (50, 5))
    _, source = model.export_c(tmp_path / "net.c", name="net")
    (tmp_path / "driver.c").write_text(_driver(DRIVER, "net", "float"))
    results = []
    for model_lang, driver_lang in (("c", "c++"), ("c++", "c")):
        objs = []
        for src, lang in ((source, model_lang), (tmp_path / "driver.c", driver_lang)):
            obj = tmp_path / f"{src.stem}-{lang}.o"
            _run([CC if lang == "c" else CXX, *(C99 if lang == "c" else CXX11), "-O1", "-c", str(src), "-o", str(obj)])
            objs.append(str(obj))
        exe = tmp_path / f"driver-{model_lang}"
        _run([CXX, "-o", str(exe), *objs, "-lm"])
        X.astype(np.float32).tofile(tmp_path / "x.bin")
        _run([str(exe), "50", str(tmp_path / "x.bin"), str(tmp_path / "y.bin")])
        results.append((tmp_path / "y.bin").read_bytes())
    assert results[0] == results[1]
    assert np.array_equal(np.frombuffer(results[0][-50 * 4:], dtype=np.intc), model.predict(X))


# ---- bad arguments, in Python and in C ------------------------------------------------------

@pytest.mark.parametrize("name", ["9lives", "my-model", "int", "class", "_model", "", "naïve", "a b"])
def test_a_name_that_is_not_a_c_identifier_is_refused_and_nothing_written(tmp_path, name):
    model = _small_model("softmax, one layer")
    with pytest.raises(ValueError, match="name must") as err:
        model.export_c(tmp_path / "m.c", name=name)
    assert repr(name) in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_keywords_include_cs_and_cxxs():
    assert {"int", "restrict", "inline", "class", "namespace", "bool"} <= C_KEYWORDS
    assert check_c_name("fastnn_model") == "fastnn_model"
    with pytest.raises(TypeError, match="name must be a str"):
        check_c_name(3)


def test_a_missing_folder_is_an_error_naming_it_and_nothing_is_written(tmp_path):
    model = _small_model("softmax, one layer")
    with pytest.raises(FileNotFoundError, match="folder .*nope.* does not exist"):
        model.export_c(tmp_path / "nope" / "m.c")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path, error, match", [
    ("m.h", ValueError, "path must name the .c file"), ("m", ValueError, "path must name the .c file"),
    (3, TypeError, "path must be a path"), ("", ValueError, "path must be a non-empty path"),
    ('a"b.c', ValueError, "cannot be #included")])
def test_a_bad_path_is_refused(tmp_path, monkeypatch, path, error, match):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=match):
        _small_model("softmax, one layer").export_c(path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dtype, error", [("float16", ValueError), ("int32", ValueError), ("banana", TypeError),
                                          (3.5, TypeError)])
def test_a_bad_dtype_is_refused(tmp_path, dtype, error):
    with pytest.raises(error, match="dtype must be float32 or float64"):
        _small_model("softmax, one layer").export_c(tmp_path / "m.c", dtype=dtype)
    assert list(tmp_path.iterdir()) == []


def test_nan_weights_are_refused_and_existing_files_kept(tmp_path):
    (tmp_path / "m.c").write_text("old source")
    (tmp_path / "m.h").write_text("old header")
    model = _small_model("softmax, one layer")
    model.layers[0].weight[2, 3] = np.nan
    with pytest.raises(ValueError, match="layer 0's weight contains NaN"):
        model.export_c(tmp_path / "m.c")
    with pytest.raises(ValueError, match="name must"):
        _small_model("softmax, one layer").export_c(tmp_path / "m.c", name="int")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.c", "m.h"]
    assert (tmp_path / "m.c").read_text() == "old source" and (tmp_path / "m.h").read_text() == "old header"


def test_atomic_write_replaces_all_files_or_none(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    b.write_text("old b")

    def fail(f):
        f.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write({a: lambda f: f.write(b"new a"), b: fail})
    assert a.read_text() == "old a" and b.read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]  # no temporary file left
    atomic_write_text(b, "new b\n")
    assert b.read_text() == "new b\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(b.stat().st_mode) == 0o666 & ~umask  # as open() would create it (mkstemp: 0o600)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_text(tmp_path / "no" / "c.txt", "x")


@needs_cc
@pytest.mark.parametrize("key", ["logits + cross_entropy", "sigmoid output, one", "identity output regressor",
                                 "tanh output regressor, one layer", "step output"])
def test_null_pointers_and_negative_counts_return_the_documented_codes(tmp_path, key):
    model = _small_model(key)
    _, source = model.export_c(tmp_path / "net.c", name="net", dtype="float64")
    (tmp_path / "errors.c").write_text(_driver(ERRORS_DRIVER, "net", "double"))
    _run([CC, *C99, "-o", str(tmp_path / "errors"), str(tmp_path / "errors.c"), str(source), "-lm"])
    lines = dict(line.split(" ", 1) for line in _run([str(tmp_path / "errors")]).stdout.splitlines())
    assert lines.pop("codes") == "0 -1 -2"
    assert lines.pop("forward-zero-n") == "0 untouched"
    expected = {"null-x": "-1", "null-out": "-1", "negative-n": "-2"}
    functions = ["forward"] + (["proba"] if model.probability_activation else []) + \
        (["predict"] if model.is_classifier else [])
    assert sorted(lines) == sorted(f"{f}-{case}" for f in functions for case in expected)
    for what, got in lines.items():
        code = expected[what.split("-", 1)[1]]
        assert got in (f"{code} untouched", code), (what, got)


# ---- what the files say ---------------------------------------------------------------------

def test_the_header_states_the_version_the_architecture_and_the_api(tmp_path):
    model = _mnist_network()
    header, source = model.export_c(tmp_path / "fastnn_model.c")
    text = header.read_text()
    assert header == tmp_path / "fastnn_model.h" and source == tmp_path / "fastnn_model.c"
    assert f"exported by fastnn {fastnn.__version__}" in text
    assert "Architecture: 784 -> 64 -> 128 -> 512 -> 10, computed in float, 129738 parameters, " \
           "trained with cross_entropy" in text
    for i, (n_in, n_out, act) in enumerate([(784, 64, "sigmoid"), (64, 128, "sigmoid"), (128, 512, "sigmoid"),
                                            (512, 10, "softmax")]):
        assert f"layer {i}: Dense({n_in} -> {n_out}), {act}, one bias per neuron" in text
    for line in ["int fastnn_model_forward(const float *x, int n, float *out);",
                 "int fastnn_model_predict_proba(const float *x, int n, float *proba);",
                 "int fastnn_model_predict(const float *x, int n, int *labels);",
                 "#define FASTNN_MODEL_N_INPUTS 784", "#define FASTNN_MODEL_N_CLASSES 10",
                 "#define FASTNN_MODEL_WORKSPACE_BYTES 4136", "#define FASTNN_MODEL_ERR_NULL (-1)",
                 "#define FASTNN_MODEL_ERR_COUNT (-2)", 'extern "C" {']:
        assert line in text, line
    assert '#include "fastnn_model.h"' in source.read_text()
    assert f"fastnn {fastnn.__version__}" in source.read_text()
    # the same model gives the same files, byte for byte (no date, nothing random)
    again = model.export_c(tmp_path / "again.c")
    assert again[1].read_text() == source.read_text().replace("fastnn_model.h", "again.h")


def test_a_regressor_has_predict_and_no_probabilities(tmp_path):
    header, _ = _small_model("identity output regressor").export_c(tmp_path / "r.c", name="reg")
    text = header.read_text()
    assert "int reg_predict(const float *x, int n, float *out);" in text
    assert "predict_proba" not in text and "N_LABELS" not in text and "N_CLASSES" not in text
    assert "a regressor" in text


# ---- numbers --------------------------------------------------------------------------------

def _awkward_numbers(dtype) -> np.ndarray:
    info = np.finfo(dtype)
    special = [0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3, 1e16, 123456789.0, info.max, -info.max, info.tiny,
               info.smallest_subnormal, -info.smallest_subnormal, info.smallest_subnormal * 3, info.eps]
    rng = np.random.default_rng(0)
    scales = 10.0 ** rng.integers(-30, 30, 2000)
    return np.concatenate([np.array(special, dtype=dtype), (rng.normal(size=2000) * scales).astype(dtype)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_literals_read_back_exactly_in_python(dtype):
    values = _awkward_numbers(dtype)
    literals = c_literals(values)
    assert all(("." in s or "e" in s) for s in literals)
    back = np.array([dtype(s[:-1] if dtype == np.float32 else s) for s in literals], dtype=dtype)
    assert np.array_equal(back.view(np.uint8), values.view(np.uint8))


@needs_cc
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_literals_read_back_exactly_in_c(tmp_path, dtype):
    values = _awkward_numbers(dtype)
    ctype = "float" if dtype == np.float32 else "double"
    program = (f"#include <stdio.h>\nstatic const {ctype} v[] = {{{', '.join(c_literals(values))}}};\n"
               "int main(void) { return fwrite(v, sizeof v, 1, stdout) == 1 ? 0 : 1; }\n")
    (tmp_path / "lit.c").write_text(program)
    _run([CC, *C99, "-o", str(tmp_path / "lit"), str(tmp_path / "lit.c")])
    out = subprocess.run([str(tmp_path / "lit")], capture_output=True, check=True, timeout=60).stdout
    assert out == values.tobytes()
