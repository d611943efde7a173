/* The training loops: defaults and option tables, determinism, learning
 * from the labels and from a teacher, the errors of bad data and
 * divergence, and checkpoints that resume to the same model and refuse
 * another run's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include "base/metrics.h"
#include "fixture.h"
#include "model/score.h"
#include "suites.h"
#include "train/regression.h"
#include "train/rows.h"
#include "train/train.h"

static const tp_config small = {
	.layers = 1, .d_model = 8, .heads = 2, .d_ff = 12, .head_hidden = 6,
	.proj_dim = 4, .dropout = 0.1f, .activation = TP_GELU,
};

typedef struct {
	tp_encoding enc;
	tp_batch train, valid;
} data;

static void
data_make(data *d)
{
	fixture_model_encoding(&d->enc);
	fixture_rows(&d->train, 400, 11);
	fixture_rows(&d->valid, 200, 12);
}

static void
data_free(data *d)
{
	tp_encoding_free(&d->enc);
	tp_batch_free(&d->train);
	tp_batch_free(&d->valid);
}

static void
small_opts(tp_train_opts *o)
{
	tp_train_defaults(o);
	o->model = small;
	o->epochs = 12;
	o->patience = 12;
	o->batch = 64;
	o->lr = 1e-2f;
	o->threads = 1;
}

START_TEST(defaults)
{
	tp_train_opts o, p;

	tp_train_defaults(&o);
	ck_assert_int_eq(o.epochs, 30);
	ck_assert_int_eq(o.batch, 256);
	ck_assert_int_eq(o.patience, 5);
	ck_assert(o.threshold < 0);
	ck_assert_int_eq(o.device, TP_DEVICE_CPU);
	/* The default sizes, an additive part beneath the transformer. */
	ck_assert_int_eq(o.model.additive, 1);
	o.model.additive = 0;
	ck_assert_int_eq(memcmp(&o.model, &tp_default_config, sizeof(o.model)), 0);
	/* Pretraining's: fewer epochs, and an encoder has no classifier to
	 * add the part to. */
	tp_pretrain_defaults(&p);
	ck_assert_int_eq(p.epochs, 10);
	ck_assert_int_eq(p.model.additive, 0);
	p.epochs = o.epochs;
	ck_assert_int_eq(memcmp(&o, &p, sizeof(o)), 0);
}
END_TEST

/* Every option of the tables can be set from its own default's text, is
 * in range by default, and has a help line. */
START_TEST(option_tables)
{
	const tp_opt *tables[] = {tp_train_options, tp_classify_options,
	    tp_pretrain_options};
	tp_train_opts o;
	tp_err e;

	tp_train_defaults(&o);
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		ck_assert_int_eq(tp_opt_check(tables[t], &o, "defaults", &e), TP_OK);
		for (const tp_opt *opt = tables[t]; opt->key != NULL; opt++) {
			ck_assert_msg(opt->help != NULL && opt->name != NULL,
			    "%s has no option or no help", opt->key);
			ck_assert_msg(strchr(opt->key, '-') == NULL,
			    "%s: keys are JSON names", opt->key);
		}
	}
}
END_TEST

START_TEST(custom_options)
{
	const tp_opt *cw = NULL, *thr = NULL;
	tp_train_opts o;
	tp_err e;
	cJSON *j;

	tp_train_defaults(&o);
	for (const tp_opt *opt = tp_classify_options; opt->key; opt++) {
		if (strcmp(opt->key, "class_weight") == 0)
			cw = opt;
		if (strcmp(opt->key, "threshold") == 0)
			thr = opt;
	}
	ck_assert(cw != NULL && thr != NULL);
	ck_assert_int_eq(tp_opt_set(cw, &o, "0.5,3", "--class-weight", &e), TP_OK);
	ck_assert(!o.balanced && o.class_weight[0] == 0.5f && o.class_weight[1] == 3);
	ck_assert_int_eq(tp_opt_set(cw, &o, "balanced", "--class-weight", &e), TP_OK);
	ck_assert(o.balanced);
	ck_assert_int_eq(tp_opt_set(cw, &o, "3", "--class-weight", &e), TP_EUSAGE);
	ck_assert_str_eq(e.msg, "--class-weight: \"3\" is not \"balanced\" or two weights W0,W1");
	ck_assert_int_eq(tp_opt_set(cw, &o, "1,0", "--class-weight", &e), TP_EUSAGE);
	ck_assert_msg(o.balanced, "a bad value changed the setting");
	ck_assert_int_eq(tp_opt_set(thr, &o, "0.25", "--threshold", &e), TP_OK);
	ck_assert(o.threshold == 0.25);
	ck_assert_int_eq(tp_opt_set(thr, &o, "1.5", "--threshold", &e), TP_EUSAGE);
	ck_assert_str_eq(e.msg, "--threshold: \"1.5\" is not a number from 0 to 1");
	j = cJSON_CreateObject();
	ck_assert_int_eq(tp_opt_json(tp_classify_options, &o, TP_OPT_RECORD, j, &e), TP_OK);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "class_weight")->valuestring, "balanced");
	ck_assert(cJSON_GetObjectItem(j, "threshold")->valuedouble == 0.25);
	cJSON_Delete(j);
	ck_assert_int_eq(tp_opt_set(thr, &o, "f1", "--threshold", &e), TP_OK);
	ck_assert(o.threshold < 0);
	j = cJSON_CreateObject();
	ck_assert_int_eq(tp_opt_json(tp_classify_options, &o, TP_OPT_RECORD, j, &e), TP_OK);
	ck_assert_ptr_null(cJSON_GetObjectItem(j, "threshold"));
	cJSON_Delete(j);
}
END_TEST

