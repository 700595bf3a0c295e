/*
 * cpu-bn.c - batch normalisation on the CPU over x[rows, c] (NHWC: one
 * channel per column).  Sums over rows run in fixed chunks, partials in
 * double added in chunk order, so results do not depend on threads.
 * CUDA twin: cuda/dnn.cu (cuDNN).
 */
#include <math.h>

/* memory-bound loops: let GCC vectorise them (-O2 keeps to cheap cases) */
#pragma GCC optimize("O3")

#include "base.h"
#include "cpu.h"

#define BN_CHUNK 256		/* rows per partial sum */

/* s[j] (and s[c + j]) = sum over rows [r0,r1) of f(row)[j], for the
 * partial-sum kind asked: 0: x;  1: (x - mean)^2;  2: dy and
 * dy (x - mean) invstd. */
CPU_CLONES static void
chunk_sums(int what, long r0, long r1, int c, const float *x, const float *dy,
    const float *mean, const float *invstd, double *s)
{
	for (int j = 0; j < c * (what == 2 ? 2 : 1); j++)
		s[j] = 0;
	for (long r = r0; r < r1; r++) {
		const float *xr = x + (size_t)r * c;

		if (what == 0) {
			#pragma omp simd
			for (int j = 0; j < c; j++)
				s[j] += xr[j];
		} else if (what == 1) {
			#pragma omp simd
			for (int j = 0; j < c; j++) {
				double d = xr[j] - mean[j];
				s[j] += d * d;
			}
		} else {
			const float *g = dy + (size_t)r * c;
			#pragma omp simd
			for (int j = 0; j < c; j++) {
				s[j] += g[j];
				s[c + j] += g[j] * ((xr[j] - mean[j]) * invstd[j]);
			}
		}
	}
}

/* out[j] (and out2[j]) = sum_rows f(row)[j], chunk_sums' kinds. */
static int
colsums(struct dl_backend_ctx *ctx, int what, long rows, int c, const float *x,
    const float *dy, const float *mean, const float *invstd, double *out, double *out2)
{
	long nc = CPU_NCHUNK(rows, BN_CHUNK);
	int k = what == 2 ? 2 : 1;
	double *part = (double *)cpu_ws(ctx, (size_t)nc * c * k * 2);

	if (!part)
		return -DL_ENOMEM;
	#pragma omp parallel for num_threads(ctx->threads) schedule(static)
	for (long ci = 0; ci < nc; ci++) {
		long r0 = ci * BN_CHUNK, r1 = r0 + BN_CHUNK < rows ? r0 + BN_CHUNK : rows;

		chunk_sums(what, r0, r1, c, x, dy, mean, invstd, part + (size_t)ci * c * k);
	}
	for (int j = 0; j < c; j++) {
		double a = 0, b = 0;

		for (long ci = 0; ci < nc; ci++) {
			a += part[(size_t)ci * c * k + j];
			if (k == 2)
				b += part[(size_t)ci * c * k + c + j];
		}
		out[j] = a;
		if (out2)
			out2[j] = b;
	}
	return 0;
}

/* y = x a + b over rows [r0,r1) */
CPU_CLONES static void
affine_rows(long r0, long r1, int c, const float *x, const float *a, const float *b, float *y)
{
	for (long r = r0; r < r1; r++) {
		const float *xr = x + (size_t)r * c;
		float *yr = y + (size_t)r * c;
		#pragma omp simd
		for (int j = 0; j < c; j++)
			yr[j] = xr[j] * a[j] + b[j];
	}
}

static void
affine(struct dl_backend_ctx *ctx, long rows, int c, const float *x, const float *a,
    const float *b, float *y)
{
	long nc = CPU_NCHUNK(rows, BN_CHUNK);

	#pragma omp parallel for num_threads(ctx->threads) schedule(static)
	for (long ci = 0; ci < nc; ci++) {
		long r0 = ci * BN_CHUNK, r1 = r0 + BN_CHUNK < rows ? r0 + BN_CHUNK : rows;

		affine_rows(r0, r1, c, x, a, b, y);
	}
}

/* dx = k1 (dy - k2 - (x - mean) k3) over rows [r0,r1) */
CPU_CLONES static void
dx_rows(long r0, long r1, int c, const float *x, const float *dy, const float *mean,
    const float *k1, const float *k2, const float *k3, float *dx)
{
	for (long r = r0; r < r1; r++) {
		const float *xr = x + (size_t)r * c, *g = dy + (size_t)r * c;
		float *d = dx + (size_t)r * c;
		#pragma omp simd
		for (int j = 0; j < c; j++)
			d[j] = k1[j] * (g[j] - k2[j] - (xr[j] - mean[j]) * k3[j]);
	}
}

int
cpu_bn_fwd_train(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *gamma, const float *beta, float eps, float momentum,
    float *run_mean, float *run_var, float *save_mean, float *save_invstd, float *y)
{
	double s[c], s2[c];
	float a[c], b[c];
	int rc;

	if (rows < 1)
		return dl_seterr(DL_ESHAPE, "batchnorm: no rows");
	if ((rc = colsums(ctx, 0, rows, c, x, NULL, NULL, NULL, s, NULL)) < 0)
		return rc;
	for (int j = 0; j < c; j++)
		save_mean[j] = (float)(s[j] / rows);
	if ((rc = colsums(ctx, 1, rows, c, x, NULL, save_mean, NULL, s2, NULL)) < 0)
		return rc;
	for (int j = 0; j < c; j++) {
		double var = s2[j] / rows;
		double unb = rows > 1 ? var * rows / (rows - 1) : var;

		save_invstd[j] = (float)(1.0 / sqrt(var + eps));
		run_mean[j] = (1 - momentum) * run_mean[j] + momentum * save_mean[j];
		run_var[j] = (float)((1 - momentum) * run_var[j] + momentum * unb);
		a[j] = gamma[j] * save_invstd[j];
		b[j] = beta[j] - save_mean[j] * a[j];
	}
	affine(ctx, rows, c, x, a, b, y);
	return 0;
}

int
cpu_bn_fwd_infer(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *gamma, const float *beta, const float *run_mean,
    const float *run_var, float eps, float *y)
{
	float a[c], b[c];

	for (int j = 0; j < c; j++) {
		a[j] = gamma[j] / sqrtf(run_var[j] + eps);
		b[j] = beta[j] - run_mean[j] * a[j];
	}
	affine(ctx, rows, c, x, a, b, y);
	return 0;
}

int
cpu_bn_bwd(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *dy, const float *gamma, const float *save_mean,
    const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
	double sb[c], sg[c];
	float k1[c], k2[c], k3[c];
	int rc;

	if ((rc = colsums(ctx, 2, rows, c, x, dy, save_mean, save_invstd, sb, sg)) < 0)
		return rc;
	for (int j = 0; j < c; j++) {
		dbeta[j] = (float)sb[j];
		dgamma[j] = (float)sg[j];
		/* dx = gamma invstd (dy - dbeta/rows - xhat dgamma/rows) */
		k1[j] = gamma[j] * save_invstd[j];
		k2[j] = (float)(sb[j] / rows);
		k3[j] = (float)(sg[j] / rows) * save_invstd[j];
	}
	long nc = CPU_NCHUNK(rows, BN_CHUNK);
	#pragma omp parallel for num_threads(ctx->threads) schedule(static)
	for (long ci = 0; ci < nc; ci++) {
		long r0 = ci * BN_CHUNK, r1 = r0 + BN_CHUNK < rows ? r0 + BN_CHUNK : rows;

		dx_rows(r0, r1, c, x, dy, save_mean, k1, k2, k3, dx);
	}
	return 0;
}
