#include "event_file.h"

#include <stdlib.h>
#include <string.h>

#define VERSION 1u

struct event_writer {
    FILE *f;
    int failed;
};

/* The reader buffers the file itself: one fread per READ_CHUNK instead of
 * one per record (stdio's per-call locking costs more than decoding). */
#define READ_CHUNK (1u << 20)

struct event_reader {
    FILE *f;
    uint64_t count;
    unsigned char *buf; /* READ_CHUNK bytes (or the caller's memory when f is
                           NULL); [pos, len) not yet decoded */
    size_t pos, len;
    char error[256];
};

/* Little-endian encoders, whatever the host's order. */
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* On a little-endian host a load is the decoding (GCC does not turn the
 * byte loop into one at -O2, and the replay runs at memory speed only
 * without it). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_IS_LITTLE_ENDIAN 1
#else
#define HOST_IS_LITTLE_ENDIAN 0
#endif

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    if (HOST_IS_LITTLE_ENDIAN) {
        memcpy(&v, p, sizeof v);
        return v;
    }
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_f64(unsigned char *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    put_u64(p, v);
}

static double get_f64(const unsigned char *p)
{
    const uint64_t v = get_u64(p);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    if (HOST_IS_LITTLE_ENDIAN) {
        memcpy(&v, p, sizeof v);
        return v;
    }
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

int event_file_detect(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    char magic[8];
    const size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return got == 8 && memcmp(magic, EVENT_FILE_MAGIC, 8) == 0;
}

int event_writer_open(event_writer **out, const char *path, char *err, size_t cap)
{
    *out = NULL;
    event_writer *w = calloc(1, sizeof *w);
    FILE *f = w ? fopen(path, "wb") : NULL;
    if (f == NULL) {
        free(w);
        snprintf(err, cap, "%s: cannot open for writing", path);
        return BCAP_EIO;
    }
    unsigned char head[16];
    memcpy(head, EVENT_FILE_MAGIC, 8);
    put_u32(head + 8, VERSION);
    put_u32(head + 12, 0);
    w->f = f;
    w->failed = fwrite(head, 1, sizeof head, f) != sizeof head;
    *out = w;
    return BCAP_OK;
}

int event_writer_put(event_writer *w, const bcap_event *ev)
{
    unsigned char buf[2 + 8 + 2 + 2 * CSCALP_BOOK_MAX_LEVELS * 16 + 64];
    size_t n = 0;
    buf[n++] = (unsigned char)ev->kind;
    switch (ev->kind) {
    case CSCALP_KIND_TRADE:
        put_u64(buf + n, (uint64_t)ev->trade.ts_ns);
        put_f64(buf + n + 8, ev->trade.price);
        put_f64(buf + n + 16, ev->trade.size);
        put_u32(buf + n + 24, (uint32_t)ev->trade.side);
        put_u32(buf + n + 28, ev->trade.flags);
        put_u64(buf + n + 32, (uint64_t)ev->trade.trade_id);
        n += 40;
        break;
    case CSCALP_KIND_QUOTE:
        put_u64(buf + n, (uint64_t)ev->quote.ts_ns);
        put_f64(buf + n + 8, ev->quote.bid_price);
        put_f64(buf + n + 16, ev->quote.bid_size);
        put_f64(buf + n + 24, ev->quote.ask_price);
        put_f64(buf + n + 32, ev->quote.ask_size);
        n += 40;
        break;
    case CSCALP_KIND_BOOK: {
        const cscalp_book *b = &ev->book;
        if (b->bid_count > CSCALP_BOOK_MAX_LEVELS || b->ask_count > CSCALP_BOOK_MAX_LEVELS)
            return BCAP_EINVAL;
        put_u64(buf + n, (uint64_t)b->ts_ns);
        buf[n + 8] = (unsigned char)b->bid_count;
        buf[n + 9] = (unsigned char)b->ask_count;
        n += 10;
        for (uint32_t i = 0; i < b->bid_count; i++, n += 16) {
            put_f64(buf + n, b->bids[i].price);
            put_f64(buf + n + 8, b->bids[i].size);
        }
        for (uint32_t i = 0; i < b->ask_count; i++, n += 16) {
            put_f64(buf + n, b->asks[i].price);
            put_f64(buf + n + 8, b->asks[i].size);
        }
        break;
    }
    case CSCALP_KIND_FUNDING:
        put_u64(buf + n, (uint64_t)ev->funding.ts_ns);
        put_f64(buf + n + 8, ev->funding.funding_rate);
        put_f64(buf + n + 16, ev->funding.mark_price);
        put_f64(buf + n + 24, ev->funding.index_price);
        put_u64(buf + n + 32, (uint64_t)ev->funding.next_funding_ts_ns);
        n += 40;
        break;
    default:
        return BCAP_EINVAL;
    }
    if (fwrite(buf, 1, n, w->f) != n)
        w->failed = 1;
    return w->failed ? BCAP_EIO : BCAP_OK;
}

int event_writer_close(event_writer *w, char *err, size_t cap)
{
    if (w == NULL)
        return BCAP_OK;
    int failed = w->failed;
    if (fclose(w->f) != 0)
        failed = 1;
    free(w);
    if (failed)
        snprintf(err, cap, "event file: write error");
    return failed ? BCAP_EIO : BCAP_OK;
}

#define HEAD_BYTES 16

/* The 16-byte head (`got` bytes of it read): BCAP_OK, or BCAP_EINVAL with
 * the reason, prefixed by `name`. */
static int check_head(const unsigned char *head, size_t got, const char *name, char *err,
                      size_t cap)
{
    if (got < HEAD_BYTES || memcmp(head, EVENT_FILE_MAGIC, 8) != 0) {
        snprintf(err, cap, "%s: not a cscalp event file", name);
        return BCAP_EINVAL;
    }
    if (get_u32(head + 8) != VERSION || get_u32(head + 12) != 0) {
        snprintf(err, cap, "%s: event file version %u, this reader knows %u", name,
                 get_u32(head + 8), VERSION);
        return BCAP_EINVAL;
    }
    return BCAP_OK;
}

int event_reader_open(event_reader **out, const char *path, char *err, size_t cap)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, cap, "%s: cannot open", path);
        return BCAP_EIO;
    }
    unsigned char head[HEAD_BYTES];
    const int rc = check_head(head, fread(head, 1, sizeof head, f), path, err, cap);
    event_reader *r = rc == BCAP_OK ? calloc(1, sizeof *r) : NULL;
    if (r == NULL) {
        fclose(f);
        if (rc == BCAP_OK)
            snprintf(err, cap, "out of memory");
        return rc == BCAP_OK ? BCAP_ENOMEM : rc;
    }
    r->f = f;
    r->buf = malloc(READ_CHUNK);
    if (r->buf == NULL) {
        event_reader_close(r);
        snprintf(err, cap, "out of memory");
        return BCAP_ENOMEM;
    }
    *out = r;
    return BCAP_OK;
}

