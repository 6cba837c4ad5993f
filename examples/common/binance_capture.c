#include "binance_capture.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "l2_book.h"

/* Longest line accepted; a REST snapshot of 1000 levels a side is ~50 KB. */
#define MAX_LINE_BYTES ((size_t)64 << 20)
#define INITIAL_LINE_BYTES ((size_t)64 << 10)
/* Malformed lines reported one by one before the log goes quiet. */
#define LOG_LIMIT 20
/* Integers above 2^53 do not survive cJSON's double. */
#define MAX_EXACT_ID 9007199254740992.0
#define NS_PER_MS INT64_C(1000000)

/* Handler results besides 1 (an event) and 0 (none). */
#define PARSE_BAD (-100)

enum sync_state {
    WAIT_SNAPSHOT,   /* no usable book; diffs are buffered */
    WAIT_FIRST_DIFF, /* book loaded from a snapshot; next diff must cover it */
    IN_SYNC
};

typedef struct level_list {
    cscalp_level *v;
    size_t n;
    size_t cap;
} level_list;

/* A parsed depth message. For a snapshot only last_id (lastUpdateId) and
 * the levels are set. */
typedef struct depth_msg {
    uint64_t first_id; /* U */
    uint64_t last_id;  /* u */
    uint64_t prev_id;  /* pu */
    level_list bids;
    level_list asks;
} depth_msg;

struct bcap_reader {
    gzFile gz;
    char *path;
    bcap_options opt;
    int64_t time_mult; /* local time unit → ns */
    char *line;
    size_t line_cap;
    int overlong; /* the line just read was cut at MAX_LINE_BYTES */
    int at_end;
    int failed;   /* sticky error code */
    char err[512];
    uint64_t logged;

    l2_book book;
    int state;
    int after_gap;     /* a gap happened and no snapshot has repaired it yet */
    uint64_t last_id;  /* u of the last applied diff, or the snapshot's id */
    depth_msg scratch; /* the message being parsed */
    depth_msg *pending; /* ring of buffered diffs */
    size_t pend_head;
    size_t pend_count;

    bcap_counters c;
};

void bcap_options_init(bcap_options *options)
{
    options->time_unit = BCAP_TIME_AUTO;
    options->book_levels = BCAP_DEFAULT_BOOK_LEVELS;
    options->pending_diffs = BCAP_DEFAULT_PENDING_DIFFS;
    options->log = stderr;
}

/* ---------------------------------------------------------------- errors */

static void set_error(bcap_reader *r, const char *what)
{
    snprintf(r->err, sizeof r->err, "%s: %s", r->path, what);
}

static int fail(bcap_reader *r, int code)
{
    r->failed = code;
    return code;
}

static void report_bad_line(bcap_reader *r, const char *why)
{
    r->c.parse_errors++;
    if (!r->opt.log)
        return;
    if (r->logged < LOG_LIMIT)
        fprintf(r->opt.log, "%s:%" PRIu64 ": skipped: %s\n", r->path, r->c.lines, why);
    else if (r->logged == LOG_LIMIT)
        fprintf(r->opt.log, "%s: further malformed lines are counted, not shown\n", r->path);
    r->logged++;
}

/* ------------------------------------------------------------ open/close */

static int64_t time_multiplier(const char *path, bcap_time_unit unit)
{
    static const char suffix[] = ".dat.gz";
    size_t n = strlen(path);
    size_t k = sizeof suffix - 1;
    if (unit == BCAP_TIME_AUTO)
        unit = n >= k && strcmp(path + n - k, suffix) == 0 ? BCAP_TIME_US : BCAP_TIME_NS;
    return unit == BCAP_TIME_US ? 1000 : 1;
}

static int options_valid(const bcap_options *o)
{
    return o->book_levels >= 1 && o->book_levels <= CSCALP_BOOK_MAX_LEVELS &&
           (unsigned int)o->time_unit <= (unsigned int)BCAP_TIME_US;
}

static void open_error(char *errbuf, size_t cap, const char *what, const char *path)
{
    if (cap > 0)
        snprintf(errbuf, cap, "%s: %s", path ? path : "(null)", what);
}

