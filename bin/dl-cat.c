/*
 * dl-cat: concatenate tensor streams, repeat them as epochs, shuffle,
 * slice.  Records go on byte-for-byte (the HEAD with its counts, samples
 * and epochs, set), so "dl-cat f" reproduces a canonical stream.  Shuffling
 * reads regular files through the record index and holds piped input.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-cat [-n EPOCHS] [--shuffle] [--seed S] [--head N] [--skip N]\n"
    "              [-o FILE] [--zstd[=LEVEL]] [--no-verify] [-qv] [FILE...]\n"
    "Concatenate tensor streams (stdin when no FILE or FILE is -).\n"
    "  -n, --epochs N     repeat the input N times, an end-of-epoch marker after each\n"
    "  -s, --shuffle      a fresh random order of the samples in every epoch\n"
    "      --seed S       seed of the shuffle (default 0)\n"
    "      --head N       stop after N samples (records)\n"
    "      --skip N       drop the first N samples (records)\n"
    "  -o, --output FILE  write FILE atomically instead of stdout\n"
    "      --zstd[=LEVEL] compress the output with zstd (level 1-19, default 3)\n"
    "      --no-verify    do not check payload checksums\n"
    "      --max-record B largest record accepted, in bytes (default 1 GiB)\n"
    "  -q, --quiet        no messages; -v, --verbose: progress even off a terminal\n"
    "  -h, --help         this text; -V, --version: the version\n";

struct opts {
	long n_epochs;		/* 0: -n not given (one pass, markers kept) */
	int shuffle;		/* 1: permute the DATA records each epoch */
	uint64_t seed;		/* epoch k's order: dl_rng_fork(seed, k) */
	long long head;		/* DATA records to write; -1: all */
	long long skip;		/* DATA records to drop first */
	struct dl_io_opts io;	/* -o, --zstd, --no-verify, --max-record */
};

/* One input, and how it is replayed in later epochs. */
struct input {
	const char *path;	/* "-" is stdin */
	int regular;		/* a regular file: can be reopened */
	struct dl_record_list recs;	/* held in memory (pipe): DATA and markers */
	int held;		/* 1: recs holds the whole input */
};

struct cat {
	struct opts o;
	struct dl_writer *w;	/* opened at the first HEAD */
	struct dl_record *first;	/* a copy of the first HEAD */
	struct dl_sample_table *table;	/* --shuffle: every input's DATA records */
	int batches;		/* kind=batches: samples = leading dim */
	long long skipped;	/* DATA records dropped by --skip */
	long long written;	/* DATA records written */
	uint64_t epoch_samples;	/* samples written in this epoch */
	int done;		/* --head reached */
	struct dl_progress prog;	/* on a terminal, or with -v */
	uint64_t expect;	/* DATA records to write, when known; else 0 */
	long long samples;	/* an epoch's, for the HEAD (-1: unknown; -2: the input's) */
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "epochs", required_argument, NULL, 'n' },
		{ "shuffle", no_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "head", required_argument, NULL, 'H' },
		{ "skip", required_argument, NULL, 'K' },
		DL_IO_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	*o = (struct opts){ .head = -1 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, DL_IO_SHORTOPTS "n:s", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->n_epochs = dl_arg_long(optarg, "-n", 1, 1L << 40); break;
		case 's': o->shuffle = 1; break;
		case 'S': o->seed = dl_arg_seed(optarg, "--seed"); break;
		case 'H': o->head = dl_arg_long(optarg, "--head", 0, (1L << 62)); break;
		case 'K': o->skip = dl_arg_long(optarg, "--skip", 0, (1L << 62)); break;
		default: dl_opt_common(c, argv, &o->io, usage_text);
		}
	}
}

/* The first HEAD starts the output; later ones must agree. */
static void
put_head(struct cat *c, const struct dl_record *h, const char *src)
{
	int rc;

	if (c->first) {
		if ((rc = dl_head_merge(c->first, h, src)) < 0)
			dl_writer_die(c->w, rc);
		return;
	}
	if (!(c->first = dl_record_new(NULL)) || dl_record_copy(c->first, h) < 0)
		dl_die("out of memory");
	c->batches = dl_head_batched(h);
	if (!(c->w = dl_writer_open(c->o.io.out, &c->o.io.wo)))
		dl_die("%s", dl_errmsg());
	if ((rc = dl_head_set_counts(c->first, dl_head_samples_cut(c->samples == -2 ? dl_head_samples(h)
	    : c->samples, c->batches, c->o.skip, c->o.head), c->o.n_epochs)) < 0 ||
	    (rc = dl_writer_put_raw(c->w, c->first)) < 0)
		dl_writer_die(c->w, rc);
}

static void
put_data(struct cat *c, const struct dl_record *rec)
{
	int rc;

	if (c->skipped < c->o.skip) {
		c->skipped++;
		return;
	}
	if (c->o.head >= 0 && c->written >= c->o.head) {
		c->done = 1;
		return;
	}
	if ((rc = dl_writer_put_raw(c->w, rec)) < 0)
		dl_writer_die(c->w, rc);
	c->epoch_samples += (uint64_t)dl_record_samples(rec, c->batches);
	if (++c->written == c->o.head)
		c->done = 1;
	if ((c->written & 255) == 0)
		dl_progress_update(&c->prog, (uint64_t)c->written, c->expect, NULL);
}

