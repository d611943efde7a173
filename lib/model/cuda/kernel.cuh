/*
 * cuda/kernel: what the kernels of lib/model/cuda share: grid sizes, a thread's
 * index, and the reductions in a fixed order that keep the backend
 * deterministic. Device code, for the .cu files only.
 */
#ifndef TP_CUDA_KERNEL_CUH
#define TP_CUDA_KERNEL_CUH

enum { TP_THREADS = 256, TP_WARP = 32 };

/* Blocks of threads to cover n. */
static inline unsigned
tp_blocks(long n, int threads)
{
	return (unsigned)((n + threads - 1) / threads);
}

/* The launch configuration of one thread per element of n, on g's
 * stream: kernel<<<TP_GRID(g, n)>>>(...). */
#define TP_GRID(g, n) tp_blocks((n), TP_THREADS), TP_THREADS, 0, (g)->stream

/* The global index of a thread in a one-dimensional grid. */
static __device__ __forceinline__ long
tp_gid(void)
{
	return (long)blockIdx.x * blockDim.x + threadIdx.x;
}

/* A warp's sum. The butterfly leaves the same sum, bit for bit, in every
 * lane: each step adds the same two values in both lanes of a pair. */
static __device__ __forceinline__ float
tp_warp_sum(float v)
{
	for (int o = TP_WARP / 2; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

/* A block's sum in a fixed tree order, given to every thread; shared
 * holds blockDim.x doubles, a power of two. */
static __device__ __forceinline__ double
tp_block_sum(double v, double *shared)
{
	shared[threadIdx.x] = v;
	__syncthreads();
	for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s)
			shared[threadIdx.x] += shared[threadIdx.x + s];
		__syncthreads();
	}
	double sum = shared[0];
	__syncthreads();
	return sum;
}

#endif
