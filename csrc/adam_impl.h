/*
 * adam_impl.h -- the Adam update of a parameter slice, the one element-wise
 * optimizer kernel compiled per SIMD path (included by gemm_isa.c once for
 * float and once for double, after gemm_impl.h; never on its own).
 *
 * Each element costs a square root and a division, whose throughput grows
 * with the vector width, so this loop belongs with the path's other
 * kernels rather than in ops.c, which is built for the baseline instruction
 * set only.  The loops are plain C that the compiler vectorises with the
 * path's flags.  Element-wise: an element's result depends on its own
 * values alone, never on how a caller splits the slice across threads.
 * Also here, gemm_adam: the training step's weight-gradient GEMM with this
 * update run on each row of tiles as it is finished (through gemm_impl.h's
 * tile hook, which is why this file comes after it).
 */

#define FN(name) FNN_CAT(FNN_CAT(name, FNN_CAT(_, SFX)), FNN_CAT(_, FNN_ISA))

/* x, or 0 where |x| is below the float whose bits are `least` (float
 * only; double is returned as it is).  Masked in the integer bits: no
 * float operation of its own, so none that could itself be subnormal. */
static FNN_ALWAYS_INLINE T FN(zero_below)(T x, uint32_t least)
{
    if (sizeof(T) != 4) return x;
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u &= (u & 0x7fffffffu) >= least ? 0xffffffffu : 0u;
    memcpy(&x, &u, sizeof u);
    return x;
}

/* a b + c, rounded once where the path has FMA (-mfma, ARM64) and twice
 * elsewhere: spelled out because left to -ffp-contract the compiler fused
 * some of these sums in the vector loop and not in its scalar tail, and an
 * element's result then depended on where a caller's slice began. */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define FNN_ADAM_FMA 1
#else
#define FNN_ADAM_FMA 0
#endif
static FNN_ALWAYS_INLINE T FN(muladd)(T a, T b, T c)
{
#if FNN_ADAM_FMA
    return sizeof(T) == 4 ? (T)__builtin_fmaf((float)a, (float)b, (float)c)
                          : (T)__builtin_fma((double)a, (double)b, (double)c);
#else
    return a * b + c;
#endif
}

/* One element: the moments m, v updated in place from the gradient gi;
 * returns the step to subtract from the parameter.
 *
 * In float, nothing here is let become subnormal: on Intel Xeons every
 * subnormal result (or operand) costs a microcode assist, which made an
 * Adam update over such values many times slower (bench/subnormals.py).
 * They arise where a gradient is tiny or exactly 0 for many steps (the
 * weights of an image's always-blank pixels): m decays by b1 each step
 * and is subnormal within about 800 steps.  So a gradient below 2^-54
 * enters v as 0 (its square, below 2^-108, is less than half an ulp of any
 * v above 2^-84, and where v is smaller sqrt(v) is far below any usual
 * eps), and m below 2^-100 (or a gradient that small, in m) counts as 0:
 * its part of the step is below lr 2^-100 / (eps bc1), under half an ulp of
 * any |p| above 2^-46 for lr <= 1, eps >= 1e-8 and bc1 >= 0.1, so p moves
 * the same; and v below 2^-120, whose square root is below 2^-28 of such
 * an eps even scaled by 1/bc2 <= 1000.  With the usual betas (b1 and b2
 * at least 2^-6, their complements at least 2^-16) the products of values
 * above these bars stay normal. */
static FNN_ALWAYS_INLINE T FN(adam_step_one)(T gi, T *m, T *v, T b1, T b2, T eps, T step, T inv_bc2)
{
    const T gs = FN(zero_below)(gi, 0x24800000u);     /* 2^-54 */
    const T gm = FN(zero_below)(gi, 0x0d800000u);     /* 2^-100 */
    const T m0 = FN(zero_below)(*m, 0x0d800000u);     /* 2^-100 */
    const T v0 = FN(zero_below)(*v, 0x03800000u);     /* 2^-120 */
    const T mi = FN(muladd)(b1, m0, ((T)1 - b1) * gm);
    const T vi = FN(muladd)(b2, v0, ((T)1 - b2) * gs * gs);
    *m = mi;
    *v = vi;
    const T denom = (sizeof(T) == 4 ? (T)sqrtf((float)(vi * inv_bc2)) : (T)sqrt((double)(vi * inv_bc2))) + eps;
    return step * mi / denom;
}

