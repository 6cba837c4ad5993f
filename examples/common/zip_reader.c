#include "zip_reader.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <zlib.h>

/* Record sizes and signatures (APPNOTE 4.3.7, 4.3.12, 4.3.16, 4.3.15). */
#define LOCAL_HEADER_BYTES 30
#define CENTRAL_HEADER_BYTES 46
#define END_RECORD_BYTES 22
#define ZIP64_LOCATOR_BYTES 20
#define MAX_COMMENT_BYTES 65535
#define SIG_LOCAL UINT32_C(0x04034b50)
#define SIG_CENTRAL UINT32_C(0x02014b50)
#define SIG_END UINT32_C(0x06054b50)
#define SIG_ZIP64_LOCATOR UINT32_C(0x07064b50)
#define EXTRA_ZIP64 0x0001u
#define ALL_ONES_16 0xFFFFu
#define ALL_ONES_32 UINT32_C(0xFFFFFFFF)
#define FLAG_ENCRYPTED 0x0001u
#define METHOD_STORED 0
#define METHOD_DEFLATE 8

/* Compressed bytes read per fread, and decompressed bytes per chunk of the
 * line reader: large enough that stdio and zlib call overhead is noise. */
#define IN_CHUNK ((size_t)1 << 16)
#define OUT_CHUNK ((size_t)1 << 17)
#define INITIAL_LINE_BYTES ((size_t)256)
#define ERR_BYTES 512

struct zipr_archive {
    char *path;
    uint64_t file_size;
    uint64_t cd_offset; /* member data must end before the central directory */
    zipr_member *members;
    size_t count;
};

struct zipr_stream {
    FILE *f;
    char *path;
    char *name;
    uint16_t method;
    uint64_t size;       /* declared uncompressed size */
    uint32_t crc_want;   /* declared CRC-32 */
    uint64_t comp_left;  /* compressed bytes not yet read from the file */
    uint64_t produced;   /* decompressed bytes handed out */
    uLong crc;
    z_stream z;
    int z_ready;         /* inflateInit2 succeeded: inflateEnd owed */
    int z_end;           /* the deflate stream has ended */
    int state;           /* 0 reading, 1 verified end, < 0 sticky error */
    unsigned char *in;   /* compressed input (deflate) */
    unsigned char *buf;  /* decompressed chunk (line reader) */
    size_t buf_pos, buf_len;
    char *line;
    size_t line_cap;
    uint64_t lines;
    char err[ERR_BYTES];
};

/* ------------------------------------------------------------- helpers */

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

