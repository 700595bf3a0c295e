/*
 * dl-export: a tensor stream out to files: one PNG per sample, a montage
 * (a grid, optionally with a heat-map tensor over each image), or NPY
 * arrays of all samples.  Batches are unrolled along their leading
 * dimension.  Writers are formats/png.c, montage.c and npy.c.
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
    "                 [--cmap viridis|inferno] [--alpha A]] [--gap PX] [FILE]\n"
    "       dl-export npy -o PREFIX [--tensors x,y] [FILE]\n"
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
    "      --gap PX          montage: pixels between images (default 2)\n"
    "      --tensors A,B     npy: the tensors to write (default x,y; y if present)\n"
    "      --image NAME      png, montage: the image tensor (default x)\n"
    "      --normalise       png, montage: stretch each image to its own min..max\n"
    "  -n, --limit N         stop after N samples\n"
    "  -q, --quiet           no messages; -v, --verbose: progress even off a terminal\n"
    "  -h, --help            this text; -V, --version: the version\n";

enum fmt { F_PNG, F_MONTAGE, F_NPY };

struct opts {
	enum fmt fmt;
	const char *out;		/* -o */
	const char *in;			/* NULL: stdin */
	int by_id;			/* png: names from the id KV */
	const char *image;		/* the image tensor */
	int normalise;
	long long limit;		/* -1: all */
	const char *tensors;		/* npy */
	struct dl_montage_opts mo;
	const char *overlay;		/* montage */
};

#define MAX_NPY 16

struct npy_out {
	char name[DL_MAX_NAME + 1];
	struct dl_npy_out *w;
	int dtype;			/* as written (bf16 goes as f32) */
	int src_dtype, ndim;		/* of the stream's per-sample tensor */
	uint64_t shape[DL_MAX_NDIM];
	int optional;			/* the default y: skipped when absent */
};

struct export {
	struct opts o;
	struct dl_montage *m;
	struct npy_out npy[MAX_NPY];
	int n_npy;
	uint64_t n;			/* samples */
	struct dl_progress prog;
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
	const char *f;
	int c;

	*o = (struct opts){ .image = "x", .limit = -1, .tensors = NULL,
	    .mo = { .gap = 2, .alpha = 0.5, .cmap = dl_colormap("viridis") } };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:n:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'I': o->by_id = 1; break;
		case 'c': o->mo.cols = (int)dl_arg_long(optarg, "--cols", 1, 65535); break;
		case 'O': o->overlay = optarg; break;
		case 'S': o->mo.side_by_side = 1; break;
		case 'M':
			if (!(o->mo.cmap = dl_colormap(optarg)))
				dl_usage_die("--cmap: unknown colour map '%s' (viridis, inferno)", optarg);
			break;
		case 'a': o->mo.alpha = dl_arg_double(optarg, "--alpha", 0, 1); break;
		case 'g': o->mo.gap = (int)dl_arg_long(optarg, "--gap", 0, 256); break;
		case 't': o->tensors = optarg; break;
		case 'i': o->image = optarg; break;
		case 'N': o->normalise = o->mo.normalise = 1; break;
		case 'n': o->limit = dl_arg_long(optarg, "--limit", 0, 1L << 62); break;
		default: dl_opt_common(c, argv, NULL, usage_text);	/* -o is ours: files, no stream */
		}
	}
	if (optind == argc)
		dl_usage_die("no format given (png, montage or npy)");
	f = argv[optind++];
	if (!strcmp(f, "png"))
		o->fmt = F_PNG;
	else if (!strcmp(f, "montage"))
		o->fmt = F_MONTAGE;
	else if (!strcmp(f, "npy"))
		o->fmt = F_NPY;
	else
		dl_usage_die("unknown format '%s' (png, montage or npy)", f);
	if (optind < argc)
		o->in = argv[optind++];
	if (optind < argc)
		dl_usage_die("unexpected argument '%s'", argv[optind]);
	if (!o->out)
		dl_usage_die("%s: -o is required", f);
	if (o->mo.side_by_side && !o->overlay)
		dl_usage_die("--side-by-side needs --overlay");
}

/* A file name from an id: letters, digits, '.', '-', '_' kept, the rest
 * '_', no leading dot, ".png" at the end. */
static void
id_name(const char *id, char *buf, size_t n)
{
	size_t len = 0;
	const char *ext;

	for (const char *p = id; *p && len + 5 < n; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || (*p == '.' && len);
		buf[len++] = ok ? *p : '_';
	}
	buf[len] = 0;
	ext = len >= 4 ? buf + len - 4 : "";
	if (strcmp(ext, ".png") && strcmp(ext, ".PNG"))
		strcat(buf, ".png");
}

