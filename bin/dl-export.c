/*
 * dl-export: a tensor stream out to files: one PNG per sample, a montage
 * (a grid, optionally with a heat-map tensor over each image), or NPY
 * arrays of all samples.  Batches are unrolled along their leading
 * dimension.  The work is lib/export.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-export png -o DIR [--id] [FILE]\n"
    "       dl-export montage -o FILE.png [--cols N] [--overlay NAME [--side-by-side]\n"
    "                 [--cmap viridis|inferno] [--alpha A] [--range R] [--no-bar]]\n"
    "                 [--zoom N] [--label FIELDS] [--gap PX] [FILE]\n"
    "       dl-export npy -o PREFIX [--tensors x,y] [FILE]\n"
    "       dl-export onnx -o FILE.onnx [--probs] [MODEL] (dl-export onnx -h)\n"
    "       options: [--image NAME] [--normalise] [--limit N] [-qv]\n"
    "Write the samples of a tensor stream (stdin when no FILE) to files.\n"
    "  png      DIR/000000.png, DIR/000001.png, ... one image per sample\n"
    "  montage  all images in one grid\n"
    "  npy      PREFIX-x.npy, PREFIX-y.npy: one array per tensor, samples stacked\n"
    "  -o, --output PATH     the directory, PNG file or prefix to write (required)\n"
    "      --id              png: name files after each sample's id\n"
    "      --cols N          montage: images a row (default: a square grid)\n"
    "      --overlay NAME    montage: a heat-map of tensor NAME ([H,W]) over each image\n"
    "      --side-by-side    montage: the heat-map in its own cell after the image\n"
    "      --cmap NAME       montage: viridis (default) or inferno\n"
    "      --alpha A         montage: heat-map weight in the blend (default 0.5)\n"
    "      --range R         montage: heat-map colours span each map's own min..max\n"
    "                        (each, default), all maps' (all), or LO:HI\n"
    "      --no-bar          montage: no colour bar (with its end values) under\n"
    "                        the heat-maps\n"
    "      --zoom N          montage: each pixel N x N (1 to 32)\n"
    "      --label FIELDS    montage: text under each image, a line per field: y,\n"
    "                        the true class; p, the predicted one (tensor p: red\n"
    "                        and framed when wrong); id or another key/value\n"
    "      --gap PX          montage: pixels between images (default 2)\n"
    "      --tensors A,B     npy: the tensors to write (default x,y; y if present)\n"
    "      --image NAME      png, montage: the image tensor (default x)\n"
    "      --normalise       png, montage: stretch each image to its own min..max\n"
    "                        (also --normalize)\n"
    "      --limit N         stop after N samples\n"
    "  -q, --quiet           no messages; -v, --verbose: progress even off a terminal\n"
    "  -h, --help            this text; -V, --version: the version\n";

struct opts {
	struct dl_export_opts x;	/* format, -o and what to write */
	const char *in;			/* NULL: stdin */
	long long limit;		/* -1: all */
	int no_bar;
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "id", no_argument, NULL, 'I' },
		{ "cols", required_argument, NULL, 'c' },
		{ "overlay", required_argument, NULL, 'O' },
		{ "side-by-side", no_argument, NULL, 'S' },
		{ "cmap", required_argument, NULL, 'M' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "gap", required_argument, NULL, 'g' },
		{ "zoom", required_argument, NULL, 'z' },
		{ "label", required_argument, NULL, 'L' },
		{ "range", required_argument, NULL, 'R' },
		{ "no-bar", no_argument, NULL, 'B' },
		{ "tensors", required_argument, NULL, 't' },
		{ "image", required_argument, NULL, 'i' },
		{ "normalise", no_argument, NULL, 'N' },
		{ "normalize", no_argument, NULL, 'N' },
		{ "limit", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct dl_export_opts *x = &o->x;
	const char *f;
	int c;

	*o = (struct opts){ .limit = -1, .x = { .image = "x", .tensors = NULL,
	    .mo = { .gap = 2, .alpha = 0.5, .cmap = dl_colormap("viridis") } } };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': x->out = optarg; break;
		case 'I': x->by_id = 1; break;
		case 'c': x->mo.cols = (int)dl_arg_long(optarg, "--cols", 1, 65535); break;
		case 'O': x->overlay = optarg; break;
		case 'S': x->mo.side_by_side = 1; break;
		case 'M':
			if (!(x->mo.cmap = dl_colormap(optarg)))
				dl_usage_die("--cmap: unknown colour map '%s' (viridis, inferno)", optarg);
			break;
		case 'a': x->mo.alpha = dl_arg_double(optarg, "--alpha", 0, 1); break;
		case 'g': x->mo.gap = (int)dl_arg_long(optarg, "--gap", 0, 256); break;
		case 'z': x->mo.zoom = (int)dl_arg_long(optarg, "--zoom", 1, 32); break;
		case 'L':
			if (dl_export_set_label(x, optarg) < 0)
				dl_usage_die("%s", dl_errmsg());
			break;
		case 'R':
			if (dl_export_set_range(x, optarg) < 0)
				dl_usage_die("%s", dl_errmsg());
			break;
		case 'B': o->no_bar = 1; break;
		case 't': x->tensors = optarg; break;
		case 'i': x->image = optarg; break;
		case 'N': x->normalise = x->mo.normalise = 1; break;
		case 'n': o->limit = dl_arg_long(optarg, "--limit", 0, 1L << 62); break;
		default: dl_opt_common(c, argv, NULL, usage_text);	/* -o is ours: files, no stream */
		}
	}
	if (optind == argc)
		dl_usage_die("no format given (png, montage or npy)");
	f = argv[optind++];
	if (!strcmp(f, "png"))
		x->fmt = DL_EXPORT_PNG;
	else if (!strcmp(f, "montage"))
		x->fmt = DL_EXPORT_MONTAGE;
	else if (!strcmp(f, "npy"))
		x->fmt = DL_EXPORT_NPY;
	else
		dl_usage_die("unknown format '%s' (png, montage or npy)", f);
	if (optind < argc)
		o->in = argv[optind++];
	if (optind < argc)
		dl_usage_die("unexpected argument '%s'", argv[optind]);
	if (!x->out)
		dl_usage_die("%s: -o is required", f);
	if (dl_export_check_out(x) < 0)
		dl_usage_die("%s", dl_errmsg());
	if (x->mo.side_by_side && !x->overlay)
		dl_usage_die("--side-by-side needs --overlay");
	if (x->fmt != DL_EXPORT_MONTAGE && (x->label || x->mo.zoom))
		dl_usage_die("%s: --label and --zoom are for montage", f);
	x->mo.bar = x->overlay && !o->no_bar;
}

