# cython: language_level=3, boundscheck=False, wraparound=False
"""The kernels of fastnn for Cython extension modules (``cimport`` them; see cython_kernels.pxd).

This module holds no kernels of its own: each function calls through the
table of checked entry points that ``fastnn._core`` publishes as the capsule
``_C_API`` (csrc/api.c), so a Cython consumer, a C consumer
(fastnn/fastnn_api.h) and fastnn itself run the same code on the same
thread pool.  Cython exports the functions to consumers through this
module's ``__pyx_capi__``.
"""

from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int64_t

from fastnn import _core


cdef extern from "fastnn/fastnn_api.h":
    ctypedef int fnn_status
    ctypedef int fnn_activation
    ctypedef struct fnn_dense_layer_f32:
        pass
    ctypedef struct fnn_dense_layer_f64:
        pass
    ctypedef struct fnn_train_layer_f32:
        pass
    ctypedef struct fnn_train_layer_f64:
        pass
    ctypedef struct fnn_adam_f32:
        pass
    ctypedef struct fnn_adam_f64:
        pass
    int FASTNN_API_VERSION
    int FASTNN_API_MINOR
    ctypedef struct fnn_api:
        int version
        int minor
        const char *(*status_message)(fnn_status status) noexcept nogil
        int (*get_num_threads)() noexcept nogil
        fnn_status (*set_num_threads)(int n) noexcept nogil
        fnn_status (*gemm_f32)(int m, int n, int k, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                    const float *b, ptrdiff_t rsb, ptrdiff_t csb, float beta, float *c, ptrdiff_t ldc,
                    const float *bias, fnn_activation act, float slope) noexcept nogil
        fnn_status (*gemm_f64)(int m, int n, int k, double alpha, const double *a, ptrdiff_t rsa,
                    ptrdiff_t csa, const double *b, ptrdiff_t rsb, ptrdiff_t csb, double beta, double *c,
                    ptrdiff_t ldc, const double *bias, fnn_activation act, double slope) noexcept nogil
        fnn_status (*dense_forward_f32)(int n, int n_in, int n_out, const float *x, const float *w,
                    const float *b, fnn_activation act, float slope, float *a) noexcept nogil
        fnn_status (*dense_forward_f64)(int n, int n_in, int n_out, const double *x, const double *w,
                    const double *b, fnn_activation act, double slope, double *a) noexcept nogil
        fnn_status (*dense_backward_f32)(int n, int n_in, int n_out, const float *da, const float *a,
                    const float *x, const float *w, fnn_activation act, float slope, float *dz, float *dw,
                    float *db, float *dx) noexcept nogil
        fnn_status (*dense_backward_f64)(int n, int n_in, int n_out, const double *da, const double *a,
                    const double *x, const double *w, fnn_activation act, double slope, double *dz,
                    double *dw, double *db, double *dx) noexcept nogil
        fnn_status (*dense_backward_sgd_f32)(int n, int n_in, int n_out, const float *da, const float *a,
                    const float *x, float *w, float *b, float lr, fnn_activation act, float slope, float *dz,
                    float *db_work, float *dx) noexcept nogil
        fnn_status (*dense_backward_sgd_f64)(int n, int n_in, int n_out, const double *da, const double *a,
                    const double *x, double *w, double *b, double lr, fnn_activation act, double slope,
                    double *dz, double *db_work, double *dx) noexcept nogil
        fnn_status (*network_forward_f32)(int n, const float *x, int n_layers,
                    const fnn_dense_layer_f32 *layers) noexcept nogil
        fnn_status (*network_forward_f64)(int n, const double *x, int n_layers,
                    const fnn_dense_layer_f64 *layers) noexcept nogil
        fnn_status (*network_train_step_f32)(int n, const float *x, const int64_t *labels, const float *y,
                    int n_layers, const fnn_train_layer_f32 *layers, const fnn_adam_f32 *adam, double *loss,
                    int64_t *n_correct) noexcept nogil
        fnn_status (*network_train_step_f64)(int n, const double *x, const int64_t *labels, const double *y,
                    int n_layers, const fnn_train_layer_f64 *layers, const fnn_adam_f64 *adam, double *loss,
                    int64_t *n_correct) noexcept nogil
        fnn_status (*activation_f32)(float *z, size_t len, fnn_activation act, float slope) noexcept nogil
        fnn_status (*activation_f64)(double *z, size_t len, fnn_activation act, double slope) noexcept nogil
        fnn_status (*activation_derivative_f32)(const float *a, float *d, size_t len, fnn_activation act,
                    float slope) noexcept nogil
        fnn_status (*activation_derivative_f64)(const double *a, double *d, size_t len, fnn_activation act,
                    double slope) noexcept nogil
        fnn_status (*softmax_f32)(int n, int k, const float *z, float *p) noexcept nogil
        fnn_status (*softmax_f64)(int n, int k, const double *z, double *p) noexcept nogil
        fnn_status (*softmax_cross_entropy_f32)(int n, int k, const float *z, const int64_t *labels,
                    const float *y, float *dz, double *loss, int64_t *n_correct) noexcept nogil
        fnn_status (*softmax_cross_entropy_f64)(int n, int k, const double *z, const int64_t *labels,
                    const double *y, double *dz, double *loss, int64_t *n_correct) noexcept nogil
        fnn_status (*sigmoid_bce_f32)(int n, int k, const float *z, const float *t, float *dz,
                    double *loss) noexcept nogil
        fnn_status (*sigmoid_bce_f64)(int n, int k, const double *z, const double *t, double *dz,
                    double *loss) noexcept nogil
        fnn_status (*half_squared_error_f32)(int n, int k, const float *y, const float *t, float *dy,
                    double *loss) noexcept nogil
        fnn_status (*half_squared_error_f64)(int n, int k, const double *y, const double *t, double *dy,
                    double *loss) noexcept nogil
        fnn_status (*mse_f32)(int n, int k, const float *y, const float *t, float *dy,
                    double *loss) noexcept nogil
        fnn_status (*mse_f64)(int n, int k, const double *y, const double *t, double *dy,
                    double *loss) noexcept nogil
        fnn_status (*sgd_update_f32)(float *p, const float *g, size_t len, float lr) noexcept nogil
        fnn_status (*sgd_update_f64)(double *p, const double *g, size_t len, double lr) noexcept nogil
        fnn_status (*sgd_momentum_update_f32)(float *p, const float *g, float *v, size_t len, float lr,
                    float momentum, int nesterov, float weight_decay) noexcept nogil
        fnn_status (*sgd_momentum_update_f64)(double *p, const double *g, double *v, size_t len, double lr,
                    double momentum, int nesterov, double weight_decay) noexcept nogil
        fnn_status (*adam_update_f32)(float *p, const float *g, float *m, float *v, size_t len, float lr,
                    float b1, float b2, float eps, float weight_decay, float bc1, float bc2) noexcept nogil
        fnn_status (*adam_update_f64)(double *p, const double *g, double *m, double *v, size_t len, double lr,
                    double b1, double b2, double eps, double weight_decay, double bc1,
                    double bc2) noexcept nogil


