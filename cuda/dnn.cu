/*
 * dnn.cu - pooling, batch normalisation, activations and softmax on cuDNN
 * (NHWC), with own kernels where cuDNN has no twin: leaky ReLU, and batch
 * norm over a single row.  CPU twins: lib/cpu/cpu-pool.c, cpu-bn.c,
 * cpu-elem.c (activations), cpu-loss.c (softmax).
 */
#include <limits.h>

#include "cuda.h"

static const float one = 1, zero = 0;

static int
too_big(const char *what, long n)
{
	return CUDA_ERR(DL_ESHAPE, "%s: %ld elements: more than cuDNN's %d", what, n, INT_MAX);
}

/* ---- pooling ------------------------------------------------------------------
 * max: CUDNN_POOLING_MAX_DETERMINISTIC (padding never wins; the gradient
 * goes to one maximum, in a fixed order); avg: the mean over the window's
 * in-bounds elements (COUNT_EXCLUDE_PADDING). */
static int
pool_desc(struct dl_backend_ctx *ctx, const struct dl_pool *pl)
{
	cudnnPoolingMode_t mode;
	int on, oc, op, oq;

	if (pl->mode == DL_POOL_MAX)
		mode = CUDNN_POOLING_MAX_DETERMINISTIC;
	else if (pl->mode == DL_POOL_AVG)
		mode = CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
	else
		return CUDA_ERR(DL_EUSAGE, "pool: unknown mode %d", pl->mode);
	TRY(cuda_dnn(ctx));
	CUDNN(cudnnSetPooling2dDescriptor(ctx->pd, mode, CUDNN_NOT_PROPAGATE_NAN, pl->r, pl->s,
	    pl->pad_h, pl->pad_w, pl->stride_h, pl->stride_w));
	CUDNN(cudnnSetTensor4dDescriptor(ctx->td[0], CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
	    pl->n, pl->c, pl->h, pl->w));
	CUDNN(cudnnGetPooling2dForwardOutputDim(ctx->pd, ctx->td[0], &on, &oc, &op, &oq));
	if (op != pl->p || oq != pl->q)
		return CUDA_ERR(DL_ESHAPE, "pool: output %dx%d, cuDNN computes %dx%d", pl->p, pl->q,
		    op, oq);
	CUDNN(cudnnSetTensor4dDescriptor(ctx->td[1], CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
	    pl->n, pl->c, pl->p, pl->q));
	return 0;
}

int
cuda_pool_fwd(struct dl_backend_ctx *ctx, struct dl_pool *pl, const float *x, float *y)
{
	TRY(pool_desc(ctx, pl));
	CUDNN(cudnnPoolingForward(ctx->dnn, ctx->pd, &one, ctx->td[0], x, &zero, ctx->td[1], y));
	return 0;
}

int
cuda_pool_bwd(struct dl_backend_ctx *ctx, struct dl_pool *pl, const float *x,
    const float *y, const float *dy, float *dx)
{
	TRY(pool_desc(ctx, pl));
	CUDNN(cudnnPoolingBackward(ctx->dnn, ctx->pd, &one, ctx->td[1], y, ctx->td[1], dy,
	    ctx->td[0], x, &zero, ctx->td[0], dx));
	return 0;
}

/* ---- activations ----------------------------------------------------------------
 * relu, tanh, sigmoid on cuDNN (in place allowed both ways).  The backward
 * is computed from y alone (the contract): y stands in for x, which gives
 * the same derivative for relu (y > 0 iff x > 0), while tanh and sigmoid
 * use y only. */

/* y = x > 0 ? x : alpha x;  dx = y > 0 ? dy : alpha dy */
__global__ static void
lrelu_fwd_kernel(long n, float alpha, const float *x, float *y)
{
	for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
	    i += (long)gridDim.x * blockDim.x)
		y[i] = x[i] > 0 ? x[i] : alpha * x[i];
}

__global__ static void
lrelu_bwd_kernel(long n, float alpha, const float *y, const float *dy, float *dx)
{
	for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;
	    i += (long)gridDim.x * blockDim.x)
		dx[i] = y[i] > 0 ? dy[i] : alpha * dy[i];
}

static int
act_desc(struct dl_backend_ctx *ctx, int act, long n)
{
	cudnnActivationMode_t mode = act == DL_ACT_RELU ? CUDNN_ACTIVATION_RELU :
	    act == DL_ACT_TANH ? CUDNN_ACTIVATION_TANH : CUDNN_ACTIVATION_SIGMOID;

	if (n > INT_MAX)
		return too_big("activation", n);
	TRY(cuda_dnn(ctx));
	CUDNN(cudnnSetActivationDescriptor(ctx->ad, mode, CUDNN_NOT_PROPAGATE_NAN, 0.0));
	CUDNN(cudnnSetTensor4dDescriptor(ctx->td[0], CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
	    1, 1, 1, (int)n));
	return 0;
}

