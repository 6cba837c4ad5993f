/* The zip, LOBSTER and FXCM readers of examples/common.
 *
 * zip: members of a fixture written by CPython's zipfile (an independent
 * writer) and of archives written here at test time come back byte for byte;
 * CRC and size mismatches, truncation, unsupported features and garbage give
 * clean errors naming the file (every truncation and every flipped byte of a
 * small archive is tried: the reader either fails cleanly or returns the
 * original bytes, never wrong ones).
 *
 * LOBSTER and FXCM on the real files in $CSCALP_SHARED_DATA: counts against
 * constants computed with Python's zipfile/csv when this test was written,
 * and, at run time, against the raw CSV rows counted and classified here by
 * an independent parse; the trade side against the book (an execution at the
 * previous best ask must be buyer-initiated); every event accepted by a fresh
 * engine. Small synthetic files exercise every skip reason.
 *
 * Checks inside loops over events use `if (...) ck_abort_msg()`: a passing
 * ck_assert records its location through Check's pipe, which over hundreds
 * of thousands of events costs minutes. */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fxcm.h"
#include "lobster.h"
#include "zip_reader.h"

#define PATH_BYTES 4096
#define ERR_BYTES 1024

static char tmp_dir[1024]; /* short enough that tmp_dir/name fits PATH_BYTES */

