/*
 * util.c - small pieces every part uses: aligned memory, dtypes and
 * tensor values, the random number generator, the clock.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

/* ---- memory ---- */
void *
dl_alloc(size_t nbytes)
{
	void *p = NULL;
	size_t n = (nbytes + 63) & ~(size_t)63;

	if (n < nbytes || posix_memalign(&p, 64, n ? n : 64)) {
		dl_seterr(DL_ENOMEM, "out of memory allocating %zu bytes", nbytes);
		return NULL;
	}
	memset(p, 0, n ? n : 64);
	return p;
}

void *
dl_realloc(void *p, size_t old_nbytes, size_t new_nbytes)
{
	void *q = dl_alloc(new_nbytes);

	if (q && p)
		memcpy(q, p, old_nbytes < new_nbytes ? old_nbytes : new_nbytes);
	if (q)
		free(p);
	return q;
}

void
dl_free(void *p)
{
	free(p);
}

/* ---- dtypes ---- */
static const struct { int code; const char *name; size_t size; } dtypes[] = {
	{ DL_U8, "u8", 1 }, { DL_U16, "u16", 2 }, { DL_U32, "u32", 4 }, { DL_U64, "u64", 8 },
	{ DL_I8, "i8", 1 }, { DL_I16, "i16", 2 }, { DL_I32, "i32", 4 }, { DL_I64, "i64", 8 },
	{ DL_F16, "f16", 2 }, { DL_F32, "f32", 4 }, { DL_F64, "f64", 8 },
	{ DL_BF16, "bf16", 2 }, { DL_BOOL, "bool", 1 },
};

size_t
dl_dtype_size(int dtype)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
		if (dtypes[i].code == dtype)
			return dtypes[i].size;
	return 0;
}

const char *
dl_dtype_name(int dtype)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
		if (dtypes[i].code == dtype)
			return dtypes[i].name;
	return NULL;
}

int
dl_word_index(const char *const *words, int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (!strcmp(s, words[i]))
			return i;
	return -1;
}

const char *
dl_word_at(const char *const *words, int n, int i)
{
	return i >= 0 && i < n ? words[i] : "?";
}

int
dl_dtype_parse(const char *s)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
		if (!strcmp(dtypes[i].name, s))
			return dtypes[i].code;
	return -1;
}

uint64_t
dl_tensor_count(const struct dl_tensor *t)
{
	uint64_t n = 1;

	for (int i = 0; i < t->ndim; i++)
		n *= t->shape[i];
	return n;
}

char *
dl_tensor_desc(const struct dl_tensor *t, char *buf, size_t n)
{
	size_t len;
	const char *dn = dl_dtype_name(t->dtype);

	snprintf(buf, n, "%s[", dn ? dn : "?");
	for (int i = 0; i < t->ndim; i++) {
		len = strlen(buf);
		snprintf(buf + len, n - len, "%s%llu", i ? "," : "", (unsigned long long)t->shape[i]);
	}
	len = strlen(buf);
	snprintf(buf + len, n - len, "]");
	return buf;
}

static float
half_to_float(uint16_t h)
{
	uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, u;
	float f;

	if (e == 0) {
		f = ldexpf((float)m, -24);
		return s ? -f : f;
	}
	u = e == 31 ? s | 0x7f800000u | m << 13 : s | (e + 112) << 23 | m << 13;
	memcpy(&f, &u, 4);
	return f;
}

static uint16_t
float_to_half(float f)
{
	uint32_t u, s, e, m;

	memcpy(&u, &f, 4);
	s = (u >> 16) & 0x8000;
	e = (u >> 23) & 255;
	m = u & 0x7fffff;
	if (e == 255)
		return (uint16_t)(s | 0x7c00 | (m ? 0x200 : 0));
	int ne = (int)e - 112;
	if (ne >= 31)
		return (uint16_t)(s | 0x7c00);
	if (ne <= 0) {
		if (ne < -10)
			return (uint16_t)s;
		m |= 0x800000;
		uint32_t shift = (uint32_t)(14 - ne);
		uint32_t hm = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
		if (rem > half || (rem == half && (hm & 1)))
			hm++;
		return (uint16_t)(s | hm);
	}
	uint32_t h = s | (uint32_t)ne << 10 | m >> 13, rem = m & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
		h++;
	return (uint16_t)h;
}

double
dl_tensor_get(const struct dl_tensor *t, uint64_t i)
{
	const void *p = t->data;
	uint32_t u;
	float f;

	switch (t->dtype) {
	case DL_U8: case DL_BOOL: return ((const uint8_t *)p)[i];
	case DL_U16: return ((const uint16_t *)p)[i];
	case DL_U32: return ((const uint32_t *)p)[i];
	case DL_U64: return (double)((const uint64_t *)p)[i];
	case DL_I8: return ((const int8_t *)p)[i];
	case DL_I16: return ((const int16_t *)p)[i];
	case DL_I32: return ((const int32_t *)p)[i];
	case DL_I64: return (double)((const int64_t *)p)[i];
	case DL_F16: return half_to_float(((const uint16_t *)p)[i]);
	case DL_F32: return ((const float *)p)[i];
	case DL_F64: return ((const double *)p)[i];
	case DL_BF16:
		u = (uint32_t)((const uint16_t *)p)[i] << 16;
		memcpy(&f, &u, 4);
		return f;
	}
	return NAN;
}

