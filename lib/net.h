/*
 * net.h - networks that learn: descriptions (SPEC "Network descriptions"),
 * construction with shape inference, forward/backward on a backend
 * (lib/backend.h), losses, optimizers with schedules, and models saved as
 * DLS streams.  Implemented in lib/net.c (the walk and the loss),
 * lib/notation.c, lib/layer-*.c, lib/opt.c, lib/model.c.  Included by
 * lib/dlpipe.h.
 *
 * A typical training step (bin/dl-train.c):
 *	net = dl_net_new(desc, 3, (uint64_t[]){28, 28, 1}, &(struct dl_net_opts){ .seed = 1 });
 *	opt = dl_opt_new(net, &oc);
 *	for each batch record:
 *		dl_net_forward(net, x, 1);
 *		dl_net_loss(net, y, 1, &st);	// loss, accuracy, gradient at the output
 *		dl_net_backward(net, DL_BACK_PARAMS);
 *		dl_opt_step(opt);
 *	dl_model_save("m.dlm", net, opt, head_kv);
 * Saliency: forward(eval), dl_net_seed_class(net, k), backward(DL_BACK_INPUT),
 * dl_net_input_grad().  Deep Dream: forward, dl_net_seed_self(net, "conv2",
 * 1), backward(DL_BACK_INPUT), dl_net_input_grad().
 *
 * Layout is NHWC (see backend.h): a batch x is [N,H,W,C] (or [N,H,W] for
 * one channel, or [N,D]); one sample may also be given without N.
 * Errors: functions return 0 (or a count) or -DL_E* with dl_errmsg();
 * constructors return NULL with dl_errmsg().  Not thread-safe per net.
 */
#ifndef DL_NET_H
#define DL_NET_H

#include <stdint.h>

#include "backend.h"

struct dl_tensor;
struct dl_record;

/* ---- descriptions ----------------------------------------------------------
 * Tokens joined by '-' (case-insensitive), e.g. "20C5-MP2-50C5-MP2-FC256-FC10":
 *   NCk[p][sS]   N filters k x k, stride S (default 1); 'p' pads (k-1)/2 on
 *                each side ("same" at stride 1), else valid
 *   MPk[sS]      max pooling k x k, stride S (default k); APk[sS] average
 *   GAP          global average pooling: [H,W,C] -> [1,1,C]
 *   NTk[p][sS]   transposed convolution, N filters k x k, stride S: an
 *                output S times finer, (in-1) S + k, or exactly S in with
 *                'p' (lib/layer-tconv.c); weights [C,k,k,N]
 *   UPf          nearest-neighbour upsampling: [H,W,C] -> [fH,fW,C]
 *   FCn          fully connected, n outputs (flattens its input, HWC order)
 *   Dp           dropout of p percent (inverted; off in evaluation)
 *   BN           batch normalisation after the conv or FC before it, which
 *                then has no non-linearity; the BN layer takes it
 *   RELU, LRELU[a] (a in percent, default 1: LRELU10 is alpha 0.1), TANH,
 *   SIGM, LIN    the non-linearity of the conv/FC/BN layer before (default
 *                RELU; LIN for none; also SIGMOID, LINEAR, NONE)
 *   FLAT         flatten to [1,1,H*W*C] (implicit before FC; explicit is
 *                allowed)
 *   RSHxWxC      reshape to [H,W,C] (HWC order; H*W*C equal to the input's
 *                count): a generator's FC output as a map
 * The last conv/FC/transposed conv (with its BN) has no non-linearity
 * unless one is named: it feeds the loss.  Layers are named by kind and
 * index: conv1, pool1, fc1, bn1, drop1, flat1, tconv1, up1, reshape1 (pool counts MP,
 * AP and GAP together).  The grammar is lib/notation.c; each kind's token
 * is parsed by its file lib/layer-*.c (lib/layer.h).
 * A description can be a file (dl-train --net FILE, read by
 * dl_net_desc_read): one token (or several joined by '-') a line, '#'
 * starts a comment. */

/* The canonical one-line description from arg: if arg names a readable
 * file, its tokens joined by '-', else arg with blanks removed.  Malloc'd
 * (free()); NULL with dl_errmsg() on failure.  Does not validate tokens.
 * For --net FILE only: a description stored in a model is never a path. */
char *dl_net_desc_read(const char *arg);

