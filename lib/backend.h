/*
 * backend.h - what a compute backend must provide: one table of function
 * pointers (struct dl_backend).  Layers (lib/net.c, lib/layer-*.c) call
 * only these entries for anything that touches tensor data, so the same
 * network runs on the CPU (lib/cpu/, always built) and on CUDA (cuda/,
 * built as lib/libdlpipe-cuda.so and loaded at run time by lib/backend.c).
 *
 * THE CONTRACT
 *
 * Data type: float32 everywhere, except class targets (int32) and raw
 * images (uint8, converted by u8_to_f32).  A backend may compute in lower
 * precision inside some entries (set_precision below), but what it reads
 * and writes stays float32.
 *
 * Layout: NHWC ("channels last"), row-major.  A batch of images is
 * x[N,H,W,C]; the element (n,h,w,c) is at ((n*H + h)*W + w)*C + c.
 * Why NHWC and not NCHW:
 *   - samples arrive HWC in streams (SPEC): no transpose on the way in,
 *     and "flatten" before a fully connected layer is free and gives the
 *     same order as the stream (fc weights [out, H*W*C] in HWC order);
 *   - on the CPU, im2col rows are runs of C contiguous floats, a 1x1
 *     convolution needs no im2col at all, and the GEMM
 *     y[N*P*Q, K] = col[N*P*Q, R*S*C] * w[K, R*S*C]^T writes NHWC output
 *     directly; batch norm, bias and pooling vectorise over C;
 *   - cuDNN supports NHWC (CUDNN_TENSOR_NHWC, and it is the layout its
 *     tensor-core kernels prefer), so cuda/ needs no transposes either.
 * Conv filters are w[K,R,S,C] (K output channels, R x S window, C input
 * channels; cuDNN's NHWC filter format "KRSC").  Fully connected weights
 * are w[out, in] (PyTorch's layout): y[N,out] = x[N,in] * w^T + b.
 * A fully connected or batch-norm layer sees any x[N,H,W,C] as [N*H*W, C]
 * or [N, H*W*C] as documented per entry ("rows x cols").
 *
 * Memory: every float/int pointer passed to an entry is a DEVICE pointer
 * obtained from alloc() of the same backend (for the CPU backend device
 * memory is host memory, but callers must not rely on that: read and write
 * through put()/get()).  Scalars (alpha, lr, eps, ...) are host values.
 * Pointers given to one call do not overlap unless the entry says "may
 * alias".
 *
 * Workspace: the backend owns it.  An entry needing scratch memory (im2col
 * buffers, per-chunk partial sums, cuDNN workspace) takes it from its
 * context, growing it as needed; callers never pass workspace.  Hence a
 * context is used by one thread at a time (the CPU backend threads inside
 * its entries with OpenMP).
 *
 * Results: outputs are OVERWRITTEN (beta = 0), never accumulated, unless
 * the entry says "+=".  Parameter gradients (dw, db, dgamma, dbeta) are
 * sums over the batch rows given (the caller folds the 1/N into the loss
 * gradient).
 *
 * Determinism: for the same inputs an entry gives the same bits whatever
 * the number of threads (reductions in a fixed order).  Backends may differ
 * from each other by rounding; tests/backend-cuda.c compares them.
 *
 * Errors: every entry returns 0 or a negative DL_E* code (dl_seterr()
 * leaves the message, e.g. "cuda: conv.cu:88: cudnnConvolutionForward:
 * CUDNN_STATUS_BAD_PARAM").  Asynchronous backends may report an error of
 * an earlier call at a later call or at sync().
 *
 * Ordering: entries on one context execute in call order (one stream);
 * get() waits for earlier work, so its host buffer is valid on return.
 */
#ifndef DL_BACKEND_H
#define DL_BACKEND_H

#include <stddef.h>
#include <stdint.h>

struct dl_backend_ctx;		/* opaque, one per backend instance */

/* A 2-D convolution, NHWC.  Filled by the layer (dl_conv_init computes p,
 * q); the backend may keep per-layer state in plan (see conv2d_plan). */