/* ================================================================ buffers */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        ck_assert_ptr_nonnull(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_str(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put16(buf *b, unsigned v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    put(b, x, 2);
}

static void put32(buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(b, x, 4);
}

static void put64(buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

static void poke32(buf *b, size_t at, uint32_t v)
{
    b->p[at] = (unsigned char)v;
    b->p[at + 1] = (unsigned char)(v >> 8);
    b->p[at + 2] = (unsigned char)(v >> 16);
    b->p[at + 3] = (unsigned char)(v >> 24);
}

static uint32_t peek32(const buf *b, size_t at)
{
    return (uint32_t)b->p[at] | (uint32_t)b->p[at + 1] << 8 | (uint32_t)b->p[at + 2] << 16 |
           (uint32_t)b->p[at + 3] << 24;
}

static void buf_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ============================================================ files */

static const char *temp_path(char *out, const char *name)
{
    snprintf(out, PATH_BYTES, "%s/%s", tmp_dir, name);
    return out;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

static buf read_whole_file(const char *path)
{
    buf b = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    unsigned char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        put(&b, chunk, n);
    fclose(f);
    return b;
}

static void shared_path(char *out, const char *rel)
{
    snprintf(out, PATH_BYTES, "%s/%s", getenv("CSCALP_SHARED_DATA"), rel);
}

/* ======================================================= a tiny zip writer
 * Enough of APPNOTE to build the cases the reader must handle or refuse. */

typedef struct zw_member {
    const char *name;
    const void *data;
    size_t len;
    int method;          /* how the data are encoded: 0 stored, 8 deflate */
    int declared_method; /* written to the headers when > 0 (else `method`) */
    int descriptor;      /* flag bit 3: local CRC/sizes zero, descriptor after data */
    int zip64;           /* sizes and offset 0xFFFFFFFF, values in a ZIP64 extra */
    unsigned flags;      /* ORed into the general-purpose flags */
    size_t cut;          /* bytes cut off the end of the encoded data */
    size_t pad;          /* zero bytes appended to the encoded data */
} zw_member;

#define ZW_MAX 8
typedef struct zw_layout {
    size_t local[ZW_MAX];   /* local header offsets */
    size_t data[ZW_MAX];    /* encoded data offsets */
    size_t comp[ZW_MAX];    /* encoded data lengths */
    size_t central[ZW_MAX]; /* central entry offsets */
    size_t end;             /* end record offset */
} zw_layout;

static buf deflate_raw(const void *data, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    buf out = {0};
    uLong bound = deflateBound(&z, (uLong)n);
    out.p = malloc(bound + 1);
    out.cap = bound + 1;
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)n;
    z.next_out = out.p;
    z.avail_out = (uInt)bound;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.n = z.total_out;
    deflateEnd(&z);
    return out;
}

static buf zip_build(const zw_member *m, size_t count, int zip64_end, zw_layout *lay)
{
    buf z = {0};
    zw_layout l;
    memset(&l, 0, sizeof l);
    ck_assert_uint_le(count, ZW_MAX);
    uint32_t crcs[ZW_MAX];
    for (size_t i = 0; i < count; i++) {
        buf enc = {0};
        if (m[i].method == 8)
            enc = deflate_raw(m[i].data, m[i].len);
        else
            put(&enc, m[i].data, m[i].len);
        ck_assert_uint_le(m[i].cut, enc.n);
        enc.n -= m[i].cut;
        for (size_t k = 0; k < m[i].pad; k++)
            put(&enc, "", 1);
        crcs[i] = (uint32_t)crc32(crc32(0L, Z_NULL, 0), m[i].data, (uInt)m[i].len);
        unsigned method = m[i].declared_method > 0 ? (unsigned)m[i].declared_method
                                                   : (unsigned)m[i].method;
        unsigned flags = m[i].flags | (m[i].descriptor ? 8u : 0u);
        size_t name_len = strlen(m[i].name);

        l.local[i] = z.n;
        put32(&z, 0x04034b50);
        put16(&z, m[i].zip64 ? 45 : 20);
        put16(&z, flags);
        put16(&z, method);
        put16(&z, 0);    /* time */
        put16(&z, 0x21); /* 1980-01-01 */
        int zero = m[i].descriptor;
        put32(&z, zero ? 0 : crcs[i]);
        put32(&z, zero ? 0 : m[i].zip64 ? 0xFFFFFFFFu : (uint32_t)enc.n);
        put32(&z, zero ? 0 : m[i].zip64 ? 0xFFFFFFFFu : (uint32_t)m[i].len);
        put16(&z, (unsigned)name_len);
        put16(&z, m[i].zip64 ? 20 : 0);
        put(&z, m[i].name, name_len);
        if (m[i].zip64) {
            put16(&z, 1);
            put16(&z, 16);
            put64(&z, m[i].len);
            put64(&z, enc.n);
        }
        l.data[i] = z.n;
        l.comp[i] = enc.n;
        put(&z, enc.p, enc.n);
        if (m[i].descriptor) {
            put32(&z, 0x08074b50);
            put32(&z, crcs[i]);
            put32(&z, (uint32_t)enc.n);
            put32(&z, (uint32_t)m[i].len);
        }
        buf_free(&enc);
    }
    size_t cd_at = z.n;
    for (size_t i = 0; i < count; i++) {
        unsigned method = m[i].declared_method > 0 ? (unsigned)m[i].declared_method
                                                   : (unsigned)m[i].method;
        size_t name_len = strlen(m[i].name);
        l.central[i] = z.n;
        put32(&z, 0x02014b50);
        put16(&z, m[i].zip64 ? 45 : 20);
        put16(&z, m[i].zip64 ? 45 : 20);
        put16(&z, m[i].flags | (m[i].descriptor ? 8u : 0u));
        put16(&z, method);
        put16(&z, 0);
        put16(&z, 0x21);
        put32(&z, crcs[i]);
        put32(&z, m[i].zip64 ? 0xFFFFFFFFu : (uint32_t)l.comp[i]);
        put32(&z, m[i].zip64 ? 0xFFFFFFFFu : (uint32_t)m[i].len);
        put16(&z, (unsigned)name_len);
        put16(&z, m[i].zip64 ? 28 : 0);
        put16(&z, 0); /* comment */
        put16(&z, 0); /* disk */
        put16(&z, 0); /* internal attributes */
        put32(&z, 0); /* external attributes */
        put32(&z, m[i].zip64 ? 0xFFFFFFFFu : (uint32_t)l.local[i]);
        put(&z, m[i].name, name_len);
        if (m[i].zip64) {
            put16(&z, 1);
            put16(&z, 24);
            put64(&z, m[i].len);
            put64(&z, l.comp[i]);
            put64(&z, l.local[i]);
        }
    }
    size_t cd_size = z.n - cd_at;
    if (zip64_end) {
        size_t rec = z.n;
        put32(&z, 0x06064b50);
        put64(&z, 44);
        put16(&z, 45);
        put16(&z, 45);
        put32(&z, 0);
        put32(&z, 0);
        put64(&z, count);
        put64(&z, count);
        put64(&z, cd_size);
        put64(&z, cd_at);
        put32(&z, 0x07064b50);
        put32(&z, 0);
        put64(&z, rec);
        put32(&z, 1);
    }
    l.end = z.n;
    put32(&z, 0x06054b50);
    put16(&z, 0);
    put16(&z, 0);
    put16(&z, (unsigned)count);
    put16(&z, (unsigned)count);
    put32(&z, (uint32_t)cd_size);
    put32(&z, (uint32_t)cd_at);
    put16(&z, 0);
    if (lay)
        *lay = l;
    return z;
}

/* Write the archive to the temp folder under `name`; returns its path. */
static const char *zip_write(char *path, const char *name, const zw_member *m, size_t count,
                             int zip64_end, zw_layout *lay)
{
    buf z = zip_build(m, count, zip64_end, lay);
    temp_path(path, name);
    write_file(path, z.p, z.n);
    buf_free(&z);
    return path;
}

/* ============================================================ zip reading */

/* Read member `index` whole with zipr_read; 0 or the negative code, the
 * stream's or the open's error in err. */
static int read_member(const zipr_archive *a, size_t index, buf *out, char *err)
{
    zipr_stream *s = NULL;
    err[0] = '\0';
    int rc = zipr_stream_open(&s, a, index, err, ERR_BYTES);
    if (rc != ZIPR_OK) {
        if (s != NULL)
            ck_abort_msg("stream set on failure");
        return rc;
    }
    unsigned char chunk[4096];
    long n;
    while ((n = zipr_read(s, chunk, sizeof chunk)) > 0)
        put(out, chunk, (size_t)n);
    if (n < 0) {
        snprintf(err, ERR_BYTES, "%s", zipr_stream_error(s));
        if (zipr_read(s, chunk, sizeof chunk) != n)
            ck_abort_msg("error is not sticky");
    }
    zipr_stream_close(s);
    return (int)n;
}

/* Open `path` and read member `index`; both errors end up in err. */
static int read_path_member(const char *path, size_t index, buf *out, char *err)
{
    zipr_archive *a = NULL;
    int rc = zipr_open(&a, path, err, ERR_BYTES);
    if (rc != ZIPR_OK)
        return rc;
    rc = read_member(a, index, out, err);
    zipr_close(a);
    return rc;
}

static void expect_error(int rc, int want, const char *err, const char *path, const char *what)
{
    ck_assert_msg(rc == want, "got %s, want %s (%s)", zipr_error_name(rc), zipr_error_name(want),
                  err);
    ck_assert_msg(strstr(err, path) != NULL, "error does not name the file: %s", err);
    ck_assert_msg(strstr(err, what) != NULL, "error lacks \"%s\": %s", what, err);
}

/* The contents make_python_zip.py writes to deflated.csv. */
static buf expected_csv(void)
{
    buf b = {0};
    char line[128];
    for (int i = 0; i < 6000; i++) {
        char xs[41];
        memset(xs, 'x', (size_t)(i % 40));
        xs[i % 40] = '\0';
        snprintf(line, sizeof line, "%s%d,%d,%s", i ? "\r\n" : "", i, (i * 7919) % 100003, xs);
        put_str(&b, line);
    }
    return b;
}

START_TEST(python_fixture_members_and_contents)
{
    char path[PATH_BYTES], err[ERR_BYTES] = "";
    snprintf(path, sizeof path, "%s/tests/fixtures/zip/python_small.zip",
             getenv("CSCALP_SOURCE_ROOT"));
    zipr_archive *a = NULL;
    ck_assert_msg(zipr_open(&a, path, err, sizeof err) == ZIPR_OK, "%s", err);
    ck_assert_uint_eq(zipr_count(a), 4);
    ck_assert_str_eq(zipr_path(a), path);
    static const char *const names[4] = {"stored.txt", "deflated.csv", "empty.txt",
                                         "sub/blank_lines.txt"};
    static const unsigned methods[4] = {0, 8, 0, 8};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_str_eq(zipr_member_at(a, i)->name, names[i]);
        ck_assert_uint_eq(zipr_member_at(a, i)->method, methods[i]);
        ck_assert_int_eq(zipr_find(a, names[i]), (long)i);
    }
    ck_assert_int_eq(zipr_find(a, "missing.txt"), -1);
    ck_assert_ptr_null(zipr_member_at(a, 4));

    buf csv = expected_csv();
    const char *stored = "hello, stored member\nsecond line\n";
    struct {
        const void *p;
        size_t n;
    } want[4] = {{stored, strlen(stored)}, {csv.p, csv.n}, {"", 0}, {"a\n\n\nb\n", 6}};
    for (size_t i = 0; i < 4; i++) {
        buf got = {0};
        ck_assert_msg(read_member(a, i, &got, err) == 0, "%s", err);
        ck_assert_uint_eq(got.n, want[i].n);
        ck_assert_uint_eq(zipr_member_at(a, i)->size, want[i].n);
        ck_assert(got.n == 0 || memcmp(got.p, want[i].p, got.n) == 0);
        buf_free(&got);
    }

    /* The CSV line by line: CRLF stripped, the last line without newline,
     * across the reader's chunk boundary (193 KB > 128 KiB). */
    zipr_stream *s = NULL;
    ck_assert_int_eq(zipr_stream_open(&s, a, 1, err, sizeof err), ZIPR_OK);
    ck_assert_str_eq(zipr_stream_member(s), "deflated.csv");
    const char *line;
    size_t len;
    int rc;
    int i = 0;
    while ((rc = zipr_getline(s, &line, &len)) == 1) {
        char xs[41], expect[128];
        memset(xs, 'x', (size_t)(i % 40));
        xs[i % 40] = '\0';
        snprintf(expect, sizeof expect, "%d,%d,%s", i, (i * 7919) % 100003, xs);
        if (strcmp(line, expect) != 0 || len != strlen(expect))
            ck_abort_msg("line %d: \"%s\", want \"%s\"", i + 1, line, expect);
        i++;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(i, 6000);
    ck_assert_uint_eq(zipr_line_number(s), 6000);
    ck_assert_int_eq(zipr_getline(s, &line, &len), 0);
    zipr_stream_close(s);

    ck_assert_int_eq(zipr_stream_open(&s, a, 3, err, sizeof err), ZIPR_OK);
    static const char *const blank[4] = {"a", "", "", "b"};
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(zipr_getline(s, &line, &len), 1);
        ck_assert_str_eq(line, blank[k]);
    }
    ck_assert_int_eq(zipr_getline(s, &line, &len), 0);
    zipr_stream_close(s);

    ck_assert_int_eq(zipr_stream_open(&s, a, 2, err, sizeof err), ZIPR_OK);
    ck_assert_int_eq(zipr_getline(s, &line, &len), 0);
    zipr_stream_close(s);

    ck_assert_int_eq(zipr_stream_open(&s, a, 9, err, sizeof err), ZIPR_EINVAL);
    ck_assert_ptr_null(s);
    buf_free(&csv);
    zipr_close(a);
}
END_TEST

/* A text of `n` bytes with some structure, so deflate has work to do. */
static buf sample_text(size_t n, unsigned seed)
{
    buf b = {0};
    uint32_t x = seed * 2654435761u + 1;
    while (b.n < n) {
        char line[64];
        x = x * 1103515245u + 12345u;
        snprintf(line, sizeof line, "%u,%u.%02u,%s\n", (unsigned)b.n, x >> 20, (x >> 8) % 100,
                 (x & 1) ? "buy" : "sell");
        put(&b, line, strlen(line) < n - b.n ? strlen(line) : n - b.n);
    }
    return b;
}

/* Stored, deflated, with a data descriptor, with ZIP64 extra fields. */
START_TEST(writer_variants_round_trip)
{
    buf text = sample_text(300000, 7);
    zw_member m[5] = {
        {.name = "stored.csv", .data = text.p, .len = 1000, .method = 0},
        {.name = "deflated.csv", .data = text.p, .len = text.n, .method = 8},
        {.name = "descriptor.csv", .data = text.p, .len = 5000, .method = 8, .descriptor = 1},
        {.name = "zip64.csv", .data = text.p, .len = text.n, .method = 8, .zip64 = 1},
        {.name = "zip64_stored.csv", .data = text.p, .len = 77, .method = 0, .zip64 = 1,
         .descriptor = 1},
    };
    char path[PATH_BYTES], err[ERR_BYTES];
    zip_write(path, "variants.zip", m, 5, 0, NULL);
    zipr_archive *a = NULL;
    ck_assert_msg(zipr_open(&a, path, err, sizeof err) == ZIPR_OK, "%s", err);
    ck_assert_uint_eq(zipr_count(a), 5);
    for (size_t i = 0; i < 5; i++) {
        const zipr_member *zm = zipr_member_at(a, i);
        ck_assert_str_eq(zm->name, m[i].name);
        ck_assert_uint_eq(zm->size, m[i].len);
        buf got = {0};
        ck_assert_msg(read_member(a, i, &got, err) == 0, "%s: %s", m[i].name, err);
        ck_assert_uint_eq(got.n, m[i].len);
        ck_assert(memcmp(got.p, text.p, got.n) == 0);
        buf_free(&got);
    }
    zipr_close(a);

    /* No members at all is a valid archive. */
    zip_write(path, "empty.zip", NULL, 0, 0, NULL);
    ck_assert_msg(zipr_open(&a, path, err, sizeof err) == ZIPR_OK, "%s", err);
    ck_assert_uint_eq(zipr_count(a), 0);
    zipr_close(a);
    buf_free(&text);
}
END_TEST

/* Read every line of member 0 of a one-member archive holding `data`. */
static int all_lines(const char *name, const void *data, size_t n, int method,
                     const char **want, const size_t *want_len, int want_count)
{
    zw_member m = {.name = name, .data = data, .len = n, .method = method};
    char path[PATH_BYTES], err[ERR_BYTES];
    zip_write(path, "lines.zip", &m, 1, 0, NULL);
    zipr_archive *a = NULL;
    ck_assert_int_eq(zipr_open(&a, path, err, sizeof err), ZIPR_OK);
    zipr_stream *s = NULL;
    ck_assert_int_eq(zipr_stream_open(&s, a, 0, err, sizeof err), ZIPR_OK);
    const char *line;
    size_t len;
    int rc, k = 0;
    while ((rc = zipr_getline(s, &line, &len)) == 1) {
        ck_assert_int_lt(k, want_count);
        ck_assert_uint_eq(len, want_len[k]);
        ck_assert(memcmp(line, want[k], len) == 0);
        ck_assert(line[len] == '\0');
        k++;
        ck_assert_uint_eq(zipr_line_number(s), (uint64_t)k);
    }
    if (rc == 0)
        ck_assert_int_eq(k, want_count);
    zipr_stream_close(s);
    zipr_close(a);
    return rc;
}

START_TEST(line_reader_edges)
{
    {
        const char *w[] = {"a", "b"};
        size_t l[] = {1, 1};
        ck_assert_int_eq(all_lines("crlf", "a\r\nb\r\n", 6, 8, w, l, 2), 0);
        ck_assert_int_eq(all_lines("lf_no_last", "a\nb", 3, 0, w, l, 2), 0);
    }
    {
        const char *w[] = {""};
        size_t l[] = {0};
        ck_assert_int_eq(all_lines("only_newline", "\n", 1, 0, w, l, 1), 0);
        ck_assert_int_eq(all_lines("empty", "", 0, 8, w, l, 0), 0);
    }
    {
        const char *w[] = {"a\rb", "c"};
        size_t l[] = {3, 1};
        ck_assert_int_eq(all_lines("inner_cr", "a\rb\nc", 5, 8, w, l, 2), 0);
    }
    {
        const char *w[] = {"ab\0cd", "e"};
        size_t l[] = {5, 1};
        ck_assert_int_eq(all_lines("nul", "ab\0cd\ne\n", 8, 8, w, l, 2), 0);
    }
    {
        /* A line of 300,000 bytes spans several decompressed chunks. */
        size_t n = 300000;
        char *big = malloc(n + 3);
        memset(big, 'y', n);
        memcpy(big + n, "\nz", 3);
        const char *w[] = {big, "z"};
        size_t l[] = {n, 1};
        ck_assert_int_eq(all_lines("long", big, n + 2, 8, w, l, 2), 0);
        ck_assert_int_eq(all_lines("long_stored", big, n + 2, 0, w, l, 2), 0);
        free(big);
    }
}
END_TEST

START_TEST(overlong_line_is_an_error)
{
    size_t n = ZIPR_MAX_LINE + 1;
    char *big = malloc(n);
    memset(big, 'q', n);
    zw_member m = {.name = "huge.txt", .data = big, .len = n, .method = 8};
    char path[PATH_BYTES], err[ERR_BYTES];
    zip_write(path, "huge.zip", &m, 1, 0, NULL);
    free(big);
    zipr_archive *a = NULL;
    ck_assert_int_eq(zipr_open(&a, path, err, sizeof err), ZIPR_OK);
    zipr_stream *s = NULL;
    ck_assert_int_eq(zipr_stream_open(&s, a, 0, err, sizeof err), ZIPR_OK);
    const char *line;
    size_t len;
    ck_assert_int_eq(zipr_getline(s, &line, &len), ZIPR_EFORMAT);
    expect_error(ZIPR_EFORMAT, ZIPR_EFORMAT, zipr_stream_error(s), path, "huge.txt: line 1 is longer");
    ck_assert_int_eq(zipr_getline(s, &line, &len), ZIPR_EFORMAT);
    zipr_stream_close(s);
    zipr_close(a);
}
END_TEST

START_TEST(crc_and_size_mismatches_are_errors)
{
    buf text = sample_text(20000, 3);
    char path[PATH_BYTES], err[ERR_BYTES];
    for (int method = 0; method <= 8; method += 8) {
        zw_member m = {.name = "data.csv", .data = text.p, .len = text.n, .method = method};
        zw_layout l;
        buf z = zip_build(&m, 1, 0, &l);
        buf got = {0};

        /* CRC in the central directory off by one bit. */
        buf bad = {0};
        put(&bad, z.p, z.n);
        bad.p[l.central[0] + 16] ^= 1;
        temp_path(path, "crc.zip");
        write_file(path, bad.p, bad.n);
        int rc = read_path_member(path, 0, &got, err);
        expect_error(rc, ZIPR_EFORMAT, err, path, "data.csv: CRC-32 mismatch");
        buf_free(&got);

        /* A flipped data byte of a stored member: only the CRC can tell. */
        if (method == 0) {
            memcpy(bad.p, z.p, z.n);
            bad.p[l.data[0] + 1234] ^= 0x20;
            write_file(path, bad.p, bad.n);
            rc = read_path_member(path, 0, &got, err);
            expect_error(rc, ZIPR_EFORMAT, err, path, "CRC-32 mismatch");
            buf_free(&got);
        }

        /* Declared uncompressed size one too large, then one too small. */
        memcpy(bad.p, z.p, z.n);
        poke32(&bad, l.central[0] + 24, peek32(&z, l.central[0] + 24) + 1);
        temp_path(path, "size.zip");
        write_file(path, bad.p, bad.n);
        rc = read_path_member(path, 0, &got, err);
        expect_error(rc, ZIPR_EFORMAT, err, path,
                     method == 0 ? "stored member with" : "decompresses to 20000 bytes");
        buf_free(&got);
        if (method == 8) {
            memcpy(bad.p, z.p, z.n);
            poke32(&bad, l.central[0] + 24, peek32(&z, l.central[0] + 24) - 1);
            write_file(path, bad.p, bad.n);
            rc = read_path_member(path, 0, &got, err);
            expect_error(rc, ZIPR_EFORMAT, err, path, "inflates to more than the declared");
            buf_free(&got);
        }
        buf_free(&bad);
        buf_free(&z);
    }

    /* Deflate data cut short (sizes declared to match the cut data), and
     * deflate data followed by bytes the stream does not use. */
    zw_member cut = {.name = "cut.csv", .data = text.p, .len = text.n, .method = 8, .cut = 10};
    zip_write(path, "cut.zip", &cut, 1, 0, NULL);
    buf got = {0};
    int rc = read_path_member(path, 0, &got, err);
    expect_error(rc, ZIPR_EFORMAT, err, path, "cut.csv: deflate data stop before the stream ends");
    buf_free(&got);
    zw_member pad = {.name = "pad.csv", .data = text.p, .len = text.n, .method = 8, .pad = 5};
    zip_write(path, "pad.zip", &pad, 1, 0, NULL);
    rc = read_path_member(path, 0, &got, err);
    expect_error(rc, ZIPR_EFORMAT, err, path, "deflate data end 5 bytes before");
    buf_free(&got);
    buf_free(&text);
}
END_TEST

START_TEST(unsupported_features_are_refused)
{
    const char *data = "1,2,3\n";
    char path[PATH_BYTES], err[ERR_BYTES];
    buf got = {0};

    zw_member bzip2 = {.name = "b.csv", .data = data, .len = 6, .method = 0, .declared_method = 12};
    zip_write(path, "method12.zip", &bzip2, 1, 0, NULL);
    int rc = read_path_member(path, 0, &got, err);
    expect_error(rc, ZIPR_EUNSUPPORTED, err, path, "b.csv: compression method 12 is not supported");

    zw_member enc = {.name = "e.csv", .data = data, .len = 6, .method = 0, .flags = 1};
    zip_write(path, "encrypted.zip", &enc, 1, 0, NULL);
    rc = read_path_member(path, 0, &got, err);
    expect_error(rc, ZIPR_EUNSUPPORTED, err, path, "encrypted");

    zw_member plain = {.name = "p.csv", .data = data, .len = 6, .method = 8};
    zip_write(path, "zip64end.zip", &plain, 1, 1, NULL);
    zipr_archive *a = (zipr_archive *)&a;
    rc = zipr_open(&a, path, err, sizeof err);
    expect_error(rc, ZIPR_EUNSUPPORTED, err, path, "ZIP64 archive");
    ck_assert_ptr_null(a);

    zw_layout l;
    buf z = zip_build(&plain, 1, 0, &l);
    z.p[l.end + 4] = 1; /* number of this disk */
    temp_path(path, "split.zip");
    write_file(path, z.p, z.n);
    rc = zipr_open(&a, path, err, sizeof err);
    expect_error(rc, ZIPR_EUNSUPPORTED, err, path, "split");
    buf_free(&z);
    buf_free(&got);
}
END_TEST

START_TEST(garbage_and_missing_files_are_refused)
{
    char path[PATH_BYTES], err[ERR_BYTES];
    zipr_archive *a = NULL;
    temp_path(path, "text.zip");
    const char *text = "this is not a zip file\n";
    write_file(path, text, strlen(text));
    expect_error(zipr_open(&a, path, err, sizeof err), ZIPR_EFORMAT, err, path,
                 "no end of central directory record");
    write_file(path, "", 0);
    expect_error(zipr_open(&a, path, err, sizeof err), ZIPR_EFORMAT, err, path,
                 "no end of central directory record");
    expect_error(zipr_open(&a, "/nonexistent/x.zip", err, sizeof err), ZIPR_EIO, err,
                 "/nonexistent/x.zip", "cannot open");
    ck_assert_ptr_null(a);
    ck_assert_int_eq(zipr_open(NULL, path, err, sizeof err), ZIPR_EINVAL);
    zipr_close(NULL);
    zipr_stream_close(NULL);
    ck_assert_str_eq(zipr_error_name(42), "unknown zip reader code");
}
END_TEST

/* Every prefix of an archive: the end record is gone, so open must fail. */
START_TEST(every_truncation_is_a_clean_error)
{
    buf text = sample_text(3000, 5);
    zw_member m[2] = {{.name = "s.txt", .data = text.p, .len = 700, .method = 0},
                      {.name = "d.csv", .data = text.p, .len = text.n, .method = 8}};
    buf z = zip_build(m, 2, 0, NULL);
    char path[PATH_BYTES], err[ERR_BYTES];
    temp_path(path, "trunc.zip");
    for (size_t n = 0; n < z.n; n++) {
        write_file(path, z.p, n);
        zipr_archive *a = NULL;
        int rc = zipr_open(&a, path, err, sizeof err);
        if (rc != ZIPR_EFORMAT || a != NULL || !strstr(err, path))
            ck_abort_msg("prefix of %zu bytes: %s (%s)", n, zipr_error_name(rc), err);
    }
    buf_free(&z);
    buf_free(&text);
}
END_TEST

/* Every byte of a small archive flipped two ways: opening and reading
 * either fail with a message naming the file, or give the original bytes. */
START_TEST(flipped_bytes_never_give_wrong_data)
{
    buf text = sample_text(2000, 9);
    zw_member m[2] = {{.name = "s.txt", .data = text.p, .len = 600, .method = 0},
                      {.name = "d.csv", .data = text.p, .len = text.n, .method = 8}};
    buf z = zip_build(m, 2, 0, NULL);
    buf bad = {0};
    put(&bad, z.p, z.n);
    char path[PATH_BYTES], err[ERR_BYTES];
    temp_path(path, "flip.zip");
    static const unsigned char masks[2] = {0x01, 0xFF};
    uint64_t errors = 0, intact = 0;
    for (size_t pos = 0; pos < z.n; pos++) {
        for (int k = 0; k < 2; k++) {
            bad.p[pos] = (unsigned char)(z.p[pos] ^ masks[k]);
            write_file(path, bad.p, bad.n);
            bad.p[pos] = z.p[pos];
            zipr_archive *a = NULL;
            int rc = zipr_open(&a, path, err, sizeof err);
            if (rc != ZIPR_OK) {
                if (rc >= 0 || !strstr(err, path))
                    ck_abort_msg("byte %zu ^ %02x: open %s (%s)", pos, masks[k],
                                 zipr_error_name(rc), err);
                errors++;
                continue;
            }
            if (zipr_count(a) != 2)
                ck_abort_msg("byte %zu ^ %02x: %zu members", pos, masks[k], zipr_count(a));
            for (size_t i = 0; i < 2; i++) {
                buf got = {0};
                rc = read_member(a, i, &got, err);
                if (rc == 0) {
                    if (got.n != m[i].len || memcmp(got.p, m[i].data, got.n) != 0)
                        ck_abort_msg("byte %zu ^ %02x: member %zu read back different", pos,
                                     masks[k], i);
                    intact++;
                } else {
                    if (!strstr(err, path))
                        ck_abort_msg("byte %zu ^ %02x: member %zu: %s", pos, masks[k], i, err);
                    errors++;
                }
                buf_free(&got);
                /* The line reader over the same damage: no crash, same verdict. */
                zipr_stream *s = NULL;
                if (zipr_stream_open(&s, a, i, err, sizeof err) == ZIPR_OK) {
                    const char *line;
                    size_t len;
                    int lr;
                    while ((lr = zipr_getline(s, &line, &len)) == 1)
                        ;
                    if ((lr == 0) != (rc == 0))
                        ck_abort_msg("byte %zu ^ %02x: member %zu: read %d, getline %d", pos,
                                     masks[k], i, rc, lr);
                    zipr_stream_close(s);
                }
            }
            zipr_close(a);
        }
    }
    /* Both outcomes occur: the harmless fields (times, versions) and the
     * guarded ones. */
    ck_assert_uint_gt(errors, z.n);
    ck_assert_uint_gt(intact, 50);
    buf_free(&bad);
    buf_free(&z);
    buf_free(&text);
}
END_TEST

/* The real archives: every member's CRC verifies (LOBSTER members have data
 * descriptors, FXCM members ZIP64 extra fields). */
START_TEST(real_archives_verify)
{
    static const char *const files[] = {
        "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip",
        "lobster/LOBSTER_SampleFile_AAPL_2012-06-21_1.zip", "fx-eurusd/20140501_quote.zip",
        "fx-eurusd/20140504_quote.zip"};
    static const size_t members[] = {3, 3, 1, 1};
    char path[PATH_BYTES], err[ERR_BYTES];
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        shared_path(path, files[f]);
        zipr_archive *a = NULL;
        ck_assert_msg(zipr_open(&a, path, err, sizeof err) == ZIPR_OK, "%s", err);
        ck_assert_uint_eq(zipr_count(a), members[f]);
        for (size_t i = 0; i < zipr_count(a); i++) {
            buf got = {0};
            ck_assert_msg(read_member(a, i, &got, err) == 0, "%s", err);
            ck_assert_uint_eq(got.n, zipr_member_at(a, i)->size);
            buf_free(&got);
        }
        zipr_close(a);
    }
    /* Sizes from the ZIP64 extra field (the 32-bit fields read 0xFFFFFFFF). */
    shared_path(path, "fx-eurusd/20140501_quote.zip");
    zipr_archive *a = NULL;
    ck_assert_int_eq(zipr_open(&a, path, err, sizeof err), ZIPR_OK);
    ck_assert_str_eq(zipr_member_at(a, 0)->name, "20140501_eurusd_tick_quote.csv");
    ck_assert_uint_eq(zipr_member_at(a, 0)->size, 1318595);
    ck_assert_uint_eq(zipr_member_at(a, 0)->comp_size, 253327);
    zipr_close(a);
}
END_TEST

/* ================================================================ LOBSTER */

#define GOOG "lobster/LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"
#define AAPL "lobster/LOBSTER_SampleFile_AAPL_2012-06-21_1.zip"
/* 2012-06-21 00:00 UTC in ns since the epoch (Python's datetime). */
#define DAY_20120621_NS (INT64_C(1340236800) * INT64_C(1000000000))

/* Counted with Python's zipfile when this test was written. */
typedef struct lobster_facts {
    const char *file;
    uint64_t messages;
    uint64_t by_type[LOBSTER_TYPE_SLOTS];
    uint64_t trades;
    unsigned levels;
} lobster_facts;

static const lobster_facts lobster_expect[] = {
    {GOOG, 147916, {0, 71258, 19, 64961, 7765, 3913, 0, 0}, 11678, 10},
    {AAPL, 118497, {0, 54818, 252, 28437, 23658, 11332, 0, 0}, 34990, 1},
};


static lobster_reader *open_lobster(const char *path, unsigned levels, int skip_trades)
{
    lobster_options o;
    lobster_options_init(&o);
    o.book_levels = levels;
    o.skip_trades = skip_trades;
    o.log = stderr;
    lobster_reader *r = NULL;
    char err[ERR_BYTES] = "";
    int rc = lobster_open(&r, path, &o, err, sizeof err);
    ck_assert_msg(rc == BCAP_OK, "cannot open %s: %s", path, err);
    return r;
}

static uint64_t sum(const uint64_t *v, int n)
{
    uint64_t s = 0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s;
}

START_TEST(lobster_counts_match_python)
{
    const lobster_facts *f = &lobster_expect[_i];
    char path[PATH_BYTES];
    shared_path(path, f->file);
    lobster_reader *r = open_lobster(path, 10, 0);
    ck_assert_uint_eq(lobster_file_levels(r), f->levels);
    ck_assert_int_eq(lobster_day_start_ns(r), DAY_20120621_NS);
    ck_assert_str_eq(lobster_ticker(r), _i == 0 ? "GOOG" : "AAPL");
    bcap_event ev;
    uint64_t n[CSCALP_KIND_COUNT] = {0};
    int rc;
    while ((rc = lobster_next(r, &ev)) == 1)
        n[ev.kind]++;
    ck_assert_msg(rc == 0, "%s", lobster_last_error(r));
    const lobster_counters *c = lobster_get_counters(r);
    ck_assert_uint_eq(c->messages, f->messages);
    for (int t = 0; t < LOBSTER_TYPE_SLOTS; t++)
        ck_assert_uint_eq(c->by_type[t], f->by_type[t]);
    /* Every message gives a book state the engine accepts: nothing skipped. */
    for (int k = 0; k < LOBSTER_SKIP_COUNT; k++)
        ck_assert_msg(c->skipped[k] == 0, "%s: %" PRIu64, lobster_skip_name(k), c->skipped[k]);
    ck_assert_uint_eq(n[CSCALP_KIND_BOOK], f->messages);
    ck_assert_uint_eq(n[CSCALP_KIND_TRADE], f->trades);
    ck_assert_uint_eq(c->events[CSCALP_KIND_BOOK], f->messages);
    ck_assert_uint_eq(c->events[CSCALP_KIND_TRADE], f->trades);
    ck_assert_uint_eq(n[CSCALP_KIND_QUOTE] + n[CSCALP_KIND_FUNDING], 0);
    ck_assert_int_eq(lobster_next(r, &ev), 0);
    lobster_close(r);
}
END_TEST

/* The expectation computed here, not copied: rows of the raw message CSV
 * (through the zip line reader) and executions by a plain sscanf of the type
 * column, against what the reader emitted plus what it skipped. */
START_TEST(lobster_counts_match_raw_rows)
{
    char path[PATH_BYTES], err[ERR_BYTES];
    shared_path(path, lobster_expect[_i].file);
    zipr_archive *a = NULL;
    ck_assert_int_eq(zipr_open(&a, path, err, sizeof err), ZIPR_OK);
    uint64_t rows = 0, executions = 0, book_rows = 0;
    for (size_t i = 0; i < zipr_count(a); i++) {
        const char *name = zipr_member_at(a, i)->name;
        int is_msg = strstr(name, "_message_") != NULL;
        if (!is_msg && !strstr(name, "_orderbook_"))
            continue;
        zipr_stream *s = NULL;
        ck_assert_int_eq(zipr_stream_open(&s, a, i, err, sizeof err), ZIPR_OK);
        const char *line;
        size_t len;
        int rc;
        while ((rc = zipr_getline(s, &line, &len)) == 1) {
            if (!is_msg) {
                book_rows++;
                continue;
            }
            double t;
            int type;
            if (sscanf(line, "%lf,%d,", &t, &type) != 2)
                ck_abort_msg("row %" PRIu64 " unreadable: %s", rows + 1, line);
            rows++;
            executions += type == 4 || type == 5;
        }
        ck_assert_int_eq(rc, 0);
        zipr_stream_close(s);
    }
    zipr_close(a);
    ck_assert_uint_eq(book_rows, rows);

    lobster_reader *r = open_lobster(path, 10, 0);
    bcap_event ev;
    uint64_t trades = 0, books = 0;
    while (lobster_next(r, &ev) == 1) {
        trades += ev.kind == CSCALP_KIND_TRADE;
        books += ev.kind == CSCALP_KIND_BOOK;
    }
    const lobster_counters *c = lobster_get_counters(r);
    uint64_t row_skips = sum(c->skipped, LOBSTER_SKIP_COUNT) - c->skipped[LOBSTER_SKIP_BAD_TRADE];
    ck_assert_uint_eq(c->messages, rows);
    ck_assert_uint_eq(books + row_skips, rows);
    ck_assert_uint_eq(trades + c->skipped[LOBSTER_SKIP_BAD_TRADE], executions);
    lobster_close(r);
}
END_TEST

static void check_book(const cscalp_book *b, uint32_t levels, uint64_t at)
{
    if (b->bid_count != levels || b->ask_count != levels)
        ck_abort_msg("book %" PRIu64 ": %u x %u levels, want %u", at, b->bid_count, b->ask_count,
                     levels);
    for (uint32_t i = 0; i < levels; i++) {
        if (!(b->bids[i].price > 0.0 && b->bids[i].size > 0.0 && b->asks[i].price > 0.0 &&
              b->asks[i].size > 0.0))
            ck_abort_msg("book %" PRIu64 ": level %u not positive", at, i);
        if (i > 0 && !(b->bids[i].price < b->bids[i - 1].price &&
                       b->asks[i].price > b->asks[i - 1].price))
            ck_abort_msg("book %" PRIu64 ": level %u out of order", at, i);
    }
    if (!(b->bids[0].price < b->asks[0].price))
        ck_abort_msg("book %" PRIu64 ": crossed or locked", at);
}

/* Event order and the side rule. Each message gives its trade, then its
 * book, with one ts; time never goes back. Side, checked against the book
 * rather than the direction column: a trade at the previous best ask lifted
 * the ask (BUY), at the previous best bid hit the bid (SELL). In GOOG every
 * visible execution is at one of the two (Python: 4030 at the ask, all of
 * direction -1; 3734 at the bid, all +1; hidden ones trade inside). */
START_TEST(goog_events_in_order_and_side_follows_the_book)
{
    char path[PATH_BYTES];
    shared_path(path, GOOG);
    lobster_reader *r = open_lobster(path, 10, 0);
    bcap_event ev;
    static cscalp_book prev;
    int have_prev = 0, trade_pending = 0;
    int64_t last_ts = INT64_MIN, trade_ts = 0;
    uint64_t books = 0, at_ask = 0, at_bid = 0, inside = 0;
    while (lobster_next(r, &ev) == 1) {
        int64_t ts = bcap_event_ts(&ev);
        if (ts < last_ts)
            ck_abort_msg("event after book %" PRIu64 ": time goes back", books);
        last_ts = ts;
        if (ev.kind == CSCALP_KIND_TRADE) {
            if (trade_pending)
                ck_abort_msg("two trades without a book between (book %" PRIu64 ")", books);
            trade_pending = 1;
            trade_ts = ts;
            if (!(ev.trade.size > 0.0) || ev.trade.trade_id != 0 || ev.trade.flags != 0)
                ck_abort_msg("trade after book %" PRIu64 ": bad fields", books);
            if (have_prev && ev.trade.price == prev.asks[0].price) {
                at_ask++;
                if (ev.trade.side != CSCALP_SIDE_BUY)
                    ck_abort_msg("trade at the best ask after book %" PRIu64 " is not BUY", books);
            } else if (have_prev && ev.trade.price == prev.bids[0].price) {
                at_bid++;
                if (ev.trade.side != CSCALP_SIDE_SELL)
                    ck_abort_msg("trade at the best bid after book %" PRIu64 " is not SELL", books);
            } else {
                inside++;
            }
            continue;
        }
        if (ev.kind != CSCALP_KIND_BOOK)
            ck_abort_msg("unexpected event kind %d", ev.kind);
        if (trade_pending && trade_ts != ts)
            ck_abort_msg("book %" PRIu64 " has another ts than its trade", books);
        trade_pending = 0;
        check_book(&ev.book, 10, books);
        prev = ev.book;
        have_prev = 1;
        books++;
    }
    ck_assert_uint_eq(books, 147916);
    ck_assert_uint_eq(at_ask, 4030);
    ck_assert_uint_eq(at_bid, 3734);
    ck_assert_uint_eq(inside, 11678 - 4030 - 3734);
    lobster_close(r);
}
END_TEST

typedef struct want_trade {
    uint64_t message; /* 0-based row of the message file */
    int64_t ns;       /* after midnight */
    double price, size;
    int side;
} want_trade;

/* Rows read off the raw CSV with Python:
 *   0: 34200.015105074,4,15818974,4,5794000,1   visible, buy order hit
 *   2: 34200.113246707,5,0,1,5795100,1          hidden, buy order hit
 *  49: 34200.207763353,4,16167456,1,5794000,-1  visible, sell order lifted
 *  54: 34200.35865663,5,0,4,5797300,-1          hidden, sell order lifted
 * 147890: 57598.957742351,4,287107097,100,5653500,1  the last execution */
START_TEST(goog_hand_picked_rows)
{
    static const want_trade want[] = {
        {0, INT64_C(34200015105074), 579.40, 4, CSCALP_SIDE_SELL},
        {2, INT64_C(34200113246707), 579.51, 1, CSCALP_SIDE_SELL},
        {49, INT64_C(34200207763353), 579.40, 1, CSCALP_SIDE_BUY},
        {54, INT64_C(34200358656630), 579.73, 4, CSCALP_SIDE_BUY},
        {147890, INT64_C(57598957742351), 565.35, 100, CSCALP_SIDE_SELL},
    };
    char path[PATH_BYTES];
    shared_path(path, GOOG);
    lobster_reader *r = open_lobster(path, 10, 0);
    bcap_event ev;
    uint64_t message = 0; /* books so far = index of the current message */
    size_t k = 0;
    static cscalp_book first, last;
    while (lobster_next(r, &ev) == 1) {
        if (ev.kind == CSCALP_KIND_BOOK) {
            if (message == 0)
                first = ev.book;
            last = ev.book;
            message++;
            continue;
        }
        if (k < sizeof want / sizeof want[0] && want[k].message == message) {
            ck_assert_int_eq(ev.trade.ts_ns, DAY_20120621_NS + want[k].ns);
            ck_assert_double_eq_tol(ev.trade.price, want[k].price, 1e-9);
            ck_assert_double_eq(ev.trade.size, want[k].size);
            ck_assert_int_eq(ev.trade.side, want[k].side);
            k++;
        }
    }
    ck_assert_uint_eq(k, sizeof want / sizeof want[0]);
    /* First order-book row: 5802300,100,5794000,496,5804300,100,5787000,400,... */
    ck_assert_int_eq(first.ts_ns, DAY_20120621_NS + INT64_C(34200015105074));
    ck_assert_double_eq_tol(first.asks[0].price, 580.23, 1e-9);
    ck_assert_double_eq(first.asks[0].size, 100);
    ck_assert_double_eq_tol(first.bids[0].price, 579.40, 1e-9);
    ck_assert_double_eq(first.bids[0].size, 496);
    ck_assert_double_eq_tol(first.asks[1].price, 580.43, 1e-9);
    ck_assert_double_eq_tol(first.bids[1].price, 578.70, 1e-9);
    ck_assert_double_eq(first.bids[1].size, 400);
    /* Last row: 5652200,42,5651200,200, ..., 5657500,100,5649100,100 after
     * 57599.871751084. */
    ck_assert_int_eq(last.ts_ns, DAY_20120621_NS + INT64_C(57599871751084));
    ck_assert_double_eq_tol(last.asks[0].price, 565.22, 1e-9);
    ck_assert_double_eq(last.asks[0].size, 42);
    ck_assert_double_eq_tol(last.bids[0].price, 565.12, 1e-9);
    ck_assert_double_eq(last.bids[0].size, 200);
    ck_assert_double_eq_tol(last.asks[9].price, 565.75, 1e-9);
    ck_assert_double_eq_tol(last.bids[9].price, 564.91, 1e-9);
    ck_assert_double_eq(last.bids[9].size, 100);
    lobster_close(r);
}
END_TEST


START_TEST(goog_engine_accepts_every_event)
{
    char path[PATH_BYTES];
    shared_path(path, GOOG);
    lobster_reader *r = open_lobster(path, 10, 0);
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, NULL), CSCALP_OK);
    bcap_event ev;
    uint64_t pushed = 0;
    while (lobster_next(r, &ev) == 1) {
        int pr = bcap_push(e, &ev);
        if (pr != CSCALP_OK)
            ck_abort_msg("event %" PRIu64 " (kind %d) refused: %s: %s", pushed, ev.kind,
                         cscalp_error_name(pr), cscalp_last_error(e));
        pushed++;
    }
    ck_assert_uint_eq(pushed, 147916 + 11678);
    cscalp_close(e);
    lobster_close(r);
}
END_TEST

