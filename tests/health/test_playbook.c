/* The supervisor's playbook (docs/self-healing.md), one Check case per row
 * of cscalp_playbook_row. Each case provokes its fault (cscalp_fault_inject
 * for what the public API cannot provoke, the public API for the rest),
 * then asserts
 *   - the action taken and the health events, in order, with their
 *     severity, component and action;
 *   - cscalp_health(): the component DEGRADED or FAILED while the condition
 *     holds, OK once it cleared and health.degraded_hold_s passed, the
 *     supervisor flag, and playbook_actions[row] counted;
 *   - that the engine works again afterwards (intents flow, training steps
 *     resume, inference answers);
 * and measures detection (fault -> action event) and recovery (fault
 * cleared -> recovery event) in event time (the engine clock) and in wall
 * time (CLOCK_MONOTONIC, taken in the health callback). Wall times are
 * measurements for the report, never asserted on, except the loose bounds
 * of the one mechanism that runs on the wall clock (the learner's stall
 * watchdog).
 *
 * The suite runs without fork (CK_NOFORK) so that every case adds its
 * records to one global array; main writes them as JSON to
 * $CSCALP_RECOVERY_REPORT, else $CSCALP_BUILD_ROOT/tests/health/recovery.json
 * (else ./recovery.json),
 * and prints a line per record. A checked fixture closes whatever a failed
 * case left open. */
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../common/test_fs.h"
#include "../common/test_util.h"
#include "cryptoscalp.h"
#include "engine_internal.h"
#include "learn/learn.h"

#define MS 1000000LL
#define SEC 1000000000LL
/* Nov 2023, as the other suites. */
#define T0 (1700000000LL * SEC)

/* ------------------------------------------------------------ wall clock */

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + (int64_t)ts.tv_nsec;
}

static void sleep_us(long us)
{
    struct timespec ts;
    ts.tv_sec = us / 1000000L;
    ts.tv_nsec = (us % 1000000L) * 1000L;
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------- event recorder */

static const char *const event_names[] = {
    "NONE",
    "INPUT_REJECTED",
    "CONFIG_CHANGED",
    "CONFIG_REJECTED",
    "TIME_REGRESSION",
    "MODEL_OUTPUT_INVALID",
    "MODEL_PROMOTED",
    "LEARNER_ROLLBACK",
    "FALLBACK_ENGAGED",
    "FALLBACK_RELEASED",
    "DRIFT_DETECTED",
    "SAMPLES_DROPPED",
    "CHECKPOINT_SAVED",
    "CHECKPOINT_FAILED",
    "REGIME_CHANGED",
    "INTENT_REFUSED",
    "ORDER_UPDATE_REFUSED",
    "ORDER_REJECTED",
    "KILL_SWITCH",
    "AUTONOMY_CHANGED",
    "POSITION_RESYNC",
    "INTENTS_DROPPED",
    "FUNDING_SETTLED",
    "LOSS_COOLDOWN",
    "FEED_STALE",
    "FEED_RESUMED",
    "DATA_QUARANTINED",
    "LEVEL_CONFIRMED",
    "BREAKER_OPENED",
    "BREAKER_HALF_OPEN",
    "BREAKER_CLOSED",
    "LEARNER_STALLED",
    "LEARNER_RESTARTED",
    "LEARNER_SHEDDING",
    "LEARNER_CAUGHT_UP",
    "WEIGHTS_RESTORED",
    "LEARNING_RATE_CHANGED",
};
#define EVENT_NAME_COUNT ((int)(sizeof event_names / sizeof event_names[0]))

static const char *ev_name(int code)
{
    return code >= 0 && code < EVENT_NAME_COUNT ? event_names[code] : "UNKNOWN";
}

#define REC_MAX 16384
#define REC_MSG 240

typedef struct rec_event {
    int32_t event, component, severity, action, error;
    int64_t ts_ns;   /* engine clock of the event */
    int64_t wall_ns; /* CLOCK_MONOTONIC when the callback ran */
    char msg[REC_MSG];
} rec_event;

typedef struct recorder {
    rec_event *ev;
    size_t n;
    uint64_t lost;
} recorder;

static void on_health(const cscalp_health_event *ev, void *user)
{
    recorder *r = user;
    if (r->n == REC_MAX) {
        r->lost++;
        return;
    }
    rec_event *x = &r->ev[r->n++];
    x->wall_ns = wall_ns();
    x->event = ev->event;
    x->component = ev->component;
    x->severity = ev->severity;
    x->action = ev->action;
    x->error = ev->error;
    x->ts_ns = ev->ts_ns;
    snprintf(x->msg, sizeof x->msg, "%s", ev->message != NULL ? ev->message : "");
}

/* Index of the first `event` at or after `from`, -1 when none. */
static long rec_find(const recorder *r, size_t from, int event)
{
    for (size_t i = from; i < r->n; i++)
        if (r->ev[i].event == event)
            return (long)i;
    return -1;
}

static long rec_find_sev(const recorder *r, size_t from, int event, int severity)
{
    for (size_t i = from; i < r->n; i++)
        if (r->ev[i].event == event && r->ev[i].severity == severity)
            return (long)i;
    return -1;
}

static size_t rec_count(const recorder *r, size_t from, int event)
{
    size_t n = 0;
    for (size_t i = from; i < r->n; i++)
        n += r->ev[i].event == event;
    return n;
}

/* The events since `from` (the last 40), for failure messages. */
static const char *rec_dump(const recorder *r, size_t from)
{
    static char buf[4096];
    size_t at = 0;
    buf[0] = '\0';
    const size_t start = r->n > from + 40 ? r->n - 40 : from;
    for (size_t i = start; i < r->n && at < sizeof buf - 64; i++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s(sev %d comp %d act %d)",
                               i == start ? "" : ", ", ev_name(r->ev[i].event),
                               r->ev[i].severity, r->ev[i].component, r->ev[i].action);
    return r->n > from ? buf : "(none)";
}

/* The first `event` at or after `from`, asserted to exist and to carry
 * this severity, component and action; its index. */
static size_t expect_event(const recorder *r, size_t from, int event, int severity, int component,
                           int action)
{
    const long i = rec_find(r, from, event);
    ck_assert_msg(i >= 0, "no %s event after #%zu; events since: %s", ev_name(event), from,
                  rec_dump(r, from));
    const rec_event *x = &r->ev[i];
    ck_assert_msg(x->severity == severity && x->component == component && x->action == action,
                  "%s: severity %d component %d action %d, want %d %d %d (%s)", ev_name(event),
                  x->severity, x->component, x->action, severity, component, action, x->msg);
    return (size_t)i;
}

/* ------------------------------------------------------------- records */

static const char *const row_names[CSCALP_PLAYBOOK_COUNT] = {
    "nonfinite_learning", "fallback",        "rollback_storm", "stale_feed",
    "quarantine",         "reject_breaker",  "learner_stalled", "learner_behind",
    "risk",               "checkpoint"};

#define RECORD_MAX 32
#define RECORD_EVENTS 40

typedef struct row_record {
    const char *row;
    char case_name[48];
    /* -1: not measured (null in the report). */
    int64_t detect_event_ns, detect_wall_ns, recover_event_ns, recover_wall_ns;
    char events[RECORD_EVENTS][28];
    int n_events;
    char note[480];
    int passed;
} row_record;

static row_record g_records[RECORD_MAX];
static int g_nrecords;

static row_record *record_begin(int row, const char *case_name)
{
    ck_assert_int_lt(g_nrecords, RECORD_MAX);
    row_record *R = &g_records[g_nrecords++];
    memset(R, 0, sizeof *R);
    R->row = row_names[row];
    snprintf(R->case_name, sizeof R->case_name, "%s", case_name);
    R->detect_event_ns = R->detect_wall_ns = R->recover_event_ns = R->recover_wall_ns = -1;
    return R;
}

/* The playbook-related events of [from, to) into the record, in order. */
static int playbook_event(int code)
{
    return code >= CSCALP_EVENT_FEED_STALE || code == CSCALP_EVENT_LEARNER_ROLLBACK ||
           code == CSCALP_EVENT_FALLBACK_ENGAGED || code == CSCALP_EVENT_FALLBACK_RELEASED ||
           code == CSCALP_EVENT_MODEL_PROMOTED || code == CSCALP_EVENT_CHECKPOINT_SAVED ||
           code == CSCALP_EVENT_CHECKPOINT_FAILED || code == CSCALP_EVENT_KILL_SWITCH ||
           code == CSCALP_EVENT_AUTONOMY_CHANGED || code == CSCALP_EVENT_POSITION_RESYNC ||
           code == CSCALP_EVENT_SAMPLES_DROPPED;
}

static void record_events(row_record *R, const recorder *r, size_t from, size_t to)
{
    for (size_t i = from; i < to && i < r->n; i++) {
        if (!playbook_event(r->ev[i].event))
            continue;
        if (R->n_events == RECORD_EVENTS - 1) {
            snprintf(R->events[R->n_events++], sizeof R->events[0], "...");
            return;
        }
        snprintf(R->events[R->n_events++], sizeof R->events[0], "%s", ev_name(r->ev[i].event));
    }
}

/* ------------------------------------------------- per-case resources */

/* What a case holds, so that the fixture's teardown releases it even when
 * an assertion left the case early (no fork: a failed case returns here by
 * longjmp). */
#define CASE_ENGINES 4
typedef struct venue venue;
static struct {
    cscalp_engine *engines[CASE_ENGINES];
    recorder *rec;
    venue *v;
    float *params;
    char dir[512];
} g_case;

static void case_setup(void) { memset(&g_case, 0, sizeof g_case); }

static void case_teardown(void)
{
    for (int i = 0; i < CASE_ENGINES; i++)
        cscalp_close(g_case.engines[i]);
    if (g_case.rec != NULL)
        free(g_case.rec->ev);
    free(g_case.rec);
    free(g_case.v);
    free(g_case.params);
    if (g_case.dir[0] != '\0')
        tu_remove_tree(g_case.dir);
    memset(&g_case, 0, sizeof g_case);
}

static recorder *new_recorder(void)
{
    recorder *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    r->ev = calloc(REC_MAX, sizeof *r->ev);
    ck_assert_ptr_nonnull(r->ev);
    g_case.rec = r;
    return r;
}

static void track_engine(cscalp_engine *e)
{
    for (int i = 0; i < CASE_ENGINES; i++)
        if (g_case.engines[i] == NULL) {
            g_case.engines[i] = e;
            return;
        }
    ck_abort_msg("more than %d engines in one case", CASE_ENGINES);
}

static void close_engine(cscalp_engine *e)
{
    for (int i = 0; i < CASE_ENGINES; i++)
        if (g_case.engines[i] == e)
            g_case.engines[i] = NULL;
    cscalp_close(e);
}

static cscalp_engine *open_engine_ex(const char *json, recorder *r, const cscalp_allocator *a)
{
    cscalp_engine *e = NULL;
    char why[512] = "";
    const int rc = cscalp_open_ex(&e, json, a, why, sizeof why);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_open_ex: %s (%s)\nconfig: %s", cscalp_error_name(rc),
                  why, json);
    track_engine(e);
    if (r != NULL)
        ck_assert_int_eq(cscalp_set_health_callback(e, on_health, r), CSCALP_OK);
    return e;
}

static cscalp_engine *open_engine(const char *json, recorder *r)
{
    return open_engine_ex(json, r, NULL);
}

/* --------------------------------------------------- engine read-outs */

static cscalp_health_report health_now(const cscalp_engine *e)
{
    cscalp_health_report h;
    memset(&h, 0, sizeof h);
    h.size = sizeof h;
    ck_assert_int_eq(cscalp_health(e, &h), CSCALP_OK);
    return h;
}

static int32_t status_of(const cscalp_engine *e, int component)
{
    return health_now(e).components[component].status;
}

static uint32_t flags_of(const cscalp_engine *e) { return health_now(e).supervisor_flags; }

static uint64_t actions_of(const cscalp_engine *e, int row)
{
    return health_now(e).playbook_actions[row];
}

static int64_t clock_of(const cscalp_engine *e) { return health_now(e).clock_ns; }

/* The stats as JSON. With the async learner its counters move between
 * the sizing call and the filling one (a number may gain a digit), so the
 * buffer has slack and a refusal is retried with the size it reports. */
static cJSON *stats_json(const cscalp_engine *e)
{
    size_t need = 0;
    ck_assert_int_eq(cscalp_stats_json(e, NULL, 0, &need), CSCALP_OK);
    for (int attempt = 0; attempt < 8; attempt++) {
        const size_t cap = need + 4096;
        char *buf = malloc(cap);
        ck_assert_ptr_nonnull(buf);
        const int rc = cscalp_stats_json(e, buf, cap, &need);
        if (rc == CSCALP_EBUFFER) {
            free(buf);
            continue;
        }
        ck_assert_int_eq(rc, CSCALP_OK);
        cJSON *j = cJSON_Parse(buf);
        free(buf);
        ck_assert_ptr_nonnull(j);
        return j;
    }
    ck_abort_msg("cscalp_stats_json: the length kept growing");
    return NULL;
}

static const cJSON *stat_node(const cJSON *root, const char *path)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    const cJSON *node = root;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save)) {
        node = cJSON_GetObjectItemCaseSensitive(node, tok);
        ck_assert_msg(node != NULL, "stats: %s missing (at %s)", path, tok);
    }
    return node;
}

/* A number of the stats (docs/stats.md) by its dotted path. */
static double stat_num(const cscalp_engine *e, const char *path)
{
    cJSON *j = stats_json(e);
    const cJSON *n = stat_node(j, path);
    ck_assert_msg(cJSON_IsNumber(n), "stats: %s is not a number", path);
    const double v = n->valuedouble;
    cJSON_Delete(j);
    return v;
}

static int stat_str_is(const cscalp_engine *e, const char *path, const char *want)
{
    cJSON *j = stats_json(e);
    const cJSON *n = stat_node(j, path);
    ck_assert_msg(cJSON_IsString(n), "stats: %s is not a string", path);
    const int same = strcmp(n->valuestring, want) == 0;
    cJSON_Delete(j);
    return same;
}

