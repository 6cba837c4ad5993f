/* The learning stage: see learn.h and docs/learning.md. */
#include "learn/learn.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cscalp_build_config.h"
#if CSCALP_HAVE_THREADS
#include <sched.h>
#include <uv.h>
#endif

#include "learn/drift.h"
#include "learn/logistic.h"
#include "learn/metrics.h"
#include "learn/replay.h"
#include "util/alloc.h"
#include "util/rng.h"

/* The four models every matured sample scores, in this order. */
enum { M_NETWORK = 0, M_CHALLENGER = 1, M_FALLBACK = 2, M_PRIOR = 3, M_COUNT = 4 };
static const char *const model_names[M_COUNT] = {"network", "challenger", "fallback",
                                                 "prior"};

/* Probabilities are floored here before the log (as in the scorer), so a
 * replay priority is finite whatever a model said. */
#define LOSS_FLOOR 1e-7

#define EVENT_QUEUE 32

/* What the challenger's training reads of the configuration. The trainer
 * keeps its own copy so that, in async mode, the learner thread never reads
 * what the host thread writes (a new copy travels through the queue). */
typedef struct train_params {
    uint32_t min_replay, train_every_samples, train_steps;
    uint32_t replay_recent;
    double replay_recent_fraction, replay_priority_exponent;
    double learning_rate, l2, max_grad_norm;
    double explode_grad_norm;
} train_params;

#if CSCALP_HAVE_THREADS
/* Async mode (docs/learning.md, "Modes"). The host thread labels, scores
 * and decides; the learner thread owns the challenger's training (replay,
 * optimiser, random state). Between them:
 *  - a single-producer single-consumer ring of messages (matured samples,
 *    new training parameters, barriers), lock-free: the host never waits to
 *    hand over a sample (a full ring drops it, counted);
 *  - a triple buffer of challenger snapshots: the learner fills its back
 *    slot and swaps it into the middle with one atomic exchange; the host
 *    swaps the middle for its front slot when it sees the "new" bit. No
 *    slot is ever freed while the engine lives, so a reader can never see
 *    reclaimed memory, and neither side waits for the other;
 *  - a reset mailbox for rollbacks (the live parameters to restart from);
 *  - an eventcount: the learner sleeps on a semaphore only after announcing
 *    it, so the host posts only when someone sleeps (no system call per
 *    sample while the learner is busy).
 * The learner thread never calls the host: its outcomes (steps, refused
 * steps) are counters the host thread reads and turns into health events. */
enum { MSG_SAMPLE = 1, MSG_PARAMS = 2, MSG_BARRIER = 3 };

typedef struct msg_header {
    uint32_t kind;
    uint8_t label;
    uint32_t barrier_steps;
    double loss;     /* MSG_SAMPLE: the challenger's loss on it (replay priority) */
    double lr_scale; /* MSG_SAMPLE: drift boost in force when it matured */
    double share;    /* MSG_SAMPLE: its information_share */
} msg_header;

typedef struct snapshot {
    float *params;
    cscalp_nn_packed *packed;
} snapshot;

#define SNAP_NEW 4u /* in `middle`: the slot there is newer than the front */

typedef struct learner_thread {
    uv_thread_t thread;
    int started;
    uv_sem_t wake, done;
    int wake_ok, done_ok;
    atomic_int sleeping;
    atomic_int stop;

    /* The ring: slot i at ring + i * stride, a msg_header then the payload
     * (x, regime as floats; or a train_params). */
    unsigned char *ring;
    size_t stride;
    uint32_t capacity;
    atomic_uint_fast64_t head; /* next to take (learner) */
    atomic_uint_fast64_t tail; /* next to fill (host) */

    snapshot snap[3];
    atomic_uint middle;
    unsigned front; /* host's */
    unsigned back;  /* learner's */

    float *reset_params;
    atomic_int reset_pending;

    /* Liveness (docs/self-healing.md): the learner bumps the heartbeat at
     * every message and training step and sets `exited` when its loop
     * ends; the host's watchdog reads both. */
    atomic_uint_fast64_t heartbeat;
    atomic_int exited;
    atomic_int shed_level; /* host → learner: 0 full work, 1 half the steps, 2 a quarter
                              and half batches */
    atomic_int fault_stall, fault_die; /* fault injection (tests) */

    uint64_t sent, dropped, dropped_reported; /* host's */
    int dropping; /* the last sample handed over was dropped */
    /* Host's watchdog and shedding state. */
    uint64_t hb_seen;
    uint64_t hb_seen_wall_ns;
    int waiting; /* the last check saw work waiting */
    int down;    /* no thread runs: a restart failed */
    int shed_host;
    uint64_t stalls, deaths, restarts, restart_failures, shed_episodes;
} learner_thread;
#endif

struct cscalp_learn {
    cscalp_allocator mem;
    cscalp_learn_config cfg;
    cscalp_nn_arch arch;
    const cscalp_nn_backend *backend;
    uint32_t inputs, experts;
    size_t n_params;

    /* Models. */
    float *live;
    cscalp_nn_packed *live_packed;
    uint64_t version;
    int trained;
    float *challenger;
    cscalp_nn_packed *challenger_packed;
    cscalp_nn_trainer *trainer;
    cscalp_logit *fallback;
    cscalp_prior prior;

    /* Scores and drift. */
    cscalp_score *score[M_COUNT];
    cscalp_drift drift;

    /* Labels and the samples waiting for them (a FIFO ring). */
    cscalp_label_clock clock;
    uint32_t pending_head, pending_count;
    cscalp_label_anchor *anchor;
    float *pending_x;      /* max_pending × inputs */
    float *pending_regime; /* max_pending × experts */
    float *pending_probs;  /* max_pending × M_COUNT × 3 */

    /* Sampling clock. */
    int has_next_sample;
    int64_t next_sample_ns;
    uint64_t events_since_sample;

    /* Replay and training: the trainer's side (the learner thread's in
     * async mode; the host reads it only while that thread is drained). */
    cscalp_replay *replay;
    cscalp_rng rng;
    uint32_t *batch_slots;
    float *batch_x, *batch_regime;
    uint8_t *batch_labels;
    uint64_t since_train;
    double train_info; /* learn.train_every_samples = 0: shares since the last round */
    train_params tp;
    double lr_scale;
    int diverged; /* async: a step was refused; idle until reset */
    int no_shed;  /* trainer: this round is the host's budget, not shed */
    /* The trainer's counters, published for the host's stats. */
    atomic_uint_fast64_t steps, refused_steps, replay_size, replay_added;
    _Atomic double last_step_loss;
    uint64_t refused_handled; /* host: refused steps already rolled back */
    atomic_int last_refusal;  /* trainer: CSCALP_NN_EXPLODED or CSCALP_ENONFINITE */
    _Atomic double last_refused_norm;
    atomic_uint fault_nan_steps, fault_explode_steps; /* fault injection (tests) */

    /* The supervisor's learning-rate cut (host side) and the last good
     * live weights (docs/self-healing.md). */
    double health_lr;
    uint64_t lr_cut_at_steps;
    uint64_t lr_cuts, lr_restores, exploded_steps, weights_restored;
    float *last_good;

#if CSCALP_HAVE_THREADS
    learner_thread *async;
#endif

    /* Decisions. */
    int serving_fallback;
    uint64_t since_switch;
    uint64_t since_decision;
    uint64_t boost_remaining;
    /* The drift detectors read means of the live loss over blocks worth one
     * independent sample (information_share), which are close to
     * independent; single overlapping samples are strongly autocorrelated
     * and would set them off. */
    double drift_block_sum, drift_block_info;
    uint32_t drift_block_count;

    /* Counters. */
    uint64_t samples_taken, skipped_warmup, skipped_no_mid, dropped_pending;
    uint64_t dropped_reported;
    uint64_t matured, unlabelled, labels[CSCALP_NN_CLASSES];
    double last_band_bps;
    uint64_t promotions, rollbacks, drift_alarms;
    uint64_t fallback_engaged, fallback_released;
    uint64_t reported_steps, reported_promotions, reported_rollbacks;
    int64_t now_ns;

    /* Health events waiting for the engine. */
    cscalp_learn_event events[EVENT_QUEUE];
    uint32_t event_head, event_count;
    uint64_t events_lost;
};

/* ------------------------------------------------------------------ events */

#if defined(__GNUC__)
__attribute__((format(printf, 7, 8)))
#endif
static void raise_component_event(cscalp_learn *l, int component, int severity, int event,
                                  int error, int action, const char *fmt, ...)
{
    if (l->event_count == EVENT_QUEUE) {
        l->events_lost++;
        return;
    }
    cscalp_learn_event *ev = &l->events[(l->event_head + l->event_count) % EVENT_QUEUE];
    ev->severity = severity;
    ev->component = component;
    ev->event = event;
    ev->error = error;
    ev->action = action;
    ev->ts_ns = l->now_ns;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->message, sizeof ev->message, fmt, ap);
    va_end(ap);
    l->event_count++;
}

/* Most of the stage's events are the learner's own. */
#define raise_event(l, ...) raise_component_event((l), CSCALP_COMPONENT_LEARNER, __VA_ARGS__)

int cscalp_learn_next_event(cscalp_learn *l, cscalp_learn_event *out)
{
    if (l->event_count == 0)
        return 0;
    *out = l->events[l->event_head];
    l->event_head = (l->event_head + 1) % EVENT_QUEUE;
    l->event_count--;
    return 1;
}

/* --------------------------------------------------------------- lifecycle */

/* A matured sample's share of new information. The samples taken inside
 * its label window (t, t + H] are still waiting when it matures: with n of
 * them, it and they are near-copies (features a few events apart, labels
 * from nearly the same future), so each carries about 1 / (n + 1) of an
 * independent sample. Measured, not derived from the configuration, so it
 * holds for any mix of event and time clocks and in quiet markets alike.
 * The training cadence (learn.train_every_samples = 0), the fallback's
 * step and the drift detectors' blocks go by it (docs/learning.md,
 * "Overlapping labels"). */
static double information_share(const cscalp_learn *l)
{
    return 1.0 / ((double)l->pending_count + 1.0);
}

/* Shares add up to whole samples; this absorbs rounding (ten shares of 0.1
 * add up to 0.9999999999999999). */
#define WHOLE_SAMPLE (1.0 - 1e-9)

static train_params train_params_of(const cscalp_learn_config *c)
{
    train_params tp;
    memset(&tp, 0, sizeof tp);
    tp.min_replay = c->min_replay;
    tp.train_every_samples = c->train_every_samples;
    tp.train_steps = c->train_steps;
    tp.replay_recent = c->replay_recent;
    tp.replay_recent_fraction = c->replay_recent_fraction;
    tp.replay_priority_exponent = c->replay_priority_exponent;
    tp.learning_rate = c->learning_rate;
    tp.l2 = c->l2;
    tp.max_grad_norm = c->max_grad_norm;
    tp.explode_grad_norm = c->explode_grad_norm;
    return tp;
}

