/* The backtest's equity chart: equity over time with the fills marked,
 * and the drawdown below it, as a self-contained SVG with labelled axes. */
#ifndef CSCALP_EXAMPLES_EQUITY_SVG_H
#define CSCALP_EXAMPLES_EQUITY_SVG_H

#include <stddef.h>

typedef struct equity_point {
    double t_s;    /* seconds of event time (any origin) */
    double equity; /* quote currency */
    int trade;     /* +1 a buy filled here, −1 a sell, 0 none */
} equity_point;

typedef struct equity_svg {
    const char *title;
    const equity_point *points; /* in time order */
    size_t count;
} equity_svg;

/* 0, or −1 with a message in err. */
int equity_svg_write(const char *path, const equity_svg *e, char *err, size_t cap);

#endif