static int
put_png(struct export *e, const struct dl_tensor *img, const char *id)
{
	struct dl_tensor u;
	char name[256], *path;
	int rc;

	if (e->o.by_id && id)
		id_name(id, name, sizeof name);
	else
		snprintf(name, sizeof name, "%06llu.png", (unsigned long long)e->n);
	if (asprintf(&path, "%s/%s", e->o.out, name) < 0)
		return dl_seterr(DL_ENOMEM, "out of memory");
	if (e->o.normalise) {
		if ((rc = dl_pixels_to_u8(img, 1, &u)) == 0) {
			rc = dl_png_save(path, &u);
			dl_tensor_drop(&u);
		}
	} else {
		rc = dl_png_save(path, img);
	}
	free(path);
	return rc;
}

static int
setup_npy(struct export *e, const struct dl_record *rec)
{
	char *list, *tok, *save = NULL;
	int dflt = !e->o.tensors;

	if (!(list = strdup(dflt ? "x,y" : e->o.tensors)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (e->n_npy == MAX_NPY) {
			free(list);
			return dl_seterr(DL_EUSAGE, "--tensors: at most %d names", MAX_NPY);
		}
		snprintf(e->npy[e->n_npy].name, sizeof e->npy->name, "%s", tok);
		e->npy[e->n_npy].optional = dflt && !strcmp(tok, "y");
		if (e->npy[e->n_npy].optional && !dl_record_find(rec, "y"))
			continue;
		e->n_npy++;
	}
	free(list);
	return 0;
}

static int
put_npy(struct export *e, const struct dl_tensor *t, struct npy_out *o)
{
	char d1[96], d2[96], *path, *p;
	struct dl_tensor prev = { .ndim = o->ndim };
	float *f;
	uint64_t n;
	int rc;

	if (!o->w) {
		o->src_dtype = t->dtype;
		o->dtype = t->dtype == DL_BF16 ? DL_F32 : t->dtype;
		o->ndim = t->ndim;
		memcpy(o->shape, t->shape, sizeof o->shape);
		if (asprintf(&path, "%s-%s.npy", e->o.out, o->name) < 0)
			return dl_seterr(DL_ENOMEM, "out of memory");
		/* Tensor names may hold '/': not a folder here. */
		for (p = path + strlen(e->o.out) + 1; *p; p++)
			if (*p == '/')
				*p = '_';
		o->w = dl_npy_create(path, o->dtype, t->ndim, t->shape);
		free(path);
		if (!o->w)
			return -DL_EIO;
	}
	if (t->dtype != o->src_dtype || t->ndim != o->ndim ||
	    memcmp(t->shape, o->shape, sizeof *o->shape * (size_t)t->ndim)) {
		prev.dtype = o->src_dtype;
		memcpy(prev.shape, o->shape, sizeof prev.shape);
		return dl_seterr(DL_ESHAPE, "sample %llu: %s is %s, earlier samples have %s",
		    (unsigned long long)e->n + 1, o->name, dl_tensor_desc(t, d1, sizeof d1),
		    dl_tensor_desc(&prev, d2, sizeof d2));
	}
	if (t->dtype != DL_BF16)
		return dl_npy_write(o->w, t->data, 1);
	n = dl_tensor_count(t);
	if (!(f = malloc(n * sizeof *f + 1)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	dl_to_f32(t->data, t->dtype, n, f);
	rc = dl_npy_write(o->w, f, 1);
	free(f);
	return rc;
}

/* The i-th sample of t: the tensor itself, or a view of batch row i. */
static void
view(const struct dl_tensor *t, int batched, uint64_t i, struct dl_tensor *v)
{
	*v = *t;
	v->owned = 0;
	if (!batched)
		return;
	v->ndim = t->ndim - 1;
	memmove(v->shape, t->shape + 1, sizeof *v->shape * (size_t)v->ndim);
	v->nbytes = t->shape[0] ? t->nbytes / t->shape[0] : 0;
	v->data = (char *)t->data + i * v->nbytes;
}

static int
put_sample(struct export *e, const struct dl_record *rec, int batched, uint64_t i)
{
	const struct dl_tensor *img, *ov, *t;
	struct dl_tensor vi, vo;
	int rc;

	if (e->o.fmt == F_NPY) {
		for (int k = 0; k < e->n_npy; k++) {
			if (!(t = dl_record_find(rec, e->npy[k].name)))
				return dl_seterr(DL_EFORMAT, "sample %llu has no tensor '%s'",
				    (unsigned long long)e->n + 1, e->npy[k].name);
			view(t, batched, i, &vi);
			if ((rc = put_npy(e, &vi, &e->npy[k])) < 0)
				return rc;
		}
		return 0;
	}
	if (!(img = dl_record_find(rec, e->o.image)))
		return dl_seterr(DL_EFORMAT, "sample %llu has no image tensor '%s'",
		    (unsigned long long)e->n + 1, e->o.image);
	view(img, batched, i, &vi);
	if (e->o.fmt == F_PNG)
		return put_png(e, &vi, dl_record_get(rec, "id"));
	ov = NULL;
	if (e->o.overlay) {
		if (!(ov = dl_record_find(rec, e->o.overlay)))
			return dl_seterr(DL_EFORMAT, "sample %llu has no overlay tensor '%s'",
			    (unsigned long long)e->n + 1, e->o.overlay);
		view(ov, batched, i, &vo);
		ov = &vo;
	}
	return dl_montage_add(e->m, &vi, ov);
}

static int
run(struct export *e, struct dl_reader *r)
{
	const struct dl_record *head;
	struct dl_record *rec;
	uint64_t n;
	int rc = 0, batched;

	if (!(head = dl_reader_head(r)))
		return -DL_EFORMAT;
	batched = dl_head_batched(head);
	if (!(rec = dl_record_new(NULL)))
		return -DL_ENOMEM;
	while ((e->o.limit < 0 || (long long)e->n < e->o.limit) &&
	    (rc = dl_reader_next(r, rec)) > 0) {
		if (!dl_record_is(rec, DL_TAG_DATA))
			continue;
		if (e->o.fmt == F_NPY && !e->n_npy && (rc = setup_npy(e, rec)) < 0)
			break;
		n = 1;
		if (batched) {
			const struct dl_tensor *x = dl_record_find(rec, e->o.fmt == F_NPY ?
			    e->npy[0].name : e->o.image);

			n = x && x->ndim > 0 ? x->shape[0] : 0;
			for (int k = 0; k < rec->n_tensors; k++)
				if (rec->tensors[k].ndim < 1 || rec->tensors[k].shape[0] != n) {
					rc = dl_seterr(DL_ESHAPE, "batch record %llu: tensor %s has no "
					    "leading batch dimension of %llu",
					    (unsigned long long)dl_reader_records(r),
					    rec->tensors[k].name, (unsigned long long)n);
					goto out;
				}
		}
		for (uint64_t i = 0; i < n && (e->o.limit < 0 || (long long)e->n < e->o.limit); i++) {
			if ((rc = put_sample(e, rec, batched, i)) < 0)
				goto out;
			e->n++;
		}
		dl_progress_update(&e->prog, e->n, 0, NULL);
	}
	if (rc > 0)
		rc = 0;
out:
	dl_record_free(rec);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct export e = { 0 };
	struct dl_reader *r;
	struct dl_tensor grid;
	int rc;

	dl_setprogname(argv[0]);
	parse_args(argc, argv, &e.o);
	if (!(r = dl_reader_open(e.o.in, NULL)))
		dl_die("%s", dl_errmsg());
	if (e.o.fmt == F_PNG && mkdir(e.o.out, 0777) < 0 && errno != EEXIST)
		dl_die("%s:", e.o.out);
	if (e.o.fmt == F_MONTAGE && !(e.m = dl_montage_new(&e.o.mo)))
		dl_die("%s", dl_errmsg());
	dl_progress_start(&e.prog, "export");
	rc = run(&e, r);
	dl_progress_end(&e.prog);
	dl_reader_close(r);
	if (rc == 0 && !e.n)
		rc = dl_seterr(DL_EFORMAT, "%s: no samples", e.o.in ? e.o.in : "stdin");
	if (rc == 0 && e.o.fmt == F_MONTAGE) {
		if ((rc = dl_montage_render(e.m, &grid)) == 0) {
			rc = dl_png_save(e.o.out, &grid);
			dl_tensor_drop(&grid);
		}
	}
	for (int k = 0; k < e.n_npy; k++) {
		if (!e.npy[k].w)
			continue;
		if (rc < 0)
			dl_npy_abort(e.npy[k].w);
		else
			rc = dl_npy_close(e.npy[k].w);
	}
	dl_montage_free(e.m);
	if (rc < 0)
		dl_fail(rc, NULL);
	if (dl_verbose)
		dl_msg("%llu samples written", (unsigned long long)e.n);
	return 0;
}
