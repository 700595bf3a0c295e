/*
 * layer-bn.c - batch normalisation, BN: after a convolution or fully
 * connected layer, whose non-linearity it takes over (lib/notation.c), per
 * channel over the batch (and the map) in training, with the running
 * statistics in evaluation.  Parameters gamma, beta (trainable), mean, var
 * (running statistics, momentum BN_MOMENTUM, unbiased variance).
 */
#include <string.h>

#include "net-priv.h"

static int
parse(struct layer *l, const char *u)
{
	return !strcmp(u, "BN");
}

static int
infer(struct layer *l)
{
	memcpy(l->out, l->in, sizeof l->out);
	return 0;
}

static int
params(struct dl_net *net, struct layer *l, int i)
{
	uint64_t cs[1] = { l->in[2] };

	if ((l->pw = net_add_param(net, i, "gamma", 1, 0, 1, cs)) < 0 ||
	    (l->pb = net_add_param(net, i, "beta", 1, 0, 1, cs)) < 0 ||
	    (l->pm = net_add_param(net, i, "mean", 0, 0, 1, cs)) < 0 ||
	    (l->pv = net_add_param(net, i, "var", 0, 0, 1, cs)) < 0)
		return -DL_ENOMEM;
	return 0;
}

/* save_mean, save_invstd [C]; zeros: [C] zeros, then two [C] sinks for
 * unwanted dgamma, dbeta */
static int
setup(struct dl_net *net, struct layer *l)
{
	size_t sz = l->out[2] * sizeof(float);

	if (!(l->save_mean = net->be->alloc(net->ctx, sz)) ||
	    !(l->save_invstd = net->be->alloc(net->ctx, sz)) ||
	    !(l->zeros = net->be->alloc(net->ctx, 3 * sz)))
		return -DL_ENOMEM;
	return 0;
}

static void
release(struct dl_net *net, struct layer *l)
{
	net->be->free(net->ctx, l->save_mean);
	net->be->free(net->ctx, l->save_invstd);
	net->be->free(net->ctx, l->zeros);
	l->save_mean = l->save_invstd = l->zeros = NULL;
}

static int
forward(struct dl_net *net, struct layer *l, const float *x, int train)
{
	long rows = (long)net->batch * l->out[0] * l->out[1];

	if (train)
		return net->be->bn_fwd_train(net->ctx, rows, l->out[2], x, net_pdata(net, l->pw),
		    net_pdata(net, l->pb), BN_EPS, BN_MOMENTUM, net_pdata(net, l->pm),
		    net_pdata(net, l->pv), l->save_mean, l->save_invstd, l->y);
	return net->be->bn_fwd_infer(net->ctx, rows, l->out[2], x, net_pdata(net, l->pw),
	    net_pdata(net, l->pb), net_pdata(net, l->pm), net_pdata(net, l->pv), BN_EPS, l->y);
}

static int
backward(struct dl_net *net, struct layer *l, const float *x, float *g, float *dx, int params)
{
	const struct dl_backend *be = net->be;
	long rows = (long)net->batch * l->out[0] * l->out[1];
	int C = l->out[2], rc;

	if (net->train) {
		float *dg = params ? net_pgrad(net, l->pw) : l->zeros + C;
		float *db = params ? net_pgrad(net, l->pb) : l->zeros + 2 * C;

		return be->bn_bwd(net->ctx, rows, C, x, g, net_pdata(net, l->pw), l->save_mean,
		    l->save_invstd, dx ? dx : g, dg, db);
	}
	/* evaluation mode: a per-channel affine map, dx = dy gamma / sqrt(run_var + eps) */
	if (params && ((rc = be->fill(net->ctx, C, 0, net_pgrad(net, l->pw))) < 0 ||
	    (rc = be->fill(net->ctx, C, 0, net_pgrad(net, l->pb))) < 0))
		return rc;
	return dx ? be->bn_fwd_infer(net->ctx, rows, C, g, net_pdata(net, l->pw), l->zeros,
	    l->zeros, net_pdata(net, l->pv), BN_EPS, dx) : 0;
}

const struct dl_layer_kind dl_layer_bn = {
	.name = "bn", .flags = LK_ACT | LK_NORM, .parse = parse, .infer = infer,
	.params = params, .setup = setup, .release = release, .forward = forward,
	.backward = backward,
};
