/* The checkpoint container (docs/checkpoint.md is the format, byte by byte):
 * a header with a section table, then the sections' payloads, every byte
 * covered by a CRC-32C. This layer knows nothing of what the sections hold;
 * the engine writes and reads their payloads with util/bytes.h.
 *
 * Saving: build the whole checkpoint in memory with the writer, then hand it
 * to cscalp_ckpt_write_file, which replaces the file atomically (temporary,
 * fsync, rename, directory fsync). Loading: cscalp_ckpt_read_file, then
 * cscalp_ckpt_parse, which verifies the entire checkpoint before any section
 * is handed out, so a damaged file is refused before the engine is touched.
 *
 * Files are POSIX; Linux is the target (the durability argument relies on
 * fsync of the file and of its directory, as on Linux file systems).
 * Nothing here keeps global state; distinct writers and readers may be used
 * on distinct threads. */
#ifndef CSCALP_PERSIST_CHECKPOINT_H
#define CSCALP_PERSIST_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cryptoscalp.h"
#include "util/bytes.h"

#define CSCALP_CKPT_MAGIC "CSCALPCK" /* 8 bytes, no terminator in the file */
#define CSCALP_CKPT_VERSION 1u
#define CSCALP_CKPT_BYTE_ORDER_MARK 0x01020304u
/* A bound on the table, so a damaged count cannot make the reader walk
 * gigabytes of "table"; the engine needs a dozen. */
#define CSCALP_CKPT_MAX_SECTIONS 64u
/* Header = fixed part, one entry per section, then the header's CRC. */
#define CSCALP_CKPT_FIXED_SIZE 32u
#define CSCALP_CKPT_ENTRY_SIZE 32u
#define CSCALP_CKPT_HEADER_SIZE(count) \
    (CSCALP_CKPT_FIXED_SIZE + CSCALP_CKPT_ENTRY_SIZE * (size_t)(count) + 4u)

/* One section as the table records it; offset is from the checkpoint's
 * first byte. */
typedef struct cscalp_ckpt_section_info {
    uint32_t id;
    uint32_t crc32c;
    uint64_t offset;
    uint64_t length;
} cscalp_ckpt_section_info;

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

/* Writer state; fill with cscalp_ckpt_begin, no cleanup needed (the bytes
 * live in the caller's wbuf). */
typedef struct cscalp_ckpt_writer {
    cscalp_wbuf *w;
    size_t base;    /* w->len at begin: the checkpoint's first byte */
    size_t open_at; /* w->len when the open section began */
    int state;      /* see checkpoint.c */
    int error;      /* first error; every later call returns it */
    uint32_t count;
    cscalp_ckpt_section_info sections[CSCALP_CKPT_MAX_SECTIONS];
} cscalp_ckpt_writer;

/* Start a checkpoint at the end of w (normally empty; anything already in w
 * is left alone, before the checkpoint). w must outlive the writer. */
void cscalp_ckpt_begin(cscalp_ckpt_writer *cw, cscalp_wbuf *w);

/* Open a section; the caller then appends its payload to the same wbuf (any
 * length, 0 included) and closes it with cscalp_ckpt_end_section. Section
 * ids are the caller's; the table keeps them in the order they were written.
 * Errors: CSCALP_EINVAL (a section is already open, the id was used before,
 * CSCALP_CKPT_MAX_SECTIONS reached, the checkpoint is finished, or bytes
 * were appended outside any section), CSCALP_ENOMEM (the wbuf failed). */
int cscalp_ckpt_begin_section(cscalp_ckpt_writer *cw, uint32_t id);

/* Close the open section: its length and CRC-32C are taken from the bytes
 * appended since cscalp_ckpt_begin_section.
 * Errors: CSCALP_EINVAL (no section open), CSCALP_ENOMEM (the wbuf failed). */
int cscalp_ckpt_end_section(cscalp_ckpt_writer *cw);

/* Put the header in front of the payloads (they move up by its size), with
 * the section table and every CRC. On CSCALP_OK the checkpoint is the bytes
 * of w from cw->base to w->len, ready for cscalp_ckpt_write_file.
 * Errors: CSCALP_EINVAL (a section is still open, already finished, bytes
 * appended outside a section), CSCALP_ENOMEM.
 * Errors are sticky: after the first, every call returns it, so a caller may
 * ignore the per-section returns and check finish alone. */
int cscalp_ckpt_finish(cscalp_ckpt_writer *cw);

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

/* A verified checkpoint. It borrows the bytes given to cscalp_ckpt_parse,
 * which must stay unchanged while the reader is used. */