struct dl_conv {
	int n, h, w, c;		/* input x[n,h,w,c] */
	int k, r, s;		/* filters w[k,r,s,c] */
	int stride_h, stride_w;	/* >= 1 */
	int pad_h, pad_w;	/* zero padding, top/left and bottom/right */
	int p, q;		/* output y[n,p,q,k]: p = (h + 2 pad_h - r) / stride_h + 1 */
	void *plan;		/* backend-private (cuDNN descriptors); NULL at first */
};

enum dl_pool_mode {
	DL_POOL_MAX = 0,	/* max over the window; padding never wins */
	DL_POOL_AVG = 1,	/* mean over the window's in-bounds elements */
};

/* Pooling, NHWC, per channel. */
struct dl_pool {
	int n, h, w, c;		/* input x[n,h,w,c] */
	int r, s;		/* window height, width */
	int stride_h, stride_w;
	int pad_h, pad_w;
	int p, q;		/* output y[n,p,q,c]: p = (h + 2 pad_h - r) / stride_h + 1 */
	int mode;		/* enum dl_pool_mode */
	void *plan;		/* backend-private; NULL at first */
};

enum dl_act {
	DL_ACT_NONE = 0,	/* y = x */
	DL_ACT_RELU,		/* y = max(0, x) */
	DL_ACT_LRELU,		/* y = x > 0 ? x : alpha x   (0 < alpha < 1) */
	DL_ACT_TANH,		/* y = tanh(x) */
	DL_ACT_SIGMOID,		/* y = 1 / (1 + exp(-x)) */
};

/* Arithmetic precision of a context (set_precision). */
enum dl_precision {
	DL_PREC_FP32 = 0,	/* float32 throughout (every backend) */
	DL_PREC_BF16,		/* bfloat16 operands in gemm and convolutions, fp32 accumulation */
	DL_PREC_FP16,		/* the same in IEEE half (needs loss scaling to train) */
};

enum dl_loss_kind {
	DL_LOSS_NLL = 0,	/* softmax + negative log-likelihood; int32 class targets */
	DL_LOSS_BCE,		/* sigmoid + binary cross-entropy; f32 targets in [0,1] */
	DL_LOSS_MSE,		/* identity + squared error; f32 targets */
	DL_LOSS_HUBER,		/* identity + Huber (delta); f32 targets */
};

struct dl_backend {
	const char *name;	/* "cpu", "cuda" */
	int abi;		/* DL_BACKEND_ABI of the header it was built with */

	/* ---- lifetime and memory ------------------------------------------- */
	/* Create a context on device (CUDA ordinal; ignored by "cpu").
	 * threads: CPU threads for host work (0: the OpenMP default). */
	int (*init)(struct dl_backend_ctx **ctx, int device, int threads);
	void (*fini)(struct dl_backend_ctx *ctx);	/* frees workspace too */
	/* nbytes of device memory, 64-byte aligned, ZEROED; NULL (with
	 * dl_seterr) when out of memory.  alloc(ctx, 0) returns a valid
	 * pointer that free() accepts. */
	void *(*alloc)(struct dl_backend_ctx *ctx, size_t nbytes);
	void (*free)(struct dl_backend_ctx *ctx, void *p);	/* NULL: no-op */
	/* host -> device, device -> host (waits), device -> device. */
	int (*put)(struct dl_backend_ctx *ctx, void *dst, const void *host, size_t nbytes);
	int (*get)(struct dl_backend_ctx *ctx, void *host, const void *src, size_t nbytes);
	int (*copy)(struct dl_backend_ctx *ctx, void *dst, const void *src, size_t nbytes);
	int (*sync)(struct dl_backend_ctx *ctx);	/* wait for all queued work */

	/* ---- BLAS ------------------------------------------------------------ */
	/* C[m,n] = alpha op(A) op(B) + beta C, row-major; op(A) is [m,k]
	 * (A is [k,m] when ta), op(B) is [k,n] (B is [n,k] when tb); leading
	 * dimensions are the row lengths of the matrices as stored.  The only
	 * entry with beta: beta = 1 accumulates into C. */
	int (*gemm)(struct dl_backend_ctx *ctx, int ta, int tb, int m, int n, int k,
	    float alpha, const float *a, const float *b, float beta, float *c);

