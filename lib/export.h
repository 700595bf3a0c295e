/*
 * export.h - the samples of a tensor stream out to files (lib/export.c):
 * one PNG per sample, a montage of them all, or one NPY array per tensor
 * with the samples stacked.  Batches are unrolled along their leading
 * dimension.  The writers are formats/png.c, montage.c and npy.c; the
 * program is bin/dl-export.c.
 */
#ifndef DL_EXPORT_H
#define DL_EXPORT_H

#include <stdint.h>

#include "formats.h"

struct dl_record;

enum dl_export_format { DL_EXPORT_PNG, DL_EXPORT_MONTAGE, DL_EXPORT_NPY };

struct dl_export_opts {
	int fmt;			/* enum dl_export_format */
	const char *out;		/* png: an existing directory; montage: the PNG
					 * file; npy: the prefix of PREFIX-NAME.npy */
	int by_id;			/* png: name files after the id KV */
	const char *image;		/* png, montage: the image tensor */
	int normalise;			/* png: stretch each image to its own range */
	const char *tensors;		/* npy: names, comma-separated; NULL: x, and y
					 * when the first sample has one */
	const char *overlay;		/* montage: a heat-map tensor over each image */
	struct dl_montage_opts mo;	/* montage */
	const char *label;		/* montage: text under each image, fields
					 * checked by dl_export_set_label; NULL: none */
};

/* Montage flags that are more than a number.  --label FIELDS:
 * comma-separated, each y (the true class), p (the predicted class, the
 * argmax of tensor p, with its probability; red, the image framed, where
 * it is not y) or the name of a key/value of the sample (id, ...).
 * --range each|all|LO:HI: how overlays are scaled to colours.  0, or
 * -DL_EUSAGE with a message. */
int dl_export_set_label(struct dl_export_opts *o, const char *fields);
int dl_export_set_range(struct dl_export_opts *o, const char *s);

struct dl_export;
/* An exporter writing as o says (o and its strings must outlive it).
 * NULL with dl_errmsg(). */
struct dl_export *dl_export_new(const struct dl_export_opts *o);
/* Write the samples of DATA record rec (batched: its rows, every tensor
 * with the same leading dimension; else rec is one sample), at most max
 * of them (< 0: all); recno, the record's number in the stream, is for
 * messages.  The number written, or -DL_E*. */
/* The stream's HEAD: its class names (the classes key/value) name the
 * classes of labels.  0 or -DL_ENOMEM. */
int dl_export_head(struct dl_export *e, const struct dl_record *head);
long long dl_export_record(struct dl_export *e, const struct dl_record *rec, int batched,
    long long max, uint64_t recno);
uint64_t dl_export_count(const struct dl_export *e);	/* samples written */
/* Finish: with rc 0, render and save the montage, or close the NPY files
 * into place; with rc < 0 remove what was begun.  Frees e; returns rc or
 * the first error. */
int dl_export_close(struct dl_export *e, int rc);

#endif
