/*
 * dl-import: IDX, PNG/JPEG, folders or archives of images, NPY into a stream
 * of samples (HEAD, a DATA record per sample: x, y, KV id; ENDS), through
 * formats/idx.c, npy.c, png.c, jpeg.c, archive.c, lib/import.c and resize.c
 * (the table in main()); an ONNX network into a model: lib/kit/onnx-cmd.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-import idx IMAGES [LABELS]\n"
    "       dl-import png|jpeg FILE...\n"
    "       dl-import folder DIR|ARCHIVE\n"
    "       dl-import npy X.npy [Y.npy]\n"
    "       dl-import onnx MODEL.onnx [-o FILE] [--input-scale S] (dl-import onnx -h)\n"
    "       options: [--grey|--rgb] [--resize HxW [--pad]] [--limit N] [--classes A,B,...]\n"
    "                [--keep-16] [-o FILE] [--zstd[=LEVEL]] [-qv]\n"
    "Turn images and arrays into a tensor stream of samples (x, y).\n"
    "  idx      IDX files (MNIST, Fashion-MNIST), plain or gzip/xz/zstd compressed\n"
    "  png, jpeg  image files, one sample each (no label); PNG or JPEG by content\n"
    "  folder   DIR/CLASS/NAME.png|jpg, or the same in a .tar(.gz/.xz/.zst) or .zip:\n"
    "           y is the class index, classes sorted by name\n"
    "  npy      NumPy arrays X[N,...] and Y[N] or Y[N,...]\n"
    "      --grey, --gray    convert images to one channel (BT.601 luma)\n"
    "      --rgb             convert images to three channels\n"
    "      --resize HxW      images to H rows, W columns: area when shrinking, bilinear\n"
    "                        when growing; the centre is cropped to keep the aspect\n"
    "      --pad             with --resize: fit the whole image, pad the sides black\n"
    "      --limit N         stop after N samples\n"
    "      --classes A,B,..  class names for the stream (e.g. Fashion-MNIST's)\n"
    "      --keep-16         keep 16-bit PNG samples as u16 (default: scale to u8)\n"
    "  -o, --output FILE     write FILE atomically instead of stdout\n"
    "      --zstd[=LEVEL]    compress the output with zstd (level 1-19, default 3)\n"
    "  -q, --quiet           no messages; -v, --verbose: progress even off a terminal\n"
    "  -h, --help            this text; -V, --version: the version\n";

struct opts {
	const char *format;	/* a name of the table in main() */
	char **args;		/* its operands */
	int n_args;
	int channels;		/* 0 keep, 1 grey, 3 RGB */
	int png_flags;		/* DL_PNG_KEEP16 */
	int rh, rw, rflags;	/* --resize HxW (0: none), DL_RESIZE_PAD */
	long long limit;	/* samples; -1: all */
	const char *classes;	/* --classes */
	struct dl_io_opts io;	/* -o, --zstd (no stream is read) */
};

struct import {
	struct opts o;
	struct dl_writer *w;
	struct dl_record *rec;
	struct dl_progress prog;
	long long n;		/* samples written */
	int n_classes;		/* from --classes or the folder; 0: unknown */
	long long samples;	/* for the HEAD, when known; 0: unknown */
};

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "grey", no_argument, NULL, 'g' },
		{ "gray", no_argument, NULL, 'g' },
		{ "rgb", no_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'n' },
		{ "classes", required_argument, NULL, 'C' },
		{ "keep-16", no_argument, NULL, 'K' },
		{ "resize", required_argument, NULL, 'R' },
		{ "pad", no_argument, NULL, 'P' },
		DL_OUT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int c;

	*o = (struct opts){ .limit = -1 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, DL_IO_SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'g': o->channels = 1; break;
		case 'r': o->channels = 3; break;
		case 'n': o->limit = dl_arg_long(optarg, "--limit", 0, 1L << 62); break;
		case 'C': o->classes = optarg; break;
		case 'K': o->png_flags |= DL_PNG_KEEP16; break;
		case 'R':
			if (dl_resize_parse(optarg, &o->rh, &o->rw) < 0)
				dl_usage_die("--resize: '%s' is not HxW (e.g. 28x28)", optarg);
			break;
		case 'P': o->rflags |= DL_RESIZE_PAD; break;
		default: dl_opt_common(c, argv, &o->io, usage_text);
		}
	}
	if (optind == argc)
		dl_usage_die("no format given (idx, png, jpeg, folder or npy)");
	o->format = argv[optind];
	o->args = argv + optind + 1;
	o->n_args = argc - optind - 1;
	if (o->classes && !*o->classes)
		dl_usage_die("--classes: empty list");
	if (o->rflags && !o->rh)
		dl_usage_die("--pad is for --resize");
}

