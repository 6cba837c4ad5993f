/* The capture reader on the real Binance USDⓈ-M captures in
 * $CSCALP_SHARED_DATA/binance-usdm: the rebuilt book stays strictly ordered
 * and uncrossed, every line is accounted for, the engine accepts every event,
 * a broken diff chain is a gap that stops book events until a snapshot
 * repairs it, and malformed lines or a truncated file never crash.
 *
 * Checks inside loops over events use `if (...) ck_abort_msg()`: a passing
 * ck_assert records its location through Check's pipe, which over millions
 * of book levels costs minutes. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "binance_capture.h"

/* More levels a side than any capture here holds (~5000). */
#define MAX_DEPTH 16384
#define PATH_BYTES 4096
/* Plausible local receive times (ns) for captures of 2023-2024: catches a
 * µs file read as ns and vice versa. */
#define TS_MIN_NS INT64_C(1672531200000000000) /* 2023-01-01 */
#define TS_MAX_NS INT64_C(1735689600000000000) /* 2025-01-01 */

/* Messages per capture, counted independently with Python's json module. */
typedef struct capture_facts {
    const char *name;
    uint64_t quotes;
    uint64_t trades;
    uint64_t fundings;
    uint64_t diffs;
    uint64_t snapshots;
} capture_facts;

static const capture_facts facts[] = {
    {"btcusdt_20240808.gz", 66089, 21313, 0, 6551, 1},
    {"btcusdt_20240718.gz", 7113, 974, 0, 3326, 1},
    {"btcusdt_20240719.gz", 45147, 9727, 0, 5696, 0},
    {"btcusdt_20230404.dat.gz", 6765, 2197, 99, 4322, 1},
    {"btcusdt_20230405.dat.gz", 37440, 10738, 415, 11788, 0},
};
#define N_FACTS ((int)(sizeof facts / sizeof facts[0]))

/* Files whose every event must be accepted by a fresh engine (ns and µs). */
static const char *const engine_files[] = {
    "btcusdt_20240808.gz", "btcusdt_20230404.dat.gz", "btcusdt_20230405.dat.gz"};
#define N_ENGINE_FILES ((int)(sizeof engine_files / sizeof engine_files[0]))

static cscalp_level bids_a[MAX_DEPTH], asks_a[MAX_DEPTH];
static cscalp_level bids_b[MAX_DEPTH], asks_b[MAX_DEPTH];

/* ------------------------------------------------------------- helpers */

static void capture_path(char *buf, const char *name)
{
    snprintf(buf, PATH_BYTES, "%s/binance-usdm/%s", getenv("CSCALP_SHARED_DATA"), name);
}

static bcap_reader *open_capture(const char *path, bcap_time_unit unit, FILE *log)
{
    bcap_options o;
    bcap_options_init(&o);
    o.time_unit = unit;
    o.log = log;
    bcap_reader *r = NULL;
    char err[512] = "";
    int rc = bcap_open(&r, path, &o, err, sizeof err);
    ck_assert_msg(rc == BCAP_OK, "cannot open capture: %s", err);
    return r;
}


/* Next book event; 0 at the end of the capture. */
static int next_book(bcap_reader *r, bcap_event *ev)
{
    int rc;
    while ((rc = bcap_next(r, ev)) == 1)
        if (ev->kind == CSCALP_KIND_BOOK)
            return 1;
    ck_assert_int_eq(rc, 0);
    return 0;
}

static void check_side_ordered(const cscalp_level *lv, size_t n, int descending,
                               int64_t ts)
{
    for (size_t i = 0; i < n; i++) {
        if (!(isfinite(lv[i].price) && lv[i].price > 0.0 && isfinite(lv[i].size) &&
              lv[i].size > 0.0))
            ck_abort_msg("ts %lld: %s level %zu is %.17g x %.17g", (long long)ts,
                         descending ? "bid" : "ask", i, lv[i].price, lv[i].size);
        if (i > 0 && !(descending ? lv[i].price < lv[i - 1].price : lv[i].price > lv[i - 1].price))
            ck_abort_msg("ts %lld: %s levels %zu and %zu out of order (%.17g, %.17g)",
                         (long long)ts, descending ? "bid" : "ask", i - 1, i, lv[i - 1].price,
                         lv[i].price);
    }
}

