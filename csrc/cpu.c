/*
 * cpu.c -- what CPU the kernels run on, and the per-CPU parameters they use.
 *
 * The parameters (cache blocking of the packed GEMM, and the work a thread
 * must have before a job is split) live in one table, fnn_cpu_configs[]:
 * a row per CPU kind the project has measured, matched on the CPUID vendor,
 * family and model, and a last row for everything else.  Cache-dependent
 * sizes not given by a row are derived from this CPU's caches (sysfs, else
 * CPUID).  The choice is made once, at first use; FASTNN_CPU names a row to
 * use instead, and FASTNN_KC, FASTNN_PANEL_KB, FASTNN_MIN_WORK (the GEMM's),
 * FASTNN_BACKWARD_MIN_WORK, FASTNN_NETWORK_MIN_WORK, FASTNN_STEP_MIN_WORK,
 * FASTNN_SMALL_M, FASTNN_DOT_K_PER_ROW, FASTNN_DIRECT_B_SLIVERS and
 * FASTNN_TRANSPOSED_TILES (which may be 0) override single fields (for
 * experiments: build_info() shows what is in use).
 *
 * None of this changes results within a process: the order of the sums
 * depends only on KC, which is fixed once chosen, never on the thread
 * count.  (Two CPU kinds with different KC, like two SIMD paths, round
 * differently.)
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnn_internal.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define FNN_HAVE_CPUID 1
#endif

/* ---- the table ----------------------------------------------------------- */

/* Models of one CPU kind: an inclusive range of CPUID (display) models. */
typedef struct {
    int lo, hi;
} fnn_model_range;

typedef struct {
    fnn_config config;          /* 0 or 0.0 in a field: derive it (see fnn_derive) */
    const char *vendor;         /* CPUID vendor string; NULL: any CPU (the last row) */
    int family;                 /* CPUID display family */
    fnn_model_range models[4];  /* {0, 0} ends the list */
} fnn_cpu_row;

/* Why these numbers (the measurements are in docs/performance.md):
 * - KC 256: a 6 x 256 float sliver of A (6 KiB) stays in a 32 KiB L1 beside
 *   the micro-kernel's stream of B.
 * - panel: the packed K x NC panel of B (all of K, in KC blocks) that every
 *   sliver of A runs across stays in L2; 1 MiB was measured best on Zen 4,
 *   as a KC x NC block before the K loop moved inside (1 MiB L2 per core: it
 *   shares L2 with A's slivers and C's tiles, and beats half of L2); on
 *   Zen 3 (512 KiB L2) half of L2 was no faster for GEMM and slower for the
 *   2-thread training step, so its row keeps 1 MiB too
 *   (bench/kernel_config.py).  Rows that leave it 0 take half of this CPU's
 *   L2.
 * - gemm_min_work: a thread woken for less than this many multiply-adds
 *   costs more than it brings (wake-up and packing of its own B).
 * - backward_min_work: higher, because dZ was just written by the calling
 *   thread and a second thread must first pull its share across.
 * - network_min_work: the one-region small-batch forward splits earlier
 *   (its threads read disjoint slices of W from their own L2).
 * - step_min_work: the data-parallel training step's halves.
 * - small_m: a GEMM of at most this many rows computes dot products from
 *   the unpacked operands (B read once per 4 rows) instead of packing: on
 *   Zen 4 that wins up to 16 rows.  At most 16, which the training step's
 *   split and the small-batch network forward assume.
 * - dot_k_per_row: and only when K is at least this many times the rows
 *   (0: any K; the small-batch network forward asks the same of each
 *   layer).  Each output of the dot-product path ends in a horizontal
 *   sum, which a short K does not amortise; on Zen 3 (bench/small_batch.py
 *   --crossover, table in docs/performance.md) dot products win at 4 rows
 *   from K = 128, at 8 from K = 128-256 and at 12-16 only from K = 512-784,
 *   so its row asks for K >= 24 x rows.  Zen 5 (full-width 512-bit FMAs,
 *   which speed the packed GEMM but not the sums' shuffles) measured the
 *   same crossover: at 4 rows from K = 128, at 8 from K = 128-256, at
 *   12-16 from K = 512; so 24 there too.  Its KC and panel were level with
 *   Zen 4's values, which it keeps.
 * - direct_b_slivers: a packed GEMM whose A has at most this many MR-row
 *   slivers reads a row-contiguous B (dX = dZ W in the backward pass) where
 *   it lies instead of packing it; 1 (B used once) unless a row measured
 *   more.  On Zen 3 reading it won for 2-4 slivers of 6 rows (12-24 rows,
 *   every layer shape of the notes' network) and no longer from 32 rows:
 *   4 (table in docs/performance.md).
 * - transposed_tiles: a dense layer's forward pass over a batch of one or
 *   up to this many whole NR-row tiles (NR = 16 floats on AVX2) computes
 *   A^T = W X^T, reading W where it lies and packing only the batch,
 *   instead of packing all of W^T for a few slivers of rows, where both
 *   products run the packed micro-kernel (the same sums, bit for bit); 0
 *   (never) unless a row measured otherwise.  On Zen 3 it won at 16 rows
 *   (the two-thread halves of a batch of 32) and 32, and lost from 48 on
 *   (table in docs/performance.md): 2.
 * - Intel Xeon (the row's models: Sapphire Rapids 0x8f, Emerald Rapids
 *   0xcf, and 0xa7, which is what a KVM guest of these machines reports
 *   for a Xeon with AMX and AVX512-FP16, so a core of that generation; on
 *   bare metal 0xa7 is Rocket Lake, a desktop part nobody has measured,
 *   which gets these values too): measured on the 0xa7 guest.  Dot
 *   products lose there as on Zen 3 and 5 (at 16 rows below K = 512, at 8
 *   below 128), so dot_k_per_row 24; and the small-batch network forward
 *   splits only from 128 Ki multiply-adds: one row of the notes' network
 *   (126 Ki) ran slower on two threads than on one.  Its training steps of
 *   16-28 rows (3-5 Mi multiply-adds per thread) were slower on two threads
 *   too, and from 32 rows (two halves) much faster: step_min_work 5 Mi.
 *   Reading B unpacked won there up to 4 slivers of 12 rows for every
 *   layer shape of the notes' network, and lost from 64 rows on for the
 *   widest B (64 x 784): 4 (table in docs/performance.md). */