/* --buffer-rows: a whole number from 1, recorded and signed only when
 * given, and a batch at least. */
START_TEST(buffer_rows_option)
{
	const tp_opt *br = NULL;
	tp_train_opts o;
	tp_err e;
	cJSON *j;

	tp_train_defaults(&o);
	for (const tp_opt *opt = tp_train_options; opt->key; opt++)
		if (strcmp(opt->key, "buffer_rows") == 0)
			br = opt;
	ck_assert_ptr_nonnull(br);
	ck_assert_int_eq(o.buffer_rows, 0);
	j = cJSON_CreateObject();
	ck_assert_int_eq(tp_opt_json(tp_train_options, &o, TP_OPT_SIGN, j, &e), TP_OK);
	ck_assert_ptr_null(cJSON_GetObjectItem(j, "buffer_rows"));
	cJSON_Delete(j);
	ck_assert_int_eq(tp_train_check(&o, &e), TP_OK);
	ck_assert_int_eq(tp_opt_set(br, &o, "0", "--buffer-rows", &e), TP_EUSAGE);
	ck_assert_int_eq(tp_opt_set(br, &o, "1e6", "--buffer-rows", &e), TP_EUSAGE);
	ck_assert_int_eq(tp_opt_set(br, &o, "100", "--buffer-rows", &e), TP_OK);
	ck_assert_int_eq(o.buffer_rows, 100);
	ck_assert_int_eq(tp_train_check(&o, &e), TP_EUSAGE);
	ck_assert_str_eq(e.msg, "--buffer-rows 100 is less than --batch 256: the shuffle buffer holds a batch at least");
	ck_assert_int_eq(tp_opt_set(br, &o, "65536", "--buffer-rows", &e), TP_OK);
	ck_assert_int_eq(tp_train_check(&o, &e), TP_OK);
	j = cJSON_CreateObject();
	ck_assert_int_eq(tp_opt_json(tp_train_options, &o, TP_OPT_SIGN, j, &e), TP_OK);
	ck_assert(cJSON_GetObjectItem(j, "buffer_rows")->valuedouble == 65536);
	cJSON_Delete(j);
}
END_TEST

/* The same options and data give the same weights; the model learns the
 * fixture's signal; the threshold is the best F1's on validation. */
START_TEST(learns_deterministically)
{
	tp_train_opts o;
	tp_train_result r1, r2;
	tp_model a, b;
	data d;
	float *prob;
	tp_err e;

	data_make(&d);
	small_opts(&o);
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &a, &r1, &e), TP_OK);
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &b, &r2, &e), TP_OK);
	ck_assert_int_eq(memcmp(a.params, b.params, a.nfloats * sizeof(float)), 0);
	ck_assert(r1.valid_auc == r2.valid_auc);
	ck_assert_msg(r1.valid_auc > 0.8, "valid AUC %g", r1.valid_auc);
	ck_assert(r1.best_epoch >= 1 && r1.best_epoch <= r1.epochs_run);
	prob = malloc(d.valid.n * sizeof(float));
	ck_assert_int_eq(tp_score(&a, &d.valid, prob, &e), TP_OK);
	ck_assert(fabs(tp_roc_auc(prob, 1, d.valid.label, d.valid.n, &e) -
	    r1.valid_auc) < 1e-9);
	double f1;
	ck_assert(fabs(tp_best_f1_threshold(prob, d.valid.label, d.valid.n, &f1,
	    &e) - r1.threshold) < 1e-9);
	free(prob);
	tp_model_free(&a);
	tp_model_free(&b);
	data_free(&d);
}
END_TEST

