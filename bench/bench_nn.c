/*
 * cscalp-bench infer | train — the model's benchmarks (bench/README.md).
 *
 * infer: a real capture is replayed through a default engine; after every
 * quote the host asks for a signal, and each cscalp_infer call is timed on
 * its own (case "cscalp_infer": feature assembly + normalisation + model).
 * Case "model_only" times the batch-1 model alone on the same normalised
 * vectors (what a PyTorch module call does), through the internal API.
 *
 * train: one training step (forward, mixture loss, backward, Adam update) on
 * the default architecture, at batch 1 and 256, per backend; inputs are
 * normalised feature vectors from the capture, labels drawn from a seeded
 * generator (the step costs the same whatever the labels).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "bench_nn.h"
#include "binance_capture.h"
#include "cryptoscalp.h"
#include "nn/nn.h"
#include "util/alloc.h"
#include "util/rng.h"

#define MIN_INFER_CALLS 100000u
#define MAX_VECTORS 65536u
#define PASS_GAP_NS INT64_C(1000000)

typedef struct stream {
    bcap_event *v;
    size_t n, cap;
} stream;

static int load_stream(const char *path, stream *s)
{
    bcap_options opts;
    bcap_options_init(&opts);
    opts.book_levels = 10;
    char err[512];
    bcap_reader *reader = NULL;
    if (bcap_open(&reader, path, &opts, err, sizeof err) != BCAP_OK) {
        fprintf(stderr, "cscalp-bench: %s\n", err);
        return -1;
    }
    bcap_event ev;
    int rc;
    while ((rc = bcap_next(reader, &ev)) == 1) {
        if (s->n == s->cap) {
            const size_t cap = s->cap ? s->cap * 2 : 4096;
            bcap_event *grown = realloc(s->v, cap * sizeof *grown);
            if (grown == NULL) {
                rc = BCAP_ENOMEM;
                break;
            }
            s->v = grown;
            s->cap = cap;
        }
        s->v[s->n++] = ev;
    }
    if (rc < 0)
        fprintf(stderr, "cscalp-bench: %s: %s\n", path,
                rc == BCAP_ENOMEM ? "out of memory" : bcap_last_error(reader));
    bcap_close(reader);
    return rc < 0 ? -1 : 0;
}

static int64_t event_ts(const bcap_event *ev)
{
    switch (ev->kind) {
    case CSCALP_KIND_QUOTE:
        return ev->quote.ts_ns;
    case CSCALP_KIND_TRADE:
        return ev->trade.ts_ns;
    case CSCALP_KIND_BOOK:
        return ev->book.ts_ns;
    default:
        return ev->funding.ts_ns;
    }
}

/* Push one event shifted by offset_ns; the event is staged in `buf` first,
 * as a host's decoder writes the struct it pushes. */
static int push_shifted(cscalp_engine *e, const bcap_event *ev, int64_t offset_ns,
                        bcap_event *buf)
{
    *buf = *ev;
    switch (ev->kind) {
    case CSCALP_KIND_QUOTE:
        buf->quote.ts_ns += offset_ns;
        return cscalp_push_quote(e, &buf->quote);
    case CSCALP_KIND_TRADE:
        buf->trade.ts_ns += offset_ns;
        return cscalp_push_trade(e, &buf->trade);
    case CSCALP_KIND_BOOK:
        buf->book.ts_ns += offset_ns;
        return cscalp_push_book(e, &buf->book);
    default:
        buf->funding.ts_ns += offset_ns;
        return cscalp_push_funding(e, &buf->funding);
    }
}

typedef struct timings {
    uint64_t *ticks;
    size_t n, cap;
} timings;

static void print_latency(const char *name, timings *t, double ns_per_tick,
                          uint64_t overhead, size_t params, const char *source)
{
    double *ns = malloc((t->n + 1) * sizeof *ns);
    if (ns == NULL)
        return;
    double sum = 0.0;
    for (size_t i = 0; i < t->n; i++) {
        ns[i] = t->ticks[i] > overhead ? (double)(t->ticks[i] - overhead) * ns_per_tick : 0.0;
        sum += ns[i];
    }
    const double resolution = finest_step(t->ticks, t->n) * ns_per_tick;
    qsort(ns, t->n, sizeof *ns, cmp_double);
    printf("{\"bench\":\"infer\",\"impl\":\"cscalp\",\"case\":\"%s\",\"batch\":1,", name);
    if (t->n > 0)
        printf("\"ns_p50\":%.1f,\"ns_p99\":%.1f,\"ns_p999\":%.1f,\"ns_mean\":%.1f,",
               percentile(ns, t->n, 500), percentile(ns, t->n, 990),
               percentile(ns, t->n, 999), sum / (double)t->n);
    printf("\"calls\":%zu,\"parameters\":%zu,\"threads\":1,\"timer\":\"%s\","
           "\"timer_resolution_ns\":%.1f,\"source\":",
           t->n, params, TIMER_NAME, resolution);
    print_json_string(source);
    printf("}\n");
    free(ns);
}

