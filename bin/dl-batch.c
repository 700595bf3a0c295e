/*
 * dl-batch: samples into mini-batches.  Every tensor of the samples is
 * stacked along a new leading dimension, dtypes kept (u8 stays u8 until a
 * network reads it).  An optional seeded shuffle buffer mixes the order
 * within each epoch; at an end-of-epoch marker the buffer is drained, the
 * partial batch is written (or dropped with --drop-last) and the marker
 * passed on.  The batching itself is lib/batch.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-batch [-b N] [--shuffle N] [--seed S] [--drop-last] [-o FILE]\n"
    "                [--zstd[=LEVEL]] [-qv] [FILE...]\n"
    "Group the samples of a stream (stdin when no FILE) into mini-batches.\n"
    "  -b, --batch-size N  samples per batch (default 128)\n"
    "      --shuffle N     a shuffle buffer of N samples (default 0: keep the order)\n"
    "      --seed S        seed of the shuffle (default 0)\n"
    "      --drop-last     drop the last, smaller batch of each epoch\n"
    "  -o, --output FILE   write FILE atomically instead of stdout\n"
    "      --zstd[=LEVEL]  compress the output with zstd (level 1-19, default 3)\n"
    "      --no-verify     do not check payload checksums\n"
    "  -q, --quiet         no messages; -v, --verbose: report counts\n"
    "  -h, --help          this text; -V, --version: the version\n";

struct opts {
	int batch_size;
	long shuffle;
	uint64_t seed;
	int drop_last;
	char **in;		/* NULL: stdin */
	int n_in;
	struct dl_io_opts io;	/* -o, --zstd, --no-verify */
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "batch-size", required_argument, NULL, 'b' },
		{ "shuffle", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "drop-last", no_argument, NULL, 'D' },
		{ "no-verify", no_argument, NULL, DL_OPT_NO_VERIFY },
		DL_OUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	*o = (struct opts){ .batch_size = 128 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, DL_IO_SHORTOPTS "b:", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': o->batch_size = (int)dl_arg_long(optarg, "-b", 1, 1L << 24); break;
		case 's': o->shuffle = dl_arg_long(optarg, "--shuffle", 0, 1L << 32); break;
		case 'S': o->seed = dl_arg_seed(optarg, "--seed"); break;
		case 'D': o->drop_last = 1; break;
		default: dl_opt_common(c, argv, &o->io, usage_text);
		}
	}
	if (optind < argc) {
		o->in = argv + optind;
		o->n_in = argc - optind;
	}
}

struct run {
	struct opts o;
	struct dl_writer *w;
	struct dl_batcher *b;
	struct dl_record *out;
	int batched;		/* input kind=batches: re-batch its rows */
	uint64_t epoch;		/* epochs ended so far */
	uint64_t n_batches, n_samples, n_dropped;
	uint64_t epoch_dropped;	/* by --drop-last in this epoch */
};

/* Write the batches ready; at the end of an epoch (partial) the rest. */
static void
emit(struct run *r, int partial)
{
	int rc;

	if (partial)
		dl_batcher_end(r->b);
	while ((rc = dl_batcher_get(r->b, r->out, partial && !r->o.drop_last)) > 0) {
		r->n_samples += dl_record_samples(r->out, 1);
		r->n_batches++;
		if ((rc = dl_writer_put(r->w, r->out)) < 0)
			dl_writer_die(r->w, rc);
	}
	if (rc < 0)
		dl_writer_die(r->w, rc);
	if (partial) {
		long n = dl_batcher_drop(r->b);

		r->n_dropped += n;
		r->epoch_dropped += n;
	}
}

