#include <math.h>

#include "gradcheck.h"

double
gradcheck(loss_fn loss, void *ctx, float *x, size_t n, const float *analytic,
    size_t *where)
{
	double worst = 0;

	*where = 0;
	for (size_t i = 0; i < n; i++) {
		float keep = x[i];
		x[i] = keep + GRADCHECK_EPS;
		double up = loss(ctx);
		x[i] = keep - GRADCHECK_EPS;
		double down = loss(ctx);
		x[i] = keep;
		double num = (up - down) / (2.0 * GRADCHECK_EPS);
		double scale = fmax(fmax(fabs(num), fabs((double)analytic[i])),
		    GRADCHECK_FLOOR);
		double err = fabs(num - (double)analytic[i]) / scale;
		/* A NaN on either side is the check failing, not an error too
		 * small to count: it is returned at once. */
		if (isnan(err)) {
			*where = i;
			return err;
		}
		if (err > worst) {
			worst = err;
			*where = i;
		}
	}
	return worst;
}
