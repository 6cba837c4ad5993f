/* The learning stage's parts that need no model: labels (point and smoothed
 * forms, time and event horizons, the bands, the P² quantile) and the replay
 * buffer (ring, recent/priority mix, save and load), against values worked
 * out by hand or by brute force here. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/labels.h"
#include "learn/replay.h"
#include "util/alloc.h"

#define S 1000000000LL

static cscalp_label_params params(int form, int64_t horizon_ns, uint32_t horizon_events)
{
    cscalp_label_params p;
    memset(&p, 0, sizeof p);
    p.form = form;
    p.band = CSCALP_BAND_FIXED;
    p.band_bps = 10;
    p.horizon_ns = horizon_ns;
    p.horizon_events = horizon_events;
    p.band_quantile = 1.0 / 3;
    p.quantile_warmup = 5;
    p.taker_fee_bps = 5;
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

START_TEST(p2_tracks_the_exact_quantile)
{
    enum { N = 20000 };
    static double v[N];
    cscalp_rng g;
    cscalp_rng_seed(&g, 11);
    const double ps[] = {0.1, 1.0 / 3, 0.5, 0.9};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        cscalp_p2_quantile q;
        cscalp_p2_init(&q, ps[k]);
        for (int i = 0; i < N; i++) {
            /* |N(0,1)|-like: the sum of uniforms, folded */
            double x = 0;
            for (int j = 0; j < 12; j++)
                x += cscalp_rng_uniform_d(&g);
            v[i] = fabs(x - 6.0);
            cscalp_p2_add(&q, v[i]);
        }
        qsort(v, N, sizeof v[0], cmp_double);
        const double exact = v[(int)(ps[k] * (N - 1))];
        ck_assert_msg(fabs(cscalp_p2_value(&q) - exact) < 0.02,
                      "p=%g: P2 %g, exact %g", ps[k], cscalp_p2_value(&q), exact);
    }
    /* Fewer than five values: the exact order statistic. */
    cscalp_p2_quantile q;
    cscalp_p2_init(&q, 0.5);
    ck_assert(cscalp_p2_value(&q) == 0.0);
    cscalp_p2_add(&q, 3);
    cscalp_p2_add(&q, 1);
    cscalp_p2_add(&q, 2);
    ck_assert(cscalp_p2_value(&q) == 2.0);
}
END_TEST

START_TEST(time_horizon_point_and_smoothed)
{
    for (int form = 0; form < 2; form++) {
        const cscalp_label_params p = params(form, 1 * S, 0);
        cscalp_label_clock c;
        cscalp_label_clock_init(&c, &p);
        cscalp_label_on_mid(&c, 0, 100.0);
        cscalp_label_anchor a;
        ck_assert(cscalp_label_anchor_at(&c, 0, 0.5, &a));
        cscalp_label_on_mid(&c, S / 2, 101.0);
        /* t + H = 1 s: an event at exactly 1 s could still change the mid in
         * force at 1 s, so the sample is not mature before it ... */
        ck_assert(!cscalp_label_mature(&c, &a, 1 * S));
        cscalp_label_on_mid(&c, 1 * S, 101.5);
        /* ... but it is before any later event. */
        ck_assert(cscalp_label_mature(&c, &a, 1 * S + 1));
        const double move = cscalp_label_move_bps(&c, &a);
        /* point: mid at 1 s = 101.5 -> +150 bps. smoothed: time-weighted mean
         * over (0, 1]: 100 for 0.5 s, 101 for 0.5 s (101.5 holds only at the
         * instant 1 s) = 100.5 -> +50 bps. */
        const double want = form == CSCALP_LABEL_POINT ? 150.0 : 50.0;
        ck_assert_msg(fabs(move - want) < 1e-9, "form %d: %.12g bps, want %g", form, move,
                      want);
        double band;
        ck_assert_int_eq(cscalp_label_classify(&c, &a, move, &band), 2);
        ck_assert(band == 10.0);
    }
}
END_TEST

START_TEST(event_horizon_point_and_smoothed)
{
    for (int form = 0; form < 2; form++) {
        const cscalp_label_params p = params(form, 0, 2);
        cscalp_label_clock c;
        cscalp_label_clock_init(&c, &p);
        cscalp_label_on_mid(&c, 0, 200.0);
        cscalp_label_anchor a;
        ck_assert(cscalp_label_anchor_at(&c, 5, 0.0, &a));
        cscalp_label_on_mid(&c, 10, 198.0);
        ck_assert(!cscalp_label_mature(&c, &a, 10));
        cscalp_label_on_mid(&c, 20, 197.0);
        ck_assert(cscalp_label_mature(&c, &a, 20));
        const double move = cscalp_label_move_bps(&c, &a);
        /* point: 197 vs 200 = -150 bps; smoothed: mean(198, 197) = 197.5 =
         * -125 bps */
        const double want = form == CSCALP_LABEL_POINT ? -150.0 : -125.0;
        ck_assert_msg(fabs(move - want) < 1e-9, "form %d: %.12g, want %g", form, move, want);
        double band;
        ck_assert_int_eq(cscalp_label_classify(&c, &a, move, &band), 0);
    }
}
END_TEST

