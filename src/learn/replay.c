#include "learn/replay.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

/* Added to every loss so a perfectly predicted sample can still be drawn. */
#define PRIORITY_FLOOR 1e-3

struct cscalp_replay {
    cscalp_allocator mem;
    cscalp_replay_params p;
    uint32_t size;   /* filled slots */
    uint32_t next;   /* slot the next sample goes to */
    uint64_t added;
    float *x;        /* capacity × inputs */
    float *regime;   /* capacity × regimes */
    uint8_t *label;
    double *loss;    /* per slot, the source of its priority */
    uint32_t leaves; /* power of two >= capacity */
    double *tree;    /* 2 × leaves; tree[1] is the total, leaves at [leaves, 2·leaves) */
};

static double priority_of(const cscalp_replay *r, double loss)
{
    if (!(loss >= 0.0) || !isfinite(loss))
        loss = 0.0;
    return r->p.priority_alpha == 0.0 ? 1.0 : pow(loss + PRIORITY_FLOOR, r->p.priority_alpha);
}

/* Parents are recomputed as the sum of their children, never adjusted by a
 * difference, so the total cannot drift away from the leaves. */
static void tree_set(cscalp_replay *r, uint32_t slot, double value)
{
    uint32_t i = r->leaves + slot;
    r->tree[i] = value;
    for (i /= 2; i >= 1; i /= 2)
        r->tree[i] = r->tree[2 * i] + r->tree[2 * i + 1];
}

int cscalp_replay_create(const cscalp_allocator *mem, const cscalp_replay_params *p,
                         cscalp_replay **out)
{
    *out = NULL;
    if (p->capacity == 0 || p->inputs == 0 || p->regimes == 0)
        return CSCALP_EINVAL;
    cscalp_replay *r = cscalp_mem_calloc(mem, 1, sizeof *r);
    if (r == NULL)
        return CSCALP_ENOMEM;
    r->mem = *mem;
    r->p = *p;
    r->leaves = 1;
    while (r->leaves < p->capacity)
        r->leaves *= 2;
    r->x = cscalp_mem_calloc(mem, (size_t)p->capacity * p->inputs, sizeof *r->x);
    r->regime = r->x ? cscalp_mem_calloc(mem, (size_t)p->capacity * p->regimes,
                                         sizeof *r->regime)
                     : NULL;
    r->label = r->regime ? cscalp_mem_calloc(mem, p->capacity, 1) : NULL;
    r->loss = r->label ? cscalp_mem_calloc(mem, p->capacity, sizeof *r->loss) : NULL;
    r->tree = r->loss ? cscalp_mem_calloc(mem, 2 * (size_t)r->leaves, sizeof *r->tree) : NULL;
    if (r->tree == NULL) {
        cscalp_replay_destroy(r);
        return CSCALP_ENOMEM;
    }
    *out = r;
    return CSCALP_OK;
}

void cscalp_replay_destroy(cscalp_replay *r)
{
    if (r == NULL)
        return;
    const cscalp_allocator mem = r->mem;
    cscalp_mem_free(&mem, r->x);
    cscalp_mem_free(&mem, r->regime);
    cscalp_mem_free(&mem, r->label);
    cscalp_mem_free(&mem, r->loss);
    cscalp_mem_free(&mem, r->tree);
    cscalp_mem_free(&mem, r);
}

static void rebuild_tree(cscalp_replay *r)
{
    memset(r->tree, 0, 2 * (size_t)r->leaves * sizeof *r->tree);
    for (uint32_t s = 0; s < r->size; s++)
        r->tree[r->leaves + s] = priority_of(r, r->loss[s]);
    for (uint32_t i = r->leaves - 1; i >= 1; i--)
        r->tree[i] = r->tree[2 * i] + r->tree[2 * i + 1];
}

void cscalp_replay_set_mix(cscalp_replay *r, uint32_t recent_window, double recent_fraction,
                           double priority_alpha)
{
    const int alpha_changed = r->p.priority_alpha != priority_alpha;
    r->p.recent_window = recent_window;
    r->p.recent_fraction = recent_fraction;
    r->p.priority_alpha = priority_alpha;
    if (alpha_changed)
        rebuild_tree(r);
}

uint32_t cscalp_replay_size(const cscalp_replay *r) { return r->size; }

uint64_t cscalp_replay_added(const cscalp_replay *r) { return r->added; }

void cscalp_replay_add(cscalp_replay *r, const float *x, const float *regime, uint8_t label,
                       double loss)
{
    const uint32_t s = r->next;
    memcpy(r->x + (size_t)s * r->p.inputs, x, r->p.inputs * sizeof *x);
    memcpy(r->regime + (size_t)s * r->p.regimes, regime, r->p.regimes * sizeof *regime);
    r->label[s] = label;
    r->loss[s] = loss;
    tree_set(r, s, priority_of(r, loss));
    r->next = s + 1 == r->p.capacity ? 0 : s + 1;
    if (r->size < r->p.capacity)
        r->size++;
    r->added++;
}

/* The leaf where the running sum of priorities passes u (0 <= u < total). */
static uint32_t tree_find(const cscalp_replay *r, double u)
{
    uint32_t i = 1;
    while (i < r->leaves) {
        const double left = r->tree[2 * i];
        if (u < left) {
            i = 2 * i;
        } else {
            u -= left;
            i = 2 * i + 1;
        }
    }
    uint32_t slot = i - r->leaves;
    /* Rounding can walk past the last filled slot into a zero leaf. */
    return slot < r->size ? slot : r->size - 1;
}

