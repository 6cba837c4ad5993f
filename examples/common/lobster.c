#include "lobster.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "zip_reader.h"

#define NS_PER_S INT64_C(1000000000)
#define S_PER_DAY INT64_C(86400)
/* LOBSTER's fillers for missing levels (ReadMe, "Unoccupied Price Levels"). */
#define DUMMY_ASK INT64_C(9999999999)
#define DUMMY_BID INT64_C(-9999999999)
#define PRICE_SCALE 10000.0
/* More levels than LOBSTER offers; keeps a damaged name from asking for a
 * huge row. */
#define MAX_FILE_LEVELS 1000u
/* Skipped rows reported one by one before the log goes quiet. */
#define LOG_LIMIT 20
#define MESSAGE_COLUMNS 6
#define ERR_BYTES 512

struct lobster_reader {
    char *path;
    lobster_options opt;
    zipr_stream *msg;
    zipr_stream *book;
    char ticker[64];
    unsigned int file_levels;
    unsigned int levels; /* emitted per side: min(option, file) */
    int64_t day_ns;
    int64_t last_ts;     /* of the last message kept, INT64_MIN before any */
    int have_pending;    /* `pending` holds a book to emit next */
    bcap_event pending;
    int failed;
    uint64_t logged;
    char err[ERR_BYTES];
    lobster_counters c;
};

void lobster_options_init(lobster_options *o)
{
    o->book_levels = LOBSTER_DEFAULT_BOOK_LEVELS;
    o->skip_trades = 0;
    o->log = stderr;
}

const char *lobster_skip_name(int reason)
{
    static const char *const names[LOBSTER_SKIP_COUNT] = {
        "malformed", "time", "bad_trade", "one_sided", "bad_levels", "crossed", "locked"};
    return reason >= 0 && reason < LOBSTER_SKIP_COUNT ? names[reason] : "?";
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

/* `n` digits at s as a number, or -1. */
static long digits(const char *s, int n)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* UTC midnight (ns) of YYYY-MM-DD at s; -1 when it is no valid date that
 * an int64 of ns since 1970 can hold (1970..2261). */
static int64_t parse_iso_date(const char *s)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    long y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 1970 || y > 2261 || s[4] != '-' || s[7] != '-' || m < 1 || m > 12 || d < 1 ||
        d > (long)mdays[m - 1])
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return -1;
    return days_from_civil(y, (unsigned)m, (unsigned)d) * S_PER_DAY * NS_PER_S;
}

/* A decimal integer ending at ',' or the end of the line: advances *p past
 * the comma. Rejects empty fields, blanks and values beyond ±10^18. */
