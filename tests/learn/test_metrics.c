/* Prequential scores and the class prior (src/learn/metrics.h, definitions
 * in docs/learning.md "Prequential scoring"):
 * - hand-computed examples in scikit-learn's conventions (macro-F1 over the
 *   classes present in y_true ∪ y_pred, zero_division = 0), the log-loss
 *   clamp, renormalisation and argmax ties;
 * - invalid predictions refused, counted and left out of every score;
 * - random streams against a brute-force recompute from the stored history
 *   after every update, for windows from 1 to larger than the stream;
 * - 10⁷ updates without drift of the rolling log-loss;
 * - save/load: bit-identical continuation, every truncation and every
 *   inconsistent field refused with the target unchanged;
 * - the class prior: Laplace counts, forgetting by half-life, save/load. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "learn/metrics.h"
#include "test_util.h"
#include "util/alloc.h"

static cscalp_allocator plain(void)
{
    cscalp_allocator a;
    cscalp_mem_init(&a, NULL);
    return a;
}

static cscalp_score *make(uint32_t window)
{
    cscalp_allocator mem = plain();
    cscalp_score *s = NULL;
    ck_assert_int_eq(cscalp_score_create(&mem, window, &s), CSCALP_OK);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* Probabilities (0.5, 0.25, 0.25) with the 0.5 on `pred`: exact in float,
 * sum exactly 1, argmax `pred`. */
static void feed(cscalp_score *s, int label, int pred)
{
    float p[3] = {0.25f, 0.25f, 0.25f};
    p[pred] = 0.5f;
    ck_assert_int_eq(cscalp_score_update(s, p, (uint8_t)label), CSCALP_OK);
}

#define ASSERT_CLOSE(a, b, tol)                                                          \
    do {                                                                                 \
        const double a_ = (a), b_ = (b);                                                 \
        ck_assert_msg(fabs(a_ - b_) <= (tol), "%s = %.17g, want %.17g (tol %g)", #a, a_, \
                      b_, (double)(tol));                                                \
    } while (0)

/* ------------------------------------------------------------ hand-worked */

START_TEST(sklearn_docs_example)
{
    /* y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1] (scikit-learn's
     * f1_score docstring): confusion [true][pred] =
     *   [[2, 0, 0],
     *    [1, 0, 1],
     *    [0, 2, 0]]
     * class 0: TP 2, FP 1, FN 0 -> F1 = 4/5 = 0.8
     * class 1: TP 0, FP 2, FN 2 -> 0;  class 2: TP 0, FP 1, FN 2 -> 0
     * macro-F1 = 0.8 / 3 = 0.2666…  (sklearn: 0.26666666666666666)
     * accuracy 2/6; log-loss: p_label = 0.5 on the two hits, 0.25 on the
     * four misses: (2·ln 2 + 4·ln 4) / 6 = 10·ln 2 / 6. */
    cscalp_score *s = make(100);
    const int y[] = {0, 1, 2, 0, 1, 2}, yp[] = {0, 2, 1, 0, 0, 1};
    for (int i = 0; i < 6; i++)
        feed(s, y[i], yp[i]);
    cscalp_score_summary c, r;
    cscalp_score_cumulative(s, &c);
    cscalp_score_rolling(s, &r);
    ck_assert_uint_eq(c.count, 6);
    ASSERT_CLOSE(c.macro_f1, 0.8 / 3.0, 1e-15);
    ASSERT_CLOSE(c.f1[0], 0.8, 1e-15);
    ck_assert(c.f1[1] == 0.0 && c.f1[2] == 0.0);
    ASSERT_CLOSE(c.accuracy, 2.0 / 6.0, 1e-15);
    ASSERT_CLOSE(c.log_loss, 10.0 * log(2.0) / 6.0, 1e-15);
    const uint64_t want[3][3] = {{2, 0, 0}, {1, 0, 1}, {0, 2, 0}};
    ck_assert(memcmp(c.confusion, want, sizeof want) == 0);
    /* The window is not full: rolling = cumulative. */
    ck_assert(memcmp(&c, &r, sizeof c) == 0);
    cscalp_score_destroy(s);
}
END_TEST

