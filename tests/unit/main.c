#include <stdlib.h>

#include "suites.h"

int
main(void)
{
	SRunner *sr = srunner_create(csv_suite());
	int failed;

	srunner_add_suite(sr, drift_suite());
	srunner_add_suite(sr, encoding_suite());
	srunner_add_suite(sr, evaluate_suite());
	srunner_add_suite(sr, golden_suite());
	srunner_add_suite(sr, ingest_suite());
	srunner_add_suite(sr, layers_suite());
	srunner_add_suite(sr, mat_suite());
	srunner_add_suite(sr, metrics_suite());
	srunner_add_suite(sr, model_suite());
	srunner_add_suite(sr, predict_suite());
	srunner_add_suite(sr, profile_suite());
	srunner_add_suite(sr, registry_suite());
	srunner_add_suite(sr, sha256_suite());
	srunner_add_suite(sr, stream_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
