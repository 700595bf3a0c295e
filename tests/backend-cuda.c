/*
 * tests/backend-cuda.c - every entry of the CUDA backend against the CPU
 * backend on the same random inputs, several shapes, odd sizes included:
 * fp32 results agree within 1e-4 of the reference's largest magnitude
 * (dropout masks and copies exactly).  Runs under `make test-cuda`; exits
 * 77 when libdlpipe-cuda.so does not load or no device opens (set
 * DL_REQUIRE_CUDA=1 to make that a failure).  With DL_CUDA_TF32=1 the
 * convolution and gemm tolerance is 1e-2 (TF32 keeps 10 mantissa bits).
 * Then mixed precision: gemm and convolutions again in bf16 and in fp16
 * against the same fp32 CPU results within 1e-2, and a check that the
 * operands really are rounded (1 + 2^-12 becomes 1 in gemm, a 1x1
 * convolution and all three directions of a 3x3 one; 70000 becomes 70144
 * in bf16 and infinite in fp16 in gemm).  The comparison (tests/cmp.h) fails on a NaN
 * or infinity anywhere; the smaller-batch convolution is checked on
 * poisoned output, its last sample left alone.
 */
#include <stdint.h>
#include <string.h>

#include "dlpipe.h"
#include "t.h"
#include "cmp.h"

static const struct dl_backend *be[2];		/* [0] cuda, [1] cpu (the reference) */
static struct dl_backend_ctx *cx[2];
static unsigned long long seed = 12345;
static double tol = 1e-4, tol_mm = 1e-4;	/* tol_mm: gemm and convolution */
static double worst;				/* largest relative error seen */

/* A tensor on both backends: host copy h, device copies d[0], d[1]. */
struct t {
	size_t n;
	float *h;
	void *d[2];
};

static struct t
mk(size_t n, double lo, double hi)
{
	struct t t = { n, malloc((n ? n : 1) * sizeof(float)), { NULL, NULL } };

	for (size_t i = 0; i < n; i++)
		t.h[i] = (float)(lo + (hi - lo) * (t_rand(&seed) + 1) / 2);
	for (int b = 0; b < 2; b++) {
		t.d[b] = be[b]->alloc(cx[b], n * sizeof(float));
		if (!t.d[b] || be[b]->put(cx[b], t.d[b], t.h, n * sizeof(float)) < 0) {
			fprintf(stderr, "%s: alloc/put %zu floats: %s\n", be[b]->name, n, dl_errmsg());
			exit(1);
		}
	}
	return t;
}

static void
rm(struct t *t)
{
	for (int b = 0; b < 2; b++)
		be[b]->free(cx[b], t->d[b]);
	free(t->h);
}

static float *
fetch(int b, const struct t *t)
{
	float *h = malloc((t->n ? t->n : 1) * sizeof *h);

	if (be[b]->get(cx[b], h, t->d[b], t->n * sizeof *h) < 0) {
		fprintf(stderr, "%s: get: %s\n", be[b]->name, dl_errmsg());
		exit(1);
	}
	return h;
}

/* The first n elements of cuda's t against cpu's: max |a - b| <= tol
 * max(|b|, 1e-30), a NaN or infinity on one side failing (tests/cmp.h). */
static void
cmp_n(const char *what, const struct t *t, size_t n, double tl)
{
	float *a = fetch(0, t), *b = fetch(1, t);
	struct t_cmp c = t_compare(a, b, n);

	if (c.rel > worst)
		worst = c.rel;
	if (!(c.rel <= tl)) {
		fprintf(stderr, "FAIL %s: [%zu] cuda %.9g cpu %.9g: max diff %.3g = %.3g of max |cpu| %.3g "
		    "(tolerance %g)\n", what, c.at, a[c.at], b[c.at], c.md, c.rel, c.mb, tl);
		t_failed++;
	} else if (getenv("DL_TEST_VERBOSE"))
		fprintf(stderr, "ok   %s: %.3g\n", what, c.rel);
	free(a);
	free(b);
}

static void
cmp(const char *what, const struct t *t, double tl)
{
	cmp_n(what, t, t->n, tl);
}

static void
same(const char *what, const struct t *t)
{
	float *a = fetch(0, t), *b = fetch(1, t);

	if (memcmp(a, b, t->n * sizeof *a)) {
		fprintf(stderr, "FAIL %s: cuda and cpu differ bitwise\n", what);
		t_failed++;
	}
	free(a);
	free(b);
}

/* Run stmt on both backends (B: the backend index, E: its table, C: its
 * context, D(t): t's pointer there) and check it returns 0. */
