#include "util/json_writer.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptoscalp.h"

static void put(cscalp_json_writer *w, const char *s, size_t n)
{
    if (w->len < w->cap) {
        size_t room = w->cap - w->len;
        memcpy(w->buf + w->len, s, n < room ? n : room);
    }
    w->len += n;
}

static void puts_(cscalp_json_writer *w, const char *s) { put(w, s, strlen(s)); }

static void put_escaped(cscalp_json_writer *w, const char *s)
{
    put(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(w, esc, 2);
        } else if (*p < 0x20) {
            int n = snprintf(esc, sizeof esc, "\\u%04x", *p);
            put(w, esc, (size_t)n);
        } else {
            put(w, (const char *)p, 1);
        }
    }
    put(w, "\"", 1);
}

/* Comma and key for the next member (key NULL inside arrays). */
static void member(cscalp_json_writer *w, const char *key)
{
    if (w->need_comma)
        put(w, ",", 1);
    if (key != NULL) {
        put_escaped(w, key);
        put(w, ":", 1);
    }
    w->need_comma = 1;
}

void cscalp_jw_init(cscalp_json_writer *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf == NULL ? 0 : cap;
    w->len = 0;
    w->need_comma = 0;
}

void cscalp_jw_begin_object(cscalp_json_writer *w, const char *key)
{
    member(w, key);
    put(w, "{", 1);
    w->need_comma = 0;
}

void cscalp_jw_end_object(cscalp_json_writer *w)
{
    put(w, "}", 1);
    w->need_comma = 1;
}

void cscalp_jw_begin_array(cscalp_json_writer *w, const char *key)
{
    member(w, key);
    put(w, "[", 1);
    w->need_comma = 0;
}

void cscalp_jw_end_array(cscalp_json_writer *w)
{
    put(w, "]", 1);
    w->need_comma = 1;
}

void cscalp_jw_uint(cscalp_json_writer *w, const char *key, uint64_t v)
{
    char tmp[32];
    member(w, key);
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    put(w, tmp, (size_t)n);
}

void cscalp_jw_int(cscalp_json_writer *w, const char *key, int64_t v)
{
    char tmp[32];
    member(w, key);
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    put(w, tmp, (size_t)n);
}

void cscalp_jw_double(cscalp_json_writer *w, const char *key, double v)
{
    char tmp[40];
    member(w, key);
    if (!isfinite(v)) {
        puts_(w, "null");
        return;
    }
    /* Shortest of %.15g/%.16g/%.17g that round-trips: 0.1 prints as 0.1. */
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    put(w, tmp, (size_t)n);
}

void cscalp_jw_bool(cscalp_json_writer *w, const char *key, int v)
{
    member(w, key);
    puts_(w, v ? "true" : "false");
}

void cscalp_jw_string(cscalp_json_writer *w, const char *key, const char *s)
{
    member(w, key);
    put_escaped(w, s);
}

int cscalp_jw_finish(cscalp_json_writer *w, size_t *needed)
{
    if (needed != NULL)
        *needed = w->len;
    if (w->len < w->cap) {
        w->buf[w->len] = '\0';
        return CSCALP_OK;
    }
    if (w->cap > 0)
        w->buf[w->cap - 1] = '\0';
    return CSCALP_EBUFFER;
}