cdef extern from *:
    """
    #include "fastnn/fastnn_api.h"
    /* The sizes of the C structs, to compare with the Cython declarations
     * of cython_kernels.pxd, which consumers compile against. */
    static size_t fnn_cy_struct_size(int which)
    {
        switch (which) {
        case 0: return sizeof(fnn_dense_layer_f32);
        case 1: return sizeof(fnn_dense_layer_f64);
        case 2: return sizeof(fnn_train_layer_f32);
        case 3: return sizeof(fnn_train_layer_f64);
        case 4: return sizeof(fnn_adam_f32);
        default: return sizeof(fnn_adam_f64);
        }
    }
    """
    size_t fnn_cy_struct_size(int which)


cdef const fnn_api *_load_api() except NULL:
    cdef const fnn_api *api = <const fnn_api *>PyCapsule_GetPointer(_core._C_API, b"fastnn._core._C_API")
    if api.version != FASTNN_API_VERSION or api.minor < FASTNN_API_MINOR:
        raise ImportError(f"fastnn.cython_kernels was built against fastnn's C API {FASTNN_API_VERSION}."
                          f"{FASTNN_API_MINOR}, but fastnn._core provides {api.version}.{api.minor}")
    sizes = (sizeof(dense_layer_f32), sizeof(dense_layer_f64), sizeof(train_layer_f32),
             sizeof(train_layer_f64), sizeof(adam_f32), sizeof(adam_f64))
    for which, size in enumerate(sizes):
        if size != fnn_cy_struct_size(which):
            raise ImportError(f"fastnn.cython_kernels: struct {which} of cython_kernels.pxd has {size} bytes, "
                              f"the C API's {fnn_cy_struct_size(which)}")
    return api


cdef const fnn_api *_api = _load_api()


