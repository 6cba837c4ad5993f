#include "tardis.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define LINE_BYTES 512

static const char trades_header[] = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount";
static const char quotes_header[] =
    "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount";

typedef enum { KIND_TRADES, KIND_QUOTES } file_kind;

typedef struct stream {
    gzFile gz;
    file_kind kind;
    const char *path;
    int has_next;     /* `next` holds the stream's next event */
    int64_t next_ns;  /* its local time */
    bcap_event next;
    int eof;
} stream;

struct tardis_reader {
    stream s[TARDIS_MAX_FILES];
    size_t n;
    tardis_counters c;
    char error[256];
};

static void chomp(char *line)
{
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
}

int tardis_detect(const char *path)
{
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL)
        return -1;
    char line[LINE_BYTES];
    const int got = gzgets(gz, line, sizeof line) != NULL;
    gzclose(gz);
    if (!got)
        return 0;
    chomp(line);
    return strcmp(line, trades_header) == 0 || strcmp(line, quotes_header) == 0;
}

/* Split a CSV line in place into at most `max` fields; the count. */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

static int number(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    *out = strtod(s, &end);
    return end != s && *end == '\0' && errno == 0;
}

static int integer(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    const long long v = strtoll(s, &end, 10);
    *out = v;
    return end != s && *end == '\0' && errno == 0;
}

/* The stream's next event; a malformed line is counted and skipped (the
 * engine refuses what is malformed in values; here only the syntax). */
static int advance(tardis_reader *r, stream *s)
{
    char line[LINE_BYTES];
    s->has_next = 0;
    while (!s->eof) {
        if (gzgets(s->gz, line, sizeof line) == NULL) {
            int err = 0;
            const char *msg = gzerror(s->gz, &err);
            if (err != Z_OK && err != Z_STREAM_END) {
                snprintf(r->error, sizeof r->error, "%s: %s", s->path, msg);
                return BCAP_EIO;
            }
            s->eof = 1;
            break;
        }
        chomp(line);
        if (line[0] == '\0')
            continue;
        r->c.lines++;
        char *f[9];
        const int n = split(line, f, 9);
        int64_t ts_us = 0, local_us = 0;
        int ok = n == 8 && integer(f[2], &ts_us) && integer(f[3], &local_us) && local_us > 0 &&
                 local_us < INT64_MAX / 1000;
        memset(&s->next, 0, sizeof s->next);
        if (ok && s->kind == KIND_TRADES) {
            int64_t id = 0;
            cscalp_trade *t = &s->next.trade;
            s->next.kind = CSCALP_KIND_TRADE;
            ok = integer(f[4], &id) && number(f[6], &t->price) && number(f[7], &t->size) &&
                 (strcmp(f[5], "buy") == 0 || strcmp(f[5], "sell") == 0);
            t->side = strcmp(f[5], "buy") == 0 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL;
            t->trade_id = id;
            t->ts_ns = local_us * 1000;
        } else if (ok) {
            cscalp_quote *q = &s->next.quote;
            s->next.kind = CSCALP_KIND_QUOTE;
            ok = number(f[4], &q->ask_size) && number(f[5], &q->ask_price) &&
                 number(f[6], &q->bid_price) && number(f[7], &q->bid_size);
            q->ts_ns = local_us * 1000;
        }
        if (!ok) {
            r->c.bad_lines++;
            continue;
        }
        s->next_ns = local_us * 1000;
        s->has_next = 1;
        return BCAP_OK;
    }
    return BCAP_OK;
}

int tardis_open(tardis_reader **out, const char *const *paths, size_t n, char *errbuf,
                size_t errbuf_cap)
{
    *out = NULL;
    if (n < 1 || n > TARDIS_MAX_FILES) {
        snprintf(errbuf, errbuf_cap, "tardis: 1 to %d files, got %zu", TARDIS_MAX_FILES, n);
        return BCAP_EINVAL;
    }
    tardis_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(errbuf, errbuf_cap, "tardis: out of memory");
        return BCAP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        stream *s = &r->s[i];
        s->path = paths[i];
        s->gz = gzopen(paths[i], "rb");
        char line[LINE_BYTES];
        if (s->gz == NULL || gzgets(s->gz, line, sizeof line) == NULL) {
            snprintf(errbuf, errbuf_cap, "%s: cannot open or read", paths[i]);
            r->n = i + (s->gz != NULL);
            tardis_close(r);
            return BCAP_EIO;
        }
        r->n = i + 1;
        chomp(line);
        if (strcmp(line, trades_header) == 0)
            s->kind = KIND_TRADES;
        else if (strcmp(line, quotes_header) == 0)
            s->kind = KIND_QUOTES;
        else {
            snprintf(errbuf, errbuf_cap, "%s: not a tardis trades or quotes CSV (header %.80s)",
                     paths[i], line);
            tardis_close(r);
            return BCAP_EINVAL;
        }
        if (advance(r, s) != BCAP_OK) {
            snprintf(errbuf, errbuf_cap, "%s", r->error);
            tardis_close(r);
            return BCAP_EIO;
        }
    }
    *out = r;
    return BCAP_OK;
}

int tardis_next(tardis_reader *r, bcap_event *ev)
{
    stream *best = NULL;
    for (size_t i = 0; i < r->n; i++)
        if (r->s[i].has_next && (best == NULL || r->s[i].next_ns < best->next_ns))
            best = &r->s[i];
    if (best == NULL)
        return 0;
    *ev = best->next;
    if (ev->kind == CSCALP_KIND_TRADE)
        r->c.trades++;
    else
        r->c.quotes++;
    return advance(r, best) == BCAP_OK ? 1 : BCAP_EIO;
}

const char *tardis_last_error(const tardis_reader *r) { return r->error; }

const tardis_counters *tardis_get_counters(const tardis_reader *r) { return &r->c; }

void tardis_print_counters(FILE *out, const tardis_counters *c)
{
    fprintf(out, "{\"lines\":%llu,\"bad_lines\":%llu,\"trades\":%llu,\"quotes\":%llu}",
            (unsigned long long)c->lines, (unsigned long long)c->bad_lines,
            (unsigned long long)c->trades, (unsigned long long)c->quotes);
}

void tardis_close(tardis_reader *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        if (r->s[i].gz != NULL)
            gzclose(r->s[i].gz);
    free(r);
}
