#include "binance_depth.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "l2_book.h"

#define LINE_BYTES 1024 /* a row is ~70 bytes */
#define NS_PER_MS INT64_C(1000000)

enum sync_state { WAIT_SNAPSHOT, WAIT_FIRST_UPDATE, IN_SYNC };

typedef struct row {
    int64_t ts_ms;
    uint64_t first_id, last_id;
    int64_t pu;
    int side; /* CSCALP_SIDE_BUY (bids) or CSCALP_SIDE_SELL (asks) */
    int snap;
    double price, qty;
} row;

typedef struct depth_file {
    gzFile gz;
    const char *path;
    row next; /* the file's next valid row, when has_next */
    int has_next;
} depth_file;

typedef struct msg_level {
    int side;
    double price, qty;
} msg_level;

struct bdepth_reader {
    depth_file files[BDEPTH_MAX_FILES];
    size_t n_files;
    unsigned int levels;
    l2_book book;
    int state, after_gap;
    uint64_t last_id;
    int64_t last_ts_ns;
    msg_level *msg; /* the message being applied */
    size_t msg_n, msg_cap;
    bdepth_counters c;
    char err[512];
    int failed;
};

/* ------------------------------------------------------------ rows */

static int parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return *s == '\0' ? 0 : -1;
}

/* A finite decimal; strtod alone would also take "inf", "nan" and hex. */
static int parse_decimal(const char *s, double *out)
{
    if (!((*s >= '0' && *s <= '9') || *s == '.' || *s == '-'))
        return -1;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == 'e' || *p == 'E' ||
              *p == '+'))
            return -1;
    char *end = NULL;
    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && *end == '\0' && isfinite(*out) ? 0 : -1;
}

/* One CSV row (modified in place). 0, or -1 when malformed. */
static int parse_row(char *line, row *r)
{
    char *f[9];
    size_t n = 0;
    char *p = line;
    for (;;) {
        if (n == 9)
            return -1; /* a tenth field */
        f[n++] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    if (n != 9 || f[0][0] == '\0')
        return -1;
    uint64_t ts = 0;
    if (parse_u64(f[1], &ts) != 0 || ts > (uint64_t)(INT64_MAX / NS_PER_MS) ||
        parse_u64(f[2], &r->first_id) != 0 || parse_u64(f[3], &r->last_id) != 0 ||
        r->first_id > r->last_id)
        return -1;
    r->ts_ms = (int64_t)ts;
    if (strcmp(f[4], "b") == 0)
        r->side = CSCALP_SIDE_BUY;
    else if (strcmp(f[4], "a") == 0)
        r->side = CSCALP_SIDE_SELL;
    else
        return -1;
    if (strcmp(f[5], "snap") == 0)
        r->snap = 1;
    else if (strcmp(f[5], "set") == 0)
        r->snap = 0;
    else
        return -1;
    uint64_t pu = 0;
    if (strcmp(f[8], "-1") == 0)
        r->pu = -1;
    else if (parse_u64(f[8], &pu) == 0 && pu <= (uint64_t)INT64_MAX)
        r->pu = (int64_t)pu;
    else
        return -1;
    if (parse_decimal(f[6], &r->price) != 0 || !(r->price > 0) ||
        parse_decimal(f[7], &r->qty) != 0 || !(r->qty >= 0))
        return -1;
    return 0;
}

/* The file's next valid row into f->next (has_next 0 at its end). 0, or
 * BCAP_EIO with r->err set. */
static int advance(bdepth_reader *r, depth_file *f)
{
    char line[LINE_BYTES];
    f->has_next = 0;
    for (;;) {
        if (gzgets(f->gz, line, sizeof line) == NULL) {
            int zerr = Z_OK;
            const char *msg = gzerror(f->gz, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END) {
                snprintf(r->err, sizeof r->err, "%s: read error: %s", f->path, msg);
                return BCAP_EIO;
            }
            return 0;
        }
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] != '\n' && !gzeof(f->gz)) {
            /* Longer than any real row: consume the rest, count it bad. */
            int ch;
            while ((ch = gzgetc(f->gz)) != -1 && ch != '\n')
                ;
            r->c.rows++;
            r->c.bad_rows++;
            continue;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || strcmp(line, BDEPTH_HEADER) == 0)
            continue;
        r->c.rows++;
        if (parse_row(line, &f->next) != 0) {
            r->c.bad_rows++;
            continue;
        }
        f->has_next = 1;
        return 0;
    }
}

