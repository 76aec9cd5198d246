/*
 * ops.c -- the dense-layer kernels, losses and element-wise helpers of the
 * public C API (fastnn.h), for float and double.  The GEMMs they run go
 * through fnn_gemm_f32/f64 (runtime.c) to the selected SIMD path.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fnn_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

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