/* Every sample of the stream (up to the limit) to e. */
static int
run(struct dl_export *e, const struct opts *o, struct dl_reader *r, struct dl_progress *pr)
{
	const struct dl_record *head;
	struct dl_record *rec;
	long long n;
	int rc = 0, batched;

	if (!(head = dl_reader_head(r)))
		return -DL_EFORMAT;
	batched = dl_head_batched(head);
	if ((rc = dl_export_head(e, head)) < 0)
		return rc;
	if (!(rec = dl_record_new(NULL)))
		return -DL_ENOMEM;
	while ((o->limit < 0 || (long long)dl_export_count(e) < o->limit) &&
	    (rc = dl_reader_next(r, rec)) > 0) {
		if (!dl_record_is(rec, DL_TAG_DATA))
			continue;
		n = dl_export_record(e, rec, batched,
		    o->limit < 0 ? -1 : o->limit - (long long)dl_export_count(e), dl_reader_records(r));
		if (n < 0) {
			rc = (int)n;
			break;
		}
		dl_progress_update(pr, dl_export_count(e), 0, NULL);
	}
	if (rc > 0)
		rc = 0;
	dl_record_free(rec);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct dl_export *e;
	struct dl_reader *r;
	struct dl_progress pr;
	uint64_t n;
	int rc;

	dl_setprogname(argv[0]);
	if (argc > 1 && !strcmp(argv[1], "onnx"))
		return dl_onnx_export_cmd(argc - 1, argv + 1);
	parse_args(argc, argv, &o);
	if (!(r = dl_reader_open(o.in, NULL)))
		dl_die("%s", dl_errmsg());
	if (o.x.fmt == DL_EXPORT_PNG && mkdir(o.x.out, 0777) < 0 && errno != EEXIST)
		dl_die("%s:", o.x.out);
	if (!(e = dl_export_new(&o.x)))
		dl_die("%s", dl_errmsg());
	dl_progress_start(&pr, "export");
	rc = run(e, &o, r, &pr);
	dl_progress_end(&pr);
	dl_reader_close(r);
	n = dl_export_count(e);
	if (rc == 0 && !n)
		rc = dl_seterr(DL_EFORMAT, "%s: no samples", o.in ? o.in : "stdin");
	if ((rc = dl_export_close(e, rc)) < 0)
		dl_fail(rc, NULL);
	if (dl_verbose)
		dl_msg("%llu samples written", (unsigned long long)n);
	return 0;
}
