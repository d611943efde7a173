/*
 * cuda/device: the GPU backend's device, memory and matrix products
 * (make CUDA=1; TP_CUDA is then defined).
 *
 * A tp_cuda holds one device, the stream every copy and launch goes on, and
 * the cuBLAS handle bound to that stream; every function of lib/model/cuda
 * takes it first. Work on one stream runs in the order it is issued, so the
 * library never synchronises between layers: only a download, a returned
 * loss or norm, or tp_cuda_sync waits for the device.
 *
 * Pointers named as device memory (every float, int32 and int8 buffer of
 * the layers) come from tp_cuda_alloc. Host memory is only ever passed to
 * tp_cuda_upload and tp_cuda_download.
 *
 * Errors: the functions that allocate, copy or wait return a status of
 * lib/base/err.h and fill a tp_err; no device (no driver, none visible, or the
 * runtime cannot start) is TP_EUNAVAILABLE, "no CUDA device: ...". The
 * launches (layers, gemm) keep the void signatures of their CPU twins: a
 * failure is kept in the tp_cuda, the first one wins, the launches after it
 * do nothing, and the next tp_cuda_sync (or download) reports it. Faults
 * inside a kernel only show when the device is waited for, so they too
 * surface there.
 *
 * Matrix products are cuBLAS's sgemm in full float32 (no TF32 tensor-core
 * rounding, which cuBLAS only uses when asked), so they agree with
 * OpenBLAS to float32 rounding; cuBLAS gives the same bits on every run on
 * the same GPU model.
 */
#ifndef TP_CUDA_DEVICE_H
#define TP_CUDA_DEVICE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* lib/ is C: its declarations keep C linkage when the .cu files read
 * them. */
#include "base/err.h"

struct CUstream_st;
struct CUevent_st;
struct cublasContext;

typedef struct {
	int device;                  /* the CUDA ordinal */
	char name[256];              /* the device's name, for reports */
	struct CUstream_st *stream;  /* every copy and launch (cudaStream_t) */
	struct cublasContext *blas;  /* bound to stream (cublasHandle_t) */
	float *stage;                /* (stage_n) pinned host memory for
	                                random draws made on the host */
	size_t stage_n;
	struct CUevent_st *staged;   /* the last upload from stage is done */
	void *scratch;               /* (scratch_bytes) device memory for
	                                partial sums */
	size_t scratch_bytes;
	int status;                  /* the first failure of a launch, or
	                                TP_OK */
	tp_err err;                  /* its message */
} tp_cuda;

/* Opens device number device (0 is the first visible one; see
 * CUDA_VISIBLE_DEVICES). tp_cuda_close frees what open made; it accepts a
 * zeroed or half-opened tp_cuda. */
int tp_cuda_open(tp_cuda *g, int device, tp_err *e);
void tp_cuda_close(tp_cuda *g);

/* Waits for everything issued so far and reports the first failure since
 * the last report (then clears it). */
int tp_cuda_sync(tp_cuda *g, tp_err *e);

/* *p = bytes of device memory; what names it in the error. tp_cuda_free
 * accepts NULL. */
int tp_cuda_alloc(tp_cuda *g, void **p, size_t bytes, const char *what,
    tp_err *e);
void tp_cuda_free(void *p);
/* Host to device; src may be reused as soon as it returns. */
int tp_cuda_upload(tp_cuda *g, void *dst, const void *src, size_t bytes,
    tp_err *e);
/* Device to host; waits for dst to be filled, and reports any failure of
 * the launches before it. */
int tp_cuda_download(tp_cuda *g, void *dst, const void *src, size_t bytes,
    tp_err *e);
/* Zeroes bytes of device memory, in stream order. */
void tp_cuda_zero(tp_cuda *g, void *p, size_t bytes);

/* lib/model/mat.h's tp_gemm and tp_gemm_batched, with the same meaning of
 * every argument (row-major, op(A) (m,k), op(B) (k,n), leading dimensions and
 * strides in floats), on device pointers. */
void tp_cuda_gemm(tp_cuda *g, int ta, int tb, int m, int n, int k,
    float alpha, const float *a, int lda, const float *b, int ldb,
    float beta, float *c, int ldc);
void tp_cuda_gemm_batched(tp_cuda *g, int ta, int tb, int m, int n, int k,
    float alpha, const float *a, int lda, long stride_a, const float *b,
    int ldb, long stride_b, float beta, float *c, int ldc, long stride_c,
    int count);

/*
 * For the other modules of lib/model/cuda.
 */

/* Records a launch failure (the first one wins); returns g->status. */
int tp_cuda_fail(tp_cuda *g, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records the error, if any, of the launch just made of kernel what;
 * returns g->status. */
int tp_cuda_launched(tp_cuda *g, const char *what);
/* tp_cuda_download for a library function that returns a value, not a
 * status: a failure is kept in g, as a launch's is, for the caller's next
 * tp_cuda_sync. Returns g->status. */
int tp_cuda_fetch(tp_cuda *g, void *dst, const void *src, size_t bytes);
/* n floats of pinned host memory to fill and send with tp_cuda_stage_upload;
 * waits until the previous upload from it is done. NULL (and a recorded
 * failure) if it cannot grow. */
float *tp_cuda_stage(tp_cuda *g, size_t n);
/* Sends the first n staged floats to dst, without waiting. */
void tp_cuda_stage_upload(tp_cuda *g, float *dst, size_t n);
/* bytes of device scratch, valid until the next call; work issued before
 * is finished with the old scratch first. NULL (and a recorded failure) if
 * it cannot grow. */
void *tp_cuda_scratch(tp_cuda *g, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