/* The default model, as a default engine builds it (seed 1). */
static void default_arch(cscalp_nn_arch *arch)
{
    memset(arch, 0, sizeof *arch);
    arch->inputs = (uint32_t)cscalp_feature_count();
    arch->hidden_layers = 2;
    arch->hidden[0] = 64;
    arch->hidden[1] = 64;
    arch->experts = 3;
    arch->activation = CSCALP_NN_RELU;
}

/* Replay the capture through a default engine until `min_calls` signals
 * were asked for (timed into `full`, model-only timings into `model`), or,
 * with full == NULL, just collect normalised vectors. Returns the number of
 * vectors stored in `vectors` (up to MAX_VECTORS, after the warm-up). */
static size_t replay(const stream *s, size_t min_calls, timings *full, timings *model,
                     float *vectors)
{
    cscalp_engine *e = NULL;
    if (cscalp_open(&e, NULL) != CSCALP_OK)
        return 0;
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    cscalp_nn_arch arch;
    default_arch(&arch);
    cscalp_nn_packed *packed = NULL;
    float *params = calloc(cscalp_nn_param_count(&arch), sizeof *params);
    if (params == NULL || cscalp_nn_packed_create(&mem, &arch, &packed) != CSCALP_OK) {
        free(params);
        cscalp_close(e);
        return 0;
    }
    cscalp_nn_init_params(&arch, 1, params);
    cscalp_nn_pack(packed, params);
    float regime[3] = {1.0f / 3, 1.0f / 3, 1.0f / 3};

    const int64_t period = event_ts(&s->v[s->n - 1]) - event_ts(&s->v[0]) + PASS_GAP_NS;
    int64_t offset = 0;
    size_t calls = 0, stored = 0;
    bcap_event buf;
    volatile double sink = 0.0;
    /* Timing: pass 0 warms up (caches, normaliser), later passes are timed
     * until min_calls. Collecting: passes 1 and 2 give the vectors. */
    for (int pass = 0; full != NULL ? (calls < min_calls || pass == 0) : pass < 3;
         pass++, offset += period) {
        for (size_t i = 0; i < s->n; i++) {
            if (push_shifted(e, &s->v[i], offset, &buf) != CSCALP_OK ||
                s->v[i].kind != CSCALP_KIND_QUOTE)
                continue;
            cscalp_signal sig;
            sig.size = sizeof sig;
            if (full != NULL && pass > 0 && full->n < full->cap) {
                const uint64_t t0 = timer_begin();
                cscalp_infer(e, &sig);
                const uint64_t t1 = timer_end();
                full->ticks[full->n++] = t1 - t0;
                sink = sink + sig.probabilities[0];
                calls++;
            }
            double z[64];
            float x[64];
            cscalp_features(e, NULL, z, 64, NULL);
            for (size_t k = 0; k < arch.inputs; k++)
                x[k] = (float)z[k];
            if (model != NULL && pass > 0 && model->n < model->cap) {
                cscalp_nn_result r;
                const uint64_t t0 = timer_begin();
                cscalp_nn_infer(packed, x, regime, &r);
                const uint64_t t1 = timer_end();
                model->ticks[model->n++] = t1 - t0;
                sink = sink + (double)r.probs[0];
            }
            if (vectors != NULL && stored < MAX_VECTORS && pass > 0)
                memcpy(vectors + stored++ * arch.inputs, x, arch.inputs * sizeof *x);
        }
    }
    cscalp_nn_packed_destroy(packed);
    free(params);
    cscalp_close(e);
    return stored;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int bench_infer(const char *path, size_t calls)
{
    if (calls == 0)
        calls = MIN_INFER_CALLS;
    stream s = {0};
    if (load_stream(path, &s) != 0 || s.n == 0) {
        free(s.v);
        return -1;
    }
    timings full = {calloc(calls + 1, sizeof(uint64_t)), 0, calls};
    timings model = {calloc(calls + 1, sizeof(uint64_t)), 0, calls};
    if (full.ticks == NULL || model.ticks == NULL) {
        free(full.ticks);
        free(model.ticks);
        free(s.v);
        return -1;
    }
    const uint64_t overhead = timer_overhead();
    const double wall0 = now_ns();
    const uint64_t tick0 = timer_begin();
    replay(&s, calls, &full, &model, NULL);
    const uint64_t tick1 = timer_end();
    const double ns_per_tick = (now_ns() - wall0) / (double)(tick1 - tick0);

    cscalp_nn_arch arch;
    default_arch(&arch);
    const size_t params = cscalp_nn_param_count(&arch);
    print_latency("cscalp_infer", &full, ns_per_tick, overhead, params, base_name(path));
    print_latency("model_only", &model, ns_per_tick, overhead, params, base_name(path));
    free(full.ticks);
    free(model.ticks);
    free(s.v);
    return full.n >= calls ? 0 : -1;
}

static int train_case(const cscalp_nn_backend *be, uint32_t batch, double seconds,
                      const float *vectors, size_t n_vectors)
{
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    cscalp_nn_arch arch;
    default_arch(&arch);
    const size_t D = arch.inputs;
    cscalp_nn_trainer *t = NULL;
    float *params = calloc(cscalp_nn_param_count(&arch), sizeof *params);
    float *x = calloc((size_t)batch * D, sizeof *x);
    float *regime = calloc((size_t)batch * 3, sizeof *regime);
    uint8_t *labels = calloc(batch, 1);
    int rc = -1;
    if (!params || !x || !regime || !labels ||
        cscalp_nn_trainer_create(&mem, &arch, batch, be, &t) != CSCALP_OK)
        goto out;
    cscalp_nn_init_params(&arch, 1, params);
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    cscalp_rng rng;
    cscalp_rng_seed(&rng, 7);
    for (uint32_t i = 0; i < batch; i++) {
        memcpy(x + (size_t)i * D, vectors + cscalp_rng_below(&rng, n_vectors) * D,
               D * sizeof *x);
        labels[i] = (uint8_t)cscalp_rng_below(&rng, 3);
        for (int e = 0; e < 3; e++)
            regime[(size_t)i * 3 + (size_t)e] = 1.0f / 3;
    }
    double loss = 0.0;
    for (int w = 0; w < 20; w++) /* warm-up */
        cscalp_nn_train_step(t, params, x, regime, labels, batch, &hp, &loss);
    uint64_t steps = 0;
    const double start = now_ns();
    double elapsed = 0.0;
    do {
        for (int k = 0; k < 16; k++) {
            if (cscalp_nn_train_step(t, params, x, regime, labels, batch, &hp, &loss) !=
                CSCALP_OK)
                goto out;
            steps++;
        }
        elapsed = (now_ns() - start) * 1e-9;
    } while (elapsed < seconds);
    printf("{\"bench\":\"train\",\"impl\":\"cscalp\",\"backend\":\"%s\",\"batch\":%u,"
           "\"samples_per_s\":%.1f,\"steps\":%llu,\"seconds\":%.3f,\"loss\":%.6f,"
           "\"parameters\":%zu,\"threads\":1}\n",
           be->name, batch, (double)steps * batch / elapsed, (unsigned long long)steps,
           elapsed, loss, cscalp_nn_param_count(&arch));
    rc = 0;
out:
    cscalp_nn_trainer_destroy(t);
    free(params);
    free(x);
    free(regime);
    free(labels);
    return rc;
}

int bench_train(const char *path, double seconds, int backend_filter, uint32_t batch_filter)
{
    stream s = {0};
    if (load_stream(path, &s) != 0 || s.n == 0) {
        free(s.v);
        return -1;
    }
    cscalp_nn_arch arch;
    default_arch(&arch);
    float *vectors = calloc((size_t)MAX_VECTORS * arch.inputs, sizeof *vectors);
    const size_t n = vectors ? replay(&s, 0, NULL, NULL, vectors) : 0;
    free(s.v);
    if (n == 0) {
        fprintf(stderr, "cscalp-bench: no feature vectors from the capture\n");
        free(vectors);
        return -1;
    }
    static const uint32_t batches[] = {1, 256};
    int rc = 0;
    for (int id = CSCALP_NN_BACKEND_CPU; id <= CSCALP_NN_BACKEND_BLAS; id++) {
        const cscalp_nn_backend *be = cscalp_nn_backend_get(id);
        if (be == NULL || (backend_filter >= 0 && backend_filter != id))
            continue;
        for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
            if (batch_filter == 0 || batch_filter == batches[b])
                rc |= train_case(be, batches[b], seconds, vectors, n);
    }
    free(vectors);
    return rc;
}
