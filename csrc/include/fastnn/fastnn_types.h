/*
 * fastnn/fastnn_types.h -- the types of fastnn's public C API (plain C99).
 *
 * Installed with the package (fastnn.get_include()); included by
 * fastnn_api.h.  Layout conventions, as in the lecture notes and PyTorch:
 *   weights W are (out_features, in_features), row-major;
 *   a batch X is (n_samples, in_features), row-major;
 *   so the forward pass is Z = X W^T + b and A = act(Z).
 * Every array is contiguous, row-major, of one element type per call
 * (float for the _f32 functions, double for the _f64 ones).
 */
#ifndef FASTNN_TYPES_H
#define FASTNN_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What every fallible function returns.  fnn_api.status_message() gives
 * the text. */
typedef enum {
    FNN_OK = 0,
    FNN_ERR_NOMEM = 1, /* a work buffer could not be allocated */
    FNN_ERR_ARG = 2,   /* a bad argument: NULL pointer, bad dimension or value */
    FNN_ERR_LABEL = 3, /* a class label outside [0, n_classes) */
    FNN_ERR_NONFINITE = 4 /* an input holds a NaN or an infinity */
} fnn_status;

/* The activations the GEMM epilogue computes. */
typedef enum {
    FNN_ACT_IDENTITY = 0,
    FNN_ACT_SIGMOID = 1,
    FNN_ACT_TANH = 2,
    FNN_ACT_RELU = 3,
    FNN_ACT_LEAKY_RELU = 4, /* z if z > 0 else slope * z, slope >= 0 */
    FNN_ACT_SOFTPLUS = 5
} fnn_activation;

/* One layer of a whole-network forward pass (network_forward): reads the
 * previous layer's a (the first layer reads x) and writes its own a. */
typedef struct {
    int in_features, out_features;
    const float *w; /* (out_features, in_features), row-major */
    const float *b; /* (out_features,) or NULL */
    fnn_activation act;
    float slope;
    int softmax;    /* 1: row-wise softmax after act (the output layer) */
    float *a;       /* (n, out_features): this layer's output */
} fnn_dense_layer_f32;
typedef struct {
    int in_features, out_features;
    const double *w;
    const double *b;
    fnn_activation act;
    double slope;
    int softmax;
    double *a;
} fnn_dense_layer_f64;

/* One layer of a whole-network training step (network_train_step). */
typedef struct {
    int in_features, out_features;
    float *w;        /* (out_features, in_features), updated in place */
    float *b;        /* (out_features,) or NULL, updated in place */
    fnn_activation act;
    float slope;
    int train;       /* 1: W (and b) learn at rate lr; 0: frozen */
    float lr;
    float *a;        /* (n, out_features): activations */
    float *g;        /* (n, out_features): d loss / d a, then / d z */
    float *db;       /* (out_features,): the bias gradient */
    float *dw;       /* Adam only: (out, in) weight gradient */
    float *m_w, *v_w; /* Adam only: moments of W (out, in) and of b (out) */
    float *m_b, *v_b;
} fnn_train_layer_f32;
typedef struct {
    int in_features, out_features;
    double *w;
    double *b;
    fnn_activation act;
    double slope;
    int train;
    double lr;
    double *a;
    double *g;
    double *db;
    double *dw;
    double *m_w, *v_w;
    double *m_b, *v_b;
} fnn_train_layer_f64;

/* Adam's constants for one step t: betas, eps, decoupled weight decay and
 * the bias corrections bc1 = 1 - b1^t, bc2 = 1 - b2^t. */
typedef struct {
    float b1, b2, eps, weight_decay, bc1, bc2;
} fnn_adam_f32;
typedef struct {
    double b1, b2, eps, weight_decay, bc1, bc2;
} fnn_adam_f64;

#ifdef __cplusplus
}
#endif
#endif /* FASTNN_TYPES_H */
