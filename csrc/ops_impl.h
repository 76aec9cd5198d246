/*
 * ops_impl.h -- dtype-generic body of ops.c (included once with
 * T = float and once with T = double).  The dense-layer kernels are GEMM
 * calls with the right strides and epilogue; the rest is element-wise.
 */

#define FN(name) FNN_CAT(name, SFX)

#ifndef FNN_MIN_INT_DEFINED
#define FNN_MIN_INT_DEFINED
static inline int fnn_min_int(int a, int b) { return a < b ? a : b; }
#endif

/* act'(z), written from the activation's output a. */
static inline T FN(act_derivative)(T a, fnn_activation act, T slope)
{
    switch (act) {
    case FNN_ACT_SIGMOID: return a * ((T)1 - a);
    case FNN_ACT_TANH: return (T)1 - a * a;
    case FNN_ACT_RELU: return a > (T)0 ? (T)1 : (T)0;
    case FNN_ACT_LEAKY_RELU: return a > (T)0 ? (T)1 : slope;
    /* a = log(1 + e^z), so sigmoid(z) = 1 - e^-a; expm1 keeps small a exact */
    case FNN_ACT_SOFTPLUS: return (T)-expm1(-(double)a);
    default: return (T)1;
    }
}

void FN(fnn_activation_derivative_)(const T *a, T *d, size_t len,
                                    fnn_activation act, T slope)
{
    for (size_t i = 0; i < len; ++i) d[i] = FN(act_derivative)(a[i], act, slope);
}

/* dz = da * act'(a) (dz may be da) and, if db, db = column sums of dz. */
static void FN(activation_backward)(int n, int out, const T *da, const T *a,
                                    fnn_activation act, T slope, T *dz, T *db)
{
    if (db)
        for (int o = 0; o < out; ++o) db[o] = (T)0;
    for (int i = 0; i < n; ++i) {
        const T *dai = da + (size_t)i * out, *ai = a + (size_t)i * out;
        T *dzi = dz + (size_t)i * out;
        switch (act) { /* one loop per activation, so each vectorises */
        case FNN_ACT_IDENTITY:
            if (dzi != dai) memcpy(dzi, dai, (size_t)out * sizeof(T));
            break;
        case FNN_ACT_SIGMOID:
            for (int o = 0; o < out; ++o) dzi[o] = dai[o] * (ai[o] * ((T)1 - ai[o]));
            break;
        case FNN_ACT_TANH:
            for (int o = 0; o < out; ++o) dzi[o] = dai[o] * ((T)1 - ai[o] * ai[o]);
            break;
        case FNN_ACT_RELU:
            for (int o = 0; o < out; ++o) dzi[o] = ai[o] > (T)0 ? dai[o] : (T)0;
            break;
        default:
            for (int o = 0; o < out; ++o)
                dzi[o] = dai[o] * FN(act_derivative)(ai[o], act, slope);
        }
        if (db)
            for (int o = 0; o < out; ++o) db[o] += dzi[o];
    }
}

/* Whether the forward pass of n rows through an in -> out layer computes
 * A^T = W X^T: a narrow layer (the 10 outputs of a classifier) would fill
 * only out of the micro-tile's NR columns (this choice depends on the
 * layer only, not on n); and, up to the CPU's transposed_tiles (cpu.c), a
 * batch of whole NR-row tiles, where packing W^T for a few slivers of rows
 * costs more than packing the batch, when both products run the packed
 * micro-kernel (so that each element is the same sum either way). */
static int FN(forward_transposed)(int n, int in, int out)
{
    int mr = 1, nr = 1;
    fnn_simd_tile(sizeof(T) == 8, &mr, &nr);
    if (in < 1) return 0;
    if (2 * out <= nr && out <= mr) return 1;
    const int dp = sizeof(T) == 8; /* (the caller has n >= 1, so a multiple of nr is a tile or more) */
    return n % nr == 0 && n / nr <= fnn_kernel_config()->transposed_tiles && out >= 4 * mr &&
           fnn_gemm_packed(dp, n, out, in) && fnn_gemm_packed(dp, out, n, in);
}

/* A (n x out) = act(X W^T + b) with at most nt threads.  Normally one GEMM
 * with op(B) = W^T read through strides and the bias and activation in its
 * epilogue.  Where forward_transposed says so, it computes the transpose
 * A^T = W X^T instead (a narrow layer's few rows take the GEMM's
 * dot-product path, or fill MR-row tiles), and transposes it into A adding
 * the bias.  Each element is the same sum in the same order either way:
 * the results are identical.  With FNN_ACT_CHECK_FINITE in act, either
 * GEMM reports a non-finite sum (fnn_internal.h). */
static fnn_status FN(dense_forward_threads)(int nt, int n, int in, int out, const T *x, const T *w,
                                            const T *b, fnn_activation act, T slope, T *a)
{
    if (n <= 0 || out <= 0) return FNN_OK; /* nothing to compute (and no scratch to ask for) */
    if (!FN(forward_transposed)(n, in, out))
        return FN(fnn_gemm_threads_)(nt, n, out, in, (T)1, x, in, 1, w, 1, in, (T)0, a, out, b, act, slope);
    T *at = (T *)fnn_ops_scratch((size_t)out * n * sizeof(T));
    if (!at) return FNN_ERR_NOMEM;
    const int check = (int)act & FNN_ACT_CHECK_FINITE;
    act = (fnn_activation)((int)act & ~FNN_ACT_CHECK_FINITE);
    const fnn_status st = FN(fnn_gemm_threads_)(nt, out, n, in, (T)1, w, in, 1, x, 1, in, (T)0, at, n, NULL,
                                                (fnn_activation)(FNN_ACT_IDENTITY | check), (T)0);
    if (st == FNN_OK) {
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < out; ++j)
                a[(size_t)i * out + j] = at[(size_t)j * n + i] + (b ? b[j] : (T)0);
        if (act != FNN_ACT_IDENTITY) FN(fnn_activation_)(a, (size_t)n * out, act, slope);
    }
    return st;
}

fnn_status FN(fnn_dense_forward_)(int n, int in, int out, const T *x,
                                  const T *w, const T *b, fnn_activation act,
                                  T slope, T *a)
{
    return FN(dense_forward_threads)(fnn_get_num_threads(), n, in, out, x, w, b, act, slope, a);
}


/* A batch of more than FNN_NETWORK_SMALL_M rows per thread: each task
 * runs its own rows through every layer, the softmax included, on one
 * thread, so the threads never wait for each other between layers (one
 * hand-off per call instead of one per layer) and each reads only the
 * activations it wrote.  A row's outputs do not depend on the rows around
 * it (every task's GEMMs take the packed path, as the whole batch's do),
 * so the results are those of one thread. */
typedef struct {
    int n, n_layers;
    int check; /* FNN_ACT_CHECK_FINITE on the first layer, or 0 */
    const T *x;
    const FNN_CAT(fnn_dense_layer_, SFX) *layers;
    fnn_status status[FNN_MAX_THREADS];
} FN(rows_job);

static void FN(network_rows_task)(void *ctx, int task, int n_tasks)
{
    FN(rows_job) *job = (FN(rows_job) *)ctx;
    size_t lo, hi;
    fnn_task_part((size_t)job->n, task, n_tasks, &lo, &hi);
    const int r0 = (int)lo, r1 = (int)hi;
    const T *in = job->x + (ptrdiff_t)r0 * job->layers[0].in_features;
    for (int l = 0; l < job->n_layers; ++l) {
        const FNN_CAT(fnn_dense_layer_, SFX) *L = &job->layers[l];
        T *a = L->a + (ptrdiff_t)r0 * L->out_features;
        const fnn_activation act = (fnn_activation)((int)L->act | (l == 0 ? job->check : 0));
        const fnn_status st = FN(dense_forward_threads)(1, r1 - r0, L->in_features, L->out_features, in, L->w,
                                                        L->b, act, L->slope, a);
        if (st != FNN_OK) {
            job->status[task] = st;
            return;
        }
        if (L->softmax) FN(fnn_softmax_)(r1 - r0, L->out_features, a, a);
        in = a;
    }
}

