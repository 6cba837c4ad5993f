/* src/nn against an independent PyTorch implementation of docs/model.md.
 *
 * tests/fixtures/gen_torch_reference.py builds the model in PyTorch (its own
 * nn.Linear modules, log-softmax / logsumexp mixture loss, autograd,
 * torch.optim) and writes *.fixture files: architecture, hyper-parameters,
 * initial parameters in the flat layout, S batches of data, and PyTorch's
 * forward probabilities, gate weights, data loss and gradient on the first
 * batch, the loss of each of S optimiser steps and the parameters after them.
 * The format is described at the top of that script and in
 * tests/fixtures/README.md.
 *
 * For every fixture and every backend the build has (cpu, blas), this checks
 * cscalp_nn_forward, cscalp_nn_gradient and S x cscalp_nn_train_step, and
 * cscalp_nn_pack / cscalp_nn_infer on each row of the first batch, each value
 * within |got - want| <= 1e-5 * max(1, |want|). The worst error of each
 * quantity is printed on stdout.
 *
 * Fixture directory: argv[1], else $CSCALP_TORCH_FIXTURES, else
 * $CSCALP_SOURCE_ROOT/tests/fixtures. Every *.fixture file in it is used
 * (at least two must be there). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture_lexer.h"
#include "nn/nn.h"

#define TOL 1e-5
#define MAX_FIXTURES 64
#define MAX_SECTIONS 64
#define MIN_FIXTURES 2

/* ----------------------------------------------------------------- loader */

typedef struct section {
    char name[48];
    size_t count;
    float *v;
} section;

typedef struct fixture {
    char path[1024];
    int n;
    section s[MAX_SECTIONS];
} fixture;

static char g_dir[900];
/* Worst errors travel from the (forked) tests to main() through a pipe. */
static int g_pipe[2] = {-1, -1};

typedef struct report {
    char quantity[24];
    char where[72];
    double err;
} report;

static void send_report(const char *quantity, const char *fixture_name, const char *backend,
                        double err)
{
    report r;
    memset(&r, 0, sizeof r);
    snprintf(r.quantity, sizeof r.quantity, "%s", quantity);
    snprintf(r.where, sizeof r.where, "%s %s", fixture_name, backend);
    r.err = err;
    if (g_pipe[1] >= 0 && write(g_pipe[1], &r, sizeof r) != (ssize_t)sizeof r)
        perror("test_torch_reference: report pipe");
}
static char g_files[MAX_FIXTURES][256];
static int g_nfiles;

static void fixture_free(fixture *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->s[i].v);
    f->n = 0;
}


static int is_name(const char *t)
{
    return fx_is_name(t, sizeof(((section *)0)->name));
}

