/* Helpers shared by the unit suites. */
#ifndef CSCALP_TEST_UTIL_H
#define CSCALP_TEST_UTIL_H

#include <check.h>
#include <stdlib.h>

#include "cryptoscalp.h"

/* Health events seen by a test's callback. */
typedef struct captured_events {
    int count;
    cscalp_health_event last;
    char last_message[256];
} captured_events;

void capture_event(const cscalp_health_event *ev, void *user);

/* Run one suite in fork mode and exit with the failure count. */
int run_suite(Suite *s);

#define NS_PER_S 1000000000LL

#endif
