/* Soak of the self-healing supervisor (docs/self-healing.md): a bounded run
 * of CSCALP_SOAK_EVENTS synthetic market events (default 20 000 000) through
 * one engine with the asynchronous learner and autonomy AUTONOMOUS. The test
 * is the host: it pushes the synthetic regime market (cscalp_sim_market_*)
 * into the engine, polls every intent after every call that may queue one,
 * sends it to the simulated venue (cscalp_sim_venue_*) and reports every
 * answer back with cscalp_on_order - and, on a seeded schedule, injects the
 * faults of the playbook:
 *   nan_gradient, exploding_gradient, corrupt_weights (engine_internal.h),
 *   learner_stall (released later, or restarted by the watchdog first),
 *   learner_death, reject_burst (the host answers every NEW REJECTED until
 *   the breaker opens), feed_gap (no data for longer than
 *   health.stale_feed_ms, with or without cscalp_tick through it),
 *   poisoned_events (outliers the screen must quarantine, and malformed
 *   events), checkpoint_write (cscalp_save with CSCALP_FAULT_WRITE_FAILURE,
 *   then ticks until the retry saves), position_resync (a fill report lost
 *   on the way to the engine, found and fixed by the host's reconciliation
 *   with cscalp_set_position).
 *
 * It asserts, and each check can fail:
 *   - every call returns what its documentation allows for what was given
 *     (CSCALP_OK for valid data, CSCALP_EOUTLIER for a quarantined price,
 *     the exact code for a malformed event, CSCALP_EIO for a save whose
 *     write fails); every health event is well-formed;
 *   - every NEW intent is within the risk.* limits read back from
 *     cscalp_config_json (order size and notional, price collar, worst-case
 *     position, open orders, order rates), the engine's position stays
 *     within risk.max_position_contracts, and no NEW intent goes while the
 *     supervisor holds (none while the feed is stale, only the one probe per
 *     half-open breaker while it is open, exits only while the feed
 *     recovers);
 *   - every injected fault is detected (its health event) and recovered
 *     (feed resumed, breaker closed, learner restarted, checkpoint saved by
 *     the retry, weights restored, learning rate restored, position
 *     reconciled) within a bound of events; at the end none is pending and
 *     cscalp_health shows every component OK, except RISK and LEARNER, which
 *     may stay DEGRADED for the reasons ordinary trading and learning give
 *     (printed), never for a fault's condition;
 *   - resident memory is flat after the warm-up (growth < 2 MiB), except
 *     under ASan or TSan, whose allocators make RSS meaningless (ASan's leak
 *     checker covers leaks there).
 * It prints a summary: events, faults and recoveries per kind, RSS, wall
 * time, events per second. The seed is fixed and printed
 * (CSCALP_SOAK_SEED overrides it to reproduce another run). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/test_ledger.h"
#include "../common/test_util.h"
#include "cryptoscalp_sim.h"
#include "engine_internal.h"

/* ------------------------------------------------------------------------ */
/* Build and run parameters                                                 */

/* Under ASan and TSan resident memory says nothing about leaks: ASan keeps
 * freed blocks in quarantine and both map shadow memory as the run goes.
 * ASan's leak checker covers leaks instead (tests/meson.build sets
 * detect_leaks=1); the TSan configuration checks races, not memory. */
#if defined(__SANITIZE_ADDRESS__)
#define SOAK_SANITIZER "AddressSanitizer (its leak checker covers leaks)"
#elif defined(__SANITIZE_THREAD__)
#define SOAK_SANITIZER "ThreadSanitizer (shadow memory; leaks are the ASan run's)"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_SANITIZER "AddressSanitizer (its leak checker covers leaks)"
#elif __has_feature(thread_sanitizer)
#define SOAK_SANITIZER "ThreadSanitizer (shadow memory; leaks are the ASan run's)"
#endif
#endif

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

#define DEFAULT_EVENTS 20000000ULL
#define MIN_EVENTS 300000ULL
#define DEFAULT_SEED 0x50a4c0ffee5eedULL
/* Faults are injected between these fractions of the run; the tail after
 * them is quiet, so that every recovery can complete. */
#define FAULTS_FROM 0.05
#define FAULTS_UNTIL 0.85
/* RSS is measured from here on; by then one fault of every kind has run
 * (the first ones cycle through every kind), so every allocation a fault's
 * path makes has been made once. */
#define WARMUP_FRACTION 0.30
/* ... and at least this many events, by which the engine's rings (replay
 * buffer, pending samples, learner queue: about 2 samples per 100 events)
 * have been written through once. */
#define WARMUP_MIN_EVENTS 200000ULL
#define RSS_SAMPLES 64
#define RSS_GROWTH_MAX (2L * 1024 * 1024)
/* Invariants and recoveries are checked every this many events. */
#define CHECK_EVERY 256
/* The host's timer: cscalp_tick this often (event time), and a signal read
 * (cscalp_infer) every this many events. */
#define TICK_NS (250 * NS_PER_MS)
#define INFER_EVERY 997
#define ORDER_RING 8192
#define MAX_WORKING 64
#define MAX_SUSPECTS 16

/* The engine. A small network trains fast enough for the learner thread to
 * keep up with a replay far faster than real time; an untrained model
 * trades (untrained_size_factor 1, no fees in the policy's costs, no entry
 * band) so the venue sees orders from the start; the drawdown limits are
 * out of reach, because the kill switch is a latch only the host re-arms and
 * is not one of the faults under test. The health.* keys shorten the
 * recoveries to a soak's scale: a stall is found after 500 ms of wall time,
 * a cut learning rate comes back after 100 clean steps, a lowered autonomy
 * after 300 s of event time, a failed save is retried after 1 s, 2 s, 4 s. */
static const char soak_config[] =
    "{\"learn\":{\"mode\":\"async\",\"sample_interval_ms\":500,\"min_replay_samples\":128,"
    "\"score_window_samples\":200,\"replay_capacity_samples\":4096},"
    "\"model\":{\"seed\":7,\"hidden_sizes\":[16],\"prior_move_bps\":20},"
    "\"fees\":{\"taker_bps\":0,\"maker_bps\":0},"
    "\"regime\":{\"entry_band_bps\":[0,0,0],\"size_factors\":[1,1,1],"
    "\"max_leverage_factors\":[10,10,10]},"
    "\"policy\":{\"decide_interval_ms\":250,\"tick_size_quote\":0.01,"
    "\"lot_size_contracts\":0.001,\"untrained_size_factor\":1,\"vol_target_bps\":1000},"
    "\"risk\":{\"max_order_contracts\":1,\"max_position_contracts\":1,"
    "\"max_daily_drawdown_quote\":1e9,\"max_total_drawdown_quote\":1e9},"
    "\"health\":{\"learner_stall_wall_ms\":500,\"lr_recover_steps\":100,"
    "\"autonomy_probation_s\":300,\"checkpoint_retry_ms\":1000,"
    "\"checkpoint_retry_max_ms\":8000}}";

/* ck_assert for the hot loop: Check logs the location of every ck_assert
 * (a write per call in fork mode); this costs a branch until it fails. */
#define SOAK_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond))                                                           \
            ck_abort_msg(__VA_ARGS__);                                         \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Faults                                                                   */

enum {
    F_NAN = 0,
    F_EXPLODE,
    F_CORRUPT,
    F_STALL,
    F_DEATH,
    F_REJECTS,
    F_GAP,
    F_POISON,
    F_CKPT,
    F_RESYNC,
    F_COUNT
};

static const char *const fault_names[F_COUNT] = {
    "nan_gradient",  "exploding_gradient", "corrupt_weights", "learner_stall",
    "learner_death", "reject_burst",       "feed_gap",        "poisoned_events",
    "checkpoint_write", "position_resync"};

/* How each one went, per kind (fault.outcome), for the summary. */
static const char *const outcome_names[F_COUNT][3] = {
    {"refused", NULL, NULL},
    {"refused", "refused_nonfinite", "absorbed"},
    {"restored", "replaced_by_promotion", NULL},
    {"released", "restarted_by_watchdog", NULL},
    {"restarted", NULL, NULL},
    {"below_breaker", "breaker_cycle", "probe_rejected_too"},
    {"ticked_through", "silent", NULL},
    {"one_event", "two_events", NULL},
    {"one_failure", "two_failures", "three_failures"},
    {"reconciled", NULL, NULL}};

/* Most events from a fault's injection to its recovery. Measured worst
 * cases of the default run are a fraction of these (the summary prints
 * them); the learner thread's faults are bounded in wall time too, since
 * the watchdog goes by the wall clock. */
static const uint64_t recover_bound[F_COUNT] = {
    600000, /* nan: a refused step, then health.lr_recover_steps per cut */
    600000, /* exploding: the same */
    20000,  /* corrupt: the next decision step or signal read */
    1000000, /* stall: released, or the watchdog (wall time) */
    200000, /* death: the next watchdog check */
    300000, /* rejects: up to 120 s of rejects, cool-downs, then a probe */
    20000,  /* gap: up to 15 s of silence, then health.feed_resume_ms */
    2048,   /* poison: the next valid event */
    20000,  /* checkpoint: 1 + 2 + 4 s of back-off */
    400000  /* resync: the next fill, up to 20 000 events, the order's end */
};
#define LEARNER_WALL_BOUND_S 30.0

typedef struct fault {
    int active;
    uint64_t at;     /* event index of the injection */
    double at_wall;  /* wall clock of the injection */
    int64_t at_ns;   /* event time of the injection */
    uint64_t base;   /* detection counter at the injection */
    uint64_t base2;  /* recovery counter at the injection */
    int detected;
    int variant; /* chosen at the injection */
    int outcome; /* how it was detected or recovered (outcome_names) */
    int64_t until_ns;    /* gap end, reject burst's last moment */
    uint64_t release_at; /* stall: event index of the release */
    int released;
    int step; /* kind-specific progress */
    uint64_t steps; /* learner's training steps at the injection */
} fault;

typedef struct fault_stats {
    uint64_t injected, refused, detected, recovered;
    uint64_t outcome[3];
    uint64_t worst_events, sum_events;
    double worst_wall;
} fault_stats;

/* ------------------------------------------------------------------------ */
/* Health events                                                            */

#define EVENT_SLOTS 64

typedef struct hstate {
    uint64_t total;
    uint64_t count[EVENT_SLOTS];
    int32_t last_action[EVENT_SLOTS];
    int32_t last_error[EVENT_SLOTS];
    uint64_t lr_cut_nan, lr_cut_explode, lr_restored;
    uint64_t saved_by_retry, failed_retrying;
    uint64_t resync_warnings;
    uint64_t by_severity[4];
    int probe_tokens; /* NEW intents the breaker's half-open state allows */
    uint64_t malformed;
    char malformed_first[256];
    /* The latest WARNING-or-worse event per component, to explain a
     * DEGRADED status at the end. */
    int32_t last_warning[CSCALP_COMPONENT_COUNT];
    char last_warning_text[CSCALP_COMPONENT_COUNT][200];
} hstate;

