/*
 * conv.cu - 2-D convolution on cuDNN, NHWC, filters KRSC (cuDNN's NHWC
 * filter format), so no transposes.  Descriptors and the algorithm of each
 * direction are kept per shape in ctx->convs (a plan is shared by layers of
 * one shape and lives until fini); algorithms come from cuDNN's heuristics,
 * or with $DL_CUDA_CONV_SEARCH=1 from timing them once (cudnnFind*Ex), and
 * never need more workspace than ctx->ws_limit.  CPU twin: lib/cpu/cpu-conv.c.
 * Mixed precision (ctx->prec bf16/fp16): plans of that data type with fp32
 * compute (cuDNN's PSEUDO_HALF / PSEUDO_BFLOAT16 configurations) run on
 * rounded copies of the operands (prec.cu), and the 16-bit result is
 * widened into the float32 output; a direction for which cuDNN offers no
 * such algorithm runs in fp32 (ctx->lp_fp32 counts them).
 *   fwd:        y[n,p,q,k]  = sum_{r,s,c} x[n, p*sh-ph+r, q*sw-pw+s, c] w[k,r,s,c]
 *   bwd data:   dx = the transposed convolution of dy with w
 *   bwd filter: dw[k,r,s,c] = sum_{n,p,q} dy[n,p,q,k] x[n, p*sh-ph+r, q*sw-pw+s, c]
 */
#include <stdlib.h>
#include <string.h>

#include "cuda.h"

enum { FWD, BWD_DATA, BWD_FILTER };
static const char *const dirname[] = { "forward", "backward data", "backward filter" };

struct cuda_conv {
	struct cuda_conv *next;
	int key[12];			/* n h w c k r s sh sw ph pw prec */
	cudnnTensorDescriptor_t xd, yd;
	cudnnFilterDescriptor_t wd;
	cudnnConvolutionDescriptor_t cd[3];	/* one per direction: each its math type */
	int chosen[3];			/* algo[] valid */
	int algo[3];			/* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
	size_t wsz[3];			/* its workspace */
	int prec;			/* enum dl_precision of the data */
	int fp32[3];			/* low precision: no algorithm, use the fp32 plan */
};

static void
key_of(const struct dl_conv *cv, int prec, int key[12])
{
	int k[12] = { cv->n, cv->h, cv->w, cv->c, cv->k, cv->r, cv->s,
	    cv->stride_h, cv->stride_w, cv->pad_h, cv->pad_w, prec };

	memcpy(key, k, sizeof k);
}

static void
plan_free(struct cuda_conv *pl)
{
	if (pl->xd)
		cudnnDestroyTensorDescriptor(pl->xd);
	if (pl->yd)
		cudnnDestroyTensorDescriptor(pl->yd);
	if (pl->wd)
		cudnnDestroyFilterDescriptor(pl->wd);
	for (int i = 0; i < 3; i++)
		if (pl->cd[i])
			cudnnDestroyConvolutionDescriptor(pl->cd[i]);
	free(pl);
}

void
cuda_conv_free_all(struct dl_backend_ctx *ctx)
{
	struct cuda_conv *pl, *next;

	for (pl = ctx->convs; pl; pl = next) {
		next = pl->next;
		plan_free(pl);
	}
	ctx->convs = NULL;
}

/* Descriptors of data type pl->prec; the convolution computes in fp32
 * whatever the data (fp16 and bf16: cuDNN's "pseudo" configurations). */