START_TEST(macro_f1_absent_classes)
{
    /* y_true = [0, 0, 1, 1], y_pred = [0, 0, 1, 0]: class 2 is neither true
     * nor predicted, so (like sklearn with `labels` unset) it is not
     * averaged in. class 0: TP 2, FP 1, FN 0 -> 4/5; class 1: TP 1, FP 0,
     * FN 1 -> 2/3. macro = (0.8 + 0.6667) / 2 = 0.7333… (0.4889 if class 2
     * counted as 0). */
    cscalp_score *s = make(10);
    const int y[] = {0, 0, 1, 1}, yp[] = {0, 0, 1, 0};
    for (int i = 0; i < 4; i++)
        feed(s, y[i], yp[i]);
    cscalp_score_summary c;
    cscalp_score_cumulative(s, &c);
    ASSERT_CLOSE(c.macro_f1, (0.8 + 2.0 / 3.0) / 2.0, 1e-15);
    ck_assert(isnan(c.f1[2]));
    cscalp_score_destroy(s);

    /* y_true = [0, 0, 0], y_pred = [0, 2, 0]: class 2 only predicted, so it
     * is present with F1 = 0 (precision 0/1, recall 0/0 -> 0). class 0:
     * TP 2, FP 0, FN 1 -> 4/5. macro = (0.8 + 0) / 2 = 0.4; class 1 absent. */
    s = make(10);
    feed(s, 0, 0);
    feed(s, 0, 2);
    feed(s, 0, 0);
    cscalp_score_cumulative(s, &c);
    ASSERT_CLOSE(c.macro_f1, 0.4, 1e-15);
    ck_assert(c.f1[2] == 0.0 && isnan(c.f1[1]));
    cscalp_score_destroy(s);

    /* Perfect predictions of one class: macro-F1 1 (one class present). */
    s = make(10);
    feed(s, 1, 1);
    feed(s, 1, 1);
    cscalp_score_cumulative(s, &c);
    ck_assert(c.macro_f1 == 1.0 && c.accuracy == 1.0);
    cscalp_score_destroy(s);
}
END_TEST

START_TEST(empty_scorer_is_nan)
{
    cscalp_score *s = make(4);
    cscalp_score_summary c, r;
    cscalp_score_cumulative(s, &c);
    cscalp_score_rolling(s, &r);
    ck_assert_uint_eq(c.count, 0);
    ck_assert(isnan(c.log_loss) && isnan(c.accuracy) && isnan(c.macro_f1));
    ck_assert(isnan(r.log_loss) && isnan(r.f1[0]));
    ck_assert_uint_eq(cscalp_score_window(s), 4);
    cscalp_score_destroy(s);
}
END_TEST

START_TEST(clamp_renormalise_ties)
{
    cscalp_score *s = make(1);
    cscalp_score_summary r;
    /* p_label = 0: loss ln 10⁷ exactly (the floor). */
    const float zero[3] = {0.0f, 1.0f, 0.0f};
    ck_assert_int_eq(cscalp_score_update(s, zero, 0), CSCALP_OK);
    cscalp_score_rolling(s, &r);
    ck_assert(r.log_loss == -log(1e-7));
    /* A tiny p_label below the floor is floored too. */
    const float tiny[3] = {1e-12f, 0.5f, 0.5f};
    ck_assert_int_eq(cscalp_score_update(s, tiny, 0), CSCALP_OK);
    cscalp_score_rolling(s, &r);
    ck_assert(r.log_loss == -log(1e-7));
    /* Unnormalised (2, 1, 1) scores like (0.5, 0.25, 0.25). */
    const float big[3] = {2.0f, 1.0f, 1.0f};
    ck_assert_int_eq(cscalp_score_update(s, big, 0), CSCALP_OK);
    cscalp_score_rolling(s, &r);
    ck_assert(r.log_loss == log(2.0));
    /* Certainty on the label: loss +0. */
    const float one[3] = {0.0f, 0.0f, 1.0f};
    ck_assert_int_eq(cscalp_score_update(s, one, 2), CSCALP_OK);
    cscalp_score_rolling(s, &r);
    ck_assert(r.log_loss == 0.0 && !signbit(r.log_loss));

    /* Ties go to the lowest index. */
    const struct {
        float p[3];
        int pred;
    } ties[] = {
        {{0.4f, 0.4f, 0.2f}, 0},
        {{0.2f, 0.4f, 0.4f}, 1},
        {{0.4f, 0.2f, 0.4f}, 0},
        {{1.0f / 3, 1.0f / 3, 1.0f / 3}, 0},
        {{0.0f, 0.0f, 1e-30f}, 2},
    };
    for (size_t i = 0; i < sizeof ties / sizeof ties[0]; i++) {
        cscalp_score *t = make(3);
        ck_assert_int_eq(cscalp_score_update(t, ties[i].p, 1), CSCALP_OK);
        cscalp_score_cumulative(t, &r);
        ck_assert_msg(r.confusion[1][ties[i].pred] == 1, "case %zu", i);
        cscalp_score_destroy(t);
    }
    cscalp_score_destroy(s);
}
END_TEST