#define BOTH(what, call) do { for (int B = 0; B < 2; B++) { \
	const struct dl_backend *E = be[B]; struct dl_backend_ctx *C = cx[B]; (void)E; (void)C; \
	int rc_ = (call); if (rc_ != 0) { fprintf(stderr, "FAIL %s on %s: rc %d: %s\n", what, \
	be[B]->name, rc_, dl_errmsg()); t_failed++; } } } while (0)
#define D(t) ((float *)(t).d[B])

static void
test_gemm(void)
{
	static const int shape[][3] = { { 1, 1, 1 }, { 7, 5, 3 }, { 33, 17, 65 }, { 128, 10, 784 },
	    { 20, 500, 3 } };
	char name[96];

	for (size_t s = 0; s < sizeof shape / sizeof shape[0]; s++)
		for (int tr = 0; tr < 4; tr++) {
			int m = shape[s][0], n = shape[s][1], k = shape[s][2], ta = tr & 1, tb = tr >> 1;
			struct t a = mk((size_t)m * k, -1, 1), b = mk((size_t)k * n, -1, 1);
			struct t c = mk((size_t)m * n, -1, 1);
			float beta = tr == 3 ? 0.5f : tr == 1 ? 1.0f : 0.0f;

			snprintf(name, sizeof name, "gemm %dx%dx%d ta %d tb %d beta %g", m, n, k, ta, tb,
			    (double)beta);
			BOTH(name, E->gemm(C, ta, tb, m, n, k, 0.75f, D(a), D(b), beta, D(c)));
			cmp(name, &c, tol_mm);
			rm(&a), rm(&b), rm(&c);
		}
}

static void
test_conv(void)
{
	/* n h w c k r s sh sw ph pw */
	static const int sh[][11] = {
		{ 3, 7, 5, 3, 5, 3, 3, 1, 1, 1, 1 },
		{ 2, 28, 28, 1, 20, 5, 5, 1, 1, 0, 0 },
		{ 5, 9, 11, 6, 7, 3, 3, 2, 2, 1, 1 },
		{ 4, 6, 6, 16, 8, 1, 1, 1, 1, 0, 0 },
		{ 1, 13, 13, 17, 3, 5, 5, 3, 3, 2, 2 },
		{ 2, 8, 12, 4, 6, 3, 5, 2, 1, 1, 2 },
		{ 8, 14, 14, 32, 64, 3, 3, 1, 1, 1, 1 },
		/* the convolutions that transposed ones (NTk[p][sS]) run backwards:
		 * 3T3s2p on 3x3 (an output row no window starts in), 4T4s2p on 4x4 */
		{ 2, 6, 6, 4, 3, 3, 3, 2, 2, 1, 1 },
		{ 3, 8, 8, 5, 2, 4, 4, 2, 2, 1, 1 },
	};
	char name[128];

	for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++) {
		const int *v = sh[i];
		struct dl_conv cv = { v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9],
		    v[10], 0, 0, NULL };

		cv.p = (cv.h + 2 * cv.pad_h - cv.r) / cv.stride_h + 1;
		cv.q = (cv.w + 2 * cv.pad_w - cv.s) / cv.stride_w + 1;
		size_t nx = (size_t)cv.n * cv.h * cv.w * cv.c, nw = (size_t)cv.k * cv.r * cv.s * cv.c;
		size_t ny = (size_t)cv.n * cv.p * cv.q * cv.k;
		struct t x = mk(nx, -1, 1), w = mk(nw, -1, 1), y = mk(ny, 0, 0);
		struct t dy = mk(ny, -1, 1), dx = mk(nx, 0, 0), dw = mk(nw, 0, 0);
		int len = snprintf(name, sizeof name, "conv %dx%dx%dx%d * %dx%dx%d s%d,%d p%d,%d",
		    cv.n, cv.h, cv.w, cv.c, cv.k, cv.r, cv.s, cv.stride_h, cv.stride_w, cv.pad_h,
		    cv.pad_w);

		BOTH(name, E->conv2d_plan ? E->conv2d_plan(C, &cv) : 0);
		snprintf(name + len, sizeof name - len, " fwd");
		BOTH(name, E->conv2d_fwd(C, &cv, D(x), D(w), D(y)));
		cmp(name, &y, tol_mm);
		snprintf(name + len, sizeof name - len, " bwd data");
		BOTH(name, E->conv2d_bwd_data(C, &cv, D(dy), D(w), D(dx)));
		cmp(name, &dx, tol_mm);
		snprintf(name + len, sizeof name - len, " bwd filter");
		BOTH(name, E->conv2d_bwd_filter(C, &cv, D(x), D(dy), D(dw)));
		cmp(name, &dw, tol_mm);
		/* a smaller batch on the same layer re-plans: y poisoned first (the
		 * full batch's results would agree), its first n-1 samples
		 * compared, the last one left alone */
		if (cv.n > 1) {
			size_t per = (size_t)cv.p * cv.q * cv.k, bad = 0;

			cv.n--;
			snprintf(name + len, sizeof name - len, " fwd n-1");
			BOTH(name, E->fill(C, (long)ny, NAN, D(y)));
			BOTH(name, E->conv2d_fwd(C, &cv, D(x), D(w), D(y)));
			cmp_n(name, &y, per * cv.n, tol_mm);
			float *a = fetch(0, &y);
			for (size_t j = per * cv.n; j < ny; j++)
				bad += !isnan(a[j]);
			if (bad)
				fprintf(stderr, "FAIL %s: wrote %zu elements past its %d samples\n", name, bad,
				    cv.n), t_failed++;
			free(a);
		}
		for (int B = 0; B < 2; B++)
			if (be[B]->conv2d_unplan)
				be[B]->conv2d_unplan(cx[B], &cv);
		rm(&x), rm(&w), rm(&y), rm(&dy), rm(&dx), rm(&dw);
	}
}

