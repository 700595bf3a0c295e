/*
 * backend.cu - the CUDA backend's table (dl_backend_cuda, found by
 * lib/backend.c with dlsym), its context, errors, memory, copies and gemm
 * (cuBLAS).  Kernels: conv.cu (cuDNN), dnn.cu (cuDNN pooling, batch norm,
 * activations, softmax), loss.cu, elem.cu.  CPU twin: lib/cpu/cpu-backend.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda.h"

char cuda_lasterr[512];

static const char *
base(const char *file)
{
	const char *s = strrchr(file, '/');

	return s ? s + 1 : file;
}

int
cuda_err(int code, const char *file, int line, const char *fmt, ...)
{
	char msg[448];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(cuda_lasterr, sizeof cuda_lasterr, "cuda: %s:%d: %s", base(file), line, msg);
	if (dl_seterr)
		dl_seterr(code, "%s", cuda_lasterr);
	return -code;
}

/* "cudnnConvolutionForward(ctx->dnn, ...)" -> "cudnnConvolutionForward" */
static const char *
fname(const char *call, char *buf, size_t n)
{
	size_t len = strcspn(call, "(");

	if (len >= n)
		len = n - 1;
	memcpy(buf, call, len);
	buf[len] = 0;
	return buf;
}

int
cuda_err_rt(cudaError_t e, const char *call, const char *file, int line)
{
	char f[96];

	if (e == cudaErrorMemoryAllocation) {
		const char *where = cuda_rt_nomem_where(call);

		return cuda_err(DL_ENOMEM, file, line, "%s: out of %s memory%s", fname(call, f, sizeof f),
		    where, strcmp(where, "device") ? "" : "; try a smaller batch");
	}
	return cuda_err(DL_EDEVICE, file, line, "%s: %s (%s)", fname(call, f, sizeof f),
	    cudaGetErrorString(e), cudaGetErrorName(e));
}

int
cuda_err_blas(cublasStatus_t s, const char *call, const char *file, int line)
{
	char f[96];

	/* cuBLAS: "usually caused by a cudaMalloc() failure" */
	if (s == CUBLAS_STATUS_ALLOC_FAILED)
		return cuda_err(DL_ENOMEM, file, line, "%s: out of device memory (cuBLAS's own "
		    "allocation); try a smaller batch", fname(call, f, sizeof f));
	return cuda_err(DL_EDEVICE, file, line, "%s: %s (%s)", fname(call, f, sizeof f),
	    cublasGetStatusString(s), cublasGetStatusName(s));
}

int
cuda_err_dnn(cudnnStatus_t s, const char *call, const char *file, int line)
{
	char f[96], detail[256] = "";

	cudnnGetLastErrorString(detail, sizeof detail);
	/* cuDNN 9: 4003 is its host allocation (the old ALLOC_FAILED), 4004 device */
	if (cuda_dnn_status_class(s) == CUDA_ST_HOST_NOMEM)
		return cuda_err(DL_ENOMEM, file, line, "%s: out of host memory (cuDNN's own allocation)",
		    fname(call, f, sizeof f));
	if (cuda_dnn_status_class(s) == CUDA_ST_DEVICE_NOMEM)
		return cuda_err(DL_ENOMEM, file, line, "%s: out of device memory (cuDNN's own "
		    "allocation); try a smaller batch", fname(call, f, sizeof f));
	return cuda_err(DL_EDEVICE, file, line, "%s: %s%s%s", fname(call, f, sizeof f),
	    cudnnGetErrorString(s), *detail ? ": " : "", detail);
}

static double
gib(size_t n)
{
	return (double)n / (1u << 30);
}

/* Bytes the stream-ordered pool holds but no allocation uses (free for
 * our own allocations, not for cuBLAS's, cuDNN's or other processes'). */
static size_t
pool_cached(struct dl_backend_ctx *ctx)
{
	uint64_t res = 0, used = 0;

	if (!ctx || !ctx->pools ||
	    cudaMemPoolGetAttribute(ctx->pool, cudaMemPoolAttrReservedMemCurrent, &res) != cudaSuccess ||
	    cudaMemPoolGetAttribute(ctx->pool, cudaMemPoolAttrUsedMemCurrent, &used) != cudaSuccess) {
		cudaGetLastError();
		return 0;
	}
	return res > used ? (size_t)(res - used) : 0;
}

