/*
 * select.c - choosing samples for dl-select: filters, the active-labelling
 * choice by uncertainty (or at random), and label files checked whole
 * before they are merged.  select.h has the rules.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

int
dl_select_by_parse(const char *s)
{
	static const char *const names[] = { "least", "margin", "entropy", "random" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return DL_BY_LEAST + i;
	return -1;
}

int
dl_select_score(int by, const float *p, int k, double *score, int *pred)
{
	double p1 = -1, p2 = -1, h = 0;
	int best = 0;

	for (int i = 0; i < k; i++) {
		double v = p[i];

		if (!isfinite(v) || v < 0 || v > 1)
			return dl_seterr(DL_EFORMAT, "p[%d] = %g is no probability", i, v);
		if (v > p1) {
			p2 = p1, p1 = v, best = i;
		} else if (v > p2)
			p2 = v;
		if (v > 0)
			h -= v * log(v);
	}
	if (k < 2)
		p2 = 0;
	*pred = best;
	*score = by == DL_BY_LEAST ? 1 - p1 : by == DL_BY_MARGIN ? p2 - p1 :
	    by == DL_BY_ENTROPY ? h : 0;
	return 0;
}

struct ranked {
	double s;
	uint64_t i, round;
};

/* descending score, then ascending input index */
static int
cmp_rank(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* ascending round, then the position of the first ranking (in s) */
static int
cmp_round(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->round != y->round)
		return x->round < y->round ? -1 : 1;
	return cmp_rank(a, b);
}

int64_t
dl_select_choose(int by, const double *score, const int *pred, int n_classes, uint64_t n,
                 uint64_t k, int balance, uint64_t seed, uint64_t *chosen)
{
	struct ranked *r = malloc((n ? n : 1) * sizeof *r);
	uint64_t *perm = NULL, *seen = NULL, i;

	if (!r)
		return dl_seterr(DL_ENOMEM, "out of memory");
	if (by == DL_BY_RANDOM) {
		if (!(perm = malloc((n ? n : 1) * sizeof *perm))) {
			free(r);
			return dl_seterr(DL_ENOMEM, "out of memory");
		}
		dl_rng_permutation(perm, n, seed, 0);
		for (i = 0; i < n; i++)	/* rank j: score -j */
			r[i] = (struct ranked){ -(double)i, perm[i], 0 };
		free(perm);
	} else
		for (i = 0; i < n; i++)
			r[i] = (struct ranked){ score[i], i, 0 };
	qsort(r, n, sizeof *r, cmp_rank);
	if (balance) {
		if (!(seen = calloc((size_t)n_classes + 1, sizeof *seen))) {
			free(r);
			return dl_seterr(DL_ENOMEM, "out of memory");
		}
		for (i = 0; i < n; i++) {
			int c = pred[r[i].i];

			r[i].round = seen[c >= 0 && c < n_classes ? c : n_classes]++;
		}
		free(seen);
		qsort(r, n, sizeof *r, cmp_round);
	}
	if (k > n)
		k = n;
	for (i = 0; i < k; i++)
		chosen[i] = r[i].i;
	free(r);
	return (int64_t)k;
}

/* ---- filters ----------------------------------------------------------------- */
int64_t
dl_select_label(const struct dl_record *rec)
{
	const struct dl_tensor *y = dl_record_find(rec, "y");
	double v;

	if (!y || dl_tensor_count(y) != 1 || ((y->dtype >> 4) != 1 && (y->dtype >> 4) != 2))
		return -1;
	v = dl_tensor_get(y, 0);
	return v >= 0 && v < 1e15 ? (int64_t)v : -1;
}

/* Is class c in the comma list? */
static int
in_list(const char *list, int64_t c)
{
	char *end;

	for (const char *s = list; *s; s = *end ? end + 1 : end) {
		long long v = strtoll(s, &end, 10);

		if (v == c)
			return 1;
	}
	return 0;
}

int
dl_select_check_classes(const char *list)
{
	const char *s = list;
	char *end;

	for (;;) {
		if (!isdigit((unsigned char)*s))
			break;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (errno || v > 1000000000)
			break;
		if (!*end)
			return 0;
		if (*end != ',')
			break;
		s = end + 1;
	}
	return dl_seterr(DL_EUSAGE, "'%s': expected class numbers separated by commas", list);
}

