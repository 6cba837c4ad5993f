/* A NaN parameter behind a ReLU, without L2 (docs/model.md, "Optimisers":
 * a step with a non-finite number is refused, parameters and optimiser
 * state unchanged).
 *
 * Regression test. The first ReLU was `z > 0 ? z : 0`, which maps NaN to 0:
 * a NaN in W_1 made that unit's activation 0 and its backward mask 0, so the
 * loss and every gradient stayed finite, the step was accepted and the NaN
 * lived on in the parameters. ReLU now propagates NaN, as PyTorch's does, so
 * the loss is non-finite and the step is refused. (With any L2 the λ·NaN
 * gradient was already caught.) */
#include <stdlib.h>
#include <string.h>

#include "nn_util.h"

/* which: 0 puts the NaN in W_1, 1 in b_1. (A NaN in a deeper layer's W is
 * caught: the backward pass multiplies the masked 0 by it for dX.) */
static void relu_nan_case(int optimizer, int which)
{
    static const int hid[] = {6, 5};
    const cscalp_nn_arch a = nt_arch(4, 2, hid, 2, CSCALP_NN_RELU);
    const size_t n = cscalp_nn_param_count(&a);
    cscalp_nn_layout lay;
    cscalp_nn_layout_of(&a, &lay);
    float *p = malloc(sizeof(float) * n), *keep = malloc(sizeof(float) * n);
    nt_random_params(&a, 1, 0.2, p);
    p[which == 0 ? lay.w[0] + 1 : lay.b[0] + 2] = NAN;
    memcpy(keep, p, sizeof(float) * n);
    enum { B = 4 };
    float x[B * 4], r[B * 2];
    const uint8_t y[B] = {0, 1, 2, 1};
    nt_rng g;
    nt_seed(&g, 3);
    nt_fill(&g, x, B * 4, -1, 1);
    nt_regimes(&g, 2, B, r);
    cscalp_allocator mem = nt_plain_allocator();
    cscalp_nn_trainer *t = NULL;
    ck_assert_int_eq(cscalp_nn_trainer_create(&mem, &a, B,
                                              cscalp_nn_backend_get(CSCALP_NN_BACKEND_CPU), &t),
                     CSCALP_OK);
    cscalp_nn_hparams hp;
    cscalp_nn_hparams_default(&hp);
    hp.optimizer = optimizer;
    hp.momentum = 0.9f; /* l2 stays 0 */
    double loss = 0.0;
    const int rc = cscalp_nn_train_step(t, p, x, r, y, B, &hp, &loss);
    ck_assert_msg(rc == CSCALP_ENONFINITE,
                  "NaN in %s of a ReLU net (%s, no L2): step returned %d with loss %g",
                  which == 0 ? "W_1" : "b_1", optimizer == CSCALP_NN_ADAM ? "adam" : "sgd", rc, loss);
    ck_assert(memcmp(p, keep, sizeof(float) * n) == 0);
    ck_assert_uint_eq(cscalp_nn_trainer_steps(t), 0);
    cscalp_nn_trainer_destroy(t);
    free(p), free(keep);
}

START_TEST(nan_weight_behind_relu_is_refused)
{
    for (int which = 0; which < 2; which++) {
        relu_nan_case(CSCALP_NN_ADAM, which);
        relu_nan_case(CSCALP_NN_SGD, which);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nn_relu_nan");
    TCase *tc = tcase_create("relu_nan");
    tcase_add_test(tc, nan_weight_behind_relu_is_refused);
    suite_add_tcase(s, tc);
    return nt_run(s);
}
