/*
 * cscalp-learn — stream recorded market data through one engine, learning
 * inline, and report how every model scored prequentially (each decision
 * sample scored when its label matures, on the prediction made at the
 * sample's time, before any model learns from it: docs/learning.md).
 *
 *   cscalp-learn [--config JSON]... [--horizon-events H] [--summary-json]
 *                [--levels N] [--max-events N] [FILE...]
 *
 * FILEs are Binance captures (gzip), LOBSTER zips or FXCM day zips, told
 * apart by their contents; all of them go through ONE engine in the order
 * given. Refused events are counted per error and skipped. stdout gets the
 * engine's final cscalp_stats_json, or with --summary-json one compact JSON
 * object (fields in usage()); stderr gets progress and the reader counters.
 * Exit status: 1 for an I/O error, 2 for bad arguments or configuration,
 * else 0.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binance_capture.h"
#include "cryptoscalp.h"
#include "refusals.h"
#include "sources.h"

#define EXIT_IO 1
#define EXIT_USAGE 2

/* Error codes are small negatives; this bounds the refusal table. */
#define ERR_BYTES 1024
#define MAX_CONFIGS 16
/* learn.horizon_events' range (docs/config.md). */
#define MAX_HORIZON_EVENTS 1000000u
/* In --summary-json mode the cumulative scores are read every this many
 * accepted quotes and books. With one sample per event the start of the
 * "last 30 %" block lands within this many matured samples of the 70 % point
 * (its exact start is reported). */
#define SNAPSHOT_EVERY_EVENTS 64
#define PROGRESS_EVERY_EVENTS 200000
/* Share of the matured samples in the "last_30pct" block. */
#define LAST_SHARE 0.3
/* Label classes: down, flat, up. */
#define CLASSES 3

enum { M_NETWORK, M_CHALLENGER, M_FALLBACK, M_PRIOR, M_COUNT };
static const char *const model_names[M_COUNT] = {"network", "challenger", "fallback", "prior"};

typedef struct args {
    const char *configs[MAX_CONFIGS];
    size_t n_configs;
    unsigned long horizon_events; /* 0: not given */
    int summary;
    unsigned int levels;
    unsigned long long max_events; /* 0: no limit */
    const char *const *files;
    size_t n_files;
} args;

/* ------------------------------------------------------------ arguments */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cscalp-learn [--config JSON]... [--horizon-events H] [--summary-json]\n"
            "                    [--levels N] [--max-events N] [FILE...]\n"
            "\n"
            "Streams market data through one engine learning inline (learn.mode\n"
            "\"inline\": deterministic) and reports the prequential scores of its models:\n"
            "every decision sample is scored when its label matures, on the prediction\n"
            "each model made at the sample's time, before any model learns from it.\n"
            "\n"
            "  FILE              Binance capture (gzip), LOBSTER zip or FXCM day zip,\n"
            "                    recognised by content; several go through ONE engine\n"
            "                    in the order given (FXCM days: in date order)\n"
            "                    (default: %s)\n"
            "  --horizon-events H  events as the clock, 1..%u: adds\n"
            "                    {\"learn\":{\"horizon_events\":H,\"sample_every_events\":1}}\n"
            "                    = a decision sample after every counted event (accepted\n"
            "                    quote or book: the events that set the mid; trades and\n"
            "                    funding do not count), labelled by the mid H counted\n"
            "                    events later. Without it the engine's time clock is used\n"
            "                    (learn.horizon_ms, learn.sample_interval_ms)\n"
            "  --config JSON     engine configuration patch (docs/config.md), merged\n"
            "                    after --horizon-events, so its keys win; may be repeated\n"
            "                    (later patches win). learn.mode must stay \"inline\"\n"
            "  --summary-json    print one compact JSON object instead of the full stats:\n"
            "                    files, events (pushed, accepted by kind, counted, refused\n"
            "                    by error), horizon, samples, labels, training (steps,\n"
            "                    promotions, rollbacks), cumulative log_loss, accuracy,\n"
            "                    macro_f1 and samples per model, and \"last_30pct\": the\n"
            "                    same over the last 30%% of matured samples, from the\n"
            "                    difference of two snapshots of the cumulative scores\n"
            "                    (loss sums and confusion matrices)\n"
            "  --levels N        book levels per side from Binance and LOBSTER readers,\n"
            "                    1..%d (default %d)\n"
            "  --max-events N    stop after N events read (all files together)\n"
            "  --help            this text\n"
            "\n"
            "Exit status: 1 on an I/O error, 2 on bad arguments or configuration, else 0\n"
            "(refused events are counted, not fatal).\n",
            CSCALP_SAMPLE_CAPTURE, MAX_HORIZON_EVENTS, CSCALP_BOOK_MAX_LEVELS,
            BCAP_DEFAULT_BOOK_LEVELS);
}

