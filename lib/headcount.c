/*
 * headcount.c - the counts a stream's HEAD announces (lib/train.h):
 * "samples", the samples of an epoch, and "epochs", the epochs the stream
 * holds.  dl-import and dl-split know the first, dl-cat sets both, and the
 * filters between dl-cat and dl-train pass them on with the rest of the
 * header; dl-train draws its bar, its ETA and "epoch k/N" from them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

long long
dl_head_samples(const struct dl_record *h)
{
	const char *v = h ? dl_record_get(h, "samples") : NULL;
	char *end;
	long long n;

	if (!v || !*v)
		return -1;
	n = strtoll(v, &end, 10);
	return *end || n < 0 ? -1 : n;
}

/* key=v, leaving the record (and its raw bytes) alone when it says so */
static int
set(struct dl_record *h, const char *key, long long v)
{
	const char *old = dl_record_get(h, key);
	char buf[32];

	if (v < 0)
		return old ? dl_record_unset(h, key) : 0;
	snprintf(buf, sizeof buf, "%lld", v);
	return old && !strcmp(old, buf) ? 0 : dl_record_set(h, key, buf);
}

int
dl_head_set_counts(struct dl_record *h, long long samples, long epochs)
{
	int rc = set(h, "samples", samples);

	return rc < 0 || epochs == 0 ? rc : set(h, "epochs", epochs);
}

long long
dl_head_samples_sum(char *const *paths, int n, const struct dl_reader_opts *ro)
{
	long long sum = 0, k;

	for (int i = 0; i < n; i++) {
		struct dl_reader *r;

		if (dl_file_regular(paths[i]) <= 0 || !(r = dl_reader_open(paths[i], ro)))
			return -1;
		k = dl_head_samples(dl_reader_head(r));
		dl_reader_close(r);
		if (k < 0)
			return -1;
		sum += k;
	}
	return sum;
}

long long
dl_head_samples_cut(long long n, int batched, long long skip, long long head)
{
	if (n < 0 || (batched && (skip || head >= 0)))
		return -1;
	n = n > skip ? n - skip : 0;
	return head >= 0 && head < n ? head : n;
}
