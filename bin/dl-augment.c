/*
 * dl-augment: random flips, moves, scaling, rotation, crops and PCA
 * lighting, drawn afresh for every sample.  Sample k of the stream draws
 * from dl_rng_fork(seed, k), so the output bytes depend on the seed alone,
 * not on -j.  The transforms: lib/image.c.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* The colour PCA for lighting, from a channel-scope pca/zca stats file. */
static void
load_pca(struct opts *o)
{
	struct dl_whiten w;

	if (dl_whiten_load(&w, o->pca) < 0)
		dl_die("%s", dl_errmsg());
	if (!w.eigvec || w.scope != DL_SCOPE_CHANNEL || w.d > 4)
		dl_die("%s: not a colour PCA (fit one with dl-whiten --fit pca)", o->pca);
	o->a.light_c = w.d;
	memcpy(o->a.eigval, w.eigval, w.d * sizeof *w.eigval);
	memcpy(o->a.eigvec, w.eigvec, (size_t)w.d * w.d * sizeof *w.eigvec);
	dl_whiten_fini(&w);
}

/* One record of a chunk: its input, its output, where its image goes. */
struct slot {
	struct dl_record *in, *out;
	struct dl_tensor *t;	/* the image in in */
	int n, h, w, c;		/* samples, height, width, channels */
	uint64_t first;		/* stream index of its first sample */
	void *buf;		/* output images */
	size_t cap;		/* bytes */
};

struct aug {
	struct opts o;
	int batches;		/* kind=batches: a leading sample dimension */
	struct slot s[CHUNK_RECORDS];
	int n;			/* slots in use */
	uint64_t samples;	/* samples so far (the next index) */
	uint64_t records;	/* DATA records so far */
};

/* Read the image geometry of slot k and build its output record. */
static int
prepare(struct aug *g, struct slot *s)
{
	struct dl_tensor *t = dl_record_find(s->in, g->o.tensor);
	int lead, dt, oh, ow;
	uint64_t shape[DL_MAX_NDIM];
	char desc[128];
	size_t need;

	if (!t)
		return dl_seterr(DL_EFORMAT, "record %llu has no tensor '%s'",
		                 (unsigned long long)g->records, g->o.tensor);
	lead = g->batches ? 1 : 0;
	if ((t->dtype != DL_U8 && t->dtype != DL_F32) || t->ndim - lead < 2 || t->ndim - lead > 3 ||
	    (lead && t->ndim < 1))
		return dl_seterr(DL_EFORMAT, "record %llu: tensor '%s' is %s, not an image "
		                 "(H x W [x C], u8 or f32)%s", (unsigned long long)g->records,
		                 g->o.tensor, dl_tensor_desc(t, desc, sizeof desc),
		                 lead ? " in a batch" : "");
	s->t = t;
	s->n = lead ? (int)t->shape[0] : 1;
	s->h = (int)t->shape[lead];
	s->w = (int)t->shape[lead + 1];
	s->c = t->ndim - lead == 3 ? (int)t->shape[lead + 2] : 1;
	if (t->shape[lead] > 1 << 16 || t->shape[lead + 1] > 1 << 16 || s->c > 1 << 16 ||
	    t->shape[0] > 1 << 30)
		return dl_seterr(DL_EFORMAT, "record %llu: image too large", (unsigned long long)g->records);
	if (!s->h || !s->w || !s->c)
		return dl_seterr(DL_EFORMAT, "record %llu: tensor '%s' is %s, an empty image",
		                 (unsigned long long)g->records, g->o.tensor,
		                 dl_tensor_desc(t, desc, sizeof desc));
	if (g->o.a.lighting > 0 && s->c != g->o.a.light_c)
		return dl_seterr(DL_ESHAPE, "record %llu: %d channels, the PCA of %s has %d",
		                 (unsigned long long)g->records, s->c, g->o.pca, g->o.a.light_c);
	s->first = g->samples;
	g->samples += s->n;
	dt = dl_augment_out_dtype(&g->o.a, t->dtype);
	dl_augment_out_size(&g->o.a, s->h, s->w, &oh, &ow);
	need = (size_t)s->n * oh * ow * s->c * dl_dtype_size(dt);
	if (need > s->cap) {
		dl_free(s->buf);
		s->cap = 0;
		if (!(s->buf = dl_alloc(need)))
			return -DL_ENOMEM;
		s->cap = need;
	}
	memcpy(shape, t->shape, sizeof shape);
	shape[lead] = oh;
	shape[lead + 1] = ow;
	return dl_record_replace(s->out, s->in, t->name, dt, t->ndim, shape, s->buf);
}

