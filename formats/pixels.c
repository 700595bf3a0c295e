/*
 * pixels.c - the small pixel conversions the import and export formats
 * share: channel counts (grey <-> RGB, alpha dropped) and any numeric
 * image to 8 bits.  Geometry (resizing, flips) lives in lib/, not here.
 */
#include <math.h>
#include <string.h>

#include "dls.h"
#include "formats.h"

/* H, W, C of an image tensor, or -DL_ESHAPE. */
static int
image_dims(const struct dl_tensor *t, uint64_t *h, uint64_t *w, uint64_t *c)
{
	char d[96];

	if (t->ndim == 2 || t->ndim == 3) {
		*h = t->shape[0];
		*w = t->shape[1];
		*c = t->ndim == 3 ? t->shape[2] : 1;
		if (*c >= 1 && *c <= 4)
			return 0;
	}
	return dl_seterr(DL_ESHAPE, "tensor %s is %s, not an image [H,W] or [H,W,C] with "
	    "C = 1..4", t->name, dl_tensor_desc(t, d, sizeof d));
}

static void
replace_data(struct dl_tensor *t, void *data, uint64_t h, uint64_t w, uint64_t c, size_t nbytes)
{
	if (t->owned)
		dl_free(t->data);
	t->data = data;
	t->owned = 1;
	t->ndim = 3;
	t->shape[0] = h;
	t->shape[1] = w;
	t->shape[2] = c;
	t->nbytes = nbytes;
}

/* BT.601 luma in 16-bit fixed point, as Pillow's convert("L"). */
static inline uint32_t
luma(uint32_t r, uint32_t g, uint32_t b)
{
	return (uint32_t)(((uint64_t)r * 19595 + (uint64_t)g * 38470 + (uint64_t)b * 7471 +
	    0x8000) >> 16);
}

int
dl_pixels_channels(struct dl_tensor *t, int channels)
{
	uint64_t h, w, c, n;
	size_t size = dl_dtype_size(t->dtype), nbytes;
	void *out;
	int rc;

	if ((rc = image_dims(t, &h, &w, &c)) < 0)
		return rc;
	if (channels != 1 && channels != 3)
		return dl_seterr(DL_EUSAGE, "channels must be 1 or 3, not %d", channels);
	if (t->dtype != DL_U8 && t->dtype != DL_U16)
		return dl_seterr(DL_ESHAPE, "tensor %s: channel conversion needs u8 or u16, "
		    "not %s", t->name, dl_dtype_name(t->dtype));
	n = h * w;
	if (c == (uint64_t)channels) {
		if (t->ndim == 2) {
			t->ndim = 3;
			t->shape[2] = 1;
		}
		return 0;
	}
	nbytes = (size_t)(n * (uint64_t)channels * size);
	if (!(out = dl_alloc(nbytes)))
		return -DL_ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t px[4] = { 0 }, v;

		for (uint64_t k = 0; k < c; k++)
			px[k] = size == 1 ? ((const uint8_t *)t->data)[i * c + k] :
			    ((const uint16_t *)t->data)[i * c + k];
		if (channels == 1) {
			v = c >= 3 ? luma(px[0], px[1], px[2]) : px[0];
			if (size == 1)
				((uint8_t *)out)[i] = (uint8_t)v;
			else
				((uint16_t *)out)[i] = (uint16_t)v;
		} else {
			for (int k = 0; k < 3; k++) {
				v = c >= 3 ? px[k] : px[0];
				if (size == 1)
					((uint8_t *)out)[i * 3 + k] = (uint8_t)v;
				else
					((uint16_t *)out)[i * 3 + k] = (uint16_t)v;
			}
		}
	}
	replace_data(t, out, h, w, (uint64_t)channels, nbytes);
	return 0;
}

int
dl_pixels_to_u8(const struct dl_tensor *src, int normalise, struct dl_tensor *dst)
{
	uint64_t h, w, c, n;
	uint8_t *out;
	double lo = 0, hi = 0, v;
	int rc, isfloat;

	memset(dst, 0, sizeof *dst);
	if ((rc = image_dims(src, &h, &w, &c)) < 0)
		return rc;
	if (!dl_dtype_size(src->dtype) || src->dtype == DL_BOOL)
		return dl_seterr(DL_ESHAPE, "tensor %s: cannot make pixels of %s", src->name,
		    dl_dtype_name(src->dtype) ? dl_dtype_name(src->dtype) : "this dtype");
	n = h * w * c;
	if (!(out = dl_alloc((size_t)n)))
		return -DL_ENOMEM;
	isfloat = src->dtype == DL_F16 || src->dtype == DL_F32 || src->dtype == DL_F64 ||
	    src->dtype == DL_BF16;
	if (normalise && n) {
		lo = INFINITY;
		hi = -INFINITY;
		for (uint64_t i = 0; i < n; i++) {
			v = dl_tensor_get(src, i);
			if (isnan(v))
				continue;
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
	}
	if (src->dtype == DL_U8 && !normalise) {
		memcpy(out, src->data, (size_t)n);
	} else if (src->dtype == DL_U16 && !normalise) {
		for (uint64_t i = 0; i < n; i++)
			out[i] = (uint8_t)(((uint32_t)((const uint16_t *)src->data)[i] * 255 +
			    32895) >> 16);
	} else {
		for (uint64_t i = 0; i < n; i++) {
			v = dl_tensor_get(src, i);
			if (normalise)
				v = hi > lo && !isnan(v) ? (v - lo) / (hi - lo) : 0;
			if (normalise || isfloat)
				v = isnan(v) ? 0 : v < 0 ? 0 : v > 1 ? 255 : floor(v * 255 + 0.5);
			else
				v = v < 0 ? 0 : v > 255 ? 255 : v;
			out[i] = (uint8_t)v;
		}
	}
	snprintf(dst->name, sizeof dst->name, "%s", src->name);
	dst->dtype = DL_U8;
	dst->ndim = 3;
	dst->shape[0] = h;
	dst->shape[1] = w;
	dst->shape[2] = c;
	dst->data = out;
	dst->nbytes = (size_t)n;
	dst->owned = 1;
	return 0;
}
