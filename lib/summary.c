/*
 * summary.c - what a stream or a model holds (dl_summary_*, lib/summary.h):
 * counts, per-tensor dtype, shape and range, the label histogram and a
 * model's layers, gathered record by record and printed as text or JSON.
 * The reading loop is the caller's (bin/dl-info.c).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

#define MAX_LABELS (1 << 20)	/* dense histogram for labels 0..MAX_LABELS-1 */
#define MAX_ODD 4096		/* other label values kept before giving up */

struct tstat {			/* one tensor name over all DATA records */
	char name[DL_MAX_NAME + 1];
	int dtype;		/* -1: differs between records; -2: not seen */
	int ndim;		/* per sample; -1: differs */
	uint64_t shape[DL_MAX_NDIM];
	int varies[DL_MAX_NDIM];	/* 1: this dimension differs */
	double min, max;	/* over every element; NAN: none yet */
	uint64_t nonfinite;	/* NaN and infinities */
	int opt;		/* model: optimizer state (part=opt), not a layer's */
};

struct layer {			/* one row of the model summary */
	char name[DL_MAX_NAME + 1];
	int ndim;		/* output shape; -1: unknown */
	uint64_t shape[DL_MAX_NDIM];
	uint64_t params;
};

/* Names to indices, open addressing: a lookup is O(1), so a record of
 * 65,000 tensors costs what its bytes do. */
struct names {
	int *slot;		/* index + 1; 0: empty */
	int cap;		/* power of 2, over twice the entries */
};

static uint32_t
name_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (uint8_t)*p++) * 16777619u;
	return h;
}

/* The slot of name[0..len) among n entries whose names name_of() gives:
 * where it is, or the empty slot where it would go. */
static int *
names_slot(const struct names *nm, const char *name, size_t len,
    const char *(*name_of)(const void *, int), const void *arg)
{
	uint32_t i = name_hash(name, len) & (nm->cap - 1);

	for (;; i = (i + 1) & (nm->cap - 1)) {
		const char *o;

		if (!nm->slot[i])
			return &nm->slot[i];
		o = name_of(arg, nm->slot[i] - 1);
		if (!strncmp(o, name, len) && !o[len])
			return &nm->slot[i];
	}
}

/* Room for entry n (of n + 1): rehash the n present when the table would
 * be more than half full.  0 or -DL_ENOMEM. */
