/* The engine: the only file that knows every stage. It owns the handle,
 * routes each API call through the stages in order and turns every refusal
 * into an error code, a detail text, a counter and a health event. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptoscalp.h"
#include "cscalp_build_config.h"
#include "features/features.h"
#include "feed/feed.h"
#include "health/health.h"
#include "nn/nn.h"
#include "persist/config.h"
#include "util/alloc.h"
#include "util/json_writer.h"

#define ERROR_TEXT_CAP 512

struct cscalp_engine {
    cscalp_allocator mem;
    cscalp_config cfg;
    cscalp_feed *feed;
    cscalp_feature_state *features;
    cscalp_health_state health;

    /* The live model (docs/model.md): flat parameters, their packed copy for
     * batch-1 inference, and the input assembled for each inference. */
    cscalp_nn_arch arch;
    const cscalp_nn_backend *backend;
    float *params;
    cscalp_nn_packed *packed;
    float *model_input;
    float regime_posterior[CSCALP_NN_MAX_EXPERTS];
    uint64_t model_version;
    uint64_t model_updates;
    uint64_t inferences;
    uint64_t inference_failures;

    char *last_error;
    uint64_t api_errors;
    uint64_t config_changes;
    uint64_t config_rejected;
};

/* ------------------------------------------------------------------------ */
/* Version and features                                                     */

unsigned int cscalp_version(void) { return CSCALP_VERSION_HEX; }

const char *cscalp_version_string(void) { return CSCALP_VERSION_STRING; }

int cscalp_has_feature(int feature)
{
    switch (feature) {
    case CSCALP_FEATURE_BLAS:
        return CSCALP_HAVE_BLAS;
    case CSCALP_FEATURE_CUDA:
        return CSCALP_HAVE_CUDA;
    case CSCALP_FEATURE_THREADS:
        return CSCALP_HAVE_THREADS;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void set_error(cscalp_engine *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->last_error, ERROR_TEXT_CAP, fmt, ap);
    va_end(ap);
}

static void clear_error(cscalp_engine *e) { e->last_error[0] = '\0'; }

/* A call the host made wrongly (NULL pointer, bad flags, small buffer). */
static int api_error(cscalp_engine *e, int code, const char *what)
{
    set_error(e, "%s", what);
    e->api_errors++;
    cscalp_health_emit(&e->health, e->feed->clock_ns, CSCALP_SEVERITY_WARNING,
                       CSCALP_COMPONENT_ENGINE, CSCALP_EVENT_INPUT_REJECTED, code,
                       CSCALP_ACTION_REJECTED, what);
    return code;
}

const char *cscalp_last_error(const cscalp_engine *engine)
{
    return engine == NULL ? "engine is NULL" : engine->last_error;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */

static void apply_config(cscalp_engine *e)
{
    const cscalp_config *c = &e->cfg;
    cscalp_feed_set_limits(e->feed, (uint32_t)c->feed_book_levels,
                           (int64_t)(c->feed_max_time_regression_ms * 1e6));
    cscalp_features_set_params(e->features, c->features_norm_interval_ms * 1000000,
                               c->features_norm_half_life_s, c->features_z_clip,
                               (uint64_t)c->features_norm_warmup_samples);
    e->health.degraded_hold_ns = (int64_t)(c->health_degraded_hold_s * 1e9);
}

/* The backend model.backend asks for; CSCALP_EUNSUPPORTED when the build
 * lacks it. */
static int resolve_backend(const cscalp_config *c, const cscalp_nn_backend **out,
                           char *why, size_t cap)
{
    switch (c->model_backend) {
    case CSCALP_CONFIG_BACKEND_CPU:
        *out = cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU);
        return CSCALP_OK;
    case CSCALP_CONFIG_BACKEND_BLAS:
        *out = cscalp_nn_backend_get(CSCALP_NN_BACKEND_BLAS);
        if (*out == NULL) {
            snprintf(why, cap,
                     "model.backend: \"blas\" is not built into this library "
                     "(cscalp_has_feature(CSCALP_FEATURE_BLAS) is 0)");
            return CSCALP_EUNSUPPORTED;
        }
        return CSCALP_OK;
    default:
        *out = cscalp_nn_backend_get(CSCALP_NN_BACKEND_BLAS);
        if (*out == NULL)
            *out = cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU);
        return CSCALP_OK;
    }
}

