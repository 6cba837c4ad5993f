/* Byte streams for checkpoints: fixed-width little-endian integers and IEEE
 * floats, whatever the host's byte order, so a checkpoint means the same on
 * every machine.
 *
 * Writing appends to a growable buffer from the engine's allocator (saving is
 * not on the hot path). Reading never runs past the end: any short read sets
 * `failed`, and every later read returns zeros, so a loader can read a whole
 * section and check `failed` once. */
#ifndef CSCALP_UTIL_BYTES_H
#define CSCALP_UTIL_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"

typedef struct cscalp_wbuf {
    const cscalp_allocator *mem;
    uint8_t *data;
    size_t len, cap;
    int failed; /* an allocation failed; data holds what fitted before */
} cscalp_wbuf;

void cscalp_wbuf_init(cscalp_wbuf *w, const cscalp_allocator *mem);
void cscalp_wbuf_free(cscalp_wbuf *w);
void cscalp_put_bytes(cscalp_wbuf *w, const void *p, size_t n);
void cscalp_put_u8(cscalp_wbuf *w, uint8_t v);
void cscalp_put_u32(cscalp_wbuf *w, uint32_t v);
void cscalp_put_u64(cscalp_wbuf *w, uint64_t v);
void cscalp_put_i64(cscalp_wbuf *w, int64_t v);
void cscalp_put_f32(cscalp_wbuf *w, float v);
void cscalp_put_f64(cscalp_wbuf *w, double v);
void cscalp_put_f32s(cscalp_wbuf *w, const float *v, size_t n);
void cscalp_put_f64s(cscalp_wbuf *w, const double *v, size_t n);
/* Overwrite 4 bytes at `at` (< len) with v, little-endian (a length or CRC
 * known only after what follows was written). */
void cscalp_patch_u32(cscalp_wbuf *w, size_t at, uint32_t v);
void cscalp_patch_u64(cscalp_wbuf *w, size_t at, uint64_t v);

typedef struct cscalp_rbuf {
    const uint8_t *data;
    size_t len, pos;
    int failed; /* a read ran past the end */
} cscalp_rbuf;

void cscalp_rbuf_init(cscalp_rbuf *r, const void *data, size_t len);
/* Bytes left to read. */
size_t cscalp_rbuf_left(const cscalp_rbuf *r);
void cscalp_get_bytes(cscalp_rbuf *r, void *p, size_t n);
uint8_t cscalp_get_u8(cscalp_rbuf *r);
uint32_t cscalp_get_u32(cscalp_rbuf *r);
uint64_t cscalp_get_u64(cscalp_rbuf *r);
int64_t cscalp_get_i64(cscalp_rbuf *r);
float cscalp_get_f32(cscalp_rbuf *r);
double cscalp_get_f64(cscalp_rbuf *r);
void cscalp_get_f32s(cscalp_rbuf *r, float *v, size_t n);
void cscalp_get_f64s(cscalp_rbuf *r, double *v, size_t n);

#endif
