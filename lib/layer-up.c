/*
 * layer-up.c - nearest-neighbour upsampling, UPf: every pixel becomes an
 * f x f block, [H,W,C] -> [fH,fW,C] (the "resize" of a generator; a
 * transposed convolution learns its upsampling instead).  The backend's
 * upsample entries do the work.
 */
#include <string.h>

#include "net-priv.h"

static int
parse(struct layer *l, const char *u)
{
	const char *s = u + 2;
	long a;

	if (strncmp(u, "UP", 2))
		return 0;
	if ((a = net_num(&s)) < 2 || a > 64 || *s)
		return dl_seterr(DL_EUSAGE, "expected UPf with f in 2..64 (as in UP2)");
	l->r = (int)a;
	return 1;
}

static int
infer(struct layer *l)
{
	if ((long)l->in[0] * l->r > 65536 || (long)l->in[1] * l->r > 65536)
		return dl_seterr(DL_EUSAGE, "input %dx%dx%d gives a map over 65536 wide", l->in[0],
		    l->in[1], l->in[2]);
	l->out[0] = l->in[0] * l->r, l->out[1] = l->in[1] * l->r, l->out[2] = l->in[2];
	l->down = 0;
	return 0;
}

static int
forward(struct dl_net *net, struct layer *l, const float *x, int train)
{
	return net->be->upsample_fwd(net->ctx, net->batch, l->in[0], l->in[1], l->in[2], l->r,
	    x, l->y);
}

static int
backward(struct dl_net *net, struct layer *l, const float *x, float *g, float *dx, int params)
{
	return dx ? net->be->upsample_bwd(net->ctx, net->batch, l->in[0], l->in[1], l->in[2],
	    l->r, g, dx) : 0;
}

const struct dl_layer_kind dl_layer_up = {
	.name = "up", .parse = parse, .infer = infer, .forward = forward, .backward = backward,
};
