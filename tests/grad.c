/*
 * tests/grad.c - finite-difference check of every layer and loss through
 * the network API: analytic gradients (dl_net_backward) of every
 * parameter and of the input against central differences of the loss.
 * The backend is float32, so the loss is summed in double and eps is
 * chosen for f32 (1e-3 on O(1) values): error ~ 1e-4, tolerance
 * 2e-3 + 2e-2 |g|.
 */
#include <string.h>

#include "dlpipe.h"
#include "t.h"

#define N 3
#define EPS 1e-3

struct tcase {
	const char *desc;
	int h, w, c;
	int loss;		/* enum dl_loss_kind */
	int f32_target;		/* f32 targets rather than classes */
	int train;		/* forward mode */
	const char *seed_layer;	/* non-NULL: seed_self at this layer instead of the loss */
};

static const struct tcase cases[] = {
	{ "4C3-FC3", 5, 5, 2, DL_LOSS_NLL, 0, 1, NULL },			/* conv valid, relu, fc, nll */
	{ "3C3ps2-TANH-MP2-FC4", 7, 7, 2, DL_LOSS_MSE, 1, 1, NULL },		/* stride, pad, tanh, max pool, mse */
	{ "4C3p-SIGM-AP2-GAP-FC3", 6, 6, 2, DL_LOSS_BCE, 0, 1, NULL },		/* sigmoid, avg pool, GAP, bce (classes) */
	{ "4C3p-SIGM-AP2-GAP-FC3", 6, 6, 2, DL_LOSS_BCE, 1, 1, NULL },		/* bce, f32 targets */
	{ "3C3p-BN-FC6-BN-TANH-FC3", 5, 5, 2, DL_LOSS_HUBER, 1, 1, NULL },	/* BN train (conv, fc), huber */
	{ "3C3p-BN-FC3", 5, 5, 2, DL_LOSS_NLL, 0, 0, NULL },			/* BN in evaluation mode */
	{ "FC8-LRELU10-D30-FC3", 4, 4, 1, DL_LOSS_NLL, 0, 1, NULL },		/* leaky relu, dropout (fixed mask) */
	{ "5C1-FLAT-FC3", 3, 3, 4, DL_LOSS_NLL, 0, 1, NULL },			/* 1x1 conv path, flatten */
	{ "3C2s2-MP3s2-FC2", 9, 9, 1, DL_LOSS_HUBER, 1, 1, NULL },		/* overlapping pool windows */
	{ "4C3-AP2s1-FC3-SIGM", 6, 6, 1, DL_LOSS_MSE, 1, 1, NULL },		/* sigmoid output, avg stride 1 */
	{ "4C3p-MP2-FC5", 6, 6, 2, DL_LOSS_NLL, 0, 0, "conv1" },		/* seed at a layer (Deep Dream) */
	{ "3T3s2p-TANH-FC3", 3, 3, 2, DL_LOSS_MSE, 1, 1, NULL },		/* transposed conv, odd k-S: an extra row */
	{ "2T4s2p-TANH-4C3-FC3", 3, 3, 2, DL_LOSS_NLL, 0, 1, NULL },	/* DCGAN's k4 s2 p1 */
	{ "3T2-BN-LRELU20-FC3", 3, 4, 2, DL_LOSS_HUBER, 1, 1, NULL },		/* valid, non-square, BN */
	{ "2T2s3p-SIGM-FC3", 2, 2, 3, DL_LOSS_BCE, 1, 1, NULL },		/* k < S: gaps between patches */
	{ "UP2-3C3-FC3", 3, 3, 2, DL_LOSS_NLL, 0, 1, NULL },			/* nearest upsampling */
	{ "2C3p-UP3-FC3", 2, 3, 2, DL_LOSS_MSE, 1, 1, NULL },			/* upsampling by 3, non-square */
	{ "4C3-RS2x3x6-2C2-FC3", 5, 5, 2, DL_LOSS_NLL, 0, 1, NULL },		/* reshape between convolutions */
	{ "FC12-BN-RS2x2x3-2T4s2p-TANH-FC3", 3, 3, 2, DL_LOSS_MSE, 1, 1, NULL },	/* a generator's FC-reshape-tconv */
};

