/*
 * style.c - style transfer and texture synthesis (lib/style.h): the losses
 * of Gatys et al. at named layers, their gradient with respect to the
 * pixels (one backward pass seeded at all the layers used),
 * and two optimisers over the pixels: L-BFGS with a strong Wolfe line
 * search, and Adam.  Nets cut after the deepest layer used run over the
 * whole image (lib/dream.c does the same); octaves go coarse to fine.
 *
 * The L-BFGS is Nocedal's two-loop recursion over the last m pairs (s, y),
 * the first direction scaled by min(1, 1/|g|_1) and later ones by
 * s.y / y.y, with the strong Wolfe line search of minFunc (c1 1e-4, c2
 * 0.9, cubic interpolation, at most 25 evaluations): the algorithm of
 * torch.optim.LBFGS(line_search_fn="strong_wolfe") step for step, with
 * its tolerances (gradient 1e-7, change 1e-9), so the two can be held
 * against each other.  Adam is torch.optim.Adam's arithmetic.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "explain.h"
#include "style.h"

#define MAX_LAYERS 32
#define TOL_GRAD 1e-7
#define TOL_CHANGE 1e-9

struct slayer {
	char name[32];
	int index;		/* in the model */
	int content;		/* the content layer */
	double w;		/* style weight; < 0: not a style layer */
	float *gram;		/* the style image's Gram matrix, C x C */
	float *target;		/* content layer: the content image's activation */
	long target_n;
};

struct dl_style {
	struct dl_net *net;
	struct dl_style_opts o;
	struct dl_net_opts no;
	struct slayer L[MAX_LAYERS];
	int nl;
	char content_names[40], style_names[MAX_LAYERS * 48];
	char *desc;		/* net cut after the deepest layer */
	const char *deepest;	/* its name (in L[]) */
	int c;			/* channels */
	float *style;		/* the style image */
	int sh, sw;
	struct dl_net_sizes sizes;	/* the cut net per image size */
};

/* The losses of one evaluation. */
struct loss {
	double content, style, tv, total;
};

/* What one octave's optimisation needs. */
struct run {
	struct dl_style *s;
	struct dl_net *net;	/* for the image's size */
	int h, w, c, has_content;
	long n;			/* h * w * c */
	float *act, *gram;	/* scratch */
	float *gl;		/* the gradients at the layers, one after the other */
	long evals;
	struct dl_style_step st;
};

static int
nomem(void)
{
	return dl_seterr(DL_ENOMEM, "style: out of memory");
}

/* ---- layers ---------------------------------------------------------------- */

/* Entry for layer name (added when new): its index in s->L, or -DL_EUSAGE. */
static int
layer_entry(struct dl_style *s, const char *name, size_t len)
{
	char nm[32];
	int idx, i;

	if (len == 0 || len >= sizeof nm)
		return dl_seterr(DL_EUSAGE, "style: bad layer name '%.*s'", (int)len, name);
	memcpy(nm, name, len);
	nm[len] = 0;
	if ((idx = dl_net_find_layer(s->net, nm)) < 0)
		return -DL_EUSAGE;	/* it names the layers there are */
	for (i = 0; i < s->nl; i++)
		if (s->L[i].index == idx)
			return i;
	if (s->nl == MAX_LAYERS)
		return dl_seterr(DL_EUSAGE, "style: more than %d layers", MAX_LAYERS);
	i = s->nl++;
	memset(&s->L[i], 0, sizeof s->L[i]);
	snprintf(s->L[i].name, sizeof s->L[i].name, "%s", nm);
	s->L[i].index = idx;
	s->L[i].w = -1;
	return i;
}

