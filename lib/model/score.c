#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/score.h"

int
tp_score(tp_model *m, const tp_batch *b, float *prob, tp_err *e)
{
	int step = m->planned > 0 ? m->planned : 256, rc;

	if ((rc = tp_model_plan(m, step, e)) != TP_OK)
		return rc;
	for (size_t r = 0; r < b->n; r += (size_t)step) {
		int n = b->n - r < (size_t)step ? (int)(b->n - r) : step;
		tp_model_predict(m, b->cat + r * b->ncat, b->num + r * b->nnum, n,
		    prob + r);
	}
	return TP_OK;
}

const char *const tp_device_names[] = {"cpu", "cuda", NULL};

int
tp_device_parse(const char *name, enum tp_device *d)
{
	for (int i = 0; tp_device_names[i] != NULL; i++)
		if (strcmp(name, tp_device_names[i]) == 0) {
			*d = (enum tp_device)i;
			return 0;
		}
	return -1;
}

const char *
tp_device_name(enum tp_device d)
{
	return tp_device_names[d];
}

#ifdef TP_CUDA
int
tp_device_check(enum tp_device d, tp_err *e)
{
	tp_cuda g = {0};
	int rc;

	if (d == TP_DEVICE_CPU)
		return TP_OK;
	rc = tp_cuda_open(&g, 0, e);
	tp_cuda_close(&g);
	return rc;
}

/* Rows a GPU scores at once: enough to keep it busy, few enough that the
 * activations of a forward pass stay small. */
enum { CUDA_SCORE_ROWS = 4096 };

int
tp_score_cuda(tp_cuda *g, tp_cuda_model *cm, const tp_batch *b, float *prob,
    tp_err *e)
{
	int rc;

	for (size_t r = 0; r < b->n; r += (size_t)cm->planned) {
		int n = b->n - r < (size_t)cm->planned ? (int)(b->n - r) :
		    cm->planned;
		if ((rc = tp_cuda_model_predict(g, cm, b->cat + r * b->ncat,
		    b->num + r * b->nnum, n, prob + r, e)) != TP_OK)
			return rc;
	}
	return TP_OK;
}
#else
static int
no_cuda(tp_err *e)
{
	return tp_err_set(e, TP_EUNAVAILABLE,
	    "this tabpipe was built without CUDA (make CUDA=1)");
}

int
tp_device_check(enum tp_device d, tp_err *e)
{
	return d == TP_DEVICE_CPU ? TP_OK : no_cuda(e);
}
#endif

struct tp_scorer {
	tp_model *m;
#ifdef TP_CUDA
	int gpu;             /* the rows go to the device below */
	tp_cuda g;
	tp_cuda_model cm[TP_MAX_MEMBERS]; /* one per member of m */
	float *sum;          /* (CUDA_SCORE_ROWS) an ensemble's log-odds */
	float *logodds;      /* (CUDA_SCORE_ROWS) a member's */
#endif
};

#ifdef TP_CUDA
/* tp_score_cuda for an ensemble: the sigmoid of its members' mean
 * log-odds, as tp_model_predict gives it. */
static int
score_members(tp_scorer *s, const tp_batch *b, float *prob, tp_err *e)
{
	int k = s->m->nmembers, rc;

	for (size_t r = 0; r < b->n; r += CUDA_SCORE_ROWS) {
		int n = b->n - r < CUDA_SCORE_ROWS ? (int)(b->n - r) :
		    CUDA_SCORE_ROWS;
		for (int j = 0; j < k; j++) {
			if ((rc = tp_cuda_model_logodds(&s->g, &s->cm[j],
			    b->cat + r * b->ncat, b->num + r * b->nnum, n,
			    j == 0 ? s->sum : s->logodds, e)) != TP_OK)
				return rc;
			for (int i = 0; j > 0 && i < n; i++)
				s->sum[i] += s->logodds[i];
		}
		for (int i = 0; i < n; i++)
			prob[r + i] = (float)(1 / (1 + exp(-(double)s->sum[i] / k)));
	}
	return TP_OK;
}

/* Uploads every member of the scorer's model to the GPU. */
static int
open_gpu(tp_scorer *s, tp_err *e)
{
	tp_model *m = s->m;
	int rc;

	s->gpu = 1;
	if ((rc = tp_cuda_open(&s->g, 0, e)) != TP_OK)
		return rc;
	for (int j = 0; j < m->nmembers; j++)
		if ((rc = tp_cuda_model_init(&s->g, &s->cm[j],
		    tp_model_member(m, j), e)) != TP_OK)
			return rc;
	if (m->nmembers > 1 &&
	    ((s->sum = malloc(CUDA_SCORE_ROWS * sizeof(float))) == NULL ||
	    (s->logodds = malloc(CUDA_SCORE_ROWS * sizeof(float))) == NULL))
		return tp_err_nomem(e, "a scorer");
	return TP_OK;
}
#endif

int
tp_scorer_open(tp_scorer **out, tp_model *m, enum tp_device d, tp_err *e)
{
	tp_scorer *s;

	*out = NULL;
#ifndef TP_CUDA
	if (d != TP_DEVICE_CPU)
		return no_cuda(e);
#endif
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return tp_err_nomem(e, "a scorer");
	s->m = m;
#ifdef TP_CUDA
	int rc;
	if (d == TP_DEVICE_CUDA && (rc = open_gpu(s, e)) != TP_OK) {
		tp_scorer_close(s);
		return rc;
	}
#endif
	*out = s;
	return TP_OK;
}

int
tp_scorer_run(tp_scorer *s, const tp_batch *b, float *prob, tp_err *e)
{
#ifdef TP_CUDA
	if (s->gpu) {
		int rows = b->n < CUDA_SCORE_ROWS ? (int)b->n : CUDA_SCORE_ROWS;
		int rc;
		if (rows == 0)
			return TP_OK;
		for (int j = 0; j < s->m->nmembers; j++)
			if ((rc = tp_cuda_model_plan(&s->g, &s->cm[j], rows,
			    e)) != TP_OK)
				return rc;
		if (s->m->nmembers > 1)
			return score_members(s, b, prob, e);
		return tp_score_cuda(&s->g, &s->cm[0], b, prob, e);
	}
#endif
	return tp_score(s->m, b, prob, e);
}

void
tp_scorer_close(tp_scorer *s)
{
	if (s == NULL)
		return;
#ifdef TP_CUDA
	for (int j = 0; j < TP_MAX_MEMBERS; j++)
		tp_cuda_model_free(&s->cm[j]);
	free(s->sum);
	free(s->logodds);
	tp_cuda_close(&s->g);
#endif
	free(s);
}
