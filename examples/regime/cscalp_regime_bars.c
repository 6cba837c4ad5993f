/*
 * cscalp-regime-bars — the online Gaussian HMM of src/regime (docs/regime.md)
 * over OHLCV bars: a few slow observations per bar, the filtered regime
 * posterior per bar on stdout, a summary JSON on stderr, optionally the
 * regime path as an SVG plot (docs/regime-real-data.md shows two).
 *
 *   cscalp-regime-bars [options] FILE
 *
 * FILE is a bar CSV, plain or gzip (bars_csv.h: banner lines, newest-first
 * rows and duplicates are handled; skipped rows are counted by reason).
 *
 * Observations of bar t (close C, volume V; r_t = ln(C_t / C_{t-1})):
 *   EWMA_H(y)_t   exponentially weighted mean with half-life H bars:
 *                 S_t = (1 - a) S_{t-1} + a y_t, a = 1 - 2^(-1/H), S_0 = 0,
 *                 divided by 1 - (1 - a)^n after n updates (bias-corrected,
 *                 so the first values are plain averages, not shrunk to 0)
 *   x0 log_vol    ln σ_t,  σ²_t = max(EWMA_Hv(r²)_t, 1e-12)
 *   x1 trend_z    |EWMA_Ht(r)_t| / (σ_t √(a_t / (2 - a_t))), a_t the Ht
 *                 weight: the drift measured in standard errors (≈ |N(0,1)|
 *                 for a driftless walk of volatility σ)
 *   x2 log_volume ln(max(EWMA_Hv(V)_t, 1e-6 B_t) / B_t), B_t = EWMA_Hb(V)_t:
 *                 recent volume against its long-run level (0 when B_t = 0)
 * --dims 1 uses x0, 2 uses x0 and x1, 3 (default) all three. The model
 * orders its states by the mean of x0, so state 0 is the calmest and state
 * K-1 the most volatile.
 *
 * The first bar has no return; the model gets bars settle … n-1 and reports
 * a regime once its warm-up is over. stdout: one row per bar from then on
 * (time, close, posterior_0 … posterior_{K-1}, map_state; --with-obs adds
 * the observations). Output is deterministic: no clocks, no randomness.
 * Exit status: 1 for an I/O error or too few bars, 2 for bad arguments.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bars_csv.h"
#include "regime/hmm.h"
#include "regime_svg.h"
#include "util/alloc.h"

#define EXIT_IO 1
#define EXIT_USAGE 2

#define MAX_DIMS 3
#define VARIANCE_FLOOR 1e-12
#define VOLUME_FLOOR_SHARE 1e-6
/* Bars closer than this are taken as minute-like bars by --preset auto. */
#define MINUTE_PRESET_BELOW_S 1800
/* The summary's period table is by month over longer spans, else by day. */
#define MONTHLY_ABOVE_DAYS 62
#define MAX_LISTED_EPISODES 60
#define SECONDS_PER_YEAR (365.25 * 86400.0)

static const char *const obs_names[MAX_DIMS] = {"log_vol", "trend_z", "log_volume_ratio"};

/* Windows and model settings that suit a bar size; every one can be set. */
typedef struct preset {
    const char *name;
    unsigned vol_half_life_bars, trend_half_life_bars, volume_base_half_life_bars;
    unsigned warmup_bars, episode_min_bars;
    double hmm_half_life_bars, stay_probability;
} preset;

/* Hourly: volatility over about a day, trend over three days, volume
 * against its month; a month of warm-up and a memory of a quarter.
 * Minute: half an hour, two hours, a day; a day of warm-up and a week of
 * memory. */
static const preset presets[] = {
    {"hourly", 24, 72, 720, 720, 24, 2160.0, 0.99},
    {"minute", 30, 120, 1440, 1440, 60, 10080.0, 0.995},
};

typedef struct args {
    const char *file;
    const char *preset_name;  /* "auto", "hourly", "minute" */
    unsigned long states, dims;
    unsigned long vol_hl, trend_hl, volume_base_hl, settle, warmup, episode_min;
    double hmm_half_life, stay, transition_prior, min_variance;
    const char *volume_column;
    const char *format;       /* "csv", "jsonl", "none" */
    int with_obs;
    const char *svg, *title;
    regime_svg_mark marks[REGIME_SVG_MAX_MARKS];
    size_t n_marks;
} args;

/* ------------------------------------------------------------ arguments */

