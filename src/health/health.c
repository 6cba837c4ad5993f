#include "health/health.h"

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
    if (severity >= CSCALP_SEVERITY_CRITICAL)
        h->failed[component] = 1;

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
                            cscalp_component_health *out)
{
    for (int i = 0; i < CSCALP_COMPONENT_COUNT; i++) {
        out[i] = h->components[i];
        if (h->failed[i])
            out[i].status = CSCALP_STATUS_FAILED;
        else if (h->has_warning[i] &&
                 now_ns - h->last_warning_ns[i] < h->degraded_hold_ns)
            out[i].status = CSCALP_STATUS_DEGRADED;
        else
            out[i].status = CSCALP_STATUS_OK;
    }
}
