/*
 * dl-eval: score a model on a stream of samples or batches: loss,
 * accuracy, per-class precision and recall, the confusion matrix (as text
 * or JSON); --predict writes the stream back with the output probabilities
 * beside each record's tensors, or one line of text per sample (on a
 * terminal, or --text).  Scoring is lib/eval.c; the text lib/predict.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-eval [-b N] [--json] [--top K] [--predict [--text|--stream] [-o FILE]]\n"
    "               [-d DEVICE] [--precision P] MODEL [FILE...]\n"
    "Score MODEL on samples or batches read from FILE or stdin.  MODEL is read\n"
    "whole and checked before use; outputs that are NaN or infinite are counted\n"
    "and make the exit status 1.\n"
    "  -b, --batch-size N  samples per forward pass (default 256)\n"
    "      --json          one JSON object on stdout instead of the table\n"
    "  -p, --predict       the predictions: on a terminal (or --text) one line per sample,\n"
    "                      ID Y CLASS NAME P tab-separated (Y '-' when unlabelled); else\n"
    "                      (or --stream) the input stream with tensors p (the output\n"
    "                      probabilities) and z (the raw outputs: logits) added to every\n"
    "                      record; the scores go to stderr\n"
    "      --text, --stream  with --predict: force the text lines or the stream\n"
    "      --top K         the K most probable classes on each text line, and the\n"
    "                      top-K accuracy in the scores\n"
    "  -o, --output FILE   with --predict: write FILE atomically instead of stdout\n"
    "      --zstd[=LEVEL]  with --predict: compress the output with zstd\n"
    "  -d, --device D      cpu, cuda, cuda:N, auto (default $DL_DEVICE, else auto)\n"
    "      --precision P   fp32 (default); bf16, fp16: mixed precision on cuda;\n"
    "                      on the cpu bf16 is emulated, fp16 refused\n"
    "      --threads N     CPU threads (default: OpenMP's)\n"
    "  -q, --quiet         no messages (and with --predict no scores)\n"
    "  -v, --verbose       progress even off a terminal\n"
    "  -h, --help          this text; -V, --version: the version\n";

struct ev {
	int batch_size, json, predict;
	int text, top;		/* --predict as text lines; --top K */
	long seq;		/* samples written as text */
	const char *model, *classes;
	char **in;
	int n_in;
	struct dl_net_opts no;
	struct dl_io_opts io;	/* -o, --zstd (with --predict) */
	struct dl_net *net;
	struct dl_writer *w;
	struct dl_batcher *b;
	struct dl_record *batch;
	struct dl_record **held;	/* --predict on samples: records of the batch */
	int n_held;
	struct dl_score s;
	float *probs;
	int k;			/* outputs */
	int batched;
};

static void
parse_args(int argc, char *argv[], struct ev *e)
{
	enum { JSON = 256, TEXT, STREAM, TOP };
	static const struct option longopts[] = {
		{ "batch-size", required_argument, NULL, 'b' }, { "json", no_argument, NULL, JSON },
		{ "text", no_argument, NULL, TEXT }, { "stream", no_argument, NULL, STREAM },
		{ "top", required_argument, NULL, TOP },
		{ "predict", no_argument, NULL, 'p' }, DL_DEVICE_LONGOPTS, DL_PRECISION_LONGOPTS,
		DL_OUT_LONGOPTS, { NULL, 0, NULL, 0 }
	};
	int c;

	e->batch_size = 256, e->text = -1, e->top = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, DL_IO_SHORTOPTS "b:pd:", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': e->batch_size = (int)dl_arg_long(optarg, "-b", 1, 1L << 20); break;
		case JSON: e->json = 1; break;
		case 'p': e->predict = 1; break;
		case TEXT: e->text = 1; break;
		case STREAM: e->text = 0; break;
		case TOP: e->top = (int)dl_arg_long(optarg, "--top", 1, 64); break;
		default:
			if (!dl_opt_device(c, &e->no))
				dl_opt_common(c, argv, &e->io, usage_text);
		}
	}
	dl_device_check(&e->no);
	if (optind == argc)
		dl_usage_die("no MODEL");
	e->model = argv[optind++];
	if (optind < argc)
		e->in = argv + optind, e->n_in = argc - optind;
	if (e->io.out && !e->predict)
		dl_usage_die("-o is for --predict (the scores go to stdout)");
	if (e->text >= 0 && !e->predict)
		dl_usage_die("--text and --stream are for --predict");
	if (e->text < 0)	/* text for a person, the stream for a program */
		e->text = e->predict && !e->io.out && isatty(1);
	if (e->text && e->io.out)
		dl_usage_die("--text writes to stdout (-o is for the stream)");
	if (e->predict && e->json && !e->io.out)
		dl_usage_die("--json with --predict needs -o FILE (stdout carries the %s)",
		    e->text ? "predictions" : "stream");
}

