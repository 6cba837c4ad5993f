/* Working orders (src/risk/orders.h, docs/risk.md "Orders"):
 *  - every state × update pair against the transition table of the docs;
 *  - duplicated fills ignored (also after the order closed), overfills,
 *    unknown and closed ids refused with their reason, state unchanged;
 *  - a property test over 10⁶ random updates against an independent
 *    model: filled sizes, states and outcomes agree, no order is ever
 *    filled beyond its size; once with a fill memory larger than the run,
 *    once with 8 (evictions on every fill);
 *  - checkpoints: a loaded table behaves exactly like the saved one, and
 *    every truncation and byte flip is refused or loads a valid table. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "risk/orders.h"
#include "test_util.h"
#include "util/alloc.h"

static cscalp_orders *make(uint32_t max_working, uint32_t memory)
{
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    const cscalp_order_book_params p = {max_working, memory};
    cscalp_orders *o = NULL;
    char why[160];
    ck_assert_msg(cscalp_orders_create(&mem, &p, &o, why, sizeof why) == CSCALP_OK, "%s", why);
    return o;
}

static cscalp_order_outcome upd(cscalp_orders *o, uint64_t id, int ev, double size,
                                uint64_t fill, cscalp_order_refusal *reason)
{
    char why[256];
    cscalp_order_refusal r;
    const cscalp_order_outcome out =
        cscalp_orders_update(o, id, ev, size, fill, reason ? reason : &r, why, sizeof why);
    if (out == CSCALP_ORDER_REFUSED)
        ck_assert_msg(strlen(why) > 10, "refusal without an explanation");
    return out;
}

/* An order in `state` (working states only), size 10. */
static uint64_t order_in(cscalp_orders *o, int state)
{
    uint64_t id = 0;
    ck_assert_int_eq(cscalp_orders_add(o, 1, 100.0, 10.0, 0, 0, &id), CSCALP_OK);
    if (state == CSCALP_ORDER_OPEN)
        ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_ACK, 0, 0, NULL), CSCALP_ORDER_APPLIED);
    if (state == CSCALP_ORDER_PARTIAL)
        ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_FILL, 4.0, 1000 + id, NULL),
                         CSCALP_ORDER_APPLIED);
    if (state == CSCALP_ORDER_PENDING_CANCEL)
        ck_assert_int_eq(cscalp_orders_cancel(o, id), CSCALP_OK);
    ck_assert_int_eq(cscalp_orders_find(o, id)->state, state);
    return id;
}

typedef struct transition {
    int from, event;
    int outcome;
    int to; /* state after, or -1: closed */
    int reason;
} transition;

/* docs/risk.md, "Orders": the table. A FILL here is a partial one (4 of
 * 10); completing fills are tested below. */
