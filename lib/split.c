/*
 * split.c - a stratified split of samples in two (dl-split): per class,
 * a seeded permutation of its samples, the first round(F * count) to one
 * side.
 */
#include <math.h>
#include <stdlib.h>

#include "dlpipe.h"

static int
cmp_pair(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

int
dl_split_stratified(const int64_t *label, uint64_t n, double fraction, uint64_t seed,
                    uint8_t *to_b)
{
	int64_t (*p)[2] = malloc((n ? n : 1) * sizeof *p);
	uint64_t *perm = malloc((n ? n : 1) * sizeof *perm);
	uint64_t i, j, m, n_a;
	struct dl_rng rng;

	if (!p || !perm) {
		free(p);
		free(perm);
		return dl_seterr(DL_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		p[i][0] = label[i];
		p[i][1] = (int64_t)i;
	}
	qsort(p, n, sizeof *p, cmp_pair);
	for (i = 0; i < n; i += m) {
		for (m = 1; i + m < n && p[i + m][0] == p[i][0]; m++)
			;
		for (j = 0; j < m; j++)
			perm[j] = (uint64_t)p[i + j][1];
		dl_rng_fork(&rng, seed, (uint64_t)p[i][0]);
		dl_rng_shuffle(&rng, perm, m);
		n_a = (uint64_t)llround(fraction * (double)m);
		for (j = 0; j < m; j++)
			to_b[perm[j]] = j >= n_a;
	}
	free(perm);
	free(p);
	return 0;
}
