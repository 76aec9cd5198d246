# cython: language_level=3
# fastnn's kernels for Cython extension modules: ``from fastnn.cython_kernels cimport ...``.
#
# Every function is ``nogil`` and ``noexcept`` and returns a status (``OK``, or
# ``ERR_ARG`` for a NULL array where one is needed, a dimension out of range,
# an unknown activation or a non-finite rate; ``ERR_NOMEM``, ``ERR_LABEL``),
# writing nothing on an error; ``status_message(status)`` gives its text.  They
# reach the kernels of the installed fastnn through Cython's capsules (the
# module's ``__pyx_capi__``): a consumer needs neither fastnn's headers nor to
# link against it, and shares its thread pool.
#
# Layout, as everywhere in fastnn: weights W are (out_features, in_features),
# a batch X is (n_samples, in_features), row-major and contiguous; Z = X W^T + b,
# A = act(Z); ``_f32`` functions take float arrays, ``_f64`` double arrays.
# The caller owns every array; nothing is kept after a call returns.  Any
# number of threads may call at once (each on its own arrays), with the GIL
# released.  The C API (fastnn/fastnn_api.h) documents each function.
#
# A consumer checks the API version once, at import::
#
#     from fastnn.cython_kernels cimport API_VERSION, API_MINOR, require_api
#     require_api(API_VERSION, API_MINOR)

from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int64_t

# The C API version this file declares (fastnn_api.h's FASTNN_API_VERSION
# and FASTNN_API_MINOR).
cdef enum:
    API_VERSION = 1
    API_MINOR = 0

# Status codes.
cdef enum:
    OK = 0
    ERR_NOMEM = 1
    ERR_ARG = 2
    ERR_LABEL = 3

# Activations the GEMM epilogue computes (leaky_relu: z if z > 0 else slope z).
cdef enum:
    ACT_IDENTITY = 0
    ACT_SIGMOID = 1
    ACT_TANH = 2
    ACT_RELU = 3
    ACT_LEAKY_RELU = 4
    ACT_SOFTPLUS = 5

# One layer of network_forward_*: reads the previous layer's a (the first
# layer reads x) and writes its own a (n x out_features); softmax = 1 for a
# row-wise softmax after act (the output layer).
ctypedef struct dense_layer_f32:
    int in_features, out_features
    const float *w
    const float *b
    int act
    float slope
    int softmax
    float *a

ctypedef struct dense_layer_f64:
    int in_features, out_features
    const double *w
    const double *b
    int act
    double slope
    int softmax
    double *a

# One layer of network_train_step_*: w and b updated in place; a, g (n x
# out_features) and db (out_features) its work arrays; dw, m_w, v_w, m_b,
# v_b for Adam only.
ctypedef struct train_layer_f32:
    int in_features, out_features
    float *w
    float *b
    int act
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

ctypedef struct train_layer_f64:
    int in_features, out_features
    double *w
    double *b
    int act
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

# Adam's constants for step t: bc1 = 1 - b1^t, bc2 = 1 - b2^t.
ctypedef struct adam_f32:
    float b1, b2, eps, weight_decay, bc1, bc2

ctypedef struct adam_f64:
    double b1, b2, eps, weight_decay, bc1, bc2

# ImportError naming both versions unless this fastnn provides API
# version.minor (or a later minor of the same version).
cdef int require_api(int version, int minor) except -1

cdef const char *status_message(int status) noexcept nogil
cdef int get_num_threads() noexcept nogil
cdef int set_num_threads(int n) noexcept nogil
cdef int gemm_f32(int m, int n, int k, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const float *b, ptrdiff_t rsb, ptrdiff_t csb, float beta, float *c, ptrdiff_t ldc,
                  const float *bias, int act, float slope) noexcept nogil
cdef int gemm_f64(int m, int n, int k, double alpha, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                  const double *b, ptrdiff_t rsb, ptrdiff_t csb, double beta, double *c, ptrdiff_t ldc,
                  const double *bias, int act, double slope) noexcept nogil
cdef int dense_forward_f32(int n, int n_in, int n_out, const float *x, const float *w, const float *b,
                           int act, float slope, float *a) noexcept nogil
cdef int dense_forward_f64(int n, int n_in, int n_out, const double *x, const double *w, const double *b,
                           int act, double slope, double *a) noexcept nogil
