/*
 * fastnn/fastnn_api.h -- fastnn's kernels for C and C++ extension modules.
 *
 * An extension gets the kernels of the installed fastnn through a table of
 * function pointers that fastnn._core publishes in a capsule, as NumPy's
 * import_array() does: it needs this header at compile time (directory:
 * fastnn.get_include()) and links nothing of fastnn's.
 *
 *     #include <Python.h>
 *     #include "fastnn/fastnn_api.h"
 *
 *     static const fnn_api *fnn;                 // one per extension module
 *
 *     PyMODINIT_FUNC PyInit_mymod(void) {
 *         fnn = fastnn_import_api();             // checks the API version
 *         if (!fnn) return NULL;                 // ImportError set
 *         ...
 *     }
 *     ...
 *     Py_BEGIN_ALLOW_THREADS
 *     st = fnn->dense_forward_f32(n, in, out, x, w, b, FNN_ACT_RELU, 0.0f, a);
 *     Py_END_ALLOW_THREADS
 *
 * Conventions (as in fastnn_types.h): weights W are (out_features,
 * in_features), a batch X is (n_samples, in_features), both row-major and
 * contiguous; Z = X W^T + b, A = act(Z).  The _f32 functions take float
 * arrays, the _f64 ones double arrays.
 *
 * Ownership: the caller owns every array; no function keeps a pointer after
 * it returns, allocates memory the caller must free, or resizes anything.
 * Outputs must not overlap inputs unless a function says so.
 *
 * Errors: every function returns an fnn_status (FNN_OK, or FNN_ERR_ARG for a
 * NULL pointer where an array is needed, a negative or too large dimension,
 * an unknown activation, a non-finite rate; FNN_ERR_NOMEM, FNN_ERR_LABEL),
 * and on an error writes nothing.  status_message() gives the text.  A NULL
 * pointer is accepted for an array with no elements.
 *
 * Threads and the GIL: no function calls into Python, takes the GIL or any
 * lock a caller could hold, so all may be called with the GIL released,
 * from any number of threads at once (each call on its own arrays).  The
 * kernels use fastnn's own pool of worker threads, shared with the fastnn
 * Python package and every other caller in the process, up to
 * get_num_threads() threads per call; results do not depend on the thread
 * count.
 *
 * Versions: FASTNN_API_VERSION changes only when the table changes
 * incompatibly; FASTNN_API_MINOR counts functions appended to its end.  An
 * extension built against version V.m imports against a fastnn whose API
 * is V.m' with m' >= m, and fails with an ImportError naming both
 * versions otherwise.
 */
#ifndef FASTNN_API_H
#define FASTNN_API_H

#include "fastnn/fastnn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FASTNN_API_VERSION 1
#define FASTNN_API_MINOR 0
/* The name of the capsule fastnn._core._C_API. */
#define FASTNN_API_CAPSULE "fastnn._core._C_API"

