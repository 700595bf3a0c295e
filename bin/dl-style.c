/*
 * dl-style: artistic style transfer (Gatys et al.): each image of the
 * --content stream is optimised so that its activation at one layer stays
 * while the Gram matrices at the style layers become those of the --style
 * image; without --content, textures of that style from noise.  L-BFGS
 * (strong Wolfe) or Adam, octaves coarse to fine.  The work is
 * lib/style.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "explain.h"
#include "style.h"

static const char usage_text[] =
    "usage: dl-style [options] --style STYLE.dls [--content IMG.dls] MODEL\n"
    "Style transfer (Gatys et al.) onto the --content images, or textures from noise.\n"
    "  -s, --style FILE         the style image (the first sample of FILE)\n"
    "  -c, --content FILE       the images to restyle (none: texture synthesis)\n"
    "  -C, --content-layer L    content layer (default: conv4_2 as in VGG, else the last conv)\n"
    "  -S, --style-layers LIST  style layers with weights, conv1,conv3:0.5 (default: the\n"
    "                           first conv of each of the first 5 blocks, 1/count each)\n"
    "      --content-weight F   alpha (default 1); --style-weight F: beta (default 1e3)\n"
    "      --tv-weight F        total variation weight (default 0)\n"
    "      --opt O              lbfgs (default; strong Wolfe line search) or adam\n"
    "      --steps N            iterations per octave (default 200)\n"
    "      --lr F               Adam's rate (default 0.02); --history M: L-BFGS pairs (50)\n"
    "      --start S            content (default with --content) or noise\n"
    "      --size HxW           texture size (default the style image's); --count N (1)\n"
    "      --octaves N          octaves, coarse to fine (default 1); --octave-scale F (1.4)\n"
    "      --seed S             noise (default 1)\n"
    "      --log FILE           a TSV line per step: image octave step evals losses\n"
    "  -d, --device D           cpu, cuda[:N], auto (default $DL_DEVICE, else auto)\n"
    "  -o, --output FILE        write there (atomically) instead of stdout\n"
    "  -v, --verbose            the losses at the end, per image\n"
    "  -q, --quiet; -h, --help; -V, --version\n";

struct opts {
	struct dl_style_opts s;
	const char *model, *style, *content, *log;
	int h, w;
	long count;
	struct dl_net_opts no;
	struct dl_io_opts io;
};

static void
parse_size(const char *arg, int *h, int *w)
{
	char *e;
	long a = strtol(arg, &e, 10), b = a;

	if (*e == 'x' && (b = strtol(e + 1, &e, 10)) < 1)
		b = 0;
	if (e == arg || *e || a < 1 || b < 1 || a > 16384 || b > 16384)
		dl_usage_die("--size: '%s' is not HxW (1..16384)", arg);
	*h = (int)a, *w = (int)b;
}

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	enum { O_CW = 256, O_SW, O_TV, O_OPT, O_LR, O_HIST, O_START, O_SIZE, O_COUNT, O_OCT,
	    O_OSCALE, O_SEED, O_LOG };
	static const struct option lo[] = {
		{ "style", required_argument, NULL, 's' },
		{ "content", required_argument, NULL, 'c' },
		{ "content-layer", required_argument, NULL, 'C' },
		{ "style-layers", required_argument, NULL, 'S' },
		{ "content-weight", required_argument, NULL, O_CW },
		{ "style-weight", required_argument, NULL, O_SW },
		{ "tv-weight", required_argument, NULL, O_TV },
		{ "opt", required_argument, NULL, O_OPT },
		{ "steps", required_argument, NULL, 'n' },
		{ "lr", required_argument, NULL, O_LR },
		{ "history", required_argument, NULL, O_HIST },
		{ "start", required_argument, NULL, O_START },
		{ "size", required_argument, NULL, O_SIZE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "octaves", required_argument, NULL, O_OCT },
		{ "octave-scale", required_argument, NULL, O_OSCALE },
		{ "seed", required_argument, NULL, O_SEED },
		{ "log", required_argument, NULL, O_LOG },
		DL_DEVICE_LONGOPTS,
		DL_OUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c, start = -1;

	*o = (struct opts){ .s = { .content_weight = -1, .style_weight = -1, .tv_weight = -1,
	    .steps = 200, .octaves = 1, .seed = 1 }, .count = 1 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, DL_IO_SHORTOPTS "s:c:C:S:d:", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->style = optarg; break;
		case 'c': o->content = optarg; break;
		case 'C': o->s.content_layer = optarg; break;
		case 'S': o->s.style_layers = optarg; break;
		case O_CW: o->s.content_weight = dl_arg_double(optarg, "--content-weight", 0, 1e30); break;
		case O_SW: o->s.style_weight = dl_arg_double(optarg, "--style-weight", 0, 1e30); break;
		case O_TV: o->s.tv_weight = dl_arg_double(optarg, "--tv-weight", 0, 1e30); break;
		case O_OPT:
			if (!strcmp(optarg, "lbfgs") || !strcmp(optarg, "adam"))
				o->s.optimizer = optarg[0] == 'a' ? DL_STYLE_ADAM : DL_STYLE_LBFGS;
			else
				dl_usage_die("--opt: '%s' is neither lbfgs nor adam", optarg);
			break;
		case 'n': o->s.steps = (int)dl_arg_long(optarg, "--steps", 0, 1000000); break;
		case O_LR: o->s.lr = dl_arg_double(optarg, "--lr", 1e-12, 1e6); break;
		case O_HIST: o->s.history = (int)dl_arg_long(optarg, "--history", 1, 10000); break;
		case O_START:
			if (strcmp(optarg, "content") && strcmp(optarg, "noise"))
				dl_usage_die("--start: '%s' is neither content nor noise", optarg);
			start = optarg[0] == 'n' ? DL_STYLE_FROM_NOISE : DL_STYLE_FROM_CONTENT;
			break;
		case O_SIZE: parse_size(optarg, &o->h, &o->w); break;
		case O_COUNT: o->count = dl_arg_long(optarg, "--count", 1, 1L << 30); break;
		case O_OCT: o->s.octaves = (int)dl_arg_long(optarg, "--octaves", 1, 32); break;
		case O_OSCALE: o->s.octave_scale = dl_arg_double(optarg, "--octave-scale", 1.01, 16); break;
		case O_SEED: o->s.seed = dl_arg_seed(optarg, "--seed"); break;
		case O_LOG: o->log = optarg; break;
		default:
			if (!dl_opt_device(c, &o->no))
				dl_opt_common(c, argv, &o->io, usage_text);
		}
	}
	dl_args_model_input(argc, argv, &o->model, &o->content);
	if (!o->style)
		dl_usage_die("--style FILE is needed");
	if (start == DL_STYLE_FROM_CONTENT && !o->content)
		dl_usage_die("--start content: no --content");
	if (o->content && (o->h || o->count != 1))
		dl_usage_die("--size and --count make textures: not with --content");
	o->s.start = start >= 0 ? start : o->content ? DL_STYLE_FROM_CONTENT : DL_STYLE_FROM_NOISE;
}

/* An image tensor of the model's c channels as f32 (malloc'd), or exit 1
 * naming the file, the image and the model. */
