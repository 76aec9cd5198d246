# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False, embedsignature=True
"""Typed wrappers around fastnn's C kernels (csrc/fastnn.h).

One function here per C entry point, float32 and float64 through Cython's
fused types.  Each releases the GIL around the C call.  Callers normally go
through fastnn.kernels, which converts and validates arguments; the checks
here are the last line that keeps a bad shape from reaching C.
"""

from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, malloc, free
from libc.string cimport memcpy
from libc.math cimport isfinite
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_WRITABLE
from cpython.pycapsule cimport PyCapsule_New
from cython cimport floating

cdef extern from "fastnn.h" nogil:
    ctypedef enum fnn_status:
        FNN_OK
        FNN_ERR_NOMEM
        FNN_ERR_ARG
        FNN_ERR_LABEL
        FNN_ERR_NONFINITE
    ctypedef enum fnn_activation:
        pass

    int fnn_simd_compiled(const char **names, int max_names)
    int fnn_simd_supported(const char *name)
    const char *fnn_simd_selected()
    int fnn_simd_select(const char *name)
    void fnn_simd_tile(int double_precision, int *mr, int *nr)
    int fnn_openmp_version()
    int fnn_get_num_threads()
    void fnn_set_num_threads(int n)
    int fnn_default_num_threads()
    int fnn_last_gemm_threads()
    long fnn_idle_spin_us()

    ctypedef struct fnn_dense_layer_f32:
        int in_features, out_features
        const float *w
        const float *b
        fnn_activation act
        float slope
        int softmax
        float *a
    ctypedef struct fnn_dense_layer_f64:
        int in_features, out_features
        const double *w
        const double *b
        fnn_activation act
        double slope
        int softmax
        double *a
    fnn_status fnn_network_forward_f32(int n, const float *x, int n_layers, const fnn_dense_layer_f32 *layers)
    fnn_status fnn_network_forward_f64(int n, const double *x, int n_layers, const fnn_dense_layer_f64 *layers)
    fnn_status fnn_network_forward_checked_f32(int n, const float *x, int n_layers,
                                               const fnn_dense_layer_f32 *layers)
    fnn_status fnn_network_forward_checked_f64(int n, const double *x, int n_layers,
                                               const fnn_dense_layer_f64 *layers)

    ctypedef struct fnn_train_layer_f32:
        int in_features, out_features
        float *w
        float *b
        fnn_activation act
        float slope
        int train
        float lr
        float *a
        float *g
        float *db
        float *dw
        float *m_w
        float *v_w
        float *m_b
        float *v_b
    ctypedef struct fnn_train_layer_f64:
        int in_features, out_features
        double *w
        double *b
        fnn_activation act
        double slope
        int train
        double lr
        double *a
        double *g
        double *db
        double *dw
        double *m_w
        double *v_w
        double *m_b
        double *v_b
    ctypedef struct fnn_adam_f32:
        float b1, b2, eps, weight_decay, bc1, bc2
    ctypedef struct fnn_adam_f64:
        double b1, b2, eps, weight_decay, bc1, bc2
    ctypedef struct fnn_momentum_f32:
        float momentum, weight_decay
        int nesterov, lr_in_velocity
    ctypedef struct fnn_momentum_f64:
        double momentum, weight_decay
        int nesterov, lr_in_velocity
    fnn_status fnn_network_train_step_f32(int n, const float *x, const int64_t *labels, const float *y,
                                          int n_layers, const fnn_train_layer_f32 *layers,
                                          const fnn_adam_f32 *adam, const fnn_momentum_f32 *momentum, float l2,
                                          double *loss,
                                          int64_t *n_correct)
    fnn_status fnn_network_train_step_f64(int n, const double *x, const int64_t *labels, const double *y,
                                          int n_layers, const fnn_train_layer_f64 *layers,
                                          const fnn_adam_f64 *adam, const fnn_momentum_f64 *momentum, double l2,
                                          double *loss,
                                          int64_t *n_correct)
    fnn_status fnn_network_train_step_rows_f32(int n, const float *x_src, Py_ssize_t ld, int64_t n_src,
                                               const int64_t *rows, float *x_buf, const int64_t *labels,
                                               const float *y, int n_layers, const fnn_train_layer_f32 *layers,
                                               const fnn_adam_f32 *adam, const fnn_momentum_f32 *momentum, float l2,
                                          double *loss,
                                               int64_t *n_correct)
    fnn_status fnn_network_train_step_rows_f64(int n, const double *x_src, Py_ssize_t ld, int64_t n_src,
                                               const int64_t *rows, double *x_buf, const int64_t *labels,
                                               const double *y, int n_layers, const fnn_train_layer_f64 *layers,
                                               const fnn_adam_f64 *adam, const fnn_momentum_f64 *momentum, double l2,
                                          double *loss,
                                               int64_t *n_correct)

    fnn_status fnn_gemm_f32(int m, int n, int k, float alpha, const float *a, Py_ssize_t rsa, Py_ssize_t csa,
                            const float *b, Py_ssize_t rsb, Py_ssize_t csb, float beta, float *c, Py_ssize_t ldc,
                            const float *bias, fnn_activation act, float slope)
    fnn_status fnn_gemm_f64(int m, int n, int k, double alpha, const double *a, Py_ssize_t rsa, Py_ssize_t csa,
                            const double *b, Py_ssize_t rsb, Py_ssize_t csb, double beta, double *c, Py_ssize_t ldc,
                            const double *bias, fnn_activation act, double slope)
    fnn_status fnn_dense_forward_f32(int n, int in_, int out, const float *x, const float *w, const float *b,
                                     fnn_activation act, float slope, float *a)
    fnn_status fnn_dense_forward_f64(int n, int in_, int out, const double *x, const double *w, const double *b,
                                     fnn_activation act, double slope, double *a)
    fnn_status fnn_dense_backward_f32(int n, int in_, int out, const float *da, const float *a, const float *x,
                                      const float *w, fnn_activation act, float slope, float *dz, float *dw,
                                      float *db, float *dx)
    fnn_status fnn_dense_backward_f64(int n, int in_, int out, const double *da, const double *a, const double *x,
                                      const double *w, fnn_activation act, double slope, double *dz, double *dw,
                                      double *db, double *dx)
    fnn_status fnn_dense_backward_sgd_f32(int n, int in_, int out, const float *da, const float *a,
                                          const float *x, float *w, float *b, float lr, fnn_activation act,
                                          float slope, float *dz, float *db_work, float *dx)
    fnn_status fnn_dense_backward_sgd_f64(int n, int in_, int out, const double *da, const double *a,
                                          const double *x, double *w, double *b, double lr, fnn_activation act,
                                          double slope, double *dz, double *db_work, double *dx)
    void fnn_activation_f32(float *z, size_t len, fnn_activation act, float slope)
    void fnn_activation_f64(double *z, size_t len, fnn_activation act, double slope)
    void fnn_activation_derivative_f32(const float *a, float *d, size_t len, fnn_activation act, float slope)
    void fnn_activation_derivative_f64(const double *a, double *d, size_t len, fnn_activation act, double slope)
    void fnn_sgd_update_f32(float *p, const float *g, size_t len, float lr)
    void fnn_sgd_update_f64(double *p, const double *g, size_t len, double lr)
    void fnn_sgd_momentum_update_f32(float *p, const float *g, float *v, size_t len, float lr, float momentum,
                                     int nesterov, float weight_decay)
    void fnn_sgd_momentum_update_f64(double *p, const double *g, double *v, size_t len, double lr,
                                     double momentum, int nesterov, double weight_decay)
    void fnn_adam_update_f32(float *p, const float *g, float *m, float *v, size_t len, float lr, float b1,
                             float b2, float eps, float weight_decay, float bc1, float bc2)
    void fnn_adam_update_f64(double *p, const double *g, double *m, double *v, size_t len, double lr, double b1,
                             double b2, double eps, double weight_decay, double bc1, double bc2)
    double fnn_sgd_lr_momentum_update_f32(float *p, const float *g, float *v, size_t len, float lr, float momentum,
                                          int nesterov, float l2)
    double fnn_sgd_lr_momentum_update_f64(double *p, const double *g, double *v, size_t len, double lr,
                                          double momentum, int nesterov, double l2)
    double fnn_adam_l2_update_f32(float *p, const float *g, float *m, float *v, size_t len, float lr, float b1,
                                  float b2, float eps, float l2, float bc1, float bc2)
    double fnn_adam_l2_update_f64(double *p, const double *g, double *m, double *v, size_t len, double lr,
                                  double b1, double b2, double eps, double l2, double bc1, double bc2)
    size_t fnn_convert_f64_f32(const double *src, float *dst, size_t len)
    fnn_status fnn_gather_rows_f32(const float *src, Py_ssize_t ld_src, int64_t n_src, const int64_t *idx, int n,
                                   int cols, float *out)
    fnn_status fnn_gather_rows_f64(const double *src, Py_ssize_t ld_src, int64_t n_src, const int64_t *idx, int n,
                                   int cols, double *out)
    fnn_status fnn_shift_images_f32(int64_t n, int h, int w, const float *src, const int64_t *dy,
                                    const int64_t *dx, float fill, float *dst)
    fnn_status fnn_shift_images_f64(int64_t n, int h, int w, const double *src, const int64_t *dy,
                                    const int64_t *dx, double fill, double *dst)
    int fnn_all_finite_f32(const float *x, size_t len)
    int fnn_all_finite_f64(const double *x, size_t len)
    void fnn_softmax_f32(int n, int k, const float *z, float *p)
    void fnn_softmax_f64(int n, int k, const double *z, double *p)
    fnn_status fnn_softmax_cross_entropy_f32(int n, int k, const float *z, const int64_t *labels, const float *y,
                                             float *dz, double *loss, int64_t *n_correct)
    fnn_status fnn_softmax_cross_entropy_f64(int n, int k, const double *z, const int64_t *labels,
                                             const double *y, double *dz, double *loss, int64_t *n_correct)
    void fnn_sigmoid_bce_f32(int n, int k, const float *z, const float *t, float *dz, double *loss)
    void fnn_sigmoid_bce_f64(int n, int k, const double *z, const double *t, double *dz, double *loss)
    void fnn_half_squared_error_f32(int n, int k, const float *y, const float *t, float *dy, double *loss)
    void fnn_half_squared_error_f64(int n, int k, const double *y, const double *t, double *dy, double *loss)
    void fnn_mse_f32(int n, int k, const float *y, const float *t, float *dy, double *loss)
    void fnn_mse_f64(int n, int k, const double *y, const double *t, double *dy, double *loss)


