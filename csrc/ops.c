/*
 * ops.c -- the dense-layer kernels, losses and element-wise helpers of the
 * public C API (fastnn.h), for float and double.  The GEMMs they run go
 * through fnn_gemm_f32/f64 (runtime.c) to the selected SIMD path.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fnn_internal.h"


/* A per-thread scratch buffer that only grows (each pool worker and each
 * calling thread has its own): the transposed output of a narrow layer, so
 * that a training step allocates nothing once warm. */
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