/* The trainer's hyperparameters: its own copy of the keys, times the drift
 * boost in force when the sample that triggered the step matured. */
static void hparams_of(const cscalp_learn *l, cscalp_nn_hparams *hp)
{
    cscalp_nn_hparams_default(hp);
    hp->learning_rate = (float)(l->tp.learning_rate * l->lr_scale);
    hp->l2 = (float)l->tp.l2;
    hp->max_grad_norm = (float)l->tp.max_grad_norm;
    hp->refuse_grad_norm = (float)l->tp.explode_grad_norm;
}

/* The boost the host applies now, times the supervisor's cut. */
static double current_lr_scale(const cscalp_learn *l)
{
    return (l->boost_remaining > 0 ? l->cfg.drift_lr_boost_factor : 1.0) * l->health_lr;
}

static int is_async(const cscalp_learn *l) { return l->cfg.mode == CSCALP_LEARN_ASYNC; }

static void after_training(cscalp_learn *l);
static cscalp_nn_packed *challenger_view(cscalp_learn *l);
static const float *challenger_view_params(cscalp_learn *l);
static void trainer_set_params(cscalp_learn *l, const train_params *tp);
#if CSCALP_HAVE_THREADS
static void thread_stop(cscalp_learn *l);
static void thread_free(cscalp_learn *l);
static int thread_alloc(cscalp_learn *l);
static void thread_snapshots_init(cscalp_learn *l);
static void thread_send_params(cscalp_learn *l, const train_params *tp);
static void thread_send_reset(cscalp_learn *l);
static void thread_send_sample(cscalp_learn *l, const float *x, const float *regime,
                               uint8_t label, double loss, double share);
static void thread_drain(cscalp_learn *l, uint32_t extra_steps);
static void thread_yield(void);
static void host_run_ring(cscalp_learn *l);
#endif

void cscalp_learn_destroy(cscalp_learn *l)
{
    if (l == NULL)
        return;
    const cscalp_allocator mem = l->mem;
#if CSCALP_HAVE_THREADS
    thread_stop(l);
    thread_free(l);
#endif
    cscalp_nn_packed_destroy(l->live_packed);
    cscalp_nn_packed_destroy(l->challenger_packed);
    cscalp_nn_trainer_destroy(l->trainer);
    cscalp_logit_destroy(l->fallback);
    for (int m = 0; m < M_COUNT; m++)
        cscalp_score_destroy(l->score[m]);
    cscalp_replay_destroy(l->replay);
    cscalp_mem_free(&mem, l->live);
    cscalp_mem_free(&mem, l->last_good);
    cscalp_mem_free(&mem, l->challenger);
    cscalp_mem_free(&mem, l->anchor);
    cscalp_mem_free(&mem, l->pending_x);
    cscalp_mem_free(&mem, l->pending_regime);
    cscalp_mem_free(&mem, l->pending_probs);
    cscalp_mem_free(&mem, l->batch_slots);
    cscalp_mem_free(&mem, l->batch_x);
    cscalp_mem_free(&mem, l->batch_regime);
    cscalp_mem_free(&mem, l->batch_labels);
    cscalp_mem_free(&mem, l);
}

int cscalp_learn_create(const cscalp_allocator *mem, const cscalp_learn_config *cfg,
                        const cscalp_nn_arch *arch, const cscalp_nn_backend *backend,
                        const float *initial, cscalp_learn **out, char *why, size_t cap)
{
    *out = NULL;
#if !CSCALP_HAVE_THREADS
    if (cfg->mode == CSCALP_LEARN_ASYNC) {
        snprintf(why, cap, "learn.mode: \"async\" needs the learner thread, and this "
                           "library was built without libuv (cscalp_has_feature("
                           "CSCALP_FEATURE_THREADS) is 0); use \"inline\"");
        return CSCALP_EUNSUPPORTED;
    }
#endif
    cscalp_drift_params dp;
    cscalp_drift_params_default(&dp);
    dp.ph_delta_sigma = cfg->drift_ph_delta_sigma;
    dp.ph_lambda_sigma = cfg->drift_ph_lambda_sigma;
    dp.adwin_delta = cfg->drift_adwin_delta;
    const int rc = cscalp_drift_params_check(&dp, why, cap);
    if (rc != CSCALP_OK)
        return rc;

    cscalp_learn *l = cscalp_mem_calloc(mem, 1, sizeof *l);
    if (l == NULL) {
        snprintf(why, cap, "learner: out of memory");
        return CSCALP_ENOMEM;
    }
    l->mem = *mem;
    l->cfg = *cfg;
    l->arch = *arch;
    l->backend = backend;
    l->inputs = arch->inputs;
    l->experts = arch->experts;
    l->n_params = cscalp_nn_param_count(arch);
    l->version = 1;
    l->tp = train_params_of(cfg);
    l->lr_scale = 1.0;
    l->health_lr = 1.0;
    cscalp_drift_init(&l->drift, &dp, why, cap);
    cscalp_label_clock_init(&l->clock, &cfg->label);
    cscalp_prior_init(&l->prior);
    cscalp_rng_seed(&l->rng, cfg->seed ^ 0x6c6561726e6572ULL); /* "learner" */
    l->last_band_bps = (double)NAN;

    const size_t P = cfg->max_pending, D = l->inputs, E = l->experts, B = cfg->batch;
    int ok = 1;
#define ALLOC(field, n)                                                         \
    do {                                                                        \
        if (ok) {                                                               \
            l->field = cscalp_mem_calloc(mem, (n), sizeof *l->field);           \
            ok = l->field != NULL;                                              \
        }                                                                       \
    } while (0)
    ALLOC(live, l->n_params);
    ALLOC(last_good, l->n_params);
    ALLOC(challenger, l->n_params);
    ALLOC(anchor, P);
    ALLOC(pending_x, P * D);
    ALLOC(pending_regime, P * E);
    ALLOC(pending_probs, P * M_COUNT * 3);
    ALLOC(batch_slots, B);
    ALLOC(batch_x, B * D);
    ALLOC(batch_regime, B * E);
    ALLOC(batch_labels, B);
#undef ALLOC
    ok = ok && cscalp_nn_packed_create(mem, arch, &l->live_packed) == CSCALP_OK;
    ok = ok && cscalp_nn_packed_create(mem, arch, &l->challenger_packed) == CSCALP_OK;
    ok = ok && cscalp_nn_trainer_create(mem, arch, cfg->batch, backend, &l->trainer) ==
                   CSCALP_OK;
    ok = ok && cscalp_logit_create(mem, D, cfg->fallback_learning_rate, cfg->fallback_l2,
                                   &l->fallback) == CSCALP_OK;
    for (int m = 0; ok && m < M_COUNT; m++)
        ok = cscalp_score_create(mem, cfg->score_window, &l->score[m]) == CSCALP_OK;
    if (ok) {
        const cscalp_replay_params rp = {
            .capacity = cfg->replay_capacity,
            .inputs = l->inputs,
            .regimes = l->experts,
            .recent_window = cfg->replay_recent,
            .recent_fraction = cfg->replay_recent_fraction,
            .priority_alpha = cfg->replay_priority_exponent,
        };
        ok = cscalp_replay_create(mem, &rp, &l->replay) == CSCALP_OK;
    }
#if CSCALP_HAVE_THREADS
    if (ok && cfg->mode == CSCALP_LEARN_ASYNC)
        ok = thread_alloc(l);
#endif
    if (!ok) {
        cscalp_learn_destroy(l);
        snprintf(why, cap, "learner: out of memory");
        return CSCALP_ENOMEM;
    }
    if (initial != NULL) {
        memcpy(l->live, initial, l->n_params * sizeof *l->live);
    } else {
        /* As cscalp_nn_init_params draws it, except the output head: the
         * experts' class-logit rows of W_head (rows 3e + c, docs/model.md)
         * at a tenth of their draw, the gate's trunk rows (3E + e) at zero.
         * The untrained network then predicts close to the uniform
         * distribution (about ln 3 nats a sample) instead of a random
         * head's confident guesses (1.29-1.33 nats on real data); the gate
         * starts even and learns as the experts, which differ from the
         * start, pull apart. (Zero logit rows with random gate rows scored
         * 0.003-0.008 nats worse on LOBSTER GOOG; all rows zero makes every
         * expert the same clone for good: docs/learning.md.) */
        cscalp_nn_init_params(arch, cfg->seed, l->live);
        if (cfg->mode != CSCALP_LEARN_OFF) {
            /* With learning off the network keeps its draw. */
            cscalp_nn_layout layout;
            cscalp_nn_layout_of(arch, &layout);
            const size_t logit_weights =
                (size_t)CSCALP_NN_CLASSES * arch->experts * cscalp_nn_trunk_width(arch);
            for (size_t i = 0; i < logit_weights; i++)
                l->live[layout.head_w + i] *= 0.1f;
            memset(l->live + layout.head_w + logit_weights, 0,
                   (layout.head_b - layout.head_w - logit_weights) * sizeof *l->live);
        }
    }
    memcpy(l->challenger, l->live, l->n_params * sizeof *l->challenger);
    memcpy(l->last_good, l->live, l->n_params * sizeof *l->last_good);
    cscalp_nn_pack(l->live_packed, l->live);
    cscalp_nn_pack(l->challenger_packed, l->challenger);
#if CSCALP_HAVE_THREADS
    thread_snapshots_init(l);
#endif
    *out = l;
    return CSCALP_OK;
}