START_TEST(lobster_levels_and_trade_options)
{
    char path[PATH_BYTES], err[ERR_BYTES];
    shared_path(path, GOOG);
    /* Three levels, no trades. */
    lobster_reader *r = open_lobster(path, 3, 1);
    bcap_event ev;
    uint64_t books = 0;
    while (lobster_next(r, &ev) == 1) {
        if (ev.kind != CSCALP_KIND_BOOK)
            ck_abort_msg("a trade with skip_trades");
        check_book(&ev.book, 3, books);
        books++;
    }
    ck_assert_uint_eq(books, 147916);
    ck_assert_uint_eq(lobster_get_counters(r)->events[CSCALP_KIND_TRADE], 0);
    ck_assert_uint_eq(lobster_get_counters(r)->by_type[4], 7765);
    lobster_close(r);

    /* A one-level file gives one level whatever is asked. */
    shared_path(path, AAPL);
    r = open_lobster(path, 50, 0);
    books = 0;
    while (lobster_next(r, &ev) == 1)
        if (ev.kind == CSCALP_KIND_BOOK)
            check_book(&ev.book, 1, books++);
    ck_assert_uint_eq(books, 118497);
    lobster_close(r);

    lobster_options o;
    lobster_options_init(&o);
    ck_assert_uint_eq(o.book_levels, LOBSTER_DEFAULT_BOOK_LEVELS);
    o.book_levels = 0;
    r = (lobster_reader *)&r;
    ck_assert_int_eq(lobster_open(&r, path, &o, err, sizeof err), BCAP_EINVAL);
    ck_assert_ptr_null(r);
    o.book_levels = CSCALP_BOOK_MAX_LEVELS + 1;
    ck_assert_int_eq(lobster_open(&r, path, &o, err, sizeof err), BCAP_EINVAL);
    ck_assert_int_eq(lobster_next(NULL, &ev), BCAP_EINVAL);
    lobster_close(NULL);
}
END_TEST

