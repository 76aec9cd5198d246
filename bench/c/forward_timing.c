/* Times fastnn's C forward kernels with no Python around them, for
 * measurements below a Python call's own cost (a few microseconds):
 *
 *   bench/c/build.sh                      (builds bench/c/forward_timing)
 *   taskset -c 0 bench/c/forward_timing layer ROWS IN OUT [ACT [THREADS]]
 *   bench/c/forward_timing network ROWS [THREADS]
 *   taskset -c 0 bench/c/forward_timing activation LEN ACT
 *   taskset -c 0 bench/c/forward_timing softmax ROWS COLS
 *   bench/c/forward_timing train ROWS [THREADS [adam|momentum]]
 *
 * layer: fnn_dense_forward_f32 of ROWS x IN -> OUT (ACT 0 identity,
 * 1 sigmoid); network: fnn_network_forward_checked_f32 of the notes'
 * 784-64-128-512-10 network (sigmoid, softmax output); activation:
 * fnn_activation_f32 in place over LEN values (in L1 for LEN of a few
 * thousand: the activation's own throughput), ACT as for layer (2 tanh,
 * 3 relu, 4 leaky relu, 5 softplus), of values in [-3, 3] reset every 16
 * calls; softmax: fnn_softmax_f32 of ROWS x COLS logits; train: plain-SGD
 * (or, given "adam", Adam; "momentum", Nesterov momentum SGD) steps of the notes' network (softmax cross-entropy) over batches of ROWS
 * rows gathered by index from 60,000 rows of 784, in a shuffled order, as
 * Trainer.fit calls fnn_network_train_step_rows_f32.  Prints the best of 7
 * rounds and, for a network or a training step, all 7 (rounds of about
 * 3 GFLOP / 200,000 rows / 60,000 rows), microseconds per call (and ns per
 * value for the element-wise ones). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fastnn.h"

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}

static float *filled(size_t len, int mod, float scale, float shift)
{
    float *p = malloc(len * sizeof(float));
    if (!p) exit(1);
    for (size_t i = 0; i < len; ++i) p[i] = scale * (float)(i % (size_t)mod) + shift;
    return p;
}

static int layer(int m, int in, int out, int act)
{
    float *x = filled((size_t)m * in, 1000, 0.001f, 0.0f), *w = filled((size_t)in * out, 777, 0.0001f, 0.0f);
    float *b = calloc((size_t)out, sizeof(float)), *a = malloc((size_t)m * out * sizeof(float));
    const int calls = (int)(3e9 / ((double)m * in * out)) + 1;
    double best = 1e300;
    for (int round = 0; round < 7; ++round) {
        const double t0 = now_us();
        for (int i = 0; i < calls; ++i)
            if (fnn_dense_forward_f32(m, in, out, x, w, b, (fnn_activation)act, 0.0f, a) != FNN_OK) return 1;
        const double us = (now_us() - t0) / calls;
        if (us < best) best = us;
    }
    printf("%d x %d -> %d, activation %d, %d thread(s): %.2f us, %.1f GFLOP/s\n", m, in, out, act,
           fnn_get_num_threads(), best, 2.0 * m * in * out / best / 1e3);
    return 0;
}

static int network(int m)
{
    static const int sizes[5] = {784, 64, 128, 512, 10};
    fnn_dense_layer_f32 L[4];
    float *x = filled((size_t)m * 784, 1000, 0.001f, -0.5f);
    for (int l = 0; l < 4; ++l) {
        const int in = sizes[l], out = sizes[l + 1];
        L[l] = (fnn_dense_layer_f32){in, out, filled((size_t)in * out, 1000, 0.00005f, -0.025f),
                                     calloc((size_t)out, sizeof(float)), l == 3 ? FNN_ACT_IDENTITY : FNN_ACT_SIGMOID,
                                     0.0f, l == 3, malloc((size_t)m * out * sizeof(float))};
    }
    const int calls = 200000 / m + 1;
    printf("network 784-64-128-512-10, %d row(s), %d thread(s), us per call:", m, fnn_get_num_threads());
    for (int round = 0; round < 7; ++round) {
        const double t0 = now_us();
        for (int i = 0; i < calls; ++i)
            if (fnn_network_forward_checked_f32(m, x, 4, L) != FNN_OK) return 1;
        printf(" %.2f", (now_us() - t0) / calls);
    }
    printf("\n");
    return 0;
}

static int activation(size_t len, int act)
{
    float *z = malloc(len * sizeof(float)), *z0 = filled(len, 1000, 0.006f, -3.0f);
    const int calls = (int)(2e8 / (double)len) + 16;
    double best = 1e300;
    for (int round = 0; round < 7; ++round) {
        const double t0 = now_us();
        for (int i = 0; i < calls; ++i) {
            if (i % 16 == 0) memcpy(z, z0, len * sizeof(float)); /* keep the values in range */
            fnn_activation_f32(z, len, (fnn_activation)act, 0.01f);
        }
        const double us = (now_us() - t0) / calls;
        if (us < best) best = us;
    }
    printf("activation %d over %zu values: %.3f us, %.3f ns a value\n", act, len, best, best * 1e3 / (double)len);
    return 0;
}

