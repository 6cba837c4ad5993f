/*
 * cscalp-bench — benchmarks of libcryptoscalp; prints one JSON line per case.
 *
 *   cscalp-bench feed [--repeat N] [CAPTURE]
 *   cscalp-bench infer [--calls N] [CAPTURE]
 *   cscalp-bench train [--seconds S] [--backend cpu|blas] [--batch 1|256] [CAPTURE]
 *
 * infer and train are in bench_nn.c.
 *
 * feed: per-event push latency on real data. The capture is decoded into
 * memory first (not timed). Each case (quote, trade, book10) then pushes its
 * events through a fresh engine: every single push is timed (the x86 TSC
 * where there is one, fenced, converted to ns by calibrating against
 * CLOCK_MONOTONIC over the run, less the median cost of an empty timed
 * region), giving the p50 and p99 of the per-event distribution; then the
 * same passes run again timed only as a whole, giving the mean with no
 * timing overhead. One capture holds only thousands of events per kind, so
 * the data is replayed for several passes (after one untimed warm-up pass),
 * shifted in time each pass to keep time monotone. --repeat N sets the
 * number of passes; by default it is the fewest that reach MIN_EVENTS.
 *
 * Defining CSCALP_BENCH_CLOCK_MONOTONIC (e.g. -DCSCALP_BENCH_CLOCK_MONOTONIC)
 * forces the portable CLOCK_MONOTONIC timer on x86 too, to check it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binance_capture.h"
#include "cryptoscalp.h"

#include "bench_backtest.h"
#include "bench_common.h"
#include "bench_nn.h"

#define MIN_EVENTS 1000000u
#define BOOK_LEVELS 10
/* Pause between the end of one pass and the start of the next. */
#define PASS_GAP_NS INT64_C(1000000)

typedef struct event_array {
    void *v;
    size_t n;
    size_t cap;
    size_t size; /* bytes per element */
} event_array;

typedef struct capture_data {
    event_array quotes;
    event_array trades;
    event_array books;
} capture_data;

typedef struct bench_case {
    const char *name;
    int kind;
    event_array *events;
} bench_case;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cscalp-bench feed [--repeat N] [CAPTURE]\n"
            "       cscalp-bench backtest [--case NAME] [CAPTURE]\n"
            "       cscalp-bench infer [--calls N] [CAPTURE]\n"
            "       cscalp-bench train [--seconds S] [--backend cpu|blas] [--batch 1|256] "
            "[CAPTURE]\n"
            "\n"
            "  feed           push latency per event (cases quote, trade, book10)\n"
            "  backtest       events/s through engine + simulated venue (feed_only,\n"
            "                 infer_per_quote, learning)\n"
            "  infer          cscalp_infer latency after each quote, and the model alone\n"
            "                 (default model, batch 1, >= %u calls)\n"
            "  train          training step throughput per backend, batch 1 and 256\n"
            "  CAPTURE        raw Binance USD-M capture (default: %s)\n"
            "  --repeat N     timed passes over the capture (default: enough for %u events)\n"
            "  --calls N      timed cscalp_infer calls (default 100000)\n"
            "  --seconds S    time per training case (default 2)\n"
            "  --case NAME    backtest: only feed_only, infer_per_quote or learning\n"
            "Every mode prints one JSON line per case on stdout.\n",
            100000u, CSCALP_SAMPLE_CAPTURE, MIN_EVENTS);
}

/* ------------------------------------------------------------- decoding */

static int append(event_array *a, const void *event)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 1024;
        void *grown = realloc(a->v, cap * a->size);
        if (!grown)
            return -1;
        a->v = grown;
        a->cap = cap;
    }
    memcpy((char *)a->v + a->n * a->size, event, a->size);
    a->n++;
    return 0;
}

static int keep_event(capture_data *d, const bcap_event *ev)
{
    switch (ev->kind) {
    case CSCALP_KIND_QUOTE:
        return append(&d->quotes, &ev->quote);
    case CSCALP_KIND_TRADE:
        return append(&d->trades, &ev->trade);
    case CSCALP_KIND_BOOK:
        return append(&d->books, &ev->book);
    default:
        return 0; /* funding: no case */
    }
}

