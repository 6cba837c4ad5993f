/* Events an engine refused, tallied by error code and event kind, with the
 * first detail message of each code: what the example hosts print at the
 * end of a replay. */
#ifndef CSCALP_EXAMPLES_REFUSALS_H
#define CSCALP_EXAMPLES_REFUSALS_H

#include <stdint.h>
#include <stdio.h>

#include "cryptoscalp.h"

/* Error codes are small negatives; this bounds the table. Row 0 collects
 * codes outside it. */
#define BCAP_REFUSAL_CODES 64
#define BCAP_REFUSAL_DETAIL 200

typedef struct bcap_refusals {
    uint64_t count[BCAP_REFUSAL_CODES][CSCALP_KIND_COUNT];
    char first_detail[BCAP_REFUSAL_CODES][BCAP_REFUSAL_DETAIL];
} bcap_refusals;

/* "trade", "quote", "book", "funding"; "?" for anything else. */
const char *bcap_kind_name(int kind);

/* Count one refusal of `code` for an event of `kind`; keeps the engine's
 * cscalp_last_error text when it is the code's first. */
void bcap_refusals_note(bcap_refusals *r, const cscalp_engine *engine, int code, int kind);

/* Refusals of the code in row `slot` (0: unknown codes, else -code), all kinds. */
uint64_t bcap_refusals_of(const bcap_refusals *r, int slot);

/* The name of the code in row `slot` ("CSCALP_EUNKNOWN" for row 0). */
const char *bcap_refusal_name(int slot);

/* One line per code and kind: "<prefix>refused <kind> <code>: <n> (first: <detail>)". */
void bcap_refusals_print(const bcap_refusals *r, FILE *out, const char *prefix);

#endif