/* Pass a marker on; an EPOCH marker's sample count less what was dropped. */
static void
put_mark(struct run *r, struct dl_record *rec)
{
	const char *s = dl_record_get(rec, "samples");
	int rc;

	if (r->epoch_dropped && s && dl_record_is_mark(rec, DL_MARK_EPOCH)) {
		unsigned long long n = strtoull(s, NULL, 10);

		n = n > r->epoch_dropped ? n - r->epoch_dropped : 0;
		if ((rc = dl_record_setf(rec, "samples", "%llu", n)) < 0 ||
		    (rc = dl_writer_put(r->w, rec)) < 0)
			dl_writer_die(r->w, rc);
	} else if ((rc = dl_writer_put_raw(r->w, rec)) < 0)
		dl_writer_die(r->w, rc);
	if (dl_record_is_mark(rec, DL_MARK_EPOCH))
		r->epoch_dropped = 0;
}

static void
put_head(struct run *r, const struct dl_record *h)
{
	struct dl_record *head = dl_record_new(DL_TAG_HEAD);
	int rc;

	r->batched = dl_head_batched(h);
	if (!head || (rc = dl_record_copy(head, h)) < 0 ||
	    (rc = dl_record_set(head, "kind", "batches")) < 0 ||
	    (rc = dl_record_setf(head, "batch_size", "%d", r->o.batch_size)) < 0)
		dl_die("%s", dl_errmsg());	/* no output yet */
	if (!(r->w = dl_writer_open(r->o.io.out, &r->o.io.wo)))
		dl_die("%s", dl_errmsg());
	if ((rc = dl_writer_head(r->w, head)) < 0)
		dl_writer_die(r->w, rc);
	dl_record_free(head);
}

int
main(int argc, char *argv[])
{
	struct run r = { 0 };
	struct dl_reader *in;
	struct dl_record *rec;
	const struct dl_record *h;
	int rc;

	dl_setprogname(argv[0]);
	parse_args(argc, argv, &r.o);
	in = r.o.in ? dl_reader_open_many(r.o.in, r.o.n_in, &r.o.io.ro)
	    : dl_reader_open(NULL, &r.o.io.ro);
	if (!in || !(h = dl_reader_head(in)))
		dl_die("%s", dl_errmsg());
	if (!(rec = dl_record_new(NULL)) || !(r.out = dl_record_new(NULL)) ||
	    !(r.b = dl_batcher_new(r.o.batch_size, r.o.shuffle, r.o.seed)))
		dl_die("%s", dl_errmsg());
	put_head(&r, h);
	while ((rc = dl_reader_next(in, rec)) > 0) {
		if (dl_record_is(rec, DL_TAG_HEAD)) {
			if (dl_head_batched(rec) != r.batched)
				dl_seterr(DL_EFORMAT, "%s: a stream of %s follows one of %s",
				    dl_reader_name(in), r.batched ? "samples" : "batches",
				    r.batched ? "batches" : "samples"), dl_writer_die(r.w, -DL_EFORMAT);
			continue;
		}
		if (dl_record_is(rec, DL_TAG_DATA)) {
			if ((rc = dl_batcher_put(r.b, rec, r.batched)) < 0) {
				dl_errprefix("%s: record %llu", dl_reader_name(in),
				    (unsigned long long)dl_reader_records(in));
				dl_writer_die(r.w, rc);
			}
			emit(&r, 0);
			continue;
		}
		if (dl_record_is_mark(rec, DL_MARK_EPOCH) || dl_record_is_mark(rec, DL_MARK_FLUSH)) {
			emit(&r, 1);
			if (dl_record_is_mark(rec, DL_MARK_EPOCH))
				dl_batcher_epoch(r.b, ++r.epoch);
		}
		put_mark(&r, rec);
	}
	if (rc < 0)
		dl_writer_die(r.w, rc);
	emit(&r, 1);
	dl_reader_close(in);
	if ((rc = dl_writer_close(r.w)) < 0)
		dl_fail(rc, "write");
	if (dl_verbose)
		dl_msg("%llu samples in %llu batches, %llu dropped", (unsigned long long)r.n_samples,
		    (unsigned long long)r.n_batches, (unsigned long long)r.n_dropped);
	dl_record_free(rec);
	dl_record_free(r.out);
	dl_batcher_free(r.b);
	return 0;
}