/* Copy the reader's full book into (bids, asks); returns the level counts. */
static void copy_full_book(const bcap_reader *r, cscalp_level *bids, size_t *nb,
                           cscalp_level *asks, size_t *na)
{
    *nb = bcap_book_side(r, CSCALP_SIDE_BUY, bids, MAX_DEPTH);
    *na = bcap_book_side(r, CSCALP_SIDE_SELL, asks, MAX_DEPTH);
    if (*nb >= MAX_DEPTH || *na >= MAX_DEPTH)
        ck_abort_msg("book deeper than the test buffers");
}

/* The full book behind a book event is ordered, uncrossed, and its top is
 * exactly what the event carries. */
static void check_book_event(const bcap_reader *r, const cscalp_book *top)
{
    size_t nb = 0;
    size_t na = 0;
    copy_full_book(r, bids_a, &nb, asks_a, &na);
    if (!bcap_book_in_sync(r) || nb == 0 || na == 0)
        ck_abort_msg("ts %lld: book event from a book out of sync or empty",
                     (long long)top->ts_ns);
    check_side_ordered(bids_a, nb, 1, top->ts_ns);
    check_side_ordered(asks_a, na, 0, top->ts_ns);
    if (!(bids_a[0].price < asks_a[0].price))
        ck_abort_msg("ts %lld: crossed book, bid %.17g ask %.17g", (long long)top->ts_ns,
                     bids_a[0].price, asks_a[0].price);
    size_t top_n = BCAP_DEFAULT_BOOK_LEVELS;
    if (top->bid_count != (nb < top_n ? nb : top_n) ||
        top->ask_count != (na < top_n ? na : top_n) ||
        memcmp(top->bids, bids_a, top->bid_count * sizeof *bids_a) != 0 ||
        memcmp(top->asks, asks_a, top->ask_count * sizeof *asks_a) != 0)
        ck_abort_msg("ts %lld: book event is not the top of the rebuilt book",
                     (long long)top->ts_ns);
}

static void expect_same_full_book(const bcap_reader *x, const bcap_reader *y, int64_t ts)
{
    size_t nbx = 0, nax = 0, nby = 0, nay = 0;
    copy_full_book(x, bids_a, &nbx, asks_a, &nax);
    copy_full_book(y, bids_b, &nby, asks_b, &nay);
    if (nbx != nby || nax != nay || memcmp(bids_a, bids_b, nbx * sizeof *bids_a) != 0 ||
        memcmp(asks_a, asks_b, nax * sizeof *asks_a) != 0)
        ck_abort_msg("ts %lld: books differ (%zu/%zu vs %zu/%zu levels)", (long long)ts, nbx,
                     nax, nby, nay);
}

/* ------------------------------------------------- lines of a capture */

typedef struct lines {
    char **v;
    size_t n;
    size_t cap;
} lines;

static void lines_insert(lines *l, size_t at, const char *text)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        ck_assert_ptr_nonnull(l->v);
    }
    memmove(&l->v[at + 1], &l->v[at], (l->n - at) * sizeof *l->v);
    l->v[at] = strdup(text);
    if (!l->v[at])
        ck_abort_msg("out of memory");
    l->n++;
}

static void lines_remove(lines *l, size_t at)
{
    free(l->v[at]);
    memmove(&l->v[at], &l->v[at + 1], (l->n - at - 1) * sizeof *l->v);
    l->n--;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Every line of a gzip file, newline stripped, independent of the reader. */
static lines read_lines(const char *path)
{
    lines l = {0};
    gzFile gz = gzopen(path, "rb");
    ck_assert_msg(gz != NULL, "cannot open %s", path);
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    size_t len = 0;
    ck_assert_ptr_nonnull(buf);
    while (gzgets(gz, buf + len, (int)(cap - len)) != NULL) {
        len += strlen(buf + len);
        if (len > 0 && buf[len - 1] != '\n' && !gzeof(gz)) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
            continue;
        }
        if (len > 0 && buf[len - 1] == '\n')
            buf[--len] = '\0';
        lines_insert(&l, l.n, buf);
        len = 0;
    }
    free(buf);
    gzclose(gz);
    return l;
}

/* A new empty temporary file; returns its path (malloc'd) and its open fd. */
static char *make_temp_file(int *fd)
{
    const char *dir = getenv("TMPDIR");
    char *path = malloc(PATH_BYTES);
    ck_assert_ptr_nonnull(path);
    snprintf(path, PATH_BYTES, "%s/cscalp-capture-XXXXXX", dir && *dir ? dir : "/tmp");
    *fd = mkstemp(path);
    ck_assert_msg(*fd >= 0, "cannot create a temporary file like %s", path);
    return path;
}

