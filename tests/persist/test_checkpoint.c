/* The checkpoint container in memory (src/persist/checkpoint.h, the format
 * in docs/checkpoint.md):
 * - round trip of several sections (an empty one among them), the bytes laid
 *   out exactly as the document says, a checkpoint after other bytes in the
 *   wbuf, the empty checkpoint;
 * - writer misuse refused (duplicate ids, unbalanced sections, bytes outside
 *   a section, too many sections) and sticky; allocation failure at every
 *   allocation;
 * - every truncation and every single-bit flip of a small checkpoint
 *   refused, and random damage never accepted, each from a buffer of exactly
 *   the damaged length so AddressSanitizer sees any read past it;
 * - each check after the header CRC reached with a resealed (CRC-valid)
 *   header, with its message: other version, big-endian, flags, reserved
 *   fields, duplicate ids, overlap, gap, out of bounds, trailing bytes,
 *   payload CRC;
 * - on every refusal the reader is left empty. */
#include <stdio.h>
#include <string.h>

#include "persist/checkpoint.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/bytes.h"
#include "util/crc32c.h"

#define WHY_CAP 256

static cscalp_allocator plain(void)
{
    cscalp_allocator a;
    cscalp_mem_init(&a, NULL);
    return a;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

static const char config_text[] = "{\"model\": {\"hidden_sizes\": [64, 64]}, \"seed\": 4242}";

/* The small checkpoint of the damage tests: three sections (a text, an empty
 * one, sixteen doubles), 132 header bytes + 51 + 0 + 128 = 311 bytes. The
 * caller frees w. */
static void build_small(cscalp_wbuf *w, const cscalp_allocator *mem)
{
    cscalp_wbuf_init(w, mem);
    cscalp_ckpt_writer cw;
    cscalp_ckpt_begin(&cw, w);
    ck_assert_int_eq(cscalp_ckpt_begin_section(&cw, 1), CSCALP_OK);
    cscalp_put_bytes(w, config_text, sizeof config_text - 1);
    ck_assert_int_eq(cscalp_ckpt_end_section(&cw), CSCALP_OK);
    ck_assert_int_eq(cscalp_ckpt_begin_section(&cw, 7), CSCALP_OK);
    ck_assert_int_eq(cscalp_ckpt_end_section(&cw), CSCALP_OK);
    ck_assert_int_eq(cscalp_ckpt_begin_section(&cw, 42), CSCALP_OK);
    for (int i = 0; i < 16; i++)
        cscalp_put_f64(w, 1.0 / (i + 1));
    ck_assert_int_eq(cscalp_ckpt_end_section(&cw), CSCALP_OK);
    ck_assert_int_eq(cscalp_ckpt_finish(&cw), CSCALP_OK);
    ck_assert_uint_eq(w->len, 311);
}

/* A copy of exactly n bytes on the heap, so reading past n is an ASan
 * error rather than a silent read of the original's next byte. */
static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n > 0 ? n : 1);
    ck_assert_ptr_nonnull(c);
    if (n > 0)
        memcpy(c, p, n);
    return c;
}

static int reader_is_empty(const cscalp_ckpt_reader *r)
{
    static const cscalp_ckpt_reader zero;
    return memcmp(r, &zero, sizeof zero) == 0;
}

/* Parse a copy of data[0, n) (poisoning the reader first, so "left empty"
 * is observed, not inherited). */
static int parse_copy(const uint8_t *data, size_t n, cscalp_ckpt_reader *r, char *why)
{
    uint8_t *c = exact_copy(data, n);
    memset(r, 0xAB, sizeof *r);
    why[0] = '\0';
    const int rc = cscalp_ckpt_parse(c, n, r, why, WHY_CAP);
    if (rc == CSCALP_OK)
        r->data = data; /* the copy goes; point at the caller's bytes */
    free(c);
    return rc;
}

#define ASSERT_WHY(why, text) \
    ck_assert_msg(strstr((why), (text)) != NULL, "message \"%s\" lacks \"%s\"", (why), (text))

