/*
 * select.h - choosing samples (dl-select, lib/select.c): the filters (by
 * label, prediction, mistake, top probability, id), the active-labelling
 * choice of K samples from the probabilities p that dl-eval --predict
 * adds (least confidence, margin, entropy, random; optionally balanced by
 * predicted class), and the label file a person writes (ID LABEL lines),
 * validated whole before anything is merged.
 */
#ifndef DL_SELECT_H
#define DL_SELECT_H

#include <stdint.h>

#include "dls.h"

enum dl_select_by { DL_BY_NONE, DL_BY_LEAST, DL_BY_MARGIN, DL_BY_ENTROPY, DL_BY_RANDOM };

/* "least", "margin", "entropy", "random" -> DL_BY_*; -1: unknown. */
int dl_select_by_parse(const char *s);

/* The uncertainty of probabilities p[k] by criterion by (higher: chosen
 * first): least confidence 1 - max p, margin p2 - p1 (the second largest
 * minus the largest, so the smallest margin ranks first), entropy
 * -sum p log p (natural log, 0 log 0 = 0).  *pred gets argmax p (the
 * lowest class among equals).  0, or -DL_EFORMAT when p holds a value
 * that is not finite or lies outside [0, 1]. */
int dl_select_score(int by, const float *p, int k, double *score, int *pred);

/* Choose k of n samples: by a criterion, the n scores in descending
 * order, equal scores in input order; by DL_BY_RANDOM, the order of
 * dl_rng_permutation(seed, 0) (score unused).  With balance, by predicted
 * class pred[i] (0 <= pred < n_classes): in rounds, each round the next
 * sample of every class that has one left, the round in the order above.
 * chosen[] gets min(k, n) indices, in the order chosen; returns how many,
 * or -DL_ENOMEM. */
int64_t dl_select_choose(int by, const double *score, const int *pred, int n_classes,
                         uint64_t n, uint64_t k, int balance, uint64_t seed, uint64_t *chosen);

/* ---- filters ----------------------------------------------------------------- */
struct dl_select_filter {
	const char *labels, *preds;	/* "3,5": y / argmax p in the list; NULL: any */
	int mistakes;			/* 1: y != argmax p */
	double min_prob, max_prob;	/* the top probability in [min, max] */
	char **ids;			/* sorted, n_ids of them ... */
	uint64_t n_ids;
	int by_id;			/* ... 1: the id must be one of them */
};
/* 1 when the sample rec passes every filter, 0 when not, -DL_EFORMAT when
 * a filter needs y or p and rec lacks it (the message names sample n). */
int dl_select_keep(const struct dl_select_filter *f, const struct dl_record *rec, uint64_t n);
/* Add the ids of a comma list or of a file (one a line) to f->ids, then
 * sorted.  0 or -DL_E*. */
int dl_select_ids_list(struct dl_select_filter *f, const char *list);
int dl_select_ids_file(struct dl_select_filter *f, const char *path);
void dl_select_filter_free(struct dl_select_filter *f);
/* A comma list of class numbers ("3,5"): 0, or -DL_EUSAGE naming it. */
int dl_select_check_classes(const char *list);

/* The class of a sample: an integer scalar y (or y[1]), else -1. */
int64_t dl_select_label(const struct dl_record *rec);

/* ---- label files --------------------------------------------------------------
 * A text file of "ID LABEL" lines: the label is the line's last field
 * (blanks or tabs before it), the id everything before, so an id may hold
 * spaces; blank lines and lines starting with # are skipped.  Every bad
 * line is handed to bad(arg, message) ("labels.txt:7: ..."): a malformed
 * line, a label that is no integer or lies outside 0..n_classes-1, an id
 * given twice (naming the first line), and, against the samples, an id no
 * sample has.  The count of bad lines is returned; 0 means every line is
 * valid and applies. */
struct dl_labels {
	struct dl_label *v;	/* sorted by id */
	uint64_t n;
};
struct dl_label {
	char *id;
	int64_t label;
	long line;
	int64_t sample;		/* index of the sample with this id; -1: none */
};
typedef void dl_bad_line_fn(void *arg, long line, const char *msg);
/* Read and check path (every line); returns the count of bad lines, or
 * -DL_E* when the file cannot be read. */
long dl_labels_read(struct dl_labels *l, const char *path, int64_t n_classes,
                    dl_bad_line_fn *bad, void *arg);
/* Match the labels with the samples (ids[i] of sample i, n of them; NULL
 * entries have no id): returns the count of ids that no sample has (each
 * named through bad), or -DL_EFORMAT when two samples share an id that
 * the file names, or -DL_ENOMEM. */
long dl_labels_match(struct dl_labels *l, const char *path, const char *const *ids, uint64_t n,
                     dl_bad_line_fn *bad, void *arg);
/* Set y of rec to label: the dtype of its integer y when it has one, else
 * i32, a scalar.  0 or -DL_E*. */
int dl_label_set(struct dl_record *rec, int64_t label);
void dl_labels_free(struct dl_labels *l);

/* ---- over held records (dl-select) ------------------------------------------------
 * Choose k of the m records l->rec[idx[j]] by the p each holds (not needed
 * by random without balance): idx[] then starts with the chosen, in the
 * order chosen; returns how many, or -DL_E* (a sample without p, p of
 * another size, a value that is no probability). */
int64_t dl_select_records(const struct dl_record_list *l, uint64_t *idx, uint64_t m, int by,
                          uint64_t k, int balance, uint64_t seed);
/* The samples of l that pass f, in input order, into idx[] (room for
 * l->n); with k >= 0, then the k of them chosen by dl_select_records(),
 * in the order chosen.  Returns how many, or -DL_E*. */
int64_t dl_select_pick(const struct dl_select_filter *f, const struct dl_record_list *l, int64_t k,
                       int by, int balance, uint64_t seed, uint64_t *idx);
/* Set y of the records from the label file at path, labels 0..N-1 with N
 * from classes (> 0), else head's class names, else the size of p: every
 * bad line is handed to bad, in the order of the file, and then nothing is
 * changed and -DL_EFORMAT returned.  0 or -DL_E*. */
int dl_select_relabel(const char *path, long classes, const struct dl_record *head,
                      struct dl_record_list *l, dl_bad_line_fn *bad, void *arg);

#endif