static const transition table[] = {
    {CSCALP_ORDER_PENDING_NEW, CSCALP_ORDER_EV_ACK, CSCALP_ORDER_APPLIED, CSCALP_ORDER_OPEN, 0},
    {CSCALP_ORDER_PENDING_NEW, CSCALP_ORDER_EV_REJECT, CSCALP_ORDER_APPLIED, -1, 0},
    {CSCALP_ORDER_PENDING_NEW, CSCALP_ORDER_EV_FILL, CSCALP_ORDER_APPLIED, CSCALP_ORDER_PARTIAL, 0},
    {CSCALP_ORDER_PENDING_NEW, CSCALP_ORDER_EV_CANCELLED, CSCALP_ORDER_APPLIED, -1, 0},
    {CSCALP_ORDER_PENDING_NEW, CSCALP_ORDER_EV_EXPIRED, CSCALP_ORDER_APPLIED, -1, 0},
    {CSCALP_ORDER_OPEN, CSCALP_ORDER_EV_ACK, CSCALP_ORDER_DUPLICATE, CSCALP_ORDER_OPEN, 0},
    {CSCALP_ORDER_OPEN, CSCALP_ORDER_EV_REJECT, CSCALP_ORDER_REFUSED, CSCALP_ORDER_OPEN,
     CSCALP_ORDER_TRANSITION},
    {CSCALP_ORDER_OPEN, CSCALP_ORDER_EV_FILL, CSCALP_ORDER_APPLIED, CSCALP_ORDER_PARTIAL, 0},
    {CSCALP_ORDER_OPEN, CSCALP_ORDER_EV_CANCELLED, CSCALP_ORDER_APPLIED, -1, 0},
    {CSCALP_ORDER_OPEN, CSCALP_ORDER_EV_EXPIRED, CSCALP_ORDER_APPLIED, -1, 0},
    {CSCALP_ORDER_PARTIAL, CSCALP_ORDER_EV_ACK, CSCALP_ORDER_DUPLICATE, CSCALP_ORDER_PARTIAL, 0},
    {CSCALP_ORDER_PARTIAL, CSCALP_ORDER_EV_REJECT, CSCALP_ORDER_REFUSED, CSCALP_ORDER_PARTIAL,
     CSCALP_ORDER_TRANSITION},
    {CSCALP_ORDER_PARTIAL, CSCALP_ORDER_EV_FILL, CSCALP_ORDER_APPLIED, CSCALP_ORDER_PARTIAL, 0},
    {CSCALP_ORDER_PARTIAL, CSCALP_ORDER_EV_CANCELLED, CSCALP_ORDER_APPLIED, -1, 0},
    {CSCALP_ORDER_PARTIAL, CSCALP_ORDER_EV_EXPIRED, CSCALP_ORDER_APPLIED, -1, 0},
    /* cancelled before its ack: the ack still tells that the venue has it */
    {CSCALP_ORDER_PENDING_CANCEL, CSCALP_ORDER_EV_ACK, CSCALP_ORDER_APPLIED,
     CSCALP_ORDER_PENDING_CANCEL, 0},
    /* …and without one a REJECT is the order's own: closed (an acked order
     * whose cancel is refused works on: cancel_reject_of_an_acked_order) */
    {CSCALP_ORDER_PENDING_CANCEL, CSCALP_ORDER_EV_REJECT, CSCALP_ORDER_APPLIED, -1, 0},
    {CSCALP_ORDER_PENDING_CANCEL, CSCALP_ORDER_EV_FILL, CSCALP_ORDER_APPLIED,
     CSCALP_ORDER_PENDING_CANCEL, 0},
    {CSCALP_ORDER_PENDING_CANCEL, CSCALP_ORDER_EV_CANCELLED, CSCALP_ORDER_APPLIED, -1, 0},
    {CSCALP_ORDER_PENDING_CANCEL, CSCALP_ORDER_EV_EXPIRED, CSCALP_ORDER_APPLIED, -1, 0},
};

START_TEST(every_state_and_update)
{
    const transition *t = &table[_i];
    cscalp_orders *o = make(8, 64);
    const uint64_t id = order_in(o, t->from);
    cscalp_order_refusal reason = CSCALP_ORDER_OK;
    const cscalp_order_outcome out = upd(o, id, t->event, 4.0, 7, &reason);
    ck_assert_msg((int)out == t->outcome, "from %d event %d: outcome %d, expected %d", t->from,
                  t->event, out, t->outcome);
    ck_assert_int_eq(reason, t->reason);
    const cscalp_order *ord = cscalp_orders_find(o, id);
    if (t->to < 0) {
        ck_assert_ptr_null(ord);
        /* closed: any later update is refused as for a closed order */
        ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_CANCELLED, 0, 0, &reason),
                         CSCALP_ORDER_REFUSED);
        ck_assert_int_eq(reason, CSCALP_ORDER_CLOSED_ID);
    } else {
        ck_assert_ptr_nonnull(ord);
        ck_assert_int_eq(ord->state, t->to);
    }
    cscalp_orders_destroy(o);
}
END_TEST

