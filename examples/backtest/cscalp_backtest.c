/*
 * cscalp-backtest — recorded market data through one engine and the
 * simulated venue of cryptoscalp_sim.h: the engine learns inline and
 * trades at autonomy AUTONOMOUS, the venue executes its intents with
 * latency, queues, fees, funding and liquidation, every venue update goes
 * back through cscalp_on_order, and the run ends with a summary.
 *
 *   cscalp-backtest [--config FILE|JSON] [--seed N] [--report FILE]
 *                   [--equity-svg FILE] [--walk-forward TRAIN_S:TEST_S]
 *                   [--levels N] [--max-events N] [FILE...]
 *
 * FILEs: Binance USDⓈ-M captures (gzip), Binance historical depth CSVs
 * (plain or gzip; consecutive snapshot and update files are merged by update
 * id), tardis.dev CSV trades and quotes (gzip; consecutive ones are merged
 * by time), LOBSTER zips, FXCM day zips, event files of --convert
 * (examples/common/sources.h), in order through one engine; the bundled
 * sample by default. The configuration is the engine's (docs/config.md)
 * plus an optional "venue" object (docs/sim.md; keys in usage()). Same
 * input, configuration and seed: byte-identical report.
 *
 * Exit status: 1 I/O error, 2 bad arguments or configuration, 3 the
 * engine and the venue disagree on the position at the end, else 0.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cryptoscalp.h"
#include "cryptoscalp_sim.h"
#include "equity_svg.h"
#include "host_config.h"
#include "paper.h"
#include "sources.h"

#define EXIT_IO 1
#define EXIT_USAGE 2
#define EXIT_DISAGREE 3
#define MAX_FILES 64
#define PROGRESS_EVERY 1000000u
#define NS_PER_S 1000000000LL

/* The run's engine configuration before --config: learning inline, a
 * decision every 250 ms. --config keys win. */
static const char *const base_engine_config =
    "{\"learn\":{\"mode\":\"inline\"},\"policy\":{\"decide_interval_ms\":250}}";

typedef struct args {
    const char *config;
    const char *report;
    const char *svg;
    const char *convert; /* --convert OUT: write the events, run nothing */
    long long seed; /* < 0: not given */
    double train_s, test_s; /* walk-forward; 0: off */
    int64_t md_latency_ns;  /* market data reaches the engine this late; 0: at once */
    unsigned int levels;
    unsigned long long max_events;
    const char *files[MAX_FILES];
    size_t n_files;
} args;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cscalp-backtest [--config FILE|JSON] [--seed N] [--report FILE]\n"
            "                       [--equity-svg FILE] [--walk-forward TRAIN_S:TEST_S]\n"
            "                       [--levels N] [--max-events N] [--md-latency-ms X]\n"
            "                       [--convert OUT] [FILE...]\n"
            "  FILE           Binance USDⓈ-M raw captures (.gz), Binance historical depth\n"
            "                 CSVs (snapshots + updates), tardis.dev trades/quotes CSVs,\n"
            "                 LOBSTER or FXCM zips, --convert event files; told apart by\n"
            "                 content (default: the bundled sample)\n"
            "  --config       engine configuration (docs/config.md) as a file or a JSON\n"
            "                 text, plus an optional \"venue\" object (docs/sim.md):\n"
            HOST_CONFIG_VENUE_KEYS "\n"
            "  --seed N       model.seed (the run is deterministic given it)\n"
            "  --report FILE  the whole report as JSON: run, venue (docs/sim.md), engine\n"
            "                 stats (docs/stats.md), effective configuration\n"
            "  --equity-svg FILE  equity and drawdown chart with the fills marked\n"
            "  --convert OUT  write the FILEs' events to OUT, a compact binary event file\n"
            "                 (examples/common/event_file.h) that replays at memory speed,\n"
            "                 and stop; give OUT as a FILE to later runs\n"
            "  --md-latency-ms X  market data reaches the engine X ms after the venue\n"
            "                 (its events are stamped with the arrival time); default 0\n"
            "  --walk-forward TRAIN_S:TEST_S  learn only (autonomy MANUAL) for TRAIN_S\n"
            "                 seconds of event time, then trade for TEST_S and stop\n"
            "  --levels N     book levels a side from the readers (default 10)\n"
            "  --max-events N stop after N events\n");
}

