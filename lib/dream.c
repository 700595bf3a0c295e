/*
 * dream.c - Deep Dream (gradient ascent on ||a||^2 of a layer, over
 * octaves, with jitter) and class visualisation (ascent on a logit), on
 * top of the public net API (lib/net.h).  Layer mode runs nets cut after
 * the layer (lib/dense.c, lib/notation.c); images resize by lib/image.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "explain.h"

/* ---- Deep Dream ------------------------------------------------------------------ */


struct dl_dream {
	struct dl_net *net;		/* the model (not owned) */
	struct dl_dream_opts o;
	struct dl_net_opts no;
	char *layer;			/* copy of o.layer */
	char *desc;			/* layer mode: net cut after layer */
	int in[3];			/* the model's input shape */
	int k;				/* class mode: outputs */
	struct dl_net_sizes sizes;	/* layer mode: the cut net per image size */
};

struct dl_dream *
dl_dream_new(struct dl_net *net, const struct dl_dream_opts *o, const struct dl_net_opts *no)
{
	struct dl_dream *d = calloc(1, sizeof *d);

	if (!d) {
		dl_seterr(DL_ENOMEM, "dream: out of memory");
		return NULL;
	}
	d->net = net;
	d->o = *o;
	if (no)
		d->no = *no;
	if (!d->o.steps)
		d->o.steps = 20;
	if (d->o.step_size <= 0)
		d->o.step_size = 0.01f;
	if (d->o.octaves < 1)
		d->o.octaves = 1;
	if (d->o.octave_scale <= 1)
		d->o.octave_scale = 1.4f;
	if (d->o.jitter < 0)
		d->o.jitter = 0;
	dl_net_input_shape(net, d->in);
	d->k = dl_net_outputs(net);
	if (o->layer) {
		if (!(d->layer = strdup(o->layer)) || !(d->desc = dl_net_desc_cut(net, o->layer))) {
			if (!d->layer)
				dl_seterr(DL_ENOMEM, "dream: out of memory");
			dl_dream_free(d);
			return NULL;
		}
		d->o.layer = d->layer;
	} else if (o->cls < 0 || o->cls >= d->k) {
		dl_seterr(DL_EUSAGE, "dream: class %d outside [0,%d)", o->cls, d->k);
		dl_dream_free(d);
		return NULL;
	}
	return d;
}

void
dl_dream_free(struct dl_dream *d)
{
	if (!d)
		return;
	dl_net_sizes_free(&d->sizes);
	free(d->layer);
	free(d->desc);
	free(d);
}

/* The net that dreams on h x w images: the model itself in class mode,
 * else the cut net for that size (cached). */
static struct dl_net *
dream_net(struct dl_dream *d, int h, int w)
{
	return d->o.layer ? dl_net_sizes_get(&d->sizes, d->net, d->desc, h, w, &d->no) : d->net;
}

/* The objective on img: ||a||_2 of the layer, or p(class) and the logit. */
static int
objective(struct dl_dream *d, struct dl_net *net, const float *img, double *v, double *logit)
{
	struct dl_layer_info li;
	long n;
	float *a;
	int rc, L;

	if ((rc = dl_net_forward_f32(net, img, 1, 0)) < 0)
		return rc;
	if (d->o.layer) {
		L = dl_net_find_layer(net, d->o.layer);
		if (L < 0)
			return -DL_EUSAGE;
		dl_net_layer_info(net, L, &li);
		n = (long)li.shape[0] * li.shape[1] * li.shape[2];
	} else {
		n = d->k;
	}
	if (!(a = malloc((size_t)n * sizeof *a)))
		return dl_seterr(DL_ENOMEM, "dream: out of memory");
	if (d->o.layer) {
		double s = 0;
		if ((rc = (int)dl_net_activation(net, d->o.layer, a, n)) < 0)
			goto out;
		for (long i = 0; i < n; i++)
			s += (double)a[i] * a[i];
		*v = sqrt(s);
	} else {
		if ((rc = (int)dl_net_activation(net, NULL, a, n)) < 0)
			goto out;
		*logit = a[d->o.cls];
		if ((rc = (int)dl_net_probs(net, a, n)) < 0)
			goto out;
		*v = a[d->o.cls];
	}
	rc = 0;
out:
	free(a);
	return rc;
}

/* dst = src rolled by (dy, dx) with wrap-around: dst[y+dy][x+dx] = src[y][x]. */
static void
roll(const float *src, float *dst, int h, int w, int c, int dy, int dx)
{
	for (int y = 0; y < h; y++) {
		int ty = ((y + dy) % h + h) % h;
		for (int x = 0; x < w; x++) {
			int tx = ((x + dx) % w + w) % w;
			memcpy(dst + ((long)ty * w + tx) * c, src + ((long)y * w + x) * c,
			    (size_t)c * sizeof *dst);
		}
	}
}

/* steps of normalised gradient ascent on img[h, w, c] */
static int
ascend(struct dl_dream *d, struct dl_net *net, float *img, int h, int w, int c,
    struct dl_rng *r, float *buf, float *g)
{
	long n = (long)h * w * c;
	int rc, j = d->o.jitter;

