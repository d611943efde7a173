#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/stats.h"

/* Scaling by 2^128 keeps the products of many small or large factors in
 * range; the exponent is kept apart and put back at the end. */
#define E128 128
#define P128 0x1p128
#define M128 0x1p-128

static double
clip01(double p)
{
	return p < 0 ? 0 : p > 1 ? 1 : p;
}

/* P(a, x) by its power series, good for x < a + 1 (Numerical Recipes,
 * 6.2.5): exp(-x) x^a / Gamma(a) sum x^n / (a (a+1) ... (a+n)). */
static double
gamma_p_series(double a, double x)
{
	double term = 1 / a, sum = term;

	for (int n = 1; n < 100000; n++) {
		term *= x / (a + n);
		sum += term;
		if (fabs(term) < fabs(sum) * DBL_EPSILON)
			break;
	}
	return sum * exp(a * log(x) - x - lgamma(a));
}

/* Q(a, x) by its continued fraction, good for x >= a + 1, evaluated with
 * the modified Lentz method (Numerical Recipes, 6.2.7). */
static double
gamma_q_fraction(double a, double x)
{
	const double tiny = DBL_MIN / DBL_EPSILON;
	double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;

	for (int i = 1; i < 100000; i++) {
		double an = -i * (i - a), del;
		b += 2;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < DBL_EPSILON)
			break;
	}
	return exp(a * log(x) - x - lgamma(a)) * h;
}

double
tp_stats_gamma_q(double a, double x)
{
	if (!(a > 0) || !(x >= 0))
		return NAN;
	if (x == 0)
		return 1;
	if (isinf(x))
		return 0;
	/* Each form where it converges fast; Q = 1 - P is no loss there,
	 * as Q is not small for x < a + 1. */
	if (x < a + 1)
		return 1 - gamma_p_series(a, x);
	return gamma_q_fraction(a, x);
}

double
tp_stats_chi2_sf(double x, double df)
{
	if (!(df > 0) || isnan(x))
		return NAN;
	if (x <= 0)
		return 1;
	return tp_stats_gamma_q(df / 2, x / 2);
}

double
tp_stats_smirnov(long n, double x)
{
	if (n <= 0 || !(x >= 0 && x <= 1))
		return NAN;
	if (x == 0)
		return 1;
	if (x == 1)
		return 0;
	/* Birnbaum and Tingey (1951): sum over v <= n (1 - x) of
	 * C(n, v) x (x + v/n)^(v-1) (1 - x - v/n)^(n-v). Every term is
	 * positive, so the sum in logarithms loses nothing to cancellation. */
	double nd = (double)n, lx = log(x), lfn = lgamma(nd + 1), p = 0;
	long last = (long)floor(nd * (1 - x));
	for (long v = 0; v <= last && v <= n; v++) {
		double evn = x + v / nd, omevn = 1 - evn;
		if (!(omevn > 0)) {
			if (v == n) /* (1 - evn)^0 */
				p += exp(lx + (v - 1) * log(evn));
			continue;
		}
		double t = lfn - lgamma(v + 1.0) - lgamma(nd - v + 1) + lx +
		    (v - 1) * log(evn) + (nd - v) * log(omevn);
		p += exp(t);
	}
	return clip01(p);
}

/* Pr(D_n <= d) by the Durbin matrix, as Marsaglia, Tsang and Wang (2003)
 * compute it: d = (k - h) / n, the k-th diagonal entry of H^n times
 * n! / n^n, with H of size 2k - 1. */
