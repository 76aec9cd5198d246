"""1 thread against 2, per dense layer of the notes' network, forward and
backward (fused SGD), at several batch sizes: flags any shape that is slower
on 2 threads (the speed issue asks that none be).

    python bench/layer_threads.py
"""
import timeit

import numpy as np

import fastnn
from fastnn import _core

rng=np.random.default_rng(0)
for n in (1,8,32,128,1024):
  for (i,o) in [(784,64),(64,128),(128,512),(512,10)]:
    X=rng.standard_normal((n,i)).astype(np.float32); W=(rng.standard_normal((o,i))/np.sqrt(i)).astype(np.float32); b=np.zeros(o,np.float32)
    A=np.empty((n,o),np.float32); dA=rng.standard_normal((n,o)).astype(np.float32); dZ=np.empty_like(dA); db=np.empty(o,np.float32); dX=np.empty_like(X)
    r={}
    for t in (1,2):
      fastnn.set_num_threads(t)
      f=lambda: _core.dense_forward(X,W,b,A,1,0.01)
      g=lambda: _core.dense_backward_sgd(dA,A,X,W,b,1e-9,1,0.01,dZ,db,dX)
      r[t]=(min(timeit.repeat(f,number=100,repeat=7))/100*1e6, min(timeit.repeat(g,number=100,repeat=7))/100*1e6)
    flag = []
    if r[2][0]>1.08*r[1][0]: flag.append('FWD')
    if r[2][1]>1.08*r[1][1]: flag.append('BWD')
    print(f"n={n:5d} {i:4d}->{o:3d} fwd {r[1][0]:8.1f} {r[2][0]:8.1f}  bwd {r[1][1]:8.1f} {r[2][1]:8.1f}  {' '.join(flag)}")

# The paths a user's calls take: the whole network's forward pass in one C
# call (Sequential.forward) and the one-call training step (Trainer.step),
# 1 against 2 threads, interleaved, best of 7.
model = fastnn.Sequential([fastnn.Dense(784, 64, "sigmoid"), fastnn.Dense(64, 128, "sigmoid"),
                           fastnn.Dense(128, 512, "sigmoid"), fastnn.Dense(512, 10, "softmax")], seed=0)
for n in (1, 4, 16, 17, 64, 256, 2048):
    X = rng.standard_normal((n, 784)).astype(np.float32)
    best = {1: [], 2: []}
    for _ in range(7):
        for t in (1, 2):
            fastnn.set_num_threads(t)
            best[t].append(min(timeit.repeat(lambda: model.forward(X), number=max(1, 2000 // n), repeat=1))
                           / max(1, 2000 // n) * 1e6)
    f1, f2 = min(best[1]), min(best[2])
    print(f"forward   n={n:5d}  1 thread {f1:9.1f} us  2 threads {f2:9.1f} us  {'SLOWER' if f2 > 1.08 * f1 else ''}")
for opt_name in ("sgd", "adam"):
    for n in (1, 8, 16, 31, 32, 64, 128, 256):
        X = rng.standard_normal((n, 784)).astype(np.float32)
        y = rng.integers(0, 10, n)
        best = {1: [], 2: []}
        trainers = {t: fastnn.Trainer(model, "cross_entropy", fastnn.SGD(1e-9) if opt_name == "sgd"
                                      else fastnn.Adam(1e-9), batch_size=n) for t in (1, 2)}
        for _ in range(7):
            for t in (1, 2):
                fastnn.set_num_threads(t)
                tr = trainers[t]
                best[t].append(min(timeit.repeat(lambda: tr.step(X, y), number=max(1, 400 // n), repeat=1))
                               / max(1, 400 // n) * 1e6)
        s1, s2 = min(best[1]), min(best[2])
        print(f"step {opt_name:4s} n={n:5d}  1 thread {s1:9.1f} us  2 threads {s2:9.1f} us  "
              f"{'SLOWER' if s2 > 1.08 * s1 else ''}")

# Small networks, where going parallel may not pay: the measured bars
# (FNN_STEP_MIN_WORK_PER_THREAD, FNN_NETWORK_MIN_WORK_PER_THREAD) must keep
# every one of these at least as fast on 2 threads.
for widths in ([32, 32, 10], [64, 64, 10], [100, 100, 10], [128, 128, 10], [256, 256, 10]):
    small = fastnn.Sequential([fastnn.Dense(widths[0], widths[1], "sigmoid"),
                               fastnn.Dense(widths[1], widths[2], "softmax")], seed=0)
    for n in (1, 4, 16, 32, 64, 128):
        X = rng.standard_normal((n, widths[0])).astype(np.float32)
        y = rng.integers(0, widths[2], n)
        trainers = {t: fastnn.Trainer(small, "cross_entropy", fastnn.SGD(1e-9), batch_size=n) for t in (1, 2)}
        best = {("forward", 1): [], ("forward", 2): [], ("step", 1): [], ("step", 2): []}
        for _ in range(7):
            for t in (1, 2):
                fastnn.set_num_threads(t)
                best[("forward", t)].append(min(timeit.repeat(lambda: small.forward(X), number=500, repeat=1)) / 500 * 1e6)
                best[("step", t)].append(min(timeit.repeat(lambda: trainers[t].step(X, y), number=200, repeat=1)) / 200 * 1e6)
        for what in ("forward", "step"):
            a, b = min(best[(what, 1)]), min(best[(what, 2)])
            print(f"small {widths} {what:7s} n={n:4d}  1 thread {a:8.1f} us  2 threads {b:8.1f} us  "
                  f"{'SLOWER' if b > 1.08 * a else ''}")
