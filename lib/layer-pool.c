/*
 * layer-pool.c - pooling: MPk[sS] (max) and APk[sS] (average, over the
 * window's in-bounds elements) k x k at stride S (default k), and GAP,
 * global average pooling [H,W,C] -> [1,1,C].  All are "pool" layers
 * (pool1, pool2, ...).
 */
#include <ctype.h>
#include <string.h>

#include "net-priv.h"

static int
parse(struct layer *l, const char *u)
{
	const char *s = u + 2;
	long a, b;

	if (!strcmp(u, "GAP")) {
		l->global = 1;
		l->pool_mode = DL_POOL_AVG;
		return 1;
	}
	if (strncmp(u, "MP", 2) && strncmp(u, "AP", 2))
		return 0;
	l->pool_mode = u[0] == 'M' ? DL_POOL_MAX : DL_POOL_AVG;
	l->r = (int)(a = net_num(&s));
	l->stride = l->r;
	if (a >= 1 && *s == 'S') {
		s++;
		l->stride = (int)(b = net_num(&s));
		if (b < 1)
			a = -1;
	}
	if (a < 1 || *s)
		return dl_seterr(DL_EUSAGE, "expected %.2sk or %.2sksS (as in %.2s2, %.2s3s2)",
		    u, u, u, u);
	return 1;
}

static int
infer(struct layer *l)
{
	int H = l->in[0], W = l->in[1], C = l->in[2];
	int r = l->global ? H : l->r, s = l->global ? W : l->r, st = l->global ? 1 : l->stride;

	if (H < r || W < s)
		return dl_seterr(DL_EUSAGE, "input %dx%dx%d is smaller than the %dx%d window",
		    H, W, C, r, s);
	l->pl = (struct dl_pool){ .h = H, .w = W, .c = C, .r = r, .s = s, .stride_h = st,
	    .stride_w = st, .mode = l->pool_mode };
	l->pl.p = (H - r) / st + 1;
	l->pl.q = (W - s) / st + 1;
	l->out[0] = l->pl.p, l->out[1] = l->pl.q, l->out[2] = C;
	l->down = l->global ? 1 : l->stride;
	return 0;
}

static int
forward(struct dl_net *net, struct layer *l, const float *x, int train)
{
	l->pl.n = net->batch;
	return net->be->pool_fwd(net->ctx, &l->pl, x, l->y);
}

static int
backward(struct dl_net *net, struct layer *l, const float *x, float *g, float *dx, int params)
{
	l->pl.n = net->batch;
	return dx ? net->be->pool_bwd(net->ctx, &l->pl, x, l->y, g, dx) : 0;
}

const struct dl_layer_kind dl_layer_pool = {
	.name = "pool", .parse = parse, .infer = infer, .forward = forward, .backward = backward,
};
