/* Reference data: StockCharts ChartSchool sheets as shipped with the Python
 * "ta" library (see $CSCALP_SHARED_DATA/indicator-reference/SOURCE.txt).
 *
 * cs-vwap.csv: its `vwap` column is NOT a cumulative VWAP: it is ta's
 *   VolumeWeightedAveragePrice with its default window of 14 rows, i.e.
 *   sum(TP*V)/sum(V) over the last 14 rows (rows 0-13 are therefore also the
 *   cumulative VWAP), with TP = (High + Low + Close) / 3 computed unrounded
 *   (the "Typical Price" column is rounded to 5 decimals and differs from the
 *   TP used by up to 3.3e-6). This test reproduces it with
 *   vwap_deviation_bps: trades with price TP and size Volume, a few ns apart
 *   so the 60 s decay is negligible, a quote with a known mid m, and
 *   V = m / (1 + dev / 1e4). Rows 0-13 with one engine fed incrementally
 *   (cumulative); every row with a fresh engine fed the 14-row window.
 *
 * cs-macd.csv: short_ema / long_ema are EMAs of Close with alpha = 2/(n+1),
 *   n = 12 / 26, seeded with the first close (row 0 equals the close), which
 *   is exactly the normaliser's "first sample sets the mean". The normaliser
 *   reproduces them with interval 1 s and half-life 1 / log2((n+1)/(n-1)) s,
 *   so that 1 - 2^(-I/h) = 2/(n+1). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat_common.h"
#include "features/normalizer.h"

#define MAX_ROWS 256
#define MAX_COLS 16

typedef struct csv {
    int ncols, nrows;
    char head[MAX_COLS][40];
    char cell[MAX_ROWS][MAX_COLS][40];
} csv;

/* Split on commas, keeping empty fields. */
static int split(char *line, char out[][40], int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *c = strchr(p, ',');
        if (c)
            *c = '\0';
        ck_assert_msg(n < max, "too many CSV fields");
        snprintf(out[n++], 40, "%s", p);
        if (!c)
            break;
        p = c + 1;
    }
    return n;
}

static void load_csv(csv *t, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/indicator-reference/%s", fc_shared_data_dir(), name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open reference file %s: %s (is CSCALP_SHARED_DATA "
                  "right?)", path, strerror(errno));
    char line[1024];
    char fields[MAX_COLS][40];
    memset(t, 0, sizeof *t);
    ck_assert_msg(fgets(line, sizeof line, f) != NULL, "%s is empty", path);
    line[strcspn(line, "\r\n")] = '\0';
    t->ncols = split(line, fields, MAX_COLS);
    for (int i = 0; i < t->ncols; i++)
        memcpy(t->head[i], fields[i], sizeof t->head[i]);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        ck_assert_msg(t->nrows < MAX_ROWS, "%s has too many rows", path);
        const int n = split(line, t->cell[t->nrows], MAX_COLS);
        ck_assert_msg(n == t->ncols, "%s row %d has %d fields, header %d", path,
                      t->nrows, n, t->ncols);
        t->nrows++;
    }
    fclose(f);
    ck_assert_msg(t->nrows > 0, "%s has no rows", path);
}

static int col(const csv *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->head[i], name) == 0)
            return i;
    ck_abort_msg("column %s not found", name);
    return -1;
}

static double num(const csv *t, int row, int c)
{
    char *end = NULL;
    const double v = strtod(t->cell[row][c], &end);
    ck_assert_msg(end != t->cell[row][c] && *end == '\0', "row %d col %s: '%s' is not a number",
                  row, t->head[c], t->cell[row][c]);
    return v;
}

/* ---------------------------------------------------------------- VWAP */

#define VWAP_WINDOW 14
#define T0 (1000 * FC_NS)

static double typical(const csv *t, int row)
{
    return (num(t, row, col(t, "High")) + num(t, row, col(t, "Low")) +
            num(t, row, col(t, "Close"))) /
           3.0;
}

/* Recover V from vwap_deviation_bps = (m - V) / V * 1e4. */
static double recover_vwap(const cscalp_engine *e, double m)
{
    const double dev = fc_get(e, F_VWAPDEV);
    return m / (1.0 + dev / 1e4);
}

/* Error bound of the recovered V for trades spanning `span_ns` whose prices
 * lie in [lo, hi]: every weight exp(-dt/60) is within 1 - exp(-span/60) of
 * the others, which moves a weighted mean by at most (hi - lo) times that;
 * plus rounding (a few hundred ulps of V, far more than needed). */
static double vwap_bound(double lo, double hi, int64_t span_ns, double V)
{
    return (hi - lo) * -expm1(-((double)span_ns / 1e9) / 60.0) + 256.0 * DBL_EPSILON * V;
}