static int
names_room(struct names *nm, int n, const char *(*name_of)(const void *, int), const void *arg)
{
	struct names g;

	if (2 * (n + 1) < nm->cap)
		return 0;
	g.cap = nm->cap ? 2 * nm->cap : 64;
	if (!(g.slot = calloc(g.cap, sizeof *g.slot)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		const char *s = name_of(arg, i);

		*names_slot(&g, s, strlen(s), name_of, arg) = i + 1;
	}
	free(nm->slot);
	*nm = g;
	return 0;
}

struct dl_summary {
	char *name;		/* input as named; NULL: stdin */
	struct dl_record *head;	/* copy of the first HEAD */
	const char *kind;	/* of head: samples, batches, model, ... */
	int batches, model;	/* strip the batch dim / parameters only */
	uint64_t records, samples, epochs, markers, streams, bytes;
	struct tstat *t;
	int n_t, cap_t;
	uint64_t *hist;		/* counts of labels 0..n_hist-1 */
	int64_t n_hist;
	int64_t (*odd)[2];	/* other labels: value, count; sorted by dl_summary_end */
	int n_odd, labels_off;	/* labels_off: not a class label */
	struct layer *layer;
	int n_layer, cap_layer;
	struct names tnames, lnames;	/* t and layer by name */
};

static int
nomem(void)
{
	return dl_seterr(DL_ENOMEM, "out of memory");
}

/* p with room for n + 1 elements of size bytes, *cap updated; NULL (p
 * untouched) when out of memory. */
static void *
grow(void *p, int *cap, int n, size_t size)
{
	int c = *cap ? 2 * *cap : 16;

	if (n < *cap)
		return p;
	if (!(p = realloc(p, (size_t)c * size)))
		return nomem(), NULL;
	*cap = c;
	return p;
}

struct dl_summary *
dl_summary_new(const char *name, const struct dl_record *head)
{
	struct dl_summary *s;

	if (!(s = calloc(1, sizeof *s)) || (name && !(s->name = strdup(name)))) {
		nomem();
		goto fail;
	}
	if (!(s->head = dl_record_new(NULL)) || dl_record_copy(s->head, head) < 0)
		goto fail;
	s->streams = 1;
	s->kind = dl_record_get(s->head, "kind");
	s->batches = dl_head_batched(s->head);
	s->model = s->kind && (!strcmp(s->kind, "model") || !strcmp(s->kind, "stats"));
	return s;
fail:
	dl_summary_free(s);
	return NULL;
}

void
dl_summary_free(struct dl_summary *s)
{
	if (!s)
		return;
	dl_record_free(s->head);
	free(s->name);
	free(s->t);
	free(s->hist);
	free(s->odd);
	free(s->layer);
	free(s->tnames.slot);
	free(s->lnames.slot);
	free(s);
}

/* ---- gathering ---- */

static const char *
tstat_name(const void *arg, int i)
{
	return ((const struct dl_summary *)arg)->t[i].name;
}

static const char *
layer_name(const void *arg, int i)
{
	return ((const struct dl_summary *)arg)->layer[i].name;
}

static struct tstat *
find_stat(struct dl_summary *s, const char *name, int hint)
{
	struct tstat *st, *t;
	size_t len = strlen(name);
	int *slot;

	if (hint < s->n_t && !strcmp(s->t[hint].name, name))
		return &s->t[hint];
	if (names_room(&s->tnames, s->n_t, tstat_name, s) < 0)
		return NULL;
	if (*(slot = names_slot(&s->tnames, name, len, tstat_name, s)))
		return &s->t[*slot - 1];
	if (!(t = grow(s->t, &s->cap_t, s->n_t, sizeof *s->t)))
		return NULL;
	s->t = t;
	*slot = s->n_t + 1;
	st = &s->t[s->n_t++];
	memset(st, 0, sizeof *st);
	snprintf(st->name, sizeof st->name, "%s", name);
	st->dtype = -2;
	st->min = st->max = NAN;
	return st;
}

/* min/max of all elements; the u8 and f32 loops are the common case. */
static void
range(struct tstat *s, const struct dl_tensor *t)
{
	uint64_t i, n = dl_tensor_count(t), bad = 0;
	double mn = s->min, mx = s->max;

	if (n == 0)
		return;
	if (t->dtype == DL_U8) {
		const uint8_t *p = t->data;
		uint8_t a = 255, b = 0;
		for (i = 0; i < n; i++) {
			a = p[i] < a ? p[i] : a;
			b = p[i] > b ? p[i] : b;
		}
		mn = isnan(mn) || a < mn ? a : mn;
		mx = isnan(mx) || b > mx ? b : mx;
	} else if (t->dtype == DL_F32) {
		const float *p = t->data;
		float a = INFINITY, b = -INFINITY;
		for (i = 0; i < n; i++) {
			a = p[i] < a ? p[i] : a;
			b = p[i] > b ? p[i] : b;
			bad += !isfinite(p[i]);
		}
		if (bad < n) {
			mn = isnan(mn) || a < mn ? a : mn;
			mx = isnan(mx) || b > mx ? b : mx;
		}
	} else {
		for (i = 0; i < n; i++) {
			double v = dl_tensor_get(t, i);
			if (!isfinite(v)) {
				bad++;
				continue;
			}
			mn = isnan(mn) || v < mn ? v : mn;
			mx = isnan(mx) || v > mx ? v : mx;
		}
	}
	s->min = mn;
	s->max = mx;
	s->nonfinite += bad;
}

static int
add_tensor(struct dl_summary *s, const struct dl_tensor *t, int hint, int opt)
{
	struct tstat *st = find_stat(s, t->name, hint);
	int strip = s->batches && t->ndim > 0;
	int nd = t->ndim - strip;

	if (!st)
		return -DL_ENOMEM;
	if (st->dtype == -2) {
		st->opt = opt;
		st->dtype = t->dtype;
		st->ndim = nd;
		memcpy(st->shape, t->shape + strip, nd * sizeof *st->shape);
	}
	if (st->dtype != t->dtype)
		st->dtype = -1;
	if (st->ndim != nd)
		st->ndim = -1;
	for (int d = 0; st->ndim > 0 && d < nd; d++)
		if (st->shape[d] != t->shape[d + strip])
			st->varies[d] = 1;
	range(st, t);
	return 0;
}

static int
count_label(struct dl_summary *s, int64_t v)
{
	int64_t (*odd)[2];
	int i;

	if (v >= 0 && v < MAX_LABELS) {
		if (v >= s->n_hist) {
			int64_t n = s->n_hist ? s->n_hist : 64;
			uint64_t *h;
			while (n <= v)
				n *= 2;
			if (!(h = realloc(s->hist, n * sizeof *s->hist)))
				return nomem();
			s->hist = h;
			memset(s->hist + s->n_hist, 0, (n - s->n_hist) * sizeof *s->hist);
			s->n_hist = n;
		}
		s->hist[v]++;
		return 0;
	}
	for (i = 0; i < s->n_odd; i++)
		if (s->odd[i][0] == v) {
			s->odd[i][1]++;
			return 0;
		}
	if (s->n_odd == MAX_ODD) {
		s->labels_off = 1;
		return 0;
	}
	if (!(odd = realloc(s->odd, (s->n_odd + 1) * sizeof *s->odd)))
		return nomem();
	s->odd = odd;
	s->odd[s->n_odd][0] = v;
	s->odd[s->n_odd++][1] = 1;
	return 0;
}

static int
add_labels(struct dl_summary *s, const struct dl_tensor *y)
{
	uint64_t i, n = dl_tensor_count(y);
	int rc = 0;

	if ((y->dtype >> 4) != 1 && (y->dtype >> 4) != 2) {	/* not an integer */
		s->labels_off = 1;
		return 0;
	}
	if (y->dtype == DL_I32) {
		const int32_t *p = y->data;
		for (i = 0; i < n && !s->labels_off && rc == 0; i++)
			rc = count_label(s, p[i]);
	} else {
		for (i = 0; i < n && !s->labels_off && rc == 0; i++)
			rc = count_label(s, (int64_t)dl_tensor_get(y, i));
	}
	return rc;
}

static int
add_data(struct dl_summary *s, const struct dl_record *rec)
{
	const struct dl_tensor *y;
	const char *part = dl_record_get(rec, "part");
	int opt = s->model && part && !strcmp(part, "opt");
	int rc;

	s->records++;
	if (!s->model)
		s->samples += (uint64_t)dl_record_samples(rec, s->batches);
	for (int i = 0; i < rec->n_tensors; i++)
		if ((rc = add_tensor(s, &rec->tensors[i], i, opt)) < 0)
			return rc;
	if (!s->model && !s->labels_off && (y = dl_record_find(rec, "y")))
		return add_labels(s, y);
	return 0;
}

int
dl_summary_add(struct dl_summary *s, const struct dl_record *rec)
{
	if (dl_record_is(rec, DL_TAG_DATA))
		return add_data(s, rec);
	if (dl_record_is(rec, DL_TAG_HEAD))
		s->streams++;
	else if (dl_record_is(rec, DL_TAG_MARK)) {
		s->markers++;
		s->epochs += rec->marker == DL_MARK_EPOCH;
	}
	return 0;
}

/*
 * The layers of a model from the model loader (lib/model.h): the plan of
 * the network its HEAD describes, its fields checked and its size bounded
 * by the stream's bytes -- shapes and parameter counts, no memory for
 * weights.  0 with s->layer and s->n_layer set; 1 when there is no
 * description or its table cannot be read; 2 when the net cannot be
 * planned (dl_errmsg() says why); -DL_ENOMEM.
 */
static int
net_layers(struct dl_summary *s)
{
	struct dl_layer_info li;
	struct dl_net *net;
	int n;

	if (!dl_record_get(s->head, "net") || !dl_record_get(s->head, "input"))
		return 1;
	if (!(net = dl_model_plan_head(s->head, s->bytes, NULL)))
		return 2;
	n = dl_net_layers(net);
	if (n > 0 && !(s->layer = calloc(n, sizeof *s->layer))) {
		dl_net_free(net);
		return nomem();
	}
	for (int i = 0; i < n; i++) {
		if (dl_net_layer_info(net, i, &li) < 0) {
			dl_net_free(net);
			return 1;
		}
		snprintf(s->layer[i].name, sizeof s->layer[i].name, "%s", li.name);
		s->layer[i].ndim = 3;
		for (int d = 0; d < 3; d++)
			s->layer[i].shape[d] = (uint64_t)li.shape[d];
		s->layer[i].params = (uint64_t)li.params;
	}
	s->n_layer = s->cap_layer = n;
	dl_net_free(net);
	return 0;
}

/* Layers from parameter names, when the net library cannot say. */
static int
layers_from_names(struct dl_summary *s)
{
	for (int i = 0; i < s->n_t; i++) {
		const struct tstat *st = &s->t[i];
		const char *dot = strrchr(st->name, '.');
		size_t len = dot ? (size_t)(dot - st->name) : strlen(st->name);
		struct layer *l;
		uint64_t n = 1;
		int j, *slot;

		if (st->opt)
			continue;
		for (int d = 0; d < st->ndim; d++)
			n *= st->shape[d];
		if (names_room(&s->lnames, s->n_layer, layer_name, s) < 0)
			return -DL_ENOMEM;
		slot = names_slot(&s->lnames, st->name, len, layer_name, s);
		if ((j = *slot - 1) < 0) {
			j = s->n_layer;
			if (!(l = grow(s->layer, &s->cap_layer, s->n_layer, sizeof *s->layer)))
				return -DL_ENOMEM;
			s->layer = l;
			*slot = j + 1;
			memset(&s->layer[j], 0, sizeof s->layer[j]);
			snprintf(s->layer[j].name, sizeof s->layer[j].name, "%.*s", (int)len, st->name);
			s->layer[j].ndim = -1;
			s->n_layer++;
		}
		s->layer[j].params += n;
	}
	return 0;
}

static int
cmp_odd(const void *a, const void *b)
{
	int64_t x = ((const int64_t *)a)[0], y = ((const int64_t *)b)[0];

	return (x > y) - (x < y);
}

int
dl_summary_end(struct dl_summary *s, uint64_t bytes)
{
	int rc, err;

	s->bytes = bytes;
	if (s->n_odd)
		qsort(s->odd, s->n_odd, sizeof *s->odd, cmp_odd);
	if (!s->kind || strcmp(s->kind, "model"))
		return 0;
	if ((rc = net_layers(s)) <= 0)
		return rc;
	if ((err = layers_from_names(s)) < 0)
		return err;
	return rc == 2;		/* dl_errmsg() still says why the net failed */
}

/* ---- output ---- */

void
dl_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else if (v == (double)(int64_t)v && fabs(v) < 1e15)
		fprintf(f, "%lld", (long long)v);
	else
		fprintf(f, "%.9g", v);
}