static void on_health(const cscalp_health_event *ev, void *user)
{
    hstate *h = user;
    h->total++;
    /* Every field within its documented domain. */
    if (ev->size != sizeof *ev || ev->severity < CSCALP_SEVERITY_INFO ||
        ev->severity > CSCALP_SEVERITY_CRITICAL || ev->component < 0 ||
        ev->component >= CSCALP_COMPONENT_COUNT || ev->event < CSCALP_EVENT_INPUT_REJECTED ||
        ev->event > CSCALP_EVENT_LEARNING_RATE_CHANGED || ev->action < CSCALP_ACTION_NONE ||
        ev->action > CSCALP_ACTION_RETRYING || ev->error > 0 || ev->error < CSCALP_EOUTLIER ||
        ev->message == NULL) {
        if (h->malformed++ == 0)
            snprintf(h->malformed_first, sizeof h->malformed_first,
                     "size %u severity %d component %d event %d error %d action %d: %.120s",
                     ev->size, ev->severity, ev->component, ev->event, ev->error, ev->action,
                     ev->message != NULL ? ev->message : "(null)");
        return;
    }
    h->count[ev->event]++;
    h->last_action[ev->event] = ev->action;
    h->last_error[ev->event] = ev->error;
    h->by_severity[ev->severity]++;
    switch (ev->event) {
    case CSCALP_EVENT_LEARNING_RATE_CHANGED:
        if (ev->severity < CSCALP_SEVERITY_WARNING)
            h->lr_restored++;
        else if (strstr(ev->message, "exploding") != NULL)
            h->lr_cut_explode++;
        else
            h->lr_cut_nan++;
        break;
    case CSCALP_EVENT_CHECKPOINT_SAVED:
        if (ev->action == CSCALP_ACTION_RESUMED)
            h->saved_by_retry++;
        break;
    case CSCALP_EVENT_CHECKPOINT_FAILED:
        if (ev->action == CSCALP_ACTION_RETRYING)
            h->failed_retrying++;
        break;
    case CSCALP_EVENT_BREAKER_HALF_OPEN:
        h->probe_tokens = 1;
        break;
    case CSCALP_EVENT_BREAKER_OPENED:
    case CSCALP_EVENT_BREAKER_CLOSED:
        h->probe_tokens = 0;
        break;
    case CSCALP_EVENT_POSITION_RESYNC:
        if (ev->severity >= CSCALP_SEVERITY_WARNING)
            h->resync_warnings++;
        break;
    default:
        break;
    }
    if (ev->severity >= CSCALP_SEVERITY_WARNING) {
        h->last_warning[ev->component] = ev->event;
        snprintf(h->last_warning_text[ev->component], sizeof h->last_warning_text[0], "%s",
                 ev->message);
    }
}

/* ------------------------------------------------------------------------ */
/* The host's books                                                         */

/* An order as the host knows it: what the engine was told (eng_*) and what
 * the venue reported (ven_*); they differ only while a fill report is lost. */
typedef struct horder {
    uint64_t id; /* 0: free slot */
    int side, reduce_only;
    double qty, filled_eng, filled_ven;
    int eng_closed, ven_closed, cancel_pending;
} horder;

typedef struct limits {
    double max_order, max_notional, max_pos, collar_bps;
    int per_s, per_min, max_open;
    int64_t stale_ns;
    double hold_s;
    int confirm;
} limits;

/* ------------------------------------------------------------------------ */
/* The soak                                                                 */

typedef struct soak {
    cscalp_engine *e;
    cscalp_sim_market *m;
    cscalp_sim_venue *v;
    cscalp_sim_market_event ev;
    tu_rng rng;
    uint64_t seed;
    limits lim;
    hstate h;
    uint64_t n;   /* events to generate */
    uint64_t i;   /* current event index */
    int64_t now;  /* current event time */
    int64_t start_ns; /* time of the first event */
    double t0;    /* wall clock at the start */

    /* What the engine was given. */
    double bid, ask;
    int has_top;
    int64_t top_ns; /* time of the latest top-of-book change pushed */
    int64_t next_tick_ns;

    /* Orders and intents. */
    horder orders[ORDER_RING];
    uint64_t working[MAX_WORKING]; /* engine-working ids, oldest first */
    int nworking;
    uint64_t last_id;
    int64_t sent_s[64], sent_min[6000]; /* NEW times: rings for the rate checks */
    uint32_t sent_s_at, sent_min_at;
    uint64_t sent_total;
    tu_ledger H; /* from the fills the venue reported: the host's authoritative
                    position (average cost) */
    double lost;                   /* signed fills the engine never heard of */
    uint64_t suspects[MAX_SUSPECTS]; /* orders with a lost fill report */
    int nsuspects;
    int drop_next_fill;
    int reject_all; /* the host answers every NEW REJECTED (a burst) */

    /* Faults. */
    fault f[F_COUNT];
    fault_stats fs[F_COUNT];
    uint64_t next_fault_at, faults_from, faults_until;
    int first_cycle[F_COUNT];
    int first_cycle_at;
    int gap_active, gap_silent;
    char ckpt_dir[64], ckpt_path[96];

    /* Counters for the summary. */
    uint64_t pushed, skipped_gap, poisoned, malformed_pushed, ticks, infers;
    uint64_t intents_new, intents_cancel, reduce_only_new, probes, self_rejects, updates;
    uint64_t fills, fills_lost, closed_fills, reconciled_orders, resyncs, saves, adapts;
    uint64_t stale_cancels_checked;
    uint64_t reasons[16];
    long rss_start, rss_warm, rss_max, rss_end;
    int rss_warm_taken;
} soak;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Resident bytes of this process (/proc/self/statm), or -1. */
static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    long size = 0, resident = 0;
    const int got = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    return got == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

static uint64_t env_u64(const char *name, uint64_t fallback)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return fallback;
    char *end = NULL;
    errno = 0;
    const unsigned long long v = strtoull(s, &end, 0);
    ck_assert_msg(errno == 0 && end != s && *end == '\0' && v > 0, "%s=%s: not a positive number",
                  name, s);
    return (uint64_t)v;
}

/* A number from the effective configuration: "section":{... "key":value}. */
static double config_number(const char *json, const char *section, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":{", section);
    const char *sec = strstr(json, pat);
    ck_assert_msg(sec != NULL, "config: no section %s", section);
    const char *end = strchr(sec + strlen(pat), '}');
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *k = strstr(sec, pat);
    ck_assert_msg(k != NULL && end != NULL && k < end, "config: no key %s.%s", section, key);
    char *stop = NULL;
    const double v = strtod(k + strlen(pat), &stop);
    ck_assert_msg(stop != k + strlen(pat), "config: %s.%s is not a number", section, key);
    return v;
}

static int config_int(const char *json, const char *section, const char *key)
{
    const double v = config_number(json, section, key);
    ck_assert_msg(v == floor(v) && fabs(v) < 2e9, "config: %s.%s = %g is not an int", section,
                  key, v);
    return (int)v;
}

static void read_limits(soak *s)
{
    size_t need = 0;
    ck_assert_int_eq(cscalp_config_json(s->e, NULL, 0, &need), CSCALP_OK);
    char *json = malloc(need + 1);
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(cscalp_config_json(s->e, json, need + 1, NULL), CSCALP_OK);
    limits *l = &s->lim;
    l->max_order = config_number(json, "risk", "max_order_contracts");
    l->max_notional = config_number(json, "risk", "max_order_notional_quote");
    l->max_pos = config_number(json, "risk", "max_position_contracts");
    l->collar_bps = config_number(json, "risk", "price_collar_bps");
    l->per_s = config_int(json, "risk", "max_orders_per_s");
    l->per_min = config_int(json, "risk", "max_orders_per_min");
    l->max_open = config_int(json, "risk", "max_open_orders_count");
    l->stale_ns = (int64_t)config_int(json, "health", "stale_feed_ms") * NS_PER_MS;
    l->hold_s = config_number(json, "health", "degraded_hold_s");
    l->confirm = config_int(json, "feed", "outlier_confirm_events");
    ck_assert_msg(strstr(json, "\"mode\":\"async\"") != NULL, "learn.mode is not async");
    free(json);
    /* The rings of the rate checks hold one more than each limit. */
    ck_assert_int_lt(l->per_s, 64);
    ck_assert_int_lt(l->per_min, 6000);
    ck_assert_int_gt(l->stale_ns, 0);
    ck_assert_int_ge(l->confirm, 2); /* a burst of confirm - 1 poisoned events stays quarantined */
}

static void health_now(soak *s, cscalp_health_report *r)
{
    memset(r, 0, sizeof *r);
    r->size = sizeof *r;
    const int rc = cscalp_health(s->e, r);
    SOAK_CHECK(rc == CSCALP_OK, "cscalp_health: %s", cscalp_error_name(rc));
}

static uint32_t flags_now(soak *s)
{
    cscalp_health_report r;
    health_now(s, &r);
    return r.supervisor_flags;
}

static void position_now(soak *s, cscalp_position *p)
{
    memset(p, 0, sizeof *p);
    p->size = sizeof *p;
    const int rc = cscalp_get_position(s->e, p);
    SOAK_CHECK(rc == CSCALP_OK, "cscalp_get_position: %s", cscalp_error_name(rc));
}

/* ------------------------------------------------------------------------ */
/* Orders                                                                   */

static horder *order_find(soak *s, uint64_t id)
{
    horder *o = &s->orders[id % ORDER_RING];
    return id != 0 && o->id == id ? o : NULL;
}

static horder *order_add(soak *s, uint64_t id)
{
    horder *o = &s->orders[id % ORDER_RING];
    /* The slot's previous order must be over on both sides: one working
     * for ORDER_RING ids means the engine and the venue fell out of step. */
    SOAK_CHECK(o->id == 0 || (o->eng_closed && o->ven_closed),
               "event %llu: order %llu still open (engine %d, venue %d) when id %llu came",
               (unsigned long long)s->i, (unsigned long long)o->id, !o->eng_closed,
               !o->ven_closed, (unsigned long long)id);
    memset(o, 0, sizeof *o);
    o->id = id;
    SOAK_CHECK(s->nworking < MAX_WORKING, "event %llu: %d working orders", (unsigned long long)s->i,
               s->nworking);
    s->working[s->nworking++] = id;
    return o;
}

static void order_engine_closed(soak *s, horder *o)
{
    o->eng_closed = 1;
    for (int k = 0; k < s->nworking; k++)
        if (s->working[k] == o->id) {
            memmove(&s->working[k], &s->working[k + 1],
                    (size_t)(s->nworking - k - 1) * sizeof s->working[0]);
            s->nworking--;
            return;
        }
}

