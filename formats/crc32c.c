/*
 * crc32c.c - CRC-32C (Castagnoli, reflected 0x82F63B78), the checksum of
 * every DLS record.  Check value: dl_crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * Four tiers, the best the CPU has picked once at first use:
 *   vpclmul  eight 512-bit accumulators folded with VPCLMULQDQ (AVX-512),
 *            with three crc32-instruction lanes alongside on long inputs
 *            (HYB_CHUNK bytes and up: 16 % more here, on an AMD EPYC);
 *   pclmul   eight 128-bit accumulators folded with PCLMULQDQ;
 *   sse42    the crc32 instruction in three interleaved lanes combined
 *            with precomputed shift operators (after Mark Adler's crc32c.c);
 *   table    a byte table where none of that exists.
 * The folding tiers follow Intel's "Fast CRC Computation for Generic
 * Polynomials Using PCLMULQDQ Instruction" (Gopal et al., 2009), reflected
 * form: a 128-bit accumulator X (first 64 message bits in the low quadword,
 * bit i of a quadword the coefficient of x^(63-i)) moved D bits on is
 *	X_lo * (x^(D+32) mod P) ^ X_hi * (x^(D-32) mod P),
 * each constant stored bit-reflected and shifted left by one (the carry-less
 * product of two reflected operands comes out one place short).  The
 * constants are computed at start-up from the polynomial.  What is left at
 * the end, 128 bits, goes through the crc32 instruction from a zero state,
 * which is exactly X * x^32 mod P; any tail bytes follow the same way.
 * Short inputs (< PCLMUL_MIN, VPCLMUL_MIN bytes) stay on the crc32 instruction.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "dls.h"
#include "formats.h"

#define POLY 0x82f63b78u
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256
#define PCLMUL_MIN 1024		/* below these the 3-lane crc32 code wins */
#define VPCLMUL_MIN 256
#define HYB_STEPS 32			/* 512-byte vector steps a chunk */
#define HYB_LANE (32 * HYB_STEPS)	/* each of three crc32 lanes: 4 quadwords a step */
#define HYB_CHUNK (512 * HYB_STEPS + 3 * HYB_LANE)

/* Not in dls.h: for tests/crc32c.c and tests/bench/crc.c. */
enum { DL_CRC_TABLE, DL_CRC_SSE42, DL_CRC_PCLMUL, DL_CRC_VPCLMUL, DL_CRC_NTIERS };
int dl_crc32c_tier_ok(int tier);
uint32_t dl_crc32c_tier(int tier, uint32_t crc, const void *buf, size_t n);

static uint32_t table[256];
static uint32_t zeros_long[4][256], zeros_short[4][256], zeros_hyb[4][256];
/* fold constants: {x^(D+32), x^(D-32)} for D = 128, 256, 384, 512, 2048 bits */
static uint64_t k128[2], k256[2], k384[2], k512[2], k1024[2], k4096[2], kgap[2];
static int have[DL_CRC_NTIERS];
static int best;
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

/* x^n mod P, reflected (bit i the coefficient of x^(31-i)), shifted left by one. */
static uint64_t
xpow(unsigned n)
{
	uint32_t v = 0x80000000u;	/* x^0 */

	while (n--)
		v = v & 1 ? (v >> 1) ^ POLY : v >> 1;
	return (uint64_t)v << 1;
}