START_TEST(cancel_reject_of_an_acked_order)
{
    cscalp_orders *o = make(8, 64);
    const uint64_t id = order_in(o, CSCALP_ORDER_OPEN);
    ck_assert_int_eq(cscalp_orders_cancel(o, id), CSCALP_OK);
    ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_ACK, 0, 0, NULL), CSCALP_ORDER_DUPLICATE);
    ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_REJECT, 0, 0, NULL), CSCALP_ORDER_APPLIED);
    ck_assert_int_eq(cscalp_orders_find(o, id)->state, CSCALP_ORDER_OPEN);
    /* partly filled, the same: back to PARTIAL */
    ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_FILL, 1.0, 3, NULL), CSCALP_ORDER_APPLIED);
    ck_assert_int_eq(cscalp_orders_cancel(o, id), CSCALP_OK);
    ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_REJECT, 0, 0, NULL), CSCALP_ORDER_APPLIED);
    ck_assert_int_eq(cscalp_orders_find(o, id)->state, CSCALP_ORDER_PARTIAL);
    cscalp_orders_destroy(o);
}
END_TEST

START_TEST(fills_complete_duplicate_and_overfill)
{
    cscalp_orders *o = make(8, 64);
    const uint64_t id = order_in(o, CSCALP_ORDER_OPEN);
    cscalp_order_refusal reason;
    ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_FILL, 3.0, 11, NULL), CSCALP_ORDER_APPLIED);
    ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_FILL, 3.0, 11, NULL), CSCALP_ORDER_DUPLICATE);
    ck_assert_double_eq(cscalp_orders_find(o, id)->filled, 3.0);
    /* 3 + 8 > 10: refused, nothing changes */
    ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_FILL, 8.0, 12, &reason), CSCALP_ORDER_REFUSED);
    ck_assert_int_eq(reason, CSCALP_ORDER_OVERFILL);
    ck_assert_double_eq(cscalp_orders_find(o, id)->filled, 3.0);
    /* the refused fill id was not remembered: the corrected fill goes in */
    ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_FILL, 7.0, 12, NULL), CSCALP_ORDER_APPLIED);
    ck_assert_ptr_null(cscalp_orders_find(o, id)); /* filled: closed */
    /* a resent fill after the close is still a duplicate, not a refusal */
    ck_assert_int_eq(upd(o, id, CSCALP_ORDER_EV_FILL, 7.0, 12, NULL), CSCALP_ORDER_DUPLICATE);
    /* decimal sizes that do not add up exactly in binary still complete */
    uint64_t id2 = 0;
    ck_assert_int_eq(cscalp_orders_add(o, -1, 100.0, 0.3, 0, 0, &id2), CSCALP_OK);
    ck_assert_int_eq(upd(o, id2, CSCALP_ORDER_EV_FILL, 0.1, 1, NULL), CSCALP_ORDER_APPLIED);
    ck_assert_int_eq(upd(o, id2, CSCALP_ORDER_EV_FILL, 0.2, 2, NULL), CSCALP_ORDER_APPLIED);
    ck_assert_ptr_null(cscalp_orders_find(o, id2));
    /* bad fills */
    const uint64_t id3 = order_in(o, CSCALP_ORDER_OPEN);
    ck_assert_int_eq(upd(o, id3, CSCALP_ORDER_EV_FILL, 0.0, 5, &reason), CSCALP_ORDER_REFUSED);
    ck_assert_int_eq(reason, CSCALP_ORDER_BAD_FILL);
    ck_assert_int_eq(upd(o, id3, CSCALP_ORDER_EV_FILL, (double)NAN, 5, &reason),
                     CSCALP_ORDER_REFUSED);
    ck_assert_int_eq(upd(o, id3, CSCALP_ORDER_EV_FILL, 1.0, 0, &reason), CSCALP_ORDER_REFUSED);
    ck_assert_int_eq(upd(o, id3, 99, 1.0, 5, &reason), CSCALP_ORDER_REFUSED);
    ck_assert_int_eq(reason, CSCALP_ORDER_BAD_FILL);
    /* unknown ids */
    ck_assert_int_eq(upd(o, 0, CSCALP_ORDER_EV_ACK, 0, 0, &reason), CSCALP_ORDER_REFUSED);
    ck_assert_int_eq(reason, CSCALP_ORDER_UNKNOWN_ID);
    ck_assert_int_eq(upd(o, 999, CSCALP_ORDER_EV_ACK, 0, 0, &reason), CSCALP_ORDER_REFUSED);
    ck_assert_int_eq(reason, CSCALP_ORDER_UNKNOWN_ID);
    cscalp_orders_counters c;
    cscalp_orders_get_counters(o, &c);
    ck_assert_uint_eq(c.refused_by[CSCALP_ORDER_OVERFILL], 1);
    ck_assert_uint_eq(c.refused_by[CSCALP_ORDER_BAD_FILL], 4);
    ck_assert_uint_eq(c.refused_by[CSCALP_ORDER_UNKNOWN_ID], 2);
    ck_assert_uint_eq(c.duplicates, 2);
    ck_assert_uint_eq(c.filled, 2);
    cscalp_orders_destroy(o);
}
END_TEST

