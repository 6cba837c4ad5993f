/* Checkpoints end to end (docs/checkpoint.md):
 *  - resume equivalence: run A streams the bundled capture straight through;
 *    run B saves at the midpoint, closes, reopens and continues; every
 *    signal and the final checkpoint's bytes are identical;
 *  - damage: every truncation and a flipped bit at every byte of a small
 *    checkpoint is refused with CSCALP_ECORRUPT or CSCALP_EVERSION, a
 *    message and no engine; with the CRCs recomputed around the damage (a
 *    bug, not a disk error) the field checks refuse it or it opens cleanly,
 *    never a crash;
 *  - file errors, health events, buffers. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptoscalp.h"
#include "util/crc32c.h"
#ifdef HAVE_CAPTURE
#include "capture_stream.h"
#endif

#define MS 1000000LL

static cscalp_engine *open_engine(const char *json)
{
    cscalp_engine *e = NULL;
    char err[512] = "";
    ck_assert_msg(cscalp_open_ex(&e, json, NULL, err, sizeof err) == CSCALP_OK, "open: %s",
                  err);
    return e;
}

static unsigned char *save_to_memory(cscalp_engine *e, size_t *len)
{
    ck_assert_int_eq(cscalp_save_buffer(e, NULL, 0, len), CSCALP_OK);
    unsigned char *buf = malloc(*len);
    ck_assert_ptr_nonnull(buf);
    size_t again = 0;
    ck_assert_int_eq(cscalp_save_buffer(e, buf, *len, &again), CSCALP_OK);
    ck_assert_uint_eq(again, *len);
    return buf;
}

#ifdef HAVE_CAPTURE
static cscalp_signal infer(cscalp_engine *e)
{
    cscalp_signal s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    ck_assert_int_eq(cscalp_infer(e, &s), CSCALP_OK);
    return s;
}
#endif

/* A quote stream with some structure, so that the learner has work. */
static void push_quotes(cscalp_engine *e, uint64_t *state, int64_t *t, int n)
{
    for (int i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        const double u = (double)(*state >> 11) / 9007199254740992.0;
        *t += 10 * MS;
        const double mid = 100.0 + 0.05 * (double)((*state >> 40) % 20);
        cscalp_quote q = {*t, mid - 0.01, 1.0 + 3.0 * u, mid + 0.01, 4.0 - 3.0 * u};
        ck_assert_int_eq(cscalp_push_quote(e, &q), CSCALP_OK);
    }
}

/* Tiny everything, so that the checkpoint is a few kilobytes. */
#define SMALL_CONFIG                                                                \
    "{\"model\":{\"hidden_sizes\":[4],\"expert_count\":1,\"lag_count\":1},"          \
    "\"features\":{\"norm_interval_ms\":50,\"norm_warmup_samples\":3},"              \
    "\"learn\":{\"horizon_ms\":200,\"sample_interval_ms\":50,\"band\":\"fixed\","    \
    "\"band_bps\":1,\"max_pending_samples\":8,\"replay_capacity_samples\":8,"        \
    "\"batch_samples\":2,\"min_replay_samples\":2,\"score_window_samples\":10,"      \
    "\"replay_recent_samples\":4},"                                               \
    "\"regime\":{\"interval_ms\":50,\"warmup_steps\":16}}"

static unsigned char *small_checkpoint(size_t *len)
{
    cscalp_engine *e = open_engine(SMALL_CONFIG);
    uint64_t st = 7;
    int64_t t = 1700000000LL * 1000000000LL;
    push_quotes(e, &st, &t, 600);
    unsigned char *buf = save_to_memory(e, len);
    cscalp_close(e);
    return buf;
}

static void expect_refused(const unsigned char *data, size_t len, const char *what,
                           size_t at)
{
    cscalp_engine *e = (cscalp_engine *)&e; /* must be reset to NULL */
    char err[512] = "";
    const int rc = cscalp_open_buffer(&e, data, len, NULL, err, sizeof err);
    ck_assert_msg(rc == CSCALP_ECORRUPT || rc == CSCALP_EVERSION,
                  "%s at byte %zu: %s (%d)", what, at, cscalp_error_name(rc), rc);
    ck_assert_ptr_null(e);
    ck_assert_msg(err[0] != '\0', "%s at byte %zu: no message", what, at);
}

