/* The tokeniser of the text fixtures in tests/fixtures (README there):
 * whitespace-separated tokens, '#' comments to the end of the line (also
 * right after a token), tokens terminated in place. `line` is the line of
 * the token last returned. Header-only, shared by the fixture readers. */
#ifndef CSCALP_TESTS_FIXTURE_LEXER_H
#define CSCALP_TESTS_FIXTURE_LEXER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct fx_lexer {
    char *p;
    int line;
    int newline_pending; /* the last token ended at a '\n' */
    int comment_pending; /* the last token ended at a '#' */
} fx_lexer;

static inline fx_lexer fx_lexer_init(char *text)
{
    fx_lexer lx = {text, 1, 0, 0};
    return lx;
}

/* Next token, or NULL at the end of the input. */
static inline char *fx_next_token(fx_lexer *lx)
{
    char *p = lx->p;
    lx->line += lx->newline_pending;
    lx->newline_pending = 0;
    if (lx->comment_pending)
        while (*p && *p != '\n')
            p++;
    lx->comment_pending = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            lx->line += *p++ == '\n';
        if (*p != '#')
            break;
        while (*p && *p != '\n')
            p++;
    }
    if (*p == '\0') {
        lx->p = p;
        return NULL;
    }
    char *tok = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '#')
        p++;
    if (*p) {
        lx->newline_pending = *p == '\n';
        lx->comment_pending = *p == '#';
        *p++ = '\0';
    }
    lx->p = p;
    return tok;
}

/* A section name: [a-z0-9_]+, shorter than `cap`. */
static inline int fx_is_name(const char *t, size_t cap)
{
    if (!*t || strlen(t) >= cap)
        return 0;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') || *t == '_'))
            return 0;
    return 1;
}

#if defined(__GNUC__)
#define FX_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define FX_PRINTF_LIKE(f, a)
#endif

/* A loader error naming the file and, when > 0, the line; returns -1. */
static inline int fx_fail(char *err, size_t cap, const char *path, int line, const char *fmt,
                          ...) FX_PRINTF_LIKE(5, 6);
static inline int fx_fail(char *err, size_t cap, const char *path, int line, const char *fmt,
                          ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(err, cap, "%s:%d: malformed fixture: %s", path, line, what);
    else
        snprintf(err, cap, "%s: malformed fixture: %s", path, what);
    return -1;
}

#endif