/* Recompute the header CRC after a deliberate edit, as a writer that meant
 * the edited value would have. */
static void reseal(uint8_t *b)
{
    const uint32_t count = rd32(b + 16);
    const size_t header = CSCALP_CKPT_HEADER_SIZE(count);
    wr32(b + header - 4, cscalp_crc32c(0, b, header - 4));
}

static uint8_t *entry(uint8_t *b, uint32_t i) { return b + 32 + 32 * i; }

/* -------------------------------------------------------------- round trip */

START_TEST(round_trip_several_sections)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);

    cscalp_ckpt_reader r;
    char why[WHY_CAP];
    ck_assert_int_eq(cscalp_ckpt_parse(w.data, w.len, &r, why, sizeof why), CSCALP_OK);
    ck_assert_uint_eq(r.count, 3);
    ck_assert_uint_eq(r.sections[0].id, 1);
    ck_assert_uint_eq(r.sections[1].id, 7);
    ck_assert_uint_eq(r.sections[2].id, 42);

    cscalp_rbuf rb;
    ck_assert_int_eq(cscalp_ckpt_section(&r, 1, &rb, why, sizeof why), CSCALP_OK);
    ck_assert_uint_eq(rb.len, sizeof config_text - 1);
    ck_assert(memcmp(rb.data, config_text, rb.len) == 0);

    ck_assert_int_eq(cscalp_ckpt_section(&r, 7, &rb, why, sizeof why), CSCALP_OK);
    ck_assert_uint_eq(cscalp_rbuf_left(&rb), 0);
    ck_assert_int_eq(rb.failed, 0);

    ck_assert_int_eq(cscalp_ckpt_section(&r, 42, &rb, why, sizeof why), CSCALP_OK);
    for (int i = 0; i < 16; i++)
        ck_assert(cscalp_get_f64(&rb) == 1.0 / (i + 1));
    ck_assert_int_eq(rb.failed, 0);
    ck_assert_uint_eq(cscalp_rbuf_left(&rb), 0);

    /* Missing: refused with the id named, and a reader that only fails. */
    ck_assert_int_eq(cscalp_ckpt_section(&r, 99, &rb, why, sizeof why), CSCALP_ECORRUPT);
    ASSERT_WHY(why, "section id 99 missing");
    ck_assert_int_eq(rb.failed, 1);
    ck_assert_uint_eq(cscalp_get_u32(&rb), 0);
    ck_assert_int_eq(cscalp_ckpt_section(&r, 99, &rb, NULL, 0), CSCALP_ECORRUPT);
    cscalp_wbuf_free(&w);
}
END_TEST

/* The bytes exactly as docs/checkpoint.md lays them out. */
START_TEST(layout_matches_the_document)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    const uint8_t *b = w.data;
    ck_assert(memcmp(b, "CSCALPCK", 8) == 0);
    ck_assert_uint_eq(rd32(b + 8), 1);
    static const uint8_t bom[4] = {0x04, 0x03, 0x02, 0x01};
    ck_assert(memcmp(b + 12, bom, 4) == 0);
    ck_assert_uint_eq(rd32(b + 16), 3);
    ck_assert_uint_eq(rd32(b + 20), 0);
    ck_assert_uint_eq(rd64(b + 24), w.len);
    const uint64_t off[3] = {132, 132 + 51, 132 + 51};
    const uint64_t len[3] = {51, 0, 128};
    const uint32_t ids[3] = {1, 7, 42};
    for (uint32_t i = 0; i < 3; i++) {
        const uint8_t *e = b + 32 + 32 * i;
        ck_assert_uint_eq(rd32(e), ids[i]);
        ck_assert_uint_eq(rd32(e + 4), 0);
        ck_assert_uint_eq(rd64(e + 8), off[i]);
        ck_assert_uint_eq(rd64(e + 16), len[i]);
        ck_assert_uint_eq(rd32(e + 24), cscalp_crc32c(0, b + off[i], (size_t)len[i]));
        ck_assert_uint_eq(rd32(e + 28), 0);
    }
    ck_assert_uint_eq(CSCALP_CKPT_HEADER_SIZE(3), 132);
    ck_assert_uint_eq(rd32(b + 128), cscalp_crc32c(0, b, 128));
    ck_assert(memcmp(b + 132, config_text, 51) == 0);
    /* The empty section's CRC is the CRC of nothing. */
    ck_assert_uint_eq(rd32(b + 32 + 32 + 24), 0);
    cscalp_wbuf_free(&w);
}
END_TEST

