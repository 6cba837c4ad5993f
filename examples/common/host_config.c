#include "host_config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *more = realloc(buf, cap * 2);
            if (more == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static void merge(cJSON *dst, const cJSON *patch)
{
    for (const cJSON *item = patch->child; item; item = item->next) {
        cJSON *old = cJSON_GetObjectItemCaseSensitive(dst, item->string);
        if (old && cJSON_IsObject(old) && cJSON_IsObject(item)) {
            merge(old, item);
            continue;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(dst, item->string);
        cJSON_AddItemToObject(dst, item->string, cJSON_Duplicate(item, 1));
    }
}

/* The venue's configuration from the "venue" object; 0, or −1 with the key
 * named. */
static int venue_config_of(const char *prog, const cJSON *venue, double wallet,
                           cscalp_sim_venue_config *vc)
{
    vc->size = sizeof *vc;
    cscalp_sim_venue_config_init(vc);
    vc->wallet_quote = wallet;
    if (venue == NULL)
        return 0;
    if (!cJSON_IsObject(venue)) {
        fprintf(stderr, "%s: venue: expected an object\n", prog);
        return -1;
    }
    for (const cJSON *k = venue->child; k; k = k->next) {
        if (!cJSON_IsNumber(k)) {
            fprintf(stderr, "%s: venue.%s: expected a number\n", prog, k->string);
            return -1;
        }
        const double x = k->valuedouble;
        if (strcmp(k->string, "maker_fee_bps") == 0)
            vc->maker_fee_bps = x;
        else if (strcmp(k->string, "taker_fee_bps") == 0)
            vc->taker_fee_bps = x;
        else if (strcmp(k->string, "order_latency_ms") == 0)
            vc->order_latency_ns = (int64_t)llround(x * 1e6);
        else if (strcmp(k->string, "report_latency_ms") == 0)
            vc->report_latency_ns = (int64_t)llround(x * 1e6);
        else if (strcmp(k->string, "wallet_quote") == 0)
            vc->wallet_quote = x;
        else if (strcmp(k->string, "default_funding_rate") == 0)
            vc->default_funding_rate = x;
        else if (strcmp(k->string, "funding_interval_h") == 0)
            vc->funding_interval_ns = (int64_t)llround(x * 3600e9);
        else if (strcmp(k->string, "liquidation_fee_rate") == 0)
            vc->liquidation_fee_rate = x;
        else {
            fprintf(stderr, "%s: venue.%s: unknown key\n", prog, k->string);
            return -1;
        }
    }
    return 0;
}

/* The --config object, or NULL with *status set. */
static cJSON *parse_config(const char *prog, const char *config, int *status)
{
    char *text = config[0] == '{' ? NULL : read_text(config);
    if (config[0] != '{' && text == NULL) {
        fprintf(stderr, "%s: --config %s: cannot read\n", prog, config);
        *status = HOST_CONFIG_EIO;
        return NULL;
    }
    cJSON *patch = cJSON_Parse(text ? text : config);
    free(text);
    if (patch == NULL || !cJSON_IsObject(patch)) {
        fprintf(stderr, "%s: --config: not a JSON object\n", prog);
        cJSON_Delete(patch);
        *status = HOST_CONFIG_EUSAGE;
        return NULL;
    }
    *status = HOST_CONFIG_OK;
    return patch;
}

int host_config_build(const char *prog, const char *base_json, const char *config, long long seed,
                      char **engine_json, cscalp_sim_venue_config *vc)
{
    cJSON *cfg = cJSON_Parse(base_json ? base_json : "{}");
    cJSON *venue = NULL;
    int status = HOST_CONFIG_OK;
    if (engine_json)
        *engine_json = NULL;
    if (config) {
        cJSON *patch = parse_config(prog, config, &status);
        if (patch == NULL) {
            cJSON_Delete(cfg);
            return status;
        }
        venue = cJSON_DetachItemFromObjectCaseSensitive(patch, "venue");
        merge(cfg, patch);
        cJSON_Delete(patch);
    }
    if (seed >= 0) {
        cJSON *model = cJSON_GetObjectItemCaseSensitive(cfg, "model");
        if (model == NULL)
            model = cJSON_AddObjectToObject(cfg, "model");
        cJSON_DeleteItemFromObjectCaseSensitive(model, "seed");
        cJSON_AddNumberToObject(model, "seed", (double)seed);
    }
    const cJSON *risk = cJSON_GetObjectItemCaseSensitive(cfg, "risk");
    const cJSON *eq = risk ? cJSON_GetObjectItemCaseSensitive(risk, "initial_equity_quote") : NULL;
    const double wallet = cJSON_IsNumber(eq) ? eq->valuedouble : 10000.0;
    cscalp_sim_venue_config unused;
    const int rc = venue_config_of(prog, venue, wallet, vc ? vc : &unused);
    cJSON_Delete(venue);
    if (rc == 0 && engine_json)
        *engine_json = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    return rc == 0 ? HOST_CONFIG_OK : HOST_CONFIG_EUSAGE;
}

char *host_config_patch(const char *prog, const char *config, int *status)
{
    *status = HOST_CONFIG_OK;
    if (config == NULL)
        return NULL;
    cJSON *patch = parse_config(prog, config, status);
    if (patch == NULL)
        return NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(patch, "venue");
    char *text = cJSON_PrintUnformatted(patch);
    cJSON_Delete(patch);
    return text;
}
