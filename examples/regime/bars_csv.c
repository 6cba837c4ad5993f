#include "bars_csv.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_FIELDS 64
#define MS_PER_DAY 86400000LL

enum { COL_TIME, COL_OPEN, COL_HIGH, COL_LOW, COL_CLOSE, COL_VOLUME, COL_COUNT };

static const char *const time_names[] = {"timestamp",      "date", "time",      "datetime",
                                         "unix timestamp", "unix", "open_time", "open time"};

const char *bars_skip_name(int reason)
{
    static const char *const names[BARS_SKIP_COUNT] = {"fields", "time",      "number",
                                                       "range",  "duplicate", "long_line"};
    return reason >= 0 && reason < BARS_SKIP_COUNT ? names[reason] : "?";
}

uint64_t bars_skipped_total(const bars_series *s)
{
    uint64_t total = 0;
    for (int i = 0; i < BARS_SKIP_COUNT; i++)
        total += s->skipped[i];
    return total;
}

/* ---------------------------------------------------------------- time */

/* Howard Hinnant's days_from_civil: exact for every proleptic Gregorian
 * date, with no dependence on the C library's time zone (timegm is not
 * standard C). */
int64_t bars_from_civil(int year, int month, int day)
{
    const int64_t y = (int64_t)year - (month <= 2);
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t mp = (month + 9) % 12;
    const int64_t doy = (153 * mp + 2) / 5 + day - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * MS_PER_DAY;
}

void bars_to_civil(int64_t time_ms, bars_civil *c)
{
    int64_t days = time_ms / MS_PER_DAY, rest = time_ms % MS_PER_DAY;
    if (rest < 0) {
        rest += MS_PER_DAY;
        days--;
    }
    const int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t d = doy - (153 * mp + 2) / 5 + 1;
    const int64_t m = mp < 10 ? mp + 3 : mp - 9;
    c->year = (int)(yoe + era * 400 + (m <= 2));
    c->month = (int)m;
    c->day = (int)d;
    const int64_t s = rest / 1000;
    c->hour = (int)(s / 3600);
    c->minute = (int)(s / 60 % 60);
    c->second = (int)(s % 60);
}

void bars_format_time(int64_t time_ms, char *buf, size_t cap)
{
    bars_civil c;
    bars_to_civil(time_ms, &c);
    int64_t ms = time_ms % 1000;
    if (ms < 0)
        ms += 1000;
    if (ms != 0)
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.year, c.month, c.day, c.hour,
                 c.minute, c.second, (int)ms);
    else
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
                 c.minute, c.second);
}

/* `n` digits exactly; advances *p. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        const char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return -1;
        v = v * 10 + (ch - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

static int parse_unix(const char *s, int64_t *time_ms)
{
    int64_t v = 0;
    int n = 0;
    for (; *s >= '0' && *s <= '9'; s++, n++) {
        if (n >= 19)
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (*s != '\0' || n == 0)
        return -1;
    /* Unix time in s has 10 digits until 2286; ms 13, µs 16, ns 19. */
    if (n > 17)
        v /= 1000000;
    else if (n > 14)
        v /= 1000;
    else if (n <= 11)
        v *= 1000;
    *time_ms = v;
    return 0;
}

int bars_parse_time(const char *s, int64_t *time_ms)
{
    const char *p = s;
    int year, month, day, hour = 0, minute = 0, second = 0, ms = 0;
    if (strlen(s) >= 5 && s[4] != '-' && s[4] != '/')
        return parse_unix(s, time_ms);
    if (digits(&p, 4, &year) || (*p != '-' && *p != '/'))
        return -1;
    const char sep = *p++;
    if (digits(&p, 2, &month) || *p++ != sep || digits(&p, 2, &day))
        return -1;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return -1;
    if (*p == ' ' || *p == 'T') {
        p++;
        if (digits(&p, 2, &hour))
            return -1;
        if ((p[0] == '-' || p[0] == ' ') && (p[1] == 'A' || p[1] == 'P') && p[2] == 'M') {
            if (hour < 1 || hour > 12)
                return -1;
            hour = hour % 12 + (p[1] == 'P' ? 12 : 0);
            p += 3;
        } else {
            if (*p++ != ':' || digits(&p, 2, &minute))
                return -1;
            if (*p == ':') {
                p++;
                if (digits(&p, 2, &second))
                    return -1;
                if (*p == '.') {
                    p++;
                    int scale = 100, nd = 0;
                    for (; *p >= '0' && *p <= '9'; p++, nd++) {
                        ms += (*p - '0') * scale;
                        scale /= 10;
                    }
                    if (nd == 0)
                        return -1;
                }
            }
            if (hour > 23 || minute > 59 || second > 60)
                return -1;
        }
    }
    if (strcmp(p, "Z") == 0 || strcmp(p, "+00:00") == 0)
        p += strlen(p);
    if (*p != '\0')
        return -1;
    *time_ms = bars_from_civil(year, month, day) +
               ((int64_t)hour * 3600 + minute * 60 + second) * 1000 + ms;
    return 0;
}

