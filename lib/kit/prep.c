/*
 * prep.c - the warning of a program that feeds data to a model prepared
 * otherwise than its training data (dl_prep_mismatch, lib/stats.h).
 */
#include "dlpipe.h"

void
dl_warn_prep(const struct dl_record *model_head, const struct dl_record *data_head)
{
	char msg[1024];

	if (dl_prep_mismatch(model_head, data_head, msg, sizeof msg))
		dl_warn("warning: %s", msg);
}
