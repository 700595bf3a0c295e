/*
 * predict.c - predictions as text (dl-eval --predict --text): one line a
 * sample, tab-separated, for sort, awk, cut and join:
 *
 *	ID  Y  CLASS  NAME  P  [CLASS2  NAME2  P2 ...]
 *
 * ID the record's id (a KV or a tensor id; else the sample's 1-based
 * number in the stream), Y its true class ("-" when it has none), then the
 * top classes, most probable first: number, name (from the classes list;
 * the number when it has none) and probability.  Tabs and control bytes
 * in ids and names become spaces, so a line is always one line.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dlpipe.h"

static int
is_class(const struct dl_tensor *t, int batched)
{
	return t && t->ndim == batched && t->dtype != DL_F32 && t->dtype != DL_F64 &&
	    t->dtype != DL_F16 && t->dtype != DL_BF16;
}

/* s with tabs and control bytes as spaces. */
static void
put_field(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
}

int
dl_predict_text(FILE *f, const struct dl_record *rec, int batched, const float *p, int n,
    int k, int top, const char *classes, long *seq)
{
	const struct dl_tensor *y = dl_record_find(rec, "y"), *idt = dl_record_find(rec, "id");
	const char *id = dl_record_get(rec, "id");
	char name[256];
	int order[64];

	if (top < 1)
		top = 1;
	if (top > k)
		top = k;
	if (top > 64)
		top = 64;
	for (int i = 0; i < n; i++) {
		const float *pi = p + (size_t)i * k;

		++*seq;
		if (id && !batched)
			put_field(f, id);
		else if (idt && idt->ndim == batched && (!batched || idt->shape[0] == (uint64_t)n))
			fprintf(f, "%.17g", dl_tensor_get(idt, (uint64_t)i));
		else
			fprintf(f, "%ld", *seq);
		if (is_class(y, batched) && (!batched || y->shape[0] == (uint64_t)n))
			fprintf(f, "\t%lld", (long long)dl_tensor_get(y, (uint64_t)i));
		else
			fputs("\t-", f);
		/* the top classes: a partial selection sort, NaN last */
		for (int t = 0; t < top; t++) {
			int best = -1;

			for (int j = 0; j < k; j++) {
				int used = 0;

				for (int u = 0; u < t && !used; u++)
					used = order[u] == j;
				if (!used && (best < 0 || pi[j] > pi[best] ||
				    (isnan(pi[best]) && !isnan(pi[j]))))
					best = j;
			}
			order[t] = best;
			fprintf(f, "\t%d\t", best);
			put_field(f, dl_class_name(classes, best, name, sizeof name));
			fprintf(f, "\t%.4f", pi[best]);
		}
		fputc('\n', f);
	}
	return ferror(f) ? dl_seterr(DL_EIO, "write:") : 0;
}
