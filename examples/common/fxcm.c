#include "fxcm.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "zip_reader.h"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_DAY (INT64_C(86400) * INT64_C(1000000000))
#define MS_PER_DAY INT64_C(86400000)
/* Skipped rows reported one by one before the log goes quiet. */
#define LOG_LIMIT 20
/* Longest price field accepted: plenty for any quote, and lets a field be
 * copied to a NUL-terminated buffer for strtod. */
#define MAX_FIELD 63
#define ERR_BYTES 512

typedef struct day_file {
    char *path;
    zipr_archive *zip;
    size_t member;
    int64_t day_ns;
} day_file;

struct fxcm_reader {
    fxcm_options opt;
    day_file *files;
    size_t count;
    size_t next_file;   /* index of the file to open when `stream` ends */
    zipr_stream *stream;
    size_t current;     /* file the stream reads */
    int64_t last_ts;    /* of the last emitted quote, INT64_MIN before any */
    int failed;
    uint64_t logged;
    char err[ERR_BYTES];
    fxcm_counters c;
};

void fxcm_options_init(fxcm_options *o)
{
    o->keep_crossed = 0;
    o->log = stderr;
}

const char *fxcm_skip_name(int reason)
{
    static const char *const names[FXCM_SKIP_COUNT] = {"malformed", "crossed", "locked",
                                                       "time"};
    return reason >= 0 && reason < FXCM_SKIP_COUNT ? names[reason] : "?";
}

/* ------------------------------------------------------------ parsing */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* UTC midnight (ns) of the YYYYMMDD that starts the file's base name, or -1
 * (no such date, or outside the int64 ns range 1970..2261). */
static int64_t name_date(const char *path)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *slash = strrchr(path, '/');
    const char *s = slash ? slash + 1 : path;
    long v[3] = {0, 0, 0};
    static const int width[3] = {4, 2, 2};
    for (int f = 0, k = 0; f < 3; f++)
        for (int i = 0; i < width[f]; i++, k++) {
            if (!is_digit(s[k]))
                return -1;
            v[f] = v[f] * 10 + (s[k] - '0');
        }
    long y = v[0], m = v[1], d = v[2];
    if (y < 1970 || y > 2261 || m < 1 || m > 12 || d < 1 || d > (long)mdays[m - 1])
        return -1;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    return days_from_civil(y, (unsigned)m, (unsigned)d) * NS_PER_DAY;
}

/* A price field ending at ',' or the end: a plain decimal (digits, one
 * optional point), finite and > 0. Advances *p past a comma. */
static int parse_price(const char **p, double *out)
{
    const char *s = *p;
    char field[MAX_FIELD + 1];
    size_t n = 0;
    int dots = 0, digit_seen = 0;
    for (; *s != ',' && *s != '\0'; s++, n++) {
        if (n >= MAX_FIELD)
            return -1;
        if (*s == '.')
            dots++;
        else if (is_digit(*s))
            digit_seen = 1;
        else
            return -1;
        field[n] = *s;
    }
    if (!digit_seen || dots > 1)
        return -1;
    field[n] = '\0';
    double v = strtod(field, NULL);
    if (!isfinite(v) || !(v > 0.0))
        return -1;
    *out = v;
    *p = *s == ',' ? s + 1 : s;
    return 0;
}

/* `ms,bid,ask`. Returns NULL or why the row is malformed. */
static const char *parse_row(const char *line, size_t len, int64_t *ms, double *bid,
                             double *ask)
{
    const char *p = line;
    if (strlen(line) != len)
        return "row holds a NUL byte";
    int64_t v = 0;
    int n = 0;
    for (; is_digit(*p); p++) {
        if (++n > 8)
            return "ms is not an integer in 0..86399999";
        v = v * 10 + (*p - '0');
    }
    if (n == 0 || *p != ',' || v >= MS_PER_DAY)
        return "ms is not an integer in 0..86399999";
    p++;
    if (parse_price(&p, bid) != 0 || p[-1] != ',')
        return "bid is not a decimal > 0 followed by the ask";
    if (parse_price(&p, ask) != 0)
        return "ask is not a decimal > 0";
    if (*p != '\0' || p[-1] == ',')
        return "row has more than 3 fields";
    *ms = v;
    return NULL;
}

