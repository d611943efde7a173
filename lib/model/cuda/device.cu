#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "model/cuda/device.h"

int
tp_cuda_open(tp_cuda *g, int device, tp_err *e)
{
	cudaDeviceProp prop;
	cudaError_t rc;
	int count = 0;

	memset(g, 0, sizeof(*g));
	/* The first call starts the runtime: no driver, no device and a
	 * driver too old for this toolkit all fail here. */
	if ((rc = cudaGetDeviceCount(&count)) != cudaSuccess)
		return tp_err_set(e, TP_EUNAVAILABLE, "no CUDA device: %s",
		    cudaGetErrorString(rc));
	if (count == 0)
		return tp_err_set(e, TP_EUNAVAILABLE,
		    "no CUDA device: the driver sees none");
	if (device < 0 || device >= count)
		return tp_err_set(e, TP_EUNAVAILABLE,
		    "no CUDA device %d: there %s %d (0 to %d)", device,
		    count == 1 ? "is" : "are", count, count - 1);
	g->device = device;
	if ((rc = cudaSetDevice(device)) != cudaSuccess ||
	    (rc = cudaGetDeviceProperties(&prop, device)) != cudaSuccess)
		return tp_err_set(e, TP_EUNAVAILABLE, "no CUDA device: device "
		    "%d: %s", device, cudaGetErrorString(rc));
	snprintf(g->name, sizeof(g->name), "%s", prop.name);
	if ((rc = cudaStreamCreateWithFlags(&g->stream,
	    cudaStreamNonBlocking)) != cudaSuccess ||
	    (rc = cudaEventCreateWithFlags(&g->staged,
	    cudaEventDisableTiming)) != cudaSuccess) {
		tp_cuda_close(g);
		return tp_err_set(e, TP_EINTERNAL, "CUDA device %d: %s", device,
		    cudaGetErrorString(rc));
	}
	cublasStatus_t st = cublasCreate(&g->blas);
	if (st == CUBLAS_STATUS_SUCCESS)
		st = cublasSetStream(g->blas, g->stream);
	if (st != CUBLAS_STATUS_SUCCESS) {
		tp_cuda_close(g);
		return tp_err_set(e, TP_EINTERNAL, "cuBLAS on device %d: %s",
		    device, cublasGetStatusString(st));
	}
	return TP_OK;
}

void
tp_cuda_close(tp_cuda *g)
{
	if (g == NULL)
		return;
	if (g->stream != NULL)
		cudaStreamSynchronize(g->stream);
	if (g->blas != NULL)
		cublasDestroy(g->blas);
	if (g->stage != NULL)
		cudaFreeHost(g->stage);
	if (g->staged != NULL)
		cudaEventDestroy(g->staged);
	if (g->scratch != NULL)
		cudaFree(g->scratch);
	if (g->stream != NULL)
		cudaStreamDestroy(g->stream);
	memset(g, 0, sizeof(*g));
}

int
tp_cuda_fail(tp_cuda *g, int code, const char *fmt, ...)
{
	va_list ap;

	if (g->status != TP_OK)
		return g->status;
	g->status = code;
	g->err.code = code;
	va_start(ap, fmt);
	vsnprintf(g->err.msg, sizeof(g->err.msg), fmt, ap);
	va_end(ap);
	return code;
}

int
tp_cuda_launched(tp_cuda *g, const char *what)
{
	cudaError_t rc = cudaGetLastError();

	if (rc != cudaSuccess)
		tp_cuda_fail(g, TP_EINTERNAL, "CUDA kernel %s: %s", what,
		    cudaGetErrorString(rc));
	return g->status;
}

int
tp_cuda_sync(tp_cuda *g, tp_err *e)
{
	cudaError_t rc = cudaStreamSynchronize(g->stream);

	if (rc != cudaSuccess)
		tp_cuda_fail(g, TP_EINTERNAL, "CUDA device %d: %s", g->device,
		    cudaGetErrorString(rc));
	int status = g->status;
	if (status != TP_OK) {
		tp_err_set(e, status, "%s", g->err.msg);
		g->status = TP_OK;
		memset(&g->err, 0, sizeof(g->err));
	}
	return status;
}

int
tp_cuda_alloc(tp_cuda *g, void **p, size_t bytes, const char *what,
    tp_err *e)
{
	cudaError_t rc = cudaMalloc(p, bytes);

	if (rc != cudaSuccess) {
		*p = NULL;
		/* A failed cudaMalloc is not sticky: clear it so that the next
		 * launch does not report it as its own. */
		cudaGetLastError();
		return tp_err_set(e, TP_EINTERNAL,
		    "CUDA device %d: allocating %s (%zu bytes): %s", g->device,
		    what, bytes, cudaGetErrorString(rc));
	}
	return TP_OK;
}

void
tp_cuda_free(void *p)
{
	if (p != NULL)
		cudaFree(p);
}

int
tp_cuda_upload(tp_cuda *g, void *dst, const void *src, size_t bytes,
    tp_err *e)
{
	/* From pageable memory the copy returns once src has been read. */
	cudaError_t rc = cudaMemcpyAsync(dst, src, bytes,
	    cudaMemcpyHostToDevice, g->stream);

	if (rc != cudaSuccess)
		return tp_err_set(e, TP_EIO, "CUDA device %d: copying %zu "
		    "bytes to the device: %s", g->device, bytes,
		    cudaGetErrorString(rc));
	return TP_OK;
}

