/*
 * stats.c - one-pass float64 moments (blocked dsyrk, exact block merge),
 * and standardisation / PCA / ZCA whitening fitted with LAPACKE_dsyevd,
 * applied with sgemm.  Reading and writing them as a stream:
 * lib/stats-io.c.
 *
 * The bytes are the same at any thread count: OpenBLAS splits a call's
 * work by its thread count, and with it the rounding, so every BLAS and
 * LAPACK call here runs on one OpenBLAS thread and the parallel work is
 * cut into fixed tiles by us (OpenMP), each computed the same way whoever
 * computes it -- fixed-order reductions, as dl-train's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "dlpipe.h"
#include "stats.h"

/* OpenBLAS on one thread until blas_restore(the value returned). */
static int
blas_serial(void)
{
	int n = openblas_get_num_threads();

	openblas_set_num_threads(1);
	return n;
}

static void
blas_restore(int n)
{
	openblas_set_num_threads(n);
}

#define TILE 128	/* rows and columns of a product tile */

/* C (d x d, upper triangle, ldc d) += A^T A for A (k x d, lda d): tiles
 * of TILE x TILE, each its own single-threaded call. */
static void
syrk_tiled(int d, int k, const double *a, double *c)
{
	int nt = (d + TILE - 1) / TILE, n_tiles = nt * (nt + 1) / 2, saved = blas_serial();

	#pragma omp parallel for schedule(dynamic)
	for (int t = 0; t < n_tiles; t++) {
		int bi = 0, rest = t;

		while (rest >= nt - bi)		/* t -> (bi, bj), bi <= bj */
			rest -= nt - bi++;
		int bj = bi + rest, i0 = bi * TILE, j0 = bj * TILE;
		int ni = d - i0 < TILE ? d - i0 : TILE, nj = d - j0 < TILE ? d - j0 : TILE;

		if (bi == bj)
			cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, ni, k, 1.0, a + i0, d,
			            1.0, c + (size_t)i0 * d + i0, d);
		else
			cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, nj, k, 1.0, a + i0, d,
			            a + j0, d, 1.0, c + (size_t)i0 * d + j0, d);
	}
	blas_restore(saved);
}

/* ---- moments ---- */
struct dl_moments *
dl_moments_new(int d)
{
	struct dl_moments *m;

	if (d < 1 || d > 65536) {
		dl_seterr(DL_EUSAGE, "moments: dimension %d out of range", d);
		return NULL;
	}
	if (!(m = dl_alloc(sizeof *m)))
		return NULL;
	m->d = d;
	/* About 2 MB of pending rows, at least 256 of them. */
	m->block_cap = 262144 / d > 256 ? 262144 / d : 256;
	if (!(m->mean = dl_alloc(2 * (size_t)d * sizeof *m->mean)) ||
	    !(m->m2 = dl_alloc((size_t)d * d * sizeof *m->m2)) ||
	    !(m->buf = dl_alloc((size_t)m->block_cap * d * sizeof *m->buf))) {
		dl_moments_free(m);
		return NULL;
	}
	return m;
}

void
dl_moments_free(struct dl_moments *m)
{
	if (!m)
		return;
	dl_free(m->mean);
	dl_free(m->m2);
	dl_free(m->buf);
	dl_free(m);
}

/* Merge the pending block: centre it on its own mean, add its scatter
 * (dsyrk), then the between-means term n_a n_b / n (mb - ma)(mb - ma)^T;
 * mean = ma + (mb - ma) n_b / n.  The delta lives past the mean. */
static void
flush(struct dl_moments *m)
{
	int d = m->d, nb = m->block_n;
	double *delta = m->mean + d, n = (double)m->n + nb;

	if (nb == 0)
		return;
	for (int j = 0; j < d; j++)
		delta[j] = 0;
	for (int i = 0; i < nb; i++)
		for (int j = 0; j < d; j++)
			delta[j] += m->buf[(size_t)i * d + j];
	for (int j = 0; j < d; j++)
		delta[j] /= nb;		/* the block mean, for now */
	for (int i = 0; i < nb; i++)
		for (int j = 0; j < d; j++)
			m->buf[(size_t)i * d + j] -= delta[j];
	for (int j = 0; j < d; j++)
		delta[j] -= m->mean[j];
	syrk_tiled(d, nb, m->buf, m->m2);
	if (m->n > 0) {
		int saved = blas_serial();

		cblas_dsyr(CblasRowMajor, CblasUpper, d, (double)m->n * nb / n, delta, 1, m->m2, d);
		blas_restore(saved);
	}
	for (int j = 0; j < d; j++)
		m->mean[j] += delta[j] * (nb / n);
	m->n += nb;
	m->block_n = 0;
}