static int fixture_load(const char *path, fixture *f, char *err, size_t cap)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, cap, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0)
        buf = malloc((size_t)size + 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, fp) != (size_t)size) {
        fclose(fp);
        free(buf);
        snprintf(err, cap, "%s: cannot read", path);
        return -1;
    }
    fclose(fp);
    buf[size] = '\0';
    if (memchr(buf, '\0', (size_t)size) != NULL) {
        free(buf);
        return fx_fail(err, cap, path, 1, "NUL byte in a text file");
    }

    int rc = -1, ended = 0;
    fx_lexer lx = fx_lexer_init(buf);
    char *tok;
    char *magic = fx_next_token(&lx);
    char *version = magic ? fx_next_token(&lx) : NULL;
    if (magic == NULL || strcmp(magic, "cscalp-nn-fixture") != 0 || version == NULL ||
        strcmp(version, "1") != 0) {
        fx_fail(err, cap, path, lx.line, "expected the magic line 'cscalp-nn-fixture 1'");
        goto out;
    }
    while ((tok = fx_next_token(&lx)) != NULL) {
        const int at = lx.line;
        if (strcmp(tok, "end") == 0) {
            ended = 1;
            if ((tok = fx_next_token(&lx)) != NULL) {
                fx_fail(err, cap, path, lx.line, "'%s' after 'end'", tok);
                goto out;
            }
            break;
        }
        if (!is_name(tok)) {
            fx_fail(err, cap, path, at, "expected a section header 'NAME COUNT', got '%.40s'",
                      tok);
            goto out;
        }
        for (int i = 0; i < f->n; i++)
            if (strcmp(f->s[i].name, tok) == 0) {
                fx_fail(err, cap, path, at, "duplicate section '%s'", tok);
                goto out;
            }
        if (f->n == MAX_SECTIONS) {
            fx_fail(err, cap, path, at, "more than %d sections", MAX_SECTIONS);
            goto out;
        }
        section *s = &f->s[f->n];
        snprintf(s->name, sizeof s->name, "%s", tok);
        char *ctok = fx_next_token(&lx), *endp = NULL;
        errno = 0;
        const unsigned long long count = ctok ? strtoull(ctok, &endp, 10) : 0;
        if (ctok == NULL || *ctok == '-' || endp == ctok || *endp != '\0' || errno != 0 ||
            count > 100000000ull) {
            fx_fail(err, cap, path, at, "section '%s': bad count '%s'", s->name,
                      ctok ? ctok : "(end of file)");
            goto out;
        }
        s->count = (size_t)count;
        s->v = malloc((s->count ? s->count : 1) * sizeof *s->v);
        if (s->v == NULL) {
            snprintf(err, cap, "%s: out of memory", path);
            goto out;
        }
        f->n++;
        for (size_t i = 0; i < s->count; i++) {
            char *vt = fx_next_token(&lx);
            if (vt == NULL) {
                fx_fail(err, cap, path, lx.line,
                          "section '%s': %zu of %zu values, then end of file", s->name, i,
                          s->count);
                goto out;
            }
            errno = 0;
            endp = NULL;
            const float x = strtof(vt, &endp);
            if (endp == vt || *endp != '\0' || (errno == ERANGE && fabsf(x) > 1.0f)) {
                fx_fail(err, cap, path, lx.line,
                          "section '%s': value %zu of %zu: '%.40s' is not a number%s", s->name,
                          i, s->count, vt,
                          is_name(vt) ? " (a section name: too few values?)" : "");
                goto out;
            }
            if (!isfinite(x)) {
                fx_fail(err, cap, path, lx.line, "section '%s': value %zu is not finite",
                          s->name, i);
                goto out;
            }
            s->v[i] = x;
        }
    }
    if (!ended) {
        fx_fail(err, cap, path, lx.line, "no 'end' line (truncated file?)");
        goto out;
    }
    rc = 0;
out:
    free(buf);
    if (rc != 0)
        fixture_free(f);
    return rc;
}

static const section *sec(const fixture *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->s[i].name, name) == 0)
            return &f->s[i];
    ck_abort_msg("%s: malformed fixture: no section '%s'", f->path, name);
    return NULL;
}

/* The values of section `name`, which must hold exactly `count`. */
static const float *vals(const fixture *f, const char *name, size_t count)
{
    const section *s = sec(f, name);
    ck_assert_msg(s->count == count,
                  "%s: malformed fixture: section '%s' has %zu values, "
                  "expected %zu",
                  f->path, name, s->count, count);
    return s->v;
}

static float scalar(const fixture *f, const char *name)
{
    return vals(f, name, 1)[0];
}

static uint32_t uint_of(const fixture *f, const char *name, float v, uint32_t lo, uint32_t hi)
{
    ck_assert_msg(v == floorf(v) && v >= (float)lo && v <= (float)hi,
                  "%s: malformed fixture: section '%s': %g is not an integer in [%u, %u]",
                  f->path, name, (double)v, lo, hi);
    return (uint32_t)v;
}

/* --------------------------------------------------------------- the model */

typedef struct world {
    fixture f;
    cscalp_nn_arch arch;
    cscalp_nn_hparams hp;
    uint32_t B, S, D, E;
    size_t P;
    const float *init, *x, *regime, *probs, *gate, *loss, *grad, *step_loss, *final;
    uint8_t *labels;
} world;

static void *m_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return malloc(size);
}

static void m_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

static const cscalp_allocator g_mem = {m_alloc, m_free, NULL};

