/*
 * cscalp-live — the reference live host: how a trading engine embeds
 * libcryptoscalp. Read it top to bottom; every call the library needs from
 * a host is here, in the order a host makes it.
 *
 *   cscalp-live --connect HOST:PORT [--config FILE|JSON] [--checkpoint PATH]
 *               [--checkpoint-every-s S] [--intents-out FILE|-]
 *               [--updates-in FILE|-] [--health-log FILE] [--autonomy LEVEL]
 *               [--tick-ms MS] [--reconnect-min-ms MS] [--reconnect-max-ms MS]
 *               [--duration-s S] [--levels N]
 *
 * Market data: a TCP stream of Binance USDⓈ-M capture lines
 * ("<local time> <json>\n", as cscalp-replay-server sends them, or a relay
 * of the exchange's websocket). The book is rebuilt from snapshots and
 * diffs (examples/common/binance_capture.h). Every event is stamped with
 * this host's receive clock, as a production host does: the engine's time
 * is the host's, never the sender's (a relay's times cannot go backwards
 * across a reconnect; ours cannot either).
 *
 * Orders: by default a paper venue (the simulated venue of
 * cryptoscalp_sim.h, fed the same market data) executes the intents and its
 * updates go back through cscalp_on_order. With --intents-out the intents
 * are written as JSON lines for a real router instead, and --updates-in
 * reads the router's order updates as JSON lines (docs/live.md).
 *
 * Around that: learning in learn.mode "async" (the learner thread trains
 * while this thread serves); cscalp_tick from a libuv timer, so time moves
 * when the market is quiet; reconnection with exponential back-off; while
 * the feed is down the engine is held at autonomy MANUAL (its working
 * orders are cancelled, no new entries) and put back when data flows again;
 * checkpoints every --checkpoint-every-s and on SIGINT/SIGTERM, and a start
 * resumes from the checkpoint when one exists; every health event, the
 * engine's and the host's own, is one JSON line in the health log.
 *
 * Exit status: 0 after SIGINT, SIGTERM or --duration-s; 1 an I/O error
 * (the checkpoint at exit could not be written, an output failed);
 * 2 bad arguments or configuration.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "binance_capture.h"
#include "cryptoscalp.h"
#include "cryptoscalp_sim.h"
#include "host_config.h"
#include "paper.h"

#define EXIT_IO 1
#define EXIT_USAGE 2
#define BATCH 64
#define FEED_LINE_MAX ((size_t)8 << 20)   /* a REST snapshot of 1000 levels is ~50 KB */
#define UPDATE_LINE_MAX ((size_t)64 << 10)
#define READ_CHUNK (64 * 1024)

/* The host's starting configuration: learning on the learner thread, a
 * decision every 250 ms. --config keys win. */
static const char *const base_engine_config =
    "{\"learn\":{\"mode\":\"async\"},\"policy\":{\"decide_interval_ms\":250}}";

typedef struct args {
    const char *host;
    int port;
    const char *config;
    const char *checkpoint;
    double checkpoint_every_s;
    const char *intents_out; /* NULL: paper venue */
    const char *updates_in;
    const char *health_log;
    const char *stats_out;
    int autonomy; /* < 0: the default of the mode */
    unsigned int tick_ms;
    unsigned int reconnect_min_ms, reconnect_max_ms;
    unsigned int feed_timeout_ms; /* 0: no silence watchdog */
    double duration_s; /* 0: until a signal */
    unsigned int levels;
} args;

/* Lines assembled from a byte stream. */
typedef struct line_buf {
    char *buf;
    size_t len, cap, max;
    int overlong; /* the line being read passed `max`: dropped when it ends */
    uint64_t dropped;
} line_buf;

typedef struct host {
    const args *a;
    uv_loop_t *loop;
    uv_tcp_t tcp;
    uv_connect_t connect_req;
    uv_timer_t tick_timer, checkpoint_timer, reconnect_timer, stop_timer, silence_timer;
    uv_signal_t sigint, sigterm;
    uv_pipe_t updates_pipe;
    int tcp_open, updates_open, stopping;
    struct sockaddr_in addr;
    char read_chunk[READ_CHUNK];

    paper_link link; /* the engine; the paper venue (NULL with a router); counts */
    bcap_reader *feed;
    line_buf feed_lines, update_lines;
    FILE *intents_out, *health_log;

    /* The host clock: CLOCK_REALTIME read once, moved on by the monotonic
     * uv_hrtime, so it never runs backwards. */
    int64_t clock_base_ns;
    uint64_t hrtime_base;

    int wanted_autonomy;   /* the level this host trades at */
    int depth_seen;        /* a book event came once: after an outage, wait for the book */
    int connected;         /* the TCP connection is established */
    int64_t drain_ns;      /* paper venue: order + report latency, and 1 ms */
    int64_t down_since_ns; /* when the feed went down (or the host started); 0 while
                              data flows */
    uint64_t backoff_ms, rng;

    uint64_t lines, events, refused, venue_refused;
    uint64_t connects, connect_failures, disconnects, recoveries, checkpoints,
        checkpoint_failures;
    int resumed;
    int status;
} host;

/* ------------------------------------------------------------ the clock */

