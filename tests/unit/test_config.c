/* Configuration: defaults, validation with key paths, runtime patches that
 * apply all or nothing, the effective-config round trip, and docs. */
#include <stdio.h>
#include <string.h>

#include "persist/config.h"
#include "test_util.h"

static int open_with(const char *json, char *err, size_t cap, cscalp_engine **e)
{
    return cscalp_open_ex(e, json, NULL, err, cap);
}

START_TEST(open_with_null_config_gives_a_working_engine_on_defaults)
{
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open(&e, NULL), CSCALP_OK);
    ck_assert_ptr_nonnull(e);
    char buf[8192];
    size_t needed = 0;
    ck_assert_int_eq(cscalp_config_json(e, buf, sizeof buf, &needed), CSCALP_OK);
    ck_assert_uint_eq(needed, strlen(buf));
    ck_assert_ptr_nonnull(strstr(buf, "\"book_levels\":10"));
    ck_assert_ptr_nonnull(strstr(buf, "\"z_clip\":5"));
    cscalp_quote q = {NS_PER_S, 100.0, 1.0, 100.5, 2.0};
    ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_OK);
    cscalp_close(e);
    cscalp_close(NULL); /* a no-op */
}
END_TEST

START_TEST(empty_object_equals_defaults)
{
    cscalp_engine *a, *b;
    ck_assert_int_eq(cscalp_open(&a, NULL), CSCALP_OK);
    ck_assert_int_eq(cscalp_open(&b, "{ }"), CSCALP_OK);
    char ja[8192], jb[8192];
    ck_assert_int_eq(cscalp_config_json(a, ja, sizeof ja, NULL), CSCALP_OK);
    ck_assert_int_eq(cscalp_config_json(b, jb, sizeof jb, NULL), CSCALP_OK);
    ck_assert_str_eq(ja, jb);
    cscalp_close(a);
    cscalp_close(b);
}
END_TEST

typedef struct bad_config_case {
    const char *json;
    int code;
    const char *detail; /* must appear in the error text */
} bad_config_case;