static void world_load(world *w, int k)
{
    memset(w, 0, sizeof *w);
    char path[1200], err[1400];
    snprintf(path, sizeof path, "%s/%s", g_dir, g_files[k]);
    ck_assert_msg(fixture_load(path, &w->f, err, sizeof err) == 0, "%s", err);
    const fixture *f = &w->f;

    cscalp_nn_arch *a = &w->arch;
    a->inputs = uint_of(f, "inputs", scalar(f, "inputs"), 1, CSCALP_NN_MAX_INPUTS);
    const section *h = sec(f, "hidden");
    ck_assert_msg(h->count <= CSCALP_NN_MAX_HIDDEN, "%s: malformed fixture: %zu hidden layers",
                  f->path, h->count);
    a->hidden_layers = (uint32_t)h->count;
    for (size_t l = 0; l < h->count; l++)
        a->hidden[l] = uint_of(f, "hidden", h->v[l], 1, CSCALP_NN_MAX_WIDTH);
    a->experts = uint_of(f, "experts", scalar(f, "experts"), 1, CSCALP_NN_MAX_EXPERTS);
    a->activation = (int)uint_of(f, "activation", scalar(f, "activation"), 0, 1);
    char why[256] = "";
    ck_assert_msg(cscalp_nn_arch_check(a, why, sizeof why) == CSCALP_OK,
                  "%s: cscalp_nn_arch_check refuses the fixture's architecture: %s", f->path,
                  why);
    w->B = uint_of(f, "batch", scalar(f, "batch"), 1, 1u << 20);
    w->S = uint_of(f, "steps", scalar(f, "steps"), 1, 1u << 20);
    w->D = a->inputs;
    w->E = a->experts;
    w->P = cscalp_nn_param_count(a);
    ck_assert_msg(uint_of(f, "param_count", scalar(f, "param_count"), 0, 0xffffffffu) == w->P,
                  "%s: param_count %g but cscalp_nn_param_count says %zu", f->path,
                  (double)scalar(f, "param_count"), w->P);

    cscalp_nn_hparams *hp = &w->hp;
    cscalp_nn_hparams_default(hp);
    hp->optimizer = (int)uint_of(f, "optimizer", scalar(f, "optimizer"), 0, 1);
    hp->learning_rate = scalar(f, "learning_rate");
    hp->beta1 = scalar(f, "beta1");
    hp->beta2 = scalar(f, "beta2");
    hp->epsilon = scalar(f, "epsilon");
    hp->momentum = scalar(f, "momentum");
    hp->l2 = scalar(f, "l2");
    hp->max_grad_norm = scalar(f, "max_grad_norm");
    memcpy(hp->class_weights, vals(f, "class_weights", 3), sizeof hp->class_weights);

    const size_t SB = (size_t)w->S * w->B;
    w->init = vals(f, "params_init", w->P);
    w->x = vals(f, "x", SB * w->D);
    w->regime = vals(f, "regime", SB * w->E);
    w->probs = vals(f, "probs", (size_t)w->B * CSCALP_NN_CLASSES);
    w->gate = vals(f, "gate", (size_t)w->B * w->E);
    w->loss = vals(f, "loss", 1);
    w->grad = vals(f, "grad", w->P);
    w->step_loss = vals(f, "step_loss", w->S);
    w->final = vals(f, "params_final", w->P);
    const float *lab = vals(f, "labels", SB);
    w->labels = malloc(SB);
    ck_assert_ptr_nonnull(w->labels);
    for (size_t i = 0; i < SB; i++)
        w->labels[i] = (uint8_t)uint_of(f, "labels", lab[i], 0, CSCALP_NN_CLASSES - 1);
}

static void world_free(world *w)
{
    free(w->labels);
    fixture_free(&w->f);
}

/* ------------------------------------------------------------- comparisons */

/* Worst |got - want| / max(1, |want|) over n values, and where. */
typedef struct worst {
    double err;
    size_t at;
    double got, want;
} worst;

static void compare(worst *wr, const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const double g = (double)got[i], e = (double)want[i];
        const double d = fabs(g - e) / fmax(1.0, fabs(e));
        if (!(d <= wr->err)) { /* NaN counts as worst */
            wr->err = isnan(d) ? HUGE_VAL : d;
            wr->at = i;
            wr->got = g;
            wr->want = e;
        }
    }
}

