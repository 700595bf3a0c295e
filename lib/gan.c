/*
 * gan.c - a DCGAN's training step and epoch loop (lib/gan.h).  Both nets
 * are ordinary networks (lib/net.h); what joins them is here: the fakes G
 * makes go into D as host floats, D's input gradient comes back as the
 * seed of G's backward, and D's gradient of the real and the fake halves
 * (two forwards, so that batch norm sees each batch alone, as in
 * PyTorch's example) is summed on the device with the backend's axpy.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net-priv.h"
#include "gan.h"

struct dl_gan {
	struct dl_net *g, *d;
	int nz;
	long img;		/* floats per image */
	int cap;		/* samples the host buffers hold */
	float *fake;		/* host [cap, img]: G(z) of the last d_grads */
	float *grad;		/* host [cap, img]: dL_G/dG(z) */
	float *tgt;		/* host [cap]: targets */
	float *prob;		/* host [cap]: D's probabilities */
	float *acc;		/* device [d->n_train]: D's gradient of the real half */
	int n;			/* samples of the last d_grads */
};

static void
shape_str(const int s[3], char *buf, size_t n)
{
	snprintf(buf, n, "%dx%dx%d", s[0], s[1], s[2]);
}

struct dl_gan *
dl_gan_new(struct dl_net *g, struct dl_net *d)
{
	struct dl_gan *gan;
	struct dl_layer_info li;
	int gi[3], di[3], k;
	char a[48], b[48];

	dl_net_input_shape(g, gi);
	dl_net_input_shape(d, di);
	dl_net_layer_info(g, dl_net_layers(g) - 1, &li);
	if (memcmp(li.shape, di, sizeof di)) {
		shape_str(li.shape, a, sizeof a);
		shape_str(di, b, sizeof b);
		dl_seterr(DL_ESHAPE, "the generator's output (%s, %s) is %s but the "
		    "discriminator's input (%s) is %s", li.name, li.token, a,
		    d->L[0].name, b);
		return NULL;
	}
	if ((k = dl_net_outputs(d)) != 1) {
		dl_net_layer_info(d, dl_net_layers(d) - 1, &li);
		dl_seterr(DL_ESHAPE, "the discriminator's last layer (%s, %s) has %d outputs; "
		    "it needs 1 (the logit of 'real')", li.name, li.token, k);
		return NULL;
	}
	if (dl_net_loss_kind(d) != DL_LOSS_BCE && dl_net_set_loss(d, DL_LOSS_BCE, 0) < 0)
		return NULL;
	if (!(gan = calloc(1, sizeof *gan))) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	gan->g = g, gan->d = d;
	gan->nz = gi[0] * gi[1] * gi[2];
	gan->img = (long)di[0] * di[1] * di[2];
	if (d->n_train && !(gan->acc = d->be->alloc(d->ctx, d->n_train * sizeof(float)))) {
		dl_gan_free(gan);
		return NULL;
	}
	return gan;
}

void
dl_gan_free(struct dl_gan *gan)
{
	if (!gan)
		return;
	if (gan->acc)
		gan->d->be->free(gan->d->ctx, gan->acc);
	free(gan->fake);
	free(gan->grad);
	free(gan->tgt);
	free(gan->prob);
	free(gan);
}

int
dl_gan_nz(const struct dl_gan *gan)
{
	return gan->nz;
}

static int
grow(struct dl_gan *gan, int n)
{
	float *p[4];

	if (n <= gan->cap)
		return 0;
	p[0] = realloc(gan->fake, (size_t)n * gan->img * sizeof(float));
	if (p[0])
		gan->fake = p[0];
	p[1] = realloc(gan->grad, (size_t)n * gan->img * sizeof(float));
	if (p[1])
		gan->grad = p[1];
	p[2] = realloc(gan->tgt, (size_t)n * sizeof(float));
	if (p[2])
		gan->tgt = p[2];
	p[3] = realloc(gan->prob, (size_t)n * sizeof(float));
	if (p[3])
		gan->prob = p[3];
	if (!p[0] || !p[1] || !p[2] || !p[3])
		return dl_seterr(DL_ENOMEM, "out of memory");
	gan->cap = n;
	return 0;
}

/* D on x (n samples, training mode) against target t: the loss sum, the
 * sum of D's probabilities, the gradient seeded. */
static int
d_pass(struct dl_gan *gan, const float *x, int n, float t, double *loss, double *p,
    int back)
{
	struct dl_tensor y = { .dtype = DL_F32, .ndim = 1, .shape = { (uint64_t)n },
	    .data = gan->tgt };
	struct dl_loss_stats st;
	int rc;

	for (int i = 0; i < n; i++)
		gan->tgt[i] = t;
	if ((rc = dl_net_forward_f32(gan->d, x, n, 1)) < 0 ||
	    (rc = dl_net_loss(gan->d, &y, 1, &st)) < 0)
		return dl_errprefix("discriminator"), rc;
	*loss = st.loss;
	if (p) {
		if ((rc = (int)dl_net_probs(gan->d, gan->prob, n)) < 0)
			return rc;
		*p = 0;
		for (int i = 0; i < n; i++)
			*p += gan->prob[i];
	}
	if ((rc = dl_net_backward(gan->d, back)) < 0)
		return dl_errprefix("discriminator"), rc;
	return 0;
}

