/*
 * fastnn.h -- fastnn's kernels, as the package itself calls them (plain
 * C99, no Python).  Not installed: other packages use the checked public
 * API of include/fastnn/fastnn_api.h, whose types (status codes,
 * activations, layer tables) are the ones declared in
 * include/fastnn/fastnn_types.h and used here.
 *
 * Layout conventions, as in the lecture notes and PyTorch:
 *   weights W are (out_features, in_features), row-major;
 *   a batch X is (n_samples, in_features), row-major;
 *   so the forward pass is Z = X W^T + b and A = act(Z).
 *
 * Every function comes in a float (_f32) and a double (_f64) flavour.  They
 * never call back into Python and never take locks, so callers may run them
 * with the GIL released.  Functions that can fail return an fnn_status.
 */
#ifndef FASTNN_H
#define FASTNN_H

#include <stddef.h>
#include <stdint.h>

#include "fastnn/fastnn_types.h" /* the types the public C API shares */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- run time: instruction set, threads, build facts ------------------ */

/* Names of the SIMD paths compiled into this build, lowest first, and the
 * number of them. */
int fnn_simd_compiled(const char **names, int max_names);
/* 1 if this CPU (and OS) can run the named path. */
int fnn_simd_supported(const char *name);
/* The path in use (chosen at first use: the best the CPU supports, or the
 * one named by the environment variable FASTNN_SIMD). */
const char *fnn_simd_selected(void);
/* Force a path; returns 0 on success, -1 if unknown or unsupported. */
int fnn_simd_select(const char *name);
/* The register tile (rows x columns of C) of the selected path. */
void fnn_simd_tile(int double_precision, int *mr, int *nr);

/* Threads: 0 if built without OpenMP. */
int fnn_openmp_version(void);
/* Threads a kernel may use: the last fnn_set_num_threads() value, capped by
 * OpenMP's own limit for the calling thread (OMP_NUM_THREADS,
 * omp_set_num_threads, threadpoolctl) and by 64.  The threads themselves
 * are fastnn's own pool (threads.c), not OpenMP's. */
int fnn_get_num_threads(void);
void fnn_set_num_threads(int n);
/* The thread count OpenMP would use by default in this process. */
int fnn_default_num_threads(void);
/* How many threads the last GEMM on this thread's behalf was split for
 * (a diagnostic for tests and benchmarks). */
int fnn_last_gemm_threads(void);
/* How long (microseconds) an idle pool worker polls for work before it
 * sleeps: FASTNN_SPIN_US, or the default. */
long fnn_idle_spin_us(void);

/* ---- GEMM -------------------------------------------------------------- */

/*
 * C = act(alpha * op(A) op(B) + beta * C + bias), the engine under every
 * dense-layer kernel.  op(A) is m x k with element (i, p) at
 * a[i*rsa + p*csa]; op(B) is k x n with element (p, j) at b[p*rsb + j*csb]
 * (any strides: transposes are absorbed by the packing).  C is row-major
 * with leading dimension ldc.  bias (length n, may be NULL) is added per
 * column.  With beta == 0, C is not read.
 */
fnn_status fnn_gemm_f32(int m, int n, int k, float alpha,
                        const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                        const float *b, ptrdiff_t rsb, ptrdiff_t csb,
                        float beta, float *c, ptrdiff_t ldc,
                        const float *bias, fnn_activation act, float slope);
fnn_status fnn_gemm_f64(int m, int n, int k, double alpha,
                        const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                        const double *b, ptrdiff_t rsb, ptrdiff_t csb,
                        double beta, double *c, ptrdiff_t ldc,
                        const double *bias, fnn_activation act, double slope);

/* ---- dense layer ------------------------------------------------------- */

/* A (n x out) = act(X (n x in) W^T + b); b may be NULL. */
fnn_status fnn_dense_forward_f32(int n, int in, int out, const float *x,
                                 const float *w, const float *b,
                                 fnn_activation act, float slope, float *a);
fnn_status fnn_dense_forward_f64(int n, int in, int out, const double *x,
                                 const double *w, const double *b,
                                 fnn_activation act, double slope, double *a);

/*
 * Backward pass of a dense layer from dA (n x out) and the forward output A.
 *   dZ = dA * act'(A)        (dz: n x out workspace; may be the same as da)
 *   dW = dZ^T X              (dw: out x in, skipped if NULL)
 *   db = column sums of dZ   (db: out, skipped if NULL)
 *   dX = dZ W                (dx: n x in, skipped if NULL, e.g. first layer)
 */
fnn_status fnn_dense_backward_f32(int n, int in, int out, const float *da,
                                  const float *a, const float *x,
                                  const float *w, fnn_activation act,
                                  float slope, float *dz, float *dw,
                                  float *db, float *dx);