/* A LOBSTER zip of 2 levels written here: `msg` and `book` rows. */
static const char *lobster_zip(char *path, const char *msg, const char *book)
{
    zw_member m[2] = {
        {.name = "TEST_2020-02-03_34200000_57600000_orderbook_2.csv", .data = book,
         .len = strlen(book), .method = 8},
        {.name = "TEST_2020-02-03_34200000_57600000_message_2.csv", .data = msg,
         .len = strlen(msg), .method = 8, .descriptor = 1},
    };
    return zip_write(path, "LOBSTER_TEST.zip", m, 2, 0, NULL);
}

#define DAY_20200203_NS (INT64_C(1580688000) * INT64_C(1000000000))
#define OK_BOOK "1010000,50,1000000,5,9999999999,0,-9999999999,0\n"

START_TEST(lobster_synthetic_rows_and_skips)
{
    const char *msg =
        "34200.5,1,11,100,1000000,1\n"          /* 0 book */
        "34200.6,4,11,30,1000000,1\n"           /* 1 trade SELL + book */
        "34200.7,5,0,10,1005000,-1\n"           /* 2 hidden: trade BUY + book */
        "34200.8,7,0,0,-1,-1\n"                 /* 3 halt: book only */
        "34200.9,3,12,60,1020000,-1\n"          /* 4 ask level 2 a dummy */
        "34201,3,13,70,990000,1\n"              /* 5 one level a side */
        "34201.1,3,14,70,1000000,1\n"           /* 6 no bid: one-sided */
        "34201.2,1,15,5,1010000,1\n"            /* 7 locked */
        "34201.3,1,16,5,1020000,1\n"            /* 8 crossed */
        "34201.4,1,17,5,1000000,1\n"            /* 9 bid size 0 */
        "34201.5,1,18,5,abc,1\n"                /* 10 malformed message */
        "34201.6,1,19,5,1000000,1\n"            /* 11 malformed book row */
        "34201.0,1,20,5,1000000,1\n"            /* 12 time goes back */
        "34201.4,4,21,5,1010000,0\n"            /* 13 direction 0: no trade, book */
        "34201.45,9,0,0,0,0\n"                  /* 14 unknown type: book */
        "34201.500000001,4,22,7,1010000,-1\n"   /* 15 trade BUY + book */
        "34201.6,4,23,7,1010000,-1,9\n"         /* 16 seven columns */
        "\n";                                   /* 17 empty */
    const char *book =
        "1010000,50,1000000,100,1020000,60,990000,70\n"
        "1010000,50,1000000,70,1020000,60,990000,70\n"
        "1010000,50,1000000,70,1020000,60,990000,70\n"
        "1010000,50,1000000,70,1020000,60,990000,70\n"
        "1010000,50,1000000,70,9999999999,0,990000,70\n"
        OK_BOOK
        "1010000,50,-9999999999,0,9999999999,0,-9999999999,0\n"
        "1010000,50,1010000,5,9999999999,0,-9999999999,0\n"
        "1010000,50,1020000,5,9999999999,0,-9999999999,0\n"
        "1010000,50,1000000,0,9999999999,0,-9999999999,0\n"
        OK_BOOK
        "1010000,50,1000000,5,9999999999,0,-9999999999\n"
        OK_BOOK OK_BOOK OK_BOOK OK_BOOK OK_BOOK OK_BOOK;
    char path[PATH_BYTES];
    lobster_zip(path, msg, book);
    lobster_reader *r = open_lobster(path, 10, 0);
    ck_assert_str_eq(lobster_ticker(r), "TEST");
    ck_assert_uint_eq(lobster_file_levels(r), 2);
    ck_assert_int_eq(lobster_day_start_ns(r), DAY_20200203_NS);

    /* kind, ns after midnight, then for a trade price/size/side, for a book
     * bid and ask counts and the best bid. */
    static const struct {
        int kind;
        int64_t ns;
        double price, size;
        int side;
        uint32_t bids, asks;
    } want[] = {
        {CSCALP_KIND_BOOK, INT64_C(34200500000000), 100.0, 100, 0, 2, 2},
        {CSCALP_KIND_TRADE, INT64_C(34200600000000), 100.0, 30, CSCALP_SIDE_SELL, 0, 0},
        {CSCALP_KIND_BOOK, INT64_C(34200600000000), 100.0, 70, 0, 2, 2},
        {CSCALP_KIND_TRADE, INT64_C(34200700000000), 100.5, 10, CSCALP_SIDE_BUY, 0, 0},
        {CSCALP_KIND_BOOK, INT64_C(34200700000000), 100.0, 70, 0, 2, 2},
        {CSCALP_KIND_BOOK, INT64_C(34200800000000), 100.0, 70, 0, 2, 2},
        {CSCALP_KIND_BOOK, INT64_C(34200900000000), 100.0, 70, 0, 2, 1},
        {CSCALP_KIND_BOOK, INT64_C(34201000000000), 100.0, 5, 0, 1, 1},
        {CSCALP_KIND_BOOK, INT64_C(34201400000000), 100.0, 5, 0, 1, 1},
        {CSCALP_KIND_BOOK, INT64_C(34201450000000), 100.0, 5, 0, 1, 1},
        {CSCALP_KIND_TRADE, INT64_C(34201500000001), 101.0, 7, CSCALP_SIDE_BUY, 0, 0},
        {CSCALP_KIND_BOOK, INT64_C(34201500000001), 100.0, 5, 0, 1, 1},
    };
    bcap_event ev;
    size_t k = 0;
    int rc;
    while ((rc = lobster_next(r, &ev)) == 1) {
        ck_assert_uint_lt(k, sizeof want / sizeof want[0]);
        ck_assert_int_eq(ev.kind, want[k].kind);
        ck_assert_int_eq(bcap_event_ts(&ev), DAY_20200203_NS + want[k].ns);
        if (ev.kind == CSCALP_KIND_TRADE) {
            ck_assert_double_eq_tol(ev.trade.price, want[k].price, 1e-12);
            ck_assert_double_eq(ev.trade.size, want[k].size);
            ck_assert_int_eq(ev.trade.side, want[k].side);
        } else {
            ck_assert_uint_eq(ev.book.bid_count, want[k].bids);
            ck_assert_uint_eq(ev.book.ask_count, want[k].asks);
            ck_assert_double_eq_tol(ev.book.bids[0].price, want[k].price, 1e-12);
            ck_assert_double_eq(ev.book.bids[0].size, want[k].size);
            ck_assert_double_eq_tol(ev.book.asks[0].price, 101.0, 1e-12);
        }
        k++;
    }
    ck_assert_msg(rc == 0, "%s", lobster_last_error(r));
    ck_assert_uint_eq(k, sizeof want / sizeof want[0]);
    const lobster_counters *c = lobster_get_counters(r);
    ck_assert_uint_eq(c->messages, 18);
    static const uint64_t skipped[LOBSTER_SKIP_COUNT] = {4, 1, 1, 1, 1, 1, 1};
    for (int s = 0; s < LOBSTER_SKIP_COUNT; s++)
        ck_assert_msg(c->skipped[s] == skipped[s], "%s: %" PRIu64 ", want %" PRIu64,
                      lobster_skip_name(s), c->skipped[s], skipped[s]);
    static const uint64_t types[LOBSTER_TYPE_SLOTS] = {1, 4, 0, 3, 3, 1, 0, 1};
    for (int t = 0; t < LOBSTER_TYPE_SLOTS; t++)
        ck_assert_uint_eq(c->by_type[t], types[t]);
    ck_assert_uint_eq(c->events[CSCALP_KIND_TRADE], 3);
    ck_assert_uint_eq(c->events[CSCALP_KIND_BOOK], 9);
    ck_assert_str_eq(lobster_skip_name(LOBSTER_SKIP_LOCKED), "locked");
    ck_assert_str_eq(lobster_skip_name(99), "?");
    lobster_close(r);

    /* One level asked: the first book has one level a side. */
    r = open_lobster(path, 1, 0);
    ck_assert_int_eq(lobster_next(r, &ev), 1);
    ck_assert_uint_eq(ev.book.bid_count, 1);
    ck_assert_uint_eq(ev.book.ask_count, 1);
    lobster_close(r);
}
END_TEST

