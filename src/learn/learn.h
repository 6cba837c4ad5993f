/* Learning stage (docs/learning.md): decision samples and their delayed
 * labels, prequential scoring, the replay buffer, the challenger's training,
 * champion/challenger promotion, the fallback model and drift detection.
 *
 * The stage owns every model: the live network (serves signals), the
 * challenger (trains), the fallback logistic regression and the class prior.
 * The engine feeds it market progress and feature vectors; it never sees
 * the feed or the features. Everything is allocated at create; every call
 * after that is allocation-free.
 *
 * Call order for one market event at time t (the engine's job):
 *   cscalp_learn_before_event(t)     samples with a time horizon mature
 *   ... the feed applies the event ...
 *   cscalp_learn_on_mid(t, mid, ...)  quotes and books: event-horizon maturity
 *   cscalp_learn_sample_due(t) ? cscalp_learn_take_sample(t, x, regime)
 *   cscalp_learn_next_event(...)      health events raised meanwhile
 */
#ifndef CSCALP_LEARN_LEARN_H
#define CSCALP_LEARN_LEARN_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "learn/labels.h"
#include "nn/nn.h"
#include "util/bytes.h"
#include "util/json_writer.h"

typedef enum cscalp_learn_mode {
    CSCALP_LEARN_OFF = 0,
    CSCALP_LEARN_INLINE = 1,
    CSCALP_LEARN_ASYNC = 2
} cscalp_learn_mode;

/* Which model a prediction came from. */
typedef enum cscalp_learn_source {
    CSCALP_LEARN_NETWORK = 0,
    CSCALP_LEARN_FALLBACK = 1
} cscalp_learn_source;

typedef struct cscalp_learn_config {
    int mode; /* cscalp_learn_mode; fixed at create */
    cscalp_label_params label; /* fixed at create */
    /* fixed at create */
    uint32_t max_pending;
    uint32_t replay_capacity;
    uint32_t batch;
    uint32_t score_window;
    uint32_t async_queue;
    uint64_t seed;
    double drift_ph_delta_sigma, drift_ph_lambda_sigma, drift_adwin_delta;
    /* may change while running (cscalp_learn_set_config) */
    uint32_t sample_every_events; /* > 0: sample on the event clock */
    int64_t sample_interval_ns;
    uint32_t replay_recent;
    double replay_recent_fraction;
    double replay_priority_exponent;
    uint32_t min_replay;
    uint32_t train_every_samples;
    uint32_t train_steps;
    double learning_rate, l2, max_grad_norm;
    double promotion_margin_nats, rollback_margin_nats;
    double fallback_learning_rate, fallback_l2, fallback_margin_nats;
    double drift_lr_boost_factor;
    uint32_t drift_boost_samples;
    /* The supervisor's rows that live here (docs/self-healing.md); may
     * change while running. */
    double lr_cut_factor, lr_floor_factor;
    uint32_t lr_recover_steps;
    double explode_grad_norm;  /* 0: off */
    int64_t stall_wall_ns;     /* async: 0 = no watchdog */
    double shed_fraction;      /* async: queue fill that sheds load */
} cscalp_learn_config;

typedef struct cscalp_learn cscalp_learn;

/* `initial` holds the live network's parameters, or is NULL to initialise
 * them from cfg->seed (cscalp_nn_init_params); the challenger starts as a
 * copy. CSCALP_ENOMEM, or CSCALP_ECONFIG_RANGE / CSCALP_EUNSUPPORTED with
 * `why` naming the key. */
int cscalp_learn_create(const cscalp_allocator *mem, const cscalp_learn_config *cfg,
                        const cscalp_nn_arch *arch, const cscalp_nn_backend *backend,
                        const float *initial, cscalp_learn **out, char *why, size_t cap);
void cscalp_learn_destroy(cscalp_learn *l);
/* Async mode: start the learner thread, after any checkpoint was loaded
 * (no-op otherwise). CSCALP_ENOMEM with `why` when the system refuses. */
int cscalp_learn_start(cscalp_learn *l, char *why, size_t cap);
/* The keys that may change while running; the others are kept. */
void cscalp_learn_set_config(cscalp_learn *l, const cscalp_learn_config *cfg);
void cscalp_learn_set_backend(cscalp_learn *l, const cscalp_nn_backend *backend);

/* Market progress (see the call order above). */
void cscalp_learn_before_event(cscalp_learn *l, int64_t t_ns);
void cscalp_learn_on_mid(cscalp_learn *l, int64_t t_ns, double mid);
int cscalp_learn_sample_due(const cscalp_learn *l, int64_t t_ns);
/* Take a decision sample at t: x has arch.inputs floats, regime arch.experts.
 * `warm` 0 means the features are still warming up: the sample is skipped
 * (counted) but the clock moves on. */
