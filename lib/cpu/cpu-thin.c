/*
 * cpu-thin.c - convolutions with a thin filter (few inputs per output:
 * R*S*C <= THIN_MAX, the first layer of an image net: LeNet's 20C5 on one
 * channel has 25), written for AVX2 + FMA.  Their GEMMs, y[rows, K] =
 * col[rows, T] w[K, T]^T and dw[K, T] = dy[rows, K]^T col[rows, T] with
 * T = R*S*C, are the shapes where OpenBLAS spends more time packing than
 * multiplying and oneDNN declines (its kernels block 16 output channels;
 * LeNet has 20), and im2col itself, T tiny copies a pixel, cost as much
 * again.  Here the input is read in place (a zero-padded copy first when
 * the convolution pads): input element t of output pixel i is at
 * src[base[i] + off[t]], and a 4-pixel by 24-channel tile of outputs stays
 * in twelve registers while the T inputs stream by.  Used by cpu-conv.c
 * when the CPU has AVX2 and FMA; the sums run in a fixed order whatever
 * the threads.
 */
#include <stdlib.h>
#include <string.h>

/* the tile loops unrolled, so that the twelve sums stay in registers */
#pragma GCC optimize("O3")

#include "base.h"
#include "cpu.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#define G 24		/* output channels a tile: three 8-float vectors */

int
cpu_thin_ok(const struct dl_conv *cv)
{
	static int has = -1;
	const char *e = getenv("DL_CPU_CONV");

	if (has < 0) {
		__builtin_cpu_init();
		has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	}
	return has && cv->r * cv->s * cv->c <= THIN_MAX && !(e && !strcmp(e, "blas"));
}

size_t
cpu_thin_wsize(const struct dl_conv *cv)
{
	int T = cv->r * cv->s * cv->c;

	return (size_t)(cv->k + G - 1) / G * T * G;
}

void
cpu_thin_pack(const struct dl_conv *cv, const float *w, float *wt)
{
	int T = cv->r * cv->s * cv->c, K = cv->k;

	/* wt[group][t][24] = w[group * 24 + j][t], 0 past K */
	memset(wt, 0, cpu_thin_wsize(cv) * sizeof *wt);
	for (int k = 0; k < K; k++)
		for (int t = 0; t < T; t++)
			wt[((size_t)(k / G) * T + t) * G + k % G] = w[(size_t)k * T + t];
}

/* lanes of the 8-float vector at channel j0 of a tile that are < n */
__attribute__((target("avx2,fma"))) static inline __m256i
lanes(int j0, int n)
{
	__m256i i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);

	return _mm256_cmpgt_epi32(_mm256_set1_epi32(n - j0), i);
}

/* o[0..n) = a tile row's first n of 24 (AMD's masked stores are
 * microcoded, tens of cycles: whole vectors where they fit, then a copy) */
__attribute__((target("avx2,fma"))) static inline void
put(float *o, int n, __m256 a0, __m256 a1, __m256 a2)
{
	float b[8];

	if (n >= 8)
		_mm256_storeu_ps(o, a0);
	if (n >= 16)
		_mm256_storeu_ps(o + 8, a1);
	if (n == G) {
		_mm256_storeu_ps(o + 16, a2);
		return;
	}
	_mm256_storeu_ps(b, n < 8 ? a0 : n < 16 ? a1 : a2);
	memcpy(o + n / 8 * 8, b, (size_t)(n % 8) * sizeof *b);
}

/* Where a chunk's pixels find their inputs: src (the chunk, or its padded
 * copy in scratch), base[i] for output pixel i of the chunk, off[t] for
 * filter element t = (r, s, c).  Scratch: cpu_thin_scratch() floats. */
struct src {
	const float *x;
	const long *base;
	const int *off;
};

static int
padded(const struct dl_conv *cv)
{
	return cv->pad_h || cv->pad_w;
}

size_t
cpu_thin_scratch(const struct dl_conv *cv, int ns)
{
	size_t hp = cv->h + 2 * cv->pad_h, wp = cv->w + 2 * cv->pad_w;
	size_t pix = (size_t)ns * cv->p * cv->q, T = (size_t)cv->r * cv->s * cv->c;

	/* the padded copy, then base[] and off[] (longs and ints as floats' room) */
	return ((padded(cv) ? ns * hp * wp * cv->c : 0) + 2 * pix + T + 31) / 16 * 16;
}