START_TEST(lobster_structural_errors)
{
    char path[PATH_BYTES], err[ERR_BYTES];
    lobster_reader *r = NULL;

    /* Files of different lengths. */
    lobster_zip(path, "34200.5,1,11,100,1000000,1\n34200.6,1,11,100,1000000,1\n", OK_BOOK);
    r = open_lobster(path, 10, 0);
    bcap_event ev;
    ck_assert_int_eq(lobster_next(r, &ev), 1);
    ck_assert_int_eq(lobster_next(r, &ev), BCAP_EIO);
    ck_assert_msg(strstr(lobster_last_error(r), "order-book file ends at row 1") != NULL, "%s",
                  lobster_last_error(r));
    ck_assert_int_eq(lobster_next(r, &ev), BCAP_EIO);
    lobster_close(r);

    /* A zip without LOBSTER members, a missing file, a text file. */
    zw_member other = {.name = "readme.txt", .data = "x", .len = 1, .method = 0};
    zip_write(path, "other.zip", &other, 1, 0, NULL);
    ck_assert_int_eq(lobster_open(&r, path, NULL, err, sizeof err), BCAP_EIO);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err, path) && strstr(err, "no *_message_*.csv member"), "%s", err);
    ck_assert_int_eq(lobster_open(&r, "/nonexistent/L.zip", NULL, err, sizeof err), BCAP_EIO);
    ck_assert(strstr(err, "/nonexistent/L.zip") != NULL);

    /* A message member without its order-book twin. */
    zw_member lone = {.name = "X_2020-02-03_1_2_message_2.csv", .data = "", .len = 0};
    zip_write(path, "lone.zip", &lone, 1, 0, NULL);
    ck_assert_int_eq(lobster_open(&r, path, NULL, err, sizeof err), BCAP_EIO);
    ck_assert_msg(strstr(err, "no order-book member") != NULL, "%s", err);
    zw_member baddate = {.name = "X_2020-02-30_1_2_message_2.csv", .data = "", .len = 0};
    zip_write(path, "baddate.zip", &baddate, 1, 0, NULL);
    ck_assert_int_eq(lobster_open(&r, path, NULL, err, sizeof err), BCAP_EIO);
    ck_assert_msg(strstr(err, "date") != NULL, "%s", err);
}
END_TEST