typedef struct fnn_api {
    int version;  /* FASTNN_API_VERSION of the fastnn that made the table */
    int minor;    /* its FASTNN_API_MINOR */
    size_t size;  /* sizeof(fnn_api) there */

    /* The text of a status code (a static string). */
    const char *(*status_message)(fnn_status status);

    /* Threads the kernels use per call (fastnn.get_num_threads()), and a
     * process-wide cap on them (fastnn.set_num_threads(); n >= 1). */
    int (*get_num_threads)(void);
    fnn_status (*set_num_threads)(int n);

    /* C = act(alpha op(A) op(B) + beta C + bias): op(A) is m x k with
     * element (i, p) at a[i*rsa + p*csa], op(B) is k x n with element
     * (p, j) at b[p*rsb + j*csb] (any strides: transposes are free); C is
     * row-major, ldc >= n apart; bias (n, or NULL) is added per column;
     * with beta == 0, C is not read. */
    fnn_status (*gemm_f32)(int m, int n, int k, float alpha, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                           const float *b, ptrdiff_t rsb, ptrdiff_t csb, float beta, float *c, ptrdiff_t ldc,
                           const float *bias, fnn_activation act, float slope);
    fnn_status (*gemm_f64)(int m, int n, int k, double alpha, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                           const double *b, ptrdiff_t rsb, ptrdiff_t csb, double beta, double *c, ptrdiff_t ldc,
                           const double *bias, fnn_activation act, double slope);

    /* A (n x out) = act(X (n x in) W^T + b); b may be NULL. */
    fnn_status (*dense_forward_f32)(int n, int in, int out, const float *x, const float *w, const float *b,
                                    fnn_activation act, float slope, float *a);
    fnn_status (*dense_forward_f64)(int n, int in, int out, const double *x, const double *w, const double *b,
                                    fnn_activation act, double slope, double *a);

    /* From dA = d loss / d A (n x out) and the forward output A:
     *   dZ = dA * act'(A)  into dz (n x out; may be da itself),
     *   dW = dZ^T X        into dw (out x in; skipped if NULL),
     *   db = sum_rows dZ   into db (out; skipped if NULL),
     *   dX = dZ W          into dx (n x in; skipped if NULL). */
    fnn_status (*dense_backward_f32)(int n, int in, int out, const float *da, const float *a, const float *x,
                                     const float *w, fnn_activation act, float slope, float *dz, float *dw,
                                     float *db, float *dx);
    fnn_status (*dense_backward_f64)(int n, int in, int out, const double *da, const double *a, const double *x,
                                     const double *w, fnn_activation act, double slope, double *dz, double *dw,
                                     double *db, double *dx);

    /* The backward pass fused with plain SGD: dX = dZ W with the old W (if
     * dx is not NULL), then W -= lr dZ^T X in the GEMM's epilogue (dW is
     * never stored) and b -= lr db (b may be NULL; db_work: out scratch). */
    fnn_status (*dense_backward_sgd_f32)(int n, int in, int out, const float *da, const float *a, const float *x,
                                         float *w, float *b, float lr, fnn_activation act, float slope, float *dz,
                                         float *db_work, float *dx);
    fnn_status (*dense_backward_sgd_f64)(int n, int in, int out, const double *da, const double *a,
                                         const double *x, double *w, double *b, double lr, fnn_activation act,
                                         double slope, double *dz, double *db_work, double *dx);

    /* A whole network's forward pass in one call (n_layers >= 1; each
     * layer's in_features equals the previous one's out_features). */
    fnn_status (*network_forward_f32)(int n, const float *x, int n_layers, const fnn_dense_layer_f32 *layers);
    fnn_status (*network_forward_f64)(int n, const double *x, int n_layers, const fnn_dense_layer_f64 *layers);

    /* One training step of a network whose output layer feeds a softmax
     * cross-entropy (the output layer's act is not applied: the loss fuses
     * the softmax): forward pass into each layer's a, the loss (*loss) and
     * its gradient, the backward pass and the update: plain SGD (adam NULL)
     * or Adam/AdamW (the layers' dw, m and v buffers).  Targets: labels
     * (n, in [0, out)), or a target matrix y (n x out) when labels is NULL.
     * *n_correct (if not NULL) receives the rows whose largest logit is the
     * target.  If the loss is not finite, nothing is updated. */
    fnn_status (*network_train_step_f32)(int n, const float *x, const int64_t *labels, const float *y,
                                         int n_layers, const fnn_train_layer_f32 *layers,
                                         const fnn_adam_f32 *adam, double *loss, int64_t *n_correct);
    fnn_status (*network_train_step_f64)(int n, const double *x, const int64_t *labels, const double *y,
                                         int n_layers, const fnn_train_layer_f64 *layers,
                                         const fnn_adam_f64 *adam, double *loss, int64_t *n_correct);

    /* In place: z <- act(z) (len elements); d <- act'(z) from the output a. */
    fnn_status (*activation_f32)(float *z, size_t len, fnn_activation act, float slope);
    fnn_status (*activation_f64)(double *z, size_t len, fnn_activation act, double slope);
    fnn_status (*activation_derivative_f32)(const float *a, float *d, size_t len, fnn_activation act,
                                            float slope);
    fnn_status (*activation_derivative_f64)(const double *a, double *d, size_t len, fnn_activation act,
                                            double slope);

    /* Row-wise softmax of z (n x k) into p (p may be z). */
    fnn_status (*softmax_f32)(int n, int k, const float *z, float *p);
    fnn_status (*softmax_f64)(int n, int k, const double *z, double *p);

    /* Losses of a batch (mean over the batch; *loss in double) and their
     * gradient with respect to their input (which it may overwrite):
     * softmax cross-entropy from logits z (n x k) with labels or a target
     * matrix y (labels NULL); dz = (P - Y) / n; n_correct may be NULL. */
    fnn_status (*softmax_cross_entropy_f32)(int n, int k, const float *z, const int64_t *labels, const float *y,
                                            float *dz, double *loss, int64_t *n_correct);
    fnn_status (*softmax_cross_entropy_f64)(int n, int k, const double *z, const int64_t *labels,
                                            const double *y, double *dz, double *loss, int64_t *n_correct);
    /* sigmoid binary cross-entropy from logits z (n x k), targets t in [0, 1]. */
    fnn_status (*sigmoid_bce_f32)(int n, int k, const float *z, const float *t, float *dz, double *loss);
    fnn_status (*sigmoid_bce_f64)(int n, int k, const double *z, const double *t, double *dz, double *loss);
    /* The notes' E = 1/2 sum_k (t_k - y_k)^2 per sample; dy = (y - t) / n. */
    fnn_status (*half_squared_error_f32)(int n, int k, const float *y, const float *t, float *dy, double *loss);
    fnn_status (*half_squared_error_f64)(int n, int k, const double *y, const double *t, double *dy,
                                         double *loss);
    /* Mean squared error over all n k elements; dy = 2 (y - t) / (n k). */
    fnn_status (*mse_f32)(int n, int k, const float *y, const float *t, float *dy, double *loss);
    fnn_status (*mse_f64)(int n, int k, const double *y, const double *t, double *dy, double *loss);

    /* Updates of len parameters p from their gradient g, in place:
     * SGD p -= lr g; momentum SGD (PyTorch's: g' = g + wd p, v = momentum v + g',
     * p -= lr (nesterov ? g' + momentum v : v)); Adam/AdamW
     * (p *= 1 - lr wd; m, v updated; p -= lr/bc1 m / (sqrt(v/bc2) + eps)). */
    fnn_status (*sgd_update_f32)(float *p, const float *g, size_t len, float lr);
    fnn_status (*sgd_update_f64)(double *p, const double *g, size_t len, double lr);
    fnn_status (*sgd_momentum_update_f32)(float *p, const float *g, float *v, size_t len, float lr, float momentum,
                                          int nesterov, float weight_decay);
    fnn_status (*sgd_momentum_update_f64)(double *p, const double *g, double *v, size_t len, double lr,
                                          double momentum, int nesterov, double weight_decay);
    fnn_status (*adam_update_f32)(float *p, const float *g, float *m, float *v, size_t len, float lr, float b1,
                                  float b2, float eps, float weight_decay, float bc1, float bc2);
    fnn_status (*adam_update_f64)(double *p, const double *g, double *m, double *v, size_t len, double lr,
                                  double b1, double b2, double eps, double weight_decay, double bc1, double bc2);
} fnn_api;