/* Write `l` to a new temporary gzip file and return its path (malloc'd). */
static char *write_temp_gz(const lines *l)
{
    int fd = -1;
    char *path = make_temp_file(&fd);
    close(fd);
    gzFile gz = gzopen(path, "wb1");
    ck_assert_ptr_nonnull(gz);
    for (size_t i = 0; i < l->n; i++)
        if (gzputs(gz, l->v[i]) < 0 || gzputc(gz, '\n') != '\n')
            ck_abort_msg("cannot write %s", path);
    ck_assert_int_eq(gzclose(gz), Z_OK);
    return path;
}

/* Open a temporary capture and unlink it at once: the open file stays
 * readable, and nothing is left behind if the test then fails. */
static bcap_reader *open_temp(char *path, FILE *log)
{
    bcap_reader *r = open_capture(path, BCAP_TIME_NS, log);
    unlink(path);
    free(path);
    return r;
}

static int64_t line_ts(const char *line)
{
    return strtoll(line, NULL, 10);
}

/* Index of the k-th depthUpdate line after the snapshot line. */
static size_t diff_after_snapshot(const lines *l, size_t k)
{
    size_t i = 0;
    while (i < l->n && strstr(l->v[i], "\"lastUpdateId\"") == NULL)
        i++;
    for (i++; i < l->n; i++)
        if (strstr(l->v[i], "\"e\":\"depthUpdate\"") != NULL && k-- == 0)
            return i;
    ck_abort_msg("capture has too few diffs after its snapshot");
    return 0;
}

/* The final update id `u` of a depthUpdate line. */
static uint64_t diff_last_id(const char *line)
{
    cJSON *root = cJSON_Parse(strchr(line, ' ') + 1);
    const cJSON *u = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"), "u");
    ck_assert(cJSON_IsNumber(u));
    uint64_t id = (uint64_t)u->valuedouble;
    cJSON_Delete(root);
    return id;
}

static void append(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        ck_assert_ptr_nonnull(*buf);
    }
    memcpy(*buf + *len, text, n + 1);
    *len += n;
}

static void append_levels(char **buf, size_t *len, size_t *cap, const cscalp_level *lv,
                          size_t n)
{
    char item[96];
    for (size_t i = 0; i < n; i++) {
        snprintf(item, sizeof item, "%s[\"%.17g\",\"%.17g\"]", i ? "," : "", lv[i].price,
                 lv[i].size);
        append(buf, len, cap, item);
    }
}

/* A REST snapshot line holding the reader's full book as of update `id`;
 * %.17g makes every price and size read back as the same double. */
static char *snapshot_line(const bcap_reader *r, int64_t ts, uint64_t id)
{
    size_t nb = 0;
    size_t na = 0;
    copy_full_book(r, bids_a, &nb, asks_a, &na);
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    char head[96];
    snprintf(head, sizeof head, "%lld {\"lastUpdateId\":%llu,\"bids\":[", (long long)ts,
             (unsigned long long)id);
    append(&buf, &len, &cap, head);
    append_levels(&buf, &len, &cap, bids_a, nb);
    append(&buf, &len, &cap, "],\"asks\":[");
    append_levels(&buf, &len, &cap, asks_a, na);
    append(&buf, &len, &cap, "]}");
    return buf;
}

/* ----------------------------------------------------------------- tests */

