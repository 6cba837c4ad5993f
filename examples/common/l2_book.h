/*
 * l2_book.h — full-depth price-level book (one sorted array per side).
 *
 * A Binance snapshot holds 1000 levels a side and diffs add far-away levels,
 * so a side grows to thousands of levels. Each side is a sorted array found
 * by binary search, stored worst level first: almost every update touches
 * the top of the book, which then sits at the end of the array and moves
 * little memory on insert and delete.
 */
#ifndef L2_BOOK_H
#define L2_BOOK_H

#include <stddef.h>

#include "cryptoscalp.h"

typedef struct l2_side {
    cscalp_level *levels; /**< worst first, best at levels[count - 1] */
    size_t count;
    size_t cap;
    int is_bid;
} l2_side;

typedef struct l2_book {
    l2_side bids;
    l2_side asks;
} l2_book;

/** An empty book (allocates nothing). */
void l2_book_init(l2_book *book);

/** Release the book's memory; the book is then empty and reusable. */
void l2_book_free(l2_book *book);

/** Remove every level (keeps the memory). */
void l2_book_clear(l2_book *book);

/** Set the size at `price` on `side` (CSCALP_SIDE_BUY: bids, else asks);
 *  size 0 removes the level. Returns 0, or -1 when out of memory (the book
 *  is unchanged). */
int l2_book_set(l2_book *book, int side, double price, double size);

/** Levels on `side`. */
size_t l2_book_depth(const l2_book *book, int side);

/** Copy up to `cap` levels of `side`, best first; returns how many. */
size_t l2_book_copy(const l2_book *book, int side, cscalp_level *out,
                    size_t cap);

#endif /* L2_BOOK_H */
