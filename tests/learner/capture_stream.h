/* The bundled Binance capture as an array of events, for the learner tests. */
#ifndef CSCALP_TESTS_CAPTURE_STREAM_H
#define CSCALP_TESTS_CAPTURE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "binance_capture.h"
#include "cryptoscalp.h"

typedef struct stream {
    bcap_event *ev;
    size_t n;
} stream;

/* examples/data/btcusdt_20240718.gz under CSCALP_SOURCE_ROOT; free s.ev. */
stream load_capture(void);
/* Push one event (the result is the test's to check elsewhere). */
void push_event(cscalp_engine *e, const bcap_event *ev);
int64_t event_ts(const bcap_event *ev);

#endif
