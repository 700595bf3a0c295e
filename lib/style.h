/*
 * style.h - artistic style transfer and texture synthesis (Gatys, Ecker and
 * Bethge 2015, 2016): optimise the pixels of an image so that the Gram
 * matrices of its activations at some named layers match those of a style
 * image while its activation at one layer stays that of a content image
 * (no content: texture synthesis).  lib/style.c, on the public net API
 * (lib/net.h) like lib/dream.c: nets cut after the deepest layer used and
 * derived for each image size (dl_net_derive, lib/explain.h), so the
 * layers run over the whole image, whatever its size.  Program:
 * bin/dl-style.c.
 *
 * Images are host f32 arrays, height x width x channels (HWC), in the
 * model's channels.  The losses, for a layer l whose activation F is
 * M = H*W positions by C channels:
 *	content  Lc = mean over M*C of (F - P)^2, P the content image's F
 *	Gram     G = F^T F / M (C x C)
 *	style    Ls = sum over the style layers of w_l E_l,
 *	         E_l = sum((G - A)^2) / (4 C^2), A the style image's Gram
 *	         (Gatys's E_l = sum((F^T F - S^T S)^2) / (4 C^2 M^2))
 *	tv       Ltv = (sum of squared differences of vertically and
 *	         horizontally adjacent values) / (H*W*C)
 *	total    content_weight * Lc + style_weight * Ls + tv_weight * Ltv
 */
#ifndef DL_STYLE_H
#define DL_STYLE_H

#include <stdint.h>

struct dl_net;
struct dl_net_opts;

enum { DL_STYLE_LBFGS, DL_STYLE_ADAM };
enum { DL_STYLE_FROM_CONTENT, DL_STYLE_FROM_NOISE };

/* Where an optimisation stands: the losses at the image after step (0:
 * the start) of octave (0: the coarsest), evals objective evaluations so
 * far in that octave. */
struct dl_style_step {
	uint64_t image;
	int octave, h, w;
	int step;
	long evals;
	double content, style, tv, total;
};

struct dl_style_opts {
	const char *content_layer;	/* NULL: the default (dl_style_new) */
	const char *style_layers;	/* "conv1,conv3:0.5,...": names, each with an
					 * optional weight (default 1/count); NULL: default */
	double content_weight;		/* < 0: 1 */
	double style_weight;		/* < 0: 1e3 */
	double tv_weight;		/* < 0: 0 */
	int optimizer;			/* DL_STYLE_LBFGS, DL_STYLE_ADAM */
	int steps;			/* iterations (L-BFGS) or updates (Adam) per octave;
					 * 0: none (the start image comes back) */
	double lr;			/* Adam's learning rate (<= 0: 0.02) */
	int history;			/* L-BFGS: pairs kept (<= 0: 50) */
	int octaves;			/* 1: none; else coarse to fine, each octave_scale
					 * times larger than the one before */
	double octave_scale;		/* <= 1: 1.4 */
	int min_size;			/* octaves stop at this side (<= 0: 32) */
	int start;			/* DL_STYLE_FROM_*; without content: noise */
	uint64_t seed;			/* noise: image i from dl_dream_noise(seed, i) */
	/* called after every step (may be NULL); non-zero stops with that code */
	int (*on_step)(void *arg, const struct dl_style_step *st);
	void *arg;
};

struct dl_style;
/* A styler over net (not owned, must outlive it): the layer names checked
 * against the net (an unknown name is -DL_EUSAGE naming the layers there
 * are).  Defaults, with blocks the runs of layers between pooling layers:
 * the style layers are the first convolution of each of the first five
 * blocks, the content layer the second convolution of block 4 (VGG's
 * conv1_1 ... conv5_1 and conv4_2), else the last convolution before any
 * fully connected layer; a convolution followed by batch normalisation
 * stands for the normalisation layer (where its non-linearity is).  no:
 * device for the nets made (may be NULL).  NULL with dl_errmsg(). */
struct dl_style *dl_style_new(struct dl_net *net, const struct dl_style_opts *o,
    const struct dl_net_opts *no);
void dl_style_free(struct dl_style *s);
/* The layers chosen, for messages: "conv4" and "conv1:0.5,conv3:0.5". */
const char *dl_style_content_layer(const struct dl_style *s);
const char *dl_style_style_layers(const struct dl_style *s);
/* The style image img[h, w, c] (copied).  0 or -DL_E*. */
int dl_style_set_style(struct dl_style *s, const float *img, int h, int w);
/* Make out[h, w, c]: from content[h, w, c] (NULL: texture synthesis of h
 * x w) with the style set before.  index: the image's noise stream and
 * dl_style_step.image.  last (may be NULL): the losses at the result.
 * 0 or -DL_E* (or the non-zero return of on_step). */
int dl_style_run(struct dl_style *s, const float *content, int h, int w, uint64_t index,
    float *out, struct dl_style_step *last);

#endif