int
dl_gan_d_grads(struct dl_gan *gan, const float *x, const float *z, int n,
    struct dl_gan_stats *st)
{
	struct dl_net *d = gan->d;
	double lr, lf;
	int rc;

	if ((rc = grow(gan, n)) < 0)
		return rc;
	memset(st, 0, sizeof *st);
	st->n = n;
	if ((rc = d_pass(gan, x, n, 1, &lr, &st->d_real, DL_BACK_PARAMS)) < 0)
		return rc;
	if (gan->acc && (rc = d->be->copy(d->ctx, gan->acc, d->grads,
	    d->n_train * sizeof(float))) < 0)
		return rc;
	if ((rc = dl_net_forward_f32(gan->g, z, n, 1)) < 0)
		return dl_errprefix("generator"), rc;
	if ((rc = (int)dl_net_activation(gan->g, NULL, gan->fake, (long)n * gan->img)) < 0)
		return rc;
	gan->n = n;
	if ((rc = d_pass(gan, gan->fake, n, 0, &lf, &st->d_fake, DL_BACK_PARAMS)) < 0)
		return rc;
	if (gan->acc && (rc = d->be->axpy(d->ctx, (long)d->n_train, 1, gan->acc, d->grads)) < 0)
		return rc;
	st->d_loss = lr + lf;
	return 0;
}

int
dl_gan_g_grads(struct dl_gan *gan, struct dl_gan_stats *st)
{
	int n = gan->n, rc;

	if (n <= 0)
		return dl_seterr(DL_EUSAGE, "dl_gan_g_grads before dl_gan_d_grads");
	if ((rc = d_pass(gan, gan->fake, n, 1, &st->g_loss, NULL, DL_BACK_INPUT)) < 0)
		return rc;
	/* dl_net_loss seeded d(mean loss)/dz; the generator's loss is that mean */
	if ((rc = (int)dl_net_input_grad(gan->d, gan->grad, (long)n * gan->img)) < 0 ||
	    (rc = dl_net_seed(gan->g, NULL, gan->grad)) < 0 ||
	    (rc = dl_net_backward(gan->g, DL_BACK_PARAMS)) < 0)
		return dl_errprefix("generator"), rc;
	return 0;
}

int
dl_gan_step(struct dl_gan *gan, struct dl_opt *od, struct dl_opt *og, const float *x,
    const float *z, int n, struct dl_gan_stats *st)
{
	int rc;

	if ((rc = dl_gan_d_grads(gan, x, z, n, st)) < 0 || (rc = dl_opt_step(od)) < 0 ||
	    (rc = dl_gan_g_grads(gan, st)) < 0 || (rc = dl_opt_step(og)) < 0)
		return rc;
	return 0;
}

void
dl_gan_noise(float *z, long n, int nz, uint64_t seed, uint64_t k)
{
	struct dl_rng r;

	dl_rng_fork(&r, seed, k);
	for (long i = 0; i < n * nz; i++)
		z[i] = (float)dl_rng_normal(&r);
}

static void
latent1(float *z, long i, int nz, uint64_t seed)
{
	dl_gan_noise(z, 1, nz, seed, (1ull << 32) + (uint64_t)i);
}

int
dl_gan_latent(float *z, long first, long n, int nz, uint64_t seed, int walk)
{
	float *b = walk > 1 ? malloc(nz * sizeof *b) : NULL;

	if (walk > 1 && !b)
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (long i = 0; i < n; i++, z += nz) {
		long o = first + i;
		double t;

		if (walk < 2) {
			latent1(z, o, nz, seed);
			continue;
		}
		t = (double)(o % walk) / (walk - 1);
		latent1(z, 2 * (o / walk), nz, seed);
		latent1(b, 2 * (o / walk) + 1, nz, seed);
		for (int j = 0; j < nz; j++)
			z[j] = (float)((1 - t) * z[j] + t * b[j]);
	}
	free(b);
	return 0;
}

int
dl_gan_generate(struct dl_net *g, const float *z, long n, float *out)
{
	int in[3], rc;
	long nz, k = dl_net_outputs(g);

	dl_net_input_shape(g, in);
	nz = (long)in[0] * in[1] * in[2];
	for (long i = 0; i < n; i += 256) {
		int m = n - i < 256 ? (int)(n - i) : 256;
		float *o = out + i * k;

		if ((rc = dl_net_forward_f32(g, z + i * nz, m, 0)) < 0 ||
		    (rc = (int)dl_net_activation(g, NULL, o, (long)m * k)) < 0)
			return rc;
		for (long j = 0; j < (long)m * k; j++)
			o[j] = 0.5f * (o[j] + 1);
	}
	return 0;
}
