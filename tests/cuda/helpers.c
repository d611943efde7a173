#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_test.h"

tp_cuda *gpu;
int skipped;

/* What release() frees; a test holds a few dozen buffers. */
static struct {
	void *p;
	int on_device;
} held[128];
static int nheld;

static void *
hold(void *p, int on_device)
{
	ck_assert_msg(p != NULL, "out of memory");
	ck_assert_msg(nheld < (int)(sizeof(held) / sizeof(held[0])),
	    "a test holds too many buffers");
	held[nheld].p = p;
	held[nheld].on_device = on_device;
	nheld++;
	return p;
}

void
release(void)
{
	for (int i = 0; i < nheld; i++)
		if (held[i].on_device)
			tp_cuda_free(held[i].p);
		else
			free(held[i].p);
	nheld = 0;
}

float *
host_randn(size_t n, tp_rng *r, float scale)
{
	float *p = hold(malloc(n * sizeof(float)), 0);

	for (size_t i = 0; i < n; i++)
		p[i] = scale * (float)tp_rng_normal(r);
	return p;
}

void *
host_copy(const void *src, size_t bytes)
{
	return memcpy(hold(malloc(bytes), 0), src, bytes);
}

void *
dev_copy(const void *src, size_t bytes)
{
	tp_err e = {0};
	void *p = NULL;

	ck_assert_msg(tp_cuda_alloc(gpu, &p, bytes, "a test buffer", &e) ==
	    TP_OK, "%s", e.msg);
	hold(p, 1);
	ck_assert_msg(tp_cuda_upload(gpu, p, src, bytes, &e) == TP_OK, "%s",
	    e.msg);
	return p;
}

double
rel_err(const float *got, const float *want, size_t n, size_t *where)
{
	double scale = 0, worst = 0;

	*where = 0;
	for (size_t i = 0; i < n; i++)
		if (fabs(want[i]) > scale)
			scale = fabs(want[i]);
	scale = scale > 0 ? scale / 10 : 1e-30;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - want[i]);
		double r = d / fmax(fabs(want[i]), scale);
		if (!(r <= worst)) {
			worst = r;
			*where = i;
		}
	}
	return worst;
}

void
check_close(const float *dev, const float *want, size_t n, const char *what)
{
	check_close_tol(dev, want, n, TOL, what);
}

void
check_close_tol(const float *dev, const float *want, size_t n, double tol,
    const char *what)
{
	float *got = hold(malloc(n * sizeof(float) + 1), 0);
	tp_err e = {0};
	size_t at;

	ck_assert_msg(tp_cuda_download(gpu, got, dev, n * sizeof(float), &e) ==
	    TP_OK, "%s: %s", what, e.msg);
	double err = rel_err(got, want, n, &at);
	ck_assert_msg(err < tol, "%s: relative error %g at element %zu: GPU "
	    "%.9g, CPU %.9g", what, err, at, (double)got[at], (double)want[at]);
}

void
check_scalar(float got, float want, double tol, const char *what)
{
	size_t at;

	ck_assert_msg(rel_err(&got, &want, 1, &at) < tol,
	    "%s: GPU %.9g, CPU %.9g", what, (double)got, (double)want);
}
