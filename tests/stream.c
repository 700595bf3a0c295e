/*
 * tests/stream.c - the DLS codec: CRC-32C, the worked example of
 * dl-stream(5) byte for byte, round trips through memory, files and zstd,
 * random access, and a few hostile inputs (the full catalogue is
 * tests/stream-corpus.sh).
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "dlpipe.h"
#include "stream.h"
#include "t.h"

static uint32_t
crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

static void
test_crc(void)
{
	static uint8_t buf[100000];
	unsigned long long s = 1;

	CHECK(dl_crc32c(0, "123456789", 9) == 0xE3069283u);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(t_rand(&s) * 127);
	/* every lane/block path, unaligned starts, and incremental use */
	size_t lens[] = { 0, 1, 7, 8, 63, 255, 256, 767, 768, 769, 8191, 24575, 24576, 24577, 50000, 99990 };
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
		for (size_t off = 0; off < 3; off++) {
			uint32_t a = dl_crc32c(0, buf + off, lens[i]), b = crc_bitwise(buf + off, lens[i]);
			CHECK(a == b);
			uint32_t c = dl_crc32c(dl_crc32c(0, buf + off, lens[i] / 3), buf + off + lens[i] / 3,
			                       lens[i] - lens[i] / 3);
			CHECK(c == b);
		}
}

static uint32_t
word(const uint8_t *p, size_t at)
{
	return (uint32_t)p[at] << 24 | (uint32_t)p[at + 1] << 16 | (uint32_t)p[at + 2] << 8 | p[at + 3];
}

