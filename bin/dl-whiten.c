/*
 * dl-whiten: fit standardisation, PCA or ZCA whitening on a stream and
 * write the statistics (--fit), or apply them (or undo them, --invert)
 * to one tensor of every record.  Statistics and their arithmetic:
 * lib/stats.c; their stream form: lib/stats-io.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-whiten --fit METHOD [--scope SCOPE] [--eps E] [-t NAME] [-o STATS] [FILE...]\n"
    "       dl-whiten [--invert] [-t NAME] [-o FILE] STATS [FILE...]\n"
    "Fit whitening statistics on a stream, or apply them (stdin when no FILE).\n"
    "  -f, --fit METHOD   standardise, pca or zca: read the data, write statistics\n"
    "  -s, --scope SCOPE  channel (statistics of pixel colours, default) or image\n"
    "                     (of whole images, at most 4096 values each)\n"
    "  -e, --eps E        added to variances and eigenvalues (default 1e-5, and 0.1\n"
    "                     with --scope image)\n"
    "  -i, --invert       undo the whitening STATS describe\n"
    "  -t, --tensor NAME  the tensor to fit on or change (default x)\n"
    "  -o, --output FILE  write FILE atomically instead of stdout\n"
    "      --zstd[=LEVEL] compress the output with zstd (level 1-19, default 3)\n"
    "      --threads N    CPU threads (default: OpenMP's)\n"
    "  -q, --quiet        no messages; -v, --verbose: progress even off a terminal\n"
    "  -h, --help         this text; -V, --version: the version\n";

#define CHUNK_RECORDS 64	/* records whitened together (one sgemm) */
#define CHUNK_BYTES (16 << 20)

struct opts {
	int method;		/* -1: apply, else enum dl_whiten_method */
	int scope;
	double eps;
	int invert;
	const char *tensor;
	struct dl_io_opts io;	/* -o (statistics or stream), --zstd */
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "fit", required_argument, NULL, 'f' },
		{ "scope", required_argument, NULL, 's' },
		{ "eps", required_argument, NULL, 'e' },
		{ "invert", no_argument, NULL, 'i' },
		{ "tensor", required_argument, NULL, 't' },
		DL_OUT_LONGOPTS, DL_THREADS_LONGOPT,
		{ NULL, 0, NULL, 0 }
	};
	int c, scope_given = 0, eps_given = 0;

	*o = (struct opts){ .method = -1, .eps = 1e-5, .tensor = "x" };
	opterr = 0;
	while ((c = getopt_long(argc, argv, DL_IO_SHORTOPTS "f:s:e:it:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if ((o->method = dl_whiten_method_parse(optarg)) < 0)
				dl_usage_die("--fit: '%s' is not standardise, pca or zca", optarg);
			break;
		case 's':
			if ((o->scope = dl_whiten_scope_parse(optarg)) < 0)
				dl_usage_die("--scope: '%s' is not channel or image", optarg);
			scope_given = 1;
			break;
		case 'e': o->eps = dl_arg_double(optarg, "--eps", 0, 1e6); eps_given = 1; break;
		case 'i': o->invert = 1; break;
		case 't':
			if (!dl_name_valid(optarg, strlen(optarg)))
				dl_usage_die("--tensor: '%s' is not a tensor name", optarg);
			o->tensor = optarg;
			break;
		default: dl_opt_common(c, argv, &o->io, usage_text);
		}
	}
	if (!eps_given && o->scope == DL_SCOPE_IMAGE)
		o->eps = 0.1;	/* ZCA of images in [0, 1]: eps 1e-5 amplifies noise */
	if (o->method < 0 && (scope_given || eps_given))
		dl_usage_die("--scope and --eps go with --fit (STATS carry their own)");
	if (o->method >= 0 && o->invert)
		dl_usage_die("--invert applies statistics: it does not go with --fit");
	if (o->method < 0 && optind == argc)
		dl_usage_die("no STATS file (or --fit METHOD) given");
}

