/*
 * export.c - samples to files for dl-export: PNG files named by index or
 * id, a montage with optional heat-map overlays, NPY arrays stacking one
 * tensor of every sample.  The encoders are formats/png.c, montage.c and
 * npy.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dlpipe.h"
#include "export.h"

#define MAX_NPY 16

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
};

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
	return e;
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
	return dl_montage_add(e->m, &vi, ov);
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
	free(e);
	return rc;
}

int
dl_export_check_out(const struct dl_export_opts *o)
{
	static const char *const other[] = { "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp",
	    "ppm", "pgm", "pnm", "svg", "pdf", "eps" };
	const char *base = strrchr(o->out, '/'), *ext;

	base = base ? base + 1 : o->out;
	if (!(ext = strrchr(base, '.')) || ext == base)
		return 0;
	ext++;
	if (o->fmt == DL_EXPORT_NPY)
		return 0;
	for (size_t i = 0; i <= sizeof other / sizeof *other; i++) {
		const char *e = i < sizeof other / sizeof *other ? other[i] : "png";

		if (strcasecmp(ext, e))
			continue;
		if (o->fmt == DL_EXPORT_PNG)
			return dl_seterr(DL_EUSAGE, "png: -o %s: -o names a directory that gets one "
			    "PNG file per sample (DIR/000000.png, ...); for one picture of them all "
			    "use 'dl-export montage -o %.*s.png'", o->out, (int)(ext - 1 - o->out),
			    o->out);
		if (strcasecmp(ext, "png"))
			return dl_seterr(DL_EUSAGE, "montage: -o %s: the montage is a PNG image, "
			    "not %s: name it %.*s.png (and convert it afterwards if %s is needed)",
			    o->out, ext, (int)(ext - 1 - o->out), o->out, ext);
	}
	return 0;
}