/* The style layers of list "a,b:0.5,c": weights as given, else 1/count. */
static int
parse_style_layers(struct dl_style *s, const char *list)
{
	int count = 1, rc;

	for (const char *p = list; *p; p++)
		count += *p == ',';
	for (const char *p = list; ; ) {
		size_t len = strcspn(p, ",:");
		double w = 1.0 / count;
		if ((rc = layer_entry(s, p, len)) < 0)
			return rc;
		p += len;
		if (*p == ':') {
			char *end;
			w = strtod(p + 1, &end);
			if (end == p + 1 || (*end && *end != ',') || !(w >= 0) || !isfinite(w))
				return dl_seterr(DL_EUSAGE, "style: layer %s: bad weight '%.*s'",
				    s->L[rc].name, (int)strcspn(p + 1, ","), p + 1);
			p = end;
		}
		if (s->L[rc].w >= 0)
			return dl_seterr(DL_EUSAGE, "style: layer %s named twice", s->L[rc].name);
		s->L[rc].w = w;
		if (!*p)
			return 0;
		p++;
	}
}

/* The default layers (style.h) as lists into style[] and content[]. */
static int
default_layers(struct dl_style *s, char *style, size_t ns, char *content, size_t nc)
{
	int n = dl_net_layers(s->net), block = 1, convs = 0, found42 = 0, k = 0;

	style[0] = content[0] = 0;
	for (int i = 0; i < n; i++) {
		struct dl_layer_info li, next;
		const char *name;
		dl_net_layer_info(s->net, i, &li);
		if (!strcmp(li.kind, "fc") || !strcmp(li.kind, "flat"))
			break;
		if (!strcmp(li.kind, "pool")) {
			block++;
			convs = 0;
			continue;
		}
		if (strcmp(li.kind, "conv"))
			continue;
		convs++;
		name = li.name;
		if (i + 1 < n && dl_net_layer_info(s->net, i + 1, &next) == 0 &&
		    !strcmp(next.kind, "bn"))
			name = next.name;
		if (convs == 1 && block <= 5)
			k += snprintf(style + k, ns - (size_t)k, "%s%s", k ? "," : "", name);
		if (!found42)
			snprintf(content, nc, "%s", name);
		found42 |= block == 4 && convs == 2;
	}
	if (!style[0])
		return dl_seterr(DL_EUSAGE, "style: the net has no convolution before its fully "
		    "connected layers: name the layers (--content-layer, --style-layers)");
	return 0;
}

struct dl_style *
dl_style_new(struct dl_net *net, const struct dl_style_opts *o, const struct dl_net_opts *no)
{
	struct dl_style *s = calloc(1, sizeof *s);
	char defstyle[MAX_LAYERS * 48], defcontent[32];
	int in[3], deep = 0, rc, k = 0;

	if (!s) {
		nomem();
		return NULL;
	}
	s->net = net;
	s->o = *o;
	if (no)
		s->no = *no;
	if (s->o.content_weight < 0)
		s->o.content_weight = 1;
	if (s->o.style_weight < 0)
		s->o.style_weight = 1e3;
	if (s->o.tv_weight < 0)
		s->o.tv_weight = 0;
	if (s->o.lr <= 0)
		s->o.lr = 0.02;
	if (s->o.history <= 0)
		s->o.history = 50;
	if (s->o.octaves < 1)
		s->o.octaves = 1;
	if (s->o.octave_scale <= 1)
		s->o.octave_scale = 1.4;
	if (s->o.min_size <= 0)
		s->o.min_size = 32;
	dl_net_input_shape(net, in);
	s->c = in[2];
	if ((!o->style_layers || !o->content_layer) &&
	    default_layers(s, defstyle, sizeof defstyle, defcontent, sizeof defcontent) < 0)
		goto fail;
	if ((rc = parse_style_layers(s, o->style_layers ? o->style_layers : defstyle)) < 0)
		goto fail;
	if (!o->content_layer)
		s->o.content_layer = defcontent;
	if ((rc = layer_entry(s, s->o.content_layer, strlen(s->o.content_layer))) < 0)
		goto fail;
	s->L[rc].content = 1;
	snprintf(s->content_names, sizeof s->content_names, "%s", s->L[rc].name);
	s->o.content_layer = s->content_names;
	for (int i = 0; i < s->nl; i++) {
		if (s->L[i].index > s->L[deep].index)
			deep = i;
		if (s->L[i].w >= 0)
			k += snprintf(s->style_names + k, sizeof s->style_names - (size_t)k, "%s%s:%g",
			    k ? "," : "", s->L[i].name, s->L[i].w);
	}
	s->o.style_layers = s->style_names;
	s->deepest = s->L[deep].name;
	if (!(s->desc = dl_net_desc_cut(net, s->deepest)))
		goto fail;
	return s;
fail:
	dl_style_free(s);
	return NULL;
}