/* --predict: rec (n samples, batched, or one) with its probabilities, as
 * a line of text each or as the record with a tensor p. */
/* row: rec's row in the net's last batch (-1: all of it, batched) */
static void
out(struct ev *e, struct dl_record *rec, int batched, const float *probs, int n, int row)
{
	uint64_t shape[2] = { (uint64_t)n, (uint64_t)e->k };
	struct dl_tensor *p;
	int rc;

	if (e->text) {
		if ((rc = dl_predict_text(stdout, rec, batched, probs, n, e->k, e->top, e->classes,
		    &e->seq)) < 0)
			dl_fail(rc, "stdout");
		return;
	}
	if (!(p = dl_record_add(rec, "p", DL_F32, batched ? 2 : 1, shape + !batched)))
		dl_writer_die(e->w, -DL_ESHAPE);
	memcpy(p->data, probs, (size_t)n * e->k * sizeof(float));
	if ((rc = dl_put_z(e->net, rec, row)) < 0 || (rc = dl_writer_put(e->w, rec)) < 0)
		dl_writer_die(e->w, rc);
}

/* Score rec (batched, or one sample) and with --predict write it with p. */
static void
score(struct ev *e, struct dl_record *rec, int batched, int emit)
{
	long room = (long)e->batch_size * e->k;
	int n;

	if (batched && dl_record_samples(rec, 1) > e->batch_size) {
		free(e->probs);
		e->batch_size = (int)dl_record_samples(rec, 1);
		room = (long)e->batch_size * e->k;
		if (!(e->probs = malloc(room * sizeof *e->probs)))
			dl_die("out of memory");
	}
	if ((n = dl_score_batch(e->net, rec, batched, &e->s, e->predict ? e->probs : NULL, room)) < 0)
		dl_writer_die(e->w, n);
	if (emit)
		out(e, rec, batched, e->probs, n, batched ? -1 : 0);
}

/* --predict on samples: score the batch of held records, write each. */
static void
flush(struct ev *e, int partial)
{
	int rc;

	if (partial)
		dl_batcher_end(e->b);
	while ((rc = dl_batcher_get(e->b, e->batch, partial)) > 0) {
		int n = (int)dl_record_samples(e->batch, 1);

		score(e, e->batch, 1, 0);
		for (int i = 0; i < n; i++) {
			out(e, e->held[i], 0, e->probs + (size_t)i * e->k, 1, i);
			dl_record_free(e->held[i]);
		}
		memmove(e->held, e->held + n, (e->n_held - n) * sizeof *e->held);
		e->n_held -= n;
	}
	if (rc < 0)
		dl_writer_die(e->w, rc);
}

static void
data(struct ev *e, struct dl_record *rec)
{
	int rc;

	if (e->batched) {
		score(e, rec, 1, e->predict);
		return;
	}
	if ((rc = dl_batcher_put(e->b, rec, 0)) < 0)
		dl_writer_die(e->w, rc);
	if (!e->predict) {
		while ((rc = dl_batcher_get(e->b, e->batch, 0)) > 0)
			score(e, e->batch, 1, 0);
		if (rc < 0)
			dl_writer_die(e->w, rc);
		return;
	}
	if (!(e->held[e->n_held] = dl_record_new(NULL)) ||
	    dl_record_copy(e->held[e->n_held], rec) < 0)
		dl_die("out of memory");
	e->n_held++;
	flush(e, 0);
}