static double
kolmogorov_durbin(long n, double d)
{
	double nd = n * d;
	if (d >= 1)
		return 1;
	if (nd <= 0.5)
		return 0;
	int k = (int)ceil(nd), m = 2 * k - 1;
	double h = k - nd, fac = 1, p;
	size_t mm = (size_t)m * (size_t)m;
	double *buf = calloc(4 * mm + 2 * (size_t)m, sizeof(double));
	if (buf == NULL)
		return NAN;
	double *H = buf, *P = buf + mm, *T = buf + 2 * mm, *S = buf + 3 * mm;
	double *v = buf + 4 * mm, *w = v + m;
	long nn = n;
	int expnt = 0, hexpnt = 0;

	for (int j = 1; j <= m; j++) {
		w[j - 1] = fac;
		fac /= j;
		v[j - 1] = (1 - pow(h, j)) * fac;
	}
	double tt = pow(fmax(2 * h - 1, 0), m) - 2 * pow(h, m);
	v[m - 1] = (1 + tt) * fac;
	for (int i = 1; i < m; i++)
		for (int r = i - 1; r < m; r++)
			H[r * m + i] = w[r - (i - 1)];
	for (int r = 0; r < m; r++)
		H[r * m] = v[r];
	for (int c = 0; c < m; c++)
		H[(m - 1) * m + c] = v[m - 1 - c];
	for (int r = 0; r < m; r++)
		P[r * m + r] = 1;

	/* Powers by squaring; S = A B into T, then copied back. */
	while (nn > 0) {
		if (nn % 2) {
			for (int r = 0; r < m; r++)
				for (int c = 0; c < m; c++) {
					double s = 0;
					for (int q = 0; q < m; q++)
						s += P[r * m + q] * H[q * m + c];
					T[r * m + c] = s;
				}
			memcpy(P, T, mm * sizeof(double));
			expnt += hexpnt;
		}
		for (int r = 0; r < m; r++)
			for (int c = 0; c < m; c++) {
				double s = 0;
				for (int q = 0; q < m; q++)
					s += H[r * m + q] * H[q * m + c];
				S[r * m + c] = s;
			}
		memcpy(H, S, mm * sizeof(double));
		hexpnt *= 2;
		if (fabs(H[(k - 1) * m + (k - 1)]) > P128) {
			for (size_t i = 0; i < mm; i++)
				H[i] /= P128;
			hexpnt += E128;
		}
		nn /= 2;
	}
	p = P[(k - 1) * m + (k - 1)];
	free(buf);
	for (long i = 1; i <= n; i++) {
		p = i * p / n;
		if (fabs(p) < M128) {
			p *= P128;
			expnt -= E128;
		}
	}
	return ldexp(p, expnt);
}

/* The band of row i of the Pomeranz recursion, as [*j1, *j2]. */
static void
pomeranz_band(long i, long n, long ll, int ceilf, int roundf, long *j1,
    long *j2)
{
	long a, b;

	if (i == 0) {
		a = -ll - ceilf - 1;
		b = ll + ceilf - 1;
	} else {
		long half = (i + 1) / 2;
		if ((i + 1) % 2 == 0) {
			if (half == n + 1) {
				a = n - ll - ceilf - 1;
				b = n + ll + ceilf - 1;
			} else {
				a = half - 1 - ll - roundf - 1;
				b = half + ll - 1 + ceilf - 1;
			}
		} else {
			a = half - 1 - ll - 1;
			b = half + ll + roundf - 1;
		}
	}
	*j1 = a + 2 > 0 ? a + 2 : 0;
	*j2 = b < n ? b : n;
}

/* Pr(D_n <= x) by the recursion of Pomeranz (1974): each row is the
 * previous one convolved with (almost) Poisson probabilities. */
