/* Health stage: health events, the host's callback and per-component status,
 * and the supervisor's detectors (supervisor.c, docs/self-healing.md).
 * Events are delivered synchronously on the caller's thread, inside the API
 * call that caused them. */
#ifndef CSCALP_HEALTH_HEALTH_H
#define CSCALP_HEALTH_HEALTH_H

#include <math.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"
#include "util/json_writer.h"

typedef struct cscalp_health_state {
    cscalp_health_fn fn;
    void *user_data;
    int64_t degraded_hold_ns;
    uint64_t events_total;
    cscalp_component_health components[CSCALP_COMPONENT_COUNT];
    int has_warning[CSCALP_COMPONENT_COUNT];
    int64_t last_warning_ns[CSCALP_COMPONENT_COUNT];
} cscalp_health_state;

void cscalp_health_init(cscalp_health_state *h, int64_t degraded_hold_ns);

/* Record an event, update the component's status and counters, and call the
 * host's callback if one is registered. */
void cscalp_health_emit(cscalp_health_state *h, int64_t now_ns, int severity,
                        int component, int event, int error, int action,
                        const char *message);

/* Component status as of now_ns, into out[CSCALP_COMPONENT_COUNT]:
 * conditions[c] (a cscalp_status the engine derives from what holds now)
 * or DEGRADED while a warning is younger than the hold, whichever is
 * worse. */
void cscalp_health_snapshot(const cscalp_health_state *h, int64_t now_ns,
                            const int *conditions, cscalp_component_health *out);

/* Checkpoints: counters and per-component status (the callback and the
 * hold time are the host's and the configuration's). Load leaves h
 * unchanged on CSCALP_ECORRUPT. */
void cscalp_health_save(const cscalp_health_state *h, cscalp_wbuf *w);
int cscalp_health_load(cscalp_health_state *h, cscalp_rbuf *r, char *why, size_t cap);

/* ------------------------------------------------------------ supervisor */

/* Times a detector remembers (rollbacks, rejects): the most its count key
 * allows. */
#define CSCALP_SUP_HISTORY 64

typedef struct cscalp_supervisor_config {
    double outlier_sigmas, outlier_min_bps; /* min_bps 0: the screen is off */
    uint32_t outlier_confirm;
    double outlier_alpha; /* EWMA weight of a new step: 1 - 2^(-1 / half-life) */
    int64_t stale_ns, resume_ns; /* stale_ns 0: off */
    uint32_t storm_count;        /* 0: off */
    int64_t storm_window_ns, probation_ns;
    uint32_t breaker_count; /* 0: off */
    int64_t breaker_window_ns, breaker_cooldown_ns, breaker_max_cooldown_ns;
    int64_t retry_ns, retry_max_ns; /* retry_ns 0: no retries */
} cscalp_supervisor_config;

/* Feed and breaker states (the fast paths below read them). */
enum {
    CSCALP_SUP_FEED_LIVE = 0,
    CSCALP_SUP_FEED_STALE_STATE = 1,
    CSCALP_SUP_FEED_RECOVERING_STATE = 2,
    CSCALP_SUP_BREAKER_CLOSED_STATE = 0
};

typedef struct cscalp_supervisor {
    /* What every event reads first, together in two cache lines: the
     * fast paths' state and their copies of the configuration. */
    int64_t due_ns; /* cscalp_sup_on_time has nothing to do before this */
    int64_t last_data_ns;
    int64_t stale_ns;    /* c.stale_ns */
    double ref_mid;      /* the outlier screen's reference mid */
    double limit2;       /* the threshold as a squared price distance from ref_mid */
    double step_var_bps2; /* EWMA of the mid's squared step (bps²) */
    double alpha;        /* c.outlier_alpha */
    double inv_anchor;   /* 10⁴ / a mid within 1 % of ref_mid: steps in bps without a
                            division per event */
    double anchor;
    int feed, breaker, has_data, has_ref, screen_on;
    uint32_t pending_count;

    cscalp_supervisor_config c;
    /* Outlier screen: the level waiting for confirmation, counts. */
    double pending_level;
    uint64_t quarantined, confirmed_levels;
    /* Feed. */
    int64_t fresh_since_ns, stale_since_ns;
    /* Rollback storm. */
    int64_t rollbacks[CSCALP_SUP_HISTORY];
    uint32_t rollback_count, rollback_next;
    int64_t last_rollback_ns;
    int lowered, lowered_from, lowered_to;
    /* Reject breaker. */
    int64_t rejects[CSCALP_SUP_HISTORY];
    uint32_t reject_count, reject_next;
    int64_t breaker_until_ns, breaker_cooldown_ns;
    uint64_t probe_id;
    int64_t probe_sent_ns;
    /* Checkpoint retry (not saved). */
    int retry_pending;
    int64_t retry_due_ns, retry_backoff_ns;
    uint32_t retry_failures;
    /* Actions per playbook row (the engine counts them as it acts). */
    uint64_t actions[CSCALP_PLAYBOOK_COUNT];
} cscalp_supervisor;

