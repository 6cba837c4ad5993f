/* The engine's internals that tests reach (never exported): the stages an
 * engine holds, for checks the public API cannot make (weights unchanged). */
#ifndef CSCALP_ENGINE_INTERNAL_H
#define CSCALP_ENGINE_INTERNAL_H

#include "cryptoscalp.h"
#include "learn/learn.h"

const cscalp_learn *cscalp_engine_learner(const cscalp_engine *e);

#endif
