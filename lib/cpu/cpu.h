/*
 * cpu.h - private to the CPU backend (lib/cpu/): the context, workspace
 * and the cpu_* kernels that lib/cpu/cpu-backend.c puts in the table.
 * The contract is lib/backend.h; the CUDA twins live in cuda/.
 */
#ifndef DL_CPU_H
#define DL_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

struct dl_backend_ctx {
	int threads;		/* OpenMP threads for our parallel loops */
	float *ws;		/* workspace, grown by cpu_ws() */
	size_t ws_n;		/* floats in ws */
	void *dnnl;		/* oneDNN engine, streams, primitives (cpu-dnnl.c) */
	int dnnl_off;		/* 1: convolutions by im2col + sgemm only */
	int prec;		/* enum dl_precision (cpu-prec.c): fp32 or bf16 */
	float *pws;		/* bf16-rounded operands (cpu-prec.c) */
	size_t pws_n;		/* floats in pws */
};

/* Workspace of at least n floats (contents undefined), or NULL. */
float *cpu_ws(struct dl_backend_ctx *ctx, size_t n);

/* Fixed-size chunks: results never depend on the thread count because
 * the work split depends only on the problem size. */
#define CPU_NCHUNK(n, cs) (((n) + (cs) - 1) / (cs))

/* Kernels compiled three times, for AVX-512 (x86-64-v4), AVX2 (x86-64-v3:
 * Haswell, Zen 1-3) and the build's baseline (SSE4.2), picked once at load
 * time by the CPU (ifunc).  Loops in them use "omp simd"; without
 * -ffp-contract (off in ISO C mode) all versions give the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CPU_CLONES
#endif

/* m ? a : b, and m ? a : +0, as bit masks: the same bits as the ternaries
 * (NaN and -0 included), but GCC neither branches on them nor turns
 * "x * (m ? 1 : a)" into a multiply under a condition, which it will not
 * vectorise without AVX-512's masks (it might trap).  Branching on data
 * that way made max pooling's backward 10x its forward and ReLU's backward
 * a tenth of a VGG-style step. */
static inline float
cpu_select(int m, float a, float b)
{
	union { float f; uint32_t u; } x = { a }, y = { b };

	x.u = (x.u & -(uint32_t)m) | (y.u & ~-(uint32_t)m);
	return x.f;
}

static inline float
cpu_keep_if(int m, float a)
{
	union { float f; uint32_t u; } v = { a };

	v.u &= -(uint32_t)m;
	return v.f;
}

/* Thin filters (cpu-thin.c): the forward and filter gradient of a
 * convolution with R*S*C <= THIN_MAX, on a CPU with AVX2 and FMA, unless
 * DL_CPU_CONV=blas; on ns samples x (y, dy: theirs), no im2col.  wt: the
 * filters packed by cpu_thin_pack into cpu_thin_wsize floats; scratch:
 * cpu_thin_scratch(cv, ns) floats (a multiple of 16); dw: [K, R*S*C],
 * overwritten. */
#define THIN_MAX 32
int cpu_thin_ok(const struct dl_conv *cv);
size_t cpu_thin_wsize(const struct dl_conv *cv);
size_t cpu_thin_scratch(const struct dl_conv *cv, int ns);
void cpu_thin_pack(const struct dl_conv *cv, const float *w, float *wt);
void cpu_thin_fwd(const struct dl_conv *cv, int ns, const float *x, const float *wt, float *y,
    float *scratch);
void cpu_thin_filter(const struct dl_conv *cv, int ns, const float *dy, const float *x, float *dw,
    float *scratch);

/* Convolution op (0 fwd: a = x, b = w; 1 bwd data: a = dy, b = w; 2 bwd
 * filter: a = x, b = dy) through oneDNN: 0 done, 1 declined, <0 error. */
int cpu_dnnl_conv(struct dl_backend_ctx *ctx, int op, struct dl_conv *cv,
    const float *a, const float *b, float *out);
void cpu_dnnl_fini(struct dl_backend_ctx *ctx);

