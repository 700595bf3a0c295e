/*
 * cpu-elem.c - elementwise kernels on the CPU: bias, activations,
 * dropout, optimizer steps, fill/scale/axpy, u8 -> f32, sum of squares.
 * CUDA twins: cuda/elem.cu, cuda/dnn.cu (activations).
 */
#include <math.h>

/* memory-bound loops: let GCC vectorise them (-O2 keeps to cheap cases) */
#pragma GCC optimize("O3")

#include "base.h"
#include "cpu.h"
#include "kernels.h"

#define PAR_MIN 32768		/* below this, one thread */
#define OMP_FOR _Pragma("omp parallel for num_threads(n < PAR_MIN ? 1 : ctx->threads) schedule(static)")
/* Elementwise work in blocks of BLK, each block one call of a CPU_CLONES
 * kernel (results do not depend on the split: no cross-element sums). */
#define BLK 16384L
#define FOR_BLOCKS(b, len) OMP_FOR for (long b = 0; b < n; b += BLK) { \
	long len = n - b < BLK ? n - b : BLK;
#define END_BLOCKS }

CPU_CLONES static void
k_relu(long n, const float *x, float *y)
{
	#pragma omp simd
	for (long i = 0; i < n; i++)
		y[i] = x[i] > 0 ? x[i] : 0;
}

CPU_CLONES static void
k_lrelu(long n, float a, const float *x, float *y)
{
	#pragma omp simd
	for (long i = 0; i < n; i++)
		y[i] = x[i] * cpu_select(x[i] > 0, 1.0f, a);
}

CPU_CLONES static void
k_relu_bwd(long n, float a, const float *y, const float *dy, float *dx)
{
	#pragma omp simd
	for (long i = 0; i < n; i++)
		dx[i] = dy[i] * cpu_select(y[i] > 0, 1.0f, a);	/* y > 0 ? dy : a dy */
}

CPU_CLONES static void
k_mul(long n, const float *x, const float *m, float *y)
{
	#pragma omp simd
	for (long i = 0; i < n; i++)
		y[i] = x[i] * m[i];
}

CPU_CLONES static void
k_bias(long rows, int c, const float *b, float *y)
{
	for (long r = 0; r < rows; r++) {
		float *yr = y + (size_t)r * c;
		#pragma omp simd
		for (int j = 0; j < c; j++)
			yr[j] += b[j];
	}
}

CPU_CLONES static void
k_dropout(long n, uint64_t i0, float p, float keep, uint64_t seed, const float *x,
    float *mask, float *y)
{
	#pragma omp simd
	for (long i = 0; i < n; i++) {
		float m = dl_dropout_mask(seed, i0 + (uint64_t)i, p, keep);
		mask[i] = m;
		y[i] = x[i] * m;
	}
}

CPU_CLONES static void
k_u8(long n, const uint8_t *x, float a, float b, float *y)
{
	#pragma omp simd
	for (long i = 0; i < n; i++)
		y[i] = a * x[i] + b;
}

/* Adam on [0,n).  Without FMA contraction (ISO C mode) every clone gives
 * the bits of the scalar loop: the vector sqrt and divide are exact too. */
CPU_CLONES static void
k_adam(long n, float *restrict w, const float *restrict g, float *restrict m,
    float *restrict v, float lr, float b1, float b2, float eps, float wd, float c1, float c2)
{
	#pragma omp simd
	for (long i = 0; i < n; i++) {
		float gi = g[i] + wd * w[i];

		m[i] = b1 * m[i] + (1 - b1) * gi;
		v[i] = b2 * v[i] + (1 - b2) * gi * gi;
		w[i] -= lr * (m[i] * c1) / (sqrtf(v[i] * c2) + eps);
	}
}

int
cpu_bias_add(struct dl_backend_ctx *ctx, long rows, int c, const float *b, float *y)
{
	long n = rows * c, rb = BLK / c + 1;

	OMP_FOR
	for (long r = 0; r < rows; r += rb)
		k_bias(rows - r < rb ? rows - r : rb, c, b, y + (size_t)r * c);
	return 0;
}

/* s[j] = sum over rows r of dy[r,j], in row order */
CPU_CLONES static void
k_colsum(long rows, int c, const float *dy, float *s)
{
	for (int j = 0; j < c; j++)
		s[j] = 0;
	for (long r = 0; r < rows; r++) {
		const float *g = dy + (size_t)r * c;
		#pragma omp simd
		for (int j = 0; j < c; j++)
			s[j] += g[j];
	}
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

		k_colsum(r1 - ci * CH, c, dy + (size_t)ci * CH * c, part + (size_t)ci * c);
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
		FOR_BLOCKS(b, len) k_relu(len, x + b, y + b); END_BLOCKS
		break;
	case DL_ACT_LRELU:
		FOR_BLOCKS(b, len) k_lrelu(len, alpha, x + b, y + b); END_BLOCKS
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
		FOR_BLOCKS(b, len) k_relu_bwd(len, 0, y + b, dy + b, dx + b); END_BLOCKS
		break;
	case DL_ACT_LRELU:
		FOR_BLOCKS(b, len) k_relu_bwd(len, alpha, y + b, dy + b, dx + b); END_BLOCKS
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
cpu_dropout_fwd(struct dl_backend_ctx *ctx, long n, float p, uint64_t seed, uint64_t i0,
    const float *x, float *mask, float *y)
{
	float keep = p < 1 ? 1.0f / (1.0f - p) : 0;

	FOR_BLOCKS(b, len) k_dropout(len, i0 + b, p, keep, seed, x + b, mask + b, y + b); END_BLOCKS
	return 0;
}

int
cpu_dropout_bwd(struct dl_backend_ctx *ctx, long n, const float *mask, const float *dy, float *dx)
{
	FOR_BLOCKS(b, len) k_mul(len, dy + b, mask + b, dx + b); END_BLOCKS
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

	FOR_BLOCKS(b, len)
		k_adam(len, w + b, g + b, m + b, v + b, lr, b1, b2, eps, wd, c1, c2);
	END_BLOCKS
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
	FOR_BLOCKS(o, len) k_u8(len, x + o, a, b, y + o); END_BLOCKS
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
