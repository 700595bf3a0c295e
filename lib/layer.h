/*
 * layer.h - the layer-kind table: what lib/net.c's generic walk asks of a
 * kind of layer (kann's operator table, ggml's one op per file).  One file
 * per kind (lib/layer-conv.c, layer-tconv.c, layer-fc.c, layer-pool.c,
 * layer-bn.c, layer-drop.c, layer-flat.c, layer-up.c, layer-reshape.c) defines a const
 * struct dl_layer_kind; lib/layers.c lists them in dl_layer_kinds[], the
 * order in which lib/notation.c offers each token to their parse entries.
 * Adding a kind is one new file, one line in that list, and backend entries
 * (lib/backend.h, lib/cpu/, cuda/) where it needs new arithmetic.
 *
 * Private to lib/: net.c, notation.c, opt.c, model.c and the layer files.
 */
#ifndef DL_LAYER_H
#define DL_LAYER_H

#include "dlpipe.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

struct dl_layer_kind;

/* One layer: what the notation gave it, its shapes, its parameters (indices
 * into net->P) and its device buffers. */
struct layer {
	const struct dl_layer_kind *kind;
	char name[32];		/* "conv1": the kind's name and a count */
	char token[64];		/* "20C5" as written */
	int tok;		/* index of its token in the description */
	int act_tok;		/* index of its non-linearity's token; -1: none written */
	int in[3], out[3];	/* per-sample [H,W,C] */
	long in_n, out_n;	/* per-sample floats */
	int act;		/* enum dl_act applied to the output */
	float alpha;		/* LRELU slope */
	int act_explicit;	/* named in the description */
	int down;		/* how much coarser its output grid is (stride; 1: same, 0: finer) */
	/* hyper-parameters, as each kind uses them */
	int k, r, stride, pad;	/* conv/tconv: filters, window, stride, pad; pool: window r, stride; up: r */
	int opad;		/* tconv: extra rows/columns at the bottom/right of the output */
	int pool_mode, global;	/* pool */
	float p;		/* dropout fraction */
	struct dl_conv cv;	/* conv; tconv: the convolution it transposes */
	struct dl_pool pl;
	int pw, pb, pm, pv;	/* param indices: weight/gamma, bias/beta, mean, var; -1 */
	/* device buffers, [cap, out_n] */
	float *y;		/* output, after the non-linearity */
	float *dy;		/* gradient w.r.t. y */
	float *mask;		/* LK_MASK kinds: [cap, out_n] */
	float *save_mean, *save_invstd, *zeros;	/* bn, [C] (setup) */
};

enum {
	LK_ACT = 1,		/* takes a non-linearity (default ReLU; none on the last) */
	LK_NORM = 2,		/* follows an LK_ACT layer and takes over its non-linearity (BN) */
	LK_MASK = 4,		/* needs l->mask, a buffer the size of its output batch */
};

struct dl_layer_kind {
	const char *name;	/* "conv": layers conv1, conv2, ...; dl_layer_info.kind */
	unsigned flags;		/* LK_* */
	/* The token u (upper case) for this kind: 1 with l's hyper-parameters
	 * set, 0 when the token is another kind's, or -DL_EUSAGE with a
	 * message saying what was expected (the caller prefixes the token). */
	int (*parse)(struct layer *l, const char *u);
	/* l->out (and l->cv, l->pl, l->down) from l->in; -DL_EUSAGE with a
	 * message (the caller prefixes the token). */
	int (*infer)(struct layer *l);
	/* Declare its parameters with net_add_param (NULL: none). */
	int (*params)(struct dl_net *net, struct layer *l, int i);
	/* Glorot's fan-out of its weight (layers with a "weight"). */
	double (*fan_out)(const struct layer *l);
	/* Once the backend exists and the weights are set (NULL: nothing). */
	int (*setup)(struct dl_net *net, struct layer *l);
	void (*release)(struct dl_net *net, struct layer *l);	/* undo setup */
	/* y = f(x) for net->batch samples (train: training mode); the
	 * non-linearity is applied by the caller. */
	int (*forward)(struct dl_net *net, struct layer *l, const float *x, int train);
	/* From g = dL/dy (the non-linearity already undone; may be
	 * overwritten): parameter gradients when params, dx when dx != NULL.
	 * x is the forward's input. */
	int (*backward)(struct dl_net *net, struct layer *l, const float *x, float *g,
	    float *dx, int params);
	/* Its token in a fully convolutional ("dense") net, where it sees the
	 * map seen[3] ([H,W,C]), into buf: 1, or 0 to leave the layer out, or
	 * -DL_E* (NULL: the token as written). */
	int (*dense)(const struct layer *l, const int seen[3], char *buf, size_t n);
	/* Floating-point operations of one sample's forward (a multiply-add
	 * is 2), for the profile (lib/profile.c); NULL: none counted. */
	double (*flops)(const struct layer *l);
};