/* [d0, d1, ...], null for a dimension that varies; null when ndim < 0. */
static void
json_shape(FILE *f, int ndim, const uint64_t *shape, const int *varies)
{
	if (ndim < 0) {
		fputs("null", f);
		return;
	}
	fputc('[', f);
	for (int d = 0; d < ndim; d++) {
		if (varies && varies[d])
			fprintf(f, "%snull", d ? ", " : "");
		else
			fprintf(f, "%s%llu", d ? ", " : "", (unsigned long long)shape[d]);
	}
	fputc(']', f);
}

static int
done(FILE *f)
{
	return ferror(f) ? dl_seterr(DL_EIO, "write:") : 0;
}

/* "name": {dtype, shape, min, max[, nonfinite]} per tensor. */
static void
json_tensors(const struct dl_summary *s, FILE *f)
{
	for (int i = 0; i < s->n_t; i++) {
		const struct tstat *st = &s->t[i];
		fprintf(f, "%s", i ? ", " : "");
		dl_json_str(f, st->name);
		fprintf(f, ": {\"dtype\": ");
		if (st->dtype < 0)
			fputs("null", f);
		else
			dl_json_str(f, dl_dtype_name(st->dtype));
		fprintf(f, ", \"shape\": ");
		json_shape(f, st->ndim, st->shape, st->varies);
		fprintf(f, ", \"min\": ");
		json_num(f, st->min);
		fprintf(f, ", \"max\": ");
		json_num(f, st->max);
		if (st->nonfinite)
			fprintf(f, ", \"nonfinite\": %llu", (unsigned long long)st->nonfinite);
		fputc('}', f);
	}
}

