/*
 * saliency.c - where a trained network looks: gradient saliency (with
 * SmoothGrad), occlusion saliency and dense maps, on top of the public net API
 * (lib/net.h): forward, seeds at a class, backward to the input.  Nothing
 * here touches a backend directly, so it runs wherever the net runs.
 * Dense maps come from the fully convolutional nets of lib/dense.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* A copy of x[n] plus Gaussian noise of sd noise * (max - min) (1 for a
 * flat image) drawn from r, into dst. */
static void
noisy_copy(const float *x, long n, float noise, struct dl_rng *r, float *dst)
{
	float lo = x[0], hi = x[0], sd;

	for (long j = 1; j < n; j++)
		lo = fminf(lo, x[j]), hi = fmaxf(hi, x[j]);
	sd = noise * (hi > lo ? hi - lo : 1);
	for (long j = 0; j < n; j++)
		dst[j] = x[j] + sd * (float)dl_rng_normal(r);
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
			if (t % copies == 0)
				dl_rng_fork(&r, o->seed, o->first + (uint64_t)i);
			noisy_copy(x + i * hwc, hwc, o->noise, &r, buf + (long)b * hwc);
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

/* im = x[h, w, c] with the wh x ww window at (y0, x0) filled with mean[c]. */
static void
occlude(const float *x, int h, int w, int c, int y0, int x0, int wh, int ww, const float *mean,
    float *im)
{
	memcpy(im, x, (size_t)h * w * c * sizeof *im);
	for (int yy = y0; yy < y0 + wh; yy++)
		for (int xx = x0; xx < x0 + ww; xx++)
			memcpy(im + ((long)yy * w + xx) * c, mean, (size_t)c * sizeof *im);
}

/* p(*cls | x) of one image into *p0; *cls < 0 becomes the predicted class. */
static int
clean_prob(struct dl_net *net, const float *x, int *cls, double *p0)
{
	float *p;
	int k, rc;

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
	*p0 = p[*cls];
	free(p);
	return 0;
}

int
dl_saliency_occlusion(struct dl_net *net, const float *x, int *cls, int window,
    int stride, int batch, float *sal)
{
	int h, w, c, k, rc = 0, ny, nx, *oy = NULL, *ox = NULL, wh, ww;
	long hwc = in_size(net, &h, &w, &c), npos;
	float *buf = NULL, *p = NULL, *cnt = NULL, mean[64];
	double p0 = 0;

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
	if ((rc = clean_prob(net, x, cls, &p0)) < 0)
		return rc;

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
			long pos = b0 + b;
			occlude(x, h, w, c, oy[pos / nx], ox[pos % nx], wh, ww, mean,
			    buf + (long)b * hwc);
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

/* Per pixel of sal[h, w], the mean of ps[P, Q, K]'s class c over the
 * positions whose window (win[0] x win[1] at stride st, the first at
 * (-top, -left)) covers it; cnt is h * w floats of scratch. */
static void
window_mean(const float *ps, int p, int q, int k, int c, const int *win, int st, int top,
    int left, int h, int w, float *cnt, float *sal)
{
	memset(sal, 0, (size_t)h * w * sizeof *sal);
	memset(cnt, 0, (size_t)h * w * sizeof *cnt);
	for (int i = 0; i < p; i++)
		for (int j = 0; j < q; j++) {
			int y0 = i * st - top, x0 = j * st - left;

			for (int y = y0 < 0 ? 0 : y0; y < y0 + win[0] && y < h; y++)
				for (int xx = x0 < 0 ? 0 : x0; xx < x0 + win[1] && xx < w; xx++) {
					sal[(long)y * w + xx] += ps[((long)i * q + j) * k + c];
					cnt[(long)y * w + xx]++;
				}
		}
	for (long i = 0; i < (long)h * w; i++)
		sal[i] = cnt[i] > 0 ? sal[i] / cnt[i] : 0;
}

/* One side: the padding before (a multiple of st, at least win - st) and
 * the padded length, whose windows at stride st end flush with it and
 * start at every multiple of st up to the last pixel's. */
static void
pad_side(int n, int win, int st, int *before, int *padded)
{
	int b = win > st ? (win - st + st - 1) / st * st : 0;

	*before = b;
	*padded = win + (b + n - st > 0 ? (b + n - st + st - 1) / st * st : 0);
}

void
dl_dense_padding(struct dl_net *model, int h, int w, int pad[4])
{
	int in[3], st = dl_net_total_stride(model);

	dl_net_input_shape(model, in);
	pad_side(h, in[0], st, &pad[0], &pad[2]);
	pad_side(w, in[1], st, &pad[1], &pad[3]);
}

int
dl_saliency_dense(struct dl_net *model, struct dl_net *dense, const float *x, int n, int h,
    int w, int cls, float *probs, long nmax, int *pqk, float *sal)
{
	int in[3], size[3], pad[4], p, q, k, st, i0, j0, pi, qi;
	long rc, hw = (long)h * w;
	float *cnt = NULL, *xp = NULL;

	dl_net_input_shape(model, in);
	dl_net_input_shape(dense, size);
	dl_dense_padding(model, h, w, pad);
	st = dl_net_total_stride(model);
	if (h < in[0] || w < in[1])
		return dl_seterr(DL_ESHAPE, "dense: a %dx%d image is smaller than the model's "
		    "%dx%d input", h, w, in[0], in[1]);
	if (size[0] != pad[2] || size[1] != pad[3])
		return dl_seterr(DL_ESHAPE, "dense: the net takes %dx%d, the padded image is %dx%d",
		    size[0], size[1], pad[2], pad[3]);
	if (!(cnt = malloc((size_t)hw * sizeof *cnt)) ||
	    !(xp = calloc((size_t)n * pad[2] * pad[3] * in[2], sizeof *xp))) {
		rc = dl_seterr(DL_ENOMEM, "out of memory");
		goto out;
	}
	/* Zeros around each image: every pixel is covered by as many windows
	 * as any other, so the edges and corners are not averaged over fewer
	 * (and better placed) windows than the middle. */
	for (long s = 0; s < n; s++)
		for (int y = 0; y < h; y++)
			memcpy(xp + ((s * pad[2] + pad[0] + y) * pad[3] + pad[1]) * in[2],
			    x + (s * hw + (long)y * w) * in[2], (size_t)w * in[2] * sizeof *x);
	if ((rc = dl_dense_probs(dense, xp, n, probs, nmax, &p, &q, &k)) < 0)
		goto out;
	rc = -DL_EUSAGE;
	if (cls >= k) {
		dl_seterr(DL_EUSAGE, "class %d outside [0,%d)", cls, k);
		goto out;
	}
	/* The windows wholly inside the image: the grid of probs. */
	i0 = pad[0] / st;
	j0 = pad[1] / st;
	pi = (h - in[0]) / st + 1;
	qi = (w - in[1]) / st + 1;
	for (int s = 0; s < n; s++) {
		const float *ps = probs + (long)s * p * q * k;
		int c = cls;
		if (c < 0) {	/* the class most probable anywhere inside */
			float best = -1;
			for (int i = 0; i < pi; i++)
				for (long j = 0; j < (long)qi * k; j++)
					if (ps[((long)(i0 + i) * q + j0) * k + j] > best)
						best = ps[((long)(i0 + i) * q + j0) * k + j], c = (int)(j % k);
		}
		window_mean(ps, p, q, k, c, in, st, pad[0], pad[1], h, w, cnt, sal + s * hw);
	}
	for (int s = 0; s < n; s++)	/* in place: each row moves to a lower address */
		for (int i = 0; i < pi; i++)
			memmove(probs + (((long)s * pi + i) * qi) * k,
			    probs + (((long)s * p + i0 + i) * q + j0) * k, (size_t)qi * k * sizeof *probs);
	if (pqk)
		pqk[0] = pi, pqk[1] = qi, pqk[2] = k;
	rc = 0;
out:
	free(cnt);
	free(xp);
	return (int)rc;
}
