/* Replay buffer (docs/learning.md, "Replay"): matured samples kept for
 * training, the newest replacing the oldest once full. A mini-batch mixes
 * samples drawn uniformly from the most recent ones (the market now) with
 * samples drawn in proportion to a priority (loss + 1e-3)^alpha from the
 * whole buffer (what the model still gets wrong), via a sum tree: O(log n)
 * per draw and per priority update, no allocation after create. */
#ifndef CSCALP_LEARN_REPLAY_H
#define CSCALP_LEARN_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"
#include "util/rng.h"

typedef struct cscalp_replay cscalp_replay;

typedef struct cscalp_replay_params {
    uint32_t capacity;       /* samples */
    uint32_t inputs;         /* floats per input vector */
    uint32_t regimes;        /* floats per regime posterior */
    uint32_t recent_window;  /* the "recent" part: this many newest samples */
    double recent_fraction;  /* of each batch drawn from the recent part */
    double priority_alpha;   /* 0 = uniform over the buffer */
} cscalp_replay_params;

int cscalp_replay_create(const cscalp_allocator *mem, const cscalp_replay_params *p,
                         cscalp_replay **out);
void cscalp_replay_destroy(cscalp_replay *r);
/* New mixing parameters (recent_window, recent_fraction, priority_alpha);
 * priorities are recomputed (O(capacity)). */
void cscalp_replay_set_mix(cscalp_replay *r, uint32_t recent_window, double recent_fraction,
                           double priority_alpha);

uint32_t cscalp_replay_size(const cscalp_replay *r);
uint64_t cscalp_replay_added(const cscalp_replay *r);

/* Add a sample with its first priority (the loss its prediction had). */
void cscalp_replay_add(cscalp_replay *r, const float *x, const float *regime, uint8_t label,
                       double loss);

/* Draw `batch` slot indices (size >= 1), then gather them into x (batch ×
 * inputs), regime (batch × regimes) and labels. */
void cscalp_replay_draw(cscalp_replay *r, cscalp_rng *rng, uint32_t batch, uint32_t *slots);
void cscalp_replay_gather(const cscalp_replay *r, const uint32_t *slots, uint32_t batch,
                          float *x, float *regime, uint8_t *labels);
/* The loss a slot had in the latest training step. */
void cscalp_replay_set_loss(cscalp_replay *r, uint32_t slot, double loss);

void cscalp_replay_save(const cscalp_replay *r, cscalp_wbuf *w);
int cscalp_replay_load(cscalp_replay *r, cscalp_rbuf *in, char *why, size_t cap);

#endif