START_TEST(empty_checkpoint)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_ckpt_writer cw;
    cscalp_ckpt_begin(&cw, &w);
    ck_assert_int_eq(cscalp_ckpt_finish(&cw), CSCALP_OK);
    ck_assert_uint_eq(w.len, 36);
    cscalp_ckpt_reader r;
    char why[WHY_CAP];
    ck_assert_int_eq(parse_copy(w.data, w.len, &r, why), CSCALP_OK);
    ck_assert_uint_eq(r.count, 0);
    cscalp_rbuf rb;
    ck_assert_int_eq(cscalp_ckpt_section(&r, 0, &rb, why, sizeof why), CSCALP_ECORRUPT);
    cscalp_wbuf_free(&w);
}
END_TEST

/* A checkpoint after other bytes in the same wbuf: those stay, and the
 * checkpoint is self-contained from cw.base on. */
START_TEST(checkpoint_after_other_bytes)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_put_bytes(&w, "prefix", 6);
    cscalp_ckpt_writer cw;
    cscalp_ckpt_begin(&cw, &w);
    ck_assert_uint_eq(cw.base, 6);
    ck_assert_int_eq(cscalp_ckpt_begin_section(&cw, 5), CSCALP_OK);
    cscalp_put_u64(&w, 0x1122334455667788ULL);
    ck_assert_int_eq(cscalp_ckpt_end_section(&cw), CSCALP_OK);
    ck_assert_int_eq(cscalp_ckpt_finish(&cw), CSCALP_OK);
    ck_assert(memcmp(w.data, "prefix", 6) == 0);
    cscalp_ckpt_reader r;
    char why[WHY_CAP];
    ck_assert_int_eq(parse_copy(w.data + 6, w.len - 6, &r, why), CSCALP_OK);
    cscalp_rbuf rb;
    ck_assert_int_eq(cscalp_ckpt_section(&r, 5, &rb, why, sizeof why), CSCALP_OK);
    ck_assert(cscalp_get_u64(&rb) == 0x1122334455667788ULL);
    cscalp_wbuf_free(&w);
}
END_TEST

/* A large section moves through the header insertion intact. */
START_TEST(large_section_round_trip)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_ckpt_writer cw;
    cscalp_ckpt_begin(&cw, &w);
    tu_rng g = {9};
    uint32_t ids[CSCALP_CKPT_MAX_SECTIONS];
    for (uint32_t s = 0; s < CSCALP_CKPT_MAX_SECTIONS; s++) {
        ids[s] = (uint32_t)tu_next(&g);
        ck_assert_int_eq(cscalp_ckpt_begin_section(&cw, ids[s]), CSCALP_OK);
        for (uint32_t i = 0; i < 1000 * s; i++)
            cscalp_put_u32(&w, ids[s] ^ i);
        ck_assert_int_eq(cscalp_ckpt_end_section(&cw), CSCALP_OK);
    }
    ck_assert_int_eq(cscalp_ckpt_finish(&cw), CSCALP_OK);
    cscalp_ckpt_reader r;
    char why[WHY_CAP];
    ck_assert_int_eq(cscalp_ckpt_parse(w.data, w.len, &r, why, sizeof why), CSCALP_OK);
    ck_assert_uint_eq(r.count, CSCALP_CKPT_MAX_SECTIONS);
    for (uint32_t s = CSCALP_CKPT_MAX_SECTIONS; s-- > 0;) {
        cscalp_rbuf rb;
        ck_assert_int_eq(cscalp_ckpt_section(&r, ids[s], &rb, why, sizeof why), CSCALP_OK);
        ck_assert_uint_eq(rb.len, 4000 * (size_t)s);
        for (uint32_t i = 0; i < 1000 * s; i++)
            ck_assert_uint_eq(cscalp_get_u32(&rb), ids[s] ^ i);
    }
    cscalp_wbuf_free(&w);
}
END_TEST

