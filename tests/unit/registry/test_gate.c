/*
 * test_gate: the promotion gates: parsing (with the column of each error),
 * checking values against them, and the metrics they may name. The
 * promotions that use them are test_registry.c's.
 */
#include <math.h>
#include <string.h>

#include "registry/gate.h"
#include "suites.h"

static tp_gate
parse_ok(const char *expr)
{
	tp_gate g;
	tp_err e = {0};

	ck_assert_msg(tp_gate_parse(expr, &g, &e) == TP_OK, "%s: %s", expr, e.msg);
	return g;
}

/* Parsing expr fails with a usage error whose message holds want. */
static void
parse_fails(const char *expr, const char *want)
{
	tp_gate g;
	tp_err e = {0};

	ck_assert_int_eq(tp_gate_parse(expr, &g, &e), TP_EUSAGE);
	ck_assert_int_eq(e.code, TP_EUSAGE);
	ck_assert_msg(strstr(e.msg, want) != NULL, "%s: \"%s\" lacks \"%s\"",
	    expr, e.msg, want);
}

START_TEST(test_parse)
{
	tp_gate g = parse_ok("auc>=0.70");
	ck_assert_str_eq(g.metric, "auc");
	ck_assert_int_eq(g.op, TP_GATE_GE);
	ck_assert(g.threshold == 0.70);
	ck_assert_str_eq(g.text, "auc>=0.7");

	g = parse_ok("  log_loss <\t0.6 ");
	ck_assert_str_eq(g.metric, "log_loss");
	ck_assert_int_eq(g.op, TP_GATE_LT);
	ck_assert_str_eq(g.text, "log_loss<0.6");

	ck_assert_int_eq(parse_ok("f1>0.3").op, TP_GATE_GT);
	ck_assert_int_eq(parse_ok("brier<=0.25").op, TP_GATE_LE);
	ck_assert_int_eq(parse_ok("accuracy==1").op, TP_GATE_EQ);
	ck_assert(parse_ok("ks>=1e-2").threshold == 0.01);
	ck_assert(parse_ok("gini >= -0.5").threshold == -0.5);
	ck_assert_str_eq(parse_ok("pr_auc>0.123456789012").text,
	    "pr_auc>0.123456789012");
	ck_assert_str_eq(parse_ok("precision>=.5").text, "precision>=0.5");
	ck_assert_str_eq(parse_ok("recall > 0.6").text, "recall>0.6");
}
END_TEST

START_TEST(test_parse_errors)
{
	parse_fails("", "column 1: expected a metric");
	parse_fails(">=0.7", "\">=0.7\": column 1: expected a metric");
	parse_fails("aux>=0.7", "column 1: unknown metric \"aux\"");
	parse_fails("  AUC>=0.7", "column 3: unknown metric \"AUC\"");
	parse_fails("a_metric_name_too_long_to_keep>=1", "unknown metric");
	parse_fails("auc", "column 4: expected an operator");
	parse_fails("auc=0.7", "column 4: expected an operator");
	parse_fails("auc!=0.7", "column 4: expected an operator");
	parse_fails("auc>=", "column 6: expected a number after \">=\"");
	parse_fails("auc>=x", "\"auc>=x\": column 6: expected a number");
	parse_fails("auc >= 0.7.1", "column 8: expected a number");
	parse_fails("auc>=0.7x", "column 9: unexpected \"x\" after the number");
	parse_fails("auc>=0.7 and f1>0.3", "column 10: unexpected \"and");
	parse_fails("auc>=nan", "column 6: expected a number");
	parse_fails("auc>=>0.7", "column 6: expected a number");
	/* The message names the metrics to choose from. */
	parse_fails("roc>1", "log_loss, brier");
}
END_TEST

START_TEST(test_pass)
{
	tp_gate ge = parse_ok("auc>=0.7"), gt = parse_ok("auc>0.7");
	tp_gate le = parse_ok("brier<=0.2"), lt = parse_ok("brier<0.2");
	tp_gate eq = parse_ok("accuracy==1");

	ck_assert(tp_gate_pass(&ge, 0.7));
	ck_assert(tp_gate_pass(&ge, 0.71));
	ck_assert(!tp_gate_pass(&ge, 0.69999));
	ck_assert(!tp_gate_pass(&gt, 0.7));
	ck_assert(tp_gate_pass(&gt, 0.7000001));
	ck_assert(tp_gate_pass(&le, 0.2));
	ck_assert(!tp_gate_pass(&le, 0.2000001));
	ck_assert(!tp_gate_pass(&lt, 0.2));
	ck_assert(tp_gate_pass(&lt, 0.1));
	ck_assert(tp_gate_pass(&eq, 1));
	ck_assert(!tp_gate_pass(&eq, 0.9999999));
	/* A metric that was not measured passes no gate, whatever its sense. */
	ck_assert(!tp_gate_pass(&ge, NAN));
	ck_assert(!tp_gate_pass(&lt, NAN));
	ck_assert(!tp_gate_pass(&eq, NAN));
}
END_TEST

START_TEST(test_metrics)
{
	static const char *const higher[] = {"auc", "gini", "ks", "pr_auc", "f1",
	    "precision", "recall", "accuracy"};
	int lower = -1;

	for (size_t i = 0; i < sizeof(higher) / sizeof(higher[0]); i++) {
		ck_assert(tp_gate_metric(higher[i], &lower));
		ck_assert_msg(lower == 0, "%s", higher[i]);
		ck_assert(strstr(tp_gate_metric_names(), higher[i]) != NULL);
	}
	ck_assert(tp_gate_metric("log_loss", &lower) && lower == 1);
	ck_assert(tp_gate_metric("brier", &lower) && lower == 1);
	ck_assert(tp_gate_metric("auc", NULL));
	ck_assert(!tp_gate_metric("Auc", NULL));
	ck_assert(!tp_gate_metric("loss", NULL));
	ck_assert(!tp_gate_metric("", NULL));
	ck_assert_str_eq(tp_gate_op_text(TP_GATE_GE), ">=");
	ck_assert_str_eq(tp_gate_op_text(TP_GATE_GT), ">");
	ck_assert_str_eq(tp_gate_op_text(TP_GATE_LE), "<=");
	ck_assert_str_eq(tp_gate_op_text(TP_GATE_LT), "<");
	ck_assert_str_eq(tp_gate_op_text(TP_GATE_EQ), "==");
}
END_TEST

Suite *
gate_suite(void)
{
	Suite *s = suite_create("gate");
	TCase *tc = tcase_create("gates");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_pass);
	tcase_add_test(tc, test_metrics);
	suite_add_tcase(s, tc);
	return s;
}
