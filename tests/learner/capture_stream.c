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