static const bad_config_case bad_configs[] = {
    {"{\"feed\":{\"book_levls\":5}}", CSCALP_ECONFIG_KEY, "feed.book_levls"},
    {"{\"nonsense\":1}", CSCALP_ECONFIG_KEY, "nonsense"},
    {"{\"feed\":{\"book_levels\":\"ten\"}}", CSCALP_ECONFIG_TYPE, "feed.book_levels"},
    {"{\"feed\":{\"book_levels\":2.5}}", CSCALP_ECONFIG_TYPE, "feed.book_levels"},
    {"{\"feed\":7}", CSCALP_ECONFIG_TYPE, "feed: expected an object"},
    {"{\"feed\":{\"book_levels\":{}}}", CSCALP_ECONFIG_TYPE, "feed.book_levels"},
    {"{\"feed\":{\"book_levels\":51}}", CSCALP_ECONFIG_RANGE, "feed.book_levels"},
    {"{\"feed\":{\"book_levels\":0}}", CSCALP_ECONFIG_RANGE, "feed.book_levels"},
    {"{\"features\":{\"norm_half_life_s\":0}}", CSCALP_ECONFIG_RANGE,
     "features.norm_half_life_s: must be in (0"},
    {"{\"features\":{\"z_clip\":-1}}", CSCALP_ECONFIG_RANGE, "features.z_clip"},
    {"{\"feed\":{\"max_time_regression_ms\":-1}}", CSCALP_ECONFIG_RANGE,
     "feed.max_time_regression_ms"},
    {"{\"feed\":{\"book_levels\":5,\"book_levels\":6}}", CSCALP_ECONFIG_KEY,
     "duplicate key"},
    {"{\"feed\":", CSCALP_EJSON, "malformed JSON"},
    {"[1,2]", CSCALP_ECONFIG_TYPE, "expected a JSON object"},
    {"{\"regime\":{\"size_factors\":\"x\"}}", CSCALP_ECONFIG_TYPE,
     "regime.size_factors: expected an array of numbers"},
    {"{\"regime\":{\"size_factors\":[]}}", CSCALP_ECONFIG_RANGE,
     "regime.size_factors: must have 1 to 16 elements, got 0"},
    {"{\"regime\":{\"entry_band_bps\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}}",
     CSCALP_ECONFIG_RANGE, "regime.entry_band_bps: must have 1 to 16 elements, got 17"},
    {"{\"model\":{\"hidden_sizes\":[4,4,4,4,4,4,4,4,4]}}", CSCALP_ECONFIG_RANGE,
     "model.hidden_sizes: must have 1 to 8 elements, got 9"},
    {"{\"risk\":{\"max_orders_per_s\":10,\"max_orders_per_min\":5}}", CSCALP_ECONFIG_RANGE,
     "risk.max_orders_per_min"},
    {"{\"risk\":{\"margin_bracket_rate_fractions\":[0.004]}}", CSCALP_ECONFIG_RANGE,
     "risk.margin_bracket_rate_fractions"},
    {"{\"risk\":{\"margin_bracket_rate_fractions\":[0.004,0.003,0.01,0.025,0.05,0.1,0.125,0.15,"
     "0.25,0.5]}}",
     CSCALP_ECONFIG_RANGE, "risk.margin_bracket_*"},
    {"{\"risk\":{\"kill_switch\":\"off\"}}", CSCALP_ECONFIG_RANGE, "risk.kill_switch"},
    {"{\"policy\":{\"market_protection_bps\":60}}", CSCALP_ECONFIG_RANGE,
     "policy.market_protection_bps"},
    {"{\"policy\":{\"tick_size_quote\":0}}", CSCALP_ECONFIG_RANGE, "policy.tick_size_quote"},
    {"{\"regime\":{\"size_factors\":[1,\"a\"]}}", CSCALP_ECONFIG_TYPE,
     "regime.size_factors[1]: expected a number"},
    {"{\"regime\":{\"max_leverage_factors\":[1,-1]}}", CSCALP_ECONFIG_RANGE,
     "regime.max_leverage_factors[1]: must be in [0, 125]"},
    {"{\"regime\":{\"warmup_steps\":8}}", CSCALP_ECONFIG_RANGE, "regime.warmup_steps"},
    {"{\"regime\":{\"change_probability\":0.4}}", CSCALP_ECONFIG_RANGE,
     "regime.change_probability"},
    {"{} trailing", CSCALP_EJSON, "malformed JSON"},
};

START_TEST(bad_config_is_refused_with_the_key_path)
{
    const bad_config_case *c = &bad_configs[_i];
    char err[256] = "untouched";
    cscalp_engine *e = (cscalp_engine *)&err; /* must be reset to NULL */
    ck_assert_int_eq(open_with(c->json, err, sizeof err, &e), c->code);
    ck_assert_ptr_null(e);
    ck_assert_msg(strstr(err, c->detail) != NULL, "error '%s' lacks '%s'", err,
                  c->detail);
}
END_TEST

START_TEST(configure_applies_all_or_nothing)
{
    cscalp_engine *e;
    ck_assert_int_eq(cscalp_open(&e, NULL), CSCALP_OK);
    captured_events ev = {0};
    cscalp_set_health_callback(e, capture_event, &ev);

    char before[8192], after[8192];
    cscalp_config_json(e, before, sizeof before, NULL);
    /* The first key is valid, the second is not: nothing may change. */
    ck_assert_int_eq(cscalp_configure(e, "{\"feed\":{\"book_levels\":5},"
                                         "\"features\":{\"z_clip\":0}}"),
                     CSCALP_ECONFIG_RANGE);
    ck_assert_ptr_nonnull(strstr(cscalp_last_error(e), "features.z_clip"));
    cscalp_config_json(e, after, sizeof after, NULL);
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(ev.count, 1);
    ck_assert_int_eq(ev.last.event, CSCALP_EVENT_CONFIG_REJECTED);
    ck_assert_int_eq(ev.last.error, CSCALP_ECONFIG_RANGE);
    ck_assert_int_eq(ev.last.component, CSCALP_COMPONENT_ENGINE);

    ck_assert_int_eq(cscalp_configure(e, "{\"feed\":{\"book_levels\":5}}"), CSCALP_OK);
    ck_assert_str_eq(cscalp_last_error(e), "");
    cscalp_config_json(e, after, sizeof after, NULL);
    ck_assert_ptr_nonnull(strstr(after, "\"book_levels\":5"));
    ck_assert_int_eq(ev.count, 2);
    ck_assert_int_eq(ev.last.event, CSCALP_EVENT_CONFIG_CHANGED);

    char stats[16384];
    ck_assert_int_eq(cscalp_stats_json(e, stats, sizeof stats, NULL), CSCALP_OK);
    ck_assert_ptr_nonnull(strstr(stats, "\"config_rejected\":1"));
    ck_assert_ptr_nonnull(strstr(stats, "\"config_changes\":1"));
    ck_assert_int_eq(cscalp_configure(e, NULL), CSCALP_EINVAL);
    cscalp_close(e);
}
END_TEST

