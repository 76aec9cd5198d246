/*
 * gemm_impl.h -- dtype-generic body of gemm_isa.c (included once with
 * T = float and once with T = double; never on its own).
 *
 * Structure, after BLIS, with the K loop moved inside the rows:
 *   loop jc over N in NC columns
 *     pack B[:, jc] into NR-wide slivers, in K blocks of at most KC
 *     (equal-sized, so the order of the sum over K depends on K alone,
 *     never on the thread count); the K x NC panel stays in L2 (or L3)
 *     loop ir over M in MR rows
 *       loop pc over the K blocks: the MR x KC sliver of A is read where it
 *       lies (strided broadcasts; only a ragged last sliver is packed, with
 *       zero padding), and stays in L1 while
 *         loop jr over the packed slivers of B: the MR x NR micro-kernel
 *         keeps its accumulators in registers and, on the last K block,
 *         adds the bias and applies the activation there (the epilogue)
 *         before the tile is stored
 *       after the last K block, an optional hook on the finished MR x NC
 *       row of C, still in L1 (adam_impl.h's Adam update from dW).
 * The K blocks of one row sliver follow each other, so its MR x NC row of C
 * stays in L1 between them: with BLIS's order (pc outside ir) a C larger
 * than the caches would travel to memory and back once per K block, which
 * is what a batch of 10,000 rows meets.
 * Threads split the output into a grid of blocks of whole micro-tiles with
 * a static assignment; every output element sees the same sequence of
 * floating-point operations whatever the thread count.
 */

#define FN(name) FNN_CAT(FNN_CAT(name, FNN_CAT(_, SFX)), FNN_CAT(_, FNN_ISA))
#define NR (2 * VL)
#define FNN_MR_MID (2 * FNN_MR / 3) /* the ragged sliver's middle height (below) */
#define IS_F32 (sizeof(T) == 4)

/* ---- vector helpers ------------------------------------------------------ */

static FNN_ALWAYS_INLINE VEC FN(vload)(const T *p)
{
    VEC v;
    memcpy(&v, p, sizeof v);
    return v;
}

static FNN_ALWAYS_INLINE void FN(vstore)(T *p, VEC v) { memcpy(p, &v, sizeof v); }

static FNN_ALWAYS_INLINE VEC FN(vsplat)(T x)
{
    /* scalar - vector broadcasts the scalar; x - (+0) is x for every x
     * (including -0 and NaN), so this is a plain broadcast. */
    const VEC zero = {0};
    return x - zero;
}

/* Lanes of a where m is set, else b. */
static FNN_ALWAYS_INLINE VEC FN(vselect)(IVEC m, VEC a, VEC b)
{
    return (VEC)(((IVEC)a & m) | ((IVEC)b & ~m));
}

/* Lanes of x clamped to [lo, hi]; a NaN lane stays NaN.  x86's max and min
 * return their second operand when either is NaN, so max(lo, x) and
 * min(hi, x) are exactly the two selects of the portable version, in one
 * instruction each instead of a compare and a blend (the clamp is on the
 * exp's critical path). */
static FNN_ALWAYS_INLINE VEC FN(vclamp)(VEC x, T lo, T hi)
{
    const VEC vlo = FN(vsplat)(lo), vhi = FN(vsplat)(hi);
#if FNN_VBYTES == 64 && defined(__AVX512F__) && FNN_T_F32
    return (VEC)_mm512_min_ps((__m512)vhi, _mm512_max_ps((__m512)vlo, (__m512)x));
#elif FNN_VBYTES == 64 && defined(__AVX512F__)
    return (VEC)_mm512_min_pd((__m512d)vhi, _mm512_max_pd((__m512d)vlo, (__m512d)x));
#elif FNN_VBYTES == 32 && defined(__AVX__) && FNN_T_F32
    return (VEC)_mm256_min_ps((__m256)vhi, _mm256_max_ps((__m256)vlo, (__m256)x));
#elif FNN_VBYTES == 32 && defined(__AVX__)
    return (VEC)_mm256_min_pd((__m256d)vhi, _mm256_max_pd((__m256d)vlo, (__m256d)x));
#elif FNN_VBYTES == 16 && defined(__SSE2__) && FNN_T_F32
    return (VEC)_mm_min_ps((__m128)vhi, _mm_max_ps((__m128)vlo, (__m128)x));
#elif FNN_VBYTES == 16 && defined(__SSE2__)
    return (VEC)_mm_min_pd((__m128d)vhi, _mm_max_pd((__m128d)vlo, (__m128d)x));
#else
    x = FN(vselect)(x < vlo, vlo, x);
    return FN(vselect)(x > vhi, vhi, x);
#endif
}

/* ---- vector math: exp, expm1, log on [1, 2] --------------------------------
 * Written for the epilogue, so accurate to a few ulp in both precisions
 * (the tests hold float64 kernels to 1e-12 of NumPy).  exp(x) = 2^n e^r with
 * n = round(x / ln 2) and |r| <= ln2 / 2 (Cody-Waite: ln 2 split in a high
 * part with few bits, so n * ln2_hi is exact).  e^r - 1 = r h(r): for double
 * h is the Taylor series to degree 12 (truncation error 4e-18); for float a
 * degree-5 polynomial fitted to e^r's relative error on the interval
 * (2e-8 with its coefficients rounded to float, a seventh of float's
 * epsilon; the Taylor series needs degree 6 for that).  vexp_reduce
 * multiplies every coefficient by `scale`, a power of two, which gives
 * exactly scale * h(r): every rounding in the evaluation is scaled alike. */

/* scale * h(r), with r and the integer n, for x clamped to [lo, hi]. */
static FNN_ALWAYS_INLINE VEC FN(vexp_reduce)(VEC x, T lo, T hi, T scale, VEC *r_out, IVEC *n_out)
{
    const T magic = IS_F32 ? (T)12582912.0 : (T)6755399441055744.0; /* 1.5 * 2^(mantissa bits) */
    const T ln2_hi = IS_F32 ? (T)0.693359375 : (T)6.93145751953125e-1;
    const T ln2_lo = IS_F32 ? (T)-2.12194440e-4 : (T)1.42860682030941723212e-6;

    x = FN(vclamp)(x, lo, hi);
    const VEC vmagic = FN(vsplat)(magic);
    /* Adding magic rounds to an integer, which then sits in the low bits of
     * the sum's representation. */
    VEC t = x * (T)1.4426950408889634074 + vmagic;
    VEC n = t - vmagic;
    VEC r = x - n * ln2_hi;
    r = r - n * ln2_lo;

    VEC h;
    if (IS_F32) {
        h = FN(vsplat)(scale * (T)1.3843652559444308e-3);
        h = h * r + scale * (T)8.37415549904108e-3;
        h = h * r + scale * (T)4.166800156235695e-2;
        h = h * r + scale * (T)1.6666431725025177e-1;
        h = h * r + scale * (T)4.999999403953552e-1;
        h = h * r + scale * (T)1.0;
    } else {
        h = FN(vsplat)(scale * (T)(1.0 / 6227020800.0));
        h = h * r + scale * (T)(1.0 / 479001600.0);
        h = h * r + scale * (T)(1.0 / 39916800.0);
        h = h * r + scale * (T)(1.0 / 3628800.0);
        h = h * r + scale * (T)(1.0 / 362880.0);
        h = h * r + scale * (T)(1.0 / 40320.0);
        h = h * r + scale * (T)(1.0 / 5040.0);
        h = h * r + scale * (T)(1.0 / 720.0);
        h = h * r + scale * (T)(1.0 / 120.0);
        h = h * r + scale * (T)(1.0 / 24.0);
        h = h * r + scale * (T)(1.0 / 6.0);
        h = h * r + scale * (T)0.5;
        h = h * r + scale * (T)1.0;
    }
    *r_out = r;
    *n_out = (IVEC)t - (IVEC)vmagic;
    return h;
}

/* 2^k as a vector from k's integer lanes (k within the normal exponents). */
static FNN_ALWAYS_INLINE VEC FN(vpow2i)(IVEC k)
{
    return (VEC)((k + (IS_F32 ? 127 : 1023)) << (IS_F32 ? 23 : 52));
}