static void usage(FILE *out)
{
    fputs(
        "usage: cscalp-regime-bars [options] FILE\n"
        "\n"
        "Runs the online Gaussian HMM regime model (src/regime) over OHLCV bars and\n"
        "prints the filtered regime posterior per bar (stdout) and a summary JSON\n"
        "(stderr). FILE: bar CSV, plain or gzip, with a header naming a time and a\n"
        "close column (open, high, low, volume optional); banner lines before the\n"
        "header, newest-first rows and duplicate times are handled.\n"
        "\n"
        "Observations per bar (r = log return of the close; half-lives in bars):\n"
        "  log_vol           ln sqrt(EWMA(r^2)), half-life --vol-half-life\n"
        "  trend_z           |EWMA(r)| over --trend-half-life, in standard errors\n"
        "                    of such a mean under the current volatility\n"
        "  log_volume_ratio  ln(EWMA(volume) over --vol-half-life /\n"
        "                       EWMA(volume) over --volume-base-half-life)\n"
        "States are ordered by mean log_vol: 0 is the calmest, K-1 the most violent.\n"
        "\n"
        "Options (defaults from the preset: hourly / minute):\n"
        "  --preset P                auto (default: minute when bars are < 30 min\n"
        "                            apart, else hourly), hourly or minute\n"
        "  --states K                hidden states, 1..16 (default 3)\n"
        "  --dims D                  observations used, 1..3 (default 3): log_vol,\n"
        "                            + trend_z, + log_volume_ratio\n"
        "  --vol-half-life N         bars (24 / 30)\n"
        "  --trend-half-life N       bars (72 / 120)\n"
        "  --volume-base-half-life N bars (720 / 1440)\n"
        "  --settle N                bars skipped before the model sees any, >= 1\n"
        "                            (default: the larger of the two half-lives above)\n"
        "  --warmup N                model warm-up, observations (720 / 1440)\n"
        "  --half-life N             model memory (stepwise-EM forgetting),\n"
        "                            observations (2160 / 10080)\n"
        "  --stay P                  prior self-transition probability, (0, 1)\n"
        "                            (0.99 / 0.995)\n"
        "  --transition-prior N      Dirichlet pseudo-counts per row, >= 0 (10)\n"
        "  --min-variance V          variance floor of every observation, > 0 (0.01)\n"
        "  --volume-column NAME      header name of the volume column (default: the\n"
        "                            first whose name begins with \"volume\")\n"
        "  --format F                rows on stdout: csv (default), jsonl or none\n"
        "  --with-obs                add the observations to every row\n"
        "  --episode-min-bars N      violent-state episodes in the summary: runs of\n"
        "                            the top state with at least N such bars, runs\n"
        "                            less than N bars apart merged (24 / 60)\n"
        "  --svg FILE                also draw the regime path as an SVG\n"
        "  --title TEXT              the SVG's title (default: the file name)\n"
        "  --mark TIME=LABEL         a dashed line and a label on the SVG at TIME\n"
        "                            (e.g. 2017-12-17=ATH); up to 16\n"
        "  --help                    this text\n"
        "\n"
        "stdout: time,close[,log_vol,trend_z,log_volume_ratio],posterior_0..K-1,map_state\n"
        "from the first bar with a regime (after settle and warm-up).\n"
        "stderr: one JSON object: bars, skipped rows by reason, windows, per state\n"
        "(share of time by MAP and by posterior, mean observations, realised\n"
        "volatility, model means), the learned and the MAP transition matrices,\n"
        "re-orderings, state births, violent-state episodes and a per-month (or\n"
        "per-day) table.\n"
        "\n"
        "Exit status: 1 on an I/O error or too few bars, 2 on bad arguments, else 0.\n",
        out);
}

static int bad_arg(const char *name, const char *value, const char *want)
{
    fprintf(stderr, "cscalp-regime-bars: %s: \"%s\" is not %s (see --help)\n", name,
            value ? value : "", want);
    return EXIT_USAGE;
}