/* The regime keys: number arrays round-trip, changeable ones apply while
 * running (the blended policy parameters move at once), fixed ones are
 * refused with CSCALP_ECONFIG_FIXED. */
START_TEST(regime_keys_at_open_and_while_running)
{
    cscalp_engine *e;
    ck_assert_int_eq(cscalp_open(&e, "{\"regime\":{\"size_factors\":[2,1,0.5]}}"), CSCALP_OK);
    char cfg[8192], stats[32768];
    ck_assert_int_eq(cscalp_config_json(e, cfg, sizeof cfg, NULL), CSCALP_OK);
    ck_assert_msg(strstr(cfg, "\"size_factors\":[2,1,0.5]") != NULL, "%s", cfg);
    ck_assert_ptr_nonnull(strstr(cfg, "\"entry_band_bps\":[0,1,3]"));
    ck_assert_int_eq(cscalp_stats_json(e, stats, sizeof stats, NULL), CSCALP_OK);
    /* uniform posterior during warm-up: the mean of the three */
    ck_assert_msg(strstr(stats, "\"size_factor\":1.1666666") != NULL, "%s",
                  strstr(stats, "\"policy\""));
    ck_assert_int_eq(cscalp_configure(e, "{\"regime\":{\"size_factors\":[3],"
                                         "\"interval_ms\":250,\"confirm_steps\":2}}"),
                     CSCALP_OK);
    ck_assert_int_eq(cscalp_stats_json(e, stats, sizeof stats, NULL), CSCALP_OK);
    /* a one-element list stands for every regime */
    ck_assert_msg(strstr(stats, "\"size_factor\":3") != NULL, "%s", strstr(stats, "\"policy\""));
    ck_assert_int_eq(cscalp_configure(e, "{\"regime\":{\"warmup_steps\":100}}"),
                     CSCALP_ECONFIG_FIXED);
    ck_assert_ptr_nonnull(strstr(cscalp_last_error(e), "regime.warmup_steps"));
    cscalp_close(e);
}
END_TEST

START_TEST(effective_config_round_trips)
{
    cscalp_engine *a, *b;
    ck_assert_int_eq(cscalp_open(&a, "{\"feed\":{\"book_levels\":20,"
                                     "\"max_time_regression_ms\":2.5},"
                                     "\"features\":{\"norm_half_life_s\":0.1}}"),
                     CSCALP_OK);
    char ja[8192], jb[8192];
    ck_assert_int_eq(cscalp_config_json(a, ja, sizeof ja, NULL), CSCALP_OK);
    ck_assert_ptr_nonnull(strstr(ja, "\"norm_half_life_s\":0.1"));
    ck_assert_int_eq(cscalp_open(&b, ja), CSCALP_OK);
    ck_assert_int_eq(cscalp_config_json(b, jb, sizeof jb, NULL), CSCALP_OK);
    ck_assert_str_eq(ja, jb);
    cscalp_close(a);
    cscalp_close(b);
}
END_TEST

