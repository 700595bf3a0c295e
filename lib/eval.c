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

/* Refuse samples (x: [N, ...]) of another shape than the net takes, with
 * a message that names both and the dl-import flags that convert. */
static int
check_input(const struct dl_net *net, const struct dl_tensor *x)
{
	int in[3], d = x->ndim - 1, n = 0;
	uint64_t cnt = 1, h, w, c;
	char got[96], fix[96];

	dl_net_input_shape(net, in);
	for (int i = 1; i < x->ndim; i++)
		cnt *= x->shape[i];
	h = d >= 2 ? x->shape[1] : 1, w = d >= 2 ? x->shape[2] : 1;
	c = d == 3 ? x->shape[3] : 1;
	if (cnt == (uint64_t)in[0] * in[1] * in[2] && (d != 3 || (in[0] == 1 && in[1] == 1) ||
	    (h == (uint64_t)in[0] && w == (uint64_t)in[1] && c == (uint64_t)in[2])))
		return 0;	/* the same values, or the same image */
	n = snprintf(got, sizeof got, "%s", d ? "" : "1");
	for (int i = 1; i < x->ndim && n < (int)sizeof got; i++)
		n += snprintf(got + n, sizeof got - n, "%s%llu", i > 1 ? "x" : "",
		    (unsigned long long)x->shape[i]);
	fix[0] = 0;
	if (d == 3 || d == 2) {		/* an image: say which dl-import flags fit it */
		n = 0;
		if (h != (uint64_t)in[0] || w != (uint64_t)in[1])
			n += snprintf(fix + n, sizeof fix - n, " --resize %dx%d", in[0], in[1]);
		if (c != (uint64_t)in[2] && (in[2] == 1 || in[2] == 3))
			snprintf(fix + n, sizeof fix - n, " %s", in[2] == 1 ? "--grey" : "--rgb");
	}
	return dl_seterr(DL_ESHAPE, "the input x is %s per sample (%s), the model takes %dx%dx%d%s%s%s",
	    got, dl_dtype_name(x->dtype), in[0], in[1], in[2], fix[0] ? ": import the images "
	    "with 'dl-import png|jpeg|folder ..." : "", fix, fix[0] ? "'" : "");
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
		return dl_seterr(DL_EFORMAT, "a DATA record without tensor x (the samples to "
		    "score): 'dl-info FILE' shows what the input holds");
	xv = *x;
	if (!batched) {		/* one sample: give it a batch dimension of 1 */
		if (xv.ndim >= DL_MAX_NDIM)
			return dl_seterr(DL_ESHAPE, "x has %d dimensions", xv.ndim);
		memmove(xv.shape + 1, xv.shape, xv.ndim * sizeof xv.shape[0]);
		xv.shape[0] = 1;
		xv.ndim++;
	}
	if ((rc = check_input(net, &xv)) < 0 || (n = dl_net_forward(net, &xv, 0)) < 0)
		return rc < 0 ? rc : n;
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
	if (s && !y)
		s->unlabelled += n;
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
			if (s->topk > 1 && t >= 0 && t < k) {	/* fewer than topk above t */
				int above = 0;

				for (int j = 0; j < k; j++)
					above += pi[j] > pi[t] || (j < t && pi[j] == pi[t]);
				s->correct_topk += above < s->topk;
			}
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
	if ((rc = dl_head_check_data(h, dl_reader_name(r))) < 0)
		goto out;
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

const char *
dl_class_name(const char *classes, int i, char *buf, size_t n)
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
dl_score_nothing(const struct dl_score *s)
{
	if (s->n)
		return 0;
	if (s->unlabelled)
		return dl_seterr(DL_EFORMAT, "the input's %ld samples have no labels (no tensor "
		    "y): nothing to score; 'dl-eval --predict MODEL' writes what the model says "
		    "of each", s->unlabelled);
	return dl_seterr(DL_EFORMAT, "the input holds no samples: nothing to score");
}

int
dl_head_check_data(const struct dl_record *h, const char *src)
{
	const char *kind = dl_record_get(h, "kind");

	if (kind && !strcmp(kind, "model"))
		return dl_seterr(DL_EUSAGE, "%s is a model (kind=model), not data: the model is "
		    "the MODEL operand, the samples come on stdin or as FILE (e.g. 'dl-import png "
		    "photo.png | dl-eval model.dlm')", src);
	if (kind && !strcmp(kind, "stats"))
		return dl_seterr(DL_EUSAGE, "%s holds statistics (kind=stats, from dl-whiten --fit), "
		    "not data samples", src);
	return 0;
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
		if (s->topk > 1 && k)
			fprintf(f, ", \"top_k\": %d, \"top_k_accuracy\": %.9g", s->topk,
			    ratio(s->correct_topk, s->n));
		if (k) {
			fputs(", \"per_class\": {", f);
			for (int i = 0; i < k; i++) {
				long tp = s->confusion[i * k + i], row = 0, col = 0;

				for (int j = 0; j < k; j++)
					row += s->confusion[i * k + j], col += s->confusion[j * k + i];
				fputs(i ? ", " : "", f);
				dl_json_str(f, dl_class_name(classes, i, name, sizeof name));
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
	if (s->topk > 1 && k)
		fprintf(f, "top-%-5d %.2f%%\n", s->topk, 100 * ratio(s->correct_topk, s->n));
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
		    dl_esc(dl_class_name(classes, i, name, sizeof name)), 100 * ratio(tp, col),
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
