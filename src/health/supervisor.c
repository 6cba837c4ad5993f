/* The supervisor's detectors (docs/self-healing.md): state machines in
 * event time that say when a playbook row fires and when it is undone.
 * They know no stage; the engine takes the actions. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "health/health.h"

enum {
    FEED_LIVE = CSCALP_SUP_FEED_LIVE,
    FEED_STALE = CSCALP_SUP_FEED_STALE_STATE,
    FEED_RECOVERING = CSCALP_SUP_FEED_RECOVERING_STATE
};
enum {
    BREAKER_CLOSED = CSCALP_SUP_BREAKER_CLOSED_STATE,
    BREAKER_OPEN = 1,
    BREAKER_HALF_OPEN = 2,
    BREAKER_PROBING = 3
};

static int64_t earliest(int64_t a, int64_t b) { return a < b ? a : b; }

/* The earliest event time at which cscalp_sup_on_time has anything to do
 * (its fast path compares with it). Data arriving only moves the stale
 * deadline later, so a due time left early is merely a spare check. */
static void refresh_due(cscalp_supervisor *s)
{
    int64_t d = INT64_MAX;
    if (s->c.stale_ns > 0 && s->has_data && s->feed != FEED_STALE)
        d = earliest(d, s->last_data_ns + s->c.stale_ns + 1);
    if (s->lowered)
        d = earliest(d, s->last_rollback_ns + s->c.probation_ns);
    if (s->breaker == BREAKER_OPEN)
        d = earliest(d, s->breaker_until_ns);
    if (s->breaker == BREAKER_PROBING)
        d = earliest(d, s->probe_sent_ns + s->breaker_cooldown_ns);
    if (s->retry_pending)
        d = earliest(d, s->retry_due_ns);
    s->due_ns = d;
}

void cscalp_sup_new_anchor(cscalp_supervisor *s, double mid)
{
    s->anchor = mid;
    s->inv_anchor = 1e4 / mid;
}

/* The fast paths' copies of the configuration. */
static void copy_hot_config(cscalp_supervisor *s)
{
    s->stale_ns = s->c.stale_ns;
    s->alpha = s->c.outlier_alpha;
    s->screen_on = s->c.outlier_min_bps > 0.0;
}

void cscalp_sup_init(cscalp_supervisor *s, const cscalp_supervisor_config *c)
{
    memset(s, 0, sizeof *s);
    s->c = *c;
    copy_hot_config(s);
    s->breaker_cooldown_ns = c->breaker_cooldown_ns;
    s->due_ns = INT64_MIN;
}

void cscalp_sup_set_config(cscalp_supervisor *s, const cscalp_supervisor_config *c)
{
    s->c = *c;
    copy_hot_config(s);
    s->due_ns = INT64_MIN; /* new thresholds: look again at the next event */
    cscalp_sup_refresh_limit(s);
    if (!(c->outlier_min_bps > 0.0))
        s->pending_count = 0; /* the screen is off: nothing waits for confirmation */
    if (s->breaker == BREAKER_CLOSED)
        s->breaker_cooldown_ns = c->breaker_cooldown_ns;
}

/* ------------------------------------------------------- outlier screen */

static double bps_apart(double a, double b) { return fabs(a / b - 1.0) * 1e4; }

double cscalp_sup_screen_threshold_bps(const cscalp_supervisor *s)
{
    const double by_sigma = s->c.outlier_sigmas * sqrt(s->step_var_bps2);
    return by_sigma > s->c.outlier_min_bps ? by_sigma : s->c.outlier_min_bps;
}

int cscalp_sup_screen_beyond(cscalp_supervisor *s, double price, double *jump_bps)
{
    const double threshold = cscalp_sup_screen_threshold_bps(s);
    *jump_bps = bps_apart(price, s->ref_mid);
    if (s->pending_count > 0 && bps_apart(price, s->pending_level) <= threshold) {
        s->pending_count++;
    } else {
        s->pending_level = price;
        s->pending_count = 1;
    }
    if (s->pending_count >= s->c.outlier_confirm) {
        /* Enough events agree: the market moved. */
        s->pending_count = 0;
        s->ref_mid = price;
        cscalp_sup_new_anchor(s, price);
        cscalp_sup_refresh_limit(s);
        s->confirmed_levels++;
        return CSCALP_SCREEN_CONFIRMED;
    }
    s->quarantined++;
    return CSCALP_SCREEN_QUARANTINE;
}


/* ------------------------------------------------------------ feed state */

