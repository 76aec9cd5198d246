/* Stress test of csrc/threads.c alone, for ThreadSanitizer:
 *   gcc -O1 -g -fsanitize=thread -pthread -Icsrc tests/pool_stress.c csrc/threads.c -o /tmp/pool_stress
 * (tests/test_threads.py does this when the compiler can).
 * Jobs of 1..8 tasks from 3 caller threads, with pauses that let workers
 * fall asleep; each task writes its own slot, the caller checks them.
 * Every fourth job is staged (fnn_parallel_stages, 1..40 stages, so some
 * take more than one job's slots): a task of stage s checks that every
 * task of stage s - 1 has finished (wrote its mark) before it writes its own. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fnn_internal.h"

typedef struct { int n; int seen[FNN_MAX_THREADS]; long payload[FNN_MAX_THREADS]; } job_t;

static void task(void *ctx, int t, int n)
{
    job_t *j = (job_t *)ctx;
    if (n != j->n) abort();
    j->seen[t] += 1;
    long acc = 0;
    for (int i = 0; i < 2000 * (t + 1); ++i) acc += i ^ t;
    j->payload[t] = acc;
}

#define MAX_STAGES 40
typedef struct { int n, n_stages; long value[MAX_STAGES][FNN_MAX_THREADS]; } staged_t;

static void stage_task(void *ctx, int s, int t, int n)
{
    staged_t *j = (staged_t *)ctx;
    if (n != j->n || s < 0 || s >= j->n_stages || j->value[s][t] != 0) abort();
    for (int u = 0; s > 0 && u < n; ++u)
        if (j->value[s - 1][u] != s) abort(); /* stage s - 1 not finished */
    volatile long acc = 0; /* some work, more for later tasks */
    for (int i = 0; i < 500 * (t + 1); ++i) acc += i ^ t;
    j->value[s][t] = s + 1;
}

static void run_staged(unsigned *seed)
{
    staged_t *j = calloc(1, sizeof *j);
    j->n = 1 + rand_r(seed) % 8;
    j->n_stages = 1 + rand_r(seed) % MAX_STAGES;
    fnn_parallel_stages(j->n, j->n_stages, (rand_r(seed) % 2) ? 1e3 : 1e7, stage_task, j);
    for (int s = 0; s < j->n_stages; ++s)
        for (int t = 0; t < j->n; ++t)
            if (j->value[s][t] != s + 1) {
                fprintf(stderr, "stage %d task %d of %d: %ld\n", s, t, j->n, j->value[s][t]);
                abort();
            }
    free(j);
}

static void *caller(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg;
    for (int it = 0; it < 3000; ++it) {
        if (it % 4 == 3) {
            run_staged(&seed);
            continue;
        }
        job_t j;
        memset(&j, 0, sizeof j);
        j.n = 1 + rand_r(&seed) % 8;
        fnn_parallel(j.n, (rand_r(&seed) % 2) ? 1e3 : 1e7, task, &j);
        for (int t = 0; t < j.n; ++t) {
            long acc = 0;
            for (int i = 0; i < 2000 * (t + 1); ++i) acc += i ^ t;
            if (j.seen[t] != 1 || j.payload[t] != acc) {
                fprintf(stderr, "task %d of %d ran %d times\n", t, j.n, j.seen[t]);
                abort();
            }
        }
        for (int t = j.n; t < FNN_MAX_THREADS; ++t)
            if (j.seen[t]) abort();
        if (rand_r(&seed) % 16 == 0) {
            struct timespec ts = {0, (rand_r(&seed) % 400) * 1000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int main(void)
{
    pthread_t th[3];
    for (int i = 0; i < 3; ++i) pthread_create(&th[i], NULL, caller, (void *)(size_t)(i + 1));
    for (int i = 0; i < 3; ++i) pthread_join(th[i], NULL);
    printf("pool stress: 9000 jobs (a quarter staged), every task ran exactly once\n");
    return 0;
}