# Activation codes, in the order of fnn_activation.
# ---- the public C API ------------------------------------------------------------

cdef extern from "fastnn.h":
    const void *fnn_get_api()

# The table of checked entry points for other extension modules
# (include/fastnn/fastnn_api.h: fastnn_import_api() reads it; so does
# fastnn.cython_kernels).
_C_API = PyCapsule_New(<void *>fnn_get_api(), b"fastnn._core._C_API", NULL)

ACTIVATION_CODES = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4, "softplus": 5}

# The C kernels index with int and round a dimension up to whole tiles and
# blocks (at most 1024 elements) in int arithmetic: keep that from
# overflowing (fastnn._memory.MAX_DIM is the same bound).
cdef int _MAX_DIM = 2147483647 - 1024


cdef int _check(fnn_status st) except -1:
    if st == FNN_OK:
        return 0
    if st == FNN_ERR_NOMEM:
        raise MemoryError("fastnn: could not allocate a packing buffer")
    if st == FNN_ERR_LABEL:
        raise ValueError("labels must lie in [0, n_classes)")
    raise ValueError("fastnn: a kernel rejected its arguments")


cdef int _dims(Py_ssize_t n) except -1:
    # The C kernels index with int: refuse what would overflow it.
    if n > _MAX_DIM:
        raise ValueError(f"dimension {n} is too large for fastnn's kernels (max {_MAX_DIM})")
    return <int>n


cdef inline int _shape(str what, Py_ssize_t got, Py_ssize_t want) except -1:
    if got != want:
        raise ValueError(f"{what}: expected {want}, got {got}")
    return 0


# ---- run time ------------------------------------------------------------

def simd_compiled():
    """Names of the SIMD paths compiled into this build, lowest first."""
    cdef const char *names[8]
    cdef int n = fnn_simd_compiled(names, 8)
    return [names[i].decode() for i in range(min(n, 8))]


def simd_supported(str name):
    return bool(fnn_simd_supported(name.encode()))


def simd_selected():
    return fnn_simd_selected().decode()


def simd_select(str name):
    if fnn_simd_select(name.encode()) != 0:
        raise ValueError(f"SIMD path {name!r} is not available on this CPU; available: "
                         f"{[p for p in simd_compiled() if simd_supported(p)]}")


def simd_tile(bint double_precision):
    cdef int mr = 0, nr = 0
    fnn_simd_tile(double_precision, &mr, &nr)
    return mr, nr


def openmp_version():
    return fnn_openmp_version()


def get_num_threads():
    return fnn_get_num_threads()


def set_num_threads(int n):
    fnn_set_num_threads(n)


def default_num_threads():
    return fnn_default_num_threads()


def last_gemm_threads():
    return fnn_last_gemm_threads()


def idle_spin_us():
    return fnn_idle_spin_us()


cdef extern from "fnn_internal.h" nogil:
    ctypedef struct fnn_cpu:
        char vendor[16]
        char model_name[64]
        int family, model
        long l1d_bytes, l2_bytes, l3_bytes
        int prefetchw
    ctypedef struct fnn_config:
        const char *name
        int kc
        int panel_kb
        double gemm_min_work, backward_min_work, network_min_work, step_min_work
        int small_m
        int dot_k_per_row
        int direct_b_slivers
        int transposed_tiles
    const fnn_config *fnn_kernel_config()
    const fnn_cpu *fnn_cpu_info()
    int fnn_cpu_config_names(const char **names, int max_names)


def cpu_info():
    """The CPU as the kernels see it: CPUID vendor, family, model, name, cache sizes (bytes)."""
    cdef const fnn_cpu *c = fnn_cpu_info()
    return {"vendor": c.vendor.decode(), "model_name": c.model_name.decode(errors="replace"),
            "family": c.family, "model": c.model, "l1d_bytes": c.l1d_bytes, "l2_bytes": c.l2_bytes,
            "l3_bytes": c.l3_bytes, "prefetchw": bool(c.prefetchw)}


def kernel_config():
    """The per-CPU kernel parameters in use (csrc/cpu.c's table row, with FASTNN_* overrides)."""
    cdef const fnn_config *k = fnn_kernel_config()
    return {"name": k.name.decode(), "kc": k.kc, "panel_kb": k.panel_kb, "gemm_min_work": k.gemm_min_work,
            "backward_min_work": k.backward_min_work, "network_min_work": k.network_min_work,
            "step_min_work": k.step_min_work, "small_m": k.small_m,
            "dot_k_per_row": k.dot_k_per_row, "direct_b_slivers": k.direct_b_slivers,
            "transposed_tiles": k.transposed_tiles}


def cpu_config_names():
    """The rows of csrc/cpu.c's table (what FASTNN_CPU may name)."""
    cdef const char *names[32]
    cdef int n = fnn_cpu_config_names(names, 32)
    return [names[i].decode() for i in range(min(n, 32))]


# ---- GEMM ------------------------------------------------------------------

def gemm(const floating[:, ::1] A, const floating[:, ::1] B, floating[:, ::1] C,
         double alpha=1.0, double beta=0.0, bint trans_a=False, bint trans_b=False,
         const floating[::1] bias=None, int act=0, double slope=0.01):
    """C = act(alpha op(A) op(B) + beta C + bias), op = transpose if asked."""
    cdef Py_ssize_t m = A.shape[1] if trans_a else A.shape[0]
    cdef Py_ssize_t k = A.shape[0] if trans_a else A.shape[1]
    cdef Py_ssize_t kb = B.shape[1] if trans_b else B.shape[0]
    cdef Py_ssize_t n = B.shape[0] if trans_b else B.shape[1]
    _shape("inner dimensions of op(A) and op(B)", kb, k)
    _shape("rows of C", C.shape[0], m)
    _shape("columns of C", C.shape[1], n)
    if bias is not None:
        _shape("length of bias", bias.shape[0], n)
    cdef Py_ssize_t rsa = 1 if trans_a else A.shape[1]
    cdef Py_ssize_t csa = A.shape[1] if trans_a else 1
    cdef Py_ssize_t rsb = 1 if trans_b else B.shape[1]
    cdef Py_ssize_t csb = B.shape[1] if trans_b else 1
    cdef int im = _dims(m), i_n = _dims(n), ik = _dims(k)
    cdef const floating *pb = NULL if bias is None else &bias[0]
    cdef fnn_status st
    with nogil:
        if floating is float:
            st = fnn_gemm_f32(im, i_n, ik, <float>alpha, &A[0, 0], rsa, csa, &B[0, 0], rsb, csb, <float>beta,
                              &C[0, 0], C.shape[1], pb, <fnn_activation>act, <float>slope)
        else:
            st = fnn_gemm_f64(im, i_n, ik, alpha, &A[0, 0], rsa, csa, &B[0, 0], rsb, csb, beta,
                              &C[0, 0], C.shape[1], pb, <fnn_activation>act, slope)
    _check(st)


