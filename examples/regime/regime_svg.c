#include "regime_svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bars_csv.h"

/* Canvas and panels, in px. */
#define WIDTH 1200
#define HEIGHT 620
#define PLOT_X0 84
#define PLOT_COLUMNS 1090
#define PRICE_Y0 76
#define PRICE_Y1 446
#define BAND_Y0 462
#define BAND_Y1 542
#define TICK_LABEL_Y 560
#define AXIS_TITLE_Y 590

#define MAX_TICKS 64
/* Tick sets are taken while they give at most this many labels. */
#define MAX_X_LABELS 16
#define MIN_Y_TICKS 4
#define MAX_Y_TICKS 10
/* Headroom above and below the price range, as a share of its log span. */
#define PRICE_PAD 0.04
#define MS_PER_MIN 60000LL
#define MS_PER_HOUR 3600000LL
#define MS_PER_DAY 86400000LL

static const char *const month_abbr[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void regime_svg_colour(uint32_t k, uint32_t states, int light, char out[8])
{
    static const double anchor[3][3] = {{44, 160, 44}, {255, 191, 0}, {214, 39, 40}};
    const double t = states > 1 ? (double)k / (double)(states - 1) : 0.0;
    const int seg = t < 0.5 ? 0 : 1;
    const double u = t < 0.5 ? t * 2.0 : (t - 0.5) * 2.0;
    int rgb[3];
    for (int c = 0; c < 3; c++) {
        double v = anchor[seg][c] + (anchor[seg + 1][c] - anchor[seg][c]) * u;
        if (light)
            v += (255.0 - v) * 0.62;
        rgb[c] = (int)lround(v);
    }
    snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* ------------------------------------------------------------ y ticks */

static void price_label(double p, char *buf, size_t cap)
{
    if (p >= 1000.0)
        snprintf(buf, cap, "$%gk", p / 1000.0);
    else
        snprintf(buf, cap, "$%g", p);
}

/* Ticks at mantissa × 10^e inside [lo, hi]; the count. */
static int log_ticks(double lo, double hi, const double *mant, int n_mant, double *out)
{
    int n = 0;
    for (int e = (int)floor(log10(lo)) - 1; e <= (int)ceil(log10(hi)); e++)
        for (int m = 0; m < n_mant; m++) {
            const double v = mant[m] * pow(10.0, e);
            if (v >= lo && v <= hi && n < MAX_TICKS)
                out[n++] = v;
        }
    return n;
}

/* Round prices for a log axis: the sparsest mantissa set that gives at
 * least MIN_Y_TICKS, else (a narrow range) evenly spaced round values. */
static int price_ticks(double lo, double hi, double *out)
{
    static const double m1[] = {1}, m3[] = {1, 2, 5}, m5[] = {1, 2, 3, 5, 7};
    static const double m9[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const double *sets[] = {m1, m3, m5, m9};
    const int sizes[] = {1, 3, 5, 9};
    for (int s = 0; s < 4; s++) {
        const int n = log_ticks(lo, hi, sets[s], sizes[s], out);
        if (n >= MIN_Y_TICKS && n <= MAX_Y_TICKS)
            return n;
    }
    static const double steps[] = {1, 2, 2.5, 5};
    for (int e = (int)floor(log10(hi - lo)) - 2; e <= (int)ceil(log10(hi - lo)); e++)
        for (int s = 0; s < 4; s++) {
            const double step = steps[s] * pow(10.0, e);
            const double first = ceil(lo / step) * step;
            const int n = (int)floor((hi - first) / step) + 1;
            if (n <= MAX_Y_TICKS) {
                int k = 0;
                for (int i = 0; i < n && k < MAX_TICKS; i++)
                    out[k++] = first + step * i;
                return k;
            }
        }
    return 0;
}

/* ------------------------------------------------------------ x ticks */

typedef struct time_step {
    int64_t ms;  /* fixed step, or 0 for calendar months */
    int months;
} time_step;

static const time_step time_steps[] = {
    {MS_PER_MIN, 0},       {5 * MS_PER_MIN, 0},  {15 * MS_PER_MIN, 0}, {30 * MS_PER_MIN, 0},
    {MS_PER_HOUR, 0},      {3 * MS_PER_HOUR, 0}, {6 * MS_PER_HOUR, 0}, {12 * MS_PER_HOUR, 0},
    {MS_PER_DAY, 0},       {2 * MS_PER_DAY, 0},  {4 * MS_PER_DAY, 0},  {7 * MS_PER_DAY, 0},
    {0, 1},                {0, 2},               {0, 3},               {0, 6},
    {0, 12},               {0, 24},              {0, 60},
};

/* Tick times of one step inside [t0, t1]: multiples of the step since the
 * epoch, or the first day of every months-th month (January-aligned). */
static int time_ticks(const time_step *st, int64_t t0, int64_t t1, int64_t *out, int max)
{
    int n = 0;
    if (st->ms > 0) {
        int64_t t = t0 / st->ms * st->ms;
        if (t < t0)
            t += st->ms;
        for (; t <= t1; t += st->ms) {
            if (n == max)
                return max + 1;
            out[n++] = t;
        }
        return n;
    }
    bars_civil c;
    bars_to_civil(t0, &c);
    int year = c.year, month = c.month;
    for (;;) {
        if ((month - 1) % st->months == 0 && (st->months < 12 || year % (st->months / 12) == 0)) {
            const int64_t t = bars_from_civil(year, month, 1);
            if (t > t1)
                return n;
            if (t >= t0) {
                if (n == max)
                    return max + 1;
                out[n++] = t;
            }
        }
        if (++month > 12) {
            month = 1;
            year++;
        }
    }
}

static void time_label(int64_t t, const time_step *st, char *buf, size_t cap)
{
    bars_civil c;
    bars_to_civil(t, &c);
    if (st->ms == 0)
        snprintf(buf, cap, "%04d-%02d", c.year, c.month);
    else if (st->ms >= MS_PER_DAY)
        snprintf(buf, cap, "%s %d", month_abbr[c.month - 1], c.day);
    else
        snprintf(buf, cap, "%s %d %02d:%02d", month_abbr[c.month - 1], c.day, c.hour, c.minute);
}

/* ------------------------------------------------------------ columns */

typedef struct column {
    size_t bars, ready;
    size_t lo_i, hi_i;  /* bar of the lowest and of the highest close */
} column;

typedef struct layout {
    int64_t t0, t1;
    double log_lo, log_hi;
} layout;

static double x_of(const layout *L, int64_t t)
{
    if (L->t1 == L->t0)
        return PLOT_X0;
    return PLOT_X0 + (double)(t - L->t0) / (double)(L->t1 - L->t0) * PLOT_COLUMNS;
}

static double y_of(const layout *L, double price)
{
    return PRICE_Y1 - (log(price) - L->log_lo) / (L->log_hi - L->log_lo) * (PRICE_Y1 - PRICE_Y0);
}

static int column_of(const layout *L, int64_t t)
{
    if (L->t1 == L->t0)
        return 0;
    const double c = (double)(t - L->t0) / (double)(L->t1 - L->t0) * PLOT_COLUMNS;
    return c >= PLOT_COLUMNS - 1 ? PLOT_COLUMNS - 1 : (int)c;
}

/* The path's vertices per column; consecutive identical points are
 * dropped (flat stretches). */
static void band_point(FILE *f, double x, double y, int *first)
{
    fprintf(f, "%s%.1f,%.1f", *first ? "M" : " L", x, y);
    *first = 0;
}

static int write_band(FILE *f, const regime_svg *p, const double *mean, int c_first)
{
    const uint32_t K = p->states;
    const double bh = BAND_Y1 - BAND_Y0;
    double *cum = calloc((size_t)PLOT_COLUMNS * (K + 1), sizeof *cum);
    if (!cum)
        return -1;
    for (int c = c_first; c < PLOT_COLUMNS; c++)
        for (uint32_t k = 0; k < K; k++)
            cum[(size_t)c * (K + 1) + k + 1] = cum[(size_t)c * (K + 1) + k] + mean[(size_t)c * K + k];
    for (uint32_t k = 0; k < K; k++) {
        char colour[8];
        regime_svg_colour(k, K, 0, colour);
        fprintf(f, "<path fill=\"%s\" stroke=\"none\" d=\"", colour);
        int first = 1;
        for (int c = c_first; c < PLOT_COLUMNS; c++) {
            const double y = BAND_Y1 - cum[(size_t)c * (K + 1) + k + 1] * bh;
            if (c == c_first)
                band_point(f, PLOT_X0 + c, y, &first);
            band_point(f, PLOT_X0 + c + 0.5, y, &first);
            if (c == PLOT_COLUMNS - 1)
                band_point(f, PLOT_X0 + c + 1, y, &first);
        }
        for (int c = PLOT_COLUMNS - 1; c >= c_first; c--) {
            const double y = BAND_Y1 - cum[(size_t)c * (K + 1) + k] * bh;
            if (c == PLOT_COLUMNS - 1)
                band_point(f, PLOT_X0 + c + 1, y, &first);
            band_point(f, PLOT_X0 + c + 0.5, y, &first);
            if (c == c_first)
                band_point(f, PLOT_X0 + c, y, &first);
        }
        fputs(" Z\"/>\n", f);
    }
    free(cum);
    return 0;
}

static void write_axes(FILE *f, const layout *L, double lo, double hi)
{
    double yt[MAX_TICKS];
    const int ny = price_ticks(lo, hi, yt);
    fputs("<g stroke=\"#000\" stroke-opacity=\"0.12\" stroke-width=\"1\">\n", f);
    for (int i = 0; i < ny; i++)
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>\n", PLOT_X0,
                PLOT_X0 + PLOT_COLUMNS, y_of(L, yt[i]), y_of(L, yt[i]));
    fputs("</g>\n<g font-size=\"11\" text-anchor=\"end\">\n", f);
    for (int i = 0; i < ny; i++) {
        char label[32];
        price_label(yt[i], label, sizeof label);
        fprintf(f, "<text x=\"%d\" y=\"%.1f\">%s</text>\n", PLOT_X0 - 6, y_of(L, yt[i]) + 4, label);
    }
    fputs("</g>\n", f);

    /* The finest step that gives at most MAX_X_LABELS ticks. */
    int64_t xt[MAX_TICKS];
    const time_step *st = NULL;
    int nx = 0;
    for (size_t s = 0; s < sizeof time_steps / sizeof *time_steps && !st; s++) {
        nx = time_ticks(&time_steps[s], L->t0, L->t1, xt, MAX_X_LABELS);
        if (nx <= MAX_X_LABELS)
            st = &time_steps[s];
    }
    if (!st)
        nx = 0;
    fputs("<g stroke=\"#000\" stroke-opacity=\"0.12\" stroke-width=\"1\">\n", f);
    for (int i = 0; i < nx; i++) {
        const double x = x_of(L, xt[i]);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>\n", x, x, PRICE_Y0, PRICE_Y1);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>\n", x, x, BAND_Y0, BAND_Y1 + 4);
    }
    fputs("</g>\n<g font-size=\"11\" text-anchor=\"middle\">\n", f);
    for (int i = 0; i < nx; i++) {
        char label[48];
        time_label(xt[i], st, label, sizeof label);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\">%s</text>\n", x_of(L, xt[i]), TICK_LABEL_Y, label);
    }
    fputs("</g>\n", f);
}

