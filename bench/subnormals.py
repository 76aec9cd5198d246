"""What subnormal numbers cost this CPU in fastnn's float32 Adam update.

    python bench/subnormals.py [--size 79510] [--rounds 7]

Times ``_core.adam_update`` over ``--size`` float32 parameters (scikit-learn's
default 784-100-10 network has 79,510) with normal gradients (about 1e-3),
with tiny ones (about 1e-21, whose squares are subnormal), and with zero
gradients and a first moment m near 1e-37 (a weight whose gradient stopped:
m decays by b1 each step into the subnormal range), best of ``--rounds`` x
100 calls each (each call first restores m, so its copy is part of every
time).  On CPUs that compute subnormal results in microcode (Intel Xeons)
the last two were many times the first before float32 Adam learned to keep
its moments out of the subnormal range; on AMD's Zen they cost little.
Nothing asserts a timing.
"""
from __future__ import annotations

import argparse
import timeit

import numpy as np

import fastnn
from fastnn import _core


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=79_510)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    info = fastnn.build_info()
    print(f"cpu: {info['cpu']['model_name']} (family {info['cpu']['family']} model {info['cpu']['model']}); "
          f"simd {info['simd_selected']}")
    cases = (("normal gradients (~1e-3)", 1e-3, 0.0), ("tiny gradients (~1e-21)", 1e-21, 0.0),
             ("zero gradients, m ~1e-37", 0.0, 1e-37))
    for name, scale, m_scale in cases:
        p = rng.standard_normal(args.size).astype(np.float32)
        g = (rng.standard_normal(args.size) * scale).astype(np.float32)
        m0 = (rng.standard_normal(args.size) * m_scale).astype(np.float32)
        m, v = m0.copy(), np.full(args.size, 1e-6, np.float32)

        def call() -> None:
            np.copyto(m, m0)  # every call from the same m (else it decays to 0)
            _core.adam_update(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.0, 0.5, 0.5)

        best = min(timeit.repeat(call, number=100, repeat=args.rounds)) / 100
        print(f"adam_update, {args.size} float32, {name}: {best * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
