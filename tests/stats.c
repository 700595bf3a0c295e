/*
 * tests/stats.c - lib/stats.c: blocked one-pass moments against a plain
 * two-pass computation (far-off mean, several blocks, u8 input); ZCA,
 * PCA and standardisation: output covariance, symmetry, inverse, eps,
 * on both the by-hand (d <= 4) and the sgemm path.
 */
#include <string.h>

#include "dlpipe.h"
#include "t.h"

static unsigned long long seed = 7;

/* rows x d correlated data: x = A z + mu, z uniform in [-1, 1). */
static double *
make_data(int rows, int d, double mu)
{
	double *a = malloc(sizeof *a * d * d), *x = malloc(sizeof *x * rows * d), *z = malloc(sizeof *z * d);

	for (int i = 0; i < d * d; i++)
		a[i] = t_rand(&seed) + (i % (d + 1) == 0 ? 2 : 0);
	for (int r = 0; r < rows; r++) {
		for (int k = 0; k < d; k++)
			z[k] = t_rand(&seed);
		for (int i = 0; i < d; i++) {
			double s = mu + i;
			for (int k = 0; k < d; k++)
				s += a[i * d + k] * z[k];
			x[r * d + i] = s;
		}
	}
	free(a);
	free(z);
	return x;
}

static void
two_pass(const double *x, int rows, int d, double *mean, double *cov)
{
	for (int i = 0; i < d; i++) {
		mean[i] = 0;
		for (int r = 0; r < rows; r++)
			mean[i] += x[r * d + i];
		mean[i] /= rows;
	}
	for (int i = 0; i < d; i++)
		for (int j = 0; j < d; j++) {
			double s = 0;
			for (int r = 0; r < rows; r++)
				s += (x[r * d + i] - mean[i]) * (x[r * d + j] - mean[j]);
			cov[i * d + j] = s / rows;
		}
}

static double
max_abs_diff(const double *a, const double *b, size_t n)
{
	double m = 0;

	for (size_t i = 0; i < n; i++)
		if (fabs(a[i] - b[i]) > m)
			m = fabs(a[i] - b[i]);
	return m;
}

static void
test_moments(void)
{
	enum { D = 300, ROWS = 2000 };
	double *x = make_data(ROWS, D, 1e4), *mean = malloc(D * sizeof *mean);
	double *cov = malloc(D * D * sizeof *cov), *m2 = malloc(D * D * sizeof *m2), m1[D];
	struct dl_moments *m = dl_moments_new(D);
	int r = 0, step = 1;

	CHECK(m != NULL && m->block_cap < ROWS / 2);	/* several blocks */
	CHECK(dl_moments_get(m, NULL, NULL) == -DL_EUSAGE);
	while (r < ROWS) {	/* uneven calls, straddling blocks */
		int n = step < ROWS - r ? step : ROWS - r;
		CHECK(dl_moments_add(m, x + (size_t)r * D, DL_F64, n) == 0);
		r += n;
		step = step * 3 + 1;
	}
	two_pass(x, ROWS, D, mean, cov);
	CHECK(dl_moments_get(m, m1, m2) == 0);
	CHECK(m->n == ROWS);
	CHECK(max_abs_diff(m1, mean, D) < 1e-9);
	CHECK(max_abs_diff(m2, cov, (size_t)D * D) < 1e-9);
	dl_moments_free(m);

	/* u8 is value/255; NaN is refused. */
	{
		uint8_t u[6] = { 0, 255, 51, 102, 255, 0 };
		float bad[2] = { 1, NAN };
		double mu[2], c[4];
		m = dl_moments_new(2);
		CHECK(dl_moments_add(m, u, DL_U8, 3) == 0);
		CHECK(dl_moments_get(m, mu, c) == 0);
		CHECK_NEAR(mu[0], (0 + 0.2 + 1) / 3, 1e-12);
		CHECK_NEAR(mu[1], (1 + 0.4 + 0) / 3, 1e-12);
		CHECK_NEAR(c[1], c[2], 0);
		CHECK(dl_moments_add(m, bad, DL_F32, 1) == -DL_ENUM);
		CHECK(dl_moments_add(m, u, DL_I32, 1) == -DL_EUSAGE);
		dl_moments_free(m);
	}
	free(x);
	free(mean);
	free(cov);
	free(m2);
}

/* Fit on rows x d data, apply; check the output covariance against
 * E diag(l / (l + eps)) E^T (ZCA), diag(l / (l + eps)) (PCA) or the
 * standardised one; then invert. */
