/*
 * test_tune: running a study's trials: the paths of a trial's files,
 * train's command line, Slurm's array lists, what each engine runs
 * (commands, the batch script, the Indexed Job), the local pool and GNU
 * parallel running a stand-in worker, an engine that is not there, and a
 * worker running trials with stand-ins for tabpipe-train: one that
 * writes a model of a recorded run, one that fails, one whose model names
 * no run, and one stopped by a signal.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "fixture.h"
#include "registry/tune.h"
#include "suites.h"

static tp_study
study_of(const char *settings)
{
	tp_study s = {.id = 1};

	snprintf(s.name, sizeof(s.name), "s");
	s.settings = cJSON_Parse(settings);
	ck_assert_ptr_nonnull(s.settings);
	return s;
}

START_TEST(test_paths)
{
	tp_study s = study_of("{\"dir\": \"/d\", \"models\": \"m\"}");
	tp_study abs = study_of("{\"dir\": \"/d\", \"models\": \"/x/m\"}");
	tp_study none = study_of("{\"dir\": \"/d\"}");
	tp_err e = {0};
	char buf[64], tiny[8];

	ck_assert_int_eq(tp_tune_path(&s, 3, NULL, buf, sizeof(buf), &e), TP_OK);
	ck_assert_str_eq(buf, "/d/m");
	ck_assert_int_eq(tp_tune_path(&s, 3, "log", buf, sizeof(buf), &e), TP_OK);
	ck_assert_str_eq(buf, "/d/m/trial-3.log");
	ck_assert_int_eq(tp_tune_path(&abs, 12, "safetensors", buf, sizeof(buf),
	    &e), TP_OK);
	ck_assert_str_eq(buf, "/x/m/trial-12.safetensors");
	ck_assert_int_eq(tp_tune_path(&none, 1, NULL, buf, sizeof(buf), &e),
	    TP_EDATA);
	ck_assert_int_eq(tp_tune_path(&s, 1, "log", tiny, sizeof(tiny), &e),
	    TP_EUSAGE);
	tp_study_free(&s);
	tp_study_free(&abs);
	tp_study_free(&none);
}
END_TEST

START_TEST(test_argv)
{
	tp_study s = study_of("{\"fixed\": [\"--threads\", \"1\"], "
	    "\"seed\": \"7\", \"train\": \"t.tps\", \"valid\": \"v.tps\"}");
	tp_study bad = study_of("{\"seed\": \"7\"}");
	tp_trial t = {.number = 2, .budget = 3, .params = cJSON_Parse(
	    "{\"lr\": 0.001, \"d-model\": 16, \"class-weight\": null, "
	    "\"activation\": \"gelu\"}")};
	const char *want[] = {"tabpipe-train", "--threads", "1", "--epochs",
		"3", "--seed", "7", "--lr", "0.001", "--d-model", "16",
		"--activation", "gelu", "--valid", "v.tps", "-o", "m.safetensors",
		"t.tps", NULL};
	tp_err e = {0};
	char **argv;
	int i;

	ck_assert_int_eq(tp_tune_argv(&s, &t, "tabpipe-train", "m.safetensors",
	    &argv, &e), TP_OK);
	for (i = 0; want[i] != NULL; i++) {
		ck_assert_ptr_nonnull(argv[i]);
		ck_assert_str_eq(argv[i], want[i]);
	}
	ck_assert_ptr_null(argv[i]);
	tp_tune_argv_free(argv);
	ck_assert_int_eq(tp_tune_argv(&bad, &t, "tabpipe-train", "m", &argv, &e),
	    TP_EDATA);
	ck_assert_ptr_null(argv);
	tp_trial_free(&t);
	tp_study_free(&s);
	tp_study_free(&bad);
}
END_TEST

START_TEST(test_array)
{
	int a[] = {1, 2, 3, 5, 7, 8}, b[] = {4}, c[] = {9, 11, 13};
	char buf[64];

	ck_assert_str_eq(tp_tune_array(a, 6, buf, sizeof(buf)), "1-3,5,7-8");
	ck_assert_str_eq(tp_tune_array(b, 1, buf, sizeof(buf)), "4");
	ck_assert_str_eq(tp_tune_array(c, 3, buf, sizeof(buf)), "9,11,13");
	ck_assert_str_eq(tp_tune_array(c, 0, buf, sizeof(buf)), "");
}
END_TEST

/* What tp_tune_script writes for o and numbers. */
static char *
script(const tp_engine_opts *o, const int *numbers, int n)
{
	FILE *f = tmpfile();
	tp_err e = {0};

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(tp_tune_script(o, numbers, n, f, &e) == TP_OK, "%s",
	    e.msg);
	return fixture_written(f);
}

