#include "risk/orders.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

/* A fill is the pair (order, venue fill id): venues number fills per
 * symbol, and the same id on two of our orders is two fills. */
typedef struct fill_key {
    uint64_t order, fill;
} fill_key;

struct cscalp_orders {
    cscalp_allocator mem;
    cscalp_order_book_params p;
    cscalp_order *working; /* oldest first */
    uint32_t count;
    uint64_t next_id;
    /* Remembered fills: a ring in arrival order (what to forget next) and
     * a linear-probing set over the same keys (what was seen). */
    fill_key *ring;
    uint32_t ring_head, ring_count;
    fill_key *set;
    uint32_t set_mask;
    cscalp_orders_counters c;
};

_Static_assert(sizeof(cscalp_orders_counters) % sizeof(uint64_t) == 0,
               "the counters are saved as an array of u64");

/* Sizes are host decimals in binary: fills may add up to the size give or
 * take their rounding (a few ulps), far below any lot. */
static double fill_slack(double size) { return 1e-12 * fmax(1.0, size); }

static uint32_t slot_of(const cscalp_orders *o, fill_key k)
{
    /* splitmix64's finaliser over both ids: well mixed, deterministic */
    uint64_t z = k.order * 0x9e3779b97f4a7c15ULL ^ k.fill;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (uint32_t)z & o->set_mask;
}

static int set_has(const cscalp_orders *o, fill_key k)
{
    for (uint32_t i = slot_of(o, k);; i = (i + 1) & o->set_mask) {
        const fill_key e = o->set[i];
        if (e.fill == 0)
            return 0;
        if (e.fill == k.fill && e.order == k.order)
            return 1;
    }
}

static void set_insert(cscalp_orders *o, fill_key k)
{
    uint32_t i = slot_of(o, k);
    while (o->set[i].fill != 0)
        i = (i + 1) & o->set_mask;
    o->set[i] = k;
}

/* Linear-probing delete with backward shift: no tombstones. */
static void set_remove(cscalp_orders *o, fill_key k)
{
    uint32_t i = slot_of(o, k);
    while (!(o->set[i].fill == k.fill && o->set[i].order == k.order)) {
        if (o->set[i].fill == 0)
            return;
        i = (i + 1) & o->set_mask;
    }
    for (uint32_t j = (i + 1) & o->set_mask;; j = (j + 1) & o->set_mask) {
        if (o->set[j].fill == 0)
            break;
        const uint32_t home = slot_of(o, o->set[j]);
        /* j's entry may move into the hole at i when its home is not in
         * the cyclic range (i, j]. */
        const int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            o->set[i] = o->set[j];
            i = j;
        }
    }
    o->set[i].fill = 0;
    o->set[i].order = 0;
}

static void remember_fill(cscalp_orders *o, fill_key k)
{
    if (o->ring_count == o->p.fill_id_memory) {
        set_remove(o, o->ring[o->ring_head]);
        o->ring_head = (o->ring_head + 1) % o->p.fill_id_memory;
        o->ring_count--;
    }
    o->ring[(o->ring_head + o->ring_count) % o->p.fill_id_memory] = k;
    o->ring_count++;
    set_insert(o, k);
}

int cscalp_orders_create(const cscalp_allocator *mem, const cscalp_order_book_params *p,
                         cscalp_orders **out, char *why, size_t cap)
{
    *out = NULL;
    if (p->max_working < 1 || p->max_working > 4096) {
        snprintf(why, cap, "working orders: %u outside 1 … 4096", p->max_working);
        return CSCALP_ECONFIG_RANGE;
    }
    if (p->fill_id_memory < 1 || p->fill_id_memory > (1u << 20)) {
        snprintf(why, cap, "remembered fills: %u outside 1 … 1048576", p->fill_id_memory);
        return CSCALP_ECONFIG_RANGE;
    }
    cscalp_orders *o = cscalp_mem_calloc(mem, 1, sizeof *o);
    if (o == NULL) {
        snprintf(why, cap, "orders: out of memory");
        return CSCALP_ENOMEM;
    }
    o->mem = *mem;
    o->p = *p;
    o->next_id = 1;
    uint32_t size = 2;
    while (size < 2 * p->fill_id_memory) /* load factor ≤ 1/2 */
        size *= 2;
    o->set_mask = size - 1;
    o->working = cscalp_mem_calloc(mem, p->max_working, sizeof *o->working);
    o->ring = o->working ? cscalp_mem_calloc(mem, p->fill_id_memory, sizeof *o->ring) : NULL;
    o->set = o->ring ? cscalp_mem_calloc(mem, size, sizeof *o->set) : NULL;
    if (o->set == NULL) {
        cscalp_orders_destroy(o);
        snprintf(why, cap, "orders: out of memory");
        return CSCALP_ENOMEM;
    }
    *out = o;
    return CSCALP_OK;
}

