/*
 * prec.cu - mixed precision, autocast style: with ctx->prec bf16 or fp16
 * the gemm (backend.cu) and convolution (conv.cu) entries round their
 * float32 operands into a buffer of 16-bit copies here, multiply those with
 * float32 accumulation, and (convolutions, whose cuDNN output has the
 * operands' type) widen the result back.  Everything the backend keeps or
 * hands back stays float32.  The CPU twin (bf16 only): lib/cpu/cpu-prec.c.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda.h"

#define T 256			/* threads per block */
#define FOR_I(n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
	i += (size_t)gridDim.x * blockDim.x)

namespace {

__device__ inline void put16(__nv_bfloat16 *y, float v) { *y = __float2bfloat16_rn(v); }
__device__ inline void put16(__half *y, float v) { *y = __float2half_rn(v); }
__device__ inline float get16(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ inline float get16(__half v) { return __half2float(v); }

template <typename H>
__global__ void
round_kernel(size_t n, const float *x, H *y)
{
	FOR_I(n)
		put16(&y[i], x[i]);
}

template <typename H>
__global__ void
widen_kernel(size_t n, const H *x, float *y)
{
	FOR_I(n)
		y[i] = get16(x[i]);
}

size_t
align256(size_t n)
{
	return (n + 255) & ~(size_t)255;
}

}	/* namespace */

int
cuda_lowp(struct dl_backend_ctx *ctx, int cnt, const size_t *n, void **p)
{
	size_t need = 0, off = 0;

	for (int i = 0; i < cnt; i++)
		need += align256(n[i] * 2);
	/* stream-ordered: work queued on an old buffer finishes first */
	TRY(cuda_grow(ctx, &ctx->lp, need, "low-precision operands"));
	for (int i = 0; i < cnt; i++) {
		p[i] = (char *)ctx->lp.p + off;
		off += align256(n[i] * 2);
	}
	return 0;
}

int
cuda_round(struct dl_backend_ctx *ctx, size_t n, const float *x, void *y)
{
	if (n == 0)
		return 0;
	if (ctx->prec == DL_PREC_BF16)
		LAUNCH(round_kernel<__nv_bfloat16>, cuda_blocks((long)n, T), T, ctx, n, x,
		    (__nv_bfloat16 *)y);
	else if (ctx->prec == DL_PREC_FP16)
		LAUNCH(round_kernel<__half>, cuda_blocks((long)n, T), T, ctx, n, x, (__half *)y);
	else
		return CUDA_ERR(DL_EUSAGE, "round: precision %d is not a 16-bit type", ctx->prec);
	return 0;
}

int
cuda_widen(struct dl_backend_ctx *ctx, size_t n, const void *x, float *y)
{
	if (n == 0)
		return 0;
	if (ctx->prec == DL_PREC_BF16)
		LAUNCH(widen_kernel<__nv_bfloat16>, cuda_blocks((long)n, T), T, ctx, n,
		    (const __nv_bfloat16 *)x, y);
	else if (ctx->prec == DL_PREC_FP16)
		LAUNCH(widen_kernel<__half>, cuda_blocks((long)n, T), T, ctx, n, (const __half *)x, y);
	else
		return CUDA_ERR(DL_EUSAGE, "widen: precision %d is not a 16-bit type", ctx->prec);
	return 0;
}