START_TEST(capacity_ids_and_order)
{
    cscalp_orders *o = make(3, 4);
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(cscalp_orders_add(o, 1, 1.0, 1.0, 0, i, &ids[i]), CSCALP_OK);
    uint64_t extra = 0;
    ck_assert_int_eq(cscalp_orders_add(o, 1, 1.0, 1.0, 0, 0, &extra), CSCALP_EBUFFER);
    ck_assert_int_eq(cscalp_orders_add(o, 0, 1.0, 1.0, 0, 0, &extra), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_orders_add(o, 1, -1.0, 1.0, 0, 0, &extra), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_orders_add(o, 1, 1.0, (double)INFINITY, 0, 0, &extra),
                     CSCALP_EINVAL);
    ck_assert_int_eq(upd(o, ids[1], CSCALP_ORDER_EV_CANCELLED, 0, 0, NULL), CSCALP_ORDER_APPLIED);
    ck_assert_uint_eq(cscalp_orders_working(o), 2);
    ck_assert_uint_eq(cscalp_orders_at(o, 0)->id, ids[0]); /* oldest first */
    ck_assert_uint_eq(cscalp_orders_at(o, 1)->id, ids[2]);
    ck_assert_int_eq(cscalp_orders_add(o, -1, 1.0, 2.0, 1, 0, &extra), CSCALP_OK);
    ck_assert_uint_eq(extra, 4); /* ids never reused */
    ck_assert_double_eq(cscalp_orders_open_size(o, 1), 2.0);
    ck_assert_double_eq(cscalp_orders_open_size(o, -1), 2.0);
    /* a fill memory of 4: the fifth fill forgets the first */
    cscalp_orders *m = make(2, 4);
    uint64_t id = 0;
    ck_assert_int_eq(cscalp_orders_add(m, 1, 1.0, 100.0, 0, 0, &id), CSCALP_OK);
    for (uint64_t f = 1; f <= 5; f++)
        ck_assert_int_eq(upd(m, id, CSCALP_ORDER_EV_FILL, 1.0, f, NULL), CSCALP_ORDER_APPLIED);
    ck_assert_int_eq(upd(m, id, CSCALP_ORDER_EV_FILL, 1.0, 5, NULL), CSCALP_ORDER_DUPLICATE);
    ck_assert_int_eq(upd(m, id, CSCALP_ORDER_EV_FILL, 1.0, 2, NULL), CSCALP_ORDER_DUPLICATE);
    ck_assert_int_eq(upd(m, id, CSCALP_ORDER_EV_FILL, 1.0, 1, NULL), CSCALP_ORDER_APPLIED);
    cscalp_orders_destroy(m);
    cscalp_orders_destroy(o);
}
END_TEST

/* ---------------------------------------------------- property test */

#define MODEL_ORDERS 40000
#define MODEL_FILLS 40 /* sizes ≤ 20 in fills ≥ 0.5 */