/* A decimal integer in [lo, hi], nothing else. */
static int parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    const unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (unsigned long)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    if (!((*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
        return -1;
    char *end = NULL;
    const double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Defaults that do not depend on the preset; preset ones stay 0 / NAN. */
static void args_init(args *a)
{
    memset(a, 0, sizeof *a);
    a->preset_name = "auto";
    a->states = 3;
    a->dims = 3;
    a->hmm_half_life = (double)NAN;
    a->stay = (double)NAN;
    a->transition_prior = 10.0;
    a->min_variance = 0.01;
    a->format = "csv";
}

static int parse_args(int argc, char **argv, args *a)
{
    args_init(a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(arg, "--with-obs") == 0) {
            a->with_obs = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (arg[0] == '-' && arg[1] != '\0') {
                fprintf(stderr, "cscalp-regime-bars: %s: unknown option (see --help)\n", arg);
                return EXIT_USAGE;
            }
            if (a->file) {
                fprintf(stderr, "cscalp-regime-bars: %s: one FILE only (already %s)\n", arg,
                        a->file);
                return EXIT_USAGE;
            }
            a->file = arg;
            continue;
        }
        /* --name VALUE or --name=VALUE */
        char name[40];
        const char *eq = strchr(arg, '=');
        const size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *value = eq ? eq + 1 : NULL;
        if (len >= sizeof name) {
            fprintf(stderr, "cscalp-regime-bars: %s: unknown option (see --help)\n", arg);
            return EXIT_USAGE;
        }
        memcpy(name, arg, len);
        name[len] = '\0';
        static const char *const known[] = {
            "--preset", "--states", "--dims", "--vol-half-life", "--trend-half-life",
            "--volume-base-half-life", "--settle", "--warmup", "--half-life", "--stay",
            "--transition-prior", "--min-variance", "--volume-column", "--format",
            "--episode-min-bars", "--svg", "--title", "--mark"};
        int found = 0;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            found |= strcmp(name, known[k]) == 0;
        if (!found) {
            fprintf(stderr, "cscalp-regime-bars: %s: unknown option (see --help)\n", name);
            return EXIT_USAGE;
        }
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cscalp-regime-bars: %s: needs a value (see --help)\n", name);
                return EXIT_USAGE;
            }
            value = argv[++i];
        }
        if (strcmp(name, "--preset") == 0) {
            if (strcmp(value, "auto") && strcmp(value, "hourly") && strcmp(value, "minute"))
                return bad_arg(name, value, "auto, hourly or minute");
            a->preset_name = value;
        } else if (strcmp(name, "--states") == 0) {
            if (parse_ulong(value, 1, CSCALP_HMM_MAX_STATES, &a->states))
                return bad_arg(name, value, "an integer in 1..16");
        } else if (strcmp(name, "--dims") == 0) {
            if (parse_ulong(value, 1, MAX_DIMS, &a->dims))
                return bad_arg(name, value, "an integer in 1..3");
        } else if (strcmp(name, "--vol-half-life") == 0) {
            if (parse_ulong(value, 1, 10000000, &a->vol_hl))
                return bad_arg(name, value, "a number of bars in 1..10000000");
        } else if (strcmp(name, "--trend-half-life") == 0) {
            if (parse_ulong(value, 1, 10000000, &a->trend_hl))
                return bad_arg(name, value, "a number of bars in 1..10000000");
        } else if (strcmp(name, "--volume-base-half-life") == 0) {
            if (parse_ulong(value, 1, 10000000, &a->volume_base_hl))
                return bad_arg(name, value, "a number of bars in 1..10000000");
        } else if (strcmp(name, "--settle") == 0) {
            if (parse_ulong(value, 1, 100000000, &a->settle))
                return bad_arg(name, value, "a number of bars in 1..100000000");
        } else if (strcmp(name, "--warmup") == 0) {
            if (parse_ulong(value, 1, 1000000, &a->warmup))
                return bad_arg(name, value, "a number of observations in 1..1000000");
        } else if (strcmp(name, "--half-life") == 0) {
            if (parse_double(value, &a->hmm_half_life) || !(a->hmm_half_life >= 1.0))
                return bad_arg(name, value, "a number of observations >= 1");
        } else if (strcmp(name, "--stay") == 0) {
            if (parse_double(value, &a->stay) || !(a->stay > 0.0 && a->stay < 1.0))
                return bad_arg(name, value, "a probability in (0, 1)");
        } else if (strcmp(name, "--transition-prior") == 0) {
            if (parse_double(value, &a->transition_prior) || !(a->transition_prior >= 0.0))
                return bad_arg(name, value, "a number >= 0");
        } else if (strcmp(name, "--min-variance") == 0) {
            if (parse_double(value, &a->min_variance) || !(a->min_variance > 0.0))
                return bad_arg(name, value, "a number > 0");
        } else if (strcmp(name, "--volume-column") == 0) {
            if (*value == '\0')
                return bad_arg(name, value, "a column name");
            a->volume_column = value;
        } else if (strcmp(name, "--format") == 0) {
            if (strcmp(value, "csv") && strcmp(value, "jsonl") && strcmp(value, "none"))
                return bad_arg(name, value, "csv, jsonl or none");
            a->format = value;
        } else if (strcmp(name, "--episode-min-bars") == 0) {
            if (parse_ulong(value, 1, 100000000, &a->episode_min))
                return bad_arg(name, value, "a number of bars in 1..100000000");
        } else if (strcmp(name, "--svg") == 0) {
            if (*value == '\0')
                return bad_arg(name, value, "a file name");
            a->svg = value;
        } else if (strcmp(name, "--title") == 0) {
            a->title = value;
        } else { /* --mark */
            const char *sep = strchr(value, '=');
            char when[40];
            const size_t when_len = sep ? (size_t)(sep - value) : 0;
            if (a->n_marks == REGIME_SVG_MAX_MARKS) {
                fprintf(stderr, "cscalp-regime-bars: --mark: more than %d marks\n",
                        REGIME_SVG_MAX_MARKS);
                return EXIT_USAGE;
            }
            if (!sep || when_len == 0 || when_len >= sizeof when)
                return bad_arg(name, value, "TIME=LABEL");
            memcpy(when, value, when_len);
            when[when_len] = '\0';
            if (bars_parse_time(when, &a->marks[a->n_marks].time_ms) != 0)
                return bad_arg(name, value, "TIME=LABEL with a time like 2017-12-17 or "
                                            "2022-01-21T12:00");
            a->marks[a->n_marks++].label = sep + 1;
        }
    }
    if (!a->file) {
        fputs("cscalp-regime-bars: FILE: missing (see --help)\n", stderr);
        return EXIT_USAGE;
    }
    if (a->warmup && a->warmup < a->states) {
        fprintf(stderr, "cscalp-regime-bars: --warmup: %lu is fewer than --states (%lu)\n",
                a->warmup, a->states);
        return EXIT_USAGE;
    }
    return 0;
}