void
dl_style_free(struct dl_style *s)
{
	if (!s)
		return;
	dl_net_sizes_free(&s->sizes);
	for (int i = 0; i < s->nl; i++) {
		free(s->L[i].gram);
		free(s->L[i].target);
	}
	free(s->desc);
	free(s->style);
	free(s);
}

const char *
dl_style_content_layer(const struct dl_style *s)
{
	return s->content_names;
}

const char *
dl_style_style_layers(const struct dl_style *s)
{
	return s->style_names;
}

int
dl_style_set_style(struct dl_style *s, const float *img, int h, int w)
{
	size_t n = (size_t)h * w * s->c;
	float *p;

	if (h < 1 || w < 1)
		return dl_seterr(DL_ESHAPE, "style: empty style image");
	if (!(p = malloc(n * sizeof *p)))
		return nomem();
	memcpy(p, img, n * sizeof *p);
	free(s->style);
	s->style = p;
	s->sh = h;
	s->sw = w;
	return 0;
}

/* The cut net for h x w images (cached). */
static struct dl_net *
style_net(struct dl_style *s, int h, int w)
{
	struct dl_net *n = dl_net_sizes_get(&s->sizes, s->net, s->desc, h, w, &s->no);

	if (!n)
		dl_errprefix("style: the layers up to %s over %dx%d images", s->deepest, h, w);
	return n;
}

/* Layer l's activation in net's last forward into *a (malloc'd, floats
 * *m positions by *c channels). */
static int
activation(struct dl_net *net, const struct slayer *l, float **a, long *m, int *c)
{
	struct dl_layer_info li;
	long n, rc;

	dl_net_layer_info(net, dl_net_find_layer(net, l->name), &li);
	*m = (long)li.shape[0] * li.shape[1];
	*c = li.shape[2];
	n = *m * *c;
	if (!(*a = malloc((size_t)n * sizeof **a)))
		return nomem();
	if ((rc = dl_net_activation(net, l->name, *a, n)) < 0) {
		free(*a);
		return (int)rc;
	}
	return 0;
}

/* G = F^T F / m for F[m, c]. */
static void
gram(const float *f, long m, int c, float *g)
{
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c, c, (int)m, 1.0f / (float)m, f, c,
	    f, c, 0.0f, g, c);
}

/* The targets of an octave: the style image at sh x sw (Gram matrices)
 * and the content image at h x w (activations; content may be NULL). */
static int
targets(struct dl_style *s, const float *content, int h, int w, int sh, int sw)
{
	struct dl_net *net = NULL;
	float *img = NULL, *a;
	long m;
	int c, rc = 0;

	if (!(img = malloc((size_t)sh * sw * s->c * sizeof *img)))
		return nomem();
	if ((rc = dl_resize_f32(s->style, s->sh, s->sw, s->c, img, sh, sw)) < 0 ||
	    !(net = style_net(s, sh, sw)) || (rc = dl_net_forward_f32(net, img, 1, 0)) < 0)
		goto out;
	for (int i = 0; i < s->nl; i++) {
		struct slayer *l = &s->L[i];
		if (l->w < 0)
			continue;
		if ((rc = activation(net, l, &a, &m, &c)) < 0)
			goto out;
		free(l->gram);
		if (!(l->gram = malloc((size_t)c * c * sizeof *l->gram))) {
			free(a);
			rc = nomem();
			goto out;
		}
		gram(a, m, c, l->gram);
		free(a);
	}
	if (!content)
		goto out;
	if (!(net = style_net(s, h, w)) || (rc = dl_net_forward_f32(net, content, 1, 0)) < 0)
		goto out;
	for (int i = 0; i < s->nl; i++) {
		struct slayer *l = &s->L[i];
		if (!l->content)
			continue;
		free(l->target);
		if ((rc = activation(net, l, &l->target, &m, &c)) < 0)
			goto out;
		l->target_n = m * c;
	}
out:
	free(img);
	if (!net && rc == 0)
		rc = -DL_ESHAPE;
	return rc < 0 ? rc : 0;
}

