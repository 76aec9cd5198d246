"""ONNX: Sequential.to_onnx run by ONNX Runtime against fastnn on MNIST test
images (every activation, float32 and float64), fastnn.from_onnx on graphs
built by hand (Gemm and MatMul forms, folded alpha/beta, Constant nodes),
to_onnx -> from_onnx -> to_onnx, the metadata, and bad input: truncated,
corrupt or empty files, a missing initializer, mismatched shapes,
unsupported ops, a missing folder, a failed write.  PyTorch's and
scikit-learn's graphs: tests/test_torch_interop.py, test_sklearn_interop.py."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
from mnist_files import mnist_test_images

import fastnn
from fastnn.io.onnx_import import read_onnx

HAVE_ONNX = importlib.util.find_spec("onnx") is not None
HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason='onnx is not installed (pip install ".[onnx]")')
needs_ort = pytest.mark.skipif(not (HAVE_ONNX and HAVE_ORT),
                               reason='onnx and onnxruntime are not installed (pip install ".[onnx]")')
TOL = {"float32": 1e-5, "float64": 1e-12}
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity", "step", "sign"]
# (output activation, outputs, loss): every kind of output predict knows
OUTPUTS = [("softmax", 10, None), ("sigmoid", 10, None), ("sigmoid", 1, None), ("identity", 10, "cross_entropy"),
           ("identity", 1, "binary_cross_entropy"), ("step", 10, None), ("sign", 1, None),
           ("identity", 3, "half_squared_error")]


@pytest.fixture(scope="module")
def images():
    return mnist_test_images(1000)


def _model(hidden, out_act, n_out, dtype, loss=None, seed=0):
    model = fastnn.Sequential([fastnn.Dense(784, 32, hidden, slope=0.1), fastnn.Dense(32, 16, "tanh", bias="shared"),
                               fastnn.Dense(16, n_out, out_act, bias=False)], dtype=dtype, seed=seed)
    if loss is not None:
        model.loss = fastnn.nn.get_loss(loss)
    return model


def _run(path, X):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": X})


def _check_against_ort(model, X, path):
    labels = model.is_classifier
    model.to_onnx(path, labels=labels)
    X = X.astype(model.dtype)
    got = _run(path, X)
    tol = TOL[model.dtype.name]
    assert got[0].dtype == model.dtype
    np.testing.assert_allclose(got[0], model.forward(X), rtol=tol, atol=tol)
    if labels:
        assert got[1].dtype == np.int64
        np.testing.assert_array_equal(got[1], model.predict(X))
    if model.probability_activation is not None:
        np.testing.assert_allclose(model.predict_proba(X), fastnn.from_onnx(path).predict_proba(X), rtol=tol,
                                   atol=tol)


# ---- export, run by ONNX Runtime ----------------------------------------------------

@needs_ort
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnx_runtime_matches_fastnn_for_every_hidden_activation(images, tmp_path, dtype, hidden):
    _check_against_ort(_model(hidden, "softmax", 10, dtype), images, tmp_path / "m.onnx")


@needs_ort
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("out_act, n_out, loss", OUTPUTS)
def test_onnx_runtime_matches_fastnn_for_every_output(images, tmp_path, dtype, out_act, n_out, loss):
    _check_against_ort(_model("relu", out_act, n_out, dtype, loss), images, tmp_path / "m.onnx")


@needs_ort
def test_the_notes_network_trained_briefly_gives_the_same_probabilities_and_labels(images, tmp_path):
    data = fastnn.datasets.load_mnist_sample(flatten=True)
    model = fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 128), fastnn.Dense(128, 512),
                               fastnn.Dense(512, 10, "softmax")], seed=0)
    fastnn.Trainer(model, "cross_entropy", "adam", batch_size=128).fit(data.X_train[:2000] / 255.0,
                                                                      data.y_train[:2000], epochs=2, verbose=0)
    _check_against_ort(model, images, tmp_path / "notes.onnx")


@needs_onnx
@pytest.mark.parametrize("dtype, elem", [("float32", 1), ("float64", 11)])
def test_the_graph_names_shapes_metadata_and_version(tmp_path, dtype, elem):
    import onnx

    model = _model("relu", "softmax", 10, dtype, "cross_entropy")
    model.to_onnx(tmp_path / "m.onnx", opset=13, labels=True)
    proto = onnx.load(tmp_path / "m.onnx")
    onnx.checker.check_model(proto, full_check=True)
    assert proto.producer_name == "fastnn" and proto.producer_version == fastnn.__version__
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["fastnn.version"] == fastnn.__version__ and meta["fastnn.loss"] == "cross_entropy"
    assert [o.version for o in proto.opset_import] == [13]

    def dims(vi):
        return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim], vi.type.tensor_type.elem_type

    assert [i.name for i in proto.graph.input] == ["input"] and dims(proto.graph.input[0]) == (["batch", 784], elem)
    assert [o.name for o in proto.graph.output] == ["output", "label"]
    assert dims(proto.graph.output[0]) == (["batch", 10], elem) and dims(proto.graph.output[1]) == (["batch"], 7)
    ops = [n.op_type for n in proto.graph.node]
    assert ops[:4] == ["Gemm", "Relu", "Gemm", "Tanh"] and ops[-1] == "ArgMax"
    assert all(a.i == 1 for n in proto.graph.node if n.op_type == "Gemm" for a in n.attribute if a.name == "transB")
    bias = {t.name: t for t in proto.graph.initializer}["1.bias"]
    assert list(bias.dims) == [16]  # the shared bias, written out per neuron


# ---- round trip --------------------------------------------------------------------

@needs_onnx
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("labels", [False, True])
def test_to_onnx_from_onnx_to_onnx_gives_the_same_model(tmp_path, dtype, labels):
    kinds = [("sigmoid", True), ("tanh", 0.25), ("relu", False), ("leaky_relu", True), ("softplus", "shared"),
             ("identity", True), ("step", True), ("sign", True)]
    layers = [fastnn.Dense(6 if i == 0 else 5, 5, act, bias=b, slope=0.2 if act == "leaky_relu" else 0.01)
              for i, (act, b) in enumerate(kinds)]
    model = fastnn.Sequential(layers + [fastnn.Dense(5, 4, "softmax")], dtype=dtype, seed=1)
    model.to_onnx(tmp_path / "a.onnx", labels=labels)
    back = fastnn.from_onnx(tmp_path / "a.onnx")
    assert back.config() == {**model.config(), "loss": "cross_entropy"}
    assert back.dtype == model.dtype
    for (name, a), (name_b, b) in zip(model.named_parameters(), back.named_parameters()):
        assert name == name_b and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    back.loss = None
    back.to_onnx(tmp_path / "b.onnx", labels=labels)
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()
    assert read_onnx(tmp_path / "a.onnx").skipped == (
        ("node 'label/ArgMax' (ArgMax): class labels from the scores (fastnn: predict)",
         "graph output 'label': computed by the skipped nodes, not by the network") if labels else ())


@needs_onnx
def test_an_imported_model_trains_on(tmp_path):
    model = _model("sigmoid", "softmax", 10, "float32")
    model.to_onnx(tmp_path / "m.onnx")
    back = fastnn.from_onnx((tmp_path / "m.onnx").read_bytes())
    assert back.loss.name == "cross_entropy"
    X = mnist_test_images(64)
    y = np.arange(64) % 10
    before = back.evaluate(X, y)["loss"]
    trainer = fastnn.Trainer(back, "cross_entropy", "adam", batch_size=64)
    for _ in range(5):
        trainer.step(X, y)
    assert back.evaluate(X, y)["loss"] < before


# ---- hand-built graphs: what from_onnx reads besides fastnn's own -------------------

def _graph(nodes, inits, n_in=4, n_out=3, elem=1, opset=17, outputs=("y",)):
    from onnx import helper, numpy_helper

    info = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "g", [info("x", elem, ["n", n_in])],
                              [info(name, elem, ["n", n_out]) for name in outputs],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8,
                             producer_name="hand")


def _node(op, inputs, outputs, name=None, **attrs):
    from onnx import helper

    return helper.make_node(op, inputs, outputs, name=name or f"{op}_{outputs[0]}", **attrs)


@needs_ort
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_from_onnx_reads_gemm_and_matmul_forms_as_onnx_runtime_runs_them(dtype):
    import onnxruntime as ort
    from onnx import helper

    rng = np.random.default_rng(0)
    r = lambda *s: rng.standard_normal(s).astype(dtype)
    nodes = [
        _node("Gemm", ["x", "W0", "b0"], ["z0"], transB=0, alpha=0.5, beta=2.0),  # W0 stored (in, out)
        _node("PRelu", ["z0", "s0"], ["a0"]),
        _node("Identity", ["a0"], ["a0i"]),
        _node("MatMul", ["a0i", "W1"], ["m1"]), _node("Add", ["b1", "m1"], ["z1"]),  # bias first
        _node("Tanh", ["z1"], ["a1"]),
        _node("Gemm", ["a1", "W2", "b2"], ["z2"], transB=1),  # one bias value for all
        helper.make_node("Constant", [], ["W3"], value=helper.make_tensor("W3", 1 if dtype == np.float32 else 11,
                                                                          [3, 5], r(3, 5).ravel())),
        _node("Gemm", ["z2", "W3"], ["z3"], transB=1),
        _node("Softmax", ["z3"], ["y"], axis=1),
    ]
    inits = {"W0": r(4, 6), "b0": r(1, 6), "s0": np.array([0.3], dtype), "W1": r(6, 5), "b1": r(5),
             "W2": r(5, 5), "b2": np.array([0.7], dtype)}
    proto = _graph(nodes, inits, elem=1 if dtype == np.float32 else 11)
    result = read_onnx(proto)
    model = result.model
    assert [layer.activation for layer in model.layers] == ["leaky_relu", "tanh", "identity", "softmax"]
    assert model.layers[0].slope == 0.3 and model.layers[3].bias is None and model.dtype == dtype
    assert any("alpha=0.5" in note for note in result.notes) and any("beta=2.0" in n for n in result.notes)
    X = r(50, 4)
    got = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": X})[0]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(model.forward(X), got, rtol=tol, atol=tol)


def _chain(*mid):
    """x -> Gemm(W0, b0) -> the nodes ``mid`` (reading 'z0', the last writing 'y'); W1 is (3, 3)."""
    rng = np.random.default_rng(0)
    inits = {"W0": rng.standard_normal((3, 4)).astype(np.float32), "b0": np.zeros(3, np.float32),
             "W1": rng.standard_normal((3, 3)).astype(np.float32)}
    return _graph([_node("Gemm", ["x", "W0", "b0"], ["z0"], name="Gemm_0", transB=1), *mid], inits)


@needs_onnx
@pytest.mark.parametrize("mid, message", [
    ([("Conv", ["z0", "W0"], ["y"], "Conv_3", {})], r"node 'Conv_3' \(Conv\): fastnn runs fully connected networks only"),
    ([("Elu", ["z0"], ["y"], "Elu_1", {})], r"node 'Elu_1' \(Elu\): not an op of the networks fastnn runs: .*Sigmoid"),
    ([("BatchNormalization", ["z0", "b0", "b0", "b0", "b0"], ["y"], "bn", {})],
     r"node 'bn' \(BatchNormalization\): fastnn has no normalisation layers"),
    ([("Dropout", ["z0"], ["y"], "drop", {})], r"node 'drop' \(Dropout\): dropout; export the model in inference mode"),
    ([("Relu", ["z0"], ["r"], "r1", {}), ("Sigmoid", ["r"], ["y"], "s1", {})],
     r"node 's1' \(Sigmoid\): a second activation after node 'Gemm_0' \(Gemm\) \(already relu\)"),
    ([("Softmax", ["z0"], ["y"], "sm", {"axis": 0})], r"node 'sm' \(Softmax\): Softmax over axis 0"),
    ([("Softmax", ["z0"], ["s"], "sm", {}), ("Gemm", ["s", "W1"], ["y"], "g1", {"transB": 1})],
     r"node 'g1' \(Gemm\): a layer after the Softmax of node 'Gemm_0' \(Gemm\)"),
    ([("Mul", ["z0", "b0"], ["m"], "mul", {}), ("Gemm", ["m", "W1"], ["y"], "g2", {"transB": 1})],
     r"node 'mul' \(Mul\): not an op of the networks fastnn runs"),
    ([("Relu", ["z0"], ["y"], "r", {}), ("Gemm", ["z0", "W1"], ["h"], "g3", {"transB": 1})],
     (r"node 'r' \(Relu\): the data branches at tensor 'z0' \(read by node 'r' \(Relu\), node 'g3' \(Gemm\)\); "
     r"fastnn runs a single chain of layers")),
    ([("Relu", ["z0"], ["y"], "r", {}), ("Gemm", ["y", "W1"], ["h"], "g4", {"transB": 1})],
     r"node 'g4' \(Gemm\): not on the chain of layers from the input, which ends at tensor 'y' \(a graph output\)"),
])
def test_unsupported_graphs_are_refused_naming_the_node_op_and_reason(mid, message):
    proto = _chain(*[_node(op, inputs, outputs, name, **attrs) for op, inputs, outputs, name, attrs in mid])
    with pytest.raises(ValueError, match=message):
        fastnn.from_onnx(proto)


@needs_onnx
def test_graphs_fastnn_cannot_run_are_refused_with_the_reason():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    cases = [
        (_graph([_node("Relu", ["x"], ["r"], name="r0"), _node("Gemm", ["r", "W"], ["y"], transB=1)], {"W": w}),
         r"node 'r0' \(Relu\): an activation before the first fully connected layer"),
        (_graph([_node("Gemm", ["x", "W"], ["y"], name="g", transA=1)], {"W": w}), r"'g' \(Gemm\): transA=1"),
        (_graph([_node("Gemm", ["x", "W", "b"], ["y"], name="g", transB=1)], {"W": w, "b": np.ones(4, np.float32)}),
         r"node 'g' \(Gemm\): bias 'b' has shape \(4,\); a layer with 3 outputs needs"),
        (_graph([_node("Gemm", ["x", "W"], ["y"], name="g", transB=1)], {"W": w}, n_in=5),
         r"input 'x' has 5 features but node 'g' \(Gemm\) takes 4 \(mismatched shapes\)"),
        (_graph([_node("Gemm", ["x", "W"], ["h"], name="g0", transB=1), _node("Gemm", ["h", "W"], ["y"], name="g1",
                                                                             transB=1)], {"W": w}),
         r"node 'g1' \(Gemm\): its weight takes 4 inputs but node 'g0' \(Gemm\) gives 3 \(mismatched shapes\)"),
        (_graph([_node("Gemm", ["x", "W"], ["y"], name="g", transB=1)], {"W": w}, n_out=7),
         r"output 'y' is declared with 7 columns but node 'g' \(Gemm\) gives 3 \(mismatched shapes\)"),
        (_graph([_node("PRelu", ["z", "s"], ["y"], name="p"), ], {"s": np.ones(3, np.float32)}), r"missing"),
        (_graph([_node("Gemm", ["x", "W"], ["z"], name="g", transB=1), _node("PRelu", ["z", "s"], ["y"], name="p")],
                {"W": w, "s": np.array([0.1, 0.2, 0.3], np.float32)}), r"node 'p' \(PRelu\): a slope per neuron"),
        (_graph([_node("Gemm", ["x", "W"], ["y"], name="g", transB=1)], {"W": w.astype(np.float16)}, elem=10),
         r"node 'g' \(Gemm\) has float16 parameters; fastnn computes in float32 or float64"),
        (_graph([_node("Flatten", ["x"], ["f"], name="fl"), _node("Gemm", ["f", "W"], ["y"], transB=1)], {"W": w}),
         r"node 'fl' \(Flatten\): reshapes the input; fastnn's networks take \(batch, features\) data"),
        (_graph([_node("Sub", ["x", "x"], ["y"], name="pre")], {}, n_out=4),
         r"node 'pre' \(Sub\): not an op of the networks fastnn runs"),
    ]
    for proto, message in cases:
        with pytest.raises(ValueError, match=message):
            fastnn.from_onnx(proto)


@needs_onnx
def test_weights_fed_as_graph_inputs_or_computed_are_refused():
    from onnx import helper

    w = np.ones((3, 4), np.float32)
    proto = _graph([_node("Transpose", ["Wt"], ["W"], name="t"), _node("Gemm", ["x", "W"], ["y"], name="g", transB=1)],
                   {"Wt": w.T.copy()})
    with pytest.raises(ValueError, match=r"node 'g' \(Gemm\): its weight 'W' is computed by node 't' \(Transpose\)"):
        fastnn.from_onnx(proto)
    proto = _graph([_node("Gemm", ["x", "W"], ["y"], name="g", transB=1)], {})
    proto.graph.input.append(helper.make_tensor_value_info("W", 1, [3, 4]))
    with pytest.raises(ValueError, match=r"2 data inputs \('x', 'W'\)"):
        fastnn.from_onnx(proto)


# ---- damaged files --------------------------------------------------------------------

@needs_onnx
def test_truncated_corrupt_and_empty_files_are_clear_errors(tmp_path):
    model = _model("relu", "softmax", 10, "float32")
    model.to_onnx(tmp_path / "m.onnx")
    data = (tmp_path / "m.onnx").read_bytes()
    bad = tmp_path / "bad.onnx"
    for cut in list(range(1, 200, 7)) + [len(data) // 3, len(data) // 2, len(data) - 400]:
        bad.write_bytes(data[:cut])
        with pytest.raises(fastnn.ModelFileError, match=r"bad\.onnx: not (an ONNX model|a valid ONNX model)"):
            fastnn.from_onnx(bad)
    for junk in (b"not an onnx model at all" * 40, np.random.default_rng(0).bytes(3000), b"\x93NUMPY" + bytes(200)):
        bad.write_bytes(junk)
        with pytest.raises(fastnn.ModelFileError, match=r"bad\.onnx: not"):
            fastnn.from_onnx(bad)
    bad.write_bytes(b"")
    with pytest.raises(fastnn.ModelFileError, match=r"bad\.onnx: not an ONNX model \(the file is empty\)"):
        fastnn.from_onnx(bad)
    model.save(tmp_path / "m.fnn")  # a fastnn file is not an ONNX one
    with pytest.raises(fastnn.ModelFileError, match=r"m\.fnn: not"):
        fastnn.from_onnx(tmp_path / "m.fnn")
    with pytest.raises(FileNotFoundError):
        fastnn.from_onnx(tmp_path / "missing.onnx")
    with pytest.raises(TypeError, match="source must be a path, bytes or an onnx.ModelProto, got int"):
        fastnn.from_onnx(3)


@needs_onnx
def test_a_missing_initializer_is_named(tmp_path):
    import onnx

    model = _model("relu", "softmax", 10, "float32")
    model.to_onnx(tmp_path / "m.onnx")
    proto = onnx.load(tmp_path / "m.onnx")
    kept = [t for t in proto.graph.initializer if t.name != "1.weight"]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    with pytest.raises(fastnn.ModelFileError, match=r"node 'layer1/Gemm' \(Gemm\) reads '1.weight', which no "
                                                    r"initializer, graph input or node provides \(a missing "
                                                    r"initializer\)"):
        fastnn.from_onnx(tmp_path / "m.onnx")


# ---- writing ---------------------------------------------------------------------------

@needs_onnx
def test_export_into_a_missing_folder_names_it_and_writes_nothing(tmp_path):
    model = _model("relu", "softmax", 10, "float32")
    with pytest.raises(FileNotFoundError, match=f"the folder {tmp_path / 'nope'} does not exist"):
        model.to_onnx(tmp_path / "nope" / "m.onnx")
    assert os.listdir(tmp_path) == []


@needs_onnx
def test_a_failed_export_leaves_the_previous_file_and_no_temporary_one(tmp_path, monkeypatch):
    model = _model("relu", "softmax", 10, "float32")
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous")

    def fail(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        model.to_onnx(path)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="labels=True needs a classifier"):
        _model("relu", "identity", 3, "float32").to_onnx(path, labels=True)
    assert os.listdir(tmp_path) == ["m.onnx"] and path.read_bytes() == b"previous"


@needs_onnx
@pytest.mark.parametrize("kwargs, exc, message", [
    ({"opset": 12}, ValueError, "opset must be >= 13, got 12"),
    ({"opset": 10_000}, ValueError, "opset must be <= "),
    ({"opset": "17"}, TypeError, "opset must be an int"),
    ({"labels": 1}, TypeError, "labels must be True or False"),
])
def test_export_arguments_are_checked(tmp_path, kwargs, exc, message):
    with pytest.raises(exc, match=message):
        _model("relu", "softmax", 10, "float32").to_onnx(tmp_path / "m.onnx", **kwargs)
    with pytest.raises(TypeError, match="path must be a path"):
        _model("relu", "softmax", 10, "float32").to_onnx(3)
    assert os.listdir(tmp_path) == []


def test_without_onnx_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r'Sequential.to_onnx needs onnx: pip install ".*\[onnx\]"'):
        _model("relu", "softmax", 10, "float32").to_onnx(tmp_path / "m.onnx")
    with pytest.raises(ImportError, match=r'fastnn.from_onnx needs onnx: pip install ".*\[onnx\]"'):
        fastnn.from_onnx(tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


def test_the_converters_load_lazily_without_onnx_torch_or_sklearn():
    code = ("import sys, fastnn\n"
            "assert 'fastnn.io.onnx_import' not in sys.modules\n"
            "fastnn.from_onnx, fastnn.from_torch, fastnn.from_sklearn, fastnn.Sequential.to_onnx\n"
            "assert {'from_onnx', 'from_torch', 'from_sklearn'} <= set(dir(fastnn))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('onnx', 'onnxruntime', 'torch', 'sklearn', 'skl2onnx')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"