static void
test_pool(void)
{
	/* n h w c r s sh sw ph pw */
	static const int sh[][10] = {
		{ 2, 28, 28, 20, 2, 2, 2, 2, 0, 0 },
		{ 3, 7, 9, 5, 3, 3, 2, 2, 1, 1 },
		{ 1, 5, 5, 3, 3, 3, 1, 1, 1, 1 },
		{ 4, 11, 6, 7, 2, 3, 2, 3, 0, 1 },
		{ 2, 6, 6, 64, 6, 6, 1, 1, 0, 0 },
	};
	char name[128];

	for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++)
		for (int mode = DL_POOL_MAX; mode <= DL_POOL_AVG; mode++) {
			const int *v = sh[i];
			struct dl_pool pl = { v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9],
			    0, 0, mode, NULL };

			pl.p = (pl.h + 2 * pl.pad_h - pl.r) / pl.stride_h + 1;
			pl.q = (pl.w + 2 * pl.pad_w - pl.s) / pl.stride_w + 1;
			size_t nx = (size_t)pl.n * pl.h * pl.w * pl.c, ny = (size_t)pl.n * pl.p * pl.q * pl.c;
			struct t x = mk(nx, -1, 1), y = mk(ny, 0, 0), dy = mk(ny, -1, 1), dx = mk(nx, 0, 0);
			int len = snprintf(name, sizeof name, "%s pool %dx%dx%dx%d %dx%d s%d,%d p%d,%d",
			    mode ? "avg" : "max", pl.n, pl.h, pl.w, pl.c, pl.r, pl.s, pl.stride_h,
			    pl.stride_w, pl.pad_h, pl.pad_w);

			snprintf(name + len, sizeof name - len, " fwd");
			BOTH(name, E->pool_fwd(C, &pl, D(x), D(y)));
			cmp(name, &y, tol);
			snprintf(name + len, sizeof name - len, " bwd");
			/* each backend's own y: the same within rounding (max: exactly) */
			BOTH(name, E->pool_bwd(C, &pl, D(x), D(y), D(dy), D(dx)));
			cmp(name, &dx, tol);
			rm(&x), rm(&y), rm(&dy), rm(&dx);
		}
}

/* nearest-neighbour upsampling: a copy forward, block sums backward in
 * the same order on both, so the bits agree */
static void
test_upsample(void)
{
	/* n h w c f */
	static const int sh[][5] = { { 2, 3, 4, 5, 2 }, { 1, 7, 7, 64, 3 }, { 3, 1, 2, 1, 4 } };
	char name[96];

	for (size_t i = 0; i < sizeof sh / sizeof sh[0]; i++) {
		const int *v = sh[i];
		size_t nx = (size_t)v[0] * v[1] * v[2] * v[3], ny = nx * v[4] * v[4];
		struct t x = mk(nx, -1, 1), y = mk(ny, 0, 0), dy = mk(ny, -1, 1), dx = mk(nx, 0, 0);

		snprintf(name, sizeof name, "upsample %dx%dx%dx%d by %d fwd", v[0], v[1], v[2], v[3],
		    v[4]);
		BOTH(name, E->upsample_fwd(C, v[0], v[1], v[2], v[3], v[4], D(x), D(y)));
		same(name, &y);
		snprintf(name, sizeof name, "upsample %dx%dx%dx%d by %d bwd", v[0], v[1], v[2], v[3],
		    v[4]);
		BOTH(name, E->upsample_bwd(C, v[0], v[1], v[2], v[3], v[4], D(dy), D(dx)));
		same(name, &dx);
		rm(&x), rm(&y), rm(&dy), rm(&dx);
	}
}