/* Settings left at 0 / NAN take the preset's. */
static void apply_preset(args *a, const preset *p)
{
    if (!a->vol_hl)
        a->vol_hl = p->vol_half_life_bars;
    if (!a->trend_hl)
        a->trend_hl = p->trend_half_life_bars;
    if (!a->volume_base_hl)
        a->volume_base_hl = p->volume_base_half_life_bars;
    if (!a->settle)
        a->settle = a->vol_hl > a->trend_hl ? a->vol_hl : a->trend_hl;
    if (!a->warmup)
        a->warmup = p->warmup_bars;
    if (!a->episode_min)
        a->episode_min = p->episode_min_bars;
    if (isnan(a->hmm_half_life))
        a->hmm_half_life = p->hmm_half_life_bars;
    if (isnan(a->stay))
        a->stay = p->stay_probability;
}

/* ---------------------------------------------------------- observations */

typedef struct ewma {
    double a, keep_pow, s;
} ewma;

static void ewma_init(ewma *e, double half_life)
{
    e->a = 1.0 - exp2(-1.0 / half_life);
    e->keep_pow = 1.0;
    e->s = 0.0;
}

/* Update with y; the bias-corrected mean. */
static double ewma_push(ewma *e, double y)
{
    e->s = (1.0 - e->a) * e->s + e->a * y;
    e->keep_pow *= 1.0 - e->a;
    return e->s / (1.0 - e->keep_pow);
}

/* Observations of bars 1 … n-1 into x (n × MAX_DIMS; row 0 unused) and the
 * log returns into r (r[0] = 0). */
static void observe(const bars_series *s, const args *a, double *x, double *r)
{
    ewma var, drift, vol_short, vol_long;
    ewma_init(&var, (double)a->vol_hl);
    ewma_init(&drift, (double)a->trend_hl);
    ewma_init(&vol_short, (double)a->vol_hl);
    ewma_init(&vol_long, (double)a->volume_base_hl);
    const double se_scale = sqrt(drift.a / (2.0 - drift.a));
    r[0] = 0.0;
    for (size_t i = 1; i < s->n; i++) {
        const double ret = log(s->bar[i].close / s->bar[i - 1].close);
        r[i] = ret;
        const double v2 = fmax(ewma_push(&var, ret * ret), VARIANCE_FLOOR);
        const double sigma = sqrt(v2);
        const double m = ewma_push(&drift, ret);
        const double vs = ewma_push(&vol_short, s->bar[i].volume);
        const double vl = ewma_push(&vol_long, s->bar[i].volume);
        double *xi = x + i * MAX_DIMS;
        xi[0] = log(sigma);
        xi[1] = fabs(m) / (sigma * se_scale);
        xi[2] = vl > 0.0 ? log(fmax(vs, VOLUME_FLOOR_SHARE * vl) / vl) : 0.0;
    }
}

/* ------------------------------------------------------------ output */

static void print_time(FILE *f, int64_t t)
{
    char buf[40];
    bars_format_time(t, buf, sizeof buf);
    fputs(buf, f);
}

/* JSON number: %.6g, null when not finite. */
static void jnum(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static void jnums(FILE *f, const double *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        jnum(f, v[i]);
    }
    fputc(']', f);
}

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        const unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void jtime(FILE *f, int64_t t)
{
    fputc('"', f);
    print_time(f, t);
    fputc('"', f);
}

static const char *state_name(uint32_t k, uint32_t K)
{
    static const char *const n2[] = {"calm", "violent"};
    static const char *const n3[] = {"calm", "normal", "violent"};
    static const char *const n4[] = {"calm", "normal", "active", "violent"};
    static const char *const n5[] = {"calm", "quiet", "normal", "active", "violent"};
    static char other[CSCALP_HMM_MAX_STATES][24];
    switch (K) {
    case 1: return "only";
    case 2: return n2[k];
    case 3: return n3[k];
    case 4: return n4[k];
    case 5: return n5[k];
    default:
        if (k == 0)
            return "calmest";
        if (k + 1 == K)
            return "most violent";
        snprintf(other[k], sizeof other[k], "level %u", k);
        return other[k];
    }
}