static void
fold_consts(uint64_t k[2], unsigned d)
{
	k[0] = xpow(d + 32);
	k[1] = xpow(d - 32);
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
	fold_consts(k128, 128);
	fold_consts(k256, 256);
	fold_consts(k384, 384);
	fold_consts(k512, 512);
	fold_consts(k1024, 1024);
	fold_consts(k4096, 4096);
	fold_consts(kgap, 8 * (512 + 3 * HYB_LANE));
	zeros_table(zeros_hyb, HYB_LANE);
	have[DL_CRC_TABLE] = 1;
#if defined(__x86_64__)
	__builtin_cpu_init();
	have[DL_CRC_SSE42] = __builtin_cpu_supports("sse4.2");
	have[DL_CRC_PCLMUL] = have[DL_CRC_SSE42] && __builtin_cpu_supports("pclmul");
	have[DL_CRC_VPCLMUL] = have[DL_CRC_PCLMUL] && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("vpclmulqdq");
#endif
	for (int t = 0; t < DL_CRC_NTIERS; t++)
		if (have[t])
			best = t;
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
/* Three crc32 lanes over consecutive blocks of `block` bytes, combined
 * with the shift operator for that length, while n >= 3 * block. */
__attribute__((target("sse4.2"))) static inline uint64_t
crc_3lanes(uint64_t c0, const uint8_t **pp, size_t *np, size_t block, uint32_t z[4][256])
{
	const uint8_t *p = *pp, *end;
	uint64_t c1, c2, w0, w1, w2;
	size_t n = *np;

	while (n >= 3 * block) {
		c1 = c2 = 0;
		end = p + block;
		do {
			memcpy(&w0, p, 8);
			memcpy(&w1, p + block, 8);
			memcpy(&w2, p + 2 * block, 8);
			c0 = __builtin_ia32_crc32di(c0, w0);
			c1 = __builtin_ia32_crc32di(c1, w1);
			c2 = __builtin_ia32_crc32di(c2, w2);
			p += 8;
		} while (p < end);
		c0 = shift(z, (uint32_t)c0) ^ c1;
		c0 = shift(z, (uint32_t)c0) ^ c2;
		p += 2 * block;
		n -= 3 * block;
	}
	*pp = p;
	*np = n;
	return c0;
}

__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t c0 = ~crc & 0xffffffffu, w0;

	while (n && ((uintptr_t)p & 7)) {
		c0 = __builtin_ia32_crc32qi((uint32_t)c0, *p++);
		n--;
	}
	c0 = crc_3lanes(c0, &p, &n, LONG_BLOCK, zeros_long);
	c0 = crc_3lanes(c0, &p, &n, SHORT_BLOCK, zeros_short);
	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w0, p, 8);
		c0 = __builtin_ia32_crc32di(c0, w0);
	}
	while (n--)
		c0 = __builtin_ia32_crc32qi((uint32_t)c0, *p++);
	return ~(uint32_t)c0;
}

/* Raw register c (not inverted) over p[0..n), by the crc32 instruction, until p is aligned to a. */
__attribute__((target("sse4.2"))) static inline uint32_t
crc_head(uint32_t c, const uint8_t **pp, size_t *np, uintptr_t a)
{
	const uint8_t *p = *pp;
	uint64_t w;

	while ((uintptr_t)p & 7) {
		c = __builtin_ia32_crc32qi(c, *p++);
	}
	while ((uintptr_t)p & (a - 1)) {
		memcpy(&w, p, 8);
		c = (uint32_t)__builtin_ia32_crc32di(c, w);
		p += 8;
	}
	*np -= (size_t)(p - *pp);
	*pp = p;
	return c;
}

/* The register after 128 bits x from a zero state, then the n < 16 tail bytes at p; inverted. */
__attribute__((target("sse4.2"))) static inline uint32_t
crc_tail(__m128i x, const uint8_t *p, size_t n)
{
	uint64_t c, w;

	c = __builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(x));
	c = __builtin_ia32_crc32di(c, (uint64_t)_mm_extract_epi64(x, 1));
	if (n >= 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		n -= 8;
	}
	while (n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

__attribute__((target("sse4.2,pclmul"))) static inline __m128i
fold128(__m128i x, __m128i k, __m128i data)
{
	return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
	    _mm_clmulepi64_si128(x, k, 0x11)), data);
}

