/* Argument errors and allocation failure (src/nn/nn.h):
 * - batch 0 or above max_batch, labels outside 0..2: CSCALP_EINVAL, with
 *   parameters and step count untouched;
 * - cscalp_nn_arch_check: each field out of range gives CSCALP_ECONFIG_RANGE
 *   and a message naming the field; the limits themselves pass;
 * - creation with an allocator that fails at the k-th call, for every k:
 *   CSCALP_ENOMEM, *out NULL and every block released (the counting
 *   allocator checks it here; ASan checks it again in CI). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_util.h"

static const int hid[] = {9, 5};

/* ----------------------------------------------------------- batch, labels */

START_TEST(batch_out_of_range_is_einval)
{
    const cscalp_nn_arch a = nt_arch(4, 2, hid, 2, CSCALP_NN_RELU);
    const size_t n = cscalp_nn_param_count(&a);
    enum { MAXB = 5 };
    cscalp_allocator mem = nt_plain_allocator();
    const cscalp_nn_backend *bes[2];
    const int nb = nt_backends(bes);
    for (int k = 0; k < nb; k++) {
        cscalp_nn_trainer *t = NULL;
        ck_assert_int_eq(cscalp_nn_trainer_create(&mem, &a, MAXB, bes[k], &t), CSCALP_OK);
        float *p = malloc(sizeof(float) * n), *keep = malloc(sizeof(float) * n);
        nt_random_params(&a, 1, 0.2, p);
        memcpy(keep, p, sizeof(float) * n);
        float x[(MAXB + 1) * 4], r[(MAXB + 1) * 2], probs[(MAXB + 1) * 3];
        uint8_t y[MAXB + 1] = {0, 1, 2, 0, 1, 2};
        nt_rng g;
        nt_seed(&g, 2);
        nt_fill(&g, x, sizeof x / sizeof x[0], -1, 1);
        nt_regimes(&g, 2, MAXB + 1, r);
        cscalp_nn_hparams hp;
        cscalp_nn_hparams_default(&hp);
        /* The arrays hold MAXB + 1 samples: every call below is within its
         * contract (`batch` samples in x, regime, labels) but for the size.
         * Larger sizes go to forward only, which need not read the data. */
        const uint32_t bad[] = {0, MAXB + 1, 1000, UINT32_MAX};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ck_assert_int_eq(cscalp_nn_forward(t, p, x, r, bad[i], probs), CSCALP_EINVAL);
            if (bad[i] > MAXB + 1)
                continue;
            ck_assert_int_eq(cscalp_nn_gradient(t, p, x, r, y, bad[i], &hp, NULL),
                             CSCALP_EINVAL);
            ck_assert_int_eq(cscalp_nn_train_step(t, p, x, r, y, bad[i], &hp, NULL),
                             CSCALP_EINVAL);
        }
        ck_assert(memcmp(p, keep, sizeof(float) * n) == 0);
        ck_assert_uint_eq(cscalp_nn_trainer_steps(t), 0);
        /* the limits themselves are fine */
        ck_assert_int_eq(cscalp_nn_forward(t, p, x, r, 1, probs), CSCALP_OK);
        ck_assert_int_eq(cscalp_nn_forward(t, p, x, r, MAXB, probs), CSCALP_OK);
        ck_assert_int_eq(cscalp_nn_train_step(t, p, x, r, y, MAXB, &hp, NULL), CSCALP_OK);
        ck_assert_uint_eq(cscalp_nn_trainer_steps(t), 1);
        free(p), free(keep);
        cscalp_nn_trainer_destroy(t);
    }
}
END_TEST