/* ------------------------------------------------------------ errors */

static int fail(fxcm_reader *r, int code, const char *what)
{
    snprintf(r->err, sizeof r->err, "%s", what);
    r->failed = code;
    return code;
}

static int zip_code(int zrc)
{
    return zrc == ZIPR_ENOMEM ? BCAP_ENOMEM : zrc == ZIPR_EINVAL ? BCAP_EINVAL : BCAP_EIO;
}

static void skip(fxcm_reader *r, int reason, const char *why)
{
    r->c.skipped[reason]++;
    if (!r->opt.log)
        return;
    if (r->logged < LOG_LIMIT)
        fprintf(r->opt.log, "%s: row %" PRIu64 ": skipped (%s): %s\n",
                r->files[r->current].path, zipr_line_number(r->stream), fxcm_skip_name(reason),
                why);
    else if (r->logged == LOG_LIMIT)
        fprintf(r->opt.log, "fxcm: further skipped rows are counted, not shown\n");
    r->logged++;
}

/* ------------------------------------------------------------ open */

static void open_error(char *errbuf, size_t cap, const char *path, const char *what)
{
    if (cap > 0)
        snprintf(errbuf, cap, "%s: %s", path ? path : "(null)", what);
}

/* The one *.csv member of a day's zip, or why not. */
static const char *find_csv(const zipr_archive *a, size_t *index)
{
    long found = -1;
    for (size_t i = 0; i < zipr_count(a); i++) {
        const char *n = zipr_member_at(a, i)->name;
        size_t len = strlen(n);
        if (len > 4 && strcmp(n + len - 4, ".csv") == 0) {
            if (found >= 0)
                return "more than one *.csv member";
            found = (long)i;
        }
    }
    if (found < 0)
        return "no *.csv member";
    *index = (size_t)found;
    return NULL;
}

static int open_day(day_file *f, const char *path, int64_t prev_day, char *errbuf, size_t cap)
{
    if (!path) {
        open_error(errbuf, cap, path, "invalid argument");
        return BCAP_EINVAL;
    }
    f->day_ns = name_date(path);
    if (f->day_ns < 0) {
        open_error(errbuf, cap, path, "file name does not start with a date YYYYMMDD");
        return BCAP_EINVAL;
    }
    if (f->day_ns <= prev_day) {
        open_error(errbuf, cap, path, "dates must increase from file to file");
        return BCAP_EINVAL;
    }
    if (!(f->path = malloc(strlen(path) + 1))) {
        open_error(errbuf, cap, path, "out of memory");
        return BCAP_ENOMEM;
    }
    strcpy(f->path, path);
    int zrc = zipr_open(&f->zip, path, errbuf, cap);
    if (zrc != ZIPR_OK)
        return zip_code(zrc);
    const char *why = find_csv(f->zip, &f->member);
    if (why) {
        open_error(errbuf, cap, path, why);
        return BCAP_EIO;
    }
    return BCAP_OK;
}

int fxcm_open(fxcm_reader **out, const char *const *paths, size_t count,
              const fxcm_options *options, char *errbuf, size_t errbuf_cap)
{
    fxcm_options defaults;
    if (!options) {
        fxcm_options_init(&defaults);
        options = &defaults;
    }
    if (!out || !paths || count == 0) {
        if (out)
            *out = NULL;
        open_error(errbuf, errbuf_cap, "fxcm", "invalid argument (no files)");
        return BCAP_EINVAL;
    }
    *out = NULL;
    fxcm_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->files = calloc(count, sizeof *r->files))) {
        free(r);
        open_error(errbuf, errbuf_cap, paths[0], "out of memory");
        return BCAP_ENOMEM;
    }
    r->count = count;
    r->opt = *options;
    r->last_ts = INT64_MIN;
    for (size_t i = 0; i < count; i++) {
        int rc = open_day(&r->files[i], paths[i], i ? r->files[i - 1].day_ns : -1, errbuf,
                          errbuf_cap);
        if (rc != BCAP_OK) {
            fxcm_close(r);
            return rc;
        }
    }
    *out = r;
    return BCAP_OK;
}