/* Remaining size of the engine-working orders on one side. */
static double open_size(soak *s, int side)
{
    double sum = 0.0;
    for (int k = 0; k < s->nworking; k++) {
        const horder *o = order_find(s, s->working[k]);
        if (o != NULL && o->side == side)
            sum += o->qty - o->filled_eng;
    }
    return sum;
}

static void after_call(soak *s);
static int reconcile(soak *s, int fix_position);

/* The engine's half of an update (the venue's half is in deliver). */
static void engine_update(soak *s, horder *o, const cscalp_order_update *u)
{
    const int rc = cscalp_on_order(s->e, u);
    s->updates++;
    if (rc == CSCALP_EORDER_CLOSED && u->type == CSCALP_UPDATE_FILL) {
        /* Documented: a fill after the order closed is not booked; the
         * host resyncs. It needs a venue that fills after a cancel the
         * engine already saw answered, which the simulated venue never
         * does: counted, and the position fixed as documented. */
        s->closed_fills++;
        s->lost += o->side * u->fill_quantity;
        reconcile(s, 1);
    } else {
        SOAK_CHECK(rc == CSCALP_OK, "event %llu: cscalp_on_order(type %d, id %llu): %s (%s)",
                   (unsigned long long)s->i, u->type, (unsigned long long)u->client_id,
                   cscalp_error_name(rc), cscalp_last_error(s->e));
        switch (u->type) {
        case CSCALP_UPDATE_FILL:
            o->filled_eng += u->fill_quantity;
            if (o->filled_eng >= o->qty - 1e-9)
                order_engine_closed(s, o);
            break;
        case CSCALP_UPDATE_CANCELLED:
        case CSCALP_UPDATE_EXPIRED:
        case CSCALP_UPDATE_REJECTED:
            order_engine_closed(s, o);
            break;
        default:
            break;
        }
    }
    after_call(s);
}

/* The host's reconciliation after a lost fill report (docs/risk.md):
 * orders the engine still works that the venue has finished are reported
 * CANCELLED, and the engine's position, which lacks the lost fill, is
 * replaced by the venue's (cscalp_set_position). 1 when nothing is left to
 * reconcile. */
static int reconcile(soak *s, int fix_position)
{
    for (int k = 0; k < s->nsuspects;) {
        horder *o = order_find(s, s->suspects[k]);
        if (o != NULL && !o->eng_closed && o->ven_closed) {
            cscalp_order_update u;
            memset(&u, 0, sizeof u);
            u.size = sizeof u;
            u.type = CSCALP_UPDATE_CANCELLED;
            u.client_id = o->id;
            u.ts_ns = s->now;
            engine_update(s, o, &u);
            s->reconciled_orders++;
        }
        if (o == NULL || o->eng_closed) {
            s->suspects[k] = s->suspects[--s->nsuspects];
            continue;
        }
        k++;
    }
    if (fix_position && s->lost != 0.0) {
        const int rc = cscalp_set_position(s->e, s->H.pos, s->H.pos != 0.0 ? s->H.entry : 0.0);
        SOAK_CHECK(rc == CSCALP_OK, "event %llu: cscalp_set_position(%.17g, %.17g): %s (%s)",
                   (unsigned long long)s->i, s->H.pos, s->H.entry, cscalp_error_name(rc),
                   cscalp_last_error(s->e));
        s->lost = 0.0;
        s->resyncs++;
        after_call(s);
    }
    return s->nsuspects == 0 && s->lost == 0.0;
}

/* One update from the venue: the host's books, then the engine (unless the
 * report is lost on the way: an injected position_resync). */
static void deliver(soak *s, const cscalp_order_update *u)
{
    horder *o = order_find(s, u->client_id);
    SOAK_CHECK(o != NULL, "event %llu: venue update for unknown order %llu",
               (unsigned long long)s->i, (unsigned long long)u->client_id);
    int terminal = 0;
    switch (u->type) {
    case CSCALP_UPDATE_FILL:
        SOAK_CHECK(u->fill_quantity > 0.0 && u->fill_price > 0.0 &&
                       o->filled_ven + u->fill_quantity <= o->qty + 1e-9,
                   "event %llu: venue fill %.17g @ %.17g of order %llu (%.17g of %.17g filled)",
                   (unsigned long long)s->i, u->fill_quantity, u->fill_price,
                   (unsigned long long)o->id, o->filled_ven, o->qty);
        o->filled_ven += u->fill_quantity;
        tu_ledger_fill(&s->H, o->side, u->fill_quantity, u->fill_price, u->fee);
        terminal = o->filled_ven >= o->qty - 1e-9;
        s->fills++;
        break;
    case CSCALP_UPDATE_CANCELLED:
    case CSCALP_UPDATE_EXPIRED:
    case CSCALP_UPDATE_REJECTED:
        terminal = 1;
        break;
    default:
        break;
    }
    if (terminal)
        o->ven_closed = 1;
    if (u->type == CSCALP_UPDATE_FILL && s->drop_next_fill && !o->eng_closed &&
        s->nsuspects < MAX_SUSPECTS) {
        s->drop_next_fill = 0;
        s->lost += o->side * u->fill_quantity;
        s->suspects[s->nsuspects++] = o->id;
        s->fills_lost++;
        return;
    }
    engine_update(s, o, u);
}

/* Every update the venue has for the host by now (examples/common/paper.c
 * without its liquidation branch: none can happen here, see below). */
static void pump_venue(soak *s)
{
    for (;;) {
        cscalp_order_update us[64];
        us[0].size = sizeof us[0];
        const int n = cscalp_sim_venue_poll(s->v, s->now, us, 64);
        SOAK_CHECK(n >= 0, "event %llu: cscalp_sim_venue_poll: %s", (unsigned long long)s->i,
                   cscalp_error_name(n));
        for (int k = 0; k < n; k++)
            deliver(s, &us[k]);
        cscalp_sim_venue_account acc;
        acc.size = sizeof acc;
        SOAK_CHECK(cscalp_sim_venue_get_account(s->v, &acc) == CSCALP_OK, "venue account");
        /* The limits keep the position at a few percent of the wallet: the
         * venue never liquidates it, and the host's ledger stays the
         * venue's position. */
        SOAK_CHECK(acc.liquidations_reported == 0, "event %llu: the venue liquidated (%llu)",
                   (unsigned long long)s->i, (unsigned long long)acc.liquidations_reported);
        if (n < 64)
            return;
    }
}

/* The supervisor's gate as the host sees it: the flags after the call that
 * queued the intent (polling changes none of them), and the probe the last
 * BREAKER_HALF_OPEN event allows. */
static void check_gate(soak *s, uint32_t flags, const cscalp_intent *it)
{
    const int reduce_only = (it->flags & CSCALP_INTENT_REDUCE_ONLY) != 0;
    SOAK_CHECK(!(flags & CSCALP_SUPERVISOR_FEED_STALE),
               "event %llu: NEW intent %llu while the feed is stale (flags 0x%x)",
               (unsigned long long)s->i, (unsigned long long)it->client_id, flags);
    if (flags & CSCALP_SUPERVISOR_BREAKER_OPEN) {
        /* Sending the probe moves the breaker from half-open to probing,
         * which the flags show as open: one NEW per half-open event. */
        SOAK_CHECK(s->h.probe_tokens > 0,
                   "event %llu: NEW intent %llu while the breaker is open (flags 0x%x)",
                   (unsigned long long)s->i, (unsigned long long)it->client_id, flags);
        s->h.probe_tokens--;
        s->probes++;
        return;
    }
    /* Recovering feed: exits only. A half-open breaker whose flags survived
     * the call sent no probe: its gate was the recovering feed's. */
    if (flags & (CSCALP_SUPERVISOR_FEED_RECOVERING | CSCALP_SUPERVISOR_BREAKER_HALF_OPEN))
        SOAK_CHECK(reduce_only,
                   "event %llu: NEW intent %llu adds exposure while the supervisor allows "
                   "exits only (flags 0x%x)",
                   (unsigned long long)s->i, (unsigned long long)it->client_id, flags);
}

/* A NEW intent against every risk.* limit, as the engine saw the world when
 * it decided: its position (no fill comes between a decision and the poll
 * after the call), the working orders the host was told of, the last top of
 * book pushed. */
static void check_new(soak *s, const cscalp_intent *it, double pos, uint32_t flags)
{
    const limits *l = &s->lim;
    const unsigned long long ev = (unsigned long long)s->i;
    SOAK_CHECK(it->client_id > s->last_id, "event %llu: client id %llu not above %llu", ev,
               (unsigned long long)it->client_id, (unsigned long long)s->last_id);
    s->last_id = it->client_id;
    SOAK_CHECK(it->side == CSCALP_SIDE_BUY || it->side == CSCALP_SIDE_SELL,
               "event %llu: side %d", ev, it->side);
    SOAK_CHECK((it->type == CSCALP_ORDER_POST_ONLY && it->time_in_force == CSCALP_TIF_GTX) ||
                   (it->type == CSCALP_ORDER_MARKET && it->time_in_force == CSCALP_TIF_IOC),
               "event %llu: type %d with time in force %d", ev, it->type, it->time_in_force);
    SOAK_CHECK(it->quantity > 0.0 && it->quantity <= l->max_order * (1.0 + 1e-12),
               "event %llu: quantity %.17g beyond risk.max_order_contracts %.17g", ev,
               it->quantity, l->max_order);
    SOAK_CHECK(it->price > 0.0 && it->quantity * it->price <= l->max_notional * (1.0 + 1e-12),
               "event %llu: notional %.17g beyond risk.max_order_notional_quote %.17g", ev,
               it->quantity * it->price, l->max_notional);
    SOAK_CHECK(s->has_top, "event %llu: NEW intent before any quote", ev);
    const double mid = 0.5 * (s->bid + s->ask);
    SOAK_CHECK(fabs(it->price - mid) / mid * 1e4 <= l->collar_bps + 1e-6,
               "event %llu: price %.17g is %.3f bps from the mid %.17g, beyond "
               "risk.price_collar_bps %g",
               ev, it->price, fabs(it->price - mid) / mid * 1e4, mid, l->collar_bps);
    /* Rates: the per_s-th latest NEW at least 1 s before, the per_min-th
     * at least 60 s (sliding windows, as docs/risk.md). */
    const uint32_t ns = (uint32_t)l->per_s, nm = (uint32_t)l->per_min;
    if (s->sent_total >= ns) {
        const int64_t kth = s->sent_s[(s->sent_s_at + 64 - ns) % 64];
        SOAK_CHECK(it->ts_ns - kth >= NS_PER_S,
                   "event %llu: more than risk.max_orders_per_s (%u) NEW intents within 1 s", ev,
                   ns);
    }
    if (s->sent_total >= nm) {
        const int64_t kth = s->sent_min[(s->sent_min_at + 6000 - nm) % 6000];
        SOAK_CHECK(it->ts_ns - kth >= 60 * NS_PER_S,
                   "event %llu: more than risk.max_orders_per_min (%u) NEW intents within 60 s",
                   ev, nm);
    }
    s->sent_s[s->sent_s_at] = it->ts_ns;
    s->sent_s_at = (s->sent_s_at + 1) % 64;
    s->sent_min[s->sent_min_at] = it->ts_ns;
    s->sent_min_at = (s->sent_min_at + 1) % 6000;
    s->sent_total++;
    SOAK_CHECK(s->nworking < l->max_open,
               "event %llu: NEW intent with %d orders working, risk.max_open_orders_count %d",
               ev, s->nworking, l->max_open);
    /* Worst case: every working order on its side fills, then this one;
     * an order that only reduces the position (never flips it) is exempt. */
    const double same_open = open_size(s, it->side);
    const int reducing =
        pos * it->side < 0.0 && same_open + it->quantity <= fabs(pos) * (1.0 + 1e-12);
    const double worst = pos + it->side * (same_open + it->quantity);
    SOAK_CHECK(reducing || fabs(worst) <= l->max_pos * (1.0 + 1e-12) + 1e-12,
               "event %llu: position could reach %.17g, risk.max_position_contracts %.17g "
               "(position %.17g, %.17g working on side %d, order %.17g)",
               ev, worst, l->max_pos, pos, same_open, it->side, it->quantity);
    check_gate(s, flags, it);
    if (it->flags & CSCALP_INTENT_REDUCE_ONLY)
        s->reduce_only_new++;
}

