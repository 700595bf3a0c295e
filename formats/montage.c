/*
 * montage.c - a grid of images, optionally with a heat-map (a saliency
 * map, say) drawn with a perceptual colour map, blended over each image or
 * in the cell beside it, zoomed by pixel repetition, with text under each
 * image (labels; a mistake framed in red) and a colour bar whose ends say
 * what values they stand for.  Used by dl-export montage; colour maps in
 * colormap.c, pixel conversion in pixels.c, the font in font.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dls.h"
#include "formats.h"

#define MAX_SIDE 65535		/* the montage, per side: PNG-friendly */
#define MAX_LINES 16		/* of a label */
#define FONT_W 6
#define FONT_H 13

struct cell {
	uint8_t *px;		/* h * w * c */
	uint32_t h, w, c;	/* c: 1 or 3 */
	float *heat;		/* the overlay, h * w, or NULL */
	int heat_only;		/* side by side: the overlay's own cell */
	char *label;		/* lines of text under the image, or NULL */
	unsigned red;		/* red lines (a mistake) */
};

struct dl_montage {
	struct dl_montage_opts o;
	struct cell *cells;
	size_t n_cells, cap;
	uint64_t n_images;
	uint32_t max_h, max_w;
	int colour;
	size_t last_image;	/* the cell of the image added last */
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
	if (m->o.zoom < 1)
		m->o.zoom = 1;
	return m;
}

static int
push(struct dl_montage *m, struct cell *cl)
{
	struct cell *p;

	if (m->n_cells == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 64;

		if (!(p = realloc(m->cells, cap * sizeof *p))) {
			free(cl->px);
			free(cl->heat);
			return dl_seterr(DL_ENOMEM, "out of memory");
		}
		m->cells = p;
		m->cap = cap;
	}
	m->cells[m->n_cells++] = *cl;
	m->max_h = cl->h > m->max_h ? cl->h : m->max_h;
	m->max_w = cl->w > m->max_w ? cl->w : m->max_w;
	if (cl->c == 3 || cl->heat)
		m->colour = 1;
	return 0;
}