START_TEST(invalid_skipped_and_counted)
{
    cscalp_score *s = make(3);
    feed(s, 0, 0);
    feed(s, 2, 1);
    cscalp_score_summary before_c, before_r, c, r;
    cscalp_score_cumulative(s, &before_c);
    cscalp_score_rolling(s, &before_r);
    const struct {
        float p[3];
        uint8_t label;
        int rc;
    } bad[] = {
        {{NAN, 0.5f, 0.5f}, 0, CSCALP_ENONFINITE},
        {{0.5f, INFINITY, 0.5f}, 1, CSCALP_ENONFINITE},
        {{0.5f, 0.5f, -INFINITY}, 2, CSCALP_ENONFINITE},
        {{-0.1f, 0.6f, 0.5f}, 1, CSCALP_EINVAL},
        {{0.0f, 0.0f, 0.0f}, 0, CSCALP_EINVAL},
        {{0.2f, 0.3f, 0.5f}, 3, CSCALP_EINVAL},
        {{0.2f, 0.3f, 0.5f}, 255, CSCALP_EINVAL},
    };
    const size_t n = sizeof bad / sizeof bad[0];
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(cscalp_score_update(s, bad[i].p, bad[i].label), bad[i].rc);
    cscalp_score_cumulative(s, &c);
    cscalp_score_rolling(s, &r);
    ck_assert_uint_eq(c.invalid, n);
    ck_assert_uint_eq(r.invalid, n);
    /* Everything else is as before. */
    c.invalid = r.invalid = 0;
    ck_assert(memcmp(&c, &before_c, sizeof c) == 0);
    ck_assert(memcmp(&r, &before_r, sizeof r) == 0);
    /* The window holds valid samples only: one more valid fills it. */
    feed(s, 1, 1);
    cscalp_score_rolling(s, &r);
    ck_assert_uint_eq(r.count, 3);
    cscalp_score_reset(s);
    cscalp_score_cumulative(s, &c);
    ck_assert_uint_eq(c.count, 0);
    ck_assert_uint_eq(c.invalid, 0);
    cscalp_score_destroy(s);
}
END_TEST

START_TEST(create_errors)
{
    cscalp_allocator mem = plain();
    cscalp_score *s = (cscalp_score *)&mem;
    ck_assert_int_eq(cscalp_score_create(&mem, 0, &s), CSCALP_ECONFIG_RANGE);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(cscalp_score_create(&mem, CSCALP_SCORE_MAX_WINDOW + 1, &s),
                     CSCALP_ECONFIG_RANGE);
    /* Every allocation failing in turn: ENOMEM and nothing left behind. */
    for (long k = 1;; k++) {
        tu_alloc st = {0, 0, k};
        cscalp_allocator a = tu_allocator(&st);
        const int rc = cscalp_score_create(&a, 50, &s);
        if (rc == CSCALP_OK) {
            ck_assert_int_gt(k, 1);
            cscalp_score_destroy(s);
            ck_assert_int_eq(st.live, 0);
            break;
        }
        ck_assert_int_eq(rc, CSCALP_ENOMEM);
        ck_assert_ptr_null(s);
        ck_assert_int_eq(st.live, 0);
    }
}
END_TEST

/* ------------------------------------------------------- random streams */

/* A random prediction of one of several shapes (clamped, tied, uniform,
 * tiny, unnormalised, random); *valid = 0 for the occasional invalid one. */
static void random_pred(tu_rng *g, float p[3], uint8_t *label, int *valid)
{
    *valid = 1;
    *label = (uint8_t)tu_int(g, 3);
    const int a = tu_int(g, 3);
    switch (tu_int(g, 12)) {
    case 0: /* certain, possibly of the wrong class */
        p[0] = p[1] = p[2] = 0.0f;
        p[a] = 1.0f;
        break;
    case 1: /* a tie on two classes */
        p[0] = p[1] = p[2] = 0.4f;
        p[a] = 0.2f;
        break;
    case 2:
        p[0] = p[1] = p[2] = 1.0f / 3.0f;
        break;
    case 3: /* below the floor */
        p[0] = p[1] = p[2] = 0.5f;
        p[a] = 1e-9f;
        break;
    case 4: /* unnormalised */
        for (int k = 0; k < 3; k++)
            p[k] = (float)(0.1 + 10.0 * tu_uniform(g));
        break;
    case 5: { /* invalid */
        *valid = 0;
        p[0] = p[1] = p[2] = 0.3f;
        const int how = tu_int(g, 4);
        if (how == 0)
            p[a] = NAN;
        else if (how == 1)
            p[a] = -0.25f;
        else if (how == 2)
            p[0] = p[1] = p[2] = 0.0f;
        else
            *label = 3;
        break;
    }
    default: {
        double u[3], t = 0.0;
        for (int k = 0; k < 3; k++)
            t += u[k] = -log(1.0 - tu_uniform(g));
        for (int k = 0; k < 3; k++)
            p[k] = (float)(u[k] / t);
    }
    }
}

