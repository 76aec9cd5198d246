/*
 * api_impl.h -- dtype-generic body of api.c (included once with T = float,
 * once with T = double): the public C API's functions, each checking its
 * arguments (FNN_ERR_ARG, nothing written) before calling the kernel.
 * The kernels themselves trust their callers (the Python layer checks
 * everything first); an extension module gets no such layer, so the
 * checks are here: a NULL where an array is needed, a dimension outside
 * 0..FNN_API_MAX_DIM, an unknown activation, a non-finite rate.
 */

#define FN(name) FNN_CAT(name, SFX)

static fnn_status FN(api_gemm_)(int m, int n, int k, T alpha, const T *a, ptrdiff_t rsa, ptrdiff_t csa,
                                const T *b, ptrdiff_t rsb, ptrdiff_t csb, T beta, T *c, ptrdiff_t ldc,
                                const T *bias, fnn_activation act, T slope)
{
    CHECK(dims_ok(m) && dims_ok(n) && dims_ok(k) && act_ok(act, (double)slope));
    CHECK(have(a, m, k) && have(b, k, n) && have(c, m, n) && (n == 0 || ldc >= n));
    CHECK(isfinite((double)alpha) && isfinite((double)beta));
    return FN(fnn_gemm_)(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, ldc, bias, act, slope);
}

static fnn_status FN(api_dense_forward_)(int n, int in, int out, const T *x, const T *w, const T *b,
                                         fnn_activation act, T slope, T *a)
{
    CHECK(dims_ok(n) && width_ok(in) && width_ok(out) && act_ok(act, (double)slope));
    CHECK(have(x, n, in) && w && have(a, n, out));
    return FN(fnn_dense_forward_)(n, in, out, x, w, b, act, slope, a);
}

static fnn_status FN(api_dense_backward_)(int n, int in, int out, const T *da, const T *a, const T *x,
                                          const T *w, fnn_activation act, T slope, T *dz, T *dw, T *db,
                                          T *dx)
{
    CHECK(dims_ok(n) && width_ok(in) && width_ok(out) && act_ok(act, (double)slope));
    CHECK(have(da, n, out) && have(a, n, out) && have(x, n, in) && w && have(dz, n, out));
    return FN(fnn_dense_backward_)(n, in, out, da, a, x, w, act, slope, dz, dw, db, dx);
}

static fnn_status FN(api_dense_backward_sgd_)(int n, int in, int out, const T *da, const T *a, const T *x,
                                              T *w, T *b, T lr, fnn_activation act, T slope, T *dz,
                                              T *db_work, T *dx)
{
    CHECK(dims_ok(n) && width_ok(in) && width_ok(out) && act_ok(act, (double)slope) && isfinite((double)lr));
    CHECK(have(da, n, out) && have(a, n, out) && have(x, n, in) && w && have(dz, n, out) && db_work);
    return FN(fnn_dense_backward_sgd_)(n, in, out, da, a, x, w, b, lr, act, slope, dz, db_work, dx);
}

/* The layers chain (each one's inputs are the previous one's outputs) and
 * each has the arrays it needs for n rows. */
static int FN(forward_layers_ok)(int n, int n_layers, const FN(fnn_dense_layer_) *layers)
{
    if (n_layers < 1 || !layers) return 0;
    for (int l = 0; l < n_layers; ++l) {
        const FN(fnn_dense_layer_) *L = &layers[l];
        if (!width_ok(L->in_features) || !width_ok(L->out_features) || !act_ok(L->act, (double)L->slope))
            return 0;
        if (!L->w || !have(L->a, n, L->out_features)) return 0;
        if (l > 0 && L->in_features != layers[l - 1].out_features) return 0;
    }
    return 1;
}

static fnn_status FN(api_network_forward_)(int n, const T *x, int n_layers, const FN(fnn_dense_layer_) *layers)
{
    CHECK(dims_ok(n) && FN(forward_layers_ok)(n, n_layers, layers) && have(x, n, layers[0].in_features));
    return FN(fnn_network_forward_)(n, x, n_layers, layers);
}

static int FN(train_layers_ok)(int n, int n_layers, const FN(fnn_train_layer_) *layers, int adam)
{
    if (n_layers < 1 || !layers) return 0;
    for (int l = 0; l < n_layers; ++l) {
        const FN(fnn_train_layer_) *L = &layers[l];
        if (!width_ok(L->in_features) || !width_ok(L->out_features) || !act_ok(L->act, (double)L->slope))
            return 0;
        if (!L->w || !L->a || !L->g || !L->db || !isfinite((double)L->lr)) return 0;
        if (l > 0 && L->in_features != layers[l - 1].out_features) return 0;
        if (adam && L->train && (!L->dw || !L->m_w || !L->v_w || (L->b && (!L->m_b || !L->v_b)))) return 0;
    }
    return n >= 1;
}

