/*
 * fuzz-model.c - libFuzzer target for the model loader (lib/model.h):
 * every input goes through dl_model_memopen, the loader every program
 * uses, and a model it accepts is started on the CPU with its weights set
 * (dl_model_net).  Built by `make fuzz` without DLS_FUZZING: checksums are
 * verified as in the programs, and the custom mutator below recomputes
 * them after each mutation (7 times in 8), so mutated models get past
 * them to the loader's own checks: "mutated, CRC-fixed streams".
 *
 * An accepted model must be a stream the plain reader reads to its end
 * record without error, every checksum verified, or it is a finding
 * (abort: the loader accepted a damaged model).
 *
 * Memory: malloc/free hooks count the bytes live during each input; over
 * 2 x the input's size + 64 MiB is a finding (abort).  At exit it prints
 * the inputs refused and accepted and the largest peak seen, with the
 * input it came from.  Seeds: tests/gen-models.py (tests/fuzz/run.sh).
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
int LLVMFuzzerInitialize(int *argc, char ***argv);
/* the sanitizer runtime's allocator interface */
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
    void (*f)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);

#define BASE_ALLOWANCE (64ull << 20)

static _Atomic long long live, peak;
static unsigned long long n_inputs, n_accepted, n_refused, worst_peak, worst_size;
static double worst_ratio;	/* peak / (2 size + 64 MiB) */

static void
on_malloc(const volatile void *p, size_t n)
{
	long long v = atomic_fetch_add(&live, (long long)n) + (long long)n, pk;

	(void)p;
	while (v > (pk = atomic_load(&peak)) && !atomic_compare_exchange_weak(&peak, &pk, v))
		;
}

static void
on_free(const volatile void *p)
{
	if (p)
		atomic_fetch_sub(&live, (long long)__sanitizer_get_allocated_size(p));
}

static void
report(void)
{
	fprintf(stderr, "fuzz-model: %llu inputs: %llu refused, %llu accepted; largest peak "
	    "%llu bytes for an input of %llu (%.4f of 2 x size + 64 MiB at most)\n", n_inputs,
	    n_refused, n_accepted, worst_peak, worst_size, worst_ratio);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	setenv("DL_DEVICE", "cpu", 1);
	setenv("OMP_NUM_THREADS", "1", 1);
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
	atexit(report);
	return 0;
}

static uint32_t
ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
ld64(const uint8_t *p)
{
	return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static void
st32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* Recompute the stream header's and every record's checksums, as far as
 * the record sizes lead (a later stream starts after an ENDS). */
static void
fix_crcs(uint8_t *b, size_t n)
{
	size_t at = 0;

	while (at + 64 <= n) {
		if (!memcmp(b + at, DLS_MAGIC, 8)) {
			st32(b + at + 60, dl_crc32c(0, b + at, 60));
			at += 64;
			continue;
		}
		uint64_t size = ld64(b + at + 16);
		uint32_t ps = ld32(b + at + 24);

		if (size >= 64 && (uint64_t)ps <= size - 64 && size <= n - at) {
			st32(b + at + 40, dl_crc32c(0, b + at + 64, ps));
			st32(b + at + 44, size - 64 - ps ?
			    dl_crc32c(0, b + at + 64 + ps, size - 64 - ps) : 0);
		}
		st32(b + at + 60, dl_crc32c(0, b + at, 60));
		if (size < 64 || size > n - at)
			break;
		at += size;
	}
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size = LLVMFuzzerMutate(data, size, max_size);
	if (seed % 8)
		fix_crcs(data, size);
	return size;
}

/* The plain stream reader over the input: 0 when it reads to the end. */
static int
reads_clean(const uint8_t *data, size_t size)
{
	struct dl_reader *r = dl_reader_memopen(data, size, "fuzz", NULL);
	struct dl_record *rec = dl_record_new(NULL);
	int rc = -1;

	if (r && rec && dl_reader_head(r))
		while ((rc = dl_reader_next(r, rec)) > 0)
			;
	dl_record_free(rec);
	dl_reader_close(r);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dl_net_opts no = { .device = "cpu", .threads = 1 };
	struct dl_model *m;
	struct dl_net *net = NULL;
	int accepted = 0;
	long long start = atomic_load(&live), used;
	unsigned long long allowed = 2ull * size + BASE_ALLOWANCE;

	atomic_store(&peak, start);
	if ((m = dl_model_memopen(data, size, "fuzz", &no)) && (net = dl_model_net(m)))
		n_accepted++, accepted = 1;
	else
		n_refused++;
	dl_net_free(net);
	dl_model_close(m);
	n_inputs++;
	used = atomic_load(&peak) - start;
	if (used > 0 && (double)used / allowed > worst_ratio) {
		worst_ratio = (double)used / allowed;
		worst_peak = (unsigned long long)used;
		worst_size = size;
	}
	if (used > 0 && (unsigned long long)used > allowed) {
		fprintf(stderr, "fuzz-model: %lld bytes live for an input of %zu (at most %llu)\n",
		    used, size, allowed);
		abort();
	}
	if (accepted && reads_clean(data, size) != 0) {
		fprintf(stderr, "fuzz-model: accepted a model the stream reader refuses: %s\n",
		    dl_errmsg());
		abort();
	}
	return 0;
}
