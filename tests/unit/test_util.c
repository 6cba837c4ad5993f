#include "test_util.h"

#include <stdio.h>
#include <string.h>

void capture_event(const cscalp_health_event *ev, void *user)
{
    captured_events *c = user;
    c->count++;
    c->last = *ev;
    snprintf(c->last_message, sizeof c->last_message, "%s", ev->message);
    c->last.message = c->last_message;
}

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