/* A decimal integer in [lo, hi], nothing else (no sign, no blanks). */
static int parse_uint(const char *s, unsigned long long lo, unsigned long long hi,
                      unsigned long long *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int bad_arg(const char *what)
{
    fprintf(stderr, "cscalp-learn: %s\n", what);
    fprintf(stderr, "(cscalp-learn --help for usage)\n");
    return -1;
}

/* Returns 0 to run, 1 when --help was printed, -1 on a usage error. */
static int parse_args(int argc, char **argv, args *a)
{
    static const char *const default_files[] = {CSCALP_SAMPLE_CAPTURE};
    memset(a, 0, sizeof *a);
    a->levels = BCAP_DEFAULT_BOOK_LEVELS;
    int first_file = 0;
    char msg[ERR_BYTES];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const int has_value = i + 1 < argc;
        unsigned long long v = 0;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(arg, "--summary-json") == 0) {
            a->summary = 1;
        } else if (strcmp(arg, "--config") == 0) {
            if (!has_value)
                return bad_arg("--config needs a JSON object");
            if (a->n_configs == MAX_CONFIGS)
                return bad_arg("--config given more than 16 times");
            a->configs[a->n_configs++] = argv[++i];
        } else if (strcmp(arg, "--horizon-events") == 0) {
            if (!has_value || parse_uint(argv[++i], 1, MAX_HORIZON_EVENTS, &v) != 0) {
                snprintf(msg, sizeof msg, "--horizon-events needs an integer in 1..%u%s%s%s",
                         MAX_HORIZON_EVENTS, has_value ? ", got '" : "",
                         has_value ? argv[i] : "", has_value ? "'" : "");
                return bad_arg(msg);
            }
            a->horizon_events = (unsigned long)v;
        } else if (strcmp(arg, "--levels") == 0) {
            if (!has_value || parse_uint(argv[++i], 1, CSCALP_BOOK_MAX_LEVELS, &v) != 0) {
                snprintf(msg, sizeof msg, "--levels needs an integer in 1..%d%s%s%s",
                         CSCALP_BOOK_MAX_LEVELS, has_value ? ", got '" : "",
                         has_value ? argv[i] : "", has_value ? "'" : "");
                return bad_arg(msg);
            }
            a->levels = (unsigned int)v;
        } else if (strcmp(arg, "--max-events") == 0) {
            if (!has_value || parse_uint(argv[++i], 1, UINT64_MAX, &v) != 0) {
                snprintf(msg, sizeof msg, "--max-events needs a positive integer%s%s%s",
                         has_value ? ", got '" : "", has_value ? argv[i] : "",
                         has_value ? "'" : "");
                return bad_arg(msg);
            }
            a->max_events = v;
        } else if (strcmp(arg, "--") == 0) {
            first_file = i + 1;
            break;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            snprintf(msg, sizeof msg, "unknown option '%s'", arg);
            return bad_arg(msg);
        } else {
            first_file = i;
            break;
        }
    }
    if (first_file > 0) {
        /* Options go before the files: one after them is a mistake, unless
         * "--" said that every argument after it is a file. */
        const int after_dashdash = strcmp(argv[first_file - 1], "--") == 0;
        for (int i = first_file; i < argc && !after_dashdash; i++) {
            if (argv[i][0] == '-' && argv[i][1] != '\0') {
                snprintf(msg, sizeof msg, "option '%s' after the files (options go first)",
                         argv[i]);
                return bad_arg(msg);
            }
        }
        a->files = (const char *const *)(argv + first_file);
        a->n_files = (size_t)(argc - first_file);
    }
    if (a->n_files == 0) {
        a->files = default_files;
        a->n_files = 1;
    }
    return 0;
}

/* ------------------------------------------------------------ configuration */

/* Numbers as the engine will read them: it parses with cJSON and uses the
 * double, so printing the double exactly (integral values as integers, the
 * rest as the shortest %.*g that round-trips) changes nothing. cJSON's own
 * printer is not used for numbers: it accepts a 15-digit form within one
 * rounding error, which would alter e.g. a 16-digit model.seed. */