/* Threads for the row-split forward of n rows: each must get more than
 * FNN_NETWORK_SMALL_M rows (the dot-product path would round differently)
 * and the GEMM's minimum work per thread; 1: split each layer instead. */
static int FN(network_row_threads)(int n, double work)
{
    int nt = fnn_get_num_threads();
    const int by_rows = n / (FNN_NETWORK_SMALL_M + 1);
    const int by_work = (int)(work / fnn_kernel_config()->gemm_min_work);
    if (by_rows < nt) nt = by_rows;
    if (by_work < nt) nt = by_work;
    return nt;
}

static fnn_status FN(network_rows)(int nt, int n, double work, const T *x, int n_layers,
                                   const FNN_CAT(fnn_dense_layer_, SFX) *layers, int check)
{
    FN(rows_job) job = {n, n_layers, check, x, layers, {FNN_OK}};
    fnn_parallel(nt, work, FN(network_rows_task), &job);
    for (int t = 0; t < nt; ++t)
        if (job.status[t] != FNN_OK) return job.status[t];
    return FNN_OK;
}

/* fnn_network_forward; check: FNN_ACT_CHECK_FINITE to have the first
 * layer's GEMM report a non-finite sum (FNN_ERR_NONFINITE, the outputs
 * left undefined), or 0.  Small batches, which take the network-small
 * path, are not checked here. */
static fnn_status FN(network_forward)(int n, const T *x, int n_layers,
                                      const FNN_CAT(fnn_dense_layer_, SFX) *layers, int check)
{
    if (n < 0 || n_layers < 1 || !x || !layers) return FNN_ERR_ARG;
    double work = 0.0;
    int small = n <= FNN_NETWORK_SMALL_M;
    for (int l = 0; l < n_layers; ++l) {
        const FNN_CAT(fnn_dense_layer_, SFX) *L = &layers[l];
        if (L->in_features < 0 || L->out_features < 1 || !L->w || !L->a) return FNN_ERR_ARG;
        if (l > 0 && L->in_features != layers[l - 1].out_features) return FNN_ERR_ARG;
        if (L->softmax && l + 1 < n_layers) return FNN_ERR_ARG; /* output layer only */
        if (L->in_features == 0) small = 0;
        work += (double)n * L->in_features * L->out_features;
    }
    if (n == 0) return FNN_OK;
    const int nt_rows = small ? 1 : FN(network_row_threads)(n, work);
    if (nt_rows >= 2) /* (each task applies the softmax to its rows) */
        return FN(network_rows)(nt_rows, n, work, x, n_layers, layers, check);
    const FNN_CAT(fnn_dense_layer_, SFX) *last = &layers[n_layers - 1];
    if (small) {
        int nt = fnn_get_num_threads();
        /* (network_min_work: two threads each reading half of every W from
         * their own L2 beat one reading all of it, well before a GEMM would split) */
        const int by_work = (int)(work / fnn_kernel_config()->network_min_work);
        if (by_work < nt) nt = by_work > 1 ? by_work : 1;
        const fnn_status st = fnn_active_kernels()->FNN_CAT(network_small_, SFX)(n, x, n_layers, layers, nt);
        if (st != FNN_OK) return st;
    } else {
        const T *in = x;
        for (int l = 0; l < n_layers; ++l) {
            const FNN_CAT(fnn_dense_layer_, SFX) *L = &layers[l];
            const fnn_activation act = (fnn_activation)((int)L->act | (l == 0 ? check : 0));
            const fnn_status st = FN(dense_forward_threads)(fnn_get_num_threads(), n, L->in_features,
                                                            L->out_features, in, L->w, L->b, act, L->slope, L->a);
            if (st != FNN_OK) return st;
            in = L->a;
        }
    }
    if (last->softmax) FN(fnn_softmax_)(n, last->out_features, last->a, last->a);
    return FNN_OK;
}

fnn_status FN(fnn_network_forward_)(int n, const T *x, int n_layers,
                                    const FNN_CAT(fnn_dense_layer_, SFX) *layers)
{
    return FN(network_forward)(n, x, n_layers, layers, 0);
}

/* The input's check rides on the first layer's GEMM where the batch is
 * large enough for reading x a second time to cost something: that GEMM
 * proves x finite (fnn_internal.h, FNN_ACT_CHECK_FINITE) unless a sum is
 * not, and only then is x scanned, and the network computed again if x
 * is finite after all (an overflow, a NaN in a weight). */
fnn_status FN(fnn_network_forward_checked_)(int n, const T *x, int n_layers,
                                            const FNN_CAT(fnn_dense_layer_, SFX) *layers)
{
    if (n < 0 || n_layers < 1 || !x || !layers || layers[0].in_features < 0) return FNN_ERR_ARG;
    const size_t len = (size_t)n * (size_t)layers[0].in_features;
    if (n <= FNN_NETWORK_SMALL_M || layers[0].in_features == 0)
        return FN(fnn_all_finite_)(x, len) ? FN(network_forward)(n, x, n_layers, layers, 0) : FNN_ERR_NONFINITE;
    const fnn_status st = FN(network_forward)(n, x, n_layers, layers, FNN_ACT_CHECK_FINITE);
    if (st != FNN_ERR_NONFINITE) return st;
    return FN(fnn_all_finite_)(x, len) ? FN(network_forward)(n, x, n_layers, layers, 0) : FNN_ERR_NONFINITE;
}

/* Threads for a backward GEMM of this layer.  Its A operand, dZ, was just
 * written by the calling thread, so a second thread must first pull its
 * share across from the other core's cache: it splits from a higher bar
 * than a forward GEMM (the CPU's backward_min_work, cpu.c). */
static int FN(backward_threads)(int nt, int n, int in, int out)
{
    const double work = (double)n * in * out;
    const int by_work = (int)(work / fnn_kernel_config()->backward_min_work);
    return by_work < nt ? (by_work > 1 ? by_work : 1) : nt;
}

/* fnn_dense_backward with at most max_threads threads. */
static fnn_status FN(dense_backward_threads)(int max_threads, int n, int in, int out, const T *da, const T *a,
                                             const T *x, const T *w, fnn_activation act, T slope, T *dz, T *dw,
                                             T *db, T *dx)
{
    FN(activation_backward)(n, out, da, a, act, slope, dz, db);
    const int nt = FN(backward_threads)(max_threads, n, in, out);
    fnn_status st = FNN_OK;
    if (dx) /* dX (n x in) = dZ W */
        st = FN(fnn_gemm_threads_)(nt, n, in, out, (T)1, dz, out, 1, w, in, 1, (T)0, dx,
                           in, NULL, FNN_ACT_IDENTITY, (T)0);
    if (st == FNN_OK && dw) /* dW (out x in) = dZ^T X */
        st = FN(fnn_gemm_threads_)(nt, out, in, n, (T)1, dz, 1, out, x, in, 1, (T)0, dw,
                           in, NULL, FNN_ACT_IDENTITY, (T)0);
    return st;
}

fnn_status FN(fnn_dense_backward_)(int n, int in, int out, const T *da,
                                   const T *a, const T *x, const T *w,
                                   fnn_activation act, T slope, T *dz, T *dw,
                                   T *db, T *dx)
{
    return FN(dense_backward_threads)(fnn_get_num_threads(), n, in, out, da, a, x, w, act, slope, dz, dw, db,
                                      dx);
}