/* --additive: the model's additive part is the regression of the
 * training rows, as train/regression.h fits it alone, and no step moves
 * it; the model kept is at least as good on the validation rows as the
 * regression alone (its first candidate), and scores as it says; the
 * result gives the fit's penalty and the regression's AUC alone. _i: 1
 * for an ensemble of two, whose members hold the same part. */
START_TEST(learns_the_residual)
{
	tp_train_opts o;
	tp_train_result r;
	tp_model m;
	tp_rows *src;
	tp_batch rows;
	data d;
	float *prob;
	double penalty;
	tp_err e;

	data_make(&d);
	small_opts(&o);
	o.model.additive = 1;
	o.members = 1 + _i;
	ck_assert_msg(tp_train(&o, &d.enc, &d.train, &d.valid, &m, &r, &e) ==
	    TP_OK, "%s", e.msg);
	/* The same fit, apart. */
	tp_additive fitted = tp_model_additive(&m);
	int P = tp_additive_width(&fitted);
	float *weight = malloc((size_t)P * sizeof(float));
	float *knot = malloc((size_t)m.nnum * TP_ADDITIVE_KNOTS * sizeof(float));
	tp_additive alone = fitted;
	alone.weight = weight;
	alone.knot = knot;
	ck_assert_int_eq(tp_rows_memory(&src, &d.train, &e), TP_OK);
	ck_assert_int_eq(tp_regression_rows(src, m.ncat, m.nnum, 200000, 0,
	    &rows, &e), TP_OK);
	ck_assert_msg(tp_regression_fit(&alone, &rows, NULL, NULL, &penalty,
	    &e) == TP_OK, "%s", e.msg);
	ck_assert_mem_eq(weight, fitted.weight, (size_t)P * sizeof(float));
	ck_assert_mem_eq(knot, fitted.knot,
	    (size_t)m.nnum * TP_ADDITIVE_KNOTS * sizeof(float));
	/* The regression alone on the validation rows. */
	prob = malloc(d.valid.n * sizeof(float));
	for (size_t i = 0; i < d.valid.n; i++)
		prob[i] = (float)(1 / (1 + exp(-tp_additive_logit(&alone,
		    d.valid.cat + i * m.ncat, d.valid.num + i * m.nnum))));
	double alone_auc = tp_roc_auc(prob, 1, d.valid.label, d.valid.n, &e);
	ck_assert(r.additive_penalty == penalty);
	ck_assert_msg(r.additive_seconds > 0 && isfinite(r.additive_seconds),
	    "the fit's seconds: %g", r.additive_seconds);
	ck_assert_msg(fabs(r.additive_auc - alone_auc) < 1e-6, "the result's "
	    "AUC of the regression %g, alone %g", r.additive_auc, alone_auc);
	if (_i) {
		tp_additive second = tp_model_additive(tp_model_member(&m, 1));
		ck_assert_mem_eq(second.weight, fitted.weight,
		    (size_t)P * sizeof(float));
		ck_assert_mem_eq(second.knot, fitted.knot,
		    (size_t)m.nnum * TP_ADDITIVE_KNOTS * sizeof(float));
		ck_assert(r.member[1].valid_auc >= alone_auc);
	}
	ck_assert_msg(r.member[0].valid_auc >= alone_auc, "valid AUC %g, the "
	    "regression alone %g", r.member[0].valid_auc, alone_auc);
	ck_assert_int_eq(tp_score(&m, &d.valid, prob, &e), TP_OK);
	ck_assert(fabs(tp_roc_auc(prob, 1, d.valid.label, d.valid.n, &e) -
	    r.valid_auc) < 1e-9);
	free(prob);
	free(weight);
	free(knot);
	tp_batch_free(&rows);
	tp_rows_close(src);
	tp_model_free(&m);
	data_free(&d);
}
END_TEST

/* The mean probability of the rows of b. */
static double
mean_prob(tp_model *m, const tp_batch *b)
{
	float *prob = malloc(b->n * sizeof(float));
	double sum = 0;
	tp_err e;

	ck_assert_int_eq(tp_score(m, b, prob, &e), TP_OK);
	for (size_t i = 0; i < b->n; i++)
		sum += prob[i];
	free(prob);
	return sum / (double)b->n;
}