int
cuda_oom(struct dl_backend_ctx *ctx, const char *what, size_t nbytes, const char *file, int line)
{
	size_t fr = 0, tot = 0, cached;

	cudaGetLastError();	/* clear the non-sticky allocation error */
	cudaMemGetInfo(&fr, &tot);
	cudaGetLastError();
	cached = pool_cached(ctx);
	return cuda_err(DL_ENOMEM, file, line,
	    "%s: out of device memory: asked for %.3g GiB, %.3g GiB free of %.3g GiB "
	    "(and %.3g GiB cached unused in the pool); try a smaller batch", what, gib(nbytes),
	    gib(fr), gib(tot), gib(cached));
}

/* ---- lifetime ---------------------------------------------------------------- */

static void cuda_fini(struct dl_backend_ctx *ctx);

static int
cuda_init(struct dl_backend_ctx **pctx, int device, int threads)
{
	struct dl_backend_ctx *ctx;
	struct cudaDeviceProp prop;
	int ndev = 0, rc = 0;
	cudaError_t e;
	size_t fr, tot;
	const char *s;

	(void)threads;
	*pctx = NULL;
	if ((e = cudaGetDeviceCount(&ndev)) != cudaSuccess) {
		int dv = 0, rv = 0;

		cudaGetLastError();
		cudaDriverGetVersion(&dv);
		cudaRuntimeGetVersion(&rv);
		if (e == cudaErrorInsufficientDriver && dv == 0)
			return CUDA_ERR(DL_EDEVICE, "no usable device: no NVIDIA driver (libcuda.so.1) found");
		if (e == cudaErrorInsufficientDriver)
			return CUDA_ERR(DL_EDEVICE, "no usable device: the driver supports CUDA %d.%d, "
			    "this build needs %d.%d", dv / 1000, dv % 1000 / 10, rv / 1000, rv % 1000 / 10);
		return CUDA_ERR(DL_EDEVICE, "no usable device: %s", cudaGetErrorString(e));
	}
	if (ndev < 1)
		return CUDA_ERR(DL_EDEVICE, "no usable device: none visible");
	if (device < 0 || device >= ndev)
		return CUDA_ERR(DL_EUSAGE, "device %d: there %s %d (cuda:0..cuda:%d)", device,
		    ndev == 1 ? "is" : "are", ndev, ndev - 1);
	if (!(ctx = (struct dl_backend_ctx *)calloc(1, sizeof *ctx)))
		return CUDA_ERR(DL_ENOMEM, "init: out of host memory");
	ctx->device = device;
	*pctx = ctx;
#define INIT(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) { \
	rc = cuda_err_rt(e_, #call, __FILE__, __LINE__); goto fail; } } while (0)
	INIT(cudaSetDevice(device));
	INIT(cudaGetDeviceProperties(&prop, device));
	if (prop.major < 8) {
		rc = CUDA_ERR(DL_EDEVICE, "device %d (%s): compute capability %d.%d; this build "
		    "needs 8.0 or later (sm_80, sm_90)", device, prop.name, prop.major, prop.minor);
		goto fail;
	}
	INIT(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking));
	INIT(cudaStreamCreateWithFlags(&ctx->up, cudaStreamNonBlocking));
	INIT(cudaEventCreateWithFlags(&ctx->ev_compute, cudaEventDisableTiming));
	INIT(cudaEventCreateWithFlags(&ctx->ev_up, cudaEventDisableTiming));
	for (int i = 0; i < CUDA_STAGE; i++) {
		INIT(cudaHostAlloc(&ctx->stage[i].host, CUDA_STAGE_BYTES, cudaHostAllocDefault));
		INIT(cudaEventCreateWithFlags(&ctx->stage[i].done, cudaEventDisableTiming));
	}
	INIT(cudaHostAlloc((void **)&ctx->flags, 4 * sizeof(int), cudaHostAllocMapped));
	INIT(cudaHostGetDevicePointer((void **)&ctx->dflags, ctx->flags, 0));
	memset(ctx->flags, 0, 4 * sizeof(int));

	/* a caching, stream-ordered allocator: freed blocks stay in the pool */
	{
		int ok = 0;
		uint64_t keep = UINT64_MAX;

		if (cudaDeviceGetAttribute(&ok, cudaDevAttrMemoryPoolsSupported, device) == cudaSuccess &&
		    ok && cudaDeviceGetDefaultMemPool(&ctx->pool, device) == cudaSuccess &&
		    cudaMemPoolSetAttribute(ctx->pool, cudaMemPoolAttrReleaseThreshold, &keep) ==
		    cudaSuccess)
			ctx->pools = 1;
		cudaGetLastError();
	}
	INIT(cudaMalloc((void **)&ctx->part, CUDA_PART * sizeof(double)));

	ctx->tf32 = cuda_envflag(getenv("DL_CUDA_TF32"), 0);
	ctx->set = cuda_settings_of(getenv("DL_CUDA_DETERMINISTIC"), getenv("DL_CUDA_NONDET"),
	    getenv("DL_CUDA_CONV_SEARCH"));
	INIT(cudaMemGetInfo(&fr, &tot));
	ctx->ws_limit = tot / 8 < (size_t)2 << 30 ? tot / 8 : (size_t)2 << 30;
	if ((s = getenv("DL_CUDA_WORKSPACE_MB")) && *s)
		ctx->ws_limit = (size_t)strtoull(s, NULL, 10) << 20;
	snprintf(ctx->name, sizeof ctx->name, "cuda:%d (%.120s, %.0f GiB, sm_%d%d%s%s%s", device,
	    prop.name, gib(tot), prop.major, prop.minor, ctx->tf32 ? ", tf32" : "",
	    ctx->set.nondet ? ", non-deterministic" : "", ctx->set.search ? ", timed conv search" :
	    ctx->set.search_ignored ? ", conv search off (deterministic)" : "");
#undef INIT
	return 0;
fail:
	cuda_fini(ctx);
	*pctx = NULL;
	return rc;
}

