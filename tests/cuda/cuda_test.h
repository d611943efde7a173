/*
 * cuda_test: the GPU test runner's shared parts. Every test compares the
 * CUDA backend with the CPU one (lib/model/mat.h, lib/model/layers.h,
 * lib/model/optim.h) on the same random inputs.
 *
 * The runner opens one device for all tests and runs them in its own
 * process (a CUDA context does not survive fork). Without a device each
 * test prints "skip: no CUDA device (NAME)" and passes nothing: the runner
 * prints the count of tests skipped, no Check summary, and exits 0.
 *
 * Closeness: an element's error relative to its CPU value, or to a tenth
 * of the tensor's largest CPU value where the element is smaller, must be
 * under TOL. float32 sums of terms of mixed signs lose relative accuracy
 * near zero on any device, in any order of summation, so elements near
 * zero are judged at the tensor's scale.
 */
#ifndef TP_CUDA_TEST_H
#define TP_CUDA_TEST_H

#include <stddef.h>
#include <stdio.h>

#include <check.h>

#include "base/rng.h"
#include "model/cuda/device.h"

#define TOL 1e-4

/* The device, NULL when there is none; the tests skipped for want of it. */
extern tp_cuda *gpu;
extern int skipped;

/* Skips the test when there is no device. */
#define NEED_GPU(name) do { \
	if (gpu == NULL) { \
		printf("skip: no CUDA device (%s)\n", (name)); \
		skipped++; \
		fflush(stdout); \
		return; \
	} \
} while (0)

/* Host and device memory that release() frees at the end of a test. */
float *host_randn(size_t n, tp_rng *r, float scale);
void *host_copy(const void *src, size_t bytes);
void *dev_copy(const void *src, size_t bytes);
void release(void);

/* The largest error of got against want, by the measure above; where
 * says at which element. */
double rel_err(const float *got, const float *want, size_t n, size_t *where);

/* Downloads n floats at dev and checks them against the CPU's want, to
 * TOL or to tol. */
void check_close(const float *dev, const float *want, size_t n,
    const char *what);
void check_close_tol(const float *dev, const float *want, size_t n,
    double tol, const char *what);
/* A scalar (a loss, a norm) by the same measure. */
void check_scalar(float got, float want, double tol, const char *what);

Suite *cuda_adamw_suite(void);
Suite *cuda_gemm_suite(void);
Suite *cuda_layers_suite(void);
Suite *cuda_model_suite(void);

#endif
