/*
 * layers.c - the layer-kind table (lib/layer.h): the order in which the
 * notation offers a token to each kind's parser.  A new kind is a file and
 * a line here.
 */
#include "layer.h"

const struct dl_layer_kind *const dl_layer_kinds[] = {
	&dl_layer_fc,
	&dl_layer_pool,
	&dl_layer_bn,
	&dl_layer_flat,
	&dl_layer_drop,
	&dl_layer_conv,
	&dl_layer_tconv,
	&dl_layer_up,
	&dl_layer_reshape,
	NULL,
};