static int decode(const char *path, capture_data *d)
{
    bcap_options opts;
    bcap_options_init(&opts);
    opts.book_levels = BOOK_LEVELS;
    char err[512];
    bcap_reader *reader = NULL;
    if (bcap_open(&reader, path, &opts, err, sizeof err) != BCAP_OK) {
        fprintf(stderr, "cscalp-bench: %s\n", err);
        return -1;
    }
    bcap_event ev;
    int rc;
    while ((rc = bcap_next(reader, &ev)) == 1) {
        if (keep_event(d, &ev) != 0) {
            rc = BCAP_ENOMEM;
            break;
        }
    }
    if (rc < 0)
        fprintf(stderr, "cscalp-bench: %s: %s\n", path,
                rc == BCAP_ENOMEM ? "out of memory" : bcap_last_error(reader));
    bcap_close(reader);
    return rc < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- timing */

static int64_t *ts_field(const bench_case *c, size_t i)
{
    char *ev = (char *)c->events->v + i * c->events->size;
    /* Every market-data struct starts with int64_t ts_ns. */
    return (int64_t *)(void *)ev;
}

static void shift_time(const bench_case *c, int64_t offset_ns)
{
    for (size_t i = 0; i < c->events->n; i++)
        *ts_field(c, i) += offset_ns;
}

/* The event about to be pushed, copied into a buffer the way a host's
 * decoder writes the struct it then pushes: the engine reads it from cache,
 * as it would live, not from a multi-megabyte array streamed from memory. */
typedef union staged_event {
    cscalp_quote quote;
    cscalp_trade trade;
    cscalp_book book;
} staged_event;

static void stage(const bench_case *c, size_t i, staged_event *out)
{
    memcpy(out, (const char *)c->events->v + i * c->events->size, c->events->size);
}

/* Push the staged event; 1 when it was refused. */
static int push_one(cscalp_engine *e, const bench_case *c, const staged_event *ev)
{
    switch (c->kind) {
    case CSCALP_KIND_QUOTE:
        return cscalp_push_quote(e, &ev->quote) != CSCALP_OK;
    case CSCALP_KIND_TRADE:
        return cscalp_push_trade(e, &ev->trade) != CSCALP_OK;
    default:
        return cscalp_push_book(e, &ev->book) != CSCALP_OK;
    }
}

/* Staging alone, so the mean can leave its cost out. */
static double stage_only_pass(const bench_case *c)
{
    staged_event ev;
    volatile double sink = 0.0;
    const double start = now_ns();
    for (size_t i = 0; i < c->events->n; i++) {
        stage(c, i, &ev);
        sink = sink + (double)ev.quote.ts_ns;
    }
    return now_ns() - start;
}

/* One pass over the data. With `ticks` each push is timed on its own and its
 * timer ticks are appended; without, the pass runs untimed. */
static size_t run_pass(cscalp_engine *e, const bench_case *c, uint64_t *ticks,
                       size_t *n_ticks)
{
    size_t refused = 0;
    staged_event ev;
    for (size_t i = 0; i < c->events->n; i++) {
        stage(c, i, &ev);
        if (ticks) {
            const uint64_t t0 = timer_begin();
            refused += (size_t)push_one(e, c, &ev);
            const uint64_t t1 = timer_end();
            ticks[(*n_ticks)++] = t1 - t0;
        } else {
            refused += (size_t)push_one(e, c, &ev);
        }
    }
    return refused;
}

/* -------------------------------------------------------------- output */

static void print_result(const bench_case *c, const double *sorted, size_t n,
                         double mean_ns, double resolution_ns, const char *source)
{
    printf("{\"bench\":\"feed\",\"case\":\"%s\",", c->name);
    if (n > 0)
        printf("\"ns_per_event_p50\":%.1f,\"ns_per_event_p99\":%.1f,"
               "\"ns_per_event_mean\":%.1f,",
               percentile(sorted, n, 500), percentile(sorted, n, 990), mean_ns);
    else
        printf("\"ns_per_event_p50\":null,\"ns_per_event_p99\":null,"
               "\"ns_per_event_mean\":null,");
    printf("\"events\":%zu,\"timer\":\"%s\",\"timer_resolution_ns\":%.1f,\"source\":", n,
           TIMER_NAME, resolution_ns);
    print_json_string(source);
    printf("}\n");
}

#define FEED_CONFIG "{\"learn\":{\"mode\":\"off\"}}"

/* Run one case on a fresh engine and print its line. */
static int bench_case_run(const bench_case *c, size_t passes, uint64_t overhead,
                          const char *source)
{
    const event_array *a = c->events;
    const size_t total = passes * a->n;
    uint64_t *ticks = malloc((total + 1) * sizeof *ticks);
    double *ns = malloc((total + 1) * sizeof *ns);
    cscalp_engine *engine = NULL;
    /* The push itself: validation, book, features, the risk desk's mark and
     * the decision grid (MANUAL: no policy). Learning is off: a push that
     * takes a decision sample or trains runs the model, whose cost the
     * `infer` and `train` benches measure. */
    int rc = cscalp_open(&engine, FEED_CONFIG);
    if (!ticks || !ns || rc != CSCALP_OK) {
        fprintf(stderr, "cscalp-bench: cannot start case %s: %s\n", c->name,
                rc != CSCALP_OK ? cscalp_strerror(rc) : "out of memory");
        free(ticks);
        free(ns);
        cscalp_close(engine);
        return -1;
    }

    /* Touch the result arrays now, so no page fault lands in the timed passes. */
    memset(ticks, 0, (total + 1) * sizeof *ticks);
    memset(ns, 0, (total + 1) * sizeof *ns);

    size_t n = 0, refused = 0;
    double mean_ns = 0.0, resolution = 0.0;
    if (a->n > 0) {
        const int64_t period = *ts_field(c, a->n - 1) - *ts_field(c, 0) + PASS_GAP_NS;
        run_pass(engine, c, NULL, NULL); /* warm-up: caches, branch predictors */

        /* Distribution: every push timed; ticks -> ns by calibrating the
         * timer against CLOCK_MONOTONIC over these passes. */
        const double wall0 = now_ns();
        const uint64_t tick0 = timer_begin();
        for (size_t p = 0; p < passes; p++) {
            shift_time(c, period);
            refused += run_pass(engine, c, ticks, &n);
        }
        const uint64_t tick1 = timer_end();
        const double ns_per_tick = (now_ns() - wall0) / (double)(tick1 - tick0);
        for (size_t i = 0; i < n; i++)
            ns[i] = ticks[i] > overhead ? (double)(ticks[i] - overhead) * ns_per_tick : 0.0;

        /* Mean: the same passes again, timed only as a whole, less the cost
         * of staging the events. */
        double staging = 0.0;
        for (size_t p = 0; p < passes; p++)
            staging += stage_only_pass(c);
        const double start = now_ns();
        for (size_t p = 0; p < passes; p++) {
            shift_time(c, period);
            refused += run_pass(engine, c, NULL, NULL);
        }
        mean_ns = (now_ns() - start - staging) / (double)total;
        resolution = finest_step(ticks, n) * ns_per_tick;
    }
    if (refused > 0)
        fprintf(stderr, "cscalp-bench: case %s: %zu events refused, e.g. %s\n", c->name,
                refused, cscalp_last_error(engine));

    qsort(ns, n, sizeof *ns, cmp_double);
    print_result(c, ns, n, mean_ns, resolution, source);
    free(ticks);
    free(ns);
    cscalp_close(engine);
    return 0;
}

/* --------------------------------------------------------------- main */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static size_t passes_for(size_t n, size_t repeat)
{
    if (repeat > 0)
        return repeat;
    return n == 0 ? 0 : (MIN_EVENTS + n - 1) / n;
}

/* Returns 0 to run, 1 when help was printed, -1 on a usage error. */
static int parse_args(int argc, char **argv, const char **path, size_t *repeat)
{
    *path = CSCALP_SAMPLE_CAPTURE;
    *repeat = 0;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 1;
    }
    if (argc < 2 || strcmp(argv[1], "feed") != 0) {
        usage(stderr);
        return -1;
    }
    int have_path = 0;
    for (int i = 2; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 1) {
                fprintf(stderr, "cscalp-bench: --repeat needs a positive integer\n");
                return -1;
            }
            *repeat = (size_t)v;
        } else if (argv[i][0] != '-' && !have_path) {
            *path = argv[i];
            have_path = 1;
        } else {
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

/* infer and train: their own options, then an optional capture path. */
static int nn_main(int argc, char **argv)
{
    const int infer = strcmp(argv[1], "infer") == 0;
    const char *path = CSCALP_SAMPLE_CAPTURE;
    size_t calls = 0;
    double seconds = 2.0;
    int backend = -1;
    uint32_t batch = 0;
    int have_path = 0;
    for (int i = 2; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (infer && strcmp(opt, "--calls") == 0 && val) {
            const long v = strtol(val, &end, 10);
            if (*end != '\0' || v < 1)
                goto bad;
            calls = (size_t)v;
            i++;
        } else if (!infer && strcmp(opt, "--seconds") == 0 && val) {
            seconds = strtod(val, &end);
            if (*end != '\0' || !(seconds > 0.0))
                goto bad;
            i++;
        } else if (!infer && strcmp(opt, "--backend") == 0 && val) {
            if (strcmp(val, "cpu") == 0)
                backend = 0;
            else if (strcmp(val, "blas") == 0)
                backend = 1;
            else
                goto bad;
            i++;
        } else if (!infer && strcmp(opt, "--batch") == 0 && val) {
            const long v = strtol(val, &end, 10);
            if (*end != '\0' || (v != 1 && v != 256))
                goto bad;
            batch = (uint32_t)v;
            i++;
        } else if (opt[0] != '-' && !have_path) {
            path = opt;
            have_path = 1;
        } else {
            goto bad;
        }
    }
    return (infer ? bench_infer(path, calls) : bench_train(path, seconds, backend, batch)) == 0
               ? EXIT_SUCCESS
               : EXIT_FAILURE;
bad:
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "infer") == 0 || strcmp(argv[1], "train") == 0))
        return nn_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "backtest") == 0) {
        const char *path = NULL, *only = NULL;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--case") == 0 && i + 1 < argc) {
                only = argv[++i];
            } else if (argv[i][0] != '-' && path == NULL) {
                path = argv[i];
            } else {
                usage(stderr);
                return 2;
            }
        }
        if (path == NULL)
            path = CSCALP_SAMPLE_CAPTURE;
        const int rc = bench_backtest(path, base_name(path), only);
        if (rc == -2)
            fprintf(stderr, "cscalp-bench: --case: feed_only, infer_per_quote or learning\n");
        return rc == 0 ? EXIT_SUCCESS : rc == -2 ? 2 : EXIT_FAILURE;
    }
    const char *path = NULL;
    size_t repeat = 0;
    int parsed = parse_args(argc, argv, &path, &repeat);
    if (parsed != 0)
        return parsed > 0 ? EXIT_SUCCESS : 2;

    capture_data d = {
        .quotes = {.size = sizeof(cscalp_quote)},
        .trades = {.size = sizeof(cscalp_trade)},
        .books = {.size = sizeof(cscalp_book)},
    };
    int status = decode(path, &d) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;

    const bench_case cases[] = {
        {"quote", CSCALP_KIND_QUOTE, &d.quotes},
        {"trade", CSCALP_KIND_TRADE, &d.trades},
        {"book10", CSCALP_KIND_BOOK, &d.books},
    };
    const uint64_t overhead = timer_overhead();
    for (size_t i = 0; status == EXIT_SUCCESS && i < sizeof cases / sizeof cases[0]; i++) {
        size_t passes = passes_for(cases[i].events->n, repeat);
        if (bench_case_run(&cases[i], passes, overhead, base_name(path)) != 0)
            status = EXIT_FAILURE;
    }

    free(d.quotes.v);
    free(d.trades.v);
    free(d.books.v);
    return status;
}