void cscalp_orders_destroy(cscalp_orders *o)
{
    if (o == NULL)
        return;
    const cscalp_allocator mem = o->mem;
    cscalp_mem_free(&mem, o->working);
    cscalp_mem_free(&mem, o->ring);
    cscalp_mem_free(&mem, o->set);
    cscalp_mem_free(&mem, o);
}

static cscalp_order *find(cscalp_orders *o, uint64_t id)
{
    for (uint32_t i = 0; i < o->count; i++)
        if (o->working[i].id == id)
            return &o->working[i];
    return NULL;
}

const cscalp_order *cscalp_orders_find(const cscalp_orders *o, uint64_t id)
{
    return find((cscalp_orders *)o, id);
}

int cscalp_orders_add(cscalp_orders *o, int side, double price, double size, int reduce_only,
                      int64_t now_ns, uint64_t *id)
{
    if ((side != 1 && side != -1) || !isfinite(size) || !(size > 0.0) || !isfinite(price) ||
        price < 0.0)
        return CSCALP_EINVAL;
    if (o->count == o->p.max_working)
        return CSCALP_EBUFFER;
    cscalp_order *ord = &o->working[o->count++];
    memset(ord, 0, sizeof *ord);
    ord->id = o->next_id++;
    ord->side = side;
    ord->price = price;
    ord->size = size;
    ord->state = CSCALP_ORDER_PENDING_NEW;
    ord->created_ns = now_ns;
    ord->reduce_only = reduce_only != 0;
    o->c.added++;
    *id = ord->id;
    return CSCALP_OK;
}

void cscalp_orders_mark_needs_confirmation(cscalp_orders *o, uint64_t id)
{
    cscalp_order *ord = find(o, id);
    if (ord != NULL)
        ord->needs_confirmation = 1;
}

int cscalp_orders_cancel(cscalp_orders *o, uint64_t id)
{
    cscalp_order *ord = find(o, id);
    if (ord == NULL)
        return CSCALP_EINVAL;
    ord->state = CSCALP_ORDER_PENDING_CANCEL;
    return CSCALP_OK;
}

/* Terminal: out of the working table, keeping the others in order. */
static void close_order(cscalp_orders *o, cscalp_order *ord, int state)
{
    switch (state) {
    case CSCALP_ORDER_FILLED:
        o->c.filled++;
        break;
    case CSCALP_ORDER_CANCELLED:
        o->c.cancelled++;
        break;
    case CSCALP_ORDER_REJECTED:
        o->c.rejected++;
        break;
    default:
        o->c.expired++;
        break;
    }
    const uint32_t i = (uint32_t)(ord - o->working);
    memmove(&o->working[i], &o->working[i + 1], (o->count - i - 1) * sizeof *ord);
    o->count--;
}

static const char *const event_names[] = {"ACK", "REJECT", "FILL", "CANCELLED", "EXPIRED"};
static const char *const state_names[] = {"PENDING_NEW", "OPEN",      "PARTIAL",  "PENDING_CANCEL",
                                          "FILLED",      "CANCELLED", "REJECTED", "EXPIRED"};

static cscalp_order_outcome refuse(cscalp_orders *o, cscalp_order_refusal r,
                                   cscalp_order_refusal *reason)
{
    o->c.refused++;
    o->c.refused_by[r]++;
    *reason = r;
    return CSCALP_ORDER_REFUSED;
}