__attribute__((format(printf, 4, 5)))
static int open_fail(char *errbuf, size_t cap, int code, const char *fmt, ...)
{
    if (cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Seek to an absolute offset; files here are far below the off_t range, and
 * offsets come checked against the file size. */
static int seek_to(FILE *f, uint64_t offset)
{
    if (offset > (uint64_t)INT64_MAX)
        return -1;
    return fseeko(f, (off_t)offset, SEEK_SET);
}

/* Read exactly n bytes at `offset`: 0, or -1 (short read or I/O error). */
static int read_at(FILE *f, uint64_t offset, void *buf, size_t n)
{
    return seek_to(f, offset) == 0 && fread(buf, 1, n, f) == n ? 0 : -1;
}

const char *zipr_error_name(int code)
{
    switch (code) {
    case ZIPR_OK:
        return "ZIPR_OK";
    case ZIPR_EINVAL:
        return "ZIPR_EINVAL";
    case ZIPR_EIO:
        return "ZIPR_EIO";
    case ZIPR_ENOMEM:
        return "ZIPR_ENOMEM";
    case ZIPR_EFORMAT:
        return "ZIPR_EFORMAT";
    case ZIPR_EUNSUPPORTED:
        return "ZIPR_EUNSUPPORTED";
    default:
        return "unknown zip reader code";
    }
}

/* --------------------------------------------------------- the archive */

/* The end record is the last 22 bytes plus a comment of up to 65535 bytes.
 * The last signature whose comment length reaches exactly to the end of the
 * file is taken: a stray "PK\5\6" inside the comment does not fit that. */
static long find_end_record(const unsigned char *tail, size_t n)
{
    if (n < END_RECORD_BYTES)
        return -1;
    for (size_t i = n - END_RECORD_BYTES + 1; i-- > 0;) {
        if (rd32(tail + i) == SIG_END && i + END_RECORD_BYTES + rd16(tail + i + 20) == n)
            return (long)i;
    }
    return -1;
}

/* Fill the ZIP64 values of one central entry from its extra field: each
 * 32-bit field that reads all ones (and the disk number at 0xFFFF) is
 * replaced, in the order APPNOTE 4.5.3 gives, from the 0x0001 block. */
static int apply_zip64_extra(const unsigned char *extra, size_t n, zipr_member *m,
                             uint32_t size32, uint32_t comp32, uint32_t offset32,
                             uint32_t *disk, const char **why)
{
    int need_size = size32 == ALL_ONES_32, need_comp = comp32 == ALL_ONES_32;
    int need_offset = offset32 == ALL_ONES_32, need_disk = *disk == ALL_ONES_16;
    size_t pos = 0;
    int found = 0;
    while (pos < n) {
        if (n - pos < 4) {
            *why = "extra field ends inside a block header";
            return ZIPR_EFORMAT;
        }
        unsigned id = rd16(extra + pos);
        size_t len = rd16(extra + pos + 2);
        pos += 4;
        if (len > n - pos) {
            *why = "extra-field block runs past the extra field";
            return ZIPR_EFORMAT;
        }
        if (id == EXTRA_ZIP64 && !found) {
            const unsigned char *b = extra + pos;
            size_t want = 8u * (size_t)(need_size + need_comp + need_offset) + 4u * (size_t)need_disk;
            if (len < want) {
                *why = "ZIP64 extra field is shorter than the values it must hold";
                return ZIPR_EFORMAT;
            }
            if (need_size) {
                m->size = rd64(b);
                b += 8;
            }
            if (need_comp) {
                m->comp_size = rd64(b);
                b += 8;
            }
            if (need_offset) {
                m->local_offset = rd64(b);
                b += 8;
            }
            if (need_disk)
                *disk = rd32(b);
            found = 1;
        }
        pos += len;
    }
    if (!found && (need_size || need_comp || need_offset || need_disk)) {
        *why = "a size or offset reads 0xFFFFFFFF but there is no ZIP64 extra field";
        return ZIPR_EFORMAT;
    }
    return ZIPR_OK;
}

/* Parse the central directory `cd` (cd_size bytes, `count` entries). Names
 * are allocated one by one and freed by zipr_close. */
static int parse_central(zipr_archive *a, const unsigned char *cd, uint64_t cd_size,
                         size_t count, char *errbuf, size_t cap)
{
    uint64_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        if (cd_size - pos < CENTRAL_HEADER_BYTES)
            return open_fail(errbuf, cap, ZIPR_EFORMAT,
                             "%s: central directory ends inside entry %zu of %zu", a->path, i,
                             count);
        const unsigned char *h = cd + pos;
        if (rd32(h) != SIG_CENTRAL)
            return open_fail(errbuf, cap, ZIPR_EFORMAT,
                             "%s: central directory entry %zu has a bad signature", a->path, i);
        size_t name_len = rd16(h + 28), extra_len = rd16(h + 30), comment_len = rd16(h + 32);
        if (cd_size - pos - CENTRAL_HEADER_BYTES < (uint64_t)name_len + extra_len + comment_len)
            return open_fail(errbuf, cap, ZIPR_EFORMAT,
                             "%s: central directory entry %zu runs past the directory", a->path,
                             i);
        zipr_member *m = &a->members[i];
        const unsigned char *name = h + CENTRAL_HEADER_BYTES;
        if (memchr(name, '\0', name_len))
            return open_fail(errbuf, cap, ZIPR_EFORMAT,
                             "%s: the name of member %zu holds a NUL byte", a->path, i);
        char *copy = malloc(name_len + 1);
        if (!copy)
            return open_fail(errbuf, cap, ZIPR_ENOMEM, "%s: out of memory", a->path);
        memcpy(copy, name, name_len);
        copy[name_len] = '\0';
        m->name = copy;
        a->count = i + 1; /* zipr_close frees names up to here */

        m->flags = rd16(h + 8);
        m->method = rd16(h + 10);
        m->crc32 = rd32(h + 16);
        uint32_t comp32 = rd32(h + 20), size32 = rd32(h + 24), offset32 = rd32(h + 42);
        uint32_t disk = rd16(h + 34);
        m->comp_size = comp32;
        m->size = size32;
        m->local_offset = offset32;
        const char *why = NULL;
        if (apply_zip64_extra(name + name_len, extra_len, m, size32, comp32, offset32, &disk,
                              &why) != ZIPR_OK)
            return open_fail(errbuf, cap, ZIPR_EFORMAT, "%s: %s: %s", a->path, m->name, why);
        if (disk != 0)
            return open_fail(errbuf, cap, ZIPR_EUNSUPPORTED,
                             "%s: %s: member starts on disk %" PRIu32
                             " (split archives are not supported)",
                             a->path, m->name, disk);
        /* The local header and the data lie before the central directory. */
        if (m->local_offset > a->cd_offset ||
            a->cd_offset - m->local_offset < LOCAL_HEADER_BYTES ||
            m->comp_size > a->cd_offset - m->local_offset - LOCAL_HEADER_BYTES)
            return open_fail(errbuf, cap, ZIPR_EFORMAT,
                             "%s: %s: local header at %" PRIu64 " with %" PRIu64
                             " compressed bytes does not fit before the central directory at %" PRIu64,
                             a->path, m->name, m->local_offset, m->comp_size, a->cd_offset);
        pos += CENTRAL_HEADER_BYTES + name_len + extra_len + comment_len;
    }
    if (pos != cd_size)
        return open_fail(errbuf, cap, ZIPR_EFORMAT,
                         "%s: central directory is %" PRIu64 " bytes but its %zu entries take %" PRIu64,
                         a->path, cd_size, count, pos);
    return ZIPR_OK;
}

/* Everything after fopen: find and check the end record, read the central
 * directory. */
static int read_directory(zipr_archive *a, FILE *f, char *errbuf, size_t cap)
{
    if (fseeko(f, 0, SEEK_END) != 0)
        return open_fail(errbuf, cap, ZIPR_EIO, "%s: cannot seek: %s", a->path, strerror(errno));
    off_t end = ftello(f);
    if (end < 0)
        return open_fail(errbuf, cap, ZIPR_EIO, "%s: cannot tell its size: %s", a->path,
                         strerror(errno));
    a->file_size = (uint64_t)end;

    size_t tail_len = a->file_size < END_RECORD_BYTES + MAX_COMMENT_BYTES
                          ? (size_t)a->file_size
                          : END_RECORD_BYTES + MAX_COMMENT_BYTES;
    uint64_t tail_at = a->file_size - tail_len;
    unsigned char *tail = malloc(tail_len ? tail_len : 1);
    if (!tail)
        return open_fail(errbuf, cap, ZIPR_ENOMEM, "%s: out of memory", a->path);
    if (read_at(f, tail_at, tail, tail_len) != 0) {
        free(tail);
        return open_fail(errbuf, cap, ZIPR_EIO, "%s: cannot read its end", a->path);
    }
    long at = find_end_record(tail, tail_len);
    if (at < 0) {
        free(tail);
        return open_fail(errbuf, cap, ZIPR_EFORMAT,
                         "%s: no end of central directory record (%" PRIu64
                         " bytes: not a zip file, or truncated)",
                         a->path, a->file_size);
    }
    const unsigned char *e = tail + at;
    uint64_t end_offset = tail_at + (uint64_t)at;
    unsigned disk = rd16(e + 4), cd_disk = rd16(e + 6);
    unsigned here = rd16(e + 8), total = rd16(e + 10);
    uint32_t cd_size = rd32(e + 12), cd_offset = rd32(e + 16);
    int zip64 = cd_size == ALL_ONES_32 || cd_offset == ALL_ONES_32 ||
                (at >= ZIP64_LOCATOR_BYTES && rd32(e - ZIP64_LOCATOR_BYTES) == SIG_ZIP64_LOCATOR);
    free(tail);
    if (zip64)
        return open_fail(errbuf, cap, ZIPR_EUNSUPPORTED,
                         "%s: ZIP64 archive (ZIP64 end of central directory record) is not "
                         "supported",
                         a->path);
    if (disk != 0 || cd_disk != 0 || here != total)
        return open_fail(errbuf, cap, ZIPR_EUNSUPPORTED,
                         "%s: split (multi-disk) archive is not supported", a->path);
    if ((uint64_t)cd_offset + cd_size > end_offset)
        return open_fail(errbuf, cap, ZIPR_EFORMAT,
                         "%s: central directory (%" PRIu32 " bytes at %" PRIu32
                         ") does not end before the end record at %" PRIu64,
                         a->path, cd_size, cd_offset, end_offset);
    a->cd_offset = cd_offset;

    a->members = calloc(total ? total : 1, sizeof *a->members);
    unsigned char *cd = malloc(cd_size ? cd_size : 1);
    if (!a->members || !cd) {
        free(cd);
        return open_fail(errbuf, cap, ZIPR_ENOMEM, "%s: out of memory", a->path);
    }
    if (read_at(f, cd_offset, cd, cd_size) != 0) {
        free(cd);
        return open_fail(errbuf, cap, ZIPR_EIO, "%s: cannot read the central directory",
                         a->path);
    }
    int rc = parse_central(a, cd, cd_size, total, errbuf, cap);
    free(cd);
    return rc;
}

int zipr_open(zipr_archive **out, const char *path, char *errbuf, size_t errbuf_cap)
{
    if (!out || !path) {
        if (out)
            *out = NULL;
        return open_fail(errbuf, errbuf_cap, ZIPR_EINVAL, "%s: invalid argument",
                         path ? path : "(null)");
    }
    *out = NULL;
    zipr_archive *a = calloc(1, sizeof *a);
    if (!a || !(a->path = dup_string(path))) {
        free(a);
        return open_fail(errbuf, errbuf_cap, ZIPR_ENOMEM, "%s: out of memory", path);
    }
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int rc = open_fail(errbuf, errbuf_cap, ZIPR_EIO, "%s: cannot open: %s", path,
                           errno ? strerror(errno) : "fopen failed");
        zipr_close(a);
        return rc;
    }
    int rc = read_directory(a, f, errbuf, errbuf_cap);
    fclose(f);
    if (rc != ZIPR_OK) {
        zipr_close(a);
        return rc;
    }
    *out = a;
    return ZIPR_OK;
}