static cscalp_signal infer_ok(cscalp_engine *e)
{
    cscalp_signal s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    const int rc = cscalp_infer(e, &s);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_infer: %s (%s)", cscalp_error_name(rc),
                  cscalp_last_error(e));
    const double sum = s.probabilities[0] + s.probabilities[1] + s.probabilities[2];
    ck_assert_msg(isfinite(sum) && fabs(sum - 1.0) < 1e-9, "probabilities sum to %.17g", sum);
    for (int c = 0; c < 3; c++)
        ck_assert(s.probabilities[c] >= 0.0 && s.probabilities[c] <= 1.0);
    return s;
}

/* ------------------------------------------------------------- market */

/* A synthetic top of book: a hidden pressure in {-1, 0, 1} (a Markov chain
 * that switches about every 2 s) moves the mid a tick every 50 ms its way,
 * with noise, and tilts the displayed sizes the same way, so the book
 * imbalance predicts the next half second (the learner has something to
 * learn). Quotes every 10 ms; the bid and ask sit on the tick grid. For the
 * risk row `adverse` forces a move of that many ticks per quote. */
typedef struct market {
    tu_rng g;
    int64_t t, dt;
    double tick;
    int64_t k; /* bid in ticks; ask = k + 1 */
    int pressure;
    int adverse;
    long steps;
} market;

static void market_init(market *m, uint64_t seed, double price, double tick)
{
    memset(m, 0, sizeof *m);
    m->g.s = seed;
    m->t = T0;
    m->dt = 10 * MS;
    m->tick = tick;
    m->k = (int64_t)llround(price / tick);
}

static double market_bid(const market *m) { return (double)m->k * m->tick; }
static double market_ask(const market *m) { return (double)(m->k + 1) * m->tick; }
static double market_mid(const market *m) { return 0.5 * (market_bid(m) + market_ask(m)); }

static cscalp_quote market_quote_now(market *m)
{
    cscalp_quote q;
    memset(&q, 0, sizeof q);
    q.ts_ns = m->t;
    q.bid_price = market_bid(m);
    q.ask_price = market_ask(m);
    const double tilt = 2.0 * m->pressure;
    q.bid_size = 3.0 + tilt + 2.0 * tu_uniform(&m->g);
    q.ask_size = 3.0 - tilt + 2.0 * tu_uniform(&m->g);
    return q;
}

static cscalp_quote market_next(market *m)
{
    m->t += m->dt;
    m->steps++;
    if (tu_int(&m->g, 200) == 0)
        m->pressure = tu_int(&m->g, 3) - 1;
    if (m->adverse != 0) {
        m->k += m->adverse;
    } else if (m->steps % 5 == 0) {
        const int noise = tu_uniform(&m->g) < 0.3 ? (tu_uniform(&m->g) < 0.5 ? -1 : 1) : 0;
        m->k += m->pressure + noise;
    }
    return market_quote_now(m);
}

/* ------------------------------------------------------------- venue */

/* The host's side of the orders: every intent polled is logged, NEW ones
 * answered as `mode` says (ACK, REJECTED by the venue, or left unanswered),
 * cancels confirmed. */
enum { V_ACK = 0, V_REJECT = 1, V_HOLD = 2 };
#define VENUE_LOG 32768

struct venue {
    int mode;
    size_t n;                 /* intents polled so far */
    cscalp_intent log[VENUE_LOG];
    uint64_t rejected_sent;   /* REJECTED updates sent */
};

static venue *new_venue(int mode)
{
    venue *v = calloc(1, sizeof *v);
    ck_assert_ptr_nonnull(v);
    v->mode = mode;
    g_case.v = v;
    return v;
}

static void send_update(cscalp_engine *e, int type, uint64_t id, const char *text)
{
    cscalp_order_update u;
    memset(&u, 0, sizeof u);
    u.size = sizeof u;
    u.type = type;
    u.client_id = id;
    u.ts_ns = clock_of(e);
    u.text = text;
    const int rc = cscalp_on_order(e, &u);
    ck_assert_msg(rc == CSCALP_OK, "on_order type %d id %llu: %s (%s)", type,
                  (unsigned long long)id, cscalp_error_name(rc), cscalp_last_error(e));
}

static void send_fill(cscalp_engine *e, uint64_t id, uint64_t fill_id, double price, double qty)
{
    cscalp_order_update u;
    memset(&u, 0, sizeof u);
    u.size = sizeof u;
    u.type = CSCALP_UPDATE_FILL;
    u.client_id = id;
    u.fill_id = fill_id;
    u.fill_price = price;
    u.fill_quantity = qty;
    u.fee = 0.0;
    u.liquidity = CSCALP_LIQUIDITY_TAKER;
    const int rc = cscalp_on_order(e, &u);
    ck_assert_msg(rc == CSCALP_OK, "fill id %llu: %s (%s)", (unsigned long long)id,
                  cscalp_error_name(rc), cscalp_last_error(e));
}

/* Poll until the queue is empty (answers may queue more). */
static void venue_poll(cscalp_engine *e, venue *v)
{
    for (;;) {
        cscalp_intent buf[64];
        buf[0].size = sizeof buf[0];
        const int n = cscalp_poll_intents(e, buf, 64);
        ck_assert_int_ge(n, 0);
        if (n == 0)
            return;
        for (int i = 0; i < n; i++) {
            const cscalp_intent *in = &buf[i];
            ck_assert_msg(v->n < VENUE_LOG, "venue log full");
            v->log[v->n++] = *in;
            if (in->kind == CSCALP_INTENT_CANCEL) {
                send_update(e, CSCALP_UPDATE_CANCELLED, in->client_id, NULL);
            } else if (v->mode == V_ACK) {
                send_update(e, CSCALP_UPDATE_ACK, in->client_id, NULL);
            } else if (v->mode == V_REJECT) {
                v->rejected_sent++;
                send_update(e, CSCALP_UPDATE_REJECTED, in->client_id,
                            "venue: service unavailable");
            }
        }
    }
}

/* Intents logged in [from, v->n) of this kind (and reason, -1 any), with
 * all of `flags_set` set. */
static size_t venue_count(const venue *v, size_t from, int kind, int reason, uint32_t flags_set)
{
    size_t n = 0;
    for (size_t i = from; i < v->n; i++)
        if (v->log[i].kind == kind && (reason < 0 || v->log[i].reason == reason) &&
            (v->log[i].flags & flags_set) == flags_set)
            n++;
    return n;
}

/* First NEW ENTRY at or after `from`, -1 when none. */
static long venue_first_entry(const venue *v, size_t from)
{
    for (size_t i = from; i < v->n; i++)
        if (v->log[i].kind == CSCALP_INTENT_NEW && v->log[i].reason == CSCALP_INTENT_ENTRY)
            return (long)i;
    return -1;
}

static void push_quote(cscalp_engine *e, market *m, venue *v)
{
    const cscalp_quote q = market_next(m);
    const int rc = cscalp_push_quote(e, &q);
    ck_assert_msg(rc == CSCALP_OK, "push_quote at %lld: %s (%s)", (long long)q.ts_ns,
                  cscalp_error_name(rc), cscalp_last_error(e));
    if (v != NULL)
        venue_poll(e, v);
}

static void push_n(cscalp_engine *e, market *m, venue *v, long n)
{
    for (long i = 0; i < n; i++)
        push_quote(e, m, v);
}

static void tick_to(cscalp_engine *e, venue *v, int64_t t)
{
    const int rc = cscalp_tick(e, t);
    ck_assert_msg(rc == CSCALP_OK, "tick %lld: %s", (long long)t, cscalp_error_name(rc));
    if (v != NULL)
        venue_poll(e, v);
}

/* ------------------------------------------------------ configurations */

/* Learning rows: a small network, a normaliser warm in half a second, a
 * 500 ms label horizon on a 100 ms sample grid, a training step per
 * matured sample, and drift detectors made deaf (their WARNINGs on
 * LEARNER would muddle the status checks; docs/drift.md). */
#define LEARN_MODEL "\"model\":{\"hidden_sizes\":[16],\"seed\":3}"
#define LEARN_FEATURES                                                                    \
    "\"features\":{\"norm_interval_ms\":100,\"norm_warmup_samples\":5,"                  \
    "\"norm_half_life_s\":60}"
#define LEARN_KEYS_BASE                                                                   \
    "\"horizon_ms\":500,\"sample_interval_ms\":100,\"band\":\"fixed\",\"band_bps\":2,"   \
    "\"learning_rate\":0.003,\"train_every_samples\":1,"                                \
    "\"drift_ph_lambda_sigma\":1000,\"drift_adwin_delta_probability\":1e-12"
#define LEARN_KEYS LEARN_KEYS_BASE ",\"min_replay_samples\":64"
/* Rows other than the fallback's: the fallback never takes over (this
 * market suits its linear model, and by default it serves whenever it
 * scores better), so LEARNER's status is the row's alone. */
#define NO_FALLBACK ",\"fallback_margin_nats\":10"

/* Trading rows: an untrained model that trades (a large prior move, no
 * fees, no entry band: any asymmetry of its probabilities clears the
 * costs), BTC-like grids, long order lives, as tests/decide does. */
#define TRADING_BASE                                                                          \
    "\"model\":{\"seed\":1,\"hidden_sizes\":[8],\"prior_move_bps\":2000},"                   \
    "\"features\":{\"norm_warmup_samples\":5,\"norm_interval_ms\":100},"                     \
    "\"fees\":{\"taker_bps\":0,\"maker_bps\":0},"                                             \
    "\"regime\":{\"entry_band_bps\":[0],\"size_factors\":[1],\"max_leverage_factors\":[10]}," \
    "\"policy\":{\"decide_interval_ms\":100,\"vol_target_bps\":1000,\"min_sigma_bps\":1,"   \
    "\"liquidation_sigmas\":10,\"tick_size_quote\":0.1,\"lot_size_contracts\":0.001,"        \
    "\"order_ttl_ms\":600000,\"reprice_ticks\":1e6,\"market_protection_bps\":10,"             \
    "\"untrained_size_factor\":1}"
#define TRADING_RISK_COMMON                                                                  \
    "\"initial_equity_quote\":10000,\"max_order_contracts\":1,"                               \
    "\"max_order_notional_quote\":100000,\"max_position_contracts\":1,"                       \
    "\"max_leverage_factor\":10,\"price_collar_bps\":50,\"max_orders_per_s\":5,"              \
    "\"max_orders_per_min\":600,\"max_open_orders_count\":4,\"loss_streak_count\":0"

/* ------------------------------------------------------------ helpers */

static int all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* Push quotes until `steps` training steps were run (bounded). */
static void warm_learner(cscalp_engine *e, market *m, venue *v, double steps)
{
    long pushed = 0;
    while (stat_num(e, "learn.training.steps") < steps && pushed < 40000) {
        push_n(e, m, v, 100);
        pushed += 100;
    }
    ck_assert_msg(stat_num(e, "learn.training.steps") >= steps,
                  "%g training steps after %ld quotes, wanted %g",
                  stat_num(e, "learn.training.steps"), pushed, steps);
}

/* ================================================= 1. nonfinite learning */