cscalp_order_outcome cscalp_orders_update(cscalp_orders *o, uint64_t id, int event,
                                          double fill_size, uint64_t fill_id,
                                          cscalp_order_refusal *reason, char *why, size_t cap)
{
    *reason = CSCALP_ORDER_OK;
    if (event < CSCALP_ORDER_EV_ACK || event > CSCALP_ORDER_EV_EXPIRED) {
        snprintf(why, cap, "order %llu: unknown update kind %d", (unsigned long long)id, event);
        return refuse(o, CSCALP_ORDER_BAD_FILL, reason);
    }
    if (event == CSCALP_ORDER_EV_FILL) {
        if (!isfinite(fill_size) || !(fill_size > 0.0) || fill_id == 0) {
            snprintf(why, cap, "order %llu: fill size %g or fill id %llu invalid",
                     (unsigned long long)id, fill_size, (unsigned long long)fill_id);
            return refuse(o, CSCALP_ORDER_BAD_FILL, reason);
        }
        /* A fill seen before is a duplicate whatever became of its order
         * since (venues resend on reconnect). */
        if (set_has(o, (fill_key){id, fill_id})) {
            o->c.duplicates++;
            return CSCALP_ORDER_DUPLICATE;
        }
    }
    cscalp_order *ord = find(o, id);
    if (ord == NULL) {
        if (id == 0 || id >= o->next_id) {
            snprintf(why, cap, "order %llu: no such order (ids issued so far: 1 … %llu)",
                     (unsigned long long)id, (unsigned long long)(o->next_id - 1));
            return refuse(o, CSCALP_ORDER_UNKNOWN_ID, reason);
        }
        snprintf(why, cap, "order %llu: %s for an order already closed",
                 (unsigned long long)id, event_names[event]);
        return refuse(o, CSCALP_ORDER_CLOSED_ID, reason);
    }
    const int state = ord->state;
    switch (event) {
    case CSCALP_ORDER_EV_ACK:
        if (state == CSCALP_ORDER_PENDING_NEW) {
            ord->state = CSCALP_ORDER_OPEN;
            ord->acked = 1;
            o->c.applied++;
            return CSCALP_ORDER_APPLIED;
        }
        if (!ord->acked) { /* the ack of an order whose cancel is pending */
            ord->acked = 1;
            o->c.applied++;
            return CSCALP_ORDER_APPLIED;
        }
        /* A repeated ack, or one after fills or a cancel request. */
        o->c.duplicates++;
        return CSCALP_ORDER_DUPLICATE;
    case CSCALP_ORDER_EV_REJECT:
        if (state == CSCALP_ORDER_PENDING_NEW) {
            close_order(o, ord, CSCALP_ORDER_REJECTED);
            o->c.applied++;
            return CSCALP_ORDER_APPLIED;
        }
        if (state == CSCALP_ORDER_PENDING_CANCEL && !ord->acked) {
            /* The venue never had it: the order itself was refused. */
            close_order(o, ord, CSCALP_ORDER_REJECTED);
            o->c.applied++;
            return CSCALP_ORDER_APPLIED;
        }
        if (state == CSCALP_ORDER_PENDING_CANCEL) {
            /* The cancel was refused: the order works on. */
            ord->state = ord->filled > 0.0 ? CSCALP_ORDER_PARTIAL : CSCALP_ORDER_OPEN;
            o->c.applied++;
            return CSCALP_ORDER_APPLIED;
        }
        snprintf(why, cap, "order %llu: REJECT for an order in state %s",
                 (unsigned long long)id, state_names[state]);
        return refuse(o, CSCALP_ORDER_TRANSITION, reason);
    case CSCALP_ORDER_EV_FILL: {
        const double after = ord->filled + fill_size;
        const double slack = fill_slack(ord->size);
        if (after > ord->size + slack) {
            snprintf(why, cap, "order %llu: fill of %.17g would make %.17g filled of %.17g",
                     (unsigned long long)id, fill_size, after, ord->size);
            return refuse(o, CSCALP_ORDER_OVERFILL, reason);
        }
        remember_fill(o, (fill_key){id, fill_id});
        ord->filled = after;
        ord->acked = 1;
        o->c.applied++;
        if (after >= ord->size - slack)
            close_order(o, ord, CSCALP_ORDER_FILLED);
        else if (state != CSCALP_ORDER_PENDING_CANCEL)
            ord->state = CSCALP_ORDER_PARTIAL;
        return CSCALP_ORDER_APPLIED;
    }
    default: /* CANCELLED, EXPIRED: from any working state */
        close_order(o, ord,
                    event == CSCALP_ORDER_EV_CANCELLED ? CSCALP_ORDER_CANCELLED
                                                       : CSCALP_ORDER_EXPIRED);
        o->c.applied++;
        return CSCALP_ORDER_APPLIED;
    }
}