static void
test_act(void)
{
	static const char *nm[] = { "none", "relu", "lrelu", "tanh", "sigmoid" };
	static const long ns[] = { 1, 1001, 65537 };
	char name[96];

	for (int act = DL_ACT_NONE; act <= DL_ACT_SIGMOID; act++)
		for (size_t s = 0; s < 3; s++) {
			long n = ns[s];
			struct t x = mk(n, -3, 3), y = mk(n, 0, 0), dy = mk(n, -1, 1), dx = mk(n, 0, 0);

			snprintf(name, sizeof name, "act %s n %ld fwd", nm[act], n);
			BOTH(name, E->act_fwd(C, act, 0.1f, n, D(x), D(y)));
			cmp(name, &y, tol);
			snprintf(name, sizeof name, "act %s n %ld bwd", nm[act], n);
			BOTH(name, E->act_bwd(C, act, 0.1f, n, D(y), D(dy), D(dx)));
			cmp(name, &dx, tol);
			/* in place: y = f(y), then dy = f'(y) dy */
			snprintf(name, sizeof name, "act %s n %ld in place", nm[act], n);
			BOTH(name, E->act_fwd(C, act, 0.1f, n, D(x), D(x)));
			BOTH(name, E->act_bwd(C, act, 0.1f, n, D(x), D(dy), D(dy)));
			cmp(name, &x, tol);
			cmp(name, &dy, tol);
			rm(&x), rm(&y), rm(&dy), rm(&dx);
		}
}

static void
test_bn(void)
{
	static const int sh[][2] = { { 37, 5 }, { 1, 3 }, { 2, 1 }, { 2000, 64 }, { 6 * 49, 17 } };
	char name[96];

	for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++)
		for (int inplace = 0; inplace < 2; inplace++) {
			long rows = sh[s][0];
			int c = sh[s][1];
			size_t n = (size_t)rows * c;
			struct t x = mk(n, -2, 3), g = mk(c, 0.5, 1.5), b = mk(c, -1, 1);
			struct t rmn = mk(c, -0.1, 0.1), rv = mk(c, 0.9, 1.1), sm = mk(c, 0, 0);
			struct t si = mk(c, 0, 0), y = mk(n, 0, 0), dy = mk(n, -1, 1), dx = mk(n, 0, 0);
			struct t dg = mk(c, 0, 0), db = mk(c, 0, 0), x0 = mk(n, 0, 0);
			struct t *out = inplace ? &x : &y;
			int len = snprintf(name, sizeof name, "bn %ldx%d%s", rows, c,
			    inplace ? " in place" : "");

			BOTH(name, E->copy(C, D(x0), D(x), n * sizeof(float)));
			snprintf(name + len, sizeof name - len, " train");
			BOTH(name, E->bn_fwd_train(C, rows, c, D(x), D(g), D(b), 1e-5f, 0.1f, D(rmn), D(rv),
			    D(sm), D(si), D(*out)));
			cmp(name, out, tol);
			cmp(name, &sm, tol);
			cmp(name, &si, tol);
			cmp(name, &rmn, tol);
			cmp(name, &rv, tol);
			snprintf(name + len, sizeof name - len, " bwd");
			struct t *gin = inplace ? &dy : &dx;
			BOTH(name, E->bn_bwd(C, rows, c, D(x0), D(dy), D(g), D(sm), D(si), D(*gin), D(dg),
			    D(db)));
			cmp(name, gin, tol);
			cmp(name, &dg, tol);
			cmp(name, &db, tol);
			snprintf(name + len, sizeof name - len, " infer");
			BOTH(name, E->copy(C, D(x), D(x0), n * sizeof(float)));
			BOTH(name, E->bn_fwd_infer(C, rows, c, D(x), D(g), D(b), D(rmn), D(rv), 1e-3f,
			    D(*out)));
			cmp(name, out, tol);
			rm(&x), rm(&g), rm(&b), rm(&rmn), rm(&rv), rm(&sm), rm(&si), rm(&y), rm(&dy);
			rm(&dx), rm(&dg), rm(&db), rm(&x0);
		}
}

static void
test_dropout(void)
{
	static const float ps[] = { 0.0f, 0.3f, 0.5f, 1.0f };

	for (int i = 0; i < 4; i++) {
		long n = 10007;
		struct t x = mk(n, -1, 1), m = mk(n, 0, 0), y = mk(n, 0, 0), dy = mk(n, -1, 1);
		struct t dx = mk(n, 0, 0);

		BOTH("dropout fwd", E->dropout_fwd(C, n, ps[i], 0x1234567890abcdefULL + i, 1000 * i,
		    D(x), D(m), D(y)));
		same("dropout mask", &m);
		cmp("dropout fwd", &y, tol);
		BOTH("dropout bwd", E->dropout_bwd(C, n, D(m), D(dy), D(dx)));
		cmp("dropout bwd", &dx, tol);
		BOTH("dropout in place", E->dropout_fwd(C, n, ps[i], 7, 0, D(x), D(m), D(x)));
		BOTH("dropout in place", E->dropout_bwd(C, n, D(m), D(dy), D(dy)));
		same("dropout in place mask", &m);
		cmp("dropout in place", &x, tol);
		cmp("dropout in place bwd", &dy, tol);
		rm(&x), rm(&m), rm(&y), rm(&dy), rm(&dx);
	}
}