static void compare1(worst *wr, double got, double want, size_t at)
{
    const double d = fabs(got - want) / fmax(1.0, fabs(want));
    if (!(d <= wr->err)) {
        wr->err = isnan(d) ? HUGE_VAL : d;
        wr->at = at;
        wr->got = got;
        wr->want = want;
    }
}

static void expect(const worst *wr, const char *what, const char *fixture_name,
                   const char *backend)
{
    ck_assert_msg(wr->err <= TOL, "%s [%s]: %s[%zu] = %.9g, PyTorch %.9g (error %.3g > %.0e)",
                  fixture_name, backend, what, wr->at, wr->got, wr->want, wr->err, TOL);
}

/* -------------------------------------------------------------------- tests */

/* _i = fixture * 2 + backend id. */
START_TEST(test_batched)
{
    const int k = _i / 2, id = _i % 2;
    const cscalp_nn_backend *be = cscalp_nn_backend_get(id);
    if (be == NULL) {
        printf("torch_reference: %-24s %s backend not built, skipped\n", g_files[k],
               id == CSCALP_NN_BACKEND_BLAS ? "blas" : "cpu");
        return;
    }
    world w;
    world_load(&w, k);
    const uint32_t B = w.B;
    cscalp_nn_trainer *t = NULL;
    ck_assert_int_eq(cscalp_nn_trainer_create(&g_mem, &w.arch, B, be, &t), CSCALP_OK);
    float *params = malloc(w.P * sizeof *params);
    float *probs = malloc((size_t)B * CSCALP_NN_CLASSES * sizeof *probs);
    ck_assert(params && probs);
    memcpy(params, w.init, w.P * sizeof *params);

    worst wp = {0}, wl = {0}, wg = {0}, ws = {0}, wf = {0};

    /* Forward on batch 0. */
    int rc = cscalp_nn_forward(t, params, w.x, w.regime, B, probs);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_nn_forward: %d", rc);
    compare(&wp, probs, w.probs, (size_t)B * CSCALP_NN_CLASSES);

    /* Data loss and gradient (with L2) on batch 0. */
    double loss = (double)NAN;
    rc = cscalp_nn_gradient(t, params, w.x, w.regime, w.labels, B, &w.hp, &loss);
    ck_assert_msg(rc == CSCALP_OK, "cscalp_nn_gradient: %d", rc);
    compare1(&wl, loss, (double)w.loss[0], 0);
    compare(&wg, cscalp_nn_trainer_grad(t), w.grad, w.P);
    for (size_t i = 0; i < w.P; i++)
        ck_assert_msg(params[i] == w.init[i], "cscalp_nn_gradient changed parameter %zu", i);

    /* S optimiser steps from a fresh optimiser state. */
    cscalp_nn_trainer_reset(t);
    for (uint32_t s = 0; s < w.S; s++) {
        const size_t row = (size_t)s * B;
        loss = (double)NAN;
        rc = cscalp_nn_train_step(t, params, w.x + row * w.D, w.regime + row * w.E,
                                  w.labels + row, B, &w.hp, &loss);
        ck_assert_msg(rc == CSCALP_OK, "cscalp_nn_train_step %u: %d", s, rc);
        compare1(&ws, loss, (double)w.step_loss[s], s);
    }
    ck_assert_msg(cscalp_nn_trainer_steps(t) == w.S, "trainer counts %llu steps, expected %u",
                  (unsigned long long)cscalp_nn_trainer_steps(t), w.S);
    compare(&wf, params, w.final, w.P);

    printf("torch_reference: %-24s %-4s worst error: probs %.2e  loss %.2e  grad %.2e  "
           "step_loss %.2e  params_final %.2e\n",
           g_files[k], be->name, wp.err, wl.err, wg.err, ws.err, wf.err);
    fflush(stdout);
    send_report("probs", g_files[k], be->name, wp.err);
    send_report("loss", g_files[k], be->name, wl.err);
    send_report("grad", g_files[k], be->name, wg.err);
    send_report("step_loss", g_files[k], be->name, ws.err);
    send_report("params_final", g_files[k], be->name, wf.err);

    char name[256];
    snprintf(name, sizeof name, "%s", g_files[k]);
    const char *bname = be->name;
    cscalp_nn_trainer_destroy(t);
    free(params);
    free(probs);
    world_free(&w);
    expect(&wp, "probs", name, bname);
    expect(&wl, "loss", name, bname);
    expect(&wg, "grad", name, bname);
    expect(&ws, "step_loss", name, bname);
    expect(&wf, "params_final", name, bname);
}
END_TEST

