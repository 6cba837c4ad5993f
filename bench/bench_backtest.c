/* cscalp-bench backtest: events per second replaying a capture through the
 * engine and the simulated venue on one core, the host loop of
 * examples/backtest without its output. The capture is converted first (not
 * timed) into the compact binary event file of `cscalp-backtest --convert`
 * (examples/common/event_file.h) in $TMPDIR and read into memory, and
 * replayed from there — decoded and shifted in time each pass, as a
 * --convert file replays at memory speed — until at least MIN_EVENTS events
 * went through:
 *   feed_only        engine (learning off, autonomy MANUAL) + venue
 *   infer_per_quote  the same + cscalp_infer after every quote and book
 *   learning         learning inline, autonomy AUTONOMOUS: intents polled
 *                    into the venue, its updates into the engine
 * One JSON line per case. */
#include "bench_backtest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "binance_capture.h"
#include "event_file.h"
#include "cryptoscalp.h"
#include "cryptoscalp_sim.h"

#define MIN_EVENTS 4000000u
#define GAP_NS 1000000000LL

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The capture as an event file at `out`; its event count and time span. */
static int convert(const char *path, const char *out, size_t *n, int64_t *span)
{
    bcap_reader *r = NULL;
    event_writer *w = NULL;
    char err[512];
    if (bcap_open(&r, path, NULL, err, sizeof err) != BCAP_OK ||
        event_writer_open(&w, out, err, sizeof err) != BCAP_OK) {
        fprintf(stderr, "cscalp-bench: %s\n", err);
        bcap_close(r);
        return -1;
    }
    bcap_event ev;
    int rc;
    int64_t first = 0, last = 0;
    *n = 0;
    while ((rc = bcap_next(r, &ev)) == 1) {
        if (*n == 0)
            first = bcap_event_ts(&ev);
        last = bcap_event_ts(&ev);
        if (event_writer_put(w, &ev) != BCAP_OK) {
            rc = -1;
            break;
        }
        (*n)++;
    }
    if (rc < 0)
        fprintf(stderr, "cscalp-bench: %s: %s\n", path, bcap_last_error(r));
    bcap_close(r);
    if (event_writer_close(w, err, sizeof err) != BCAP_OK) {
        fprintf(stderr, "cscalp-bench: %s\n", err);
        rc = -1;
    }
    *span = last - first;
    return rc < 0 ? -1 : 0;
}

/* The whole file in memory (malloc), or NULL. */
static unsigned char *slurp(const char *file, size_t *len)
{
    unsigned char *bytes = NULL;
    FILE *f = fopen(file, "rb");
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (bytes = malloc((size_t)size)) != NULL && fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        free(bytes);
        bytes = NULL;
    }
    if (f)
        fclose(f);
    *len = size > 0 ? (size_t)size : 0;
    return bytes;
}