static int bad_arg(const char *what)
{
    fprintf(stderr, "cscalp-backtest: %s\n(cscalp-backtest --help for usage)\n", what);
    return -1;
}

static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->seed = -1;
    a->levels = 10;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(s, "--config") == 0 && v) {
            a->config = v;
            i++;
        } else if (strcmp(s, "--report") == 0 && v) {
            a->report = v;
            i++;
        } else if (strcmp(s, "--convert") == 0 && v) {
            a->convert = v;
            i++;
        } else if (strcmp(s, "--equity-svg") == 0 && v) {
            a->svg = v;
            i++;
        } else if (strcmp(s, "--seed") == 0 && v) {
            a->seed = strtoll(v, &end, 10);
            if (*end != '\0' || a->seed < 0 || a->seed > 9007199254740991LL)
                return bad_arg("--seed needs an integer in [0, 2^53)");
            i++;
        } else if (strcmp(s, "--md-latency-ms") == 0 && v) {
            const double ms = strtod(v, &end);
            if (*end != '\0' || !(ms >= 0) || ms > 60000)
                return bad_arg("--md-latency-ms needs a number of ms in [0, 60000]");
            a->md_latency_ns = (int64_t)(ms * 1e6 + 0.5);
            i++;
        } else if (strcmp(s, "--walk-forward") == 0 && v) {
            if (sscanf(v, "%lf:%lf", &a->train_s, &a->test_s) != 2 || !(a->train_s > 0) ||
                !(a->test_s > 0) || a->train_s > 1e9 || a->test_s > 1e9)
                return bad_arg("--walk-forward needs TRAIN_S:TEST_S, two positive seconds");
            i++;
        } else if (strcmp(s, "--levels") == 0 && v) {
            const long n = strtol(v, &end, 10);
            if (*end != '\0' || n < 1 || n > CSCALP_BOOK_MAX_LEVELS)
                return bad_arg("--levels needs an integer in 1..50");
            a->levels = (unsigned int)n;
            i++;
        } else if (strcmp(s, "--max-events") == 0 && v) {
            a->max_events = strtoull(v, &end, 10);
            if (*end != '\0' || a->max_events == 0)
                return bad_arg("--max-events needs a positive integer");
            i++;
        } else if (s[0] == '-' && s[1] != '\0') {
            char msg[160];
            snprintf(msg, sizeof msg, "%s: unknown option, or its value is missing", s);
            return bad_arg(msg);
        } else if (a->n_files < MAX_FILES) {
            a->files[a->n_files++] = s;
        } else {
            return bad_arg("more than 64 files");
        }
    }
    if (a->n_files == 0)
        a->files[a->n_files++] = CSCALP_SAMPLE_CAPTURE;
    return 0;
}

/* ------------------------------------------------------------ configuration */

/* The engine's configuration text and the venue's configuration. */
static int build_config(const args *a, char **engine_json, cscalp_sim_venue_config *vc)
{
    switch (host_config_build("cscalp-backtest", base_engine_config, a->config, a->seed,
                              engine_json, vc)) {
    case HOST_CONFIG_OK:
        return 0;
    case HOST_CONFIG_EIO:
        return EXIT_IO;
    default:
        return EXIT_USAGE;
    }
}

/* ------------------------------------------------------------ the run */

