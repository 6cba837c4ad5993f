#include "persist/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/crc32c.h"

/* Offsets in the header (docs/checkpoint.md). The first 16 bytes (magic,
 * version, byte-order mark) keep their place in every format version, so
 * any version can at least be recognised and named; the rest is version 1's. */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 8,
    OFF_BOM = 12,
    OFF_COUNT = 16,
    OFF_FLAGS = 20,
    OFF_TOTAL = 24,
    OFF_TABLE = 32,
    /* within a table entry */
    ENT_ID = 0,
    ENT_RESERVED0 = 4,
    ENT_OFFSET = 8,
    ENT_LENGTH = 16,
    ENT_CRC = 24,
    ENT_RESERVED1 = 28,
    MAGIC_SIZE = 8,
};

#define SWAPPED_BOM 0x04030201u
#define HEADER_MAX CSCALP_CKPT_HEADER_SIZE(CSCALP_CKPT_MAX_SECTIONS)

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static void store32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void store64(uint8_t *p, uint64_t v)
{
    store32(p, (uint32_t)v);
    store32(p + 4, (uint32_t)(v >> 32));
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(char *why, size_t cap, int code, const char *fmt, ...)
{
    if (why != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */

enum { W_BETWEEN = 0, W_IN_SECTION = 1, W_FINISHED = 2 };

static int sticky(cscalp_ckpt_writer *cw, int code)
{
    if (cw->error == CSCALP_OK)
        cw->error = code;
    return cw->error;
}

/* Where the next section must start: right after the last one, so every
 * payload byte belongs to a section and is covered by its CRC. Offsets are
 * relative to cw->base until finish prepends the header. */
static size_t payload_end(const cscalp_ckpt_writer *cw)
{
    if (cw->count == 0)
        return cw->base;
    const cscalp_ckpt_section_info *last = &cw->sections[cw->count - 1];
    return cw->base + (size_t)(last->offset + last->length);
}

void cscalp_ckpt_begin(cscalp_ckpt_writer *cw, cscalp_wbuf *w)
{
    memset(cw, 0, sizeof *cw);
    cw->w = w;
    cw->base = w->len;
    cw->state = W_BETWEEN;
    cw->error = w->failed ? CSCALP_ENOMEM : CSCALP_OK;
}

int cscalp_ckpt_begin_section(cscalp_ckpt_writer *cw, uint32_t id)
{
    if (cw->error != CSCALP_OK)
        return cw->error;
    if (cw->w->failed)
        return sticky(cw, CSCALP_ENOMEM);
    if (cw->state != W_BETWEEN || cw->count == CSCALP_CKPT_MAX_SECTIONS ||
        cw->w->len != payload_end(cw))
        return sticky(cw, CSCALP_EINVAL);
    for (uint32_t i = 0; i < cw->count; i++)
        if (cw->sections[i].id == id)
            return sticky(cw, CSCALP_EINVAL);
    cw->sections[cw->count].id = id;
    cw->open_at = cw->w->len;
    cw->state = W_IN_SECTION;
    return CSCALP_OK;
}

int cscalp_ckpt_end_section(cscalp_ckpt_writer *cw)
{
    if (cw->error != CSCALP_OK)
        return cw->error;
    if (cw->w->failed)
        return sticky(cw, CSCALP_ENOMEM);
    if (cw->state != W_IN_SECTION)
        return sticky(cw, CSCALP_EINVAL);
    cscalp_ckpt_section_info *s = &cw->sections[cw->count];
    s->offset = cw->open_at - cw->base;
    s->length = cw->w->len - cw->open_at;
    s->crc32c = cscalp_crc32c(0, cw->w->data + cw->open_at, (size_t)s->length);
    cw->count++;
    cw->state = W_BETWEEN;
    return CSCALP_OK;
}

int cscalp_ckpt_finish(cscalp_ckpt_writer *cw)
{
    if (cw->error != CSCALP_OK)
        return cw->error;
    if (cw->w->failed)
        return sticky(cw, CSCALP_ENOMEM);
    if (cw->state != W_BETWEEN || cw->w->len != payload_end(cw))
        return sticky(cw, CSCALP_EINVAL);

    const size_t header = CSCALP_CKPT_HEADER_SIZE(cw->count);
    const size_t payload = cw->w->len - cw->base;
    uint8_t h[HEADER_MAX];
    memset(h, 0, header);
    memcpy(h + OFF_MAGIC, CSCALP_CKPT_MAGIC, MAGIC_SIZE);
    store32(h + OFF_VERSION, CSCALP_CKPT_VERSION);
    store32(h + OFF_BOM, CSCALP_CKPT_BYTE_ORDER_MARK);
    store32(h + OFF_COUNT, cw->count);
    store32(h + OFF_FLAGS, 0);
    store64(h + OFF_TOTAL, (uint64_t)header + payload);
    for (uint32_t i = 0; i < cw->count; i++) {
        cscalp_ckpt_section_info *s = &cw->sections[i];
        s->offset += header;
        uint8_t *e = h + OFF_TABLE + CSCALP_CKPT_ENTRY_SIZE * i;
        store32(e + ENT_ID, s->id);
        store64(e + ENT_OFFSET, s->offset);
        store64(e + ENT_LENGTH, s->length);
        store32(e + ENT_CRC, s->crc32c);
    }
    store32(h + header - 4, cscalp_crc32c(0, h, header - 4));

    /* Grow by the header's size (the appended bytes are scratch), slide the
     * payloads up, and put the header in front. */
    cscalp_put_bytes(cw->w, h, header);
    if (cw->w->failed)
        return sticky(cw, CSCALP_ENOMEM);
    uint8_t *start = cw->w->data + cw->base;
    memmove(start + header, start, payload);
    memcpy(start, h, header);
    cw->state = W_FINISHED;
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static int refuse(cscalp_ckpt_reader *out, char *why, size_t cap, int code, const char *fmt, ...)
{
    memset(out, 0, sizeof *out);
    if (why != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Whether the header would be a sound version-1 header if its version field
 * read 1: then the field was damaged, not written by another version (a
 * header of another layout matches by chance once in 2^32). */
static int damaged_version_field(const uint8_t *b, size_t len)
{
    const uint32_t count = le32(b + OFF_COUNT);
    if (count > CSCALP_CKPT_MAX_SECTIONS || len < CSCALP_CKPT_HEADER_SIZE(count))
        return 0;
    const size_t header = CSCALP_CKPT_HEADER_SIZE(count);
    uint8_t one[4];
    store32(one, CSCALP_CKPT_VERSION);
    uint32_t crc = cscalp_crc32c(0, b, OFF_VERSION);
    crc = cscalp_crc32c(crc, one, 4);
    crc = cscalp_crc32c(crc, b + OFF_VERSION + 4, header - 4 - (OFF_VERSION + 4));
    return crc == le32(b + header - 4);
}

/* The checks run in an order where each one's message is the most useful
 * diagnosis: magic (is this a checkpoint at all?), byte order and version
 * (can this library read its layout? everything after the first 16 bytes
 * may differ in another version, so a header CRC "mismatch" on a newer file
 * would hide the real reason), then the header's own CRC before any of its
 * fields is trusted, then lengths, then each payload's CRC. */
int cscalp_ckpt_parse(const void *data, size_t len, cscalp_ckpt_reader *out, char *why,
                      size_t cap)
{
    if (out == NULL)
        return fail(why, cap, CSCALP_EINVAL, "checkpoint: no reader to fill");
    if (data == NULL && len > 0)
        return refuse(out, why, cap, CSCALP_EINVAL, "checkpoint: no data");
    const uint8_t *b = data;
    const size_t smallest = CSCALP_CKPT_HEADER_SIZE(0);

    if (len == 0 || memcmp(b, CSCALP_CKPT_MAGIC, len < MAGIC_SIZE ? len : MAGIC_SIZE) != 0)
        return refuse(out, why, cap, CSCALP_ECORRUPT,
                      "not a checkpoint: %zu bytes that do not start with \"%s\"", len,
                      CSCALP_CKPT_MAGIC);
    if (len < smallest)
        return refuse(out, why, cap, CSCALP_ECORRUPT,
                      "checkpoint truncated: %zu bytes, the smallest checkpoint has %zu", len,
                      smallest);

    /* A big-endian writer's version field is byte-swapped too, so the mark
     * is read first to name the real problem. */
    const uint32_t bom = le32(b + OFF_BOM);
    if (bom == SWAPPED_BOM)
        return refuse(out, why, cap, CSCALP_EVERSION,
                      "big-endian checkpoint (byte-order mark 0x%08x): this library reads "
                      "little-endian ones",
                      bom);
    const uint32_t version = le32(b + OFF_VERSION);
    if (version != CSCALP_CKPT_VERSION) {
        if (bom == CSCALP_CKPT_BYTE_ORDER_MARK && damaged_version_field(b, len))
            return refuse(out, why, cap, CSCALP_ECORRUPT,
                          "checkpoint version field damaged: reads %u, but the header's "
                          "CRC32C matches version %u",
                          version, CSCALP_CKPT_VERSION);
        return refuse(out, why, cap, CSCALP_EVERSION,
                      "checkpoint format version %u, this library reads %u", version,
                      CSCALP_CKPT_VERSION);
    }
    if (bom != CSCALP_CKPT_BYTE_ORDER_MARK)
        return refuse(out, why, cap, CSCALP_ECORRUPT,
                      "checkpoint byte-order mark 0x%08x, expected 0x%08x", bom,
                      CSCALP_CKPT_BYTE_ORDER_MARK);

    const uint32_t count = le32(b + OFF_COUNT);
    if (count > CSCALP_CKPT_MAX_SECTIONS)
        return refuse(out, why, cap, CSCALP_ECORRUPT,
                      "checkpoint section count %u, at most %u", count,
                      CSCALP_CKPT_MAX_SECTIONS);
    const size_t header = CSCALP_CKPT_HEADER_SIZE(count);
    if (len < header)
        return refuse(out, why, cap, CSCALP_ECORRUPT,
                      "checkpoint truncated: %zu bytes, the header of %u sections alone has %zu",
                      len, count, header);
    const uint32_t header_crc = cscalp_crc32c(0, b, header - 4);
    if (header_crc != le32(b + header - 4))
        return refuse(out, why, cap, CSCALP_ECORRUPT,
                      "checkpoint header: CRC32C 0x%08x, expected 0x%08x", header_crc,
                      le32(b + header - 4));

    /* The header is now known intact: what follows are writer mistakes or
     * another writer's extensions, not damage. */
    const uint32_t flags = le32(b + OFF_FLAGS);
    if (flags != 0)
        return refuse(out, why, cap, CSCALP_EVERSION,
                      "checkpoint flags 0x%08x: this library knows none", flags);
    const uint64_t total = le64(b + OFF_TOTAL);
    if (total > len)
        return refuse(out, why, cap, CSCALP_ECORRUPT,
                      "checkpoint truncated: %zu bytes, the header says %llu", len,
                      (unsigned long long)total);
    if (total < len)
        return refuse(out, why, cap, CSCALP_ECORRUPT,
                      "checkpoint has %zu bytes, the header says %llu: %llu trailing bytes", len,
                      (unsigned long long)total, (unsigned long long)(len - total));

    /* Version 1 lays the payloads end to end in table order from the end of
     * the header to the end of the file; requiring exactly that leaves no
     * byte outside a CRC, so no damage can go unnoticed. */
    uint64_t next = header;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = b + OFF_TABLE + CSCALP_CKPT_ENTRY_SIZE * i;
        cscalp_ckpt_section_info *s = &out->sections[i];
        s->id = le32(e + ENT_ID);
        s->offset = le64(e + ENT_OFFSET);
        s->length = le64(e + ENT_LENGTH);
        s->crc32c = le32(e + ENT_CRC);
        if (le32(e + ENT_RESERVED0) != 0 || le32(e + ENT_RESERVED1) != 0)
            return refuse(out, why, cap, CSCALP_ECORRUPT,
                          "section %u (id %u): reserved fields 0x%08x 0x%08x, must be 0", i,
                          s->id, le32(e + ENT_RESERVED0), le32(e + ENT_RESERVED1));
        for (uint32_t j = 0; j < i; j++)
            if (out->sections[j].id == s->id)
                return refuse(out, why, cap, CSCALP_ECORRUPT,
                              "section %u has id %u, as section %u does", i, s->id, j);
        if (s->offset > total || s->length > total - s->offset)
            return refuse(out, why, cap, CSCALP_ECORRUPT,
                          "section %u (id %u): %llu bytes at offset %llu run past the end "
                          "(%llu)",
                          i, s->id, (unsigned long long)s->length,
                          (unsigned long long)s->offset, (unsigned long long)total);
        if (s->offset < next)
            return refuse(out, why, cap, CSCALP_ECORRUPT,
                          "section %u (id %u): offset %llu overlaps %s ending at %llu", i,
                          s->id, (unsigned long long)s->offset,
                          i == 0 ? "the header" : "the previous section",
                          (unsigned long long)next);
        if (s->offset > next)
            return refuse(out, why, cap, CSCALP_ECORRUPT,
                          "section %u (id %u): offset %llu leaves %llu bytes unchecked after "
                          "offset %llu",
                          i, s->id, (unsigned long long)s->offset,
                          (unsigned long long)(s->offset - next), (unsigned long long)next);
        next = s->offset + s->length;
    }
    if (next != total)
        return refuse(out, why, cap, CSCALP_ECORRUPT,
                      "checkpoint: %llu bytes after the last section belong to none",
                      (unsigned long long)(total - next));

    for (uint32_t i = 0; i < count; i++) {
        const cscalp_ckpt_section_info *s = &out->sections[i];
        const uint32_t crc = cscalp_crc32c(0, b + s->offset, (size_t)s->length);
        if (crc != s->crc32c)
            return refuse(out, why, cap, CSCALP_ECORRUPT,
                          "section %u (id %u): CRC32C 0x%08x, expected 0x%08x", i, s->id, crc,
                          s->crc32c);
    }

    out->data = b;
    out->len = len;
    out->count = count;
    return CSCALP_OK;
}

int cscalp_ckpt_section(const cscalp_ckpt_reader *r, uint32_t id, cscalp_rbuf *out, char *why,
                        size_t cap)
{
    if (r == NULL || out == NULL)
        return fail(why, cap, CSCALP_EINVAL, "checkpoint section: NULL argument");
    for (uint32_t i = 0; i < r->count; i++) {
        const cscalp_ckpt_section_info *s = &r->sections[i];
        if (s->id == id) {
            cscalp_rbuf_init(out, r->data + s->offset, (size_t)s->length);
            return CSCALP_OK;
        }
    }
    cscalp_rbuf_init(out, NULL, 0);
    out->failed = 1;
    return fail(why, cap, CSCALP_ECORRUPT, "checkpoint: section id %u missing", id);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */

static ssize_t sys_write(void *ctx, int fd, const void *buf, size_t n)
{
    (void)ctx;
    return write(fd, buf, n);
}

static int sys_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fsync(fd);
}

static int sys_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}

static int sys_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return rename(from, to);
}

static const cscalp_ckpt_io system_io = {sys_write, sys_fsync, sys_close, sys_rename, NULL};

const cscalp_ckpt_io *cscalp_ckpt_system_io(void) { return &system_io; }

/* strerror is not required to be thread-safe; engines on different threads
 * may save at once. */
typedef struct errtext {
    char s[128];
} errtext;

static errtext describe(int err)
{
    errtext t;
    if (strerror_r(err, t.s, sizeof t.s) != 0)
        snprintf(t.s, sizeof t.s, "error %d", err);
    return t;
}

/* Unlink the temporary after a failure, keeping the failure's errno. */
static int discard(const char *tmp, int err, char *why, size_t cap, const char *step)
{
    unlink(tmp);
    return fail(why, cap, CSCALP_EIO, "checkpoint: %s %s: %s", step, tmp, describe(err).s);
}

int cscalp_ckpt_write_file(const char *path, const void *data, size_t len, char *why,
                           size_t cap)
{
    return cscalp_ckpt_write_file_io(NULL, path, data, len, why, cap);
}

int cscalp_ckpt_write_file_io(const cscalp_ckpt_io *io, const char *path, const void *data,
                              size_t len, char *why, size_t cap)
{
    if (io == NULL)
        io = &system_io;
    if (path == NULL || path[0] == '\0')
        return fail(why, cap, CSCALP_EINVAL, "checkpoint: no path");
    if (data == NULL && len > 0)
        return fail(why, cap, CSCALP_EINVAL, "checkpoint: no data");

    /* The pid keeps two processes saving to one path off each other's
     * temporary; the same directory keeps the rename atomic (no rename
     * across file systems). */
    char tmp[PATH_MAX + 32];
    const int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return fail(why, cap, CSCALP_EIO, "checkpoint: temporary for a %zu-byte path: %s",
                    strlen(path), describe(ENAMETOOLONG).s);

    /* A temporary of this name is left over from a crashed save by an
     * earlier process with our pid; nobody else writes it. O_EXCL then
     * refuses to follow anything planted at the name in between. */
    unlink(tmp);
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0)
        return fail(why, cap, CSCALP_EIO, "checkpoint: create temporary %s: %s", tmp,
                    describe(errno).s);

    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        const ssize_t w = io->write(io->ctx, fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* write returning 0 for a non-zero count makes no progress;
             * treat it as the disk refusing. */
            const int err = w < 0 ? errno : EIO;
            io->close(io->ctx, fd);
            return discard(tmp, err, why, cap, "write");
        }
        p += w;
        left -= (size_t)w;
    }
    if (io->fsync(io->ctx, fd) != 0) {
        const int err = errno;
        io->close(io->ctx, fd);
        return discard(tmp, err, why, cap, "fsync");
    }
    /* NFS and some others report deferred write errors only at close. */
    if (io->close(io->ctx, fd) != 0)
        return discard(tmp, errno, why, cap, "close");
    if (io->rename(io->ctx, tmp, path) != 0) {
        const int err = errno;
        unlink(tmp);
        return fail(why, cap, CSCALP_EIO, "checkpoint: rename %s to %s: %s", tmp, path,
                    describe(err).s);
    }

    /* The rename lives in the directory; without this fsync a power loss
     * can bring back the old name→file link (or none, for a first save). */
    char dir[PATH_MAX + 32];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        const size_t dl = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, dl);
        dir[dl] = '\0';
    }
    const int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return fail(why, cap, CSCALP_EIO,
                    "checkpoint: %s written, but open directory %s to sync it: %s", path, dir,
                    describe(errno).s);
    if (io->fsync(io->ctx, dfd) != 0) {
        const int err = errno;
        close(dfd);
        return fail(why, cap, CSCALP_EIO, "checkpoint: %s written, but fsync directory %s: %s",
                    path, dir, describe(err).s);
    }
    /* Nothing was written through this descriptor; closing cannot lose data. */
    close(dfd);
    return CSCALP_OK;
}

