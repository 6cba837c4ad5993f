/* A small JSON writer into a caller's buffer that keeps counting past the end,
 * so every *_json API can report the size it needs (snprintf-style) without
 * allocating. */
#ifndef CSCALP_UTIL_JSON_WRITER_H
#define CSCALP_UTIL_JSON_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct cscalp_json_writer {
    char *buf;
    size_t cap;
    size_t len;      /* bytes the full output needs, without the NUL */
    int need_comma;  /* a value was written at the current nesting level */
} cscalp_json_writer;

void cscalp_jw_init(cscalp_json_writer *w, char *buf, size_t cap);
void cscalp_jw_begin_object(cscalp_json_writer *w, const char *key);
void cscalp_jw_end_object(cscalp_json_writer *w);
void cscalp_jw_begin_array(cscalp_json_writer *w, const char *key);
void cscalp_jw_end_array(cscalp_json_writer *w);
void cscalp_jw_uint(cscalp_json_writer *w, const char *key, uint64_t v);
void cscalp_jw_int(cscalp_json_writer *w, const char *key, int64_t v);
/* Shortest text that reads back as the same double; null when not finite. */
void cscalp_jw_double(cscalp_json_writer *w, const char *key, double v);
void cscalp_jw_bool(cscalp_json_writer *w, const char *key, int v);
void cscalp_jw_string(cscalp_json_writer *w, const char *key, const char *s);

/* NUL-terminate and report: CSCALP_OK, or CSCALP_EBUFFER when it did not fit
 * (the buffer then holds a truncated, NUL-terminated prefix when cap > 0). */
int cscalp_jw_finish(cscalp_json_writer *w, size_t *needed);

#endif