	for (int s = 0; s < d->o.steps; s++) {
		int dy = j ? (int)dl_rng_below(r, 2 * (uint64_t)j + 1) - j : 0;
		int dx = j ? (int)dl_rng_below(r, 2 * (uint64_t)j + 1) - j : 0;
		double m = 0;
		float sc;

		roll(img, buf, h, w, c, dy, dx);
		if ((rc = dl_net_forward_f32(net, buf, 1, 0)) < 0)
			return rc;
		if (d->o.layer)
			rc = dl_net_seed_self(net, d->o.layer, 1.0f);
		else
			rc = dl_net_seed_class(net, &d->o.cls);
		if (rc < 0 || (rc = dl_net_backward(net, DL_BACK_INPUT)) < 0 ||
		    (rc = (int)dl_net_input_grad(net, g, n)) < 0)
			return rc;
		for (long i = 0; i < n; i++)
			m += fabsf(g[i]);
		m /= (double)n;
		if (!(m > 0) || !isfinite(m))
			break;		/* nothing to follow: a dead layer */
		sc = (float)(d->o.step_size / m);
		for (long i = 0; i < n; i++)
			buf[i] += sc * g[i];
		roll(buf, img, h, w, c, -dy, -dx);
		if (d->o.lo < d->o.hi)
			for (long i = 0; i < n; i++)
				img[i] = fminf(fmaxf(img[i], d->o.lo), d->o.hi);
	}
	return 0;
}

int
dl_octave_sizes(int h, int w, int octaves, double scale, int min_h, int min_w, int *oh, int *ow)
{
	int no = 1;

	oh[0] = h;
	ow[0] = w;
	while (no < octaves && no < 32) {
		int nh = (int)lround(oh[no - 1] / scale);
		int nw = (int)lround(ow[no - 1] / scale);
		if (nh < min_h || nw < min_w)
			break;
		oh[no] = nh;
		ow[no] = nw;
		no++;
	}
	return no;
}

/* base[1..no) (malloc'd, NULL where not made) resized from base[0], each
 * from the one before. */
static int
pyramid(float **base, int no, const int *oh, const int *ow, int c)
{
	int rc;

	for (int i = 1; i < no; i++) {
		if (!(base[i] = malloc((size_t)oh[i] * ow[i] * c * sizeof *base[i])))
			return dl_seterr(DL_ENOMEM, "dream: out of memory");
		if ((rc = dl_resize_f32(base[i - 1], oh[i - 1], ow[i - 1], c, base[i], oh[i],
		    ow[i])) < 0)
			return rc;
	}
	return 0;
}

int
dl_dream_run(struct dl_dream *d, float *img, int h, int w, uint64_t index,
    struct dl_dream_result *res)
{
	int c = d->in[2], oh[32], ow[32], no, rc = 0;
	float *base[32] = { 0 }, *detail = NULL, *cur = NULL, *buf = NULL, *g = NULL;
	struct dl_net *net;
	struct dl_rng r;
	struct dl_dream_result rr = { 0 };
	long n = (long)h * w * c;

	if (!d->o.layer && (h != d->in[0] || w != d->in[1]))
		return dl_seterr(DL_ESHAPE, "dream: image %dx%d: class mode needs the model's "
		    "input size %dx%d", h, w, d->in[0], d->in[1]);
	dl_rng_fork(&r, d->o.seed, index);
	rr.octaves = no = dl_octave_sizes(h, w, d->o.layer ? d->o.octaves : 1, d->o.octave_scale,
	    d->in[0], d->in[1], oh, ow);	/* class mode: one size */
	buf = malloc((size_t)n * sizeof *buf);
	g = malloc((size_t)n * sizeof *g);
	cur = malloc((size_t)n * sizeof *cur);
	detail = calloc((size_t)n, sizeof *detail);
	if (!buf || !g || !cur || !detail) {
		rc = dl_seterr(DL_ENOMEM, "dream: out of memory");
		goto out;
	}
	base[0] = img;
	if ((rc = pyramid(base, no, oh, ow, c)) < 0)
		goto out;
	if (!(net = dream_net(d, h, w))) {
		rc = -DL_ESHAPE;
		goto out;
	}
	if ((rc = objective(d, net, img, &rr.before, &rr.logit_before)) < 0)
		goto out;
	/* from the coarsest octave to the finest, carrying the detail added */
	for (int i = no - 1; i >= 0; i--) {
		long m = (long)oh[i] * ow[i] * c;
		if (i < no - 1) {
			if ((rc = dl_resize_f32(detail, oh[i + 1], ow[i + 1], c, buf, oh[i],
			    ow[i])) < 0)
				goto out;
			memcpy(detail, buf, (size_t)m * sizeof *buf);
		}
		for (long j = 0; j < m; j++)
			cur[j] = base[i][j] + detail[j];
		if (!(net = dream_net(d, oh[i], ow[i]))) {
			rc = -DL_ESHAPE;
			goto out;
		}
		if ((rc = ascend(d, net, cur, oh[i], ow[i], c, &r, buf, g)) < 0)
			goto out;
		for (long j = 0; j < m; j++)
			detail[j] = cur[j] - base[i][j];
	}
	memcpy(img, cur, (size_t)n * sizeof *img);
	if (!(net = dream_net(d, h, w))) {
		rc = -DL_ESHAPE;
		goto out;
	}
	rc = objective(d, net, img, &rr.after, &rr.logit_after);
	if (res)
		*res = rr;
out:
	for (int i = 1; i < no; i++)
		free(base[i]);
	free(detail);
	free(cur);
	free(buf);
	free(g);
	return rc < 0 ? rc : 0;
}

void
dl_dream_noise(float *img, long n, uint64_t seed, uint64_t index)
{
	struct dl_rng r;

	dl_rng_fork(&r, seed ^ 0x6e6f697365ULL, index);	/* "noise" */
	for (long i = 0; i < n; i++)
		img[i] = (float)dl_rng_uniform(&r);
}