__attribute__((target("sse4.2,pclmul"))) static uint32_t
crc_pclmul(uint32_t crc, const uint8_t *p, size_t n)
{
	const __m128i *q;
	__m128i x0, x1, x2, x3, x4, x5, x6, x7, k;
	uint32_t c;

	if (n < PCLMUL_MIN)
		return crc_hw(crc, p, n);
	c = crc_head(~crc, &p, &n, 16);	/* n >= PCLMUL_MIN - 15 >= 128 */
	q = (const __m128i *)p;
	x0 = _mm_xor_si128(_mm_load_si128(q), _mm_cvtsi32_si128((int)c));
	x1 = _mm_load_si128(q + 1);
	x2 = _mm_load_si128(q + 2);
	x3 = _mm_load_si128(q + 3);
	x4 = _mm_load_si128(q + 4);
	x5 = _mm_load_si128(q + 5);
	x6 = _mm_load_si128(q + 6);
	x7 = _mm_load_si128(q + 7);
	p += 128;
	n -= 128;
	k = _mm_set_epi64x((long long)k1024[1], (long long)k1024[0]);
	for (; n >= 128; n -= 128, p += 128) {
		q = (const __m128i *)p;
		x0 = fold128(x0, k, _mm_load_si128(q));
		x1 = fold128(x1, k, _mm_load_si128(q + 1));
		x2 = fold128(x2, k, _mm_load_si128(q + 2));
		x3 = fold128(x3, k, _mm_load_si128(q + 3));
		x4 = fold128(x4, k, _mm_load_si128(q + 4));
		x5 = fold128(x5, k, _mm_load_si128(q + 5));
		x6 = fold128(x6, k, _mm_load_si128(q + 6));
		x7 = fold128(x7, k, _mm_load_si128(q + 7));
	}
	k = _mm_set_epi64x((long long)k128[1], (long long)k128[0]);
	x1 = fold128(x0, k, x1);
	x2 = fold128(x1, k, x2);
	x3 = fold128(x2, k, x3);
	x4 = fold128(x3, k, x4);
	x5 = fold128(x4, k, x5);
	x6 = fold128(x5, k, x6);
	x7 = fold128(x6, k, x7);
	for (; n >= 16; n -= 16, p += 16)
		x7 = fold128(x7, k, _mm_load_si128((const __m128i *)p));
	return crc_tail(x7, p, n);
}

#define VPC_TARGET "sse4.2,pclmul,avx512f,avx512vl,vpclmulqdq"

__attribute__((target(VPC_TARGET))) static inline __m512i
fold512(__m512i x, __m512i k, __m512i data)
{
	return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
	    _mm512_clmulepi64_epi128(x, k, 0x11), data, 0x96);
}

/* 8 x 512-bit accumulators, x0 first, down to 128 bits. */
__attribute__((target(VPC_TARGET))) static inline __m128i
vp_reduce(__m512i x0, __m512i x1, __m512i x2, __m512i x3, __m512i x4, __m512i x5, __m512i x6,
    __m512i x7)
{
	__m512i k = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k512[1], (long long)k512[0]));
	__m128i y;

	x1 = fold512(x0, k, x1);
	x2 = fold512(x1, k, x2);
	x3 = fold512(x2, k, x3);
	x4 = fold512(x3, k, x4);
	x5 = fold512(x4, k, x5);
	x6 = fold512(x5, k, x6);
	x7 = fold512(x6, k, x7);
	/* lanes 0, 1, 2 move 384, 256, 128 bits on onto lane 3 */
	k = _mm512_set_epi64(0, 0, (long long)k128[1], (long long)k128[0],
	    (long long)k256[1], (long long)k256[0], (long long)k384[1], (long long)k384[0]);
	x0 = _mm512_xor_si512(_mm512_clmulepi64_epi128(x7, k, 0x00), _mm512_clmulepi64_epi128(x7, k, 0x11));
	y = _mm_ternarylogic_epi64(_mm512_castsi512_si128(x0), _mm512_extracti32x4_epi32(x0, 1),
	    _mm512_extracti32x4_epi32(x0, 2), 0x96);
	return _mm_xor_si128(y, _mm512_extracti32x4_epi32(x7, 3));
}

#define SCALAR_STEP(b) do {						\
	for (int q_ = 0; q_ < 32; q_ += 8) {				\
		memcpy(&w0, (b) + q_, 8);				\
		memcpy(&w1, (b) + HYB_LANE + q_, 8);			\
		memcpy(&w2, (b) + 2 * HYB_LANE + q_, 8);		\
		c1 = __builtin_ia32_crc32di(c1, w0);			\
		c2 = __builtin_ia32_crc32di(c2, w1);			\
		c3 = __builtin_ia32_crc32di(c3, w2);			\
	}								\
} while (0)

/*
 * Whole chunks from the raw register c at *pp (64-aligned): a chunk's first
 * 512 * HYB_STEPS bytes are folded by VPCLMULQDQ while the crc32 instruction,
 * which runs on other ports, takes the last 3 * HYB_LANE in three lanes.  The
 * accumulators jump the lanes' bytes into the next chunk; the lanes' CRC,
 * combined by the zeros_hyb shift operator, joins the next chunk's first
 * bytes as an initial value does.  Returns the raw register after the chunks.
 */
