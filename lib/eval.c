/*
 * eval.c - scoring a network on a stream (dl_score_*, lib/train.h):
 * loss, accuracy and a confusion matrix summed over batches.  Used by
 * dl-eval and by dl-train for its validation set.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

int
dl_score_init(struct dl_score *s, int n_classes)
{
	memset(s, 0, sizeof *s);
	if (n_classes > 0) {
		if (n_classes > 65536)
			return dl_seterr(DL_EUSAGE, "score: %d classes", n_classes);
		if (!(s->confusion = calloc((size_t)n_classes * n_classes, sizeof *s->confusion)))
			return dl_seterr(DL_ENOMEM, "score: out of memory");
		s->n_classes = n_classes;
	}
	return 0;
}

void
dl_score_fini(struct dl_score *s)
{
	free(s->confusion);
	free(s->tmp);
	memset(s, 0, sizeof *s);
}

static int
is_class_dtype(int dtype)
{
	return dtype == DL_I32 || dtype == DL_U8 || dtype == DL_I64 || dtype == DL_I16 ||
	    dtype == DL_U16 || dtype == DL_I8;
}

int
dl_score_batch(struct dl_net *net, const struct dl_record *rec, int batched,
    struct dl_score *s, float *probs, long nprobs)
{
	const struct dl_tensor *x = dl_record_find(rec, "x"), *y = dl_record_find(rec, "y");
	struct dl_tensor xv, yv;
	struct dl_loss_stats st;
	int n, k = dl_net_outputs(net), rc, conf;
	float *p = probs;

	if (!x)
		return dl_seterr(DL_EFORMAT, "a DATA record without tensor x");
	xv = *x;
	if (!batched) {		/* one sample: give it a batch dimension of 1 */
		if (xv.ndim >= DL_MAX_NDIM)
			return dl_seterr(DL_ESHAPE, "x has %d dimensions", xv.ndim);
		memmove(xv.shape + 1, xv.shape, xv.ndim * sizeof xv.shape[0]);
		xv.shape[0] = 1;
		xv.ndim++;
	}
	if ((n = dl_net_forward(net, &xv, 0)) < 0)
		return n;
	conf = y && s && s->confusion && is_class_dtype(y->dtype);
	if (!p && s) {
		if (s->tmp_n < (long)n * k) {
			free(s->tmp);
			s->tmp_n = 0;
			if (!(s->tmp = malloc((size_t)n * k * sizeof *s->tmp)))
				return dl_seterr(DL_ENOMEM, "score: out of memory");
			s->tmp_n = (long)n * k;
		}
		p = s->tmp;
		nprobs = s->tmp_n;
	}
	if (p && (rc = (int)dl_net_probs(net, p, nprobs)) < 0)
		return rc;
	for (int i = 0; p && s && i < n; i++)
		for (int j = 0; j < k; j++)
			if (!isfinite(p[(size_t)i * k + j])) {
				s->nonfinite++;
				break;
			}
	if (!y || !s)
		return n;
	yv = *y;
	if (!batched && yv.ndim < DL_MAX_NDIM && is_class_dtype(yv.dtype) && yv.ndim == 0) {
		yv.shape[0] = 1;
		yv.ndim = 1;
	}
	if ((rc = dl_net_loss(net, &yv, 0, &st)) < 0)
		return rc;
	s->loss += st.loss;
	s->n += st.n;
	s->correct += st.correct;
	if (conf)
		for (int i = 0; i < n; i++) {
			const float *pi = p + (size_t)i * k;
			long t = (long)dl_tensor_get(&yv, (uint64_t)i);
			int am = 0;

			for (int j = 1; j < k; j++)
				if (pi[j] > pi[am])
					am = j;
			if (t >= 0 && t < s->n_classes && am < s->n_classes)
				s->confusion[t * s->n_classes + am]++;
		}
	return n;
}

int
dl_score_stream(struct dl_net *net, const char *path, int batch_size, struct dl_score *s)
{
	struct dl_reader *r;
	struct dl_batcher *b = NULL;
	struct dl_record *rec = NULL, *batch = NULL;
	const struct dl_record *h;
	int rc = 0, batched;

	if (!(r = dl_reader_open(path, NULL)))
		return -DL_EIO;
	if (!(h = dl_reader_head(r))) {
		rc = -DL_EFORMAT;
		goto out;
	}
	batched = dl_head_batched(h);
	if (!(rec = dl_record_new(NULL)) || !(batch = dl_record_new(NULL)) ||
	    (!batched && !(b = dl_batcher_new(batch_size > 0 ? batch_size : 256, 0, 0)))) {
		rc = -DL_ENOMEM;
		goto out;
	}
	while ((rc = dl_reader_next(r, rec)) > 0) {
		if (!dl_record_is(rec, DL_TAG_DATA))
			continue;
		if (batched) {
			if ((rc = dl_score_batch(net, rec, 1, s, NULL, 0)) < 0)
				break;
			continue;
		}
		if ((rc = dl_batcher_put(b, rec, 0)) < 0)
			break;
		while ((rc = dl_batcher_get(b, batch, 0)) > 0)
			if ((rc = dl_score_batch(net, batch, 1, s, NULL, 0)) < 0)
				goto out;
		if (rc < 0)
			break;
	}
	if (rc == 0 && b) {
		dl_batcher_end(b);
		while ((rc = dl_batcher_get(b, batch, 1)) > 0)
			if ((rc = dl_score_batch(net, batch, 1, s, NULL, 0)) < 0)
				break;
	}
out:
	if (rc < 0)
		dl_errprefix("%s", dl_reader_name(r));
	dl_batcher_free(b);
	dl_record_free(rec);
	dl_record_free(batch);
	dl_reader_close(r);
	return rc < 0 ? rc : 0;
}