int cscalp_orders_withdraw(cscalp_orders *o, uint64_t id)
{
    cscalp_order *ord = find(o, id);
    if (ord == NULL || ord->state != CSCALP_ORDER_PENDING_NEW || ord->acked || ord->filled != 0.0)
        return CSCALP_EINVAL;
    o->c.withdrawn++;
    const uint32_t i = (uint32_t)(ord - o->working);
    memmove(&o->working[i], &o->working[i + 1], (o->count - i - 1) * sizeof *ord);
    o->count--;
    return CSCALP_OK;
}

uint32_t cscalp_orders_working(const cscalp_orders *o) { return o->count; }
const cscalp_order *cscalp_orders_at(const cscalp_orders *o, uint32_t i)
{
    return i < o->count ? &o->working[i] : NULL;
}
uint64_t cscalp_orders_next_id(const cscalp_orders *o) { return o->next_id; }

double cscalp_orders_open_size(const cscalp_orders *o, int side)
{
    double s = 0.0;
    for (uint32_t i = 0; i < o->count; i++)
        if (o->working[i].side == side)
            s += o->working[i].size - o->working[i].filled;
    return s;
}

void cscalp_orders_get_counters(const cscalp_orders *o, cscalp_orders_counters *out)
{
    *out = o->c;
}

/* ---------------------------------------------------------- checkpoints */

void cscalp_orders_save(const cscalp_orders *o, cscalp_wbuf *w)
{
    cscalp_put_u32(w, o->p.max_working);
    cscalp_put_u32(w, o->p.fill_id_memory);
    cscalp_put_u64(w, o->next_id);
    const size_t n_counters = sizeof o->c / sizeof(uint64_t);
    uint64_t counters[sizeof o->c / sizeof(uint64_t)];
    memcpy(counters, &o->c, sizeof counters);
    cscalp_put_u32(w, (uint32_t)n_counters);
    for (size_t i = 0; i < n_counters; i++)
        cscalp_put_u64(w, counters[i]);
    cscalp_put_u32(w, o->count);
    for (uint32_t i = 0; i < o->count; i++) {
        const cscalp_order *ord = &o->working[i];
        cscalp_put_u64(w, ord->id);
        cscalp_put_u32(w, (uint32_t)(ord->side + 1));
        cscalp_put_f64(w, ord->price);
        cscalp_put_f64(w, ord->size);
        cscalp_put_f64(w, ord->filled);
        cscalp_put_u32(w, (uint32_t)ord->state);
        cscalp_put_i64(w, ord->created_ns);
        cscalp_put_u32(w, (uint32_t)ord->reduce_only);
        cscalp_put_u32(w, (uint32_t)ord->acked);
        cscalp_put_u32(w, (uint32_t)ord->needs_confirmation);
    }
    cscalp_put_u32(w, o->ring_count);
    for (uint32_t i = 0; i < o->ring_count; i++) {
        const fill_key k = o->ring[(o->ring_head + i) % o->p.fill_id_memory];
        cscalp_put_u64(w, k.order);
        cscalp_put_u64(w, k.fill);
    }
}

