/* Batch-1 inference on packed weights (docs/model.md, "Batch-1 inference"):
 * cscalp_nn_packed_create / cscalp_nn_pack / cscalp_nn_infer against the
 * batched forward pass (cscalp_nn_forward, cpu backend) and the double
 * reference, over many inputs and architectures: widths that are not
 * multiples of the 16-wide panels, hidden width 1, no hidden layer, 16
 * experts (a 64-wide head).
 *
 * Tolerance 1e-6 on each probability: both paths sum every output in index
 * order but start from the bias at different points, so they differ by a few
 * float roundings of O(1) values; the gate is checked against the double
 * reference at 1e-5 (it is not exposed by the batched path).
 *
 * Bit for bit against a plain scalar float loop written here in the order
 * docs/model.md states (each output from its bias, inputs in index order,
 * zero inputs skipped, multiply then add): whichever clone of the panel
 * code the CPU picks (AVX2 or the x86-64 baseline) and whichever panel
 * grouping a width falls into (4, 2 or 1 panels at a time), the bits are
 * the loop's, so results never depend on the machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_util.h"

#define NX 64 /* inputs per architecture */

static const int ha[] = {64, 64}, hb[] = {17, 15}, hc[] = {1}, hd[] = {1, 33, 1},
                 he[] = {130}, hf[] = {16, 16, 16}, hg[] = {3, 5, 2, 9, 4, 6, 7, 8};

static cscalp_nn_arch arch_of(int k)
{
    switch (k) {
    case 0:
        return nt_arch(24, 2, ha, 3, CSCALP_NN_RELU);
    case 1:
        return nt_arch(24, 2, ha, 3, CSCALP_NN_SILU);
    case 2:
        return nt_arch(31, 2, hb, 16, CSCALP_NN_SILU);
    case 3:
        return nt_arch(1, 1, hc, 1, CSCALP_NN_RELU);
    case 4:
        return nt_arch(7, 0, NULL, 16, CSCALP_NN_RELU);
    case 5:
        return nt_arch(5, 3, hd, 2, CSCALP_NN_RELU);
    case 6:
        return nt_arch(100, 1, he, 5, CSCALP_NN_SILU);
    case 7:
        return nt_arch(16, 3, hf, 4, CSCALP_NN_RELU);
    case 8:
        return nt_arch(17, 8, hg, 7, CSCALP_NN_SILU);
    default:
        return nt_arch(48, 2, hb, 15, CSCALP_NN_RELU);
    }
}
#define N_ARCHS 10

typedef struct world {
    cscalp_nn_arch a;
    nnref_arch ra;
    size_t n;
    float *params;
    cscalp_nn_trainer *t;
    cscalp_nn_packed *pk;
    float *x, *r, *probs;
} world;

static void world_init(world *w, int k, uint64_t seed)
{
    w->a = arch_of(k);
    nt_ref_arch(&w->a, &w->ra);
    w->n = cscalp_nn_param_count(&w->a);
    w->params = malloc(sizeof(float) * w->n);
    nt_random_params(&w->a, seed, 0.4, w->params);
    cscalp_allocator mem = nt_plain_allocator();
    ck_assert_int_eq(cscalp_nn_trainer_create(&mem, &w->a, NX,
                                              cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU),
                                              &w->t),
                     CSCALP_OK);
    ck_assert_int_eq(cscalp_nn_packed_create(&mem, &w->a, &w->pk), CSCALP_OK);
    cscalp_nn_pack(w->pk, w->params);
    const int D = (int)w->a.inputs, E = (int)w->a.experts;
    w->x = malloc(sizeof(float) * (size_t)(NX * D));
    w->r = malloc(sizeof(float) * (size_t)(NX * E));
    w->probs = malloc(sizeof(float) * NX * 3);
    nt_rng g;
    nt_seed(&g, seed + 1);
    nt_fill(&g, w->x, (size_t)(NX * D), -2.5, 2.5);
    nt_regimes(&g, E, NX, w->r);
    /* sample 0 is the zero vector; sample 1 has every other input 0 or −0 */
    for (int j = 0; j < D; j++) {
        w->x[j] = 0.0f;
        if (j % 2 == 0)
            w->x[D + j] = j % 4 == 0 ? 0.0f : -0.0f;
    }
}

