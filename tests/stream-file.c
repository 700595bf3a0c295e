/*
 * tests/stream-file.c - the file reader gives what the in-memory reader
 * gives: the same records, offsets and counts for large and small records,
 * markers and bools, a file concatenated with itself, closing part-way;
 * and the same errors with the same record numbers (a flipped payload
 * byte, a bad bool with and without a good checksum, bad headers,
 * truncation inside and just after a large record).
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlpipe.h"
#include "stream.h"
#include "t.h"

#define NREC 14

/* A stream of large and small DATA records, a MARK, and a bool tensor. */
static void
write_stream(const char *path, unsigned long long seed)
{
	struct dl_writer *w = dl_writer_open(path, NULL);
	struct dl_record *h = dl_record_new(DL_TAG_HEAD), *r = dl_record_new(NULL);

	CHECK(w && h && r);
	CHECK(dl_record_set(h, "kind", "batches") == 0);
	CHECK(dl_writer_put(w, h) == 0);
	for (int i = 0; i < NREC; i++) {
		uint64_t xs[2] = { (uint64_t)(i % 3 ? 200 + i : 3), 257 }, bs[1] = { 70001 };
		struct dl_tensor *x, *b;

		dl_record_clear(r, i == 7 ? DL_TAG_MARK : DL_TAG_DATA);
		if (i == 7) {
			r->marker = DL_MARK_EPOCH;
			CHECK(dl_record_set(r, "epoch", "1") == 0);
			CHECK(dl_writer_put(w, r) == 0);
			continue;
		}
		CHECK((x = dl_record_add(r, "x", DL_F32, 2, xs)) != NULL);
		for (uint64_t k = 0; x && k < xs[0] * xs[1]; k++)
			((float *)x->data)[k] = (float)t_rand(&seed);
		if (i % 4 == 1) {
			CHECK((b = dl_record_add(r, "m", DL_BOOL, 1, bs)) != NULL);
			for (uint64_t k = 0; b && k < bs[0]; k++)
				((uint8_t *)b->data)[k] = t_rand(&seed) > 0;
		}
		CHECK(dl_record_setf(r, "i", "%d", i) == 0);
		CHECK(dl_writer_put(w, r) == 0);
	}
	CHECK(dl_writer_close(w) == 0);
	dl_record_free(h);
	dl_record_free(r);
}

static uint8_t *
slurp(const char *path, size_t *n)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0 || !(b = malloc((size_t)st.st_size + 1)))
		abort();
	*n = (size_t)st.st_size;
	if (read(fd, b, *n) != (ssize_t)*n)
		abort();
	close(fd);
	return b;
}

static void
spill(const char *path, const uint8_t *b, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0 && write(fd, b, n) == (ssize_t)n);
	close(fd);
}

/* Byte offset of record i (0 = the first HEAD) of the first stream in b. */
static size_t
record_at(const uint8_t *b, int i)
{
	size_t at = 64;
	uint64_t size;

	while (i--) {
		memcpy(&size, b + at + 16, 8);
		at += size;
	}
	return at;
}

static void
fix_crcs(uint8_t *b, size_t at)
{
	uint64_t size;
	uint32_t pre, c;

	memcpy(&size, b + at + 16, 8);
	memcpy(&pre, b + at + 24, 4);
	c = dl_crc32c(0, b + at + 64 + pre, size - 64 - pre);
	memcpy(b + at + 44, &c, 4);
	c = dl_crc32c(0, b + at, 60);
	memcpy(b + at + 60, &c, 4);
}

