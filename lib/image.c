/*
 * image.c - one affine warp (bilinear, three border modes) that covers
 * flips, moves, scaling, rotation and crops in a single matrix per image;
 * an exact copy path when the matrix is integral; AlexNet PCA lighting;
 * image tensors as f32 HWC and their bilinear resize for lib/dream.c.
 * The statistics that lighting uses come from lib/stats.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "image.h"

static const char *border_names[] = { "zero", "edge", "reflect" };

int
dl_border_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, border_names[i]))
			return i;
	return -1;
}

const char *
dl_border_name(int border)
{
	return border >= 0 && border < 3 ? border_names[border] : NULL;
}

void
dl_affine_make(struct dl_affine *a, int h, int w, int flip_h, int flip_v, double s,
               double deg, double dx, double dy, int ox, int oy)
{
	double co, si, cx = (w - 1) / 2.0, cy = (h - 1) / 2.0, tx, ty;
	double q = deg / 90;

	if (q == floor(q)) {	/* quarter turns: no rounding in cos/sin */
		static const int cs[4][2] = { { 1, 0 }, { 0, 1 }, { -1, 0 }, { 0, -1 } };
		int k = (int)fmod(fmod(q, 4) + 4, 4);
		co = cs[k][0];
		si = cs[k][1];
	} else {
		co = cos(deg * M_PI / 180);
		si = sin(deg * M_PI / 180);
	}
	/* Forward: p' = c + s R (F p - c) + d, R = [cos sin; -sin cos] (y
	 * down).  Inverse: F p = c + A (p' - d - c), A = R^T / s, with p' =
	 * output pixel + crop corner. */
	a->m[0] = co / s;
	a->m[1] = -si / s;
	a->m[3] = si / s;
	a->m[4] = co / s;
	tx = ox - dx - cx;
	ty = oy - dy - cy;
	a->m[2] = a->m[0] * tx + a->m[1] * ty + cx;
	a->m[5] = a->m[3] * tx + a->m[4] * ty + cy;
	if (flip_h) {
		a->m[0] = -a->m[0];
		a->m[1] = -a->m[1];
		a->m[2] = (w - 1) - a->m[2];
	}
	if (flip_v) {
		a->m[3] = -a->m[3];
		a->m[4] = -a->m[4];
		a->m[5] = (h - 1) - a->m[5];
	}
}

int
dl_affine_is_integral(const struct dl_affine *a)
{
	for (int i = 0; i < 6; i++)
		if (a->m[i] != floor(a->m[i]) || fabs(a->m[i]) > 1e9)
			return 0;
	return 1;
}

/* Index i of a row or column of n pixels under the border mode; -1: zero. */
static inline long
border_index(long i, long n, int border)
{
	if (i >= 0 && i < n)
		return i;
	switch (border) {
	case DL_BORDER_EDGE:
		return i < 0 ? 0 : n - 1;
	case DL_BORDER_REFLECT:
		i %= 2 * n;
		if (i < 0)
			i += 2 * n;
		return i < n ? i : 2 * n - 1 - i;
	default:
		return -1;
	}
}

static inline float
load(const void *src, int dtype, size_t i)
{
	return dtype == DL_U8 ? ((const uint8_t *)src)[i] : ((const float *)src)[i];
}

/* Output values are in source units (0..255 for u8): scale on storing
 * (scale is 1, 1/255 for u8 to f32, or 255 for f32 to u8). */
static void
store_row(void *dst, int dst_dtype, size_t off, const float *row, size_t n, float scale)
{
	if (dst_dtype == DL_F32) {	/* from u8 (row may be d): value/255 exactly */
		float *d = (float *)dst + off;
		for (size_t i = 0; i < n; i++)
			d[i] = row[i] / 255.0f;
	} else {
		uint8_t *d = (uint8_t *)dst + off;
		for (size_t i = 0; i < n; i++) {
			float v = row[i] * scale;
			d[i] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5f);
		}
	}
}