static void
cuda_fini(struct dl_backend_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->stream)
		cudaStreamSynchronize(ctx->stream);
	if (ctx->up)
		cudaStreamSynchronize(ctx->up);
	cuda_conv_free_all(ctx);
	for (int i = 0; i < 3; i++)
		if (ctx->td[i])
			cudnnDestroyTensorDescriptor(ctx->td[i]);
	if (ctx->pd)
		cudnnDestroyPoolingDescriptor(ctx->pd);
	if (ctx->ad)
		cudnnDestroyActivationDescriptor(ctx->ad);
	if (ctx->dnn)
		cudnnDestroy(ctx->dnn);
	if (ctx->blas)
		cublasDestroy(ctx->blas);
	/* the buffers of the stream-ordered pool too: the stream is idle */
	cudaFree(ctx->ws.p);
	cudaFree(ctx->lp.p);
	cudaFree(ctx->ones.p);
	cudaFree(ctx->part);
	if (ctx->flags)
		cudaFreeHost(ctx->flags);
	for (int i = 0; i < CUDA_STAGE; i++) {
		if (ctx->stage[i].host)
			cudaFreeHost(ctx->stage[i].host);
		if (ctx->stage[i].done)
			cudaEventDestroy(ctx->stage[i].done);
	}
	if (ctx->ev_compute)
		cudaEventDestroy(ctx->ev_compute);
	if (ctx->ev_up)
		cudaEventDestroy(ctx->ev_up);
	if (ctx->up)
		cudaStreamDestroy(ctx->up);
	if (ctx->stream)
		cudaStreamDestroy(ctx->stream);
	cudaGetLastError();
	free(ctx);
}

int
cuda_blas(struct dl_backend_ctx *ctx)
{
	if (ctx->blas)
		return 0;
	CUBLAS(cublasCreate(&ctx->blas));
	CUBLAS(cublasSetStream(ctx->blas, ctx->stream));
	/* the default math mode keeps fp32 in fp32; TF32 is asked per call
	 * (cuda_gemm's compute type) */
	return 0;
}