/* ------------------------------------------------------------ writer misuse */

START_TEST(duplicate_id_refused_and_sticky)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_ckpt_writer cw;
    cscalp_ckpt_begin(&cw, &w);
    ck_assert_int_eq(cscalp_ckpt_begin_section(&cw, 3), CSCALP_OK);
    ck_assert_int_eq(cscalp_ckpt_end_section(&cw), CSCALP_OK);
    ck_assert_int_eq(cscalp_ckpt_begin_section(&cw, 3), CSCALP_EINVAL);
    /* Sticky: a caller checking only finish still learns of it. */
    ck_assert_int_eq(cscalp_ckpt_begin_section(&cw, 4), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_ckpt_finish(&cw), CSCALP_EINVAL);
    cscalp_wbuf_free(&w);
}
END_TEST

static int misuse(int step)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    cscalp_wbuf_init(&w, &mem);
    cscalp_ckpt_writer cw;
    cscalp_ckpt_begin(&cw, &w);
    int rc = CSCALP_OK;
    switch (step) {
    case 0: /* end without begin */
        rc = cscalp_ckpt_end_section(&cw);
        break;
    case 1: /* begin inside a section */
        cscalp_ckpt_begin_section(&cw, 1);
        rc = cscalp_ckpt_begin_section(&cw, 2);
        break;
    case 2: /* finish inside a section */
        cscalp_ckpt_begin_section(&cw, 1);
        rc = cscalp_ckpt_finish(&cw);
        break;
    case 3: /* bytes between sections: no CRC would cover them */
        cscalp_ckpt_begin_section(&cw, 1);
        cscalp_ckpt_end_section(&cw);
        cscalp_put_u8(&w, 1);
        rc = cscalp_ckpt_begin_section(&cw, 2);
        break;
    case 4: /* bytes after the last section */
        cscalp_put_u8(&w, 1);
        rc = cscalp_ckpt_finish(&cw);
        break;
    case 5: /* use after finish */
        cscalp_ckpt_finish(&cw);
        rc = cscalp_ckpt_begin_section(&cw, 1);
        break;
    case 6: /* finish twice */
        cscalp_ckpt_finish(&cw);
        rc = cscalp_ckpt_finish(&cw);
        break;
    case 7: /* one section too many */
        for (uint32_t i = 0; i < CSCALP_CKPT_MAX_SECTIONS; i++) {
            ck_assert_int_eq(cscalp_ckpt_begin_section(&cw, i), CSCALP_OK);
            ck_assert_int_eq(cscalp_ckpt_end_section(&cw), CSCALP_OK);
        }
        rc = cscalp_ckpt_begin_section(&cw, CSCALP_CKPT_MAX_SECTIONS);
        break;
    default:
        ck_abort();
    }
    const int later = cscalp_ckpt_finish(&cw);
    cscalp_wbuf_free(&w);
    ck_assert_int_eq(later, rc);
    return rc;
}

START_TEST(writer_misuse_refused)
{
    for (int step = 0; step < 8; step++)
        ck_assert_msg(misuse(step) == CSCALP_EINVAL, "misuse %d accepted", step);
}
END_TEST

/* Every allocation the writer's wbuf makes, failed in turn: ENOMEM, never a
 * checkpoint, nothing leaked. */