/* Poll every intent the last call queued, check each, then act on each:
 * send it to the venue, or answer it REJECTED while a burst is injected. */
static void after_call(soak *s)
{
    for (;;) {
        cscalp_intent its[32];
        its[0].size = sizeof its[0];
        const int n = cscalp_poll_intents(s->e, its, 32);
        SOAK_CHECK(n >= 0 && n <= 32, "event %llu: cscalp_poll_intents: %d",
                   (unsigned long long)s->i, n);
        if (n == 0)
            return;
        int has_new = 0;
        for (int k = 0; k < n; k++)
            has_new |= its[k].kind == CSCALP_INTENT_NEW;
        uint32_t flags = 0;
        double pos = 0.0;
        if (has_new) {
            cscalp_position p;
            flags = flags_now(s);
            position_now(s, &p);
            pos = p.position;
        }
        for (int k = 0; k < n; k++) {
            const cscalp_intent *it = &its[k];
            SOAK_CHECK(it->size == sizeof *it && it->ts_ns <= s->now + NS_PER_MS,
                       "event %llu: intent size %u, ts %lld (now %lld)",
                       (unsigned long long)s->i, it->size, (long long)it->ts_ns,
                       (long long)s->now);
            if (it->reason >= 0 && it->reason < 16)
                s->reasons[it->reason]++;
            if (it->kind == CSCALP_INTENT_CANCEL) {
                horder *o = order_find(s, it->client_id);
                SOAK_CHECK(o != NULL && !o->eng_closed && !o->cancel_pending,
                           "event %llu: cancel for order %llu, which is not working or "
                           "already cancelling",
                           (unsigned long long)s->i, (unsigned long long)it->client_id);
                o->cancel_pending = 1;
                s->intents_cancel++;
                continue;
            }
            SOAK_CHECK(it->kind == CSCALP_INTENT_NEW, "event %llu: intent kind %d",
                       (unsigned long long)s->i, it->kind);
            check_new(s, it, pos, flags);
            horder *o = order_add(s, it->client_id);
            o->side = it->side;
            o->qty = it->quantity;
            o->reduce_only = (it->flags & CSCALP_INTENT_REDUCE_ONLY) != 0;
            s->intents_new++;
        }
        for (int k = 0; k < n; k++) {
            const cscalp_intent *it = &its[k];
            if (it->kind == CSCALP_INTENT_NEW && s->reject_all) {
                horder *o = order_find(s, it->client_id);
                cscalp_order_update u;
                memset(&u, 0, sizeof u);
                u.size = sizeof u;
                u.type = CSCALP_UPDATE_REJECTED;
                u.client_id = it->client_id;
                u.ts_ns = s->now;
                u.text = "soak: venue overloaded (injected reject burst)";
                o->ven_closed = 1; /* never sent */
                s->self_rejects++;
                engine_update(s, o, &u);
                continue;
            }
            /* The simulated venue takes every intent of a consistent host
             * (a cancel for an order it no longer has is ignored). */
            const int rc = cscalp_sim_venue_submit(s->v, it);
            SOAK_CHECK(rc == CSCALP_OK, "event %llu: cscalp_sim_venue_submit(%llu): %s",
                       (unsigned long long)s->i, (unsigned long long)it->client_id,
                       cscalp_error_name(rc));
        }
        if (n < 32)
            return;
    }
}

/* ------------------------------------------------------------------------ */
/* Market data                                                              */

static int push_event(cscalp_engine *e, const cscalp_sim_market_event *ev)
{
    switch (ev->kind) {
    case CSCALP_KIND_TRADE:
        return cscalp_push_trade(e, &ev->trade);
    case CSCALP_KIND_QUOTE:
        return cscalp_push_quote(e, &ev->quote);
    default:
        return cscalp_push_book(e, &ev->book);
    }
}

static int venue_event(cscalp_sim_venue *v, const cscalp_sim_market_event *ev)
{
    switch (ev->kind) {
    case CSCALP_KIND_TRADE:
        return cscalp_sim_venue_on_trade(v, &ev->trade);
    case CSCALP_KIND_QUOTE:
        return cscalp_sim_venue_on_quote(v, &ev->quote);
    default:
        return cscalp_sim_venue_on_book(v, &ev->book);
    }
}

static void note_top(soak *s, const cscalp_sim_market_event *ev)
{
    if (ev->kind == CSCALP_KIND_QUOTE) {
        s->bid = ev->quote.bid_price;
        s->ask = ev->quote.ask_price;
    } else if (ev->kind == CSCALP_KIND_BOOK) {
        s->bid = ev->book.bids[0].price;
        s->ask = ev->book.asks[0].price;
    } else {
        return;
    }
    s->has_top = 1;
    s->top_ns = ev->ts_ns;
}

static void tick(soak *s)
{
    const int rc = cscalp_tick(s->e, s->now);
    SOAK_CHECK(rc == CSCALP_OK, "event %llu: cscalp_tick(%lld): %s (%s)",
               (unsigned long long)s->i, (long long)s->now, cscalp_error_name(rc),
               cscalp_last_error(s->e));
    s->ticks++;
    after_call(s);
}

/* A signal read: documented to heal corrupted live weights within the call,
 * so it always answers, with probabilities that sum to 1. */
static void infer_ok(soak *s)
{
    cscalp_signal sig;
    memset(&sig, 0, sizeof sig);
    sig.size = sizeof sig;
    const int rc = cscalp_infer(s->e, &sig);
    SOAK_CHECK(rc == CSCALP_OK, "event %llu: cscalp_infer: %s (%s)", (unsigned long long)s->i,
               cscalp_error_name(rc), cscalp_last_error(s->e));
    const double sum = sig.probabilities[0] + sig.probabilities[1] + sig.probabilities[2];
    SOAK_CHECK(isfinite(sum) && fabs(sum - 1.0) < 1e-9 && isfinite(sig.expected_move_bps),
               "event %llu: signal probabilities %g %g %g", (unsigned long long)s->i,
               sig.probabilities[0], sig.probabilities[1], sig.probabilities[2]);
    s->infers++;
}

static int live_weights_finite(soak *s)
{
    const cscalp_learn *l = cscalp_engine_learner(s->e);
    const float *w = cscalp_learn_live_params(l);
    const size_t n = cscalp_learn_param_count(l);
    for (size_t k = 0; k < n; k++)
        if (!isfinite(w[k]))
            return 0;
    return 1;
}

/* The learner's training steps so far (stats "learn.training.steps"):
 * read without waiting for the learner thread, unlike cscalp_adapt. */
static uint64_t learner_steps(soak *s)
{
    static char buf[1 << 16];
    size_t need = 0;
    const int rc = cscalp_stats_json(s->e, buf, sizeof buf, &need);
    SOAK_CHECK(rc == CSCALP_OK, "cscalp_stats_json: %s (%zu bytes)", cscalp_error_name(rc), need);
    const char *at = strstr(buf, "\"training\":{\"steps\":");
    SOAK_CHECK(at != NULL, "stats: no learn.training.steps");
    return strtoull(at + strlen("\"training\":{\"steps\":"), NULL, 10);
}

static void adapt(soak *s, cscalp_adapt_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->size = sizeof *rep;
    const int rc = cscalp_adapt(s->e, 0, rep);
    SOAK_CHECK(rc == CSCALP_OK, "event %llu: cscalp_adapt: %s", (unsigned long long)s->i,
               cscalp_error_name(rc));
    s->adapts++;
    after_call(s);
}

/* ------------------------------------------------------------------------ */
/* Poisoned and malformed events                                            */

/* A price jumped 5 % .. 30 % either way from the mid: far beyond
 * feed.outlier_min_bps (300 bps) and ten typical steps of this market. */
static double wild_price(soak *s)
{
    const double mid = 0.5 * (s->bid + s->ask);
    const double j = 0.05 + 0.25 * tu_uniform(&s->rng);
    const double p = mid * (tu_int(&s->rng, 2) ? 1.0 + j : 1.0 - j);
    return floor(p * 100.0 + 0.5) / 100.0;
}

static void fill_book(cscalp_book *b, int64_t ts, double bid, double ask)
{
    memset(b, 0, sizeof *b);
    b->ts_ns = ts;
    b->bid_count = b->ask_count = 3;
    for (uint32_t k = 0; k < 3; k++) {
        b->bids[k].price = bid - 0.01 * k;
        b->bids[k].size = 1.0 + k;
        b->asks[k].price = ask + 0.01 * k;
        b->asks[k].size = 1.0 + k;
    }
}

/* One poisoned event at `price`, of a random kind; must be quarantined. */
static void push_poisoned(soak *s, double price)
{
    int rc;
    const int kind = tu_int(&s->rng, 3);
    if (kind == 0) {
        const cscalp_trade t = {s->now, price, 0.5, CSCALP_SIDE_BUY, 0, 0};
        rc = cscalp_push_trade(s->e, &t);
    } else if (kind == 1) {
        const cscalp_quote q = {s->now, price - 0.01, 2.0, price + 0.01, 2.0};
        rc = cscalp_push_quote(s->e, &q);
    } else {
        static cscalp_book b;
        fill_book(&b, s->now, price - 0.01, price + 0.01);
        rc = cscalp_push_book(s->e, &b);
    }
    SOAK_CHECK(rc == CSCALP_EOUTLIER, "event %llu: poisoned %s at %.17g (mid %.17g): %s (%s)",
               (unsigned long long)s->i, kind == 0 ? "trade" : kind == 1 ? "quote" : "book",
               price, 0.5 * (s->bid + s->ask), cscalp_error_name(rc), cscalp_last_error(s->e));
    s->poisoned++;
    after_call(s);
}

