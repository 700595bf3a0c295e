/*
 * layer-drop.c - dropout, Dp: p percent of the activations zeroed in
 * training, the rest scaled by 1/(1-p) (inverted dropout); the identity in
 * evaluation.  The mask is a hash of (seed, layer, optimizer step, element)
 * (backend.h dl_dropout_u01), the same on every backend and thread count;
 * the element is counted in the whole batch (dl_net_set_first_sample), so
 * MPI ranks draw the masks one process would for their slices.
 */
#include <ctype.h>
#include <string.h>

#include "net-priv.h"

static int
parse(struct layer *l, const char *u)
{
	const char *s = u + 1;
	long a;

	if (u[0] != 'D' || !isdigit((unsigned char)u[1]))
		return 0;
	if ((a = net_num(&s)) < 1 || a > 99 || *s)
		return dl_seterr(DL_EUSAGE, "dropout is Dp with p a percentage in 1..99 (as in D50)");
	l->p = a / 100.0f;
	return 1;
}

static int
infer(struct layer *l)
{
	memcpy(l->out, l->in, sizeof l->out);
	return 0;
}

static uint64_t
mix(uint64_t a, uint64_t b)
{
	uint64_t z = a ^ (b + 0x9E3779B97F4A7C15ULL + (a << 6) + (a >> 2));

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static int
forward(struct dl_net *net, struct layer *l, const float *x, int train)
{
	long n = (long)net->batch * l->out_n;
	uint64_t i = (uint64_t)(l - net->L);

	if (!train)
		return net->be->copy(net->ctx, l->y, x, n * sizeof(float));
	return net->be->dropout_fwd(net->ctx, n, l->p, mix(mix(net->seed, i), net->step),
	    (uint64_t)net->sample0 * (uint64_t)l->out_n, x, l->mask, l->y);
}

static int
backward(struct dl_net *net, struct layer *l, const float *x, float *g, float *dx, int params)
{
	long n = (long)net->batch * l->out_n;

	if (!dx)
		return 0;
	return net->train ? net->be->dropout_bwd(net->ctx, n, l->mask, g, dx) :
	    net->be->copy(net->ctx, dx, g, n * sizeof(float));
}

const struct dl_layer_kind dl_layer_drop = {
	.name = "drop", .flags = LK_MASK, .parse = parse, .infer = infer, .forward = forward,
	.backward = backward,
};
