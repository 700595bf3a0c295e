/*
 * device.c - dl_msg_device(): which device a net runs on, said on stderr.
 * Apart from lib/kit/prog.c so that programs without a network do not link
 * (and load) the learning core, OpenBLAS and oneDNN.
 */

#include "dlpipe.h"

void
dl_msg_device(const struct dl_net *net)
{
	const struct dl_backend *be = dl_net_backend(net);
	char buf[256] = "";

	if (dl_progress_mode() == DL_SHOW_NONE)	/* -q, or mid-pipeline without -v */
		return;
	if (be->describe && be->describe(dl_net_ctx(net), buf, sizeof buf) > 0)
		dl_msg("device %s", buf);
	else
		dl_msg("device %s", be->name);
}
