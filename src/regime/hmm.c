#include "regime/hmm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define K_MAX CSCALP_HMM_MAX_STATES
#define D_MAX CSCALP_HMM_MAX_DIMS
#define LN_2PI 1.8378770664093454836

/* Rows of probabilities must sum to 1 within this. */
#define ROW_TOLERANCE 1e-6

/* Birth of a state (docs/regime.md, "Births"): an observation is an
 * outlier when its squared Mahalanobis distance to every state exceeds
 * BIRTH_SIGMA² per dimension; BIRTH_STEPS outliers in a row make a new
 * state. */
#define BIRTH_SIGMA 3.0
#define BIRTH_STEPS 10
#define VARIANCE_PRIOR_STEPS 50.0

typedef struct warm_key {
    double value;
    uint32_t index;
} warm_key;

struct cscalp_hmm {
    cscalp_allocator mem;
    cscalp_hmm_params p;
    uint32_t K, D;
    int ready;
    uint64_t steps;     /* observations taken, warm-up included */
    uint64_t em_steps;  /* stepwise-EM updates since the model was ready */
    uint64_t reorders;
    double last_ll;

    double means[K_MAX * D_MAX];
    double vars[K_MAX * D_MAX];
    double trans[K_MAX * K_MAX];
    double post[K_MAX];

    /* Stepwise-EM sufficient statistics, as averages per observation:
     * s0[k] = E[γ_k], s1 = E[γ_k x], s2 = E[γ_k x²], st[j][k] = E[ξ_jk]. */
    double s0[K_MAX];
    double s1[K_MAX * D_MAX];
    double s2[K_MAX * D_MAX];
    double st[K_MAX * K_MAX];

    /* The current run of outliers: count, sum and sum of squares. */
    uint32_t streak;
    double streak_sum[D_MAX], streak_sq[D_MAX];
    uint64_t births;
    /* new_of_old[k]: where the state that was k before the latest step
     * is now (re-orderings and births move states; docs/regime.md). */
    uint32_t new_of_old[K_MAX];
    /* Prior variance per dimension: the warm-up's pooled within-group
     * variance. Every state's variance is pulled towards it with the
     * weight of VARIANCE_PRIOR_STEPS observations. */
    double v0[D_MAX];

    /* Warm-up: the first observations, then their sort keys. */
    double *warm;       /* warmup × D */
    warm_key *keys;     /* warmup */
    uint32_t warm_count;
};

/* ------------------------------------------------------------ parameters */

static int params_check(const cscalp_hmm_params *p, char *why, size_t cap)
{
#define BAD(...)                                                                \
    do {                                                                        \
        snprintf(why, cap, __VA_ARGS__);                                        \
        return CSCALP_ECONFIG_RANGE;                                            \
    } while (0)
    if (p->states < 1 || p->states > K_MAX)
        BAD("regime states: %u outside 1 … %d", p->states, K_MAX);
    if (p->dims < 1 || p->dims > D_MAX)
        BAD("regime observation dimensions: %u outside 1 … %d", p->dims, D_MAX);
    if (p->warmup < p->states || p->warmup > 1000000)
        BAD("regime warm-up: %u observations, needs %u … 1000000", p->warmup, p->states);
    if (!(p->half_life >= 1.0) || !isfinite(p->half_life))
        BAD("regime half-life: %g observations, needs ≥ 1", p->half_life);
    if (!(p->stay_probability > 0.0 && p->stay_probability < 1.0))
        BAD("regime stay probability: %g outside (0, 1)", p->stay_probability);
    if (!(p->transition_prior >= 0.0) || !isfinite(p->transition_prior))
        BAD("regime transition prior: %g, needs a finite value ≥ 0", p->transition_prior);
    if (!(p->min_variance > 0.0) || !isfinite(p->min_variance))
        BAD("regime minimum variance: %g, needs a finite value > 0", p->min_variance);
    return CSCALP_OK;
#undef BAD
}

/* The prior (and initial) transition probability j → k. */
static double prior_transition(const cscalp_hmm *h, uint32_t j, uint32_t k)
{
    if (h->K == 1)
        return 1.0;
    return j == k ? h->p.stay_probability : (1.0 - h->p.stay_probability) / (h->K - 1);
}

