/*
 * explain.h - looking inside trained networks: gradient and occlusion
 * saliency (lib/saliency.c), Deep Dream and class visualisation by
 * gradient ascent on the input (lib/dream.c), and "dense" networks whose
 * fully connected layers became convolutions so that they run over images
 * larger than the ones they were trained on (lib/dense.c; descriptions:
 * lib/notation.c).  Built on the public net API (lib/net.h) only.
 * Programs: bin/dl-saliency.c, bin/dl-dream.c, bin/dl-convert.c.
 * Turning an image tensor into f32 and resizing it: lib/image.h.
 *
 * Images are host f32 arrays, height x width x channels (HWC), in the
 * network's input shape unless a function says otherwise.
 */
#ifndef DL_EXPLAIN_H
#define DL_EXPLAIN_H

#include <stdint.h>

struct dl_net;
struct dl_net_opts;
struct dl_tensor;

/* ---- saliency ----------------------------------------------------------- */

/* What a gradient saliency map differentiates: the logit z_k of class k
 * (pre-softmax score, Simonyan et al. 2013), its log-probability log p(k)
 * = z_k - logsumexp(z) (the gradient of z_k minus the p-weighted mean of
 * the gradients of all logits: what sets class k apart from the others),
 * or its probability p(k).  For a net whose loss is bce, p(k) is the
 * sigmoid of z_k; logprob and prob need an nll or bce net. */
enum { DL_SCORE_LOGIT, DL_SCORE_LOGPROB, DL_SCORE_PROB };

struct dl_saliency_opts {
	int score;		/* DL_SCORE_* */
	int smooth;		/* SmoothGrad (Smilkov et al. 2017): the mean of the maps
				 * of this many noisy copies of each image (< 1: the
				 * image itself, no noise) */
	float noise;		/* noise sd as a fraction of each image's value range
				 * (max - min; 1 for a flat image) */
	uint64_t seed;		/* image i's noise: dl_rng_fork(seed, first + i), */
	uint64_t first;		/* so a sample's map does not depend on its batch */
};

/* Gradient saliency: for n images x[n, H*W*C] and the classes cls[n],
 * sal[n, H*W] = max over channels of |d s_k / d x|, s_k the score o->score
 * of class k = cls[i] (o NULL: the logit, no smoothing); with o->smooth
 * = N, the mean of that map over N copies x + noise (Gaussian, sd
 * o->noise * range, drawn per image in the order of the copies), the
 * class fixed by the clean image.  cls[i] < 0 asks for the predicted
 * class, which is written back into cls[i].  The net runs in evaluation
 * mode.  0 or -DL_E*. */
int dl_saliency_grad(struct dl_net *net, const float *x, int n, int *cls,
    const struct dl_saliency_opts *o, float *sal);
/* dl_saliency_grad() with o NULL: |d z_k / d x|. */
int dl_saliency_gradient(struct dl_net *net, const float *x, int n, int *cls, float *sal);

/* Occlusion saliency (Zeiler and Fergus 2014) of one image x[H*W*C]: a
 * window x window square (clipped to the image) filled with the image's
 * per-channel mean slides over it at stride (the last row and column of
 * positions touch the far edges, so every pixel is covered); each
 * position records d = p(k | x) - p(k | occluded x), and sal[H*W] is, per
 * pixel, the mean d over the windows covering it.  *cls < 0 asks for the
 * predicted class (written back).  Occluded copies run in batches of
 * batch images (0: 64).  0 or -DL_E*. */
int dl_saliency_occlusion(struct dl_net *net, const float *x, int *cls, int window,
    int stride, int batch, float *sal);

/* Dense saliency of n images x[n, h, w, C] (at least the model's input
 * size), each padded with zeros as dl_dense_padding() says so that every
 * pixel is covered by the same number of windows; dense is the fully
 * convolutional version of model for the padded size (dl_net_dense()).
 * probs (room for nmax floats, n * dl_net_outputs(dense) needed) receives
 * probs[n, P, Q, K], the class probabilities of the windows wholly inside
 * the image (model's input size, at dl_net_total_stride(model)), and
 * sal[n, h, w], per pixel, the mean probability of class cls over all the
 * windows covering it.  cls < 0: per image, the class most probable at
 * any position inside.  pqk (may be NULL) receives P, Q and K.  0 or
 * -DL_E*. */
int dl_saliency_dense(struct dl_net *model, struct dl_net *dense, const float *x, int n, int h,
    int w, int cls, float *probs, long nmax, int *pqk, float *sal);
/* The zero padding of an h x w image for dl_saliency_dense: pad[0] rows
 * above and pad[1] columns left (multiples of the model's stride, at
 * least its input size less the stride), pad[2] x pad[3] the padded size. */
void dl_dense_padding(struct dl_net *model, int h, int w, int pad[4]);

/* Index of the largest of v[n] (the first on ties). */
int dl_argmax(const float *v, int n);