/* The reader without its input; `name` names it in messages. */
static int reader_new(bcap_reader **out, const char *name, const bcap_options *options,
                      char *errbuf, size_t errbuf_cap)
{
    bcap_options defaults;
    if (!options) {
        bcap_options_init(&defaults);
        options = &defaults;
    }
    if (!out || !name || !options_valid(options)) {
        if (out)
            *out = NULL;
        open_error(errbuf, errbuf_cap, "invalid argument or option", name);
        return BCAP_EINVAL;
    }
    *out = NULL;

    bcap_reader *r = calloc(1, sizeof *r);
    if (!r) {
        open_error(errbuf, errbuf_cap, "out of memory", name);
        return BCAP_ENOMEM;
    }
    r->opt = *options;
    r->time_mult = time_multiplier(name, options->time_unit);
    r->state = WAIT_SNAPSHOT;
    l2_book_init(&r->book);
    r->path = malloc(strlen(name) + 1);
    r->line = malloc(INITIAL_LINE_BYTES);
    r->line_cap = INITIAL_LINE_BYTES;
    if (options->pending_diffs > 0)
        r->pending = calloc(options->pending_diffs, sizeof *r->pending);
    if (!r->path || !r->line || (options->pending_diffs > 0 && !r->pending)) {
        bcap_close(r);
        open_error(errbuf, errbuf_cap, "out of memory", name);
        return BCAP_ENOMEM;
    }
    strcpy(r->path, name);
    *out = r;
    return BCAP_OK;
}

int bcap_open(bcap_reader **out, const char *path, const bcap_options *options,
              char *errbuf, size_t errbuf_cap)
{
    if (!out)
        return reader_new(NULL, path, options, errbuf, errbuf_cap); /* names the error */
    *out = NULL;
    bcap_reader *r = NULL;
    const int rc = reader_new(&r, path, options, errbuf, errbuf_cap);
    if (rc != BCAP_OK)
        return rc;
    errno = 0;
    r->gz = gzopen(path, "rb");
    if (!r->gz) {
        char why[160];
        snprintf(why, sizeof why, "cannot open: %s", errno ? strerror(errno) : "zlib failed");
        bcap_close(r);
        open_error(errbuf, errbuf_cap, why, path);
        return BCAP_EIO;
    }
    gzbuffer(r->gz, 1u << 17);
    *out = r;
    return BCAP_OK;
}

int bcap_open_stream(bcap_reader **out, const char *name, const bcap_options *options,
                     char *errbuf, size_t errbuf_cap)
{
    return reader_new(out, name, options, errbuf, errbuf_cap);
}

static void free_msg(depth_msg *m)
{
    free(m->bids.v);
    free(m->asks.v);
}

void bcap_close(bcap_reader *r)
{
    if (!r)
        return;
    if (r->gz)
        gzclose(r->gz);
    for (size_t i = 0; r->pending && i < r->opt.pending_diffs; i++)
        free_msg(&r->pending[i]);
    free(r->pending);
    free_msg(&r->scratch);
    l2_book_free(&r->book);
    free(r->line);
    free(r->path);
    free(r);
}

/* ------------------------------------------------------------ line input */

static int grow_line(bcap_reader *r)
{
    size_t cap = r->line_cap * 2;
    char *grown = realloc(r->line, cap);
    if (!grown) {
        set_error(r, "out of memory for a line");
        return BCAP_ENOMEM;
    }
    r->line = grown;
    r->line_cap = cap;
    return 0;
}

/* Read one line into r->line, end-of-line stripped. A line longer than
 * MAX_LINE_BYTES is consumed whole and returned empty with r->overlong set.
 * Returns 1 (a line), 0 (end of file) or a BCAP error. */
