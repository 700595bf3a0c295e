/*
 * tests/cpu-conv.c - the CPU backend's convolution paths agree: oneDNN
 * (channel counts it blocks well) and the thin-filter kernels (cpu-thin.c)
 * against im2col + sgemm
 * (DL_CPU_CONV=blas), forward, backward data and backward filter, on
 * shapes with strides, padding and batches that leave a short last chunk;
 * and those paths give the same bits on 1 and 3 threads; and one
 * context that meets more shapes than its primitive cache holds still
 * computes each right (evicted ones are made again).
 */
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "backend.h"
#include "t.h"

static const struct dl_conv shapes[] = {
	/* n, h, w, c, k, r, s, sh, sw, ph, pw */
	{ 10, 9, 9, 16, 32, 3, 3, 1, 1, 1, 1, 0, 0, NULL },
	{ 7, 8, 8, 1, 16, 3, 3, 1, 1, 1, 1, 0, 0, NULL },
	{ 5, 7, 7, 32, 16, 3, 3, 2, 2, 1, 1, 0, 0, NULL },
	{ 3, 6, 6, 16, 16, 5, 5, 1, 1, 0, 0, 0, 0, NULL },
	{ 130, 10, 10, 16, 32, 3, 3, 1, 1, 1, 1, 0, 0, NULL },
	{ 4, 6, 6, 20, 50, 3, 3, 1, 1, 0, 0, 0, 0, NULL },	/* im2col both ways */
	/* thin filters (cpu-thin.c, R*S*C <= 32) against sgemm: LeNet's first
	 * layer, a second tile of channels, a masked K, a 1x1, odd rows */
	{ 13, 28, 28, 1, 20, 5, 5, 1, 1, 0, 0, 0, 0, NULL },
	{ 5, 9, 9, 3, 40, 3, 3, 2, 2, 1, 1, 0, 0, NULL },
	{ 3, 7, 5, 2, 5, 2, 3, 1, 1, 0, 1, 0, 0, NULL },
	{ 6, 5, 5, 8, 30, 1, 1, 1, 1, 0, 0, 0, 0, NULL },
	/* the VGG-style net's first layer (oneDNN takes it: 32 channels) */
	{ 9, 28, 28, 1, 32, 3, 3, 1, 1, 1, 1, 0, 0, NULL },
};

enum { FWD, BWD_DATA, BWD_FILTER };

/* out = op on a fresh context of `threads` threads */
static int
conv(int op, int threads, struct dl_conv cv, const float *a, const float *b, float *out)
{
	const struct dl_backend *be = &dl_backend_cpu;
	struct dl_backend_ctx *ctx;
	int rc;

	if (be->init(&ctx, 0, threads) < 0)
		return -1;
	rc = op == FWD ? be->conv2d_fwd(ctx, &cv, a, b, out) :
	    op == BWD_DATA ? be->conv2d_bwd_data(ctx, &cv, a, b, out) :
	    be->conv2d_bwd_filter(ctx, &cv, a, b, out);
	be->fini(ctx);
	return rc;
}

static float *
rnd(size_t n, unsigned long long *rs)
{
	float *p = dl_alloc(n * sizeof *p);

	for (size_t i = 0; i < n; i++)
		p[i] = (float)t_rand(rs);
	return p;
}

/* One context, forward convolutions of 5x5x16 inputs into k = 1..90
 * channels, twice over: more shapes than the oneDNN cache keeps. */
static void
many_shapes(unsigned long long *rs)
{
	const struct dl_backend *be = &dl_backend_cpu;
	struct dl_backend_ctx *ctx;
	struct dl_conv cv = { 4, 5, 5, 16, 0, 3, 3, 1, 1, 1, 1, 5, 5, NULL };
	float *x = rnd(4 * 5 * 5 * 16, rs), *w = rnd(90 * 9 * 16, rs);
	float *y = dl_alloc(4 * 25 * 90 * sizeof *y), *ref = dl_alloc(4 * 25 * 90 * sizeof *ref);

	unsetenv("DL_CPU_CONV");
	CHECK(be->init(&ctx, 0, 1) == 0);
	for (int round = 0; round < 2; round++)
		for (cv.k = 1; cv.k <= 90; cv.k++) {
			CHECK(be->conv2d_fwd(ctx, &cv, x, w, y) == 0);
			setenv("DL_CPU_CONV", "blas", 1);
			CHECK(conv(FWD, 1, cv, x, w, ref) == 0);
			unsetenv("DL_CPU_CONV");
			for (int i = 0; i < 4 * 25 * cv.k; i++)
				if (fabsf(y[i] - ref[i]) > 1e-4f * (1 + fabsf(ref[i]))) {
					fprintf(stderr, "k %d: y[%d] %g, im2col %g\n", cv.k, i, y[i], ref[i]);
					t_failed++;
					break;
				}
		}
	be->fini(ctx);
	dl_free(x);
	dl_free(w);
	dl_free(y);
	dl_free(ref);
}

int
main(void)
{
	unsigned long long rs = 7;

	many_shapes(&rs);

	for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
		struct dl_conv cv = shapes[si];
		size_t nx, ny, nw;

		cv.p = (cv.h + 2 * cv.pad_h - cv.r) / cv.stride_h + 1;
		cv.q = (cv.w + 2 * cv.pad_w - cv.s) / cv.stride_w + 1;
		nx = (size_t)cv.n * cv.h * cv.w * cv.c;
		ny = (size_t)cv.n * cv.p * cv.q * cv.k;
		nw = (size_t)cv.k * cv.r * cv.s * cv.c;
		float *x = rnd(nx, &rs), *w = rnd(nw, &rs), *dy = rnd(ny, &rs);
		size_t nout[3] = { ny, nx, nw };

		for (int op = FWD; op <= BWD_FILTER; op++) {
			const float *a = op == BWD_DATA ? dy : x, *b = op == BWD_FILTER ? dy : w;
			float *d1 = dl_alloc(nout[op] * sizeof(float));
			float *d3 = dl_alloc(nout[op] * sizeof(float));
			float *ref = dl_alloc(nout[op] * sizeof(float));
			double err = 0, mag = 0;

			unsetenv("DL_CPU_CONV");
			CHECK(conv(op, 1, cv, a, b, d1) == 0);
			CHECK(conv(op, 3, cv, a, b, d3) == 0);
			setenv("DL_CPU_CONV", "blas", 1);
			CHECK(conv(op, 2, cv, a, b, ref) == 0);
			CHECK(memcmp(d1, d3, nout[op] * sizeof(float)) == 0);
			for (size_t i = 0; i < nout[op]; i++) {
				double e = fabs((double)d1[i] - ref[i]);
				err = e > err ? e : err;
				mag = fabs(ref[i]) > mag ? fabs(ref[i]) : mag;
			}
			if (!(err <= 1e-5 * mag * sqrt((double)cv.n * cv.r * cv.s * cv.c))) {
				fprintf(stderr, "shape %zu op %d: max |diff| %g, max |ref| %g\n",
				    si, op, err, mag);
				t_failed++;
			}
			dl_free(d1);
			dl_free(d3);
			dl_free(ref);
		}
		dl_free(x);
		dl_free(w);
		dl_free(dy);
	}
	T_DONE();
}