static float *
image_of(const struct dl_tensor *t, const char *file, uint64_t n, const struct opts *o, int c,
    int *h, int *w)
{
	int k, ch;
	float *img;

	if (!t || dl_image_dims(t, 0, &k, h, w, &ch) < 0)
		dl_die("%s: sample %llu: no image x [H,W] or [H,W,C]", file, (unsigned long long)n);
	if (ch != c)
		dl_die("%s: sample %llu: %d channel%s, but %s takes %d (dl-import --grey or --rgb)",
		    file, (unsigned long long)n, ch, ch == 1 ? "" : "s", o->model, c);
	if (dl_explain_image(t, c, &img, h, w) < 0)
		dl_die("%s: %s", file, dl_errmsg());
	return img;
}

struct styler {
	struct dl_style *st;
	const struct opts *o;
	int c, sh, sw;		/* channels; the style image's size */
	float *simg;		/* the style image */
	FILE *log;
	struct dl_progress pr;
};

static int
on_step(void *arg, const struct dl_style_step *t)
{
	struct styler *y = arg;
	char extra[96];

	if (y->log && fprintf(y->log, "%llu\t%d\t%d\t%ld\t%.9g\t%.9g\t%.9g\t%.9g\n",
	    (unsigned long long)t->image, t->octave, t->step, t->evals, t->content, t->style,
	    t->tv, t->total) < 0)
		return dl_seterr(DL_EIO, "%s: write failed", y->o->log);
	snprintf(extra, sizeof extra, "octave %d %dx%d loss %.4g", t->octave, t->h, t->w, t->total);
	dl_progress_update(&y->pr, (uint64_t)t->step, (uint64_t)y->o->s.steps, extra);
	return 0;
}

/* Style (or synthesise, content NULL) image index into rec's x. */
static int
style_one(struct styler *y, const float *content, int h, int w, uint64_t index,
    struct dl_record *rec)
{
	struct dl_style_step last;
	struct dl_tensor *x;
	int rc;