START_TEST(vwap_reproduces_stockcharts_cumulative_rows)
{
    csv *t = malloc(sizeof *t);
    ck_assert_ptr_nonnull(t);
    load_csv(t, "cs-vwap.csv");
    const int cv = col(t, "vwap"), cvol = col(t, "Volume");
    ck_assert_int_ge(t->nrows, VWAP_WINDOW);
    cscalp_engine *e = fc_open(NULL);
    /* a quote with mid m = 25 at T0 */
    const double b = 24.99, a = 25.01, m = (b + a) / 2.0;
    fc_quote(e, T0, b, 1.0, a, 1.0);
    double lo = (double)INFINITY, hi = -(double)INFINITY;
    for (int i = 0; i < VWAP_WINDOW; i++) { /* cumulative == window for these */
        const double tp = typical(t, i), vol = num(t, i, cvol);
        lo = fmin(lo, tp);
        hi = fmax(hi, tp);
        fc_trade(e, T0 + 1 + 3 * (int64_t)i, tp, vol, CSCALP_SIDE_BUY);
        const double V = recover_vwap(e, m), want = num(t, i, cv);
        char what[96];
        snprintf(what, sizeof what, "cs-vwap.csv row %d (%s), cumulative", i, t->cell[i][1]);
        FC_NEAR(V, want, vwap_bound(lo, hi, 3 * (int64_t)i, want), what);
    }
    cscalp_close(e);
    free(t);
}
END_TEST

START_TEST(vwap_reproduces_stockcharts_14_row_window_every_row)
{
    csv *t = malloc(sizeof *t);
    ck_assert_ptr_nonnull(t);
    load_csv(t, "cs-vwap.csv");
    const int cv = col(t, "vwap"), cvol = col(t, "Volume");
    double worst = 0.0;
    for (int i = 0; i < t->nrows; i++) {
        cscalp_engine *e = fc_open(NULL);
        const double b = 24.0, a = 24.02, m = (b + a) / 2.0;
        fc_quote(e, T0, b, 2.0, a, 1.0);
        const int first = i - VWAP_WINDOW + 1 > 0 ? i - VWAP_WINDOW + 1 : 0;
        double lo = (double)INFINITY, hi = -(double)INFINITY;
        for (int j = first; j <= i; j++) {
            const double tp = typical(t, j);
            lo = fmin(lo, tp);
            hi = fmax(hi, tp);
            fc_trade(e, T0 + 5 * (int64_t)(j - first + 1), tp, num(t, j, cvol),
                     (j % 2) ? CSCALP_SIDE_SELL : CSCALP_SIDE_BUY);
        }
        const double V = recover_vwap(e, m), want = num(t, i, cv);
        const double bound = vwap_bound(lo, hi, 5 * (int64_t)(i - first), want);
        char what[96];
        snprintf(what, sizeof what, "cs-vwap.csv row %d (%s), 14-row window", i,
                 t->cell[i][1]);
        FC_NEAR(V, want, bound, what);
        worst = fmax(worst, fabs(V - want));
        cscalp_close(e);
    }
    ck_assert_int_eq(t->nrows, 30);
    free(t);
    ck_assert(worst < 1e-9);
}
END_TEST

/* ---------------------------------------------------------------- EMA */

static void check_ema(int n, const char *column)
{
    csv *t = malloc(sizeof *t);
    ck_assert_ptr_nonnull(t);
    load_csv(t, "cs-macd.csv");
    const int cc = col(t, "Close"), ce = col(t, column);

    /* 1 - 2^(-I/h) = 2/(n+1)  <=>  h = I / log2((n+1)/(n-1)) */
    const double half_life = 1.0 / log2((double)(n + 1) / (double)(n - 1));
    const double alpha = cscalp_normalizer_alpha(1.0, half_life);
    FC_NEAR(alpha, 2.0 / (n + 1.0), 4.0 * DBL_EPSILON, "normaliser alpha vs 2/(n+1)");

    double mean[1] = {0}, var[1] = {0}, sd[1];
    cscalp_normalizer nz;
    cscalp_normalizer_init(&nz, 1, mean, var, sd, alpha, 5.0, 1);
    int checked = 0;
    for (int i = 0; i < t->nrows; i++) {
        const double x = num(t, i, cc);
        cscalp_normalizer_update(&nz, &x);
        const double want = num(t, i, ce);
        /* printed with 10 significant digits; every value is in [10, 100) */
        ck_assert(want >= 10.0 && want < 100.0);
        const double tol = 0.5e-8 * (1.0 + 1e-6);
        char what[96];
        snprintf(what, sizeof what, "cs-macd.csv %s row %d (%s)", column, i, t->cell[i][0]);
        FC_NEAR(nz.mean[0], want, tol, what);
        checked++;
    }
    ck_assert_int_eq(checked, 124);
    free(t);
}

START_TEST(normalizer_mean_reproduces_stockcharts_ema12)
{
    check_ema(12, "short_ema");
}
END_TEST

START_TEST(normalizer_mean_reproduces_stockcharts_ema26)
{
    check_ema(26, "long_ema");
}
END_TEST

START_TEST(shared_data_folder_is_given)
{
    const char *d = fc_shared_data_dir();
    char path[1024];
    snprintf(path, sizeof path, "%s/indicator-reference/SOURCE.txt", d);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "CSCALP_SHARED_DATA=%s but %s cannot be opened: %s", d, path,
                  strerror(errno));
    fclose(f);
}
END_TEST

static Suite *refdata_suite(void)
{
    Suite *s = suite_create("features-refdata");
    TCase *tc = tcase_create("stockcharts");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, shared_data_folder_is_given);
    tcase_add_test(tc, vwap_reproduces_stockcharts_cumulative_rows);
    tcase_add_test(tc, vwap_reproduces_stockcharts_14_row_window_every_row);
    tcase_add_test(tc, normalizer_mean_reproduces_stockcharts_ema12);
    tcase_add_test(tc, normalizer_mean_reproduces_stockcharts_ema26);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fc_run_suite(refdata_suite());
}