static void
warp_copy(const void *src, int st, int h, int w, int c, float *row, void *dst, int dt,
          int oh, int ow, const struct dl_affine *a, int border, float scale)
{
	long m[6];

	for (int i = 0; i < 6; i++)
		m[i] = (long)a->m[i];
	if (st == dt && st == DL_U8) {	/* u8 to u8: bytes, no arithmetic */
		const uint8_t *s = src;
		uint8_t *d = dst;
		for (long y = 0; y < oh; y++)
			for (long x = 0; x < ow; x++, d += c) {
				long sx = border_index(m[0] * x + m[1] * y + m[2], w, border);
				long sy = border_index(m[3] * x + m[4] * y + m[5], h, border);
				if (sx < 0 || sy < 0)
					memset(d, 0, c);
				else
					memcpy(d, s + ((size_t)sy * w + sx) * c, c);
			}
		return;
	}
	for (long y = 0; y < oh; y++) {
		float *r0 = dt == DL_F32 ? (float *)dst + (size_t)y * ow * c : row, *r = r0;
		for (long x = 0; x < ow; x++, r += c) {
			long sx = border_index(m[0] * x + m[1] * y + m[2], w, border);
			long sy = border_index(m[3] * x + m[4] * y + m[5], h, border);
			size_t o = ((size_t)sy * w + sx) * c;
			for (int k = 0; k < c; k++)
				r[k] = sx < 0 || sy < 0 ? 0 : load(src, st, o + k);
		}
		if (dt != DL_F32 || scale != 1)
			store_row(dst, dt, (size_t)y * ow * c, r0, (size_t)ow * c, scale);
	}
}

/* Bilinear: the four taps around (sx, sy); outside taps follow border. */
#define BILINEAR(T)							\
static inline __attribute__((always_inline)) void			\
bilinear_##T(const T *s, int h, int w, int c, float *row, void *dst,	\
             int dt, int oh, int ow, const struct dl_affine *a,	\
             int border, float scale)					\
{									\
	/* Into f32, the u8 scale rides on the weights: no second pass. */ \
	float ws = dt == DL_F32 ? scale : 1;				\
									\
	for (int y = 0; y < oh; y++) {					\
		double bx = a->m[1] * y + a->m[2], by = a->m[4] * y + a->m[5]; \
		float *r0 = dt == DL_F32 ? (float *)dst + (size_t)y * ow * c : row; \
		float *r = r0;						\
		for (int x = 0; x < ow; x++, r += c) {			\
			double sx = a->m[0] * x + bx, sy = a->m[3] * x + by; \
			long x0 = (long)floor(sx), y0 = (long)floor(sy);	\
			float fx = (float)(sx - x0), fy = (float)(sy - y0);	\
			float w00 = (1 - fx) * (1 - fy) * ws, w01 = fx * (1 - fy) * ws; \
			float w10 = (1 - fx) * fy * ws, w11 = fx * fy * ws;	\
			if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) { \
				const T *p = s + ((size_t)y0 * w + x0) * c;	\
				const T *q = p + (size_t)w * c;			\
				for (int k = 0; k < c; k++)			\
					r[k] = w00 * p[k] + w01 * p[c + k] +	\
					    w10 * q[k] + w11 * q[c + k];	\
				continue;					\
			}							\
			if (border == DL_BORDER_ZERO && (x0 < -1 || y0 < -1 ||	\
			    x0 >= w || y0 >= h)) {				\
				memset(r, 0, c * sizeof *r);			\
				continue;					\
			}							\
			long xa = border_index(x0, w, border);			\
			long xb = border_index(x0 + 1, w, border);		\
			long ya = border_index(y0, h, border);			\
			long yb = border_index(y0 + 1, h, border);		\
			for (int k = 0; k < c; k++) {				\
				float v = 0;					\
				if (ya >= 0 && xa >= 0)				\
					v += w00 * s[((size_t)ya * w + xa) * c + k]; \
				if (ya >= 0 && xb >= 0)				\
					v += w01 * s[((size_t)ya * w + xb) * c + k]; \
				if (yb >= 0 && xa >= 0)				\
					v += w10 * s[((size_t)yb * w + xa) * c + k]; \
				if (yb >= 0 && xb >= 0)				\
					v += w11 * s[((size_t)yb * w + xb) * c + k]; \
				r[k] = v;					\
			}							\
		}								\
		if (dt != DL_F32)					\
			store_row(dst, dt, (size_t)y * ow * c, r0, (size_t)ow * c, scale); \
	}									\
}									\
/* Grey and RGB get loops with the channel count known. */		\
static void								\
warp_bilinear_##T(const T *s, int h, int w, int c, float *row, void *dst, \
                  int dt, int oh, int ow, const struct dl_affine *a,	\
                  int border, float scale)				\
{									\
	if (c == 1)							\
		bilinear_##T(s, h, w, 1, row, dst, dt, oh, ow, a, border, scale); \
	else if (c == 3)						\
		bilinear_##T(s, h, w, 3, row, dst, dt, oh, ow, a, border, scale); \
	else								\
		bilinear_##T(s, h, w, c, row, dst, dt, oh, ow, a, border, scale); \
}
BILINEAR(uint8_t)
BILINEAR(float)