void fxcm_close(fxcm_reader *r)
{
    if (!r)
        return;
    zipr_stream_close(r->stream);
    for (size_t i = 0; i < r->count; i++) {
        zipr_close(r->files[i].zip);
        free(r->files[i].path);
    }
    free(r->files);
    free(r);
}

/* ------------------------------------------------------------ events */

/* Next row of the current file, moving on to the next file at the end of
 * one: 1 (a row), 0 (all files done) or a BCAP error. */
static int next_line(fxcm_reader *r, const char **line, size_t *len)
{
    for (;;) {
        if (!r->stream) {
            if (r->next_file == r->count)
                return 0;
            char err[ERR_BYTES];
            day_file *f = &r->files[r->next_file];
            int zrc = zipr_stream_open(&r->stream, f->zip, f->member, err, sizeof err);
            if (zrc != ZIPR_OK)
                return fail(r, zip_code(zrc), err);
            r->current = r->next_file++;
            r->c.files++;
        }
        int rc = zipr_getline(r->stream, line, len);
        if (rc == 1)
            return 1;
        if (rc < 0)
            return fail(r, zip_code(rc), zipr_stream_error(r->stream));
        zipr_stream_close(r->stream); /* verified: CRC and size match */
        r->stream = NULL;
    }
}

int fxcm_next(fxcm_reader *r, bcap_event *ev)
{
    if (!r || !ev)
        return BCAP_EINVAL;
    if (r->failed)
        return r->failed;
    for (;;) {
        const char *line = NULL;
        size_t len = 0;
        int rc = next_line(r, &line, &len);
        if (rc <= 0)
            return rc;
        r->c.rows++;
        int64_t ms = 0;
        double bid = 0.0, ask = 0.0;
        const char *why = parse_row(line, len, &ms, &bid, &ask);
        if (why) {
            skip(r, FXCM_SKIP_MALFORMED, why);
            continue;
        }
        if (bid >= ask && !r->opt.keep_crossed) {
            skip(r, bid > ask ? FXCM_SKIP_CROSSED : FXCM_SKIP_LOCKED,
                 bid > ask ? "bid above ask" : "bid equal to ask");
            continue;
        }
        int64_t ts = r->files[r->current].day_ns + ms * NS_PER_MS;
        if (ts < r->last_ts) {
            skip(r, FXCM_SKIP_TIME, "time before the last emitted quote");
            continue;
        }
        if (bid > ask)
            r->c.kept_crossed++;
        else if (bid == ask)
            r->c.kept_locked++;
        r->last_ts = ts;
        memset(ev, 0, sizeof *ev);
        ev->kind = CSCALP_KIND_QUOTE;
        ev->quote.ts_ns = ts;
        ev->quote.bid_price = bid;
        ev->quote.bid_size = FXCM_QUOTE_SIZE;
        ev->quote.ask_price = ask;
        ev->quote.ask_size = FXCM_QUOTE_SIZE;
        r->c.events[CSCALP_KIND_QUOTE]++;
        return 1;
    }
}

const fxcm_counters *fxcm_get_counters(const fxcm_reader *r)
{
    return &r->c;
}

const char *fxcm_last_error(const fxcm_reader *r)
{
    return r ? r->err : "";
}

int64_t fxcm_day_start_ns(const fxcm_reader *r, size_t index)
{
    return r && index < r->count ? r->files[index].day_ns : -1;
}

void fxcm_print_counters(FILE *f, const fxcm_counters *c)
{
    fprintf(f, "{\"files\":%" PRIu64 ",\"rows\":%" PRIu64 ",\"quotes\":%" PRIu64
               ",\"kept_crossed\":%" PRIu64 ",\"kept_locked\":%" PRIu64 ",\"skipped\":{",
            c->files, c->rows, c->events[CSCALP_KIND_QUOTE], c->kept_crossed, c->kept_locked);
    for (int k = 0; k < FXCM_SKIP_COUNT; k++)
        fprintf(f, "%s\"%s\":%" PRIu64, k ? "," : "", fxcm_skip_name(k), c->skipped[k]);
    fprintf(f, "}}");
}