int cscalp_orders_load(cscalp_orders *o, cscalp_rbuf *r, char *why, size_t cap)
{
#define FAIL(...)                                                               \
    do {                                                                        \
        snprintf(why, cap, __VA_ARGS__);                                        \
        return CSCALP_ECORRUPT;                                                 \
    } while (0)
    const uint32_t max_working = cscalp_get_u32(r), memory = cscalp_get_u32(r);
    if (r->failed || max_working != o->p.max_working || memory != o->p.fill_id_memory)
        FAIL("orders: capacities %u / %u where this engine has %u / %u", max_working, memory,
             o->p.max_working, o->p.fill_id_memory);
    const uint64_t next_id = cscalp_get_u64(r);
    uint64_t counters[sizeof o->c / sizeof(uint64_t)];
    const uint32_t n_counters = cscalp_get_u32(r);
    if (r->failed || next_id < 1 || n_counters != sizeof counters / sizeof counters[0])
        FAIL("orders: id counter or counters damaged");
    for (uint32_t i = 0; i < n_counters; i++)
        counters[i] = cscalp_get_u64(r);
    const uint32_t count = cscalp_get_u32(r);
    if (r->failed || count > max_working)
        FAIL("orders: %u working orders, at most %u", count, max_working);
    uint64_t last_id = 0;
    for (uint32_t i = 0; i < count; i++) {
        cscalp_order ord;
        memset(&ord, 0, sizeof ord);
        ord.id = cscalp_get_u64(r);
        const uint32_t side = cscalp_get_u32(r);
        ord.price = cscalp_get_f64(r);
        ord.size = cscalp_get_f64(r);
        ord.filled = cscalp_get_f64(r);
        const uint32_t state = cscalp_get_u32(r);
        ord.created_ns = cscalp_get_i64(r);
        const uint32_t reduce_only = cscalp_get_u32(r);
        const uint32_t acked = cscalp_get_u32(r);
        const uint32_t needs_confirmation = cscalp_get_u32(r);
        const double slack = fill_slack(ord.size);
        if (r->failed || ord.id <= last_id || ord.id >= next_id || (side != 0 && side != 2) ||
            !isfinite(ord.price) || ord.price < 0.0 || !isfinite(ord.size) ||
            !(ord.size > 0.0) || !isfinite(ord.filled) || ord.filled < 0.0 ||
            ord.filled >= ord.size - slack || state > CSCALP_ORDER_PENDING_CANCEL ||
            reduce_only > 1 || acked > 1 || needs_confirmation > 1 ||
            /* states that say nothing was filled, or that the venue has it */
            ((state == CSCALP_ORDER_PENDING_NEW || state == CSCALP_ORDER_OPEN) &&
             ord.filled > 0.0) ||
            (state == CSCALP_ORDER_PARTIAL && !(ord.filled > 0.0)) ||
            (state == CSCALP_ORDER_PENDING_NEW && acked) ||
            ((state == CSCALP_ORDER_OPEN || state == CSCALP_ORDER_PARTIAL || ord.filled > 0.0) &&
             !acked))
            FAIL("orders: working order %u damaged", i);
        ord.side = (int)side - 1;
        ord.state = (int)state;
        ord.reduce_only = (int)reduce_only;
        ord.acked = (int)acked;
        ord.needs_confirmation = (int)needs_confirmation;
        o->working[i] = ord; /* the caller discards the table on error */
        last_id = ord.id;
    }
    const uint32_t ring_count = cscalp_get_u32(r);
    if (r->failed || ring_count > memory)
        FAIL("orders: %u remembered fills, at most %u", ring_count, memory);
    memset(o->set, 0, ((size_t)o->set_mask + 1) * sizeof *o->set);
    o->ring_head = 0;
    o->ring_count = 0;
    for (uint32_t i = 0; i < ring_count; i++) {
        fill_key k;
        k.order = cscalp_get_u64(r);
        k.fill = cscalp_get_u64(r);
        if (r->failed || k.fill == 0 || k.order == 0 || k.order >= next_id || set_has(o, k))
            FAIL("orders: remembered fill %u damaged", i);
        remember_fill(o, k);
    }
    o->next_id = next_id;
    o->count = count;
    memcpy(&o->c, counters, sizeof counters);
    return CSCALP_OK;
#undef FAIL
}