# ---- dense layer -------------------------------------------------------------

def dense_forward(const floating[:, ::1] X, const floating[:, ::1] W, const floating[::1] b,
                  floating[:, ::1] out, int act, double slope):
    """out = act(X W^T + b); b may be None."""
    cdef Py_ssize_t n = X.shape[0], fin = X.shape[1], fout = W.shape[0]
    _shape("W.shape[1] (in_features) vs X.shape[1]", W.shape[1], fin)
    _shape("out.shape[0]", out.shape[0], n)
    _shape("out.shape[1]", out.shape[1], fout)
    if b is not None:
        _shape("b.shape[0] (out_features)", b.shape[0], fout)
    cdef const floating *pb = NULL if b is None else &b[0]
    cdef int i_n = _dims(n), i_in = _dims(fin), i_out = _dims(fout)
    cdef fnn_status st
    with nogil:
        if floating is float:
            st = fnn_dense_forward_f32(i_n, i_in, i_out, &X[0, 0], &W[0, 0], pb, <fnn_activation>act,
                                       <float>slope, &out[0, 0])
        else:
            st = fnn_dense_forward_f64(i_n, i_in, i_out, &X[0, 0], &W[0, 0], pb, <fnn_activation>act,
                                       slope, &out[0, 0])
    _check(st)


def dense_backward(const floating[:, ::1] dA, const floating[:, ::1] A, const floating[:, ::1] X,
                   const floating[:, ::1] W, int act, double slope, floating[:, ::1] dZ,
                   floating[:, ::1] dW, floating[::1] db, floating[:, ::1] dX):
    """dZ = dA act'(A); dW = dZ^T X; db = sum dZ; dX = dZ W (dW, db, dX may be None)."""
    cdef Py_ssize_t n = X.shape[0], fin = X.shape[1], fout = W.shape[0]
    _shape("W.shape[1] (in_features) vs X.shape[1]", W.shape[1], fin)
    for name, arr in (("dA", dA), ("A", A), ("dZ", dZ)):
        _shape(f"{name}.shape[0]", arr.shape[0], n)
        _shape(f"{name}.shape[1]", arr.shape[1], fout)
    if dW is not None:
        _shape("dW.shape[0]", dW.shape[0], fout)
        _shape("dW.shape[1]", dW.shape[1], fin)
    if db is not None:
        _shape("db.shape[0]", db.shape[0], fout)
    if dX is not None:
        _shape("dX.shape[0]", dX.shape[0], n)
        _shape("dX.shape[1]", dX.shape[1], fin)
    cdef floating *pdw = NULL if dW is None else &dW[0, 0]
    cdef floating *pdb = NULL if db is None else &db[0]
    cdef floating *pdx = NULL if dX is None else &dX[0, 0]
    cdef int i_n = _dims(n), i_in = _dims(fin), i_out = _dims(fout)
    cdef fnn_status st
    with nogil:
        if floating is float:
            st = fnn_dense_backward_f32(i_n, i_in, i_out, &dA[0, 0], &A[0, 0], &X[0, 0], &W[0, 0],
                                        <fnn_activation>act, <float>slope, &dZ[0, 0], pdw, pdb, pdx)
        else:
            st = fnn_dense_backward_f64(i_n, i_in, i_out, &dA[0, 0], &A[0, 0], &X[0, 0], &W[0, 0],
                                        <fnn_activation>act, slope, &dZ[0, 0], pdw, pdb, pdx)
    _check(st)


def dense_backward_sgd(const floating[:, ::1] dA, const floating[:, ::1] A, const floating[:, ::1] X,
                       floating[:, ::1] W, floating[::1] b, double lr, int act, double slope,
                       floating[:, ::1] dZ, floating[::1] db_work, floating[:, ::1] dX):
    """Backward pass fused with SGD: dX with the old W, then W -= lr dW, b -= lr db."""
    cdef Py_ssize_t n = X.shape[0], fin = X.shape[1], fout = W.shape[0]
    _shape("W.shape[1] (in_features) vs X.shape[1]", W.shape[1], fin)
    for name, arr in (("dA", dA), ("A", A), ("dZ", dZ)):
        _shape(f"{name}.shape[0]", arr.shape[0], n)
        _shape(f"{name}.shape[1]", arr.shape[1], fout)
    _shape("db_work.shape[0]", db_work.shape[0], fout)
    if b is not None:
        _shape("b.shape[0]", b.shape[0], fout)
    if dX is not None:
        _shape("dX.shape[0]", dX.shape[0], n)
        _shape("dX.shape[1]", dX.shape[1], fin)
    cdef floating *pb = NULL if b is None else &b[0]
    cdef floating *pdx = NULL if dX is None else &dX[0, 0]
    cdef int i_n = _dims(n), i_in = _dims(fin), i_out = _dims(fout)
    cdef fnn_status st
    with nogil:
        if floating is float:
            st = fnn_dense_backward_sgd_f32(i_n, i_in, i_out, &dA[0, 0], &A[0, 0], &X[0, 0], &W[0, 0], pb,
                                            <float>lr, <fnn_activation>act, <float>slope, &dZ[0, 0],
                                            &db_work[0], pdx)
        else:
            st = fnn_dense_backward_sgd_f64(i_n, i_in, i_out, &dA[0, 0], &A[0, 0], &X[0, 0], &W[0, 0], pb,
                                            lr, <fnn_activation>act, slope, &dZ[0, 0], &db_work[0], pdx)
    _check(st)


# ---- element-wise --------------------------------------------------------------

def activation_inplace(floating[::1] z, int act, double slope):
    """z <- act(z) with the SIMD path's vector maths (the GEMM epilogue's)."""
    with nogil:
        if floating is float:
            fnn_activation_f32(&z[0], z.shape[0], <fnn_activation>act, <float>slope)
        else:
            fnn_activation_f64(&z[0], z.shape[0], <fnn_activation>act, slope)


def activation_derivative(const floating[::1] a, floating[::1] d, int act, double slope):
    _shape("length of the derivative buffer", d.shape[0], a.shape[0])
    with nogil:
        if floating is float:
            fnn_activation_derivative_f32(&a[0], &d[0], a.shape[0], <fnn_activation>act, <float>slope)
        else:
            fnn_activation_derivative_f64(&a[0], &d[0], a.shape[0], <fnn_activation>act, slope)


def sgd_update(floating[::1] p, const floating[::1] g, double lr):
    _shape("length of grad", g.shape[0], p.shape[0])
    with nogil:
        if floating is float:
            fnn_sgd_update_f32(&p[0], &g[0], p.shape[0], <float>lr)
        else:
            fnn_sgd_update_f64(&p[0], &g[0], p.shape[0], lr)


def sgd_momentum_update(floating[::1] p, const floating[::1] g, floating[::1] v, double lr, double momentum,
                        bint nesterov, double weight_decay):
    """Momentum SGD step in place (fnn_sgd_momentum_update)."""
    _shape("length of grad", g.shape[0], p.shape[0])
    _shape("length of velocity", v.shape[0], p.shape[0])
    with nogil:
        if floating is float:
            fnn_sgd_momentum_update_f32(&p[0], &g[0], &v[0], p.shape[0], <float>lr, <float>momentum, nesterov,
                                        <float>weight_decay)
        else:
            fnn_sgd_momentum_update_f64(&p[0], &g[0], &v[0], p.shape[0], lr, momentum, nesterov, weight_decay)


def adam_update(floating[::1] p, const floating[::1] g, floating[::1] m, floating[::1] v, double lr, double b1,
                double b2, double eps, double weight_decay, double bc1, double bc2):
    """Adam/AdamW step in place (fnn_adam_update)."""
    _shape("length of grad", g.shape[0], p.shape[0])
    _shape("length of first moment", m.shape[0], p.shape[0])
    _shape("length of second moment", v.shape[0], p.shape[0])
    with nogil:
        if floating is float:
            fnn_adam_update_f32(&p[0], &g[0], &m[0], &v[0], p.shape[0], <float>lr, <float>b1, <float>b2,
                                <float>eps, <float>weight_decay, <float>bc1, <float>bc2)
        else:
            fnn_adam_update_f64(&p[0], &g[0], &m[0], &v[0], p.shape[0], lr, b1, b2, eps, weight_decay, bc1, bc2)