/* fnn_dense_backward_sgd with at most max_threads threads. */
static fnn_status FN(dense_backward_sgd_threads)(int max_threads, int n, int in, int out, const T *da,
                                                 const T *a, const T *x, T *w, T *b, T lr, fnn_activation act,
                                                 T slope, T *dz, T *db_work, T *dx)
{
    FN(activation_backward)(n, out, da, a, act, slope, dz, db_work);
    const int nt = FN(backward_threads)(max_threads, n, in, out);
    fnn_status st = FNN_OK;
    if (dx) /* with the weights as they were before this step */
        st = FN(fnn_gemm_threads_)(nt, n, in, out, (T)1, dz, out, 1, w, in, 1, (T)0, dx,
                           in, NULL, FNN_ACT_IDENTITY, (T)0);
    if (st != FNN_OK) return st;
    /* W <- W - lr dZ^T X: alpha = -lr, beta = 1, in the GEMM's epilogue. */
    st = FN(fnn_gemm_threads_)(nt, out, in, n, -lr, dz, 1, out, x, in, 1, (T)1, w, in,
                       NULL, FNN_ACT_IDENTITY, (T)0);
    if (st == FNN_OK && b)
        for (int o = 0; o < out; ++o) b[o] -= lr * db_work[o];
    return st;
}

fnn_status FN(fnn_dense_backward_sgd_)(int n, int in, int out, const T *da,
                                       const T *a, const T *x, T *w, T *b,
                                       T lr, fnn_activation act, T slope,
                                       T *dz, T *db_work, T *dx)
{
    return FN(dense_backward_sgd_threads)(fnn_get_num_threads(), n, in, out, da, a, x, w, b, lr, act, slope, dz,
                                          db_work, dx);
}

void FN(fnn_sgd_update_)(T *p, const T *g, size_t len, T lr)
{
    for (size_t i = 0; i < len; ++i) p[i] -= lr * g[i];
}

void FN(fnn_sgd_momentum_update_)(T *p, const T *g, T *v, size_t len, T lr,
                                   T momentum, int nesterov, T weight_decay)
{
    for (size_t i = 0; i < len; ++i) {
        const T gi = g[i] + weight_decay * p[i];
        const T vi = momentum * v[i] + gi;
        v[i] = vi;
        p[i] -= lr * (nesterov ? gi + momentum * vi : vi);
    }
}

/* scikit-learn's momentum step, each product and sum rounded on its own in
 * the order of its NumPy operations (lr g', momentum v, their difference,
 * then the step), so that the numbers are its own. */
static void FN(lr_momentum)(T *p, const T *g, T *v, size_t len, T lr, T momentum, int nesterov, T l2)
{
    for (size_t i = 0; i < len; ++i) {
        const T gi = l2 != (T)0 ? g[i] + l2 * p[i] : g[i];
        const T lg = lr * gi;
        const T vi = momentum * v[i] - lg;
        v[i] = vi;
        p[i] += nesterov ? momentum * vi - lg : vi;
    }
}

static double FN(sum_squares)(const T *p, size_t len);

double FN(fnn_sgd_lr_momentum_update_)(T *p, const T *g, T *v, size_t len, T lr, T momentum, int nesterov, T l2)
{
    const double squares = l2 != (T)0 ? FN(sum_squares)(p, len) : 0.0;
    FN(lr_momentum)(p, g, v, len, lr, momentum, nesterov, l2);
    return squares;
}

/* A training step's momentum update of p[0..len) (l2: the coupled penalty
 * of scikit-learn's convention, weights only). */
static void FN(momentum_slice)(T *p, const T *g, T *v, size_t len, T lr, const FNN_CAT(fnn_momentum_, SFX) *mom,
                               T l2)
{
    if (mom->lr_in_velocity)
        FN(lr_momentum)(p, g, v, len, lr, mom->momentum, mom->nesterov, l2);
    else
        FN(fnn_sgd_momentum_update_)(p, g, v, len, lr, mom->momentum, mom->nesterov, mom->weight_decay);
}

void FN(fnn_adam_update_)(T *p, const T *g, T *m, T *v, size_t len, T lr,
                          T b1, T b2, T eps, T weight_decay, T bc1, T bc2)
{
    const FNN_CAT(fnn_adam_, SFX) adam = {b1, b2, eps, weight_decay, bc1, bc2};
    fnn_active_kernels()->FNN_CAT(adam_, SFX)(p, g, m, v, len, lr, &adam, (T)0);
}

/* A weight slice's Adam update in a training step: with l2 != 0,
 * scikit-learn's coupled penalty, Adam on g + l2 p (as fnn_adam_l2_update,
 * without the sum of squares: the step sums them before updating).  The
 * SIMD path's kernel (adam_impl.h), as every Adam update here. */
static void FN(adam_weights)(T *p, const T *g, T *m, T *v, size_t len, T lr,
                             const FNN_CAT(fnn_adam_, SFX) *adam, T l2)
{
    fnn_active_kernels()->FNN_CAT(adam_, SFX)(p, g, m, v, len, lr, adam, l2);
}

/* The sum of p^2 in four lanes by index, added in a fixed order: the same
 * on any number of threads (the loop vectorises). */
static double FN(sum_squares)(const T *p, size_t len)
{
    double lane[4] = {0.0, 0.0, 0.0, 0.0};
    size_t i = 0;
    for (; i + 4 <= len; i += 4)
        for (size_t l = 0; l < 4; ++l) lane[l] += (double)p[i + l] * (double)p[i + l];
    for (size_t l = 0; i < len; ++i, ++l) lane[l] += (double)p[i] * (double)p[i];
    return (lane[0] + lane[1]) + (lane[2] + lane[3]);
}

/* fnn_adam_l2_update over [lo, hi), one chunk: the sum of squares, then
 * the update, which finds the chunk's weights still in cache. */
static double FN(adam_l2_range)(T *p, const T *g, T *m, T *v, size_t lo, size_t hi, T lr, T b1, T b2,
                                T eps, T l2, T bc1, T bc2)
{
    const FNN_CAT(fnn_adam_, SFX) adam = {b1, b2, eps, (T)0, bc1, bc2};
    const double squares = FN(sum_squares)(p + lo, hi - lo);
    FN(adam_weights)(p + lo, g + lo, m + lo, v + lo, hi - lo, lr, &adam, l2);
    return squares;
}

/* At most this many chunks, each summed on its own and the chunks' sums
 * added in order: the same sum on any number of threads. */
#ifndef FNN_L2_CHUNKS
#define FNN_L2_CHUNKS 64
#endif

typedef struct {
    T *p;
    const T *g;
    T *m, *v;
    size_t len, chunk;
    int n_chunks;
    T lr, b1, b2, eps, l2, bc1, bc2;
    double partial[FNN_L2_CHUNKS];
} FN(adam_l2_job);

static void FN(adam_l2_task)(void *ctx, int task, int n_tasks)
{
    FN(adam_l2_job) *j = (FN(adam_l2_job) *)ctx;
    const int c0 = j->n_chunks * task / n_tasks, c1 = j->n_chunks * (task + 1) / n_tasks;
    for (int c = c0; c < c1; ++c) {
        const size_t lo = (size_t)c * j->chunk, hi = lo + j->chunk < j->len ? lo + j->chunk : j->len;
        j->partial[c] = FN(adam_l2_range)(j->p, j->g, j->m, j->v, lo, hi, j->lr, j->b1, j->b2, j->eps, j->l2,
                                          j->bc1, j->bc2);
    }
}

double FN(fnn_adam_l2_update_)(T *p, const T *g, T *m, T *v, size_t len, T lr,
                               T b1, T b2, T eps, T l2, T bc1, T bc2)
{
    /* One trip to memory instead of three (add the term to g, Adam, sum
     * the squares for the loss's penalty): memory-bound for the small
     * networks this serves, so the trips, not the arithmetic, are the
     * cost.  fastnn.sklearn calls it between steps on its per-layer path
     * (sample weights, losses other than softmax cross-entropy; the
     * one-call step does the same inside), while the pool's workers would
     * otherwise wait: large arrays are split across them by chunks. */
    FN(adam_l2_job) job = {p, g, m, v, len, 4096, 0, lr, b1, b2, eps, l2, bc1, bc2, {0.0}};
    if (len > (size_t)FNN_L2_CHUNKS * job.chunk) job.chunk = (len + FNN_L2_CHUNKS - 1) / FNN_L2_CHUNKS;
    job.n_chunks = (int)((len + job.chunk - 1) / job.chunk);
    int nt = len >= 32768 ? fnn_get_num_threads() : 1;
    if (nt > job.n_chunks) nt = job.n_chunks > 0 ? job.n_chunks : 1;
    fnn_parallel(nt, 8.0 * (double)len, FN(adam_l2_task), &job);
    double squares = 0.0;
    for (int c = 0; c < job.n_chunks; ++c) squares += job.partial[c];
    return squares;
}

