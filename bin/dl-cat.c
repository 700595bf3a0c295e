/*
 * dl-cat: concatenate tensor streams, repeat them as epochs, shuffle,
 * slice.  Records are forwarded byte-for-byte (dl_writer_put_raw), so a
 * plain "dl-cat f" reproduces a canonical stream exactly.  Shuffling reads
 * regular files through the record index (formats/stream.c) and holds
 * piped input in memory.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	struct dl_index *ix;	/* --shuffle on a regular file */
	struct dl_record **rec;	/* held in memory (pipe): DATA and markers */
	size_t n_rec, cap_rec;
	int held;		/* 1: rec[] holds the whole input */
	uint64_t n_data;	/* DATA records (indexed or held) */
};

struct cat {
	struct opts o;
	struct dl_writer *w;	/* opened at the first HEAD */
	char *kind, *classes;	/* of the first HEAD */
	int batches;		/* kind=batches: samples = leading dim */
	long long skipped;	/* DATA records dropped by --skip */
	long long written;	/* DATA records written */
	uint64_t epoch_samples;	/* samples written in this epoch */
	int done;		/* --head reached */
	struct dl_progress prog;	/* on a terminal, or with -v */
	uint64_t expect;	/* DATA records to write, when known; else 0 */
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

static char *
xstrdup(const char *s)
{
	char *p;

	if (!s)
		return NULL;
	if (!(p = strdup(s)))
		dl_die("out of memory");
	return p;
}

/* The first HEAD starts the output as it is; later ones must agree. */
static void
put_head(struct cat *c, const struct dl_record *h, const char *src)
{
	const char *kind = dl_record_get(h, "kind");
	const char *classes = dl_record_get(h, "classes");
	int rc;

	if (c->w) {
		if (c->kind && kind && strcmp(c->kind, kind))
			dl_seterr(DL_EFORMAT, "%s: kind '%s' does not match the first stream's '%s'",
			    src, dl_esc(kind), dl_esc(c->kind)), dl_writer_die(c->w, -DL_EFORMAT);
		if (c->classes && classes && strcmp(c->classes, classes))
			dl_seterr(DL_EFORMAT, "%s: classes differ from the first stream's", src),
			    dl_writer_die(c->w, -DL_EFORMAT);
		if (!c->classes)
			c->classes = xstrdup(classes);
		return;
	}
	c->kind = xstrdup(kind);
	c->classes = xstrdup(classes);
	c->batches = dl_head_batched(h);
	if (!(c->w = dl_writer_open(c->o.io.out, &c->o.io.wo)))
		dl_die("%s", dl_errmsg());
	if ((rc = dl_writer_put_raw(c->w, h)) < 0)
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

static void
keep(struct input *in, struct dl_record *rec)
{
	if (in->n_rec == in->cap_rec) {
		in->cap_rec = in->cap_rec ? 2 * in->cap_rec : 1024;
		if (!(in->rec = realloc(in->rec, in->cap_rec * sizeof *in->rec)))
			dl_die("out of memory holding %s", in->path);
	}
	in->rec[in->n_rec++] = rec;
}

/* Read an input in order, writing as it comes; with hold, also keep
 * what later epochs replay (no HEAD, no input epoch markers under -n). */
static void
pass_reader(struct cat *c, struct input *in, int hold, int write)
{
	struct dl_reader *r;
	struct dl_record *rec = NULL;
	int rc = 0;
	const struct dl_record *h;

	if (!(r = dl_reader_open(in->path, &c->o.io.ro)) || !(h = dl_reader_head(r)))
		dl_writer_die(c->w, -DL_EIO);
	put_head(c, h, dl_reader_name(r));	/* later HEADs come from next() */
	while (!c->done) {
		if (!rec && !(rec = dl_record_new(NULL)))
			dl_writer_die(c->w, -DL_ENOMEM);
		if ((rc = dl_reader_next(r, rec)) <= 0)
			break;
		if (write || dl_record_is(rec, DL_TAG_HEAD))
			put_any(c, rec, dl_reader_name(r));
		if (!hold || dl_record_is(rec, DL_TAG_HEAD) ||
		    (c->o.n_epochs && dl_record_is_mark(rec, DL_MARK_EPOCH)))
			continue;
		if (c->o.shuffle && !dl_record_is(rec, DL_TAG_DATA))
			continue;
		keep(in, rec);
		rec = NULL;
	}
	if (!c->done && rc < 0)
		dl_writer_die(c->w, rc);
	if (hold && !c->done)
		in->held = 1;
	dl_record_free(rec);
	dl_reader_close(r);
}

/* Replay a held input in order. */
static void
pass_held(struct cat *c, struct input *in)
{
	for (size_t i = 0; i < in->n_rec && !c->done; i++)
		put_any(c, in->rec[i], in->path);
}

static int
is_zstd(const char *path)
{
	unsigned char m[4] = { 0 };
	FILE *f = fopen(path, "rb");

	if (!f)
		return 0;
	if (fread(m, 1, 4, f) != 4)
		m[0] = 0;
	fclose(f);
	return (m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) ||
	    ((m[0] & 0xf0) == 0x50 && m[1] == 0x2a && m[2] == 0x4d && m[3] == 0x18);
}

/* For --shuffle: index a regular file, or hold anything else. */
static void
prepare(struct cat *c, struct input *in)
{
	if (in->regular && !is_zstd(in->path)) {
		if (!(in->ix = dl_index_open(in->path, &c->o.io.ro)))
			dl_writer_die(c->w, -DL_EFORMAT);
		put_head(c, dl_index_head(in->ix), in->path);
		in->n_data = dl_index_count(in->ix);
		return;
	}
	pass_reader(c, in, 1, 0);
	in->n_data = in->n_rec;
}

static void
epoch_shuffled(struct cat *c, struct input *in, int n_in, uint64_t k, uint64_t *perm,
    uint64_t total, struct dl_record *rec)
{
	struct dl_rng rng;
	uint64_t i, j;
	int f, rc;

	for (i = 0; i < total; i++)
		perm[i] = i;
	dl_rng_fork(&rng, c->o.seed, k);
	dl_rng_shuffle(&rng, perm, total);
	for (i = 0; i < total && !c->done; i++) {
		for (j = perm[i], f = 0; j >= in[f].n_data; j -= in[f].n_data, f++)
			;
		if (in[f].ix) {
			if ((rc = dl_index_read(in[f].ix, j, rec)) < 0)
				dl_writer_die(c->w, rc);
			put_data(c, rec);
		} else
			put_data(c, in[f].rec[j]);
	}
}

static void
put_epoch_mark(struct cat *c, uint64_t k)
{
	struct dl_record *m = dl_record_new(DL_TAG_MARK);
	int rc;

	if (!m)
		dl_writer_die(c->w, -DL_ENOMEM);
	m->marker = DL_MARK_EPOCH;
	if ((rc = dl_record_setf(m, "epoch", "%llu", (unsigned long long)k)) < 0 ||
	    (rc = dl_record_setf(m, "samples", "%llu", (unsigned long long)c->epoch_samples)) < 0 ||
	    (rc = dl_writer_put(c->w, m)) < 0)
		dl_writer_die(c->w, rc);
	dl_record_free(m);
}

int
main(int argc, char *argv[])
{
	static char *dash[] = { "-" };
	struct cat c = { 0 };
	struct input *in;
	struct dl_record *rec;
	struct stat st;
	char **paths = dash;
	uint64_t k, n_epochs, total = 0, *perm = NULL;
	int n_in = 1, stdin_seen = 0, i, rc;

	dl_setprogname(argv[0]);
	parse_args(argc, argv, &c.o);
	if (optind < argc) {
		paths = argv + optind;
		n_in = argc - optind;
	}
	n_epochs = c.o.n_epochs ? (uint64_t)c.o.n_epochs : 1;
	if (!(in = calloc(n_in, sizeof *in)) || !(rec = dl_record_new(NULL)))
		dl_die("out of memory");
	for (i = 0; i < n_in; i++) {
		in[i].path = paths[i];
		if (!strcmp(paths[i], "-")) {
			if (stdin_seen++)
				dl_usage_die("stdin ('-') named twice");
		} else if (stat(paths[i], &st) < 0)
			dl_die("%s:", paths[i]);
		else
			in[i].regular = S_ISREG(st.st_mode);
	}

	dl_progress_start(&c.prog, "records");
	for (k = 0; k < n_epochs && !c.done; k++) {
		c.epoch_samples = 0;
		if (c.o.shuffle) {
			if (k == 0) {
				for (i = 0; i < n_in && !c.done; i++) {
					prepare(&c, &in[i]);
					total += in[i].n_data;
				}
				if (c.o.head == 0)
					break;
				if (!(perm = malloc((total ? total : 1) * sizeof *perm)))
					dl_die("out of memory for %llu samples", (unsigned long long)total);
				c.expect = total * n_epochs;
			}
			epoch_shuffled(&c, in, n_in, k, perm, total, rec);
		} else {
			for (i = 0; i < n_in && !c.done; i++) {
				if (in[i].held)
					pass_held(&c, &in[i]);
				else
					pass_reader(&c, &in[i], n_epochs > 1 && !in[i].regular, 1);
			}
		}
		if (c.o.n_epochs && !c.done && c.epoch_samples > 0)
			put_epoch_mark(&c, k);
	}
	dl_progress_end(&c.prog);
	if (!c.w)
		dl_die("no stream header read");
	for (i = 0; i < n_in && !c.done; i++)	/* what no epoch read (--head stops, as unshuffled) */
		if (in[i].ix && (rc = dl_index_verify(in[i].ix)) < 0)
			dl_writer_die(c.w, rc);
	if ((rc = dl_writer_close(c.w)) < 0)
		dl_fail(rc, "write");
	for (i = 0; i < n_in; i++) {
		if (in[i].ix)
			dl_index_close(in[i].ix);
		for (size_t j = 0; j < in[i].n_rec; j++)
			dl_record_free(in[i].rec[j]);
		free(in[i].rec);
	}
	free(in);
	free(perm);
	free(c.kind);
	free(c.classes);
	dl_record_free(rec);
	return 0;
}
