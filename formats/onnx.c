/*
 * onnx.c - the part of onnx.proto a feed-forward network uses, read from
 * the wire format (formats/onnxpb.h).  Two passes over the graph: the first
 * counts nodes, initializers, names and attributes, so that the tables
 * are allocated once at their size (bounded together by
 * DL_ONNX_MAX_TABLES); the second fills them with slices of the file.
 * Fields this reader does not use are skipped; those that would change
 * what a model means and are not supported are refused by name.
 */
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "onnxpb.h"

int
dl_onnx_eq(struct onnx_str s, const char *z)
{
	return strlen(z) == s.n && (!s.n || !memcmp(s.p, z, s.n));
}

const char *
dl_onnx_esc(struct onnx_str s)
{
	return s.n ? dl_escn(s.p, s.n) : "(unnamed)";
}

static int
dsize(int dtype)
{
	switch (dtype) {
	case ONNX_FLOAT: case ONNX_INT32: return 4;
	case ONNX_UINT8: case ONNX_INT8: case ONNX_BOOL: return 1;
	case ONNX_INT64: case ONNX_DOUBLE: return 8;
	default: return 0;
	}
}

/* the repeated field that holds dtype's values when raw_data does not */
static uint32_t
dfield(int dtype)
{
	switch (dtype) {
	case ONNX_FLOAT: return 4;
	case ONNX_INT64: return 7;
	case ONNX_DOUBLE: return 10;
	default: return 5;	/* int32_data: int32, uint8, int8, bool */
	}
}

/* Count the values of a repeated numeric field f (packed or not). */
static int
count_values(const struct pb_field *f, int dtype, uint64_t *n, const char *what)
{
	int fixed = dtype == ONNX_FLOAT ? 4 : dtype == ONNX_DOUBLE ? 8 : 0;

	if (f->wt == PB_LEN) {
		if (fixed) {
			if (f->len % (size_t)fixed)
				return dl_seterr(DL_EFORMAT, "%s: packed values of %zu bytes, not a "
				    "multiple of %d", what, f->len, fixed);
			*n += f->len / (size_t)fixed;
			return 0;
		}
		struct pb r = { f->data, f->data + f->len };
		while (r.p < r.end) {	/* varints: each ends in a byte < 0x80 */
			if (!(*r.p++ & 0x80))
				++*n;
			else if (r.p == r.end)
				return dl_seterr(DL_EFORMAT, "%s: a packed varint runs past the end", what);
		}
		return 0;
	}
	if ((fixed == 4 && f->wt != PB_I32) || (fixed == 8 && f->wt != PB_I64) ||
	    (!fixed && f->wt != PB_VARINT))
		return dl_seterr(DL_EFORMAT, "%s: wire type %d for its values", what, f->wt);
	++*n;
	return 0;
}

/* The wire types each message's known fields may have (a bit per wire
 * type, 0: a field this reader does not know, skipped): a known field
 * with another wire type is refused, as the reading of it would be. */
#define V (1 << PB_VARINT)
#define L (1 << PB_LEN)
#define F32 (1 << PB_I32)
#define F64 (1 << PB_I64)
static const uint8_t wt_model[26] = { [1] = V, [2] = L, [3] = L, [4] = L, [5] = V, [6] = L, [7] = L,
	[8] = L, [14] = L, [20] = L, [25] = L };
static const uint8_t wt_opset[3] = { [1] = L, [2] = V };
static const uint8_t wt_graph[16] = { [1] = L, [2] = L, [5] = L, [10] = L, [11] = L, [12] = L,
	[13] = L, [14] = L, [15] = L };
static const uint8_t wt_node[8] = { [1] = L, [2] = L, [3] = L, [4] = L, [5] = L, [6] = L, [7] = L };
static const uint8_t wt_attr[24] = { [1] = L, [2] = F32, [3] = V, [4] = L, [5] = L, [6] = L,
	[7] = F32 | L, [8] = V | L, [9] = L, [10] = L, [11] = L, [13] = L, [14] = L, [15] = L,
	[20] = V, [21] = L, [22] = L, [23] = L };
