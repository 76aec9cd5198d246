"""PyTorch: nn.Sequential -> torch.onnx.export (TorchScript exporter, and the
default torch.export-based one where onnxscript is installed) -> fastnn.from_onnx,
nn.Sequential -> fastnn.from_torch, and Sequential.to_torch: outputs equal to
PyTorch's on MNIST test images (float32 1e-5, float64 1e-12), labels
identical, and the imported model trains on.  Skipped without PyTorch (CI
does not install it)."""

import importlib.util
import warnings

import numpy as np
import pytest
from mnist_files import mnist_test_images

import fastnn
from fastnn.io.onnx_import import read_onnx

torch = pytest.importorskip("torch", reason="PyTorch is not installed (CI does not install it; pip install torch)")
nn = torch.nn
HAVE_ONNX = importlib.util.find_spec("onnx") is not None
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason='onnx is not installed (pip install ".[onnx]")')
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}


@pytest.fixture(scope="module")
def images():
    return mnist_test_images(1000)


def _net(dtype, seed=0):
    """Every activation fastnn converts, in one network 784-...-10."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(784, 32), nn.Sigmoid(), nn.Linear(32, 24), nn.Tanh(), nn.Linear(24, 24), nn.ReLU(),
                        nn.Linear(24, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.Softplus(), nn.Identity(),
                        nn.Linear(16, 16, bias=False), nn.Linear(16, 10), nn.Softmax(dim=1))
    return net.to(dtype).eval()


def _check(model, net, X, dtype):
    with torch.no_grad():
        expected = net(torch.from_numpy(X.astype(model.dtype))).numpy()
    tol = TOL[dtype]
    assert model.dtype == expected.dtype
    assert [layer.activation for layer in model.layers] == ["sigmoid", "tanh", "relu", "leaky_relu", "softplus",
                                                            "identity", "softmax"]
    np.testing.assert_allclose(model.forward(X), expected, rtol=tol, atol=tol)
    np.testing.assert_array_equal(model.predict(X), expected.argmax(axis=1))


def _trains_on(model, X):
    y = np.arange(len(X)) % 10
    trainer = fastnn.Trainer(model, "cross_entropy", "adam", batch_size=len(X))
    first = trainer.step(X, y)
    for _ in range(4):
        last = trainer.step(X, y)
    assert np.isfinite(first) and last < first


@needs_onnx
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torchscript_exporter_graph_imports_and_matches_pytorch(images, tmp_path, dtype):
    net = _net(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated in favour of dynamo=True
        torch.onnx.export(net, (torch.zeros(1, 784, dtype=dtype),), tmp_path / "t.onnx", dynamo=False,
                          input_names=["x"], output_names=["p"], dynamic_axes={"x": {0: "n"}, "p": {0: "n"}})
    result = read_onnx(tmp_path / "t.onnx")
    assert result.producer.startswith("pytorch") and result.skipped == ()
    model = result.model
    assert model.layers[3].slope == 0.2 and model.layers[5].bias is None and model.loss.name == "cross_entropy"
    _check(model, net, images, dtype)
    _trains_on(model, images[:64])


@needs_onnx
@pytest.mark.skipif(importlib.util.find_spec("onnxscript") is None,
                    reason="torch.onnx.export's default (torch.export-based) exporter needs onnxscript, which is not "
                           "installed")
def test_default_exporter_graph_imports_and_matches_pytorch(images, tmp_path):
    net = _net(torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(2, 784),), tmp_path / "d.onnx", input_names=["x"],
                          dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    result = read_onnx(tmp_path / "d.onnx")
    assert any("softplus threshold" in note for note in result.notes)
    _check(result.model, net, images, torch.float32)
    _trains_on(result.model, images[:64])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_from_torch_matches_pytorch_and_trains_on(images, dtype):
    net = _net(dtype)
    model = fastnn.from_torch(net)
    _check(model, net, images, dtype)
    assert model.loss.name == "cross_entropy"
    before = net[0].weight.detach().clone()
    _trains_on(model, images[:64])
    assert torch.equal(net[0].weight, before)  # the parameters were copied


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_torch_matches_fastnn_and_converts_back(images, dtype):
    model = fastnn.Sequential([fastnn.Dense(784, 32, "leaky_relu", slope=0.3), fastnn.Dense(32, 16, "softplus"),
                               fastnn.Dense(16, 16, "identity", bias=0.5, trainable=("bias",)),
                               fastnn.Dense(16, 10, "softmax", bias=False)],
                              dtype=dtype, seed=0)
    net = model.to_torch()
    assert [type(m).__name__ for m in net] == ["Linear", "LeakyReLU", "Linear", "Softplus", "Linear", "Linear",
                                               "Softmax"]
    assert net[0].weight.dtype == getattr(torch, dtype) and net[1].negative_slope == 0.3
    assert np.all(net[4].bias.detach().numpy() == 0.5) and net[5].bias is None
    assert not net[4].weight.requires_grad and net[4].bias.requires_grad and net[5].weight.requires_grad
    with torch.no_grad():
        got = net(torch.from_numpy(images.astype(dtype))).numpy()
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, model.forward(images), rtol=tol, atol=tol)
    back = fastnn.from_torch(net)
    for (name, a), (_, b) in zip(model.named_parameters(), back.named_parameters()):
        np.testing.assert_array_equal(np.broadcast_to(a, b.shape), b, err_msg=name)
    assert [layer.activation for layer in back.layers] == [layer.activation for layer in model.layers]


def test_to_torch_refuses_step_and_sign():
    model = fastnn.Sequential([fastnn.Dense(4, 3, "step"), fastnn.Dense(3, 2, "softmax")])
    with pytest.raises(ValueError, match="layer 0 has activation 'step', which PyTorch has no module for"):
        model.to_torch()


@pytest.mark.parametrize("net, exc, message", [
    (nn.Sequential(nn.Linear(4, 3), nn.Conv1d(1, 1, 1)), ValueError,
     r"module '1' \(Conv1d\): fastnn converts Linear, Sigmoid, .* modules only"),
    (nn.Sequential(nn.Linear(4, 3), nn.Dropout()), ValueError, r"module '1' \(Dropout\)"),
    (nn.Sequential(nn.Linear(4, 3), nn.GELU()), ValueError, r"module '1' \(GELU\)"),
    (nn.Sequential(nn.Linear(4, 3), nn.Softplus(beta=2)), ValueError, r"module '1' \(Softplus\): beta=2"),
    (nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=0)), ValueError, r"module '1' \(Softmax\): dim=0"),
    (nn.Sequential(nn.ReLU(), nn.Linear(4, 3)), ValueError, r"module '0' \(ReLU\): an activation before"),
    (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Tanh()), ValueError, r"module '2' \(Tanh\): a second activation"),
    (nn.Sequential(nn.Linear(4, 3), nn.Linear(4, 3)), ValueError, (r"module '1' \(Linear\) takes 4 inputs but "
                                                                  r"module '0' \(Linear\) gives 3")),
    (nn.Sequential(nn.Linear(4, 3), nn.Softmax(-1), nn.Linear(3, 3)), ValueError, r"follows a Softmax"),
    (nn.Sequential(nn.Linear(4, 3).half()), ValueError, r"module '0' \(Linear\) has torch.float16 parameters"),
    (nn.Sequential(nn.Linear(4, 3).bfloat16()), ValueError, r"torch.bfloat16 parameters"),
    (nn.Sequential(nn.Linear(4, 3), nn.Flatten()), ValueError, r"module '1' \(Flatten\)"),
    (nn.Sequential(), ValueError, "no Linear layer"),
    (nn.ReLU(), TypeError, r"module must be a torch.nn.Sequential \(or Linear\), got ReLU"),
])
def test_from_torch_refuses_what_fastnn_cannot_run_naming_the_module(net, exc, message):
    with pytest.raises(exc, match=message):
        fastnn.from_torch(net)


def test_nested_sequentials_and_a_bare_linear_convert():
    net = nn.Sequential(nn.Sequential(nn.Linear(4, 3), nn.Tanh()), nn.Sequential(nn.Linear(3, 2)))
    model = fastnn.from_torch(net)
    assert [layer.activation for layer in model.layers] == ["tanh", "identity"] and model.loss is None
    assert fastnn.from_torch(nn.Linear(4, 2)).n_outputs == 2
    assert fastnn.from_torch(nn.Sequential(nn.Flatten(), nn.Linear(4, 2))).n_inputs == 4