START_TEST(row_nonfinite_learning)
{
    recorder *r = new_recorder();
    cscalp_engine *e = open_engine(
        "{" LEARN_MODEL "," LEARN_FEATURES ",\"learn\":{" LEARN_KEYS
        ",\"score_window_samples\":200,\"rollback_margin_nats\":10" NO_FALLBACK "},"
        "\"health\":{\"lr_recover_steps\":20,\"explode_grad_norm\":1000,\"degraded_hold_s\":2}}",
        r);
    market m;
    market_init(&m, 11, 100.0, 0.01);
    warm_learner(e, &m, NULL, 40);
    ck_assert(stat_num(e, "learn.health.lr_factor") == 1.0);
    ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_LR_LOWERED));
    const uint64_t a0 = actions_of(e, CSCALP_PLAYBOOK_NONFINITE_LEARNING);

    /* --- a NaN in the next training step's batch */
    row_record *R = record_begin(CSCALP_PLAYBOOK_NONFINITE_LEARNING, "nan_gradient");
    size_t i0 = r->n;
    int64_t t0 = clock_of(e), w0 = wall_ns();
    ck_assert_int_eq(cscalp_fault_inject(e, CSCALP_FAULT_NAN_GRADIENT, 1), CSCALP_OK);
    for (long k = 0; k < 2000 && rec_find(r, i0, CSCALP_EVENT_LEARNING_RATE_CHANGED) < 0; k++)
        push_quote(e, &m, NULL);
    const size_t i_rb = expect_event(r, i0, CSCALP_EVENT_LEARNER_ROLLBACK, CSCALP_SEVERITY_WARNING,
                                     CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_ROLLED_BACK);
    ck_assert_msg(strstr(r->ev[i_rb].msg, "non-finite") != NULL, "%s", r->ev[i_rb].msg);
    const size_t i_lr =
        expect_event(r, i_rb, CSCALP_EVENT_LEARNING_RATE_CHANGED, CSCALP_SEVERITY_WARNING,
                     CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_APPLIED);
    /* The cut answers that rollback: the very next event. */
    ck_assert_uint_eq(i_lr, i_rb + 1);
    ck_assert_int_eq(r->ev[i_lr].error, CSCALP_ENONFINITE);
    ck_assert(stat_num(e, "learn.health.lr_factor") == 0.5);
    ck_assert(stat_num(e, "learn.training.refused_steps") == 1);
    ck_assert(stat_num(e, "learn.health.lr_cuts") == 1);
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_LR_LOWERED);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_LEARNER), CSCALP_STATUS_DEGRADED);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_NONFINITE_LEARNING), a0 + 1);
    R->detect_event_ns = r->ev[i_lr].ts_ns - t0;
    R->detect_wall_ns = r->ev[i_lr].wall_ns - w0;
    /* Training goes on at the cut rate; health.lr_recover_steps clean steps
     * undo the cut. */
    const double steps_cut = stat_num(e, "learn.training.steps");
    for (long k = 0;
         k < 5000 && rec_find_sev(r, i_lr + 1, CSCALP_EVENT_LEARNING_RATE_CHANGED,
                                  CSCALP_SEVERITY_INFO) < 0;
         k++)
        push_quote(e, &m, NULL);
    const size_t i_up = expect_event(r, i_lr + 1, CSCALP_EVENT_LEARNING_RATE_CHANGED,
                                     CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_LEARNER,
                                     CSCALP_ACTION_RESUMED);
    ck_assert_msg(stat_num(e, "learn.training.steps") >= steps_cut + 20,
                  "restored after %g steps", stat_num(e, "learn.training.steps") - steps_cut);
    ck_assert(stat_num(e, "learn.health.lr_factor") == 1.0);
    ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_LR_LOWERED));
    R->recover_event_ns = r->ev[i_up].ts_ns - r->ev[i_lr].ts_ns;
    R->recover_wall_ns = r->ev[i_up].wall_ns - r->ev[i_lr].wall_ns;
    /* OK again once the warning is older than health.degraded_hold_s (2 s). */
    push_n(e, &m, NULL, 250);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_LEARNER), CSCALP_STATUS_OK);
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "detect: injection -> LEARNING_RATE_CHANGED cut (next training step); recover: "
             "cut -> restored after health.lr_recover_steps=20 clean steps");
    R->passed = 1;

    /* --- an exploding gradient: refused by health.explode_grad_norm */
    R = record_begin(CSCALP_PLAYBOOK_NONFINITE_LEARNING, "exploding_gradient");
    i0 = r->n;
    t0 = clock_of(e);
    w0 = wall_ns();
    ck_assert_int_eq(cscalp_fault_inject(e, CSCALP_FAULT_EXPLODING_GRADIENT, 1), CSCALP_OK);
    for (long k = 0; k < 2000 && rec_find(r, i0, CSCALP_EVENT_LEARNING_RATE_CHANGED) < 0; k++)
        push_quote(e, &m, NULL);
    const size_t i_rb2 = expect_event(r, i0, CSCALP_EVENT_LEARNER_ROLLBACK,
                                      CSCALP_SEVERITY_WARNING, CSCALP_COMPONENT_LEARNER,
                                      CSCALP_ACTION_ROLLED_BACK);
    ck_assert_msg(strstr(r->ev[i_rb2].msg, "health.explode_grad_norm") != NULL, "%s",
                  r->ev[i_rb2].msg);
    const size_t i_lr2 =
        expect_event(r, i_rb2, CSCALP_EVENT_LEARNING_RATE_CHANGED, CSCALP_SEVERITY_WARNING,
                     CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_APPLIED);
    ck_assert_uint_eq(i_lr2, i_rb2 + 1);
    ck_assert_msg(strstr(r->ev[i_lr2].msg, "exploding") != NULL, "%s", r->ev[i_lr2].msg);
    ck_assert(stat_num(e, "learn.health.exploded_steps") == 1);
    ck_assert(stat_num(e, "learn.training.refused_steps") == 2);
    ck_assert(stat_num(e, "learn.health.lr_factor") == 0.5);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_NONFINITE_LEARNING), a0 + 2);
    R->detect_event_ns = r->ev[i_lr2].ts_ns - t0;
    R->detect_wall_ns = r->ev[i_lr2].wall_ns - w0;
    for (long k = 0;
         k < 5000 && rec_find_sev(r, i_lr2 + 1, CSCALP_EVENT_LEARNING_RATE_CHANGED,
                                  CSCALP_SEVERITY_INFO) < 0;
         k++)
        push_quote(e, &m, NULL);
    const size_t i_up2 = expect_event(r, i_lr2 + 1, CSCALP_EVENT_LEARNING_RATE_CHANGED,
                                      CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_LEARNER,
                                      CSCALP_ACTION_RESUMED);
    ck_assert(stat_num(e, "learn.health.lr_factor") == 1.0);
    R->recover_event_ns = r->ev[i_up2].ts_ns - r->ev[i_lr2].ts_ns;
    R->recover_wall_ns = r->ev[i_up2].wall_ns - r->ev[i_lr2].wall_ns;
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "inputs x1e4 in one step: gradient norm over health.explode_grad_norm=1000, refused "
             "like a NaN; same recovery as nan_gradient");
    R->passed = 1;

    /* --- a NaN in the live network's weights: the next inference heals */
    R = record_begin(CSCALP_PLAYBOOK_NONFINITE_LEARNING, "corrupt_weights");
    ck_assert_msg(stat_str_is(e, "learn.serving", "network"),
                  "the fallback serves: the live network's weights are not read");
    const cscalp_learn *L = cscalp_engine_learner(e);
    const size_t np = cscalp_learn_param_count(L);
    g_case.params = malloc(np * sizeof(float));
    ck_assert_ptr_nonnull(g_case.params);
    memcpy(g_case.params, cscalp_learn_live_params(L), np * sizeof(float));
    ck_assert(all_finite(g_case.params, np));
    i0 = r->n;
    t0 = clock_of(e);
    w0 = wall_ns();
    ck_assert_int_eq(cscalp_fault_inject(e, CSCALP_FAULT_CORRUPT_WEIGHTS, 1), CSCALP_OK);
    ck_assert_msg(!all_finite(cscalp_learn_live_params(L), np), "the fault left the weights finite");
    const cscalp_signal s = infer_ok(e); /* asserts CSCALP_OK and finite probabilities */
    const int64_t w_answer = wall_ns();
    const size_t i_w = expect_event(r, i0, CSCALP_EVENT_WEIGHTS_RESTORED, CSCALP_SEVERITY_ERROR,
                                    CSCALP_COMPONENT_MODEL, CSCALP_ACTION_ROLLED_BACK);
    ck_assert_int_eq(r->ev[i_w].error, CSCALP_ENONFINITE);
    ck_assert_int_eq(rec_count(r, i0, CSCALP_EVENT_MODEL_OUTPUT_INVALID), 0);
    ck_assert(!(s.reasons & CSCALP_REASON_FALLBACK));
    /* The last good copy is the live network before the fault (nothing was
     * promoted in between). */
    ck_assert(memcmp(cscalp_learn_live_params(L), g_case.params, np * sizeof(float)) == 0);
    ck_assert(stat_num(e, "learn.health.weights_restored") == 1);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_NONFINITE_LEARNING), a0 + 3);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_MODEL), CSCALP_STATUS_DEGRADED);
    /* Healed once: the next inference needs nothing. */
    const size_t i1 = r->n;
    (void)infer_ok(e);
    ck_assert_int_eq(rec_count(r, i1, CSCALP_EVENT_WEIGHTS_RESTORED), 0);
    R->detect_event_ns = r->ev[i_w].ts_ns - t0;
    R->detect_wall_ns = r->ev[i_w].wall_ns - w0;
    R->recover_event_ns = 0; /* the same call answered with the restored weights */
    R->recover_wall_ns = w_answer - r->ev[i_w].wall_ns;
    push_n(e, &m, NULL, 250);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_MODEL), CSCALP_STATUS_OK);
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "detect and recover inside the first cscalp_infer after the fault; recover_wall: "
             "WEIGHTS_RESTORED -> the call returned a finite signal");
    R->passed = 1;
}
END_TEST

/* ========================================================== 2. fallback */

START_TEST(row_fallback)
{
    recorder *r = new_recorder();
    /* Short score windows so the switch is decided within seconds of
     * event time; a margin that a trained network clears comfortably. */
    cscalp_engine *e = open_engine(
        "{" LEARN_MODEL "," LEARN_FEATURES ",\"learn\":{" LEARN_KEYS
        ",\"score_window_samples\":40,\"fallback_margin_nats\":1,\"rollback_margin_nats\":10},"
        "\"health\":{\"degraded_hold_s\":2}}",
        r);
    market m;
    market_init(&m, 21, 100.0, 0.01);
    warm_learner(e, &m, NULL, 300);
    ck_assert_msg(stat_str_is(e, "learn.serving", "network"), "fallback serves before the fault");
    ck_assert(!(infer_ok(e).reasons & CSCALP_REASON_FALLBACK));
    const uint64_t a0 = actions_of(e, CSCALP_PLAYBOOK_FALLBACK);
    row_record *R = record_begin(CSCALP_PLAYBOOK_FALLBACK, "skew_weights");
    const size_t i0 = r->n;
    const int64_t t0 = clock_of(e), w0 = wall_ns();
    ck_assert_int_eq(cscalp_fault_inject(e, CSCALP_FAULT_SKEW_WEIGHTS, 1), CSCALP_OK);
    /* The skewed network says DOWN with confidence at once... */
    ck_assert(infer_ok(e).probabilities[CSCALP_CLASS_DOWN] > 0.99);
    for (long k = 0; k < 5000 && rec_find(r, i0, CSCALP_EVENT_FALLBACK_ENGAGED) < 0; k++)
        push_quote(e, &m, NULL);
    /* ... and scores worse than the fallback over the window. */
    const size_t i_eng = expect_event(r, i0, CSCALP_EVENT_FALLBACK_ENGAGED, CSCALP_SEVERITY_WARNING,
                                      CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_SWITCHED);
    const cscalp_signal s1 = infer_ok(e);
    ck_assert(s1.reasons & CSCALP_REASON_FALLBACK);
    ck_assert(s1.probabilities[CSCALP_CLASS_DOWN] < 0.99); /* the fallback's, not the skew's */
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_FALLBACK_SERVING);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_LEARNER), CSCALP_STATUS_DEGRADED);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_FALLBACK), a0 + 1);
    R->detect_event_ns = r->ev[i_eng].ts_ns - t0;
    R->detect_wall_ns = r->ev[i_eng].wall_ns - w0;
    /* The challenger (never skewed) beats the live network, is promoted,
     * and the network's rolling score comes back within half the margin. */
    for (long k = 0; k < 60000 && rec_find(r, i_eng, CSCALP_EVENT_FALLBACK_RELEASED) < 0; k++)
        push_quote(e, &m, NULL);
    const size_t i_rel = expect_event(r, i_eng, CSCALP_EVENT_FALLBACK_RELEASED,
                                      CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_LEARNER,
                                      CSCALP_ACTION_SWITCHED);
    const long i_pro = rec_find(r, i0, CSCALP_EVENT_MODEL_PROMOTED);
    ck_assert_msg(i_pro >= 0 && (size_t)i_pro < i_rel, "no promotion before the release: %s",
                  rec_dump(r, i_eng));
    const cscalp_signal s2 = infer_ok(e);
    ck_assert(!(s2.reasons & CSCALP_REASON_FALLBACK));
    ck_assert(s2.probabilities[CSCALP_CLASS_DOWN] < 0.99); /* the skew is gone */
    ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_FALLBACK_SERVING));
    R->recover_event_ns = r->ev[i_rel].ts_ns - r->ev[i_pro].ts_ns;
    R->recover_wall_ns = r->ev[i_rel].wall_ns - r->ev[i_pro].wall_ns;
    push_n(e, &m, NULL, 250);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_LEARNER), CSCALP_STATUS_OK);
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "learn.score_window_samples=40, fallback_margin_nats=1; detect: skew -> "
             "FALLBACK_ENGAGED; recover: the promotion that replaced the skewed network -> "
             "FALLBACK_RELEASED (fault to release %.3f s of event time)",
             (double)(r->ev[i_rel].ts_ns - t0) / 1e9);
    R->passed = 1;
}
END_TEST

/* ==================================================== 3. rollback storm */

START_TEST(row_rollback_storm)
{
    recorder *r = new_recorder();
    cscalp_engine *e = open_engine(
        "{" LEARN_MODEL "," LEARN_FEATURES ",\"learn\":{" LEARN_KEYS
        ",\"score_window_samples\":200,\"rollback_margin_nats\":10" NO_FALLBACK "},"
        "\"health\":{\"rollback_storm_count\":3,\"rollback_storm_window_s\":60,"
        "\"autonomy_probation_s\":30,\"degraded_hold_s\":2}}",
        r);
    venue *v = new_venue(V_ACK);
    market m;
    market_init(&m, 31, 100.0, 0.01);
    warm_learner(e, &m, v, 40);
    ck_assert_int_eq(cscalp_set_autonomy(e, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    const uint64_t a0 = actions_of(e, CSCALP_PLAYBOOK_ROLLBACK_STORM);
    row_record *R = record_begin(CSCALP_PLAYBOOK_ROLLBACK_STORM, "three_nan_rollbacks");
    const size_t i0 = r->n;
    const int64_t t0 = clock_of(e), w0 = wall_ns();
    size_t i_rb[3] = {0, 0, 0};
    for (int f = 0; f < 3; f++) {
        const size_t from = r->n;
        ck_assert_int_eq(cscalp_fault_inject(e, CSCALP_FAULT_NAN_GRADIENT, 1), CSCALP_OK);
        for (long k = 0; k < 2000 && rec_find(r, from, CSCALP_EVENT_LEARNER_ROLLBACK) < 0; k++)
            push_quote(e, &m, v);
        i_rb[f] = expect_event(r, from, CSCALP_EVENT_LEARNER_ROLLBACK, CSCALP_SEVERITY_WARNING,
                               CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_ROLLED_BACK);
        if (f < 2) {
            /* Below health.rollback_storm_count: the level stands. */
            ck_assert_int_eq(cscalp_get_autonomy(e), CSCALP_AUTONOMY_AUTONOMOUS);
            ck_assert_int_eq(rec_count(r, i0, CSCALP_EVENT_AUTONOMY_CHANGED), 0);
        }
        push_n(e, &m, v, 20);
    }
    /* The third one, within the window, lowers autonomy one level, right
     * after the rollback that made the storm. */
    ck_assert(r->ev[i_rb[2]].ts_ns - r->ev[i_rb[0]].ts_ns < 60 * SEC);
    const size_t i_low = expect_event(r, i_rb[2], CSCALP_EVENT_AUTONOMY_CHANGED,
                                      CSCALP_SEVERITY_WARNING, CSCALP_COMPONENT_RISK,
                                      CSCALP_ACTION_DEGRADED);
    ck_assert_uint_eq(i_low, i_rb[2] + 1);
    ck_assert_msg(strstr(r->ev[i_low].msg, "AUTONOMOUS -> ASSISTED") != NULL, "%s",
                  r->ev[i_low].msg);
    ck_assert_int_eq(cscalp_get_autonomy(e), CSCALP_AUTONOMY_ASSISTED);
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_AUTONOMY_LOWERED);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_RISK), CSCALP_STATUS_DEGRADED);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_ROLLBACK_STORM), a0 + 1);
    R->detect_event_ns = r->ev[i_low].ts_ns - t0;
    R->detect_wall_ns = r->ev[i_low].wall_ns - w0;
    /* Probation: health.autonomy_probation_s (30 s) without a rollback
     * gives the level back; still lowered a little before. */
    const int64_t t_last = r->ev[i_rb[2]].ts_ns;
    while (m.t + m.dt < t_last + 29 * SEC)
        push_quote(e, &m, v);
    ck_assert_int_eq(cscalp_get_autonomy(e), CSCALP_AUTONOMY_ASSISTED);
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_AUTONOMY_LOWERED);
    for (long k = 0; k < 2000 && rec_find_sev(r, i_low + 1, CSCALP_EVENT_AUTONOMY_CHANGED,
                                             CSCALP_SEVERITY_INFO) < 0;
         k++)
        push_quote(e, &m, v);
    const size_t i_up = expect_event(r, i_low + 1, CSCALP_EVENT_AUTONOMY_CHANGED,
                                     CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_RISK,
                                     CSCALP_ACTION_RESUMED);
    ck_assert_int_eq(rec_count(r, i_low + 1, CSCALP_EVENT_LEARNER_ROLLBACK), 0);
    /* On the first event at or after the probation's end. */
    ck_assert_int_ge(r->ev[i_up].ts_ns - t_last, 30 * SEC);
    ck_assert_int_lt(r->ev[i_up].ts_ns - t_last, 30 * SEC + m.dt);
    ck_assert_int_eq(cscalp_get_autonomy(e), CSCALP_AUTONOMY_AUTONOMOUS);
    ck_assert_int_eq(infer_ok(e).autonomy, CSCALP_AUTONOMY_AUTONOMOUS);
    ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_AUTONOMY_LOWERED));
    R->recover_event_ns = r->ev[i_up].ts_ns - t_last;
    R->recover_wall_ns = r->ev[i_up].wall_ns - r->ev[i_rb[2]].wall_ns;
    push_n(e, &m, v, 250);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_RISK), CSCALP_STATUS_OK);
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "rollback_storm_count=3 in 60 s, autonomy_probation_s=30; detect: first fault -> "
             "AUTONOMY_CHANGED to ASSISTED; recover: last rollback -> back to AUTONOMOUS");
    R->passed = 1;
}
END_TEST