START_TEST(allocation_failure_at_every_allocation)
{
    int failures = 0;
    for (long k = 1;; k++) {
        tu_alloc st = {0, 0, k};
        cscalp_allocator mem = tu_allocator(&st);
        cscalp_wbuf w;
        cscalp_wbuf_init(&w, &mem);
        cscalp_ckpt_writer cw;
        cscalp_ckpt_begin(&cw, &w);
        for (uint32_t s = 0; s < 4; s++) {
            cscalp_ckpt_begin_section(&cw, s);
            for (int i = 0; i < 3000; i++)
                cscalp_put_u32(&w, (uint32_t)i);
            cscalp_ckpt_end_section(&cw);
        }
        const int rc = cscalp_ckpt_finish(&cw);
        cscalp_wbuf_free(&w);
        ck_assert_int_eq(st.live, 0);
        if (rc == CSCALP_OK) {
            ck_assert_int_lt(st.calls, k);
            break;
        }
        ck_assert_int_eq(rc, CSCALP_ENOMEM);
        failures++;
    }
    ck_assert_int_gt(failures, 2);
}
END_TEST

/* ------------------------------------------------------------------ damage */

START_TEST(truncation_at_every_byte)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    cscalp_ckpt_reader r;
    char why[WHY_CAP];
    size_t cases = 0;
    for (size_t cut = 0; cut < w.len; cut++) {
        const int rc = parse_copy(w.data, cut, &r, why);
        ck_assert_msg(rc == CSCALP_ECORRUPT, "cut at %zu: %s (%s)", cut, cscalp_error_name(rc),
                      why);
        ck_assert(reader_is_empty(&r));
        ck_assert_msg(why[0] != '\0', "cut at %zu: no message", cut);
        if (cut >= 36) /* the fixed header is there: the lengths are named */
            ck_assert_msg(strstr(why, "truncated") != NULL, "cut at %zu: %s", cut, why);
        cases++;
    }
    ck_assert_int_eq(parse_copy(w.data, w.len, &r, why), CSCALP_OK);
    printf("truncation: %zu lengths of a %zu-byte checkpoint, all CSCALP_ECORRUPT\n", cases,
           w.len);
    cscalp_wbuf_free(&w);
}
END_TEST

START_TEST(every_single_bit_flip)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    cscalp_ckpt_reader r;
    char why[WHY_CAP];
    uint8_t *b = exact_copy(w.data, w.len);
    size_t cases = 0, corrupt = 0, version = 0;
    for (size_t i = 0; i < w.len; i++)
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            const int rc = parse_copy(b, w.len, &r, why);
            b[i] ^= (uint8_t)(1u << bit);
            ck_assert_msg(rc == CSCALP_ECORRUPT || rc == CSCALP_EVERSION,
                          "byte %zu bit %d: %s (%s)", i, bit, cscalp_error_name(rc), why);
            ck_assert(reader_is_empty(&r));
            ck_assert(why[0] != '\0');
            /* A flipped version bit is recognised as damage, not as a
             * checkpoint from another version. */
            if (i >= 8 && i < 12)
                ASSERT_WHY(why, "version field damaged");
            cases++;
            corrupt += rc == CSCALP_ECORRUPT;
            version += rc == CSCALP_EVERSION;
        }
    ck_assert(memcmp(b, w.data, w.len) == 0);
    printf("bit flips: %zu (%zu bytes x 8): %zu CSCALP_ECORRUPT, %zu CSCALP_EVERSION\n", cases,
           w.len, corrupt, version);
    free(b);
    cscalp_wbuf_free(&w);
}
END_TEST

/* Random overwrites of 1..8 bytes, plus random lengths: never accepted
 * unless the bytes are the original ones, never a crash or an overread. */
START_TEST(random_damage_never_accepted)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    cscalp_ckpt_reader r;
    char why[WHY_CAP];
    tu_rng g = {77};
    uint8_t *b = malloc(w.len + 16);
    ck_assert_ptr_nonnull(b);
    for (int t = 0; t < 20000; t++) {
        size_t n = w.len;
        memcpy(b, w.data, w.len);
        memset(b + w.len, 0, 16);
        const size_t edits = 1 + tu_below(&g, 8);
        for (size_t e = 0; e < edits; e++)
            b[tu_below(&g, w.len)] = (uint8_t)tu_next(&g);
        if (t % 4 == 0)
            n = tu_below(&g, w.len + 17);
        if (n == w.len && memcmp(b, w.data, n) == 0)
            continue;
        const int rc = parse_copy(b, n, &r, why);
        ck_assert_msg(rc == CSCALP_ECORRUPT || rc == CSCALP_EVERSION, "trial %d: %s", t,
                      cscalp_error_name(rc));
        ck_assert(reader_is_empty(&r));
    }
    free(b);
    cscalp_wbuf_free(&w);
}
END_TEST

