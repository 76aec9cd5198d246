/*
 * gemm_isa.c -- the GEMM, the vectorised activations and the Adam update
 * for ONE SIMD path.
 *
 * CMake compiles this file once per path with that path's compiler flags
 * (e.g. -mavx512f for "avx512") and FNN_ISA set to the path's name; the
 * run-time dispatcher in runtime.c picks the table of the best path the CPU
 * supports.  The code is written once with GCC/Clang vector extensions, so
 * the same source becomes AVX-512, AVX2+FMA, SSE2 or NEON code.
 *
 * The dtype-generic bodies live in gemm_impl.h and adam_impl.h (the Adam
 * update), each included once for float and once for double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fnn_internal.h"

#if defined(__SSE2__)
/* horizontal sums and the clamp's max/min only; the rest is vector
 * extensions */
#include <immintrin.h>
#endif

#ifndef FNN_ISA
#error "FNN_ISA must name the SIMD path (generic, avx2, avx512)"
#endif

#define FNN_ISA_generic 1
#define FNN_ISA_avx2 2
#define FNN_ISA_avx512 3
#define FNN_ISA_ID FNN_CAT(FNN_ISA_, FNN_ISA)

/* Vector width in bytes for this path: 64 (AVX-512), 32 (AVX2) or 16 (SSE2
 * or NEON, the portable baseline). */
#if FNN_ISA_ID == FNN_ISA_avx512
#define FNN_VBYTES 64
#define FNN_MR 12 /* 12 x 2 accumulators + 2 B vectors of the 32 zmm */
#elif FNN_ISA_ID == FNN_ISA_avx2
#define FNN_VBYTES 32
#define FNN_MR 6 /* 6 x 2 accumulators + 2 B vectors + 1 broadcast = 15 ymm */
#else
#define FNN_VBYTES 16
#define FNN_MR 6
#endif

static int fnn_mini(int a, int b) { return a < b ? a : b; }
static int fnn_maxi(int a, int b) { return a > b ? a : b; }

/* Choose a tm x tn grid of threads over the output's micro-tiles, using at
 * most nt threads, so that the largest share of tiles is smallest.  Ties go
 * to splitting rows (each thread then packs B for its columns only). */
static void fnn_thread_grid(int tiles_m, int tiles_n, int nt, int *tm_out,
                            int *tn_out)
{
    int best_tm = 1, best_tn = 1, best_t = 1;
    long long best_cost = (long long)tiles_m * tiles_n;
    /* Thread counts from nt down to nt - 32 only (all of them up to 34
     * threads), and each one's divisors in O(sqrt t): on a many-core
     * machine a search over every t and every tm would cost more than a
     * small GEMM. */
    const int t_lo = nt > 34 ? nt - 32 : 2;
    for (int t = t_lo; t <= nt; ++t) {
        for (int d = 1; d * d <= t; ++d) {
            if (t % d) continue;
            for (int pick = 0; pick < 2; ++pick) {
                const int tm = pick ? d : t / d, tn = t / tm;
                if (tm > tiles_m || tn > tiles_n) continue;
                const long long cost = (long long)((tiles_m + tm - 1) / tm) * ((tiles_n + tn - 1) / tn);
                /* fewer threads win ties; within one count, more row splits */
                if (cost < best_cost || (cost == best_cost && t == best_t && tm > best_tm)) {
                    best_cost = cost;
                    best_tm = tm;
                    best_tn = tn;
                    best_t = t;
                }
            }
        }
    }
    *tm_out = best_tm;
    *tn_out = best_tn;
}

/* A per-thread scratch buffer that only grows: no allocation per call once
 * the largest layer has been seen.  Each pool worker (and each calling
 * Python thread) has its own, so concurrent calls never share one. */
static void *fnn_scratch(size_t bytes, void **buf, size_t *cap)
{
    if (bytes <= *cap) return *buf;
    void *p = NULL;
#if defined(_MSC_VER)
    p = _aligned_malloc(bytes, 64);
    if (!p) return NULL;
    if (*buf) _aligned_free(*buf);
#else
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    free(*buf);
#endif
    *buf = p;
    *cap = bytes;
    return p;
}

/* ---- float ------------------------------------------------------------- */
#define T float
#define SFX f32
#define VL (FNN_VBYTES / 4)
typedef float fnn_vf32 __attribute__((vector_size(FNN_VBYTES)));
typedef int32_t fnn_vi32 __attribute__((vector_size(FNN_VBYTES)));
#define VEC fnn_vf32
#define IVEC fnn_vi32
#define ITYPE int32_t
#define FNN_T_F32 1
#include "gemm_impl.h"
#include "adam_impl.h"
#undef T
#undef SFX
#undef VL
#undef VEC
#undef IVEC
#undef ITYPE
#undef FNN_T_F32

/* ---- double ------------------------------------------------------------ */
#define T double
#define SFX f64
#define VL (FNN_VBYTES / 8)
typedef double fnn_vf64 __attribute__((vector_size(FNN_VBYTES)));
typedef int64_t fnn_vi64 __attribute__((vector_size(FNN_VBYTES)));
#define VEC fnn_vf64
#define IVEC fnn_vi64
#define ITYPE int64_t
#define FNN_T_F32 0
#include "gemm_impl.h"
#include "adam_impl.h"
#undef T
#undef SFX
#undef VL
#undef VEC
#undef IVEC
#undef ITYPE
#undef FNN_T_F32

static const fnn_kernel_table fnn_table = {
    .name = FNN_STR(FNN_ISA),
    .mr_f32 = FNN_MR,
    .nr_f32 = 2 * (FNN_VBYTES / 4),
    .mr_f64 = FNN_MR,
    .nr_f64 = 2 * (FNN_VBYTES / 8),
    .gemm_f32 = FNN_CAT(gemm_f32_, FNN_ISA),
    .gemm_f64 = FNN_CAT(gemm_f64_, FNN_ISA),
    .activation_f32 = FNN_CAT(activation_f32_, FNN_ISA),
    .activation_f64 = FNN_CAT(activation_f64_, FNN_ISA),
    .exp_f32 = FNN_CAT(exp_array_f32_, FNN_ISA),
    .exp_f64 = FNN_CAT(exp_array_f64_, FNN_ISA),
    .gemm_packed_f32 = FNN_CAT(gemm_packed_f32_, FNN_ISA),
    .gemm_packed_f64 = FNN_CAT(gemm_packed_f64_, FNN_ISA),
    .network_small_f32 = FNN_CAT(network_small_f32_, FNN_ISA),
    .network_small_f64 = FNN_CAT(network_small_f64_, FNN_ISA),
    .adam_f32 = FNN_CAT(adam_f32_, FNN_ISA),
    .adam_f64 = FNN_CAT(adam_f64_, FNN_ISA),
    .gemm_adam_f32 = FNN_CAT(gemm_adam_f32_, FNN_ISA),
    .gemm_adam_f64 = FNN_CAT(gemm_adam_f64_, FNN_ISA),
};

const fnn_kernel_table *FNN_CAT(fnn_kernels_, FNN_ISA)(void) { return &fnn_table; }