int
dl_moments_add(struct dl_moments *m, const void *x, int dtype, uint64_t rows)
{
	int d = m->d;

	if (dtype != DL_U8 && dtype != DL_F32 && dtype != DL_F64)
		return dl_seterr(DL_EUSAGE, "moments: dtype %s not supported",
		                 dl_dtype_name(dtype) ? dl_dtype_name(dtype) : "?");
	for (uint64_t r = 0; r < rows; r++) {
		double *dst = m->buf + (size_t)m->block_n * d;
		size_t o = (size_t)r * d;
		dl_to_f64((const char *)x + o * dl_dtype_size(dtype), dtype, (uint64_t)d, dst);
		for (int j = 0; j < d; j++)
			if (!isfinite(dst[j]))
				return dl_seterr(DL_ENUM, "moments: row %llu holds a NaN or infinity",
				                 (unsigned long long)(m->n + m->block_n));
		if (++m->block_n == m->block_cap)
			flush(m);
	}
	return 0;
}

int
dl_moments_get(struct dl_moments *m, double *mean, double *cov)
{
	int d = m->d;

	flush(m);
	if (m->n == 0)
		return dl_seterr(DL_EUSAGE, "moments: no data");
	if (mean)
		memcpy(mean, m->mean, d * sizeof *mean);
	if (cov)
		for (int i = 0; i < d; i++)
			for (int j = i; j < d; j++)
				cov[(size_t)i * d + j] = cov[(size_t)j * d + i] =
				    m->m2[(size_t)i * d + j] / (double)m->n;
	return 0;
}

/* ---- whitening ---- */
static const char *method_names[] = { "standardise", "pca", "zca" };
static const char *scope_names[] = { "channel", "image" };

int
dl_whiten_method_parse(const char *s)
{
	if (!strcmp(s, "standardize"))
		return DL_WHITEN_STANDARDISE;
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, method_names[i]))
			return i;
	return -1;
}

const char *
dl_whiten_method_name(int method)
{
	return method >= 0 && method < 3 ? method_names[method] : NULL;
}

int
dl_whiten_scope_parse(const char *s)
{
	for (int i = 0; i < 2; i++)
		if (!strcmp(s, scope_names[i]))
			return i;
	return -1;
}

const char *
dl_whiten_scope_name(int scope)
{
	return scope >= 0 && scope < 2 ? scope_names[scope] : NULL;
}

void
dl_whiten_fini(struct dl_whiten *w)
{
	dl_free(w->mean);
	dl_free(w->w);
	dl_free(w->winv);
	dl_free(w->eigval);
	dl_free(w->eigvec);
	dl_free(w->scale);
	w->mean = w->w = w->winv = w->eigval = w->eigvec = w->scale = NULL;
}

/* E (d x d, column j = component j) times diag(s) times E^T (or, with
 * rotate_only, diag(s) E^T) into a float matrix. */
static int
sandwich(const double *e, const double *s, int d, int rotate_only, int left, float *out)
{
	double *es, *r;

	if (!(es = dl_alloc((size_t)d * d * sizeof *es)) ||
	    !(r = dl_alloc((size_t)d * d * sizeof *r))) {
		dl_free(es);
		return -DL_ENOMEM;
	}
	if (rotate_only && left) {		/* diag(s) E^T: row i = s_i e_i^T */
		for (int i = 0; i < d; i++)
			for (int k = 0; k < d; k++)
				r[(size_t)i * d + k] = s[i] * e[(size_t)k * d + i];
	} else if (rotate_only) {		/* E diag(s): column j = s_j e_j */
		for (int k = 0; k < d; k++)
			for (int j = 0; j < d; j++)
				r[(size_t)k * d + j] = e[(size_t)k * d + j] * s[j];
	} else {
		for (int k = 0; k < d; k++)
			for (int j = 0; j < d; j++)
				es[(size_t)k * d + j] = e[(size_t)k * d + j] * s[j];
		int saved = blas_serial();

		#pragma omp parallel for schedule(dynamic)
		for (int i0 = 0; i0 < d; i0 += TILE)	/* TILE rows of r a call */
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d - i0 < TILE ? d - i0 : TILE,
			            d, d, 1.0, es + (size_t)i0 * d, d, e, d, 0.0, r + (size_t)i0 * d, d);
		blas_restore(saved);
		/* Symmetric in exact arithmetic: make it so in floating point. */
		for (int i = 0; i < d; i++)
			for (int j = i + 1; j < d; j++)
				r[(size_t)i * d + j] = r[(size_t)j * d + i] =
				    (r[(size_t)i * d + j] + r[(size_t)j * d + i]) / 2;
	}
	for (size_t i = 0; i < (size_t)d * d; i++)
		out[i] = (float)r[i];
	dl_free(es);
	dl_free(r);
	return 0;
}