/* ------------------------------------------- checks behind a valid header */

/* Parse a damaged copy of the small checkpoint, expecting `code` and a
 * message containing `text`. */
static void expect(const uint8_t *b, size_t n, int code, const char *text)
{
    cscalp_ckpt_reader r;
    char why[WHY_CAP];
    const int rc = parse_copy(b, n, &r, why);
    ck_assert_msg(rc == code, "want %s, got %s (%s)", cscalp_error_name(code),
                  cscalp_error_name(rc), why);
    ck_assert(reader_is_empty(&r));
    ASSERT_WHY(why, text);
}

START_TEST(other_version_refused)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    uint8_t *b = exact_copy(w.data, w.len);
    /* A version-2 writer with the same layout, CRC valid for what it wrote. */
    wr32(b + 8, 2);
    reseal(b);
    expect(b, w.len, CSCALP_EVERSION, "format version 2, this library reads 1");
    /* A future layout: after the 16-byte preamble nothing is version 1's. */
    memset(b + 16, 0xEE, w.len - 16);
    wr32(b + 8, 7);
    expect(b, w.len, CSCALP_EVERSION, "format version 7, this library reads 1");
    expect(b, 16, CSCALP_ECORRUPT, "truncated");
    expect(b, 36, CSCALP_EVERSION, "format version 7");
    /* The version field damaged in place: the header CRC shows it. */
    memcpy(b, w.data, w.len);
    wr32(b + 8, 0x101);
    expect(b, w.len, CSCALP_ECORRUPT, "version field damaged: reads 257");
    free(b);
    cscalp_wbuf_free(&w);
}
END_TEST

START_TEST(byte_order_mark_checked)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    uint8_t *b = exact_copy(w.data, w.len);
    /* The mark alone swapped. */
    wr32(b + 12, 0x04030201u);
    expect(b, w.len, CSCALP_EVERSION, "big-endian checkpoint");
    /* A big-endian writer: its version reads 0x01000000 here; the mark is
     * what names the problem. */
    static const uint8_t be_one[4] = {0, 0, 0, 1};
    memcpy(b + 8, be_one, 4);
    expect(b, w.len, CSCALP_EVERSION, "big-endian checkpoint");
    /* Any other mark is damage, even with the header resealed. */
    memcpy(b, w.data, w.len);
    wr32(b + 12, 0x01020305u);
    reseal(b);
    expect(b, w.len, CSCALP_ECORRUPT, "byte-order mark 0x01020305, expected 0x01020304");
    free(b);
    cscalp_wbuf_free(&w);
}
END_TEST

START_TEST(lengths_checked)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    const size_t n = w.len;
    uint8_t *b = malloc(n + 8);
    ck_assert_ptr_nonnull(b);

    /* Trailing bytes after an intact checkpoint. */
    memcpy(b, w.data, n);
    memcpy(b + n, "garbage!", 8);
    expect(b, n + 8, CSCALP_ECORRUPT, "has 319 bytes, the header says 311: 8 trailing bytes");
    expect(b, n - 1, CSCALP_ECORRUPT, "truncated: 310 bytes, the header says 311");

    /* Total length field disagreeing with a resealed header. */
    memcpy(b, w.data, n);
    wr64(b + 24, n + 100);
    reseal(b);
    expect(b, n, CSCALP_ECORRUPT, "truncated: 311 bytes, the header says 411");

    /* The file longer than the sections, with the total and header agreeing:
     * bytes no section (and so no CRC) covers. */
    memcpy(b, w.data, n);
    memcpy(b + n, "garbage!", 8);
    wr64(b + 24, n + 8);
    reseal(b);
    expect(b, n + 8, CSCALP_ECORRUPT, "8 bytes after the last section belong to none");

    /* Section count above the bound, and one that outgrows the file. */
    memcpy(b, w.data, n);
    wr32(b + 16, CSCALP_CKPT_MAX_SECTIONS + 1);
    expect(b, n, CSCALP_ECORRUPT, "section count 65, at most 64");
    wr32(b + 16, 0xFFFFFFFFu);
    expect(b, n, CSCALP_ECORRUPT, "section count 4294967295");
    wr32(b + 16, 20);
    expect(b, n, CSCALP_ECORRUPT, "the header of 20 sections alone has 676");
    free(b);
    cscalp_wbuf_free(&w);
}
END_TEST

