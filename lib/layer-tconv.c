/*
 * layer-tconv.c - transposed convolution ("deconvolution", DCGAN's
 * generator), NTk[p][sS]: N filters k x k at stride S.  Each input pixel
 * adds a k x k x N patch, scaled by it, into an output S times finer:
 * without 'p' the output is (in - 1) S + k, with 'p' exactly S in (pad
 * ceil((k - S)/2) taken off each side, plus an extra last row and column
 * when k - S is odd, as PyTorch's ConvTranspose2d(k, S, padding,
 * output_padding) does).  It is the gradient of the convolution from its
 * output back to its input, so it runs on the backend's convolution
 * entries with the roles swapped: forward = conv2d_bwd_data, input
 * gradient = conv2d_fwd, weight gradient = conv2d_bwd_filter.  Weights
 * [C,k,k,N] (C input channels; PyTorch's [C,N,k,k] in KRSC order), bias
 * [N].
 */
#include <stdio.h>

#include "net-priv.h"

static int
parse(struct layer *l, const char *u)
{
	const char *s = u;
	long a = net_num(&s);

	if (a < 1 || *s != 'T')
		return 0;
	return layer_conv_suffixes(l, u, 'T');
}

static int
infer(struct layer *l)
{
	int H = l->in[0], W = l->in[1], C = l->in[2], S = l->stride, R = l->r, pad = 0;
	long oh, ow;

	if (l->pad) {
		pad = R > S ? (R - S + 1) / 2 : 0;
		l->opad = S - R + 2 * pad;
		if (l->opad >= S)
			return dl_seterr(DL_EUSAGE, "'p' makes the output %d times the input only "
			    "when k - S is even or S > 1 (here k %d, S %d)", S, R, S);
	}
	l->pad = pad;
	oh = (long)(H - 1) * S + R - 2 * pad + l->opad;
	ow = (long)(W - 1) * S + R - 2 * pad + l->opad;
	if (oh < 1 || ow < 1 || oh > 65536 || ow > 65536)
		return dl_seterr(DL_EUSAGE, "input %dx%dx%d gives a %ldx%ld output", H, W, C, oh, ow);
	/* the convolution it transposes: from the output [oh,ow,N] to the input */
	l->cv = (struct dl_conv){ .h = (int)oh, .w = (int)ow, .c = l->k, .k = C, .r = R, .s = R,
	    .stride_h = S, .stride_w = S, .pad_h = pad, .pad_w = pad, .p = H, .q = W };
	l->out[0] = (int)oh, l->out[1] = (int)ow, l->out[2] = l->k;
	l->down = 0;
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
	return (double)l->in[2] * l->r * l->r;
}

static int
forward(struct dl_net *net, struct layer *l, const float *x, int train)
{
	return layer_conv_forward(net, l, x, 1);
}

/* dw[C,k,k,N] = sum x[n,p,q,C] g[n, p S - pad + r, q S - pad + s, N] */
static int
backward(struct dl_net *net, struct layer *l, const float *x, float *g, float *dx, int params)
{
	return layer_conv_backward(net, l, x, g, dx, params, 1);
}

const struct dl_layer_kind dl_layer_tconv = {
	.name = "tconv", .flags = LK_ACT, .parse = parse, .infer = infer, .params = params,
	.fan_out = fan_out, .setup = layer_conv_setup, .release = layer_conv_release,
	.forward = forward, .backward = backward, .flops = layer_conv_flops,
};