/* Standardisation: the variances and 1 / sqrt(var + eps) of w->d
 * components from the diagonal of cov. */
static int
fit_standardise(struct dl_whiten *w, const double *cov)
{
	int d = w->d;

	if (!(w->scale = dl_alloc(d * sizeof *w->scale)))
		return -DL_ENOMEM;
	for (int i = 0; i < d; i++) {
		double v = cov[(size_t)i * d + i];
		if (!(v + w->eps > 0))
			return dl_seterr(DL_ENUM, "whiten: component %d has variance %g: "
			                 "give --eps > 0", i, v);
		w->eigval[i] = (float)v;
		w->scale[i] = (float)(1 / sqrt(v + w->eps));
	}
	return 0;
}

/* The eigenvectors a (d x d, column j = vector j) and eigenvalues l of
 * dsyevd (ascending) put in descending order, each vector's largest entry
 * positive, values rounded below zero made 0; into w->eigval, w->eigvec. */
static int
order_components(struct dl_whiten *w, double *a, double *l)
{
	int d = w->d;

	for (int i = 0; i < d / 2; i++) {
		int j = d - 1 - i;
		double t = l[i];
		l[i] = l[j];
		l[j] = t;
		for (int k = 0; k < d; k++) {
			t = a[(size_t)k * d + i];
			a[(size_t)k * d + i] = a[(size_t)k * d + j];
			a[(size_t)k * d + j] = t;
		}
	}
	for (int j = 0; j < d; j++) {
		int big = 0;
		for (int k = 1; k < d; k++)
			if (fabs(a[(size_t)k * d + j]) > fabs(a[(size_t)big * d + j]))
				big = k;
		if (a[(size_t)big * d + j] < 0)
			for (int k = 0; k < d; k++)
				a[(size_t)k * d + j] = -a[(size_t)k * d + j];
		if (l[j] < 0)	/* rounding below zero on a singular covariance */
			l[j] = 0;
		if (!(l[j] + w->eps > 0))
			return dl_seterr(DL_ENUM, "whiten: the covariance is singular "
			                 "(eigenvalue %d is 0): give --eps > 0", j);
		w->eigval[j] = (float)l[j];
		for (int k = 0; k < d; k++)
			w->eigvec[(size_t)j * d + k] = (float)a[(size_t)k * d + j];
	}
	return 0;
}

