/*
 * layer-fc.c - fully connected, FCn: n outputs from the whole input
 * (flattened, HWC order).  Weights [n, in] (PyTorch's layout), bias [n].
 * In a dense net (dl-convert --dense) FCn over an h x h x c map becomes
 * the convolution nCh.
 */
#include <stdio.h>
#include <string.h>

#include "net-priv.h"

static int
parse(struct layer *l, const char *u)
{
	const char *s = u + 2;
	long a;

	if (strncmp(u, "FC", 2))
		return 0;
	if ((a = net_num(&s)) < 1 || *s)
		return dl_seterr(DL_EUSAGE, "expected FCn with n >= 1 outputs (as in FC256)");
	l->k = (int)a;
	return 1;
}

static int
infer(struct layer *l)
{
	l->out[0] = 1, l->out[1] = 1, l->out[2] = l->k;
	return 0;
}

static int
params(struct dl_net *net, struct layer *l, int i)
{
	uint64_t ws[2] = { l->k, l->in_n }, bs[1] = { l->k };

	if ((l->pw = net_add_param(net, i, "weight", 1, 1, 2, ws)) < 0 ||
	    (l->pb = net_add_param(net, i, "bias", 1, 0, 1, bs)) < 0)
		return -DL_ENOMEM;
	return 0;
}

static double
fan_out(const struct layer *l)
{
	return l->k;
}

static int
forward(struct dl_net *net, struct layer *l, const float *x, int train)
{
	int N = net->batch, rc;

	if ((rc = net->be->gemm(net->ctx, 0, 1, N, l->k, (int)l->in_n, 1.0f, x,
	    net_pdata(net, l->pw), 0.0f, l->y)) < 0)
		return rc;
	return net->be->bias_add(net->ctx, N, l->k, net_pdata(net, l->pb), l->y);
}

/* dw[out,in] = g^T x;  db = sum g;  dx[N,in] = g w */
static int
backward(struct dl_net *net, struct layer *l, const float *x, float *g, float *dx, int params)
{
	const struct dl_backend *be = net->be;
	int N = net->batch, rc;

	if (params && ((rc = be->gemm(net->ctx, 1, 0, l->k, (int)l->in_n, N, 1.0f, g, x,
	    0.0f, net_pgrad(net, l->pw))) < 0 ||
	    (rc = be->bias_bwd(net->ctx, N, l->k, g, net_pgrad(net, l->pb))) < 0))
		return rc;
	return dx ? be->gemm(net->ctx, 0, 0, N, (int)l->in_n, l->k, 1.0f, g,
	    net_pdata(net, l->pw), 0.0f, dx) : 0;
}

static int
dense(const struct layer *l, const int seen[3], char *buf, size_t n)
{
	if (seen[0] != seen[1])
		return dl_seterr(DL_ESHAPE, "dense: %s sees a %dx%dx%d map: only square maps "
		    "become convolutions", l->name, seen[0], seen[1], seen[2]);
	snprintf(buf, n, "%dC%d", l->k, seen[0]);
	return 1;
}

static double
flops(const struct layer *l)
{
	return 2.0 * l->in_n * l->k;
}

const struct dl_layer_kind dl_layer_fc = {
	.name = "fc", .flags = LK_ACT, .parse = parse, .infer = infer, .params = params,
	.fan_out = fan_out, .forward = forward, .backward = backward, .dense = dense,
	.flops = flops,
};
