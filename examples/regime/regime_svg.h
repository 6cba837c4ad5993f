/*
 * regime_svg.h — a regime path as a plain-text SVG: the close on a log
 * scale over time, the background of the price panel coloured by the MAP
 * state, a band underneath with the filtered posterior stacked (state 0 at
 * the bottom), date ticks, a legend with the state names, optional marks
 * (a dashed line and a label at a time).
 *
 * The drawing is decimated to pixel columns so the file stays small however
 * many bars there are: per column the price line keeps the lowest and the
 * highest close (in the order they came), the background takes the state
 * most bars of the column have (ties: the higher state, so that a short
 * violent burst is not hidden behind a calm one of equal length), and the
 * band the mean posterior of the column. Output depends only on the input.
 */
#ifndef REGIME_SVG_H
#define REGIME_SVG_H

#include <stddef.h>
#include <stdint.h>

#define REGIME_SVG_MAX_MARKS 16

typedef struct regime_svg_mark {
    int64_t time_ms;
    const char *label;
} regime_svg_mark;

typedef struct regime_svg {
    size_t n;                 /**< bars */
    const int64_t *time_ms;   /**< n, increasing */
    const double *close;      /**< n, > 0 */
    size_t first_ready;       /**< bars before it have no regime (warm-up) */
    uint32_t states;          /**< K */
    const double *posterior;  /**< n × K; rows before first_ready unused */
    const uint32_t *map;      /**< n; entries before first_ready unused */
    const char *const *state_names; /**< K */
    const char *title;
    const char *subtitle;     /**< NULL: none */
    const regime_svg_mark *marks;
    size_t n_marks;
} regime_svg;

/** 0, or -1 with `err` set (the file could not be written). */
int regime_svg_write(const char *path, const regime_svg *p, char *err, size_t cap);

/** Fill colour of state k of K ("#rrggbb", full strength or lightened for
 *  the background): green (calm) through amber to red (violent). */
void regime_svg_colour(uint32_t k, uint32_t states, int light, char out[8]);

#endif