static int read_line(bcap_reader *r, size_t *out_len)
{
    size_t len = 0;
    r->overlong = 0;
    for (;;) {
        /* len stays below MAX_LINE_BYTES, so the buffer never outgrows twice that. */
        if (r->line_cap - len < 2) {
            int rc = grow_line(r);
            if (rc != 0)
                return rc;
        }
        if (!gzgets(r->gz, r->line + len, (int)(r->line_cap - len))) {
            int errnum = Z_OK;
            const char *msg = gzerror(r->gz, &errnum);
            if (errnum != Z_OK && errnum != Z_STREAM_END) {
                /* zlib's message already starts with the path. */
                snprintf(r->err, sizeof r->err, "read error: %s", msg);
                return BCAP_EIO;
            }
            if (len == 0 && !r->overlong)
                return 0;
            break; /* last line, no newline */
        }
        len += strlen(r->line + len);
        int complete = len > 0 && r->line[len - 1] == '\n';
        if (len >= MAX_LINE_BYTES) {
            r->overlong = 1;
            len = 0;
        }
        if (complete)
            break;
    }
    while (len > 0 && (r->line[len - 1] == '\n' || r->line[len - 1] == '\r'))
        len--;
    r->line[len] = '\0';
    *out_len = len;
    return 1;
}

/* Split `<local time> <json>`; the time is converted to ns. */
static int split_line(const bcap_reader *r, const char *line, int64_t *ts_ns,
                      const char **json)
{
    const char *p = line;
    int64_t v = 0;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        int digit = *p - '0';
        if (v > (INT64_MAX - digit) / 10)
            return -1;
        v = v * 10 + digit;
    }
    if (*p != ' ' || v > INT64_MAX / r->time_mult)
        return -1;
    *ts_ns = v * r->time_mult;
    *json = p + 1;
    return 0;
}

/* ------------------------------------------------------------ JSON fields */

/* A finite decimal number; strtod alone would also take "inf", "nan", hex
 * and leading blanks. */
static int parse_decimal(const char *s, double *out)
{
    char *end = NULL;
    if (!s || !((*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
        return -1;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Binance sends prices and sizes as decimal strings. */
static int get_decimal(const cJSON *obj, const char *key, double *out)
{
    return parse_decimal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key)), out);
}

static int get_id(const cJSON *obj, const char *key, uint64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(it))
        return -1;
    double v = it->valuedouble;
    if (!(v >= 0.0 && v <= MAX_EXACT_ID) || v != floor(v))
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Exchange time in ms (optional: absent gives 0) → ns. */
static int get_ms_as_ns(const cJSON *obj, const char *key, int64_t *out)
{
    uint64_t ms = 0;
    if (!cJSON_GetObjectItemCaseSensitive(obj, key)) {
        *out = 0;
        return 0;
    }
    if (get_id(obj, key, &ms) != 0 || ms > (uint64_t)(INT64_MAX / NS_PER_MS))
        return -1;
    *out = (int64_t)ms * NS_PER_MS;
    return 0;
}

static int push_level(level_list *l, double price, double size)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        cscalp_level *grown = realloc(l->v, cap * sizeof *grown);
        if (!grown)
            return BCAP_ENOMEM;
        l->v = grown;
        l->cap = cap;
    }
    l->v[l->n].price = price;
    l->v[l->n].size = size;
    l->n++;
    return 0;
}

/* Levels are [["price","size"], ...]; size 0 means "remove". */
static int get_levels(const cJSON *obj, const char *key, level_list *out)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
    const cJSON *pair = NULL;
    out->n = 0;
    if (!cJSON_IsArray(arr))
        return PARSE_BAD;
    cJSON_ArrayForEach(pair, arr)
    {
        double price = 0.0;
        double size = 0.0;
        if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) < 2 ||
            parse_decimal(cJSON_GetStringValue(cJSON_GetArrayItem(pair, 0)), &price) != 0 ||
            parse_decimal(cJSON_GetStringValue(cJSON_GetArrayItem(pair, 1)), &size) != 0 ||
            !(price > 0.0) || size < 0.0)
            return PARSE_BAD;
        if (push_level(out, price, size) != 0)
            return BCAP_ENOMEM;
    }
    return 0;
}

/* ---------------------------------------------------------------- the book */

static int apply_levels(bcap_reader *r, int side, const level_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l2_book_set(&r->book, side, l->v[i].price, l->v[i].size) != 0) {
            set_error(r, "out of memory for the book");
            return BCAP_ENOMEM;
        }
    return 0;
}