cdef int require_api(int version, int minor) except -1:
    if version != API_VERSION or minor > API_MINOR:
        raise ImportError(f"this module was built against fastnn's C API version {version}.{minor}, but the "
                          f"installed fastnn provides version {API_VERSION}.{API_MINOR}: rebuild it against "
                          "the installed fastnn")
    return 0


cdef const char *status_message(int status) noexcept nogil:
    return _api.status_message(<fnn_status>status)


cdef int get_num_threads() noexcept nogil:
    return _api.get_num_threads()


cdef int set_num_threads(int n) noexcept nogil:
    return _api.set_num_threads(n)


cdef int gemm_f32(int m, int n, int k, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const float *b, ptrdiff_t rsb, ptrdiff_t csb, float beta, float *c, ptrdiff_t ldc,
                  const float *bias, int act, float slope) noexcept nogil:
    return _api.gemm_f32(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, ldc, bias, <fnn_activation>act,
                         slope)


cdef int gemm_f64(int m, int n, int k, double alpha, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const double *b, ptrdiff_t rsb, ptrdiff_t csb, double beta, double *c, ptrdiff_t ldc,
                  const double *bias, int act, double slope) noexcept nogil:
    return _api.gemm_f64(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, ldc, bias, <fnn_activation>act,
                         slope)


cdef int dense_forward_f32(int n, int n_in, int n_out, const float *x, const float *w, const float *b,
                           int act, float slope, float *a) noexcept nogil:
    return _api.dense_forward_f32(n, n_in, n_out, x, w, b, <fnn_activation>act, slope, a)


cdef int dense_forward_f64(int n, int n_in, int n_out, const double *x, const double *w, const double *b,
                           int act, double slope, double *a) noexcept nogil:
    return _api.dense_forward_f64(n, n_in, n_out, x, w, b, <fnn_activation>act, slope, a)


cdef int dense_backward_f32(int n, int n_in, int n_out, const float *da, const float *a, const float *x,
                            const float *w, int act, float slope, float *dz, float *dw, float *db,
                            float *dx) noexcept nogil:
    return _api.dense_backward_f32(n, n_in, n_out, da, a, x, w, <fnn_activation>act, slope, dz, dw, db, dx)


cdef int dense_backward_f64(int n, int n_in, int n_out, const double *da, const double *a, const double *x,
                            const double *w, int act, double slope, double *dz, double *dw, double *db,
                            double *dx) noexcept nogil:
    return _api.dense_backward_f64(n, n_in, n_out, da, a, x, w, <fnn_activation>act, slope, dz, dw, db, dx)


cdef int dense_backward_sgd_f32(int n, int n_in, int n_out, const float *da, const float *a, const float *x,
                                float *w, float *b, float lr, int act, float slope, float *dz, float *db_work,
                                float *dx) noexcept nogil:
    return _api.dense_backward_sgd_f32(n, n_in, n_out, da, a, x, w, b, lr, <fnn_activation>act, slope, dz,
                                       db_work, dx)


cdef int dense_backward_sgd_f64(int n, int n_in, int n_out, const double *da, const double *a,
                                const double *x, double *w, double *b, double lr, int act, double slope,
                                double *dz, double *db_work, double *dx) noexcept nogil:
    return _api.dense_backward_sgd_f64(n, n_in, n_out, da, a, x, w, b, lr, <fnn_activation>act, slope, dz,
                                       db_work, dx)


cdef int network_forward_f32(int n, const float *x, int n_layers,
                             const dense_layer_f32 *layers) noexcept nogil:
    return _api.network_forward_f32(n, x, n_layers, <const fnn_dense_layer_f32 *>layers)


cdef int network_forward_f64(int n, const double *x, int n_layers,
                             const dense_layer_f64 *layers) noexcept nogil:
    return _api.network_forward_f64(n, x, n_layers, <const fnn_dense_layer_f64 *>layers)


cdef int network_train_step_f32(int n, const float *x, const int64_t *labels, const float *y, int n_layers,
                                const train_layer_f32 *layers, const adam_f32 *adam, double *loss,
                                int64_t *n_correct) noexcept nogil:
    return _api.network_train_step_f32(n, x, labels, y, n_layers, <const fnn_train_layer_f32 *>layers,
                                       <const fnn_adam_f32 *>adam, loss, n_correct)


cdef int network_train_step_f64(int n, const double *x, const int64_t *labels, const double *y, int n_layers,
                                const train_layer_f64 *layers, const adam_f64 *adam, double *loss,
                                int64_t *n_correct) noexcept nogil:
    return _api.network_train_step_f64(n, x, labels, y, n_layers, <const fnn_train_layer_f64 *>layers,
                                       <const fnn_adam_f64 *>adam, loss, n_correct)