static void arch_of(const cscalp_config *c, cscalp_nn_arch *arch)
{
    memset(arch, 0, sizeof *arch);
    arch->inputs = (uint32_t)(CSCALP_FEATURE_COUNT * c->model_lag_count);
    arch->hidden_layers = (uint32_t)c->model_hidden_sizes.count;
    for (uint32_t l = 0; l < arch->hidden_layers; l++)
        arch->hidden[l] = (uint32_t)c->model_hidden_sizes.values[l];
    arch->experts = (uint32_t)c->model_expert_count;
    arch->activation = c->model_activation == CSCALP_CONFIG_ACTIVATION_SILU
                           ? CSCALP_NN_SILU
                           : CSCALP_NN_RELU;
}

/* Allocate the model and initialise it from model.seed. */
static int model_create(cscalp_engine *e, char *why, size_t cap)
{
    arch_of(&e->cfg, &e->arch);
    int rc = cscalp_nn_arch_check(&e->arch, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    rc = resolve_backend(&e->cfg, &e->backend, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    const size_t n = cscalp_nn_param_count(&e->arch);
    /* Stop at the first failure: nothing is asked of the allocator after it. */
    e->params = cscalp_mem_calloc(&e->mem, n, sizeof *e->params);
    if (e->params != NULL)
        e->model_input = cscalp_mem_calloc(&e->mem, e->arch.inputs, sizeof *e->model_input);
    if (e->model_input == NULL ||
        cscalp_nn_packed_create(&e->mem, &e->arch, &e->packed) != CSCALP_OK) {
        snprintf(why, cap, "model: out of memory");
        return CSCALP_ENOMEM;
    }
    cscalp_nn_init_params(&e->arch, (uint64_t)e->cfg.model_seed, e->params);
    cscalp_nn_pack(e->packed, e->params);
    /* No regime model yet: every regime equally likely, so the gate's prior
     * term is constant and the gate decides alone (docs/model.md). */
    for (uint32_t r = 0; r < e->arch.experts; r++)
        e->regime_posterior[r] = 1.0f / (float)e->arch.experts;
    e->model_version = 1;
    return CSCALP_OK;
}

static void destroy(cscalp_engine *e)
{
    const cscalp_allocator mem = e->mem;
    cscalp_nn_packed_destroy(e->packed);
    cscalp_mem_free(&mem, e->params);
    cscalp_mem_free(&mem, e->model_input);
    cscalp_mem_free(&mem, e->last_error);
    cscalp_mem_free(&mem, e->features);
    cscalp_mem_free(&mem, e->feed);
    cscalp_mem_free(&mem, e);
}

static int open_failed(char *errbuf, size_t cap, int code, const char *what)
{
    if (errbuf != NULL && cap > 0 && what != errbuf)
        snprintf(errbuf, cap, "%s", what);
    return code;
}

int cscalp_open_ex(cscalp_engine **out, const char *config_json,
                   const cscalp_allocator *allocator, char *errbuf,
                   size_t errbuf_cap)
{
    if (errbuf != NULL && errbuf_cap > 0)
        errbuf[0] = '\0';
    if (out == NULL)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL, "out: NULL pointer");
    *out = NULL;

    cscalp_allocator mem;
    if (cscalp_mem_init(&mem, allocator) != CSCALP_OK)
        return open_failed(errbuf, errbuf_cap, CSCALP_EINVAL,
                           "allocator: alloc and free must both be set");

    cscalp_config cfg;
    cscalp_config_defaults(&cfg);
    if (config_json != NULL) {
        char why[ERROR_TEXT_CAP];
        int rc = cscalp_config_apply_json(&cfg, config_json, why, sizeof why);
        if (rc != CSCALP_OK)
            return open_failed(errbuf, errbuf_cap, rc, why);
    }

    cscalp_engine *e = cscalp_mem_calloc(&mem, 1, sizeof *e);
    if (e == NULL)
        return open_failed(errbuf, errbuf_cap, CSCALP_ENOMEM, "engine: out of memory");
    e->mem = mem;
    e->cfg = cfg;
    e->feed = cscalp_mem_calloc(&mem, 1, sizeof *e->feed);
    e->features = e->feed ? cscalp_mem_calloc(&mem, 1, sizeof *e->features) : NULL;
    e->last_error = e->features ? cscalp_mem_calloc(&mem, ERROR_TEXT_CAP, 1) : NULL;
    if (e->last_error == NULL) {
        destroy(e);
        return open_failed(errbuf, errbuf_cap, CSCALP_ENOMEM,
                           "engine state: out of memory");
    }

    cscalp_feed_init(e->feed, (uint32_t)cfg.feed_book_levels, 0);
    cscalp_features_init(e->features, cfg.features_norm_interval_ms * 1000000,
                         cfg.features_norm_half_life_s, cfg.features_z_clip,
                         (uint64_t)cfg.features_norm_warmup_samples);
    cscalp_health_init(&e->health, 0);
    char why[ERROR_TEXT_CAP];
    const int rc = model_create(e, why, sizeof why);
    if (rc != CSCALP_OK) {
        destroy(e);
        return open_failed(errbuf, errbuf_cap, rc, why);
    }
    apply_config(e);
    *out = e;
    return CSCALP_OK;
}

int cscalp_open(cscalp_engine **out, const char *config_json)
{
    return cscalp_open_ex(out, config_json, NULL, NULL, 0);
}

void cscalp_close(cscalp_engine *engine)
{
    if (engine != NULL)
        destroy(engine);
}

void cscalp_free(void *ptr)
{
    /* Nothing is handed out yet; when something is, it is malloc'ed. */
    free(ptr);
}

int cscalp_config_json(const cscalp_engine *engine, char *buf, size_t cap,
                       size_t *needed)
{
    if (engine == NULL || (buf == NULL && cap > 0))
        return CSCALP_EINVAL;
    const int rc = cscalp_config_write_json(&engine->cfg, buf, cap, needed);
    return buf == NULL ? CSCALP_OK : rc;
}

int cscalp_configure(cscalp_engine *e, const char *json_patch)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (json_patch == NULL)
        return api_error(e, CSCALP_EINVAL, "json_patch: NULL pointer");

    cscalp_config next = e->cfg;
    char why[ERROR_TEXT_CAP];
    const cscalp_nn_backend *backend = e->backend;
    int rc = cscalp_config_apply_json(&next, json_patch, why, sizeof why);
    if (rc == CSCALP_OK) {
        const cscalp_config_key *fixed = cscalp_config_fixed_changed(&e->cfg, &next);
        if (fixed != NULL) {
            snprintf(why, sizeof why,
                     "%s: fixed when the engine opens; open a new engine to change it",
                     fixed->path);
            rc = CSCALP_ECONFIG_FIXED;
        }
    }
    if (rc == CSCALP_OK)
        rc = resolve_backend(&next, &backend, why, sizeof why);
    if (rc != CSCALP_OK) {
        set_error(e, "%s", why);
        e->config_rejected++;
        cscalp_health_emit(&e->health, e->feed->clock_ns, CSCALP_SEVERITY_WARNING,
                           CSCALP_COMPONENT_ENGINE, CSCALP_EVENT_CONFIG_REJECTED, rc,
                           CSCALP_ACTION_REJECTED, why);
        return rc;
    }
    e->cfg = next;
    e->backend = backend;
    apply_config(e);
    e->config_changes++;
    cscalp_health_emit(&e->health, e->feed->clock_ns, CSCALP_SEVERITY_INFO,
                       CSCALP_COMPONENT_ENGINE, CSCALP_EVENT_CONFIG_CHANGED, CSCALP_OK,
                       CSCALP_ACTION_APPLIED, "configuration patch applied");
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Feed                                                                     */

static int reject_event(cscalp_engine *e, const cscalp_feed_reject *why)
{
    cscalp_feed_count_reject(e->feed, why);
    set_error(e, "%s", why->detail);
    cscalp_health_emit(&e->health, e->feed->clock_ns, CSCALP_SEVERITY_WARNING,
                       CSCALP_COMPONENT_FEED, CSCALP_EVENT_INPUT_REJECTED, why->error,
                       CSCALP_ACTION_REJECTED, why->detail);
    return why->error;
}

/* Work every accepted event does before the feed applies it: the features'
 * normalisation sample on the clock grid, and the report of a late event. */
static void before_event(cscalp_engine *e, int64_t event_ns, int64_t at_ns)
{
    cscalp_features_before_event(e->features, e->feed, at_ns);
    if (event_ns != at_ns) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "ts_ns %lld is %lld ns before the clock; accepted at the clock time",
                 (long long)event_ns, (long long)(at_ns - event_ns));
        cscalp_health_emit(&e->health, at_ns, CSCALP_SEVERITY_INFO,
                           CSCALP_COMPONENT_FEED, CSCALP_EVENT_TIME_REGRESSION,
                           CSCALP_OK, CSCALP_ACTION_CLAMPED, msg);
    }
}

