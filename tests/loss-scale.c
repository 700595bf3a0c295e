/*
 * tests/loss-scale.c - the CPU side of mixed precision: the dynamic loss
 * scaler's rules driven with made-up overflow flags (PyTorch GradScaler's:
 * halve and skip on overflow, double after 2000 clean steps, give up at
 * scale 1), the seeded gradient scaled exactly by dl_net_set_loss_scale,
 * --precision names, and bf16/fp16 refused by the fp32-only cpu backend.
 * The GPU side is tests/backend-cuda.c and tests/train-cuda.sh.
 */
#include <string.h>

#include "dlpipe.h"
#include "t.h"

static void
test_scaler(void)
{
	struct dl_loss_scaler s;
	int rc;

	dl_loss_scaler_init(&s, 0, 0);
	CHECK(s.scale == 65536 && s.interval == 2000 && s.good == 0 && s.skipped == 0);

	/* an overflow: skip, halve, start counting again */
	CHECK(dl_loss_scaler_update(&s, 1) == 0);
	CHECK(s.scale == 32768 && s.skipped == 1 && s.good == 0);
	/* 1999 clean steps: no change; the 2000th doubles */
	for (int i = 0; i < 1999; i++)
		CHECK(dl_loss_scaler_update(&s, 0) == 1);
	CHECK(s.scale == 32768 && s.good == 1999);
	CHECK(dl_loss_scaler_update(&s, 0) == 1);
	CHECK(s.scale == 65536 && s.good == 0);
	/* an overflow one step short of the interval resets the count */
	for (int i = 0; i < 1999; i++)
		dl_loss_scaler_update(&s, 0);
	CHECK(dl_loss_scaler_update(&s, 1) == 0);
	CHECK(s.scale == 32768 && s.good == 0 && s.skipped == 2);
	for (int i = 0; i < 1999; i++)
		dl_loss_scaler_update(&s, 0);
	CHECK(s.scale == 32768);

	/* growth stops at DL_LOSS_SCALE_MAX */
	dl_loss_scaler_init(&s, DL_LOSS_SCALE_MAX / 2, 3);
	for (int i = 0; i < 30; i++)
		CHECK(dl_loss_scaler_update(&s, 0) == 1);
	CHECK(s.scale == DL_LOSS_SCALE_MAX);

	/* overflow after overflow: down to 1, then give up (fp16 cannot hold
	 * those gradients); 17 halvings from 65536 */
	dl_loss_scaler_init(&s, 65536, 2000);
	for (int i = 0; i < 16; i++)
		CHECK(dl_loss_scaler_update(&s, 1) == 0);
	CHECK(s.scale == 1);
	CHECK((rc = dl_loss_scaler_update(&s, 1)) == -1);
	CHECK(s.skipped == 17);
	/* a start between powers of two never goes below 1 */
	dl_loss_scaler_init(&s, 3, 2000);
	CHECK(dl_loss_scaler_update(&s, 1) == 0 && s.scale == 1.5);
	CHECK(dl_loss_scaler_update(&s, 1) == 0 && s.scale == 1);
	CHECK(dl_loss_scaler_update(&s, 1) == -1);
}

static void
test_names(void)
{
	struct dl_backend_ctx *ctx;

	CHECK(dl_precision_parse("fp32") == DL_PREC_FP32);
	CHECK(dl_precision_parse("bf16") == DL_PREC_BF16);
	CHECK(dl_precision_parse("fp16") == DL_PREC_FP16);
	CHECK(dl_precision_parse("fp8") == -1 && dl_precision_parse(NULL) == -1);
	CHECK(!strcmp(dl_precision_name(DL_PREC_FP16), "fp16"));
	CHECK(!strcmp(dl_precision_name(7), "?"));

	CHECK(dl_backend_cpu.set_precision != NULL);	/* bf16 emulated: tests/bf16-cpu.c */
	CHECK(dl_backend_cpu.init(&ctx, 0, 1) == 0);
	CHECK(dl_backend_set_precision(&dl_backend_cpu, ctx, DL_PREC_FP32) == 0);
	CHECK(dl_backend_set_precision(&dl_backend_cpu, ctx, DL_PREC_BF16) == 0);
	CHECK(dl_backend_set_precision(&dl_backend_cpu, ctx, DL_PREC_FP16) == -DL_EUSAGE);
	CHECK(strstr(dl_errmsg(), "the cpu device has no fp16") != NULL);
	CHECK(dl_backend_set_precision(&dl_backend_cpu, ctx, 9) == -DL_EUSAGE);
	dl_backend_cpu.fini(ctx);
}

