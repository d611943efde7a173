/*
 * layers: the time of the encoder's own layers, without the matrix
 * products, on one thread; the C side of bench/layers.sh.
 *
 *   layers [T] [REPS]
 *
 * prints "layer microseconds" lines: per row of a worker's 128-row slice
 * of a 256-row batch, at the default model's sizes (d_model 32, 4 heads,
 * d_ff 64, dropout 0.1) and T tokens (22, lending_club's), the fastest of
 * REPS repeats (default 15) of 20 calls each: the host's noise only ever
 * slows a call, so the fastest is the layer's own time.
 */
#include <stdio.h>
#include <stdlib.h>

#include "model/layers.h"
#include "timing.h"

enum { ROWS = 128, C = 32, NH = 4, F = 64, CALLS = 20 };

typedef struct {
	int T;
	float *qkv, *att, *mask, *out, *dout, *dqkv, *scratch;
	float *x, *y, *dx, *mean, *rstd, *w, *b, *dw, *db, *h, *g, *dh;
	tp_rng rng;
} bufs;

static void
att_fwd(bufs *s)
{
	tp_attention_forward(s->out, s->att, s->mask, s->qkv, 0.1f, &s->rng,
	    ROWS, s->T, C, NH);
}

static void
att_bwd(bufs *s)
{
	tp_attention_backward(s->dqkv, s->scratch, s->dout, s->qkv, s->att,
	    s->mask, ROWS, s->T, C, NH);
}

static void
ln_fwd(bufs *s)
{
	tp_layernorm_forward(s->y, s->mean, s->rstd, s->x, s->w, s->b,
	    ROWS * s->T, C);
}

static void
ln_bwd(bufs *s)
{
	tp_layernorm_backward(s->dx, s->dw, s->db, s->dout, s->x, s->mean,
	    s->rstd, s->w, ROWS * s->T, C);
}

static void
gelu_fwd(bufs *s)
{
	tp_gelu_forward(s->g, s->h, (long)ROWS * s->T * F);
}

static void
gelu_bwd(bufs *s)
{
	tp_gelu_backward(s->dh, s->g, s->h, (long)ROWS * s->T * F);
}

static const struct {
	const char *name;
	void (*run)(bufs *);
} layer[] = {
	{"attention_forward", att_fwd}, {"attention_backward", att_bwd},
	{"layernorm_forward", ln_fwd}, {"layernorm_backward", ln_bwd},
	{"gelu_forward", gelu_fwd}, {"gelu_backward", gelu_bwd},
};

static float *
filled(size_t n, unsigned *seed)
{
	float *p = malloc(n * sizeof(float));

	if (p == NULL) {
		fprintf(stderr, "layers: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		*seed = *seed * 1103515245u + 12345u;
		p[i] = (float)(*seed >> 8) / (float)(1u << 24) - 0.5f;
	}
	return p;
}

int
main(int argc, char **argv)
{
	bufs s = {.T = argc > 1 ? atoi(argv[1]) : 22};
	int reps = argc > 2 ? atoi(argv[2]) : 15;
	unsigned seed = 1;

	if (s.T < 1 || reps < 1) {
		fprintf(stderr, "usage: layers [T] [REPS]\n");
		return 64;
	}
	size_t N = (size_t)ROWS * s.T, na = (size_t)ROWS * NH * s.T * s.T;
	s.qkv = filled(N * 3 * C, &seed);
	s.dqkv = filled(N * 3 * C, &seed);
	s.att = filled(na, &seed);
	s.mask = filled(na, &seed);
	s.scratch = filled((size_t)NH * s.T * s.T, &seed);
	s.out = filled(N * C, &seed);
	s.dout = filled(N * C, &seed);
	s.x = filled(N * C, &seed);
	s.y = filled(N * C, &seed);
	s.dx = filled(N * C, &seed);
	s.mean = filled(N, &seed);
	s.rstd = filled(N, &seed);
	s.w = filled(C, &seed);
	s.b = filled(C, &seed);
	s.dw = filled(C, &seed);
	s.db = filled(C, &seed);
	s.h = filled(N * F, &seed);
	s.g = filled(N * F, &seed);
	s.dh = filled(N * F, &seed);
	tp_rng_seed(&s.rng, 1);
	/* The backwards read what the forwards keep. */
	att_fwd(&s);
	ln_fwd(&s);
	for (size_t i = 0; i < sizeof layer / sizeof layer[0]; i++) {
		double best = 1e30;
		for (int r = 0; r < reps; r++) {
			double t0 = tp_clock();
			for (int k = 0; k < CALLS; k++)
				layer[i].run(&s);
			double t = tp_clock() - t0;
			if (t < best)
				best = t;
		}
		printf("%s %.3f\n", layer[i].name, best / CALLS / ROWS * 1e6);
	}
	return 0;
}