START_TEST(test_infer)
{
    world w;
    world_load(&w, _i);
    cscalp_nn_packed *p = NULL;
    ck_assert_int_eq(cscalp_nn_packed_create(&g_mem, &w.arch, &p), CSCALP_OK);
    cscalp_nn_pack(p, w.init);
    worst wp = {0}, wgt = {0};
    for (uint32_t i = 0; i < w.B; i++) {
        cscalp_nn_result res;
        memset(&res, 0, sizeof res);
        cscalp_nn_infer(p, w.x + (size_t)i * w.D, w.regime + (size_t)i * w.E, &res);
        worst row = {0};
        compare(&row, res.probs, w.probs + (size_t)i * CSCALP_NN_CLASSES, CSCALP_NN_CLASSES);
        if (!(row.err <= wp.err)) {
            wp = row;
            wp.at += (size_t)i * CSCALP_NN_CLASSES;
        }
        row.err = 0;
        compare(&row, res.gate, w.gate + (size_t)i * w.E, w.E);
        if (!(row.err <= wgt.err)) {
            wgt = row;
            wgt.at += (size_t)i * w.E;
        }
    }
    printf("torch_reference: %-24s infer worst error: probs %.2e  gate %.2e\n", g_files[_i],
           wp.err, wgt.err);
    fflush(stdout);
    send_report("infer_probs", g_files[_i], "packed", wp.err);
    send_report("infer_gate", g_files[_i], "packed", wgt.err);
    char name[256];
    snprintf(name, sizeof name, "%s", g_files[_i]);
    cscalp_nn_packed_destroy(p);
    world_free(&w);
    expect(&wp, "infer probs", name, "packed");
    expect(&wgt, "infer gate", name, "packed");
}
END_TEST

/* The loader refuses malformed files with a message naming file and line. */
static int load_text(const char *text, char *err, size_t cap)
{
    char path[] = "/tmp/cscalp_fixture_XXXXXX";
    FILE *fp = NULL;
    const int fd = mkstemp(path);
    ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
    fp = fdopen(fd, "wb");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
    fixture f;
    const int rc = fixture_load(path, &f, err, cap);
    if (rc == 0)
        fixture_free(&f);
    remove(path);
    return rc;
}

START_TEST(test_loader_errors)
{
    static const struct {
        const char *text, *expect;
    } bad[] = {
        {"", "magic"},
        {"cscalp-nn-fixture 2\nend\n", "magic"},
        {"# c\ncscalp-nn-fixture 1\nx 3\n1 2\nend\n",
         ":5: malformed fixture: section 'x': value 2 of 3: 'end' is not a number (a section "
         "name: too few values?)"},
        {"# c\ncscalp-nn-fixture 1\nx 3\n1 2",
         ":4: malformed fixture: section 'x': 2 of 3 values, then end of file"},
        {"cscalp-nn-fixture 1\nx 3\n1 2\ny 1\n0\nend\n", "too few values"},
        {"cscalp-nn-fixture 1\nx 2\n1 zz\nend\n", "not a number"},
        {"cscalp-nn-fixture 1\nx 1\n1e99\nend\n", "not a number"},
        {"cscalp-nn-fixture 1\nx 1\nnan\nend\n", "not finite"},
        {"cscalp-nn-fixture 1\nx -1\nend\n", "bad count"},
        {"cscalp-nn-fixture 1\nx\n", "bad count"},
        {"cscalp-nn-fixture 1\nX 1\n1\nend\n", "section header"},
        {"cscalp-nn-fixture 1\nx 1\n1\nx 1\n2\nend\n", "duplicate"},
        {"cscalp-nn-fixture 1\nx 1\n1\n", "no 'end'"},
        {"cscalp-nn-fixture 1\nx 1\n1\nend\n3\n", "after 'end'"},
    };
    char err[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_msg(load_text(bad[i].text, err, sizeof err) != 0,
                      "case %zu: malformed fixture accepted", i);
        ck_assert_msg(strstr(err, bad[i].expect) != NULL && strstr(err, "malformed") != NULL,
                      "case %zu: message '%s' does not say '%s'", i, err, bad[i].expect);
    }
    ck_assert_int_eq(load_text("# ok\ncscalp-nn-fixture 1\nx 2\n1 -2.5e-3\n\nempty 0\nend\n",
                               err, sizeof err),
                     0);
}
END_TEST

