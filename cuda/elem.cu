/*
 * elem.cu - own kernels where cuDNN and cuBLAS have nothing: bias,
 * dropout, optimizer steps, fill/scale/axpy, u8 -> f32, sum of squares;
 * the bias gradient is a cuBLAS gemv with a vector of ones.  Reductions
 * use a fixed grid and a fixed order, so results repeat bit for bit.
 * CPU twin: lib/cpu/cpu-elem.c.
 */
#include <limits.h>
#include <math.h>

#include "cuda.h"

#define T 256			/* threads per block */
#define FOR_I(n) for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < (n); \
	i += (long)gridDim.x * blockDim.x)

/* ---- bias: y[rows, c] += b[c];  db[c] = sum_rows dy[rows, c] ------------------- */
__global__ static void
bias_add_kernel(long n, int c, const float *b, float *y)
{
	FOR_I(n)
		y[i] += b[i % c];
}

int
cuda_bias_add(struct dl_backend_ctx *ctx, long rows, int c, const float *b, float *y)
{
	long n = rows * c;

	if (n > 0)
		LAUNCH(bias_add_kernel, cuda_blocks(n, T), T, ctx, n, c, b, y);
	return 0;
}

__global__ static void
fill_kernel(long n, float v, float *x)
{
	FOR_I(n)
		x[i] = v;
}

/* db = dy^T ones: dy[rows, c] row-major is column-major [c, rows] */
int
cuda_bias_bwd(struct dl_backend_ctx *ctx, long rows, int c, const float *dy, float *db)
{
	const float one = 1, zero = 0;

	if (c <= 0)
		return 0;
	if (rows <= 0) {
		CU(cudaMemsetAsync(db, 0, (size_t)c * sizeof *db, ctx->stream));
		return 0;
	}
	if (rows > INT_MAX)
		return CUDA_ERR(DL_ESHAPE, "bias: %ld rows: more than cuBLAS's %d", rows, INT_MAX);
	/* grown with the context's allocator (pool or not), which never frees
	 * a NULL block; only a new block is filled */
	if (ctx->ones.n < (size_t)rows * sizeof(float)) {
		long n;

		TRY(cuda_grow(ctx, &ctx->ones, (size_t)rows * sizeof(float), "bias gradient"));
		n = (long)(ctx->ones.n / sizeof(float));
		LAUNCH(fill_kernel, cuda_blocks(n, T), T, ctx, n, 1.0f, (float *)ctx->ones.p);
	}
	TRY(cuda_blas(ctx));
	CUBLAS(cublasSgemv(ctx->blas, CUBLAS_OP_N, c, (int)rows, &one, dy, c,
	    (const float *)ctx->ones.p, 1, &zero, db, 1));
	return 0;
}

/* ---- dropout: mask = u01(seed, i) < p ? 0 : 1/(1-p);  y = x mask ------------------ */

/* the mask of lib/kernels.h, which the CPU backend shares: the same bits */
__global__ static void
dropout_fwd_kernel(long n, float p, float keep, uint64_t seed, uint64_t i0, const float *x,
    float *mask, float *y)
{
	FOR_I(n) {
		float m = dl_dropout_mask(seed, i0 + (uint64_t)i, p, keep);

		mask[i] = m;
		y[i] = x[i] * m;
	}
}

__global__ static void
mul_kernel(long n, const float *a, const float *b, float *y)
{
	FOR_I(n)
		y[i] = a[i] * b[i];
}

int
cuda_dropout_fwd(struct dl_backend_ctx *ctx, long n, float p, uint64_t seed, uint64_t i0,
    const float *x, float *mask, float *y)
{
	float keep = p < 1 ? 1.0f / (1.0f - p) : 0;

	if (n > 0)
		LAUNCH(dropout_fwd_kernel, cuda_blocks(n, T), T, ctx, n, p, keep, seed, i0, x, mask, y);
	return 0;
}

int
cuda_dropout_bwd(struct dl_backend_ctx *ctx, long n, const float *mask, const float *dy,
    float *dx)
{
	if (n > 0)
		LAUNCH(mul_kernel, cuda_blocks(n, T), T, ctx, n, dy, mask, dx);
	return 0;
}

/* ---- optimizer steps (g' = g + wd w) ------------------------------------------------
 * sgd:  v = momentum v + g';  w -= lr (nesterov ? g' + momentum v : v)
 * adam: m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2;
 *       w -= lr (m c1) / (sqrt(v c2) + eps), c1 = 1/(1-b1^t), c2 = 1/(1-b2^t) */
__global__ static void
sgd_kernel(long n, float *w, const float *g, float lr, float wd)
{
	FOR_I(n)
		w[i] -= lr * (g[i] + wd * w[i]);
}

__global__ static void
sgdm_kernel(long n, float *w, const float *g, float *v, float lr, float momentum, float wd,
    int nesterov)
{
	FOR_I(n) {
		float gi = g[i] + wd * w[i], vi = momentum * v[i] + gi;

		v[i] = vi;
		w[i] -= lr * (nesterov ? gi + momentum * vi : vi);
	}
}