int
tp_cuda_fetch(tp_cuda *g, void *dst, const void *src, size_t bytes)
{
	if (g->status != TP_OK)
		return g->status;
	cudaError_t rc = cudaMemcpyAsync(dst, src, bytes,
	    cudaMemcpyDeviceToHost, g->stream);
	if (rc != cudaSuccess)
		return tp_cuda_fail(g, TP_EIO, "CUDA device %d: copying %zu "
		    "bytes from the device: %s", g->device, bytes,
		    cudaGetErrorString(rc));
	if ((rc = cudaStreamSynchronize(g->stream)) != cudaSuccess)
		tp_cuda_fail(g, TP_EINTERNAL, "CUDA device %d: %s", g->device,
		    cudaGetErrorString(rc));
	return g->status;
}

int
tp_cuda_download(tp_cuda *g, void *dst, const void *src, size_t bytes,
    tp_err *e)
{
	tp_cuda_fetch(g, dst, src, bytes);
	return tp_cuda_sync(g, e);
}

void
tp_cuda_zero(tp_cuda *g, void *p, size_t bytes)
{
	if (g->status != TP_OK)
		return;
	cudaError_t rc = cudaMemsetAsync(p, 0, bytes, g->stream);
	if (rc != cudaSuccess)
		tp_cuda_fail(g, TP_EINTERNAL, "CUDA device %d: zeroing %zu "
		    "bytes: %s", g->device, bytes, cudaGetErrorString(rc));
}

/*
 * cuBLAS is column-major. A row-major (r,c) matrix with leading dimension
 * ld is, read column-major, its transpose (c,r) with the same ld; so the
 * row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T:
 * the same call with A and B swapped and m and n swapped, and no
 * transposes added.
 */
void
tp_cuda_gemm(tp_cuda *g, int ta, int tb, int m, int n, int k, float alpha,
    const float *a, int lda, const float *b, int ldb, float beta, float *c,
    int ldc)
{
	if (g->status != TP_OK)
		return;
	cublasStatus_t st = cublasSgemm(g->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
	    ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a, lda,
	    &beta, c, ldc);
	if (st != CUBLAS_STATUS_SUCCESS)
		tp_cuda_fail(g, TP_EINTERNAL, "cuBLAS sgemm (%d,%d,%d): %s", m,
		    n, k, cublasGetStatusString(st));
}

void
tp_cuda_gemm_batched(tp_cuda *g, int ta, int tb, int m, int n, int k,
    float alpha, const float *a, int lda, long stride_a, const float *b,
    int ldb, long stride_b, float beta, float *c, int ldc, long stride_c,
    int count)
{
	if (g->status != TP_OK)
		return;
	cublasStatus_t st = cublasSgemmStridedBatched(g->blas,
	    tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
	    n, m, k, &alpha, b, ldb, stride_b, a, lda, stride_a, &beta, c,
	    ldc, stride_c, count);
	if (st != CUBLAS_STATUS_SUCCESS)
		tp_cuda_fail(g, TP_EINTERNAL,
		    "cuBLAS sgemm strided batched (%d,%d,%d)x%d: %s", m, n, k,
		    count, cublasGetStatusString(st));
}

float *
tp_cuda_stage(tp_cuda *g, size_t n)
{
	if (g->status != TP_OK)
		return NULL;
	/* The previous upload may still be reading the buffer. */
	cudaError_t rc = cudaEventSynchronize(g->staged);
	if (rc == cudaSuccess && n > g->stage_n) {
		cudaFreeHost(g->stage);
		g->stage = NULL;
		g->stage_n = 0;
		if ((rc = cudaMallocHost((void **)&g->stage,
		    n * sizeof(float))) == cudaSuccess)
			g->stage_n = n;
	}
	if (rc != cudaSuccess) {
		tp_cuda_fail(g, TP_EINTERNAL, "CUDA: %zu floats of pinned host "
		    "memory: %s", n, cudaGetErrorString(rc));
		return NULL;
	}
	return g->stage;
}

void
tp_cuda_stage_upload(tp_cuda *g, float *dst, size_t n)
{
	if (g->status != TP_OK)
		return;
	cudaError_t rc = cudaMemcpyAsync(dst, g->stage, n * sizeof(float),
	    cudaMemcpyHostToDevice, g->stream);
	if (rc == cudaSuccess)
		rc = cudaEventRecord(g->staged, g->stream);
	if (rc != cudaSuccess)
		tp_cuda_fail(g, TP_EIO, "CUDA device %d: copying %zu floats to "
		    "the device: %s", g->device, n, cudaGetErrorString(rc));
}

void *
tp_cuda_scratch(tp_cuda *g, size_t bytes)
{
	if (g->status != TP_OK)
		return NULL;
	if (bytes <= g->scratch_bytes)
		return g->scratch;
	/* Kernels issued before may still use the old scratch. */
	cudaError_t rc = cudaStreamSynchronize(g->stream);
	if (rc == cudaSuccess) {
		cudaFree(g->scratch);
		g->scratch = NULL;
		g->scratch_bytes = 0;
		if ((rc = cudaMalloc(&g->scratch, bytes)) == cudaSuccess)
			g->scratch_bytes = bytes;
		else
			cudaGetLastError();
	}
	if (rc != cudaSuccess) {
		tp_cuda_fail(g, TP_EINTERNAL, "CUDA device %d: %zu bytes of "
		    "scratch: %s", g->device, bytes, cudaGetErrorString(rc));
		return NULL;
	}
	return g->scratch;
}