static const uint8_t wt_tensor[15] = { [1] = V | L, [2] = V, [3] = L, [4] = F32 | L, [5] = V | L,
	[6] = L, [7] = V | L, [8] = L, [9] = L, [10] = F64 | L, [11] = V | L, [12] = L, [13] = L,
	[14] = V };
static const uint8_t wt_value[4] = { [1] = L, [2] = L, [3] = L };
static const uint8_t wt_type[10] = { [1] = L, [4] = L, [5] = L, [6] = L, [8] = L, [9] = L };
static const uint8_t wt_ttype[3] = { [1] = V, [2] = L };
static const uint8_t wt_shape[2] = { [1] = L };
static const uint8_t wt_dim[4] = { [1] = V, [2] = L, [3] = L };
#undef V
#undef L
#undef F32
#undef F64
#define KNOWN(tab, f, what) known(tab, sizeof tab, f, what)

static int
known(const uint8_t *tab, size_t n, const struct pb_field *f, const char *what)
{
	if (f->num < n && tab[f->num] && !(tab[f->num] & (1 << f->wt)))
		return dl_seterr(DL_EFORMAT, "%s: field %u has wire type %d, which it cannot have",
		    what, f->num, f->wt);
	return 0;
}

static int
want(const struct pb_field *f, int wt, const char *what)
{
	if (f->wt != wt)
		return dl_seterr(DL_EFORMAT, "%s: field %u has wire type %d, not %d", what, f->num,
		    f->wt, wt);
	return 0;
}

static int
parse_tensor(const uint8_t *p, size_t n, struct onnx_tensor *t, const char *what)
{
	struct pb r = { p, p + n };
	struct pb_field f;
	uint64_t vals = 0, seen = 0;
	int rc, raw = 0;

	*t = (struct onnx_tensor){ .msg = p, .msg_n = n, .dtype = ONNX_FLOAT };
	int dtype_set = 0;
	/* first the metadata; values are counted once the dtype is known */
	while ((rc = pb_next(&r, &f, what)) > 0) {
		if ((rc = KNOWN(wt_tensor, &f, what)) < 0)
			return rc;
		switch (f.num) {
		case 1:	/* dims: int64, packed or not */
			if (f.wt == PB_LEN) {
				struct pb q = { f.data, f.data + f.len };
				uint64_t v;
				while (q.p < q.end) {
					v = 0;
					int s;
					for (s = 0; s < 70; s += 7) {
						if (q.p == q.end)
							return dl_seterr(DL_EFORMAT, "%s: dims: truncated", what);
						uint8_t b = *q.p++;
						v |= (uint64_t)(b & 0x7f) << (s < 64 ? s : 0);
						if (!(b & 0x80))
							break;
					}
					if (s >= 70)
						return dl_seterr(DL_EFORMAT, "%s: dims: a varint over 10 bytes", what);
					if (t->ndim == DL_ONNX_MAX_NDIM)
						return dl_seterr(DL_EFORMAT, "%s: over %d dims", what, DL_ONNX_MAX_NDIM);
					t->dims[t->ndim++] = (int64_t)v;
				}
			} else {
				if ((rc = want(&f, PB_VARINT, what)) < 0)
					return rc;
				if (t->ndim == DL_ONNX_MAX_NDIM)
					return dl_seterr(DL_EFORMAT, "%s: over %d dims", what, DL_ONNX_MAX_NDIM);
				t->dims[t->ndim++] = (int64_t)f.v;
			}
			break;
		case 2:
			if ((rc = want(&f, PB_VARINT, what)) < 0)
				return rc;
			t->dtype = (int)(f.v > 1000 ? 1000 : f.v);
			dtype_set = 1;
			break;
		case 3:
			return dl_seterr(DL_EFORMAT, "%s: a segment of a tensor (not read)", what);
		case 8:
			if ((rc = want(&f, PB_LEN, what)) < 0)
				return rc;
			t->name = (struct onnx_str){ (const char *)f.data, f.len };
			break;
		case 9:
			if ((rc = want(&f, PB_LEN, what)) < 0)
				return rc;
			t->raw = f.data, raw = 1;
			vals = f.len;
			break;
		case 13:
			if ((rc = want(&f, PB_LEN, what)) < 0)
				return rc;
			return dl_seterr(DL_EFORMAT, "%s%s%s: external_data (values in another file) "
			    "is refused", what, t->name.n ? " " : "", t->name.n ? dl_onnx_esc(t->name) : "");
		case 14:
			if ((rc = want(&f, PB_VARINT, what)) < 0)
				return rc;
			if (f.v)
				return dl_seterr(DL_EFORMAT, "%s: data_location EXTERNAL is refused", what);
			break;
		case 4: case 5: case 6: case 7: case 10: case 11:
			seen |= 1u << f.num;
			break;
		}
	}
	if (rc < 0)
		return rc;
	if (!dtype_set)
		return dl_seterr(DL_EFORMAT, "%s %s: no data_type", what, dl_onnx_esc(t->name));
	int size = dsize(t->dtype);
	if (!size)
		return dl_seterr(DL_EFORMAT, "%s %s: data_type %d is not read (float, double, int64, "
		    "int32, int8, uint8, bool are)", what, dl_onnx_esc(t->name), t->dtype);
	t->count = 1;
	for (int i = 0; i < t->ndim; i++) {
		if (t->dims[i] < 0)
			return dl_seterr(DL_EFORMAT, "%s %s: dim %d is negative", what,
			    dl_onnx_esc(t->name), i);
		if (t->dims[i] && t->count > UINT64_MAX / (uint64_t)t->dims[i])
			return dl_seterr(DL_EFORMAT, "%s %s: dims overflow 64 bits", what,
			    dl_onnx_esc(t->name));
		t->count *= (uint64_t)t->dims[i];
	}
	t->field = dfield(t->dtype);
	if (seen & ~(1u << t->field))
		return dl_seterr(DL_EFORMAT, "%s %s: values in a field that is not its data_type's",
		    what, dl_onnx_esc(t->name));
	if (raw) {
		if (seen)
			return dl_seterr(DL_EFORMAT, "%s %s: both raw_data and typed values", what,
			    dl_onnx_esc(t->name));
		t->field = 0;
		if (t->count > vals / (uint64_t)size || t->count * (uint64_t)size != vals)
			return dl_seterr(DL_EFORMAT, "%s %s: dims say %llu values, raw_data holds %llu bytes",
			    what, dl_onnx_esc(t->name), (unsigned long long)t->count,
			    (unsigned long long)vals);
		return 0;
	}
	r = (struct pb){ p, p + n };
	while ((rc = pb_next(&r, &f, what)) > 0)
		if (f.num == t->field && (rc = count_values(&f, t->dtype, &vals, what)) < 0)
			return rc;
	if (rc < 0)
		return rc;
	if (vals != t->count)
		return dl_seterr(DL_EFORMAT, "%s %s: dims say %llu values, the data holds %llu", what,
		    dl_onnx_esc(t->name), (unsigned long long)t->count, (unsigned long long)vals);
	return 0;
}

