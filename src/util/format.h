/* Numbers in messages. */
#ifndef CSCALP_UTIL_FORMAT_H
#define CSCALP_UTIL_FORMAT_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* The shortest of %.15g and %.17g that reads back as v ("0.1", not
 * "0.10000000000000001"), so a message names the value the caller gave. */
static inline void cscalp_format_shortest(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, "%.15g", v);
    if (isfinite(v) && strtod(buf, NULL) != v)
        snprintf(buf, cap, "%.17g", v);
}

#endif