/* A student learns its teacher's probabilities, not the labels: a teacher
 * that says about 0.9 of every row (an untrained model, its prior set)
 * makes a student that says about as much, where the labels' model says
 * about their base rate; and so it does from rows without labels. */
START_TEST(learns_from_teacher)
{
	tp_train_opts o;
	tp_train_result r;
	tp_model teacher, student, labels;
	data d;
	tp_err e;

	data_make(&d);
	small_opts(&o);
	ck_assert_int_eq(tp_model_init(&teacher, &small, &d.enc, 5, 1, &e), TP_OK);
	tp_model_set_prior(&teacher, 0.9);
	double taught = mean_prob(&teacher, &d.valid);
	ck_assert_msg(fabs(taught - 0.9) < 0.05, "the teacher says %g", taught);
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &labels, &r,
	    &e), TP_OK);
	o.teacher = &teacher;
	o.teacher_sha256 = "a teacher";
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &student, &r,
	    &e), TP_OK);
	double base = 0;
	for (size_t i = 0; i < d.train.n; i++)
		base += d.train.label[i] == 1;
	base /= (double)d.train.n;
	double said = mean_prob(&student, &d.valid);
	double learnt = mean_prob(&labels, &d.valid);
	ck_assert_msg(fabs(said - taught) < 0.1,
	    "the student says %g on average, its teacher %g", said, taught);
	ck_assert_msg(fabs(learnt - base) < 0.15,
	    "the labels' model says %g on average, their base rate is %g",
	    learnt, base);
	/* Rows without a label learn from the teacher too: with none
	 * labelled, the student still says what its teacher says. */
	for (size_t i = 0; i < d.train.n; i++)
		d.train.label[i] = -1;
	tp_model_free(&student);
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &student, &r,
	    &e), TP_OK);
	said = mean_prob(&student, &d.valid);
	ck_assert_msg(fabs(said - taught) < 0.1,
	    "unlabelled, the student says %g on average, its teacher %g", said,
	    taught);
	tp_model_free(&teacher);
	tp_model_free(&student);
	tp_model_free(&labels);
	data_free(&d);
}
END_TEST

START_TEST(bad_data)
{
	tp_train_opts o;
	tp_train_result r;
	tp_model m;
	data d;
	tp_err e;

	data_make(&d);
	small_opts(&o);
	size_t n = d.valid.n;
	d.valid.n = 0;
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &m, &r, &e), TP_EDATA);
	ck_assert_str_eq(e.msg, "the validation stream has no rows");
	d.valid.n = n;
	for (size_t i = 0; i < d.train.n; i++)
		d.train.label[i] = 0;
	size_t neg = d.train.n;
	d.train.label[1] = -1;
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &m, &r, &e), TP_EDATA);
	char want[128];
	snprintf(want, sizeof(want), "are of one class (%zu of 0, 0 of 1)", neg - 1);
	ck_assert_msg(strstr(e.msg, want) != NULL, "%s", e.msg);
	d.train.n = 1;
	ck_assert_int_eq(tp_pretrain(&o, &d.enc, &d.train, &m, &e), TP_EDATA);
	ck_assert(strstr(e.msg, "at least 2 rows") != NULL);
	data_free(&d);
}
END_TEST

/* Validation rows of one class have no AUC: the first epoch is kept, and
 * the result says there was no AUC rather than a number. */
START_TEST(one_class_validation)
{
	tp_train_opts o;
	tp_train_result r;
	tp_model m;
	data d;
	tp_err e;

	data_make(&d);
	small_opts(&o);
	o.epochs = 4;
	o.patience = 2;
	for (size_t i = 0; i < d.valid.n; i++)
		d.valid.label[i] = i % 3 == 0 ? -1 : 1;
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &m, &r, &e), TP_OK);
	ck_assert_msg(isnan(r.valid_auc), "valid AUC %g", r.valid_auc);
	ck_assert_int_eq(r.best_epoch, 1);
	ck_assert_int_eq(r.epochs_run, 3);
	tp_model_free(&m);
	o.members = 2;
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &m, &r, &e), TP_OK);
	ck_assert_msg(isnan(r.valid_auc), "the ensemble's valid AUC %g", r.valid_auc);
	ck_assert_msg(isnan(r.member[1].valid_auc), "member 2's valid AUC %g",
	    r.member[1].valid_auc);
	tp_model_free(&m);
	data_free(&d);
}
END_TEST

