/*
 * npy.c - NumPy .npy files, v1.0/2.0/3.0: "\x93NUMPY", version, header
 * length, a Python dict literal {'descr': '<f4', 'fortran_order': False,
 * 'shape': (N, ...), } parsed here by hand (no eval), then the raw data.
 * Reading goes item by item through array.c; writing patches the count
 * into the header at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dls.h"
#include "formats.h"
#include "zread.h"

#define MAX_HEADER ((size_t)1 << 20)

/* ---- the header dict ---- */
struct parse {
	const char *p, *end;
	const char *start;
	const char *file;
};

static void
skip_ws(struct parse *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
	    *ps->p == '\r'))
		ps->p++;
}

static int
expect(struct parse *ps, char c)
{
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == c) {
		ps->p++;
		return 0;
	}
	return dl_seterr(DL_EFORMAT, "%s: bad npy header: expected '%c' at byte %td", ps->file,
	    c, ps->p - ps->start);
}

/* A quoted string without escapes into buf. */
static int
parse_str(struct parse *ps, char *buf, size_t n)
{
	char q;
	size_t len = 0;

	skip_ws(ps);
	if (ps->p >= ps->end || (*ps->p != '\'' && *ps->p != '"'))
		return dl_seterr(DL_EFORMAT, "%s: bad npy header: expected a string", ps->file);
	q = *ps->p++;
	while (ps->p < ps->end && *ps->p != q) {
		if (*ps->p == '\\' || len + 1 >= n)
			return dl_seterr(DL_EFORMAT, "%s: bad npy header: unexpected string",
			    ps->file);
		buf[len++] = *ps->p++;
	}
	if (ps->p >= ps->end)
		return dl_seterr(DL_EFORMAT, "%s: bad npy header: unterminated string", ps->file);
	ps->p++;
	buf[len] = 0;
	return 0;
}

static int
parse_word(struct parse *ps, const char *w)
{
	size_t n = strlen(w);

	skip_ws(ps);
	if ((size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, w, n)) {
		ps->p += n;
		return 1;
	}
	return 0;
}

static int
parse_shape(struct parse *ps, struct dl_array_info *info)
{
	int rc;

	if ((rc = expect(ps, '(')) < 0)
		return rc;
	info->ndim = 0;
	for (;;) {
		uint64_t v = 0;
		int digits = 0;

		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ')') {
			ps->p++;
			return 0;
		}
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
			if (__builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(*ps->p - '0'), &v))
				return dl_seterr(DL_EFORMAT, "%s: npy shape has a dimension "
				    "over 2^64", ps->file);
			ps->p++;
			digits++;
		}
		if (ps->p < ps->end && *ps->p == 'L')	/* Python 2 long */
			ps->p++;
		if (!digits)
			return dl_seterr(DL_EFORMAT, "%s: bad npy header: shape must be a "
			    "tuple of non-negative integers", ps->file);
		if (info->ndim == DL_MAX_NDIM)
			return dl_seterr(DL_EFORMAT, "%s: npy array has more than %d dimensions",
			    ps->file, DL_MAX_NDIM);
		info->shape[info->ndim++] = v;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',')
			ps->p++;
		else if (ps->p < ps->end && *ps->p == ')')
			continue;
		else
			return dl_seterr(DL_EFORMAT, "%s: bad npy header: shape must be a "
			    "tuple of non-negative integers", ps->file);
	}
}

static int
parse_descr(const char *file, const char *d, int *dtype)
{
	static const struct { char kind; int size; int dtype; } map[] = {
		{ 'b', 1, DL_BOOL }, { 'u', 1, DL_U8 }, { 'u', 2, DL_U16 }, { 'u', 4, DL_U32 },
		{ 'u', 8, DL_U64 }, { 'i', 1, DL_I8 }, { 'i', 2, DL_I16 }, { 'i', 4, DL_I32 },
		{ 'i', 8, DL_I64 }, { 'f', 2, DL_F16 }, { 'f', 4, DL_F32 }, { 'f', 8, DL_F64 },
	};
	char order = d[0], kind;
	char *end;
	long size;

	if (!order || !strchr("<>|=", order) || !d[1])
		return dl_seterr(DL_EFORMAT, "%s: npy dtype '%s' not understood", file, d);
	kind = d[1];
	if (kind == 'O')
		return dl_seterr(DL_EFORMAT, "%s: npy holds Python objects (dtype '%s'): "
		    "refused, loading it would need pickle", file, d);
	errno = 0;
	size = strtol(d + 2, &end, 10);
	if (*end || end == d + 2 || errno)
		return dl_seterr(DL_EFORMAT, "%s: npy dtype '%s' not supported", file, d);
	if (order == '>' && size > 1)
		return dl_seterr(DL_EFORMAT, "%s: npy data is big-endian ('%s'), not supported: "
		    "save it little-endian, e.g. a.astype('<%c%ld')", file, d, kind, size);
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (map[i].kind == kind && map[i].size == size) {
			*dtype = map[i].dtype;
			return 0;
		}
	return dl_seterr(DL_EFORMAT, "%s: npy dtype '%s' not supported (bool, u1..u8, "
	    "i1..i8, f2, f4, f8 are)", file, d);
}