/* ------------------------------------------------------------ open/close */

static int read_header(const char *path, char *line, size_t cap)
{
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL)
        return -1;
    const int ok = gzgets(gz, line, (int)cap) != NULL;
    gzclose(gz);
    if (!ok)
        line[0] = '\0';
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    return 0;
}

int bdepth_detect(const char *path)
{
    char line[LINE_BYTES];
    if (read_header(path, line, sizeof line) != 0)
        return -1;
    return strcmp(line, BDEPTH_HEADER) == 0;
}

int bdepth_open(bdepth_reader **out, const char *const *paths, size_t n, unsigned int levels,
                char *errbuf, size_t errbuf_cap)
{
    if (out)
        *out = NULL;
    if (!out || !paths || n == 0 || n > BDEPTH_MAX_FILES || levels < 1 ||
        levels > CSCALP_BOOK_MAX_LEVELS) {
        snprintf(errbuf, errbuf_cap, "binance depth: invalid argument");
        return BCAP_EINVAL;
    }
    bdepth_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(errbuf, errbuf_cap, "%s: out of memory", paths[0]);
        return BCAP_ENOMEM;
    }
    r->levels = levels;
    l2_book_init(&r->book);
    for (size_t i = 0; i < n; i++) {
        char line[LINE_BYTES];
        depth_file *f = &r->files[r->n_files];
        f->path = paths[i];
        if (read_header(paths[i], line, sizeof line) != 0 ||
            (f->gz = gzopen(paths[i], "rb")) == NULL) {
            snprintf(errbuf, errbuf_cap, "%s: cannot open", paths[i]);
            bdepth_close(r);
            return BCAP_EIO;
        }
        r->n_files++;
        if (strcmp(line, BDEPTH_HEADER) != 0) {
            snprintf(errbuf, errbuf_cap, "%s: not a Binance depth CSV (header %s expected)",
                     paths[i], BDEPTH_HEADER);
            bdepth_close(r);
            return BCAP_EINVAL;
        }
        if (advance(r, f) != 0) {
            snprintf(errbuf, errbuf_cap, "%s", r->err);
            bdepth_close(r);
            return BCAP_EIO;
        }
    }
    *out = r;
    return BCAP_OK;
}

void bdepth_close(bdepth_reader *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_files; i++)
        gzclose(r->files[i].gz);
    l2_book_free(&r->book);
    free(r->msg);
    free(r);
}

/* ------------------------------------------------------------ messages */

/* The file whose next message comes first: lowest last_update_id, a
 * snapshot before an update with the same id, then the earlier file. */
static depth_file *next_file(bdepth_reader *r)
{
    depth_file *best = NULL;
    for (size_t i = 0; i < r->n_files; i++) {
        depth_file *f = &r->files[i];
        if (!f->has_next)
            continue;
        if (best == NULL || f->next.last_id < best->next.last_id ||
            (f->next.last_id == best->next.last_id && f->next.snap && !best->next.snap))
            best = f;
    }
    return best;
}

static int same_message(const row *a, const row *b)
{
    return a->ts_ms == b->ts_ms && a->first_id == b->first_id && a->last_id == b->last_id &&
           a->snap == b->snap && a->pu == b->pu;
}