/* One step's constants, derived once from lr and the fnn_adam struct:
 * decoupled weight decay p *= 1 - lr weight_decay (AdamW; 0 for Adam), the
 * step lr / bc1, 1 / bc2, and l2 (scikit-learn's coupled penalty, or 0). */
typedef struct {
    T decay, b1, b2, eps, step, inv_bc2, l2;
} FN(adam_consts);

static FN(adam_consts) FN(adam_consts_for)(T lr, const FNN_CAT(fnn_adam_, SFX) *adam, T l2)
{
    const FN(adam_consts) k = {(T)1 - lr * adam->weight_decay, adam->b1, adam->b2, adam->eps, lr / adam->bc1,
                               (T)1 / adam->bc2, l2};
    return k;
}

/* p[0..len) -= Adam's step for the gradient g (with l2 != 0, scikit-learn's
 * coupled penalty: the gradient g + l2 p), after the decoupled decay. */
static void FN(adam_block)(T *p, const T *g, T *m, T *v, size_t len, const FN(adam_consts) *k)
{
    const T decay = k->decay, b1 = k->b1, b2 = k->b2, eps = k->eps, step = k->step, inv_bc2 = k->inv_bc2;
    const T l2 = k->l2;
    if (l2 == (T)0) {
        for (size_t i = 0; i < len; ++i)
            p[i] = FN(muladd)(p[i], decay, -FN(adam_step_one)(g[i], &m[i], &v[i], b1, b2, eps, step, inv_bc2));
        return;
    }
    for (size_t i = 0; i < len; ++i) {
        const T pi = p[i];
        const T gi = FN(muladd)(l2, pi, g[i]);
        p[i] = FN(muladd)(pi, decay, -FN(adam_step_one)(gi, &m[i], &v[i], b1, b2, eps, step, inv_bc2));
    }
}

/* p[0..len) (its first and last element included) prefetched for writing. */
static FNN_ALWAYS_INLINE void FN(prefetch_for_write)(const T *p, size_t len)
{
    for (size_t i = 0; i < len; i += 64 / sizeof(T)) __builtin_prefetch(p + i, 1, 3);
    __builtin_prefetch(p + len - 1, 1, 3);
}

/* Blocks of FNN_ADAM_BLOCK elements, each block's lines of p prefetched
 * for writing first where the CPU has such a prefetch: in a two-thread
 * step the other core has read every weight in its half's forward pass,
 * and each store would otherwise wait, line after line, for that core's
 * copy to be invalidated; requested together, the invalidations overlap.
 * (A block at a time: prefetched all at once, a long slice's first lines
 * would leave L1 before their turn.)  Element-wise, so the blocks do not
 * change any result. */
#define FNN_ADAM_BLOCK 1024
static void FN(adam)(T *p, const T *g, T *m, T *v, size_t len, T lr,
                     const FNN_CAT(fnn_adam_, SFX) *adam, T l2)
{
    const FN(adam_consts) k = FN(adam_consts_for)(lr, adam, l2);
    const int for_write = fnn_cpu_info()->prefetchw;
    for (size_t b0 = 0; b0 < len; b0 += FNN_ADAM_BLOCK) {
        const size_t n = len - b0 < FNN_ADAM_BLOCK ? len - b0 : FNN_ADAM_BLOCK;
        if (for_write) FN(prefetch_for_write)(p + b0, n);
        FN(adam_block)(p + b0, g + b0, m + b0, v + b0, n, &k);
    }
}

/* ---- dW and Adam in one pass ---------------------------------------------- */