static int
describe(struct dl_backend_ctx *ctx, const struct dl_conv *cv, struct cuda_conv *pl)
{
	int on, ok, op, oq;
	cudnnMathType_t math = pl->prec != DL_PREC_FP32 ? CUDNN_TENSOR_OP_MATH :
	    ctx->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
	cudnnDataType_t dt = pl->prec == DL_PREC_BF16 ? CUDNN_DATA_BFLOAT16 :
	    pl->prec == DL_PREC_FP16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;

	CUDNN(cudnnCreateTensorDescriptor(&pl->xd));
	CUDNN(cudnnCreateTensorDescriptor(&pl->yd));
	CUDNN(cudnnCreateFilterDescriptor(&pl->wd));
	CUDNN(cudnnSetTensor4dDescriptor(pl->xd, CUDNN_TENSOR_NHWC, dt, cv->n, cv->c, cv->h, cv->w));
	CUDNN(cudnnSetFilter4dDescriptor(pl->wd, dt, CUDNN_TENSOR_NHWC, cv->k, cv->c, cv->r, cv->s));
	for (int i = 0; i < 3; i++) {
		CUDNN(cudnnCreateConvolutionDescriptor(&pl->cd[i]));
		CUDNN(cudnnSetConvolution2dDescriptor(pl->cd[i], cv->pad_h, cv->pad_w,
		    cv->stride_h, cv->stride_w, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
		CUDNN(cudnnSetConvolutionMathType(pl->cd[i], math));
	}
	CUDNN(cudnnGetConvolution2dForwardOutputDim(pl->cd[0], pl->xd, pl->wd, &on, &ok, &op, &oq));
	if (on != cv->n || ok != cv->k || op != cv->p || oq != cv->q)
		return CUDA_ERR(DL_ESHAPE, "conv2d: output %dx%dx%dx%d, cuDNN computes %dx%dx%dx%d",
		    cv->n, cv->p, cv->q, cv->k, on, op, oq, ok);
	CUDNN(cudnnSetTensor4dDescriptor(pl->yd, CUDNN_TENSOR_NHWC, dt, cv->n, cv->k, cv->p, cv->q));
	return 0;
}

static int
find_plan(struct dl_backend_ctx *ctx, const struct dl_conv *cv, int prec, struct cuda_conv **out)
{
	struct cuda_conv *pl;
	int key[12], rc;

	key_of(cv, prec, key);
	for (pl = ctx->convs; pl; pl = pl->next)
		if (!memcmp(pl->key, key, sizeof key)) {
			*out = pl;
			return 0;
		}
	if (cv->n < 1 || cv->h < 1 || cv->w < 1 || cv->c < 1 || cv->k < 1 || cv->r < 1 ||
	    cv->s < 1 || cv->stride_h < 1 || cv->stride_w < 1 || cv->pad_h < 0 || cv->pad_w < 0 ||
	    cv->p < 1 || cv->q < 1)
		return CUDA_ERR(DL_ESHAPE, "conv2d: bad shape n %d h %d w %d c %d k %d r %d s %d",
		    cv->n, cv->h, cv->w, cv->c, cv->k, cv->r, cv->s);
	TRY(cuda_dnn(ctx));
	if (!(pl = (struct cuda_conv *)calloc(1, sizeof *pl)))
		return CUDA_ERR(DL_ENOMEM, "conv2d: out of host memory");
	memcpy(pl->key, key, sizeof key);
	pl->prec = prec;
	if ((rc = describe(ctx, cv, pl)) < 0) {
		plan_free(pl);
		return rc;
	}
	pl->next = ctx->convs;
	ctx->convs = pl;
	*out = pl;
	return 0;
}

/* cuDNN's answer (best first) as policy.h's table; math[i] its math type. */
template <typename Perf>
static void
table(const Perf *perf, int n, struct cuda_algo *al, cudnnMathType_t *math)
{
	for (int i = 0; i < n; i++) {
		al[i].algo = (int)perf[i].algo;
		al[i].ok = perf[i].status == CUDNN_STATUS_SUCCESS;
		al[i].memory = perf[i].memory;
		al[i].deterministic = perf[i].determinism == CUDNN_DETERMINISTIC;
		al[i].math = perf[i].mathType == CUDNN_TENSOR_OP_MATH ? CUDA_MATH_TENSOR :
		    perf[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION ? CUDA_MATH_CONVERT :
		    CUDA_MATH_FMA;
		math[i] = perf[i].mathType;
	}
}

/* Room for a search: the bound, or half the free memory if less. */
static size_t
search_room(struct dl_backend_ctx *ctx)
{
	size_t fr = 0, tot = 0, lim = ctx->ws_limit;

	if (cudaMemGetInfo(&fr, &tot) == cudaSuccess && fr / 2 < lim)
		lim = fr / 2;
	return lim;
}

/* cuDNN's table for direction d: timed (search: a, b, c the operands of
 * that direction's call, whose output it overwrites; ws of room bytes) or
 * from its heuristics.  The query's status; *what its name. */
static cudnnStatus_t
query(struct dl_backend_ctx *ctx, struct cuda_conv *pl, int d, int search, const void *a,
    const void *b, void *c, void *ws, size_t room, struct cuda_algo *al, cudnnMathType_t *math,
    int na, int *n, const char **what)
{
	cudnnHandle_t h = ctx->dnn;
	cudnnStatus_t st;

	*n = 0;
	if (d == FWD) {
		cudnnConvolutionFwdAlgoPerf_t perf[16];
		*what = search ? "cudnnFindConvolutionForwardAlgorithmEx" :
		    "cudnnGetConvolutionForwardAlgorithm_v7";
		st = search ? cudnnFindConvolutionForwardAlgorithmEx(h, pl->xd, a, pl->wd, b, pl->cd[d],
		    pl->yd, c, na, n, perf, ws, room) : cudnnGetConvolutionForwardAlgorithm_v7(h, pl->xd,
		    pl->wd, pl->cd[d], pl->yd, na, n, perf);
		table(perf, st == CUDNN_STATUS_SUCCESS ? *n : 0, al, math);
	} else if (d == BWD_DATA) {
		cudnnConvolutionBwdDataAlgoPerf_t perf[16];
		*what = search ? "cudnnFindConvolutionBackwardDataAlgorithmEx" :
		    "cudnnGetConvolutionBackwardDataAlgorithm_v7";
		st = search ? cudnnFindConvolutionBackwardDataAlgorithmEx(h, pl->wd, b, pl->yd, a,
		    pl->cd[d], pl->xd, c, na, n, perf, ws, room) :
		    cudnnGetConvolutionBackwardDataAlgorithm_v7(h, pl->wd, pl->yd, pl->cd[d], pl->xd, na,
		    n, perf);
		table(perf, st == CUDNN_STATUS_SUCCESS ? *n : 0, al, math);
	} else {
		cudnnConvolutionBwdFilterAlgoPerf_t perf[16];
		*what = search ? "cudnnFindConvolutionBackwardFilterAlgorithmEx" :
		    "cudnnGetConvolutionBackwardFilterAlgorithm_v7";
		st = search ? cudnnFindConvolutionBackwardFilterAlgorithmEx(h, pl->xd, a, pl->yd, b,
		    pl->cd[d], pl->wd, c, na, n, perf, ws, room) :
		    cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, pl->xd, pl->yd, pl->cd[d], pl->wd,
		    na, n, perf);
		table(perf, st == CUDNN_STATUS_SUCCESS ? *n : 0, al, math);
	}
	if (st != CUDNN_STATUS_SUCCESS)
		*n = 0;
	return st;
}

/* A 16-bit direction that cuDNN cannot serve runs on the fp32 plan. */
static void
to_fp32(struct dl_backend_ctx *ctx, struct cuda_conv *pl, int d)
{
	pl->fp32[d] = 1;
	pl->chosen[d] = 1;
	ctx->lp_fp32++;
}

/* Choose the algorithm of direction d (policy.h decides; a, b, c: the
 * operands of that direction's call, used only by a search). */
static int
choose(struct dl_backend_ctx *ctx, struct cuda_conv *pl, int d, const void *a, const void *b,
    void *c)
{
	enum { NA = 16 };
	struct cuda_algo al[NA];
	cudnnMathType_t math[NA];
	int n = 0, i, cls, search = ctx->set.search && a;
	size_t room = ctx->ws_limit;
	void *ws = NULL;
	cudnnHandle_t h = ctx->dnn;
	cudnnStatus_t st;
	const char *what;
	int tensor_ok = ctx->tf32 || pl->prec != DL_PREC_FP32;

	if (search) {		/* room 0 ($DL_CUDA_WORKSPACE_MB=0): a search with none */
		room = search_room(ctx);
		TRY(cuda_ws(ctx, room, &ws));
	}
	st = query(ctx, pl, d, search, a, b, c, ws, room, al, math, NA, &n, &what);
	cls = cuda_dnn_status_class(st);
	i = cls == CUDA_ST_OK ? cuda_algo_pick(al, n, room, tensor_ok, ctx->set.nondet) : -1;
	if (search)		/* the search's room back to the pool: keep what the choice needs */
		TRY(cuda_trim(ctx, &ctx->ws, i >= 0 ? al[i].memory : 0));
	switch (cuda_algo_outcome(cls, i, pl->prec != DL_PREC_FP32)) {
	case CUDA_FP32:
		to_fp32(ctx, pl, d);
		return 0;
	case CUDA_FAIL:
		if (cls != CUDA_ST_OK)
			return cuda_err_dnn(st, what, __FILE__, __LINE__);
		{
			const char *why = cuda_algo_why_none(al, n, room, tensor_ok, ctx->set.nondet);

			return CUDA_ERR(DL_EDEVICE, "conv2d %s: no %scuDNN algorithm for "
			    "%dx%dx%dx%d * %dx%dx%dx%d (stride %d,%d pad %d,%d) within %zu MiB of "
			    "workspace (%d offered; %s)", dirname[d],
			    !strcmp(why, "deterministic") ? "deterministic " : "", pl->key[0], pl->key[1],
			    pl->key[2], pl->key[3], pl->key[4], pl->key[5], pl->key[6], pl->key[3],
			    pl->key[7], pl->key[8], pl->key[9], pl->key[10], room >> 20, n,
			    !strcmp(why, "deterministic") ? "DL_CUDA_DETERMINISTIC=0 allows the others" :
			    "DL_CUDA_WORKSPACE_MB raises the bound");
		}
	}
	pl->algo[d] = al[i].algo;
	/* fp32: keep FMA math whatever the entry says; tf32, bf16, fp16: the entry's */
	if (tensor_ok)
		CUDNN(cudnnSetConvolutionMathType(pl->cd[d], math[i]));
	if (d == FWD)
		CUDNN(cudnnGetConvolutionForwardWorkspaceSize(h, pl->xd, pl->wd, pl->cd[d], pl->yd,
		    (cudnnConvolutionFwdAlgo_t)pl->algo[d], &pl->wsz[d]));
	else if (d == BWD_DATA)
		CUDNN(cudnnGetConvolutionBackwardDataWorkspaceSize(h, pl->wd, pl->yd, pl->cd[d],
		    pl->xd, (cudnnConvolutionBwdDataAlgo_t)pl->algo[d], &pl->wsz[d]));
	else
		CUDNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, pl->xd, pl->yd, pl->cd[d],
		    pl->wd, (cudnnConvolutionBwdFilterAlgo_t)pl->algo[d], &pl->wsz[d]));
	pl->chosen[d] = 1;
	return 0;
}