static void world_free(world *w)
{
    cscalp_nn_trainer_destroy(w->t);
    cscalp_nn_packed_destroy(w->pk);
    free(w->params), free(w->x), free(w->r), free(w->probs);
}

/* Infer every sample and compare with the batched forward pass (which must
 * have run on the same params) and, for the gate, with the reference. */
static void compare_all(world *w, const char *what, double *worst_p, double *worst_g)
{
    const int D = (int)w->a.inputs, E = (int)w->a.experts;
    double *pd = malloc(sizeof(double) * w->n);
    double *xd = malloc(sizeof(double) * (size_t)D);
    double rd[16], u[64], pref[3], gref[16];
    nt_to_double(w->params, pd, w->n);
    nnref_layout lay;
    nnref_layout_of(&w->ra, &lay);
    for (int i = 0; i < NX; i++) {
        cscalp_nn_result res;
        for (int e = 0; e < CSCALP_NN_MAX_EXPERTS; e++)
            res.gate[e] = NAN; /* every slot is written */
        res.probs[0] = res.probs[1] = res.probs[2] = NAN;
        cscalp_nn_infer(w->pk, w->x + (size_t)i * (size_t)D, w->r + (size_t)i * (size_t)E, &res);
        double sp = 0.0, sg = 0.0;
        for (int c = 0; c < 3; c++) {
            const double want = (double)w->probs[i * 3 + c];
            *worst_p = fmax(*worst_p, fabs((double)res.probs[c] - want));
            NT_NEAR(res.probs[c], want, 1e-6, "%s: sample %d p[%d]", what, i, c);
            sp += (double)res.probs[c];
        }
        NT_NEAR(sp, 1.0, 1e-6, "%s: sample %d sum of p", what, i);
        nt_to_double(w->x + (size_t)i * (size_t)D, xd, (size_t)D);
        nt_to_double(w->r + (size_t)i * (size_t)E, rd, (size_t)E);
        nnref_forward(&w->ra, pd, 1, xd, rd, pref, u, NULL);
        nnref_moe(E, u, rd, pd + lay.w_gr, NULL, gref, NULL);
        for (int e = 0; e < E; e++) {
            *worst_g = fmax(*worst_g, fabs((double)res.gate[e] - gref[e]));
            NT_NEAR(res.gate[e], gref[e], 1e-5, "%s: sample %d gate[%d]", what, i, e);
            sg += (double)res.gate[e];
        }
        NT_NEAR(sg, 1.0, 1e-6, "%s: sample %d sum of the gate", what, i);
        for (int e = E; e < CSCALP_NN_MAX_EXPERTS; e++)
            ck_assert_msg(res.gate[e] == 0.0f, "%s: sample %d unused gate slot %d = %g", what, i,
                          e, (double)res.gate[e]);
        for (int c = 0; c < 3; c++)
            NT_NEAR(res.probs[c], pref[c], 1e-5, "%s: sample %d p[%d] vs reference", what, i, c);
    }
    free(pd), free(xd);
}

START_TEST(infer_matches_batched_forward)
{
    world w;
    world_init(&w, _i, 300 + (uint64_t)_i);
    ck_assert_int_eq(cscalp_nn_forward(w.t, w.params, w.x, w.r, NX, w.probs), CSCALP_OK);
    double wp = 0.0, wg = 0.0;
    char what[64];
    snprintf(what, sizeof what, "arch %d", _i);
    compare_all(&w, what, &wp, &wg);
    snprintf(what, sizeof what, "arch %d: infer max |p - forward|", _i);
    nt_note(what, wp);
    snprintf(what, sizeof what, "arch %d: infer max |gate - ref|", _i);
    nt_note(what, wg);
    world_free(&w);
}
END_TEST

/* The packed copy is what inference uses: until cscalp_nn_pack runs again a
 * change to the flat parameters has no effect (same bytes as before); after
 * it, inference follows the new parameters. Inference keeps no state from
 * one call to the next. */