START_TEST(labels_out_of_range_are_einval)
{
    const cscalp_nn_arch a = nt_arch(4, 2, hid, 3, CSCALP_NN_SILU);
    const size_t n = cscalp_nn_param_count(&a);
    enum { BATCH = 6 };
    cscalp_allocator mem = nt_plain_allocator();
    cscalp_nn_trainer *t = NULL;
    ck_assert_int_eq(cscalp_nn_trainer_create(&mem, &a, BATCH,
                                              cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU), &t),
                     CSCALP_OK);
    float *p = malloc(sizeof(float) * n), *keep = malloc(sizeof(float) * n);
    nt_random_params(&a, 3, 0.2, p);
    float x[BATCH * 4], r[BATCH * 3];
    nt_rng g;
    nt_seed(&g, 4);
    nt_fill(&g, x, BATCH * 4, -1, 1);
    nt_regimes(&g, 3, BATCH, r);
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    /* one good step first, so that there is optimiser state to keep */
    const uint8_t good[BATCH] = {0, 1, 2, 2, 1, 0};
    ck_assert_int_eq(cscalp_nn_train_step(t, p, x, r, good, BATCH, &hp, NULL), CSCALP_OK);
    memcpy(keep, p, sizeof(float) * n);
    const uint8_t bad_values[] = {3, 4, 128, 255};
    for (size_t v = 0; v < sizeof bad_values; v++)
        for (int at = 0; at < BATCH; at += BATCH - 1) { /* first and last sample */
            uint8_t y[BATCH];
            memcpy(y, good, sizeof y);
            y[at] = bad_values[v];
            double loss = 12345.0;
            ck_assert_int_eq(cscalp_nn_gradient(t, p, x, r, y, BATCH, &hp, &loss),
                             CSCALP_EINVAL);
            ck_assert_int_eq(cscalp_nn_train_step(t, p, x, r, y, BATCH, &hp, &loss),
                             CSCALP_EINVAL);
            ck_assert_msg(memcmp(p, keep, sizeof(float) * n) == 0,
                          "label %u at %d changed the parameters", bad_values[v], at);
            ck_assert_uint_eq(cscalp_nn_trainer_steps(t), 1);
        }
    free(p), free(keep);
    cscalp_nn_trainer_destroy(t);
}
END_TEST

/* ------------------------------------------------------------- arch_check */

static void expect_range(const cscalp_nn_arch *a, const char *field, const char *value)
{
    char why[256];
    memset(why, 0, sizeof why);
    const int rc = cscalp_nn_arch_check(a, why, sizeof why);
    ck_assert_msg(rc == CSCALP_ECONFIG_RANGE, "%s = %s: rc %d", field, value, rc);
    ck_assert_msg(strstr(why, field) != NULL, "%s = %s: message '%s' does not name the field",
                  field, value, why);
    ck_assert_msg(strstr(why, value) != NULL, "%s = %s: message '%s' does not give the value",
                  field, value, why);
}

static void expect_ok(const cscalp_nn_arch *a, const char *what)
{
    char why[256] = "";
    const int rc = cscalp_nn_arch_check(a, why, sizeof why);
    ck_assert_msg(rc == CSCALP_OK, "%s: rc %d (%s)", what, rc, why);
}

START_TEST(arch_check_names_each_bad_field)
{
    const int h3[] = {9, 5, 7};
    const cscalp_nn_arch base = nt_arch(24, 3, h3, 3, CSCALP_NN_RELU);
    expect_ok(&base, "base");
    cscalp_nn_arch a;

    a = base, a.inputs = 0;
    expect_range(&a, "inputs", "0");
    a = base, a.inputs = CSCALP_NN_MAX_INPUTS + 1;
    expect_range(&a, "inputs", "4097");
    a = base, a.inputs = UINT32_MAX;
    expect_range(&a, "inputs", "4294967295");

    a = base, a.hidden_layers = CSCALP_NN_MAX_HIDDEN + 1;
    expect_range(&a, "hidden layers", "9");
    a = base, a.hidden_layers = 1000;
    expect_range(&a, "hidden layers", "1000");

    a = base, a.hidden[0] = 0;
    expect_range(&a, "hidden layer", "0");
    a = base, a.hidden[2] = CSCALP_NN_MAX_WIDTH + 1;
    expect_range(&a, "hidden layer", "1025");
    a = base, a.hidden[1] = UINT32_MAX;
    expect_range(&a, "hidden layer", "4294967295");

    a = base, a.experts = 0;
    expect_range(&a, "experts", "0");
    a = base, a.experts = CSCALP_NN_MAX_EXPERTS + 1;
    expect_range(&a, "experts", "17");

    a = base, a.activation = 2;
    expect_range(&a, "activation", "2");
    a = base, a.activation = -1;
    expect_range(&a, "activation", "-1");

    /* the limits pass */
    a = base, a.inputs = 1;
    expect_ok(&a, "inputs 1");
    a = base, a.inputs = CSCALP_NN_MAX_INPUTS;
    expect_ok(&a, "inputs 4096");
    a = base, a.hidden_layers = 0;
    expect_ok(&a, "no hidden layer");
    a = base, a.hidden_layers = CSCALP_NN_MAX_HIDDEN;
    for (int l = 0; l < CSCALP_NN_MAX_HIDDEN; l++)
        a.hidden[l] = l % 2 ? 1 : CSCALP_NN_MAX_WIDTH;
    expect_ok(&a, "8 hidden layers, widths 1 and 1024");
    a = base, a.experts = 1;
    expect_ok(&a, "1 expert");
    a = base, a.experts = CSCALP_NN_MAX_EXPERTS;
    expect_ok(&a, "16 experts");
    a = base, a.activation = CSCALP_NN_SILU;
    expect_ok(&a, "silu");
    /* widths past hidden_layers are not looked at */
    a = base, a.hidden_layers = 2, a.hidden[2] = 0, a.hidden[7] = 99999;
    expect_ok(&a, "unused widths");

    /* a short message buffer is truncated, NUL-terminated, not overrun */
    char small[12];
    memset(small, 'Z', sizeof small);
    a = base, a.experts = 17;
    ck_assert_int_eq(cscalp_nn_arch_check(&a, small, 8), CSCALP_ECONFIG_RANGE);
    ck_assert_msg(memchr(small, '\0', 8) != NULL, "message not terminated within cap");
    for (int i = 8; i < 12; i++)
        ck_assert_msg(small[i] == 'Z', "byte %d past cap written", i);
}
END_TEST

