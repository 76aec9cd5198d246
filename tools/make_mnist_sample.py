#!/usr/bin/env python3
"""Draw the MNIST sample that ships with fastnn (src/fastnn/datasets/mnist_sample/).

How the sample is drawn (deterministic, from the four ORIGINAL files):

* the originals are read from ``--source`` (default ``<repo>/../shared/data/
  mnist``) and must match the published SHA-256 checksums;
* for each split (training: ``--n-train`` images, test: ``--n-test``), every
  digit class gets a quota proportional to its frequency in that split of
  the original (largest-remainder rounding, ties to the smaller digit);
* ``rng = numpy.random.default_rng([seed, split_id])`` (split_id 0 for
  training, 1 for test), then, digit by digit from 0 to 9,
  ``rng.choice(indices_of_that_digit, quota, replace=False)``;
* the chosen indices are sorted, so the sample keeps the original order.

Written: the images and labels under the original file names (IDX, gzip
level 9, no name or time stamp in the gzip header, so the bytes are
reproducible for a given zlib), the chosen original indices as
``train-indices-idx1-int32.gz`` / ``t10k-indices-idx1-int32.gz`` (so anyone
can check that image k of the sample is image ``indices[k]`` of the
original), and README.md with the attribution, this procedure and the
checksums.

    python tools/make_mnist_sample.py            # (re)write the sample
    python tools/make_mnist_sample.py --check    # verify the shipped sample
"""

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "mnist"
DEFAULT_OUT = REPO / "src" / "fastnn" / "datasets" / "mnist_sample"
SEED = 0
N_TRAIN = 8000
N_TEST = 2000
SIZE_LIMIT = 2_000_000  # bytes, whole directory


def _datasets():
    """fastnn.datasets (fastnn must be installed, or src/ on PYTHONPATH with the extension built)."""
    try:
        from fastnn import datasets
    except ImportError as e:
        raise SystemExit(f"this tool needs fastnn importable (pip install . first): {e}") from e
    return datasets


def quotas(labels, n):
    """Per-class counts proportional to the class frequencies, summing to n."""
    counts = np.bincount(labels, minlength=10).astype(np.float64)
    exact = counts * n / counts.sum()
    q = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - q), kind="stable")
    q[order[:n - int(q.sum())]] += 1
    return q


def draw(labels, n, seed, split_id):
    rng = np.random.default_rng([seed, split_id])
    chosen = []
    for digit, q in enumerate(quotas(labels, n)):
        members = np.flatnonzero(labels == digit)
        chosen.append(rng.choice(members, size=int(q), replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int32)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


README = """\
# MNIST sample shipped with fastnn

A small, class-stratified subset of the MNIST database of handwritten digits,
so that fastnn's examples and tests can run without network access.
`fastnn.datasets.load_mnist_sample()` loads it;
`fastnn.datasets.load_mnist_or_sample()` uses it when the full data set
cannot be downloaded.

## Attribution and licence

The MNIST database was created by **Yann LeCun** (Courant Institute, NYU),
**Corinna Cortes** (Google Labs, New York) and **Christopher J. C. Burges**
(Microsoft Research, Redmond), from NIST Special Databases 1 and 3.
It is made available under the terms of the
Creative Commons Attribution-ShareAlike 3.0 licence (CC BY-SA 3.0,
https://creativecommons.org/licenses/by-sa/3.0/).

This sample is an adaptation (a selection of images, unchanged pixel for
pixel, re-compressed) of the original files and is distributed under the
same CC BY-SA 3.0 licence, not under fastnn's MIT licence.

## Contents

| file | what | images | bytes | sha256 |
|---|---|---|---|---|
{table}

Images are 28x28 uint8 (IDX magic 0x00000803), labels uint8 (0x00000801),
indices int32 (0x00000C01): image k of the sample is image `indices[k]`
(0-based) of the original file of the same split, with the same label.

Images per digit 0..9 -- training: {train_counts}; test: {test_counts}.

## How it was drawn

From the four original files (verified by their published SHA-256):
{n_train} of the 60,000 training and {n_test} of the 10,000 test images.
For each split, each digit gets a quota proportional to its frequency in
the original split (largest-remainder rounding, ties to the smaller digit);
with `rng = numpy.random.default_rng([{seed}, split_id])` (split_id 0 =
training, 1 = test) and digit by digit from 0 to 9,
`rng.choice(indices_of_that_digit, quota, replace=False)`; the chosen
indices are sorted, so the sample keeps the original order.

Reproduce or verify with `tools/make_mnist_sample.py` (`--check` compares
the shipped files with a fresh draw, array by array).
"""


def build(source, n_train, n_test, seed):
    ds = _datasets()
    data = ds.load_mnist(source, download=False, verbose=False)
    splits = {}
    for split_id, (prefix, X, y, n) in enumerate(
            [("train", data.X_train, data.y_train, n_train),
             ("t10k", data.X_test, data.y_test, n_test)]):
        idx = draw(y, n, seed, split_id)
        splits[prefix] = (X[idx], y[idx].astype(np.uint8), idx)
    return ds, splits


FILES = ("{p}-images-idx3-ubyte.gz", "{p}-labels-idx1-ubyte.gz", "{p}-indices-idx1-int32.gz")


def write(out, splits, ds, n_train, n_test, seed):
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for prefix, arrays in splits.items():
        what = ("training" if prefix == "train" else "test")
        for pattern, arr, kind in zip(FILES, arrays, ("images", "labels", "original indices")):
            path = ds.write_idx(out / pattern.format(p=prefix), arr)
            rows.append(f"| {path.name} | {what} {kind} | {len(arr)} | "
                        f"{path.stat().st_size} | `{sha256(path)}` |")
    counts = {p: " ".join(str(c) for c in np.bincount(a[1], minlength=10))
              for p, a in splits.items()}
    (out / "README.md").write_text(README.format(
        table="\n".join(rows), train_counts=counts["train"], test_counts=counts["t10k"],
        n_train=n_train, n_test=n_test, seed=seed))


def check(out, splits, ds):
    ok = True
    for prefix, arrays in splits.items():
        for pattern, arr in zip(FILES, arrays):
            path = out / pattern.format(p=prefix)
            got = ds.read_idx(path)
            same = got.shape == arr.shape and np.array_equal(got, arr)
            print(f"{'ok  ' if same else 'DIFF'} {path}")
            ok &= same
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                    help="directory with the four original MNIST .gz files")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--n-train", type=int, default=N_TRAIN)
    ap.add_argument("--n-test", type=int, default=N_TEST)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--check", action="store_true",
                    help="verify the files in --out instead of writing them")
    args = ap.parse_args(argv)
    ds, splits = build(args.source, args.n_train, args.n_test, args.seed)
    if args.check:
        ok = check(args.out, splits, ds)
    else:
        write(args.out, splits, ds, args.n_train, args.n_test, args.seed)
        ok = True
    total = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    print(f"{args.out}: {total} bytes in all (limit {SIZE_LIMIT})")
    ok &= total <= SIZE_LIMIT
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