/* The independent model: every order ever issued, states as the docs'
 * table says, and per order the fills booked with their sequence number
 * among all fills: one is still recognised while fewer than `memory`
 * fills came after it. */
typedef struct model_order {
    int exists, closed, state, acked;
    double size, filled;
    uint64_t fills[MODEL_FILLS];
    long seq[MODEL_FILLS];
    int n_fills;
} model_order;

static model_order model[MODEL_ORDERS];
static long model_fills, model_memory;

static int model_seen(const model_order *m, uint64_t f)
{
    for (int i = 0; i < m->n_fills; i++)
        if (m->fills[i] == f && m->seq[i] >= model_fills - model_memory)
            return 1;
    return 0;
}

/* The outcome the model expects; applies it. */
static int model_update(uint64_t id, int ev, double size, uint64_t fill, uint64_t next_id)
{
    if (id == 0 || id >= next_id || id >= MODEL_ORDERS)
        return CSCALP_ORDER_REFUSED;
    model_order *m = &model[id];
    if (ev == CSCALP_ORDER_EV_FILL && model_seen(m, fill))
        return CSCALP_ORDER_DUPLICATE;
    if (m->closed)
        return CSCALP_ORDER_REFUSED;
    switch (ev) {
    case CSCALP_ORDER_EV_ACK:
        if (m->state == CSCALP_ORDER_PENDING_NEW)
            m->state = CSCALP_ORDER_OPEN;
        else if (m->acked)
            return CSCALP_ORDER_DUPLICATE;
        m->acked = 1;
        return CSCALP_ORDER_APPLIED;
    case CSCALP_ORDER_EV_REJECT:
        if (m->state == CSCALP_ORDER_PENDING_NEW || !m->acked) {
            m->closed = 1;
            return CSCALP_ORDER_APPLIED;
        }
        if (m->state == CSCALP_ORDER_PENDING_CANCEL) {
            m->state = m->filled > 0 ? CSCALP_ORDER_PARTIAL : CSCALP_ORDER_OPEN;
            return CSCALP_ORDER_APPLIED;
        }
        return CSCALP_ORDER_REFUSED;
    case CSCALP_ORDER_EV_FILL:
        if (m->filled + size > m->size + 1e-12 * fmax(1.0, m->size))
            return CSCALP_ORDER_REFUSED;
        m->filled += size;
        m->acked = 1;
        ck_assert_int_lt(m->n_fills, MODEL_FILLS);
        m->fills[m->n_fills] = fill;
        m->seq[m->n_fills++] = model_fills++;
        if (m->filled >= m->size - 1e-12 * fmax(1.0, m->size))
            m->closed = 1;
        else if (m->state != CSCALP_ORDER_PENDING_CANCEL)
            m->state = CSCALP_ORDER_PARTIAL;
        return CSCALP_ORDER_APPLIED;
    default:
        m->closed = 1;
        return CSCALP_ORDER_APPLIED;
    }
}

/* Memory 2¹⁷ remembers every fill of the run; memory 8 forgets all but
 * the last 8 (evictions from the set on every fill). */
static const uint32_t memories[] = {1u << 17, 8};