int
cuda_act_fwd(struct dl_backend_ctx *ctx, int act, float alpha, long n, const float *x, float *y)
{
	if (n <= 0)
		return 0;
	switch (act) {
	case DL_ACT_NONE:
		if (x != y)
			CU(cudaMemcpyAsync(y, x, n * sizeof *y, cudaMemcpyDeviceToDevice, ctx->stream));
		return 0;
	case DL_ACT_LRELU:
		LAUNCH(lrelu_fwd_kernel, cuda_blocks(n, 256), 256, ctx, n, alpha, x, y);
		return 0;
	case DL_ACT_RELU:
	case DL_ACT_TANH:
	case DL_ACT_SIGMOID:
		TRY(act_desc(ctx, act, n));
		CUDNN(cudnnActivationForward(ctx->dnn, ctx->ad, &one, ctx->td[0], x, &zero,
		    ctx->td[0], y));
		return 0;
	}
	return CUDA_ERR(DL_EUSAGE, "activation: unknown kind %d", act);
}

int
cuda_act_bwd(struct dl_backend_ctx *ctx, int act, float alpha, long n, const float *y,
    const float *dy, float *dx)
{
	if (n <= 0)
		return 0;
	switch (act) {
	case DL_ACT_NONE:
		if (dx != dy)
			CU(cudaMemcpyAsync(dx, dy, n * sizeof *dx, cudaMemcpyDeviceToDevice, ctx->stream));
		return 0;
	case DL_ACT_LRELU:
		LAUNCH(lrelu_bwd_kernel, cuda_blocks(n, 256), 256, ctx, n, alpha, y, dy, dx);
		return 0;
	case DL_ACT_RELU:
	case DL_ACT_TANH:
	case DL_ACT_SIGMOID:
		TRY(act_desc(ctx, act, n));
		CUDNN(cudnnActivationBackward(ctx->dnn, ctx->ad, &one, ctx->td[0], y, ctx->td[0], dy,
		    ctx->td[0], y, &zero, ctx->td[0], dx));
		return 0;
	}
	return CUDA_ERR(DL_EUSAGE, "activation: unknown kind %d", act);
}

/* ---- softmax over each row of z[n,k] --------------------------------------------- */
int
cuda_softmax(struct dl_backend_ctx *ctx, long n, int k, const float *z, float *p)
{
	if (n <= 0 || k <= 0)
		return 0;
	if (n > INT_MAX)
		return too_big("softmax", n);
	TRY(cuda_dnn(ctx));
	CUDNN(cudnnSetTensor4dDescriptor(ctx->td[0], CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
	    (int)n, k, 1, 1));
	CUDNN(cudnnSoftmaxForward(ctx->dnn, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE,
	    &one, ctx->td[0], z, &zero, ctx->td[0], p));
	return 0;
}

/* ---- batch normalisation over x[rows, c] ------------------------------------------
 * x[rows, c] is an NHWC tensor of rows images of 1x1 pixels: cuDNN's
 * spatial mode then normalises per channel over the rows.  cuDNN's running
 * variance is the unbiased one and its saved statistics are mean and
 * 1/sqrt(var + eps): the contract's.  cuDNN does not promise in-place
 * work, so an aliased input is first copied to the workspace. */
static int
bn_desc(struct dl_backend_ctx *ctx, long rows, int c)
{
	if (rows * (long)c > INT_MAX)
		return too_big("batchnorm", rows * (long)c);
	TRY(cuda_dnn(ctx));
	CUDNN(cudnnSetTensor4dDescriptor(ctx->td[0], CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
	    (int)rows, c, 1, 1));
	CUDNN(cudnnDeriveBNTensorDescriptor(ctx->td[1], ctx->td[0], CUDNN_BATCHNORM_SPATIAL));
	return 0;
}

/* An aliased operand moved out of the way: a workspace copy of src. */
static int
unalias(struct dl_backend_ctx *ctx, const float **src, size_t n)
{
	void *w;
	float *t;

	TRY(cuda_ws(ctx, n * sizeof *t, &w));
	t = (float *)w;
	CU(cudaMemcpyAsync(t, *src, n * sizeof *t, cudaMemcpyDeviceToDevice, ctx->stream));
	*src = t;
	return 0;
}

/* One row: mean = x, var = 0 (the contract's unbiased variance is then 0
 * too); y = gamma (x - mean) invstd + beta as the CPU computes it. */