int cscalp_push_trade(cscalp_engine *e, const cscalp_trade *trade)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (trade == NULL)
        return api_error(e, CSCALP_EINVAL, "trade: NULL pointer");
    int64_t at;
    cscalp_feed_reject why;
    if (cscalp_feed_check_trade(e->feed, trade, &at, &why) != CSCALP_OK)
        return reject_event(e, &why);
    before_event(e, trade->ts_ns, at);
    cscalp_feed_apply_trade(e->feed, trade, at);
    return CSCALP_OK;
}

/* Quotes and books both move the top of book, which the features follow. */
static void top_changed(cscalp_engine *e, const cscalp_top *prev, int had_top,
                        int64_t at)
{
    cscalp_features_on_top(e->features, had_top ? prev : NULL, &e->feed->top, at);
}

int cscalp_push_quote(cscalp_engine *e, const cscalp_quote *quote)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (quote == NULL)
        return api_error(e, CSCALP_EINVAL, "quote: NULL pointer");
    int64_t at;
    cscalp_feed_reject why;
    if (cscalp_feed_check_quote(e->feed, quote, &at, &why) != CSCALP_OK)
        return reject_event(e, &why);
    before_event(e, quote->ts_ns, at);
    const cscalp_top prev = e->feed->top;
    const int had_top = e->feed->has_top;
    cscalp_feed_apply_quote(e->feed, quote, at);
    top_changed(e, &prev, had_top, at);
    return CSCALP_OK;
}