/* q = e^r - 1 and 2^n as s1 s2, for every x: 2^n is split as 2^n1 2^n2 so
 * that results down to the subnormals and up to overflow come out right. */
static FNN_ALWAYS_INLINE void FN(vexp_parts)(VEC x, VEC *q, VEC *s1, VEC *s2)
{
    const T lo = IS_F32 ? (T)-104.0 : (T)-746.0; /* exp(lo) rounds to 0 */
    const T hi = IS_F32 ? (T)89.0 : (T)710.0;    /* exp(hi) overflows */
    VEC r;
    IVEC n;
    const VEC h = FN(vexp_reduce)(x, lo, hi, (T)1.0, &r, &n);
    *q = r * h;
    const IVEC n1 = n >> 1; /* floor(n / 2): an arithmetic shift */
    *s1 = FN(vpow2i)(n1);
    *s2 = FN(vpow2i)(n - n1);
}

static FNN_ALWAYS_INLINE VEC FN(vexp)(VEC x)
{
    VEC q, s1, s2;
    FN(vexp_parts)(x, &q, &s1, &s2);
    return ((q + (T)1.0) * s1) * s2;
}

/* e^x - 1 for x <= 0, without cancellation near 0: 2^n q + (2^n - 1).
 * Below the clamp at lo, e^x - 1 rounds to -1 whatever e^x is, so 2^n is
 * always normal: one scale, no split. */
static FNN_ALWAYS_INLINE VEC FN(vexpm1_nonpos)(VEC x)
{
    const T lo = IS_F32 ? (T)-87.0 : (T)-707.0;
    VEC r;
    IVEC n;
    const VEC h = FN(vexp_reduce)(x, lo, (T)0.0, (T)1.0, &r, &n);
    const VEC s = FN(vpow2i)(n);
    return s * (r * h) + (s - (T)1.0);
}

/* log(w) for w in [1, 2]: reduce to [sqrt(1/2), sqrt(2)], then
 * log w = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (w-1)/(w+1),
 * |s| <= 0.172. */
static FNN_ALWAYS_INLINE VEC FN(vlog_1_2)(VEC w)
{
    IVEC big = w > FN(vsplat)((T)1.41421356237309504880);
    w = FN(vselect)(big, w * (T)0.5, w);
    VEC s = (w - (T)1.0) / (w + (T)1.0);
    VEC z = s * s;
    VEC g;
    if (IS_F32) {
        g = FN(vsplat)((T)(1.0 / 11.0));
        g = g * z + (T)(1.0 / 9.0);
        g = g * z + (T)(1.0 / 7.0);
        g = g * z + (T)(1.0 / 5.0);
        g = g * z + (T)(1.0 / 3.0);
        g = g * z + (T)1.0;
    } else {
        g = FN(vsplat)((T)(1.0 / 23.0));
        g = g * z + (T)(1.0 / 21.0);
        g = g * z + (T)(1.0 / 19.0);
        g = g * z + (T)(1.0 / 17.0);
        g = g * z + (T)(1.0 / 15.0);
        g = g * z + (T)(1.0 / 13.0);
        g = g * z + (T)(1.0 / 11.0);
        g = g * z + (T)(1.0 / 9.0);
        g = g * z + (T)(1.0 / 7.0);
        g = g * z + (T)(1.0 / 5.0);
        g = g * z + (T)(1.0 / 3.0);
        g = g * z + (T)1.0;
    }
    VEC ln2 = FN(vselect)(big, FN(vsplat)((T)0.69314718055994530942), FN(vsplat)((T)0.0));
    return (T)2.0 * s * g + ln2;
}

static FNN_ALWAYS_INLINE VEC FN(vabs)(VEC x)
{
    const VEC neg0 = FN(vsplat)((T)-0.0);
    return (VEC)((IVEC)x & ~(IVEC)neg0);
}

/* ---- activations on one vector ---------------------------------------- */

/* sigmoid x = 1 / (1 + e^-x).  Only e^-x's normal range needs its exact
 * value: below it 1 + e^-x rounds to 1, so the clamp at lo (2^n still
 * normal, or exactly 0 at its edge) costs nothing, and one scale 2^(n-1)
 * (times 2 e^r, from the polynomial's coefficients doubled) reaches every
 * normal e^-x, up to the overflow past hi that makes the result 0 as
 * 1 / (1 + e^-x) gives it.  Exact scalings: the same values as vexp's in
 * that range, without its split of 2^n. */
static FNN_ALWAYS_INLINE VEC FN(vsigmoid)(VEC x)
{
    const T lo = IS_F32 ? (T)-87.0 : (T)-707.0;
    const T hi = IS_F32 ? (T)89.0 : (T)710.0;
    VEC r;
    IVEC n;
    const VEC h2 = FN(vexp_reduce)(-x, lo, hi, (T)2.0, &r, &n);
    const VEC p2 = r * h2 + (T)2.0; /* 2 e^r */
    return (T)1.0 / ((T)1.0 + p2 * FN(vpow2i)(n - 1));
}

/* tanh x = sign(x) (1 - e^(-2|x|)) / (1 + e^(-2|x|)), with expm1 so small
 * |x| keeps its relative accuracy. */
static FNN_ALWAYS_INLINE VEC FN(vtanh)(VEC x)
{
    const VEC neg0 = FN(vsplat)((T)-0.0);
    VEC e = FN(vexpm1_nonpos)((T)-2.0 * FN(vabs)(x));
    VEC t = FN(vabs)(e / ((T)2.0 + e)); /* (e <= 0; the sign comes from x) */
    return (VEC)((IVEC)t | ((IVEC)x & (IVEC)neg0));
}

/* softplus x = max(x, 0) + log1p(e^-|x|); log1p(u) = log(w) u / (w - 1)
 * with w = 1 + u (exact even when w rounds to 1, where it is u). */
static FNN_ALWAYS_INLINE VEC FN(vsoftplus)(VEC x)
{
    const VEC zero = FN(vsplat)((T)0.0);
    VEC u = FN(vexp)(-FN(vabs)(x));
    VEC w = u + (T)1.0;
    VEC d = w - (T)1.0;
    IVEC tiny = d == zero;
    VEC l1p = FN(vlog_1_2)(w) * (u / FN(vselect)(tiny, FN(vsplat)((T)1.0), d));
    l1p = FN(vselect)(tiny, u, l1p);
    return FN(vselect)(x > zero, x, zero) + l1p;
}

static FNN_ALWAYS_INLINE VEC FN(vact)(VEC x, const int act, VEC slope)
{
    const VEC zero = FN(vsplat)((T)0.0);
    switch (act) {
    case FNN_ACT_SIGMOID: return FN(vsigmoid)(x);
    case FNN_ACT_TANH: return FN(vtanh)(x);
    /* x < 0 is false for NaN, so NaN passes through relu and leaky relu. */
    case FNN_ACT_RELU: return FN(vselect)(x < zero, zero, x);
    case FNN_ACT_LEAKY_RELU: return FN(vselect)(x < zero, slope * x, x);
    case FNN_ACT_SOFTPLUS: return FN(vsoftplus)(x);
    default: return x;
    }
}

/* The element-wise kernels' loop: z <- f(z) in place, f the activation op
 * or (op FNN_OP_EXP) e^z; a ragged end goes through the same vector code,
 * so every element's value is the same wherever it lies.  Inlined with a
 * constant op: one loop per function, its constants kept in registers. */
#define FNN_OP_EXP (-1)
static FNN_ALWAYS_INLINE VEC FN(vop)(VEC v, const int op, VEC slope)
{
    return op == FNN_OP_EXP ? FN(vexp)(v) : FN(vact)(v, op, slope);
}

static FNN_ALWAYS_INLINE void FN(map)(T *z, size_t len, const int op, T slope)
{
    const VEC vslope = FN(vsplat)(slope);
    size_t i = 0;
    for (; i + VL <= len; i += VL)
        FN(vstore)(z + i, FN(vop)(FN(vload)(z + i), op, vslope));
    if (i < len) {
        T tmp[VL] = {0};
        memcpy(tmp, z + i, (len - i) * sizeof(T));
        FN(vstore)(tmp, FN(vop)(FN(vload)(tmp), op, vslope));
        memcpy(z + i, tmp, (len - i) * sizeof(T));
    }
}

