/*
 * dl-augment: random flips, moves, scaling, rotation, crops and PCA
 * lighting, drawn afresh for every sample.  Sample k of the stream draws
 * from dl_rng_fork(seed, k), so the output bytes depend on the seed alone,
 * not on -j.  The transforms: lib/image.c; the threads: lib/augment.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-augment [--flip h,v] [--move PX] [--scale LO:HI] [--rotate DEG]\n"
    "                  [--crop HxW] [--border MODE] [--lighting SIGMA --pca STATS]\n"
    "                  [--dtype u8|f32] [--seed S] [-j N] [-t NAME] [-o FILE] [FILE...]\n"
    "Transform every sample's image at random (stdin when no FILE).\n"
    "      --flip h,v       flip horizontally and/or vertically, each with probability 1/2\n"
    "      --move PX        shift by a whole number of pixels in [-PX, PX] on each axis\n"
    "      --scale LO:HI    magnify by a factor uniform in [LO, HI] (one number: fixed)\n"
    "      --rotate DEG     rotate by an angle uniform in [-DEG, DEG] degrees\n"
    "                       (LO:HI: in [LO, HI]), counter-clockwise as displayed\n"
    "      --crop HxW       a random H x W window\n"
    "      --border MODE    outside the image: zero (default), edge or reflect\n"
    "      --lighting SIGMA AlexNet PCA lighting with the colour PCA of --pca STATS\n"
    "      --pca STATS      statistics from dl-whiten --fit pca (or zca), channel scope\n"
    "      --dtype T        output type: u8 or f32 (default: u8 stays u8 unless pixels\n"
    "                       are resampled or lit, which gives f32)\n"
    "      --seed S         seed (default 0)\n"
    "  -j, --jobs N         threads (default 1); the output does not depend on N\n"
    "  -t, --tensor NAME    the image tensor (default x)\n"
    "  -o, --output FILE    write FILE atomically instead of stdout\n"
    "      --zstd[=LEVEL]   compress the output with zstd (level 1-19, default 3)\n"
    "  -q, --quiet          no messages; -v, --verbose: progress even off a terminal\n"
    "  -h, --help           this text; -V, --version: the version\n";

#define CHUNK_RECORDS 256	/* records transformed together by the threads */
#define CHUNK_BYTES (8 << 20)

struct opts {
	struct dl_augment a;
	uint64_t seed;
	int jobs;
	const char *tensor, *pca;
	struct dl_io_opts io;	/* -o, --zstd */
};