/* The scalar order, in float. */
static void scalar_layer(const float *w, const float *b, uint32_t in, uint32_t out, const float *x,
                         float *y)
{
    for (uint32_t j = 0; j < out; j++) {
        float acc = b[j];
        for (uint32_t i = 0; i < in; i++) {
            if (x[i] == 0.0f)
                continue;
            const float m = x[i] * w[(size_t)j * in + i];
            acc += m;
        }
        y[j] = acc;
    }
}

static void scalar_softmax(uint32_t n, const float *v, float *out)
{
    float mx = v[0];
    for (uint32_t k = 1; k < n; k++)
        mx = v[k] > mx ? v[k] : mx;
    float sum = 0.0f;
    for (uint32_t k = 0; k < n; k++) {
        out[k] = expf(v[k] - mx);
        sum += out[k];
    }
    const float inv = 1.0f / sum;
    for (uint32_t k = 0; k < n; k++)
        out[k] *= inv;
}

static void scalar_infer(const cscalp_nn_arch *a, const float *params, const float *x,
                         const float *regime, float probs[3], float *gate)
{
    cscalp_nn_layout lay;
    cscalp_nn_layout_of(a, &lay);
    float buf[2][1024], u[4 * CSCALP_NN_MAX_EXPERTS];
    const float *in = x;
    uint32_t width = a->inputs;
    for (uint32_t l = 0; l < a->hidden_layers; l++) {
        float *y = buf[l % 2];
        scalar_layer(params + lay.w[l], params + lay.b[l], width, a->hidden[l], in, y);
        for (uint32_t j = 0; j < a->hidden[l]; j++)
            y[j] = a->activation == CSCALP_NN_RELU ? ((y[j] > 0.0f || y[j] != y[j]) ? y[j] : 0.0f)
                                                   : y[j] / (1.0f + expf(-y[j]));
        in = y;
        width = a->hidden[l];
    }
    const uint32_t E = a->experts;
    scalar_layer(params + lay.head_w, params + lay.head_b, width, 4 * E, in, u);
    float g[CSCALP_NN_MAX_EXPERTS];
    for (uint32_t e = 0; e < E; e++) {
        float v = u[3 * E + e];
        for (uint32_t j = 0; j < E; j++)
            v += params[lay.gate_regime_w + (size_t)e * E + j] * regime[j];
        const float re = regime[e] > CSCALP_NN_PRIOR_FLOOR ? regime[e] : CSCALP_NN_PRIOR_FLOOR;
        g[e] = v + logf(re);
    }
    scalar_softmax(E, g, gate);
    probs[0] = probs[1] = probs[2] = 0.0f;
    for (uint32_t e = 0; e < E; e++) {
        float pe[3];
        scalar_softmax(3, u + 3 * e, pe);
        for (int c = 0; c < 3; c++)
            probs[c] += gate[e] * pe[c];
    }
}

START_TEST(infer_is_the_scalar_order_bit_for_bit)
{
    world w;
    world_init(&w, _i, 4242 + (uint64_t)_i);
    const int D = (int)w.a.inputs, E = (int)w.a.experts;
    for (int pass = 0; pass < 2; pass++) /* the second pass: regime priors cached */
        for (int i = 0; i < NX; i++) {
            cscalp_nn_result res;
            float probs[3], gate[CSCALP_NN_MAX_EXPERTS];
            cscalp_nn_infer(w.pk, w.x + (size_t)i * (size_t)D, w.r + (size_t)i * (size_t)E, &res);
            scalar_infer(&w.a, w.params, w.x + (size_t)i * (size_t)D,
                         w.r + (size_t)i * (size_t)E, probs, gate);
            if (memcmp(res.probs, probs, sizeof probs) != 0 ||
                memcmp(res.gate, gate, (size_t)E * sizeof *gate) != 0)
                ck_abort_msg("arch %d sample %d pass %d: packed inference %.9g %.9g %.9g, "
                             "scalar order %.9g %.9g %.9g",
                             _i, i, pass, (double)res.probs[0], (double)res.probs[1],
                             (double)res.probs[2], (double)probs[0], (double)probs[1],
                             (double)probs[2]);
        }
    world_free(&w);
}
END_TEST

