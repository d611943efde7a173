/*
 * gradcheck: finite-difference checks of backward passes, shared by the
 * layer and model suites.
 *
 * A scalar loss L(x) is perturbed by +-eps in each element of x; the
 * central difference (L(x + eps) - L(x - eps)) / 2 eps is compared with the
 * analytic gradient. In float32 with eps = 1e-3 the difference itself is
 * good to about 1e-3 of the loss's scale, so the check passes when
 * |numeric - analytic| <= TOL * max(|numeric|, |analytic|, FLOOR).
 */
#ifndef TP_GRADCHECK_H
#define TP_GRADCHECK_H

#include <stddef.h>

#define GRADCHECK_EPS 1e-3f
#define GRADCHECK_TOL 2e-2
#define GRADCHECK_FLOOR 1e-2

/* The loss at the current x, from ctx. */
typedef double (*loss_fn)(void *ctx);

/* Returns the largest scaled error over x's elements; where says which. */
double gradcheck(loss_fn loss, void *ctx, float *x, size_t n,
    const float *analytic, size_t *where);

#endif