cdef int activation_f32(float *z, size_t len, int act, float slope) noexcept nogil:
    return _api.activation_f32(z, len, <fnn_activation>act, slope)


cdef int activation_f64(double *z, size_t len, int act, double slope) noexcept nogil:
    return _api.activation_f64(z, len, <fnn_activation>act, slope)


cdef int activation_derivative_f32(const float *a, float *d, size_t len, int act, float slope) noexcept nogil:
    return _api.activation_derivative_f32(a, d, len, <fnn_activation>act, slope)


cdef int activation_derivative_f64(const double *a, double *d, size_t len, int act,
                                   double slope) noexcept nogil:
    return _api.activation_derivative_f64(a, d, len, <fnn_activation>act, slope)


cdef int softmax_f32(int n, int k, const float *z, float *p) noexcept nogil:
    return _api.softmax_f32(n, k, z, p)


cdef int softmax_f64(int n, int k, const double *z, double *p) noexcept nogil:
    return _api.softmax_f64(n, k, z, p)


cdef int softmax_cross_entropy_f32(int n, int k, const float *z, const int64_t *labels, const float *y,
                                   float *dz, double *loss, int64_t *n_correct) noexcept nogil:
    return _api.softmax_cross_entropy_f32(n, k, z, labels, y, dz, loss, n_correct)


cdef int softmax_cross_entropy_f64(int n, int k, const double *z, const int64_t *labels, const double *y,
                                   double *dz, double *loss, int64_t *n_correct) noexcept nogil:
    return _api.softmax_cross_entropy_f64(n, k, z, labels, y, dz, loss, n_correct)


cdef int sigmoid_bce_f32(int n, int k, const float *z, const float *t, float *dz,
                         double *loss) noexcept nogil:
    return _api.sigmoid_bce_f32(n, k, z, t, dz, loss)


cdef int sigmoid_bce_f64(int n, int k, const double *z, const double *t, double *dz,
                         double *loss) noexcept nogil:
    return _api.sigmoid_bce_f64(n, k, z, t, dz, loss)


cdef int half_squared_error_f32(int n, int k, const float *y, const float *t, float *dy,
                                double *loss) noexcept nogil:
    return _api.half_squared_error_f32(n, k, y, t, dy, loss)


cdef int half_squared_error_f64(int n, int k, const double *y, const double *t, double *dy,
                                double *loss) noexcept nogil:
    return _api.half_squared_error_f64(n, k, y, t, dy, loss)


cdef int mse_f32(int n, int k, const float *y, const float *t, float *dy, double *loss) noexcept nogil:
    return _api.mse_f32(n, k, y, t, dy, loss)


cdef int mse_f64(int n, int k, const double *y, const double *t, double *dy, double *loss) noexcept nogil:
    return _api.mse_f64(n, k, y, t, dy, loss)


cdef int sgd_update_f32(float *p, const float *g, size_t len, float lr) noexcept nogil:
    return _api.sgd_update_f32(p, g, len, lr)


cdef int sgd_update_f64(double *p, const double *g, size_t len, double lr) noexcept nogil:
    return _api.sgd_update_f64(p, g, len, lr)


cdef int sgd_momentum_update_f32(float *p, const float *g, float *v, size_t len, float lr, float momentum,
                                 int nesterov, float weight_decay) noexcept nogil:
    return _api.sgd_momentum_update_f32(p, g, v, len, lr, momentum, nesterov, weight_decay)


cdef int sgd_momentum_update_f64(double *p, const double *g, double *v, size_t len, double lr,
                                 double momentum, int nesterov, double weight_decay) noexcept nogil:
    return _api.sgd_momentum_update_f64(p, g, v, len, lr, momentum, nesterov, weight_decay)


cdef int adam_update_f32(float *p, const float *g, float *m, float *v, size_t len, float lr, float b1,
                         float b2, float eps, float weight_decay, float bc1, float bc2) noexcept nogil:
    return _api.adam_update_f32(p, g, m, v, len, lr, b1, b2, eps, weight_decay, bc1, bc2)


cdef int adam_update_f64(double *p, const double *g, double *m, double *v, size_t len, double lr, double b1,
                         double b2, double eps, double weight_decay, double bc1, double bc2) noexcept nogil:
    return _api.adam_update_f64(p, g, m, v, len, lr, b1, b2, eps, weight_decay, bc1, bc2)
