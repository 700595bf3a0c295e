/*
 * onnx-export.c - a dlpipe model as an ONNX graph (lib/onnx.h): opset 13,
 * input x [N,C,H,W] (or [N,D]) with N symbolic, one node per layer and
 * one per non-linearity, weights as raw little-endian initializers.  The
 * inverse of lib/onnx-import.c: convolution weights [K,R,S,C] back to
 * [K,C,R,S], a fully connected layer after a map gets a Flatten and its
 * columns back in C,H,W order, BN its running statistics with epsilon
 * 1e-5.  Transposed convolutions and upsampling are not exported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"
#include "onnxpb.h"
#include "layer.h"
#include "net-priv.h"

struct ex {
	struct pb_buf g;	/* the graph's nodes and initializers */
	char cur[64];		/* the name of the activation so far */
	int rank, c, h, w;	/* as in the importer: NCHW [C,H,W] or [D] in c */
	int flat;		/* rank 2 from a FLAT of the [C,H,W] map kept in c, h, w */
	const struct layer *next;	/* the layer after the one being written */
};

static void
tensor(struct pb_buf *b, uint32_t field, const char *name, int ndim, const int64_t *dims,
    const float *v, size_t n)
{
	size_t at = pb_begin(b, field);

	for (int i = 0; i < ndim; i++)
		pb_varint(b, 1, (uint64_t)dims[i]);
	pb_varint(b, 2, ONNX_FLOAT);
	pb_str(b, 8, name);
	pb_bytes(b, 9, v, n * sizeof *v);	/* little-endian hosts only (x86-64, arm64) */
	pb_end(b, at);
}

static void
attr_i(struct pb_buf *b, const char *name, int64_t v)
{
	size_t at = pb_begin(b, 5);
	pb_str(b, 1, name);
	pb_varint(b, 3, (uint64_t)v);
	pb_varint(b, 20, ONNX_A_INT);
	pb_end(b, at);
}

static void
attr_f(struct pb_buf *b, const char *name, float v)
{
	size_t at = pb_begin(b, 5);
	pb_str(b, 1, name);
	pb_f32(b, 2, v);
	pb_varint(b, 20, ONNX_A_FLOAT);
	pb_end(b, at);
}

static void
attr_ints(struct pb_buf *b, const char *name, int n, int64_t v)
{
	size_t at = pb_begin(b, 5);
	pb_str(b, 1, name);
	for (int i = 0; i < n; i++)
		pb_varint(b, 8, (uint64_t)v);
	pb_varint(b, 20, ONNX_A_INTS);
	pb_end(b, at);
}

/* A node op named name from the activation and extra inputs; its output
 * (named name) becomes the activation.  Returns where its attributes go:
 * the caller adds them and closes it with pb_end. */
static size_t
node(struct ex *e, const char *op, const char *name, const char *in2, const char *in3,
    const char *in4, const char *in5)
{
	size_t at = pb_begin(&e->g, 1);

	pb_str(&e->g, 1, e->cur);
	const char *ins[] = { in2, in3, in4, in5 };
	for (int i = 0; i < 4 && ins[i]; i++)
		pb_str(&e->g, 1, ins[i]);
	pb_str(&e->g, 2, name);
	pb_str(&e->g, 3, name);
	pb_str(&e->g, 4, op);
	snprintf(e->cur, sizeof e->cur, "%s", name);
	return at;
}

static void
value(struct pb_buf *b, uint32_t field, const char *name, int ndim, const int *dims)
{
	size_t at = pb_begin(b, field), t, tt, sh, d;

	pb_str(b, 1, name);
	t = pb_begin(b, 2);
	tt = pb_begin(b, 1);
	pb_varint(b, 1, ONNX_FLOAT);
	sh = pb_begin(b, 2);
	for (int i = 0; i < ndim; i++) {
		d = pb_begin(b, 1);
		if (dims[i] < 0)
			pb_str(b, 2, "N");
		else
			pb_varint(b, 1, (uint64_t)dims[i]);
		pb_end(b, d);
	}
	pb_end(b, sh);
	pb_end(b, tt);
	pb_end(b, t);
	pb_end(b, at);
}

static int
act(struct ex *e, const struct layer *l)
{
	static const char *const ops[] = { [DL_ACT_RELU] = "Relu", [DL_ACT_LRELU] = "LeakyRelu",
	    [DL_ACT_TANH] = "Tanh", [DL_ACT_SIGMOID] = "Sigmoid" };
	char name[64];

	if (l->act == DL_ACT_NONE)
		return 0;
	if (l->act < 0 || l->act > DL_ACT_SIGMOID)
		return dl_seterr(DL_EUSAGE, "%s: non-linearity %d is not exported", l->name, l->act);
	snprintf(name, sizeof name, "%s_%s", l->name, dl_act_name(l->act));
	size_t at = node(e, ops[l->act], name, NULL, NULL, NULL, NULL);
	if (l->act == DL_ACT_LRELU)
		attr_f(&e->g, "alpha", l->alpha);
	pb_end(&e->g, at);
	return 0;
}