int
dl_image_warp(const void *src, int src_dtype, int h, int w, int c, void *dst,
              int dst_dtype, int oh, int ow, const struct dl_affine *a, int border)
{
	float *row, scale;
	float stackrow[1024];

	if ((src_dtype != DL_U8 && src_dtype != DL_F32) ||
	    (dst_dtype != DL_U8 && dst_dtype != DL_F32))
		return dl_seterr(DL_EUSAGE, "warp: images must be u8 or f32");
	if (h < 1 || w < 1 || c < 1 || oh < 1 || ow < 1)
		return dl_seterr(DL_EUSAGE, "warp: empty image");
	if (border < 0 || border > DL_BORDER_REFLECT)
		return dl_seterr(DL_EUSAGE, "warp: unknown border mode %d", border);
	/* The row buffer holds values in source units; a f32 destination
	 * row can serve as its own buffer. */
	scale = src_dtype == dst_dtype ? 1 : src_dtype == DL_U8 ? 1 / 255.0f : 255;
	row = stackrow;
	if ((size_t)ow * c > sizeof stackrow / sizeof *stackrow &&
	    !(row = dl_alloc((size_t)ow * c * sizeof *row)))
		return -DL_ENOMEM;
	if (dl_affine_is_integral(a))
		warp_copy(src, src_dtype, h, w, c, row, dst, dst_dtype, oh, ow, a, border, scale);
	else if (src_dtype == DL_U8)
		warp_bilinear_uint8_t(src, h, w, c, row, dst, dst_dtype, oh, ow, a, border, scale);
	else
		warp_bilinear_float(src, h, w, c, row, dst, dst_dtype, oh, ow, a, border, scale);
	if (row != stackrow)
		dl_free(row);
	return 0;
}

void
dl_image_add_colour(float *x, uint64_t n, int c, const float *delta)
{
	for (uint64_t i = 0; i < n; i++, x += c)
		for (int k = 0; k < c; k++)
			x[k] += delta[k];
}

void
dl_lighting_delta(struct dl_rng *r, double sigma, int c, const float *eigval,
                  const float *eigvec, float *delta)
{
	double d[16] = { 0 };

	for (int i = 0; i < c; i++) {
		double alpha = sigma * dl_rng_normal(r);
		for (int k = 0; k < c; k++)
			d[k] += eigvec[i * c + k] * alpha * eigval[i];
	}
	for (int k = 0; k < c; k++)
		delta[k] = (float)d[k];
}

/* ---- per-sample augmentation ---- */
int
dl_augment_resamples(const struct dl_augment *a)
{
	return a->rotate_lo != 0 || a->rotate_hi != 0 || (a->scale_lo > 0 && (a->scale_lo != 1 || a->scale_hi != 1));
}

int
dl_augment_out_dtype(const struct dl_augment *a, int in_dtype)
{
	if (a->out_dtype == DL_U8 || a->out_dtype == DL_F32)
		return a->out_dtype;
	return dl_augment_resamples(a) || a->lighting > 0 ? DL_F32 : in_dtype;
}

void
dl_augment_out_size(const struct dl_augment *a, int h, int w, int *oh, int *ow)
{
	*oh = a->crop_h > 0 ? a->crop_h : h;
	*ow = a->crop_w > 0 ? a->crop_w : w;
}

/* A whole number in [lo, hi] (either order). */
static int
draw_int(struct dl_rng *r, int lo, int hi)
{
	if (lo > hi) {
		int t = lo;
		lo = hi;
		hi = t;
	}
	return lo + (int)dl_rng_below(r, (uint64_t)(hi - lo) + 1);
}