typedef struct run {
    const args *a;
    paper_link paper; /* the engine, the venue and the counts between them */
    uint64_t events, refused, venue_refused;
    int64_t first_ns, now_ns, split_ns, stop_ns;
    int started, trading, stopped;
    char *split_stats; /* engine stats when the walk-forward's test period began */
    equity_point *points;
    size_t n_points, cap_points;
    int64_t next_point_ns;
    int pending_trade;
    double wall_start;
    uint64_t next_progress; /* events at which the next progress line is due */
    /* --md-latency-ms: events on their way to the engine, oldest first. */
    bcap_event *late;
    size_t late_head, late_n, late_cap;
} run;

static double wall_s(void)
{
    struct timespec ts;
    return timespec_get(&ts, TIME_UTC) == TIME_UTC ? (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec
                                                   : 0.0;
}

/* The library's JSON writers share one contract (length with a NULL
 * buffer, then the text); this runs it into a malloc'ed string, NULL when
 * out of memory. */
typedef int (*json_fn)(const void *obj, char *buf, size_t cap, size_t *needed);

static char *json_text(json_fn fn, const void *obj)
{
    size_t need = 0;
    fn(obj, NULL, 0, &need);
    char *s = malloc(need + 1);
    if (s && fn(obj, s, need + 1, NULL) != CSCALP_OK) {
        free(s);
        s = NULL;
    }
    return s;
}

static int venue_json(const void *v, char *b, size_t c, size_t *n)
{
    return cscalp_sim_venue_report_json(v, b, c, n);
}
static int stats_json(const void *e, char *b, size_t c, size_t *n)
{
    return cscalp_stats_json(e, b, c, n);
}
static int config_json(const void *e, char *b, size_t c, size_t *n)
{
    return cscalp_config_json(e, b, c, n);
}


static void add_point(run *r, int64_t t)
{
    if (r->n_points == r->cap_points) {
        const size_t cap = r->cap_points ? r->cap_points * 2 : 1024;
        equity_point *p = realloc(r->points, cap * sizeof *p);
        if (p == NULL)
            return; /* the chart loses points; the run goes on */
        r->points = p;
        r->cap_points = cap;
    }
    cscalp_sim_venue_account acc;
    acc.size = sizeof acc;
    cscalp_sim_venue_get_account(r->paper.venue, &acc);
    equity_point *p = &r->points[r->n_points++];
    p->t_s = (double)(t - r->first_ns) / 1e9;
    p->equity = acc.equity;
    p->trade = r->pending_trade;
    r->pending_trade = 0;
}

static void exchange(run *r)
{
    if (paper_exchange(&r->paper, r->now_ns) > 0)
        r->pending_trade = 1; /* its side: from the position, by the caller */
}

static void on_time(run *r, int64_t t)
{
    if (!r->started) {
        r->started = 1;
        r->first_ns = t;
        r->next_point_ns = t;
        if (r->a->train_s > 0) {
            r->split_ns = t + (int64_t)(r->a->train_s * 1e9);
            r->stop_ns = r->split_ns + (int64_t)(r->a->test_s * 1e9);
        } else {
            r->split_ns = t;
            r->stop_ns = INT64_MAX;
        }
    }
    if (!r->trading && t >= r->split_ns) {
        r->trading = 1;
        if (r->a->train_s > 0)
            r->split_stats = json_text(stats_json, r->paper.engine);
        cscalp_set_autonomy(r->paper.engine, CSCALP_AUTONOMY_AUTONOMOUS);
    }
}

static void set_ts(bcap_event *ev, int64_t t)
{
    switch (ev->kind) {
    case CSCALP_KIND_TRADE:
        ev->trade.ts_ns = t;
        break;
    case CSCALP_KIND_QUOTE:
        ev->quote.ts_ns = t;
        break;
    case CSCALP_KIND_BOOK:
        ev->book.ts_ns = t;
        break;
    default:
        ev->funding.ts_ns = t; /* the settlement times are the venue's: unchanged */
        break;
    }
}

/* One event into the engine at time t (its own time, or its arrival with
 * --md-latency-ms), then intents and updates. Returns 0 when refused. */
static int engine_event(run *r, bcap_event *ev, int64_t t)
{
    if (bcap_push(r->paper.engine, ev) != CSCALP_OK) {
        r->refused++; /* counted per reason in the engine's stats */
        return 0;
    }
    on_time(r, t);
    r->now_ns = t;
    r->events++;
    return 1;
}

/* With --md-latency-ms: deliver to the engine every event due by t, each
 * at its arrival time, the venue moved to that time first. */
static void deliver_due(run *r, int64_t t)
{
    while (r->late_n > 0) {
        bcap_event *ev = &r->late[r->late_head];
        const int64_t at = bcap_event_ts(ev);
        if (at > t)
            break;
        cscalp_sim_venue_advance(r->paper.venue, at);
        if (engine_event(r, ev, at))
            exchange(r);
        r->late_head = (r->late_head + 1) % r->late_cap;
        r->late_n--;
    }
}

static int delay(run *r, const bcap_event *ev)
{
    if (r->late_n == r->late_cap) {
        const size_t cap = r->late_cap ? r->late_cap * 2 : 256;
        bcap_event *grown = malloc(cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        for (size_t i = 0; i < r->late_n; i++)
            grown[i] = r->late[(r->late_head + i) % r->late_cap];
        free(r->late);
        r->late = grown;
        r->late_cap = cap;
        r->late_head = 0;
    }
    bcap_event *slot = &r->late[(r->late_head + r->late_n) % r->late_cap];
    *slot = *ev;
    set_ts(slot, bcap_event_ts(ev) + r->a->md_latency_ns);
    r->late_n++;
    return 0;
}

/* The files from `index` on that form one stream: consecutive tardis
 * files (a day's trades and quotes, merged by time) or Binance depth CSVs
 * (snapshots and updates, merged by update id), else one file.
 * *count gets how many. */
static int stream(run *r, size_t index, size_t *count, int *stop)
{
    const args *a = r->a;
    source src;
    char err[512];
    source_kind kind;
    *count = 1;
    int rc = source_detect(a->files[index], &kind, err, sizeof err);
    if (rc != SOURCE_OK) {
        fprintf(stderr, "cscalp-backtest: %s\n", err);
        return rc == SOURCE_EIO ? EXIT_IO : EXIT_USAGE;
    }
    *count = source_group_size(&a->files[index], a->n_files - index, kind);
    if (source_open_group(&src, kind, &a->files[index], *count, a->levels, err, sizeof err) !=
        BCAP_OK) {
        fprintf(stderr, "cscalp-backtest: %s\n", err);
        return EXIT_IO;
    }
    bcap_event ev;
    while (!*stop && (rc = source_next(&src, &ev)) == 1) {
        const int64_t t = bcap_event_ts(&ev);
        if (r->started && t >= r->stop_ns) {
            *stop = 1;
            break;
        }
        if (a->md_latency_ns > 0) {
            /* The venue sees the market now; the engine when it arrives.
             * The venue gets every decoded event (the engine's verdict
             * comes later); the engine gets it stamped with its arrival. */
            deliver_due(r, t);
            if (bcap_push_venue(r->paper.venue, &ev) != CSCALP_OK)
                r->venue_refused++;
            r->now_ns = t > r->now_ns ? t : r->now_ns;
            if (!r->started)
                on_time(r, t);
            if (delay(r, &ev) != 0) {
                fprintf(stderr, "cscalp-backtest: out of memory\n");
                source_close(&src);
                return EXIT_IO;
            }
        } else {
            if (!engine_event(r, &ev, t))
                continue;
            if (bcap_push_venue(r->paper.venue, &ev) != CSCALP_OK)
                r->venue_refused++;
        }
        cscalp_position p0;
        p0.size = sizeof p0;
        cscalp_get_position(r->paper.engine, &p0);
        exchange(r);
        if (r->pending_trade) {
            /* The chart marks buys and sells by how the position moved. */
            cscalp_position p1;
            p1.size = sizeof p1;
            cscalp_get_position(r->paper.engine, &p1);
            r->pending_trade = p1.position > p0.position ? 1 : p1.position < p0.position ? -1 : 0;
        }
        if (t >= r->next_point_ns || r->pending_trade) {
            add_point(r, t);
            if (t >= r->next_point_ns)
                r->next_point_ns = t + 60 * NS_PER_S - (t - r->first_ns) % (60 * NS_PER_S);
        }
        if (r->events >= r->next_progress) {
            r->next_progress += PROGRESS_EVERY;
            const double dt = wall_s() - r->wall_start;
            fprintf(stderr, "cscalp-backtest: %llu events, %.0f events/s\n",
                    (unsigned long long)r->events, dt > 0 ? (double)r->events / dt : 0.0);
        }
        if (a->max_events > 0 && r->events >= a->max_events)
            *stop = 1;
    }
    const int status = rc < 0 ? EXIT_IO : 0;
    if (rc < 0)
        fprintf(stderr, "cscalp-backtest: %s: %s\n", a->files[index], source_error(&src));
    source_close(&src);
    return status;
}

/* ------------------------------------------------------------ convert */

/* Every event of the FILEs (grouped files merged as in a run) into one
 * event file. 0, EXIT_IO or EXIT_USAGE. */
static int convert(const args *a)
{
    char err[512];
    event_writer *w = NULL;
    if (event_writer_open(&w, a->convert, err, sizeof err) != BCAP_OK) {
        fprintf(stderr, "cscalp-backtest: %s\n", err);
        return EXIT_IO;
    }
    uint64_t written = 0;
    int status = 0;
    for (size_t i = 0, used = 1; i < a->n_files && status == 0; i += used) {
        source_kind kind;
        used = 1;
        int rc = source_detect(a->files[i], &kind, err, sizeof err);
        if (rc != SOURCE_OK) {
            fprintf(stderr, "cscalp-backtest: %s\n", err);
            status = rc == SOURCE_EIO ? EXIT_IO : EXIT_USAGE;
            break;
        }
        used = source_group_size(&a->files[i], a->n_files - i, kind);
        source src;
        if (source_open_group(&src, kind, &a->files[i], used, a->levels, err, sizeof err) !=
            BCAP_OK) {
            fprintf(stderr, "cscalp-backtest: %s\n", err);
            status = EXIT_IO;
            break;
        }
        bcap_event ev;
        while ((rc = source_next(&src, &ev)) == 1 && status == 0) {
            if (event_writer_put(w, &ev) != BCAP_OK)
                status = EXIT_IO;
            written++;
        }
        if (rc < 0) {
            fprintf(stderr, "cscalp-backtest: %s: %s\n", a->files[i], source_error(&src));
            status = EXIT_IO;
        }
        source_close(&src);
    }
    if (event_writer_close(w, err, sizeof err) != BCAP_OK && status == 0) {
        fprintf(stderr, "cscalp-backtest: %s: %s\n", a->convert, err);
        status = EXIT_IO;
    }
    if (status == 0)
        printf("cscalp-backtest: %llu events written to %s\n", (unsigned long long)written,
               a->convert);
    return status;
}

/* ------------------------------------------------------------ output */

static double num(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : (double)NAN;
}

/* The report: the run's numbers, then the venue's report, the engine's
 * stats and configuration as the library wrote them (embedded as text, so
 * 64-bit counters and nanosecond times keep every digit). */
static int write_report(const run *r, const char *path, const char *venue_json,
                        const char *stats_json, const char *config_json, int agree)
{
    cJSON *run_o = cJSON_CreateObject();
    cJSON *files = cJSON_AddArrayToObject(run_o, "files");
    for (size_t i = 0; i < r->a->n_files; i++)
        cJSON_AddItemToArray(files, cJSON_CreateString(r->a->files[i]));
    cJSON_AddNumberToObject(run_o, "events", (double)r->events);
    cJSON_AddNumberToObject(run_o, "refused", (double)r->refused);
    cJSON_AddNumberToObject(run_o, "refused_by_venue", (double)r->venue_refused);
    cJSON_AddNumberToObject(run_o, "submit_errors", (double)r->paper.submit_errors);
    cJSON_AddNumberToObject(run_o, "intents_new", (double)r->paper.intents_new);
    cJSON_AddNumberToObject(run_o, "intents_cancel", (double)r->paper.intents_cancel);
    cJSON_AddNumberToObject(run_o, "updates", (double)r->paper.updates);
    cJSON_AddNumberToObject(run_o, "updates_refused_by_engine", (double)r->paper.update_errors);
    cJSON_AddNumberToObject(run_o, "liquidation_resyncs", (double)r->paper.resyncs);
    cJSON_AddBoolToObject(run_o, "positions_agree", agree);
    if (r->a->train_s > 0) {
        cJSON *wf = cJSON_AddObjectToObject(run_o, "walk_forward");
        cJSON_AddNumberToObject(wf, "train_s", r->a->train_s);
        cJSON_AddNumberToObject(wf, "test_s", r->a->test_s);
    }
    char *run_text = cJSON_PrintUnformatted(run_o);
    cJSON_Delete(run_o);
    FILE *f = run_text ? fopen(path, "w") : NULL;
    int ok = f != NULL &&
             fprintf(f, "{\"run\":%s,\"venue\":%s,\"engine\":%s,\"config\":%s", run_text,
                     venue_json, stats_json, config_json) > 0;
    if (ok && r->a->train_s > 0)
        ok = fprintf(f, ",\"engine_at_split\":%s", r->split_stats ? r->split_stats : "null") > 0;
    if (ok)
        ok = fputs("}\n", f) >= 0;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    free(run_text);
    if (!ok)
        fprintf(stderr, "cscalp-backtest: %s: cannot write the report\n", path);
    return ok ? 0 : EXIT_IO;
}

static void summary(const run *r, const cJSON *v, const cJSON *stats, int agree)
{
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(stats, "policy");
    const cJSON *last = policy ? cJSON_GetObjectItemCaseSensitive(policy, "last") : NULL;
    printf("cscalp-backtest: %llu events over %.0f s (%llu refused by the engine)\n",
           (unsigned long long)r->events, num(v, "span_s"), (unsigned long long)r->refused);
    printf("  intents       %llu new, %llu cancel; %llu venue updates (%llu refused by the "
           "engine)\n",
           (unsigned long long)r->paper.intents_new, (unsigned long long)r->paper.intents_cancel,
           (unsigned long long)r->paper.updates, (unsigned long long)r->paper.update_errors);
    printf("  fills         %.0f (%.0f maker, %.0f taker), %.0f rejects, %.0f liquidations\n",
           num(v, "fills"), num(v, "maker_fills"), num(v, "taker_fills"), num(v, "rejects"),
           num(v, "liquidations"));
    printf("  PnL           net %.4f = gross %.4f - fees %.4f - funding %.4f - liquidation "
           "fees %.4f (quote)\n",
           num(v, "net_pnl"), num(v, "gross_pnl"), num(v, "fees"), num(v, "funding"),
           num(v, "liquidation_fees"));
    printf("  return        %.6f%%, Sharpe %.2f, Sortino %.2f (1-minute returns, annualised), "
           "max drawdown %.4f\n",
           100 * num(v, "return"), num(v, "sharpe"), num(v, "sortino"), num(v, "max_drawdown"));
    printf("  round trips   %.0f, win rate %.2f, average holding %.1f s, in the market %.1f%%\n",
           num(v, "round_trips"), num(v, "win_rate"), num(v, "average_holding_s"),
           100 * num(v, "exposure_fraction"));
    if (last)
        printf("  last decision edge %.2f bps (maker) / %.2f bps (taker) after costs, target "
               "%g contracts\n",
               num(last, "edge_maker_bps"), num(last, "edge_taker_bps"), num(last, "target"));
    printf("  positions     engine and venue %s\n", agree ? "agree" : "DISAGREE");
}

int main(int argc, char **argv)
{
    args a;
    const int parsed = parse_args(argc, argv, &a);
    if (parsed != 0)
        return parsed > 0 ? 0 : EXIT_USAGE;
    if (a.convert)
        return convert(&a);
    char *engine_json = NULL;
    cscalp_sim_venue_config vc;
    int status = build_config(&a, &engine_json, &vc);
    if (status != 0)
        return status;
    static run r;
    r.a = &a;
    char err[512];
    if (cscalp_open_ex(&r.paper.engine, engine_json, NULL, err, sizeof err) != CSCALP_OK) {
        fprintf(stderr, "cscalp-backtest: configuration: %s\n", err);
        free(engine_json);
        return EXIT_USAGE;
    }
    free(engine_json);
    if (cscalp_sim_venue_open(&r.paper.venue, &vc, NULL, err, sizeof err) != CSCALP_OK) {
        fprintf(stderr, "cscalp-backtest: venue: %s\n", err);
        cscalp_close(r.paper.engine);
        return EXIT_USAGE;
    }
    r.wall_start = wall_s();
    r.next_progress = PROGRESS_EVERY;
    int stop = 0;
    for (size_t i = 0, used = 0; i < a.n_files && !stop && status == 0; i += used)
        status = stream(&r, i, &used, &stop);
    if (r.started && a.md_latency_ns > 0)
        deliver_due(&r, INT64_MAX);
    if (r.started) {
        /* Let what is in flight land: orders reach the venue, its last
         * updates reach the engine. */
        r.now_ns += vc.order_latency_ns + vc.report_latency_ns;
        cscalp_sim_venue_advance(r.paper.venue, r.now_ns);
        exchange(&r);
        add_point(&r, r.now_ns);
    }

    cscalp_sim_venue_account acc;
    acc.size = sizeof acc;
    cscalp_sim_venue_get_account(r.paper.venue, &acc);
    cscalp_position pos;
    pos.size = sizeof pos;
    cscalp_get_position(r.paper.engine, &pos);
    const int agree = fabs(acc.position - pos.position) < 1e-9;
    char *vj = json_text(venue_json, r.paper.venue);
    char *sj = json_text(stats_json, r.paper.engine);
    char *cj = json_text(config_json, r.paper.engine);
    cJSON *v = vj ? cJSON_Parse(vj) : NULL;
    cJSON *st = sj ? cJSON_Parse(sj) : NULL;
    if (status == 0 && v && st) {
        summary(&r, v, st, agree);
        if (a.report && write_report(&r, a.report, vj, sj, cj ? cj : "{}", agree) != 0)
            status = EXIT_IO;
        if (a.svg && r.n_points >= 2) {
            const equity_svg chart = {"cscalp-backtest: equity and drawdown", r.points,
                                      r.n_points};
            if (equity_svg_write(a.svg, &chart, err, sizeof err) != 0) {
                fprintf(stderr, "cscalp-backtest: %s\n", err);
                status = EXIT_IO;
            }
        }
        if (status == 0 && !agree)
            status = EXIT_DISAGREE;
    }
    const double dt = wall_s() - r.wall_start;
    fprintf(stderr, "cscalp-backtest: %llu events in %.2f s, %.0f events/s\n",
            (unsigned long long)r.events, dt, dt > 0 ? (double)r.events / dt : 0.0);
    cJSON_Delete(v);
    cJSON_Delete(st);
    free(vj);
    free(sj);
    free(cj);
    free(r.split_stats);
    free(r.points);
    free(r.late);
    cscalp_sim_venue_close(r.paper.venue);
    cscalp_close(r.paper.engine);
    return status;
}