__global__ static void
adam_kernel(long n, float *w, const float *g, float *m, float *v, float lr, float b1,
    float b2, float eps, float wd, float c1, float c2)
{
	FOR_I(n) {
		float gi = g[i] + wd * w[i];
		float mi = b1 * m[i] + (1 - b1) * gi;
		float vi = b2 * v[i] + (1 - b2) * gi * gi;

		m[i] = mi;
		v[i] = vi;
		w[i] -= lr * (mi * c1) / (sqrtf(vi * c2) + eps);
	}
}

int
cuda_sgd_step(struct dl_backend_ctx *ctx, long n, float *w, const float *g, float *v,
    float lr, float momentum, float wd, int nesterov)
{
	if (n <= 0)
		return 0;
	if (momentum == 0 || !v)
		LAUNCH(sgd_kernel, cuda_blocks(n, T), T, ctx, n, w, g, lr, wd);
	else
		LAUNCH(sgdm_kernel, cuda_blocks(n, T), T, ctx, n, w, g, v, lr, momentum, wd, nesterov);
	return 0;
}

int
cuda_adam_step(struct dl_backend_ctx *ctx, long n, float *w, const float *g, float *m,
    float *v, float lr, float b1, float b2, float eps, float wd, long t)
{
	float c1 = (float)(1.0 / (1.0 - pow(b1, (double)t)));
	float c2 = (float)(1.0 / (1.0 - pow(b2, (double)t)));

	if (n > 0)
		LAUNCH(adam_kernel, cuda_blocks(n, T), T, ctx, n, w, g, m, v, lr, b1, b2, eps, wd,
		    c1, c2);
	return 0;
}

/* ---- x = v;  x *= a;  y += a x;  y = a x + b (uint8 x) ------------------------------ */
__global__ static void
scale_kernel(long n, float a, float *x)
{
	FOR_I(n)
		x[i] *= a;
}

__global__ static void
axpy_kernel(long n, float a, const float *x, float *y)
{
	FOR_I(n)
		y[i] += a * x[i];
}

__global__ static void
u8_kernel(long n, const uint8_t *x, float a, float b, float *y)
{
	FOR_I(n)
		y[i] = a * x[i] + b;
}

int
cuda_fill(struct dl_backend_ctx *ctx, long n, float v, float *x)
{
	if (n > 0)
		LAUNCH(fill_kernel, cuda_blocks(n, T), T, ctx, n, v, x);
	return 0;
}

int
cuda_scale(struct dl_backend_ctx *ctx, long n, float a, float *x)
{
	if (n > 0)
		LAUNCH(scale_kernel, cuda_blocks(n, T), T, ctx, n, a, x);
	return 0;
}

int
cuda_axpy(struct dl_backend_ctx *ctx, long n, float a, const float *x, float *y)
{
	if (n > 0)
		LAUNCH(axpy_kernel, cuda_blocks(n, T), T, ctx, n, a, x, y);
	return 0;
}

int
cuda_u8_to_f32(struct dl_backend_ctx *ctx, long n, const uint8_t *x, float a, float b,
    float *y)
{
	if (n > 0)
		LAUNCH(u8_kernel, cuda_blocks(n, T), T, ctx, n, x, a, b, y);
	return 0;
}

/* ---- out[0] = sum x^2 in double: CUDA_PART blocks of partial sums (a fixed
 * grid, so a fixed order), then one block adds them up ---------------------------- */
__device__ static double
block_sum(double v, double *sh)
{
	sh[threadIdx.x] = v;
	__syncthreads();
	for (int o = blockDim.x / 2; o > 0; o >>= 1) {
		if ((int)threadIdx.x < o)
			sh[threadIdx.x] += sh[threadIdx.x + o];
		__syncthreads();
	}
	return sh[0];
}

__global__ static void
sumsq_part_kernel(long n, const float *x, double *part)
{
	__shared__ double sh[T];
	double s = 0;

	FOR_I(n)
		s += (double)x[i] * x[i];
	s = block_sum(s, sh);
	if (threadIdx.x == 0)
		part[blockIdx.x] = s;
}

__global__ static void
sumsq_final_kernel(int np, const double *part, float *out)
{
	__shared__ double sh[T];
	double s = 0;

	for (int i = threadIdx.x; i < np; i += blockDim.x)
		s += part[i];
	s = block_sum(s, sh);
	if (threadIdx.x == 0)
		out[0] = (float)s;
}

int
cuda_sumsq(struct dl_backend_ctx *ctx, long n, const float *x, float *out)
{
	LAUNCH(sumsq_part_kernel, CUDA_PART, T, ctx, n < 0 ? 0 : n, x, ctx->part);
	LAUNCH(sumsq_final_kernel, 1, T, ctx, CUDA_PART, ctx->part, out);
	return 0;
}
