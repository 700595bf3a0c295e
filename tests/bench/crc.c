/*
 * crc.c - GB/s of each CRC-32C tier in formats/crc32c.c (table, sse4.2,
 * pclmul, vpclmul) and of dl_crc32c() as dispatched, next to memcpy, on a
 * 64 MiB and a 1 MiB buffer; best of repeated runs.  tests/bench/crc.sh
 * builds and runs it.  usage: crc [SECONDS_PER_ROW]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlpipe.h"

/* Not in dlpipe.h: formats/crc32c.c keeps these for tests and benchmarks. */
enum { DL_CRC_TABLE, DL_CRC_SSE42, DL_CRC_PCLMUL, DL_CRC_VPCLMUL, DL_CRC_NTIERS };
int dl_crc32c_tier_ok(int tier);
uint32_t dl_crc32c_tier(int tier, uint32_t crc, const void *buf, size_t n);

static const char *names[] = { "table (bytewise)", "sse4.2 3-lane crc32", "pclmul 8x128 fold",
	"vpclmul 8x512 (+crc32)" };
static volatile uint32_t sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* tier -1: dl_crc32c(), -2: memcpy; best GB/s over calls of `reps` passes for `secs` seconds */
static double
rate(int tier, uint8_t *dst, const uint8_t *src, size_t n, double secs)
{
	size_t reps = n >= (8u << 20) ? 1 : (64u << 20) / n;
	double best = 0, t0 = now(), t1, t;

	do {
		t = now();
		for (size_t r = 0; r < reps; r++) {
			if (tier == -2) {
				memcpy(dst, src, n);
				sink ^= dst[r % n];
			} else if (tier == -1)
				sink ^= dl_crc32c(0, src, n);
			else
				sink ^= dl_crc32c_tier(tier, 0, src, n);
		}
		t1 = now();
		if ((double)n * reps / (t1 - t) / 1e9 > best)
			best = (double)n * reps / (t1 - t) / 1e9;
	} while (t1 - t0 < secs);
	return best;
}

int
main(int argc, char *argv[])
{
	size_t sizes[] = { 64u << 20, 1u << 20 };
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	uint8_t *src, *dst;
	uint64_t s = 1;

	dl_setprogname(argv[0]);
	if (!(src = dl_alloc(sizes[0])) || !(dst = dl_alloc(sizes[0])))
		dl_die("%s", dl_errmsg());
	for (size_t i = 0; i < sizes[0]; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		src[i] = (uint8_t)(s >> 33);
		dst[i] = 0;
	}
	printf("%-24s %10s %10s\n", "", "64 MiB", "1 MiB");
	printf("%-24s", "memcpy");
	for (int i = 0; i < 2; i++)
		printf(" %10.2f", rate(-2, dst, src, sizes[i], secs));
	printf("\n");
	for (int t = 0; t < DL_CRC_NTIERS; t++) {
		printf("%-24s", names[t]);
		for (int i = 0; i < 2; i++)
			if (dl_crc32c_tier_ok(t))
				printf(" %10.2f", rate(t, dst, src, sizes[i], secs));
			else
				printf(" %10s", "-");
		printf("\n");
	}
	printf("%-24s", "dl_crc32c (dispatched)");
	for (int i = 0; i < 2; i++)
		printf(" %10.2f", rate(-1, dst, src, sizes[i], secs));
	printf("\n(GB/s, best of runs over %.1f s each; %s)\n", secs, sink ? "." : "");
	dl_free(src);
	dl_free(dst);
	return 0;
}
