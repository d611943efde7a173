/*
 * suites: the unit tests, one Check suite per library module, in folders
 * of the library's wings: tests/unit/WING/test_MODULE.c defines
 * MODULE_suite(), and main.c runs every suite the Makefile lists in
 * suites.inc. Test data lives in $TP_TESTDATA (tests/data), the real data
 * sets in $TP_DATA (data/), and the suites that need PostgreSQL find a
 * throwaway server in $TABPIPE_DB.
 */
#ifndef TP_SUITES_H
#define TP_SUITES_H

#include <check.h>

#define SUITE(name) Suite *name##_suite(void);
#include "suites.inc"
#undef SUITE

#endif
