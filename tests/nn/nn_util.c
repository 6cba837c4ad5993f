#include "nn_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- random */

void nt_seed(nt_rng *g, uint64_t seed) { g->s = seed ^ 0x5851f42d4c957f2dULL; }

uint64_t nt_next(nt_rng *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double nt_uniform(nt_rng *g) { return (double)(nt_next(g) >> 11) * 0x1.0p-53; }

double nt_range(nt_rng *g, double lo, double hi) { return lo + (hi - lo) * nt_uniform(g); }

int nt_int(nt_rng *g, int n) { return (int)(nt_next(g) % (uint64_t)n); }

void nt_fill(nt_rng *g, float *v, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)nt_range(g, lo, hi);
}

void nt_regime_row(nt_rng *g, int experts, int kind, int hot, float *r)
{
    const int E = experts;
    double w[NNREF_MAX_EXPERTS], sum = 0.0;
    for (int e = 0; e < E; e++) {
        switch (kind) {
        case 1:
            w[e] = 1.0;
            break;
        case 2:
            w[e] = e == hot % E ? 1.0 : 0.0;
            break;
        case 3:
            w[e] = (e % 2 == 1 || E == 1) ? nt_range(g, 0.1, 1.0) : 0.0;
            break;
        default:
            w[e] = nt_range(g, 0.05, 1.0);
            break;
        }
        sum += w[e];
    }
    for (int e = 0; e < E; e++)
        r[e] = (float)(w[e] / sum);
}

void nt_regimes(nt_rng *g, int experts, int batch, float *r)
{
    for (int i = 0; i < batch; i++)
        nt_regime_row(g, experts, i % 4, nt_int(g, experts), r + (size_t)i * (size_t)experts);
}

/* ------------------------------------------------------------ arch, params */

cscalp_nn_arch nt_arch(int inputs, int layers, const int *hidden, int experts,
                       int activation)
{
    cscalp_nn_arch a;
    memset(&a, 0, sizeof a);
    a.inputs = (uint32_t)inputs;
    a.hidden_layers = (uint32_t)layers;
    for (int l = 0; l < layers; l++)
        a.hidden[l] = (uint32_t)hidden[l];
    a.experts = (uint32_t)experts;
    a.activation = activation;
    return a;
}

void nt_ref_arch(const cscalp_nn_arch *a, nnref_arch *out)
{
    memset(out, 0, sizeof *out);
    out->inputs = (int)a->inputs;
    out->layers = (int)a->hidden_layers;
    for (int l = 0; l < out->layers; l++)
        out->hidden[l] = (int)a->hidden[l];
    out->experts = (int)a->experts;
    out->silu = a->activation == CSCALP_NN_SILU;
}

void nt_random_params(const cscalp_nn_arch *a, uint64_t seed, double bias_scale,
                      float *params)
{
    cscalp_nn_init_params(a, seed, params);
    nnref_arch ra;
    nt_ref_arch(a, &ra);
    nnref_layout lay;
    nnref_layout_of(&ra, &lay);
    nt_rng g;
    nt_seed(&g, seed * 31u + 7u);
    for (size_t i = 0; i < lay.count; i++)
        if (!nnref_is_weight(&ra, i) || i >= lay.w_gr)
            params[i] = (float)nt_range(&g, -bias_scale, bias_scale);
}

void nt_to_double(const float *f, double *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (double)f[i];
}

/* --------------------------------------------------------------- backends */

int nt_backends(const cscalp_nn_backend *out[2])
{
    int n = 0;
    const cscalp_nn_backend *cpu = cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU);
    ck_assert_msg(cpu != NULL, "the cpu backend is always built");
    out[n++] = cpu;
    const cscalp_nn_backend *blas = cscalp_nn_backend_get(CSCALP_NN_BACKEND_BLAS);
    if (blas != NULL)
        out[n++] = blas;
    return n;
}

/* -------------------------------------------------------------- allocator */

static void *nt_alloc_fn(void *opaque, size_t size)
{
    nt_alloc *st = opaque;
    st->calls++;
    if ((st->fail_at > 0 && st->calls == st->fail_at) ||
        (st->fail_all_after && st->fail_at > 0 && st->calls > st->fail_at)) {
        st->failed++;
        return NULL;
    }
    void *p = malloc(size);
    if (p != NULL)
        st->live++;
    return p;
}

static void nt_free_fn(void *opaque, void *ptr)
{
    nt_alloc *st = opaque;
    if (ptr == NULL)
        return;
    st->live--;
    st->frees++;
    free(ptr);
}

cscalp_allocator nt_allocator(nt_alloc *state)
{
    cscalp_allocator a = {nt_alloc_fn, nt_free_fn, state};
    return a;
}

static void *plain_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return malloc(size);
}

static void plain_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

cscalp_allocator nt_plain_allocator(void)
{
    cscalp_allocator a = {plain_alloc, plain_free, NULL};
    return a;
}

/* ------------------------------------------------------------- assertions */

void nt_assert_same_bytes(const float *a, const float *b, size_t n, const char *what)
{
    if (memcmp(a, b, n * sizeof *a) == 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof *a) != 0)
            ck_abort_msg("%s: first difference at [%zu]: %a vs %a", what, i, (double)a[i],
                         (double)b[i]);
}

void nt_note(const char *name, double value)
{
    fprintf(stderr, "[nn] %s: %.3g\n", name, value);
}

int nt_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
