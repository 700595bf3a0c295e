/*
 * cpu-loss.c - losses fused with their link on the CPU (formulas in
 * backend.h: softmax + NLL, sigmoid + BCE, MSE, Huber), and softmax.
 * One sample per iteration: no cross-sample sums here.  The per-element
 * arithmetic is lib/kernels.h's, which cuda/loss.cu (the CUDA twin) shares.
 */
#include <math.h>

#include "base.h"
#include "cpu.h"
#include "kernels.h"

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
				s += dl_nll_exp(zi[j], m);
			double lse = m + log(s);
			l = dl_nll_loss(lse, zi[cls[i]]);
			if (di)
				for (int j = 0; j < k; j++)
					di[j] = dl_nll_dz(zi[j], lse, j == cls[i], scale);
		} else {
			for (int j = 0; j < k; j++) {
				double t = tf ? tf[(size_t)i * k + j] : (j == cls[i]), g;

				l += dl_loss_term(kind, delta, zi[j], t, &g);
				if (di)
					di[j] = dl_loss_dz(scale, g, k);
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
	for (long i = 0; i < n; i++)
		dl_softmax_row(z + (size_t)i * k, p + (size_t)i * k, k);
	return 0;
}
