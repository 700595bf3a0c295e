/*
 * roofline.c - what this CPU can do, measured, so that training figures
 * taken on a noisy shared machine can be read as a share of it: the fp32
 * FMA peak (independent vfmadd chains in registers, AVX-512 when the CPU
 * has it, else AVX2), the bf16 dot-product peak (vdpbf16ps; "-" on a CPU
 * without AVX512-BF16), each with 1 and with 2 threads, and OpenBLAS's
 * sgemm on 1024x1024 matrices (1 thread; 2 threads as dlpipe runs it: the
 * columns split in two).  Each figure is the best of repeated runs within
 * the given seconds.  Output: "name threads GFLOP/s" lines, then "peak2
 * GFLOP/s" (the two-thread fp32 FMA peak) for scripts.
 */
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define ITERS 20000000L		/* x 12 chains x 8 lanes x 2: 3.84 GFLOP (AVX2) */

__attribute__((target("avx2,fma"), optimize("unroll-loops"))) static float
fma_avx2(long iters)
{
	__m256 a[12], b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);

	for (int i = 0; i < 12; i++)
		a[i] = _mm256_set1_ps((float)i);
	for (long n = 0; n < iters; n++)
		for (int i = 0; i < 12; i++)
			a[i] = _mm256_fmadd_ps(a[i], b, c);
	for (int i = 1; i < 12; i++)
		a[0] = _mm256_add_ps(a[0], a[i]);
	return _mm256_cvtss_f32(a[0]);
}

__attribute__((target("avx512f"), optimize("unroll-loops"))) static float
fma_avx512(long iters)
{
	__m512 a[12], b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);

	for (int i = 0; i < 12; i++)
		a[i] = _mm512_set1_ps((float)i);
	for (long n = 0; n < iters; n++)
		for (int i = 0; i < 12; i++)
			a[i] = _mm512_fmadd_ps(a[i], b, c);
	for (int i = 1; i < 12; i++)
		a[0] = _mm512_add_ps(a[0], a[i]);
	return _mm512_reduce_add_ps(a[0]);
}

/* 16 lanes x 2 products x 2 operations a vdpbf16ps */
__attribute__((target("avx512f,avx512bf16"), optimize("unroll-loops"))) static float
dot_bf16(long iters)
{
	__m512 a[12];
	__m512bh b = (__m512bh)_mm512_set1_epi16(0x3f80), c = (__m512bh)_mm512_set1_epi16(0x3380);

	for (int i = 0; i < 12; i++)
		a[i] = _mm512_set1_ps((float)i);
	for (long n = 0; n < iters; n++)
		for (int i = 0; i < 12; i++)
			a[i] = _mm512_dpbf16_ps(a[i], b, c);
	for (int i = 1; i < 12; i++)
		a[0] = _mm512_add_ps(a[0], a[i]);
	return _mm512_reduce_add_ps(a[0]);
}

static volatile float sink;

/* Best GFLOP/s of kernel f on nt threads within secs seconds. */
static double
peak(float (*f)(long), double flop_per_iter, int nt, double secs)
{
	double best = 0, end = now() + secs;
	long iters = ITERS / 8;

	do {
		double t0 = now(), t;

		#pragma omp parallel num_threads(nt)
		sink = f(iters);
		t = now() - t0;
		if (flop_per_iter * iters * nt / t > best)
			best = flop_per_iter * iters * nt / t;
	} while (now() < end);
	return best * 1e-9;
}

static double
sgemm_rate(int nt, double secs)
{
	enum { N = 1024 };
	float *a = malloc(sizeof(float) * N * N), *b = malloc(sizeof(float) * N * N);
	float *c = malloc(sizeof(float) * N * N);
	double best = 0, end;

	if (!a || !b || !c)
		return 0;
	for (long i = 0; i < (long)N * N; i++)
		a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
	openblas_set_num_threads(1);
	end = now() + secs;
	do {
		double t0 = now(), t;

		#pragma omp parallel for num_threads(nt)
		for (int h = 0; h < nt; h++) {
			int lo = N * h / nt, hi = N * (h + 1) / nt;

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, hi - lo, N, 1.0f,
			    a, N, b + lo, N, 0.0f, c + lo, N);
		}
		t = now() - t0;
		if (2.0 * N * N * N / t > best)
			best = 2.0 * N * N * N / t;
	} while (now() < end);
	free(a), free(b), free(c);
	return best * 1e-9;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, p[3], per;
	int v4, bf;
	float (*f)(long);

	__builtin_cpu_init();
	v4 = __builtin_cpu_supports("avx512f"), bf = __builtin_cpu_supports("avx512bf16");
	f = v4 ? fma_avx512 : fma_avx2;
	per = v4 ? 12 * 16 * 2 : 12 * 8 * 2;
	for (int nt = 1; nt <= 2; nt++) {
		p[nt] = peak(f, per, nt, secs);
		printf("fp32-fma-%s %d %.1f\n", v4 ? "avx512" : "avx2", nt, p[nt]);
	}
	for (int nt = 1; nt <= 2; nt++) {
		if (bf)
			printf("bf16-dot %d %.1f\n", nt, peak(dot_bf16, 12 * 16 * 4, nt, secs));
		else
			printf("bf16-dot %d - (this CPU has no AVX512-BF16)\n", nt);
	}
	for (int nt = 1; nt <= 2; nt++)
		printf("sgemm-1024 %d %.1f\n", nt, sgemm_rate(nt, secs));
	printf("peak2 %.1f\n", p[2]);
	return 0;
}