int
dl_augment_image(const struct dl_augment *a, struct dl_rng *r, const void *src,
                 int src_dtype, int h, int w, int c, void *dst)
{
	struct dl_affine m;
	int fh = 0, fv = 0, dx = 0, dy = 0, ox = 0, oy = 0, oh, ow, rc;
	int dt = dl_augment_out_dtype(a, src_dtype);
	double s = 1, deg = 0;
	float delta[16], *tmp = NULL;

	if (a->lighting > 0 && c != a->light_c)
		return dl_seterr(DL_ESHAPE, "lighting: the image has %d channels, the PCA %d",
		                 c, a->light_c);
	/* Draw everything first, in a fixed order. */
	if (a->flip_h)
		fh = dl_rng_u64(r) >> 63;
	if (a->flip_v)
		fv = dl_rng_u64(r) >> 63;
	if (a->move > 0) {
		dx = draw_int(r, -a->move, a->move);
		dy = draw_int(r, -a->move, a->move);
	}
	if (a->scale_lo > 0 && (a->scale_lo != 1 || a->scale_hi != 1))
		s = a->scale_lo + (a->scale_hi - a->scale_lo) * dl_rng_uniform(r);
	if (a->rotate_lo != 0 || a->rotate_hi != 0)
		deg = a->rotate_lo + (a->rotate_hi - a->rotate_lo) * dl_rng_uniform(r);
	dl_augment_out_size(a, h, w, &oh, &ow);
	if (a->crop_h > 0)
		oy = draw_int(r, 0, h - oh);
	if (a->crop_w > 0)
		ox = draw_int(r, 0, w - ow);
	if (a->lighting > 0)
		dl_lighting_delta(r, a->lighting, c, a->eigval, a->eigvec, delta);

	dl_affine_make(&m, h, w, fh, fv, s, deg, dx, dy, ox, oy);
	if (a->lighting <= 0 || dt == DL_F32) {
		if ((rc = dl_image_warp(src, src_dtype, h, w, c, dst, dt, oh, ow, &m, a->border)) < 0)
			return rc;
		if (a->lighting > 0)
			dl_image_add_colour(dst, (uint64_t)oh * ow, c, delta);
		return 0;
	}
	/* Lighting into a u8 image: through f32. */
	if (!(tmp = dl_alloc((size_t)oh * ow * c * sizeof *tmp)))
		return -DL_ENOMEM;
	if ((rc = dl_image_warp(src, src_dtype, h, w, c, tmp, DL_F32, oh, ow, &m, a->border)) == 0) {
		dl_image_add_colour(tmp, (uint64_t)oh * ow, c, delta);
		rc = dl_image_warp(tmp, DL_F32, oh, ow, c, dst, DL_U8, oh, ow,
		                   &(struct dl_affine){ { 1, 0, 0, 0, 1, 0 } }, a->border);
	}
	dl_free(tmp);
	return rc;
}

/* ---- f32 images for the nets ------------------------------------------------ */

int
dl_image_dims(const struct dl_tensor *t, int batched, int *n, int *h, int *w, int *c)
{
	int lead = batched ? 1 : 0;

	if (t->ndim - lead < 2 || t->ndim - lead > 3)
		return -1;
	*n = lead ? (int)t->shape[0] : 1;
	*h = (int)t->shape[lead];
	*w = (int)t->shape[lead + 1];
	*c = t->ndim - lead == 3 ? (int)t->shape[lead + 2] : 1;
	return 0;
}

int
dl_explain_image(const struct dl_tensor *x, int c, float **out, int *h, int *w)
{
	int ic, ih, iw;
	float *o;

	if (x->ndim == 2)
		ic = 1;
	else if (x->ndim == 3 && x->shape[2] >= 1 && x->shape[2] <= 4)
		ic = (int)x->shape[2];
	else
		return dl_seterr(DL_ESHAPE, "image: expected [H,W] or [H,W,C] with C 1..4");
	if (x->shape[0] > 1 << 16 || x->shape[1] > 1 << 16)
		return dl_seterr(DL_ESHAPE, "image: %llu x %llu is too large",
		    (unsigned long long)x->shape[0], (unsigned long long)x->shape[1]);
	ih = (int)x->shape[0];
	iw = (int)x->shape[1];
	if (!c)
		c = ic == 2 ? 1 : ic == 4 ? 3 : ic;
	if (c != 1 && c != 3 && c != ic)
		return dl_seterr(DL_ESHAPE, "image: cannot make %d channels from %d", c, ic);
	if (!(o = malloc((size_t)ih * iw * c * sizeof *o)))
		return dl_seterr(DL_ENOMEM, "image: out of memory");
	for (long i = 0; i < (long)ih * iw; i++) {
		double v[4];
		dl_to_f64((const char *)x->data + (size_t)i * ic * dl_dtype_size(x->dtype), x->dtype,
		    (uint64_t)ic, v);
		if (c == ic) {
			for (int j = 0; j < c; j++)
				o[i * c + j] = (float)v[j];
		} else if (c == 1) {
			o[i] = (float)(ic >= 3 ? 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2] : v[0]);
		} else {	/* c == 3 from 1, 2 or 4 channels */
			for (int j = 0; j < 3; j++)
				o[i * 3 + j] = (float)(ic >= 3 ? v[j] : v[0]);
		}
	}
	*out = o;
	*h = ih;
	*w = iw;
	return 0;
}

int
dl_resize_f32(const float *img, int h, int w, int c, float *dst, int oh, int ow)
{
	struct dl_affine a;
	double sx = (double)w / ow, sy = (double)h / oh;

	a.m[0] = sx;
	a.m[1] = 0;
	a.m[2] = (sx - 1) / 2;
	a.m[3] = 0;
	a.m[4] = sy;
	a.m[5] = (sy - 1) / 2;
	return dl_image_warp(img, DL_F32, h, w, c, dst, DL_F32, oh, ow, &a, DL_BORDER_EDGE);
}
