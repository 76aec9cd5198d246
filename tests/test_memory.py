"""Training for many epochs and predicting in a loop do not grow the
process's memory.

RSS is read from /proc (Linux only).  Everything a step needs is
preallocated, so after a warm-up RSS should stay flat; the margin of 8 MiB
allows for the allocator keeping freed blocks (each fit and each predict call
still allocates a few result arrays of at most a few hundred KiB, which
Python and NumPy may cache) while being far below what a leaked activation
buffer would add (10 epochs here are 470 steps: one leaked 64x512 float32
buffer per step would be 60 MiB)."""

import os
import sys

import numpy as np
import pytest

import fastnn

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads RSS from /proc")

MARGIN = 8 * 1024 * 1024


def rss():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _setup():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 784)).astype(np.float32)
    y = rng.integers(0, 10, 3000)
    model = fastnn.Sequential([fastnn.Dense(784, 64), fastnn.Dense(64, 128), fastnn.Dense(128, 512),
                               fastnn.Dense(512, 10, "softmax")], seed=0)
    return X, y, model


@pytest.mark.parametrize("optimizer", [lambda: fastnn.SGD(0.05), lambda: fastnn.Adam(1e-3)], ids=["sgd", "adam"])
def test_training_does_not_grow_memory(optimizer):
    X, y, model = _setup()
    trainer = fastnn.Trainer(model, "cross_entropy", optimizer(), batch_size=64)
    trainer.fit(X, y, epochs=2, verbose=0, validation_split=0.1)  # warm-up: buffers, caches
    before = rss()
    trainer.fit(X, y, epochs=10, verbose=0, validation_split=0.1)
    grown = rss() - before
    assert grown < MARGIN, f"RSS grew by {grown / 2**20:.1f} MiB over 10 epochs"


def test_predicting_in_a_loop_does_not_grow_memory():
    X, _, model = _setup()
    for _ in range(20):
        model.predict(X[:100])
        model.forward(X[0])
    before = rss()
    for _ in range(2000):
        model.predict(X[:100])
        model.forward(X[0])
    grown = rss() - before
    assert grown < MARGIN, f"RSS grew by {grown / 2**20:.1f} MiB over 4000 calls"
