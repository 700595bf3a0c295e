/*
 * prep.c - how data was prepared, as the HEAD keys say (lib/stats.h):
 * dl-whiten writes whiten, whiten_scope, whiten_eps and whiten_stats (the
 * checksum of the statistics applied), dl-train keeps them in the model
 * (whiten=none for data not whitened), and the programs that feed data to
 * a model compare the two, so that test data not whitened, or whitened
 * with other statistics, is named instead of silently scoring low.
 */
#include <stdio.h>
#include <string.h>

#include "dlpipe.h"

static const char *const keys[] = { "whiten", "whiten_scope", "whiten_eps", "whiten_stats" };

uint32_t
dl_whiten_checksum(const struct dl_whiten *w)
{
	uint32_t c = dl_crc32c(0, w->mean, (size_t)w->d * sizeof *w->mean);

	if (w->w)
		c = dl_crc32c(c, w->w, (size_t)w->d * w->d * sizeof *w->w);
	if (w->scale)
		c = dl_crc32c(c, w->scale, (size_t)w->d * sizeof *w->scale);
	return c;
}

/* "zca (scope image, eps 0.1, statistics 1a2b3c4d)" or "none" */
static void
describe(char *buf, size_t n, const struct dl_record *h)
{
	const char *m = dl_record_get(h, "whiten"), *sc = dl_record_get(h, "whiten_scope");
	const char *eps = dl_record_get(h, "whiten_eps"), *st = dl_record_get(h, "whiten_stats");

	if (!m || !strcmp(m, "none"))
		snprintf(buf, n, "no whitening");
	else
		snprintf(buf, n, "%s (scope %s, eps %s, statistics %s)", m, sc ? sc : "?",
		    eps ? eps : "?", st ? st : "?");
}

int
dl_prep_mismatch(const struct dl_record *model, const struct dl_record *data, char *msg,
    size_t n)
{
	const char *mw = model ? dl_record_get(model, "whiten") : NULL;
	char a[256], b[256];
	int differ = 0;

	if (!mw || !data)	/* the model does not say: nothing to compare */
		return 0;
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const char *x = dl_record_get(model, keys[i]), *y = dl_record_get(data, keys[i]);

		if (!strcmp(mw, "none") && i > 0)
			break;
		if (!y && i == 0)
			y = "none";
		differ |= !x != !y || (x && strcmp(x, y));
	}
	if (!differ)
		return 0;
	describe(a, sizeof a, model);
	describe(b, sizeof b, data);
	snprintf(msg, n, "the model was trained on data with %s, this data has %s: prepare it as "
	    "the training data was (dl-whiten with the same statistics)", a, b);
	return 1;
}
