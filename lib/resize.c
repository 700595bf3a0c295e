/*
 * resize.c - an image to a fixed height and width for dl-import --resize:
 * area averaging along an axis that shrinks (every source pixel counts,
 * by the fraction of it an output pixel covers: no aliasing of a 4000
 * pixel photograph into 28), bilinear along one that grows.  The aspect
 * ratio is kept: by default the centre of the image is cropped to the
 * target's aspect first (the whole output is picture, as torchvision's
 * Resize + CenterCrop); DL_RESIZE_PAD scales the whole image into the
 * target and pads the sides with 0 (black) instead.  The two axes are
 * separable: rows first, then columns, in float.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "import.h"

struct tap {
	int first, n;		/* source pixels first .. first + n - 1 */
	float *w;		/* their weights, summing to 1 */
};

/* Weights for out output pixels over the source span [lo, lo + len). */
static int
taps(struct tap *t, int out, int lo, int len, float *pool)
{
	double s = (double)len / out;

	for (int i = 0; i < out; i++) {
		struct tap *p = t + i;

		p->w = pool;
		if (s > 1) {	/* area: [i*s, (i+1)*s) */
			double a = i * s, b = (i + 1) * s, sum = 0;
			int j0 = (int)floor(a), j1 = (int)ceil(b);

			if (j1 > len)
				j1 = len;
			p->first = lo + j0;
			p->n = j1 - j0;
			for (int j = j0; j < j1; j++)
				sum += p->w[j - j0] = (float)(fmin(b, j + 1) - fmax(a, j));
			for (int j = 0; j < p->n; j++)
				p->w[j] = (float)(p->w[j] / sum);
		} else {	/* bilinear, pixel centres aligned */
			double c = (i + 0.5) * s - 0.5;
			int j = (int)floor(c);
			double f = c - j;

			if (j < 0)
				j = 0, f = 0;
			if (j >= len - 1)
				j = len - 1, f = 0;
			p->first = lo + j;
			p->n = f > 0 ? 2 : 1;
			p->w[0] = (float)(1 - f);
			p->w[1] = (float)f;
		}
		pool += p->n > 2 ? p->n : 2;
	}
	return 0;
}

static size_t
pool_size(int out, int len)
{
	return (size_t)out * ((size_t)(len / out) + 3);
}

int
dl_image_resize(struct dl_tensor *t, int oh, int ow, int flags)
{
	int h = (int)t->shape[0], w = (int)t->shape[1], c = (int)t->shape[2];
	int y0 = 0, x0 = 0, sh = h, sw = w, th = oh, tw = ow, dy = 0, dx = 0;
	int u16 = t->dtype == DL_U16;
	double maxv = u16 ? 65535 : 255;
	struct tap *ty = NULL, *tx = NULL;
	float *py = NULL, *px = NULL, *mid = NULL;
	void *out = NULL;
	size_t esz = u16 ? 2 : 1, nbytes;
	int rc = -DL_ENOMEM;

	if (t->ndim != 3 || (t->dtype != DL_U8 && !u16) || h < 1 || w < 1 || oh < 1 || ow < 1)
		return dl_seterr(DL_ESHAPE, "--resize needs u8 or u16 images [H,W,C], not %s",
		    dl_tensor_desc(t, (char[96]){ 0 }, 96));
	if (h == oh && w == ow)
		return 0;
	if (!(flags & DL_RESIZE_PAD)) {	/* crop the centre to oh:ow */
		if ((double)w * oh > (double)h * ow)
			sw = (int)fmax(1, llround((double)h * ow / oh)), x0 = (w - sw) / 2;
		else
			sh = (int)fmax(1, llround((double)w * oh / ow)), y0 = (h - sh) / 2;
	} else {			/* fit inside, pad the rest */
		if ((double)w * oh > (double)h * ow)
			th = (int)fmax(1, llround((double)h * ow / w)), dy = (oh - th) / 2;
		else
			tw = (int)fmax(1, llround((double)w * oh / h)), dx = (ow - tw) / 2;
	}
	nbytes = (size_t)oh * ow * c * esz;
	if (!(ty = calloc((size_t)th, sizeof *ty)) || !(tx = calloc((size_t)tw, sizeof *tx)) ||
	    !(py = malloc(pool_size(th, sh) * sizeof *py)) ||
	    !(px = malloc(pool_size(tw, sw) * sizeof *px)) ||
	    !(mid = malloc((size_t)th * w * c * sizeof *mid)) || !(out = dl_alloc(nbytes)))
		goto out;
	memset(out, 0, nbytes);
	taps(ty, th, y0, sh, py);
	taps(tx, tw, x0, sw, px);
	/* rows: mid[th][w][c] */
	for (int i = 0; i < th; i++)
		for (int x = 0; x < w * c; x++) {
			float v = 0;

			for (int k = 0; k < ty[i].n; k++) {
				size_t at = (size_t)(ty[i].first + k) * w * c + x;

				v += ty[i].w[k] * (float)(u16 ? ((uint16_t *)t->data)[at]
				    : ((uint8_t *)t->data)[at]);
			}
			mid[(size_t)i * w * c + x] = v;
		}
	/* columns: out[dy + i][dx + j] */
	for (int i = 0; i < th; i++)
		for (int j = 0; j < tw; j++)
			for (int ch = 0; ch < c; ch++) {
				float v = 0;
				size_t at = ((size_t)(dy + i) * ow + dx + j) * c + ch;
				double r;

				for (int k = 0; k < tx[j].n; k++)
					v += tx[j].w[k] * mid[((size_t)i * w + tx[j].first + k) * c + ch];
				r = fmin(maxv, fmax(0, round(v)));
				if (u16)
					((uint16_t *)out)[at] = (uint16_t)r;
				else
					((uint8_t *)out)[at] = (uint8_t)r;
			}
	if (t->owned)
		dl_free(t->data);
	t->data = out;
	t->owned = 1;
	t->shape[0] = (uint64_t)oh;
	t->shape[1] = (uint64_t)ow;
	t->nbytes = nbytes;
	out = NULL;
	rc = 0;
out:
	if (rc < 0)
		dl_seterr(DL_ENOMEM, "--resize: out of memory");
	dl_free(out);
	free(ty);
	free(tx);
	free(py);
	free(px);
	free(mid);
	return rc;
}

int
dl_resize_parse(const char *s, int *h, int *w)
{
	char *end;
	long a, b;

	a = strtol(s, &end, 10);
	if (end == s || (*end != 'x' && *end != 'X'))
		return -1;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (end == s || *end || a < 1 || b < 1 || a > 65535 || b > 65535)
		return -1;
	*h = (int)a, *w = (int)b;
	return 0;
}