static int
parse_header(const char *file, const char *h, size_t len, struct dl_array_info *info)
{
	struct parse ps = { h, h + len, h, file };
	char key[32], descr[64];
	int seen = 0, fortran = 0, rc;

	if ((rc = expect(&ps, '{')) < 0)
		return rc;
	for (;;) {
		skip_ws(&ps);
		if (ps.p < ps.end && *ps.p == '}') {
			ps.p++;
			break;
		}
		if ((rc = parse_str(&ps, key, sizeof key)) < 0 || (rc = expect(&ps, ':')) < 0)
			return rc;
		if (!strcmp(key, "descr") && !(seen & 1)) {
			skip_ws(&ps);
			if (ps.p < ps.end && *ps.p == '[')
				return dl_seterr(DL_EFORMAT, "%s: npy holds a structured dtype: "
				    "not supported", file);
			if ((rc = parse_str(&ps, descr, sizeof descr)) < 0)
				return rc;
			seen |= 1;
		} else if (!strcmp(key, "fortran_order") && !(seen & 2)) {
			if (parse_word(&ps, "True"))
				fortran = 1;
			else if (!parse_word(&ps, "False"))
				return dl_seterr(DL_EFORMAT, "%s: bad npy header: fortran_order "
				    "must be True or False", file);
			seen |= 2;
		} else if (!strcmp(key, "shape") && !(seen & 4)) {
			if ((rc = parse_shape(&ps, info)) < 0)
				return rc;
			seen |= 4;
		} else {
			return dl_seterr(DL_EFORMAT, "%s: bad npy header: unexpected key '%s'",
			    file, key);
		}
		skip_ws(&ps);
		if (ps.p < ps.end && *ps.p == ',')
			ps.p++;
		else if (!(ps.p < ps.end && *ps.p == '}'))
			return dl_seterr(DL_EFORMAT, "%s: bad npy header: expected ',' or '}'", file);
	}
	skip_ws(&ps);
	if (ps.p != ps.end)
		return dl_seterr(DL_EFORMAT, "%s: bad npy header: text after the dict", file);
	if (seen != 7)
		return dl_seterr(DL_EFORMAT, "%s: bad npy header: needs descr, fortran_order "
		    "and shape", file);
	if ((rc = parse_descr(file, descr, &info->dtype)) < 0)
		return rc;
	if (fortran && info->ndim > 1)
		return dl_seterr(DL_EFORMAT, "%s: npy array is in Fortran order: not supported, "
		    "save np.ascontiguousarray(a)", file);
	if (info->ndim == 0)
		return dl_seterr(DL_EFORMAT, "%s: npy array is a 0-d scalar: items need a "
		    "first dimension", file);
	return 0;
}

struct dl_array_in *
dl_npy_open(const char *path)
{
	struct dl_array_info info = { 0 };
	unsigned char pre[12];
	struct dl_zread *z;
	size_t hlen, prelen;
	char *h = NULL;
	long long k;

	if (!(z = dl_zread_open(path)))
		return NULL;
	if ((k = dl_zread(z, pre, 10)) < 0)
		goto fail;
	if (k < 10 || memcmp(pre, "\x93NUMPY", 6)) {
		dl_seterr(DL_EFORMAT, "%s: not an npy file (no \\x93NUMPY magic)", dl_zread_name(z));
		goto fail;
	}
	if (pre[6] == 1) {
		hlen = pre[8] | (size_t)pre[9] << 8;
		prelen = 10;
	} else if (pre[6] == 2 || pre[6] == 3) {
		if ((k = dl_zread(z, pre + 10, 2)) < 0)
			goto fail;
		if (k < 2) {
			dl_seterr(DL_EFORMAT, "%s: truncated npy header", dl_zread_name(z));
			goto fail;
		}
		hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
		prelen = 12;
	} else {
		dl_seterr(DL_EFORMAT, "%s: npy version %d.%d not supported (1.0, 2.0, 3.0 are)",
		    dl_zread_name(z), pre[6], pre[7]);
		goto fail;
	}
	(void)prelen;
	if (hlen > MAX_HEADER) {
		dl_seterr(DL_EFORMAT, "%s: npy header of %zu bytes, over the %zu limit",
		    dl_zread_name(z), hlen, MAX_HEADER);
		goto fail;
	}
	if (!(h = malloc(hlen + 1))) {
		dl_seterr(DL_ENOMEM, "out of memory");
		goto fail;
	}
	if ((k = dl_zread(z, h, hlen)) < 0)
		goto fail;
	if ((size_t)k < hlen) {
		dl_seterr(DL_EFORMAT, "%s: truncated npy header (%lld of %zu bytes)",
		    dl_zread_name(z), k, hlen);
		goto fail;
	}
	h[hlen] = 0;
	if (memchr(h, 0, hlen)) {
		dl_seterr(DL_EFORMAT, "%s: npy header contains a NUL byte", dl_zread_name(z));
		goto fail;
	}
	if (parse_header(dl_zread_name(z), h, hlen, &info) < 0)
		goto fail;
	free(h);
	return dl_array_start(z, &info, 0, "npy");
fail:
	free(h);
	dl_zread_close(z);
	return NULL;
}

