/*
 * loss.cu - losses fused with their link (softmax + NLL, sigmoid + BCE,
 * MSE, Huber; formulas in lib/backend.h), one warp per sample, sums in
 * double in a fixed order.  The per-element arithmetic is lib/kernels.h's,
 * shared with the CPU twin, lib/cpu/cpu-loss.c; the warp reductions are
 * this file's own.
 */
#include <math.h>

#include "cuda.h"

__device__ static double
warp_sum(double v)
{
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ static float
warp_max(float v)
{
	for (int o = 16; o > 0; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

/* Sample i, by one warp.  A class target outside [0,k) is left in flags
 * (mapped host memory, read after the stream is waited for) and its row
 * gets loss NaN and gradient 0. */
__device__ static void
loss_row(int kind, float delta, long i, int lane, int k, const float *z, const int32_t *cls,
    const float *tf, float scale, float *loss, float *dz, volatile int *flags)
{
	int t = -1;
	const float *zi = z + (size_t)i * k;
	float *di = dz ? dz + (size_t)i * k : NULL;
	double l = 0;

	if (cls) {
		t = cls[i];
		if (t < 0 || t >= k) {
			if (lane == 0) {
				loss[i] = nanf("");
				flags[1] = t;
				flags[2] = k;
				__threadfence_system();
				flags[0] = 1;
			}
			if (di)
				for (int j = lane; j < k; j += 32)
					di[j] = 0;
			return;
		}
	}
	if (kind == DL_LOSS_NLL) {
		float m = -INFINITY;
		double s = 0;

		for (int j = lane; j < k; j += 32)
			m = fmaxf(m, zi[j]);
		m = warp_max(m);
		for (int j = lane; j < k; j += 32)
			s += dl_nll_exp(zi[j], m);
		s = warp_sum(s);
		double lse = m + log(s);
		l = dl_nll_loss(lse, zi[t]);
		if (di)
			for (int j = lane; j < k; j += 32)
				di[j] = dl_nll_dz(zi[j], lse, j == t, scale);
	} else {
		for (int j = lane; j < k; j += 32) {
			double tj = tf ? tf[(size_t)i * k + j] : (j == t), g;

			l += dl_loss_term(kind, delta, zi[j], tj, &g);
			if (di)
				di[j] = dl_loss_dz(scale, g, k);
		}
		l = warp_sum(l) / k;
	}
	if (lane == 0)
		loss[i] = (float)l;
}

/* Warps stride over the samples; i is the same for the 32 lanes of a warp. */
__global__ static void
loss_kernel(int kind, float delta, long n, int k, const float *z, const int32_t *cls,
    const float *tf, float scale, float *loss, float *dz, volatile int *flags)
{
	long w = (blockIdx.x * (long)blockDim.x + threadIdx.x) / 32;
	long nw = (long)gridDim.x * blockDim.x / 32;

	for (long i = w; i < n; i += nw)
		loss_row(kind, delta, i, threadIdx.x & 31, k, z, cls, tf, scale, loss, dz, flags);
}

int
cuda_loss(struct dl_backend_ctx *ctx, int kind, float delta, long n, int k,
    const float *z, const void *target, int target_f32, float scale,
    float *loss, float *dz)
{
	if (kind < DL_LOSS_NLL || kind > DL_LOSS_HUBER)
		return CUDA_ERR(DL_EUSAGE, "loss: unknown kind %d", kind);
	if (kind == DL_LOSS_NLL && target_f32)
		return CUDA_ERR(DL_EUSAGE, "loss: nll needs class targets");
	if (n <= 0 || k <= 0)
		return 0;
	LAUNCH(loss_kernel, cuda_blocks(n * 32, 256), 256, ctx, kind, delta, n, k, z,
	    target_f32 ? NULL : (const int32_t *)target, target_f32 ? (const float *)target : NULL,
	    scale, loss, dz, ctx->dflags);
	return 0;
}