static int parse_int(const char **p, int64_t *out)
{
    const char *s = *p;
    int neg = *s == '-';
    s += neg;
    if (!is_digit(*s))
        return -1;
    int64_t v = 0;
    int n = 0;
    for (; is_digit(*s); s++, n++) {
        if (n >= 18)
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (*s == ',')
        s++;
    else if (*s != '\0')
        return -1;
    *out = neg ? -v : v;
    *p = s;
    return 0;
}

/* Seconds after midnight with up to 9 decimals (more are cut, not rounded:
 * LOBSTER gives at most ns), ending at ','. -> ns after midnight. */
static int parse_time(const char **p, int64_t *ns)
{
    const char *s = *p;
    int64_t sec = 0, frac = 0;
    int n = 0;
    if (!is_digit(*s))
        return -1;
    for (; is_digit(*s); s++) {
        if (++n > 6)
            return -1;
        sec = sec * 10 + (*s - '0');
    }
    if (*s == '.') {
        int k = 0;
        for (s++; is_digit(*s); s++, k++)
            if (k < 9)
                frac = frac * 10 + (*s - '0');
        if (k == 0)
            return -1;
        for (; k < 9; k++)
            frac *= 10;
    }
    if (*s != ',' || sec >= S_PER_DAY)
        return -1;
    *ns = sec * NS_PER_S + frac;
    *p = s + 1;
    return 0;
}

typedef struct message {
    int64_t ns; /* after midnight */
    int64_t type, order_id, size, price, direction;
} message;

static const char *parse_message(const char *line, size_t len, message *m)
{
    const char *p = line;
    if (strlen(line) != len)
        return "message row holds a NUL byte";
    if (parse_time(&p, &m->ns) != 0)
        return "message time is not seconds after midnight (0 <= t < 86400)";
    int64_t *fields[MESSAGE_COLUMNS - 1] = {&m->type, &m->order_id, &m->size, &m->price,
                                            &m->direction};
    for (int i = 0; i < MESSAGE_COLUMNS - 1; i++) {
        if (parse_int(&p, fields[i]) != 0)
            return "message column is missing or not an integer";
        /* parse_int stops at the end of the line or just past a comma. */
        int comma = p[-1] == ',';
        if (i < MESSAGE_COLUMNS - 2 && !comma)
            return "message row has fewer than 6 columns";
        if (i == MESSAGE_COLUMNS - 2 && comma)
            return "message row has more than 6 columns";
    }
    return NULL;
}

/* ------------------------------------------------------------ errors */

static int fail(lobster_reader *r, int code, const char *what)
{
    snprintf(r->err, sizeof r->err, "%s", what);
    r->failed = code;
    return code;
}

static int zip_code(int zrc)
{
    return zrc == ZIPR_ENOMEM ? BCAP_ENOMEM : zrc == ZIPR_EINVAL ? BCAP_EINVAL : BCAP_EIO;
}

static void skip(lobster_reader *r, int reason, const char *why)
{
    r->c.skipped[reason]++;
    if (!r->opt.log)
        return;
    if (r->logged < LOG_LIMIT)
        fprintf(r->opt.log, "%s: message %" PRIu64 ": skipped (%s): %s\n", r->path,
                r->c.messages, lobster_skip_name(reason), why);
    else if (r->logged == LOG_LIMIT)
        fprintf(r->opt.log, "%s: further skipped rows are counted, not shown\n", r->path);
    r->logged++;
}

/* ------------------------------------------------------------ open */

static void open_error(char *errbuf, size_t cap, const char *path, const char *what)
{
    if (cap > 0)
        snprintf(errbuf, cap, "%s: %s", path ? path : "(null)", what);
}

static const char *base_name(const char *name)
{
    const char *slash = strrchr(name, '/');
    return slash ? slash + 1 : name;
}

/* Find the one `*_message_*.csv` member, check its order-book twin, and take
 * ticker, date and levels from the name. Returns NULL or why not. */
static const char *find_members(lobster_reader *r, const zipr_archive *a, size_t *msg_index,
                                size_t *book_index)
{
    static const char msg_tag[] = "_message_";
    static const char book_tag[] = "_orderbook_";
    long found = -1;
    for (size_t i = 0; i < zipr_count(a); i++) {
        const char *n = base_name(zipr_member_at(a, i)->name);
        size_t len = strlen(n);
        if (strstr(n, msg_tag) && len > 4 && strcmp(n + len - 4, ".csv") == 0) {
            if (found >= 0)
                return "more than one *_message_*.csv member";
            found = (long)i;
        }
    }
    if (found < 0)
        return "no *_message_*.csv member (not a LOBSTER zip?)";
    const char *full = zipr_member_at(a, (size_t)found)->name;
    const char *n = base_name(full);

    /* TICKER_YYYY-MM-DD_...: the date follows the first '_'. */
    const char *us = strchr(n, '_');
    if (!us || (size_t)(us - n) >= sizeof r->ticker || us == n)
        return "message member name does not start with TICKER_";
    memcpy(r->ticker, n, (size_t)(us - n));
    r->ticker[us - n] = '\0';
    if (strlen(us + 1) < 11 || us[11] != '_' || (r->day_ns = parse_iso_date(us + 1)) < 0)
        return "message member name has no TICKER_YYYY-MM-DD_ date (1970..2261)";

    const char *tag = strstr(n, msg_tag);
    const char *lv = tag + sizeof msg_tag - 1;
    long levels = 0;
    const char *p = lv;
    for (; is_digit(*p) && levels <= (long)MAX_FILE_LEVELS; p++)
        levels = levels * 10 + (*p - '0');
    if (p == lv || strcmp(p, ".csv") != 0 || levels < 1 || levels > (long)MAX_FILE_LEVELS)
        return "message member name does not end in _message_<levels>.csv";
    r->file_levels = (unsigned)levels;

    /* The order-book member: the same name with "orderbook" for "message". */
    size_t full_len = strlen(full), head = (size_t)(tag - full);
    char *want = malloc(full_len + sizeof book_tag);
    if (!want)
        return "out of memory";
    memcpy(want, full, head);
    strcpy(want + head, book_tag);
    strcat(want, lv);
    long b = zipr_find(a, want);
    free(want);
    if (b < 0)
        return "no order-book member named like the message member";
    *msg_index = (size_t)found;
    *book_index = (size_t)b;
    return NULL;
}

int lobster_open(lobster_reader **out, const char *path, const lobster_options *options,
                 char *errbuf, size_t errbuf_cap)
{
    lobster_options defaults;
    if (!options) {
        lobster_options_init(&defaults);
        options = &defaults;
    }
    if (!out || !path || options->book_levels < 1 ||
        options->book_levels > CSCALP_BOOK_MAX_LEVELS) {
        if (out)
            *out = NULL;
        open_error(errbuf, errbuf_cap, path, "invalid argument or option");
        return BCAP_EINVAL;
    }
    *out = NULL;
    lobster_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = malloc(strlen(path) + 1))) {
        free(r);
        open_error(errbuf, errbuf_cap, path, "out of memory");
        return BCAP_ENOMEM;
    }
    strcpy(r->path, path);
    r->opt = *options;
    r->last_ts = INT64_MIN;

    zipr_archive *a = NULL;
    int zrc = zipr_open(&a, path, errbuf, errbuf_cap);
    if (zrc != ZIPR_OK) {
        lobster_close(r);
        return zip_code(zrc);
    }
    size_t mi = 0, bi = 0;
    const char *why = find_members(r, a, &mi, &bi);
    if (why) {
        int code = strcmp(why, "out of memory") == 0 ? BCAP_ENOMEM : BCAP_EIO;
        open_error(errbuf, errbuf_cap, path, why);
        zipr_close(a);
        lobster_close(r);
        return code;
    }
    r->levels = r->opt.book_levels < r->file_levels ? r->opt.book_levels : r->file_levels;
    zrc = zipr_stream_open(&r->msg, a, mi, errbuf, errbuf_cap);
    if (zrc == ZIPR_OK)
        zrc = zipr_stream_open(&r->book, a, bi, errbuf, errbuf_cap);
    zipr_close(a); /* the streams keep what they need */
    if (zrc != ZIPR_OK) {
        lobster_close(r);
        return zip_code(zrc);
    }
    *out = r;
    return BCAP_OK;
}

