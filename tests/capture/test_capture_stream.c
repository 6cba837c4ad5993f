/* The Binance capture reader fed line by line (bcap_open_stream +
 * bcap_feed_line, as cscalp-live does over TCP) gives exactly the events
 * and counters of the file reader on the same capture; after
 * bcap_stream_broken the book is cleared and comes back with the next
 * snapshot (replaying the capture from its start again: the same events
 * again, one gap and one resync counted). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../common/test_util.h"
#include "binance_capture.h"

#define PATH_BYTES 4096

static void shared(char *out, const char *name)
{
    snprintf(out, PATH_BYTES, "%s/binance-usdm/%s", getenv("CSCALP_SHARED_DATA"), name);
}

/* Feed every line of `path` into `s`, comparing each event with the file
 * reader's next one. Returns the number of events. */
static size_t feed_file(bcap_reader *s, bcap_reader *file, const char *path)
{
    gzFile gz = gzopen(path, "rb");
    ck_assert_ptr_nonnull(gz);
    static char line[1 << 20];
    size_t events = 0;
    while (gzgets(gz, line, sizeof line) != NULL) {
        bcap_event got, want;
        memset(&got, 0, sizeof got); /* the union's bytes past the member set */
        memset(&want, 0, sizeof want);
        const int rc = bcap_feed_line(s, line, strlen(line), &got);
        if (rc < 0)
            ck_abort_msg("bcap_feed_line: %d", rc);
        if (rc == 1) {
            if (bcap_next(file, &want) != 1)
                ck_abort_msg("the stream reader gave event %zu, the file reader none", events);
            if (memcmp(&got, &want, sizeof got) != 0)
                ck_abort_msg("event %zu differs", events);
            events++;
        }
    }
    gzclose(gz);
    return events;
}

START_TEST(stream_equals_file)
{
    char path[PATH_BYTES], err[512];
    shared(path, "btcusdt_20240718.gz");
    bcap_options o;
    bcap_options_init(&o);
    o.log = NULL;
    bcap_reader *file = NULL, *s = NULL;
    ck_assert_int_eq(bcap_open(&file, path, &o, err, sizeof err), BCAP_OK);
    ck_assert_int_eq(bcap_open_stream(&s, "tcp", &o, err, sizeof err), BCAP_OK);
    bcap_event ev;
    ck_assert_int_eq(bcap_next(s, &ev), BCAP_EINVAL); /* no file behind it */
    const size_t n = feed_file(s, file, path);
    ck_assert_uint_gt(n, 10000);
    ck_assert_int_eq(bcap_next(file, &ev), 0);
    const bcap_counters *a = bcap_get_counters(s), *b = bcap_get_counters(file);
    ck_assert_uint_eq(a->lines, b->lines);
    ck_assert_uint_eq(a->diffs_applied, b->diffs_applied);
    ck_assert_uint_eq(a->snapshots, b->snapshots);
    ck_assert_uint_eq(a->gaps, 0);
    for (int k = 0; k < CSCALP_KIND_COUNT; k++)
        ck_assert_uint_eq(a->events[k], b->events[k]);
    ck_assert_int_eq(bcap_book_in_sync(s), 1);

    /* The connection drops; the relay starts over from the first line. */
    bcap_stream_broken(s);
    ck_assert_int_eq(bcap_book_in_sync(s), 0);
    cscalp_level lv[4];
    ck_assert_uint_eq(bcap_book_side(s, CSCALP_SIDE_BUY, lv, 4), 0);
    bcap_close(file);
    ck_assert_int_eq(bcap_open(&file, path, &o, err, sizeof err), BCAP_OK);
    ck_assert_uint_eq(feed_file(s, file, path), n);
    ck_assert_uint_eq(bcap_get_counters(s)->gaps, 1);
    ck_assert_uint_eq(bcap_get_counters(s)->resyncs, 1);
    bcap_close(file);
    bcap_close(s);
}
END_TEST

START_TEST(stream_line_edges)
{
    char err[512];
    bcap_reader *s = NULL;
    ck_assert_int_eq(bcap_open_stream(&s, "tcp", NULL, err, sizeof err), BCAP_OK);
    bcap_event ev;
    const char trade[] = "1721260800000000000 {\"stream\":\"btcusdt@trade\",\"data\":{\"e\":"
                         "\"trade\",\"E\":1,\"T\":1,\"s\":\"BTCUSDT\",\"t\":7,\"p\":\"64000.5\","
                         "\"q\":\"0.010\",\"X\":\"MARKET\",\"m\":true}}\r\n";
    ck_assert_int_eq(bcap_feed_line(s, trade, strlen(trade), &ev), 1);
    ck_assert_int_eq(ev.kind, CSCALP_KIND_TRADE);
    ck_assert_int_eq(ev.trade.ts_ns, 1721260800000000000LL);
    ck_assert_double_eq(ev.trade.price, 64000.5);
    ck_assert_int_eq(ev.trade.side, CSCALP_SIDE_SELL); /* buyer is maker: seller took */
    ck_assert_int_eq(bcap_feed_line(s, "garbage", 7, &ev), 0);
    ck_assert_int_eq(bcap_feed_line(s, "", 0, &ev), 0);
    ck_assert_int_eq(bcap_feed_line(s, NULL, 3, &ev), BCAP_EINVAL);
    ck_assert_uint_eq(bcap_get_counters(s)->parse_errors, 1);
    ck_assert_uint_eq(bcap_get_counters(s)->lines, 3);
    bcap_close(s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("capture_stream");
    TCase *t = tcase_create("stream");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, stream_equals_file);
    tcase_add_test(t, stream_line_edges);
    suite_add_tcase(su, t);
    return tu_run(su);
}