static int apply_diff(bcap_reader *r, const depth_msg *d)
{
    int rc = apply_levels(r, CSCALP_SIDE_BUY, &d->bids);
    if (rc == 0)
        rc = apply_levels(r, CSCALP_SIDE_SELL, &d->asks);
    if (rc != 0)
        return rc;
    r->last_id = d->last_id;
    r->state = IN_SYNC;
    r->c.diffs_applied++;
    return 0;
}

static void lose_sync(bcap_reader *r)
{
    r->c.gaps++;
    r->after_gap = 1;
    r->state = WAIT_SNAPSHOT;
    l2_book_clear(&r->book);
}

/* Called whenever the book has just been brought (back) into sync. */
static void note_sync(bcap_reader *r)
{
    if (r->after_gap)
        r->c.resyncs++;
    r->after_gap = 0;
}

/* The top of the rebuilt book as an event; none while a side is empty,
 * since the engine needs at least one level a side. */
static int emit_book(bcap_reader *r, int64_t ts_ns, bcap_event *ev)
{
    if (l2_book_depth(&r->book, CSCALP_SIDE_BUY) == 0 ||
        l2_book_depth(&r->book, CSCALP_SIDE_SELL) == 0)
        return 0;
    memset(ev, 0, sizeof *ev);
    ev->kind = CSCALP_KIND_BOOK;
    ev->book.ts_ns = ts_ns;
    ev->book.bid_count = (uint32_t)l2_book_copy(&r->book, CSCALP_SIDE_BUY, ev->book.bids,
                                                r->opt.book_levels);
    ev->book.ask_count = (uint32_t)l2_book_copy(&r->book, CSCALP_SIDE_SELL, ev->book.asks,
                                                r->opt.book_levels);
    return 1;
}

/* ------------------------------------------------------ buffered diffs */

static depth_msg *pending_at(bcap_reader *r, size_t k)
{
    return &r->pending[(r->pend_head + k) % r->opt.pending_diffs];
}

static void pop_pending(bcap_reader *r)
{
    r->pend_head = (r->pend_head + 1) % r->opt.pending_diffs;
    r->pend_count--;
}

/* Keep the diff in r->scratch for the next snapshot. Swapping it into the
 * ring, rather than copying, reuses each slot's level arrays. */
static void buffer_diff(bcap_reader *r)
{
    if (r->opt.pending_diffs == 0) {
        r->c.diffs_dropped++;
        return;
    }
    if (r->pend_count == r->opt.pending_diffs) {
        pop_pending(r);
        r->c.diffs_dropped++;
    }
    depth_msg *slot = pending_at(r, r->pend_count);
    depth_msg tmp = *slot;
    *slot = r->scratch;
    r->scratch = tmp;
    r->pend_count++;
}

/* Apply the buffered diffs that continue from the snapshot just loaded.
 * Those older than the snapshot are dropped; if the oldest remaining one
 * does not cover the snapshot, or the chain breaks, it is a gap and the
 * rest stay buffered for the next snapshot. */
static int replay_pending(bcap_reader *r)
{
    while (r->pend_count > 0) {
        depth_msg *d = pending_at(r, 0);
        if (r->state == WAIT_FIRST_DIFF && d->last_id < r->last_id) {
            pop_pending(r);
            r->c.diffs_dropped++;
            continue;
        }
        int connects = r->state == WAIT_FIRST_DIFF ? d->first_id <= r->last_id
                                                   : d->prev_id == r->last_id;
        if (!connects) {
            lose_sync(r);
            return 0;
        }
        int rc = apply_diff(r, d);
        if (rc != 0)
            return rc;
        pop_pending(r);
    }
    return 0;
}

/* ------------------------------------------------------------- messages */

