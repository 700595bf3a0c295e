/*
 * tests/gan.c - the GAN step of lib/gan.c against finite differences: the
 * discriminator's gradient of -log D(x) - log(1 - D(G(z))) (the real and
 * the fake halves summed, each with its own batch statistics) and the
 * generator's gradient of the non-saturating loss -log D(G(z)) through
 * the discriminator, both in training mode; the noise, the latent walk,
 * the shape checks of dl_gan_new, and that a step lowers D's loss on the
 * same batch.
 */
#include <string.h>

#include "dlpipe.h"
#include "gan.h"
#include "t.h"

#define N 4
#define NZ 3
#define EPS 1e-3

static const char *gdesc = "FC8-BN-RS2x2x2-2T4s2p-BN-1T3p-TANH";	/* [3] -> 4x4x1 */
static const char *ddesc = "3C3s2p-LRELU20-4C2-BN-LRELU20-FC1";	/* 4x4x1 -> 1 */

static unsigned long long rs = 5;
static float x[N * 16], z[N * NZ];

static int
check(double num, double ana, const char *what, long j)
{
	if (fabs(num - ana) <= 2e-3 + 2e-2 * fabs(ana))
		return 0;
	fprintf(stderr, "%s[%ld]: numeric %.6g, analytic %.6g\n", what, j, num, ana);
	return 1;
}

/* which = 0: D's loss (mean); 1: G's loss after D's gradients. */
static double
objective(struct dl_gan *gan, int which)
{
	struct dl_gan_stats st;

	if (dl_gan_d_grads(gan, x, z, N, &st) < 0 || (which && dl_gan_g_grads(gan, &st) < 0))
		return fprintf(stderr, "%s\n", dl_errmsg()), NAN;
	return (which ? st.g_loss : st.d_loss) / N;
}

/* Every trainable parameter of net against central differences of the
 * objective; the analytic gradients are those objective(which) left. */
static void
fd(struct dl_gan *gan, struct dl_net *net, int which, const char *who)
{
	int fails = 0, checked = 0;

	CHECK(!isnan(objective(gan, which)));
	for (int p = 0; p < dl_net_params(net); p++) {
		struct dl_param_info pi;
		float w[512], g[512];

		dl_net_param_info(net, p, &pi);
		if (!pi.trainable || pi.n > 512)
			continue;
		/* the gradients of this pass, before any perturbed pass overwrites them */
		objective(gan, which);
		dl_net_grad_get(net, p, g);
		dl_net_param_get(net, p, w);
		for (long j = 0; j < pi.n; j++) {
			float keep = w[j];
			double lp, lm;

			w[j] = keep + EPS;
			dl_net_param_set(net, p, w);
			lp = objective(gan, which);
			w[j] = keep - EPS;
			dl_net_param_set(net, p, w);
			lm = objective(gan, which);
			w[j] = keep;
			dl_net_param_set(net, p, w);
			fails += check((lp - lm) / (2 * EPS), g[j], pi.name, j);
			checked++;
		}
	}
	fprintf(stderr, "%s: %d gradients checked, %d off\n", who, checked, fails);
	CHECK(checked > 50);
	CHECK(fails == 0);
}

static struct dl_net *
mk(const char *desc, int ndim, const uint64_t *sh, int loss, uint64_t seed)
{
	struct dl_net_opts o = { .device = "cpu", .threads = 1, .seed = seed, .loss = loss };
	struct dl_net *net = dl_net_new(desc, ndim, sh, &o);

	if (!net) {
		fprintf(stderr, "%s: %s\n", desc, dl_errmsg());
		exit(1);
	}
	t_net_unzero(net, &rs);
	return net;
}