typedef struct {
    const T *src;
    ptrdiff_t ld_src;
    const int64_t *idx;
    int n, cols;
    T *out;
} FN(gather_job);

static void FN(gather_task)(void *ctx, int task, int n_tasks)
{
    const FN(gather_job) *g = (const FN(gather_job) *)ctx;
    size_t i0, i1;
    fnn_task_part((size_t)g->n, task, n_tasks, &i0, &i1);
    for (size_t i = i0; i < i1; ++i)
        memcpy(g->out + (size_t)i * g->cols, g->src + (ptrdiff_t)g->idx[i] * g->ld_src,
               (size_t)g->cols * sizeof(T));
}

fnn_status FN(fnn_gather_rows_)(const T *src, ptrdiff_t ld_src, int64_t n_src,
                                const int64_t *idx, int n, int cols, T *out)
{
    for (int i = 0; i < n; ++i)
        if (idx[i] < 0 || idx[i] >= n_src) return FNN_ERR_ARG;
    /* Rows are independent: split them across threads when the copy is
     * big enough to pay for waking them. */
    int nt = (size_t)n * cols * sizeof(T) >= (1u << 18) ? fnn_get_num_threads() : 1;
    if (nt > n) nt = n > 0 ? n : 1;
    FN(gather_job) job = {src, ld_src, idx, n, cols, out};
    fnn_parallel(nt, (double)n * cols, FN(gather_task), &job);
    return FNN_OK;
}

/* Image shifts (augmentation): image i of dst is image i of src moved down
 * dy[i] rows and right dx[i] columns, the pixels it uncovers set to fill.
 * Per row: the fill left of the copied span, one memcpy, the fill right of
 * it; rows moved off the image are all fill.  One pass over both arrays,
 * where filling dst first and copying each shift's images over it (NumPy's
 * way) writes it twice and gathers through temporaries. */
typedef struct {
    int64_t n;
    int h, w;
    const T *src;
    const int64_t *dy, *dx;
    T fill;
    T *dst;
} FN(shift_job);

static void FN(shift_image)(int h, int w, const T *s, int64_t a, int64_t b, T fill, T *d)
{
    /* destination columns [c0, c1) come from source columns [c0 - b, c1 - b) */
    const int c0 = (int)(b > 0 ? (b < w ? b : w) : 0);
    const int c1 = (int)(b < 0 ? (-b < w ? w + b : 0) : w);
    for (int r = 0; r < h; ++r) {
        T *dr = d + (size_t)r * w;
        const int64_t sr = r - a;
        if (sr < 0 || sr >= h || c1 <= c0) {
            for (int c = 0; c < w; ++c) dr[c] = fill;
            continue;
        }
        for (int c = 0; c < c0; ++c) dr[c] = fill;
        memcpy(dr + c0, s + (size_t)sr * w + (c0 - b), (size_t)(c1 - c0) * sizeof(T));
        for (int c = c1; c < w; ++c) dr[c] = fill;
    }
}

static void FN(shift_task)(void *ctx, int task, int n_tasks)
{
    const FN(shift_job) *j = (const FN(shift_job) *)ctx;
    const size_t px = (size_t)j->h * j->w;
    size_t i0, i1;
    fnn_task_part((size_t)j->n, task, n_tasks, &i0, &i1);
    for (size_t i = i0; i < i1; ++i)
        FN(shift_image)(j->h, j->w, j->src + i * px, j->dy[i], j->dx[i], j->fill, j->dst + i * px);
}

fnn_status FN(fnn_shift_images_)(int64_t n, int h, int w, const T *src, const int64_t *dy,
                                 const int64_t *dx, T fill, T *dst)
{
    if (n < 0 || h < 0 || w < 0) return FNN_ERR_ARG;
    if (n == 0 || h == 0 || w == 0) return FNN_OK;
    if (!src || !dy || !dx || !dst) return FNN_ERR_ARG;
    /* memory-bound: threads from a quarter MiB, as the gather */
    const double bytes = (double)n * h * w * sizeof(T);
    int nt = bytes >= (double)(1u << 18) ? fnn_get_num_threads() : 1;
    if ((int64_t)nt > n) nt = (int)n;
    FN(shift_job) job = {n, h, w, src, dy, dx, fill, dst};
    fnn_parallel(nt, bytes / sizeof(T), FN(shift_task), &job);
    return FNN_OK;
}

/* Whether x[0..len) holds no NaN or infinity.  A value is NaN or infinite
 * exactly when its exponent bits are all ones.  Testing the bits with an
 * integer OR-reduction vectorises (a floating-point sum would not: its
 * order is fixed), and blocks let a bad value stop the scan early. */
static int FN(finite_range)(const T *x, size_t len)
{
    const size_t block = 4096;
    for (size_t start = 0; start < len; start += block) {
        const size_t end = len - start > block ? start + block : len;
        unsigned bad = 0;
        if (sizeof(T) == 4) {
            const uint32_t mask = 0x7f800000u;
            for (size_t i = start; i < end; ++i) {
                uint32_t u;
                memcpy(&u, x + i, sizeof u);
                bad |= (u & mask) == mask;
            }
        } else {
            const uint64_t mask = 0x7ff0000000000000ull;
            for (size_t i = start; i < end; ++i) {
                uint64_t u;
                memcpy(&u, x + i, sizeof u);
                bad |= (u & mask) == mask;
            }
        }
        if (bad) return 0;
    }
    return 1;
}

typedef struct {
    const T *x;
    size_t len;
    int finite[FNN_MAX_THREADS];
} FN(finite_job);

static void FN(finite_task)(void *ctx, int task, int n_tasks)
{
    FN(finite_job) *j = (FN(finite_job) *)ctx;
    size_t lo, hi;
    fnn_task_part(j->len, task, n_tasks, &lo, &hi);
    j->finite[task] = FN(finite_range)(j->x + lo, hi - lo);
}

/* Large arrays are scanned by all the threads, each a slice: the scan is
 * bound by memory bandwidth, which one core does not use up, and it runs
 * before every large inference batch (docs/performance.md). */
int FN(fnn_all_finite_)(const T *x, size_t len)
{
    const int nt = len >= ((size_t)1 << 20) ? fnn_get_num_threads() : 1; /* (at most FNN_MAX_THREADS) */
    if (nt < 2) return FN(finite_range)(x, len);
    FN(finite_job) job;
    job.x = x;
    job.len = len;
    fnn_parallel(nt, (double)len, FN(finite_task), &job);
    for (int t = 0; t < nt; ++t)
        if (!job.finite[t]) return 0;
    return 1;
}

/* How many rows of width k a softmax sends through the vector exp at once:
 * about FNN_EXP_BLOCK values (in L1 between the passes over them), at most
 * FNN_EXP_ROWS rows (the per-row values the cross-entropy keeps). */
static int FN(exp_block_rows)(int k)
{
    const int rows = FNN_EXP_BLOCK / k;
    return rows < 1 ? 1 : rows > FNN_EXP_ROWS ? FNN_EXP_ROWS : rows;
}