/* ======================================================= 4. stale feed */

#define STALE_JSON                                                                         \
    "{" TRADING_BASE ",\"learn\":{\"mode\":\"off\"},\"risk\":{" TRADING_RISK_COMMON          \
    ",\"max_daily_drawdown_quote\":1e9,\"max_total_drawdown_quote\":1e9},"                    \
    "\"health\":{\"stale_feed_ms\":2000,\"feed_resume_ms\":1000,\"degraded_hold_s\":1}}"

/* Push quotes until at least one order is acknowledged and working. */
static int get_working_orders(cscalp_engine *e, market *m, venue *v)
{
    for (long k = 0; k < 12000; k++) {
        push_quote(e, m, v);
        const int n = cscalp_get_orders(e, NULL, 0);
        if (n > 0) {
            cscalp_working_order wo[16];
            wo[0].size = sizeof wo[0];
            const int got = cscalp_get_orders(e, wo, 16);
            int acked = 0;
            for (int i = 0; i < got && i < 16; i++)
                acked += wo[i].acked && wo[i].status == CSCALP_ORDER_STATUS_OPEN;
            if (acked > 0)
                return n;
        }
    }
    ck_abort_msg("no working order within 120 s of market");
    return 0;
}

/* The client ids of the working orders, into ids[cap]; how many. */
static int working_ids(const cscalp_engine *e, uint64_t *ids, int cap)
{
    cscalp_working_order wo[16];
    wo[0].size = sizeof wo[0];
    const int n = cscalp_get_orders(e, wo, 16);
    ck_assert_int_ge(n, 0);
    ck_assert_int_le(n, cap);
    for (int i = 0; i < n; i++)
        ids[i] = wo[i].client_id;
    return n;
}

/* Each of ids[n] got a CANCEL with reason SUPERVISOR in log[from, ...),
 * and the supervisor cancelled nothing else. */
static void assert_supervisor_cancelled(const venue *v, size_t from, const uint64_t *ids, int n)
{
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (size_t k = from; k < v->n && !found; k++)
            found = v->log[k].kind == CSCALP_INTENT_CANCEL &&
                    v->log[k].reason == CSCALP_INTENT_SUPERVISOR && v->log[k].client_id == ids[i];
        ck_assert_msg(found, "working order %llu not cancelled by the supervisor",
                      (unsigned long long)ids[i]);
    }
    ck_assert_uint_eq(venue_count(v, from, CSCALP_INTENT_CANCEL, CSCALP_INTENT_SUPERVISOR, 0),
                      (size_t)n);
}

/* After data came back: exits only until FEED_RESUMED, then entries. */
static void expect_recovery(cscalp_engine *e, market *m, venue *v, recorder *r, size_t from,
                            row_record *R, int64_t t_clear, int64_t w_clear)
{
    const size_t n0 = v->n;
    const double held0 = stat_num(e, "supervisor.orders_held");
    for (long k = 0; k < 500 && rec_find(r, from, CSCALP_EVENT_FEED_RESUMED) < 0; k++) {
        ck_assert(flags_of(e) & CSCALP_SUPERVISOR_FEED_RECOVERING);
        ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_FEED_STALE));
        ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_FEED), CSCALP_STATUS_DEGRADED);
        push_quote(e, m, v);
    }
    const size_t i_res = expect_event(r, from, CSCALP_EVENT_FEED_RESUMED, CSCALP_SEVERITY_INFO,
                                      CSCALP_COMPONENT_FEED, CSCALP_ACTION_RESUMED);
    /* Exits only meanwhile: every NEW intent before the resume (in the
     * call that resumed, the decision comes after it) was reduce-only. */
    size_t n_before = v->n;
    for (size_t i = n0; i < v->n; i++)
        if (v->log[i].ts_ns >= r->ev[i_res].ts_ns) {
            n_before = i;
            break;
        }
    const size_t news = venue_count(v, n0, CSCALP_INTENT_NEW, -1, 0) -
                        venue_count(v, n_before, CSCALP_INTENT_NEW, -1, 0);
    const size_t exits = venue_count(v, n0, CSCALP_INTENT_NEW, -1, CSCALP_INTENT_REDUCE_ONLY) -
                         venue_count(v, n_before, CSCALP_INTENT_NEW, -1,
                                     CSCALP_INTENT_REDUCE_ONLY);
    ck_assert_uint_eq(news, exits);
    /* ... and entries were wanted meanwhile: the gate held them. */
    ck_assert(stat_num(e, "supervisor.orders_held") > held0);
    /* health.feed_resume_ms (1000) of data, on the first quote after. */
    ck_assert_int_ge(r->ev[i_res].ts_ns - t_clear, 1000 * MS);
    ck_assert_int_lt(r->ev[i_res].ts_ns - t_clear, 1000 * MS + m->dt);
    ck_assert(!(flags_of(e) & (CSCALP_SUPERVISOR_FEED_RECOVERING | CSCALP_SUPERVISOR_FEED_STALE)));
    R->recover_event_ns = r->ev[i_res].ts_ns - t_clear;
    R->recover_wall_ns = r->ev[i_res].wall_ns - w_clear;
    /* Entries flow again. */
    const size_t n1 = n_before;
    for (long k = 0; k < 6000 && venue_first_entry(v, n1) < 0; k++)
        push_quote(e, m, v);
    const long i_entry = venue_first_entry(v, n1);
    ck_assert_msg(i_entry >= 0, "no entry within 60 s after FEED_RESUMED");
    ck_assert_int_ge(v->log[i_entry].ts_ns, r->ev[i_res].ts_ns);
    /* The FEED_STALE warning is older than the hold by now (or soon). */
    push_n(e, m, v, 110);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_FEED), CSCALP_STATUS_OK);
    snprintf(R->note + strlen(R->note), sizeof R->note - strlen(R->note),
             "; first entry %.3f s after the data came back",
             (double)(v->log[i_entry].ts_ns - t_clear) / 1e9);
}

START_TEST(row_stale_feed)
{
    recorder *r = new_recorder();
    cscalp_engine *e = open_engine(STALE_JSON, r);
    venue *v = new_venue(V_ACK);
    market m;
    market_init(&m, 41, 50000.0, 0.1);
    ck_assert_int_eq(cscalp_set_autonomy(e, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    const uint64_t a0 = actions_of(e, CSCALP_PLAYBOOK_STALE_FEED);

    /* --- the host keeps ticking through a silence */
    row_record *R = record_begin(CSCALP_PLAYBOOK_STALE_FEED, "silence_with_ticks");
    (void)get_working_orders(e, &m, v);
    const int64_t t_last = m.t;
    const size_t i0 = r->n;
    const int64_t w0 = wall_ns();
    int64_t t = t_last;
    /* The orders working before each tick: the stale one must cancel
     * those (the policy may change its orders in the ticks before). */
    uint64_t ids[16];
    int working = 0;
    size_t n_tick = v->n;
    while (rec_find(r, i0, CSCALP_EVENT_FEED_STALE) < 0 && t < t_last + 10 * SEC) {
        working = working_ids(e, ids, 16);
        n_tick = v->n;
        t += 100 * MS;
        tick_to(e, v, t);
    }
    const size_t i_st = expect_event(r, i0, CSCALP_EVENT_FEED_STALE, CSCALP_SEVERITY_WARNING,
                                     CSCALP_COMPONENT_FEED, CSCALP_ACTION_SUSPENDED);
    /* At the first tick past health.stale_feed_ms (2000) of silence. */
    ck_assert_int_eq(r->ev[i_st].ts_ns, t_last + 2100 * MS);
    /* Every working order cancelled, by the supervisor, in that tick. */
    ck_assert_int_gt(working, 0);
    assert_supervisor_cancelled(v, n_tick, ids, working);
    ck_assert_int_eq(cscalp_get_orders(e, NULL, 0), 0);
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_FEED_STALE);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_FEED), CSCALP_STATUS_DEGRADED);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_STALE_FEED), a0 + 1);
    R->detect_event_ns = r->ev[i_st].ts_ns - t_last;
    R->detect_wall_ns = r->ev[i_st].wall_ns - w0;
    /* Nothing new while stale, though the policy keeps asking. */
    const size_t n1 = v->n;
    const double held0 = stat_num(e, "supervisor.orders_held");
    for (int k = 0; k < 30; k++) {
        t += 100 * MS;
        tick_to(e, v, t);
    }
    ck_assert_uint_eq(venue_count(v, n1, CSCALP_INTENT_NEW, -1, 0), 0);
    ck_assert_msg(stat_num(e, "supervisor.orders_held") > held0,
                  "the policy wanted nothing while stale: the gate was not exercised");
    ck_assert_int_eq(rec_count(r, i_st + 1, CSCALP_EVENT_FEED_STALE), 0); /* once per episode */
    /* Data again. */
    m.t = t;
    const size_t i1 = r->n;
    const int64_t w_clear = wall_ns();
    push_quote(e, &m, v);
    const int64_t t_clear = m.t;
    snprintf(R->note, sizeof R->note,
             "stale_feed_ms=2000 (ticks every 100 ms), feed_resume_ms=1000; detect: last data -> "
             "FEED_STALE; recover: first data -> FEED_RESUMED");
    expect_recovery(e, &m, v, r, i1, R, t_clear, w_clear);
    record_events(R, r, i0, r->n);
    R->passed = 1;

    /* --- no ticks: the silence is found by the next event */
    R = record_begin(CSCALP_PLAYBOOK_STALE_FEED, "gap_without_ticks");
    (void)get_working_orders(e, &m, v);
    const int working2 = working_ids(e, ids, 16);
    const int64_t t_last2 = m.t;
    const size_t i2 = r->n, n2 = v->n;
    m.t += 3000 * MS - m.dt; /* the next quote comes 3 s after the last */
    const int64_t w2 = wall_ns();
    push_quote(e, &m, v);
    const int64_t t_back = m.t;
    const size_t i_gap = expect_event(r, i2, CSCALP_EVENT_FEED_STALE, CSCALP_SEVERITY_WARNING,
                                      CSCALP_COMPONENT_FEED, CSCALP_ACTION_SUSPENDED);
    ck_assert_int_eq(r->ev[i_gap].ts_ns, t_back);
    ck_assert_msg(strstr(r->ev[i_gap].msg, "3000 ms") != NULL, "%s", r->ev[i_gap].msg);
    ck_assert_int_gt(working2, 0);
    assert_supervisor_cancelled(v, n2, ids, working2);
    ck_assert_int_eq(cscalp_get_orders(e, NULL, 0), 0);
    ck_assert_uint_eq(venue_count(v, n2, CSCALP_INTENT_NEW, CSCALP_INTENT_ENTRY, 0), 0);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_STALE_FEED), a0 + 2);
    R->detect_event_ns = r->ev[i_gap].ts_ns - t_last2;
    R->detect_wall_ns = r->ev[i_gap].wall_ns - w2;
    snprintf(R->note, sizeof R->note,
             "a 3 s gap with no tick; detect: last data -> FEED_STALE raised by the first event "
             "after the gap; recover: that event -> FEED_RESUMED");
    expect_recovery(e, &m, v, r, i_gap + 1, R, t_back, r->ev[i_gap].wall_ns);
    record_events(R, r, i2, r->n);
    R->passed = 1;
}
END_TEST

/* ======================================================= 5. quarantine */

static void features_now(const cscalp_engine *e, double *raw, double *norm)
{
    size_t count = 0;
    ck_assert_int_eq(cscalp_features(e, raw, norm, 256, &count), CSCALP_OK);
    ck_assert_uint_le(count, 256);
}