int cpu_gemm(struct dl_backend_ctx *ctx, int ta, int tb, int m, int n, int k,
    float alpha, const float *a, const float *b, float beta, float *c);
int cpu_conv2d_fwd(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *x, const float *w, float *y);
int cpu_conv2d_bwd_data(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *dy, const float *w, float *dx);
int cpu_conv2d_bwd_filter(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *x, const float *dy, float *dw);
/* The same four with the operands rounded to ctx->prec (cpu-prec.c). */
int cpu_gemm_prec(struct dl_backend_ctx *ctx, int ta, int tb, int m, int n, int k,
    float alpha, const float *a, const float *b, float beta, float *c);
int cpu_conv2d_fwd_prec(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *x, const float *w, float *y);
int cpu_conv2d_bwd_data_prec(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *dy, const float *w, float *dx);
int cpu_conv2d_bwd_filter_prec(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *x, const float *dy, float *dw);
int cpu_set_precision(struct dl_backend_ctx *ctx, int prec);
int cpu_bias_add(struct dl_backend_ctx *ctx, long rows, int c, const float *b, float *y);
int cpu_bias_bwd(struct dl_backend_ctx *ctx, long rows, int c, const float *dy, float *db);
int cpu_pool_fwd(struct dl_backend_ctx *ctx, struct dl_pool *pl, const float *x, float *y);
int cpu_pool_bwd(struct dl_backend_ctx *ctx, struct dl_pool *pl, const float *x,
    const float *y, const float *dy, float *dx);
int cpu_upsample_fwd(struct dl_backend_ctx *ctx, int n, int h, int w, int c, int f,
    const float *x, float *y);
int cpu_upsample_bwd(struct dl_backend_ctx *ctx, int n, int h, int w, int c, int f,
    const float *dy, float *dx);
int cpu_act_fwd(struct dl_backend_ctx *ctx, int act, float alpha, long n,
    const float *x, float *y);
int cpu_act_bwd(struct dl_backend_ctx *ctx, int act, float alpha, long n,
    const float *y, const float *dy, float *dx);
int cpu_bn_fwd_train(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *gamma, const float *beta, float eps, float momentum,
    float *run_mean, float *run_var, float *save_mean, float *save_invstd, float *y);
int cpu_bn_fwd_infer(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *gamma, const float *beta, const float *run_mean,
    const float *run_var, float eps, float *y);
int cpu_bn_bwd(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *dy, const float *gamma, const float *save_mean,
    const float *save_invstd, float *dx, float *dgamma, float *dbeta);
int cpu_dropout_fwd(struct dl_backend_ctx *ctx, long n, float p, uint64_t seed, uint64_t i0,
    const float *x, float *mask, float *y);
int cpu_dropout_bwd(struct dl_backend_ctx *ctx, long n, const float *mask,
    const float *dy, float *dx);
int cpu_loss(struct dl_backend_ctx *ctx, int kind, float delta, long n, int k,
    const float *z, const void *target, int target_f32, float scale,
    float *loss, float *dz);
int cpu_softmax(struct dl_backend_ctx *ctx, long n, int k, const float *z, float *p);
int cpu_sgd_step(struct dl_backend_ctx *ctx, long n, float *w, const float *g,
    float *v, float lr, float momentum, float wd, int nesterov);
int cpu_adam_step(struct dl_backend_ctx *ctx, long n, float *w, const float *g,
    float *m, float *v, float lr, float b1, float b2, float eps, float wd, long t);
int cpu_fill(struct dl_backend_ctx *ctx, long n, float v, float *x);
int cpu_scale(struct dl_backend_ctx *ctx, long n, float a, float *x);
int cpu_axpy(struct dl_backend_ctx *ctx, long n, float a, const float *x, float *y);
int cpu_u8_to_f32(struct dl_backend_ctx *ctx, long n, const uint8_t *x, float a,
    float b, float *y);
int cpu_sumsq(struct dl_backend_ctx *ctx, long n, const float *x, float *out);

#endif