int cscalp_hmm_create(const cscalp_allocator *mem, const cscalp_hmm_params *p,
                      cscalp_hmm **out, char *why, size_t cap)
{
    *out = NULL;
    const int rc = params_check(p, why, cap);
    if (rc != CSCALP_OK)
        return rc;
    cscalp_hmm *h = cscalp_mem_calloc(mem, 1, sizeof *h);
    if (h == NULL) {
        snprintf(why, cap, "regime model: out of memory");
        return CSCALP_ENOMEM;
    }
    h->mem = *mem;
    h->p = *p;
    h->K = p->states;
    h->D = p->dims;
    h->warm = cscalp_mem_calloc(mem, (size_t)p->warmup * p->dims, sizeof *h->warm);
    h->keys = h->warm ? cscalp_mem_calloc(mem, p->warmup, sizeof *h->keys) : NULL;
    if (h->warm == NULL || h->keys == NULL) {
        cscalp_hmm_destroy(h);
        snprintf(why, cap, "regime model: out of memory");
        return CSCALP_ENOMEM;
    }
    for (uint32_t k = 0; k < h->K; k++) {
        h->new_of_old[k] = k;
        h->post[k] = 1.0 / h->K;
        for (uint32_t j = 0; j < h->K; j++)
            h->trans[k * h->K + j] = prior_transition(h, k, j);
        for (uint32_t d = 0; d < h->D; d++)
            h->vars[k * h->D + d] = 1.0;
    }
    h->last_ll = (double)NAN;
    *out = h;
    return CSCALP_OK;
}

void cscalp_hmm_destroy(cscalp_hmm *h)
{
    if (h == NULL)
        return;
    const cscalp_allocator mem = h->mem;
    cscalp_mem_free(&mem, h->warm);
    cscalp_mem_free(&mem, h->keys);
    cscalp_mem_free(&mem, h);
}

const cscalp_hmm_params *cscalp_hmm_get_params(const cscalp_hmm *h) { return &h->p; }

int cscalp_hmm_set_half_life(cscalp_hmm *h, double half_life)
{
    if (!(half_life >= 1.0) || !isfinite(half_life))
        return CSCALP_ECONFIG_RANGE;
    h->p.half_life = half_life;
    return CSCALP_OK;
}

/* Statistics that stand for the current parameters, as if learned from
 * observations spread over the states in the proportions `weight`. */
static void stats_from_params(cscalp_hmm *h, const double *weight)
{
    const uint32_t K = h->K, D = h->D;
    for (uint32_t k = 0; k < K; k++) {
        h->s0[k] = weight[k];
        for (uint32_t d = 0; d < D; d++) {
            const double m = h->means[k * D + d], v = h->vars[k * D + d];
            h->s1[k * D + d] = weight[k] * m;
            h->s2[k * D + d] = weight[k] * (v + m * m);
        }
        for (uint32_t j = 0; j < K; j++)
            h->st[k * K + j] = weight[k] * h->trans[k * K + j];
    }
}

static int row_ok(const double *row, uint32_t n)
{
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        if (!isfinite(row[i]) || row[i] < 0.0 || row[i] > 1.0)
            return 0;
        sum += row[i];
    }
    return fabs(sum - 1.0) <= ROW_TOLERANCE;
}

int cscalp_hmm_set_params(cscalp_hmm *h, const double *means, const double *variances,
                          const double *transition, const double *initial)
{
    const uint32_t K = h->K, D = h->D;
    for (uint32_t i = 0; i < K * D; i++)
        if (!isfinite(means[i]) || !isfinite(variances[i]) || !(variances[i] > 0.0))
            return CSCALP_ECONFIG_RANGE;
    for (uint32_t k = 0; k < K; k++)
        if (!row_ok(transition + (size_t)k * K, K))
            return CSCALP_ECONFIG_RANGE;
    if (!row_ok(initial, K))
        return CSCALP_ECONFIG_RANGE;
    memcpy(h->means, means, (size_t)K * D * sizeof *means);
    memcpy(h->vars, variances, (size_t)K * D * sizeof *variances);
    memcpy(h->trans, transition, (size_t)K * K * sizeof *transition);
    memcpy(h->post, initial, K * sizeof *initial);
    for (uint32_t d = 0; d < D; d++) {
        h->v0[d] = 0.0;
        for (uint32_t k = 0; k < K; k++)
            h->v0[d] += initial[k] * variances[k * D + d];
    }
    stats_from_params(h, initial);
    h->ready = 1;
    h->em_steps = 0;
    h->warm_count = 0;
    return CSCALP_OK;
}

/* ------------------------------------------------------------- warm-up */

/* Ties by arrival: a total order, so the sort's result is unique. */
static int key_less(const warm_key *x, const warm_key *y)
{
    if (x->value != y->value)
        return x->value < y->value;
    return x->index < y->index;
}