START_TEST(bands)
{
    cscalp_label_params p = params(CSCALP_LABEL_POINT, S, 0);
    p.band = CSCALP_BAND_COST;
    cscalp_label_clock c;
    cscalp_label_clock_init(&c, &p);
    cscalp_label_on_mid(&c, 0, 100.0);
    cscalp_label_anchor a;
    ck_assert(cscalp_label_anchor_at(&c, 0, 0.75, &a));
    double band;
    /* 2 x 5 bps taker + 0.75 half spread = 10.75; flat includes the edge */
    ck_assert_int_eq(cscalp_label_classify(&c, &a, 10.75, &band), 1);
    ck_assert(fabs(band - 10.75) < 1e-12);
    ck_assert_int_eq(cscalp_label_classify(&c, &a, 10.76, &band), 2);
    ck_assert_int_eq(cscalp_label_classify(&c, &a, -10.76, &band), 0);

    p.band = CSCALP_BAND_QUANTILE;
    cscalp_label_clock_init(&c, &p);
    cscalp_label_on_mid(&c, 0, 100.0);
    ck_assert(cscalp_label_anchor_at(&c, 0, 0.0, &a));
    /* warm-up of 5: the first five labels are not given, and a label never
     * sees its own move */
    const double moves[] = {1, -2, 3, -4, 5, 2.5, -0.1};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(cscalp_label_classify(&c, &a, moves[i], &band), -1);
        ck_assert(isnan(band));
    }
    /* 1/3 quantile of {1,2,3,4,5}: index round(4/3) = 1 -> 2 */
    ck_assert_int_eq(cscalp_label_classify(&c, &a, moves[5], &band), 2);
    ck_assert(band == 2.0);
}
END_TEST

START_TEST(clock_save_load_round_trip)
{
    const cscalp_label_params p = params(CSCALP_LABEL_SMOOTHED, S, 0);
    cscalp_label_clock c, d;
    cscalp_label_clock_init(&c, &p);
    cscalp_label_clock_init(&d, &p);
    for (int i = 0; i < 50; i++)
        cscalp_label_on_mid(&c, i * S / 10, 100.0 + i * 0.01);
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_label_clock_save(&c, &w);
    cscalp_rbuf r;
    cscalp_rbuf_init(&r, w.data, w.len);
    char why[200];
    ck_assert_int_eq(cscalp_label_clock_load(&d, &r, why, sizeof why), CSCALP_OK);
    ck_assert(memcmp(&c, &d, sizeof c) == 0);
    /* every truncation is refused and leaves the target alone */
    for (size_t cut = 0; cut < w.len; cut++) {
        cscalp_label_clock e;
        cscalp_label_clock_init(&e, &p);
        const cscalp_label_clock before = e;
        cscalp_rbuf_init(&r, w.data, cut);
        ck_assert_int_eq(cscalp_label_clock_load(&e, &r, why, sizeof why), CSCALP_ECORRUPT);
        ck_assert(memcmp(&e, &before, sizeof e) == 0);
    }
    cscalp_wbuf_free(&w);
}
END_TEST

/* ---------------------------------------------------------------- replay */

static cscalp_replay *make_replay(uint32_t cap, uint32_t recent, double frac, double alpha)
{
    static cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    const cscalp_replay_params p = {.capacity = cap, .inputs = 2, .regimes = 1,
                                    .recent_window = recent, .recent_fraction = frac,
                                    .priority_alpha = alpha};
    cscalp_replay *r = NULL;
    ck_assert_int_eq(cscalp_replay_create(&mem, &p, &r), CSCALP_OK);
    return r;
}

static void add_numbered(cscalp_replay *r, int i, double loss)
{
    const float x[2] = {(float)i, (float)-i}, reg[1] = {1};
    cscalp_replay_add(r, x, reg, (uint8_t)(i % 3), loss);
}

START_TEST(replay_ring_and_recent_draws)
{
    cscalp_replay *r = make_replay(10, 4, 1.0, 0.0);
    for (int i = 0; i < 25; i++)
        add_numbered(r, i, 1.0);
    ck_assert_uint_eq(cscalp_replay_size(r), 10);
    ck_assert_uint_eq(cscalp_replay_added(r), 25);
    cscalp_rng g;
    cscalp_rng_seed(&g, 3);
    uint32_t slots[64];
    float x[128], reg[64];
    uint8_t y[64];
    int seen[25] = {0};
    for (int k = 0; k < 50; k++) {
        cscalp_replay_draw(r, &g, 64, slots);
        cscalp_replay_gather(r, slots, 64, x, reg, y);
        for (int i = 0; i < 64; i++) {
            const int id = (int)x[2 * i];
            ck_assert_msg(id >= 21 && id <= 24, "recent-only draw gave sample %d", id);
            ck_assert(x[2 * i + 1] == -x[2 * i]);
            ck_assert_int_eq(y[i], id % 3);
            seen[id]++;
        }
    }
    for (int id = 21; id <= 24; id++)
        ck_assert_msg(seen[id] > 600, "sample %d drawn %d times of 3200", id, seen[id]);
    cscalp_replay_destroy(r);
}
END_TEST

