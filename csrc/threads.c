/*
 * threads.c -- fastnn's pool of worker threads and fnn_parallel, through
 * which every multi-threaded kernel runs its tasks.
 *
 * Why not OpenMP parallel regions (fastnn used them before):
 *  - between regions libgomp's idle threads busy-wait (GOMP_SPINCOUNT, a
 *    few milliseconds), and so do OpenBLAS's.  In a loop that alternates
 *    NumPy matrix products and fastnn calls the two pools' spinning threads
 *    took each other's cores: each pair cost several times what the two
 *    calls cost alone (bench/oversubscription.py).
 *  - a shorter spin is no cure: a region's master waits at its end for
 *    every thread of the team, and waking a sleeping thread can take longer
 *    than a small call itself, so every call after a pause paid the wake-up
 *    (a batch-1 forward became many times slower).
 * The measurements: docs/threads.md.
 * Here a job is n_tasks independent tasks.  The caller publishes it, wakes
 * any sleeping worker it wants and starts on the tasks itself; a task goes
 * to whichever thread claims it first (a worker first tries "its own" task,
 * so the same thread keeps reading the same weights from call to call).
 * The caller waits only for tasks already started: a worker that has not
 * woken up yet never holds it back, so idle workers can stop spinning
 * soon: they spin briefly, nap, then sleep (FNN_POOL_SPIN_US below), and
 * the caller wakes a sleeping one only when the work makes it worth it
 * (FNN_WAKE_MIN_WORK).
 *
 * How many threads is still OpenMP's setting (runtime.c:
 * fnn_get_num_threads: OMP_NUM_THREADS, omp_set_num_threads, threadpoolctl,
 * fastnn.set_num_threads); a build without OpenMP runs everything on the
 * calling thread.  Which thread runs a task is not fixed, so a task's
 * result must depend only on its index: every kernel's does.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include <stdlib.h>
#include <string.h>

#include "fnn_internal.h"

#if !defined(_WIN32)
#define FNN_HAVE_POOL 1
#endif

#ifndef FNN_HAVE_POOL

#ifdef _OPENMP
#include <omp.h>
#endif

long fnn_idle_spin_us(void) { return 0; } /* OpenMP's own wait policy applies */

/* No POSIX threads (Windows): an OpenMP loop over the tasks, or none. */
void fnn_parallel(int n_tasks, double work, fnn_task_fn fn, void *ctx)
{
    (void)work;
    if (n_tasks <= 1) {
        fn(ctx, 0, 1);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) num_threads(n_tasks)
#endif
    for (int t = 0; t < n_tasks; ++t) fn(ctx, t, n_tasks);
}

typedef struct {
    fnn_stage_fn fn;
    void *ctx;
    int stage;
} fnn_one_stage;

static void fnn_one_stage_task(void *ctx, int task, int n_tasks)
{
    const fnn_one_stage *j = (const fnn_one_stage *)ctx;
    j->fn(j->ctx, j->stage, task, n_tasks);
}

/* Without the pool: one fnn_parallel job per stage. */
void fnn_parallel_stages(int n_tasks, int n_stages, double work, fnn_stage_fn fn, void *ctx)
{
    for (int s = 0; s < n_stages; ++s) {
        fnn_one_stage j = {fn, ctx, s};
        fnn_parallel(n_tasks, work / n_stages, fnn_one_stage_task, &j);
    }
}

#else /* FNN_HAVE_POOL */

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define fnn_cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define fnn_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define fnn_cpu_relax() ((void)0)
#endif