/* "label": count for every label seen. */
static void
json_labels(const struct dl_summary *s, FILE *f)
{
	const char *sep = "";

	if (s->labels_off)
		return;
	for (int64_t v = 0; v < s->n_hist; v++)
		if (s->hist[v]) {
			fprintf(f, "%s\"%lld\": %llu", sep, (long long)v,
			    (unsigned long long)s->hist[v]);
			sep = ", ";
		}
	for (int i = 0; i < s->n_odd; i++, sep = ", ")
		fprintf(f, "%s\"%lld\": %lld", sep, (long long)s->odd[i][0],
		    (long long)s->odd[i][1]);
}

/* A model's layers and parameter count. */
static void
json_layers(const struct dl_summary *s, FILE *f)
{
	uint64_t total = 0;

	fprintf(f, ", \"layers\": [");
	for (int i = 0; i < s->n_layer; i++) {
		const struct layer *l = &s->layer[i];
		fprintf(f, "%s{\"name\": ", i ? ", " : "");
		dl_json_str(f, l->name);
		fprintf(f, ", \"output\": ");
		json_shape(f, l->ndim, l->shape, NULL);
		fprintf(f, ", \"params\": %llu}", (unsigned long long)l->params);
		total += l->params;
	}
	fprintf(f, "], \"params\": %llu", (unsigned long long)total);
}

