/*
 * stats-io.c - whitening statistics as a stream: HEAD(kind=stats,
 * method, scope, eps, dim, shape, samples, rows) and one DATA record of
 * f32 tensors (layout in lib/stats.h).  The numbers: lib/stats.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "stats.h"

int
dl_whiten_save(const struct dl_whiten *w, const char *path, const struct dl_writer_opts *o)
{
	struct dl_record *head = dl_record_new(DL_TAG_HEAD), *data = dl_record_new(DL_TAG_DATA);
	struct dl_writer *wr = NULL;
	uint64_t d = (uint64_t)w->d, dd[2] = { d, d };
	char shape[256] = "";
	int rc = -DL_ENOMEM;

	if (!head || !data)
		goto out;
	for (int i = 0; i < w->ndim; i++) {
		size_t len = strlen(shape);
		snprintf(shape + len, sizeof shape - len, "%s%llu", i ? "," : "",
		         (unsigned long long)w->shape[i]);
	}
	if ((rc = dl_record_set(head, "kind", "stats")) < 0 ||
	    (rc = dl_record_set(head, "method", dl_whiten_method_name(w->method))) < 0 ||
	    (rc = dl_record_set(head, "scope", dl_whiten_scope_name(w->scope))) < 0 ||
	    (rc = dl_record_setf(head, "eps", "%.9g", w->eps)) < 0 ||
	    (rc = dl_record_setf(head, "dim", "%d", w->d)) < 0 ||
	    (rc = dl_record_set(head, "shape", shape)) < 0 ||
	    (rc = dl_record_setf(head, "samples", "%llu", (unsigned long long)w->n_samples)) < 0 ||
	    (rc = dl_record_setf(head, "rows", "%llu", (unsigned long long)w->n)) < 0)
		goto out;
	rc = -DL_ENOMEM;
	if (!dl_record_add_ref(data, "mean", DL_F32, 1, &d, w->mean))
		goto out;
	if (w->method == DL_WHITEN_STANDARDISE) {
		struct dl_tensor *sd = dl_record_add(data, "std", DL_F32, 1, &d);
		if (!sd || !dl_record_add_ref(data, "var", DL_F32, 1, &d, w->eigval))
			goto out;
		for (uint64_t i = 0; i < d; i++)
			((float *)sd->data)[i] = 1 / w->scale[i];
	} else if (!dl_record_add_ref(data, "W", DL_F32, 2, dd, w->w) ||
	           !dl_record_add_ref(data, "Winv", DL_F32, 2, dd, w->winv) ||
	           !dl_record_add_ref(data, "eigval", DL_F32, 1, &d, w->eigval) ||
	           !dl_record_add_ref(data, "eigvec", DL_F32, 2, dd, w->eigvec)) {
		goto out;
	}
	if (!(wr = dl_writer_open(path, o))) {
		rc = -DL_EIO;
		goto out;
	}
	if ((rc = dl_writer_head(wr, head)) < 0 || (rc = dl_writer_put(wr, data)) < 0) {
		dl_writer_abort(wr, dl_errmsg());
		goto out;
	}
	rc = dl_writer_close(wr);
out:
	dl_record_free(head);
	dl_record_free(data);
	return rc;
}

/* The f32 tensor name of rec with ndim dims of d, copied to a new array. */
static int
take(const struct dl_record *rec, const char *name, int ndim, int d, float **dst)
{
	const struct dl_tensor *t = dl_record_find(rec, name);
	char desc[64];

	if (!t)
		return dl_seterr(DL_EFORMAT, "no tensor '%s'", name);
	if (t->dtype != DL_F32 || t->ndim != ndim || t->shape[0] != (uint64_t)d ||
	    (ndim == 2 && t->shape[1] != (uint64_t)d))
		return dl_seterr(DL_EFORMAT, "tensor '%s' is %s, expected f32 of %d%s", name,
		                 dl_tensor_desc(t, desc, sizeof desc), d, ndim == 2 ? " x same" : "");
	if (!(*dst = dl_alloc(t->nbytes)))
		return -DL_ENOMEM;
	memcpy(*dst, t->data, t->nbytes);
	for (size_t i = 0; i < t->nbytes / 4; i++)
		if (!isfinite((*dst)[i]))
			return dl_seterr(DL_ENUM, "tensor '%s' holds a NaN or infinity", name);
	return 0;
}

