/*
 * explain.c - saliency maps, Deep Dream and dense (fully convolutional)
 * networks, on top of the public net API (lib/net.h): forward, seeds at a
 * layer or a class, backward to the input, parameters by name.  Nothing
 * here touches a backend directly, so it runs wherever the net runs.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dlpipe.h"
#include "explain.h"

int
dl_argmax(const float *v, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

static long
in_size(struct dl_net *net, int *h, int *w, int *c)
{
	int s[3];

	dl_net_input_shape(net, s);
	if (h)
		*h = s[0];
	if (w)
		*w = s[1];
	if (c)
		*c = s[2];
	return (long)s[0] * s[1] * s[2];
}

/* Output probabilities (dl_net_probs) of the last forward of n samples,
 * into a fresh array of n * outputs floats. */
static float *
probs_of(struct dl_net *net, int n, int *k)
{
	long nk;
	float *p;

	*k = dl_net_outputs(net);
	nk = (long)n * *k;
	if (!(p = malloc((size_t)nk * sizeof *p))) {
		dl_seterr(DL_ENOMEM, "explain: out of memory");
		return NULL;
	}
	if (dl_net_probs(net, p, nk) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

/* ---- saliency ------------------------------------------------------------- */

/* The gradient of each row's score with respect to its logits z[rows, k]
 * (the probabilities p of the same forward) into g: one-hot(c) for the
 * logit; for nll nets e_c - p (log p_c) and p_c (e_c - p) (p_c); for bce
 * nets, where p_c = sigmoid(z_c) alone, 1 - p_c and p_c (1 - p_c) at c. */
static int
score_seed(int score, int loss, const float *p, const int *c, int rows, int k, float *g)
{
	if (score != DL_SCORE_LOGIT && loss != DL_LOSS_NLL && loss != DL_LOSS_BCE)
		return dl_seterr(DL_EUSAGE, "saliency: score logprob or prob needs a classifier "
		    "(nll or bce loss); use the logit");
	memset(g, 0, (size_t)rows * k * sizeof *g);
	for (int r = 0; r < rows; r++) {
		const float *pr = p + (long)r * k;
		float *gr = g + (long)r * k, pc = pr[c[r]];
		if (score == DL_SCORE_LOGIT) {
			gr[c[r]] = 1;
		} else if (loss == DL_LOSS_BCE) {
			gr[c[r]] = score == DL_SCORE_LOGPROB ? 1 - pc : pc * (1 - pc);
		} else {
			float sc = score == DL_SCORE_LOGPROB ? 1 : pc;
			for (int j = 0; j < k; j++)
				gr[j] = -sc * pr[j];
			gr[c[r]] += sc;
		}
	}
	return 0;
}

/* Seed rows x[rows] (classes c[rows]; x NULL: the net's last forward)
 * with their scores and add (times wt) the channel-max of |d score / d x|
 * of row r into sal[dst[r]]. */
static int
grad_rows(struct dl_net *net, const float *x, int rows, const int *c, int score,
    const long *dst, float wt, float *g, float *seed, float *sal)
{
	int h, w, ch, k = dl_net_outputs(net), rc;
	long hwc = in_size(net, &h, &w, &ch), hw = (long)h * w;

	if (x && (rc = dl_net_forward_f32(net, x, rows, 0)) < 0)
		return rc;
	if (score == DL_SCORE_LOGIT) {
		if ((rc = dl_net_seed_class(net, c)) < 0)
			return rc;
	} else {
		/* the probabilities go in g's first rows * k floats, then the seed */
		if ((rc = (int)dl_net_probs(net, g, (long)rows * k)) < 0 ||
		    (rc = score_seed(score, dl_net_loss_kind(net), g, c, rows, k, seed)) < 0 ||
		    (rc = dl_net_seed(net, NULL, seed)) < 0)
			return rc;
	}
	if ((rc = dl_net_backward(net, DL_BACK_INPUT)) < 0 ||
	    (rc = (int)dl_net_input_grad(net, g, (long)rows * hwc)) < 0)
		return rc;
	for (int r = 0; r < rows; r++)
		for (long i = 0; i < hw; i++) {
			const float *gi = g + (long)r * hwc + i * ch;
			float m = 0;
			for (int j = 0; j < ch; j++)
				m = fmaxf(m, fabsf(gi[j]));
			sal[dst[r] * hw + i] += wt * m;
		}
	return 0;
}

#define SAL_ROWS 128		/* noisy copies per forward */

int
dl_saliency_grad(struct dl_net *net, const float *x, int n, int *cls,
    const struct dl_saliency_opts *o, float *sal)
{
	static const struct dl_saliency_opts plain;
	int h, w, c, k, rc = 0, copies, rows, *rowcls = NULL;
	long hwc = in_size(net, &h, &w, &c), *dst = NULL;
	float *g = NULL, *p = NULL, *seed = NULL, *buf = NULL;
	struct dl_rng r;

	if (!o)
		o = &plain;
	if (o->score < DL_SCORE_LOGIT || o->score > DL_SCORE_PROB)
		return dl_seterr(DL_EUSAGE, "saliency: unknown score %d", o->score);
	if (o->smooth > 0 && !(o->noise >= 0 && isfinite(o->noise)))
		return dl_seterr(DL_EUSAGE, "saliency: noise %g", (double)o->noise);
	if (n <= 0)
		return 0;
	/* the classes, from the clean images */
	if ((rc = dl_net_forward_f32(net, x, n, 0)) < 0)
		return rc;
	if (!(p = probs_of(net, n, &k)))
		return -DL_ENOMEM;
	for (int i = 0; i < n; i++) {
		if (cls[i] < 0)
			cls[i] = dl_argmax(p + (long)i * k, k);
		else if (cls[i] >= k) {
			free(p);
			return dl_seterr(DL_EUSAGE, "saliency: class %d outside [0,%d)", cls[i], k);
		}
	}
	free(p);
	copies = o->smooth > 0 ? o->smooth : 0;
	rows = copies ? SAL_ROWS : n;
	if (rows > (long)n * (copies ? copies : 1))
		rows = (int)((long)n * (copies ? copies : 1));
	g = malloc((size_t)rows * (hwc > k ? hwc : k) * sizeof *g);
	seed = malloc((size_t)rows * k * sizeof *seed);
	dst = malloc((size_t)rows * sizeof *dst);
	rowcls = malloc((size_t)rows * sizeof *rowcls);
	buf = copies ? malloc((size_t)rows * hwc * sizeof *buf) : NULL;
	if (!g || !seed || !dst || !rowcls || (copies && !buf)) {
		rc = dl_seterr(DL_ENOMEM, "saliency: out of memory");
		goto out;
	}
	memset(sal, 0, (size_t)n * h * w * sizeof *sal);
	if (!copies) {
		for (int i = 0; i < n; i++)
			dst[i] = i;
		rc = grad_rows(net, NULL, n, cls, o->score, dst, 1, g, seed, sal);
		goto out;
	}
	/* copy j of image i is row i * copies + j of one long run, cut in
	 * forwards of up to SAL_ROWS rows; image i's noise is drawn in order */
	for (long t0 = 0, total = (long)n * copies; t0 < total; t0 += rows) {
		int nr = total - t0 < rows ? (int)(total - t0) : rows;
		for (int b = 0; b < nr; b++) {
			long t = t0 + b, i = t / copies;
			const float *xi = x + i * hwc;
			float *bi = buf + (long)b * hwc, lo = xi[0], hi = xi[0], sd;
			if (t % copies == 0)
				dl_rng_fork(&r, o->seed, o->first + (uint64_t)i);
			for (long j = 1; j < hwc; j++)
				lo = fminf(lo, xi[j]), hi = fmaxf(hi, xi[j]);
			sd = o->noise * (hi > lo ? hi - lo : 1);
			for (long j = 0; j < hwc; j++)
				bi[j] = xi[j] + sd * (float)dl_rng_normal(&r);
			dst[b] = i;
			rowcls[b] = cls[i];
		}
		if ((rc = grad_rows(net, buf, nr, rowcls, o->score, dst, 1.0f / copies, g, seed,
		    sal)) < 0)
			goto out;
	}
out:
	free(g);
	free(seed);
	free(dst);
	free(rowcls);
	free(buf);
	return rc < 0 ? rc : 0;
}

int
dl_saliency_gradient(struct dl_net *net, const float *x, int n, int *cls, float *sal)
{
	return dl_saliency_grad(net, x, n, cls, NULL, sal);
}

/* Window origins along a side of length len: 0, stride, ... and len - win
 * last, so the far edge is covered.  Returns the count. */
static int
origins(int len, int win, int stride, int *o)
{
	int n = 0, last = len - win;

	for (int v = 0; v <= last; v += stride)
		o[n++] = v;
	if (n == 0 || o[n - 1] != last)
		o[n++] = last;
	return n;
}

int
dl_saliency_occlusion(struct dl_net *net, const float *x, int *cls, int window,
    int stride, int batch, float *sal)
{
	int h, w, c, k, rc = 0, ny, nx, *oy = NULL, *ox = NULL, wh, ww;
	long hwc = in_size(net, &h, &w, &c), npos;
	float *buf = NULL, *p = NULL, *cnt = NULL, mean[64];
	double p0;

	if (window < 1 || stride < 1)
		return dl_seterr(DL_EUSAGE, "occlusion: window %d and stride %d must be >= 1",
		    window, stride);
	if (c > 64)
		return dl_seterr(DL_ESHAPE, "occlusion: %d channels (at most 64)", c);
	if (batch <= 0)
		batch = 64;
	wh = window < h ? window : h;
	ww = window < w ? window : w;
	for (int j = 0; j < c; j++) {
		double s = 0;
		for (long i = 0; i < (long)h * w; i++)
			s += x[i * c + j];
		mean[j] = (float)(s / ((double)h * w));
	}
	if ((rc = dl_net_forward_f32(net, x, 1, 0)) < 0)
		return rc;
	if (!(p = probs_of(net, 1, &k)))
		return -DL_ENOMEM;
	if (*cls < 0)
		*cls = dl_argmax(p, k);
	else if (*cls >= k) {
		free(p);
		return dl_seterr(DL_EUSAGE, "occlusion: class %d outside [0,%d)", *cls, k);
	}
	p0 = p[*cls];
	free(p);
	p = NULL;

	oy = malloc(((size_t)h / stride + 2) * sizeof *oy);
	ox = malloc(((size_t)w / stride + 2) * sizeof *ox);
	buf = malloc((size_t)batch * hwc * sizeof *buf);
	cnt = calloc((size_t)h * w, sizeof *cnt);
	if (!oy || !ox || !buf || !cnt) {
		rc = dl_seterr(DL_ENOMEM, "occlusion: out of memory");
		goto out;
	}
	ny = origins(h, wh, stride, oy);
	nx = origins(w, ww, stride, ox);
	npos = (long)ny * nx;
	memset(sal, 0, (size_t)h * w * sizeof *sal);
	for (long b0 = 0; b0 < npos; b0 += batch) {
		int nb = npos - b0 < batch ? (int)(npos - b0) : batch;
		for (int b = 0; b < nb; b++) {
			float *im = buf + (long)b * hwc;
			long pos = b0 + b;
			int y0 = oy[pos / nx], x0 = ox[pos % nx];
			memcpy(im, x, (size_t)hwc * sizeof *im);
			for (int yy = y0; yy < y0 + wh; yy++)
				for (int xx = x0; xx < x0 + ww; xx++)
					memcpy(im + ((long)yy * w + xx) * c, mean,
					    (size_t)c * sizeof *im);
		}
		if ((rc = dl_net_forward_f32(net, buf, nb, 0)) < 0)
			goto out;
		if (!(p = probs_of(net, nb, &k))) {
			rc = -DL_ENOMEM;
			goto out;
		}
		for (int b = 0; b < nb; b++) {
			long pos = b0 + b;
			int y0 = oy[pos / nx], x0 = ox[pos % nx];
			float d = (float)(p0 - p[(long)b * k + *cls]);
			for (int yy = y0; yy < y0 + wh; yy++)
				for (int xx = x0; xx < x0 + ww; xx++) {
					sal[(long)yy * w + xx] += d;
					cnt[(long)yy * w + xx] += 1;
				}
		}
		free(p);
		p = NULL;
	}
	for (long i = 0; i < (long)h * w; i++)
		sal[i] = cnt[i] > 0 ? sal[i] / cnt[i] : 0;
	rc = 0;
out:
	free(p);
	free(oy);
	free(ox);
	free(buf);
	free(cnt);
	return rc;
}

static int
copy_param(struct dl_net *dst, int di, struct dl_net *src, int si)
{
	struct dl_param_info a, b;
	float *buf;
	int rc;

	dl_net_param_info(dst, di, &a);
	dl_net_param_info(src, si, &b);
	if (a.n != b.n)
		return dl_seterr(DL_ESHAPE, "explain: parameter %s has %ld floats, %s has %ld",
		    a.name, a.n, b.name, b.n);
	if (!(buf = malloc((size_t)(a.n ? a.n : 1) * sizeof *buf)))
		return dl_seterr(DL_ENOMEM, "explain: out of memory");
	rc = dl_net_param_get(src, si, buf);
	if (rc >= 0)
		rc = dl_net_param_set(dst, di, buf);
	free(buf);
	return rc < 0 ? rc : 0;
}

/* dst's parameters from src by name; every one of dst's must be found. */
static int
copy_by_name(struct dl_net *dst, struct dl_net *src)
{
	struct dl_param_info pi;
	int rc, si;

	for (int i = 0; i < dl_net_params(dst); i++) {
		dl_net_param_info(dst, i, &pi);
		if ((si = dl_net_find_param(src, pi.name)) < 0)
			return dl_seterr(DL_ESHAPE, "explain: no parameter %s to copy", pi.name);
		if ((rc = copy_param(dst, i, src, si)) < 0)
			return rc;
	}
	return 0;
}

/* Layer indices of net without its flatten layers into idx; the count. */
static int
solid_layers(struct dl_net *net, int *idx)
{
	struct dl_layer_info li;
	int n = 0;

	for (int i = 0; i < dl_net_layers(net); i++) {
		dl_net_layer_info(net, i, &li);
		if (strcmp(li.kind, "flat"))
			idx[n++] = i;
	}
	return n;
}

/* dst's parameters from src layer by layer in order (flatten layers
 * skipped), tensor names matched by their suffix (".weight"). */
static int
copy_by_order(struct dl_net *dst, struct dl_net *src)
{
	int nd = dl_net_layers(dst), ns = dl_net_layers(src), *di, *si, n, m, rc = 0;
	struct dl_param_info a, b;
	struct dl_layer_info la, lb;

	di = malloc(((size_t)nd + 1) * sizeof *di);
	si = malloc(((size_t)ns + 1) * sizeof *si);
	if (!di || !si) {
		free(di);
		free(si);
		return dl_seterr(DL_ENOMEM, "explain: out of memory");
	}
	n = solid_layers(dst, di);
	m = solid_layers(src, si);
	if (n != m) {
		rc = dl_seterr(DL_ESHAPE, "explain: %d layers, the source has %d", n, m);
		goto out;
	}
	for (int i = 0; i < dl_net_params(dst) && rc == 0; i++) {
		int j, found = -1;
		const char *suf;
		dl_net_param_info(dst, i, &a);
		for (j = 0; j < n && di[j] != a.layer; j++)
			;
		if (j == n) {
			rc = dl_seterr(DL_ESHAPE, "explain: parameter %s of a flatten layer", a.name);
			break;
		}
		dl_net_layer_info(dst, di[j], &la);
		dl_net_layer_info(src, si[j], &lb);
		suf = strchr(a.name, '.');
		for (int k = 0; k < dl_net_params(src) && suf; k++) {
			const char *s2;
			dl_net_param_info(src, k, &b);
			s2 = strchr(b.name, '.');
			if (b.layer == si[j] && s2 && !strcmp(s2, suf))
				found = k;
		}
		if (found < 0)
			rc = dl_seterr(DL_ESHAPE, "explain: %s: no %s in layer %s", a.name,
			    suf ? suf : "?", lb.name);
		else
			rc = copy_param(dst, i, src, found);
		(void)la;
	}
out:
	free(di);
	free(si);
	return rc;
}

struct dl_net *
dl_net_derive(struct dl_net *net, const char *desc, int h, int w, const struct dl_net_opts *o)
{
	int s[3], rc;
	uint64_t shape[3];
	struct dl_net *d;
	const char *own = dl_net_desc(net);

	dl_net_input_shape(net, s);
	shape[0] = (uint64_t)(h > 0 ? h : s[0]);
	shape[1] = (uint64_t)(w > 0 ? w : s[1]);
	shape[2] = (uint64_t)s[2];
	if (!desc)
		desc = own;
	if (!(d = dl_net_new(desc, 3, shape, o)))
		return NULL;
	dl_net_set_loss(d, dl_net_loss_kind(net), 0);
	rc = copy_by_name(d, net);
	if (rc < 0)
		rc = copy_by_order(d, net);
	if (rc < 0) {
		dl_net_free(d);
		return NULL;
	}
	return d;
}

struct dl_net *
dl_net_dense(struct dl_net *net, int h, int w, const struct dl_net_opts *o)
{
	char *desc = dl_net_desc_dense(net);
	struct dl_net *d;

	if (!desc)
		return NULL;
	d = dl_net_derive(net, desc, h, w, o);
	free(desc);
	return d;
}

long
dl_dense_probs(struct dl_net *net, const float *x, int n, float *out, long nmax,
    int *pp, int *qq, int *kk)
{
	struct dl_layer_info li;
	long total, rc;
	int L = dl_net_layers(net), p, q, k, loss = dl_net_loss_kind(net);

	if (L <= 0 || dl_net_layer_info(net, L - 1, &li) < 0)
		return dl_seterr(DL_EUSAGE, "dense: empty net");
	p = li.shape[0];
	q = li.shape[1];
	k = li.shape[2];
	total = (long)n * p * q * k;
	if (total > nmax)
		return dl_seterr(DL_ENOMEM, "dense: %ld floats of output, room for %ld", total, nmax);
	if ((rc = dl_net_forward_f32(net, x, n, 0)) < 0)
		return rc;
	if ((rc = dl_net_activation(net, NULL, out, nmax)) < 0)
		return rc;
	if (loss == DL_LOSS_NLL)
		dl_softmax_rows((long)n * p * q, k, out, out);
	else if (loss == DL_LOSS_BCE)
		for (long i = 0; i < total; i++)
			out[i] = 1 / (1 + expf(-out[i]));
	if (pp)
		*pp = p;
	if (qq)
		*qq = q;
	if (kk)
		*kk = k;
	return total;
}

/* ---- images ------------------------------------------------------------------ */

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

/* ---- Deep Dream ------------------------------------------------------------------ */

#define DREAM_CACHE 8

struct dl_dream {
	struct dl_net *net;		/* the model (not owned) */
	struct dl_dream_opts o;
	struct dl_net_opts no;
	char *layer;			/* copy of o.layer */
	char *desc;			/* layer mode: net cut after layer */
	int in[3];			/* the model's input shape */
	int k;				/* class mode: outputs */
	struct { int h, w; struct dl_net *net; } cache[DREAM_CACHE];
	int n_cache, next;
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
	for (int i = 0; i < d->n_cache; i++)
		dl_net_free(d->cache[i].net);
	free(d->layer);
	free(d->desc);
	free(d);
}

/* The net that dreams on h x w images: the model itself in class mode,
 * else the cut net for that size (cached). */
static struct dl_net *
dream_net(struct dl_dream *d, int h, int w)
{
	struct dl_net *n;
	int i;

	if (!d->o.layer)
		return d->net;
	for (i = 0; i < d->n_cache; i++)
		if (d->cache[i].h == h && d->cache[i].w == w)
			return d->cache[i].net;
	if (!(n = dl_net_derive(d->net, d->desc, h, w, &d->no)))
		return NULL;
	if (d->n_cache < DREAM_CACHE) {
		i = d->n_cache++;
	} else {
		i = d->next;
		d->next = (d->next + 1) % DREAM_CACHE;
		dl_net_free(d->cache[i].net);
	}
	d->cache[i].h = h;
	d->cache[i].w = w;
	d->cache[i].net = n;
	return n;
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
dl_dream_run(struct dl_dream *d, float *img, int h, int w, uint64_t index,
    struct dl_dream_result *res)
{
	int c = d->in[2], oh[32], ow[32], no = 1, rc = 0;
	float *base[32] = { 0 }, *detail = NULL, *cur = NULL, *buf = NULL, *g = NULL;
	struct dl_net *net;
	struct dl_rng r;
	struct dl_dream_result rr = { 0 };
	long n = (long)h * w * c;

	if (!d->o.layer && (h != d->in[0] || w != d->in[1]))
		return dl_seterr(DL_ESHAPE, "dream: image %dx%d: class mode needs the model's "
		    "input size %dx%d", h, w, d->in[0], d->in[1]);
	dl_rng_fork(&r, d->o.seed, index);
	/* octave sizes: shrink by octave_scale, not below the model's input */
	oh[0] = h;
	ow[0] = w;
	while (d->o.layer && no < d->o.octaves && no < 32) {
		int nh = (int)lround(oh[no - 1] / d->o.octave_scale);
		int nw = (int)lround(ow[no - 1] / d->o.octave_scale);
		if (nh < d->in[0] || nw < d->in[1])
			break;
		oh[no] = nh;
		ow[no] = nw;
		no++;
	}
	rr.octaves = no;
	buf = malloc((size_t)n * sizeof *buf);
	g = malloc((size_t)n * sizeof *g);
	cur = malloc((size_t)n * sizeof *cur);
	detail = calloc((size_t)n, sizeof *detail);
	if (!buf || !g || !cur || !detail) {
		rc = dl_seterr(DL_ENOMEM, "dream: out of memory");
		goto out;
	}
	base[0] = img;
	for (int i = 1; i < no; i++) {
		if (!(base[i] = malloc((size_t)oh[i] * ow[i] * c * sizeof *base[i]))) {
			rc = dl_seterr(DL_ENOMEM, "dream: out of memory");
			goto out;
		}
		if ((rc = dl_resize_f32(base[i - 1], oh[i - 1], ow[i - 1], c, base[i], oh[i],
		    ow[i])) < 0)
			goto out;
	}
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