static void
test_loss(void)
{
	static const char *nm[] = { "nll", "bce", "mse", "huber" };
	static const int sh[][2] = { { 1, 1 }, { 7, 10 }, { 33, 3 }, { 5, 1000 }, { 300, 37 } };
	char name[96];

	for (int kind = DL_LOSS_NLL; kind <= DL_LOSS_HUBER; kind++)
		for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++)
			for (int tf = 0; tf < 2; tf++) {
				long n = sh[s][0];
				int k = sh[s][1];
				struct t z = mk((size_t)n * k, -4, 4), lv = mk(n, 0, 0), dz = mk((size_t)n * k, 0, 0);
				struct t tg = mk((size_t)n * k, 0, 1);
				void *cls[2];
				int32_t *hc = malloc(n * sizeof *hc);

				if (kind == DL_LOSS_NLL && tf)
					goto next;
				for (long i = 0; i < n; i++)
					hc[i] = (int32_t)((t_rand(&seed) + 1) / 2 * k) % k;
				for (int B = 0; B < 2; B++) {
					cls[B] = be[B]->alloc(cx[B], n * sizeof *hc);
					be[B]->put(cx[B], cls[B], hc, n * sizeof *hc);
				}
				snprintf(name, sizeof name, "loss %s %ldx%d %s", nm[kind], n, k,
				    tf ? "f32 targets" : "classes");
				BOTH(name, E->loss(C, kind, 0.7f, n, k, D(z), tf ? D(tg) : cls[B], tf, 0.25f,
				    D(lv), D(dz)));
				cmp(name, &lv, tol);
				cmp(name, &dz, tol);
				BOTH(name, E->loss(C, kind, 0.7f, n, k, D(z), tf ? D(tg) : cls[B], tf, 1.0f,
				    D(lv), NULL));
				cmp(name, &lv, tol);
				for (int B = 0; B < 2; B++)
					be[B]->free(cx[B], cls[B]);
next:
				free(hc);
				rm(&z), rm(&lv), rm(&dz), rm(&tg);
			}

	/* a class outside [0,k): -DL_EUSAGE, from loss() or at the next sync */
	{
		int32_t bad[3] = { 0, 12, 1 };
		struct t z = mk(30, -1, 1), lv = mk(3, 0, 0);
		void *d = be[0]->alloc(cx[0], sizeof bad);
		int rc;

		be[0]->put(cx[0], d, bad, sizeof bad);
		rc = be[0]->loss(cx[0], DL_LOSS_NLL, 1, 3, 10, z.d[0], d, 0, 1, lv.d[0], NULL);
		if (rc == 0)
			rc = be[0]->sync(cx[0]);
		CHECK(rc == -DL_EUSAGE);
		CHECK(strstr(dl_errmsg(), "target 12 outside [0,10)") != NULL);
		CHECK(be[0]->sync(cx[0]) == 0);		/* reported once */
		be[0]->free(cx[0], d);
		rm(&z), rm(&lv);
	}
}

static void
test_softmax(void)
{
	static const int sh[][2] = { { 1, 1 }, { 7, 10 }, { 3, 1000 }, { 129, 5 } };
	char name[64];

	for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++) {
		long n = sh[s][0];
		int k = sh[s][1];
		struct t z = mk((size_t)n * k, -10, 10), p = mk((size_t)n * k, 0, 0);

		snprintf(name, sizeof name, "softmax %ldx%d", n, k);
		BOTH(name, E->softmax(C, n, k, D(z), D(p)));
		cmp(name, &p, tol);
		BOTH(name, E->softmax(C, n, k, D(z), D(z)));
		cmp(name, &z, tol);
		rm(&z), rm(&p);
	}
}

static void
test_opt(void)
{
	long n = 4099;
	char name[64];

	for (int v = 0; v < 3; v++) {
		struct t w = mk(n, -1, 1), g = mk(n, -1, 1), m = mk(n, 0, 0);
		float mom = v ? 0.9f : 0;

		snprintf(name, sizeof name, "sgd momentum %g nesterov %d", (double)mom, v == 2);
		for (int step = 0; step < 3; step++)
			BOTH(name, E->sgd_step(C, n, D(w), D(g), v ? D(m) : NULL, 0.1f, mom, 1e-3f, v == 2));
		cmp(name, &w, tol);
		if (v)
			cmp(name, &m, tol);
		rm(&w), rm(&g), rm(&m);
	}
	{
		struct t w = mk(n, -1, 1), g = mk(n, -1, 1), m = mk(n, 0, 0), v = mk(n, 0, 0);

		for (long t = 1; t <= 5; t++)
			BOTH("adam", E->adam_step(C, n, D(w), D(g), D(m), D(v), 1e-2f, 0.9f, 0.999f, 1e-8f,
			    1e-4f, t));
		cmp("adam w", &w, tol);
		cmp("adam m", &m, tol);
		cmp("adam v", &v, tol);
		rm(&w), rm(&g), rm(&m), rm(&v);
	}
}

