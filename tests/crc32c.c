/*
 * crc32c.c - every CRC-32C tier the CPU has (table, sse4.2, pclmul,
 * vpclmul) and dl_crc32c() itself against a bit-at-a-time reference: every
 * length 0..4096 at several misalignments, random long buffers up to 5 MB,
 * and incremental use split at random points.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dlpipe.h"
#include "t.h"

/* Not in dlpipe.h: formats/crc32c.c keeps these for tests and benchmarks. */
enum { DL_CRC_TABLE, DL_CRC_SSE42, DL_CRC_PCLMUL, DL_CRC_VPCLMUL, DL_CRC_NTIERS };
int dl_crc32c_tier_ok(int tier);
uint32_t dl_crc32c_tier(int tier, uint32_t crc, const void *buf, size_t n);

static const char *names[] = { "table", "sse4.2", "pclmul", "vpclmul" };

/* The raw register (not inverted) after one more byte, a bit at a time. */
static uint32_t
bit_step(uint32_t c, uint8_t b)
{
	c ^= b;
	for (int k = 0; k < 8; k++)
		c = (c >> 1) ^ (0x82f63b78u & -(c & 1));
	return c;
}

static uint32_t
crc_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
	uint32_t c = ~crc;

	while (n--)
		c = bit_step(c, *p++);
	return ~c;
}

/* tier -1: dl_crc32c() */
static uint32_t
crc(int tier, uint32_t c, const void *p, size_t n)
{
	return tier < 0 ? dl_crc32c(c, p, n) : dl_crc32c_tier(tier, c, p, n);
}

static uint64_t
next(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 17;
}

int
main(void)
{
	enum { SHORT = 4096, LONG = 5 << 20 };
	static const size_t offs[] = { 0, 1, 3, 7, 8, 15, 17, 33, 63 };
	static const size_t longs[] = { 100000, 1 << 20, (1 << 20) + 13, 3000001, LONG - 64 };
	static uint32_t ref[SHORT + 1];
	uint8_t *buf;
	uint64_t s = 7;
	int tiers[DL_CRC_NTIERS + 1], nt = 0, bad;

	CHECK((buf = dl_alloc(LONG + 128)) != NULL);
	if (!buf)
		T_DONE();
	for (size_t i = 0; i < LONG + 128; i++)
		buf[i] = (uint8_t)next(&s);
	tiers[nt++] = -1;
	for (int t = 0; t < DL_CRC_NTIERS; t++) {
		if (dl_crc32c_tier_ok(t))
			tiers[nt++] = t;
		else
			fprintf(stderr, "note: no %s tier on this CPU\n", names[t]);
	}

	CHECK(crc_bitwise(0, (const uint8_t *)"123456789", 9) == 0xE3069283u);
	for (int i = 0; i < nt; i++) {
		CHECK(crc(tiers[i], 0, "123456789", 9) == 0xE3069283u);
		CHECK(crc(tiers[i], 0, "", 0) == 0);
		CHECK(crc(tiers[i], 0x12345678u, "", 0) == 0x12345678u);
	}

	/* every length at each offset: ref[n] is the CRC of the first n bytes */
	for (size_t o = 0; o < sizeof offs / sizeof *offs; o++) {
		const uint8_t *p = buf + offs[o];
		uint32_t c = ~0u;

		ref[0] = 0;
		for (size_t n = 1; n <= SHORT; n++) {
			c = bit_step(c, p[n - 1]);
			ref[n] = ~c;
		}
		for (int i = 0; i < nt; i++) {
			bad = 0;
			for (size_t n = 0; n <= SHORT; n++)
				if (crc(tiers[i], 0, p, n) != ref[n] && bad++ < 3)
					fprintf(stderr, "%s: length %zu at offset %zu wrong\n",
					    tiers[i] < 0 ? "dl_crc32c" : names[tiers[i]], n, offs[o]);
			CHECK(bad == 0);
			/* incremental: a prefix then the rest, through the same tier */
			bad = 0;
			for (size_t n = 0; n <= SHORT; n += 1 + n / 64) {
				size_t a = (size_t)next(&s) % (n + 1);
				if (crc(tiers[i], crc(tiers[i], 0, p, a), p + a, n - a) != ref[n])
					bad++;
			}
			CHECK(bad == 0);
		}
	}

	/* lengths about whole chunks of the hybrid vpclmul + crc32 path (19456 bytes) */
	for (size_t o = 0; o < 3; o++) {
		size_t off = offs[o * 3], n0 = 19456 - 128, want_n = 3 * 19456 + 200;
		const uint8_t *p = buf + off;
		static uint32_t want[3 * 19456 + 201];
		uint32_t c = crc_bitwise(0, p, n0);

		for (size_t n = n0; n <= want_n; n++) {
			want[n - n0] = c;
			c = ~bit_step(~c, p[n]);
		}
		for (int i = 0; i < nt; i++) {
			if (tiers[i] == DL_CRC_TABLE)
				continue;
			bad = 0;
			for (size_t n = n0; n <= want_n; n++) {
				size_t m = (n - n0) % 19456;
				if ((m < 192 || m > 19456 - 64) && crc(tiers[i], 0, p, n) != want[n - n0])
					bad++;
			}
			CHECK(bad == 0);
		}
	}

	/* long buffers, odd starts, and splits at random points across tiers */
	for (size_t l = 0; l < sizeof longs / sizeof *longs; l++) {
		size_t off = (size_t)next(&s) % 64, n = longs[l];
		uint32_t want = crc_bitwise(0, buf + off, n);

		for (int i = 0; i < nt; i++) {
			CHECK(crc(tiers[i], 0, buf + off, n) == want);
			for (int r = 0; r < 3; r++) {
				size_t a = (size_t)next(&s) % (n + 1), b = a + (size_t)next(&s) % (n - a + 1);
				int j = (int)(next(&s) % (unsigned)nt);
				uint32_t c = crc(tiers[i], 0, buf + off, a);
				c = crc(tiers[j], c, buf + off + a, b - a);
				c = crc(tiers[i], c, buf + off + b, n - b);
				CHECK(c == want);
			}
		}
	}
	/* all-ones and all-zeros data, where a wrong constant often still hides */
	memset(buf, 0xff, 70000);
	memset(buf + 70000, 0, 70000);
	for (int i = 0; i < nt; i++) {
		CHECK(crc(tiers[i], 0, buf, 70000) == crc_bitwise(0, buf, 70000));
		CHECK(crc(tiers[i], 0, buf + 70000, 70000) == crc_bitwise(0, buf + 70000, 70000));
		CHECK(crc(tiers[i], 0xdeadbeefu, buf + 69000, 2000) == crc_bitwise(0xdeadbeefu, buf + 69000, 2000));
	}
	dl_free(buf);
	T_DONE();
}