/* One malformed event of a random kind; its exact documented code. */
static void push_malformed(soak *s)
{
    const double mid = 0.5 * (s->bid + s->ask);
    int rc, want;
    const int kind = tu_int(&s->rng, 9);
    static cscalp_book b;
    switch (kind) {
    case 0: {
        const cscalp_trade t = {s->now, (double)NAN, 0.5, CSCALP_SIDE_BUY, 0, 0};
        rc = cscalp_push_trade(s->e, &t);
        want = CSCALP_ENONFINITE;
        break;
    }
    case 1: {
        const cscalp_trade t = {s->now, mid, -1.0, CSCALP_SIDE_SELL, 0, 0};
        rc = cscalp_push_trade(s->e, &t);
        want = CSCALP_ESIZE;
        break;
    }
    case 2: {
        const cscalp_trade t = {s->now, mid, 0.5, 0, 0, 0};
        rc = cscalp_push_trade(s->e, &t);
        want = CSCALP_ESIDE;
        break;
    }
    case 3: {
        const cscalp_quote q = {s->now, s->ask, 1.0, s->bid, 1.0};
        rc = cscalp_push_quote(s->e, &q);
        want = CSCALP_ECROSSED;
        break;
    }
    case 4: {
        const cscalp_quote q = {s->now, -s->bid, 1.0, s->ask, 1.0};
        rc = cscalp_push_quote(s->e, &q);
        want = CSCALP_EPRICE;
        break;
    }
    case 5:
        fill_book(&b, s->now, s->bid, s->ask);
        b.bids[1].price = b.bids[0].price; /* not strictly descending */
        rc = cscalp_push_book(s->e, &b);
        want = CSCALP_ELEVELS;
        break;
    case 6: {
        const cscalp_trade t = {s->now - 10 * NS_PER_S, mid, 0.5, CSCALP_SIDE_BUY, 0, 0};
        rc = cscalp_push_trade(s->e, &t);
        want = CSCALP_ETIME;
        break;
    }
    case 7: {
        const cscalp_funding f = {s->now, 0.0001, mid, 0.0, -1};
        rc = cscalp_push_funding(s->e, &f);
        want = CSCALP_EINVAL;
        break;
    }
    default:
        rc = cscalp_tick(s->e, s->now - 10 * NS_PER_S);
        want = CSCALP_ETIME;
        break;
    }
    SOAK_CHECK(rc == want, "event %llu: malformed event %d: %s, documented %s (%s)",
               (unsigned long long)s->i, kind, cscalp_error_name(rc), cscalp_error_name(want),
               cscalp_last_error(s->e));
    s->malformed_pushed++;
    after_call(s);
}

/* ------------------------------------------------------------------------ */
/* Fault injection and recovery                                            */

static int learner_thread_fault_active(const soak *s)
{
    return s->f[F_STALL].active || s->f[F_DEATH].active;
}

/* Can kind k start now? One of a kind at a time, so that each detection
 * and recovery belongs to one injection; the two thread faults exclude each
 * other (a restart clears both); market-data faults need a live feed. */
static int eligible(const soak *s, int k, uint32_t flags)
{
    if (s->f[k].active)
        return 0;
    const int64_t fresh = s->now - s->top_ns;
    switch (k) {
    case F_CORRUPT:
        /* Any time: the supervisor finds corrupted live weights at the next
         * served signal, or, while the fallback serves, at the next
         * decision sample or rollback (docs/self-healing.md). */
        (void)flags;
        return 1;
    case F_STALL:
    case F_DEATH:
        return !learner_thread_fault_active(s);
    case F_NAN:
    case F_EXPLODE:
        /* Both end in a refused step: one at a time, so each refusal
         * belongs to one injection. */
        return !s->f[F_NAN].active && !s->f[F_EXPLODE].active;
    case F_GAP:
    case F_POISON:
        /* The screen's reference must be recent (after a silence the next
         * price is taken as the new reference, by design). */
        return !s->gap_active && !s->f[F_GAP].active && s->has_top && fresh < NS_PER_S;
    default:
        return 1;
    }
}

static void learner_counters(soak *s, fault *f, int kind)
{
    switch (kind) {
    case F_NAN:
        f->base = s->h.lr_cut_nan;
        break;
    case F_EXPLODE:
        f->base = s->h.lr_cut_explode + s->h.lr_cut_nan;
        f->base2 = s->h.lr_cut_explode;
        f->steps = learner_steps(s);
        break;
    case F_CORRUPT:
        f->base = s->h.count[CSCALP_EVENT_WEIGHTS_RESTORED];
        f->base2 = s->h.count[CSCALP_EVENT_MODEL_PROMOTED];
        break;
    case F_STALL:
    case F_DEATH:
        f->base = s->h.count[CSCALP_EVENT_LEARNER_STALLED];
        f->base2 = s->h.count[CSCALP_EVENT_LEARNER_RESTARTED];
        break;
    default:
        break;
    }
}

static void inject(soak *s, int k)
{
    fault *f = &s->f[k];
    fault_stats *st = &s->fs[k];
    memset(f, 0, sizeof *f);
    f->at = s->i;
    f->at_wall = wall_now();
    f->at_ns = s->now;
    int rc = CSCALP_OK;
    switch (k) {
    case F_NAN:
    case F_EXPLODE:
    case F_CORRUPT:
        learner_counters(s, f, k);
        rc = cscalp_fault_inject(s->e,
                                 k == F_NAN       ? CSCALP_FAULT_NAN_GRADIENT
                                 : k == F_EXPLODE ? CSCALP_FAULT_EXPLODING_GRADIENT
                                                  : CSCALP_FAULT_CORRUPT_WEIGHTS,
                                 1);
        /* Documented: CSCALP_OK (these need no learner thread). */
        SOAK_CHECK(rc == CSCALP_OK, "event %llu: inject %s: %s", (unsigned long long)s->i,
                   fault_names[k], cscalp_error_name(rc));
        break;
    case F_STALL:
    case F_DEATH:
        learner_counters(s, f, k);
        rc = cscalp_fault_inject(s->e,
                                 k == F_STALL ? CSCALP_FAULT_LEARNER_STALL
                                              : CSCALP_FAULT_LEARNER_DEATH,
                                 1);
        /* Documented: CSCALP_EUNSUPPORTED without a running learner thread
         * (the watchdog restarts one at its next check). */
        SOAK_CHECK(rc == CSCALP_OK || rc == CSCALP_EUNSUPPORTED, "event %llu: inject %s: %s",
                   (unsigned long long)s->i, fault_names[k], cscalp_error_name(rc));
        if (rc != CSCALP_OK) {
            st->refused++;
            return;
        }
        if (k == F_STALL) {
            /* Released after 1 000 .. 400 000 events: before or after the
             * watchdog's health.learner_stall_wall_ms, depending on speed. */
            f->release_at = s->i + 1000 + tu_below(&s->rng, 400000);
        }
        break;
    case F_REJECTS:
        f->base = s->h.count[CSCALP_EVENT_BREAKER_OPENED];
        f->base2 = s->h.count[CSCALP_EVENT_BREAKER_CLOSED];
        f->variant = tu_int(&s->rng, 2); /* 1: the first probe is rejected too */
        f->until_ns = s->now + 120 * NS_PER_S;
        s->reject_all = 1;
        break;
    case F_GAP:
        f->base = s->h.count[CSCALP_EVENT_FEED_STALE];
        f->base2 = s->h.count[CSCALP_EVENT_FEED_RESUMED];
        f->variant = tu_int(&s->rng, 4) == 0; /* 1: the host does not tick through it */
        f->until_ns = s->now + (int64_t)((double)s->lim.stale_ns * (1.2 + 1.8 * tu_uniform(&s->rng)));
        s->gap_active = 1;
        s->gap_silent = f->variant;
        f->outcome = f->variant;
        break;
    case F_POISON: {
        cscalp_health_report before;
        health_now(s, &before);
        cscalp_position p0, p1;
        position_now(s, &p0);
        const uint64_t q0 = s->h.count[CSCALP_EVENT_DATA_QUARANTINED];
        const uint64_t r0 = s->h.count[CSCALP_EVENT_INPUT_REJECTED];
        /* Up to feed.outlier_confirm_events - 1 events at one wild level:
         * all quarantined, none confirms it. */
        const int burst = 1 + tu_int(&s->rng, s->lim.confirm - 1);
        const double price = wild_price(s);
        for (int b = 0; b < burst; b++)
            push_poisoned(s, price);
        const int bad = tu_int(&s->rng, 2);
        if (bad)
            push_malformed(s);
        cscalp_health_report after;
        health_now(s, &after);
        position_now(s, &p1);
        /* Each one counted and reported once; none moved the market the
         * engine marks its position at. */
        SOAK_CHECK(s->h.count[CSCALP_EVENT_DATA_QUARANTINED] - q0 == (uint64_t)burst &&
                       after.feed_rejected[CSCALP_REJECT_OUTLIER] -
                               before.feed_rejected[CSCALP_REJECT_OUTLIER] ==
                           (uint64_t)burst &&
                       s->h.count[CSCALP_EVENT_INPUT_REJECTED] - r0 == (uint64_t)bad,
                   "event %llu: %d poisoned and %d malformed events gave %llu quarantine and "
                   "%llu rejection events",
                   (unsigned long long)s->i, burst, bad,
                   (unsigned long long)(s->h.count[CSCALP_EVENT_DATA_QUARANTINED] - q0),
                   (unsigned long long)(s->h.count[CSCALP_EVENT_INPUT_REJECTED] - r0));
        SOAK_CHECK(p1.mark_price == p0.mark_price,
                   "event %llu: a quarantined event moved the mark %.17g -> %.17g",
                   (unsigned long long)s->i, p0.mark_price, p1.mark_price);
        SOAK_CHECK(after.supervisor_flags & CSCALP_SUPERVISOR_QUARANTINE,
                   "event %llu: no quarantine flag after %d poisoned events (flags 0x%x)",
                   (unsigned long long)s->i, burst, after.supervisor_flags);
        f->detected = 1;
        st->detected++;
        f->outcome = burst - 1;
        break;
    }
    case F_CKPT: {
        const uint32_t fails = 1 + (uint32_t)tu_int(&s->rng, 3);
        f->base = s->h.failed_retrying;
        f->base2 = s->h.saved_by_retry;
        f->outcome = (int)fails - 1;
        rc = cscalp_fault_inject(s->e, CSCALP_FAULT_WRITE_FAILURE, fails);
        SOAK_CHECK(rc == CSCALP_OK, "inject write failure: %s", cscalp_error_name(rc));
        rc = cscalp_save(s->e, s->ckpt_path);
        s->saves++;
        /* Documented: CSCALP_EIO when the file cannot be written; the
         * previous one is intact and cscalp_tick retries. */
        SOAK_CHECK(rc == CSCALP_EIO, "event %llu: cscalp_save with a failing write: %s (%s)",
                   (unsigned long long)s->i, cscalp_error_name(rc), cscalp_last_error(s->e));
        SOAK_CHECK(s->h.failed_retrying == f->base + 1 &&
                       (flags_now(s) & CSCALP_SUPERVISOR_CHECKPOINT_RETRY),
                   "event %llu: a failed save raised %llu CHECKPOINT_FAILED (RETRYING) events",
                   (unsigned long long)s->i, (unsigned long long)(s->h.failed_retrying - f->base));
        after_call(s);
        f->detected = 1;
        st->detected++;
        break;
    }
    case F_RESYNC:
        s->drop_next_fill = 1;
        f->base = s->h.resync_warnings;
        break;
    default:
        break;
    }
    f->active = 1;
    st->injected++;
}

