/*
 * bf16-cpu.c - bf16 mixed precision on the CPU (lib/cpu/cpu-prec.c).
 * First the back end: with set_precision(bf16) the operands of gemm and of
 * all three convolution entries are rounded (1 + 2^-12 becomes 1, 70000
 * becomes 70144, round to nearest even), the results stay float32, and
 * fp16 is refused.  Then whole nets (the MLP, LeNet and the VGG-style BN
 * net of pipelines/fmnist.mk, the same seed): every layer's output of a bf16
 * forward is within 1e-2 of the fp32 one, relative to its largest
 * magnitude, and the weight gradients of a backward pass point the same
 * way (cosine >= 0.97; 0.98 in the BN net, 0.998 in the others).
 */
#include <string.h>

#include "dlpipe.h"
#include "t.h"

static const struct dl_backend *E;
static struct dl_backend_ctx *C;

static void
test_rounding(void)
{
	float a[2] = { 1 + 1.0f / 4096, 70000 }, one = 1, c[2] = { -1, -1 };
	float x[8] = { 1 + 1.0f / 4096 }, w[64] = { 0 }, y[8], dx[8], dw[64];
	struct dl_conv cv = { 1, 1, 1, 8, 8, 1, 1, 1, 1, 0, 0, 1, 1, NULL };

	for (int i = 0; i < 8; i++)
		w[i * 8 + i] = 1;	/* w[k][0][0][c] = (k == c) */
	CHECK(E->gemm(C, 0, 0, 2, 1, 1, 1.0f, a, &one, 0.0f, c) == 0);
	CHECK(c[0] == 1.0f);		/* 1 + 2^-12 rounded to 1 */
	CHECK(c[1] == 70144.0f);	/* 70000 = 0x1.11700p16 -> 0x1.12p16 */
	CHECK(E->conv2d_fwd(C, &cv, x, w, y) == 0);
	CHECK(y[0] == 1.0f && y[1] == 0);
	CHECK(E->conv2d_bwd_data(C, &cv, x, w, dx) == 0);	/* dy = x */
	CHECK(dx[0] == 1.0f && dx[1] == 0);
	memset(y, 0, sizeof y);
	y[0] = 1;
	CHECK(E->conv2d_bwd_filter(C, &cv, x, y, dw) == 0);
	CHECK(dw[0] == 1.0f && dw[1] == 0);
	/* ties go to even: 1 + 2^-8 (halfway between 1 and 1 + 2^-7) -> 1,
	 * 1 + 3 * 2^-8 -> 1 + 2^-6 */
	a[0] = 1 + 1.0f / 256, a[1] = 1 + 3.0f / 256;
	CHECK(E->gemm(C, 0, 0, 2, 1, 1, 1.0f, a, &one, 0.0f, c) == 0);
	CHECK(c[0] == 1.0f && c[1] == 1 + 1.0f / 64);
	/* back to fp32: nothing rounded */
	CHECK(E->set_precision(C, DL_PREC_FP32) == 0);
	CHECK(E->gemm(C, 0, 0, 2, 1, 1, 1.0f, a, &one, 0.0f, c) == 0);
	CHECK(c[0] == 1 + 1.0f / 256);
	CHECK(E->set_precision(C, DL_PREC_FP16) < 0);
	CHECK(strstr(dl_errmsg(), "no fp16"));
	CHECK(E->set_precision(C, DL_PREC_BF16) == 0);
}

/* max |a - b| / max |a| over n floats */
static double
rel_err(const float *a, const float *b, long n)
{
	double d = 0, m = 0;

	for (long i = 0; i < n; i++) {
		d = fmax(d, fabs((double)a[i] - b[i]));
		m = fmax(m, fabs((double)a[i]));
	}
	return m > 0 ? d / m : d;
}