typedef struct cscalp_ckpt_reader {
    const uint8_t *data;
    size_t len;
    uint32_t count;
    cscalp_ckpt_section_info sections[CSCALP_CKPT_MAX_SECTIONS];
} cscalp_ckpt_reader;

/* Verify the whole checkpoint in data[0, len): magic, format version, byte
 * order, header CRC, table (bounds, payloads contiguous and covering the
 * rest of the file exactly, ids unique), total length, every payload's CRC.
 * Never reads outside data[0, len). On any failure *out is zeroed (no
 * sections) and `why` (may be NULL when cap is 0) names what failed: the
 * section's index and id, the two CRCs, the two lengths.
 * Errors: CSCALP_EINVAL (out NULL, or data NULL with len > 0),
 * CSCALP_EVERSION (another format version, a big-endian checkpoint, flags
 * this library does not know), CSCALP_ECORRUPT (anything else). */
int cscalp_ckpt_parse(const void *data, size_t len, cscalp_ckpt_reader *out, char *why,
                      size_t cap);

/* A reader over section `id`'s payload. Errors: CSCALP_EINVAL (NULL
 * argument), CSCALP_ECORRUPT ("section id N missing"; *out is then empty
 * with `failed` set, so reading it yields zeros and failure). Whether a
 * missing section matters is the caller's decision. */
int cscalp_ckpt_section(const cscalp_ckpt_reader *r, uint32_t id, cscalp_rbuf *out, char *why,
                        size_t cap);

/* ------------------------------------------------------------------------ */
/* Files                                                                    */

/* Replace the file at `path` with data[0, len), atomically: the bytes go to
 * "<path>.tmp.<pid>" in the same directory (any stale one of that name is
 * removed first, then it is created with O_CREAT | O_EXCL, mode 0666 less
 * the umask), written in full, fsynced and closed; renamed over `path`; then
 * the directory is fsynced so the rename itself survives a power loss.
 * Until the rename, a failure unlinks the temporary and leaves any existing
 * file at `path` untouched. A failure opening or fsyncing the directory
 * comes after the rename: `path` then holds the new checkpoint, but its
 * durability is not assured. Two saves to one path at once from the same
 * process are not supported (they share the temporary's name).
 * Errors: CSCALP_EINVAL (path NULL or empty, data NULL with len > 0),
 * CSCALP_EIO with `why` naming the step, the file and strerror(errno). */
int cscalp_ckpt_write_file(const char *path, const void *data, size_t len, char *why,
                           size_t cap);

/* The system calls cscalp_ckpt_write_file makes once the temporary is open,
 * replaceable so tests can make each one fail (after N bytes, with EINTR,
 * short) and check the old file survives. Each behaves like the POSIX call
 * and sets errno on failure; `close` must release fd even when it fails, as
 * close(2) does on Linux. */
typedef struct cscalp_ckpt_io {
    ssize_t (*write)(void *ctx, int fd, const void *buf, size_t n);
    int (*fsync)(void *ctx, int fd); /* the file's, then the directory's */
    int (*close)(void *ctx, int fd); /* the file's */
    int (*rename)(void *ctx, const char *from, const char *to);
    void *ctx;
} cscalp_ckpt_io;

/* The real system calls (what a NULL `io` means), for a caller that
 * replaces only one of them. */
const cscalp_ckpt_io *cscalp_ckpt_system_io(void);

/* cscalp_ckpt_write_file through `io` (NULL: the real system calls). */
int cscalp_ckpt_write_file_io(const cscalp_ckpt_io *io, const char *path, const void *data,
                              size_t len, char *why, size_t cap);

/* Read the whole regular file at `path` into memory from `mem` (NULL:
 * malloc). On CSCALP_OK the caller owns *data (free it with
 * cscalp_mem_free(mem, …), or free() when mem is NULL; never NULL, even
 * for an empty file) and *len is its length. A file that shrinks while
 * being read yields what was there (cscalp_ckpt_parse then reports the
 * truncation).
 * Errors: CSCALP_EINVAL (path, data or len NULL; mem with a NULL function),
 * CSCALP_EIO (cannot open, stat or read; not a regular file; grew while
 * being read), CSCALP_ECORRUPT (larger than max_len bytes: no checkpoint
 * the caller accepts is that big), CSCALP_ENOMEM. `why` names the path. */
int cscalp_ckpt_read_file(const cscalp_allocator *mem, const char *path, size_t max_len,
                          void **data, size_t *len, char *why, size_t cap);

#endif
