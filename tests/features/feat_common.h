/* Helpers shared by the independent feature suites (tests/features/test_feat_*.c).
 *
 * Everything here uses the public API only, so the same file is compiled into
 * executables linked against the shared library and against the internals. */
#ifndef CSCALP_FEAT_COMMON_H
#define CSCALP_FEAT_COMMON_H

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptoscalp.h"

#define FC_NS 1000000000LL
#define FC_MS 1000000LL

/* Feature indexes, in the order of the table in docs/features.md. */
enum {
    F_SPREAD = 0,
    F_MICRO,
    F_IMB,
    F_DEPTH5,
    F_DEPTH10,
    F_OFI1,
    F_OFI10,
    F_SV1,
    F_SV10,
    F_SV60,
    F_TC1,
    F_TC10,
    F_TC60,
    F_RET1,
    F_RET10,
    F_RET60,
    F_RVOL10,
    F_RVOL60,
    F_RVOL300,
    F_VWAPDEV,
    F_TIMB10,
    F_FUND,
    F_TTF,
    F_BASIS,
    F_COUNT
};

/* Names from docs/features.md, in vector order. */
extern const char *const fc_spec_names[F_COUNT];

cscalp_engine *fc_open(const char *json);

/* Raw (and optionally normalised) vector at the engine clock; asserts success
 * and that every value is finite. */
void fc_raw(const cscalp_engine *e, double raw[F_COUNT]);
void fc_raw_z(const cscalp_engine *e, double raw[F_COUNT], double z[F_COUNT]);
double fc_get(const cscalp_engine *e, int k);

cscalp_quote fc_mk_quote(int64_t ts, double b, double bs, double a, double as);
cscalp_trade fc_mk_trade(int64_t ts, double p, double q, int side);
cscalp_funding fc_mk_funding(int64_t ts, double rate, double mark, double index,
                             int64_t next_ns);

void fc_quote(cscalp_engine *e, int64_t ts, double b, double bs, double a, double as);
void fc_trade(cscalp_engine *e, int64_t ts, double p, double q, int side);
void fc_funding(cscalp_engine *e, int64_t ts, double rate, double mark,
                double index, int64_t next_ns);
void fc_book(cscalp_engine *e, const cscalp_book *b);
void fc_tick(cscalp_engine *e, int64_t ts);

/* Build a book: bid prices descending, ask prices ascending, sizes given. */
void fc_mk_book(cscalp_book *bk, int64_t ts, uint32_t nb, const double *bp,
                const double *bsz, uint32_t na, const double *ap,
                const double *asz);

/* |got - want| <= tol, with a message naming what was compared. */
#define FC_NEAR(got, want, tol, what)                                          \
    do {                                                                       \
        const double fc_g_ = (got), fc_w_ = (want), fc_t_ = (tol);             \
        ck_assert_msg(fabs(fc_g_ - fc_w_) <= fc_t_,                            \
                      "%s: got %.17g, expected %.17g (|diff| %.3g > tol %.3g)",\
                      (what), fc_g_, fc_w_, fabs(fc_g_ - fc_w_), fc_t_);       \
    } while (0)

/* Relative closeness: |got - want| <= rel * max(|want|, floor). */
#define FC_REL(got, want, rel, floor_, what)                                   \
    FC_NEAR((got), (want), (rel) * fmax(fabs(want), (floor_)), (what))

/* Directory of the shared real data (CSCALP_SHARED_DATA); fails the test with
 * a clear message when the variable is missing or empty. */
const char *fc_shared_data_dir(void);

/* Run one suite (fork mode from CK_FORK) and return the process exit code. */
int fc_run_suite(Suite *s);

#endif