/* The overlay as h * w floats (checked to match the image). */
static int
heat_values(const struct dl_tensor *ov, uint64_t h, uint64_t w, float **out)
{
	uint64_t n = h * w;
	char d[96];
	float *v;

	*out = NULL;
	if (!((ov->ndim == 2 || (ov->ndim == 3 && ov->shape[2] == 1)) &&
	    ov->shape[0] == h && ov->shape[1] == w))
		return dl_seterr(DL_ESHAPE, "overlay %s is %s, the image is %llux%llu", ov->name,
		    dl_tensor_desc(ov, d, sizeof d), (unsigned long long)h, (unsigned long long)w);
	if (!dl_dtype_size(ov->dtype))
		return dl_seterr(DL_ESHAPE, "overlay %s: unknown dtype", ov->name);
	if (!(v = malloc((n ? n : 1) * sizeof *v)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < n; i++)
		v[i] = (float)dl_tensor_get(ov, i);
	*out = v;
	return 0;
}

/* The finite min and max of v[n] widened into *lo, *hi. */
static void
extent(const float *v, uint64_t n, double *lo, double *hi)
{
	for (uint64_t i = 0; i < n; i++)
		if (isfinite(v[i])) {
			*lo = v[i] < *lo ? v[i] : *lo;
			*hi = v[i] > *hi ? v[i] : *hi;
		}
}

/* Colour-map index of v on lo..hi: 0 for non-finite values and an empty range. */
static int
heat_index(double v, double lo, double hi)
{
	if (!(hi > lo) || !isfinite(v))
		return 0;
	v = (v - lo) / (hi - lo);
	v = v < 0 ? 0 : v > 1 ? 1 : v;
	return (int)floor(v * 255 + 0.5);
}

int
dl_montage_add(struct dl_montage *m, const struct dl_tensor *img, const struct dl_tensor *overlay)
{
	struct dl_tensor u = { 0 };
	struct cell cl = { 0 }, hc = { 0 };
	uint64_t h, w, n;
	float *heat = NULL;
	int rc;

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
	n = h * w;
	if (overlay && (rc = heat_values(overlay, h, w, &heat)) < 0)
		goto out;
	if (h > MAX_SIDE || w > MAX_SIDE) {
		free(heat);
		rc = dl_seterr(DL_ESHAPE, "image of %llux%llu pixels is too large for a montage",
		    (unsigned long long)h, (unsigned long long)w);
		goto out;
	}
	cl = (struct cell){ .h = (uint32_t)h, .w = (uint32_t)w, .c = (uint32_t)u.shape[2] };
	if (!(cl.px = malloc(n * cl.c + 1))) {
		free(heat);
		rc = dl_seterr(DL_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(cl.px, u.data, (size_t)(n * cl.c));
	if (heat && m->o.side_by_side) {
		hc = (struct cell){ .h = cl.h, .w = cl.w, .c = 3, .heat = heat, .heat_only = 1 };
		if (!(hc.px = malloc(1))) {
			free(cl.px);
			free(heat);
			rc = dl_seterr(DL_ENOMEM, "out of memory");
			goto out;
		}
	} else {
		cl.heat = heat;
	}
	if ((rc = push(m, &cl)) < 0) {
		if (hc.px) {
			free(hc.px);
			free(hc.heat);
		}
		goto out;
	}
	m->last_image = m->n_cells - 1;
	if (hc.px && (rc = push(m, &hc)) < 0)
		goto out;
	m->n_images++;
out:
	dl_tensor_drop(&u);
	return rc;
}

int
dl_montage_label(struct dl_montage *m, const char *text, unsigned red)
{
	struct cell *cl;
	char *s;

	if (!m->n_images)
		return dl_seterr(DL_EUSAGE, "montage: a label before any image");
	cl = &m->cells[m->last_image];
	if (!(s = strdup(text)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	free(cl->label);
	cl->label = s;
	cl->red = red;
	return 0;
}

uint64_t
dl_montage_count(const struct dl_montage *m)
{
	return m->n_images;
}

/* ---- drawing -------------------------------------------------------------- */

struct canvas {
	uint8_t *px;
	uint64_t H, W, ch;
};

static const uint8_t red_rgb[3] = { 214, 39, 40 }, black_rgb[3] = { 0, 0, 0 };

static void
put(const struct canvas *cv, uint64_t y, uint64_t x, const uint8_t *rgb)
{
	uint8_t *d;

	if (y >= cv->H || x >= cv->W)
		return;
	d = cv->px + (y * cv->W + x) * cv->ch;
	if (cv->ch == 1)
		d[0] = (uint8_t)((rgb[0] * 299 + rgb[1] * 587 + rgb[2] * 114 + 500) / 1000);
	else
		memcpy(d, rgb, 3);
}

static void
fill(const struct canvas *cv, uint64_t y0, uint64_t x0, uint64_t h, uint64_t w, const uint8_t *rgb)
{
	for (uint64_t y = y0; y < y0 + h; y++)
		for (uint64_t x = x0; x < x0 + w; x++)
			put(cv, y, x, rgb);
}

/* n characters of s at (y0, x0), each font pixel an s x s block. */
static void
text(const struct canvas *cv, uint64_t y0, uint64_t x0, const char *s, size_t n, int sc,
    const uint8_t *rgb)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const uint8_t *g = dl_font_6x13[(c < 32 || c > 126 ? '?' : c) - 32];

		for (int r = 0; r < FONT_H; r++)
			for (int b = 0; b < FONT_W; b++)
				if (g[r] & (0x80 >> b))
					fill(cv, y0 + (uint64_t)(r * sc),
					    x0 + (i * FONT_W + (uint64_t)b) * (uint64_t)sc,
					    (uint64_t)sc, (uint64_t)sc, rgb);
	}
}

/* Line s[len] cut to fit max characters, a part after a tab kept whole;
 * into buf (room for max + 1), its length returned. */
static size_t
fit(const char *s, size_t len, size_t max, char *buf)
{
	const char *tab = memchr(s, '\t', len);
	size_t head = tab ? (size_t)(tab - s) : len, tail = tab ? len - head - 1 : 0, n;

	if (tail > max)
		tail = max;
	if (head + tail > max)
		head = max - tail;
	memcpy(buf, s, head);
	memcpy(buf + head, tab ? tab + 1 : "", tail);
	n = head + tail;
	buf[n] = '\0';
	return n;
}

static int
label_lines(const char *s)
{
	int n = 1;

	if (!s)
		return 0;
	for (; *s; s++)
		n += *s == '\n';
	return n < MAX_LINES ? n : MAX_LINES;
}

/* The label of a cell under its image at (y0, x0), width w pixels. */
static int
draw_label(const struct canvas *cv, const struct cell *cl, uint64_t y0, uint64_t x0, uint64_t w,
    int sc)
{
	size_t max = (size_t)(w / (uint64_t)(FONT_W * sc)), len;
	const char *s = cl->label, *e;
	char *buf;

	if (!(buf = malloc(max + 1)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (int line = 0; line < MAX_LINES && s; line++) {
		e = strchr(s, '\n');
		len = fit(s, e ? (size_t)(e - s) : strlen(s), max, buf);
		text(cv, y0 + (uint64_t)(line * FONT_H * sc), x0, buf, len, sc,
		    cl->red & (1u << line) ? red_rgb : black_rgb);
		s = e ? e + 1 : NULL;
	}
	free(buf);
	return 0;
}

/* Cell cl's picture, zoomed z times, at (y0, x0); overlays scaled lo..hi. */
static void
draw_cell(const struct dl_montage *m, const struct canvas *cv, const struct cell *cl,
    uint64_t y0, uint64_t x0, double lo, double hi)
{
	uint64_t z = (uint64_t)m->o.zoom;
	double a = m->o.alpha;
	uint8_t rgb[3];

	if (cl->heat && m->o.range == DL_RANGE_EACH) {
		lo = INFINITY;
		hi = -INFINITY;
		extent(cl->heat, (uint64_t)cl->h * cl->w, &lo, &hi);
	}
	for (uint64_t y = 0; y < cl->h; y++)
		for (uint64_t x = 0; x < cl->w; x++) {
			const uint8_t *s = cl->px + (y * cl->w + x) * cl->c;
			const uint8_t *c;

			if (cl->heat) {
				c = m->o.cmap + heat_index(cl->heat[y * cl->w + x], lo, hi) * 3;
				for (int k = 0; k < 3; k++)
					rgb[k] = cl->heat_only ? c[k] : (uint8_t)floor((1 - a) *
					    s[k] + a * c[k] + 0.5);
			} else {
				for (int k = 0; k < 3; k++)
					rgb[k] = s[cl->c == 1 ? 0 : k];
			}
			for (uint64_t dy = 0; dy < z; dy++)
				for (uint64_t dx = 0; dx < z; dx++) {
					uint8_t *d = cv->px + ((y0 + y * z + dy) * cv->W +
					    x0 + x * z + dx) * cv->ch;

					if (cv->ch == 1)
						d[0] = rgb[0];	/* a grey canvas: grey cells */
					else
						memcpy(d, rgb, 3);
				}
		}
	if (cl->red) {		/* a mistake: a red frame over the image's edge */
		uint64_t h = cl->h * z, w = cl->w * z, t = z > 2 ? z : 2;

		t = t > h / 4 ? (h / 4 ? h / 4 : 1) : t;
		fill(cv, y0, x0, t, w, red_rgb);
		fill(cv, y0 + h - t, x0, t, w, red_rgb);
		fill(cv, y0, x0, h, t, red_rgb);
		fill(cv, y0, x0 + w - t, h, t, red_rgb);
	}
}

/* The colour bar at (y0, gap): the colour map from left to right, lo and
 * hi (their text) under its ends. */
static void
draw_bar(const struct dl_montage *m, const struct canvas *cv, uint64_t y0, uint64_t x0,
    uint64_t w, int sc, const char *lo, const char *hi)
{
	static const char each[] = "each map from its own min to max";
	uint64_t bh = (uint64_t)(12 * sc);

	for (uint64_t x = 0; x < w; x++) {
		int k = w > 1 ? (int)floor(255.0 * (double)x / (double)(w - 1) + 0.5) : 0;

		fill(cv, y0, x0 + x, bh, 1, m->o.cmap + k * 3);
	}
	y0 += bh + (uint64_t)(2 * sc);
	text(cv, y0, x0, lo, strlen(lo), sc, black_rgb);
	text(cv, y0, x0 + w - strlen(hi) * FONT_W * (uint64_t)sc, hi, strlen(hi), sc, black_rgb);
	if (m->o.range == DL_RANGE_EACH && w / (uint64_t)(FONT_W * sc) >= strlen(each) + 10)
		text(cv, y0, x0 + (w - strlen(each) * FONT_W * (uint64_t)sc) / 2, each,
		    strlen(each), sc, black_rgb);
}

int
dl_montage_render(struct dl_montage *m, struct dl_tensor *out)
{
	uint64_t per = m->o.side_by_side && m->n_images && m->n_cells > m->n_images ? 2 : 1;
	uint64_t cols, rows, gap = (uint64_t)m->o.gap, ch, H, W, z = (uint64_t)m->o.zoom;
	uint64_t cw, chh, lh = 0, bar_h = 0, min_w = 0;
	double lo = INFINITY, hi = -INFINITY;
	char lo_s[32] = "min", hi_s[32] = "max";
	int sc, lines = 0, heat = 0, red = 0, rc = 0;
	struct canvas cv;

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
	cw = m->max_w * z;
	chh = m->max_h * z;
	sc = cw / 128 > 8 ? 8 : cw / 128 < 1 ? 1 : (int)(cw / 128);	/* 14 to 21 characters a line */
	for (size_t i = 0; i < m->n_cells; i++) {
		const struct cell *cl = &m->cells[i];
		int n = label_lines(cl->label);

		lines = n > lines ? n : lines;
		red |= cl->red != 0;
		if (cl->heat) {
			heat = 1;
			extent(cl->heat, (uint64_t)cl->h * cl->w, &lo, &hi);
		}
	}
	if (m->o.range == DL_RANGE_FIXED) {
		lo = m->o.lo;
		hi = m->o.hi;
	}
	if (lines)
		lh = (uint64_t)((lines * FONT_H + 2) * sc);
	if (m->o.bar && heat) {
		if (m->o.range != DL_RANGE_EACH) {
			snprintf(lo_s, sizeof lo_s, "%.3g", isfinite(lo) ? lo : 0);
			snprintf(hi_s, sizeof hi_s, "%.3g", isfinite(hi) ? hi : 0);
		}
		bar_h = (uint64_t)((12 + 2 + FONT_H + 2) * sc) + gap;
		min_w = 2 * gap + (strlen(lo_s) + strlen(hi_s) + 2) * FONT_W * (uint64_t)sc;
	}
	W = cols * cw + (cols + 1) * gap;
	W = W < min_w ? min_w : W;
	H = rows * (chh + lh) + (rows + 1) * gap + bar_h;
	ch = m->colour || red ? 3 : 1;
	if (W > MAX_SIDE || H > MAX_SIDE || W * H * ch > ((uint64_t)1 << 30))
		return dl_seterr(DL_ESHAPE, "montage of %llux%llu pixels is too large: "
		    "fewer images, columns or less zoom", (unsigned long long)W, (unsigned long long)H);
	if (!(cv.px = dl_alloc((size_t)(H * W * ch))))
		return -DL_ENOMEM;
	cv.H = H;
	cv.W = W;
	cv.ch = ch;
	memset(cv.px, lines || bar_h ? 255 : m->o.background, (size_t)(H * W * ch));
	for (size_t i = 0; i < m->n_cells && rc == 0; i++) {
		const struct cell *cl = &m->cells[i];
		uint64_t r = i / cols, col = i % cols;
		/* Smaller images sit centred in their cell, the label under it. */
		uint64_t top = gap + r * (chh + lh + gap), left = gap + col * (cw + gap);

		draw_cell(m, &cv, cl, top + (chh - cl->h * z) / 2, left + (cw - cl->w * z) / 2,
		    lo, hi);
		if (cl->label)
			rc = draw_label(&cv, cl, top + chh + (uint64_t)sc, left, cw, sc);
	}
	if (rc == 0 && bar_h)
		draw_bar(m, &cv, H - bar_h, gap, W - 2 * gap, sc, lo_s, hi_s);
	if (rc < 0) {
		dl_free(cv.px);
		return rc;
	}
	strcpy(out->name, "montage");
	out->dtype = DL_U8;
	out->ndim = 3;
	out->shape[0] = H;
	out->shape[1] = W;
	out->shape[2] = ch;
	out->data = cv.px;
	out->nbytes = (size_t)(H * W * ch);
	out->owned = 1;
	return 0;
}

void
dl_montage_free(struct dl_montage *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_cells; i++) {
		free(m->cells[i].px);
		free(m->cells[i].heat);
		free(m->cells[i].label);
	}
	free(m->cells);
	free(m);
}