static int print_number(char *out, size_t cap, double v)
{
    if (v == floor(v) && fabs(v) <= 9007199254740992.0)
        return snprintf(out, cap, "%.0f", v);
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return n;
}

typedef struct text {
    char *p;
    size_t n, cap;
    int failed;
} text;

static void text_put(text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = '\0';
}

static void text_puts(text *t, const char *s) { text_put(t, s, strlen(s)); }

/* Print a JSON tree compactly; strings, booleans and null through cJSON. */
static void print_tree(text *t, const cJSON *node)
{
    if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
        const int object = cJSON_IsObject(node);
        text_puts(t, object ? "{" : "[");
        for (const cJSON *c = node->child; c; c = c->next) {
            if (c != node->child)
                text_puts(t, ",");
            if (object) {
                cJSON *key = cJSON_CreateString(c->string);
                char *k = key ? cJSON_PrintUnformatted(key) : NULL;
                if (!k)
                    t->failed = 1;
                else
                    text_puts(t, k);
                cJSON_free(k);
                cJSON_Delete(key);
                text_puts(t, ":");
            }
            print_tree(t, c);
        }
        text_puts(t, object ? "}" : "]");
    } else if (cJSON_IsNumber(node) && !isfinite(node->valuedouble)) {
        text_puts(t, "null");
    } else if (cJSON_IsNumber(node)) {
        char num[40];
        print_number(num, sizeof num, node->valuedouble);
        text_puts(t, num);
    } else {
        char *s = cJSON_PrintUnformatted(node);
        if (!s)
            t->failed = 1;
        else
            text_puts(t, s);
        cJSON_free(s);
    }
}

/* A key twice in one object: the engine refuses that, and a merge would
 * silently keep one of them, so refuse it here too. */
static const char *duplicate_key(const cJSON *obj)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        for (const cJSON *d = obj->child; d != c; d = d->next)
            if (strcmp(c->string, d->string) == 0)
                return c->string;
        if (cJSON_IsObject(c)) {
            const char *dup = duplicate_key(c);
            if (dup)
                return dup;
        }
    }
    return NULL;
}

/* Deep merge: objects merge key by key, anything else replaces. Returns 0,
 * or -1 when out of memory. */
static int merge_into(cJSON *dst, const cJSON *patch)
{
    for (const cJSON *c = patch->child; c; c = c->next) {
        cJSON *have = cJSON_GetObjectItemCaseSensitive(dst, c->string);
        if (have && cJSON_IsObject(have) && cJSON_IsObject(c)) {
            if (merge_into(have, c) != 0)
                return -1;
            continue;
        }
        cJSON *copy = cJSON_Duplicate(c, 1);
        if (!copy)
            return -1;
        if (have) {
            if (!cJSON_ReplaceItemInObjectCaseSensitive(dst, c->string, copy)) {
                cJSON_Delete(copy);
                return -1;
            }
        } else if (!cJSON_AddItemToObject(dst, c->string, copy)) {
            cJSON_Delete(copy);
            return -1;
        }
    }
    return 0;
}

/* The engine configuration: --horizon-events' keys, then every --config
 * patch merged in order. *out is malloc'd (NULL for the defaults). Returns
 * 0, EXIT_USAGE with a message, or EXIT_IO when out of memory. */
static int build_config(const args *a, char **out)
{
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return EXIT_IO;
    int status = 0;
    if (a->horizon_events > 0) {
        cJSON *learn = cJSON_AddObjectToObject(root, "learn");
        if (!learn || !cJSON_AddNumberToObject(learn, "horizon_events", (double)a->horizon_events) ||
            !cJSON_AddNumberToObject(learn, "sample_every_events", 1))
            status = EXIT_IO;
    }
    for (size_t i = 0; i < a->n_configs && status == 0; i++) {
        cJSON *patch = cJSON_Parse(a->configs[i]);
        const char *dup = patch ? duplicate_key(patch) : NULL;
        if (!patch) {
            fprintf(stderr, "cscalp-learn: --config '%s': malformed JSON\n", a->configs[i]);
            status = EXIT_USAGE;
        } else if (!cJSON_IsObject(patch)) {
            fprintf(stderr, "cscalp-learn: --config '%s': not a JSON object\n", a->configs[i]);
            status = EXIT_USAGE;
        } else if (dup) {
            fprintf(stderr, "cscalp-learn: --config '%s': key '%s' given twice\n", a->configs[i],
                    dup);
            status = EXIT_USAGE;
        } else if (merge_into(root, patch) != 0) {
            status = EXIT_IO;
        }
        cJSON_Delete(patch);
    }
    if (status == 0 && root->child) {
        text t = {0};
        print_tree(&t, root);
        if (t.failed) {
            free(t.p);
            status = EXIT_IO;
        } else {
            *out = t.p;
        }
    }
    if (status == EXIT_IO)
        fprintf(stderr, "cscalp-learn: out of memory\n");
    cJSON_Delete(root);
    return status;
}

