/* Health stage: health events, the host's callback and per-component status.
 * Events are delivered synchronously on the caller's thread, inside the API
 * call that caused them. */
#ifndef CSCALP_HEALTH_HEALTH_H
#define CSCALP_HEALTH_HEALTH_H

#include <stdint.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

typedef struct cscalp_health_state {
    cscalp_health_fn fn;
    void *user_data;
    int64_t degraded_hold_ns;
    uint64_t events_total;
    cscalp_component_health components[CSCALP_COMPONENT_COUNT];
    int has_warning[CSCALP_COMPONENT_COUNT];
    int64_t last_warning_ns[CSCALP_COMPONENT_COUNT];
    int failed[CSCALP_COMPONENT_COUNT];
} cscalp_health_state;

void cscalp_health_init(cscalp_health_state *h, int64_t degraded_hold_ns);

/* Record an event, update the component's status and counters, and call the
 * host's callback if one is registered. */
void cscalp_health_emit(cscalp_health_state *h, int64_t now_ns, int severity,
                        int component, int event, int error, int action,
                        const char *message);

/* Component status as of now_ns, into out[CSCALP_COMPONENT_COUNT]. */
void cscalp_health_snapshot(const cscalp_health_state *h, int64_t now_ns,
                            cscalp_component_health *out);

/* Checkpoints: counters and per-component status (the callback and the
 * hold time are the host's and the configuration's). Load leaves h
 * unchanged on CSCALP_ECORRUPT. */
void cscalp_health_save(const cscalp_health_state *h, cscalp_wbuf *w);
int cscalp_health_load(cscalp_health_state *h, cscalp_rbuf *r, char *why, size_t cap);

#endif