/* Any record read in order: HEAD, DATA, markers, ancillary records. */
static void
put_any(struct cat *c, const struct dl_record *rec, const char *src)
{
	int rc;

	if (dl_record_is(rec, DL_TAG_HEAD))
		put_head(c, rec, src);
	else if (dl_record_is(rec, DL_TAG_DATA))
		put_data(c, rec);
	else if (c->o.n_epochs && dl_record_is_mark(rec, DL_MARK_EPOCH))
		;	/* -n makes its own epochs */
	else if ((rc = dl_writer_put_raw(c->w, rec)) < 0)
		dl_writer_die(c->w, rc);
}

/* A pass over one input: write as it comes (HEADs always). */
struct pass {
	struct cat *c;
	int write;
};

static int
pass_one(void *arg, const struct dl_record *rec, const char *src)
{
	struct pass *p = arg;

	if (p->write || dl_record_is(rec, DL_TAG_HEAD))
		put_any(p->c, rec, src);
	return p->c->done;	/* --head reached */
}

/* Read an input in order, writing as it comes; with hold, also keep
 * what later epochs replay (no HEAD, no input epoch markers under -n). */
static void
pass_reader(struct cat *c, struct input *in, int hold, int write)
{
	struct pass p = { c, write };
	int rc, keep = hold ? DL_HOLD | (c->o.n_epochs ? DL_HOLD_NO_EPOCH : 0) : 0;

	if ((rc = dl_stream_hold(in->path, &c->o.io.ro, keep, &in->recs, pass_one, &p)) < 0)
		dl_writer_die(c->w, rc);
	if (hold && !c->done)
		in->held = 1;
}

/* Replay a held input in order. */
static void
pass_held(struct cat *c, struct input *in)
{
	for (size_t i = 0; i < in->recs.n && !c->done; i++)
		put_any(c, in->recs.rec[i], in->path);
}

/* For --shuffle: every input indexed or held, once. */
static uint64_t
prepare(struct cat *c, struct input *in, int n_in)
{
	struct pass p = { c, 0 };
	int rc;

	if (!(c->table = dl_sample_table_new()))
		dl_die("%s", dl_errmsg());
	for (int i = 0; i < n_in && !c->done; i++)
		if ((rc = dl_sample_table_add(c->table, in[i].path, in[i].regular, &c->o.io.ro,
		    pass_one, &p)) < 0)
			dl_writer_die(c->w, rc);
	return dl_sample_table_count(c->table);
}

/* A shuffled epoch's record. */
static int
put_shuffled(void *arg, const struct dl_record *rec, const char *src)
{
	put_data(arg, rec);
	return ((struct cat *)arg)->done;
}

/* The inputs named on the command line (none: stdin). */
static struct input *
open_inputs(int argc, char *argv[], int *n_in)
{
	static char *dash[] = { "-" };
	char **paths = optind < argc ? argv + optind : dash;
	struct input *in;
	int stdin_seen = 0;

	*n_in = optind < argc ? argc - optind : 1;
	if (!(in = calloc(*n_in, sizeof *in)))
		dl_die("out of memory");
	for (int i = 0; i < *n_in; i++) {
		in[i].path = paths[i];
		if (!strcmp(paths[i], "-") && stdin_seen++)
			dl_usage_die("stdin ('-') named twice");
		if ((in[i].regular = dl_file_regular(paths[i])) < 0)
			dl_die("%s:", paths[i]);
	}
	return in;
}

/* Every epoch: the inputs in order, or (--shuffle) their samples in the
 * epoch's order, each followed by a marker under -n. */
static void
run(struct cat *c, struct input *in, int n_in, struct dl_record *rec)
{
	uint64_t k, n_epochs = c->o.n_epochs ? (uint64_t)c->o.n_epochs : 1, total = 0;
	int rc;

	for (k = 0; k < n_epochs && !c->done; k++) {
		c->epoch_samples = 0;
		if (c->o.shuffle) {
			if (k == 0) {
				total = prepare(c, in, n_in);
				if (c->o.head == 0)
					break;
				c->expect = total * n_epochs;
			}
			if ((rc = dl_sample_table_epoch(c->table, c->o.seed, k, rec, put_shuffled,
			    c)) < 0)
				dl_writer_die(c->w, rc);
		} else {
			for (int i = 0; i < n_in && !c->done; i++) {
				if (in[i].held)
					pass_held(c, &in[i]);
				else
					pass_reader(c, &in[i], n_epochs > 1 && !in[i].regular, 1);
			}
		}
		if (c->o.n_epochs && !c->done && c->epoch_samples > 0 &&
		    (rc = dl_writer_put_epoch(c->w, k, c->epoch_samples)) < 0)
			dl_writer_die(c->w, rc);
	}
}

int
main(int argc, char *argv[])
{
	struct cat c = { 0 };
	struct input *in;
	struct dl_record *rec;
	int n_in, rc;

	dl_setprogname(argv[0]);
	parse_args(argc, argv, &c.o);
	in = open_inputs(argc, argv, &n_in);
	c.samples = n_in == 1 ? -2 : dl_head_samples_sum(argv + optind, n_in, &c.o.io.ro);
	if (!(rec = dl_record_new(NULL)))
		dl_die("out of memory");
	dl_progress_start(&c.prog, "records");
	run(&c, in, n_in, rec);
	dl_progress_end(&c.prog);
	if (!c.w)
		dl_die("no stream header read");
	/* what no epoch read (--head stops, as unshuffled) */
	if (c.table && !c.done && (rc = dl_sample_table_verify(c.table)) < 0)
		dl_writer_die(c.w, rc);
	if ((rc = dl_writer_close(c.w)) < 0)
		dl_fail(rc, "write");
	for (int i = 0; i < n_in; i++)
		dl_record_list_free(&in[i].recs);
	dl_sample_table_free(c.table);
	free(in);
	dl_record_free(c.first);
	dl_record_free(rec);
	return 0;
}