/* Start the output: HEAD with kind, source and the class names. */
static void
start(struct import *im, const char *classes)
{
	char source[1024];
	size_t len = 0;
	int rc;

	len += (size_t)snprintf(source, sizeof source, "%s", im->o.format);
	for (int i = 0; i < im->o.n_args && len < sizeof source; i++)
		len += (size_t)snprintf(source + len, sizeof source - len, " %s", im->o.args[i]);
	if (!(im->w = dl_writer_open(im->o.io.out, &im->o.io.wo)))
		dl_die("%s", dl_errmsg());
	if (!(im->rec = dl_record_new(DL_TAG_HEAD)))
		dl_writer_die(im->w, -DL_ENOMEM);
	if ((rc = dl_record_set(im->rec, "kind", "samples")) < 0 ||
	    (rc = dl_record_set(im->rec, "source", source)) < 0 ||
	    (classes && (rc = dl_record_set(im->rec, "classes", classes)) < 0) ||
	    (rc = dl_head_set_counts(im->rec, im->samples ? im->samples : -1, 0)) < 0 ||
	    (rc = dl_writer_head(im->w, im->rec)) < 0)
		dl_writer_die(im->w, rc);
	dl_progress_start(&im->prog, "import");
}

static int
more(const struct import *im)
{
	return im->o.limit < 0 || im->n < im->o.limit;
}

static void
put(struct import *im, uint64_t total)
{
	int rc;

	if ((rc = dl_writer_put(im->w, im->rec)) < 0)
		dl_writer_die(im->w, rc);
	im->n++;
	dl_progress_update(&im->prog, (uint64_t)im->n, total, NULL);
}

static void
finish(struct import *im)
{
	int rc;

	dl_progress_end(&im->prog);
	if ((rc = dl_writer_close(im->w)) < 0)
		dl_fail(rc, "write");
	dl_record_free(im->rec);
}

/* idx and npy: items of X (and Y) in step. */
static void
import_arrays(struct import *im, int is_idx)
{
	struct dl_array_in *xa, *ya = NULL;
	const struct dl_array_info *xi, *yi = NULL;
	const char *xf = im->o.args[0], *yf = im->o.n_args > 1 ? im->o.args[1] : NULL;
	const void *xp, *yp = NULL;
	uint64_t shape[DL_MAX_NDIM];
	int ndim, rc = 0, ry;

	if (!(xa = is_idx ? dl_idx_open(xf) : dl_npy_open(xf)))
		dl_die("%s", dl_errmsg());
	xi = dl_array_info(xa);
	if (yf) {
		if (!(ya = is_idx ? dl_idx_open(yf) : dl_npy_open(yf)))
			dl_die("%s", dl_errmsg());
		yi = dl_array_info(ya);
	}
	if ((rc = dl_import_check_arrays(xi, xf, yi, yf, is_idx)) < 0)
		rc == -DL_EUSAGE ? dl_usage_die("%s", dl_errmsg()) : dl_die("%s", dl_errmsg());
	/* [N,H,W] is a stack of grey images: x[H,W,1]. */
	ndim = xi->ndim - 1;
	memcpy(shape, xi->shape + 1, sizeof *shape * (size_t)ndim);
	if (xi->ndim == 3)
		shape[ndim++] = 1;
	im->samples = dl_head_samples_cut((long long)xi->shape[0], 0, 0, im->o.limit);
	start(im, im->o.classes);
	while (more(im) && (rc = dl_array_next(xa, &xp)) > 0) {
		if (ya && (ry = dl_array_next(ya, &yp)) <= 0)
			dl_writer_die(im->w, ry < 0 ? ry : dl_seterr(DL_EFORMAT, "%s: ended early", yf));
		dl_record_clear(im->rec, DL_TAG_DATA);
		if ((rc = dl_import_x(im->rec, xp, xi->dtype, ndim, shape, im->o.channels)) < 0) {
			dl_errprefix("%s", xf);
			dl_writer_die(im->w, rc);
		}
		if (ya && (rc = dl_import_y(im->rec, yp, yi->dtype, yi->ndim - 1, yi->shape + 1,
		    im->n_classes, yf, im->n + 1)) < 0)
			dl_writer_die(im->w, rc);
		if ((rc = dl_record_setf(im->rec, "id", "%lld", (long long)im->n + 1)) < 0)
			dl_writer_die(im->w, rc);
		put(im, xi->shape[0]);
	}
	if (more(im)) {
		if (rc < 0)
			dl_writer_die(im->w, rc);
		if (ya && (rc = dl_array_next(ya, &yp)) < 0)	/* trailing bytes */
			dl_writer_die(im->w, rc);
	}
	dl_array_close(xa);
	dl_array_close(ya);
	finish(im);
}