START_TEST(repacking_takes_effect)
{
    for (int k = 0; k < N_ARCHS; k++) {
        world w;
        world_init(&w, k, 400 + (uint64_t)k);
        const int D = (int)w.a.inputs, E = (int)w.a.experts;
        cscalp_nn_result before[4], again, after;
        for (int i = 0; i < 4; i++)
            cscalp_nn_infer(w.pk, w.x + (size_t)(i * D), w.r + (size_t)(i * E), &before[i]);
        /* no state between calls: sample 2 again, after 3 */
        cscalp_nn_infer(w.pk, w.x + (size_t)(2 * D), w.r + (size_t)(2 * E), &again);
        ck_assert(memcmp(&again, &before[2], sizeof again) == 0);

        nt_random_params(&w.a, 500 + (uint64_t)k, 0.4, w.params);
        for (int i = 0; i < 4; i++) {
            cscalp_nn_infer(w.pk, w.x + (size_t)(i * D), w.r + (size_t)(i * E), &again);
            ck_assert_msg(memcmp(&again, &before[i], sizeof again) == 0,
                          "arch %d: the flat parameters changed inference before a re-pack", k);
        }
        cscalp_nn_pack(w.pk, w.params);
        cscalp_nn_pack(w.pk, w.params); /* packing twice is the same as once */
        int changed = 0;
        for (int i = 0; i < 4; i++) {
            cscalp_nn_infer(w.pk, w.x + (size_t)(i * D), w.r + (size_t)(i * E), &after);
            changed += memcmp(after.probs, before[i].probs, sizeof after.probs) != 0;
        }
        ck_assert_msg(changed > 0, "arch %d: re-packing new parameters changed nothing", k);
        ck_assert_int_eq(cscalp_nn_forward(w.t, w.params, w.x, w.r, NX, w.probs), CSCALP_OK);
        double wp = 0.0, wg = 0.0;
        char what[64];
        snprintf(what, sizeof what, "arch %d re-packed", k);
        compare_all(&w, what, &wp, &wg);
        world_free(&w);
    }
}
END_TEST

/* A second packed model from the same parameters gives the same bytes, and
 * a zero input with a uniform posterior works for every architecture. */
START_TEST(zero_input_and_two_packed_models)
{
    for (int k = 0; k < N_ARCHS; k++) {
        world w;
        world_init(&w, k, 600 + (uint64_t)k);
        const int D = (int)w.a.inputs, E = (int)w.a.experts;
        cscalp_allocator mem = nt_plain_allocator();
        cscalp_nn_packed *pk2 = NULL;
        ck_assert_int_eq(cscalp_nn_packed_create(&mem, &w.a, &pk2), CSCALP_OK);
        cscalp_nn_pack(pk2, w.params);
        float *zero = calloc((size_t)D, sizeof(float));
        float r[16];
        for (int e = 0; e < E; e++)
            r[e] = 1.0f / (float)E;
        cscalp_nn_result a, b;
        cscalp_nn_infer(w.pk, zero, r, &a);
        cscalp_nn_infer(pk2, zero, r, &b);
        ck_assert(memcmp(&a, &b, sizeof a) == 0);
        float probs[3];
        ck_assert_int_eq(cscalp_nn_forward(w.t, w.params, zero, r, 1, probs), CSCALP_OK);
        for (int c = 0; c < 3; c++) {
            ck_assert(isfinite(a.probs[c]));
            NT_NEAR(a.probs[c], probs[c], 1e-6, "arch %d zero input p[%d]", k, c);
        }
        free(zero);
        cscalp_nn_packed_destroy(pk2);
        world_free(&w);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nn_infer");
    TCase *tc = tcase_create("infer");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, infer_matches_batched_forward, 0, N_ARCHS);
    tcase_add_loop_test(tc, infer_is_the_scalar_order_bit_for_bit, 0, N_ARCHS);
    tcase_add_test(tc, repacking_takes_effect);
    tcase_add_test(tc, zero_input_and_two_packed_models);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return nt_run(suite()); }