/* ------------------------------------------------------------ sources */

/* source_detect with this program's messages and exit codes: 0, EXIT_IO
 * or EXIT_USAGE. */
static int detect_source(const char *path, source_kind *kind)
{
    char err[ERR_BYTES];
    const int rc = source_detect(path, kind, err, sizeof err);
    if (rc != SOURCE_OK)
        fprintf(stderr, "cscalp-learn: %s\n", err);
    return rc == SOURCE_OK ? 0 : rc == SOURCE_EIO ? EXIT_IO : EXIT_USAGE;
}

/* ------------------------------------------------------------ engine */


/* Grows *buf as needed; returns the stats text, or NULL when out of memory. */
static const char *stats_text(const cscalp_engine *engine, char **buf, size_t *cap)
{
    size_t needed = 0;
    /* With no buffer yet the call only measures (and returns CSCALP_OK). */
    if (cscalp_stats_json(engine, *buf, *cap, &needed) == CSCALP_OK && *buf != NULL)
        return *buf;
    char *p = realloc(*buf, needed + 1024);
    if (!p)
        return NULL;
    *buf = p;
    *cap = needed + 1024;
    return cscalp_stats_json(engine, *buf, *cap, NULL) == CSCALP_OK ? *buf : NULL;
}

/* Config text of the running engine (malloc'd), or NULL. */
static char *config_text(const cscalp_engine *engine)
{
    size_t needed = 0;
    cscalp_config_json(engine, NULL, 0, &needed);
    char *buf = malloc(needed + 1);
    if (buf && cscalp_config_json(engine, buf, needed + 1, NULL) != CSCALP_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static const cJSON *at(const cJSON *node, const char *a, const char *b, const char *c)
{
    node = cJSON_GetObjectItemCaseSensitive(node, a);
    if (b)
        node = cJSON_GetObjectItemCaseSensitive(node, b);
    if (c)
        node = cJSON_GetObjectItemCaseSensitive(node, c);
    return node;
}

static double num_at(const cJSON *node, const char *a, const char *b, const char *c)
{
    const cJSON *n = at(node, a, b, c);
    return cJSON_IsNumber(n) ? n->valuedouble : (double)NAN;
}

/* ------------------------------------------------------------ snapshots */

/* What the cumulative scores of one model determine exactly: the count, the
 * loss sum (count × mean; the means round-trip, so this is the engine's sum
 * to rounding), the correct predictions (count × accuracy, an integer) and,
 * where the stats give it, the confusion matrix [true][predicted]. */
typedef struct tally {
    uint64_t samples;
    double loss_sum;
    uint64_t correct;
    uint64_t confusion[CLASSES][CLASSES];
} tally;

typedef struct snapshot {
    uint64_t events; /* events read when it was taken */
    uint64_t matured;
    int has_confusion;
    tally m[M_COUNT];
} snapshot;

/* Reads a 3 × 3 array of counts; returns 0, or -1 when absent or not one. */
static int read_confusion(const cJSON *node, uint64_t out[CLASSES][CLASSES])
{
    if (!cJSON_IsArray(node) || cJSON_GetArraySize(node) != CLASSES)
        return -1;
    for (int t = 0; t < CLASSES; t++) {
        const cJSON *row = cJSON_GetArrayItem(node, t);
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != CLASSES)
            return -1;
        for (int p = 0; p < CLASSES; p++) {
            const cJSON *c = cJSON_GetArrayItem(row, p);
            if (!cJSON_IsNumber(c) || !(c->valuedouble >= 0))
                return -1;
            out[t][p] = (uint64_t)c->valuedouble;
        }
    }
    return 0;
}

/* Returns 0, or -1 when the stats lack a field this program relies on. */
static int snapshot_from(const cJSON *stats, uint64_t events, snapshot *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *learn = cJSON_GetObjectItemCaseSensitive(stats, "learn");
    const double matured = num_at(learn, "samples", "matured", NULL);
    if (!isfinite(matured))
        return -1;
    out->events = events;
    out->matured = (uint64_t)matured;
    out->has_confusion = 1;
    const cJSON *scores = cJSON_GetObjectItemCaseSensitive(learn, "scores");
    for (int m = 0; m < M_COUNT; m++) {
        const cJSON *cum = at(scores, model_names[m], "cumulative", NULL);
        const double n = num_at(cum, "samples", NULL, NULL);
        if (!isfinite(n))
            return -1;
        tally *t = &out->m[m];
        t->samples = (uint64_t)n;
        if (read_confusion(cJSON_GetObjectItemCaseSensitive(cum, "confusion"), t->confusion) != 0)
            out->has_confusion = 0;
        if (n == 0)
            continue;
        const double loss = num_at(cum, "log_loss", NULL, NULL);
        const double acc = num_at(cum, "accuracy", NULL, NULL);
        if (!isfinite(loss) || !isfinite(acc))
            return -1;
        t->loss_sum = n * loss;
        t->correct = (uint64_t)llround(n * acc);
    }
    return 0;
}

/* Macro-F1 of a confusion matrix as docs/learning.md defines it (the mean
 * F1 over the classes that occur as true or predicted labels); NaN when
 * empty. */
static double macro_f1(uint64_t c[CLASSES][CLASSES])
{
    double sum = 0;
    int present = 0;
    for (int k = 0; k < CLASSES; k++) {
        uint64_t fn = 0, fp = 0;
        for (int j = 0; j < CLASSES; j++) {
            if (j != k) {
                fn += c[k][j];
                fp += c[j][k];
            }
        }
        const uint64_t tp = c[k][k];
        if (tp + fn + fp == 0)
            continue;
        present++;
        sum += 2.0 * (double)tp / (2.0 * (double)tp + (double)fp + (double)fn);
    }
    return present ? sum / present : (double)NAN;
}

typedef struct snapshots {
    snapshot *s;
    size_t n, cap;
} snapshots;

static int snapshots_add(snapshots *v, const snapshot *s)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 1024;
        snapshot *p = realloc(v->s, cap * sizeof *p);
        if (!p)
            return -1;
        v->s = p;
        v->cap = cap;
    }
    v->s[v->n++] = *s;
    return 0;
}