def adam_l2_update(floating[::1] p, const floating[::1] g, floating[::1] m, floating[::1] v, double lr,
                   double b1, double b2, double eps, double l2, double bc1, double bc2):
    """Adam on g + l2 p in place, returning sum(p**2) before the update (fnn_adam_l2_update)."""
    cdef double squares
    _shape("length of grad", g.shape[0], p.shape[0])
    _shape("length of first moment", m.shape[0], p.shape[0])
    _shape("length of second moment", v.shape[0], p.shape[0])
    with nogil:
        if floating is float:
            squares = fnn_adam_l2_update_f32(&p[0], &g[0], &m[0], &v[0], p.shape[0], <float>lr, <float>b1,
                                             <float>b2, <float>eps, <float>l2, <float>bc1, <float>bc2)
        else:
            squares = fnn_adam_l2_update_f64(&p[0], &g[0], &m[0], &v[0], p.shape[0], lr, b1, b2, eps, l2, bc1,
                                             bc2)
    return squares


def sgd_lr_momentum_update(floating[::1] p, const floating[::1] g, floating[::1] v, double lr, double momentum,
                           bint nesterov, double l2):
    """scikit-learn's momentum SGD on g + l2 p in place, returning sum(p**2)
    before the update when l2 is not 0 (fnn_sgd_lr_momentum_update)."""
    cdef double squares
    _shape("length of grad", g.shape[0], p.shape[0])
    _shape("length of velocity", v.shape[0], p.shape[0])
    with nogil:
        if floating is float:
            squares = fnn_sgd_lr_momentum_update_f32(&p[0], &g[0], &v[0], p.shape[0], <float>lr, <float>momentum,
                                                     nesterov, <float>l2)
        else:
            squares = fnn_sgd_lr_momentum_update_f64(&p[0], &g[0], &v[0], p.shape[0], lr, momentum, nesterov, l2)
    return squares


def convert_f64_f32(const double[::1] src, float[::1] dst):
    """dst = src as float32 (fnn_convert_f64_f32, on fastnn's threads when
    large); returns how many results are not finite."""
    _shape("dst.shape[0] vs src.shape[0]", dst.shape[0], src.shape[0])
    cdef size_t bad = 0, n = src.shape[0]
    if n:
        with nogil:
            bad = fnn_convert_f64_f32(&src[0], &dst[0], n)
    return bad


def gather_rows(const floating[:, ::1] src, const int64_t[::1] idx, floating[:, ::1] out):
    """out[i] = src[idx[i]] (fnn_gather_rows): a shuffled minibatch."""
    _shape("out.shape[0] vs len(idx)", out.shape[0], idx.shape[0])
    _shape("out.shape[1] vs src.shape[1]", out.shape[1], src.shape[1])
    cdef int n = _dims(idx.shape[0]), cols = _dims(src.shape[1])
    cdef fnn_status st
    with nogil:
        if floating is float:
            st = fnn_gather_rows_f32(&src[0, 0], src.shape[1], src.shape[0], &idx[0], n, cols, &out[0, 0])
        else:
            st = fnn_gather_rows_f64(&src[0, 0], src.shape[1], src.shape[0], &idx[0], n, cols, &out[0, 0])
    if st != FNN_OK:
        raise IndexError("gather_rows: an index is outside the source rows")


def shift_images(const floating[:, ::1] src, const int64_t[::1] dy, const int64_t[::1] dx, int h, int w,
                 double fill, floating[:, ::1] out):
    """out[i] = image i of src (h x w) moved down dy[i] rows and right dx[i]
    columns, fill where uncovered (fnn_shift_images); out must not overlap
    src (the caller checks)."""
    _shape("out.shape[0] vs src.shape[0]", out.shape[0], src.shape[0])
    _shape("out.shape[1] vs src.shape[1]", out.shape[1], src.shape[1])
    _shape("len(dy) vs src.shape[0]", dy.shape[0], src.shape[0])
    _shape("len(dx) vs src.shape[0]", dx.shape[0], src.shape[0])
    if h < 0 or w < 0:
        raise ValueError(f"shift_images: image shape ({h}, {w}) has a negative side")
    _shape("src.shape[1] vs the image's pixels", src.shape[1], <Py_ssize_t>h * w)
    cdef int64_t n = src.shape[0]
    if n == 0 or h == 0 or w == 0:
        return
    with nogil:
        if floating is float:
            fnn_shift_images_f32(n, h, w, &src[0, 0], &dy[0], &dx[0], <float>fill, &out[0, 0])
        else:
            fnn_shift_images_f64(n, h, w, &src[0, 0], &dy[0], &dx[0], fill, &out[0, 0])


