#include "health/health.h"

#include <stdio.h>
#include <string.h>

void cscalp_health_init(cscalp_health_state *h, int64_t degraded_hold_ns)
{
    memset(h, 0, sizeof *h);
    h->degraded_hold_ns = degraded_hold_ns;
}

void cscalp_health_emit(cscalp_health_state *h, int64_t now_ns, int severity,
                        int component, int event, int error, int action,
                        const char *message)
{
    cscalp_component_health *c = &h->components[component];
    c->last_event = event;
    c->last_error = error;
    c->last_severity = severity;
    c->last_event_ts_ns = now_ns;
    c->events++;
    h->events_total++;
    if (severity >= CSCALP_SEVERITY_WARNING) {
        h->has_warning[component] = 1;
        h->last_warning_ns[component] = now_ns;
    }

    if (h->fn != NULL) {
        cscalp_health_event ev;
        ev.size = (uint32_t)sizeof ev;
        ev.severity = severity;
        ev.component = component;
        ev.event = event;
        ev.error = error;
        ev.action = action;
        ev.ts_ns = now_ns;
        ev.message = message;
        h->fn(&ev, h->user_data);
    }
}

void cscalp_health_snapshot(const cscalp_health_state *h, int64_t now_ns,
                            const int *conditions, cscalp_component_health *out)
{
    for (int i = 0; i < CSCALP_COMPONENT_COUNT; i++) {
        out[i] = h->components[i];
        int status = conditions[i];
        if (status == CSCALP_STATUS_OK && h->has_warning[i] &&
            now_ns - h->last_warning_ns[i] < h->degraded_hold_ns)
            status = CSCALP_STATUS_DEGRADED;
        out[i].status = status;
    }
}

void cscalp_health_save(const cscalp_health_state *h, cscalp_wbuf *w)
{
    cscalp_put_u64(w, h->events_total);
    cscalp_put_u32(w, CSCALP_COMPONENT_COUNT);
    for (int c = 0; c < CSCALP_COMPONENT_COUNT; c++) {
        const cscalp_component_health *k = &h->components[c];
        cscalp_put_u32(w, (uint32_t)k->status);
        cscalp_put_u32(w, (uint32_t)k->last_event);
        cscalp_put_u32(w, (uint32_t)k->last_error);
        cscalp_put_u32(w, (uint32_t)k->last_severity);
        cscalp_put_i64(w, k->last_event_ts_ns);
        cscalp_put_u64(w, k->events);
        cscalp_put_u32(w, (uint32_t)h->has_warning[c]);
        cscalp_put_i64(w, h->last_warning_ns[c]);
    }
}

int cscalp_health_load(cscalp_health_state *h, cscalp_rbuf *r, char *why, size_t cap)
{
    cscalp_health_state next = *h;
    next.events_total = cscalp_get_u64(r);
    const uint32_t count = cscalp_get_u32(r);
    if (r->failed || count != CSCALP_COMPONENT_COUNT) {
        snprintf(why, cap, "health: %u components where this version has %d", count,
                 CSCALP_COMPONENT_COUNT);
        return CSCALP_ECORRUPT;
    }
    for (int c = 0; c < CSCALP_COMPONENT_COUNT; c++) {
        cscalp_component_health *k = &next.components[c];
        k->status = (int32_t)cscalp_get_u32(r);
        k->last_event = (int32_t)cscalp_get_u32(r);
        k->last_error = (int32_t)cscalp_get_u32(r);
        k->last_severity = (int32_t)cscalp_get_u32(r);
        k->last_event_ts_ns = cscalp_get_i64(r);
        k->events = cscalp_get_u64(r);
        const uint32_t has_warning = cscalp_get_u32(r);
        next.last_warning_ns[c] = cscalp_get_i64(r);
        if (r->failed || has_warning > 1 || k->status < CSCALP_STATUS_OK ||
            k->status > CSCALP_STATUS_FAILED || k->last_severity < 0 ||
            k->last_severity > CSCALP_SEVERITY_CRITICAL) {
            snprintf(why, cap, "health: component %d's status is damaged", c);
            return CSCALP_ECORRUPT;
        }
        next.has_warning[c] = (int)has_warning;
    }
    *h = next;
    return CSCALP_OK;
}
