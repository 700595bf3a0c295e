/*
 * model.h - the one model loader (lib/model.c): a model file read whole to
 * its end record with every checksum verified, its HEAD fields checked, its
 * network planned (lib/net.h dl_net_plan: shapes and parameter table, no
 * memory for data) and bounded by what the file holds, every parameter
 * tensor checked by name, dtype, shape and finiteness against the plan --
 * all before a byte of weights is allocated or used.  Every program that
 * reads a model goes through it (dl-eval, dl-train --init/--resume,
 * dl-saliency, dl-dream, dl-convert, dl-info).  Included by lib/dlpipe.h.
 *
 *	struct dl_model *m = dl_model_open("m.dlm", &no);	// refused: NULL
 *	struct dl_net *net = dl_model_net(m);			// weights set
 *	dl_model_close(m);
 */
#ifndef DL_MODEL_H
#define DL_MODEL_H

#include <stdint.h>

struct dl_net;
struct dl_net_opts;
struct dl_opt;
struct dl_record;

/* What a model's description may ask for.  Layers: description tokens.
 * Activations: the floats of every layer's output for one sample, in
 * bytes, at most DL_MODEL_ACT_FLOOR or DL_MODEL_ACT_RATIO times the
 * model's size in bytes, whichever is larger.  Input: H*W*C floats. */
#define DL_MODEL_MAX_LAYERS 256
#define DL_MODEL_ACT_FLOOR (256ull << 20)
#define DL_MODEL_ACT_RATIO 16
#define DL_MODEL_MAX_INPUT (1ull << 26)

/* What a checkpoint's HEAD says about training (dl-train --resume), every
 * field validated by dl_model_open; 0 (has_* 0) when absent. */
struct dl_checkpoint {
	long epoch;			/* epochs done, >= 0 */
	long best_epoch;		/* 0..epoch; 0: none */
	double best_val_loss;		/* finite, >= 0 (with best_epoch) */
	double best_val_acc;		/* 0..1 */
	int has_seed;
	uint64_t seed;
	int has_loss_scale;
	double loss_scale;		/* finite, > 0 */
	long loss_scale_good;		/* >= 0 */
};

struct dl_model;
/* Read and verify the model at path ("-": stdin) and plan its network with
 * o's device, threads and precision (the seed is the file's when it has
 * one, else o's).  NULL with dl_errmsg() ("m.dlm: ...") when anything is
 * wrong; nothing of the network is allocated by then. */
struct dl_model *dl_model_open(const char *path, const struct dl_net_opts *o);
/* The same over bytes in memory (tests, the fuzzer). */
struct dl_model *dl_model_memopen(const void *buf, size_t n, const char *name,
    const struct dl_net_opts *o);
const struct dl_record *dl_model_head(const struct dl_model *m);
const struct dl_checkpoint *dl_model_checkpoint(const struct dl_model *m);
/* The planned network (no backend, no data): layers, parameters. */
const struct dl_net *dl_model_plan(const struct dl_model *m);
/* Start the planned network and set its weights; the caller owns it
 * (dl_net_free).  Once per model; NULL with dl_errmsg(). */
struct dl_net *dl_model_net(struct dl_model *m);
/* Restore the optimizer state (part=opt): 1, 0 when the model has none,
 * or -DL_E*. */
int dl_model_opt(const struct dl_model *m, struct dl_opt *opt);
void dl_model_close(struct dl_model *m);

/* The plan of a model's HEAD for a stream of nbytes bytes (dl-info):
 * every HEAD field checked, the network planned and its activations
 * bounded as above; the parameters need not be present (a description
 * alone is shown).  NULL with dl_errmsg(). */
struct dl_net *dl_model_plan_head(const struct dl_record *head, uint64_t nbytes,
    const struct dl_net_opts *o);

#endif