/* The plan of precision prec for cv with direction d chosen, and its
 * workspace (none when a low-precision plan fell back to fp32 there). */
static int
ready(struct dl_backend_ctx *ctx, struct dl_conv *cv, int prec, int d, const void *a,
    const void *b, void *c, struct cuda_conv **out, void **ws)
{
	struct cuda_conv *pl;

	TRY(find_plan(ctx, cv, prec, &pl));
	if (!pl->chosen[d])
		TRY(choose(ctx, pl, d, a, b, c));
	*ws = NULL;
	*out = pl;
	if (pl->fp32[d])
		return 0;
	return cuda_ws(ctx, pl->wsz[d], ws);
}

int
cuda_conv2d_plan(struct dl_backend_ctx *ctx, struct dl_conv *cv)
{
	struct cuda_conv *pl;

	TRY(find_plan(ctx, cv, ctx->prec, &pl));
	/* a search needs the operands: it waits for the first call */
	if (!ctx->set.search && !pl->chosen[FWD])
		TRY(choose(ctx, pl, FWD, NULL, NULL, NULL));
	return 0;
}

/* Plans belong to the context (shared by layers of one shape): nothing to
 * free per layer. */
void
cuda_conv2d_unplan(struct dl_backend_ctx *ctx, struct dl_conv *cv)
{
	(void)ctx;
	cv->plan = NULL;
}