static void sift_down(warm_key *k, uint32_t root, uint32_t n)
{
    for (;;) {
        uint32_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && key_less(&k[child], &k[child + 1]))
            child++;
        if (!key_less(&k[root], &k[child]))
            return;
        const warm_key t = k[root];
        k[root] = k[child];
        k[child] = t;
        root = child;
    }
}

/* Heap sort in place: no allocation (qsort may call malloc), O(n log n). */
static void sort_keys(warm_key *k, uint32_t n)
{
    for (uint32_t i = n / 2; i-- > 0;)
        sift_down(k, i, n);
    for (uint32_t end = n; end-- > 1;) {
        const warm_key t = k[0];
        k[0] = k[end];
        k[end] = t;
        sift_down(k, 0, end);
    }
}

/* States from the warm-up observations by k-means (Lloyd) on the
 * observations standardised per dimension, started from the warm-up sorted
 * by dimension 0 and cut into K groups of equal size, KMEANS_ROUNDS rounds
 * at most. Equal-size groups alone put two states inside a regime that
 * fills most of the warm-up; k-means moves them to where the data is.
 * Each cluster's mean, variance and share start its state; a cluster left
 * empty keeps its last centre, the warm-up's variance and a weight of one
 * observation. Cost, once: O(n log n + 50·n·K·D) for n warm-up
 * observations (0.4 M operations with the defaults). */
#define KMEANS_ROUNDS 50

static void init_from_warmup(cscalp_hmm *h)
{
    const uint32_t K = h->K, D = h->D, n = h->warm_count;
    const double *x = h->warm;
    /* Standardisation: every dimension counts alike in the distances. */
    double mu[D_MAX], sd[D_MAX];
    for (uint32_t d = 0; d < D; d++) {
        double sum = 0.0, sq = 0.0;
        for (uint32_t i = 0; i < n; i++)
            sum += x[(size_t)i * D + d];
        mu[d] = sum / n;
        for (uint32_t i = 0; i < n; i++) {
            const double e = x[(size_t)i * D + d] - mu[d];
            sq += e * e;
        }
        sd[d] = sqrt(fmax(sq / n, h->p.min_variance));
    }
    /* Start: equal-size groups along dimension 0. The sort keys hold the
     * cluster of each observation afterwards (index = observation). */
    for (uint32_t i = 0; i < n; i++) {
        h->keys[i].value = x[(size_t)i * D];
        h->keys[i].index = i;
    }
    sort_keys(h->keys, n);
    double centre[K_MAX * D_MAX];
    for (uint32_t k = 0; k < K; k++) {
        const uint32_t lo = (uint32_t)((uint64_t)k * n / K);
        const uint32_t hi = (uint32_t)((uint64_t)(k + 1) * n / K);
        for (uint32_t d = 0; d < D; d++) {
            double sum = 0.0;
            for (uint32_t i = lo; i < hi; i++)
                sum += (x[(size_t)h->keys[i].index * D + d] - mu[d]) / sd[d];
            centre[k * D + d] = sum / (hi - lo);
        }
    }
    /* Lloyd rounds; ties go to the lower cluster id (deterministic). The
     * sort keys have served: their memory holds the cluster labels. */
    _Static_assert(sizeof(warm_key) >= sizeof(uint32_t), "labels live in the sort keys");
    uint32_t *label = (uint32_t *)(void *)h->keys;
    for (uint32_t round = 0; round < KMEANS_ROUNDS; round++) {
        int changed = round == 0;
        double sum[K_MAX * D_MAX] = {0};
        double count[K_MAX] = {0};
        for (uint32_t i = 0; i < n; i++) {
            uint32_t best = 0;
            double best_d = HUGE_VAL;
            for (uint32_t k = 0; k < K; k++) {
                double dist = 0.0;
                for (uint32_t d = 0; d < D; d++) {
                    const double r = (x[(size_t)i * D + d] - mu[d]) / sd[d] - centre[k * D + d];
                    dist += r * r;
                }
                if (dist < best_d) {
                    best_d = dist;
                    best = k;
                }
            }
            if (round > 0 && label[i] != best)
                changed = 1;
            label[i] = best;
            count[best] += 1.0;
            for (uint32_t d = 0; d < D; d++)
                sum[best * D + d] += (x[(size_t)i * D + d] - mu[d]) / sd[d];
        }
        if (!changed)
            break;
        for (uint32_t k = 0; k < K; k++)
            if (count[k] > 0.0)
                for (uint32_t d = 0; d < D; d++)
                    centre[k * D + d] = sum[k * D + d] / count[k];
    }
    /* Each cluster's moments in the original units. */
    double weight[K_MAX];
    for (uint32_t d = 0; d < D; d++)
        h->v0[d] = 0.0;
    for (uint32_t k = 0; k < K; k++) {
        double count = 0.0, s1[D_MAX] = {0};
        for (uint32_t i = 0; i < n; i++) {
            if (label[i] != k)
                continue;
            count += 1.0;
            for (uint32_t d = 0; d < D; d++) {
                s1[d] += x[(size_t)i * D + d];
            }
        }
        for (uint32_t d = 0; d < D; d++) {
            const double mean = count > 0.0 ? s1[d] / count : mu[d] + sd[d] * centre[k * D + d];
            double ss = 0.0;
            for (uint32_t i = 0; i < n; i++)
                if (label[i] == k) {
                    const double e = x[(size_t)i * D + d] - mean;
                    ss += e * e;
                }
            h->means[k * D + d] = mean;
            h->vars[k * D + d] = fmax(count > 1.0 ? ss / count : sd[d] * sd[d], h->p.min_variance);
            h->v0[d] += ss / n;
        }
        weight[k] = count > 0.0 ? count / n : 1.0 / n;
        for (uint32_t j = 0; j < K; j++)
            h->trans[k * K + j] = prior_transition(h, k, j);
        h->post[k] = 1.0 / K;
    }
    double wsum = 0.0;
    for (uint32_t k = 0; k < K; k++)
        wsum += weight[k];
    for (uint32_t k = 0; k < K; k++)
        weight[k] /= wsum;
    for (uint32_t d = 0; d < D; d++)
        h->v0[d] = fmax(h->v0[d], h->p.min_variance);
    stats_from_params(h, weight);
    h->ready = 1;
    h->em_steps = 0;
    h->warm_count = 0; /* the buffer has served; checkpoints leave it out */
}