/* The name of class i from a comma-separated list, into buf. */
static const char *
class_name(const char *classes, int i, char *buf, size_t n)
{
	const char *p = classes;

	for (int k = 0; p && k < i; k++)
		if ((p = strchr(p, ',')))
			p++;
	if (!p || !*p || *p == ',') {
		snprintf(buf, n, "%d", i);
		return buf;
	}
	snprintf(buf, n, "%.*s", (int)strcspn(p, ","), p);
	return buf;
}

static double
ratio(long a, long b)
{
	return b ? (double)a / b : 0;
}

int
dl_score_report(FILE *f, const struct dl_score *s, const char *classes, int json)
{
	int k = s->n_classes;
	char name[256];

	if (json) {
		fprintf(f, "{\"samples\": %ld, \"loss\": ", s->n);
		if (isfinite(s->loss))
			fprintf(f, "%.9g", s->n ? s->loss / s->n : 0.0);
		else
			fputs("null", f);	/* JSON has no NaN */
		fprintf(f, ", \"accuracy\": %.9g, \"nonfinite\": %ld", ratio(s->correct, s->n),
		    s->nonfinite);
		if (k) {
			fputs(", \"per_class\": {", f);
			for (int i = 0; i < k; i++) {
				long tp = s->confusion[i * k + i], row = 0, col = 0;

				for (int j = 0; j < k; j++)
					row += s->confusion[i * k + j], col += s->confusion[j * k + i];
				fputs(i ? ", " : "", f);
				dl_json_str(f, class_name(classes, i, name, sizeof name));
				fprintf(f, ": {\"precision\": %.9g, \"recall\": %.9g, \"support\": %ld}",
				    ratio(tp, col), ratio(tp, row), row);
			}
			fputs("}, \"confusion\": [", f);
			for (int i = 0; i < k; i++) {
				fputs(i ? ", [" : "[", f);
				for (int j = 0; j < k; j++)
					fprintf(f, "%s%ld", j ? ", " : "", s->confusion[i * k + j]);
				fputc(']', f);
			}
			fputc(']', f);
		}
		fputs("}\n", f);
		return ferror(f) ? dl_seterr(DL_EIO, "write:") : 0;
	}
	fprintf(f, "samples   %ld\nloss      %.6f\naccuracy  %.2f%%\n", s->n,
	    s->n ? s->loss / s->n : 0.0, 100 * ratio(s->correct, s->n));
	if (s->nonfinite)
		fprintf(f, "nonfinite %ld samples with an output that is NaN or infinite\n",
		    s->nonfinite);
	if (!k)
		return ferror(f) ? dl_seterr(DL_EIO, "write:") : 0;
	fprintf(f, "\n%-4s %-16s %9s %7s %7s\n", "", "class", "precision", "recall", "support");
	for (int i = 0; i < k; i++) {
		long tp = s->confusion[i * k + i], row = 0, col = 0;

		for (int j = 0; j < k; j++)
			row += s->confusion[i * k + j], col += s->confusion[j * k + i];
		fprintf(f, "%-4d %-16s %8.2f%% %6.2f%% %7ld\n", i,
		    dl_esc(class_name(classes, i, name, sizeof name)), 100 * ratio(tp, col),
		    100 * ratio(tp, row), row);
	}
	fputs("\nconfusion (rows: true class, columns: predicted)\n    ", f);
	for (int j = 0; j < k; j++)
		fprintf(f, " %6d", j);
	fputc('\n', f);
	for (int i = 0; i < k; i++) {
		fprintf(f, "%-4d", i);
		for (int j = 0; j < k; j++)
			fprintf(f, " %6ld", s->confusion[i * k + j]);
		fputc('\n', f);
	}
	return ferror(f) ? dl_seterr(DL_EIO, "write:") : 0;
}

int
dl_put_z(struct dl_net *net, struct dl_record *rec, int row)
{
	int n = dl_net_batch(net), k = dl_net_outputs(net);
	uint64_t shape[2] = { (uint64_t)n, (uint64_t)k };
	struct dl_tensor *t;
	float *z;
	long got;

	if (row >= n)
		return dl_seterr(DL_EUSAGE, "z: row %d of a batch of %d", row, n);
	if (!(z = malloc(((size_t)n * k + 1) * sizeof *z)))
		return dl_seterr(DL_ENOMEM, "z: out of memory");
	if ((got = dl_net_activation(net, NULL, z, (long)n * k)) < 0) {
		free(z);
		return (int)got;
	}
	t = row < 0 ? dl_record_add(rec, "z", DL_F32, 2, shape) : dl_record_add(rec, "z", DL_F32, 1, shape + 1);
	if (t)
		memcpy(t->data, z + (row < 0 ? 0 : (size_t)row * k), (row < 0 ? (size_t)n : 1) * k * sizeof *z);
	free(z);
	return t ? 0 : dl_seterr(DL_ESHAPE, "z: cannot add the tensor");
}
