# cython: language_level=3, boundscheck=False, wraparound=False
"""Calls fastnn's kernels from Cython, with the GIL released.

Everything fastnn offers comes from ``fastnn.cython_kernels``: the module
needs no fastnn header and links nothing of fastnn's (Cython takes the
functions from fastnn's capsules when this module is imported).
"""

import numpy as np

from libc.stdint cimport int64_t

from fastnn.cython_kernels cimport (API_MINOR, API_VERSION, OK, dense_forward_f32, dense_forward_f64,
                                    network_train_step_f64, require_api, status_message, train_layer_f64)

# ImportError naming both versions if the installed fastnn's API is not
# the one this module was built against
require_api(API_VERSION, API_MINOR)


cdef _check(int status):
    if status != OK:
        raise ValueError(f"fastnn: {status_message(status).decode()}")


def dense_forward(X, W, b, int act, double slope=0.01):
    """act(X W^T + b) for C-contiguous float32 or float64 arrays of one dtype."""
    out = np.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
    if X.dtype == np.float32:
        return _forward32(X, W, b, act, slope, out)
    return _forward64(X, W, b, act, slope, out)


cdef _forward32(const float[:, ::1] X, const float[:, ::1] W, const float[::1] b, int act, double slope,
                float[:, ::1] out):
    cdef int status
    with nogil:
        status = dense_forward_f32(X.shape[0], X.shape[1], W.shape[0], &X[0, 0], &W[0, 0], &b[0], act,
                                   <float>slope, &out[0, 0])
    _check(status)
    return out.base


cdef _forward64(const double[:, ::1] X, const double[:, ::1] W, const double[::1] b, int act, double slope,
                double[:, ::1] out):
    cdef int status
    with nogil:
        status = dense_forward_f64(X.shape[0], X.shape[1], W.shape[0], &X[0, 0], &W[0, 0], &b[0], act, slope,
                                   &out[0, 0])
    _check(status)
    return out.base


def sgd_train_step(const double[:, ::1] X, const int64_t[::1] labels, list weights, list biases, list acts,
                   double lr):
    """One plain-SGD training step of a network with a softmax cross-entropy
    output, in one call; updates ``weights`` and ``biases`` (float64 arrays)
    in place and returns (loss, rows classified right)."""
    cdef int n = X.shape[0], n_layers = len(weights), i
    cdef train_layer_f64 layers[8]
    cdef double[:, ::1] w, a, g
    cdef double[::1] bias, db
    cdef double loss = 0.0
    cdef int64_t correct = 0
    cdef int status
    if not 1 <= n_layers <= 8:
        raise ValueError("1 to 8 layers")
    keep = []  # the work arrays, alive for the call
    for i in range(n_layers):
        w, bias = weights[i], biases[i]
        a = np.empty((n, w.shape[0]))
        g = np.empty((n, w.shape[0]))
        db = np.empty(w.shape[0])
        keep += [a, g, db]
        layers[i] = train_layer_f64(in_features=w.shape[1], out_features=w.shape[0], w=&w[0, 0], b=&bias[0],
                                    act=acts[i], slope=0.01, train=1, lr=lr, a=&a[0, 0], g=&g[0, 0],
                                    db=&db[0], dw=NULL, m_w=NULL, v_w=NULL, m_b=NULL, v_b=NULL)
    with nogil:
        status = network_train_step_f64(n, &X[0, 0], &labels[0], NULL, n_layers, layers, NULL, &loss, &correct)
    _check(status)
    return loss, correct


def null_pointer_status():
    """The status of a dense forward pass given a NULL input for 2 rows."""
    cdef double w[4]
    cdef double out[4]
    cdef int status
    with nogil:
        status = dense_forward_f64(2, 2, 2, NULL, w, NULL, 0, 0.0, out)
    return status


def status_of_bad_width():
    """The status of a dense forward pass with in_features = -1."""
    cdef double x[4]
    cdef double w[4]
    cdef double out[4]
    cdef int status
    with nogil:
        status = dense_forward_f64(2, -1, 2, x, w, NULL, 0, 0.0, out)
    return status