__attribute__((target(VPC_TARGET))) static uint32_t
vp_hybrid(uint32_t c, const uint8_t **pp, size_t *np)
{
	const uint8_t *p = *pp, *b;
	__m512i x0, x1, x2, x3, x4, x5, x6, x7, k, kg;
	__m128i y;
	uint64_t c1, c2, c3, w0, w1, w2;
	size_t n = *np;

	k = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k4096[1], (long long)k4096[0]));
	kg = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)kgap[1], (long long)kgap[0]));
	x0 = _mm512_xor_si512(_mm512_load_si512(p), _mm512_castsi128_si512(_mm_cvtsi32_si128((int)c)));
	x1 = _mm512_load_si512(p + 64);
	x2 = _mm512_load_si512(p + 128);
	x3 = _mm512_load_si512(p + 192);
	x4 = _mm512_load_si512(p + 256);
	x5 = _mm512_load_si512(p + 320);
	x6 = _mm512_load_si512(p + 384);
	x7 = _mm512_load_si512(p + 448);
	for (;;) {
		b = p + 512 * HYB_STEPS;
		c1 = c2 = c3 = 0;
		for (int i = 1; i < HYB_STEPS; i++) {
			const uint8_t *a = p + 512 * i;
			x0 = fold512(x0, k, _mm512_load_si512(a));
			x1 = fold512(x1, k, _mm512_load_si512(a + 64));
			x2 = fold512(x2, k, _mm512_load_si512(a + 128));
			x3 = fold512(x3, k, _mm512_load_si512(a + 192));
			x4 = fold512(x4, k, _mm512_load_si512(a + 256));
			x5 = fold512(x5, k, _mm512_load_si512(a + 320));
			x6 = fold512(x6, k, _mm512_load_si512(a + 384));
			x7 = fold512(x7, k, _mm512_load_si512(a + 448));
			SCALAR_STEP(b + 32 * (i - 1));
		}
		SCALAR_STEP(b + 32 * (HYB_STEPS - 1));
		p += HYB_CHUNK;
		n -= HYB_CHUNK;
		if (n < HYB_CHUNK)
			break;
		c = shift(zeros_hyb, shift(zeros_hyb, (uint32_t)c1) ^ (uint32_t)c2) ^ (uint32_t)c3;
		x0 = fold512(x0, kg, _mm512_xor_si512(_mm512_load_si512(p),
		    _mm512_castsi128_si512(_mm_cvtsi32_si128((int)c))));
		x1 = fold512(x1, kg, _mm512_load_si512(p + 64));
		x2 = fold512(x2, kg, _mm512_load_si512(p + 128));
		x3 = fold512(x3, kg, _mm512_load_si512(p + 192));
		x4 = fold512(x4, kg, _mm512_load_si512(p + 256));
		x5 = fold512(x5, kg, _mm512_load_si512(p + 320));
		x6 = fold512(x6, kg, _mm512_load_si512(p + 384));
		x7 = fold512(x7, kg, _mm512_load_si512(p + 448));
	}
	y = vp_reduce(x0, x1, x2, x3, x4, x5, x6, x7);
	c = (uint32_t)__builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(y));
	c = (uint32_t)__builtin_ia32_crc32di(c, (uint64_t)_mm_extract_epi64(y, 1));
	c = shift(zeros_hyb, c) ^ (uint32_t)c1;
	c = shift(zeros_hyb, c) ^ (uint32_t)c2;
	c = shift(zeros_hyb, c) ^ (uint32_t)c3;
	*pp = p;
	*np = n;
	return c;
}