/* ---------------------------------------------------------------- CSV */

/* Split `line` in place at commas; each field trimmed of blanks and one
 * pair of surrounding double quotes. Returns the number of fields. */
static int split_fields(char *line, char **fields)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *end = strchr(p, ',');
        if (end)
            *end = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            p[--len] = '\0';
        if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
            p[len - 1] = '\0';
            p++;
        }
        if (n < MAX_FIELDS)
            fields[n++] = p;
        if (!end)
            return n;
        p = end + 1;
    }
}

static int name_is(const char *field, const char *name)
{
    for (; *field && *name; field++, name++)
        if (tolower((unsigned char)*field) != *name)
            return 0;
    return *field == '\0' && *name == '\0';
}

static int name_starts(const char *field, const char *prefix)
{
    for (; *prefix; field++, prefix++)
        if (tolower((unsigned char)*field) != *prefix)
            return 0;
    return 1;
}

static int case_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == '\0' && *b == '\0';
}

/* Column indices from a header line; 0 when it has a time and a close
 * column (and so is the header), -1 otherwise. */
static int find_columns(char **f, int n, const char *volume_name, int *col)
{
    for (int c = 0; c < COL_COUNT; c++)
        col[c] = -1;
    for (size_t t = 0; t < sizeof time_names / sizeof *time_names && col[COL_TIME] < 0; t++)
        for (int i = 0; i < n; i++)
            if (name_is(f[i], time_names[t])) {
                col[COL_TIME] = i;
                break;
            }
    for (int i = 0; i < n; i++) {
        if (col[COL_OPEN] < 0 && name_is(f[i], "open"))
            col[COL_OPEN] = i;
        if (col[COL_HIGH] < 0 && name_is(f[i], "high"))
            col[COL_HIGH] = i;
        if (col[COL_LOW] < 0 && name_is(f[i], "low"))
            col[COL_LOW] = i;
        if (col[COL_CLOSE] < 0 && name_is(f[i], "close"))
            col[COL_CLOSE] = i;
        if (col[COL_VOLUME] < 0 &&
            (volume_name ? case_equal(f[i], volume_name) : name_starts(f[i], "volume")))
            col[COL_VOLUME] = i;
    }
    return col[COL_TIME] >= 0 && col[COL_CLOSE] >= 0 ? 0 : -1;
}

/* A finite decimal; strtod alone would also take "inf", "nan", hex and
 * leading blanks. */
static int parse_number(const char *s, double *out)
{
    if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == '+' || *s == '.'))
        return -1;
    if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) || strpbrk(s, "xXnNiI"))
        return -1;
    char *end = NULL;
    const double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

typedef struct keyed_bar {
    bars_bar bar;
    uint64_t row; /* file order, for a stable sort */
} keyed_bar;