unsigned cscalp_sup_on_data_slow(cscalp_supervisor *s, int64_t at_ns, int64_t *gap_ns)
{
    unsigned out = 0;
    *gap_ns = s->has_data ? at_ns - s->last_data_ns : 0;
    const int gap = s->c.stale_ns > 0 && s->has_data && *gap_ns > s->c.stale_ns;
    if (s->feed != FEED_STALE && gap) {
        /* The host never ticked through the silence: it is found now (also
         * a second silence while recovering from the first). */
        s->feed = FEED_RECOVERING;
        s->fresh_since_ns = at_ns;
        s->stale_since_ns = s->last_data_ns + s->c.stale_ns;
        out |= CSCALP_SUP_FEED_GAP;
    } else if (s->feed == FEED_STALE) {
        s->feed = FEED_RECOVERING;
        s->fresh_since_ns = at_ns;
    }
    s->has_data = 1;
    s->last_data_ns = at_ns;
    if (s->feed == FEED_RECOVERING && at_ns - s->fresh_since_ns >= s->c.resume_ns) {
        s->feed = FEED_LIVE;
        out |= CSCALP_SUP_FEED_RESUMED;
    }
    refresh_due(s);
    return out;
}

unsigned cscalp_sup_on_time_slow(cscalp_supervisor *s, int64_t at_ns)
{
    unsigned out = 0;
    if (s->c.stale_ns > 0 && s->has_data && s->feed != FEED_STALE &&
        at_ns - s->last_data_ns > s->c.stale_ns) {
        s->feed = FEED_STALE;
        s->stale_since_ns = s->last_data_ns + s->c.stale_ns;
        out |= CSCALP_SUP_FEED_STALE;
    }
    if (s->lowered && at_ns - s->last_rollback_ns >= s->c.probation_ns) {
        s->lowered = 0;
        out |= CSCALP_SUP_PROBATION_OVER;
    }
    if (s->breaker == BREAKER_OPEN && at_ns >= s->breaker_until_ns) {
        s->breaker = BREAKER_HALF_OPEN;
        out |= CSCALP_SUP_BREAKER_HALF_OPEN;
    } else if (s->breaker == BREAKER_PROBING && at_ns - s->probe_sent_ns >= s->breaker_cooldown_ns) {
        /* No answer to the probe within a cool-down: another may go. */
        s->breaker = BREAKER_HALF_OPEN;
        out |= CSCALP_SUP_BREAKER_HALF_OPEN;
    }
    if (s->retry_pending && at_ns >= s->retry_due_ns)
        out |= CSCALP_SUP_RETRY_DUE;
    refresh_due(s); /* a due retry stays due (its time has passed) until it ran */
    return out;
}

int64_t cscalp_sup_stale_since(const cscalp_supervisor *s) { return s->stale_since_ns; }

/* ------------------------------------------------------ rollback storm */

/* A time into a ring of CSCALP_SUP_HISTORY (the oldest goes). */
static void ring_push(int64_t *ring, uint32_t *count, uint32_t *next, int64_t at_ns)
{
    ring[*next] = at_ns;
    *next = (*next + 1) % CSCALP_SUP_HISTORY;
    if (*count < CSCALP_SUP_HISTORY)
        (*count)++;
}

/* Events of a ring of CSCALP_SUP_HISTORY times younger than window_ns. */
static uint32_t count_recent(const int64_t *ring, uint32_t count, int64_t at_ns,
                             int64_t window_ns)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < count; i++)
        if (at_ns - ring[i] < window_ns)
            n++;
    return n;
}

int cscalp_sup_on_rollback(cscalp_supervisor *s, int64_t at_ns, int autonomy, int *lower_to,
                           uint32_t *in_window)
{
    s->last_rollback_ns = at_ns;
    ring_push(s->rollbacks, &s->rollback_count, &s->rollback_next, at_ns);
    *in_window = count_recent(s->rollbacks, s->rollback_count, at_ns, s->c.storm_window_ns);
    if (s->c.storm_count == 0 || *in_window < s->c.storm_count ||
        autonomy <= CSCALP_AUTONOMY_MANUAL)
        return 0;
    if (!s->lowered)
        s->lowered_from = autonomy;
    s->lowered = 1;
    s->lowered_to = autonomy - 1;
    *lower_to = s->lowered_to;
    refresh_due(s);
    /* The next step down takes a storm of its own. */
    s->rollback_count = 0;
    s->rollback_next = 0;
    return 1;
}

void cscalp_sup_host_autonomy(cscalp_supervisor *s)
{
    s->lowered = 0;
    refresh_due(s);
}