START_TEST(replay_priorities_are_proportional)
{
    /* alpha 1, no recent part: P(slot) = (loss + 1e-3) / sum */
    cscalp_replay *r = make_replay(8, 1, 0.0, 1.0);
    const double loss[8] = {0.0, 1.0, 2.0, 4.0, 0.5, 0.25, 8.0, 1.0};
    double total = 0;
    for (int i = 0; i < 8; i++) {
        add_numbered(r, i, loss[i]);
        total += loss[i] + 1e-3;
    }
    cscalp_rng g;
    cscalp_rng_seed(&g, 5);
    enum { DRAWS = 200000 };
    static uint32_t slots[DRAWS];
    cscalp_replay_draw(r, &g, DRAWS, slots);
    int count[8] = {0};
    for (int i = 0; i < DRAWS; i++)
        count[slots[i]]++;
    for (int i = 0; i < 8; i++) {
        const double want = DRAWS * (loss[i] + 1e-3) / total;
        const double sd = sqrt(want) + 1;
        ck_assert_msg(fabs(count[i] - want) < 5 * sd, "slot %d: %d draws, want %.0f", i,
                      count[i], want);
    }
    /* a new loss moves the distribution */
    cscalp_replay_set_loss(r, 0, 100.0);
    cscalp_replay_draw(r, &g, DRAWS, slots);
    int zero = 0;
    for (int i = 0; i < DRAWS; i++)
        zero += slots[i] == 0;
    ck_assert_msg(zero > DRAWS * 0.8, "slot 0 drawn %d times after its loss rose", zero);
    cscalp_replay_destroy(r);
}
END_TEST

START_TEST(replay_save_load_continues_identically)
{
    cscalp_replay *a = make_replay(16, 5, 0.5, 0.6), *b = make_replay(16, 5, 0.5, 0.6);
    for (int i = 0; i < 21; i++)
        add_numbered(a, i, 0.1 * i);
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_replay_save(a, &w);
    cscalp_rbuf in;
    cscalp_rbuf_init(&in, w.data, w.len);
    char why[256];
    ck_assert_int_eq(cscalp_replay_load(b, &in, why, sizeof why), CSCALP_OK);
    cscalp_rng ga, gb;
    cscalp_rng_seed(&ga, 9);
    cscalp_rng_seed(&gb, 9);
    uint32_t sa[32], sb[32];
    for (int k = 0; k < 10; k++) {
        add_numbered(a, 100 + k, 0.3);
        add_numbered(b, 100 + k, 0.3);
        cscalp_replay_draw(a, &ga, 32, sa);
        cscalp_replay_draw(b, &gb, 32, sb);
        ck_assert(memcmp(sa, sb, sizeof sa) == 0);
    }
    /* truncations and a bad label are refused */
    cscalp_replay *c = make_replay(16, 5, 0.5, 0.6);
    for (size_t cut = 0; cut < w.len; cut += 7) {
        cscalp_rbuf_init(&in, w.data, cut);
        ck_assert_int_eq(cscalp_replay_load(c, &in, why, sizeof why), CSCALP_ECORRUPT);
    }
    const size_t label_at = 4 * 5 + 8 + 16 * 2 * 4 + 16 * 1 * 4;
    w.data[label_at] = 7;
    cscalp_rbuf_init(&in, w.data, w.len);
    ck_assert_int_eq(cscalp_replay_load(c, &in, why, sizeof why), CSCALP_ECORRUPT);
    ck_assert_msg(strstr(why, "label") != NULL, "%s", why);
    ck_assert_uint_eq(cscalp_replay_size(c), 0);
    /* a different capacity is refused with the key named */
    cscalp_replay *d = make_replay(8, 5, 0.5, 0.6);
    cscalp_rbuf_init(&in, w.data, w.len);
    ck_assert_int_eq(cscalp_replay_load(d, &in, why, sizeof why), CSCALP_ECORRUPT);
    ck_assert_msg(strstr(why, "learn.replay_capacity_samples") != NULL, "%s", why);
    cscalp_wbuf_free(&w);
    cscalp_replay_destroy(a);
    cscalp_replay_destroy(b);
    cscalp_replay_destroy(c);
    cscalp_replay_destroy(d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("labels_replay");
    TCase *tc = tcase_create("labels");
    tcase_add_test(tc, p2_tracks_the_exact_quantile);
    tcase_add_test(tc, time_horizon_point_and_smoothed);
    tcase_add_test(tc, event_horizon_point_and_smoothed);
    tcase_add_test(tc, bands);
    tcase_add_test(tc, clock_save_load_round_trip);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("replay");
    tcase_add_test(tr, replay_ring_and_recent_draws);
    tcase_add_test(tr, replay_priorities_are_proportional);
    tcase_add_test(tr, replay_save_load_continues_identically);
    suite_add_tcase(s, tr);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