void FN(fnn_softmax_)(int n, int k, const T *z, T *p)
{
    if (k <= 0) return; /* no columns: nothing to normalise (and no zi[0]) */
    const int block = FN(exp_block_rows)(k);
    for (int i0 = 0; i0 < n; i0 += block) {
        const int i1 = n - i0 < block ? n : i0 + block;
        /* p = z - max z, rounded to T: its e^p gains a relative error of at
         * most |p| times T's unit roundoff (the tests allow for it) */
        for (int i = i0; i < i1; ++i) {
            const T *zi = z + (size_t)i * k;
            T *pi = p + (size_t)i * k;
            T mx = zi[0];
            for (int j = 1; j < k; ++j) mx = zi[j] > mx ? zi[j] : mx;
            for (int j = 0; j < k; ++j) pi[j] = zi[j] - mx;
        }
        FN(fnn_exp_)(p + (size_t)i0 * k, (size_t)(i1 - i0) * k);
        for (int i = i0; i < i1; ++i) {
            T *pi = p + (size_t)i * k;
            double s = 0.0;
            for (int j = 0; j < k; ++j) s += pi[j];
            const double inv = 1.0 / s;
            for (int j = 0; j < k; ++j) pi[j] = (T)(pi[j] * inv);
        }
    }
}

/* What one row of the softmax cross-entropy needs from its logits z and
 * targets, read before dz (which may be z) is written. */
typedef struct {
    double mx;   /* the largest logit */
    double yz;   /* sum_j y_j z_j */
    double ysum; /* sum_j y_j */
    int arg;     /* the first largest logit, as numpy.argmax */
    int truth;   /* the label, or the largest target */
} FN(ce_row);

static FN(ce_row) FN(ce_read_row)(int k, const T *zi, const int64_t *label, const T *yi)
{
    FN(ce_row) r = {zi[0], 0.0, 1.0, 0, 0};
    for (int j = 1; j < k; ++j)
        if (zi[j] > r.mx) {
            r.mx = zi[j];
            r.arg = j;
        }
    if (label) {
        r.truth = (int)*label;
        r.yz = zi[r.truth];
        return r;
    }
    r.ysum = 0.0;
    for (int j = 0; j < k; ++j) {
        r.yz += (double)yi[j] * (double)zi[j];
        r.ysum += yi[j];
        if (yi[j] > yi[r.truth]) r.truth = j;
    }
    return r;
}

/* The rows of the softmax cross-entropy: the summed (not averaged) loss
 * and correct count of n rows, gradients scaled by inv_n (1 / the whole
 * batch's size, which may hold more rows than these).  In blocks of rows:
 * each row's logits are read and dz = z - max z written, the block's
 * exponentials e_j computed at once, then each row's loss and
 * dz = p sum(y) - y with p_j = e_j / sum e. */
static fnn_status FN(softmax_cross_entropy_rows)(int n, int k, const T *z,
                                                 const int64_t *labels, const T *y,
                                                 T *dz, double inv_n, double *loss_sum,
                                                 int64_t *n_correct)
{
    if (k <= 0) return FNN_ERR_ARG; /* a distribution over no classes */
    if (labels) /* check every label before anything is written */
        for (int i = 0; i < n; ++i)
            if (labels[i] < 0 || labels[i] >= k) return FNN_ERR_LABEL;
    double total = 0.0;
    int64_t correct = 0;
    const int block = FN(exp_block_rows)(k);
    FN(ce_row) rows[FNN_EXP_ROWS];
    for (int i0 = 0; i0 < n; i0 += block) {
        const int i1 = n - i0 < block ? n : i0 + block;
        for (int i = i0; i < i1; ++i) {
            const T *zi = z + (size_t)i * k;
            T *dzi = dz + (size_t)i * k;
            const FN(ce_row) r = FN(ce_read_row)(k, zi, labels ? labels + i : NULL,
                                                 labels ? NULL : y + (size_t)i * k);
            rows[i - i0] = r;
            for (int j = 0; j < k; ++j) dzi[j] = (T)((double)zi[j] - r.mx);
        }
        FN(fnn_exp_)(dz + (size_t)i0 * k, (size_t)(i1 - i0) * k);
        for (int i = i0; i < i1; ++i) {
            const FN(ce_row) *r = &rows[i - i0];
            T *dzi = dz + (size_t)i * k;
            const T *yi = labels ? NULL : y + (size_t)i * k;
            double s = 0.0;
            for (int j = 0; j < k; ++j) s += dzi[j];
            /* -sum_j y_j log p_j = lse sum(y) - sum_j y_j z_j, with
             * lse = log sum_j exp z_j; its gradient is p sum(y) - y
             * (= p - y for targets that sum to one) */
            total += (r->mx + log(s)) * r->ysum - r->yz;
            correct += r->arg == r->truth;
            const double inv_s = 1.0 / s;
            for (int j = 0; j < k; ++j) {
                const double yj = labels ? (j == r->truth ? 1.0 : 0.0) : (double)yi[j];
                dzi[j] = (T)(((double)dzi[j] * inv_s * r->ysum - yj) * inv_n);
            }
        }
    }
    *loss_sum = total;
    if (n_correct) *n_correct = correct;
    return FNN_OK;
}

fnn_status FN(fnn_softmax_cross_entropy_)(int n, int k, const T *z,
                                          const int64_t *labels, const T *y,
                                          T *dz, double *loss,
                                          int64_t *n_correct)
{
    const double inv_n = 1.0 / (double)n;
    double total = 0.0;
    const fnn_status st = FN(softmax_cross_entropy_rows)(n, k, z, labels, y, dz, inv_n, &total, n_correct);
    if (st == FNN_OK) *loss = total * inv_n;
    return st;
}

void FN(fnn_sigmoid_bce_)(int n, int k, const T *z, const T *t, T *dz,
                          double *loss)
{
    const size_t len = (size_t)n * k;
    const double inv = 1.0 / (double)len;
    double total = 0.0;
    for (size_t i = 0; i < len; ++i) {
        const double zi = z[i], ti = t[i];
        /* -t log s - (1-t) log(1-s) = max(z,0) - z t + log1p(e^-|z|) */
        total += (zi > 0 ? zi : 0.0) - zi * ti + log1p(exp(-fabs(zi)));
        const double s = zi >= 0 ? 1.0 / (1.0 + exp(-zi))
                                 : exp(zi) / (1.0 + exp(zi));
        dz[i] = (T)((s - ti) * inv);
    }
    *loss = total * inv;
}

void FN(fnn_half_squared_error_)(int n, int k, const T *y, const T *t, T *dy,
                                 double *loss)
{
    const size_t len = (size_t)n * k;
    const double inv_n = 1.0 / (double)n;
    double total = 0.0;
    for (size_t i = 0; i < len; ++i) {
        const double d = (double)y[i] - (double)t[i];
        total += 0.5 * d * d;
        dy[i] = (T)(d * inv_n);
    }
    *loss = total * inv_n;
}

void FN(fnn_mse_)(int n, int k, const T *y, const T *t, T *dy, double *loss)
{
    const size_t len = (size_t)n * k;
    const double inv = 1.0 / (double)len;
    double total = 0.0;
    for (size_t i = 0; i < len; ++i) {
        const double d = (double)y[i] - (double)t[i];
        total += d * d;
        dy[i] = (T)(2.0 * d * inv);
    }
    *loss = total * inv;
}

/* One half of a split SGD step (rows r0..r1 of the batch of n): forward,
 * loss rows, and the backward chain dZ, dX, all with single-threaded
 * GEMMs.  Writes only this half's rows of the workspace; updates nothing. */
