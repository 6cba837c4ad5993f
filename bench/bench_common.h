/* Shared by the cscalp-bench modes: the timer (fenced TSC on x86, else
 * CLOCK_MONOTONIC), percentiles and JSON string output. */
#ifndef CSCALP_BENCH_COMMON_H
#define CSCALP_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define OVERHEAD_SAMPLES 100000

#if (defined(__x86_64__) || defined(__i386__)) && !defined(CSCALP_BENCH_CLOCK_MONOTONIC)
#include <x86intrin.h>
#define TIMER_NAME "tsc"
/* lfence keeps the pushes from moving across the reads of the counter. */
static inline uint64_t timer_begin(void)
{
    _mm_lfence();
    const uint64_t t = __rdtsc();
    _mm_lfence();
    return t;
}

static inline uint64_t timer_end(void)
{
    unsigned aux;
    const uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}
#else
#define TIMER_NAME "clock_monotonic"
static inline uint64_t timer_begin(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t timer_end(void) { return timer_begin(); }
#endif

static inline double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Median cost, in ticks, of an empty timed region. */
static inline uint64_t timer_overhead(void)
{
    static uint64_t samples[OVERHEAD_SAMPLES];
    for (size_t i = 0; i < OVERHEAD_SAMPLES; i++) {
        const uint64_t t0 = timer_begin();
        samples[i] = timer_end() - t0;
    }
    qsort(samples, OVERHEAD_SAMPLES, sizeof samples[0], cmp_u64);
    return samples[OVERHEAD_SAMPLES / 2];
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n > 0 sorted values: the smallest value with
 * at least permille/1000 of the values at or below it. */
static inline double percentile(const double *sorted, size_t n, unsigned permille)
{
    const size_t rank = (n / 1000) * permille + ((n % 1000) * permille + 999) / 1000;
    return sorted[rank > 0 ? rank - 1 : 0];
}

static inline void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* The smallest non-zero difference between two timings: the timer's
 * effective resolution (coarse on some virtual machines). */
static inline double finest_step(const uint64_t *ticks, size_t n)
{
    uint64_t step = UINT64_MAX;
    for (size_t i = 1; i < n && step > 1; i++) {
        const uint64_t d = ticks[i] > ticks[i - 1] ? ticks[i] - ticks[i - 1]
                                                   : ticks[i - 1] - ticks[i];
        if (d != 0 && d < step)
            step = d;
    }
    return step == UINT64_MAX ? 0.0 : (double)step;
}

#endif