int
dl_summary_print_json(const struct dl_summary *s, FILE *f)
{
	int i;

	fprintf(f, "{\"file\": ");
	dl_json_str(f, s->name ? s->name : "-");
	fprintf(f, ", \"kind\": ");
	if (s->kind)
		dl_json_str(f, s->kind);
	else
		fputs("null", f);
	fprintf(f, ", \"records\": %llu, \"samples\": %llu, \"epochs\": %llu, \"markers\": %llu"
	    ", \"streams\": %llu, \"bytes\": %llu, \"tensors\": {",
	    (unsigned long long)s->records, (unsigned long long)s->samples,
	    (unsigned long long)s->epochs, (unsigned long long)s->markers,
	    (unsigned long long)s->streams, (unsigned long long)s->bytes);
	json_tensors(s, f);
	fprintf(f, "}, \"labels\": {");
	json_labels(s, f);
	fprintf(f, "}, \"range\": ");
	for (i = 0; i < s->n_t && strcmp(s->t[i].name, "x"); i++)
		;
	if (i < s->n_t && !isnan(s->t[i].min)) {
		fprintf(f, "[");
		json_num(f, s->t[i].min);
		fprintf(f, ", ");
		json_num(f, s->t[i].max);
		fprintf(f, "]");
	} else
		fputs("null", f);
	fprintf(f, ", \"meta\": {");
	for (i = 0; i < s->head->n_kv; i++) {
		fprintf(f, "%s", i ? ", " : "");
		dl_json_str(f, s->head->kv[i].key);
		fprintf(f, ": ");
		dl_json_str(f, s->head->kv[i].val);
	}
	fputc('}', f);
	if (s->kind && !strcmp(s->kind, "model"))
		json_layers(s, f);
	fprintf(f, "}\n");
	return done(f);
}

/* Text for people: names and values are printed through this, never raw. */
static void
safe(FILE *f, const char *s, int width)
{
	for (int n = dl_fputs_esc(s, f); n < width; n++)
		fputc(' ', f);
}