static void write_legend(FILE *f, const regime_svg *p)
{
    double x = PLOT_X0;
    const int y = 52;
    fputs("<g font-size=\"12\">\n", f);
    for (uint32_t k = 0; k <= p->states; k++) {
        char fill[8] = "#ececec", stroke[8] = "#9a9a9a", label[80];
        if (k < p->states) {
            regime_svg_colour(k, p->states, 1, fill);
            regime_svg_colour(k, p->states, 0, stroke);
            snprintf(label, sizeof label, "%u %s", k, p->state_names[k]);
        } else {
            snprintf(label, sizeof label, "warm-up (no regime yet)");
        }
        fprintf(f,
                "<rect x=\"%.0f\" y=\"%d\" width=\"14\" height=\"12\" fill=\"%s\" stroke=\"%s\"/>"
                "<text x=\"%.0f\" y=\"%d\">",
                x, y - 10, fill, stroke, x + 19, y);
        put_escaped(f, label);
        fputs("</text>\n", f);
        x += 19 + 7.0 * (double)strlen(label) + 18;
    }
    fprintf(f,
            "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%d\" y2=\"%d\" stroke=\"#1f1f1f\" "
            "stroke-width=\"1.2\"/><text x=\"%.0f\" y=\"%d\">close (log scale)</text>\n",
            x, x + 18, y - 4, y - 4, x + 23, y);
    fputs("</g>\n", f);
}