/* Direction d's cuDNN call: a, b the operands, c the result, as in
 * choose(); its status, *what the call's name. */
static cudnnStatus_t
run(struct dl_backend_ctx *ctx, struct cuda_conv *pl, int d, const void *a, const void *b,
    void *c, void *ws, const char **what)
{
	const float one = 1, zero = 0;	/* float for every data type but double */

	if (d == FWD) {
		*what = "cudnnConvolutionForward";
		return cudnnConvolutionForward(ctx->dnn, &one, pl->xd, a, pl->wd, b, pl->cd[FWD],
		    (cudnnConvolutionFwdAlgo_t)pl->algo[FWD], ws, pl->wsz[FWD], &zero, pl->yd, c);
	}
	if (d == BWD_DATA) {
		*what = "cudnnConvolutionBackwardData";
		return cudnnConvolutionBackwardData(ctx->dnn, &one, pl->wd, b, pl->yd, a,
		    pl->cd[BWD_DATA], (cudnnConvolutionBwdDataAlgo_t)pl->algo[BWD_DATA], ws,
		    pl->wsz[BWD_DATA], &zero, pl->xd, c);
	}
	*what = "cudnnConvolutionBackwardFilter";
	return cudnnConvolutionBackwardFilter(ctx->dnn, &one, pl->xd, a, pl->yd, b,
	    pl->cd[BWD_FILTER], (cudnnConvolutionBwdFilterAlgo_t)pl->algo[BWD_FILTER], ws,
	    pl->wsz[BWD_FILTER], &zero, pl->wd, c);
}