int cscalp_push_book(cscalp_engine *e, const cscalp_book *book)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (book == NULL)
        return api_error(e, CSCALP_EINVAL, "book: NULL pointer");
    int64_t at;
    cscalp_feed_reject why;
    if (cscalp_feed_check_book(e->feed, book, &at, &why) != CSCALP_OK)
        return reject_event(e, &why);
    before_event(e, book->ts_ns, at);
    const cscalp_top prev = e->feed->top;
    const int had_top = e->feed->has_top;
    cscalp_feed_apply_book(e->feed, book, at);
    top_changed(e, &prev, had_top, at);
    return CSCALP_OK;
}

int cscalp_push_funding(cscalp_engine *e, const cscalp_funding *funding)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (funding == NULL)
        return api_error(e, CSCALP_EINVAL, "funding: NULL pointer");
    int64_t at;
    cscalp_feed_reject why;
    if (cscalp_feed_check_funding(e->feed, funding, &at, &why) != CSCALP_OK)
        return reject_event(e, &why);
    before_event(e, funding->ts_ns, at);
    cscalp_feed_apply_funding(e->feed, funding, at);
    return CSCALP_OK;
}

typedef int (*push_one_fn)(cscalp_engine *, const void *);

static int push_trade_any(cscalp_engine *e, const void *p) { return cscalp_push_trade(e, p); }
static int push_quote_any(cscalp_engine *e, const void *p) { return cscalp_push_quote(e, p); }
static int push_book_any(cscalp_engine *e, const void *p) { return cscalp_push_book(e, p); }
static int push_funding_any(cscalp_engine *e, const void *p) { return cscalp_push_funding(e, p); }