/* The top probability and its class: 0, or -DL_EFORMAT without p. */
static int
top(const struct dl_record *rec, uint64_t n, double *prob, int64_t *cls)
{
	const struct dl_tensor *p = dl_record_find(rec, "p");
	uint64_t k;

	if (!p || !(k = dl_tensor_count(p)))
		return dl_seterr(DL_EFORMAT, "sample %llu has no probabilities p (dl-eval --predict "
		    "adds them)", (unsigned long long)n);
	*prob = dl_tensor_get(p, 0), *cls = 0;
	for (uint64_t i = 1; i < k; i++) {
		double v = dl_tensor_get(p, i);

		if (v > *prob)
			*prob = v, *cls = (int64_t)i;
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
dl_select_keep(const struct dl_select_filter *f, const struct dl_record *rec, uint64_t n)
{
	int64_t y = -1, cls = -1;
	double prob = 0;
	int rc;

	if (f->labels || f->mistakes) {
		if ((y = dl_select_label(rec)) < 0)
			return dl_seterr(DL_EFORMAT, "sample %llu has no class label y",
			    (unsigned long long)n);
		if (f->labels && !in_list(f->labels, y))
			return 0;
	}
	if (f->preds || f->mistakes || f->min_prob > 0 || f->max_prob < 1) {
		if ((rc = top(rec, n, &prob, &cls)) < 0)
			return rc;
		if ((f->preds && !in_list(f->preds, cls)) || (f->mistakes && y == cls) ||
		    prob < f->min_prob || prob > f->max_prob)
			return 0;
	}
	if (f->by_id) {
		const char *id = dl_record_get(rec, "id");

		if (!id || !f->n_ids || !bsearch(&id, f->ids, f->n_ids, sizeof *f->ids, cmp_str))
			return 0;
	}
	return 1;
}

static int
add_id(struct dl_select_filter *f, const char *s, size_t len)
{
	char **v;

	if (!len)
		return 0;
	if (!(v = realloc(f->ids, (f->n_ids + 1) * sizeof *v)) ||
	    !(v[f->n_ids] = strndup(s, len))) {
		if (v)
			f->ids = v;
		return dl_seterr(DL_ENOMEM, "out of memory");
	}
	f->ids = v;
	f->n_ids++;
	return 0;
}

int
dl_select_ids_list(struct dl_select_filter *f, const char *list)
{
	const char *s = list, *c;
	int rc;

	f->by_id = 1;

	for (; (c = strchr(s, ',')); s = c + 1)
		if ((rc = add_id(f, s, (size_t)(c - s))) < 0)
			return rc;
	if ((rc = add_id(f, s, strlen(s))) < 0)
		return rc;
	if (f->n_ids)
		qsort(f->ids, f->n_ids, sizeof *f->ids, cmp_str);
	return 0;
}

/* A line without its end of line and trailing blanks. */
static size_t
trim(char *s, size_t len)
{
	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = 0;
	return len;
}

int
dl_select_ids_file(struct dl_select_filter *f, const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	if (!fp)
		return dl_seterr(DL_EIO, "%s: %s", path, strerror(errno));
	f->by_id = 1;
	while (rc == 0 && (len = getline(&line, &cap, fp)) >= 0) {
		if (memchr(line, 0, (size_t)len))
			rc = dl_seterr(DL_EFORMAT, "%s: a NUL byte: not a text file", path);
		else
			rc = add_id(f, line, trim(line, (size_t)len));
	}
	if (!rc && ferror(fp))
		rc = dl_seterr(DL_EIO, "%s: %s", path, strerror(errno));
	free(line);
	fclose(fp);
	if (!rc && f->n_ids)
		qsort(f->ids, f->n_ids, sizeof *f->ids, cmp_str);
	return rc;
}

void
dl_select_filter_free(struct dl_select_filter *f)
{
	for (uint64_t i = 0; i < f->n_ids; i++)
		free(f->ids[i]);
	free(f->ids);
	f->ids = NULL;
	f->n_ids = 0;
}

/* ---- label files -------------------------------------------------------------- */
static void
badf(dl_bad_line_fn *bad, void *arg, long line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	bad(arg, line, msg);
}

/* by id, then by line */
static int
cmp_label(const void *a, const void *b)
{
	const struct dl_label *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

#define MAX_ID 1024

/* One line (trimmed, not blank): 1 and *out filled, 0 bad (named). */
static int
parse_line(char *s, size_t len, const char *path, long ln, int64_t n_classes,
           struct dl_label *out, dl_bad_line_fn *bad, void *arg)
{
	size_t i = len, j;
	long long v;
	char *end;

	if (memchr(s, 0, len))
		return badf(bad, arg, ln, "%s:%ld: a NUL byte (not a text line)", path, ln), 0;
	while (i && !isspace((unsigned char)s[i - 1]))
		i--;
	for (j = i; j && isspace((unsigned char)s[j - 1]); j--)
		;
	if (!i || !j)
		return badf(bad, arg, ln, "%s:%ld: malformed: expected ID LABEL, got '%s'",
		    path, ln, dl_esc(s)), 0;
	if (j > MAX_ID)
		return badf(bad, arg, ln, "%s:%ld: an id longer than %d bytes", path, ln, MAX_ID), 0;
	errno = 0;
	v = strtoll(s + i, &end, 10);
	if (*end || !isdigit((unsigned char)s[i + (s[i] == '-' || s[i] == '+')]) || errno)
		return badf(bad, arg, ln, "%s:%ld: malformed: label '%s' is not an integer",
		    path, ln, dl_esc(s + i)), 0;
	if (v < 0 || v >= n_classes)
		return badf(bad, arg, ln, "%s:%ld: label %lld out of range 0..%lld", path, ln, v,
		    (long long)n_classes - 1), 0;
	if (!(out->id = strndup(s, j)))
		return -DL_ENOMEM;
	out->label = v, out->line = ln, out->sample = -1;
	return 1;
}

long
dl_labels_read(struct dl_labels *l, const char *path, int64_t n_classes,
               dl_bad_line_fn *bad, void *arg)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, room = 0, len;
	ssize_t got;
	long ln = 0, n_bad = 0;
	int rc = 0;

	memset(l, 0, sizeof *l);
	if (!fp)
		return dl_seterr(DL_EIO, "%s: %s", path, strerror(errno));
	while ((got = getline(&line, &cap, fp)) >= 0) {
		char *s = line;

		ln++;
		len = trim(line, (size_t)got);
		while (len && isspace((unsigned char)*s))
			s++, len--;
		if (!len || *s == '#')
			continue;
		if (l->n == room) {
			struct dl_label *v = realloc(l->v, (room = room ? 2 * room : 256) * sizeof *v);

			if (!v) {
				rc = dl_seterr(DL_ENOMEM, "out of memory");
				break;
			}
			l->v = v;
		}
		if ((rc = parse_line(s, len, path, ln, n_classes, &l->v[l->n], bad, arg)) < 0) {
			rc = dl_seterr(DL_ENOMEM, "out of memory");
			break;
		}
		l->n += rc;
		n_bad += !rc;
		rc = 0;
	}
	if (!rc && ferror(fp))
		rc = dl_seterr(DL_EIO, "%s: %s", path, strerror(errno));
	free(line);
	fclose(fp);
	if (rc < 0)
		return rc;
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_label);
	for (uint64_t i = 1; i < l->n; i++)
		if (!strcmp(l->v[i].id, l->v[i - 1].id)) {
			uint64_t first = i - 1;

			while (first && !strcmp(l->v[first - 1].id, l->v[i].id))
				first--;
			badf(bad, arg, l->v[i].line, "%s:%ld: id '%s' given again (first on line "
			    "%ld)", path, l->v[i].line, dl_esc(l->v[i].id), l->v[first].line);
			n_bad++;
		}
	return n_bad;
}

static int
find_label(const struct dl_labels *l, const char *id)
{
	uint64_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->v[mid].id, id);

		if (!c) {
			while (mid && !strcmp(l->v[mid - 1].id, id))
				mid--;
			return (int)mid;	/* callers index ints: see dl_labels_match */
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

long
dl_labels_match(struct dl_labels *l, const char *path, const char *const *ids, uint64_t n,
                dl_bad_line_fn *bad, void *arg)
{
	long n_bad = 0;

	if (l->n > (uint64_t)INT32_MAX)
		return dl_seterr(DL_EFORMAT, "%s: too many lines", path);
	for (uint64_t i = 0; i < n; i++) {
		int j;

		if (!ids[i] || (j = find_label(l, ids[i])) < 0)
			continue;
		if (l->v[j].sample >= 0)
			return dl_seterr(DL_EFORMAT, "samples %lld and %llu both have id '%s' "
			    "(line %ld of %s): ambiguous", (long long)l->v[j].sample + 1,
			    (unsigned long long)i + 1, dl_esc(ids[i]), l->v[j].line, path);
		l->v[j].sample = (int64_t)i;
	}
	for (uint64_t j = 0; j < l->n; j++)
		if (l->v[j].sample < 0 && (!j || strcmp(l->v[j].id, l->v[j - 1].id))) {
			badf(bad, arg, l->v[j].line, "%s:%ld: unknown id '%s' (no sample has it)",
			    path, l->v[j].line, dl_esc(l->v[j].id));
			n_bad++;
		}
	return n_bad;
}

int
dl_label_set(struct dl_record *rec, int64_t label)
{
	const struct dl_tensor *y = dl_record_find(rec, "y");
	int dtype = DL_I32;
	struct dl_tensor *t;

	if (y && dl_tensor_count(y) == 1 && ((y->dtype >> 4) == 1 || (y->dtype >> 4) == 2))
		dtype = y->dtype;
	if (dtype == DL_U8 && label > 255)
		dtype = DL_I32;
	if (y)
		dl_record_remove(rec, "y");
	if (!(t = dl_record_add(rec, "y", dtype, 0, NULL)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	dl_tensor_set(t, 0, (double)label);
	return 0;
}

void
dl_labels_free(struct dl_labels *l)
{
	for (uint64_t i = 0; i < l->n; i++)
		free(l->v[i].id);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* ---- over held records (dl-select -k, --relabel) ------------------------------- */
static int dl_select_relabel_held(const char *path, long classes, const struct dl_record *head,
                                  struct dl_record_list *l, dl_bad_line_fn *bad, void *arg);

int64_t
dl_select_records(const struct dl_record_list *l, uint64_t *idx, uint64_t m, int by, uint64_t k,
                  int balance, uint64_t seed)
{
	double *score = malloc((m ? m : 1) * sizeof *score);
	int *pred = malloc((m ? m : 1) * sizeof *pred);
	uint64_t *chosen = malloc((m ? m : 1) * sizeof *chosen), *orig = NULL;
	int64_t got = -DL_ENOMEM, k_p = -1;
	int need_p = by != DL_BY_RANDOM || balance;

	if (!score || !pred || !chosen || !(orig = malloc((m ? m : 1) * sizeof *orig)))
		goto out;
	for (uint64_t j = 0; j < m; j++) {
		const struct dl_tensor *p = dl_record_find(l->rec[idx[j]], "p");
		const char *id = dl_record_get(l->rec[idx[j]], "id");

		orig[j] = idx[j];
		score[j] = 0, pred[j] = 0;
		if (!need_p)
			continue;
		got = -DL_EFORMAT;
		if (!p || p->dtype != DL_F32 || p->ndim != 1 || p->shape[0] < 2) {
			dl_seterr(DL_EFORMAT, "sample %llu%s%s: %s", (unsigned long long)idx[j] + 1,
			    id ? " id " : "", id ? dl_esc(id) : "", p ? "p is not a vector of f32 "
			    "probabilities" : "no probabilities p (dl-eval --predict adds them)");
			goto out;
		}
		if (k_p >= 0 && (int64_t)p->shape[0] != k_p) {
			dl_seterr(DL_EFORMAT, "sample %llu: p has %llu classes, earlier samples %lld",
			    (unsigned long long)idx[j] + 1, (unsigned long long)p->shape[0],
			    (long long)k_p);
			goto out;
		}
		k_p = (int64_t)p->shape[0];
		if (k_p > 1 << 20 || dl_select_score(by, p->data, (int)k_p, &score[j], &pred[j]) < 0) {
			dl_errprefix("sample %llu", (unsigned long long)idx[j] + 1);
			goto out;
		}
	}
	if ((got = dl_select_choose(by, score, pred, k_p > 0 ? (int)k_p : 1, m, k, balance, seed,
	    chosen)) >= 0)
		for (int64_t j = 0; j < got; j++)
			idx[j] = orig[chosen[j]];
out:
	if (got == -DL_ENOMEM)
		dl_seterr(DL_ENOMEM, "out of memory");
	free(score);
	free(pred);
	free(chosen);
	free(orig);
	return got;
}

int64_t
dl_select_pick(const struct dl_select_filter *f, const struct dl_record_list *l, int64_t k,
               int by, int balance, uint64_t seed, uint64_t *idx)
{
	uint64_t m = 0;
	int rc;

	for (uint64_t i = 0; i < l->n; i++) {
		if ((rc = dl_select_keep(f, l->rec[i], i + 1)) < 0)
			return rc;
		if (rc)
			idx[m++] = i;
	}
	return k < 0 ? (int64_t)m : dl_select_records(l, idx, m, by, (uint64_t)k, balance, seed);
}

/* The number of classes: --classes N, else the stream's names, else p's size. */
static int64_t
class_count(long classes, const struct dl_record *head, const struct dl_record_list *l)
{
	const char *names = head ? dl_record_get(head, "classes") : NULL;
	int64_t n = 1;

	if (classes > 0)
		return classes;
	if (names) {
		for (const char *c = names; *c; c++)
			n += *c == ',';
		return n;
	}
	for (uint64_t i = 0; i < l->n; i++) {
		const struct dl_tensor *p = dl_record_find(l->rec[i], "p");

		if (p)
			return (int64_t)dl_tensor_count(p);
	}
	return dl_seterr(DL_EUSAGE, "how many classes? The stream names none and has no p: "
	    "give --classes N");
}

/* The bad lines, held to be reported in the order of the file. */
struct bad_lines {
	struct bad_line { long line, seq; char *msg; } *v;
	size_t n, cap;
	int nomem;
};

static void
hold_bad(void *arg, long line, const char *msg)
{
	struct bad_lines *b = arg;

	if (b->n == b->cap) {
		struct bad_line *v = realloc(b->v, (b->cap = b->cap ? 2 * b->cap : 64) * sizeof *v);

		if (!v) {
			b->nomem = 1;
			return;
		}
		b->v = v;
	}
	if (!(b->v[b->n].msg = strdup(msg))) {
		b->nomem = 1;
		return;
	}
	b->v[b->n].line = line, b->v[b->n].seq = (long)b->n;
	b->n++;
}

static int
cmp_bad(const void *a, const void *b)
{
	const struct bad_line *x = a, *y = b;

	return x->line != y->line ? (x->line > y->line) - (x->line < y->line)
	    : (x->seq > y->seq) - (x->seq < y->seq);
}

int
dl_select_relabel(const char *path, long classes, const struct dl_record *head,
                  struct dl_record_list *l, dl_bad_line_fn *bad, void *arg)
{
	struct bad_lines held = { 0 };
	int rc = dl_select_relabel_held(path, classes, head, l, hold_bad, &held);

	if (held.n)
		qsort(held.v, held.n, sizeof *held.v, cmp_bad);
	for (size_t i = 0; i < held.n; i++) {
		bad(arg, held.v[i].line, held.v[i].msg);
		free(held.v[i].msg);
	}
	free(held.v);
	if (held.nomem && rc == 0)
		rc = dl_seterr(DL_ENOMEM, "out of memory");
	return rc;
}

static int
dl_select_relabel_held(const char *path, long classes, const struct dl_record *head,
                       struct dl_record_list *l, dl_bad_line_fn *bad, void *arg)
{
	struct dl_labels lab;
	const char **ids;
	int64_t n_classes = class_count(classes, head, l);
	long n_bad, n_unknown;
	int rc = 0;

	if (n_classes < 0)
		return (int)n_classes;
	if ((n_bad = dl_labels_read(&lab, path, n_classes, bad, arg)) < 0)
		return (int)n_bad;
	if (!(ids = malloc((l->n ? l->n : 1) * sizeof *ids))) {
		dl_labels_free(&lab);
		return dl_seterr(DL_ENOMEM, "out of memory");
	}
	for (uint64_t i = 0; i < l->n; i++)
		ids[i] = dl_record_get(l->rec[i], "id");
	n_unknown = dl_labels_match(&lab, path, ids, l->n, bad, arg);
	free(ids);
	if (n_unknown < 0)
		rc = (int)n_unknown;
	else if (n_bad + n_unknown > 0)
		rc = dl_seterr(DL_EFORMAT, "%s: %ld bad line%s: nothing merged", path,
		    n_bad + n_unknown, n_bad + n_unknown > 1 ? "s" : "");
	for (uint64_t j = 0; !rc && j < lab.n; j++)
		rc = dl_label_set(l->rec[lab.v[j].sample], lab.v[j].label);
	dl_labels_free(&lab);
	return rc;
}