static void
test_net(const char *desc)
{
	enum { N = 16, MAXF = N * 28 * 28 * 64 };
	uint64_t shape[3] = { 28, 28, 1 };
	struct dl_net_opts o = { .device = "cpu", .seed = 7 };
	struct dl_net *net[2];
	static float x[N * 784], a[MAXF], b[MAXF];
	int y[N];
	unsigned long long s = 42;
	struct dl_tensor yt = { .name = "y", .dtype = DL_I32, .ndim = 1, .shape = { N }, .data = y,
		.nbytes = sizeof y };
	struct dl_loss_stats st;
	double worst = 0, worst_g = 0;

	for (int i = 0; i < N * 784; i++)
		x[i] = (float)(0.5 + 0.5 * t_rand(&s));
	for (int i = 0; i < N; i++)
		y[i] = i % 10;
	for (int p = 0; p < 2; p++) {
		unsigned long long s2 = 5;

		o.precision = p ? DL_PREC_BF16 : DL_PREC_FP32;
		CHECK((net[p] = dl_net_new(desc, 3, shape, &o)) != NULL);
		if (!net[p])
			return;
		t_net_unzero(net[p], &s2);
		CHECK(dl_net_forward_f32(net[p], x, N, 1) == N);
		CHECK(dl_net_loss(net[p], &yt, 1, &st) == 0);
		CHECK(dl_net_backward(net[p], DL_BACK_PARAMS) == 0);
	}
	for (int i = 0; i < dl_net_layers(net[0]); i++) {
		struct dl_layer_info li;
		long na, nb;
		double e;

		CHECK(dl_net_layer_info(net[0], i, &li) == 0);
		na = dl_net_activation(net[0], li.name, a, MAXF);
		nb = dl_net_activation(net[1], li.name, b, MAXF);
		CHECK(na > 0 && na == nb);
		e = rel_err(a, b, na);
		worst = fmax(worst, e);
		if (!(e <= 1e-2))
			fprintf(stderr, "FAIL %s %s: bf16 output off by %.3g of its largest\n", desc,
			    li.name, e), t_failed++;
		CHECK(e > 0 || i == 0 || strncmp(li.name, "conv", 4));	/* really rounded */
	}
	/* The gradients: a sum over the batch with much cancellation (and ReLU
	 * and max-pool choices that flip near ties) is not within 1e-2 of its
	 * largest element; what training needs is the direction.  The cosine
	 * of the weight gradients (biases and BN parameters ahead of a BN are
	 * near zero in exact arithmetic and left out) is near 1. */
	for (int i = 0; i < dl_net_params(net[0]); i++) {
		struct dl_param_info pi;
		double ab = 0, aa = 0, bb = 0, cosv;

		if (dl_net_param_info(net[0], i, &pi) < 0 || !pi.decay || pi.n > MAXF)
			continue;
		CHECK(dl_net_grad_get(net[0], i, a) == 0 && dl_net_grad_get(net[1], i, b) == 0);
		for (long j = 0; j < pi.n; j++)
			ab += (double)a[j] * b[j], aa += (double)a[j] * a[j], bb += (double)b[j] * b[j];
		cosv = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
		worst_g = fmax(worst_g, 1 - cosv);
		if (!(cosv >= 0.97))
			fprintf(stderr, "FAIL %s %s: bf16 gradient at cosine %.4f of fp32's\n", desc,
			    pi.name, cosv), t_failed++;
	}
	fprintf(stderr, "%-50s bf16 vs fp32: outputs within %.2e of their largest, weight gradients 1 - cosine <= %.2e\n",
	    desc, worst, worst_g);
	dl_net_free(net[0]);
	dl_net_free(net[1]);
}

int
main(void)
{
	CHECK(dl_backend_open("cpu", 1, &E, &C) == 0);
	CHECK(E->set_precision && E->set_precision(C, DL_PREC_BF16) == 0);
	test_rounding();
	E->fini(C);
	CHECK(dl_backend_check_precision("cpu", DL_PREC_BF16) == 1);
	CHECK(dl_backend_check_precision("cpu", DL_PREC_FP16) == -DL_EUSAGE);
	test_net("FC256-FC256-FC10");
	test_net("20C5-MP2-50C5-MP2-FC256-FC10");
	test_net("32C3p-BN-32C3p-BN-MP2-64C3p-BN-64C3p-BN-MP2-FC256-D50-FC10");
	T_DONE();
}
