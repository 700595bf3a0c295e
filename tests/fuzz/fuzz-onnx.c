/*
 * fuzz-onnx.c - libFuzzer target for the ONNX reader and importer
 * (formats/pb.c, formats/onnx.c, lib/onnx-import.c): every input goes
 * through dl_onnx_import as dl-import onnx does, its model written to
 * /dev/null; the parsed tables of an input it reads are walked, and a
 * tensor's values converted, so that every slice the reader hands out is
 * touched under ASan.  Memory: malloc/free hooks count the bytes live
 * during each input; over 2 x the input's size + 64 MiB is a finding.
 * Seeds: tests/onnx-hostile.py and the ONNX test models (tests/fuzz/run-onnx.sh).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlpipe.h"
#include "onnxpb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
    void (*f)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);

static _Atomic long long live, peak;

static void
on_malloc(const volatile void *p, size_t n)
{
	long long l = atomic_fetch_add(&live, (long long)n) + (long long)n;
	if (l > atomic_load(&peak))
		atomic_store(&peak, l);
}

static void
on_free(const volatile void *p)
{
	atomic_fetch_sub(&live, (long long)__sanitizer_get_allocated_size(p));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int hooked;
	struct onnx_model m;
	long long base;

	if (!hooked)
		hooked = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) || 1;
	base = atomic_load(&live);
	atomic_store(&peak, base);
	if (dl_onnx_parse(data, size, &m) == 0) {
		volatile unsigned sum = 0;
		for (int i = 0; i < m.n_node; i++) {
			for (int j = 0; j < m.node[i].n_in; j++)
				sum += m.node[i].in[j].n ? (unsigned char)m.node[i].in[j].p[m.node[i].in[j].n - 1] : 0;
			sum += m.node[i].op.n ? (unsigned char)m.node[i].op.p[0] : 0;
		}
		for (int i = 0; i < m.n_init; i++)
			if (m.init[i].count <= 4096) {
				float *v = malloc((m.init[i].count + 1) * sizeof *v);
				if (v && dl_onnx_tensor_f32(&m.init[i], v) == 0 && m.init[i].count) {
					unsigned bits;
					memcpy(&bits, &v[m.init[i].count - 1], sizeof bits);
					sum += bits;
				}
				free(v);
			}
		dl_onnx_free(&m);
	}
	dl_onnx_import(data, size, "fuzz", "/dev/null", NULL, NULL);
	if (atomic_load(&peak) - base > 2 * (long long)size + (64ll << 20)) {
		fprintf(stderr, "fuzz-onnx: %lld bytes live for an input of %zu\n",
		    atomic_load(&peak) - base, size);
		abort();
	}
	return 0;
}
