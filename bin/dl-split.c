/*
 * dl-split: split a sample stream in two, stratified by the class label
 * y, deterministically: of each class, the first round(F * count) samples
 * of a seeded permutation go to OUT_A, the rest to OUT_B, and both keep
 * the input order.  A regular file is read twice (labels, then records);
 * piped input is held in memory.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-split --fraction F [--seed S] -o OUT_A -o OUT_B [FILE]\n"
    "       dl-split --fraction F [--seed S] [--force] OUT_A OUT_B [FILE]\n"
    "Split a sample stream (stdin when no FILE or FILE is -) in two, stratified by\n"
    "the label y: a fraction F of each class goes to OUT_A, the rest to OUT_B.\n"
    "  -f, --fraction F   share of each class for OUT_A, 0 to 1 (required)\n"
    "  -o, --output FILE  OUT_A, then (given twice) OUT_B: written whatever they hold\n"
    "      --force        let the operands OUT_A OUT_B overwrite a file holding a stream\n"
    "      --seed S       seed of the choice (default 0)\n"
    "      --zstd[=LEVEL] compress both outputs with zstd (level 1-19, default 3)\n"
    "      --no-verify    do not check payload checksums\n"
    "  -q, --quiet        no messages; -v, --verbose: report the counts\n"
    "  -h, --help         this text; -V, --version: the version\n";

#define NO_LABEL INT64_MIN	/* the stratum of samples without a class */

struct split {
	double fraction;
	uint64_t seed;
	const char *out[2];	/* OUT_A, OUT_B */
	const char *in;		/* "-": stdin */
	struct dl_io_opts io;	/* --zstd, --no-verify (no -o: OUT_A OUT_B) */
	struct dl_writer *w[2];
	int64_t *label;		/* per DATA record, in input order */
	uint8_t *to_b;		/* per DATA record: 1 goes to OUT_B */
	uint64_t n, cap;	/* DATA records */
	uint64_t count[2];	/* samples written to A, B */
	struct dl_record_list held;	/* piped input: every record after HEAD */
	struct dl_record *head;	/* the first HEAD */
};

/* Abort both outputs, each with the message of the failure, and exit. */
static _Noreturn void
fail(struct split *s, int rc)
{
	char msg[1024];

	snprintf(msg, sizeof msg, "%s", dl_errmsg());
	dl_writer_abort(s->w[0], msg);
	dl_seterr(DL_EIO, "%s", msg);	/* not the ABRT write's own error */
	dl_writer_die(s->w[1], rc);
}