/* Brute force over history[from, to): the definitions, written out again
 * with precision/recall (the pre-1.3 scikit-learn formula). */
typedef struct ref_view {
    uint64_t count;
    uint64_t conf[3][3];
    double log_loss, accuracy, macro_f1, f1[3];
} ref_view;

static double ref_loss(const float p[3], int y)
{
    double q = (double)p[y] / ((double)p[0] + (double)p[1] + (double)p[2]);
    if (q < 1e-7)
        q = 1e-7;
    return -log(q);
}

static int ref_argmax(const float p[3])
{
    int best = 0;
    for (int k = 1; k < 3; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

static void ref_score(const float (*probs)[3], const uint8_t *labels, size_t from, size_t to,
                      ref_view *v)
{
    memset(v, 0, sizeof *v);
    long double sum = 0.0L;
    uint64_t hits = 0;
    for (size_t i = from; i < to; i++) {
        const int y = labels[i], q = ref_argmax(probs[i]);
        v->conf[y][q]++;
        hits += y == q;
        sum += (long double)ref_loss(probs[i], y);
    }
    v->count = to - from;
    v->log_loss = (double)(sum / (long double)v->count);
    v->accuracy = (double)hits / (double)v->count;
    double f1_sum = 0.0;
    int present = 0;
    for (int k = 0; k < 3; k++) {
        double tp = (double)v->conf[k][k], t = 0.0, pr = 0.0;
        for (int j = 0; j < 3; j++) {
            t += (double)v->conf[k][j];
            pr += (double)v->conf[j][k];
        }
        if (t == 0.0 && pr == 0.0) {
            v->f1[k] = (double)NAN;
            continue;
        }
        const double precision = pr > 0.0 ? tp / pr : 0.0, recall = t > 0.0 ? tp / t : 0.0;
        v->f1[k] = precision + recall > 0.0
                       ? 2.0 * precision * recall / (precision + recall)
                       : 0.0;
        f1_sum += v->f1[k];
        present++;
    }
    v->macro_f1 = f1_sum / present;
}

static void assert_matches(const cscalp_score_summary *s, const ref_view *v, const char *what,
                           size_t at)
{
    ck_assert_msg(s->count == v->count, "%s at %zu: count %llu, want %llu", what, at,
                  (unsigned long long)s->count, (unsigned long long)v->count);
    ck_assert_msg(memcmp(s->confusion, v->conf, sizeof v->conf) == 0, "%s at %zu: confusion",
                  what, at);
    ck_assert_msg(fabs(s->log_loss - v->log_loss) <= 1e-12 * (1.0 + v->log_loss),
                  "%s at %zu: log-loss %.17g, want %.17g", what, at, s->log_loss, v->log_loss);
    ck_assert_msg(s->accuracy == v->accuracy, "%s at %zu: accuracy", what, at);
    ck_assert_msg(fabs(s->macro_f1 - v->macro_f1) <= 1e-12,
                  "%s at %zu: macro-F1 %.17g, want %.17g", what, at, s->macro_f1, v->macro_f1);
    for (int k = 0; k < 3; k++)
        ck_assert_msg(isnan(s->f1[k]) ? isnan(v->f1[k]) : fabs(s->f1[k] - v->f1[k]) <= 1e-12,
                      "%s at %zu: F1 of class %d", what, at, k);
}

START_TEST(random_streams_match_brute_force)
{
    enum { N = 3000 };
    static float probs[N][3];
    static uint8_t labels[N];
    const uint32_t windows[] = {1, 2, 7, 100, 2999, 3000, 5000};
    for (size_t wi = 0; wi < sizeof windows / sizeof windows[0]; wi++) {
        const uint32_t W = windows[wi];
        tu_rng g = {1000 + W};
        cscalp_score *s = make(W);
        size_t n = 0;
        uint64_t invalid = 0;
        for (int step = 0; step < N; step++) {
            float p[3];
            uint8_t y;
            int valid;
            random_pred(&g, p, &y, &valid);
            const int rc = cscalp_score_update(s, p, y);
            if (!valid) {
                ck_assert_int_ne(rc, CSCALP_OK);
                invalid++;
            } else {
                ck_assert_int_eq(rc, CSCALP_OK);
                memcpy(probs[n], p, sizeof p);
                labels[n++] = y;
            }
            if (n == 0)
                continue;
            cscalp_score_summary c, r;
            ref_view v;
            cscalp_score_cumulative(s, &c);
            cscalp_score_rolling(s, &r);
            ck_assert_uint_eq(c.invalid, invalid);
            ref_score((const float(*)[3])probs, labels, 0, n, &v);
            assert_matches(&c, &v, "cumulative", n);
            ref_score((const float(*)[3])probs, labels, n > W ? n - W : 0, n, &v);
            assert_matches(&r, &v, "rolling", n);
        }
        ck_assert_uint_gt(invalid, 0);
        cscalp_score_destroy(s);
    }
}
END_TEST

/* 10⁷ updates whose losses swing between ln 10⁷ and ~1e-7 (large
 * cancellations in the rolling sum): the rolling mean stays within 1e-12
 * of a recompute over the window, the cumulative one within 1e-12 of a
 * Kahan sum. */
START_TEST(long_run_no_drift)
{
    const uint32_t windows[] = {1000, 3};
    const long steps[] = {10000000L, 2000000L};
    for (int wi = 0; wi < 2; wi++) {
        const uint32_t W = windows[wi];
        cscalp_score *s = make(W);
        double *ring = calloc(W, sizeof *ring);
        ck_assert_ptr_nonnull(ring);
        tu_rng g = {77 + W};
        double ksum = 0.0, kc = 0.0, worst = 0.0;
        for (long i = 1; i <= steps[wi]; i++) {
            float p[3];
            const uint8_t y = (uint8_t)tu_int(&g, 3);
            const int shape = tu_int(&g, 4);
            const double q = shape == 0 ? 1e-9 : shape == 1 ? 1.0 - 1e-7 : tu_uniform(&g);
            for (int k = 0; k < 3; k++)
                p[k] = (float)((1.0 - q) / 2.0);
            p[y] = (float)q;
            ck_assert_int_eq(cscalp_score_update(s, p, y), CSCALP_OK);
            const double l = ref_loss(p, y);
            ring[(i - 1) % W] = l;
            const double yk = l - kc, tk = ksum + yk;
            kc = (tk - ksum) - yk;
            ksum = tk;
            if (i % 99991 == 0 || i == steps[wi]) {
                long double brute = 0.0L;
                const long n = i < W ? i : W;
                for (long j = 0; j < n; j++)
                    brute += (long double)ring[j];
                const double want = (double)(brute / n);
                cscalp_score_summary r, c;
                cscalp_score_rolling(s, &r);
                cscalp_score_cumulative(s, &c);
                const double err = fabs(r.log_loss - want);
                if (err > worst)
                    worst = err;
                ck_assert_msg(err <= 1e-12, "W %u after %ld: rolling %.17g, brute %.17g", W,
                              i, r.log_loss, want);
                const double cwant = ksum / (double)i;
                ck_assert_msg(fabs(c.log_loss - cwant) <= 1e-12 * cwant,
                              "W %u after %ld: cumulative %.17g, Kahan %.17g", W, i,
                              c.log_loss, cwant);
            }
        }
        printf("long_run_no_drift: W %u, %ld updates, worst rolling error %.3g\n", W,
               steps[wi], worst);
        free(ring);
        cscalp_score_destroy(s);
    }
}
END_TEST

/* ---------------------------------------------------------- checkpoints */

typedef struct bytes {
    uint8_t *data;
    size_t len;
} bytes;

static bytes save_score(const cscalp_score *s)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_score_save(s, &w);
    ck_assert(!w.failed);
    bytes b = {malloc(w.len ? w.len : 1), w.len};
    memcpy(b.data, w.data, w.len);
    cscalp_wbuf_free(&w);
    return b;
}

static int same_bytes(bytes a, bytes b)
{
    return a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
}

static int load_score(cscalp_score *s, const uint8_t *data, size_t len, char *why,
                      size_t cap)
{
    cscalp_rbuf r;
    cscalp_rbuf_init(&r, data, len);
    return cscalp_score_load(s, &r, why, cap);
}

static void run_stream(cscalp_score *s, tu_rng *g, int n)
{
    for (int i = 0; i < n; i++) {
        float p[3];
        uint8_t y;
        int valid;
        random_pred(g, p, &y, &valid);
        cscalp_score_update(s, p, y);
    }
}

START_TEST(save_load_continues_identically)
{
    const uint32_t windows[] = {1, 5, 64};
    for (int wi = 0; wi < 3; wi++) {
        const uint32_t W = windows[wi];
        const int splits[] = {0, 1, (int)W - 1, (int)W, (int)W + 2, 3 * (int)W + 1, 1000};
        for (int si = 0; si < 7; si++) {
            tu_rng g = {5 + W * 31 + (uint64_t)si};
            cscalp_score *a = make(W), *b = make(W);
            run_stream(a, &g, splits[si]);
            bytes sa = save_score(a);
            char why[200] = "";
            ck_assert_msg(load_score(b, sa.data, sa.len, why, sizeof why) == CSCALP_OK, "%s",
                          why);
            bytes sb = save_score(b);
            ck_assert(same_bytes(sa, sb));
            tu_rng g2 = g;
            run_stream(a, &g, 500);
            run_stream(b, &g2, 500);
            cscalp_score_summary x, y;
            cscalp_score_rolling(a, &x);
            cscalp_score_rolling(b, &y);
            ck_assert(memcmp(&x, &y, sizeof x) == 0);
            cscalp_score_cumulative(a, &x);
            cscalp_score_cumulative(b, &y);
            ck_assert(memcmp(&x, &y, sizeof x) == 0);
            bytes ea = save_score(a), eb = save_score(b);
            ck_assert(same_bytes(ea, eb));
            free(sa.data);
            free(sb.data);
            free(ea.data);
            free(eb.data);
            cscalp_score_destroy(a);
            cscalp_score_destroy(b);
        }
    }
}
END_TEST

/* Offsets of the saved fields (metrics.c's layout comment). */
enum {
    OFF_WINDOW = 0,
    OFF_COUNT = 4,
    OFF_INVALID = 12,
    OFF_CONF = 20,
    OFF_LOSS = 92,
    OFF_FILLED = 108,
    OFF_HEAD = 112,
    OFF_RCONF = 116,
    OFF_RLOSS = 188,
    OFF_FRESH = 204,
    OFF_RING = 220
};

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_f64(uint8_t *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_le(p, v, 8);
}

static double get_f64(const uint8_t *p)
{
    const uint64_t v = get_le(p, 8);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

/* Load `data` into t, expecting `want`; on refusal t must be unchanged. */
static void expect_load(cscalp_score *t, const uint8_t *data, size_t len, int want,
                        const char *what)
{
    bytes before = save_score(t);
    char why[200] = "";
    const int rc = load_score(t, data, len, why, sizeof why);
    ck_assert_msg(rc == want, "%s: got %d (%s), want %d", what, rc, why, want);
    if (rc != CSCALP_OK) {
        ck_assert_msg(why[0] != '\0', "%s: no message", what);
        bytes after = save_score(t);
        ck_assert_msg(same_bytes(before, after), "%s: target changed", what);
        free(after.data);
    }
    free(before.data);
}

START_TEST(load_refuses_corruption)
{
    enum { W = 8 };
    tu_rng g = {99};
    cscalp_score *a = make(W), *t = make(W);
    run_stream(a, &g, 14); /* the window is full, head mid-ring */
    run_stream(t, &g, 5);
    bytes good = save_score(a);
    const uint32_t filled = (uint32_t)get_le(good.data + OFF_FILLED, 4);
    ck_assert_uint_eq(filled, W);
    ck_assert_uint_eq(good.len, OFF_RING + (size_t)filled * 10);
    uint8_t *buf = malloc(good.len);

    /* Every truncation. */
    for (size_t len = 0; len < good.len; len++)
        expect_load(t, good.data, len, CSCALP_ECORRUPT, "truncated");

    /* A different window: refused, with the reason. */
    {
        cscalp_score *other = make(W + 1);
        char why[200] = "";
        ck_assert_int_eq(load_score(other, good.data, good.len, why, sizeof why),
                         CSCALP_ECORRUPT);
        ck_assert_msg(strstr(why, "window") != NULL, "%s", why);
        cscalp_score_destroy(other);
    }

    /* One inconsistent field at a time. */
    const uint64_t count = get_le(good.data + OFF_COUNT, 8);
    enum { SET_INT, INC_INT, ADD_F64, SET_F64 };
    const struct {
        const char *what;
        size_t off;
        int how, width; /* width of an integer field in bytes */
        double value;
    } edits[] = {
        {"count + 1", OFF_COUNT, SET_INT, 8, (double)(count + 1)},
        {"count - 1", OFF_COUNT, SET_INT, 8, (double)(count - 1)},
        {"cumulative cell + 1", OFF_CONF + 8 * 4, INC_INT, 8, 0},
        {"filled - 1", OFF_FILLED, SET_INT, 4, W - 1},
        {"head = window", OFF_HEAD, SET_INT, 4, W},
        {"rolling cell + 1", OFF_RCONF + 8 * 4, INC_INT, 8, 0},
        {"rolling sum + 0.5", OFF_RLOSS, ADD_F64, 0, 0.5},
        {"fresh sum + 0.5", OFF_FRESH, ADD_F64, 0, 0.5},
        {"cumulative sum NaN", OFF_LOSS, SET_F64, 0, (double)NAN},
        {"cumulative sum huge", OFF_LOSS, SET_F64, 0, 1e300},
        {"rolling compensation inf", OFF_RLOSS + 8, SET_F64, 0, (double)INFINITY},
        {"label 3", OFF_RING + 2, SET_INT, 1, 3},
        {"prediction 7", OFF_RING + W + 1, SET_INT, 1, 7},
        {"loss NaN", OFF_RING + 2 * W + 8 * 3, SET_F64, 0, (double)NAN},
        {"loss negative", OFF_RING + 2 * W + 8 * 3, SET_F64, 0, -1.0},
        {"loss above ln 1e7", OFF_RING + 2 * W + 8 * 3, SET_F64, 0, 17.0},
    };
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        memcpy(buf, good.data, good.len);
        uint8_t *at = buf + edits[e].off;
        switch (edits[e].how) {
        case SET_INT:
            put_le(at, (uint64_t)edits[e].value, edits[e].width);
            break;
        case INC_INT:
            put_le(at, get_le(at, edits[e].width) + 1, edits[e].width);
            break;
        case ADD_F64:
            put_f64(at, get_f64(at) + edits[e].value);
            break;
        default:
            put_f64(at, edits[e].value);
        }
        expect_load(t, buf, good.len, CSCALP_ECORRUPT, edits[e].what);
    }
    /* A label and its prediction swapped for another valid class: the
     * rolling matrix no longer matches the ring. */
    memcpy(buf, good.data, good.len);
    buf[OFF_RING + W] = (uint8_t)((buf[OFF_RING + W] + 1) % 3);
    expect_load(t, buf, good.len, CSCALP_ECORRUPT, "prediction changed");

    /* Every single-bit flip of every byte: refused with t unchanged, or
     * accepted (a flip that leaves a consistent state, e.g. in `invalid`
     * or the low bits of a sum) with finite scores. */
    bytes t_state = save_score(t);
    int refused = 0, accepted = 0;
    for (size_t i = 0; i < good.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(buf, good.data, good.len);
            buf[i] ^= (uint8_t)(1u << bit);
            bytes before = save_score(t);
            char why[200];
            if (load_score(t, buf, good.len, why, sizeof why) != CSCALP_OK) {
                bytes after = save_score(t);
                ck_assert_msg(same_bytes(before, after), "flip %zu.%d changed t", i, bit);
                free(after.data);
                refused++;
            } else {
                cscalp_score_summary r;
                cscalp_score_rolling(t, &r);
                ck_assert(isfinite(r.log_loss) && r.log_loss >= 0.0);
                ck_assert_int_eq(load_score(t, t_state.data, t_state.len, why, sizeof why),
                                 CSCALP_OK);
                accepted++;
            }
            free(before.data);
        }
    ck_assert_int_gt(refused, accepted);

    /* The unmodified bytes load. */
    expect_load(t, good.data, good.len, CSCALP_OK, "intact");
    free(t_state.data);
    free(buf);
    free(good.data);
    cscalp_score_destroy(a);
    cscalp_score_destroy(t);
}
END_TEST

/* ------------------------------------------------------------ class prior */

START_TEST(prior_laplace_counts)
{
    cscalp_prior p;
    cscalp_prior_init(&p);
    double q[3];
    cscalp_prior_predict_d(&p, q);
    for (int k = 0; k < 3; k++)
        ck_assert(q[k] == 1.0 / 3.0);
    /* labels 0, 0, 2, 0, 1: counts (3, 1, 1) -> (4, 2, 2) / 8. */
    const uint8_t y[] = {0, 0, 2, 0, 1};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(cscalp_prior_update(&p, y[i]), CSCALP_OK);
    cscalp_prior_predict_d(&p, q);
    ck_assert(q[0] == 0.5 && q[1] == 0.25 && q[2] == 0.25);
    float f[3];
    cscalp_prior_predict(&p, f);
    ck_assert(f[0] == 0.5f && f[1] == 0.25f && f[2] == 0.25f);
    ck_assert_int_eq(cscalp_prior_update(&p, 3), CSCALP_EINVAL);
    ck_assert_uint_eq(p.updates, 5);
}
END_TEST

START_TEST(prior_half_life)
{
    cscalp_prior p;
    ck_assert_int_eq(cscalp_prior_init_half_life(&p, -1.0), CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(cscalp_prior_init_half_life(&p, 0.5), CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(cscalp_prior_init_half_life(&p, (double)NAN), CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(cscalp_prior_init_half_life(&p, (double)INFINITY), CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(cscalp_prior_init_half_life(&p, 0.0), CSCALP_OK);
    ck_assert(p.decay == 1.0);
    ck_assert_int_eq(cscalp_prior_init_half_life(&p, 10.0), CSCALP_OK);
    /* One label 1, then 10 of label 0: the label-1 count has halved. */
    cscalp_prior_update(&p, 1);
    for (int i = 0; i < 10; i++)
        cscalp_prior_update(&p, 0);
    ASSERT_CLOSE(p.count[1], 0.5, 1e-14);
    /* count 0 = Σ_{i<10} 2^(−i/10) */
    double want = 0.0;
    for (int i = 0; i < 10; i++)
        want += pow(2.0, -i / 10.0);
    ASSERT_CLOSE(p.count[0], want, 1e-13);
    double q[3];
    cscalp_prior_predict_d(&p, q);
    ASSERT_CLOSE(q[1], 1.5 / (want + 0.5 + 3.0), 1e-14);
    /* A long run of one label: counts settle at 1 / (1 − decay) ≈ h / ln 2. */
    for (int i = 0; i < 2000; i++)
        cscalp_prior_update(&p, 2);
    ASSERT_CLOSE(p.count[2], 1.0 / (1.0 - pow(2.0, -0.1)), 1e-9);
    ck_assert(p.count[0] < 1e-50);
}
END_TEST

static bytes save_prior(const cscalp_prior *p)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_prior_save(p, &w);
    bytes b = {malloc(w.len), w.len};
    memcpy(b.data, w.data, w.len);
    cscalp_wbuf_free(&w);
    return b;
}

static int load_prior(cscalp_prior *p, const uint8_t *data, size_t len)
{
    cscalp_rbuf r;
    cscalp_rbuf_init(&r, data, len);
    char why[200];
    return cscalp_prior_load(p, &r, why, sizeof why);
}

START_TEST(prior_save_load)
{
    const double lives[] = {0.0, 25.0};
    for (int li = 0; li < 2; li++) {
        cscalp_prior a, b, t;
        cscalp_prior_init_half_life(&a, lives[li]);
        cscalp_prior_init_half_life(&b, lives[li]);
        cscalp_prior_init_half_life(&t, lives[li]);
        tu_rng g = {3};
        for (int i = 0; i < 300; i++)
            cscalp_prior_update(&a, (uint8_t)tu_int(&g, 3));
        cscalp_prior_update(&t, 1);
        bytes s = save_prior(&a);
        ck_assert_uint_eq(s.len, 8 + 8 + 24);
        ck_assert_int_eq(load_prior(&b, s.data, s.len), CSCALP_OK);
        for (int i = 0; i < 300; i++) {
            const uint8_t y = (uint8_t)tu_int(&g, 3);
            cscalp_prior_update(&a, y);
            cscalp_prior_update(&b, y);
        }
        ck_assert(memcmp(&a, &b, sizeof a) == 0);

        const cscalp_prior keep = t;
        for (size_t len = 0; len < s.len; len++)
            ck_assert_int_eq(load_prior(&t, s.data, len), CSCALP_ECORRUPT);
        uint8_t buf[40];
        /* Layout: half-life, updates, counts. A count negative, NaN or
         * beyond any total; another half-life. */
        const struct {
            size_t off;
            double v;
        } bad[] = {{16, -1.0}, {16, (double)NAN}, {24, (double)INFINITY}, {0, 7.0}, {16, 1e30}};
        for (size_t e = 0; e < sizeof bad / sizeof bad[0]; e++) {
            memcpy(buf, s.data, s.len);
            put_f64(buf + bad[e].off, bad[e].v);
            ck_assert_msg(load_prior(&t, buf, s.len) == CSCALP_ECORRUPT, "edit %zu, h %g", e,
                          lives[li]);
        }
        if (lives[li] == 0.0) {
            /* Cumulative counts are whole numbers adding up to the updates. */
            memcpy(buf, s.data, s.len);
            put_f64(buf + 16, get_f64(buf + 16) + 0.5);
            ck_assert_int_eq(load_prior(&t, buf, s.len), CSCALP_ECORRUPT);
            memcpy(buf, s.data, s.len);
            put_le(buf + 8, get_le(buf + 8, 8) + 1, 8);
            ck_assert_int_eq(load_prior(&t, buf, s.len), CSCALP_ECORRUPT);
        } else {
            /* No updates but counts. */
            memcpy(buf, s.data, s.len);
            put_le(buf + 8, 0, 8);
            ck_assert_int_eq(load_prior(&t, buf, s.len), CSCALP_ECORRUPT);
        }
        ck_assert(memcmp(&t, &keep, sizeof t) == 0);
        free(s.data);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("scores");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, sklearn_docs_example);
    tcase_add_test(tc, macro_f1_absent_classes);
    tcase_add_test(tc, empty_scorer_is_nan);
    tcase_add_test(tc, clamp_renormalise_ties);
    tcase_add_test(tc, invalid_skipped_and_counted);
    tcase_add_test(tc, create_errors);
    tcase_add_test(tc, random_streams_match_brute_force);
    tcase_add_test(tc, long_run_no_drift);
    tcase_add_test(tc, save_load_continues_identically);
    tcase_add_test(tc, load_refuses_corruption);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("prior");
    tcase_add_test(tp, prior_laplace_counts);
    tcase_add_test(tp, prior_half_life);
    tcase_add_test(tp, prior_save_load);
    suite_add_tcase(s, tp);
    return s;
}

int main(void) { return tu_run(suite()); }