/* ---- nets derived from a trained one ---------------------------------------- */

/* The descriptions of cut and dense nets are lib/net.h's dl_net_desc_cut
 * and dl_net_desc_dense. */

/* A net with description desc (NULL: net's own) for the per-sample input
 * shape h x w (0: net's; channels stay), its parameters copied from net:
 * by name when desc keeps the layer names, else (the dense description)
 * layer by layer in order, flatten layers skipped; a tensor whose size
 * differs is -DL_ESHAPE.  o: device etc. for the new net.  NULL with
 * dl_errmsg() (e.g. an input too small for the layers). */
struct dl_net *dl_net_derive(struct dl_net *net, const char *desc, int h, int w,
    const struct dl_net_opts *o);

/* The nets dl_net_derive makes for a few image sizes (octaves, tiles),
 * the DL_NET_SIZES most recently made kept (dl-dream, dl-style). */
#define DL_NET_SIZES 8
struct dl_net_sizes {
	struct { int h, w; struct dl_net *net; } e[DL_NET_SIZES];
	int n, next;
};
/* The derived net for h x w, made on the first call for that size; NULL
 * with dl_errmsg().  Free with dl_net_sizes_free. */
struct dl_net *dl_net_sizes_get(struct dl_net_sizes *c, struct dl_net *net, const char *desc,
    int h, int w, const struct dl_net_opts *o);
void dl_net_sizes_free(struct dl_net_sizes *c);
/* Octave sizes oh[], ow[] (at most 32), finest first: h x w shrunk by
 * scale while both sides stay at least min_h x min_w, octaves at most
 * (dl-dream, dl-style, lib/dream.c); the count. */
int dl_octave_sizes(int h, int w, int octaves, double scale, int min_h, int min_w, int *oh,
    int *ow);

/* The fully convolutional ("dense") version of net for input h x w (0:
 * net's own), parameters reshaped: fc weight [out, h*w*c] in HWC order is
 * exactly the conv weight [out, h, w, c] (KRSC). */
struct dl_net *dl_net_dense(struct dl_net *net, int h, int w, const struct dl_net_opts *o);

/* Forward n images x[n, H*W*C] of the dense net's input shape in
 * evaluation mode and write per-position class probabilities out[n, P, Q,
 * K] (softmax over K at each of the P x Q output positions; the identity
 * for a net whose loss is not nll, the sigmoid for bce).  *p, *q, *k (may
 * be NULL) receive the grid and class count.  Returns the floats written,
 * or -DL_E* (-DL_ENOMEM when nmax is too small). */
long dl_dense_probs(struct dl_net *net, const float *x, int n, float *out, long nmax,
    int *p, int *q, int *k);

/* The input window of output position (i, j) of a dense net: see
 * dl_net_total_stride (lib/net.h). */

/* ---- Deep Dream and class visualisation ----------------------------------- */

struct dl_dream_opts {
	const char *layer;	/* Deep Dream: maximise ||a||^2 of this layer; NULL: class mode */
	int cls;		/* class mode: maximise the logit of this class */
	int steps;		/* gradient steps per octave (0: 20) */
	float step_size;	/* each step moves pixels by step_size on average (0: 0.01) */
	int octaves;		/* 1: none; the image is shrunk by octave_scale per
				 * octave down to the model's input size (layer mode) */
	float octave_scale;	/* 0: 1.4 */
	int jitter;		/* random roll of up to +-jitter pixels per step */
	float lo, hi;		/* clip pixels to [lo, hi] after each step; lo >= hi: no clip */
	uint64_t seed;		/* jitter: image i uses dl_rng_fork(seed, i) */
};

/* What a dream achieved, measured on the whole image before and after. */
struct dl_dream_result {
	double before, after;	/* layer: ||a||_2; class: p(class) */
	double logit_before, logit_after;	/* class mode: the logit */
	int octaves;		/* octaves actually run */
};

struct dl_dream;
/* A dreamer over net (not owned; must outlive it).  Layer mode builds nets
 * cut after the layer, one per image size, with net's weights (device etc.
 * from no, may be NULL).  NULL with dl_errmsg() (unknown layer, class out
 * of range). */
struct dl_dream *dl_dream_new(struct dl_net *net, const struct dl_dream_opts *o,
    const struct dl_net_opts *no);
/* Dream on img[h, w, c] in place (c must be the net's channels; class mode
 * needs the net's input size).  index picks the random stream.  res may be
 * NULL.  0 or -DL_E*. */
int dl_dream_run(struct dl_dream *d, float *img, int h, int w, uint64_t index,
    struct dl_dream_result *res);
void dl_dream_free(struct dl_dream *d);
/* A starting image of n values uniform in [0, 1) (fooling images from
 * noise): image index of seed, a stream of its own apart from the jitter's. */
void dl_dream_noise(float *img, long n, uint64_t seed, uint64_t index);

#endif
