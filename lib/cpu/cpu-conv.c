/*
 * cpu-conv.c - 2-D convolution on the CPU, NHWC: im2col + OpenBLAS sgemm
 * over chunks of samples, chunks spread over OpenMP threads.  CUDA twin:
 * cuda/conv.cu.
 *   fwd:        y[rows, K]   = col[rows, RSC] * w[K, RSC]^T   (rows = n*P*Q)
 *   bwd data:   dcol[rows, RSC] = dy[rows, K] * w[K, RSC];  dx = col2im(dcol)
 *   bwd filter: dw[K, RSC]  = sum over chunks of dy^T[K, rows] * col[rows, RSC]
 * Each entry first offers the call to oneDNN (cpu-dnnl.c), which takes the
 * channel counts its kernels block well (multiples of 16) and runs them
 * 1.4x faster on the VGG-style net.  Of the rest, thin filters (R*S*C <=
 * THIN_MAX: LeNet's first layer) go to cpu-thin.c, forward and filter
 * gradient, without im2col; the others (LeNet's 50 channels) stay here.
 */
#include <cblas.h>
#include <omp.h>
#include <string.h>

/* memory-bound loops: let GCC vectorise them (-O2 keeps to cheap cases) */
#pragma GCC optimize("O3")

#include "base.h"
#include "cpu.h"

/* A 1x1 convolution with stride 1 and no padding needs no im2col. */
static int
is_pointwise(const struct dl_conv *cv)
{
	return cv->r == 1 && cv->s == 1 && cv->stride_h == 1 && cv->stride_w == 1 &&
	    cv->pad_h == 0 && cv->pad_w == 0;
}

/* Samples per chunk: about 2048 GEMM rows, and at least 8 chunks when the
 * batch allows (a function of the shape only). */
static int
chunk_samples(const struct dl_conv *cv)
{
	int pq = cv->p * cv->q, cs = (2048 + pq - 1) / pq;
	int most = (cv->n + 7) / 8;

	if (cs > most)
		cs = most;
	return cs < 1 ? 1 : cs;
}

/* dst[0..n) = src[0..n): short runs (a 5-wide row of one channel) as a
 * loop, not a call. */
static inline void
copyf(float *restrict dst, const float *restrict src, size_t n)
{
	if (n > 64) {
		memcpy(dst, src, n * sizeof *dst);
		return;
	}
	for (size_t j = 0; j < n; j++)
		dst[j] = src[j];
}

/* col[(i,p,q), (r,s,c)] for samples x[0..ns) of the chunk. */
CPU_CLONES static void
im2col(const struct dl_conv *cv, const float *x, int ns, float *col)
{
	int H = cv->h, W = cv->w, C = cv->c, R = cv->r, S = cv->s;
	size_t rsc = (size_t)R * S * C, sc = (size_t)S * C;

	for (int i = 0; i < ns; i++) {
		const float *xi = x + (size_t)i * H * W * C;

		for (int p = 0; p < cv->p; p++) {
			int h0 = p * cv->stride_h - cv->pad_h;

			for (int q = 0; q < cv->q; q++) {
				int w0 = q * cv->stride_w - cv->pad_w;
				float *row = col + (((size_t)i * cv->p + p) * cv->q + q) * rsc;

				for (int r = 0; r < R; r++, row += sc) {
					int h = h0 + r;

					if (h < 0 || h >= H) {
						memset(row, 0, sc * sizeof *row);
						continue;
					}
					const float *xr = xi + (size_t)h * W * C;
					if (w0 >= 0 && w0 + S <= W) {
						copyf(row, xr + (size_t)w0 * C, sc);
						continue;
					}
					for (int s = 0; s < S; s++) {
						int w = w0 + s;

						if (w < 0 || w >= W)
							memset(row + s * C, 0, C * sizeof *row);
						else
							copyf(row + s * C, xr + (size_t)w * C, C);
					}
				}
			}
		}
	}
}

/* dx[0..ns) = col2im(dcol): the sum of every column entry into the input
 * element it was copied from (dx zeroed here). */
CPU_CLONES static void
col2im(const struct dl_conv *cv, const float *dcol, int ns, float *dx)
{
	int H = cv->h, W = cv->w, C = cv->c, R = cv->r, S = cv->s;
	size_t rsc = (size_t)R * S * C, sc = (size_t)S * C;

	memset(dx, 0, (size_t)ns * H * W * C * sizeof *dx);
	for (int i = 0; i < ns; i++) {
		float *xi = dx + (size_t)i * H * W * C;

		for (int p = 0; p < cv->p; p++) {
			int h0 = p * cv->stride_h - cv->pad_h;

			for (int q = 0; q < cv->q; q++) {
				int w0 = q * cv->stride_w - cv->pad_w;
				const float *row = dcol + (((size_t)i * cv->p + p) * cv->q + q) * rsc;

				for (int r = 0; r < R; r++, row += sc) {
					int h = h0 + r;

					if (h < 0 || h >= H)
						continue;
					float *xr = xi + (size_t)h * W * C;
					int s0 = w0 < 0 ? -w0 : 0, s1 = W - w0 < S ? W - w0 : S;
					if (s1 <= s0)
						continue;
					float *d = xr + (size_t)(w0 + s0) * C;
					const float *src = row + (size_t)s0 * C;
					size_t len = (size_t)(s1 - s0) * C;
					#pragma omp simd
					for (size_t j = 0; j < len; j++)
						d[j] += src[j];
				}
			}
		}
	}
}

