/*
 * net-priv.h - what lib/net.c shares with the layer files (lib/layer.h),
 * the notation (lib/notation.c), lib/opt.c and lib/model.c, and nobody
 * else: the layer list and parameter table of struct dl_net.
 */
#ifndef DL_NET_PRIV_H
#define DL_NET_PRIV_H

#include "dlpipe.h"
#include "layer.h"

struct param {
	char name[48];		/* "conv1.weight" */
	int layer;
	int ndim;
	uint64_t shape[4];
	long n;
	int trainable, decay;
	size_t off;		/* floats into net->params (trainable) or net->stats */
};

struct dl_net {
	char *desc;			/* canonical */
	struct dl_net_opts opts;	/* as given to dl_net_plan (device: until started) */
	const struct dl_backend *be;
	struct dl_backend_ctx *ctx;
	uint64_t seed;
	int loss;			/* enum dl_loss_kind */
	float delta;
	float lscale;			/* loss scale (dl_net_set_loss_scale), 1 by default */
	int in[3];			/* [H,W,C] */
	long in_n;
	int n_layers;
	struct layer *L;
	int n_params, cap_params;
	struct param *P;
	size_t n_train, n_stats;	/* floats */
	float *params, *grads, *stats;	/* device */
	int cap;			/* batch capacity of the buffers */
	int batch;			/* N of the last forward */
	int train;			/* mode of the last forward */
	int seeded;			/* layer whose dy is seeded; -1 none */
	uint64_t step;			/* optimizer steps (dropout masks) */
	long sample0;			/* dl_net_set_first_sample: of the whole batch (MPI) */
	int blank;			/* dl_net_start leaves the parameters to the caller */
	float *x;			/* input [cap, in_n] */
	float *dx;			/* input gradient */
	uint8_t *xu8;			/* u8 staging */
	void *tgt;			/* targets: i32 [cap] or f32 [cap, outputs] */
	float *lossv;			/* per-sample loss [cap] */
	float *host;			/* host scratch */
	size_t host_n;
	struct dl_prof *prof;		/* DL_PROFILE: lib/profile.c; NULL: off */
};

/* Parse desc into net->L, net->n_layers (lib/notation.c): kinds, their
 * hyper-parameters, names, tokens and non-linearities; no shapes.  0 or
 * -DL_EUSAGE naming the token. */
int notation_parse(struct dl_net *net, const char *desc);
/* Set an error naming token i (1-based) of the description: "net: token 3
 * 'C5x': ..."; returns -DL_EUSAGE. */
int notation_tokerr(int i, const char *tok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Called by dl_opt_step() after an update: the next dropout masks differ. */
void dl_net_advance(struct dl_net *net);
/* Host pointer to a parameter's storage offset table entry. */
float *dl_net_param_ptr(struct dl_net *net, int i);

/* ---- the profile (lib/profile.c), all no-ops unless DL_PROFILE is set ---- */
void prof_start(struct dl_net *net);		/* at dl_net_start */
double prof_clock(struct dl_net *net);		/* device synced; 0 when off */
/* Layer i's pass dir (0 forward, 1 backward) since t0; ngrads: the
 * gradients the backward computed (weights, input: 0..2). */
void prof_layer(struct dl_net *net, int i, int dir, double t0, int ngrads);
void prof_opt(struct dl_net *net, double t0);	/* an optimizer step since t0 */
void prof_report(struct dl_net *net);		/* the table on stderr */
void prof_free(struct dl_net *net);

#endif