struct dl_net;
/* Descriptions written back from a net's tokens as the user wrote them
 * (lib/notation.c); malloc'd, NULL with dl_errmsg().
 * _cut: the layers up to and including layer (by name), keeping that
 * layer's non-linearity (a default ReLU written out), so the cut net's
 * output is the activation dl_net_activation() reports for it in net.
 * _transfer: the layers up to and including cut (NULL: all), then more
 * (NULL or "": nothing) - dl-train --init --cut.
 * _dense: every fully connected layer a convolution: FCn over an h x h x c
 * map becomes nCh (valid, stride 1), so FCn after another FC (or GAP)
 * becomes nC1; FLAT tokens go.  Non-square maps are -DL_ESHAPE (the
 * notation has square kernels only). */
char *dl_net_desc_cut(const struct dl_net *net, const char *layer);
char *dl_net_desc_transfer(const struct dl_net *net, const char *cut, const char *more);
char *dl_net_desc_dense(const struct dl_net *net);
/* The product of the strides of a net's layers: output position (i, j) of
 * its dense version looks at the input window whose top-left corner is
 * (i * stride, j * stride) (4 for LeNet).  -DL_EUSAGE for a net with a
 * layer that makes the map finer (transposed convolution, upsampling). */
int dl_net_total_stride(const struct dl_net *net);

/* ---- networks ---------------------------------------------------------------- */
struct dl_net;

struct dl_net_opts {
	const char *device;	/* "cpu", "cuda", "cuda:N", "auto"; NULL: $DL_DEVICE, else "auto" */
	int threads;		/* CPU threads; 0: OpenMP default (OMP_NUM_THREADS) */
	uint64_t seed;		/* weights (He for ReLU/leaky layers, Glorot otherwise, output 0), dropout */
	int loss;		/* enum dl_loss_kind (default DL_LOSS_NLL) */
	float huber_delta;	/* 0: 1.0 */
	int max_batch;		/* 0: buffers grow on demand */
	int precision;		/* enum dl_precision (backend.h); 0: fp32.  Others need a
				 * backend with set_precision (cuda), else dl_net_new fails */
};

/* Parse desc (a description, never a file name: see dl_net_desc_read),
 * infer shapes from the per-sample input shape (ndim 1..3: [D] -> [1,1,D],
 * [H,W] -> [H,W,1], [H,W,C]), create the backend context and initialise
 * weights: dl_net_plan() then dl_net_start().  NULL with dl_errmsg() on a
 * bad description, e.g. "net: token 3 'C5x': expected a count before 'C'
 * (as in 20C5)" or "net: token 5 'MP2': input 1x1x50 is smaller than the
 * 2x2 window"; o may be NULL (defaults). */
struct dl_net *dl_net_new(const char *desc, int ndim, const uint64_t *shape,
    const struct dl_net_opts *o);
/* The first half of dl_net_new: the description parsed, shapes inferred
 * and the parameter table made, with no backend and no memory for data
 * (host structures only, their size bounded by the description's length).
 * dl_net_layers, dl_net_layer_info, dl_net_params, dl_net_param_info (data
 * and grad NULL), dl_net_find_*, dl_net_param_count, dl_net_summary and
 * dl_net_act_floats work on it; running it does not.  For loaders that
 * check a description against the bytes that hold it before allocating.
 * o is copied; o->device must stay valid until dl_net_start(). */
struct dl_net *dl_net_plan(const char *desc, int ndim, const uint64_t *shape,
    const struct dl_net_opts *o);
/* The second half: the backend context, memory and initial weights of a
 * planned net.  0 or -DL_E* (the net is then only fit for dl_net_free). */
int dl_net_start(struct dl_net *net);
/* Floats per sample of the input and every layer's output (the activation
 * memory of one sample in evaluation; training doubles it). */
long dl_net_act_floats(const struct dl_net *net);
void dl_net_free(struct dl_net *net);	/* planned or started */

const char *dl_net_desc(const struct dl_net *net);	/* canonical description */
const struct dl_backend *dl_net_backend(const struct dl_net *net);
struct dl_backend_ctx *dl_net_ctx(const struct dl_net *net);
int dl_net_loss_kind(const struct dl_net *net);		/* enum dl_loss_kind */
int dl_net_set_loss(struct dl_net *net, int kind, float huber_delta);
/* Data parallelism: the batches given to this net are slices of larger
 * ones, starting at sample first of each (0 by default).  Dropout draws
 * its masks per sample of the whole batch, so that ranks that share a
 * batch draw what one process training on all of it would. */
