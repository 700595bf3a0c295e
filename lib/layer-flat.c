/*
 * layer-flat.c - FLAT: [H,W,C] -> [1,1,H*W*C] (HWC order).  Implicit
 * before a fully connected layer, which flattens what it gets; explicit is
 * allowed.  A dense net (dl-convert --dense) leaves it out.
 */
#include <string.h>

#include "net-priv.h"

static int
parse(struct layer *l, const char *u)
{
	return !strcmp(u, "FLAT");
}

static int
infer(struct layer *l)
{
	l->out[0] = 1, l->out[1] = 1, l->out[2] = l->in[0] * l->in[1] * l->in[2];
	return 0;
}

int
layer_copy_forward(struct dl_net *net, struct layer *l, const float *x, int train)
{
	return net->be->copy(net->ctx, l->y, x, (size_t)net->batch * l->out_n * sizeof(float));
}

int
layer_copy_backward(struct dl_net *net, struct layer *l, const float *x, float *g, float *dx,
    int params)
{
	return dx ? net->be->copy(net->ctx, dx, g, (size_t)net->batch * l->in_n * sizeof(float)) : 0;
}

static int
dense(const struct layer *l, const int seen[3], char *buf, size_t n)
{
	return 0;
}

const struct dl_layer_kind dl_layer_flat = {
	.name = "flat", .parse = parse, .infer = infer, .forward = layer_copy_forward,
	.backward = layer_copy_backward,
	.dense = dense,
};