static void
shapes(void)
{
	struct dl_net *g = mk(gdesc, 1, (uint64_t[]){ NZ }, 0, 1);
	struct dl_net *d5 = mk("3C3s2p-FC1", 3, (uint64_t[]){ 5, 5, 1 }, DL_LOSS_BCE, 2);
	struct dl_net *d2 = mk("3C3s2p-FC2", 3, (uint64_t[]){ 4, 4, 1 }, DL_LOSS_BCE, 2);

	CHECK(dl_gan_new(g, d5) == NULL);
	CHECK(strstr(dl_errmsg(), "tconv2") && strstr(dl_errmsg(), "4x4x1") &&
	    strstr(dl_errmsg(), "5x5x1") && strstr(dl_errmsg(), "conv1"));
	fprintf(stderr, "mismatch: %s\n", dl_errmsg());
	CHECK(dl_gan_new(g, d2) == NULL);
	CHECK(strstr(dl_errmsg(), "fc1") && strstr(dl_errmsg(), "2 outputs"));
	dl_net_free(g);
	dl_net_free(d5);
	dl_net_free(d2);
}

static void
noise(void)
{
	float a[2 * 5], b[5], w[4 * 5];
	double s = 0, ss = 0;
	static float big[10000];

	dl_gan_latent(a, 0, 2, 5, 9, 0);
	dl_gan_latent(b, 1, 1, 5, 9, 0);
	CHECK(memcmp(a + 5, b, sizeof b) == 0);	/* output i's noise: seed and i alone */
	dl_gan_latent(w, 0, 4, 5, 9, 4);	/* a walk of 4 from noise 0 to noise 1 */
	CHECK(memcmp(w, a, 5 * sizeof *a) == 0 && memcmp(w + 15, a + 5, 5 * sizeof *a) == 0);
	CHECK_NEAR(w[5], (2 * a[0] + a[5]) / 3, 1e-6);
	dl_gan_noise(big, 1, 10000, 3, 0);
	for (int i = 0; i < 10000; i++)
		s += big[i], ss += (double)big[i] * big[i];
	CHECK_NEAR(s / 10000, 0, 0.05);
	CHECK_NEAR(ss / 10000, 1, 0.05);
}

int
main(void)
{
	struct dl_net *g = mk(gdesc, 1, (uint64_t[]){ NZ }, 0, 1);
	struct dl_net *d = mk(ddesc, 3, (uint64_t[]){ 4, 4, 1 }, DL_LOSS_BCE, 2);
	struct dl_gan *gan = dl_gan_new(g, d);
	struct dl_opt_conf oc = { .kind = DL_OPT_ADAM, .lr = 1e-2, .beta1 = 0.5 };
	struct dl_opt *od, *og;
	double before, after;

	if (!gan)
		return fprintf(stderr, "%s\n", dl_errmsg()), 1;
	for (int i = 0; i < N * 16; i++)
		x[i] = (float)t_rand(&rs);
	for (int i = 0; i < N * NZ; i++)
		z[i] = (float)(1.5 * t_rand(&rs));
	fd(gan, d, 0, "discriminator, both halves");
	fd(gan, g, 1, "generator, through D");
	/* a step: D's loss on the same batch falls, then G's */
	od = dl_opt_new(d, &oc), og = dl_opt_new(g, &oc);
	before = objective(gan, 0);
	for (int i = 0; i < 3; i++)
		dl_gan_d_grads(gan, x, z, N, &(struct dl_gan_stats){ 0 }), dl_opt_step(od);
	after = objective(gan, 0);
	fprintf(stderr, "D loss %.4f -> %.4f after 3 steps of D\n", before, after);
	CHECK(after < before);
	before = objective(gan, 1);
	for (int i = 0; i < 3; i++) {
		struct dl_gan_stats st;

		dl_gan_d_grads(gan, x, z, N, &st), dl_gan_g_grads(gan, &st), dl_opt_step(og);
	}
	after = objective(gan, 1);
	fprintf(stderr, "G loss %.4f -> %.4f after 3 steps of G\n", before, after);
	CHECK(after < before);
	dl_opt_free(od);
	dl_opt_free(og);
	dl_gan_free(gan);
	dl_net_free(g);
	dl_net_free(d);
	shapes();
	noise();
	T_DONE();
}
