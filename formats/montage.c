/*
 * montage.c - a grid of images, optionally with a heat-map (a saliency
 * map, say) drawn with a perceptual colour map, blended over each image or
 * in the cell beside it.  Used by dl-export montage; colour maps in
 * colormap.c, pixel conversion in pixels.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dls.h"
#include "formats.h"

#define MAX_SIDE 65535		/* the montage, per side: PNG-friendly */

struct cell {
	uint8_t *px;		/* h * w * c */
	uint32_t h, w, c;	/* c: 1 or 3 */
};

struct dl_montage {
	struct dl_montage_opts o;
	struct cell *cells;
	size_t n_cells, cap;
	uint64_t n_images;
	uint32_t max_h, max_w;
	int colour;
};

struct dl_montage *
dl_montage_new(const struct dl_montage_opts *o)
{
	struct dl_montage *m;

	if (!(m = calloc(1, sizeof *m))) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	m->o = *o;
	if (!m->o.cmap)
		m->o.cmap = dl_colormap("viridis");
	if (m->o.gap < 0)
		m->o.gap = 0;
	return m;
}

static int
push(struct dl_montage *m, uint8_t *px, uint64_t h, uint64_t w, int c)
{
	struct cell *p;

	if (h > MAX_SIDE || w > MAX_SIDE) {
		free(px);
		return dl_seterr(DL_ESHAPE, "image of %llux%llu pixels is too large for a montage",
		    (unsigned long long)h, (unsigned long long)w);
	}
	if (m->n_cells == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;

		if (!(p = realloc(m->cells, cap * sizeof *p))) {
			free(px);
			return dl_seterr(DL_ENOMEM, "out of memory");
		}
		m->cells = p;
		m->cap = cap;
	}
	m->cells[m->n_cells++] = (struct cell){ px, (uint32_t)h, (uint32_t)w, (uint32_t)c };
	m->max_h = (uint32_t)h > m->max_h ? (uint32_t)h : m->max_h;
	m->max_w = (uint32_t)w > m->max_w ? (uint32_t)w : m->max_w;
	if (c == 3)
		m->colour = 1;
	return 0;
}

