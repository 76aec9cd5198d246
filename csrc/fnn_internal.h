/*
 * fnn_internal.h -- what the run-time dispatcher (runtime.c) and the
 * instruction-set-specific kernel objects (gemm_isa.c, compiled once per
 * path) share.  Not part of the public C API.
 */
#ifndef FNN_INTERNAL_H
#define FNN_INTERNAL_H

#include "fastnn.h"

#if defined(_MSC_VER)
#define FNN_THREAD_LOCAL __declspec(thread)
#define FNN_ALWAYS_INLINE __forceinline
#define FNN_NOINLINE __declspec(noinline)
#else
#define FNN_THREAD_LOCAL __thread
#define FNN_ALWAYS_INLINE inline __attribute__((always_inline))
#define FNN_NOINLINE __attribute__((noinline))
#endif

#define FNN_CAT_(a, b) a##b
#define FNN_CAT(a, b) FNN_CAT_(a, b)
#define FNN_STR_(x) #x
#define FNN_STR(x) FNN_STR_(x)

/* Task `task` of n_tasks's part [*lo, *hi) of len items: contiguous, in
 * task order, sizes differing by at most one (how the fnn_parallel jobs
 * that split a range share it out). */
static inline void fnn_task_part(size_t len, int task, int n_tasks, size_t *lo, size_t *hi)
{
    *lo = len * (size_t)task / (size_t)n_tasks;
    *hi = len * (size_t)(task + 1) / (size_t)n_tasks;
}

typedef fnn_status (*fnn_gemm_f32_fn)(int m, int n, int k, float alpha,
                                      const float *a, ptrdiff_t rsa,
                                      ptrdiff_t csa, const float *b,
                                      ptrdiff_t rsb, ptrdiff_t csb, float beta,
                                      float *c, ptrdiff_t ldc,
                                      const float *bias, fnn_activation act,
                                      float slope, int max_threads,
                                      int *threads_used);
typedef fnn_status (*fnn_gemm_f64_fn)(int m, int n, int k, double alpha,
                                      const double *a, ptrdiff_t rsa,
                                      ptrdiff_t csa, const double *b,
                                      ptrdiff_t rsb, ptrdiff_t csb,
                                      double beta, double *c, ptrdiff_t ldc,
                                      const double *bias, fnn_activation act,
                                      double slope, int max_threads,
                                      int *threads_used);

/* One SIMD path: its GEMM, its vectorised activations and its Adam. */
typedef struct {
    const char *name;
    int mr_f32, nr_f32, mr_f64, nr_f64; /* register tiles */
    fnn_gemm_f32_fn gemm_f32;
    fnn_gemm_f64_fn gemm_f64;
    void (*activation_f32)(float *z, size_t len, fnn_activation act,
                           float slope);
    void (*activation_f64)(double *z, size_t len, fnn_activation act,
                           double slope);
    /* x <- e^x in place, with the activations' vector exp (the softmax's
     * exponentials). */
    void (*exp_f32)(float *x, size_t len);
    void (*exp_f64)(double *x, size_t len);
    /* Whether gemm_f32/f64 of m x n x k, A's rows and B's columns
     * contiguous along k, runs the packed micro-kernel (no dot products). */
    int (*gemm_packed_f32)(int m, int n, int k);
    int (*gemm_packed_f64)(int m, int n, int k);
    /* A small batch (m <= FNN_NETWORK_SMALL_M rows) through every layer of
     * a network, each layer's columns split across nt threads; the caller
     * has checked the chain and applies the softmax. */
    fnn_status (*network_small_f32)(int m, const float *x, int n_layers,
                                    const fnn_dense_layer_f32 *layers, int nt);
    fnn_status (*network_small_f64)(int m, const double *x, int n_layers,
                                    const fnn_dense_layer_f64 *layers, int nt);
    /* Adam on p[0..len) (adam_impl.h): every Adam update in fastnn goes
     * through these, so all of them give the same results. */
    void (*adam_f32)(float *p, const float *g, float *m, float *v, size_t len,
                     float lr, const fnn_adam_f32 *adam, float l2);
    void (*adam_f64)(double *p, const double *g, double *m, double *v,
                     size_t len, double lr, const fnn_adam_f64 *adam,
                     double l2);
    /* One thread's slice of a step's Adam update: dw (m x n, ldc) =
     * op(A) op(B), then the adam kernel on w, mw, vw at dw's offsets, a
     * row of tiles at a time as soon as it is computed (adam_impl.h); the
     * same results as the GEMM followed by adam_f32/f64.  shared: other
     * threads have read w since its last update. */
    fnn_status (*gemm_adam_f32)(int m, int n, int k, const float *a, ptrdiff_t rsa, ptrdiff_t csa,
                                const float *b, ptrdiff_t rsb, ptrdiff_t csb, float *dw, ptrdiff_t ldc,
                                float *w, float *mw, float *vw, float lr, const fnn_adam_f32 *adam, float l2,
                                int shared);
    fnn_status (*gemm_adam_f64)(int m, int n, int k, const double *a, ptrdiff_t rsa, ptrdiff_t csa,
                                const double *b, ptrdiff_t rsb, ptrdiff_t csb, double *dw, ptrdiff_t ldc,
                                double *w, double *mw, double *vw, double lr, const fnn_adam_f64 *adam,
                                double l2, int shared);
} fnn_kernel_table;

/* Batches up to this many rows take the one-region network forward (the
 * GEMM's dot-product path covers the same sizes). */
#define FNN_NETWORK_SMALL_M 16