/* Direction d on float32 operands a, b into c (fwd: x, w -> y; bwd data:
 * dy, w -> dx; bwd filter: x, dy -> dw).  With ctx->prec bf16/fp16 the
 * operands are rounded, the 16-bit result widened into c; a direction
 * that has no 16-bit algorithm for this shape runs in fp32. */
static int
conv(struct dl_backend_ctx *ctx, struct dl_conv *cv, int d, const float *a, const float *b,
    float *c)
{
	struct cuda_conv *pl;
	void *ws;
	const char *what;
	cudnnStatus_t st;

	if (ctx->prec != DL_PREC_FP32) {
		size_t nx = (size_t)cv->n * cv->h * cv->w * cv->c;
		size_t nw = (size_t)cv->k * cv->r * cv->s * cv->c;
		size_t ny = (size_t)cv->n * cv->p * cv->q * cv->k;
		size_t sz[3] = { d == BWD_DATA ? ny : nx, d == BWD_FILTER ? ny : nw,
		    d == FWD ? ny : d == BWD_DATA ? nx : nw };
		void *h[3];

		TRY(find_plan(ctx, cv, ctx->prec, &pl));
		if (!(pl->chosen[d] && pl->fp32[d])) {
			TRY(cuda_lowp(ctx, 3, sz, h));
			TRY(cuda_round(ctx, sz[0], a, h[0]));
			TRY(cuda_round(ctx, sz[1], b, h[1]));
			TRY(ready(ctx, cv, ctx->prec, d, h[0], h[1], h[2], &pl, &ws));
			if (!pl->fp32[d]) {
				st = run(ctx, pl, d, h[0], h[1], h[2], ws, &what);
				if (st == CUDNN_STATUS_SUCCESS)
					return cuda_widen(ctx, sz[2], h[2], c);
				/* "not supported" only when run: the fp32 plan from now on */
				if (cuda_algo_outcome(cuda_dnn_status_class(st), -1, 1) != CUDA_FP32)
					return cuda_err_dnn(st, what, __FILE__, __LINE__);
				to_fp32(ctx, pl, d);
			}
		}
	}
	TRY(ready(ctx, cv, DL_PREC_FP32, d, a, b, c, &pl, &ws));
	if ((st = run(ctx, pl, d, a, b, c, ws, &what)) != CUDNN_STATUS_SUCCESS)
		return cuda_err_dnn(st, what, __FILE__, __LINE__);
	return 0;
}

int
cuda_conv2d_fwd(struct dl_backend_ctx *ctx, struct dl_conv *cv, const float *x,
    const float *w, float *y)
{
	return conv(ctx, cv, FWD, x, w, y);
}

int
cuda_conv2d_bwd_data(struct dl_backend_ctx *ctx, struct dl_conv *cv, const float *dy,
    const float *w, float *dx)
{
	return conv(ctx, cv, BWD_DATA, dy, w, dx);
}

int
cuda_conv2d_bwd_filter(struct dl_backend_ctx *ctx, struct dl_conv *cv, const float *x,
    const float *dy, float *dw)
{
	return conv(ctx, cv, BWD_FILTER, x, dy, dw);
}