int
cuda_dnn(struct dl_backend_ctx *ctx)
{
	if (ctx->dnn)
		return 0;
	CUDNN(cudnnCreate(&ctx->dnn));
	CUDNN(cudnnSetStream(ctx->dnn, ctx->stream));
	for (int i = 0; i < 3; i++)
		CUDNN(cudnnCreateTensorDescriptor(&ctx->td[i]));
	CUDNN(cudnnCreatePoolingDescriptor(&ctx->pd));
	CUDNN(cudnnCreateActivationDescriptor(&ctx->ad));
	return 0;
}

/* ---- memory -------------------------------------------------------------------- */

static size_t
total_mem(struct dl_backend_ctx *ctx)
{
	size_t fr = 0, tot = 0;

	(void)ctx;
	cudaGetLastError();
	cudaMemGetInfo(&fr, &tot);
	return tot;
}

/* The context's allocator (policy.h's cuda_buf_ops): stream-ordered from
 * the pool where there is one.  Out of memory with a pool, the pool's
 * cached blocks are released to the device and the allocation tried once
 * more (cuBLAS and cuDNN allocate outside the pool). */
static int
dev_alloc(void *arg, void **p, size_t n)
{
	struct dl_backend_ctx *ctx = (struct dl_backend_ctx *)arg;
	cudaError_t e;

	*p = NULL;
	e = ctx->pools ? cudaMallocAsync(p, n, ctx->stream) : cudaMalloc(p, n);
	if (e == cudaErrorMemoryAllocation && ctx->pools) {
		cudaGetLastError();
		if (cudaStreamSynchronize(ctx->stream) == cudaSuccess &&
		    cudaMemPoolTrimTo(ctx->pool, 0) == cudaSuccess)
			e = cudaMallocAsync(p, n, ctx->stream);
	}
	if (e != cudaSuccess)
		*p = NULL;
	return (int)e;
}

static int
dev_free(void *arg, void *p)
{
	struct dl_backend_ctx *ctx = (struct dl_backend_ctx *)arg;

	if (!p)
		return 0;
	/* stream-ordered: queued work that still reads p finishes first */
	return (int)(ctx->pools ? cudaFreeAsync(p, ctx->stream) : cudaFree(p));
}

static void *
cuda_alloc(struct dl_backend_ctx *ctx, size_t nbytes)
{
	void *p = NULL;
	cudaError_t e;

	if (nbytes == 0)
		nbytes = 256;
	e = (cudaError_t)dev_alloc(ctx, &p, nbytes);
	if (e == cudaErrorMemoryAllocation || (e != cudaSuccess && nbytes > total_mem(ctx))) {
		cuda_oom(ctx, "alloc", nbytes, __FILE__, __LINE__);
		return NULL;
	}
	if (e != cudaSuccess) {
		cuda_err_rt(e, ctx->pools ? "cudaMallocAsync" : "cudaMalloc", __FILE__, __LINE__);
		return NULL;
	}
	if ((e = cudaMemsetAsync(p, 0, nbytes, ctx->stream)) != cudaSuccess) {
		cuda_err_rt(e, "cudaMemsetAsync", __FILE__, __LINE__);
		dev_free(ctx, p);
		return NULL;
	}
	return p;
}

static void
cuda_free(struct dl_backend_ctx *ctx, void *p)
{
	dev_free(ctx, p);
}

int
cuda_grow(struct dl_backend_ctx *ctx, struct cuda_buf *b, size_t need, const char *what)
{
	const struct cuda_buf_ops ops = { ctx, dev_alloc, dev_free };
	int err = 0;
	size_t asked = 0;

	switch (cuda_buf_grow(b, need, &ops, &err, &asked)) {
	case CUDA_BUF_OK:
		return 0;
	case CUDA_BUF_FREE_FAILED:
		return cuda_err_rt((cudaError_t)err, ctx->pools ? "cudaFreeAsync" : "cudaFree",
		    __FILE__, __LINE__);
	default:
		if (err == cudaErrorMemoryAllocation)
			return cuda_oom(ctx, what, asked, __FILE__, __LINE__);
		return cuda_err_rt((cudaError_t)err, ctx->pools ? "cudaMallocAsync" : "cudaMalloc",
		    __FILE__, __LINE__);
	}
}

