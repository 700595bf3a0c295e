/*
 * dl-select: keep samples by label, prediction, mistake, top probability
 * or id; choose K for a person to label (least confidence, margin,
 * entropy, random; optionally balanced by predicted class); merge the
 * labels a person wrote (ID LABEL lines), checked whole first.  The kept
 * or chosen samples go to stdout (-o), the others to --rest.  The rules
 * are lib/select.c's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-select [FILTERS] [-k K [--by C] [--balance]] [--relabel FILE] [--list]\n"
    "                 [-o FILE] [--rest FILE] [FILE...]\n"
    "Keep the samples of a stream (stdin when no FILE) that pass every filter; choose K\n"
    "of them for labelling; or set their labels from a file.\n"
    "  -l, --label L,...     the true class y is one of these\n"
    "  -p, --pred C,...      the predicted class (argmax p) is one of these\n"
    "  -m, --mistakes        y differs from argmax p\n"
    "      --min-prob F      the top probability is at least F\n"
    "      --max-prob F      the top probability is at most F\n"
    "  -i, --id ID,...       the sample's id is one of these\n"
    "      --id-file FILE    the sample's id is a line of FILE\n"
    "  -k, --choose K        choose K of the samples that pass (the most uncertain first)\n"
    "      --by C            least (confidence), margin (default), entropy, random\n"
    "      --balance         take the classes predicted in turns\n"
    "      --seed S          seed of --by random (default 0)\n"
    "      --relabel FILE    set y from FILE's ID LABEL lines; nothing is written\n"
    "                        unless every line is valid\n"
    "      --classes N       labels are 0..N-1 (default: the stream's class names)\n"
    "      --drop NAME       remove tensor NAME (p, y, ...) from what is written\n"
    "  -r, --rest FILE       write the samples not kept or chosen to FILE\n"
    "      --list            print ID [LABEL] lines instead of a stream\n"
    "  -o, --output FILE     write FILE atomically instead of stdout\n"
    "      --zstd[=LEVEL]    compress the output with zstd\n"
    "      --no-verify       do not check payload checksums\n"
    "      --max-record B    largest record accepted, in bytes (default 1 GiB)\n"
    "  -q, --quiet           no messages; -v, --verbose: report the counts\n"
    "  -h, --help            this text; -V, --version: the version\n";

enum { OPT_MIN = 0x2000, OPT_MAX, OPT_IDFILE, OPT_BY, OPT_BALANCE, OPT_SEED, OPT_RELABEL,
	OPT_CLASSES, OPT_DROP, OPT_LIST };

struct sel {
	struct dl_select_filter f;
	int by, balance, list, n_drop;
	long k, classes;
	uint64_t seed;
	const char *rest, *relabel, *drop[8];
	char **in;
	int n_in;
	struct dl_io_opts io;
	struct dl_reader *r;
	struct dl_writer *w, *wr;
	struct dl_record *head;
	uint64_t n, kept;
};

static void
parse_args(int argc, char *argv[], struct sel *s)
{
	static const struct option longopts[] = {
		{ "label", required_argument, NULL, 'l' }, { "pred", required_argument, NULL, 'p' },
		{ "mistakes", no_argument, NULL, 'm' }, { "min-prob", required_argument, NULL, OPT_MIN },
		{ "max-prob", required_argument, NULL, OPT_MAX }, { "id", required_argument, NULL, 'i' },
		{ "id-file", required_argument, NULL, OPT_IDFILE },
		{ "choose", required_argument, NULL, 'k' }, { "by", required_argument, NULL, OPT_BY },
		{ "balance", no_argument, NULL, OPT_BALANCE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "relabel", required_argument, NULL, OPT_RELABEL },
		{ "classes", required_argument, NULL, OPT_CLASSES },
		{ "drop", required_argument, NULL, OPT_DROP }, { "rest", required_argument, NULL, 'r' },
		{ "list", no_argument, NULL, OPT_LIST }, DL_IO_LONGOPTS, { NULL, 0, NULL, 0 }
	};
	int c, rc = 0;

	s->k = -1, s->f.max_prob = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, DL_IO_SHORTOPTS "l:p:mi:k:r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': s->f.labels = optarg; rc = dl_select_check_classes(optarg); break;
		case 'p': s->f.preds = optarg; rc = dl_select_check_classes(optarg); break;
		case 'm': s->f.mistakes = 1; break;
		case OPT_MIN: s->f.min_prob = dl_arg_double(optarg, "--min-prob", 0, 1); break;
		case OPT_MAX: s->f.max_prob = dl_arg_double(optarg, "--max-prob", 0, 1); break;
		case 'i': rc = dl_select_ids_list(&s->f, optarg); break;
		case OPT_IDFILE: rc = dl_select_ids_file(&s->f, optarg); break;
		case 'k': s->k = dl_arg_long(optarg, "--choose", 0, 1L << 40); break;
		case OPT_BY:
			if ((s->by = dl_select_by_parse(optarg)) < 0)
				dl_usage_die("--by '%s': expected least, margin, entropy or random",
				    optarg);
			break;
		case OPT_BALANCE: s->balance = 1; break;
		case OPT_SEED: s->seed = dl_arg_seed(optarg, "--seed"); break;
		case OPT_RELABEL: s->relabel = optarg; break;
		case OPT_CLASSES: s->classes = dl_arg_long(optarg, "--classes", 1, 1L << 30); break;
		case OPT_DROP:
			if (s->n_drop == 8)
				dl_usage_die("--drop: at most 8 tensors");
			s->drop[s->n_drop++] = optarg;
			break;
		case 'r': s->rest = optarg; break;
		case OPT_LIST: s->list = 1; break;
		default: dl_opt_common(c, argv, &s->io, usage_text);
		}
		if (rc == -DL_EUSAGE)
			dl_usage_die("%s", dl_errmsg());
		if (rc < 0)
			dl_die("%s", dl_errmsg());
	}
	if ((s->by || s->balance) && s->k < 0)
		dl_usage_die("--by and --balance choose: give -k K");
	if (s->k >= 0 && !s->by)
		s->by = DL_BY_MARGIN;
	if (s->list && (s->rest || s->io.out || s->io.wo.zstd_level))
		dl_usage_die("--list prints text on stdout: no -o, --rest or --zstd");
	if (s->rest && s->io.out && !strcmp(s->rest, s->io.out))
		dl_usage_die("-o and --rest are the same file");
	s->in = argv + optind, s->n_in = argc - optind;
}

static _Noreturn void
fail(struct sel *s, int rc)
{
	char msg[1024];

	snprintf(msg, sizeof msg, "%s", dl_errmsg());
	if (s->wr)
		dl_writer_abort(s->wr, msg);
	dl_seterr(DL_EIO, "%s", msg);
	dl_writer_die(s->w, rc);
}

static void
open_outputs(struct sel *s)
{
	const struct dl_record *h = dl_reader_head(s->r);
	int rc;

	if (!h || dl_head_batched(h))
		dl_die("%s", h ? "a stream of batches; select samples, before dl-batch"
		    : dl_errmsg());
	if (!(s->head = dl_record_new(NULL)) || dl_record_copy(s->head, h) < 0)
		dl_die("out of memory");
	if (s->list)
		return;
	if (!(s->w = dl_writer_open(s->io.out, &s->io.wo)))
		dl_die("%s", dl_errmsg());
	if ((rc = dl_writer_head(s->w, h)) < 0)
		fail(s, rc);
	if (s->rest && (!(s->wr = dl_writer_open(s->rest, &s->io.wo)) ||
	    (rc = dl_writer_head(s->wr, h)) < 0))
		fail(s, s->wr ? rc : -DL_EIO);
}

/* A sample to the output (to the rest: rest = 1); --list prints it. */
static void
emit(struct sel *s, struct dl_record *rec, int rest)
{
	struct dl_writer *w = rest ? s->wr : s->w;
	const char *id;
	int64_t y;
	int rc;

	if (s->list && !rest) {
		if (!(id = dl_record_get(rec, "id")))
			dl_die("sample %llu has no id", (unsigned long long)s->n);
		y = dl_select_label(rec);
		if ((y >= 0 ? printf("%s\t%lld\n", id, (long long)y) : printf("%s\n", id)) < 0)
			dl_fail(dl_seterr(DL_EPIPE, "stdout"), "stdout");
	}
	if (!w)
		return;
	for (int i = 0; i < s->n_drop; i++)	/* --drop */
		if (dl_record_find(rec, s->drop[i]))
			dl_record_remove(rec, s->drop[i]);
	if ((rc = dl_writer_put_raw(w, rec)) < 0)
		fail(s, rc);
}

