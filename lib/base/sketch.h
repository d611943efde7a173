/*
 * sketch: the distribution of a float quantity (a model's probabilities, a
 * feature's values) by class, in memory bounded by a number of bins, not
 * by the values; sketches of parts merge into the sketch of the whole.
 *
 * A value's key is its float's bits made monotone (keys sort as the
 * values do; -0 is 0), shifted right by the sketch's level. A bin is a key
 * with its count of values in each class and the least of its values. At
 * level 0 a bin is one value, and the sketch is exact: the distinct values
 * and their counts. When a value would make more than max bins, the level
 * goes up by one, and bins two by two become one, until max or fewer are
 * left: a bin of level L spans 2^L adjacent floats, a relative width of at
 * most 2^(L - 23) of its values. The level a sketch ends at is the least
 * at which its values fit in max bins, whatever their order: the sketches
 * of the parts of a data set, merged, are the sketch of the whole, bin for
 * bin.
 *
 * Every bin is an interval of values that no other bin overlaps, so a
 * threshold at a bin's least value splits the values exactly: the counts
 * at or above it are those of that bin and the bins above. What a sketch
 * cannot tell is the order of values inside a bin; the measures made of
 * it (quality/evaluate.h, data/profile.h, quality/drift.h) say what that
 * costs them, and give 0 for a sketch of level 0.
 *
 * Text form (tabpipe-partial(5)): "max level n" and then, a bin each, by
 * increasing key, " key least count0 count1 count2" in decimal, the least
 * value as its monotone bits.
 */
#ifndef TP_SKETCH_H
#define TP_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum { TP_SKETCH_CLASSES = 3 }; /* counts by class 0, 1 and 2 */

typedef struct {
	uint32_t key;          /* the values' monotone bits >> level */
	uint32_t least;        /* the least value's monotone bits */
	uint64_t count[TP_SKETCH_CLASSES];
} tp_sketch_bin;

typedef struct {
	tp_sketch_bin *bin;    /* (n) in no order, until tp_sketch_sort */
	size_t n, alloc;
	uint32_t *slot;        /* (nslots) a bin's index + 1, 0 when empty */
	size_t nslots;         /* a power of two, above 2 max */
	size_t max;            /* bins held at most */
	int level;
} tp_sketch;

/* An empty sketch of at most max (2 or more) bins. */
int tp_sketch_init(tp_sketch *s, size_t max, tp_err *e);
void tp_sketch_free(tp_sketch *s); /* accepts a zeroed s */

/* Counts x (not NaN) count times in class cls. */
int tp_sketch_add(tp_sketch *s, float x, int cls, uint64_t count, tp_err *e);
/* Adds from's bins to into's; both of the same max (TP_EUSAGE if not). */
int tp_sketch_merge(tp_sketch *into, const tp_sketch *from, tp_err *e);
/* Brings s to level (not below its own), as if made there. */
int tp_sketch_coarsen(tp_sketch *s, int level, tp_err *e);
/* Sorts the bins by increasing value; s takes values again after. */
void tp_sketch_sort(tp_sketch *s);

/* A value's monotone bits, and the float whose monotone bits are u (a
 * bin's least value). */
uint32_t tp_sketch_bits(float x);
float tp_sketch_value(uint32_t u);
/* A bin's count over the classes. */
uint64_t tp_sketch_total(const tp_sketch_bin *b);

/* The text form, to free; NULL on no memory. */
char *tp_sketch_format(const tp_sketch *s);
/* Reads the text form into s (initialised here); TP_EDATA, saying what
 * was wrong, when text is not one. */
int tp_sketch_parse(tp_sketch *s, const char *text, tp_err *e);

#endif