/* An idle worker looks for a new job for FNN_POOL_SPIN_US microseconds,
 * then sleeps until a caller wakes it.  For the first FNN_POOL_BUSY_US it
 * spins: a training loop calls again within that.  The spin must outlast
 * the Python between two calls (Trainer.step with Adam at small batches,
 * say): a spin shorter than that gap loses the worker between steps, and
 * each step then pays to wake it or runs on the caller alone.  After
 * that it naps, FNN_POOL_NAP_US at a time, looking for work between naps:
 * a napping thread leaves its core to others, and when its nap ends the
 * scheduler runs it promptly even if another pool's idle thread is
 * spinning on that core, which a thread that kept spinning or yielding
 * would wait for (alternating NumPy and fastnn calls cost less with naps
 * than with yield-spinning; measurements in docs/threads.md).
 * FASTNN_SPIN_US overrides FNN_POOL_SPIN_US (read when the first worker
 * starts; 0: sleep at once). */
#define FNN_POOL_SPIN_US 1000
#define FNN_POOL_BUSY_US 200
#define FNN_POOL_NAP_US 50

/* Waking a sleeping worker costs the caller a system call (on a virtual
 * machine an inter-processor interrupt through the hypervisor) and the
 * worker the scheduler's wake-up latency to arrive: more than a batch-1
 * forward pass takes on one thread (docs/threads.md has the figures).  So
 * the caller wakes them only once the jobs it has run without them, with
 * no pause longer than FNN_POOL_SPIN_US in between, add up to this much
 * work (multiply-adds): at once for a big job, after a few calls for
 * small ones in a loop (which then keep the workers busy), never for an
 * occasional small call.  A napping worker counts as asleep: a big job
 * wakes it at once. */
#define FNN_WAKE_MIN_WORK (1024.0 * 1024.0)

enum { FNN_AWAKE, FNN_ASLEEP, FNN_WAKING };

typedef struct {
    pthread_cond_t wake;
    /* FNN_ASLEEP: waiting on `wake`; FNN_WAKING: signalled, not yet
     * running (waking can take a millisecond: no need to signal again).
     * Changed under fnn_pool.lock. */
    _Atomic int state;
} fnn_worker;

static struct {
    /* The job: written by its caller before `unclaimed` is published and
     * read by a thread only after it has claimed one of its tasks, so they
     * always belong to the job whose task was claimed. */
    fnn_task_fn fn;
    void *ctx;
    int n_tasks;
    _Atomic uint64_t unclaimed; /* bit t: task t not yet claimed */
    _Atomic int done;           /* tasks finished */
    _Atomic unsigned seq;       /* bumped for each job: idle workers watch it */