void cscalp_learn_take_sample(cscalp_learn *l, int64_t t_ns, double half_spread_bps,
                              const float *x, const float *regime, int warm);

/* The serving model's prediction (the fallback's while it serves). */
typedef struct cscalp_learn_prediction {
    float probs[CSCALP_NN_CLASSES];
    int source;       /* cscalp_learn_source */
    uint64_t version; /* of the live network */
    int trained;      /* the live network has been promoted at least once */
} cscalp_learn_prediction;
void cscalp_learn_predict(cscalp_learn *l, const float *x, const float *regime,
                          cscalp_learn_prediction *out);

/* cscalp_adapt's work; fills the report's fields after `size`. */
void cscalp_learn_adapt(cscalp_learn *l, uint32_t budget_steps, cscalp_adapt_report *out);

/* --- Self-healing (docs/self-healing.md) ---
 *
 * The live network gave a non-finite output: if its weights are not finite,
 * restore the last good copy (the weights at the last promotion, load or
 * create), raising CSCALP_EVENT_WEIGHTS_RESTORED; 1 when restored. */
int cscalp_learn_heal_live(cscalp_learn *l);
/* Async mode: the learner thread's heartbeat. A thread that exited, or made
 * no progress for stall_wall_ns of the monotonic clock while work waits, is
 * stopped and a new one started from the live weights (events STALLED,
 * RESTARTED). Cheap when all is well: call it every few hundred events.
 * Returns 1 when it restarted the thread. */
int cscalp_learn_watchdog(cscalp_learn *l);
/* Conditions held now: CSCALP_SUPERVISOR_FALLBACK_SERVING, _LR_LOWERED,
 * _LEARNER_SHEDDING, _LEARNER_DOWN. */
uint32_t cscalp_learn_flags(const cscalp_learn *l);
/* The supervisor's learning-rate factor (1 when no cut is in force) and the
 * step count of the last cut or restore, for the engine's checkpoint
 * section. */
double cscalp_learn_lr_factor(const cscalp_learn *l);
uint64_t cscalp_learn_lr_changed_at_step(const cscalp_learn *l);
void cscalp_learn_set_lr_state(cscalp_learn *l, double factor, uint64_t changed_at_step);

/* Fault injection (tests only; src/engine_internal.h). */
enum {
    CSCALP_LEARN_FAULT_NAN_STEP = 1,  /* the next `count` steps see a NaN input */
    CSCALP_LEARN_FAULT_EXPLODE = 2,   /* the next `count` steps see a huge input */
    CSCALP_LEARN_FAULT_CORRUPT = 3,   /* a NaN in the live weights */
    CSCALP_LEARN_FAULT_STALL = 4,     /* async: the thread stops taking work (count 0: resumes) */
    CSCALP_LEARN_FAULT_DIE = 5,       /* async: the thread exits */
    CSCALP_LEARN_FAULT_SKEW = 6       /* the live network's DOWN logits +10: finite, wrong */
};
int cscalp_learn_fault(cscalp_learn *l, int fault, uint32_t count);

/* Health events raised by the stage, oldest first; 0 when none is left. The
 * message stays valid until the next call into the stage. */
typedef struct cscalp_learn_event {
    int severity, component, event, error, action;
    int64_t ts_ns;
    char message[200];
} cscalp_learn_event;
int cscalp_learn_next_event(cscalp_learn *l, cscalp_learn_event *out);

/* The "learn" object of cscalp_stats_json. */
void cscalp_learn_write_stats(const cscalp_learn *l, cscalp_json_writer *w);
uint64_t cscalp_learn_model_version(const cscalp_learn *l);
const float *cscalp_learn_live_params(const cscalp_learn *l);
/* The challenger as it trains (inline mode: the learner's own copy). */
const float *cscalp_learn_challenger_params(const cscalp_learn *l);
size_t cscalp_learn_param_count(const cscalp_learn *l);

/* Checkpoints: every piece of learning state, field by field. Loading is
 * for a freshly created stage not yet started (the engine discards it on
 * error) and checks every field (CSCALP_ECORRUPT with `why`). In async mode
 * saving drains the learner thread first (cscalp_adapt with no budget). */
int cscalp_learn_save(cscalp_learn *l, cscalp_wbuf *w);
int cscalp_learn_load(cscalp_learn *l, cscalp_rbuf *r, char *why, size_t cap);

#endif