/* The rows of f's next message into r->msg; *key gets its header. */
static int read_message(bdepth_reader *r, depth_file *f, row *key)
{
    *key = f->next;
    r->msg_n = 0;
    while (f->has_next && same_message(&f->next, key)) {
        if (r->msg_n == r->msg_cap) {
            const size_t cap = r->msg_cap ? r->msg_cap * 2 : 256;
            msg_level *grown = realloc(r->msg, cap * sizeof *grown);
            if (grown == NULL) {
                snprintf(r->err, sizeof r->err, "%s: out of memory", f->path);
                return BCAP_ENOMEM;
            }
            r->msg = grown;
            r->msg_cap = cap;
        }
        r->msg[r->msg_n++] = (msg_level){f->next.side, f->next.price, f->next.qty};
        const int rc = advance(r, f);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int apply_levels(bdepth_reader *r)
{
    for (size_t i = 0; i < r->msg_n; i++)
        if (l2_book_set(&r->book, r->msg[i].side, r->msg[i].price, r->msg[i].qty) != 0) {
            snprintf(r->err, sizeof r->err, "out of memory for the book");
            return BCAP_ENOMEM;
        }
    return 0;
}

static void lose_sync(bdepth_reader *r)
{
    r->c.gaps++;
    r->after_gap = 1;
    r->state = WAIT_SNAPSHOT;
    l2_book_clear(&r->book);
}

/* Apply one message. 1 when the book is usable after it, 0 when not, < 0
 * on an error. */
static int apply_message(bdepth_reader *r, const row *key)
{
    if (key->snap) {
        r->c.snapshots++;
        if (r->state == IN_SYNC)
            return 0; /* the chain proves the book, which is at least as new */
        l2_book_clear(&r->book);
        const int rc = apply_levels(r);
        if (rc != 0)
            return rc;
        if (r->after_gap)
            r->c.resyncs++;
        r->after_gap = 0;
        r->state = WAIT_FIRST_UPDATE;
        r->last_id = key->last_id;
        return 1;
    }
    r->c.updates++;
    if (r->state == WAIT_SNAPSHOT) {
        r->c.updates_unsynced++;
        return 0;
    }
    if (key->last_id < r->last_id || (r->state == IN_SYNC && key->last_id == r->last_id)) {
        r->c.updates_stale++; /* older than the book, or applied already (a repeat) */
        return 0;
    }
    const int chained = r->state == WAIT_FIRST_UPDATE
                            ? key->first_id <= r->last_id && r->last_id <= key->last_id
                            : key->pu == (int64_t)r->last_id;
    if (!chained) {
        lose_sync(r);
        r->c.updates_unsynced++;
        return 0;
    }
    const int rc = apply_levels(r);
    if (rc != 0)
        return rc;
    r->c.updates_applied++;
    r->state = IN_SYNC;
    r->last_id = key->last_id;
    return 1;
}

int bdepth_next(bdepth_reader *r, bcap_event *ev)
{
    if (r == NULL || ev == NULL)
        return BCAP_EINVAL;
    if (r->failed)
        return r->failed;
    depth_file *f;
    while ((f = next_file(r)) != NULL) {
        row key;
        int rc = read_message(r, f, &key);
        if (rc == 0)
            rc = apply_message(r, &key);
        if (rc < 0)
            return r->failed = rc;
        if (rc == 0)
            continue;
        if (l2_book_depth(&r->book, CSCALP_SIDE_BUY) == 0 ||
            l2_book_depth(&r->book, CSCALP_SIDE_SELL) == 0) {
            r->c.one_sided++;
            continue;
        }
        memset(ev, 0, sizeof *ev);
        ev->kind = CSCALP_KIND_BOOK;
        int64_t ts = key.ts_ms * NS_PER_MS;
        if (ts < r->last_ts_ns) {
            r->c.time_held++;
            ts = r->last_ts_ns;
        }
        r->last_ts_ns = ts;
        ev->book.ts_ns = ts;
        ev->book.bid_count =
            (uint32_t)l2_book_copy(&r->book, CSCALP_SIDE_BUY, ev->book.bids, r->levels);
        ev->book.ask_count =
            (uint32_t)l2_book_copy(&r->book, CSCALP_SIDE_SELL, ev->book.asks, r->levels);
        if (ev->book.bids[0].price >= ev->book.asks[0].price) {
            /* A crossed book is a broken one: wait for the next snapshot. */
            lose_sync(r);
            continue;
        }
        r->c.books++;
        return 1;
    }
    return 0;
}

const char *bdepth_last_error(const bdepth_reader *r)
{
    return r ? r->err : "";
}

const bdepth_counters *bdepth_get_counters(const bdepth_reader *r)
{
    return &r->c;
}

void bdepth_print_counters(FILE *out, const bdepth_counters *c)
{
    fprintf(out,
            "{\"rows\":%" PRIu64 ",\"bad_rows\":%" PRIu64 ",\"snapshots\":%" PRIu64
            ",\"updates\":%" PRIu64 ",\"updates_applied\":%" PRIu64 ",\"updates_stale\":%" PRIu64
            ",\"updates_unsynced\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"resyncs\":%" PRIu64
            ",\"one_sided\":%" PRIu64 ",\"time_held\":%" PRIu64 ",\"books\":%" PRIu64 "}",
            c->rows, c->bad_rows, c->snapshots, c->updates, c->updates_applied, c->updates_stale,
            c->updates_unsynced, c->gaps, c->resyncs, c->one_sided, c->time_held, c->books);
}