static const char *
shape_text(int ndim, const uint64_t *shape, const int *varies, char *buf, size_t n)
{
	size_t len = 0;

	if (ndim < 0)
		return "(varies)";
	if (ndim == 0)
		return "scalar";
	buf[0] = 0;
	for (int d = 0; d < ndim && len < n; d++) {
		if (varies && varies[d])
			len += snprintf(buf + len, n - len, "%s?", d ? "x" : "");
		else
			len += snprintf(buf + len, n - len, "%s%llu", d ? "x" : "",
			    (unsigned long long)shape[d]);
	}
	return buf;
}

/* The name of class v from the HEAD's comma-separated "classes". */
static void
class_name(const struct dl_summary *s, int64_t v, char *buf, size_t n)
{
	const char *p = dl_record_get(s->head, "classes");

	buf[0] = 0;
	for (int64_t i = 0; p && v >= 0; i++) {
		const char *e = strchr(p, ',');
		if (i == v) {
			snprintf(buf, n, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
			return;
		}
		p = e ? e + 1 : NULL;
	}
}

int
dl_summary_print_text(const struct dl_summary *s, FILE *f)
{
	char buf[256], cls[128];
	int i;

	fprintf(f, "%-9s", "file");
	safe(f, s->name ? s->name : "stdin", 0);
	fprintf(f, "\n%-9s", "kind");
	safe(f, s->kind ? s->kind : "(none)", 0);
	fputc('\n', f);
	fprintf(f, "%-9s%llu data, %llu markers, %llu bytes\n", "records",
	    (unsigned long long)s->records, (unsigned long long)s->markers,
	    (unsigned long long)s->bytes);
	if (!s->model)
		fprintf(f, "%-9s%llu\n", "samples", (unsigned long long)s->samples);
	fprintf(f, "%-9s%llu\n", "epochs", (unsigned long long)s->epochs);
	if (s->n_t) {
		fprintf(f, "%-9s%-16s %-6s %-18s %12s %12s\n", "tensors", "name", "dtype",
		    s->model ? "shape" : "shape/sample", "min", "max");
		for (i = 0; i < s->n_t; i++) {
			const struct tstat *st = &s->t[i];
			fprintf(f, "%-9s", "");
			safe(f, st->name, 16);
			fprintf(f, " %-6s %-18s %12.6g %12.6g",
			    st->dtype < 0 ? "mixed" : dl_dtype_name(st->dtype),
			    shape_text(st->ndim, st->shape, st->varies, buf, sizeof buf),
			    st->min, st->max);
			if (st->nonfinite)
				fprintf(f, "  (%llu not finite)", (unsigned long long)st->nonfinite);
			fputc('\n', f);
		}
	}
	if (!s->labels_off && (s->n_hist || s->n_odd)) {
		fprintf(f, "%-9s%8s %10s  %s\n", "labels", "label", "count", "class");
		for (int64_t v = 0; v < s->n_hist; v++)
			if (s->hist[v]) {
				class_name(s, v, cls, sizeof cls);
				fprintf(f, "%-9s%8lld %10llu  ", "", (long long)v,
				    (unsigned long long)s->hist[v]);
				safe(f, cls, 0);
				fputc('\n', f);
			}
		for (i = 0; i < s->n_odd; i++)
			fprintf(f, "%-9s%8lld %10lld\n", "", (long long)s->odd[i][0],
			    (long long)s->odd[i][1]);
	}
	if (s->n_layer) {
		uint64_t total = 0;
		fprintf(f, "%-9s%-16s %-18s %12s\n", "layers", "name", "output", "params");
		for (i = 0; i < s->n_layer; i++) {
			const struct layer *l = &s->layer[i];
			fprintf(f, "%-9s", "");
			safe(f, l->name, 16);
			fprintf(f, " %-18s %12llu\n", l->ndim < 0 ? "-" :
			    shape_text(l->ndim, l->shape, NULL, buf, sizeof buf),
			    (unsigned long long)l->params);
			total += l->params;
		}
		fprintf(f, "%-9s%-16s %-18s %12llu\n", "", "total", "", (unsigned long long)total);
	}
	for (i = 0; i < s->head->n_kv; i++) {
		fprintf(f, "%-9s", i ? "" : "meta");
		safe(f, s->head->kv[i].key, 16);
		fputc(' ', f);
		safe(f, s->head->kv[i].val, 0);
		fputc('\n', f);
	}
	return done(f);
}