/* ------------------------------------------------------------ the run */


typedef struct run_state {
    const args *a;
    cscalp_engine *engine;
    source_kind *kinds;
    uint64_t read;                        /* events read and pushed */
    uint64_t accepted[CSCALP_KIND_COUNT];
    uint64_t counted;                     /* accepted quotes and books */
    uint64_t refused;
    bcap_refusals *refusals;
    snapshots snaps;
    char *stats_buf;
    size_t stats_cap;
    double t0;
} run_state;

static double now_s(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
        return 0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Returns 0, EXIT_IO when the stats cannot be read. */
static int take_snapshot(run_state *st)
{
    const char *json = stats_text(st->engine, &st->stats_buf, &st->stats_cap);
    cJSON *stats = json ? cJSON_Parse(json) : NULL;
    snapshot s;
    int rc = stats && snapshot_from(stats, st->read, &s) == 0 && snapshots_add(&st->snaps, &s) == 0
                 ? 0
                 : EXIT_IO;
    cJSON_Delete(stats);
    if (rc != 0)
        fprintf(stderr, "cscalp-learn: cannot read the engine's learn scores "
                        "(out of memory, or learn.mode is not \"inline\")\n");
    return rc;
}

static void progress(const run_state *st)
{
    fprintf(stderr, "cscalp-learn: %llu events read, %llu refused", (unsigned long long)st->read,
            (unsigned long long)st->refused);
    if (st->snaps.n > 0)
        fprintf(stderr, ", %llu samples matured",
                (unsigned long long)st->snaps.s[st->snaps.n - 1].matured);
    fprintf(stderr, ", %.1f s\n", now_s() - st->t0);
}

/* One file through the engine. Returns 0, or EXIT_IO. *stop is set when
 * --max-events is reached. */
static int stream_file(run_state *st, size_t index, int *stop)
{
    const args *a = st->a;
    const char *path = a->files[index];
    source src;
    char err[ERR_BYTES];
    if (source_open(&src, st->kinds[index], path, a->levels, err, sizeof err) != BCAP_OK) {
        fprintf(stderr, "cscalp-learn: %s\n", err);
        return EXIT_IO;
    }
    fprintf(stderr, "cscalp-learn: %s (%s)\n", path, source_kind_name(src.kind));
    bcap_event ev;
    int rc = 0;
    int status = 0;
    while (!*stop && (rc = source_next(&src, &ev)) == 1) {
        st->read++;
        const int pushed = bcap_push(st->engine, &ev);
        if (pushed != CSCALP_OK) {
            st->refused++;
            bcap_refusals_note(st->refusals, st->engine, pushed, ev.kind);
        } else {
            st->accepted[ev.kind]++;
            if (ev.kind == CSCALP_KIND_QUOTE || ev.kind == CSCALP_KIND_BOOK) {
                st->counted++;
                if (a->summary && st->counted % SNAPSHOT_EVERY_EVENTS == 0 &&
                    (status = take_snapshot(st)) != 0)
                    break;
            }
        }
        if (st->read % PROGRESS_EVERY_EVENTS == 0)
            progress(st);
        if (a->max_events > 0 && st->read >= a->max_events)
            *stop = 1;
    }
    if (rc < 0) {
        fprintf(stderr, "cscalp-learn: %s\n", source_error(&src));
        status = EXIT_IO;
    }
    fprintf(stderr, "cscalp-learn: %s: ", path);
    source_print_counters(&src, stderr);
    fputc('\n', stderr);
    source_close(&src);
    return status;
}

/* ------------------------------------------------------------ summary */

/* Printed by print_tree: every number exact, NaN (no samples) as null. */
static void add_metrics(cJSON *obj, const cJSON *cum)
{
    static const char *const keys[] = {"samples", "log_loss", "accuracy", "macro_f1"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cJSON_AddNumberToObject(obj, keys[i], num_at(cum, keys[i], NULL, NULL));
}

static void copy_numbers(cJSON *dst, const char *name, const cJSON *src,
                         const char *const *keys, size_t n)
{
    cJSON *obj = cJSON_AddObjectToObject(dst, name);
    for (size_t i = 0; i < n; i++)
        cJSON_AddNumberToObject(obj, keys[i], num_at(src, keys[i], NULL, NULL));
}

/* The last ~30 % of matured samples: from the latest snapshot at or below
 * 70 % of the final matured count to the end. Log-loss is the difference of
 * the loss sums; accuracy and macro-F1 come from the difference of the
 * confusion matrices. Stats without confusion matrices give accuracy (from
 * the counts of correct predictions) but no macro-F1, which is not a
 * difference of means: it is then left out, and the block says why. */
static void add_last_share(cJSON *root, const snapshots *v)
{
    const snapshot *end = &v->s[v->n - 1];
    const double target = (1.0 - LAST_SHARE) * (double)end->matured;
    const snapshot *from = &v->s[0];
    for (size_t i = 0; i < v->n && (double)v->s[i].matured <= target; i++)
        from = &v->s[i];
    const int have_f1 = from->has_confusion && end->has_confusion;
    cJSON *blk = cJSON_AddObjectToObject(root, "last_30pct");
    cJSON_AddNumberToObject(blk, "from_event", (double)from->events);
    cJSON_AddNumberToObject(blk, "from_matured", (double)from->matured);
    cJSON_AddNumberToObject(blk, "to_matured", (double)end->matured);
    cJSON_AddNumberToObject(blk, "share",
                            end->matured ? (double)(end->matured - from->matured) /
                                               (double)end->matured
                                         : (double)NAN);
    for (int m = 0; m < M_COUNT; m++) {
        const tally *a = &from->m[m], *b = &end->m[m];
        const uint64_t n = b->samples - a->samples;
        uint64_t diff[CLASSES][CLASSES];
        uint64_t correct = b->correct - a->correct;
        if (have_f1) {
            correct = 0;
            for (int t = 0; t < CLASSES; t++)
                for (int p = 0; p < CLASSES; p++)
                    diff[t][p] = b->confusion[t][p] - a->confusion[t][p];
            for (int k = 0; k < CLASSES; k++)
                correct += diff[k][k];
        }
        cJSON *o = cJSON_AddObjectToObject(blk, model_names[m]);
        cJSON_AddNumberToObject(o, "samples", (double)n);
        cJSON_AddNumberToObject(o, "log_loss",
                                n ? (b->loss_sum - a->loss_sum) / (double)n : (double)NAN);
        cJSON_AddNumberToObject(o, "accuracy", n ? (double)correct / (double)n : (double)NAN);
        if (have_f1)
            cJSON_AddNumberToObject(o, "macro_f1", n ? macro_f1(diff) : (double)NAN);
    }
    if (!have_f1)
        cJSON_AddStringToObject(blk, "macro_f1",
                                "not derivable: these stats give no confusion matrix");
}

static int print_summary(const run_state *st, const cJSON *stats, const cJSON *config)
{
    const args *a = st->a;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return EXIT_IO;
    cJSON *files = cJSON_AddArrayToObject(root, "files");
    for (size_t i = 0; i < a->n_files; i++)
        cJSON_AddItemToArray(files, cJSON_CreateString(a->files[i]));

    const cJSON *lc = cJSON_GetObjectItemCaseSensitive(config, "learn");
    cJSON *horizon = cJSON_AddObjectToObject(root, "horizon");
    const double h_events = num_at(lc, "horizon_events", NULL, NULL);
    const double every = num_at(lc, "sample_every_events", NULL, NULL);
    if (h_events > 0)
        cJSON_AddNumberToObject(horizon, "events", h_events);
    else
        cJSON_AddNumberToObject(horizon, "ms", num_at(lc, "horizon_ms", NULL, NULL));
    if (every > 0)
        cJSON_AddNumberToObject(horizon, "sample_every_events", every);
    else
        cJSON_AddNumberToObject(horizon, "sample_interval_ms",
                                num_at(lc, "sample_interval_ms", NULL, NULL));
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(lc, "label");
    const cJSON *band = cJSON_GetObjectItemCaseSensitive(lc, "band");
    cJSON_AddStringToObject(horizon, "label", cJSON_IsString(label) ? label->valuestring : "?");
    cJSON_AddStringToObject(horizon, "band", cJSON_IsString(band) ? band->valuestring : "?");

    cJSON *events = cJSON_AddObjectToObject(root, "events");
    cJSON_AddNumberToObject(events, "pushed", (double)st->read);
    cJSON *acc = cJSON_AddObjectToObject(events, "accepted");
    for (int k = 0; k < CSCALP_KIND_COUNT; k++)
        cJSON_AddNumberToObject(acc, bcap_kind_name(k), (double)st->accepted[k]);
    cJSON_AddNumberToObject(events, "counted", (double)st->counted);
    cJSON *ref = cJSON_AddObjectToObject(events, "refused");
    cJSON_AddNumberToObject(ref, "total", (double)st->refused);
    for (int slot = 0; slot < BCAP_REFUSAL_CODES; slot++) {
        const uint64_t n = bcap_refusals_of(st->refusals, slot);
        if (n > 0)
            cJSON_AddNumberToObject(ref, bcap_refusal_name(slot), (double)n);
    }

    const cJSON *learn = cJSON_GetObjectItemCaseSensitive(stats, "learn");
    static const char *const sample_keys[] = {"taken", "matured", "unlabelled", "skipped_warmup",
                                              "dropped"};
    static const char *const label_keys[] = {"down", "flat", "up"};
    static const char *const training_keys[] = {"steps", "promotions", "rollbacks",
                                                "model_version", "fallback_engaged",
                                                "fallback_released"};
    copy_numbers(root, "samples", cJSON_GetObjectItemCaseSensitive(learn, "samples"), sample_keys,
                 sizeof sample_keys / sizeof sample_keys[0]);
    copy_numbers(root, "labels", cJSON_GetObjectItemCaseSensitive(learn, "labels"), label_keys,
                 sizeof label_keys / sizeof label_keys[0]);
    copy_numbers(root, "training", cJSON_GetObjectItemCaseSensitive(learn, "training"),
                 training_keys, sizeof training_keys / sizeof training_keys[0]);
    const cJSON *serving = cJSON_GetObjectItemCaseSensitive(learn, "serving");
    cJSON_AddStringToObject(root, "serving",
                            cJSON_IsString(serving) ? serving->valuestring : "?");

    cJSON *cum = cJSON_AddObjectToObject(root, "cumulative");
    const cJSON *scores = cJSON_GetObjectItemCaseSensitive(learn, "scores");
    for (int m = 0; m < M_COUNT; m++)
        add_metrics(cJSON_AddObjectToObject(cum, model_names[m]),
                    at(scores, model_names[m], "cumulative", NULL));
    add_last_share(root, &st->snaps);

    text out = {0};
    print_tree(&out, root);
    cJSON_Delete(root);
    if (out.failed) {
        free(out.p);
        return EXIT_IO;
    }
    puts(out.p);
    free(out.p);
    return 0;
}

/* The effective config must run the learner inline: the scores are what
 * this program is for, and only inline learning is deterministic. */
static int check_mode(const cJSON *config)
{
    const cJSON *mode = at(config, "learn", "mode", NULL);
    if (cJSON_IsString(mode) && strcmp(mode->valuestring, "inline") == 0)
        return 0;
    fprintf(stderr, "cscalp-learn: --config: learn.mode must be \"inline\", got %s\n",
            cJSON_IsString(mode) ? mode->valuestring : "?");
    return EXIT_USAGE;
}

static int finish(run_state *st)
{
    char *cfg_text = config_text(st->engine);
    cJSON *config = cfg_text ? cJSON_Parse(cfg_text) : NULL;
    const char *json = stats_text(st->engine, &st->stats_buf, &st->stats_cap);
    cJSON *stats = json && st->a->summary ? cJSON_Parse(json) : NULL;
    int status = 0;
    if (!json || !config || (st->a->summary && !stats)) {
        fprintf(stderr, "cscalp-learn: out of memory\n");
        status = EXIT_IO;
    } else if (st->a->summary) {
        snapshot last;
        status = snapshot_from(stats, st->read, &last) == 0 &&
                         snapshots_add(&st->snaps, &last) == 0
                     ? print_summary(st, stats, config)
                     : EXIT_IO;
    } else {
        puts(json);
    }
    if (status == 0 && (fflush(stdout) != 0 || ferror(stdout))) {
        fprintf(stderr, "cscalp-learn: error writing stdout\n");
        status = EXIT_IO;
    }
    cJSON_Delete(stats);
    cJSON_Delete(config);
    free(cfg_text);
    return status;
}

static int run(run_state *st)
{
    const args *a = st->a;
    char *cfg_text = config_text(st->engine);
    cJSON *config = cfg_text ? cJSON_Parse(cfg_text) : NULL;
    int status = config ? check_mode(config) : EXIT_IO;
    cJSON_Delete(config);
    free(cfg_text);
    if (status == 0 && a->summary) {
        snapshot zero;
        memset(&zero, 0, sizeof zero);
        zero.has_confusion = 1; /* all zeros: exact */
        status = snapshots_add(&st->snaps, &zero) == 0 ? 0 : EXIT_IO;
    }
    int stop = 0;
    for (size_t i = 0; i < a->n_files && status == 0 && !stop; i++)
        status = stream_file(st, i, &stop);
    if (status == 0)
        status = finish(st);
    bcap_refusals_print(st->refusals, stderr, "cscalp-learn: ");
    fprintf(stderr, "cscalp-learn: done: %llu events read, %llu accepted quotes and books, "
                    "%llu refused, %.1f s\n",
            (unsigned long long)st->read, (unsigned long long)st->counted,
            (unsigned long long)st->refused, now_s() - st->t0);
    return status;
}

int main(int argc, char **argv)
{
    args a;
    int parsed = parse_args(argc, argv, &a);
    if (parsed != 0)
        return parsed > 0 ? EXIT_SUCCESS : EXIT_USAGE;

    /* Every file is recognised before the first event is pushed, so a typo
     * in the last of several files costs nothing. */
    source_kind *kinds = calloc(a.n_files, sizeof *kinds);
    if (!kinds) {
        fprintf(stderr, "cscalp-learn: out of memory\n");
        return EXIT_IO;
    }
    for (size_t i = 0; i < a.n_files; i++) {
        int rc = detect_source(a.files[i], &kinds[i]);
        if (rc != 0) {
            free(kinds);
            return rc;
        }
    }

    char *config = NULL;
    int status = build_config(&a, &config);
    if (status != 0) {
        free(kinds);
        return status;
    }
    cscalp_engine *engine = NULL;
    char err[ERR_BYTES];
    int rc = cscalp_open_ex(&engine, config, NULL, err, sizeof err);
    if (rc != CSCALP_OK) {
        fprintf(stderr, "cscalp-learn: --config: %s: %s\n", cscalp_error_name(rc), err);
        free(config);
        free(kinds);
        return rc == CSCALP_ENOMEM ? EXIT_IO : EXIT_USAGE;
    }
    fprintf(stderr, "cscalp-learn: config %s\n", config ? config : "{}");

    run_state st;
    memset(&st, 0, sizeof st);
    st.a = &a;
    st.engine = engine;
    st.kinds = kinds;
    st.refusals = calloc(1, sizeof *st.refusals);
    st.t0 = now_s();
    status = st.refusals ? run(&st) : EXIT_IO;

    free(st.snaps.s);
    free(st.stats_buf);
    free(st.refusals);
    cscalp_close(engine);
    free(config);
    free(kinds);
    return status;
}