static int
same_record(const struct dl_record *a, const struct dl_record *b)
{
	int ok = !strcmp(a->tag, b->tag) && a->marker == b->marker && a->n_tensors == b->n_tensors &&
	         a->n_kv == b->n_kv && a->raw_valid == b->raw_valid && a->raw_len == b->raw_len &&
	         a->prelude_crc == b->prelude_crc && a->payload_crc == b->payload_crc &&
	         !memcmp(a->raw, b->raw, a->raw_len);

	for (int i = 0; ok && i < a->n_tensors; i++) {
		const struct dl_tensor *s = &a->tensors[i], *t = &b->tensors[i];
		ok = !strcmp(s->name, t->name) && s->dtype == t->dtype && s->ndim == t->ndim &&
		     !memcmp(s->shape, t->shape, (size_t)s->ndim * sizeof *s->shape) && s->nbytes == t->nbytes &&
		     (const uint8_t *)s->data >= (const uint8_t *)a->raw &&
		     (const uint8_t *)s->data + s->nbytes <= (const uint8_t *)a->raw + a->raw_len &&
		     !memcmp(s->data, t->data, s->nbytes);
	}
	for (int i = 0; ok && i < a->n_kv; i++)
		ok = !strcmp(a->kv[i].key, b->kv[i].key) && !strcmp(a->kv[i].val, b->kv[i].val);
	return ok;
}

/* Read path through the file reader and its bytes through the memory
 * reader side by side; stop after stop records (-1: all).  Returns the
 * final code of the file reader (the memory reader must agree) and leaves
 * its message in msg. */
static int
compare(const char *path, char **paths, int npaths, int stop, char *msg, size_t cap)
{
	size_t n, m = 0;
	uint8_t *b = NULL;
	struct dl_reader *f, *g;
	struct dl_record *rf = dl_record_new(NULL), *rg = dl_record_new(NULL);
	int cf, cg, k = 0;
	char gm[1024];

	if (npaths) {		/* the memory reader gets the files concatenated */
		for (int i = 0; i < npaths; i++) {
			uint8_t *p = slurp(paths[i], &n);
			b = realloc(b, m + n);
			memcpy(b + m, p, n);
			m += n;
			free(p);
		}
		f = dl_reader_open_many(paths, npaths, NULL);
		g = dl_reader_memopen(b, m, paths[0], NULL);
	} else {
		b = slurp(path, &m);
		f = dl_reader_open(path, NULL);
		g = dl_reader_memopen(b, m, path, NULL);
	}
	CHECK(f && g && rf && rg);
	CHECK(dl_reader_head(f) && dl_reader_head(g) && same_record(dl_reader_head(f), dl_reader_head(g)));
	for (;;) {
		if (k == stop)
			break;
		if (k == 3) {		/* a caller's record of its own, with owned data */
			uint64_t s[1] = { 1000 };
			dl_record_free(rf);
			rf = dl_record_new(NULL);
			CHECK(rf && dl_record_add(rf, "own", DL_F32, 1, s));
		}
		cf = dl_reader_next(f, rf);
		snprintf(msg, cap, "%s", dl_errmsg());
		cg = dl_reader_next(g, rg);
		snprintf(gm, sizeof gm, "%s", dl_errmsg());
		CHECK(cf == cg);
		CHECK(npaths || dl_reader_offset(f) == dl_reader_offset(g));	/* per file */
		CHECK(dl_reader_records(f) == dl_reader_records(g));
		if (cf < 0 && strcmp(msg, gm))
			fprintf(stderr, "file: %s\nmemory: %s\n", msg, gm);
		CHECK(cf >= 0 || !strcmp(msg, gm));
		if (cf <= 0 || cg <= 0)
			break;
		CHECK(same_record(rf, rg));
		k++;
		/* a failed reader stays failed with the same code */
	}
	if (k != stop) {
		CHECK(dl_reader_next(f, rf) == cf);
		CHECK(npaths || dl_reader_offset(f) == dl_reader_offset(g));
	} else {
		cf = 1;
	}
	dl_reader_close(f);	/* may be mid-way, a CRC under way */
	dl_reader_close(g);
	dl_record_free(rf);
	dl_record_free(rg);
	free(b);
	return cf;
}