START_TEST(test_scripts)
{
	const char *args[] = {"--partition=cpu", "--time=10"};
	tp_engine_opts o = {.engine = TP_ENGINE_LOCAL, .jobs = 2,
	    .self = "/opt/my tools/tabpipe-tune", .study = "s.1",
	    .dir = "/w/s.1.trials", .workdir = "/w", .job = "tune-s-1-9"};
	int numbers[] = {4, 5, 6, 8};
	char *text;

	text = script(&o, numbers, 2);
	ck_assert_str_eq(text, "'/opt/my tools/tabpipe-tune' --study s.1 "
	    "--trial 4\n'/opt/my tools/tabpipe-tune' --study s.1 --trial 5\n");
	free(text);
	/* Over ssh: the tabpipe-tune of the other machine's PATH. */
	o.engine = TP_ENGINE_PARALLEL;
	o.sshlogin = "host1";
	text = script(&o, numbers, 1);
	ck_assert_str_eq(text, "tabpipe-tune --study s.1 --trial 4\n");
	free(text);
	o.engine = TP_ENGINE_SLURM;
	o.self = "/opt/bin/tabpipe-tune";
	o.args = args;
	o.nargs = 2;
	text = script(&o, numbers, 4);
	ck_assert_str_eq(text, "#!/bin/sh\n"
	    "# The trials of study s.1, a task each: written by tabpipe-tune(1).\n"
	    "#SBATCH --job-name=tune-s-1-9\n"
	    "#SBATCH --array=4-6,8%2\n"
	    "#SBATCH --output=/w/s.1.trials/tune-s-1-9-%a.out\n"
	    "#SBATCH --partition=cpu\n"
	    "#SBATCH --time=10\n"
	    "exec /opt/bin/tabpipe-tune --study s.1 --trial "
	    "\"$SLURM_ARRAY_TASK_ID\"\n");
	free(text);
	o.engine = TP_ENGINE_KUBERNETES;
	o.image = "registry/tabpipe:0.1";
	text = script(&o, numbers, 4);
	ck_assert_ptr_nonnull(strstr(text, "kind: Job\n"));
	ck_assert_ptr_nonnull(strstr(text, "  name: tune-s-1-9\n"));
	ck_assert_ptr_nonnull(strstr(text, "  completionMode: Indexed\n"
	    "  completions: 4\n  parallelism: 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "image: \"registry/tabpipe:0.1\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "workingDir: \"/w\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "- name: TRIALS\n"
	    "              value: \"4 5 6 8\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "shift \"$JOB_COMPLETION_INDEX\" && "
	    "exec tabpipe-tune --study \"$STUDY\" --trial \"$1\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "name: tabpipe-db\n"));
	ck_assert_ptr_nonnull(strstr(text, "claimName: tabpipe\n"));
	free(text);
}
END_TEST

/* A folder of the test's own, and an executable script in it. */
static char *
temp_dir(void)
{
	char *d = strdup("/tmp/tabpipe-tune-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static char *
program(const char *dir, const char *name, const char *body)
{
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	FILE *f;

	sprintf(path, "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0755), 0);
	return path;
}

typedef struct {
	int n, numbers[16], status[16];
} endings;

static void
ended(void *ctx, int number, int status)
{
	endings *x = ctx;

	ck_assert_int_lt(x->n, 16);
	x->numbers[x->n] = number;
	x->status[x->n++] = status;
}

/* The sorted lines of a file, as one string. */
static char *
sorted_lines(const char *path)
{
	char cmd[512], *out;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sort -n %s | tr '\\n' ' '", path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	out = calloc(1, 256);
	ck_assert_int_ge((int)fread(out, 1, 255, p), 0);
	pclose(p);
	return out;
}

START_TEST(test_local_pool)
{
	char *dir = temp_dir(), log[256], *self, *got;
	endings x = {0};
	tp_engine_opts o = {.engine = TP_ENGINE_LOCAL, .jobs = 2, .study = "s",
	    .quiet = 1, .ended = ended, .ctx = &x};
	int numbers[] = {1, 2, 3, 4, 5};
	tp_err e = {0};

	snprintf(log, sizeof(log), "%s/ran", dir);
	char body[512];
	snprintf(body, sizeof(body), "[ \"$1 $2 $3 $5\" = \"--study s --trial "
	    "-q\" ] || exit 9\necho \"$4\" >>%s\n[ \"$4\" = 3 ] && exit 5\n"
	    "exit 0\n", log);
	self = program(dir, "worker", body);
	o.self = self;
	ck_assert_msg(tp_tune_dispatch(&o, numbers, 5, &e) == TP_OK, "%s", e.msg);
	got = sorted_lines(log);
	ck_assert_str_eq(got, "1 2 3 4 5 ");
	ck_assert_int_eq(x.n, 5);
	for (int i = 0; i < x.n; i++)
		ck_assert_int_eq(x.status[i], x.numbers[i] == 3 ? 5 : 0);
	free(got);
	free(self);
	free(dir);
}
END_TEST

/* Whether the parallel in PATH is GNU parallel. */
static int
have_gnu_parallel(void)
{
	char line[64] = "";
	FILE *p = popen("parallel --version 2>/dev/null", "r");

	if (p == NULL)
		return 0;
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	pclose(p);
	return strncmp(line, "GNU parallel", 12) == 0;
}

START_TEST(test_parallel)
{
	char *dir = temp_dir(), log[256], body[512], *self, *got;
	tp_engine_opts o = {.engine = TP_ENGINE_PARALLEL, .jobs = 2,
	    .study = "s"};
	int numbers[] = {2, 3, 9};
	tp_err e = {0};

	snprintf(log, sizeof(log), "%s/ran", dir);
	snprintf(body, sizeof(body), "echo \"$4\" >>%s\n", log);
	self = program(dir, "worker", body);
	o.self = self;
	if (!have_gnu_parallel()) {
		/* moreutils' parallel, or none: said, not run. */
		ck_assert_int_eq(tp_tune_dispatch(&o, numbers, 3, &e),
		    TP_EUNAVAILABLE);
		ck_assert_ptr_nonnull(strstr(e.msg, "GNU parallel"));
	} else {
		ck_assert_msg(tp_tune_dispatch(&o, numbers, 3, &e) == TP_OK, "%s",
		    e.msg);
		got = sorted_lines(log);
		ck_assert_str_eq(got, "2 3 9 ");
		free(got);
	}
	free(self);
	free(dir);
}
END_TEST

START_TEST(test_missing_engine)
{
	char *dir = temp_dir(), file[256];
	tp_engine_opts o = {.engine = TP_ENGINE_SLURM, .jobs = 1, .study = "s",
	    .self = "/bin/tabpipe-tune", .dir = dir, .workdir = dir,
	    .job = "tune-s-1"};
	int numbers[] = {1};
	tp_err e = {0};
	struct stat st;

	/* No sbatch, no kubectl, in an empty PATH. */
	setenv("PATH", dir, 1);
	ck_assert_int_eq(tp_tune_dispatch(&o, numbers, 1, &e), TP_EUNAVAILABLE);
	ck_assert_str_eq(e.msg, "sbatch: cannot be run here (is it installed?)");
	snprintf(file, sizeof(file), "%s/tune-s-1.sbatch", dir);
	ck_assert_int_eq(stat(file, &st), 0);
	o.engine = TP_ENGINE_KUBERNETES;
	ck_assert_int_eq(tp_tune_dispatch(&o, numbers, 1, &e), TP_EUNAVAILABLE);
	ck_assert_str_eq(e.msg, "kubectl: cannot be run here (is it installed?)");
	o.engine = TP_ENGINE_PARALLEL;
	ck_assert_int_eq(tp_tune_dispatch(&o, numbers, 1, &e), TP_EUNAVAILABLE);
	free(dir);
}
END_TEST

/* A study of the database for the worker's tests, in folder dir. */
static void
worker_study(tp_db *db, const char *dir, tp_study *s)
{
	char text[512];
	tp_trial t = {.number = 1, .rung = 1, .budget = 2,
	    .params = cJSON_Parse("{\"lr\": 0.002}")};
	tp_err e = {0};
	cJSON *set;

	snprintf(text, sizeof(text), "{\"dir\": \"%s\", \"models\": \"m\", "
	    "\"train\": \"t.tps\", \"valid\": \"v.tps\", \"seed\": \"3\", "
	    "\"fixed\": [\"--threads\", \"1\"]}", dir);
	set = cJSON_Parse(text);
	ck_assert_int_eq(tp_study_create(db, "w", "random", set, 0, s, &e),
	    TP_OK);
	ck_assert_int_eq(tp_study_add(db, s, &t, 1, &e), TP_OK);
	cJSON_Delete(set);
	tp_trial_free(&t);
}

/* A model file whose metadata names run (0: none), at path. */
static void
model_of_run(const char *path, int64_t run)
{
	tp_config cfg = {.layers = 1, .d_model = 8, .heads = 2, .d_ff = 16,
	    .head_hidden = 8, .proj_dim = 8, .dropout = 0.1f};
	tp_model_meta meta = {.threshold = 0.5, .parts = TP_WITH_HEAD};
	tp_encoding enc;
	tp_model m;
	tp_err e = {0};

	if (run > 0)
		snprintf(meta.run_id, sizeof(meta.run_id), "%lld", (long long)run);
	fixture_model_encoding(&enc);
	ck_assert_int_eq(tp_model_init(&m, &cfg, &enc, 1, 1, &e), TP_OK);
	ck_assert_msg(tp_model_save(path, &m, &enc, &meta, &e) == TP_OK, "%s",
	    e.msg);
	tp_model_free(&m);
	tp_encoding_free(&enc);
}

/* A stand-in for tabpipe-train that notes its folder and command line
 * and copies model to its -o, after body. */
static char *
stand_in(const char *dir, const char *model, const char *body)
{
	char text[2048];

	snprintf(text, sizeof(text), "pwd >%s/args\necho \"$@\" >>%s/args\n%s\n"
	    "while [ $# -gt 0 ]; do [ \"$1\" = -o ] && out=$2; shift; done\n"
	    "cp %s \"$out\"\n", dir, dir, body, model);
	return program(dir, "train", text);
}

START_TEST(test_worker)
{
	tp_db *db = fixture_db("tune", "tune");
	char *dir = temp_dir(), model[256], args[256], *train, *text;
	char why[256];
	tp_worker_opts o = {.heartbeat = 0.01, .stale = 60};
	tp_study s;
	tp_trial t;
	tp_err e = {0};
	size_t len;
	int ran;

	char *run = fixture_value(db, "INSERT INTO runs (tool, status, result, "
	    "host, pid, version, finished_at) VALUES ('train', 'finished', "
	    "'{\"valid_auc\": 0.77}', 'h', 1, 'v', now()) RETURNING id", 0, NULL);
	snprintf(model, sizeof(model), "%s/template.safetensors", dir);
	model_of_run(model, strtoll(run, NULL, 10));
	worker_study(db, dir, &s);
	train = stand_in(dir, model, "echo 'tabpipe-train: epoch 1/2' >&2");
	o.train = train;
	ck_assert_msg(tp_tune_trial(db, &s, 1, &o, &t, &ran, why, sizeof(why),
	    &e) == TP_OK, "%s", e.msg);
	ck_assert_int_eq(ran, 1);
	ck_assert_msg(strcmp(t.state, "finished") == 0, "%s: %s", t.state,
	    t.error);
	ck_assert(t.value == 0.77);
	ck_assert_int_eq(t.run, strtoll(run, NULL, 10));
	ck_assert_int_eq(strlen(t.model_sha256), 64);
	snprintf(args, sizeof(args), "%s/m/trial-1.safetensors", dir);
	ck_assert_str_eq(t.model_path, args);
	tp_trial_free(&t);
	/* Train ran in the study's folder, with the trial's options. */
	snprintf(args, sizeof(args), "%s/args", dir);
	ck_assert_int_eq(tp_read_file(args, &text, &len, &e), TP_OK);
	char want[1024];
	snprintf(want, sizeof(want), "%s\n--threads 1 --epochs 2 --seed 3 --lr "
	    "0.002 --valid v.tps -o %s/m/trial-1.safetensors t.tps\n", dir, dir);
	ck_assert_str_eq(text, want);
	free(text);
	snprintf(args, sizeof(args), "%s/m/trial-1.log", dir);
	ck_assert_int_eq(tp_read_file(args, &text, &len, &e), TP_OK);
	ck_assert_str_eq(text, "tabpipe-train: epoch 1/2\n");
	free(text);
	/* Finished: a worker asked again has nothing to do. */
	ck_assert_int_eq(tp_tune_trial(db, &s, 1, &o, &t, &ran, why, sizeof(why),
	    &e), TP_OK);
	ck_assert_int_eq(ran, 0);
	ck_assert_ptr_nonnull(strstr(why, "is finished"));
	tp_trial_free(&t);
	free(train);

	/* Train fails: its last line is why. */
	fixture_exec(db, "UPDATE trials SET state = 'pending', value = NULL", 0,
	    NULL);
	train = stand_in(dir, model, "echo 'tabpipe-train: epoch 1/2' >&2\n"
	    "echo 'tabpipe-train: t.tps: bad input: byte 12' >&2\nexit 65");
	o.train = train;
	ck_assert_int_eq(tp_tune_trial(db, &s, 1, &o, &t, &ran, why, sizeof(why),
	    &e), TP_OK);
	ck_assert_int_eq(ran, 1);
	ck_assert_str_eq(t.state, "failed");
	ck_assert_str_eq(t.error, "tabpipe-train: t.tps: bad input: byte 12");
	ck_assert_int_eq(t.attempts, 2);
	tp_trial_free(&t);
	free(train);

	/* A model that names no run: no value to read. */
	model_of_run(model, 0);
	train = stand_in(dir, model, "");
	o.train = train;
	ck_assert_int_eq(tp_tune_trial(db, &s, 1, &o, &t, &ran, why, sizeof(why),
	    &e), TP_OK);
	ck_assert_str_eq(t.state, "failed");
	ck_assert_ptr_nonnull(strstr(t.error, "the model names no train run"));
	tp_trial_free(&t);
	free(train);

	/* A train that cannot be run. */
	o.train = "/nonexistent/tabpipe-train";
	ck_assert_int_eq(tp_tune_trial(db, &s, 1, &o, &t, &ran, why, sizeof(why),
	    &e), TP_OK);
	ck_assert_str_eq(t.state, "failed");
	ck_assert_ptr_nonnull(strstr(t.error, "cannot run /nonexistent"));
	tp_trial_free(&t);

	/* Stopped: train is ended and the trial given back. */
	volatile sig_atomic_t stop = 1;
	train = stand_in(dir, model, "exec sleep 30");
	o.train = train;
	o.stop = &stop;
	ck_assert_int_eq(tp_tune_trial(db, &s, 1, &o, &t, &ran, why, sizeof(why),
	    &e), TP_OK);
	ck_assert_int_eq(ran, 1);
	ck_assert_str_eq(t.state, "pending");
	ck_assert_str_eq(t.error, "stopped by a signal");
	tp_trial_free(&t);
	free(train);

	/* The study's folder is not on this machine. */
	tp_study_free(&s);
	fixture_exec(db, "UPDATE studies SET settings = jsonb_set(settings, "
	    "'{dir}', '\"/nonexistent\"')", 0, NULL);
	int found;
	ck_assert_int_eq(tp_study_find(db, "w", &s, &found, &e), TP_OK);
	ck_assert_int_eq(tp_tune_trial(db, &s, 1, &o, &t, &ran, why, sizeof(why),
	    &e), TP_ENOINPUT);
	ck_assert_ptr_nonnull(strstr(e.msg, "needs the study's files"));
	tp_study_free(&s);
	free(run);
	free(dir);
	tp_db_close(db);
}
END_TEST

Suite *
tune_suite(void)
{
	Suite *s = suite_create("tune");
	TCase *tc = tcase_create("tune");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_argv);
	tcase_add_test(tc, test_array);
	tcase_add_test(tc, test_scripts);
	tcase_add_test(tc, test_local_pool);
	tcase_add_test(tc, test_parallel);
	tcase_add_test(tc, test_missing_engine);
	tcase_add_test(tc, test_worker);
	suite_add_tcase(s, tc);
	return s;
}