static int
parse_head(struct dl_whiten *w, const struct dl_record *h)
{
	const char *kind = dl_record_get(h, "kind"), *s;
	char *end;
	long d;

	if (!kind || strcmp(kind, "stats"))
		return dl_seterr(DL_EFORMAT, "not a statistics stream (kind=%s)", kind ? dl_esc(kind) : "none");
	if (!(s = dl_record_get(h, "method")) || (w->method = dl_whiten_method_parse(s)) < 0)
		return dl_seterr(DL_EFORMAT, "unknown or missing method '%s'", s ? dl_esc(s) : "");
	w->scope = DL_SCOPE_CHANNEL;
	if ((s = dl_record_get(h, "scope")) && (w->scope = dl_whiten_scope_parse(s)) < 0)
		return dl_seterr(DL_EFORMAT, "unknown scope '%s'", dl_esc(s));
	w->eps = (s = dl_record_get(h, "eps")) ? strtod(s, NULL) : 0;
	errno = 0;
	if (!(s = dl_record_get(h, "dim")) || (d = strtol(s, &end, 10), errno || *end) ||
	    d < 1 || d > 65536)
		return dl_seterr(DL_EFORMAT, "missing or bad 'dim'");
	w->d = (int)d;
	w->ndim = 1;
	w->shape[0] = w->d;
	if ((s = dl_record_get(h, "shape")) && *s) {
		uint64_t prod = 1;
		w->ndim = 0;
		for (;;) {
			unsigned long long v = strtoull(s, &end, 10);
			if (end == s || w->ndim == 8 || v == 0 || v > 65536)
				return dl_seterr(DL_EFORMAT, "bad 'shape'");
			w->shape[w->ndim++] = v;
			prod *= v;
			if (!*end)
				break;
			if (*end != ',')
				return dl_seterr(DL_EFORMAT, "bad 'shape'");
			s = end + 1;
		}
		if (prod != (uint64_t)w->d)
			return dl_seterr(DL_EFORMAT, "'shape' does not hold 'dim' %d values", w->d);
	}
	if ((s = dl_record_get(h, "samples")))
		w->n_samples = strtoull(s, NULL, 10);
	if ((s = dl_record_get(h, "rows")))
		w->n = strtoull(s, NULL, 10);
	return 0;
}

int
dl_whiten_load(struct dl_whiten *w, const char *path)
{
	struct dl_reader *r;
	struct dl_record *rec = NULL;
	const struct dl_record *h;
	int rc, d, mine = 1;

	memset(w, 0, sizeof *w);
	if (!(r = dl_reader_open(path, NULL)))
		return -DL_EIO;
	if (!(h = dl_reader_head(r))) {
		rc = -DL_EFORMAT;
		mine = 0;
		goto out;
	}
	if ((rc = parse_head(w, h)) < 0)
		goto out;
	if (!(rec = dl_record_new(NULL))) {
		rc = -DL_ENOMEM;
		goto out;
	}
	while ((rc = dl_reader_next(r, rec)) > 0 && !dl_record_is(rec, DL_TAG_DATA))
		;
	if (rc == 0)
		rc = dl_seterr(DL_EFORMAT, "no DATA record");
	if (rc < 0) {
		mine = rc == -DL_EFORMAT && !strcmp(dl_errmsg(), "no DATA record");
		goto out;
	}
	d = w->d;
	if ((rc = take(rec, "mean", 1, d, &w->mean)) < 0)
		goto out;
	if (w->method == DL_WHITEN_STANDARDISE) {
		if ((rc = take(rec, "std", 1, d, &w->scale)) < 0 ||
		    (rc = take(rec, "var", 1, d, &w->eigval)) < 0)
			goto out;
		for (int i = 0; i < d; i++) {
			if (!(w->scale[i] > 0)) {
				rc = dl_seterr(DL_EFORMAT, "std[%d] is not positive", i);
				goto out;
			}
			w->scale[i] = 1 / w->scale[i];
		}
	} else if ((rc = take(rec, "W", 2, d, &w->w)) < 0 ||
	           (rc = take(rec, "Winv", 2, d, &w->winv)) < 0 ||
	           (rc = take(rec, "eigval", 1, d, &w->eigval)) < 0 ||
	           (rc = take(rec, "eigvec", 2, d, &w->eigvec)) < 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		if (mine)
			dl_errprefix("%s", path ? path : "stdin");
		dl_whiten_fini(w);
	}
	dl_record_free(rec);
	dl_reader_close(r);
	return rc;
}