START_TEST(random_updates_agree_with_an_independent_model)
{
    memset(model, 0, sizeof model);
    model_fills = 0;
    model_memory = memories[_i];
    cscalp_orders *o = make(16, memories[_i]);
    tu_rng g = {12345};
    long applied_fills = 0, duplicates = 0, refused = 0;
    for (long step = 0; step < 1000000; step++) {
        const uint64_t next = cscalp_orders_next_id(o);
        const int r = tu_int(&g, 100);
        if (r < 2 && next < MODEL_ORDERS) {
            uint64_t id = 0;
            const double size = (double)(1 + tu_int(&g, 20));
            const int rc = cscalp_orders_add(o, tu_int(&g, 2) ? 1 : -1, 100.0, size, 0, step, &id);
            if (rc == CSCALP_OK) {
                model[id].exists = 1;
                model[id].size = size;
                model[id].state = CSCALP_ORDER_PENDING_NEW;
            } else {
                ck_assert_int_eq(rc, CSCALP_EBUFFER);
                ck_assert_uint_eq(cscalp_orders_working(o), 16);
            }
            continue;
        }
        if (r < 3 && cscalp_orders_working(o) > 0) {
            const cscalp_order *w = cscalp_orders_at(o, (uint32_t)tu_int(&g, (int)cscalp_orders_working(o)));
            const uint64_t id = w->id;
            ck_assert_int_eq(cscalp_orders_cancel(o, id), CSCALP_OK);
            model[id].state = CSCALP_ORDER_PENDING_CANCEL;
            continue;
        }
        /* mostly ids near the newest, sometimes old or never issued */
        uint64_t id = next > 1 ? next - 1 - (uint64_t)tu_int(&g, (int)(next - 1 < 24 ? next - 1 : 24)) : 1;
        if (tu_int(&g, 50) == 0)
            id = next + (uint64_t)tu_int(&g, 3);
        const int ev = tu_int(&g, 10) < 6 ? CSCALP_ORDER_EV_FILL : tu_int(&g, 5);
        const double size = (double)(1 + tu_int(&g, 6)) * 0.5;
        const uint64_t fill = 1 + (uint64_t)tu_int(&g, 40);
        const int want = model_update(id, ev, size, fill, next);
        cscalp_order_refusal reason;
        const int got = upd(o, id, ev, size, fill, &reason);
        ck_assert_msg(got == want, "step %ld: order %llu event %d: %d, model %d", step,
                      (unsigned long long)id, ev, got, want);
        applied_fills += got == CSCALP_ORDER_APPLIED && ev == CSCALP_ORDER_EV_FILL;
        duplicates += got == CSCALP_ORDER_DUPLICATE;
        refused += got == CSCALP_ORDER_REFUSED;
        /* the order's view agrees with the model, and never overfills */
        const cscalp_order *w = cscalp_orders_find(o, id);
        if (id < MODEL_ORDERS && model[id].exists) {
            ck_assert_int_eq(w == NULL, model[id].closed);
            if (w != NULL) {
                ck_assert_double_eq(w->filled, model[id].filled);
                ck_assert_int_eq(w->state, model[id].state);
                ck_assert(w->filled <= w->size * (1 + 1e-9));
            }
        }
    }
    printf("{\"report\":\"orders_property\",\"fill_memory\":%u,\"updates\":1000000,"
           "\"orders\":%llu,\"applied_fills\":%ld,\"duplicates\":%ld,\"refused\":%ld}\n",
           memories[_i], (unsigned long long)(cscalp_orders_next_id(o) - 1), applied_fills,
           duplicates, refused);
    ck_assert(applied_fills > 10000 && duplicates > 1000 && refused > 1000);
    cscalp_orders_destroy(o);
}
END_TEST

/* -------------------------------------------------------- checkpoints */

static unsigned char *save(const cscalp_orders *o, size_t *len)
{
    cscalp_wbuf w;
    cscalp_allocator mem;
    cscalp_mem_init(&mem, NULL);
    cscalp_wbuf_init(&w, &mem);
    cscalp_orders_save(o, &w);
    ck_assert(!w.failed);
    *len = w.len;
    unsigned char *copy = malloc(w.len);
    memcpy(copy, w.data, w.len);
    cscalp_wbuf_free(&w);
    return copy;
}