/* ---- writing ---- */
struct dl_npy_out {
	struct dl_atomic file;		/* written through file.f */
	int dtype;
	int ndim;			/* of the items */
	uint64_t shape[DL_MAX_NDIM];
	size_t item_nbytes;
	uint64_t count;
	size_t header_len;		/* total bytes before the data */
};

static const char *
npy_descr(int dtype)
{
	switch (dtype) {
	case DL_BOOL: return "|b1";
	case DL_U8: return "|u1";
	case DL_U16: return "<u2";
	case DL_U32: return "<u4";
	case DL_U64: return "<u8";
	case DL_I8: return "|i1";
	case DL_I16: return "<i2";
	case DL_I32: return "<i4";
	case DL_I64: return "<i8";
	case DL_F16: return "<f2";
	case DL_F32: return "<f4";
	case DL_F64: return "<f8";
	}
	return NULL;
}

/* The header for count items, padded with spaces to total bytes (0: to a
 * multiple of 64 with room for a count of 20 digits). */
static size_t
make_header(const struct dl_npy_out *w, uint64_t count, char *buf, size_t total)
{
	char dict[512];
	size_t len, hlen;

	len = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
	    "'shape': (%llu,", npy_descr(w->dtype), (unsigned long long)count);
	for (int i = 0; i < w->ndim; i++)
		len += (size_t)snprintf(dict + len, sizeof dict - len, "%s%llu", i ? ", " : " ",
		    (unsigned long long)w->shape[i]);
	len += (size_t)snprintf(dict + len, sizeof dict - len, "), }");
	if (!total)
		total = (10 + len + 20 + 1 + 63) & ~(size_t)63;
	hlen = total - 10;
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = (char)(hlen & 0xff);
	buf[9] = (char)(hlen >> 8);
	memcpy(buf + 10, dict, len);
	memset(buf + 10 + len, ' ', hlen - len - 1);
	buf[total - 1] = '\n';
	return total;
}

struct dl_npy_out *
dl_npy_create(const char *path, int dtype, int item_ndim, const uint64_t *item_shape)
{
	struct dl_npy_out *w;
	uint64_t n;
	char hdr[1024];

	if (!npy_descr(dtype)) {
		dl_seterr(DL_EUSAGE, "%s: dtype %s has no npy equivalent", path,
		    dl_dtype_name(dtype) ? dl_dtype_name(dtype) : "?");
		return NULL;
	}
	if (item_ndim < 0 || item_ndim >= DL_MAX_NDIM) {
		dl_seterr(DL_EUSAGE, "%s: items of %d dimensions: at most %d", path, item_ndim,
		    DL_MAX_NDIM - 1);
		return NULL;
	}
	if (!(w = calloc(1, sizeof *w))) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	w->file.fd = -1;
	w->dtype = dtype;
	w->ndim = item_ndim;
	n = dl_dtype_size(dtype);
	for (int i = 0; i < item_ndim; i++) {
		w->shape[i] = item_shape[i];
		if (__builtin_mul_overflow(n, item_shape[i], &n) || n > SIZE_MAX / 2) {
			dl_seterr(DL_EUSAGE, "%s: item too large", path);
			goto fail;
		}
	}
	w->item_nbytes = (size_t)n;
	if (dl_atomic_open(&w->file, path) < 0 || !dl_atomic_stdio(&w->file))
		goto fail;
	w->header_len = make_header(w, 0, hdr, 0);
	if (fwrite(hdr, 1, w->header_len, w->file.f) != w->header_len) {
		dl_seterr(DL_EIO, "%s: write:", path);
		goto fail;
	}
	return w;
fail:
	dl_npy_abort(w);
	return NULL;
}

int
dl_npy_write(struct dl_npy_out *w, const void *items, uint64_t n_items)
{
	uint64_t n;

	if (__builtin_mul_overflow(n_items, (uint64_t)w->item_nbytes, &n) || n > SIZE_MAX)
		return dl_seterr(DL_EUSAGE, "%s: too many items", w->file.path);
	if (n && fwrite(items, 1, (size_t)n, w->file.f) != (size_t)n)
		return dl_seterr(DL_EIO, "%s: write:", w->file.path);
	w->count += n_items;
	return 0;
}

int
dl_npy_close(struct dl_npy_out *w)
{
	char hdr[1024];
	int rc = 0;

	make_header(w, w->count, hdr, w->header_len);
	if (fflush(w->file.f) || fseek(w->file.f, 0, SEEK_SET) ||
	    fwrite(hdr, 1, w->header_len, w->file.f) != w->header_len)
		rc = dl_seterr(DL_EIO, "%s: write:", w->file.path);
	if (!rc)
		rc = dl_atomic_commit(&w->file);
	dl_npy_abort(w);
	return rc;
}

void
dl_npy_abort(struct dl_npy_out *w)
{
	if (!w)
		return;
	dl_atomic_abort(&w->file);
	free(w);
}
