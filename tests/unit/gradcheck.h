/*
 * gradcheck: finite-difference checks of backward passes, shared by the
 * layer and model suites.
 *
 * A scalar loss L(x) is perturbed by +-eps in each element of x; the
 * central difference (L(x + eps) - L(x - eps)) / 2 eps is compared with the
 * analytic gradient. In float32 with eps = 1e-3 the difference itself is
 * good to about 1e-3 of the loss's scale, so the check passes when
 * |numeric - analytic| <= TOL * max(|numeric|, |analytic|, FLOOR). The
 * floor bounds what rounding does to small gradients: the loss of a layer
 * test sums some hundred float outputs of size 1 to 4, each rounded to
 * about 2e-7, and dividing their noise by 2 eps leaves about 3e-4 on the
 * numeric gradient, whichever order the layer sums in; gradients under
 * FLOOR are held to TOL * FLOOR = 4e-4 in absolute terms.
 */
#ifndef TP_GRADCHECK_H
#define TP_GRADCHECK_H

#include <stddef.h>

#define GRADCHECK_EPS 1e-3f
#define GRADCHECK_TOL 2e-2
#define GRADCHECK_FLOOR 2e-2

/* The loss at the current x, from ctx. */
typedef double (*loss_fn)(void *ctx);

/* Returns the largest scaled error over x's elements, where says which;
 * NaN (which no tolerance admits) when an analytic or a numeric gradient
 * is NaN. */
double gradcheck(loss_fn loss, void *ctx, float *x, size_t n,
    const float *analytic, size_t *where);

#endif
