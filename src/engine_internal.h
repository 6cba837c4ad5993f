/* The engine's internals that tests reach (never exported): the stages an
 * engine holds, for checks the public API cannot make (weights unchanged). */
#ifndef CSCALP_ENGINE_INTERNAL_H
#define CSCALP_ENGINE_INTERNAL_H

#include "cryptoscalp.h"
#include "learn/learn.h"

const cscalp_learn *cscalp_engine_learner(const cscalp_engine *e);

/* Fault injection (docs/self-healing.md, "Fault injection"): provokes the
 * failures the public API cannot, in the internal library the tests link;
 * never exported. The others are provoked through the public API: a feed
 * gap (cscalp_tick with no data), poisoned events (cscalp_push_* of an
 * outlier), a burst of rejects (cscalp_on_order REJECTED), allocation
 * failure (cscalp_open_ex with a failing allocator).
 * CSCALP_OK, CSCALP_EINVAL (unknown fault), CSCALP_EUNSUPPORTED (a learner
 * thread fault without a running learner thread). */
typedef enum cscalp_fault {
    CSCALP_FAULT_NAN_GRADIENT = 1,       /* the next `count` training steps see a NaN */
    CSCALP_FAULT_EXPLODING_GRADIENT = 2, /* the next `count` steps see inputs ×1e4 */
    CSCALP_FAULT_CORRUPT_WEIGHTS = 3,    /* a NaN in the live network's weights */
    CSCALP_FAULT_LEARNER_STALL = 4,      /* async: the learner thread stops taking work
                                            (count 0 lets it go on) */
    CSCALP_FAULT_LEARNER_DEATH = 5,      /* async: the learner thread's loop exits */
    CSCALP_FAULT_WRITE_FAILURE = 6,      /* the next `count` checkpoint writes fail (ENOSPC) */
    CSCALP_FAULT_SKEW_WEIGHTS = 7        /* the live network's DOWN logits +10: finite but
                                            confidently wrong (worse than the fallback) */
} cscalp_fault;
int cscalp_fault_inject(cscalp_engine *e, int fault, uint32_t count);

#endif