fnn_status fnn_dense_backward_f64(int n, int in, int out, const double *da,
                                  const double *a, const double *x,
                                  const double *w, fnn_activation act,
                                  double slope, double *dz, double *dw,
                                  double *db, double *dx);

/*
 * Backward pass fused with plain SGD: dX = dZ W with the old W (if dx is
 * not NULL), then W -= lr * dZ^T X inside the GEMM's epilogue (dW is never
 * stored) and b -= lr * db (b may be NULL; db_work is an out-sized scratch).
 */
fnn_status fnn_dense_backward_sgd_f32(int n, int in, int out, const float *da,
                                      const float *a, const float *x, float *w,
                                      float *b, float lr, fnn_activation act,
                                      float slope, float *dz, float *db_work,
                                      float *dx);
fnn_status fnn_dense_backward_sgd_f64(int n, int in, int out,
                                      const double *da, const double *a,
                                      const double *x, double *w, double *b,
                                      double lr, fnn_activation act,
                                      double slope, double *dz,
                                      double *db_work, double *dx);

/*
 * A whole network's forward pass in one call: the latency path.  Layer l
 * reads layer l-1's output (layer 0 reads x, n x layers[0].in_features) and
 * writes a (n x out_features) = act(input W^T + b); a softmax flag applies a
 * row-wise softmax after it (the output layer).  With a handful of rows
 * (batch-1 inference) each layer is one job for the thread pool, each
 * thread computing a slice of the layer's outputs, all in one call:
 * per-call costs, not the arithmetic, dominate there.  Returns
 * FNN_ERR_ARG, computing nothing, if consecutive layers do not chain.
 */

fnn_status fnn_network_forward_f32(int n, const float *x, int n_layers,
                                   const fnn_dense_layer_f32 *layers);
fnn_status fnn_network_forward_f64(int n, const double *x, int n_layers,
                                   const fnn_dense_layer_f64 *layers);

/*
 * fnn_network_forward for an x not known to be finite: FNN_ERR_NONFINITE
 * (the outputs undefined) if x holds a NaN or an infinity.  Costs no
 * second pass over a large x (the first layer's GEMM checks its sums).
 */
fnn_status fnn_network_forward_checked_f32(int n, const float *x, int n_layers,
                                           const fnn_dense_layer_f32 *layers);
fnn_status fnn_network_forward_checked_f64(int n, const double *x, int n_layers,
                                           const fnn_dense_layer_f64 *layers);

/*
 * One training step of a network whose output layer feeds a softmax
 * cross-entropy (the output layer's own activation is not applied: the
 * loss fuses the softmax), in one call: the forward pass into each layer's
 * a, the loss and its gradient (labels, or a target matrix y when labels
 * is NULL) into the output layer's g, the backward pass and the update:
 * plain SGD (adam and momentum NULL; fused into the weight gradient's
 * epilogue), Adam/AdamW (the layers' dw, m and v buffers; bias corrections
 * in *adam) or momentum SGD (the layers' dw, and their m_w and m_b as the
 * velocities; at most one of adam, momentum).
 * l2 (Adam, or momentum with lr_in_velocity; 0: none) is scikit-learn's coupled L2 penalty: l2 w is
 * added to each learning layer's weight gradient (not the biases') and
 * *loss includes l2/2 times the sum of those weights' squares before the
 * update (the sum in a fixed order).  A layer with train == 0 is frozen
 * (no update; its dX is still computed when a layer below it learns).  If the loss is not finite nothing is
 * updated (*loss tells the caller).
 *
 * Two threads: a batch of at least FNN_STEP_SPLIT_ROWS rows is split into
 * two halves that go through the forward pass, the loss and the backward
 * chain (dZ, dX) independently (data parallel: no synchronisation inside
 * the step's small GEMMs); after one barrier the team updates each layer
 * from dZ^T X over the whole batch, each thread a slice of W.  The halves
 * are the same with one thread, so results do not depend on the thread
 * count.
 */
#define FNN_STEP_SPLIT_ROWS 32

/* Momentum SGD's constants for the training step: PyTorch's convention,
 * as fnn_sgd_momentum_update (dampening 0, weight decay added to the
 * gradient), or with lr_in_velocity scikit-learn's, as
 * fnn_sgd_lr_momentum_update (weight_decay unused; the step's l2 is its
 * coupled penalty). */
typedef struct {
    float momentum, weight_decay;
    int nesterov, lr_in_velocity;
} fnn_momentum_f32;
typedef struct {
    double momentum, weight_decay;
    int nesterov, lr_in_velocity;
} fnn_momentum_f64;