/* --------------------------------------------------------- reject breaker */

unsigned cscalp_sup_on_reject(cscalp_supervisor *s, int64_t at_ns, uint64_t client_id,
                              uint32_t *in_window)
{
    *in_window = 0;
    if (s->breaker == BREAKER_PROBING && client_id == s->probe_id) {
        const int64_t doubled = s->breaker_cooldown_ns * 2;
        s->breaker_cooldown_ns =
            doubled < s->c.breaker_max_cooldown_ns ? doubled : s->c.breaker_max_cooldown_ns;
        s->breaker = BREAKER_OPEN;
        s->breaker_until_ns = at_ns + s->breaker_cooldown_ns;
        refresh_due(s);
        return CSCALP_SUP_BREAKER_OPENED;
    }
    if (s->breaker != BREAKER_CLOSED || s->c.breaker_count == 0)
        return 0;
    ring_push(s->rejects, &s->reject_count, &s->reject_next, at_ns);
    *in_window = count_recent(s->rejects, s->reject_count, at_ns, s->c.breaker_window_ns);
    if (*in_window < s->c.breaker_count)
        return 0;
    s->breaker = BREAKER_OPEN;
    s->breaker_cooldown_ns = s->c.breaker_cooldown_ns;
    s->breaker_until_ns = at_ns + s->breaker_cooldown_ns;
    s->reject_count = 0;
    s->reject_next = 0;
    refresh_due(s);
    return CSCALP_SUP_BREAKER_OPENED;
}

unsigned cscalp_sup_on_answer(cscalp_supervisor *s, uint64_t client_id)
{
    if (s->breaker != BREAKER_PROBING || client_id != s->probe_id)
        return 0;
    s->breaker = BREAKER_CLOSED;
    s->breaker_cooldown_ns = s->c.breaker_cooldown_ns;
    refresh_due(s);
    return CSCALP_SUP_BREAKER_CLOSED;
}

void cscalp_sup_probe_sent(cscalp_supervisor *s, uint64_t client_id, int64_t at_ns)
{
    s->breaker = BREAKER_PROBING;
    s->probe_id = client_id;
    s->probe_sent_ns = at_ns;
    refresh_due(s);
}

int64_t cscalp_sup_breaker_cooldown(const cscalp_supervisor *s)
{
    return s->breaker_cooldown_ns;
}

/* ---------------------------------------------------------------- gate */

int cscalp_sup_gate_slow(const cscalp_supervisor *s)
{
    if (s->feed == FEED_STALE || s->breaker == BREAKER_OPEN || s->breaker == BREAKER_PROBING)
        return CSCALP_GATE_NONE;
    if (s->breaker == BREAKER_HALF_OPEN)
        return s->feed == FEED_RECOVERING ? CSCALP_GATE_PROBE_EXITS : CSCALP_GATE_PROBE;
    if (s->feed == FEED_RECOVERING)
        return CSCALP_GATE_EXITS;
    return CSCALP_GATE_ALL;
}

/* ------------------------------------------------------ checkpoint retry */

int64_t cscalp_sup_checkpoint_failed(cscalp_supervisor *s, int64_t at_ns)
{
    s->retry_failures++;
    if (s->c.retry_ns <= 0) {
        s->retry_pending = 0;
        return 0;
    }
    if (!s->retry_pending) {
        s->retry_backoff_ns = s->c.retry_ns;
    } else {
        const int64_t doubled = s->retry_backoff_ns * 2;
        s->retry_backoff_ns = doubled < s->c.retry_max_ns ? doubled : s->c.retry_max_ns;
    }
    s->retry_pending = 1;
    s->retry_due_ns = at_ns + s->retry_backoff_ns;
    refresh_due(s);
    return s->retry_backoff_ns;
}

void cscalp_sup_checkpoint_saved(cscalp_supervisor *s)
{
    s->retry_pending = 0;
    s->retry_failures = 0;
    refresh_due(s);
}

/* ---------------------------------------------------------------- state */

