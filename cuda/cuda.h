/*
 * cuda.h - private to the CUDA backend (the .cu files in cuda/, compiled as C++ by
 * nvcc): the context, the check macros and the cuda_* entries that
 * cuda/backend.cu puts in the table dl_backend_cuda.  The contract is
 * lib/backend.h; the CPU twins live in lib/cpu/.  Nothing outside cuda/
 * includes this file.
 */
#ifndef DL_CUDA_H
#define DL_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

/* lib/dlpipe.h (C, included as such) gives the one definition of the
 * error codes (enum dl_errcode: DL_ENOMEM, DL_EDEVICE, ...) and
 * dl_seterr(); lib/backend.h the contract; lib/kernels.h the per-element
 * arithmetic shared with the CPU backend. */
extern "C" {
#include "dlpipe.h"
#include "backend.h"
}
#include "kernels.h"
#include "policy.h"

/* dl_seterr, redeclared weak: libdlpipe-cuda.so is dlopen()ed by a program
 * that holds the library, and binds to the program's dl_seterr (exported
 * with -Wl,--export-dynamic-symbol, see the Makefile); where none is
 * found the message is kept in cuda_lasterr only. */
extern "C" int dl_seterr(int code, const char *fmt, ...)
    __attribute__((weak, format(printf, 2, 3)));
extern char cuda_lasterr[512];

/* Record "cuda: file:line: msg" and return -code.  A failed allocation
 * says which memory ran out, host or device (C linkage: tests/gpu-errors.c
 * calls them in the built library, no GPU needed). */