/* The batch rule of the header: stop at the first refusal, or with
 * CSCALP_BATCH_SKIP_INVALID try every event and return the first refusal. */
static int push_batch(cscalp_engine *e, const void *arr, size_t stride, size_t n,
                      unsigned int flags, size_t *accepted, push_one_fn push_one)
{
    if (accepted != NULL)
        *accepted = 0;
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (arr == NULL && n > 0)
        return api_error(e, CSCALP_EINVAL, "arr: NULL pointer with n > 0");
    if ((flags & ~CSCALP_BATCH_SKIP_INVALID) != 0)
        return api_error(e, CSCALP_EINVAL, "flags: unknown bits");

    const int skip = (flags & CSCALP_BATCH_SKIP_INVALID) != 0;
    const char *p = arr;
    size_t ok = 0;
    int first_error = CSCALP_OK;
    char first_detail[ERROR_TEXT_CAP] = "";
    for (size_t i = 0; i < n; i++, p += stride) {
        const int rc = push_one(e, p);
        if (rc == CSCALP_OK) {
            ok++;
            continue;
        }
        if (first_error == CSCALP_OK) {
            first_error = rc;
            snprintf(first_detail, sizeof first_detail, "event %zu: %s", i,
                     e->last_error);
        }
        if (!skip)
            break;
    }
    if (accepted != NULL)
        *accepted = ok;
    if (first_error != CSCALP_OK)
        set_error(e, "%s", first_detail);
    else
        clear_error(e);
    return first_error;
}

int cscalp_push_trades(cscalp_engine *e, const cscalp_trade *arr, size_t n,
                       unsigned int flags, size_t *accepted)
{
    return push_batch(e, arr, sizeof *arr, n, flags, accepted, push_trade_any);
}

int cscalp_push_quotes(cscalp_engine *e, const cscalp_quote *arr, size_t n,
                       unsigned int flags, size_t *accepted)
{
    return push_batch(e, arr, sizeof *arr, n, flags, accepted, push_quote_any);
}

int cscalp_push_books(cscalp_engine *e, const cscalp_book *arr, size_t n,
                      unsigned int flags, size_t *accepted)
{
    return push_batch(e, arr, sizeof *arr, n, flags, accepted, push_book_any);
}

int cscalp_push_fundings(cscalp_engine *e, const cscalp_funding *arr, size_t n,
                         unsigned int flags, size_t *accepted)
{
    return push_batch(e, arr, sizeof *arr, n, flags, accepted, push_funding_any);
}

int cscalp_tick(cscalp_engine *e, int64_t now_ns)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    int64_t at;
    cscalp_feed_reject why;
    if (cscalp_feed_check_time(e->feed, now_ns, &at, &why) != CSCALP_OK)
        return reject_event(e, &why);
    /* A late tick is a no-op, not a clamped event: nothing is applied. */
    cscalp_features_before_event(e->features, e->feed, at);
    cscalp_feed_advance(e->feed, at);
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Features                                                                 */

size_t cscalp_feature_count(void) { return CSCALP_FEATURE_COUNT; }

int cscalp_feature_names(const char **names, size_t cap, size_t *count)
{
    if (count != NULL)
        *count = CSCALP_FEATURE_COUNT;
    if (names == NULL && cap > 0)
        return CSCALP_EINVAL;
    const size_t n = cap < CSCALP_FEATURE_COUNT ? cap : CSCALP_FEATURE_COUNT;
    for (size_t i = 0; i < n; i++)
        names[i] = cscalp_features_name(i);
    return cap < CSCALP_FEATURE_COUNT ? CSCALP_EBUFFER : CSCALP_OK;
}

