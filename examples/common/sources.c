#include "sources.h"

#include <string.h>

#include "zip_reader.h"

static const char *const kind_names[] = {"binance", "lobster", "fxcm", "tardis", "events",
                                         "binance-depth"};

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
    if (bdepth_detect(path) == 1) {
        *kind = SRC_BINANCE_DEPTH;
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
        snprintf(err, cap,
                 "%s: not a gzip Binance capture, a Binance depth CSV, nor a LOBSTER or FXCM zip",
                 path);
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
    case SRC_BINANCE_DEPTH:
        return bdepth_open(&s->depth, &path, 1, levels, err, cap);
    default: {
        fxcm_options o;
        fxcm_options_init(&o);
        return fxcm_open(&s->fx, &path, 1, &o, err, cap);
    }
    }
}

static size_t group_limit(source_kind kind)
{
    return kind == SRC_TARDIS ? TARDIS_MAX_FILES : kind == SRC_BINANCE_DEPTH ? BDEPTH_MAX_FILES : 1;
}

size_t source_group_size(const char *const *paths, size_t n, source_kind kind)
{
    size_t count = 1;
    char err[512];
    while (count < n && count < group_limit(kind)) {
        source_kind next;
        if (source_detect(paths[count], &next, err, sizeof err) != SOURCE_OK || next != kind)
            break;
        count++;
    }
    return count;
}

int source_open_group(source *s, source_kind kind, const char *const *paths, size_t n,
                      unsigned int levels, char *err, size_t cap)
{
    if (n > group_limit(kind) || n == 0) {
        snprintf(err, cap, "%s: %s files are not read %s", paths[0], kind_names[kind],
                 group_limit(kind) == 1 ? "as a group" : "in groups that large");
        return BCAP_EINVAL;
    }
    if (n == 1)
        return source_open(s, kind, paths[0], levels, err, cap);
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->path = paths[0];
    if (kind == SRC_BINANCE_DEPTH)
        return bdepth_open(&s->depth, paths, n, levels, err, cap);
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
    case SRC_BINANCE_DEPTH:
        return bdepth_next(s->depth, ev);
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
    case SRC_BINANCE_DEPTH:
        return bdepth_last_error(s->depth);
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
    case SRC_BINANCE_DEPTH:
        bdepth_print_counters(out, bdepth_get_counters(s->depth));
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
    bdepth_close(s->depth);
    memset(s, 0, sizeof *s);
}