/* In place z <- act(z) over an array (the standalone activation kernel). */
static void FN(activation)(T *z, size_t len, fnn_activation act, T slope)
{
    switch (act) {
    case FNN_ACT_SIGMOID: FN(map)(z, len, FNN_ACT_SIGMOID, slope); break;
    case FNN_ACT_TANH: FN(map)(z, len, FNN_ACT_TANH, slope); break;
    case FNN_ACT_RELU: FN(map)(z, len, FNN_ACT_RELU, slope); break;
    case FNN_ACT_LEAKY_RELU: FN(map)(z, len, FNN_ACT_LEAKY_RELU, slope); break;
    case FNN_ACT_SOFTPLUS: FN(map)(z, len, FNN_ACT_SOFTPLUS, slope); break;
    default: break; /* the identity */
    }
}

/* In place x <- e^x over an array (the softmax's exponentials). */
static void FN(exp_array)(T *x, size_t len) { FN(map)(x, len, FNN_OP_EXP, (T)0); }

/* ---- micro-kernel ------------------------------------------------------ */

typedef struct {
    T alpha, beta; /* C = alpha * acc + beta * C */
    T slope;       /* leaky relu */
    int load_c;    /* read C: beta != 0, or a K block after the first */
    int c_for_write; /* with load_c: prefetch C's tile for writing (the CPU has such a prefetch) */
    int last;      /* the last K block: add bias, apply the activation */
    int *seen;     /* not NULL: set to 1 if an output before the bias and
                    * the activation is NaN or infinite (FNN_ACT_CHECK_FINITE) */
} FN(epilogue);

/* Whether a lane of v is NaN. */
static FNN_ALWAYS_INLINE int FN(vany_nan)(VEC v)
{
    const IVEC nan = v != v;
    ITYPE any = 0;
    for (int q = 0; q < VL; ++q) any |= nan[q];
    return any != 0;
}

/*
 * One MR x NR tile of C.  A element (i, p) is a[i*rsa + p*csa] (rows past
 * mr are never read: the caller packs a ragged sliver); bp is a B sliver,
 * kc rows of NR values ldb apart (a packed sliver, ldb = NR, or B itself
 * when its rows are contiguous).  Columns past nr are computed on zero
 * padding and not stored.  act is a compile-time constant in each instantiation below, so
 * the epilogue's switch disappears; so are rows and nv, the part of the
 * tile computed: rows of A (FNN_MR; for a last sliver, the first of
 * FNN_MR / 2 and FNN_MR_MID = 2 FNN_MR / 3 that covers it) by nv vectors
 * of B (2, or 1 for a last sliver of at most VL columns).  Without them a
 * ragged edge costs a whole tile: 100 columns cost as much as 128, 16 rows
 * (a two-thread half of a batch of 32: 6 + 6 + 4 on AVX2) as much as 18.
 * Each output element sees the same operations whichever part computes
 * it, so results do not depend on where the tiles fall.
 */