static double
kolmogorov_pomeranz(long n, double x)
{
	double t = n * x;
	long ll = (long)floor(t);
	double f = t - ll, g = fmin(f, 1 - f);
	int ceilf = f > 0, roundf = f > 0.5, expnt = 0;
	long npwrs = 2 * (ll + 1), j1, j2, v0s = 0, v1s = 0;
	double *buf = calloc(5 * (size_t)npwrs, sizeof(double));
	if (buf == NULL)
		return NAN;
	double *gp = buf, *g2p = gp + npwrs, *g12p = g2p + npwrs;
	double *V0 = g12p + npwrs, *V1 = V0 + npwrs;
	double gn = g / n, g2n = 2 * g / n, g12n = (1 - 2 * g) / n;

	gp[0] = g2p[0] = g12p[0] = 1;
	for (long m = 1; m < npwrs; m++) {
		gp[m] = gp[m - 1] * gn / m;
		g2p[m] = g2p[m - 1] * g2n / m;
		g12p[m] = g12p[m - 1] * g12n / m;
	}
	V1[0] = 1;
	pomeranz_band(0, n, ll, ceilf, roundf, &j1, &j2);
	for (long i = 1; i < 2 * n + 2; i++) {
		long k1 = j1, s;
		double *tmp = V0;
		V0 = V1;
		V1 = tmp;
		s = v0s;
		v0s = v1s;
		v1s = s;
		memset(V1, 0, (size_t)npwrs * sizeof(double));
		pomeranz_band(i, n, ll, ceilf, roundf, &j1, &j2);
		const double *pw = i == 1 || i == 2 * n + 1 ? gp : i % 2 ? g2p : g12p;
		long ln2 = j2 - k1 + 1;
		if (ln2 <= 0)
			continue;
		long off = k1 - v0s, la = ln2, lb = ln2;
		if (off + la > npwrs)
			la = npwrs - off;
		if (lb > npwrs)
			lb = npwrs;
		long cstart = j1 - k1, clen = j2 - j1 + 1;
		double vmax = 0;
		for (long c = 0; c < clen; c++) {
			long kk = cstart + c;
			double sum = 0;
			for (long a = kk - lb + 1 > 0 ? kk - lb + 1 : 0;
			    a < la && a <= kk; a++)
				sum += V0[off + a] * pw[kk - a];
			V1[c] = sum;
			if (sum > vmax)
				vmax = sum;
		}
		if (vmax > 0 && vmax < M128) {
			for (long c = 0; c < npwrs; c++)
				V1[c] *= P128;
			expnt -= E128;
		}
		v1s = v0s + j1 - k1;
	}
	double ans = V1[n - v1s];
	free(buf);
	for (long m = 1; m <= n; m++) {
		if (fabs(ans) > P128) {
			ans *= M128;
			expnt += E128;
		}
		ans *= m;
	}
	return ldexp(ans, expnt);
}

/* Pr(D_n <= x) by the approximation of Pelz and Good (1976): the
 * Li-Chien and Korolyuk expansion in 1/sqrt(n), its terms rewritten
 * through Jacobi theta functions so that they converge for small z. */
static double
kolmogorov_pelz_good(long n, double x)
{
	const double pi2 = M_PI * M_PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
	const double sqrt2pi = sqrt(2 * M_PI);
	double z = sqrt((double)n) * x;
	double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
	double qlog = -pi2 / 8 / z2, q, K[4] = {0, 0, 0, 0};

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	if (qlog < -708)
		return 0;
	q = exp(qlog);
	double k1a = -z2, k1b = pi2 / 4;
	double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4;
	double k2c = pi4 * (1 - 2 * z2) / 16;
	double k3d = pi6 * (5 - 30 * z2) / 64;
	double k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
	double k3b = pi2 * (135 * z4 - 96 * z6) / 4;
	double k3a = -30 * z6 - 90 * pow(z, 8);
	int maxk = (int)ceil(16 * z / M_PI);

	/* Horner over the odd integers m = 2k - 1 of sum c_m q^(m^2). */
	for (int k = maxk; k > 0; k--) {
		double m = 2 * k - 1, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
		double qp = pow(q, 8 * k);
		double c[4] = {1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
		    k3a + k3b * m2 + k3c * m4 + k3d * m6};
		for (int i = 0; i < 4; i++)
			K[i] = K[i] * qp + c[i];
	}
	double div[4] = {z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)};
	for (int i = 0; i < 4; i++)
		K[i] = K[i] * q * sqrt2pi / div[i];
	/* The terms over all integers k of K_2 and K_3. */
	q = exp(-pi2 / 2 / z2);
	double s2 = 0, s3 = 0, sqrt3z = sqrt(3.0) * z;
	for (int k = maxk; k > 0; k--) {
		double k2 = (double)k * k, kpi = M_PI * k, qk = pow(q, k2);
		s2 += k2 * qk;
		s3 += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qk;
	}
	K[2] += s2 * pi2 * sqrt2pi / (-36 * z3);
	K[3] += s3 * pi2 * sqrt2pi / (216 * z6);
	double sum = 0;
	for (int i = 0; i < 4; i++)
		sum += K[i] / pow((double)n, i / 2.0);
	return sum;
}