START_TEST(flags_and_reserved_checked)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    uint8_t *b = exact_copy(w.data, w.len);
    wr32(b + 20, 1);
    reseal(b);
    expect(b, w.len, CSCALP_EVERSION, "flags 0x00000001");
    memcpy(b, w.data, w.len);
    wr32(entry(b, 1) + 4, 9);
    reseal(b);
    expect(b, w.len, CSCALP_ECORRUPT, "section 1 (id 7): reserved fields 0x00000009 0x00000000");
    memcpy(b, w.data, w.len);
    wr32(entry(b, 2) + 28, 1);
    reseal(b);
    expect(b, w.len, CSCALP_ECORRUPT, "section 2 (id 42): reserved fields");
    free(b);
    cscalp_wbuf_free(&w);
}
END_TEST

START_TEST(table_checked)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    uint8_t *b = exact_copy(w.data, w.len);

    /* Duplicate id. */
    wr32(entry(b, 2), 1);
    reseal(b);
    expect(b, w.len, CSCALP_ECORRUPT, "section 2 has id 1, as section 0 does");

    /* Overlap with the previous section, and with the header. */
    memcpy(b, w.data, w.len);
    wr64(entry(b, 2) + 8, rd64(entry(b, 2) + 8) - 1);
    wr64(entry(b, 2) + 16, rd64(entry(b, 2) + 16) + 1);
    reseal(b);
    expect(b, w.len, CSCALP_ECORRUPT, "section 2 (id 42): offset 182 overlaps the previous");
    memcpy(b, w.data, w.len);
    wr64(entry(b, 0) + 8, 0);
    reseal(b);
    expect(b, w.len, CSCALP_ECORRUPT, "section 0 (id 1): offset 0 overlaps the header");

    /* A gap: bytes outside every section. */
    memcpy(b, w.data, w.len);
    wr64(entry(b, 0) + 16, 50);
    reseal(b);
    expect(b, w.len, CSCALP_ECORRUPT, "section 1 (id 7): offset 183 leaves 1 bytes unchecked");

    /* Out of bounds, including lengths and offsets that overflow a sum. */
    memcpy(b, w.data, w.len);
    wr64(entry(b, 2) + 16, 129);
    reseal(b);
    expect(b, w.len, CSCALP_ECORRUPT, "section 2 (id 42): 129 bytes at offset 183 run past");
    wr64(entry(b, 2) + 16, UINT64_MAX);
    reseal(b);
    expect(b, w.len, CSCALP_ECORRUPT, "run past the end (311)");
    memcpy(b, w.data, w.len);
    wr64(entry(b, 1) + 8, UINT64_MAX);
    reseal(b);
    expect(b, w.len, CSCALP_ECORRUPT, "section 1 (id 7)");
    free(b);
    cscalp_wbuf_free(&w);
}
END_TEST