static int on_snapshot(bcap_reader *r, const cJSON *root, int64_t ts_ns,
                       bcap_event *ev, const char **why)
{
    depth_msg *m = &r->scratch;
    int rc = 0;
    if (get_id(root, "lastUpdateId", &m->last_id) != 0 ||
        (rc = get_levels(root, "bids", &m->bids)) != 0 ||
        (rc = get_levels(root, "asks", &m->asks)) != 0) {
        *why = "depth snapshot without a valid lastUpdateId, bids or asks";
        return rc == BCAP_ENOMEM ? rc : PARSE_BAD;
    }
    r->c.snapshots++;
    if (r->state == IN_SYNC)
        return 0;

    l2_book_clear(&r->book);
    rc = apply_levels(r, CSCALP_SIDE_BUY, &m->bids);
    if (rc == 0)
        rc = apply_levels(r, CSCALP_SIDE_SELL, &m->asks);
    if (rc != 0)
        return rc;
    r->last_id = m->last_id;
    r->state = WAIT_FIRST_DIFF;
    rc = replay_pending(r);
    if (rc != 0 || r->state != IN_SYNC)
        return rc;
    /* Buffered diffs were received before this line: the synced book is
     * stamped with the snapshot's time so that time never runs backwards. */
    note_sync(r);
    return emit_book(r, ts_ns, ev);
}

static int on_diff(bcap_reader *r, const cJSON *data, int64_t ts_ns,
                   bcap_event *ev, const char **why)
{
    depth_msg *d = &r->scratch;
    int rc = 0;
    if (get_id(data, "U", &d->first_id) != 0 || get_id(data, "u", &d->last_id) != 0 ||
        get_id(data, "pu", &d->prev_id) != 0 || (rc = get_levels(data, "b", &d->bids)) != 0 ||
        (rc = get_levels(data, "a", &d->asks)) != 0) {
        *why = "depthUpdate without valid U, u, pu, b or a";
        return rc == BCAP_ENOMEM ? rc : PARSE_BAD;
    }
    switch (r->state) {
    case WAIT_SNAPSHOT:
        buffer_diff(r);
        return 0;
    case WAIT_FIRST_DIFF:
        if (d->last_id < r->last_id) {
            r->c.diffs_dropped++;
            return 0;
        }
        if (d->first_id > r->last_id) { /* updates after the snapshot were missed */
            lose_sync(r);
            buffer_diff(r);
            return 0;
        }
        break;
    default:
        if (d->prev_id != r->last_id) {
            lose_sync(r);
            buffer_diff(r);
            return 0;
        }
        break;
    }
    rc = apply_diff(r, d);
    if (rc != 0)
        return rc;
    note_sync(r);
    return emit_book(r, ts_ns, ev);
}

static int on_book_ticker(const cJSON *data, int64_t ts_ns, bcap_event *ev,
                          const char **why)
{
    cscalp_quote *q = &ev->quote;
    if (get_decimal(data, "b", &q->bid_price) != 0 || get_decimal(data, "B", &q->bid_size) != 0 ||
        get_decimal(data, "a", &q->ask_price) != 0 || get_decimal(data, "A", &q->ask_size) != 0) {
        *why = "bookTicker without numeric b, B, a, A";
        return PARSE_BAD;
    }
    ev->kind = CSCALP_KIND_QUOTE;
    q->ts_ns = ts_ns;
    return 1;
}

static int on_trade(const cJSON *data, int64_t ts_ns, bcap_event *ev, const char **why)
{
    cscalp_trade *t = &ev->trade;
    const cJSON *maker = cJSON_GetObjectItemCaseSensitive(data, "m");
    uint64_t id = 0;
    if (get_decimal(data, "p", &t->price) != 0 || get_decimal(data, "q", &t->size) != 0 ||
        !cJSON_IsBool(maker) || get_id(data, "t", &id) != 0) {
        *why = "trade without numeric p, q, t or boolean m";
        return PARSE_BAD;
    }
    ev->kind = CSCALP_KIND_TRADE;
    t->ts_ns = ts_ns;
    /* m: the buyer was the maker, so the seller was the aggressor. */
    t->side = cJSON_IsTrue(maker) ? CSCALP_SIDE_SELL : CSCALP_SIDE_BUY;
    t->flags = 0;
    t->trade_id = (int64_t)id;
    return 1;
}