int event_reader_open_memory(event_reader **out, const void *data, size_t len, char *err,
                            size_t cap)
{
    *out = NULL;
    const int rc = check_head(data, len, "(memory)", err, cap);
    if (rc != BCAP_OK)
        return rc;
    event_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(err, cap, "out of memory");
        return BCAP_ENOMEM;
    }
    r->buf = (unsigned char *)(uintptr_t)data; /* only read: f is NULL */
    r->pos = HEAD_BYTES;
    r->len = len;
    *out = r;
    return BCAP_OK;
}

static int damaged(event_reader *r, const char *what)
{
    snprintf(r->error, sizeof r->error, "event file: record %llu: %s",
             (unsigned long long)r->count, what);
    return BCAP_EIO;
}

/* The next n (<= READ_CHUNK) bytes, or NULL when the file ends first. */
static const unsigned char *take(event_reader *r, size_t n)
{
    if (r->len - r->pos < n) {
        if (r->f == NULL)
            return NULL; /* in memory: there is no more */
        const size_t left = r->len - r->pos;
        memmove(r->buf, r->buf + r->pos, left);
        r->pos = 0;
        r->len = left + fread(r->buf + left, 1, READ_CHUNK - left, r->f);
        if (r->len < n)
            return NULL;
    }
    const unsigned char *p = r->buf + r->pos;
    r->pos += n;
    return p;
}

