/*
 * stream.c - DLS v1 records to bytes and back: validation in the order of
 * dl-stream(5) (header CRC before any field is used, limits before any
 * allocation, buffers that grow only as bytes arrive), the streaming reader
 * (pipes, files, memory; whole-stream zstd sniffed by magic), the atomic
 * writer, and an index for random access to records of a regular file.
 * The layout is documented in formats/stream.h.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "dls.h"
#include "formats.h"
#include "stream.h"

#define IOBUF (1u << 20)		/* read and write chunks: 1 MiB (pipes) */
#define DIRECT (256u << 10)		/* larger reads/writes bypass the buffer */

#ifdef DLS_FUZZING
#define CRC_MISMATCH(a, b) 0
#else
#define CRC_MISMATCH(a, b) ((a) != (b))
#endif

static uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }
static void st16(uint8_t *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void st32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void st64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

static int
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Printable rendering of untrusted bytes for messages: never raw (the one
 * escape of lib/err.c, dl_escn; buf and cap are left from before it). */
static const char *
esc(const uint8_t *p, size_t n, char *buf, size_t cap)
{
	(void)buf, (void)cap;
	return dl_escn(p, n);
}

/* ---- validation, shared by every reader and the fuzzer ---- */

const char *
dls_sniff_foreign(const uint8_t *b, size_t n)
{
	static const struct { const char *magic; size_t len; const char *what; } m[] = {
		{ "\x1f\x8b", 2, "gzip-compressed: decompress it first (zcat)" },
		{ "\xfd" "7zXZ\0", 6, "xz-compressed: decompress it first (xzcat)" },
		{ "BZh", 3, "bzip2-compressed: decompress it first (bzcat)" },
		{ "\x04\x22\x4d\x18", 4, "lz4-compressed: decompress it first (lz4cat)" },
		{ "\x93NUMPY", 6, "a NumPy .npy file: use dl-import npy" },
		{ "PK\x03\x04", 4, "a zip archive: use dl-import folder" },
		{ "\x89PNG", 4, "a PNG image: use dl-import png" },
		{ "\0\0\x08\x03", 4, "an IDX image file: use dl-import idx" },
		{ "\0\0\x08\x01", 4, "an IDX label file: use dl-import idx" },
		{ "version https://git-lfs", 23, "a Git LFS pointer, not the data: git lfs pull" },
		{ "<!DOCTYPE", 9, "an HTML page" }, { "<html", 5, "an HTML page" },
		{ "<HTML", 5, "an HTML page" },
		{ "\x89" "DLS\n\x1a\n", 7, "a DLS stream damaged by text-mode conversion (CR LF -> LF)" },
	};

	for (size_t i = 0; i < sizeof m / sizeof *m; i++)
		if (n >= m[i].len && !memcmp(b, m[i].magic, m[i].len))
			return m[i].what;
	if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7')
		return "a netpbm image";
	if (n >= 262 && !memcmp(b + 257, "ustar", 5))
		return "a tar archive: use dl-import folder";
	return NULL;
}

int
dls_stream_header_check(const uint8_t *b, int verify)
{
	uint32_t crc = ld32(b + 60), want = dl_crc32c(0, b, 60);

	if (memcmp(b, DLS_MAGIC, 8))
		return dl_seterr(DL_EFORMAT, "not a DLS stream");
	if (verify && CRC_MISMATCH(crc, want))
		return dl_seterr(DL_EFORMAT, "stream header checksum mismatch (stored 0x%08x, computed 0x%08x)",
		                 crc, want);
	if (ld16(b + 8) != DLS_MAJOR)
		return dl_seterr(DL_EFORMAT, "unsupported version %u.%u (this reader reads 1.x)",
		                 ld16(b + 8), ld16(b + 10));
	if (ld32(b + 12))
		return dl_seterr(DL_EFORMAT, "unknown stream flags 0x%08x (must-understand)", ld32(b + 12));
	if (!all_zero(b + 16, 44))
		return dl_seterr(DL_EFORMAT, "stream header reserved bytes 16..59 are not zero");
	return 0;
}

void
dls_put_stream_header(uint8_t *b)
{
	memset(b, 0, 64);
	memcpy(b, DLS_MAGIC, 8);
	st16(b + 8, DLS_MAJOR);
	st16(b + 10, DLS_MINOR);
	st32(b + 60, dl_crc32c(0, b, 60));
}

static int
tag_known(const char *t)
{
	return !strcmp(t, "HEAD") || !strcmp(t, "DATA") || !strcmp(t, "MARK") ||
	       !strcmp(t, "ENDS") || !strcmp(t, "ABRT");
}

int
dls_record_header_parse(const uint8_t *b, struct dls_rhdr *h, uint64_t max_record,
                        uint32_t max_prelude, int verify)
{
	uint32_t crc = ld32(b + 60), want = dl_crc32c(0, b, 60);
	char e[64];

	if (verify && CRC_MISMATCH(crc, want))
		return dl_seterr(DL_EFORMAT, "record header checksum mismatch (stored 0x%08x, computed 0x%08x)",
		                 crc, want);
	for (int i = 0; i < 4; i++) {
		uint8_t c = b[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return dl_seterr(DL_EFORMAT, "bad record tag '%s'", esc(b, 4, e, sizeof e));
	}
	memcpy(h->tag, b, 4);
	h->tag[4] = 0;
	h->flags = ld32(b + 4);
	h->seq = ld64(b + 8);
	h->record_size = ld64(b + 16);
	h->prelude_size = ld32(b + 24);
	h->n_tensors = ld32(b + 28);
	h->n_kv = ld32(b + 32);
	h->marker = ld32(b + 36);
	h->prelude_crc = ld32(b + 40);
	h->payload_crc = ld32(b + 44);
	if (!(h->tag[0] & 0x20) && !tag_known(h->tag))
		return dl_seterr(DL_EFORMAT, "unknown critical record type '%s'", h->tag);
	if (h->flags)
		return dl_seterr(DL_EFORMAT, "unknown record flags 0x%08x (must-understand)", h->flags);
	if (!all_zero(b + 48, 12))
		return dl_seterr(DL_EFORMAT, "record header reserved bytes 48..59 are not zero");
	if (!strcmp(h->tag, "MARK") && !h->marker)
		return dl_seterr(DL_EFORMAT, "MARK record with marker code 0");
	if (strcmp(h->tag, "MARK") && h->marker)
		return dl_seterr(DL_EFORMAT, "marker code %u on a %s record", h->marker, h->tag);
	if (h->prelude_size % 64 || h->record_size % 64)
		return dl_seterr(DL_EFORMAT, "bad sizes: record %llu and prelude %u bytes must be multiples of 64",
		                 (unsigned long long)h->record_size, h->prelude_size);
	if (h->record_size < 64 + (uint64_t)h->prelude_size)
		return dl_seterr(DL_EFORMAT, "bad sizes: record %llu bytes cannot hold its header and %u-byte prelude",
		                 (unsigned long long)h->record_size, h->prelude_size);
	if (h->prelude_size > max_prelude)
		return dl_seterr(DL_EFORMAT, "prelude of %u bytes is over the limit of %u bytes",
		                 h->prelude_size, max_prelude);
	if (h->record_size > max_record)
		return dl_seterr(DL_EFORMAT, "record of %llu bytes is over the limit of %llu bytes (--max-record)",
		                 (unsigned long long)h->record_size, (unsigned long long)max_record);
	if (16 * (uint64_t)h->n_tensors + 16 * (uint64_t)h->n_kv > h->prelude_size)
		return dl_seterr(DL_EFORMAT, "%u tensors and %u key/values cannot fit a %u-byte prelude",
		                 h->n_tensors, h->n_kv, h->prelude_size);
	return 0;
}

static int
utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		uint32_t cp;
		int len;

		if (c < 0x80) {
			if (!c)
				return 0;	/* a NUL would end the value early in C */
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + (size_t)len > n)
			return 0;
		for (int k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += (size_t)len;
	}
	return 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names must be unique: sort pointers and compare neighbours (O(n log n)
 * even for a hostile prelude of 65536 descriptors). */
static int
find_duplicate(const char **names, size_t n, const char *what)
{
	if (n < 2)
		return 0;
	qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(names[i - 1], names[i]))
			return dl_seterr(DL_EFORMAT, "duplicate %s '%s'", what, names[i]);
	return 0;
}

static int
grow_array(void **p, int *cap, int need, size_t elem)
{
	void *q;

	if (need <= *cap)
		return 0;
	if (!(q = realloc(*p, (size_t)need * elem)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	*p = q;
	*cap = need;
	return 0;
}

int
dls_prelude_parse(struct dl_record *rec, const struct dls_rhdr *h, int verify)
{
	const uint8_t *p = rec->raw, *q;
	size_t n = h->prelude_size, at = 0;
	uint64_t end = 0, payload = h->record_size - 64 - h->prelude_size;
	const char **names = NULL;
	char e[1100];
	int rc = 0;

	if (verify && CRC_MISMATCH(h->prelude_crc, dl_crc32c(0, p, n)))
		return dl_seterr(DL_EFORMAT, "prelude checksum mismatch (stored 0x%08x, computed 0x%08x)",
		                 h->prelude_crc, dl_crc32c(0, p, n));
	dl_record_clear(rec, h->tag);
	rec->raw_len = h->record_size - 64;	/* what the caller reads into raw */
	rec->marker = h->marker;
	if ((rc = grow_array((void **)&rec->tensors, &rec->cap_tensors, (int)h->n_tensors, sizeof *rec->tensors)) < 0 ||
	    (rc = grow_array((void **)&rec->kv, &rec->cap_kv, (int)h->n_kv, sizeof *rec->kv)) < 0)
		return rc;
	if (!(names = malloc(((size_t)h->n_tensors + h->n_kv + 1) * sizeof *names)))
		return dl_seterr(DL_ENOMEM, "out of memory");

	for (uint32_t i = 0; i < h->n_tensors; i++) {
		struct dl_tensor *t = &rec->tensors[i];
		uint64_t count = 1, bytes, start;
		size_t len, desc;
		uint32_t flags;
		int nd;

		if (n - at < 8) {
			rc = dl_seterr(DL_EFORMAT, "tensor %u: descriptor runs past the prelude end", i);
			goto out;
		}
		q = p + at;
		t->dtype = q[0];
		nd = q[1];
		len = ld16(q + 2);
		flags = ld32(q + 4);
		if (!dl_dtype_size(t->dtype)) {
			rc = dl_seterr(DL_EFORMAT, "tensor %u: bad dtype 0x%02x", i, (unsigned)t->dtype);
			goto out;
		}
		if (nd > DL_MAX_NDIM) {
			rc = dl_seterr(DL_EFORMAT, "tensor %u: ndim %d, at most %d", i, nd, DL_MAX_NDIM);
			goto out;
		}
		if (flags) {
			rc = dl_seterr(DL_EFORMAT, "tensor %u: unknown flags 0x%08x", i, flags);
			goto out;
		}
		desc = 8 + 8 * (size_t)nd + len;
		desc = (desc + 7) & ~(size_t)7;
		if (len < 1 || len > DL_MAX_NAME || desc > n - at) {
			rc = dl_seterr(DL_EFORMAT, "tensor %u: name of %zu bytes is invalid or runs past the prelude end",
			               i, len);
			goto out;
		}
		t->ndim = nd;
		for (int k = 0; k < nd; k++) {
			t->shape[k] = ld64(q + 8 + 8 * k);
			if (__builtin_mul_overflow(count, t->shape[k], &count)) {
				rc = dl_seterr(DL_EFORMAT, "tensor %u: shape overflows: the descriptors need more than 2^64 bytes", i);
				goto out;
			}
		}
		q += 8 + 8 * nd;
		if (!dl_name_valid((const char *)q, len)) {
			rc = dl_seterr(DL_EFORMAT, "tensor %u: invalid name '%s'", i, esc(q, len, e, 1024));
			goto out;
		}
		memcpy(t->name, q, len);
		t->name[len] = 0;
		if (!all_zero(q + len, desc - (8 + 8 * (size_t)nd + len))) {
			rc = dl_seterr(DL_EFORMAT, "tensor %s: descriptor padding not 0", t->name);
			goto out;
		}
		if (__builtin_mul_overflow(count, (uint64_t)dl_dtype_size(t->dtype), &bytes) ||
		    (start = dls_align64(end)) < end || __builtin_add_overflow(start, bytes, &end) ||
		    end > UINT64_MAX - 63) {
			rc = dl_seterr(DL_EFORMAT, "tensor %s: size overflows: the descriptors need more than 2^64 bytes",
			               t->name);
			goto out;
		}
		if (end > payload) {
			rc = dl_seterr(DL_EFORMAT, "tensor %s needs payload bytes up to %llu, the payload has %llu",
			               t->name, (unsigned long long)end, (unsigned long long)payload);
			goto out;
		}
		t->nbytes = bytes;
		t->data = (void *)(uintptr_t)start;	/* offset; made a pointer once raw is read */
		t->owned = 0;
		names[i] = t->name;
		rec->n_tensors = (int)i + 1;
		at += desc;
	}
	if ((rc = find_duplicate(names, h->n_tensors, "tensor name")) < 0)
		goto out;
	if (dls_align64(end) != payload) {
		rc = dl_seterr(DL_EFORMAT, "payload is %llu bytes, the descriptors imply %llu",
		               (unsigned long long)payload, (unsigned long long)dls_align64(end));
		goto out;
	}

	for (uint32_t i = 0; i < h->n_kv; i++) {
		struct dl_kv *kv = &rec->kv[i];
		uint64_t klen, vlen, ent;

		if (n - at < 8) {
			rc = dl_seterr(DL_EFORMAT, "key/value %u runs past the prelude end", i);
			goto out;
		}
		q = p + at;
		klen = ld32(q);
		vlen = ld32(q + 4);
		ent = (8 + klen + vlen + 7) & ~(uint64_t)7;
		if (klen < 1 || klen > DL_MAX_NAME || ent > n - at) {
			rc = dl_seterr(DL_EFORMAT, "key/value %u: key of %llu and value of %llu bytes run past the prelude end",
			               i, (unsigned long long)klen, (unsigned long long)vlen);
			goto out;
		}
		if (!dl_name_valid((const char *)q + 8, klen)) {
			rc = dl_seterr(DL_EFORMAT, "key/value %u: invalid key '%s'", i, esc(q + 8, klen, e, 1024));
			goto out;
		}
		if (!utf8_valid(q + 8 + klen, vlen)) {
			rc = dl_seterr(DL_EFORMAT, "key/value %u: value is not valid UTF-8 (or holds NUL)", i);
			goto out;
		}
		if (!all_zero(q + 8 + klen + vlen, ent - 8 - klen - vlen)) {
			rc = dl_seterr(DL_EFORMAT, "key/value %u: padding not 0", i);
			goto out;
		}
		kv->key = strndup((const char *)q + 8, klen);
		kv->val = strndup((const char *)q + 8 + klen, vlen);
		kv->val_len = vlen;
		rec->n_kv = (int)i + 1;
		if (!kv->key || !kv->val) {
			rc = dl_seterr(DL_ENOMEM, "out of memory");
			goto out;
		}
		names[i] = kv->key;
		at += ent;
	}
	if ((rc = find_duplicate(names, h->n_kv, "key")) < 0)
		goto out;
	if (dls_align64(at) != n || !all_zero(p + at, n - at)) {
		rc = dl_seterr(DL_EFORMAT, "prelude has %zu unexplained trailing bytes", n - at);
		goto out;
	}
out:
	free(names);
	return rc;
}

int
dls_payload_check(const struct dl_record *rec, const struct dls_rhdr *h, int verify)
{
	const uint8_t *pay = (const uint8_t *)rec->raw + h->prelude_size;
	uint64_t size = h->record_size - 64 - h->prelude_size, at = 0;
	uint32_t crc;

	if (verify && CRC_MISMATCH(h->payload_crc, crc = dl_crc32c(0, pay, size)))
		return dl_seterr(DL_EFORMAT, "payload checksum mismatch (stored 0x%08x, computed 0x%08x)",
		                 h->payload_crc, crc);
	for (int i = 0; i < rec->n_tensors; i++) {
		const struct dl_tensor *t = &rec->tensors[i];
		const uint8_t *d = t->data;
		uint64_t start = (uint64_t)(d - pay);

		if (!all_zero(pay + at, start - at))
			return dl_seterr(DL_EFORMAT, "payload padding not 0 before tensor %s", t->name);
		if (t->dtype == DL_BOOL)
			for (size_t k = 0; k < t->nbytes; k++)
				if (d[k] > 1)
					return dl_seterr(DL_EFORMAT, "tensor %s: bool not 0/1 (byte %u at element %zu)",
					                 t->name, d[k], k);
		at = start + t->nbytes;
	}
	if (!all_zero(pay + at, size - at))
		return dl_seterr(DL_EFORMAT, "payload padding not 0 after the last tensor");
	return 0;
}

/* Turn the offsets left by dls_prelude_parse into pointers into raw. */
static void
bind_tensors(struct dl_record *rec)
{
	uint8_t *pay = (uint8_t *)rec->raw + rec->prelude_size;

	for (int i = 0; i < rec->n_tensors; i++)
		rec->tensors[i].data = pay + (uintptr_t)rec->tensors[i].data;
}

static int
raw_reserve(struct dl_record *rec, size_t n)
{
	void *p;

	if (n == 0)	/* a buffer even for an empty record: no arithmetic on NULL */
		n = 64;
	if (n <= rec->raw_cap && rec->raw)
		return 0;
	if (!(p = dl_realloc(rec->raw, rec->raw_cap, n)))
		return -DL_ENOMEM;
	rec->raw = p;
	rec->raw_cap = n;
	return 0;
}

/* ---- input: one source of decoded bytes (fd, memory; plain or zstd) ---- */

struct src {
	int fd;				/* -1: memory */
	char *name;
	uint8_t *in;			/* bytes as read (compressed when zstd) */
	size_t in_pos, in_len, in_cap;
	int in_eof;
	const uint8_t *mem;		/* memory source */
	ZSTD_DCtx *z;			/* non-NULL: zstd */
	uint8_t *out;			/* decoded bytes (zstd) */
	size_t out_pos, out_len;
	int frame_open;			/* zstd: inside a frame */
	uint64_t consumed;		/* decoded bytes handed out */
};

static int
src_fill(struct src *s)		/* more raw bytes; 0 at EOF */
{
	ssize_t n;

	if (s->in_eof)
		return 0;
	if (s->fd < 0) {
		s->in_eof = 1;
		return 0;
	}
	if (s->in_pos == s->in_len)
		s->in_pos = s->in_len = 0;
	do
		n = read(s->fd, s->in + s->in_len, s->in_cap - s->in_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return dl_seterr(DL_EIO, "%s: read:", s->name);
	if (n == 0)
		s->in_eof = 1;
	s->in_len += (size_t)n;
	return (int)(n > 0);
}

static int
zstd_err(struct src *s, size_t r)
{
	if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
		return dl_seterr(DL_EFORMAT, "zstd frame requires too much memory: window limit 128 MiB "
		                 "(was it made with zstd --long?)");
	return dl_seterr(DL_EFORMAT, "zstd: %s", ZSTD_getErrorName(r));
}

/* Decode into dst[0..n): returns bytes produced (0 at clean EOF). */
static ssize_t
src_zstd(struct src *s, uint8_t *dst, size_t n)
{
	ZSTD_outBuffer ob = { dst, n, 0 };
	int rc;

	for (;;) {
		if (s->in_pos == s->in_len && !s->in_eof) {
			if ((rc = src_fill(s)) < 0)
				return rc;
		}
		if (s->in_pos == s->in_len && s->in_eof) {
			if (s->frame_open)
				return dl_seterr(DL_EFORMAT, "zstd stream cut short (incomplete frame)");
			return 0;
		}
		ZSTD_inBuffer ib = { s->in + s->in_pos, s->in_len - s->in_pos, 0 };
		size_t r = ZSTD_decompressStream(s->z, &ob, &ib);
		s->in_pos += ib.pos;
		if (ZSTD_isError(r))
			return zstd_err(s, r);
		s->frame_open = r != 0;
		if (ob.pos)
			return (ssize_t)ob.pos;
	}
}

/* Read exactly n decoded bytes into dst unless EOF comes first: returns
 * the count read (< n only at EOF) or a negative code. */
static ssize_t
src_read(struct src *s, void *dst, size_t n)
{
	uint8_t *d = dst;
	size_t got = 0, k;
	ssize_t r;

	while (got < n) {
		if (s->z) {
			if (s->out_pos < s->out_len) {
				k = s->out_len - s->out_pos < n - got ? s->out_len - s->out_pos : n - got;
				memcpy(d + got, s->out + s->out_pos, k);
				s->out_pos += k;
				got += k;
				continue;
			}
			if (n - got >= DIRECT)
				r = src_zstd(s, d + got, n - got);
			else if ((r = src_zstd(s, s->out, IOBUF)) > 0) {
				s->out_pos = 0;
				s->out_len = (size_t)r;
				continue;
			}
			if (r < 0)
				return r;
			if (r == 0)
				break;
			got += (size_t)r;
			continue;
		}
		if (s->in_pos < s->in_len) {
			k = s->in_len - s->in_pos < n - got ? s->in_len - s->in_pos : n - got;
			memcpy(d + got, s->in + s->in_pos, k);
			s->in_pos += k;
			got += k;
			continue;
		}
		if (s->fd >= 0 && n - got >= DIRECT && !s->in_eof) {
			do
				r = read(s->fd, d + got, n - got);
			while (r < 0 && errno == EINTR);
			if (r < 0)
				return dl_seterr(DL_EIO, "%s: read:", s->name);
			if (r == 0) {
				s->in_eof = 1;
				break;
			}
			got += (size_t)r;
			continue;
		}
		if ((r = src_fill(s)) < 0)
			return r;
		if (r == 0)
			break;
	}
	s->consumed += got;
	return (ssize_t)got;
}

/* 1 if b[0..n) starts with a zstd frame or a skippable frame. */
static int
zstd_magic(const uint8_t *b, size_t n)
{
	return n >= 4 && ((b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) ||
	                  ((b[0] & 0xf0) == 0x50 && b[1] == 0x2a && b[2] == 0x4d && b[3] == 0x18));
}

int
dl_file_is_zstd(const char *path)
{
	uint8_t m[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, m, sizeof m);
	close(fd);
	return n > 0 && zstd_magic(m, (size_t)n);
}

int
dl_file_regular(const char *path)
{
	struct stat st;

	if (!path || !strcmp(path, "-"))
		return 0;
	if (stat(path, &st) < 0)
		return -1;
	return S_ISREG(st.st_mode);
}

/* Look at the first bytes and switch to zstd when they say so. */
static int
src_sniff(struct src *s)
{
	int rc;

	while (s->in_len < 4 && !s->in_eof)
		if ((rc = src_fill(s)) < 0)
			return rc;
	if (zstd_magic(s->in, s->in_len)) {
		if (!(s->z = ZSTD_createDCtx()) || !(s->out = dl_alloc(IOBUF)))
			return dl_seterr(DL_ENOMEM, "out of memory");
		ZSTD_DCtx_setParameter(s->z, ZSTD_d_windowLogMax, DLS_ZSTD_WINDOW_LOG_MAX);
	}
	return 0;
}

static void
src_close(struct src *s)
{
	if (s->fd > 2)
		close(s->fd);
	ZSTD_freeDCtx(s->z);
	dl_free(s->out);
	if (s->fd >= 0)
		dl_free(s->in);
	free(s->name);
	memset(s, 0, sizeof *s);
	s->fd = -1;
}

static int
src_open_fd(struct src *s, int fd, const char *name, int allow_tty)
{
	memset(s, 0, sizeof *s);
	s->fd = fd;
	if (!(s->name = strdup(name)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	if (!allow_tty && isatty(fd))
		return dl_seterr(DL_EUSAGE, "%s: refusing to read a binary stream from a terminal", name);
#ifdef F_SETPIPE_SZ
	fcntl(fd, F_SETPIPE_SZ, IOBUF);
#endif
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	s->in_cap = IOBUF;
	if (!(s->in = dl_alloc(s->in_cap)))
		return -DL_ENOMEM;
	return src_sniff(s);
}

/* ---- the reader ---- */

struct dl_reader {
	struct dl_reader_opts o;
	struct src src;
	char **paths;			/* files still to open (open_many) */
	int n_paths, next_path;
	int state;			/* 0: stream header next; 1: in a stream; 2: done */
	int streams;			/* streams begun in the current source */
	uint64_t seq;			/* next expected seq */
	uint64_t rec_start;		/* offset of the record being read */
	uint64_t n_out;			/* records returned */
	struct dl_record *head;		/* the first HEAD */
	int failed;
};

static void
opts_default(struct dl_reader_opts *d, const struct dl_reader_opts *o)
{
	*d = o ? *o : (struct dl_reader_opts){ 0 };
	if (!d->max_record)
		d->max_record = DLS_DEFAULT_MAX_RECORD;
	if (!d->max_prelude)
		d->max_prelude = DLS_DEFAULT_MAX_PRELUDE;
	if (d->max_prelude > DLS_MAX_PRELUDE_CEILING)
		d->max_prelude = DLS_MAX_PRELUDE_CEILING;
}

static struct dl_reader *
reader_new(const struct dl_reader_opts *o)
{
	struct dl_reader *r = calloc(1, sizeof *r);

	if (!r) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	opts_default(&r->o, o);
	r->src.fd = -1;
	return r;
}

static int
open_path(struct dl_reader *r, const char *path)
{
	int fd = 0;

	if (path && strcmp(path, "-")) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return dl_seterr(DL_EIO, "%s:", path);
	} else {
		path = "stdin";
	}
	r->state = 0;
	r->streams = 0;
	return src_open_fd(&r->src, fd, path, r->o.allow_tty);
}

struct dl_reader *
dl_reader_open(const char *path, const struct dl_reader_opts *o)
{
	struct dl_reader *r = reader_new(o);

	if (r && open_path(r, path) < 0) {
		dl_reader_close(r);
		return NULL;
	}
	return r;
}

struct dl_reader *
dl_reader_fdopen(int fd, const char *name, const struct dl_reader_opts *o)
{
	struct dl_reader *r = reader_new(o);

	if (r && src_open_fd(&r->src, fd, name ? name : "stdin", r->o.allow_tty) < 0) {
		dl_reader_close(r);
		return NULL;
	}
	return r;
}

struct dl_reader *
dl_reader_open_many(char **paths, int n, const struct dl_reader_opts *o)
{
	struct dl_reader *r;

	if (n <= 0)
		return dl_reader_open(NULL, o);
	if (!(r = reader_new(o)))
		return NULL;
	r->paths = paths;
	r->n_paths = n;
	r->next_path = 1;
	if (open_path(r, paths[0]) < 0) {
		dl_reader_close(r);
		return NULL;
	}
	return r;
}

struct dl_reader *
dl_reader_memopen(const void *buf, size_t n, const char *name, const struct dl_reader_opts *o)
{
	struct dl_reader *r = reader_new(o);

	if (!r)
		return NULL;
	r->src.fd = -1;
	r->src.name = strdup(name ? name : "memory");
	r->src.in = (uint8_t *)buf;
	r->src.in_len = r->src.in_cap = n;
	r->src.in_eof = 1;
	if (!r->src.name || src_sniff(&r->src) < 0) {
		dl_reader_close(r);
		return NULL;
	}
	return r;
}

void
dl_reader_close(struct dl_reader *r)
{
	if (!r)
		return;
	src_close(&r->src);
	dl_record_free(r->head);
	free(r);
}

const char *dl_reader_name(const struct dl_reader *r) { return r->src.name ? r->src.name : "stdin"; }
uint64_t dl_reader_offset(const struct dl_reader *r) { return r->src.consumed; }
uint64_t dl_reader_records(const struct dl_reader *r) { return r->n_out; }

/* Put the where-context in front of the message already set. */
static int
fail(struct dl_reader *r, int rc, const char *tag)
{
	if (r->state == 1)
		dl_errprefix("%s: record %llu%s%s%s at byte %llu", dl_reader_name(r),
		             (unsigned long long)r->seq, tag ? " (" : "", tag ? tag : "", tag ? ")" : "",
		             (unsigned long long)r->rec_start);
	else
		dl_errprefix("%s: at byte %llu", dl_reader_name(r), (unsigned long long)r->rec_start);
	r->failed = rc;
	return rc;
}

/* Nothing at all: on a pipe, as a rule the program before failed. */
static int
empty_input(const struct dl_reader *r)
{
	struct stat st;

	if (r->src.fd >= 0 && fstat(r->src.fd, &st) == 0 && S_ISFIFO(st.st_mode))
		return dl_seterr(DL_EFORMAT, "%s: empty input: nothing came down the pipe (the "
		    "program before this one failed or wrote nothing; its message, if any, is "
		    "above)", dl_reader_name(r));
	return dl_seterr(DL_EFORMAT, "%s: empty input (0 bytes, not a stream)", dl_reader_name(r));
}

static int
read_stream_header(struct dl_reader *r)
{
	uint8_t b[64];
	const char *what;
	char e[64];
	ssize_t n;
	int rc;

	r->rec_start = r->src.consumed;
	if ((n = src_read(&r->src, b, 64)) < 0)
		return fail(r, (int)n, NULL);
	if (n == 0 && r->streams)
		return 0;			/* clean end of this source */
	if (n == 0 && !r->streams) {
		r->failed = empty_input(r);
		return r->failed;
	}
	if (r->streams && (n < 8 || memcmp(b, DLS_MAGIC, 8)))
		return fail(r, dl_seterr(DL_EFORMAT, "data after ENDS (%s%s)", esc(b, n < 8 ? (size_t)n : 8, e, sizeof e),
		                         n < 8 ? "" : "..."), NULL);
	if ((size_t)n < 64 && !memcmp(b, DLS_MAGIC, (size_t)n < 8 ? (size_t)n : 8))
		return fail(r, dl_seterr(DL_EFORMAT, "truncated input: stream header needs 64 bytes, only %zd",
		                         n), NULL);
	if (n < 8 || memcmp(b, DLS_MAGIC, 8)) {
		if ((what = dls_sniff_foreign(b, (size_t)n)) ||
		    (what = dls_sniff_foreign(r->src.in, r->src.in_len)))
			return fail(r, dl_seterr(DL_EFORMAT, "input is not a DLS stream: it is %s", what), NULL);
		return fail(r, dl_seterr(DL_EFORMAT, "input is not a DLS stream (starts '%s')",
		                         esc(b, n < 8 ? (size_t)n : 8, e, sizeof e)), NULL);
	}
	if ((rc = dls_stream_header_check(b, 1)) < 0)
		return fail(r, rc, NULL);
	r->streams++;
	r->state = 1;
	r->seq = 0;
	return 1;
}

/* Read the prelude and payload of a record whose header is h into rec. */
static int
read_body(struct dl_reader *r, const struct dls_rhdr *h, struct dl_record *rec)
{
	uint64_t payload = h->record_size - 64 - h->prelude_size, have, want;
	ssize_t n;
	int rc;

	if ((rc = raw_reserve(rec, h->prelude_size)) < 0)
		return rc;
	if ((n = src_read(&r->src, rec->raw, h->prelude_size)) < 0)
		return (int)n;
	if ((uint64_t)n < h->prelude_size)
		return dl_seterr(DL_EFORMAT, "truncated prelude: needs %u bytes, only %zd arrived",
		                 h->prelude_size, n);
	if ((rc = dls_prelude_parse(rec, h, 1)) < 0)
		return rc;
	rec->prelude_size = h->prelude_size;
	/* The payload: all at once when small, else grow as bytes arrive so a
	 * lying header costs at most about twice what was received. */
	have = 0;
	want = payload < DLS_GROW_THRESHOLD ? payload : DLS_GROW_THRESHOLD;
	for (;;) {
		if ((rc = raw_reserve(rec, h->prelude_size + want)) < 0)
			return rc;
		if ((n = src_read(&r->src, (uint8_t *)rec->raw + h->prelude_size + have, want - have)) < 0)
			return (int)n;
		have += (uint64_t)n;
		if (have < want)
			return dl_seterr(DL_EFORMAT, "truncated payload: needs %llu bytes, only %llu arrived",
			                 (unsigned long long)payload, (unsigned long long)have);
		if (have == payload)
			break;
		want = payload - want < want ? payload : 2 * want;
	}
	rec->raw_len = h->prelude_size + payload;
	bind_tensors(rec);
	if ((rc = dls_payload_check(rec, h, !r->o.no_verify)) < 0)
		return rc;
	rec->prelude_crc = h->prelude_crc;
	rec->payload_crc = h->payload_crc;
	rec->raw_valid = 1;
	return 0;
}

static int
next_record(struct dl_reader *r, struct dl_record *rec)
{
	struct dls_rhdr h;
	uint8_t b[64];
	ssize_t n;
	int rc;

	for (;;) {
		if (r->state == 2)
			return 0;
		if (r->state == 0) {
			if ((rc = read_stream_header(r)) < 0)
				return rc;
			if (rc == 0) {		/* source done: next file, or the end */
				if (r->next_path >= r->n_paths) {
					r->state = 2;
					return 0;
				}
				src_close(&r->src);
				if ((rc = open_path(r, r->paths[r->next_path++])) < 0)
					return fail(r, rc, NULL);
				continue;
			}
		}
		r->rec_start = r->src.consumed;
		if ((n = src_read(&r->src, b, 64)) < 0)
			return fail(r, (int)n, NULL);
		if (n == 0)
			return fail(r, dl_seterr(DL_EFORMAT, "truncated: the stream ended without an ENDS record"),
			            NULL);
		if (n >= 8 && !memcmp(b, DLS_MAGIC, 8))
			return fail(r, dl_seterr(DL_EFORMAT, "a new stream starts here, but the previous one "
			                         "has no ENDS record (truncated)"), NULL);
		if (n < 64)
			return fail(r, dl_seterr(DL_EFORMAT, "truncated record header: needs 64 bytes, only %zd",
			                         n), NULL);
		if ((rc = dls_record_header_parse(b, &h, r->o.max_record, r->o.max_prelude, 1)) < 0)
			return fail(r, rc, NULL);
		if (h.seq != r->seq)
			return fail(r, dl_seterr(DL_EFORMAT, "sequence number %llu, expected %llu",
			                         (unsigned long long)h.seq, (unsigned long long)r->seq), h.tag);
		if (r->seq == 0 && strcmp(h.tag, "HEAD"))
			return fail(r, dl_seterr(DL_EFORMAT, "HEAD not first: the stream starts with %s", h.tag),
			            h.tag);
		if (r->seq && !strcmp(h.tag, "HEAD"))
			return fail(r, dl_seterr(DL_EFORMAT, "a second HEAD in one stream: HEAD not first"), h.tag);
		if ((rc = read_body(r, &h, rec)) < 0)
			return fail(r, rc, h.tag);
		r->seq++;
		if (!strcmp(h.tag, "ENDS")) {
			r->state = 0;
			continue;
		}
		if (!strcmp(h.tag, "ABRT")) {
			const char *m = dl_record_get(rec, "message");
			char e[600];
			r->seq--;
			return fail(r, dl_seterr(DL_EFORMAT, "upstream failed: %s",
			                         m ? esc((const uint8_t *)m, strlen(m) < 128 ? strlen(m) : 128, e, sizeof e)
			                           : "(no message)"), NULL);
		}
		return 1;
	}
}

int
dl_reader_next(struct dl_reader *r, struct dl_record *rec)
{
	int rc;

	if (r->failed)
		return r->failed;
	if (!r->head && !dl_reader_head(r))	/* the first HEAD is dl_reader_head()'s */
		return r->failed ? r->failed : -DL_EFORMAT;
	rc = next_record(r, rec);
	if (rc > 0)
		r->n_out++;
	return rc;
}

const struct dl_record *
dl_reader_head(struct dl_reader *r)
{
	int rc;

	if (r->head)
		return r->head;
	if (r->failed)
		return NULL;
	if (!(r->head = dl_record_new(DL_TAG_HEAD)))
		return NULL;
	rc = next_record(r, r->head);
	if (rc == 0) {
		rc = empty_input(r);
		r->failed = rc;
	}
	if (rc < 0) {
		dl_record_free(r->head);
		r->head = NULL;
		return NULL;
	}
	return r->head;
}

/* ---- the writer ---- */

struct dl_writer {
	int fd;
	char *name;			/* for messages */
	struct dl_atomic file;		/* -o FILE: written atomically; file.tmp NULL: a pipe */
	ZSTD_CCtx *z;
	uint8_t *buf;			/* staged bytes (compressed when zstd) */
	size_t len, cap;
	uint8_t *pre;			/* prelude scratch */
	size_t pre_cap;
	uint64_t seq;
	uint64_t since_flush;		/* zstd: input bytes since the last flush */
	int failed;
};

static int
wfail(struct dl_writer *w, int rc)
{
	w->failed = rc;
	return rc;
}

static int
write_all(struct dl_writer *w, const void *p, size_t n)
{
	const uint8_t *c = p;
	ssize_t k;

	while (n) {
		k = write(w->fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EPIPE)
			return wfail(w, dl_seterr(DL_EPIPE, "%s: downstream closed the pipe", w->name));
		if (k < 0)
			return wfail(w, dl_seterr(DL_EIO, "%s: write:", w->name));
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
out_flush_buf(struct dl_writer *w)
{
	int rc = 0;

	if (w->len)
		rc = write_all(w, w->buf, w->len);
	w->len = 0;
	return rc;
}

static int
out_zstd(struct dl_writer *w, const void *p, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer ib = { p, n, 0 };
	size_t r;
	int rc;

	do {
		ZSTD_outBuffer ob = { w->buf, w->cap, w->len };
		r = ZSTD_compressStream2(w->z, &ob, &ib, mode);
		if (ZSTD_isError(r))
			return wfail(w, dl_seterr(DL_EIO, "zstd: %s", ZSTD_getErrorName(r)));
		w->len = ob.pos;
		if (w->len == w->cap || (mode != ZSTD_e_continue && w->len))
			if ((rc = out_flush_buf(w)) < 0)
				return rc;
	} while (ib.pos < ib.size || (mode != ZSTD_e_continue && r));
	w->since_flush += n;
	return 0;
}

static int
out(struct dl_writer *w, const void *p, size_t n)
{
	int rc;

	if (!n)
		return 0;
	if (w->z)
		return out_zstd(w, p, n, ZSTD_e_continue);
	if (n >= DIRECT) {
		if ((rc = out_flush_buf(w)) < 0)
			return rc;
		return write_all(w, p, n);
	}
	if (w->len + n > w->cap && (rc = out_flush_buf(w)) < 0)
		return rc;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

static const uint8_t zeros64[64];

static struct dl_writer *
writer_new(int fd, const char *name, const struct dl_writer_opts *o)
{
	struct dl_writer *w = calloc(1, sizeof *w);
	uint8_t sh[64];

	if (!w) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	w->fd = fd;
	w->cap = IOBUF;
	if (!(w->name = strdup(name)) || !(w->buf = dl_alloc(w->cap)))
		goto fail;
	if (o && !o->allow_tty && isatty(fd)) {
		dl_seterr(DL_EUSAGE, "refusing to write a binary stream to a terminal (use -o FILE or a pipe)");
		goto fail;
	}
	if (!o && isatty(fd)) {
		dl_seterr(DL_EUSAGE, "refusing to write a binary stream to a terminal (use -o FILE or a pipe)");
		goto fail;
	}
#ifdef F_SETPIPE_SZ
	fcntl(fd, F_SETPIPE_SZ, IOBUF);
#endif
	if (o && o->zstd_level > 0) {
		if (!(w->z = ZSTD_createCCtx()))
			goto fail;
		ZSTD_CCtx_setParameter(w->z, ZSTD_c_compressionLevel, o->zstd_level);
		ZSTD_CCtx_setParameter(w->z, ZSTD_c_checksumFlag, 1);
	}
	dls_put_stream_header(sh);
	if (out(w, sh, 64) < 0)
		goto fail;
	return w;
fail:
	if (!*dl_errmsg())
		dl_seterr(DL_ENOMEM, "out of memory");
	ZSTD_freeCCtx(w->z);
	dl_free(w->buf);
	free(w->name);
	free(w);
	return NULL;
}

struct dl_writer *
dl_writer_fdopen(int fd, const char *name, const struct dl_writer_opts *o)
{
	return writer_new(fd, name ? name : "stdout", o);
}

struct dl_writer *
dl_writer_open(const char *path, const struct dl_writer_opts *o)
{
	struct dl_writer_opts oo = o ? *o : (struct dl_writer_opts){ 0 };
	struct dl_writer *w;
	struct dl_atomic file;

	if (!path || !strcmp(path, "-"))
		return writer_new(1, "stdout", &oo);
	if (dl_atomic_open(&file, path) < 0)
		return NULL;
	oo.allow_tty = 1;
	if (!(w = writer_new(file.fd, path, &oo))) {
		dl_atomic_abort(&file);
		return NULL;
	}
	w->file = file;
	return w;
}

static int
pre_reserve(struct dl_writer *w, size_t n)
{
	void *p;

	if (n <= w->pre_cap)
		return 0;
	if (!(p = dl_realloc(w->pre, w->pre_cap, n)))
		return wfail(w, -DL_ENOMEM);
	w->pre = p;
	w->pre_cap = n;
	return 0;
}

static void
put_header(uint8_t *b, const char *tag, uint64_t seq, uint64_t size, uint32_t pre, uint32_t nt,
           uint32_t nkv, uint32_t marker, uint32_t pcrc, uint32_t dcrc)
{
	memset(b, 0, 64);
	memcpy(b, tag, 4);
	st64(b + 8, seq);
	st64(b + 16, size);
	st32(b + 24, pre);
	st32(b + 28, nt);
	st32(b + 32, nkv);
	st32(b + 36, marker);
	st32(b + 40, pcrc);
	st32(b + 44, dcrc);
	st32(b + 60, dl_crc32c(0, b, 60));
}

static int
check_tag(struct dl_writer *w, const struct dl_record *rec)
{
	if (w->failed)
		return w->failed;
	if (strlen(rec->tag) != 4)
		return dl_seterr(DL_EUSAGE, "bad tag '%s'", rec->tag);
	if ((w->seq == 0) != dl_record_is(rec, DL_TAG_HEAD))
		return dl_seterr(DL_EUSAGE, w->seq ? "HEAD written twice" : "the first record must be HEAD");
	if (dl_record_is(rec, DL_TAG_ENDS) || dl_record_is(rec, DL_TAG_ABRT))
		return dl_seterr(DL_EUSAGE, "%s is written by close/abort", rec->tag);
	if (dl_record_is(rec, DL_TAG_MARK) != (rec->marker != 0))
		return dl_seterr(DL_EUSAGE, "marker code %u on a %s record", rec->marker, rec->tag);
	return 0;
}

static int
maybe_flush(struct dl_writer *w, const struct dl_record *rec)
{
	if (w->z && (dl_record_is(rec, DL_TAG_MARK) || w->since_flush >= (8u << 20))) {
		w->since_flush = 0;
		return out_zstd(w, NULL, 0, ZSTD_e_flush);
	}
	return 0;
}

/* Encode rec (tags already checked) and write it. */
static int
encode(struct dl_writer *w, const struct dl_record *rec)
{
	uint64_t end = 0, size, start;
	uint32_t pcrc, dcrc = 0;
	size_t at = 0, need = 0;
	uint8_t h[64];
	int rc;

	for (int i = 0; i < rec->n_tensors; i++)
		need += (8 + 8 * (size_t)rec->tensors[i].ndim + strlen(rec->tensors[i].name) + 7) & ~(size_t)7;
	for (int i = 0; i < rec->n_kv; i++)
		need += (8 + strlen(rec->kv[i].key) + rec->kv[i].val_len + 7) & ~(size_t)7;
	need = dls_align64(need);
	if (need > DLS_DEFAULT_MAX_PRELUDE)
		return dl_seterr(DL_EUSAGE, "record prelude of %zu bytes is over the 1 MiB limit", need);
	if ((rc = pre_reserve(w, need ? need : 64)) < 0)
		return rc;
	memset(w->pre, 0, need);
	for (int i = 0; i < rec->n_tensors; i++) {
		const struct dl_tensor *t = &rec->tensors[i];
		size_t len = strlen(t->name);
		w->pre[at] = (uint8_t)t->dtype;
		w->pre[at + 1] = (uint8_t)t->ndim;
		st16(w->pre + at + 2, (uint16_t)len);
		for (int k = 0; k < t->ndim; k++)
			st64(w->pre + at + 8 + 8 * k, t->shape[k]);
		memcpy(w->pre + at + 8 + 8 * t->ndim, t->name, len);
		at += (8 + 8 * (size_t)t->ndim + len + 7) & ~(size_t)7;
		start = dls_align64(end);
		if (start) {
			dcrc = dl_crc32c(dcrc, zeros64, start - end);
		}
		dcrc = dl_crc32c(dcrc, t->data, t->nbytes);
		end = start + t->nbytes;
	}
	for (int i = 0; i < rec->n_kv; i++) {
		size_t kl = strlen(rec->kv[i].key), vl = rec->kv[i].val_len;
		st32(w->pre + at, (uint32_t)kl);
		st32(w->pre + at + 4, (uint32_t)vl);
		memcpy(w->pre + at + 8, rec->kv[i].key, kl);
		memcpy(w->pre + at + 8 + kl, rec->kv[i].val, vl);
		at += (8 + kl + vl + 7) & ~(size_t)7;
	}
	dcrc = dl_crc32c(dcrc, zeros64, dls_align64(end) - end);
	if (!end)
		dcrc = 0;
	size = 64 + need + dls_align64(end);
	pcrc = dl_crc32c(0, w->pre, need);
	put_header(h, rec->tag, w->seq, size, (uint32_t)need, (uint32_t)rec->n_tensors,
	           (uint32_t)rec->n_kv, rec->marker, pcrc, dcrc);
	if ((rc = out(w, h, 64)) < 0 || (rc = out(w, w->pre, need)) < 0)
		return rc;
	end = 0;
	for (int i = 0; i < rec->n_tensors; i++) {
		const struct dl_tensor *t = &rec->tensors[i];
		start = dls_align64(end);
		if ((rc = out(w, zeros64, start - end)) < 0 || (rc = out(w, t->data, t->nbytes)) < 0)
			return rc;
		end = start + t->nbytes;
	}
	if ((rc = out(w, zeros64, dls_align64(end) - end)) < 0)
		return rc;
	w->seq++;
	return maybe_flush(w, rec);
}

int
dl_writer_put(struct dl_writer *w, const struct dl_record *rec)
{
	int rc;

	if ((rc = check_tag(w, rec)) < 0)
		return rc;
	return encode(w, rec);
}

int
dl_writer_put_epoch(struct dl_writer *w, uint64_t epoch, uint64_t samples)
{
	struct dl_record *m = dl_record_new(DL_TAG_MARK);
	int rc;

	if (!m)
		return -DL_ENOMEM;
	m->marker = DL_MARK_EPOCH;
	if ((rc = dl_record_setf(m, "epoch", "%llu", (unsigned long long)epoch)) >= 0 &&
	    (rc = dl_record_setf(m, "samples", "%llu", (unsigned long long)samples)) >= 0)
		rc = dl_writer_put(w, m);
	dl_record_free(m);
	return rc;
}

int
dl_writer_put_raw(struct dl_writer *w, const struct dl_record *rec)
{
	uint8_t h[64];
	int rc;

	if (!rec->raw_valid)
		return dl_writer_put(w, rec);
	if ((rc = check_tag(w, rec)) < 0)
		return rc;
	put_header(h, rec->tag, w->seq, 64 + rec->raw_len, rec->prelude_size, (uint32_t)rec->n_tensors,
	           (uint32_t)rec->n_kv, rec->marker, rec->prelude_crc, rec->payload_crc);
	if ((rc = out(w, h, 64)) < 0 || (rc = out(w, rec->raw, rec->raw_len)) < 0)
		return rc;
	w->seq++;
	return maybe_flush(w, rec);
}

int
dl_writer_head(struct dl_writer *w, const struct dl_record *head)
{
	struct dl_record *h = dl_record_new(DL_TAG_HEAD);
	int rc;

	if (!h)
		return -DL_ENOMEM;
	if (head && (rc = dl_record_copy(h, head)) < 0)
		goto out;
	for (int i = h->n_tensors; i > 0; i--)
		dl_record_remove(h, h->tensors[i - 1].name);
	if ((rc = dl_record_setf(h, "producer", "%s %s", dl_progname, DL_VERSION)) < 0)
		goto out;
	rc = dl_writer_put(w, h);
out:
	dl_record_free(h);
	return rc;
}

int
dl_writer_flush(struct dl_writer *w)
{
	int rc;

	if (w->failed)
		return w->failed;
	if (w->z && (rc = out_zstd(w, NULL, 0, ZSTD_e_flush)) < 0)
		return rc;
	return out_flush_buf(w);
}

uint64_t
dl_writer_records(const struct dl_writer *w)
{
	return w->seq;
}

static void
writer_free(struct dl_writer *w)
{
	ZSTD_freeCCtx(w->z);
	dl_free(w->buf);
	dl_free(w->pre);
	free(w->name);
	free(w);
}

int
dl_writer_close(struct dl_writer *w)
{
	uint8_t h[64];
	int rc = w->failed;

	if (!rc && !w->seq)
		rc = dl_writer_head(w, NULL);
	if (!rc) {
		put_header(h, DL_TAG_ENDS, w->seq, 64, 0, 0, 0, 0, 0, 0);
		if (!(rc = out(w, h, 64)) && w->z)
			rc = out_zstd(w, NULL, 0, ZSTD_e_end);
		if (!rc)
			rc = out_flush_buf(w);
	}
	if (w->file.tmp && !rc)
		rc = dl_atomic_commit(&w->file);
	else if (w->file.tmp)
		dl_atomic_abort(&w->file);
	writer_free(w);
	return rc;
}

void
dl_writer_abort(struct dl_writer *w, const char *message)
{
	struct dl_record *a;
	char m[512];
	size_t n = 0;

	if (!w)
		return;
	/* A named output is simply never renamed into place; a pipe gets an
	 * ABRT record, so the next program fails even without pipefail. */
	if (!w->file.tmp && !w->failed && w->seq && (a = dl_record_new(DL_TAG_ABRT))) {
		for (const char *s = message ? message : "failed"; *s && n < sizeof m - 1; s++)
			m[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
		m[n] = 0;
		if (dl_record_set(a, "message", m) == 0)
			encode(w, a);
		dl_record_free(a);
	}
	if (w->file.tmp)
		dl_atomic_abort(&w->file);
	else if (!w->failed) {
		if (w->z)
			out_zstd(w, NULL, 0, ZSTD_e_end);
		out_flush_buf(w);
	}
	writer_free(w);
}

/* ---- random access over a regular, uncompressed file ---- */

struct dl_index {
	struct dl_reader_opts o;
	int fd;
	char *name;
	uint64_t size;
	uint64_t *off;			/* DATA record offsets */
	uint64_t *seqs;			/* their seq numbers, for messages */
	uint8_t *seen;			/* 1: read and verified */
	uint64_t n, cap;
	struct dl_record *scratch;	/* for records read only to verify them */
	struct dl_record *head;
};

static int
ix_fail(struct dl_index *ix, uint64_t at, int rc)
{
	dl_errprefix("%s: at byte %llu", ix->name, (unsigned long long)at);
	return rc;
}

static int
pread_all(int fd, void *p, size_t n, uint64_t at)
{
	uint8_t *c = p;
	ssize_t k;

	while (n) {
		k = pread(fd, c, n, (off_t)at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return dl_seterr(DL_EIO, "read:");
		c += k;
		n -= (size_t)k;
		at += (uint64_t)k;
	}
	return 0;
}

/* Read and check the record at byte at (whose header says h) into rec. */
static int
ix_body(struct dl_index *ix, uint64_t at, const struct dls_rhdr *h, struct dl_record *rec)
{
	int rc;

	if ((rc = raw_reserve(rec, h->record_size - 64)) < 0)
		return rc;
	if ((rc = pread_all(ix->fd, rec->raw, h->prelude_size, at + 64)) < 0 ||
	    (rc = dls_prelude_parse(rec, h, 1)) < 0)
		return rc;
	rec->prelude_size = h->prelude_size;
	if ((rc = pread_all(ix->fd, (uint8_t *)rec->raw + h->prelude_size,
	                    h->record_size - 64 - h->prelude_size, at + 64 + h->prelude_size)) < 0)
		return rc;
	rec->raw_len = h->record_size - 64;
	bind_tensors(rec);
	if ((rc = dls_payload_check(rec, h, !ix->o.no_verify)) < 0)
		return rc;
	rec->prelude_crc = h->prelude_crc;
	rec->payload_crc = h->payload_crc;
	rec->raw_valid = 1;
	return 0;
}

struct dl_index *
dl_index_open(const char *path, const struct dl_reader_opts *o)
{
	struct dl_index *ix = calloc(1, sizeof *ix);
	struct dls_rhdr h;
	struct stat st;
	uint64_t at = 0, seq = 0;
	uint8_t b[64];
	int rc, in_stream = 0;

	if (!ix) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	opts_default(&ix->o, o);
	ix->fd = -1;
	ix->name = strdup(path ? path : "");
	if ((ix->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		dl_seterr(DL_EIO, "%s:", path);
		goto fail;
	}
	if (fstat(ix->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		dl_seterr(DL_EUSAGE, "%s: random access needs a regular file", path);
		goto fail;
	}
	ix->size = (uint64_t)st.st_size;
	if (!(ix->head = dl_record_new(DL_TAG_HEAD)) || !(ix->scratch = dl_record_new(NULL)))
		goto fail;
	for (;;) {
		if (!in_stream) {
			if (at == ix->size && at > 0)
				break;
			if (ix->size - at < 64 || pread_all(ix->fd, b, 64, at) < 0) {
				rc = dl_seterr(DL_EFORMAT, at ? "data after ENDS" : "truncated input: stream header needs 64 bytes");
				goto ifail;
			}
			if (b[0] == 0x28 && b[1] == 0xb5) {
				rc = dl_seterr(DL_EUSAGE, "random access needs an uncompressed stream");
				goto ifail;
			}
			if ((rc = dls_stream_header_check(b, 1)) < 0)
				goto ifail;
			at += 64;
			in_stream = 1;
			seq = 0;
			continue;
		}
		if (ix->size - at < 64) {
			rc = dl_seterr(DL_EFORMAT, "truncated: the stream ended without an ENDS record");
			goto ifail;
		}
		if ((rc = pread_all(ix->fd, b, 64, at)) < 0 ||
		    (rc = dls_record_header_parse(b, &h, ix->o.max_record, ix->o.max_prelude, 1)) < 0)
			goto ifail;
		if (h.seq != seq) {
			rc = dl_seterr(DL_EFORMAT, "sequence number %llu, expected %llu",
			               (unsigned long long)h.seq, (unsigned long long)seq);
			goto ifail;
		}
		if ((seq == 0) != !strcmp(h.tag, "HEAD")) {
			rc = dl_seterr(DL_EFORMAT, "HEAD not first");
			goto ifail;
		}
		if (h.record_size > ix->size - at) {
			rc = dl_seterr(DL_EFORMAT, "truncated record: needs %llu bytes, the file has %llu left",
			               (unsigned long long)h.record_size, (unsigned long long)(ix->size - at));
			goto ifail;
		}
		if (!strcmp(h.tag, "HEAD") && at == 64) {
			if ((rc = ix_body(ix, at, &h, ix->head)) < 0)
				goto ifail;
		} else if (!strcmp(h.tag, "ABRT")) {
			rc = dl_seterr(DL_EFORMAT, "upstream failed (ABRT record)");
			goto ifail;
		} else if (!strcmp(h.tag, "DATA")) {
			if (ix->n == ix->cap) {
				uint64_t cap = ix->cap ? 2 * ix->cap : 1024;
				uint64_t *no = realloc(ix->off, cap * sizeof *no), *ns;
				uint8_t *nseen;
				if (no)
					ix->off = no;
				ns = no ? realloc(ix->seqs, cap * sizeof *ns) : NULL;
				if (ns)
					ix->seqs = ns;
				nseen = ns ? realloc(ix->seen, cap) : NULL;
				if (!no || !ns || !nseen) {
					rc = dl_seterr(DL_ENOMEM, "out of memory");
					goto ifail;
				}
				ix->seen = nseen;
				ix->cap = cap;
			}
			ix->off[ix->n] = at;
			ix->seen[ix->n] = 0;
			ix->seqs[ix->n++] = seq;
		} else if ((rc = ix_body(ix, at, &h, ix->scratch)) < 0) {
			/* HEAD, MARK, ENDS: not indexed, but verified like the pipe reader does */
			dl_errprefix("record %llu (%s)", (unsigned long long)seq, h.tag);
			goto ifail;
		}
		if (!strcmp(h.tag, "ENDS"))
			in_stream = 0;
		at += h.record_size;
		seq++;
	}
	return ix;
ifail:
	ix_fail(ix, at, rc);
fail:
	dl_index_close(ix);
	return NULL;
}

uint64_t dl_index_count(const struct dl_index *ix) { return ix->n; }
const struct dl_record *dl_index_head(const struct dl_index *ix) { return ix->head; }

int
dl_index_read(struct dl_index *ix, uint64_t i, struct dl_record *rec)
{
	struct dls_rhdr h;
	uint8_t b[64];
	int rc;

	if (i >= ix->n)
		return dl_seterr(DL_EUSAGE, "record index %llu out of range", (unsigned long long)i);
	if ((rc = pread_all(ix->fd, b, 64, ix->off[i])) < 0 ||
	    (rc = dls_record_header_parse(b, &h, ix->o.max_record, ix->o.max_prelude, 1)) < 0 ||
	    (rc = ix_body(ix, ix->off[i], &h, rec)) < 0) {
		dl_errprefix("%s: record %llu (DATA) at byte %llu", ix->name, (unsigned long long)ix->seqs[i],
		             (unsigned long long)ix->off[i]);
		return rc;
	}
	ix->seen[i] = 1;
	return 1;
}

int
dl_index_verify(struct dl_index *ix)
{
	int rc;

	for (uint64_t i = 0; i < ix->n; i++)
		if (!ix->seen[i] && (rc = dl_index_read(ix, i, ix->scratch)) < 0)
			return rc;
	dl_record_clear(ix->scratch, NULL);
	return 0;
}

void
dl_index_close(struct dl_index *ix)
{
	if (!ix)
		return;
	if (ix->fd >= 0)
		close(ix->fd);
	free(ix->off);
	free(ix->seqs);
	free(ix->seen);
	free(ix->name);
	dl_record_free(ix->head);
	dl_record_free(ix->scratch);
	free(ix);
}
