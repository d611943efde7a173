/*
 * sample: the small encoding and data that several suites build a model
 * on: two categorical features (c0 of a, b, c; c1 of x, y), two numeric
 * ones (n0, n1) and a target y whose positive value is "bad".
 */
#ifndef TP_SAMPLE_H
#define TP_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "data/encoding.h"
#include "data/stream.h"

void sample_encoding(tp_encoding *enc);

/* n rows of sample_encoding's shape drawn from seed, ids 1 to n, about
 * a tenth of n1 missing, labelled 1 mostly when n0 is high or c0 is b: a
 * signal that a model learns in a few epochs, with noise. */
void sample_rows(tp_batch *b, size_t n, uint64_t seed);

#endif