START_TEST(row_quarantine)
{
    recorder *r = new_recorder();
    cscalp_engine *e = open_engine("{" LEARN_MODEL "," LEARN_FEATURES ",\"learn\":{" LEARN_KEYS
                                   NO_FALLBACK "},\"health\":{\"degraded_hold_s\":1}}",
                                   r);
    market m;
    market_init(&m, 51, 100.0, 0.01);
    /* Quotes and trades at the touch, for 10 s. */
    for (int k = 0; k < 1000; k++) {
        push_quote(e, &m, NULL);
        if (k % 3 == 0) {
            cscalp_trade tr;
            memset(&tr, 0, sizeof tr);
            tr.ts_ns = m.t + MS;
            tr.price = k % 2 ? market_ask(&m) : market_bid(&m);
            tr.size = 0.5;
            tr.side = k % 2 ? CSCALP_SIDE_BUY : CSCALP_SIDE_SELL;
            ck_assert_int_eq(cscalp_push_trade(e, &tr), CSCALP_OK);
        }
    }
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_FEED), CSCALP_STATUS_OK);
    const cscalp_health_report h0 = health_now(e);
    ck_assert_uint_eq(h0.feed_rejected[CSCALP_REJECT_OUTLIER], 0);
    static double raw0[256], norm0[256], raw1[256], norm1[256];
    features_now(e, raw0, norm0);
    const double taken0 = stat_num(e, "learn.samples.taken");
    const double matured0 = stat_num(e, "learn.samples.matured");
    const uint64_t a0 = h0.playbook_actions[CSCALP_PLAYBOOK_QUARANTINE];
    const double ref = market_mid(&m);

    row_record *R = record_begin(CSCALP_PLAYBOOK_QUARANTINE, "poisoned_trade_and_quote");
    const size_t i0 = r->n;
    /* A trade printed at ten times the price. */
    cscalp_trade bad;
    memset(&bad, 0, sizeof bad);
    bad.ts_ns = m.t + 5 * MS;
    bad.price = 10.0 * ref;
    bad.size = 1.0;
    bad.side = CSCALP_SIDE_BUY;
    const int64_t w0 = wall_ns();
    ck_assert_int_eq(cscalp_push_trade(e, &bad), CSCALP_EOUTLIER);
    ck_assert_msg(strstr(cscalp_last_error(e), "quarantined") != NULL, "%s", cscalp_last_error(e));
    const size_t i_q1 = expect_event(r, i0, CSCALP_EVENT_DATA_QUARANTINED, CSCALP_SEVERITY_WARNING,
                                     CSCALP_COMPONENT_FEED, CSCALP_ACTION_REJECTED);
    ck_assert_int_eq(r->ev[i_q1].error, CSCALP_EOUTLIER);
    /* A quote whose mid is 20 % up. */
    cscalp_quote badq = market_quote_now(&m);
    badq.ts_ns = m.t + 6 * MS;
    badq.bid_price *= 1.2;
    badq.ask_price *= 1.2;
    ck_assert_int_eq(cscalp_push_quote(e, &badq), CSCALP_EOUTLIER);
    (void)expect_event(r, i_q1 + 1, CSCALP_EVENT_DATA_QUARANTINED, CSCALP_SEVERITY_WARNING,
                       CSCALP_COMPONENT_FEED, CSCALP_ACTION_REJECTED);
    /* Counted as refused, nothing applied: the same counters, clock,
     * features and learning state as before. */
    const cscalp_health_report h1 = health_now(e);
    ck_assert_uint_eq(h1.feed_rejected[CSCALP_REJECT_OUTLIER], 2);
    ck_assert(memcmp(h1.feed_accepted, h0.feed_accepted, sizeof h0.feed_accepted) == 0);
    ck_assert_int_eq(h1.clock_ns, h0.clock_ns);
    features_now(e, raw1, norm1);
    ck_assert(memcmp(raw0, raw1, sizeof raw0) == 0);
    ck_assert(memcmp(norm0, norm1, sizeof norm0) == 0);
    ck_assert(stat_num(e, "learn.samples.taken") == taken0);
    ck_assert(stat_num(e, "learn.samples.matured") == matured0);
    ck_assert(stat_num(e, "feed.rejected.outlier") == 2);
    ck_assert(h1.supervisor_flags & CSCALP_SUPERVISOR_QUARANTINE);
    ck_assert_int_eq(h1.components[CSCALP_COMPONENT_FEED].status, CSCALP_STATUS_DEGRADED);
    ck_assert_uint_eq(h1.playbook_actions[CSCALP_PLAYBOOK_QUARANTINE], a0 + 2);
    /* Refused in the call, at the engine clock (the event never moved it). */
    ck_assert_int_eq(r->ev[i_q1].ts_ns, h0.clock_ns);
    R->detect_event_ns = 0;
    R->detect_wall_ns = r->ev[i_q1].wall_ns - w0;
    /* The market carries on at the reference: the held level was a one-off. */
    const int64_t w_clean = wall_ns();
    push_quote(e, &m, NULL);
    ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_QUARANTINE));
    features_now(e, raw1, norm1);
    ck_assert(memcmp(raw0, raw1, sizeof raw0) != 0); /* a real quote is applied */
    R->recover_event_ns = m.t - bad.ts_ns;
    R->recover_wall_ns = wall_ns() - w_clean;
    for (int k = 0; k < 150; k++)
        push_quote(e, &m, NULL);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_FEED), CSCALP_STATUS_OK);
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "trade at 10x and quote mid +20%%: EOUTLIER in the call (detect 0 ns of event "
             "time), never applied; recover: the next clean quote clears the quarantine flag");
    R->passed = 1;

    /* --- a genuine jump: feed.outlier_confirm_events (3) agree */
    R = record_begin(CSCALP_PLAYBOOK_QUARANTINE, "genuine_jump_confirmed");
    const size_t i1 = r->n;
    const uint64_t a1 = actions_of(e, CSCALP_PLAYBOOK_QUARANTINE);
    m.k = (int64_t)llround((double)m.k * 1.2); /* the market jumps 20 % */
    const int64_t t_jump = m.t + m.dt, w_jump = wall_ns();
    for (int k = 0; k < 2; k++) {
        const cscalp_quote q = market_next(&m);
        ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_EOUTLIER);
    }
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_QUARANTINE);
    ck_assert_int_eq(rec_count(r, i1, CSCALP_EVENT_DATA_QUARANTINED), 2);
    const cscalp_quote q3 = market_next(&m);
    ck_assert_int_eq(cscalp_push_quote(e, &q3), CSCALP_OK);
    const size_t i_c = expect_event(r, i1, CSCALP_EVENT_LEVEL_CONFIRMED, CSCALP_SEVERITY_INFO,
                                    CSCALP_COMPONENT_FEED, CSCALP_ACTION_APPLIED);
    ck_assert_int_eq(r->ev[i_c].ts_ns, q3.ts_ns);
    ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_QUARANTINE));
    /* The new level is the book now: the position's mark follows it, and
     * the quotes after it pass. */
    cscalp_position ps;
    memset(&ps, 0, sizeof ps);
    ps.size = sizeof ps;
    ck_assert_int_eq(cscalp_get_position(e, &ps), CSCALP_OK);
    ck_assert(fabs(ps.mark_price - 0.5 * (q3.bid_price + q3.ask_price)) < 1e-9);
    const size_t i2 = r->n;
    push_n(e, &m, NULL, 150);
    ck_assert_int_eq(rec_count(r, i2, CSCALP_EVENT_DATA_QUARANTINED), 0);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_QUARANTINE), a1 + 2);
    ck_assert_uint_eq(health_now(e).feed_rejected[CSCALP_REJECT_OUTLIER], 4);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_FEED), CSCALP_STATUS_OK);
    R->detect_event_ns = 0; /* the first quote of the new level was held in its call */
    R->detect_wall_ns = r->ev[i1].wall_ns - w_jump;
    R->recover_event_ns = r->ev[i_c].ts_ns - t_jump;
    R->recover_wall_ns = r->ev[i_c].wall_ns - w_jump;
    record_events(R, r, i1, r->n);
    snprintf(R->note, sizeof R->note,
             "a real +20%% move, quotes every 10 ms: two quarantined, the third confirms the "
             "level (feed.outlier_confirm_events=3)");
    R->passed = 1;
}
END_TEST

/* =================================================== 6. reject breaker */

START_TEST(row_reject_breaker)
{
    recorder *r = new_recorder();
    cscalp_engine *e = open_engine(
        "{" TRADING_BASE ",\"learn\":{\"mode\":\"off\"},\"risk\":{" TRADING_RISK_COMMON
        ",\"max_daily_drawdown_quote\":1e9,\"max_total_drawdown_quote\":1e9},"
        "\"health\":{\"reject_breaker_count\":5,\"reject_breaker_window_ms\":10000,"
        "\"reject_breaker_cooldown_ms\":2000,\"degraded_hold_s\":1}}",
        r);
    venue *v = new_venue(V_REJECT);
    market m;
    market_init(&m, 61, 50000.0, 0.1);
    ck_assert_int_eq(cscalp_set_autonomy(e, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    const uint64_t a0 = actions_of(e, CSCALP_PLAYBOOK_REJECT_BREAKER);

    row_record *R = record_begin(CSCALP_PLAYBOOK_REJECT_BREAKER, "reject_burst_probe_acked");
    const size_t i0 = r->n;
    for (long k = 0; k < 6000 && rec_find(r, i0, CSCALP_EVENT_BREAKER_OPENED) < 0; k++)
        push_quote(e, &m, v);
    const size_t i_open = expect_event(r, i0, CSCALP_EVENT_BREAKER_OPENED, CSCALP_SEVERITY_WARNING,
                                       CSCALP_COMPONENT_RISK, CSCALP_ACTION_SUSPENDED);
    /* Opened by the fifth venue reject, in the call that reported it. */
    ck_assert_uint_eq(rec_count(r, i0, CSCALP_EVENT_ORDER_REJECTED), 5);
    const long i_rej1 = rec_find(r, i0, CSCALP_EVENT_ORDER_REJECTED);
    ck_assert_msg(strstr(r->ev[i_open].msg, "5 venue rejects") != NULL, "%s", r->ev[i_open].msg);
    ck_assert_uint_eq(v->rejected_sent, 5);
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_BREAKER_OPEN);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_RISK), CSCALP_STATUS_DEGRADED);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_REJECT_BREAKER), a0 + 1);
    R->detect_event_ns = r->ev[i_open].ts_ns - r->ev[i_rej1].ts_ns;
    R->detect_wall_ns = r->ev[i_open].wall_ns - r->ev[i_rej1].wall_ns;
    /* The venue is fine again from now; the breaker waits its cool-down
     * (2000 ms) with nothing new sent, though the policy asks. */
    v->mode = V_HOLD;
    const int64_t t_open = r->ev[i_open].ts_ns, w_fixed = wall_ns();
    const size_t n0 = v->n;
    const double held0 = stat_num(e, "supervisor.orders_held");
    while (m.t + m.dt < t_open + 2000 * MS)
        push_quote(e, &m, v);
    ck_assert_uint_eq(venue_count(v, n0, CSCALP_INTENT_NEW, -1, 0), 0);
    ck_assert(stat_num(e, "supervisor.orders_held") > held0);
    ck_assert_int_eq(rec_count(r, i_open, CSCALP_EVENT_BREAKER_HALF_OPEN), 0);
    push_quote(e, &m, v);
    const size_t i_half = expect_event(r, i_open, CSCALP_EVENT_BREAKER_HALF_OPEN,
                                       CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_RISK,
                                       CSCALP_ACTION_NONE);
    ck_assert_int_ge(r->ev[i_half].ts_ns - t_open, 2000 * MS);
    ck_assert_int_lt(r->ev[i_half].ts_ns - t_open, 2000 * MS + m.dt);
    /* Half-open: one probe, and only one, while it waits for its answer. */
    const size_t n_half = n0; /* nothing NEW since n0 before the half-open push */
    for (long k = 0; k < 3000 && venue_count(v, n_half, CSCALP_INTENT_NEW, -1, 0) == 0; k++)
        push_quote(e, &m, v);
    ck_assert_uint_eq(venue_count(v, n_half, CSCALP_INTENT_NEW, -1, 0), 1);
    uint64_t probe = 0;
    for (size_t i = n_half; i < v->n; i++)
        if (v->log[i].kind == CSCALP_INTENT_NEW)
            probe = v->log[i].client_id;
    push_n(e, &m, v, 100); /* 1 s, under the cool-down: still just the probe */
    ck_assert_uint_eq(venue_count(v, n_half, CSCALP_INTENT_NEW, -1, 0), 1);
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_BREAKER_OPEN); /* probing */
    /* The venue takes the probe: closed, orders flow. */
    const size_t i_p = r->n;
    send_update(e, CSCALP_UPDATE_ACK, probe, NULL);
    const size_t i_closed = expect_event(r, i_p, CSCALP_EVENT_BREAKER_CLOSED, CSCALP_SEVERITY_INFO,
                                         CSCALP_COMPONENT_RISK, CSCALP_ACTION_RESUMED);
    ck_assert(!(flags_of(e) & (CSCALP_SUPERVISOR_BREAKER_OPEN |
                               CSCALP_SUPERVISOR_BREAKER_HALF_OPEN)));
    v->mode = V_ACK;
    venue_poll(e, v);
    const size_t n_closed = v->n;
    for (long k = 0; k < 6000 && venue_count(v, n_closed, CSCALP_INTENT_NEW, -1, 0) < 2; k++)
        push_quote(e, &m, v);
    ck_assert_uint_ge(venue_count(v, n_closed, CSCALP_INTENT_NEW, -1, 0), 2);
    R->recover_event_ns = r->ev[i_closed].ts_ns - t_open;
    R->recover_wall_ns = r->ev[i_closed].wall_ns - w_fixed;
    push_n(e, &m, v, 110);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_RISK), CSCALP_STATUS_OK);
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "reject_breaker_count=5 in 10 s, cooldown 2000 ms; detect: first reject -> "
             "BREAKER_OPENED; recover: venue fixed at the opening -> BREAKER_CLOSED by the "
             "probe's ACK");
    R->passed = 1;

    /* --- a rejected probe reopens with the cool-down doubled */
    R = record_begin(CSCALP_PLAYBOOK_REJECT_BREAKER, "probe_rejected_reopens");
    ck_assert(stat_num(e, "supervisor.breaker_cooldown_ms") == 2000);
    v->mode = V_REJECT;
    v->rejected_sent = 0;
    const size_t i1 = r->n;
    for (long k = 0; k < 6000 && rec_find(r, i1, CSCALP_EVENT_BREAKER_OPENED) < 0; k++)
        push_quote(e, &m, v);
    const size_t i_open2 = expect_event(r, i1, CSCALP_EVENT_BREAKER_OPENED, CSCALP_SEVERITY_WARNING,
                                        CSCALP_COMPONENT_RISK, CSCALP_ACTION_SUSPENDED);
    ck_assert_uint_eq(v->rejected_sent, 5);
    v->mode = V_HOLD;
    for (long k = 0; k < 3000 && rec_find(r, i_open2, CSCALP_EVENT_BREAKER_HALF_OPEN) < 0; k++)
        push_quote(e, &m, v);
    const size_t i_half2 = expect_event(r, i_open2, CSCALP_EVENT_BREAKER_HALF_OPEN,
                                        CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_RISK,
                                        CSCALP_ACTION_NONE);
    size_t n_h2 = v->n;
    for (size_t i = v->n; i-- > 0;)
        if (v->log[i].ts_ns < r->ev[i_half2].ts_ns) {
            n_h2 = i + 1;
            break;
        }
    for (long k = 0; k < 3000 && venue_count(v, n_h2, CSCALP_INTENT_NEW, -1, 0) == 0; k++)
        push_quote(e, &m, v);
    ck_assert_uint_eq(venue_count(v, n_h2, CSCALP_INTENT_NEW, -1, 0), 1);
    uint64_t probe2 = 0;
    for (size_t i = n_h2; i < v->n; i++)
        if (v->log[i].kind == CSCALP_INTENT_NEW)
            probe2 = v->log[i].client_id;
    const size_t i_pr = r->n;
    const int64_t w_rej = wall_ns();
    send_update(e, CSCALP_UPDATE_REJECTED, probe2, "venue: still down");
    const size_t i_re = expect_event(r, i_pr, CSCALP_EVENT_BREAKER_OPENED, CSCALP_SEVERITY_WARNING,
                                     CSCALP_COMPONENT_RISK, CSCALP_ACTION_SUSPENDED);
    ck_assert_msg(strstr(r->ev[i_re].msg, "4000 ms (was 2000)") != NULL, "%s", r->ev[i_re].msg);
    ck_assert(stat_num(e, "supervisor.breaker_cooldown_ms") == 4000);
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_BREAKER_OPEN);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_REJECT_BREAKER), a0 + 3);
    R->detect_event_ns = 0; /* in the call that reported the probe's reject */
    R->detect_wall_ns = r->ev[i_re].wall_ns - w_rej;
    /* Half-open again only after the doubled cool-down. */
    const int64_t t_re = r->ev[i_re].ts_ns;
    for (long k = 0; k < 6000 && rec_find(r, i_re, CSCALP_EVENT_BREAKER_HALF_OPEN) < 0; k++)
        push_quote(e, &m, v);
    const size_t i_half3 = expect_event(r, i_re, CSCALP_EVENT_BREAKER_HALF_OPEN,
                                        CSCALP_SEVERITY_INFO, CSCALP_COMPONENT_RISK,
                                        CSCALP_ACTION_NONE);
    ck_assert_int_ge(r->ev[i_half3].ts_ns - t_re, 4000 * MS);
    ck_assert_int_lt(r->ev[i_half3].ts_ns - t_re, 4000 * MS + m.dt);
    size_t n_h3 = v->n;
    for (size_t i = v->n; i-- > 0;)
        if (v->log[i].ts_ns < r->ev[i_half3].ts_ns) {
            n_h3 = i + 1;
            break;
        }
    for (long k = 0; k < 3000 && venue_count(v, n_h3, CSCALP_INTENT_NEW, -1, 0) == 0; k++)
        push_quote(e, &m, v);
    ck_assert_uint_eq(venue_count(v, n_h3, CSCALP_INTENT_NEW, -1, 0), 1);
    uint64_t probe3 = 0;
    for (size_t i = n_h3; i < v->n; i++)
        if (v->log[i].kind == CSCALP_INTENT_NEW)
            probe3 = v->log[i].client_id;
    const size_t i_p3 = r->n;
    send_update(e, CSCALP_UPDATE_ACK, probe3, NULL);
    const size_t i_cl3 = expect_event(r, i_p3, CSCALP_EVENT_BREAKER_CLOSED, CSCALP_SEVERITY_INFO,
                                      CSCALP_COMPONENT_RISK, CSCALP_ACTION_RESUMED);
    /* Closed: the cool-down is back to its configured length. */
    ck_assert(stat_num(e, "supervisor.breaker_cooldown_ms") == 2000);
    R->recover_event_ns = r->ev[i_cl3].ts_ns - t_re;
    R->recover_wall_ns = r->ev[i_cl3].wall_ns - r->ev[i_re].wall_ns;
    record_events(R, r, i1, r->n);
    snprintf(R->note, sizeof R->note,
             "the probe rejected: BREAKER_OPENED again with 4000 ms (was 2000); recover: reopen "
             "-> the next probe ACKed -> BREAKER_CLOSED, cool-down back to 2000 ms");
    R->passed = 1;
}
END_TEST