uint32_t cscalp_sup_flags(const cscalp_supervisor *s)
{
    uint32_t f = 0;
    if (s->feed == FEED_STALE)
        f |= CSCALP_SUPERVISOR_FEED_STALE;
    if (s->feed == FEED_RECOVERING)
        f |= CSCALP_SUPERVISOR_FEED_RECOVERING;
    if (s->pending_count > 0)
        f |= CSCALP_SUPERVISOR_QUARANTINE;
    if (s->breaker == BREAKER_OPEN || s->breaker == BREAKER_PROBING)
        f |= CSCALP_SUPERVISOR_BREAKER_OPEN;
    if (s->breaker == BREAKER_HALF_OPEN)
        f |= CSCALP_SUPERVISOR_BREAKER_HALF_OPEN;
    if (s->lowered)
        f |= CSCALP_SUPERVISOR_AUTONOMY_LOWERED;
    if (s->retry_pending)
        f |= CSCALP_SUPERVISOR_CHECKPOINT_RETRY;
    return f;
}

void cscalp_sup_write_stats(const cscalp_supervisor *s, uint32_t flags, uint64_t orders_held,
                            cscalp_json_writer *w)
{
    static const char *const feed_names[] = {"live", "stale", "recovering"};
    static const char *const breaker_names[] = {"closed", "open", "half_open", "probing"};
    static const char *const row_names[CSCALP_PLAYBOOK_COUNT] = {
        "nonfinite_learning", "fallback",        "rollback_storm", "stale_feed",
        "quarantine",         "reject_breaker",  "learner_stalled", "learner_behind",
        "risk",               "checkpoint"};
    cscalp_jw_begin_object(w, "supervisor");
    cscalp_jw_uint(w, "flags", flags);
    cscalp_jw_uint(w, "orders_held", orders_held);
    cscalp_jw_string(w, "feed", feed_names[s->feed]);
    cscalp_jw_string(w, "breaker", breaker_names[s->breaker]);
    cscalp_jw_uint(w, "breaker_cooldown_ms", (uint64_t)(s->breaker_cooldown_ns / 1000000));
    cscalp_jw_int(w, "autonomy_lowered", s->lowered);
    cscalp_jw_double(w, "outlier_threshold_bps", cscalp_sup_screen_threshold_bps(s));
    cscalp_jw_uint(w, "quarantined", s->quarantined);
    cscalp_jw_uint(w, "levels_confirmed", s->confirmed_levels);
    cscalp_jw_int(w, "checkpoint_retry_pending", s->retry_pending);
    cscalp_jw_uint(w, "checkpoint_failures_in_a_row", s->retry_failures);
    cscalp_jw_begin_object(w, "actions");
    for (int r = 0; r < CSCALP_PLAYBOOK_COUNT; r++)
        cscalp_jw_uint(w, row_names[r], s->actions[r]);
    cscalp_jw_end_object(w);
    cscalp_jw_end_object(w);
}

/* ----------------------------------------------------------- checkpoints */

void cscalp_sup_save(const cscalp_supervisor *s, cscalp_wbuf *w)
{
    cscalp_put_u32(w, (uint32_t)s->has_ref);
    cscalp_put_f64(w, s->ref_mid);
    cscalp_put_f64(w, s->step_var_bps2);
    cscalp_put_f64(w, s->anchor);
    cscalp_put_f64(w, s->pending_level);
    cscalp_put_u32(w, s->pending_count);
    cscalp_put_u64(w, s->quarantined);
    cscalp_put_u64(w, s->confirmed_levels);
    cscalp_put_u32(w, (uint32_t)s->has_data);
    cscalp_put_i64(w, s->last_data_ns);
    cscalp_put_u32(w, (uint32_t)s->feed);
    cscalp_put_i64(w, s->fresh_since_ns);
    cscalp_put_i64(w, s->stale_since_ns);
    cscalp_put_u32(w, s->rollback_count);
    cscalp_put_u32(w, s->rollback_next);
    for (uint32_t i = 0; i < CSCALP_SUP_HISTORY; i++)
        cscalp_put_i64(w, s->rollbacks[i]);
    cscalp_put_i64(w, s->last_rollback_ns);
    cscalp_put_u32(w, (uint32_t)s->lowered);
    cscalp_put_u32(w, (uint32_t)s->lowered_from);
    cscalp_put_u32(w, (uint32_t)s->lowered_to);
    cscalp_put_u32(w, (uint32_t)s->breaker);
    cscalp_put_u32(w, s->reject_count);
    cscalp_put_u32(w, s->reject_next);
    for (uint32_t i = 0; i < CSCALP_SUP_HISTORY; i++)
        cscalp_put_i64(w, s->rejects[i]);
    cscalp_put_i64(w, s->breaker_until_ns);
    cscalp_put_i64(w, s->breaker_cooldown_ns);
    cscalp_put_u64(w, s->probe_id);
    cscalp_put_i64(w, s->probe_sent_ns);
    cscalp_put_u32(w, CSCALP_PLAYBOOK_COUNT);
    for (int r = 0; r < CSCALP_PLAYBOOK_COUNT; r++)
        cscalp_put_u64(w, s->actions[r]);
}