static int64_t host_now_ns(const host *h)
{
    return h->clock_base_ns + (int64_t)(uv_hrtime() - h->hrtime_base);
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------ health log */

static const char *severity_name(int s)
{
    static const char *const names[] = {"info", "warning", "error", "critical"};
    return s >= 0 && s < 4 ? names[s] : "unknown";
}

static const char *component_name(int c)
{
    static const char *const names[] = {"engine", "feed",   "features", "model",
                                        "learner", "regime", "policy",   "risk",
                                        "supervisor", "persist"};
    return c >= 0 && c < 10 ? names[c] : "unknown";
}

static const char *action_name(int a)
{
    static const char *const names[] = {"none",    "rejected", "applied", "clamped", "rolled_back",
                                        "switched", "dropped", "halted",  "degraded"};
    return a >= 0 && a < 9 ? names[a] : "unknown";
}

static void json_string(FILE *f, const char *s)
{
    cJSON *str = cJSON_CreateString(s ? s : "");
    char *text = str ? cJSON_PrintUnformatted(str) : NULL;
    fputs(text ? text : "\"\"", f);
    free(text);
    cJSON_Delete(str);
}

/* The library's health events: called inside the API call that raised
 * them, on this thread. */
static void on_health(const cscalp_health_event *e, void *user)
{
    host *h = user;
    fprintf(h->health_log,
            "{\"wall_ns\":%" PRId64 ",\"ts_ns\":%" PRId64
            ",\"source\":\"engine\",\"severity\":\"%s\",\"component\":\"%s\",\"event\":%d,"
            "\"error\":\"%s\",\"action\":\"%s\",\"message\":",
            wall_ns(), e->ts_ns, severity_name(e->severity), component_name(e->component),
            (int)e->event, e->error ? cscalp_error_name(e->error) : "", action_name(e->action));
    json_string(h->health_log, e->message);
    fputs("}\n", h->health_log);
    fflush(h->health_log);
}

/* The host's own events (connection, checkpoints, resume), in the same
 * log; `event` is a name, not a library code. */
static void host_event(host *h, const char *severity, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void host_event(host *h, const char *severity, const char *event, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(h->health_log,
            "{\"wall_ns\":%" PRId64 ",\"ts_ns\":%" PRId64
            ",\"source\":\"host\",\"severity\":\"%s\",\"event\":\"%s\",\"message\":",
            wall_ns(), host_now_ns(h), severity, event);
    json_string(h->health_log, msg);
    fputs("}\n", h->health_log);
    fflush(h->health_log);
}

/* ------------------------------------------------------------ orders */

static const char *side_name(int side)
{
    return side == CSCALP_SIDE_BUY ? "buy" : "sell";
}

static const char *type_name(int type)
{
    return type == CSCALP_ORDER_POST_ONLY ? "post_only"
           : type == CSCALP_ORDER_MARKET  ? "market"
                                          : "limit";
}

static const char *tif_name(int tif)
{
    return tif == CSCALP_TIF_IOC ? "ioc" : tif == CSCALP_TIF_GTX ? "gtx" : "gtc";
}

static void write_intent(host *h, const cscalp_intent *it)
{
    if (it->kind == CSCALP_INTENT_CANCEL) {
        fprintf(h->intents_out,
                "{\"kind\":\"cancel\",\"client_id\":%" PRIu64 ",\"ts_ns\":%" PRId64
                ",\"reason\":%d}\n",
                it->client_id, it->ts_ns, (int)it->reason);
    } else {
        fprintf(h->intents_out,
                "{\"kind\":\"new\",\"client_id\":%" PRIu64 ",\"ts_ns\":%" PRId64
                ",\"side\":\"%s\",\"type\":\"%s\",\"time_in_force\":\"%s\",\"price\":%.17g,"
                "\"quantity\":%.17g,\"reduce_only\":%s,\"needs_confirmation\":%s,\"reason\":%d,"
                "\"edge_bps\":%.6g}\n",
                it->client_id, it->ts_ns, side_name(it->side), type_name(it->type),
                tif_name(it->time_in_force), it->price, it->quantity,
                (it->flags & CSCALP_INTENT_REDUCE_ONLY) ? "true" : "false",
                (it->flags & CSCALP_INTENT_NEEDS_CONFIRMATION) ? "true" : "false",
                (int)it->reason, it->edge_bps);
    }
    if (fflush(h->intents_out) != 0 && h->status == 0) {
        host_event(h, "error", "intents_out_failed", "%s", strerror(errno));
        h->status = EXIT_IO;
    }
}

/* After every call that can queue intents: to the paper venue and its
 * updates back (examples/common/paper.h), or out to the router. */
static void exchange_at(host *h, int64_t now)
{
    if (h->link.venue) {
        paper_exchange(&h->link, now);
        return;
    }
    for (;;) {
        cscalp_intent its[BATCH];
        its[0].size = sizeof its[0];
        const int n = cscalp_poll_intents(h->link.engine, its, BATCH);
        for (int i = 0; i < n; i++) {
            if (its[i].kind == CSCALP_INTENT_NEW)
                h->link.intents_new++;
            else
                h->link.intents_cancel++;
            write_intent(h, &its[i]);
        }
        if (n < BATCH)
            return;
    }
}

static void exchange(host *h)
{
    exchange_at(h, host_now_ns(h));
}

/* ------------------------------------------------------------ checkpoints */

/* The engine's statistics into --stats, replaced whole (write, rename). */
static void write_stats(host *h)
{
    if (h->a->stats_out == NULL)
        return;
    size_t need = 0;
    cscalp_stats_json(h->link.engine, NULL, 0, &need);
    char *buf = malloc(need + 1);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", h->a->stats_out);
    FILE *f = buf && cscalp_stats_json(h->link.engine, buf, need + 1, NULL) == CSCALP_OK
                  ? fopen(tmp, "w")
                  : NULL;
    int ok = f != NULL && fputs(buf, f) >= 0 && fputc('\n', f) != EOF;
    if (f)
        ok = (fclose(f) == 0) && ok;
    ok = ok && rename(tmp, h->a->stats_out) == 0;
    if (!ok)
        host_event(h, "warning", "stats_failed", "--stats %s: %s", h->a->stats_out,
                   strerror(errno));
    free(buf);
}

static int checkpoint(host *h, const char *why)
{
    write_stats(h);
    if (h->a->checkpoint == NULL)
        return 0;
    const uint64_t t0 = uv_hrtime();
    if (cscalp_save(h->link.engine, h->a->checkpoint) != CSCALP_OK) {
        /* The engine raised CHECKPOINT_FAILED too; the previous checkpoint
         * is still in place (cscalp_save replaces it atomically). */
        h->checkpoint_failures++;
        host_event(h, "error", "checkpoint_failed", "%s (%s): %s", h->a->checkpoint, why,
                   cscalp_last_error(h->link.engine));
        return -1;
    }
    h->checkpoints++;
    host_event(h, "info", "checkpoint_saved", "%s (%s) in %.1f ms", h->a->checkpoint, why,
               (double)(uv_hrtime() - t0) / 1e6);
    return 0;
}

/* After a resume: the orders the checkpoint's engine holds working
 * (cscalp_get_orders). A paper venue starts empty and flat, so each is
 * closed — CANCELLED when the venue had acknowledged it, REJECTED when it
 * never had — and the position is set flat; a router gets a "resume" line
 * listing them with the engine's position, and answers with their updates
 * and, after reconciling, a "position" line. */
static void settle_resumed_orders(host *h)
{
    cscalp_working_order wo[64];
    wo[0].size = sizeof wo[0];
    const int n = cscalp_get_orders(h->link.engine, wo, 64);
    const int listed = n < 64 ? n : 64;
    cscalp_position p;
    p.size = sizeof p;
    cscalp_get_position(h->link.engine, &p);
    if (h->link.venue) {
        for (int i = 0; i < listed; i++) {
            cscalp_order_update u;
            memset(&u, 0, sizeof u);
            u.size = sizeof u;
            u.type = wo[i].acked ? CSCALP_UPDATE_CANCELLED : CSCALP_UPDATE_REJECTED;
            u.client_id = wo[i].client_id;
            u.ts_ns = host_now_ns(h);
            u.text = "the paper venue restarted";
            paper_apply(&h->link, &u);
        }
        if (p.position != 0.0)
            cscalp_set_position(h->link.engine, 0.0, 0.0);
    } else {
        fprintf(h->intents_out, "{\"kind\":\"resume\",\"position\":%.17g,\"entry_price\":%.17g,"
                                "\"working\":[",
                p.position, p.entry_price);
        for (int i = 0; i < listed; i++)
            fprintf(h->intents_out,
                    "%s{\"client_id\":%" PRIu64 ",\"side\":\"%s\",\"status\":%d,"
                    "\"price\":%.17g,\"quantity\":%.17g,\"filled\":%.17g,\"acked\":%s}",
                    i ? "," : "", wo[i].client_id, side_name(wo[i].side), (int)wo[i].status,
                    wo[i].price, wo[i].quantity, wo[i].filled, wo[i].acked ? "true" : "false");
        fputs("]}\n", h->intents_out);
        fflush(h->intents_out);
    }
    const int left = cscalp_get_orders(h->link.engine, NULL, 0);
    host_event(h, h->link.venue && left != 0 ? "error" : "info", "orders_settled",
               "%d orders working at the checkpoint; %s; %d working now", n,
               h->link.venue ? "closed, position set flat (a new paper account)"
                        : "listed for the router to report",
               left);
}

/* ------------------------------------------------------------ market data */

/* Data flows again after an outage: trading resumes at the host's level. */
static void feed_recovered(host *h)
{
    h->backoff_ms = h->a->reconnect_min_ms;
    const double outage_ms = (double)(host_now_ns(h) - h->down_since_ns) / 1e6;
    const int first = h->connects == 1 && h->disconnects == 0;
    h->down_since_ns = 0;
    if (!first)
        h->recoveries++;
    const int rc = cscalp_set_autonomy(h->link.engine, h->wanted_autonomy);
    /* A refusal (the kill switch is tripped: an operator re-arms it) leaves
     * the engine at MANUAL; the engine's own event says why. */
    host_event(h, rc == CSCALP_OK ? "info" : "error", first ? "feed_started" : "feed_recovered",
               "data flows %s %.0f ms; autonomy %d %s", first ? "after" : "again after",
               outage_ms, h->wanted_autonomy,
               rc == CSCALP_OK ? "set" : cscalp_error_name(rc)); /* the caller exchanges next */
}

static void stop_host(host *h, const char *why);

static void on_feed_line(host *h, const char *line, size_t len)
{
    if (h->stopping)
        return;
    h->lines++;
    bcap_event ev;
    const int rc = bcap_feed_line(h->feed, line, len, &ev);
    if (rc < 0) {
        /* Only out of memory gets here (bad lines are counted and skipped):
         * nothing to trade on, so stop with a checkpoint. */
        host_event(h, "error", "feed_reader_failed", "%s", bcap_last_error(h->feed));
        h->status = EXIT_IO;
        stop_host(h, "the feed reader failed");
        return;
    }
    if (rc == 0)
        return; /* no event: another kind, a diff while out of sync, or a bad line (counted) */
    const int64_t now = host_now_ns(h);
    bcap_event_shift(&ev, now - bcap_event_ts(&ev)); /* the host's clock, settlement along */
    if (bcap_push(h->link.engine, &ev) != CSCALP_OK) {
        h->refused++; /* counted per reason and reported by the engine */
        return;
    }
    h->events++;
    if (h->link.venue && bcap_push_venue(h->link.venue, &ev) != CSCALP_OK)
        h->venue_refused++;
    if (ev.kind == CSCALP_KIND_BOOK)
        h->depth_seen = 1;
    /* Trading resumes on the first event, or, once the stream has carried
     * depth, when the book is rebuilt (not on a stale pre-outage book). */
    if (h->down_since_ns != 0 && (!h->depth_seen || bcap_book_in_sync(h->feed)))
        feed_recovered(h);
    exchange(h);
}

/* Append bytes; `on_line` for each complete line (without its '\n'). A
 * line longer than the buffer's max is dropped whole and counted. */
static int line_buf_feed(line_buf *b, const char *data, size_t n, host *h,
                         void (*on_line)(host *, const char *, size_t))
{
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(data + i, '\n', n - i);
        const size_t take = (nl ? (size_t)(nl - (data + i)) : n - i);
        if (!b->overlong) {
            if (b->len + take > b->max) {
                b->overlong = 1;
                b->len = 0;
            } else {
                if (b->len + take + 1 > b->cap) {
                    size_t cap = b->cap ? b->cap : 4096;
                    while (cap < b->len + take + 1)
                        cap *= 2;
                    char *grown = realloc(b->buf, cap);
                    if (grown == NULL)
                        return -1;
                    b->buf = grown;
                    b->cap = cap;
                }
                memcpy(b->buf + b->len, data + i, take);
                b->len += take;
            }
        }
        i += take;
        if (nl) {
            if (b->overlong)
                b->dropped++;
            else
                on_line(h, b->buf, b->len);
            b->len = 0;
            b->overlong = 0;
            i++;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ connection */

static void schedule_reconnect(host *h);
static void start_connect(host *h);

static void alloc_chunk(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    host *h = handle->data;
    *buf = uv_buf_init(h->read_chunk, sizeof h->read_chunk);
}

static void on_tcp_closed(uv_handle_t *handle)
{
    host *h = handle->data;
    h->tcp_open = 0;
    if (!h->stopping)
        schedule_reconnect(h);
}

/* The connection is gone: no data means no trading until it is back. */
static void feed_down(host *h, const char *why)
{
    if (h->down_since_ns == 0)
        h->down_since_ns = host_now_ns(h);
    h->disconnects++;
    bcap_stream_broken(h->feed);
    h->feed_lines.len = 0; /* a half line from the old connection is no line */
    h->feed_lines.overlong = 0;
    const int was = cscalp_get_autonomy(h->link.engine);
    if (was > CSCALP_AUTONOMY_MANUAL)
        cscalp_set_autonomy(h->link.engine, CSCALP_AUTONOMY_MANUAL); /* cancels working orders */
    host_event(h, "warning", "feed_disconnected",
               "%s; book cleared until the next snapshot, autonomy %d -> MANUAL until data flows",
               why, was);
    exchange(h);
}

/* End the connection (a reconnect follows when the handle is closed). */
static void drop_connection(host *h, const char *why)
{
    h->connected = 0;
    uv_timer_stop(&h->silence_timer);
    uv_read_stop((uv_stream_t *)&h->tcp);
    feed_down(h, why);
    if (!uv_is_closing((uv_handle_t *)&h->tcp))
        uv_close((uv_handle_t *)&h->tcp, on_tcp_closed);
}

/* A connection that stays open with nothing on it (a stalled relay, a
 * half-open socket) is as dead as a closed one. */
static void on_silence(uv_timer_t *t)
{
    host *h = t->data;
    if (!h->connected || h->stopping)
        return;
    char why[96];
    snprintf(why, sizeof why, "no data for %u ms", h->a->feed_timeout_ms);
    drop_connection(h, why);
}

static void watch_silence(host *h)
{
    if (h->a->feed_timeout_ms > 0)
        uv_timer_start(&h->silence_timer, on_silence, h->a->feed_timeout_ms, 0);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    host *h = stream->data;
    if (nread > 0) {
        watch_silence(h);
        if (line_buf_feed(&h->feed_lines, buf->base, (size_t)nread, h, on_feed_line) != 0) {
            host_event(h, "error", "out_of_memory", "assembling a market-data line");
            h->status = EXIT_IO;
            stop_host(h, "out of memory");
        }
        return;
    }
    if (nread == 0)
        return; /* EAGAIN */
    drop_connection(h, nread == UV_EOF ? "the server closed the connection"
                                       : uv_strerror((int)nread));
}

static void on_connect(uv_connect_t *req, int status)
{
    host *h = req->data;
    if (h->stopping) {
        if (!uv_is_closing((uv_handle_t *)&h->tcp))
            uv_close((uv_handle_t *)&h->tcp, on_tcp_closed);
        return;
    }
    if (status < 0) {
        h->connect_failures++;
        host_event(h, "warning", "connect_failed", "%s:%d: %s", h->a->host, h->a->port,
                   uv_strerror(status));
        uv_close((uv_handle_t *)&h->tcp, on_tcp_closed);
        return;
    }
    h->connects++;
    h->connected = 1;
    host_event(h, "info", "connected", "%s:%d (connection %" PRIu64 ")", h->a->host, h->a->port,
               h->connects);
    uv_tcp_keepalive(&h->tcp, 1, 30); /* the kernel notices a peer that vanished */
    watch_silence(h);
    uv_read_start((uv_stream_t *)&h->tcp, alloc_chunk, on_read);
}

static void start_connect(host *h)
{
    uv_tcp_init(h->loop, &h->tcp);
    h->tcp.data = h;
    h->tcp_open = 1;
    h->connect_req.data = h;
    uv_tcp_nodelay(&h->tcp, 1);
    const int rc = uv_tcp_connect(&h->connect_req, &h->tcp, (const struct sockaddr *)&h->addr,
                                  on_connect);
    if (rc != 0) {
        h->connect_failures++;
        host_event(h, "warning", "connect_failed", "%s:%d: %s", h->a->host, h->a->port,
                   uv_strerror(rc));
        uv_close((uv_handle_t *)&h->tcp, on_tcp_closed);
    }
}

static void on_reconnect_timer(uv_timer_t *t)
{
    host *h = t->data;
    if (!h->stopping)
        start_connect(h);
}

/* Exponential back-off with jitter (so a fleet of hosts does not reconnect
 * in step): the delay doubles up to --reconnect-max-ms and is drawn in
 * [delay/2, delay]; it starts again from --reconnect-min-ms once data flows. */
static void schedule_reconnect(host *h)
{
    h->rng = h->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t half = h->backoff_ms / 2;
    const uint64_t delay = half + (half ? (h->rng >> 33) % (half + 1) : 0);
    uv_timer_start(&h->reconnect_timer, on_reconnect_timer, delay, 0);
    host_event(h, "info", "reconnect_scheduled", "in %" PRIu64 " ms", delay);
    h->backoff_ms = h->backoff_ms * 2 > h->a->reconnect_max_ms ? h->a->reconnect_max_ms
                                                               : h->backoff_ms * 2;
}

/* ------------------------------------------------------------ router updates */

static int update_type_of(const char *s)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {{"ack", CSCALP_UPDATE_ACK},
                 {"rejected", CSCALP_UPDATE_REJECTED},
                 {"fill", CSCALP_UPDATE_FILL},
                 {"cancelled", CSCALP_UPDATE_CANCELLED},
                 {"expired", CSCALP_UPDATE_EXPIRED}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(s, types[i].name) == 0)
            return types[i].type;
    return 0;
}

static double number_or(const cJSON *o, const char *key, double otherwise)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : otherwise;
}

/* One line from the router: an order update, or {"type":"position",...}
 * after it reconciled with the exchange. A bad line names its field in the
 * health log and changes nothing. */
static void on_update_line(host *h, const char *line, size_t len)
{
    if (len == 0)
        return;
    cJSON *o = cJSON_ParseWithLength(line, len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    const char *bad = NULL;
    if (!cJSON_IsObject(o))
        bad = "not a JSON object";
    else if (!cJSON_IsString(type))
        bad = "type: missing";
    else if (strcmp(type->valuestring, "position") == 0) {
        const double pos = number_or(o, "position", NAN), entry = number_or(o, "entry_price", 0);
        if (!isfinite(pos))
            bad = "position: missing or not a number";
        else if (cscalp_set_position(h->link.engine, pos, entry) != CSCALP_OK)
            bad = cscalp_last_error(h->link.engine);
    } else if (update_type_of(type->valuestring) == 0) {
        bad = "type: not ack, rejected, fill, cancelled, expired or position";
    } else {
        const double id = number_or(o, "client_id", -1);
        if (!(id >= 1 && id <= 9007199254740992.0)) {
            bad = "client_id: missing or not a positive integer";
        } else {
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text");
            const cJSON *liq = cJSON_GetObjectItemCaseSensitive(o, "liquidity");
            cscalp_order_update u;
            memset(&u, 0, sizeof u);
            u.size = sizeof u;
            u.type = update_type_of(type->valuestring);
            u.client_id = (uint64_t)id;
            u.ts_ns = (int64_t)number_or(o, "ts_ns", (double)host_now_ns(h));
            u.fill_id = (uint64_t)number_or(o, "fill_id", 0);
            u.fill_price = number_or(o, "fill_price", 0);
            u.fill_quantity = number_or(o, "fill_quantity", 0);
            u.fee = number_or(o, "fee", 0);
            u.liquidity = cJSON_IsString(liq) ? (strcmp(liq->valuestring, "maker") == 0   ? 1
                                                 : strcmp(liq->valuestring, "taker") == 0 ? 2
                                                                                          : 0)
                                              : 0;
            u.text = cJSON_IsString(text) ? text->valuestring : NULL;
            paper_apply(&h->link, &u); /* a refusal names its field in the engine's event */
        }
    }
    if (bad) {
        h->link.update_errors++;
        size_t cut = len > 120 ? 120 : len;
        while (cut > 0 && cut < len && ((unsigned char)line[cut] & 0xC0) == 0x80)
            cut--; /* not inside a UTF-8 character: the log stays valid JSON text */
        host_event(h, "warning", "update_refused", "--updates-in line %.*s: %s", (int)cut, line,
                   bad);
    }
    cJSON_Delete(o);
    exchange(h);
}

static void on_updates_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    host *h = stream->data;
    if (nread > 0) {
        if (line_buf_feed(&h->update_lines, buf->base, (size_t)nread, h, on_update_line) != 0)
            host_event(h, "error", "out_of_memory", "assembling an update line");
        return;
    }
    if (nread == 0)
        return;
    if (h->update_lines.len > 0 && !h->update_lines.overlong)
        on_update_line(h, h->update_lines.buf, h->update_lines.len); /* no final newline */
    h->update_lines.len = 0;
    uv_close((uv_handle_t *)stream, NULL);
    h->updates_open = 0;
    /* Without the router's updates no fill would be booked: trade no more. */
    h->wanted_autonomy = CSCALP_AUTONOMY_MANUAL;
    cscalp_set_autonomy(h->link.engine, CSCALP_AUTONOMY_MANUAL);
    host_event(h, "error", "updates_closed", "--updates-in: %s; held at MANUAL",
               nread == UV_EOF ? "end of input" : uv_strerror((int)nread));
    exchange(h);
}

/* ------------------------------------------------------------ timers, stop */

static void on_tick(uv_timer_t *t)
{
    host *h = t->data;
    const int64_t now = host_now_ns(h);
    cscalp_tick(h->link.engine, now); /* time-decayed features, time-outs, the decision grid */
    if (h->link.venue)
        cscalp_sim_venue_advance(h->link.venue, now);
    exchange(h);
}

static void on_checkpoint_timer(uv_timer_t *t)
{
    checkpoint(t->data, "interval");
}

static void close_handle(uv_handle_t *handle)
{
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

static void stop_host(host *h, const char *why)
{
    if (h->stopping)
        return;
    h->stopping = 1;
    host_event(h, "info", "stopping", "%s", why);
    if (h->link.venue) {
        /* The paper account ends with the process: its working orders are
         * cancelled and every answer in flight is delivered (the venue's
         * latencies), so the checkpoint's orders and position are the
         * venue's. A router answers on its own time: nothing to drain. */
        cscalp_set_autonomy(h->link.engine, CSCALP_AUTONOMY_MANUAL);
        exchange(h);
        const int64_t t = host_now_ns(h) + h->drain_ns;
        cscalp_tick(h->link.engine, t);
        cscalp_sim_venue_advance(h->link.venue, t);
        exchange_at(h, t);
    }
    if (checkpoint(h, why) != 0 && h->status == 0)
        h->status = EXIT_IO;
    close_handle((uv_handle_t *)&h->tick_timer);
    close_handle((uv_handle_t *)&h->checkpoint_timer);
    close_handle((uv_handle_t *)&h->reconnect_timer);
    close_handle((uv_handle_t *)&h->stop_timer);
    close_handle((uv_handle_t *)&h->silence_timer);
    close_handle((uv_handle_t *)&h->sigint);
    close_handle((uv_handle_t *)&h->sigterm);
    if (h->tcp_open)
        close_handle((uv_handle_t *)&h->tcp);
    if (h->updates_open)
        close_handle((uv_handle_t *)&h->updates_pipe);
}

static void on_signal(uv_signal_t *s, int signum)
{
    stop_host(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_stop_timer(uv_timer_t *t)
{
    stop_host(t->data, "--duration-s elapsed");
}

/* ------------------------------------------------------------ start-up */

static int usage(FILE *out, int status)
{
    fprintf(out,
            "usage: cscalp-live --connect HOST:PORT [--config FILE|JSON] [--checkpoint PATH]\n"
            "                   [--checkpoint-every-s S] [--intents-out FILE|-]\n"
            "                   [--updates-in FILE|-] [--health-log FILE] [--autonomy LEVEL]\n"
            "                   [--tick-ms MS] [--reconnect-min-ms MS] [--reconnect-max-ms MS]\n"
            "                   [--feed-timeout-ms MS] [--duration-s S] [--levels N]\n"
            "                   [--stats FILE]\n"
            "  --connect HOST:PORT  market data: Binance capture lines over TCP (IPv4)\n"
            "  --config       engine configuration (docs/config.md) as a file or a JSON\n"
            "                 text (over {\"learn\":{\"mode\":\"async\"},\"policy\":\n"
            "                 {\"decide_interval_ms\":250}}), plus a \"venue\" object for the\n"
            "                 paper venue (docs/sim.md):\n" HOST_CONFIG_VENUE_KEYS "\n"
            "                 On a resume the keys are applied with cscalp_configure.\n"
            "  --checkpoint PATH  resume from PATH when it exists; save to it every\n"
            "                 --checkpoint-every-s (default 60; 0 only at exit) and on\n"
            "                 SIGINT/SIGTERM\n"
            "  --intents-out FILE|-  write intents as JSON lines for a router instead of\n"
            "                 trading on the paper venue (docs/live.md)\n"
            "  --updates-in FILE|-   the router's order updates as JSON lines (a pipe or FIFO)\n"
            "  --health-log FILE  health events as JSON lines (default stderr)\n"
            "  --stats FILE   the engine's statistics (docs/stats.md), rewritten at every\n"
            "                 checkpoint and at exit\n"
            "  --autonomy LEVEL   manual, assisted, autonomous or evolving (default\n"
            "                 autonomous on the paper venue, assisted with --intents-out)\n"
            "  --tick-ms MS   cscalp_tick period (default 100)\n"
            "  --reconnect-min-ms MS, --reconnect-max-ms MS  back-off (100, 5000)\n"
            "  --feed-timeout-ms MS  a connection silent this long is dropped and\n"
            "                 reconnected (default 5000; 0: never)\n"
            "  --duration-s S stop after S seconds (default: at SIGINT or SIGTERM)\n"
            "  --levels N     book levels a side (default 10)\n");
    return status;
}

static int bad_arg(const char *what)
{
    fprintf(stderr, "cscalp-live: %s\n", what);
    return usage(stderr, EXIT_USAGE);
}

static int parse_number(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    const double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->checkpoint_every_s = 60;
    a->autonomy = -1;
    a->tick_ms = 100;
    a->reconnect_min_ms = 100;
    a->reconnect_max_ms = 5000;
    a->feed_timeout_ms = 5000;
    a->levels = BCAP_DEFAULT_BOOK_LEVELS;
    static char host_buf[256];
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0)
            return usage(stdout, -1);
        if (i + 1 >= argc)
            return bad_arg(o[0] == '-' ? "an option needs a value" : "unexpected argument");
        const char *v = argv[++i];
        double x = 0;
        if (strcmp(o, "--connect") == 0) {
            const char *colon = strrchr(v, ':');
            if (colon == NULL || colon == v || (size_t)(colon - v) >= sizeof host_buf ||
                parse_number(colon + 1, 1, 65535, &x) != 0)
                return bad_arg("--connect: expected HOST:PORT");
            memcpy(host_buf, v, (size_t)(colon - v));
            host_buf[colon - v] = '\0';
            a->host = host_buf;
            a->port = (int)x;
        } else if (strcmp(o, "--config") == 0) {
            a->config = v;
        } else if (strcmp(o, "--checkpoint") == 0) {
            a->checkpoint = v;
        } else if (strcmp(o, "--checkpoint-every-s") == 0) {
            if (parse_number(v, 0, 86400, &a->checkpoint_every_s) != 0 ||
                (a->checkpoint_every_s > 0 && a->checkpoint_every_s < 0.01))
                return bad_arg("--checkpoint-every-s: expected 0 or 0.01..86400");
        } else if (strcmp(o, "--intents-out") == 0) {
            a->intents_out = v;
        } else if (strcmp(o, "--updates-in") == 0) {
            a->updates_in = v;
        } else if (strcmp(o, "--stats") == 0) {
            a->stats_out = v;
        } else if (strcmp(o, "--health-log") == 0) {
            a->health_log = v;
        } else if (strcmp(o, "--autonomy") == 0) {
            static const char *const levels[] = {"manual", "assisted", "autonomous", "evolving"};
            for (int k = 0; k < 4; k++)
                if (strcmp(v, levels[k]) == 0)
                    a->autonomy = k;
            if (a->autonomy < 0)
                return bad_arg("--autonomy: expected manual, assisted, autonomous or evolving");
        } else if (strcmp(o, "--tick-ms") == 0) {
            if (parse_number(v, 1, 60000, &x) != 0)
                return bad_arg("--tick-ms: expected 1..60000");
            a->tick_ms = (unsigned int)x;
        } else if (strcmp(o, "--reconnect-min-ms") == 0) {
            if (parse_number(v, 1, 600000, &x) != 0)
                return bad_arg("--reconnect-min-ms: expected 1..600000");
            a->reconnect_min_ms = (unsigned int)x;
        } else if (strcmp(o, "--reconnect-max-ms") == 0) {
            if (parse_number(v, 1, 600000, &x) != 0)
                return bad_arg("--reconnect-max-ms: expected 1..600000");
            a->reconnect_max_ms = (unsigned int)x;
        } else if (strcmp(o, "--feed-timeout-ms") == 0) {
            if (parse_number(v, 0, 3600000, &x) != 0)
                return bad_arg("--feed-timeout-ms: expected 0..3600000");
            a->feed_timeout_ms = (unsigned int)x;
        } else if (strcmp(o, "--duration-s") == 0) {
            if (parse_number(v, 0, 1e7, &a->duration_s) != 0)
                return bad_arg("--duration-s: expected 0..1e7");
        } else if (strcmp(o, "--levels") == 0) {
            if (parse_number(v, 1, CSCALP_BOOK_MAX_LEVELS, &x) != 0)
                return bad_arg("--levels: expected 1..50");
            a->levels = (unsigned int)x;
        } else {
            return bad_arg("unknown option");
        }
    }
    if (a->host == NULL)
        return bad_arg("--connect HOST:PORT is required");
    if (a->updates_in && !a->intents_out)
        return bad_arg("--updates-in needs --intents-out (the paper venue makes its own)");
    if (a->reconnect_min_ms > a->reconnect_max_ms)
        return bad_arg("--reconnect-min-ms is above --reconnect-max-ms");
    if (a->autonomy < 0)
        a->autonomy = a->intents_out ? CSCALP_AUTONOMY_ASSISTED : CSCALP_AUTONOMY_AUTONOMOUS;
    return 0;
}

/* The engine: resumed from the checkpoint when there is one (the --config
 * keys then applied as a patch), else opened from the configuration. */
static int open_engine(host *h, cscalp_sim_venue_config *vc)
{
    const args *a = h->a;
    char *engine_json = NULL;
    int rc = host_config_build("cscalp-live", base_engine_config, a->config, -1, &engine_json, vc);
    if (rc != HOST_CONFIG_OK)
        return rc == HOST_CONFIG_EIO ? EXIT_IO : EXIT_USAGE;
    char err[512] = "";
    FILE *probe = a->checkpoint ? fopen(a->checkpoint, "rb") : NULL;
    if (probe) {
        fclose(probe);
        free(engine_json);
        rc = cscalp_open_checkpoint(&h->link.engine, a->checkpoint, NULL, err, sizeof err);
        if (rc != CSCALP_OK) {
            /* Never trade from a state we cannot vouch for: the operator
             * decides (move the file away to start fresh). */
            fprintf(stderr, "cscalp-live: %s: %s (%s)\n", a->checkpoint, err,
                    cscalp_error_name(rc));
            return EXIT_IO;
        }
        h->resumed = 1;
        char *patch = host_config_patch("cscalp-live", a->config, &rc);
        if (patch && cscalp_configure(h->link.engine, patch) != CSCALP_OK) {
            fprintf(stderr, "cscalp-live: --config on the resumed engine: %s\n",
                    cscalp_last_error(h->link.engine));
            free(patch);
            return EXIT_USAGE;
        }
        free(patch);
        return 0;
    }
    rc = cscalp_open(&h->link.engine, engine_json);
    free(engine_json);
    if (rc != CSCALP_OK) {
        fprintf(stderr, "cscalp-live: configuration: %s\n",
                h->link.engine ? cscalp_last_error(h->link.engine) : cscalp_strerror(rc));
        cscalp_close(h->link.engine);
        h->link.engine = NULL;
        return EXIT_USAGE;
    }
    return 0;
}

static int open_outputs(host *h)
{
    const args *a = h->a;
    h->health_log = stderr;
    if (a->health_log && (h->health_log = fopen(a->health_log, "a")) == NULL) {
        fprintf(stderr, "cscalp-live: --health-log %s: %s\n", a->health_log, strerror(errno));
        h->health_log = stderr;
        return EXIT_IO;
    }
    if (a->intents_out) {
        h->intents_out = strcmp(a->intents_out, "-") == 0 ? stdout : fopen(a->intents_out, "a");
        if (h->intents_out == NULL) {
            fprintf(stderr, "cscalp-live: --intents-out %s: %s\n", a->intents_out,
                    strerror(errno));
            return EXIT_IO;
        }
    }
    if (a->updates_in) {
        /* A FIFO is held open for writing too, so a router that restarts
         * finds a reader and the host never sees an end of input. */
        const int fd =
            strcmp(a->updates_in, "-") == 0 ? 0 : open(a->updates_in, O_RDWR | O_NONBLOCK);
        if (fd < 0 || uv_guess_handle(fd) != UV_NAMED_PIPE) {
            fprintf(stderr, "cscalp-live: --updates-in %s: not a pipe or FIFO%s%s\n",
                    a->updates_in, fd < 0 ? ": " : "", fd < 0 ? strerror(errno) : "");
            return EXIT_USAGE;
        }
        if (uv_pipe_init(h->loop, &h->updates_pipe, 0) != 0 ||
            uv_pipe_open(&h->updates_pipe, fd) != 0) {
            fprintf(stderr, "cscalp-live: --updates-in %s: cannot read it\n", a->updates_in);
            return EXIT_IO;
        }
        h->updates_pipe.data = h;
        h->updates_open = 1;
        uv_read_start((uv_stream_t *)&h->updates_pipe, alloc_chunk, on_updates_read);
    }
    return 0;
}

static void print_summary(host *h)
{
    const bcap_counters *c = bcap_get_counters(h->feed);
    cscalp_position p;
    p.size = sizeof p;
    cscalp_get_position(h->link.engine, &p);
    fprintf(stderr,
            "cscalp-live: {\"resumed\":%s,\"lines\":%" PRIu64 ",\"events\":%" PRIu64
            ",\"refused\":%" PRIu64 ",\"intents_new\":%" PRIu64 ",\"intents_cancel\":%" PRIu64
            ",\"updates\":%" PRIu64 ",\"update_errors\":%" PRIu64 ",\"connects\":%" PRIu64
            ",\"connect_failures\":%" PRIu64 ",\"disconnects\":%" PRIu64
            ",\"recoveries\":%" PRIu64 ",\"checkpoints\":%" PRIu64
            ",\"checkpoint_failures\":%" PRIu64 ",\"book_gaps\":%" PRIu64
            ",\"book_resyncs\":%" PRIu64 ",\"parse_errors\":%" PRIu64 ",\"position\":%.17g"
            ",\"open_orders\":%u,\"fills\":%" PRIu64 ",\"equity\":%.10g"
            ",\"venue_refused\":%" PRIu64 ",\"submit_errors\":%" PRIu64
            ",\"liquidation_resyncs\":%" PRIu64,
            h->resumed ? "true" : "false", h->lines, h->events, h->refused, h->link.intents_new,
            h->link.intents_cancel, h->link.updates, h->link.update_errors, h->connects,
            h->connect_failures, h->disconnects, h->recoveries, h->checkpoints,
            h->checkpoint_failures, c->gaps, c->resyncs, c->parse_errors, p.position,
            p.open_orders, p.fills, p.equity, h->venue_refused, h->link.submit_errors,
            h->link.resyncs);
    if (h->link.venue) {
        cscalp_sim_venue_account acc;
        acc.size = sizeof acc;
        cscalp_sim_venue_get_account(h->link.venue, &acc);
        fprintf(stderr, ",\"venue_position\":%.17g,\"venue_equity\":%.10g", acc.position,
                acc.equity);
    }
    fputs("}\n", stderr);
}

int main(int argc, char **argv)
{
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;

    /* A router that closes its end of --intents-out must not kill the
     * host: the write fails, is reported, and the host stops cleanly. */
    signal(SIGPIPE, SIG_IGN);
    static host hs; /* large (the read chunk): not on the stack */
    host *h = &hs;
    h->a = &a;
    h->loop = uv_default_loop();
    h->clock_base_ns = wall_ns();
    h->hrtime_base = uv_hrtime();
    h->backoff_ms = a.reconnect_min_ms;
    h->rng = (uint64_t)h->clock_base_ns | 1;
    h->feed_lines.max = FEED_LINE_MAX;
    h->update_lines.max = UPDATE_LINE_MAX;
    h->wanted_autonomy = a.autonomy;

    if (uv_ip4_addr(a.host, a.port, &h->addr) != 0)
        return bad_arg("--connect: HOST must be an IPv4 address such as 127.0.0.1");
    cscalp_sim_venue_config vc;
    int status = open_engine(h, &vc);
    h->drain_ns = vc.order_latency_ns + vc.report_latency_ns + 1000000;
    if (status == 0)
        status = open_outputs(h);
    char err[512] = "";
    bcap_options bo;
    bcap_options_init(&bo);
    bo.book_levels = a.levels;
    bo.log = NULL; /* malformed lines are counted; the summary reports them */
    if (status == 0 && bcap_open_stream(&h->feed, "feed", &bo, err, sizeof err) != BCAP_OK) {
        fprintf(stderr, "cscalp-live: %s\n", err);
        status = EXIT_IO;
    }
    if (status == 0 && !a.intents_out &&
        cscalp_sim_venue_open(&h->link.venue, &vc, NULL, err, sizeof err) != CSCALP_OK) {
        fprintf(stderr, "cscalp-live: venue: %s\n", err);
        status = EXIT_USAGE;
    }
    if (status != 0) {
        cscalp_close(h->link.engine);
        bcap_close(h->feed);
        return status;
    }

    cscalp_set_health_callback(h->link.engine, on_health, h); /* not in checkpoints: set each start */
    if (h->resumed) {
        host_event(h, "info", "resumed", "from %s", a.checkpoint);
        settle_resumed_orders(h);
    }
    /* No data yet: held at MANUAL until the first event, as after an
     * outage; the level asked for is set then. */
    h->down_since_ns = host_now_ns(h);
    if (cscalp_get_autonomy(h->link.engine) > CSCALP_AUTONOMY_MANUAL)
        cscalp_set_autonomy(h->link.engine, CSCALP_AUTONOMY_MANUAL);

    uv_timer_init(h->loop, &h->tick_timer);
    uv_timer_init(h->loop, &h->checkpoint_timer);
    uv_timer_init(h->loop, &h->reconnect_timer);
    uv_timer_init(h->loop, &h->stop_timer);
    uv_timer_init(h->loop, &h->silence_timer);
    h->silence_timer.data = h;
    uv_signal_init(h->loop, &h->sigint);
    uv_signal_init(h->loop, &h->sigterm);
    h->tick_timer.data = h->checkpoint_timer.data = h->reconnect_timer.data = h;
    h->stop_timer.data = h->sigint.data = h->sigterm.data = h;
    uv_timer_start(&h->tick_timer, on_tick, a.tick_ms, a.tick_ms);
    if (a.checkpoint && a.checkpoint_every_s > 0) {
        const uint64_t every = (uint64_t)(a.checkpoint_every_s * 1000);
        uv_timer_start(&h->checkpoint_timer, on_checkpoint_timer, every, every);
    }
    if (a.duration_s > 0)
        uv_timer_start(&h->stop_timer, on_stop_timer, (uint64_t)(a.duration_s * 1000), 0);
    uv_signal_start(&h->sigint, on_signal, SIGINT);
    uv_signal_start(&h->sigterm, on_signal, SIGTERM);
    start_connect(h);

    uv_run(h->loop, UV_RUN_DEFAULT);

    print_summary(h);
    /* The learner thread is joined and every buffer freed by cscalp_close. */
    cscalp_close(h->link.engine);
    cscalp_sim_venue_close(h->link.venue);
    bcap_close(h->feed);
    free(h->feed_lines.buf);
    free(h->update_lines.buf);
    uv_loop_close(h->loop);
    if (h->intents_out && h->intents_out != stdout)
        fclose(h->intents_out);
    if (h->health_log != stderr)
        fclose(h->health_log);
    return h->status;
}