START_TEST(rebuilt_book_is_ordered_and_every_line_accounted_for)
{
    const capture_facts *f = &facts[_i];
    char path[PATH_BYTES];
    capture_path(path, f->name);
    bcap_reader *r = open_capture(path, BCAP_TIME_AUTO, stderr);
    bcap_event ev;
    int64_t prev_ts = 0;
    int rc;
    while ((rc = bcap_next(r, &ev)) == 1) {
        int64_t ts = bcap_event_ts(&ev);
        if (ts < prev_ts)
            ck_abort_msg("%s: time runs backwards at %lld", f->name, (long long)ts);
        prev_ts = ts;
        if (ev.kind == CSCALP_KIND_BOOK)
            check_book_event(r, &ev.book);
    }
    ck_assert_msg(rc == 0, "%s: %s", f->name, bcap_last_error(r));

    const bcap_counters *c = bcap_get_counters(r);
    ck_assert_uint_eq(c->parse_errors, 0);
    ck_assert_uint_eq(c->gaps, 0);
    ck_assert_uint_eq(c->snapshots, f->snapshots);
    ck_assert_uint_eq(c->events[CSCALP_KIND_QUOTE], f->quotes);
    ck_assert_uint_eq(c->events[CSCALP_KIND_TRADE], f->trades);
    ck_assert_uint_eq(c->events[CSCALP_KIND_FUNDING], f->fundings);
    ck_assert_uint_eq(c->diffs_applied + c->diffs_dropped, f->diffs);
    ck_assert_uint_eq(c->lines, c->events[CSCALP_KIND_QUOTE] + c->events[CSCALP_KIND_TRADE] +
                                    c->events[CSCALP_KIND_FUNDING] + c->snapshots +
                                    c->diffs_applied + c->diffs_dropped + c->ignored);
    if (f->snapshots > 0) {
        /* Once in sync, each applied diff gives one book event; the diffs
         * replayed at the snapshot give one between them. */
        ck_assert_uint_gt(c->events[CSCALP_KIND_BOOK], f->diffs * 9 / 10);
        ck_assert_uint_le(c->events[CSCALP_KIND_BOOK], c->diffs_applied);
        ck_assert(bcap_book_in_sync(r));
    } else {
        ck_assert_uint_eq(c->events[CSCALP_KIND_BOOK], 0);
        ck_assert_uint_eq(c->diffs_dropped, f->diffs);
    }
    bcap_close(r);
}
END_TEST


START_TEST(engine_accepts_every_event)
{
    char path[PATH_BYTES];
    capture_path(path, engine_files[_i]);
    bcap_reader *r = open_capture(path, BCAP_TIME_AUTO, stderr);
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, NULL), CSCALP_OK);
    bcap_event ev;
    uint64_t pushed = 0;
    int rc;
    while ((rc = bcap_next(r, &ev)) == 1) {
        int64_t ts = bcap_event_ts(&ev);
        if (ts < TS_MIN_NS || ts >= TS_MAX_NS)
            ck_abort_msg("%s: ts %lld is not ns of 2023-2024", engine_files[_i], (long long)ts);
        int pr = bcap_push(e, &ev);
        if (pr != CSCALP_OK)
            ck_abort_msg("%s: event %llu (kind %d, ts %lld) refused: %s: %s", engine_files[_i],
                         (unsigned long long)pushed, ev.kind, (long long)ts,
                         cscalp_error_name(pr), cscalp_last_error(e));
        pushed++;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_gt(pushed, 10000);
    cscalp_close(e);
    bcap_close(r);
}
END_TEST

/* One diff line removed after the only snapshot: the chain breaks at the
 * next diff, no book event follows, and nothing else is lost. */
START_TEST(gap_stops_book_events_without_a_later_snapshot)
{
    char path[PATH_BYTES];
    capture_path(path, "btcusdt_20240808.gz");
    lines l = read_lines(path);
    size_t removed = diff_after_snapshot(&l, 50);
    int64_t gap_ts = line_ts(l.v[diff_after_snapshot(&l, 51)]);
    lines_remove(&l, removed);
    bcap_reader *r = open_temp(write_temp_gz(&l), stderr);
    lines_free(&l);

    bcap_event ev;
    uint64_t books = 0;
    while (next_book(r, &ev)) {
        if (ev.book.ts_ns >= gap_ts)
            ck_abort_msg("book event at %lld after the gap at %lld", (long long)ev.book.ts_ns,
                         (long long)gap_ts);
        books++;
    }
    const bcap_counters *c = bcap_get_counters(r);
    /* The book synced at the snapshot, then the 50 diffs before the hole. */
    ck_assert_uint_eq(books, 51);
    ck_assert_uint_eq(c->gaps, 1);
    ck_assert_uint_eq(c->resyncs, 0);
    ck_assert(!bcap_book_in_sync(r));
    ck_assert_uint_eq(c->parse_errors, 0);
    ck_assert_uint_eq(c->events[CSCALP_KIND_QUOTE], 66089);
    ck_assert_uint_eq(c->events[CSCALP_KIND_TRADE], 21313);
    ck_assert_uint_eq(c->diffs_applied + c->diffs_dropped, 6550);
    bcap_close(r);
}
END_TEST

/* A diff removed, and 30 diffs later a snapshot of the true book (taken from
 * an intact reader at that update) inserted: the reader reports the gap,
 * emits nothing until the snapshot, resyncs there, and from then on its book
 * equals the intact reader's after every diff. */
