/*
 * pb.c - the protobuf wire format, read and written (formats/onnxpb.h).
 * Reading never allocates and never recurses: a message is a byte range,
 * a field is its number, wire type and value or byte range, and every
 * length is checked against the bytes left before it is used.
 */
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "onnxpb.h"

static int
varint(struct pb *r, uint64_t *v, const char *what)
{
	uint64_t x = 0;

	for (int s = 0; s < 70; s += 7) {
		if (r->p == r->end)
			return dl_seterr(DL_EFORMAT, "%s: truncated (a varint runs past the end)", what);
		uint8_t b = *r->p++;
		if (s == 63 && b > 1)
			return dl_seterr(DL_EFORMAT, "%s: a varint over 64 bits", what);
		x |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return dl_seterr(DL_EFORMAT, "%s: a varint over 10 bytes", what);
}

int
pb_next(struct pb *r, struct pb_field *f, const char *what)
{
	uint64_t key, len;
	int rc;

	if (r->p >= r->end)
		return 0;
	if ((rc = varint(r, &key, what)) < 0)
		return rc;
	f->num = (uint32_t)(key >> 3);
	f->wt = (int)(key & 7);
	f->data = NULL, f->len = 0, f->v = 0;
	if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return dl_seterr(DL_EFORMAT, "%s: field number %llu", what,
		    (unsigned long long)(key >> 3));
	switch (f->wt) {
	case PB_VARINT:
		return varint(r, &f->v, what) < 0 ? -DL_EFORMAT : 1;
	case PB_I64:
	case PB_I32:
		len = f->wt == PB_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < len)
			return dl_seterr(DL_EFORMAT, "%s: field %u: truncated (%llu bytes past the end)",
			    what, f->num, (unsigned long long)(len - (size_t)(r->end - r->p)));
		for (unsigned i = 0; i < len; i++)
			f->v |= (uint64_t)r->p[i] << (8 * i);
		r->p += len;
		return 1;
	case PB_LEN:
		if ((rc = varint(r, &len, what)) < 0)
			return rc;
		if (len > (uint64_t)(r->end - r->p))
			return dl_seterr(DL_EFORMAT, "%s: field %u: length %llu runs past the end "
			    "(%zu bytes left)", what, f->num, (unsigned long long)len,
			    (size_t)(r->end - r->p));
		f->data = r->p, f->len = (size_t)len;
		r->p += len;
		return 1;
	default:
		return dl_seterr(DL_EFORMAT, "%s: field %u: wire type %d (%s)", what, f->num, f->wt,
		    f->wt == 3 || f->wt == 4 ? "a group, not read" : "no such wire type");
	}
}

/* ---- writing ---------------------------------------------------------------- */
static int
room(struct pb_buf *b, size_t n)
{
	if (b->err)
		return 0;
	if (b->cap - b->n >= n)
		return 1;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->n < n) {
		if (cap > SIZE_MAX / 2) {
			b->err = 1;
			return 0;
		}
		cap *= 2;
	}
	uint8_t *p = realloc(b->p, cap);
	if (!p) {
		b->err = 1;
		return 0;
	}
	b->p = p, b->cap = cap;
	return 1;
}

static void
raw_varint(struct pb_buf *b, uint64_t v)
{
	if (!room(b, 10))
		return;
	do {
		b->p[b->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

void
pb_varint(struct pb_buf *b, uint32_t num, uint64_t v)
{
	raw_varint(b, (uint64_t)num << 3 | PB_VARINT);
	raw_varint(b, v);
}

void
pb_bytes(struct pb_buf *b, uint32_t num, const void *p, size_t n)
{
	raw_varint(b, (uint64_t)num << 3 | PB_LEN);
	raw_varint(b, n);
	if (n && room(b, n)) {
		memcpy(b->p + b->n, p, n);
		b->n += n;
	}
}

void
pb_str(struct pb_buf *b, uint32_t num, const char *s)
{
	pb_bytes(b, num, s, strlen(s));
}

void
pb_f32(struct pb_buf *b, uint32_t num, float v)
{
	uint32_t u;

	memcpy(&u, &v, 4);
	raw_varint(b, (uint64_t)num << 3 | PB_I32);
	if (room(b, 4))
		for (int i = 0; i < 4; i++)
			b->p[b->n++] = (uint8_t)(u >> (8 * i));
}

size_t
pb_begin(struct pb_buf *b, uint32_t num)
{
	raw_varint(b, (uint64_t)num << 3 | PB_LEN);
	return b->n;
}

void
pb_end(struct pb_buf *b, size_t at)
{
	uint8_t hdr[10];
	size_t len, h = 0;

	if (b->err)
		return;
	len = b->n - at;
	uint64_t v = len;
	do {
		hdr[h++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	if (!room(b, h))
		return;
	memmove(b->p + at + h, b->p + at, len);
	memcpy(b->p + at, hdr, h);
	b->n += h;
}

void
pb_free(struct pb_buf *b)
{
	free(b->p);
	*b = (struct pb_buf){ 0 };
}