fnn_status fnn_network_train_step_f32(int n, const float *x, const int64_t *labels,
                                      const float *y, int n_layers,
                                      const fnn_train_layer_f32 *layers,
                                      const fnn_adam_f32 *adam,
                                      const fnn_momentum_f32 *momentum, float l2,
                                      double *loss, int64_t *n_correct);
fnn_status fnn_network_train_step_f64(int n, const double *x, const int64_t *labels,
                                      const double *y, int n_layers,
                                      const fnn_train_layer_f64 *layers,
                                      const fnn_adam_f64 *adam,
                                      const fnn_momentum_f64 *momentum, double l2,
                                      double *loss, int64_t *n_correct);
/* The same step on the rows rows[0..n) of x_src (n_src rows, ld apart),
 * gathered into x_buf (n x in_features) inside the step: with two threads
 * each half copies its own rows just before its forward pass (a minibatch
 * straight from the shuffled order, no separate gather).  Every index is
 * checked first (FNN_ERR_ARG, nothing written). */
fnn_status fnn_network_train_step_rows_f32(int n, const float *x_src, ptrdiff_t ld, int64_t n_src,
                                           const int64_t *rows, float *x_buf, const int64_t *labels,
                                           const float *y, int n_layers,
                                           const fnn_train_layer_f32 *layers,
                                           const fnn_adam_f32 *adam,
                                           const fnn_momentum_f32 *momentum, float l2,
                                           double *loss, int64_t *n_correct);
fnn_status fnn_network_train_step_rows_f64(int n, const double *x_src, ptrdiff_t ld, int64_t n_src,
                                           const int64_t *rows, double *x_buf, const int64_t *labels,
                                           const double *y, int n_layers,
                                           const fnn_train_layer_f64 *layers,
                                           const fnn_adam_f64 *adam,
                                           const fnn_momentum_f64 *momentum, double l2,
                                           double *loss, int64_t *n_correct);

/* ---- element-wise ------------------------------------------------------ */

/* In place: z <- act(z), len elements. */
void fnn_activation_f32(float *z, size_t len, fnn_activation act, float slope);
void fnn_activation_f64(double *z, size_t len, fnn_activation act,
                        double slope);
/* d[i] = act'(z) written from the activation's output a (all the forward
 * pass keeps). */
void fnn_activation_derivative_f32(const float *a, float *d, size_t len,
                                   fnn_activation act, float slope);
void fnn_activation_derivative_f64(const double *a, double *d, size_t len,
                                   fnn_activation act, double slope);

/* SGD: p -= lr * g. */
void fnn_sgd_update_f32(float *p, const float *g, size_t len, float lr);
void fnn_sgd_update_f64(double *p, const double *g, size_t len, double lr);

/* Momentum SGD (PyTorch's convention, dampening 0), in place:
 *   g' = g + wd p;  v = momentum v + g';  p -= lr (nesterov ? g' + momentum v : v). */
void fnn_sgd_momentum_update_f32(float *p, const float *g, float *v, size_t len,
                                 float lr, float momentum, int nesterov,
                                 float weight_decay);
void fnn_sgd_momentum_update_f64(double *p, const double *g, double *v,
                                 size_t len, double lr, double momentum,
                                 int nesterov, double weight_decay);

/* Momentum SGD as scikit-learn's MLP runs it (the velocity holds the
 * learning rate), on g + l2 p (its coupled L2 term; l2 0: g alone), in
 * place; g itself is not written:
 *   v = momentum v - lr g';  p += nesterov ? momentum v - lr g' : v.
 * Returns the sum of p^2 as it was before the update (the batch's
 * penalty; 0 when l2 is 0). */
double fnn_sgd_lr_momentum_update_f32(float *p, const float *g, float *v, size_t len, float lr, float momentum,
                                      int nesterov, float l2);
double fnn_sgd_lr_momentum_update_f64(double *p, const double *g, double *v, size_t len, double lr,
                                      double momentum, int nesterov, double l2);

/* Adam with decoupled weight decay (AdamW), in place, one pass:
 *   p *= 1 - lr wd;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= (lr / bc1) m / (sqrt(v / bc2) + eps),
 * with the bias corrections bc1 = 1 - b1^t, bc2 = 1 - b2^t. */
void fnn_adam_update_f32(float *p, const float *g, float *m, float *v,
                         size_t len, float lr, float b1, float b2, float eps,
                         float weight_decay, float bc1, float bc2);
void fnn_adam_update_f64(double *p, const double *g, double *m, double *v,
                         size_t len, double lr, double b1, double b2,
                         double eps, double weight_decay, double bc1,
                         double bc2);

/* Adam on g + l2 p (a coupled L2 term, as scikit-learn's MLP adds to its
 * weight gradients), in place, one pass; g itself is not written.  Returns
 * the sum of p^2 over the parameters as they were before the update (the
 * batch's penalty).  No weight decay; bc1 and bc2 as fnn_adam_update. */
