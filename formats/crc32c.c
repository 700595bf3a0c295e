/*
 * crc32c.c - CRC-32C (Castagnoli, reflected 0x82F63B78), the checksum of
 * every DLS record.  SSE4.2 crc32 instruction in three interleaved lanes
 * combined with precomputed shift operators (after Mark Adler's crc32c.c);
 * a byte table where the instruction is missing.  Check value:
 * dl_crc32c(0, "123456789", 9) == 0xE3069283.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dlpipe.h"

#define POLY 0x82f63b78u
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256

static uint32_t table[256];
static uint32_t zeros_long[4][256], zeros_short[4][256];
static int have_sse42;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint32_t
gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;

	for (; vec; vec >>= 1, mat++)
		if (vec & 1)
			sum ^= *mat;
	return sum;
}

static void
gf2_square(uint32_t *square, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		square[n] = gf2_times(mat, mat[n]);
}

/* The operator that appends len zero bytes to a CRC register (len a power of 2). */
static void
zeros_op(uint32_t *even, size_t len)
{
	uint32_t odd[32], row = 1;

	odd[0] = POLY;
	for (int n = 1; n < 32; n++, row <<= 1)
		odd[n] = row;
	gf2_square(even, odd);
	gf2_square(odd, even);
	do {
		gf2_square(even, odd);
		len >>= 1;
		if (!len)
			return;
		gf2_square(odd, even);
		len >>= 1;
	} while (len);
	memcpy(even, odd, sizeof odd);
}

static void
zeros_table(uint32_t z[4][256], size_t len)
{
	uint32_t op[32];

	zeros_op(op, len);
	for (uint32_t n = 0; n < 256; n++)
		for (int k = 0; k < 4; k++)
			z[k][n] = gf2_times(op, n << (8 * k));
}

static inline uint32_t
shift(uint32_t z[4][256], uint32_t crc)
{
	return z[0][crc & 255] ^ z[1][(crc >> 8) & 255] ^ z[2][(crc >> 16) & 255] ^ z[3][crc >> 24];
}

static void
init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[n] = c;
	}
	zeros_table(zeros_long, LONG_BLOCK);
	zeros_table(zeros_short, SHORT_BLOCK);
#if defined(__x86_64__)
	have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t
crc_sw(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = (crc >> 8) ^ table[(crc ^ *p++) & 255];
	return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t c0 = ~crc & 0xffffffffu, c1, c2, w0, w1, w2;
	const uint8_t *end;

	while (n && ((uintptr_t)p & 7)) {
		c0 = __builtin_ia32_crc32qi((uint32_t)c0, *p++);
		n--;
	}
	while (n >= 3 * LONG_BLOCK) {
		c1 = c2 = 0;
		end = p + LONG_BLOCK;
		do {
			memcpy(&w0, p, 8);
			memcpy(&w1, p + LONG_BLOCK, 8);
			memcpy(&w2, p + 2 * LONG_BLOCK, 8);
			c0 = __builtin_ia32_crc32di(c0, w0);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
			p += 8;
		} while (p < end);
		c0 = shift(zeros_long, (uint32_t)c0) ^ c1;
		c0 = shift(zeros_long, (uint32_t)c0) ^ c2;
		p += 2 * LONG_BLOCK;
		n -= 3 * LONG_BLOCK;
	}
	while (n >= 3 * SHORT_BLOCK) {
		c1 = c2 = 0;
		end = p + SHORT_BLOCK;
		do {
			memcpy(&w0, p, 8);
			memcpy(&w1, p + SHORT_BLOCK, 8);
			memcpy(&w2, p + 2 * SHORT_BLOCK, 8);
			c0 = __builtin_ia32_crc32di(c0, w0);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
			p += 8;
		} while (p < end);
		c0 = shift(zeros_short, (uint32_t)c0) ^ c1;
		c0 = shift(zeros_short, (uint32_t)c0) ^ c2;
		p += 2 * SHORT_BLOCK;
		n -= 3 * SHORT_BLOCK;
	}
	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w0, p, 8);
		c0 = __builtin_ia32_crc32di(c0, w0);
	}
	while (n--)
		c0 = __builtin_ia32_crc32qi((uint32_t)c0, *p++);
	return ~(uint32_t)c0;
}
#endif

uint32_t
dl_crc32c(uint32_t crc, const void *buf, size_t n)
{
	pthread_once(&once, init);
#if defined(__x86_64__)
	if (have_sse42)
		return crc_hw(crc, buf, n);
#endif
	return crc_sw(crc, buf, n);
}
