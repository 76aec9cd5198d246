"""A short training run that exercises every compiled kernel, for Valgrind.

    PYTHONMALLOC=malloc valgrind --tool=memcheck --error-exitcode=1 \\
        --errors-for-leak-kinds=none python tools/valgrind_train.py

For each SIMD path this CPU (as the process sees it) can run -- under
Valgrind 3.19 that excludes avx512: Valgrind's virtual CPU has no AVX-512,
so fastnn's dispatcher does not offer it -- and for float32 and float64, it
trains a small model with fused SGD (dense_backward_sgd), momentum SGD and
Adam (dense_backward + the update kernels), with the cross-entropy, binary
cross-entropy and squared-error losses, on one and on two threads;
predicts at batch sizes that take the small-batch (dot product) path, the
whole-network path and the packed GEMM with ragged edge tiles; runs the
stand-alone kernels; and saves and loads the model.  Shapes are odd on
purpose, so every tile has a ragged edge.

Arguments: SIMD paths to run (default: all of fastnn.simd_paths()).
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

import fastnn
from fastnn import _core
from fastnn import kernels as K


def train_and_predict(dtype, threads, rng):
    fastnn.set_num_threads(threads)
    X = rng.standard_normal((45, 19)).astype(dtype)
    y = rng.integers(0, 5, 45)
    model = fastnn.Sequential([fastnn.Dense(19, 23, "relu"), fastnn.Dense(23, 17, "tanh", bias="shared"),
                               fastnn.Dense(17, 5, "softmax")], seed=1, dtype=dtype)
    for opt in (fastnn.SGD(0.1), fastnn.SGD(0.05, momentum=0.9, nesterov=True), fastnn.Adam(1e-2)):
        fastnn.Trainer(model, "cross_entropy", opt, batch_size=16).fit(X, y, epochs=2, seed=0, verbose=0,
                                                                        validation_split=0.2)
    for n in (1, 3, 14, 45):  # small-batch path, whole network, packed GEMM
        model.predict(X[:n])
        model.predict_proba(X[:n])
    model.forward(X[0])
    model.evaluate(X, y)

    # sigmoid outputs with binary cross-entropy; a regression with MSE
    yb = (rng.random((45, 3)) < 0.5).astype(dtype)
    binary = fastnn.Sequential([fastnn.Dense(19, 13, "sigmoid"), fastnn.Dense(13, 3, "sigmoid")], seed=2,
                               dtype=dtype)
    fastnn.Trainer(binary, "binary_cross_entropy", fastnn.Adam(1e-2), batch_size=10).fit(X, yb, epochs=2,
                                                                                        verbose=0)
    binary.predict(X)
    yr = rng.standard_normal((45, 2)).astype(dtype)
    reg = fastnn.Sequential([fastnn.Dense(19, 7, "leaky_relu"), fastnn.Dense(7, 2, "identity")], seed=3,
                            dtype=dtype)
    for loss in ("mse", "half_squared_error"):
        fastnn.Trainer(reg, loss, fastnn.SGD(0.01), batch_size=45).fit(X, yr, epochs=2, verbose=0)
    reg.predict(X)

    # a batch big enough to split across threads
    Xb = rng.standard_normal((300, 19)).astype(dtype)
    wide = fastnn.Sequential([fastnn.Dense(19, 300, "softplus"), fastnn.Dense(300, 5, "softmax")], seed=4,
                             dtype=dtype)
    for opt, bs in ((fastnn.SGD(0.05), 150), (fastnn.Adam(1e-2), 40), (fastnn.Adam(1e-2), 33)):
        # the one-call training step split in halves (batch >= 32), SGD and
        # Adam, uneven halves, and the narrow output layer computed as W X^T
        fastnn.Trainer(wide, "cross_entropy", opt, batch_size=bs).fit(Xb, rng.integers(0, 5, 300), epochs=1,
                                                                      verbose=0)
    wide.predict(Xb)
    wide.predict(np.repeat(Xb, 7, axis=0))  # 2100 rows: the forward pass in 1024-row chunks

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.npz")
        model.save(path)
        again = fastnn.load(path)
        assert np.array_equal(again.predict(X), model.predict(X))
    return model


def stand_alone_kernels(dtype, rng):
    A = rng.standard_normal((29, 37)).astype(dtype)
    B = rng.standard_normal((37, 41)).astype(dtype)
    C = np.empty((29, 41), dtype)
    for code in range(6):  # every activation in the GEMM epilogue
        _core.gemm(A, B, C, bias=rng.standard_normal(41).astype(dtype), act=code)
        _core.gemm(A.T.copy(), B.T.copy(), C, alpha=0.5, beta=0.5, trans_a=True, trans_b=True, act=code)
    W = rng.standard_normal((11, 37)).astype(dtype)
    for act in ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"):
        Z = K.dense_forward(A, W, rng.standard_normal(11).astype(dtype), activation=act)
        K.activation(act, Z)
        K.activation_derivative(act, Z)
        K.dense_backward(np.ones_like(Z), Z, A, W, act)
        K.dense_backward_sgd(np.ones_like(Z), Z, A, W.copy(), np.zeros(11, dtype), 0.1, act)
    K.sgd_update(W, np.ones_like(W), 0.1)
    Z = rng.standard_normal((29, 11)).astype(dtype)
    K.softmax(Z)
    K.softmax_cross_entropy(Z, rng.integers(0, 11, 29))
    K.sigmoid_binary_cross_entropy(Z, (Z > 0).astype(dtype))
    K.mse(Z, np.zeros_like(Z))
    K.half_squared_error(Z, np.ones_like(Z))


def main(argv):
    paths = argv or fastnn.simd_paths()
    compiled = fastnn.build_info()["simd_compiled"]
    skipped = [p for p in compiled if p not in fastnn.simd_paths()]
    print(f"SIMD paths compiled: {compiled}; runnable here: {fastnn.simd_paths()}; running: {paths}"
          + (f"; not runnable (skipped): {skipped}" if skipped else ""), flush=True)
    rng = np.random.default_rng(0)
    for path in paths:
        fastnn.set_simd_path(path)
        for dtype in (np.float32, np.float64):
            for threads in (1, 2):
                train_and_predict(dtype, threads, rng)
            stand_alone_kernels(dtype, rng)
        print(f"{path}: done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