int
main(int argc, char *argv[])
{
	struct ev e = { 0 };
	struct dl_record *mh, *rec;
	struct dl_reader *in;
	const struct dl_record *h;
	const char *classes;
	double t0;
	int rc;

	dl_setprogname(argv[0]);
	dl_omp_init();
	parse_args(argc, argv, &e);
	if (!(mh = dl_record_new(NULL)) || !(rec = dl_record_new(NULL)) ||
	    !(e.batch = dl_record_new(NULL)))
		dl_die("out of memory");
	if (!(e.net = dl_model_load(e.model, &e.no, mh)))
		dl_die("%s", dl_errmsg());
	dl_msg_device(e.net);
	e.k = dl_net_outputs(e.net);
	in = e.in ? dl_reader_open_many(e.in, e.n_in, NULL) : dl_reader_open(NULL, NULL);
	if (!in || !(h = dl_reader_head(in)) || dl_head_check_data(h, dl_reader_name(in)) < 0)
		dl_die("%s", dl_errmsg());
	e.batched = dl_head_batched(h);
	dl_warn_prep(mh, h);
	if (!(classes = dl_record_get(mh, "classes")))
		classes = dl_record_get(h, "classes");
	e.classes = classes;
	if (dl_score_init(&e.s, dl_net_loss_kind(e.net) == DL_LOSS_NLL ? e.k : 0) < 0 ||
	    !(e.b = dl_batcher_new(e.batch_size, 0, 0)) ||
	    !(e.probs = malloc((size_t)e.batch_size * e.k * sizeof *e.probs)) ||
	    !(e.held = calloc(e.batch_size, sizeof *e.held)))
		dl_die("%s", dl_errmsg());
	e.s.topk = e.top;
	if (e.predict && !e.text) {
		/* the input's head, with the model's class names if it has none
		 * (generated images: montage labels and dl-select can name p) */
		if (dl_record_copy(rec, h) < 0 || (classes && !dl_record_get(h, "classes") &&
		    dl_record_set(rec, "classes", classes) < 0))
			dl_die("%s", dl_errmsg());
		if (!(e.w = dl_writer_open(e.io.out, &e.io.wo)))
			dl_die("%s", dl_errmsg());
		if ((rc = dl_writer_head(e.w, rec)) < 0)
			dl_writer_die(e.w, rc);
	}
	t0 = dl_now();
	while ((rc = dl_reader_next(in, rec)) > 0) {
		if (dl_record_is(rec, DL_TAG_HEAD))
			continue;
		if (dl_record_is(rec, DL_TAG_DATA)) {
			data(&e, rec);
			continue;
		}
		if (!e.predict || e.text)
			continue;
		if (!e.batched)
			flush(&e, 1);	/* records keep their places around markers */
		if ((rc = dl_writer_put_raw(e.w, rec)) < 0)
			dl_writer_die(e.w, rc);
	}
	if (rc < 0)
		dl_writer_die(e.w, rc);
	if (e.predict && !e.batched)
		flush(&e, 1);
	else if (!e.batched) {
		dl_batcher_end(e.b);
		while ((rc = dl_batcher_get(e.b, e.batch, 1)) > 0)
			score(&e, e.batch, 1, 0);
	}
	if (e.s.n && (t0 = dl_now() - t0) > 0)	/* the reading and the passes, not the start */
		dl_msg("%ld samples in %.3f s, %.0f a second", e.s.n, t0, e.s.n / t0);
	dl_reader_close(in);
	if (e.w && (rc = dl_writer_close(e.w)) < 0)
		dl_fail(rc, "write");
	if (!e.predict && (rc = dl_score_nothing(&e.s)) < 0)	/* not a table of zeros */
		dl_fail(rc, NULL);
	if ((!e.predict || !dl_quiet) && (!e.predict || e.s.n))
		if ((rc = dl_score_report(e.predict && !e.io.out ? stderr : stdout, &e.s, classes,
		    e.json)) < 0 || (fflush(stdout) != 0 && (rc = dl_seterr(DL_EIO, "stdout:"))))
			dl_fail(rc, NULL);
	if (e.s.nonfinite)	/* a score over NaN is no score: say so, fail */
		dl_die("%ld of %ld samples gave an output that is NaN or infinite (from the input "
		    "or the model)", e.s.nonfinite, e.s.n ? e.s.n : e.s.nonfinite);
	dl_score_fini(&e.s);
	dl_net_free(e.net);
	dl_batcher_free(e.b);
	dl_record_free(e.batch);
	dl_record_free(rec);
	dl_record_free(mh);
	free(e.probs);
	free(e.held);
	return 0;
}