/* The real GOOG zip damaged: cut short (no end record), and one byte of the
 * message data flipped (inflate or CRC error before the end). */
START_TEST(lobster_damaged_real_file)
{
    char src[PATH_BYTES], path[PATH_BYTES], err[ERR_BYTES];
    shared_path(src, GOOG);
    buf z = read_whole_file(src);
    temp_path(path, "GOOG_cut.zip");
    write_file(path, z.p, z.n / 2);
    lobster_reader *r = NULL;
    ck_assert_int_eq(lobster_open(&r, path, NULL, err, sizeof err), BCAP_EIO);
    ck_assert_msg(strstr(err, "no end of central directory") != NULL, "%s", err);

    /* The message member's data start at 1226310 + 30 + 48 (Python's
     * zipfile: header_offset and name length); flip a byte well inside. */
    z.p[1226310 + 78 + 500000] ^= 0x55;
    temp_path(path, "GOOG_flip.zip");
    write_file(path, z.p, z.n);
    lobster_options o;
    lobster_options_init(&o);
    o.log = NULL; /* the damaged rows before the error are not the point */
    ck_assert_int_eq(lobster_open(&r, path, &o, err, sizeof err), BCAP_OK);
    bcap_event ev;
    int rc;
    uint64_t events = 0;
    while ((rc = lobster_next(r, &ev)) == 1)
        events++;
    ck_assert_int_eq(rc, BCAP_EIO);
    ck_assert_msg(strstr(lobster_last_error(r), "GOOG_2012-06-21_34200000_57600000_message_10.csv"),
                  "%s", lobster_last_error(r));
    ck_assert_uint_gt(events, 1000);
    lobster_close(r);
    buf_free(&z);
}
END_TEST