static void print_row(FILE *f, const args *a, const bars_bar *b, const double *x,
                      const double *post, uint32_t K, uint32_t map)
{
    const uint32_t D = (uint32_t)a->dims;
    if (strcmp(a->format, "csv") == 0) {
        print_time(f, b->time_ms);
        fprintf(f, ",%.10g", b->close);
        if (a->with_obs)
            for (uint32_t d = 0; d < D; d++)
                fprintf(f, ",%.6f", x[d]);
        for (uint32_t k = 0; k < K; k++)
            fprintf(f, ",%.6f", post[k]);
        fprintf(f, ",%u\n", map);
    } else {
        fputs("{\"time\":", f);
        jtime(f, b->time_ms);
        fprintf(f, ",\"close\":%.10g", b->close);
        if (a->with_obs) {
            fputs(",\"obs\":[", f);
            for (uint32_t d = 0; d < D; d++)
                fprintf(f, "%s%.6f", d ? "," : "", x[d]);
            fputc(']', f);
        }
        fputs(",\"posterior\":[", f);
        for (uint32_t k = 0; k < K; k++)
            fprintf(f, "%s%.6f", k ? "," : "", post[k]);
        fprintf(f, "],\"map_state\":%u}\n", map);
    }
}

/* ------------------------------------------------------------ summary */

typedef struct run_result {
    size_t first_ready;   /* first bar with a regime; n when none */
    double *post;         /* n × K */
    uint32_t *map;        /* n */
    uint64_t refused;     /* observations the model refused (not finite) */
    double ll_sum;
    uint64_t ll_count;
} run_result;

static void print_episodes(FILE *f, const bars_series *s, const run_result *rr, uint32_t K,
                           unsigned long min_bars)
{
    const uint32_t top = K - 1;
    size_t count = 0, listed = 0;
    fputs("\"episodes\":{\"state\":", f);
    fprintf(f, "%u,\"min_bars\":%lu,\"list\":[", top, min_bars);
    size_t i = rr->first_ready;
    while (i < s->n) {
        if (rr->map[i] != top) {
            i++;
            continue;
        }
        /* Extend over top-state runs fewer than min_bars apart. */
        size_t start = i, end = i, hits = 0, gap = 0;
        for (size_t j = i; j < s->n; j++) {
            if (rr->map[j] == top) {
                hits++;
                end = j;
                gap = 0;
            } else if (++gap >= min_bars) {
                break;
            }
        }
        i = end + 1;
        if (hits < min_bars)
            continue;
        count++;
        if (listed == MAX_LISTED_EPISODES)
            continue;
        double lo = s->bar[start].close, hi = lo;
        for (size_t j = start; j <= end; j++) {
            lo = fmin(lo, s->bar[j].close);
            hi = fmax(hi, s->bar[j].close);
        }
        const double before = s->bar[start > 0 ? start - 1 : 0].close;
        fprintf(f, "%s{\"start\":", listed ? "," : "");
        jtime(f, s->bar[start].time_ms);
        fputs(",\"end\":", f);
        jtime(f, s->bar[end].time_ms);
        fprintf(f, ",\"bars\":%zu,\"top_state_bars\":%zu,\"close_before\":%.10g,"
                   "\"close_end\":%.10g,\"low\":%.10g,\"high\":%.10g,\"change_pct\":",
                end - start + 1, hits, before, s->bar[end].close, lo, hi);
        jnum(f, 100.0 * (s->bar[end].close / before - 1.0));
        fputc('}', f);
        listed++;
    }
    fprintf(f, "],\"count\":%zu,\"listed\":%zu}", count, listed);
}

static void period_key(int64_t t, int monthly, char *buf, size_t cap)
{
    bars_civil c;
    bars_to_civil(t, &c);
    if (monthly)
        snprintf(buf, cap, "%04d-%02d", c.year, c.month);
    else
        snprintf(buf, cap, "%04d-%02d-%02d", c.year, c.month, c.day);
}

static void print_periods(FILE *f, const bars_series *s, const run_result *rr, uint32_t K)
{
    const int64_t span_ms = s->bar[s->n - 1].time_ms - s->bar[0].time_ms;
    const int monthly = span_ms > (int64_t)MONTHLY_ABOVE_DAYS * 86400000LL;
    fprintf(f, "\"periods\":{\"by\":\"%s\",\"list\":[", monthly ? "month" : "day");
    size_t i = rr->first_ready;
    int first = 1;
    while (i < s->n) {
        char key[16], next[16];
        period_key(s->bar[i].time_ms, monthly, key, sizeof key);
        size_t j = i, counts[CSCALP_HMM_MAX_STATES] = {0};
        double post[CSCALP_HMM_MAX_STATES] = {0};
        for (; j < s->n; j++) {
            period_key(s->bar[j].time_ms, monthly, next, sizeof next);
            if (strcmp(key, next) != 0)
                break;
            counts[rr->map[j]]++;
            for (uint32_t k = 0; k < K; k++)
                post[k] += rr->post[j * K + k];
        }
        const double n = (double)(j - i);
        double share[CSCALP_HMM_MAX_STATES];
        for (uint32_t k = 0; k < K; k++) {
            share[k] = (double)counts[k] / n;
            post[k] /= n;
        }
        fprintf(f, "%s{\"period\":\"%s\",\"bars\":%zu,\"first_close\":%.10g,\"last_close\":%.10g,"
                   "\"map_share\":",
                first ? "" : ",", key, j - i, s->bar[i].close, s->bar[j - 1].close);
        jnums(f, share, K);
        fputs(",\"mean_posterior\":", f);
        jnums(f, post, K);
        fputc('}', f);
        first = 0;
        i = j;
    }
    fputs("]}", f);
}

