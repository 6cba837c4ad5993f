/* The Binance historical depth CSV reader (examples/common/binance_depth.h).
 *
 * The shared fixtures (100 rows each, from NautilusTrader's test data) are
 * the first rows of a snapshot file (bids only) and of an update file (one
 * message, thousands of ids after the snapshot): they give exact counts and
 * no book (one-sided snapshot, then an update that does not cover it: a
 * gap). Synthetic files written here (one plain, one gzip) walk the rules:
 * updates before a snapshot skipped, the first update covering the
 * snapshot id applied, the pu chain, a gap clearing the book until the next
 * snapshot, a resync, a snapshot inside a synced chain ignored, a repeated
 * update (from a third file) skipped as stale, a crossed book refused, time
 * held when it goes back, malformed rows (a tenth field too) counted; the books come out with the expected top levels
 * and every one is accepted by an engine. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/test_util.h"
#include "binance_depth.h"
#include "sources.h"

#define PATH_BYTES 4096

static void shared(char *out, const char *name)
{
    snprintf(out, PATH_BYTES, "%s/binance-usdm/%s", getenv("CSCALP_SHARED_DATA"), name);
}

static void temp(char *out, const char *name)
{
    const char *dir = getenv("TMPDIR");
    snprintf(out, PATH_BYTES, "%s/cscalp-depth-%ld-%s", dir && *dir ? dir : "/tmp",
             (long)getpid(), name);
}

static void write_text(const char *path, const char *text, int gzip)
{
    if (gzip) {
        gzFile gz = gzopen(path, "wb");
        ck_assert_ptr_nonnull(gz);
        ck_assert_int_eq(gzputs(gz, text), (int)strlen(text));
        ck_assert_int_eq(gzclose(gz), Z_OK);
    } else {
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputs(text, f) >= 0, 1);
        ck_assert_int_eq(fclose(f), 0);
    }
}

START_TEST(fixtures_counts)
{
    char snap[PATH_BYTES], upd[PATH_BYTES], err[512];
    shared(snap, "btcusdt-depth-snap.csv");
    shared(upd, "btcusdt-depth-update.csv");
    ck_assert_int_eq(bdepth_detect(snap), 1);
    ck_assert_int_eq(bdepth_detect(upd), 1);
    source_kind kind;
    ck_assert_int_eq(source_detect(upd, &kind, err, sizeof err), SOURCE_OK);
    ck_assert_int_eq(kind, SRC_BINANCE_DEPTH);
    const char *paths[] = {upd, snap}; /* order of the arguments does not matter */
    ck_assert_uint_eq(source_group_size(paths, 2, kind), 2);
    bdepth_reader *r = NULL;
    ck_assert_int_eq(bdepth_open(&r, paths, 2, 10, err, sizeof err), BCAP_OK);
    bcap_event ev;
    ck_assert_int_eq(bdepth_next(r, &ev), 0);
    const bdepth_counters *c = bdepth_get_counters(r);
    ck_assert_uint_eq(c->rows, 200);
    ck_assert_uint_eq(c->bad_rows, 0);
    ck_assert_uint_eq(c->snapshots, 1);
    ck_assert_uint_eq(c->one_sided, 1); /* the first 100 rows are all bids */
    ck_assert_uint_eq(c->updates, 1);
    ck_assert_uint_eq(c->updates_applied, 0);
    ck_assert_uint_eq(c->updates_unsynced, 1);
    ck_assert_uint_eq(c->gaps, 1); /* first_update_id is far beyond the snapshot's */
    ck_assert_uint_eq(c->books, 0);
    bdepth_close(r);
}
END_TEST

#define H BDEPTH_HEADER "\n"