/* =================================================== 7. learner stalled */

START_TEST(row_learner_stalled)
{
    row_record *R = record_begin(CSCALP_PLAYBOOK_LEARNER_STALLED, "stall");
    if (!cscalp_has_feature(CSCALP_FEATURE_THREADS)) {
        snprintf(R->note, sizeof R->note, "skipped: built without the learner thread");
        R->passed = 1;
        return;
    }
    recorder *r = new_recorder();
    /* An inline engine has no thread to stall. */
    cscalp_engine *inl = open_engine("{\"learn\":{\"mode\":\"inline\"}}", NULL);
    ck_assert_int_eq(cscalp_fault_inject(inl, CSCALP_FAULT_LEARNER_STALL, 1), CSCALP_EUNSUPPORTED);
    close_engine(inl);

    cscalp_engine *e = open_engine(
        "{" LEARN_MODEL "," LEARN_FEATURES ",\"learn\":{" LEARN_KEYS
        ",\"mode\":\"async\",\"rollback_margin_nats\":10" NO_FALLBACK "},"
        "\"health\":{\"learner_stall_wall_ms\":200,\"degraded_hold_s\":1}}",
        r);
    market m;
    market_init(&m, 71, 100.0, 0.01);
    push_n(e, &m, NULL, 2000);
    cscalp_adapt_report ar;
    memset(&ar, 0, sizeof ar);
    ar.size = sizeof ar;
    ck_assert_int_eq(cscalp_adapt(e, 0, &ar), CSCALP_OK);
    ck_assert_uint_gt(ar.steps_total, 0);
    const uint64_t a0 = actions_of(e, CSCALP_PLAYBOOK_LEARNER_STALLED);

    /* --- the thread stops taking work; data keeps coming */
    const size_t i0 = r->n;
    const double steps0 = stat_num(e, "learn.training.steps");
    const int64_t t0 = clock_of(e), w0 = wall_ns();
    ck_assert_int_eq(cscalp_fault_inject(e, CSCALP_FAULT_LEARNER_STALL, 1), CSCALP_OK);
    /* The host's pace: a quote per 10 ms of event time, a tick now and
     * then, and the wall clock moving (the watchdog's clock). */
    for (long k = 0; rec_find(r, i0, CSCALP_EVENT_LEARNER_RESTARTED) < 0; k++) {
        push_quote(e, &m, NULL);
        if (k % 10 == 0)
            tick_to(e, NULL, m.t);
        sleep_us(1000);
        ck_assert_msg(wall_ns() - w0 < 20 * SEC, "no restart within 20 s of wall time: %s",
                      rec_dump(r, i0));
    }
    const size_t i_st = expect_event(r, i0, CSCALP_EVENT_LEARNER_STALLED, CSCALP_SEVERITY_ERROR,
                                     CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_RESTARTED);
    ck_assert_msg(strstr(r->ev[i_st].msg, "no progress") != NULL, "%s", r->ev[i_st].msg);
    const size_t i_rs = expect_event(r, i_st, CSCALP_EVENT_LEARNER_RESTARTED, CSCALP_SEVERITY_INFO,
                                     CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_RESTARTED);
    ck_assert_uint_eq(i_rs, i_st + 1);
    /* The watchdog's own clock: not before health.learner_stall_wall_ms of
     * no progress, and well within seconds after. */
    const int64_t detect_wall = r->ev[i_st].wall_ns - w0;
    ck_assert_int_ge(detect_wall, 200 * MS);
    ck_assert_int_lt(detect_wall, 10 * SEC);
    ck_assert(stat_num(e, "learn.async.stalls") == 1);
    ck_assert(stat_num(e, "learn.async.restarts") == 1);
    ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_LEARNER_DOWN));
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_LEARNER), CSCALP_STATUS_DEGRADED);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_LEARNER_STALLED), a0 + 1);
    R->detect_event_ns = r->ev[i_st].ts_ns - t0;
    R->detect_wall_ns = detect_wall;
    /* Training resumes on the new thread without the host's help. */
    const int64_t w_rs = r->ev[i_rs].wall_ns;
    int64_t w_steps = -1;
    for (long k = 0; k < 20000 && w_steps < 0; k++) {
        push_quote(e, &m, NULL);
        if (k % 20 == 0 && stat_num(e, "learn.training.steps") > steps0)
            w_steps = wall_ns();
        if (k % 20 == 0)
            sleep_us(200);
    }
    ck_assert_msg(w_steps >= 0, "no training step after the restart");
    R->recover_event_ns = r->ev[i_rs].ts_ns - r->ev[i_st].ts_ns;
    R->recover_wall_ns = w_steps - r->ev[i_st].wall_ns;
    ck_assert_int_eq(cscalp_adapt(e, 0, &ar), CSCALP_OK);
    ck_assert(ar.steps_total > (uint64_t)steps0);
    push_n(e, &m, NULL, 150);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_LEARNER), CSCALP_STATUS_OK);
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "learner_stall_wall_ms=200; detect_wall: fault -> LEARNER_STALLED (the watchdog "
             "runs every 1024 events or tick); recover_wall: LEARNER_STALLED -> the first "
             "training step of the new thread seen in stats (restart itself %.3f ms)",
             (double)(w_rs - r->ev[i_st].wall_ns) / 1e6);
    R->passed = 1;

    /* --- the thread's loop exits */
    R = record_begin(CSCALP_PLAYBOOK_LEARNER_STALLED, "death");
    const size_t i1 = r->n;
    const double steps1 = stat_num(e, "learn.training.steps");
    const int64_t t1 = clock_of(e), w1 = wall_ns();
    ck_assert_int_eq(cscalp_fault_inject(e, CSCALP_FAULT_LEARNER_DEATH, 1), CSCALP_OK);
    /* The host only ticks: each tick runs the watchdog. */
    while (rec_find(r, i1, CSCALP_EVENT_LEARNER_RESTARTED) < 0) {
        sleep_us(1000);
        tick_to(e, NULL, clock_of(e) + 10 * MS);
        ck_assert_msg(wall_ns() - w1 < 10 * SEC, "no restart within 10 s: %s", rec_dump(r, i1));
    }
    const size_t i_d = expect_event(r, i1, CSCALP_EVENT_LEARNER_STALLED, CSCALP_SEVERITY_ERROR,
                                    CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_RESTARTED);
    ck_assert_msg(strstr(r->ev[i_d].msg, "exited") != NULL, "%s", r->ev[i_d].msg);
    const size_t i_r2 = expect_event(r, i_d, CSCALP_EVENT_LEARNER_RESTARTED, CSCALP_SEVERITY_INFO,
                                     CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_RESTARTED);
    ck_assert_uint_eq(i_r2, i_d + 1);
    ck_assert(stat_num(e, "learn.async.deaths") == 1);
    ck_assert(stat_num(e, "learn.async.restarts") == 2);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_LEARNER_STALLED), a0 + 2);
    R->detect_event_ns = r->ev[i_d].ts_ns - t1;
    R->detect_wall_ns = r->ev[i_d].wall_ns - w1;
    m.t = clock_of(e);
    int64_t w_steps2 = -1;
    for (long k = 0; k < 20000 && w_steps2 < 0; k++) {
        push_quote(e, &m, NULL);
        if (k % 20 == 0 && stat_num(e, "learn.training.steps") > steps1)
            w_steps2 = wall_ns();
        if (k % 20 == 0)
            sleep_us(200);
    }
    ck_assert_msg(w_steps2 >= 0, "no training step after the restart");
    R->recover_event_ns = r->ev[i_r2].ts_ns - r->ev[i_d].ts_ns;
    R->recover_wall_ns = w_steps2 - r->ev[i_d].wall_ns;
    record_events(R, r, i1, r->n);
    snprintf(R->note, sizeof R->note,
             "detect_wall: fault -> LEARNER_STALLED at the next tick's watchdog (ticks every "
             "~1 ms); recover_wall: -> first training step of the new thread");
    R->passed = 1;
}
END_TEST

/* ==================================================== 8. learner behind */