static fnn_status FN(sgd_step_half)(int r0, int r1, int n, const T *x,
                                    const int64_t *labels, const T *y, int n_layers,
                                    int first_trainable,
                                    const FNN_CAT(fnn_train_layer_, SFX) *layers,
                                    double *loss_sum, int64_t *n_correct)
{
    /* With one thread and halves the GEMMs would compute exactly as the
     * whole batch does (more than FNN_NETWORK_SMALL_M rows each: the packed
     * path, whose sums do not depend on the rows around them), the caller
     * runs both halves as one: loss_sum/n_correct then have two entries,
     * one per half, so even the loss is summed as with two threads. */
    const int m = r1 - r0, last = n_layers - 1;
    for (int l = 0; l < n_layers; ++l) {
        const FNN_CAT(fnn_train_layer_, SFX) *L = &layers[l];
        const int in = L->in_features, out = L->out_features;
        const T *xin = (l ? layers[l - 1].a : x) + (ptrdiff_t)r0 * in;
        const fnn_status st = FN(dense_forward_threads)(1, m, in, out, xin, L->w, L->b,
                                                        l == last ? FNN_ACT_IDENTITY : L->act, L->slope,
                                                        L->a + (ptrdiff_t)r0 * out);
        if (st != FNN_OK) return st;
    }
    const FNN_CAT(fnn_train_layer_, SFX) *top = &layers[last];
    const int k = top->out_features;
    const int whole = r0 == 0 && r1 == n, half = n / 2;
    fnn_status st = FNN_OK;
    for (int part = 0; part < (whole ? 2 : 1); ++part) {
        const int p0 = whole ? (part ? half : 0) : r0, p1 = whole ? (part ? n : half) : r1;
        st = FN(softmax_cross_entropy_rows)(
            p1 - p0, k, top->a + (ptrdiff_t)p0 * k, labels ? labels + p0 : NULL,
            labels ? NULL : y + (ptrdiff_t)p0 * k, top->g + (ptrdiff_t)p0 * k, 1.0 / (double)n,
            &loss_sum[part], &n_correct[part]);
        if (st != FNN_OK) return st;
    }
    for (int l = last; l >= first_trainable; --l) {
        const FNN_CAT(fnn_train_layer_, SFX) *L = &layers[l];
        const int in = L->in_features, out = L->out_features;
        T *g = L->g + (ptrdiff_t)r0 * out;
        FN(activation_backward)(m, out, g, L->a + (ptrdiff_t)r0 * out, l == last ? FNN_ACT_IDENTITY : L->act,
                                L->slope, g, NULL);
        if (l > first_trainable) { /* dX = dZ W, with W as it was before this step */
            st = FN(fnn_gemm_threads_)(1, m, in, out, (T)1, g, out, 1, L->w, in, 1, (T)0,
                                       layers[l - 1].g + (ptrdiff_t)r0 * in, in, NULL, FNN_ACT_IDENTITY, (T)0);
            if (st != FNN_OK) return st;
        }
    }
    return FNN_OK;
}

/* Momentum SGD of W's rows o0..o1, columns c0..c1, from dW, with the
 * velocities in m_w (element-wise, as fnn_sgd_momentum_update over the
 * whole matrix: the same results however the rows are shared out). */
static void FN(momentum_rows)(const FNN_CAT(fnn_train_layer_, SFX) *L, int o0, int o1, int c0, int c1,
                              const FNN_CAT(fnn_momentum_, SFX) *mom, T l2)
{
    const ptrdiff_t in = L->in_features;
    const int rows = c1 - c0 == in ? 1 : o1 - o0; /* whole rows: one contiguous range */
    const size_t len = c1 - c0 == in ? (size_t)(o1 - o0) * (size_t)in : (size_t)(c1 - c0);
    for (int r = 0; r < rows; ++r) {
        const ptrdiff_t at = (ptrdiff_t)(o0 + r) * in + c0;
        FN(momentum_slice)(L->w + at, L->dw + at, L->m_w + at, len, L->lr, mom, l2);
    }
}

/* Thread tid of team's share of a layer's update W += -lr dZ^T X over the
 * whole batch (K = n): a slice of W's rows or of its columns, whichever
 * dimension is larger, in whole register tiles, so each thread packs only
 * its part of the larger operand.  The sums over the batch are those of
 * the one-thread GEMM whatever the slicing. */
static fnn_status FN(update_share)(int tid, int team, int n, const FNN_CAT(fnn_train_layer_, SFX) *L,
                                   const T *xin, const FNN_CAT(fnn_adam_, SFX) *adam,
                                   const FNN_CAT(fnn_momentum_, SFX) *mom, T l2)
{
    const int in = L->in_features, out = L->out_features;
    int mr = 1, nr = 1;
    fnn_simd_tile(sizeof(T) == 8, &mr, &nr);
    int o0 = 0, o1 = out, c0 = 0, c1 = in;
    if (out >= in) {
        const int tiles = (out + mr - 1) / mr;
        o0 = fnn_min_int(out, tiles * tid / team * mr);
        o1 = fnn_min_int(out, tiles * (tid + 1) / team * mr);
    } else {
        const int tiles = (in + nr - 1) / nr;
        c0 = fnn_min_int(in, tiles * tid / team * nr);
        c1 = fnn_min_int(in, tiles * (tid + 1) / team * nr);
    }
    if (o1 <= o0 || c1 <= c0) return FNN_OK;
    const ptrdiff_t at = (ptrdiff_t)o0 * in + c0;
    if (mom) { /* this share of dW = dZ^T X, then momentum SGD on the same elements */
        const fnn_status st = FN(fnn_gemm_threads_)(1, o1 - o0, c1 - c0, n, (T)1, L->g + o0, 1, out, xin + c0,
                                                    in, 1, (T)0, L->dw + at, in, NULL, FNN_ACT_IDENTITY, (T)0);
        if (st == FNN_OK) FN(momentum_rows)(L, o0, o1, c0, c1, mom, l2);
        return st;
    }
    if (!adam) /* plain SGD, in the GEMM's epilogue: W += -lr dZ^T X */
        return FN(fnn_gemm_threads_)(1, o1 - o0, c1 - c0, n, -L->lr, L->g + o0, 1, out, xin + c0, in, 1, (T)1,
                                     L->w + at, in, NULL, FNN_ACT_IDENTITY, (T)0);
    /* Adam: this share of dW = dZ^T X, each row of tiles followed at once by
     * the update of the same elements; shared in a team, whose halves'
     * forward passes read all of W */
    return fnn_active_kernels()->FNN_CAT(gemm_adam_, SFX)(o1 - o0, c1 - c0, n, L->g + o0, 1, out, xin + c0, in, 1,
                                                          L->dw + at, in, L->w + at, L->m_w + at, L->v_w + at,
                                                          L->lr, adam, l2, team > 1);
}

/* db = column sums of dZ (in row order, as the per-layer kernels sum), then
 * the bias update. */
static void FN(bias_update)(int n, const FNN_CAT(fnn_train_layer_, SFX) *L, const FNN_CAT(fnn_adam_, SFX) *adam,
                            const FNN_CAT(fnn_momentum_, SFX) *mom)
{
    const int out = L->out_features;
    for (int o = 0; o < out; ++o) L->db[o] = (T)0;
    for (int i = 0; i < n; ++i)
        for (int o = 0; o < out; ++o) L->db[o] += L->g[(size_t)i * out + o];
    if (adam)
        FN(fnn_adam_update_)(L->b, L->db, L->m_b, L->v_b, (size_t)out, L->lr, adam->b1, adam->b2, adam->eps,
                             adam->weight_decay, adam->bc1, adam->bc2);
    else if (mom)
        FN(momentum_slice)(L->b, L->db, L->m_b, (size_t)out, L->lr, mom, (T)0);
    else
        for (int o = 0; o < out; ++o) L->b[o] -= L->lr * L->db[o];
}


/* The sum of squares of part h (0: the first half of the elements, 1: the
 * rest) of every learning layer's W, in layer order: the two halves of a
 * split step each sum one part, alongside their passes (W is only read
 * until the update), and every other path adds the same two parts. */
static double FN(squares_part)(int n_layers, const FNN_CAT(fnn_train_layer_, SFX) *layers, int h)
{
    double squares = 0.0;
    for (int l = 0; l < n_layers; ++l) {
        if (!layers[l].train) continue;
        const size_t len = (size_t)layers[l].in_features * layers[l].out_features, mid = len / 2;
        squares += h ? FN(sum_squares)(layers[l].w + mid, len - mid) : FN(sum_squares)(layers[l].w, mid);
    }
    return squares;
}