/* -------------------------------------------------------------- filter */

/* Canonical order: ascending mean of dimension 0. A stable insertion sort
 * of K ≤ 16 ids; every array indexed by state is permuted alike. */
static void reorder(cscalp_hmm *h)
{
    const uint32_t K = h->K, D = h->D;
    uint32_t order[K_MAX];
    for (uint32_t k = 0; k < K; k++)
        order[k] = k;
    int moved = 0;
    for (uint32_t i = 1; i < K; i++) {
        const uint32_t id = order[i];
        uint32_t j = i;
        while (j > 0 && h->means[order[j - 1] * D] > h->means[id * D]) {
            order[j] = order[j - 1];
            j--;
            moved = 1;
        }
        order[j] = id;
    }
    if (!moved)
        return;
    double means[K_MAX * D_MAX], vars[K_MAX * D_MAX], s1[K_MAX * D_MAX], s2[K_MAX * D_MAX];
    double trans[K_MAX * K_MAX], st[K_MAX * K_MAX], post[K_MAX], s0[K_MAX];
    for (uint32_t a = 0; a < K; a++) {
        const uint32_t from = order[a];
        for (uint32_t d = 0; d < D; d++) {
            means[a * D + d] = h->means[from * D + d];
            vars[a * D + d] = h->vars[from * D + d];
            s1[a * D + d] = h->s1[from * D + d];
            s2[a * D + d] = h->s2[from * D + d];
        }
        for (uint32_t b = 0; b < K; b++) {
            trans[a * K + b] = h->trans[from * K + order[b]];
            st[a * K + b] = h->st[from * K + order[b]];
        }
        post[a] = h->post[from];
        s0[a] = h->s0[from];
    }
    memcpy(h->means, means, sizeof means);
    memcpy(h->vars, vars, sizeof vars);
    memcpy(h->s1, s1, sizeof s1);
    memcpy(h->s2, s2, sizeof s2);
    memcpy(h->trans, trans, sizeof trans);
    memcpy(h->st, st, sizeof st);
    memcpy(h->post, post, sizeof post);
    memcpy(h->s0, s0, sizeof s0);
    /* order[a] is the state now at a: compose into the step's mapping. */
    uint32_t now_at[K_MAX];
    for (uint32_t a = 0; a < K; a++)
        now_at[order[a]] = a;
    for (uint32_t k = 0; k < K; k++)
        h->new_of_old[k] = now_at[h->new_of_old[k]];
    h->reorders++;
}

/* Transition rows from the statistics, read as counts over `memory`
 * observations, plus `transition_prior` pseudo-steps of the prior (a
 * Dirichlet MAP estimate); a row with no weight at all keeps its values. */