static void
stream(struct sel *s)
{
	struct dl_record *rec = dl_record_new(NULL);
	int rc, keep;

	if (!rec)
		dl_die("out of memory");
	while ((rc = dl_reader_next(s->r, rec)) > 0) {
		if (dl_record_is(rec, DL_TAG_HEAD))
			continue;
		if (!dl_record_is(rec, DL_TAG_DATA)) {
			if ((s->w && (rc = dl_writer_put_raw(s->w, rec)) < 0) ||
			    (s->wr && (rc = dl_writer_put_raw(s->wr, rec)) < 0))
				fail(s, rc);
			continue;
		}
		s->n++;
		if ((keep = dl_select_keep(&s->f, rec, s->n)) < 0)
			fail(s, keep);
		s->kept += keep;
		emit(s, rec, !keep);
	}
	if (rc < 0)
		fail(s, rc);
	dl_record_free(rec);
}

static void
bad_line(void *arg, long line, const char *msg)
{
	dl_warn("%s", msg);
}

/* --relabel and -k: every sample held, then written. */
static void
hold(struct sel *s)
{
	struct dl_record_list l = { 0 };
	struct dl_record *rec = dl_record_new(NULL);
	uint64_t *chosen = NULL, i, m = 0;
	uint8_t *keep;
	int64_t got;
	int rc;

	if (!rec)
		dl_die("out of memory");
	while ((rc = dl_reader_next(s->r, rec)) > 0)
		if (dl_record_is(rec, DL_TAG_DATA)) {
			if (dl_record_list_add(&l, rec) < 0 || !(rec = dl_record_new(NULL)))
				dl_die("out of memory");
		}
	if (rc < 0)
		fail(s, rc);
	dl_record_free(rec);
	if (s->relabel && (rc = dl_select_relabel(s->relabel, s->classes, s->head, &l, bad_line,
	    NULL)) < 0)
		fail(s, rc);
	if (!(keep = calloc(l.n + 1, 1)) || !(chosen = malloc((l.n + 1) * sizeof *chosen)))
		dl_die("out of memory");
	if ((got = dl_select_pick(&s->f, &l, s->k, s->by, s->balance, s->seed, chosen)) < 0)
		fail(s, (int)got);
	m = (uint64_t)got;
	for (i = 0; i < m; i++) {
		keep[chosen[i]] = 1;
		s->n = chosen[i] + 1;
		emit(s, l.rec[chosen[i]], 0);
	}
	s->kept = m;
	for (s->n = 1, i = 0; i < l.n; i++, s->n++)
		if (!keep[i])
			emit(s, l.rec[i], 1);
	s->n = l.n;
	free(keep);
	free(chosen);
	dl_record_list_free(&l);
}

int
main(int argc, char *argv[])
{
	struct sel s = { 0 };
	int rc;

	dl_setprogname(argv[0]);
	parse_args(argc, argv, &s);
	s.r = s.n_in ? dl_reader_open_many(s.in, s.n_in, &s.io.ro) : dl_reader_open(NULL, &s.io.ro);
	if (!s.r)
		dl_die("%s", dl_errmsg());
	open_outputs(&s);
	if (s.k >= 0 || s.relabel)
		hold(&s);
	else
		stream(&s);
	dl_reader_close(s.r);
	if (s.wr && (rc = dl_writer_close(s.wr)) < 0) {
		s.wr = NULL;
		fail(&s, rc);
	}
	if (s.w && (rc = dl_writer_close(s.w)) < 0)
		dl_fail(rc, s.io.out ? s.io.out : "stdout");
	if (s.list && fflush(stdout) != 0)
		dl_fail(dl_seterr(DL_EIO, "stdout: write error"), "stdout");
	if (dl_verbose)
		dl_msg("%llu of %llu samples %s", (unsigned long long)s.kept,
		    (unsigned long long)s.n, s.k >= 0 ? "chosen" : "kept");
	dl_select_filter_free(&s.f);
	dl_record_free(s.head);
	return 0;
}