START_TEST(every_truncation_and_flipped_bit_is_refused)
{
    size_t len = 0;
    unsigned char *good = small_checkpoint(&len);
    printf("{\"test\":\"damage\",\"checkpoint_bytes\":%zu}\n", len);
    ck_assert_uint_lt(len, 64 * 1024);
    cscalp_engine *e = NULL;
    ck_assert_int_eq(cscalp_open_buffer(&e, good, len, NULL, NULL, 0), CSCALP_OK);
    cscalp_close(e);

    unsigned char *bad = malloc(len);
    ck_assert_ptr_nonnull(bad);
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(bad, good, cut);
        expect_refused(bad, cut, "truncated", cut);
    }
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, good, len);
        bad[i] ^= (unsigned char)(1u << (i % 8));
        expect_refused(bad, len, "flipped bit", i);
    }
    free(bad);
    free(good);
}
END_TEST

/* Header fields (docs/checkpoint.md): section count at 16, table at 32,
 * 32 bytes per entry (offset at +8, length at +16, CRC at +24), then the
 * header CRC. */
static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(unsigned char *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

static void fix_crcs(unsigned char *b)
{
    const uint32_t n = rd32(b + 16);
    for (uint32_t s = 0; s < n; s++) {
        unsigned char *entry = b + 32 + 32 * s;
        wr32(entry + 24, cscalp_crc32c(0, b + rd64(entry + 8), (size_t)rd64(entry + 16)));
    }
    wr32(b + 32 + 32 * n, cscalp_crc32c(0, b, 32 + 32 * (size_t)n));
}

START_TEST(damaged_fields_behind_valid_crcs_never_crash)
{
    size_t len = 0;
    unsigned char *good = small_checkpoint(&len);
    const uint32_t n = rd32(good + 16);
    const size_t payload = 36 + 32 * (size_t)n;
    unsigned char *bad = malloc(len);
    ck_assert_ptr_nonnull(bad);
    int opened = 0, refused = 0;
    for (size_t i = payload; i < len; i++) {
        memcpy(bad, good, len);
        bad[i] ^= 0xFF;
        fix_crcs(bad);
        cscalp_engine *e = NULL;
        char err[512] = "";
        const int rc = cscalp_open_buffer(&e, bad, len, NULL, err, sizeof err);
        if (rc == CSCALP_OK) {
            /* A value that is merely different: the engine must work. */
            opened++;
            int64_t t = 1700000100LL * 1000000000LL;
            uint64_t st = 1;
            push_quotes(e, &st, &t, 20);
            cscalp_signal s;
            s.size = sizeof s;
            const int irc = cscalp_infer(e, &s);
            ck_assert(irc == CSCALP_OK || irc == CSCALP_ENONFINITE);
            cscalp_close(e);
        } else {
            refused++;
            ck_assert_msg(rc == CSCALP_ECORRUPT || rc == CSCALP_EVERSION ||
                              rc == CSCALP_EUNSUPPORTED,
                          "byte %zu: %s: %s", i, cscalp_error_name(rc), err);
            ck_assert_ptr_null(e);
            ck_assert(err[0] != '\0');
        }
    }
    printf("{\"test\":\"damaged_fields\",\"bytes\":%zu,\"opened\":%d,\"refused\":%d}\n",
           len - payload, opened, refused);
    ck_assert_int_gt(refused, 0);
    free(bad);
    free(good);
}
END_TEST

START_TEST(other_format_version_is_eversion)
{
    size_t len = 0;
    unsigned char *b = small_checkpoint(&len);
    wr32(b + 8, 2); /* format version 2, header CRC made valid */
    fix_crcs(b);
    cscalp_engine *e = NULL;
    char err[512];
    ck_assert_int_eq(cscalp_open_buffer(&e, b, len, NULL, err, sizeof err), CSCALP_EVERSION);
    ck_assert_ptr_null(e);
    ck_assert_ptr_nonnull(strstr(err, "version"));
    free(b);
}
END_TEST

typedef struct seen {
    int saved, failed;
    char message[512];
} seen;

static void on_event(const cscalp_health_event *ev, void *user)
{
    seen *s = user;
    if (ev->event == CSCALP_EVENT_CHECKPOINT_SAVED)
        s->saved++;
    if (ev->event == CSCALP_EVENT_CHECKPOINT_FAILED) {
        s->failed++;
        snprintf(s->message, sizeof s->message, "%s", ev->message);
        ck_assert_int_eq(ev->severity, CSCALP_SEVERITY_ERROR);
        ck_assert_int_eq(ev->error, CSCALP_EIO);
    }
}

START_TEST(files_events_and_argument_errors)
{
    char dir[] = "/tmp/cscalp-ckpt-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], missing[256];
    snprintf(path, sizeof path, "%s/engine.ckpt", dir);
    snprintf(missing, sizeof missing, "%s/no/such/dir/engine.ckpt", dir);

    cscalp_engine *e = open_engine(SMALL_CONFIG);
    seen s;
    memset(&s, 0, sizeof s);
    cscalp_set_health_callback(e, on_event, &s);
    uint64_t st = 3;
    int64_t t = 1700000000LL * 1000000000LL;
    push_quotes(e, &st, &t, 300);

    ck_assert_int_eq(cscalp_save(e, missing), CSCALP_EIO);
    ck_assert_int_eq(s.failed, 1);
    ck_assert_ptr_nonnull(strstr(cscalp_last_error(e), "no/such/dir"));
    ck_assert_ptr_nonnull(strstr(s.message, "no/such/dir"));
    ck_assert_int_eq(cscalp_save(e, path), CSCALP_OK);
    ck_assert_int_eq(s.saved, 1);
    ck_assert_int_eq(cscalp_save(e, NULL), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_save(e, ""), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_save(NULL, path), CSCALP_EINVAL);

    size_t need = 0;
    ck_assert_int_eq(cscalp_save_buffer(e, NULL, 0, &need), CSCALP_OK);
    unsigned char small[16];
    size_t need2 = 0;
    ck_assert_int_eq(cscalp_save_buffer(e, small, sizeof small, &need2), CSCALP_EBUFFER);
    ck_assert_uint_eq(need2, need);
    ck_assert_int_eq(cscalp_save_buffer(e, NULL, 5, NULL), CSCALP_EINVAL);

    /* The file holds what the buffer holds (the save event came after). */
    size_t len = 0;
    unsigned char *mem = save_to_memory(e, &len);
    cscalp_engine *f = NULL;
    char err[512];
    ck_assert_msg(cscalp_open_checkpoint(&f, path, NULL, err, sizeof err) == CSCALP_OK, "%s",
                  err);
    size_t len_f = 0;
    unsigned char *mem_f = save_to_memory(f, &len_f);
    /* Equal except the engine counters that the failed save added... none:
     * both were built before their own save's event, and the reopened
     * engine's next checkpoint equals the saved one. */
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    unsigned char *disk = malloc(len_f + 1);
    const size_t got = fread(disk, 1, len_f + 1, fp);
    fclose(fp);
    ck_assert_uint_eq(got, len_f);
    ck_assert_int_eq(memcmp(disk, mem_f, len_f), 0);
    (void)mem;
    (void)len;
    free(disk);
    free(mem);
    free(mem_f);
    cscalp_close(f);

    ck_assert_int_eq(cscalp_open_checkpoint(&f, missing, NULL, err, sizeof err), CSCALP_EIO);
    ck_assert_ptr_null(f);
    ck_assert_ptr_nonnull(strstr(err, "no/such/dir"));
    ck_assert_int_eq(cscalp_open_checkpoint(NULL, path, NULL, NULL, 0), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_open_checkpoint(&f, NULL, NULL, NULL, 0), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_open_buffer(&f, NULL, 3, NULL, NULL, 0), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_open_buffer(&f, "", 0, NULL, err, sizeof err), CSCALP_ECORRUPT);
    cscalp_close(e);
    unlink(path);
    rmdir(dir);
}
END_TEST

#ifdef HAVE_CAPTURE
START_TEST(resume_equivalence_on_a_real_capture)
{
    stream s = load_capture();
    const char *config = "{\"features\":{\"norm_interval_ms\":200,\"norm_warmup_samples\":10},"
                         "\"learn\":{\"horizon_ms\":2000,\"sample_interval_ms\":100,"
                         "\"score_window_samples\":100,\"min_replay_samples\":64,"
                         "\"band\":\"quantile\",\"label\":\"smoothed\","
                         "\"band_warmup_samples\":50},"
                         "\"regime\":{\"interval_ms\":100,\"warmup_steps\":100}}";
    char path[] = "/tmp/cscalp-resume-XXXXXX";
    const int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);

    cscalp_signal *sa = calloc(s.n, sizeof *sa);
    ck_assert_ptr_nonnull(sa);
    cscalp_engine *a = open_engine(config);
    for (size_t i = 0; i < s.n; i++) {
        (void)bcap_push(a, &s.ev[i]);
        sa[i] = infer(a);
    }
    size_t len_a = 0;
    unsigned char *final_a = save_to_memory(a, &len_a);

    const size_t mid = s.n / 2;
    cscalp_engine *b = open_engine(config);
    for (size_t i = 0; i < mid; i++) {
        (void)bcap_push(b, &s.ev[i]);
        cscalp_signal sb = infer(b);
        ck_assert_int_eq(memcmp(&sb, &sa[i], sizeof sb), 0);
    }
    /* the regime model is past its warm-up when the checkpoint is taken */
    static char st[1 << 16];
    ck_assert_int_eq(cscalp_stats_json(b, st, sizeof st, NULL), CSCALP_OK);
    ck_assert_msg(strstr(st, "\"regime\":{\"states\":3,\"ready\":true") != NULL, "%.300s",
                  strstr(st, "\"regime\""));
    ck_assert_int_eq(cscalp_save(b, path), CSCALP_OK);
    cscalp_close(b);
    char err[512];
    ck_assert_msg(cscalp_open_checkpoint(&b, path, NULL, err, sizeof err) == CSCALP_OK, "%s",
                  err);
    for (size_t i = mid; i < s.n; i++) {
        (void)bcap_push(b, &s.ev[i]);
        const cscalp_signal sb = infer(b);
        ck_assert_msg(memcmp(&sb, &sa[i], sizeof sb) == 0,
                      "signal after event %zu (resumed at %zu) differs", i, mid);
    }
    size_t len_b = 0;
    unsigned char *final_b = save_to_memory(b, &len_b);
    ck_assert_uint_eq(len_a, len_b);
    ck_assert_int_eq(memcmp(final_a, final_b, len_a), 0);

    /* The stream did exercise the learner. */
    cscalp_adapt_report r;
    r.size = sizeof r;
    ck_assert_int_eq(cscalp_adapt(b, 0, &r), CSCALP_OK);
    printf("{\"test\":\"resume\",\"events\":%zu,\"resumed_at\":%zu,\"checkpoint_bytes\":%zu,"
           "\"steps\":%llu,\"promotions\":%llu,\"pending_at_end\":%llu}\n",
           s.n, mid, len_a, (unsigned long long)r.steps_total,
           (unsigned long long)r.promotions_total, (unsigned long long)r.samples_pending);
    ck_assert_uint_gt(r.steps_total, 0);
    cscalp_close(a);
    cscalp_close(b);
    free(final_a);
    free(final_b);
    free(sa);
    free(s.ev);
    unlink(path);
}
END_TEST
#endif

int main(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("checkpoint");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, every_truncation_and_flipped_bit_is_refused);
    tcase_add_test(tc, damaged_fields_behind_valid_crcs_never_crash);
    tcase_add_test(tc, other_format_version_is_eversion);
    tcase_add_test(tc, files_events_and_argument_errors);
#ifdef HAVE_CAPTURE
    tcase_add_test(tc, resume_equivalence_on_a_real_capture);
#endif
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