int
cuda_trim(struct dl_backend_ctx *ctx, struct cuda_buf *b, size_t keep)
{
	const struct cuda_buf_ops ops = { ctx, dev_alloc, dev_free };
	int e = cuda_buf_trim(b, keep, &ops);

	return e ? cuda_err_rt((cudaError_t)e, ctx->pools ? "cudaFreeAsync" : "cudaFree", __FILE__,
	    __LINE__) : 0;
}

int
cuda_ws(struct dl_backend_ctx *ctx, size_t nbytes, void **p)
{
	*p = NULL;
	TRY(cuda_grow(ctx, &ctx->ws, nbytes, "convolution workspace"));
	*p = nbytes ? ctx->ws.p : NULL;
	return 0;
}

/* A loss kernel that met a class target outside [0,k) leaves it in the
 * mapped flags; reported once the stream has been waited for. */
static int
check_flags(struct dl_backend_ctx *ctx)
{
	volatile int *f = ctx->flags;

	if (!f[0])
		return 0;
	int t = f[1], k = f[2];
	f[0] = 0;
	return CUDA_ERR(DL_EUSAGE, "loss: target %d outside [0,%d)", t, k);
}

/* host -> device through the pinned buffers on the upload stream: the
 * host memcpy into one buffer overlaps the copy out of the other, and
 * both overlap the compute queued before (which the copy must not
 * overtake: it may still read dst).  Compute queued after waits. */
static int
cuda_put(struct dl_backend_ctx *ctx, void *dst, const void *host, size_t nbytes)
{
	const char *src = (const char *)host;
	char *d = (char *)dst;

	if (!nbytes)
		return 0;
	CU(cudaEventRecord(ctx->ev_compute, ctx->stream));
	CU(cudaStreamWaitEvent(ctx->up, ctx->ev_compute, 0));
	while (nbytes) {
		size_t len = nbytes < CUDA_STAGE_BYTES ? nbytes : CUDA_STAGE_BYTES;
		int i = ctx->stage_next;

		ctx->stage_next = (i + 1) % CUDA_STAGE;
		CU(cudaEventSynchronize(ctx->stage[i].done));
		memcpy(ctx->stage[i].host, src, len);
		CU(cudaMemcpyAsync(d, ctx->stage[i].host, len, cudaMemcpyHostToDevice, ctx->up));
		CU(cudaEventRecord(ctx->stage[i].done, ctx->up));
		src += len;
		d += len;
		nbytes -= len;
	}
	CU(cudaEventRecord(ctx->ev_up, ctx->up));
	CU(cudaStreamWaitEvent(ctx->stream, ctx->ev_up, 0));
	return 0;
}

static int
cuda_get(struct dl_backend_ctx *ctx, void *host, const void *src, size_t nbytes)
{
	if (nbytes)
		CU(cudaMemcpyAsync(host, src, nbytes, cudaMemcpyDeviceToHost, ctx->stream));
	CU(cudaStreamSynchronize(ctx->stream));
	return check_flags(ctx);
}

static int
cuda_copy(struct dl_backend_ctx *ctx, void *dst, const void *src, size_t nbytes)
{
	if (nbytes && dst != src)
		CU(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, ctx->stream));
	return 0;
}

static int
cuda_sync(struct dl_backend_ctx *ctx)
{
	CU(cudaStreamSynchronize(ctx->stream));
	return check_flags(ctx);
}

/* ---- gemm ------------------------------------------------------------------------
 * Row-major C[m,n] is column-major C^T[n,m] = op(B)^T op(A)^T: swap the
 * operands and keep each one's transpose flag. */
