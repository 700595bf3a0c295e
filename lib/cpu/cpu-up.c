/*
 * cpu-up.c - nearest-neighbour upsampling by f on the CPU, NHWC (backend.h
 * upsample_fwd/upsample_bwd).  CUDA twin: cuda/up.cu.
 *   fwd: every input pixel's C floats copied into its f x f block
 *   bwd: dx = the sum of dy over the block, rows then columns in order,
 *        one thread per input row, so the bits do not depend on threads
 */
#include <string.h>

/* memory-bound loops: let GCC vectorise them (-O2 keeps to cheap cases) */
#pragma GCC optimize("O3")

#include "base.h"
#include "cpu.h"

int
cpu_upsample_fwd(struct dl_backend_ctx *ctx, int n, int h, int w, int c, int f,
    const float *x, float *y)
{
	long rows = (long)n * h;
	size_t W = (size_t)w * f * c;		/* floats in an output row */

	#pragma omp parallel for num_threads(ctx->threads) schedule(static)
	for (long r = 0; r < rows; r++) {
		const float *xr = x + (size_t)r * w * c;
		float *yr = y + (size_t)r * f * W;

		for (int j = 0; j < w; j++)
			for (int b = 0; b < f; b++)
				memcpy(yr + ((size_t)j * f + b) * c, xr + (size_t)j * c, c * sizeof *yr);
		for (int a = 1; a < f; a++)
			memcpy(yr + a * W, yr, W * sizeof *yr);
	}
	return 0;
}

int
cpu_upsample_bwd(struct dl_backend_ctx *ctx, int n, int h, int w, int c, int f,
    const float *dy, float *dx)
{
	long rows = (long)n * h;
	size_t W = (size_t)w * f * c;

	#pragma omp parallel for num_threads(ctx->threads) schedule(static)
	for (long r = 0; r < rows; r++) {
		const float *gr = dy + (size_t)r * f * W;
		float *dr = dx + (size_t)r * w * c;

		for (int j = 0; j < w; j++) {
			float *d = dr + (size_t)j * c;

			memset(d, 0, c * sizeof *d);
			for (int a = 0; a < f; a++)
				for (int b = 0; b < f; b++) {
					const float *g = gr + a * W + ((size_t)j * f + b) * c;
					for (int k = 0; k < c; k++)
						d[k] += g[k];
				}
		}
	}
	return 0;
}