/* The tensor to work on in DATA record n; NULL with a message. */
static struct dl_tensor *
target(const struct dl_record *rec, const struct opts *o, uint64_t n)
{
	struct dl_tensor *t = dl_record_find(rec, o->tensor);

	if (!t)
		dl_seterr(DL_EFORMAT, "record %llu has no tensor '%s'", (unsigned long long)n, o->tensor);
	else if (t->dtype != DL_U8 && t->dtype != DL_F32)
		dl_seterr(DL_EFORMAT, "record %llu: tensor '%s' is %s, not u8 or f32",
		          (unsigned long long)n, o->tensor, dl_dtype_name(t->dtype));
	else
		return t;
	return NULL;
}

static void
fit(const struct opts *o, char **paths, int n_paths)
{
	struct dl_reader *r;
	struct dl_record *rec;
	const struct dl_record *h;
	struct dl_whiten_data f = { .scope = o->scope };
	struct dl_whiten w;
	struct dl_progress pr;
	int rc, batches;

	if (!(r = dl_reader_open_many(paths, n_paths, NULL)) || !(h = dl_reader_head(r)) ||
	    !(rec = dl_record_new(NULL)))
		dl_die("%s", dl_errmsg());
	batches = dl_head_batched(h);
	dl_progress_start(&pr, "fitting");
	while ((rc = dl_reader_next(r, rec)) > 0) {
		const struct dl_tensor *t;
		if (!dl_record_is(rec, DL_TAG_DATA))
			continue;
		if (!(t = target(rec, o, f.records + 1)) || dl_whiten_data_add(&f, t, batches) < 0)
			dl_die("%s", dl_errmsg());
		dl_progress_update(&pr, f.samples, 0, "samples");
	}
	dl_progress_end(&pr);
	if (rc < 0)
		dl_fail(rc, NULL);
	if (dl_whiten_data_fit(&f, o->method, o->eps, &w) < 0)
		dl_die("%s", dl_errmsg());
	if ((rc = dl_whiten_save(&w, o->io.out, &o->io.wo)) < 0)
		dl_fail(rc, o->io.out ? o->io.out : "stdout");
	if (dl_verbose)
		dl_msg("%s, %s scope, on %llu samples", dl_whiten_method_name(o->method),
	       dl_whiten_scope_name(o->scope), (unsigned long long)f.samples);
	dl_whiten_fini(&w);
	dl_whiten_data_fini(&f);
	dl_record_free(rec);
	dl_reader_close(r);
}

/* The records of a chunk: each a copy of its input with the target
 * replaced by a slice of one f32 buffer, whitened in one call. */
struct chunk {
	struct dl_record *in[CHUNK_RECORDS], *out[CHUNK_RECORDS];
	int n;
	float *buf;
	size_t cap;		/* floats */
};

static int
flush_chunk(struct chunk *c, const struct dl_whiten *w, const struct opts *o,
            struct dl_writer *wr, uint64_t n0)
{
	size_t total = 0, at = 0;
	struct dl_tensor *t;
	int rc;

	for (int i = 0; i < c->n; i++) {
		if (!(t = target(c->in[i], o, n0 + i)))
			return -DL_EFORMAT;
		if ((rc = dl_whiten_check(w, t)) < 0) {
			dl_errprefix("record %llu", (unsigned long long)(n0 + i));
			return rc;
		}
		total += dl_tensor_count(t);
	}
	if (total > c->cap) {
		dl_free(c->buf);
		c->cap = 0;
		if (!(c->buf = dl_alloc(total * sizeof *c->buf)))
			return -DL_ENOMEM;
		c->cap = total;
	}
	for (int i = 0; i < c->n; i++) {
		uint64_t cnt;
		t = target(c->in[i], o, n0 + i);
		cnt = dl_tensor_count(t);
		dl_to_f32(t->data, t->dtype, cnt, c->buf + at);	/* u8 as value/255 */
		if ((rc = dl_record_replace(c->out[i], c->in[i], t->name, DL_F32, t->ndim, t->shape,
		                            c->buf + at)) < 0)
			return rc;
		at += cnt;
	}
	if ((rc = dl_whiten_apply(w, c->buf, DL_F32, c->buf, total / w->d, o->invert)) < 0)
		return rc;
	for (int i = 0; i < c->n; i++)
		if ((rc = dl_writer_put(wr, c->out[i])) < 0)
			return rc;
	c->n = 0;
	return 0;
}

