/*
 * t.h - the unit-test harness: CHECK(expr), CHECK_NEAR(a, b, tol), t_rand().
 * A test program exits 0 (pass), 1 (fail) or 77 (skip); tests/run.sh counts.
 */
#ifndef T_H
#define T_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int t_failed;

#define CHECK(e) do { if (!(e)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", \
	__FILE__, __LINE__, #e); t_failed++; } } while (0)
#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b); \
	if (!(fabs(a_ - b_) <= (tol))) { fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g, |diff| > %g\n", \
	__FILE__, __LINE__, #a, a_, #b, b_, (double)(tol)); t_failed++; } } while (0)
#define T_SKIP(why) do { fprintf(stderr, "skip: %s\n", why); exit(77); } while (0)
#define T_DONE() return t_failed ? 1 : 0

/* A small deterministic generator for test data: uniform in [-1, 1). */
static inline double
t_rand(unsigned long long *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*s >> 11) / (double)(1ULL << 53) * 2.0 - 1.0;
}
#endif