static int bar_cmp(const void *a, const void *b)
{
    const keyed_bar *x = a, *y = b;
    if (x->bar.time_ms != y->bar.time_ms)
        return x->bar.time_ms < y->bar.time_ms ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* One data row into *b; -1 - reason (bars_skip) when skipped. */
static int parse_row(char **f, int n, const int *col, bars_bar *b)
{
    for (int c = 0; c < COL_COUNT; c++)
        if (col[c] >= n)
            return -1 - BARS_SKIP_FIELDS;
    if (bars_parse_time(f[col[COL_TIME]], &b->time_ms) != 0)
        return -1 - BARS_SKIP_TIME;
    double v[COL_COUNT] = {0};
    for (int c = COL_OPEN; c < COL_COUNT; c++)
        if (col[c] >= 0 && parse_number(f[col[c]], &v[c]) != 0)
            return -1 - BARS_SKIP_NUMBER;
    b->close = v[COL_CLOSE];
    /* A missing column takes the close (prices) or nothing (volume). */
    b->open = col[COL_OPEN] >= 0 ? v[COL_OPEN] : b->close;
    b->high = col[COL_HIGH] >= 0 ? v[COL_HIGH] : fmax(b->open, b->close);
    b->low = col[COL_LOW] >= 0 ? v[COL_LOW] : fmin(b->open, b->close);
    b->volume = col[COL_VOLUME] >= 0 ? v[COL_VOLUME] : 0.0;
    if (!(b->low > 0.0) || b->low > b->high || b->open < b->low || b->open > b->high ||
        b->close < b->low || b->close > b->high || b->volume < 0.0)
        return -1 - BARS_SKIP_RANGE;
    return 0;
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

int bars_read(const char *path, const char *volume_column, bars_series *out, char *err,
              size_t cap)
{
    memset(out, 0, sizeof *out);
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        snprintf(err, cap, "%s: cannot open: %s", path, errno ? strerror(errno) : "zlib failed");
        return BARS_EIO;
    }
    gzbuffer(gz, 1u << 17);
    char line[BARS_MAX_LINE_BYTES + 2];
    char *f[MAX_FIELDS];
    int col[COL_COUNT];
    int have_header = 0, overlong = 0, rc = BARS_OK;
    keyed_bar *kb = NULL;
    size_t n = 0, kcap = 0;
    int64_t prev_time = 0;
    int ascending = 1, descending = 1;
    for (;;) {
        if (!gzgets(gz, line, (int)sizeof line)) {
            int errnum = Z_OK;
            const char *msg = gzerror(gz, &errnum);
            if (errnum != Z_OK && errnum != Z_STREAM_END) {
                snprintf(err, cap, "%s: read error: %s", path, msg);
                rc = BARS_EIO;
            }
            break;
        }
        size_t len = strlen(line);
        const int complete = len > 0 && line[len - 1] == '\n';
        if (!complete && !gzeof(gz)) {
            /* The rest of an overlong line arrives as the next pieces. */
            overlong = 1;
            continue;
        }
        out->lines++;
        if (overlong) {
            overlong = 0;
            if (have_header) {
                out->rows++;
                out->skipped[BARS_SKIP_LONG]++;
            } else {
                out->banner_lines++;
            }
            continue;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || strspn(line, " \t") == len) {
            out->blank_lines++;
            continue;
        }
        const int nf = split_fields(line, f);
        if (!have_header) {
            if (find_columns(f, nf, volume_column, col) == 0) {
                if (volume_column && col[COL_VOLUME] < 0) {
                    snprintf(err, cap, "%s: no column named \"%s\" in the header", path,
                             volume_column);
                    rc = BARS_EFORMAT;
                    break;
                }
                have_header = 1;
                copy_name(out->time_column, sizeof out->time_column, f[col[COL_TIME]]);
                if (col[COL_VOLUME] >= 0)
                    copy_name(out->volume_column, sizeof out->volume_column, f[col[COL_VOLUME]]);
            } else if (++out->banner_lines > BARS_MAX_BANNER_LINES) {
                snprintf(err, cap,
                         "%s: no header line (with a time and a close column) in the first "
                         "%d lines",
                         path, BARS_MAX_BANNER_LINES + 1);
                rc = BARS_EFORMAT;
                break;
            }
            continue;
        }
        out->rows++;
        bars_bar b;
        const int pr = parse_row(f, nf, col, &b);
        if (pr < 0) {
            out->skipped[-1 - pr]++;
            continue;
        }
        if (n == kcap) {
            const size_t grown = kcap ? kcap * 2 : 4096;
            keyed_bar *p = realloc(kb, grown * sizeof *kb);
            if (!p) {
                snprintf(err, cap, "%s: out of memory at row %llu", path,
                         (unsigned long long)out->rows);
                rc = BARS_ENOMEM;
                break;
            }
            kb = p;
            kcap = grown;
        }
        if (n > 0) {
            ascending &= b.time_ms >= prev_time;
            descending &= b.time_ms <= prev_time;
        }
        prev_time = b.time_ms;
        kb[n].bar = b;
        kb[n].row = out->rows;
        n++;
    }
    gzclose(gz);
    if (rc == BARS_OK && !have_header) {
        snprintf(err, cap, "%s: no header line (with a time and a close column)", path);
        rc = BARS_EFORMAT;
    }
    if (rc != BARS_OK) {
        free(kb);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->order = ascending ? BARS_ORDER_ASCENDING
                           : descending ? BARS_ORDER_DESCENDING : BARS_ORDER_MIXED;
    if (n > 0)
        qsort(kb, n, sizeof *kb, bar_cmp);
    out->bar = malloc((n ? n : 1) * sizeof *out->bar);
    if (!out->bar) {
        free(kb);
        memset(out, 0, sizeof *out);
        snprintf(err, cap, "%s: out of memory", path);
        return BARS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (out->n > 0 && kb[i].bar.time_ms == out->bar[out->n - 1].time_ms) {
            out->skipped[BARS_SKIP_DUPLICATE]++;
            continue;
        }
        out->bar[out->n++] = kb[i].bar;
    }
    free(kb);
    return BARS_OK;
}

void bars_free(bars_series *s)
{
    free(s->bar);
    memset(s, 0, sizeof *s);
}