	/* ---- convolution ----------------------------------------------------
	 * Optional (may be NULL): prepare cv->plan once per layer and shape
	 * (algorithm choice, descriptors); unplan frees it.  cv->n may grow
	 * later: the backend re-plans when it sees a new n. */
	int (*conv2d_plan)(struct dl_backend_ctx *ctx, struct dl_conv *cv);
	void (*conv2d_unplan)(struct dl_backend_ctx *ctx, struct dl_conv *cv);
	/* y[n,p,q,k] = sum_{r,s,c} x[n, p*sh - ph + r, q*sw - pw + s, c] w[k,r,s,c]
	 * (out-of-range x are 0).  No bias: see bias_add. */
	int (*conv2d_fwd)(struct dl_backend_ctx *ctx, struct dl_conv *cv,
	    const float *x, const float *w, float *y);
	/* dx[n,h,w,c] = d/dx of sum(dy * y): the transposed convolution. */
	int (*conv2d_bwd_data)(struct dl_backend_ctx *ctx, struct dl_conv *cv,
	    const float *dy, const float *w, float *dx);
	/* dw[k,r,s,c] = sum_{n,p,q} dy[n,p,q,k] x[n, p*sh - ph + r, q*sw - pw + s, c] */
	int (*conv2d_bwd_filter)(struct dl_backend_ctx *ctx, struct dl_conv *cv,
	    const float *x, const float *dy, float *dw);

	/* ---- bias: y[rows, c] += b[c];  db[c] = sum_rows dy[rows, c] -------- */
	int (*bias_add)(struct dl_backend_ctx *ctx, long rows, int c, const float *b, float *y);
	int (*bias_bwd)(struct dl_backend_ctx *ctx, long rows, int c, const float *dy, float *db);

	/* ---- pooling ---------------------------------------------------------
	 * fwd: y = max or mean over each window.  bwd: dx = the gradient of
	 * sum(dy * y) (max: to the first maximum in the window, row-major
	 * order; x and y are those of the forward call). */
	int (*pool_fwd)(struct dl_backend_ctx *ctx, struct dl_pool *pl, const float *x, float *y);
	int (*pool_bwd)(struct dl_backend_ctx *ctx, struct dl_pool *pl, const float *x,
	    const float *y, const float *dy, float *dx);

	/* ---- nearest-neighbour upsampling by f, NHWC --------------------------
	 * fwd: y[n, h f + i, w f + j, c] = x[n,h,w,c] for 0 <= i,j < f, so y is
	 * [n, h f, w f, c].  bwd: dx[n,h,w,c] = the sum of dy over its f x f
	 * block (rows i, then columns j, in order). */
	int (*upsample_fwd)(struct dl_backend_ctx *ctx, int n, int h, int w, int c, int f,
	    const float *x, float *y);
	int (*upsample_bwd)(struct dl_backend_ctx *ctx, int n, int h, int w, int c, int f,
	    const float *dy, float *dx);

	/* ---- activations, elementwise on n floats ----------------------------
	 * fwd: y = f(x); y may alias x.  bwd: dx = dy * f'(x) computed from
	 * the OUTPUT y alone (relu/lrelu: y > 0, tanh: 1 - y^2, sigmoid:
	 * y (1 - y)), so the forward may run in place; dx may alias dy. */
	int (*act_fwd)(struct dl_backend_ctx *ctx, int act, float alpha, long n,
	    const float *x, float *y);
	int (*act_bwd)(struct dl_backend_ctx *ctx, int act, float alpha, long n,
	    const float *y, const float *dy, float *dx);