static int on_mark_price(const cJSON *data, int64_t ts_ns, bcap_event *ev,
                         const char **why)
{
    cscalp_funding *f = &ev->funding;
    f->index_price = 0.0;
    if (get_decimal(data, "p", &f->mark_price) != 0 ||
        get_decimal(data, "r", &f->funding_rate) != 0 ||
        (cJSON_GetObjectItemCaseSensitive(data, "i") &&
         get_decimal(data, "i", &f->index_price) != 0) ||
        get_ms_as_ns(data, "T", &f->next_funding_ts_ns) != 0) {
        *why = "markPriceUpdate without numeric p, r, or with a bad i or T";
        return PARSE_BAD;
    }
    ev->kind = CSCALP_KIND_FUNDING;
    f->ts_ns = ts_ns;
    return 1;
}

/* Route one parsed message. Returns 1 (event), 0, PARSE_BAD or an error. */
static int dispatch(bcap_reader *r, const cJSON *root, int64_t ts_ns,
                    bcap_event *ev, const char **why)
{
    if (!cJSON_IsObject(root)) {
        *why = "not a JSON object";
        return PARSE_BAD;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "lastUpdateId"))
        return on_snapshot(r, root, ts_ns, ev, why);

    /* Combined streams wrap the event in "data"; single streams do not. */
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!data)
        data = root;
    const char *type = cJSON_IsObject(data)
                           ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(data, "e"))
                           : NULL;
    if (!type) {
        *why = "message without an event type \"e\"";
        return PARSE_BAD;
    }
    if (strcmp(type, "depthUpdate") == 0)
        return on_diff(r, data, ts_ns, ev, why);
    if (strcmp(type, "bookTicker") == 0)
        return on_book_ticker(data, ts_ns, ev, why);
    if (strcmp(type, "trade") == 0)
        return on_trade(data, ts_ns, ev, why);
    if (strcmp(type, "markPriceUpdate") == 0)
        return on_mark_price(data, ts_ns, ev, why);
    r->c.ignored++;
    return 0;
}

static int process_line(bcap_reader *r, size_t len, bcap_event *ev)
{
    int64_t ts_ns = 0;
    const char *json = NULL;
    const char *why = NULL;

    if (r->overlong) {
        report_bad_line(r, "line too long");
        return 0;
    }
    if (len == 0)
        return 0;
    if (split_line(r, r->line, &ts_ns, &json) != 0) {
        report_bad_line(r, "no local receive time before the JSON");
        return 0;
    }
    cJSON *root = cJSON_ParseWithLength(json, len - (size_t)(json - r->line));
    if (!root) {
        report_bad_line(r, "malformed JSON");
        return 0;
    }
    int rc = dispatch(r, root, ts_ns, ev, &why);
    cJSON_Delete(root);
    if (rc == PARSE_BAD) {
        report_bad_line(r, why);
        return 0;
    }
    if (rc == BCAP_ENOMEM)
        set_error(r, "out of memory");
    return rc;
}

int bcap_next(bcap_reader *r, bcap_event *ev)
{
    if (!r || !ev || !r->gz)
        return BCAP_EINVAL;
    if (r->failed)
        return r->failed;
    while (!r->at_end) {
        size_t len = 0;
        int rc = read_line(r, &len);
        if (rc < 0)
            return fail(r, rc);
        if (rc == 0)
            break;
        r->c.lines++;
        rc = process_line(r, len, ev);
        if (rc < 0)
            return fail(r, rc);
        if (rc == 1) {
            r->c.events[ev->kind]++;
            return 1;
        }
    }
    if (!r->at_end) {
        r->at_end = 1;
        r->c.diffs_dropped += r->pend_count; /* never reached by a snapshot */
        r->pend_count = 0;
    }
    return 0;
}

int bcap_feed_line(bcap_reader *r, const char *line, size_t len, bcap_event *ev)
{
    if (!r || !ev || (!line && len > 0) || r->gz)
        return BCAP_EINVAL;
    if (r->failed)
        return r->failed;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    r->c.lines++;
    r->overlong = len >= MAX_LINE_BYTES;
    if (r->overlong) {
        len = 0;
    } else {
        while (r->line_cap < len + 1) {
            int rc = grow_line(r);
            if (rc != 0)
                return fail(r, rc);
        }
        if (len > 0)
            memcpy(r->line, line, len);
    }
    r->line[len] = '\0';
    int rc = process_line(r, len, ev);
    if (rc < 0)
        return fail(r, rc);
    if (rc == 1)
        r->c.events[ev->kind]++;
    return rc;
}