/* A layer's W, moments and constants, for the tile hook below: the tile
 * of dW at c is element c - dw of each array. */
typedef struct {
    FN(tile_hook) hook;
    const T *dw;
    T *w, *m, *v;
    FN(adam_consts) k;
    int for_write; /* prefetch the tile's W, m and v for writing */
} FN(adam_hook);

/* The tile's rows of W, m and v, for writing: W's lines, in another core's
 * cache after a split step's forward pass, come over while the tile's K
 * loop runs instead of one after another at the stores.  (With one thread
 * they are this core's already, and the prefetches cost a little.) */
static void FN(adam_hook_before)(const FN(tile_hook) *h, const T *c, ptrdiff_t ldc, int rows, int cols)
{
    const FN(adam_hook) *u = (const FN(adam_hook) *)h;
    if (!u->for_write) return;
    for (int i = 0; i < rows; ++i) {
        const ptrdiff_t off = c + i * ldc - u->dw;
        FN(prefetch_for_write)(u->w + off, (size_t)cols);
        FN(prefetch_for_write)(u->m + off, (size_t)cols);
        FN(prefetch_for_write)(u->v + off, (size_t)cols);
    }
}

static void FN(adam_hook_after)(const FN(tile_hook) *h, T *c, ptrdiff_t ldc, int rows, int cols)
{
    const FN(adam_hook) *u = (const FN(adam_hook) *)h;
    for (int i = 0; i < rows; ++i) {
        const T *g = c + i * ldc;
        const ptrdiff_t off = g - u->dw;
        FN(adam_block)(u->w + off, g, u->m + off, u->v + off, (size_t)cols, &u->k);
    }
}

/* One thread's slice of a training step's update: dw (m x n, ldc) =
 * op(A) op(B), then Adam on w, mw and vw at dw's offsets, a sliver's row of
 * tiles at a time as soon as it is computed, while it is in L1 (and, with
 * shared, each tile's weights asked for while it is computed: other threads
 * have read them since their last update).  The results of the GEMM
 * followed by Adam: each element sees the same operations.  dw is still
 * written in full (callers read the gradients).  A product the packed
 * micro-kernel would not compute (A's rows and B's columns contiguous
 * along k, where the GEMM may take dot products) runs as the GEMM, then
 * Adam. */
static fnn_status FN(gemm_adam)(int m, int n, int k, const T *a, ptrdiff_t rsa, ptrdiff_t csa, const T *b,
                                ptrdiff_t rsb, ptrdiff_t csb, T *dw, ptrdiff_t ldc, T *w, T *mw, T *vw, T lr,
                                const FNN_CAT(fnn_adam_, SFX) *adam, T l2, int shared)
{
    if (m <= 0 || n <= 0) return FNN_OK;
    if (csa == 1 && rsb == 1 && !FN(gemm_packed)(m, n, k)) {
        int used = 1;
        const fnn_status st = FN(gemm)(m, n, k, (T)1, a, rsa, csa, b, rsb, csb, (T)0, dw, ldc, NULL,
                                       FNN_ACT_IDENTITY, (T)0, 1, &used);
        if (st != FNN_OK) return st;
        for (int i = 0; i < m; ++i)
            FN(adam)(w + i * ldc, dw + i * ldc, mw + i * ldc, vw + i * ldc, (size_t)n, lr, adam, l2);
        return FNN_OK;
    }
    const FN(adam_hook) u = {{FN(adam_hook_before), FN(adam_hook_after)}, dw, w, mw, vw,
                             FN(adam_consts_for)(lr, adam, l2), shared && fnn_cpu_info()->prefetchw};
    return FN(gemm_block)(m, n, k, (T)1, a, rsa, csa, b, rsb, csb, (T)0, dw, ldc, NULL, FNN_ACT_IDENTITY, (T)0,
                          &u.hook);
}

#undef FN
#undef FNN_ADAM_FMA
#undef FNN_ADAM_BLOCK