    atomic_flag busy; /* a caller owns the pool (others run serially) */
    int n_workers;    /* started; worker w (1..n_workers) prefers task w */
    long spin_us;
    double last_end_us; /* when the last job that found a worker asleep ended */
    double work_alone;  /* work of such jobs since the last pause */
    pthread_mutex_t lock;
    fnn_worker workers[FNN_MAX_THREADS];
} fnn_pool = {.busy = ATOMIC_FLAG_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

static double fnn_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

/* The workers' condition variables time out on CLOCK_MONOTONIC where
 * pthread_condattr_setclock exists (not macOS: the wall clock there). */
#if defined(__APPLE__)
#define FNN_COND_CLOCK CLOCK_REALTIME
#else
#define FNN_COND_CLOCK CLOCK_MONOTONIC
#endif

static void fnn_deadline_after_us(struct timespec *ts, long us)
{
    clock_gettime(FNN_COND_CLOCK, ts);
    const long ns = ts->tv_nsec + us * 1000L;
    ts->tv_sec += ns / 1000000000L;
    ts->tv_nsec = ns % 1000000000L;
}

/* Claims an unclaimed task of the current job, `prefer` first; -1 if none. */
static int fnn_claim(int prefer)
{
    const uint64_t own = prefer < 64 ? (uint64_t)1 << prefer : 0;
    uint64_t u = atomic_load_explicit(&fnn_pool.unclaimed, memory_order_acquire);
    if (u & own) {
        if (atomic_fetch_and_explicit(&fnn_pool.unclaimed, ~own, memory_order_acq_rel) & own)
            return prefer;
        u = atomic_load_explicit(&fnn_pool.unclaimed, memory_order_acquire);
    }
    while (u) {
        const int t = __builtin_ctzll(u);
        const uint64_t bit = (uint64_t)1 << t;
        if (atomic_fetch_and_explicit(&fnn_pool.unclaimed, ~bit, memory_order_acq_rel) & bit) return t;
        u = atomic_load_explicit(&fnn_pool.unclaimed, memory_order_acquire);
    }
    return -1;
}

/* Runs tasks of the current job until none is left unclaimed. */
static void fnn_run_tasks(int prefer)
{
    int t;
    while ((t = fnn_claim(prefer)) >= 0) {
        /* The claim (acquire) made the job's fields visible, and the job
         * cannot end before this task is counted done. */
        fnn_pool.fn(fnn_pool.ctx, t, fnn_pool.n_tasks);
        atomic_fetch_add_explicit(&fnn_pool.done, 1, memory_order_release);
    }
}

static void fnn_name_this_thread(void);

static void *fnn_worker_main(void *arg)
{
    const int w = (int)(intptr_t)arg;
    fnn_worker *me = &fnn_pool.workers[w];
    fnn_name_this_thread();
    for (;;) {
        /* Read before claiming, so that a job published meanwhile is not
         * slept through. */
        const unsigned seen = atomic_load_explicit(&fnn_pool.seq, memory_order_acquire);
        fnn_run_tasks(w);
        /* Idle: spin, then nap, then sleep (see FNN_POOL_SPIN_US). */
        const double start = fnn_now_us();
        const double spin = fnn_pool.spin_us < FNN_POOL_BUSY_US ? (double)fnn_pool.spin_us : FNN_POOL_BUSY_US;
        int polls = 0, woke = 0;
        for (;;) {
            if (atomic_load_explicit(&fnn_pool.seq, memory_order_acquire) != seen) {
                woke = 1;
                break;
            }
            if ((++polls & 31) == 0 && fnn_now_us() - start >= spin) break;
            fnn_cpu_relax();
        }
        if (woke) continue;
        pthread_mutex_lock(&fnn_pool.lock);
        /* seq_cst, as the caller's bump of seq and its read of `state`:
         * either this load sees the new job or the caller sees a sleeper
         * (and signals under the lock, so not before the wait). */
        atomic_store(&me->state, FNN_ASLEEP);
        while (atomic_load(&fnn_pool.seq) == seen) {
            if (fnn_now_us() - start < (double)fnn_pool.spin_us) {
                struct timespec ts;
                fnn_deadline_after_us(&ts, FNN_POOL_NAP_US);
                pthread_cond_timedwait(&me->wake, &fnn_pool.lock, &ts);
            } else
                pthread_cond_wait(&me->wake, &fnn_pool.lock);
        }
        atomic_store(&me->state, FNN_AWAKE);
        pthread_mutex_unlock(&fnn_pool.lock);
    }
    return NULL;
}

static void fnn_pool_after_fork_in_child(void)
{
    /* Only the forking thread exists in the child: forget the workers (the
     * caller runs every task until new ones start). */
    fnn_pool.n_workers = 0;
    atomic_flag_clear(&fnn_pool.busy);
    pthread_mutex_init(&fnn_pool.lock, NULL);
}

/* FASTNN_SPIN_US: 1 to 8 decimal digits, else the default (fastnn's
 * import warns about a bad value). */
static long fnn_spin_us_from_env(void)
{
    const char *env = getenv("FASTNN_SPIN_US");
    if (!env) return FNN_POOL_SPIN_US;
    long v = 0;
    int digits = 0;
    for (; env[digits]; ++digits) {
        if (env[digits] < '0' || env[digits] > '9' || digits == 8) return FNN_POOL_SPIN_US;
        v = v * 10 + (env[digits] - '0');
    }
    return digits ? v : FNN_POOL_SPIN_US;
}

long fnn_idle_spin_us(void) { return fnn_pool.n_workers ? fnn_pool.spin_us : fnn_spin_us_from_env(); }

/* The workers' name, shown by top -H, ps -L and /proc/<pid>/task/<tid>/comm:
 * set by the creator on Linux (so it is there before the thread first
 * runs), by the thread itself on macOS (which allows only that). */
static void fnn_name_this_thread(void)
{
#if defined(__APPLE__)
    pthread_setname_np("fastnn-worker");
#endif
}

/* Starts workers up to `want` (the caller owns the pool).  A worker that
 * cannot be started is simply missing: its tasks run on other threads. */
static void fnn_pool_grow(int want)
{
    static int registered = 0;
    if (!registered) {
        registered = 1;
        pthread_atfork(NULL, NULL, fnn_pool_after_fork_in_child);
        fnn_pool.spin_us = fnn_spin_us_from_env();

    }
    if (want > FNN_MAX_THREADS - 1) want = FNN_MAX_THREADS - 1;
    /* Workers take no signals: the process's handlers (Python's SIGINT,
     * say) run on the threads that expect them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (fnn_pool.n_workers < want) {
        const int w = fnn_pool.n_workers + 1;
        pthread_condattr_t cattr;
        pthread_condattr_init(&cattr);
#if !defined(__APPLE__)
        pthread_condattr_setclock(&cattr, FNN_COND_CLOCK);
#endif
        pthread_cond_init(&fnn_pool.workers[w].wake, &cattr);
        pthread_condattr_destroy(&cattr);
        atomic_store(&fnn_pool.workers[w].state, FNN_AWAKE);
        pthread_attr_t attr;
        pthread_t th;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const int rc = pthread_create(&th, &attr, fnn_worker_main, (void *)(intptr_t)w);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
#if defined(__linux__)
        pthread_setname_np(th, "fastnn-worker");
#endif
        fnn_pool.n_workers = w;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void fnn_parallel(int n_tasks, double work, fnn_task_fn fn, void *ctx)
{
    if (n_tasks > FNN_MAX_THREADS) n_tasks = FNN_MAX_THREADS;
    if (n_tasks <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    /* Another thread's job in progress (or a task calling in): run this
     * job here, alone, rather than add threads to a busy machine. */
    if (atomic_flag_test_and_set_explicit(&fnn_pool.busy, memory_order_acquire)) {
        for (int t = 0; t < n_tasks; ++t) fn(ctx, t, n_tasks);
        return;
    }
    if (fnn_pool.n_workers < n_tasks - 1) fnn_pool_grow(n_tasks - 1);

    fnn_pool.fn = fn;
    fnn_pool.ctx = ctx;
    fnn_pool.n_tasks = n_tasks;
    atomic_store_explicit(&fnn_pool.done, 0, memory_order_relaxed);
    atomic_store_explicit(&fnn_pool.unclaimed,
                          n_tasks == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n_tasks) - 1,
                          memory_order_release);
    atomic_fetch_add(&fnn_pool.seq, 1); /* seq_cst: see fnn_worker_main */
    /* Wake the sleeping workers that have a task of their own here. */
    const int last = n_tasks - 1 < fnn_pool.n_workers ? n_tasks - 1 : fnn_pool.n_workers;
    int any_asleep = 0;
    for (int w = 1; w <= last && !any_asleep; ++w)
        any_asleep = atomic_load(&fnn_pool.workers[w].state) == FNN_ASLEEP;
    if (any_asleep) {
        if (fnn_now_us() - fnn_pool.last_end_us > (double)fnn_pool.spin_us) fnn_pool.work_alone = 0.0;
        fnn_pool.work_alone += work;
    }
    if (any_asleep && fnn_pool.work_alone >= FNN_WAKE_MIN_WORK) {
        fnn_pool.work_alone = 0.0;
        pthread_mutex_lock(&fnn_pool.lock);
        for (int w = 1; w <= last; ++w)
            if (atomic_load(&fnn_pool.workers[w].state) == FNN_ASLEEP) {
                atomic_store(&fnn_pool.workers[w].state, FNN_WAKING);
                pthread_cond_signal(&fnn_pool.workers[w].wake);
            }
        pthread_mutex_unlock(&fnn_pool.lock);
    }

    fnn_run_tasks(0);
    /* Every task is claimed: wait for those still running elsewhere. */
    int polls = 0;
    while (atomic_load_explicit(&fnn_pool.done, memory_order_acquire) < n_tasks) {
        if (++polls > 4096) sched_yield(); /* a descheduled worker holds one */
        else fnn_cpu_relax();
    }
    if (any_asleep) fnn_pool.last_end_us = fnn_now_us();
    atomic_flag_clear_explicit(&fnn_pool.busy, memory_order_release);
}