static void print_summary(FILE *f, const args *a, const preset *p, double bar_s,
                          const bars_series *s, const double *x, const double *r,
                          const run_result *rr, const cscalp_hmm *h)
{
    const uint32_t K = (uint32_t)a->states, D = (uint32_t)a->dims;
    fputs("{\"file\":", f);
    jstr(f, a->file);
    fprintf(f, ",\"lines\":%llu,\"banner_lines\":%llu,\"blank_lines\":%llu,\"rows\":%llu,",
            (unsigned long long)s->lines, (unsigned long long)s->banner_lines,
            (unsigned long long)s->blank_lines, (unsigned long long)s->rows);
    fprintf(f, "\"file_order\":\"%s\",\"bars\":%zu,\"skipped\":%llu,\"skipped_by_reason\":{",
            s->order == BARS_ORDER_ASCENDING    ? "oldest_first"
            : s->order == BARS_ORDER_DESCENDING ? "newest_first"
                                                : "mixed",
            s->n, (unsigned long long)bars_skipped_total(s));
    for (int k = 0; k < BARS_SKIP_COUNT; k++)
        fprintf(f, "%s\"%s\":%llu", k ? "," : "", bars_skip_name(k),
                (unsigned long long)s->skipped[k]);
    fputs("},\"time_column\":", f);
    jstr(f, s->time_column);
    fputs(",\"volume_column\":", f);
    jstr(f, s->volume_column[0] ? s->volume_column : "(none)");
    fputs(",\"first_time\":", f);
    jtime(f, s->bar[0].time_ms);
    fputs(",\"last_time\":", f);
    jtime(f, s->bar[s->n - 1].time_ms);
    /* Gaps: steps longer than 1.5 bar intervals. */
    size_t gaps = 0;
    int64_t largest = 0;
    for (size_t i = 1; i < s->n; i++) {
        const int64_t step = s->bar[i].time_ms - s->bar[i - 1].time_ms;
        if ((double)step > 1.5 * bar_s * 1000.0)
            gaps++;
        if (step > largest)
            largest = step;
    }
    fprintf(f, ",\"bar_seconds\":%.0f,\"gaps\":%zu,\"largest_step_s\":%.0f,", bar_s, gaps,
            (double)largest / 1000.0);
    fprintf(f, "\"preset\":\"%s\",\"observations\":[", p->name);
    for (uint32_t d = 0; d < D; d++)
        fprintf(f, "%s\"%s\"", d ? "," : "", obs_names[d]);
    fprintf(f,
            "],\"windows\":{\"vol_half_life_bars\":%lu,\"trend_half_life_bars\":%lu,"
            "\"volume_base_half_life_bars\":%lu,\"settle_bars\":%lu},",
            a->vol_hl, a->trend_hl, a->volume_base_hl, a->settle);
    fprintf(f, "\"model\":{\"states\":%u,\"dims\":%u,\"warmup\":%lu,\"half_life\":", K, D,
            a->warmup);
    jnum(f, a->hmm_half_life);
    fputs(",\"stay_probability\":", f);
    jnum(f, a->stay);
    fputs(",\"transition_prior\":", f);
    jnum(f, a->transition_prior);
    fputs(",\"min_variance\":", f);
    jnum(f, a->min_variance);
    fputs(",\"learn\":1},", f);

    const size_t ready = rr->first_ready < s->n ? s->n - rr->first_ready : 0;
    fprintf(f, "\"regime_bars\":%zu,\"first_regime_time\":", ready);
    if (ready)
        jtime(f, s->bar[rr->first_ready].time_ms);
    else
        fputs("null", f);
    fprintf(f,
            ",\"refused_observations\":%llu,\"reorders\":%llu,\"births\":%llu,"
            "\"mean_log_likelihood\":",
            (unsigned long long)rr->refused, (unsigned long long)cscalp_hmm_reorders(h),
            (unsigned long long)cscalp_hmm_births(h));
    jnum(f, rr->ll_count ? rr->ll_sum / (double)rr->ll_count : (double)NAN);

    /* Per state, over the bars with a regime, by MAP state. */
    const double bars_per_year = SECONDS_PER_YEAR / bar_s;
    const double *means = cscalp_hmm_means(h), *vars = cscalp_hmm_variances(h);
    fputs(",\"states\":[", f);
    size_t switches = 0;
    double map_trans[CSCALP_HMM_MAX_STATES * CSCALP_HMM_MAX_STATES] = {0};
    for (size_t i = rr->first_ready + 1; i < s->n; i++) {
        map_trans[rr->map[i - 1] * K + rr->map[i]] += 1.0;
        switches += rr->map[i - 1] != rr->map[i];
    }
    for (uint32_t k = 0; k < K; k++) {
        size_t count = 0;
        double post = 0.0, obs[MAX_DIMS] = {0}, r2 = 0.0, rsum = 0.0;
        for (size_t i = rr->first_ready; i < s->n; i++) {
            post += rr->post[i * K + k];
            if (rr->map[i] != k)
                continue;
            count++;
            for (uint32_t d = 0; d < D; d++)
                obs[d] += x[i * MAX_DIMS + d];
            r2 += r[i] * r[i];
            rsum += r[i];
        }
        for (uint32_t d = 0; d < D; d++)
            obs[d] = count ? obs[d] / (double)count : (double)NAN;
        fprintf(f, "%s{\"id\":%u,\"name\":\"%s\",\"map_bars\":%zu,\"map_share\":", k ? "," : "",
                k, state_name(k, K), count);
        jnum(f, ready ? (double)count / (double)ready : (double)NAN);
        fputs(",\"mean_posterior\":", f);
        jnum(f, ready ? post / (double)ready : (double)NAN);
        fputs(",\"mean_obs\":", f);
        jnums(f, obs, D);
        fputs(",\"realised_vol_annualised\":", f);
        jnum(f, count ? sqrt(r2 / (double)count * bars_per_year) : (double)NAN);
        fputs(",\"log_return_total\":", f);
        jnum(f, rsum);
        fputs(",\"model_mean\":", f);
        jnums(f, means + (size_t)k * D, D);
        fputs(",\"model_variance\":", f);
        jnums(f, vars + (size_t)k * D, D);
        fputc('}', f);
    }
    fputs("],\"transition\":[", f);
    const double *tr = cscalp_hmm_transition(h);
    for (uint32_t k = 0; k < K; k++) {
        if (k)
            fputc(',', f);
        jnums(f, tr + (size_t)k * K, K);
    }
    fputs("],\"map_transition\":[", f);
    for (uint32_t k = 0; k < K; k++) {
        double sum = 0.0;
        for (uint32_t j = 0; j < K; j++)
            sum += map_trans[k * K + j];
        for (uint32_t j = 0; j < K; j++)
            map_trans[k * K + j] = sum > 0.0 ? map_trans[k * K + j] / sum : (double)NAN;
        if (k)
            fputc(',', f);
        jnums(f, map_trans + (size_t)k * K, K);
    }
    fprintf(f, "],\"map_switches\":%zu,", switches);
    print_episodes(f, s, rr, K, a->episode_min);
    fputc(',', f);
    print_periods(f, s, rr, K);
    fputs("}\n", f);
}