/* =================================================================== FXCM */

static const char *const fx_days[] = {"20140501", "20140502", "20140504", "20140505",
                                      "20140506", "20140507", "20140508"};
#define N_FX_DAYS 7
#define DAY_20140501_NS (INT64_C(1398902400) * INT64_C(1000000000))
#define DAY_20140508_NS (INT64_C(1399507200) * INT64_C(1000000000))

static char fx_paths[N_FX_DAYS][PATH_BYTES];
static const char *fx_path_list[N_FX_DAYS];

static void fx_real_paths(void)
{
    for (int i = 0; i < N_FX_DAYS; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "fx-eurusd/%s_quote.zip", fx_days[i]);
        shared_path(fx_paths[i], rel);
        fx_path_list[i] = fx_paths[i];
    }
}

static fxcm_reader *open_fxcm(const char *const *paths, size_t n, int keep_crossed)
{
    fxcm_options o;
    fxcm_options_init(&o);
    o.keep_crossed = keep_crossed;
    o.log = NULL; /* 129 k crossed/locked rows: the counters say it */
    fxcm_reader *r = NULL;
    char err[ERR_BYTES] = "";
    int rc = fxcm_open(&r, paths, n, &o, err, sizeof err);
    ck_assert_msg(rc == BCAP_OK, "cannot open: %s", err);
    return r;
}

/* Python (zipfile, split on CRLF) over the 7 days: 573,279 rows, none
 * malformed, 59,344 with bid > ask, 69,809 with bid == ask, time strictly
 * increasing within each file; 444,126 rows left. */
START_TEST(fxcm_counts_match_python)
{
    fx_real_paths();
    fxcm_reader *r = open_fxcm(fx_path_list, N_FX_DAYS, 0);
    bcap_event ev;
    static bcap_event first, last;
    uint64_t n = 0;
    int rc;
    int64_t last_ts = INT64_MIN;
    while ((rc = fxcm_next(r, &ev)) == 1) {
        if (ev.kind != CSCALP_KIND_QUOTE || !(ev.quote.bid_price < ev.quote.ask_price) ||
            ev.quote.ts_ns < last_ts || ev.quote.bid_size != 1.0 || ev.quote.ask_size != 1.0)
            ck_abort_msg("quote %" PRIu64 " is not an ordered, uncrossed quote of size 1", n);
        last_ts = ev.quote.ts_ns;
        if (n++ == 0)
            first = ev;
        last = ev;
    }
    ck_assert_msg(rc == 0, "%s", fxcm_last_error(r));
    const fxcm_counters *c = fxcm_get_counters(r);
    ck_assert_uint_eq(c->files, 7);
    ck_assert_uint_eq(c->rows, 573279);
    ck_assert_uint_eq(n, 444126);
    ck_assert_uint_eq(c->events[CSCALP_KIND_QUOTE], 444126);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_MALFORMED], 0);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_CROSSED], 59344);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_LOCKED], 69809);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_TIME], 0);
    ck_assert_uint_eq(c->kept_crossed + c->kept_locked, 0);
    /* First row of 05-01: 1787,1.38727,1.38729; last of 05-08:
     * 86399235,1.38371,1.38374. */
    ck_assert_int_eq(first.quote.ts_ns, DAY_20140501_NS + INT64_C(1787) * 1000000);
    ck_assert_double_eq(first.quote.bid_price, 1.38727);
    ck_assert_double_eq(first.quote.ask_price, 1.38729);
    ck_assert_int_eq(last.quote.ts_ns, DAY_20140508_NS + INT64_C(86399235) * 1000000);
    ck_assert_double_eq(last.quote.bid_price, 1.38371);
    ck_assert_double_eq(last.quote.ask_price, 1.38374);
    ck_assert_int_eq(fxcm_day_start_ns(r, 0), DAY_20140501_NS);
    ck_assert_int_eq(fxcm_day_start_ns(r, 7), -1);
    fxcm_close(r);

    /* Every row kept: BASELINES.md's 573,279 ticks. */
    r = open_fxcm(fx_path_list, N_FX_DAYS, 1);
    n = 0;
    while (fxcm_next(r, &ev) == 1)
        n++;
    c = fxcm_get_counters(r);
    ck_assert_uint_eq(n, 573279);
    ck_assert_uint_eq(c->kept_crossed, 59344);
    ck_assert_uint_eq(c->kept_locked, 69809);
    ck_assert_uint_eq(sum(c->skipped, FXCM_SKIP_COUNT), 0);
    fxcm_close(r);
}
END_TEST

/* Computed here: each day's rows read raw through the zip line reader and
 * classified by sscanf, against what the reader emitted and skipped. */
START_TEST(fxcm_counts_match_raw_rows)
{
    fx_real_paths();
    uint64_t rows = 0, crossed = 0, locked = 0;
    char err[ERR_BYTES];
    for (int d = 0; d < N_FX_DAYS; d++) {
        zipr_archive *a = NULL;
        ck_assert_int_eq(zipr_open(&a, fx_paths[d], err, sizeof err), ZIPR_OK);
        zipr_stream *s = NULL;
        ck_assert_int_eq(zipr_stream_open(&s, a, 0, err, sizeof err), ZIPR_OK);
        const char *line;
        size_t len;
        int rc;
        while ((rc = zipr_getline(s, &line, &len)) == 1) {
            long long ms;
            double bid, ask;
            if (sscanf(line, "%lld,%lf,%lf", &ms, &bid, &ask) != 3)
                ck_abort_msg("%s row %" PRIu64 ": %s", fx_days[d], zipr_line_number(s), line);
            rows++;
            crossed += bid > ask;
            locked += bid == ask;
        }
        ck_assert_int_eq(rc, 0);
        zipr_stream_close(s);
        zipr_close(a);
    }
    fxcm_reader *r = open_fxcm(fx_path_list, N_FX_DAYS, 0);
    bcap_event ev;
    uint64_t quotes = 0;
    while (fxcm_next(r, &ev) == 1)
        quotes++;
    const fxcm_counters *c = fxcm_get_counters(r);
    ck_assert_uint_eq(c->rows, rows);
    ck_assert_uint_eq(quotes + sum(c->skipped, FXCM_SKIP_COUNT), rows);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_CROSSED], crossed);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_LOCKED], locked);
    ck_assert_uint_eq(quotes, rows - crossed - locked - c->skipped[FXCM_SKIP_TIME] -
                                  c->skipped[FXCM_SKIP_MALFORMED]);
    fxcm_close(r);
}
END_TEST

