/*
 * search: what a hyper-parameter search over tabpipe-train's options
 * draws and decides, apart from running anything (registry/tune.h runs
 * the trials, registry/study.h keeps them): the space of the search, the
 * point each trial trains with, the rungs of successive halving, the
 * trials that go up a rung, and the best trial.
 *
 * The space: each parameter is one of train's options, by its long name
 * ("lr", "d-model"), with a range of numbers (float or int, drawn
 * uniformly or, with log, uniformly in the logarithm) or a list of
 * choices, each as the option takes it ("balanced", "1,4"); the choice
 * "default" leaves the option out, so that train's default stands. Its
 * text form is one parameter a line, "#" starting a comment:
 *
 *     lr            float  1e-4 1e-2 log
 *     layers        int    1 4
 *     d-model       choice 8 16 32
 *     class-weight  choice default balanced
 *
 * Every bound and choice is checked by the option's own entry in train's
 * tables (lib/base/option.h): its range, its parse. A point that train
 * would refuse as a whole (heads that do not divide d-model) is drawn
 * again.
 *
 * Sampling: the N points of a study are a Latin hypercube: each
 * parameter's range is cut into N strata of equal chance, a permutation
 * drawn from the seed and the parameter's name gives each trial its own
 * stratum, and the place within it is drawn from the seed and the trial's
 * number. So the points cover every range evenly however small N is, and
 * trial k's point depends on the seed, N and k alone, not on the order in
 * which trials run or on what they found. Numbers are kept to 3
 * significant digits.
 *
 * Successive halving (Jamieson and Talwalkar 2016; Li et al. 2018's
 * Hyperband bracket): N points train for the smallest budget of epochs,
 * the best 1/eta of them again for eta times as many, and so on to the
 * most epochs. The rungs are synchronous: a rung's promotions are chosen
 * when all of it has run, so they depend on the results alone, not on
 * which trial ended first, and a search is the same from the same seed
 * wherever its trials run. Random search is one rung, every trial at the
 * most epochs.
 */
#ifndef TP_SEARCH_H
#define TP_SEARCH_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "train/train.h"

enum tp_hparam_kind { TP_HPARAM_FLOAT, TP_HPARAM_INT, TP_HPARAM_CHOICE };

enum {
	TP_SPACE_MAX = 32,    /* parameters in a space */
	TP_HPARAM_CHOICES = 16,/* choices of a parameter */
	TP_HPARAM_TEXT = 32,   /* bytes of a name or a choice, NUL included */
	TP_SEARCH_RUNGS = 16, /* rungs of a search */
};

typedef struct {
	char name[TP_HPARAM_TEXT];  /* train's long option, "lr" */
	enum tp_hparam_kind kind;
	double low, high;          /* a float's or int's range, both in it */
	int log;                   /* drawn uniformly in the logarithm */
	int nchoices;              /* a choice's values, as train takes them;
	                              "default" leaves the option out */
	char choices[TP_HPARAM_CHOICES][TP_HPARAM_TEXT];
} tp_hparam;

typedef struct {
	int n;                     /* parameters, in the order given */
	tp_hparam p[TP_SPACE_MAX];
} tp_space;

/* The space searched when none is given: lr 1e-4..1e-2 and weight-decay
 * 1e-6..1e-1 in the logarithm, dropout 0..0.3, d-model 8 16 32 64,
 * layers 1..6, heads 1 2 4 8, d-ff 16..256 in powers of 2, batch 64..512
 * likewise, warmup 0..0.2, class-weight default or balanced. */
void tp_space_default(tp_space *s);

/* Adds the parameter of one line of the text form, or replaces the one of
 * that name; a blank or comment line adds nothing. where ("space:3",
 * "--param") starts the message of a line that is wrong: TP_EUSAGE. */
int tp_space_line(tp_space *s, const char *line, const char *where,
    tp_err *e);