void cscalp_sup_init(cscalp_supervisor *s, const cscalp_supervisor_config *c);
/* New thresholds; the state machines keep their state. */
void cscalp_sup_set_config(cscalp_supervisor *s, const cscalp_supervisor_config *c);

/* Outlier screen. A trade's price, or a quote's or book's new mid, against
 * the reference mid: PASS, QUARANTINE (do not apply it), CONFIRMED
 * (feed.outlier_confirm_events agreed: apply it, the reference moved) or
 * RESET (after a silence: apply it unscreened; it moves the reference).
 * jump_bps: its distance from the reference. */
enum {
    CSCALP_SCREEN_PASS = 0,
    CSCALP_SCREEN_QUARANTINE = 1,
    CSCALP_SCREEN_CONFIRMED = 2,
    CSCALP_SCREEN_RESET = 3 /* after a silence: apply it, it is the new reference */
};
/* A price beyond the threshold: QUARANTINE or CONFIRMED. */
int cscalp_sup_screen_beyond(cscalp_supervisor *s, double price, double *jump_bps);
double cscalp_sup_screen_threshold_bps(const cscalp_supervisor *s);

/* The hot path's calls are inline (every trade, quote and book passes
 * them): each handles the common case in a few compares and leaves the
 * rare one to a function of supervisor.c. */
static inline int cscalp_sup_screen(cscalp_supervisor *s, double price, int64_t at_ns,
                                    double *jump_bps)
{
    *jump_bps = 0.0;
    if (!s->screen_on || !s->has_ref)
        return CSCALP_SCREEN_PASS;
    /* After a silence of the whole feed longer than a stale feed, the
     * market may be anywhere: the next price is taken as it comes. (Trades
     * alone keep the feed alive: they are screened against the last mid.) */
    if (s->stale_ns > 0 && s->has_data && at_ns - s->last_data_ns > s->stale_ns) {
        s->pending_count = 0;
        return CSCALP_SCREEN_RESET;
    }
    /* (p − ref)² against the threshold as a squared price distance, kept
     * with the reference: no division, no root on the common path. */
    const double dev = price - s->ref_mid;
    if (dev * dev <= s->limit2) {
        s->pending_count = 0; /* back at the reference: what was held was a one-off */
        return CSCALP_SCREEN_PASS;
    }
    return cscalp_sup_screen_beyond(s, price, jump_bps);
}

/* A top-of-book change was applied: the new reference; `jumped` (a
 * confirmed level, or the first price after a silence) keeps the jump out
 * of the step-size estimate. */
static inline void cscalp_sup_refresh_limit(cscalp_supervisor *s)
{
    const double min2 = s->c.outlier_min_bps * s->c.outlier_min_bps;
    const double sig2 = s->c.outlier_sigmas * s->c.outlier_sigmas * s->step_var_bps2;
    s->limit2 = (sig2 > min2 ? sig2 : min2) * 1e-8 * s->ref_mid * s->ref_mid;
}

void cscalp_sup_new_anchor(cscalp_supervisor *s, double mid);

static inline void cscalp_sup_accept_top(cscalp_supervisor *s, double mid, int jumped)
{
    if (s->has_ref && mid == s->ref_mid)
        return; /* sizes moved, the mid did not: no step to learn from */
    if (s->has_ref && !jumped) {
        /* In bps of the anchor: within 1 % of the reference, so within 2 %
         * of the exact step's square; the estimate needs no better. */
        const double step = (mid - s->ref_mid) * s->inv_anchor;
        s->step_var_bps2 += s->alpha * (step * step - s->step_var_bps2);
    }
    s->has_ref = 1;
    s->ref_mid = mid;
    if (!(fabs(mid - s->anchor) <= 0.01 * s->anchor))
        cscalp_sup_new_anchor(s, mid);
    cscalp_sup_refresh_limit(s);
}

/* Transitions the engine acts on (bits). */
#define CSCALP_SUP_FEED_GAP (1u << 0)     /* data came after a silence: stale meanwhile */
#define CSCALP_SUP_FEED_STALE (1u << 1)   /* the clock passed the silence limit */
#define CSCALP_SUP_FEED_RESUMED (1u << 2) /* data flowed long enough again */
#define CSCALP_SUP_PROBATION_OVER (1u << 3)
#define CSCALP_SUP_BREAKER_OPENED (1u << 4)
#define CSCALP_SUP_BREAKER_HALF_OPEN (1u << 5)
#define CSCALP_SUP_BREAKER_CLOSED (1u << 6)
#define CSCALP_SUP_RETRY_DUE (1u << 7)