/* dl-stream(5)'s worked example: 704 bytes. */
static void
test_worked_example(void)
{
	int fd = memfd_create("ex", 0);
	struct dl_writer *w = dl_writer_fdopen(fd, "ex", &(struct dl_writer_opts){ .allow_tty = 1 });
	struct dl_record *r = dl_record_new(DL_TAG_HEAD);
	uint64_t shape[3] = { 2, 2, 1 };
	uint8_t b[1024];
	struct dl_tensor *t;

	dl_record_set(r, "kind", "samples");
	CHECK(dl_writer_put(w, r) == 0);
	dl_record_clear(r, DL_TAG_DATA);
	t = dl_record_add(r, "image", DL_U8, 3, shape);
	memcpy(t->data, "\1\2\3\4", 4);
	t = dl_record_add(r, "label", DL_I32, 0, NULL);
	*(int32_t *)t->data = 7;
	dl_record_set(r, "key", "00001");
	CHECK(dl_writer_put(w, r) == 0);
	dl_record_clear(r, DL_TAG_MARK);
	r->marker = DL_MARK_EPOCH;
	dl_record_set(r, "epoch", "0");
	CHECK(dl_writer_put(w, r) == 0);
	CHECK(dl_writer_close(w) == 0);
	CHECK(lseek(fd, 0, SEEK_END) == 704);
	CHECK(pread(fd, b, 704, 0) == 704);
	CHECK(word(b, 0x3c) == 0x5eddb00e);
	CHECK(word(b, 0x68) == 0xd727c33a);
	CHECK(word(b, 0x7c) == 0x989c44ae);
	CHECK(word(b, 0xe8) == 0x9ad5dd7c);
	CHECK(word(b, 0xec) == 0x78f5b5e3);
	CHECK(word(b, 0xfc) == 0x2bead594);
	CHECK(word(b, 0x228) == 0xb5a0c996);
	CHECK(word(b, 0x23c) == 0xabb6e4b3);
	CHECK(word(b, 0x2bc) == 0x46911b6a);
	CHECK(word(b, 0x180) == 0x01020304);
	CHECK(word(b, 0x1c0) == 0x07000000);

	/* and it reads back */
	struct dl_reader *rd = dl_reader_memopen(b, 704, "ex", NULL);
	const struct dl_record *h = dl_reader_head(rd);
	CHECK(h && !strcmp(dl_record_get(h, "kind"), "samples"));
	CHECK(dl_reader_next(rd, r) == 1 && dl_record_is(r, "DATA"));
	t = dl_record_find(r, "image");
	CHECK(t && t->ndim == 3 && t->shape[0] == 2 && ((uint8_t *)t->data)[3] == 4);
	CHECK(((uintptr_t)t->data & 63) == 0);
	CHECK(*(int32_t *)dl_record_find(r, "label")->data == 7);
	CHECK(!strcmp(dl_record_get(r, "key"), "00001"));
	CHECK(dl_reader_next(rd, r) == 1 && dl_record_is_mark(r, DL_MARK_EPOCH));
	CHECK(dl_reader_next(rd, r) == 0);
	dl_reader_close(rd);

	/* truncation at every length is an error, never success */
	int bad = 0;
	for (size_t n = 0; n < 704; n++) {
		rd = dl_reader_memopen(b, n, "cut", NULL);
		int rc = dl_reader_head(rd) ? 1 : -1;
		while (rc > 0)
			rc = dl_reader_next(rd, r);
		bad += rc < 0;
		dl_reader_close(rd);
	}
	CHECK(bad == 704);
	/* every single bit flip is caught */
	bad = 0;
	for (size_t i = 0; i < 704 * 8; i++) {
		b[i / 8] ^= (uint8_t)(1 << (i % 8));
		rd = dl_reader_memopen(b, 704, "flip", NULL);
		int rc = dl_reader_head(rd) ? 1 : -1;
		while (rc > 0)
			rc = dl_reader_next(rd, r);
		bad += rc < 0;
		dl_reader_close(rd);
		b[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	CHECK(bad == 704 * 8);
	dl_record_free(r);
	close(fd);
}

/* Write n records of every dtype to path (zstd level z), read back. */
static void
test_roundtrip(const char *path, int z)
{
	struct dl_writer *w = dl_writer_open(path, &(struct dl_writer_opts){ .zstd_level = z });
	struct dl_record *r = dl_record_new(NULL);
	int dts[] = { DL_U8, DL_U16, DL_U32, DL_U64, DL_I8, DL_I16, DL_I32, DL_I64,
	              DL_F16, DL_F32, DL_F64, DL_BF16, DL_BOOL };
	int n = 300, nd = (int)(sizeof dts / sizeof *dts);

	CHECK(w != NULL);
	CHECK(dl_writer_head(w, NULL) == 0);
	for (int i = 0; i < n; i++) {
		uint64_t shape[2] = { (uint64_t)(i % 5), 3 + (uint64_t)i % 7 };
		char name[16];
		dl_record_clear(r, DL_TAG_DATA);
		for (int d = 0; d < nd; d++) {
			snprintf(name, sizeof name, "t%d", d);
			struct dl_tensor *t = dl_record_add(r, name, dts[d], 2, shape);
			for (uint64_t k = 0; k < dl_tensor_count(t); k++)
				dl_tensor_set(t, k, dts[d] == DL_BOOL ? (i + k) & 1 : (double)((i * 7 + k) % 100));
		}
		dl_record_setf(r, "i", "%d", i);
		CHECK(dl_writer_put(w, r) == 0);
		if (i % 100 == 99) {
			dl_record_clear(r, DL_TAG_MARK);
			r->marker = DL_MARK_EPOCH;
			CHECK(dl_writer_put(w, r) == 0);
		}
	}
	/* one big tensor, above the direct-I/O threshold */
	dl_record_clear(r, DL_TAG_DATA);
	uint64_t big[1] = { 3u << 20 };
	struct dl_tensor *t = dl_record_add(r, "big", DL_F32, 1, big);
	for (uint64_t k = 0; k < big[0]; k++)
		((float *)t->data)[k] = (float)k;
	CHECK(dl_writer_put(w, r) == 0);
	CHECK(dl_writer_close(w) == 0);

	struct dl_reader *rd = dl_reader_open(path, &(struct dl_reader_opts){ .allow_tty = 1 });
	CHECK(rd && dl_reader_head(rd));
	int got = 0, marks = 0, ok = 1;
	while (dl_reader_next(rd, r) > 0) {
		if (dl_record_is(r, DL_TAG_MARK)) {
			marks++;
			continue;
		}
		if (dl_record_find(r, "big")) {
			t = dl_record_find(r, "big");
			ok &= t->shape[0] == big[0] && ((float *)t->data)[big[0] - 1] == (float)(big[0] - 1);
			continue;
		}
		for (int d = 0; d < nd; d++) {
			char name[16];
			snprintf(name, sizeof name, "t%d", d);
			t = dl_record_find(r, name);
			ok &= t && t->dtype == dts[d] && t->shape[0] == (uint64_t)(got % 5);
			for (uint64_t k = 0; t && k < dl_tensor_count(t); k++)
				ok &= dl_tensor_get(t, k) == (dts[d] == DL_BOOL ? (got + k) & 1 : (double)((got * 7 + k) % 100));
		}
		ok &= atoi(dl_record_get(r, "i")) == got;
		got++;
	}
	CHECK(ok);
	CHECK(got == n);
	CHECK(marks == 3);
	dl_reader_close(rd);

	if (!z) {	/* random access */
		struct dl_index *ix = dl_index_open(path, NULL);
		CHECK(ix && dl_index_count(ix) == (uint64_t)n + 1);
		CHECK(dl_index_read(ix, 123, r) == 1 && atoi(dl_record_get(r, "i")) == 123);
		CHECK(dl_index_read(ix, 5, r) == 1 && atoi(dl_record_get(r, "i")) == 5);
		dl_index_close(ix);
	}
	dl_record_free(r);
}

static int
expect_error(const uint8_t *b, size_t n, const char *want)
{
	struct dl_record *r = dl_record_new(NULL);
	struct dl_reader *rd = dl_reader_memopen(b, n, "bad", NULL);
	int rc = dl_reader_head(rd) ? 1 : -1;

	while (rc > 0)
		rc = dl_reader_next(rd, r);
	dl_reader_close(rd);
	dl_record_free(r);
	if (rc >= 0 || !strstr(dl_errmsg(), want)) {
		fprintf(stderr, "want error '%s', got rc %d '%s'\n", want, rc, dl_errmsg());
		return 0;
	}
	return 1;
}

static void
test_hostile(void)
{
	uint8_t b[256];

	CHECK(expect_error(b, 0, "bad: empty input (0 bytes"));
	CHECK(expect_error((const uint8_t *)"\x1f\x8b\x08\0\0\0\0\0\0\0", 10, "gzip"));
	CHECK(expect_error((const uint8_t *)"\x93NUMPY\1\0", 8, "npy"));
	/* a valid-CRC record header declaring 2^62 bytes is refused before allocating */
	dls_put_stream_header(b);
	memset(b + 64, 0, 64);
	memcpy(b + 64, "HEAD", 4);
	uint64_t big = (uint64_t)1 << 62;
	memcpy(b + 80, &big, 8);
	uint32_t c = dl_crc32c(0, b + 64, 60);
	memcpy(b + 124, &c, 4);
	CHECK(expect_error(b, 128, "over the limit"));
}

int
main(void)
{
	char path[] = "/tmp/dlstream-test.XXXXXX";
	int fd = mkstemp(path);

	dl_setprogname("stream-test");
	test_crc();
	test_worked_example();
	test_hostile();
	test_roundtrip(path, 0);
	test_roundtrip(path, 3);
	close(fd);
	unlink(path);
	T_DONE();
}
