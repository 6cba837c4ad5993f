#include "capture_stream.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

stream load_capture(void)
{
    const char *root = getenv("CSCALP_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    char path[1024];
    snprintf(path, sizeof path, "%s/examples/data/btcusdt_20240718.gz", root);
    bcap_options opt;
    bcap_options_init(&opt);
    opt.log = NULL;
    bcap_reader *rd = NULL;
    char err[256];
    ck_assert_msg(bcap_open(&rd, path, &opt, err, sizeof err) == BCAP_OK, "%s", err);
    stream s = {NULL, 0};
    size_t cap = 0;
    bcap_event ev;
    while (bcap_next(rd, &ev) == 1) {
        if (s.n == cap) {
            cap = cap ? 2 * cap : 4096;
            s.ev = realloc(s.ev, cap * sizeof *s.ev);
            ck_assert_ptr_nonnull(s.ev);
        }
        s.ev[s.n++] = ev;
    }
    bcap_close(rd);
    return s;
}

void push_event(cscalp_engine *e, const bcap_event *ev)
{
    switch (ev->kind) {
    case CSCALP_KIND_TRADE:
        cscalp_push_trade(e, &ev->trade);
        break;
    case CSCALP_KIND_QUOTE:
        cscalp_push_quote(e, &ev->quote);
        break;
    case CSCALP_KIND_BOOK:
        cscalp_push_book(e, &ev->book);
        break;
    default:
        cscalp_push_funding(e, &ev->funding);
        break;
    }
}

int64_t event_ts(const bcap_event *ev)
{
    switch (ev->kind) {
    case CSCALP_KIND_TRADE:
        return ev->trade.ts_ns;
    case CSCALP_KIND_QUOTE:
        return ev->quote.ts_ns;
    case CSCALP_KIND_BOOK:
        return ev->book.ts_ns;
    default:
        return ev->funding.ts_ns;
    }
}