static const fnn_cpu_row fnn_cpu_configs[] = {
    {{"amd-zen4", 256, 1024, 320 * 1024.0, 768 * 1024.0, 32 * 1024.0, 1024 * 1024.0, 16, 0, 1, 0},
     "AuthenticAMD", 0x19, {{0x10, 0x1f}, {0x60, 0x7f}, {0xa0, 0xaf}, {0, 0}}},
    {{"amd-zen3", 256, 1024, 320 * 1024.0, 768 * 1024.0, 32 * 1024.0, 1024 * 1024.0, 16, 24, 4, 2},
     "AuthenticAMD", 0x19, {{0x00, 0x0f}, {0x20, 0x5f}, {0, 0}}},
    {{"amd-zen5", 256, 1024, 320 * 1024.0, 768 * 1024.0, 32 * 1024.0, 1024 * 1024.0, 16, 24, 1, 0},
     "AuthenticAMD", 0x1a, {{0x00, 0x2f}, {0x40, 0x4f}, {0x60, 0x7f}, {0, 0}}},
    {{"intel-sapphire-emerald-rapids", 256, 1024, 320 * 1024.0, 768 * 1024.0, 128 * 1024.0, 5 * 1024 * 1024.0, 16,
      24, 4, 0},
     "GenuineIntel", 6, {{0x8f, 0x8f}, {0xa7, 0xa7}, {0xcf, 0xcf}, {0, 0}}},
    {{"default", 256, 1024, 320 * 1024.0, 768 * 1024.0, 32 * 1024.0, 1024 * 1024.0, 16, 0, 1, 0},
     NULL, 0, {{0, 0}}},
};
#define FNN_NCONFIGS ((int)(sizeof fnn_cpu_configs / sizeof fnn_cpu_configs[0]))

/* ---- the CPU ------------------------------------------------------------- */

static fnn_cpu fnn_this_cpu;

/* The size in bytes of sysfs's cache index i of cpu0 at this level and of
 * this type ("Data", "Unified"), or 0. */
static long fnn_sysfs_cache(int level, const char *type)
{
    for (int i = 0; i < 8; ++i) {
        char path[96], buf[32];
        int lvl = 0;
        long size = 0;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        FILE *f = fopen(path, "r");
        if (!f) return 0;
        if (fscanf(f, "%d", &lvl) != 1) lvl = 0;
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        f = fopen(path, "r");
        if (!f) continue;
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
        if (lvl != level || strncmp(buf, type, strlen(type)) != 0) continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        f = fopen(path, "r");
        if (!f) continue;
        char unit = 0;
        if (fscanf(f, "%ld%c", &size, &unit) < 1) size = 0;
        fclose(f);
        if (unit == 'K') size *= 1024;
        else if (unit == 'M') size *= 1024 * 1024;
        return size;
    }
    return 0;
}

