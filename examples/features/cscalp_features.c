/*
 * cscalp-features — replay a raw Binance USDⓈ-M capture through an engine and
 * write the raw feature vector as CSV after every accepted quote and book.
 *
 *   cscalp-features [--config JSON] [--levels N] [CAPTURE]
 *
 * With no CAPTURE it reads the bundled sample (examples/data). Refused events
 * are counted and summarised on stderr with the reader counters and the
 * engine's stats; they do not change the exit status, which is non-zero only
 * for I/O errors (1) and for bad arguments or configuration (2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binance_capture.h"
#include "cryptoscalp.h"
#include "refusals.h"

#define EXIT_IO 1
#define EXIT_USAGE 2


typedef struct args {
    const char *path;
    const char *config;
    unsigned int levels;
} args;


static void usage(FILE *out)
{
    fprintf(out,
            "usage: cscalp-features [--config JSON] [--levels N] [CAPTURE]\n"
            "\n"
            "Replays a raw Binance USDⓈ-M capture (gzip, `<local time> <json>` lines)\n"
            "through an engine and writes CSV to stdout: ts_ns and every feature,\n"
            "one row per accepted quote or book event.\n"
            "\n"
            "  CAPTURE        capture file (default: %s)\n"
            "  --config JSON  engine configuration (see docs/config.md)\n"
            "  --levels N     levels per side in book events, 1..%d (default %d)\n"
            "  --help         this text\n",
            CSCALP_SAMPLE_CAPTURE, CSCALP_BOOK_MAX_LEVELS, BCAP_DEFAULT_BOOK_LEVELS);
}

static int parse_levels(const char *s, unsigned int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > CSCALP_BOOK_MAX_LEVELS)
        return -1;
    *out = (unsigned int)v;
    return 0;
}

/* Returns 0 to run, 1 when --help was printed, -1 on a usage error. */
static int parse_args(int argc, char **argv, args *a)
{
    a->path = CSCALP_SAMPLE_CAPTURE;
    a->config = NULL;
    a->levels = BCAP_DEFAULT_BOOK_LEVELS;
    int have_path = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(arg, "--config") == 0 && i + 1 < argc) {
            a->config = argv[++i];
        } else if (strcmp(arg, "--levels") == 0 && i + 1 < argc) {
            if (parse_levels(argv[++i], &a->levels) != 0) {
                fprintf(stderr, "cscalp-features: --levels needs 1..%d\n", CSCALP_BOOK_MAX_LEVELS);
                return -1;
            }
        } else if (arg[0] != '-' && !have_path) {
            a->path = arg;
            have_path = 1;
        } else {
            fprintf(stderr, "cscalp-features: unexpected argument '%s'\n", arg);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

static void print_header(const char *const *names, size_t n)
{
    fputs("ts_ns", stdout);
    for (size_t i = 0; i < n; i++)
        printf(",%s", names[i]);
    putchar('\n');
}

/* %.17g: every double printed round-trips exactly. */
static void print_row(int64_t ts_ns, const double *raw, size_t n)
{
    printf("%lld", (long long)ts_ns);
    for (size_t i = 0; i < n; i++)
        printf(",%.17g", raw[i]);
    putchar('\n');
}

static void report_engine_stats(const cscalp_engine *engine)
{
    size_t needed = 0;
    cscalp_stats_json(engine, NULL, 0, &needed);
    char *buf = malloc(needed + 1);
    if (buf && cscalp_stats_json(engine, buf, needed + 1, NULL) == CSCALP_OK)
        fprintf(stderr, "engine stats: %s\n", buf);
    free(buf);
}

/* Feed every event; write a row after each accepted quote and book.
 * Returns 0, or EXIT_IO when the capture cannot be read. */
static int replay(bcap_reader *reader, cscalp_engine *engine, bcap_refusals *refused,
                  double *raw, size_t n_features)
{
    bcap_event ev;
    int rc;
    while ((rc = bcap_next(reader, &ev)) == 1) {
        int pushed = bcap_push(engine, &ev);
        if (pushed != CSCALP_OK) {
            bcap_refusals_note(refused, engine, pushed, ev.kind);
            continue;
        }
        if (ev.kind != CSCALP_KIND_QUOTE && ev.kind != CSCALP_KIND_BOOK)
            continue;
        if (cscalp_features(engine, raw, NULL, n_features, NULL) == CSCALP_OK)
            print_row(bcap_event_ts(&ev), raw, n_features);
    }
    if (rc < 0) {
        fprintf(stderr, "cscalp-features: %s\n", bcap_last_error(reader));
        return EXIT_IO;
    }
    return 0;
}

static int run(const args *a, bcap_reader *reader, cscalp_engine *engine)
{
    size_t n = cscalp_feature_count();
    const char **names = calloc(n, sizeof *names);
    double *raw = calloc(n, sizeof *raw);
    bcap_refusals *refused = calloc(1, sizeof *refused);
    if (!names || !raw || !refused || cscalp_feature_names(names, n, NULL) != CSCALP_OK) {
        fprintf(stderr, "cscalp-features: out of memory\n");
        free(names);
        free(raw);
        free(refused);
        return EXIT_IO;
    }

    print_header(names, n);
    int status = replay(reader, engine, refused, raw, n);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "cscalp-features: error writing the CSV\n");
        status = EXIT_IO;
    }

    fprintf(stderr, "capture %s: ", a->path);
    bcap_print_counters(stderr, bcap_get_counters(reader));
    fputc('\n', stderr);
    bcap_refusals_print(refused, stderr, "");
    report_engine_stats(engine);

    free(names);
    free(raw);
    free(refused);
    return status;
}

int main(int argc, char **argv)
{
    args a;
    int parsed = parse_args(argc, argv, &a);
    if (parsed != 0)
        return parsed > 0 ? EXIT_SUCCESS : EXIT_USAGE;

    bcap_options opts;
    bcap_options_init(&opts);
    opts.book_levels = a.levels;
    char err[512];
    bcap_reader *reader = NULL;
    if (bcap_open(&reader, a.path, &opts, err, sizeof err) != BCAP_OK) {
        fprintf(stderr, "cscalp-features: %s\n", err);
        return EXIT_IO;
    }
    cscalp_engine *engine = NULL;
    int rc = cscalp_open_ex(&engine, a.config, NULL, err, sizeof err);
    if (rc != CSCALP_OK) {
        fprintf(stderr, "cscalp-features: engine: %s: %s\n", cscalp_error_name(rc), err);
        bcap_close(reader);
        return EXIT_USAGE;
    }

    static char out_buf[1 << 16];
    setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    int status = run(&a, reader, engine);

    cscalp_close(engine);
    bcap_close(reader);
    return status;
}