START_TEST(row_learner_behind)
{
    row_record *R = record_begin(CSCALP_PLAYBOOK_LEARNER_BEHIND, "stalled_queue_sheds");
    if (!cscalp_has_feature(CSCALP_FEATURE_THREADS)) {
        snprintf(R->note, sizeof R->note, "skipped: built without the learner thread");
        R->passed = 1;
        return;
    }
    recorder *r = new_recorder();
    /* The watchdog off (stall_wall_ms 0): the stall stands for a learner
     * that is alive but slower than the data. */
    cscalp_engine *e = open_engine(
        "{" LEARN_MODEL "," LEARN_FEATURES ",\"learn\":{" LEARN_KEYS_BASE
        ",\"mode\":\"async\",\"async_queue_samples\":16,\"min_replay_samples\":16,"
        "\"rollback_margin_nats\":10" NO_FALLBACK "},"
        "\"health\":{\"learner_stall_wall_ms\":0,\"degraded_hold_s\":1}}",
        r);
    market m;
    market_init(&m, 81, 100.0, 0.01);
    /* Warm up at a pace the thread keeps (a drain every 5 samples): a queue
     * of 16 overflows in a burst of pushes otherwise, and nothing here may
     * be shed or dropped before the fault. */
    cscalp_adapt_report ar;
    memset(&ar, 0, sizeof ar);
    ar.size = sizeof ar;
    for (int k = 0; k < 20; k++) {
        push_n(e, &m, NULL, 50);
        ck_assert_int_eq(cscalp_adapt(e, 0, &ar), CSCALP_OK);
    }
    ck_assert_uint_gt(ar.steps_total, 0);
    ck_assert(stat_num(e, "learn.async.dropped") == 0);
    ck_assert_int_eq(rec_count(r, 0, CSCALP_EVENT_LEARNER_SHEDDING), 0);
    ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_LEARNER_SHEDDING));
    const uint64_t a0 = actions_of(e, CSCALP_PLAYBOOK_LEARNER_BEHIND);
    const size_t i0 = r->n;
    const int64_t t0 = clock_of(e), w0 = wall_ns();
    int64_t infer_max = 0;
    long infers = 0;
    ck_assert_int_eq(cscalp_fault_inject(e, CSCALP_FAULT_LEARNER_STALL, 1), CSCALP_OK);
    /* Matured samples pile up; inference goes on, never waiting. */
    for (long k = 0; k < 5000 && rec_count(r, i0, CSCALP_EVENT_SAMPLES_DROPPED) == 0; k++) {
        push_quote(e, &m, NULL);
        const int64_t a = wall_ns();
        (void)infer_ok(e);
        const int64_t b = wall_ns() - a;
        infer_max = b > infer_max ? b : infer_max;
        infers++;
    }
    const size_t i_sh = expect_event(r, i0, CSCALP_EVENT_LEARNER_SHEDDING, CSCALP_SEVERITY_WARNING,
                                     CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_SHED);
    ck_assert_msg(strstr(r->ev[i_sh].msg, "half the steps") != NULL, "%s", r->ev[i_sh].msg);
    /* Deeper past the midpoint to full, before the queue overflows. */
    const size_t i_sh2 = expect_event(r, i_sh + 1, CSCALP_EVENT_LEARNER_SHEDDING,
                                      CSCALP_SEVERITY_WARNING, CSCALP_COMPONENT_LEARNER,
                                      CSCALP_ACTION_SHED);
    ck_assert_msg(strstr(r->ev[i_sh2].msg, "a quarter") != NULL, "%s", r->ev[i_sh2].msg);
    const long i_drop = rec_find(r, i0, CSCALP_EVENT_SAMPLES_DROPPED);
    ck_assert_msg(i_drop > (long)i_sh2, "dropped before shedding: %s", rec_dump(r, i0));
    ck_assert(stat_num(e, "learn.async.shed_level") == 2);
    ck_assert(stat_num(e, "learn.async.queued") == 16);
    ck_assert(stat_num(e, "learn.async.dropped") >= 1);
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_LEARNER_SHEDDING);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_LEARNER), CSCALP_STATUS_DEGRADED);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_LEARNER_BEHIND),
                      a0 + rec_count(r, i0, CSCALP_EVENT_LEARNER_SHEDDING));
    R->detect_event_ns = r->ev[i_sh].ts_ns - t0;
    R->detect_wall_ns = r->ev[i_sh].wall_ns - w0;
    /* The learner keeps up again. */
    const size_t i1 = r->n;
    const double steps1 = stat_num(e, "learn.training.steps");
    const int64_t t1 = clock_of(e), w1 = wall_ns();
    ck_assert_int_eq(cscalp_fault_inject(e, CSCALP_FAULT_LEARNER_STALL, 0), CSCALP_OK);
    for (long k = 0; k < 20000 && rec_find(r, i1, CSCALP_EVENT_LEARNER_CAUGHT_UP) < 0; k++) {
        push_quote(e, &m, NULL);
        (void)infer_ok(e);
        if (k % 10 == 0)
            sleep_us(500); /* the thread's turn on a busy machine */
    }
    const size_t i_cu = expect_event(r, i1, CSCALP_EVENT_LEARNER_CAUGHT_UP, CSCALP_SEVERITY_INFO,
                                     CSCALP_COMPONENT_LEARNER, CSCALP_ACTION_RESUMED);
    ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_LEARNER_SHEDDING));
    ck_assert(stat_num(e, "learn.async.shed_level") == 0);
    ck_assert_int_eq(cscalp_adapt(e, 0, &ar), CSCALP_OK);
    ck_assert(ar.steps_total > (uint64_t)steps1);
    R->recover_event_ns = r->ev[i_cu].ts_ns - t1;
    R->recover_wall_ns = r->ev[i_cu].wall_ns - w1;
    /* Past the hold at a pace the thread keeps (on a loaded machine a
     * burst would make it shed again, rightly). */
    const size_t i2 = r->n;
    for (int k = 0; k < 3; k++) {
        push_n(e, &m, NULL, 50);
        ck_assert_int_eq(cscalp_adapt(e, 0, &ar), CSCALP_OK);
    }
    ck_assert_int_eq(rec_count(r, i2, CSCALP_EVENT_LEARNER_SHEDDING), 0);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_LEARNER), CSCALP_STATUS_OK);
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "learn.async_queue_samples=16, learner_shed_fraction=0.5; %ld inferences while "
             "stalled, slowest %.1f us; recover: stall released -> LEARNER_CAUGHT_UP at the next "
             "matured sample after the queue drained",
             infers, (double)infer_max / 1e3);
    R->passed = 1;
}
END_TEST

/* ============================================================== 9. risk */

START_TEST(row_risk)
{
    recorder *r = new_recorder();
    cscalp_engine *e = open_engine(
        "{" TRADING_BASE ",\"learn\":{\"mode\":\"off\"},\"risk\":{" TRADING_RISK_COMMON
        ",\"max_daily_drawdown_quote\":20,\"max_total_drawdown_quote\":20},"
        "\"health\":{\"degraded_hold_s\":1}}",
        r);
    venue *v = new_venue(V_ACK);
    market m;
    market_init(&m, 91, 50000.0, 0.1);
    ck_assert_int_eq(cscalp_set_autonomy(e, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    const uint64_t a0 = actions_of(e, CSCALP_PLAYBOOK_RISK);

    /* --- a position, then the market runs against it */
    row_record *R = record_begin(CSCALP_PLAYBOOK_RISK, "drawdown_kill_switch");
    for (long k = 0; k < 12000 && venue_first_entry(v, 0) < 0; k++)
        push_quote(e, &m, v);
    const long i_en = venue_first_entry(v, 0);
    ck_assert_msg(i_en >= 0, "no entry within 120 s");
    const cscalp_intent entry = v->log[i_en];
    /* Filled at the touch (a MARKET intent's price is its protection
     * price, a loss of 10 bps at once). */
    send_fill(e, entry.client_id, 1, entry.side > 0 ? market_ask(&m) : market_bid(&m),
              entry.quantity);
    venue_poll(e, v);
    cscalp_position ps;
    memset(&ps, 0, sizeof ps);
    ps.size = sizeof ps;
    ck_assert_int_eq(cscalp_get_position(e, &ps), CSCALP_OK);
    ck_assert(fabs(ps.position - entry.side * entry.quantity) < 1e-12);
    ck_assert_int_eq(ps.kill_switch, 0);
    const size_t i0 = r->n, n0 = v->n;
    const int64_t t0 = m.t + m.dt, w0 = wall_ns();
    m.adverse = entry.side > 0 ? -2 : 2; /* 0.2 a quote against the position */
    for (long k = 0; k < 100000 && rec_find(r, i0, CSCALP_EVENT_KILL_SWITCH) < 0; k++)
        push_quote(e, &m, v);
    m.adverse = 0;
    const size_t i_k = expect_event(r, i0, CSCALP_EVENT_KILL_SWITCH, CSCALP_SEVERITY_CRITICAL,
                                    CSCALP_COMPONENT_RISK, CSCALP_ACTION_HALTED);
    const size_t i_man = expect_event(r, i_k, CSCALP_EVENT_AUTONOMY_CHANGED,
                                      CSCALP_SEVERITY_WARNING, CSCALP_COMPONENT_RISK,
                                      CSCALP_ACTION_DEGRADED);
    ck_assert_msg(strstr(r->ev[i_man].msg, "-> MANUAL") != NULL, "%s", r->ev[i_man].msg);
    ck_assert_int_eq(cscalp_get_autonomy(e), CSCALP_AUTONOMY_MANUAL);
    /* The flatten: a reduce-only market order for the whole position. */
    ck_assert_int_eq(cscalp_get_position(e, &ps), CSCALP_OK);
    ck_assert_int_eq(ps.kill_switch, 1);
    long i_fl = -1;
    for (size_t i = n0; i < v->n; i++)
        if (v->log[i].kind == CSCALP_INTENT_NEW && v->log[i].reason == CSCALP_INTENT_KILL_SWITCH)
            i_fl = (long)i;
    ck_assert_msg(i_fl >= 0, "no flatten intent");
    const cscalp_intent fl = v->log[i_fl];
    ck_assert_int_eq(fl.type, CSCALP_ORDER_MARKET);
    ck_assert(fl.flags & CSCALP_INTENT_REDUCE_ONLY);
    ck_assert_int_eq(fl.side, -entry.side);
    ck_assert(fabs(fl.quantity - fabs(ps.position)) < 1e-12);
    /* Every other working order was cancelled (the venue confirmed each
     * cancel): only the flatten works. */
    cscalp_working_order wo[8];
    wo[0].size = sizeof wo[0];
    ck_assert_int_eq(cscalp_get_orders(e, wo, 8), 1);
    ck_assert_uint_eq(wo[0].client_id, fl.client_id);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_RISK), CSCALP_STATUS_FAILED);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_RISK), a0 + 1);
    ck_assert_int_eq(cscalp_set_autonomy(e, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_EKILLED);
    R->detect_event_ns = r->ev[i_k].ts_ns - t0;
    R->detect_wall_ns = r->ev[i_k].wall_ns - w0;
    /* The venue fills the flatten; while tripped, nothing new but cancels
     * and flattens, and RISK stays FAILED past the hold. */
    send_fill(e, fl.client_id, 2, market_bid(&m), fl.quantity);
    venue_poll(e, v);
    ck_assert_int_eq(cscalp_get_position(e, &ps), CSCALP_OK);
    ck_assert(ps.position == 0.0);
    const size_t n1 = v->n;
    push_n(e, &m, v, 200);
    ck_assert_uint_eq(venue_count(v, n1, CSCALP_INTENT_NEW, CSCALP_INTENT_ENTRY, 0), 0);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_RISK), CSCALP_STATUS_FAILED);
    /* Re-armed by the host, then autonomy raised: trading resumes. */
    const size_t i1 = r->n;
    const int64_t t_arm = clock_of(e), w_arm = wall_ns();
    ck_assert_int_eq(cscalp_configure(e, "{\"risk\":{\"kill_switch\":\"armed\"}}"), CSCALP_OK);
    (void)expect_event(r, i1, CSCALP_EVENT_KILL_SWITCH, CSCALP_SEVERITY_INFO,
                       CSCALP_COMPONENT_RISK, CSCALP_ACTION_APPLIED);
    ck_assert_int_ne(status_of(e, CSCALP_COMPONENT_RISK), CSCALP_STATUS_FAILED);
    ck_assert_int_eq(cscalp_set_autonomy(e, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);
    venue_poll(e, v);
    const size_t n2 = v->n;
    int64_t w_entry = -1;
    for (long k = 0; k < 12000 && w_entry < 0; k++) {
        push_quote(e, &m, v);
        if (venue_first_entry(v, n2) >= 0)
            w_entry = wall_ns();
    }
    const long i_en2 = venue_first_entry(v, n2);
    ck_assert_msg(i_en2 >= 0, "no entry within 120 s after re-arming");
    R->recover_event_ns = v->log[i_en2].ts_ns - t_arm;
    R->recover_wall_ns = w_entry - w_arm;
    push_n(e, &m, v, 110);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_RISK), CSCALP_STATUS_OK);
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "max_total_drawdown_quote=20, market moving 0.2 a quote against %.3f contracts; "
             "detect: first adverse quote -> KILL_SWITCH; recover: re-arm -> first entry "
             "intent polled",
             entry.quantity);
    R->passed = 1;

    /* --- the host's position differs from the engine's */
    R = record_begin(CSCALP_PLAYBOOK_RISK, "position_resync");
    ck_assert_int_eq(cscalp_get_position(e, &ps), CSCALP_OK);
    const uint64_t a1 = actions_of(e, CSCALP_PLAYBOOK_RISK);
    const size_t i2 = r->n;
    /* The same position: INFO, nothing for the playbook. */
    ck_assert_int_eq(cscalp_set_position(e, ps.position, ps.entry_price), CSCALP_OK);
    const size_t i_same = expect_event(r, i2, CSCALP_EVENT_POSITION_RESYNC, CSCALP_SEVERITY_INFO,
                                       CSCALP_COMPONENT_RISK, CSCALP_ACTION_APPLIED);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_RISK), a1);
    const int64_t w_rs = wall_ns();
    ck_assert_int_eq(cscalp_set_position(e, ps.position + 0.25, market_mid(&m)), CSCALP_OK);
    const size_t i_diff = expect_event(r, i_same + 1, CSCALP_EVENT_POSITION_RESYNC,
                                       CSCALP_SEVERITY_WARNING, CSCALP_COMPONENT_RISK,
                                       CSCALP_ACTION_APPLIED);
    ck_assert_msg(strstr(r->ev[i_diff].msg, "difference 0.25") != NULL, "%s", r->ev[i_diff].msg);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_RISK), a1 + 1);
    const double before = ps.position;
    ck_assert_int_eq(cscalp_get_position(e, &ps), CSCALP_OK);
    ck_assert(fabs(ps.position - (before + 0.25)) < 1e-12);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_RISK), CSCALP_STATUS_DEGRADED);
    R->detect_event_ns = 0;
    R->detect_wall_ns = r->ev[i_diff].wall_ns - w_rs;
    push_n(e, &m, v, 110);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_RISK), CSCALP_STATUS_OK);
    record_events(R, r, i2, r->n);
    snprintf(R->note, sizeof R->note,
             "cscalp_set_position with the same position (INFO, not counted) and 0.25 more "
             "(WARNING, counted); detected in the call");
    R->passed = 1;
}
END_TEST