static struct src
prep(const struct dl_conv *cv, int ns, const float *x, float *scratch)
{
	int C = cv->c, hp = cv->h + 2 * cv->pad_h, wp = cv->w + 2 * cv->pad_w;
	size_t sp = (size_t)hp * wp * C, pad = padded(cv) ? ns * sp : 0;
	long *base = (long *)(void *)(scratch + pad + (pad & 1));
	int *off = (int *)(base + (size_t)ns * cv->p * cv->q);
	struct src s = { x, base, off };

	if (pad) {
		memset(scratch, 0, pad * sizeof *scratch);
		for (int i = 0; i < ns; i++)
			for (int h = 0; h < cv->h; h++)
				memcpy(scratch + i * sp + ((size_t)(h + cv->pad_h) * wp + cv->pad_w) * C,
				    x + (((size_t)i * cv->h + h) * cv->w) * C,
				    (size_t)cv->w * C * sizeof *x);
		s.x = scratch;
	}
	for (int r = 0, t = 0; r < cv->r; r++)
		for (int j = 0; j < cv->s * C; j++)
			off[t++] = (r * wp) * C + j;
	for (int i = 0; i < ns; i++)
		for (int p = 0; p < cv->p; p++)
			for (int q = 0; q < cv->q; q++)
				*base++ = (long)i * (long)sp +
				    ((long)p * cv->stride_h * wp + (long)q * cv->stride_w) * C;
	return s;
}

/* y[i, k0 + j] for the pixels i < n, channels j < kn of the tile wt[T][24] */
__attribute__((target("avx2,fma"))) static void
fwd_tile(long n, int T, int K, struct src s, const float *wt, float *y, int kn)
{
	long i = 0;

	for (; i + 4 <= n; i += 4) {
		const float *x0 = s.x + s.base[i], *x1 = s.x + s.base[i + 1];
		const float *x2 = s.x + s.base[i + 2], *x3 = s.x + s.base[i + 3];
		__m256 a[4][3];

		#pragma GCC unroll 4
		for (int u = 0; u < 4; u++)
			a[u][0] = a[u][1] = a[u][2] = _mm256_setzero_ps();
		for (int t = 0; t < T; t++) {
			const float *w = wt + (size_t)t * G;
			__m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
			__m256 w2 = _mm256_loadu_ps(w + 16), v[4];
			int o = s.off[t];

			v[0] = _mm256_broadcast_ss(x0 + o);
			v[1] = _mm256_broadcast_ss(x1 + o);
			v[2] = _mm256_broadcast_ss(x2 + o);
			v[3] = _mm256_broadcast_ss(x3 + o);
			#pragma GCC unroll 4
			for (int u = 0; u < 4; u++) {
				a[u][0] = _mm256_fmadd_ps(v[u], w0, a[u][0]);
				a[u][1] = _mm256_fmadd_ps(v[u], w1, a[u][1]);
				a[u][2] = _mm256_fmadd_ps(v[u], w2, a[u][2]);
			}
		}
		#pragma GCC unroll 4
		for (int u = 0; u < 4; u++)
			put(y + (size_t)(i + u) * K, kn, a[u][0], a[u][1], a[u][2]);
	}
	for (; i < n; i++) {		/* the last pixels, one at a time */
		const float *x0 = s.x + s.base[i];
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0;

		for (int t = 0; t < T; t++) {
			__m256 v = _mm256_broadcast_ss(x0 + s.off[t]);
			const float *w = wt + (size_t)t * G;

			a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w), a0);
			a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w + 8), a1);
			a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w + 16), a2);
		}
		put(y + (size_t)i * K, kn, a0, a1, a2);
	}
}

void
cpu_thin_fwd(const struct dl_conv *cv, int ns, const float *x, const float *wt, float *y,
    float *scratch)
{
	int T = cv->r * cv->s * cv->c, K = cv->k;
	struct src s = prep(cv, ns, x, scratch);

	for (int k0 = 0; k0 < K; k0 += G)
		fwd_tile((long)ns * cv->p * cv->q, T, K, s, wt + (size_t)k0 / G * T * G, y + k0,
		    K - k0 < G ? K - k0 : G);
}