static void transitions_from_stats(cscalp_hmm *h, double memory)
{
    const uint32_t K = h->K;
    for (uint32_t k = 0; k < K; k++) {
        double row[K_MAX], sum = 0.0;
        for (uint32_t j = 0; j < K; j++) {
            row[j] = memory * h->st[k * K + j] + h->p.transition_prior * prior_transition(h, k, j);
            sum += row[j];
        }
        if (!(sum > 0.0))
            continue;
        for (uint32_t j = 0; j < K; j++)
            h->trans[k * K + j] = row[j] / sum;
    }
}

/* One stepwise-EM update with step size eta from the posterior `gamma`, the
 * two-slice posterior `xi` (K × K) and the observation x. */
static void em_update(cscalp_hmm *h, const double *gamma, const double *xi, const double *x)
{
    const uint32_t K = h->K, D = h->D;
    /* Step size: 1/n at first (the warm-up counts as `warmup`
     * observations), never below the forgetting step of the half-life. */
    const double forget = 1.0 - exp2(-1.0 / h->p.half_life);
    const double eta = fmax(1.0 / ((double)h->em_steps + (double)h->p.warmup + 1.0), forget);
    const double keep = 1.0 - eta;
    for (uint32_t k = 0; k < K; k++) {
        h->s0[k] = keep * h->s0[k] + eta * gamma[k];
        for (uint32_t d = 0; d < D; d++) {
            const double xd = x[d];
            h->s1[k * D + d] = keep * h->s1[k * D + d] + eta * gamma[k] * xd;
            h->s2[k * D + d] = keep * h->s2[k * D + d] + eta * gamma[k] * xd * xd;
        }
        for (uint32_t j = 0; j < K; j++)
            h->st[k * K + j] = keep * h->st[k * K + j] + eta * xi[k * K + j];
    }
    /* M-step. A state that has all but vanished keeps its parameters.
     * Variances are MAP estimates under a prior of VARIANCE_PRIOR_STEPS
     * observations at v0: a state cannot stretch over a new regime in a
     * few steps, so the new regime stays an outlier long enough to get a
     * state of its own (maybe_birth). */
    const double a = VARIANCE_PRIOR_STEPS * eta;
    for (uint32_t k = 0; k < K; k++) {
        if (!(h->s0[k] > 1e-12))
            continue;
        for (uint32_t d = 0; d < D; d++) {
            const double m = h->s1[k * D + d] / h->s0[k];
            const double scatter = fmax(h->s2[k * D + d] - h->s0[k] * m * m, 0.0);
            const double v = (scatter + a * h->v0[d]) / (h->s0[k] + a);
            h->means[k * D + d] = m;
            h->vars[k * D + d] = fmax(v, h->p.min_variance);
        }
    }
    /* Transitions over the effective memory of 1 / eta observations. */
    transitions_from_stats(h, 1.0 / eta);
    h->em_steps++;
    reorder(h);
}

/* Squared Mahalanobis distance of x to state k. */
static double distance2(const cscalp_hmm *h, uint32_t k, const double *x)
{
    double m = 0.0;
    for (uint32_t d = 0; d < h->D; d++) {
        const double r = x[d] - h->means[k * h->D + d];
        m += r * r / h->vars[k * h->D + d];
    }
    return m;
}

/* A market the states do not cover — a run of BIRTH_STEPS observations
 * each far from every state — gets a state of its own: the two states
 * closest to each other are merged (their statistics added) and the freed
 * slot starts at the run's mean and spread. Without it, states placed by
 * a warm-up that saw one regime split that regime among themselves and
 * the regime that comes later has none (stepwise EM does not move a state
 * across empty space). Returns 1 when a state was born. */
