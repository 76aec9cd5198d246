/*
 * runtime.c -- picks the SIMD path at run time, owns the thread count, and
 * routes fnn_gemm_f32/f64 to the selected path's GEMM.
 */
#include <stdlib.h>
#include <string.h>

#include "fnn_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* The paths compiled in, lowest first. */
typedef const fnn_kernel_table *(*fnn_table_getter)(void);
static const fnn_table_getter fnn_paths[] = {
    fnn_kernels_generic,
#if defined(FNN_HAVE_AVX2)
    fnn_kernels_avx2,
#endif
#if defined(FNN_HAVE_AVX512)
    fnn_kernels_avx512,
#endif
};
#define FNN_NPATHS ((int)(sizeof fnn_paths / sizeof fnn_paths[0]))

int fnn_simd_compiled(const char **names, int max_names)
{
    for (int i = 0; i < FNN_NPATHS && i < max_names; ++i)
        names[i] = fnn_paths[i]()->name;
    return FNN_NPATHS;
}

int fnn_simd_supported(const char *name)
{
    int known = 0;
    for (int i = 0; i < FNN_NPATHS; ++i)
        if (strcmp(fnn_paths[i]()->name, name) == 0) known = 1;
    if (!known) return 0;
    if (strcmp(name, "generic") == 0) return 1;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    /* libgcc's checks include the OS saving the wide registers (XGETBV). */
    if (strcmp(name, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(name, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("fma");
#endif
    return 0;
}

/* Written once at first use (every thread computes the same answer) and by
 * fnn_simd_select, which callers use between, not during, kernel calls. */
static const fnn_kernel_table *volatile fnn_active = NULL;

static const fnn_kernel_table *fnn_best_path(void)
{
    const char *forced = getenv("FASTNN_SIMD");
    if (forced && *forced) {
        for (int i = 0; i < FNN_NPATHS; ++i) {
            const fnn_kernel_table *t = fnn_paths[i]();
            if (strcmp(t->name, forced) == 0 && fnn_simd_supported(t->name))
                return t;
        }
    }
    for (int i = FNN_NPATHS - 1; i > 0; --i)
        if (fnn_simd_supported(fnn_paths[i]()->name)) return fnn_paths[i]();
    return fnn_paths[0]();
}

const fnn_kernel_table *fnn_active_kernels(void)
{
    const fnn_kernel_table *t = fnn_active;
    if (!t) {
        t = fnn_best_path();
        fnn_active = t;
    }
    return t;
}

const char *fnn_simd_selected(void) { return fnn_active_kernels()->name; }

int fnn_simd_select(const char *name)
{
    for (int i = 0; i < FNN_NPATHS; ++i) {
        const fnn_kernel_table *t = fnn_paths[i]();
        if (strcmp(t->name, name) == 0) {
            if (!fnn_simd_supported(name)) return -1;
            fnn_active = t;
            return 0;
        }
    }
    return -1;
}

void fnn_simd_tile(int double_precision, int *mr, int *nr)
{
    const fnn_kernel_table *t = fnn_active_kernels();
    *mr = double_precision ? t->mr_f64 : t->mr_f32;
    *nr = double_precision ? t->nr_f64 : t->nr_f32;
}

/* ---- threads ------------------------------------------------------------ */

static volatile int fnn_requested_threads = 0; /* 0: never set */

int fnn_openmp_version(void)
{
#ifdef _OPENMP
    return _OPENMP;
#else
    return 0;
#endif
}

int fnn_default_num_threads(void)
{
#ifdef _OPENMP
    static volatile int cached = 0;
    if (!cached) {
        /* The process-wide default (OMP_NUM_THREADS or the core count), as
         * OpenMP reports it before anyone changes it. */
        const char *env = getenv("OMP_NUM_THREADS");
        int n = env ? atoi(env) : 0;
        cached = n > 0 ? n : omp_get_num_procs();
    }
    return cached;
#else
    return 1;
#endif
}

int fnn_get_num_threads(void)
{
#ifdef _OPENMP
    /* OpenMP's own limit for the calling thread: OMP_NUM_THREADS,
     * omp_set_num_threads and so threadpoolctl all act through it. */
    int n = omp_get_max_threads();
    int req = fnn_requested_threads;
    if (req > 0 && req < n) n = req;
    if (n > FNN_MAX_THREADS) n = FNN_MAX_THREADS; /* threads.c's limit */
    return n > 0 ? n : 1;
#else
    return 1;
#endif
}

void fnn_set_num_threads(int n)
{
    if (n < 1) n = 1;
    fnn_requested_threads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

static FNN_THREAD_LOCAL int fnn_last_threads = 1;

int fnn_last_gemm_threads(void) { return fnn_last_threads; }

/* ---- GEMM entry points ------------------------------------------------- */

fnn_status fnn_gemm_threads_f32(int max_threads, int m, int n, int k, float alpha, const float *a,
                        ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                        ptrdiff_t rsb, ptrdiff_t csb, float beta, float *c,
                        ptrdiff_t ldc, const float *bias, fnn_activation act,
                        float slope)
{
    int used = 1;
    fnn_status st = fnn_active_kernels()->gemm_f32(
        m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, ldc, bias, act,
        slope, max_threads, &used);
    fnn_last_threads = used;
    return st;
}

fnn_status fnn_gemm_f32(int m, int n, int k, float alpha, const float *a,
                        ptrdiff_t rsa, ptrdiff_t csa, const float *b,
                        ptrdiff_t rsb, ptrdiff_t csb, float beta, float *c,
                        ptrdiff_t ldc, const float *bias, fnn_activation act,
                        float slope)
{
    return fnn_gemm_threads_f32(fnn_get_num_threads(), m, n, k, alpha, a, rsa,
                                csa, b, rsb, csb, beta, c, ldc, bias, act,
                                slope);
}

fnn_status fnn_gemm_threads_f64(int max_threads, int m, int n, int k, double alpha, const double *a,
                        ptrdiff_t rsa, ptrdiff_t csa, const double *b,
                        ptrdiff_t rsb, ptrdiff_t csb, double beta, double *c,
                        ptrdiff_t ldc, const double *bias, fnn_activation act,
                        double slope)
{
    int used = 1;
    fnn_status st = fnn_active_kernels()->gemm_f64(
        m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, ldc, bias, act,
        slope, max_threads, &used);
    fnn_last_threads = used;
    return st;
}

fnn_status fnn_gemm_f64(int m, int n, int k, double alpha, const double *a,
                        ptrdiff_t rsa, ptrdiff_t csa, const double *b,
                        ptrdiff_t rsb, ptrdiff_t csb, double beta, double *c,
                        ptrdiff_t ldc, const double *bias, fnn_activation act,
                        double slope)
{
    return fnn_gemm_threads_f64(fnn_get_num_threads(), m, n, k, alpha, a, rsa,
                                csa, b, rsb, csb, beta, c, ldc, bias, act,
                                slope);
}

void fnn_activation_f32(float *z, size_t len, fnn_activation act, float slope)
{
    fnn_active_kernels()->activation_f32(z, len, act, slope);
}

void fnn_activation_f64(double *z, size_t len, fnn_activation act,
                        double slope)
{
    fnn_active_kernels()->activation_f64(z, len, act, slope);
}

void fnn_exp_f32(float *x, size_t len) { fnn_active_kernels()->exp_f32(x, len); }

void fnn_exp_f64(double *x, size_t len) { fnn_active_kernels()->exp_f64(x, len); }

int fnn_gemm_packed(int double_precision, int m, int n, int k)
{
    const fnn_kernel_table *t = fnn_active_kernels();
    return double_precision ? t->gemm_packed_f64(m, n, k) : t->gemm_packed_f32(m, n, k);
}