/* The coupled L2 penalty's part of the loss: l2/2 times the learning
 * layers' squared weights before the update (0 without a penalty). */
static double FN(penalty)(int n_layers, const FNN_CAT(fnn_train_layer_, SFX) *layers, T l2)
{
    if (l2 == (T)0) return 0.0;
    return 0.5 * (double)l2 * (FN(squares_part)(n_layers, layers, 0) + FN(squares_part)(n_layers, layers, 1));
}

/* Rows r0..r1 of the batch gathered from src (rows ld apart) by index:
 * each half copies its own rows, on its own thread, just before using them. */
static void FN(gather_batch_rows)(int r0, int r1, int cols, const T *src, ptrdiff_t ld, const int64_t *rows,
                                  T *buf)
{
    for (int r = r0; r < r1; ++r)
        memcpy(buf + (size_t)r * cols, src + (ptrdiff_t)rows[r] * ld, (size_t)cols * sizeof(T));
}

typedef struct {
    int n, n_layers, first_trainable;
    const T *x, *y, *src;
    const int64_t *labels, *rows;
    ptrdiff_t ld;
    const FNN_CAT(fnn_train_layer_, SFX) *layers;
    const FNN_CAT(fnn_adam_, SFX) *adam;
    const FNN_CAT(fnn_momentum_, SFX) *mom;
    T l2;
    double sums[2], squares[2]; /* the halves' losses and (with l2) squared weights */
    int64_t correct[2];
    fnn_status status[2];
    fnn_status update_status[FNN_MAX_THREADS];
} FN(split_job);

/* Phase 1, task h: half h of the batch -- forward, loss, dZ and dX (after
 * gathering its rows of the batch, when given an index). */
static void FN(split_half_task)(void *ctx, int h, int n_tasks)
{
    FN(split_job) *s = (FN(split_job) *)ctx;
    (void)n_tasks;
    const int half = s->n / 2, r0 = h ? half : 0, r1 = h ? s->n : half;
    if (s->rows) FN(gather_batch_rows)(r0, r1, s->layers[0].in_features, s->src, s->ld, s->rows, (T *)s->x);
    s->status[h] = FN(sgd_step_half)(r0, r1, s->n, s->x, s->labels, s->y, s->n_layers, s->first_trainable,
                                     s->layers, &s->sums[h], &s->correct[h]);
    if (s->l2 != (T)0) s->squares[h] = FN(squares_part)(s->n_layers, s->layers, h);
}

/* Phase 2, task t of nt: its share of every layer's update, from the whole
 * batch's dZ and X; the last task also does the biases. */
static void FN(split_update_task)(void *ctx, int task, int n_tasks)
{
    FN(split_job) *s = (FN(split_job) *)ctx;
    fnn_status status = FNN_OK;
    for (int l = s->first_trainable; l < s->n_layers; ++l) {
        const FNN_CAT(fnn_train_layer_, SFX) *L = &s->layers[l];
        if (!L->train) continue;
        const T *xin = l ? s->layers[l - 1].a : s->x;
        const fnn_status st = FN(update_share)(task, n_tasks, s->n, L, xin, s->adam, s->mom, s->l2);
        if (st != FNN_OK) status = st;
        if (L->b && task == n_tasks - 1) FN(bias_update)(s->n, L, s->adam, s->mom);
    }
    s->update_status[task] = status;
}

/* Threads for a training step of this much work (multiply-adds): all of
 * them from the CPU's step_min_work per thread of two (cpu.c), else one.
 * Below it small networks were slower on two threads, split or not (on
 * Intel Xeon the weights and activations crossing between the cores cost
 * more than the second thread brought). */
static int FN(step_threads)(double work)
{
    const int nt = fnn_get_num_threads();
    return nt >= 2 && work / 2 >= fnn_kernel_config()->step_min_work ? nt : 1;
}

static fnn_status FN(train_step_split)(int n, const T *x, const int64_t *labels, const T *y,
                                       int n_layers, int first_trainable,
                                       const FNN_CAT(fnn_train_layer_, SFX) *layers,
                                       const FNN_CAT(fnn_adam_, SFX) *adam, const FNN_CAT(fnn_momentum_, SFX) *mom, T l2,
                                       double work,
                                       double *loss, int64_t *n_correct,
                                       const T *src, ptrdiff_t ld, const int64_t *rows)
{
    FN(split_job) s = {n, n_layers, first_trainable, x, y, src, labels, rows, ld, layers, adam, mom, l2,
                       {0.0, 0.0}, {0.0, 0.0}, {0, 0}, {FNN_OK, FNN_OK}, {FNN_OK}};
    /* below the bar the halves run one after the other on this thread */
    const int nt = FN(step_threads)(work) >= 2 ? 2 : 1;
    if (nt == 2)
        fnn_parallel(2, work, FN(split_half_task), &s);
    else if (n / 2 <= FNN_NETWORK_SMALL_M) {
        /* Small halves on one thread: one after the other (they take the
         * dot-product path, which the whole batch would not). */
        FN(split_half_task)(&s, 0, 2);
        FN(split_half_task)(&s, 1, 2);
    } else {
        /* One thread: the whole batch at once (the same results as the
         * halves, which only exist to be run side by side). */
        if (rows) FN(gather_batch_rows)(0, n, layers[0].in_features, src, ld, rows, (T *)x);
        s.status[0] = FN(sgd_step_half)(0, n, n, x, labels, y, n_layers, first_trainable, layers, s.sums,
                                        s.correct);
        if (l2 != (T)0)
            for (int h = 0; h < 2; ++h) s.squares[h] = FN(squares_part)(n_layers, layers, h);
    }
    if (s.status[0] != FNN_OK) return s.status[0];
    if (s.status[1] != FNN_OK) return s.status[1];
    *loss = (s.sums[0] + s.sums[1]) / (double)n;
    if (n_correct) *n_correct = s.correct[0] + s.correct[1];
    if (!isfinite(*loss)) return FNN_OK; /* no update */
    *loss += 0.5 * (double)l2 * (s.squares[0] + s.squares[1]);
    fnn_parallel(nt, work / 3, FN(split_update_task), &s);
    for (int t = 0; t < nt; ++t)
        if (s.update_status[t] != FNN_OK) return s.update_status[t];
    return FNN_OK;
}

/* Adam over a whole weight matrix, element ranges split across the threads
 * when it is large: the update reads and writes four arrays, and a second
 * thread left spinning meanwhile would only slow the first (with a serial
 * update a small-batch Adam step was slower on 2 threads than on 1; see
 * docs/performance.md).  Element-wise, so the results do not depend on the
 * split. */
typedef struct {
    T *p;
    const T *g;
    T *m, *v;
    size_t len;
    T lr, l2;
    const FNN_CAT(fnn_adam_, SFX) *adam;
} FN(adam_job);

static void FN(adam_task)(void *ctx, int task, int n_tasks)
{
    const FN(adam_job) *j = (const FN(adam_job) *)ctx;
    size_t lo, hi;
    fnn_task_part(j->len, task, n_tasks, &lo, &hi);
    FN(adam_weights)(j->p + lo, j->g + lo, j->m + lo, j->v + lo, hi - lo, j->lr, j->adam, j->l2);
}

static void FN(adam_update_threads)(int max_threads, T *p, const T *g, T *m, T *v, size_t len, T lr,
                                    const FNN_CAT(fnn_adam_, SFX) *adam, T l2, double layer_work)
{
    /* Only where the layer's own GEMMs went parallel (at least twice the
     * CPU's gemm_min_work): otherwise the arrays sit in the first core's
     * cache, and a second thread pulling half of them over cost more than
     * it saved (a batch-8 step got slower). */
    int nt = max_threads;
    if (len < 32768 || layer_work < 2.0 * fnn_kernel_config()->gemm_min_work) nt = 1;
    FN(adam_job) job = {p, g, m, v, len, lr, l2, adam};
    fnn_parallel(nt, 8.0 * (double)len, FN(adam_task), &job);
}