extern const struct dl_layer_kind *const dl_layer_kinds[];	/* NULL-terminated */
extern const struct dl_layer_kind dl_layer_conv, dl_layer_tconv, dl_layer_fc, dl_layer_pool,
    dl_layer_bn, dl_layer_drop, dl_layer_flat, dl_layer_up, dl_layer_reshape;

/* ---- what layer files use of the net (lib/net.c) ---- */
/* Declare parameter layer.what of ndim dims; its index or -DL_ENOMEM. */
int net_add_param(struct dl_net *net, int layer, const char *what, int trainable, int decay,
    int ndim, const uint64_t *shape);
float *net_pdata(struct dl_net *net, int i);	/* device pointer; NULL when not started */
float *net_pgrad(struct dl_net *net, int i);	/* NULL: not trainable or not started */
/* Parse an unsigned decimal at *s (advanced past it): the value, -1 when
 * there is none, -2 when over 1,000,000. */
long net_num(const char **s);

/* ---- what the convolution shares with the transposed one (lib/layer-conv.c) ---- */
/* "NXk[p][sS]" after the count, X = letter: 1 with l->k, r, stride, pad
 * (the flag), 0 when u is no such token, -DL_EUSAGE. */
int layer_conv_suffixes(struct layer *l, const char *u, char letter);
/* weight [cv.k, r, r, cv.c] and bias [bias_n] */
int layer_conv_params(struct dl_net *net, struct layer *l, int i, int bias_n);
int layer_conv_setup(struct dl_net *net, struct layer *l);	/* conv2d_plan */
/* forward and backward, transposed = 1 for the transposed convolution */
int layer_conv_forward(struct dl_net *net, struct layer *l, const float *x, int transposed);
int layer_conv_backward(struct dl_net *net, struct layer *l, const float *x, float *g,
    float *dx, int params, int transposed);
void layer_conv_release(struct dl_net *net, struct layer *l);
/* 2 P Q K R S C: the forward's operations a sample (the transposed
 * convolution does as many as the convolution it transposes) */
double layer_conv_flops(const struct layer *l);

/* ---- kinds that only relabel the shape (flat, reshape: lib/layer-flat.c) ---- */
int layer_copy_forward(struct dl_net *net, struct layer *l, const float *x, int train);
int layer_copy_backward(struct dl_net *net, struct layer *l, const float *x, float *g,
    float *dx, int params);

/* ---- non-linearities (lib/layer-act.c) ---- */
/* Token u (upper case): 1 with *act, *alpha; 0 when u is no non-linearity;
 * -1 for a leaky ReLU slope out of range. */
int dl_act_parse(const char *u, int *act, float *alpha);
const char *dl_act_name(int act);		/* "relu", "none", ... */
/* Its token ("RELU", "LRELU10", "LIN", ...) into buf; snprintf's count. */
int dl_act_token(int act, float alpha, char *buf, size_t n);

#endif