void cscalp_learn_set_config(cscalp_learn *l, const cscalp_learn_config *cfg)
{
    cscalp_learn_config next = l->cfg;
    next.sample_every_events = cfg->sample_every_events;
    next.sample_interval_ns = cfg->sample_interval_ns;
    next.replay_recent = cfg->replay_recent;
    next.replay_recent_fraction = cfg->replay_recent_fraction;
    next.replay_priority_exponent = cfg->replay_priority_exponent;
    next.min_replay = cfg->min_replay;
    next.train_every_samples = cfg->train_every_samples;
    next.train_steps = cfg->train_steps;
    next.learning_rate = cfg->learning_rate;
    next.l2 = cfg->l2;
    next.max_grad_norm = cfg->max_grad_norm;
    next.promotion_margin_nats = cfg->promotion_margin_nats;
    next.rollback_margin_nats = cfg->rollback_margin_nats;
    next.fallback_learning_rate = cfg->fallback_learning_rate;
    next.fallback_l2 = cfg->fallback_l2;
    next.fallback_margin_nats = cfg->fallback_margin_nats;
    next.drift_lr_boost_factor = cfg->drift_lr_boost_factor;
    next.drift_boost_samples = cfg->drift_boost_samples;
    next.lr_cut_factor = cfg->lr_cut_factor;
    next.lr_floor_factor = cfg->lr_floor_factor;
    next.lr_recover_steps = cfg->lr_recover_steps;
    next.explode_grad_norm = cfg->explode_grad_norm;
    next.stall_wall_ns = cfg->stall_wall_ns;
    next.shed_fraction = cfg->shed_fraction;
    next.label.band_bps = cfg->label.band_bps;
    next.label.taker_fee_bps = cfg->label.taker_fee_bps;
    l->clock.params.band_bps = cfg->label.band_bps;
    l->clock.params.taker_fee_bps = cfg->label.taker_fee_bps;
    const int resampled = next.sample_every_events != l->cfg.sample_every_events ||
                          next.sample_interval_ns != l->cfg.sample_interval_ns;
    l->cfg = next;
    cscalp_logit_set_rates(l->fallback, next.fallback_learning_rate, next.fallback_l2);
    if (resampled) {
        /* New sampling, new overlap: block means of another length have
         * another variance, so the detectors learn the stream afresh. */
        cscalp_drift_restart(&l->drift);
        l->drift_block_sum = l->drift_block_info = 0.0;
        l->drift_block_count = 0;
    }
    const train_params tp = train_params_of(&next);
#if CSCALP_HAVE_THREADS
    if (is_async(l)) {
        thread_send_params(l, &tp);
        return;
    }
#endif
    trainer_set_params(l, &tp);
}

void cscalp_learn_set_backend(cscalp_learn *l, const cscalp_nn_backend *backend)
{
#if CSCALP_HAVE_THREADS
    /* The learner thread may be inside a step with the old backend: let it
     * drain and idle; the next message it takes (released after this
     * write) carries the change over. */
    if (is_async(l))
        thread_drain(l, 0);
#endif
    l->backend = backend;
    cscalp_nn_trainer_set_backend(l->trainer, backend);
}

/* ---------------------------------------------------------------- training */

/* Trainer side: the challenger restarts from `params` with a fresh
 * optimiser. */
static void trainer_reset(cscalp_learn *l, const float *params)
{
    memcpy(l->challenger, params, l->n_params * sizeof *l->challenger);
    cscalp_nn_trainer_reset(l->trainer);
    l->diverged = 0;
    after_training(l);
}

/* Host side: restart the challenger from the live network — healed first,
 * so corrupted live weights (docs/self-healing.md) never spread into the
 * challenger through a rollback. */
static void rollback(cscalp_learn *l, const char *why)
{
    cscalp_learn_heal_live(l);
#if CSCALP_HAVE_THREADS
    if (is_async(l))
        thread_send_reset(l);
    else
#endif
        trainer_reset(l, l->live);
    l->rollbacks++;
    l->since_decision = 0;
    raise_event(l, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_LEARNER_ROLLBACK, CSCALP_OK,
                CSCALP_ACTION_ROLLED_BACK,
                "challenger reset to the live network (version %llu): %s",
                (unsigned long long)l->version, why);
}

