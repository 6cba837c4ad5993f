#include "l2_book.h"

#include <stdlib.h>
#include <string.h>

#define L2_INITIAL_CAP 1024

static l2_side *side_of(l2_book *book, int side)
{
    return side == CSCALP_SIDE_BUY ? &book->bids : &book->asks;
}

static const l2_side *side_of_const(const l2_book *book, int side)
{
    return side == CSCALP_SIDE_BUY ? &book->bids : &book->asks;
}

void l2_book_init(l2_book *book)
{
    memset(book, 0, sizeof *book);
    book->bids.is_bid = 1;
}

void l2_book_free(l2_book *book)
{
    free(book->bids.levels);
    free(book->asks.levels);
    l2_book_init(book);
}

void l2_book_clear(l2_book *book)
{
    book->bids.count = 0;
    book->asks.count = 0;
}

/* True when price `a` is a worse level than `b` on this side. */
static int worse(const l2_side *s, double a, double b)
{
    return s->is_bid ? a < b : a > b;
}

/* Index of the first level not worse than `price` (where it is or would go). */
static size_t lower_bound(const l2_side *s, double price)
{
    size_t lo = 0;
    size_t hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (worse(s, s->levels[mid].price, price))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int reserve_one(l2_side *s)
{
    if (s->count < s->cap)
        return 0;
    size_t cap = s->cap ? s->cap * 2 : L2_INITIAL_CAP;
    cscalp_level *grown = realloc(s->levels, cap * sizeof *grown);
    if (!grown)
        return -1;
    s->levels = grown;
    s->cap = cap;
    return 0;
}

int l2_book_set(l2_book *book, int side, double price, double size)
{
    l2_side *s = side_of(book, side);
    size_t i = lower_bound(s, price);
    int found = i < s->count && s->levels[i].price == price;
    size_t tail = s->count - i;

    if (size == 0.0) {
        if (found) {
            memmove(&s->levels[i], &s->levels[i + 1], (tail - 1) * sizeof *s->levels);
            s->count--;
        }
        return 0;
    }
    if (found) {
        s->levels[i].size = size;
        return 0;
    }
    if (reserve_one(s) != 0)
        return -1;
    memmove(&s->levels[i + 1], &s->levels[i], tail * sizeof *s->levels);
    s->levels[i].price = price;
    s->levels[i].size = size;
    s->count++;
    return 0;
}

size_t l2_book_depth(const l2_book *book, int side)
{
    return side_of_const(book, side)->count;
}

size_t l2_book_copy(const l2_book *book, int side, cscalp_level *out,
                    size_t cap)
{
    const l2_side *s = side_of_const(book, side);
    size_t n = s->count < cap ? s->count : cap;
    for (size_t k = 0; k < n; k++)
        out[k] = s->levels[s->count - 1 - k];
    return n;
}
