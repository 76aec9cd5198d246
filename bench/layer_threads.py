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