int
dl_onnx_parse_tensor(const void *buf, size_t n, struct onnx_tensor *t)
{
	return parse_tensor(buf, n, t, "tensor");
}

/* Value i of t as a double (t checked by parse_tensor). */
static void
raw_get(const struct onnx_tensor *t, const uint8_t *p, uint64_t i, double *d, float *f)
{
	double v;

	switch (t->dtype) {
	case ONNX_FLOAT: { float x; memcpy(&x, p + 4 * i, 4); if (f) { *f = x; return; } v = x; break; }
	case ONNX_DOUBLE: { double x; memcpy(&x, p + 8 * i, 8); v = x; break; }
	case ONNX_INT64: { int64_t x; memcpy(&x, p + 8 * i, 8); v = (double)x; break; }
	case ONNX_INT32: { int32_t x; memcpy(&x, p + 4 * i, 4); v = x; break; }
	case ONNX_INT8: v = (int8_t)p[i]; break;
	default: v = p[i]; break;
	}
	if (d)
		*d = v;
	else
		*f = (float)v;
}

static int
convert(const struct onnx_tensor *t, double *d, float *fl)
{
	struct pb r = { t->msg, t->msg + t->msg_n };
	struct pb_field f;
	uint64_t i = 0;
	int rc;

	if (!t->field) {
		if (fl && t->dtype == ONNX_FLOAT) {
			memcpy(fl, t->raw, t->count * 4);
			return 0;
		}
		for (i = 0; i < t->count; i++)
			raw_get(t, t->raw, i, d ? d + i : NULL, fl ? fl + i : NULL);
		return 0;
	}
	while ((rc = pb_next(&r, &f, "tensor")) > 0 && i < t->count) {
		if (f.num != t->field)
			continue;
		if (t->dtype == ONNX_FLOAT || t->dtype == ONNX_DOUBLE) {
			int sz = t->dtype == ONNX_FLOAT ? 4 : 8;
			uint8_t tmp[8];
			const uint8_t *p = f.data;
			size_t k = f.len / (size_t)sz;
			if (f.wt != PB_LEN) {
				for (int b = 0; b < sz; b++)
					tmp[b] = (uint8_t)(f.v >> (8 * b));
				p = tmp, k = 1;
			}
			for (size_t j = 0; j < k && i < t->count; j++, i++)
				raw_get(t, p, j, d ? d + i : NULL, fl ? fl + i : NULL);
			continue;
		}
		/* varints, packed or not */
		struct pb q = { f.data, f.data + f.len };
		for (;;) {
			uint64_t v = 0;
			if (f.wt == PB_LEN) {
				if (q.p >= q.end)
					break;
				for (int s = 0; q.p < q.end; s += 7) {
					uint8_t b = *q.p++;
					if (s < 64)
						v |= (uint64_t)(b & 0x7f) << s;
					if (!(b & 0x80))
						break;
				}
			} else
				v = f.v;
			double x = t->dtype == ONNX_INT64 ? (double)(int64_t)v
			    : t->dtype == ONNX_INT32 || t->dtype == ONNX_INT8 ? (double)(int32_t)(uint32_t)v
			    : (double)(uint32_t)v;
			if (d)
				d[i] = x;
			else
				fl[i] = (float)x;
			if (++i == t->count || f.wt != PB_LEN)
				break;
		}
	}
	return rc < 0 ? rc : 0;
}