double fnn_adam_l2_update_f32(float *p, const float *g, float *m, float *v,
                              size_t len, float lr, float b1, float b2,
                              float eps, float l2, float bc1, float bc2);
double fnn_adam_l2_update_f64(double *p, const double *g, double *m,
                              double *v, size_t len, double lr, double b1,
                              double b2, double eps, double l2, double bc1,
                              double bc2);

/* out[i, :] = src[idx[i], :] for i < n (rows of cols elements, src rows
 * ld_src apart): a minibatch gathered from a shuffled order.  Returns
 * FNN_ERR_ARG, writing nothing, if an index is outside [0, n_src). */
fnn_status fnn_gather_rows_f32(const float *src, ptrdiff_t ld_src, int64_t n_src,
                               const int64_t *idx, int n, int cols, float *out);
fnn_status fnn_gather_rows_f64(const double *src, ptrdiff_t ld_src, int64_t n_src,
                               const int64_t *idx, int n, int cols, double *out);

/* Augmentation: image i of dst (n images of h x w, row-major, one after
 * another) = image i of src moved down dy[i] rows and right dx[i] columns
 * (negative: up, left), the uncovered pixels set to fill; a shift of the
 * whole height or width leaves only fill.  dst must not overlap src.
 * On the pool's threads when large.  FNN_ERR_ARG for a negative size. */
fnn_status fnn_shift_images_f32(int64_t n, int h, int w, const float *src, const int64_t *dy,
                                const int64_t *dx, float fill, float *dst);
fnn_status fnn_shift_images_f64(int64_t n, int h, int w, const double *src, const int64_t *dy,
                                const int64_t *dx, double fill, double *dst);

/* 1 if every element is finite. */
int fnn_all_finite_f32(const float *x, size_t len);
int fnn_all_finite_f64(const double *x, size_t len);

/* dst[i] = (float)src[i] for i < len, on the pool's threads when large;
 * returns how many results are not finite (NaN, infinite, or a double
 * beyond float's range). */
size_t fnn_convert_f64_f32(const double *src, float *dst, size_t len);

/* ---- output layers and losses ------------------------------------------ */

/* Row-wise softmax of z (n x k) into p (may alias z). */
void fnn_softmax_f32(int n, int k, const float *z, float *p);
void fnn_softmax_f64(int n, int k, const double *z, double *p);

/*
 * Softmax fused with categorical cross-entropy, from logits z (n x k).
 * Targets are either integer labels (labels != NULL, y ignored) or a target
 * matrix y (n x k).  Loss = mean over samples of -sum_k y_k log p_k,
 * computed with log-sum-exp; dz = (P - Y) / n (dz may alias z).  If
 * n_correct is not NULL it receives the number of rows whose largest logit
 * is the label (or the target row's largest entry): accuracy for free.
 */
fnn_status fnn_softmax_cross_entropy_f32(int n, int k, const float *z,
                                         const int64_t *labels,
                                         const float *y, float *dz,
                                         double *loss, int64_t *n_correct);
fnn_status fnn_softmax_cross_entropy_f64(int n, int k, const double *z,
                                         const int64_t *labels,
                                         const double *y, double *dz,
                                         double *loss, int64_t *n_correct);

/* Sigmoid fused with binary cross-entropy from logits z (n x k); loss is
 * the mean over all n*k elements; dz = (sigmoid(z) - t) / (n k). */
void fnn_sigmoid_bce_f32(int n, int k, const float *z, const float *t,
                         float *dz, double *loss);
void fnn_sigmoid_bce_f64(int n, int k, const double *z, const double *t,
                         double *dz, double *loss);

/* The notes' error E = 1/2 sum_k (t_k - y_k)^2 per sample, averaged over
 * the batch; dy = (y - t) / n. */
void fnn_half_squared_error_f32(int n, int k, const float *y, const float *t,
                                float *dy, double *loss);
void fnn_half_squared_error_f64(int n, int k, const double *y,
                                const double *t, double *dy, double *loss);

/* Mean squared error over all n*k elements; dy = 2 (y - t) / (n k). */
void fnn_mse_f32(int n, int k, const float *y, const float *t, float *dy,
                 double *loss);
void fnn_mse_f64(int n, int k, const double *y, const double *t, double *dy,
                 double *loss);

/* ---- the public C API --------------------------------------------------- */

/* The table of checked entry points (include/fastnn/fastnn_api.h) that
 * fastnn._core publishes as the capsule _C_API. */
struct fnn_api;
const struct fnn_api *fnn_get_api(void);

#ifdef __cplusplus
}
#endif
#endif /* FASTNN_H */