static int cmp_seconds(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { CASE_FEED, CASE_INFER, CASE_LEARN };
static const char *const case_names[] = {"feed_only", "infer_per_quote", "learning"};

static int run_case(int which, const unsigned char *file, size_t file_len, size_t n_events,
                    int64_t span, const char *source)
{
    cscalp_engine *engine = NULL;
    cscalp_sim_venue *venue = NULL;
    const char *cfg = which == CASE_LEARN ? "{\"learn\":{\"mode\":\"inline\"}}"
                                          : "{\"learn\":{\"mode\":\"off\"}}";
    cscalp_sim_venue_config vc;
    vc.size = sizeof vc;
    cscalp_sim_venue_config_init(&vc);
    if (cscalp_open(&engine, cfg) != CSCALP_OK ||
        cscalp_sim_venue_open(&venue, &vc, NULL, NULL, 0) != CSCALP_OK) {
        fprintf(stderr, "cscalp-bench: backtest: cannot open the engine or the venue\n");
        cscalp_close(engine);
        return -1;
    }
    if (which == CASE_LEARN)
        cscalp_set_autonomy(engine, CSCALP_AUTONOMY_AUTONOMOUS);
    const int64_t period = span + GAP_NS;
    const size_t passes = (MIN_EVENTS + n_events - 1) / n_events;
    uint64_t pushed = 0, intents = 0, updates = 0, refused = 0;
    cscalp_signal sig;
    cscalp_intent its[64];
    cscalp_order_update us[64];
    static bcap_event event; /* one decoded event at a time, as cscalp-backtest does */
    bcap_event *ev = &event;
    char err[512];
    /* Per pass too: this VM's neighbours take whole slices of a run, and
     * the median pass says what the code does when it has the core. */
    double *pass_s = malloc(passes * sizeof *pass_s);
    if (pass_s == NULL) {
        cscalp_sim_venue_close(venue);
        cscalp_close(engine);
        return -1;
    }
    const double t0 = now_s();
    for (size_t p = 0; p < passes; p++) {
        const double tp = now_s();
        event_reader *rd = NULL;
        if (event_reader_open_memory(&rd, file, file_len, err, sizeof err) != BCAP_OK) {
            fprintf(stderr, "cscalp-bench: %s\n", err);
            cscalp_sim_venue_close(venue);
            cscalp_close(engine);
            return -1;
        }
        while (event_reader_next(rd, ev) == 1) {
            if (p > 0)
                bcap_event_shift(ev, period * (int64_t)p);
            if (bcap_push(engine, ev) != CSCALP_OK) {
                refused++;
                continue;
            }
            bcap_push_venue(venue, ev);
            pushed++;
            if (which == CASE_INFER &&
                (ev->kind == CSCALP_KIND_QUOTE || ev->kind == CSCALP_KIND_BOOK)) {
                sig.size = sizeof sig;
                cscalp_infer(engine, &sig);
            }
            if (which == CASE_LEARN) {
                its[0].size = sizeof its[0];
                const int n = cscalp_poll_intents(engine, its, 64);
                for (int k = 0; k < n; k++)
                    cscalp_sim_venue_submit(venue, &its[k]);
                intents += (uint64_t)(n > 0 ? n : 0);
                us[0].size = sizeof us[0];
                const int m = cscalp_sim_venue_poll(venue, bcap_event_ts(ev), us, 64);
                for (int k = 0; k < m; k++)
                    cscalp_on_order(engine, &us[k]);
                updates += (uint64_t)(m > 0 ? m : 0);
            }
        }
        event_reader_close(rd);
        pass_s[p] = now_s() - tp;
    }
    const double dt = now_s() - t0;
    qsort(pass_s, passes, sizeof *pass_s, cmp_seconds);
    const double median_pass = pass_s[passes / 2];
    printf("{\"bench\":\"backtest\",\"case\":\"%s\",\"events\":%llu,\"seconds\":%.3f,"
           "\"events_per_s\":%.0f,\"passes\":%zu,\"events_per_s_median_pass\":%.0f,"
           "\"intents\":%llu,\"venue_updates\":%llu,\"refused\":%llu,\"source\":\"%s\"}\n",
           case_names[which], (unsigned long long)pushed, dt, dt > 0 ? (double)pushed / dt : 0.0,
           passes, median_pass > 0 ? (double)n_events / median_pass : 0.0,
           (unsigned long long)intents, (unsigned long long)updates,
           (unsigned long long)refused, source);
    free(pass_s);
    cscalp_sim_venue_close(venue);
    cscalp_close(engine);
    return 0;
}

int bench_backtest(const char *path, const char *source, const char *only)
{
    int first = CASE_FEED, last = CASE_LEARN;
    if (only != NULL) {
        first = -1;
        for (int k = CASE_FEED; k <= CASE_LEARN; k++)
            if (strcmp(only, case_names[k]) == 0)
                first = last = k;
        if (first < 0)
            return -2;
    }
    const char *dir = getenv("TMPDIR");
    char file[4096];
    snprintf(file, sizeof file, "%s/cscalp-bench-%ld.events", dir && *dir ? dir : "/tmp",
             (long)getpid());
    size_t n = 0, len = 0;
    int64_t span = 0;
    int rc = convert(path, file, &n, &span);
    if (rc == 0 && n == 0) {
        fprintf(stderr, "cscalp-bench: %s: no events\n", path);
        rc = -1;
    }
    unsigned char *bytes = rc == 0 ? slurp(file, &len) : NULL;
    remove(file);
    if (rc == 0 && bytes == NULL) {
        fprintf(stderr, "cscalp-bench: %s: cannot read it back\n", file);
        rc = -1;
    }
    for (int which = first; which <= last && rc == 0; which++)
        rc = run_case(which, bytes, len, n, span, source); /* each from the recorded times */
    free(bytes);
    return rc;
}
