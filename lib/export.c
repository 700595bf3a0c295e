/*
 * export.c - samples to files for dl-export: PNG files named by index or
 * id, a montage with optional heat-map overlays, NPY arrays stacking one
 * tensor of every sample, montage labels (class names, the prediction, a
 * mistake marked) made from each sample.  The encoders are formats/png.c,
 * montage.c and npy.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "export.h"

#define MAX_NPY 16
#define MAX_LABEL 8		/* fields of --label */

struct npy_out {
	char name[DL_MAX_NAME + 1];
	struct dl_npy_out *w;
	int dtype;			/* as written (bf16 goes as f32) */
	int src_dtype, ndim;		/* of the stream's per-sample tensor */
	uint64_t shape[DL_MAX_NDIM];
	int optional;			/* the default y: skipped when absent */
};

struct dl_export {
	const struct dl_export_opts *o;
	struct dl_montage *m;
	struct npy_out npy[MAX_NPY];
	int n_npy;
	uint64_t n;			/* samples */
	char *label_buf;		/* --label's fields, split */
	const char *label[MAX_LABEL];
	int n_label;
	char *class_buf;		/* the HEAD's class names, split */
	const char **classes;
	int n_classes;
};

static int
label_field_ok(const char *f, size_t len)
{
	if (!len || len > DL_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (f[i] <= ' ' || f[i] > '~')
			return 0;
	return 1;
}

int
dl_export_set_label(struct dl_export_opts *o, const char *fields)
{
	const char *p = fields, *e;
	int n = 0;

	do {
		e = strchr(p, ',');
		if (!label_field_ok(p, e ? (size_t)(e - p) : strlen(p)))
			return dl_seterr(DL_EUSAGE, "--label: '%s' is not a list of fields "
			    "(y, p, id or another key, comma-separated)", dl_esc(fields));
		if (++n > MAX_LABEL)
			return dl_seterr(DL_EUSAGE, "--label: at most %d fields", MAX_LABEL);
		p = e + 1;
	} while (e);
	o->label = fields;
	return 0;
}

int
dl_export_set_range(struct dl_export_opts *o, const char *s)
{
	char *end;
	double lo, hi;

	if (!strcmp(s, "each") || !strcmp(s, "all")) {
		o->mo.range = !strcmp(s, "each") ? DL_RANGE_EACH : DL_RANGE_ALL;
		return 0;
	}
	lo = strtod(s, &end);
	if (end != s && *end == ':') {
		s = end + 1;
		hi = strtod(s, &end);
		if (end != s && !*end && isfinite(lo) && isfinite(hi) && lo < hi) {
			o->mo.range = DL_RANGE_FIXED;
			o->mo.lo = lo;
			o->mo.hi = hi;
			return 0;
		}
	}
	return dl_seterr(DL_EUSAGE, "--range: '%s' is not each, all or LO:HI (finite, LO < HI)",
	    dl_esc(s));
}

/* s split in place at sep into up to max pointers; the count. */
static int
split(char *s, int sep, const char **out, int max)
{
	int n = 0;

	while (s && n < max) {
		out[n++] = s;
		if ((s = strchr(s, sep)))
			*s++ = '\0';
	}
	return n;
}

struct dl_export *
dl_export_new(const struct dl_export_opts *o)
{
	struct dl_export *e = calloc(1, sizeof *e);

	if (!e) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	e->o = o;
	if (o->fmt == DL_EXPORT_MONTAGE && !(e->m = dl_montage_new(&o->mo))) {
		free(e);
		return NULL;
	}
	if (o->label && o->fmt == DL_EXPORT_MONTAGE) {
		if (!(e->label_buf = strdup(o->label))) {
			dl_seterr(DL_ENOMEM, "out of memory");
			dl_montage_free(e->m);
			free(e);
			return NULL;
		}
		e->n_label = split(e->label_buf, ',', e->label, MAX_LABEL);
	}
	return e;
}

int
dl_export_head(struct dl_export *e, const struct dl_record *head)
{
	const char *cl = head ? dl_record_get(head, "classes") : NULL;
	int n = 1;

	if (!cl || !*cl || !e->n_label)
		return 0;
	for (const char *p = cl; *p; p++)
		n += *p == ',';
	if (!(e->class_buf = strdup(cl)) || !(e->classes = calloc((size_t)n, sizeof *e->classes)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	e->n_classes = split(e->class_buf, ',', e->classes, n);
	return 0;
}

uint64_t
dl_export_count(const struct dl_export *e)
{
	return e->n;
}

/* A file name from an id: letters, digits, '.', '-', '_' kept, the rest
 * '_', no leading dot, ".png" at the end. */
static void
id_name(const char *id, char *buf, size_t n)
{
	size_t len = 0;
	const char *ext;

	for (const char *p = id; *p && len + 5 < n; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || (*p == '.' && len);
		buf[len++] = ok ? *p : '_';
	}
	buf[len] = 0;
	ext = len >= 4 ? buf + len - 4 : "";
	if (strcmp(ext, ".png") && strcmp(ext, ".PNG"))
		strcat(buf, ".png");
}

static int
put_png(struct dl_export *e, const struct dl_tensor *img, const char *id)
{
	struct dl_tensor u;
	char name[256], *path;
	int rc;

	if (e->o->by_id && id)
		id_name(id, name, sizeof name);
	else
		snprintf(name, sizeof name, "%06llu.png", (unsigned long long)e->n);
	if (asprintf(&path, "%s/%s", e->o->out, name) < 0)
		return dl_seterr(DL_ENOMEM, "out of memory");
	if (e->o->normalise) {
		if ((rc = dl_pixels_to_u8(img, 1, &u)) == 0) {
			rc = dl_png_save(path, &u);
			dl_tensor_drop(&u);
		}
	} else {
		rc = dl_png_save(path, img);
	}
	free(path);
	return rc;
}

static int
setup_npy(struct dl_export *e, const struct dl_record *rec)
{
	char *list, *tok, *save = NULL;
	int dflt = !e->o->tensors;

	if (!(list = strdup(dflt ? "x,y" : e->o->tensors)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (e->n_npy == MAX_NPY) {
			free(list);
			return dl_seterr(DL_EUSAGE, "--tensors: at most %d names", MAX_NPY);
		}
		snprintf(e->npy[e->n_npy].name, sizeof e->npy->name, "%s", tok);
		e->npy[e->n_npy].optional = dflt && !strcmp(tok, "y");
		if (e->npy[e->n_npy].optional && !dl_record_find(rec, "y"))
			continue;
		e->n_npy++;
	}
	free(list);
	return 0;
}

/* The NPY file of o, made for t's dtype and shape: PREFIX-NAME.npy. */
static int
create_npy(struct dl_export *e, const struct dl_tensor *t, struct npy_out *o)
{
	char *path, *p;

	o->src_dtype = t->dtype;
	o->dtype = t->dtype == DL_BF16 ? DL_F32 : t->dtype;
	o->ndim = t->ndim;
	memcpy(o->shape, t->shape, sizeof o->shape);
	if (asprintf(&path, "%s-%s.npy", e->o->out, o->name) < 0)
		return dl_seterr(DL_ENOMEM, "out of memory");
	/* Tensor names may hold '/': not a folder here. */
	for (p = path + strlen(e->o->out) + 1; *p; p++)
		if (*p == '/')
			*p = '_';
	o->w = dl_npy_create(path, o->dtype, t->ndim, t->shape);
	free(path);
	return o->w ? 0 : -DL_EIO;
}

static int
put_npy(struct dl_export *e, const struct dl_tensor *t, struct npy_out *o)
{
	char d1[96], d2[96];
	struct dl_tensor prev = { .ndim = o->ndim };
	float *f;
	int rc;

	if (!o->w && (rc = create_npy(e, t, o)) < 0)
		return rc;
	if (t->dtype != o->src_dtype || t->ndim != o->ndim ||
	    memcmp(t->shape, o->shape, sizeof *o->shape * (size_t)t->ndim)) {
		prev.dtype = o->src_dtype;
		memcpy(prev.shape, o->shape, sizeof prev.shape);
		return dl_seterr(DL_ESHAPE, "sample %llu: %s is %s, earlier samples have %s",
		    (unsigned long long)e->n + 1, o->name, dl_tensor_desc(t, d1, sizeof d1),
		    dl_tensor_desc(&prev, d2, sizeof d2));
	}
	if (t->dtype != DL_BF16)
		return dl_npy_write(o->w, t->data, 1);
	if (!(f = malloc(dl_tensor_count(t) * sizeof *f + 1)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	dl_to_f32(t->data, t->dtype, dl_tensor_count(t), f);
	rc = dl_npy_write(o->w, f, 1);
	free(f);
	return rc;
}

/* The i-th sample of t: the tensor itself, or a view of batch row i. */
static void
view(const struct dl_tensor *t, int batched, uint64_t i, struct dl_tensor *v)
{
	*v = *t;
	v->owned = 0;
	if (!batched)
		return;
	v->ndim = t->ndim - 1;
	memmove(v->shape, t->shape + 1, sizeof *v->shape * (size_t)v->ndim);
	v->nbytes = t->shape[0] ? t->nbytes / t->shape[0] : 0;
	v->data = (char *)t->data + i * v->nbytes;
}

/* A tensor of sample e->n + 1 named by the options, or an error. */
static const struct dl_tensor *
need(const struct dl_export *e, const struct dl_record *rec, const char *what, const char *name)
{
	const struct dl_tensor *t = dl_record_find(rec, name);

	if (!t)
		dl_seterr(DL_EFORMAT, "sample %llu has no %stensor '%s'",
		    (unsigned long long)e->n + 1, what, name);
	return t;
}

/* The class of sample i's tensor name: a scalar's value, else the index
 * of the largest element (*prob: its value; a one-hot label, or p).  0 and
 * *k, or -1 when absent or empty. */
static int
class_of(const struct dl_record *rec, const char *name, int batched, uint64_t i, double *k,
    double *prob)
{
	const struct dl_tensor *t = dl_record_find(rec, name);
	struct dl_tensor v;
	uint64_t n, best = 0;

	if (!t || !dl_dtype_size(t->dtype) || (batched && t->ndim < 1))
		return -1;
	view(t, batched, i, &v);
	if (!(n = dl_tensor_count(&v)))
		return -1;
	if (n == 1) {
		*k = dl_tensor_get(&v, 0);
		*prob = NAN;
		return 0;
	}
	for (uint64_t j = 1; j < n; j++)	/* NaN never the largest */
		if (dl_tensor_get(&v, j) > dl_tensor_get(&v, best) || isnan(dl_tensor_get(&v, best)))
			best = j;
	*k = (double)best;
	*prob = dl_tensor_get(&v, best);
	return 0;
}

/* Control characters (a tab or newline would be taken as the label's
 * own) as '?'. */
static void
printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			*s = '?';
}

/* Class k's name, else its number, into buf. */
static void
class_name(const struct dl_export *e, double k, char *buf, size_t n)
{
	if (k >= 0 && k < e->n_classes && k == floor(k) && *e->classes[(int)k])
		snprintf(buf, n, "%s", e->classes[(int)k]);
	else
		snprintf(buf, n, "%.6g", k);
	printable(buf);
}

/* Sample i's label: a line per --label field. */
static int
put_label(struct dl_export *e, const struct dl_record *rec, int batched, uint64_t i)
{
	char text[MAX_LABEL * 320], name[280], *t = text;
	double y, py, k, prob;
	int has_y = class_of(rec, "y", batched, i, &y, &py) == 0;
	unsigned red = 0;

	*t = '\0';
	for (int f = 0; f < e->n_label; f++) {
		const char *key = e->label[f], *kv;
		size_t room = sizeof text - (size_t)(t - text);

		if (f)
			*t++ = '\n', room--;
		if (!strcmp(key, "y") || !strcmp(key, "p")) {
			if (class_of(rec, key, batched, i, &k, &prob) < 0) {
				t += snprintf(t, room, "no %s", key);
				continue;
			}
			class_name(e, k, name, sizeof name);
			if (key[0] == 'p' && prob >= 0 && prob <= 1)	/* cut before " 97%" */
				t += snprintf(t, room, "%s\t %d%%", name, (int)floor(prob * 100));
			else
				t += snprintf(t, room, "%s", name);
			if (key[0] == 'p' && has_y && k != y)
				red |= 1u << f;
		} else {
			kv = dl_record_get(rec, key);
			snprintf(name, sizeof name, "%s", kv ? kv : "-");
			printable(name);
			t += snprintf(t, room, "%s", name);
		}
	}
	return dl_montage_label(e->m, text, red);
}

static int
put_sample(struct dl_export *e, const struct dl_record *rec, int batched, uint64_t i)
{
	const struct dl_tensor *img, *ov, *t;
	struct dl_tensor vi, vo;
	int rc;

	if (e->o->fmt == DL_EXPORT_NPY) {
		for (int k = 0; k < e->n_npy; k++) {
			if (!(t = need(e, rec, "", e->npy[k].name)))
				return -DL_EFORMAT;
			view(t, batched, i, &vi);
			if ((rc = put_npy(e, &vi, &e->npy[k])) < 0)
				return rc;
		}
		return 0;
	}
	if (!(img = need(e, rec, "image ", e->o->image)))
		return -DL_EFORMAT;
	view(img, batched, i, &vi);
	if (e->o->fmt == DL_EXPORT_PNG)
		return put_png(e, &vi, dl_record_get(rec, "id"));
	ov = NULL;
	if (e->o->overlay) {
		if (!(ov = need(e, rec, "overlay ", e->o->overlay)))
			return -DL_EFORMAT;
		view(ov, batched, i, &vo);
		ov = &vo;
	}
	if ((rc = dl_montage_add(e->m, &vi, ov)) < 0 || !e->n_label)
		return rc;
	return put_label(e, rec, batched, i);
}

/* The samples of batch record recno: the leading dimension every tensor has. */
static long long
batch_rows(const struct dl_export *e, const struct dl_record *rec, uint64_t recno)
{
	const struct dl_tensor *x = dl_record_find(rec, e->o->fmt == DL_EXPORT_NPY ?
	    e->npy[0].name : e->o->image);
	uint64_t n = x && x->ndim > 0 ? x->shape[0] : 0;

	for (int k = 0; k < rec->n_tensors; k++)
		if (rec->tensors[k].ndim < 1 || rec->tensors[k].shape[0] != n)
			return dl_seterr(DL_ESHAPE, "batch record %llu: tensor %s has no "
			    "leading batch dimension of %llu", (unsigned long long)recno,
			    rec->tensors[k].name, (unsigned long long)n);
	return (long long)n;
}

long long
dl_export_record(struct dl_export *e, const struct dl_record *rec, int batched, long long max,
    uint64_t recno)
{
	long long n = 1, i;
	int rc;

	if (e->o->fmt == DL_EXPORT_NPY && !e->n_npy && (rc = setup_npy(e, rec)) < 0)
		return rc;
	if (batched && (n = batch_rows(e, rec, recno)) < 0)
		return n;
	for (i = 0; i < n && (max < 0 || i < max); i++) {
		if ((rc = put_sample(e, rec, batched, (uint64_t)i)) < 0)
			return rc;
		e->n++;
	}
	return i;
}

int
dl_export_close(struct dl_export *e, int rc)
{
	struct dl_tensor grid;

	if (rc == 0 && e->o->fmt == DL_EXPORT_MONTAGE) {
		if ((rc = dl_montage_render(e->m, &grid)) == 0) {
			rc = dl_png_save(e->o->out, &grid);
			dl_tensor_drop(&grid);
		}
	}
	for (int k = 0; k < e->n_npy; k++) {
		if (!e->npy[k].w)
			continue;
		if (rc < 0)
			dl_npy_abort(e->npy[k].w);
		else
			rc = dl_npy_close(e->npy[k].w);
	}
	dl_montage_free(e->m);
	free(e->label_buf);
	free(e->class_buf);
	free(e->classes);
	free(e);
	return rc;
}