int
main(void)
{
	char dir[] = "/tmp/dlra-test.XXXXXX", a[64], c[64], msg[1024];
	char *two[2];
	uint8_t *b;
	size_t n, at;

	dl_setprogname("stream-readahead");
	if (!mkdtemp(dir))
		T_SKIP("no temporary directory");
	snprintf(a, sizeof a, "%s/a.dls", dir);
	snprintf(c, sizeof c, "%s/c.dls", dir);
	write_stream(a, 1);

	/* the whole stream, two files in a row, and a close half-way */
	CHECK(compare(a, NULL, 0, -1, msg, sizeof msg) == 0);
	two[0] = a;
	two[1] = a;
	CHECK(compare(NULL, two, 2, -1, msg, sizeof msg) == 0);
	for (int s = 1; s < 6; s++)
		CHECK(compare(a, NULL, 0, s, msg, sizeof msg) == 1);

	b = slurp(a, &n);
	/* a payload byte flipped in record 5 (large): named as record 5 */
	at = record_at(b, 5);
	b[at + 64 + 4096 + 100] ^= 1;
	spill(c, b, n);
	CHECK(compare(c, NULL, 0, -1, msg, sizeof msg) == -DL_EFORMAT);
	CHECK(strstr(msg, "record 5 (DATA) at byte") && strstr(msg, "payload checksum mismatch"));
	b[at + 64 + 4096 + 100] ^= 1;

	/* a bool of 2 with its CRCs fixed (record 10, i = 9: x [3,257], then
	 * m): checked after the CRC, in the same words */
	at = record_at(b, 10);
	{
		uint32_t pre;
		uint64_t xb = 3 * 257 * 4;
		memcpy(&pre, b + at + 24, 4);
		b[at + 64 + pre + dls_align64(xb) + 5] = 2;
		fix_crcs(b, at);
		spill(c, b, n);
		CHECK(compare(c, NULL, 0, -1, msg, sizeof msg) == -DL_EFORMAT);
		CHECK(strstr(msg, "record 10 (DATA)") && strstr(msg, "bool not 0/1"));
		/* bad CRC too: the CRC is what is reported */
		b[at + 64 + pre] ^= 0x40;
		spill(c, b, n);
		CHECK(compare(c, NULL, 0, -1, msg, sizeof msg) == -DL_EFORMAT);
		CHECK(strstr(msg, "record 10 (DATA)") && strstr(msg, "payload checksum mismatch"));
	}
	free(b);

	/* the error is in the record read ahead: records 1..5 come out first */
	b = slurp(a, &n);
	at = record_at(b, 6);
	b[at + 30] ^= 1;	/* record 6's header */
	spill(c, b, n);
	CHECK(compare(c, NULL, 0, -1, msg, sizeof msg) == -DL_EFORMAT);
	CHECK(strstr(msg, "record 6 at byte") && strstr(msg, "record header checksum mismatch"));
	b[at + 30] ^= 1;
	/* cut inside record 6's payload, and right after record 5 */
	spill(c, b, at + 64 + 5000);
	CHECK(compare(c, NULL, 0, -1, msg, sizeof msg) == -DL_EFORMAT);
	CHECK(strstr(msg, "record 6 (DATA)") && strstr(msg, "truncated payload"));
	spill(c, b, at);
	CHECK(compare(c, NULL, 0, -1, msg, sizeof msg) == -DL_EFORMAT);
	CHECK(strstr(msg, "ended without an ENDS"));
	/* both at once: record 5's payload and record 6's header are bad */
	b[record_at(b, 5) + 64 + 70000] ^= 4;
	b[at + 30] ^= 1;
	spill(c, b, n);
	CHECK(compare(c, NULL, 0, -1, msg, sizeof msg) == -DL_EFORMAT);
	CHECK(strstr(msg, "record 5 (DATA)") && strstr(msg, "payload checksum mismatch"));
	free(b);

	unlink(a);
	unlink(c);
	rmdir(dir);
	T_DONE();
}
