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
/* bcap_push and bcap_event_ts (examples/common) push and time its events. */

#endif
