/*
 * fid.c - Frechet distances of classifier activations (lib/fid.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "dlpipe.h"
#include "fid.h"
#include "stats.h"

#define FID_BATCH 256

void
dl_fid_set_fini(struct dl_fid_set *s)
{
	dl_moments_free(s->m);
	free(s->count);
	free(s->mean);
	free(s->cov);
	memset(s, 0, sizeof *s);
}

/* One batch x through the net: activations and predictions into s. */
static int
fid_batch(struct dl_net *net, const char *layer, const struct dl_tensor *x, struct dl_fid_set *s,
    float **act, float **prob)
{
	long n, got;
	int rc;

	if ((rc = dl_net_forward(net, x, 0)) < 0)
		return rc;
	n = rc;
	if (!s->m) {
		int li = dl_net_find_layer(net, layer);
		struct dl_layer_info inf;

		if (li < 0)
			return -DL_EUSAGE;
		dl_net_layer_info(net, li, &inf);
		s->d = inf.shape[0] * inf.shape[1] * inf.shape[2];
		s->k = dl_net_outputs(net);
		if (s->d > DL_WHITEN_MAX_DIM)
			return dl_seterr(DL_EUSAGE, "%s: %d values a sample, more than %d", layer, s->d,
			    DL_WHITEN_MAX_DIM);
		if (!(s->m = dl_moments_new(s->d)) || !(s->count = calloc(s->k, sizeof *s->count)) ||
		    !(*act = malloc((size_t)FID_BATCH * s->d * sizeof **act)) ||
		    !(*prob = malloc((size_t)FID_BATCH * s->k * sizeof **prob)))
			return dl_seterr(DL_ENOMEM, "out of memory");
	}
	if ((got = dl_net_activation(net, layer, *act, (long)FID_BATCH * s->d)) < 0)
		return (int)got;
	if ((rc = dl_moments_add(s->m, *act, DL_F32, (uint64_t)n)) < 0)
		return rc;
	if ((got = dl_net_probs(net, *prob, (long)FID_BATCH * s->k)) < 0)
		return (int)got;
	for (long i = 0; i < n; i++) {
		const float *p = *prob + i * s->k;
		int best = 0;

		for (int j = 1; j < s->k; j++)
			if (p[j] > p[best])
				best = j;
		s->count[best]++;
		s->top += p[best];
	}
	s->n += n;
	return 0;
}