double
tp_stats_kolmogorov_sf(long n, double x)
{
	double t, nx2, p;

	if (n <= 0 || isnan(x))
		return NAN;
	if (x >= 1)
		return 0;
	if (x <= 0)
		return 1;
	/* The choice of method of Simard and L'Ecuyer (2011), with SciPy's
	 * bounds. */
	t = n * x;
	if (t <= 1) { /* Ruben and Gambino: 1/2n <= x <= 1/n */
		if (t <= 0.5)
			return 1;
		if (n <= 140) {
			p = 1;
			for (long i = 1; i <= n; i++)
				p *= i * (1.0 / n) * (2 * t - 1);
		} else {
			p = exp(lgamma(n + 1.0) - n * log((double)n) +
			    n * log(2 * t - 1));
		}
		return clip01(1 - p);
	}
	if (t >= n - 1) /* Ruben and Gambino */
		return clip01(2 * pow(1 - x, (double)n));
	if (x >= 0.5) /* D+ and D- cannot both be that large */
		return clip01(2 * tp_stats_smirnov(n, x));
	nx2 = t * x;
	if (n <= 140) {
		if (nx2 <= 0.754693)
			return clip01(1 - kolmogorov_durbin(n, x));
		if (nx2 <= 4)
			return clip01(1 - kolmogorov_pomeranz(n, x));
		return clip01(2 * tp_stats_smirnov(n, x));
	}
	if (nx2 >= 370)
		return 0;
	if (nx2 >= 2.2)
		return clip01(2 * tp_stats_smirnov(n, x));
	if (n <= 100000 && n * pow(x, 1.5) <= 1.4)
		return clip01(1 - kolmogorov_durbin(n, x));
	return clip01(1 - kolmogorov_pelz_good(n, x));
}

/* For n1 == n2 = n: the share of paths that reach |x - y| >= h, by the
 * reflection principle (Hodges 1958). */
static double
ks_outside_square(long n, long h)
{
	double P = 0;

	for (long k = n / h; k >= 0; k--) {
		double p1 = 1;
		for (long j = 0; j < h; j++)
			p1 = (double)(n - k * h - j) * p1 / (double)(n + k * h + j + 1);
		P = p1 * (1 - P);
	}
	return 2 * P;
}

double
tp_stats_ks_2samp_exact(long n1, long n2, long h)
{
	long m = n1 > n2 ? n1 : n2, n = n1 > n2 ? n2 : n1;
	long a = m, b = n;

	if (h <= 0)
		return 1;
	if (n1 == n2)
		return ks_outside_square(n1, h);
	while (b != 0) {
		long r = a % b;
		a = b;
		b = r;
	}
	long g = a, mg = m / g, ng = n / g;
	/* The "inside" method of Hodges, changed as Viehmann (2021) shows to
	 * carry 1 - (share of paths inside) column by column, which stays in
	 * [0, 1] where the path counts would overflow. A keeps a sliding
	 * window of the current column. */
	long minj = 0, maxj = (long)ceil((double)h / mg), curlen;
	if (maxj > n + 1)
		maxj = n + 1;
	curlen = maxj - minj;
	double *A = malloc((size_t)(n + 2) * sizeof(double));
	if (A == NULL)
		return -1;
	for (long j = 0; j < n + 2; j++)
		A[j] = j < maxj ? 0 : 1;
	for (long i = 1; i <= m; i++) {
		long lastminj = minj, lastlen = curlen;
		minj = (long)floor((double)(ng * i - h) / mg) + 1;
		if (minj < 0)
			minj = 0;
		if (minj > n)
			minj = n;
		maxj = (long)ceil((double)(ng * i + h) / mg);
		if (maxj > n + 1)
			maxj = n + 1;
		if (maxj <= minj) {
			free(A);
			return 1;
		}
		double val = minj == 0 ? 0 : 1;
		for (long jj = 0; jj < maxj - minj; jj++) {
			long j = jj + minj;
			val = (A[jj + minj - lastminj] * i + val * j) / (double)(i + j);
			A[jj] = val;
		}
		curlen = maxj - minj;
		for (long jj = curlen; jj < lastlen; jj++)
			A[jj] = 1;
	}
	double p = A[maxj - minj - 1];
	free(A);
	return isfinite(p) && p >= 0 && p <= 1 ? p : -1;
}

void
tp_stats_ks_2samp(const double *a, size_t n1, const double *b, size_t n2,
    tp_ks_result *r)
{
	double maxs = -INFINITY, mins = INFINITY, d;
	size_t i = 0, j = 0;

	/* The empirical distribution functions compared right after each
	 * value of either sample, as searchsorted(side='right') does. */
	while (i < n1 || j < n2) {
		double v = i < n1 && (j >= n2 || a[i] <= b[j]) ? a[i] : b[j];
		while (i < n1 && a[i] == v)
			i++;
		while (j < n2 && b[j] == v)
			j++;
		double diff = (double)i / n1 - (double)j / n2;
		if (diff > maxs)
			maxs = diff;
		if (diff < mins)
			mins = diff;
	}
	mins = clip01(-mins);
	d = mins > maxs ? mins : maxs;
	tp_stats_ks_2samp_p(d, n1, n2, r);
}