START_TEST(fxcm_engine_accepts_every_quote)
{
    fx_real_paths();
    fxcm_reader *r = open_fxcm(fx_path_list, N_FX_DAYS, 0);
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, NULL), CSCALP_OK);
    bcap_event ev;
    uint64_t pushed = 0;
    while (fxcm_next(r, &ev) == 1) {
        int pr = bcap_push(e, &ev);
        if (pr != CSCALP_OK)
            ck_abort_msg("quote %" PRIu64 " refused: %s: %s", pushed, cscalp_error_name(pr),
                         cscalp_last_error(e));
        pushed++;
    }
    ck_assert_uint_eq(pushed, 444126);
    cscalp_close(e);
    fxcm_close(r);
}
END_TEST

#define DAY_20200103_NS (INT64_C(1578009600) * INT64_C(1000000000))
#define DAY_20200104_NS (INT64_C(1578096000) * INT64_C(1000000000))

static void fx_write_day(char *path, const char *day, const char *rows)
{
    char file[64], member[64];
    snprintf(file, sizeof file, "%s_quote.zip", day);
    snprintf(member, sizeof member, "%s_eurusd_tick_quote.csv", day);
    zw_member m = {.name = member, .data = rows, .len = strlen(rows), .method = 8, .zip64 = 1};
    zip_write(path, file, &m, 1, 0, NULL);
}

START_TEST(fxcm_synthetic_rows_and_skips)
{
    char a[PATH_BYTES], b[PATH_BYTES];
    fx_write_day(a, "20200103",
                 "1000,1.10000,1.10010\n"   /* quote */
                 "1000,1.10001,1.10011\n"   /* equal time: quote */
                 "999,1.10000,1.10010\n"    /* time goes back */
                 "2000,1.10020,1.10020\n"   /* locked */
                 "2500,1.10030,1.10020\n"   /* crossed */
                 "abc,1.1,1.2\n"            /* malformed ms */
                 "3000,1.1,\n"              /* empty ask */
                 "3000,1.1,1.2,5\n"         /* four fields */
                 "3000,-1.1,1.2\n"          /* negative bid */
                 "3000,1e5,1.2\n"           /* exponent */
                 "86400000,1.1,1.2\n"       /* past the day */
                 "3000,1.10000,1.10010\n"   /* quote */
                 "\n"                       /* empty */
                 "4000,1.10000,1.10010");   /* quote, no newline */
    fx_write_day(b, "20200104", "500,1.2,1.3\r\n86399999,1.2,1.3\r\n");
    const char *paths[2] = {a, b};

    static const int64_t want_ms[] = {1000, 1000, 3000, 4000, 86400000 + 500,
                                      86400000 + 86399999};
    fxcm_reader *r = open_fxcm(paths, 2, 0);
    bcap_event ev;
    size_t k = 0;
    int rc;
    while ((rc = fxcm_next(r, &ev)) == 1) {
        ck_assert_uint_lt(k, 6);
        ck_assert_int_eq(ev.quote.ts_ns, DAY_20200103_NS + want_ms[k] * 1000000);
        k++;
    }
    ck_assert_msg(rc == 0, "%s", fxcm_last_error(r));
    ck_assert_uint_eq(k, 6);
    const fxcm_counters *c = fxcm_get_counters(r);
    ck_assert_uint_eq(c->files, 2);
    ck_assert_uint_eq(c->rows, 16);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_MALFORMED], 7);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_CROSSED], 1);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_LOCKED], 1);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_TIME], 1);
    ck_assert_int_eq(fxcm_day_start_ns(r, 1), DAY_20200104_NS);
    fxcm_close(r);

    r = open_fxcm(paths, 2, 1);
    k = 0;
    while (fxcm_next(r, &ev) == 1)
        k++;
    c = fxcm_get_counters(r);
    ck_assert_uint_eq(k, 8);
    ck_assert_uint_eq(c->kept_crossed, 1);
    ck_assert_uint_eq(c->kept_locked, 1);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_TIME], 1);
    ck_assert_uint_eq(c->skipped[FXCM_SKIP_MALFORMED], 7);
    ck_assert_str_eq(fxcm_skip_name(FXCM_SKIP_TIME), "time");
    fxcm_close(r);
}
END_TEST

START_TEST(fxcm_open_errors)
{
    char a[PATH_BYTES], b[PATH_BYTES], path[PATH_BYTES], err[ERR_BYTES];
    fx_write_day(a, "20200103", "1000,1.1,1.2\n");
    fx_write_day(b, "20200104", "1000,1.1,1.2\n");
    fxcm_reader *r = (fxcm_reader *)&r;
    const char *backwards[2] = {b, a};
    ck_assert_int_eq(fxcm_open(&r, backwards, 2, NULL, err, sizeof err), BCAP_EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err, a) && strstr(err, "dates must increase"), "%s", err);
    const char *twice[2] = {a, a};
    ck_assert_int_eq(fxcm_open(&r, twice, 2, NULL, err, sizeof err), BCAP_EINVAL);
    ck_assert_int_eq(fxcm_open(&r, backwards, 0, NULL, err, sizeof err), BCAP_EINVAL);

    zw_member m = {.name = "x.csv", .data = "1,1,2\n", .len = 6, .method = 0};
    const char *one[1] = {zip_write(path, "quote.zip", &m, 1, 0, NULL)};
    ck_assert_int_eq(fxcm_open(&r, one, 1, NULL, err, sizeof err), BCAP_EINVAL);
    ck_assert_msg(strstr(err, "YYYYMMDD") != NULL, "%s", err);
    zw_member two[2] = {m, m};
    two[1].name = "y.csv";
    one[0] = zip_write(path, "20200105_quote.zip", two, 2, 0, NULL);
    ck_assert_int_eq(fxcm_open(&r, one, 1, NULL, err, sizeof err), BCAP_EIO);
    ck_assert_msg(strstr(err, "more than one *.csv member") != NULL, "%s", err);
    one[0] = temp_path(path, "20200106_quote.zip"); /* does not exist */
    ck_assert_int_eq(fxcm_open(&r, one, 1, NULL, err, sizeof err), BCAP_EIO);
    ck_assert_msg(strstr(err, path) && strstr(err, "cannot open"), "%s", err);
    bcap_event ev;
    ck_assert_int_eq(fxcm_next(NULL, &ev), BCAP_EINVAL);
    fxcm_close(NULL);
}
END_TEST

/* ================================================================ driver */

static Suite *readers_suite(void)
{
    Suite *s = suite_create("readers");
    TCase *zip = tcase_create("zip");
    tcase_set_timeout(zip, 300);
    tcase_add_test(zip, python_fixture_members_and_contents);
    tcase_add_test(zip, writer_variants_round_trip);
    tcase_add_test(zip, line_reader_edges);
    tcase_add_test(zip, overlong_line_is_an_error);
    tcase_add_test(zip, crc_and_size_mismatches_are_errors);
    tcase_add_test(zip, unsupported_features_are_refused);
    tcase_add_test(zip, garbage_and_missing_files_are_refused);
    tcase_add_test(zip, every_truncation_is_a_clean_error);
    tcase_add_test(zip, flipped_bytes_never_give_wrong_data);
    tcase_add_test(zip, real_archives_verify);
    suite_add_tcase(s, zip);

    TCase *lob = tcase_create("lobster");
    tcase_set_timeout(lob, 300);
    tcase_add_loop_test(lob, lobster_counts_match_python, 0, 2);
    tcase_add_loop_test(lob, lobster_counts_match_raw_rows, 0, 2);
    tcase_add_test(lob, goog_events_in_order_and_side_follows_the_book);
    tcase_add_test(lob, goog_hand_picked_rows);
    tcase_add_test(lob, goog_engine_accepts_every_event);
    tcase_add_test(lob, lobster_levels_and_trade_options);
    tcase_add_test(lob, lobster_synthetic_rows_and_skips);
    tcase_add_test(lob, lobster_structural_errors);
    tcase_add_test(lob, lobster_damaged_real_file);
    suite_add_tcase(s, lob);

    TCase *fx = tcase_create("fxcm");
    tcase_set_timeout(fx, 300);
    tcase_add_test(fx, fxcm_counts_match_python);
    tcase_add_test(fx, fxcm_counts_match_raw_rows);
    tcase_add_test(fx, fxcm_engine_accepts_every_quote);
    tcase_add_test(fx, fxcm_synthetic_rows_and_skips);
    tcase_add_test(fx, fxcm_open_errors);
    suite_add_tcase(s, fx);
    return s;
}

/* Real data and the fixture are the point of this suite: without them,
 * fail loudly. */
static int inputs_present(void)
{
    const char *dir = getenv("CSCALP_SHARED_DATA");
    const char *src = getenv("CSCALP_SOURCE_ROOT");
    char probe[PATH_BYTES];
    struct stat st;
    if (!dir || !*dir || !src || !*src) {
        fprintf(stderr, "test_readers: CSCALP_SHARED_DATA and CSCALP_SOURCE_ROOT must be set "
                        "(run through `meson test`)\n");
        return 0;
    }
    snprintf(probe, sizeof probe, "%s/%s", dir, GOOG);
    if (stat(probe, &st) != 0) {
        fprintf(stderr, "test_readers: no LOBSTER sample at %s (set meson option shared_data "
                        "or CSCALP_SHARED_DATA)\n", probe);
        return 0;
    }
    return 1;
}

/* The temp folder holds only files this test wrote. */
static void remove_temp_dir(void)
{
    DIR *d = opendir(tmp_dir);
    if (d) {
        struct dirent *e;
        char p[PATH_BYTES + 256];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tmp_dir);
}

int main(void)
{
    if (!inputs_present())
        return EXIT_FAILURE;
    const char *t = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/test_readers_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        perror("test_readers: mkdtemp");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(readers_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_temp_dir();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