static unsigned long long rs = 42;

/* The scalar whose gradient is checked. */
static double
objective(struct dl_net *net, const struct tcase *tc, const float *x, struct dl_tensor *y,
    int backward)
{
	struct dl_loss_stats st;
	static float act[1 << 16];
	double s = 0;
	long n;

	if (dl_net_forward_f32(net, x, N, tc->train) < 0)
		return fprintf(stderr, "forward: %s\n", dl_errmsg()), NAN;
	if (tc->seed_layer) {
		n = dl_net_activation(net, tc->seed_layer, act, 1 << 16);
		for (long i = 0; i < n; i++)
			s += 0.5 * act[i] * act[i];
		if (backward)
			dl_net_seed_self(net, tc->seed_layer, 1);
		return s;
	}
	if (dl_net_loss(net, y, backward, &st) < 0)
		return fprintf(stderr, "loss: %s\n", dl_errmsg()), NAN;
	return st.loss / N;
}

static int
check(double num, double ana, const char *what, int idx, const char *desc)
{
	if (fabs(num - ana) <= 2e-3 + 2e-2 * fabs(ana))
		return 0;
	fprintf(stderr, "%s: %s[%d]: numeric %.6g, analytic %.6g\n", desc, what, idx, num, ana);
	return 1;
}

static void
run(const struct tcase *tc)
{
	uint64_t sh[3] = { tc->h, tc->w, tc->c };
	struct dl_net_opts o = { .device = "cpu", .seed = 7, .threads = 2, .loss = tc->loss,
	    .huber_delta = 0.5f };
	struct dl_net *net = dl_net_new(tc->desc, 3, sh, &o);
	int nin = tc->h * tc->w * tc->c, k, fails = 0, checked = 0;
	float x[N * 512], dx[N * 512], ycls[1];
	int32_t cls[N];
	float yf[N * 16];
	struct dl_tensor y = { .name = "y" };

	(void)ycls;
	if (!net) {
		fprintf(stderr, "%s: %s\n", tc->desc, dl_errmsg());
		t_failed++;
		return;
	}
	/* its own generator: the data below stay those the cases were tuned on
	 * (ReLU kinks within EPS of a point make central differences disagree) */
	t_net_unzero(net, &(unsigned long long){ 11 });
	k = dl_net_outputs(net);
	for (int i = 0; i < N * nin; i++)
		x[i] = (float)t_rand(&rs);
	if (tc->f32_target) {
		for (int i = 0; i < N * k; i++)
			yf[i] = tc->loss == DL_LOSS_BCE ? (float)(0.5 + 0.5 * t_rand(&rs)) : (float)(1.5 * t_rand(&rs));
		y.dtype = DL_F32, y.ndim = 2, y.shape[0] = N, y.shape[1] = k, y.data = yf;
		y.nbytes = sizeof(float) * N * k;
	} else {
		for (int i = 0; i < N; i++)
			cls[i] = i % k;
		y.dtype = DL_I32, y.ndim = 1, y.shape[0] = N, y.data = cls, y.nbytes = sizeof cls;
	}
	/* a non-trivial state for BN running statistics in evaluation mode */
	if (!tc->train) {
		dl_net_forward_f32(net, x, N, 1);
	}
	if (isnan(objective(net, tc, x, &y, 1)) ||
	    dl_net_backward(net, DL_BACK_PARAMS | DL_BACK_INPUT) < 0) {
		fprintf(stderr, "%s: %s\n", tc->desc, dl_errmsg());
		t_failed++;
		dl_net_free(net);
		return;
	}
	dl_net_input_grad(net, dx, N * 512);
	/* parameters */
	for (int p = 0; p < dl_net_params(net); p++) {
		struct dl_param_info pi;
		float w[4096], g[4096];

		dl_net_param_info(net, p, &pi);
		/* evaluation mode: BN is a fixed affine map, no parameter gradients */
		if (!pi.trainable || pi.n > 4096 || (!tc->train && strncmp(pi.name, "bn", 2) == 0))
			continue;
		dl_net_param_get(net, p, w);
		dl_net_grad_get(net, p, g);
		for (long j = 0; j < pi.n; j++) {
			float keep = w[j];
			double lp, lm;

			w[j] = keep + EPS;
			dl_net_param_set(net, p, w);
			lp = objective(net, tc, x, &y, 0);
			w[j] = keep - EPS;
			dl_net_param_set(net, p, w);
			lm = objective(net, tc, x, &y, 0);
			w[j] = keep;
			dl_net_param_set(net, p, w);
			fails += check((lp - lm) / (2 * EPS), g[j], pi.name, (int)j, tc->desc);
			checked++;
		}
	}
	/* input */
	for (int i = 0; i < N * nin; i++) {
		float keep = x[i];
		double lp, lm;

		x[i] = keep + EPS;
		lp = objective(net, tc, x, &y, 0);
		x[i] = keep - EPS;
		lm = objective(net, tc, x, &y, 0);
		x[i] = keep;
		fails += check((lp - lm) / (2 * EPS), dx[i], "input", i, tc->desc);
		checked++;
	}
	if (fails)
		t_failed++;
	fprintf(stderr, "%-28s %-6s %s: %d gradients checked, %d off\n", tc->desc,
	    dl_loss_name(tc->loss), tc->train ? "train" : "eval", checked, fails);
	dl_net_free(net);
}