/* Parameter p of net (index) into host memory, malloc'd. */
static float *
param(struct dl_net *net, int p, long *n)
{
	struct dl_param_info pi;
	float *v;

	dl_net_param_info(net, p, &pi);
	if (!(v = malloc(((size_t)pi.n + 1) * sizeof *v)))
		return NULL;
	if (dl_net_param_get(net, p, v) < 0) {
		free(v);
		return NULL;
	}
	*n = pi.n;
	return v;
}

static int
layer(struct ex *e, struct dl_net *net, const struct layer *l)
{
	char w[80], b[80];
	float *pw = NULL, *pb = NULL, *t = NULL;
	long nw = 0, nb = 0;
	size_t at;
	int rc = 0;

	snprintf(w, sizeof w, "%s.weight", l->name);
	snprintf(b, sizeof b, "%s.bias", l->name);
	if (!strcmp(l->kind->name, "conv")) {
		int K = l->cv.k, C = l->cv.c, R = l->r;
		if (!(pw = param(net, l->pw, &nw)) || !(pb = param(net, l->pb, &nb)) ||
		    !(t = malloc((size_t)nw * sizeof *t)))
			goto nomem;
		for (int k = 0; k < K; k++)
			for (int c = 0; c < C; c++)
				for (int r = 0; r < R; r++)
					for (int s = 0; s < R; s++)
						t[(((long)k * C + c) * R + r) * R + s] = pw[(((long)k * R + r) * R + s) * C + c];
		tensor(&e->g, 5, w, 4, (int64_t[]){ K, C, R, R }, t, (size_t)nw);
		tensor(&e->g, 5, b, 1, (int64_t[]){ K }, pb, (size_t)nb);
		at = node(e, "Conv", l->name, w, b, NULL, NULL);
		attr_ints(&e->g, "kernel_shape", 2, R);
		attr_ints(&e->g, "strides", 2, l->stride);
		attr_ints(&e->g, "pads", 4, l->pad);
		attr_ints(&e->g, "dilations", 2, 1);
		attr_i(&e->g, "group", 1);
		pb_end(&e->g, at);
		e->c = l->out[2], e->h = l->out[0], e->w = l->out[1];
	} else if (!strcmp(l->kind->name, "fc")) {
		int O = l->k, I = (int)(l->in_n), map = e->rank == 4 || e->flat;
		int C = map ? e->c : 1, H = map ? e->h : 1, W = map ? e->w : I;
		e->flat = 0;
		if (e->rank == 4) {
			char fl[64];
			snprintf(fl, sizeof fl, "%s_flatten", l->name);
			pb_end(&e->g, node(e, "Flatten", fl, NULL, NULL, NULL, NULL));
			e->rank = 2;
		}
		if (!(pw = param(net, l->pw, &nw)) || !(pb = param(net, l->pb, &nb)) ||
		    !(t = malloc((size_t)nw * sizeof *t)))
			goto nomem;
		if ((long)C * H * W != I) {
			rc = dl_seterr(DL_ESHAPE, "%s: %d inputs from a %dx%dx%d map", l->name, I, H, W, C);
			goto out;
		}
		for (int o = 0; o < O; o++)
			for (int c = 0; c < C; c++)
				for (int h = 0; h < H; h++)
					for (int x = 0; x < W; x++)
						t[(long)o * I + ((long)c * H + h) * W + x] =
						    pw[(long)o * I + ((long)h * W + x) * C + c];
		tensor(&e->g, 5, w, 2, (int64_t[]){ O, I }, t, (size_t)nw);
		tensor(&e->g, 5, b, 1, (int64_t[]){ O }, pb, (size_t)nb);
		at = node(e, "Gemm", l->name, w, b, NULL, NULL);
		attr_i(&e->g, "transB", 1);
		pb_end(&e->g, at);
		e->c = O;
	} else if (!strcmp(l->kind->name, "pool")) {
		if (l->global) {
			pb_end(&e->g, node(e, "GlobalAveragePool", l->name, NULL, NULL, NULL, NULL));
		} else {
			at = node(e, l->pool_mode == DL_POOL_MAX ? "MaxPool" : "AveragePool", l->name, NULL,
			    NULL, NULL, NULL);
			attr_ints(&e->g, "kernel_shape", 2, l->r);
			attr_ints(&e->g, "strides", 2, l->stride);
			pb_end(&e->g, at);
		}
		e->h = l->out[0], e->w = l->out[1];
	} else if (!strcmp(l->kind->name, "bn")) {
		float *p[4] = { 0 };
		long n = 0;
		const char *what[4] = { "gamma", "beta", "mean", "var" };
		int idx[4] = { l->pw, l->pb, l->pm, l->pv };
		char nm[4][80];
		for (int i = 0; i < 4; i++) {
			snprintf(nm[i], sizeof nm[i], "%s.%s", l->name, what[i]);
			if (!(p[i] = param(net, idx[i], &n)))
				rc = -DL_ENOMEM;
			else
				tensor(&e->g, 5, nm[i], 1, (int64_t[]){ n }, p[i], (size_t)n);
			free(p[i]);
		}
		if (rc < 0)
			goto nomem;
		at = node(e, "BatchNormalization", l->name, nm[0], nm[1], nm[2], nm[3]);
		attr_f(&e->g, "epsilon", BN_EPS);
		attr_f(&e->g, "momentum", 1 - BN_MOMENTUM);
		pb_end(&e->g, at);
	} else if (!strcmp(l->kind->name, "drop")) {
		char r[80];
		float ratio = l->p;
		snprintf(r, sizeof r, "%s.ratio", l->name);
		tensor(&e->g, 5, r, 0, NULL, &ratio, 1);
		pb_end(&e->g, node(e, "Dropout", l->name, r, NULL, NULL, NULL));
	} else if (!strcmp(l->kind->name, "flat")) {
		int fc = e->next && !strcmp(e->next->kind->name, "fc");
		if (e->rank == 4 && e->c > 1 && e->h * e->w > 1 && !fc)
			return dl_seterr(DL_EUSAGE, "%s: FLAT before a layer other than FC: ONNX would "
			    "order it C,H,W", l->name);
		pb_end(&e->g, node(e, "Flatten", l->name, NULL, NULL, NULL, NULL));
		if (e->rank == 4 && fc)
			e->flat = 1;
		else
			e->c = e->c * e->h * e->w;
		e->rank = 2;
	} else
		return dl_seterr(DL_EUSAGE, "%s: layer kind %s is not exported to ONNX", l->name,
		    l->kind->name);
	rc = act(e, l);
	goto out;
nomem:
	rc = rc < 0 ? rc : dl_seterr(DL_ENOMEM, "out of memory");
out:
	free(pw), free(pb), free(t);
	return rc;
}