START_TEST(config_json_reports_the_size_it_needs)
{
    cscalp_engine *e;
    ck_assert_int_eq(cscalp_open(&e, NULL), CSCALP_OK);
    size_t needed = 0;
    ck_assert_int_eq(cscalp_config_json(e, NULL, 0, &needed), CSCALP_OK);
    ck_assert_uint_gt(needed, 10);
    char small[8];
    size_t again = 0;
    ck_assert_int_eq(cscalp_config_json(e, small, sizeof small, &again), CSCALP_EBUFFER);
    ck_assert_uint_eq(again, needed);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    char *full = malloc(needed + 1);
    ck_assert_int_eq(cscalp_config_json(e, full, needed + 1, NULL), CSCALP_OK);
    ck_assert_uint_eq(strlen(full), needed);
    free(full);
    ck_assert_int_eq(cscalp_config_json(e, NULL, 5, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_stats_json(e, small, sizeof small, &again), CSCALP_EBUFFER);
    cscalp_close(e);
}
END_TEST

START_TEST(every_config_key_is_documented_with_a_unit)
{
    const char *root = getenv("CSCALP_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "CSCALP_SOURCE_ROOT is not set");
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/config.md", root);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char doc[65536];
    const size_t n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = '\0';
    fclose(f);
    for (size_t i = 0; i < cscalp_config_key_count(); i++) {
        const cscalp_config_key *k = cscalp_config_key_at(i);
        char needle[160];
        snprintf(needle, sizeof needle, "`%s`", k->path);
        ck_assert_msg(strstr(doc, needle) != NULL, "%s is not in docs/config.md",
                      k->path);
        /* Policy numbers carry their unit in the name (STYLE.md); choices
         * (strings) have none. A seed is an identifier, not a quantity. */
        const char *name = strrchr(k->path, '.') + 1;
        const int has_unit = k->type == CSCALP_CONFIG_CHOICE || strstr(name, "_ms") ||
                             strstr(name, "_s") || strstr(name, "_bps") ||
                             strstr(name, "_count") || strstr(name, "_sizes") ||
                             strstr(name, "levels") || strstr(name, "samples") ||
                             strstr(name, "clip") || strstr(name, "_events") ||
                             strstr(name, "_steps") || strstr(name, "_fraction") ||
                             strstr(name, "_factor") || strstr(name, "_nats") ||
                             strstr(name, "_sigma") || strstr(name, "_probability") ||
                             strstr(name, "_exponent") || strstr(name, "_quote") ||
                             strstr(name, "_contracts") || strstr(name, "_ticks") ||
                             strstr(name, "_per_s") || strstr(name, "_per_min") ||
                             /* dimensionless coefficients of the optimisers */
                             strstr(name, "learning_rate") || strstr(name, "l2") ||
                             strstr(name, "grad_norm") || strcmp(name, "seed") == 0;
        ck_assert_msg(has_unit, "%s carries no unit in its name", k->path);
    }
}
END_TEST

START_TEST(version_and_errors_are_consistent)
{
    ck_assert_uint_eq(cscalp_version(), CSCALP_VERSION_HEX);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", CSCALP_VERSION_MAJOR, CSCALP_VERSION_MINOR,
             CSCALP_VERSION_PATCH);
    ck_assert_str_eq(cscalp_version_string(), v);
    ck_assert_str_eq(cscalp_strerror(CSCALP_ECROSSED), "crossed or locked book (bid >= ask)");
    ck_assert_str_eq(cscalp_error_name(CSCALP_ETIME), "CSCALP_ETIME");
    ck_assert_str_eq(cscalp_strerror(-9999), "unknown error");
    ck_assert_int_eq(cscalp_has_feature(CSCALP_FEATURE_CUDA), 0);
    ck_assert_int_eq(cscalp_has_feature(12345), 0);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, open_with_null_config_gives_a_working_engine_on_defaults);
    tcase_add_test(tc, empty_object_equals_defaults);
    tcase_add_loop_test(tc, bad_config_is_refused_with_the_key_path, 0,
                        (int)(sizeof bad_configs / sizeof bad_configs[0]));
    tcase_add_test(tc, configure_applies_all_or_nothing);
    tcase_add_test(tc, effective_config_round_trips);
    tcase_add_test(tc, regime_keys_at_open_and_while_running);
    tcase_add_test(tc, config_json_reports_the_size_it_needs);
    tcase_add_test(tc, every_config_key_is_documented_with_a_unit);
    tcase_add_test(tc, version_and_errors_are_consistent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(config_suite()); }