/* "A:B" or "A" into lo, hi. */
static void
range_arg(const char *s, const char *flag, double lo_ok, double hi_ok, double *lo, double *hi,
          int symmetric)
{
	char buf[128], *colon;

	snprintf(buf, sizeof buf, "%s", s);
	if ((colon = strchr(buf, ':'))) {
		*colon = 0;
		*lo = dl_arg_double(buf, flag, lo_ok, hi_ok);
		*hi = dl_arg_double(colon + 1, flag, lo_ok, hi_ok);
		if (*lo > *hi)
			dl_usage_die("%s: '%s': the low end is above the high end", flag, s);
	} else {
		*hi = dl_arg_double(buf, flag, lo_ok, hi_ok);
		*lo = symmetric ? -*hi : *hi;
	}
}

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "flip", required_argument, NULL, 'F' },
		{ "move", required_argument, NULL, 'M' },
		{ "scale", required_argument, NULL, 'S' },
		{ "rotate", required_argument, NULL, 'R' },
		{ "crop", required_argument, NULL, 'C' },
		{ "border", required_argument, NULL, 'B' },
		{ "lighting", required_argument, NULL, 'L' },
		{ "pca", required_argument, NULL, 'P' },
		{ "dtype", required_argument, NULL, 'D' },
		{ "seed", required_argument, NULL, 's' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "tensor", required_argument, NULL, 't' },
		DL_OUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	char *tok, *save, buf[64], *x;
	int c;

	*o = (struct opts){ .jobs = 1, .tensor = "x" };
	opterr = 0;
	while ((c = getopt_long(argc, argv, DL_IO_SHORTOPTS "j:t:", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			snprintf(buf, sizeof buf, "%s", optarg);
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				if (!strcmp(tok, "h"))
					o->a.flip_h = 1;
				else if (!strcmp(tok, "v"))
					o->a.flip_v = 1;
				else
					dl_usage_die("--flip: '%s' is not h, v or h,v", optarg);
			break;
		case 'M': o->a.move = (int)dl_arg_long(optarg, "--move", 0, 1 << 20); break;
		case 'S':
			range_arg(optarg, "--scale", 1e-3, 1e3, &o->a.scale_lo, &o->a.scale_hi, 0);
			break;
		case 'R':
			range_arg(optarg, "--rotate", -3600, 3600, &o->a.rotate_lo, &o->a.rotate_hi, 1);
			break;
		case 'C':
			snprintf(buf, sizeof buf, "%s", optarg);
			if (!(x = strchr(buf, 'x')))
				dl_usage_die("--crop: '%s' is not HxW", optarg);
			*x = 0;
			o->a.crop_h = (int)dl_arg_long(buf, "--crop", 1, 1 << 16);
			o->a.crop_w = (int)dl_arg_long(x + 1, "--crop", 1, 1 << 16);
			break;
		case 'B':
			if ((o->a.border = dl_border_parse(optarg)) < 0)
				dl_usage_die("--border: '%s' is not zero, edge or reflect", optarg);
			break;
		case 'L': o->a.lighting = dl_arg_double(optarg, "--lighting", 0, 100); break;
		case 'P': o->pca = optarg; break;
		case 'D':
			o->a.out_dtype = dl_dtype_parse(optarg);
			if (o->a.out_dtype != DL_U8 && o->a.out_dtype != DL_F32)
				dl_usage_die("--dtype: '%s' is not u8 or f32", optarg);
			break;
		case 's': o->seed = dl_arg_seed(optarg, "--seed"); break;
		case 'j': o->jobs = (int)dl_arg_long(optarg, "-j", 1, 64); break;
		case 't':
			if (!dl_name_valid(optarg, strlen(optarg)))
				dl_usage_die("--tensor: '%s' is not a tensor name", optarg);
			o->tensor = optarg;
			break;
		default: dl_opt_common(c, argv, &o->io, usage_text);
		}
	}
	if (o->a.lighting > 0 && !o->pca)
		dl_usage_die("--lighting needs --pca STATS");
}

/* One record of a chunk: its input, its output (its images: b[] below). */
struct slot {
	struct dl_record *in, *out;
	size_t cap;		/* bytes at b[].dst */
};

struct aug {
	struct opts o;
	int batches;		/* kind=batches: a leading sample dimension */
	struct slot s[CHUNK_RECORDS];
	struct dl_augment_batch b[CHUNK_RECORDS];	/* slot i's images; .dst: output */
	int n;			/* slots in use */
	uint64_t samples;	/* samples so far (the next index) */
	uint64_t records;	/* DATA records so far */
};

/* Read the image geometry of slot i and build its output record. */
static int
prepare(struct aug *g, int i)
{
	struct slot *s = &g->s[i];
	struct dl_tensor *t = dl_record_find(s->in, g->o.tensor);
	struct dl_augment_batch *b = &g->b[i];
	int lead = g->batches ? 1 : 0, dt, oh, ow, rc;
	uint64_t shape[DL_MAX_NDIM];
	size_t need;

	if (!t)
		return dl_seterr(DL_EFORMAT, "record %llu has no tensor '%s'",
		                 (unsigned long long)g->records, g->o.tensor);
	if ((rc = dl_augment_batch_init(b, t, g->batches)) < 0) {
		dl_errprefix("record %llu", (unsigned long long)g->records);
		return rc;
	}
	if (g->o.a.lighting > 0 && b->c != g->o.a.light_c)
		return dl_seterr(DL_ESHAPE, "record %llu: %d channels, the PCA of %s has %d",
		                 (unsigned long long)g->records, b->c, g->o.pca, g->o.a.light_c);
	b->first = g->samples;
	g->samples += b->n;
	dt = dl_augment_out_dtype(&g->o.a, t->dtype);
	dl_augment_out_size(&g->o.a, b->h, b->w, &oh, &ow);
	need = (size_t)b->n * oh * ow * b->c * dl_dtype_size(dt);
	if (need > s->cap) {
		dl_free(b->dst);
		s->cap = 0;
		if (!(b->dst = dl_alloc(need)))
			return -DL_ENOMEM;
		s->cap = need;
	}
	memcpy(shape, t->shape, sizeof shape);
	shape[lead] = oh;
	shape[lead + 1] = ow;
	return dl_record_replace(s->out, s->in, t->name, dt, t->ndim, shape, b->dst);
}