static void
test_elem(void)
{
	static const long ns[] = { 1, 777, 100003 };

	for (int s = 0; s < 3; s++) {
		long n = ns[s];
		struct t x = mk(n, -1, 1), y = mk(n, -1, 1), o = mk(1, 0, 0), u = mk(n, 0, 0);
		uint8_t *h8 = malloc(n);
		void *d8[2];

		BOTH("scale", E->scale(C, n, -0.37f, D(x)));
		cmp("scale", &x, tol);
		BOTH("axpy", E->axpy(C, n, 1.5f, D(x), D(y)));
		cmp("axpy", &y, tol);
		BOTH("sumsq", E->sumsq(C, n, D(y), D(o)));
		cmp("sumsq", &o, 1e-6);
		BOTH("fill", E->fill(C, n, 2.5f, D(x)));
		same("fill", &x);
		for (long i = 0; i < n; i++)
			h8[i] = (uint8_t)(i * 37 + 11);
		for (int B = 0; B < 2; B++) {
			d8[B] = be[B]->alloc(cx[B], n);
			be[B]->put(cx[B], d8[B], h8, n);
		}
		BOTH("u8_to_f32", E->u8_to_f32(C, n, (const uint8_t *)d8[B], 1.0f / 255, -0.5f, D(u)));
		cmp("u8_to_f32", &u, tol);
		for (int B = 0; B < 2; B++)
			be[B]->free(cx[B], d8[B]);
		free(h8);
		rm(&x), rm(&y), rm(&o), rm(&u);
	}
	/* bias over rows x c */
	static const int sh[][2] = { { 1, 1 }, { 37, 5 }, { 6 * 28 * 28, 20 }, { 128, 10 } };
	for (int s = 0; s < 4; s++) {
		long rows = sh[s][0];
		int c = sh[s][1];
		struct t y = mk((size_t)rows * c, -1, 1), b = mk(c, -1, 1), db = mk(c, 0, 0);

		BOTH("bias_add", E->bias_add(C, rows, c, D(b), D(y)));
		cmp("bias_add", &y, tol);
		BOTH("bias_bwd", E->bias_bwd(C, rows, c, D(y), D(db)));
		cmp("bias_bwd", &db, tol);
		rm(&y), rm(&b), rm(&db);
	}
}

/* The operands of gemm and a 1x1 convolution are rounded to prec:
 * 1 + 2^-12 is 1 in bf16 and fp16, 70000 is 70144 in bf16 and beyond
 * fp16's 65504.  Results are widened back to fp32 exactly. */
static void
test_rounding(int prec)
{
	const struct dl_backend *E = be[0];
	struct dl_backend_ctx *C = cx[0];
	float a[2] = { 1 + 1.0f / 4096, 70000 }, one = 1, c[2] = { -1, -1 };
	float x[8] = { 1 + 1.0f / 4096, 0, 0, 0, 0, 0, 0, 0 }, w[64] = { 0 }, y[8];
	float *da = E->alloc(C, sizeof a), *db = E->alloc(C, sizeof one), *dc = E->alloc(C, sizeof c);
	float *dx = E->alloc(C, sizeof x), *dw = E->alloc(C, sizeof w), *dy = E->alloc(C, sizeof y);
	struct dl_conv cv = { 1, 1, 1, 8, 8, 1, 1, 1, 1, 0, 0, 1, 1, NULL };
	const char *nm = prec == DL_PREC_BF16 ? "bf16" : "fp16";

	for (int i = 0; i < 8; i++)
		w[i * 8 + i] = 1;	/* w[k][0][0][c] = (k == c) */
	CHECK(da && db && dc && dx && dw && dy);
	CHECK(E->put(C, da, a, sizeof a) == 0 && E->put(C, db, &one, sizeof one) == 0);
	CHECK(E->gemm(C, 0, 0, 2, 1, 1, 1.0f, da, db, 0.0f, dc) == 0);
	CHECK(E->get(C, c, dc, sizeof c) == 0);
	if (c[0] != 1.0f)
		fprintf(stderr, "FAIL %s gemm: 1 + 2^-12 gave %.9g, not 1: operands not rounded\n", nm,
		    c[0]), t_failed++;
	if (prec == DL_PREC_BF16 ? c[1] != 70144.0f : !isinf(c[1]))
		fprintf(stderr, "FAIL %s gemm: 70000 gave %.9g, not %s\n", nm, c[1],
		    prec == DL_PREC_BF16 ? "70144" : "inf"), t_failed++;
	CHECK(E->put(C, dx, x, sizeof x) == 0 && E->put(C, dw, w, sizeof w) == 0);
	CHECK(E->conv2d_fwd(C, &cv, dx, dw, dy) == 0);
	CHECK(E->get(C, y, dy, sizeof y) == 0);
	if (y[0] != 1.0f || y[1] != 0)
		fprintf(stderr, "FAIL %s conv 1x1x8 -> 8: 1 + 2^-12 gave %.9g, not 1: the convolution "
		    "ran in fp32 (no 16-bit cuDNN algorithm?)\n", nm, y[0]), t_failed++;
	E->free(C, da), E->free(C, db), E->free(C, dc), E->free(C, dx), E->free(C, dw), E->free(C, dy);
}