/* Work a fault does between checks: a gap's end, a burst's end, a stall's
 * release, the host's reconciliation after a lost fill. */
static void progress(soak *s)
{
    fault *g = &s->f[F_GAP];
    if (g->active && s->gap_active && s->now >= g->until_ns)
        s->gap_active = 0; /* data flows again from the next event */

    fault *r = &s->f[F_REJECTS];
    if (r->active && s->reject_all) {
        const uint64_t opened = s->h.count[CSCALP_EVENT_BREAKER_OPENED] - r->base;
        if (opened >= (uint64_t)(1 + r->variant) || s->now >= r->until_ns)
            s->reject_all = 0;
    }

    fault *st = &s->f[F_STALL];
    if (st->active && !st->released && s->i >= st->release_at) {
        const int rc = cscalp_fault_inject(s->e, CSCALP_FAULT_LEARNER_STALL, 0);
        SOAK_CHECK(rc == CSCALP_OK || rc == CSCALP_EUNSUPPORTED, "event %llu: release stall: %s",
                   (unsigned long long)s->i, cscalp_error_name(rc));
        st->released = 1;
        /* The learner takes a barrier behind everything queued: proof it
         * runs again (a thread still stuck would be restarted within). */
        cscalp_adapt_report rep;
        adapt(s, &rep);
        st->step = 1;
    }

    fault *p = &s->f[F_RESYNC];
    if (p->active) {
        if (p->step == 0 && !s->drop_next_fill) {
            p->step = 1; /* the fill report was lost: reconcile later */
            p->detected = 1;
            s->fs[F_RESYNC].detected++;
            p->release_at = s->i + 1000 + tu_below(&s->rng, 20000);
        }
        if (p->step >= 1 && s->i >= p->release_at) {
            p->step = 2;
            reconcile(s, 1);
        }
    }
}

/* Is fault k over? Its detection event came after its injection and the
 * condition it caused has cleared. */
static int recovered(soak *s, int k, uint32_t flags)
{
    fault *f = &s->f[k];
    hstate *h = &s->h;
    int det = f->detected;
    int rec = 0;
    switch (k) {
    case F_NAN:
        /* A NaN in the batch is always refused: a rollback and a cut
         * learning rate; recovered once clean steps have restored the rate
         * and the signal is finite. */
        det = h->lr_cut_nan > f->base;
        rec = det && !(flags & CSCALP_SUPERVISOR_LR_LOWERED);
        if (rec)
            infer_ok(s);
        break;
    case F_EXPLODE:
        /* Inputs x1e4 usually give a gradient beyond
         * health.explode_grad_norm (outcome 0), or overflow to a non-finite
         * one (outcome 1); both are refused as above. A batch that
         * saturates the softmax on its labels has a small gradient and is
         * rightly taken (outcome 2): seen as two training steps after the
         * injection with no refusal (a refused step stops training until
         * the host's rollback, which raises the cut first). */
        det = h->lr_cut_explode + h->lr_cut_nan > f->base;
        if (det) {
            f->outcome = h->lr_cut_explode > f->base2 ? 0 : 1;
            rec = !(flags & CSCALP_SUPERVISOR_LR_LOWERED);
        } else if (learner_steps(s) >= f->steps + 2) {
            det = rec = 1;
            f->outcome = 2;
        }
        if (rec)
            infer_ok(s);
        break;
    case F_CORRUPT:
        /* Restored by the supervisor at the next served signal, sample or
         * rollback (outcome 0), or - if the learner promoted its challenger first, replacing
         * the corrupted network before any signal was served from it -
         * replaced (outcome 1). Either way the live weights are finite
         * again and the signal is. */
        det = h->count[CSCALP_EVENT_WEIGHTS_RESTORED] > f->base ||
              (h->count[CSCALP_EVENT_MODEL_PROMOTED] > f->base2 && live_weights_finite(s));
        f->outcome = h->count[CSCALP_EVENT_WEIGHTS_RESTORED] > f->base ? 0 : 1;
        rec = det && live_weights_finite(s);
        if (rec)
            infer_ok(s);
        break;
    case F_STALL:
        det = det || h->count[CSCALP_EVENT_LEARNER_STALLED] > f->base || f->released;
        if (h->count[CSCALP_EVENT_LEARNER_RESTARTED] > f->base2) {
            f->outcome = 1; /* the watchdog restarted it */
            rec = 1;
        } else if (f->step == 1) {
            f->outcome = 0; /* released, and it took a barrier */
            rec = 1;
        }
        rec = rec && !(flags & CSCALP_SUPERVISOR_LEARNER_DOWN);
        if (rec && !f->released) {
            /* Restarted first: the release finds the new thread (a no-op). */
            const int rc = cscalp_fault_inject(s->e, CSCALP_FAULT_LEARNER_STALL, 0);
            SOAK_CHECK(rc == CSCALP_OK || rc == CSCALP_EUNSUPPORTED, "release stall: %s",
                       cscalp_error_name(rc));
            f->released = 1;
        }
        break;
    case F_DEATH:
        det = h->count[CSCALP_EVENT_LEARNER_STALLED] > f->base;
        rec = det && h->count[CSCALP_EVENT_LEARNER_RESTARTED] > f->base2 &&
              !(flags & CSCALP_SUPERVISOR_LEARNER_DOWN);
        break;
    case F_REJECTS: {
        const uint64_t opened = h->count[CSCALP_EVENT_BREAKER_OPENED] - f->base;
        det = opened > 0;
        /* A burst that ended before enough NEW intents came to open the
         * breaker needs no recovery; one that opened it needs it closed by
         * an accepted probe. */
        rec = !s->reject_all &&
              !(flags & (CSCALP_SUPERVISOR_BREAKER_OPEN | CSCALP_SUPERVISOR_BREAKER_HALF_OPEN)) &&
              (!det || h->count[CSCALP_EVENT_BREAKER_CLOSED] > f->base2);
        f->outcome = !det ? 0 : opened == 1 ? 1 : 2;
        break;
    }
    case F_GAP:
        det = h->count[CSCALP_EVENT_FEED_STALE] > f->base;
        if (det && !f->step) {
            /* The stale feed's action: every working order has its cancel
             * (reason SUPERVISOR) and nothing new is sent. */
            cscalp_working_order wo[MAX_WORKING];
            wo[0].size = sizeof wo[0];
            const int n = cscalp_get_orders(s->e, wo, MAX_WORKING);
            SOAK_CHECK(n >= 0 && n <= MAX_WORKING, "cscalp_get_orders: %d", n);
            for (int k2 = 0; k2 < n; k2++)
                SOAK_CHECK(wo[k2].status == CSCALP_ORDER_STATUS_PENDING_CANCEL ||
                               !(flags & CSCALP_SUPERVISOR_FEED_STALE),
                           "event %llu: order %llu not cancelled while the feed is stale",
                           (unsigned long long)s->i, (unsigned long long)wo[k2].client_id);
            if (flags & CSCALP_SUPERVISOR_FEED_STALE)
                s->stale_cancels_checked++;
            f->step = 1;
        }
        rec = det && !s->gap_active && h->count[CSCALP_EVENT_FEED_RESUMED] > f->base2 &&
              !(flags & (CSCALP_SUPERVISOR_FEED_STALE | CSCALP_SUPERVISOR_FEED_RECOVERING));
        break;
    case F_POISON:
        rec = !(flags & CSCALP_SUPERVISOR_QUARANTINE);
        break;
    case F_CKPT:
        rec = h->saved_by_retry > f->base2 && !(flags & CSCALP_SUPERVISOR_CHECKPOINT_RETRY);
        break;
    case F_RESYNC:
        if (f->step == 2)
            rec = reconcile(s, 0) && h->resync_warnings > f->base;
        break;
    default:
        break;
    }
    if (det && !f->detected) {
        f->detected = 1;
        s->fs[k].detected++;
    }
    return rec;
}

static void check_faults(soak *s, uint32_t flags)
{
    for (int k = 0; k < F_COUNT; k++) {
        fault *f = &s->f[k];
        if (!f->active)
            continue;
        const uint64_t took = s->i - f->at;
        const double wall = wall_now() - f->at_wall;
        if (recovered(s, k, flags)) {
            fault_stats *st = &s->fs[k];
            f->active = 0;
            st->recovered++;
            st->sum_events += took;
            if (took > st->worst_events)
                st->worst_events = took;
            if (wall > st->worst_wall)
                st->worst_wall = wall;
            if (f->outcome >= 0 && f->outcome < 3)
                st->outcome[f->outcome]++;
            continue;
        }
        const int thread = k == F_STALL || k == F_DEATH;
        SOAK_CHECK(took <= recover_bound[k] && (!thread || wall <= LEARNER_WALL_BOUND_S),
                   "event %llu: %s injected at event %llu not recovered after %llu events, "
                   "%.1f s (detected %d, step %d, flags 0x%x)",
                   (unsigned long long)s->i, fault_names[k], (unsigned long long)f->at,
                   (unsigned long long)took, wall, f->detected, f->step, flags);
    }
}