START_TEST(gap_resyncs_at_the_next_snapshot)
{
    char path[PATH_BYTES];
    capture_path(path, "btcusdt_20240808.gz");
    lines l = read_lines(path);
    size_t removed = diff_after_snapshot(&l, 50);
    size_t resync_at = diff_after_snapshot(&l, 80);
    int64_t gap_ts = line_ts(l.v[diff_after_snapshot(&l, 51)]);
    int64_t resync_ts = line_ts(l.v[resync_at]);

    bcap_reader *intact = open_capture(path, BCAP_TIME_NS, stderr);
    bcap_event want;
    while (next_book(intact, &want) && bcap_get_counters(intact)->lines < resync_at + 1)
        continue;
    ck_assert_uint_eq(bcap_get_counters(intact)->lines, resync_at + 1);
    char *snap = snapshot_line(intact, resync_ts, diff_last_id(l.v[resync_at]));
    lines_insert(&l, resync_at + 1, snap);
    free(snap);
    lines_remove(&l, removed);
    bcap_reader *r = open_temp(write_temp_gz(&l), stderr);
    lines_free(&l);

    bcap_event got;
    uint64_t compared = 0;
    while (next_book(r, &got)) {
        if (bcap_get_counters(r)->resyncs == 0) {
            if (got.book.ts_ns >= gap_ts)
                ck_abort_msg("book event at %lld inside the gap", (long long)got.book.ts_ns);
            continue;
        }
        if (compared == 0)
            ck_assert_int_eq(got.book.ts_ns, resync_ts);
        else if (!next_book(intact, &want))
            ck_abort_msg("the intact capture ends before the repaired one");
        if (memcmp(&got.book, &want.book, sizeof got.book) != 0)
            ck_abort_msg("ts %lld: book events differ", (long long)got.book.ts_ns);
        expect_same_full_book(r, intact, got.book.ts_ns);
        compared++;
    }
    ck_assert(!next_book(intact, &want));
    ck_assert_uint_gt(compared, 6000);
    const bcap_counters *c = bcap_get_counters(r);
    ck_assert_uint_eq(c->gaps, 1);
    ck_assert_uint_eq(c->resyncs, 1);
    ck_assert_uint_eq(c->snapshots, 2);
    ck_assert(bcap_book_in_sync(r));
    bcap_close(r);
    bcap_close(intact);
}
END_TEST

static uint64_t total_events(const bcap_counters *c)
{
    uint64_t n = 0;
    for (int k = 0; k < CSCALP_KIND_COUNT; k++)
        n += c->events[k];
    return n;
}

/* Malformed lines are counted, reported with their line number and skipped;
 * every other event comes out exactly as from the intact file. */
START_TEST(malformed_lines_are_counted_and_skipped)
{
    static const char *const bad[] = {
        "1721347021000000000 {\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\"",
        "garbage without a receive time",
        "1721347021000000000 {\"data\":{\"e\":\"bookTicker\",\"b\":\"abc\",\"B\":\"1\",\"a\":\"2\",\"A\":\"3\"}}",
        "1721347021000000000 [1,2,3]",
        "1721347021000000000 {\"lastUpdateId\":\"x\",\"bids\":[],\"asks\":[]}",
        "99999999999999999999999 {}",
        "1721347021000000000 {\"data\":{\"e\":\"trade\",\"p\":\"1\",\"q\":\"nan\",\"m\":true,\"t\":1}}",
    };
    const size_t n_bad = sizeof bad / sizeof bad[0];
    char path[PATH_BYTES];
    capture_path(path, "btcusdt_20240718.gz");
    lines l = read_lines(path);
    while (l.n > 300)
        lines_remove(&l, l.n - 1);
    bcap_reader *intact = open_temp(write_temp_gz(&l), stderr);
    for (size_t i = 0; i < n_bad; i++)
        lines_insert(&l, 3 + 40 * i, bad[i]); /* before, at and after the sync */
    lines_insert(&l, 10, "");                 /* blank: not an error */
    FILE *log = tmpfile();
    ck_assert_ptr_nonnull(log);
    bcap_reader *r = open_temp(write_temp_gz(&l), log);
    lines_free(&l);

    bcap_event got;
    bcap_event want;
    int rc;
    while ((rc = bcap_next(r, &got)) == 1)
        if (bcap_next(intact, &want) != 1 || got.kind != want.kind ||
            bcap_event_ts(&got) != bcap_event_ts(&want))
            ck_abort_msg("event at %lld differs from the intact file", (long long)bcap_event_ts(&got));
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(bcap_next(intact, &want), 0);

    const bcap_counters *c = bcap_get_counters(r);
    ck_assert_uint_eq(c->parse_errors, n_bad);
    ck_assert_uint_eq(c->lines, bcap_get_counters(intact)->lines + n_bad + 1);
    ck_assert_uint_eq(c->gaps, 0);
    ck_assert_uint_gt(c->events[CSCALP_KIND_BOOK], 0);
    ck_assert_uint_eq(total_events(c), total_events(bcap_get_counters(intact)));

    char text[4096] = "";
    rewind(log);
    size_t got_bytes = fread(text, 1, sizeof text - 1, log);
    text[got_bytes] = '\0';
    fclose(log);
    ck_assert_msg(strstr(text, ":4: skipped: malformed JSON") != NULL, "log was: %s", text);
    ck_assert_msg(strstr(text, "no local receive time") != NULL, "log was: %s", text);
    bcap_close(r);
    bcap_close(intact);
}
END_TEST