void lobster_close(lobster_reader *r)
{
    if (!r)
        return;
    zipr_stream_close(r->msg);
    zipr_stream_close(r->book);
    free(r->path);
    free(r);
}

/* ------------------------------------------------------------ events */

/* Parse an order-book row into r->pending.book (first r->levels real levels
 * a side, dummies dropped). Returns NULL or why the row is malformed. */
static const char *parse_book_row(lobster_reader *r, const char *line, size_t len)
{
    cscalp_book *b = &r->pending.book;
    const char *p = line;
    if (strlen(line) != len)
        return "order-book row holds a NUL byte";
    b->bid_count = 0;
    b->ask_count = 0;
    for (unsigned i = 0; i < r->file_levels; i++) {
        int64_t v[4];
        for (int k = 0; k < 4; k++) {
            if (*p == '\0')
                return "order-book row has fewer than 4 columns per level";
            if (parse_int(&p, &v[k]) != 0)
                return "order-book column is not an integer";
        }
        /* A level past the emitted depth is still parsed (the row must be
         * well formed) but not kept. */
        if (v[0] != DUMMY_ASK && b->ask_count < r->levels) {
            b->asks[b->ask_count].price = (double)v[0] / PRICE_SCALE;
            b->asks[b->ask_count].size = (double)v[1];
            b->ask_count++;
        }
        if (v[2] != DUMMY_BID && b->bid_count < r->levels) {
            b->bids[b->bid_count].price = (double)v[2] / PRICE_SCALE;
            b->bids[b->bid_count].size = (double)v[3];
            b->bid_count++;
        }
    }
    if (p[-1] == ',')
        return "order-book row has more than 4 columns per level";
    return NULL;
}

/* The engine's book rules (src/feed/validate.c), as a skip reason or -1. */
static int book_problem(const cscalp_book *b)
{
    if (b->bid_count == 0 || b->ask_count == 0)
        return LOBSTER_SKIP_ONE_SIDED;
    for (uint32_t i = 0; i < b->bid_count; i++)
        if (!(b->bids[i].price > 0.0 && b->bids[i].size > 0.0) ||
            (i > 0 && !(b->bids[i].price < b->bids[i - 1].price)))
            return LOBSTER_SKIP_BAD_LEVELS;
    for (uint32_t i = 0; i < b->ask_count; i++)
        if (!(b->asks[i].price > 0.0 && b->asks[i].size > 0.0) ||
            (i > 0 && !(b->asks[i].price > b->asks[i - 1].price)))
            return LOBSTER_SKIP_BAD_LEVELS;
    if (b->bids[0].price > b->asks[0].price)
        return LOBSTER_SKIP_CROSSED;
    if (b->bids[0].price == b->asks[0].price)
        return LOBSTER_SKIP_LOCKED;
    return -1;
}