/* The same in a 3x3 convolution of 8 channels (padding 1), in all three
 * directions: w is the identity at the window's centre, so each result
 * is one product of operands, 1 + 2^-12 (rounded: 1) times 1. */
static void
test_rounding_conv(int prec)
{
	const struct dl_backend *E = be[0];
	struct dl_backend_ctx *C = cx[0];
	enum { H = 5, W = 5, K = 8, N = H * W * K, NW = K * 3 * 3 * K };
	static float x[N], w[NW], y[N], one[N], r[NW];
	struct dl_conv cv = { 1, H, W, K, K, 3, 3, 1, 1, 1, 1, H, W, NULL };
	const char *nm = prec == DL_PREC_BF16 ? "bf16" : "fp16";
	const char *dir[3] = { "fwd", "bwd data", "bwd filter" };
	float *dx = E->alloc(C, sizeof x), *dw = E->alloc(C, sizeof w), *dy = E->alloc(C, sizeof y);
	float *d1 = E->alloc(C, sizeof one), *dr = E->alloc(C, sizeof r);
	size_t centre = ((size_t)2 * W + 2) * K;	/* pixel (2,2), channel 0 */

	memset(x, 0, sizeof x), memset(w, 0, sizeof w), memset(one, 0, sizeof one);
	x[centre] = 1 + 1.0f / 4096;
	one[centre] = 1;
	for (int k = 0; k < K; k++)
		w[((size_t)k * 9 + 4) * K + k] = 1;	/* w[k][1][1][c] = (k == c) */
	CHECK(dx && dw && dy && d1 && dr);
	CHECK(E->put(C, dx, x, sizeof x) == 0 && E->put(C, dw, w, sizeof w) == 0);
	CHECK(E->put(C, d1, one, sizeof one) == 0);
	CHECK(E->conv2d_plan == NULL || E->conv2d_plan(C, &cv) == 0);
	for (int d = 0; d < 3; d++) {
		float got;
		int rc = d == 0 ? E->conv2d_fwd(C, &cv, dx, dw, dy) :	/* y = x * w */
		    d == 1 ? E->conv2d_bwd_data(C, &cv, dx, dw, dy) :	/* dx for dy = x */
		    E->conv2d_bwd_filter(C, &cv, dx, d1, dr);		/* dw = x dy, dy = 1 there */

		CHECK(rc == 0);
		CHECK(E->get(C, r, d == 2 ? dr : dy, d == 2 ? sizeof r : sizeof y) == 0);
		got = d == 2 ? r[4 * K] : r[centre];		/* dw[0][1][1][0]; y or dx at (2,2,0) */
		if (got != 1.0f)
			fprintf(stderr, "FAIL %s conv 3x3x8 %s: 1 + 2^-12 gave %.9g, not 1: it ran in fp32 "
			    "(no 16-bit cuDNN algorithm?)\n", nm, dir[d], got), t_failed++;
	}
	if (E->conv2d_unplan)
		E->conv2d_unplan(C, &cv);
	E->free(C, dx), E->free(C, dw), E->free(C, dy), E->free(C, d1), E->free(C, dr);
}