/* A capture cut short mid-stream: the events before the cut come out, then a
 * read error, which stays. */
START_TEST(truncated_file_is_a_read_error)
{
    char path[PATH_BYTES];
    capture_path(path, "btcusdt_20240718.gz");
    FILE *in = fopen(path, "rb");
    ck_assert_ptr_nonnull(in);
    static unsigned char half[256 * 1024];
    size_t n = fread(half, 1, sizeof half, in);
    fclose(in);
    ck_assert_uint_eq(n, sizeof half);

    int fd = -1;
    char *tmp = make_temp_file(&fd);
    ck_assert(write(fd, half, n) == (ssize_t)n);
    close(fd);
    bcap_reader *r = open_temp(tmp, NULL);

    bcap_event ev;
    uint64_t events = 0;
    int rc;
    while ((rc = bcap_next(r, &ev)) == 1)
        events++;
    ck_assert_int_eq(rc, BCAP_EIO);
    ck_assert_uint_gt(events, 1000);
    ck_assert(strstr(bcap_last_error(r), "read error") != NULL);
    ck_assert_int_eq(bcap_next(r, &ev), BCAP_EIO);
    bcap_close(r);
}
END_TEST

START_TEST(missing_file_is_refused_with_its_name)
{
    bcap_reader *r = (bcap_reader *)&r; /* not NULL, to see it reset */
    char err[256] = "";
    ck_assert_int_eq(bcap_open(&r, "/nonexistent/capture.gz", NULL, err, sizeof err), BCAP_EIO);
    ck_assert_ptr_null(r);
    ck_assert(strstr(err, "/nonexistent/capture.gz") != NULL);
    bcap_close(NULL);
}
END_TEST

static Suite *capture_suite(void)
{
    Suite *s = suite_create("capture");
    TCase *tc = tcase_create("binance-usdm");
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, rebuilt_book_is_ordered_and_every_line_accounted_for, 0, N_FACTS);
    tcase_add_loop_test(tc, engine_accepts_every_event, 0, N_ENGINE_FILES);
    tcase_add_test(tc, gap_stops_book_events_without_a_later_snapshot);
    tcase_add_test(tc, gap_resyncs_at_the_next_snapshot);
    tcase_add_test(tc, malformed_lines_are_counted_and_skipped);
    tcase_add_test(tc, truncated_file_is_a_read_error);
    tcase_add_test(tc, missing_file_is_refused_with_its_name);
    suite_add_tcase(s, tc);
    return s;
}

/* Real data is the point of this suite: without it, fail loudly. */
static int shared_data_present(void)
{
    const char *dir = getenv("CSCALP_SHARED_DATA");
    char probe[PATH_BYTES];
    struct stat st;
    if (!dir || !*dir) {
        fprintf(stderr, "test_capture: CSCALP_SHARED_DATA is not set; it must name the shared "
                        "real-data folder (run through `meson test`)\n");
        return 0;
    }
    snprintf(probe, sizeof probe, "%s/binance-usdm", dir);
    if (stat(probe, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "test_capture: no real captures at %s (set meson option shared_data "
                        "or CSCALP_SHARED_DATA)\n", probe);
        return 0;
    }
    return 1;
}

int main(void)
{
    if (!shared_data_present())
        return EXIT_FAILURE;
    SRunner *sr = srunner_create(capture_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
