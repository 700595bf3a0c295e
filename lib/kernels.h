/*
 * kernels.h - the per-element arithmetic that the CPU backend (lib/cpu/)
 * and the CUDA backend (cuda/, where nvcc makes each function
 * __host__ __device__) share, so the two cannot drift: the dropout hash
 * and mask, and the loss rows (the terms and gradients of backend.h's
 * formulas).  What stays each backend's own is only how a row's sums and
 * maxima are reduced (a loop on the CPU, a warp on the GPU).  Plain C,
 * static inline, no state; include after backend.h (the DL_LOSS_* kinds),
 * and in C++ outside any extern "C" block (it includes <math.h>).
 */
#ifndef DL_KERNELS_H
#define DL_KERNELS_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define DL_HD __host__ __device__
#else
#define DL_HD
#endif

/* ---- dropout -------------------------------------------------------------------
 * The uniform number in [0,1) for element i under seed: a splitmix64-style
 * hash, no sequential state, so the mask is the same on every backend and
 * thread count:
 *   z = seed + (i + 1) * 0x9E3779B97F4A7C15;
 *   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
 *   z = (z ^ (z >> 27)) * 0x94D049BB133111EB;  z ^= z >> 31;
 *   u = (z >> 40) * 2^-24 */
static inline DL_HD float
dl_dropout_u01(uint64_t seed, uint64_t i)
{
	uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* mask[i]: 0 with probability p, else keep = 1/(1-p) (inverted dropout) */
static inline DL_HD float
dl_dropout_mask(uint64_t seed, uint64_t i, float p, float keep)
{
	return dl_dropout_u01(seed, i) < p ? 0.0f : keep;
}

/* ---- softmax of one row ------------------------------------------------------------
 * p[j] = exp(z[j] - max z) / sum, the sum in double; p may alias z.  The
 * CPU backend's softmax entry and the library's host probabilities
 * (dl_softmax_rows) are this, row by row. */
static inline DL_HD void
dl_softmax_row(const float *z, float *p, int k)
{
	float m = z[0];
	double s = 0;

	for (int j = 1; j < k; j++)
		m = z[j] > m ? z[j] : m;
	for (int j = 0; j < k; j++) {
		p[j] = expf(z[j] - m);
		s += p[j];
	}
	for (int j = 0; j < k; j++)
		p[j] = (float)(p[j] / s);
}

/* ---- loss rows -------------------------------------------------------------------
 * Row z[k] of logits, in double where it sums.  NLL (softmax):
 *   m = max_j z[j];  s = sum_j dl_nll_exp(z[j], m);  lse = m + log(s)
 *   loss = dl_nll_loss(lse, z[t]);  dz[j] = dl_nll_dz(z[j], lse, j == t, scale)
 * BCE, MSE, HUBER (target t[j], a probability, a value, or one-hot):
 *   loss = (sum_j dl_loss_term(kind, delta, z[j], t[j], &g[j])) / k
 *   dz[j] = dl_loss_dz(scale, g[j], k) */

/* log(1 + exp(z)), stable */
static inline DL_HD double
dl_softplus(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static inline DL_HD double
dl_nll_exp(float z, double m)
{
	return exp((double)z - m);
}

static inline DL_HD double
dl_nll_loss(double lse, float zt)
{
	return lse - zt;
}

static inline DL_HD float
dl_nll_dz(float z, double lse, int is_target, float scale)
{
	return scale * (float)(exp((double)z - lse) - is_target);
}

/* Element z's term of the row's sum, and its derivative in *g. */
static inline DL_HD double
dl_loss_term(int kind, double delta, double z, double t, double *g)
{
	double d = z - t;

	switch (kind) {
	case DL_LOSS_BCE:	/* t log(1+e^-z) + (1-t) log(1+e^z) */
		*g = 1 / (1 + exp(-z)) - t;
		return t * dl_softplus(-z) + (1 - t) * dl_softplus(z);
	case DL_LOSS_MSE:
		*g = 2 * d;
		return d * d;
	default:		/* HUBER */
		if (fabs(d) <= delta) {
			*g = d;
			return 0.5 * d * d;
		}
		*g = d > 0 ? delta : -delta;
		return delta * (fabs(d) - 0.5 * delta);
	}
}

static inline DL_HD float
dl_loss_dz(float scale, double g, int k)
{
	return (float)(scale * g / k);
}

#endif
