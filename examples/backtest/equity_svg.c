#include "equity_svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define WIDTH 960
#define HEIGHT 540
#define X0 80.0
#define X1 930.0
#define EQ_Y0 50.0
#define EQ_Y1 340.0
#define DD_Y0 380.0
#define DD_Y1 490.0

/* A round step giving 4–8 ticks over span. */
static double nice_step(double span)
{
    if (!(span > 0))
        return 1.0;
    const double raw = span / 6.0;
    const double p = pow(10.0, floor(log10(raw)));
    const double m = raw / p;
    return (m < 1.5 ? 1.0 : m < 3.5 ? 2.0 : m < 7.5 ? 5.0 : 10.0) * p;
}

static double sx(const equity_svg *e, double t_s)
{
    const double span = e->points[e->count - 1].t_s - e->points[0].t_s;
    return span > 0 ? X0 + (t_s - e->points[0].t_s) / span * (X1 - X0) : X0;
}

static double sy(double v, double lo, double hi, double y0, double y1)
{
    return hi > lo ? y1 - (v - lo) / (hi - lo) * (y1 - y0) : 0.5 * (y0 + y1);
}

static void axis_y(FILE *f, double lo, double hi, double y0, double y1, const char *unit)
{
    const double step = nice_step(hi - lo);
    const double first = ceil(lo / step) * step;
    /* An integer count of ticks: a step below the values' resolution
     * (equity of 1e9 moving by cents) cannot stall the loop. */
    for (int i = 0; i < 20; i++) {
        const double v = first + step * i;
        if (v > hi + 1e-9 * step)
            break;
        const double y = sy(v, lo, hi, y0, y1);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.*f</text>\n",
                X0, y, X1, y, X0 - 6, y + 4, step < 1 ? 2 : 0, v);
    }
    fprintf(f,
            "<text x=\"16\" y=\"%.1f\" font-size=\"12\" transform=\"rotate(-90 16 %.1f)\" "
            "text-anchor=\"middle\">%s</text>\n",
            0.5 * (y0 + y1), 0.5 * (y0 + y1), unit);
}

int equity_svg_write(const char *path, const equity_svg *e, char *err, size_t cap)
{
    if (e->count < 2) {
        snprintf(err, cap, "%s: fewer than two equity points to draw", path);
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, cap, "%s: cannot open for writing", path);
        return -1;
    }
    double lo = e->points[0].equity, hi = lo, dd_max = 0, peak = lo;
    for (size_t i = 0; i < e->count; i++) {
        const double v = e->points[i].equity;
        lo = fmin(lo, v);
        hi = fmax(hi, v);
        peak = fmax(peak, v);
        dd_max = fmax(dd_max, peak - v);
    }
    if (hi - lo < 1e-9) {
        lo -= 1;
        hi += 1;
    }
    const double pad = 0.05 * (hi - lo);
    lo -= pad;
    hi += pad;
    if (dd_max <= 0)
        dd_max = 1;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%.1f\" y=\"28\" font-size=\"15\">%s</text>\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT, X0, e->title);
    axis_y(f, lo, hi, EQ_Y0, EQ_Y1, "equity (quote)");
    axis_y(f, -dd_max, 0, DD_Y0, DD_Y1, "drawdown");
    /* Time axis in minutes from the start, under the drawdown panel. */
    const double span_s = e->points[e->count - 1].t_s - e->points[0].t_s;
    const double unit = span_s > 7200 ? 3600.0 : 60.0;
    const double step = nice_step(span_s / unit);
    for (int i = 0; i < 20; i++) {
        const double m = step * i;
        if (m > span_s / unit + 1e-9)
            break;
        const double x = sx(e, e->points[0].t_s + m * unit);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%g</text>\n",
                x, EQ_Y0, x, DD_Y1, x, DD_Y1 + 16, m);
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%s since "
            "the first event</text>\n",
            0.5 * (X0 + X1), DD_Y1 + 36, unit > 60 ? "hours" : "minutes");
    /* Equity line, trades marked, drawdown area. */
    fprintf(f, "<path fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"1.5\" d=\"");
    for (size_t i = 0; i < e->count; i++)
        fprintf(f, "%s%.1f,%.1f", i ? " L" : "M", sx(e, e->points[i].t_s),
                sy(e->points[i].equity, lo, hi, EQ_Y0, EQ_Y1));
    fprintf(f, "\"/>\n");
    for (size_t i = 0; i < e->count; i++)
        if (e->points[i].trade != 0)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                    sx(e, e->points[i].t_s), sy(e->points[i].equity, lo, hi, EQ_Y0, EQ_Y1),
                    e->points[i].trade > 0 ? "#2a9d4a" : "#c0392b");
    fprintf(f, "<path fill=\"#f4b6b0\" stroke=\"#c0392b\" stroke-width=\"1\" d=\"M%.1f,%.1f",
            X0, sy(0, -dd_max, 0, DD_Y0, DD_Y1));
    peak = e->points[0].equity;
    for (size_t i = 0; i < e->count; i++) {
        peak = fmax(peak, e->points[i].equity);
        fprintf(f, " L%.1f,%.1f", sx(e, e->points[i].t_s),
                sy(e->points[i].equity - peak, -dd_max, 0, DD_Y0, DD_Y1));
    }
    fprintf(f, " L%.1f,%.1f Z\"/>\n", X1, sy(0, -dd_max, 0, DD_Y0, DD_Y1));
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#2a9d4a\">● buy fill</text>"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#c0392b\">● sell fill</text>\n"
            "</svg>\n",
            X1 - 160, EQ_Y0 - 8, X1 - 80, EQ_Y0 - 8);
    const int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, cap, "%s: write error", path);
        return -1;
    }
    return 0;
}