static int read_pair(lobster_reader *r, const char **mline, size_t *mlen, const char **bline,
                     size_t *blen)
{
    char what[ERR_BYTES];
    int mrc = zipr_getline(r->msg, mline, mlen);
    if (mrc < 0)
        return fail(r, zip_code(mrc), zipr_stream_error(r->msg));
    int brc = zipr_getline(r->book, bline, blen);
    if (brc < 0)
        return fail(r, zip_code(brc), zipr_stream_error(r->book));
    if (mrc != brc) {
        /* Read the longer member to its end first: when it is the damaged
         * one (garbage that inflated to extra lines), its CRC error is the
         * better report. */
        zipr_stream *longer = mrc ? r->msg : r->book;
        uint64_t ended_at = zipr_line_number(mrc ? r->book : r->msg);
        const char *line;
        size_t len;
        int rc;
        while ((rc = zipr_getline(longer, &line, &len)) == 1)
            ;
        if (rc < 0)
            return fail(r, zip_code(rc), zipr_stream_error(longer));
        snprintf(what, sizeof what, "%s: the %s file ends at row %" PRIu64
                 " but the %s file goes on",
                 r->path, mrc == 0 ? "message" : "order-book", ended_at,
                 mrc == 0 ? "order-book" : "message");
        return fail(r, BCAP_EIO, what);
    }
    return mrc;
}

static const char *event_kind_name(int kind)
{
    static const char *const names[CSCALP_KIND_COUNT] = {"trades", "quotes", "books",
                                                          "fundings"};
    return names[kind];
}

int lobster_next(lobster_reader *r, bcap_event *ev)
{
    if (!r || !ev)
        return BCAP_EINVAL;
    if (r->failed)
        return r->failed;
    if (r->have_pending) {
        r->have_pending = 0;
        *ev = r->pending;
        r->c.events[CSCALP_KIND_BOOK]++;
        return 1;
    }
    for (;;) {
        const char *mline = NULL, *bline = NULL;
        size_t mlen = 0, blen = 0;
        int rc = read_pair(r, &mline, &mlen, &bline, &blen);
        if (rc <= 0)
            return rc;
        r->c.messages++;

        message m;
        const char *why = parse_message(mline, mlen, &m);
        if (!why)
            why = parse_book_row(r, bline, blen);
        if (why) {
            skip(r, LOBSTER_SKIP_MALFORMED, why);
            continue;
        }
        int64_t ts = r->day_ns + m.ns;
        if (ts < r->last_ts) {
            skip(r, LOBSTER_SKIP_TIME, "time before the previous message");
            continue;
        }
        r->last_ts = ts;
        r->c.by_type[m.type >= 1 && m.type <= 7 ? m.type : 0]++;

        int emit_trade = 0;
        if (m.type == 4 || m.type == 5) {
            if (m.size <= 0 || m.price <= 0 || (m.direction != 1 && m.direction != -1))
                skip(r, LOBSTER_SKIP_BAD_TRADE, "execution with size or price <= 0 or a "
                                                "direction other than 1/-1");
            else
                emit_trade = !r->opt.skip_trades;
        }
        r->pending.kind = CSCALP_KIND_BOOK;
        r->pending.book.ts_ns = ts;
        int problem = book_problem(&r->pending.book);
        if (problem >= 0)
            skip(r, problem, "book state the engine would refuse");
        else
            r->have_pending = 1;

        if (emit_trade) {
            memset(ev, 0, sizeof *ev);
            ev->kind = CSCALP_KIND_TRADE;
            ev->trade.ts_ns = ts;
            ev->trade.price = (double)m.price / PRICE_SCALE;
            ev->trade.size = (double)m.size;
            /* The resting order's direction; the aggressor is the other side. */
            ev->trade.side = m.direction == -1 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL;
            r->c.events[CSCALP_KIND_TRADE]++;
            return 1;
        }
        if (r->have_pending)
            return lobster_next(r, ev);
    }
}

const lobster_counters *lobster_get_counters(const lobster_reader *r)
{
    return &r->c;
}

const char *lobster_last_error(const lobster_reader *r)
{
    return r ? r->err : "";
}

const char *lobster_ticker(const lobster_reader *r)
{
    return r->ticker;
}

unsigned int lobster_file_levels(const lobster_reader *r)
{
    return r->file_levels;
}

int64_t lobster_day_start_ns(const lobster_reader *r)
{
    return r->day_ns;
}

void lobster_print_counters(FILE *f, const lobster_counters *c)
{
    fprintf(f, "{\"messages\":%" PRIu64 ",\"by_type\":{", c->messages);
    for (int t = 1; t < LOBSTER_TYPE_SLOTS; t++)
        fprintf(f, "\"%d\":%" PRIu64 ",", t, c->by_type[t]);
    fprintf(f, "\"other\":%" PRIu64, c->by_type[0]);
    fprintf(f, "},\"skipped\":{");
    for (int k = 0; k < LOBSTER_SKIP_COUNT; k++)
        fprintf(f, "%s\"%s\":%" PRIu64, k ? "," : "", lobster_skip_name(k), c->skipped[k]);
    fprintf(f, "}");
    for (int k = 0; k < CSCALP_KIND_COUNT; k++)
        if (k == CSCALP_KIND_TRADE || k == CSCALP_KIND_BOOK)
            fprintf(f, ",\"%s\":%" PRIu64, event_kind_name(k), c->events[k]);
    fprintf(f, "}");
}