int cscalp_ckpt_read_file(const cscalp_allocator *mem, const char *path, size_t max_len,
                          void **data, size_t *len, char *why, size_t cap)
{
    if (data != NULL)
        *data = NULL;
    if (len != NULL)
        *len = 0;
    if (path == NULL || data == NULL || len == NULL)
        return fail(why, cap, CSCALP_EINVAL, "checkpoint: NULL argument");
    cscalp_allocator m;
    if (cscalp_mem_init(&m, mem) != CSCALP_OK)
        return fail(why, cap, CSCALP_EINVAL, "checkpoint: allocator with a NULL function");

    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(why, cap, CSCALP_EIO, "checkpoint: open %s: %s", path, describe(errno).s);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        const int err = errno;
        close(fd);
        return fail(why, cap, CSCALP_EIO, "checkpoint: stat %s: %s", path, describe(err).s);
    }
    /* The size must be known up front to bound the allocation; pipes and
     * devices have none (and /dev/zero would never end). */
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fail(why, cap, CSCALP_EIO, "checkpoint: %s is not a regular file", path);
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > (uintmax_t)max_len) {
        close(fd);
        return fail(why, cap, CSCALP_ECORRUPT,
                    "checkpoint: %s has %lld bytes, more than the %zu accepted", path,
                    (long long)st.st_size, max_len);
    }
    const size_t size = (size_t)st.st_size;
    uint8_t *buf = m.alloc(m.opaque, size > 0 ? size : 1);
    if (buf == NULL) {
        close(fd);
        return fail(why, cap, CSCALP_ENOMEM, "checkpoint: %zu bytes for %s: out of memory",
                    size, path);
    }

    size_t got = 0;
    for (;;) {
        /* One byte past the size tells a file still growing from one read
         * exactly. */
        uint8_t extra;
        const int probe = got == size;
        const ssize_t r = probe ? read(fd, &extra, 1) : read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            const int err = errno;
            close(fd);
            cscalp_mem_free(&m, buf);
            return fail(why, cap, CSCALP_EIO, "checkpoint: read %s: %s", path,
                        describe(err).s);
        }
        if (r == 0)
            break;
        if (probe) {
            close(fd);
            cscalp_mem_free(&m, buf);
            return fail(why, cap, CSCALP_EIO,
                        "checkpoint: %s grew while being read (a writer not using rename?)",
                        path);
        }
        got += (size_t)r;
    }
    /* Read-only descriptor: a close error cannot lose data. */
    close(fd);
    *data = buf;
    *len = got;
    return CSCALP_OK;
}