def all_finite(x):
    """True if every element of x (a C-contiguous float32 or float64 array of
    any shape) is finite.  Reads the buffer directly: no reshape, and no
    fused-type dispatch, which would cost more than scanning a small input."""
    cdef Py_buffer view
    cdef int ok
    PyObject_GetBuffer(x, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    try:
        if view.len and <size_t>view.buf % <size_t>view.itemsize != 0:
            raise ValueError("all_finite needs an aligned buffer (not a view at an odd byte offset)")
        fmt = view.format.decode().lstrip("@=")  # native byte order only
        if view.itemsize == 4 and fmt == "f":
            with nogil:
                ok = fnn_all_finite_f32(<const float *>view.buf, <size_t>(view.len // 4))
        elif view.itemsize == 8 and fmt == "d":
            with nogil:
                ok = fnn_all_finite_f64(<const double *>view.buf, <size_t>(view.len // 8))
        else:
            raise TypeError(f"all_finite needs native float32 or float64 data, got buffer format {fmt!r}")
    finally:
        PyBuffer_Release(&view)
    return bool(ok)


# ---- a whole network ------------------------------------------------------------

# Bumped by every assignment to a Dense layer's attributes: a bound network
# re-checks its layers only when this has moved.
cdef unsigned long long _layer_generation = 0
# NetworkForward runs batches through the network this many rows at a time.
cdef Py_ssize_t _NETWORK_CHUNK_ROWS = 1024

from numpy import empty as _np_empty


def bump_layer_generation():
    global _layer_generation
    _layer_generation += 1


cdef bint _still_bound(list layers, tuple bound, tuple arrays, tuple activations, tuple slopes,
                       unsigned long long generation):
    """True if ``layers`` are the ``bound`` layers, still holding the bound
    weight and bias arrays, activations and slopes (NetworkForward and
    NetworkTrainStep).  The attributes are compared only when some layer
    has been assigned to since ``generation`` (Dense bumps
    _layer_generation on every assignment)."""
    cdef Py_ssize_t i, n = len(bound)
    if len(layers) != n:
        return False
    for i in range(n):
        if layers[i] is not bound[i]:
            return False
    if generation == _layer_generation:
        return True
    for i in range(n):
        layer = layers[i]
        pair = <tuple>arrays[i]
        if (layer.weight is not pair[0] or layer.bias is not pair[1]
                or layer.activation is not activations[i] or layer.slope != slopes[i]):
            return False
    return True


cdef fnn_status _network_call(bint f64, bint checked, int n, const char *x, int n_layers,
                              char *table) noexcept nogil:
    """fnn_network_forward(_checked) of the dtype on n rows of x, with the
    layer table at ``table``."""
    if f64:
        if checked:
            return fnn_network_forward_checked_f64(n, <const double *>x, n_layers, <fnn_dense_layer_f64 *>table)
        return fnn_network_forward_f64(n, <const double *>x, n_layers, <fnn_dense_layer_f64 *>table)
    if checked:
        return fnn_network_forward_checked_f32(n, <const float *>x, n_layers, <fnn_dense_layer_f32 *>table)
    return fnn_network_forward_f32(n, <const float *>x, n_layers, <fnn_dense_layer_f32 *>table)


cdef class NetworkForward:
    """A network's layers bound once for fnn_network_forward (one C call per
    forward pass: the batch-1 latency path).

    Holds each layer's weight and bias arrays, so the pointers it keeps stay
    valid; ``matches(layers)`` tells whether the layers still hold those
    very arrays, activations and slopes (the model rebuilds the binding
    when they do not).  Calls from several threads at once are safe: each
    call fills its own copy of the layer table and its own activations.
    """
    cdef readonly tuple layers
    cdef tuple arrays, activations, slopes
    cdef int n_layers
    cdef bint f64
    cdef Py_ssize_t hidden_width  # sum of the hidden layers' widths
    cdef void *table              # fnn_dense_layer_f32/f64[n_layers], a == NULL
    cdef unsigned long long generation  # _layer_generation when last checked
    cdef readonly int in_features, out_features
    cdef readonly object dtype

    def __cinit__(self, layers, weights, biases, act_codes, slopes, activations, bint softmax):
        cdef Py_ssize_t i, n = len(layers)
        cdef const float[:, ::1] w32
        cdef const double[:, ::1] w64
        cdef const float[::1] b32
        cdef const double[::1] b64
        cdef fnn_dense_layer_f32 *t32
        cdef fnn_dense_layer_f64 *t64
        if n < 1:
            raise ValueError("a network needs at least one layer")
        self.layers = tuple(layers)
        self.arrays = tuple(zip(weights, biases))
        self.activations = tuple(activations)
        self.slopes = tuple(slopes)
        self.n_layers = _dims(n)
        self.f64 = weights[0].dtype.itemsize == 8
        self.table = malloc(n * (sizeof(fnn_dense_layer_f64) if self.f64 else sizeof(fnn_dense_layer_f32)))
        if self.table == NULL:
            raise MemoryError("fastnn: could not allocate the layer table")
        t32 = <fnn_dense_layer_f32 *>self.table
        t64 = <fnn_dense_layer_f64 *>self.table
        self.hidden_width = 0
        self.generation = _layer_generation
        self.dtype = weights[0].dtype
        self.in_features = _dims(weights[0].shape[1])
        self.out_features = _dims(weights[n - 1].shape[0])
        for i in range(n):
            W, b = weights[i], biases[i]
            if i > 0:
                _shape(f"layer {i} in_features vs layer {i - 1} out_features", W.shape[1], weights[i - 1].shape[0])
            if b is not None:
                _shape(f"layer {i} bias length", b.shape[0], W.shape[0])
            if i + 1 < n:
                self.hidden_width += W.shape[0]
            if self.f64:
                w64 = W
                t64[i].in_features = _dims(W.shape[1])
                t64[i].out_features = _dims(W.shape[0])
                t64[i].w = &w64[0, 0]
                t64[i].b = NULL
                if b is not None:
                    b64 = b
                    t64[i].b = &b64[0]
                t64[i].act = <fnn_activation><int>act_codes[i]
                t64[i].slope = slopes[i]
                t64[i].softmax = softmax and i + 1 == n
                t64[i].a = NULL
            else:
                w32 = W
                t32[i].in_features = _dims(W.shape[1])
                t32[i].out_features = _dims(W.shape[0])
                t32[i].w = &w32[0, 0]
                t32[i].b = NULL
                if b is not None:
                    b32 = b
                    t32[i].b = &b32[0]
                t32[i].act = <fnn_activation><int>act_codes[i]
                t32[i].slope = <float>slopes[i]
                t32[i].softmax = softmax and i + 1 == n
                t32[i].a = NULL

    def __dealloc__(self):
        free(self.table)

    def matches(self, list layers):
        """True if ``layers`` are the bound layers, holding the bound
        arrays, activations and slopes.  Attributes are compared only when
        some layer has been assigned to since the last check (Dense bumps
        a generation counter on every assignment): at batch 1 the full
        comparison would cost a tenth of the forward pass."""
        if not _still_bound(layers, self.layers, self.arrays, self.activations, self.slopes, self.generation):
            return False
        self.generation = _layer_generation
        return True

    def run(self, X):
        """The output for X (n, in_features), or None when X is not a
        C-contiguous array of the network's dtype with rows the kernels take
        in one call (the caller then converts and checks it the long way).
        Raises ValueError for NaN or infinity, like the model's checks (made
        by the kernels: a large X is not read a second time for them).
        X's and the output's buffers go to C as they are, without the typed
        memoryviews forward() builds: at batch 1 those cost a tenth of the
        call."""
        cdef Py_buffer view, oview
        cdef char want = c'd' if self.f64 else c'f'
        try:
            PyObject_GetBuffer(X, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
        except (BufferError, ValueError, TypeError):
            return None  # not a contiguous buffer
        try:
            if (view.ndim != 2 or view.shape[1] != self.in_features
                    or view.format == NULL or view.format[0] != want or view.format[1] != 0
                    or <size_t>view.buf % <size_t>view.itemsize != 0):  # misaligned: the caller copies
                return None
            out = _np_empty((view.shape[0], self.out_features), self.dtype)
            PyObject_GetBuffer(out, &oview, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE)
            try:
                self._forward(view.buf, view.shape[0], oview.buf, True)
            finally:
                PyBuffer_Release(&oview)
        finally:
            PyBuffer_Release(&view)
        return out

    def forward(self, X, out):
        """out = the network's output for X (n, in_features), both C-contiguous
        arrays of the network's dtype.  (Not a fused-type method: Cython's
        dispatch on fused types would cost as much as a small layer.)"""
        cdef const float[:, ::1] x32
        cdef float[:, ::1] o32
        cdef const double[:, ::1] x64
        cdef double[:, ::1] o64
        if self.f64:
            x64, o64 = X, out
            self._shapes(x64.shape[0], x64.shape[1], o64.shape[0], o64.shape[1])
            if x64.shape[0]:
                self._forward(&x64[0, 0], x64.shape[0], &o64[0, 0], False)
        else:
            x32, o32 = X, out
            self._shapes(x32.shape[0], x32.shape[1], o32.shape[0], o32.shape[1])
            if x32.shape[0]:
                self._forward(&x32[0, 0], x32.shape[0], &o32[0, 0], False)

    cdef int _shapes(self, Py_ssize_t n, Py_ssize_t cols, Py_ssize_t out_rows, Py_ssize_t out_cols) except -1:
        _shape("X.shape[1] (in_features)", cols, self.in_features)
        _shape("out.shape[0]", out_rows, n)
        _shape("out.shape[1] (out_features)", out_cols, self.out_features)
        return 0

    cdef int _forward(self, const void *X, Py_ssize_t n, void *out, bint checked) except -1:
        # X (n x in_features) and out (n x out_features): C-contiguous
        # arrays of the network's dtype.  checked: refuse a NaN or an
        # infinity in X (ValueError).
        cdef Py_ssize_t i, off = 0, last = self.n_layers - 1
        if n == 0:
            return 0
        _dims(n)
        # Rows go through the network in chunks, so that a chunk's
        # activations stay in cache from one layer to the next instead of
        # travelling to memory and back.
        cdef Py_ssize_t chunk = min(n, _NETWORK_CHUNK_ROWS), s0, rows
        cdef size_t item = sizeof(double) if self.f64 else sizeof(float)
        cdef size_t tbytes = self.n_layers * (sizeof(fnn_dense_layer_f64) if self.f64
                                              else sizeof(fnn_dense_layer_f32))
        cdef char *block = <char *>self._alloc(chunk, tbytes, item)
        cdef char *h = block + tbytes
        cdef fnn_dense_layer_f32 *t32 = <fnn_dense_layer_f32 *>block
        cdef fnn_dense_layer_f64 *t64 = <fnn_dense_layer_f64 *>block
        cdef const char *x = <const char *>X
        cdef char *o = <char *>out
        cdef fnn_status st = FNN_OK
        with nogil:
            # This call's own copy of the table: concurrent calls never share one.
            memcpy(block, self.table, tbytes)
            for i in range(last):
                if self.f64:
                    t64[i].a = <double *>(h + off)
                    off += chunk * t64[i].out_features * item
                else:
                    t32[i].a = <float *>(h + off)
                    off += chunk * t32[i].out_features * item
            s0 = 0
            while s0 < n and st == FNN_OK:
                rows = min(chunk, n - s0)
                if self.f64:
                    t64[last].a = <double *>(o + s0 * self.out_features * item)
                else:
                    t32[last].a = <float *>(o + s0 * self.out_features * item)
                st = _network_call(self.f64, checked, <int>rows, x + s0 * self.in_features * item,
                                   self.n_layers, block)
                s0 += rows
            free(block)
        if st == FNN_ERR_NONFINITE:
            raise ValueError("X contains NaN or infinity")
        return _check(st)

    cdef void *_alloc(self, Py_ssize_t n, size_t tbytes, size_t itemsize) except NULL:
        # The layer table and n rows of hidden activations, in one block.
        cdef size_t hidden = <size_t>n * <size_t>self.hidden_width
        if hidden > ((<size_t>-1) - tbytes) // itemsize:
            raise MemoryError(f"fastnn: {n} rows of hidden activations do not fit in memory")
        cdef void *block = malloc(tbytes + hidden * itemsize)
        if block == NULL:
            raise MemoryError(f"fastnn: could not allocate {n} rows of hidden activations "
                              f"({hidden * itemsize} bytes)")
        return block


cdef inline void _point_f32(float **p, float[:, ::1] m2, float[::1] m1):
    p[0] = NULL
    if m2 is not None:
        p[0] = &m2[0, 0]
    elif m1 is not None:
        p[0] = &m1[0]


cdef inline void _point_f64(double **p, double[:, ::1] m2, double[::1] m1):
    p[0] = NULL
    if m2 is not None:
        p[0] = &m2[0, 0]
    elif m1 is not None:
        p[0] = &m1[0]


cdef inline fnn_status _gather_targets(int n, const int64_t *rows, Py_ssize_t n_src, const int64_t *labels,
                                       const floating *y, int width, int64_t *label_buf,
                                       floating *y_buf) noexcept nogil:
    # A batch's targets, labels[rows] or y[rows] (FNN_ERR_ARG for a row outside [0, n_src)).
    cdef int i
    cdef int64_t r
    for i in range(n):
        r = rows[i]
        if r < 0 or r >= n_src:
            return FNN_ERR_ARG
        if labels != NULL:
            label_buf[i] = labels[r]
        else:
            memcpy(y_buf + i * width, y + r * width, width * sizeof(floating))
    return FNN_OK


cdef struct _Update:
    # A step's update: NULL, NULL for plain SGD, else the constants of Adam or momentum SGD.
    const fnn_adam_f32 *adam32
    const fnn_adam_f64 *adam64
    const fnn_momentum_f32 *mom32
    const fnn_momentum_f64 *mom64


cdef inline fnn_status _train_step(int n, const floating *x, const int64_t *labels, const floating *y, int n_layers,
                                   void *table, const _Update *u, double l2, double *loss,
                                   int64_t *n_correct) noexcept nogil:
    if floating is float:
        return fnn_network_train_step_f32(n, x, labels, y, n_layers, <const fnn_train_layer_f32 *>table,
                                          u.adam32, u.mom32, <float>l2, loss, n_correct)
    else:
        return fnn_network_train_step_f64(n, x, labels, y, n_layers, <const fnn_train_layer_f64 *>table,
                                          u.adam64, u.mom64, l2, loss, n_correct)


cdef inline fnn_status _train_step_rows(int n, const floating *x, Py_ssize_t ld, int64_t n_src, const int64_t *rows,
                                        floating *x_buf, const int64_t *labels, const floating *y, int n_layers,
                                        void *table, const _Update *u, double l2, double *loss,
                                        int64_t *n_correct) noexcept nogil:
    if floating is float:
        return fnn_network_train_step_rows_f32(n, x, ld, n_src, rows, x_buf, labels, y, n_layers,
                                               <const fnn_train_layer_f32 *>table, u.adam32, u.mom32, <float>l2,
                                               loss, n_correct)
    else:
        return fnn_network_train_step_rows_f64(n, x, ld, n_src, rows, x_buf, labels, y, n_layers,
                                               <const fnn_train_layer_f64 *>table, u.adam64, u.mom64, l2,
                                               loss, n_correct)


cdef class NetworkTrainStep:
    """A network, its training workspace and (for Adam or momentum SGD) the
    optimizer's moment or velocity arrays bound once for
    fnn_network_train_step: a whole training step with a softmax
    cross-entropy loss and plain SGD, momentum SGD or Adam in one C call
    (the trainer's fast path: per-layer calls from Python cost tens of
    microseconds a step, and one call lets two threads split the batch).

    Holds every array it points into; ``matches`` tells whether the model,
    workspace and optimizer state are still the bound ones.  Not for
    concurrent use (neither is training one model from two threads)."""
    cdef readonly tuple layers
    cdef tuple arrays, activations, slopes, moments
    cdef readonly object workspace, optimizer_state
    cdef int n_layers, max_rows
    cdef bint f64, adam, momentum
    cdef fnn_adam_f32 adam32  # the constants of the step under way
    cdef fnn_adam_f64 adam64
    cdef fnn_momentum_f32 mom32
    cdef fnn_momentum_f64 mom64
    cdef _Update update  # points at those of the bound kind
    cdef unsigned long long generation
    cdef void *table  # fnn_train_layer_f32/f64[n_layers]
    cdef void *target_buf  # run_steps' batch of labels or target rows (max_rows of them)

    def __cinit__(self, layers, train, workspace, act_codes, moments=None, optimizer_state=None,
                  bint momentum=False):
        """moments: None for plain SGD, else per layer None (frozen) or
        (m_w, v_w, m_b, v_b, state_w, state_b) with m_b, v_b None for a
        layer without bias; state_w and state_b are the optimizer_state
        entries they came from (matches() checks them).  momentum: bound
        for momentum SGD, m_w and m_b being the velocities (v_w, v_b None)."""
        cdef Py_ssize_t i, n = len(layers)
        cdef fnn_train_layer_f32 *t32
        cdef fnn_train_layer_f64 *t64
        if n < 1:
            raise ValueError("a network needs at least one layer")
        self.layers = tuple(layers)
        self.arrays = tuple((layer.weight, layer.bias) for layer in layers)
        self.activations = tuple(layer.activation for layer in layers)
        self.slopes = tuple(layer.slope for layer in layers)
        self.momentum = momentum
        self.adam = moments is not None and not momentum
        if momentum and moments is None:
            raise ValueError("momentum SGD needs its velocity arrays")
        self.moments = tuple(moments) if moments is not None else ()
        self.update.adam32 = &self.adam32 if self.adam else NULL
        self.update.adam64 = &self.adam64 if self.adam else NULL
        self.update.mom32 = &self.mom32 if momentum else NULL
        self.update.mom64 = &self.mom64 if momentum else NULL
        self.optimizer_state = optimizer_state
        self.workspace = workspace
        self.n_layers = _dims(n)
        self.max_rows = _dims(workspace.batch_size)
        self.generation = _layer_generation
        self.f64 = self.arrays[0][0].dtype.itemsize == 8
        self.table = calloc(n, sizeof(fnn_train_layer_f64) if self.f64 else sizeof(fnn_train_layer_f32))
        width = layers[n - 1].weight.shape[0]
        self.target_buf = malloc(self.max_rows * max(sizeof(int64_t), width * (8 if self.f64 else 4)))
        if self.table == NULL or self.target_buf == NULL:
            raise MemoryError("fastnn: could not allocate the step's layer table and target buffer")
        t32 = <fnn_train_layer_f32 *>self.table
        t64 = <fnn_train_layer_f64 *>self.table
        for i in range(n):
            layer = layers[i]
            W, b = self.arrays[i]
            mom = self.moments[i] if self.moments else None
            if self.moments and train[i] and mom is None:
                raise ValueError(f"layer {i} learns but has no {'velocities' if momentum else 'Adam moments'}")
            if self.f64:
                t64[i].in_features = _dims(W.shape[1])
                t64[i].out_features = _dims(W.shape[0])
                _point_f64(&t64[i].w, W, None)
                _point_f64(&t64[i].b, None, b)
                t64[i].act = <fnn_activation><int>act_codes[i]
                t64[i].slope = layer.slope
                t64[i].train = bool(train[i])
                _point_f64(&t64[i].a, workspace.acts[i], None)
                _point_f64(&t64[i].g, workspace.grads[i], None)
                _point_f64(&t64[i].db, None, workspace.db[i])
                if mom is not None:
                    _point_f64(&t64[i].dw, workspace.dW[i], None)
                    _point_f64(&t64[i].m_w, mom[0], None)
                    _point_f64(&t64[i].v_w, mom[1], None)
                    _point_f64(&t64[i].m_b, None, mom[2])
                    _point_f64(&t64[i].v_b, None, mom[3])
            else:
                t32[i].in_features = _dims(W.shape[1])
                t32[i].out_features = _dims(W.shape[0])
                _point_f32(&t32[i].w, W, None)
                _point_f32(&t32[i].b, None, b)
                t32[i].act = <fnn_activation><int>act_codes[i]
                t32[i].slope = <float>layer.slope
                t32[i].train = bool(train[i])
                _point_f32(&t32[i].a, workspace.acts[i], None)
                _point_f32(&t32[i].g, workspace.grads[i], None)
                _point_f32(&t32[i].db, None, workspace.db[i])
                if mom is not None:
                    _point_f32(&t32[i].dw, workspace.dW[i], None)
                    _point_f32(&t32[i].m_w, mom[0], None)
                    _point_f32(&t32[i].v_w, mom[1], None)
                    _point_f32(&t32[i].m_b, None, mom[2])
                    _point_f32(&t32[i].v_b, None, mom[3])

    def __dealloc__(self):
        free(self.table)
        free(self.target_buf)

    def matches(self, list layers, workspace, optimizer_state=None):
        """True if bound to these layers (same arrays, activations, slopes),
        this workspace and (Adam, momentum SGD) these moment arrays."""
        cdef Py_ssize_t i
        if workspace is not self.workspace or optimizer_state is not self.optimizer_state:
            return False
        if self.moments:
            for i in range(self.n_layers):
                mom = self.moments[i]
                if mom is not None and (optimizer_state.get((i, "weight")) is not mom[4]
                                        or optimizer_state.get((i, "bias")) is not mom[5]):
                    return False
        if not _still_bound(layers, self.layers, self.arrays, self.activations, self.slopes, self.generation):
            return False
        self.generation = _layer_generation
        return True

    def run(self, X, target, lrs, constants=None, rows=None, double l2=0.0):
        """One step on X (n, in_features) with integer labels (n,) or a
        target matrix (n, n_outputs), layer l learning at lrs[l]; constants:
        Adam's (b1, b2, eps, weight_decay, bc1, bc2) when bound for Adam,
        momentum SGD's (momentum, nesterov, weight_decay, lr_in_velocity:
        1 for scikit-learn's convention) when bound for it, else None.  Returns
        (loss, number of rows whose largest logit is the target); when the
        loss is not finite nothing has been updated.  rows: the batch is
        X[rows] (int64 indices), gathered into the workspace inside the
        step (target is then already the batch's).  l2 (Adam, or momentum
        SGD in scikit-learn's convention): a coupled L2 penalty, l2 W added
        to each learning weight's gradient, and l2/2 times the sum of their
        squares (before the update) to the returned loss."""
        cdef Py_ssize_t i
        if len(lrs) != self.n_layers:
            raise ValueError(f"lrs needs {self.n_layers} learning rates, got {len(lrs)}")
        self._check_update_args(None if constants is None else len(constants), l2)
        if self.f64:
            for i in range(self.n_layers):
                (<fnn_train_layer_f64 *>self.table)[i].lr = lrs[i]
            if self.adam:
                (self.adam64.b1, self.adam64.b2, self.adam64.eps, self.adam64.weight_decay, self.adam64.bc1,
                 self.adam64.bc2) = constants
            if self.momentum:
                mu, nesterov, wd, lr_in_v = constants
                self.mom64.momentum, self.mom64.nesterov, self.mom64.weight_decay = mu, int(nesterov), wd
                self.mom64.lr_in_velocity = int(lr_in_v)
            return self._run[double](X, target, rows, l2)
        for i in range(self.n_layers):
            (<fnn_train_layer_f32 *>self.table)[i].lr = <float>lrs[i]
        if self.adam:
            (self.adam32.b1, self.adam32.b2, self.adam32.eps, self.adam32.weight_decay, self.adam32.bc1,
             self.adam32.bc2) = constants
        if self.momentum:
            mu, nesterov, wd, lr_in_v = constants
            self.mom32.momentum, self.mom32.nesterov, self.mom32.weight_decay = mu, int(nesterov), wd
            self.mom32.lr_in_velocity = int(lr_in_v)
        return self._run[float](X, target, rows, l2)

    cdef int _check_update_args(self, object n_constants, double l2) except -1:
        # ValueError unless the step's constants (their count, or None) and l2 suit its kind.
        want = 6 if self.adam else 4 if self.momentum else None
        if n_constants != want:
            kind = "Adam" if self.adam else "momentum SGD" if self.momentum else "plain SGD"
            raise ValueError(f"a step bound for {kind} takes {want or 'no'} constants, got {n_constants}")
        if l2 != 0.0 and not (self.adam or self.momentum) or not isfinite(l2):
            raise ValueError(f"l2 must be finite and needs a step bound for Adam or momentum SGD, got {l2}")
        return 0

    cdef tuple _run(self, const floating[:, ::1] X, target, rows, double l2):
        # One body for both dtypes: only the C entry point and its table
        # type differ (fused-type specialisations, chosen by run()).
        cdef const int64_t[::1] labels = None
        cdef const floating[:, ::1] Y = None
        cdef const int64_t[::1] idx = None
        cdef floating[:, ::1] xbuf = None
        cdef const int64_t *pl = NULL
        cdef const floating *py = NULL
        cdef Py_ssize_t n = X.shape[0]
        cdef int in_features = self._in_features(), out_features = self._out_features()
        if rows is not None:
            idx = rows
            n = idx.shape[0]
            xbuf = self.workspace.X
        self._check_rows(n, X.shape[1], in_features)
        if target.ndim == 1:
            labels = target
            _shape("target.shape[0]", labels.shape[0], n)
            pl = &labels[0]
        else:
            Y = target
            _shape("target.shape[0]", Y.shape[0], n)
            _shape("target.shape[1]", Y.shape[1], out_features)
            py = &Y[0, 0]
        cdef double loss = 0.0
        cdef int64_t correct = 0
        cdef fnn_status st
        cdef int i_n = <int>n
        with nogil:
            if floating is float:
                if idx is None:
                    st = fnn_network_train_step_f32(i_n, &X[0, 0], pl, py, self.n_layers,
                                                    <fnn_train_layer_f32 *>self.table,
                                                    self.update.adam32, self.update.mom32, l2, &loss,
                                                    &correct)
                else:
                    st = fnn_network_train_step_rows_f32(i_n, &X[0, 0], X.shape[1], X.shape[0], &idx[0],
                                                         &xbuf[0, 0], pl, py, self.n_layers,
                                                         <fnn_train_layer_f32 *>self.table,
                                                         self.update.adam32, self.update.mom32, l2,
                                                         &loss, &correct)
            else:
                if idx is None:
                    st = fnn_network_train_step_f64(i_n, &X[0, 0], pl, py, self.n_layers,
                                                    <fnn_train_layer_f64 *>self.table,
                                                    self.update.adam64, self.update.mom64, l2, &loss,
                                                    &correct)
                else:
                    st = fnn_network_train_step_rows_f64(i_n, &X[0, 0], X.shape[1], X.shape[0], &idx[0],
                                                         &xbuf[0, 0], pl, py, self.n_layers,
                                                         <fnn_train_layer_f64 *>self.table,
                                                         self.update.adam64, self.update.mom64, l2,
                                                         &loss, &correct)
        _check(st)
        return loss, correct

    def run_steps(self, X, target, rows, Py_ssize_t batch_size, const double[:, ::1] lrs, constants,
                  double l2, double[::1] losses, int64_t[::1] correct):
        """Several steps in one call, one after another with the GIL released:
        the trainer's epoch without Python between its steps.

        The rows to visit are rows (int64 indices into X, the shuffled
        order) or, rows None, X's own rows in order; step j takes the
        batch_size of them from j * batch_size (the last step may take
        fewer).  target holds the targets of all of X's rows (labels (n,),
        or a matrix (n, n_outputs)), gathered per step like X's rows.
        lrs (steps, n_layers): each step's learning rates; constants
        (steps, 6 or 4) float64: each step's constants, as run() takes
        them, when bound for Adam or momentum SGD (else None).  Each step's loss and correct count go
        to losses[j] and correct[j].  Stops after a step whose loss is not
        finite (which updated nothing, as run()); returns the number of
        steps that updated the network."""
        cdef const double[:, ::1] consts = None
        cdef Py_ssize_t k = lrs.shape[0]
        if lrs.shape[1] != self.n_layers:
            raise ValueError(f"lrs needs {self.n_layers} learning rates a step, got {lrs.shape[1]}")
        if constants is not None:
            consts = constants
            if consts.shape[0] != k:
                raise ValueError(f"constants must have a row for each of the {k} steps, got {consts.shape[0]}")
        self._check_update_args(None if constants is None else consts.shape[1], l2)
        if losses.shape[0] < k or correct.shape[0] < k:
            raise ValueError(f"losses and correct need room for {k} steps")
        if batch_size < 1 or batch_size > self.max_rows:
            raise ValueError(f"batch_size must be 1 to {self.max_rows} (the workspace's rows), got {batch_size}")
        if self.f64:
            return self._run_steps[double](X, target, rows, batch_size, lrs, consts, l2, losses, correct)
        return self._run_steps[float](X, target, rows, batch_size, lrs, consts, l2, losses, correct)

    cdef Py_ssize_t _run_steps(self, const floating[:, ::1] X, target, rows, Py_ssize_t bs,
                               const double[:, ::1] lrs, const double[:, ::1] consts, double l2,
                               double[::1] losses, int64_t[::1] correct) except -1:
        cdef const int64_t[::1] labels = None
        cdef const floating[:, ::1] Y = None
        cdef const int64_t[::1] idx = None
        cdef floating[:, ::1] xbuf = self.workspace.X
        cdef Py_ssize_t n_src = X.shape[0], total = X.shape[0], k = lrs.shape[0], j, lo, done = 0
        cdef int width = self._out_features()
        cdef const int64_t *pl = NULL
        cdef const floating *py = NULL
        cdef const int64_t *pidx = NULL
        cdef int64_t *plb = NULL
        cdef floating *pyb = NULL
        cdef fnn_status st = FNN_OK
        cdef double loss = 0.0
        cdef int64_t n_correct = 0
        self._check_rows(1, X.shape[1], self._in_features())
        if rows is not None:
            idx = rows
            total = idx.shape[0]
        if k != (total + bs - 1) // bs:
            raise ValueError(f"{total} rows in batches of {bs} take {(total + bs - 1) // bs} steps, not {k}")
        if k == 0:
            return 0
        if target.ndim == 1:
            labels = target
            _shape("target.shape[0]", labels.shape[0], n_src)
            pl = &labels[0]
        else:
            Y = target
            _shape("target.shape[0]", Y.shape[0], n_src)
            _shape("target.shape[1]", Y.shape[1], width)
            py = &Y[0, 0]
        if idx is not None:  # the batch's targets are gathered into these, its inputs inside the step
            pidx = &idx[0]
            if labels is not None:
                plb = <int64_t *>self.target_buf
            else:
                pyb = <floating *>self.target_buf
        with nogil:
            for j in range(k):
                lo = j * bs
                self._set_step_constants(j, lrs, consts)
                if pidx == NULL:
                    st = _train_step(<int>min(bs, total - lo), &X[lo, 0], pl + lo if pl != NULL else NULL,
                                     py + lo * width if py != NULL else NULL, self.n_layers, self.table,
                                     &self.update, l2, &loss, &n_correct)
                else:
                    st = _gather_targets(<int>min(bs, total - lo), pidx + lo, n_src, pl, py, width, plb, pyb)
                    if st == FNN_OK:
                        st = _train_step_rows(<int>min(bs, total - lo), &X[0, 0], X.shape[1], n_src, pidx + lo,
                                              &xbuf[0, 0], plb, pyb, self.n_layers, self.table,
                                              &self.update, l2, &loss, &n_correct)
                if st != FNN_OK:
                    break
                losses[j] = loss
                correct[j] = n_correct
                if not isfinite(loss):
                    break
                done += 1
        _check(st)
        return done

    cdef void _set_step_constants(self, Py_ssize_t j, const double[:, ::1] lrs,
                                  const double[:, ::1] consts) noexcept nogil:
        # Step j's learning rates and Adam or momentum constants, cast as run() casts them.
        cdef int i
        if self.f64:
            for i in range(self.n_layers):
                (<fnn_train_layer_f64 *>self.table)[i].lr = lrs[j, i]
            if self.adam:
                self.adam64.b1, self.adam64.b2, self.adam64.eps = consts[j, 0], consts[j, 1], consts[j, 2]
                self.adam64.weight_decay, self.adam64.bc1, self.adam64.bc2 = consts[j, 3], consts[j, 4], consts[j, 5]
            if self.momentum:
                self.mom64.momentum, self.mom64.nesterov = consts[j, 0], <int>consts[j, 1]
                self.mom64.weight_decay, self.mom64.lr_in_velocity = consts[j, 2], <int>consts[j, 3]
            return
        for i in range(self.n_layers):
            (<fnn_train_layer_f32 *>self.table)[i].lr = <float>lrs[j, i]
        if self.adam:
            self.adam32.b1, self.adam32.b2, self.adam32.eps = consts[j, 0], consts[j, 1], consts[j, 2]
            self.adam32.weight_decay, self.adam32.bc1, self.adam32.bc2 = consts[j, 3], consts[j, 4], consts[j, 5]
        if self.momentum:
            self.mom32.momentum, self.mom32.nesterov = <float>consts[j, 0], <int>consts[j, 1]
            self.mom32.weight_decay, self.mom32.lr_in_velocity = <float>consts[j, 2], <int>consts[j, 3]

    cdef int _in_features(self) noexcept:
        if self.f64:
            return (<fnn_train_layer_f64 *>self.table)[0].in_features
        return (<fnn_train_layer_f32 *>self.table)[0].in_features

    cdef int _out_features(self) noexcept:
        if self.f64:
            return (<fnn_train_layer_f64 *>self.table)[self.n_layers - 1].out_features
        return (<fnn_train_layer_f32 *>self.table)[self.n_layers - 1].out_features

    cdef int _check_rows(self, Py_ssize_t n, Py_ssize_t cols, int in_features) except -1:
        _shape("X.shape[1] (in_features)", cols, in_features)
        if n < 1 or n > self.max_rows:
            raise ValueError(f"a step takes 1 to {self.max_rows} rows (the workspace's), got {n}")
        return 0


# ---- output layers and losses -------------------------------------------------

def softmax(const floating[:, ::1] Z, floating[:, ::1] P):
    _shape("P.shape[0]", P.shape[0], Z.shape[0])
    _shape("P.shape[1]", P.shape[1], Z.shape[1])
    cdef int n = _dims(Z.shape[0]), k = _dims(Z.shape[1])
    with nogil:
        if floating is float:
            fnn_softmax_f32(n, k, &Z[0, 0], &P[0, 0])
        else:
            fnn_softmax_f64(n, k, &Z[0, 0], &P[0, 0])


def softmax_cross_entropy(const floating[:, ::1] Z, const int64_t[::1] labels, const floating[:, ::1] Y,
                          floating[:, ::1] dZ, bint count_correct=False):
    """Loss and dZ = (P - Y)/n from logits; targets as labels or as a matrix Y.

    Returns the loss, or (loss, rows whose largest logit is the target's)
    with count_correct."""
    cdef int n = _dims(Z.shape[0]), k = _dims(Z.shape[1])
    _shape("dZ.shape[0]", dZ.shape[0], n)
    _shape("dZ.shape[1]", dZ.shape[1], k)
    if labels is not None:
        _shape("labels.shape[0]", labels.shape[0], n)
    elif Y is not None:
        _shape("targets.shape[0]", Y.shape[0], n)
        _shape("targets.shape[1]", Y.shape[1], k)
    else:
        raise ValueError("give labels or a target matrix")
    cdef const int64_t *pl = NULL if labels is None else &labels[0]
    cdef const floating *py = NULL if Y is None else &Y[0, 0]
    cdef double loss = 0.0
    cdef int64_t correct = 0
    cdef fnn_status st
    with nogil:
        if floating is float:
            st = fnn_softmax_cross_entropy_f32(n, k, &Z[0, 0], pl, py, &dZ[0, 0], &loss, &correct)
        else:
            st = fnn_softmax_cross_entropy_f64(n, k, &Z[0, 0], pl, py, &dZ[0, 0], &loss, &correct)
    _check(st)
    if count_correct:
        return loss, correct
    return loss


cdef int _pair_shapes(tuple names, Py_ssize_t n0, Py_ssize_t k0, Py_ssize_t n1, Py_ssize_t k1,
                      Py_ssize_t n2, Py_ssize_t k2) except -1:
    _shape(f"{names[1]}.shape[0] vs {names[0]}.shape[0]", n1, n0)
    _shape(f"{names[1]}.shape[1] vs {names[0]}.shape[1]", k1, k0)
    _shape(f"{names[2]}.shape[0]", n2, n0)
    _shape(f"{names[2]}.shape[1]", k2, k0)
    return 0


def sigmoid_binary_cross_entropy(const floating[:, ::1] Z, const floating[:, ::1] T, floating[:, ::1] dZ):
    _pair_shapes(("Z", "T", "dZ"), Z.shape[0], Z.shape[1], T.shape[0], T.shape[1], dZ.shape[0], dZ.shape[1])
    cdef int n = _dims(Z.shape[0]), k = _dims(Z.shape[1])
    cdef double loss = 0.0
    with nogil:
        if floating is float:
            fnn_sigmoid_bce_f32(n, k, &Z[0, 0], &T[0, 0], &dZ[0, 0], &loss)
        else:
            fnn_sigmoid_bce_f64(n, k, &Z[0, 0], &T[0, 0], &dZ[0, 0], &loss)
    return loss


def half_squared_error(const floating[:, ::1] Y, const floating[:, ::1] T, floating[:, ::1] dY):
    _pair_shapes(("Y", "T", "dY"), Y.shape[0], Y.shape[1], T.shape[0], T.shape[1], dY.shape[0], dY.shape[1])
    cdef int n = _dims(Y.shape[0]), k = _dims(Y.shape[1])
    cdef double loss = 0.0
    with nogil:
        if floating is float:
            fnn_half_squared_error_f32(n, k, &Y[0, 0], &T[0, 0], &dY[0, 0], &loss)
        else:
            fnn_half_squared_error_f64(n, k, &Y[0, 0], &T[0, 0], &dY[0, 0], &loss)
    return loss


def mse(const floating[:, ::1] Y, const floating[:, ::1] T, floating[:, ::1] dY):
    _pair_shapes(("Y", "T", "dY"), Y.shape[0], Y.shape[1], T.shape[0], T.shape[1], dY.shape[0], dY.shape[1])
    cdef int n = _dims(Y.shape[0]), k = _dims(Y.shape[1])
    cdef double loss = 0.0
    with nogil:
        if floating is float:
            fnn_mse_f32(n, k, &Y[0, 0], &T[0, 0], &dY[0, 0], &loss)
        else:
            fnn_mse_f64(n, k, &Y[0, 0], &T[0, 0], &dY[0, 0], &loss)
    return loss
