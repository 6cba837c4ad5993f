/* The hot path's series for exp and log agree with libm to double precision
 * across and around their switch-over points. */
#include <math.h>

#include "test_util.h"
#include "util/fastmath.h"

START_TEST(decay_factor_matches_exp)
{
    const double taus[] = {1.0, 10.0, 60.0, 300.0};
    double worst = 0.0;
    for (int k = 0; k < 4; k++) {
        for (int64_t dt = 1; dt < 1000LL * NS_PER_S; dt = dt * 11 / 10 + 1) {
            const double want = exp(-(double)dt * 1e-9 / taus[k]);
            const double got = cscalp_decay_factor(dt, taus[k]);
            const double rel = fabs(got - want) / want;
            if (rel > worst)
                worst = rel;
        }
    }
    ck_assert_msg(worst < 4e-16, "worst relative error %g", worst);
}
END_TEST

START_TEST(log_ratio_matches_log)
{
    double worst = 0.0;
    for (double x = 1e-12; x < 0.5; x *= 1.05) {
        const double ratios[2] = {1.0 + x, 1.0 / (1.0 + x)};
        for (int s = 0; s < 2; s++) {
            const double a = 60000.0 * ratios[s], b = 60000.0;
            /* log1p of the exact difference is the accurate reference;
             * log(a / b) itself loses digits when a / b rounds near 1. */
            const double want = log1p((a - b) / b);
            const double got = cscalp_log_ratio(a, b);
            const double rel = fabs(got - want) / fabs(want);
            if (rel > worst)
                worst = rel;
        }
    }
    ck_assert_msg(worst < 1e-15, "worst relative error %g", worst);
    ck_assert_double_eq(cscalp_log_ratio(5.0, 5.0), 0.0);
}
END_TEST

static Suite *fastmath_suite(void)
{
    Suite *s = suite_create("fastmath");
    TCase *tc = tcase_create("fastmath");
    tcase_add_test(tc, decay_factor_matches_exp);
    tcase_add_test(tc, log_ratio_matches_log);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(fastmath_suite()); }
