#include <stdio.h>
#include <stdlib.h>

#include "cuda_test.h"

int
main(void)
{
	tp_cuda g;
	tp_err e = {0};
	int rc = tp_cuda_open(&g, 0, &e), failed;

	if (rc == TP_OK) {
		gpu = &g;
		printf("tests/cuda: on %s\n", g.name);
	} else if (rc == TP_EUNAVAILABLE) {
		fprintf(stderr, "tests/cuda: %s\n", e.msg);
	} else {
		fprintf(stderr, "tests/cuda: %s\n", e.msg);
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(cuda_adamw_suite());
	srunner_add_suite(sr, cuda_gemm_suite());
	srunner_add_suite(sr, cuda_layers_suite());
	srunner_add_suite(sr, cuda_model_suite());
	/* The device's context belongs to this process: no forks. */
	srunner_set_fork_status(sr, CK_NOFORK);
	/* Without a device the tests only say that they skip; a summary of
	 * them as passed would pretend. */
	srunner_run_all(sr, gpu != NULL ? CK_NORMAL : CK_SILENT);
	failed = srunner_ntests_failed(sr);
	if (gpu == NULL)
		printf("tests/cuda: %d tests skipped, none run: no CUDA device\n",
		    skipped);
	srunner_free(sr);
	tp_cuda_close(gpu);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
