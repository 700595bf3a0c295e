/*
 * import.c - the tensors of a sample as dl-import writes them: x from an
 * array item or an image (converted to f32 or to other channels), y as a
 * class or a target.  The readers are formats/idx.c, npy.c, png.c and
 * archive.c.
 */
#include <stdint.h>
#include <string.h>

#include "dlpipe.h"
#include "import.h"
#include "formats.h"

/* The tensor over item, data borrowed. */
static void
item_tensor(struct dl_tensor *t, const char *name, const void *item, int dtype, int ndim,
    const uint64_t *shape)
{
	uint64_t n = 1;

	memset(t, 0, sizeof *t);
	strcpy(t->name, name);
	t->dtype = dtype;
	t->ndim = ndim;
	memcpy(t->shape, shape, sizeof *shape * (size_t)ndim);
	for (int i = 0; i < ndim; i++)
		n *= shape[i];
	t->data = (void *)item;
	t->nbytes = (size_t)n * dl_dtype_size(dtype);
}

static int
is_float(int dtype)
{
	return dtype == DL_F16 || dtype == DL_F32 || dtype == DL_F64 || dtype == DL_BF16;
}

/* Add name to rec as f32 values converted from t. */
static int
add_f32(struct dl_record *rec, const char *name, const struct dl_tensor *t)
{
	struct dl_tensor *x;

	if (!(x = dl_record_add(rec, name, DL_F32, t->ndim, t->shape)))
		return -DL_ENOMEM;
	dl_to_f32(t->data, t->dtype, dl_tensor_count(t), x->data);
	return 0;
}

int
dl_import_x(struct dl_record *rec, const void *item, int dtype, int ndim, const uint64_t *shape,
    int channels)
{
	struct dl_tensor t, *x;
	int rc;

	item_tensor(&t, "x", item, dtype, ndim, shape);
	if (dtype == DL_F16 || dtype == DL_F64 || dtype == DL_BF16)
		return add_f32(rec, "x", &t);
	if (channels) {
		if (ndim != 3 || (dtype != DL_U8 && dtype != DL_U16))
			return dl_seterr(DL_ESHAPE, "--%s needs u8 images [H,W,C], not %s",
			    channels == 1 ? "grey" : "rgb", dl_tensor_desc(&t, (char[96]){ 0 }, 96));
		if ((rc = dl_pixels_channels(&t, channels)) < 0)
			return rc;
		if (!(x = dl_record_add(rec, "x", t.dtype, t.ndim, t.shape))) {
			dl_tensor_drop(&t);
			return -DL_ENOMEM;
		}
		memcpy(x->data, t.data, t.nbytes);
		if (t.data != item)
			dl_tensor_drop(&t);
		return 0;
	}
	return dl_record_add_ref(rec, "x", dtype, ndim, shape, (void *)item) ? 0 : -DL_ENOMEM;
}

int
dl_import_y(struct dl_record *rec, const void *item, int dtype, int ndim, const uint64_t *shape,
    int n_classes, const char *file, long long sample)
{
	struct dl_tensor t, *y;
	double v;

	item_tensor(&t, "y", item, dtype, ndim, shape);
	if (!is_float(dtype) && ndim == 0) {
		v = dl_tensor_get(&t, 0);
		if (v < 0 || v > INT32_MAX || (n_classes && v >= n_classes))
			return dl_seterr(DL_EFORMAT, "%s: label %lld of sample %lld is outside "
			    "0..%d", file, (long long)v, sample, n_classes ? n_classes - 1 : INT32_MAX);
		if (!(y = dl_record_add(rec, "y", DL_I32, 0, NULL)))
			return -DL_ENOMEM;
		*(int32_t *)y->data = (int32_t)v;
		return 0;
	}
	if (is_float(dtype) && dtype != DL_F32)
		return add_f32(rec, "y", &t);
	return dl_record_add_ref(rec, "y", dtype, ndim, shape, (void *)item) ? 0 : -DL_ENOMEM;
}

int
dl_import_check_arrays(const struct dl_array_info *xi, const char *xf,
    const struct dl_array_info *yi, const char *yf, int is_idx)
{
	if (yi && xi->ndim == 1 && yi->ndim >= 3)
		return dl_seterr(DL_EUSAGE, "%s holds one number per item and %s holds images: "
		    "the operands are swapped (images first, then labels)", xf, yf);
	if (is_idx && xi->ndim == 1)
		return dl_seterr(DL_EUSAGE, "%s holds one number per item (labels?), not images: "
		    "give the images file first, then the labels", xf);
	if (yi && yi->shape[0] != xi->shape[0])
		return dl_seterr(DL_EFORMAT, "%s has %llu labels, %s has %llu samples: the counts "
		    "must match", yf, (unsigned long long)yi->shape[0], xf,
		    (unsigned long long)xi->shape[0]);
	return 0;
}

int
dl_import_image(struct dl_record *rec, struct dl_tensor *t, int32_t y, const char *id,
    int rh, int rw, int flags)
{
	struct dl_tensor *yt;
	int rc;

	if (rh && (rc = dl_image_resize(t, rh, rw, flags)) < 0) {
		dl_errprefix("%s", id);
		return rc;
	}
	dl_record_clear(rec, DL_TAG_DATA);
	if (!dl_record_add_ref(rec, "x", t->dtype, t->ndim, t->shape, t->data) ||
	    (y >= 0 && !(yt = dl_record_add(rec, "y", DL_I32, 0, NULL))))
		return dl_seterr(DL_ENOMEM, "out of memory");
	if (y >= 0)
		*(int32_t *)yt->data = y;
	return dl_record_set(rec, "id", id);
}

int
dl_classes_count(const char *list)
{
	int n = 1;

	for (const char *p = list; *p; p++)
		n += *p == ',';
	return n;
}