cdef int dense_backward_f32(int n, int n_in, int n_out, const float *da, const float *a, const float *x,
                            const float *w, int act, float slope, float *dz, float *dw, float *db,
                            float *dx) noexcept nogil
cdef int dense_backward_f64(int n, int n_in, int n_out, const double *da, const double *a, const double *x,
                            const double *w, int act, double slope, double *dz, double *dw, double *db,
                            double *dx) noexcept nogil
cdef int dense_backward_sgd_f32(int n, int n_in, int n_out, const float *da, const float *a, const float *x,
                                float *w, float *b, float lr, int act, float slope, float *dz, float *db_work,
                                float *dx) noexcept nogil
cdef int dense_backward_sgd_f64(int n, int n_in, int n_out, const double *da, const double *a,
                                const double *x, double *w, double *b, double lr, int act, double slope,
                                double *dz, double *db_work, double *dx) noexcept nogil
cdef int network_forward_f32(int n, const float *x, int n_layers,
                             const dense_layer_f32 *layers) noexcept nogil
cdef int network_forward_f64(int n, const double *x, int n_layers,
                             const dense_layer_f64 *layers) noexcept nogil
cdef int network_train_step_f32(int n, const float *x, const int64_t *labels, const float *y, int n_layers,
                                const train_layer_f32 *layers, const adam_f32 *adam, double *loss,
                                int64_t *n_correct) noexcept nogil
cdef int network_train_step_f64(int n, const double *x, const int64_t *labels, const double *y, int n_layers,
                                const train_layer_f64 *layers, const adam_f64 *adam, double *loss,
                                int64_t *n_correct) noexcept nogil
cdef int activation_f32(float *z, size_t len, int act, float slope) noexcept nogil
cdef int activation_f64(double *z, size_t len, int act, double slope) noexcept nogil
cdef int activation_derivative_f32(const float *a, float *d, size_t len, int act, float slope) noexcept nogil
cdef int activation_derivative_f64(const double *a, double *d, size_t len, int act,
                                   double slope) noexcept nogil
cdef int softmax_f32(int n, int k, const float *z, float *p) noexcept nogil
cdef int softmax_f64(int n, int k, const double *z, double *p) noexcept nogil
cdef int softmax_cross_entropy_f32(int n, int k, const float *z, const int64_t *labels, const float *y,
                                   float *dz, double *loss, int64_t *n_correct) noexcept nogil
cdef int softmax_cross_entropy_f64(int n, int k, const double *z, const int64_t *labels, const double *y,
                                   double *dz, double *loss, int64_t *n_correct) noexcept nogil
cdef int sigmoid_bce_f32(int n, int k, const float *z, const float *t, float *dz, double *loss) noexcept nogil
cdef int sigmoid_bce_f64(int n, int k, const double *z, const double *t, double *dz,
                         double *loss) noexcept nogil
cdef int half_squared_error_f32(int n, int k, const float *y, const float *t, float *dy,
                                double *loss) noexcept nogil
cdef int half_squared_error_f64(int n, int k, const double *y, const double *t, double *dy,
                                double *loss) noexcept nogil
cdef int mse_f32(int n, int k, const float *y, const float *t, float *dy, double *loss) noexcept nogil
cdef int mse_f64(int n, int k, const double *y, const double *t, double *dy, double *loss) noexcept nogil
cdef int sgd_update_f32(float *p, const float *g, size_t len, float lr) noexcept nogil
cdef int sgd_update_f64(double *p, const double *g, size_t len, double lr) noexcept nogil
cdef int sgd_momentum_update_f32(float *p, const float *g, float *v, size_t len, float lr, float momentum,
                                 int nesterov, float weight_decay) noexcept nogil
cdef int sgd_momentum_update_f64(double *p, const double *g, double *v, size_t len, double lr,
                                 double momentum, int nesterov, double weight_decay) noexcept nogil
cdef int adam_update_f32(float *p, const float *g, float *m, float *v, size_t len, float lr, float b1,
                         float b2, float eps, float weight_decay, float bc1, float bc2) noexcept nogil
cdef int adam_update_f64(double *p, const double *g, double *m, double *v, size_t len, double lr, double b1,
                         double b2, double eps, double weight_decay, double bc1, double bc2) noexcept nogil
