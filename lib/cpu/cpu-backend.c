/*
 * cpu-backend.c - the CPU backend's table (dl_backend_cpu), its context,
 * memory and gemm.  Kernels: cpu-conv.c, cpu-pool.c, cpu-up.c, cpu-bn.c, cpu-elem.c,
 * cpu-loss.c.  OpenBLAS runs single-threaded; we thread around it with
 * OpenMP over fixed-size blocks so results never depend on thread count.
 */
#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cpu.h"

static int
cpu_init(struct dl_backend_ctx **pctx, int device, int threads)
{
	struct dl_backend_ctx *ctx;

	if (!(ctx = calloc(1, sizeof *ctx)))
		return dl_seterr(DL_ENOMEM, "cpu: out of memory");
	ctx->threads = threads > 0 ? threads : omp_get_max_threads();
	/* BLAS calls happen inside our parallel regions: keep OpenBLAS's
	 * own thread pool out of it. */
	openblas_set_num_threads(1);
	*pctx = ctx;
	return 0;
}

static void
cpu_fini(struct dl_backend_ctx *ctx)
{
	if (!ctx)
		return;
	cpu_dnnl_fini(ctx);
	dl_free(ctx->ws);
	dl_free(ctx->pws);
	free(ctx);
}

float *
cpu_ws(struct dl_backend_ctx *ctx, size_t n)
{
	if (n <= ctx->ws_n)
		return ctx->ws;
	dl_free(ctx->ws);
	n += n / 4;
	if (!(ctx->ws = dl_alloc(n * sizeof(float)))) {
		ctx->ws_n = 0;
		dl_seterr(DL_ENOMEM, "cpu: workspace of %zu bytes: out of memory", n * sizeof(float));
		return NULL;
	}
	ctx->ws_n = n;
	return ctx->ws;
}

static void *
cpu_alloc(struct dl_backend_ctx *ctx, size_t nbytes)
{
	return dl_alloc(nbytes ? nbytes : 1);
}

static void
cpu_free(struct dl_backend_ctx *ctx, void *p)
{
	dl_free(p);
}

static int
cpu_copy(struct dl_backend_ctx *ctx, void *dst, const void *src, size_t nbytes)
{
	if (nbytes && dst != src)
		memmove(dst, src, nbytes);
	return 0;
}

static int
cpu_sync(struct dl_backend_ctx *ctx)
{
	return 0;
}

/* C = alpha op(A) op(B) + beta C, split into blocks of rows or columns of
 * C (whichever dimension is larger), each block one single-threaded sgemm
 * over the full k: every element is summed in the same order (OpenBLAS's
 * kernels run k in the same order for every row and column of C, edge
 * blocks included), so the result does not depend on the split.  One
 * block per thread (two on large products, for a preempted thread on a
 * busy host): each block re-packs the shared operand, so more blocks cost
 * more than they balance. */
int
cpu_gemm(struct dl_backend_ctx *ctx, int ta, int tb, int m, int n, int k,
    float alpha, const float *a, const float *b, float beta, float *c)
{
	enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans;
	enum CBLAS_TRANSPOSE TB = tb ? CblasTrans : CblasNoTrans;
	int lda = ta ? m : k, ldb = tb ? k : n;
	double flops = 2.0 * m * n * k;
	int nt = ctx->threads;
	int nb = flops < 4e6 ? 1 : flops > 64e6 ? 2 * nt : nt;
	int split_m = m >= n, dim = split_m ? m : n;
	int bs;

	if (m <= 0 || n <= 0)
		return 0;
	if (nb > dim / 16)
		nb = dim / 16;
	bs = (dim + nb - 1) / (nb > 0 ? nb : 1);
	bs = (bs + 15) & ~15;
	nb = (dim + bs - 1) / bs;
	if (nb <= 1 || nt <= 1) {
		cblas_sgemm(CblasRowMajor, TA, TB, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
		return 0;
	}
	#pragma omp parallel for num_threads(nt < nb ? nt : nb) schedule(dynamic)
	for (int i = 0; i < nb; i++) {
		int lo = i * bs, len = dim - lo < bs ? dim - lo : bs;

		if (split_m)
			cblas_sgemm(CblasRowMajor, TA, TB, len, n, k, alpha,
			    ta ? a + lo : a + (size_t)lo * k, lda, b, ldb, beta,
			    c + (size_t)lo * n, n);
		else
			cblas_sgemm(CblasRowMajor, TA, TB, m, len, k, alpha, a, lda,
			    tb ? b + (size_t)lo * k : b + lo, ldb, beta, c + lo, n);
	}
	return 0;
}

/* "cpu (2 threads, AVX2)": the threads this context uses and the kernels'
 * clone the CPU picked (CPU_CLONES in cpu.h). */
static int
cpu_describe(struct dl_backend_ctx *ctx, char *buf, size_t n)
{
	const char *isa = "";

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	__builtin_cpu_init();
	isa = __builtin_cpu_supports("x86-64-v4") ? ", AVX-512" :
	    __builtin_cpu_supports("x86-64-v3") ? ", AVX2" : ", SSE4.2";
#endif
	return snprintf(buf, n, "cpu (%d thread%s%s)", ctx->threads, ctx->threads == 1 ? "" : "s",
	    isa);
}

const struct dl_backend dl_backend_cpu = {
	.name = "cpu",
	.abi = DL_BACKEND_ABI,
	.init = cpu_init,
	.fini = cpu_fini,
	.alloc = cpu_alloc,
	.free = cpu_free,
	.put = cpu_copy,
	.get = cpu_copy,
	.copy = cpu_copy,
	.sync = cpu_sync,
	.gemm = cpu_gemm_prec,
	.conv2d_fwd = cpu_conv2d_fwd_prec,
	.conv2d_bwd_data = cpu_conv2d_bwd_data_prec,
	.conv2d_bwd_filter = cpu_conv2d_bwd_filter_prec,
	.bias_add = cpu_bias_add,
	.bias_bwd = cpu_bias_bwd,
	.pool_fwd = cpu_pool_fwd,
	.pool_bwd = cpu_pool_bwd,
	.upsample_fwd = cpu_upsample_fwd,
	.upsample_bwd = cpu_upsample_bwd,
	.act_fwd = cpu_act_fwd,
	.act_bwd = cpu_act_bwd,
	.bn_fwd_train = cpu_bn_fwd_train,
	.bn_fwd_infer = cpu_bn_fwd_infer,
	.bn_bwd = cpu_bn_bwd,
	.dropout_fwd = cpu_dropout_fwd,
	.dropout_bwd = cpu_dropout_bwd,
	.loss = cpu_loss,
	.softmax = cpu_softmax,
	.sgd_step = cpu_sgd_step,
	.adam_step = cpu_adam_step,
	.fill = cpu_fill,
	.scale = cpu_scale,
	.axpy = cpu_axpy,
	.u8_to_f32 = cpu_u8_to_f32,
	.sumsq = cpu_sumsq,
	.set_precision = cpu_set_precision,
	.describe = cpu_describe,
};