/* ------------------------------------------------------------ main */

static int step_cmp(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The typical bar interval: the median step between bars, in s. */
static double median_step_s(const bars_series *s)
{
    if (s->n < 2)
        return 0.0;
    const size_t m = s->n - 1;
    int64_t *d = malloc(m * sizeof *d);
    if (!d)
        return 0.0;
    for (size_t i = 0; i < m; i++)
        d[i] = s->bar[i + 1].time_ms - s->bar[i].time_ms;
    qsort(d, m, sizeof *d, step_cmp);
    const double med = (double)d[m / 2] / 1000.0;
    free(d);
    return med;
}

static int run_model(const args *a, const bars_series *s, const double *x, cscalp_hmm *h,
                     run_result *rr)
{
    const uint32_t K = (uint32_t)a->states, D = (uint32_t)a->dims;
    FILE *out = strcmp(a->format, "none") == 0 ? NULL : stdout;
    if (out && strcmp(a->format, "csv") == 0) {
        fputs("time,close", out);
        if (a->with_obs)
            for (uint32_t d = 0; d < D; d++)
                fprintf(out, ",%s", obs_names[d]);
        for (uint32_t k = 0; k < K; k++)
            fprintf(out, ",posterior_%u", k);
        fputs(",map_state\n", out);
    }
    rr->first_ready = s->n;
    for (size_t i = a->settle; i < s->n; i++) {
        const double *xi = x + i * MAX_DIMS;
        if (cscalp_hmm_step(h, xi) != CSCALP_OK)
            rr->refused++;
        if (!cscalp_hmm_ready(h))
            continue;
        if (rr->first_ready == s->n)
            rr->first_ready = i;
        const double ll = cscalp_hmm_last_log_likelihood(h);
        if (isfinite(ll)) {
            rr->ll_sum += ll;
            rr->ll_count++;
        }
        memcpy(rr->post + i * K, cscalp_hmm_posterior(h), K * sizeof *rr->post);
        rr->map[i] = cscalp_hmm_map_state(h);
        if (out)
            print_row(out, a, &s->bar[i], xi, rr->post + i * K, K, rr->map[i]);
    }
    if (out && (fflush(out) != 0 || ferror(out))) {
        fprintf(stderr, "cscalp-regime-bars: stdout: write failed\n");
        return EXIT_IO;
    }
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;

    bars_series s;
    char err[512];
    if (bars_read(a.file, a.volume_column, &s, err, sizeof err) != BARS_OK) {
        fprintf(stderr, "cscalp-regime-bars: %s\n", err);
        return EXIT_IO;
    }
    const double bar_s = median_step_s(&s);
    const preset *p = &presets[0];
    if (strcmp(a.preset_name, "minute") == 0 ||
        (strcmp(a.preset_name, "auto") == 0 && bar_s > 0.0 && bar_s < MINUTE_PRESET_BELOW_S))
        p = &presets[1];
    apply_preset(&a, p);
    /* Bars settle … settle + warmup - 1 are the warm-up. */
    if (s.n < a.settle + a.warmup) {
        fprintf(stderr,
                "cscalp-regime-bars: %s: %zu bars (%llu rows skipped); settle %lu and warm-up "
                "%lu need at least %lu\n",
                a.file, s.n, (unsigned long long)bars_skipped_total(&s), a.settle, a.warmup,
                a.settle + a.warmup);
        bars_free(&s);
        return EXIT_IO;
    }

    const uint32_t K = (uint32_t)a.states;
    double *x = calloc(s.n * MAX_DIMS, sizeof *x);
    double *r = calloc(s.n, sizeof *r);
    double *close = malloc(s.n * sizeof *close);
    int64_t *times = malloc(s.n * sizeof *times);
    run_result rr = {0};
    rr.post = calloc(s.n * K, sizeof *rr.post);
    rr.map = calloc(s.n, sizeof *rr.map);
    cscalp_allocator mem;
    cscalp_hmm *h = NULL;
    rc = 0;
    if (!x || !r || !close || !times || !rr.post || !rr.map ||
        cscalp_mem_init(&mem, NULL) != CSCALP_OK) {
        fputs("cscalp-regime-bars: out of memory\n", stderr);
        rc = EXIT_IO;
        goto done;
    }
    const cscalp_hmm_params hp = {
        .states = K,
        .dims = (uint32_t)a.dims,
        .warmup = (uint32_t)a.warmup,
        .half_life = a.hmm_half_life,
        .stay_probability = a.stay,
        .transition_prior = a.transition_prior,
        .min_variance = a.min_variance,
        .learn = 1,
    };
    if (cscalp_hmm_create(&mem, &hp, &h, err, sizeof err) != CSCALP_OK) {
        fprintf(stderr, "cscalp-regime-bars: %s\n", err);
        rc = EXIT_USAGE;
        goto done;
    }
    observe(&s, &a, x, r);
    rc = run_model(&a, &s, x, h, &rr);
    if (rc != 0)
        goto done;
    print_summary(stderr, &a, p, bar_s, &s, x, r, &rr, h);

    if (a.svg) {
        const char *names[CSCALP_HMM_MAX_STATES];
        for (uint32_t k = 0; k < K; k++)
            names[k] = state_name(k, K);
        for (size_t i = 0; i < s.n; i++) {
            close[i] = s.bar[i].close;
            times[i] = s.bar[i].time_ms;
        }
        char title[256], subtitle[512];
        snprintf(title, sizeof title, "%s", a.title ? a.title : base_name(a.file));
        snprintf(subtitle, sizeof subtitle,
                 "online Gaussian HMM, K=%u, filtered (causal) posterior; observations: %s%s%s "
                 "(half-lives %lu/%lu/%lu bars); warm-up %lu, memory half-life %g bars, "
                 "stay %g",
                 K, obs_names[0], a.dims > 1 ? ", trend_z" : "",
                 a.dims > 2 ? ", log_volume_ratio" : "", a.vol_hl, a.trend_hl, a.volume_base_hl,
                 a.warmup, a.hmm_half_life, a.stay);
        const regime_svg plot = {
            .n = s.n,
            .time_ms = times,
            .close = close,
            .first_ready = rr.first_ready,
            .states = K,
            .posterior = rr.post,
            .map = rr.map,
            .state_names = names,
            .title = title,
            .subtitle = subtitle,
            .marks = a.marks,
            .n_marks = a.n_marks,
        };
        if (regime_svg_write(a.svg, &plot, err, sizeof err) != 0) {
            fprintf(stderr, "cscalp-regime-bars: %s\n", err);
            rc = EXIT_IO;
        }
    }
done:
    cscalp_hmm_destroy(h);
    free(x), free(r), free(close), free(times), free(rr.post), free(rr.map);
    bars_free(&s);
    return rc;
}