START_TEST(divergence)
{
	tp_train_opts o;
	tp_train_result r;
	tp_model m;
	data d;
	tp_err e;

	data_make(&d);
	small_opts(&o);
	o.lr = 1e30f;
	o.clip = 0;
	o.warmup = 0;
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &m, &r, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "training diverged") != NULL, "%s", e.msg);
	data_free(&d);
}
END_TEST

/* Renames the checkpoint's digest key in place (the same length), as if
 * the file had been written without it. */
static void
unsigned_digest_key(const char *path)
{
	FILE *f = fopen(path, "r+b");
	char buf[65536];
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf), f);
	size_t at = 0;
	while (at + 14 <= n && memcmp(buf + at, "tensors_sha256", 14) != 0)
		at++;
	ck_assert_uint_lt(at + 14, n + 1);
	ck_assert_int_eq(fseek(f, (long)at + 13, SEEK_SET), 0);
	ck_assert_int_eq(fputc('X', f), 'X');
	ck_assert_int_eq(fclose(f), 0);
}

/* Ends the process after the second epoch's checkpoint, as a kill would. */
static void
die_after_two(void *ctx, const tp_epoch_report *r)
{
	(void)ctx;
	if (r->epoch == 2)
		_exit(0);
}

/* A run killed after two epochs and resumed ends with the bytes of one
 * never stopped; a checkpoint of other options or data is refused. */
START_TEST(checkpoints)
{
	char path[] = "/tmp/tabpipe-ckpt-XXXXXX";
	int fd = mkstemp(path), status;
	tp_train_opts o;
	tp_train_result r;
	tp_model whole, resumed;
	pid_t pid;
	data d;
	tp_err e;

	ck_assert_int_ne(fd, -1);
	close(fd);
	data_make(&d);
	small_opts(&o);
	o.epochs = 4;
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &whole, &r, &e), TP_OK);
	o.checkpoint = path;
	if ((pid = fork()) == 0) {
		o.progress = die_after_two;
		tp_train(&o, &d.enc, &d.train, &d.valid, &resumed, &r, &e);
		_exit(1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	o.resume = 1;
	o.lr = 2e-2f;
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &resumed, &r, &e), TP_EUSAGE);
	ck_assert(strstr(e.msg, "other options or data") != NULL);
	o.lr = 1e-2f;
	d.valid.label[0] = !d.valid.label[0];
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &resumed, &r, &e), TP_EUSAGE);
	d.valid.label[0] = !d.valid.label[0];
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &resumed, &r, &e), TP_OK);
	ck_assert_int_eq(r.epochs_run, 4);
	ck_assert_int_eq(memcmp(whole.params, resumed.params,
	    whole.nfloats * sizeof(float)), 0);
	tp_model_free(&whole);
	tp_model_free(&resumed);
	/* Without the digest of its tensors, a checkpoint is not trusted. */
	unsigned_digest_key(path);
	ck_assert_int_eq(tp_train(&o, &d.enc, &d.train, &d.valid, &resumed, &r, &e), TP_EDATA);
	ck_assert_msg(strstr(e.msg, "has no tensors_sha256") != NULL, "%s", e.msg);
	unlink(path);
	data_free(&d);
}
END_TEST

START_TEST(pretrains)
{
	tp_train_opts o;
	tp_model a, b;
	data d;
	tp_err e;

	data_make(&d);
	tp_pretrain_defaults(&o);
	o.model = small;
	o.epochs = 2;
	o.batch = 64;
	o.threads = 1;
	ck_assert_int_eq(tp_pretrain(&o, &d.enc, &d.train, &a, &e), TP_OK);
	o.corruption = TP_CORRUPT_RESAMPLE;
	ck_assert_int_eq(tp_pretrain(&o, &d.enc, &d.train, &b, &e), TP_OK);
	ck_assert_int_ne(memcmp(a.params, b.params, a.nfloats * sizeof(float)), 0);
	tp_model_free(&a);
	tp_model_free(&b);
	data_free(&d);
}
END_TEST

Suite *
train_suite(void)
{
	Suite *s = suite_create("train");
	TCase *tc = tcase_create("train");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, option_tables);
	tcase_add_test(tc, custom_options);
	tcase_add_test(tc, buffer_rows_option);
	tcase_add_test(tc, learns_deterministically);
	tcase_add_loop_test(tc, learns_the_residual, 0, 2);
	tcase_add_test(tc, learns_from_teacher);
	tcase_add_test(tc, bad_data);
	tcase_add_test(tc, one_class_validation);
	tcase_add_test(tc, divergence);
	tcase_add_test(tc, checkpoints);
	tcase_add_test(tc, pretrains);
	suite_add_tcase(s, tc);
	return s;
}