int
cuda_gemm(struct dl_backend_ctx *ctx, int ta, int tb, int m, int n, int k,
    float alpha, const float *a, const float *b, float beta, float *c)
{
	int lda = ta ? m : k, ldb = tb ? k : n;

	if (m <= 0 || n <= 0)
		return 0;
	if (k <= 0) {		/* C = beta C */
		if (beta == 1)
			return 0;
		if (beta != 0)
			return cuda_scale(ctx, (long)m * n, beta, c);
		CU(cudaMemsetAsync(c, 0, (size_t)m * n * sizeof *c, ctx->stream));
		return 0;
	}
	TRY(cuda_blas(ctx));
	if (ctx->prec != DL_PREC_FP32) {
		/* A and B rounded to bf16/fp16, fp32 accumulation into fp32 C
		 * (so beta = 1 accumulates in fp32 too) */
		cudaDataType_t t = ctx->prec == DL_PREC_BF16 ? CUDA_R_16BF : CUDA_R_16F;
		size_t sz[2] = { (size_t)m * k, (size_t)k * n };
		void *h[2];

		TRY(cuda_lowp(ctx, 2, sz, h));
		TRY(cuda_round(ctx, sz[0], a, h[0]));
		TRY(cuda_round(ctx, sz[1], b, h[1]));
		CUBLAS(cublasGemmEx(ctx->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
		    ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, h[1], t, ldb, h[0], t, lda,
		    &beta, c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
		return 0;
	}
	CUBLAS(cublasGemmEx(ctx->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
	    n, m, k, &alpha, b, CUDA_R_32F, ldb, a, CUDA_R_32F, lda, &beta, c, CUDA_R_32F, n,
	    ctx->tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F,
	    CUBLAS_GEMM_DEFAULT));
	return 0;
}

/* bf16 and fp16 need sm_80, which cuda_init already asks for. */
static int
cuda_set_precision(struct dl_backend_ctx *ctx, int prec)
{
	if (prec != DL_PREC_FP32 && prec != DL_PREC_BF16 && prec != DL_PREC_FP16)
		return CUDA_ERR(DL_EUSAGE, "unknown precision %d", prec);
	ctx->prec = prec;
	return 0;
}

/* "cuda:0 (NVIDIA H100 80GB HBM3, 79 GiB, sm_90, bf16 mixed precision)" */
static int
cuda_describe(struct dl_backend_ctx *ctx, char *buf, size_t n)
{
	char fb[64] = "";

	if (ctx->lp_fp32)
		snprintf(fb, sizeof fb, "; %d convolution direction%s in fp32", ctx->lp_fp32,
		    ctx->lp_fp32 == 1 ? "" : "s");
	return snprintf(buf, n, "%s%s%s)", ctx->name,
	    ctx->prec == DL_PREC_BF16 ? ", bf16 mixed precision" :
	    ctx->prec == DL_PREC_FP16 ? ", fp16 mixed precision" : "", fb);
}

extern "C" {
extern const struct dl_backend dl_backend_cuda;
__attribute__((visibility("default"))) const struct dl_backend dl_backend_cuda = {
	.name = "cuda",
	.abi = DL_BACKEND_ABI,
	.init = cuda_init,
	.fini = cuda_fini,
	.alloc = cuda_alloc,
	.free = cuda_free,
	.put = cuda_put,
	.get = cuda_get,
	.copy = cuda_copy,
	.sync = cuda_sync,
	.gemm = cuda_gemm,
	.conv2d_plan = cuda_conv2d_plan,
	.conv2d_unplan = cuda_conv2d_unplan,
	.conv2d_fwd = cuda_conv2d_fwd,
	.conv2d_bwd_data = cuda_conv2d_bwd_data,
	.conv2d_bwd_filter = cuda_conv2d_bwd_filter,
	.bias_add = cuda_bias_add,
	.bias_bwd = cuda_bias_bwd,
	.pool_fwd = cuda_pool_fwd,
	.pool_bwd = cuda_pool_bwd,
	.upsample_fwd = cuda_upsample_fwd,
	.upsample_bwd = cuda_upsample_bwd,
	.act_fwd = cuda_act_fwd,
	.act_bwd = cuda_act_bwd,
	.bn_fwd_train = cuda_bn_fwd_train,
	.bn_fwd_infer = cuda_bn_fwd_infer,
	.bn_bwd = cuda_bn_bwd,
	.dropout_fwd = cuda_dropout_fwd,
	.dropout_bwd = cuda_dropout_bwd,
	.loss = cuda_loss,
	.softmax = cuda_softmax,
	.sgd_step = cuda_sgd_step,
	.adam_step = cuda_adam_step,
	.fill = cuda_fill,
	.scale = cuda_scale,
	.axpy = cuda_axpy,
	.u8_to_f32 = cuda_u8_to_f32,
	.sumsq = cuda_sumsq,
	.describe = cuda_describe,
	.set_precision = cuda_set_precision,
};
}