int event_reader_next(event_reader *r, bcap_event *ev)
{
    const unsigned char *k = take(r, 1);
    if (k == NULL)
        return r->f && ferror(r->f) ? damaged(r, "read error") : 0;
    const int kind = k[0];
    const unsigned char *buf;
    /* Only the member of the record's kind is written (a book's levels up
     * to its counts): the rest of *ev is not part of the event. */
    ev->kind = kind;
    switch (kind) {
    case CSCALP_KIND_TRADE:
        if ((buf = take(r, 40)) == NULL)
            return damaged(r, "truncated trade");
        ev->trade.ts_ns = (int64_t)get_u64(buf);
        ev->trade.price = get_f64(buf + 8);
        ev->trade.size = get_f64(buf + 16);
        ev->trade.side = (int32_t)get_u32(buf + 24);
        ev->trade.flags = get_u32(buf + 28);
        ev->trade.trade_id = (int64_t)get_u64(buf + 32);
        break;
    case CSCALP_KIND_QUOTE:
        if ((buf = take(r, 40)) == NULL)
            return damaged(r, "truncated quote");
        ev->quote.ts_ns = (int64_t)get_u64(buf);
        ev->quote.bid_price = get_f64(buf + 8);
        ev->quote.bid_size = get_f64(buf + 16);
        ev->quote.ask_price = get_f64(buf + 24);
        ev->quote.ask_size = get_f64(buf + 32);
        break;
    case CSCALP_KIND_BOOK: {
        if ((buf = take(r, 10)) == NULL)
            return damaged(r, "truncated book");
        cscalp_book *b = &ev->book;
        b->ts_ns = (int64_t)get_u64(buf);
        b->bid_count = buf[8];
        b->ask_count = buf[9];
        if (b->bid_count > CSCALP_BOOK_MAX_LEVELS || b->ask_count > CSCALP_BOOK_MAX_LEVELS)
            return damaged(r, "book level count above 50");
        const size_t n = 16 * (size_t)(b->bid_count + b->ask_count);
        if ((buf = take(r, n)) == NULL)
            return damaged(r, "truncated book levels");
        size_t o = 0;
        for (uint32_t i = 0; i < b->bid_count; i++, o += 16)
            b->bids[i] = (cscalp_level){get_f64(buf + o), get_f64(buf + o + 8)};
        for (uint32_t i = 0; i < b->ask_count; i++, o += 16)
            b->asks[i] = (cscalp_level){get_f64(buf + o), get_f64(buf + o + 8)};
        break;
    }
    case CSCALP_KIND_FUNDING:
        if ((buf = take(r, 40)) == NULL)
            return damaged(r, "truncated funding");
        ev->funding.ts_ns = (int64_t)get_u64(buf);
        ev->funding.funding_rate = get_f64(buf + 8);
        ev->funding.mark_price = get_f64(buf + 16);
        ev->funding.index_price = get_f64(buf + 24);
        ev->funding.next_funding_ts_ns = (int64_t)get_u64(buf + 32);
        break;
    default:
        return damaged(r, "unknown record kind");
    }
    r->count++;
    return 1;
}

const char *event_reader_error(const event_reader *r) { return r->error; }

uint64_t event_reader_count(const event_reader *r) { return r->count; }

void event_reader_close(event_reader *r)
{
    if (r == NULL)
        return;
    if (r->f) {
        fclose(r->f);
        free(r->buf);
    }
    free(r);
}