/* Gradients of one batch through a small net with loss scale s. */
static float *
grads(float s, const float *x, const int32_t *y, int n, long *total)
{
	struct dl_net_opts o = { .device = "cpu", .threads = 1, .seed = 3 };
	uint64_t shape[3] = { 6, 6, 2 }, ys[1] = { (uint64_t)n };
	uint64_t xs[4] = { (uint64_t)n, 6, 6, 2 };
	struct dl_tensor xt = { 0 }, yt = { 0 };
	struct dl_net *net = dl_net_new("4C3-BN-MP2-FC5", 3, shape, &o);
	struct dl_param_info pi;
	float *g;
	long off = 0;

	if (!net)
		return fprintf(stderr, "dl_net_new: %s\n", dl_errmsg()), exit(1), NULL;
	t_net_unzero(net, &(unsigned long long){ 3 });
	xt.dtype = DL_F32, xt.ndim = 4, memcpy(xt.shape, xs, sizeof xs), xt.data = (void *)x;
	xt.nbytes = (size_t)n * 72 * sizeof *x;
	yt.dtype = DL_I32, yt.ndim = 1, memcpy(yt.shape, ys, sizeof ys), yt.data = (void *)y;
	yt.nbytes = (size_t)n * sizeof *y;
	*total = dl_net_param_count(net);
	g = calloc(*total, sizeof *g);
	CHECK(dl_net_set_loss_scale(net, s) == 0);
	CHECK(dl_net_forward(net, &xt, 1) == n);
	CHECK(dl_net_loss(net, &yt, 1, NULL) == 0);
	CHECK(dl_net_backward(net, DL_BACK_PARAMS) == 0);
	for (int i = 0; i < dl_net_params(net); i++) {
		CHECK(dl_net_param_info(net, i, &pi) == 0);
		if (!pi.trainable)
			continue;
		CHECK(dl_net_grad_get(net, i, g + off) == 0);
		off += pi.n;
	}
	CHECK(off == *total);
	/* a scale must be positive and finite */
	CHECK(dl_net_set_loss_scale(net, 0) == -DL_EUSAGE);
	CHECK(dl_net_set_loss_scale(net, NAN) == -DL_EUSAGE);
	CHECK(dl_net_set_loss_scale(net, INFINITY) == -DL_EUSAGE);
	dl_net_free(net);
	return g;
}

static void
test_net_scale(void)
{
	enum { N = 5 };
	static float x[N * 72] __attribute__((aligned(64)));
	static int32_t y[N] __attribute__((aligned(64)));
	unsigned long long seed = 7;
	long n1, n2, bad = 0, nonzero = 0;

	for (int i = 0; i < N * 72; i++)
		x[i] = (float)t_rand(&seed);
	for (int i = 0; i < N; i++)
		y[i] = i % 5;
	float *g1 = grads(1, x, y, N, &n1), *g2 = grads(1024, x, y, N, &n2);

	/* a power of two scales every gradient exactly */
	CHECK(n1 == n2);
	for (long i = 0; i < n1; i++) {
		bad += g2[i] != 1024 * g1[i];
		nonzero += g1[i] != 0;
	}
	CHECK(bad == 0);
	CHECK(nonzero > n1 / 2);
	free(g1);
	free(g2);

	/* fp16 needs a backend that has it */
	{
		struct dl_net_opts o = { .device = "cpu", .precision = DL_PREC_FP16 };
		uint64_t shape[1] = { 4 };

		CHECK(dl_net_new("FC2", 1, shape, &o) == NULL);
		CHECK(strstr(dl_errmsg(), "the cpu device has no fp16"));
	}
}