void dl_net_set_first_sample(struct dl_net *net, long first);
/* Input shape [H,W,C] (as given, normalised to 3 dims) and output count. */
void dl_net_input_shape(const struct dl_net *net, int shape[3]);
int dl_net_outputs(const struct dl_net *net);		/* elements per sample at the last layer */

/* ---- layers -------------------------------------------------------------- */
struct dl_layer_info {
	const char *name;	/* "conv1" */
	const char *kind;	/* "conv", "pool", "fc", "bn", "drop", "flat", "tconv", "up", "reshape" */
	const char *token;	/* the description token, "20C5" */
	int shape[3];		/* output [H,W,C] per sample */
	long params;		/* trainable floats (BN running stats not counted) */
	const char *act;	/* non-linearity applied to its output: "relu", "none", ... */
};
int dl_net_layers(const struct dl_net *net);		/* count */
int dl_net_layer_info(const struct dl_net *net, int i, struct dl_layer_info *li);
/* Index of the layer named name ("conv2"), or -1 with dl_errmsg()
 * ("net: no layer 'conv9' (layers: conv1 pool1 ...)"). */
int dl_net_find_layer(const struct dl_net *net, const char *name);
/* Total trainable parameters. */
long dl_net_param_count(const struct dl_net *net);
/* A Keras-like table into buf (lines "name  token  HxWxC  params",
 * a header and a total line); returns the length it needed (snprintf). */
int dl_net_summary(const struct dl_net *net, char *buf, size_t n);

/* ---- running it -------------------------------------------------------------- */
/* Forward x (host tensor, u8 read as value/255, or f32; [N, ...] with a
 * per-sample element count equal to the input's, or one sample) in
 * training (train = 1: batch statistics, dropout) or evaluation mode.
 * Returns N. */
int dl_net_forward(struct dl_net *net, const struct dl_tensor *x, int train);
/* Same from a host float array x[n, H*W*C]. */
int dl_net_forward_f32(struct dl_net *net, const float *x, int n, int train);
int dl_net_batch(const struct dl_net *net);		/* N of the last forward */

struct dl_loss_stats {
	double loss;		/* sum over the samples of their loss */
	long n;			/* samples */
	long correct;		/* argmax == class (class targets; also 0/1 threshold for BCE f32) */
};
/* Loss of the last forward against y (host tensor: i32/u8/i64 classes [N]
 * or [N,1]; f32 targets with N*outputs elements).  backward = 1 also seeds
 * the output gradient with d(mean loss)/dz for dl_net_backward().  st is
 * filled (not accumulated). */
int dl_net_loss(struct dl_net *net, const struct dl_tensor *y, int backward,
    struct dl_loss_stats *st);

/* Multiply the gradient that dl_net_loss seeds by s (> 0; 1 at first):
 * loss scaling for fp16 training (dl_opt_loss_scaling), which divides the
 * parameter gradients by s again in the optimizer step. */
int dl_net_set_loss_scale(struct dl_net *net, float s);

enum {
	DL_BACK_PARAMS = 1,	/* compute parameter gradients */
	DL_BACK_INPUT = 2,	/* compute the gradient w.r.t. the input batch */
};
/* Backward from the seeded layer (the output after dl_net_loss, or the
 * layer given to dl_net_seed*) down to the first layer (and the input when
 * DL_BACK_INPUT).  Parameter gradients are overwritten, not accumulated;
 * layers above a seeded layer get none (zeros).  After an evaluation-mode
 * forward, batch norm is a fixed affine map: the gradient flows through
 * it with the running statistics and its gamma/beta gradients are 0. */
int dl_net_backward(struct dl_net *net, int flags);

/* Backward with gradients seeded at several layers at once: layer
 * layers[j] (NULL: the output) gets host g[j][N*H*W*C] added to what comes
 * down to it from above, so one pass gives the gradient of a sum of
 * objectives on several layers (style transfer).  A layer named twice is
 * -DL_EUSAGE. */
int dl_net_backward_seeds(struct dl_net *net, int n, const char *const *layers,
    const float *const *g, int flags);

/* Copy a layer's output activation of the last forward (layer name, or
 * NULL for the output; for a layer with a non-linearity, after it) into
 * host f32 out[N*H*W*C]; returns the number of floats, or a negative
 * code.  nmax: room in out (floats). */
long dl_net_activation(struct dl_net *net, const char *layer, float *out, long nmax);
/* Output probabilities of the last forward into out[N*outputs]: softmax
 * (nll), sigmoid (bce) or the identity (mse, huber). */
