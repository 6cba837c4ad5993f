/*
 * cscalp-bench — benchmarks of libcryptoscalp; prints one JSON line per case.
 *
 *   cscalp-bench feed [--repeat N] [CAPTURE]
 *
 * feed: per-event push latency on real data. The capture is decoded into
 * memory first (not timed). Each case (quote, trade, book10) then pushes its
 * events through a fresh engine in batches of BATCH single pushes; each batch
 * is timed with CLOCK_MONOTONIC and gives one ns/event figure, and the p50
 * and p99 of those figures are reported. One capture holds only thousands of
 * events per kind, so the data is replayed for several passes (after one
 * untimed warm-up pass), shifted in time each pass to keep time monotone.
 * --repeat N sets the number of timed passes; by default it is the fewest
 * that reach MIN_EVENTS.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binance_capture.h"
#include "cryptoscalp.h"

/* Clock reads cost ~20 ns; over 64 pushes that is well under 1 ns/event. */
#define BATCH 64
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
            "\n"
            "  feed           push latency per event (cases quote, trade, book10),\n"
            "                 one JSON line per case on stdout\n"
            "  CAPTURE        raw Binance USDⓈ-M capture (default: %s)\n"
            "  --repeat N     timed passes over the capture (default: enough for %u events)\n",
            CSCALP_SAMPLE_CAPTURE, MIN_EVENTS);
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

static double elapsed_ns(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

/* Push events [i, i + m) of the case; returns how many were refused. */
static size_t push_run(cscalp_engine *e, const bench_case *c, size_t i, size_t m)
{
    size_t refused = 0;
    switch (c->kind) {
    case CSCALP_KIND_QUOTE: {
        const cscalp_quote *q = (const cscalp_quote *)c->events->v + i;
        for (size_t k = 0; k < m; k++)
            refused += cscalp_push_quote(e, &q[k]) != CSCALP_OK;
        break;
    }
    case CSCALP_KIND_TRADE: {
        const cscalp_trade *t = (const cscalp_trade *)c->events->v + i;
        for (size_t k = 0; k < m; k++)
            refused += cscalp_push_trade(e, &t[k]) != CSCALP_OK;
        break;
    }
    default: {
        const cscalp_book *b = (const cscalp_book *)c->events->v + i;
        for (size_t k = 0; k < m; k++)
            refused += cscalp_push_book(e, &b[k]) != CSCALP_OK;
        break;
    }
    }
    return refused;
}

/* One pass over the data; when `figures` is non-NULL each batch's ns/event
 * is appended to it. */
static size_t run_pass(cscalp_engine *e, const bench_case *c, double *figures,
                       size_t *n_figures)
{
    size_t refused = 0;
    for (size_t i = 0; i < c->events->n; i += BATCH) {
        size_t m = c->events->n - i < BATCH ? c->events->n - i : BATCH;
        struct timespec t0;
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        refused += push_run(e, c, i, m);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (figures)
            figures[(*n_figures)++] = elapsed_ns(&t0, &t1) / (double)m;
    }
    return refused;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double percentile(const double *sorted, size_t n, double p)
{
    size_t rank = (size_t)(p * (double)n + 0.999999);
    return sorted[rank > 0 ? rank - 1 : 0];
}

/* -------------------------------------------------------------- output */

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void print_result(const bench_case *c, const double *sorted, size_t n_figures,
                         size_t events, const char *source)
{
    printf("{\"bench\":\"feed\",\"case\":\"%s\",", c->name);
    if (n_figures > 0)
        printf("\"ns_per_event_p50\":%.1f,\"ns_per_event_p99\":%.1f,",
               percentile(sorted, n_figures, 0.50), percentile(sorted, n_figures, 0.99));
    else
        printf("\"ns_per_event_p50\":null,\"ns_per_event_p99\":null,");
    printf("\"events\":%zu,\"source\":", events);
    print_json_string(source);
    printf("}\n");
}

/* Run one case on a fresh engine and print its line. */
static int bench_case_run(const bench_case *c, size_t passes, const char *source)
{
    const event_array *a = c->events;
    size_t batches_per_pass = (a->n + BATCH - 1) / BATCH;
    double *figures = malloc((passes * batches_per_pass + 1) * sizeof *figures);
    cscalp_engine *engine = NULL;
    int rc = cscalp_open(&engine, NULL);
    if (!figures || rc != CSCALP_OK) {
        fprintf(stderr, "cscalp-bench: cannot start case %s: %s\n", c->name,
                figures ? cscalp_strerror(rc) : "out of memory");
        free(figures);
        cscalp_close(engine);
        return -1;
    }

    size_t n_figures = 0;
    size_t refused = 0;
    if (a->n > 0) {
        int64_t period = *ts_field(c, a->n - 1) - *ts_field(c, 0) + PASS_GAP_NS;
        run_pass(engine, c, NULL, NULL); /* warm-up: caches, branch predictors */
        for (size_t p = 0; p < passes; p++) {
            shift_time(c, period);
            refused += run_pass(engine, c, figures, &n_figures);
        }
    }
    if (refused > 0)
        fprintf(stderr, "cscalp-bench: case %s: %zu events refused, e.g. %s\n", c->name,
                refused, cscalp_last_error(engine));

    qsort(figures, n_figures, sizeof *figures, cmp_double);
    print_result(c, figures, n_figures, passes * a->n, source);
    free(figures);
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

int main(int argc, char **argv)
{
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
    for (size_t i = 0; status == EXIT_SUCCESS && i < sizeof cases / sizeof cases[0]; i++) {
        size_t passes = passes_for(cases[i].events->n, repeat);
        if (bench_case_run(&cases[i], passes, base_name(path)) != 0)
            status = EXIT_FAILURE;
    }

    free(d.quotes.v);
    free(d.trades.v);
    free(d.books.v);
    return status;
}