static int softmax(int m, int k)
{
    float *z = filled((size_t)m * k, 997, 0.01f, -5.0f), *p = malloc((size_t)m * k * sizeof(float));
    const int calls = (int)(2e7 / ((double)m * k)) + 1;
    double best = 1e300;
    for (int round = 0; round < 7; ++round) {
        const double t0 = now_us();
        for (int i = 0; i < calls; ++i) fnn_softmax_f32(m, k, z, p);
        const double us = (now_us() - t0) / calls;
        if (us < best) best = us;
    }
    printf("softmax %d x %d: %.2f us, %.3f ns a value\n", m, k, best, best * 1e3 / ((double)m * k));
    return 0;
}

/* kind: 0 plain SGD, 1 Adam, 2 momentum SGD */
static int train(int m, int kind)
{
    enum { N_SRC = 60000 };
    static const int sizes[5] = {784, 64, 128, 512, 10};
    fnn_train_layer_f32 L[4];
    float *src = filled((size_t)N_SRC * 784, 1009, 0.001f, -0.5f), *x = malloc((size_t)m * 784 * sizeof(float));
    int64_t *order = malloc(N_SRC * sizeof(int64_t)), *labels = malloc(N_SRC * sizeof(int64_t));
    for (int i = 0; i < N_SRC; ++i) order[i] = i, labels[i] = i % 10;
    for (int i = N_SRC - 1; i > 0; --i) { /* a fixed shuffle: rows come from all over src, as in fit */
        const int j = (int)(((unsigned)i * 2654435761u) % (unsigned)(i + 1));
        const int64_t t = order[i];
        order[i] = order[j], order[j] = t;
    }
    for (int l = 0; l < 4; ++l) {
        const int in = sizes[l], out = sizes[l + 1];
        L[l] = (fnn_train_layer_f32){in, out, filled((size_t)in * out, 1000, 0.00005f, -0.025f),
                                     calloc((size_t)out, sizeof(float)), l == 3 ? FNN_ACT_IDENTITY : FNN_ACT_SIGMOID,
                                     0.0f, 1, 0.01f, malloc((size_t)m * out * sizeof(float)),
                                     malloc((size_t)m * out * sizeof(float)), malloc((size_t)out * sizeof(float)),
                                     NULL, NULL, NULL, NULL, NULL};
        if (kind) {
            const size_t len = (size_t)in * out;
            L[l].lr = kind == 1 ? 0.001f : 0.01f;
            L[l].dw = malloc(len * sizeof(float));
            L[l].m_w = calloc(len, sizeof(float)), L[l].m_b = calloc((size_t)out, sizeof(float));
        }
        if (kind == 1) {
            const size_t len = (size_t)in * out;
            L[l].v_w = calloc(len, sizeof(float)), L[l].v_b = calloc((size_t)out, sizeof(float));
        }
    }
    /* bias corrections of a step late in a run (t large: bc1, bc2 near 1) */
    const fnn_adam_f32 adam = {0.9f, 0.999f, 1e-8f, 0.0f, 1.0f, 0.99f};
    const fnn_momentum_f32 momentum = {0.9f, 0.0f, 1};
    const int steps = N_SRC / m;
    printf("train step, 784-64-128-512-10, %s, %d row(s), %d thread(s), us per step:", kind == 1 ? "Adam" : kind == 2 ? "momentum SGD" : "SGD", m,
           fnn_get_num_threads());
    for (int round = 0; round < 7; ++round) {
        double loss;
        const double t0 = now_us();
        for (int s = 0; s < steps; ++s) {
            const int64_t *rows = order + (size_t)s * m;
            if (fnn_network_train_step_rows_f32(m, src, 784, N_SRC, rows, x, labels + (size_t)s * m, NULL, 4, L,
                                                kind == 1 ? &adam : NULL, kind == 2 ? &momentum : NULL, 0.0f,
                                                &loss, NULL) != FNN_OK)
                return 1;
        }
        printf(" %.2f", (now_us() - t0) / steps);
    }
    printf("\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "layer")) {
        if (argc > 6) fnn_set_num_threads(atoi(argv[6]));
        return layer(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argc > 5 ? atoi(argv[5]) : 0);
    }
    if (argc >= 3 && !strcmp(argv[1], "network")) {
        if (argc > 3) fnn_set_num_threads(atoi(argv[3]));
        return network(atoi(argv[2]));
    }
    if (argc >= 4 && !strcmp(argv[1], "activation")) return activation((size_t)atol(argv[2]), atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[1], "softmax")) return softmax(atoi(argv[2]), atoi(argv[3]));
    if (argc >= 3 && !strcmp(argv[1], "train")) {
        if (argc > 3) fnn_set_num_threads(atoi(argv[3]));
        return train(atoi(argv[2]), argc <= 4 ? 0 : !strcmp(argv[4], "adam") ? 1 : !strcmp(argv[4], "momentum") ? 2 : 0);
    }
    fprintf(stderr,
            "usage: %s layer ROWS IN OUT [ACT [THREADS]] | network ROWS [THREADS] | activation LEN ACT"
            " | softmax ROWS COLS | train ROWS [THREADS [adam|momentum]]\n",
            argv[0]);
    return 2;
}