/* Sample j of the chunk: find its slot, transform it.  0 or -1. */
static int
one_sample(struct aug *g, const uint64_t *start, uint64_t j)
{
	int i = 0, lo = 0, hi = g->n - 1;

	while (lo <= hi) {	/* the slot holding sample j */
		int mid = (lo + hi) / 2;
		if (start[mid] <= j) {
			i = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	struct slot *s = &g->s[i];
	uint64_t b = j - start[i];
	struct dl_rng r;
	const struct dl_tensor *o = &s->out->tensors[s->t - s->in->tensors];
	size_t in_sz = (size_t)s->h * s->w * s->c * dl_dtype_size(s->t->dtype);
	size_t out_sz = o->nbytes / (s->n ? s->n : 1);

	dl_rng_fork(&r, g->o.seed, s->first + b);
	return dl_augment_image(&g->o.a, &r, (const char *)s->t->data + b * in_sz, s->t->dtype,
	                        s->h, s->w, s->c, (char *)s->buf + b * out_sz) < 0 ? -1 : 0;
}

/* Threads take samples 16 at a time from a shared counter: which thread
 * does a sample changes nothing in its bytes.  Plain threads that block
 * when done, not OpenMP's spinning ones, as the rest of a pipeline needs
 * the cores too. */
struct work {
	struct aug *g;
	const uint64_t *start;
	uint64_t total;
	_Atomic uint64_t next;
	_Atomic int bad;
};

static void *
worker(void *arg)
{
	struct work *w = arg;
	uint64_t j0, j;

	while ((j0 = atomic_fetch_add(&w->next, 16)) < w->total)
		for (j = j0; j < j0 + 16 && j < w->total; j++)
			if (one_sample(w->g, w->start, j) < 0)
				atomic_store(&w->bad, 1);
	return NULL;
}

/* Transform every sample of the chunk, then write it. */
static int
flush_chunk(struct aug *g, struct dl_writer *wr)
{
	uint64_t total = 0, *start;
	pthread_t th[64];
	int rc = 0, n_th = 0;
	struct work w;

	if (!g->n)
		return 0;
	if (!(start = malloc((g->n + 1) * sizeof *start)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (int i = 0; i < g->n; i++) {
		start[i] = total;
		total += g->s[i].n;
	}
	start[g->n] = total;
	w.g = g;
	w.start = start;
	w.total = total;
	atomic_init(&w.next, 0);
	atomic_init(&w.bad, 0);
	for (; n_th < g->o.jobs - 1 && (uint64_t)(n_th + 1) * 16 < total; n_th++)
		if (pthread_create(&th[n_th], NULL, worker, &w) != 0)
			break;
	worker(&w);
	for (int i = 0; i < n_th; i++)
		pthread_join(th[i], NULL);
	free(start);
	if (atomic_load(&w.bad))
		return dl_seterr(DL_ENOMEM, "out of memory transforming images");
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
	if (g->o.pca)
		load_pca(&g->o);
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
			if ((rc = prepare(g, &g->s[g->n])) < 0)
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
		dl_free(g->s[i].buf);
	}
	dl_reader_close(r);
	free(g);
	return 0;
}