/* Fused losses at the logits, in double, against their formulas. */
static void
losses(void)
{
	struct dl_backend_ctx *ctx;
	const struct dl_backend *be = &dl_backend_cpu;
	float z[6] = { 2.0f, -1.0f, 0.5f, 30.0f, -40.0f, 0.0f }, dz[6], l[2], zz[6], ln[2];
	float t[6] = { 1, 0, 0.5f, 0, 1, 0.2f };
	int32_t c[2] = { 0, 1 };

	be->init(&ctx, 0, 1);
	for (int kind = 0; kind < 4; kind++) {
		int f32 = kind != DL_LOSS_NLL;

		be->loss(ctx, kind, 0.5f, 2, 3, z, f32 ? (void *)t : (void *)c, f32, 1.0f, l, dz);
		for (int i = 0; i < 6; i++) {
			double lp, lm;
			memcpy(zz, z, sizeof z);
			zz[i] += 1e-2f;
			be->loss(ctx, kind, 0.5f, 2, 3, zz, f32 ? (void *)t : (void *)c, f32, 1.0f, ln, NULL);
			lp = (double)ln[0] + ln[1];
			zz[i] -= 2e-2f;
			be->loss(ctx, kind, 0.5f, 2, 3, zz, f32 ? (void *)t : (void *)c, f32, 1.0f, ln, NULL);
			lm = (double)ln[0] + ln[1];
			CHECK_NEAR((lp - lm) / 2e-2, dz[i], 2e-3 + 1e-2 * fabs(dz[i]));
			CHECK(isfinite(l[0]) && isfinite(l[1]));
			if (kind != DL_LOSS_MSE)	/* bounded at the logits */
				CHECK(fabs(dz[i]) <= 1.0f + 1e-6f);
		}
	}
	/* nll of the extreme row: log-sum-exp keeps it finite and exact */
	be->loss(ctx, DL_LOSS_NLL, 0, 1, 3, z + 3, c + 1, 0, 1.0f, l, dz);
	CHECK_NEAR(l[0], 70.0, 1e-4);
	be->fini(ctx);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		run(&cases[i]);
	losses();
	T_DONE();
}