/* Every trainable parameter of net into w (BN's running statistics move
 * in every training forward, stepped or not). */
static void
params_get(struct dl_net *net, float *w)
{
	struct dl_param_info pi;
	long off = 0;

	for (int i = 0; i < dl_net_params(net); i++) {
		CHECK(dl_net_param_info(net, i, &pi) == 0);
		if (!pi.trainable)
			continue;
		CHECK(dl_net_param_get(net, i, w + off) == 0);
		off += pi.n;
	}
}

/* One Adam step of a small net on (x, y) with loss scaling from scale
 * (0: off); the parameters before and after it into w0, w. */
static void
opt_step(double scale, const float *x, const int32_t *y, int n, float *w0, float *w,
    long *steps)
{
	struct dl_net_opts o = { .device = "cpu", .threads = 1, .seed = 3 };
	uint64_t shape[3] = { 6, 6, 2 };
	struct dl_net *net = dl_net_new("4C3-BN-MP2-FC5", 3, shape, &o);
	struct dl_opt *opt = dl_opt_new(net, &(struct dl_opt_conf){ .kind = DL_OPT_ADAM });

	CHECK(net && opt);
	t_net_unzero(net, &(unsigned long long){ 3 });
	params_get(net, w0);
	if (scale > 0)
		CHECK(dl_opt_loss_scaling(opt, scale) == 0 && dl_opt_scaler(opt)->scale == scale);
	else
		CHECK(dl_opt_scaler(opt) == NULL);
	CHECK(dl_net_forward_f32(net, x, n, 1) == n);
	CHECK(dl_net_loss(net, &(struct dl_tensor){ .dtype = DL_I32, .ndim = 1, .shape = { n },
	    .data = (void *)y, .nbytes = n * sizeof *y }, 1, NULL) == 0);
	CHECK(dl_net_backward(net, DL_BACK_PARAMS) == 0);
	CHECK(dl_opt_step(opt) == 0);
	*steps = dl_opt_steps(opt);
	params_get(net, w);
	if (scale > 1e30)
		CHECK(dl_opt_scaler(opt)->scale == scale / 2 && dl_opt_scaler(opt)->skipped == 1);
	dl_opt_free(opt);
	dl_net_free(net);
}

/* Loss scaling in the optimizer: a power-of-two scale takes exactly the
 * unscaled step; an overflow skips it (weights untouched, no step counted)
 * and halves the scale. */
static void
test_opt_scaling(void)
{
	enum { N = 5, W = 4096 };
	static float x[N * 72] __attribute__((aligned(64)));
	static int32_t y[N] __attribute__((aligned(64)));
	static float w0[W], w1[W], w2[W], i0[W], i1[W], i2[W];
	unsigned long long seed = 9;
	long s0, s1, s2;

	for (int i = 0; i < N * 72; i++)
		x[i] = (float)t_rand(&seed);
	for (int i = 0; i < N; i++)
		y[i] = i % 5;
	opt_step(0, x, y, N, i0, w0, &s0);
	opt_step(1024, x, y, N, i1, w1, &s1);
	opt_step(1e38, x, y, N, i2, w2, &s2);		/* the scaled gradients overflow */
	CHECK(s0 == 1 && s1 == 1 && s2 == 0);
	CHECK(memcmp(i0, w0, sizeof w0) != 0);		/* a step moved the weights */
	CHECK(memcmp(w0, w1, sizeof w0) == 0);		/* scaled by 1024: the same step */
	CHECK(memcmp(i2, w2, sizeof w0) == 0);		/* skipped: untouched */
}

int
main(void)
{
	test_scaler();
	test_names();
	test_net_scale();
	test_opt_scaling();
	T_DONE();
}
