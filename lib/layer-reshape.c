/*
 * layer-reshape.c - RSHxWxC: the same floats in HWC order seen as an
 * [H,W,C] map, H*W*C equal to the input's count (a generator's fully
 * connected layer [1,1,H*W*C] becomes the map its transposed convolutions
 * grow).  The inverse of FLAT; forward and backward are copies.
 */
#include <string.h>

#include "net-priv.h"

static int
parse(struct layer *l, const char *u)
{
	const char *s = u + 2;
	long d[3];

	if (strncmp(u, "RS", 2))
		return 0;
	for (int i = 0; i < 3; i++) {
		if (i && *s++ != 'X')
			goto bad;
		if ((d[i] = net_num(&s)) < 1 || d[i] > 65536)
			goto bad;
	}
	if (*s)
		goto bad;
	l->out[0] = (int)d[0], l->out[1] = (int)d[1], l->out[2] = (int)d[2];
	return 1;
bad:
	return dl_seterr(DL_EUSAGE, "expected RSHxWxC with each in 1..65536 (as in RS7x7x128)");
}

static int
infer(struct layer *l)
{
	long want = (long)l->out[0] * l->out[1] * l->out[2];
	long have = (long)l->in[0] * l->in[1] * l->in[2];

	if (want != have)
		return dl_seterr(DL_EUSAGE, "%dx%dx%d needs %ld inputs, the layer before gives "
		    "%ld (%dx%dx%d)", l->out[0], l->out[1], l->out[2], want, have, l->in[0],
		    l->in[1], l->in[2]);
	l->down = 0;	/* no stride back to the input (dl_net_total_stride) */
	return 0;
}

const struct dl_layer_kind dl_layer_reshape = {
	.name = "reshape", .parse = parse, .infer = infer, .forward = layer_copy_forward,
	.backward = layer_copy_backward,
};
