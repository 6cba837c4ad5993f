/* The per-engine allocator: the hot path (push -> features) allocates
 * nothing after cscalp_open, and every allocation failure inside
 * cscalp_open is a clean CSCALP_ENOMEM with nothing leaked. */
#include <malloc.h>
#include <stdint.h>
#include <string.h>

#include "test_util.h"

typedef struct counting_allocator {
    long allocs;
    long frees;
    long live;
    long fail_at; /* fail the n-th allocation (0-based); -1 never */
} counting_allocator;

static void *counting_alloc(void *opaque, size_t size)
{
    counting_allocator *c = opaque;
    if (c->fail_at >= 0 && c->allocs == c->fail_at) {
        c->allocs++;
        return NULL;
    }
    c->allocs++;
    void *p = malloc(size);
    if (p != NULL)
        c->live++;
    return p;
}

static void counting_free(void *opaque, void *ptr)
{
    counting_allocator *c = opaque;
    c->frees++;
    c->live--;
    free(ptr);
}

/* glibc's own heap statistics catch a malloc the engine might make behind
 * its allocator (libc, cJSON). Sanitizer runtimes replace malloc and do
 * not keep these numbers, so that half of the check runs in plain builds. */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_STATS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_STATS 0
#endif
#endif
#ifndef HEAP_STATS
#define HEAP_STATS 1
#endif

static size_t heap_in_use(void)
{
#if HEAP_STATS
    return mallinfo2().uordblks;
#else
    return 0;
#endif
}

/* A deterministic stream of real-looking events: a random walk of the mid,
 * trades on both sides, a 10-level book every 8 events, funding rarely. */
typedef struct stream {
    uint64_t rng;
    int64_t ts;
    double mid;
} stream;

static double next_unit(stream *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (double)(s->rng >> 11) * (1.0 / 9007199254740992.0);
}

static int push_next(cscalp_engine *e, stream *s, long i)
{
    s->ts += 1000 + (int64_t)(next_unit(s) * 200000.0);
    s->mid *= 1.0 + (next_unit(s) - 0.5) * 2e-4;
    const double half = 0.05 + next_unit(s) * 0.1;
    switch (i % 8) {
    case 0: {
        cscalp_book b;
        b.ts_ns = s->ts;
        b.bid_count = b.ask_count = 10;
        for (int k = 0; k < 10; k++) {
            b.bids[k] = (cscalp_level){s->mid - half - 0.1 * k, 0.1 + next_unit(s)};
            b.asks[k] = (cscalp_level){s->mid + half + 0.1 * k, 0.1 + next_unit(s)};
        }
        return cscalp_push_book(e, &b);
    }
    case 1:
    case 3:
    case 5: {
        cscalp_trade t = {s->ts, s->mid + (next_unit(s) < 0.5 ? -half : half),
                          0.001 + next_unit(s), next_unit(s) < 0.5 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL,
                          0, i};
        return cscalp_push_trade(e, &t);
    }
    case 7:
        if (i % 8000 == 7) {
            cscalp_funding f = {s->ts, 1e-4, s->mid, s->mid, s->ts + 3600 * NS_PER_S};
            return cscalp_push_funding(e, &f);
        }
        return cscalp_tick(e, s->ts);
    default: {
        cscalp_quote q = {s->ts, s->mid - half, next_unit(s), s->mid + half, next_unit(s)};
        return cscalp_push_quote(e, &q);
    }
    }
}

START_TEST(million_events_allocate_nothing_after_open)
{
    counting_allocator c = {0, 0, 0, -1};
    const cscalp_allocator a = {counting_alloc, counting_free, &c};
    cscalp_engine *e;
    ck_assert_int_eq(cscalp_open_ex(&e, NULL, &a, NULL, 0), CSCALP_OK);
    const long after_open = c.allocs;
    ck_assert_int_gt(after_open, 0); /* the engine does use the allocator */

    stream s = {0x9E3779B97F4A7C15ull, 1700000000LL * NS_PER_S, 30000.0};
    double raw[24], z[24];
    /* Warm up once so lazily initialised libc state is not counted. */
    ck_assert_int_eq(push_next(e, &s, 0), CSCALP_OK);
    ck_assert_int_eq(cscalp_features(e, raw, z, 24, NULL), CSCALP_OK);
    cscalp_signal sig;
    sig.size = sizeof sig;
    ck_assert_int_eq(cscalp_infer(e, &sig), CSCALP_OK);
    const size_t heap_before = heap_in_use();

    /* The hot path: push, features, infer. */
    for (long i = 1; i < 1000000; i++) {
        ck_assert_int_eq(push_next(e, &s, i), CSCALP_OK);
        if (i % 16 == 0)
            ck_assert_int_eq(cscalp_features(e, raw, z, 24, NULL), CSCALP_OK);
        if (i % 4 == 0)
            ck_assert_int_eq(cscalp_infer(e, &sig), CSCALP_OK);
    }
    ck_assert_int_eq(c.allocs, after_open);
    ck_assert_int_eq(c.frees, 0);
    ck_assert_uint_eq(heap_in_use(), heap_before);

    /* The stream really exercised the features. */
    for (int k = 0; k < 24; k++)
        ck_assert_msg(raw[k] == raw[k], "feature %d is NaN", k);
    ck_assert_double_ne(raw[7], 0.0);
    cscalp_close(e);
    ck_assert_int_eq(c.live, 0);
}
END_TEST

START_TEST(each_allocation_failure_in_open_is_clean)
{
    /* Count the allocations of a successful open, then fail each in turn. */
    counting_allocator probe = {0, 0, 0, -1};
    const cscalp_allocator pa = {counting_alloc, counting_free, &probe};
    cscalp_engine *e;
    ck_assert_int_eq(cscalp_open_ex(&e, "{\"feed\":{\"book_levels\":20}}", &pa, NULL, 0),
                     CSCALP_OK);
    cscalp_close(e);
    ck_assert_int_ge(probe.allocs, 3);

    for (long k = 0; k < probe.allocs; k++) {
        counting_allocator c = {0, 0, 0, k};
        const cscalp_allocator a = {counting_alloc, counting_free, &c};
        char err[128] = "";
        e = (cscalp_engine *)&c;
        ck_assert_int_eq(cscalp_open_ex(&e, "{\"feed\":{\"book_levels\":20}}", &a, err,
                                        sizeof err),
                         CSCALP_ENOMEM);
        ck_assert_ptr_null(e);
        ck_assert_ptr_nonnull(strstr(err, "out of memory"));
        ck_assert_int_eq(c.live, 0);
        ck_assert_int_eq(c.allocs, k + 1); /* stopped at the failure */
    }
}
END_TEST

START_TEST(allocator_without_functions_is_refused)
{
    const cscalp_allocator a = {NULL, counting_free, NULL};
    cscalp_engine *e;
    char err[128];
    ck_assert_int_eq(cscalp_open_ex(&e, NULL, &a, err, sizeof err), CSCALP_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "allocator"));
    ck_assert_int_eq(cscalp_open_ex(NULL, NULL, NULL, err, sizeof err), CSCALP_EINVAL);
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("alloc");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, million_events_allocate_nothing_after_open);
    tcase_add_test(tc, each_allocation_failure_in_open_is_clean);
    tcase_add_test(tc, allocator_without_functions_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(alloc_suite()); }