/* Invariants that hold at every check. */
static void check_invariants(soak *s, const cscalp_health_report *r)
{
    cscalp_position p;
    position_now(s, &p);
    const unsigned long long ev = (unsigned long long)s->i;
    SOAK_CHECK(s->h.malformed == 0, "malformed health event: %s", s->h.malformed_first);
    /* The kill switch is out of reach (see soak_config): a trip is a bug. */
    SOAK_CHECK(!p.kill_switch && r->components[CSCALP_COMPONENT_RISK].status != CSCALP_STATUS_FAILED,
               "event %llu: kill switch tripped", ev);
    SOAK_CHECK(fabs(p.position) <= s->lim.max_pos * (1.0 + 1e-9),
               "event %llu: position %.17g beyond risk.max_position_contracts %.17g", ev,
               p.position, s->lim.max_pos);
    /* The engine's position is the venue's reports, less a lost report
     * until the host reconciles. */
    SOAK_CHECK(fabs(p.position - (s->H.pos - s->lost)) <= 1e-6,
               "event %llu: engine position %.17g, host's %.17g less %.17g lost", ev,
               p.position, s->H.pos, s->lost);
    SOAK_CHECK(p.open_orders == (uint32_t)s->nworking,
               "event %llu: engine has %u open orders, the host %d", ev, p.open_orders,
               s->nworking);
    SOAK_CHECK(isfinite(p.equity) && isfinite(p.realised_pnl), "event %llu: equity %g", ev,
               p.equity);
    /* No learner thread down for long: the watchdog restarts it. */
    SOAK_CHECK(!(r->supervisor_flags & CSCALP_SUPERVISOR_LEARNER_DOWN) ||
                   s->f[F_STALL].active || s->f[F_DEATH].active,
               "event %llu: learner down with no fault injected", ev);
}

static void check_all(soak *s)
{
    cscalp_health_report r;
    health_now(s, &r);
    check_invariants(s, &r);
    check_faults(s, r.supervisor_flags);
}

/* The next fault: every kind once in a shuffled order first, then at
 * random; a kind that cannot start now gives way to one that can. */
static void maybe_inject(soak *s)
{
    if (s->i < s->next_fault_at || s->i >= s->faults_until)
        return;
    int pick = -1;
    const uint32_t flags = flags_now(s);
    if (s->first_cycle_at < F_COUNT) {
        for (int k = s->first_cycle_at; k < F_COUNT && pick < 0; k++)
            if (eligible(s, s->first_cycle[k], flags)) {
                pick = s->first_cycle[k];
                s->first_cycle[k] = s->first_cycle[s->first_cycle_at];
                s->first_cycle[s->first_cycle_at++] = pick;
            }
    } else {
        const int start = tu_int(&s->rng, F_COUNT);
        for (int d = 0; d < F_COUNT && pick < 0; d++)
            if (eligible(s, (start + d) % F_COUNT, flags))
                pick = (start + d) % F_COUNT;
    }
    if (pick < 0) {
        s->next_fault_at = s->i + 1000; /* try again shortly */
        return;
    }
    inject(s, pick);
    const double mean = (double)(s->faults_until - s->faults_from) /
                        fmax(4.0 * F_COUNT, (double)s->n / 40000.0);
    s->next_fault_at = s->i + (uint64_t)(mean * (0.5 + tu_uniform(&s->rng)));
}

/* ------------------------------------------------------------------------ */
/* Setup, run, report                                                       */

static void soak_open(soak *s)
{
    s->n = env_u64("CSCALP_SOAK_EVENTS", DEFAULT_EVENTS);
    /* Fewer leave too little time for one fault of every kind and each
     * one's recovery (about 40 faults, a 15 % quiet tail). */
    ck_assert_msg(s->n >= MIN_EVENTS, "CSCALP_SOAK_EVENTS=%llu: at least %llu are needed",
                  (unsigned long long)s->n, (unsigned long long)MIN_EVENTS);
    s->seed = env_u64("CSCALP_SOAK_SEED", DEFAULT_SEED);
    s->rng.s = s->seed;
    printf("soak: %llu events, seed 0x%llx (CSCALP_SOAK_SEED), pid %ld\n",
           (unsigned long long)s->n, (unsigned long long)s->seed, (long)getpid());
    fflush(stdout);
    s->rss_start = rss_bytes();

    char why[512] = "";
    int rc = cscalp_open_ex(&s->e, soak_config, NULL, why, sizeof why);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_open_ex: %s (%s)", cscalp_error_name(rc), why);
    ck_assert_int_eq(cscalp_set_health_callback(s->e, on_health, &s->h), CSCALP_OK);
    read_limits(s);

    cscalp_sim_market_config mc;
    memset(&mc, 0, sizeof mc);
    mc.size = sizeof mc;
    ck_assert_int_eq(cscalp_sim_market_config_init(&mc), CSCALP_OK);
    mc.seed = s->seed;
    mc.start_price = 100.0;
    mc.tick_size = 0.01;
    rc = cscalp_sim_market_open(&s->m, &mc, NULL, why, sizeof why);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_sim_market_open: %s (%s)", cscalp_error_name(rc), why);

    cscalp_sim_venue_config vc;
    memset(&vc, 0, sizeof vc);
    vc.size = sizeof vc;
    ck_assert_int_eq(cscalp_sim_venue_config_init(&vc), CSCALP_OK);
    rc = cscalp_sim_venue_open(&s->v, &vc, NULL, why, sizeof why);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_sim_venue_open: %s (%s)", cscalp_error_name(rc), why);

    memset(&s->ev, 0, sizeof s->ev);
    s->ev.size = sizeof s->ev;
    ck_assert_int_eq(cscalp_set_autonomy(s->e, CSCALP_AUTONOMY_AUTONOMOUS), CSCALP_OK);

    const char *tmp = getenv("TMPDIR");
    snprintf(s->ckpt_dir, sizeof s->ckpt_dir, "%s/cscalp-soak-XXXXXX",
             tmp != NULL && *tmp != '\0' && strlen(tmp) < 32 ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(s->ckpt_dir));
    snprintf(s->ckpt_path, sizeof s->ckpt_path, "%s/soak.ckpt", s->ckpt_dir);

    s->faults_from = (uint64_t)((double)s->n * FAULTS_FROM);
    s->faults_until = (uint64_t)((double)s->n * FAULTS_UNTIL);
    s->next_fault_at = s->faults_from;
    for (int k = 0; k < F_COUNT; k++)
        s->first_cycle[k] = k;
    for (int k = F_COUNT - 1; k > 0; k--) {
        const int j = tu_int(&s->rng, k + 1);
        const int t = s->first_cycle[k];
        s->first_cycle[k] = s->first_cycle[j];
        s->first_cycle[j] = t;
    }
    s->t0 = wall_now();
}

static void rss_sample(soak *s)
{
    const long rss = rss_bytes();
    if (rss < 0)
        return;
    if (!s->rss_warm_taken) {
        s->rss_warm = s->rss_max = rss;
        s->rss_warm_taken = 1;
    }
    if (rss > s->rss_max)
        s->rss_max = rss;
}

static void run(soak *s)
{
    uint64_t warm_at = (uint64_t)((double)s->n * WARMUP_FRACTION);
    if (warm_at < WARMUP_MIN_EVENTS)
        warm_at = WARMUP_MIN_EVENTS < s->n ? WARMUP_MIN_EVENTS : s->n - 1;
    const uint64_t rss_every = s->n / RSS_SAMPLES > 0 ? s->n / RSS_SAMPLES : 1;
    const uint64_t save_every = s->n / 16 > 0 ? s->n / 16 : 1;
    for (s->i = 0; s->i < s->n; s->i++) {
        int rc = cscalp_sim_market_next(s->m, &s->ev);
        SOAK_CHECK(rc == CSCALP_OK, "cscalp_sim_market_next: %s", cscalp_error_name(rc));
        s->now = s->ev.ts_ns;
        if (s->i == 0)
            s->start_ns = s->now;
        if (!s->gap_active) {
            rc = push_event(s->e, &s->ev);
            /* The synthetic market's events are valid and move in small
             * steps: each one is accepted. */
            SOAK_CHECK(rc == CSCALP_OK, "event %llu (kind %d): %s (%s)", (unsigned long long)s->i,
                       s->ev.kind, cscalp_error_name(rc), cscalp_last_error(s->e));
            s->pushed++;
            note_top(s, &s->ev);
            after_call(s);
        } else {
            s->skipped_gap++;
        }
        /* The venue is the market: it trades on whether the host's feed is
         * down or not. */
        rc = venue_event(s->v, &s->ev);
        SOAK_CHECK(rc == CSCALP_OK, "venue event %llu: %s", (unsigned long long)s->i,
                   cscalp_error_name(rc));
        pump_venue(s);
        if (s->now >= s->next_tick_ns) {
            if (!(s->gap_active && s->gap_silent))
                tick(s);
            s->next_tick_ns = s->now + TICK_NS;
        }
        progress(s);
        maybe_inject(s);
        if (s->i % INFER_EVERY == 0)
            infer_ok(s);
        if (s->i % save_every == save_every / 2 && !s->f[F_CKPT].active) {
            /* The host's periodic checkpoint (the learner drains first). */
            rc = cscalp_save(s->e, s->ckpt_path);
            SOAK_CHECK(rc == CSCALP_OK, "event %llu: cscalp_save: %s (%s)",
                       (unsigned long long)s->i, cscalp_error_name(rc), cscalp_last_error(s->e));
            s->saves++;
            after_call(s);
        }
        if (s->i % CHECK_EVERY == 0)
            check_all(s);
        if (s->i >= warm_at && (s->i - warm_at) % rss_every == 0)
            rss_sample(s);
    }
    s->i = s->n;
    check_all(s);
}

/* After the last event: nothing pending, every component healthy but for
 * what ordinary trading and learning leave (explained), a checkpoint that
 * opens, flat memory. */