/* gemm and convolutions in bf16 and fp16 against the fp32 CPU. */
static void
test_lowp(void)
{
	static const int precs[] = { DL_PREC_BF16, DL_PREC_FP16 };
	double keep = tol_mm, worst32 = worst;
	char desc[256] = "";

	if (!be[0]->set_precision) {
		fprintf(stderr, "FAIL the cuda backend has no set_precision\n");
		t_failed++;
		return;
	}
	for (int i = 0; i < 2; i++) {
		const char *nm = precs[i] == DL_PREC_BF16 ? "bf16" : "fp16";

		CHECK(be[0]->set_precision(cx[0], precs[i]) == 0);
		tol_mm = 1e-2;
		worst = 0;
		test_gemm();
		test_conv();
		test_rounding(precs[i]);
		test_rounding_conv(precs[i]);
		CHECK(be[0]->sync(cx[0]) == 0);
		fprintf(stderr, "%s: largest relative difference cuda vs cpu (gemm, conv): %.3g\n",
		    nm, worst);
		if (be[0]->describe && be[0]->describe(cx[0], desc, sizeof desc) >= 0)
			fprintf(stderr, "%s: device %s\n", nm, desc);
	}
	CHECK(be[0]->set_precision(cx[0], 9) == -DL_EUSAGE);
	CHECK(be[0]->set_precision(cx[0], DL_PREC_FP32) == 0);
	tol_mm = keep;
	worst = worst32;
	test_gemm();		/* fp32 again */
}

/* memory: zeroed allocations, alloc(0), put/get/copy round trips across
 * the pinned-buffer chunks, free(NULL). */
static void
test_memory(void)
{
	size_t n = (20u << 20) / sizeof(float) + 13;	/* more than two 8 MiB stages */
	float *h = malloc(n * sizeof *h), *back = malloc(n * sizeof *h);
	float *d = be[0]->alloc(cx[0], n * sizeof *h), *e = be[0]->alloc(cx[0], n * sizeof *h);
	void *z = be[0]->alloc(cx[0], 0);
	size_t bad = 0;

	CHECK(d && e && z);
	CHECK(be[0]->get(cx[0], back, d, n * sizeof *h) == 0);
	for (size_t i = 0; i < n; i++)
		bad += back[i] != 0;
	CHECK(bad == 0);
	for (size_t i = 0; i < n; i++)
		h[i] = (float)i;
	CHECK(be[0]->put(cx[0], d, h, n * sizeof *h) == 0);
	memset(h, 0, n * sizeof *h);		/* put must not read h later */
	CHECK(be[0]->copy(cx[0], e, d, n * sizeof *h) == 0);
	CHECK(be[0]->get(cx[0], back, e, n * sizeof *h) == 0);
	for (size_t i = 0; i < n; i++)
		bad += back[i] != (float)i;
	CHECK(bad == 0);
	CHECK(be[0]->sync(cx[0]) == 0);
	be[0]->free(cx[0], z);
	be[0]->free(cx[0], e);
	be[0]->free(cx[0], d);
	be[0]->free(cx[0], NULL);
	free(h);
	free(back);
}

int
main(void)
{
	const char *req = getenv("DL_REQUIRE_CUDA");
	int must = req && *req && strcmp(req, "0");
	char desc[256] = "cuda";
	int rc;

	if (!(be[0] = dl_backend_find("cuda"))) {
		if (must)
			return fprintf(stderr, "cuda backend required: %s\n", dl_errmsg()), 1;
		T_SKIP(dl_errmsg());
	}
	if ((rc = be[0]->init(&cx[0], dl_backend_device(getenv("DL_DEVICE")), 0)) < 0) {
		/* the library's message travels through the program's dl_seterr */
		if (strncmp(dl_errmsg(), "cuda: ", 6))
			return fprintf(stderr, "init failed without a cuda message: '%s'\n", dl_errmsg()), 1;
		if (must)
			return fprintf(stderr, "cuda device required: %s\n", dl_errmsg()), 1;
		T_SKIP(dl_errmsg());
	}
	be[1] = &dl_backend_cpu;
	if (be[1]->init(&cx[1], 0, 0) < 0)
		return fprintf(stderr, "cpu: %s\n", dl_errmsg()), 1;
	if (be[0]->describe)
		be[0]->describe(cx[0], desc, sizeof desc);
	fprintf(stderr, "device: %s\n", desc);
	if (getenv("DL_CUDA_TF32") && atoi(getenv("DL_CUDA_TF32")))
		tol_mm = 1e-2;

	/* an ordinal past the last device is a usage error naming the range */
	{
		struct dl_backend_ctx *c9;
		CHECK(be[0]->init(&c9, 999, 0) == -DL_EUSAGE);
		CHECK(strstr(dl_errmsg(), "device 999") != NULL);
	}
	/* out of memory names the size and suggests a smaller batch */
	CHECK(be[0]->alloc(cx[0], (size_t)1 << 50) == NULL);
	CHECK(strstr(dl_errmsg(), "smaller batch") != NULL);

	test_memory();
	test_gemm();
	test_conv();
	test_pool();
	test_upsample();
	test_act();
	test_bn();
	test_dropout();
	test_loss();
	test_softmax();
	test_opt();
	test_elem();
	CHECK(be[0]->sync(cx[0]) == 0);
	fprintf(stderr, "largest relative difference cuda vs cpu: %.3g\n", worst);
	test_lowp();
	be[0]->fini(cx[0]);
	be[1]->fini(cx[1]);
	T_DONE();
}