__attribute__((target(VPC_TARGET))) static uint32_t
crc_vpclmul(uint32_t crc, const uint8_t *p, size_t n)
{
	__m512i x0, x1, x2, x3, x4, x5, x6, x7, k;
	__m128i y, k1;
	uint32_t c;

	if (n < VPCLMUL_MIN)
		return crc_hw(crc, p, n);
	c = crc_head(~crc, &p, &n, 64);		/* n >= VPCLMUL_MIN - 63 >= 128 */
	if (n >= HYB_CHUNK) {
		c = vp_hybrid(c, &p, &n);
		if (n < 64)
			return crc_hw(~c, p, n);
	}
	x7 = _mm512_castsi128_si512(_mm_cvtsi32_si128((int)c));
	k = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k512[1], (long long)k512[0]));
	if (n >= 512) {
		x0 = _mm512_xor_si512(_mm512_load_si512(p), x7);
		x1 = _mm512_load_si512(p + 64);
		x2 = _mm512_load_si512(p + 128);
		x3 = _mm512_load_si512(p + 192);
		x4 = _mm512_load_si512(p + 256);
		x5 = _mm512_load_si512(p + 320);
		x6 = _mm512_load_si512(p + 384);
		x7 = _mm512_load_si512(p + 448);
		p += 512;
		n -= 512;
		k = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k4096[1], (long long)k4096[0]));
		for (; n >= 512; n -= 512, p += 512) {
			x0 = fold512(x0, k, _mm512_load_si512(p));
			x1 = fold512(x1, k, _mm512_load_si512(p + 64));
			x2 = fold512(x2, k, _mm512_load_si512(p + 128));
			x3 = fold512(x3, k, _mm512_load_si512(p + 192));
			x4 = fold512(x4, k, _mm512_load_si512(p + 256));
			x5 = fold512(x5, k, _mm512_load_si512(p + 320));
			x6 = fold512(x6, k, _mm512_load_si512(p + 384));
			x7 = fold512(x7, k, _mm512_load_si512(p + 448));
		}
		k = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k512[1], (long long)k512[0]));
		x1 = fold512(x0, k, x1);
		x2 = fold512(x1, k, x2);
		x3 = fold512(x2, k, x3);
		x4 = fold512(x3, k, x4);
		x5 = fold512(x4, k, x5);
		x6 = fold512(x5, k, x6);
		x7 = fold512(x6, k, x7);
	} else {
		x7 = _mm512_xor_si512(_mm512_load_si512(p), x7);
		p += 64;
		n -= 64;
	}
	for (; n >= 64; n -= 64, p += 64)
		x7 = fold512(x7, k, _mm512_load_si512(p));
	/* lanes 0, 1, 2 move 384, 256, 128 bits on onto lane 3 */
	k = _mm512_set_epi64(0, 0, (long long)k128[1], (long long)k128[0],
	    (long long)k256[1], (long long)k256[0], (long long)k384[1], (long long)k384[0]);
	x0 = _mm512_xor_si512(_mm512_clmulepi64_epi128(x7, k, 0x00), _mm512_clmulepi64_epi128(x7, k, 0x11));
	y = _mm_ternarylogic_epi64(_mm512_castsi512_si128(x0), _mm512_extracti32x4_epi32(x0, 1),
	    _mm512_extracti32x4_epi32(x0, 2), 0x96);
	y = _mm_xor_si128(y, _mm512_extracti32x4_epi32(x7, 3));
	k1 = _mm_set_epi64x((long long)k128[1], (long long)k128[0]);
	for (; n >= 16; n -= 16, p += 16)
		y = fold128(y, k1, _mm_load_si128((const __m128i *)p));
	return crc_tail(y, p, n);
}
#endif

int
dl_crc32c_tier_ok(int tier)
{
	pthread_once(&once, init);
	return tier >= 0 && tier < DL_CRC_NTIERS && have[tier];
}

/* The CRC by one tier (the table where the tier is missing): to test and time them. */
uint32_t
dl_crc32c_tier(int tier, uint32_t crc, const void *buf, size_t n)
{
	pthread_once(&once, init);
	if (tier < 0 || tier >= DL_CRC_NTIERS || !have[tier])
		tier = DL_CRC_TABLE;
	switch (tier) {
#if defined(__x86_64__)
	case DL_CRC_VPCLMUL:
		return crc_vpclmul(crc, buf, n);
	case DL_CRC_PCLMUL:
		return crc_pclmul(crc, buf, n);
	case DL_CRC_SSE42:
		return crc_hw(crc, buf, n);
#endif
	default:
		return crc_sw(crc, buf, n);
	}
}

uint32_t
dl_crc32c(uint32_t crc, const void *buf, size_t n)
{
	pthread_once(&once, init);
#if defined(__x86_64__)
	if (best == DL_CRC_VPCLMUL)
		return crc_vpclmul(crc, buf, n);
	if (best == DL_CRC_PCLMUL)
		return crc_pclmul(crc, buf, n);
	if (best == DL_CRC_SSE42)
		return crc_hw(crc, buf, n);
#endif
	return crc_sw(crc, buf, n);
}