long dl_net_probs(struct dl_net *net, float *out, long nmax);
/* p[n,k] = softmax of each row of host z[n,k] (max subtracted, sum in
 * double); p may alias z. */
void dl_softmax_rows(long n, int k, const float *z, float *p);
/* Seed the gradient at a layer's output with host g[N*H*W*C]
 * (layer NULL: the output). */
int dl_net_seed(struct dl_net *net, const char *layer, const float *g);
/* Seed with scale * the activation itself: the gradient of
 * scale/2 ||a||^2 (Deep Dream). */
int dl_net_seed_self(struct dl_net *net, const char *layer, float scale);
/* Seed the output logits with one-hot(class[i]) per sample (class score
 * gradient for saliency maps and class visualisation); class[i] < 0: 0. */
int dl_net_seed_class(struct dl_net *net, const int *cls);
/* The input gradient of the last backward with DL_BACK_INPUT, host f32
 * out[N*H*W*C]. */
long dl_net_input_grad(struct dl_net *net, float *out, long nmax);

/* ---- parameters (for saving, loading, optimizers) -----------------------------
 * Named tensors: conv1.weight [K,R,S,C], conv1.bias [K], fc1.weight
 * [out,in], fc1.bias [out], bn1.gamma, bn1.beta (trainable), bn1.mean,
 * bn1.var (running statistics, not trainable).  All trainable parameters
 * live in one device buffer and their gradients in another (one
 * all-reduce for data-parallel training). */
struct dl_param_info {
	const char *name;	/* "conv1.weight" */
	int layer;		/* index of its layer */
	int ndim;
	uint64_t shape[4];
	long n;			/* floats */
	int trainable;		/* 0: running statistics */
	int decay;		/* 1: weight decay applies (weights, not biases/BN) */
	float *data;		/* DEVICE pointer */
	float *grad;		/* DEVICE pointer, NULL if not trainable */
};
int dl_net_params(const struct dl_net *net);	/* count */
int dl_net_param_info(const struct dl_net *net, int i, struct dl_param_info *pi);
int dl_net_find_param(const struct dl_net *net, const char *name);	/* index or -1 */
int dl_net_param_get(struct dl_net *net, int i, float *host);	/* n floats */
int dl_net_param_set(struct dl_net *net, int i, const float *host);
int dl_net_grad_get(struct dl_net *net, int i, float *host);
/* Copy parameters of src into net for every layer up to and including
 * layer cut (NULL: all) whose names and shapes match (--init --cut).
 * Returns how many tensors were copied; a shape mismatch is -DL_ESHAPE. */
int dl_net_copy_params(struct dl_net *net, struct dl_net *src, const char *cut);

/* ---- optimizers -------------------------------------------------------------- */
enum dl_opt_kind { DL_OPT_SGD = 0, DL_OPT_MOMENTUM, DL_OPT_NESTEROV, DL_OPT_ADAM };
enum dl_sched { DL_SCHED_CONST = 0, DL_SCHED_STEP, DL_SCHED_COSINE };

struct dl_opt_conf {
	int kind;		/* enum dl_opt_kind */
	double lr;		/* base learning rate (0: 0.01 SGD, 0.001 Adam) */
	double momentum;	/* MOMENTUM/NESTEROV (0: 0.9) */
	double beta1, beta2, eps;	/* Adam (0: 0.9, 0.999, 1e-8) */
	double wd;		/* L2 weight decay on weights (not biases, BN) */
	int sched;		/* enum dl_sched */
	double step_every;	/* STEP: multiply by gamma every step_every epochs */
	double gamma;		/* STEP (0: 0.1) */
	double epochs;		/* COSINE: the length of the schedule in epochs */
	double lr_min;		/* COSINE: final lr */
	double warmup;		/* epochs of linear warm-up (epoch e of W at (e+1)/(W+1)) */
};
struct dl_opt;
struct dl_opt *dl_opt_new(struct dl_net *net, const struct dl_opt_conf *c);
void dl_opt_free(struct dl_opt *o);	/* before its net */
int dl_opt_parse_kind(const char *s);	/* "sgd" "momentum" "nesterov" "adam" -> kind, -1 */
const char *dl_opt_kind_name(int kind);
int dl_loss_parse(const char *s);	/* "nll" "bce" "mse" "huber" -> kind, -1 */
const char *dl_loss_name(int kind);
/* Multiply the lr of the parameters of the named layers (comma-separated
 * list; "conv1..pool2" is a range in network order) by f; f = 0 freezes
 * them (no update, no weight decay, no optimizer state change).
 * -DL_EUSAGE naming an unknown layer. */