int
dl_onnx_export(const char *path, const char *out, int with_probs)
{
	struct dl_net *net;
	struct pb_buf mb = { 0 };
	struct ex e = { 0 };
	struct dl_atomic a;
	int rc = 0;

	if (!(net = dl_model_load(path, &(struct dl_net_opts){ .device = "cpu", .threads = 1 }, NULL)))
		return -DL_EFORMAT;
	snprintf(e.cur, sizeof e.cur, "x");
	e.h = net->in[0], e.w = net->in[1], e.c = net->in[2];
	e.rank = e.h == 1 && e.w == 1 ? 2 : 4;
	int in_dims[4] = { -1, e.c, e.h, e.w };
	for (int i = 0; i < net->n_layers && rc == 0; i++) {
		e.next = i + 1 < net->n_layers ? &net->L[i + 1] : NULL;
		rc = layer(&e, net, &net->L[i]);
	}
	if (rc < 0)
		goto done;
	/* the logits z; with_probs: p after them */
	pb_end(&e.g, node(&e, "Identity", "z", NULL, NULL, NULL, NULL));
	if (with_probs) {
		size_t at = node(&e, net->loss == DL_LOSS_BCE ? "Sigmoid" : "Softmax", "p", NULL, NULL,
		    NULL, NULL);
		if (net->loss != DL_LOSS_BCE)
			attr_i(&e.g, "axis", 1);
		pb_end(&e.g, at);
	}
	struct layer *last = &net->L[net->n_layers - 1];
	int out_dims[4] = { -1, last->out[2], last->out[0], last->out[1] };
	pb_str(&e.g, 2, "dlpipe");
	value(&e.g, 11, "x", e.rank == 2 && net->in[0] == 1 && net->in[1] == 1 ? 2 : 4, in_dims);
	value(&e.g, 12, with_probs ? "p" : "z", e.rank, out_dims);
	pb_varint(&mb, 1, 8);
	pb_str(&mb, 2, "dlpipe");
	pb_str(&mb, 3, "1");
	if (!e.g.err) {
		pb_bytes(&mb, 7, e.g.p, e.g.n);
		size_t at = pb_begin(&mb, 8);
		pb_str(&mb, 1, "");
		pb_varint(&mb, 2, 13);
		pb_end(&mb, at);
	}
	if (e.g.err || mb.err) {
		rc = dl_seterr(DL_ENOMEM, "out of memory");
		goto done;
	}
	if (!strcmp(out, "-")) {
		if (fwrite(mb.p, 1, mb.n, stdout) != mb.n || fflush(stdout))
			rc = dl_seterr(DL_EIO, "stdout:");
	} else if ((rc = dl_atomic_open(&a, out)) == 0) {
		size_t off = 0;
		while (off < mb.n) {
			ssize_t k = write(a.fd, mb.p + off, mb.n - off);
			if (k <= 0) {
				rc = dl_seterr(DL_EIO, "%s:", out);
				break;
			}
			off += (size_t)k;
		}
		if (rc < 0)
			dl_atomic_abort(&a);
		else
			rc = dl_atomic_commit(&a);
	}
done:
	pb_free(&e.g);
	pb_free(&mb);
	dl_net_free(net);
	return rc;
}