START_TEST(checkpoints_round_trip_and_refuse_damage)
{
    cscalp_orders *a = make(8, 32);
    tu_rng g = {7};
    uint64_t id = 0;
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(cscalp_orders_add(a, i % 2 ? 1 : -1, 10.0 + i, 5.0, i == 3, i, &id),
                         CSCALP_OK);
    upd(a, 2, CSCALP_ORDER_EV_ACK, 0, 0, NULL);
    upd(a, 2, CSCALP_ORDER_EV_FILL, 2.0, 77, NULL);
    upd(a, 4, CSCALP_ORDER_EV_CANCELLED, 0, 0, NULL);
    cscalp_orders_cancel(a, 5);
    size_t len = 0;
    unsigned char *bytes = save(a, &len);
    cscalp_orders *b = make(8, 32);
    char why[200];
    cscalp_rbuf r;
    cscalp_rbuf_init(&r, bytes, len);
    ck_assert_msg(cscalp_orders_load(b, &r, why, sizeof why) == CSCALP_OK, "%s", why);
    ck_assert_uint_eq(cscalp_rbuf_left(&r), 0);
    /* the same updates give the same outcomes from here on */
    for (int step = 0; step < 5000; step++) {
        const uint64_t oid = 1 + (uint64_t)tu_int(&g, 9);
        const int ev = tu_int(&g, 5);
        const uint64_t fill = 70 + (uint64_t)tu_int(&g, 10);
        ck_assert_int_eq(upd(a, oid, ev, 1.0, fill, NULL), upd(b, oid, ev, 1.0, fill, NULL));
        if (step % 50 == 0 && cscalp_orders_working(a) < 8) {
            uint64_t ia = 0, ib = 0;
            ck_assert_int_eq(cscalp_orders_add(a, 1, 1.0, 3.0, 0, step, &ia),
                             cscalp_orders_add(b, 1, 1.0, 3.0, 0, step, &ib));
            ck_assert_uint_eq(ia, ib);
        }
    }
    size_t la = 0, lb = 0;
    unsigned char *ba = save(a, &la), *bb = save(b, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_int_eq(memcmp(ba, bb, la), 0);
    /* damage: every truncation refused; every single-byte change either
     * refused or loading into a table whose invariants hold */
    long refused = 0, loaded = 0;
    for (size_t cut = 0; cut < len; cut++) {
        cscalp_orders *c = make(8, 32);
        cscalp_rbuf_init(&r, bytes, cut);
        ck_assert_int_eq(cscalp_orders_load(c, &r, why, sizeof why), CSCALP_ECORRUPT);
        cscalp_orders_destroy(c);
    }
    for (size_t at = 0; at < len; at++) {
        unsigned char *bad = malloc(len);
        memcpy(bad, bytes, len);
        bad[at] ^= 0x5a;
        cscalp_orders *c = make(8, 32);
        cscalp_rbuf_init(&r, bad, len);
        if (cscalp_orders_load(c, &r, why, sizeof why) == CSCALP_OK) {
            loaded++;
            for (uint32_t i = 0; i < cscalp_orders_working(c); i++) {
                const cscalp_order *w = cscalp_orders_at(c, i);
                ck_assert(w->id < cscalp_orders_next_id(c));
                ck_assert(w->filled <= w->size * (1 + 1e-9) && w->size > 0);
                ck_assert(w->side == 1 || w->side == -1);
            }
        } else {
            refused++;
        }
        cscalp_orders_destroy(c);
        free(bad);
    }
    printf("{\"report\":\"orders_checkpoint\",\"bytes\":%zu,\"flips_refused\":%ld,"
           "\"flips_loaded\":%ld}\n",
           len, refused, loaded);
    free(bytes);
    free(ba);
    free(bb);
    cscalp_orders_destroy(a);
    cscalp_orders_destroy(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("orders");
    TCase *tc = tcase_create("orders");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, every_state_and_update, 0, (int)(sizeof table / sizeof table[0]));
    tcase_add_test(tc, cancel_reject_of_an_acked_order);
    tcase_add_test(tc, fills_complete_duplicate_and_overfill);
    tcase_add_test(tc, capacity_ids_and_order);
    tcase_add_loop_test(tc, random_updates_agree_with_an_independent_model, 0,
                        (int)(sizeof memories / sizeof memories[0]));
    tcase_add_test(tc, checkpoints_round_trip_and_refuse_damage);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