/* The step on the whole batch: one GEMM per layer and pass, each on at most
 * nt threads. */
static fnn_status FN(train_step_whole)(int nt, int n, const T *x, const int64_t *labels, const T *y,
                                       int n_layers, int first_trainable,
                                       const FNN_CAT(fnn_train_layer_, SFX) *layers,
                                       const FNN_CAT(fnn_adam_, SFX) *adam, const FNN_CAT(fnn_momentum_, SFX) *mom, T l2,
                                       double *loss, int64_t *n_correct, const T *src, ptrdiff_t ld, const int64_t *rows)
{
    const int last = n_layers - 1;
    if (rows) FN(gather_batch_rows)(0, n, layers[0].in_features, src, ld, rows, (T *)x);
    const T *in = x;
    for (int l = 0; l < n_layers; ++l) {
        const FNN_CAT(fnn_train_layer_, SFX) *L = &layers[l];
        const fnn_activation act = l == last ? FNN_ACT_IDENTITY : L->act;
        const fnn_status st = FN(dense_forward_threads)(nt, n, L->in_features, L->out_features, in, L->w,
                                                        L->b, act, L->slope, L->a);
        if (st != FNN_OK) return st;
        in = L->a;
    }
    const FNN_CAT(fnn_train_layer_, SFX) *top = &layers[last];
    fnn_status st = FN(fnn_softmax_cross_entropy_)(n, top->out_features, top->a, labels, y, top->g,
                                                   loss, n_correct);
    if (st != FNN_OK || !isfinite(*loss)) return st; /* no update */
    *loss += FN(penalty)(n_layers, layers, l2);
    for (int l = last; l >= first_trainable; --l) {
        const FNN_CAT(fnn_train_layer_, SFX) *L = &layers[l];
        const T *x_in = l ? layers[l - 1].a : x;
        T *dx = l > first_trainable ? layers[l - 1].g : NULL;
        const fnn_activation act = l == last ? FNN_ACT_IDENTITY : L->act;
        if (L->train && !adam && !mom)
            st = FN(dense_backward_sgd_threads)(nt, n, L->in_features, L->out_features, L->g, L->a, x_in,
                                                L->w, L->b, L->lr, act, L->slope, L->g, L->db, dx);
        else if (L->train) { /* gradients, then the update from them (dX used the old W) */
            st = FN(dense_backward_threads)(nt, n, L->in_features, L->out_features, L->g, L->a, x_in, L->w,
                                            act, L->slope, L->g, L->dw, L->b ? L->db : NULL, dx);
            if (st != FNN_OK) return st;
            if (mom) {
                FN(momentum_rows)(L, 0, L->out_features, 0, L->in_features, mom, l2);
                if (L->b) FN(momentum_slice)(L->b, L->db, L->m_b, (size_t)L->out_features, L->lr, mom, (T)0);
                continue;
            }
            FN(adam_update_threads)(nt, L->w, L->dw, L->m_w, L->v_w, (size_t)L->out_features * L->in_features,
                                    L->lr, adam, l2, (double)n * L->in_features * L->out_features);
            if (L->b)
                FN(fnn_adam_update_)(L->b, L->db, L->m_b, L->v_b, (size_t)L->out_features, L->lr, adam->b1,
                                     adam->b2, adam->eps, adam->weight_decay, adam->bc1, adam->bc2);
        } else /* frozen, but a layer below learns: only dX */
            st = FN(dense_backward_threads)(nt, n, L->in_features, L->out_features, L->g, L->a, x_in, L->w,
                                            act, L->slope, L->g, NULL, NULL, dx);
        if (st != FNN_OK) return st;
    }
    return FNN_OK;
}

static fnn_status FN(train_step)(int n, const T *x, const int64_t *labels, const T *y, int n_layers,
                                  const FNN_CAT(fnn_train_layer_, SFX) *layers,
                                  const FNN_CAT(fnn_adam_, SFX) *adam, const FNN_CAT(fnn_momentum_, SFX) *mom, T l2, double *loss,
                                  int64_t *n_correct, const T *src, ptrdiff_t ld, const int64_t *rows)
{
    if (n < 1 || n_layers < 1 || !x || !layers || !loss || (!labels && !y)) return FNN_ERR_ARG;
    if (adam && mom) return FNN_ERR_ARG;
    if (l2 != (T)0 && (!(adam || (mom && mom->lr_in_velocity)) || !isfinite((double)l2))) return FNN_ERR_ARG;
    int first_trainable = n_layers;
    for (int l = 0; l < n_layers; ++l) {
        const FNN_CAT(fnn_train_layer_, SFX) *L = &layers[l];
        if (L->in_features < 1 || L->out_features < 1 || !L->w || !L->a || !L->g || !L->db)
            return FNN_ERR_ARG;
        if (adam && L->train && (!L->dw || !L->m_w || !L->v_w || (L->b && (!L->m_b || !L->v_b))))
            return FNN_ERR_ARG;
        if (mom && L->train && (!L->dw || !L->m_w || (L->b && !L->m_b))) return FNN_ERR_ARG;
        if (l > 0 && L->in_features != layers[l - 1].out_features) return FNN_ERR_ARG;
        if (L->train && first_trainable == n_layers) first_trainable = l;
    }
    double work = 0.0;
    for (int l = 0; l < n_layers; ++l)
        work += 3.0 * n * layers[l].in_features * layers[l].out_features;
    /* Halves for up to two threads.  With more, each GEMM of the whole batch
     * is split across all of them instead: the same results (the halves'
     * GEMMs compute each element as the whole batch's do), except for
     * halves of at most FNN_NETWORK_SMALL_M rows, which keep the halves. */
    if (n >= FNN_STEP_SPLIT_ROWS && (fnn_get_num_threads() <= 2 || n / 2 <= FNN_NETWORK_SMALL_M))
        return FN(train_step_split)(n, x, labels, y, n_layers, first_trainable, layers, adam, mom, l2, work, loss,
                                    n_correct, src, ld, rows);
    /* One thread count for the whole step (left to itself each GEMM would
     * split from its own size, and the data would cross between the cores
     * at every layer: on Intel Xeon steps of 16-28 rows ran slower on two
     * threads than on one). */
    return FN(train_step_whole)(FN(step_threads)(work), n, x, labels, y, n_layers, first_trainable, layers, adam,
                                mom, l2, loss, n_correct, src, ld, rows);
}

fnn_status FN(fnn_network_train_step_)(int n, const T *x, const int64_t *labels,
                                       const T *y, int n_layers,
                                       const FNN_CAT(fnn_train_layer_, SFX) *layers,
                                       const FNN_CAT(fnn_adam_, SFX) *adam,
                                       const FNN_CAT(fnn_momentum_, SFX) *momentum, T l2,
                                       double *loss, int64_t *n_correct)
{
    return FN(train_step)(n, x, labels, y, n_layers, layers, adam, momentum, l2, loss, n_correct, NULL, 0, NULL);
}

fnn_status FN(fnn_network_train_step_rows_)(int n, const T *x_src, ptrdiff_t ld, int64_t n_src,
                                            const int64_t *rows, T *x_buf, const int64_t *labels,
                                            const T *y, int n_layers,
                                            const FNN_CAT(fnn_train_layer_, SFX) *layers,
                                            const FNN_CAT(fnn_adam_, SFX) *adam,
                                            const FNN_CAT(fnn_momentum_, SFX) *momentum, T l2,
                                            double *loss, int64_t *n_correct)
{
    if (!x_src || !rows || !x_buf || n < 1 || n_layers < 1 || !layers || ld < layers[0].in_features)
        return FNN_ERR_ARG;
    for (int i = 0; i < n; ++i) /* every index before anything is written */
        if (rows[i] < 0 || rows[i] >= n_src) return FNN_ERR_ARG;
    return FN(train_step)(n, x_buf, labels, y, n_layers, layers, adam, momentum, l2, loss, n_correct, x_src, ld,
                          rows);
}

#undef FN