void
tp_stats_ks_2samp_p(double d, size_t n1, size_t n2, tp_ks_result *r)
{
	r->exact = 0;
	if (n1 <= TP_STATS_KS_EXACT_MAX && n2 <= TP_STATS_KS_EXACT_MAX) {
		size_t x = n1, y = n2;
		while (y != 0) {
			size_t t = x % y;
			x = y;
			y = t;
		}
		double lcm = (double)(n1 / x) * (double)n2;
		long h = (long)nearbyint(d * lcm);
		double p = tp_stats_ks_2samp_exact((long)n1, (long)n2, h);
		if (p >= 0) {
			r->d = h / lcm;
			r->p = p;
			r->exact = 1;
			return;
		}
	}
	double m = (double)(n1 > n2 ? n1 : n2), n = (double)(n1 > n2 ? n2 : n1);
	r->d = d;
	r->p = clip01(tp_stats_kolmogorov_sf((long)nearbyint(m * n / (m + n)), d));
}

double
tp_stats_jensenshannon(const double *p, const double *q, size_t k)
{
	double sp = 0, sq = 0, left = 0, right = 0;

	for (size_t i = 0; i < k; i++) {
		sp += p[i];
		sq += q[i];
	}
	if (!(sp > 0) || !(sq > 0))
		return NAN;
	for (size_t i = 0; i < k; i++) {
		double a = p[i] / sp, b = q[i] / sq, m = (a + b) / 2;
		/* 0 log 0 = 0, as scipy.special.rel_entr has it. */
		if (a > 0)
			left += a * log(a / m);
		if (b > 0)
			right += b * log(b / m);
	}
	double js = (left + right) / log(2.0);
	return sqrt(fmax(js, 0) / 2);
}

double
tp_stats_psi(const double *expected, const double *actual, size_t k,
    double eps)
{
	double se = 0, sa = 0, psi = 0;

	for (size_t i = 0; i < k; i++) {
		se += expected[i];
		sa += actual[i];
	}
	if (!(se > 0) || !(sa > 0))
		return NAN;
	for (size_t i = 0; i < k; i++) {
		double e = expected[i] / se, a = actual[i] / sa;
		if (e == 0)
			e = eps;
		if (a == 0)
			a = eps;
		psi += (a - e) * log(a / e);
	}
	return psi;
}

void
tp_stats_chi2_homogeneity(const double *a, const double *b, size_t k,
    double *chi2, double *p, int *dof)
{
	double ra = 0, rb = 0, stat = 0;
	size_t cols = 0;

	for (size_t i = 0; i < k; i++)
		if (a[i] + b[i] > 0) {
			ra += a[i];
			rb += b[i];
			cols++;
		}
	*dof = cols > 1 ? (int)cols - 1 : 0;
	if (cols < 2) {
		*chi2 = 0;
		*p = 1;
		return;
	}
	if (!(ra > 0) || !(rb > 0)) {
		*chi2 = *p = NAN;
		return;
	}
	double total = ra + rb;
	for (size_t i = 0; i < k; i++) {
		double c = a[i] + b[i];
		if (c == 0)
			continue;
		double ea = ra * c / total, eb = rb * c / total;
		stat += (a[i] - ea) * (a[i] - ea) / ea +
		    (b[i] - eb) * (b[i] - eb) / eb;
	}
	*chi2 = stat;
	*p = tp_stats_chi2_sf(stat, *dof);
}

double
tp_stats_quantile(const double *sorted, size_t n, double q)
{
	if (n == 0)
		return NAN;
	double pos = q * (double)(n - 1), lo = floor(pos), t = pos - lo;
	size_t i = (size_t)lo, j = i + 1 < n ? i + 1 : n - 1;
	double a = sorted[i], b = sorted[j], diff = b - a;
	/* numpy's lerp: from the nearer end, so that t = 1 gives b exactly. */
	return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}