#if defined(Py_PYTHON_H) && !defined(FASTNN_NO_IMPORT)
/* The table of the installed fastnn, or NULL with ImportError set (fastnn
 * missing, or a C API this extension was not built for).  Call it once, in
 * the module's init function, with the GIL held; keep the pointer: the
 * table lives as long as the process. */
static inline const fnn_api *fastnn_import_api(void)
{
    PyObject *module = PyImport_ImportModule("fastnn._core");
    if (!module) return NULL;
    PyObject *capsule = PyObject_GetAttrString(module, "_C_API");
    Py_DECREF(module);
    if (!capsule) return NULL;
    const fnn_api *api = (const fnn_api *)PyCapsule_GetPointer(capsule, FASTNN_API_CAPSULE);
    Py_DECREF(capsule);
    if (!api) return NULL;
    if (api->version != FASTNN_API_VERSION || api->minor < FASTNN_API_MINOR) {
        PyErr_Format(PyExc_ImportError,
                     "this extension was built against fastnn's C API version %d.%d, but the installed "
                     "fastnn provides version %d.%d: rebuild it against the installed fastnn "
                     "(headers in fastnn.get_include())",
                     FASTNN_API_VERSION, FASTNN_API_MINOR, api->version, api->minor);
        return NULL;
    }
    return api;
}
#endif

#ifdef __cplusplus
}
#endif
#endif /* FASTNN_API_H */
