/*
 * threads.c - --threads for the programs that compute without a network
 * (dl-whiten): OpenMP's threads and OpenBLAS's (lib/stats.h).  The
 * programs with a network pass theirs in dl_net_opts.threads instead.
 */
#include <cblas.h>
#include <omp.h>

#include "dlpipe.h"

void
dl_threads_set(int n)
{
	if (n <= 0)
		return;
	omp_set_num_threads(n);
	openblas_set_num_threads(n);
}