int cscalp_sup_load(cscalp_supervisor *s, cscalp_rbuf *r, char *why, size_t cap)
{
    cscalp_supervisor n = *s;
    n.has_ref = (int)cscalp_get_u32(r);
    n.ref_mid = cscalp_get_f64(r);
    n.step_var_bps2 = cscalp_get_f64(r);
    const double anchor = cscalp_get_f64(r);
    n.pending_level = cscalp_get_f64(r);
    n.pending_count = cscalp_get_u32(r);
    n.quarantined = cscalp_get_u64(r);
    n.confirmed_levels = cscalp_get_u64(r);
    n.has_data = (int)cscalp_get_u32(r);
    n.last_data_ns = cscalp_get_i64(r);
    n.feed = (int)cscalp_get_u32(r);
    n.fresh_since_ns = cscalp_get_i64(r);
    n.stale_since_ns = cscalp_get_i64(r);
    n.rollback_count = cscalp_get_u32(r);
    n.rollback_next = cscalp_get_u32(r);
    for (uint32_t i = 0; i < CSCALP_SUP_HISTORY; i++)
        n.rollbacks[i] = cscalp_get_i64(r);
    n.last_rollback_ns = cscalp_get_i64(r);
    n.lowered = (int)cscalp_get_u32(r);
    n.lowered_from = (int)cscalp_get_u32(r);
    n.lowered_to = (int)cscalp_get_u32(r);
    n.breaker = (int)cscalp_get_u32(r);
    n.reject_count = cscalp_get_u32(r);
    n.reject_next = cscalp_get_u32(r);
    for (uint32_t i = 0; i < CSCALP_SUP_HISTORY; i++)
        n.rejects[i] = cscalp_get_i64(r);
    n.breaker_until_ns = cscalp_get_i64(r);
    n.breaker_cooldown_ns = cscalp_get_i64(r);
    n.probe_id = cscalp_get_u64(r);
    n.probe_sent_ns = cscalp_get_i64(r);
    const uint32_t rows = cscalp_get_u32(r);
    if (r->failed || rows != CSCALP_PLAYBOOK_COUNT) {
        snprintf(why, cap, "supervisor: %u playbook rows where this version has %d", rows,
                 CSCALP_PLAYBOOK_COUNT);
        return CSCALP_ECORRUPT;
    }
    for (int k = 0; k < CSCALP_PLAYBOOK_COUNT; k++)
        n.actions[k] = cscalp_get_u64(r);
    if (r->failed || n.has_ref > 1 || n.has_data > 1 || n.feed > FEED_RECOVERING ||
        n.feed < 0 || n.lowered > 1 || n.lowered < 0 || n.lowered_from > CSCALP_AUTONOMY_EVOLVING ||
        n.lowered_to > CSCALP_AUTONOMY_EVOLVING || n.lowered_from < 0 || n.lowered_to < 0 ||
        n.breaker < 0 || n.breaker > BREAKER_PROBING || n.rollback_count > CSCALP_SUP_HISTORY ||
        n.rollback_next >= CSCALP_SUP_HISTORY || n.reject_count > CSCALP_SUP_HISTORY ||
        n.reject_next >= CSCALP_SUP_HISTORY || !isfinite(n.step_var_bps2) ||
        n.step_var_bps2 < 0.0 || (n.has_ref && !(n.ref_mid > 0.0 && isfinite(n.ref_mid))) ||
        !isfinite(n.pending_level) || n.breaker_cooldown_ns < 0 ||
        (n.breaker != BREAKER_CLOSED && n.breaker_cooldown_ns == 0)) {
        snprintf(why, cap, "supervisor: a field is out of range");
        return CSCALP_ECORRUPT;
    }
    /* A retry belongs to the process that failed to save; the host of a
     * restored engine saves anew. */
    n.retry_pending = 0;
    n.retry_failures = 0;
    if (n.has_ref && !(anchor > 0.0 && isfinite(anchor))) {
        snprintf(why, cap, "supervisor: the screen's anchor mid %g is not a price", anchor);
        return CSCALP_ECORRUPT;
    }
    n.due_ns = INT64_MIN;
    n.anchor = anchor;
    n.inv_anchor = anchor > 0.0 ? 1e4 / anchor : 0.0;
    cscalp_sup_refresh_limit(&n);
    *s = n;
    return CSCALP_OK;
}
