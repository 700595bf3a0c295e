/*
 * layer-conv.c - convolution, NCk[p][sS]: N filters k x k, stride S
 * (default 1); 'p' pads (k-1)/2 on each side ("same" at stride 1), else
 * valid.  Weights [N,k,k,C] (KRSC), bias [N].  Also the suffix parser and
 * the per-shape plans that the transposed convolution shares.
 */
#include <ctype.h>
#include <stdio.h>

#include "net-priv.h"

int
layer_conv_suffixes(struct layer *l, const char *u, char letter)
{
	const char *s = u;
	long a = net_num(&s), b;

	if (a < 1 || *s != letter)
		return 0;
	s++;
	if ((b = net_num(&s)) < 1)
		return dl_seterr(DL_EUSAGE, "expected a kernel size after '%c' (as in 20%c5)",
		    letter, letter);
	l->k = (int)a;
	l->r = (int)b;
	l->stride = 1;
	while (*s) {
		if (*s == 'P' && !l->pad) {
			l->pad = 1;
			s++;
		} else if (*s == 'S' && isdigit((unsigned char)s[1])) {
			s++;
			if ((l->stride = (int)net_num(&s)) < 1)
				break;
		} else
			break;
	}
	if (*s || l->stride < 1)
		return dl_seterr(DL_EUSAGE, "unexpected '%s' after the kernel size "
		    "(suffixes: p to pad, sS for stride S)", l->token + (s - u));
	return 1;
}

static int
parse(struct layer *l, const char *u)
{
	const char *s = u;
	long a;

	if (u[0] == 'C' && isdigit((unsigned char)u[1]))
		return dl_seterr(DL_EUSAGE, "expected a count before 'C' (as in 20C5)");
	if (!isdigit((unsigned char)u[0]))
		return 0;
	a = net_num(&s);
	if (a >= 1 && *s == 'T')
		return 0;			/* a transposed convolution */
	if (a < 1 || *s != 'C')
		return dl_seterr(DL_EUSAGE, "expected NCk, a convolution of N k x k filters "
		    "(as in 20C5)");
	return layer_conv_suffixes(l, u, 'C');
}

static int
infer(struct layer *l)
{
	int H = l->in[0], W = l->in[1], C = l->in[2];
	int pad = l->pad ? (l->r - 1) / 2 : 0;

	l->pad = pad;
	if (H + 2 * pad < l->r || W + 2 * pad < l->r)
		return dl_seterr(DL_EUSAGE, "input %dx%dx%d is smaller than the %dx%d kernel",
		    H, W, C, l->r, l->r);
	l->cv = (struct dl_conv){ .h = H, .w = W, .c = C, .k = l->k, .r = l->r, .s = l->r,
	    .stride_h = l->stride, .stride_w = l->stride, .pad_h = pad, .pad_w = pad };
	l->cv.p = (H + 2 * pad - l->r) / l->stride + 1;
	l->cv.q = (W + 2 * pad - l->r) / l->stride + 1;
	l->out[0] = l->cv.p, l->out[1] = l->cv.q, l->out[2] = l->k;
	l->down = l->stride;
	return 0;
}

/* weight [K,R,S,C] of the convolution l->cv, bias [bias_n] */
int
layer_conv_params(struct dl_net *net, struct layer *l, int i, int bias_n)
{
	uint64_t ws[4] = { l->cv.k, l->r, l->r, l->cv.c }, bs[1] = { bias_n };

	if ((l->pw = net_add_param(net, i, "weight", 1, 1, 4, ws)) < 0 ||
	    (l->pb = net_add_param(net, i, "bias", 1, 0, 1, bs)) < 0)
		return -DL_ENOMEM;
	return 0;
}

static int
params(struct dl_net *net, struct layer *l, int i)
{
	return layer_conv_params(net, l, i, l->k);
}

static double
fan_out(const struct layer *l)
{
	return (double)l->k * l->r * l->r;
}

int
layer_conv_setup(struct dl_net *net, struct layer *l)
{
	if (!net->be->conv2d_plan)
		return 0;
	l->cv.n = net->cap > 0 ? net->cap : 1;
	return net->be->conv2d_plan(net->ctx, &l->cv);
}

void
layer_conv_release(struct dl_net *net, struct layer *l)
{
	if (l->cv.plan && net->be->conv2d_unplan)
		net->be->conv2d_unplan(net->ctx, &l->cv);
}

/* The forward of a convolution or, transposed, of the transposed one
 * (l->cv is then the convolution from its output to its input): y = conv
 * (or its data gradient) of x, plus the bias. */
int
layer_conv_forward(struct dl_net *net, struct layer *l, const float *x, int transposed)
{
	const struct dl_backend *be = net->be;
	const float *w = net_pdata(net, l->pw);
	long rows = (long)net->batch * l->out[0] * l->out[1];
	int rc;

	l->cv.n = net->batch;
	rc = transposed ? be->conv2d_bwd_data(net->ctx, &l->cv, x, w, l->y) :
	    be->conv2d_fwd(net->ctx, &l->cv, x, w, l->y);
	return rc < 0 ? rc : be->bias_add(net->ctx, rows, l->k, net_pdata(net, l->pb), l->y);
}

/* Its backward: the roles of x and g swap for the transposed one. */
int
layer_conv_backward(struct dl_net *net, struct layer *l, const float *x, float *g, float *dx,
    int params, int transposed)
{
	const struct dl_backend *be = net->be;
	const float *w = net_pdata(net, l->pw);
	long rows = (long)net->batch * l->out[0] * l->out[1];
	int rc;

	l->cv.n = net->batch;
	if (params && ((rc = be->conv2d_bwd_filter(net->ctx, &l->cv, transposed ? g : x,
	    transposed ? x : g, net_pgrad(net, l->pw))) < 0 ||
	    (rc = be->bias_bwd(net->ctx, rows, l->k, g, net_pgrad(net, l->pb))) < 0))
		return rc;
	if (!dx)
		return 0;
	return transposed ? be->conv2d_fwd(net->ctx, &l->cv, g, w, dx) :
	    be->conv2d_bwd_data(net->ctx, &l->cv, g, w, dx);
}

static int
forward(struct dl_net *net, struct layer *l, const float *x, int train)
{
	return layer_conv_forward(net, l, x, 0);
}

static int
backward(struct dl_net *net, struct layer *l, const float *x, float *g, float *dx, int params)
{
	return layer_conv_backward(net, l, x, g, dx, params, 0);
}

double
layer_conv_flops(const struct layer *l)
{
	const struct dl_conv *cv = &l->cv;

	return 2.0 * cv->p * cv->q * cv->k * cv->r * cv->s * cv->c;
}

const struct dl_layer_kind dl_layer_conv = {
	.name = "conv", .flags = LK_ACT, .parse = parse, .infer = infer, .params = params,
	.fan_out = fan_out, .setup = layer_conv_setup, .release = layer_conv_release,
	.forward = forward, .backward = backward, .flops = layer_conv_flops,
};