	/* ---- batch normalisation over x[rows, c] (rows = N*H*W for conv
	 * outputs, N for fully connected ones), per channel c ----------------
	 * train: mean_c, var_c (biased) over the rows; y = gamma (x - mean)
	 * invstd + beta with invstd = 1/sqrt(var + eps); save_mean[c],
	 * save_invstd[c] are written for bwd; running stats updated as
	 * run = (1 - momentum) run + momentum batch, with the UNBIASED
	 * variance var * rows/(rows-1) for run_var (PyTorch's convention).
	 * y may alias x. */
	int (*bn_fwd_train)(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
	    const float *gamma, const float *beta, float eps, float momentum,
	    float *run_mean, float *run_var, float *save_mean, float *save_invstd, float *y);
	/* eval: y = gamma (x - run_mean) / sqrt(run_var + eps) + beta; y may alias x. */
	int (*bn_fwd_infer)(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
	    const float *gamma, const float *beta, const float *run_mean,
	    const float *run_var, float eps, float *y);
	/* Gradients of the train-mode forward: xhat = (x - mean) invstd,
	 * dbeta = sum dy, dgamma = sum dy xhat,
	 * dx = gamma invstd / rows (rows dy - dbeta - xhat dgamma).
	 * dx may alias dy. */
	int (*bn_bwd)(struct dl_backend_ctx *ctx, long rows, int c, const float *x,
	    const float *dy, const float *gamma, const float *save_mean,
	    const float *save_invstd, float *dx, float *dgamma, float *dbeta);

	/* ---- dropout (inverted) ----------------------------------------------
	 * mask[i] = (dl_dropout_u01(seed, i0 + i) < p) ? 0 : 1/(1-p);  y = x mask.
	 * The mask is a pure function of (seed, i0 + i): the same on every
	 * backend and thread count (dl_dropout_u01 of lib/kernels.h, a hash, no
	 * sequential state, which both backends include); i0 places a slice of
	 * a batch (an MPI rank's) where it lies in the whole batch.
	 * bwd: dx = dy mask.  y may alias x, dx may alias dy. */
	int (*dropout_fwd)(struct dl_backend_ctx *ctx, long n, float p, uint64_t seed,
	    uint64_t i0, const float *x, float *mask, float *y);
	int (*dropout_bwd)(struct dl_backend_ctx *ctx, long n, const float *mask,
	    const float *dy, float *dx);

	/* ---- losses, fused with their link (softmax, sigmoid, identity) -------
	 * z[n,k] logits; target int32 [n] classes (DL_LOSS_NLL; also BCE, as
	 * one-hot) or f32 [n,k] (target_f32 = 1).  Writes loss[i], the loss of
	 * sample i, and, when dz != NULL, dz = scale * d(sum_i loss[i])/dz:
	 *   NLL:   loss = -log softmax(z)[t];        dz = scale (softmax(z) - onehot(t))
	 *   BCE:   loss = mean_k BCE(sigmoid(z), t); dz = scale (sigmoid(z) - t) / k
	 *   MSE:   loss = mean_k (z - t)^2;          dz = scale 2 (z - t) / k
	 *   HUBER: loss = mean_k h(z - t), h(d) = d^2/2 if |d| <= delta else
	 *          delta (|d| - delta/2);            dz = scale clamp(z - t, +-delta) / k
	 * computed stably (log-sum-exp; softplus), so |dz| <= |scale| for NLL,
	 * BCE and HUBER (delta <= 1).  A class target outside [0,k) is
	 * -DL_EUSAGE ("loss: target 12 outside [0,10)"). */
	int (*loss)(struct dl_backend_ctx *ctx, int kind, float delta, long n, int k,
	    const float *z, const void *target, int target_f32, float scale,
	    float *loss, float *dz);
	/* p[n,k] = softmax over each row of z; p may alias z. */
	int (*softmax)(struct dl_backend_ctx *ctx, long n, int k, const float *z, float *p);

	/* ---- optimizer steps on one parameter tensor of n floats -------------
	 * Weight decay (L2): g' = g + wd w is used in place of g.
	 * sgd:  v = momentum v + g';  w -= lr (nesterov ? g' + momentum v : v)
	 *       (momentum 0: w -= lr g'; v unused, may be NULL)
	 * adam: m = b1 m + (1-b1) g';  v = b2 v + (1-b2) g'^2;
	 *       w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), t >= 1 */
	int (*sgd_step)(struct dl_backend_ctx *ctx, long n, float *w, const float *g,
	    float *v, float lr, float momentum, float wd, int nesterov);
	int (*adam_step)(struct dl_backend_ctx *ctx, long n, float *w, const float *g,
	    float *m, float *v, float lr, float b1, float b2, float eps, float wd, long t);