int
cpu_conv2d_fwd(struct dl_backend_ctx *ctx, struct dl_conv *cv, const float *x,
    const float *w, float *y)
{
	int rc;
	int cs = chunk_samples(cv), nc = CPU_NCHUNK(cv->n, cs);
	int K = cv->k, rsc = cv->r * cv->s * cv->c, pq = cv->p * cv->q;
	size_t xs = (size_t)cv->h * cv->w * cv->c, colsz = (size_t)cs * pq * rsc;
	int pw = is_pointwise(cv), nt = ctx->threads, thin;
	float *ws = NULL;
	size_t per;

	if ((rc = cpu_dnnl_conv(ctx, 0, cv, x, w, y)) <= 0)
		return rc;
	/* per-thread im2col (or thin scratch) buffers, then the thin filters */
	thin = cpu_thin_ok(cv);
	per = thin ? cpu_thin_scratch(cv, cs) : pw ? 0 : colsz;
	if (per && !(ws = cpu_ws(ctx, per * nt + (thin ? cpu_thin_wsize(cv) : 0))))
		return -DL_ENOMEM;
	if (thin)
		cpu_thin_pack(cv, w, ws + per * nt);
	#pragma omp parallel for num_threads(nt) schedule(dynamic)
	for (int ci = 0; ci < nc; ci++) {
		int n0 = ci * cs, ns = cv->n - n0 < cs ? cv->n - n0 : cs;
		float *t = ws ? ws + per * omp_get_thread_num() : NULL, *yc = y + (size_t)n0 * pq * K;
		const float *col = x + n0 * xs;

		if (thin) {
			cpu_thin_fwd(cv, ns, col, ws + per * nt, yc, t);
			continue;
		}
		if (!pw) {
			im2col(cv, x + n0 * xs, ns, t);
			col = t;
		}
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ns * pq, K, rsc,
		    1.0f, col, rsc, w, rsc, 0.0f, yc, K);
	}
	return 0;
}

int
cpu_conv2d_bwd_data(struct dl_backend_ctx *ctx, struct dl_conv *cv, const float *dy,
    const float *w, float *dx)
{
	int rc;
	int cs = chunk_samples(cv), nc = CPU_NCHUNK(cv->n, cs);
	int K = cv->k, rsc = cv->r * cv->s * cv->c, pq = cv->p * cv->q;
	size_t xs = (size_t)cv->h * cv->w * cv->c, colsz = (size_t)cs * pq * rsc;
	int pw = is_pointwise(cv), nt = ctx->threads;
	float *ws = NULL;

	if ((rc = cpu_dnnl_conv(ctx, 1, cv, dy, w, dx)) <= 0)
		return rc;
	if (!pw && !(ws = cpu_ws(ctx, colsz * nt)))
		return -DL_ENOMEM;
	#pragma omp parallel for num_threads(nt) schedule(dynamic)
	for (int ci = 0; ci < nc; ci++) {
		int n0 = ci * cs, ns = cv->n - n0 < cs ? cv->n - n0 : cs;
		float *dcol = pw ? dx + n0 * xs : ws + colsz * omp_get_thread_num();

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ns * pq, rsc, K,
		    1.0f, dy + (size_t)n0 * pq * K, K, w, rsc, 0.0f, dcol, rsc);
		if (!pw)
			col2im(cv, dcol, ns, dx + n0 * xs);
	}
	return 0;
}

int
cpu_conv2d_bwd_filter(struct dl_backend_ctx *ctx, struct dl_conv *cv, const float *x,
    const float *dy, float *dw)
{
	int rc;
	int cs = chunk_samples(cv), nc = CPU_NCHUNK(cv->n, cs);
	int K = cv->k, rsc = cv->r * cv->s * cv->c, pq = cv->p * cv->q;
	size_t xs = (size_t)cv->h * cv->w * cv->c, colsz = (size_t)cs * pq * rsc;
	size_t nw = (size_t)K * rsc;
	int pw = is_pointwise(cv), nt = ctx->threads, thin;
	float *ws, *part;
	size_t per;

	if ((rc = cpu_dnnl_conv(ctx, 2, cv, x, dy, dw)) <= 0)
		return rc;
	/* per-thread im2col (or thin scratch) buffers, then one partial dw per chunk */
	thin = cpu_thin_ok(cv);
	per = thin ? cpu_thin_scratch(cv, cs) : pw ? 0 : colsz;
	if (!(ws = cpu_ws(ctx, per * nt + nw * nc)))
		return -DL_ENOMEM;
	part = ws + per * nt;
	#pragma omp parallel for num_threads(nt) schedule(dynamic)
	for (int ci = 0; ci < nc; ci++) {
		int n0 = ci * cs, ns = cv->n - n0 < cs ? cv->n - n0 : cs;
		float *t = ws + per * omp_get_thread_num(), *out = nc == 1 ? dw : part + nw * ci;
		const float *col = x + n0 * xs, *g = dy + (size_t)n0 * pq * K;

		if (thin) {
			cpu_thin_filter(cv, ns, g, col, out, t);
			continue;
		}
		if (!pw) {
			im2col(cv, x + n0 * xs, ns, t);
			col = t;
		}
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, rsc, ns * pq,
		    1.0f, g, K, col, rsc, 0.0f, out, rsc);
	}
	if (nc == 1)
		return 0;
	/* sum the partials in chunk order */
	#pragma omp parallel for num_threads(nt) schedule(static)
	for (size_t b = 0; b < nw; b += 256) {
		size_t e = b + 256 < nw ? b + 256 : nw;

		for (size_t j = b; j < e; j++)
			dw[j] = part[j];
		for (int ci = 1; ci < nc; ci++) {
			const float *pp = part + nw * ci;
			for (size_t j = b; j < e; j++)
				dw[j] += pp[j];
		}
	}
	return 0;
}