void cscalp_replay_draw(cscalp_replay *r, cscalp_rng *rng, uint32_t batch, uint32_t *slots)
{
    uint32_t recent = r->p.recent_window < r->size ? r->p.recent_window : r->size;
    uint32_t n_recent = (uint32_t)floor(batch * r->p.recent_fraction + 0.5);
    if (recent == 0)
        n_recent = 0;
    if (n_recent > batch)
        n_recent = batch;
    for (uint32_t i = 0; i < n_recent; i++) {
        /* k-th newest: next - 1 - k, wrapped. */
        const uint32_t k = (uint32_t)cscalp_rng_below(rng, recent);
        const uint64_t back = (uint64_t)r->next + r->p.capacity - 1 - k;
        slots[i] = (uint32_t)(back % r->p.capacity);
    }
    const double total = r->tree[1];
    for (uint32_t i = n_recent; i < batch; i++) {
        if (total > 0.0 && isfinite(total))
            slots[i] = tree_find(r, cscalp_rng_uniform_d(rng) * total);
        else
            slots[i] = (uint32_t)cscalp_rng_below(rng, r->size);
    }
}

void cscalp_replay_gather(const cscalp_replay *r, const uint32_t *slots, uint32_t batch,
                          float *x, float *regime, uint8_t *labels)
{
    const size_t D = r->p.inputs, E = r->p.regimes;
    for (uint32_t i = 0; i < batch; i++) {
        const uint32_t s = slots[i];
        memcpy(x + i * D, r->x + s * D, D * sizeof *x);
        memcpy(regime + i * E, r->regime + s * E, E * sizeof *regime);
        labels[i] = r->label[s];
    }
}

void cscalp_replay_set_loss(cscalp_replay *r, uint32_t slot, double loss)
{
    if (slot >= r->size)
        return;
    r->loss[slot] = loss;
    tree_set(r, slot, priority_of(r, loss));
}

void cscalp_replay_save(const cscalp_replay *r, cscalp_wbuf *w)
{
    cscalp_put_u32(w, r->p.capacity);
    cscalp_put_u32(w, r->p.inputs);
    cscalp_put_u32(w, r->p.regimes);
    cscalp_put_u32(w, r->size);
    cscalp_put_u32(w, r->next);
    cscalp_put_u64(w, r->added);
    cscalp_put_f32s(w, r->x, (size_t)r->size * r->p.inputs);
    cscalp_put_f32s(w, r->regime, (size_t)r->size * r->p.regimes);
    cscalp_put_bytes(w, r->label, r->size);
    cscalp_put_f64s(w, r->loss, r->size);
}

int cscalp_replay_load(cscalp_replay *r, cscalp_rbuf *in, char *why, size_t cap)
{
    const uint32_t capacity = cscalp_get_u32(in), inputs = cscalp_get_u32(in),
                   regimes = cscalp_get_u32(in), size = cscalp_get_u32(in),
                   next = cscalp_get_u32(in);
    const uint64_t added = cscalp_get_u64(in);
    if (in->failed) {
        snprintf(why, cap, "replay: truncated");
        return CSCALP_ECORRUPT;
    }
    if (capacity != r->p.capacity || inputs != r->p.inputs || regimes != r->p.regimes) {
        snprintf(why, cap,
                 "replay: saved with capacity %u, %u inputs, %u regimes; this engine has "
                 "%u, %u, %u (learn.replay_capacity_samples and the model are fixed at open)",
                 capacity, inputs, regimes, r->p.capacity, r->p.inputs, r->p.regimes);
        return CSCALP_ECORRUPT;
    }
    if (size > capacity || next >= capacity || (size < capacity && next != size) ||
        added < size) {
        snprintf(why, cap, "replay: size %u / next %u inconsistent with capacity %u", size,
                 next, capacity);
        return CSCALP_ECORRUPT;
    }
    const size_t nx = (size_t)size * inputs, nr = (size_t)size * regimes;
    if (cscalp_rbuf_left(in) < nx * 4 + nr * 4 + size + (size_t)size * 8) {
        snprintf(why, cap, "replay: truncated");
        in->failed = 1;
        return CSCALP_ECORRUPT;
    }
    /* Check everything before touching the buffer. */
    cscalp_rbuf probe = *in;
    for (size_t i = 0; i < nx + nr; i++)
        if (!isfinite(cscalp_get_f32(&probe))) {
            snprintf(why, cap, "replay: a stored value is not finite");
            return CSCALP_ECORRUPT;
        }
    for (uint32_t i = 0; i < size; i++)
        if (cscalp_get_u8(&probe) > 2) {
            snprintf(why, cap, "replay: label of slot %u is not 0, 1 or 2", i);
            return CSCALP_ECORRUPT;
        }
    for (uint32_t i = 0; i < size; i++) {
        const double l = cscalp_get_f64(&probe);
        if (!(l >= 0.0) || !isfinite(l)) {
            snprintf(why, cap, "replay: loss of slot %u is not a finite non-negative number",
                     i);
            return CSCALP_ECORRUPT;
        }
    }
    cscalp_get_f32s(in, r->x, nx);
    cscalp_get_f32s(in, r->regime, nr);
    cscalp_get_bytes(in, r->label, size);
    cscalp_get_f64s(in, r->loss, size);
    r->size = size;
    r->next = next;
    r->added = added;
    rebuild_tree(r);
    return CSCALP_OK;
}