/* Reads a whole space from text (a file's bytes, path for messages),
 * replacing what s held; a space with no parameter is refused. */
int tp_space_read(tp_space *s, const char *text, const char *path,
    tp_err *e);
/* Removes the parameter name; 1 if it was there. */
int tp_space_remove(tp_space *s, const char *name);
/* The parameter name, or NULL. */
const tp_hparam *tp_space_find(const tp_space *s, const char *name);
/* A parameter as a line of the text form, into buf. */
const char *tp_hparam_text(const tp_hparam *p, char *buf, size_t n);

/* The space as JSON, an array of objects {"name", "kind", "low", "high",
 * "log"} or {"name", "kind", "choices"}; NULL without memory. */
cJSON *tp_space_json(const tp_space *s);
/* The same read back, every parameter checked as a line is: TP_EDATA. */
int tp_space_from_json(tp_space *s, const cJSON *j, tp_err *e);

/* Train's options given to every trial (args, as on train's command line)
 * taken out of the search: each one of train's option tables that names
 * a parameter of s removes it from s, so that what is given is fixed, and
 * each of them is set in base (train's defaults, which a point is checked
 * over). Options outside the tables (--encoder file) and their values go
 * on untouched. --epochs (the trials' budget), --seed (the study's),
 * --checkpoint and --resume are refused: TP_EUSAGE. */
int tp_search_fixed(tp_space *s, const char *const *args, int n,
    tp_train_opts *base, tp_err *e);

/* The point of trial `trial` (1 to ntrials) of a study of ntrials drawn
 * with seed: an object of the parameters' values by name (numbers as
 * numbers, choices as numbers when they read as one, else strings,
 * "default" as null), in the space's order, checked over base. */
int tp_search_sample(const tp_space *s, const tp_train_opts *base,
    uint64_t seed, int ntrials, int trial, cJSON **point, tp_err *e);
/* Sets the values of point in o, each through its option's entry:
 * TP_EUSAGE naming the first that the option refuses, or a model that
 * tp_config_check refuses. */
int tp_search_apply(const cJSON *point, tp_train_opts *o, tp_err *e);
/* A value of a point as train's command line takes it, into buf; NULL for
 * null (the option left out). */
const char *tp_search_value_text(const cJSON *v, char *buf, size_t n);

typedef struct {
	int trials;      /* the points drawn: the first rung's trials */
	int eta;         /* halving: the best 1/eta go up a rung; 0 for
	                    random search, one rung */
	int min_epochs;  /* halving: the first rung's budget at least */
	int epochs;      /* the top rung's budget */
} tp_search_plan;

typedef struct {
	int epochs;      /* each trial's budget */
	int trials;      /* how many run on it */
} tp_rung;

/* The rungs of plan, from the first: for halving, budgets epochs /
 * eta^k (rounded, none under min_epochs) up to epochs, as many as the
 * trials fill (trials / eta^k of them, at least one), the lowest given up
 * first; for random search one rung. Returns their number, or a negative
 * status with e filled for a plan that is not one. */
int tp_search_rungs(const tp_search_plan *plan, tp_rung rungs[TP_SEARCH_RUNGS],
    tp_err *e);

/* A trial as the decisions see it. */
typedef struct {
	int number;      /* from 1 */
	int rung;        /* a later rung is higher */
	int done;        /* finished with a value */
	double value;    /* the validation AUC: higher is better */
} tp_search_trial;

/* The k trials among t[0..n) to go up a rung: the best values of those
 * done, ties to the lower number; into chosen, which has room for n
 * (indices of t, in the order of their numbers). Returns how many (fewer
 * than k when fewer are done). */
int tp_search_promote(const tp_search_trial *t, int n, int k, int *chosen);

/* The best trial of t[0..n): the highest value, ties to the higher rung,
 * then the lower number; -1 when none is done. */
int tp_search_best(const tp_search_trial *t, int n);

#endif