	/* ---- elementwise and conversions -------------------------------------- */
	int (*fill)(struct dl_backend_ctx *ctx, long n, float v, float *x);	/* x = v */
	int (*scale)(struct dl_backend_ctx *ctx, long n, float a, float *x);	/* x *= a */
	int (*axpy)(struct dl_backend_ctx *ctx, long n, float a, const float *x, float *y); /* y += a x */
	/* y = a x + b for uint8 x (a = 1/255 reads images as [0,1]). */
	int (*u8_to_f32)(struct dl_backend_ctx *ctx, long n, const uint8_t *x, float a,
	    float b, float *y);
	/* out[0] = sum x^2, accumulated in double, fixed order (host scalar
	 * via get: out is a device float[1]). */
	int (*sumsq)(struct dl_backend_ctx *ctx, long n, const float *x, float *out);

	/* ---- optional entries (NULL where a backend has none) ---------------- */
	/* One line naming what ctx runs on, for the "--device auto" message on
	 * stderr, e.g. "cuda:0 (NVIDIA H100 80GB HBM3, 79 GiB, sm_90)" or
	 * "cpu (2 threads, AVX2)"; returns
	 * the length snprintf() would (buf may be truncated). */
	int (*describe)(struct dl_backend_ctx *ctx, char *buf, size_t n);
	/* Mixed precision, autocast style: with DL_PREC_BF16 or DL_PREC_FP16
	 * the gemm and conv2d_* entries round their operands to that type and
	 * multiply them with float32 accumulation; their results (and every
	 * other entry, parameters and optimizer state included) stay float32
	 * in memory.  Results then agree with float32 within about 1e-2 of
	 * their largest magnitude (fp16: values beyond +-65504 become
	 * infinite).  NULL: the backend computes in fp32 only. */
	int (*set_precision)(struct dl_backend_ctx *ctx, int prec);
};

/* Bumped when the table changes incompatibly; a CUDA library built against
 * another ABI is refused by dl_backend_find(). */
#define DL_BACKEND_ABI 3

extern const struct dl_backend dl_backend_cpu;	/* lib/cpu/, always there */

/* Find a backend: "cpu"; "cuda" (dlopen()s $DL_CUDA_LIB, else
 * libdlpipe-cuda.so in the program's ../lib, else in DL_CUDA_LIBDIR, and
 * takes its symbol "dl_backend_cuda", a const struct dl_backend); "auto"
 * or NULL: cuda when it loads and device N opens, else cpu (the context
 * that "auto" opened to see is kept for dl_backend_open, so a device is
 * opened once).  A suffix ":N" (cuda:1) picks the device (see
 * dl_backend_device).  NULL with dl_seterr() when absent ("cuda:
 * libdlpipe-cuda.so: cannot open shared object file ..."). */
const struct dl_backend *dl_backend_find(const char *name);
/* Open a context on device name (NULL: $DL_DEVICE, else "auto"): *be and
 * *ctx, or -DL_E* (*be NULL). */
int dl_backend_open(const char *name, int threads, const struct dl_backend **be,
                    struct dl_backend_ctx **ctx);
/* Can device name (NULL: as dl_backend_open) compute in precision prec?
 * 0; 1 when it emulates it (bf16 on the cpu: lib/cpu/cpu-prec.c); -DL_EUSAGE
 * when the device asked for lacks it ("the cpu device has no fp16 (fp32
 * and bf16 only); use --device cuda"); -DL_EDEVICE when "auto" found no
 * device that can, or the device does not load. */
int dl_backend_check_precision(const char *name, int prec);
/* The device ordinal in "cuda:N" (0 when absent). */
int dl_backend_device(const char *name);
/* "fp32", "bf16", "fp16" -> enum dl_precision; -1 for anything else. */
int dl_precision_parse(const char *s);
const char *dl_precision_name(int prec);	/* "fp32", ...; "?" */
/* Set prec on ctx of be: 0, or -DL_EUSAGE naming the backend when it
 * computes in fp32 only ("precision bf16: the cpu device computes in fp32
 * only"), or the backend's error. */
int dl_backend_set_precision(const struct dl_backend *be, struct dl_backend_ctx *ctx, int prec);

/* dl_dropout_u01 and the other per-element arithmetic both backends share
 * (C++, i.e. cuda/cuda.h, includes it itself, outside extern "C"). */
#ifndef __cplusplus
#include "kernels.h"
#endif

#endif