static void
apply(const struct opts *o, const char *stats, char **paths, int n_paths)
{
	struct dl_whiten w;
	struct dl_reader *r;
	struct dl_writer *wr;
	struct dl_record *head, *rec;
	struct chunk c = { .n = 0 };
	uint64_t n = 0, n0 = 1;
	size_t bytes = 0;
	int rc;

	if ((rc = dl_whiten_load(&w, stats)) < 0)
		dl_die("%s", dl_errmsg());
	if (!(r = dl_reader_open_many(paths, n_paths, NULL)) || !dl_reader_head(r) ||
	    !(head = dl_record_new(DL_TAG_HEAD)) || dl_record_copy(head, dl_reader_head(r)) < 0)
		dl_die("%s", dl_errmsg());
	if (o->invert) {
		dl_record_unset(head, "whiten");
		dl_record_unset(head, "whiten_scope");
		dl_record_unset(head, "whiten_eps");
		dl_record_unset(head, "whiten_stats");
	} else if (dl_record_set(head, "whiten", dl_whiten_method_name(w.method)) < 0 ||
	           dl_record_set(head, "whiten_scope", dl_whiten_scope_name(w.scope)) < 0 ||
	           dl_record_setf(head, "whiten_eps", "%.9g", w.eps) < 0 ||
	           dl_record_setf(head, "whiten_stats", "%08x", dl_whiten_checksum(&w)) < 0) {
		dl_die("%s", dl_errmsg());
	}
	if (!(wr = dl_writer_open(o->io.out, &o->io.wo)))
		dl_die("%s", dl_errmsg());
	if ((rc = dl_writer_head(wr, head)) < 0)
		dl_fail(rc, "write");
	for (int i = 0; i < CHUNK_RECORDS; i++)
		if (!(c.in[i] = dl_record_new(NULL)) || !(c.out[i] = dl_record_new(NULL)))
			dl_die("out of memory");
	for (;;) {
		rec = c.in[c.n];
		if ((rc = dl_reader_next(r, rec)) <= 0)
			break;
		if (dl_record_is(rec, DL_TAG_DATA)) {
			n++;
			bytes += rec->raw_len;
			if (++c.n < CHUNK_RECORDS && bytes < CHUNK_BYTES)
				continue;
		}
		if ((rc = flush_chunk(&c, &w, o, wr, n0)) < 0)
			break;
		n0 = n + 1;
		bytes = 0;
		if (dl_record_is(rec, DL_TAG_HEAD))	/* later streams' headers */
			continue;
		if (!dl_record_is(rec, DL_TAG_DATA) && (rc = dl_writer_put_raw(wr, rec)) < 0)
			break;
	}
	if (rc == 0)
		rc = flush_chunk(&c, &w, o, wr, n0);
	if (rc < 0)
		dl_writer_die(wr, rc);
	if ((rc = dl_writer_close(wr)) < 0)
		dl_fail(rc, "write");
	for (int i = 0; i < CHUNK_RECORDS; i++) {
		dl_record_free(c.in[i]);
		dl_record_free(c.out[i]);
	}
	dl_free(c.buf);
	dl_record_free(head);
	dl_reader_close(r);
	dl_whiten_fini(&w);
}

int
main(int argc, char *argv[])
{
	static char *dash[] = { "-" };
	struct opts o;

	dl_setprogname(argv[0]);
	dl_omp_init();
	parse_args(argc, argv, &o);
	if (o.method >= 0) {
		fit(&o, optind < argc ? argv + optind : dash, optind < argc ? argc - optind : 1);
	} else {
		optind++;
		apply(&o, argv[optind - 1], optind < argc ? argv + optind : dash,
		      optind < argc ? argc - optind : 1);
	}
	return 0;
}
