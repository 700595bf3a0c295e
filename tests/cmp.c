/*
 * tests/cmp.c - the comparison that tests/backend-cuda.c uses for every
 * CUDA result (tests/cmp.h), on made-up data: a NaN or infinity on one
 * side fails whatever the tolerance and wherever it is (not only as the
 * last element), and the index reported is where the worst difference is.
 */
#include "t.h"
#include "cmp.h"

int
main(void)
{
	float ref[6] = { 1, -2, 3, 0.5f, 4, -1 }, a[6];
	struct t_cmp c;

	for (int i = 0; i < 6; i++)
		a[i] = ref[i];
	c = t_compare(a, ref, 6);
	CHECK(c.md == 0 && c.rel == 0 && c.mb == 4);

	a[2] = 3.001f;			/* a small difference */
	c = t_compare(a, ref, 6);
	CHECK(c.at == 2 && c.rel > 1e-4 && c.rel < 1e-3);

	/* a NaN anywhere is the worst, also before a finite difference */
	for (int at = 0; at < 6; at++) {
		for (int i = 0; i < 6; i++)
			a[i] = ref[i] * 1.00001f;
		a[at] = NAN;
		c = t_compare(a, ref, 6);
		CHECK(!(c.rel <= 1e30));
		CHECK(c.at == (size_t)at);
		/* on the reference's side too */
		float r2[6];
		for (int i = 0; i < 6; i++)
			r2[i] = ref[i], a[i] = ref[i];
		r2[at] = NAN;
		c = t_compare(a, r2, 6);
		CHECK(!(c.rel <= 1e30) && c.at == (size_t)at);
	}
	/* infinities: one side, or of other signs, fail; equal ones agree */
	for (int i = 0; i < 6; i++)
		a[i] = ref[i];
	a[1] = INFINITY;
	c = t_compare(a, ref, 6);
	CHECK(!(c.rel <= 1e30) && c.at == 1);
	{
		float x[2] = { INFINITY, 1 }, y[2] = { -INFINITY, 1 }, z[2] = { INFINITY, 1 };
		CHECK(!(t_compare(x, y, 2).rel <= 1e30));
		CHECK(t_compare(x, z, 2).rel == 0);
		float n1[2] = { NAN, 1 }, n2[2] = { NAN, 1 };
		CHECK(t_compare(n1, n2, 2).rel == 0);
	}
	/* n = 0 and an all-zero reference */
	CHECK(t_compare(a, ref, 0).rel == 0);
	{
		float z0[3] = { 0, 0, 0 }, z1[3] = { 0, 1e-6f, 0 };
		CHECK(t_compare(z1, z0, 3).rel > 1);
	}
	T_DONE();
}
