#include "refusals.h"

static const char *const kind_names[CSCALP_KIND_COUNT] = {"trade", "quote", "book", "funding"};

const char *bcap_kind_name(int kind)
{
    return kind >= 0 && kind < CSCALP_KIND_COUNT ? kind_names[kind] : "?";
}

void bcap_refusals_note(bcap_refusals *r, const cscalp_engine *engine, int code, int kind)
{
    int slot = -code;
    if (slot <= 0 || slot >= BCAP_REFUSAL_CODES)
        slot = 0;
    if (kind < 0 || kind >= CSCALP_KIND_COUNT)
        kind = 0;
    if (bcap_refusals_of(r, slot) == 0)
        snprintf(r->first_detail[slot], BCAP_REFUSAL_DETAIL, "%s", cscalp_last_error(engine));
    r->count[slot][kind]++;
}

uint64_t bcap_refusals_of(const bcap_refusals *r, int slot)
{
    uint64_t n = 0;
    for (int k = 0; k < CSCALP_KIND_COUNT; k++)
        n += r->count[slot][k];
    return n;
}

const char *bcap_refusal_name(int slot)
{
    return slot == 0 ? "CSCALP_EUNKNOWN" : cscalp_error_name(-slot);
}

void bcap_refusals_print(const bcap_refusals *r, FILE *out, const char *prefix)
{
    for (int slot = 0; slot < BCAP_REFUSAL_CODES; slot++) {
        for (int k = 0; k < CSCALP_KIND_COUNT; k++) {
            if (r->count[slot][k] == 0)
                continue;
            fprintf(out, "%srefused %s %s: %llu (first: %s)\n", prefix, kind_names[k],
                    slot == 0 ? "(unknown code)" : cscalp_error_name(-slot),
                    (unsigned long long)r->count[slot][k], r->first_detail[slot]);
        }
    }
}