/* ------------------------------------------------------------------- main */

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static int scan_fixtures(void)
{
    DIR *d = opendir(g_dir);
    if (d == NULL) {
        fprintf(stderr, "test_torch_reference: cannot open fixture directory %s: %s\n", g_dir,
                strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const size_t n = strlen(e->d_name);
        if (n > 8 && n < sizeof g_files[0] && strcmp(e->d_name + n - 8, ".fixture") == 0 &&
            g_nfiles < MAX_FIXTURES)
            memcpy(g_files[g_nfiles++], e->d_name, n + 1);
    }
    closedir(d);
    qsort(g_files, (size_t)g_nfiles, sizeof g_files[0], cmp_str);
    if (g_nfiles < MIN_FIXTURES) {
        fprintf(stderr,
                "test_torch_reference: %d *.fixture files in %s, expected at least %d "
                "(regenerate with tests/fixtures/gen_torch_reference.py)\n",
                g_nfiles, g_dir, MIN_FIXTURES);
        return -1;
    }
    return 0;
}

/* The worst error of each quantity over every fixture and backend. The pipe
 * holds a few kB (one record per quantity and test), well under its capacity,
 * so the tests never block on it. */
static void print_summary(void)
{
    static const char *const names[] = {"probs",        "loss",        "grad",      "step_loss",
                                        "params_final", "infer_probs", "infer_gate"};
    enum { N = sizeof names / sizeof names[0] };
    report top[N];
    int seen[N] = {0};
    if (g_pipe[0] < 0)
        return;
    close(g_pipe[1]);
    g_pipe[1] = -1;
    report r;
    while (read(g_pipe[0], &r, sizeof r) == (ssize_t)sizeof r)
        for (int q = 0; q < N; q++)
            if (strncmp(r.quantity, names[q], sizeof r.quantity) == 0 &&
                (!seen[q] || !(r.err <= top[q].err))) {
                top[q] = r;
                seen[q] = 1;
            }
    close(g_pipe[0]);
    printf("torch_reference: worst error over all fixtures and backends "
           "(|got - want| / max(1, |want|), tolerance %.0e):\n",
           TOL);
    for (int q = 0; q < N; q++) {
        if (seen[q])
            printf("  %-13s %.3e  (%s)\n", names[q], top[q].err, top[q].where);
        else
            printf("  %-13s not reached\n", names[q]);
    }
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("CSCALP_TORCH_FIXTURES");
    const char *root = getenv("CSCALP_SOURCE_ROOT");
    if (dir && *dir)
        snprintf(g_dir, sizeof g_dir, "%s", dir);
    else
        snprintf(g_dir, sizeof g_dir, "%s/tests/fixtures", root && *root ? root : ".");
    if (scan_fixtures() != 0)
        return EXIT_FAILURE;
    /* Line-buffered so the forked test processes do not repeat buffered output. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("torch_reference: %d fixtures in %s; backends:", g_nfiles, g_dir);
    for (int id = CSCALP_NN_BACKEND_CPU; id <= CSCALP_NN_BACKEND_BLAS; id++) {
        const cscalp_nn_backend *be = cscalp_nn_backend_get(id);
        if (be)
            printf(" %s", be->name);
    }
    printf("; tolerance |got - want| <= %.0e * max(1, |want|)\n", TOL);

    Suite *s = suite_create("torch_reference");
    TCase *tc = tcase_create("torch");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_loader_errors);
    tcase_add_loop_test(tc, test_batched, 0, 2 * g_nfiles);
    tcase_add_loop_test(tc, test_infer, 0, g_nfiles);
    suite_add_tcase(s, tc);
    if (pipe(g_pipe) != 0)
        perror("test_torch_reference: pipe (no summary)");
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    print_summary();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