#ifdef FNN_HAVE_CPUID
/* Cache sizes from CPUID's deterministic cache leaf (Intel: 4, AMD: 0x8000001D). */
static void fnn_cpuid_caches(unsigned leaf, fnn_cpu *cpu)
{
    for (unsigned i = 0; i < 8; ++i) {
        unsigned a, b, c, d;
        __cpuid_count(leaf, i, a, b, c, d);
        const unsigned type = a & 0x1f, level = (a >> 5) & 0x7;
        if (type == 0) break;
        const long size = (long)(((b >> 22) & 0x3ff) + 1) * (((b >> 12) & 0x3ff) + 1) * ((b & 0xfff) + 1) *
                          ((long)c + 1);
        if (level == 1 && type == 1 && !cpu->l1d_bytes) cpu->l1d_bytes = size;
        if (level == 2 && !cpu->l2_bytes) cpu->l2_bytes = size;
        if (level == 3 && !cpu->l3_bytes) cpu->l3_bytes = size;
    }
}

static void fnn_cpuid_identity(fnn_cpu *cpu)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    const unsigned max_leaf = a;
    memcpy(cpu->vendor, &b, 4);
    memcpy(cpu->vendor + 4, &d, 4);
    memcpy(cpu->vendor + 8, &c, 4);
    cpu->vendor[12] = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        const int base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
        cpu->family = base_family == 0xf ? base_family + (int)((a >> 20) & 0xff) : base_family;
        cpu->model = (base_family == 0x6 || base_family == 0xf) ? base_model | (int)((a >> 12) & 0xf0)
                                                                 : base_model;
    }
    unsigned brand[12];
    const unsigned max_ext = __get_cpuid(0x80000000, &a, &b, &c, &d) ? a : 0;
    if (max_ext >= 0x80000001 && __get_cpuid(0x80000001, &a, &b, &c, &d))
        cpu->prefetchw = (int)((c >> 8) & 1); /* PRFCHW */
    if (max_ext >= 0x80000004) {
        for (unsigned i = 0; i < 3; ++i)
            __get_cpuid(0x80000002 + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2], &brand[4 * i + 3]);
        memcpy(cpu->model_name, brand, 48);
        cpu->model_name[48] = 0;
    }
    if (strcmp(cpu->vendor, "GenuineIntel") == 0 && max_leaf >= 4) fnn_cpuid_caches(4, cpu);
    else if (strcmp(cpu->vendor, "AuthenticAMD") == 0) fnn_cpuid_caches(0x8000001d, cpu);
}
#endif

static void fnn_detect(fnn_cpu *cpu)
{
    memset(cpu, 0, sizeof *cpu);
    strcpy(cpu->vendor, "unknown");
#ifdef FNN_HAVE_CPUID
    fnn_cpuid_identity(cpu);
#elif defined(__aarch64__)
    cpu->prefetchw = 1; /* PRFM PSTL1KEEP is in the base instruction set */
#endif
    /* sysfs first: it is what the OS (and a VM's topology) says */
    long l1 = fnn_sysfs_cache(1, "Data"), l2 = fnn_sysfs_cache(2, "Unified"), l3 = fnn_sysfs_cache(3, "Unified");
    if (l1) cpu->l1d_bytes = l1;
    if (l2) cpu->l2_bytes = l2;
    if (l3) cpu->l3_bytes = l3;
    /* trim the brand string's padding */
    char *s = cpu->model_name;
    while (*s == ' ') ++s;
    memmove(cpu->model_name, s, strlen(s) + 1);
    for (size_t n = strlen(cpu->model_name); n > 0 && cpu->model_name[n - 1] == ' '; --n)
        cpu->model_name[n - 1] = 0;
}

/* ---- the choice ---------------------------------------------------------- */

static int fnn_row_matches(const fnn_cpu_row *row, const fnn_cpu *cpu)
{
    if (!row->vendor) return 1;
    if (strcmp(row->vendor, cpu->vendor) != 0 || row->family != cpu->family) return 0;
    for (int i = 0; i < 4 && (row->models[i].lo || row->models[i].hi); ++i)
        if (cpu->model >= row->models[i].lo && cpu->model <= row->models[i].hi) return 1;
    return 0;
}

/* A FASTNN_* count that may be 0: 1 with *out set when it is given as one. */
static int fnn_env_count(const char *name, long *out)
{
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    const long x = strtol(v, &end, 10);
    if (*end != 0 || x < 0 || x >= (1L << 30)) return 0;
    *out = x;
    return 1;
}