int cscalp_features(const cscalp_engine *e, double *raw, double *normalized,
                    size_t cap, size_t *count)
{
    if (count != NULL)
        *count = CSCALP_FEATURE_COUNT;
    if (e == NULL)
        return CSCALP_EINVAL;
    if ((raw != NULL || normalized != NULL) && cap < CSCALP_FEATURE_COUNT)
        return CSCALP_EBUFFER;
    double x[CSCALP_FEATURE_COUNT];
    cscalp_features_eval(e->features, e->feed, e->feed->clock_ns, x);
    if (raw != NULL)
        memcpy(raw, x, sizeof x);
    if (normalized != NULL)
        cscalp_features_normalize(e->features, x, normalized);
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Inference                                                                */

int cscalp_infer(cscalp_engine *e, cscalp_signal *signal)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    if (signal == NULL)
        return api_error(e, CSCALP_EINVAL, "signal: NULL pointer");
    if (signal->size < sizeof(cscalp_signal))
        return api_error(e, CSCALP_ESTRUCT,
                         "signal.size: smaller than the version-1 cscalp_signal");

    const int64_t now = e->feed->clock_ns;
    cscalp_features_model_input(e->features, e->feed, now, (uint32_t)e->cfg.model_lag_count,
                                e->model_input);
    cscalp_nn_result out;
    cscalp_nn_infer(e->packed, e->model_input, e->regime_posterior, &out);
    /* Renormalised in double so the three sum to 1 to the last bit a host
     * can see; float rounding leaves them a few ulps off. */
    const double total = (double)out.probs[0] + (double)out.probs[1] + (double)out.probs[2];
    const double p0 = (double)out.probs[0] / total, p1 = (double)out.probs[1] / total,
                 p2 = (double)out.probs[2] / total;
    if (!isfinite(p0 + p1 + p2) || !(total > 0.0)) {
        e->inference_failures++;
        set_error(e, "model: non-finite output (%g, %g, %g)", (double)out.probs[0],
                  (double)out.probs[1], (double)out.probs[2]);
        cscalp_health_emit(&e->health, now, CSCALP_SEVERITY_ERROR, CSCALP_COMPONENT_MODEL,
                           CSCALP_EVENT_MODEL_OUTPUT_INVALID, CSCALP_ENONFINITE,
                           CSCALP_ACTION_REJECTED, e->last_error);
        return CSCALP_ENONFINITE;
    }
    e->inferences++;

    cscalp_signal s;
    memset(&s, 0, sizeof s);
    s.size = signal->size;
    s.ts_ns = now;
    s.probabilities[CSCALP_CLASS_DOWN] = p0;
    s.probabilities[CSCALP_CLASS_FLAT] = p1;
    s.probabilities[CSCALP_CLASS_UP] = p2;
    const double move = e->cfg.model_prior_move_bps;
    s.expected_move_bps = (p2 - p0) * move;
    double entropy = 0.0;
    for (int c = 0; c < 3; c++)
        if (s.probabilities[c] > 0.0)
            entropy -= s.probabilities[c] * log(s.probabilities[c]);
    s.confidence = 1.0 - entropy / log(3.0);
    s.confidence = s.confidence < 0.0 ? 0.0 : s.confidence;
    s.regime = 0;
    s.regime_probability = 1.0;
    s.autonomy = CSCALP_AUTONOMY_MANUAL;
    s.target_position = 0.0;
    s.model_version = e->model_version;
    if (!e->feed->has_top)
        s.reasons |= CSCALP_REASON_NO_QUOTE;
    if (!cscalp_features_warm(e->features))
        s.reasons |= CSCALP_REASON_WARMUP;
    if (e->model_updates == 0)
        s.reasons |= CSCALP_REASON_UNTRAINED;
    memcpy(signal, &s, sizeof s);
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Health                                                                   */

int cscalp_set_health_callback(cscalp_engine *e, cscalp_health_fn fn,
                               void *user_data)
{
    if (e == NULL)
        return CSCALP_EINVAL;
    clear_error(e);
    e->health.fn = fn;
    e->health.user_data = fn != NULL ? user_data : NULL;
    return CSCALP_OK;
}

int cscalp_health(const cscalp_engine *e, cscalp_health_report *report)
{
    if (e == NULL || report == NULL)
        return CSCALP_EINVAL;
    if (report->size < sizeof(cscalp_health_report))
        return CSCALP_ESTRUCT;
    cscalp_health_report r;
    memset(&r, 0, sizeof r);
    r.size = report->size;
    r.component_count = CSCALP_COMPONENT_COUNT;
    r.clock_ns = e->feed->clock_ns;
    cscalp_health_snapshot(&e->health, e->feed->clock_ns, r.components);
    memcpy(r.feed_accepted, e->feed->accepted, sizeof r.feed_accepted);
    memcpy(r.feed_rejected, e->feed->rejected, sizeof r.feed_rejected);
    r.time_clamped = e->feed->time_clamped;
    memcpy(report, &r, sizeof r);
    return CSCALP_OK;
}

/* ------------------------------------------------------------------------ */
/* Stats                                                                    */

static const char *const kind_names[CSCALP_KIND_COUNT] = {"trade", "quote", "book",
                                                         "funding"};
static const char *const reject_names[CSCALP_REJECT_REASON_COUNT] = {
    "nonfinite", "price", "size", "side", "crossed", "levels", "time", "field"};

int cscalp_stats_json(const cscalp_engine *e, char *buf, size_t cap, size_t *needed)
{
    if (e == NULL || (buf == NULL && cap > 0))
        return CSCALP_EINVAL;
    const cscalp_feed *feed = e->feed;
    cscalp_json_writer w;
    cscalp_jw_init(&w, buf, cap);
    cscalp_jw_begin_object(&w, NULL);
    cscalp_jw_int(&w, "clock_ns", feed->clock_ns);

    cscalp_jw_begin_object(&w, "feed");
    cscalp_jw_begin_object(&w, "accepted");
    for (int k = 0; k < CSCALP_KIND_COUNT; k++)
        cscalp_jw_uint(&w, kind_names[k], feed->accepted[k]);
    cscalp_jw_end_object(&w);
    cscalp_jw_begin_object(&w, "rejected");
    for (int r = 0; r < CSCALP_REJECT_REASON_COUNT; r++)
        cscalp_jw_uint(&w, reject_names[r], feed->rejected[r]);
    cscalp_jw_end_object(&w);
    cscalp_jw_uint(&w, "time_clamped", feed->time_clamped);
    cscalp_jw_uint(&w, "book_levels_kept", feed->levels_kept);
    cscalp_jw_end_object(&w);

    cscalp_jw_begin_object(&w, "features");
    cscalp_jw_uint(&w, "count", CSCALP_FEATURE_COUNT);
    cscalp_jw_uint(&w, "norm_samples", e->features->norm.samples);
    cscalp_jw_end_object(&w);

    cscalp_jw_begin_object(&w, "model");
    cscalp_jw_uint(&w, "parameters", cscalp_nn_param_count(&e->arch));
    cscalp_jw_uint(&w, "inputs", e->arch.inputs);
    cscalp_jw_string(&w, "backend", e->backend->name);
    cscalp_jw_uint(&w, "version", e->model_version);
    cscalp_jw_uint(&w, "updates", e->model_updates);
    cscalp_jw_uint(&w, "inferences", e->inferences);
    cscalp_jw_uint(&w, "inference_failures", e->inference_failures);
    cscalp_jw_end_object(&w);

    cscalp_jw_begin_object(&w, "engine");
    cscalp_jw_uint(&w, "health_events", e->health.events_total);
    cscalp_jw_uint(&w, "api_errors", e->api_errors);
    cscalp_jw_uint(&w, "config_changes", e->config_changes);
    cscalp_jw_uint(&w, "config_rejected", e->config_rejected);
    cscalp_jw_end_object(&w);

    cscalp_jw_end_object(&w);
    const int rc = cscalp_jw_finish(&w, needed);
    return buf == NULL ? CSCALP_OK : rc;
}