static fnn_status FN(api_network_train_step_)(int n, const T *x, const int64_t *labels, const T *y,
                                              int n_layers, const FN(fnn_train_layer_) *layers,
                                              const FN(fnn_adam_) *adam, double *loss, int64_t *n_correct)
{
    CHECK(dims_ok(n) && FN(train_layers_ok)(n, n_layers, layers, adam != NULL));
    CHECK(x && (labels || y) && loss);
    if (adam)
        CHECK(isfinite((double)adam->b1) && isfinite((double)adam->b2) && adam->eps > 0 &&
              isfinite((double)adam->weight_decay) && adam->bc1 > 0 && adam->bc2 > 0);
    return FN(fnn_network_train_step_)(n, x, labels, y, n_layers, layers, adam, NULL, (T)0, loss, n_correct);
}

static fnn_status FN(api_activation_)(T *z, size_t len, fnn_activation act, T slope)
{
    CHECK(act_ok(act, (double)slope) && (z || len == 0));
    FN(fnn_activation_)(z, len, act, slope);
    return FNN_OK;
}

static fnn_status FN(api_activation_derivative_)(const T *a, T *d, size_t len, fnn_activation act, T slope)
{
    CHECK(act_ok(act, (double)slope) && ((a && d) || len == 0));
    FN(fnn_activation_derivative_)(a, d, len, act, slope);
    return FNN_OK;
}

static fnn_status FN(api_softmax_)(int n, int k, const T *z, T *p)
{
    CHECK(dims_ok(n) && width_ok(k) && have(z, n, k) && have(p, n, k));
    FN(fnn_softmax_)(n, k, z, p);
    return FNN_OK;
}

static fnn_status FN(api_softmax_cross_entropy_)(int n, int k, const T *z, const int64_t *labels, const T *y,
                                                 T *dz, double *loss, int64_t *n_correct)
{
    CHECK(dims_ok(n) && width_ok(k) && have(z, n, k) && have(dz, n, k) && loss);
    CHECK(labels || y || n == 0);
    return FN(fnn_softmax_cross_entropy_)(n, k, z, labels, y, dz, loss, n_correct);
}

/* The three losses of (output, target) with one signature. */
#define FNN_API_PAIR_LOSS(name)                                                              \
    static fnn_status FN(FNN_CAT(api_, name))(int n, int k, const T *o, const T *t, T *d,   \
                                               double *loss)                                 \
    {                                                                                        \
        CHECK(dims_ok(n) && width_ok(k) && have(o, n, k) && have(t, n, k) && have(d, n, k)); \
        CHECK(loss != NULL);                                                                 \
        FN(FNN_CAT(fnn_, name))(n, k, o, t, d, loss);                                        \
        return FNN_OK;                                                                       \
    }
FNN_API_PAIR_LOSS(sigmoid_bce_)
FNN_API_PAIR_LOSS(half_squared_error_)
FNN_API_PAIR_LOSS(mse_)
#undef FNN_API_PAIR_LOSS

static fnn_status FN(api_sgd_update_)(T *p, const T *g, size_t len, T lr)
{
    CHECK(((p && g) || len == 0) && isfinite((double)lr));
    FN(fnn_sgd_update_)(p, g, len, lr);
    return FNN_OK;
}

static fnn_status FN(api_sgd_momentum_update_)(T *p, const T *g, T *v, size_t len, T lr, T momentum,
                                               int nesterov, T weight_decay)
{
    CHECK(((p && g && v) || len == 0) && isfinite((double)lr) && isfinite((double)momentum));
    CHECK(isfinite((double)weight_decay));
    FN(fnn_sgd_momentum_update_)(p, g, v, len, lr, momentum, nesterov, weight_decay);
    return FNN_OK;
}

static fnn_status FN(api_adam_update_)(T *p, const T *g, T *m, T *v, size_t len, T lr, T b1, T b2, T eps,
                                       T weight_decay, T bc1, T bc2)
{
    CHECK(((p && g && m && v) || len == 0) && isfinite((double)lr) && isfinite((double)b1));
    CHECK(isfinite((double)b2) && eps > 0 && isfinite((double)weight_decay) && bc1 > 0 && bc2 > 0);
    FN(fnn_adam_update_)(p, g, m, v, len, lr, b1, b2, eps, weight_decay, bc1, bc2);
    return FNN_OK;
}

#undef FN