/* the sums of filter row u: += its input at x (offset o[u]) times g0..g2 */
#define ROW(u, x) do { \
	__m256 v = _mm256_broadcast_ss((x) + o[u]); \
	a##u##0 = _mm256_fmadd_ps(v, g0, a##u##0); \
	a##u##1 = _mm256_fmadd_ps(v, g1, a##u##1); \
	a##u##2 = _mm256_fmadd_ps(v, g2, a##u##2); \
} while (0)
#define ROWS(x) do { ROW(0, x); ROW(1, x); ROW(2, x); ROW(3, x); } while (0)

/* dw[k0 + j, t0 + u] = sum over the pixels i < n of dy[i, k0 + j] times
 * input t0 + u of pixel i, for u < tn <= 4, j < kn <= 24.  Rows u >= tn
 * sum a real input (offset 0) into sums never stored.  (Twelve named sums:
 * as an array GCC kept them in registers but stored them at every pixel.) */
__attribute__((target("avx2,fma"))) static void
filter_tile(long n, int T, int K, const float *dy, struct src s, int t0, int tn, int k0,
    int kn, float *dw)
{
	int o[4] = { 0, 0, 0, 0 };
	/* pixels whose 24 gradients from k0 lie inside the chunk: whole loads
	 * (lanes past kn hold the next pixels', never stored); the rest masked */
	long whole = n * K - k0 - G < 0 ? 0 : (n * K - k0 - G) / K + 1, i = 0;
	__m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
	__m256 a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
	float out[4][G];

	for (int u = 0; u < tn; u++)
		o[u] = s.off[t0 + u];
	for (; i < whole; i++) {
		const float *g = dy + (size_t)i * K + k0;
		__m256 g0 = _mm256_loadu_ps(g), g1 = _mm256_loadu_ps(g + 8);
		__m256 g2 = _mm256_loadu_ps(g + 16);

		ROWS(s.x + s.base[i]);
	}
	for (; i < n; i++) {
		const float *g = dy + (size_t)i * K + k0;
		__m256 g0 = _mm256_maskload_ps(g, lanes(0, kn));
		__m256 g1 = _mm256_maskload_ps(g + 8, lanes(8, kn));
		__m256 g2 = _mm256_maskload_ps(g + 16, lanes(16, kn));

		ROWS(s.x + s.base[i]);
	}
	_mm256_storeu_ps(out[0], a00); _mm256_storeu_ps(out[0] + 8, a01);
	_mm256_storeu_ps(out[0] + 16, a02); _mm256_storeu_ps(out[1], a10);
	_mm256_storeu_ps(out[1] + 8, a11); _mm256_storeu_ps(out[1] + 16, a12);
	_mm256_storeu_ps(out[2], a20); _mm256_storeu_ps(out[2] + 8, a21);
	_mm256_storeu_ps(out[2] + 16, a22); _mm256_storeu_ps(out[3], a30);
	_mm256_storeu_ps(out[3] + 8, a31); _mm256_storeu_ps(out[3] + 16, a32);
	for (int u = 0; u < tn; u++)
		for (int j = 0; j < kn; j++)
			dw[(size_t)(k0 + j) * T + t0 + u] = out[u][j];
}

void
cpu_thin_filter(const struct dl_conv *cv, int ns, const float *dy, const float *x, float *dw,
    float *scratch)
{
	int T = cv->r * cv->s * cv->c, K = cv->k;
	struct src s = prep(cv, ns, x, scratch);
	long n = (long)ns * cv->p * cv->q;

	for (int k0 = 0; k0 < K; k0 += G)
		for (int t0 = 0; t0 < T; t0 += 4)
			filter_tile(n, T, K, dy, s, t0, T - t0 < 4 ? T - t0 : 4, k0,
			    K - k0 < G ? K - k0 : G, dw);
}

#else	/* no AVX2 kernels in this build: cpu-conv.c keeps to im2col + OpenBLAS */
int cpu_thin_ok(const struct dl_conv *cv) { return 0; }
size_t cpu_thin_wsize(const struct dl_conv *cv) { return 0; }
size_t cpu_thin_scratch(const struct dl_conv *cv, int ns) { return 0; }
void cpu_thin_pack(const struct dl_conv *cv, const float *w, float *wt) { }
void cpu_thin_fwd(const struct dl_conv *cv, int ns, const float *x, const float *wt,
    float *y, float *scratch) { }
void cpu_thin_filter(const struct dl_conv *cv, int ns, const float *dy, const float *x,
    float *dw, float *scratch) { }
#endif
