/*
 * hold.c - reading a stream once in order while keeping what a program
 * replays later (dl-cat's epochs over a pipe, dl-split's second pass over
 * piped input); the DATA records of several inputs for reading in any
 * order (dl-cat --shuffle): through the record index of a regular file,
 * else held; the record loop of a filter program.  Reading is
 * formats/stream.c; the list formats/record.c.
 */
#include <stdlib.h>

#include "dlpipe.h"

/* Whether keep asks for rec (never a HEAD). */
static int
wanted(int keep, const struct dl_record *rec)
{
	if (!keep || dl_record_is(rec, DL_TAG_HEAD))
		return 0;
	if (dl_record_is(rec, DL_TAG_DATA))
		return 1;
	if (keep & DL_HOLD_DATA_ONLY)
		return 0;
	return !((keep & DL_HOLD_NO_EPOCH) && dl_record_is_mark(rec, DL_MARK_EPOCH));
}

int
dl_stream_hold(const char *path, const struct dl_reader_opts *o, int keep,
               struct dl_record_list *list, dl_hold_fn *fn, void *arg)
{
	struct dl_reader *r;
	struct dl_record *rec = NULL;
	const struct dl_record *h;
	int rc, stop = 0;

	if (!(r = dl_reader_open(path, o)) || !(h = dl_reader_head(r))) {
		dl_reader_close(r);
		return -DL_EIO;
	}
	if ((stop = fn(arg, h, dl_reader_name(r))) != 0)	/* later HEADs come from next() */
		goto out;
	for (;;) {
		if (!rec && !(rec = dl_record_new(NULL))) {
			stop = -DL_ENOMEM;
			break;
		}
		if ((rc = dl_reader_next(r, rec)) <= 0) {
			stop = rc;
			break;
		}
		stop = fn(arg, rec, dl_reader_name(r));
		if (stop >= 0 && wanted(keep, rec)) {
			if (dl_record_list_add(list, rec) < 0) {
				stop = dl_seterr(DL_ENOMEM, "out of memory holding %s", dl_reader_name(r));
				break;
			}
			rec = NULL;
		}
		if (stop != 0)
			break;
	}
out:
	dl_record_free(rec);
	dl_reader_close(r);
	return stop;
}

/* ---- DATA records of several inputs in any order ---- */
struct part {
	struct dl_index *ix;		/* a regular uncompressed file */
	struct dl_record_list recs;	/* else: its DATA records, held */
	uint64_t n;			/* DATA records */
};

struct dl_sample_table {
	struct part *p;
	int n_p;
	uint64_t total;
	uint64_t *order;	/* NULL: in order; else a permutation of total */
};

struct dl_sample_table *
dl_sample_table_new(void)
{
	struct dl_sample_table *t = calloc(1, sizeof *t);

	if (!t)
		dl_seterr(DL_ENOMEM, "out of memory");
	return t;
}

int
dl_sample_table_add(struct dl_sample_table *t, const char *path, int regular,
                    const struct dl_reader_opts *o, dl_hold_fn *fn, void *arg)
{
	struct part *p = realloc(t->p, (t->n_p + 1) * sizeof *p);
	int rc;

	if (!p)
		return dl_seterr(DL_ENOMEM, "out of memory");
	t->p = p;
	p += t->n_p++;
	*p = (struct part){ 0 };
	if (regular && !dl_file_is_zstd(path)) {
		if (!(p->ix = dl_index_open(path, o)))
			return -DL_EFORMAT;
		if ((rc = fn(arg, dl_index_head(p->ix), path)) < 0)
			return rc;
		p->n = dl_index_count(p->ix);
	} else {
		if ((rc = dl_stream_hold(path, o, DL_HOLD | DL_HOLD_DATA_ONLY, &p->recs, fn, arg)) < 0)
			return rc;
		p->n = p->recs.n;
	}
	t->total += p->n;
	return 0;
}

uint64_t
dl_sample_table_count(const struct dl_sample_table *t)
{
	return t->total;
}

int
dl_sample_table_shuffle(struct dl_sample_table *t, uint64_t seed, uint64_t k)
{
	if (!t->order && !(t->order = malloc((t->total ? t->total : 1) * sizeof *t->order)))
		return dl_seterr(DL_ENOMEM, "out of memory for %llu samples",
		                 (unsigned long long)t->total);
	dl_rng_permutation(t->order, t->total, seed, k);
	return 0;
}

int
dl_sample_table_get(struct dl_sample_table *t, uint64_t i, struct dl_record *scratch,
                    const struct dl_record **rec)
{
	uint64_t j = t->order ? t->order[i] : i;
	int f, rc;

	for (f = 0; j >= t->p[f].n; j -= t->p[f].n, f++)
		;
	if (!t->p[f].ix) {
		*rec = t->p[f].recs.rec[j];
		return 0;
	}
	if ((rc = dl_index_read(t->p[f].ix, j, scratch)) < 0)
		return rc;
	*rec = scratch;
	return 0;
}

int
dl_sample_table_epoch(struct dl_sample_table *t, uint64_t seed, uint64_t k,
                      struct dl_record *scratch, dl_hold_fn *fn, void *arg)
{
	const struct dl_record *r;
	int rc;

	if ((rc = dl_sample_table_shuffle(t, seed, k)) < 0)
		return rc;
	for (uint64_t i = 0; i < t->total; i++)
		if ((rc = dl_sample_table_get(t, i, scratch, &r)) < 0 || (rc = fn(arg, r, NULL)))
			return rc < 0 ? rc : 0;
	return 0;
}

int
dl_sample_table_verify(struct dl_sample_table *t)
{
	int rc;

	for (int f = 0; f < t->n_p; f++)
		if (t->p[f].ix && (rc = dl_index_verify(t->p[f].ix)) < 0)
			return rc;
	return 0;
}

void
dl_sample_table_free(struct dl_sample_table *t)
{
	if (!t)
		return;
	for (int f = 0; f < t->n_p; f++) {
		if (t->p[f].ix)
			dl_index_close(t->p[f].ix);
		dl_record_list_free(&t->p[f].recs);
	}
	free(t->p);
	free(t->order);
	free(t);
}

/* ---- the loop of a filter ---- */
int
dl_filter_data(struct dl_reader *r, struct dl_writer *w, struct dl_record *rec, dl_data_fn *fn,
               void *arg)
{
	uint64_t n = 0;
	int rc;

	while ((rc = dl_reader_next(r, rec)) > 0) {
		if (dl_record_is(rec, DL_TAG_HEAD))
			continue;
		if (!dl_record_is(rec, DL_TAG_DATA)) {
			if ((rc = dl_writer_put_raw(w, rec)) < 0)
				break;
			continue;
		}
		if ((rc = fn(arg, rec, ++n)) < 0 || (rc = dl_writer_put(w, rec)) < 0)
			break;
	}
	return rc < 0 ? rc : 0;
}