/* ---- staged jobs ----------------------------------------------------------
 * One slot per (stage, task), each on its own cache line: `claimed` is
 * taken by exchange, `done` set when the task has finished.  A thread
 * runs its own task of a stage if nobody has claimed it, then any other
 * still unclaimed, then waits until every task of the stage is done.  It
 * waits only for tasks that some thread has claimed and is running, so a
 * worker that never arrives (asleep, or the pool busy and the job run on
 * the caller alone) delays nothing: the threads present run its tasks. */
#define FNN_LINE 64
typedef struct {
    _Atomic int claimed, done;
    char pad[FNN_LINE - 2 * sizeof(int)];
} fnn_stage_slot;

/* Slots in one job; a longer job runs as several (each a whole number of
 * stages, finished before the next starts). */
#define FNN_STAGE_SLOTS 64

typedef struct {
    fnn_stage_fn fn;
    void *ctx;
    int first, n_stages; /* stages first .. first + n_stages - 1 */
    fnn_stage_slot *slots; /* n_stages x n_tasks, zeroed */
} fnn_stages_job;

static void fnn_stages_task(void *ctx, int task, int n_tasks)
{
    const fnn_stages_job *j = (const fnn_stages_job *)ctx;
    for (int s = 0; s < j->n_stages; ++s) {
        fnn_stage_slot *row = j->slots + (size_t)s * n_tasks;
        for (int i = 0; i < n_tasks; ++i) {
            const int t = (task + i) % n_tasks;
            if (atomic_load_explicit(&row[t].claimed, memory_order_relaxed) ||
                atomic_exchange_explicit(&row[t].claimed, 1, memory_order_acq_rel))
                continue;
            j->fn(j->ctx, j->first + s, t, n_tasks);
            atomic_store_explicit(&row[t].done, 1, memory_order_release);
        }
        for (int t = 0; t < n_tasks; ++t) {
            int polls = 0;
            while (!atomic_load_explicit(&row[t].done, memory_order_acquire)) {
                if (++polls > 4096) sched_yield(); /* its thread was descheduled */
                else fnn_cpu_relax();
            }
        }
    }
}

void fnn_parallel_stages(int n_tasks, int n_stages, double work, fnn_stage_fn fn, void *ctx)
{
    if (n_tasks > FNN_MAX_THREADS) n_tasks = FNN_MAX_THREADS;
    if (n_tasks <= 1) {
        for (int s = 0; s < n_stages; ++s) fn(ctx, s, 0, 1);
        return;
    }
    _Alignas(FNN_LINE) fnn_stage_slot slots[FNN_STAGE_SLOTS];
    const int per_job = FNN_STAGE_SLOTS / n_tasks;
    for (int first = 0; first < n_stages; first += per_job) {
        const int count = n_stages - first < per_job ? n_stages - first : per_job;
        memset(slots, 0, sizeof(fnn_stage_slot) * (size_t)count * n_tasks);
        fnn_stages_job job = {fn, ctx, first, count, slots};
        fnn_parallel(n_tasks, work * count / n_stages, fnn_stages_task, &job);
    }
}

#endif /* FNN_HAVE_POOL */
