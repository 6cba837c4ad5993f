#include "util/bytes.h"

#include <string.h>

#include "util/alloc.h"

void cscalp_wbuf_init(cscalp_wbuf *w, const cscalp_allocator *mem)
{
    memset(w, 0, sizeof *w);
    w->mem = mem;
}

void cscalp_wbuf_free(cscalp_wbuf *w)
{
    cscalp_mem_free(w->mem, w->data);
    w->data = NULL;
    w->len = w->cap = 0;
}

static int reserve(cscalp_wbuf *w, size_t n)
{
    if (w->failed)
        return 0;
    if (n <= w->cap - w->len)
        return 1;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2) {
            w->failed = 1;
            return 0;
        }
        cap *= 2;
    }
    uint8_t *grown = cscalp_mem_calloc(w->mem, cap, 1);
    if (grown == NULL) {
        w->failed = 1;
        return 0;
    }
    if (w->len)
        memcpy(grown, w->data, w->len);
    cscalp_mem_free(w->mem, w->data);
    w->data = grown;
    w->cap = cap;
    return 1;
}

void cscalp_put_bytes(cscalp_wbuf *w, const void *p, size_t n)
{
    if (n == 0 || !reserve(w, n))
        return;
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

void cscalp_put_u8(cscalp_wbuf *w, uint8_t v) { cscalp_put_bytes(w, &v, 1); }

void cscalp_put_u32(cscalp_wbuf *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    cscalp_put_bytes(w, b, 4);
}

void cscalp_put_u64(cscalp_wbuf *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    cscalp_put_bytes(w, b, 8);
}

void cscalp_put_i64(cscalp_wbuf *w, int64_t v) { cscalp_put_u64(w, (uint64_t)v); }

void cscalp_put_f32(cscalp_wbuf *w, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    cscalp_put_u32(w, u);
}

void cscalp_put_f64(cscalp_wbuf *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    cscalp_put_u64(w, u);
}

void cscalp_put_f32s(cscalp_wbuf *w, const float *v, size_t n)
{
    if (n > SIZE_MAX / 4 || !reserve(w, n * 4))
        return;
    for (size_t i = 0; i < n; i++)
        cscalp_put_f32(w, v[i]);
}

void cscalp_put_f64s(cscalp_wbuf *w, const double *v, size_t n)
{
    if (n > SIZE_MAX / 8 || !reserve(w, n * 8))
        return;
    for (size_t i = 0; i < n; i++)
        cscalp_put_f64(w, v[i]);
}

void cscalp_patch_u32(cscalp_wbuf *w, size_t at, uint32_t v)
{
    if (w->failed || at > w->len || w->len - at < 4)
        return;
    for (int i = 0; i < 4; i++)
        w->data[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

void cscalp_patch_u64(cscalp_wbuf *w, size_t at, uint64_t v)
{
    if (w->failed || at > w->len || w->len - at < 8)
        return;
    for (int i = 0; i < 8; i++)
        w->data[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

void cscalp_rbuf_init(cscalp_rbuf *r, const void *data, size_t len)
{
    r->data = data;
    r->len = data == NULL ? 0 : len;
    r->pos = 0;
    r->failed = 0;
}

size_t cscalp_rbuf_left(const cscalp_rbuf *r) { return r->failed ? 0 : r->len - r->pos; }

void cscalp_get_bytes(cscalp_rbuf *r, void *p, size_t n)
{
    if (r->failed || n > r->len - r->pos) {
        r->failed = 1;
        memset(p, 0, n);
        return;
    }
    memcpy(p, r->data + r->pos, n);
    r->pos += n;
}

uint8_t cscalp_get_u8(cscalp_rbuf *r)
{
    uint8_t v;
    cscalp_get_bytes(r, &v, 1);
    return v;
}

uint32_t cscalp_get_u32(cscalp_rbuf *r)
{
    uint8_t b[4];
    cscalp_get_bytes(r, b, 4);
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)b[i] << (8 * i);
    return v;
}

uint64_t cscalp_get_u64(cscalp_rbuf *r)
{
    uint8_t b[8];
    cscalp_get_bytes(r, b, 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

int64_t cscalp_get_i64(cscalp_rbuf *r) { return (int64_t)cscalp_get_u64(r); }

float cscalp_get_f32(cscalp_rbuf *r)
{
    const uint32_t u = cscalp_get_u32(r);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

double cscalp_get_f64(cscalp_rbuf *r)
{
    const uint64_t u = cscalp_get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

void cscalp_get_f32s(cscalp_rbuf *r, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = cscalp_get_f32(r);
}

void cscalp_get_f64s(cscalp_rbuf *r, double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = cscalp_get_f64(r);
}
