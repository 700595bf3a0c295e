/*
 * onnx-import.c - an ONNX graph into a network description and weights
 * (lib/onnx.h).  The graph is walked once in its node order, as a chain:
 * one activation flows from the input to the output, and each node either
 * computes on constants alone (folded: the Shape/Gather/Unsqueeze/Concat
 * chain of a dynamic batch size, Constant, Cast, Reshape of a weight) or
 * takes the activation and becomes a layer of the notation, a part of one
 * (a bias Add, a non-linearity, a BatchNormalization after a
 * convolution) or nothing (Identity, Dropout in inference, a Flatten).
 * Anything else is refused before a weight is converted; only then are
 * the weights converted from where they lie in the file, one tensor at a
 * time, into the model's parameter record.
 */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlpipe.h"
#include "onnx.h"
#include "onnxpb.h"
#include "layer.h"

enum { V_CONST = 1, V_ACT, V_DEAD };
#define MAX_LAYERS 256
#define MAX_FOLD (1u << 24)	/* elements of a folded constant */

struct val {
	struct onnx_str name;
	int kind;
	int ndim;
	int64_t dims[DL_ONNX_MAX_NDIM];
	uint64_t count;
	const struct onnx_tensor *t;	/* values where they lie, or */
	double *d;			/* folded (owned) */
	int gen;			/* V_ACT: which activation */
};

enum { L_CONV = 1, L_FC, L_POOL, L_GAP, L_BN, L_DROP };

struct lay {
	int kind;
	char name[32];
	char tok[48];
	int act;		/* DL_ACT_*; -1: none given */
	float alpha;
	int k, r, stride, pad, cin, mp;
	int ident;		/* inserted: identity weights, for what needs a layer */
	int fc_c, fc_h, fc_w;	/* FC after a flattened C,H,W map */
	const struct val *w;
	int trans_b;		/* FC weight stored [in, out] */
	double wscale;		/* Gemm alpha, the input scale */
	const struct val *b[4];	/* biases added (Gemm C, Conv B, Adds) */
	double bscale[4];
	int nb;
	const struct val *bn[4];	/* scale, B, mean, var */
	double eps;
	float p;
};

struct imp {
	const struct onnx_model *m;
	const struct dl_onnx_import_opts *o;
	struct val *v;
	long nv, capv;
	long *hash;		/* index + 1 into v; 0: empty */
	long hcap;
	/* the activation */
	int gen, rank, c, h, w, d;	/* rank 4: [C,H,W]; rank 2: [D] */
	int flat_c, flat_h, flat_w;	/* rank 2 from flattening this map (c>1 && h*w>1) */
	int pad[4];			/* a Pad of zeros pending: top, left, bottom, right */
	int rank3;			/* the input was (N,C,L), held as (N,C,L,1) */
	int64_t batch;
	struct lay L[MAX_LAYERS];
	int nl, n_conv, n_fc, n_pool, n_bn, n_drop;
	int final;
	const struct onnx_node *node;	/* the node being read, for messages */
};

/* ---- the value table -------------------------------------------------------- */
static uint64_t
hash_str(struct onnx_str s)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < s.n; i++)
		h = (h ^ (uint8_t)s.p[i]) * 1099511628211ull;
	return h;
}

static struct val *
find(struct imp *im, struct onnx_str s)
{
	for (uint64_t i = hash_str(s) & (uint64_t)(im->hcap - 1);; i = (i + 1) & (uint64_t)(im->hcap - 1)) {
		long j = im->hash[i];
		if (!j)
			return NULL;
		struct val *v = &im->v[j - 1];
		if (v->name.n == s.n && (!s.n || !memcmp(v->name.p, s.p, s.n)))
			return v;
	}
}

/* A new value named s; NULL when one exists (names are unique in SSA). */
static struct val *
add(struct imp *im, struct onnx_str s, int kind)
{
	uint64_t i;

	if (find(im, s))
		return NULL;
	for (i = hash_str(s) & (uint64_t)(im->hcap - 1); im->hash[i]; i = (i + 1) & (uint64_t)(im->hcap - 1))
		;
	struct val *v = &im->v[im->nv++];
	*v = (struct val){ .name = s, .kind = kind };
	im->hash[i] = im->nv;
	return v;
}

/* ---- messages ------------------------------------------------------------------ */
static int __attribute__((format(printf, 2, 3)))
refuse(struct imp *im, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (im->node)
		return dl_seterr(DL_EUSAGE, "node %s (%s): %s", dl_onnx_esc(im->node->name),
		    dl_escn(im->node->op.p, im->node->op.n), msg);
	return dl_seterr(DL_EUSAGE, "%s", msg);
}

static const struct onnx_attr *
attr(const struct onnx_node *n, const char *name)
{
	for (int i = 0; i < n->n_attr; i++)
		if (dl_onnx_eq(n->attr[i].name, name))
			return &n->attr[i];
	return NULL;
}

static int64_t
attr_i(const struct onnx_node *n, const char *name, int64_t def)
{
	const struct onnx_attr *a = attr(n, name);

	return a ? a->i : def;
}

static float
attr_f(const struct onnx_node *n, const char *name, float def)
{
	const struct onnx_attr *a = attr(n, name);

	return a ? a->f : def;
}

/* Refuse every attribute not in the NULL-terminated list ok. */
static int
only_attrs(struct imp *im, const char *const *ok)
{
	for (int i = 0; i < im->node->n_attr; i++) {
		int j;
		for (j = 0; ok[j]; j++)
			if (dl_onnx_eq(im->node->attr[i].name, ok[j]))
				break;
		if (!ok[j])
			return refuse(im, "attribute %s is not supported",
			    dl_onnx_esc(im->node->attr[i].name));
	}
	return 0;
}

/* An INTS attribute into out[want] (all equal to def when absent). */
static int
ints(struct imp *im, const char *name, int want, int64_t def, int64_t *out)
{
	const struct onnx_attr *a = attr(im->node, name);

	for (int i = 0; i < want; i++)
		out[i] = def;
	if (!a)
		return 0;
	if (a->n != want)
		return refuse(im, "attribute %s has %d values, not %d (2-D images only)", name, a->n, want);
	for (int i = 0; i < want; i++) {
		if (a->ints[i] < -(1 << 20) || a->ints[i] > 1 << 20)
			return refuse(im, "attribute %s: %lld is out of range", name, (long long)a->ints[i]);
		out[i] = a->ints[i];
	}
	return 0;
}

/* ---- constants -------------------------------------------------------------------- */
static int
const_f64(const struct val *v, double *out)
{
	if (v->d) {
		memcpy(out, v->d, v->count * sizeof *out);
		return 0;
	}
	return dl_onnx_tensor_f64(v->t, out);
}

static int
const_f32(const struct val *v, float *out)
{
	if (v->d) {
		for (uint64_t i = 0; i < v->count; i++)
			out[i] = (float)v->d[i];
		return 0;
	}
	return dl_onnx_tensor_f32(v->t, out);
}

