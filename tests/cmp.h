/*
 * cmp.h - the comparison of tests/backend-cuda.c (a result against its
 * reference), apart so that tests/cmp.c checks it on the CPU: the largest
 * |a - b| over n elements, the index where it is, and the largest |b|.
 * A NaN or infinity on one side only (or infinities that differ) is the
 * worst difference there is: it makes rel infinite, so no tolerance
 * passes it, wherever it is.  Equal values (NaN with NaN included) agree.
 */
#ifndef T_CMP_H
#define T_CMP_H
#include <math.h>
#include <stddef.h>

struct t_cmp {
	double md;		/* largest |a - b|; INFINITY for a NaN or inf on one side */
	double mb;		/* largest finite |b| */
	double rel;		/* md / max(mb, 1e-30) */
	size_t at;		/* where md is (the first such) */
};

static inline struct t_cmp
t_compare(const float *a, const float *b, size_t n)
{
	struct t_cmp c = { 0, 0, 0, 0 };

	for (size_t i = 0; i < n; i++) {
		double d;

		if (a[i] == b[i] || (isnan(a[i]) && isnan(b[i])))
			d = 0;
		else if (!isfinite(a[i]) || !isfinite(b[i]))
			d = INFINITY;
		else
			d = fabs((double)a[i] - b[i]);
		if (d > c.md)
			c.md = d, c.at = i;
		if (isfinite(b[i]) && fabs(b[i]) > c.mb)
			c.mb = fabs(b[i]);
	}
	c.rel = c.md / (c.mb > 1e-30 ? c.mb : 1e-30);
	return c;
}
#endif
