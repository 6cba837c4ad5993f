#include "sources.h"

#include <string.h>

#include "zip_reader.h"

static const char *const kind_names[] = {"binance", "lobster", "fxcm", "tardis", "events"};

const char *source_kind_name(source_kind kind) { return kind_names[kind]; }

int source_detect(const char *path, source_kind *kind, char *err, size_t cap)
{
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "%s: cannot open", path);
        return SOURCE_EIO;
    }
    const size_t got = fread(magic, 1, sizeof magic, f);
    const int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        snprintf(err, cap, "%s: read error", path);
        return SOURCE_EIO;
    }
    if (event_file_detect(path) == 1) {
        *kind = SRC_EVENTS;
        return SOURCE_OK;
    }
    if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        const int tardis = tardis_detect(path);
        if (tardis < 0) {
            snprintf(err, cap, "%s: cannot read the compressed text", path);
            return SOURCE_EIO;
        }
        *kind = tardis ? SRC_TARDIS : SRC_BINANCE;
        return SOURCE_OK;
    }
    if (got < 4 || memcmp(magic, "PK\3\4", 4) != 0) {
        snprintf(err, cap, "%s: not a gzip Binance capture nor a LOBSTER or FXCM zip", path);
        return SOURCE_EFORMAT;
    }
    zipr_archive *zip = NULL;
    if (zipr_open(&zip, path, err, cap) != ZIPR_OK)
        return SOURCE_EIO;
    *kind = SRC_FXCM;
    for (size_t i = 0; i < zipr_count(zip); i++) {
        const char *name = zipr_member_at(zip, i)->name;
        if (strstr(name, "_message_") && strstr(name, ".csv"))
            *kind = SRC_LOBSTER;
    }
    zipr_close(zip);
    return SOURCE_OK;
}

int source_open(source *s, source_kind kind, const char *path, unsigned int levels,
                       char *err, size_t cap)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->path = path;
    switch (kind) {
    case SRC_BINANCE: {
        bcap_options o;
        bcap_options_init(&o);
        o.book_levels = levels;
        return bcap_open(&s->bcap, path, &o, err, cap);
    }
    case SRC_LOBSTER: {
        lobster_options o;
        lobster_options_init(&o);
        o.book_levels = levels;
        return lobster_open(&s->lob, path, &o, err, cap);
    }
    case SRC_TARDIS:
        return tardis_open(&s->td, &path, 1, err, cap);
    case SRC_EVENTS:
        return event_reader_open(&s->evf, path, err, cap);
    default: {
        fxcm_options o;
        fxcm_options_init(&o);
        return fxcm_open(&s->fx, &path, 1, &o, err, cap);
    }
    }
}

int source_open_group(source *s, source_kind kind, const char *const *paths, size_t n,
                      unsigned int levels, char *err, size_t cap)
{
    if (kind != SRC_TARDIS || n == 1) {
        if (n != 1) {
            snprintf(err, cap, "%s: only tardis files are read as a group", paths[0]);
            return BCAP_EINVAL;
        }
        return source_open(s, kind, paths[0], levels, err, cap);
    }
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->path = paths[0];
    return tardis_open(&s->td, paths, n, err, cap);
}

int source_next(source *s, bcap_event *ev)
{
    switch (s->kind) {
    case SRC_BINANCE:
        return bcap_next(s->bcap, ev);
    case SRC_LOBSTER:
        return lobster_next(s->lob, ev);
    case SRC_TARDIS:
        return tardis_next(s->td, ev);
    case SRC_EVENTS:
        return event_reader_next(s->evf, ev);
    default:
        return fxcm_next(s->fx, ev);
    }
}

const char *source_error(const source *s)
{
    switch (s->kind) {
    case SRC_BINANCE:
        return bcap_last_error(s->bcap);
    case SRC_LOBSTER:
        return lobster_last_error(s->lob);
    case SRC_TARDIS:
        return tardis_last_error(s->td);
    case SRC_EVENTS:
        return event_reader_error(s->evf);
    default:
        return fxcm_last_error(s->fx);
    }
}

void source_print_counters(const source *s, FILE *out)
{
    switch (s->kind) {
    case SRC_BINANCE:
        bcap_print_counters(out, bcap_get_counters(s->bcap));
        break;
    case SRC_LOBSTER:
        lobster_print_counters(out, lobster_get_counters(s->lob));
        break;
    case SRC_TARDIS:
        tardis_print_counters(out, tardis_get_counters(s->td));
        break;
    case SRC_EVENTS:
        fprintf(out, "{\"events\":%llu}", (unsigned long long)event_reader_count(s->evf));
        break;
    default:
        fxcm_print_counters(out, fxcm_get_counters(s->fx));
        break;
    }
}

void source_close(source *s)
{
    bcap_close(s->bcap);
    lobster_close(s->lob);
    fxcm_close(s->fx);
    tardis_close(s->td);
    event_reader_close(s->evf);
    memset(s, 0, sizeof *s);
}