unsigned cscalp_sup_on_data_slow(cscalp_supervisor *s, int64_t at_ns, int64_t *gap_ns);
unsigned cscalp_sup_on_time_slow(cscalp_supervisor *s, int64_t at_ns);

/* An accepted trade, quote or book at at_ns; *gap_ns: time since the last. */
static inline unsigned cscalp_sup_on_data(cscalp_supervisor *s, int64_t at_ns,
                                          int64_t *gap_ns)
{
    if (s->feed == CSCALP_SUP_FEED_LIVE && s->has_data &&
        (s->stale_ns <= 0 || at_ns - s->last_data_ns <= s->stale_ns)) {
        *gap_ns = at_ns - s->last_data_ns;
        s->last_data_ns = at_ns; /* the stale deadline only moves later */
        return 0;
    }
    return cscalp_sup_on_data_slow(s, at_ns, gap_ns);
}

/* The clock moved to at_ns (every event and tick). */
static inline unsigned cscalp_sup_on_time(cscalp_supervisor *s, int64_t at_ns)
{
    return at_ns < s->due_ns ? 0u : cscalp_sup_on_time_slow(s, at_ns);
}
int64_t cscalp_sup_stale_since(const cscalp_supervisor *s);

/* A learner rollback at at_ns with the desk at `autonomy`: 1 when a storm
 * says lower it to *lower_to. *in_window: rollbacks in the window. */
int cscalp_sup_on_rollback(cscalp_supervisor *s, int64_t at_ns, int autonomy, int *lower_to,
                           uint32_t *in_window);
/* The host set the autonomy: its level stands, probation ends. */
void cscalp_sup_host_autonomy(cscalp_supervisor *s);
/* Level to restore after the probation. */
static inline int cscalp_sup_lowered_from(const cscalp_supervisor *s) { return s->lowered_from; }
static inline int cscalp_sup_lowered_to(const cscalp_supervisor *s) { return s->lowered_to; }

/* Venue rejects and answers (the breaker). */
unsigned cscalp_sup_on_reject(cscalp_supervisor *s, int64_t at_ns, uint64_t client_id,
                              uint32_t *in_window);
unsigned cscalp_sup_on_answer(cscalp_supervisor *s, uint64_t client_id);
void cscalp_sup_probe_sent(cscalp_supervisor *s, uint64_t client_id, int64_t at_ns);
int64_t cscalp_sup_breaker_cooldown(const cscalp_supervisor *s);

/* What new orders may go now. */
enum {
    CSCALP_GATE_ALL = 0,
    CSCALP_GATE_EXITS = 1,       /* reduce-only orders */
    CSCALP_GATE_PROBE = 2,       /* one order, the breaker's probe */
    CSCALP_GATE_PROBE_EXITS = 3, /* one reduce-only order, the probe */
    CSCALP_GATE_NONE = 4
};
int cscalp_sup_gate_slow(const cscalp_supervisor *s);
static inline int cscalp_sup_gate(const cscalp_supervisor *s)
{
    return s->feed == CSCALP_SUP_FEED_LIVE && s->breaker == CSCALP_SUP_BREAKER_CLOSED_STATE
               ? CSCALP_GATE_ALL
               : cscalp_sup_gate_slow(s);
}

/* A cscalp_save failed at at_ns: the back-off until its retry (0: retries
 * are off); or it succeeded. */
int64_t cscalp_sup_checkpoint_failed(cscalp_supervisor *s, int64_t at_ns);
void cscalp_sup_checkpoint_saved(cscalp_supervisor *s);

/* CSCALP_SUPERVISOR_* bits of the supervisor's own conditions. */
uint32_t cscalp_sup_flags(const cscalp_supervisor *s);
/* The "supervisor" object of the stats: its state, `flags` (every
 * CSCALP_SUPERVISOR_* bit, the learner's too) and the new orders its gate
 * held back. */
void cscalp_sup_write_stats(const cscalp_supervisor *s, uint32_t flags, uint64_t orders_held,
                            cscalp_json_writer *w);
void cscalp_sup_save(const cscalp_supervisor *s, cscalp_wbuf *w);
/* CSCALP_ECORRUPT with `why`; s unchanged on error. */
int cscalp_sup_load(cscalp_supervisor *s, cscalp_rbuf *r, char *why, size_t cap);

#endif