static double
clampd(double v, double lo, double hi)
{
	if (v != v)
		return 0;
	return v < lo ? lo : v > hi ? hi : v;
}

void
dl_tensor_set(struct dl_tensor *t, uint64_t i, double v)
{
	void *p = t->data;
	float f;
	uint32_t u;

	switch (t->dtype) {
	case DL_U8: ((uint8_t *)p)[i] = (uint8_t)lrint(clampd(v, 0, 255)); break;
	case DL_BOOL: ((uint8_t *)p)[i] = v != 0; break;
	case DL_U16: ((uint16_t *)p)[i] = (uint16_t)lrint(clampd(v, 0, 65535)); break;
	case DL_U32: ((uint32_t *)p)[i] = (uint32_t)llrint(clampd(v, 0, 4294967295.0)); break;
	case DL_U64: ((uint64_t *)p)[i] = (uint64_t)clampd(v, 0, 1.8e19); break;
	case DL_I8: ((int8_t *)p)[i] = (int8_t)lrint(clampd(v, -128, 127)); break;
	case DL_I16: ((int16_t *)p)[i] = (int16_t)lrint(clampd(v, -32768, 32767)); break;
	case DL_I32: ((int32_t *)p)[i] = (int32_t)llrint(clampd(v, -2147483648.0, 2147483647.0)); break;
	case DL_I64: ((int64_t *)p)[i] = (int64_t)clampd(v, -9.2e18, 9.2e18); break;
	case DL_F16: ((uint16_t *)p)[i] = float_to_half((float)v); break;
	case DL_F32: ((float *)p)[i] = (float)v; break;
	case DL_F64: ((double *)p)[i] = v; break;
	case DL_BF16:
		f = (float)v;
		memcpy(&u, &f, 4);
		if ((u & 0x7f800000u) != 0x7f800000u)
			u += 0x7fff + ((u >> 16) & 1);
		((uint16_t *)p)[i] = (uint16_t)(u >> 16);
		break;
	}
}

/* u8 is read as v/255: v * (1 / 255.0) in double, whose float is exactly
 * v / 255.0f for every v (so the f32 and f64 forms agree). */
void
dl_to_f32(const void *src, int dtype, uint64_t n, float *dst)
{
	struct dl_tensor t = { .dtype = dtype, .data = (void *)src };

	if (dtype == DL_U8)
		for (uint64_t i = 0; i < n; i++)
			dst[i] = ((const uint8_t *)src)[i] / 255.0f;
	else if (dtype == DL_F32)
		memmove(dst, src, n * sizeof *dst);
	else
		for (uint64_t i = 0; i < n; i++)
			dst[i] = (float)dl_tensor_get(&t, i);
}

void
dl_to_f64(const void *src, int dtype, uint64_t n, double *dst)
{
	struct dl_tensor t = { .dtype = dtype, .data = (void *)src };

	if (dtype == DL_U8)
		for (uint64_t i = 0; i < n; i++)
			dst[i] = ((const uint8_t *)src)[i] * (1 / 255.0);
	else if (dtype == DL_F32)
		for (uint64_t i = 0; i < n; i++)
			dst[i] = ((const float *)src)[i];
	else if (dtype == DL_F64)
		memmove(dst, src, n * sizeof *dst);
	else
		for (uint64_t i = 0; i < n; i++)
			dst[i] = dl_tensor_get(&t, i);
}

int
dl_name_valid(const char *s, size_t len)
{
	if (len < 1 || len > DL_MAX_NAME)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '/' || c == '-'))
			return 0;
	}
	return 1;
}

/* ---- random numbers: splitmix64 -> xoshiro256** ---- */
static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
dl_rng_seed(struct dl_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

void
dl_rng_fork(struct dl_rng *r, uint64_t seed, uint64_t k)
{
	uint64_t x = seed;

	x = splitmix(&x) ^ (k * 0xd1342543de82ef95ULL + 0x632be59bd9b4e019ULL);
	dl_rng_seed(r, x);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
dl_rng_u64(struct dl_rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

double
dl_rng_uniform(struct dl_rng *r)
{
	return (double)(dl_rng_u64(r) >> 11) * 0x1.0p-53;
}

double
dl_rng_normal(struct dl_rng *r)
{
	double u1, u2;

	do
		u1 = dl_rng_uniform(r);
	while (u1 <= 0);
	u2 = dl_rng_uniform(r);
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

uint64_t
dl_rng_below(struct dl_rng *r, uint64_t n)
{
	uint64_t x, lim;

	if (n <= 1)
		return 0;
	lim = -n % n;		/* 2^64 mod n: reject below it */
	do
		x = dl_rng_u64(r);
	while (x < lim);
	return x % n;
}

void
dl_rng_shuffle(struct dl_rng *r, uint64_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = dl_rng_below(r, i);
		uint64_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

void
dl_rng_permutation(uint64_t *perm, uint64_t n, uint64_t seed, uint64_t k)
{
	struct dl_rng r;

	for (uint64_t i = 0; i < n; i++)
		perm[i] = i;
	dl_rng_fork(&r, seed, k);
	dl_rng_shuffle(&r, perm, n);
}

/* ---- time ---- */
double
dl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}