/* The overlay normalised to 0..255 colour-map indices, h * w of them. */
static int
heat_indices(const struct dl_tensor *ov, uint64_t h, uint64_t w, uint8_t **out)
{
	uint64_t n = h * w;
	double lo = INFINITY, hi = -INFINITY, v;
	char d[96];
	uint8_t *idx;

	*out = NULL;
	if (!((ov->ndim == 2 || (ov->ndim == 3 && ov->shape[2] == 1)) &&
	    ov->shape[0] == h && ov->shape[1] == w))
		return dl_seterr(DL_ESHAPE, "overlay %s is %s, the image is %llux%llu", ov->name,
		    dl_tensor_desc(ov, d, sizeof d), (unsigned long long)h, (unsigned long long)w);
	if (!dl_dtype_size(ov->dtype))
		return dl_seterr(DL_ESHAPE, "overlay %s: unknown dtype", ov->name);
	if (!(idx = malloc(n ? n : 1)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		v = dl_tensor_get(ov, i);
		if (isfinite(v)) {
			lo = v < lo ? v : lo;
			hi = v > hi ? v : hi;
		}
	}
	for (uint64_t i = 0; i < n; i++) {
		v = dl_tensor_get(ov, i);
		v = hi > lo && isfinite(v) ? (v - lo) / (hi - lo) : 0;
		idx[i] = (uint8_t)floor(v * 255 + 0.5);
	}
	*out = idx;
	return 0;
}

int
dl_montage_add(struct dl_montage *m, const struct dl_tensor *img, const struct dl_tensor *overlay)
{
	struct dl_tensor u = { 0 };
	uint8_t *px, *heat = NULL, *hp;
	uint64_t h, w, n;
	int rc, c;

	if ((rc = dl_pixels_to_u8(img, m->o.normalise, &u)) < 0)
		return rc;
	if (u.shape[2] == 2 || u.shape[2] == 4 || (overlay && u.shape[2] == 1 &&
	    !m->o.side_by_side)) {
		/* Alpha goes; a grey image under a coloured overlay becomes RGB. */
		if ((rc = dl_pixels_channels(&u, overlay && !m->o.side_by_side ? 3 :
		    u.shape[2] == 2 ? 1 : 3)) < 0)
			goto out;
	}
	h = u.shape[0];
	w = u.shape[1];
	c = (int)u.shape[2];
	n = h * w;
	if (overlay && (rc = heat_indices(overlay, h, w, &heat)) < 0)
		goto out;
	if (!(px = malloc(n * (uint64_t)c + 1))) {
		rc = dl_seterr(DL_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(px, u.data, (size_t)(n * (uint64_t)c));
	if (heat && !m->o.side_by_side) {
		double a = m->o.alpha;

		for (uint64_t i = 0; i < n; i++)
			for (int k = 0; k < 3; k++)
				px[i * 3 + k] = (uint8_t)floor((1 - a) * px[i * 3 + k] +
				    a * m->o.cmap[heat[i] * 3 + k] + 0.5);
	}
	if ((rc = push(m, px, h, w, c)) < 0)
		goto out;
	if (heat && m->o.side_by_side) {
		if (!(hp = malloc(n * 3 + 1))) {
			rc = dl_seterr(DL_ENOMEM, "out of memory");
			goto out;
		}
		for (uint64_t i = 0; i < n; i++)
			memcpy(hp + i * 3, m->o.cmap + heat[i] * 3, 3);
		if ((rc = push(m, hp, h, w, 3)) < 0)
			goto out;
	}
	m->n_images++;
out:
	free(heat);
	dl_tensor_drop(&u);
	return rc;
}

uint64_t
dl_montage_count(const struct dl_montage *m)
{
	return m->n_images;
}

int
dl_montage_render(struct dl_montage *m, struct dl_tensor *out)
{
	uint64_t per = m->o.side_by_side && m->n_images && m->n_cells > m->n_images ? 2 : 1;
	uint64_t cols, rows, gap = (uint64_t)m->o.gap, ch = m->colour ? 3 : 1, H, W;
	uint8_t *px;

	memset(out, 0, sizeof *out);
	if (!m->n_cells)
		return dl_seterr(DL_EFORMAT, "no images for the montage");
	cols = m->o.cols > 0 ? (uint64_t)m->o.cols :
	    (uint64_t)ceil(sqrt((double)m->n_images));
	if (cols < 1)
		cols = 1;
	cols *= per;		/* cells a row */
	if (cols > m->n_cells)
		cols = m->n_cells;
	rows = (m->n_cells + cols - 1) / cols;
	W = cols * m->max_w + (cols + 1) * gap;
	H = rows * m->max_h + (rows + 1) * gap;
	if (W > MAX_SIDE || H > MAX_SIDE || W * H * ch > ((uint64_t)1 << 30))
		return dl_seterr(DL_ESHAPE, "montage of %llux%llu pixels is too large: "
		    "fewer images or columns", (unsigned long long)W, (unsigned long long)H);
	if (!(px = dl_alloc((size_t)(H * W * ch))))
		return -DL_ENOMEM;
	memset(px, m->o.background, (size_t)(H * W * ch));
	for (size_t i = 0; i < m->n_cells; i++) {
		const struct cell *cl = &m->cells[i];
		uint64_t r = i / cols, col = i % cols;
		/* Smaller images sit centred in their cell. */
		uint64_t y0 = gap + r * (m->max_h + gap) + (m->max_h - cl->h) / 2;
		uint64_t x0 = gap + col * (m->max_w + gap) + (m->max_w - cl->w) / 2;

		for (uint64_t y = 0; y < cl->h; y++)
			for (uint64_t x = 0; x < cl->w; x++) {
				const uint8_t *s = cl->px + (y * cl->w + x) * cl->c;
				uint8_t *d = px + ((y0 + y) * W + x0 + x) * ch;

				for (uint64_t k = 0; k < ch; k++)
					d[k] = s[cl->c == 1 ? 0 : k];
			}
	}
	strcpy(out->name, "montage");
	out->dtype = DL_U8;
	out->ndim = 3;
	out->shape[0] = H;
	out->shape[1] = W;
	out->shape[2] = ch;
	out->data = px;
	out->nbytes = (size_t)(H * W * ch);
	out->owned = 1;
	return 0;
}

void
dl_montage_free(struct dl_montage *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_cells; i++)
		free(m->cells[i].px);
	free(m->cells);
	free(m);
}
