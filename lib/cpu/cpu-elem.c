/*
 * cpu-elem.c - elementwise kernels on the CPU: bias, activations,
 * dropout, optimizer steps, fill/scale/axpy, u8 -> f32, sum of squares.
 * CUDA twins: cuda/elem.cu, cuda/act.cu, cuda/opt.cu.
 */
#include <math.h>

/* memory-bound loops: let GCC vectorise them (-O2 keeps to cheap cases) */
#pragma GCC optimize("O3")

#include "dlpipe.h"
#include "cpu.h"

#define PAR_MIN 32768		/* below this, one thread */
#define OMP_FOR _Pragma("omp parallel for num_threads(n < PAR_MIN ? 1 : ctx->threads) schedule(static)")

int
cpu_bias_add(struct dl_backend_ctx *ctx, long rows, int c, const float *b, float *y)
{
	long n = rows * c;

	OMP_FOR
	for (long r = 0; r < rows; r++) {
		float *yr = y + (size_t)r * c;
		for (int j = 0; j < c; j++)
			yr[j] += b[j];
	}
	return 0;
}

/* db[j] = sum_r dy[r,j]: partial sums over fixed row chunks, in order. */
int
cpu_bias_bwd(struct dl_backend_ctx *ctx, long rows, int c, const float *dy, float *db)
{
	enum { CH = 512 };
	long nc = CPU_NCHUNK(rows, CH), n = rows * c;
	float *part = cpu_ws(ctx, (size_t)nc * c);

	if (!part)
		return -DL_ENOMEM;
	OMP_FOR
	for (long ci = 0; ci < nc; ci++) {
		long r1 = (ci + 1) * CH < rows ? (ci + 1) * CH : rows;
		float *s = part + (size_t)ci * c;

		for (int j = 0; j < c; j++)
			s[j] = 0;
		for (long r = ci * CH; r < r1; r++) {
			const float *g = dy + (size_t)r * c;
			for (int j = 0; j < c; j++)
				s[j] += g[j];
		}
	}
	for (int j = 0; j < c; j++)
		db[j] = part[j];
	for (long ci = 1; ci < nc; ci++)
		for (int j = 0; j < c; j++)
			db[j] += part[(size_t)ci * c + j];
	return 0;
}

int
cpu_act_fwd(struct dl_backend_ctx *ctx, int act, float alpha, long n, const float *x, float *y)
{
	switch (act) {
	case DL_ACT_NONE:
		if (x != y)
			OMP_FOR for (long i = 0; i < n; i++) y[i] = x[i];
		break;
	case DL_ACT_RELU:
		OMP_FOR for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
		break;
	case DL_ACT_LRELU:
		OMP_FOR for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : alpha * x[i];
		break;
	case DL_ACT_TANH:
		OMP_FOR for (long i = 0; i < n; i++) y[i] = tanhf(x[i]);
		break;
	case DL_ACT_SIGMOID:
		OMP_FOR for (long i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
		break;
	default:
		return dl_seterr(DL_EUSAGE, "activation: unknown kind %d", act);
	}
	return 0;
}

int
cpu_act_bwd(struct dl_backend_ctx *ctx, int act, float alpha, long n, const float *y,
    const float *dy, float *dx)
{
	switch (act) {
	case DL_ACT_NONE:
		if (dx != dy)
			OMP_FOR for (long i = 0; i < n; i++) dx[i] = dy[i];
		break;
	case DL_ACT_RELU:
		OMP_FOR for (long i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
		break;
	case DL_ACT_LRELU:
		OMP_FOR for (long i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : alpha * dy[i];
		break;
	case DL_ACT_TANH:
		OMP_FOR for (long i = 0; i < n; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
		break;
	case DL_ACT_SIGMOID:
		OMP_FOR for (long i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1 - y[i]);
		break;
	default:
		return dl_seterr(DL_EUSAGE, "activation: unknown kind %d", act);
	}
	return 0;
}

int
cpu_dropout_fwd(struct dl_backend_ctx *ctx, long n, float p, uint64_t seed,
    const float *x, float *mask, float *y)
{
	float keep = p < 1 ? 1.0f / (1.0f - p) : 0;

	OMP_FOR
	for (long i = 0; i < n; i++) {
		mask[i] = dl_dropout_u01(seed, (uint64_t)i) < p ? 0.0f : keep;
		y[i] = x[i] * mask[i];
	}
	return 0;
}

int
cpu_dropout_bwd(struct dl_backend_ctx *ctx, long n, const float *mask, const float *dy, float *dx)
{
	OMP_FOR for (long i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
	return 0;
}

int
cpu_sgd_step(struct dl_backend_ctx *ctx, long n, float *w, const float *g, float *v,
    float lr, float momentum, float wd, int nesterov)
{
	if (momentum == 0 || !v) {
		OMP_FOR for (long i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
		return 0;
	}
	OMP_FOR
	for (long i = 0; i < n; i++) {
		float gi = g[i] + wd * w[i];

		v[i] = momentum * v[i] + gi;
		w[i] -= lr * (nesterov ? gi + momentum * v[i] : v[i]);
	}
	return 0;
}

int
cpu_adam_step(struct dl_backend_ctx *ctx, long n, float *w, const float *g, float *m,
    float *v, float lr, float b1, float b2, float eps, float wd, long t)
{
	float c1 = (float)(1.0 / (1.0 - pow(b1, (double)t)));
	float c2 = (float)(1.0 / (1.0 - pow(b2, (double)t)));

	OMP_FOR
	for (long i = 0; i < n; i++) {
		float gi = g[i] + wd * w[i];

		m[i] = b1 * m[i] + (1 - b1) * gi;
		v[i] = b2 * v[i] + (1 - b2) * gi * gi;
		w[i] -= lr * (m[i] * c1) / (sqrtf(v[i] * c2) + eps);
	}
	return 0;
}

int
cpu_fill(struct dl_backend_ctx *ctx, long n, float v, float *x)
{
	OMP_FOR for (long i = 0; i < n; i++) x[i] = v;
	return 0;
}

int
cpu_scale(struct dl_backend_ctx *ctx, long n, float a, float *x)
{
	OMP_FOR for (long i = 0; i < n; i++) x[i] *= a;
	return 0;
}

int
cpu_axpy(struct dl_backend_ctx *ctx, long n, float a, const float *x, float *y)
{
	OMP_FOR for (long i = 0; i < n; i++) y[i] += a * x[i];
	return 0;
}

int
cpu_u8_to_f32(struct dl_backend_ctx *ctx, long n, const uint8_t *x, float a, float b, float *y)
{
	OMP_FOR for (long i = 0; i < n; i++) y[i] = a * x[i] + b;
	return 0;
}

int
cpu_sumsq(struct dl_backend_ctx *ctx, long n, const float *x, float *out)
{
	double s = 0;

	for (long i = 0; i < n; i++)
		s += (double)x[i] * x[i];
	out[0] = (float)s;
	return 0;
}