__global__ static void
bn1_fwd_kernel(int c, const float *x, const float *gamma, const float *beta, float eps,
    float momentum, float *run_mean, float *run_var, float *save_mean, float *save_invstd,
    float *y)
{
	int j = blockIdx.x * blockDim.x + threadIdx.x;

	if (j >= c)
		return;
	float m = x[j], inv = (float)(1.0 / sqrt((double)eps));
	float a = gamma[j] * inv, b = beta[j] - m * a;

	save_mean[j] = m;
	save_invstd[j] = inv;
	run_mean[j] = (1 - momentum) * run_mean[j] + momentum * m;
	run_var[j] = (float)((1 - momentum) * run_var[j]);
	y[j] = x[j] * a + b;
}

/* One row: dbeta = dy, dgamma = dy xhat = 0, dx = 0. */
__global__ static void
bn1_bwd_kernel(int c, const float *dy, float *dx, float *dgamma, float *dbeta)
{
	int j = blockIdx.x * blockDim.x + threadIdx.x;

	if (j >= c)
		return;
	dbeta[j] = dy[j];
	dgamma[j] = 0;
	dx[j] = 0;
}

/* The backward needs the forward's eps (cuDNN: "the same epsilon value
 * should be used in forward and backward"), which the contract does not
 * pass: kept by the forward, found by the saved statistics' pointer. */
static void
bn_eps_keep(struct dl_backend_ctx *ctx, const float *invstd, float eps)
{
	int n = (int)(sizeof ctx->bn_eps / sizeof ctx->bn_eps[0]);

	for (int i = 0; i < n; i++)
		if (ctx->bn_eps[i].invstd == invstd) {
			ctx->bn_eps[i].eps = eps;
			return;
		}
	ctx->bn_eps[ctx->bn_next].invstd = invstd;
	ctx->bn_eps[ctx->bn_next].eps = eps;
	ctx->bn_next = (ctx->bn_next + 1) % n;
}

static double
bn_eps_of(struct dl_backend_ctx *ctx, const float *invstd)
{
	for (size_t i = 0; i < sizeof ctx->bn_eps / sizeof ctx->bn_eps[0]; i++)
		if (ctx->bn_eps[i].invstd == invstd)
			return ctx->bn_eps[i].eps;
	return 1e-5;		/* a forward we did not see: the usual default */
}

int
cuda_bn_fwd_train(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *gamma, const float *beta, float eps, float momentum,
    float *run_mean, float *run_var, float *save_mean, float *save_invstd, float *y)
{
	if (rows < 1)
		return CUDA_ERR(DL_ESHAPE, "batchnorm: no rows");
	if (c < 1)
		return 0;
	bn_eps_keep(ctx, save_invstd, eps);
	if (rows == 1) {
		LAUNCH(bn1_fwd_kernel, (c + 255) / 256, 256, ctx, c, x, gamma, beta, eps, momentum,
		    run_mean, run_var, save_mean, save_invstd, y);
		return 0;
	}
	TRY(bn_desc(ctx, rows, c));
	if (x == y)
		TRY(unalias(ctx, &x, (size_t)rows * c));
	CUDNN(cudnnBatchNormalizationForwardTraining(ctx->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero,
	    ctx->td[0], x, ctx->td[0], y, ctx->td[1], gamma, beta, (double)momentum,
	    run_mean, run_var, (double)eps, save_mean, save_invstd));
	return 0;
}

int
cuda_bn_fwd_infer(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *gamma, const float *beta, const float *run_mean,
    const float *run_var, float eps, float *y)
{
	if (rows < 1 || c < 1)
		return 0;
	TRY(bn_desc(ctx, rows, c));
	if (x == y)
		TRY(unalias(ctx, &x, (size_t)rows * c));
	CUDNN(cudnnBatchNormalizationForwardInference(ctx->dnn, CUDNN_BATCHNORM_SPATIAL, &one,
	    &zero, ctx->td[0], x, ctx->td[0], y, ctx->td[1], gamma, beta, run_mean, run_var,
	    (double)eps));
	return 0;
}

int
cuda_bn_bwd(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
    const float *dy, const float *gamma, const float *save_mean,
    const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
	if (rows < 1)
		return CUDA_ERR(DL_ESHAPE, "batchnorm: no rows");
	if (c < 1)
		return 0;
	if (rows == 1) {
		LAUNCH(bn1_bwd_kernel, (c + 255) / 256, 256, ctx, c, dy, dx, dgamma, dbeta);
		return 0;
	}
	TRY(bn_desc(ctx, rows, c));
	if (dx == dy)
		TRY(unalias(ctx, &dy, (size_t)rows * c));
	CUDNN(cudnnBatchNormalizationBackward(ctx->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one,
	    &zero, ctx->td[0], x, ctx->td[0], dy, ctx->td[0], dx, ctx->td[1], gamma, dgamma, dbeta,
	    bn_eps_of(ctx, save_invstd), save_mean, save_invstd));
	return 0;
}