int
dl_whiten_fit(struct dl_whiten *w, int method, int scope, double eps, int d,
              const double *mean, const double *cov)
{
	double *a = NULL, *l = NULL, *s = NULL;
	int rc = 0, info, saved;
	size_t dd = (size_t)d * d;

	memset(w, 0, sizeof *w);
	if (method < 0 || method > DL_WHITEN_ZCA || d < 1 || !(eps >= 0))
		return dl_seterr(DL_EUSAGE, "whiten: bad method, dimension or eps");
	w->method = method;
	w->scope = scope;
	w->eps = eps;
	w->d = d;
	w->ndim = 1;
	w->shape[0] = d;
	if (!(w->mean = dl_alloc(d * sizeof *w->mean)) ||
	    !(w->eigval = dl_alloc(d * sizeof *w->eigval)))
		goto nomem;
	for (int i = 0; i < d; i++)
		w->mean[i] = (float)mean[i];
	if (method == DL_WHITEN_STANDARDISE) {
		if ((rc = fit_standardise(w, cov)) < 0)
			goto fail;
		return 0;
	}
	if (!(a = dl_alloc(dd * sizeof *a)) || !(l = dl_alloc(d * sizeof *l)) ||
	    !(s = dl_alloc(d * sizeof *s)) ||
	    !(w->w = dl_alloc(dd * sizeof *w->w)) || !(w->winv = dl_alloc(dd * sizeof *w->winv)) ||
	    !(w->eigvec = dl_alloc(dd * sizeof *w->eigvec)))
		goto nomem;
	memcpy(a, cov, dd * sizeof *a);
	saved = blas_serial();		/* no tiling for this one: serial */
	info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, a, d, l);
	blas_restore(saved);
	if (info != 0) {
		rc = dl_seterr(info < 0 ? DL_EUSAGE : DL_ENUM,
		               "whiten: eigen-decomposition failed (dsyevd info %d)", info);
		goto fail;
	}
	if ((rc = order_components(w, a, l)) < 0)
		goto fail;
	for (int j = 0; j < d; j++)
		s[j] = 1 / sqrt(l[j] + eps);
	if ((rc = sandwich(a, s, d, method == DL_WHITEN_PCA, 1, w->w)) < 0)
		goto fail;
	for (int j = 0; j < d; j++)
		s[j] = sqrt(l[j] + eps);
	if ((rc = sandwich(a, s, d, method == DL_WHITEN_PCA, 0, w->winv)) < 0)
		goto fail;
	dl_free(a);
	dl_free(l);
	dl_free(s);
	return 0;
nomem:
	rc = -DL_ENOMEM;
fail:
	dl_free(a);
	dl_free(l);
	dl_free(s);
	dl_whiten_fini(w);
	return rc;
}

/* Rows per sgemm call: bounds the scratch buffer. */
#define APPLY_BLOCK 256

int
dl_whiten_apply(const struct dl_whiten *w, const void *x, int dtype, float *y,
                uint64_t rows, int invert)
{
	int d = w->d;
	float *tmp = NULL, *mat = invert ? w->winv : w->w;
	uint64_t block = APPLY_BLOCK;

	if (dtype != DL_U8 && dtype != DL_F32)
		return dl_seterr(DL_EUSAGE, "whiten: dtype %s not supported (u8 or f32)",
		                 dl_dtype_name(dtype) ? dl_dtype_name(dtype) : "?");
	/* Gather rows as f32 (u8 / 255) into y: from then on in place. */
	dl_to_f32(x, dtype, rows * d, y);
	if (w->method == DL_WHITEN_STANDARDISE) {
		for (uint64_t r = 0; r < rows; r++) {
			float *p = y + r * d;
			if (invert)
				for (int k = 0; k < d; k++)
					p[k] = p[k] / w->scale[k] + w->mean[k];
			else
				for (int k = 0; k < d; k++)
					p[k] = (p[k] - w->mean[k]) * w->scale[k];
		}
		return 0;
	}
	if (d <= 4) {	/* pixel colours: by hand */
		for (uint64_t r = 0; r < rows; r++) {
			float *p = y + r * d, v[4];
			if (!invert)
				for (int k = 0; k < d; k++)
					p[k] -= w->mean[k];
			for (int i = 0; i < d; i++) {
				float s = 0;
				for (int k = 0; k < d; k++)
					s += mat[i * d + k] * p[k];
				v[i] = s;
			}
			for (int i = 0; i < d; i++)
				p[i] = v[i] + (invert ? w->mean[i] : 0);
		}
		return 0;
	}
	if (block > rows)
		block = rows;
	/* blocks of APPLY_BLOCK rows from row 0, one single-threaded sgemm
	 * each: the same calls at any thread count */
	int saved = blas_serial(), bad = 0;

	#pragma omp parallel private(tmp) reduction(|:bad)
	{
		if (!(tmp = dl_alloc(block * d * sizeof *tmp)))
			bad = 1;
		#pragma omp for schedule(dynamic)
		for (uint64_t r0 = 0; r0 < rows; r0 += block) {
			uint64_t nb = rows - r0 < block ? rows - r0 : block;
			float *p = y + r0 * d;

			if (!tmp)
				continue;
			memcpy(tmp, p, nb * d * sizeof *tmp);
			if (!invert)
				for (uint64_t i = 0; i < nb; i++)
					for (int k = 0; k < d; k++)
						tmp[i * d + k] -= w->mean[k];
			/* Y = X M^T for rows X */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, d, d, 1.0f, tmp,
			            d, mat, d, 0.0f, p, d);
			if (invert)
				for (uint64_t i = 0; i < nb; i++)
					for (int k = 0; k < d; k++)
						p[i * d + k] += w->mean[k];
		}
		dl_free(tmp);
	}
	blas_restore(saved);
	return bad ? dl_seterr(DL_ENOMEM, "whiten: out of memory") : 0;
}

