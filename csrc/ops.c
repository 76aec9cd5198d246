/*
 * ops.c -- the dense-layer kernels, losses and element-wise helpers of the
 * public C API (fastnn.h), for float and double.  The GEMMs they run go
 * through fnn_gemm_f32/f64 (runtime.c) to the selected SIMD path.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fnn_internal.h"


/* A per-thread scratch buffer that only grows (each pool worker and each
 * calling thread has its own): the transposed output of a forward pass
 * computed as A^T = W X^T, so that a training step allocates nothing once
 * warm. */
static FNN_THREAD_LOCAL void *fnn_ops_buf = NULL;
static FNN_THREAD_LOCAL size_t fnn_ops_cap = 0;

static void *fnn_ops_scratch(size_t bytes)
{
    if (bytes == 0) bytes = 1; /* a usable pointer even for nothing */
    if (bytes <= fnn_ops_cap) return fnn_ops_buf;
    void *p = malloc(bytes);
    if (!p) return NULL;
    free(fnn_ops_buf);
    fnn_ops_buf = p;
    fnn_ops_cap = bytes;
    return p;
}

/* The softmax's blocks of rows for the vector exp (ops_impl.h). */
#define FNN_EXP_BLOCK 1024
#define FNN_EXP_ROWS 64

#define T float
#define SFX f32
#include "ops_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "ops_impl.h"
#undef T
#undef SFX

/* ---- dtype conversion ---------------------------------------------------- */

typedef struct {
    const double *src;
    float *dst;
    size_t len;
    size_t bad[FNN_MAX_THREADS];
} fnn_convert_job;

static void fnn_convert_task(void *ctx, int task, int n_tasks)
{
    fnn_convert_job *j = (fnn_convert_job *)ctx;
    size_t lo, hi, bad = 0;
    fnn_task_part(j->len, task, n_tasks, &lo, &hi);
    for (size_t i = lo; i < hi; ++i) {
        const float v = (float)j->src[i];
        j->dst[i] = v;
        bad += !(fabsf(v) <= FLT_MAX); /* inf (a double beyond float's range) or NaN */
    }
    j->bad[task] = bad;
}

size_t fnn_convert_f64_f32(const double *src, float *dst, size_t len)
{
    /* Memory-bound, and the first write to a fresh array faults its pages
     * in: with several threads both the copy and the faults run side by
     * side.  Small arrays stay on the calling thread. */
    fnn_convert_job job;
    job.src = src;
    job.dst = dst;
    job.len = len;
    const int nt = len >= ((size_t)1 << 20) ? fnn_get_num_threads() : 1;
    fnn_parallel(nt, (double)len, fnn_convert_task, &job);
    size_t bad = 0;
    for (int t = 0; t < nt; ++t) bad += job.bad[t];
    return bad;
}