static int maybe_birth(cscalp_hmm *h, const double *x)
{
    const uint32_t K = h->K, D = h->D;
    if (K < 2)
        return 0;
    double nearest = HUGE_VAL;
    for (uint32_t k = 0; k < K; k++)
        nearest = fmin(nearest, distance2(h, k, x));
    if (!(nearest > BIRTH_SIGMA * BIRTH_SIGMA * D)) {
        h->streak = 0;
        return 0;
    }
    if (h->streak == 0)
        for (uint32_t d = 0; d < D; d++)
            h->streak_sum[d] = h->streak_sq[d] = 0.0;
    h->streak++;
    for (uint32_t d = 0; d < D; d++) {
        h->streak_sum[d] += x[d];
        h->streak_sq[d] += x[d] * x[d];
    }
    if (h->streak < BIRTH_STEPS)
        return 0;
    /* The closest pair, by mean distance in units of their spread. */
    uint32_t a = 0, b = 1;
    double best = HUGE_VAL;
    for (uint32_t i = 0; i < K; i++)
        for (uint32_t j = i + 1; j < K; j++) {
            double dist = 0.0;
            for (uint32_t d = 0; d < D; d++) {
                const double r = h->means[i * D + d] - h->means[j * D + d];
                dist += r * r / (h->vars[i * D + d] + h->vars[j * D + d]);
            }
            if (dist < best) {
                best = dist;
                a = i;
                b = j;
            }
        }
    /* Merge b into a. */
    h->s0[a] += h->s0[b];
    for (uint32_t d = 0; d < D; d++) {
        h->s1[a * D + d] += h->s1[b * D + d];
        h->s2[a * D + d] += h->s2[b * D + d];
    }
    for (uint32_t j = 0; j < K; j++) {
        h->st[a * K + j] += h->st[b * K + j];
        h->st[b * K + j] = 0.0;
    }
    for (uint32_t j = 0; j < K; j++) {
        h->st[j * K + a] += h->st[j * K + b];
        h->st[j * K + b] = 0.0;
    }
    if (h->s0[a] > 1e-12)
        for (uint32_t d = 0; d < D; d++) {
            const double m = h->s1[a * D + d] / h->s0[a];
            h->means[a * D + d] = m;
            h->vars[a * D + d] = fmax(h->s2[a * D + d] / h->s0[a] - m * m, h->p.min_variance);
        }
    /* b is born from the run: its weight is the run's length over the
     * model's memory, its variance the run's, but no narrower than a
     * third of the way to the nearest state, so it can take in the regime
     * around the run. */
    const double n = (double)h->streak;
    const double memory = fmin((double)h->em_steps + h->p.warmup, h->p.half_life / log(2.0));
    const double w = n / (memory + n);
    for (uint32_t k = 0; k < K; k++) {
        h->s0[k] *= 1.0 - w;
        for (uint32_t d = 0; d < D; d++) {
            h->s1[k * D + d] *= 1.0 - w;
            h->s2[k * D + d] *= 1.0 - w;
        }
        for (uint32_t j = 0; j < K; j++)
            h->st[k * K + j] *= 1.0 - w;
    }
    for (uint32_t d = 0; d < D; d++) {
        const double m = h->streak_sum[d] / n;
        double v = h->streak_sq[d] / n - m * m;
        double gap = HUGE_VAL;
        for (uint32_t k = 0; k < K; k++)
            if (k != b)
                gap = fmin(gap, fabs(m - h->means[k * D + d]));
        v = fmax(fmax(v, (gap / 3.0) * (gap / 3.0)), h->p.min_variance);
        h->means[b * D + d] = m;
        h->vars[b * D + d] = v;
        h->s1[b * D + d] = w * m;
        h->s2[b * D + d] = w * (v + m * m);
    }
    h->s0[b] = w;
    for (uint32_t j = 0; j < K; j++)
        h->st[b * K + j] = w * prior_transition(h, b, j);
    /* ... and every state can move into it, as the prior says, even with no
     * prior weight in the rows (regime.transition_prior_steps = 0). */
    for (uint32_t k = 0; k < K; k++)
        if (k != b)
            h->st[k * K + b] = w * h->s0[k] * prior_transition(h, k, b);
    /* What was b lives on in a. */
    for (uint32_t k = 0; k < K; k++)
        if (h->new_of_old[k] == b)
            h->new_of_old[k] = a;
    transitions_from_stats(h, memory + n);
    /* The run is the new state's: the filter starts there. */
    for (uint32_t k = 0; k < K; k++)
        h->post[k] = k == b ? 1.0 : 0.0;
    h->streak = 0;
    h->births++;
    reorder(h);
    return 1;
}