/* A positive whole number from the environment, or 0. */
static long fnn_env_long(const char *name)
{
    long v = 0;
    return fnn_env_count(name, &v) && v > 0 ? v : 0;
}

static fnn_config fnn_config_now;
static char fnn_config_name[64];

static void fnn_choose(const fnn_cpu *cpu, fnn_config *cfg)
{
    const char *forced = getenv("FASTNN_CPU");
    const fnn_cpu_row *row = &fnn_cpu_configs[FNN_NCONFIGS - 1];
    int found = 0;
    for (int i = 0; i < FNN_NCONFIGS && forced && *forced && !found; ++i)
        if (strcmp(fnn_cpu_configs[i].config.name, forced) == 0) row = &fnn_cpu_configs[i], found = 1;
    for (int i = 0; i < FNN_NCONFIGS && !found; ++i)
        if (fnn_row_matches(&fnn_cpu_configs[i], cpu)) row = &fnn_cpu_configs[i], found = 1;
    *cfg = row->config;
    /* derived: a packed B panel of half the L2 (at least 128 KiB, at most 2 MiB) */
    if (cfg->panel_kb <= 0) {
        const long half = cpu->l2_bytes / 2 / 1024;
        cfg->panel_kb = half < 128 ? 128 : half > 2048 ? 2048 : (int)half;
    }
    int custom = 0;
    long v;
    if ((v = fnn_env_long("FASTNN_KC")) > 0) cfg->kc = (int)(v < 16 ? 16 : v > 4096 ? 4096 : v), custom = 1;
    if ((v = fnn_env_long("FASTNN_PANEL_KB")) > 0) cfg->panel_kb = (int)(v < 16 ? 16 : v), custom = 1;
    if ((v = fnn_env_long("FASTNN_MIN_WORK")) > 0) cfg->gemm_min_work = (double)v, custom = 1;
    if ((v = fnn_env_long("FASTNN_BACKWARD_MIN_WORK")) > 0) cfg->backward_min_work = (double)v, custom = 1;
    if ((v = fnn_env_long("FASTNN_NETWORK_MIN_WORK")) > 0) cfg->network_min_work = (double)v, custom = 1;
    if ((v = fnn_env_long("FASTNN_STEP_MIN_WORK")) > 0) cfg->step_min_work = (double)v, custom = 1;
    if ((v = fnn_env_long("FASTNN_SMALL_M")) > 0) cfg->small_m = (int)(v > 16 ? 16 : v), custom = 1;
    if ((v = fnn_env_long("FASTNN_DOT_K_PER_ROW")) > 0) cfg->dot_k_per_row = (int)v, custom = 1;
    if ((v = fnn_env_long("FASTNN_DIRECT_B_SLIVERS")) > 0) cfg->direct_b_slivers = (int)(v > 1024 ? 1024 : v), custom = 1;
    if (fnn_env_count("FASTNN_TRANSPOSED_TILES", &v)) cfg->transposed_tiles = (int)(v > 64 ? 64 : v), custom = 1;
    snprintf(fnn_config_name, sizeof fnn_config_name, "%s%s", row->config.name, custom ? "+env" : "");
    cfg->name = fnn_config_name;
}

/* 0: not yet, 1: being chosen, 2: chosen.  Every kernel call reads the
 * configuration, so after the first one it is a single atomic load. */
static atomic_int fnn_config_state = 0;

const fnn_config *fnn_kernel_config(void)
{
    if (atomic_load_explicit(&fnn_config_state, memory_order_acquire) == 2) return &fnn_config_now;
    int expected = 0;
    if (atomic_compare_exchange_strong(&fnn_config_state, &expected, 1)) {
        fnn_detect(&fnn_this_cpu);
        fnn_choose(&fnn_this_cpu, &fnn_config_now);
        atomic_store_explicit(&fnn_config_state, 2, memory_order_release);
    } else {
        while (atomic_load_explicit(&fnn_config_state, memory_order_acquire) != 2) {
        }
    }
    return &fnn_config_now;
}

const fnn_cpu *fnn_cpu_info(void)
{
    fnn_kernel_config();
    return &fnn_this_cpu;
}

int fnn_cpu_config_names(const char **names, int max_names)
{
    for (int i = 0; i < FNN_NCONFIGS && i < max_names; ++i) names[i] = fnn_cpu_configs[i].config.name;
    return FNN_NCONFIGS;
}
