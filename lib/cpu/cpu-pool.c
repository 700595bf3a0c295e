/*
 * cpu-pool.c - max and average pooling on the CPU, NHWC, vectorised over
 * channels.  CUDA twin: cuda/dnn.cu (cuDNN pooling).
 *   fwd: y[n,p,q,c] = max / mean over the window of x[n,.,.,c]
 *   bwd: dx = gradient of sum(dy * y): to the first maximum, or spread
 *        evenly over the window's in-bounds elements.
 */
#include <float.h>
#include <string.h>

/* memory-bound loops: let GCC vectorise them (-O2 keeps to cheap cases) */
#pragma GCC optimize("O3")

#include "base.h"
#include "cpu.h"

/* The in-bounds window [h0,h1) x [w0,w1) of output (p,q). */
static void
window(const struct dl_pool *pl, int p, int q, int *h0, int *h1, int *w0, int *w1)
{
	int a = p * pl->stride_h - pl->pad_h, b = q * pl->stride_w - pl->pad_w;

	*h0 = a < 0 ? 0 : a;
	*h1 = a + pl->r > pl->h ? pl->h : a + pl->r;
	*w0 = b < 0 ? 0 : b;
	*w1 = b + pl->s > pl->w ? pl->w : b + pl->s;
}

/* Pooling forward of output row p of one sample. */
CPU_CLONES static void
fwd_row(const struct dl_pool *pl, int p, const float *xn, float *yr)
{
	int C = pl->c, W = pl->w;

	for (int q = 0; q < pl->q; q++) {
		float *yo = yr + (size_t)q * C;
		int h0, h1, w0, w1;

		window(pl, p, q, &h0, &h1, &w0, &w1);
		if (pl->mode == DL_POOL_MAX) {
			for (int c = 0; c < C; c++)
				yo[c] = -FLT_MAX;
			for (int h = h0; h < h1; h++)
				for (int w = w0; w < w1; w++) {
					const float *xi = xn + ((size_t)h * W + w) * C;
					#pragma omp simd
					for (int c = 0; c < C; c++)
						yo[c] = xi[c] > yo[c] ? xi[c] : yo[c];
				}
		} else {
			float inv = 1.0f / ((h1 - h0) * (w1 - w0));
			for (int c = 0; c < C; c++)
				yo[c] = 0;
			for (int h = h0; h < h1; h++)
				for (int w = w0; w < w1; w++) {
					const float *xi = xn + ((size_t)h * W + w) * C;
					#pragma omp simd
					for (int c = 0; c < C; c++)
						yo[c] += xi[c];
				}
			for (int c = 0; c < C; c++)
				yo[c] *= inv;
		}
	}
}

int
cpu_pool_fwd(struct dl_backend_ctx *ctx, struct dl_pool *pl, const float *x, float *y)
{
	long rows = (long)pl->n * pl->p;

	#pragma omp parallel for num_threads(ctx->threads) schedule(static)
	for (long np = 0; np < rows; np++) {
		int n = np / pl->p, p = np % pl->p;

		fwd_row(pl, p, x + (size_t)n * pl->h * pl->w * pl->c, y + (size_t)np * pl->q * pl->c);
	}
	return 0;
}

/* One input element x of a max window with output y: the gradient still
 * "left" goes to it where it is the maximum (the first maximum takes it
 * all): d = (add ? d : 0) + what it takes, left less it. */
static inline void
take_max(int C, const float *x, const float *y, float *left, float *d, int add)
{
	#pragma omp simd
	for (int c = 0; c < C; c++) {
		float hit = cpu_keep_if(x[c] == y[c], left[c]);

		d[c] = (add ? d[c] : 0.0f) + hit;	/* 0 + hit: as dx = 0, dx += hit */
		left[c] -= hit;
	}
}

/* Max pooling backward of one sample when the windows tile the input
 * (no padding, stride = window): every dx element is written once (the
 * rows and columns past the last window are zeroed), no memset first. */
CPU_CLONES static void
max_bwd_tiled(const struct dl_pool *pl, const float *xn, const float *yn,
    const float *gn, float *dxn)
{
	int C = pl->c, W = pl->w, R = pl->r, S = pl->s;
	float left[C];

	for (int p = 0; p < pl->p; p++) {
		for (int q = 0; q < pl->q; q++) {
			size_t o = ((size_t)p * pl->q + q) * C;
			const float *yo = yn + o, *g = gn + o;

			for (int c = 0; c < C; c++)
				left[c] = g[c];
			for (int h = p * R; h < p * R + R; h++)
				for (int w = q * S; w < q * S + S; w++) {
					size_t i = ((size_t)h * W + w) * C;

					take_max(C, xn + i, yo, left, dxn + i, 0);
				}
		}
		if (pl->q * S < W)
			for (int h = p * R; h < p * R + R; h++)
				memset(dxn + ((size_t)h * W + pl->q * S) * C, 0,
				    (size_t)(W - pl->q * S) * C * sizeof *dxn);
	}
	if (pl->p * R < pl->h)
		memset(dxn + (size_t)pl->p * R * W * C, 0,
		    (size_t)(pl->h - pl->p * R) * W * C * sizeof *dxn);
}

/* Pooling backward of one sample, any windows (they may overlap). */
CPU_CLONES static void
bwd_sample(const struct dl_pool *pl, const float *xn, const float *yn,
    const float *gn, float *dxn)
{
	int C = pl->c, W = pl->w;

	memset(dxn, 0, (size_t)pl->h * W * C * sizeof *dxn);
	for (int p = 0; p < pl->p; p++)
		for (int q = 0; q < pl->q; q++) {
			size_t o = ((size_t)p * pl->q + q) * C;
			const float *yo = yn + o, *g = gn + o;
			int h0, h1, w0, w1;

			window(pl, p, q, &h0, &h1, &w0, &w1);
			if (pl->mode == DL_POOL_MAX) {
				/* to the first maximum: "left" is dy until taken */
				float left[C];

				for (int c = 0; c < C; c++)
					left[c] = g[c];
				for (int h = h0; h < h1; h++)
					for (int w = w0; w < w1; w++) {
						size_t i = ((size_t)h * W + w) * C;

						take_max(C, xn + i, yo, left, dxn + i, 1);
					}
			} else {
				float inv = 1.0f / ((h1 - h0) * (w1 - w0));
				for (int h = h0; h < h1; h++)
					for (int w = w0; w < w1; w++) {
						float *d = dxn + ((size_t)h * W + w) * C;
						#pragma omp simd
						for (int c = 0; c < C; c++)
							d[c] += g[c] * inv;
					}
			}
		}
}

int
cpu_pool_bwd(struct dl_backend_ctx *ctx, struct dl_pool *pl, const float *x,
    const float *y, const float *dy, float *dx)
{
	size_t xs = (size_t)pl->h * pl->w * pl->c, ys = (size_t)pl->p * pl->q * pl->c;
	int tiled = pl->mode == DL_POOL_MAX && pl->pad_h == 0 && pl->pad_w == 0 &&
	    pl->stride_h == pl->r && pl->stride_w == pl->s;

	/* windows may overlap: one sample per iteration, no races */
	#pragma omp parallel for num_threads(ctx->threads) schedule(static)
	for (int n = 0; n < pl->n; n++) {
		if (tiled)
			max_bwd_tiled(pl, x + n * xs, y + n * ys, dy + n * ys, dx + n * xs);
		else
			bwd_sample(pl, x + n * xs, y + n * ys, dy + n * ys, dx + n * xs);
	}
	return 0;
}
