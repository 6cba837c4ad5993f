/*
 * zip_reader.h — read members of a zip archive, streaming, with zlib.
 *
 * Enough of the zip format (PKWARE APPNOTE) for the market-data archives in
 * the shared data folder: the end-of-central-directory record and the central
 * directory are parsed at open; a member is streamed from its local header,
 * stored (method 0) or deflated (method 8), and checked at its end against
 * the CRC-32 and both sizes the central directory declares. Sizes, CRC and
 * offset always come from the central directory: a local header may carry
 * zeros when the member has a data descriptor (general-purpose flag bit 3,
 * as in the LOBSTER samples).
 *
 * ZIP64: a member whose 32-bit size or offset field reads 0xFFFFFFFF takes
 * the value from its ZIP64 extended-information extra field (0x0001). The
 * FXCM EURUSD archives are written that way although every value fits in 32
 * bits, so that part is needed. A ZIP64 archive proper (a ZIP64 end record:
 * more than 65535 members or a central directory beyond 4 GiB) is refused
 * with ZIPR_EUNSUPPORTED, as are split archives, encrypted members and any
 * method other than 0 and 8.
 *
 * Every length and offset read from the file is checked against the file
 * size before use, so a damaged archive gives an error naming the file (and
 * the member) and what is wrong; it never reads out of bounds. A member's
 * output is capped at its declared size, so a damaged deflate stream cannot
 * inflate without bound.
 *
 * An archive and each stream opened on it are used by one thread at a time;
 * a stream has its own FILE, so several streams of one archive (the LOBSTER
 * message and order-book files) can be read in lock-step.
 */
#ifndef ZIP_READER_H
#define ZIP_READER_H

#include <stddef.h>
#include <stdint.h>

/** Return codes. */
#define ZIPR_OK 0
#define ZIPR_EINVAL (-1)       /**< bad argument, or no such member */
#define ZIPR_EIO (-2)          /**< the file cannot be opened or read */
#define ZIPR_ENOMEM (-3)       /**< out of memory */
#define ZIPR_EFORMAT (-4)      /**< malformed or corrupt archive or member
                                    (bad record, CRC or size mismatch,
                                    broken deflate data, truncation) */
#define ZIPR_EUNSUPPORTED (-5) /**< valid zip, but a feature this reader
                                    lacks (ZIP64 end record, split archive,
                                    encryption, compression method) */

/** Longest line zipr_getline returns; a longer line is an error. */
#define ZIPR_MAX_LINE ((size_t)16 << 20)

/** One member as the central directory describes it. */
typedef struct zipr_member {
    const char *name;      /**< NUL-terminated; a name holding NUL is refused */
    uint64_t comp_size;    /**< bytes stored in the archive */
    uint64_t size;         /**< bytes after decompression */
    uint64_t local_offset; /**< offset of its local header */
    uint32_t crc32;
    uint16_t method;       /**< 0 stored, 8 deflate; others cannot be read */
    uint16_t flags;        /**< general-purpose bit flags */
} zipr_member;

typedef struct zipr_archive zipr_archive;
typedef struct zipr_stream zipr_stream;

/** Open an archive and read its central directory. On failure *out is NULL
 *  and, when errbuf_cap > 0, errbuf holds "<path>: <what>". Returns ZIPR_OK,
 *  ZIPR_EINVAL, ZIPR_EIO, ZIPR_ENOMEM, ZIPR_EFORMAT or ZIPR_EUNSUPPORTED. */
int zipr_open(zipr_archive **out, const char *path, char *errbuf, size_t errbuf_cap);

/** Close an archive (streams opened on it stay usable). NULL is a no-op. */
void zipr_close(zipr_archive *archive);

/** The path the archive was opened with. */
const char *zipr_path(const zipr_archive *archive);

/** Number of members. */
size_t zipr_count(const zipr_archive *archive);

/** Member `index` (0..count-1) in central-directory order, or NULL. Valid
 *  until zipr_close. */
const zipr_member *zipr_member_at(const zipr_archive *archive, size_t index);

/** Index of the member named exactly `name`, or -1. */
long zipr_find(const zipr_archive *archive, const char *name);

/** Open member `index` for reading. Checks its local header (signature,
 *  method, name) and that its data lie inside the file. On failure *out is
 *  NULL and errbuf holds "<path>: <member>: <what>". Returns ZIPR_OK or a
 *  negative code as zipr_open. */
int zipr_stream_open(zipr_stream **out, const zipr_archive *archive, size_t index,
                     char *errbuf, size_t errbuf_cap);

/** Read up to `cap` decompressed bytes. Returns the count (> 0), 0 at the
 *  end of the member once its CRC-32 and sizes have been verified, or a
 *  negative code (zipr_stream_error says what). After an error every call
 *  returns it again. Do not mix with zipr_getline on one stream. */
long zipr_read(zipr_stream *stream, void *buf, size_t cap);

/** Next line of the member: *line points to it without its "\n" or "\r\n",
 *  NUL-terminated, valid until the next call; *len is its length (a NUL
 *  inside the line shows as strlen(*line) < *len). The last line needs no
 *  newline; a member ending in "\n" has no empty line after it. Returns 1 (a
 *  line), 0 at the end once the member is verified, or a negative code
 *  (a line over ZIPR_MAX_LINE is ZIPR_EFORMAT). Lines are handed out as they
 *  are decompressed, so a CRC mismatch shows only at the end, after lines of
 *  the damaged member were returned: treat an error as spoiling the member. */
int zipr_getline(zipr_stream *stream, const char **line, size_t *len);

/** Lines returned so far by zipr_getline (the 1-based number of the last). */
uint64_t zipr_line_number(const zipr_stream *stream);

/** Detail of the stream's last error, "<path>: <member>: <what>" ("" when
 *  none). */
const char *zipr_stream_error(const zipr_stream *stream);

/** The member the stream reads. */
const char *zipr_stream_member(const zipr_stream *stream);

/** Close a stream. NULL is a no-op. */
void zipr_stream_close(zipr_stream *stream);

/** Name of a return code ("ZIPR_EFORMAT", ...). */
const char *zipr_error_name(int code);

#endif /* ZIP_READER_H */