static void filter_step(cscalp_hmm *h, const double *x)
{
    const uint32_t K = h->K, D = h->D;
    double pred[K_MAX], logb[K_MAX], e[K_MAX];
    for (uint32_t k = 0; k < K; k++) {
        double s = 0.0;
        for (uint32_t j = 0; j < K; j++)
            s += h->post[j] * h->trans[j * K + k];
        pred[k] = s;
        double lb = 0.0;
        for (uint32_t d = 0; d < D; d++) {
            const double v = h->vars[k * D + d], r = x[d] - h->means[k * D + d];
            lb -= 0.5 * (LN_2PI + log(v) + r * r / v);
        }
        logb[k] = lb;
    }
    double top = logb[0];
    for (uint32_t k = 1; k < K; k++)
        top = fmax(top, logb[k]);
    double z = 0.0;
    for (uint32_t k = 0; k < K; k++) {
        e[k] = exp(logb[k] - top);
        z += pred[k] * e[k];
    }
    if (!(z > 0.0) || !isfinite(z)) {
        /* Every state's density underflowed against its prediction (an
         * observation far from all of them): keep the prediction. */
        double s = 0.0;
        for (uint32_t k = 0; k < K; k++)
            s += pred[k];
        for (uint32_t k = 0; k < K; k++)
            h->post[k] = pred[k] / s;
        h->last_ll = -HUGE_VAL;
        return;
    }
    double gamma[K_MAX], xi[K_MAX * K_MAX];
    for (uint32_t k = 0; k < K; k++)
        gamma[k] = pred[k] * e[k] / z;
    if (h->p.learn) {
        for (uint32_t j = 0; j < K; j++)
            for (uint32_t k = 0; k < K; k++)
                xi[j * K + k] = h->post[j] * h->trans[j * K + k] * e[k] / z;
    }
    memcpy(h->post, gamma, K * sizeof *gamma);
    h->last_ll = top + log(z);
    if (h->p.learn)
        em_update(h, gamma, xi, x);
}

int cscalp_hmm_step(cscalp_hmm *h, const double *x)
{
    for (uint32_t d = 0; d < h->D; d++)
        if (!isfinite(x[d]))
            return CSCALP_ENONFINITE;
    for (uint32_t k = 0; k < h->K; k++)
        h->new_of_old[k] = k;
    h->steps++;
    if (!h->ready) {
        memcpy(h->warm + (size_t)h->warm_count * h->D, x, h->D * sizeof *x);
        h->warm_count++;
        if (h->warm_count < h->p.warmup)
            return CSCALP_OK;
        init_from_warmup(h);
        reorder(h);
    }
    if (h->p.learn)
        maybe_birth(h, x);
    filter_step(h, x);
    return CSCALP_OK;
}

int cscalp_hmm_ready(const cscalp_hmm *h) { return h->ready; }
const double *cscalp_hmm_posterior(const cscalp_hmm *h) { return h->post; }
const double *cscalp_hmm_means(const cscalp_hmm *h) { return h->means; }
const double *cscalp_hmm_variances(const cscalp_hmm *h) { return h->vars; }
const double *cscalp_hmm_transition(const cscalp_hmm *h) { return h->trans; }
uint64_t cscalp_hmm_steps(const cscalp_hmm *h) { return h->steps; }
uint64_t cscalp_hmm_reorders(const cscalp_hmm *h) { return h->reorders; }
uint64_t cscalp_hmm_births(const cscalp_hmm *h) { return h->births; }
const uint32_t *cscalp_hmm_moves(const cscalp_hmm *h) { return h->new_of_old; }
double cscalp_hmm_last_log_likelihood(const cscalp_hmm *h) { return h->last_ll; }

uint32_t cscalp_hmm_map_state(const cscalp_hmm *h)
{
    uint32_t best = 0;
    for (uint32_t k = 1; k < h->K; k++)
        if (h->post[k] > h->post[best])
            best = k;
    return best;
}

/* ---------------------------------------------------------- checkpoints */

void cscalp_hmm_save(const cscalp_hmm *h, cscalp_wbuf *w)
{
    const uint32_t K = h->K, D = h->D;
    cscalp_put_u32(w, K);
    cscalp_put_u32(w, D);
    cscalp_put_u32(w, h->p.warmup);
    cscalp_put_u32(w, (uint32_t)h->ready);
    cscalp_put_u64(w, h->steps);
    cscalp_put_u64(w, h->em_steps);
    cscalp_put_u64(w, h->reorders);
    cscalp_put_f64(w, h->last_ll);
    cscalp_put_f64s(w, h->means, (size_t)K * D);
    cscalp_put_f64s(w, h->vars, (size_t)K * D);
    cscalp_put_f64s(w, h->trans, (size_t)K * K);
    cscalp_put_f64s(w, h->post, K);
    cscalp_put_f64s(w, h->s0, K);
    cscalp_put_f64s(w, h->s1, (size_t)K * D);
    cscalp_put_f64s(w, h->s2, (size_t)K * D);
    cscalp_put_f64s(w, h->st, (size_t)K * K);
    cscalp_put_u32(w, h->streak);
    cscalp_put_f64s(w, h->streak_sum, D);
    cscalp_put_f64s(w, h->streak_sq, D);
    cscalp_put_u64(w, h->births);
    cscalp_put_f64s(w, h->v0, D);
    cscalp_put_u32(w, h->warm_count);
    cscalp_put_f64s(w, h->warm, (size_t)h->warm_count * D);
}

