/*
 * gan.h - generative adversarial networks (lib/gan.c): a generator G
 * (noise [nz] -> image) and a discriminator D (image -> one logit)
 * trained against each other as Radford et al.'s DCGAN: per batch of n
 * real images x (scaled to [-1, 1]) and n noise vectors z ~ N(0, 1),
 *	D: minimise -log D(x) - log(1 - D(G(z)))	(one step, both halves)
 *	G: minimise -log D(G(z))			(the non-saturating loss,
 *							 through the updated D)
 * with D and G in training mode throughout (batch statistics), as
 * PyTorch's DCGAN example does.  The epoch loop (dl_gan_train) keeps
 * dl-train's conventions: epochs from EPOCH markers, a model saved after
 * each, --resume, a TSV log.  bin/dl-gan.c and bin/dl-generate.c are its
 * programs.
 */
#ifndef DL_GAN_H
#define DL_GAN_H

#include <stdint.h>
#include <stdio.h>

#include "net.h"

struct dl_reader;

/* ---- one step ----------------------------------------------------------------- */
struct dl_gan_stats {
	double d_loss;		/* sum over the batch of -log D(x) - log(1 - D(G(z))) */
	double g_loss;		/* sum of -log D(G(z)) (after D's step) */
	double d_real;		/* sum of D(x) */
	double d_fake;		/* sum of D(G(z)) (before D's step) */
	long n;
};

struct dl_gan;
/* Pair g (input [1,1,nz] or [nz]) and d (one output, loss bce), which stay
 * the caller's.  NULL with dl_errmsg() when G's output is not D's input
 * (naming both layers and shapes) or D has more than one output. */
struct dl_gan *dl_gan_new(struct dl_net *g, struct dl_net *d);
void dl_gan_free(struct dl_gan *gan);
int dl_gan_nz(const struct dl_gan *gan);
/* D's parameter gradients of its loss on real x[n * image] (host f32 in
 * [-1, 1]) and the fakes G(z) (z[n * nz]; G forward in training mode),
 * the sum of both halves; keeps G(z) for dl_gan_g_grads.  st: d_loss,
 * d_real, d_fake, n set. */
int dl_gan_d_grads(struct dl_gan *gan, const float *x, const float *z, int n,
    struct dl_gan_stats *st);
/* G's parameter gradients of -log D(G(z)) for the G(z) of the last
 * dl_gan_d_grads, through D as it is now.  st->g_loss set. */
int dl_gan_g_grads(struct dl_gan *gan, struct dl_gan_stats *st);
/* One training step: d_grads, D's optimizer, g_grads, G's optimizer. */
int dl_gan_step(struct dl_gan *gan, struct dl_opt *od, struct dl_opt *og, const float *x,
    const float *z, int n, struct dl_gan_stats *st);
/* n noise vectors of nz N(0, 1) floats from dl_rng_fork(seed, k). */
void dl_gan_noise(float *z, long n, int nz, uint64_t seed, uint64_t k);
/* The noise of outputs first .. first + n - 1 of dl-generate into z[n * nz]:
 * output i's is dl_rng_fork(seed, 2^32 + i)'s N(0, 1) floats, so it does not
 * depend on n; with walk = K > 1, output i = w K + s is step s of walk w,
 * (1 - t) a + t b, t = s / (K - 1), a and b the noise of 2w and 2w + 1.
 * 0 or -DL_ENOMEM. */
int dl_gan_latent(float *z, long first, long n, int nz, uint64_t seed, int walk);
/* A generator's n outputs (host out[n * outputs], from [-1, 1] to [0, 1])
 * for noise z, in evaluation mode, in batches of at most 256. */
int dl_gan_generate(struct dl_net *g, const float *z, long n, float *out);

/* ---- training ------------------------------------------------------------------ */
struct dl_gan_epoch {
	long epoch;		/* 1-based */
	long batches, samples;
	double d_loss, g_loss;	/* means over the epoch's samples */
	double d_real, d_fake;	/* mean D(x), D(G(z)) */
	double seconds;		/* wall time of the epoch, saving included */
	double samples_per_s;	/* real samples per second of training */
};

struct dl_gan_conf {
	const char *gen, *disc;	/* descriptions (with resume: NULL) */
	const char *out;	/* the generator model, saved after every epoch */
	const char *disc_out;	/* the discriminator's (NULL: out + ".disc") */
	const char *resume;	/* continue the run of this generator model */
	const char *each;	/* also keep each epoch's generator: each + "-N.dlm"; NULL: no */
	int nz;			/* noise length (0: 100) */
	int batch_size;		/* > 0: (re)batch the input (samples: default 128) */
	struct dl_net_opts net_opts;	/* device, threads, seed */
	struct dl_opt_conf opt;	/* both nets (Adam, lr 2e-4, beta1 0.5 by default) */
	long max_epochs;	/* 0: as many as the input has */
	void (*on_net)(const struct dl_net *net);	/* once both exist (G's) */
	int (*on_epoch)(const struct dl_gan_epoch *st, void *arg);	/* after saving */
	void *arg;
};
/* Train on the real images of r (x of samples or batches: u8 as v/255 or
 * f32 in [0, 1]; y ignored).  Both nets are built at the first record and
 * checked against it (G's output, D's input, the images' shape) before
 * any training.  After every epoch both models are saved (D first;
 * G's HEAD holds gan=generator, noise=nz, disc=path, epoch, seed).  A loss
 * that is not finite stops with -DL_ENUM. */
int dl_gan_train(const struct dl_gan_conf *c, struct dl_reader *r, int *stopped);

/* The --log file: "epoch d_loss g_loss d_real d_fake seconds samples_per_s". */
FILE *dl_gan_log_open(const char *path, int append);
int dl_gan_log_row(FILE *f, const char *path, const struct dl_gan_epoch *s);

#endif