START_TEST(bad_creation_arguments)
{
    cscalp_allocator mem = nt_plain_allocator();
    const cscalp_nn_backend *cpu = cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU);
    cscalp_nn_arch bad = nt_arch(4, 2, hid, 0, CSCALP_NN_RELU);
    const cscalp_nn_arch good = nt_arch(4, 2, hid, 2, CSCALP_NN_RELU);
    cscalp_nn_trainer *t = (cscalp_nn_trainer *)&mem; /* any non-NULL value */
    ck_assert_int_ne(cscalp_nn_trainer_create(&mem, &bad, 4, cpu, &t), CSCALP_OK);
    ck_assert_ptr_null(t);
    t = (cscalp_nn_trainer *)&mem;
    ck_assert_int_ne(cscalp_nn_trainer_create(&mem, &good, 0, cpu, &t), CSCALP_OK);
    ck_assert_ptr_null(t);
    t = (cscalp_nn_trainer *)&mem;
    ck_assert_int_ne(cscalp_nn_trainer_create(&mem, &good, 4, NULL, &t), CSCALP_OK);
    ck_assert_ptr_null(t);
    cscalp_nn_packed *p = (cscalp_nn_packed *)&mem;
    ck_assert_int_ne(cscalp_nn_packed_create(&mem, &bad, &p), CSCALP_OK);
    ck_assert_ptr_null(p);
    cscalp_nn_trainer_destroy(NULL);
    cscalp_nn_packed_destroy(NULL);
}
END_TEST

/* ----------------------------------------------------- failing allocator */

static const int hw[] = {16, 33, 1};
static cscalp_nn_arch alloc_arch(int k)
{
    switch (k) {
    case 0:
        return nt_arch(24, 2, hw, 3, CSCALP_NN_RELU);
    case 1:
        return nt_arch(5, 0, NULL, 16, CSCALP_NN_SILU);
    default:
        return nt_arch(7, 3, hw, 1, CSCALP_NN_SILU);
    }
}

typedef int (*create_fn)(const cscalp_allocator *mem, const cscalp_nn_arch *a, void **out);
typedef void (*destroy_fn)(void *obj);

static int mk_trainer(const cscalp_allocator *mem, const cscalp_nn_arch *a, void **out)
{
    cscalp_nn_trainer *t = NULL;
    const int rc =
        cscalp_nn_trainer_create(mem, a, 17, cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU), &t);
    *out = t;
    return rc;
}
static void rm_trainer(void *obj) { cscalp_nn_trainer_destroy(obj); }

static int mk_packed(const cscalp_allocator *mem, const cscalp_nn_arch *a, void **out)
{
    cscalp_nn_packed *p = NULL;
    const int rc = cscalp_nn_packed_create(mem, a, &p);
    *out = p;
    return rc;
}
static void rm_packed(void *obj) { cscalp_nn_packed_destroy(obj); }

