/*
 * cpu-prec.c - bf16 mixed precision on the CPU, autocast style, as the CUDA
 * back end does it (cuda/prec.cu): the gemm and convolution entries round
 * their float32 operands to bfloat16 (round to nearest even) and multiply
 * them with float32 accumulation; everything the back end keeps (weights,
 * gradients, optimizer state, batch-norm statistics, the loss) stays
 * float32.
 *
 * The product of two bfloat16 numbers (8 significant bits each) is exact in
 * float32, so rounding the operands into float32 copies and running the
 * float32 kernels computes what an AVX512-BF16 dot product (vdpbf16ps)
 * computes, up to the order of the sums.  That is how it runs here, on
 * every CPU: an emulation, the numbers of bf16 at the speed of fp32 (a
 * little slower: the rounding passes).  CPUs with AVX512-BF16 could run it
 * at twice the rate through oneDNN's bf16 primitives and OpenBLAS's
 * sbgemm; dlpipe has no such path yet (no machine it is developed on has
 * the instruction), and the programs say so (lib/kit/netflags.c).
 * fp16 is refused: it needs a GPU.
 */
#include <stdint.h>
#include <string.h>

#include "base.h"
#include "cpu.h"

#define CHUNK 65536		/* floats a task */

static inline float
round_bf16(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof u);
	if ((u & 0x7f800000u) == 0x7f800000u)
		u = (u & 0x007fffffu) ? (u | 0x00400000u) & 0xffff0000u : u;	/* NaN stays NaN; inf */
	else
		u = (u + 0x7fffu + ((u >> 16) & 1)) & 0xffff0000u;	/* nearest even; may reach inf */
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Round n floats of x into the precision workspace at offset off. */
static const float *
rounded(struct dl_backend_ctx *ctx, size_t off, size_t n, const float *x)
{
	float *y = ctx->pws + off;
	long nc = (long)CPU_NCHUNK(n, CHUNK);

	#pragma omp parallel for num_threads(ctx->threads) schedule(static) if (nc > 1)
	for (long t = 0; t < nc; t++) {
		size_t lo = (size_t)t * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;

		for (size_t i = lo; i < hi; i++)
			y[i] = round_bf16(x[i]);
	}
	return y;
}

/* Room for two operands of na and nb floats. */
static int
reserve(struct dl_backend_ctx *ctx, size_t na, size_t nb)
{
	size_t n = na + nb;

	if (n <= ctx->pws_n)
		return 0;
	dl_free(ctx->pws);
	n += n / 4;
	if (!(ctx->pws = dl_alloc(n * sizeof(float)))) {
		ctx->pws_n = 0;
		return dl_seterr(DL_ENOMEM, "cpu: bf16 operands of %zu bytes: out of memory",
		    n * sizeof(float));
	}
	ctx->pws_n = n;
	return 0;
}

int
cpu_set_precision(struct dl_backend_ctx *ctx, int prec)
{
	if (prec == DL_PREC_FP16)
		return dl_seterr(DL_EUSAGE, "the cpu device has no fp16 (bf16 and fp32 only)");
	if (prec != DL_PREC_FP32 && prec != DL_PREC_BF16)
		return dl_seterr(DL_EUSAGE, "unknown precision %d", prec);
	ctx->prec = prec;
	return 0;
}

static size_t n_x(const struct dl_conv *cv) { return (size_t)cv->n * cv->h * cv->w * cv->c; }
static size_t n_y(const struct dl_conv *cv) { return (size_t)cv->n * cv->p * cv->q * cv->k; }
static size_t n_w(const struct dl_conv *cv) { return (size_t)cv->k * cv->r * cv->s * cv->c; }

int
cpu_gemm_prec(struct dl_backend_ctx *ctx, int ta, int tb, int m, int n, int k,
    float alpha, const float *a, const float *b, float beta, float *c)
{
	size_t na = (size_t)m * k, nb = (size_t)k * n;
	int rc;

	if (ctx->prec == DL_PREC_FP32)
		return cpu_gemm(ctx, ta, tb, m, n, k, alpha, a, b, beta, c);
	if ((rc = reserve(ctx, na, nb)) < 0)
		return rc;
	return cpu_gemm(ctx, ta, tb, m, n, k, alpha, rounded(ctx, 0, na, a),
	    rounded(ctx, na, nb, b), beta, c);
}

int
cpu_conv2d_fwd_prec(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *x, const float *w, float *y)
{
	int rc;

	if (ctx->prec == DL_PREC_FP32)
		return cpu_conv2d_fwd(ctx, cv, x, w, y);
	if ((rc = reserve(ctx, n_x(cv), n_w(cv))) < 0)
		return rc;
	return cpu_conv2d_fwd(ctx, cv, rounded(ctx, 0, n_x(cv), x),
	    rounded(ctx, n_x(cv), n_w(cv), w), y);
}

int
cpu_conv2d_bwd_data_prec(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *dy, const float *w, float *dx)
{
	int rc;

	if (ctx->prec == DL_PREC_FP32)
		return cpu_conv2d_bwd_data(ctx, cv, dy, w, dx);
	if ((rc = reserve(ctx, n_y(cv), n_w(cv))) < 0)
		return rc;
	return cpu_conv2d_bwd_data(ctx, cv, rounded(ctx, 0, n_y(cv), dy),
	    rounded(ctx, n_y(cv), n_w(cv), w), dx);
}

int
cpu_conv2d_bwd_filter_prec(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *x, const float *dy, float *dw)
{
	int rc;

	if (ctx->prec == DL_PREC_FP32)
		return cpu_conv2d_bwd_filter(ctx, cv, x, dy, dw);
	if ((rc = reserve(ctx, n_x(cv), n_y(cv))) < 0)
		return rc;
	return cpu_conv2d_bwd_filter(ctx, cv, rounded(ctx, 0, n_x(cv), x),
	    rounded(ctx, n_x(cv), n_y(cv), dy), dw);
}