	dl_record_remove(rec, "x");
	if (!(x = dl_record_add(rec, "x", DL_F32, 3,
	    (uint64_t[]){ (uint64_t)h, (uint64_t)w, (uint64_t)y->c })))
		return -DL_ENOMEM;
	dl_progress_start(&y->pr, "style");
	rc = dl_style_run(y->st, content, h, w, index, x->data, &last);
	dl_progress_end(&y->pr);
	if (rc < 0)
		return rc;
	dl_record_setf(rec, "style_losses", "content %.6g style %.6g tv %.6g total %.6g",
	    last.content, last.style, last.tv, last.total);
	if (dl_verbose)
		dl_msg("image %llu: content %.6g style %.6g tv %.6g total %.6g (%ld evaluations)",
		    (unsigned long long)index, last.content, last.style, last.tv, last.total,
		    last.evals);
	return 0;
}

/* A content sample n (from 1). */
static int
content_rec(void *arg, struct dl_record *rec, uint64_t n)
{
	struct styler *y = arg;
	int h, w, rc;
	float *img = image_of(dl_record_find(rec, "x"), y->o->content, n, y->o, y->c, &h, &w);

	rc = style_one(y, img, h, w, n - 1, rec);
	free(img);
	if (rc < 0)
		dl_errprefix("image %llu", (unsigned long long)n);
	return rc;
}

static int
first_image(void *arg, const struct dl_record *rec, const char *src)
{
	struct styler *y = arg;

	if (strcmp(rec->tag, DL_TAG_DATA))
		return 0;
	y->simg = image_of(dl_record_find(rec, "x"), src, 1, y->o, y->c, &y->sh, &y->sw);
	return 1;
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct dl_net *net;
	struct styler y = { 0 };
	struct dl_reader *in = NULL;
	struct dl_writer *out;
	struct dl_record *rec, *head;
	int rc, shape[3];

	dl_setprogname(argv[0]);
	dl_omp_init();
	parse_args(argc, argv, &o);
	dl_device_check(&o.no);
	head = dl_record_new(DL_TAG_HEAD);
	if (!(net = dl_model_load(o.model, &o.no, head)))
		dl_die("%s", dl_errmsg());
	o.s.on_step = on_step, o.s.arg = &y;
	if (!(y.st = dl_style_new(net, &o.s, &o.no)))
		dl_usage_die("%s: %s", o.model, dl_errmsg());
	dl_net_input_shape(net, shape);
	y.o = &o, y.c = shape[2];
	if ((rc = dl_stream_hold(o.style, &o.io.ro, 0, NULL, first_image, &y)) < 0 || !y.simg ||
	    (rc = dl_style_set_style(y.st, y.simg, y.sh, y.sw)) < 0)
		dl_die("%s: %s", o.style, rc < 0 ? dl_errmsg() : "no image");
	dl_msg_device(net);
	dl_msg("content %s, style %s", dl_style_content_layer(y.st), dl_style_style_layers(y.st));
	if (o.content && (!(in = dl_reader_open(o.content, &o.io.ro)) || !dl_reader_head(in) ||
	    dl_head_batched(dl_reader_head(in))))
		dl_die("%s: %s", o.content, in && dl_reader_head(in) ?
		    "batches: style samples (before dl-batch)" : dl_errmsg());
	dl_record_clear(head, DL_TAG_HEAD);
	if (in && dl_record_copy(head, dl_reader_head(in)) < 0)
		dl_die("%s", dl_errmsg());
	dl_record_set(head, "kind", "samples");
	if (o.log && !(y.log = fopen(o.log, "w")))
		dl_die("%s: cannot write", o.log);
	if (!(out = dl_writer_open(o.io.out, &o.io.wo)) || dl_writer_head(out, head) < 0)
		dl_die("%s", dl_errmsg());
	rec = dl_record_new(NULL);
	rc = in ? dl_filter_data(in, out, rec, content_rec, &y) : 0;
	for (long i = 0; !in && i < o.count && rc >= 0; i++) {
		dl_record_clear(rec, DL_TAG_DATA);
		dl_record_setf(rec, "id", "texture-%ld", i);
		if ((rc = style_one(&y, NULL, o.h ? o.h : y.sh, o.w ? o.w : y.sw, (uint64_t)i,
		    rec)) >= 0)
			rc = dl_writer_put(out, rec);
	}
	if (rc >= 0 && y.log && fclose(y.log) != 0)
		rc = dl_seterr(DL_EIO, "%s: write failed", o.log);
	if (rc < 0)
		dl_writer_die(out, rc);
	if ((rc = dl_writer_close(out)) < 0)
		dl_fail(rc, "write");
	dl_record_free(rec);
	dl_record_free(head);
	if (in)
		dl_reader_close(in);
	free(y.simg);
	dl_style_free(y.st);
	dl_net_free(net);
	return 0;
}
