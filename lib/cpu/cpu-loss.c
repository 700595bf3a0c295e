/*
 * cpu-loss.c - losses fused with their link on the CPU (formulas in
 * backend.h: softmax + NLL, sigmoid + BCE, MSE, Huber), and softmax.
 * One sample per iteration: no cross-sample sums here.
 * CUDA twin: cuda/loss.cu.
 */
#include <math.h>

#include "base.h"
#include "cpu.h"

/* log(1 + exp(z)), stable */
static double
softplus(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

int
cpu_loss(struct dl_backend_ctx *ctx, int kind, float delta, long n, int k,
    const float *z, const void *target, int target_f32, float scale,
    float *loss, float *dz)
{
	const int32_t *cls = target_f32 ? NULL : target;
	const float *tf = target_f32 ? target : NULL;
	long bad = -1;

	if (kind == DL_LOSS_NLL && target_f32)
		return dl_seterr(DL_EUSAGE, "loss: nll needs class targets");
	if (cls)
		for (long i = 0; i < n; i++)
			if (cls[i] < 0 || cls[i] >= k) {
				bad = i;
				break;
			}
	if (bad >= 0)
		return dl_seterr(DL_EUSAGE, "loss: target %d outside [0,%d)", (int)cls[bad], k);

	#pragma omp parallel for num_threads(n * k < 65536 ? 1 : ctx->threads) schedule(static)
	for (long i = 0; i < n; i++) {
		const float *zi = z + (size_t)i * k;
		float *di = dz ? dz + (size_t)i * k : NULL;
		double l = 0;

		if (kind == DL_LOSS_NLL) {
			double m = zi[0], s = 0;
			for (int j = 1; j < k; j++)
				m = zi[j] > m ? zi[j] : m;
			for (int j = 0; j < k; j++)
				s += exp(zi[j] - m);
			double lse = m + log(s);
			l = lse - zi[cls[i]];
			if (di)
				for (int j = 0; j < k; j++)
					di[j] = scale * (float)(exp(zi[j] - lse) - (j == cls[i]));
		} else {
			for (int j = 0; j < k; j++) {
				double t = tf ? tf[(size_t)i * k + j] : (j == cls[i]);
				double d = zi[j] - t, g;

				switch (kind) {
				case DL_LOSS_BCE:	/* t log(1+e^-z) + (1-t) log(1+e^z) */
					l += t * softplus(-zi[j]) + (1 - t) * softplus(zi[j]);
					g = 1 / (1 + exp(-(double)zi[j])) - t;
					break;
				case DL_LOSS_MSE:
					l += d * d;
					g = 2 * d;
					break;
				default:	/* HUBER */
					if (fabs(d) <= delta) {
						l += 0.5 * d * d;
						g = d;
					} else {
						l += delta * (fabs(d) - 0.5 * delta);
						g = d > 0 ? delta : -delta;
					}
					break;
				}
				if (di)
					di[j] = (float)(scale * g / k);
			}
			l /= k;
		}
		loss[i] = (float)l;
	}
	return 0;
}

int
cpu_softmax(struct dl_backend_ctx *ctx, long n, int k, const float *z, float *p)
{
	for (long i = 0; i < n; i++) {
		const float *zi = z + (size_t)i * k;
		float *pi = p + (size_t)i * k, m = zi[0];
		double s = 0;

		for (int j = 1; j < k; j++)
			m = zi[j] > m ? zi[j] : m;
		for (int j = 0; j < k; j++) {
			pi[j] = expf(zi[j] - m);
			s += pi[j];
		}
		for (int j = 0; j < k; j++)
			pi[j] = (float)(pi[j] / s);
	}
	return 0;
}