static void
import_images(struct import *im, int unused)
{
	struct dl_tensor t;
	int rc;

	start(im, im->o.classes);
	for (int i = 0; i < im->o.n_args && more(im); i++) {
		if ((rc = dl_image_load(im->o.args[i], im->o.channels, im->o.png_flags, &t)) < 0)
			dl_writer_die(im->w, rc);
		if ((rc = dl_import_image(im->rec, &t, -1, im->o.args[i], im->o.rh, im->o.rw,
		    im->o.rflags)) < 0)
			dl_writer_die(im->w, rc);
		put(im, (uint64_t)im->o.n_args);
		dl_tensor_drop(&t);
	}
	finish(im);
}

static void
import_folder(struct import *im, int unused)
{
	struct dl_folder *f;
	struct dl_tensor t;
	const char *id;
	char *classes;
	int32_t y;
	int rc = 0;

	if (!(f = dl_folder_open(im->o.args[0], im->o.channels, im->o.png_flags)) ||
	    !(classes = dl_folder_classes(f)))
		dl_die("%s", dl_errmsg());
	if (im->o.classes)
		dl_warn("--classes ignored: the folder names the classes");
	start(im, classes);
	while (more(im) && (rc = dl_folder_next(f, &t, &y, &id)) > 0) {
		if ((rc = dl_import_image(im->rec, &t, y, id, im->o.rh, im->o.rw, im->o.rflags)) < 0)
			dl_writer_die(im->w, rc);
		put(im, dl_folder_count(f));
		dl_tensor_drop(&t);
	}
	if (more(im) && rc < 0)
		dl_writer_die(im->w, rc);
	dl_folder_close(f);
	free(classes);
	finish(im);
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char *name;
		int lo, hi;	/* operands */
		void (*run)(struct import *, int);
		int arg;
	} formats[] = {
		{ "idx", 1, 2, import_arrays, 1 },
		{ "npy", 1, 2, import_arrays, 0 },
		{ "png", 1, 1 << 30, import_images, 0 },
		{ "jpeg", 1, 1 << 30, import_images, 0 },
		{ "folder", 1, 1, import_folder, 0 },
	};
	struct import im = { 0 };

	dl_setprogname(argv[0]);
	if (argc > 1 && !strcmp(argv[1], "onnx"))
		return dl_onnx_import_cmd(argc - 1, argv + 1);
	parse_args(argc, argv, &im.o);
	if (im.o.classes)
		im.n_classes = dl_classes_count(im.o.classes);
	for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
		if (strcmp(im.o.format, formats[i].name))
			continue;
		if (im.o.n_args < formats[i].lo)
			dl_usage_die("%s: missing file operand", im.o.format);
		if (im.o.n_args > formats[i].hi)
			dl_usage_die("%s: unexpected operand '%s'", im.o.format,
			    im.o.args[formats[i].hi]);
		if (im.o.rh && formats[i].run != import_images && formats[i].run != import_folder)
			dl_usage_die("--resize is for images (png, jpeg, folder)");
		formats[i].run(&im, formats[i].arg);
		return 0;
	}
	dl_usage_die("unknown format '%s' (idx, png, jpeg, folder or npy)", im.o.format);
}