/* A small constant's values (count <= MAX_FOLD), malloc'd. */
static double *
small(struct imp *im, const struct val *v)
{
	double *d;

	if (v->count > MAX_FOLD) {
		refuse(im, "constant %s of %llu values is too large to fold", dl_onnx_esc(v->name),
		    (unsigned long long)v->count);
		return NULL;
	}
	if (!(d = malloc((v->count + 1) * sizeof *d))) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	if (const_f64(v, d) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

static int
set_dims(struct imp *im, struct val *v, int ndim, const int64_t *dims)
{
	v->ndim = ndim;
	v->count = 1;
	for (int i = 0; i < ndim; i++) {
		if (dims[i] < 0 || dims[i] > (1ll << 40))
			return refuse(im, "dimension %lld of %s", (long long)dims[i], dl_onnx_esc(v->name));
		v->dims[i] = dims[i];
		v->count *= (uint64_t)dims[i];
		if (v->count > (1ull << 40))
			return refuse(im, "%s is too large", dl_onnx_esc(v->name));
	}
	return 0;
}

/* A node output holding folded values d (taken over) of shape dims. */
static int
put_folded(struct imp *im, int ndim, const int64_t *dims, double *d)
{
	struct val *o;
	int rc;

	if (im->node->n_out < 1 || !(o = add(im, im->node->out[0], V_CONST))) {
		free(d);
		return refuse(im, "its output is missing or named twice");
	}
	o->d = d;
	if ((rc = set_dims(im, o, ndim, dims)) < 0)
		return rc;
	return 0;
}

static int
norm_axis(struct imp *im, int64_t axis, int rank, int *out)
{
	if (axis < -rank || axis >= rank)
		return refuse(im, "axis %lld is out of range for rank %d", (long long)axis, rank);
	*out = (int)(axis < 0 ? axis + rank : axis);
	return 0;
}

/* Every node whose inputs are all constants: computed here. */
static int
fold(struct imp *im, struct val **in, int nin)
{
	const struct onnx_node *n = im->node;
	int64_t dims[DL_ONNX_MAX_NDIM];
	double *d = NULL, *a = NULL;
	int rc = 0, ax = 0;

	if (nin < 1)
		return refuse(im, "no inputs");
	if (dl_onnx_eq(n->op, "Identity") || dl_onnx_eq(n->op, "Cast") ||
	    ((dl_onnx_eq(n->op, "Dropout")) && nin >= 1)) {
		struct val *o;
		if (nin < 1 || !(o = add(im, n->out[0], V_CONST)))
			return refuse(im, "its input or output is missing");
		*o = *in[0];
		o->name = n->out[0];
		if (in[0]->d && !(o->d = small(im, in[0])))
			return -DL_ENOMEM;
		if (dl_onnx_eq(n->op, "Cast") && o->d) {
			int64_t to = attr_i(n, "to", 1);
			if (to == ONNX_INT64 || to == ONNX_INT32)
				for (uint64_t i = 0; i < o->count; i++)
					o->d[i] = trunc(o->d[i]);
			else if (to == ONNX_FLOAT)
				for (uint64_t i = 0; i < o->count; i++)
					o->d[i] = (float)o->d[i];
		}
		return 0;
	}
	if (dl_onnx_eq(n->op, "Shape")) {
		if (!(d = malloc(DL_ONNX_MAX_NDIM * sizeof *d)))
			return -DL_ENOMEM;
		for (int i = 0; i < in[0]->ndim; i++)
			d[i] = (double)in[0]->dims[i];
		dims[0] = in[0]->ndim;
		return put_folded(im, 1, dims, d);
	}
	if (dl_onnx_eq(n->op, "Reshape")) {
		if (nin != 2)
			return refuse(im, "Reshape of constants needs 2 inputs");
		if (!(a = small(im, in[1])))
			return -DL_ENOMEM;
		int nd = (int)in[1]->count, neg = -1;
		uint64_t known = 1;
		if (nd > DL_ONNX_MAX_NDIM) {
			free(a);
			return refuse(im, "a shape of %d dims", nd);
		}
		for (int i = 0; i < nd; i++) {
			if (a[i] == 0 && !attr_i(n, "allowzero", 0) && i < in[0]->ndim)
				a[i] = (double)in[0]->dims[i];
			if (a[i] == -1 && neg < 0) {
				neg = i;
				continue;
			}
			if (a[i] < 0 || a[i] > (double)(1ll << 40)) {
				double bad = a[i];
				free(a);
				return refuse(im, "shape value %g", bad);
			}
			dims[i] = (int64_t)a[i];
			known *= (uint64_t)dims[i];
			if (known > (1ull << 40)) {
				free(a);
				return refuse(im, "a shape of over 2^40 values");
			}
		}
		if (neg >= 0)
			dims[neg] = known ? (int64_t)(in[0]->count / known) : 0;
		free(a);
		struct val *o;
		if (!(o = add(im, n->out[0], V_CONST)))
			return refuse(im, "its output is named twice");
		const struct val src = *in[0];
		*o = src;
		o->name = n->out[0];
		if (src.d && !(o->d = small(im, &src)))
			return -DL_ENOMEM;
		uint64_t before = o->count;
		if ((rc = set_dims(im, o, nd, dims)) < 0)
			return rc;
		if (o->count != before)
			return refuse(im, "Reshape of %llu values to %llu", (unsigned long long)before,
			    (unsigned long long)o->count);
		return 0;
	}
	/* the rest compute on small values */
	if (!(a = small(im, in[0])))
		return -DL_ENOMEM;
	if (dl_onnx_eq(n->op, "Gather")) {
		double *idx;
		if (nin != 2 || in[0]->ndim != 1) {
			free(a);
			return refuse(im, "Gather of constants: only from a 1-D tensor");
		}
		if (!(idx = small(im, in[1]))) {
			free(a);
			return -DL_ENOMEM;
		}
		if (!(d = malloc((in[1]->count + 1) * sizeof *d)))
			rc = -DL_ENOMEM;
		for (uint64_t i = 0; rc == 0 && i < in[1]->count; i++) {
			double k = idx[i] < 0 ? idx[i] + (double)in[0]->count : idx[i];
			if (k < 0 || k >= (double)in[0]->count)
				rc = refuse(im, "index %g out of range", idx[i]);
			else
				d[i] = a[(uint64_t)k];
		}
		free(idx);
		free(a);
		if (rc < 0) {
			free(d);
			return rc;
		}
		return put_folded(im, in[1]->ndim, in[1]->dims, d);
	}
	if (dl_onnx_eq(n->op, "Unsqueeze") || dl_onnx_eq(n->op, "Squeeze")) {
		int64_t axes[DL_ONNX_MAX_NDIM];
		int na = 0, sq = dl_onnx_eq(n->op, "Squeeze");
		const struct onnx_attr *at = attr(n, "axes");
		if (at) {
			na = at->n;
			if (na > DL_ONNX_MAX_NDIM)
				rc = refuse(im, "too many axes");
			for (int i = 0; rc == 0 && i < na; i++)
				axes[i] = at->ints[i];
		} else if (nin == 2) {
			double *ax2 = small(im, in[1]);
			if (!ax2)
				rc = -DL_ENOMEM;
			na = (int)in[1]->count;
			if (rc == 0 && na > DL_ONNX_MAX_NDIM)
				rc = refuse(im, "too many axes");
			for (int i = 0; rc == 0 && i < na; i++)
				axes[i] = (int64_t)ax2[i];
			free(ax2);
		}
		int nd = sq ? in[0]->ndim : in[0]->ndim + na, j = 0;
		char mark[DL_ONNX_MAX_NDIM] = { 0 };
		if (rc == 0 && (nd > DL_ONNX_MAX_NDIM || (!sq && na == 0)))
			rc = refuse(im, "axes missing or over %d dims", DL_ONNX_MAX_NDIM);
		for (int i = 0; rc == 0 && i < na; i++)
			if ((rc = norm_axis(im, axes[i], nd, &ax)) == 0)
				mark[ax] = 1;
		if (rc == 0 && sq) {
			for (int i = 0; i < in[0]->ndim; i++)
				if (na ? !mark[i] : in[0]->dims[i] != 1)
					dims[j++] = in[0]->dims[i];
		} else if (rc == 0)
			for (int i = 0, k = 0; i < nd; i++)
				dims[j++] = mark[i] ? 1 : in[0]->dims[k++];
		if (rc < 0) {
			free(a);
			return rc;
		}
		return put_folded(im, j, dims, a);
	}
	if (dl_onnx_eq(n->op, "Concat")) {
		uint64_t total = 0;
		for (int i = 0; i < nin; i++) {
			if (in[i]->ndim != 1)
				rc = refuse(im, "Concat of constants: 1-D only");
			total += in[i]->count;
		}
		if (rc == 0 && total > MAX_FOLD)
			rc = refuse(im, "Concat too large");
		if (rc == 0 && !(d = malloc((total + 1) * sizeof *d)))
			rc = -DL_ENOMEM;
		for (int i = 0, k = 0; rc == 0 && i < nin; i++) {
			double *b = small(im, in[i]);
			if (!b) {
				rc = -DL_ENOMEM;
				break;
			}
			memcpy(d + k, b, in[i]->count * sizeof *d);
			k += (int)in[i]->count;
			free(b);
		}
		free(a);
		if (rc < 0) {
			free(d);
			return rc;
		}
		dims[0] = (int64_t)total;
		return put_folded(im, 1, dims, d);
	}
	if (dl_onnx_eq(n->op, "Transpose") && in[0]->ndim == 2) {
		const struct onnx_attr *p = attr(n, "perm");
		int swap = !p || (p->n == 2 && p->ints[0] == 1 && p->ints[1] == 0);
		if (!p || swap) {
			int64_t r = in[0]->dims[0], c = in[0]->dims[1];
			if (!(d = malloc((in[0]->count + 1) * sizeof *d))) {
				free(a);
				return -DL_ENOMEM;
			}
			for (int64_t i = 0; i < r; i++)
				for (int64_t k = 0; k < c; k++)
					d[k * r + i] = a[i * c + k];
			free(a);
			dims[0] = c, dims[1] = r;
			return put_folded(im, 2, dims, d);
		}
		return put_folded(im, 2, in[0]->dims, a);
	}
	static const char *const arith[] = { "Add", "Sub", "Mul", "Div" };
	for (int op = 0; op < 4; op++) {
		if (!dl_onnx_eq(n->op, arith[op]))
			continue;
		double *b = nin == 2 ? small(im, in[1]) : NULL;
		if (!b) {
			free(a);
			return nin == 2 ? -DL_ENOMEM : refuse(im, "needs 2 inputs");
		}
		if (in[1]->count != in[0]->count && in[1]->count != 1) {
			free(a), free(b);
			return refuse(im, "arithmetic on constants of different shapes");
		}
		for (uint64_t i = 0; i < in[0]->count; i++) {
			double y = b[in[1]->count == 1 ? 0 : i];
			a[i] = op == 0 ? a[i] + y : op == 1 ? a[i] - y : op == 2 ? a[i] * y
			    : y != 0 ? a[i] / y : 0;
		}
		free(b);
		return put_folded(im, in[0]->ndim, in[0]->dims, a);
	}
	free(a);
	return refuse(im, "this operator on constants is not supported");
}

/* ---- layers ---------------------------------------------------------------------- */
static struct lay *
last(struct imp *im)
{
	return im->nl ? &im->L[im->nl - 1] : NULL;
}

static struct lay *
new_layer(struct imp *im, int kind)
{
	struct lay *l;
	int *cnt;
	const char *nm;

	if (im->nl == MAX_LAYERS) {
		refuse(im, "over %d layers", MAX_LAYERS);
		return NULL;
	}
	l = &im->L[im->nl++];
	*l = (struct lay){ .kind = kind, .act = -1, .wscale = 1 };
	switch (kind) {
	case L_CONV: cnt = &im->n_conv, nm = "conv"; break;
	case L_FC: cnt = &im->n_fc, nm = "fc"; break;
	case L_BN: cnt = &im->n_bn, nm = "bn"; break;
	case L_DROP: cnt = &im->n_drop, nm = "drop"; break;
	default: cnt = &im->n_pool, nm = "pool"; break;
	}
	snprintf(l->name, sizeof l->name, "%s%d", nm, ++*cnt);
	return l;
}

/* An identity layer - a 1x1 convolution or a fully connected layer with
 * identity weights and zero bias, whose outputs are its inputs exactly -
 * for what the notation puts only on a layer: a non-linearity, bias or BN
 * on the input, after pooling or after another non-linearity. */
#define MAX_IDENT 4096
static struct lay *
identity(struct imp *im, const char *what)
{
	struct lay *l;
	int n = im->rank == 4 ? im->c : im->d;

	if (n > MAX_IDENT) {
		refuse(im, "%s here would need an identity layer of %d channels (too many)", what, n);
		return NULL;
	}
	if (!(l = new_layer(im, im->rank == 4 ? L_CONV : L_FC)))
		return NULL;
	l->ident = 1, l->k = l->cin = n, l->r = 1, l->stride = 1;
	/* after a flatten: the FC permutes dlpipe's H,W,C order into ONNX's C,H,W */
	l->fc_c = im->flat_c, l->fc_h = im->flat_h, l->fc_w = im->flat_w;
	im->flat_c = 0;
	if (im->rank == 4)
		snprintf(l->tok, sizeof l->tok, "%dC1", n);
	else
		snprintf(l->tok, sizeof l->tok, "FC%d", n);
	return l;
}

/* The layer that a bias, BN or non-linearity attaches to. */
static struct lay *
open_layer(struct imp *im, const char *what)
{
	struct lay *l = last(im);

	if (!l || (l->kind != L_CONV && l->kind != L_FC && l->kind != L_BN) || l->act >= 0)
		return identity(im, what);
	return l;
}

static int
pads_of(struct imp *im, int k, int s, int64_t pads[4])
{
	const struct onnx_attr *ap = attr(im->node, "auto_pad");
	int rc;

	if ((rc = ints(im, "pads", 4, 0, pads)) < 0)
		return rc;
	if (ap && !dl_onnx_eq(ap->s, "NOTSET") && !dl_onnx_eq(ap->s, "VALID")) {
		int upper = dl_onnx_eq(ap->s, "SAME_UPPER");
		if (!upper && !dl_onnx_eq(ap->s, "SAME_LOWER"))
			return refuse(im, "auto_pad %s", dl_onnx_esc(ap->s));
		int hw[2] = { im->h, im->w };
		for (int i = 0; i < 2; i++) {
			int out = (hw[i] + s - 1) / s, tot = (out - 1) * s + k - hw[i];
			if (tot < 0)
				tot = 0;
			pads[i] = upper ? tot / 2 : tot - tot / 2;
			pads[i + 2] = tot - pads[i];
		}
	} else if (ap && dl_onnx_eq(ap->s, "VALID"))
		pads[0] = pads[1] = pads[2] = pads[3] = 0;
	for (int i = 0; i < 4; i++)
		pads[i] += im->pad[i];
	return 0;
}

static int
need_map(struct imp *im)
{
	if (im->rank != 4)
		return refuse(im, "needs an image (N,C,H,W), the activation here is (N,%d)", im->d);
	return 0;
}

static int
square(struct imp *im, const char *what, const int64_t *v)
{
	if (v[0] != v[1])
		return refuse(im, "attribute %s %lldx%lld: the notation's are square", what,
		    (long long)v[0], (long long)v[1]);
	if (v[0] < 1)
		return refuse(im, "attribute %s %lld", what, (long long)v[0]);
	return 0;
}

static int
conv(struct imp *im, struct val **in, int nin)
{
	static const char *const ok[] = { "auto_pad", "dilations", "group", "kernel_shape", "pads",
	    "strides", NULL };
	int64_t ks[2], st[2], dil[2], pads[4];
	const struct val *w;
	struct lay *l;
	int rc;

	if ((rc = only_attrs(im, ok)) < 0 || (rc = need_map(im)) < 0)
		return rc;
	if (nin < 2 || in[1]->kind != V_CONST || (nin > 2 && in[2]->kind != V_CONST))
		return refuse(im, "its weights and bias must be constants");
	w = in[1];
	if (attr_i(im->node, "group", 1) != 1)
		return refuse(im, "attribute group=%lld: grouped convolution is not in the notation",
		    (long long)attr_i(im->node, "group", 1));
	if (w->ndim != 4)
		return refuse(im, "weights of %d dims: 2-D convolutions only", w->ndim);
	if ((rc = ints(im, "kernel_shape", 2, 0, ks)) < 0)
		return rc;
	if (attr(im->node, "kernel_shape") && (ks[0] != w->dims[2] || ks[1] != w->dims[3]))
		return refuse(im, "kernel_shape disagrees with the weights");
	ks[0] = w->dims[2], ks[1] = w->dims[3];
	if ((rc = square(im, "kernel_shape", ks)) < 0 || (rc = ints(im, "strides", 2, 1, st)) < 0 ||
	    (rc = square(im, "strides", st)) < 0 || (rc = ints(im, "dilations", 2, 1, dil)) < 0)
		return rc;
	if (dil[0] != 1 || dil[1] != 1)
		return refuse(im, "attribute dilations %lld,%lld: not in the notation",
		    (long long)dil[0], (long long)dil[1]);
	if (w->dims[1] != im->c)
		return refuse(im, "weights for %lld channels, the input has %d",
		    (long long)w->dims[1], im->c);
	if (w->dims[0] < 1 || w->dims[0] > 1000000 || ks[0] > 1000)
		return refuse(im, "weights [%lld,...]", (long long)w->dims[0]);
	int k = (int)ks[0], s = (int)st[0], p = (k - 1) / 2;
	if ((rc = pads_of(im, k, s, pads)) < 0)
		return rc;
	int zero = !pads[0] && !pads[1] && !pads[2] && !pads[3];
	int same = pads[0] == p && pads[1] == p && pads[2] == p && pads[3] == p && p > 0;
	if (!zero && !same)
		return refuse(im, "pads %lld,%lld,%lld,%lld: the notation pads (k-1)/2 = %d on every "
		    "side or not at all", (long long)pads[0], (long long)pads[1], (long long)pads[2],
		    (long long)pads[3], p);
	memset(im->pad, 0, sizeof im->pad);
	int pd = same ? p : 0;
	if (im->h + 2 * pd < k || im->w + 2 * pd < k)
		return refuse(im, "a %dx%d kernel on a %dx%d map", k, k, im->h, im->w);
	if (nin > 2 && in[2]->count != (uint64_t)w->dims[0])
		return refuse(im, "a bias of %llu values for %lld filters",
		    (unsigned long long)in[2]->count, (long long)w->dims[0]);
	if (!(l = new_layer(im, L_CONV)))
		return -DL_EUSAGE;
	l->k = (int)w->dims[0], l->r = k, l->stride = s, l->pad = same, l->cin = im->c, l->w = w;
	if (nin > 2)
		l->b[l->nb] = in[2], l->bscale[l->nb++] = 1;
	snprintf(l->tok, sizeof l->tok, "%dC%d%s", l->k, k, same ? "p" : "");
	if (s > 1)
		snprintf(l->tok + strlen(l->tok), sizeof l->tok - strlen(l->tok), "s%d", s);
	im->c = l->k;
	im->h = (im->h + 2 * pd - k) / s + 1;
	im->w = (im->w + 2 * pd - k) / s + 1;
	return 0;
}

/* Gemm and MatMul: a fully connected layer on a flat activation. */
static int
fc(struct imp *im, struct val **in, int nin, int gemm)
{
	static const char *const ok[] = { "alpha", "beta", "transA", "transB", "broadcast", NULL };
	const struct val *w;
	struct lay *l;
	int rc;

	if ((rc = only_attrs(im, ok)) < 0)
		return rc;
	if (im->rank != 2)
		return refuse(im, "on an image (N,C,H,W): flatten it first");
	if (nin < 2 || in[0]->kind != V_ACT || in[1]->kind != V_CONST ||
	    (nin > 2 && in[2]->kind != V_CONST))
		return refuse(im, "A must be the activation and B, C constants");
	if (attr_i(im->node, "transA", 0))
		return refuse(im, "attribute transA=1: the batch must be the rows");
	w = in[1];
	int tb = gemm && attr_i(im->node, "transB", 0);
	if (w->ndim != 2)
		return refuse(im, "a weight of %d dims (2 expected)", w->ndim);
	int64_t nin_ = tb ? w->dims[1] : w->dims[0], nout = tb ? w->dims[0] : w->dims[1];
	if (nin_ != im->d)
		return refuse(im, "a weight for %lld inputs, the activation has %d", (long long)nin_,
		    im->d);
	if (nout < 1 || nout > 1000000)
		return refuse(im, "%lld outputs", (long long)nout);
	if (nin > 2) {
		const struct val *c = in[2];
		int ok_c = c->count == 1 || (c->count == (uint64_t)nout &&
		    (c->ndim == 1 || (c->ndim == 2 && c->dims[0] == 1)));
		if (!ok_c)
			return refuse(im, "input C of %llu values: only a bias per output (or one for all) "
			    "is expressible", (unsigned long long)c->count);
	}
	if (!(l = new_layer(im, L_FC)))
		return -DL_EUSAGE;
	l->k = (int)nout, l->w = w, l->trans_b = !tb, l->cin = im->d;
	l->fc_c = im->flat_c, l->fc_h = im->flat_h, l->fc_w = im->flat_w;
	l->wscale = gemm ? attr_f(im->node, "alpha", 1.0f) : 1;
	if (nin > 2)
		l->b[l->nb] = in[2], l->bscale[l->nb++] = gemm ? attr_f(im->node, "beta", 1.0f) : 1;
	snprintf(l->tok, sizeof l->tok, "FC%d", l->k);
	im->d = l->k;
	im->flat_c = 0;
	return 0;
}

static int
bias_add(struct imp *im, struct val **in, int nin)
{
	const struct val *b = in[0]->kind == V_CONST ? in[0] : in[1];
	struct lay *l;

	if (nin != 2 || in[0]->kind == in[1]->kind)
		return refuse(im, "an Add of two activations (a residual or branching graph) is not "
		    "expressible");
	if (!(l = open_layer(im, "an Add")))
		return -DL_EUSAGE;
	if (l->nb == 4)
		return refuse(im, "too many Adds");
	uint64_t ch = (uint64_t)(l->kind == L_FC || im->rank == 2 ? im->d : im->c);
	int ok = b->count == 1;
	if (!ok && b->count == ch) {
		/* NCHW broadcasting: [C,1,1] or [1,C,1,1] on a map; [D] or [1,D] flat */
		int lead = 1;
		for (int i = 0; i < b->ndim; i++)
			if (b->dims[i] != 1) {
				lead = i;
				break;
			}
		int trail = b->ndim - 1 - lead;
		ok = im->rank == 4 ? trail == 2 && b->ndim <= 4 : trail == 0 && b->ndim <= 2;
		/* opsets before 7: broadcast=1 with axis=1 puts [C] on the channels */
		if (im->m->opset < 7 && attr_i(im->node, "broadcast", 0) && im->rank == 4)
			ok = attr_i(im->node, "axis", -1) == 1 && b->ndim == 1;
	}
	if (!ok)
		return refuse(im, "a constant of %llu values over %d dims is not a bias per channel",
		    (unsigned long long)b->count, b->ndim);
	l->b[l->nb] = b, l->bscale[l->nb++] = 1;
	return 0;
}

static int
act(struct imp *im, int kind, float alpha)
{
	struct lay *l = last(im);

	/* a non-linearity commutes with the max pooling before it */
	if (l && l->kind == L_POOL && l->mp && im->nl > 1) {
		struct lay *p = &im->L[im->nl - 2];
		if ((p->kind == L_CONV || p->kind == L_FC || p->kind == L_BN) && p->act < 0) {
			p->act = kind, p->alpha = alpha;
			return 0;
		}
	}
	if (!(l = open_layer(im, "a non-linearity")))
		return -DL_EUSAGE;
	l->act = kind, l->alpha = alpha;
	return 0;
}

static int
bn(struct imp *im, struct val **in, int nin)
{
	static const char *const ok[] = { "epsilon", "momentum", "spatial", "training_mode",
	    "is_test", "consumed_inputs", NULL };
	struct lay *l, *prev = last(im);
	int rc;

	if ((rc = only_attrs(im, ok)) < 0)
		return rc;
	if (attr_i(im->node, "training_mode", 0))
		return refuse(im, "attribute training_mode=1: batch statistics of the input and "
		    "updated running statistics (training, not inference)");
	if (im->node->n_out > 1)
		return refuse(im, "%d outputs (running mean and variance): training mode, not inference",
		    im->node->n_out);
	if (!attr_i(im->node, "spatial", 1))
		return refuse(im, "attribute spatial=0");
	if (nin != 5)
		return refuse(im, "%d inputs (5 expected)", nin);
	for (int i = 1; i < 5; i++)
		if (in[i]->kind != V_CONST ||
		    in[i]->count != (uint64_t)(im->rank == 4 ? im->c : im->d))
			return refuse(im, "input %d must be a constant per channel", i);
	if ((!prev || (prev->kind != L_CONV && prev->kind != L_FC) || prev->act >= 0) &&
	    !(prev = identity(im, "a BatchNormalization")))
		return -DL_EUSAGE;
	if (!(l = new_layer(im, L_BN)))
		return -DL_EUSAGE;
	for (int i = 0; i < 4; i++)
		l->bn[i] = in[i + 1];
	l->eps = attr_f(im->node, "epsilon", 1e-5f);
	if (!(l->eps > 0 && l->eps < 1))
		return refuse(im, "attribute epsilon=%g", l->eps);
	snprintf(l->tok, sizeof l->tok, "BN");
	return 0;
}

static int
pool(struct imp *im, int max)
{
	static const char *const ok[] = { "auto_pad", "ceil_mode", "count_include_pad", "dilations",
	    "kernel_shape", "pads", "storage_order", "strides", NULL };
	int64_t ks[2], st[2], dil[2], pads[4];
	struct lay *l;
	int rc;

	if ((rc = only_attrs(im, ok)) < 0 || (rc = need_map(im)) < 0)
		return rc;
	if (im->node->n_out > 1)
		return refuse(im, "the Indices output is not expressible");
	if (!attr(im->node, "kernel_shape"))
		return refuse(im, "no kernel_shape");
	if ((rc = ints(im, "kernel_shape", 2, 1, ks)) < 0 || (rc = square(im, "kernel_shape", ks)) < 0 ||
	    (rc = ints(im, "strides", 2, 1, st)) < 0 || (rc = square(im, "strides", st)) < 0 ||
	    (rc = ints(im, "dilations", 2, 1, dil)) < 0)
		return rc;
	if (dil[0] != 1 || dil[1] != 1)
		return refuse(im, "attribute dilations: not in the notation");
	int k = (int)ks[0], s = (int)st[0];
	if ((rc = pads_of(im, k, s, pads)) < 0)
		return rc;
	if (pads[0] || pads[1] || pads[2] || pads[3])
		return refuse(im, "pads %lld,%lld,%lld,%lld: the notation's pooling does not pad",
		    (long long)pads[0], (long long)pads[1], (long long)pads[2], (long long)pads[3]);
	if (im->h < k || im->w < k)
		return refuse(im, "a %dx%d window on a %dx%d map", k, k, im->h, im->w);
	if (attr_i(im->node, "ceil_mode", 0) && ((im->h - k) % s || (im->w - k) % s))
		return refuse(im, "attribute ceil_mode=1 where it adds a partial window (the notation "
		    "rounds down)");
	if (!(l = new_layer(im, L_POOL)))
		return -DL_EUSAGE;
	l->mp = max;
	snprintf(l->tok, sizeof l->tok, "%cP%d", max ? 'M' : 'A', k);
	if (s != k)
		snprintf(l->tok + strlen(l->tok), sizeof l->tok - strlen(l->tok), "s%d", s);
	im->h = (im->h - k) / s + 1;
	im->w = (im->w - k) / s + 1;
	return 0;
}

/* Flatten or Reshape of a map to (N, C*H*W). */
static void
flatten(struct imp *im)
{
	if (im->rank == 4) {
		im->rank = 2;
		im->d = im->c * im->h * im->w;
		im->flat_c = im->c, im->flat_h = im->h, im->flat_w = im->w;
	}
}

static int
reshape(struct imp *im, struct val **in, int nin)
{
	double *s;
	int rc = 0;

	if (nin != 2 || in[1]->kind != V_CONST)
		return refuse(im, "the shape must be a constant");
	if (!(s = small(im, in[1])))
		return -DL_ENOMEM;
	long per = im->rank == 4 ? (long)im->c * im->h * im->w : im->d;
	/* (N, D): N as given, 0 (copy) or -1; D the rest or -1 */
	if (in[1]->count != 2 || !(s[0] == (double)im->batch || s[0] == 0 || s[0] == -1) ||
	    !(s[1] == (double)per || (s[1] == -1 && s[0] != -1)))
		rc = refuse(im, "a shape of %llu values: only flattening to (N, %ld) is expressible",
		    (unsigned long long)in[1]->count, per);
	free(s);
	if (rc == 0)
		flatten(im);
	return rc;
}

static int
pad_node(struct imp *im, struct val **in, int nin)
{
	const struct onnx_attr *mode = attr(im->node, "mode");
	int64_t p[8] = { 0 };
	double value = attr_f(im->node, "value", 0);

	if (mode && !dl_onnx_eq(mode->s, "constant"))
		return refuse(im, "attribute mode=%s: only zeros are expressible", dl_onnx_esc(mode->s));
	if (need_map(im) < 0)
		return -DL_EUSAGE;
	const struct onnx_attr *pa = attr(im->node, "pads");
	if (pa) {
		if (pa->n != 8)
			return refuse(im, "pads of %d values", pa->n);
		memcpy(p, pa->ints, sizeof p);
	} else {
		if (nin < 2 || in[1]->kind != V_CONST || in[1]->count != 8)
			return refuse(im, "pads must be a constant of 8 values");
		double d[8];
		if (const_f64(in[1], d) < 0)
			return -DL_EFORMAT;
		for (int i = 0; i < 8; i++)
			p[i] = (int64_t)d[i];
		if (nin > 2 && in[2]->kind == V_CONST && in[2]->count == 1 && const_f64(in[2], &value) < 0)
			return -DL_EFORMAT;
		if (nin > 3)
			return refuse(im, "input axes is not supported");
	}
	if (value != 0)
		return refuse(im, "a pad value of %g: only zeros are expressible", value);
	/* begins N,C,H,W then ends */
	if (p[0] || p[1] || p[4] || p[5])
		return refuse(im, "padding the batch or the channels");
	for (int i = 0; i < 8; i++)
		if (p[i] < 0 || p[i] > 1000)
			return refuse(im, "pads %lld", (long long)p[i]);
	im->pad[0] += (int)p[2], im->pad[1] += (int)p[3], im->pad[2] += (int)p[6], im->pad[3] += (int)p[7];
	return 0;
}

/* ---- the walk --------------------------------------------------------------------- */
static int
node_step(struct imp *im, const struct onnx_node *n)
{
	struct val *in[DL_ONNX_MAX_IO];
	int nin = 0, nact = 0, rc = 0;

	im->node = n;
	if (n->domain.n && !dl_onnx_eq(n->domain, "ai.onnx"))
		return refuse(im, "domain %s: only ai.onnx's operators", dl_onnx_esc(n->domain));
	if (n->n_in > DL_ONNX_MAX_IO || n->n_out < 1)
		return refuse(im, "%d inputs and %d outputs", n->n_in, n->n_out);
	for (int i = 0; i < n->n_in; i++) {
		if (!n->in[i].n) {	/* an optional input left out: only at the end */
			for (int j = i + 1; j < n->n_in; j++)
				if (n->in[j].n)
					return refuse(im, "optional input %d left out before input %d", i, j);
			break;
		}
		if (!(in[nin] = find(im, n->in[i])))
			return refuse(im, "input %s is produced by no earlier node (a dangling edge, a "
			    "cycle, or nodes out of order)", dl_onnx_esc(n->in[i]));
		if (in[nin]->kind == V_DEAD)
			return refuse(im, "input %s is an output this importer does not compute",
			    dl_onnx_esc(n->in[i]));
		if (in[nin]->kind == V_ACT) {
			if (in[nin]->gen != im->gen && !dl_onnx_eq(n->op, "Shape"))
				return refuse(im, "input %s was already used by another node: a branching "
				    "graph is not expressible", dl_onnx_esc(n->in[i]));
			nact++;
		}
		nin++;
	}
	if (dl_onnx_eq(n->op, "Constant")) {
		const struct onnx_attr *a = n->n_attr == 1 ? &n->attr[0] : NULL;
		struct val *o;
		if (!a || !(o = add(im, n->out[0], V_CONST)))
			return refuse(im, "needs one attribute and a new output name");
		if (dl_onnx_eq(a->name, "value") && a->type == ONNX_A_TENSOR && a->t) {
			o->t = a->t;
			return set_dims(im, o, a->t->ndim, a->t->dims);
		}
		if ((dl_onnx_eq(a->name, "value_float") || dl_onnx_eq(a->name, "value_int")) &&
		    (o->d = malloc(sizeof *o->d))) {
			o->d[0] = a->type == ONNX_A_FLOAT ? a->f : (double)a->i;
			return set_dims(im, o, 0, NULL);
		}
		if ((dl_onnx_eq(a->name, "value_ints") || dl_onnx_eq(a->name, "value_floats")) &&
		    a->n <= DL_ONNX_MAX_INTS && (o->d = malloc((size_t)(a->n + 1) * sizeof *o->d))) {
			int64_t len = a->n;
			for (int i = 0; i < a->n; i++)
				o->d[i] = a->type == ONNX_A_INTS ? (double)a->ints[i] : a->floats[i];
			return set_dims(im, o, 1, &len);
		}
		return refuse(im, "attribute %s is not supported", dl_onnx_esc(a->name));
	}
	if (dl_onnx_eq(n->op, "Shape") && nact && im->rank3)
		return refuse(im, "the shape of an (N,C,L) input");
	if (dl_onnx_eq(n->op, "Shape") && nact) {
		/* of the activation: (N, C, H, W) or (N, D), folded */
		int64_t start = attr_i(n, "start", 0), end = attr_i(n, "end", 8), dims[1];
		int64_t sh[4] = { im->batch, im->c, im->h, im->w }, r = im->rank;
		if (im->rank == 2)
			sh[1] = im->d;
		if (start < 0) start += r;
		if (end < 0) end += r;
		if (start < 0) start = 0;
		if (end > r) end = r;
		double *d = malloc(4 * sizeof *d);
		if (!d)
			return -DL_ENOMEM;
		dims[0] = end > start ? end - start : 0;
		for (int64_t i = 0; i < dims[0]; i++)
			d[i] = (double)sh[start + i];
		return put_folded(im, 1, dims, d);
	}
	if (!nact)
		return fold(im, in, nin);
	if (nact > 1)
		return bias_add(im, in, nin);	/* refuses it */
	if (in[0]->kind != V_ACT && !dl_onnx_eq(n->op, "Add") && !dl_onnx_eq(n->op, "Sum"))
		return refuse(im, "the activation must be its first input");
	if (im->final)
		return refuse(im, "an operator after the %s: it must be the last",
		    im->final == DL_ONNX_SOFTMAX ? "Softmax" : im->final == DL_ONNX_LOGSOFTMAX ?
		    "LogSoftmax" : "Sigmoid");

	const char *op = NULL;
	static const char *const none[] = { NULL };
	if (dl_onnx_eq(n->op, "Conv"))
		rc = conv(im, in, nin);
	else if (dl_onnx_eq(n->op, "Gemm"))
		rc = fc(im, in, nin, 1);
	else if (dl_onnx_eq(n->op, "MatMul")) {
		rc = fc(im, in, nin, 0);
	} else if (dl_onnx_eq(n->op, "Add") || dl_onnx_eq(n->op, "Sum"))
		rc = bias_add(im, in, nin);
	else if (dl_onnx_eq(n->op, "Relu"))
		rc = only_attrs(im, none) < 0 ? -DL_EUSAGE : act(im, DL_ACT_RELU, 0);
	else if (dl_onnx_eq(n->op, "Tanh"))
		rc = only_attrs(im, none) < 0 ? -DL_EUSAGE : act(im, DL_ACT_TANH, 0);
	else if (dl_onnx_eq(n->op, "Sigmoid"))
		rc = only_attrs(im, none) < 0 ? -DL_EUSAGE : act(im, DL_ACT_SIGMOID, 0);
	else if (dl_onnx_eq(n->op, "LeakyRelu")) {
		float a = attr_f(n, "alpha", 0.01f);
		int pc = (int)lroundf(a * 100);
		if (pc < 1 || pc > 99 || pc / 100.0f != a)
			return refuse(im, "attribute alpha=%g: the notation's LRELUa has a slope of a whole "
			    "percent (1 to 99)", a);
		rc = act(im, DL_ACT_LRELU, a);
	} else if (dl_onnx_eq(n->op, "BatchNormalization"))
		rc = bn(im, in, nin);
	else if (dl_onnx_eq(n->op, "MaxPool"))
		rc = pool(im, 1);
	else if (dl_onnx_eq(n->op, "AveragePool"))
		rc = pool(im, 0);
	else if (dl_onnx_eq(n->op, "GlobalAveragePool")) {
		struct lay *l;
		if ((rc = need_map(im)) < 0 || !(l = new_layer(im, L_GAP)))
			return rc < 0 ? rc : -DL_EUSAGE;
		snprintf(l->tok, sizeof l->tok, "GAP");
		im->h = im->w = 1;
	} else if (dl_onnx_eq(n->op, "Flatten")) {
		int ax = 0;
		if ((rc = norm_axis(im, attr_i(n, "axis", 1), im->rank, &ax)) < 0)
			return rc;
		if (ax != 1)
			return refuse(im, "attribute axis=%lld: only flattening after the batch dimension "
			    "(axis 1)", (long long)attr_i(n, "axis", 1));
		flatten(im);
	} else if (dl_onnx_eq(n->op, "Reshape"))
		rc = reshape(im, in, nin);
	else if (dl_onnx_eq(n->op, "Identity"))
		rc = 0;
	else if (dl_onnx_eq(n->op, "Dropout")) {
		double ratio = attr_f(n, "ratio", 0.5f);
		if (nin > 1 && (in[1]->kind != V_CONST || in[1]->count != 1 || const_f64(in[1], &ratio) < 0))
			return refuse(im, "ratio must be a constant");
		if (nin > 2) {
			double t;
			if (in[2]->kind != V_CONST || in[2]->count != 1 || const_f64(in[2], &t) < 0 || t)
				return refuse(im, "training_mode must be a constant false");
		}
		int pc = (int)lround(ratio * 100);
		struct lay *l;
		if (pc >= 1 && pc <= 99 && fabs(pc / 100.0 - ratio) < 1e-6 && im->nl) {
			if (!(l = new_layer(im, L_DROP)))
				return -DL_EUSAGE;
			l->p = (float)pc;
			snprintf(l->tok, sizeof l->tok, "D%d", pc);
		}
	} else if (dl_onnx_eq(n->op, "Softmax") || dl_onnx_eq(n->op, "LogSoftmax")) {
		int ax = 0;
		if ((rc = norm_axis(im, attr_i(n, "axis", im->m->opset >= 13 ? -1 : 1), im->rank, &ax)) < 0)
			return rc;
		if (im->rank != 2 || ax != 1)
			return refuse(im, "on %s axis %d: only over the outputs of a flat (N, D) activation",
			    im->rank == 4 ? "an image (N,C,H,W)," : "(N, D),", ax);
		im->final = dl_onnx_eq(n->op, "Softmax") ? DL_ONNX_SOFTMAX : DL_ONNX_LOGSOFTMAX;
	} else if (dl_onnx_eq(n->op, "Transpose")) {
		const struct onnx_attr *p = attr(n, "perm");
		for (int i = 0; p && i < p->n && rc == 0; i++)
			if (p->ints[i] != i)
				rc = refuse(im, "attribute perm: only the identity permutation is expressible");
		if (!p || p->n != im->rank)
			rc = refuse(im, "attribute perm missing: a transposed activation is not expressible");
	} else if (dl_onnx_eq(n->op, "Pad"))
		rc = pad_node(im, in, nin);
	else
		op = "not supported";
	if (op)
		return refuse(im, "operator %s is %s", dl_escn(n->op.p, n->op.n), op);
	if (rc < 0)
		return rc;
	if (im->pad[0] + im->pad[1] + im->pad[2] + im->pad[3] && !dl_onnx_eq(n->op, "Pad") &&
	    !dl_onnx_eq(n->op, "Conv"))
		return refuse(im, "a Pad not followed by a Conv: the notation pads only convolutions");
	/* the outputs: the activation, any other (Dropout's mask) never used */
	struct val *o = add(im, n->out[0], V_ACT);
	if (!o)
		return refuse(im, "output %s is named twice", dl_onnx_esc(n->out[0]));
	o->gen = ++im->gen;
	for (int i = 1; i < n->n_out; i++)
		if (n->out[i].n && !add(im, n->out[i], V_DEAD))
			return refuse(im, "output %s is named twice", dl_onnx_esc(n->out[i]));
	return 0;
}

static int
walk(struct imp *im, struct dl_onnx_import_info *info)
{
	const struct onnx_model *m = im->m;
	struct val *v;
	int n_data = 0, rc;

	/* 7 to 17; the operators read here mean the same in 1 to 6 (Gemm and
	 * Add's broadcast attribute, BN's is_test, read below) */
	if (m->opset < 1 || m->opset > 17)
		return refuse(im, "opset %lld: opsets 1 to 17 are read", (long long)m->opset);
	for (int i = 0; i < m->n_init; i++) {
		if (!(v = add(im, m->init[i].name, V_CONST)))
			return refuse(im, "initializer %s is named twice", dl_onnx_esc(m->init[i].name));
		v->t = &m->init[i];
		if ((rc = set_dims(im, v, v->t->ndim, v->t->dims)) < 0)
			return rc;
	}
	for (int i = 0; i < m->n_in; i++) {
		const struct onnx_value *gi = &m->in[i];
		if (find(im, gi->name))
			continue;	/* an initializer's default, or bound */
		if (n_data++)
			return refuse(im, "graph input %s: a second input is not expressible",
			    dl_onnx_esc(gi->name));
		if (gi->dtype && gi->dtype != ONNX_FLOAT)
			return refuse(im, "graph input %s of data type %d: float inputs only",
			    dl_onnx_esc(gi->name), gi->dtype);
		if (gi->ndim < 2 || gi->ndim > 4)
			return refuse(im, "graph input %s of %d dims: images (N,C,H,W), (N,C,L) as "
			    "(N,C,L,1), or vectors (N,D) only", dl_onnx_esc(gi->name), gi->ndim);
		for (int j = 1; j < gi->ndim; j++)
			if (gi->dims[j] < 1 || gi->dims[j] > 1 << 20)
				return refuse(im, "graph input %s: dimension %d is %lld (known sizes up to "
				    "2^20 only)", dl_onnx_esc(gi->name), j, (long long)gi->dims[j]);
		im->batch = gi->dims[0] > 0 ? gi->dims[0] : 1;
		im->rank = gi->ndim == 3 ? 4 : gi->ndim;
		im->rank3 = gi->ndim == 3;
		if (gi->ndim >= 3) {
			im->c = (int)gi->dims[1], im->h = (int)gi->dims[2];
			im->w = gi->ndim == 4 ? (int)gi->dims[3] : 1;
			if ((long)im->c * im->h * im->w > 1 << 28)
				return refuse(im, "graph input %s is too large", dl_onnx_esc(gi->name));
			info->in[0] = im->h, info->in[1] = im->w, info->in[2] = im->c;
		} else {
			im->d = (int)gi->dims[1];
			info->in[0] = info->in[1] = 1, info->in[2] = im->d;
		}
		info->in_rank = gi->ndim;
		v = add(im, gi->name, V_ACT);
		v->gen = im->gen;
	}
	if (!n_data)
		return refuse(im, "no graph input left for the data");
	for (int i = 0; i < m->n_node; i++)
		if ((rc = node_step(im, &m->node[i])) < 0)
			return rc;
	im->node = NULL;
	if (m->n_out != 1)
		return refuse(im, "%d graph outputs: one is expressible", m->n_out);
	if (!(v = find(im, m->out[0].name)) || v->kind != V_ACT || v->gen != im->gen)
		return refuse(im, "graph output %s is not the end of the chain of layers",
		    dl_onnx_esc(m->out[0].name));
	/* a flattened map as the output: an FC puts it in ONNX's order */
	if (im->rank == 2 && im->flat_c > 1 && im->flat_h * im->flat_w > 1 &&
	    !identity(im, "a flattened map as the output"))
		return -DL_EUSAGE;
	if (!im->nl && !identity(im, "a graph without layers"))
		return -DL_EUSAGE;
	if (im->pad[0] + im->pad[1] + im->pad[2] + im->pad[3])
		return refuse(im, "a Pad at the end");
	/* a last Sigmoid on the last layer is the probabilities of loss bce */
	struct lay *l = last(im);
	if (!im->final && l->act == DL_ACT_SIGMOID && (l->kind == L_FC || l->kind == L_CONV ||
	    l->kind == L_BN) && m->n_node && dl_onnx_eq(m->node[m->n_node - 1].op, "Sigmoid")) {
		l->act = -1;
		im->final = DL_ONNX_SIGMOID;
	}
	info->final = im->final;
	info->out_rank = im->rank;
	return 0;
}

/* The description from the layers: a non-linearity written where it is
 * not the default (ReLU on every conv/FC/BN but the last, none there). */
static int
describe(struct imp *im, char *buf, size_t n)
{
	int lastw = -1;
	size_t len = 0;

	for (int i = 0; i < im->nl; i++)
		if (im->L[i].kind == L_CONV || im->L[i].kind == L_FC || im->L[i].kind == L_BN)
			lastw = i;
	buf[0] = 0;
	for (int i = 0; i < im->nl; i++) {
		struct lay *l = &im->L[i];
		char a[32] = "";
		len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s", i ? "-" : "", l->tok);
		int takes = l->kind == L_CONV || l->kind == L_FC || l->kind == L_BN;
		/* a conv/FC before its BN: the BN takes the non-linearity */
		if (takes && i + 1 < im->nl && im->L[i + 1].kind == L_BN && l->kind != L_BN)
			continue;
		if (!takes)
			continue;
		int def = i == lastw ? DL_ACT_NONE : DL_ACT_RELU;
		int have = l->act < 0 ? DL_ACT_NONE : l->act;
		if (have != def || (have == DL_ACT_LRELU))
			dl_act_token(have, l->alpha, a, sizeof a);
		if (have == DL_ACT_NONE && def != DL_ACT_NONE)
			snprintf(a, sizeof a, "LIN");
		if (*a)
			len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "-%s", a);
	}
	return len < n ? 0 : refuse(im, "the description is too long");
}

/* ---- weights ---------------------------------------------------------------------- */
static int
fill(struct imp *im, struct lay *l, const char *what, float *out, long nout)
{
	float *src = NULL;
	double *b = NULL;
	int rc = 0;

	if (!strcmp(what, "weight") && l->ident) {
		long I = l->k;
		for (long i = 0; i < nout; i++)
			out[i] = 0;
		if (l->kind == L_FC && l->fc_c) {
			int C = l->fc_c, H = l->fc_h, W = l->fc_w;
			for (int c = 0; c < C; c++)
				for (int h = 0; h < H; h++)
					for (int w = 0; w < W; w++)
						out[(((long)c * H + h) * W + w) * I + ((long)h * W + w) * C + c] =
						    (float)l->wscale;
		} else
			for (long k = 0; k < I; k++)
				out[k * I + k] = (float)l->wscale;
		return 0;
	}
	if (!strcmp(what, "weight")) {
		if (!(src = malloc(l->w->count * sizeof *src)))
			return dl_seterr(DL_ENOMEM, "out of memory");
		if ((rc = const_f32(l->w, src)) < 0)
			goto out;
		float sc = (float)l->wscale;
		if (l->kind == L_CONV) {	/* [K,C,R,S] -> [K,R,S,C] */
			int K = l->k, C = l->cin, R = l->r;
			for (int k = 0; k < K; k++)
				for (int c = 0; c < C; c++)
					for (int r = 0; r < R; r++)
						for (int s = 0; s < R; s++)
							out[(((long)k * R + r) * R + s) * C + c] =
							    src[(((long)k * C + c) * R + r) * R + s] * sc;
		} else {	/* [out, in], columns C,H,W -> H,W,C */
			int O = l->k, I = l->cin;
			int C = l->fc_c ? l->fc_c : 1, H = l->fc_c ? l->fc_h : 1, W = l->fc_c ? l->fc_w : I;
			if (!l->fc_c)
				C = 1, H = 1, W = I;
			for (int o = 0; o < O; o++)
				for (int c = 0; c < C; c++)
					for (int h = 0; h < H; h++)
						for (int w = 0; w < W; w++) {
							long ci = ((long)c * H + h) * W + w;	/* ONNX column */
							long di = ((long)h * W + w) * C + c;	/* dlpipe column */
							float x = l->trans_b ? src[ci * O + o] : src[(long)o * I + ci];
							out[(long)o * I + di] = x * sc;
						}
		}
		goto out;
	}
	if (l->kind == L_BN) {
		double *p[4] = { 0 };
		long C = nout;
		for (int i = 0; i < 4 && rc == 0; i++)
			if (!(p[i] = small(im, l->bn[i])))
				rc = -DL_ENOMEM;
		for (int j = 0; rc == 0 && j < l->nb; j++) {	/* Adds after the BN: into beta */
			double *a = small(im, l->b[j]);
			if (!a) {
				rc = -DL_ENOMEM;
				break;
			}
			for (long c = 0; c < C; c++)
				p[1][c] += a[l->b[j]->count == 1 ? 0 : c] * l->bscale[j];
			free(a);
		}
		for (long c = 0; rc == 0 && c < C; c++) {
			if (!strcmp(what, "gamma")) out[c] = (float)p[0][c];
			else if (!strcmp(what, "beta")) out[c] = (float)p[1][c];
			else if (!strcmp(what, "mean")) out[c] = (float)p[2][c];
			else {	/* dlpipe's epsilon is BN_EPS: the variance takes the difference */
				double var = (float)l->eps == BN_EPS ? p[3][c] : p[3][c] + l->eps - 1e-5;
				if (!(var >= 0))
					rc = refuse(im, "%s: variance %g with epsilon %g is negative with "
					    "dlpipe's epsilon 1e-5", l->name, p[3][c], l->eps);
				out[c] = (float)var;
			}
		}
		for (int i = 0; i < 4; i++)
			free(p[i]);
		return rc;
	}
	/* bias: the sum of what was added */
	for (long i = 0; i < nout; i++)
		out[i] = 0;
	for (int j = 0; j < l->nb && rc == 0; j++) {
		if (!(b = small(im, l->b[j])))
			return -DL_ENOMEM;
		for (long i = 0; i < nout; i++)
			out[i] += (float)(b[l->b[j]->count == 1 ? 0 : i] * l->bscale[j]);
		free(b);
	}
out:
	free(src);
	return rc;
}

/* The model file: HEAD as dl_model_save writes it, then the parameters
 * converted one tensor at a time into the DATA record (a BN's Adds go
 * into its beta). */
static int
write_model(struct imp *im, const char *out, const char *desc, const struct dl_onnx_import_info *info)
{
	uint64_t shape[3] = { (uint64_t)info->in[0], (uint64_t)info->in[1], (uint64_t)info->in[2] };
	int ndim = info->in_rank >= 3 ? 3 : 1;
	struct dl_net *net;
	struct dl_record *rec = NULL;
	struct dl_writer *w = NULL;
	int rc = 0;

	if (ndim == 1)
		shape[0] = (uint64_t)info->in[2];
	if (!(net = dl_net_plan(desc, ndim, shape, &(struct dl_net_opts){ .device = "cpu",
	    .loss = im->final == DL_ONNX_SIGMOID ? DL_LOSS_BCE : DL_LOSS_NLL })))
		return dl_seterr(DL_EUSAGE, "the description %s: %s", desc, dl_errmsg());
	/* the net's shapes must be the graph's */
	struct dl_layer_info li;
	dl_net_layer_info(net, dl_net_layers(net) - 1, &li);
	int want[3] = { im->rank == 4 ? im->h : 1, im->rank == 4 ? im->w : 1,
	    im->rank == 4 ? im->c : im->d };
	if (memcmp(li.shape, want, sizeof want)) {
		rc = dl_seterr(DL_ESHAPE, "%s: the net's output is %dx%dx%d, the graph's %dx%dx%d", desc,
		    li.shape[0], li.shape[1], li.shape[2], want[0], want[1], want[2]);
		goto done;
	}
	if (!(rec = dl_record_new(DL_TAG_HEAD)) || !(w = dl_writer_open(out, NULL))) {
		rc = rec ? -DL_EIO : -DL_ENOMEM;
		goto done;
	}
	if ((rc = dl_record_set(rec, "kind", "model")) < 0 ||
	    (rc = dl_record_set(rec, "net", desc)) < 0 ||
	    (rc = dl_record_setf(rec, "input", "%d,%d,%d", info->in[0], info->in[1], info->in[2])) < 0 ||
	    (rc = dl_record_set(rec, "loss", im->final == DL_ONNX_SIGMOID ? "bce" : "nll")) < 0 ||
	    (rc = dl_record_setf(rec, "outputs", "%d", dl_net_outputs(net))) < 0 ||
	    (im->o->source && (rc = dl_record_set(rec, "source", im->o->source)) < 0) ||
	    (rc = dl_record_setf(rec, "onnx_opset", "%lld", (long long)im->m->opset)) < 0 ||
	    (rc = dl_writer_put(w, rec)) < 0)
		goto done;
	dl_record_clear(rec, DL_TAG_DATA);
	if ((rc = dl_record_set(rec, "part", "params")) < 0)
		goto done;
	for (int i = 0; i < dl_net_params(net) && rc == 0; i++) {
		struct dl_param_info pi;
		struct dl_tensor *t;
		dl_net_param_info(net, i, &pi);
		const char *dot = strchr(pi.name, '.');
		struct lay *l = NULL;
		for (int j = 0; j < im->nl; j++)
			if (dot && strlen(im->L[j].name) == (size_t)(dot - pi.name) &&
			    !strncmp(im->L[j].name, pi.name, (size_t)(dot - pi.name)))
				l = &im->L[j];
		if (!l || !(t = dl_record_add(rec, pi.name, DL_F32, pi.ndim, pi.shape))) {
			rc = l ? -DL_ENOMEM : dl_seterr(DL_ESHAPE, "parameter %s has no layer", pi.name);
			break;
		}
		rc = fill(im, l, dot + 1, t->data, pi.n);
	}
	if (rc == 0)
		rc = dl_writer_put(w, rec);
	if (rc == 0) {
		rc = dl_writer_close(w);
		w = NULL;
	}
done:
	if (w)
		dl_writer_abort(w, dl_errmsg());
	dl_record_free(rec);
	dl_net_free(net);
	return rc;
}

int
dl_onnx_import(const void *buf, size_t n, const char *name, const char *out,
    const struct dl_onnx_import_opts *o, struct dl_onnx_import_info *info)
{
	static const struct dl_onnx_import_opts none;
	struct dl_onnx_import_info dummy;
	struct onnx_model m;
	struct onnx_tensor *bound = NULL;
	struct imp *im;
	int rc;

	o = o ? o : &none;
	info = info ? info : &dummy;
	*info = (struct dl_onnx_import_info){ 0 };
	if ((rc = dl_onnx_parse(buf, n, &m)) < 0) {
		dl_errprefix("%s", name);
		return rc;
	}
	if (!(im = calloc(1, sizeof *im))) {
		dl_onnx_free(&m);
		return dl_seterr(DL_ENOMEM, "out of memory");
	}
	im->m = &m, im->o = o;
	im->capv = m.n_init + m.n_in + o->n_bind + 1;
	for (int i = 0; i < m.n_node; i++)
		im->capv += m.node[i].n_out;
	for (im->hcap = 16; im->hcap < 2 * im->capv; im->hcap *= 2)
		;
	im->v = calloc((size_t)im->capv, sizeof *im->v);
	im->hash = calloc((size_t)im->hcap, sizeof *im->hash);
	bound = calloc((size_t)o->n_bind + 1, sizeof *bound);
	if (!im->v || !im->hash || !bound) {
		rc = dl_seterr(DL_ENOMEM, "out of memory");
		goto done;
	}
	for (int i = 0; i < o->n_bind; i++) {
		struct val *v;
		if ((rc = dl_onnx_parse_tensor(o->bind_pb[i], o->bind_n[i], &bound[i])) < 0)
			goto done;
		struct onnx_str s = { o->bind_name[i], strlen(o->bind_name[i]) };
		if (!(v = add(im, s, V_CONST))) {
			rc = dl_seterr(DL_EUSAGE, "%s bound twice", o->bind_name[i]);
			goto done;
		}
		v->t = &bound[i];
		if ((rc = set_dims(im, v, bound[i].ndim, bound[i].dims)) < 0)
			goto done;
	}
	if ((rc = walk(im, info)) < 0 || (rc = describe(im, info->desc, sizeof info->desc)) < 0)
		goto done;
	{
		/* the input scale goes into the first layer's weights */
		double sc = o->input_scale > 0 ? o->input_scale : 1;
		if (sc != 1) {
			if (im->L[0].kind != L_CONV && im->L[0].kind != L_FC) {
				rc = dl_seterr(DL_EUSAGE, "an input scale needs a convolution or fully "
				    "connected first layer");
				goto done;
			}
			im->L[0].wscale *= sc;
		}
	}
	info->nodes = m.n_node;
	info->out[0] = im->rank == 4 ? im->h : 1, info->out[1] = im->rank == 4 ? im->w : 1;
	info->out[2] = im->rank == 4 ? im->c : im->d;
	rc = write_model(im, out, info->desc, info);
done:
	if (rc < 0)
		dl_errprefix("%s", name);
	for (long i = 0; i < im->nv; i++)
		free(im->v[i].d);
	free(im->v);
	free(im->hash);
	free(im);
	free(bound);
	dl_onnx_free(&m);
	return rc;
}

int
dl_onnx_import_file(const char *path, const char *out, const struct dl_onnx_import_opts *o,
    struct dl_onnx_import_info *info)
{
	struct stat st;
	void *p;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return dl_seterr(DL_EIO, "%s:", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return dl_seterr(DL_EIO, "%s: not a regular file", path);
	}
	if (st.st_size == 0) {
		close(fd);
		return dl_seterr(DL_EFORMAT, "%s: empty file", path);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return dl_seterr(DL_EIO, "%s: mmap:", path);
	rc = dl_onnx_import(p, (size_t)st.st_size, path, out, o, info);
	munmap(p, (size_t)st.st_size);
	return rc;
}