/* Transform every sample of the chunk, then write it. */
static int
flush_chunk(struct aug *g, struct dl_writer *wr)
{
	int rc = dl_augment_images(&g->o.a, g->o.seed, g->b, g->n, g->o.jobs);

	for (int i = 0; i < g->n && rc >= 0; i++)
		rc = dl_writer_put(wr, g->s[i].out);
	g->n = 0;
	return rc;
}

int
main(int argc, char *argv[])
{
	static char *dash[] = { "-" };
	struct aug *g;
	struct dl_reader *r;
	struct dl_writer *wr;
	const struct dl_record *h;
	struct dl_record *rec;
	struct dl_progress pr;
	size_t bytes = 0;
	int rc;

	dl_setprogname(argv[0]);
	if (!(g = calloc(1, sizeof *g)))
		dl_die("out of memory");
	parse_args(argc, argv, &g->o);
	if (g->o.pca && dl_augment_load_pca(&g->o.a, g->o.pca) < 0)
		dl_die("%s", dl_errmsg());
	if (!(r = dl_reader_open_many(optind < argc ? argv + optind : dash,
	                              optind < argc ? argc - optind : 1, NULL)) ||
	    !(h = dl_reader_head(r)))
		dl_die("%s", dl_errmsg());
	g->batches = dl_head_batched(h);
	if (!(wr = dl_writer_open(g->o.io.out, &g->o.io.wo)))
		dl_die("%s", dl_errmsg());
	if ((rc = dl_writer_head(wr, h)) < 0)
		dl_fail(rc, "write");
	for (int i = 0; i < CHUNK_RECORDS; i++)
		if (!(g->s[i].in = dl_record_new(NULL)) || !(g->s[i].out = dl_record_new(NULL)))
			dl_die("out of memory");
	dl_progress_start(&pr, "augmenting");
	for (;;) {
		rec = g->s[g->n].in;
		if ((rc = dl_reader_next(r, rec)) <= 0)
			break;
		if (dl_record_is(rec, DL_TAG_DATA)) {
			g->records++;
			if ((rc = prepare(g, g->n)) < 0)
				break;
			bytes += rec->raw_len;
			if (++g->n < CHUNK_RECORDS && bytes < CHUNK_BYTES)
				continue;
		}
		if ((rc = flush_chunk(g, wr)) < 0)
			break;
		bytes = 0;
		dl_progress_update(&pr, g->samples, 0, "samples");
		if (dl_record_is(rec, DL_TAG_HEAD))	/* later streams' headers */
			continue;
		if (!dl_record_is(rec, DL_TAG_DATA) && (rc = dl_writer_put_raw(wr, rec)) < 0)
			break;
	}
	if (rc == 0)
		rc = flush_chunk(g, wr);
	dl_progress_end(&pr);
	if (rc < 0)
		dl_writer_die(wr, rc);
	if ((rc = dl_writer_close(wr)) < 0)
		dl_fail(rc, "write");
	for (int i = 0; i < CHUNK_RECORDS; i++) {
		dl_record_free(g->s[i].in);
		dl_record_free(g->s[i].out);
		dl_free(g->b[i].dst);
	}
	dl_reader_close(r);
	free(g);
	return 0;
}