START_TEST(payload_crc_named)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    uint8_t *b = exact_copy(w.data, w.len);
    b[w.len - 1] ^= 0x40;
    const uint32_t got = cscalp_crc32c(0, b + 183, 128);
    char text[96];
    snprintf(text, sizeof text, "section 2 (id 42): CRC32C 0x%08x, expected 0x%08x", got,
             rd32(entry(b, 2) + 24));
    expect(b, w.len, CSCALP_ECORRUPT, text);
    memcpy(b, w.data, w.len);
    b[140] ^= 1;
    expect(b, w.len, CSCALP_ECORRUPT, "section 0 (id 1): CRC32C");
    memcpy(b, w.data, w.len);
    b[40] ^= 1;
    expect(b, w.len, CSCALP_ECORRUPT, "checkpoint header: CRC32C");
    free(b);
    cscalp_wbuf_free(&w);
}
END_TEST

START_TEST(not_a_checkpoint)
{
    const char text[] = "{\"this\": \"is JSON, not a checkpoint\"}";
    expect((const uint8_t *)text, sizeof text - 1, CSCALP_ECORRUPT, "not a checkpoint");
    expect((const uint8_t *)"CSC", 3, CSCALP_ECORRUPT, "truncated: 3 bytes");
    expect((const uint8_t *)"CSX", 3, CSCALP_ECORRUPT, "not a checkpoint");
    expect((const uint8_t *)"", 0, CSCALP_ECORRUPT, "not a checkpoint: 0 bytes");
}
END_TEST

START_TEST(argument_errors)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build_small(&w, &mem);
    cscalp_ckpt_reader r;
    char why[WHY_CAP];
    ck_assert_int_eq(cscalp_ckpt_parse(w.data, w.len, NULL, why, sizeof why), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_ckpt_parse(NULL, 5, &r, why, sizeof why), CSCALP_EINVAL);
    ck_assert(reader_is_empty(&r));
    ck_assert_int_eq(cscalp_ckpt_parse(NULL, 0, &r, why, sizeof why), CSCALP_ECORRUPT);
    /* No message buffer, or a tiny one: still the code, no overflow. */
    uint8_t *b = exact_copy(w.data, w.len);
    b[200] ^= 4;
    ck_assert_int_eq(cscalp_ckpt_parse(b, w.len, &r, NULL, 0), CSCALP_ECORRUPT);
    char tiny[8];
    ck_assert_int_eq(cscalp_ckpt_parse(b, w.len, &r, tiny, sizeof tiny), CSCALP_ECORRUPT);
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
    cscalp_rbuf rb;
    ck_assert_int_eq(cscalp_ckpt_section(NULL, 1, &rb, why, sizeof why), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_ckpt_section(&r, 1, NULL, why, sizeof why), CSCALP_EINVAL);
    free(b);
    cscalp_wbuf_free(&w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tr = tcase_create("round trip");
    tcase_set_timeout(tr, 600);
    tcase_add_test(tr, round_trip_several_sections);
    tcase_add_test(tr, layout_matches_the_document);
    tcase_add_test(tr, empty_checkpoint);
    tcase_add_test(tr, checkpoint_after_other_bytes);
    tcase_add_test(tr, large_section_round_trip);
    suite_add_tcase(s, tr);
    TCase *tw = tcase_create("writer");
    tcase_set_timeout(tw, 600);
    tcase_add_test(tw, duplicate_id_refused_and_sticky);
    tcase_add_test(tw, writer_misuse_refused);
    tcase_add_test(tw, allocation_failure_at_every_allocation);
    suite_add_tcase(s, tw);
    TCase *td = tcase_create("damage");
    tcase_set_timeout(td, 600);
    tcase_add_test(td, truncation_at_every_byte);
    tcase_add_test(td, every_single_bit_flip);
    tcase_add_test(td, random_damage_never_accepted);
    tcase_add_test(td, other_version_refused);
    tcase_add_test(td, byte_order_mark_checked);
    tcase_add_test(td, lengths_checked);
    tcase_add_test(td, flags_and_reserved_checked);
    tcase_add_test(td, table_checked);
    tcase_add_test(td, payload_crc_named);
    tcase_add_test(td, not_a_checkpoint);
    tcase_add_test(td, argument_errors);
    suite_add_tcase(s, td);
    return s;
}

int main(void) { return tu_run(suite()); }