static int
fid_done(struct dl_fid_set *s)
{
	double f;
	int rc;

	if (s->n < 2)
		return dl_seterr(DL_EFORMAT, "%ld images: at least 2 are needed", s->n);
	if (!(s->mean = malloc(s->d * sizeof *s->mean)) ||
	    !(s->cov = malloc((size_t)s->d * s->d * sizeof *s->cov)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	if ((rc = dl_moments_get(s->m, s->mean, s->cov)) < 0)
		return rc;
	f = (double)s->n / (s->n - 1);	/* the unbiased estimate, as numpy.cov */
	for (long i = 0; i < (long)s->d * s->d; i++)
		s->cov[i] *= f;
	return 0;
}

int
dl_fid_set_stream(struct dl_net *net, const char *layer, const char *path, long limit,
    struct dl_fid_set *s)
{
	struct dl_reader *r = NULL;
	struct dl_batcher *b = NULL;
	struct dl_record *rec = dl_record_new(NULL), *batch = dl_record_new(NULL);
	float *act = NULL, *prob = NULL;
	int rc, batched;
	long seen = 0;

	memset(s, 0, sizeof *s);
	if (!rec || !batch || !(r = dl_reader_open(path, NULL)) || !dl_reader_head(r) ||
	    !(b = dl_batcher_new(FID_BATCH, 0, 0))) {
		rc = -DL_EFORMAT;
		goto out;
	}
	batched = dl_head_batched(dl_reader_head(r));
	while ((rc = dl_reader_next(r, rec)) > 0 && (!limit || seen < limit)) {
		if (!dl_record_is(rec, DL_TAG_DATA))
			continue;
		if (!dl_record_find(rec, "x")) {
			rc = dl_seterr(DL_EFORMAT, "a record without tensor x");
			break;
		}
		/* only x goes to the batcher: the images of other tools carry other tensors */
		for (int i = rec->n_tensors - 1; i >= 0; i--)
			if (strcmp(rec->tensors[i].name, "x"))
				dl_record_remove(rec, rec->tensors[i].name);
		seen += dl_record_samples(rec, batched);
		if ((rc = dl_batcher_put(b, rec, batched)) < 0)
			break;
		while ((rc = dl_batcher_get(b, batch, 0)) > 0)
			if ((rc = fid_batch(net, layer, dl_record_find(batch, "x"), s, &act, &prob)) < 0)
				goto out;
		if (rc < 0)
			break;
	}
	if (rc < 0)
		goto out;
	dl_batcher_end(b);
	while ((rc = dl_batcher_get(b, batch, 1)) > 0)
		if ((rc = fid_batch(net, layer, dl_record_find(batch, "x"), s, &act, &prob)) < 0)
			goto out;
	if (rc == 0)
		rc = fid_done(s);
out:
	if (rc < 0)
		dl_errprefix("%s", path);
	free(act);
	free(prob);
	dl_batcher_free(b);
	dl_reader_close(r);
	dl_record_free(rec);
	dl_record_free(batch);
	return rc < 0 ? rc : 0;
}

/* a = v diag(f(w)) v^T for the eigen-decomposition of the symmetric a (d x d) */
static int
sym_sqrt(int d, double *a)
{
	double *w = malloc(d * sizeof *w), *v = malloc((size_t)d * d * sizeof *v);
	int rc = 0;

	if (!w || !v) {
		rc = dl_seterr(DL_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(v, a, (size_t)d * d * sizeof *v);
	if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, v, d, w) != 0) {
		rc = dl_seterr(DL_ENUM, "the eigen-decomposition failed");
		goto out;
	}
	/* v's columns are the eigenvectors: scale column j by w_j^1/4, then v v^T */
	for (int j = 0; j < d; j++) {
		double f = sqrt(sqrt(w[j] > 0 ? w[j] : 0));

		for (int i = 0; i < d; i++)
			v[(size_t)i * d + j] *= f;
	}
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, d, d, 1.0, v, d, 0.0, a, d);
	for (int i = 0; i < d; i++)
		for (int j = 0; j < i; j++)
			a[(size_t)i * d + j] = a[(size_t)j * d + i];
out:
	free(w);
	free(v);
	return rc;
}

int
dl_frechet(int d, const double *mu1, const double *c1, const double *mu2, const double *c2,
    double *out)
{
	size_t dd = (size_t)d * d;
	double *s = malloc(dd * sizeof *s), *t = malloc(dd * sizeof *t), *m = malloc(dd * sizeof *m);
	double *w = malloc(d * sizeof *w), sum = 0;
	int rc = 0;

	if (!s || !t || !m || !w) {
		rc = dl_seterr(DL_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(s, c1, dd * sizeof *s);
	if ((rc = sym_sqrt(d, s)) < 0)
		goto out;
	/* m = s c2 s, symmetric positive semi-definite */
	cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, d, d, 1.0, s, d, c2, d, 0.0, t, d);
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, t, d, s, d, 0.0, m, d);
	for (int i = 0; i < d; i++)
		for (int j = 0; j < i; j++)
			m[(size_t)i * d + j] = m[(size_t)j * d + i] =
			    0.5 * (m[(size_t)i * d + j] + m[(size_t)j * d + i]);
	if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'U', d, m, d, w) != 0) {
		rc = dl_seterr(DL_ENUM, "the eigen-decomposition failed");
		goto out;
	}
	for (int i = 0; i < d; i++)
		sum += -2 * sqrt(w[i] > 0 ? w[i] : 0) + c1[(size_t)i * d + i] + c2[(size_t)i * d + i] +
		    (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
	*out = sum;
out:
	free(s);
	free(t);
	free(m);
	free(w);
	return rc;
}