void zipr_close(zipr_archive *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->count; i++)
        free((char *)a->members[i].name);
    free(a->members);
    free(a->path);
    free(a);
}

const char *zipr_path(const zipr_archive *a)
{
    return a ? a->path : "";
}

size_t zipr_count(const zipr_archive *a)
{
    return a ? a->count : 0;
}

const zipr_member *zipr_member_at(const zipr_archive *a, size_t index)
{
    return a && index < a->count ? &a->members[index] : NULL;
}

long zipr_find(const zipr_archive *a, const char *name)
{
    for (size_t i = 0; a && name && i < a->count; i++)
        if (strcmp(a->members[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* ---------------------------------------------------------- the stream */

__attribute__((format(printf, 3, 4)))
static int stream_fail(zipr_stream *s, int code, const char *fmt, ...)
{
    char what[ERR_BYTES / 2]; /* room for path and member in s->err */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(s->err, sizeof s->err, "%s: %s: %s", s->path, s->name, what);
    s->state = code;
    return code;
}

/* Check the local header and leave the file at the member's data. */
static int enter_member(zipr_stream *s, const zipr_archive *a, const zipr_member *m)
{
    unsigned char h[LOCAL_HEADER_BYTES];
    errno = 0;
    s->f = fopen(a->path, "rb");
    if (!s->f)
        return stream_fail(s, ZIPR_EIO, "cannot open: %s", errno ? strerror(errno) : "fopen failed");
    if (read_at(s->f, m->local_offset, h, sizeof h) != 0)
        return stream_fail(s, ZIPR_EFORMAT, "cannot read the local header at %" PRIu64,
                           m->local_offset);
    if (rd32(h) != SIG_LOCAL)
        return stream_fail(s, ZIPR_EFORMAT, "bad local header signature at %" PRIu64,
                           m->local_offset);
    if (rd16(h + 8) != m->method)
        return stream_fail(s, ZIPR_EFORMAT,
                           "local header says method %u, the central directory %u",
                           (unsigned)rd16(h + 8), (unsigned)m->method);
    size_t name_len = rd16(h + 26), extra_len = rd16(h + 28);
    uint64_t data_at = m->local_offset + LOCAL_HEADER_BYTES + name_len + extra_len;
    if (data_at > a->cd_offset || m->comp_size > a->cd_offset - data_at)
        return stream_fail(s, ZIPR_EFORMAT,
                           "data (%" PRIu64 " bytes at %" PRIu64
                           ") run into the central directory at %" PRIu64,
                           m->comp_size, data_at, a->cd_offset);
    /* Same name in both headers: a cheap check that the offset is right. */
    size_t want = strlen(m->name);
    char local_name[64];
    if (name_len != want)
        return stream_fail(s, ZIPR_EFORMAT, "local header names a %zu-byte name, not %zu bytes",
                           name_len, want);
    for (size_t done = 0; done < name_len;) {
        size_t n = name_len - done < sizeof local_name ? name_len - done : sizeof local_name;
        if (fread(local_name, 1, n, s->f) != n || memcmp(local_name, m->name + done, n) != 0)
            return stream_fail(s, ZIPR_EFORMAT, "local header holds another name");
        done += n;
    }
    if (seek_to(s->f, data_at) != 0)
        return stream_fail(s, ZIPR_EIO, "cannot seek to the data at %" PRIu64, data_at);
    return ZIPR_OK;
}

int zipr_stream_open(zipr_stream **out, const zipr_archive *a, size_t index, char *errbuf,
                     size_t errbuf_cap)
{
    if (!out || !a || index >= a->count) {
        if (out)
            *out = NULL;
        return open_fail(errbuf, errbuf_cap, ZIPR_EINVAL, "%s: no member %zu",
                         a ? a->path : "(null)", index);
    }
    *out = NULL;
    const zipr_member *m = &a->members[index];
    zipr_stream *s = calloc(1, sizeof *s);
    if (!s)
        return open_fail(errbuf, errbuf_cap, ZIPR_ENOMEM, "%s: out of memory", a->path);
    s->path = dup_string(a->path);
    s->name = dup_string(m->name);
    s->buf = malloc(OUT_CHUNK);
    s->line = malloc(INITIAL_LINE_BYTES);
    s->line_cap = INITIAL_LINE_BYTES;
    if (m->method == METHOD_DEFLATE)
        s->in = malloc(IN_CHUNK);
    if (!s->path || !s->name || !s->buf || !s->line || (m->method == METHOD_DEFLATE && !s->in)) {
        zipr_stream_close(s);
        return open_fail(errbuf, errbuf_cap, ZIPR_ENOMEM, "%s: out of memory", a->path);
    }
    s->method = m->method;
    s->size = m->size;
    s->crc_want = m->crc32;
    s->comp_left = m->comp_size;
    s->crc = crc32(0L, Z_NULL, 0);

    int rc = ZIPR_OK;
    if (m->flags & FLAG_ENCRYPTED)
        rc = stream_fail(s, ZIPR_EUNSUPPORTED, "encrypted members are not supported");
    else if (m->method != METHOD_STORED && m->method != METHOD_DEFLATE)
        rc = stream_fail(s, ZIPR_EUNSUPPORTED,
                         "compression method %u is not supported (only 0 stored, 8 deflate)",
                         (unsigned)m->method);
    else if (m->method == METHOD_STORED && m->comp_size != m->size)
        rc = stream_fail(s, ZIPR_EFORMAT,
                         "stored member with %" PRIu64 " bytes stored but size %" PRIu64,
                         m->comp_size, m->size);
    if (rc == ZIPR_OK)
        rc = enter_member(s, a, m);
    if (rc == ZIPR_OK && m->method == METHOD_DEFLATE) {
        /* Negative window bits: raw deflate, no zlib header (APPNOTE 4.4.5). */
        int zrc = inflateInit2(&s->z, -MAX_WBITS);
        if (zrc != Z_OK)
            rc = stream_fail(s, zrc == Z_MEM_ERROR ? ZIPR_ENOMEM : ZIPR_EFORMAT,
                             "inflateInit2 failed (%d)", zrc);
        else
            s->z_ready = 1;
    }
    if (rc != ZIPR_OK) {
        if (errbuf_cap > 0)
            snprintf(errbuf, errbuf_cap, "%s", s->err);
        zipr_stream_close(s);
        return rc;
    }
    *out = s;
    return ZIPR_OK;
}

/* The member is fully read: sizes and CRC must match the directory. */
static long finish(zipr_stream *s)
{
    if (s->produced != s->size)
        return stream_fail(s, ZIPR_EFORMAT,
                           "decompresses to %" PRIu64 " bytes, the central directory says %" PRIu64,
                           s->produced, s->size);
    if ((uint32_t)s->crc != s->crc_want)
        return stream_fail(s, ZIPR_EFORMAT,
                           "CRC-32 mismatch: data give %08" PRIx32
                           ", the central directory says %08" PRIx32,
                           (uint32_t)s->crc, s->crc_want);
    s->state = 1;
    return 0;
}

static long short_read(zipr_stream *s)
{
    if (ferror(s->f))
        return stream_fail(s, ZIPR_EIO, "read error: %s", strerror(errno));
    return stream_fail(s, ZIPR_EFORMAT, "the file ends inside the member's data (truncated)");
}

static void add_output(zipr_stream *s, const unsigned char *p, size_t n)
{
    /* crc32 takes a uInt length; n never exceeds one chunk here. */
    s->crc = crc32(s->crc, p, (uInt)n);
    s->produced += n;
}

static long read_stored(zipr_stream *s, unsigned char *out, size_t cap)
{
    size_t n = s->comp_left < cap ? (size_t)s->comp_left : cap;
    if (n == 0)
        return finish(s);
    if (fread(out, 1, n, s->f) != n)
        return short_read(s);
    s->comp_left -= n;
    add_output(s, out, n);
    return (long)n;
}

static long read_deflated(zipr_stream *s, unsigned char *out, size_t cap)
{
    if (s->z_end) {
        if (s->z.avail_in > 0 || s->comp_left > 0)
            return stream_fail(s, ZIPR_EFORMAT,
                               "deflate data end %" PRIu64
                               " bytes before the member's compressed size",
                               s->comp_left + s->z.avail_in);
        return finish(s);
    }
    /* One byte past the declared size is room enough to see an overrun. */
    uint64_t left = s->size - s->produced;
    size_t want = left < cap ? (size_t)left + 1 : cap;
    s->z.next_out = out;
    s->z.avail_out = (uInt)want;
    while (s->z.avail_out == want) {
        if (s->z.avail_in == 0 && s->comp_left > 0) {
            size_t n = s->comp_left < IN_CHUNK ? (size_t)s->comp_left : IN_CHUNK;
            if (fread(s->in, 1, n, s->f) != n)
                return short_read(s);
            s->comp_left -= n;
            s->z.next_in = s->in;
            s->z.avail_in = (uInt)n;
        }
        int zrc = inflate(&s->z, Z_NO_FLUSH);
        if (zrc == Z_STREAM_END) {
            s->z_end = 1;
            break;
        }
        if (zrc == Z_BUF_ERROR && s->z.avail_in == 0 && s->comp_left == 0)
            return stream_fail(s, ZIPR_EFORMAT,
                               "deflate data stop before the stream ends (truncated or corrupt)");
        if (zrc == Z_MEM_ERROR)
            return stream_fail(s, ZIPR_ENOMEM, "out of memory in inflate");
        if (zrc != Z_OK)
            return stream_fail(s, ZIPR_EFORMAT, "corrupt deflate data: %s",
                               s->z.msg ? s->z.msg : "inflate failed");
    }
    size_t got = want - s->z.avail_out;
    if (got > s->size - s->produced)
        return stream_fail(s, ZIPR_EFORMAT,
                           "inflates to more than the declared %" PRIu64 " bytes", s->size);
    add_output(s, out, got);
    if (got > 0)
        return (long)got;
    return read_deflated(s, out, cap); /* the stream ended with no output: verify */
}

long zipr_read(zipr_stream *s, void *buf, size_t cap)
{
    if (!s || !buf || cap == 0)
        return ZIPR_EINVAL;
    if (s->state < 0)
        return s->state;
    if (s->state == 1)
        return 0;
    /* Chunks stay within a uInt and a long. */
    if (cap > OUT_CHUNK)
        cap = OUT_CHUNK;
    return s->method == METHOD_STORED ? read_stored(s, buf, cap) : read_deflated(s, buf, cap);
}

static int grow_line(zipr_stream *s, size_t need)
{
    size_t cap = s->line_cap;
    while (cap < need)
        cap *= 2;
    char *grown = realloc(s->line, cap);
    if (!grown)
        return stream_fail(s, ZIPR_ENOMEM, "out of memory for line %" PRIu64, s->lines + 1);
    s->line = grown;
    s->line_cap = cap;
    return ZIPR_OK;
}

int zipr_getline(zipr_stream *s, const char **line, size_t *len)
{
    if (!s || !line || !len)
        return ZIPR_EINVAL;
    if (s->state < 0)
        return s->state;
    size_t n = 0;
    for (;;) {
        if (s->buf_pos == s->buf_len) {
            long got = zipr_read(s, s->buf, OUT_CHUNK);
            if (got < 0)
                return (int)got;
            if (got == 0) {
                if (n == 0)
                    return 0; /* nothing since the last newline: the end */
                break;        /* a last line without a newline */
            }
            s->buf_pos = 0;
            s->buf_len = (size_t)got;
        }
        const unsigned char *from = s->buf + s->buf_pos;
        const unsigned char *nl = memchr(from, '\n', s->buf_len - s->buf_pos);
        size_t take = nl ? (size_t)(nl - from) : s->buf_len - s->buf_pos;
        if (take > ZIPR_MAX_LINE - n)
            return stream_fail(s, ZIPR_EFORMAT, "line %" PRIu64 " is longer than %zu bytes",
                               s->lines + 1, ZIPR_MAX_LINE);
        if (n + take + 1 > s->line_cap && grow_line(s, n + take + 1) != ZIPR_OK)
            return s->state;
        memcpy(s->line + n, from, take);
        n += take;
        s->buf_pos += take;
        if (nl) {
            s->buf_pos++;
            break;
        }
    }
    if (n > 0 && s->line[n - 1] == '\r')
        n--;
    s->line[n] = '\0';
    s->lines++;
    *line = s->line;
    *len = n;
    return 1;
}

uint64_t zipr_line_number(const zipr_stream *s)
{
    return s ? s->lines : 0;
}

const char *zipr_stream_error(const zipr_stream *s)
{
    return s ? s->err : "";
}

const char *zipr_stream_member(const zipr_stream *s)
{
    return s ? s->name : "";
}

void zipr_stream_close(zipr_stream *s)
{
    if (!s)
        return;
    if (s->z_ready)
        inflateEnd(&s->z);
    if (s->f)
        fclose(s->f);
    free(s->in);
    free(s->buf);
    free(s->line);
    free(s->name);
    free(s->path);
    free(s);
}
