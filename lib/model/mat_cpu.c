#include <string.h>

#include <cblas.h>

#include "model/mat.h"

void
tp_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a,
    int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
	    tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
	    beta, c, ldc);
}

void
tp_gemm_batched(int ta, int tb, int m, int n, int k, float alpha,
    const float *a, int lda, long stride_a, const float *b, int ldb,
    long stride_b, float beta, float *c, int ldc, long stride_c, int count)
{
	for (int i = 0; i < count; i++)
		tp_gemm(ta, tb, m, n, k, alpha, a + i * stride_a, lda,
		    b + i * stride_b, ldb, beta, c + i * stride_c, ldc);
}

/*
 * tp_gemm_rows. Every element is start + a[0] b[0][j] + a[1] b[1][j] +
 * ... in that order (start being bias[j], 0 or what C held), whatever the
 * tile it falls in: the tiles only decide which elements share the loads.
 * Rows go four at a time; the last block repeats its last row where fewer
 * are left, so no row takes another path. A column takes the path of its
 * place in n alone: in a tile of 16 or 8 as wide vectors, or after them
 * one at a time.
 */
typedef float vec8 __attribute__((vector_size(32)));

/* By memcpy, which compiles to one unaligned load or store: a function
 * taking or returning a vec8 would have two ABIs, with AVX and without. */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(vec8))
#define STORE8(p, v) memcpy((p), &(v), sizeof(vec8))

enum { BLOCK_ROWS = 4 };

/* Columns j.. j+8*nvec-1 of the rows a[0..3] into c[0..3]. Every row
 * starts before any is stored: a repeated row starts from what C held. */
static inline __attribute__((always_inline)) void
rows_tile(int nvec, int k, const float *const a[BLOCK_ROWS], const float *b,
    int ldb, const float *bias, int add, float *const c[BLOCK_ROWS])
{
	vec8 acc[BLOCK_ROWS][2];

	for (int v = 0; v < nvec; v++) {
		vec8 start = {0};
		if (bias != NULL)
			LOAD8(start, bias + 8 * v);
		for (int r = 0; r < BLOCK_ROWS; r++)
			if (add)
				LOAD8(acc[r][v], c[r] + 8 * v);
			else
				acc[r][v] = start;
	}
	for (int p = 0; p < k; p++) {
		vec8 w[2];
		for (int v = 0; v < nvec; v++)
			LOAD8(w[v], b + (size_t)p * ldb + 8 * v);
		for (int r = 0; r < BLOCK_ROWS; r++)
			for (int v = 0; v < nvec; v++)
				acc[r][v] += a[r][p] * w[v];
	}
	for (int r = 0; r < BLOCK_ROWS; r++)
		for (int v = 0; v < nvec; v++)
			STORE8(c[r] + 8 * v, acc[r][v]);
}

WIDE void
tp_gemm_rows(int m, int n, int k, const float *a, int lda, const float *b,
    int ldb, const float *bias, int add, float *c, int ldc)
{
	int j = 0;

	while (j + 8 <= n) {
		int nvec = j + 16 <= n ? 2 : 1;
		for (int i = 0; i < m; i += BLOCK_ROWS) {
			const float *arow[BLOCK_ROWS];
			float *crow[BLOCK_ROWS];
			for (int r = 0; r < BLOCK_ROWS; r++) {
				int row = i + r < m ? i + r : m - 1;
				arow[r] = a + (size_t)row * lda;
				crow[r] = c + (size_t)row * ldc + j;
			}
			const float *bj = bias != NULL ? bias + j : NULL;
			/* A constant nvec, for each inlined copy. */
			if (nvec == 2)
				rows_tile(2, k, arow, b + j, ldb, bj, add, crow);
			else
				rows_tile(1, k, arow, b + j, ldb, bj, add, crow);
		}
		j += 8 * nvec;
	}
	for (; j < n; j++)
		for (int i = 0; i < m; i++) {
			const float *arow = a + (size_t)i * lda;
			float *cij = c + (size_t)i * ldc + j;
			float sum = add ? *cij : bias != NULL ? bias[j] : 0.0f;
			for (int p = 0; p < k; p++)
				sum += arow[p] * b[(size_t)p * ldb + j];
			*cij = sum;
		}
}

void
tp_mat_threads(int n)
{
	openblas_set_num_threads(n);
}