static void fail_every_call(create_fn mk, destroy_fn rm, const char *what)
{
    for (int k = 0; k < 3; k++) {
        const cscalp_nn_arch a = alloc_arch(k);
        nt_alloc st;
        memset(&st, 0, sizeof st);
        cscalp_allocator mem = nt_allocator(&st);
        void *obj = NULL;
        ck_assert_int_eq(mk(&mem, &a, &obj), CSCALP_OK);
        ck_assert_ptr_nonnull(obj);
        const long calls = st.calls;
        ck_assert_msg(calls >= 2, "%s: %ld allocations", what, calls);
        rm(obj);
        ck_assert_msg(st.live == 0, "%s arch %d: %ld blocks left after destroy", what, k, st.live);
        for (int mode = 0; mode < 2; mode++)
            for (long fail = 1; fail <= calls; fail++) {
                memset(&st, 0, sizeof st);
                st.fail_at = fail;
                st.fail_all_after = mode;
                obj = (void *)&st; /* must be reset to NULL */
                const int rc = mk(&mem, &a, &obj);
                ck_assert_msg(rc == CSCALP_ENOMEM, "%s arch %d: allocation %ld fails: rc %d",
                              what, k, fail, rc);
                ck_assert_msg(obj == NULL, "%s arch %d: *out not NULL after failure", what, k);
                ck_assert_msg(st.live == 0, "%s arch %d, allocation %ld fails%s: %ld blocks leak",
                              what, k, fail, mode ? " (and all after)" : "", st.live);
                ck_assert_int_ge(st.failed, 1);
            }
        /* failing only after the last call: success */
        memset(&st, 0, sizeof st);
        st.fail_at = calls + 1;
        ck_assert_int_eq(mk(&mem, &a, &obj), CSCALP_OK);
        rm(obj);
        ck_assert_int_eq(st.live, 0);
    }
}

START_TEST(trainer_create_survives_allocation_failure)
{
    fail_every_call(mk_trainer, rm_trainer, "trainer");
}
END_TEST

START_TEST(packed_create_survives_allocation_failure)
{
    fail_every_call(mk_packed, rm_packed, "packed");
}
END_TEST

/* A trainer built and used on the counting allocator allocates nothing
 * after creation (nn.h: no function allocates except the *_create ones). */
START_TEST(no_allocation_after_create)
{
    const cscalp_nn_arch a = alloc_arch(0);
    nt_alloc st;
    memset(&st, 0, sizeof st);
    cscalp_allocator mem = nt_allocator(&st);
    const cscalp_nn_backend *bes[2];
    const int nb = nt_backends(bes);
    cscalp_nn_trainer *t = NULL;
    cscalp_nn_packed *pk = NULL;
    ck_assert_int_eq(cscalp_nn_trainer_create(&mem, &a, 17, bes[0], &t), CSCALP_OK);
    ck_assert_int_eq(cscalp_nn_packed_create(&mem, &a, &pk), CSCALP_OK);
    const long calls = st.calls;
    const size_t n = cscalp_nn_param_count(&a);
    float *p = malloc(sizeof(float) * n);
    cscalp_nn_init_params(&a, 3, p);
    float x[17 * 24], r[17 * 3], probs[17 * 3];
    uint8_t y[17];
    nt_rng g;
    nt_seed(&g, 5);
    nt_fill(&g, x, sizeof x / sizeof x[0], -1, 1);
    nt_regimes(&g, 3, 17, r);
    for (int i = 0; i < 17; i++)
        y[i] = (uint8_t)(i % 3);
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    for (int k = 0; k < nb; k++) {
        cscalp_nn_trainer_set_backend(t, bes[k]);
        ck_assert_int_eq(cscalp_nn_forward(t, p, x, r, 17, probs), CSCALP_OK);
        ck_assert_int_eq(cscalp_nn_train_step(t, p, x, r, y, 17, &hp, NULL), CSCALP_OK);
    }
    cscalp_nn_pack(pk, p);
    cscalp_nn_result res;
    cscalp_nn_infer(pk, x, r, &res);
    ck_assert_int_eq(st.calls, calls);
    cscalp_nn_trainer_destroy(t);
    cscalp_nn_packed_destroy(pk);
    ck_assert_int_eq(st.live, 0);
    free(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("nn_errors");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, batch_out_of_range_is_einval);
    tcase_add_test(tc, labels_out_of_range_are_einval);
    tcase_add_test(tc, arch_check_names_each_bad_field);
    tcase_add_test(tc, bad_creation_arguments);
    tcase_add_test(tc, trainer_create_survives_allocation_failure);
    tcase_add_test(tc, packed_create_survives_allocation_failure);
    tcase_add_test(tc, no_allocation_after_create);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return nt_run(suite()); }