/* ======================================================== 10. checkpoint */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    ck_assert_uint_eq(*len, (size_t)n);
    return buf;
}

/* Files in the directory, besides . and .. */
static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

#define CKPT_JSON                                                                          \
    "{\"model\":{\"hidden_sizes\":[8]},\"learn\":{\"mode\":\"off\"},"                       \
    "\"health\":{\"checkpoint_retry_ms\":500,\"checkpoint_retry_max_ms\":60000,"           \
    "\"stale_feed_ms\":0,\"degraded_hold_s\":1}}"

START_TEST(row_checkpoint)
{
    recorder *r = new_recorder();
    snprintf(g_case.dir, sizeof g_case.dir, "/tmp/cscalp_playbook_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_case.dir));
    char path[600], path2[600];
    snprintf(path, sizeof path, "%s/engine.ckpt", g_case.dir);
    snprintf(path2, sizeof path2, "%s/alloc.ckpt", g_case.dir);
    cscalp_engine *e = open_engine(CKPT_JSON, r);
    market m;
    market_init(&m, 101, 100.0, 0.01);
    push_n(e, &m, NULL, 200);
    /* A good checkpoint at the path first. */
    const size_t i_good = r->n;
    ck_assert_int_eq(cscalp_save(e, path), CSCALP_OK);
    (void)expect_event(r, i_good, CSCALP_EVENT_CHECKPOINT_SAVED, CSCALP_SEVERITY_INFO,
                       CSCALP_COMPONENT_PERSIST, CSCALP_ACTION_APPLIED);
    size_t good_len = 0;
    unsigned char *good = read_file(path, &good_len);
    ck_assert_ptr_nonnull(good);
    push_n(e, &m, NULL, 100); /* the state moves on: the next checkpoint differs */
    const uint64_t a0 = actions_of(e, CSCALP_PLAYBOOK_CHECKPOINT);

    /* --- the disk refuses two writes */
    row_record *R = record_begin(CSCALP_PLAYBOOK_CHECKPOINT, "write_failure_retry");
    ck_assert_int_eq(cscalp_fault_inject(e, CSCALP_FAULT_WRITE_FAILURE, 2), CSCALP_OK);
    const size_t i0 = r->n;
    const int64_t t0 = clock_of(e), w0 = wall_ns();
    ck_assert_int_eq(cscalp_save(e, path), CSCALP_EIO);
    ck_assert_msg(strstr(cscalp_last_error(e), "write") != NULL, "%s", cscalp_last_error(e));
    const size_t i_f1 = expect_event(r, i0, CSCALP_EVENT_CHECKPOINT_FAILED, CSCALP_SEVERITY_ERROR,
                                     CSCALP_COMPONENT_PERSIST, CSCALP_ACTION_RETRYING);
    ck_assert_int_eq(r->ev[i_f1].error, CSCALP_EIO);
    ck_assert_msg(strstr(r->ev[i_f1].msg, "retries in 500 ms") != NULL, "%s", r->ev[i_f1].msg);
    /* The previous checkpoint is intact, and no temporary is left. */
    size_t len = 0;
    unsigned char *now = read_file(path, &len);
    ck_assert(now != NULL && len == good_len && memcmp(now, good, len) == 0);
    free(now);
    ck_assert_int_eq(files_in(g_case.dir), 1);
    ck_assert(flags_of(e) & CSCALP_SUPERVISOR_CHECKPOINT_RETRY);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_PERSIST), CSCALP_STATUS_DEGRADED);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_CHECKPOINT), a0 + 1);
    R->detect_event_ns = r->ev[i_f1].ts_ns - t0;
    R->detect_wall_ns = r->ev[i_f1].wall_ns - w0;
    /* Retries run from cscalp_tick: the first after 500 ms fails too... */
    int64_t t = t0;
    while (rec_count(r, i0, CSCALP_EVENT_CHECKPOINT_FAILED) < 2 && t < t0 + 10 * SEC) {
        t += 100 * MS;
        tick_to(e, NULL, t);
    }
    const size_t i_f2 = expect_event(r, i_f1 + 1, CSCALP_EVENT_CHECKPOINT_FAILED,
                                     CSCALP_SEVERITY_ERROR, CSCALP_COMPONENT_PERSIST,
                                     CSCALP_ACTION_RETRYING);
    ck_assert_int_eq(r->ev[i_f2].ts_ns - r->ev[i_f1].ts_ns, 500 * MS);
    ck_assert_msg(strstr(r->ev[i_f2].msg, "retries in 1000 ms (failure 2 in a row)") != NULL, "%s",
                  r->ev[i_f2].msg);
    now = read_file(path, &len);
    ck_assert(now != NULL && len == good_len && memcmp(now, good, len) == 0);
    free(now);
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_CHECKPOINT), a0 + 2);
    /* ... the next, after the doubled back-off, succeeds. */
    while (rec_find(r, i_f2, CSCALP_EVENT_CHECKPOINT_SAVED) < 0 && t < t0 + 10 * SEC) {
        t += 100 * MS;
        tick_to(e, NULL, t);
    }
    const size_t i_ok = expect_event(r, i_f2, CSCALP_EVENT_CHECKPOINT_SAVED, CSCALP_SEVERITY_INFO,
                                     CSCALP_COMPONENT_PERSIST, CSCALP_ACTION_RESUMED);
    ck_assert_int_eq(r->ev[i_ok].ts_ns - r->ev[i_f2].ts_ns, 1000 * MS);
    ck_assert_msg(strstr(r->ev[i_ok].msg, path) != NULL && strstr(r->ev[i_ok].msg, "2 failures"),
                  "%s", r->ev[i_ok].msg);
    ck_assert(!(flags_of(e) & CSCALP_SUPERVISOR_CHECKPOINT_RETRY));
    ck_assert_uint_eq(actions_of(e, CSCALP_PLAYBOOK_CHECKPOINT), a0 + 2);
    now = read_file(path, &len);
    ck_assert(now != NULL && (len != good_len || memcmp(now, good, len) != 0));
    free(now);
    free(good);
    /* The retried file opens, at the retry's clock. */
    cscalp_engine *back = NULL;
    char why[512] = "";
    ck_assert_msg(cscalp_open_checkpoint(&back, path, NULL, why, sizeof why) == CSCALP_OK, "%s",
                  why);
    track_engine(back);
    ck_assert_int_eq(clock_of(back), r->ev[i_ok].ts_ns);
    close_engine(back);
    R->recover_event_ns = r->ev[i_ok].ts_ns - r->ev[i_f1].ts_ns;
    R->recover_wall_ns = r->ev[i_ok].wall_ns - r->ev[i_f1].wall_ns;
    tick_to(e, NULL, t + 1100 * MS);
    ck_assert_int_eq(status_of(e, CSCALP_COMPONENT_PERSIST), CSCALP_STATUS_OK);
    record_events(R, r, i0, r->n);
    snprintf(R->note, sizeof R->note,
             "checkpoint_retry_ms=500 doubling, ticks every 100 ms; recover: first failure -> "
             "CHECKPOINT_SAVED by the second retry (500 + 1000 ms)");
    R->passed = 1;

    /* --- an allocation fails inside cscalp_save */
    R = record_begin(CSCALP_PLAYBOOK_CHECKPOINT, "allocation_failure_retry");
    tu_alloc st;
    memset(&st, 0, sizeof st);
    const cscalp_allocator a = tu_allocator(&st);
    cscalp_engine *f = open_engine_ex(CKPT_JSON, r, &a);
    market m2;
    market_init(&m2, 102, 100.0, 0.01);
    push_n(f, &m2, NULL, 200);
    const size_t i1 = r->n;
    const int64_t t1 = clock_of(f), w1 = wall_ns();
    st.fail_at = st.calls + 1; /* the save's first allocation */
    ck_assert_int_eq(cscalp_save(f, path2), CSCALP_ENOMEM);
    ck_assert(st.calls >= st.fail_at);
    st.fail_at = 0;
    const size_t i_nm = expect_event(r, i1, CSCALP_EVENT_CHECKPOINT_FAILED, CSCALP_SEVERITY_ERROR,
                                     CSCALP_COMPONENT_PERSIST, CSCALP_ACTION_RETRYING);
    ck_assert_int_eq(r->ev[i_nm].error, CSCALP_ENOMEM);
    ck_assert_int_eq(access(path2, F_OK), -1);
    ck_assert_int_eq(status_of(f, CSCALP_COMPONENT_PERSIST), CSCALP_STATUS_DEGRADED);
    R->detect_event_ns = r->ev[i_nm].ts_ns - t1;
    R->detect_wall_ns = r->ev[i_nm].wall_ns - w1;
    int64_t t2 = t1;
    while (rec_find(r, i_nm, CSCALP_EVENT_CHECKPOINT_SAVED) < 0 && t2 < t1 + 5 * SEC) {
        t2 += 100 * MS;
        tick_to(f, NULL, t2);
    }
    const size_t i_ok2 = expect_event(r, i_nm, CSCALP_EVENT_CHECKPOINT_SAVED, CSCALP_SEVERITY_INFO,
                                      CSCALP_COMPONENT_PERSIST, CSCALP_ACTION_RESUMED);
    ck_assert_int_eq(r->ev[i_ok2].ts_ns - r->ev[i_nm].ts_ns, 500 * MS);
    ck_assert_msg(cscalp_open_checkpoint(&back, path2, NULL, why, sizeof why) == CSCALP_OK, "%s",
                  why);
    track_engine(back);
    close_engine(back);
    R->recover_event_ns = r->ev[i_ok2].ts_ns - r->ev[i_nm].ts_ns;
    R->recover_wall_ns = r->ev[i_ok2].wall_ns - r->ev[i_nm].wall_ns;
    close_engine(f);
    /* Everything the engine allocated through the allocator came back. */
    ck_assert_int_eq(st.live, 0);
    record_events(R, r, i1, r->n);
    snprintf(R->note, sizeof R->note,
             "cscalp_open_ex with a failing allocator, its next allocation failed inside "
             "cscalp_save: CSCALP_ENOMEM, retried by the next tick past 500 ms");
    R->passed = 1;
}
END_TEST

/* ------------------------------------------------------------- report */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned)(unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void json_ns(FILE *f, const char *key, int64_t v)
{
    if (v < 0)
        fprintf(f, "\"%s\":null", key);
    else
        fprintf(f, "\"%s\":%lld", key, (long long)v);
}

static const char *fmt_ms(char *buf, size_t cap, int64_t ns)
{
    if (ns < 0)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.3f ms", (double)ns / 1e6);
    return buf;
}

static int write_report(void)
{
    char path[1024];
    const char *env = getenv("CSCALP_RECOVERY_REPORT");
    if (env != NULL && env[0] != '\0') {
        snprintf(path, sizeof path, "%s", env);
    } else {
        /* meson test sets the build root; a direct run writes beside it,
         * never into a source checkout's tests/health. */
        const char *root = getenv("CSCALP_BUILD_ROOT");
        if (root != NULL && root[0] != '\0')
            snprintf(path, sizeof path, "%s/tests/health/recovery.json", root);
        else
            snprintf(path, sizeof path, "recovery.json");
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "cannot write the recovery report to %s\n", path);
        return -1;
    }
    struct utsname u;
    char machine[600] = "unknown";
    if (uname(&u) == 0)
        snprintf(machine, sizeof machine, "%s %s", u.machine, u.nodename);
    char date[64] = "";
    const time_t now = time(NULL);
    struct tm tmv;
    if (gmtime_r(&now, &tmv) != NULL)
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    fprintf(f, "{\"machine\":");
    json_string(f, machine);
    fprintf(f, ",\"date\":");
    json_string(f, date);
    fprintf(f, ",\"rows\":[");
    for (int i = 0; i < g_nrecords; i++) {
        const row_record *R = &g_records[i];
        fprintf(f, "%s\n{\"row\":", i ? "," : "");
        json_string(f, R->row);
        fprintf(f, ",\"case\":");
        json_string(f, R->case_name);
        fputc(',', f);
        json_ns(f, "detect_event_ns", R->detect_event_ns);
        fputc(',', f);
        json_ns(f, "detect_wall_ns", R->detect_wall_ns);
        fputc(',', f);
        json_ns(f, "recover_event_ns", R->recover_event_ns);
        fputc(',', f);
        json_ns(f, "recover_wall_ns", R->recover_wall_ns);
        fprintf(f, ",\"events\":[");
        for (int k = 0; k < R->n_events; k++) {
            if (k)
                fputc(',', f);
            json_string(f, R->events[k]);
        }
        fprintf(f, "],\"note\":");
        json_string(f, R->note);
        fprintf(f, ",\"passed\":%s}", R->passed ? "true" : "false");
    }
    fprintf(f, "\n]}\n");
    const int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "writing the recovery report to %s failed\n", path);
        return -1;
    }
    printf("recovery report: %s\n", path);
    for (int i = 0; i < g_nrecords; i++) {
        const row_record *R = &g_records[i];
        char a[32], b[32], c[32], d[32];
        printf("%-18s %-26s detect %s (wall %s)  recover %s (wall %s)  %s\n", R->row,
               R->case_name, fmt_ms(a, sizeof a, R->detect_event_ns),
               fmt_ms(b, sizeof b, R->detect_wall_ns), fmt_ms(c, sizeof c, R->recover_event_ns),
               fmt_ms(d, sizeof d, R->recover_wall_ns), R->passed ? "passed" : "FAILED");
    }
    return 0;
}

int main(void)
{
    Suite *s = suite_create("playbook");
    TCase *tc = tcase_create("playbook");
    tcase_add_checked_fixture(tc, case_setup, case_teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, row_nonfinite_learning);
    tcase_add_test(tc, row_fallback);
    tcase_add_test(tc, row_rollback_storm);
    tcase_add_test(tc, row_stale_feed);
    tcase_add_test(tc, row_quarantine);
    tcase_add_test(tc, row_reject_breaker);
    tcase_add_test(tc, row_learner_stalled);
    tcase_add_test(tc, row_learner_behind);
    tcase_add_test(tc, row_risk);
    tcase_add_test(tc, row_checkpoint);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    /* No fork: every case adds to g_records, which main reports. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    const int wrote = write_report();
    return failed == 0 && wrote == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