extern "C" {
int cuda_err(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int cuda_err_rt(cudaError_t e, const char *call, const char *file, int line);
int cuda_err_blas(cublasStatus_t s, const char *call, const char *file, int line);
int cuda_err_dnn(cudnnStatus_t s, const char *call, const char *file, int line);
}

#define CUDA_ERR(code, ...) cuda_err((code), __FILE__, __LINE__, __VA_ARGS__)
#define CU(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) \
	return cuda_err_rt(e_, #call, __FILE__, __LINE__); } while (0)
#define CUBLAS(call) do { cublasStatus_t s_ = (call); if (s_ != CUBLAS_STATUS_SUCCESS) \
	return cuda_err_blas(s_, #call, __FILE__, __LINE__); } while (0)
#define CUDNN(call) do { cudnnStatus_t s_ = (call); if (s_ != CUDNN_STATUS_SUCCESS) \
	return cuda_err_dnn(s_, #call, __FILE__, __LINE__); } while (0)
/* A launch, then CU(cudaGetLastError()): bad configurations fail here,
 * faults inside the kernel at a later call or sync(). */
#define LAUNCH(kern, grid, block, ctx, ...) do { \
	kern<<<(grid), (block), 0, (ctx)->stream>>>(__VA_ARGS__); \
	CU(cudaGetLastError()); } while (0)
/* Propagate a negative return. */
#define TRY(x) do { int rc_ = (x); if (rc_ < 0) return rc_; } while (0)

/* Blocks for a grid-stride loop over n elements. */
static inline unsigned
cuda_blocks(long n, int threads)
{
	long b = (n + threads - 1) / threads;

	return (unsigned)(b < 1 ? 1 : b > 65535L * 16 ? 65535L * 16 : b);
}

#define CUDA_STAGE 2			/* pinned upload buffers, used in turn */
#define CUDA_STAGE_BYTES (8u << 20)	/* each */

struct cuda_conv;			/* conv.cu: descriptors and algorithms per shape */

struct dl_backend_ctx {
	int device;			/* CUDA ordinal */
	cudaStream_t stream;		/* every entry's work, in call order */
	cudaStream_t up;		/* host -> device copies from pinned buffers */
	cudaEvent_t ev_compute;		/* "compute reached here" for up to wait on */
	cudaEvent_t ev_up;		/* "upload done" for stream to wait on */
	struct {
		void *host;		/* pinned, CUDA_STAGE_BYTES */
		cudaEvent_t done;	/* its last copy finished */
	} stage[CUDA_STAGE];
	int stage_next;
	int pools;			/* stream-ordered allocator (cudaMallocAsync) usable */
	cublasHandle_t blas;		/* created on first use */
	cudnnHandle_t dnn;		/* created on first use */
	cudaMemPool_t pool;		/* the device's default pool, when pools */
	int tf32;			/* $DL_CUDA_TF32: TF32 tensor cores for gemm and conv */
	struct cuda_settings set;	/* determinism and search (policy.h) */
	size_t ws_limit;		/* most workspace a convolution may take */
	struct cuda_buf ws;		/* workspace, grown by cuda_ws() */
	struct cuda_buf ones;		/* floats of 1 (bias gradient by gemv) */
	double *part;			/* CUDA_PART doubles for reductions */
	int *flags;			/* pinned, mapped: [0] a bad class target seen, [1] it, [2] k */
	int *dflags;			/* the device view of flags */
	struct cuda_conv *convs;	/* plans, freed by fini */
	cudnnTensorDescriptor_t td[3];	/* scratch descriptors for act, softmax, bn, pool */
	cudnnPoolingDescriptor_t pd;
	cudnnActivationDescriptor_t ad;
	struct {			/* the eps of each batch norm forward, by its */
		const float *invstd;	/* saved statistics, for the backward */
		float eps;
	} bn_eps[16];
	int bn_next;
	int prec;			/* enum dl_precision: operands of gemm and conv (prec.cu) */
	struct cuda_buf lp;		/* their rounded copies, grown by cuda_lowp() */
	int lp_fp32;			/* convolution directions that found no low-precision algorithm */
	char name[256];			/* "cuda:0 (NVIDIA H100 80GB HBM3, 79 GiB" (no ')') */
};

#define CUDA_PART 1024

/* *p: workspace of at least nbytes (contents undefined; NULL for none).
 * 0, or -DL_ENOMEM with the message. */
int cuda_ws(struct dl_backend_ctx *ctx, size_t nbytes, void **p);
/* b grown to need bytes (policy.h) with the context's allocator; a
 * failure says what for ("workspace") and how much memory is free. */
int cuda_grow(struct dl_backend_ctx *ctx, struct cuda_buf *b, size_t need, const char *what);
int cuda_trim(struct dl_backend_ctx *ctx, struct cuda_buf *b, size_t keep);
int cuda_blas(struct dl_backend_ctx *ctx);	/* ctx->blas exists */
int cuda_dnn(struct dl_backend_ctx *ctx);	/* ctx->dnn exists */
/* "out of device memory: asked for 1.5 GiB, 0.3 GiB free of 79 GiB; try a
 * smaller batch" */
int cuda_oom(struct dl_backend_ctx *ctx, const char *what, size_t nbytes, const char *file,
    int line);
void cuda_conv_free_all(struct dl_backend_ctx *ctx);

/* Mixed precision (prec.cu): cnt regions of n[i] 16-bit elements in the
 * context's low-precision buffer (contents undefined, each 256-byte
 * aligned, valid until the next call), then conversions between float32
 * and ctx->prec's type (bf16 or fp16, rounded to nearest even). */
int cuda_lowp(struct dl_backend_ctx *ctx, int cnt, const size_t *n, void **p);
int cuda_round(struct dl_backend_ctx *ctx, size_t n, const float *x, void *y);
int cuda_widen(struct dl_backend_ctx *ctx, size_t n, const void *x, float *y);

int cuda_gemm(struct dl_backend_ctx *ctx, int ta, int tb, int m, int n, int k,
    float alpha, const float *a, const float *b, float beta, float *c);
int cuda_conv2d_plan(struct dl_backend_ctx *ctx, struct dl_conv *cv);
void cuda_conv2d_unplan(struct dl_backend_ctx *ctx, struct dl_conv *cv);
int cuda_conv2d_fwd(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *x, const float *w, float *y);
int cuda_conv2d_bwd_data(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *dy, const float *w, float *dx);
int cuda_conv2d_bwd_filter(struct dl_backend_ctx *ctx, struct dl_conv *cv,
    const float *x, const float *dy, float *dw);
int cuda_bias_add(struct dl_backend_ctx *ctx, long rows, int c, const float *b, float *y);
int cuda_bias_bwd(struct dl_backend_ctx *ctx, long rows, int c, const float *dy, float *db);
int cuda_upsample_fwd(struct dl_backend_ctx *ctx, int n, int h, int w, int c, int f,
    const float *x, float *y);
int cuda_upsample_bwd(struct dl_backend_ctx *ctx, int n, int h, int w, int c, int f,
    const float *dy, float *dx);
int cuda_pool_fwd(struct dl_backend_ctx *ctx, struct dl_pool *pl, const float *x, float *y);
int cuda_pool_bwd(struct dl_backend_ctx *ctx, struct dl_pool *pl, const float *x,
    const float *y, const float *dy, float *dx);
int cuda_act_fwd(struct dl_backend_ctx *ctx, int act, float alpha, long n,
    const float *x, float *y);
int cuda_act_bwd(struct dl_backend_ctx *ctx, int act, float alpha, long n,
    const float *y, const float *dy, float *dx);
int cuda_bn_fwd_train(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *gamma, const float *beta, float eps, float momentum,
    float *run_mean, float *run_var, float *save_mean, float *save_invstd, float *y);
int cuda_bn_fwd_infer(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *gamma, const float *beta, const float *run_mean,
    const float *run_var, float eps, float *y);
int cuda_bn_bwd(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *dy, const float *gamma, const float *save_mean,
    const float *save_invstd, float *dx, float *dgamma, float *dbeta);
int cuda_dropout_fwd(struct dl_backend_ctx *ctx, long n, float p, uint64_t seed, uint64_t i0,
    const float *x, float *mask, float *y);
int cuda_dropout_bwd(struct dl_backend_ctx *ctx, long n, const float *mask,
    const float *dy, float *dx);
int cuda_loss(struct dl_backend_ctx *ctx, int kind, float delta, long n, int k,
    const float *z, const void *target, int target_f32, float scale,
    float *loss, float *dz);
int cuda_softmax(struct dl_backend_ctx *ctx, long n, int k, const float *z, float *p);
int cuda_sgd_step(struct dl_backend_ctx *ctx, long n, float *w, const float *g,
    float *v, float lr, float momentum, float wd, int nesterov);
int cuda_adam_step(struct dl_backend_ctx *ctx, long n, float *w, const float *g,
    float *m, float *v, float lr, float b1, float b2, float eps, float wd, long t);
int cuda_fill(struct dl_backend_ctx *ctx, long n, float v, float *x);
int cuda_scale(struct dl_backend_ctx *ctx, long n, float a, float *x);
int cuda_axpy(struct dl_backend_ctx *ctx, long n, float a, const float *x, float *y);
int cuda_u8_to_f32(struct dl_backend_ctx *ctx, long n, const uint8_t *x, float a,
    float b, float *y);
int cuda_sumsq(struct dl_backend_ctx *ctx, long n, const float *x, float *out);

#endif
