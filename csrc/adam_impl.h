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
 */

#define FN(name) FNN_CAT(FNN_CAT(name, FNN_CAT(_, SFX)), FNN_CAT(_, FNN_ISA))

/* One element: the moments m, v updated in place from the gradient gi;
 * returns the step to subtract from the parameter. */
static FNN_ALWAYS_INLINE T FN(adam_step_one)(T gi, T *m, T *v, T b1, T b2, T eps, T step, T inv_bc2)
{
    /* A float gradient below 2^-54 enters v as 0: its square would be
     * subnormal, and on Intel Xeons every subnormal result costs a
     * microcode assist (an Adam update of gradients near 1e-21 ran 14
     * times slower than of normal ones).  The square it drops is below
     * 2^-108, less than half an ulp of any v above 2^-84, and where v is
     * smaller sqrt(v) is far below any usual eps, so p moves the same.
     * Masked in the integer bits: the float arithmetic stays that of the
     * plain update, in the vector loop and its scalar tail alike. */
    T gs = gi;
    if (sizeof(T) == 4) {
        uint32_t u;
        memcpy(&u, &gs, sizeof u);
        u &= (u & 0x7fffffffu) >= 0x24800000u ? 0xffffffffu : 0u; /* 0x24800000: 2^-54 */
        memcpy(&gs, &u, sizeof u);
    }
    const T mi = b1 * *m + ((T)1 - b1) * gi;
    const T vi = b2 * *v + ((T)1 - b2) * gs * gs;
    *m = mi;
    *v = vi;
    const T denom = (sizeof(T) == 4 ? (T)sqrtf((float)(vi * inv_bc2)) : (T)sqrt((double)(vi * inv_bc2))) + eps;
    return step * mi / denom;
}

/* p[0..len) -= Adam's step for the gradient g (with l2 != 0, scikit-learn's
 * coupled penalty: the gradient g + l2 p), after decoupled weight decay
 * p *= 1 - lr weight_decay (AdamW; 0 for Adam). */
static void FN(adam)(T *p, const T *g, T *m, T *v, size_t len, T lr,
                     const FNN_CAT(fnn_adam_, SFX) *adam, T l2)
{
    const T b1 = adam->b1, b2 = adam->b2, eps = adam->eps;
    const T decay = (T)1 - lr * adam->weight_decay;
    const T step = lr / adam->bc1, inv_bc2 = (T)1 / adam->bc2;
    if (l2 == (T)0) {
        for (size_t i = 0; i < len; ++i)
            p[i] = p[i] * decay - FN(adam_step_one)(g[i], &m[i], &v[i], b1, b2, eps, step, inv_bc2);
        return;
    }
    for (size_t i = 0; i < len; ++i) {
        const T pi = p[i];
        p[i] = pi * decay - FN(adam_step_one)(g[i] + l2 * pi, &m[i], &v[i], b1, b2, eps, step, inv_bc2);
    }
}

#undef FN