static void finish(soak *s)
{
    check_all(s);
    for (int k = 0; k < F_COUNT; k++)
        ck_assert_msg(!s->f[k].active, "%s injected at event %llu never recovered (detected %d)",
                      fault_names[k], (unsigned long long)s->f[k].at, s->f[k].detected);
    for (int k = 0; k < F_COUNT; k++) {
        ck_assert_msg(s->fs[k].injected > 0, "no %s was injected: run more events", fault_names[k]);
        ck_assert_uint_eq(s->fs[k].recovered, s->fs[k].injected);
    }
    /* The fault-driven conditions are all clear; what may remain is the
     * learner's and the desk's ordinary state. */
    cscalp_health_report r;
    health_now(s, &r);
    const uint32_t fault_flags =
        CSCALP_SUPERVISOR_FEED_STALE | CSCALP_SUPERVISOR_FEED_RECOVERING |
        CSCALP_SUPERVISOR_QUARANTINE | CSCALP_SUPERVISOR_BREAKER_OPEN |
        CSCALP_SUPERVISOR_BREAKER_HALF_OPEN | CSCALP_SUPERVISOR_LR_LOWERED |
        CSCALP_SUPERVISOR_LEARNER_DOWN | CSCALP_SUPERVISOR_CHECKPOINT_RETRY;
    ck_assert_msg((r.supervisor_flags & fault_flags) == 0, "supervisor still holds 0x%x",
                  r.supervisor_flags & fault_flags);
    static const char *const comp[CSCALP_COMPONENT_COUNT] = {
        "engine", "feed", "features", "model", "learner", "regime", "policy", "risk",
        "supervisor", "persist"};
    static const char *const status[3] = {"OK", "DEGRADED", "FAILED"};
    printf("soak: final health (supervisor flags 0x%x):\n", r.supervisor_flags);
    for (int c = 0; c < CSCALP_COMPONENT_COUNT; c++) {
        const cscalp_component_health *ch = &r.components[c];
        const int st = ch->status >= 0 && ch->status <= 2 ? ch->status : 2;
        printf("  %-10s %-8s events %llu", comp[c], status[st], (unsigned long long)ch->events);
        if (st != CSCALP_STATUS_OK)
            printf("  last warning: event %d \"%.150s\"", s->h.last_warning[c],
                   s->h.last_warning_text[c]);
        printf("\n");
        ck_assert_msg(st != CSCALP_STATUS_FAILED, "%s FAILED at the end", comp[c]);
        if (c == CSCALP_COMPONENT_RISK || c == CSCALP_COMPONENT_LEARNER)
            continue; /* may be DEGRADED: see the printed reason */
        ck_assert_msg(st == CSCALP_STATUS_OK, "%s %s at the end (last warning event %d: %s)",
                      comp[c], status[st], s->h.last_warning[c], s->h.last_warning_text[c]);
    }
    /* RISK and LEARNER may only be DEGRADED by ordinary operation: a
     * lowered autonomy on probation after a rollback storm, the fallback
     * serving, load shedding, or a warning of theirs younger than
     * health.degraded_hold_s that is not a fault's. */
    const int32_t risk_last = s->h.last_warning[CSCALP_COMPONENT_RISK];
    if (r.components[CSCALP_COMPONENT_RISK].status != CSCALP_STATUS_OK)
        ck_assert_msg((r.supervisor_flags & CSCALP_SUPERVISOR_AUTONOMY_LOWERED) ||
                          risk_last == CSCALP_EVENT_INTENT_REFUSED ||
                          risk_last == CSCALP_EVENT_ORDER_REJECTED ||
                          risk_last == CSCALP_EVENT_LOSS_COOLDOWN,
                      "risk DEGRADED by event %d: %s", risk_last,
                      s->h.last_warning_text[CSCALP_COMPONENT_RISK]);
    const int32_t learn_last = s->h.last_warning[CSCALP_COMPONENT_LEARNER];
    if (r.components[CSCALP_COMPONENT_LEARNER].status != CSCALP_STATUS_OK)
        ck_assert_msg((r.supervisor_flags & (CSCALP_SUPERVISOR_FALLBACK_SERVING |
                                             CSCALP_SUPERVISOR_LEARNER_SHEDDING)) ||
                          learn_last == CSCALP_EVENT_LEARNER_ROLLBACK ||
                          learn_last == CSCALP_EVENT_DRIFT_DETECTED ||
                          learn_last == CSCALP_EVENT_SAMPLES_DROPPED ||
                          learn_last == CSCALP_EVENT_LEARNER_SHEDDING ||
                          learn_last == CSCALP_EVENT_FALLBACK_ENGAGED,
                      "learner DEGRADED by event %d: %s", learn_last,
                      s->h.last_warning_text[CSCALP_COMPONENT_LEARNER]);
}

static void report(soak *s)
{
    const double wall = wall_now() - s->t0;
    cscalp_health_report r;
    health_now(s, &r);
    printf("soak: %llu events in %.1f s wall (%.0f events/s), %.1f h of market time\n",
           (unsigned long long)s->n, wall, (double)s->n / wall,
           (double)(s->now - s->start_ns) / 3.6e12);
    printf("soak: pushed %llu, skipped in gaps %llu, poisoned %llu, malformed %llu, ticks %llu, "
           "signal reads %llu, saves %llu\n",
           (unsigned long long)s->pushed, (unsigned long long)s->skipped_gap,
           (unsigned long long)s->poisoned, (unsigned long long)s->malformed_pushed,
           (unsigned long long)s->ticks, (unsigned long long)s->infers,
           (unsigned long long)s->saves);
    printf("soak: intents NEW %llu (reduce-only %llu, probes %llu), CANCEL %llu; venue updates "
           "%llu, fills %llu; host rejects %llu; lost fill reports %llu, reconciled orders %llu, "
           "resyncs %llu\n",
           (unsigned long long)s->intents_new, (unsigned long long)s->reduce_only_new,
           (unsigned long long)s->probes, (unsigned long long)s->intents_cancel,
           (unsigned long long)s->updates, (unsigned long long)s->fills,
           (unsigned long long)s->self_rejects, (unsigned long long)s->fills_lost,
           (unsigned long long)s->reconciled_orders, (unsigned long long)s->resyncs);
    printf("soak: fills refused as closed %llu; stale-feed cancels verified %llu times; learner "
           "drained %llu times\n",
           (unsigned long long)s->closed_fills, (unsigned long long)s->stale_cancels_checked,
           (unsigned long long)s->adapts);
    printf("soak: %-18s %8s %8s %9s %7s %11s %12s %7s  %s\n", "fault", "injected", "detected",
           "recovered", "refused", "mean events", "worst events", "worst s", "outcomes");
    for (int k = 0; k < F_COUNT; k++) {
        const fault_stats *st = &s->fs[k];
        printf("soak: %-18s %8llu %8llu %9llu %7llu %11.0f %12llu %7.2f ", fault_names[k],
               (unsigned long long)st->injected, (unsigned long long)st->detected,
               (unsigned long long)st->recovered, (unsigned long long)st->refused,
               st->recovered > 0 ? (double)st->sum_events / (double)st->recovered : 0.0,
               (unsigned long long)st->worst_events, st->worst_wall);
        for (int o = 0; o < 3; o++)
            if (outcome_names[k][o] != NULL)
                printf(" %s %llu", outcome_names[k][o], (unsigned long long)st->outcome[o]);
        printf("\n");
    }
    static const int shown[] = {
        CSCALP_EVENT_FEED_STALE,        CSCALP_EVENT_FEED_RESUMED,
        CSCALP_EVENT_DATA_QUARANTINED,  CSCALP_EVENT_INPUT_REJECTED,
        CSCALP_EVENT_BREAKER_OPENED,    CSCALP_EVENT_BREAKER_HALF_OPEN,
        CSCALP_EVENT_BREAKER_CLOSED,    CSCALP_EVENT_LEARNER_STALLED,
        CSCALP_EVENT_LEARNER_RESTARTED, CSCALP_EVENT_LEARNER_SHEDDING,
        CSCALP_EVENT_LEARNER_CAUGHT_UP, CSCALP_EVENT_WEIGHTS_RESTORED,
        CSCALP_EVENT_LEARNING_RATE_CHANGED, CSCALP_EVENT_LEARNER_ROLLBACK,
        CSCALP_EVENT_MODEL_PROMOTED,    CSCALP_EVENT_FALLBACK_ENGAGED,
        CSCALP_EVENT_CHECKPOINT_SAVED,  CSCALP_EVENT_CHECKPOINT_FAILED,
        CSCALP_EVENT_POSITION_RESYNC,   CSCALP_EVENT_AUTONOMY_CHANGED,
        CSCALP_EVENT_ORDER_REJECTED,    CSCALP_EVENT_INTENT_REFUSED,
        CSCALP_EVENT_SAMPLES_DROPPED,   CSCALP_EVENT_LOSS_COOLDOWN};
    printf("soak: health events %llu:", (unsigned long long)s->h.total);
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++)
        printf(" %d:%llu", shown[k], (unsigned long long)s->h.count[shown[k]]);
    printf("\nsoak: playbook actions:");
    for (uint32_t k = 0; k < r.playbook_count && k < CSCALP_PLAYBOOK_SLOTS; k++)
        printf(" %llu", (unsigned long long)r.playbook_actions[k]);
    printf("\nsoak: autonomy at the end %d\n", cscalp_get_autonomy(s->e));
    printf("soak: RSS start %.1f MiB, after warm-up %.1f MiB, max %.1f MiB, end %.1f MiB\n",
           (double)s->rss_start / 1048576.0, (double)s->rss_warm / 1048576.0,
           (double)s->rss_max / 1048576.0, (double)s->rss_end / 1048576.0);
    fflush(stdout);
}

static void soak_close(soak *s)
{
    cscalp_sim_venue_close(s->v);
    cscalp_sim_market_close(s->m);
    cscalp_close(s->e);
    /* The last save opens: what the retries wrote is a whole checkpoint. */
    cscalp_engine *back = NULL;
    char why[512] = "";
    const int rc = cscalp_open_checkpoint(&back, s->ckpt_path, NULL, why, sizeof why);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_open_checkpoint(%s): %s (%s)", s->ckpt_path,
                  cscalp_error_name(rc), why);
    cscalp_close(back);
    unlink(s->ckpt_path);
    rmdir(s->ckpt_dir);
}

START_TEST(soak_with_faults)
{
    if (!cscalp_has_feature(CSCALP_FEATURE_THREADS)) {
        /* learn.mode "async" needs the learner thread (meson -Dthreads). */
        printf("soak: skipped: this build has no learner thread\n");
        return;
    }
    soak *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    /* Touch every page of the host's own books now, so that their first
     * use late in the run is not counted as growth. */
    for (size_t b = 0; b < sizeof *s; b += 1024)
        ((volatile char *)s)[b] = 0;
    soak_open(s);
    run(s);
    /* Drain the learner (every queued sample taken), then the summary
     * before the end-of-run assertions, so a failing run still shows it. */
    cscalp_adapt_report rep;
    adapt(s, &rep);
    s->rss_end = rss_bytes();
    report(s);
    finish(s);
#ifdef SOAK_SANITIZER
    printf("soak: RSS bound skipped under %s\n", SOAK_SANITIZER);
#else
    ck_assert_msg(s->rss_warm_taken, "no RSS sample after the warm-up");
    ck_assert_msg(s->rss_max - s->rss_warm < RSS_GROWTH_MAX,
                  "resident memory grew %.2f MiB after the warm-up (%.1f -> %.1f MiB)",
                  (double)(s->rss_max - s->rss_warm) / 1048576.0,
                  (double)s->rss_warm / 1048576.0, (double)s->rss_max / 1048576.0);
    printf("soak: RSS growth after warm-up %.2f MiB (bound %.0f MiB)\n",
           (double)(s->rss_max - s->rss_warm) / 1048576.0, (double)RSS_GROWTH_MAX / 1048576.0);
#endif
    fflush(stdout);
    soak_close(s);
    free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *su = suite_create("soak");
    TCase *tc = tcase_create("soak");
    /* Meson gives the test 1200 s; the default run takes a minute or so. */
    tcase_set_timeout(tc, 1150);
    tcase_add_test(tc, soak_with_faults);
    suite_add_tcase(su, tc);
    return su;
}

int main(void) { return tu_run(suite()); }
