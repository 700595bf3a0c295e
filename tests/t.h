/*
 * t.h - the unit-test harness: CHECK(expr), CHECK_NEAR(a, b, tol), t_rand().
 * A test program exits 0 (pass), 1 (fail) or 77 (skip); tests/run.sh counts.
 * With lib/net.h included first: t_net_unzero(net, s).
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

#ifdef DL_NET_H
/* A fresh net's output layer starts at zero, so nothing flows back from
 * it; gradient checks of the layers below need it random (scale 0.3). */
static inline void
t_net_unzero(struct dl_net *net, unsigned long long *s)
{
	struct dl_param_info pi;
	float w[1 << 14];

	for (int i = 0; i < dl_net_params(net); i++) {
		int zero = 1;

		if (dl_net_param_info(net, i, &pi) < 0 || !pi.decay || pi.n > 1 << 14 ||
		    dl_net_param_get(net, i, w) < 0)
			continue;
		for (long j = 0; j < pi.n && zero; j++)
			zero = w[j] == 0;
		if (!zero)
			continue;
		for (long j = 0; j < pi.n; j++)
			w[j] = (float)(0.3 * t_rand(s));
		dl_net_param_set(net, i, w);
	}
}
#endif
#endif