int dl_opt_lr_scale(struct dl_opt *o, const char *layers, double f);
int dl_opt_freeze(struct dl_opt *o, const char *layers);
/* Where training stands, in epochs (fractional): sets the scheduled lr. */
void dl_opt_set_progress(struct dl_opt *o, double epochs);
double dl_opt_lr(const struct dl_opt *o);	/* current scheduled lr */
long dl_opt_steps(const struct dl_opt *o);	/* steps taken */
/* One update of every trainable, unfrozen parameter from its gradient
 * (with loss scaling on: unless a gradient overflowed, see below). */
int dl_opt_step(struct dl_opt *o);
/* ---- dynamic loss scaling (fp16 training) -------------------------------------
 * fp16 keeps 11 bits down to 6e-5 only, so small gradients vanish: the
 * loss gradient is multiplied by scale before backward (dl_net_loss), and
 * dl_opt_step first checks every parameter gradient.  One that is infinite or NaN (an
 * overflow) skips the step and halves the scale; otherwise the gradients
 * are divided by the scale and the step taken, and after interval such
 * steps in a row the scale doubles (to at most DL_LOSS_SCALE_MAX).
 * PyTorch's GradScaler rules and defaults.  A skipped step is not an
 * error; an overflow at scale 1 is: fp16 cannot hold those gradients. */
#define DL_LOSS_SCALE_INIT 65536.0
#define DL_LOSS_SCALE_INTERVAL 2000
#define DL_LOSS_SCALE_MAX 16777216.0
struct dl_loss_scaler {
	double scale;		/* the loss gradient's multiplier for the next step */
	long interval;		/* clean steps before it doubles */
	long good;		/* clean steps since it last changed */
	long skipped;		/* steps skipped so far */
};
/* scale <= 0: DL_LOSS_SCALE_INIT; interval <= 0: DL_LOSS_SCALE_INTERVAL. */
void dl_loss_scaler_init(struct dl_loss_scaler *s, double scale, long interval);
/* Account a backward (run at s->scale) whose gradients overflowed or not:
 * 1: take the step (divide the gradients by the scale the backward used,
 * read before this call); 0: skip it; -1: an overflow at scale 1, give up. */
int dl_loss_scaler_update(struct dl_loss_scaler *s, int overflow);

/* Turn dynamic loss scaling on in o, from scale (<= 0: DL_LOSS_SCALE_INIT):
 * dl_opt_step then checks, skips or unscales as above and sets the net's
 * loss scale (dl_net_set_loss_scale) for the next backward.  0 or -DL_E*. */
int dl_opt_loss_scaling(struct dl_opt *o, double scale);
/* Its state (NULL when off), and setting it (--resume): 0 or -DL_EUSAGE
 * for a scale that is not positive and finite, or good < 0. */
const struct dl_loss_scaler *dl_opt_scaler(const struct dl_opt *o);
int dl_opt_set_scaler(struct dl_opt *o, double scale, long good);

/* Optimizer state as a record (tensors "<param>.m", "<param>.v", KV opt,
 * step, lr) and back (shapes checked). */
int dl_opt_state_put(struct dl_opt *o, struct dl_record *rec);
int dl_opt_state_get(struct dl_opt *o, const struct dl_record *rec);

/* ---- models (lib/model.c) -------------------------------------------------------
 * A model is a DLS stream: HEAD kind=model, net=<description>, input=H,W,C,
 * loss=nll, outputs=10, plus the KVs of meta (e.g. classes, whiten, epoch);
 * a DATA record with KV part=params holding every parameter tensor by name
 * (f32); optionally a DATA record with part=opt (dl_opt_state_put). */
int dl_model_save(const char *path, struct dl_net *net, struct dl_opt *opt,
    const struct dl_record *meta);
/* Load a model; head (may be NULL) receives a copy of its HEAD record.  o
 * gives device/threads/seed (the description, input and loss come from the
 * file). */
struct dl_net *dl_model_load(const char *path, const struct dl_net_opts *o,
    struct dl_record *head);
/* Restore optimizer state saved in a model (--resume): 1 when restored,
 * 0 if the model had none, or -DL_E*. */
int dl_model_load_opt(const char *path, struct dl_opt *opt);

#endif