int
dl_onnx_tensor_f32(const struct onnx_tensor *t, float *out)
{
	return convert(t, NULL, out);
}

int
dl_onnx_tensor_f64(const struct onnx_tensor *t, double *out)
{
	return convert(t, out, NULL);
}

/* ---- attributes, nodes, the graph ------------------------------------------- */
static int
parse_attr(const uint8_t *p, size_t n, struct onnx_attr *a, struct onnx_tensor *t, int *n_t)
{
	struct pb r = { p, p + n };
	struct pb_field f;
	int rc;

	*a = (struct onnx_attr){ 0 };
	while ((rc = pb_next(&r, &f, "attribute")) > 0) {
		if ((rc = KNOWN(wt_attr, &f, "attribute")) < 0)
			return rc;
		switch (f.num) {
		case 1:
			if ((rc = want(&f, PB_LEN, "attribute")) < 0)
				return rc;
			a->name = (struct onnx_str){ (const char *)f.data, f.len };
			break;
		case 20:
			if ((rc = want(&f, PB_VARINT, "attribute")) < 0)
				return rc;
			a->type = f.v > 100 ? 100 : (int)f.v;
			break;
		case 2:
			if ((rc = want(&f, PB_I32, "attribute")) < 0)
				return rc;
			uint32_t bits = (uint32_t)f.v;
			memcpy(&a->f, &bits, 4);
			break;
		case 3:
			if ((rc = want(&f, PB_VARINT, "attribute")) < 0)
				return rc;
			a->i = (int64_t)f.v;
			break;
		case 4:
			if ((rc = want(&f, PB_LEN, "attribute")) < 0)
				return rc;
			a->s = (struct onnx_str){ (const char *)f.data, f.len };
			break;
		case 5:
			if ((rc = want(&f, PB_LEN, "attribute")) < 0)
				return rc;
			if (t) {
				a->t = t + *n_t;
				if ((rc = parse_tensor(f.data, f.len, a->t, "attribute tensor")) < 0)
					return rc;
			}
			++*n_t;
			break;
		case 7:
		case 8:
			if (f.wt == PB_LEN) {
				struct pb q = { f.data, f.data + f.len };
				while (q.p < q.end) {
					uint64_t v = 0;
					if (f.num == 7) {
						if (q.end - q.p < 4)
							return dl_seterr(DL_EFORMAT, "attribute: packed floats truncated");
						uint32_t u = 0;
						for (int b = 0; b < 4; b++)
							u |= (uint32_t)q.p[b] << (8 * b);
						q.p += 4;
						if (a->n < DL_ONNX_MAX_INTS)
							memcpy(&a->floats[a->n], &u, 4);
					} else {
						int s = 0;
						for (;; s += 7) {
							if (q.p == q.end || s >= 70)
								return dl_seterr(DL_EFORMAT, "attribute: a packed varint "
								    "runs past the end");
							uint8_t b = *q.p++;
							if (s < 64)
								v |= (uint64_t)(b & 0x7f) << s;
							if (!(b & 0x80))
								break;
						}
						if (a->n < DL_ONNX_MAX_INTS)
							a->ints[a->n] = (int64_t)v;
					}
					if (a->n < 1 << 30)
						a->n++;
				}
			} else {
				if ((rc = want(&f, f.num == 7 ? PB_I32 : PB_VARINT, "attribute")) < 0)
					return rc;
				if (a->n < DL_ONNX_MAX_INTS) {
					if (f.num == 7) {
						uint32_t u = (uint32_t)f.v;
						memcpy(&a->floats[a->n], &u, 4);
					} else
						a->ints[a->n] = (int64_t)f.v;
				}
				if (a->n < 1 << 30)
					a->n++;
			}
			break;
		}
	}
	return rc;
}