static void
check_method(int method, int d, int rows, double eps)
{
	double *x = make_data(rows, d, 0.5), *mean = malloc(d * sizeof *mean);
	double *cov = malloc((size_t)d * d * sizeof *cov), *oc = malloc((size_t)d * d * sizeof *oc);
	double *want = calloc((size_t)d * d, sizeof *want), *om = malloc(d * sizeof *om), big = 0;
	float *xf = malloc((size_t)rows * d * sizeof *xf), *y = malloc((size_t)rows * d * sizeof *y);
	struct dl_whiten w;
	struct dl_moments *m = dl_moments_new(d);
	double err = 0;

	for (int i = 0; i < rows * d; i++)
		xf[i] = (float)x[i];
	CHECK(dl_moments_add(m, xf, DL_F32, rows) == 0);
	CHECK(dl_moments_get(m, mean, cov) == 0);
	dl_moments_free(m);
	CHECK(dl_whiten_fit(&w, method, DL_SCOPE_IMAGE, eps, d, mean, cov) == 0);
	CHECK(dl_whiten_apply(&w, xf, DL_F32, y, rows, 0) == 0);
	m = dl_moments_new(d);
	CHECK(dl_moments_add(m, y, DL_F32, rows) == 0);
	CHECK(dl_moments_get(m, om, oc) == 0);
	dl_moments_free(m);
	for (int i = 0; i < d; i++) {
		CHECK_NEAR(om[i], 0, 1e-4);
		if (i > 0 && method != DL_WHITEN_STANDARDISE)
			CHECK(w.eigval[i] <= w.eigval[i - 1]);
	}
	for (int i = 0; i < d; i++)
		for (int j = 0; j < d; j++) {
			double s = 0;
			if (method == DL_WHITEN_ZCA)
				for (int k = 0; k < d; k++)
					s += w.eigvec[k * d + i] * w.eigval[k] / (w.eigval[k] + eps) *
					     w.eigvec[k * d + j];
			else if (method == DL_WHITEN_PCA)
				s = i == j ? w.eigval[i] / (w.eigval[i] + eps) : 0;
			else if (i == j)
				s = cov[i * d + i] / (cov[i * d + i] + eps);
			else
				s = cov[i * d + j] / sqrt((cov[i * d + i] + eps) * (cov[j * d + j] + eps));
			want[i * d + j] = s;
			big = fabs(s) > big ? fabs(s) : big;
		}
	err = max_abs_diff(oc, want, (size_t)d * d);
	if (err > 1e-4 * big)
		fprintf(stderr, "method %d d %d eps %g: covariance off by %g\n", method, d, eps, err);
	CHECK(err <= 1e-4 * big);
	if (method == DL_WHITEN_ZCA) {
		int asym = 0;
		for (int i = 0; i < d; i++)
			for (int j = 0; j < d; j++)
				asym += w.w[i * d + j] != w.w[j * d + i];
		CHECK(asym == 0);
	}
	/* Invert, in place. */
	CHECK(dl_whiten_apply(&w, y, DL_F32, y, rows, 1) == 0);
	err = 0;
	for (int i = 0; i < rows * d; i++)
		err = fabs(y[i] - xf[i]) > err ? fabs(y[i] - xf[i]) : err;
	CHECK(err < 1e-4);
	dl_whiten_fini(&w);
	free(x), free(mean), free(cov), free(oc), free(want), free(om), free(xf), free(y);
}

static void
test_singular(void)
{
	double mean[3] = { 0 }, cov[9] = { 1, 1, 0, 1, 1, 0, 0, 0, 2 };
	struct dl_whiten w;

	CHECK(dl_whiten_fit(&w, DL_WHITEN_ZCA, DL_SCOPE_CHANNEL, 0, 3, mean, cov) == -DL_ENUM);
	CHECK(dl_whiten_fit(&w, DL_WHITEN_ZCA, DL_SCOPE_CHANNEL, 1e-3, 3, mean, cov) == 0);
	CHECK_NEAR(w.eigval[0], 2, 1e-6);
	CHECK_NEAR(w.eigval[2], 0, 1e-6);
	/* Component signs: largest entry positive. */
	for (int i = 0; i < 3; i++) {
		int big = 0;
		for (int k = 1; k < 3; k++)
			if (fabs(w.eigvec[i * 3 + k]) > fabs(w.eigvec[i * 3 + big]))
				big = k;
		CHECK(w.eigvec[i * 3 + big] > 0);
	}
	dl_whiten_fini(&w);
	CHECK(dl_whiten_method_parse("standardize") == DL_WHITEN_STANDARDISE);
	CHECK(dl_whiten_method_parse("pca") == DL_WHITEN_PCA && dl_whiten_method_parse("x") == -1);
	CHECK(dl_whiten_scope_parse("image") == DL_SCOPE_IMAGE);
}

int
main(void)
{
	test_moments();
	for (int method = 0; method < 3; method++) {
		check_method(method, 3, 5000, 0);	/* by hand */
		check_method(method, 3, 5000, 0.05);
		check_method(method, 40, 3000, 0);	/* sgemm */
		check_method(method, 40, 3000, 0.3);
	}
	test_singular();
	T_DONE();
}