/* ---- fitting on the tensors of a stream ---- */
int
dl_whiten_data_add(struct dl_whiten_data *f, const struct dl_tensor *t, int batched)
{
	int skip = batched && t->ndim > 0;	/* a batch: samples x sample shape */
	uint64_t rows = skip ? t->shape[0] : 1, count = dl_tensor_count(t) / (rows ? rows : 1);
	char desc[128];
	int rc;

	f->records++;
	if (!f->m) {	/* the first tensor fixes the sample shape */
		f->ndim = t->ndim - skip;
		memcpy(f->shape, t->shape + skip, f->ndim * sizeof *f->shape);
		f->d = f->scope == DL_SCOPE_IMAGE ? count : f->ndim >= 3 ? f->shape[f->ndim - 1] : 1;
		if (f->d < 1 || f->d > DL_WHITEN_MAX_DIM)
			return dl_seterr(DL_ESHAPE, "%s: %llu values per %s: %s", t->name,
			                 (unsigned long long)f->d,
			                 f->scope == DL_SCOPE_IMAGE ? "sample" : "pixel",
			                 f->d ? "at most 4096 are supported" : "nothing to fit");
		if (!(f->m = dl_moments_new((int)f->d)))
			return -DL_ENOMEM;
	} else if (t->ndim - skip != f->ndim ||
	           memcmp(f->shape, t->shape + skip, f->ndim * sizeof *f->shape)) {
		return dl_seterr(DL_ESHAPE, "record %llu: tensor '%s' is %s, unlike the first record's",
		                 (unsigned long long)f->records, t->name,
		                 dl_tensor_desc(t, desc, sizeof desc));
	}
	if ((rc = dl_moments_add(f->m, t->data, t->dtype, rows * count / f->d)) < 0) {
		dl_errprefix("record %llu", (unsigned long long)f->records);
		return rc;
	}
	f->samples += rows;
	return 0;
}

int
dl_whiten_data_fit(struct dl_whiten_data *f, int method, double eps, struct dl_whiten *w)
{
	double *mean = NULL, *cov = NULL;
	int rc;

	if (!f->m)
		return dl_seterr(DL_EFORMAT, "no data to fit on");
	if (!(mean = malloc(f->d * sizeof *mean)) || !(cov = malloc(f->d * f->d * sizeof *cov))) {
		free(mean);
		return dl_seterr(DL_ENOMEM, "out of memory");
	}
	if ((rc = dl_moments_get(f->m, mean, cov)) >= 0 &&
	    (rc = dl_whiten_fit(w, method, f->scope, eps, (int)f->d, mean, cov)) >= 0) {
		w->n = f->m->n;
		w->n_samples = f->samples;
		if (f->scope == DL_SCOPE_IMAGE) {
			w->ndim = f->ndim;
			memcpy(w->shape, f->shape, f->ndim * sizeof *f->shape);
		}
	}
	free(mean);
	free(cov);
	return rc;
}

void
dl_whiten_data_fini(struct dl_whiten_data *f)
{
	dl_moments_free(f->m);
	f->m = NULL;
}

int
dl_whiten_check(const struct dl_whiten *w, const struct dl_tensor *t)
{
	uint64_t count = dl_tensor_count(t), tail = 1;
	char desc[128];
	int k = t->ndim;

	if (w->scope == DL_SCOPE_CHANNEL && (w->d == 1 || (k > 0 && t->shape[k - 1] == (uint64_t)w->d)))
		return 0;
	if (w->scope == DL_SCOPE_IMAGE && k >= w->ndim) {
		for (int i = 0; i < w->ndim; i++)
			tail *= t->shape[k - w->ndim + i] == w->shape[i] ? 1 : 0;
		if (tail && count % w->d == 0)
			return 0;
	}
	return dl_seterr(DL_ESHAPE, "tensor '%s' is %s, the statistics are for %d values per %s",
	                 t->name, dl_tensor_desc(t, desc, sizeof desc), w->d,
	                 w->scope == DL_SCOPE_IMAGE ? "sample" : "pixel");
}