/* OR-ed into a GEMM's activation (inside fastnn only): the GEMM also
 * returns FNN_ERR_NONFINITE, having written all of C, when an output
 * before the bias and the activation (alpha A B + beta C) is NaN or
 * infinite.  Every NaN or infinity in a row of A
 * makes every sum of that row one or the other (x * w is NaN or infinite
 * for any w, and no sum with such a term is finite), so a GEMM that
 * returns FNN_OK with this flag has proved its A finite without reading
 * it a second time; a sum can also overflow, or come from a non-finite
 * B, so the flag says only "maybe". */
#define FNN_ACT_CHECK_FINITE 0x100

const fnn_kernel_table *fnn_kernels_generic(void);
#if defined(FNN_HAVE_AVX2)
const fnn_kernel_table *fnn_kernels_avx2(void);
#endif
#if defined(FNN_HAVE_AVX512)
const fnn_kernel_table *fnn_kernels_avx512(void);
#endif

/* x <- e^x in place on the selected SIMD path (runtime.c). */
void fnn_exp_f32(float *x, size_t len);
void fnn_exp_f64(double *x, size_t len);
/* The selected path's gemm_packed_f32/f64 (runtime.c). */
int fnn_gemm_packed(int double_precision, int m, int n, int k);

/* fnn_gemm with an explicit cap on its threads (the backward kernels use
 * a higher bar for splitting, see ops_impl.h). */
fnn_status fnn_gemm_threads_f32(int max_threads, int m, int n, int k,
                                float alpha, const float *a, ptrdiff_t rsa,
                                ptrdiff_t csa, const float *b, ptrdiff_t rsb,
                                ptrdiff_t csb, float beta, float *c,
                                ptrdiff_t ldc, const float *bias,
                                fnn_activation act, float slope);
fnn_status fnn_gemm_threads_f64(int max_threads, int m, int n, int k,
                                double alpha, const double *a, ptrdiff_t rsa,
                                ptrdiff_t csa, const double *b, ptrdiff_t rsb,
                                ptrdiff_t csb, double beta, double *c,
                                ptrdiff_t ldc, const double *bias,
                                fnn_activation act, double slope);

/* ---- threads (threads.c) ----------------------------------------------- */

/* The most threads one job uses (the caller and 63 workers). */
#define FNN_MAX_THREADS 64

/* One task of a job: task is 0..n_tasks-1. */
typedef void (*fnn_task_fn)(void *ctx, int task, int n_tasks);

/* Runs fn(ctx, t, n_tasks) for every t, on the calling thread and up to
 * n_tasks - 1 pool workers, and returns when all have finished.  Which
 * thread runs which task is not fixed: a task's result may depend only on
 * its index.  Tasks must not wait for one another (no barriers): one
 * thread may run them all, one after the other.  work: the job's size in
 * multiply-adds (or the like), which decides whether it is worth waking a
 * sleeping worker. */
void fnn_parallel(int n_tasks, double work, fnn_task_fn fn, void *ctx);

/* Task `task` of stage `stage` of a staged job. */
typedef void (*fnn_stage_fn)(void *ctx, int stage, int task, int n_tasks);

/* Runs fn(ctx, s, t, n_tasks) for every stage s (0..n_stages-1, in order)
 * and task t, every task of stage s finished before any of stage s + 1
 * starts (a task of the next layer reads every task's outputs of this
 * one).  As one fnn_parallel job: the threads go from stage to stage
 * past a per-task "done" flag each instead of a job's hand-off and wait
 * per stage.  A task goes to whichever thread claims it, its own index
 * first, so a thread that is late or asleep holds nothing back; as with
 * fnn_parallel, a task's result may depend only on its index. */
void fnn_parallel_stages(int n_tasks, int n_stages, double work, fnn_stage_fn fn, void *ctx);

/* The table in use (selected on first call). */
const fnn_kernel_table *fnn_active_kernels(void);

/* ---- the CPU and its parameters (cpu.c) ------------------------------- */

/* What the CPU is: CPUID's vendor, display family and model, brand string;
 * cache sizes in bytes (L1 data and L2 per core, L3 as the OS reports it),
 * 0 when unknown. */
typedef struct {
    char vendor[16];
    char model_name[64];
    int family, model;
    long l1d_bytes, l2_bytes, l3_bytes;
    int prefetchw; /* a prefetch for writing exists (x86: CPUID PRFCHW; ARM64: always) */
} fnn_cpu;

/* The kernels' per-CPU parameters: one row of cpu.c's table, chosen at
 * first use (see cpu.c for what each is and why). */
typedef struct {
    const char *name;          /* the row's name ("+env" when FASTNN_* overrides a field) */
    int kc;                    /* K block of the packed GEMM, in elements */
    int panel_kb;              /* the packed K x NC panel of B, in KiB (sets NC) */
    double gemm_min_work;      /* multiply-adds per thread before a GEMM splits */
    double backward_min_work;  /* ... before a backward GEMM splits */
    double network_min_work;   /* ... before the small-batch network forward splits */
    double step_min_work;      /* ... before the training step splits its batch */
    int small_m;               /* GEMMs of at most this many rows skip packing (1..16) */
    int dot_k_per_row;         /* ... when K is at least this many times the rows (0: any K) */
    int direct_b_slivers;      /* packed GEMMs of at most this many MR-row slivers read B unpacked */
    int transposed_tiles;      /* forward passes of 1..this many NR-row tiles compute A^T = W X^T (0: never) */
} fnn_config;

const fnn_config *fnn_kernel_config(void);
const fnn_cpu *fnn_cpu_info(void);
/* The names of the table's rows (FASTNN_CPU takes one), and their number. */
int fnn_cpu_config_names(const char **names, int max_names);


#endif /* FNN_INTERNAL_H */