/* ---- the objective ------------------------------------------------------------ */

/* The gradient with respect to layer l's activation a[m, c] of the weighted
 * content and style losses into g; the losses added to *lo. */
static void
layer_loss(struct run *r, const struct slayer *l, const float *a, long m, int c, float *g,
    struct loss *lo)
{
	const struct dl_style_opts *o = &r->s->o;
	long n = m * c;

	memset(g, 0, (size_t)n * sizeof *g);
	if (l->content && r->has_content) {
		double sum = 0, k = 2 * o->content_weight / (double)n;
		for (long i = 0; i < n; i++) {
			double d = (double)a[i] - l->target[i];
			sum += d * d;
			g[i] = (float)(k * d);
		}
		lo->content += sum / (double)n;
	}
	if (l->w >= 0) {
		double e = 0;
		gram(a, m, c, r->gram);
		for (long i = 0; i < (long)c * c; i++) {
			double d = (double)r->gram[i] - l->gram[i];
			e += d * d;
			r->gram[i] = (float)d;
		}
		lo->style += l->w * e / (4.0 * c * c);
		/* dE/dF = F (G - A) / (c^2 m) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, c, c,
		    (float)(o->style_weight * l->w / ((double)c * c * (double)m)), a, c, r->gram, c,
		    1.0f, g, c);
	}
}

/* Total variation of x[h, w, c]: the loss, and its gradient times wt added
 * to g. */
static double
tv_loss(const float *x, int h, int w, int c, double wt, float *g)
{
	double sum = 0, k = 2 * wt / ((double)h * w * c);
	long row = (long)w * c;

	for (int y = 0; y < h; y++)
		for (int xx = 0; xx < w; xx++)
			for (int j = 0; j < c; j++) {
				long i = y * row + (long)xx * c + j;
				if (y + 1 < h) {
					double d = (double)x[i + row] - x[i];
					sum += d * d;
					if (wt != 0)
						g[i + row] += (float)(k * d), g[i] -= (float)(k * d);
				}
				if (xx + 1 < w) {
					double d = (double)x[i + c] - x[i];
					sum += d * d;
					if (wt != 0)
						g[i + c] += (float)(k * d), g[i] -= (float)(k * d);
				}
			}
	return sum / ((double)h * w * c);
}

/* f(x) into *lo and its gradient into g[n]: the gradients at the layers,
 * then one backward pass from all of them. */
static int
evaluate(struct run *r, const float *x, float *g, struct loss *lo)
{
	const struct dl_style_opts *o = &r->s->o;
	const char *names[MAX_LAYERS];
	const float *seeds[MAX_LAYERS];
	float *gl = r->gl;
	int rc, c, k = 0;
	long m;

	memset(lo, 0, sizeof *lo);
	if ((rc = dl_net_forward_f32(r->net, x, 1, 0)) < 0)
		return rc;
	for (int i = 0; i < r->s->nl; i++) {
		const struct slayer *l = &r->s->L[i];
		struct dl_layer_info li;
		if (l->w < 0 && !(l->content && r->has_content))
			continue;
		dl_net_layer_info(r->net, dl_net_find_layer(r->net, l->name), &li);
		m = (long)li.shape[0] * li.shape[1];
		c = li.shape[2];
		if ((rc = (int)dl_net_activation(r->net, l->name, r->act, m * c)) < 0)
			return rc;
		layer_loss(r, l, r->act, m, c, gl, lo);
		names[k] = l->name;
		seeds[k++] = gl;
		gl += m * c;
	}
	if (k && ((rc = dl_net_backward_seeds(r->net, k, names, seeds, DL_BACK_INPUT)) < 0 ||
	    (rc = (int)dl_net_input_grad(r->net, g, r->n)) < 0))
		return rc;
	if (!k)
		memset(g, 0, (size_t)r->n * sizeof *g);
	lo->tv = tv_loss(x, r->h, r->w, r->c, o->tv_weight, g);
	lo->total = o->content_weight * lo->content + o->style_weight * lo->style +
	    o->tv_weight * lo->tv;
	r->evals++;
	return isfinite(lo->total) ? 0 : dl_seterr(DL_ENUM, "style: the loss is %g", lo->total);
}

/* Report the losses after step k. */
static int
report(struct run *r, int k, const struct loss *lo)
{
	r->st.step = k;
	r->st.evals = r->evals;
	r->st.content = lo->content;
	r->st.style = lo->style;
	r->st.tv = lo->tv;
	r->st.total = lo->total;
	return r->s->o.on_step ? r->s->o.on_step(r->s->o.arg, &r->st) : 0;
}

/* ---- Adam ------------------------------------------------------------------------ */

static int
adam(struct run *r, float *x)
{
	const double b1 = 0.9, b2 = 0.999, eps = 1e-8, lr = r->s->o.lr;
	long n = r->n;
	float *g = malloc((size_t)n * sizeof *g), *m = calloc((size_t)n, sizeof *m),
	    *v = calloc((size_t)n, sizeof *v);
	struct loss lo;
	int rc = 0;

	if (!g || !m || !v) {
		rc = nomem();
		goto out;
	}
	for (int k = 0; ; k++) {
		if ((rc = evaluate(r, x, g, &lo)) < 0 || (rc = report(r, k, &lo)) != 0 ||
		    k == r->s->o.steps)
			break;
		float step = (float)(lr / (1 - pow(b1, k + 1)));
		float bc2 = (float)sqrt(1 - pow(b2, k + 1));
		for (long i = 0; i < n; i++) {
			m[i] = (float)b1 * m[i] + (float)(1 - b1) * g[i];
			v[i] = (float)b2 * v[i] + (float)(1 - b2) * g[i] * g[i];
			x[i] -= step * m[i] / (sqrtf(v[i]) / bc2 + (float)eps);
		}
	}
out:
	free(g);
	free(m);
	free(v);
	return rc;
}

/* ---- L-BFGS ------------------------------------------------------------------- */

static double
dot(const float *a, const float *b, long n)
{
	double s = 0;

	for (long i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

static double
maxabs(const float *a, long n)
{
	double m = 0;

	for (long i = 0; i < n; i++)
		m = fmax(m, fabs(a[i]));
	return m;
}

/* A point on the search line x + t d. */
struct pt {
	double t, f, gtd;
	float *g;
	struct loss lo;
};

static void
pt_set(struct pt *dst, const struct pt *src, long n)
{
	float *g = dst->g;

	*dst = *src;
	dst->g = g;
	if (g != src->g)
		memcpy(g, src->g, (size_t)n * sizeof *g);
}

/* Evaluate p at x + p->t d (xt: scratch). */
static int
line_eval(struct run *r, const float *x, const float *d, float *xt, struct pt *p)
{
	int rc;

	for (long i = 0; i < r->n; i++)
		xt[i] = x[i] + (float)p->t * d[i];
	if ((rc = evaluate(r, xt, p->g, &p->lo)) < 0)
		return rc;
	p->f = p->lo.total;
	p->gtd = dot(p->g, d, r->n);
	return 0;
}

/* The minimum of the cubic through (x1, f1, g1) and (x2, f2, g2) in
 * [lo, hi] (minFunc's polyinterp for two points). */
static double
cubic(double x1, double f1, double g1, double x2, double f2, double g2, double lo, double hi)
{
	double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2), d2s = d1 * d1 - g1 * g2, d2, mp;

	if (!(d2s >= 0))
		return (lo + hi) / 2;
	d2 = sqrt(d2s);
	if (x1 <= x2)
		mp = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2));
	else
		mp = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
	return fmin(fmax(mp, lo), hi);
}

/* The strong Wolfe line search from p0 (t = 0) along d, first trying t:
 * the point found into *out.  buf: 4 vectors of n floats. */
static int
wolfe(struct run *r, const float *x, const float *d, const struct pt *p0, double t, float *buf,
    struct pt *out)
{
	const double c1 = 1e-4, c2 = 0.9;
	const int max_ls = 25;
	long n = r->n;
	double dnorm = maxabs(d, n), f = p0->f, gtd = p0->gtd;
	struct pt nw = { .t = t, .g = buf }, prev = { .g = buf + n },
	    b[2] = { { .g = buf + 2 * n }, { .g = out->g } };
	float *xt = buf + 3 * n;
	int ls = 0, done = 0, nb = 0, lo, hi, insuf = 0, rc;