void bcap_stream_broken(bcap_reader *r)
{
    if (!r)
        return;
    if (r->state != WAIT_SNAPSHOT)
        lose_sync(r); /* a book in use (or loaded) is lost: a gap */
    r->c.diffs_dropped += r->pend_count; /* their successors were never received */
    r->pend_count = 0;
    r->pend_head = 0;
}

/* ------------------------------------------------------------- accessors */

const bcap_counters *bcap_get_counters(const bcap_reader *r)
{
    return &r->c;
}

const char *bcap_last_error(const bcap_reader *r)
{
    return r->err;
}

int bcap_book_in_sync(const bcap_reader *r)
{
    return r->state == IN_SYNC;
}

size_t bcap_book_side(const bcap_reader *r, int side, cscalp_level *out, size_t cap)
{
    if (r->state != IN_SYNC)
        return 0;
    l2_book_copy(&r->book, side, out, cap);
    return l2_book_depth(&r->book, side);
}

void bcap_print_counters(FILE *stream, const bcap_counters *c)
{
    fprintf(stream,
            "{\"lines\":%" PRIu64 ",\"parse_errors\":%" PRIu64 ",\"ignored\":%" PRIu64
            ",\"snapshots\":%" PRIu64 ",\"gaps\":%" PRIu64 ",\"resyncs\":%" PRIu64
            ",\"diffs_applied\":%" PRIu64 ",\"diffs_dropped\":%" PRIu64
            ",\"trades\":%" PRIu64 ",\"quotes\":%" PRIu64 ",\"books\":%" PRIu64
            ",\"fundings\":%" PRIu64 "}",
            c->lines, c->parse_errors, c->ignored, c->snapshots, c->gaps, c->resyncs,
            c->diffs_applied, c->diffs_dropped, c->events[CSCALP_KIND_TRADE],
            c->events[CSCALP_KIND_QUOTE], c->events[CSCALP_KIND_BOOK],
            c->events[CSCALP_KIND_FUNDING]);
}

int bcap_push(cscalp_engine *engine, const bcap_event *event)
{
    switch (event->kind) {
    case CSCALP_KIND_TRADE:
        return cscalp_push_trade(engine, &event->trade);
    case CSCALP_KIND_QUOTE:
        return cscalp_push_quote(engine, &event->quote);
    case CSCALP_KIND_BOOK:
        return cscalp_push_book(engine, &event->book);
    default:
        return cscalp_push_funding(engine, &event->funding);
    }
}

int bcap_push_venue(cscalp_sim_venue *venue, const bcap_event *event)
{
    switch (event->kind) {
    case CSCALP_KIND_TRADE:
        return cscalp_sim_venue_on_trade(venue, &event->trade);
    case CSCALP_KIND_QUOTE:
        return cscalp_sim_venue_on_quote(venue, &event->quote);
    case CSCALP_KIND_BOOK:
        return cscalp_sim_venue_on_book(venue, &event->book);
    default:
        return cscalp_sim_venue_on_funding(venue, &event->funding);
    }
}

void bcap_event_shift(bcap_event *event, int64_t by)
{
    switch (event->kind) {
    case CSCALP_KIND_TRADE:
        event->trade.ts_ns += by;
        break;
    case CSCALP_KIND_QUOTE:
        event->quote.ts_ns += by;
        break;
    case CSCALP_KIND_BOOK:
        event->book.ts_ns += by;
        break;
    default:
        event->funding.ts_ns += by;
        if (event->funding.next_funding_ts_ns > 0)
            event->funding.next_funding_ts_ns += by;
        break;
    }
}

int64_t bcap_event_ts(const bcap_event *event)
{
    switch (event->kind) {
    case CSCALP_KIND_TRADE:
        return event->trade.ts_ns;
    case CSCALP_KIND_QUOTE:
        return event->quote.ts_ns;
    case CSCALP_KIND_BOOK:
        return event->book.ts_ns;
    default:
        return event->funding.ts_ns;
    }
}