static int all_finite_params(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* A sample's log-loss, floored like the scorer's and never below 0 (a
 * float probability may round to a hair above 1). */
static double loss_of(const float *probs, int label)
{
    const double p = (double)probs[label];
    const double loss = -log(p > LOSS_FLOOR ? p : LOSS_FLOOR);
    return loss > 0.0 ? loss : 0.0;
}

/* Trainer side: a fault the tests injected into the next step's batch. */
/* One off a fault count the host may set meanwhile (compare-and-swap, so
 * neither side's write is lost); 1 when one was taken. */
static int take_one(atomic_uint *count)
{
    unsigned n = atomic_load_explicit(count, memory_order_relaxed);
    while (n > 0 && !atomic_compare_exchange_weak_explicit(count, &n, n - 1,
                                                          memory_order_relaxed,
                                                          memory_order_relaxed))
        ;
    return n > 0;
}

static void inject_batch_fault(cscalp_learn *l, uint32_t B)
{
    if (take_one(&l->fault_nan_steps)) {
        l->batch_x[0] = NAN;
        return;
    }
    if (take_one(&l->fault_explode_steps)) {
        /* Huge inputs saturate the softmax; against the wrong labels the
         * weight gradients grow with the inputs, far past any threshold. */
        for (size_t i = 0; i < (size_t)B * l->inputs; i++)
            l->batch_x[i] = l->batch_x[i] * 1e4f + 1e4f;
        for (uint32_t i = 0; i < B; i++)
            l->batch_labels[i] = (uint8_t)((l->batch_labels[i] + 1 + i % 2) % 3);
    }
}

/* Async: the learner's load-shedding level (0 in inline mode). */
static int shed_level(const cscalp_learn *l)
{
#if CSCALP_HAVE_THREADS
    if (l->async != NULL)
        return atomic_load_explicit(&l->async->shed_level, memory_order_relaxed);
#else
    (void)l;
#endif
    return 0;
}

/* Async, at each step boundary: a heartbeat for the watchdog, and whether
 * the host asked the learner thread to stop (a restart or close). */
static int heartbeat_and_stop(const cscalp_learn *l)
{
#if CSCALP_HAVE_THREADS
    if (l->async != NULL) {
        atomic_fetch_add_explicit(&l->async->heartbeat, 1, memory_order_relaxed);
        return atomic_load_explicit(&l->async->stop, memory_order_relaxed);
    }
#else
    (void)l;
#endif
    return 0;
}

/* Up to n steps on the challenger; the number run. A learner shedding load
 * (docs/self-healing.md) runs half of them, or a quarter on half batches. */
static uint64_t train_round(cscalp_learn *l, uint64_t n)
{
    const int shed = l->no_shed ? 0 : shed_level(l);
    uint32_t B = l->cfg.batch;
    if (shed > 0 && n > 0)
        n = (n >> shed) > 0 ? n >> shed : 1;
    if (shed >= 2 && B > 1)
        B /= 2;
    const uint32_t size = cscalp_replay_size(l->replay);
    if (size < B || size < l->cfg.min_replay)
        return 0;
    if (l->diverged)
        return 0;
    cscalp_nn_hparams hp;
    hparams_of(l, &hp);
    uint64_t done = 0;
    for (; done < n; done++) {
        if (heartbeat_and_stop(l))
            break;
        cscalp_replay_draw(l->replay, &l->rng, B, l->batch_slots);
        cscalp_replay_gather(l->replay, l->batch_slots, B, l->batch_x, l->batch_regime,
                             l->batch_labels);
        inject_batch_fault(l, B);
        double loss = 0.0;
        const int rc = cscalp_nn_train_step(l->trainer, l->challenger, l->batch_x,
                                            l->batch_regime, l->batch_labels, B, &hp, &loss);
        if (rc != CSCALP_OK) {
            /* The host sees the count and rolls the challenger back. */
            l->diverged = 1;
            atomic_store_explicit(&l->last_refusal, rc, memory_order_relaxed);
            atomic_store_explicit(&l->last_refused_norm,
                                  cscalp_nn_trainer_grad_norm(l->trainer),
                                  memory_order_relaxed);
            atomic_fetch_add_explicit(&l->refused_steps, 1, memory_order_release);
            break;
        }
        atomic_fetch_add_explicit(&l->steps, 1, memory_order_relaxed);
        atomic_store_explicit(&l->last_step_loss, loss, memory_order_relaxed);
        /* New priorities: each sample's loss under the parameters the step
         * started from (the forward pass it just made). */
        const float *probs = cscalp_nn_trainer_probs(l->trainer);
        for (uint32_t i = 0; i < B; i++)
            cscalp_replay_set_loss(l->replay, l->batch_slots[i],
                                   loss_of(probs + (size_t)i * 3, l->batch_labels[i]));
    }
    if (done > 0)
        after_training(l);
    return done;
}

/* Trainer side: a matured sample joins the replay buffer and, every
 * learn.train_every_samples (0: every whole sample's worth of shares), the
 * challenger trains. A round per matured sample would fit the same few
 * market moves over and over when labels overlap (docs/learning.md). */
static void trainer_add_sample(cscalp_learn *l, const float *x, const float *regime,
                               uint8_t label, double loss, double share)
{
    cscalp_replay_add(l->replay, x, regime, label, loss);
    atomic_store_explicit(&l->replay_size, cscalp_replay_size(l->replay),
                          memory_order_relaxed);
    atomic_store_explicit(&l->replay_added, cscalp_replay_added(l->replay),
                          memory_order_relaxed);
    if (l->tp.train_every_samples == 0) {
        l->train_info += share;
        if (l->train_info >= WHOLE_SAMPLE) {
            l->train_info = 0.0;
            train_round(l, l->tp.train_steps);
        }
    } else if (++l->since_train >= l->tp.train_every_samples) {
        l->since_train = 0;
        train_round(l, l->tp.train_steps);
    }
}

static void trainer_set_params(cscalp_learn *l, const train_params *tp)
{
    l->tp = *tp;
    cscalp_replay_set_mix(l->replay, tp->replay_recent, tp->replay_recent_fraction,
                          tp->replay_priority_exponent);
}

/* Host side: a step the trainer refused means the challenger diverged: it
 * restarts from the live network (the last good weights) with a fresh
 * optimiser, and the learning rate is cut (docs/self-healing.md). Clean
 * steps since the last cut undo one cut at a time. */
static void check_refused(cscalp_learn *l)
{
    const uint64_t refused = atomic_load_explicit(&l->refused_steps, memory_order_acquire);
    const uint64_t steps = atomic_load_explicit(&l->steps, memory_order_relaxed);
    if (refused == l->refused_handled) {
        if (l->health_lr < 1.0 && steps >= l->lr_cut_at_steps &&
            steps - l->lr_cut_at_steps >= l->cfg.lr_recover_steps) {
            const double next = l->health_lr / l->cfg.lr_cut_factor;
            l->health_lr = next < 1.0 ? next : 1.0;
            l->lr_cut_at_steps = steps;
            l->lr_restores++;
            raise_event(l, CSCALP_SEVERITY_INFO, CSCALP_EVENT_LEARNING_RATE_CHANGED, CSCALP_OK,
                        CSCALP_ACTION_RESUMED,
                        "learning rate back to x%.4g of learn.learning_rate after %u clean "
                        "steps",
                        l->health_lr, l->cfg.lr_recover_steps);
        }
        return;
    }
    l->refused_handled = refused;
    const int exploded =
        atomic_load_explicit(&l->last_refusal, memory_order_relaxed) == CSCALP_NN_EXPLODED;
    char why[200];
    if (exploded) {
        l->exploded_steps++;
        snprintf(why, sizeof why,
                 "a training step's gradient norm %.4g exceeded health.explode_grad_norm and "
                 "was refused",
                 atomic_load_explicit(&l->last_refused_norm, memory_order_relaxed));
    } else {
        snprintf(why, sizeof why,
                 "a training step had a non-finite loss or gradient and was refused");
    }
    rollback(l, why);
    const double cut = l->health_lr * l->cfg.lr_cut_factor;
    l->health_lr = cut > l->cfg.lr_floor_factor ? cut : l->cfg.lr_floor_factor;
    l->lr_cut_at_steps = steps;
    l->lr_cuts++;
    raise_event(l, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_LEARNING_RATE_CHANGED,
                CSCALP_ENONFINITE, CSCALP_ACTION_APPLIED,
                "learning rate cut to x%.4g of learn.learning_rate after a refused %s step; "
                "the challenger restarts from the live weights with a fresh optimiser",
                l->health_lr, exploded ? "exploding" : "non-finite");
}


/* ------------------------------------------------------------ async mode */

#if CSCALP_HAVE_THREADS
static unsigned char *ring_slot(const learner_thread *t, uint64_t i)
{
    return t->ring + (size_t)(i % t->capacity) * t->stride;
}

static int thread_alloc(cscalp_learn *l)
{
    learner_thread *t = cscalp_mem_calloc(&l->mem, 1, sizeof *t);
    if (t == NULL)
        return 0;
    l->async = t;
    const size_t sample = ((size_t)l->inputs + l->experts) * sizeof(float);
    size_t payload = sample > sizeof(train_params) ? sample : sizeof(train_params);
    /* Slots aligned for the doubles in the header and the payload. */
    t->stride = (sizeof(msg_header) + payload + 15) & ~(size_t)15;
    t->capacity = l->cfg.async_queue;
    t->ring = cscalp_mem_calloc(&l->mem, t->capacity, t->stride);
    t->reset_params = cscalp_mem_calloc(&l->mem, l->n_params, sizeof(float));
    int ok = t->ring != NULL && t->reset_params != NULL;
    for (int k = 0; ok && k < 3; k++) {
        t->snap[k].params = cscalp_mem_calloc(&l->mem, l->n_params, sizeof(float));
        ok = t->snap[k].params != NULL &&
             cscalp_nn_packed_create(&l->mem, &l->arch, &t->snap[k].packed) == CSCALP_OK;
    }
    if (ok) {
        t->wake_ok = uv_sem_init(&t->wake, 0) == 0;
        t->done_ok = uv_sem_init(&t->done, 0) == 0;
        ok = t->wake_ok && t->done_ok;
    }
    atomic_init(&t->sleeping, 0);
    atomic_init(&t->stop, 0);
    atomic_init(&t->head, 0);
    atomic_init(&t->tail, 0);
    atomic_init(&t->middle, 1u);
    atomic_init(&t->reset_pending, 0);
    atomic_init(&t->heartbeat, 0);
    atomic_init(&t->exited, 0);
    atomic_init(&t->shed_level, 0);
    atomic_init(&t->fault_stall, 0);
    atomic_init(&t->fault_die, 0);
    t->front = 0;
    t->back = 2;
    return ok;
}

static void thread_free(cscalp_learn *l)
{
    learner_thread *t = l->async;
    if (t == NULL)
        return;
    for (int k = 0; k < 3; k++) {
        cscalp_nn_packed_destroy(t->snap[k].packed);
        cscalp_mem_free(&l->mem, t->snap[k].params);
    }
    if (t->wake_ok)
        uv_sem_destroy(&t->wake);
    if (t->done_ok)
        uv_sem_destroy(&t->done);
    cscalp_mem_free(&l->mem, t->ring);
    cscalp_mem_free(&l->mem, t->reset_params);
    cscalp_mem_free(&l->mem, t);
    l->async = NULL;
}

/* Every slot holds the challenger (before the thread starts). */
static void thread_snapshots_init(cscalp_learn *l)
{
    learner_thread *t = l->async;
    if (t == NULL)
        return;
    for (int k = 0; k < 3; k++) {
        memcpy(t->snap[k].params, l->challenger, l->n_params * sizeof(float));
        cscalp_nn_pack(t->snap[k].packed, l->challenger);
    }
}

/* Host: wake the learner if (and only if) it announced that it sleeps. */
static void thread_wake(learner_thread *t)
{
    if (atomic_exchange(&t->sleeping, 0) == 1)
        uv_sem_post(&t->wake);
}

/* Host: a free slot, or NULL when the ring is full. */
static unsigned char *ring_reserve(learner_thread *t)
{
    const uint64_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
    const uint64_t head = atomic_load_explicit(&t->head, memory_order_acquire);
    return tail - head < t->capacity ? ring_slot(t, tail) : NULL;
}

static void ring_commit(learner_thread *t)
{
    const uint64_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
    atomic_store_explicit(&t->tail, tail + 1, memory_order_release);
    t->sent++;
    thread_wake(t);
}

/* Host, off the hot path (configure, adapt, save): wait for a slot. The
 * watchdog runs meanwhile: a stalled or dead learner is restarted (and with
 * none running the host drains the ring itself) rather than waited on. */
static unsigned char *ring_reserve_wait(cscalp_learn *l)
{
    learner_thread *t = l->async;
    unsigned char *slot;
    while ((slot = ring_reserve(t)) == NULL) {
        thread_wake(t);
        cscalp_learn_watchdog(l);
        if (!t->started)
            host_run_ring(l);
        else
            uv_sleep(1);
    }
    return slot;
}

/* Host: the shedding level from the ring's fill, with hysteresis: shed from
 * health.learner_shed_fraction full (deeper past the midpoint to full) until
 * the fill falls below half that (docs/self-healing.md). */
static void update_shedding(cscalp_learn *l)
{
    learner_thread *t = l->async;
    const uint64_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
    const uint64_t head = atomic_load_explicit(&t->head, memory_order_acquire);
    const double fill = (double)(tail - head) / (double)t->capacity;
    const double on = l->cfg.shed_fraction;
    const int level = t->shed_host;
    int next;
    if (!(on > 0.0))
        next = 0; /* shedding off */
    else if (fill >= 0.5 * (1.0 + on))
        next = 2;
    else if (fill >= on)
        next = level > 1 ? level : 1;
    else if (fill > 0.5 * on)
        next = level; /* the hysteresis band: as it was */
    else
        next = 0;
    if (next == level)
        return;
    t->shed_host = next;
    atomic_store_explicit(&t->shed_level, next, memory_order_relaxed);
    if (next > level) {
        if (level == 0)
            t->shed_episodes++;
        raise_event(l, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_LEARNER_SHEDDING, CSCALP_OK,
                    CSCALP_ACTION_SHED,
                    "learner behind: %llu of %u queue slots full; training sheds load (%s)",
                    (unsigned long long)(tail - head), t->capacity,
                    next == 1 ? "half the steps" : "a quarter of the steps, half batches");
    } else if (next == 0) {
        raise_event(l, CSCALP_SEVERITY_INFO, CSCALP_EVENT_LEARNER_CAUGHT_UP, CSCALP_OK,
                    CSCALP_ACTION_RESUMED,
                    "learner caught up: %llu of %u queue slots full; full training again",
                    (unsigned long long)(tail - head), t->capacity);
    }
}

static void thread_send_sample(cscalp_learn *l, const float *x, const float *regime,
                               uint8_t label, double loss, double share)
{
    learner_thread *t = l->async;
    update_shedding(l);
    unsigned char *slot = ring_reserve(t);
    if (slot == NULL) {
        /* Never wait on the hot path: the sample is lost to training only
         * (it was scored, and taught the fallback and the prior). */
        t->dropped++;
        /* One event when an episode of drops starts, then one per 1000. */
        if (!t->dropping || t->dropped - t->dropped_reported >= 1000) {
            t->dropping = 1;
            t->dropped_reported = t->dropped;
            raise_event(l, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_SAMPLES_DROPPED, CSCALP_OK,
                        CSCALP_ACTION_DROPPED,
                        "learner thread behind: learn.async_queue_samples (%u) full, %llu "
                        "matured samples not trained on so far",
                        t->capacity, (unsigned long long)t->dropped);
        }
        return;
    }
    t->dropping = 0;
    msg_header h;
    memset(&h, 0, sizeof h);
    h.kind = MSG_SAMPLE;
    h.label = label;
    h.loss = loss;
    h.lr_scale = current_lr_scale(l);
    h.share = share;
    memcpy(slot, &h, sizeof h);
    float *payload = (float *)(void *)(slot + sizeof h);
    memcpy(payload, x, l->inputs * sizeof(float));
    memcpy(payload + l->inputs, regime, l->experts * sizeof(float));
    ring_commit(t);
}

static void thread_send_params(cscalp_learn *l, const train_params *tp)
{
    learner_thread *t = l->async;
    unsigned char *slot = ring_reserve_wait(l);
    msg_header h;
    memset(&h, 0, sizeof h);
    h.kind = MSG_PARAMS;
    memcpy(slot, &h, sizeof h);
    memcpy(slot + sizeof h, tp, sizeof *tp);
    ring_commit(t);
}

static void thread_send_reset(cscalp_learn *l)
{
    learner_thread *t = l->async;
    /* A reset not yet taken will restart the challenger anyway. */
    if (atomic_load_explicit(&t->reset_pending, memory_order_acquire))
        return;
    memcpy(t->reset_params, l->live, l->n_params * sizeof(float));
    atomic_store_explicit(&t->reset_pending, 1, memory_order_release);
    thread_wake(t);
}

/* Host: a barrier behind everything queued, then wait for it. */
static void thread_drain(cscalp_learn *l, uint32_t extra_steps)
{
    learner_thread *t = l->async;
    if (t == NULL)
        return;
    if (!t->started && t->down)
        cscalp_learn_watchdog(l); /* a failed restart: try again */
    if (!t->started) {
        if (t->down) {
            /* Still none: the host does the learner's work. */
            host_run_ring(l);
            train_round(l, extra_steps);
        }
        return;
    }
    unsigned char *slot = ring_reserve_wait(l);
    msg_header h;
    memset(&h, 0, sizeof h);
    h.kind = MSG_BARRIER;
    h.barrier_steps = extra_steps;
    memcpy(slot, &h, sizeof h);
    ring_commit(t);
    /* Never wait on a thread that cannot answer: the watchdog restarts a
     * stalled or dead one (the barrier stays queued for the new thread),
     * and with none running the host does the learner's work itself. */
    unsigned spins = 0;
    while (uv_sem_trywait(&t->done) != 0) {
        if (t->started) {
            if (++spins < 64) {
                thread_yield();
                continue;
            }
            cscalp_learn_watchdog(l);
            uv_sleep(1);
        } else {
            cscalp_learn_watchdog(l);
            if (!t->started)
                host_run_ring(l);
        }
    }
}

/* Learner: hand the challenger to the host. */
static void thread_publish(cscalp_learn *l)
{
    learner_thread *t = l->async;
    snapshot *b = &t->snap[t->back];
    memcpy(b->params, l->challenger, l->n_params * sizeof(float));
    cscalp_nn_pack(b->packed, l->challenger);
    const unsigned prev = atomic_exchange(&t->middle, t->back | SNAP_NEW);
    t->back = prev & 3u;
}

/* Host: take the newest snapshot, if there is one. */
static void thread_refresh(learner_thread *t)
{
    if (atomic_load(&t->middle) & SNAP_NEW) {
        const unsigned prev = atomic_exchange(&t->middle, t->front);
        t->front = prev & 3u;
    }
}

static void thread_process(cscalp_learn *l, const unsigned char *slot)
{
    msg_header h;
    memcpy(&h, slot, sizeof h);
    switch (h.kind) {
    case MSG_SAMPLE: {
        const float *payload = (const float *)(const void *)(slot + sizeof h);
        l->lr_scale = h.lr_scale;
        trainer_add_sample(l, payload, payload + l->inputs, h.label, h.loss, h.share);
        break;
    }
    case MSG_PARAMS: {
        train_params tp;
        memcpy(&tp, slot + sizeof h, sizeof tp);
        trainer_set_params(l, &tp);
        break;
    }
    default: /* MSG_BARRIER */
        /* The host's explicit budget (cscalp_adapt) is not shed. */
        l->no_shed = 1;
        train_round(l, h.barrier_steps);
        l->no_shed = 0;
        uv_sem_post(&l->async->done);
        break;
    }
}

static void thread_main(void *arg)
{
    cscalp_learn *l = arg;
    learner_thread *t = l->async;
    for (;;) {
        atomic_fetch_add_explicit(&t->heartbeat, 1, memory_order_relaxed);
        if (atomic_load(&t->stop))
            break;
        if (atomic_exchange(&t->fault_die, 0))
            break; /* injected death: the loop ends as a crash of it would */
        while (atomic_load(&t->fault_stall) && !atomic_load(&t->stop))
            uv_sleep(1); /* injected stall: alive, no progress */
        if (atomic_load_explicit(&t->reset_pending, memory_order_acquire)) {
            trainer_reset(l, t->reset_params);
            atomic_store_explicit(&t->reset_pending, 0, memory_order_release);
            continue;
        }
        const uint64_t head = atomic_load_explicit(&t->head, memory_order_relaxed);
        if (head != atomic_load_explicit(&t->tail, memory_order_acquire)) {
            thread_process(l, ring_slot(t, head));
            atomic_store_explicit(&t->head, head + 1, memory_order_release);
            continue;
        }
        /* Nothing to do: announce the sleep, look once more, then sleep. */
        atomic_store(&t->sleeping, 1);
        if (atomic_load(&t->stop) || atomic_load(&t->reset_pending) ||
            atomic_load(&t->tail) != head) {
            if (atomic_exchange(&t->sleeping, 0) == 0)
                uv_sem_wait(&t->wake); /* the host is posting: take it */
            continue;
        }
        uv_sem_wait(&t->wake);
    }
    atomic_store(&t->exited, 1);
}

static void thread_stop(cscalp_learn *l)
{
    learner_thread *t = l->async;
    if (t == NULL || !t->started)
        return;
    atomic_store(&t->stop, 1);
    thread_wake(t);
    uv_thread_join(&t->thread);
    t->started = 0;
}

static void thread_yield(void) { sched_yield(); }

static void thread_process(cscalp_learn *l, const unsigned char *slot);

/* Host, with no learner thread running: take the queued messages here
 * (a barrier being waited for among them). */
static void host_run_ring(cscalp_learn *l)
{
    learner_thread *t = l->async;
    if (atomic_load_explicit(&t->reset_pending, memory_order_acquire)) {
        trainer_reset(l, t->reset_params);
        atomic_store_explicit(&t->reset_pending, 0, memory_order_release);
    }
    for (;;) {
        const uint64_t head = atomic_load_explicit(&t->head, memory_order_relaxed);
        if (head == atomic_load_explicit(&t->tail, memory_order_acquire))
            break;
        thread_process(l, ring_slot(t, head));
        atomic_store_explicit(&t->head, head + 1, memory_order_release);
    }
}

/* Host: stop the learner thread (a stalled one leaves its wait within a
 * millisecond or a training step) and start a new one from the live
 * weights. What is queued stays queued for it. 1 when one runs. */
static int thread_restart(cscalp_learn *l)
{
    learner_thread *t = l->async;
    if (!t->down) {
        thread_stop(l);
        cscalp_learn_heal_live(l); /* never restart from corrupted weights */
        /* The host owns the trainer until the new thread starts; a retry
         * after a failed start keeps what the host trained meanwhile. */
        atomic_store(&t->fault_stall, 0);
        atomic_store(&t->fault_die, 0);
        atomic_store(&t->stop, 0);
        atomic_store(&t->exited, 0);
        atomic_store(&t->sleeping, 0);
        atomic_store_explicit(&t->reset_pending, 0, memory_order_release);
        trainer_reset(l, l->live);
    }
    t->hb_seen = atomic_load_explicit(&t->heartbeat, memory_order_relaxed);
    t->waiting = 0;
    const int rc = uv_thread_create(&t->thread, thread_main, l);
    if (rc != 0) {
        t->restart_failures++;
        if (!t->down) /* one event per episode: the retries are counted */
            raise_event(l, CSCALP_SEVERITY_ERROR, CSCALP_EVENT_LEARNER_STALLED, CSCALP_ENOMEM,
                        CSCALP_ACTION_RETRYING,
                        "cannot start a new learner thread (%s): the host thread does the "
                        "learner's queued work when it must; retrying at every check",
                        uv_strerror(rc));
        t->down = 1;
        return 0;
    }
    t->started = 1;
    t->down = 0;
    t->restarts++;
    raise_event(l, CSCALP_SEVERITY_INFO, CSCALP_EVENT_LEARNER_RESTARTED, CSCALP_OK,
                CSCALP_ACTION_RESTARTED,
                "new learner thread from the live weights (version %llu); %llu messages "
                "queued for it",
                (unsigned long long)l->version,
                (unsigned long long)(atomic_load(&t->tail) - atomic_load(&t->head)));
    return 1;
}
#endif

int cscalp_learn_watchdog(cscalp_learn *l)
{
#if CSCALP_HAVE_THREADS
    learner_thread *t = l->async;
    if (t == NULL)
        return 0;
    if (!t->started)
        return t->down ? thread_restart(l) : 0; /* not started yet, or a failed restart */
    if (atomic_load_explicit(&t->exited, memory_order_acquire)) {
        t->deaths++;
        raise_event(l, CSCALP_SEVERITY_ERROR, CSCALP_EVENT_LEARNER_STALLED, CSCALP_OK,
                    CSCALP_ACTION_RESTARTED,
                    "learner thread exited unexpectedly; restarting it from the live weights");
        return thread_restart(l);
    }
    if (l->cfg.stall_wall_ns <= 0)
        return 0;
    /* Monotonic wall clock: a thread's liveness is the machine's matter,
     * not the market's; no trading decision reads it. */
    const uint64_t now = uv_hrtime();
    const uint64_t hb = atomic_load_explicit(&t->heartbeat, memory_order_relaxed);
    const uint64_t queued = atomic_load_explicit(&t->tail, memory_order_relaxed) -
                            atomic_load_explicit(&t->head, memory_order_acquire);
    const int work = queued > 0 || atomic_load(&t->reset_pending);
    if (hb != t->hb_seen || !work || !t->waiting) {
        /* Progress, nothing to do, or work just seen: the clock starts now. */
        t->hb_seen = hb;
        t->hb_seen_wall_ns = now;
        t->waiting = work;
        return 0;
    }
    if (now - t->hb_seen_wall_ns < (uint64_t)l->cfg.stall_wall_ns)
        return 0;
    t->stalls++;
    raise_event(l, CSCALP_SEVERITY_ERROR, CSCALP_EVENT_LEARNER_STALLED, CSCALP_OK,
                CSCALP_ACTION_RESTARTED,
                "learner thread made no progress for %.0f ms with %llu messages waiting; "
                "restarting it from the live weights",
                (double)(now - t->hb_seen_wall_ns) / 1e6, (unsigned long long)queued);
    return thread_restart(l);
#else
    (void)l;
    return 0;
#endif
}

int cscalp_learn_heal_live(cscalp_learn *l)
{
    if (all_finite_params(l->live, l->n_params))
        return 0;
    memcpy(l->live, l->last_good, l->n_params * sizeof *l->live);
    cscalp_nn_pack(l->live_packed, l->live);
    l->weights_restored++;
    raise_component_event(l, CSCALP_COMPONENT_MODEL, CSCALP_SEVERITY_ERROR,
                          CSCALP_EVENT_WEIGHTS_RESTORED, CSCALP_ENONFINITE, CSCALP_ACTION_ROLLED_BACK,
                      "live network (version %llu) had non-finite weights: the last good copy "
                      "is restored",
                      (unsigned long long)l->version);
    return 1;
}

uint32_t cscalp_learn_flags(const cscalp_learn *l)
{
    uint32_t f = 0;
    if (l->serving_fallback)
        f |= CSCALP_SUPERVISOR_FALLBACK_SERVING;
    if (l->health_lr < 1.0)
        f |= CSCALP_SUPERVISOR_LR_LOWERED;
#if CSCALP_HAVE_THREADS
    if (l->async != NULL) {
        if (l->async->shed_host > 0)
            f |= CSCALP_SUPERVISOR_LEARNER_SHEDDING;
        if (l->async->down)
            f |= CSCALP_SUPERVISOR_LEARNER_DOWN;
    }
#endif
    return f;
}

double cscalp_learn_lr_factor(const cscalp_learn *l) { return l->health_lr; }

uint64_t cscalp_learn_lr_changed_at_step(const cscalp_learn *l) { return l->lr_cut_at_steps; }

void cscalp_learn_set_lr_state(cscalp_learn *l, double factor, uint64_t changed_at_step)
{
    l->health_lr = factor;
    l->lr_cut_at_steps = changed_at_step;
}

int cscalp_learn_fault(cscalp_learn *l, int fault, uint32_t count)
{
    switch (fault) {
    case CSCALP_LEARN_FAULT_NAN_STEP:
        atomic_store(&l->fault_nan_steps, count);
        return CSCALP_OK;
    case CSCALP_LEARN_FAULT_EXPLODE:
        atomic_store(&l->fault_explode_steps, count);
        return CSCALP_OK;
    case CSCALP_LEARN_FAULT_CORRUPT:
        l->live[l->n_params / 2] = NAN;
        cscalp_nn_pack(l->live_packed, l->live);
        return CSCALP_OK;
    case CSCALP_LEARN_FAULT_SKEW: {
        /* Head bias entries 3e + c are expert e's class-c logit (docs/model.md). */
        cscalp_nn_layout layout;
        cscalp_nn_layout_of(&l->arch, &layout);
        for (uint32_t e = 0; e < l->experts; e++)
            l->live[layout.head_b + 3 * e + CSCALP_CLASS_DOWN] += 10.0f;
        cscalp_nn_pack(l->live_packed, l->live);
        return CSCALP_OK;
    }
    default:
        break;
    }
#if CSCALP_HAVE_THREADS
    learner_thread *t = l->async;
    if (t != NULL && t->started) {
        if (fault == CSCALP_LEARN_FAULT_STALL) {
            atomic_store(&t->fault_stall, count > 0);
            return CSCALP_OK;
        }
        if (fault == CSCALP_LEARN_FAULT_DIE) {
            atomic_store(&t->fault_die, 1);
            if (atomic_exchange(&t->sleeping, 0) == 1)
                uv_sem_post(&t->wake);
            return CSCALP_OK;
        }
    }
#endif
    return CSCALP_EUNSUPPORTED;
}

int cscalp_learn_start(cscalp_learn *l, char *why, size_t cap)
{
#if CSCALP_HAVE_THREADS
    learner_thread *t = l->async;
    if (t == NULL || t->started)
        return CSCALP_OK;
    thread_snapshots_init(l);
    const int rc = uv_thread_create(&t->thread, thread_main, l);
    if (rc != 0) {
        snprintf(why, cap, "learner thread: cannot start it: %s", uv_strerror(rc));
        return CSCALP_ENOMEM;
    }
    t->started = 1;
#else
    (void)l;
    (void)why;
    (void)cap;
#endif
    return CSCALP_OK;
}

/* Trainer side, after the challenger changed: inline keeps its packed copy
 * for the host's predictions; async publishes a snapshot. */
static void after_training(cscalp_learn *l)
{
#if CSCALP_HAVE_THREADS
    if (is_async(l)) {
        thread_publish(l);
        return;
    }
#endif
    cscalp_nn_pack(l->challenger_packed, l->challenger);
}

/* Host side: the challenger as the host sees it. */
static cscalp_nn_packed *challenger_view(cscalp_learn *l)
{
#if CSCALP_HAVE_THREADS
    if (is_async(l)) {
        thread_refresh(l->async);
        return l->async->snap[l->async->front].packed;
    }
#endif
    return l->challenger_packed;
}

static const float *challenger_view_params(cscalp_learn *l)
{
#if CSCALP_HAVE_THREADS
    if (is_async(l)) {
        thread_refresh(l->async);
        return l->async->snap[l->async->front].params;
    }
#endif
    return l->challenger;
}

/* -------------------------------------------------------------- decisions */

static int window_full(const cscalp_learn *l, int m)
{
    cscalp_score_summary s;
    cscalp_score_rolling(l->score[m], &s);
    return s.count >= l->cfg.score_window;
}

static double rolling_loss(const cscalp_learn *l, int m)
{
    cscalp_score_summary s;
    cscalp_score_rolling(l->score[m], &s);
    return s.log_loss;
}

static void decide_promotion(cscalp_learn *l)
{
    if (l->since_decision < l->cfg.score_window || !window_full(l, M_NETWORK) ||
        !window_full(l, M_CHALLENGER))
        return;
    const double live = rolling_loss(l, M_NETWORK), chal = rolling_loss(l, M_CHALLENGER);
    if (chal < live - l->cfg.promotion_margin_nats) {
        memcpy(l->live, challenger_view_params(l), l->n_params * sizeof *l->live);
        memcpy(l->last_good, l->live, l->n_params * sizeof *l->last_good);
        cscalp_nn_pack(l->live_packed, l->live);
        l->version++;
        l->trained = 1;
        l->promotions++;
        l->since_decision = 0;
        raise_event(l, CSCALP_SEVERITY_INFO, CSCALP_EVENT_MODEL_PROMOTED, CSCALP_OK,
                    CSCALP_ACTION_APPLIED,
                    "challenger promoted to live network version %llu: rolling log-loss "
                    "%.6f against the live network's %.6f over %u samples",
                    (unsigned long long)l->version, chal, live, l->cfg.score_window);
    } else if (chal > live + l->cfg.rollback_margin_nats) {
        char why[160];
        snprintf(why, sizeof why,
                 "its rolling log-loss %.6f is above the live network's %.6f by more "
                 "than learn.rollback_margin_nats",
                 chal, live);
        rollback(l, why);
    }
}

static void decide_serving(cscalp_learn *l)
{
    const uint64_t dwell = l->cfg.score_window / 4 > 0 ? l->cfg.score_window / 4 : 1;
    if (l->since_switch < dwell || !window_full(l, M_NETWORK) || !window_full(l, M_FALLBACK))
        return;
    const double net = rolling_loss(l, M_NETWORK), fb = rolling_loss(l, M_FALLBACK);
    if (!l->serving_fallback && net > fb + l->cfg.fallback_margin_nats) {
        l->serving_fallback = 1;
        l->since_switch = 0;
        l->fallback_engaged++;
        raise_event(l, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_FALLBACK_ENGAGED, CSCALP_OK,
                    CSCALP_ACTION_SWITCHED,
                    "fallback model serves signals: network rolling log-loss %.6f, "
                    "fallback %.6f over %u samples",
                    net, fb, l->cfg.score_window);
    } else if (l->serving_fallback && net < fb + 0.5 * l->cfg.fallback_margin_nats) {
        /* Half the margin back: hysteresis, so that two models scoring
         * alike do not hand over at every check. */
        l->serving_fallback = 0;
        l->since_switch = 0;
        l->fallback_released++;
        raise_event(l, CSCALP_SEVERITY_INFO, CSCALP_EVENT_FALLBACK_RELEASED, CSCALP_OK,
                    CSCALP_ACTION_SWITCHED,
                    "network serves signals again: rolling log-loss %.6f, fallback %.6f",
                    net, fb);
    }
}

/* ---------------------------------------------------------------- samples */


/* Label the oldest pending sample, score every model on it, then learn. */
static void mature_oldest(cscalp_learn *l)
{
    const uint32_t s = l->pending_head;
    const cscalp_label_anchor *a = &l->anchor[s];
    const float *x = l->pending_x + (size_t)s * l->inputs;
    const float *regime = l->pending_regime + (size_t)s * l->experts;
    const float *probs = l->pending_probs + (size_t)s * M_COUNT * 3;
    const double move = cscalp_label_move_bps(&l->clock, a);
    double band = (double)NAN;
    const int label = cscalp_label_classify(&l->clock, a, move, &band);
    l->pending_head = (s + 1) % l->cfg.max_pending;
    l->pending_count--;
    l->last_band_bps = band;
    if (label < 0) {
        l->unlabelled++;
        return;
    }
    l->matured++;
    l->labels[label]++;

    /* Test ... */
    for (int m = 0; m < M_COUNT; m++)
        cscalp_score_update(l->score[m], probs + 3 * m, (uint8_t)label);
    const double share = information_share(l);
    const double live_loss = loss_of(probs + 3 * M_NETWORK, label);
    int fired = 0;
    l->drift_block_sum += live_loss;
    l->drift_block_info += share;
    l->drift_block_count++;
    if (l->drift_block_info >= WHOLE_SAMPLE) {
        fired = cscalp_drift_update(&l->drift, l->drift_block_sum / l->drift_block_count);
        l->drift_block_sum = l->drift_block_info = 0.0;
        l->drift_block_count = 0;
    }
    if (fired) {
        l->drift_alarms++;
        l->boost_remaining = l->cfg.drift_boost_samples;
        raise_event(l, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_DRIFT_DETECTED, CSCALP_OK,
                    CSCALP_ACTION_APPLIED,
                    "drift in the live log-loss (%s%s%s); learning rate x%g for %u samples",
                    (fired & CSCALP_DRIFT_PH) ? "Page-Hinkley" : "",
                    (fired & CSCALP_DRIFT_PH) && (fired & CSCALP_DRIFT_ADWIN) ? ", " : "",
                    (fired & CSCALP_DRIFT_ADWIN) ? "ADWIN" : "", l->cfg.drift_lr_boost_factor,
                    l->cfg.drift_boost_samples);
    } else if (l->boost_remaining > 0) {
        l->boost_remaining--;
    }

    /* ... then train. The fallback steps by its share: a horizon's worth of
     * near-copies moves it as far as one independent sample would. */
    cscalp_logit_set_rates(l->fallback, l->cfg.fallback_learning_rate * share,
                           l->cfg.fallback_l2);
    cscalp_logit_update(l->fallback, x, (uint8_t)label);
    cscalp_prior_update(&l->prior, (uint8_t)label);
    l->since_decision++;
    l->since_switch++;
    decide_serving(l);
    decide_promotion(l);
    const double challenger_loss = loss_of(probs + 3 * M_CHALLENGER, label);
#if CSCALP_HAVE_THREADS
    if (is_async(l)) {
        thread_send_sample(l, x, regime, (uint8_t)label, challenger_loss, share);
        check_refused(l);
        return;
    }
#endif
    l->lr_scale = current_lr_scale(l);
    trainer_add_sample(l, x, regime, (uint8_t)label, challenger_loss, share);
    check_refused(l);
}

void cscalp_learn_before_event(cscalp_learn *l, int64_t t_ns)
{
    l->now_ns = t_ns;
    if (l->cfg.label.horizon_events > 0)
        return;
    while (l->pending_count > 0 &&
           cscalp_label_mature(&l->clock, &l->anchor[l->pending_head], t_ns))
        mature_oldest(l);
}

void cscalp_learn_on_mid(cscalp_learn *l, int64_t t_ns, double mid)
{
    l->now_ns = t_ns;
    cscalp_label_on_mid(&l->clock, t_ns, mid);
    l->events_since_sample++;
    if (l->cfg.label.horizon_events == 0)
        return;
    while (l->pending_count > 0 &&
           cscalp_label_mature(&l->clock, &l->anchor[l->pending_head], t_ns))
        mature_oldest(l);
}

int cscalp_learn_sample_due(const cscalp_learn *l, int64_t t_ns)
{
    if (l->cfg.mode == CSCALP_LEARN_OFF)
        return 0;
    if (l->cfg.sample_every_events > 0)
        return l->events_since_sample >= l->cfg.sample_every_events;
    return !l->has_next_sample || t_ns >= l->next_sample_ns;
}

void cscalp_learn_take_sample(cscalp_learn *l, int64_t t_ns, double half_spread_bps,
                              const float *x, const float *regime, int warm)
{
    l->now_ns = t_ns;
    l->events_since_sample = 0;
    const int64_t dt = l->cfg.sample_interval_ns;
    l->next_sample_ns = (t_ns / dt + 1) * dt; /* the next grid point after t */
    l->has_next_sample = 1;
    if (!warm) {
        l->skipped_warmup++;
        return;
    }
    cscalp_label_anchor anchor;
    if (!cscalp_label_anchor_at(&l->clock, t_ns, half_spread_bps, &anchor)) {
        l->skipped_no_mid++;
        return;
    }
    if (l->pending_count == l->cfg.max_pending) {
        l->dropped_pending++;
        /* One event when dropping starts, then one per 1000 drops. */
        if (l->dropped_pending - l->dropped_reported >= 1000 || l->dropped_reported == 0 ||
            l->dropped_pending == 1) {
            l->dropped_reported = l->dropped_pending;
            raise_event(l, CSCALP_SEVERITY_WARNING, CSCALP_EVENT_SAMPLES_DROPPED, CSCALP_OK,
                        CSCALP_ACTION_DROPPED,
                        "learn.max_pending_samples (%u) samples wait for labels: %llu "
                        "decision samples skipped so far",
                        l->cfg.max_pending, (unsigned long long)l->dropped_pending);
        }
        return;
    }
    const uint32_t s = (l->pending_head + l->pending_count) % l->cfg.max_pending;
    l->anchor[s] = anchor;
    float *px = l->pending_x + (size_t)s * l->inputs;
    float *pr = l->pending_regime + (size_t)s * l->experts;
    float *pp = l->pending_probs + (size_t)s * M_COUNT * 3;
    memcpy(px, x, l->inputs * sizeof *px);
    memcpy(pr, regime, l->experts * sizeof *pr);
    /* The prediction each model makes now is what it will be scored on. */
    cscalp_nn_result r;
    cscalp_nn_infer(l->live_packed, x, regime, &r);
    if (!isfinite(r.probs[0] + r.probs[1] + r.probs[2]) && cscalp_learn_heal_live(l))
        cscalp_nn_infer(l->live_packed, x, regime, &r); /* caught here while the fallback serves */
    memcpy(pp + 3 * M_NETWORK, r.probs, sizeof r.probs);
    cscalp_nn_infer(challenger_view(l), x, regime, &r);
    memcpy(pp + 3 * M_CHALLENGER, r.probs, sizeof r.probs);
    cscalp_logit_predict(l->fallback, x, pp + 3 * M_FALLBACK);
    cscalp_prior_predict(&l->prior, pp + 3 * M_PRIOR);
    l->pending_count++;
    l->samples_taken++;
}

void cscalp_learn_predict(cscalp_learn *l, const float *x, const float *regime,
                          cscalp_learn_prediction *out)
{
    out->version = l->version;
    out->trained = l->trained;
    if (l->serving_fallback) {
        cscalp_logit_predict(l->fallback, x, out->probs);
        out->source = CSCALP_LEARN_FALLBACK;
        return;
    }
    cscalp_nn_result r;
    cscalp_nn_infer(l->live_packed, x, regime, &r);
    memcpy(out->probs, r.probs, sizeof out->probs);
    out->source = CSCALP_LEARN_NETWORK;
}

void cscalp_learn_adapt(cscalp_learn *l, uint32_t budget_steps, cscalp_adapt_report *out)
{
    if (l->cfg.mode == CSCALP_LEARN_INLINE && budget_steps > 0) {
        l->lr_scale = current_lr_scale(l);
        train_round(l, budget_steps);
    }
#if CSCALP_HAVE_THREADS
    if (is_async(l))
        thread_drain(l, budget_steps);
#endif
    check_refused(l);
    const uint64_t steps = atomic_load_explicit(&l->steps, memory_order_relaxed);
    out->mode = (uint32_t)l->cfg.mode;
    out->steps = steps - l->reported_steps;
    out->promotions = l->promotions - l->reported_promotions;
    out->rollbacks = l->rollbacks - l->reported_rollbacks;
    l->reported_steps = steps;
    l->reported_promotions = l->promotions;
    l->reported_rollbacks = l->rollbacks;
    out->steps_total = steps;
    out->promotions_total = l->promotions;
    out->rollbacks_total = l->rollbacks;
    out->samples_matured = l->matured;
    out->samples_pending = l->pending_count;
    out->replay_size = atomic_load_explicit(&l->replay_size, memory_order_relaxed);
    out->model_version = l->version;
    out->serving = (uint32_t)l->serving_fallback;
    out->reserved = 0;
}

uint64_t cscalp_learn_model_version(const cscalp_learn *l) { return l->version; }

const float *cscalp_learn_live_params(const cscalp_learn *l) { return l->live; }

const float *cscalp_learn_challenger_params(const cscalp_learn *l) { return l->challenger; }

size_t cscalp_learn_param_count(const cscalp_learn *l) { return l->n_params; }

/* ------------------------------------------------------------------ stats */

static void write_summary(cscalp_json_writer *w, const char *key,
                          const cscalp_score_summary *s)
{
    cscalp_jw_begin_object(w, key);
    cscalp_jw_uint(w, "samples", s->count);
    cscalp_jw_double(w, "log_loss", s->log_loss);
    cscalp_jw_double(w, "accuracy", s->accuracy);
    cscalp_jw_double(w, "macro_f1", s->macro_f1);
    /* [true][predicted]: lets a reader score any span between two stats
     * snapshots (macro-F1 is not a difference of means). */
    cscalp_jw_begin_array(w, "confusion");
    for (int t = 0; t < CSCALP_SCORE_CLASSES; t++) {
        cscalp_jw_begin_array(w, NULL);
        for (int p = 0; p < CSCALP_SCORE_CLASSES; p++)
            cscalp_jw_uint(w, NULL, s->confusion[t][p]);
        cscalp_jw_end_array(w);
    }
    cscalp_jw_end_array(w);
    cscalp_jw_end_object(w);
}

void cscalp_learn_write_stats(const cscalp_learn *l, cscalp_json_writer *w)
{
    static const char *const modes[] = {"off", "inline", "async"};
    cscalp_jw_begin_object(w, "learn");
    cscalp_jw_string(w, "mode", modes[l->cfg.mode]);
    cscalp_jw_string(w, "serving", l->serving_fallback ? "fallback" : "network");

    cscalp_jw_begin_object(w, "samples");
    cscalp_jw_uint(w, "taken", l->samples_taken);
    cscalp_jw_uint(w, "pending", l->pending_count);
    cscalp_jw_uint(w, "matured", l->matured);
    cscalp_jw_uint(w, "unlabelled", l->unlabelled);
    cscalp_jw_uint(w, "skipped_warmup", l->skipped_warmup);
    cscalp_jw_uint(w, "skipped_no_mid", l->skipped_no_mid);
    cscalp_jw_uint(w, "dropped", l->dropped_pending);
    cscalp_jw_end_object(w);

    cscalp_jw_begin_object(w, "labels");
    cscalp_jw_uint(w, "down", l->labels[0]);
    cscalp_jw_uint(w, "flat", l->labels[1]);
    cscalp_jw_uint(w, "up", l->labels[2]);
    cscalp_jw_double(w, "last_band_bps", l->last_band_bps);
    cscalp_jw_end_object(w);

    cscalp_jw_begin_object(w, "training");
    cscalp_jw_uint(w, "steps", atomic_load_explicit(&l->steps, memory_order_relaxed));
    cscalp_jw_uint(w, "refused_steps",
                   atomic_load_explicit(&l->refused_steps, memory_order_relaxed));
    cscalp_jw_double(w, "last_loss",
                     atomic_load_explicit(&l->last_step_loss, memory_order_relaxed));
    cscalp_jw_uint(w, "replay_size", atomic_load_explicit(&l->replay_size, memory_order_relaxed));
    cscalp_jw_uint(w, "replay_added",
                   atomic_load_explicit(&l->replay_added, memory_order_relaxed));
    cscalp_jw_uint(w, "promotions", l->promotions);
    cscalp_jw_uint(w, "rollbacks", l->rollbacks);
    cscalp_jw_uint(w, "model_version", l->version);
    cscalp_jw_uint(w, "fallback_engaged", l->fallback_engaged);
    cscalp_jw_uint(w, "fallback_released", l->fallback_released);
    cscalp_jw_end_object(w);

    cscalp_jw_begin_object(w, "drift");
    cscalp_jw_uint(w, "alarms", l->drift_alarms);
    cscalp_jw_uint(w, "page_hinkley_alarms", l->drift.ph_alarms);
    cscalp_jw_uint(w, "adwin_alarms", l->drift.adwin_alarms);
    cscalp_jw_uint(w, "boost_remaining", l->boost_remaining);
    cscalp_jw_end_object(w);

    cscalp_jw_begin_object(w, "scores");
    for (int m = 0; m < M_COUNT; m++) {
        cscalp_score_summary cum, roll;
        cscalp_score_cumulative(l->score[m], &cum);
        cscalp_score_rolling(l->score[m], &roll);
        cscalp_jw_begin_object(w, model_names[m]);
        write_summary(w, "cumulative", &cum);
        write_summary(w, "rolling", &roll);
        cscalp_jw_end_object(w);
    }
    cscalp_jw_end_object(w);
#if CSCALP_HAVE_THREADS
    if (l->async != NULL) {
        const learner_thread *t = l->async;
        cscalp_jw_begin_object(w, "async");
        cscalp_jw_uint(w, "queue_capacity", t->capacity);
        cscalp_jw_uint(w, "queued", t->sent - atomic_load(&((learner_thread *)t)->head));
        cscalp_jw_uint(w, "sent", t->sent);
        cscalp_jw_uint(w, "dropped", t->dropped);
        cscalp_jw_uint(w, "heartbeat", atomic_load(&((learner_thread *)t)->heartbeat));
        cscalp_jw_uint(w, "stalls", t->stalls);
        cscalp_jw_uint(w, "deaths", t->deaths);
        cscalp_jw_uint(w, "restarts", t->restarts);
        cscalp_jw_uint(w, "restart_failures", t->restart_failures);
        cscalp_jw_int(w, "shed_level", t->shed_host);
        cscalp_jw_uint(w, "shed_episodes", t->shed_episodes);
        cscalp_jw_end_object(w);
    }
#endif
    cscalp_jw_begin_object(w, "health");
    cscalp_jw_double(w, "lr_factor", l->health_lr);
    cscalp_jw_uint(w, "lr_cuts", l->lr_cuts);
    cscalp_jw_uint(w, "lr_restores", l->lr_restores);
    cscalp_jw_uint(w, "exploded_steps", l->exploded_steps);
    cscalp_jw_uint(w, "weights_restored", l->weights_restored);
    cscalp_jw_end_object(w);
    cscalp_jw_uint(w, "events_lost", l->events_lost);
    cscalp_jw_end_object(w);
}

/* ------------------------------------------------------------- checkpoints */

/* Every field, in this order; the engine wraps it in a CRC'd section. The
 * event queue is not saved: the engine drains it after every call. */
int cscalp_learn_save(cscalp_learn *l, cscalp_wbuf *w)
{
#if CSCALP_HAVE_THREADS
    /* The learner thread idles after the barrier until the next message,
     * so everything it owns can be read here. */
    if (is_async(l)) {
        thread_drain(l, 0);
        check_refused(l);
    }
#endif
    cscalp_put_u32(w, l->inputs);
    cscalp_put_u32(w, l->experts);
    cscalp_put_u64(w, l->n_params);
    cscalp_put_u32(w, l->cfg.max_pending);
    cscalp_put_u64(w, l->version);
    cscalp_put_u32(w, (uint32_t)l->trained);
    cscalp_put_f32s(w, l->live, l->n_params);
    cscalp_put_f32s(w, l->challenger, l->n_params);
    cscalp_nn_trainer_save(l->trainer, w);
    cscalp_logit_save(l->fallback, w);
    cscalp_prior_save(&l->prior, w);
    for (int m = 0; m < M_COUNT; m++)
        cscalp_score_save(l->score[m], w);
    cscalp_drift_save(&l->drift, w);
    cscalp_label_clock_save(&l->clock, w);

    cscalp_put_u32(w, l->pending_count);
    for (uint32_t k = 0; k < l->pending_count; k++) {
        const uint32_t s = (l->pending_head + k) % l->cfg.max_pending;
        cscalp_label_anchor_save(&l->anchor[s], w);
        cscalp_put_f32s(w, l->pending_x + (size_t)s * l->inputs, l->inputs);
        cscalp_put_f32s(w, l->pending_regime + (size_t)s * l->experts, l->experts);
        cscalp_put_f32s(w, l->pending_probs + (size_t)s * M_COUNT * 3, M_COUNT * 3);
    }
    cscalp_put_u32(w, (uint32_t)l->has_next_sample);
    cscalp_put_i64(w, l->next_sample_ns);
    cscalp_put_u64(w, l->events_since_sample);

    cscalp_replay_save(l->replay, w);
    for (int k = 0; k < 4; k++)
        cscalp_put_u64(w, l->rng.s[k]);
    cscalp_put_u64(w, l->since_train);
    cscalp_put_f64(w, l->train_info);
    cscalp_put_u32(w, (uint32_t)l->serving_fallback);
    cscalp_put_u64(w, l->since_switch);
    cscalp_put_u64(w, l->since_decision);
    cscalp_put_u64(w, l->boost_remaining);
    cscalp_put_f64(w, l->drift_block_sum);
    cscalp_put_f64(w, l->drift_block_info);
    cscalp_put_u32(w, l->drift_block_count);

    const uint64_t counters[] = {
        l->samples_taken, l->skipped_warmup, l->skipped_no_mid, l->dropped_pending,
        l->dropped_reported, l->matured, l->unlabelled, l->labels[0], l->labels[1],
        l->labels[2], atomic_load(&l->steps), atomic_load(&l->refused_steps), l->promotions,
        l->rollbacks,
        l->drift_alarms, l->fallback_engaged, l->fallback_released, l->reported_steps,
        l->reported_promotions, l->reported_rollbacks, l->events_lost};
    cscalp_put_u32(w, (uint32_t)(sizeof counters / sizeof counters[0]));
    for (size_t k = 0; k < sizeof counters / sizeof counters[0]; k++)
        cscalp_put_u64(w, counters[k]);
    cscalp_put_f64(w, l->last_band_bps);
    cscalp_put_f64(w, atomic_load(&l->last_step_loss));
    cscalp_put_i64(w, l->now_ns);
    return w->failed ? CSCALP_ENOMEM : CSCALP_OK;
}

static int all_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

#define LOAD_FAIL(...)                                                          \
    do {                                                                        \
        snprintf(why, cap, __VA_ARGS__);                                        \
        return CSCALP_ECORRUPT;                                                 \
    } while (0)

int cscalp_learn_load(cscalp_learn *l, cscalp_rbuf *r, char *why, size_t cap)
{
    const uint32_t inputs = cscalp_get_u32(r), experts = cscalp_get_u32(r);
    const uint64_t n_params = cscalp_get_u64(r);
    const uint32_t max_pending = cscalp_get_u32(r);
    if (r->failed || inputs != l->inputs || experts != l->experts ||
        n_params != l->n_params || max_pending != l->cfg.max_pending)
        LOAD_FAIL("learner: the model shape (%u inputs, %u experts, %llu parameters, %u "
                  "pending) differs from the configuration's",
                  inputs, experts, (unsigned long long)n_params, max_pending);
    l->version = cscalp_get_u64(r);
    const uint32_t trained = cscalp_get_u32(r);
    cscalp_get_f32s(r, l->live, l->n_params);
    cscalp_get_f32s(r, l->challenger, l->n_params);
    if (r->failed || trained > 1 || l->version == 0 || !all_finite(l->live, l->n_params) ||
        !all_finite(l->challenger, l->n_params))
        LOAD_FAIL("learner: the live or challenger network is damaged");
    l->trained = (int)trained;
    memcpy(l->last_good, l->live, l->n_params * sizeof *l->last_good);
    int rc = cscalp_nn_trainer_load(l->trainer, r, why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_logit_load(l->fallback, r, why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_prior_load(&l->prior, r, why, cap);
    for (int m = 0; rc == CSCALP_OK && m < M_COUNT; m++)
        rc = cscalp_score_load(l->score[m], r, why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_drift_load(&l->drift, r, why, cap);
    if (rc == CSCALP_OK)
        rc = cscalp_label_clock_load(&l->clock, r, why, cap);
    if (rc != CSCALP_OK)
        return rc;

    const uint32_t pending = cscalp_get_u32(r);
    if (r->failed || pending > l->cfg.max_pending)
        LOAD_FAIL("learner: %u pending samples, more than learn.max_pending_samples (%u)",
                  pending, l->cfg.max_pending);
    l->pending_head = 0;
    l->pending_count = pending;
    for (uint32_t s = 0; s < pending; s++) {
        cscalp_label_anchor_load(&l->anchor[s], r);
        float *px = l->pending_x + (size_t)s * l->inputs;
        float *pr = l->pending_regime + (size_t)s * l->experts;
        float *pp = l->pending_probs + (size_t)s * M_COUNT * 3;
        cscalp_get_f32s(r, px, l->inputs);
        cscalp_get_f32s(r, pr, l->experts);
        cscalp_get_f32s(r, pp, M_COUNT * 3);
        if (r->failed || !all_finite(px, l->inputs) || !all_finite(pr, l->experts) ||
            !all_finite(pp, M_COUNT * 3) || !isfinite(l->anchor[s].mid) ||
            !(l->anchor[s].mid > 0.0))
            LOAD_FAIL("learner: pending sample %u is damaged", s);
    }
    const uint32_t has_next = cscalp_get_u32(r);
    l->next_sample_ns = cscalp_get_i64(r);
    l->events_since_sample = cscalp_get_u64(r);
    if (r->failed || has_next > 1)
        LOAD_FAIL("learner: the sampling clock is damaged");
    l->has_next_sample = (int)has_next;

    rc = cscalp_replay_load(l->replay, r, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    for (int k = 0; k < 4; k++)
        l->rng.s[k] = cscalp_get_u64(r);
    l->since_train = cscalp_get_u64(r);
    l->train_info = cscalp_get_f64(r);
    const uint32_t serving = cscalp_get_u32(r);
    l->since_switch = cscalp_get_u64(r);
    l->since_decision = cscalp_get_u64(r);
    l->boost_remaining = cscalp_get_u64(r);
    l->drift_block_sum = cscalp_get_f64(r);
    l->drift_block_info = cscalp_get_f64(r);
    l->drift_block_count = cscalp_get_u32(r);
    if (r->failed || serving > 1 || (l->rng.s[0] | l->rng.s[1] | l->rng.s[2] | l->rng.s[3]) == 0)
        LOAD_FAIL("learner: the training schedule or random state is damaged");
    /* Shares are reset once they make a whole sample, each is at least
     * 1 / max_pending, and every loss lies in [0, -ln LOSS_FLOOR]. */
    const double max_loss = -log(LOSS_FLOOR);
    const uint32_t n = l->drift_block_count;
    if (!(l->train_info >= 0.0 && l->train_info < WHOLE_SAMPLE))
        LOAD_FAIL("learner: training shares %g outside [0, 1)", l->train_info);
    if (!(l->drift_block_info >= 0.0 && l->drift_block_info < WHOLE_SAMPLE) ||
        !(l->drift_block_sum >= 0.0 && l->drift_block_sum <= n * max_loss * (1.0 + 1e-12)) ||
        n > l->cfg.max_pending || (n == 0) != (l->drift_block_info == 0.0) ||
        (n == 0 && l->drift_block_sum != 0.0))
        LOAD_FAIL("learner: the drift block (%u losses, sum %g, shares %g) is damaged", n,
                  l->drift_block_sum, l->drift_block_info);
    l->serving_fallback = (int)serving;

    uint64_t steps = 0, refused = 0;
    uint64_t *const counters[] = {
        &l->samples_taken, &l->skipped_warmup, &l->skipped_no_mid, &l->dropped_pending,
        &l->dropped_reported, &l->matured, &l->unlabelled, &l->labels[0], &l->labels[1],
        &l->labels[2], &steps, &refused, &l->promotions, &l->rollbacks,
        &l->drift_alarms, &l->fallback_engaged, &l->fallback_released, &l->reported_steps,
        &l->reported_promotions, &l->reported_rollbacks, &l->events_lost};
    const uint32_t n_counters = cscalp_get_u32(r);
    if (r->failed || n_counters != sizeof counters / sizeof counters[0])
        LOAD_FAIL("learner: %u counters where this version keeps %zu", n_counters,
                  sizeof counters / sizeof counters[0]);
    for (size_t k = 0; k < sizeof counters / sizeof counters[0]; k++)
        *counters[k] = cscalp_get_u64(r);
    l->last_band_bps = cscalp_get_f64(r);
    atomic_store(&l->steps, steps);
    atomic_store(&l->refused_steps, refused);
    l->refused_handled = refused; /* rolled back before the save */
    atomic_store(&l->last_step_loss, cscalp_get_f64(r));
    l->now_ns = cscalp_get_i64(r);
    if (r->failed)
        LOAD_FAIL("learner: the section ends early");
    if (cscalp_rbuf_left(r) != 0)
        LOAD_FAIL("learner: %zu bytes after the last field", cscalp_rbuf_left(r));
    cscalp_nn_pack(l->live_packed, l->live);
    cscalp_nn_pack(l->challenger_packed, l->challenger);
    atomic_store(&l->replay_size, cscalp_replay_size(l->replay));
    atomic_store(&l->replay_added, cscalp_replay_added(l->replay));
    l->diverged = 0;
    l->event_head = l->event_count = 0;
    return CSCALP_OK;
}
