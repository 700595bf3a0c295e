/*
 * up.cu - nearest-neighbour upsampling by f, NHWC (backend.h
 * upsample_fwd/upsample_bwd): one thread per output element forward, one
 * per input element backward, summing its f x f block of dy in the order
 * the CPU does (rows, then columns), so the two agree bit for bit.
 * CPU twin: lib/cpu/cpu-up.c.
 */
#include "cuda.h"

#define T 256			/* threads per block */
#define FOR_I(n) for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < (n); \
	i += (long)gridDim.x * blockDim.x)

/* y[n, H f, W f, c] from x[n, H, W, c] */
__global__ static void
up_fwd_kernel(long total, int h, int w, int c, int f, const float *x, float *y)
{
	FOR_I(total) {
		long r = i;
		int k = (int)(r % c), ow, oh;

		r /= c;
		ow = (int)(r % ((long)w * f));
		r /= (long)w * f;
		oh = (int)(r % ((long)h * f));
		r /= (long)h * f;
		y[i] = x[((r * h + oh / f) * w + ow / f) * c + k];
	}
}

__global__ static void
up_bwd_kernel(long total, int h, int w, int c, int f, const float *dy, float *dx)
{
	FOR_I(total) {
		long r = i, W = (long)w * f * c;
		int k = (int)(r % c), j;
		float s = 0;

		r /= c;
		j = (int)(r % w);
		r /= w;				/* r = n h + row */
		for (int a = 0; a < f; a++)
			for (int b = 0; b < f; b++)
				s += dy[(r * f + a) * W + ((long)j * f + b) * c + k];
		dx[i] = s;
	}
}

int
cuda_upsample_fwd(struct dl_backend_ctx *ctx, int n, int h, int w, int c, int f,
    const float *x, float *y)
{
	long total = (long)n * h * f * w * f * c;

	if (total > 0)
		LAUNCH(up_fwd_kernel, cuda_blocks(total, T), T, ctx, total, h, w, c, f, x, y);
	return 0;
}

int
cuda_upsample_bwd(struct dl_backend_ctx *ctx, int n, int h, int w, int c, int f,
    const float *dy, float *dx)
{
	long total = (long)n * h * w * c;

	if (total > 0)
		LAUNCH(up_bwd_kernel, cuda_blocks(total, T), T, ctx, total, h, w, c, f, dy, dx);
	return 0;
}
