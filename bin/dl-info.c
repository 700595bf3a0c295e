/*
 * dl-info: what a stream or a model holds: counts, tensors (dtype, shape
 * per sample, value range), the label histogram, the stream metadata and,
 * for a model, its layers.  Aligned text for people, --json for scripts.
 * Nothing is printed unless every input was read to its end.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"

static const char usage_text[] =
    "usage: dl-info [--json] [--no-verify] [-q] [FILE...]\n"
    "Describe tensor streams and models (stdin when no FILE or FILE is -).\n"
    "  -j, --json         one JSON object per input on stdout\n"
    "      --no-verify    do not check payload checksums\n"
    "      --max-record B largest record accepted, in bytes (default 1 GiB)\n"
    "  -h, --help         this text; -V, --version: the version\n";

#define MAX_LABELS (1 << 20)	/* dense histogram for labels 0..MAX_LABELS-1 */
#define MAX_ODD 4096		/* other label values kept before giving up */

struct tstat {			/* one tensor name over all DATA records */
	char name[DL_MAX_NAME + 1];
	int dtype;		/* -1: differs between records */
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

struct info {
	const char *name;	/* input as named */
	struct dl_record *head;	/* copy of the first HEAD */
	const char *kind;	/* of head: samples, batches, model, ... */
	int batches, model;	/* strip the batch dim / parameters only */
	uint64_t records, samples, epochs, markers, streams, bytes;
	struct tstat *t;
	int n_t, cap_t;
	uint64_t *hist;		/* counts of labels 0..n_hist-1 */
	int64_t n_hist;
	int64_t (*odd)[2];	/* other labels: value, count */
	int n_odd, labels_off;	/* labels_off: not a class label */
	struct layer *layer;
	int n_layer, cap_layer;
};

/*
 * The layers of a model from the net library (lib/net.h): the network of
 * the HEAD's "net" description on its "input" shape, built on the CPU only
 * to read its layer table.  Returns the number of layers, or -1 when the
 * description cannot be built (then layers come from parameter names).
 */
static int
net_layers(struct info *inf)
{
	const char *desc = dl_record_get(inf->head, "net");
	const char *input = dl_record_get(inf->head, "input");
	struct dl_net_opts no = { .device = "cpu", .threads = 1 };
	struct dl_layer_info li;
	struct dl_net *net;
	uint64_t shape[3];
	int n;

	if (!desc || !input || sscanf(input, "%" SCNu64 ",%" SCNu64 ",%" SCNu64,
	    &shape[0], &shape[1], &shape[2]) != 3)
		return -1;
	if (!(net = dl_net_new(desc, 3, shape, &no))) {
		dl_warn("%s: layers from parameter names: %s", inf->name ? inf->name : "stdin",
		    dl_errmsg());
		return -1;
	}
	n = dl_net_layers(net);
	if (n > 0 && !(inf->layer = calloc(n, sizeof *inf->layer)))
		dl_die("out of memory");
	for (int i = 0; i < n; i++) {
		if (dl_net_layer_info(net, i, &li) < 0) {
			dl_net_free(net);
			return -1;
		}
		snprintf(inf->layer[i].name, sizeof inf->layer[i].name, "%s", li.name);
		inf->layer[i].ndim = 3;
		for (int d = 0; d < 3; d++)
			inf->layer[i].shape[d] = (uint64_t)li.shape[d];
		inf->layer[i].params = (uint64_t)li.params;
	}
	inf->cap_layer = n;
	dl_net_free(net);
	return n;
}

static void *
grow(void *p, int *cap, int n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? 2 * *cap : 16;
	if (!(p = realloc(p, (size_t)*cap * size)))
		dl_die("out of memory");
	return p;
}

static struct tstat *
find_stat(struct info *inf, const char *name, int hint)
{
	struct tstat *s;

	if (hint < inf->n_t && !strcmp(inf->t[hint].name, name))
		return &inf->t[hint];
	for (int i = 0; i < inf->n_t; i++)
		if (!strcmp(inf->t[i].name, name))
			return &inf->t[i];
	inf->t = grow(inf->t, &inf->cap_t, inf->n_t, sizeof *inf->t);
	s = &inf->t[inf->n_t++];
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->dtype = -2;		/* not seen */
	s->min = s->max = NAN;
	return s;
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

static void
add_tensor(struct info *inf, const struct dl_tensor *t, int hint, int opt)
{
	struct tstat *s = find_stat(inf, t->name, hint);
	int strip = inf->batches && t->ndim > 0;
	int nd = t->ndim - strip;

	if (s->dtype == -2) {
		s->opt = opt;
		s->dtype = t->dtype;
		s->ndim = nd;
		memcpy(s->shape, t->shape + strip, nd * sizeof *s->shape);
	}
	if (s->dtype != t->dtype)
		s->dtype = -1;
	if (s->ndim != nd)
		s->ndim = -1;
	for (int d = 0; s->ndim > 0 && d < nd; d++)
		if (s->shape[d] != t->shape[d + strip])
			s->varies[d] = 1;
	range(s, t);
}

static void
count_label(struct info *inf, int64_t v)
{
	int i;

	if (v >= 0 && v < MAX_LABELS) {
		if (v >= inf->n_hist) {
			int64_t n = inf->n_hist ? inf->n_hist : 64;
			while (n <= v)
				n *= 2;
			if (!(inf->hist = realloc(inf->hist, n * sizeof *inf->hist)))
				dl_die("out of memory");
			memset(inf->hist + inf->n_hist, 0, (n - inf->n_hist) * sizeof *inf->hist);
			inf->n_hist = n;
		}
		inf->hist[v]++;
		return;
	}
	for (i = 0; i < inf->n_odd; i++)
		if (inf->odd[i][0] == v) {
			inf->odd[i][1]++;
			return;
		}
	if (inf->n_odd == MAX_ODD) {
		inf->labels_off = 1;
		return;
	}
	if (!(inf->odd = realloc(inf->odd, (inf->n_odd + 1) * sizeof *inf->odd)))
		dl_die("out of memory");
	inf->odd[inf->n_odd][0] = v;
	inf->odd[inf->n_odd++][1] = 1;
}

static void
add_labels(struct info *inf, const struct dl_tensor *y)
{
	uint64_t i, n = dl_tensor_count(y);

	if ((y->dtype >> 4) != 1 && (y->dtype >> 4) != 2) {	/* not an integer */
		inf->labels_off = 1;
		return;
	}
	if (y->dtype == DL_I32) {
		const int32_t *p = y->data;
		for (i = 0; i < n && !inf->labels_off; i++)
			count_label(inf, p[i]);
	} else {
		for (i = 0; i < n && !inf->labels_off; i++)
			count_label(inf, (int64_t)dl_tensor_get(y, i));
	}
}

static void
add_data(struct info *inf, const struct dl_record *rec)
{
	const struct dl_tensor *y;
	const char *part = dl_record_get(rec, "part");
	int opt = inf->model && part && !strcmp(part, "opt");

	inf->records++;
	if (!inf->model)
		inf->samples += (uint64_t)dl_record_samples(rec, inf->batches);
	for (int i = 0; i < rec->n_tensors; i++)
		add_tensor(inf, &rec->tensors[i], i, opt);
	if (!inf->model && !inf->labels_off && (y = dl_record_find(rec, "y")))
		add_labels(inf, y);
}

/* Layers from parameter names, when the net library cannot say. */
static void
layers_from_names(struct info *inf)
{
	for (int i = 0; i < inf->n_t; i++) {
		const struct tstat *s = &inf->t[i];
		const char *dot = strrchr(s->name, '.');
		size_t len = dot ? (size_t)(dot - s->name) : strlen(s->name);
		uint64_t n = 1;
		int j;

		if (s->opt)
			continue;
		for (int d = 0; d < s->ndim; d++)
			n *= s->shape[d];
		for (j = 0; j < inf->n_layer; j++)
			if (strlen(inf->layer[j].name) == len && !strncmp(inf->layer[j].name, s->name, len))
				break;
		if (j == inf->n_layer) {
			inf->layer = grow(inf->layer, &inf->cap_layer, inf->n_layer, sizeof *inf->layer);
			memset(&inf->layer[j], 0, sizeof inf->layer[j]);
			snprintf(inf->layer[j].name, sizeof inf->layer[j].name, "%.*s", (int)len, s->name);
			inf->layer[j].ndim = -1;
			inf->n_layer++;
		}
		inf->layer[j].params += n;
	}
}

static int
read_input(struct info *inf, const struct dl_reader_opts *ro)
{
	struct dl_reader *r;
	struct dl_record *rec = NULL;
	const struct dl_record *h;
	int rc;

	if (!(r = dl_reader_open(inf->name, ro)))
		return -DL_EIO;
	/* the first HEAD is dl_reader_head()'s; next() returns later ones */
	rc = -DL_ENOMEM;
	if (!(h = dl_reader_head(r)) || !(rec = dl_record_new(NULL)) ||
	    !(inf->head = dl_record_new(NULL)) || (rc = dl_record_copy(inf->head, h)) < 0) {
		rc = h ? rc : -DL_EFORMAT;
		dl_reader_close(r);
		return rc;
	}
	inf->streams = 1;
	inf->kind = dl_record_get(inf->head, "kind");
	inf->batches = dl_head_batched(inf->head);
	inf->model = inf->kind && (!strcmp(inf->kind, "model") || !strcmp(inf->kind, "stats"));
	while ((rc = dl_reader_next(r, rec)) > 0) {
		if (dl_record_is(rec, DL_TAG_DATA))
			add_data(inf, rec);
		else if (dl_record_is(rec, DL_TAG_HEAD))
			inf->streams++;
		else if (dl_record_is(rec, DL_TAG_MARK)) {
			inf->markers++;
			inf->epochs += rec->marker == DL_MARK_EPOCH;
		}
	}
	inf->bytes = dl_reader_offset(r);
	dl_record_free(rec);
	dl_reader_close(r);
	if (rc >= 0 && inf->model && inf->kind && !strcmp(inf->kind, "model") &&
	    (inf->n_layer = net_layers(inf)) < 0) {
		inf->n_layer = 0;
		layers_from_names(inf);
	}
	return rc;
}

/* ---- output ---- */

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
json_num(double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", stdout);
	else if (v == (double)(int64_t)v && fabs(v) < 1e15)
		printf("%lld", (long long)v);
	else
		printf("%.9g", v);
}

static void
json_shape(int ndim, const uint64_t *shape, const int *varies)
{
	putchar('[');
	for (int d = 0; d < ndim; d++) {
		if (varies && varies[d])
			printf("%snull", d ? ", " : "");
		else
			printf("%s%llu", d ? ", " : "", (unsigned long long)shape[d]);
	}
	putchar(']');
}

static int
cmp_odd(const void *a, const void *b)
{
	int64_t x = ((const int64_t *)a)[0], y = ((const int64_t *)b)[0];

	return (x > y) - (x < y);
}

static void
print_json(struct info *inf)
{
	const char *sep = "";
	int i;

	printf("{\"file\": ");
	json_str(inf->name ? inf->name : "-");
	printf(", \"kind\": ");
	if (inf->kind)
		json_str(inf->kind);
	else
		fputs("null", stdout);
	printf(", \"records\": %llu, \"samples\": %llu, \"epochs\": %llu, \"markers\": %llu"
	    ", \"streams\": %llu, \"bytes\": %llu, \"tensors\": {",
	    (unsigned long long)inf->records, (unsigned long long)inf->samples,
	    (unsigned long long)inf->epochs, (unsigned long long)inf->markers,
	    (unsigned long long)inf->streams, (unsigned long long)inf->bytes);
	for (i = 0; i < inf->n_t; i++) {
		const struct tstat *s = &inf->t[i];
		printf("%s", i ? ", " : "");
		json_str(s->name);
		printf(": {\"dtype\": ");
		if (s->dtype < 0)
			fputs("null", stdout);
		else
			json_str(dl_dtype_name(s->dtype));
		printf(", \"shape\": ");
		if (s->ndim < 0)
			fputs("null", stdout);
		else
			json_shape(s->ndim, s->shape, s->varies);
		printf(", \"min\": ");
		json_num(s->min);
		printf(", \"max\": ");
		json_num(s->max);
		if (s->nonfinite)
			printf(", \"nonfinite\": %llu", (unsigned long long)s->nonfinite);
		putchar('}');
	}
	printf("}, \"labels\": {");
	if (!inf->labels_off) {
		for (int64_t v = 0; v < inf->n_hist; v++)
			if (inf->hist[v]) {
				printf("%s\"%lld\": %llu", sep, (long long)v, (unsigned long long)inf->hist[v]);
				sep = ", ";
			}
		if (inf->n_odd)
			qsort(inf->odd, inf->n_odd, sizeof *inf->odd, cmp_odd);
		for (i = 0; i < inf->n_odd; i++, sep = ", ")
			printf("%s\"%lld\": %lld", sep, (long long)inf->odd[i][0], (long long)inf->odd[i][1]);
	}
	printf("}, \"range\": ");
	for (i = 0; i < inf->n_t && strcmp(inf->t[i].name, "x"); i++)
		;
	if (i < inf->n_t && !isnan(inf->t[i].min)) {
		printf("[");
		json_num(inf->t[i].min);
		printf(", ");
		json_num(inf->t[i].max);
		printf("]");
	} else
		fputs("null", stdout);
	printf(", \"meta\": {");
	for (i = 0; inf->head && i < inf->head->n_kv; i++) {
		printf("%s", i ? ", " : "");
		json_str(inf->head->kv[i].key);
		printf(": ");
		json_str(inf->head->kv[i].val);
	}
	putchar('}');
	if (inf->kind && !strcmp(inf->kind, "model")) {
		uint64_t total = 0;
		printf(", \"layers\": [");
		for (i = 0; i < inf->n_layer; i++) {
			const struct layer *l = &inf->layer[i];
			printf("%s{\"name\": ", i ? ", " : "");
			json_str(l->name);
			printf(", \"output\": ");
			if (l->ndim < 0)
				fputs("null", stdout);
			else
				json_shape(l->ndim, l->shape, NULL);
			printf(", \"params\": %llu}", (unsigned long long)l->params);
			total += l->params;
		}
		printf("], \"params\": %llu", (unsigned long long)total);
	}
	printf("}\n");
}

/* Text for people: names and values are printed through this, never raw. */
static void
safe(const char *s, int width)
{
	int n = 0;

	for (; *s; s++, n++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			n += printf("\\x%02x", c) - 1;
		else
			putchar(c);
	}
	for (; n < width; n++)
		putchar(' ');
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
class_name(const struct info *inf, int64_t v, char *buf, size_t n)
{
	const char *p = inf->head ? dl_record_get(inf->head, "classes") : NULL;

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

static void
print_text(struct info *inf)
{
	char buf[256], cls[128];
	int i;

	printf("%-9s", "file");
	safe(inf->name ? inf->name : "stdin", 0);
	printf("\n%-9s%s\n", "kind", inf->kind ? inf->kind : "(none)");
	printf("%-9s%llu data, %llu markers, %llu bytes\n", "records",
	    (unsigned long long)inf->records, (unsigned long long)inf->markers,
	    (unsigned long long)inf->bytes);
	if (!inf->model)
		printf("%-9s%llu\n", "samples", (unsigned long long)inf->samples);
	printf("%-9s%llu\n", "epochs", (unsigned long long)inf->epochs);
	if (inf->n_t) {
		printf("%-9s%-16s %-6s %-18s %12s %12s\n", "tensors", "name", "dtype",
		    inf->model ? "shape" : "shape/sample", "min", "max");
		for (i = 0; i < inf->n_t; i++) {
			const struct tstat *s = &inf->t[i];
			printf("%-9s", "");
			safe(s->name, 16);
			printf(" %-6s %-18s %12.6g %12.6g", s->dtype < 0 ? "mixed" : dl_dtype_name(s->dtype),
			    shape_text(s->ndim, s->shape, s->varies, buf, sizeof buf), s->min, s->max);
			if (s->nonfinite)
				printf("  (%llu not finite)", (unsigned long long)s->nonfinite);
			putchar('\n');
		}
	}
	if (!inf->labels_off && (inf->n_hist || inf->n_odd)) {
		printf("%-9s%8s %10s  %s\n", "labels", "label", "count", "class");
		for (int64_t v = 0; v < inf->n_hist; v++)
			if (inf->hist[v]) {
				class_name(inf, v, cls, sizeof cls);
				printf("%-9s%8lld %10llu  ", "", (long long)v, (unsigned long long)inf->hist[v]);
				safe(cls, 0);
				putchar('\n');
			}
		if (inf->n_odd)
			qsort(inf->odd, inf->n_odd, sizeof *inf->odd, cmp_odd);
		for (i = 0; i < inf->n_odd; i++)
			printf("%-9s%8lld %10lld\n", "", (long long)inf->odd[i][0], (long long)inf->odd[i][1]);
	}
	if (inf->n_layer) {
		uint64_t total = 0;
		printf("%-9s%-16s %-18s %12s\n", "layers", "name", "output", "params");
		for (i = 0; i < inf->n_layer; i++) {
			const struct layer *l = &inf->layer[i];
			printf("%-9s", "");
			safe(l->name, 16);
			printf(" %-18s %12llu\n", l->ndim < 0 ? "-" :
			    shape_text(l->ndim, l->shape, NULL, buf, sizeof buf),
			    (unsigned long long)l->params);
			total += l->params;
		}
		printf("%-9s%-16s %-18s %12llu\n", "", "total", "", (unsigned long long)total);
	}
	for (i = 0; inf->head && i < inf->head->n_kv; i++) {
		printf("%-9s", i ? "" : "meta");
		safe(inf->head->kv[i].key, 16);
		putchar(' ');
		safe(inf->head->kv[i].val, 0);
		putchar('\n');
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-verify", no_argument, NULL, 'N' },
		{ "max-record", required_argument, NULL, 'M' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct dl_reader_opts ro = { 0 };
	struct info *inf;
	int c, i, n, json = 0, rc;

	dl_setprogname(argv[0]);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'N': ro.no_verify = 1; break;
		case 'M': ro.max_record = dl_arg_long(optarg, "--max-record", 64, (1L << 62)); break;
		default: dl_opt_common(c, argv, NULL, usage_text);	/* -q -h -V, errors */
		}
	}
	n = argc > optind ? argc - optind : 1;
	if (!(inf = calloc(n, sizeof *inf)))
		dl_die("out of memory");
	for (i = 0; i < n; i++) {
		inf[i].name = argc > optind ? argv[optind + i] : NULL;
		if ((rc = read_input(&inf[i], &ro)) < 0)
			dl_fail(rc, NULL);
	}
	for (i = 0; i < n; i++) {
		if (!json && i)
			putchar('\n');
		if (json)
			print_json(&inf[i]);
		else
			print_text(&inf[i]);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		dl_die("stdout:");
	for (i = 0; i < n; i++) {
		dl_record_free(inf[i].head);
		free(inf[i].t);
		free(inf[i].hist);
		free(inf[i].odd);
		free(inf[i].layer);
	}
	free(inf);
	return 0;
}