START_TEST(synthetic_rules)
{
    char snap[PATH_BYTES], upd[PATH_BYTES], again[PATH_BYTES], err[512];
    temp(snap, "snap.csv");
    temp(upd, "update.csv.gz");
    temp(again, "again.csv");
    /* Snapshots at id 10 (t=1000 ms) and id 30 (t=5000 ms). */
    write_text(snap,
               H "BTCUSDT,1000,10,10,b,snap,100.0,1.0,-1\n"
                 "BTCUSDT,1000,10,10,b,snap,99.0,2.0,-1\n"
                 "BTCUSDT,1000,10,10,a,snap,101.0,1.5,-1\n"
                 "BTCUSDT,1000,10,10,a,snap,102.0,3.0,-1\n"
                 "BTCUSDT,1150,14,14,b,snap,500.0,1.0,-1\n" /* in sync: ignored */
                 "BTCUSDT,1150,14,14,a,snap,501.0,1.0,-1\n"
                 "BTCUSDT,5000,30,30,b,snap,200.0,1.0,-1\n"
                 "BTCUSDT,5000,30,30,a,snap,201.0,1.0,-1\n",
               0);
    write_text(upd,
               H "BTCUSDT,900,5,9,b,set,100.0,9.0,4\n"     /* before any snapshot */
                 "BTCUSDT,1100,8,12,a,set,101.0,0.000,7\n" /* covers 10: best ask -> 102 */
                 "BTCUSDT,1100,8,12,b,set,100.5,0.5,7\n"   /* same message: new best bid */
                 "BTCUSDT,abc,13,15,b,set,100.0,1.0,12\n"  /* malformed time */
                 "BTCUSDT,1200,13,15,x,set,100.0,1.0,12\n" /* malformed side */
                 "BTCUSDT,1200,13,15,b,set,nan,1.0,12\n"   /* malformed price */
                 "BTCUSDT,1200,13,15,b,set,100.0,-1,12\n"  /* negative size */
                 "BTCUSDT,1200,13,15,b,set,100.0,1,12,x\n" /* a tenth field */
                 "BTCUSDT,1200,13,15,b,set,99.0,0,12\n"    /* chains on 12: 99 removed */
                 "BTCUSDT,1150,16,17,a,set,103.0,1.0,15\n" /* time goes back: held */
                 "BTCUSDT,1300,18,20,a,set,100.2,1.0,16\n" /* pu 16 != 17: a gap */
                 "BTCUSDT,1400,21,22,b,set,100.0,1.0,20\n" /* out of sync: skipped */
                 "BTCUSDT,5100,29,31,b,set,200.5,2.0,28\n" /* covers 30 */
                 "BTCUSDT,5200,32,33,b,set,202.0,1.0,31\n" /* crosses the ask: refused */
                 "BTCUSDT,5300,34,35,b,set,150.0,1.0,33\n", /* after the gap: skipped */
               1);
    /* The message 13..15 again, from a third file: applied already. */
    write_text(again, H "BTCUSDT,1200,13,15,b,set,99.5,7.0,12\n", 0);
    const char *paths[] = {snap, upd, again};
    bdepth_reader *r = NULL;
    ck_assert_int_eq(bdepth_open(&r, paths, 3, 5, err, sizeof err), BCAP_OK);
    cscalp_engine *engine = NULL;
    /* The synthetic book jumps by whole percents between messages: the
     * reader is tested here, the outlier screen in tests/health. */
    ck_assert_int_eq(cscalp_open(&engine, "{\"feed\":{\"outlier_min_bps\":0}}"), CSCALP_OK);

    const struct {
        int64_t ts_ms;
        double bid, ask;
        uint32_t bids, asks;
    } want[] = {
        {1000, 100.0, 101.0, 2, 2}, /* snapshot 10 */
        {1100, 100.5, 102.0, 3, 1}, /* update 8..12 */
        {1200, 100.5, 102.0, 2, 1}, /* update 13..15 */
        {1200, 100.5, 102.0, 2, 2}, /* update 16..17, time held at 1200 */
        {5000, 200.0, 201.0, 1, 1}, /* snapshot 30: resync */
        {5100, 200.5, 201.0, 2, 1}, /* update 29..31 */
    };
    bcap_event ev;
    size_t n = 0;
    while (bdepth_next(r, &ev) == 1) {
        ck_assert_uint_lt(n, sizeof want / sizeof want[0]);
        ck_assert_int_eq(ev.kind, CSCALP_KIND_BOOK);
        ck_assert_int_eq(ev.book.ts_ns, want[n].ts_ms * 1000000);
        ck_assert_double_eq(ev.book.bids[0].price, want[n].bid);
        ck_assert_double_eq(ev.book.asks[0].price, want[n].ask);
        ck_assert_uint_eq(ev.book.bid_count, want[n].bids);
        ck_assert_uint_eq(ev.book.ask_count, want[n].asks);
        ck_assert_int_eq(cscalp_push_book(engine, &ev.book), CSCALP_OK);
        n++;
    }
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    const bdepth_counters *c = bdepth_get_counters(r);
    ck_assert_uint_eq(c->rows, 24);
    ck_assert_uint_eq(c->bad_rows, 5);
    ck_assert_uint_eq(c->snapshots, 3);
    ck_assert_uint_eq(c->updates, 10);
    ck_assert_uint_eq(c->updates_stale, 1);
    ck_assert_uint_eq(c->updates_applied, 5); /* the crossed one was applied, then refused */
    ck_assert_uint_eq(c->updates_unsynced, 4);
    ck_assert_uint_eq(c->gaps, 2);            /* the broken chain and the crossed book */
    ck_assert_uint_eq(c->resyncs, 1);
    ck_assert_uint_eq(c->time_held, 1);
    ck_assert_uint_eq(c->books, 6);
    bdepth_close(r);
    cscalp_close(engine);
    unlink(snap);
    unlink(upd);
    unlink(again);
}
END_TEST

START_TEST(open_errors)
{
    char bad[PATH_BYTES], missing[PATH_BYTES], err[512];
    temp(bad, "bad.csv");
    temp(missing, "missing.csv");
    write_text(bad, "symbol,timestamp,price\nBTCUSDT,1,2\n", 0);
    ck_assert_int_eq(bdepth_detect(bad), 0);
    ck_assert_int_eq(bdepth_detect(missing), -1);
    const char *one[] = {bad};
    bdepth_reader *r = (bdepth_reader *)1;
    ck_assert_int_eq(bdepth_open(&r, one, 1, 10, err, sizeof err), BCAP_EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(err, "bad.csv"));
    const char *gone[] = {missing};
    ck_assert_int_eq(bdepth_open(&r, gone, 1, 10, err, sizeof err), BCAP_EIO);
    ck_assert_ptr_nonnull(strstr(err, "missing.csv"));
    ck_assert_int_eq(bdepth_open(&r, one, 1, 0, err, sizeof err), BCAP_EINVAL);
    ck_assert_int_eq(bdepth_open(&r, one, 0, 10, err, sizeof err), BCAP_EINVAL);
    unlink(bad);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("binance_depth");
    TCase *t = tcase_create("reader");
    tcase_add_test(t, fixtures_counts);
    tcase_add_test(t, synthetic_rules);
    tcase_add_test(t, open_errors);
    suite_add_tcase(s, t);
    return tu_run(s);
}