static void
parse_args(int argc, char *argv[], struct split *s)
{
	static const struct option longopts[] = {
		{ "fraction", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 'S' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'F' },
		{ "zstd", optional_argument, NULL, DL_OPT_ZSTD },
		{ "no-verify", no_argument, NULL, DL_OPT_NO_VERIFY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c, n_o = 0, force = 0;

	s->fraction = -1;
	opterr = 0;
	/* The io flags but -o and --max-record: OUT_A OUT_B are operands. */
	while ((c = getopt_long(argc, argv, ":f:o:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': s->fraction = dl_arg_double(optarg, "--fraction", 0, 1); break;
		case 'S': s->seed = dl_arg_seed(optarg, "--seed"); break;
		case 'F': force = 1; break;
		case 'o':
			if (n_o == 2)
				dl_usage_die("-o: given more than twice (OUT_A, OUT_B)");
			s->out[n_o++] = optarg;
			break;
		default: dl_opt_common(c, argv, &s->io, usage_text);
		}
	}
	if (s->fraction < 0)
		dl_usage_die("--fraction F is required");
	if (n_o == 1)
		dl_usage_die("-o OUT_A needs -o OUT_B");
	if (n_o == 0 && (argc - optind < 2 || argc - optind > 3))
		dl_usage_die("expected -o OUT_A -o OUT_B [FILE] (or OUT_A OUT_B [FILE])");
	if (n_o == 2 && argc - optind > 1)
		dl_usage_die("unexpected argument '%s' (the outputs are -o OUT_A -o OUT_B)",
		    argv[optind + 1]);
	if (n_o == 0) {
		s->out[0] = argv[optind++];
		s->out[1] = argv[optind++];
		/* all.dls train.dls val.dls would write over all.dls */
		for (int i = 0; i < 2 && !force; i++)
			if (dl_file_holds_stream(s->out[i]))
				dl_usage_die("%s holds a stream and would be overwritten: the outputs "
				    "come first (OUT_A OUT_B [FILE]); name them with -o, or give "
				    "--force", s->out[i]);
	}
	s->in = optind < argc ? argv[optind] : "-";
	if (!strcmp(s->out[0], s->out[1]))
		dl_usage_die("OUT_A and OUT_B are the same file");
	if (!strcmp(s->out[0], "-") || !strcmp(s->out[1], "-"))
		dl_usage_die("OUT_A and OUT_B must be files");
}

static void
check_head(struct split *s, const struct dl_record *h)
{
	const char *kind = dl_record_get(h, "kind");

	if (kind && !strcmp(kind, "batches"))
		dl_seterr(DL_EFORMAT, "%s: a stream of batches; split samples, before dl-batch",
		    s->in), fail(s, -DL_EFORMAT);
	if (!s->head && (!(s->head = dl_record_new(NULL)) || dl_record_copy(s->head, h) < 0))
		fail(s, -DL_ENOMEM);
}

/* The class of a sample: an integer scalar y (or y[1]); else NO_LABEL. */
static int64_t
label_of(const struct dl_record *rec)
{
	const struct dl_tensor *y = dl_record_find(rec, "y");

	if (!y || dl_tensor_count(y) != 1 || ((y->dtype >> 4) != 1 && (y->dtype >> 4) != 2))
		return NO_LABEL;
	return (int64_t)dl_tensor_get(y, 0);
}

static void
add_label(struct split *s, int64_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		if (!(s->label = realloc(s->label, s->cap * sizeof *s->label)))
			dl_die("out of memory");
	}
	s->label[s->n++] = v;
}

static int
label_one(void *arg, const struct dl_record *rec, const char *src)
{
	struct split *s = arg;

	if (dl_record_is(rec, DL_TAG_HEAD))
		check_head(s, rec);
	else if (dl_record_is(rec, DL_TAG_DATA))
		add_label(s, label_of(rec));
	return 0;
}

/* Pass 1: labels (and, for a pipe, every record kept). */
static void
read_labels(struct split *s, int hold)
{
	int rc = dl_stream_hold(s->in, &s->io.ro, hold ? DL_HOLD : 0, &s->held, label_one, s);

	if (rc < 0)
		fail(s, rc);
}

static void
open_outputs(struct split *s)
{
	static const char *side[2] = { "a", "b" };
	struct dl_record *h = dl_record_new(NULL);
	long long nb = 0;
	int rc;

	for (uint64_t k = 0; k < s->n; k++)
		nb += s->to_b[k];
	if (!s->head)
		dl_seterr(DL_EFORMAT, "%s: no stream header", s->in), fail(s, -DL_EFORMAT);
	for (int i = 0; i < 2; i++) {
		if (!(s->w[i] = dl_writer_open(s->out[i], &s->io.wo)))
			fail(s, -DL_EIO);
		if (!h || (rc = dl_record_copy(h, s->head)) < 0 ||
		    (rc = dl_record_set(h, "split", side[i])) < 0 ||
		    (rc = dl_head_set_counts(h, i ? nb : (long long)s->n - nb, 0)) < 0 ||
		    (rc = dl_record_setf(h, "split_fraction", "%g", s->fraction)) < 0 ||
		    (rc = dl_record_setf(h, "split_seed", "%llu", (unsigned long long)s->seed)) < 0 ||
		    (rc = dl_writer_head(s->w[i], h)) < 0)
			fail(s, h ? rc : -DL_ENOMEM);
	}
	dl_record_free(h);
}

/* A DATA record to its side; anything else (markers) to both. */
static void
route(struct split *s, const struct dl_record *rec, uint64_t *i)
{
	int rc, b;

	if (dl_record_is(rec, DL_TAG_HEAD))
		return;
	if (!dl_record_is(rec, DL_TAG_DATA)) {
		for (b = 0; b < 2; b++)
			if ((rc = dl_writer_put_raw(s->w[b], rec)) < 0)
				fail(s, rc);
		return;
	}
	if (*i >= s->n)
		dl_seterr(DL_EFORMAT, "%s: changed while being read", s->in), fail(s, -DL_EFORMAT);
	b = s->to_b[(*i)++];
	s->count[b]++;
	if ((rc = dl_writer_put_raw(s->w[b], rec)) < 0)
		fail(s, rc);
}

/* Pass 2 over a regular file. */
static void
write_again(struct split *s, uint64_t *i)
{
	struct dl_reader *r;
	struct dl_record *rec;
	int rc;

	if (!(r = dl_reader_open(s->in, &s->io.ro)) || !(rec = dl_record_new(NULL)))
		fail(s, -DL_EIO);
	while ((rc = dl_reader_next(r, rec)) > 0)
		route(s, rec, i);
	if (rc < 0)
		fail(s, rc);
	dl_record_free(rec);
	dl_reader_close(r);
}

int
main(int argc, char *argv[])
{
	struct split s = { 0 };
	uint64_t i = 0;
	int regular, rc;

	dl_setprogname(argv[0]);
	parse_args(argc, argv, &s);
	regular = dl_file_regular(s.in) > 0;
	read_labels(&s, !regular);
	if (!(s.to_b = malloc(s.n ? s.n : 1)) ||
	    dl_split_stratified(s.label, s.n, s.fraction, s.seed, s.to_b) < 0)
		dl_die("out of memory");
	open_outputs(&s);
	if (regular)
		write_again(&s, &i);
	else
		for (size_t k = 0; k < s.held.n; k++)
			route(&s, s.held.rec[k], &i);
	if (i != s.n)
		dl_seterr(DL_EFORMAT, "%s: changed while being read", s.in), fail(&s, -DL_EFORMAT);
	for (int b = 0; b < 2; b++) {
		rc = dl_writer_close(s.w[b]);
		s.w[b] = NULL;
		if (rc < 0 && b == 0)
			fail(&s, rc);	/* B is removed too */
		if (rc < 0)
			dl_fail(rc, s.out[b]);
	}
	if (dl_verbose)
		dl_msg("%llu samples to %s, %llu to %s", (unsigned long long)s.count[0], s.out[0],
		    (unsigned long long)s.count[1], s.out[1]);
	dl_record_list_free(&s.held);
	free(s.label);
	free(s.to_b);
	dl_record_free(s.head);
	return 0;
}
