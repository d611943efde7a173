/*
 * suites: one Check suite per library module, run together by main.c.
 * Test data lives in $TP_TESTDATA (tests/data) and the real data sets in
 * $TP_DATA (data/).
 */
#ifndef TP_SUITES_H
#define TP_SUITES_H

#include <check.h>

Suite *csv_suite(void);
Suite *drift_suite(void);
Suite *encoding_suite(void);
Suite *evaluate_suite(void);
Suite *golden_suite(void);
Suite *ingest_suite(void);
Suite *layers_suite(void);
Suite *mat_suite(void);
Suite *metrics_suite(void);
Suite *model_suite(void);
Suite *predict_suite(void);
Suite *profile_suite(void);
Suite *registry_suite(void);
Suite *sha256_suite(void);
Suite *stream_suite(void);

#endif
