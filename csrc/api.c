/*
 * api.c -- the public C API (include/fastnn/fastnn_api.h): the table of
 * checked entry points that fastnn._core hands to other extension modules
 * in a capsule.
 */
#include <limits.h>
#include <math.h>

#include "fnn_internal.h"
#include "fastnn/fastnn_api.h"

/* The largest dimension: the kernels index with int and round a dimension
 * up to whole tiles (at most 1024 elements) in int arithmetic. */
#define FNN_API_MAX_DIM (INT_MAX - 1024)

#define CHECK(cond)                         \
    do {                                    \
        if (!(cond)) return FNN_ERR_ARG;    \
    } while (0)

static int dims_ok(int d) { return d >= 0 && d <= FNN_API_MAX_DIM; }
static int width_ok(int d) { return d >= 1 && d <= FNN_API_MAX_DIM; }

static int act_ok(fnn_activation act, double slope)
{
    return (int)act >= (int)FNN_ACT_IDENTITY && (int)act <= (int)FNN_ACT_SOFTPLUS && isfinite(slope) &&
           slope >= 0;
}

/* A rows x cols array is there, or has no elements. */
static int have(const void *p, int rows, int cols) { return p != NULL || rows == 0 || cols == 0; }

#define T float
#define SFX f32
#include "api_impl.h"
#undef T
#undef SFX

#define T double
#define SFX f64
#include "api_impl.h"
#undef T
#undef SFX

static const char *api_status_message(fnn_status status)
{
    switch (status) {
    case FNN_OK: return "success";
    case FNN_ERR_NOMEM: return "out of memory: a work buffer could not be allocated";
    case FNN_ERR_ARG: return "bad argument: a NULL array, a dimension out of range, an unknown activation "
                             "or a non-finite value";
    case FNN_ERR_LABEL: return "a class label outside [0, n_classes)";
    case FNN_ERR_NONFINITE: return "an input holds a NaN or an infinity";
    default: return "unknown status";
    }
}

static int api_get_num_threads(void) { return fnn_get_num_threads(); }

static fnn_status api_set_num_threads(int n)
{
    CHECK(n >= 1);
    fnn_set_num_threads(n);
    return FNN_OK;
}

/* Designated initializers: a field added to fnn_api cannot shift the others. */
static const fnn_api fnn_api_table = {
    .version = FASTNN_API_VERSION,
    .minor = FASTNN_API_MINOR,
    .size = sizeof(fnn_api),
    .status_message = api_status_message,
    .get_num_threads = api_get_num_threads,
    .set_num_threads = api_set_num_threads,
    .gemm_f32 = api_gemm_f32,
    .gemm_f64 = api_gemm_f64,
    .dense_forward_f32 = api_dense_forward_f32,
    .dense_forward_f64 = api_dense_forward_f64,
    .dense_backward_f32 = api_dense_backward_f32,
    .dense_backward_f64 = api_dense_backward_f64,
    .dense_backward_sgd_f32 = api_dense_backward_sgd_f32,
    .dense_backward_sgd_f64 = api_dense_backward_sgd_f64,
    .network_forward_f32 = api_network_forward_f32,
    .network_forward_f64 = api_network_forward_f64,
    .network_train_step_f32 = api_network_train_step_f32,
    .network_train_step_f64 = api_network_train_step_f64,
    .activation_f32 = api_activation_f32,
    .activation_f64 = api_activation_f64,
    .activation_derivative_f32 = api_activation_derivative_f32,
    .activation_derivative_f64 = api_activation_derivative_f64,
    .softmax_f32 = api_softmax_f32,
    .softmax_f64 = api_softmax_f64,
    .softmax_cross_entropy_f32 = api_softmax_cross_entropy_f32,
    .softmax_cross_entropy_f64 = api_softmax_cross_entropy_f64,
    .sigmoid_bce_f32 = api_sigmoid_bce_f32,
    .sigmoid_bce_f64 = api_sigmoid_bce_f64,
    .half_squared_error_f32 = api_half_squared_error_f32,
    .half_squared_error_f64 = api_half_squared_error_f64,
    .mse_f32 = api_mse_f32,
    .mse_f64 = api_mse_f64,
    .sgd_update_f32 = api_sgd_update_f32,
    .sgd_update_f64 = api_sgd_update_f64,
    .sgd_momentum_update_f32 = api_sgd_momentum_update_f32,
    .sgd_momentum_update_f64 = api_sgd_momentum_update_f64,
    .adam_update_f32 = api_adam_update_f32,
    .adam_update_f64 = api_adam_update_f64,
};

const fnn_api *fnn_get_api(void) { return &fnn_api_table; }