	if ((rc = line_eval(r, x, d, xt, &nw)) < 0)
		return rc;
	pt_set(&prev, p0, n);
	while (ls < max_ls) {
		if (nw.f > f + c1 * nw.t * gtd || (ls > 1 && nw.f >= prev.f)) {
			pt_set(&b[0], &prev, n), pt_set(&b[1], &nw, n), nb = 2;
			break;
		}
		if (fabs(nw.gtd) <= -c2 * gtd) {
			pt_set(&b[0], &nw, n), nb = 1, done = 1;
			break;
		}
		if (nw.gtd >= 0) {
			pt_set(&b[0], &prev, n), pt_set(&b[1], &nw, n), nb = 2;
			break;
		}
		double tn = cubic(prev.t, prev.f, prev.gtd, nw.t, nw.f, nw.gtd,
		    nw.t + 0.01 * (nw.t - prev.t), nw.t * 10);
		pt_set(&prev, &nw, n);
		nw.t = tn;
		if ((rc = line_eval(r, x, d, xt, &nw)) < 0)
			return rc;
		ls++;
	}
	if (ls == max_ls)
		pt_set(&b[0], p0, n), pt_set(&b[1], &nw, n), nb = 2;
	lo = nb == 2 && b[0].f > b[1].f;
	hi = !lo;
	/* zoom */
	while (!done && ls < max_ls) {
		double bmax = fmax(b[0].t, b[1].t), bmin = fmin(b[0].t, b[1].t), eps;
		if (fabs(b[1].t - b[0].t) * dnorm < TOL_CHANGE)
			break;
		nw.t = cubic(b[0].t, b[0].f, b[0].gtd, b[1].t, b[1].f, b[1].gtd, bmin, bmax);
		eps = 0.1 * (bmax - bmin);
		if (fmin(bmax - nw.t, nw.t - bmin) < eps) {
			if (insuf || nw.t >= bmax || nw.t <= bmin) {
				nw.t = fabs(nw.t - bmax) < fabs(nw.t - bmin) ? bmax - eps : bmin + eps;
				insuf = 0;
			} else {
				insuf = 1;
			}
		} else {
			insuf = 0;
		}
		if ((rc = line_eval(r, x, d, xt, &nw)) < 0)
			return rc;
		ls++;
		if (nw.f > f + c1 * nw.t * gtd || nw.f >= b[lo].f) {
			pt_set(&b[hi], &nw, n);
			lo = b[0].f > b[1].f;
			hi = !lo;
		} else {
			if (fabs(nw.gtd) <= -c2 * gtd)
				done = 1;
			else if (nw.gtd * (b[hi].t - b[lo].t) >= 0)
				pt_set(&b[hi], &b[lo], n);
			pt_set(&b[lo], &nw, n);
		}
	}
	pt_set(out, &b[lo], n);
	return 0;
}

/* The L-BFGS history: the last m pairs s = x' - x, y = g' - g, oldest first
 * from start. */
struct hist {
	int m, cnt, start;
	float **s, **y;
	double *ro, *al;
};

/* d = -H g by the two-loop recursion, H0 = hdiag I. */
static void
two_loop(const struct hist *H, double hdiag, const float *g, float *d, long n)
{
	for (long i = 0; i < n; i++)
		d[i] = -g[i];
	for (int k = H->cnt - 1; k >= 0; k--) {
		int j = (H->start + k) % H->m;
		float a = (float)(H->al[j] = dot(H->s[j], d, n) * H->ro[j]);
		for (long i = 0; i < n; i++)
			d[i] -= a * H->y[j][i];
	}
	for (long i = 0; i < n; i++)
		d[i] *= (float)hdiag;
	for (int k = 0; k < H->cnt; k++) {
		int j = (H->start + k) % H->m;
		float be = (float)(H->al[j] - dot(H->y[j], d, n) * H->ro[j]);
		for (long i = 0; i < n; i++)
			d[i] += be * H->s[j][i];
	}
}

static int
lbfgs(struct run *r, float *x)
{
	long n = r->n;
	int m = r->s->o.history, rc = 0;
	struct hist H = { .m = m };
	/* g, d, the previous g, a spare pair, 4 for the line search */
	float *v = malloc((size_t)(2 * m + 9) * n * sizeof *v), *g, *d, *gp, *sp, *yp;
	struct pt p = { 0 }, q = { 0 };
	double hdiag = 1, t = 1;

	H.s = malloc((size_t)m * sizeof *H.s);
	H.y = malloc((size_t)m * sizeof *H.y);
	H.ro = malloc((size_t)m * sizeof *H.ro);
	H.al = malloc((size_t)m * sizeof *H.al);
	if (!v || !H.s || !H.y || !H.ro || !H.al) {
		rc = nomem();
		goto out;
	}
	for (int j = 0; j < m; j++)
		H.s[j] = v + (long)(9 + 2 * j) * n, H.y[j] = v + (long)(10 + 2 * j) * n;
	g = p.g = v, d = v + n, gp = v + 2 * n, sp = v + 3 * n, yp = v + 4 * n;
	q.g = gp;
	if ((rc = evaluate(r, x, g, &p.lo)) < 0 || (rc = report(r, 0, &p.lo)) != 0)
		goto out;
	p.f = p.lo.total;
	if (maxabs(g, n) <= TOL_GRAD)
		goto out;
	for (int k = 1; k <= r->s->o.steps; k++) {
		if (k == 1) {
			for (long i = 0; i < n; i++)
				d[i] = -g[i];
		} else {
			double ys, yy;
			for (long i = 0; i < n; i++)
				yp[i] = g[i] - gp[i], sp[i] = (float)t * d[i];
			ys = dot(yp, sp, n);
			if (ys > 1e-10) {
				int j = (H.start + H.cnt) % m;
				float *ts = H.s[j], *ty = H.y[j];
				yy = dot(yp, yp, n);
				H.s[j] = sp, H.y[j] = yp, sp = ts, yp = ty;
				H.ro[j] = 1 / ys;
				if (H.cnt < m)
					H.cnt++;
				else
					H.start = (H.start + 1) % m;
				hdiag = ys / yy;
			}
			two_loop(&H, hdiag, g, d, n);
		}
		memcpy(gp, g, (size_t)n * sizeof *g);
		double fprev = p.f, gsum = 0;
		if (k == 1) {
			for (long i = 0; i < n; i++)
				gsum += fabs(g[i]);
			t = fmin(1, 1 / gsum);
		} else {
			t = 1;
		}
		p.t = 0;
		p.gtd = dot(g, d, n);
		if (p.gtd > -TOL_CHANGE)
			break;
		/* q.g is gp's copy of g; the search leaves its point in p */
		pt_set(&q, &p, n);
		if ((rc = wolfe(r, x, d, &q, t, v + 5 * n, &p)) < 0)
			goto out;
		t = p.t;
		for (long i = 0; i < n; i++)
			x[i] += (float)t * d[i];
		if ((rc = report(r, k, &p.lo)) != 0)
			goto out;
		if (maxabs(g, n) <= TOL_GRAD || fabs(t) * maxabs(d, n) <= TOL_CHANGE ||
		    fabs(p.f - fprev) < TOL_CHANGE)
			break;
	}
out:
	free(v);
	free(H.s);
	free(H.y);
	free(H.ro);
	free(H.al);
	return rc;
}

/* ---- octaves --------------------------------------------------------------------- */

/* The style image's side for an octave f of the output's (not below
 * min_size, nor above the image's own side). */
static int
style_side(const struct dl_style *s, int side, double f)
{
	int v = (int)lround(side * f);

	if (v < s->o.min_size)
		v = s->o.min_size;
	return v > side ? side : v;
}

int
dl_style_run(struct dl_style *s, const float *content, int h, int w, uint64_t index,
    float *out, struct dl_style_step *last)
{
	int oh[32], ow[32], no, c = s->c, rc = 0, maxc = 1;
	struct run r = { .s = s, .c = c, .has_content = content != NULL };
	float *cur = NULL, *cimg = NULL, *tmp = NULL;
	long maxact = 0, sumact = 0;

	if (!s->style)
		return dl_seterr(DL_EUSAGE, "style: no style image");
	no = dl_octave_sizes(h, w, s->o.octaves, s->o.octave_scale, s->o.min_size, s->o.min_size,
	    oh, ow);
	/* room for the largest activation used, at the full size */
	if (!(r.net = style_net(s, h, w)))
		return -DL_ESHAPE;
	for (int i = 0; i < s->nl; i++) {
		struct dl_layer_info li;
		dl_net_layer_info(r.net, dl_net_find_layer(r.net, s->L[i].name), &li);
		if ((long)li.shape[0] * li.shape[1] * li.shape[2] > maxact)
			maxact = (long)li.shape[0] * li.shape[1] * li.shape[2];
		if (li.shape[2] > maxc)
			maxc = li.shape[2];
		sumact += (long)li.shape[0] * li.shape[1] * li.shape[2];
	}
	r.act = malloc((size_t)maxact * sizeof *r.act);
	r.gl = malloc((size_t)sumact * sizeof *r.gl);
	r.gram = malloc((size_t)maxc * maxc * sizeof *r.gram);
	cur = malloc((size_t)h * w * c * sizeof *cur);
	cimg = malloc((size_t)h * w * c * sizeof *cimg);
	tmp = malloc((size_t)h * w * c * sizeof *tmp);
	if (!r.act || !r.gl || !r.gram || !cur || !cimg || !tmp) {
		rc = nomem();
		goto out;
	}
	for (int i = no - 1; i >= 0; i--) {
		long n = (long)oh[i] * ow[i] * c;
		double f = (double)oh[i] / h;
		/* the start: content or noise at the coarsest octave, else the
		 * octave before enlarged */
		if (content && (rc = dl_resize_f32(content, h, w, c, cimg, oh[i], ow[i])) < 0)
			goto out;
		if (i < no - 1) {
			if ((rc = dl_resize_f32(cur, oh[i + 1], ow[i + 1], c, tmp, oh[i], ow[i])) < 0)
				goto out;
			memcpy(cur, tmp, (size_t)n * sizeof *cur);
		} else if (content && s->o.start == DL_STYLE_FROM_CONTENT) {
			memcpy(cur, cimg, (size_t)n * sizeof *cur);
		} else {
			dl_dream_noise(cur, n, s->o.seed, index);
		}
		if ((rc = targets(s, content ? cimg : NULL, oh[i], ow[i],
		    style_side(s, s->sh, f), style_side(s, s->sw, f))) < 0)
			goto out;
		if (!(r.net = style_net(s, oh[i], ow[i]))) {
			rc = -DL_ESHAPE;
			goto out;
		}
		r.h = oh[i], r.w = ow[i], r.n = n, r.evals = 0;
		r.st = (struct dl_style_step){ .image = index, .octave = no - 1 - i, .h = oh[i],
		    .w = ow[i] };
		rc = s->o.optimizer == DL_STYLE_ADAM ? adam(&r, cur) : lbfgs(&r, cur);
		if (rc != 0)
			goto out;
	}
	memcpy(out, cur, (size_t)h * w * c * sizeof *out);
	if (last)
		*last = r.st;
out:
	free(r.act);
	free(r.gl);
	free(r.gram);
	free(cur);
	free(cimg);
	free(tmp);
	return rc;
}