static int all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

int cscalp_hmm_load(cscalp_hmm *h, cscalp_rbuf *r, char *why, size_t cap)
{
#define FAIL(...)                                                               \
    do {                                                                        \
        snprintf(why, cap, __VA_ARGS__);                                        \
        return CSCALP_ECORRUPT;                                                 \
    } while (0)
    const uint32_t K = cscalp_get_u32(r), D = cscalp_get_u32(r), warmup = cscalp_get_u32(r);
    if (r->failed || K != h->K || D != h->D || warmup != h->p.warmup)
        FAIL("regime: %u states, %u dimensions, warm-up %u where this engine has %u, %u, %u",
             K, D, warmup, h->K, h->D, h->p.warmup);
    /* Into a copy: the model changes only when everything checks out. */
    cscalp_hmm t = *h;
    const uint32_t ready = cscalp_get_u32(r);
    t.steps = cscalp_get_u64(r);
    t.em_steps = cscalp_get_u64(r);
    t.reorders = cscalp_get_u64(r);
    t.last_ll = cscalp_get_f64(r);
    cscalp_get_f64s(r, t.means, (size_t)K * D);
    cscalp_get_f64s(r, t.vars, (size_t)K * D);
    cscalp_get_f64s(r, t.trans, (size_t)K * K);
    cscalp_get_f64s(r, t.post, K);
    cscalp_get_f64s(r, t.s0, K);
    cscalp_get_f64s(r, t.s1, (size_t)K * D);
    cscalp_get_f64s(r, t.s2, (size_t)K * D);
    cscalp_get_f64s(r, t.st, (size_t)K * K);
    t.streak = cscalp_get_u32(r);
    cscalp_get_f64s(r, t.streak_sum, D);
    cscalp_get_f64s(r, t.streak_sq, D);
    t.births = cscalp_get_u64(r);
    cscalp_get_f64s(r, t.v0, D);
    const uint32_t warm_count = cscalp_get_u32(r);
    if (r->failed)
        FAIL("regime: the section ends early");
    if (ready > 1 || (ready ? warm_count != 0 : warm_count >= warmup) || warm_count > t.steps ||
        (!ready && (warm_count != t.steps || t.em_steps != 0)) || t.em_steps > t.steps)
        FAIL("regime: warm-up state damaged (ready %u, %u of %u observations)", ready,
             warm_count, warmup);
    if (!all_finite(t.means, (size_t)K * D) || !all_finite(t.vars, (size_t)K * D) ||
        !all_finite(t.s1, (size_t)K * D) || !all_finite(t.s2, (size_t)K * D))
        FAIL("regime: a mean, variance or statistic is not finite");
    for (uint32_t i = 0; i < K * D; i++)
        if (!(t.vars[i] > 0.0))
            FAIL("regime: variance %g of state %u is not positive", t.vars[i], i / D);
    for (uint32_t k = 0; k < K; k++)
        if (!row_ok(t.trans + (size_t)k * K, K) || !(t.s0[k] >= 0.0) || !isfinite(t.s0[k]))
            FAIL("regime: transition row or weight of state %u damaged", k);
    for (uint32_t i = 0; i < K * K; i++)
        if (!(t.st[i] >= 0.0) || !isfinite(t.st[i]))
            FAIL("regime: transition statistic %u damaged", i);
    if (!row_ok(t.post, K))
        FAIL("regime: the posterior does not sum to 1");
    for (uint32_t d = 0; d < D; d++)
        if (!(t.v0[d] >= 0.0) || !isfinite(t.v0[d]))
            FAIL("regime: prior variance %u damaged", d);
    if (t.streak >= BIRTH_STEPS || !all_finite(t.streak_sum, D) || !all_finite(t.streak_sq, D))
        FAIL("regime: the run of outliers is damaged (%u observations)", t.streak);
    if (!(isnan(t.last_ll) || isfinite(t.last_ll) || t.last_ll == -HUGE_VAL))
        FAIL("regime: last log-likelihood damaged");
    t.ready = (int)ready;
    t.warm_count = warm_count;
    cscalp_get_f64s(r, h->warm, (size_t)warm_count * D);
    if (r->failed || !all_finite(h->warm, (size_t)warm_count * D))
        FAIL("regime: warm-up observations damaged");
    *h = t;
    return CSCALP_OK;
#undef FAIL
}