static void write_marks(FILE *f, const regime_svg *p, const layout *L)
{
    for (size_t i = 0; i < p->n_marks; i++) {
        const int64_t t = p->marks[i].time_ms;
        if (t < L->t0 || t > L->t1)
            continue;
        const double x = x_of(L, t);
        const int right = x > PLOT_X0 + PLOT_COLUMNS * 0.85;
        fprintf(f,
                "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#333\" "
                "stroke-width=\"0.8\" stroke-dasharray=\"4 3\"/>\n",
                x, x, PRICE_Y0, BAND_Y1);
        /* A white halo keeps the label readable over the price line. */
        fprintf(f,
                "<text x=\"%.1f\" y=\"%d\" font-size=\"10.5\" text-anchor=\"%s\" "
                "stroke=\"#fff\" stroke-width=\"3\" stroke-opacity=\"0.85\" "
                "paint-order=\"stroke\">",
                right ? x - 3 : x + 3, PRICE_Y0 + 12 + (int)(i % 3) * 12, right ? "end" : "start");
        put_escaped(f, p->marks[i].label);
        fputs("</text>\n", f);
    }
}

static int write_body(FILE *f, const regime_svg *p)
{
    const uint32_t K = p->states;
    layout L = {p->time_ms[0], p->time_ms[p->n - 1], 0, 0};
    double lo = p->close[0], hi = p->close[0];
    for (size_t i = 1; i < p->n; i++) {
        lo = fmin(lo, p->close[i]);
        hi = fmax(hi, p->close[i]);
    }
    const double span = fmax(log(hi / lo), 0.02);
    L.log_lo = log(lo) - PRICE_PAD * span;
    L.log_hi = log(hi) + PRICE_PAD * span;

    column *col = calloc(PLOT_COLUMNS, sizeof *col);
    uint32_t *votes = calloc((size_t)PLOT_COLUMNS * (K + 1), sizeof *votes);
    double *mean = calloc((size_t)PLOT_COLUMNS * K, sizeof *mean);
    int *label = calloc(PLOT_COLUMNS, sizeof *label);
    if (!col || !votes || !mean || !label) {
        free(col), free(votes), free(mean), free(label);
        return -1;
    }
    for (size_t i = 0; i < p->n; i++) {
        const int c = column_of(&L, p->time_ms[i]);
        column *cc = &col[c];
        if (cc->bars == 0 || p->close[i] < p->close[cc->lo_i])
            cc->lo_i = i;
        if (cc->bars == 0 || p->close[i] > p->close[cc->hi_i])
            cc->hi_i = i;
        cc->bars++;
        if (i < p->first_ready) {
            votes[(size_t)c * (K + 1) + K]++;
            continue;
        }
        cc->ready++;
        votes[(size_t)c * (K + 1) + p->map[i]]++;
        for (uint32_t k = 0; k < K; k++)
            mean[(size_t)c * K + k] += p->posterior[i * K + k];
    }
    /* Column labels (K = warm-up); empty columns carry the previous one,
     * means likewise. */
    int c_first_ready = PLOT_COLUMNS;
    for (int c = 0; c < PLOT_COLUMNS; c++) {
        if (col[c].bars == 0) {
            label[c] = c > 0 ? label[c - 1] : (int)K;
            if (c > 0)
                memcpy(&mean[(size_t)c * K], &mean[(size_t)(c - 1) * K], K * sizeof *mean);
            continue;
        }
        int best = (int)K;
        uint32_t best_votes = votes[(size_t)c * (K + 1) + K];
        for (uint32_t k = 0; k < K; k++)
            if (votes[(size_t)c * (K + 1) + k] >= best_votes && votes[(size_t)c * (K + 1) + k] > 0) {
                best = (int)k;
                best_votes = votes[(size_t)c * (K + 1) + k];
            }
        label[c] = best;
        if (col[c].ready > 0) {
            for (uint32_t k = 0; k < K; k++)
                mean[(size_t)c * K + k] /= (double)col[c].ready;
            if (c < c_first_ready)
                c_first_ready = c;
        }
    }

    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", WIDTH, HEIGHT);
    fputs("<text x=\"84\" y=\"22\" font-size=\"16\" font-weight=\"bold\">", f);
    put_escaped(f, p->title);
    fputs("</text>\n", f);
    if (p->subtitle) {
        fputs("<text x=\"84\" y=\"37\" font-size=\"11\" fill=\"#444\">", f);
        put_escaped(f, p->subtitle);
        fputs("</text>\n", f);
    }
    write_legend(f, p);

    /* Background: runs of equal column labels as one rect each. */
    fputs("<g stroke=\"none\">\n", f);
    for (int c = 0; c < PLOT_COLUMNS;) {
        int e = c + 1;
        while (e < PLOT_COLUMNS && label[e] == label[c])
            e++;
        char fill[8] = "#ececec";
        if (label[c] < (int)K)
            regime_svg_colour((uint32_t)label[c], K, 1, fill);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n",
                PLOT_X0 + c, PRICE_Y0, e - c, PRICE_Y1 - PRICE_Y0, fill);
        c = e;
    }
    fputs("</g>\n", f);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#ececec\"/>\n", PLOT_X0,
            BAND_Y0, PLOT_COLUMNS, BAND_Y1 - BAND_Y0);
    if (c_first_ready < PLOT_COLUMNS && write_band(f, p, mean, c_first_ready) != 0) {
        free(col), free(votes), free(mean), free(label);
        return -1;
    }

    write_axes(f, &L, exp(L.log_lo), exp(L.log_hi));

    fputs("<polyline fill=\"none\" stroke=\"#1f1f1f\" stroke-width=\"1\" "
          "stroke-linejoin=\"round\" points=\"",
          f);
    int first = 1;
    for (int c = 0; c < PLOT_COLUMNS; c++) {
        if (col[c].bars == 0)
            continue;
        const double x = PLOT_X0 + c + 0.5;
        size_t a = col[c].lo_i, b = col[c].hi_i;
        if (a > b) {
            const size_t t = a;
            a = b;
            b = t;
        }
        fprintf(f, "%s%.1f,%.1f", first ? "" : " ", x, y_of(&L, p->close[a]));
        if (b != a)
            fprintf(f, " %.1f,%.1f", x, y_of(&L, p->close[b]));
        first = 0;
    }
    fputs("\"/>\n", f);
    write_marks(f, p, &L);

    /* Frames and axis titles. */
    fprintf(f,
            "<g fill=\"none\" stroke=\"#555\" stroke-width=\"1\">"
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/></g>\n",
            PLOT_X0, PRICE_Y0, PLOT_COLUMNS, PRICE_Y1 - PRICE_Y0, PLOT_X0, BAND_Y0, PLOT_COLUMNS,
            BAND_Y1 - BAND_Y0);
    fprintf(f,
            "<g font-size=\"12\" text-anchor=\"middle\">"
            "<text transform=\"translate(18 %d) rotate(-90)\">close (USD, log scale)</text>"
            "<text transform=\"translate(18 %d) rotate(-90)\">posterior</text>"
            "<text x=\"%d\" y=\"%d\">time (UTC)</text></g>\n",
            (PRICE_Y0 + PRICE_Y1) / 2, (BAND_Y0 + BAND_Y1) / 2, PLOT_X0 + PLOT_COLUMNS / 2,
            AXIS_TITLE_Y);
    fprintf(f,
            "<g font-size=\"10\" text-anchor=\"end\"><text x=\"%d\" y=\"%d\">1</text>"
            "<text x=\"%d\" y=\"%d\">0</text></g>\n",
            PLOT_X0 - 6, BAND_Y0 + 8, PLOT_X0 - 6, BAND_Y1);
    fputs("</svg>\n", f);
    free(col), free(votes), free(mean), free(label);
    return 0;
}

int regime_svg_write(const char *path, const regime_svg *p, char *err, size_t cap)
{
    if (p->n == 0) {
        snprintf(err, cap, "%s: no bars to draw", path);
        return -1;
    }
    errno = 0;
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, cap, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    const int rc = write_body(f, p);
    const int failed = ferror(f);
    if (fclose(f) != 0 || failed || rc != 0) {
        snprintf(err, cap, "%s: %s", path, rc != 0 ? "out of memory" : "write failed");
        return -1;
    }
    return 0;
}