static FNN_ALWAYS_INLINE void FN(ukernel_body)(int kc, const T *restrict a,
                                               ptrdiff_t rsa, ptrdiff_t csa,
                                               const T *restrict bp,
                                               ptrdiff_t ldb,
                                               T *restrict c, ptrdiff_t ldc,
                                               int mr, int nr,
                                               const T *restrict bias,
                                               const FN(epilogue) *ep,
                                               const int act, const int rows,
                                               const int nv)
{
    VEC acc[FNN_MR][2];
    const VEC zero = FN(vsplat)((T)0);
    /* C is read only after the k loop: ask for its tile now, so that the
     * misses on a C too large for the caches overlap the arithmetic.  It is
     * written back after: where the CPU can, ask for it exclusive.  A C
     * that another core has read (the training step's update of W, which
     * both halves of the next step read) then comes over once, instead of
     * being read shared and invalidated in the other core at the store
     * (the two-thread batch-32 step was 5% faster; docs/performance.md). */
    if (ep->load_c && ep->c_for_write) {
#pragma GCC unroll 16
        for (int i = 0; i < rows; ++i) {
            __builtin_prefetch(c + i * ldc, 1, 3);
            __builtin_prefetch(c + i * ldc + nv * VL - 1, 1, 3);
        }
    } else if (ep->load_c) {
#pragma GCC unroll 16
        for (int i = 0; i < rows; ++i) {
            __builtin_prefetch(c + i * ldc, 0, 3);
            __builtin_prefetch(c + i * ldc + nv * VL - 1, 0, 3);
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < FNN_MR; ++i) acc[i][0] = acc[i][1] = zero;

    /* Rows in groups of three off one base pointer each: a row is then
     * base[0], base[rsa] or base[2*rsa], all scaled-index addresses. */
    const T *ab[(FNN_MR + 2) / 3];
#pragma GCC unroll 8
    for (int g = 0; g < (rows + 2) / 3; ++g) ab[g] = a + 3 * g * rsa;

#pragma GCC unroll 4
    for (int p = 0; p < kc; ++p) {
        const VEC b0 = FN(vload)(bp);
        const VEC b1 = nv == 2 ? FN(vload)(bp + VL) : zero;
#pragma GCC unroll 16
        for (int i = 0; i < rows; ++i) {
            const VEC ai = FN(vsplat)(ab[i / 3][(i % 3) * rsa]);
            acc[i][0] += ai * b0;
            if (nv == 2) acc[i][1] += ai * b1;
        }
#pragma GCC unroll 8
        for (int g = 0; g < (rows + 2) / 3; ++g) ab[g] += csa;
        bp += ldb;
    }

    /* Epilogue: everything below works on the accumulators. */
    const int full = (mr == rows) && (nr == nv * VL);
    T edge[FNN_MR * NR] __attribute__((aligned(64)));
    const VEC valpha = FN(vsplat)(ep->alpha);
    if (ep->load_c) {
        const VEC vbeta = FN(vsplat)(ep->beta);
        const T *src = c;
        ptrdiff_t lds = ldc;
        if (!full) { /* ragged tile: stage the valid part of C */
            memset(edge, 0, sizeof edge);
            for (int i = 0; i < mr; ++i)
                memcpy(edge + i * NR, c + i * ldc, (size_t)nr * sizeof(T));
            src = edge;
            lds = NR;
        }
#pragma GCC unroll 16
        for (int i = 0; i < rows; ++i) {
            acc[i][0] = valpha * acc[i][0] + vbeta * FN(vload)(src + i * lds);
            if (nv == 2) acc[i][1] = valpha * acc[i][1] + vbeta * FN(vload)(src + i * lds + VL);
        }
    } else if (ep->alpha != (T)1) {
#pragma GCC unroll 16
        for (int i = 0; i < rows; ++i) {
            acc[i][0] *= valpha;
            if (nv == 2) acc[i][1] *= valpha;
        }
    }
    if (ep->seen) { /* x - x is 0 for a finite x, NaN otherwise */
        VEC bad = zero;
#pragma GCC unroll 16
        for (int i = 0; i < rows; ++i) {
            bad += acc[i][0] - acc[i][0];
            if (nv == 2) bad += acc[i][1] - acc[i][1];
        }
        if (FN(vany_nan)(bad)) *ep->seen = 1;
    }
    if (ep->last) {
        if (bias) {
            VEC bb0, bb1;
            if (nr == nv * VL) {
                bb0 = FN(vload)(bias);
                bb1 = nv == 2 ? FN(vload)(bias + VL) : zero;
            } else {
                T pad[NR];
                for (int j = 0; j < NR; ++j) pad[j] = j < nr ? bias[j] : (T)0;
                bb0 = FN(vload)(pad);
                bb1 = FN(vload)(pad + VL);
            }
#pragma GCC unroll 16
            for (int i = 0; i < rows; ++i) {
                acc[i][0] += bb0;
                if (nv == 2) acc[i][1] += bb1;
            }
        }
        if (act != FNN_ACT_IDENTITY) {
            const VEC vslope = FN(vsplat)(ep->slope);
#pragma GCC unroll 16
            for (int i = 0; i < rows; ++i) {
                acc[i][0] = FN(vact)(acc[i][0], act, vslope);
                if (nv == 2) acc[i][1] = FN(vact)(acc[i][1], act, vslope);
            }
        }
    }
    if (full) {
#pragma GCC unroll 16
        for (int i = 0; i < rows; ++i) {
            FN(vstore)(c + i * ldc, acc[i][0]);
            if (nv == 2) FN(vstore)(c + i * ldc + VL, acc[i][1]);
        }
    } else {
#pragma GCC unroll 16
        for (int i = 0; i < rows; ++i) {
            FN(vstore)(edge + i * NR, acc[i][0]);
            if (nv == 2) FN(vstore)(edge + i * NR + VL, acc[i][1]);
        }
        for (int i = 0; i < mr; ++i)
            memcpy(c + i * ldc, edge + i * NR, (size_t)nr * sizeof(T));
    }
}

typedef void (*FN(ukernel_fn))(int kc, const T *a, ptrdiff_t rsa,
                               ptrdiff_t csa, const T *bp, ptrdiff_t ldb, T *c,
                               ptrdiff_t ldc, int mr, int nr, const T *bias,
                               const FN(epilogue) *ep);

/* Each activation's micro-kernel: the full tile inline, the narrower parts
 * out of line, so that the full tile's code is the same as if they did
 * not exist. */
#define FNN_DEFINE_UKERNEL(actname, actid)                                    \
    static FNN_NOINLINE void FN(ukernel_edge_##actname)(                      \
        int kc, const T *a, ptrdiff_t rsa, ptrdiff_t csa, const T *bp,        \
        ptrdiff_t ldb, T *c, ptrdiff_t ldc, int mr, int nr, const T *bias,    \
        const FN(epilogue) *ep)                                               \
    {                                                                         \
        const int nv = nr > VL ? 2 : 1;                                       \
        if (mr <= FNN_MR / 2 && nv == 2)                                      \
            FN(ukernel_body)(kc, a, rsa, csa, bp, ldb, c, ldc, mr, nr, bias,  \
                             ep, actid, FNN_MR / 2, 2);                       \
        else if (mr <= FNN_MR / 2)                                            \
            FN(ukernel_body)(kc, a, rsa, csa, bp, ldb, c, ldc, mr, nr, bias,  \
                             ep, actid, FNN_MR / 2, 1);                       \
        else if (mr <= FNN_MR_MID && nv == 2)                                 \
            FN(ukernel_body)(kc, a, rsa, csa, bp, ldb, c, ldc, mr, nr, bias,  \
                             ep, actid, FNN_MR_MID, 2);                       \
        else if (mr <= FNN_MR_MID)                                            \
            FN(ukernel_body)(kc, a, rsa, csa, bp, ldb, c, ldc, mr, nr, bias,  \
                             ep, actid, FNN_MR_MID, 1);                       \
        else                                                                  \
            FN(ukernel_body)(kc, a, rsa, csa, bp, ldb, c, ldc, mr, nr, bias,  \
                             ep, actid, FNN_MR, 1);                           \
    }                                                                         \
    static void FN(ukernel_##actname)(int kc, const T *a, ptrdiff_t rsa,      \
                                      ptrdiff_t csa, const T *bp,             \
                                      ptrdiff_t ldb, T *c,                    \
                                      ptrdiff_t ldc, int mr, int nr,          \
                                      const T *bias, const FN(epilogue) *ep)  \
    {                                                                         \
        if (nr <= VL || mr <= FNN_MR_MID) {                                   \
            FN(ukernel_edge_##actname)(kc, a, rsa, csa, bp, ldb, c, ldc, mr,  \
                                       nr, bias, ep);                         \
            return;                                                           \
        }                                                                     \
        FN(ukernel_body)(kc, a, rsa, csa, bp, ldb, c, ldc, mr, nr, bias, ep,  \
                         actid, FNN_MR, 2);                                   \
    }
FNN_DEFINE_UKERNEL(identity, FNN_ACT_IDENTITY)
FNN_DEFINE_UKERNEL(sigmoid, FNN_ACT_SIGMOID)
FNN_DEFINE_UKERNEL(tanh, FNN_ACT_TANH)
FNN_DEFINE_UKERNEL(relu, FNN_ACT_RELU)
FNN_DEFINE_UKERNEL(leaky_relu, FNN_ACT_LEAKY_RELU)
FNN_DEFINE_UKERNEL(softplus, FNN_ACT_SOFTPLUS)
#undef FNN_DEFINE_UKERNEL

static FN(ukernel_fn) FN(ukernel_for)(fnn_activation act)
{
    switch (act) {
    case FNN_ACT_SIGMOID: return FN(ukernel_sigmoid);
    case FNN_ACT_TANH: return FN(ukernel_tanh);
    case FNN_ACT_RELU: return FN(ukernel_relu);
    case FNN_ACT_LEAKY_RELU: return FN(ukernel_leaky_relu);
    case FNN_ACT_SOFTPLUS: return FN(ukernel_softplus);
    default: return FN(ukernel_identity);
    }
}

/* ---- packing ------------------------------------------------------------ */

/* A full sliver of B = W^T (its NR columns are rows of W, csb apart, each
 * contiguous): the leading kc rows that whole TB x TB blocks cover, as
 * in-register transposes of TB rows of W (TB = 8 floats or 4 doubles, one
 * 256-bit register each); returns how many rows of the sliver it filled.
 * Copying element by element cost as much as the arithmetic of a 16-row
 * product. */
static FNN_ALWAYS_INLINE int FN(pack_bt_full)(int kc, const T *w, ptrdiff_t ldw, T *restrict dst)
{
#if defined(__AVX__) && FNN_T_F32
    int p = 0;
    for (; p + 8 <= kc; p += 8)
        for (int g = 0; g < NR; g += 8) {
            __m256 r[8], t[8];
            for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(w + (g + i) * ldw + p);
            for (int i = 0; i < 8; i += 2) {
                t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
                t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
            }
            for (int i = 0; i < 8; i += 4) {
                r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
                r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
                r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
                r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
            }
            /* r[0..3]: rows 0-3 of W, columns {0,4}, {1,5}, {2,6}, {3,7} in
             * the two 128-bit halves; r[4..7] the same for rows 4-7. */
            for (int i = 0; i < 4; ++i) {
                _mm256_storeu_ps(dst + (p + i) * NR + g, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
                _mm256_storeu_ps(dst + (p + i + 4) * NR + g, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
            }
        }
    return p;
#elif defined(__AVX__)
    int p = 0;
    for (; p + 4 <= kc; p += 4)
        for (int g = 0; g < NR; g += 4) {
            __m256d r[4], t[4];
            for (int i = 0; i < 4; ++i) r[i] = _mm256_loadu_pd(w + (g + i) * ldw + p);
            t[0] = _mm256_unpacklo_pd(r[0], r[1]);
            t[1] = _mm256_unpackhi_pd(r[0], r[1]);
            t[2] = _mm256_unpacklo_pd(r[2], r[3]);
            t[3] = _mm256_unpackhi_pd(r[2], r[3]);
            _mm256_storeu_pd(dst + (p + 0) * NR + g, _mm256_permute2f128_pd(t[0], t[2], 0x20));
            _mm256_storeu_pd(dst + (p + 1) * NR + g, _mm256_permute2f128_pd(t[1], t[3], 0x20));
            _mm256_storeu_pd(dst + (p + 2) * NR + g, _mm256_permute2f128_pd(t[0], t[2], 0x31));
            _mm256_storeu_pd(dst + (p + 3) * NR + g, _mm256_permute2f128_pd(t[1], t[3], 0x31));
        }
    return p;
#else
    (void)kc, (void)w, (void)ldw, (void)dst;
    return 0;
#endif
}

/* B (kc x nc, element (p, j) at b[p*rsb + j*csb]) into NR-wide slivers:
 * sliver s holds columns s*NR.. as kc rows of NR, zero-padded. */
static void FN(pack_b)(int kc, int nc, const T *b, ptrdiff_t rsb,
                       ptrdiff_t csb, T *restrict bp)
{
    for (int j0 = 0; j0 < nc; j0 += NR) {
        const int nr = fnn_mini(NR, nc - j0);
        T *restrict dst = bp + (size_t)j0 * kc;
        if (csb == 1 && nr == NR) { /* rows of B are contiguous: two vectors a row
                                      * (a plain loop became a memmove call per row) */
            for (int p = 0; p < kc; ++p) {
                FN(vstore)(dst + p * NR, FN(vload)(b + p * rsb + j0));
                FN(vstore)(dst + p * NR + VL, FN(vload)(b + p * rsb + j0 + VL));
            }
        } else if (csb == 1) {
            for (int p = 0; p < kc; ++p) {
                const T *src = b + p * rsb + j0;
                for (int j = 0; j < nr; ++j) dst[p * NR + j] = src[j];
                for (int j = nr; j < NR; ++j) dst[p * NR + j] = (T)0;
            }
        } else { /* e.g. B = W^T: walk each column of B (a row of W) */
            int p = 0;
            if (rsb == 1 && nr == NR) p = FN(pack_bt_full)(kc, b + j0 * csb, csb, dst);
            for (int j = 0; j < nr; ++j) {
                const T *src = b + (j0 + j) * csb;
                for (int q = p; q < kc; ++q) dst[q * NR + j] = src[q * rsb];
            }
            for (int j = nr; j < NR; ++j)
                for (int q = 0; q < kc; ++q) dst[q * NR + j] = (T)0;
        }
    }
}

/* A ragged sliver of A (mr < MR rows, kc deep) into MR x kc, zero-padded,
 * element (i, p) at edge[p*MR + i]. */
static void FN(pack_a_edge)(int mr, int kc, const T *a, ptrdiff_t rsa,
                            ptrdiff_t csa, T *restrict edge)
{
    for (int p = 0; p < kc; ++p)
        for (int i = 0; i < FNN_MR; ++i)
            edge[p * FNN_MR + i] = i < mr ? a[i * rsa + p * csa] : (T)0;
}

/* ---- one thread's block of C -------------------------------------------- */

/* Work fused into the GEMM (adam_impl.h's update of W from dW), each call
 * on a rows x cols part of C at c: `before` on a tile, as its last K block
 * starts (to prefetch what `after` touches while the tile is computed),
 * `after` on a sliver's finished row of tiles (MR x NC), still in L1. */
typedef struct FN(tile_hook) {
    void (*before)(const struct FN(tile_hook) *h, const T *c, ptrdiff_t ldc, int rows, int cols);
    void (*after)(const struct FN(tile_hook) *h, T *c, ptrdiff_t ldc, int rows, int cols);
} FN(tile_hook);

static FNN_THREAD_LOCAL void *FN(scratch_buf);
static FNN_THREAD_LOCAL size_t FN(scratch_cap);

static fnn_status FN(gemm_block)(int m, int n, int k, T alpha, const T *a,
                                 ptrdiff_t rsa, ptrdiff_t csa, const T *b,
                                 ptrdiff_t rsb, ptrdiff_t csb, T beta, T *c,
                                 ptrdiff_t ldc, const T *bias,
                                 fnn_activation act, T slope, const FN(tile_hook) *hook)
{
    if (m <= 0 || n <= 0) return FNN_OK;
    int seen = 0;
    const int check = (int)act & FNN_ACT_CHECK_FINITE;
    act = (fnn_activation)((int)act & ~FNN_ACT_CHECK_FINITE);
    /* KC and NC from the CPU's row of cpu.c's table: a K x NC panel of
     * packed B (in KC blocks) stays in L2 while every MR-row sliver of A
     * (KC deep, read where it lies) runs across it. */
    const fnn_config *cfg = fnn_kernel_config();
    const int nkb = k > 0 ? (k + cfg->kc - 1) / cfg->kc : 1;
    const int kcmax = k > 0 ? (k + nkb - 1) / nkb : 0;
    const long kall = (long)nkb * kcmax;
    const int nc_max = fnn_maxi(NR, (int)((long)cfg->panel_kb * 1024 / (fnn_maxi(1, (int)kall) * (long)sizeof(T))) / NR * NR);
    const int ncmax = fnn_mini(nc_max, (n + NR - 1) / NR * NR);
    const size_t bp_len = (size_t)kall * ncmax;
    const size_t edge_len = (size_t)kcmax * FNN_MR;
    T *bp = (T *)fnn_scratch((bp_len + edge_len + 16) * sizeof(T),
                             &FN(scratch_buf), &FN(scratch_cap));
    if (!bp) return FNN_ERR_NOMEM;
    T *edge = bp + bp_len;
    const FN(ukernel_fn) uk = FN(ukernel_for)(act);
    const int c_for_write = fnn_cpu_info()->prefetchw;
    /* With a single sliver of rows every element of B is used once:
     * packing it would only copy it.  Read B where it lies when its
     * rows are contiguous (only a ragged last sliver is packed), and with
     * up to the CPU's direct_b_slivers slivers (cpu.c), where reading B a
     * few times from L2 costs less than packing it.  The sums are the
     * same either way: only where the micro-kernel reads B changes. */
    const int direct_b = m <= cfg->direct_b_slivers * FNN_MR && csb == 1;

    for (int jc = 0; jc < n; jc += nc_max) {
        const int nc = fnn_mini(nc_max, n - jc);
        /* All of K for these columns, block by block: block kb (kc x nc,
         * nc padded to whole slivers) at bp + kb * kcmax * ncp. */
        const size_t ncp = (size_t)(nc + NR - 1) / NR * NR;
        if (!direct_b)
            for (int kb = 0; kb < nkb; ++kb) {
                const int p0 = kb * kcmax;
                const int kc = fnn_maxi(0, fnn_mini(kcmax, k - p0));
                FN(pack_b)(kc, nc, b + p0 * rsb + jc * csb, rsb, csb, bp + (size_t)kb * kcmax * ncp);
            }
        for (int ir = 0; ir < m; ir += FNN_MR) {
            const int mr = fnn_mini(FNN_MR, m - ir);
            /* The k blocks of one sliver of rows in turn: its MR x NC tile
             * row of C stays in L1 between them. */
            for (int kb = 0; kb < nkb; ++kb) {
                const int p0 = kb * kcmax;
                const int kc = fnn_maxi(0, fnn_mini(kcmax, k - p0));
                FN(epilogue) ep;
                ep.alpha = alpha;
                ep.beta = kb == 0 ? beta : (T)1;
                ep.slope = slope;
                ep.load_c = kb > 0 || beta != (T)0;
                ep.c_for_write = c_for_write;
                ep.last = kb == nkb - 1;
                ep.seen = check && ep.last ? &seen : NULL;
                const T *ai = a + ir * rsa + p0 * csa;
                ptrdiff_t rs = rsa, cs = csa;
                if (mr < FNN_MR) {
                    FN(pack_a_edge)(mr, kc, ai, rsa, csa, edge);
                    ai = edge;
                    rs = 1;
                    cs = FNN_MR;
                }
                const T *bk = bp + (size_t)kb * kcmax * ncp;
                for (int jr = 0; jr < nc; jr += NR) {
                    const int nr = fnn_mini(NR, nc - jr);
                    const T *bs = bk + (size_t)jr * kc;
                    ptrdiff_t ldb = NR;
                    if (direct_b && nr == NR) {
                        bs = b + p0 * rsb + jc + jr;
                        ldb = rsb;
                    } else if (direct_b) {
                        FN(pack_b)(kc, nr, b + p0 * rsb + jc + jr, rsb, 1, bp);
                        bs = bp;
                    }
                    T *ct = c + ir * ldc + jc + jr;
                    if (hook && ep.last) hook->before(hook, ct, ldc, mr, nr);
                    uk(kc, ai, rs, cs, bs, ldb, ct, ldc, mr, nr, bias ? bias + jc + jr : NULL, &ep);
                }
                if (hook && ep.last) hook->after(hook, c + ir * ldc + jc, ldc, mr, nc);
            }
        }
    }
    return seen ? FNN_ERR_NONFINITE : FNN_OK;
}

/* ---- small batches: dot products, no packing -----------------------------
 * With a handful of rows in A (batch-1 inference, say) packing B costs more
 * than the product itself.  When A's rows and B's columns are contiguous
 * along k (C = X W^T: the forward pass), each output is a dot product of
 * two contiguous vectors: read them straight from memory, ROWS rows x 4
 * columns at a time, and finish with the same bias and vector activation. */

/* s[q] = the sum of v[q]'s lanes, for four vectors at once.  On AVX2 and
 * AVX-512 the lanes are added by halving (upper half of every partial sum
 * onto its lower half: log2 VL dependent adds, the tree of
 * _mm512_reduce_add_ps), the four vectors' halves sharing registers, so
 * a group of 4 outputs costs a few shuffles and adds: where a dot product
 * is a few vectors long (k = 64 or 128), a horizontal sum per output
 * costs as much as its multiply-adds.  The 16-byte paths add in order. */
static FNN_ALWAYS_INLINE void FN(vsum4)(const VEC v[4], T s[4])
{
#if FNN_VBYTES == 64 && FNN_T_F32
    /* 512 -> 256 bits: 128-bit lanes (l0 + l2, l1 + l3) of v0, then of v1 */
    const __m512 h01 = _mm512_add_ps(_mm512_shuffle_f32x4((__m512)v[0], (__m512)v[1], 0x44),
                                     _mm512_shuffle_f32x4((__m512)v[0], (__m512)v[1], 0xEE));
    const __m512 h23 = _mm512_add_ps(_mm512_shuffle_f32x4((__m512)v[2], (__m512)v[3], 0x44),
                                     _mm512_shuffle_f32x4((__m512)v[2], (__m512)v[3], 0xEE));
    /* 256 -> 128: lane q holds v[q]'s four partial sums e0..e3 */
    __m512 t = _mm512_add_ps(_mm512_shuffle_f32x4(h01, h23, 0x88), _mm512_shuffle_f32x4(h01, h23, 0xDD));
    t = _mm512_add_ps(t, _mm512_permute_ps(t, 0x4E)); /* e0 + e2, e1 + e3 */
    t = _mm512_add_ps(t, _mm512_permute_ps(t, 0xB1)); /* (e0 + e2) + (e1 + e3) */
    _mm_storeu_ps(s, _mm512_castps512_ps128(
                         _mm512_permutexvar_ps(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0), t)));
#elif FNN_VBYTES == 64
    const __m512d h01 = _mm512_add_pd(_mm512_shuffle_f64x2((__m512d)v[0], (__m512d)v[1], 0x44),
                                      _mm512_shuffle_f64x2((__m512d)v[0], (__m512d)v[1], 0xEE));
    const __m512d h23 = _mm512_add_pd(_mm512_shuffle_f64x2((__m512d)v[2], (__m512d)v[3], 0x44),
                                      _mm512_shuffle_f64x2((__m512d)v[2], (__m512d)v[3], 0xEE));
    __m512d t = _mm512_add_pd(_mm512_shuffle_f64x2(h01, h23, 0x88), _mm512_shuffle_f64x2(h01, h23, 0xDD));
    t = _mm512_add_pd(t, _mm512_permute_pd(t, 0x55)); /* e0 + e1 */
    _mm256_storeu_pd(s, _mm512_castpd512_pd256(_mm512_permutexvar_pd(_mm512_set_epi64(0, 0, 0, 0, 6, 4, 2, 0), t)));
#elif FNN_VBYTES == 32 && FNN_T_F32
    /* 256 -> 128: 128-bit lane 0 holds v0's (or v2's) partial sums, lane 1 v1's (v3's) */
    const __m256 h01 = _mm256_add_ps(_mm256_permute2f128_ps((__m256)v[0], (__m256)v[1], 0x20),
                                     _mm256_permute2f128_ps((__m256)v[0], (__m256)v[1], 0x31));
    const __m256 h23 = _mm256_add_ps(_mm256_permute2f128_ps((__m256)v[2], (__m256)v[3], 0x20),
                                     _mm256_permute2f128_ps((__m256)v[2], (__m256)v[3], 0x31));
    __m256 u01 = _mm256_add_ps(h01, _mm256_permute_ps(h01, 0x4E));
    __m256 u23 = _mm256_add_ps(h23, _mm256_permute_ps(h23, 0x4E));
    u01 = _mm256_add_ps(u01, _mm256_permute_ps(u01, 0xB1));
    u23 = _mm256_add_ps(u23, _mm256_permute_ps(u23, 0xB1));
    /* elements 0 and 4 of each: (v0, v0, v2, v2 | v1, v1, v3, v3) */
    const __m256 r = _mm256_shuffle_ps(u01, u23, 0x00);
    s[0] = r[0];
    s[1] = r[4];
    s[2] = r[2];
    s[3] = r[6];
#elif FNN_VBYTES == 32
    const __m256d h01 = _mm256_add_pd(_mm256_permute2f128_pd((__m256d)v[0], (__m256d)v[1], 0x20),
                                      _mm256_permute2f128_pd((__m256d)v[0], (__m256d)v[1], 0x31));
    const __m256d h23 = _mm256_add_pd(_mm256_permute2f128_pd((__m256d)v[2], (__m256d)v[3], 0x20),
                                      _mm256_permute2f128_pd((__m256d)v[2], (__m256d)v[3], 0x31));
    /* (v0 + swapped, v1 + swapped) then elements 0 and 2 */
    const __m256d r = _mm256_unpacklo_pd(_mm256_add_pd(h01, _mm256_permute_pd(h01, 0x5)),
                                         _mm256_add_pd(h23, _mm256_permute_pd(h23, 0x5)));
    s[0] = r[0];
    s[1] = r[2];
    s[2] = r[1];
    s[3] = r[3];
#else
    for (int q = 0; q < 4; ++q) {
        T sum = (T)0;
        for (int l = 0; l < VL; ++l) sum += v[q][l];
        s[q] = sum;
    }
#endif
}

/* Up to the CPU's small_m rows (cpu.c) take this path, in blocks of at
 * most FNN_SMALL_ROWS rows (B is read once per block).  A block keeps
 * ROWS x 4 accumulators, ROWS vectors of A and one of B in registers: 5
 * rows fill 26 of AVX-512's 32, and with 16 vector registers (AVX2, SSE2,
 * NEON's first 16) 3 rows fill them exactly, where 4 would spill two
 * accumulators to the stack and reload B for every row.  A short last
 * block loads B as often as a full one for fewer multiply-adds, so the
 * rows are shared out as small_m_block says. */
#if FNN_VBYTES == 64
#define FNN_SMALL_ROWS 5
#else
#define FNN_SMALL_ROWS 3
#endif

static FNN_ALWAYS_INLINE void FN(small_m_body)(int m, int n, int k, T alpha,
                                               const T *a, ptrdiff_t rsa,
                                               const T *b, ptrdiff_t csb,
                                               T beta, T *c, ptrdiff_t ldc,
                                               const T *bias, int *seen, const int rows)
{
    const VEC zero = FN(vsplat)((T)0);
    const T *ai[FNN_SMALL_ROWS];
    for (int r = 0; r < rows; ++r) ai[r] = a + fnn_mini(r, m - 1) * rsa;
    for (int j = 0; j < n; j += 4) {
        const int nj = fnn_mini(4, n - j);
        const T *bj[4];
        for (int q = 0; q < 4; ++q) bj[q] = b + (ptrdiff_t)(j + fnn_mini(q, nj - 1)) * csb;
        VEC acc[FNN_SMALL_ROWS][4];
        for (int r = 0; r < rows; ++r)
            for (int q = 0; q < 4; ++q) acc[r][q] = zero;
        int p = 0;
        for (; p + VL <= k; p += VL) {
            VEC av[FNN_SMALL_ROWS];
            for (int r = 0; r < rows; ++r) av[r] = FN(vload)(ai[r] + p);
            for (int q = 0; q < 4; ++q) {
                const VEC bv = FN(vload)(bj[q] + p);
                for (int r = 0; r < rows; ++r) acc[r][q] += av[r] * bv;
            }
        }
        /* unrolled, so that acc[r] stays in registers (indexed by a
         * run-time r, it went to the stack and was read back per row) */
#pragma GCC unroll 8
        for (int r = 0; r < rows && r < m; ++r) {
            T sums[4];
            FN(vsum4)(acc[r], sums);
            if (nj == 4 && p == k) { /* a whole group: the epilogue 4 wide, the same
                                        * operations in the same order per output */
                T z[4];
                for (int q = 0; q < 4; ++q) z[q] = alpha * sums[q];
                if (beta != (T)0)
                    for (int q = 0; q < 4; ++q) z[q] += beta * c[r * ldc + j + q];
                if (seen) /* x - x is 0 for a finite x, NaN otherwise */
                    for (int q = 0; q < 4; ++q) *seen |= z[q] - z[q] != (T)0;
                if (bias)
                    for (int q = 0; q < 4; ++q) z[q] += bias[j + q];
                for (int q = 0; q < 4; ++q) c[r * ldc + j + q] = z[q];
                continue;
            }
            for (int q = 0; q < nj; ++q) {
                T sum = sums[q];
                for (int pp = p; pp < k; ++pp) sum += ai[r][pp] * bj[q][pp];
                T z = alpha * sum;
                if (beta != (T)0) z += beta * c[r * ldc + j + q];
                if (seen) *seen |= z - z != (T)0;
                if (bias) z += bias[j + q];
                c[r * ldc + j + q] = z;
            }
        }
    }
}

/* The blocks of m rows: with 5-row code, shared out evenly over
 * ceil(m / 5) blocks where that leaves none under 4 rows (10 rows as
 * 5 + 5, 13 as 4 + 4 + 5); otherwise, and with 3-row code, blocks of 4
 * (or 3) and a shorter last one (6 rows as 4 + 2, which measured faster
 * than 3 + 3).  Returns the number of blocks; block b is rows [r0, r1). */
static FNN_ALWAYS_INLINE int FN(small_m_block)(int m, int b, int *r0, int *r1)
{
    const int step = FNN_SMALL_ROWS > 4 ? 4 : FNN_SMALL_ROWS;
    const int nb = (m + FNN_SMALL_ROWS - 1) / FNN_SMALL_ROWS;
    if (FNN_SMALL_ROWS > 4 && m / nb >= 4) {
        *r0 = m * b / nb;
        *r1 = m * (b + 1) / nb;
        return nb;
    }
    *r0 = b * step;
    *r1 = fnn_mini(m, *r0 + step);
    return (m + step - 1) / step;
}

/* small_m_body for a block of mr <= FNN_SMALL_ROWS rows, with the row count
 * a compile-time constant in each branch (seen: as the epilogue's). */
static void FN(small_m_rows)(int mr, int n, int k, T alpha, const T *a, ptrdiff_t rsa, const T *b,
                             ptrdiff_t csb, T beta, T *c, ptrdiff_t ldc, const T *bias, int *seen)
{
    switch (mr) {
    case 1: FN(small_m_body)(mr, n, k, alpha, a, rsa, b, csb, beta, c, ldc, bias, seen, 1); break;
    case 2: FN(small_m_body)(mr, n, k, alpha, a, rsa, b, csb, beta, c, ldc, bias, seen, 2); break;
#if FNN_SMALL_ROWS > 3
    case 3: /* (the 4-row code on a repeated last row, as before 5-row blocks) */
    case 4: FN(small_m_body)(mr, n, k, alpha, a, rsa, b, csb, beta, c, ldc, bias, seen, 4); break;
#endif
    default: FN(small_m_body)(mr, n, k, alpha, a, rsa, b, csb, beta, c, ldc, bias, seen, FNN_SMALL_ROWS); break;
    }
}

/* Whether m rows of depth k take dot products: at most the CPU's small_m
 * rows, and k at least its dot_k_per_row times the rows (cpu.c).  The
 * GEMM and the small-batch network forward both ask this. */
static FNN_ALWAYS_INLINE int FN(dot_products_pay)(int m, int k)
{
    const fnn_config *cfg = fnn_kernel_config();
    return m <= cfg->small_m && k > 0 && (long)k >= (long)cfg->dot_k_per_row * m;
}

/* A product narrower than the micro-tile (n < NR: a classifier's 10
 * outputs) would leave most of every tile's lanes idle; dot products over
 * blocks of rows fill theirs (B's few rows stay in L1), once K is long
 * enough to pay for each output's horizontal sum.  Each output is the same
 * sum whatever the rows around it, so the rows split freely.  Up to
 * FNN_NARROW_MAX_ROWS rows: with A streaming from memory (10,000 rows of
 * 512) the packed path was the faster (docs/performance.md); the network
 * forward's chunks and the training step's halves are within it. */
#define FNN_NARROW_MAX_ROWS 4096
#define FNN_NARROW_MIN_K 256 /* (K = 128 measured level with the packed path) */
static FNN_ALWAYS_INLINE int FN(gemm_narrow)(int m, int n, int k)
{
    return m > 0 && m <= FNN_NARROW_MAX_ROWS && n < NR && k >= FNN_NARROW_MIN_K;
}

/* Columns of B per chunk: as many as fill half the packed GEMM's panel
 * budget (panel_kb, cpu.c: half the L2 unless the CPU's row says
 * otherwise), at least one group of 4.  Every block of rows reads the
 * chunk, so a B larger than the L2 (a narrow layer's transposed product
 * reads all of X here) comes from memory once, not once per block. */
static int FN(small_m_chunk)(int n, int k)
{
    const long budget = (long)fnn_kernel_config()->panel_kb * 1024 / 2;
    const long cols = budget / ((long)fnn_maxi(k, 1) * (long)sizeof(T)) / 4 * 4;
    return cols < 4 ? 4 : (cols > n ? n : (int)cols);
}

static fnn_status FN(gemm_small_m)(int m, int n, int k, T alpha, const T *a,
                                   ptrdiff_t rsa, const T *b, ptrdiff_t csb, T beta,
                                   T *c, ptrdiff_t ldc, const T *bias,
                                   fnn_activation act, T slope)
{
    int seen = 0;
    int *check = (int)act & FNN_ACT_CHECK_FINITE ? &seen : NULL;
    act = (fnn_activation)((int)act & ~FNN_ACT_CHECK_FINITE);
    const int chunk = FN(small_m_chunk)(n, k);
    for (int j0 = 0; j0 < n; j0 += chunk) {
        const int nj = fnn_mini(chunk, n - j0);
        const T *bj = b + (ptrdiff_t)j0 * csb, *biasj = bias ? bias + j0 : NULL;
        for (int blk = 0, r0 = 0, r1 = 0; blk < FN(small_m_block)(m, blk, &r0, &r1); ++blk) {
            FN(small_m_rows)(r1 - r0, nj, k, alpha, a + r0 * rsa, rsa, bj, csb, beta, c + r0 * ldc + j0, ldc,
                             biasj, check);
        }
    }
    if (act != FNN_ACT_IDENTITY)
        for (int r = 0; r < m; ++r) FN(activation)(c + r * ldc, (size_t)n, act, slope);
    return seen ? FNN_ERR_NONFINITE : FNN_OK;
}

/* ---- a small batch through a whole network ------------------------------
 * Batch-1 inference costs a few microseconds of arithmetic but a dispatch
 * and a call per layer around it.  Here one C call runs every layer, as
 * one staged job (fnn_parallel_stages, threads.c): stage l is layer l, its
 * task t a slice of the layer's output columns (whole groups of 4, the
 * dot-product path's unit) computed from the previous layer's full output,
 * activation included; a stage ends when all its tasks have, the barrier
 * before the next layer.  A thread takes its own task index first, so the
 * same thread keeps reading the same rows of every W from call to call,
 * and they stay in its core's cache.  A layer whose rows and K do not pay
 * for dot products (dot_products_pay, as for the GEMM) runs the packed
 * GEMM on the task's columns instead: its sums do not depend on where a
 * column falls, so neither path's results depend on the thread count. */
typedef struct {
    int m;
    const T *x;
    const FNN_CAT(fnn_dense_layer_, SFX) *layers;
    fnn_status status[FNN_MAX_THREADS];
} FN(small_net_job);

static void FN(network_small_stage)(void *ctx, int l, int task, int n_tasks)
{
    FN(small_net_job) *job = (FN(small_net_job) *)ctx;
    const FNN_CAT(fnn_dense_layer_, SFX) *L = &job->layers[l];
    const T *in = l ? job->layers[l - 1].a : job->x;
    const int m = job->m, n = L->out_features, k = L->in_features;
    const int groups = (n + 3) / 4;
    const int j0 = fnn_mini(n, (int)((long)groups * task / n_tasks) * 4);
    const int j1 = fnn_mini(n, (int)((long)groups * (task + 1) / n_tasks) * 4);
    if (j1 <= j0) return;
    const T *w = L->w + (ptrdiff_t)j0 * k;
    const T *b = L->b ? L->b + j0 : NULL;
    if (!FN(dot_products_pay)(m, k) && !FN(gemm_narrow)(m, n, k)) { /* (as the GEMM decides) */
        const fnn_status st = FN(gemm_block)(m, j1 - j0, k, (T)1, in, k, 1, w, 1, k, (T)0, L->a + j0, n, b,
                                             L->act, L->slope, NULL);
        if (st != FNN_OK) job->status[task] = st; /* (the later layers run on; the call reports it) */
        return;
    }
    for (int blk = 0, r0 = 0, r1 = 0; blk < FN(small_m_block)(m, blk, &r0, &r1); ++blk) {
        FN(small_m_rows)(r1 - r0, j1 - j0, k, (T)1, in + (ptrdiff_t)r0 * k, k, w, k, (T)0,
                         L->a + (ptrdiff_t)r0 * n + j0, n, b, NULL);
    }
    if (L->act != FNN_ACT_IDENTITY)
        for (int r = 0; r < m; ++r)
            FN(activation)(L->a + (ptrdiff_t)r * n + j0, (size_t)(j1 - j0), L->act, L->slope);
}

static fnn_status FN(network_small)(int m, const T *x, int n_layers,
                                    const FNN_CAT(fnn_dense_layer_, SFX) *layers,
                                    int nt)
{
    if (nt > FNN_MAX_THREADS) nt = FNN_MAX_THREADS;
    FN(small_net_job) job = {m, x, layers, {FNN_OK}};
    double work = 0.0;
    for (int l = 0; l < n_layers; ++l) work += (double)m * layers[l].in_features * layers[l].out_features;
    fnn_parallel_stages(nt, n_layers, work, FN(network_small_stage), &job);
    for (int t = 0; t < nt; ++t)
        if (job.status[t] != FNN_OK) return job.status[t];
    return FNN_OK;
}

/* ---- the threaded GEMM ------------------------------------------------- */

typedef struct {
    int m, n, k;
    T alpha, beta, slope;
    const T *a, *b, *bias;
    ptrdiff_t rsa, csa, rsb, csb, ldc;
    T *c;
    fnn_activation act;
    int tm, tn; /* the packed path's grid of blocks: task = im * tn + in */
    fnn_status status[FNN_MAX_THREADS];
} FN(gemm_job);

/* Few rows: a slice of columns (whole groups of 4); each output is its own
 * dot product, so the results do not depend on the split. */
static void FN(gemm_small_m_task)(void *ctx, int task, int n_tasks)
{
    FN(gemm_job) *g = (FN(gemm_job) *)ctx;
    const int groups = (g->n + 3) / 4;
    const int j0 = fnn_mini(g->n, (int)((long)groups * task / n_tasks) * 4);
    const int j1 = fnn_mini(g->n, (int)((long)groups * (task + 1) / n_tasks) * 4);
    if (j1 > j0)
        g->status[task] = FN(gemm_small_m)(g->m, j1 - j0, g->k, g->alpha, g->a, g->rsa,
                                           g->b + (ptrdiff_t)j0 * g->csb, g->csb, g->beta, g->c + j0, g->ldc,
                                           g->bias ? g->bias + j0 : NULL, g->act, g->slope);
}

/* One block of the tm x tn grid of C, in whole register tiles (the results
 * do not depend on the partition). */
static void FN(gemm_block_task)(void *ctx, int task, int n_tasks)
{
    FN(gemm_job) *g = (FN(gemm_job) *)ctx;
    (void)n_tasks;
    const int tiles_m = (g->m + FNN_MR - 1) / FNN_MR, tiles_n = (g->n + NR - 1) / NR;
    const int im = task / g->tn, in = task % g->tn;
    const int m0 = (int)((long)tiles_m * im / g->tm) * FNN_MR;
    const int m1 = fnn_mini(g->m, (int)((long)tiles_m * (im + 1) / g->tm) * FNN_MR);
    const int n0 = (int)((long)tiles_n * in / g->tn) * NR;
    const int n1 = fnn_mini(g->n, (int)((long)tiles_n * (in + 1) / g->tn) * NR);
    g->status[task] = FN(gemm_block)(m1 - m0, n1 - n0, g->k, g->alpha, g->a + m0 * g->rsa, g->rsa, g->csa,
                                     g->b + n0 * g->csb, g->rsb, g->csb, g->beta, g->c + m0 * g->ldc + n0,
                                     g->ldc, g->bias ? g->bias + n0 : NULL, g->act, g->slope, NULL);
}

/* Rows [r0, r1) of a narrow product by dot products (gemm_narrow). */
static void FN(gemm_rows_dot_task)(void *ctx, int task, int n_tasks)
{
    FN(gemm_job) *g = (FN(gemm_job) *)ctx;
    size_t lo, hi;
    fnn_task_part((size_t)g->m, task, n_tasks, &lo, &hi);
    if (hi > lo)
        g->status[task] = FN(gemm_small_m)((int)(hi - lo), g->n, g->k, g->alpha, g->a + (ptrdiff_t)lo * g->rsa,
                                           g->rsa, g->b, g->csb, g->beta, g->c + (ptrdiff_t)lo * g->ldc, g->ldc,
                                           g->bias, g->act, g->slope);
}

/* Whether a product of this shape, with A's rows and B's columns
 * contiguous along k, runs the packed micro-kernel: neither dot-product
 * path below takes it.  Two shapes for which this holds compute each
 * element as the same sum in the same order, whichever operand is which
 * (ops_impl.h's transposed forward relies on it). */
static int FN(gemm_packed)(int m, int n, int k)
{
    return !FN(dot_products_pay)(m, k) && !FN(gemm_narrow)(m, n, k);
}

static fnn_status FN(gemm)(int m, int n, int k, T alpha, const T *a,
                           ptrdiff_t rsa, ptrdiff_t csa, const T *b,
                           ptrdiff_t rsb, ptrdiff_t csb, T beta, T *c,
                           ptrdiff_t ldc, const T *bias, fnn_activation act,
                           T slope, int max_threads, int *threads_used)
{
    *threads_used = 1;
    if (m <= 0 || n <= 0) return FNN_OK;
    if (max_threads > FNN_MAX_THREADS) max_threads = FNN_MAX_THREADS;
    FN(gemm_job) job = {m, n, k, alpha, beta, slope, a, b, bias, rsa, csa, rsb, csb, ldc, c, act, 1, 1, {FNN_OK}};
    const double min_work = fnn_kernel_config()->gemm_min_work;
    const double work = (double)m * n * (k > 0 ? k : 1);
    int nt = max_threads;
    if (work / min_work < nt)
        nt = fnn_maxi(1, (int)(work / min_work));
    /* Dot products: few rows (threads split the columns) or a narrow
     * product (threads split the rows); else the packed GEMM's grid. */
    const int dots = csa == 1 && rsb == 1 && FN(dot_products_pay)(m, k);
    const int narrow = csa == 1 && rsb == 1 && !dots && FN(gemm_narrow)(m, n, k);
    fnn_task_fn task = FN(gemm_block_task);
    if (dots)
        task = FN(gemm_small_m_task);
    else if (narrow) {
        task = FN(gemm_rows_dot_task);
        nt = fnn_mini(nt, m);
    } else if (nt > 1) {
        fnn_thread_grid((m + FNN_MR - 1) / FNN_MR, (n + NR - 1) / NR, nt, &job.tm, &job.tn);
        nt = job.tm * job.tn;
    }
    fnn_parallel(nt, work, task, &job);
    *threads_used = nt;
    for (int t = 0; t < nt; ++t)
        if (job.status[t] != FNN_OK) return job.status[t];
    return FNN_OK;
}

#undef FN
#undef NR
#undef FNN_MR_MID
#undef IS_F32
#undef FNN_OP_EXP
#undef FNN_SMALL_ROWS