static int
parse_value(const uint8_t *p, size_t n, struct onnx_value *v)
{
	struct pb r = { p, p + n }, ty, tt, sh, dim;
	struct pb_field f, g, h, k, e;
	int rc;

	*v = (struct onnx_value){ .ndim = -1 };
	while ((rc = pb_next(&r, &f, "value_info")) > 0) {
		if ((rc = KNOWN(wt_value, &f, "value_info")) < 0)
			return rc;
		if (f.num == 1 && f.wt == PB_LEN)
			v->name = (struct onnx_str){ (const char *)f.data, f.len };
		if (f.num != 2 || f.wt != PB_LEN)
			continue;
		ty = (struct pb){ f.data, f.data + f.len };
		while ((rc = pb_next(&ty, &g, "type")) > 0) {
			if ((rc = KNOWN(wt_type, &g, "type")) < 0)
				return rc;
			if (g.num != 1 || g.wt != PB_LEN)
				continue;
			tt = (struct pb){ g.data, g.data + g.len };
			while ((rc = pb_next(&tt, &h, "tensor type")) > 0) {
				if ((rc = KNOWN(wt_ttype, &h, "tensor type")) < 0)
					return rc;
				if (h.num == 1 && h.wt == PB_VARINT)
					v->dtype = h.v > 1000 ? 1000 : (int)h.v;
				if (h.num != 2 || h.wt != PB_LEN)
					continue;
				sh = (struct pb){ h.data, h.data + h.len };
				v->ndim = 0;
				while ((rc = pb_next(&sh, &k, "shape")) > 0) {
					if ((rc = KNOWN(wt_shape, &k, "shape")) < 0)
						return rc;
					if (k.num != 1 || k.wt != PB_LEN)
						continue;
					if (v->ndim == DL_ONNX_MAX_NDIM)
						return dl_seterr(DL_EFORMAT, "input %s: over %d dims",
						    dl_onnx_esc(v->name), DL_ONNX_MAX_NDIM);
					v->dims[v->ndim] = -1;
					dim = (struct pb){ k.data, k.data + k.len };
					while ((rc = pb_next(&dim, &e, "dim")) > 0) {
						if ((rc = KNOWN(wt_dim, &e, "dim")) < 0)
							return rc;
						if (e.num == 1)
							v->dims[v->ndim] = (int64_t)e.v;
					}
					if (rc < 0)
						return rc;
					v->ndim++;
				}
				if (rc < 0)
					return rc;
			}
			if (rc < 0)
				return rc;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

/* One node; counts only (node NULL) or filled. */
static int
parse_node(const uint8_t *p, size_t n, struct onnx_node *node, struct onnx_model *m,
    long *n_names, long *n_attrs, int *n_t)
{
	struct pb r = { p, p + n };
	struct pb_field f;
	int rc;

	if (node) {
		*node = (struct onnx_node){ 0 };
		node->attr = m->attrs + *n_attrs;
	}
	/* inputs, then outputs, each contiguous in m->names: count first */
	int ins = 0, outs = 0;
	while ((rc = pb_next(&r, &f, "node")) > 0)
		if ((rc = KNOWN(wt_node, &f, "node")) < 0)
			return rc;
		else if (f.num == 1 || f.num == 2) {
			if ((rc = want(&f, PB_LEN, "node")) < 0)
				return rc;
			f.num == 1 ? ins++ : outs++;
		}
	if (rc < 0)
		return rc;
	if (node) {
		node->in = m->names + *n_names;
		node->out = node->in + ins;
	}
	*n_names += ins + outs;
	r = (struct pb){ p, p + n };
	while ((rc = pb_next(&r, &f, "node")) > 0) {
		struct onnx_str s = { (const char *)f.data, f.len };
		if (f.num >= 1 && f.num <= 7 && f.num != 6 && f.num != 5 &&
		    (rc = want(&f, PB_LEN, "node")) < 0)
			return rc;
		if (f.num == 5 && (rc = want(&f, PB_LEN, "node")) < 0)
			return rc;
		if (!node) {
			if (f.num == 5) {
				struct onnx_attr a;
				if ((rc = parse_attr(f.data, f.len, &a, NULL, n_t)) < 0)
					return rc;
				++*n_attrs;
			}
			continue;
		}
		switch (f.num) {
		case 1: node->in[node->n_in++] = s; break;
		case 2: node->out[node->n_out++] = s; break;
		case 3: node->name = s; break;
		case 4: node->op = s; break;
		case 7: node->domain = s; break;
		case 5:
			if ((rc = parse_attr(f.data, f.len, node->attr + node->n_attr, m->attr_t, n_t)) < 0)
				return rc;
			node->n_attr++;
			++*n_attrs;
			break;
		}
	}
	return rc;
}

static int
parse_graph(const uint8_t *p, size_t n, struct onnx_model *m, int fill)
{
	struct pb r = { p, p + n };
	struct pb_field f;
	long names = 0, attrs = 0;
	int rc, nt = 0, nodes = 0, inits = 0, ins = 0, outs = 0;

	while ((rc = pb_next(&r, &f, "graph")) > 0) {
		if ((rc = KNOWN(wt_graph, &f, "graph")) < 0)
			return rc;
		switch (f.num) {
		case 1:
			if ((rc = want(&f, PB_LEN, "graph")) < 0)
				return rc;
			if ((rc = parse_node(f.data, f.len, fill ? m->node + nodes : NULL, m, &names,
			    &attrs, &nt)) < 0) {
				if (fill)
					dl_errprefix("node %d", nodes);
				return rc;
			}
			nodes++;
			break;
		case 5:
			if ((rc = want(&f, PB_LEN, "graph")) < 0)
				return rc;
			if (fill && (rc = parse_tensor(f.data, f.len, m->init + inits, "initializer")) < 0)
				return rc;
			inits++;
			break;
		case 15:
			return dl_seterr(DL_EFORMAT, "graph: a sparse_initializer (not read)");
		case 11:
		case 12:
			if ((rc = want(&f, PB_LEN, "graph")) < 0)
				return rc;
			if ((f.num == 11 ? ins : outs) == DL_ONNX_MAX_IO)
				return dl_seterr(DL_EFORMAT, "graph: over %d %s", DL_ONNX_MAX_IO,
				    f.num == 11 ? "inputs" : "outputs");
			if (fill && (rc = parse_value(f.data, f.len, f.num == 11 ? m->in + ins
			    : m->out + outs)) < 0)
				return rc;
			f.num == 11 ? ins++ : outs++;
			break;
		}
	}
	if (rc < 0)
		return rc;
	if (!fill) {
		/* the tables, bounded together before anything is allocated */
		uint64_t bytes = (uint64_t)nodes * sizeof *m->node + (uint64_t)inits * sizeof *m->init +
		    (uint64_t)names * sizeof *m->names + (uint64_t)attrs * sizeof *m->attrs +
		    (uint64_t)nt * sizeof *m->attr_t;
		if (bytes > DL_ONNX_MAX_TABLES)
			return dl_seterr(DL_ENOMEM, "graph: %d nodes, %d initializers, %ld names and %ld "
			    "attributes: over this reader's %u MiB of tables", nodes, inits, names, attrs,
			    DL_ONNX_MAX_TABLES >> 20);
		m->node = calloc((size_t)nodes + 1, sizeof *m->node);
		m->init = calloc((size_t)inits + 1, sizeof *m->init);
		m->names = calloc((size_t)names + 1, sizeof *m->names);
		m->attrs = calloc((size_t)attrs + 1, sizeof *m->attrs);
		m->attr_t = calloc((size_t)nt + 1, sizeof *m->attr_t);
		if (!m->node || !m->init || !m->names || !m->attrs || !m->attr_t)
			return dl_seterr(DL_ENOMEM, "graph: out of memory");
		return 0;
	}
	m->n_node = nodes, m->n_init = inits, m->n_in = ins, m->n_out = outs;
	return 0;
}

int
dl_onnx_parse(const void *buf, size_t n, struct onnx_model *m)
{
	struct pb r = { buf, (const uint8_t *)buf + n }, q;
	struct pb_field f, g;
	const uint8_t *graph = NULL;
	size_t graph_n = 0;
	int rc, opset_set = 0;

	*m = (struct onnx_model){ 0 };
	if (n == 0)
		return dl_seterr(DL_EFORMAT, "empty file");
	while ((rc = pb_next(&r, &f, "model")) > 0) {
		if ((rc = KNOWN(wt_model, &f, "model")) < 0)
			return rc;
		switch (f.num) {
		case 1:
			if ((rc = want(&f, PB_VARINT, "model ir_version")) < 0)
				return rc;
			m->ir_version = (int64_t)f.v;
			break;
		case 2:
			if ((rc = want(&f, PB_LEN, "model producer_name")) < 0)
				return rc;
			m->producer = (struct onnx_str){ (const char *)f.data, f.len };
			break;
		case 7:
			if ((rc = want(&f, PB_LEN, "model graph")) < 0)
				return rc;
			graph = f.data, graph_n = f.len;
			break;
		case 8: {
			struct onnx_str dom = { "", 0 };
			int64_t ver = 0;
			if ((rc = want(&f, PB_LEN, "model opset_import")) < 0)
				return rc;
			q = (struct pb){ f.data, f.data + f.len };
			while ((rc = pb_next(&q, &g, "opset_import")) > 0) {
				if ((rc = KNOWN(wt_opset, &g, "opset_import")) < 0)
					return rc;
				if (g.num == 1 && (rc = want(&g, PB_LEN, "opset_import domain")) == 0)
					dom = (struct onnx_str){ (const char *)g.data, g.len };
				else if (g.num == 2 && (rc = want(&g, PB_VARINT, "opset_import version")) == 0)
					ver = (int64_t)g.v;
				if (rc < 0)
					return rc;
			}
			if (rc < 0)
				return rc;
			if (dom.n && !dl_onnx_eq(dom, "ai.onnx"))
				return dl_seterr(DL_EFORMAT, "opset of domain %s: only ai.onnx's operators are "
				    "read", dl_onnx_esc(dom));
			m->opset = ver, opset_set = 1;
			break;
		}
		case 20:
			return dl_seterr(DL_EFORMAT, "model: training_info (not read)");
		case 25:
			return dl_seterr(DL_EFORMAT, "model: functions (not read)");
		}
	}
	if (rc < 0)
		return rc;
	if (!graph)
		return dl_seterr(DL_EFORMAT, "no graph: not an ONNX model");
	if (!opset_set)
		return dl_seterr(DL_EFORMAT, "no opset_import: not an ONNX model");
	if ((rc = parse_graph(graph, graph_n, m, 0)) < 0 ||
	    (rc = parse_graph(graph, graph_n, m, 1)) < 0) {
		dl_onnx_free(m);
		return rc;
	}
	return 0;
}

void
dl_onnx_free(struct onnx_model *m)
{
	free(m->node);
	free(m->init);
	free(m->names);
	free(m->attrs);
	free(m->attr_t);
	*m = (struct onnx_model){ 0 };
}
